"""The GPU architectures of the CUDA kernels each distribution's shared objects carry (cupy, jaxlib's CUDA
plug-ins, flash-attn, xformers, a project's own extension): the SM architecture of every cubin and the virtual
architecture of every PTX in their fat binaries (``probes.fatbin``). ``check`` judges the host's GPUs by them, as
it judges torch by its arch list: a wheel built without kernels for a GPU fails at run time with "no kernel image
is available for execution on the device"."""

from __future__ import annotations

from collections.abc import Mapping

from .fatbin import Budget, sort_arches
from .hostlibs import Loader
from .interface import Probe, ProbeContext, ProbeResult
from .system import shared_objects_of


def probe_kernels(
    shared_objects: Mapping[str, tuple[str, ...]], loader: Loader
) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Distribution name -> the architectures of its kernels (those with any), as ``loader`` read its files (the
    system probe read them first: each file is read once, and a capture cache keeps what was read), and a warning
    where the capture's budget of kernel headers ran out before every file was read."""
    out: dict[str, tuple[str, ...]] = {}
    for dist in sorted(shared_objects):
        found: set[str] = set()
        for path in shared_objects[dist]:
            info = loader.dynamic(path)
            if info is not None:
                found.update(info.kernels)
        if found:
            out[dist] = sort_arches(found)
    warnings = []
    if loader.kernel_budget.left <= 0:
        warnings.append(
            f"kernels: more than {Budget.MAX_ENVIRONMENT} CUDA kernel headers in the environment's shared objects: "
            "the architectures of the files read first are recorded"
        )
    return out, warnings


class KernelsProbe(Probe[dict[str, tuple[str, ...]]]):
    name = "kernels"

    def run(self, ctx: ProbeContext) -> ProbeResult[dict[str, tuple[str, ...]]]:
        found, warnings = probe_kernels(shared_objects_of(ctx), ctx.loader)
        return ProbeResult(found, tuple(warnings))

    def fallback(self, ctx: ProbeContext) -> dict[str, tuple[str, ...]]:
        return {}


PROBE = KernelsProbe()
