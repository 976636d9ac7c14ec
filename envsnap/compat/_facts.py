"""Facts the rules share: version parsing, what CUDA a lock needs, what kind of GPU a host has."""

from __future__ import annotations

import re

# What CUDA a lock needs is the core's (the Dockerfile spec picks a base image by it); the rules reach it here.
from ..cudaneed import CudaNeed as CudaNeed
from ..cudaneed import cuda_need as cuda_need
from ..cudaneed import local_cuda as local_cuda
from ..model import Snapshot
from ..platforms import numbers
from . import data


def variant(cuda_version: str) -> str:
    """``"12.8"`` -> ``"cu128"``."""
    parts = numbers(cuda_version)
    return f"cu{parts[0]}{parts[1]}" if len(parts) >= 2 else ""


def has_driver(host: Snapshot) -> bool:
    """A driver answered with its version (``error`` may still name a GPU that did not answer)."""
    return host.nvidia is not None and bool(host.nvidia.driver_version)


def forward_compatible(gpu_name: str) -> bool:
    """Data-center and Jetson GPUs, the only ones on which cuda-compat runs a newer toolkit."""
    lowered = gpu_name.lower()
    patterns = data.load("nvidia")["forward_compatible_gpus"]["name_patterns"]
    return any(re.search(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])", lowered) for p in patterns)


def mib(value: float) -> str:
    return f"{value / 1024:.1f} GiB" if value >= 1024 else f"{value:.0f} MiB"
