"""Attach a run record (and the lock it names) to an experiment tracker's run as artifacts.

envsnap depends on neither tracker: the caller passes the ``mlflow`` module or a ``wandb`` run it already has.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .record import load


def files_of(record_path: str | os.PathLike[str]) -> list[Path]:
    """The record and, when it names one that is present, the lock it ran under (relative to the project, which
    is taken to be the record's folder or one above it)."""
    path = Path(record_path)
    record = load(path)
    out = [path]
    rel = record.environment.lock
    if rel:
        for folder in (path.parent, *path.parent.resolve().parents):
            candidate = folder / rel
            if candidate.is_file():
                out.append(candidate)
                break
    return out


def attach(
    record_path: str | os.PathLike[str], *, mlflow: Any = None, wandb_run: Any = None, artifact_path: str = "envsnap"
) -> list[Path]:
    """Log the record and its lock to ``mlflow`` (the module, inside an active run) and/or ``wandb_run`` (a run
    from ``wandb.init``). The record is loaded first, so an invalid one is never attached. Returns the files."""
    files = files_of(record_path)
    if mlflow is not None:
        for f in files:
            mlflow.log_artifact(str(f), artifact_path=artifact_path)
    if wandb_run is not None:
        import wandb  # type: ignore[import-not-found,unused-ignore]  # the caller has a run: it is installed

        artifact = wandb.Artifact(name=f"envsnap-run-{Path(record_path).stem}", type="envsnap-run")
        for f in files:
            artifact.add_file(str(f))
        wandb_run.log_artifact(artifact)
    return files
