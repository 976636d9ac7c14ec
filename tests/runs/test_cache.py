"""envsnap run's quick-verify cache (envsnap/runs/cache.py): an entry decides what a run record says about its
environment, so it is kept only in a folder that is the user's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from envsnap.runs import cache


def test_a_folder_others_may_write_is_neither_read_nor_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stranger who may write it could plant "no drift" for a drifted environment (the key is a digest of
    file stamps anyone can read)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache.put("k1", {"findings": []})
    assert cache.get("k1") == {"findings": [], "key": "k1"}
    folder = cache.cache_dir()
    assert folder.stat().st_mode & 0o777 == 0o700  # made private
    folder.chmod(0o777)
    assert cache.get("k1") is None
    cache.put("k2", {"findings": []})
    assert not (folder / "k2.json").exists()


def test_an_entry_others_may_write_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry planted while the folder was open to others outlives the folder's ``chmod 700``: the entry itself
    must be the user's own and writable by nobody else."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache.put("k1", {"findings": []})
    (cache.cache_dir() / "k1.json").chmod(0o666)
    assert cache.get("k1") is None


def test_only_the_entries_used_last_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every changed environment or lock adds entries: the folder keeps the newest MAX_ENTRIES, not all."""
    import os

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(cache, "MAX_ENTRIES", 2)
    for i, name in enumerate(("k1", "k2")):
        cache.put(name, {"findings": []})
        os.utime(cache.cache_dir() / f"{name}.json", ns=(10**9 * (i + 1),) * 2)
    assert cache.get("k1") is not None  # used now: newer than k2
    cache.put("k3", {"findings": []})
    assert sorted(p.name for p in cache.cache_dir().iterdir()) == ["k1.json", "k3.json"]
    assert (cache.cache_dir() / "k3.json").stat().st_mode & 0o777 == 0o600


def test_a_cached_capture_s_lock_text_is_kept_per_project_state_and_is_the_text_it_would_make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run without a lock writes the capture beside its record: that text is made once per state of the
    project (the commit) and kept, by the fresh capture as by the cached one (which then makes no lock model);
    it is byte for byte the text made afresh, with the project's commit."""
    import subprocess
    import sys

    from envsnap import lockfile
    from envsnap.probes import memo
    from envsnap.runs import assemble

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ENVSNAP_RUN_CACHE", raising=False)
    # Trusted here: what the capture stamps (a PYTHONPATH folder, a checkout cloned moments before the tests ran)
    # may have changed within the racy window, when no capture is kept and each run's is made afresh.
    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))
    project = tmp_path / "project"
    project.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(project)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    monkeypatch.chdir(project)
    made: list[str] = []
    real = lockfile.dumps_sealed

    def counted(snapshot: object) -> tuple[str, str]:
        made.append("x")
        return real(snapshot)  # type: ignore[arg-type]

    monkeypatch.setattr(lockfile, "dumps_sealed", counted)

    def prepared() -> assemble.Prepared:
        return assemble.prepare(
            [sys.executable, "-c", "pass"],
            lock=None,
            lock_path=None,
            record=tmp_path / "run.toml",
            python=sys.executable,
            capture_path=tmp_path / "run.lock",
            ahead=False,
        )

    def head() -> str:
        return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()

    texts = []
    for _ in range(3):  # a fresh capture (its text made and kept), then the cached one twice (the text reused)
        ready = prepared()
        assert ready.captured and ready.lock is not None
        texts.append((ready.lock_text, ready.lock_digest))
        again = lockfile.loads(ready.lock_text)
        assert (ready.lock_text, ready.lock_digest) == real(again) and again.project is not None
        assert again.project.commit == head()
    assert len(made) == 1 and texts[0] == texts[1] == texts[2]
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "two"], check=True)
    ready = prepared()  # another commit: the text is made again, with it
    again = lockfile.loads(ready.lock_text)
    assert len(made) == 2 and (ready.lock_text, ready.lock_digest) == real(again)
    assert again.project is not None and again.project.commit == head() and ready.lock_text != texts[2][0]


def _venv_with_pth_folder(tmp_path: Path) -> tuple[str, Path]:
    """A venv (no pip) whose site-packages has a ``.pth`` naming an empty folder: (its python, the folder)."""
    import subprocess
    import sys

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python*/site-packages")
    extra = tmp_path / "extra"
    extra.mkdir()
    (site / "extra.pth").write_text(f"{extra}\n")
    return str(venv / "bin" / "python"), extra


def _add_distribution(folder: Path) -> None:
    info = folder / "added-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: added\nVersion: 1.0\n\n")


def test_a_kept_quick_verify_is_not_given_once_what_its_capture_read_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run --lock`` reuses the last verify of its environment against the lock only while nothing that verify's
    capture read changed (a folder a ``.pth`` puts on sys.path getting its first distribution: the run's key
    missed it and the record said no drift)."""
    from envsnap.compare import verify as verify_module
    from envsnap.probes import memo
    from envsnap.probes.capture import capture
    from envsnap.runs import assemble

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ENVSNAP_RUN_CACHE", raising=False)
    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))  # made moments ago: trusted here
    monkeypatch.chdir(tmp_path)
    py, extra = _venv_with_pth_folder(tmp_path)
    lock = capture(py, use_cache=False)
    verifies: list[int] = []
    real = verify_module.verify
    monkeypatch.setattr(verify_module, "verify", lambda *a, **k: verifies.append(1) or real(*a, **k))

    def drift() -> list[str]:
        ready = assemble.prepare(
            [py, "-c", "pass"], lock=lock, lock_path=None, record=tmp_path / "run.toml", python=py, ahead=False
        )
        return [f.said() for f in ready.drift]

    assert drift() == [] and drift() == [] and verifies == [1]  # the second: the kept verify
    _add_distribution(extra)
    assert any("added" in line for line in drift()) and verifies == [1, 1]


def test_a_cached_capture_is_not_given_once_what_the_capture_read_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run without a lock reuses the last capture of its environment only while nothing that capture read
    changed: a variable the lock records, or a folder a ``.pth`` puts on sys.path that gets its first
    distribution (the run's key stamped only the site folders and the package databases: both runs wrote the
    stale lock)."""
    import dataclasses

    from envsnap import lockfile
    from envsnap.probes import capture as capture_module
    from envsnap.probes import memo
    from envsnap.runs import assemble

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ENVSNAP_RUN_CACHE", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))  # made moments ago: trusted here
    monkeypatch.chdir(tmp_path)
    py, extra = _venv_with_pth_folder(tmp_path)

    def lock() -> str:
        ready = assemble.prepare(
            [py, "-c", "pass"], lock=None, lock_path=None, record=tmp_path / "run.toml", python=py, ahead=False
        )
        assert ready.captured and ready.lock is not None
        snapshot = lockfile.loads(ready.lock_text)
        meta = dataclasses.replace(snapshot.envsnap, created="2026-01-01T00:00:00Z")
        return lockfile.dumps(dataclasses.replace(snapshot, envsnap=meta))

    first = lock()
    captures: list[int] = []
    real = capture_module.capture
    monkeypatch.setattr(capture_module, "capture", lambda *a, **k: captures.append(1) or real(*a, **k))
    assert lock() == first and captures == []  # unchanged: the kept capture
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    with_variable = lock()
    assert captures == [1] and 'OMP_NUM_THREADS = "7"' in with_variable
    _add_distribution(extra)
    with_added = lock()
    assert captures == [1, 1] and 'name = "added"' in with_added
    assert lock() == with_added and captures == [1, 1]


def test_a_run_after_envsnap_s_own_code_changed_does_not_reuse_what_the_old_code_decided(
    tmp_path: Path, host_lock: Path
) -> None:
    """An editable envsnap whose code changed keeps its version: a run cache keyed by the version alone gave the
    old code's answers (here: that the lock is valid, and its digest and view) to the new code. The key holds
    the stamp of every module of envsnap's own code, as the capture memo's does."""
    import os
    import shutil
    import subprocess
    import sys

    from runhelpers import REPO

    src = tmp_path / "src"
    shutil.copytree(REPO / "envsnap", src / "envsnap", symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "templates", src / "templates")
    env = dict(os.environ, PYTHONPATH=str(src), XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("ENVSNAP_RUN_CACHE", None)

    def run(out: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "envsnap", "run", "--lock", str(host_lock), "-o", out, "--", "true"]
        return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    first = run("one.toml")
    assert first.returncode == 0, first.stderr
    lockfile = src / "envsnap" / "lockfile.py"
    lockfile.write_text(
        lockfile.read_text()
        + "\n\ndef _edited(*args, **kwargs):\n    raise LockfileError('refused by the edited envsnap')\n\n\n"
        + "loads = from_document = _edited\n"
    )
    second = run("two.toml")
    assert second.returncode == 2, (second.returncode, second.stderr)
    assert "refused by the edited envsnap" in second.stderr
    assert not (tmp_path / "two.toml").exists()


def test_a_cached_capture_is_given_again_after_a_file_is_written_in_a_pythonpath_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PYTHONPATH=. envsnap run --python ENV/bin/python`` writes its record (``run.toml``) into the folder
    PYTHONPATH names: the memo stamped that folder, so every run captured afresh. What the capture of another
    environment (read with ``python -E``) reads of it is the names of the distributions in it: one put there is
    still seen."""
    from envsnap import lockfile
    from envsnap.probes import capture as capture_module
    from envsnap.probes import memo
    from envsnap.runs import assemble

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ENVSNAP_RUN_CACHE", raising=False)
    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))  # made moments ago: trusted here
    py, _extra = _venv_with_pth_folder(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("PYTHONPATH", str(work))

    def warnings() -> tuple[str, ...]:
        ready = assemble.prepare(
            [py, "-c", "pass"], lock=None, lock_path=None, record=work / "run.toml", python=py, ahead=False
        )
        assert ready.captured
        return lockfile.loads(ready.lock_text).envsnap.warnings

    first = warnings()
    captures: list[int] = []
    real = capture_module.capture
    monkeypatch.setattr(capture_module, "capture", lambda *a, **k: captures.append(1) or real(*a, **k))
    (work / "run.toml").write_text("a record\n")
    (work / "run.lock").write_text("its capture\n")
    assert warnings() == first and captures == []  # the kept capture
    _add_distribution(work)
    added = warnings()
    assert any("added 1.0 (not in the lock)" in w for w in added) and captures == [1]
    assert warnings() == added and captures == [1]


def test_envsnap_s_own_environment_with_its_record_in_a_pythonpath_folder_is_captured_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PYTHONPATH=. envsnap run -- CMD`` in envsnap's own environment (a checkout run from source) writes its
    record and capture into that folder, which envsnap's interpreter has on its sys.path: the memo stamped it and
    every file in it as a site folder, so each run captured afresh. A distribution put there, or a changed one,
    is still seen."""
    import sys

    from envsnap import lockfile
    from envsnap.probes import capture as capture_module
    from envsnap.probes import memo
    from envsnap.runs.recorder import RunRequest, run_command

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ENVSNAP_RUN_CACHE", raising=False)
    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))  # made moments ago: trusted here
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("PYTHONPATH", str(work))
    # As the interpreter started with PYTHONPATH=. has it (sys.path[0] is the script's folder).
    monkeypatch.setattr(sys, "path", [sys.path[0], str(work), *sys.path[1:]])
    captures: list[int] = []
    real = capture_module.capture
    monkeypatch.setattr(capture_module, "capture", lambda *a, **k: captures.append(1) or real(*a, **k))

    def names() -> set[str]:
        _record, finished = run_command(RunRequest(argv=("true",), record=work / "run.toml"))
        assert finished.exit_status == 0
        return {p.name for p in lockfile.load(work / "run.lock").python.packages}

    first = names()
    assert captures == [1] and (work / "run.toml").is_file()
    assert names() == first and captures == [1]  # its own record and capture, written in the folder: kept
    (work / "notes.txt").write_text("a file of the project's\n")
    assert names() == first and captures == [1]
    _add_distribution(work)
    added = names()
    assert added == first | {"added"} and captures == [1, 1]
    assert names() == added and captures == [1, 1]
    (work / "added-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: added\nVersion: 2.0\n\n")
    names()
    assert captures == [1, 1, 1]
    assert 'version = "2.0"' in (work / "run.lock").read_text()
    (work / "sitecustomize.py").write_text("")  # run by envsnap's interpreter as it starts: may change sys.path
    names()
    assert captures == [1, 1, 1, 1]
