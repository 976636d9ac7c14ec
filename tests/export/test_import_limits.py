"""What ``envsnap import`` writes stays within what envsnap reads: a lock no command could load is never written."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult


def _hashed_requirements(packages: int, hashes: int) -> str:
    """A requirements file as ``pip-compile --generate-hashes`` writes one: each pin with its wheels' hashes."""
    lines = []
    for p in range(packages):
        digests = [hashlib.sha256(f"{p}-{i}".encode()).hexdigest() for i in range(hashes)]
        lines.append(f"pkg{p}==1.0 \\\n" + " \\\n".join(f"    --hash=sha256:{d}" for d in digests))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("output", ["out.lock", "-"])
def test_an_import_whose_lock_would_be_over_the_size_limit_writes_nothing(
    tmp_path: Path, output: str, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 13 MB requirements file of 150,000 ``--hash`` options (under the 16 MiB limit) was imported into a 21 MB
    lock that ``show`` and every other command then refused: the import refuses it, naming the size and the limit,
    and writes nothing (a lock already there is left as it was). The same limit, lowered, makes it small here."""
    req = tmp_path / "requirements.txt"
    req.write_text(_hashed_requirements(20, 10))
    limit = req.stat().st_size + 1024  # the file to import is within it, the lock it makes is not
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", str(limit))
    target = tmp_path / "out.lock"
    target.write_text("kept\n")
    result = cli("import", req, "-o", target if output != "-" else "-")
    assert result.code == 2 and result.out == "" and target.read_text() == "kept\n", result
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    said = re.fullmatch(
        rf"envsnap: error: {re.escape(str(req))}: the lock made of it would be (\d+) bytes, over the limit of "
        rf"{limit} bytes envsnap reads a lock under \(raise it with ENVSNAP_MAX_LOCK_BYTES\); nothing written",
        lines[0],
    )
    assert said is not None and int(said.group(1)) > limit, lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.lock", "requirements.txt"]  # no half-made file


def test_a_pylock_directory_outside_its_folder_is_named_by_import_rebuild_and_check(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger's ``packages.directory = {path = "../../../other"}`` (PEP 751 reads a relative path from the
    pylock's folder) was imported as that folder of the reviewer's machine without a word, and ``rebuild`` built it
    (running its build backend) and ``check`` said nothing of it. The import warns in one line naming the folder, and
    ``check`` and ``rebuild`` name the folder of this machine outside the project that the lock builds."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "evil"\nversion = "1.0"\n'
    )
    folder = tmp_path / "a" / "b" / "c"
    folder.mkdir(parents=True)
    pylock = folder / "pylock.toml"
    pylock.write_text(
        'lock-version = "1.0"\ncreated-by = "stranger"\n\n[[packages]]\nname = "evil"\nversion = "1.0"\n'
        'directory = {path = "../../../other"}\n'
    )
    lock = folder / "envsnap.lock"
    monkeypatch.chdir(folder)
    result = cli("import", pylock, "-o", lock)
    assert result.code == 0, result
    warned = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert warned == [
        f"warning: import: evil: packages[0].directory.path '../../../other' is {other}, outside the pylock's "
        "folder: a rebuild of this lock builds that folder of the machine it runs on; check that it is the project "
        "you mean"
    ], result.err
    # Printing the lock (-o -), the warning goes to standard error all the same: it was left out with the summary.
    printed = cli("import", pylock, "-o", "-")
    assert printed.code == 0 and [line for line in printed.err.splitlines() if line.startswith("warning:")] == warned
    said = (
        # By its path (its file: URL percent-encoded what the folder's name holds).
        f"evil 1.0 is built from {other}, a folder of this machine outside the project that the lock names "
        "(a lock made from a stranger's pylock can name any folder): check that it is the project you mean"
    )
    plan = cli("rebuild", lock, "--target", "venv", "--dry-run", "--dest", tmp_path / "venv")
    assert plan.code == 0 and f"  note: {said}" in plan.out.splitlines(), plan
    check = cli("check", lock, "--target", "venv")
    assert f"note: {said}" in check.err.splitlines(), check


def test_a_pylock_git_repository_outside_its_folder_is_named_by_import(tmp_path: Path) -> None:
    """A ``vcs`` entry's ``path`` (a local repository) outside the pylock's folder is named as a directory's is."""
    from envsnap import importers

    folder = tmp_path / "locks"
    folder.mkdir()
    pylock = folder / "pylock.toml"
    pylock.write_text(
        'lock-version = "1.0"\ncreated-by = "stranger"\n\n[[packages]]\nname = "gitdep"\nversion = "1.0"\n'
        'vcs = {type = "git", path = "../repo", commit-id = "0123456789abcdef0123456789abcdef01234567"}\n'
    )
    warnings = importers.read_file(pylock).envsnap.warnings
    assert warnings == (
        f"import: gitdep: packages[0].vcs.path '../repo' is {tmp_path / 'repo'}, outside the pylock's folder: a "
        "rebuild of this lock clones that repository of the machine it runs on; check that it is the project you mean",
    )


def test_a_pylock_directory_in_its_git_work_tree_is_imported_without_a_warning(tmp_path: Path) -> None:
    """uv's ``uv export -o locks/pylock.toml`` writes the project as ``..``: outside the pylock's folder, inside the
    git work tree around it, which is the project the lock records it under; no warning."""
    import subprocess

    from envsnap import importers

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0.1.0"\n')
    (tmp_path / "locks").mkdir()
    pylock = tmp_path / "locks" / "pylock.toml"
    pylock.write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "proj"\ndirectory = {path = ".."}\n'
    )
    snap = importers.read_file(pylock)
    assert snap.envsnap.warnings == () and snap.python.packages[0].source.url == "file://{project}", snap


@pytest.mark.parametrize("output", ["out.json", "-"])
def test_a_json_export_its_import_would_refuse_as_too_large_writes_nothing(
    tmp_path: Path, output: str, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``export -f json`` wrote its file whatever its size, while ``import --from json`` reads it under
    ``ENVSNAP_MAX_LOCK_BYTES``: a lock near the limit (JSON, indented, is larger than its TOML) made a file its own
    import refused. It is refused as a lock, a run record and a FLEET.toml are, one line naming its size and the
    limit, exit 2, nothing written (a file already there left as it was; nothing printed to standard output)."""
    from testutil import sample_lock

    from envsnap import lockfile
    from envsnap.model import PythonPackage

    lock = tmp_path / "env.lock"
    lockfile.dump(sample_lock(*(PythonPackage(f"pkg{i}", "1.0") for i in range(300))), lock)
    toml_size = lock.stat().st_size
    target = tmp_path / "out.json"
    assert cli("export", lock, "-f", "json", "-o", target).code == 0  # last week's, written with the limit raised
    before = target.read_bytes()
    json_size = len(before)
    assert json_size > toml_size + 2
    limit = (toml_size + json_size) // 2  # the lock is within it, its JSON export is not
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", str(limit))
    monkeypatch.chdir(tmp_path)
    result = cli("export", lock, "-f", "json", "-o", output)
    assert result.code == 2 and result.out == "" and target.read_bytes() == before, result
    (line,) = result.err.splitlines()
    said = re.fullmatch(
        r"envsnap: error: json: the export would be (\d+) bytes, over the limit "
        rf"of {limit} bytes envsnap reads a file to import under \(raise it with ENVSNAP_MAX_LOCK_BYTES\); "
        "nothing written",
        line,
    )
    assert said is not None and int(said.group(1)) == json_size, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env.lock", "out.json"]
    # At the limit, the export is written, and its import reads it back.
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", str(json_size))
    assert cli("export", lock, "-f", "json", "-o", "out.json").code == 0
    assert cli("import", "out.json", "--from", "json", "-o", "back.lock").code == 0


_SHA = "a" * 64
_NUL_PATHS = {
    "editable": ("requirements.txt", "-e ./a\x00b\n"),
    "file-url": ("requirements.txt", f"x @ file:///tmp/a%00b-1-py3-none-any.whl --hash=sha256:{_SHA}\n"),
    "pylock-archive": (
        "pylock.toml",
        'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\nversion = "1"\n'
        f'[packages.archive]\npath = "a\\u0000b.tar.gz"\nhashes = {{sha256 = "{_SHA}"}}\n',
    ),
    "pylock-directory": (
        "pylock.toml",
        'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\nversion = "1"\n'
        '[packages.directory]\npath = "a\\u0000b"\n',
    ),
}


@pytest.mark.parametrize("case", sorted(_NUL_PATHS))
def test_an_imported_local_path_holding_a_nul_byte_is_refused_in_one_line(
    tmp_path: Path, case: str, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local path holding a NUL byte (written raw, or %00 in a file: URL) names no file on any system: the
    import ended in a ValueError traceback from the path's resolution (exit 1); it is refused, naming the path."""
    monkeypatch.chdir(tmp_path)
    name, text = _NUL_PATHS[case]
    (tmp_path / name).write_text(text)
    result = cli("import", tmp_path / name, "-o", tmp_path / "out.lock")
    assert result.code == 2 and result.out == "", result
    assert "Traceback" not in result.err and len(result.err.splitlines()) == 1, result.err
    assert "NUL byte" in result.err and "\\x00" in result.err, result.err
    assert not (tmp_path / "out.lock").exists()
