"""Load CUDA libraries with ctypes and ask each its version; print the raw integers as JSON.

Run as a script in a subprocess (a library can hang or crash its loader). Arguments: COMPONENT=PATH pairs.
None of these calls needs a GPU or a driver. This file imports nothing of envsnap.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from typing import Any

# Run as a script, sys.path[0] is this folder, whose modules (cuda.py, python.py ...) would shadow real ones.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]


def version(component: str, path: str) -> Any:
    lib = ctypes.CDLL(path)
    value = ctypes.c_int()
    if component == "runtime":
        status = lib.cudaRuntimeGetVersion(ctypes.byref(value))
    elif component == "cudnn":
        lib.cudnnGetVersion.restype = ctypes.c_size_t
        return int(lib.cudnnGetVersion())
    elif component == "nccl":
        status = lib.ncclGetVersion(ctypes.byref(value))
    elif component == "cublas":
        parts = []
        for prop in (0, 1, 2):  # MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
            status = lib.cublasGetProperty(prop, ctypes.byref(value))
            if status != 0:
                raise RuntimeError(f"cublasGetProperty returned {status}")
            parts.append(value.value)
        return parts
    else:
        raise ValueError(f"unknown component {component}")
    if status != 0:
        raise RuntimeError(f"returned status {status}")
    return value.value


def main(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        component, _, path = pair.partition("=")
        try:
            out[path] = {"value": version(component, path)}
        except Exception as exc:
            out[path] = {"error": str(exc)}
    return out


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv[1:])) + "\n")
