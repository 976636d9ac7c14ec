"""The "Software and hardware environment" appendix of a paper, in Markdown and LaTeX (the ``markdown`` and
``latex`` exports, and the appendix a bundle ships).

One context, built here from the lock, fills two templates (``templates/appendix.md.j2`` and
``appendix.tex.j2``): the environment table (Python, frameworks, CUDA / cuDNN / driver, GPUs, CPU, OS),
the Python packages (frameworks first, then the rest in groups), the lock's digest and how to rebuild.
Facts an imported lock does not know are printed as "unknown", never guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from .. import _templates, interchange
from .._defaults import LOCK_NAME
from .._frozen import frozen
from ..cudaneed import cuda_need, library_versions, visible_note
from ..model import PythonPackage, Snapshot
from ..report import counted, gpu_name, gpu_name_error

UNKNOWN = "unknown"

# Package groups for the reader, in display order; a package goes to the first group that claims it.
_GROUPS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "Deep learning",
        re.compile(
            r"^(torch|torchvision|torchaudio|torchtext|tensorflow(-.*)?|tf-keras|keras|jax|jaxlib|flax|optax|"
            r"lightning|pytorch-lightning|transformers|accelerate|diffusers|deepspeed|xformers|triton|"
            r"timm|onnx|onnxruntime(-gpu)?|paddlepaddle(-gpu)?|mxnet|peft|vllm|flash-attn|bitsandbytes)$"
        ),
    ),
    (
        "CUDA libraries",
        # NVIDIA's CUDA library wheels (nvidia-cuda-runtime-cu12, nvidia-cublas, ...), not every nvidia- name:
        # nvidia-ml-py is the NVML Python binding, no CUDA library.
        re.compile(
            r"^(nvidia-(cuda-[a-z0-9-]+|(cublas|cudnn|cufft|cufile|curand|cusolver|cusparse|cusparselt|cutensor|"
            r"nccl|nvtx|nvjitlink|nvshmem|npp|nvjpeg|nvjpeg2k|nvvm)(-cu\d+)?)|cupy(-cuda.*)?|pycuda|cuda-python)$"
        ),
    ),
    (
        "Numerical and data",
        re.compile(
            r"^(numpy|scipy|pandas|polars|pyarrow|numba|sympy|scikit-learn|scikit-image|xgboost|lightgbm|"
            r"catboost|statsmodels|h5py|zarr|xarray|datasets|tokenizers|safetensors|sentencepiece|"
            r"opencv-python(-headless)?|pillow|matplotlib|seaborn|networkx)$"
        ),
    ),
)
OTHER = "Other packages"


@frozen
class Row:
    key: str
    value: str
    code: bool = False  # typeset as code (digests, versions lists)


@frozen
class RunHomeText:
    """A run record in the bundle whose command still names its author's home or project as text
    (``command.unlabelled``): its place in the bundle, what that means for a rerun (``show``'s "Home text"), and
    the command words holding it. The appendix is printed with the paper: it names the words, not the path."""

    record: str
    note: str
    words: tuple[int, ...]


@frozen
class RunVariable:
    """A variable a run record's command had at its start (``run --env NAME``): ``word`` is ``NAME=VALUE`` as one
    shell word, as a reader types it; an unset one has no word, and is said to be unset (an empty value is set)."""

    name: str
    word: str = ""
    unset: bool = False


@frozen
class RunVariables:
    """A run record in the bundle and the variables its command had (``command.variables``), in the order recorded:
    ``rerun`` sets them itself, a reader of the paper running the command by hand needs them."""

    record: str
    variables: tuple[RunVariable, ...]


def uncommitted_note(diff_digest: str = "") -> str:
    """What an artifact says of its code's commit where the lock was captured with uncommitted changes to it (the
    lock's ``project.dirty``): CITATION.cff, .zenodo.json and the RO-Crate alike (the appendix says it in its
    templates, the digest typeset as code)."""
    digest = f" (diff {diff_digest})" if diff_digest else ""
    return (
        f"captured with uncommitted changes{digest}, which neither this identifier nor the commit holds: "
        "not the exact code"
    )


@frozen
class ArtifactFacts:
    """What an artifact bundle adds to its appendix (``envsnap bundle --artifact``): the paper's DOI, the code's
    Software Heritage identifier and commit, the audit's grade, the variables each run record's command had, and
    the run records whose command names the author's home as text."""

    doi_url: str = ""  # the paper's DOI as its resolver URL, percent-encoded (``ArtifactMeta.doi_url``)
    swhid: str = ""
    commit: str = ""
    # The lock was captured with uncommitted changes to that commit (``project.dirty``, ``diff_digest``): the SWHID
    # and the commit name the code those changes were made to, not the exact code, and the appendix says so.
    dirty: bool = False
    diff_digest: str = ""
    grade: str = ""
    home_text: tuple[RunHomeText, ...] = ()
    variables: tuple[RunVariables, ...] = ()


def context(
    snapshot: Snapshot, artifact: ArtifactFacts | None = None, lock_name: str = LOCK_NAME, *, bundled: bool = False
) -> dict[str, Any]:
    """Everything the templates print, already ordered and formatted (templates only lay it out). ``lock_name``:
    the lock's file name, which the commands name (a bundle's is ``envsnap.lock``; an export's, its file's).
    ``bundled``: the appendix a bundle holds, whose commands run in the bundle's folder, from its wheels (a plain
    ``envsnap rebuild envsnap.lock`` there fetched every wheel from its URL instead); an artifact's always is."""
    unknown = set(snapshot.envsnap.unknown)
    return {
        "artifact": artifact,
        "bundled": bundled or artifact is not None,
        # Taken out again after the "without envsnap" pip install into a new venv, which seeds them.
        "venv_seeds": interchange.venv_seeds_not_locked(snapshot),
        "lock_name": lock_name,
        "paragraph": environment_paragraph(snapshot, lock_name),
        "environment": _environment_rows(snapshot, unknown),
        "groups": (groups := _package_groups(snapshot)),
        "package_lines": (lines := _package_lines(groups)),
        "package_chunks": _column_chunks(lines),
        # "0" would read as an empty environment; a lock imported from a conda explicit file does not know.
        "package_count": UNKNOWN if "python.packages" in unknown else len(snapshot.python.packages),
        "digest": snapshot.envsnap.content_digest or "(the lock is not sealed)",
        "captured": snapshot.envsnap.created or UNKNOWN,
        "generator": snapshot.envsnap.generator or "envsnap",
        "origin": snapshot.envsnap.origin,
        "unknown": sorted(unknown),
        # A conda lock is rebuilt by the conda target (the default venv target would skip the conda layer).
        "conda": snapshot.conda is not None and bool(snapshot.conda.packages),
    }


def _environment_rows(s: Snapshot, unknown: set[str]) -> list[Row]:
    py = s.python
    python = " ".join(x for x in (_implementation(py.implementation), py.version) if x)
    rows = [Row("Python", python or UNKNOWN)]
    for name, fw in sorted(s.frameworks.items(), key=lambda item: _framework_rank(item[0])):
        build = (
            f"CUDA {fw.cuda_version}"
            if fw.cuda_version
            else f"ROCm {fw.rocm_version}"
            if fw.rocm_version
            else "CPU build"
        )
        extra = f", cuDNN {fw.cudnn_version}" if fw.cudnn_version else ""
        rows.append(Row(_display_name(s, name), f"{fw.version or UNKNOWN} ({build}{extra})"))
    cuda = s.cuda
    need = cuda_need(s)
    if cuda is not None and not cuda.runtime_version and not any(c.selected for c in cuda.copies) and need is None:
        # Copies on disk that nothing in the environment loads (a toolkit beside a CPU-only torch).
        # A ROCm build runs on a GPU: "CPU-only" was said of torch 2.5.1+rocm6.2.
        rocm = [f"{name} {fw.version}" for name, fw in sorted(s.frameworks.items()) if fw.rocm_version]
        what = f"none, a ROCm build ({', '.join(rocm)})" if rocm else "CPU-only"
        rows.append(Row("CUDA", f"{what} (the environment loads no CUDA library)"))
    elif cuda is not None and not cuda.runtime_version and need is not None and need.library:
        # CUDA library wheels (cuBLAS, cuDNN, NCCL), or copies a binary loads, and no runtime: the check judges it a
        # CUDA lock.
        built = f"for CUDA {need.version}" if need.version else "for a CUDA the lock does not record"
        rows.append(Row("CUDA", f"{need.evidence} ({built}; the lock records no CUDA runtime)"))
    elif cuda is not None and not cuda.runtime_version and need is not None and need.others:
        # CUDA wheels (of two majors) no binary of the environment tells apart: the check judges it a CUDA lock.
        rows.append(Row("CUDA", f"{need.carried()} (which runtime the code loads is not recorded)"))
    elif cuda is not None and not cuda.runtime_version and need is not None:
        # A CUDA build (torch 2.7.1+cu128), a runtime wheel or a conda CUDA package, and no runtime copy recorded;
        # the cuDNN, NCCL and cuBLAS it loads follow, as `show` names them (the row named none).
        libraries = library_versions(cuda)
        said = f"{need.evidence} (the lock records no CUDA runtime)" + (f"; {libraries}" if libraries else "")
        rows.append(Row("CUDA", said))
    elif cuda is not None:
        rows.append(Row("CUDA runtime", _with_source(cuda.runtime_version, cuda.runtime_source)))
        rows.append(Row("cuDNN", _with_source(cuda.cudnn_version, cuda.cudnn_source)))
        if cuda.nccl_version:
            rows.append(Row("NCCL", _with_source(cuda.nccl_version, cuda.nccl_source)))
        if cuda.toolkit_version:
            # A toolkit (CUDA_HOME) nothing recorded is loaded from is there, not used: a bare "CUDA toolkit 13.0"
            # beside a CUDA 12.8 runtime read as the toolkit the experiments used (`show` says "present, not loaded").
            sources = (cuda.runtime_source, cuda.cudnn_source, cuda.nccl_source, cuda.cublas_source)
            present = "" if "cuda_home" in sources else " (present, not loaded)"
            rows.append(Row("CUDA toolkit", f"{cuda.toolkit_version}{present}"))
    elif "cuda" in unknown:
        rows.append(Row("CUDA runtime", UNKNOWN))
    rows.append(Row("NVIDIA driver", _driver(s, unknown)))
    rows.append(Row("GPUs", _gpus(s, unknown)))
    cpu = s.hardware.cpu
    if "hardware" in unknown:
        rows.append(Row("CPU", UNKNOWN))
    else:
        cores = f", {cpu.logical_cores} logical cores" if cpu.logical_cores else ""
        rows.append(Row("CPU", f"{cpu.model or cpu.arch or s.platform.machine or UNKNOWN}{cores}"))
        if s.hardware.memory_mib:
            rows.append(Row("Memory", f"{s.hardware.memory_mib / 1024:.0f} GiB"))
    os_name = s.platform.os_name or " ".join(x for x in (s.platform.os_id, s.platform.os_version) if x)
    rows.append(
        Row("Operating system", " ".join(x for x in (os_name or s.platform.system, s.platform.machine) if x) or UNKNOWN)
    )
    if s.platform.kernel:
        rows.append(Row("Kernel", s.platform.kernel))
    if s.platform.libc:
        rows.append(Row("C library", f"{s.platform.libc} {s.platform.libc_version}".strip()))
    if s.conda is not None:
        rows.append(Row("Conda", f"{counted(len(s.conda.packages), 'package')} ({s.conda.subdir or UNKNOWN})"))
    if s.system.manager and "system" not in unknown:
        needed = sum(1 for p in s.system.packages if p.needed_by)
        rows.append(
            Row("System packages", f"{len(s.system.packages)} ({s.system.manager}), {needed} used by Python packages")
        )
    if s.project is not None and s.project.commit:
        state = ", with uncommitted changes" if s.project.dirty else ""
        rows.append(Row("Code", f"{s.project.vcs} commit {s.project.commit[:12]}{state}", code=False))
    return rows


def environment_paragraph(s: Snapshot, lock_name: str = LOCK_NAME) -> str:
    """One paragraph for a paper's body (the NeurIPS checklist's compute resources): hardware, driver, CUDA,
    framework, memory, OS, Python; the template ends it with the lock's digest. Plain text: the template escapes
    it for its format."""
    unknown = set(s.envsnap.unknown)
    os_name = s.platform.os_name or " ".join(x for x in (s.platform.os_id, s.platform.os_version) if x)
    where = ", ".join(x for x in (s.platform.machine, f"{s.platform.libc} {s.platform.libc_version}".strip()) if x)
    machine = f"{os_name or s.platform.system or 'an unrecorded operating system'}" + (f" ({where})" if where else "")
    cpu = s.hardware.cpu
    hardware = []
    if "hardware" not in unknown and (cpu.model or cpu.arch):
        hardware.append(
            f"{cpu.model or cpu.arch}" + (f" ({cpu.logical_cores} logical cores)" if cpu.logical_cores else "")
        )
    if s.hardware.memory_mib and "hardware" not in unknown:
        hardware.append(f"{s.hardware.memory_mib / 1024:.0f} GiB of memory")
    # Each kind of GPU an item of the list: joined by "; " inside it, the sentence read "... and 1x NVIDIA A100 (...);
    # 1x NVIDIA H100 (...); CUDA_VISIBLE_DEVICES=1,0 left the run 2 of them, using ...".
    kinds, note = _gpu_kinds(s)
    hardware.extend(kind.replace(" x ", "x ") for kind in kinds)
    text = f"Experiments ran on {machine}"
    if hardware:
        text += " with " + _join(hardware) + (f", where {note}" if note else "")
    gpu_stack = []
    if s.nvidia is not None and s.nvidia.driver_version:
        gpu_stack.append(f"NVIDIA driver {s.nvidia.driver_version}")
    if s.cuda is not None and s.cuda.runtime_version:
        gpu_stack.append(f"CUDA {s.cuda.runtime_version}")
    if s.cuda is not None and s.cuda.cudnn_version:
        gpu_stack.append(f"cuDNN {s.cuda.cudnn_version}")
    if s.cuda is not None and s.cuda.nccl_version:
        gpu_stack.append(f"NCCL {s.cuda.nccl_version}")
    if gpu_stack:
        text += ", using " + _join(gpu_stack)
    software = [f"{_implementation(s.python.implementation) or 'Python'} {s.python.version}".strip()]
    for name, fw in sorted(s.frameworks.items(), key=lambda item: _framework_rank(item[0])):
        build = (
            f" (CUDA {fw.cuda_version})"
            if fw.cuda_version
            else (f" (ROCm {fw.rocm_version})" if fw.rocm_version else " (CPU build)")
        )
        software.append(f"{_display_name(s, name)} {fw.version}{build}")
    count = UNKNOWN if "python.packages" in unknown else str(len(s.python.packages))
    text += f". Software: {_join(software)}, with {count} Python packages in all"
    # The lock's digest follows in the template, typeset as code (it must be able to break in LaTeX).
    return text + f"; the exact environment is recorded in {lock_name}, content digest"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _implementation(name: str) -> str:
    return {"cpython": "CPython", "pypy": "PyPy"}.get(name, name)


def _framework_rank(name: str) -> tuple[int, str]:
    order = ("torch", "tensorflow", "jax")
    return (order.index(name) if name in order else len(order), name)


def _display_name(s: Snapshot, name: str) -> str:
    pkg = s.package(name)
    return (pkg.metadata_name or pkg.name) if pkg is not None else name


def _with_source(version: str, source: str) -> str:
    if not version:
        return "not found"
    return f"{version} ({source})" if source else version


def _driver(s: Snapshot, unknown: set[str]) -> str:
    if s.nvidia is None:
        return UNKNOWN if "nvidia" in unknown else "none"
    if s.nvidia.error and not s.nvidia.driver_version:  # with a version, the error is a GPU's, not the driver's
        return f"error: {s.nvidia.error}"
    cuda = f" (supports CUDA {s.nvidia.cuda_driver_version})" if s.nvidia.cuda_driver_version else ""
    return f"{s.nvidia.driver_version or UNKNOWN}{cuda}"


def _gpus(s: Snapshot, unknown: set[str]) -> str:
    kinds, note = _gpu_kinds(s)
    return "; ".join((*kinds, note) if note else kinds) if kinds else _no_gpus(s, unknown)


def _no_gpus(s: Snapshot, unknown: set[str]) -> str:
    if s.nvidia is not None and s.nvidia.error and not s.nvidia.driver_version:
        # NVML listed no GPU because it did not answer at all: the GPUs are not known, not absent.
        return f"{UNKNOWN} (the NVIDIA driver did not answer at capture)"
    return UNKNOWN if "hardware" in unknown or "gpus" in unknown else "none"


def _gpu_kinds(s: Snapshot) -> tuple[list[str], str]:
    """Each kind of GPU the lock records (``2 x NVIDIA H100 ... (compute capability 9.0, 80 GiB)``), and how many of
    them the captured CUDA_VISIBLE_DEVICES left the run where it hid some (else "")."""
    kinds = Counter(
        (gpu_name(g), gpu_name_error(s.nvidia, g), g.compute_capability, round(g.memory_mib / 1024))
        for g in s.hardware.gpus
    )
    parts = []
    for (name, error, cc, gib), n in sorted(kinds.items()):
        about = (
            error,
            f"compute capability {cc}" if cc else "",
            f"{gib} GiB" if gib else "",
        )
        details = ", ".join(x for x in about if x)
        parts.append(f"{n} x {name}" + (f" ({details})" if details else ""))
    return parts, visible_note(s)


def _package_groups(s: Snapshot) -> list[tuple[str, list[tuple[str, str]]]]:
    frameworks = set(s.frameworks)
    grouped: dict[str, list[tuple[str, str]]] = {"Frameworks": []}
    for title, _ in _GROUPS:
        grouped[title] = []
    grouped[OTHER] = []
    for pkg in sorted(s.python.packages, key=lambda p: p.name):
        entry = (pkg.metadata_name or pkg.name, _version_note(pkg))
        if pkg.name in frameworks:
            grouped["Frameworks"].append(entry)
            continue
        title = next((t for t, pattern in _GROUPS if pattern.match(pkg.name)), OTHER)
        grouped[title].append(entry)
    grouped["Frameworks"].sort(key=lambda e: _framework_rank(e[0].lower()))
    return [(title, entries) for title, entries in grouped.items() if entries]


def _package_lines(groups: list[tuple[str, list[tuple[str, str]]]]) -> list[tuple[str, ...]]:
    """The package list as the LaTeX appendix sets it, one line per row: a group's title ``("group", title,
    count)``, a package ``("package", name, version)``, the space between two groups ``("space",)``."""
    lines: list[tuple[str, ...]] = []
    for title, entries in groups:
        if lines:
            lines.append(("space",))
        lines.append(("group", title, str(len(entries))))
        lines += [("package", name, version) for name, version in entries]
    return lines


# A two-column paper's package list: tabulars of at most this many typeset lines each (24 one-line rows), so each
# fits in a column of any common class and the list flows from column to column; a row is as many lines as its
# longer cell wraps to, a cell breaking only where ``tex_breakable`` lets it, at about this many characters a line
# (a 0.45 \linewidth column of \small text in the narrowest two-column classes, with room to spare).
_CHUNK_LINES = 24
_CELL_CHARS = 16
_CELL_BREAK = re.compile(r"(?<=[-_.+/])")


def _cell_lines(text: str) -> int:
    """How many lines a cell of ``text`` wraps to in a two-column paper's package list (an estimate from above)."""
    lines, used = 1, 0
    for piece in _CELL_BREAK.split(text):
        if used and used + len(piece) > _CELL_CHARS:
            lines, used = lines + 1, 0
        used += len(piece)
        while used > _CELL_CHARS:  # a piece with no break in it: longer than a line, it still takes the lines
            lines, used = lines + 1, used - _CELL_CHARS
    return lines


def _column_chunks(lines: list[tuple[str, ...]]) -> list[list[tuple[str, ...]]]:
    """The package list's lines in tabulars short enough for one column: a tabular of 24 rows of long names (that
    wrap to three lines each) was taller than the column, and its last rows went below the page's edge."""
    chunks: list[list[tuple[str, ...]]] = []
    height = 0
    for line in lines:
        rows = max(_cell_lines(line[1]), _cell_lines(line[2])) if line[0] == "package" else 1
        if not chunks or height + rows > _CHUNK_LINES:
            chunks.append([])
            height = 0
        chunks[-1].append(line)
        height += rows
    return chunks


def _version_note(pkg: PythonPackage) -> str:
    src = pkg.source
    if src.kind == "vcs":
        return f"{pkg.version} ({src.vcs or 'vcs'} {src.commit_id[:12]})".replace("  ", " ")
    if src.kind == "directory":
        return f"{pkg.version} (local{', editable' if src.editable else ''})"
    if src.kind == "archive":
        return f"{pkg.version} (archive)"
    return pkg.version


# Every value reaches the templates unescaped: their format's default escaping (Markdown, LaTeX) and filters
# (md_code, tex_code) in envsnap/_templates.py make it text, whatever the lock holds.


def render_markdown(
    snapshot: Snapshot, artifact: ArtifactFacts | None = None, *, lock_name: str = LOCK_NAME, bundled: bool = False
) -> dict[str, bytes]:
    text = _templates.render("appendix.md.j2", **context(snapshot, artifact, lock_name, bundled=bundled))
    return {"appendix.md": text.encode("utf-8")}


def render_latex(
    snapshot: Snapshot, artifact: ArtifactFacts | None = None, *, lock_name: str = LOCK_NAME, bundled: bool = False
) -> dict[str, bytes]:
    text = _templates.render("appendix.tex.j2", **context(snapshot, artifact, lock_name, bundled=bundled))
    return {"appendix.tex": text.encode("utf-8")}
