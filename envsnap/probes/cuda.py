"""The CUDA libraries around an environment: runtime, cuDNN, NCCL and cuBLAS, every copy and where it is from.

Copies come from four places: pip ``nvidia-*`` wheels in the environment (``nvidia/<component>/lib`` and
the CUDA 13 ``nvidia/cu13/lib`` layout), conda packages (``conda-meta``), libraries the dynamic loader finds
(``LD_LIBRARY_PATH``, the ld.so cache, the default directories) and the toolkit in ``CUDA_HOME`` /
``/usr/local/cuda``. Versions are read without loading anything where possible (wheel metadata, conda
records, ``version.json``, a toolkit's ``dist-info``, the library's file name, headers); only copies none
of those describe are loaded, with ctypes, in one subprocess with a timeout. Never from ``nvidia-smi``,
never by importing a framework.

Every copy found is recorded; only the copy the environment loads is marked ``selected``, and only it gives
``runtime_version`` / ``runtime_source`` (and cuDNN's, NCCL's, cuBLAS's): a copy a binary of the environment
resolves to (its DT_NEEDED names through the loader's rules, ``hostlibs.loaded_files``), a framework's own
bundled copy or the ``nvidia-*`` wheels a pip-installed framework preloads, or, for a framework built for CUDA
(which opens its libraries by soname), what the loader finds for its CUDA major. A toolkit that nothing loads
(``/usr/local/cuda`` beside a CPU-only torch) is recorded as present, not selected.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from .. import _runner
from .._control import strip_terminal
from .._frozen import frozen
from .._privacy import PathRedactor
from ..model import Cuda, CudaComponent, CudaLibrary, CudaMethod, CudaSource, CudaSourceOrNone
from .cudacodes import decode
from .interface import Probe, ProbeContext, ProbeResult, RawPackage

WORKER = Path(__file__).with_name("_cuda_worker.py")
CTYPES_TIMEOUT = 30.0
DEFAULT_TOOLKIT = "/usr/local/cuda"
_DEFAULT_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64")
# Distributions that load the pip NVIDIA wheels when they were themselves installed by pip.
PIP_FRAMEWORKS = frozenset(
    {
        "torch",
        "tensorflow",
        "tensorflow-cpu",
        "tf-nightly",
        "jax",
        "jaxlib",
        "cupy-cuda12x",
        "cupy-cuda11x",
        "paddlepaddle-gpu",
    }
)
_PIP_WHEEL = re.compile(r"^nvidia-(cuda-runtime|cudnn|nccl|cublas)(?:-cu(\d+))?$")
# A library a framework wheel carries itself (older torch and jaxlib wheels), auditwheel-renamed or not:
# libcudart-9335f6a2.so.11.0, libcudnn.so.8.
_BUNDLED = re.compile(r"^(libcudart|libcudnn|libnccl|libcublas)(?:-[0-9a-f]{8})?\.so(?:\.\d+)*$")


@frozen
class Component:
    name: str
    stem: str  # the library's file name up to ".so"
    sonames: tuple[str, ...]  # newest first
    conda: tuple[str, ...]  # conda package names that carry it
    version_json: str  # key in a toolkit's version.json ("" when the toolkit does not ship it)
    dist_info: str  # normalised name of the toolkit dist-info that carries it
    header: str


COMPONENTS: tuple[Component, ...] = (
    Component(
        "runtime",
        "libcudart",
        (
            "libcudart.so.13",
            "libcudart.so.12",
            "libcudart.so.11.0",
            "libcudart.so.10.2",
            "libcudart.so.10.1",
            "libcudart.so.10.0",
        ),
        ("cuda-cudart", "cudatoolkit", "cuda-runtime"),
        "cuda_cudart",
        "nvidia_cuda_runtime",
        "cuda_runtime_api.h",
    ),
    Component(
        "cudnn",
        "libcudnn",
        ("libcudnn.so.9", "libcudnn.so.8", "libcudnn.so.7"),
        ("cudnn",),
        "",
        "nvidia_cudnn",
        "cudnn_version.h",
    ),
    Component("nccl", "libnccl", ("libnccl.so.2",), ("nccl",), "", "nvidia_nccl", "nccl.h"),
    Component(
        "cublas",
        "libcublas",
        ("libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so.10"),
        ("libcublas",),
        "libcublas",
        "nvidia_cublas",
        "cublas_api.h",
    ),
)
_BY_NAME = {c.name: c for c in COMPONENTS}
_SOURCE_RANK = {"pip": 0, "conda": 1, "system": 2, "cuda_home": 3}


# -------------------------------------------------------------------------------------- version codes


_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+(\S+)", re.MULTILINE)


def parse_header(component: str, text: str) -> str:
    """The version a header declares ("" when it declares none)."""
    defines = dict(_DEFINE.findall(text))

    def number(name: str) -> int | None:
        value = defines.get(name, "")
        return int(value) if value.isdigit() else None

    if component == "runtime":
        code = number("CUDART_VERSION")
        return decode("runtime", code) if code else ""
    keys = {
        "cudnn": ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL"),
        "nccl": ("NCCL_MAJOR", "NCCL_MINOR", "NCCL_PATCH"),
        "cublas": ("CUBLAS_VER_MAJOR", "CUBLAS_VER_MINOR", "CUBLAS_VER_PATCH"),
    }[component]
    parts = [number(k) for k in keys]
    if any(p is None for p in parts):
        return ""
    return ".".join(str(p) for p in parts)


def version_from_filename(stem: str, path: str) -> str:
    """``libcudart.so.12.0.146`` -> "12.0.146": distributions name the real file after the full version.

    At least three parts: two can be a soname (``libcudart.so.11.0`` is every CUDA 11 runtime)."""
    name = re.sub(r"-[0-9a-f]{8}\.so", ".so", os.path.basename(path))  # auditwheel's renaming
    m = re.fullmatch(re.escape(stem) + r"\.so\.(\d+(?:\.\d+){2,})", name)
    return m.group(1) if m else ""


def major_of(soname: str) -> str:
    return soname.split(".so.", 1)[1].split(".")[0] if ".so." in soname else ""


# -------------------------------------------------------------------------------------------- finding


@frozen
class Found:
    """A copy before it is recorded: the real path stays here, the lockfile gets ``location``."""

    component: str
    version: str
    source: str
    location: str
    method: str
    path: str = ""  # the library file, when known
    soname: str = ""


def bundled_copies(packages: Iterable[RawPackage]) -> list[Found]:
    """Copies inside a framework's own wheel: it loads them before anything else. Versioned later."""
    stems = {c.stem: c.name for c in COMPONENTS}
    out = []
    for pkg in packages:
        if pkg.name not in PIP_FRAMEWORKS:
            continue
        for path in sorted(pkg.shared_objects):
            m = _BUNDLED.match(os.path.basename(path))
            if m:
                component = stems[m.group(1)]
                version = version_from_filename(m.group(1), path)
                method = "filename" if version else ""
                out.append(Found(component, version, "pip", pkg.name, method, path, os.path.basename(path)))
    return out


def pip_copies(packages: Sequence[RawPackage]) -> list[Found]:
    out = bundled_copies(packages)
    for pkg in packages:
        m = _PIP_WHEEL.match(pkg.name)
        if not m:
            continue
        component = "runtime" if m.group(1) == "cuda-runtime" else m.group(1)
        stem = _BY_NAME[component].stem
        lib = next(
            (p for p in sorted(pkg.shared_objects) if os.path.basename(p).startswith(stem + ".so")),
            "",
        )
        out.append(
            Found(
                component,
                pkg.version,
                "pip",
                pkg.name,
                "metadata",
                lib,
                os.path.basename(lib),
            )
        )
    return out


def conda_copies(prefix: str) -> list[Found]:
    """From ``conda-meta/<name>-<version>-<build>.json`` file names: no JSON is parsed."""
    try:
        entries = os.listdir(os.path.join(prefix, "conda-meta"))
    except OSError:
        return []
    wanted = {name: c for c in COMPONENTS for name in c.conda}
    out = []
    for entry in sorted(entries):
        if not entry.endswith(".json") or entry.count("-") < 2:
            continue
        name, version, _build = entry[: -len(".json")].rsplit("-", 2)
        component = wanted.get(name)
        if component is None:
            continue
        stem = component.stem
        lib = next(iter(sorted(Path(prefix, "lib").glob(stem + ".so.*"))), None)
        out.append(Found(component.name, version, "conda", name, "metadata", str(lib or ""), lib.name if lib else ""))
    # ``cuda-runtime`` is a metapackage: its version stands for the runtime only where no package that carries
    # libcudart itself (cuda-cudart, cudatoolkit) is installed.
    if any(f.component == "runtime" and f.location != "cuda-runtime" for f in out):
        out = [f for f in out if f.location != "cuda-runtime"]
    return out


def loader_search(
    soname: str,
    ld_cache: Mapping[str, Sequence[tuple[str, str]]],
    environ: Mapping[str, str],
    pointer_bits: int = 64,
) -> str:
    """Where ``dlopen(soname)`` from a program without RPATH would find it, or ""."""
    for directory in environ.get("LD_LIBRARY_PATH", "").split(":"):
        if directory and os.path.exists(os.path.join(directory, soname)):
            return os.path.normpath(os.path.join(directory, soname))
    for flags, path in ld_cache.get(soname, ()):
        is64 = any(tag in flags for tag in ("x86-64", "64bit", "AArch64", "s390x", "riscv64", "IA-64"))
        if is64 == (pointer_bits == 64) and os.path.exists(path):
            return path
    for directory in _DEFAULT_DIRS:
        if os.path.exists(os.path.join(directory, soname)):
            return os.path.join(directory, soname)
    return ""


def toolkit_root(libfile: str) -> str | None:
    """The CUDA toolkit a library file belongs to (``<root>/lib64/x`` or ``<root>/targets/<arch>/lib/x``)."""
    libdir = os.path.dirname(os.path.realpath(libfile))
    for root in (os.path.dirname(libdir), os.path.dirname(os.path.dirname(os.path.dirname(libdir)))):
        if any(
            os.path.exists(os.path.join(root, marker))
            for marker in ("version.json", "dist-info", "bin/nvcc", "include/cuda.h")
        ):
            return root
    return None


def toolkit_component_version(root: str, component: Component) -> tuple[str, str]:
    """(version, method) of a component as the toolkit in ``root`` declares it, or ("", "")."""
    if component.version_json:
        data = _version_json(root)
        entry = data.get(component.version_json) if data else None
        if isinstance(entry, Mapping) and isinstance(entry.get("version"), str):
            return entry["version"], "version_json"
    try:
        infos = os.listdir(os.path.join(root, "dist-info"))
    except OSError:
        infos = []
    for info in sorted(infos):
        m = re.fullmatch(re.escape(component.dist_info) + r"(?:_cu\d+)?-([^-]+)\.dist-info", info)
        if m:
            return m.group(1), "metadata"
    return "", ""


def _version_json(root: str) -> Mapping[str, Any] | None:
    try:
        with open(os.path.join(root, "version.json"), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, Mapping) else None


def toolkit_version(root: str) -> str:
    """The toolkit release: ``version.json`` (``cuda.version``), else ``CUDA_VERSION`` in ``cuda.h``."""
    data = _version_json(root)
    cuda = data.get("cuda") if data else None
    if isinstance(cuda, Mapping) and isinstance(cuda.get("version"), str):
        return str(cuda["version"])
    # ``cuda.h`` is 1.1 MB (CUDA 13) and defines CUDA_VERSION in its first few hundred lines: its head is read first,
    # and the rest only where the head has no such line (read at every capture, twice in a rebuild).
    define = re.compile(r"^\s*#\s*define\s+CUDA_VERSION\s+(\d+)", re.MULTILINE)
    try:
        with open(os.path.join(root, "include", "cuda.h"), encoding="utf-8", errors="replace") as fh:
            text = fh.read(_CUDA_H_HEAD)
            m = define.search(text)
            if m is None or m.end() == len(text):  # none yet, or a number the head may have cut short
                text += fh.read()
                m = define.search(text)
    except OSError:
        return ""
    return decode("runtime", int(m.group(1))) if m else ""


_CUDA_H_HEAD = 64 << 10  # characters of cuda.h read first (CUDA 12 and 13 define CUDA_VERSION within 20,000)


def header_version(component: Component, libfile: str) -> str:
    """The version in the header installed next to a library, when its major matches the library's."""
    libdir = os.path.dirname(os.path.realpath(libfile))
    machine = os.uname().machine
    candidates = [
        os.path.join(os.path.dirname(libdir), "include"),
        "/usr/include",
        f"/usr/include/{machine}-linux-gnu",
    ]
    major = major_of(os.path.basename(libfile))
    headers = [component.header]
    if component.name == "cudnn":
        headers += [f"cudnn_version_v{major}.h", "cudnn.h"]  # Debian/Ubuntu alternatives, cuDNN <= 7
    for directory in candidates:
        for header in headers:
            try:
                text = Path(directory, header).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            version = parse_header(component.name, text)
            if version and (not major or version.split(".")[0] == major):
                return version
    return ""


def system_copies(
    ld_cache: Mapping[str, Sequence[tuple[str, str]]],
    environ: Mapping[str, str],
    env_roots: Iterable[str],
    pointer_bits: int = 64,
) -> list[Found]:
    roots = tuple(os.path.realpath(r).rstrip("/") + "/" for r in env_roots if r)
    out: list[Found] = []
    seen: set[str] = set()
    for component in COMPONENTS:
        for soname in component.sonames:
            path = loader_search(soname, ld_cache, environ, pointer_bits)
            if not path:
                continue
            real = os.path.realpath(path)
            if real in seen or any(real.startswith(r) for r in roots):
                continue  # a wheel's or conda's copy, recorded from its metadata
            seen.add(real)
            out.append(describe_file(component, path, "system"))
    return out


def describe_file(component: Component, path: str, source: str) -> Found:
    """A library file's version from its toolkit, its file name or its header; "" (ctypes later) if none."""
    soname = os.path.basename(path)
    version, method = "", ""
    root = toolkit_root(path)
    if root is not None:
        version, method = toolkit_component_version(root, component)
    if not version:
        version = version_from_filename(component.stem, os.path.realpath(path))
        method = "filename" if version else ""
    if not version:
        version = header_version(component, path)
        method = "header" if version else ""
    return Found(component.name, version, source, path, method, path, soname)


def toolkit_copies(root: str, already: Iterable[Found]) -> list[Found]:
    """The toolkit's own libraries that the loader did not already find."""
    known = {os.path.realpath(f.path) for f in already if f.path}
    out = []
    machine = os.uname().machine
    libdirs = [os.path.join(root, d) for d in ("lib64", "lib", f"targets/{machine}-linux/lib")]
    for component in COMPONENTS:
        for soname in component.sonames:
            path = next((os.path.join(d, soname) for d in libdirs if os.path.exists(os.path.join(d, soname))), "")
            if not path or os.path.realpath(path) in known:
                continue
            known.add(os.path.realpath(path))
            out.append(describe_file(component, path, "cuda_home"))
    return out


def find_toolkit(environ: Mapping[str, str]) -> str | None:
    for var in ("CUDA_HOME", "CUDA_PATH"):
        value = environ.get(var)
        if value and os.path.isdir(value):
            return value
    return DEFAULT_TOOLKIT if os.path.isdir(DEFAULT_TOOLKIT) else None


# -------------------------------------------------------------------------------------------- ctypes


def ctypes_versions(
    pairs: Sequence[tuple[str, str]], timeout: float = CTYPES_TIMEOUT, python: str = sys.executable
) -> dict[str, str]:
    """path -> version for (component, path) pairs, read by calling each library's version function."""
    if not pairs:
        return {}
    res = _runner.run([python, str(WORKER), *(f"{c}={p}" for c, p in pairs)], timeout=timeout)
    try:
        data = json.loads(res.stdout) if res.ok else {}
    except ValueError:
        data = {}
    out = {}
    by_path = dict((p, c) for c, p in pairs)
    for path, answer in data.items():
        if isinstance(answer, dict) and "value" in answer and path in by_path:
            try:
                out[path] = decode(by_path[path], answer["value"])
            except (TypeError, ValueError):
                continue
    return out


# -------------------------------------------------------------------------------------------- select


def cuda_major(found: Found) -> str:
    """The CUDA major a copy belongs to, where it says: a wheel's ``-cuNN`` suffix, a runtime's or cuBLAS's
    own major (they follow CUDA's); "" for conda/system cuDNN and NCCL, which do not say."""
    if found.source == "pip":
        m = _PIP_WHEEL.match(found.location)
        if m and m.group(2):
            return m.group(2)
    if found.component in ("runtime", "cublas") and found.version:
        return found.version.split(".")[0]
    return ""


def _loads(found: Found, loaded: Collection[str]) -> bool:
    return bool(found.path) and os.path.realpath(found.path) in loaded


def eligible(found: Found, pip_frameworks: bool, framework_cuda: str, loaded: Collection[str]) -> bool:
    """Does anything in the environment load this copy?

    - a binary of the environment resolves to it (``loaded``: DT_NEEDED through the loader's rules);
    - it is inside a framework's own wheel (the framework loads it first), or it is an ``nvidia-*`` wheel and
      a pip-installed framework is there to preload it;
    - a framework built for CUDA (``framework_cuda``) opens its libraries by soname at run time: the copy the
      loader finds (conda's, a system one) for that CUDA major.
    A toolkit nothing resolves to, in a CPU-only environment, loads nowhere: present, not selected.
    """
    if _loads(found, loaded):
        return True
    if found.source == "pip":
        return _PIP_WHEEL.match(found.location) is None or pip_frameworks
    if found.source in ("conda", "system") and framework_cuda:
        major = cuda_major(found)
        return not major or major == framework_cuda.split(".")[0]
    return False


def select(
    copies: Sequence[Found], pip_frameworks: bool, framework_cuda: str = "", loaded: Collection[str] = frozenset()
) -> dict[str, Found]:
    """component -> the copy the environment loads; a component nothing loads is absent.

    Only copies that something loads (``eligible``) are candidates. Among them: a copy a binary resolves to,
    then source order (pip wheels when a pip-installed framework preloads them, conda, the loader, a toolkit
    reached only through an RPATH); within one source, the one built for the framework's CUDA major.
    """
    order = dict(_SOURCE_RANK)
    if not pip_frameworks:
        order["pip"] = 4  # nothing preloads the wheels: the loader decides
    wanted = framework_cuda.split(".")[0]

    def rank(f: Found) -> tuple[int, int, int, int]:
        major = cuda_major(f)
        # A framework's own bundled copy comes before the nvidia-* wheels it would otherwise preload.
        wheel = int(f.source == "pip" and _PIP_WHEEL.match(f.location) is not None)
        return int(not _loads(f, loaded)), order[f.source], wheel, int(bool(wanted and major and major != wanted))

    chosen: dict[str, Found] = {}
    for found in copies:
        if not eligible(found, pip_frameworks, framework_cuda, loaded):
            continue
        current = chosen.get(found.component)
        if current is None or rank(found) < rank(current):
            chosen[found.component] = found
    return chosen


def probe_cuda(
    packages: Sequence[RawPackage],
    prefix: str,
    env_roots: Iterable[str],
    ld_cache: Mapping[str, Sequence[tuple[str, str]]],
    redact: PathRedactor,
    *,
    environ: Mapping[str, str] | None = None,
    pointer_bits: int = 64,
    deep: bool = False,
    framework_cuda: str = "",
    loaded: Collection[str] = frozenset(),
) -> tuple[Cuda | None, list[str]]:
    """Every CUDA library copy in and around the environment; None when there is none and no toolkit.

    ``framework_cuda``: the CUDA version the environment's framework was built for ("12.1"), which decides
    between copies for several CUDA majors. ``deep``: also load every copy with ctypes and warn where the
    library's answer contradicts its metadata. ``loaded``: the real paths of the libraries the environment's
    binaries resolve to (``hostlibs.loaded_files``); only copies something loads are ``selected``.
    """
    env = os.environ if environ is None else environ
    found = pip_copies(packages) + conda_copies(prefix)
    found += system_copies(ld_cache, env, env_roots, pointer_bits)
    root = find_toolkit(env)
    if root is not None:
        found += toolkit_copies(root, found)
    warnings: list[str] = []
    unknown = [(f.component, f.path) for f in found if not f.version and f.path]
    checked = [(f.component, f.path) for f in found if f.version and f.path] if deep else []
    answers = ctypes_versions(unknown + checked)
    resolved = []
    for f in found:
        answer = answers.get(f.path, "")
        if not f.version and answer:
            f = replace(f, version=answer, method="ctypes")
        elif deep and answer and not _agrees(f.version, answer):
            warnings.append(
                f"cuda: {_location(f, redact)}: {f.method} says {f.version} but the library answers {answer}"
            )
        resolved.append(f)
    if not resolved and root is None:
        return None, warnings
    by_name = {p.name: p for p in packages}
    pip_fw = any(name in by_name and by_name[name].installer != "conda" for name in PIP_FRAMEWORKS)
    chosen = select(resolved, pip_fw, framework_cuda, loaded)
    copies = tuple(
        sorted(
            (
                CudaLibrary(
                    # The probe's own words (COMPONENTS, its methods and sources): lockfile.RULES checks them.
                    component=cast(CudaComponent, f.component),
                    version=f.version,
                    source=cast(CudaSource, f.source),
                    location=_location(f, redact),
                    method=cast(CudaMethod, f.method),
                    selected=chosen.get(f.component) is f,
                )
                for f in resolved
            ),
            key=lambda c: (
                [x.name for x in COMPONENTS].index(c.component),
                _SOURCE_RANK[c.source],
                c.location,
            ),
        )
    )

    def pick(component: str) -> tuple[str, CudaSourceOrNone]:
        f = chosen.get(component)
        return (f.version, cast(CudaSource, f.source)) if f else ("", "")

    runtime, cudnn, nccl, cublas = (pick(c.name) for c in COMPONENTS)
    cuda = Cuda(
        runtime_version=runtime[0],
        runtime_source=runtime[1],
        cudnn_version=cudnn[0],
        cudnn_source=cudnn[1],
        nccl_version=nccl[0],
        nccl_source=nccl[1],
        cublas_version=cublas[0],
        cublas_source=cublas[1],
        toolkit_version=toolkit_version(root) if root else "",
        toolkit_path=strip_terminal(redact.path(root)) if root else "",
        copies=copies,
    )
    return cuda, warnings


def probe(ctx: ProbeContext) -> ProbeResult[Cuda | None]:
    """Every CUDA library copy in and around the environment (``probe_cuda``); None when there is none."""
    from . import conda, frameworks, hostlibs, system

    raw = ctx.python
    layer = ctx.value_of(conda.PROBE)
    shared = system.shared_objects_of(ctx)
    builds = ctx.value_of(frameworks.PROBE)
    table, warnings = probe_cuda(
        # CUDA libraries conda installed are found through the conda prefix (``--prefix`` may name another one).
        raw.packages,
        layer.prefix if layer else raw.prefix,
        system.environment_roots(ctx),
        ctx.loader.cache,
        ctx.redact,
        environ=ctx.environ,
        pointer_bits=raw.pointer_bits,
        deep=ctx.options.deep,
        framework_cuda=frameworks.cuda_of(builds),
        loaded=hostlibs.loaded_files((so for paths in shared.values() for so in paths), ctx.loader),
    )
    return ProbeResult(table, tuple(warnings))


class CudaProbe(Probe[Cuda | None]):
    name = "cuda"

    def run(self, ctx: ProbeContext) -> ProbeResult[Cuda | None]:
        return probe(ctx)

    def fallback(self, ctx: ProbeContext) -> Cuda | None:
        return None


PROBE = CudaProbe()


def _location(f: Found, redact: PathRedactor) -> str:
    """Where a copy is, as the lock records it: one line as shown (``grammar.is_line``), a bidi or line separator
    character of a path as U+FFFD, so the lock loads (the path is shown, never opened)."""
    return strip_terminal(f.location if f.source in ("pip", "conda") else redact.path(f.location))


def _agrees(recorded: str, answered: str) -> bool:
    """A runtime answers only major.minor: compare as many parts as both have."""
    a, b = recorded.split("."), answered.split(".")
    n = min(len(a), len(b))
    return a[:n] == b[:n]
