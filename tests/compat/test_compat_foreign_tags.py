"""The wheel tags a target of another OS installs are read from its own facts (its OS, machine, macOS release, libc),
never from the host running the check: packaging's tag generators, given no platform, list the running host's."""

from __future__ import annotations

import dataclasses

from compat_builders import HOST, pkg, snapshot

import envsnap
from envsnap.compat import evaluate
from envsnap.model import Snapshot

MAC_WHEEL = "cp311-cp311-macosx_14_0_arm64"
LINUX_WHEEL = "cp311-cp311-manylinux_2_17_x86_64"


def _mac(*, kernel: str = "", os_version: str = "", platform_tag: str = "", machine: str = "arm64") -> Snapshot:
    """A lock captured on a Mac (no os-release there: ``os_version`` is empty unless imported) with a macOS wheel
    and a Linux x86_64 one, as this Linux x86_64 host would install."""
    lock = snapshot(
        system="Darwin",
        machine=machine,
        os_id="",
        os_version=os_version,
        libc="",
        libc_version="",
        packages=[
            pkg("macnum", "1.0", MAC_WHEEL),
            pkg("linuxnum", "1.0", LINUX_WHEEL),
            pkg("pure", "1.0", "py3-none-any"),
        ],
    )
    return dataclasses.replace(
        lock,
        platform=dataclasses.replace(lock.platform, kernel=kernel),
        python=dataclasses.replace(lock.python, platform_tag=platform_tag),
    )


def test_a_mac_without_a_platform_tag_is_judged_by_its_macos_release_not_this_hosts_tags() -> None:
    """A Mac's facts (Darwin 23.5.0 is macOS 14.5) as the host: its macOS wheel installs, the Linux x86_64 wheel does
    not (it was judged by this Linux host's tags: the macOS wheel failed and the Linux one passed)."""
    mac = _mac(kernel="23.5.0")
    report = envsnap.check(mac, host=mac, target=HOST)
    [f] = report.by_rule("wheels")
    assert (f.severity, f.component, f.needed) == ("fail", "wheel linuxnum 1.0", LINUX_WHEEL), f
    assert f.found == "cp311 (cp311) on Darwin aarch64: built for Linux (manylinux_2_17_x86_64), the target runs Darwin"
    assert f.remedy == "run on a Linux host", f


def test_a_macos_release_recorded_as_os_version_or_by_the_interpreter_is_read() -> None:
    for mac in (_mac(os_version="14.5"), _mac(platform_tag="macosx-14.0-arm64")):
        [f] = evaluate(mac, mac, HOST).by_rule("wheels")
        assert (f.severity, f.component) == ("fail", "wheel linuxnum 1.0"), f


def test_a_python_org_universal2_interpreter_on_an_arm64_mac_installs_arm64_wheels() -> None:
    """sysconfig's platform of a python.org build names the release it was built for (macosx-10.9-universal2), not
    the Mac it runs on: pip installs a macosx_14_0_arm64 wheel there, and so does the check."""
    mac = _mac(kernel="23.5.0", platform_tag="macosx-10.9-universal2")
    [f] = evaluate(mac, mac, HOST).by_rule("wheels")
    assert (f.severity, f.component) == ("fail", "wheel linuxnum 1.0"), f


def test_a_target_whose_platform_cannot_be_told_is_unknown_not_this_host() -> None:
    """Nothing says which macOS release (no os_version, kernel or platform tag): the platform wheels cannot be judged
    and the check says so; a pure-Python wheel still installs anywhere."""
    mac = _mac()
    fail, warn = evaluate(mac, mac, HOST).by_rule("wheels")
    assert (fail.severity, fail.component) == ("fail", "wheel linuxnum 1.0"), fail  # Linux wheels: never on a Mac
    assert (warn.severity, warn.component, warn.needed) == ("warn", "wheel macnum 1.0", "macnum 1.0"), warn
    assert warn.found == (
        "cp311 (cp311) on Darwin aarch64: unknown: the macOS release is not recorded (no OS version, Darwin kernel "
        "or interpreter platform), so whether its platform tag fits cannot be told"
    )
    nothing = dataclasses.replace(mac, platform=dataclasses.replace(mac.platform, system="", machine=""))
    [ok, warn] = evaluate(nothing, nothing, HOST).by_rule("wheels")
    assert (ok.severity, ok.needed) == ("ok", "1 locked wheel"), ok  # the pure-Python one
    assert (warn.severity, warn.component) == ("warn", "2 wheels"), warn
    assert "on an unrecorded OS: unknown: the OS is not recorded" in warn.found, warn


def test_a_mac_lock_on_this_linux_host_fails_its_os_once_naming_its_macos_wheels() -> None:
    """``envsnap check`` of a Mac's lock here: each macOS wheel failed "built for Python 3.12 (cp312), the target
    runs cp311", with the remedy of a Python 3.12 or ``--target docker``, which refuses a Darwin lock, where no Python
    of this Linux host installs them. The OS failure names them (as a machine failure names the wheels of another
    machine), the wheels rule does not fail each again, and no remedy offers a target that cannot make the lock."""
    mac = _mac(kernel="23.5.0")
    mac = dataclasses.replace(
        mac,
        python=dataclasses.replace(
            mac.python,
            version="3.12.7",
            abi="cp312",
            packages=(
                pkg("numpy", "2.1.0", "cp312-cp312-macosx_14_0_arm64"),
                pkg("six", "1.16.0", "py2.py3-none-any"),
                pkg("torch", "2.5.1", "cp312-none-macosx_11_0_arm64"),
            ),
        ),
    )
    report = evaluate(mac, snapshot(), HOST)
    [os_failure] = report.by_rule("platform")
    assert (os_failure.severity, os_failure.component) == ("fail", "OS"), os_failure
    assert os_failure.remedy == (
        "run on a Darwin host (the lock was captured on Darwin): 2 locked wheels are built for macOS (numpy 2.1.0, "
        "torch 2.5.1)"
    )
    [wheels] = report.by_rule("wheels")
    assert (wheels.severity, wheels.needed) == ("ok", "1 locked wheel"), wheels
    [python] = report.by_rule("python")
    assert python.severity == "fail" and "--target" not in python.remedy, python


def test_a_linux_target_whose_c_library_is_not_recorded_cannot_tell_its_manylinux_wheels() -> None:
    """An imported lock records no C library; for --target docker the image is the lock's platform on the engine's
    machine: its manylinux wheel failed "needs glibc >= 2.17, the target's libc is unknown" while the glibc rule said
    the image has it. Which glibc the image has is not in the lock: the wheel is unknown, not failed."""
    from envsnap.compat import DockerFacts, TargetFacts
    from envsnap.compat import Target as CheckTarget

    lock = snapshot(
        system="",
        machine="",
        os_id="",
        os_version="",
        libc="",
        libc_version="",
        packages=[pkg("numpy", "2.0.0", LINUX_WHEEL), pkg("other", "1.0", "cp311-cp311-manylinux_2_17_aarch64")],
    )
    docker = CheckTarget(
        kind="docker",
        facts=TargetFacts(provides_python=True, container=True, installs_packages=True),
        docker=DockerFacts(reachable=True, architecture="x86_64", os_type="linux"),
        disk_free_mib=100_000,
        disk_path="/build",
    )
    fail, warn = evaluate(lock, snapshot(), docker).by_rule("wheels")
    assert (fail.severity, fail.component) == ("fail", "wheel other 1.0"), fail  # another machine's: decided
    assert (warn.severity, warn.component) == ("warn", "wheel numpy 2.0.0"), warn
    assert warn.found == (
        "cp311 (cp311) on Linux x86_64: unknown: the C library (glibc or musl) and its version are not recorded, so "
        "whether its platform tag fits cannot be told"
    )
