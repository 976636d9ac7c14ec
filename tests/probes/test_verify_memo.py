"""The verify memo (cli/verify.py on probes/memo.py): an environment verified against the same lock before, with
nothing the capture behind it read changed since, gets the same report without being probed; any change to the
environment or the lock verifies in full; ``--no-cache``, ``--files``, a git work tree and a corrupt memo each
mean a full verify. The report is the full verify's, text and JSON, drifted or not."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from test_capture_cache import _write_dist, cache_home, demo_env  # noqa: F401 (fixtures)
from test_capture_memo import (  # noqa: F401 (memo_on: a fixture)
    _library,
    _new_distribution,
    _probes,
    _pth,
    _requested,
    _upgrade,
    _variable,
    memo_on,
)
from testutil import CliResult, python_at

from envsnap import _sealed, lockfile
from envsnap.compare import verdict
from envsnap.probes import capture as capture_module

Cli = Callable[..., CliResult]


def _memos(folder: Path) -> list[Path]:
    return sorted(folder.glob("verify-*.marshal")) if folder.is_dir() else []


def _verify(cli: Cli, py: Path, lock: Path, *extra: str) -> tuple[int, str, str]:
    result = cli("verify", lock, "--python", py, *extra)
    assert result.code in (0, 1, 3), result
    return result.code, result.out, result.err


def _locks(cli: Cli, py: Path, folder: Path) -> list[Path]:
    """The environment's own lock, and drifted ones: a package of another version, one gone, another interpreter."""
    same = folder / "same.lock"
    assert cli("capture", "--python", py, "-o", same, "--no-cache").code == 0
    snap = lockfile.load(same)
    pkgs = snap.python.packages
    moved = dataclasses.replace(snap.python, packages=tuple(dataclasses.replace(p, version="9.9") for p in pkgs))
    extra = dataclasses.replace(
        snap.python, packages=(*pkgs, dataclasses.replace(pkgs[0], name="gone", metadata_name="gone"))
    )
    other = python_at(snap.python, "3.12.1")
    out = [same]
    for name, python in (("moved", moved), ("extra", extra), ("other", other)):
        out.append(lockfile.dump(dataclasses.replace(snap, python=python), folder / f"{name}.lock"))
    return out


def test_a_verified_environment_is_given_the_same_report_without_probing(
    cli: Cli,
    demo_env: tuple[Path, Path],  # noqa: F811
    memo_on: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    py, _site = demo_env
    locks = _locks(cli, py, tmp_path)
    real = capture_module.run_capture
    for lock in locks:
        expected = [_verify(cli, py, lock, "--no-cache", *flags) for flags in ((), ("--json",), ("--strict",))]
        assert lock != locks[0] or _memos(memo_on) == []  # --no-cache keeps none
        first = _verify(cli, py, lock)  # verified in full, and kept
        assert len(_memos(memo_on)) == 1
        probes = _probes(monkeypatch)
        given = [_verify(cli, py, lock, *flags) for flags in ((), ("--json",), ("--strict",))]
        assert probes == [], lock.name  # none of them probed the environment
        assert first == expected[0] and given == expected, lock.name
        monkeypatch.setattr(capture_module, "run_capture", real)
    assert _verify(cli, py, locks[1])[0] == 3 and _verify(cli, py, locks[0])[0] == 0


@pytest.mark.parametrize(
    "change", [_upgrade, _pth, _variable, _library, _new_distribution, _requested], ids=lambda f: f.__name__[1:]
)
def test_a_change_to_what_the_capture_read_verifies_again(
    cli: Cli,
    demo_env: tuple[Path, Path],  # noqa: F811
    memo_on: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Path, pytest.MonkeyPatch], None],
) -> None:
    py, site = demo_env
    (lock,) = _locks(cli, py, tmp_path)[:1]
    before = _verify(cli, py, lock)
    assert before[0] == 0 and len(_memos(memo_on)) == 1
    change(site, monkeypatch)
    probes = _probes(monkeypatch)
    after = _verify(cli, py, lock)
    assert probes == [1]  # the memo did not answer
    assert after == _verify(cli, py, lock, "--no-cache") and probes == [1, 1]
    assert _verify(cli, py, lock) == after and probes == [1, 1]  # the new memo answers the next verify


def test_another_lock_text_is_verified_in_full(
    cli: Cli,
    demo_env: tuple[Path, Path],  # noqa: F811
    memo_on: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    py, _site = demo_env
    same, moved = _locks(cli, py, tmp_path)[:2]
    _verify(cli, py, same)
    probes = _probes(monkeypatch)
    same.write_text(moved.read_text())  # the same path, another lock
    code, out, _err = _verify(cli, py, same)
    code_moved, out_moved, _err = _verify(cli, py, moved, "--no-cache")
    assert (code, out.replace("same.lock", "moved.lock")) == (code_moved, out_moved) and probes == [1, 1]


@pytest.mark.parametrize("how", ["no-cache", "files", "a new work tree", "corrupt", "not a report"])
def test_what_the_memo_does_not_answer(
    cli: Cli,
    demo_env: tuple[Path, Path],  # noqa: F811
    memo_on: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    py, _site = demo_env
    (lock,) = _locks(cli, py, tmp_path)[:1]
    expected = _verify(cli, py, lock)
    (kept,) = _memos(memo_on)
    probes = _probes(monkeypatch)
    flags: tuple[str, ...] = ()
    if how in ("no-cache", "files"):
        flags = (f"--{how}",)
    elif how == "a new work tree":  # its root is what recorded paths are written against
        subprocess.run(["git", "init", "-q", "."], check=True)
    elif how == "corrupt":
        kept.write_bytes(b"{" * 5000)
    else:
        data = _sealed.unseal(kept.read_bytes())
        data["answer"] = {"differences": [["mismatch", "python", "x"]]}
        kept.write_bytes(_sealed.seal(data))
    assert _verify(cli, py, lock, *flags)[1:] == expected[1:]
    assert probes == [1]


def test_the_kept_report_is_every_field_of_the_report() -> None:
    # The memo keeps each of a difference's text fields, in order, then its places (notes2, 04d653c8).
    fields = tuple(f.name for f in dataclasses.fields(verdict.Difference))
    assert fields == (*verdict._DIFFERENCE_FIELDS, "places")
    report = verdict.VerifyReport(
        "sha256:" + "a" * 64,
        "venv (--python)",
        3,
        (
            verdict.Difference(verdict.WARNING, "python", "x", "requirement", "y>=1", "gone", "n", "c"),
            verdict.Difference(
                verdict.WARNING,
                "python",
                ".pth",
                "imports",
                note="the modules in /d (from /p.pth)",
                places=(verdict.Place("folder", "/d"), verdict.Place("pth", "/p.pth")),
            ),
        ),
    )
    assert verdict.report_of(verdict.plain_report(report)) == report
    for bad in ({}, [], {"differences": [[1] * 8]}, {**verdict.plain_report(report), "packages_checked": "3"}):
        with pytest.raises((TypeError, KeyError)):
            verdict.report_of(bad)


def test_inside_a_git_work_tree_the_memo_answers(
    cli: Cli,
    demo_env: tuple[Path, Path],  # noqa: F811
    memo_on: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Most projects are git work trees: verify records no git state, so the memo keys on the work tree's root
    (``memo.project_facts``) and answers there, an edit or a commit notwithstanding; another work tree's root
    verifies in full. Each answer is the ``--no-cache`` report."""
    py, _site = demo_env
    same, moved = _locks(cli, py, tmp_path)[:2]
    git = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "."], check=True)
    (Path.cwd() / "a.py").write_text("a = 1\n")
    real = capture_module.run_capture
    for lock in (same, moved):
        expected = _verify(cli, py, lock, "--no-cache")
        assert _verify(cli, py, lock) == expected  # verified in full, and kept
        probes = _probes(monkeypatch)
        assert _verify(cli, py, lock) == expected and probes == [], lock.name
        subprocess.run([*git, "add", "a.py"], check=True)
        subprocess.run([*git, "commit", "-qm", lock.name], check=True)
        (Path.cwd() / "a.py").write_text(lock.name)
        assert _verify(cli, py, lock) == expected and probes == [], lock.name
        monkeypatch.setattr(capture_module, "run_capture", real)
    inner = Path.cwd() / "inner"
    inner.mkdir()
    subprocess.run([*git, "init", "-q", str(inner)], check=True)
    monkeypatch.chdir(inner)
    probes = _probes(monkeypatch)
    assert _verify(cli, py, same)[0] == 0 and probes == [1]


def test_a_report_another_envsnap_kept_is_not_given(
    cli: Cli,
    demo_env: tuple[Path, Path],  # noqa: F811
    memo_on: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A report kept by another envsnap (an older one's kept before ``conda_checked``, so its verdict line named the
    Python layer only) is not given to this one: the memo's key holds envsnap's version and every module of its
    code, so an upgrade (or an edit of envsnap's code) verifies in full and keeps its own report."""
    from envsnap import _version
    from envsnap.probes import memo

    py, _site = demo_env
    (lock,) = _locks(cli, py, tmp_path)[:1]
    before = _verify(cli, py, lock)
    assert len(_memos(memo_on)) == 1
    for name, value in (("__version__", "99.0.0"), ("_code_stamps", lambda: ["envsnap/cli/verify.py 1 2 3"])):
        module = _version if name == "__version__" else memo
        with monkeypatch.context() as patched:
            patched.setattr(module, name, value)
            probes = _probes(patched)
            assert _verify(cli, py, lock) == before and probes == [1], name  # verified in full
            assert _verify(cli, py, lock) == before and probes == [1], name  # its own report, kept
