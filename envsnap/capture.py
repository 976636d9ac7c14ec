"""``capture()``: run every probe and assemble one Snapshot."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from collections.abc import Mapping

from . import __version__
from ._privacy import PathRedactor
from .errors import ProbeError
from .model import Hardware, Meta, Snapshot
from .probes import environment, host, project, python, system


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def capture(
    python_path: str | None = None,
    project_dir: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Snapshot:
    """Capture an environment.

    ``python_path``: the interpreter of the environment to capture (default: the one running envsnap).
    ``project_dir``: the project whose git state to record (default: the working directory, when it is
    inside a git work tree).
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
        root = project.find_root(os.getcwd())

    # The target interpreter scans its environment while this process probes the host.
    pending = python.PendingProbe(python_path)
    database = system.PackageDatabase()
    database.preload()
    loader = system.Loader.for_host()
    cpu, memory = host.probe_cpu()
    plat = host.probe_platform()
    proj = project.probe_project(root) if root else None
    raw = pending.result()

    redact = PathRedactor(prefix=raw.prefix, project=root)
    py_env, warnings = python.python_env(raw, redact)
    shared = {p["name"]: p["shared_objects"] for p in raw.packages if p.get("shared_objects")}
    env_roots = {raw.prefix, *(p["site_dir"] for p in raw.packages)}
    sys_table, sys_warnings = system.probe_system(shared, env_roots, redact, database, loader)
    warnings += sys_warnings
    if proj is not None and proj.remote_url:
        proj = dataclasses.replace(proj, remote_url=redact.url(proj.remote_url))

    return Snapshot(
        envsnap=Meta(generator=f"envsnap {__version__}", created=utc_now(), warnings=tuple(sorted(set(warnings)))),
        platform=plat,
        python=py_env,
        system=sys_table,
        hardware=Hardware(memory_mib=memory, cpu=cpu),
        environment=environment.filter_environment(env, redact),
        project=proj,
    )
