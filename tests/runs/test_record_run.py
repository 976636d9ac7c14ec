"""envsnap.record_run: a script or notebook records itself; a tracker gets the record as an artifact."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from runhelpers import envsnap_env

import envsnap
from envsnap.runs import record as rec
from envsnap.runs import summary, tracking


def test_a_block_is_recorded_with_its_data_outputs_and_what_the_process_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("input")
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "x.c").write_text("int envsnap_x(void) { return 7; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(folder / "libodd.so"), str(folder / "x.c")], check=True)
    with envsnap.record_run("nb.toml", lock=host_lock, data=["in.txt"], argv=["python", "notebook"]) as run:
        assert ctypes.CDLL(str(folder / "libodd.so")).envsnap_x() == 7
        (tmp_path / "out.txt").write_text("result")
        run.output("out.txt")
    assert run.record is not None
    loaded = rec.load(tmp_path / "nb.toml")
    assert loaded == rec.sealed(run.record)
    assert loaded.command.argv == ("python", "notebook") and loaded.result.exit_status == 0
    assert [d.path for d in loaded.inputs()] == ["in.txt"] and [d.path for d in loaded.outputs()] == ["out.txt"]
    odd = [lib for lib in loaded.loaded.libraries if lib.path.endswith("libodd.so")]
    assert len(odd) == 1 and not odd[0].accounted
    assert "pytest" in loaded.loaded.modules


def test_a_block_records_the_variables_it_names_as_run_env_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    """``envsnap run --env SEED`` records the variables a script reads; a notebook recording itself with
    ``record_run`` could not, so its rerun ran without the seed. ``env=`` names them, as the option does: each
    with its value at the block's start, or unset; a name that is no variable's is refused before the block."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEED", "3")
    monkeypatch.delenv("WANDB_MODE", raising=False)
    with envsnap.record_run("nb.toml", lock=host_lock, argv=["python", "nb"], env=["SEED", "WANDB_MODE"]) as run:
        os.environ["SEED"] = "4"  # what the block does later is not what it started with
    assert run.record is not None
    variables = rec.load(tmp_path / "nb.toml").command.variables
    assert [(v.name, v.value, v.unset) for v in variables] == [("SEED", "3", False), ("WANDB_MODE", "", True)]
    monkeypatch.setenv("WANDB_API_KEY", "0123456789abcdef" * 2)
    with (
        pytest.warns(envsnap.RunRecordWarning, match="^--env WANDB_API_KEY: it looks like a secret's variable: "),
        envsnap.record_run("key.toml", lock=host_lock, argv=["python", "nb"], env=["WANDB_API_KEY"]) as run,
    ):
        pass
    assert run.warnings[-1] == (
        "--env WANDB_API_KEY: it looks like a secret's variable: key.toml holds its value as it is, and so does every "
        "copy you publish (name no secret with --env)"
    )
    with (
        pytest.raises(envsnap.EnvsnapError, match="not a variable name"),
        envsnap.record_run("bad.toml", lock=host_lock, env=["2BAD"]),
    ):
        pass
    assert not (tmp_path / "bad.toml").exists()


def test_a_block_that_raises_is_still_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError), envsnap.record_run("r.toml", lock=host_lock):
        raise ValueError("training diverged")
    record = rec.load(tmp_path / "r.toml")
    assert record.result.exit_status == 1 and not record.result.interrupted
    # The interpreter is the command's program; under the home directory it is recorded as ~/... (its name).
    home, python = os.path.expanduser("~"), sys.executable
    assert record.command.argv[0] == ("~" + python[len(home) :] if python.startswith(home + "/") else python)


def test_a_block_a_ctrl_c_interrupted_is_recorded_interrupted_by_sigint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(KeyboardInterrupt), envsnap.record_run("r.toml", lock=host_lock):
        raise KeyboardInterrupt
    result = rec.load(tmp_path / "r.toml").result
    assert (result.exit_status, result.interrupted, result.interrupted_by) == (1, True, "SIGINT")


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (5, 5), ("failed", 1)])
def test_sys_exit_in_the_block_records_the_status_the_process_ends_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path, code: object, status: int
) -> None:
    # A script ending with sys.exit(0) (or sys.exit(5)) inside the block was recorded as exit 1.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit), envsnap.record_run("r.toml", lock=host_lock):
        sys.exit(code)
    assert rec.load(tmp_path / "r.toml").result.exit_status == status


class _Mlflow:
    def __init__(self) -> None:
        self.logged: list[tuple[str, str]] = []

    def log_artifact(self, path: str, artifact_path: str | None = None) -> None:
        self.logged.append((Path(path).name, artifact_path or ""))


def test_attach_logs_the_record_and_its_lock_to_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "run", "-o", "exp.toml", "--", "true"],
        capture_output=True,
        text=True,
        env=envsnap_env(),
    )
    assert res.returncode == 0, res.stderr
    fake: Any = _Mlflow()
    files = tracking.attach(tmp_path / "exp.toml", mlflow=fake)
    assert [f.name for f in files] == ["exp.toml", "exp.lock"]
    assert fake.logged == [("exp.toml", "envsnap"), ("exp.lock", "envsnap")]
    # An edited record is never attached.
    (tmp_path / "exp.toml").write_text((tmp_path / "exp.toml").read_text().replace('"true"', '"false"'))
    with pytest.raises(rec.RecordError):
        tracking.attach(tmp_path / "exp.toml", mlflow=_Mlflow())


def test_a_command_naming_the_home_in_text_is_said_on_the_handle_and_as_a_python_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    # `envsnap run` said which words of the command still named the home; record_run, the Python API, kept the
    # same text in the record and told the script's author nothing before they published it.
    alice = tmp_path / "home" / "alice"
    (alice / "proj").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(alice))
    monkeypatch.chdir(alice / "proj")
    code = f"open('{alice}/data/missing.csv')"  # no such file: text, not a path envsnap can label
    with (
        pytest.warns(envsnap.RunRecordWarning) as caught,
        envsnap.record_run("run.toml", lock=host_lock, argv=["python", "-c", code]) as run,
    ):
        pass
    line = (
        f"command word 2 names {alice} in text that is no existing path: run.toml keeps it as written, "
        "and so does every copy of it you publish (envsnap show run.toml)"
    )
    assert run.record is not None
    drift = [
        f.shown() for f in run.record.environment.drift
    ]  # this test's PYTHONPATH is not the lock's: said first, as `run` does
    assert run.warnings == (*drift, line)
    assert [str(w.message) for w in caught] == list(run.warnings)
    assert {w.filename for w in caught} == {__file__}  # the script's `with` line, not envsnap's
    assert rec.load(alice / "proj" / "run.toml").command.argv[2] == code


def test_the_drift_record_run_says_reads_as_envsnap_run_prints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    # record_run said (and warned) each drift line as the record compares it, a .pth folder's paths bare
    # (``/data/my mods``, two words), where `envsnap run` prints each one shell word.
    import dataclasses

    from envsnap import lockfile
    from envsnap.model import PthFolder

    monkeypatch.chdir(tmp_path)
    snap = lockfile.load(host_lock)
    gone = PthFolder("{prefix}/lib/mods.pth", "/data/my mods")
    python = dataclasses.replace(snap.python, pth_folders=(*snap.python.pth_folders, gone))
    lock = lockfile.dump(dataclasses.replace(snap, python=python), tmp_path / "envsnap.lock")
    with (
        pytest.warns(envsnap.RunRecordWarning) as caught,
        envsnap.record_run("run.toml", lock=lock, argv=["python", "-c", "print(1)"]) as run,
    ):
        pass
    assert run.record is not None
    said = "warning: python: .pth: the lock's environment had '/data/my mods' on sys.path (from {prefix}/lib/mods.pth)"
    assert any(w.startswith(said) for w in run.warnings), run.warnings
    assert run.warnings == tuple(f.shown() for f in run.record.environment.drift)
    assert [str(w.message) for w in caught] == list(run.warnings)
    # The record keeps the places the note names, which show prints it by (not its sentence read again).
    text = (tmp_path / "run.toml").read_text()
    assert '{ kind = "folder", path = "/data/my mods" }' in text, text
    [pth] = [f for f in rec.load(tmp_path / "run.toml").environment.drift if f.subject == ".pth"]
    assert [(p.kind, p.path) for p in pth.places] == [("folder", "/data/my mods"), ("pth", "{prefix}/lib/mods.pth")]


def test_a_clean_block_warns_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with envsnap.record_run("run.toml", lock=host_lock, argv=["python", "-c", "print(1)"]) as run:
            pass
    assert run.record is not None
    assert run.warnings == tuple(
        f.shown() for f in run.record.environment.drift
    )  # the lock's drift, and nothing about the command
    assert [str(w.message) for w in caught if issubclass(w.category, envsnap.RunRecordWarning)] == list(run.warnings)
    assert not any("command word" in str(w.message) for w in caught)


def test_an_output_left_from_before_is_said_as_envsnap_run_says_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    # A block that wrote no model.pt (an earlier run's is there) was recorded with model.pt "missing", silently.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.pt").write_text("from an earlier run")
    with (
        pytest.warns(envsnap.RunRecordWarning, match="^output model.pt: not written by the command") as caught,
        envsnap.record_run("run.toml", lock=host_lock, outputs=["model.pt"], argv=["python", "train.py"]) as run,
    ):
        pass
    line = "output model.pt: not written by the command (the file from before is unchanged)"
    assert run.record is not None
    assert run.warnings == (*(f.shown() for f in run.record.environment.drift), line)
    assert [str(w.message) for w in caught] == list(run.warnings)
    assert [d.kind for d in rec.load(tmp_path / "run.toml").outputs()] == ["missing"]


def test_an_output_never_written_is_said_as_envsnap_run_says_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    # A block that wrote nothing at an output's path (a typo, an exception first) was recorded "missing", silently.
    monkeypatch.chdir(tmp_path)
    with (
        pytest.warns(envsnap.RunRecordWarning, match="^output model.pt: not written by the command") as caught,
        envsnap.record_run("run.toml", lock=host_lock, argv=["python", "train.py"]) as run,
    ):
        run.output("model.pt")
    line = "output model.pt: not written by the command (nothing is at that path after it)"
    assert run.record is not None
    assert run.warnings == (*(f.shown() for f in run.record.environment.drift), line)
    assert [str(w.message) for w in caught] == list(run.warnings)
    assert [d.kind for d in rec.load(tmp_path / "run.toml").outputs()] == ["missing"]


def test_the_record_lists_where_its_command_still_names_the_home_and_show_flags_it_for_a_reviewer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    # A reviewer's `envsnap show run.toml` could not tell which text names the author's home (it does not know
    # the author's home): the record kept it as written and said nothing of it to whoever read the record later.
    alice = tmp_path / "home" / "alice"
    (alice / "proj").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(alice))
    monkeypatch.chdir(alice / "proj")
    code = f"open('{alice}/data/missing.csv'); print('{alice}/proj/nowhere')"
    with (
        pytest.warns(envsnap.RunRecordWarning),
        envsnap.record_run("run.toml", lock=host_lock, argv=["python", "-c", code]),
    ):
        pass
    first, second = code.index(str(alice)), code.rindex(str(alice))
    record = rec.load(alice / "proj" / "run.toml")
    assert record.command.unlabelled == (f"2:{first}", f"2:{second}")
    assert f'unlabelled = [\n    "2:{first}",\n    "2:{second}",\n]\n' in (alice / "proj" / "run.toml").read_text()
    shown = dict(summary.rows(record))
    assert shown["Home text"] == (
        "2 places in the command name the home or project folder of whoever recorded it, kept as written (not "
        "as {project} or ~): a rerun elsewhere gets this text unchanged"
    )
    assert [value for key, value in summary.rows(record) if key == "  command word 2"] == [
        f"{alice}/data/missing.csv",
        f"{alice}/proj/nowhere",
    ]


def test_a_clean_command_s_record_has_no_unlabelled_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    with envsnap.record_run("run.toml", lock=host_lock, argv=["python", "-c", "print(1)"]):
        pass
    assert "unlabelled" not in (tmp_path / "run.toml").read_text()
    record = rec.load(tmp_path / "run.toml")
    assert record.command.unlabelled == () and "Home text" not in dict(summary.rows(record))


@pytest.mark.parametrize(
    ("places", "why"),
    [
        (["2:5"], "2:5"),  # no path starts there
        (["2:6", "2:6"], "unlabelled[1]: 2:6"),  # twice
        (["2:11"], "2:11"),  # inside a path, not at its start
        (["9:0"], "9:0"),  # no such word
        (["2:x"], "not a valid place"),
    ],
)
def test_a_record_s_unlabelled_places_must_start_a_path_in_its_words(places: list[str], why: str) -> None:
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("python3", "-c", "open('/home/alice/x.csv')"), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
    )
    doc = rec.to_dict(record)
    doc["run"]["content_digest"] = rec.canonical_digest(doc)
    assert "unlabelled" not in doc["command"]  # a record without it (every record before) loads as it did
    assert rec.from_document(doc, origin="run.toml").command.unlabelled == ()
    doc["command"]["unlabelled"] = ["2:6"]
    doc["run"]["content_digest"] = rec.canonical_digest(doc)
    assert rec.from_document(doc, origin="run.toml").command.unlabelled == ("2:6",)
    doc["command"]["unlabelled"] = places
    doc["run"]["content_digest"] = rec.canonical_digest(doc)
    with pytest.raises(rec.RecordError) as err:
        rec.from_document(doc, origin="run.toml")
    assert str(err.value).startswith("run.toml: command.unlabelled[") and why in str(err.value), err.value


def test_the_environment_is_named_as_the_interpreter_running_the_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    # A script's record said its environment was chosen by `--python`, an option nobody gave (`envsnap show`:
    # "Environment  /usr/bin/python3 (--python)"), as if the author had pointed envsnap at another interpreter.
    monkeypatch.chdir(tmp_path)
    with envsnap.record_run("run.toml", lock=host_lock, argv=["python", "train.py"]):
        pass
    record = rec.load(tmp_path / "run.toml")
    home, python = os.path.expanduser("~"), sys.executable
    named = "~" + python[len(home) :] if python.startswith(home + "/") else python  # the home as ~, as a lock has it
    assert record.environment.python == f"{named} (the interpreter running the record_run block)"
    assert ("Environment", record.environment.python) in summary.rows(record)


def test_a_warning_made_an_error_does_not_replace_the_blocks_own_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    """With ``RunRecordWarning`` made an error, a block that raised ended with that warning instead of its own
    exception (kept only as its context): the traceback the author reads named the record, not their bug."""
    alice = tmp_path / "home" / "alice"
    (alice / "proj").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(alice))
    monkeypatch.chdir(alice / "proj")
    code = f"open('{alice}/data/missing.csv')"
    with warnings.catch_warnings():
        warnings.simplefilter("error", envsnap.RunRecordWarning)
        with (
            pytest.raises(ZeroDivisionError),
            envsnap.record_run("run.toml", lock=host_lock, argv=["python", "-c", code]) as run,
        ):
            1 / 0  # noqa: B018 (the block's own error)
        assert run.record is not None and run.record.result.exit_status == 1
        assert any(line.startswith("command word 2 names") for line in run.warnings)  # still on the handle
        with (  # a block that ends normally: the warning is the error, as asked
            pytest.raises(envsnap.RunRecordWarning),
            envsnap.record_run("run2.toml", lock=host_lock, argv=["python", "-c", code]),
        ):
            pass


def test_an_output_path_a_record_cannot_hold_is_refused_and_the_record_stays_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    # run.output("o\nx") was recorded, and show and rerun then refused the whole record.
    monkeypatch.chdir(tmp_path)
    refused = pytest.raises(envsnap.EnvsnapError, match="run record cannot hold")
    with refused, envsnap.record_run("nb.toml", lock=host_lock, argv=["python", "notebook"]) as run:
        (tmp_path / "ok.txt").write_text("result")
        run.output("ok.txt")
        run.output("o\nx")
    loaded = rec.load(tmp_path / "nb.toml")
    assert [d.path for d in loaded.outputs()] == ["ok.txt"] and loaded.result.exit_status == 1
    (tmp_path / "d\x1bx").write_text("data")
    refused = pytest.raises(envsnap.EnvsnapError, match=r"--data .*run record cannot hold")
    with refused, envsnap.record_run("nb2.toml", lock=host_lock, data=["d\x1bx"], argv=["python", "notebook"]):
        pass
    assert not (tmp_path / "nb2.toml").exists()
    # An empty path (an unset variable) named the current folder, hashed whole.
    refused = pytest.raises(envsnap.EnvsnapError, match=r"^--data '': an empty path")
    with refused, envsnap.record_run("nb3.toml", lock=host_lock, data=[""], argv=["python", "notebook"]):
        pass
    assert not (tmp_path / "nb3.toml").exists()


def test_a_record_inside_an_output_folder_is_refused_before_the_block_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    # record_run("res/run.toml", outputs=["res"]) made the record a file of its output: every rerun differed.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "res").mkdir()
    ran = []
    refused = pytest.raises(envsnap.EnvsnapError, match=r"inside the outputs folder \(res\)")
    with refused, envsnap.record_run("res/run.toml", lock=host_lock, outputs=["res"], argv=["python", "x"]):
        ran.append(1)
    assert not ran and not (tmp_path / "res" / "run.toml").exists()


def test_a_file_the_block_wrote_before_git_read_the_tree_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    # The git state is read while the block runs: a file it wrote first was recorded as the project's
    # uncommitted change, silently.
    import threading

    from envsnap.probes import gitstate

    for args in (["init", "-q"], ["-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "a", "--allow-empty"]):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True)
    monkeypatch.chdir(tmp_path)
    written = threading.Event()
    real_git = gitstate.git

    def git_after_the_write(directory: str, *args: str) -> Any:
        written.wait(60)
        return real_git(directory, *args)

    monkeypatch.setattr(gitstate, "git", git_after_the_write)
    with (
        pytest.warns(envsnap.RunRecordWarning, match="^the code state may include what the command wrote: log.txt "),
        envsnap.record_run("../run.toml", lock=host_lock, argv=["python", "train.py"]) as run,
    ):
        (tmp_path / "log.txt").write_text("epoch 1\n")
        written.set()
    line = (
        "the code state may include what the command wrote: log.txt changed after it started, before git had read "
        "the work tree (code.dirty and code.diff_digest may not be the project's as the command started)"
    )
    assert run.record is not None and run.record.code is not None and run.record.code.dirty
    assert run.warnings == (*(f.shown() for f in run.record.environment.drift), line)


def test_a_block_that_changes_the_working_directory_is_recorded_where_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    """A training script that changes directory in the block (``os.chdir`` into its run folder, as Hydra does for
    every run) lost its record: the relative record path, lock and outputs were taken from the folder the block
    ended in (``LockfileError: runs/cd.lock: cannot write``, raised out of a block that succeeded, no record). They
    are the block's start folder's, as its command's working directory is."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.txt").write_text("input")
    (tmp_path / "outputs" / "day1").mkdir(parents=True)
    with envsnap.record_run("runs/cd.toml", data=["data"], outputs=["res.txt"], argv=["python", "train.py"]) as run:
        (tmp_path / "res.txt").write_text("result")
        os.chdir(tmp_path / "outputs" / "day1")
    assert run.record is not None
    loaded = rec.load(tmp_path / "runs" / "cd.toml")
    assert loaded.command.cwd == "." and (tmp_path / "runs" / "cd.lock").is_file()
    [output] = loaded.outputs()
    assert output.path == "res.txt" and output.kind == "file" and output.files == 1, output
    assert not [w for w in run.warnings if "not written" in w], run.warnings
    assert not list((tmp_path / "outputs" / "day1").iterdir())


def test_a_record_in_a_missing_folder_is_made_there_and_one_that_cannot_be_is_refused_before_the_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    """``record_run("runs/day1/r.toml")`` with no ``runs/day1`` ran the whole block, then raised ``LockfileError:
    ... cannot write`` and left no record (``envsnap run -o`` makes the folder). The folder is made as the block
    starts, as ``run -o`` makes it; a record path that cannot be one (a folder, a file on the way) is refused
    before the block runs."""
    monkeypatch.chdir(tmp_path)
    with envsnap.record_run("runs/day1/r.toml", lock=host_lock, argv=["python", "train.py"]) as run:
        pass
    assert run.record is not None and rec.load(tmp_path / "runs" / "day1" / "r.toml").result.exit_status == 0
    (tmp_path / "afile").write_text("x")
    ran = []
    for bad, said in (("runs/", "a folder"), ("afile/r.toml", "not a folder envsnap can write the record in")):
        with (
            pytest.raises(envsnap.EnvsnapError, match=said),
            envsnap.record_run(bad, lock=host_lock, argv=["python", "train.py"]),
        ):
            ran.append(bad)
    assert not ran


def test_a_file_of_the_users_own_at_the_path_is_refused_before_the_block_and_a_record_replaced_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    """``record_run("results.toml")`` replaced the user's own results.toml, and ``record_run("uv.toml")`` (no lock:
    the capture goes beside it) the project's uv.lock, without a word, where ``run -o`` refuses both: the same rule
    now, before the block runs. An earlier record there is replaced, as before, and the warnings say so."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results.toml").write_text("accuracy = 1\n")
    ran = []
    with (
        pytest.raises(envsnap.errors.UsageError, match=r"results\.toml: exists and is not an envsnap run record"),
        envsnap.record_run("results.toml", lock=host_lock, argv=["python", "nb"]),
    ):
        ran.append(1)
    assert not ran and (tmp_path / "results.toml").read_text() == "accuracy = 1\n"
    (tmp_path / "uv.lock").write_text("version = 1\n")
    with (
        pytest.raises(envsnap.errors.UsageError, match=r"uv\.lock, exists and is not a lock envsnap wrote"),
        envsnap.record_run("uv.toml", argv=["python", "nb"]),
    ):
        ran.append(1)
    assert not ran and (tmp_path / "uv.lock").read_text() == "version = 1\n"
    with envsnap.record_run("run.toml", lock=host_lock, argv=["python", "nb"]):
        pass
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with envsnap.record_run("run.toml", lock=host_lock, argv=["python", "nb"]) as run:
            pass
    assert run.warnings[0].startswith("replaced ") and "run.toml, the record of an earlier run there" in run.warnings[0]
    assert any("replaced" in str(w.message) for w in caught)
