from __future__ import annotations

import argparse
import os
from collections import Counter

from . import COMMAND_HELP, PathValue, _output

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from ..model import Snapshot


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "show",
        help=COMMAND_HELP["show"],
        description="A short human summary of a lockfile, a bundle's lock or a run record: Python and its "
        "packages by source, OS, libc, CPU, memory, system packages, the GPU stack and the project's git state. "
        "Reads the file only: nothing is probed or run.",
    )
    p.add_argument(
        "lock",
        type=PathValue("lock or run record"),
        metavar="LOCK|BUNDLE|RUN.toml",
        help="the lockfile, a bundle (directory or archive: its lock), or a run record (envsnap run's RUN.toml)",
    )
    p.add_argument("--json", action="store_true", help="the whole lock or record as JSON")
    p.set_defaults(func=run)


def _join(*parts: str, sep: str = " ") -> str:
    return sep.join(p for p in parts if p)


def summary_rows(s: Snapshot) -> list[tuple[str, str]]:
    from ..cudaneed import cuda_need, library_versions, visible_note
    from ..report import counted, gpu_name, gpu_name_error

    # An imported lock (a requirements file) knows little of this: what it does not know reads "unknown".
    py, plat, cpu = s.python, s.platform, s.hardware.cpu
    # An import's kind is what a rebuild of it makes, not one the file records (``python.kind`` unknown).
    details = _join(py.abi, "" if "python.kind" in s.envsnap.unknown else py.kind, sep=", ")
    cores = f"{cpu.logical_cores} logical cores" if cpu.logical_cores else ""
    python = _join(_join(py.implementation, py.version) or "unknown", f"({details})" if details else "")
    if s.conda is not None and not (py.version or py.packages or s.envsnap.origin):
        python = "none: no Python layer (a conda environment without Python)"
    rows = [
        ("Python", python),
        ("Packages", _package_counts(s)),
        (
            "OS",
            _join(
                _join(plat.os_name or plat.os_id, plat.machine) or "unknown",
                f"kernel {plat.kernel}" if plat.kernel else "",
                sep=", ",
            ),
        ),
        ("libc", f"{plat.libc} {plat.libc_version}".strip() or "unknown"),
        ("CPU", _join(cpu.model or cpu.arch or "unknown", f"({cores})" if cores else "")),
        ("Memory", f"{s.hardware.memory_mib} MiB" if s.hardware.memory_mib else "unknown"),
        (
            "System packages",
            "unknown"
            if "system" in s.envsnap.unknown  # an import records none: "0 (no package manager)" was a false fact
            else f"{len(s.system.packages)} ({s.system.manager or 'no package manager'}), "
            f"{sum(1 for p in s.system.packages if p.needed_by)} needed by Python packages",
        ),
    ]
    if s.nvidia is not None:
        # The driver may have answered and one GPU not ("GPU 2: ... GPU is lost"): both are facts.
        answered = f"{s.nvidia.driver_version} (CUDA {s.nvidia.cuda_driver_version})" if s.nvidia.driver_version else ""
        error = f"error: {s.nvidia.error}" if s.nvidia.error else ""
        rows.append(("NVIDIA driver", "; ".join(part for part in (answered, error) if part)))
    for gpu in s.hardware.gpus:
        # Why NVML gave no name (``NVML: GPU is lost``), as the appendix says it.
        error = gpu_name_error(s.nvidia, gpu)
        about = (
            _join(gpu_name(gpu), f"({error})" if error else ""),
            f"sm {gpu.compute_capability}" if gpu.compute_capability else "",
            f"{gpu.memory_mib} MiB" if gpu.memory_mib else "",
        )
        rows.append((f"GPU {gpu.index}", ", ".join(a for a in about if a)))
    # The run saw fewer GPUs than the host has: the appendix says so, and `show` listed them all as if it saw them.
    if note := visible_note(s):
        rows.append(("GPUs visible", note))
    if s.cuda is not None:
        parts = [
            f"runtime {s.cuda.runtime_version}" if s.cuda.runtime_version else "",
            f"cuDNN {s.cuda.cudnn_version}" if s.cuda.cudnn_version else "",
            f"NCCL {s.cuda.nccl_version}" if s.cuda.nccl_version else "",
            f"cuBLAS {s.cuda.cublas_version}" if s.cuda.cublas_version else "",
            f"toolkit {s.cuda.toolkit_version}" if s.cuda.toolkit_version else "",
        ]
        need = cuda_need(s) if not s.cuda.runtime_version else None
        if need is not None and need.library:
            # CUDA library wheels (cuBLAS, cuDNN, NCCL), or copies a binary loads, and no runtime: `check` judges
            # them a CUDA lock too, of a CUDA the lock may not record (a system libcudnn.so.9 no package names).
            libraries = library_versions(s.cuda)
            if not need.version:
                said = f"{libraries or need.evidence} (for a CUDA the lock does not record)"
            else:
                said = f"{libraries} (for CUDA {need.version}: {need.evidence})" if libraries else need.evidence
            # A library loaded from the toolkit (a cuDNN in /usr/local/cuda-12.4/lib64) is loaded from it: "toolkit
            # 12.4 present, not loaded" was said of it too.
            from_toolkit = "cuda_home" in (s.cuda.cudnn_source, s.cuda.nccl_source, s.cuda.cublas_source)
            loaded = "" if from_toolkit else " present, not loaded"
            present = f"; toolkit {s.cuda.toolkit_version}{loaded}" if s.cuda.toolkit_version else ""
            rows.append(("CUDA", f"{said}{present}"))
        elif need is not None and need.others:
            # CUDA wheels (of two majors) no binary of the environment tells apart: `check` judges a CUDA lock.
            # A toolkit no library is recorded loaded from is there, not loaded, as in the branches around: a bare
            # "; toolkit 13.0" read as if the code loaded it beside the wheels.
            from_toolkit = "cuda_home" in (s.cuda.cudnn_source, s.cuda.nccl_source, s.cuda.cublas_source)
            loaded = "" if from_toolkit else " present, not loaded"
            present = f"; toolkit {s.cuda.toolkit_version}{loaded}" if s.cuda.toolkit_version else ""
            rows.append(("CUDA", f"{need.carried()} (which runtime the code loads is not recorded){present}"))
        elif need is not None:
            # A CUDA build (torch 2.7.1+cu128), a runtime wheel or a conda CUDA package, and no runtime copy recorded:
            # `check` judges a CUDA lock. A toolkit nothing recorded loads from is there, not loaded (it read
            # "(which runtime the code loads is not recorded); toolkit 13.0", the wording for two runtime majors).
            libraries_from = (s.cuda.cudnn_source, s.cuda.nccl_source, s.cuda.cublas_source)
            loaded = "" if "cuda_home" in libraries_from else " present, not loaded"
            present = f"; toolkit {s.cuda.toolkit_version}{loaded}" if s.cuda.toolkit_version else ""
            # The cuDNN, NCCL and cuBLAS copies it loads are facts of it too: they went unsaid.
            libraries = library_versions(s.cuda)
            said = f"{need.evidence} (the lock records no CUDA runtime)" + (f"; {libraries}" if libraries else "")
            rows.append(("CUDA", f"{said}{present}"))
        elif not s.cuda.runtime_version and not any(c.selected for c in s.cuda.copies):
            present = f"; toolkit {s.cuda.toolkit_version} present, not loaded" if s.cuda.toolkit_version else ""
            # A ROCm build runs on a GPU: "CPU-only" was said of torch 2.5.1+rocm6.2.
            rocm = [f"{name} {fw.version}" for name, fw in sorted(s.frameworks.items()) if fw.rocm_version]
            what = f"none: a ROCm build ({', '.join(rocm)})," if rocm else "CPU-only:"
            rows.append(("CUDA", f"{what} the environment loads no CUDA library{present}"))
        else:
            # The toolkit (CUDA_HOME) beside what the environment loads: said loaded only where a loaded component
            # comes from it; else it is there, and the environment loads its own copies.
            sources = (s.cuda.runtime_source, s.cuda.cudnn_source, s.cuda.nccl_source, s.cuda.cublas_source)
            loaded = ", ".join(p for p in parts[:4] if p)
            if s.cuda.toolkit_version and "cuda_home" not in sources and loaded:
                rows.append(("CUDA", f"{loaded}; toolkit {s.cuda.toolkit_version} present, not loaded"))
            else:
                rows.append(("CUDA", ", ".join(p for p in parts if p) or "none"))
    for name, fw in sorted(s.frameworks.items()):
        build = (
            f"CUDA {fw.cuda_version}" if fw.cuda_version else ("ROCm " + fw.rocm_version if fw.rocm_version else "CPU")
        )
        rows.append((name, f"{fw.version} ({build})"))
    if s.conda is not None:
        rows.append(("Conda", f"{counted(len(s.conda.packages), 'package')} ({s.conda.subdir})"))
    if s.project is not None:
        state = "dirty" if s.project.dirty else "clean"
        rows.append(("Project", f"{s.project.commit[:12]} on {s.project.branch or '(detached)'}, {state}"))
    rows.append(
        ("Captured", _join(s.envsnap.created, f"by {s.envsnap.generator}" if s.envsnap.generator else "") or "unknown")
    )
    rows.append(("Digest", s.envsnap.content_digest or "none: the lock is not sealed, edits cannot be detected"))
    if s.envsnap.warnings:
        rows.append(("Warnings", str(len(s.envsnap.warnings))))
    return rows


def _package_counts(s: Snapshot) -> str:
    # A distribution conda installed is conda's, whatever source its record names ("index" for most).
    kinds = Counter("conda" if p.conda_layer else p.source.kind for p in s.python.packages)
    detail = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    # A venv made with --system-site-packages: what it saw of its base's, which a rebuild installs into the venv.
    based = sum(1 for p in s.python.packages if p.base_site)
    detail += f"; {based} from the base interpreter's site-packages" if based else ""
    return f"{len(s.python.packages)} Python ({detail})" if detail else "0 Python"


def run(args: argparse.Namespace) -> int:
    from .. import lockfile
    from .._privacy import scrub_snapshot
    from ..runs import record
    from ._lockarg import load_lock_or_bundle

    if record.sniff(args.lock):
        return _show_record(args)
    if args.lock == "":
        from .._readlimits import empty_path
        from ..errors import LockfileError

        raise LockfileError(empty_path("lock or run record"))
    if _missing(args.lock) and not args.lock.endswith(".lock"):
        from ..errors import EnvsnapError

        # A lock and a record are told apart by their content, which a missing file has not: name both.
        raise EnvsnapError(f"{args.lock}: no such lock or run record")
    # Printed output ends up in CI logs and issues: without secrets, as in an export (a clean lock is unchanged).
    snapshot = scrub_snapshot(load_lock_or_bundle(args.lock)[0])  # a bundle's lock once it passed its checks
    if args.json:
        _output.print_json(lockfile.to_dict(snapshot))
        return 0
    # Lock data: text cells, never markup, no control codes.
    _print(summary_rows(snapshot), f"envsnap lock: {args.lock}")
    return 0


def _missing(path: str) -> bool:
    """Whether nothing is at ``path``. A path that cannot be looked at (a symbolic link loop, a folder it may not
    search) is left to the loader, which says why as the other commands do: ``os.path.exists`` called it missing."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except (OSError, ValueError):
        return False
    return False


def _show_record(args: argparse.Namespace) -> int:
    from ..runs import record, summary

    rec = record.load(args.lock)
    if args.json:
        _output.print_json(record.record_dict(rec))  # as the file holds it: a version 1 record's drift as lines
        return 0
    _print(summary.rows(rec), f"envsnap run record: {args.lock}")
    return 0


def _print(rows: list[tuple[str, str]], title: str) -> None:
    """Every value whole: folded to a terminal's width, and off a terminal (a pipe, a CI log) each on one line at
    the table's own width. Cut with an ellipsis at the width, a command word's end (the path a reviewer reads),
    a long command and a lock's digest were lost, piped (80 columns) or in a narrow terminal."""
    table = _output.table(rows, columns=("", ""), header=False, title=title, first_column_style="bold", overflow="fold")
    _output.print_table(table, unfolded=True)
