"""Defaults the command line shows in its help, kept apart so that showing them loads none of the probes."""

from __future__ import annotations

LOCK_NAME = "envsnap.lock"
GPU_TIMEOUT = 10.0  # nvmlInit on eight GPUs without persistence mode takes seconds
DEEP_TIMEOUT = 120.0  # importing torch with CUDA takes seconds; a hung import must not hang the capture
PROBE_TIMEOUT = 120.0  # the standard-library probe in the target interpreter
