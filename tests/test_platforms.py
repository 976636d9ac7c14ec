"""One architecture alias table, one ``major.minor`` reading and one cache root (envsnap/platforms.py,
envsnap/_defaults.py): the former copies in compat, the docker rebuild, the apt pins, the base-image choice,
the exports and the caches of pin and the conda rebuild disagreed (issue 13)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from envsnap import _defaults, platforms
from envsnap.artifacts.pin import best_wheel, target_tags
from envsnap.compat._tags import tag_target
from envsnap.compat.rules import platform as platform_rule
from envsnap.compat.target import Target
from envsnap.dockerfile import apt
from envsnap.export import _common
from envsnap.model import Platform, PythonEnv, Snapshot, SystemPackage
from envsnap.rebuild import _tool, docker

X86 = ("x86_64", "amd64", "AMD64", "x64")
ARM = ("aarch64", "arm64", "armv8", "ARM64")


def _lock(machine: str, python: str = "3.11.7") -> Snapshot:
    return Snapshot(platform=Platform(system="Linux", machine=machine), python=PythonEnv(version=python))


@pytest.mark.parametrize("spellings", [X86, ARM])
def test_compat_and_the_docker_rebuild_read_every_spelling_alike(spellings: tuple[str, ...]) -> None:
    """The docker rebuild had its own table without ``AMD64`` (Windows), ``x64`` or ``armv8``: it refused a
    build that compat called the same machine."""
    for locked in spellings:
        for engine in spellings:
            assert platforms.machine(locked) == platforms.machine(engine)
            docker.check_architecture(_lock(locked), engine, "the engine")  # the same machine: no error
            findings = platform_rule.check(_lock(locked), _lock(engine), Target())
            assert not any(f.component == "machine" and f.severity == "fail" for f in findings), findings
    other = ARM[0] if spellings is X86 else X86[0]
    with pytest.raises(Exception, match="cannot run there"):
        docker.check_architecture(_lock(spellings[-1]), other, "the engine")


def test_apt_pins_know_the_native_architecture_by_any_spelling() -> None:
    """apt's table read ``i686`` and ``AMD64`` as foreign architectures (``libc6:i386`` on an i686 host)."""
    for machine, arch in (("i686", "i386"), ("AMD64", "amd64"), ("arm64", "arm64"), ("x86_64", "amd64")):
        pin = apt.pins((SystemPackage("dpkg", "libc6", "2.36-9", arch),), machine)[0]
        assert pin.arch == "", (machine, pin)
    assert apt.pins((SystemPackage("dpkg", "libc6", "2.36-9", "i386"),), "x86_64")[0].arch == "i386"


@pytest.mark.parametrize(
    ("version", "line"), [("3.11.7", "3.11"), ("3.13.0rc1", "3.13"), ("3.11rc1", "3.11"), ("3.12", "3.12"), ("", "")]
)
def test_every_reader_takes_the_same_major_minor(version: str, line: str) -> None:
    """The exports split on dots (``3.11rc1`` stayed ``3.11rc1`` in a ``python_version`` marker), the wheel
    target's interpreter crashed on it, compat read numbers."""
    assert platforms.major_minor(version) == line
    marker = _common.environment_marker(_lock("x86_64", version))
    if version:
        assert f"python_version == '{line}'" in marker
        assert _tool.WheelTarget(version, "x86_64").minor == tuple(int(p) for p in line.split("."))
        # pin's target tags took "3.11rc1" for no version at all (this host's tags)
        assert target_tags(version)[0].startswith("cp" + line.replace(".", ""))


def test_one_cache_root_for_wheels_and_conda_packages(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    assert _defaults.cache_dir(_defaults.ARTIFACTS_CACHE, env) == tmp_path / "xdg" / "envsnap" / "artifacts"
    assert _defaults.cache_dir(_defaults.CONDA_CACHE, env) == tmp_path / "xdg" / "envsnap" / "conda"
    # the XDG rule: a relative XDG_CACHE_HOME is ignored, so the cache never depends on the working directory
    relative = {"XDG_CACHE_HOME": "cache", "HOME": str(tmp_path / "home")}
    assert _defaults.cache_dir("conda", relative) == tmp_path / "home" / ".cache" / "envsnap" / "conda"
    assert _defaults.cache_dir("artifacts", {"HOME": str(tmp_path)}) == tmp_path / ".cache" / "envsnap" / "artifacts"


def test_a_missing_home_is_never_created_for_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With HOME=/nonexistent (as root) envsnap made /nonexistent/.cache/envsnap: no cache then, no error."""
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "nonexistent"))
    assert _defaults.private_cache_dir(_defaults.CAPTURE_CACHE, create=True) is None
    assert _defaults.capture_cache_path("dists", "/usr/bin/python3") is None
    # the same when $XDG_CACHE_HOME lies in a folder that does not exist
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "gone" / "cache"))
    assert _defaults.private_cache_dir(_defaults.LOCKS_CACHE, create=True) is None
    with pytest.raises(FileNotFoundError):
        _defaults.make_cache_dir(_defaults.ARTIFACTS_CACHE)
    assert list(tmp_path.iterdir()) == []
    # a home that exists gets its cache, private to the user
    monkeypatch.delenv("XDG_CACHE_HOME")
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    made = _defaults.private_cache_dir(_defaults.CAPTURE_CACHE, create=True)
    assert made == tmp_path / "home" / ".cache" / "envsnap" / "capture" and made.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("home", [None, "", "relative-home"])
def test_no_cache_folder_is_made_or_used_without_a_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: str | None
) -> None:
    """HOME empty (or relative) and no XDG_CACHE_HOME: the caches were made in ``/.cache`` (an empty HOME) or
    under the working directory, where the user named none. No cache is used then; the download cache, which a
    command needs, is refused naming the fix (``--cache-dir``). HOME unset is the home the user database gives,
    as pip and uv take it (cron, ``env -i``, a Slurm prolog): the caches are there."""
    from envsnap.artifacts.bundle import BundleCacheError, download_cache

    passwd_home = tmp_path / "passwd-home"
    (passwd_home / ".cache" / "envsnap" / "locks").mkdir(parents=True, mode=0o700)
    (tmp_path / "relative-home").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("os.path.expanduser", lambda path: path.replace("~", str(passwd_home), 1))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    if home is None:
        monkeypatch.delenv("HOME", raising=False)
    else:
        monkeypatch.setenv("HOME", home)
    if home is None:
        made = _defaults.private_cache_dir(_defaults.CAPTURE_CACHE, create=True)
        assert made == passwd_home / ".cache" / "envsnap" / "capture" and made.is_dir()
        assert download_cache(None) == passwd_home / ".cache" / "envsnap" / "artifacts"
        return
    before = sorted(tmp_path.rglob("*"))
    for kind in (_defaults.TEMPLATE_CACHE, _defaults.CAPTURE_CACHE, _defaults.LOCKS_CACHE):
        assert _defaults.private_cache_dir(kind, create=True) is None
    assert _defaults.capture_cache_path("dists", "/usr/bin/python3") is None
    assert _defaults.existing_capture_cache_file("dists", "/usr/bin/python3", ".json") is None
    with pytest.raises(FileNotFoundError, match="HOME"):
        _defaults.make_cache_dir(_defaults.ARTIFACTS_CACHE)
    with pytest.raises(BundleCacheError, match="--cache-dir DIR"):
        download_cache(None)
    assert sorted(tmp_path.rglob("*")) == before
    # A folder the user names is made as asked.
    assert download_cache(tmp_path / "mine") == tmp_path / "mine" and (tmp_path / "mine").is_dir()


def test_the_probes_read_every_spelling_alike() -> None:
    """The conda probe and the CPU probe had their own lists (``armv8`` made ``linux-armv8``; ``ARM64`` had no
    NEON)."""
    from envsnap.probes.conda import current_subdir
    from envsnap.probes.host import parse_cpuinfo

    for spelling in ARM:
        assert current_subdir("Linux", spelling) == "linux-aarch64"
        assert "neon" in parse_cpuinfo("Features\t: fp asimd\n", spelling).flags
    for spelling in X86:
        assert current_subdir("Linux", spelling) == "linux-64"
    assert current_subdir("Darwin", "arm64") == "osx-arm64"


@pytest.mark.parametrize("home", ["", "relative-home"])
def test_installers_and_builds_keep_no_cache_without_a_cache_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: str
) -> None:
    """uv and pip, started by a rebuild or a bundle's wheel build with HOME relative, made their cache under the
    working directory (``./relative-home/.cache/uv``), where envsnap keeps none: they are told to keep none. A
    cache the user names for them, or a home, is theirs."""
    from envsnap import _runner
    from envsnap._venvahead import isolated_env
    from envsnap.artifacts import bundle

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("UV_CACHE_DIR", raising=False)
    monkeypatch.delenv("UV_NO_CACHE", raising=False)
    monkeypatch.setenv("HOME", home)
    assert isolated_env()["UV_NO_CACHE"] == "1" and isolated_env()["PIP_NO_CACHE_DIR"] == "1"
    seen: list[dict[str, str]] = []

    def run(args: list[str], **kwargs: Any) -> _runner.Result:
        seen.append(dict(kwargs["env"]))
        return _runner.Result(tuple(args), 1, "", "stopped here")

    monkeypatch.setattr(bundle._runner, "run", run)
    with pytest.raises(bundle.BundleError):
        bundle.build_wheel(tmp_path, tmp_path / "out")
    assert seen[0]["UV_NO_CACHE"] == "1"
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "mine"))
    assert "UV_NO_CACHE" not in isolated_env()
    monkeypatch.delenv("UV_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert "UV_NO_CACHE" not in isolated_env()


def test_a_cache_folder_in_a_folder_others_may_write_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``$XDG_CACHE_HOME/envsnap`` (or the cache root) that another user may write: they could rename this user's
    private ``capture`` folder away and put one of their own in its place. Not used, unless the folder is sticky
    (as /tmp: only an entry's owner may move it)."""
    root = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(root))
    made = _defaults.private_cache_dir(_defaults.CAPTURE_CACHE, create=True)
    assert made == root / "envsnap" / "capture"
    assert _defaults.existing_capture_cache_file("dists", "/x", ".json") is not None
    for loose, mode in ((root / "envsnap", 0o777), (root, 0o777), (root / "envsnap", 0o1777)):
        loose.chmod(mode)
        safe = mode & 0o1000 != 0
        assert (_defaults.private_cache_dir(_defaults.CAPTURE_CACHE, create=True) is not None) == safe, (loose, mode)
        assert (_defaults.existing_capture_cache_file("dists", "/x", ".json") is not None) == safe
        loose.chmod(0o755)


@pytest.mark.parametrize(
    ("kernel", "platform_tag"), [("23.5.0", ""), ("", "macosx-14.0-arm64"), ("23.5.0", "macosx-11.0-arm64")]
)
def test_pin_reads_a_macs_release_from_its_darwin_kernel_and_interpreter_as_compat_does(
    kernel: str, platform_tag: str
) -> None:
    """A Mac's lock that records no ``os_version``, its Darwin kernel 23 (macOS 14) or its interpreter built for
    macOS 14 said: check read the release from them and judged a macOS 15 wheel as not installing there, while pin
    read none and ranked the oldest wheel first (``macosx_11_0`` over ``macosx_14_0``) and took the macOS 15 one where
    it was the only one. pin reads it as compat does: the newest release that installs ranks first, a later one none."""
    mac = Platform(system="Darwin", machine="arm64", kernel=kernel)
    wanted = target_tags("3.12.4", "cpython", mac, platform_tag)
    files = [f"demo-1.0-cp312-cp312-macosx_{m}_0_arm64.whl" for m in (11, 14, 15)]
    assert best_wheel(files, wanted)[0] == "demo-1.0-cp312-cp312-macosx_14_0_arm64.whl"
    assert best_wheel(files[2:], wanted)[0] is None
    # Where the lock records os_version, it is read first, as compat reads it.
    later = target_tags("3.12.4", "cpython", dataclasses.replace(mac, os_version="15.1"), platform_tag)
    assert best_wheel(files, later)[0] == "demo-1.0-cp312-cp312-macosx_15_0_arm64.whl"


def test_pin_takes_a_macs_machine_from_its_interpreter_where_the_lock_records_none_as_compat_does() -> None:
    """A Mac's lock that records no machine, its interpreter built for arm64 (``macosx-14.0-arm64``): check read
    the machine from that platform and judged its arm64 wheel as installing, while pin took this host's own tags
    and chose the Linux wheel (or, of macOS wheels alone, none). One rule (``platforms.target_machine``) reads it."""
    mac = Platform(system="Darwin", machine="", kernel="23.5.0")
    wanted = target_tags("3.12.4", "cpython", mac, "macosx-14.0-arm64")
    files = [
        "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "demo-1.0-cp312-cp312-manylinux_2_17_aarch64.whl",
        "demo-1.0-cp312-cp312-macosx_11_0_x86_64.whl",
        "demo-1.0-cp312-cp312-macosx_14_0_arm64.whl",
    ]
    assert best_wheel(files, wanted)[0] == "demo-1.0-cp312-cp312-macosx_14_0_arm64.whl"
    assert best_wheel(files[:3], wanted)[0] is None
    lock = Snapshot(platform=mac, python=PythonEnv(version="3.12.4", platform_tag="macosx-14.0-arm64"))
    assert "macosx_14_0_arm64" in tag_target(lock, lock, Target()).platforms
