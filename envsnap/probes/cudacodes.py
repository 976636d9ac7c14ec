"""The version codes the CUDA libraries answer with (``cudaRuntimeGetVersion``, ``cudnnGetVersion``,
``ncclGetVersion``, cuBLAS's parts), as dotted versions. Shared by the CUDA and the framework probes.
"""

from __future__ import annotations

from typing import Any


def decode(component: str, code: Any) -> str:
    """A version function's raw answer as a dotted version."""
    if component == "cublas" and isinstance(code, list):
        return ".".join(str(int(p)) for p in code)
    code = int(code)
    if component == "runtime":
        return f"{code // 1000}.{(code % 1000) // 10}" if code >= 1000 else ""
    if component == "cudnn":
        # cuDNN 9 changed the encoding: MAJOR*10000 + MINOR*100 + PATCH; up to 8 it was MAJOR*1000 + ...
        if code >= 10000:
            return f"{code // 10000}.{(code % 10000) // 100}.{code % 100}"
        return f"{code // 1000}.{(code % 1000) // 100}.{code % 100}"
    if component == "nccl":
        if code >= 10000:  # NCCL >= 2.9
            return f"{code // 10000}.{(code % 10000) // 100}.{code % 100}"
        return f"{code // 1000}.{(code % 1000) // 100}.{code % 100}"
    raise ValueError(f"unknown component {component}")
