"""An empty path argument (``envsnap check ''``, a shell variable left unset: ``envsnap check "$LOCK"``) is said to be
empty: ``Path('')`` reads as ``.``, and the answer was ".: is a directory, not a lockfile"."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult, sample_lock

from envsnap import lockfile


@pytest.mark.parametrize(
    "argv",
    [
        ["check", ""],
        ["verify", ""],
        ["pin", ""],
        ["rebuild", "", "--dry-run"],
        ["export", "", "--format", "requirements", "-o", "-"],
        ["diff", "", "x.lock"],
        ["diff", "x.lock", ""],
        ["import", ""],
        ["audit", ""],
        ["show", ""],
    ],
    ids=lambda argv: "-".join(a or "EMPTY" for a in argv[:3]),
)
def test_an_empty_path_is_said_to_be_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], argv: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    lockfile.dump(sample_lock(), tmp_path / "x.lock")
    result = cli(*argv)
    assert result.code == 2, result
    (line,) = result.err.strip().splitlines()
    assert "the path is empty" in line, line
    assert "directory" not in line, line


def test_an_empty_pin_output_is_said_to_be_empty_and_the_lock_is_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``envsnap pin env.lock -o "$PINNED"`` with the variable unset read ``-o ''`` as no ``-o`` and pinned the lock
    in place, over the captured lock the user meant to keep beside the pinned one. One line, exit 2, before any index
    is asked; the lock is left as it was."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing is asked: the refusal comes first
    lock = tmp_path / "x.lock"
    lockfile.dump(sample_lock(), lock)
    before = lock.read_bytes()
    result = cli("pin", "x.lock", "-o", "")
    assert result.code == 2, result
    assert result.err.splitlines() == [
        "envsnap: error: -o '': the path is empty (expected a lockfile); a shell variable left unset?"
    ], result
    assert lock.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.lock"]


def test_an_empty_bundle_output_is_said_to_be_empty_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``envsnap bundle env.lock -o "$OUT"`` with the variable unset wrote the bundle into the working directory
    (``wrote .``: its README, SHA256SUMS and wheels among the user's files, an empty one). One line, exit 2."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    lock = tmp_path / "x.lock"
    lockfile.dump(sample_lock(), lock)
    result = cli("bundle", str(lock), "-o", "")
    assert result.code == 2, result
    assert result.err.splitlines() == [
        "envsnap: error: -o '': the path is empty (expected a bundle directory or archive); a shell variable left "
        "unset?"
    ], result
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("option", ["--dest", "--prefix"])
def test_an_empty_rebuild_destination_is_said_to_be_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], option: str
) -> None:
    """``envsnap rebuild env.lock --dest "$DEST"`` with the variable unset took the working directory as the
    destination (``rebuild plan: venv -> /home/me/work``), and in an empty one built the environment there. One
    line naming the option as typed, exit 2, ``--dry-run`` too."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    lock = tmp_path / "x.lock"
    lockfile.dump(sample_lock(), lock)
    result = cli("rebuild", str(lock), option, "", "--dry-run")
    assert result.code == 2, result
    assert result.err.splitlines() == [
        f"envsnap: error: {option} '': the path is empty (expected a folder to build in); a shell variable left unset?"
    ], result
    assert result.out == "" and list(work.iterdir()) == []


@pytest.mark.parametrize("command", ["capture", "import"])
def test_an_empty_lock_output_is_said_to_be_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], command: str
) -> None:
    """``envsnap capture -o "$LOCK"`` (``import FILE -o "$LOCK"``) with the variable unset said ``.: cannot write: Is
    a directory``, once the environment had been probed: the path named is the working directory, not the empty
    one given. One line naming the empty path, exit 2, nothing written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    result = cli(command, *(["requirements.txt"] if command == "import" else []), "-o", "")
    assert result.code == 2, result
    assert result.err.splitlines()[-1:] == [
        "envsnap: error: -o '': the path is empty (expected a lockfile); a shell variable left unset?"
    ], result
    assert sorted(p.name for p in tmp_path.iterdir()) == ["requirements.txt"]


@pytest.mark.parametrize("command", ["check", "verify", "capture", "rebuild"])
def test_an_empty_python_is_said_to_be_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], command: str
) -> None:
    """``--python "$PY"`` with the variable unset said ``--python : no such interpreter``: a blank where the path goes,
    as if the message had lost it. The empty path is said to be empty, exit 2."""
    monkeypatch.chdir(tmp_path)
    lockfile.dump(sample_lock(), tmp_path / "x.lock")
    args = {"capture": ["-o", "y.lock"], "rebuild": ["x.lock", "--dry-run"]}.get(command, ["x.lock"])
    result = cli(command, *args, "--python", "")
    assert result.code == 2, result
    assert result.err.splitlines()[-1:] == [
        "envsnap: error: --python '': the path is empty (expected a Python interpreter); a shell variable left unset?"
    ], result


# Every option and positional of every command (nested ones too: `fleet check`), by its metavar: the ones that name a
# path, a folder, a file, a lock, an interpreter or a pattern of paths or URLs refuse an empty value. A new option's
# metavar must be in one of the two sets, so that it is sorted here the day it is added.
PATH_METAVARS = {
    "PATH", "DIR", "LOCK", "FILE", "RUN.toml", "REPORT", "FLEET.toml", "DIR|FILE.tar.gz|FILE.tar", "DIR|FILE.tar.gz",
    "LOCK|BUNDLE", "LOCK|BUNDLE|RUN.toml", "A", "B", "OLD", "NEW", "PATTERN", "GLOB", "URL",
}  # fmt: skip
OTHER_METAVARS = {
    "SECONDS", "S", "N", "all|none|N", "NODELIST", "PARTITION", "NAME", "IMAGE", "TEXT", "'NAME <ORCID>'", "SPDX",
    "DOI", "KEY=VALUE", "NAME[:TAG]", "sha256:HEX", "DATE", "auto|DATE", "FORMAT", "SUBDIR", "WHICH", "CMD",
    None,  # --target, --engine, --badge, --from, --system-packages: a choice, whose empty value argparse refuses
}  # fmt: skip
# Arguments where an empty value has a meaning, with the reason (each is taken as given).
EMPTY_HAS_A_MEANING: dict[tuple[str, str], str] = {
    ("run", "command"): "the command's own arguments, any of which may be empty (python -c '')",
}
# What a command needs besides the argument tried (a flag here is left out when it is the one tried).
_NEEDS: dict[str, dict[str, str | None]] = {
    "capture": {"-o": "{in}/y.lock"},
    "rebuild": {"--dry-run": None},
    "export": {"-f": "requirements", "-o": "-"},
    "bundle": {"-o": "{in}/b"},
}


def _arguments() -> list[tuple[list[str], str | None, str, str]]:
    """(command path, option string or None for a positional, dest, metavar) of every argument that takes a value."""
    import argparse

    from envsnap.cli import build_parser, command_names

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> list[tuple[list[str], argparse.Action]]:
        found: list[tuple[list[str], argparse.Action]] = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found += walk(sub, [*path, name])
            elif action.nargs != 0 and not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                found.append((path, action))
        return found

    rows: list[tuple[list[str], str | None, str, str]] = []
    for command in command_names():
        for path, action in walk(build_parser(command), []):
            metavar = action.metavar if isinstance(action.metavar, str) or action.metavar is None else "?"
            for option in action.option_strings or [None]:
                rows.append((path, option, action.dest, metavar))  # type: ignore[arg-type]
    return rows


_ARGUMENTS = _arguments()


def test_every_argument_is_sorted_as_a_path_or_not() -> None:
    unsorted = {(" ".join(p), o or d, m) for p, o, d, m in _ARGUMENTS if m not in PATH_METAVARS | OTHER_METAVARS}
    assert not unsorted, "add each metavar to PATH_METAVARS or OTHER_METAVARS"


_PATHS = [
    row
    for row in _ARGUMENTS
    if row[3] in PATH_METAVARS and (" ".join(row[0]), row[1] or row[2]) not in EMPTY_HAS_A_MEANING
]


# Every other argument whose empty value makes no sense either (`--base-image "$IMAGE"`, `--tag "$TAG"`, `--env
# "$NAME"` with the variable unset): one that takes one value, not a list (a command's arguments may be empty, `python
# -c ''`), and not listed in EMPTY_HAS_A_MEANING.
_VALUES = [
    row
    for row in _ARGUMENTS
    if row[3] in OTHER_METAVARS and (" ".join(row[0]), row[1] or row[2]) not in EMPTY_HAS_A_MEANING
]


def _run_with_empty(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., CliResult],
    row: tuple[list[str], str | None, str, str | None],
) -> tuple[CliResult, Path]:
    """The command of ``row`` run with that argument empty and every other it needs given, in an empty folder."""
    import argparse

    from envsnap.cli import build_parser

    path, option, dest, _ = row
    given = tmp_path / "in"
    given.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing is asked: the refusal comes first
    lock = given / "x.lock"
    lockfile.dump(sample_lock(), lock)
    (given / "requirements.txt").write_text("six==1.16.0\n")
    fill = {"file": str(given / "requirements.txt"), "record": str(given / "run.toml"), "command": "true"}

    parser = build_parser(path[0])
    for name in path:
        (subs,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = subs.choices[name]
    options: list[str] = [option, ""] if option else []
    for flag, value in _NEEDS.get(path[0], {}).items():
        (needed,) = (a for a in parser._actions if flag in a.option_strings)
        if option not in needed.option_strings:
            options += [flag] if value is None else [flag, value.replace("{in}", str(given))]
    positionals: list[str] = []
    for action in parser._actions:
        if action.option_strings or isinstance(action, argparse._SubParsersAction) or action.nargs == "*":
            if action.dest == dest and not option:
                positionals.append("")
            continue
        positionals.append("" if action.dest == dest and not option else fill.get(action.dest, str(lock)))
    return cli(*path, *options, *positionals), work


def _assert_refused_in_one_line(result: CliResult, work: Path, option: str | None, said: str) -> None:
    """Exit 2, one line naming the option as typed and saying ``said``, no traceback, nothing in the working folder."""
    assert result.code == 2, result
    assert "Traceback" not in result.err, result
    (line,) = result.err.splitlines()
    shown = f"{option} " if option else ""
    assert re.fullmatch(
        rf"envsnap: error: {re.escape(shown)}'': {said} \(expected [^()]+\); a shell variable left unset\?", line
    ), line
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("row", _PATHS, ids=lambda row: "-".join([*row[0], row[1] or row[2]]))
def test_an_empty_path_argument_is_refused_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., CliResult],
    row: tuple[list[str], str | None, str, str],
) -> None:
    """``--cache-dir "$CACHE"`` (any option or argument naming a path, with its variable unset) is one line naming the
    option as typed and saying the path is empty, exit 2, before anything is done: it was read as the working
    directory, or as the option not given (a default used without a word, a file written in the working directory)."""
    _assert_refused_in_one_line(*_run_with_empty(tmp_path, monkeypatch, cli, row), row[1], "the path is empty")


@pytest.mark.parametrize("row", _VALUES, ids=lambda row: "-".join([*row[0], row[1] or row[2]]))
def test_an_empty_value_that_is_no_path_is_refused_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., CliResult],
    row: tuple[list[str], str | None, str, str | None],
) -> None:
    """``--base-image "$IMAGE"``, ``--tag "$TAG"``, ``--title "$TITLE"``, ``rerun --in-docker "$IMAGE"``, ``run --env
    "$NAME"`` (any option whose empty value makes no sense, its variable unset) were taken as given without a word:
    an empty title written in the bundle, an empty image handed to docker, an empty variable name recorded. Each is
    one line naming the option as typed and saying the value is empty, exit 2, before anything is done, as an empty
    path is; an option of choices or numbers says it in the same words as the others."""
    _assert_refused_in_one_line(*_run_with_empty(tmp_path, monkeypatch, cli, row), row[1], "the value is empty")
