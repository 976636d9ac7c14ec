"""The GPU architectures of the CUDA kernels each distribution's shared objects carry (cupy, jaxlib's CUDA
plug-ins, flash-attn, xformers, a project's own extension): the SM architecture of every cubin and the virtual
architecture of every PTX in their fat binaries (``probes.fatbin``). ``check`` judges the host's GPUs by them, as
it judges torch by its arch list: a wheel built without kernels for a GPU fails at run time with "no kernel image
is available for execution on the device"."""

from __future__ import annotations

import os
from collections.abc import Mapping

from .._frozen import frozen
from ..cudaneed import judged_by_kernels
from ..report import first_few
from .fatbin import MAX_ENTRIES, Budget, sort_arches
from .hostlibs import Loader
from .interface import Probe, ProbeContext, ProbeResult
from .system import shared_objects_of

# The architectures, whether a limit cut the reading of some file short, and the newest PTX ISA version ("8.8").
Kernels = tuple[tuple[str, ...], bool, str]
# The library that holds torch's own kernels (``libtorch_cuda.so``; torch 1.x split it into ``libtorch_cuda_cu.so``
# and ``libtorch_cuda_cpp.so``). Its wheel's other libraries carry kernels of their own: libtorch_nvshmem's
# compute_120 PTX is no PTX of torch's operators.
_TORCH_CUDA = "libtorch_cuda"


@frozen
class Found:
    """What the probe found: each distribution's kernels (those with any), and torch's own, the kernels of its
    ``libtorch_cuda`` libraries, read whole (() where they were not, or it has none)."""

    packages: dict[str, Kernels]
    torch_cuda: tuple[str, ...] = ()
    # A limit or a fault cut the reading of a ``libtorch_cuda`` short: ``torch_cuda`` is (), and torch is judged by
    # its arch list or its release set instead.
    torch_cuda_partial: bool = False


def probe_kernels(shared_objects: Mapping[str, tuple[str, ...]], loader: Loader) -> tuple[Found, list[str]]:
    """Distribution name -> the architectures of its kernels, and whether a limit on the headers read cut the reading
    of one of its files short (those with either), as ``loader`` read its files (the system probe read them first:
    each file is read once, and a capture cache keeps what was read), with torch's own kernels (``Found``), and a
    warning naming the distributions cut short."""
    out: dict[str, Kernels] = {}
    own: set[str] = set()
    own_cut = False
    for dist in sorted(shared_objects):
        found: set[str] = set()
        cut = False
        isa = ""
        for path in shared_objects[dist]:
            info = loader.dynamic(path)
            if info is not None:
                found.update(info.kernels)
                cut = cut or info.kernels_cut
                isa = max(isa, info.ptx_isa, key=_isa_order)
                if dist == "torch" and os.path.basename(path).startswith(_TORCH_CUDA):
                    own.update(info.kernels)
                    own_cut = own_cut or info.kernels_cut
        if found or cut:
            out[dist] = (sort_arches(found), cut, isa)
    warnings = []
    # Only where check would judge a GPU by the list: a partial one of torch or cuFFT changes no verdict.
    partial = [dist for dist, (_, cut, _) in out.items() if cut and judged_by_kernels(dist)]
    if partial:
        warnings.append(
            f"kernels: the CUDA kernel headers of {first_few(partial, 3)} were read only in part (at most "
            f"{MAX_ENTRIES} a file, {Budget.MAX_ENVIRONMENT} a capture; read-only data of a CUDA library not all "
            "looked through for cubins; a fat binary that cannot be read whole; "
            "large-model data sections that may hold more; a CUDA library whose sections or fat binary wrappers "
            "cannot be followed): recorded as partial (cuda_kernels_partial), "
            "check does not fail a GPU for lack of their kernels"
        )
    if own_cut:
        # One warning however many of its libtorch_cuda files were cut: torch is not judged by what they hold.
        warnings.append(
            f"kernels: the CUDA kernel headers of torch's libtorch_cuda were read only in part (at most {MAX_ENTRIES} "
            f"a file, {Budget.MAX_ENVIRONMENT} a capture, read-only data not all looked through for cubins, or a fat "
            "binary that cannot be read whole): its kernels are "
            "not recorded (frameworks.torch.cuda_kernels_partial), and check and verify judge the build by its --deep "
            "arch list or its variant's release set"
        )
    return Found(out, () if own_cut else sort_arches(own), own_cut), warnings


def _isa_order(isa: str) -> tuple[int, ...]:
    return tuple(int(n) for n in isa.split(".")) if isa else ()


NONE = Found({})


class KernelsProbe(Probe[Found]):
    name = "kernels"

    def run(self, ctx: ProbeContext) -> ProbeResult[Found]:
        found, warnings = probe_kernels(shared_objects_of(ctx), ctx.loader)
        return ProbeResult(found, tuple(warnings))

    def fallback(self, ctx: ProbeContext) -> Found:
        return NONE


PROBE = KernelsProbe()
