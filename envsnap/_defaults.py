"""Defaults the command line shows in its help, kept apart so that showing them loads none of the probes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

LOCK_NAME = "envsnap.lock"
GPU_TIMEOUT = 10.0  # nvmlInit on eight GPUs without persistence mode takes seconds
DEEP_TIMEOUT = 120.0  # importing torch with CUDA takes seconds; a hung import must not hang the capture
PROBE_TIMEOUT = 120.0  # the standard-library probe in the target interpreter
FLEET_TIMEOUT = 120.0  # one node's answer to fleet check or capture, through srun
FLEET_LOCK_ENV = "ENVSNAP_LOCK"  # the lock a Slurm job asks fleet prolog to check

# Our name on the public package index. The import package and the command are `envsnap`, but the
# distribution `envsnap` there is an unrelated project: every install remedy names this one (docs/design.md).
DISTRIBUTION = "envsnap-lock"


def install_hint(extra: str = "") -> str:
    """The command that installs envsnap (with ``extra``), for remedies printed to the user."""
    return f"pip install '{DISTRIBUTION}[{extra}]'" if extra else f"pip install '{DISTRIBUTION}'"


# The download caches, one folder each under the one cache root (``cache_dir``).
ARTIFACTS_CACHE = "artifacts"  # wheels and sdists, by sha256 (pin, bundle, the venv rebuild)
CONDA_CACHE = "conda"  # conda package archives, by hash (the conda rebuild)
RUNS_CACHE = "runs"  # quick verify results of `envsnap run`
CAPTURE_CACHE = "capture"  # facts read from files at capture, by path + size + mtime_ns + inode (probes/cache.py)


def cache_dir(kind: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where envsnap keeps downloads of one ``kind``: ``$XDG_CACHE_HOME/envsnap/KIND``, ``~/.cache/envsnap/KIND``
    when it is unset or not absolute (the XDG rule: a relative one is ignored, so the cache never depends on
    the working directory)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = str(Path(env.get("HOME") or str(Path.home())) / ".cache")
    return Path(base) / "envsnap" / kind


def capture_cache_path(kind: str, identity: str) -> Path:
    """The capture cache file of ``kind`` for one environment, named by a digest of ``identity`` (its
    interpreter's path), so that no name read from anywhere becomes part of a path (probes/cache.py)."""
    import hashlib  # not at start-up: `envsnap --help` loads this module

    digest = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir(CAPTURE_CACHE) / f"{kind}-{digest}.json"
