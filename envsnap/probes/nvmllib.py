"""Where the loader would find NVML (``libnvidia-ml.so.1``), decided without loading it: a module of its own, with
nothing but ``os`` imported, so that ``envsnap run``'s GPU watch can ask while the command starts without
importing the model (``probes/nvidia.py`` imports this rule from here)."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

LIBRARY = "libnvidia-ml.so.1"
LD_CACHE = "/etc/ld.so.cache"
# Where drivers put the library when the ld.so cache does not list it (WSL, NVIDIA's container toolkit).
EXTRA_DIRS = ("/usr/lib/wsl/lib", "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib")
DEFAULT_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64")


def find_library(environ: Mapping[str, str], ld_cache: str = LD_CACHE) -> str | None:
    """Where the loader would find NVML: a path, ``"ld.so.cache"``, or None when there is no driver."""
    for directory in environ.get("LD_LIBRARY_PATH", "").split(":"):
        if directory and os.path.exists(os.path.join(directory, LIBRARY)):
            return os.path.join(directory, LIBRARY)
    try:
        with open(ld_cache, "rb") as fh:
            if LIBRARY.encode() + b"\0" in fh.read():
                return "ld.so.cache"
    except OSError:
        pass
    multiarch = f"{os.uname().machine}-linux-gnu"
    for directory in (*EXTRA_DIRS, f"/lib/{multiarch}", f"/usr/lib/{multiarch}", *DEFAULT_DIRS):
        if os.path.exists(os.path.join(directory, LIBRARY)):
            return os.path.join(directory, LIBRARY)
    return None
