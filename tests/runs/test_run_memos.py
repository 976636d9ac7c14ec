"""envsnap run's second run of an unchanged environment: answered from what the first kept (the capture memo,
the verify memo, the lock's view, the owner memo: docs/design.md, "Cost"), it records exactly what a run
without any cache records, and makes no lock model, reads no package list and no RECORD file to do it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from envsnap import _sealed
from envsnap.runs import record as rec

# A compiled wheel's extension (tomli's, built with mypyc) and its modules, and the standard library's.
PROGRAM = "import tomli, json; tomli.loads('a = 1')"


def _comparable(record: rec.RunRecord) -> tuple[object, ...]:
    """What a run of the same command records the same every time (not its times, samples or the capture's
    date)."""
    loaded = record.loaded
    env = record.environment
    return (
        record.command,
        record.code,
        env.lock if not env.captured else "(beside the record)",
        env.captured,
        env.python,
        env.drift,
        loaded.python_processes,
        loaded.libraries,
        loaded.modules,
        loaded.distributions,
    )


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often a run made a lock model, indexed the package database's lists, read a site folder's RECORD
    files, captured or verified."""
    from envsnap import lockfile
    from envsnap.compare import verify as verify_module
    from envsnap.probes import capture as capture_module
    from envsnap.probes import memo
    from envsnap.probes.hostlibs import PackageDatabase
    from envsnap.runs import libraries

    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))  # files made moments ago (a test's) are trusted here
    calls = {"model": 0, "index": 0, "records": 0, "capture": 0, "verify": 0}

    def spy(name: str, real: object) -> object:
        def wrapped(*args: object, **kwargs: object) -> object:
            calls[name] += 1
            return real(*args, **kwargs)  # type: ignore[operator]

        return wrapped

    monkeypatch.setattr(lockfile, "from_document", spy("model", lockfile.from_document))
    monkeypatch.setattr(lockfile, "loads", spy("model", lockfile.loads))
    monkeypatch.setattr(PackageDatabase, "index_owners", spy("index", PackageDatabase.index_owners))
    monkeypatch.setattr(libraries, "_read_records", spy("records", libraries._read_records))
    monkeypatch.setattr(libraries, "_cached_rows", spy("records", libraries._cached_rows))
    monkeypatch.setattr(capture_module, "capture", spy("capture", capture_module.capture))
    monkeypatch.setattr(verify_module, "verify", spy("verify", verify_module.verify))
    return calls


def _run(tmp_path: Path, name: str, *, lock: Path | None = None, use_cache: bool = True) -> rec.RunRecord:
    from envsnap.runs.recorder import RunRequest, run_command

    record, finished = run_command(
        RunRequest(
            argv=(sys.executable, "-c", PROGRAM), record=tmp_path / f"{name}.toml", lock=lock, use_cache=use_cache
        )
    )
    assert finished.exit_status == 0
    return record


def test_a_run_without_a_lock_answered_from_the_memos_records_what_a_full_run_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: dict[str, int]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENVSNAP_RUN_CACHE", raising=False)
    full = _run(tmp_path, "full", use_cache=False)  # no cache read or written
    assert counted["capture"] == 1 and counted["index"] == 1 and counted["records"] > 0
    first = _run(tmp_path, "first")  # the memos filled
    assert counted["capture"] == 2
    before = dict(counted)
    second = _run(tmp_path, "second")  # answered from them
    assert counted == before  # no capture, lock model, package lists or RECORD files
    assert _comparable(full) == _comparable(first) == _comparable(second)
    assert any(lib.owner == "python" and lib.package == "tomli" and lib.accounted for lib in second.loaded.libraries)
    assert any(d.startswith("tomli ") for d in second.loaded.distributions)
    # The capture stored beside the record: the same text as the first run's (the same capture), its digest named.
    assert (tmp_path / "second.lock").read_bytes() == (tmp_path / "first.lock").read_bytes()
    assert second.environment.lock_digest == first.environment.lock_digest
    assert second.environment.lock == "second.lock"
    from envsnap import lockfile

    stored = lockfile.load(tmp_path / "second.lock")
    assert stored.envsnap.content_digest == second.environment.lock_digest


def test_the_capture_beside_a_record_is_written_only_when_it_differs_from_what_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: dict[str, int]
) -> None:
    """A second run of an unchanged environment stores the same capture beside its record: the file is left as
    it is (no write, no fsync at the end of the run); a file holding anything else is replaced."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENVSNAP_RUN_CACHE", raising=False)
    _run(tmp_path, "run")
    lock = tmp_path / "run.lock"
    text, stamp = lock.read_bytes(), lock.stat()
    _run(tmp_path, "run")
    assert lock.read_bytes() == text and (lock.stat().st_ino, lock.stat().st_mtime_ns) == (
        stamp.st_ino,
        stamp.st_mtime_ns,
    )
    lock.write_bytes(text[:-1])  # not the capture
    _run(tmp_path, "run")
    assert lock.read_bytes() == text


def test_a_run_with_a_lock_answered_from_the_memos_records_what_a_full_run_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path, counted: dict[str, int]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENVSNAP_RUN_CACHE", raising=False)
    lock = tmp_path / "env.lock"
    lock.write_bytes(host_lock.read_bytes())
    full = _run(tmp_path, "full", lock=lock, use_cache=False)
    assert counted["verify"] == 1
    first = _run(tmp_path, "first", lock=lock)  # validates the lock (before the command), keeps its view
    _run(tmp_path, "kept", lock=lock)  # the lock validated before: its view and digest kept, and the verify's
    before = dict(counted)
    second = _run(tmp_path, "second", lock=lock)
    assert counted == before  # no lock model, verify, package lists or RECORD files
    assert _comparable(full) == _comparable(first) == _comparable(second)
    assert second.environment.lock_digest == full.environment.lock_digest != ""


def test_the_owner_memo_is_not_given_once_a_site_folder_or_the_package_database_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A distribution installed, removed or reinstalled in a kept file's site folder changes its owner: the memo
    then answers nothing."""
    from envsnap.probes import memo
    from envsnap.runs import owners
    from envsnap.runs.libraries import CondaIndex, Owner

    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "_ext.so").write_bytes(b"\x7fELF")
    (site / "pkg" / "mod.py").write_text("")
    info = site / "pkg-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("pkg/_ext.so,,\npkg/mod.py,,\n")
    so, mod = str(site / "pkg" / "_ext.so"), str(site / "pkg" / "mod.py")

    def kept() -> owners.OwnerMemo:
        return owners.load("identity", sys.executable, True)

    first = kept()
    assert not first.hit
    first.learn({so: Owner("python", "pkg", "1.0"), "/nowhere/libx.so": None}, {mod: ("pkg", "1.0"), "/x.py": None})
    assert first.save()
    again = kept()
    assert again.hit and again.known_modules([mod, "/x.py"]) == {mod: ("pkg", "1.0")}  # only site files kept
    assert again.known_objects([so, "/nowhere/libx.so"], CondaIndex()) == {
        so: Owner("python", "pkg", "1.0"),
        "/nowhere/libx.so": None,
    }
    assert not again.save()  # nothing new: nothing written
    (info / "RECORD").write_text("pkg/_ext.so,,\n")  # reinstalled
    os.utime(info / "RECORD", ns=(1, 1))
    assert not kept().hit
    first.changed = True  # kept again, as the run that looks them up again does
    assert first.save() and kept().hit
    (site / "other-2.0.dist-info").mkdir()  # another distribution installed beside it
    assert not kept().hit
    # A site folder whose RECORD files were read holds no kept file, but may own one through its real path.
    other = tmp_path / "other" / "site-packages"
    other.mkdir(parents=True)
    first.learn({}, {}, [str(other)])
    assert first.save() and kept().hit and kept().sites == {str(other)}
    (other / "linked-1.0.dist-info").mkdir()
    assert not kept().hit


def test_a_kept_owner_is_looked_up_again_once_a_conda_environment_lies_above_it(tmp_path: Path) -> None:
    from envsnap.runs import owners
    from envsnap.runs.libraries import CondaIndex, Owner

    lib = tmp_path / "env" / "lib" / "libx.so"
    lib.parent.mkdir(parents=True)
    lib.write_bytes(b"")
    memo = owners.OwnerMemo()
    memo.learn({str(lib): None, "/usr/lib/liby.so": Owner("system", "y", "1")}, {})
    assert memo.known_objects([str(lib)], CondaIndex()) == {str(lib): None}
    (tmp_path / "env" / "conda-meta").mkdir()
    assert memo.known_objects([str(lib)], CondaIndex()) == {}


def test_a_kept_capture_that_is_not_a_valid_lock_is_captured_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: dict[str, int]
) -> None:
    """The memo's document is made into the text stored beside the record only through the lock's checks when
    its text is not kept: one that fails them is not used (the environment is captured again), never written."""
    import glob

    from envsnap.probes import memo as memo_module
    from envsnap.runs import cache

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENVSNAP_RUN_CACHE", raising=False)
    _run(tmp_path, "first")
    folder = os.path.join(os.environ["XDG_CACHE_HOME"], "envsnap", "capture")
    (kept,) = glob.glob(os.path.join(folder, "run-*" + memo_module.SUFFIX))
    memo = _sealed.unseal(Path(kept).read_bytes())
    memo["answer"]["document"]["python"] = {"version": "not a version"}
    Path(kept).write_bytes(_sealed.seal(memo))
    for entry in cache.cache_dir().glob("locktext-*.json"):
        entry.unlink()
    second = _run(tmp_path, "second")
    assert counted["capture"] == 2 and second.environment.captured and not second.environment.drift
    from envsnap import lockfile

    assert lockfile.load(tmp_path / "second.lock").envsnap.content_digest == second.environment.lock_digest


def test_no_cache_neither_reads_nor_keeps_the_owner_memo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    """``--no-cache`` (``use_cache=False``) looks every owner up, ``--strict`` included (it reads ahead apart)."""
    import glob

    from envsnap.probes.memo import SUFFIX
    from envsnap.runs.recorder import RunRequest, run_command

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENVSNAP_RUN_CACHE", raising=False)
    folder = os.path.join(os.environ["XDG_CACHE_HOME"], "envsnap", "capture")
    for strict in (True, False):
        request = RunRequest(
            argv=(sys.executable, "-c", "pass"), record=tmp_path / "run.toml", lock=host_lock, strict=strict
        )
        request.use_cache = False
        assert run_command(request)[1].exit_status == 0
        assert glob.glob(os.path.join(folder, "runowners-*" + SUFFIX)) == []
    assert (
        run_command(RunRequest(argv=(sys.executable, "-c", "pass"), record=tmp_path / "run.toml"))[1].exit_status == 0
    )
    assert len(glob.glob(os.path.join(folder, "runowners-*" + SUFFIX))) == 1
