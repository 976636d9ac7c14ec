"""The public operations that stand on several layers at once (``envsnap.check``): they probe this host, so they
live above the pure rules, and they take a target by name, so they look it up among the rebuild targets."""

from __future__ import annotations

import dataclasses

from .compat import HOST, Report, Target, TargetKind, evaluate, find_libraries, reads_gpus
from .model import Snapshot
from .probes.capture import check_probes, run_capture
from .probes.interface import CaptureOptions
from .rebuild import check_target

__all__ = ["check"]


def check(
    lock: Snapshot,
    host: Snapshot | None = None,
    *,
    target: TargetKind | Target = HOST,
    python: str | None = None,
    cpu_only: bool = False,
    cache: bool = True,
    gpu_timeout: float | None = None,
    python_named: str | None = None,
    lock_path: str | None = None,
) -> Report:
    """The compatibility report of ``lock`` on ``host`` (default: probe this host, with ``python`` as the
    interpreter that would run the environment) for ``target``: "host" or a rebuild target's name (``envsnap
    rebuild``'s ``--target``; an unknown one is bad input, exit code 2), probed here, or a ready ``Target``.
    ``cache``: False probes without the capture cache (``--no-cache``). ``gpu_timeout``: how long the probe waits
    for NVML (``--gpu-timeout``; default ``GPU_TIMEOUT``), which a finding about a driver that did not answer names.
    ``python_named``: how an error of the probe names ``python`` (``TargetEnvironment.named``; default: as
    ``--python`` names it). ``lock_path``: the lock as the user gave it, which a remedy's ``envsnap pin`` names
    (default: ``LOCK``)."""
    if isinstance(target, Target):
        resolved = dataclasses.replace(target, cpu_only=target.cpu_only or cpu_only)
    else:
        resolved = check_target(target, cpu_only=cpu_only)
    if gpu_timeout is not None:
        resolved = dataclasses.replace(resolved, gpu_timeout=gpu_timeout)
    if lock_path is not None:
        from ._bundlelock import pin_command

        resolved = dataclasses.replace(resolved, pin_command=pin_command(lock_path))
    # The rules read no git state: the project's is not captured (several git subprocesses).
    if host is None:
        visible = resolved.cuda_visible_devices or ""
        options = CaptureOptions(
            python_path=python,
            python_named=python_named,
            project_state=False,
            use_cache=cache,
            interpreter_only=resolved.facts.installs_packages,
            # GPU and MIG UUIDs in CUDA_VISIBLE_DEVICES are matched with this host's (``cuda_selected``); the host's
            # snapshot is judged in memory and written nowhere.
            gpu_ids=visible.startswith(("GPU-", "MIG-")),
        )
        if gpu_timeout is not None:
            options = dataclasses.replace(options, gpu_timeout=gpu_timeout)
        # What the rules read, no more: not NVML where no rule reads the driver for this lock (a hung one held a
        # CPU lock's check for the whole GPU timeout).
        captured = run_capture(options, probes=check_probes(gpus=reads_gpus(lock, target=resolved)))
        host = captured.snapshot
        if not resolved.container and resolved.libraries is None:  # this host's loader, for the system-libs rule
            resolved = dataclasses.replace(resolved, libraries=find_libraries(lock, captured.loader()))
        resolved = _exact_python(lock, host, resolved)
    return evaluate(lock, host, resolved)


def _exact_python(lock: Snapshot, host: Snapshot, target: Target) -> Target:
    """``target`` with ``exact_python``: where the interpreter judged is not the lock's release, one of it that
    this host has, looked for as a venv rebuild looks (PATH, pyenv, ``uv python find``; nothing downloaded), for
    the remedy to name; and with ``uv``, the uv the remedy names to get one where there is none. Only then: an
    interpreter that matches starts no search. The lock's release is judged as the Python rule judges it
    (``is_python_release``): a lock naming a minor release alone (``3.11``) is met by any patch release of it."""
    from .platforms import is_python_release

    want = lock.python.version
    if not want or not host.python.version or is_python_release(want, host.python.version):
        return target
    if target.provides_python or not target.python_options:
        return target
    from . import _tools
    from .errors import EnvsnapError
    from .rebuild.venv import find_interpreter

    # None found here: the remedy says how to get one, with the uv envsnap runs named so that it runs as printed.
    target = dataclasses.replace(target, uv=_tools.uv_word())
    try:
        found, _notes = find_interpreter(lock, None, offline=True)
    except EnvsnapError:
        return target
    if not found.path or not is_python_release(want, found.version):
        return target
    return dataclasses.replace(target, exact_python=found.path)
