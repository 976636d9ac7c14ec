"""Import one framework and print what only a live import knows, as JSON. Run in the target interpreter.

Standard library only besides the framework itself, and syntax old interpreters accept.
Argument: torch | tensorflow | jax.
"""

import json
import os
import sys
from typing import Any, Dict  # noqa: F401, UP035 - used in type comments (old interpreters)

# Run as a script, sys.path[0] is this folder, whose modules (cuda.py, python.py ...) would shadow real ones.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]


def torch_facts():
    # type: () -> Dict[str, Any]
    import torch  # type: ignore

    cuda = getattr(torch.version, "cuda", None) or ""
    # get_arch_list() answers [] when no GPU is usable; the flags the build was compiled with do not depend
    # on the machine, so ask for them directly where this build has them.
    flags = getattr(torch._C, "_cuda_getArchFlags", None)
    arch = (flags() or "").split() if flags is not None else torch.cuda.get_arch_list()
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "version": torch.__version__,
        "cuda_version": cuda,
        "rocm_version": getattr(torch.version, "hip", None) or "",
        "git_version": getattr(torch.version, "git_version", "") or "",
        "cudnn_code": cudnn,
        "arch_list": list(arch),
        "cuda_available": bool(torch.cuda.is_available()),
    }


def tensorflow_facts():
    # type: () -> Dict[str, Any]
    import tensorflow as tf  # type: ignore

    info = dict(tf.sysconfig.get_build_info())
    return {
        "version": tf.__version__,
        "cuda_version": str(info.get("cuda_version", "") or ""),
        "cudnn_version": str(info.get("cudnn_version", "") or ""),
        "rocm_version": str(info.get("rocm_version", "") or ""),
        "arch_list": list(info.get("cuda_compute_capabilities", []) or []),
        "cuda_available": bool(tf.config.list_physical_devices("GPU")),
    }


def jax_facts():
    # type: () -> Dict[str, Any]
    import jax  # type: ignore

    return {
        "version": jax.__version__,
        "cuda_available": any(d.platform == "gpu" for d in jax.devices()),
    }


if __name__ == "__main__":
    facts = {"torch": torch_facts, "tensorflow": tensorflow_facts, "jax": jax_facts}[sys.argv[1]]()
    sys.stdout.write("\n" + json.dumps(facts) + "\n")
