"""Defaults the command line shows in its help, kept apart so that showing them loads none of the probes."""

from __future__ import annotations

LOCK_NAME = "envsnap.lock"
GPU_TIMEOUT = 10.0  # nvmlInit on eight GPUs without persistence mode takes seconds
DEEP_TIMEOUT = 120.0  # importing torch with CUDA takes seconds; a hung import must not hang the capture
PROBE_TIMEOUT = 120.0  # the standard-library probe in the target interpreter

# Our name on the public package index. The import package and the command are `envsnap`, but the
# distribution `envsnap` there is an unrelated project: every install remedy names this one (docs/design.md).
DISTRIBUTION = "envsnap-lock"


def install_hint(extra: str = "") -> str:
    """The command that installs envsnap (with ``extra``), for remedies printed to the user."""
    return f"pip install '{DISTRIBUTION}[{extra}]'" if extra else f"pip install '{DISTRIBUTION}'"
