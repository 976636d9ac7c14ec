"""The NVIDIA driver and its GPUs, read through NVML (``pynvml`` from nvidia-ml-py).

No driver is a normal state: whether ``libnvidia-ml.so.1`` exists is decided from the loader's search path
and the ld.so cache without loading anything (well under a millisecond), and only then is NVML asked, in
a subprocess with a timeout, because a wedged driver can block ``nvmlInit`` forever. What NVML answers is
parsed apart from how it was obtained, so the parser is tested on plain data.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import _runner, grammar
from .._defaults import GPU_TIMEOUT, NVML_HUNG
from ..model import Gpu, Nvidia
from .interface import Probe, ProbeContext, ProbeResult, Runner
from .nvmllib import DEFAULT_DIRS, EXTRA_DIRS
from .nvmllib import LD_CACHE as LD_CACHE
from .nvmllib import LIBRARY as LIBRARY
from .nvmllib import find_library as find_library

DEFAULT_TIMEOUT = GPU_TIMEOUT
WORKER = Path(__file__).with_name("_nvml_worker.py")
_EXTRA_DIRS, _DEFAULT_DIRS = EXTRA_DIRS, DEFAULT_DIRS  # the folders find_library looks in (nvmllib.py)
_NVML_ERROR_LIBRARY_NOT_FOUND = 12
# GPU and MIG UUIDs as CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES name devices (MIG-GPU-<uuid>/1/0 of old).
_DEVICE_UUID = re.compile(r"\b(MIG-GPU|MIG|GPU)-[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def format_cuda_version(code: int | None) -> str:
    """NVML's and CUDA's 1000*major + 10*minor integer as "major.minor" (12040 -> "12.4")."""
    if not code or code < 1000:
        return ""
    return f"{code // 1000}.{(code % 1000) // 10}"


def _kept(value: object, form: Callable[[str], bool]) -> str:
    """NVML's UUID or serial as the lock records it: only in NVML's form (``grammar.is_gpu_uuid``, ``is_gpu_serial``),
    else "" as where NVML does not say (a lock holding anything else would be refused by every command)."""
    text = str(value or "").strip()
    return text if form(text) else ""


def _mig_kept(values: object) -> list[str]:
    """The MIG device UUIDs of NVML's answer in NVML's form (``MIG-<uuid>``, or ``MIG-GPU-<uuid>/gi/ci`` of old)."""
    kept = (_kept(v, grammar.is_gpu_uuid) for v in values) if isinstance(values, list) else ()
    return [v for v in kept if v.startswith("MIG-")]


def parse_answer(data: Mapping[str, Any], *, gpu_ids: bool = False) -> tuple[Nvidia | None, tuple[Gpu, ...]]:
    """The worker's JSON answer -> the model. None when NVML turned out not to be there after all."""
    if "fatal" in data:
        if data.get("code") == _NVML_ERROR_LIBRARY_NOT_FOUND:
            return None, ()
        return Nvidia(source="nvml", error=grammar.strip_terminal(str(data["fatal"]))), ()
    gpus = []
    for raw in data.get("gpus", ()):
        cc = raw.get("cc")
        gpus.append(
            Gpu(
                index=int(raw["index"]),
                name=str(raw.get("name", "")),
                compute_capability=f"{cc[0]}.{cc[1]}" if cc else "",
                memory_mib=int(raw.get("memory_total", 0)) // (1024 * 1024),
                uuid=_kept(raw.get("uuid"), grammar.is_gpu_uuid) if gpu_ids else "",
                serial=_kept(raw.get("serial"), grammar.is_gpu_serial) if gpu_ids else "",
                mig_uuids=tuple(_mig_kept(raw.get("mig"))) if gpu_ids else (),
            )
        )
    nvidia = Nvidia(
        driver_version=str(data.get("driver_version", "")),
        cuda_driver_version=format_cuda_version(data.get("cuda_driver_version")),
        source="nvml" if data.get("cuda_method", "v2") == "v2" else "nvml-cuda-v1",
        # What NVML or the worker's last line of stderr said, one line as shown (``grammar.is_line``): a character
        # that would show it reordered or broken is U+FFFD, so the lock loads.
        error=grammar.strip_terminal("; ".join(data.get("errors", ()))),
    )
    return nvidia, tuple(gpus)


def query_nvml(
    timeout: float,
    gpu_ids: bool,
    environ: Mapping[str, str],
    python: str = sys.executable,
    runner: Runner = _runner.run,
) -> dict[str, Any]:
    """Run the NVML worker in a subprocess; a hang, a crash or garbage becomes a ``fatal`` answer."""
    args: Sequence[str] = [python, str(WORKER), *(["--ids"] if gpu_ids else [])]
    res = runner(args, timeout=timeout, env=environ)
    if res.timed_out:
        return {"fatal": f"{NVML_HUNG} {timeout:g} s (a hung driver?)"}
    try:
        data = json.loads(res.stdout)
    except ValueError:
        data = None
    if not res.ok or not isinstance(data, dict):
        last = (res.stderr.strip().splitlines() or [f"exit status {res.returncode}"])[-1]
        return {"fatal": f"the NVML query failed: {last}"}
    return data


def probe_nvidia(
    *,
    timeout: float = DEFAULT_TIMEOUT,
    gpu_ids: bool = False,
    environ: Mapping[str, str] | None = None,
    runner: Runner = _runner.run,
) -> tuple[Nvidia | None, tuple[Gpu, ...], list[str]]:
    """The driver, the GPUs and warnings. ``(None, (), [])`` without a driver, at the cost of a file read."""
    env = os.environ if environ is None else environ
    if find_library(env) is None:
        return None, (), []
    nvidia, gpus = parse_answer(query_nvml(timeout, gpu_ids, env, runner=runner), gpu_ids=gpu_ids)
    warnings = [f"nvidia: {nvidia.error}"] if nvidia is not None and nvidia.error else []
    return nvidia, gpus, warnings


def redact_device_ids(environment: Mapping[str, str]) -> dict[str, str]:
    """Environment values with GPU/MIG UUIDs replaced by ``GPU-<uuid>``: without ``--gpu-ids`` no value may
    identify the machine, and ``CUDA_VISIBLE_DEVICES`` often names devices by UUID."""
    return {name: _DEVICE_UUID.sub(lambda m: f"{m.group(1)}-<uuid>", value) for name, value in environment.items()}


def probe(ctx: ProbeContext) -> ProbeResult[tuple[Nvidia | None, tuple[Gpu, ...]]]:
    """The driver and its GPUs; ``(None, ())`` without a driver. Runs in the background: NVML can take
    seconds to initialise GPUs."""
    opts = ctx.options
    nvidia, gpus, warnings = probe_nvidia(
        timeout=opts.gpu_timeout, gpu_ids=opts.gpu_ids, environ=ctx.environ, runner=ctx.runner
    )
    return ProbeResult((nvidia, gpus), tuple(warnings))


class NvidiaProbe(Probe[tuple[Nvidia | None, tuple[Gpu, ...]]]):
    name = "nvidia"
    background = True  # NVML can take seconds to initialise GPUs, or hang until its timeout

    def run(self, ctx: ProbeContext) -> ProbeResult[tuple[Nvidia | None, tuple[Gpu, ...]]]:
        return probe(ctx)

    def fallback(self, ctx: ProbeContext) -> tuple[Nvidia | None, tuple[Gpu, ...]]:
        return None, ()


PROBE = NvidiaProbe()
