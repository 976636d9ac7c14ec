"""``envsnap fleet``: one lock against every node of a Slurm cluster.

``check_fleet`` runs ``envsnap fleet node LOCK`` once on every selected node (one ``srun`` each, side by side),
gathers the answers and builds a ``FleetReport``; ``capture_fleet`` gathers one capture per node into a
``FleetFile`` (``fleetfile.py``); ``prolog`` is the quick check a Slurm TaskProlog or Prolog runs before a job.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _defaults, lockfile
from .._frozen import frozen
from ..errors import EnvsnapError, LockfileError, UsageError
from ..grammar import shown, strip_terminal
from .node import FACTS, GPU_SHARE, lock_digest

if TYPE_CHECKING:
    from ..model import Snapshot
    from .fleetfile import FleetFile
    from .report import FleetReport, NodeResult
    from .slurm import GpuRequest, NodeRun, NodeState, Selection

# The login node's parts (Slurm, the report, FLEET.toml) are imported when used: ``fleet node`` and a prolog that
# passes, which every node runs, need none of them (start-up is most of a node's answer).
_LAZY = {
    "FleetFile": "fleetfile",
    "FleetReport": "report",
    "GpuRequest": "slurm",
    "NodeResult": "report",
    "NodeRun": "slurm",
    "NodeState": "slurm",
    "Selection": "slurm",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)


__all__ = [
    "FACTS",
    "DrainOutcome",
    "FleetFile",
    "FleetReport",
    "GpuRequest",
    "NodeResult",
    "NodeRun",
    "NodeState",
    "PrologOutcome",
    "Selection",
    "capture_fleet",
    "check_fleet",
    "drain_failing",
    "node_command",
    "prolog",
    "requeue",
]

DEFAULT_TIMEOUT = _defaults.FLEET_TIMEOUT
LOCK_ENV = _defaults.FLEET_LOCK_ENV
PROLOG_NVML_TIMEOUT = 5.0  # the prolog waits this long for the driver, then calls it hung
MAX_REASON = 200  # characters of a Slurm drain reason


def node_command(explicit: str | None, argv0: str = "", executable: str = "") -> list[str]:
    """How the nodes start envsnap: ``--envsnap PATH``; else the program running now (the same path, as on a
    shared file system); else ``envsnap`` from the nodes' PATH."""
    if explicit:
        return [explicit]
    argv0 = argv0 or sys.argv[0]
    name = os.path.basename(argv0)
    if name.startswith("envsnap") and os.path.isfile(argv0) and os.access(argv0, os.X_OK):
        return [os.path.abspath(argv0)]
    if name == "__main__.py" and Path(argv0).parent.name == "envsnap":  # python -m envsnap
        return [executable or sys.executable, "-m", "envsnap"]
    return ["envsnap"]


def _check_timeout(timeout: float, gpu_timeout: float | None = None) -> None:
    if not (math.isfinite(timeout) and timeout > 0):  # nan and inf are floats too
        raise UsageError(f"--timeout {timeout:g}: must be a number of seconds more than 0")
    if gpu_timeout is not None and not gpu_timeout < timeout:
        # The driver's wait could never end before the node's whole answer is due: a hung node would be
        # "unreachable: no answer within --timeout", never "hung".
        raise UsageError(
            f"--gpu-timeout {gpu_timeout:g}: must be less than --timeout {timeout:g}, which counts each node's whole "
            "answer, the driver's wait included"
        )


def _gpu_timeout_args(timeout: float, gpu_timeout: float | None) -> list[str]:
    """The nodes' ``--gpu-timeout``: the one given; else half of ``timeout`` where the nodes' own default
    (``GPU_TIMEOUT``, 10 s) does not fit in that half, or a node whose driver hangs reads "unreachable: no answer
    within --timeout", never hung; else none, so a node's envsnap of before the option still answers."""
    if gpu_timeout is None and timeout * GPU_SHARE < _defaults.GPU_TIMEOUT:
        gpu_timeout = timeout * GPU_SHARE
    return [] if gpu_timeout is None else ["--gpu-timeout", str(gpu_timeout)]


def needs_gpus(lock: Snapshot, *, cpu_only: bool = False) -> bool:
    """Whether a check of ``lock`` needs the nodes' GPUs: it records NVIDIA GPUs, or its environment needs CUDA
    (the reading of the compatibility rules), and GPU failures are not accepted (``--cpu-only``)."""
    from ..cudaneed import cuda_need

    return not cpu_only and (bool(lock.hardware.gpus) or cuda_need(lock) is not None)


def check_fleet(
    lock_path: str,
    selection: Selection,
    *,
    envsnap: Sequence[str],
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    cpu_only: bool = False,
    gpus: GpuRequest | None = None,
    gpu_timeout: float | None = None,
    on_nodes: Callable[[list[NodeState]], None] | None = None,
    on_done: Callable[[NodeRun], None] | None = None,
) -> FleetReport:
    """The lock checked on every selected node. The lock's path must be readable on the nodes (a shared file
    system, as Slurm jobs' working directories are). ``gpus``: the GPUs each node's srun asks for; default all
    of the node's when the lock needs them (``needs_gpus``), else none. ``gpu_timeout``: how long each node waits
    for its NVIDIA driver (``fleet node --gpu-timeout``; None: the node's own default where it fits in half of
    ``timeout``, and no option is passed, so a node's envsnap of before the option still answers, else half of
    ``timeout``); less than ``timeout``, which counts the whole answer."""
    from . import slurm
    from .report import build

    _check_timeout(timeout, gpu_timeout)
    lock = lockfile.load(lock_path)  # a bad lock is refused here, before any node is asked
    environ = dict(os.environ if env is None else env)
    states = slurm.resolve(selection, environ, timeout=timeout)
    if on_nodes is not None:
        on_nodes(states)
    command = [*envsnap, "fleet", "node", os.path.abspath(lock_path), *(["--cpu-only"] if cpu_only else [])]
    command += _gpu_timeout_args(timeout, gpu_timeout)
    if gpus is None:
        gpus = "all" if needs_gpus(lock, cpu_only=cpu_only) else 0
    runs = slurm.run_on_nodes(
        [s for s in states if s.available], command, env=environ, timeout=timeout, on_done=on_done, gpus=gpus
    )
    return build(lock_path, lock_digest(lock), states, runs, timeout=timeout)


@frozen
class DrainOutcome:
    """What ``fleet check --drain`` did to one node: ``drained`` with ``reason``, ``left`` as it was (drained or down
    already, by someone else, or not tried: ``detail`` says so), or ``failed`` (``detail``: scontrol's why)."""

    node: str
    action: str  # "drained", "left", "failed"
    reason: str = ""  # the drain reason asked for ("" for a node left as it was, not asked for one)
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"node": self.node, "action": self.action, "reason": self.reason, "detail": self.detail}


# sinfo's states (%T) of a node someone has taken out of service already: drained or draining, down, failed.
_TAKEN_OUT = ("drain", "down", "fail")


def drain_failing(
    report: FleetReport, *, unanswered: bool = False, env: Mapping[str, str] | None = None
) -> list[DrainOutcome]:
    """Drain the nodes ``report`` found incompatible, each with the reason ``fleet prolog`` gives
    (``cannot_run_reason``); with ``unanswered``, also the nodes tried that gave no answer to take (unreachable
    after their srun, invalid: ``cannot_check_reason``). A compatible node, or one with warnings, is never touched;
    nor is one Slurm now reports drained, down or failed (someone else's), nor one not tried: each is ``left``.
    Only the names sinfo lists now are drained, each through scontrol's argv (no shell)."""
    from . import hostlist
    from .slurm import drain, is_node_name, node_states

    environ = dict(os.environ if env is None else env)
    digest = report.lock_digest.partition(":")[2][:12]
    wanted: dict[str, str] = {}
    outcomes: list[DrainOutcome] = []
    for r in sorted(report.results, key=lambda r: hostlist.node_order(r.node)):
        if r.verdict == "incompatible":
            problems = [problem_line(p.component, p.needed, p.found) for p in r.failures]
            head = reason_head(r.failures[0].component, r.failures[0].needed) if r.failures else ""
            wanted[r.node] = cannot_run_reason(digest, problems, head)
        elif unanswered and r.verdict in ("unreachable", "invalid"):
            if r.tried:
                wanted[r.node] = cannot_check_reason(r.reason)
            else:
                outcomes.append(DrainOutcome(r.node, "left", detail=f"not tried: {r.reason}"))
    if not wanted:
        return outcomes
    try:
        # Now, not as the check began: a node drained meanwhile (by a prolog, an operator) keeps its reason.
        now = {s.name: s for s in node_states(environ, names=[n for n in wanted if is_node_name(n)])}
    except EnvsnapError as exc:
        why = f"Slurm's state of the node could not be read: {exc}"
        return outcomes + [DrainOutcome(n, "failed", reason, why) for n, reason in wanted.items()]
    for node, reason in wanted.items():
        state = now.get(node)
        if not is_node_name(node):
            outcomes.append(DrainOutcome(node, "left", detail=f"{shown(node)} is no node name scontrol is given"))
        elif state is None:
            outcomes.append(DrainOutcome(node, "left", detail="sinfo does not list the node now"))
        elif any(word in state.state for word in _TAKEN_OUT):
            said = f"Slurm reports it {state.state}" + (f" ({state.reason})" if state.reason else "")
            outcomes.append(DrainOutcome(node, "left", detail=said))
        else:
            why = drain(node, reason, environ)
            done = DrainOutcome(node, "drained", reason)
            outcomes.append(DrainOutcome(node, "failed", reason, strip_terminal(why)) if why else done)
    return outcomes


def capture_fleet(
    selection: Selection,
    *,
    envsnap: Sequence[str],
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    gpus: GpuRequest = "all",
    gpu_timeout: float | None = None,
    on_nodes: Callable[[list[NodeState]], None] | None = None,
    on_done: Callable[[NodeRun], None] | None = None,
) -> FleetFile:
    """One ``envsnap capture -o -`` per selected node, gathered into one ``FleetFile``; the nodes without a
    capture are listed with why. ``gpus``: the GPUs each node's srun asks for (default all of the node's: a
    task given none sees none where Slurm constrains jobs to their devices). ``gpu_timeout``: how long each
    node's capture waits for its NVIDIA driver (``capture --gpu-timeout``; None: the node's own default, or half of
    ``timeout`` where that does not fit), as ``check_fleet`` passes it."""
    from . import fleetfile, slurm
    from .report import from_run, unreachable

    _check_timeout(timeout, gpu_timeout)
    environ = dict(os.environ if env is None else env)
    states = slurm.resolve(selection, environ, timeout=timeout)
    if on_nodes is not None:
        on_nodes(states)
    command = [*envsnap, "capture", "-o", "-", *_gpu_timeout_args(timeout, gpu_timeout)]
    runs = slurm.run_on_nodes(
        [s for s in states if s.available],
        command,
        env=environ,
        timeout=timeout,
        on_done=on_done,
        gpus=gpus,
    )
    captures: dict[str, str] = {}
    missing: dict[str, str] = {}
    invalid: dict[str, str] = {}
    for state in states:
        run = runs.get(state.name)
        if run is None:
            missing[state.name] = unreachable(state).reason
        elif run.returncode == 0 and not run.timed_out and not run.flooded:
            captures[state.name] = slurm.document(run.stdout, "[envsnap]")  # a lock begins so
        else:
            # Judged as ``fleet check`` judges a node's run: reached, with no capture to take (no envsnap at
            # --envsnap there, its task killed or failed), is invalid with the cause; only a node srun could not
            # reach or that did not answer in time is unreachable.
            # A capture that missed the deadline said only that it began ("capturing /home/me/venv ..."): the
            # line names a path the capture itself would have redacted, and FLEET.toml is shared.
            said = dataclasses.replace(run, stderr="") if run.timed_out else run
            result = from_run(said, lock_digest="", timeout=timeout, advice=False)
            (invalid if result.verdict == "invalid" else missing)[state.name] = result.reason or "no capture"
    return fleetfile.from_captures(captures, missing, invalid)


@frozen
class PrologOutcome:
    exit_code: int  # 0: the node can run the lock (or nothing to check); 3: it cannot; 2: the lock is unreadable
    line: str  # the one line for the Slurm log ("" when there was nothing to check)
    requeue_job: str = ""  # the batch job to put back in the queue, once the line is written (``requeue``)


def in_task_prolog(env: Mapping[str, str]) -> bool:
    """Whether this runs in Slurm's TaskProlog, not in the job's task that follows it: Slurm 22.05 leaves
    ``SLURM_SCRIPT_CONTEXT=prolog_task`` in the task's environment too, so a ``srun envsnap fleet prolog`` in a
    job step took itself for the TaskProlog and asked to requeue its own job. The TaskProlog runs before the
    task's process becomes the job's program: that process (``SLURM_TASK_PID``) is still slurmstepd then."""
    if env.get("SLURM_SCRIPT_CONTEXT") != "prolog_task":
        return False
    task = env.get("SLURM_TASK_PID", "")
    if not task.isdigit():
        return True  # no task to tell by: the context Slurm names
    try:
        program = os.readlink(f"/proc/{task}/exe")
    except OSError:
        return True
    return os.path.basename(program).startswith("slurmstepd")


def requeue(outcome: PrologOutcome, environ: Mapping[str, str] | None = None) -> str:
    """Put the refused job back in the queue; "" when done (or nothing to do), else why not. Called after the
    line is written: requeueing ends the job's processes, this one included."""
    if not outcome.requeue_job:
        return ""
    from . import slurm

    return slurm.requeue(outcome.requeue_job, os.environ if environ is None else environ)


def prolog(
    lock_path: str | None,
    environ: Mapping[str, str] | None = None,
    *,
    python_timeout: float = _defaults.PROBE_TIMEOUT,
    cpu_only: bool = False,
) -> PrologOutcome:
    """The quick check before a job: can this node run the job's lock (``lock_path``, else ``$ENVSNAP_LOCK``)?
    When not, the node is drained with envsnap's reason (where Slurm lets this process do it) and, from a
    TaskProlog, a batch job is put back in the queue so that it runs on another node. ``python_timeout``: how long
    the environment's interpreter may take to answer envsnap's probe (the job waits that long for a hung one).
    ``cpu_only``: a CPU partition's prolog, GPU failures accepted (``check --cpu-only``) and the driver not asked."""
    from ..probes.python import PendingProbe
    from .node import node_target, probe

    env = os.environ if environ is None else environ
    path = lock_path or env.get(LOCK_ENV, "")
    if not path:
        return PrologOutcome(0, "")
    node = env.get("SLURMD_NODENAME", "") or os.uname().nodename
    # The root Prolog: Slurm drains the node on any failure, as "Prolog error", and the line went only to a log.
    # Drained first, with why, as for a lock the node cannot run (exit 2 all the same). A TaskProlog's lock and
    # environment are the job's own, and no prolog drains nothing: bad input, exit 2.
    root_prolog = bool(env.get("SLURMD_NODENAME")) and env.get("SLURM_SCRIPT_CONTEXT") == "prolog_slurmd"
    try:
        chosen, environment, python_layer = node_target(env)
        started = PendingProbe(chosen.python, named=chosen.named(), timeout=python_timeout)  # scans as the lock loads
    except EnvsnapError as exc:
        if not root_prolog:
            raise
        # The node's environment (a VIRTUAL_ENV on a shared file system not mounted here): the node's fault.
        return _refused(node, cannot_check_reason(str(exc)), path, env, exit_code=exc.exit_code)
    try:
        lock = lockfile.load(path)
    except LockfileError as exc:
        if not root_prolog:
            raise
        return _refused(node, _reason(f"envsnap: cannot read lock: {exc}"), path, env, exit_code=EXIT_BAD_LOCK)
    # The verdict alone, not the matrix's facts: NVML is asked only for a lock a rule reads the driver for (a hung
    # driver held each job of a CPU-only lock for the whole timeout).
    try:
        result = probe(
            lock,
            chosen,
            node=node,
            lock_path=path,
            cpu_only=cpu_only,
            gpu_timeout=PROLOG_NVML_TIMEOUT,
            started=started,
            gpu_facts=False,
            python_layer=python_layer,
            environment=environment,
        )
    except EnvsnapError as exc:
        if not root_prolog:
            raise
        # Its environment's interpreter hung or failed (a file system that does not answer).
        return _refused(node, cannot_check_reason(str(exc)), path, env, exit_code=exc.exit_code)
    failed = [f for f in result["check"]["findings"] if f["severity"] == "fail"]
    problems = [problem_line(f["component"], f["needed"], f["found"]) for f in failed]
    differences = result["python_layer"]["differences"]
    problems += [d["description"] for d in differences]
    heads = [reason_head(f["component"], f["needed"]) for f in failed]
    heads += [reason_head(d["subject"], d["expected"]) for d in differences]
    digest = lock_digest(lock).partition(":")[2][:12]
    if not problems:
        return PrologOutcome(0, strip_terminal(f"envsnap: {node} can run {path} (lock {digest})"))
    return _refused(node, cannot_run_reason(digest, problems, heads[0]), path, env, exit_code=3)


EXIT_BAD_LOCK = 2  # a lock the prolog cannot read, as any command's bad input


def problem_line(component: str, needed: str, found: str) -> str:
    """One failure as a drain reason names it."""
    return f"{component}: needs {needed}, found {found}"


# What ``sinfo -R`` shows of a reason by default (its ``%20E``): "envsnap: " and the head of the first problem.
SINFO_REASON_WIDTH = 20
_HEAD_WIDTH = SINFO_REASON_WIDTH - len("envsnap: ")
_SHORT_COMPONENT = {
    "NVIDIA driver": "driver",
    "NVIDIA runtime": "runtime",
    "C library": "libc",
    "system library": "system lib",
    "system packages": "system pkg",
    "conda packages": "conda",
    "conda platform": "conda",
    "disk space": "disk",
    "GPU memory": "GPU memory",
}


def reason_head(component: str, needed: str) -> str:
    """The first problem in a few characters, what sets one drained node apart from another in ``sinfo -R``'s
    20-character column (``driver<530``, ``torch 2.3.0``, ``CUDA 12.1``): every reason read "envsnap: cannot
    run" there. ``needed`` is the failure's (a lower bound: the name and ``<`` its major number) or the locked
    version of a package that differs."""
    label = _SHORT_COMPONENT.get(component, component)
    candidates = []
    _, bound, above = needed.rpartition(">=")
    major = above.strip().split(".")[0] if bound else ""
    if major.isdigit():
        candidates.append(f"{label}<{major}")
    elif needed and len(needed.split()) == 1:
        candidates.append(f"{label} {needed}")
    candidates.append(label)
    fitting = next((c for c in candidates if len(c) <= _HEAD_WIDTH), label[:_HEAD_WIDTH])
    return strip_terminal(" ".join(fitting.split()))


def cannot_run_reason(digest: str, problems: Sequence[str], head: str = "") -> str:
    """The drain reason of a node that cannot run the lock of ``digest`` (its first 12 hex digits), the same from
    ``fleet prolog`` and ``fleet check --drain``: ``sinfo -R`` reads alike whichever drained the node. ``head``
    (``reason_head`` of the first problem) comes first, within the 20 characters ``sinfo -R`` shows; the whole
    reason is in ``scontrol show node``."""
    first = f"{head}: " if head else ""
    return _reason(f"envsnap: {first}cannot run lock {digest}: {'; '.join(problems)}")


def cannot_check_reason(why: str) -> str:
    """The drain reason of a node whose environment could not be checked (``fleet prolog``), or that gave no answer
    to take (``fleet check --drain-unanswered``)."""
    return _reason(f"envsnap: cannot check the node: {why}")


def _reason(text: str) -> str:
    """A Slurm drain reason: one line without control characters, at most ``MAX_REASON`` characters."""
    reason = strip_terminal(" ".join(text.split()))
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "..."


def _refused(node: str, reason: str, path: str, env: Mapping[str, str], *, exit_code: int) -> PrologOutcome:
    """The job must not run here: under Slurm the node is drained with ``reason`` and, from a TaskProlog, a batch
    job is put back in the queue once it is."""
    line = f"{reason} ({shown(path, 120)} on {node})"
    job = ""
    if env.get("SLURMD_NODENAME"):
        from . import slurm

        why = slurm.drain(node, reason, env)
        line += "; node drained" if not why else f"; could not drain the node: {strip_terminal(why)}"
        job_id = env.get("SLURM_JOB_ID", "")
        if not why and job_id.isdigit() and in_task_prolog(env) and slurm.batch_job(job_id, env) is not False:
            # A failing Prolog makes Slurm requeue a batch job itself; a TaskProlog only fails the task. Only
            # once the node is drained: Slurm lets a job's owner requeue it without operator rights, and a job
            # requeued from a node still open came back to it, failing and requeued again without end. Only a
            # batch job: an interactive one (srun's, salloc's) read "requeueing the job", then "the job was not
            # requeued: Only batch jobs are accepted".
            job = job_id
            line += "; requeueing the job"
    return PrologOutcome(exit_code, line, job)
