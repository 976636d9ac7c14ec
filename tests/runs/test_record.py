"""The run record format: versioned, sealed, atomically written, and refused with one line when it is not one."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli

from envsnap._control import strip_terminal
from envsnap.runs import record as rec
from envsnap.runs.data import Entry, manifest_digest
from envsnap.runs.record import Command, Data, FileEntry, Library, Loaded, Meta, Outcome, RunRecord
from envsnap.sinks import shell_shown

# data/in.csv as the run read it: its sha256 and the manifest digest over it, computed as a record's are.
IN_CSV = FileEntry("in.csv", 4, hashlib.sha256(b"a,b\n").hexdigest())
IN_CSV_DIGEST = manifest_digest([Entry(IN_CSV.path, IN_CSV.size, IN_CSV.value)])


def sample() -> RunRecord:
    return RunRecord(
        run=Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00.000Z"),
        command=Command(argv=("python", "train.py", "--lr", "0.1"), cwd="experiments"),
        result=Outcome(
            started="2026-11-30T10:00:00.000Z",
            ended="2026-11-30T10:00:02.500Z",
            duration_ms=2500,
            exit_status=0,
            peak_memory_kib=12345,
        ),
        loaded=Loaded(
            method="sampled",
            processes=1,
            python_processes=1,
            libraries=(
                Library(
                    path="/usr/lib/x86_64-linux-gnu/libc.so.6",
                    accounted=True,
                    owner="system",
                    package="libc6",
                    version="2.36-9",
                ),
            ),
            modules=("numpy",),
            distributions=("numpy 2.4.6",),
        ),
        data=(
            Data(
                role="input",
                path="data/in.csv",
                kind="file",
                method="sha256",
                digest=IN_CSV_DIGEST,
                files=1,
                bytes=4,
                entries=(IN_CSV,),
            ),
        ),
    )


def test_a_record_round_trips_sealed(tmp_path: Path) -> None:
    path = rec.dump(sample(), tmp_path / "run.toml")
    loaded = rec.load(path)
    assert loaded == rec.sealed(sample())
    assert loaded.run.content_digest.startswith("sha256:") and loaded.run.kind == rec.KIND
    assert rec.sniff(path)
    # Same record, same bytes.
    assert rec.dumps(sample()) == path.read_text()


def test_a_records_bidi_and_line_separator_characters_are_escapes_in_its_text(tmp_path: Path) -> None:
    """A command word with U+202E or U+2028 is written as \\uXXXX: no editor shows the record reordered."""
    record = dataclasses.replace(
        sample(), command=Command(argv=("python", "train.py", "--tag", "a\u202eb\u2028c\x85"), cwd="experiments")
    )
    path = rec.dump(record, tmp_path / "run.toml")
    text = path.read_text(encoding="utf-8")
    assert not any(c in text for c in "\u202e\u2028\x85")
    assert '"a\\u202eb\\u2028c\\u0085",' in text
    assert rec.load(path).command.argv[-1] == "a\u202eb\u2028c\x85"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('"train.py"', '"evil.py"'), "run.content_digest: does not match"),
        (lambda t: t.replace("exit_status = 0", "exit_status = -1"), "result.exit_status: not a valid number"),
        (lambda t: t.replace('cwd = "experiments"', 'cwd = "../.."'), "command.cwd: not a valid relative folder"),
        (lambda t: t.replace("schema_version = 2", "schema_version = 7"), "is newer than this envsnap understands"),
        (lambda t: t.replace("duration_ms = 2500", 'duration_ms = "long"'), "result.duration_ms: expected an integer"),
        (lambda t: t.replace("[result]", "[result]\nextra = 1"), "result.extra: unknown field"),
        (lambda t: t.replace('kind = "file"', 'kind = "device"'), "data[0].kind: not a valid value"),
        # The lock is found relative to the project (docs/runrecord.md); the error said "the record's folder".
        (
            lambda t: t.replace('lock = ""', 'lock = "../up.lock"'),
            "environment.lock: not a valid lock path (relative to the project, no '..')",
        ),
    ],
)
def test_an_edited_or_invalid_record_is_one_line_and_exit_2(
    tmp_path: Path, cli: Callable[..., object], edit: Callable[[str], str], message: str
) -> None:
    path = rec.dump(sample(), tmp_path / "run.toml")
    path.write_text(edit(path.read_text()))
    with pytest.raises(rec.RecordError, match=re.escape(message)):
        rec.load(path)
    result = cli("show", path)
    assert result.code == 2, result  # type: ignore[attr-defined]
    assert len(result.err.strip().splitlines()) == 1 and message.split(":")[0] in result.err  # type: ignore[attr-defined]


def _data(**changes: Any) -> Data:
    return dataclasses.replace(sample().data[0], **changes)


OTHER = FileEntry("gone.csv", 3, hashlib.sha256(b"x,\n").hexdigest())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # A file that is not there listed beside the real one, with the digest of the real one alone: rerun read
        # "data: same".
        (
            _data(kind="directory", path="data", files=2, bytes=7, entries=(OTHER, IN_CSV)),
            "data[0]: digest: is not the manifest digest of the entries, which list every file (complete = true)",
        ),
        # The entry's content is not what the digest was made of.
        (
            _data(entries=(FileEntry("in.csv", 4, hashlib.sha256(b"b,a\n").hexdigest()),)),
            "data[0]: digest: is not the manifest digest of the entries",
        ),
        # Counted, but not listed, though the list says it is every file.
        (_data(entries=()), "data[0]: files = 1, bytes = 4, but the complete entries list 0 files of 0 bytes"),
        (_data(files=2), "data[0]: files: 2, but a file is one"),
        (
            _data(kind="directory", path="data", files=2, bytes=7, complete=False, entries=(OTHER, IN_CSV)),
            "data[0]: complete = false, but the entries list 2 of 2 files (7 of 7 bytes): a partial list has fewer",
        ),
        (
            _data(kind="directory", path="data", files=3, bytes=8, complete=False, entries=(IN_CSV, IN_CSV)),
            "data[0]: entries: 'in.csv' is listed twice",
        ),
        (_data(role="output", kind="missing"), "data[0]: a missing path has no digest, files, bytes or entries"),
    ],
)
def test_a_record_s_data_entries_must_give_its_digest(
    tmp_path: Path, cli: Callable[..., object], data: Data, message: str
) -> None:
    """A record is untrusted: its entries are what rerun names a changed file by, and its digest what it compares.
    Entries that are not the files the digest was made of (a file listed that was never there) are refused at load,
    sealed or not, one line and exit 2."""
    path = rec.dump(dataclasses.replace(sample(), data=(data,)), tmp_path / "run.toml")
    with pytest.raises(rec.RecordError, match=re.escape(message)):
        rec.load(path)
    for command in ("show", "rerun"):
        result = cli(command, path, *(("--dry-run",) if command == "rerun" else ()))
        assert result.code == 2, result  # type: ignore[attr-defined]
        (line,) = result.err.splitlines()  # type: ignore[attr-defined]
        assert line.startswith(f"envsnap: error: {path}: {message}"), line


def _listing(*paths: str, kind: str = "directory") -> Data:
    """Data whose complete entries give its digest and counts, so that only the entries' paths can be wrong."""
    entries = tuple(FileEntry(p, IN_CSV.size, IN_CSV.value) for p in paths)
    digest = manifest_digest([Entry(e.path, e.size, e.value) for e in entries])
    return _data(kind=kind, path="data", digest=digest, files=len(entries), bytes=4 * len(entries), entries=entries)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_listing("../train.py"), "data[0].entries[0].path: not a valid path inside the data path"),
        (_listing("in.csv", "/etc/passwd"), "data[0].entries[1].path: not a valid path inside the data path"),
        (_listing("sub/../../x"), "data[0].entries[0].path: not a valid path inside the data path"),
        (_listing("./in.csv"), "data[0].entries[0].path: not a valid path inside the data path"),
        (_listing("sub//in.csv"), "data[0].entries[0].path: not a valid path inside the data path"),
        (_listing("sub/"), "data[0].entries[0].path: not a valid path inside the data path"),
        (_listing("a\x00b"), "data[0].entries[0].path: not a valid path inside the data path"),  # no name holds NUL
        (_listing("sub/in.csv", kind="file"), "data[0]: entries: a file is listed by its base name, not 'sub/in.csv'"),
        # The links to nothing a directory holds are named as its files are, each once, none a file too.
        (
            dataclasses.replace(_listing("in.csv"), dangling=("../x",)),
            "data[0].dangling[0]: not a valid path inside the data path",
        ),
        (dataclasses.replace(_listing("in.csv"), dangling=("l", "l")), "data[0]: dangling: 'l' is listed twice"),
        (
            dataclasses.replace(_listing("in.csv"), dangling=("in.csv",)),
            "data[0]: dangling: 'in.csv' is listed as a file too",
        ),
        (
            dataclasses.replace(_listing("in.csv", kind="file"), dangling=("l",)),
            "data[0]: dangling: a file path has no links in it, only a directory has",
        ),
    ],
)
def test_a_record_s_data_entries_name_files_inside_their_data_path(
    tmp_path: Path, cli: Callable[..., object], data: Data, message: str
) -> None:
    """An entry names a file relative to its data path, as a fingerprint lists it: never absolute, never '..'.
    A hand-edited record listing '../train.py' (with a digest made to match) loaded, and rerun named
    'data/../train.py' as a file of the input; it is refused at load, one line and exit 2."""
    path = rec.dump(dataclasses.replace(sample(), data=(data,)), tmp_path / "run.toml")
    with pytest.raises(rec.RecordError, match=re.escape(message)):
        rec.load(path)
    for command in ("show", "rerun"):
        result = cli(command, path, *(("--dry-run",) if command == "rerun" else ()))
        assert result.code == 2, result  # type: ignore[attr-defined]
        (line,) = result.err.splitlines()  # type: ignore[attr-defined]
        assert line.startswith(f"envsnap: error: {path}: {message}"), line


def test_a_record_keeps_hidden_and_odd_file_names_of_its_data(tmp_path: Path) -> None:
    """What a fingerprint lists still loads: hidden files, a name starting with '-', a backslash, dots inside."""
    data = _listing(".gitkeep", "-x", "a\\b", "sub/.hidden/x..y", "...")
    path = rec.dump(dataclasses.replace(sample(), data=(data,)), tmp_path / "run.toml")
    assert [e.path for e in rec.load(path).data[0].entries] == [e.path for e in data.entries]


def test_a_record_s_real_fingerprints_load(tmp_path: Path) -> None:
    """What fingerprint makes loads: a file, a folder, a partial list, a missing output."""
    from envsnap.runs.assemble import to_data
    from envsnap.runs.data import fingerprint, missing

    (tmp_path / "d").mkdir()
    for name in ("a.csv", "b.csv"):
        (tmp_path / "d" / name).write_text(name)
    folder = fingerprint(tmp_path / "d")
    partial = dataclasses.replace(folder, entries=folder.entries[:1], complete=False)
    data = (
        to_data("input", "d/a.csv", fingerprint(tmp_path / "d" / "a.csv")),
        to_data("input", "d", folder),
        to_data("input", "big", partial),
        to_data("output", "out", missing()),
        to_data("output", "fast", fingerprint(tmp_path / "d", fast=True)),
    )
    record = dataclasses.replace(sample(), data=data)
    assert rec.load(rec.dump(record, tmp_path / "run.toml")) == rec.sealed(record)


def test_a_fifo_is_refused_before_it_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "run.toml"
    os.mkfifo(fifo)
    assert not rec.sniff(fifo)
    with pytest.raises(rec.RecordError, match="not a regular file"):
        rec.load(fifo)


def test_show_of_a_missing_record_names_a_record(tmp_path: Path, cli: Callable[..., object]) -> None:
    # "runs/x.toml: no such lockfile": show tells a record from a lock by its content, which a missing file has not.
    missing = tmp_path / "runs" / "x.toml"
    for args in ((missing,), (missing, "--json")):
        result = cli("show", *args)
        assert result.code == 2  # type: ignore[attr-defined]
        assert result.err == f"envsnap: error: {missing}: no such lock or run record\n"  # type: ignore[attr-defined]
    # A name that says lock still gets the lock's word.
    assert "no such lockfile" in cli("show", tmp_path / "x.lock").err  # type: ignore[attr-defined]


def test_show_of_a_symlink_loop_says_what_the_other_commands_say(tmp_path: Path, cli: Callable[..., object]) -> None:
    # It said "no such lock or run record" (an os.path.exists check), where check and verify say the loop.
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    said = cli("check", tmp_path / "a").err  # type: ignore[attr-defined]
    assert "Too many levels of symbolic links" in said
    for args in ((tmp_path / "a",), (tmp_path / "a", "--json")):
        result = cli("show", *args)
        assert result.code == 2  # type: ignore[attr-defined]
        assert result.err == said  # type: ignore[attr-defined]
    # A link to nothing is missing, as before.
    (tmp_path / "gone").symlink_to(tmp_path / "nothing")
    assert "no such lock or run record" in cli("show", tmp_path / "gone").err  # type: ignore[attr-defined]


def test_show_summarises_a_record_and_still_shows_a_lock(tmp_path: Path, cli: Callable[..., object]) -> None:
    path = rec.dump(
        dataclasses.replace(sample(), command=Command(argv=("python", "-c", "print('a\\x1b[31m')"))),
        tmp_path / "run.toml",
    )
    shown = cli("show", path)
    assert shown.code == 0  # type: ignore[attr-defined]
    out = shown.out  # type: ignore[attr-defined]
    assert "envsnap run record" in out and "exit 0" in out and "data/in.csv" in out
    assert "\x1b" not in out  # a record's text never reaches the terminal raw
    as_json = cli("show", path, "--json")
    assert '"argv"' in as_json.out  # type: ignore[attr-defined]


@pytest.mark.parametrize(("captured", "how"), [(True, "captured for this run"), (False, "given")])
def test_show_of_a_record_whose_lock_lay_outside_the_project_names_it_by_its_digest(
    tmp_path: Path, cli: Callable[..., object], captured: bool, how: str
) -> None:
    """``envsnap run -o /scratch/runs/x.toml -- ...`` keeps its lock beside the record, outside the project: the
    record names it by its digest alone (``lock = ""``), and ``show`` said ``Lock  none recorded``, as for a record
    with no lock at all, while ``Loaded`` counted what the lock did not account for."""
    digest = "sha256:" + "c" * 64
    env = rec.Environment(lock="", lock_digest=digest, captured=captured, python="/opt/env/bin/python")
    shown = cli("show", rec.dump(dataclasses.replace(sample(), environment=env), tmp_path / "run.toml"))
    assert shown.code == 0, shown  # type: ignore[attr-defined]
    assert _cell(shown.out, "Lock") == f"outside the project, known by its digest ({how}, {digest})"  # type: ignore[attr-defined]
    none = rec.Environment(python="/opt/env/bin/python")
    shown = cli("show", rec.dump(dataclasses.replace(sample(), environment=none), tmp_path / "none.toml"))
    assert _cell(shown.out, "Lock") == "none recorded"  # type: ignore[attr-defined]


def test_a_record_keeps_a_branch_git_accepts(tmp_path: Path) -> None:
    # the run's code is the capture's project: a branch a lock may hold, a record holds too
    record = dataclasses.replace(sample(), code=rec.Code(commit="a" * 40, branch="exp/lr_0.1%&#$|`tick`"))
    assert rec.load(rec.dump(record, tmp_path / "run.toml")).code.branch == "exp/lr_0.1%&#$|`tick`"


@pytest.mark.parametrize(
    ("paths", "word"),
    [
        ("[0]", "{project}/train.py"),  # "python": no path under a label
        ("[1, 1]", "{project}/train.py"),
        ("[5]", "{project}/train.py"),
        ("[1]", "{project}/../../etc/x"),
        ("[1]", "train.py"),
    ],
)
def test_a_record_s_labelled_paths_must_be_words_naming_a_path_under_a_label(
    tmp_path: Path, cli: Callable[..., object], paths: str, word: str
) -> None:
    # rerun resolves exactly the words command.paths names ({project}/..., ~/..., --opt={project}/...): a record
    # that names any other word would have it rewritten.
    record = dataclasses.replace(
        sample(), command=Command(argv=("python", "{project}/train.py", "--out=~/o", "~/x"), paths=(1, 2))
    )
    path = rec.dump(record, tmp_path / "run.toml")
    assert rec.load(path).command.paths == (1, 2) and "paths = [\n    1,\n    2,\n]" in path.read_text()
    path.write_text(
        path.read_text()
        .replace("paths = [\n    1,\n    2,\n]", f"paths = {paths}")
        .replace('"{project}/train.py"', f'"{word}"')
    )
    message = "command.paths[0]: " if paths != "[1, 1]" else "command.paths[1]: "
    with pytest.raises(rec.RecordError, match=re.escape(message)):
        rec.load(path)
    result = cli("show", path)
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result  # type: ignore[attr-defined]
    assert "is not the index of a word of command.argv that names a path" in result.err  # type: ignore[attr-defined]


def test_a_record_without_labelled_paths_writes_no_paths_field(tmp_path: Path) -> None:
    # Records sealed before command.paths existed load with their digest unchanged.
    assert "paths" not in rec.dumps(sample())


def _cell(out: str, key: str) -> str:
    """The text of the row ``key`` of show's two-column table, its folded lines joined."""
    cells: list[str] = []
    for row in out.splitlines():
        parts = row.split("│")
        if len(parts) != 4:
            continue
        name, value = parts[1].strip(), parts[2].strip()
        if name == key or (cells and not name):
            cells.append(value)
        elif cells:
            break
    return "".join(cells)


def _as_terminal(monkeypatch: pytest.MonkeyPatch, width: int | None) -> None:
    """Output to a terminal of ``width`` columns (rich's own test of a terminal), or piped (None)."""
    if width is not None:
        monkeypatch.setenv("TTY_COMPATIBLE", "1")
        monkeypatch.setenv("COLUMNS", str(width))
    else:
        monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
        monkeypatch.delenv("FORCE_COLOR", raising=False)
        monkeypatch.delenv("COLUMNS", raising=False)


@pytest.mark.parametrize("terminal", [None, 40, 80, 200])
def test_show_prints_a_long_command_word_whole_at_any_width(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch, terminal: int | None
) -> None:
    """``envsnap show RUN.toml`` cut its "command word N" rows (and the command) at the table's width, with an
    ellipsis: piped (80 columns) or in a narrow terminal, the end of the path a reviewer must read was lost.
    Shown whole now, folded over lines, with its control and bidi characters still made visible."""
    home = "/home/alice/datasets/imagenet-2012/train/shards/part-000017-of-000128-\u202eevil\x1b-name.tar"
    code = f"open('{home}')"
    record = dataclasses.replace(
        sample(), command=Command(argv=("python", "-c", code), unlabelled=(f"2:{code.index('/home')}",))
    )
    path = rec.dump(record, tmp_path / "run.toml")
    _as_terminal(monkeypatch, terminal)
    shown = cli("show", path)
    assert shown.code == 0, shown  # type: ignore[attr-defined]
    out = re.sub(r"\x1b\[[0-9;]*m", "", shown.out)  # type: ignore[attr-defined]  # the terminal's own styles
    visible = home.replace("\u202e", "\ufffd").replace("\x1b", "\ufffd")
    assert _cell(out, "command word 2") == visible, out
    command = strip_terminal(shell_shown(record.command.argv))  # the quoting the row had, whole
    assert _cell(out, "Command").replace(" ", "") == command.replace(" ", ""), out  # folded at its spaces
    assert "\u202e" not in out and "…" not in out
    if terminal is not None:
        assert max(len(line) for line in out.splitlines()[1:]) <= terminal, out  # the table, below its title
    else:  # piped: each value on a line of its own, as grep and a CI log want it
        assert any(line.split("│")[2].strip() == visible for line in out.splitlines() if line.count("│") == 3), out


@pytest.mark.parametrize("kind", ["lock", "run record"])
@pytest.mark.parametrize("terminal", [None, 40, 80])
def test_show_s_title_names_a_long_path_whole_folded_to_the_terminal_and_made_visible(
    tmp_path: Path,
    cli: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    terminal: int | None,
) -> None:
    """``envsnap show PATH`` printed its title line (``envsnap lock: PATH``) whole however narrow the terminal,
    past its edge, while every value of the table below was folded to it. The title folds as the values do, its
    control and bidi characters made visible; piped, it stays one line."""
    from testutil import sample_lock

    from envsnap import lockfile

    folder = tmp_path / "downloads-from-a-stranger" / "artifact-of-the-paper-under-review-2026"
    folder.mkdir(parents=True)
    name = "env-\u202eevil\x1b[31m-name.toml"
    if kind == "lock":
        lockfile.dump(sample_lock(), folder / name)
    else:
        rec.dump(sample(), folder / name)
    monkeypatch.chdir(tmp_path)
    given = f"downloads-from-a-stranger/artifact-of-the-paper-under-review-2026/{name}"
    _as_terminal(monkeypatch, terminal)
    shown = cli("show", given)
    assert shown.code == 0, shown  # type: ignore[attr-defined]
    out = re.sub(r"\x1b\[[0-9;]*m", "", shown.out)  # type: ignore[attr-defined]  # the terminal's own styles
    lines = out.splitlines()
    title = lines[: next(i for i, line in enumerate(lines) if line[:1] in "┌┏╭")]
    expected = f"envsnap {kind}: " + given.replace("\u202e", "\ufffd").replace("\x1b", "\ufffd")
    assert "\u202e" not in out and "\x1b" not in out.replace("\x1b[", "")
    if terminal is not None:
        assert max(len(line) for line in lines) <= terminal, out  # the title too
        assert "".join(line.strip() for line in title).replace(" ", "") == expected.replace(" ", ""), out  # at spaces
    else:  # piped: one line, as grep and a CI log want it
        assert title == [expected], out


def _with_variables(*variables: rec.Variable) -> RunRecord:
    return dataclasses.replace(sample(), command=dataclasses.replace(sample().command, variables=variables))


def test_a_record_keeps_the_variables_the_run_named_set_and_unset(tmp_path: Path) -> None:
    """``envsnap run --env SEED`` records SEED's value at the start (a script's own variable, which no lock
    tracks), and an unset one as unset: a rerun without them silently differed."""
    record = _with_variables(
        rec.Variable("SEED", "3"), rec.Variable("EMPTY", ""), rec.Variable("WANDB_MODE", unset=True)
    )
    path = rec.dump(record, tmp_path / "run.toml")
    text = path.read_text()
    assert (
        'redacted = false\nvariables = [\n    { name = "SEED", value = "3" },\n    { name = "EMPTY", value = "" },\n'
        '    { name = "WANDB_MODE", value = "", unset = true },\n]\n'
    ) in text
    assert rec.load(path) == rec.sealed(record)
    # A record made without --env (every record before the field) has none, and reads as before.
    assert "variables" not in rec.dumps(sample())
    assert rec.load(rec.dump(sample(), tmp_path / "old.toml")).command.variables == ()


def test_show_names_the_variables_a_rerun_sets(tmp_path: Path, cli: Callable[..., object]) -> None:
    record = _with_variables(rec.Variable("SEED", "3 4"), rec.Variable("WANDB_MODE", unset=True))
    shown = cli("show", rec.dump(record, tmp_path / "run.toml"))
    assert shown.code == 0  # type: ignore[attr-defined]
    assert _cell(shown.out, "Variables") == "SEED='3 4', WANDB_MODE unset"  # type: ignore[attr-defined]
    assert "Variables" not in cli("show", rec.dump(sample(), tmp_path / "old.toml")).out  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["3", "", "3 4", "a'b", "3 $x `id` \\& 50%_{a}^~#|*[l](u)<b>", "-n", "a\u202eb"])
def test_a_variable_is_shown_as_an_assignment_a_shell_makes(value: str) -> None:
    """``show``, rerun, REPRODUCING.md and the appendix show a recorded variable as ``NAME=VALUE``, for a reader to
    type before the command by hand. It was quoted as one word, ``'SEED=3 4'``, which a shell runs as a command
    (``SEED=3 4: command not found``) rather than set SEED: the name stays bare, the value is the quoted part."""
    import subprocess

    (word,) = rec.variables_shown([rec.Variable("SEED", value)])
    ran = subprocess.run(
        ["bash", "-c", f"{word} printenv SEED"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"},
    )
    assert ran.returncode == 0 and ran.stdout == value + "\n", (word, ran)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('name = "SEED"', 'name = "1SEED"'),
            "command.variables[0].name: not a valid variable name",
        ),
        (lambda t: t.replace('name = "SEED"', 'name = "A=B"'), "command.variables[0].name: not a valid variable name"),
        (lambda t: t.replace('value = "3"', 'value = "a\\u001bb"'), "command.variables[0].value: not a valid text"),
        (
            lambda t: t.replace('value = "3"', 'value = "' + "x" * 5000 + '"'),
            "command.variables[0].value: not a valid text",
        ),
        (lambda t: t.replace('value = "", unset', 'value = "x", unset'), "command.variables[1]: an unset variable has"),
        (lambda t: t.replace('name = "WANDB_MODE"', 'name = "SEED"'), "command.variables[1]: SEED is named twice"),
    ],
    ids=["digit-first", "equals", "control", "long", "unset-with-value", "twice"],
)
def test_a_record_s_variables_are_validated_on_load(tmp_path: Path, edit: Callable[[str], str], message: str) -> None:
    record = _with_variables(rec.Variable("SEED", "3"), rec.Variable("WANDB_MODE", unset=True))
    path = rec.dump(record, tmp_path / "run.toml")
    edited = edit(path.read_text())
    assert edited != path.read_text()
    # Sealed again, so that only the field's own rule can refuse it.
    doc = rec._readlimits.load_toml(edited, origin="x", error=rec.RecordError)
    doc["run"]["content_digest"] = rec.canonical_digest(doc)
    from envsnap import _tomlwrite

    path.write_text(_tomlwrite.dumps(doc))
    with pytest.raises(rec.RecordError, match=re.escape(message)):
        rec.load(path)


def _learned(version: str, built: str, *, from_build: bool = True, rebuilt: bool = True) -> Any:
    """``labtool`` as ``bundle`` writes it after building its wheel ``labtool-BUILT``: at ``version``, the artifact
    marked as the one the version was learned from (``from_build``) or not."""
    from envsnap.model import Artifact, PythonPackage, Source

    artifact = Artifact(
        filename=f"labtool-{built}-py3-none-any.whl",
        url="file://{project}/libs/labtool",
        sha256="a" * 64,
        rebuilt=rebuilt,
        version_from_build=from_build,
    )
    source = Source(kind="directory", url="file://{project}/libs/labtool")
    return PythonPackage(name="labtool", version=version, source=source, artifact=artifact)


def test_a_version_the_bundle_learned_is_the_run_lock_s_and_a_mark_cannot_change_a_known_one() -> None:
    """A lock whose local project had no version (an import of a dynamic version) is the run's lock once ``bundle``
    has written the version of the wheel it built; the mark that says so makes a known version no other one, and a
    mark the artifact does not bear out (another wheel's version, a wheel the bundle did not build) is no proof."""
    from testutil import sample_lock

    from envsnap import lockfile
    from envsnap.model import PythonPackage, Source
    from envsnap.runs.record import Environment

    def bundled(run_lock: Any, package: PythonPackage) -> Any:
        lock = sample_lock(package)
        made_from = run_lock.envsnap.content_digest
        return lockfile.seal(dataclasses.replace(lock, envsnap=dataclasses.replace(lock.envsnap, made_from=made_from)))

    def environment(lock: Any) -> Environment:
        doc = lockfile.to_dict(lock)
        return Environment(lock_digest=lock.envsnap.content_digest, lock_identity=lockfile.identity_digest(doc))

    source = Source(kind="directory", url="file://{project}/libs/labtool")
    unknown = sample_lock(PythonPackage(name="labtool", version="", source=source), seal=True)
    known = sample_lock(PythonPackage(name="labtool", version="0.4.0", source=source), seal=True)
    another = "it names the run's lock as the one it was pinned from, but describes another environment"
    assert environment(unknown).other_lock(bundled(unknown, _learned("0.4.0", "0.4.0"))) == ""
    assert environment(known).other_lock(bundled(known, _learned("0.4.0", "0.4.0", from_build=False))) == ""
    # The mark on a version the run's lock knew: another version is another environment.
    assert environment(known).other_lock(bundled(known, _learned("0.5.0", "0.5.0"))) == another
    # A mark the artifact does not bear out is no proof: another wheel's version, a wheel not built by the bundle.
    assert environment(unknown).other_lock(bundled(unknown, _learned("0.4.0", "0.5.0"))) == another
    assert environment(unknown).other_lock(bundled(unknown, _learned("0.4.0", "0.4.0", rebuilt=False))) == another
    assert environment(unknown).other_lock(bundled(unknown, _learned("0.4.0", "0.4.0", from_build=False))) == another


def test_a_field_a_newer_envsnap_sealed_is_refused_saying_so_and_an_edited_one_as_before(
    tmp_path: Path, cli: Callable[..., object]
) -> None:
    """A record with a field this envsnap does not know was refused with ``environment.lock_identity: unknown
    field`` alone (what an envsnap before that field says of every record made since): the reader could not tell a
    newer envsnap's record from an edited one. It is still refused, exit 2, one line; where a newer envsnap wrote it
    and its seal matches the record as written, the line says so and to upgrade, as a lock's does."""
    from envsnap import _tomlwrite
    from envsnap._version import __version__

    def written(name: str, generator: str) -> Path:
        data = rec.document(sample())
        data["run"]["generator"] = generator
        data["environment"]["lock_future"] = "sha256:" + "b" * 64  # a field of a newer envsnap, sealed by it
        data["run"]["content_digest"] = rec.canonical_digest(data)
        path = tmp_path / name
        path.write_text(_tomlwrite.dumps(data))
        return path

    path = written("newer.toml", "envsnap 9.0.0")
    newer = (
        f"{path}: environment.lock_future: unknown field; the record was written by envsnap 9.0.0, newer than this "
        f"one ({__version__}): upgrade envsnap"
    )
    with pytest.raises(rec.RecordError) as caught:
        rec.load(path)
    assert str(caught.value) == newer
    result = cli("show", path)
    assert result.code == 2 and result.err.strip().splitlines() == [f"envsnap: error: {newer}"], result  # type: ignore[attr-defined]
    # The same field added after the seal (an edit), or sealed by this envsnap or an older one: said as before.
    edited = tmp_path / "edited.toml"
    edited.write_text(path.read_text().replace("envsnap 9.0.0", "envsnap 9.0.1"))
    for plain in (edited, written("same.toml", f"envsnap {__version__}"), written("other.toml", "other-tool 9.0")):
        with pytest.raises(rec.RecordError) as caught:
            rec.load(plain)
        assert str(caught.value) == f"{plain}: environment.lock_future: unknown field"


def test_a_lock_whose_warnings_pin_sorted_is_the_run_lock_s() -> None:
    """pip-compile's ``zeta @ git+file:///...@C1`` then ``alpha @ git+file:///...@C2`` (versions dynamic) are imported
    with their notes in the file's order (zeta's, then alpha's); ``envsnap pin`` sorts a lock's warnings, which changed
    its identity: the run recorded with the imported lock was refused for the pinned one ("describes another
    environment"). The notes are a set: their order is no environment; a note more or less still is."""
    from testutil import sample_lock

    from envsnap import lockfile
    from envsnap.runs.record import Environment

    def noted(*warnings: str, pinned_from: tuple[str, ...] = ()) -> Any:
        lock = sample_lock()
        meta = dataclasses.replace(lock.envsnap, warnings=warnings, pinned_from=pinned_from)
        return lockfile.seal(dataclasses.replace(lock, envsnap=meta))

    zeta, alpha = "import: the version of zeta is unknown", "import: the version of alpha is unknown"
    imported = noted(zeta, alpha)
    used = Environment(
        lock_digest=imported.envsnap.content_digest,
        lock_identity=lockfile.identity_digest(lockfile.to_dict(imported)),
    )
    run_lock = (imported.envsnap.content_digest,)
    assert used.other_lock(noted(alpha, zeta, "pin: six 1.0: no file", pinned_from=run_lock)) == ""
    assert used.other_lock(noted(alpha, pinned_from=run_lock)).endswith("but describes another environment")


def _resealed(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """The record at ``path`` edited by hand and sealed again, so that only the field's own rule can refuse it."""
    from envsnap import _tomlwrite

    doc = rec._readlimits.load_toml(path.read_text(), origin="x", error=rec.RecordError)
    edit(doc)
    doc["run"]["content_digest"] = rec.canonical_digest(doc)
    path.write_text(_tomlwrite.dumps(doc))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # It loaded: show printed an empty Command row, and rerun said "the record has no command", no file named.
        (lambda d: d["command"].__setitem__("argv", []), "command.argv: empty: a record names the command it ran"),
        # Any SIG and letters loaded and was shown as the signal that ended the command.
        (lambda d: d["result"].__setitem__("signal", "SIGFOO"), "result.signal: not a valid signal name: 'SIGFOO'"),
        (lambda d: d["result"].__setitem__("signal", "SIG9"), "result.signal: not a valid signal name: 'SIG9'"),
        # Only the signals envsnap passes on, or that cut its fingerprints short, interrupt a run.
        (
            lambda d: d["result"].update(interrupted=True, interrupted_by="SIGKILL"),
            "result.interrupted_by: not a valid value (one of '', 'SIGHUP', 'SIGINT', 'SIGTERM'): 'SIGKILL'",
        ),
        (
            lambda d: d["result"].__setitem__("interrupted_by", "SIGTERM"),
            "result.interrupted_by: SIGTERM, but result.interrupted is false: a signal that interrupted the run "
            "marks it interrupted",
        ),
    ],
    ids=["no-command", "unknown-signal", "signal-number", "not-an-interrupting-signal", "not-interrupted"],
)
def test_a_resealed_record_without_a_command_or_with_an_unknown_signal_is_refused_on_load(
    tmp_path: Path, cli: Callable[..., object], edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    path = rec.dump(sample(), tmp_path / "run.toml")
    _resealed(path, edit)
    for command in ("show", "rerun"):
        result = cli(command, path, *(("--dry-run",) if command == "rerun" else ()))
        assert result.code == 2, result  # type: ignore[attr-defined]
        assert result.err == f"envsnap: error: {path}: {message}\n", result  # type: ignore[attr-defined]


def test_every_signal_envsnap_run_names_loads(tmp_path: Path) -> None:
    """The names ``envsnap run`` writes (``signal.Signals(N).name`` of the signal that ended the command) are the
    names a record holds: each loads."""
    import signal

    for number in signal.Signals:
        name = signal.Signals(number).name
        path = rec.dump(
            dataclasses.replace(sample(), result=dataclasses.replace(sample().result, signal=name)), tmp_path / "r.toml"
        )
        assert rec.load(path).result.signal == name


# A version 1 record's drift, as ``run`` wrote it: a local source by its URL, a .pth folder's note its paths bare.
V1_SOURCE = "warning: python: proj: source editable file:///home/me/my%20project -> index"
V1_PTH = (
    "warning: python: .pth: the modules in /data/my mods (from {prefix}/lib/python3.12/site-packages/m.pth) differ "
    "from the capture's: 1 module file changed, the first new one.py (modified)"
)


def test_show_prints_the_drift_as_verify_and_run_print_it(tmp_path: Path, cli: Callable[..., object]) -> None:
    """(A record of schema version 1, whose drift is lines of text.) ``show RUN.toml`` printed the drift as the record
    keeps it: a local source by its percent-encoded URL and a
    .pth folder's paths bare, two words each, where run, rerun and verify print a path, one shell word."""
    record = dataclasses.replace(
        sample(),
        run=dataclasses.replace(sample().run, schema_version=1),
        environment=rec.Environment(drift=(rec.Finding(line=V1_SOURCE), rec.Finding(line=V1_PTH))),
    )
    shown = cli("show", rec.dump(record, tmp_path / "run.toml"))
    assert shown.code == 0  # type: ignore[attr-defined]
    out = shown.out  # type: ignore[attr-defined]
    assert "warning: python: proj: source editable '/home/me/my project' -> index" in out, out
    assert "the modules in '/data/my mods' (from {prefix}/lib/python3.12/site-packages/m.pth)" in out, out
    assert "the first 'new one.py' (modified)" in out, out


@pytest.mark.parametrize(
    ("unlisted", "complete", "message"),
    [
        (("b\\xff.txt",), True, "unlisted: 1 file not listed, but the entries list 1 of 1 file (complete = true)"),
        (("ok.txt",), False, "unlisted[0]: not a valid name that is not UTF-8"),
        (("b\\x41",), False, "unlisted[0]: not a valid name that is not UTF-8"),
        (("b\\xff", "b\\xff"), False, "unlisted: 'b\\\\xff' is listed twice"),
        (("b\\xff",), None, "unlisted: a file path has no files left unlisted, only a directory has"),
    ],
)
def test_a_record_s_unlisted_names_are_refused_unless_they_are_files_not_utf8_it_could_not_list(
    tmp_path: Path, unlisted: tuple[str, ...], complete: bool | None, message: str
) -> None:
    (d,) = sample().data
    files = 1 if complete else 1 + len(unlisted)
    kind = "file" if complete is None else "directory"
    d = dataclasses.replace(d, kind=kind, files=files, complete=bool(complete), unlisted=unlisted)
    record = dataclasses.replace(sample(), data=(d,))
    with pytest.raises(rec.RecordError) as err:
        rec.load(rec.dump(record, tmp_path / "run.toml"))
    assert message in str(err.value), err.value


def test_the_drift_is_kept_by_its_fields_and_shown_from_them(tmp_path: Path, cli: Callable[..., object]) -> None:
    """A record's drift was a line of text (``warning: python: proj: source editable file:///... -> index``), which
    show, run and rerun took apart again to show its paths. Schema version 2 keeps each finding by its difference's
    fields (severity, area, subject, what, the lock's and this side, note), shown from them; a record of version 1
    is still read, its lines shown and written back as they were (above)."""
    finding = rec.Finding("warning", "python", "proj", "source", "editable file:///home/me/my%20project", "index")
    record = dataclasses.replace(sample(), environment=rec.Environment(drift=(finding,)))
    path = rec.dump(record, tmp_path / "run.toml")
    text = path.read_text()
    assert "schema_version = 2" in text and "[[environment.drift]]" in text, text
    assert 'subject = "proj"' in text and 'expected = "editable file:///home/me/my%20project"' in text, text
    assert rec.load(path).environment.drift == (finding,)
    assert finding.said() == V1_SOURCE  # the line a version 1 record kept, which a rerun compares
    shown = cli("show", path)
    assert "warning: python: proj: source editable '/home/me/my project' -> index" in shown.out, shown.out  # type: ignore[attr-defined]
    assert '"subject": "proj"' in cli("show", path, "--json").out  # type: ignore[attr-defined]
    v1 = dataclasses.replace(
        record,
        run=dataclasses.replace(record.run, schema_version=1),
        environment=rec.Environment(drift=(rec.Finding(line=V1_SOURCE),)),
    )
    old = rec.dump(v1, tmp_path / "old.toml")
    assert tomli.loads(old.read_text())["environment"]["drift"] == [V1_SOURCE]  # as version 1 wrote it
    assert rec.load(old).environment.drift == (rec.Finding(line=V1_SOURCE),)
    assert f'"drift": [\n      "{V1_SOURCE}"' in cli("show", old, "--json").out  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("version", "finding", "message"),
    [
        (2, {"line": V1_SOURCE}, "environment.drift[0]: line: a record of schema version 2 keeps its drift by its"),
        (2, {"severity": "warning", "area": "python", "subject": "x"}, "environment.drift[0]: what: required field"),
        (2, {"severity": "info", "area": "python", "subject": "x", "what": "y"}, "environment.drift[0].severity"),
        (1, {"severity": "warning"}, "environment.drift[0]: expected a string, got a table"),
    ],
)
def test_a_drift_finding_not_of_the_record_s_version_is_refused(
    tmp_path: Path, version: int, finding: dict[str, str], message: str
) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["run"]["schema_version"] = version
        data["environment"]["drift"] = [finding]

    path = rec.dump(sample(), tmp_path / "run.toml")
    _resealed(path, edit)
    with pytest.raises(rec.RecordError) as err:
        rec.load(path)
    assert message in str(err.value), err.value


def test_the_severities_and_areas_a_finding_takes_are_verify_s() -> None:
    from envsnap.compare import verdict

    assert rec.DRIFT_SEVERITIES == (verdict.MISMATCH, verdict.WARNING)
    assert rec.DRIFT_AREAS == verdict.AREAS
