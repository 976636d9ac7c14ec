"""envsnap.record_run: a script or notebook records itself; a tracker gets the record as an artifact."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from runhelpers import envsnap_env

import envsnap
from envsnap.runs import record as rec
from envsnap.runs import tracking


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
