"""Ask NVML for the driver and the GPUs; print the answer as JSON. Run as a script, in a subprocess.

A subprocess because a wedged driver can block ``nvmlInit`` forever and a broken one can crash the
process: the parent gives up after a timeout and records an error, and the rest of the capture completes.
This file imports nothing of envsnap so the subprocess starts in a few tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

# Run as a script, sys.path[0] is this folder, whose modules (cuda.py, python.py ...) would shadow real ones.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def mig_uuids(pynvml: Any, handle: Any, where: str, call: Any, errors: list[str]) -> list[str]:
    """The UUIDs of a GPU's MIG devices (none where MIG is off or not supported): which GPU a MIG device named
    by CUDA_VISIBLE_DEVICES is on. A slot with no device answers NOT_FOUND, which is no error."""
    mode = call(f"{where}: nvmlDeviceGetMigMode", pynvml.nvmlDeviceGetMigMode, handle)
    if not mode or mode[0] != pynvml.NVML_DEVICE_MIG_ENABLE:
        return []
    out = []
    slots = call(f"{where}: nvmlDeviceGetMaxMigDeviceCount", pynvml.nvmlDeviceGetMaxMigDeviceCount, handle) or 0
    for slot in range(slots):
        try:
            mig = pynvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
        except pynvml.NVMLError as exc:
            if exc.value != pynvml.NVML_ERROR_NOT_FOUND:
                errors.append(f"{where}: nvmlDeviceGetMigDeviceHandleByIndex: {exc}")
                break
            continue
        uuid = call(f"{where}: MIG device {slot}: nvmlDeviceGetUUID", pynvml.nvmlDeviceGetUUID, mig)
        if uuid:
            out.append(_text(uuid))
    return out


LIBRARY = "libnvidia-ml.so.1"


def _load_error() -> str:
    """Why the loader cannot load NVML, where pynvml says only "NVML Shared Library Not Found": "" where there is
    no such file (no driver); else the loader's reason (``file too short``, ``wrong ELF class: ELFCLASS32``), without
    the folder it was found in (a path of the machine, which a lock does not name here)."""
    import ctypes

    try:
        ctypes.CDLL(LIBRARY)
    except OSError as exc:
        text = str(exc)
        if text.startswith(f"{LIBRARY}:") and "No such file or directory" in text:
            return ""  # no such file where the loader looks (one an old ld.so.cache names included)
        where, sep, reason = text.partition(": ")
        return reason if sep and where.endswith(LIBRARY) else text
    return ""


def query(with_ids: bool) -> dict[str, Any]:
    try:
        import pynvml  # type: ignore[import-untyped]
    except ImportError as exc:
        return {"fatal": f"the pynvml module (nvidia-ml-py) is not importable: {exc}"}
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        if exc.value == pynvml.NVML_ERROR_LIBRARY_NOT_FOUND:
            broken = _load_error()
            if broken:  # there, and not loadable: a broken driver, not an absent one
                return {"fatal": f"nvmlInit: {LIBRARY} cannot be loaded: {broken}"}
        return {"fatal": f"nvmlInit: {exc}", "code": exc.value}
    errors: list[str] = []
    out: dict[str, Any] = {"errors": errors, "gpus": []}

    def call(what: str, fn: Any, *args: Any) -> Any:
        """fn(*args), or None when NVML cannot answer; only real failures are errors."""
        try:
            return fn(*args)
        except pynvml.NVMLError as exc:
            if exc.value not in (pynvml.NVML_ERROR_NOT_SUPPORTED, pynvml.NVML_ERROR_FUNCTION_NOT_FOUND):
                errors.append(f"{what}: {exc}")
            return None

    try:
        out["driver_version"] = _text(call("nvmlSystemGetDriverVersion", pynvml.nvmlSystemGetDriverVersion) or "")
        # _v2 asks libcuda itself; v1 (old drivers only have v1) may answer a guess when libcuda is missing.
        out["cuda_method"] = "v2"
        try:
            out["cuda_driver_version"] = pynvml.nvmlSystemGetCudaDriverVersion_v2()
        except pynvml.NVMLError as exc:
            if exc.value != pynvml.NVML_ERROR_FUNCTION_NOT_FOUND:
                errors.append(f"nvmlSystemGetCudaDriverVersion_v2: {exc}")
            out["cuda_method"] = "v1"
            out["cuda_driver_version"] = call("nvmlSystemGetCudaDriverVersion", pynvml.nvmlSystemGetCudaDriverVersion)
        count = call("nvmlDeviceGetCount", pynvml.nvmlDeviceGetCount) or 0
        for index in range(count):
            where = f"GPU {index}"
            handle = call(f"{where}: nvmlDeviceGetHandleByIndex", pynvml.nvmlDeviceGetHandleByIndex, index)
            gpu: dict[str, Any] = {"index": index}
            out["gpus"].append(gpu)
            if handle is None:
                continue
            gpu["name"] = _text(call(f"{where}: nvmlDeviceGetName", pynvml.nvmlDeviceGetName, handle) or "")
            gpu["cc"] = call(
                f"{where}: nvmlDeviceGetCudaComputeCapability",
                pynvml.nvmlDeviceGetCudaComputeCapability,
                handle,
            )
            memory = call(f"{where}: nvmlDeviceGetMemoryInfo", pynvml.nvmlDeviceGetMemoryInfo, handle)
            gpu["memory_total"] = int(memory.total) if memory is not None else 0
            if with_ids:
                gpu["uuid"] = _text(call(f"{where}: nvmlDeviceGetUUID", pynvml.nvmlDeviceGetUUID, handle) or "")
                gpu["serial"] = _text(call(f"{where}: nvmlDeviceGetSerial", pynvml.nvmlDeviceGetSerial, handle) or "")
                gpu["mig"] = mig_uuids(pynvml, handle, where, call, errors)
    finally:
        with contextlib.suppress(pynvml.NVMLError):
            pynvml.nvmlShutdown()
    return out


if __name__ == "__main__":
    sys.stdout.write(json.dumps(query("--ids" in sys.argv[1:])) + "\n")
