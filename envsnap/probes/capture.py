"""``capture()``: run every probe and assemble one Snapshot."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from .. import grammar
from .._privacy import PathRedactor, scrub_text
from .._version import __version__
from ..errors import ProbeError
from ..model import Hardware, Meta, PythonEnv, Snapshot
from . import conda as conda_probe
from . import cuda, environment, frameworks, host, nvidia, project, python, system


def _working_directory() -> str | None:
    """None when the working directory was removed from under the process: there is no project to record."""
    try:
        return os.getcwd()
    except OSError:
        return None


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _same_env(prefix: str, raw: python.RawPython) -> bool:
    roots = {raw.prefix, str(raw.data.get("base_prefix", raw.prefix))}
    return any(os.path.realpath(prefix) == os.path.realpath(r) for r in roots)


def capture(
    python_path: str | None = None,
    project_dir: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    deep: bool = False,
    gpu_ids: bool = False,
    gpu_timeout: float = nvidia.DEFAULT_TIMEOUT,
    deep_timeout: float = frameworks.DEEP_TIMEOUT,
    timings: dict[str, float] | None = None,
    conda_prefix: str | None = None,
    probe: python.PendingProbe | None = None,
    changed_files: dict[str, dict[str, list[str]]] | None = None,
    output: str | os.PathLike[str] | None = None,
    python_layer: bool = True,
) -> Snapshot:
    """Capture an environment.

    ``python_path``: the interpreter of the environment to capture (default: the one running envsnap).
    ``project_dir``: the project whose git state to record (default: the working directory, when it is
    inside a git work tree).
    ``conda_prefix``: the conda environment to record (default: the interpreter's prefix, when it is one).
    ``probe``: the probe of ``python_path`` already started (the CLI starts it before loading envsnap).
    ``changed_files``: when given, every distribution's files are hashed and compared with its RECORD, and
    the dict is filled with ``{name: {"modified": [...], "missing": [...]}}`` for those that differ (never
    recorded in the lock: ``envsnap verify --files`` reports it).
    ``deep``: import each ML framework in a subprocess (``deep_timeout`` each) for what only a live import
    knows. ``gpu_ids``: record GPU UUIDs and serials (they identify the machine). ``gpu_timeout``: how long
    NVML may take before the driver is recorded as hung. ``timings``: filled with seconds per costly step
    (``gpu``, ``deep:<framework>``) for the caller to report; never recorded in the lock. ``output``: where the
    lock will be written, left out of the project's dirty state. ``python_layer=False``: ``conda_prefix`` is a
    conda environment without an interpreter; nothing is probed for Python and the lock has no Python layer.
    """
    env = os.environ if environ is None else environ
    root = None
    if project_dir is not None:
        if not os.path.isdir(project_dir):
            raise ProbeError(f"--project {project_dir}: no such directory")
        root = project.find_root(project_dir)
        if root is None:
            raise ProbeError(f"--project {project_dir}: not inside a git work tree")
    else:
        root = project.find_root(here) if (here := _working_directory()) else None

    # The target interpreter scans its environment, and NVML (when there is a driver; it can take seconds to
    # initialise GPUs) answers in its own subprocess, while this process probes the host.
    pending: python.PendingProbe | None = None
    if python_layer:
        pending = probe or python.PendingProbe(python_path, check_files=changed_files is not None)
    elif conda_prefix is None:
        raise ProbeError("an environment without a Python layer must be a conda prefix")
    nvml = ThreadPoolExecutor(max_workers=1)
    pending_nvml = nvml.submit(nvidia.probe_nvidia, timeout=gpu_timeout, gpu_ids=gpu_ids, environ=env)
    nvml.shutdown(wait=False)
    database = system.PackageDatabase()
    database.preload()
    loader = system.Loader.for_host()
    cpu, memory = host.probe_cpu()
    plat = host.probe_platform()
    proj = project.probe_project(root, exclude=[os.fspath(output)] if output else []) if root else None
    raw = pending.result() if pending is not None else python.RawPython(
        {"prefix": os.path.abspath(conda_prefix or ""), "packages": []})
    if changed_files is not None:
        changed_files.update(
            {p["name"]: p["changed_files"] for p in raw.packages if any(p.get("changed_files", {}).values())}
        )

    redact = PathRedactor(prefix=raw.prefix, project=root)
    py_env, warnings = python.python_env(raw, redact) if pending is not None else (PythonEnv(), [])

    conda_layer = None
    prefix = conda_probe.find_prefix(raw.prefix, conda_prefix)
    if prefix is not None:
        conda_layer = conda_probe.probe_conda(prefix, redact)
        py_env = conda_probe.mark_conda_managed(py_env, raw.packages, conda_layer)
        warnings += conda_layer.warnings
        if conda_prefix is not None and pending is not None and not _same_env(prefix, raw):
            # Allowed (a venv on a conda base, a prefix whose Python lives elsewhere), but a mixed lock must
            # say so: its Python packages are the interpreter's, not the conda environment's.
            warnings.append(f"conda: --prefix {redact.path(prefix)} is not the captured interpreter's environment: "
                            "the Python packages are the interpreter's (to capture that environment, pass "
                            "--python PREFIX/bin/python)")

    shared = {p["name"]: p["shared_objects"] for p in raw.packages if p.get("shared_objects")}
    env_roots = {raw.prefix, *(p["site_dir"] for p in raw.packages)}
    if conda_layer is not None:
        env_roots.add(conda_layer.prefix)
    sys_table, sys_warnings = system.probe_system(shared, env_roots, redact, database, loader)
    warnings += sys_warnings

    started = time.perf_counter()
    nv, gpus, nv_warnings = pending_nvml.result()
    fw = frameworks.probe_frameworks(raw.packages)
    # CUDA libraries conda installed are found through the conda prefix (``--prefix`` may name another one).
    cuda_table, cuda_warnings = cuda.probe_cuda(
        raw.packages, conda_layer.prefix if conda_layer else raw.prefix, env_roots, loader.cache, redact, environ=env,
        pointer_bits=int(raw.data.get("pointer_bits", 64)), deep=deep, framework_cuda=frameworks.cuda_of(fw),
        loaded=system.loaded_files((so for paths in shared.values() for so in paths), loader),
    )
    warnings += nv_warnings + cuda_warnings
    costs: dict[str, float] = {"gpu": time.perf_counter() - started}
    if deep:
        target = python.resolve_interpreter(python_path) if python_path else sys.executable
        fw, deep_costs, deep_warnings = frameworks.deepen(fw, target, deep_timeout, env)
        costs.update({f"deep:{name}": seconds for name, seconds in deep_costs.items()})
        warnings += deep_warnings
        # An import error's last line names whatever failed to load, wherever it lives (/scratch/<user>/...).
        fw = {name: dataclasses.replace(f, error=scrub_text(redact.text(f.error))) if f.error else f
              for name, f in fw.items()}
    # Warnings quote paths and messages of other programs: the same rules as every recorded value.
    # A lock holds no control characters (docs/security.md): a file name or a message quoted in a warning shows
    # one as U+FFFD, and the text is cut where the loader's limit is.
    warnings = [grammar.strip_control(scrub_text(redact.text(w)))[:4096] for w in warnings]
    if timings is not None:
        timings.update(costs)
    recorded_env = environment.filter_environment(env, redact)
    if not gpu_ids:
        recorded_env = nvidia.redact_device_ids(recorded_env)
    if proj is not None:
        # A branch is often named after its author (``alice/fix``); a local remote is a path.
        proj = dataclasses.replace(proj, remote_url=redact.url(proj.remote_url), branch=redact.names(proj.branch))

    return Snapshot(
        envsnap=Meta(generator=f"envsnap {__version__}", created=utc_now(), warnings=tuple(sorted(set(warnings)))),
        platform=plat,
        python=py_env,
        system=sys_table,
        hardware=Hardware(memory_mib=memory, cpu=cpu, gpus=gpus),
        environment=recorded_env,
        project=proj,
        conda=conda_layer.conda if conda_layer else None,
        nvidia=nv,
        cuda=cuda_table,
        frameworks=fw,
    )
