"""``capture()``: run every probe and assemble one Snapshot.

The probes are declared in ``PROBES``, in the order they run. Background probes start first, in threads:
NVML (it can take seconds to initialise GPUs, or hang) and git. While the target interpreter scans its
environment, this process reads the host's package database and the ld.so cache, the CPU and the OS; the
probes that read the target's facts then run in order, each able to read the values of those before it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from .. import _runner, grammar
from .._frozen import frozen
from .._privacy import PathRedactor, scrub_text
from .._version import __version__
from ..errors import ProbeError
from ..model import Framework, Hardware, Meta, PythonEnv, Snapshot
from . import conda, cuda, environment, frameworks, host, kernels, nvidia, project, python, system
from .hostlibs import Loader, PackageDatabase, link_cache, prefetch_environment
from .interface import CaptureOptions, Probe, ProbeContext, ProbeResult, RawPython
from .memo import utc_now

# In the order they run; a probe reads only the values of those before it (``ctx.value_of``).
PROBES: tuple[Probe[Any], ...] = (
    nvidia.PROBE,  # background
    project.PROBE,  # background
    host.HARDWARE,
    host.PLATFORM,
    # From here on, the target interpreter's facts (the first to read them waits for its answer).
    conda.PROBE,
    python.PROBE,
    system.PROBE,
    kernels.PROBE,
    frameworks.PROBE,
    cuda.PROBE,
    frameworks.DEEP,
    environment.PROBE,
)
# The probes that read the machine, not the target environment: a capture of another environment on the same
# host moments later (a rebuild's verify after its compatibility check) takes their results from the first
# (``run_capture(same_host=...)``), with the package database and ld.so cache the first read.
HOST_FACTS = frozenset(p.name for p in (nvidia.PROBE, project.PROBE, host.HARDWARE, host.PLATFORM))


class NotAsked(Probe[Any]):
    """A probe whose fact nothing will read: its value is that of an absent fact, at no cost."""

    def __init__(self, skipped: Probe[Any], value: Any):
        self.name, self.value = skipped.name, value

    def run(self, ctx: ProbeContext) -> ProbeResult[Any]:
        return ProbeResult(self.value)


def check_probes(gpus: bool = True) -> tuple[Probe[Any], ...]:
    """``PROBES`` as the compatibility check needs them (``check``, a rebuild's check, ``fleet node``): not the
    project's git state, nor the recorded environment variables, nor the host's system packages and the
    libraries the environment loads from them (the ELF sections of every shared object of the probed
    interpreter's distributions), nor the CUDA kernels of those shared objects (the rules read the lock's): the rules
    read only which package manager the host has
    (tests/compat/test_check_probes.py holds that the report is the full capture's). ``gpus`` false: nor the
    driver and its GPUs, where no rule reads them for the lock (``compat.reads_gpus``): NVML is not asked, and a
    hung driver holds nothing (the host is recorded as one without a driver)."""
    lean: dict[str, Probe[Any]] = {
        project.PROBE.name: NotAsked(project.PROBE, None),
        environment.PROBE.name: NotAsked(environment.PROBE, {}),
        system.PROBE.name: system.MANAGER,
        kernels.PROBE.name: NotAsked(kernels.PROBE, kernels.NONE),
    }
    if not gpus:
        lean[nvidia.PROBE.name] = NotAsked(nvidia.PROBE, (None, ()))
    return tuple(lean.get(p.name, p) for p in PROBES)


@frozen
class Captured:
    """What a capture found: the Snapshot, each probe's result (its value, warnings and seconds), and the
    target's facts (``verify --files`` reads the changed files from them; never recorded)."""

    snapshot: Snapshot
    results: Mapping[str, ProbeResult[Any]]
    python: RawPython
    # The host's package database and ld.so cache as this capture read them (``run_capture(same_host=...)``).
    system: Future[tuple[PackageDatabase, Loader]] | None = None
    # The git work tree it recorded paths against, and how it redacted (the memos check what they keyed on).
    project_root: str | None = None
    redact: PathRedactor | None = None
    # The probes it left out (``NotAsked``: a check's capture does not ask NVML for a lock that needs no GPU): a
    # capture that takes this one's host facts (``run_capture(same_host=...)``) probes those itself.
    unasked: frozenset[str] = frozenset()

    def loader(self) -> Loader | None:
        """This host's loader as the capture read it (the ld.so cache included), None where it could not."""
        if self.system is None or not self.system.done() or self.system.exception() is not None:
            return None
        return self.system.result()[1]

    def timings(self) -> dict[str, float]:
        """Seconds per probe, and per costly step inside one as ``probe:step`` (``deep:torch``)."""
        out: dict[str, float] = {}
        for name, result in self.results.items():
            out[name] = result.seconds
            out.update({f"{name}:{part}": seconds for part, seconds in result.parts.items()})
        return out

    def changed_files(self) -> dict[str, dict[str, list[str]]]:
        """With ``check_files``: the distributions whose files differ from their RECORD."""
        return {
            p.name: {k: list(v) for k, v in p.changed_files.items()}
            for p in self.python.packages
            if any(p.changed_files.values())
        }


def _working_directory() -> str | None:
    """None when the working directory was removed from under the process: there is no project to record."""
    try:
        return os.getcwd()
    except OSError:
        return None


def _project_root(project_dir: str | None) -> str | None:
    if project_dir is None:
        return project.find_root(here) if (here := _working_directory()) else None
    if not os.path.isdir(project_dir):
        raise ProbeError(f"--project {project_dir}: no such directory")
    root = project.find_root(project_dir)
    if root is None:
        from .. import _tools
        from .gitstate import below_git, refused

        if why := refused(project_dir):
            raise ProbeError(f"--project {project_dir}: {why}")

        if below_git(project_dir) and _tools.git() is None:  # a .git there, and no git to read it
            raise ProbeError(
                f"--project {project_dir}: git is not installed, which reads the project's commit: install git, or "
                "leave --project out"
            )
        raise ProbeError(
            f"--project {project_dir}: not inside a git work tree: name a folder of the project's git clone, whose "
            "commit the lock records"
        )
    return root


def run_capture(
    options: CaptureOptions,
    started: python.PendingProbe | None = None,
    probes: tuple[Probe[Any], ...] = PROBES,
    same_host: Captured | None = None,
    prepared: Future[tuple[PackageDatabase, Loader]] | None = None,
) -> Captured:
    """Run ``probes`` on the environment ``options`` name; ``started``: the target probe already running (the
    CLI starts it before loading envsnap). ``same_host``: a capture of another environment on this host moments ago,
    whose host facts (``HOST_FACTS``, the package database, the ld.so cache) are taken instead of read again;
    only the target's own facts are probed. ``prepared``: the package database and loader being read already
    (``hostlibs.prepare_early``, which the CLI starts with the target probe)."""
    env = os.environ if options.environ is None else options.environ
    root = _project_root(options.project_dir)
    pending: python.PendingProbe | None = None
    if options.python_layer:
        if started is not None and started.interpreter_only != options.interpreter_only:
            started.cancel()  # it reads another part of the interpreter than this capture needs
            started = None
        pending = started or python.PendingProbe(
            options.python_path,
            named=options.python_named,
            check_files=options.check_files,
            use_cache=options.use_cache,
            interpreter_only=options.interpreter_only,
        )
    elif options.conda_prefix is None:
        raise ProbeError("an environment without a Python layer must be a conda prefix")

    fetched: Future[None] | None = None

    def target() -> RawPython:
        if pending is None:
            return RawPython.empty(os.path.abspath(options.conda_prefix or ""))
        raw = pending.result()
        if fetched is not None:
            wait([fetched])  # its memos are the system probe's: done before it reads them (a failure is ignored)
        return raw

    reused = HOST_FACTS - same_host.unasked if same_host is not None else frozenset()
    known = {p.name: same_host.results[p.name] for p in probes if same_host is not None and p.name in reused}
    background = [p for p in probes if p.background and p.name not in known]
    pool = ThreadPoolExecutor(max_workers=len(background) + 2)
    try:
        if same_host is not None and same_host.system is not None:
            prepared = same_host.system  # its capture cache was saved by that capture: this one adds nothing to it
            if pending is not None and options.python_path and system.PROBE in probes:
                # Nothing else to read while the new environment's interpreter is probed (a rebuild's verify):
                # its shared objects are read meanwhile.
                fetched = pool.submit(_prefetch, prepared, options.python_path, options.use_cache)
        elif prepared is None:
            prepared = pool.submit(system.prepare, options.cache_identity(), options.use_cache, system.PROBE in probes)
        ctx = ProbeContext(
            options,
            env,
            python=target,
            redactor=lambda raw: PathRedactor(prefix=raw.prefix, project=root),
            system=prepared,
            project_root=root,
            runner=_runner.run,
        )
        for probe in probes:
            if probe.name in known:
                taken: Future[ProbeResult[Any]] = Future()
                taken.set_result(known[probe.name])
                ctx.start(probe, taken)
        for probe in background:
            ctx.start(probe, pool.submit(probe, ctx))
        for probe in probes:
            if not probe.background and probe.name not in known:
                done: Future[ProbeResult[Any]] = Future()
                ctx.start(probe, done)
                done.set_result(probe(ctx))
        results = {p.name: ctx.result_of(p) for p in probes}
        raw = ctx.python
        if same_host is None and prepared.done() and prepared.exception() is None:
            system.save_caches(*prepared.result())
        elif fetched is not None and fetched.done() and fetched.exception() is None:
            links = prepared.result()[1].links
            if links is not None:
                links.save()
    finally:
        # A failed capture does not wait for a hung driver: the NVML worker has its own timeout.
        pool.shutdown(wait=False)
    unasked = frozenset(p.name for p in probes if isinstance(p, NotAsked))
    return Captured(_snapshot(ctx, results), results, raw, prepared, root, ctx.redact, unasked)


def _prefetch(prepared: Future[tuple[PackageDatabase, Loader]], python_path: str, use_cache: bool) -> None:
    loader = prepared.result()[1]
    if use_cache and loader.sections is not None and loader.links is None:
        # The new environment's shared objects are, file for file, those of the last rebuild of the same wheels
        # (uv links them from its cache): their sections are looked up by device and inode.
        loader.links = link_cache()
    prefetch_environment(loader, python_path)


def _snapshot(ctx: ProbeContext, results: Mapping[str, ProbeResult[Any]]) -> Snapshot:
    def value(probe: Probe[Any]) -> Any:
        return results[probe.name].value

    redact = ctx.redact
    # Warnings quote paths and messages of other programs: the same rules as every recorded value.
    # A lock holds no control characters (docs/security.md): a file name or a message quoted in a warning shows
    # one as U+FFFD, and the text is cut where the loader's limit is.
    warnings = {grammar.strip_control(scrub_text(redact.text(w)))[:4096] for r in results.values() for w in r.warnings}
    layer: conda.CondaLayer | None = value(conda.PROBE)
    hardware: Hardware = value(host.HARDWARE)
    nv, gpus = value(nvidia.PROBE)
    found: kernels.Found = value(kernels.PROBE)
    return Snapshot(
        envsnap=Meta(generator=f"envsnap {__version__}", created=utc_now(), warnings=tuple(sorted(warnings))),
        platform=value(host.PLATFORM),
        python=_with_kernels(value(python.PROBE), found.packages),
        system=value(system.PROBE),
        hardware=dataclasses.replace(hardware, gpus=gpus),
        environment=value(environment.PROBE),
        project=value(project.PROBE),
        conda=layer.conda if layer else None,
        nvidia=nv,
        cuda=value(cuda.PROBE),
        frameworks=_torch_kernels(value(frameworks.DEEP), found),
    )


def _with_kernels(env: PythonEnv, found: Mapping[str, kernels.Kernels]) -> PythonEnv:
    """The Python layer with each distribution's CUDA kernels (``kernels.PROBE``)."""
    if not found:
        return env
    packages = tuple(
        dataclasses.replace(
            p, cuda_kernels=found[p.name][0], cuda_kernels_partial=found[p.name][1], cuda_ptx_isa=found[p.name][2]
        )
        if p.name in found
        else p
        for p in env.packages
    )
    return dataclasses.replace(env, packages=packages)


def _torch_kernels(found: dict[str, Framework], read: kernels.Found) -> dict[str, Framework]:
    """The frameworks with torch's own kernels (its ``libtorch_cuda``'s, ``kernels.Found``), where read whole, and
    whether a limit cut their reading short."""
    torch = found.get("torch")
    if torch is None or not (read.torch_cuda or read.torch_cuda_partial):
        return found
    own = dataclasses.replace(torch, cuda_kernels=read.torch_cuda, cuda_kernels_partial=read.torch_cuda_partial)
    return {**found, "torch": own}


def _option_fields() -> frozenset[str]:
    """The fields ``capture``'s keywords may set: ``CaptureOptions``'s, as its constructor takes them."""
    return frozenset(f.name for f in dataclasses.fields(CaptureOptions) if f.init)


def capture(
    python: str | None = None,
    project_dir: str | None = None,
    *,
    python_path: str | None = None,
    options: CaptureOptions | None = None,
    probe: python.PendingProbe | None = None,
    timings: dict[str, float] | None = None,
    changed_files: dict[str, dict[str, list[str]]] | None = None,
    output: str | os.PathLike[str] | None = None,
    same_host: Captured | None = None,
    prepared: Future[tuple[PackageDatabase, Loader]] | None = None,
    kept: list[Captured] | None = None,
    **keywords: Any,
) -> Snapshot:
    """Capture an environment: ``run_capture`` for the Snapshot alone.

    ``options``: what to capture (``CaptureOptions``); the positional arguments and ``keywords`` (any of its
    fields: ``environ``, ``deep``, ``gpu_ids``, ``gpu_timeout``, ``deep_timeout``, ``conda_prefix``,
    ``python_layer``, ``output``) override it. ``python``: the interpreter of the environment to capture
    (default: the one running envsnap), the name ``verify`` and ``check`` give it; ``python_path`` is its alias
    (the name capture gave it first). ``project_dir``: the project whose git state to record (default: the
    working directory, when it is inside a git work tree). ``probe``: the probe of ``python`` already
    started. A keyword none of these is refused in capture's name (a ``TypeError``, as Python's own), not
    ``CaptureOptions``'s. ``changed_files``: when given, every distribution's files are hashed and compared with its
    RECORD, and the dict is filled with ``{name: {"modified": [...], "missing": [...]}}`` for those that
    differ (never recorded in the lock: ``envsnap verify --files`` reports it). ``timings``: filled with
    seconds per probe (``nvidia``, ``cuda``, ``deep:<framework>`` ...) for the caller to report; never
    recorded in the lock. ``same_host``: a capture on this host moments ago whose host facts are taken
    (``run_capture``). ``prepared``: the package database and loader being read already (``run_capture``).
    ``kept``: given a list, the whole capture is appended to it (what it read: ``probes/memo.py``).
    """
    if python is not None and python_path is not None:
        raise TypeError("capture() got both python= and python_path= (python_path is python's alias: give one)")
    unknown = [k for k in keywords if k not in _option_fields()]
    if unknown:
        raise TypeError(f"capture() got an unexpected keyword argument {unknown[0]!r}")
    given = {"python_path": python or python_path, "project_dir": project_dir, "output": output}
    changes = {k: v for k, v in given.items() if v is not None} | keywords
    if "output" in changes:
        changes["output"] = os.fspath(changes["output"])
    if changed_files is not None:
        changes["check_files"] = True
    captured = run_capture(
        dataclasses.replace(options or CaptureOptions(), **changes),
        started=probe,
        same_host=same_host,
        prepared=prepared,
    )
    if kept is not None:
        kept.append(captured)
    if timings is not None:
        timings.update(captured.timings())
    if changed_files is not None:
        changed_files.update(captured.changed_files())
    return captured.snapshot
