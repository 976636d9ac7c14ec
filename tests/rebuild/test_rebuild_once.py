"""A venv rebuild does each piece of work once (issue 19): the host is captured once, by the compatibility
check, and the verify takes its host facts; every bundle file is hashed once, in the background while the
check runs; and none of it weakens a check: a tampered wheel is still refused, and a drifted install still
fails the verify.

Offline: the wheels are made here and served from a file:// index, the source venv is installed from them.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from offline_wheels import locked_bundle, wheel
from testutil import uv_bin

import envsnap.rebuild as rebuild_package
from envsnap import _installahead, _prehash, _runner, _tools, _venvahead, lockfile
from envsnap._defaults import CAPTURE_CACHE, cache_dir
from envsnap.artifacts import bundle as bundle_module
from envsnap.artifacts.bundle import SUMS, read_sums
from envsnap.cli import main as cli_main
from envsnap.compare.verify import MISMATCH, verify
from envsnap.errors import BadBundleError, BadOptionError
from envsnap.probes import capture as capture_module
from envsnap.probes import host as host_probes
from envsnap.probes import system as system_probe
from envsnap.probes.capture import CaptureOptions, run_capture
from envsnap.rebuild import RebuildResult, rebuild
from envsnap.rebuild import _preflight as preflight_module
from envsnap.rebuild import venv as venv_module
from envsnap.rebuild._preflight import PreflightError

PACKAGES = {"onceapple": "1.0", "oncebanana": "2.1", "oncecherry": "0.3"}


@dataclass(frozen=True)
class Made:
    lock_path: Path
    bundle: Path
    source: Path  # the source venv's python


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    root = tmp_path_factory.mktemp("once")
    wheels = {name: wheel(root / "wheels", name, version) for name, version in PACKAGES.items()}
    lock_path, bundle, python = locked_bundle(uv, root, wheels)
    return Made(lock_path, bundle, python)


@pytest.fixture
def fresh_digests(monkeypatch: pytest.MonkeyPatch) -> None:
    """No digest known from an earlier test in this process: each test sees its own hashing."""
    monkeypatch.setattr(bundle_module, "_KNOWN", {})


def _rebuild(made: Made, dest: Path, bundle: Path | None = None) -> RebuildResult:
    result = rebuild(made.lock_path, target="venv", dest=dest, bundle=bundle or made.bundle, offline=True)
    assert isinstance(result, RebuildResult)
    return result


def _counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def test_the_host_is_captured_once_and_the_new_venv_probed_once(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_digests: None
) -> None:
    prepared = _counting(monkeypatch, system_probe, "prepare")  # the package database and the ld.so cache
    hardware = _counting(monkeypatch, type(host_probes.HARDWARE), "run")
    platform = _counting(monkeypatch, type(host_probes.PLATFORM), "run")
    probed: list[tuple[str | None, Any]] = []
    original = capture_module.python.PendingProbe.__init__

    def pending(self: Any, python: str | None, **kwargs: Any) -> None:
        probed.append((python, kwargs.get("moved")))
        original(self, python, **kwargs)

    monkeypatch.setattr(capture_module.python.PendingProbe, "__init__", pending)
    result = _rebuild(made, tmp_path / "env")
    assert result.verify is not None and result.verify.identical
    assert (len(prepared), len(hardware), len(platform)) == (1, 1, 1)
    # Two environments are probed: the interpreter the check judged, and the new venv the verify reads (its
    # probe started in the staging folder while the installer ran, answering for the venv's destination).
    assert len(probed) == 2
    (staging, moved), *_ = [p for p in probed if p[1] is not None]
    assert moved[1] == str(tmp_path / "env") and staging == os.path.join(moved[0], "bin", "python")
    assert result.verify.target == str(tmp_path / "env" / "bin" / "python")


def test_a_capture_on_the_same_host_takes_its_host_facts(made: Made, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run_capture(CaptureOptions(python_path=sys.executable, project_state=False))
    prepared = _counting(monkeypatch, system_probe, "prepare")
    second = run_capture(CaptureOptions(python_path=str(made.source), project_state=False), same_host=first)
    assert prepared == []
    for name in capture_module.HOST_FACTS:
        assert second.results[name] is first.results[name]
    assert second.system is first.system
    # The target's own facts are its own: the source venv's packages, not those of the first interpreter.
    assert {p.name for p in second.snapshot.python.packages} >= set(PACKAGES)
    assert not set(PACKAGES) & {p.name for p in first.snapshot.python.packages}


def test_verify_with_the_hosts_facts_says_what_a_full_verify_says(made: Made, tmp_path: Path) -> None:
    """The equivalence docs/design.md states: host facts taken from the check, the environment probed."""
    lock = lockfile.load(made.lock_path)
    host = run_capture(CaptureOptions(python_path=sys.executable, project_state=False))
    full = verify(lock, str(made.source))
    reused = verify(lock, str(made.source), same_host=host)
    assert reused.identical and full.identical
    assert [d.describe() for d in reused.differences] == [d.describe() for d in full.differences]


def test_every_bundle_file_is_hashed_once(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_digests: None
) -> None:
    hashed = _counting(monkeypatch, bundle_module, "sha256_file")
    _rebuild(made, tmp_path / "env")
    counts = collections.Counter(Path(args[0]).resolve() for args in hashed)
    listed = {(made.bundle / rel).resolve() for rel in read_sums(made.bundle / SUMS)}
    assert set(counts) == listed and set(counts.values()) == {1}
    assert sum(1 for p in counts if p.suffix == ".whl") == len(PACKAGES)


def test_the_bundle_is_hashed_while_the_host_is_checked(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_digests: None
) -> None:
    started = threading.Event()
    real_ahead, real_check = bundle_module.hash_bundle_ahead, rebuild_package.check_host

    def ahead(root: Path, stop: threading.Event) -> None:
        started.set()
        real_ahead(root, stop)

    def check(*args: Any, **kwargs: Any) -> Any:
        # Deterministic, not timed: the hashing has begun before the check returns (it waits at most 60 s).
        assert started.wait(60), "the bundle's hashing did not start before the compatibility check ended"
        return real_check(*args, **kwargs)

    monkeypatch.setattr(bundle_module, "hash_bundle_ahead", ahead)
    monkeypatch.setattr(rebuild_package, "check_host", check)
    assert _rebuild(made, tmp_path / "env").verify is not None


def test_a_failed_check_stops_the_background_hashing(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_digests: None
) -> None:
    stops: list[threading.Event] = []
    real_ahead = bundle_module.hash_bundle_ahead

    def ahead(root: Path, stop: threading.Event) -> None:
        stops.append(stop)
        real_ahead(root, stop)

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise PreflightError("compatibility check failed: test")

    monkeypatch.setattr(bundle_module, "hash_bundle_ahead", ahead)
    monkeypatch.setattr(rebuild_package, "check_host", failing)
    with pytest.raises(PreflightError):
        _rebuild(made, tmp_path / "env")
    assert len(stops) == 1 and stops[0].is_set()
    assert not any(t.name == "envsnap-bundle-hash" for t in threading.enumerate())
    assert not (tmp_path / "env").exists()


def _installer_starts(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, list[_runner.Running]]:
    """An event set when an installer (``uv pip install``) is started, and the commands started."""
    started = threading.Event()
    runs: list[_runner.Running] = []
    real_start = _runner.start

    def start(args: Any, **kwargs: Any) -> _runner.Running:
        running = real_start(args, **kwargs)
        if "install" in [str(a) for a in args]:
            runs.append(running)
            started.set()
        return running

    monkeypatch.setattr(_runner, "start", start)
    return started, runs


def test_the_wheels_are_installed_while_the_host_is_checked(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_digests: None
) -> None:
    started, runs = _installer_starts(monkeypatch)
    real_check = rebuild_package.check_host

    def check(*args: Any, **kwargs: Any) -> Any:
        # Deterministic, not timed: the installer has started before the check answers (it waits at most 60 s).
        assert started.wait(60), "the installer did not start before the compatibility check ended"
        return real_check(*args, **kwargs)

    monkeypatch.setattr(rebuild_package, "check_host", check)
    result = _rebuild(made, tmp_path / "env")
    assert result.verify is not None and result.verify.identical
    assert len(runs) == 1  # installed once: execute took up what was begun
    assert not list(tmp_path.glob(".envsnap-*"))


def test_a_failed_check_ends_the_install_begun_and_leaves_nothing(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_digests: None
) -> None:
    started, runs = _installer_starts(monkeypatch)

    def failing(*args: Any, **kwargs: Any) -> Any:
        assert started.wait(60)
        raise PreflightError("compatibility check failed: test")

    monkeypatch.setattr(rebuild_package, "check_host", failing)
    with pytest.raises(PreflightError, match="compatibility check failed: test"):
        _rebuild(made, tmp_path / "env")
    assert len(runs) == 1 and runs[0].proc is not None and runs[0].proc.poll() is not None  # killed or done
    assert not (tmp_path / "env").exists() and not list(tmp_path.glob(".envsnap-*"))
    assert not any(t.name == "envsnap-early-venv" for t in threading.enumerate())


@pytest.mark.parametrize("made_empty", [False, True], ids=["absent", "an empty folder"])
def test_a_dest_another_run_filled_meanwhile_is_one_line_and_kept(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made_empty: bool
) -> None:
    """Cluster jobs that all rebuild into one shared --dest: each plans it as free, the first moves its venv in,
    and the others ended in a traceback (OSError: Directory not empty, exit 1) at the final move."""
    dest = tmp_path / "env"
    if made_empty:
        dest.mkdir()
    relocate = venv_module._relocate

    def another_run_first(staging: Path, final: Path) -> None:
        relocate(staging, final)
        final.mkdir(exist_ok=True)
        (final / "pyvenv.cfg").write_text("the other run's venv\n")

    monkeypatch.setattr(venv_module, "_relocate", another_run_first)
    with pytest.raises(BadOptionError, match=r"--dest .*env: already exists and is not empty: another run"):
        _rebuild(made, dest)
    assert [p.name for p in dest.iterdir()] == ["pyvenv.cfg"]
    assert (dest / "pyvenv.cfg").read_text() == "the other run's venv\n"
    assert not list(tmp_path.glob(".envsnap-*"))


def test_a_dest_that_is_a_link_is_refused_before_anything_is_built(made: Made, tmp_path: Path) -> None:
    """A link to an empty folder passed the plan and the whole rebuild, then ended in a traceback at the final
    move (NotADirectoryError), which renames the venv where the link is."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "env").symlink_to("empty")
    with pytest.raises(BadOptionError, match=r"--dest .*env: a link"):
        _rebuild(made, tmp_path / "env")
    assert (tmp_path / "env").is_symlink() and not list((tmp_path / "empty").iterdir())
    assert not list(tmp_path.glob(".envsnap-*"))


def test_nothing_is_installed_before_the_check_when_the_disk_rule_refuses(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_digests: None
) -> None:
    started, runs = _installer_starts(monkeypatch)
    asked = threading.Event()

    def refusing(lock: Any, target: Any) -> bool:
        asked.set()
        return False

    real_check = rebuild_package.check_host

    def check(*args: Any, **kwargs: Any) -> Any:
        assert asked.wait(60), "the early work never asked the disk rule"
        assert not started.is_set(), "an installer started although the disk rule refused"
        return real_check(*args, **kwargs)

    monkeypatch.setattr(preflight_module, "disk_allows", refusing)
    monkeypatch.setattr(rebuild_package, "check_host", check)
    result = _rebuild(made, tmp_path / "env")  # after the check, execute installs as it always did
    assert result.verify is not None and result.verify.identical and len(runs) == 1


def test_the_early_install_says_and_gives_what_a_late_one_does(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_digests: None
) -> None:
    def rebuilt(dest: Path) -> tuple[list[str], list[str]]:
        lines: list[str] = []
        result = rebuild(
            made.lock_path, target="venv", dest=dest, bundle=made.bundle, offline=True, progress=lines.append
        )
        assert isinstance(result, RebuildResult) and result.verify is not None
        site = next(dest.glob("lib/python*/site-packages"))
        return lines, sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if "__pycache__" not in p.parts)

    early = rebuilt(tmp_path / "early")
    monkeypatch.setattr(venv_module.VenvRebuilder, "start_early", lambda self, *a, **k: None)
    late = rebuilt(tmp_path / "late")
    assert early == late
    assert any(line.startswith("installing 3 wheels with") for line in early[0])


def test_the_cli_hashes_the_bundle_while_envsnap_loads_and_each_file_once(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_digests: None
) -> None:
    early = _counting(monkeypatch, _prehash, "sha256_file")
    late = _counting(monkeypatch, bundle_module, "sha256_file")
    dest = tmp_path / "env"
    assert (
        cli_main(["rebuild", str(made.lock_path), "--bundle", str(made.bundle), "--offline", "--dest", str(dest)]) == 0
    )
    listed = {(made.bundle / rel).resolve() for rel in read_sums(made.bundle / SUMS)}
    hashed = collections.Counter(Path(args[0]).resolve() for args in early)
    assert listed <= set(hashed) and set(hashed.values()) == {1}  # before the rest of envsnap loaded, once each
    assert late == []  # the bundle's checks found every digest known
    assert (dest / "bin" / "python").exists()


def test_hash_ahead_stops_when_told(tmp_path: Path, fresh_digests: None) -> None:
    files = []
    for i in range(4):
        files.append(tmp_path / f"f{i}")
        files[-1].write_bytes(b"x" * 10)
    stop = threading.Event()
    stop.set()
    bundle_module.hash_ahead(files, stop)
    assert bundle_module._KNOWN == {}
    bundle_module.hash_ahead(files)
    assert len(bundle_module._KNOWN) == 4


def _tampered_copy(made: Made, tmp_path: Path, *, resum: bool) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(made.bundle, copy)
    wheel = next((copy / "wheels").glob("oncebanana-*.whl"))
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("oncebanana/evil.py", "import os\n")
    if resum:  # SHA256SUMS rewritten to match: the lock's own sha256 must still refuse the wheel
        sums = copy / SUMS
        lines = [f"{hashlib.sha256((copy / rel).read_bytes()).hexdigest()}  {rel}\n" for rel in read_sums(sums)]
        sums.write_text("".join(lines))
    return copy


@pytest.mark.parametrize("resum", [False, True], ids=["sums-stale", "sums-rewritten"])
def test_a_tampered_wheel_is_still_refused(made: Made, tmp_path: Path, resum: bool, fresh_digests: None) -> None:
    bundle = _tampered_copy(made, tmp_path, resum=resum)
    with pytest.raises(BadBundleError, match=r"oncebanana.*hash mismatch"):
        _rebuild(made, tmp_path / "env", bundle)
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize("drift", ["record", "extra", "missing"])
def test_verify_still_fails_on_a_drifted_install(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, drift: str, fresh_digests: None
) -> None:
    real_install: Callable[..., str] = venv_module.install_python_layer

    def drifting(python_exe: Any, *args: Any, **kwargs: Any) -> str:
        tool = real_install(python_exe, *args, **kwargs)
        site = next(Path(python_exe).parent.parent.glob("lib/python*/site-packages"))
        info = site / "oncebanana-2.1.dist-info"
        if drift == "record":  # the installer wrote another file than the wheel's
            with open(info / "RECORD", "a") as fh:
                fh.write("oncebanana/other.py,sha256=AAAA,1\n")
        elif drift == "extra":  # a distribution the lock does not have
            shutil.copytree(info, site / "intruder-9.0.dist-info")
            meta = site / "intruder-9.0.dist-info" / "METADATA"
            meta.write_text("Metadata-Version: 2.1\nName: intruder\nVersion: 9.0\n\n")
        else:
            shutil.rmtree(info)
        return tool

    monkeypatch.setattr(venv_module, "install_python_layer", drifting)
    result = _rebuild(made, tmp_path / "env")
    assert result.verify is not None and not result.verify.identical
    mismatches = {(d.subject, d.what) for d in result.verify.differences if d.severity == MISMATCH}
    expected = {"record": ("oncebanana", "record_digest"), "extra": ("intruder", "extra")}
    assert expected.get(drift, ("oncebanana", "missing")) in mismatches


# ------------------------------------------------------------------------- the wheels' sizes for the disk rule


def _zip(path: Path, members: dict[str, bytes], *, comment: bytes = b"", zip64: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.comment = comment
        for name, data in members.items():
            with archive.open(name, "w", force_zip64=zip64) as fh:
                fh.write(data)
    return path


def _zipfile_sum(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def test_unpacked_size_reads_the_directory_without_zipfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from envsnap.rebuild import _preflight

    members = {f"pkg/m{i}.py": b"x = 1\n" * (i + 1) for i in range(300)}
    plain = _zip(tmp_path / "plain.whl", members)
    commented = _zip(tmp_path / "commented.whl", members, comment=b"an archive comment")
    expected = sum(len(d) for d in members.values())
    assert _zipfile_sum(plain) == expected
    opened = _counting(monkeypatch, _preflight.zipfile, "ZipFile")
    assert _preflight.unpacked_size(plain) == expected
    assert opened == []  # one pass over the central directory: no ZipInfo per member
    assert _preflight.unpacked_size(commented) == expected
    assert opened == []  # a comment is read past, as zipfile does


def test_unpacked_size_leaves_what_it_does_not_read_plainly_to_zipfile(tmp_path: Path) -> None:
    from envsnap.rebuild import _preflight

    members = {"a.txt": b"a" * 1000, "b.txt": b"b" * 3000}
    zip64 = _zip(tmp_path / "zip64.whl", members, zip64=True)
    prefixed = tmp_path / "prefixed.whl"  # data before the archive (a self-extracting stub): offsets are shifted
    prefixed.write_bytes(b"#!/bin/sh\nexit 0\n" + _zip(tmp_path / "inner.zip", members).read_bytes())
    for path in (zip64, prefixed):
        assert _preflight.unpacked_size(path) == _zipfile_sum(path) == 4000
    broken = tmp_path / "broken.whl"
    broken.write_bytes(_zip(tmp_path / "whole.zip", members).read_bytes()[:-30])
    with pytest.raises(zipfile.BadZipFile):
        _preflight.unpacked_size(broken)


def test_bundle_sizes_opens_only_regular_files(tmp_path: Path) -> None:
    """A FIFO named like a wheel would block the open for ever: the sizes skip it, the SHA256SUMS check refuses it."""
    import os

    from envsnap.rebuild import _preflight

    wheels = tmp_path / "bundle" / "wheels"
    wheels.mkdir(parents=True)
    real = _zip(wheels / "real-1.0-py3-none-any.whl", {"real/__init__.py": b"x" * 100})
    os.mkfifo(wheels / "fifo-1.0-py3-none-any.whl")
    (wheels / "link-1.0-py3-none-any.whl").symlink_to(real)
    found: list[Any] = []
    worker = threading.Thread(target=lambda: found.append(_preflight.bundle_sizes(tmp_path / "bundle")), daemon=True)
    worker.start()
    worker.join(60)  # a deadline for a hang, not a speed assertion
    assert not worker.is_alive(), "bundle_sizes blocked on the FIFO"
    assert found[0].unpacked == 100 and found[0].wheels == real.stat().st_size


def _answering_for(python: str | None, kwargs: dict[str, Any]) -> str | None:
    """The interpreter a probe answers for: the verify's, started in the staging folder before the venv is moved,
    answers for the destination's."""
    moved = kwargs.get("moved")
    return os.path.join(moved[1], "bin", "python") if moved else python


def _probes(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str | None], list[str | None]]:
    """The interpreters probes were started for, and those of the probes ended unanswered."""
    started: list[str | None] = []
    cancelled: list[str | None] = []
    probe_class = capture_module.python.PendingProbe
    original, original_cancel = probe_class.__init__, probe_class.cancel

    def pending(self: Any, python: str | None, **kwargs: Any) -> None:
        started.append(_answering_for(python, kwargs))
        original(self, python, **kwargs)

    def cancel(self: Any) -> None:
        if not self.answered:
            cancelled.append(self.python)
        original_cancel(self)

    monkeypatch.setattr(probe_class, "__init__", pending)
    monkeypatch.setattr(probe_class, "cancel", cancel)
    return started, cancelled


def test_the_cli_starts_the_check_probe_of_its_own_interpreter_while_envsnap_loads(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], fresh_digests: None
) -> None:
    """The interpreter running envsnap is the locked version here, so it is the one the check judges: its
    probe, started before the rebuild is imported, is the check's, and no other is started for the check."""
    started, cancelled = _probes(monkeypatch)
    real_load = lockfile.load

    def load(*args: Any, **kwargs: Any) -> Any:
        started.append("(the lock is read)")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(lockfile, "load", load)
    dest = tmp_path / "env"
    result = cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", dest)
    assert result.code == 0, result
    assert started[0] == sys.executable  # before the lock is read: before the rebuild knows what it checks
    probes = [p for p in started if p != "(the lock is read)"]
    assert probes == [sys.executable, str(dest / "bin" / "python")] and cancelled == []


def test_a_probe_started_ahead_for_another_interpreter_is_ended_and_not_used(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], fresh_digests: None
) -> None:
    """When the check judges another interpreter (here a link to the same binary under another path: another
    environment for Python), the probe started ahead is not used (it answered in-process, from the interpreter's
    own facts, at no cost: nothing is left to end), and the check probes the one it judges."""
    other = tmp_path / "bin" / "python3"
    other.parent.mkdir()
    other.symlink_to(sys.executable)
    from envsnap.rebuild import venv

    monkeypatch.setattr(venv.VenvRebuilder, "preflight_python", lambda self, lock, python, **kw: str(other))
    started, cancelled = _probes(monkeypatch)
    dest = tmp_path / "env"
    result = cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", dest)
    assert result.code == 0, result
    # The verify's probe of the new venv starts with the installer, which may be before the check's.
    assert started[0] == sys.executable and cancelled == []
    assert sorted(started[1:]) == sorted([str(other), str(dest / "bin" / "python")])


def test_no_probe_is_started_ahead_for_a_named_interpreter(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    started, cancelled = _probes(monkeypatch)
    result = cli("rebuild", made.lock_path, "--python", made.source, "--dry-run", "--dest", tmp_path / "env")
    assert result.code == 0, result
    assert started == [str(made.source)] and cancelled == []


@pytest.mark.parametrize("no_cache", [False, True])
def test_rebuild_no_cache_captures_and_verifies_without_the_capture_cache(
    made: Made,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., Any],
    fresh_digests: None,
    no_cache: bool,
) -> None:
    """``rebuild --no-cache`` means no cache, as for capture, check and verify: the verify's probe of the new venv
    reads every RECORD, and no bundle digest is kept. The check's probe (started ahead) reads no distribution at
    all: the venv gets the lock's, and the check judges the interpreter's own facts."""
    from envsnap._defaults import CAPTURE_CACHE, cache_dir

    uses: list[tuple[str | None, bool]] = []
    only: list[bool] = []
    probe_class = capture_module.python.PendingProbe
    original = probe_class.__init__

    def pending(self: Any, python: str | None, **kwargs: Any) -> None:
        uses.append((_answering_for(python, kwargs), kwargs.get("use_cache", True)))
        only.append(kwargs.get("interpreter_only", False))
        original(self, python, **kwargs)

    monkeypatch.setattr(probe_class, "__init__", pending)
    monkeypatch.setattr(_prehash, "RACY_NS", 0)  # the bundle was just made: its digests may be kept
    dest = tmp_path / "env"
    flags = ["--no-cache"] if no_cache else []
    result = cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", dest, *flags)
    assert result.code == 0, result
    assert [python for python, _ in uses] == [sys.executable, str(dest / "bin" / "python")]
    assert {cached for _, cached in uses} == {not no_cache} and only == [True, False]
    kept = list(cache_dir(CAPTURE_CACHE).glob("bundle-digests-*.digests"))
    assert bool(kept) == (not no_cache)


def test_the_cli_makes_the_venv_while_envsnap_loads_and_the_rebuild_takes_it(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], fresh_digests: None
) -> None:
    """The venv is made from the interpreter running envsnap before the lock is read (``_venvahead``): the
    rebuild, whose plan chose that interpreter, takes it and makes none of its own."""
    from envsnap import _venvahead

    made_here = _counting(monkeypatch, venv_module, "_create_venv")
    taken: list[object] = []
    real_take = _venvahead.VenvAhead.take

    def take(self: Any, python: str, dest: Path) -> Any:
        got = real_take(self, python, dest)
        taken.append(got)
        return got

    monkeypatch.setattr(_venvahead.VenvAhead, "take", take)
    dest = tmp_path / "env"
    result = cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", dest)
    assert result.code == 0, result
    assert made_here == [] and len(taken) == 1 and taken[0] is not None
    assert (dest / "bin" / "python").exists() and not list(tmp_path.glob(".envsnap-*"))


@pytest.mark.parametrize(
    ("argv", "read"),
    [
        (["L", "--bundle", "B"], True),
        (["--bundle", "B", "L", "--offline", "--dest", "D"], True),
        (["L", "--target", "venv", "--prefix", "D", "--bundle", "B", "--json", "--cpu-only", "--force"], True),
        (["L", "--bundle", "B", "--allow-url", "https://x/*", "--allow-url", "file:///y/*", "--dest", "D"], True),
        (["L", "--bundle=B"], False),  # argparse's: a form not read here
        (["L", "--bund", "B"], False),  # an abbreviation
        (["L", "--bundle", "B", "--python", "P"], False),  # another interpreter
        (["L", "--bundle", "B", "--dry-run"], False),  # nothing made
        (["L", "M", "--bundle", "B"], False),  # argparse's error
        (["L", "--bundle", "B", "--target", "docker"], False),
        (["L", "--dest", "D"], False),  # no bundle: the rebuild pins and downloads first
        (["L", "--dest", "D", "--prefix", "E", "--bundle", "B"], False),  # argparse takes the last
        (["L", "--bundle", "B", "--bundle", "C"], False),
        (["L", "--offline", "--offline", "--bundle", "B"], False),
        (["--bundle", "-x", "L"], False),
        (["L", "--bundle"], False),
        (["L", "--bundle", "B", "--no-cache"], False),
        (["L", "--bundle", "B", "--dest", ""], False),  # argparse refuses an empty path: nothing is begun for it
        (["L", "--bundle", "", "--dest", "D"], False),
        (["L", "--bundle", "B", "--allow-url", ""], False),
        (["", "--bundle", "B"], False),
    ],
)
def test_the_direct_form_of_a_venv_rebuild_is_what_argparse_reads(argv: list[str], read: bool) -> None:
    """``_venvfirst`` reads one form of ``rebuild`` before argparse loads, to start ``uv venv`` at once: what it
    reads is what argparse reads (a venv rebuild from a bundle, with that bundle and destination), and every other
    form is left to argparse (and to ``_venvahead``)."""
    from envsnap import _venvfirst
    from envsnap.cli import build_parser

    form = _venvfirst.direct_form(argv)
    assert (form is not None) == read
    if read:
        args = build_parser("rebuild").parse_args(["rebuild", *argv])
        assert args.target == "venv" and args.python is None and not args.dry_run and not args.no_cache
        assert form == (args.bundle, args.dest or _venvfirst.DEFAULT_DEST)


def test_the_cli_begins_uv_venv_before_argparse_and_the_rebuild_takes_it(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], fresh_digests: None
) -> None:
    from envsnap import _venvfirst

    taken: list[object] = []
    real_take = _venvfirst.take

    def take(python: str, dest: str) -> Any:
        got = real_take(python, dest)
        taken.append(got)
        return got

    monkeypatch.setattr(_venvfirst, "take", take)
    made_here = _counting(monkeypatch, venv_module, "_create_venv")
    dest = tmp_path / "env"
    result = cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", dest)
    assert result.code == 0, result
    assert len(taken) == 1 and isinstance(taken[0], _venvfirst.Early) and made_here == []
    assert taken[0].dest == str(dest) and taken[0].python == sys.executable
    assert (dest / "bin" / "python").exists() and not list(tmp_path.glob(".envsnap-*"))


def test_a_venv_begun_before_argparse_and_not_taken_is_removed(
    made: Made, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from envsnap import _venvfirst

    dest = tmp_path / "env"
    # A lock that cannot be read: the rebuild stops before its plan; the venv begun for it goes.
    result = cli("rebuild", tmp_path / "missing.lock", "--bundle", made.bundle, "--dest", dest)
    assert result.code == 2 and not list(tmp_path.glob(".envsnap-*")) and not dest.exists()
    # Begun, then a command that takes nothing: the CLI removes it as it returns, its uv killed.
    _venvfirst.start([str(made.lock_path), "--bundle", str(made.bundle), "--dest", str(dest)])
    (early,) = _venvfirst._STARTED
    assert list(tmp_path.glob(".envsnap-venv-*")) == [Path(early.holder)]
    assert cli("show", made.lock_path).code == 0
    assert early.proc.poll() is not None and not list(tmp_path.glob(".envsnap-*")) and not _venvfirst._STARTED
    # A destination named through ``..`` is the same destination.
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    _venvfirst.start([str(made.lock_path), "--bundle", str(made.bundle), "--dest", "sub/../env"])
    (early,) = _venvfirst._STARTED
    ahead = _venvahead.VenvAhead.start(sys.executable, "sub/../env")
    assert ahead is not None and not _venvfirst._STARTED and ahead._running.proc is early.proc
    ahead.cancel()
    assert not list(tmp_path.glob(".envsnap-*"))
    # Nothing is begun where the destination has no folder, or the bundle is no folder.
    _venvfirst.start([str(made.lock_path), "--bundle", str(made.bundle), "--dest", str(tmp_path / "no" / "env")])
    _venvfirst.start([str(made.lock_path), "--bundle", str(tmp_path / "nothing"), "--dest", str(dest)])
    assert not _venvfirst._STARTED and not list(tmp_path.glob(".envsnap-*"))


def test_a_venv_made_ahead_that_the_plan_does_not_take_is_removed(tmp_path: Path) -> None:
    from envsnap._venvahead import VenvAhead

    dest = tmp_path / "env"
    ahead = VenvAhead.start(sys.executable, dest)
    assert ahead is not None and list(tmp_path.glob(".envsnap-venv-*"))
    assert ahead.take(str(tmp_path / "other" / "python"), dest) is None  # another interpreter: not this venv
    assert not list(tmp_path.glob(".envsnap-*")) and not dest.exists()
    again = VenvAhead.start(sys.executable, dest)
    assert again is not None and again.take(sys.executable, tmp_path / "elsewhere") is None  # another destination
    assert not list(tmp_path.glob(".envsnap-*"))
    taken = VenvAhead.start(sys.executable, dest)
    assert taken is not None
    got = taken.take(sys.executable, dest)
    assert got is not None and (got[0] / "pyvenv.cfg").exists()
    taken.cancel()  # once taken it is the taker's: nothing is removed
    assert (got[0] / "pyvenv.cfg").exists()
    got[1].close()  # the taker's holder removes it
    assert not list(tmp_path.glob(".envsnap-*"))


def test_no_venv_is_made_ahead_where_the_destination_has_no_folder(tmp_path: Path) -> None:
    from envsnap._venvahead import VenvAhead

    assert VenvAhead.start(sys.executable, tmp_path / "missing" / "env") is None
    assert list(tmp_path.iterdir()) == []  # no folder made for it


def test_a_failed_check_removes_the_venv_made_ahead(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], fresh_digests: None
) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise PreflightError("compatibility check failed: test")

    monkeypatch.setattr(rebuild_package, "check_host", failing)
    dest = tmp_path / "env"
    result = cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", dest)
    assert result.code == 3, result
    assert not dest.exists() and not list(tmp_path.glob(".envsnap-*"))


def test_the_check_waits_for_the_early_work_to_reach_its_installer(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_digests: None
) -> None:
    """The steps before the installer are Python work that the check's capture would share the interpreter with:
    they go first (``EarlyWork.settle``), and the check runs beside the installer."""
    started, _runs = _installer_starts(monkeypatch)
    seen: list[bool] = []
    real_check = rebuild_package.check_host

    def check(*args: Any, **kwargs: Any) -> Any:
        seen.append(started.is_set())
        return real_check(*args, **kwargs)

    monkeypatch.setattr(rebuild_package, "EARLY_SETTLE_S", 60.0)  # the mechanism, not the machine's speed
    monkeypatch.setattr(rebuild_package, "check_host", check)
    result = _rebuild(made, tmp_path / "env")
    assert result.verify is not None and result.verify.identical
    assert seen == [True]


def test_the_way_to_the_installer_imports_no_capture_machinery() -> None:
    """A venv rebuild's installer starts before the check runs (``EarlyWork``); the modules on the way to it
    (the rebuild, its preflight, the venv rebuilder) import the capture's probes only when the check runs."""
    code = (
        "import sys, envsnap.cli.rebuild, envsnap.rebuild, envsnap.rebuild._preflight, envsnap.rebuild.venv\n"
        "print(sorted(m for m in sys.modules if m in ('envsnap.probes.capture', 'envsnap.probes.system',"
        " 'envsnap.probes.hostlibs', 'envsnap.probes.cuda', 'envsnap.probes.conda')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_offline_rebuild_from_a_bundle_imports_no_index_client(made: Made, tmp_path: Path) -> None:
    """Each bundled wheel's file name is checked against its locked name and version (``releases.same_release``)
    without importing the pinning machinery: an offline rebuild from a complete bundle fetches nothing, and ``pin``
    with its index client (``html.parser``, ``configparser``, the fetch policy, ``socket``) was 12 ms of imports
    beside the installer."""
    code = (
        "import sys\n"
        "from envsnap.rebuild import rebuild\n"
        f"r = rebuild({str(made.lock_path)!r}, target='venv', dest={str(tmp_path / 'env')!r}, "
        f"bundle={str(made.bundle)!r}, offline=True)\n"
        "assert r.verify is not None and r.verify.identical, r.verify\n"
        "print(sorted(m for m in sys.modules if m in ('envsnap.artifacts.pin', 'envsnap._fetchpolicy', 'html.parser',"
        " 'configparser')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_wheel_named_for_another_release_is_still_refused(made: Made, tmp_path: Path) -> None:
    """The same check, moved: a bundle whose lock gives a package a wheel file of another version is refused."""
    bundle = tmp_path / "bundle"
    shutil.copytree(made.bundle, bundle)
    locked = bundle / "envsnap.lock"
    wheel_name = next(p.name for p in (bundle / "wheels").glob("onceapple-*.whl"))
    other = wheel_name.replace("onceapple-1.0-", "onceapple-9.0-")
    (bundle / "wheels" / wheel_name).rename(bundle / "wheels" / other)
    lock = lockfile.load(locked)
    packages = tuple(
        dataclasses.replace(p, artifact=dataclasses.replace(p.artifact, filename=other))
        if p.name == "onceapple" and p.artifact is not None
        else p
        for p in lock.python.packages
    )
    lockfile.dump(dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=packages)), locked)
    rels = [rel.replace(wheel_name, other) for rel in read_sums(bundle / SUMS)]
    (bundle / SUMS).write_text("".join(f"{hashlib.sha256((bundle / r).read_bytes()).hexdigest()}  {r}\n" for r in rels))
    with pytest.raises(BadBundleError, match=r"the wheel of onceapple 9\.0, not of onceapple 1\.0"):
        rebuild(locked, target="venv", dest=tmp_path / "env", bundle=bundle, offline=True)


def test_a_rebuild_of_the_bundles_own_lock_compares_it_with_itself_nowhere(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock and the bundle's lock are one text, so one snapshot (``lockfile.loads``): the plan, the early work
    and the execution each compared the two, package by package, and made the same lock again from them. A lock
    of other text is still compared (and refused where it is another lock's: test_rebuild_interface.py)."""
    compared = _counting(monkeypatch, venv_module, "check_made_from")
    own = made.bundle / "envsnap.lock"
    result = rebuild(own, target="venv", dest=tmp_path / "env", bundle=made.bundle, offline=True)
    assert isinstance(result, RebuildResult) and result.verify is not None and result.verify.identical
    assert compared == []
    edited = tmp_path / "edited.lock"
    lock = lockfile.load(own)
    lockfile.dump(dataclasses.replace(lock, envsnap=dataclasses.replace(lock.envsnap, generator="another")), edited)
    result = rebuild(edited, target="venv", dest=tmp_path / "env2", bundle=made.bundle, offline=True)
    assert isinstance(result, RebuildResult) and result.verify is not None and result.verify.identical
    assert compared


# ---------------------------------------------------------------------- the installer begun from the last rebuild
# A venv rebuild of a lock and bundle rebuilt before starts that rebuild's installer at once (``_installahead``), and
# takes it only when its own checks, all run as before, give the same command: any other outcome kills it and leaves
# nothing.


@pytest.fixture
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundle was written moments ago: its files are taken as settled."""
    monkeypatch.setattr(_installahead, "RACY_NS", 0)


def _entries() -> list[Path]:
    return sorted(cache_dir(CAPTURE_CACHE).glob("install-*.install"))


def _begun(monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[Any]]:
    """The installers begun ahead, and what each ``adopt`` gave."""
    begun = _counting(monkeypatch, _venvahead.VenvAhead, "begin_install")
    adopted: list[Any] = []
    real = _venvahead.VenvAhead.adopt

    def adopt(self: Any, args: list[str], env: dict[str, str]) -> Any:
        try:
            got = real(self, args, env)
        except _venvahead.NotTheSame:
            adopted.append("not the same")
            raise
        adopted.append(got)
        return got

    monkeypatch.setattr(_venvahead.VenvAhead, "adopt", adopt)
    return begun, adopted


def _cli_rebuild(cli: Callable[..., Any], made: Made, dest: Path, *extra: Any) -> Any:
    return cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", dest, *extra)


def _left(folder: Path) -> list[Path]:
    return sorted(folder.glob(".envsnap-*"))


def test_the_second_rebuild_takes_the_installer_it_began_at_once(
    made: Made, tmp_path: Path, no_racy_window: None, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    begun, adopted = _begun(monkeypatch)
    started = _counting(monkeypatch, _runner, "start")
    first = _cli_rebuild(cli, made, tmp_path / "one")
    assert first.code == 0, first
    assert begun == [] and adopted == [None]  # nothing kept yet: the checks start the installer
    assert len(_entries()) == 1
    kept = _entries()[0].stat().st_mtime_ns
    second = _cli_rebuild(cli, made, tmp_path / "two")  # another destination: the same entry
    assert second.code == 0, second
    assert "identical" in second.out
    assert len(begun) == 1 and len(adopted) == 2 and isinstance(adopted[1], _runner.Running)
    installs = [call[0] for call in started if "install" in list(call[0])[:4]]
    assert len(installs) == 2  # one each: the second rebuild's checks started none of their own
    assert (tmp_path / "two" / "bin" / "python").exists() and _left(tmp_path) == []
    assert _entries()[0].stat().st_mtime_ns == kept  # the same command: not written again


def test_a_failed_check_kills_the_installer_begun_ahead_and_leaves_nothing(
    made: Made, tmp_path: Path, no_racy_window: None, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    assert _cli_rebuild(cli, made, tmp_path / "one").code == 0
    begun, _adopted = _begun(monkeypatch)
    killed = _counting(monkeypatch, _runner.Running, "kill")

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise PreflightError("compatibility check failed: test")

    monkeypatch.setattr(rebuild_package, "check_host", failing)
    result = _cli_rebuild(cli, made, tmp_path / "two")
    assert result.code == 3, result
    assert len(begun) == 1 and killed
    assert not (tmp_path / "two").exists() and _left(tmp_path) == []
    assert _entries() == []  # forgotten: the next rebuild begins nothing until one verifies again


def test_an_installer_begun_ahead_that_is_not_the_rebuilds_is_killed_and_not_used(
    made: Made, tmp_path: Path, no_racy_window: None, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """An entry whose requirements are not what the checks write (here rewritten by hand): the installer it began
    is killed, its venv removed, and the rebuild makes its own; the entry is forgotten, and the next rebuild keeps
    the right one."""
    assert _cli_rebuild(cli, made, tmp_path / "one").code == 0
    (entry,) = _entries()
    found = _installahead.read_private(entry, _installahead.MAX_BYTES)
    right = found["requirements"]
    found["requirements"] = right.replace("onceapple==1.0", "onceapple==9.9")
    entry.write_bytes(_installahead.seal(found))
    begun, adopted = _begun(monkeypatch)
    made_here = _counting(monkeypatch, venv_module, "_create_venv")
    result = _cli_rebuild(cli, made, tmp_path / "two")
    assert result.code == 0, result
    assert "identical" in result.out
    assert len(begun) == 1 and adopted == ["not the same"]
    assert len(made_here) == 1  # its own venv, in its own staging folder
    assert _left(tmp_path) == [] and _entries() == []
    assert _cli_rebuild(cli, made, tmp_path / "three").code == 0
    (entry,) = _entries()
    assert _installahead.read_private(entry, _installahead.MAX_BYTES)["requirements"] == right


def test_a_changed_bundle_or_lock_begins_nothing(
    made: Made, tmp_path: Path, no_racy_window: None, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(made.bundle, bundle)
    lock = tmp_path / "envsnap.lock"
    shutil.copy(made.lock_path, lock)
    own = Made(lock, bundle, made.source)
    assert _cli_rebuild(cli, own, tmp_path / "one").code == 0
    begun, _adopted = _begun(monkeypatch)
    wheel = next((bundle / "wheels").glob("*.whl"))
    os.utime(wheel)  # touched: another identity, whatever its content
    assert _cli_rebuild(cli, own, tmp_path / "two").code == 0
    assert begun == []
    lock.write_bytes(lock.read_bytes() + b"\n")  # the bytes of the lock, not its meaning
    assert _cli_rebuild(cli, own, tmp_path / "three").code == 0
    assert begun == []
    assert _cli_rebuild(cli, own, tmp_path / "four").code == 0  # both kept again by the runs above
    assert len(begun) == 1


def test_a_tampered_wheel_is_refused_and_the_installer_never_begun(
    made: Made, tmp_path: Path, no_racy_window: None, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(made.bundle, bundle)
    own = Made(made.lock_path, bundle, made.source)
    assert _cli_rebuild(cli, own, tmp_path / "one").code == 0
    tampered = _tampered_copy(own, tmp_path / "t", resum=True)
    shutil.rmtree(bundle)
    shutil.copytree(tampered, bundle)
    begun, _adopted = _begun(monkeypatch)
    result = _cli_rebuild(cli, own, tmp_path / "two")
    assert result.code == 2, result
    assert begun == [] and not (tmp_path / "two").exists() and _left(tmp_path) == []


def test_two_rebuilds_at_once_from_one_entry_both_verify_and_leave_nothing(made: Made, tmp_path: Path) -> None:
    """Two rebuilds of the same lock and bundle started together, as programs, with the entry an earlier one kept:
    each begins the installer it names in its own staging folder, both verify, and nothing is left beside them."""
    env = {**os.environ, "ENVSNAP_UV": _tools.uv() or ""}
    args = ["rebuild", str(made.lock_path), "--bundle", str(made.bundle), "--offline"]
    first = subprocess.run(
        [sys.executable, "-m", "envsnap", *args, "--dest", str(tmp_path / "one")], env=env, capture_output=True
    )
    assert first.returncode == 0, first.stderr
    kept = sorted(cache_dir(CAPTURE_CACHE).glob("install-*.install"))
    if not kept:  # the subprocesses take the racy window as it is: the bundle is older than it by now, or this waits
        import time

        time.sleep(2.1)
        first = subprocess.run(
            [sys.executable, "-m", "envsnap", *args, "--dest", str(tmp_path / "zero")], env=env, capture_output=True
        )
        assert first.returncode == 0, first.stderr
        kept = sorted(cache_dir(CAPTURE_CACHE).glob("install-*.install"))
    assert len(kept) == 1
    both = [
        subprocess.Popen(
            [sys.executable, "-m", "envsnap", *args, "--dest", str(tmp_path / name)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in ("two", "three")
    ]
    for proc in both:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert b"identical" in out
    assert (tmp_path / "two" / "bin" / "python").exists() and (tmp_path / "three" / "bin" / "python").exists()
    assert _left(tmp_path) == []


def test_no_cache_neither_reads_nor_keeps_an_entry(
    made: Made, tmp_path: Path, no_racy_window: None, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    begun, _adopted = _begun(monkeypatch)
    assert _cli_rebuild(cli, made, tmp_path / "one", "--no-cache").code == 0
    assert _entries() == []
    assert _cli_rebuild(cli, made, tmp_path / "two").code == 0
    assert _cli_rebuild(cli, made, tmp_path / "three", "--no-cache").code == 0
    assert begun == []


def test_a_racily_recent_bundle_is_not_kept(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """A file changed within ``RACY_NS`` of the rebuild's start could change again in the same clock tick and keep
    its identity: no entry is written for it."""
    monkeypatch.setattr(_installahead, "RACY_NS", 2 * 10**9)
    bundle = tmp_path / "bundle"
    shutil.copytree(made.bundle, bundle)  # written now
    own = Made(made.lock_path, bundle, made.source)
    assert _cli_rebuild(cli, own, tmp_path / "one").code == 0
    assert _entries() == []
    monkeypatch.setattr(_installahead, "RACY_NS", 0)  # the same rebuild, its files taken as settled: kept
    assert _cli_rebuild(cli, own, tmp_path / "two").code == 0
    assert len(_entries()) == 1


def test_lookup_refuses_what_it_cannot_use(tmp_path: Path, made: Made, no_racy_window: None) -> None:
    uv = _tools.uv()
    assert uv
    key = _installahead.key({"lock": "x"}, sys.executable, uv)
    print_ = _installahead.fingerprint(str(made.lock_path), str(made.bundle))
    assert print_ is not None
    memo = _installahead.Memo([uv, _installahead.PYTHON_SLOT, "-r", _installahead.REQUIREMENTS_SLOT], "a==1\n", 1.0)
    _installahead.remember(key, print_, 2**62, memo)
    dest = str(tmp_path / "env")
    assert _installahead.lookup(key, print_, uv, dest) == memo
    assert _installahead.lookup(key, print_, "/other/uv", dest) is None
    assert _installahead.lookup(_installahead.key({"lock": "y"}, sys.executable, uv), print_, uv, dest) is None
    assert _installahead.lookup(key, (print_[0], print_[1][:-1]), uv, dest) is None
    assert _installahead.lookup(key, None, uv, dest) is None
    (tmp_path / "env").mkdir()
    assert _installahead.lookup(key, print_, uv, dest) is None  # the destination exists: the checks decide
    roomy = _installahead.Memo(memo.args, memo.requirements, float(2**50))
    _installahead.remember(key, print_, 2**62, roomy)
    assert _installahead.lookup(key, print_, uv, str(tmp_path / "new")) is None  # no such room on any disk
    (entry,) = _entries()
    entry.write_bytes(entry.read_bytes()[:-3])  # damaged
    assert _installahead.lookup(key, print_, uv, str(tmp_path / "new")) is None
    entry.chmod(0o644)
    _installahead.remember(key, print_, 2**62, memo)
    entry.chmod(0o666)  # another user could have written it: never read
    assert _installahead.lookup(key, print_, uv, str(tmp_path / "new")) is None


def test_the_fingerprint_sees_every_file_of_the_bundle(tmp_path: Path, made: Made, no_racy_window: None) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(made.bundle, bundle)
    first = _installahead.fingerprint(str(made.lock_path), str(bundle))
    assert first is not None and any(entry[0].startswith("wheels/") for entry in first[1])
    (bundle / "wheels" / "extra.txt").write_text("x")
    second = _installahead.fingerprint(str(made.lock_path), str(bundle))
    assert second is not None and second != first
    assert _installahead.fingerprint(str(tmp_path / "missing.lock"), str(bundle)) is None


def test_the_fingerprint_leaves_out_what_a_killed_re_bundle_left_in_the_bundle(
    tmp_path: Path, made: Made, no_racy_window: None
) -> None:
    """A killed re-bundle's ``.envsnap-bundle-*`` folder inside the bundle is no file of it (SHA256SUMS never names
    it): it was walked for every rebuild, and its removal (`envsnap clean BUNDLE`) made the next rebuild begin
    nothing ahead."""
    bundle = tmp_path / "bundle"
    shutil.copytree(made.bundle, bundle)
    first = _installahead.fingerprint(str(made.lock_path), str(bundle))
    kept = bundle / ".envsnap-bundle-k1ll3d" / "wheels"
    kept.mkdir(parents=True)
    (kept / "old.whl").write_bytes(b"kept")
    assert _installahead.fingerprint(str(made.lock_path), str(bundle)) == first


def test_the_bundles_readme_command_rebuilds_from_inside_the_bundle(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README.md, the first file a reviewer opens, said `--dest ./env`: the new venv inside the bundle was then
    "a link or special file in the bundle", exit 2. The README's own command line, run where it says, works."""
    import re
    import shlex
    import shutil

    copy = tmp_path / "supplement"
    shutil.copytree(made.bundle, copy, symlinks=True)
    readme = (copy / "README.md").read_text()
    commands = [ln.strip() for ln in readme.splitlines() if ln.strip().startswith("envsnap rebuild ")]
    # The venv's command, and the docker one beside it for a bundle with a saved base (its context outside too).
    (line,) = [ln for ln in commands if "--target docker" not in ln]
    assert all("--dest ../" in ln for ln in commands), commands
    assert "./env " not in readme and not re.search(r"\s\./env\b", readme), readme
    args = shlex.split(line)[1:]
    monkeypatch.chdir(copy)
    from envsnap.cli import main

    assert main(args) == 0
    assert (tmp_path / "envsnap-env" / "bin" / "python").exists()
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in made.bundle.iterdir())


def test_a_destination_inside_the_bundle_is_refused_before_anything_is_made(made: Made, tmp_path: Path) -> None:
    """It was refused only once the staging venv had been made there, as "a link or special file in the bundle"
    naming envsnap's own staging folder."""
    import shutil

    from envsnap.errors import BadOptionError

    copy = tmp_path / "supplement"
    shutil.copytree(made.bundle, copy, symlinks=True)
    with pytest.raises(BadOptionError, match=r"inside the bundle .*put the environment beside it"):
        rebuild(made.lock_path, target="venv", dest=copy / "env", bundle=copy, offline=True)
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in made.bundle.iterdir())


def test_a_default_destination_inside_the_bundle_names_the_targets_own_beside_it(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from inside the bundle without --dest, the refusal named only envsnap-venv (the default, never typed),
    and told the docker target, whose default is its build context envsnap-docker-context, to use ../envsnap-env."""
    import shutil

    copy = tmp_path / "supplement"
    shutil.copytree(made.bundle, copy, symlinks=True)
    monkeypatch.chdir(copy)
    with pytest.raises(BadOptionError) as caught:
        rebuild(made.lock_path, target="venv", bundle=".", offline=True)
    assert str(caught.value) == (
        "envsnap-venv (the target's default --dest): inside the bundle .; put the environment beside it "
        "(--dest ../envsnap-venv): anything added inside no longer matches SHA256SUMS"
    )
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in made.bundle.iterdir())
    with pytest.raises(BadOptionError) as caught:
        rebuild_package.refuse_dest_in_bundle("envsnap-docker-context", ".", "envsnap-docker-context")
    assert "(--dest ../envsnap-docker-context)" in str(caught.value)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadOptionError, match=r"supplement/ctx: inside the bundle supplement; .*\(--dest ctx\)"):
        rebuild_package.refuse_dest_in_bundle("supplement/ctx", "supplement", "ctx")
    rebuild_package.refuse_dest_in_bundle("ctx", "supplement", "ctx")  # beside it: nothing to refuse


@pytest.mark.parametrize("target", ["venv", "docker"])
def test_a_destination_inside_a_bundle_whose_folder_name_holds_a_newline_is_refused_in_one_line(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    """A bundle unpacked into ``review\\ndir/supp``, rebuilt into a folder inside it: the refusal's ``(--dest
    review\\ndir/envsnap-venv)``, the destination beside the bundle, was quoted with ``shlex.quote``, which refuses a
    control character, so the rebuild ended in a traceback (``UnsafeValue``), exit 1. One line, exit 2, that folder
    named as bash's ``$'...'`` word, and nothing made in the bundle."""
    copy = tmp_path / "review\ndir" / "supp"
    shutil.copytree(made.bundle, copy, symlinks=True)
    monkeypatch.chdir(tmp_path)
    assert cli_main(["rebuild", str(copy), "--target", target, "--offline", "--dest", str(copy / "env")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    default = "envsnap-venv" if target == "venv" else "envsnap-docker-context"
    assert f"(--dest $'review\\x0adir/{default}')" in err, err
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in made.bundle.iterdir())


def test_a_plan_from_a_bundle_archive_names_the_archive_not_its_temporary_folder(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The venv plan of `--bundle supp.tar.gz --dry-run` said `bundle: /tmp/.envsnap-rebuild-XXXX/bundle` and
    "check every wheel in /tmp/.envsnap-rebuild-XXXX/bundle", a folder removed before the reader saw it (the
    folder's plan, and the docker target's, name the bundle as given)."""
    import tempfile

    from envsnap.artifacts.bundle import write_archive
    from envsnap.rebuild import Plan

    write_archive(made.bundle, tmp_path / "supp.tar.gz")
    monkeypatch.chdir(tmp_path)
    plan = rebuild(made.lock_path, target="venv", bundle="supp.tar.gz", offline=True, dry_run=True, dest="env")
    assert isinstance(plan, Plan)
    assert plan.details["bundle"] == "supp.tar.gz"
    assert "check every wheel in supp.tar.gz against the lock's sha256" in plan.steps
    text = plan.describe() + json.dumps(plan.to_dict())
    assert tempfile.gettempdir() + "/.envsnap-" not in text, text


def test_a_run_record_of_the_lock_takes_the_bundles_lock_as_that_lock(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bundle pins the lock and seals it anew: a run record of the lock named a digest the bundle's lock no longer
    had, so REPRODUCING.md's rerun step of every paper artifact said "environment: differs"."""
    from envsnap.runs import rerun
    from envsnap.runs.record import Command, Environment, Meta, Outcome, RunRecord

    given = lockfile.load(made.lock_path)
    bundled = lockfile.load(made.bundle / "envsnap.lock")
    assert bundled.envsnap.content_digest != given.envsnap.content_digest
    assert bundled.envsnap.made_from == given.envsnap.content_digest

    rebuilt = _rebuild(made, tmp_path / "env")
    assert rebuilt.ok

    def record(digest: str) -> RunRecord:
        time = "2026-12-01T10:00:00Z"
        return RunRecord(
            run=Meta(),
            command=Command(argv=(str(tmp_path / "env" / "bin" / "python"), "-c", "pass")),
            result=Outcome(started=time, ended=time, duration_ms=1, exit_status=0),
            environment=Environment(lock="envsnap.lock", lock_digest=digest),
        )

    check = rerun.check_environment(record(given.envsnap.content_digest), made.bundle)
    assert check.state == rerun.SAME, check
    other = rerun.check_environment(record("sha256:" + "e" * 64), made.bundle)
    assert other.state == rerun.DIFFERS and "is not the lock the run used" in other.lines[0]


def test_a_verify_probe_started_ahead_that_fails_is_replaced_by_one_where_the_venv_is(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_digests: None
) -> None:
    """The verify's probe, started in the staging folder while the installer ran, ended before it answered (its
    interpreter died): the venv is probed afresh where it was moved to, and verified as before."""
    probe_class = capture_module.python.PendingProbe
    started: list[str | None] = []
    original_init, original_go = probe_class.__init__, probe_class.go

    def pending(self: Any, python: str | None, **kwargs: Any) -> None:
        started.append(_answering_for(python, kwargs) + (" (ahead)" if kwargs.get("moved") else ""))
        original_init(self, python, **kwargs)

    def go(self: Any) -> None:
        if self._moved is not None:
            self.cancel()  # it dies instead of reading the venv
        else:
            original_go(self)

    monkeypatch.setattr(probe_class, "__init__", pending)
    monkeypatch.setattr(probe_class, "go", go)
    dest = tmp_path / "env"
    verified = _rebuild(made, dest).verify
    assert verified is not None and verified.identical and verified.packages_checked == len(PACKAGES)
    # The check's probe, the one started ahead, and the one started afresh once it failed.
    assert len(started) == 3 and started[-1] == f"{dest}/bin/python"
    assert f"{dest}/bin/python (ahead)" in started


def test_the_venv_rebuild_hands_its_verify_the_lock_scrubbed_while_the_installer_ran(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], fresh_digests: None
) -> None:
    """The verify reports the lock without its secrets; the rebuild scrubs it while uv installs, and the verify
    takes it as it is (``scrubbed``): what it compares is what ``scrub_snapshot`` gives."""
    from envsnap._privacy import scrub_snapshot
    from envsnap.compare import verify as verify_module

    given: list[tuple[Any, bool]] = []
    real = verify_module.verify

    def recorded(lock: Any, *args: Any, **kwargs: Any) -> Any:
        given.append((lock, kwargs.get("scrubbed", False)))
        return real(lock, *args, **kwargs)

    monkeypatch.setattr(verify_module, "verify", recorded)
    result = cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", tmp_path / "env")
    assert result.code == 0, result
    ((lock, scrubbed),) = given
    assert scrubbed is True and scrub_snapshot(lock) is lock


@pytest.mark.parametrize("premade", [False, True], ids=["no destination", "an empty destination"])
def test_a_venv_whose_verify_was_interrupted_is_not_left_in_place(
    made: Made,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., Any],
    fresh_digests: None,
    premade: bool,
) -> None:
    """A Ctrl-C while the new venv was verified left it at --dest, whole but never judged, where the next user
    would take it for a verified rebuild. It is taken back out (and removed with its staging folder), and the
    destination is as the rebuild found it, as the docker target tags no image it did not verify."""
    from envsnap.rebuild import venv as venv_module

    judged: list[Path] = []

    def interrupted(lock: Any, dest: Path, *args: Any) -> Any:
        judged.append(dest)
        assert (dest / "bin" / "python").exists()  # in place while it is verified
        raise KeyboardInterrupt

    monkeypatch.setattr(venv_module, "_verify", interrupted)
    dest = tmp_path / "out" / "env"
    dest.parent.mkdir()
    if premade:
        dest.mkdir()
    result = cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", dest)
    assert result.code == 130 and judged == [dest], result
    assert (sorted(p.name for p in dest.parent.iterdir()), dest.exists()) == (
        (["env"], True) if premade else ([], False)
    )
    if premade:
        assert list(dest.iterdir()) == []


@pytest.mark.parametrize("at", ["moved", "verified"])
def test_a_ctrl_c_once_the_venv_is_in_place_or_verified_leaves_no_venv_at_the_destination(
    made: Made,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., Any],
    fresh_digests: None,
    at: str,
) -> None:
    """A Ctrl-C just after the venv was moved into place (before its verify began), or after the verify finished
    (while the rebuild cleaned up), exited 130 with the venv left at --dest: a venv the rebuild did not finish with.
    Until the rebuild returns its verdict an interrupt withdraws it, as one during the verify does."""
    from envsnap.rebuild import venv as venv_module

    dest = tmp_path / "out" / "env"
    dest.parent.mkdir()
    seen: list[str] = []
    if at == "moved":
        real_move = venv_module.move_into_place

        def moved(folder: Path, to: Path) -> bool:
            real_move(folder, to)
            seen.append("moved")
            raise KeyboardInterrupt

        monkeypatch.setattr(venv_module, "move_into_place", moved)
    else:
        real_end, real_verify = venv_module._end, venv_module._verify

        def verified(*args: Any) -> Any:
            report = real_verify(*args)
            seen.append("verified")
            return report

        def end(probe: Any) -> None:
            real_end(probe)
            if seen:  # the verify has finished: the rebuild is cleaning up
                raise KeyboardInterrupt

        monkeypatch.setattr(venv_module, "_verify", verified)
        monkeypatch.setattr(venv_module, "_end", end)
    result = cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", dest)
    assert result.code == 130 and seen == [at], result
    assert sorted(p.name for p in dest.parent.iterdir()) == [] and not dest.exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("at", ["shutdown", "report"])
def test_a_signal_once_the_verdict_is_returned_leaves_the_venv_reported_with_the_verdicts_status(
    made: Made,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., Any],
    fresh_digests: None,
    at: str,
    signum: int,
) -> None:
    """A Ctrl-C or SIGTERM once the rebuild had its verdict (while ``rebuild()`` shut down the work it began ahead,
    or while the command printed the report) exited 130 (143) with the venv left at --dest, neither withdrawn nor
    reported. Once the verdict is returned the venv stays: the signal is held until the report is printed, which
    says so, and the exit status is the verdict's."""
    from envsnap.cli import rebuild as rebuild_command
    from envsnap.cli import stop_on_signals

    dest = tmp_path / "out" / "env"
    dest.parent.mkdir()
    sent: list[str] = []
    real_verify = venv_module._verify
    verified: list[bool] = []

    def verify_then_note(*args: Any) -> Any:
        report = real_verify(*args)
        verified.append(True)
        return report

    def send() -> None:
        if verified and not sent:
            sent.append(at)
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(venv_module, "_verify", verify_then_note)
    if at == "shutdown":
        real_cancel = _venvahead.VenvAhead.cancel

        def cancel(self: Any) -> None:
            real_cancel(self)
            send()

        monkeypatch.setattr(_venvahead.VenvAhead, "cancel", cancel)
    else:
        real_print = rebuild_command.print_report

        def print_report(*args: Any, **kwargs: Any) -> Any:
            send()
            return real_print(*args, **kwargs)

        monkeypatch.setattr(rebuild_command, "print_report", print_report)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        stop_on_signals()  # as the program itself handles SIGTERM
        result = cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", dest)
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)
    assert sent == [at], result
    assert result.code == 0, result
    assert (dest / "bin" / "python").exists()
    assert "identical" in result.out + result.err or "verified" in result.out + result.err, result
    name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
    assert f"{name} came once the rebuild had returned its verdict" in result.err, result.err


def test_rebuilds_beside_one_another_stage_at_one_path_and_uv_knows_the_interpreter_there(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], fresh_digests: None
) -> None:
    # uv keeps what it learnt of an interpreter by its path: the venv of each rebuild into this folder is made at
    # the same staging path (``.envsnap-venv-slot0``), so its installer asks nothing the last one asked.
    import fcntl
    import shlex

    uv = uv_bin()
    assert uv is not None
    log = tmp_path / "uv.log"
    wrapper = tmp_path / "uv-logging"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {shlex.quote(str(log))}\nexec {shlex.quote(uv)} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("ENVSNAP_UV", str(wrapper))
    out = tmp_path / "envs"
    out.mkdir()

    def installed_into(dest: Path) -> str:
        log.write_text("")
        result = cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", dest)
        assert result.code == 0, result
        (install,) = [line for line in log.read_text().splitlines() if line.startswith("pip install")]
        words = install.split()
        return words[words.index("--python") + 1]

    slot0 = out / ".envsnap-venv-slot0"
    first, second = installed_into(out / "one"), installed_into(out / "two")
    assert first == second == str(slot0 / "venv" / "bin" / "python")
    assert not list(out.glob(".envsnap-*"))  # each removed after its rebuild
    # A running rebuild's slot is never taken: the next free one is.
    slot0.mkdir()
    held = os.open(slot0, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        assert installed_into(out / "three") == str(out / ".envsnap-venv-slot1" / "venv" / "bin" / "python")
        assert slot0.is_dir() and not list(slot0.iterdir())
    finally:
        os.close(held)
    # What a killed rebuild left there (no longer held) is swept, and the slot is free for the next one.
    assert installed_into(out / "four") == str(out / ".envsnap-venv-slot1" / "venv" / "bin" / "python")
    assert not list(out.glob(".envsnap-*"))
    assert installed_into(out / "five") == first
    # A link someone put at a slot's name is neither followed nor removed.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    slot0.symlink_to(elsewhere)
    assert installed_into(out / "six") == str(out / ".envsnap-venv-slot1" / "venv" / "bin" / "python")
    assert slot0.is_symlink() and not list(elsewhere.iterdir())


def test_a_verify_probe_that_fails_names_the_new_venvs_interpreter_not_an_option_never_typed(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], fresh_digests: None
) -> None:
    """The verify probes the new venv's interpreter, which no one typed: its failure read ``--python
    DEST/bin/python: ...``, an option the command line did not hold. It names the environment's interpreter, as
    the failed probe of an active venv does; nothing is left at --dest."""
    from envsnap.probes import pending

    failing = tmp_path / "probe.py"
    failing.write_text("import sys\nsys.exit('broken')\n")
    # Every probe run out of process fails: the check's, of the interpreter running envsnap, answers in-process.
    monkeypatch.setattr(pending, "PROBE_PATH", str(failing))
    dest = tmp_path / "env"
    result = cli("rebuild", made.lock_path, "--bundle", made.bundle, "--offline", "--dest", dest)
    assert result.code == 2, result
    *progress, line = result.err.splitlines()
    assert line == (
        f"envsnap: error: the environment's interpreter {dest}/bin/python: not a working Python interpreter (broken)"
    )
    assert not any("error" in p for p in progress), progress
    assert not dest.exists()


def test_a_bundle_given_as_the_lock_takes_what_bundle_begins_ahead(
    made: Made,
    tmp_path: Path,
    no_racy_window: None,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., Any],
    fresh_digests: None,
) -> None:
    """``rebuild BUNDLE`` (the reviewer's form, the bundle as the lock) is ``rebuild BUNDLE/envsnap.lock --bundle
    BUNDLE``, and begins what that form begins ahead: the bundle's files hashed while envsnap loads (and not again),
    ``uv venv`` before argparse (taken), and, on the second rebuild, the first one's installer at once. It took none
    of them (0.1 s more of CPU on the bench's 149 wheels)."""
    from envsnap import _venvfirst

    early = _counting(monkeypatch, _prehash, "sha256_file")
    late = _counting(monkeypatch, bundle_module, "sha256_file")
    first_venvs = _counting(monkeypatch, _venvfirst, "take")
    begun, adopted = _begun(monkeypatch)
    first = cli("rebuild", made.bundle, "--offline", "--dest", tmp_path / "one")
    assert first.code == 0, first
    listed = {(made.bundle / rel).resolve() for rel in read_sums(made.bundle / SUMS)}
    hashed = collections.Counter(Path(args[0]).resolve() for args in early)
    assert listed <= set(hashed) and set(hashed.values()) == {1}  # before the rest of envsnap loaded, once each
    assert late == []  # the bundle's checks found every digest known
    assert len(first_venvs) == 1 and _venvfirst.direct_form([str(made.bundle)]) == (str(made.bundle), "envsnap-venv")
    assert begun == [] and adopted == [None] and len(_entries()) == 1
    second = cli("rebuild", made.bundle, "--offline", "--dest", tmp_path / "two")
    assert second.code == 0, second
    assert "identical" in second.out
    assert len(begun) == 1 and isinstance(adopted[1], _runner.Running)  # the first one's installer, begun at once
    assert (tmp_path / "two" / "bin" / "python").exists() and _left(tmp_path) == []
