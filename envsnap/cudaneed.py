"""What CUDA a locked environment needs: the one reading that the compatibility check and the Dockerfile spec's
base-image choice share (a system toolkit nothing in the environment uses does not make a lock a GPU lock);
and how many GPUs CUDA_VISIBLE_DEVICES leaves CUDA, which the check and a paper's appendix both say.
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from ._frozen import frozen
from .model import Cuda, PythonPackage, Snapshot
from .platforms import major_minor, numbers


def local_cuda(version: str) -> str:
    """The CUDA variant in a local version label: ``2.7.1+cu128`` -> ``"12.8"``; ``""`` when none."""
    if "+" not in version:  # no local label (PEP 440 writes one only after "+"): no ``Version`` to build
        return ""
    try:
        local = Version(version).local or ""
    except InvalidVersion:
        return ""
    m = re.fullmatch(r"cu(\d+)(\d)", local.split(".")[0])
    return f"{int(m.group(1))}.{m.group(2)}" if m else ""


@frozen
class CudaNeed:
    version: str  # major.minor
    evidence: str  # what in the lock says so, e.g. "torch 2.7.1+cu128"
    # The runtimes of other CUDA majors the environment carries beside this one (its CUDA 12 and CUDA 13 runtime
    # wheels, no framework): its code may load any of them, and nothing in the lock says which. ``version`` is the
    # newest, the one a driver or base image for every one of them must serve.
    others: tuple[CudaNeed, ...] = ()
    # Read from CUDA libraries alone (cuBLAS, cuDNN, NCCL: wheels, or copies a binary of the environment loads;
    # no runtime wheel, framework or runtime copy). ``version`` is "" where nothing in the lock says which CUDA
    # they are built for (a system libcudnn.so.9 no package names its CUDA for): a CUDA lock all the same.
    library: bool = False

    def carried(self) -> str:
        """The runtimes it stands for, as a note names them: ``nvidia-cuda-runtime 13.0.96 and ... 12.8.90``."""
        return " and ".join(n.evidence for n in (self, *self.others))

    def named(self) -> str:
        """``CUDA 12.9``, or what is known of a CUDA the lock does not record (libraries alone, no version)."""
        return f"CUDA {self.version}" if self.version else "a CUDA the lock does not record"


_CUDA_RUNTIME_PACKAGES = re.compile(r"^nvidia-cuda-runtime(-cu(\d+))?$")
_CUDA_LIBRARY_PACKAGES = re.compile(r"^nvidia-(cublas|cudnn|nccl)(?:-cu(\d+))?$")
# NVIDIA's CUDA libraries as wheels (``nvidia-cufft-cu12``, CUDA 13's ``nvidia-cufft``): built for every GPU their
# CUDA supports, and not all of their kernels are in ``.nv_fatbin`` (cuFFT 11.4's section holds one sm_52 cubin, its
# 24,454 other fat binaries sit in ``.ldata``, loaded at run time). Their CUDA is judged, not their fat binaries.
_NVIDIA_CUDA_LIBRARY = re.compile(
    r"^nvidia-(cublas|cuda-[a-z0-9-]+|cudnn|cudss|cufft|cufile|curand|cusolver|cusparse|cusparselt|nccl|npp|nvjitlink"
    r"|nvjpeg|nvshmem|nvtx|nvcomp)(-cu\d+)?$"
)
_CONDA_CUDA_PACKAGES = ("cuda-version", "cuda-cudart", "cudatoolkit", "cuda-runtime")
_LOADED_LIBRARIES = (("cublas", "cuBLAS"), ("cudnn", "cuDNN"), ("nccl", "NCCL"))
# NVIDIA's system packages name the CUDA they are built for: ``libcudnn9-cuda-12``, ``libnccl2 2.18.3-1+cuda12.2``.
_PACKAGE_NAME_CUDA = re.compile(r"-cuda-?(\d+)$")
_PACKAGE_VERSION_CUDA = re.compile(r"\+cuda(\d+)\.(\d+)")
# A copy inside a versioned toolkit (``/usr/local/cuda-12.4/lib64``) or NVIDIA's archive for a CUDA major
# (``cudnn-linux-x86_64-9.1.0.70_cuda12-archive/lib``).
_PATH_CUDA = re.compile(r"/cuda-(\d+)\.(\d+)/|_cuda(\d+)-archive/")
_SOURCE_WORDS = {"system": "the system", "cuda_home": "the CUDA toolkit", "conda": "conda", "pip": "pip wheels"}


def judged_by_kernels(name: str) -> bool:
    """Whether ``check`` judges a GPU by the CUDA kernels captured in the distribution ``name``'s shared objects
    (``cuda_kernels``): every one but torch, whose build is judged by its arch list or its release set, and NVIDIA's
    CUDA library wheels, by their CUDA."""
    return name != "torch" and not _NVIDIA_CUDA_LIBRARY.match(name)


def cuda_need(lock: Snapshot) -> CudaNeed | None:
    """The CUDA runtime the locked environment was built for, or None for a CPU-only lock.

    Something inside the environment must use CUDA: a framework build, a ``+cuXYZ`` label, CUDA runtime wheels
    (else cuBLAS, cuDNN or NCCL wheels, for the CUDA their ``-cuNN`` suffix names) or conda packages, or a
    runtime copy the capture selected because a binary of the environment loads it (``runtime_version`` is
    recorded only for that copy, whatever its source: an extension linking ``/usr/local/cuda`` through its RPATH
    needs it as much as a pip wheel). A system libcudart the capture
    merely found is recorded as present, not selected, and does not make a CPU-only lock need a GPU.
    The selected runtime copy, when recorded, is the most precise version.
    """
    evidence = _environment_evidence(lock)
    cuda = lock.cuda
    if cuda is not None and cuda.runtime_version:
        source = f" ({cuda.runtime_source})" if cuda.runtime_source else ""
        return CudaNeed(major_minor(cuda.runtime_version), f"CUDA runtime {cuda.runtime_version}{source}")
    return evidence


def _wheel_version(lock: Snapshot, pkg: PythonPackage) -> str:
    """A CUDA wheel's version: the package's, or the newer one ``[cuda].copies`` records for that wheel where the
    two differ. A capture writes both from the wheel's metadata; an edited lock (``version = "12"`` beside a copy
    of 12.9.79) is judged by the newer CUDA it records, whichever table ``check``, ``show`` or ``audit`` reads."""
    recorded = [
        c.version
        for c in (lock.cuda.copies if lock.cuda is not None else ())
        if c.source == "pip" and c.location == pkg.name and numbers(c.version)
    ]
    return max((pkg.version, *recorded), key=numbers)


def _library_wheel(name: str, version: str) -> CudaNeed | None:
    """The CUDA an ``nvidia-cublas`` / ``nvidia-cudnn`` / ``nvidia-nccl`` wheel is built for: its ``-cuNN``
    suffix names the major, and cuBLAS (whose release follows CUDA's from 12 on) the minor too."""
    m = _CUDA_LIBRARY_PACKAGES.match(name)
    if m is None:
        return None
    parts = numbers(version)
    suffix = m.group(2) or ""
    if m.group(1) == "cublas" and parts and parts[0] >= 12 and (not suffix or int(suffix) == parts[0]):
        return CudaNeed(major_minor(version), f"{name} {version}", library=True)
    return CudaNeed(str(int(suffix)), f"{name} {version}", library=True) if suffix else None


def _environment_evidence(lock: Snapshot) -> CudaNeed | None:
    for name, fw in sorted(lock.frameworks.items()):
        if fw.cuda_version:
            return CudaNeed(major_minor(fw.cuda_version), f"{name} {fw.version} built for CUDA {fw.cuda_version}")
    for pkg in lock.python.packages:
        found = local_cuda(pkg.version)
        if found:
            return CudaNeed(found, f"{pkg.name} {pkg.version}")
    wheels = [
        CudaNeed(major_minor(version), f"{pkg.name} {version}")
        for pkg in lock.python.packages
        if _CUDA_RUNTIME_PACKAGES.match(pkg.name) and major_minor(version := _wheel_version(lock, pkg))
    ]
    if wheels:
        newest = max(wheels, key=lambda w: numbers(w.version))
        major = numbers(newest.version)[0]
        others = sorted((w for w in wheels if numbers(w.version)[0] != major), key=lambda w: numbers(w.version))
        return CudaNeed(newest.version, newest.evidence, tuple(reversed(others)))
    # The version only of a CUDA library's wheel (a lock of 150 distributions holds none or a few; reading every
    # package's version was most of this function, which a check asks some ten times of one lock).
    libraries = [
        need
        for pkg in lock.python.packages
        if _CUDA_LIBRARY_PACKAGES.match(pkg.name) and (need := _library_wheel(pkg.name, _wheel_version(lock, pkg)))
    ]
    if libraries:
        # CUDA libraries installed without a runtime wheel (``pip install nvidia-cublas-cu12``): their code runs on
        # a GPU as the runtime's does, for the CUDA their wheel is built for.
        return max(libraries, key=lambda w: numbers(w.version))
    if lock.conda is not None:
        for wanted in _CONDA_CUDA_PACKAGES:
            for cpkg in lock.conda.packages:
                if cpkg.name == wanted and major_minor(cpkg.version):
                    return CudaNeed(major_minor(cpkg.version), f"conda {cpkg.name} {cpkg.version}")
    return _loaded_libraries(lock)


def _loaded_libraries(lock: Snapshot) -> CudaNeed | None:
    """cuBLAS, cuDNN or NCCL a binary of the environment loads, with no runtime, framework or wheel to name the
    CUDA: a system ``libcudnn.so.9`` an extension links. They run on a GPU as the runtime does; the CUDA they are
    built for is read where the lock says it (cuBLAS's own release, the system package that owns the copy, the
    toolkit it sits in), else it is not known (``version`` ""), which the rules say rather than call the lock
    CPU-only."""
    cuda = lock.cuda
    if cuda is None:
        return None
    known: list[CudaNeed] = []
    loaded: list[tuple[str, str]] = []
    for component, label in _LOADED_LIBRARIES:
        version = getattr(cuda, f"{component}_version")
        if not version:
            continue
        source = getattr(cuda, f"{component}_source")
        copy = next((c for c in cuda.copies if c.selected and c.component == component), None)
        location = copy.location if copy is not None else ""
        loaded.append((f"{label} {version}", source))
        if component == "cublas" and numbers(version) and numbers(version)[0] >= 11:
            # cuBLAS's release follows CUDA's (its minor too from 12 on).
            built = major_minor(version) if numbers(version)[0] >= 12 else str(numbers(version)[0])
            known.append(CudaNeed(built, f"{label} {version}", library=True))
            continue
        built, why = _built_for(lock, location)
        if built:
            known.append(CudaNeed(built, f"{label} {version} {why}", library=True))
    if known:
        return max(known, key=lambda w: numbers(w.version))
    if not loaded:
        return None
    names = " and ".join(name for name, _ in loaded)
    sources = " and ".join(dict.fromkeys(_SOURCE_WORDS.get(source, "the system") for _, source in loaded))
    return CudaNeed("", f"{names} loaded from {sources}", library=True)


def _built_for(lock: Snapshot, location: str) -> tuple[str, str]:
    """The CUDA (``"12"``, ``"12.2"``) a library copy at ``location`` is built for, and what says so; ``""``."""
    if not location:
        return "", ""
    owner = next((lib.package for lib in lock.system.libraries if lib.path == location and lib.package), "")
    if owner:
        name = owner.split(":")[0]
        package = next((p for p in lock.system.packages if p.name == name), None)
        m = _PACKAGE_VERSION_CUDA.search(package.version) if package is not None else None
        if package is not None and m:
            return f"{int(m.group(1))}.{m.group(2)}", f"from system package {package.name} {package.version}"
        m = _PACKAGE_NAME_CUDA.search(name)
        if m:
            return str(int(m.group(1))), f"from system package {name}"
    m = _PATH_CUDA.search(location)
    if m:
        built = f"{int(m.group(1))}.{m.group(2)}" if m.group(1) else str(int(m.group(3)))
        return built, f"at {location}"
    cuda = lock.cuda
    toolkit = cuda.toolkit_path.rstrip("/") if cuda is not None else ""
    if cuda is not None and toolkit and major_minor(cuda.toolkit_version) and location.startswith(toolkit + "/"):
        return major_minor(cuda.toolkit_version), f"in the CUDA {cuda.toolkit_version} toolkit ({cuda.toolkit_path})"
    return "", ""


def library_versions(cuda: Cuda) -> str:
    """The cuDNN, NCCL and cuBLAS the lock records loaded (``cuDNN 9.8.0, NCCL 2.26.2``), "" for none: what ``show``'s
    CUDA row and the appendix's name beside a CUDA build with no runtime recorded (the appendix named none)."""
    found = (("cuDNN", cuda.cudnn_version), ("NCCL", cuda.nccl_version), ("cuBLAS", cuda.cublas_version))
    return ", ".join(f"{label} {version}" for label, version in found if version)


def visible_note(s: Snapshot) -> str:
    """How many of the lock's GPUs the captured CUDA_VISIBLE_DEVICES (the lock's [environment]; UUIDs are
    redacted, one GPU each) left the run, where it hid some (``CUDA_VISIBLE_DEVICES=1,0 left the run 2 of them``),
    else "": the words ``show`` and the appendix both say."""
    setting = s.environment.get("CUDA_VISIBLE_DEVICES")
    count = len(s.hardware.gpus)
    seen = cuda_visible(setting, count)
    return f"CUDA_VISIBLE_DEVICES={setting} left the run {seen} of them" if setting is not None and seen < count else ""


def cuda_visible(setting: str | None, gpus: int) -> int:
    """How many of the ``gpus`` NVML lists CUDA enumerates under ``CUDA_VISIBLE_DEVICES=setting`` (None: unset,
    all of them). CUDA reads the list up to its first entry that names no device: an index past the last GPU,
    or one that is no number (``""``, ``-1`` and ``NoDevFiles`` hide every GPU); an index is read as strtoul
    does (``1gpu`` is 1), and an entry given twice hides every GPU (torch.cuda's reading of the variable). A
    list of GPU (or MIG) UUIDs counts one device an entry up to the first of another kind: the check asks NVML
    for no UUID to match them with."""
    if setting is None:
        return gpus
    seen: list[str] = []
    prefix = setting[:4] if setting.startswith(("GPU-", "MIG-")) else ""
    for raw in setting.split(","):
        entry = raw.strip()
        if prefix:
            if not entry.startswith(prefix):
                break
        else:
            digits = re.match(r"\d+", entry)
            if digits is None or int(digits.group()) >= gpus:
                break
            entry = str(int(digits.group()))
        if entry in seen:
            return 0
        seen.append(entry)
    return len(seen)
