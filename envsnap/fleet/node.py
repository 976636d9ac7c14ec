"""The node's half of ``envsnap fleet check``: what one node answers, as a JSON-ready mapping.

One capture of the node serves both questions a fleet asks: can this node run the lock (the rules of
``envsnap check``) and is its Python layer the locked one (the comparison of ``envsnap verify``; a drifted
package passes every rule of ``check`` but makes a multi-node run diverge). The answer also carries the facts
the fleet matrix shows (driver, CUDA, GPUs, torch, glibc, Python, a digest of the Python layer), so nodes can be
grouped by what they are, not only by their verdict.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._defaults import NVML_HUNG
from .._lazyre import LazyPattern
from ..model import Nvidia, Snapshot

if TYPE_CHECKING:
    from ..compat import Report
    from ..probes.interface import Probe, ProbeContext, ProbeResult
    from ..probes.python import PendingProbe, TargetEnvironment

# The comparison, the rules and the capture are imported where a node answers, not by ``fleet check`` on the
# login node, which only reads the answers (start-up time is most of a short command's).

NODE_FORMAT = 1
# The matrix's columns, in order: the keys of an answer's "facts".
FACTS = ("driver", "cuda_driver", "cuda_runtime", "cudnn", "nccl", "gpus", "torch", "glibc", "python", "python_layer")
MAX_DIFFERENCES = 20  # of the Python layer, per node: the first ones name the drift, the count says the rest
# Of a node's --timeout, the share its driver may take when --gpu-timeout is not given: the other half is srun's
# start, envsnap's start-up on the node and the rest of its answer (docs/design.md, "The driver's wait is shorter
# than the node's").
GPU_SHARE = 0.5

# What ``fleet node`` writes to its standard error while it waits on what may not answer (the NVIDIA driver),
# and once that answered: srun passes it on as it comes, so for a node that missed ``fleet check``'s deadline,
# what it printed until then says what it was waiting on (``waiting_on``), where "no answer within 120 s" said
# nothing of it. One line each: "envsnap fleet node: waiting for nvml (at most 10 s)", "... nvml answered". The
# environment's interpreter is named after its wait: "envsnap fleet node: waiting for python (at most 120 s): PATH".
_NOTE = "envsnap fleet node: "
_WAITING = LazyPattern(r"^envsnap fleet node: waiting for ([a-z]+) \(at most ([0-9.]+) s\)(?:: (.+))?$")
_ANSWERED = LazyPattern(r"^envsnap fleet node: ([a-z]+) answered$")
NVML_WAIT = "nvml"
PYTHON_WAIT = "python"  # the environment's interpreter, answering envsnap's probe


def is_note(line: str) -> bool:
    """A line of ``fleet node``'s notes on what it waits on (no part of why a task failed)."""
    return line.startswith(_NOTE)


def waiting_on(stderr: str) -> tuple[tuple[str, float, str], ...]:
    """What a node that gave no answer in time was still waiting on, from its standard error until the deadline
    (untrusted: only the notes' own words are read): each wait it began and saw no answer to, in the order it
    began them (the driver and the interpreter are probed at once: both can hang), as its name (``NVML_WAIT``,
    ``PYTHON_WAIT``), its bound in seconds and what the note names after it (the interpreter's path; "" for
    NVML); none where it said it waited on nothing, or was not ``fleet node``."""
    pending: dict[str, tuple[float, str]] = {}
    for line in stderr.splitlines():
        line = line.strip()
        waiting = _WAITING.match(line)
        if waiting:
            with contextlib.suppress(ValueError):
                pending[waiting.group(1)] = (float(waiting.group(2)), waiting.group(3) or "")
            continue
        answered = _ANSWERED.match(line)
        if answered:
            pending.pop(answered.group(1), None)
    return tuple((name, bound, what) for name, (bound, what) in pending.items())


def _announced(probe: Probe[Any], say: Callable[[str], None]) -> Probe[Any]:
    """The NVIDIA driver probe, saying on ``say`` when it begins to wait on NVML and when NVML answered (a node
    without the library waits on nothing and says nothing). Made here: ``fleet check`` reads this module without
    the probes."""
    from ..probes.interface import Probe
    from ..probes.nvidia import find_library

    class Announced(Probe[Any]):
        name, background = probe.name, probe.background

        def run(self, ctx: ProbeContext) -> ProbeResult[Any]:
            if find_library(ctx.environ) is None:
                return probe.run(ctx)
            say(f"{_NOTE}waiting for {NVML_WAIT} (at most {ctx.options.gpu_timeout:g} s)")
            result = probe.run(ctx)
            say(f"{_NOTE}{NVML_WAIT} answered")
            return result

        def fallback(self, ctx: ProbeContext) -> Any:
            return probe.fallback(ctx)

    return Announced()


def answer_exit(verdict: str) -> int:
    """The exit status ``envsnap fleet node`` ends with after printing an answer of ``verdict``: 3 for a node that
    cannot run the lock, else 0. ``fleet check`` holds a node's task to it: a task that printed an answer and
    exited otherwise did not end as envsnap ends."""
    return 3 if verdict == "incompatible" else 0


def python_layer_digest(snapshot: Snapshot) -> str:
    """A digest of the installed Python packages (name, version, RECORD digest): equal on two nodes when their
    Python layers are the same files."""
    h = hashlib.sha256()
    for pkg in sorted(snapshot.python.packages, key=lambda p: p.name):
        h.update(f"{pkg.name}\0{pkg.version}\0{pkg.record_digest}\n".encode())
    return "sha256:" + h.hexdigest()


def lock_digest(lock: Snapshot) -> str:
    """The digest a node's answer and a prolog's reason name the lock by: its seal, or (a lock without one, written
    or edited by hand) its content's. An unsealed lock's "" matched any other unsealed lock a node read at the
    same path (a file system not shared), and a drained node's reason read "cannot run lock ?"."""
    if lock.envsnap.content_digest:
        return lock.envsnap.content_digest
    from .. import lockfile

    return lockfile.canonical_digest(lockfile.to_dict(lock))


def driver_fact(nv: Nvidia | None) -> str:
    """The matrix's driver: its version; "" without a driver; where NVML was there but gave no version, why
    ("hung: no answer within 10 s", "error: ..."), so that a hung node is not grouped with the driverless ones."""
    if nv is None:
        return ""
    if nv.driver_version:
        return nv.driver_version
    if nv.error.startswith(NVML_HUNG):  # "NVML did not answer within 10 s (a hung driver?)" (probes/nvidia.py)
        return "hung: no answer within" + nv.error[len(NVML_HUNG) :].partition(" (")[0]
    return f"error: {nv.error}" if nv.error else "no version"


def facts(snapshot: Snapshot) -> dict[str, str]:
    """The matrix's facts of one captured node ("" where the node has none)."""
    nv, cuda = snapshot.nvidia, snapshot.cuda
    gpus = Counter(f"{g.name or 'GPU'} (sm {g.compute_capability or '?'})" for g in snapshot.hardware.gpus)
    torch = snapshot.frameworks.get("torch")
    py = snapshot.python
    libc = snapshot.platform
    return {
        "driver": driver_fact(nv),
        "cuda_driver": nv.cuda_driver_version if nv else "",
        "cuda_runtime": cuda.runtime_version if cuda else "",
        "cudnn": cuda.cudnn_version if cuda else "",
        "nccl": cuda.nccl_version if cuda else "",
        "gpus": ", ".join(f"{n}x {what}" for what, n in sorted(gpus.items())),
        "torch": torch.version if torch else "",
        "glibc": f"{libc.libc} {libc.libc_version}".strip(),
        "python": f"{py.implementation} {py.version}".strip(),
        "python_layer": python_layer_digest(snapshot).partition(":")[2][:12] if py.packages else "",
    }


def python_layer_remedy(lock_path: str, name: str, expected: str, what: str = "version", version: str = "") -> str:
    """What to do about one package's difference: install the locked version (another version, or missing),
    remove it (not in the lock), or reinstall the locked file (the same version with other files, wheel tags or
    source: ``name==sha256:...`` was offered for a RECORD digest, which is no requirement)."""
    from ..sinks import shell_shown

    # A command the admin copies: the lock's path as one shell word (a path with a space was two).
    rebuild = f"or rebuild the environment: {shell_shown(['envsnap', 'rebuild', lock_path])}"
    if what in ("version", "missing") and expected:
        return f"install the locked {name}=={expected}, {rebuild}"
    if what == "extra" or not expected:
        return f"remove {name}, {rebuild}"
    pinned = f"{name}=={version}" if version else name
    return f"reinstall {pinned} from the locked file (the installed one has other {_KIND.get(what, what)}), {rebuild}"


# What the same version differs in, as a remedy names it.
_KIND = {"record_digest": "files", "files": "files", "wheel_tags": "wheel tags", "source": "source"}


def answer(
    lock: Snapshot, host: Snapshot, report: Report, *, node: str, lock_path: str, environment: str
) -> dict[str, Any]:
    """The node's answer: its facts, the check report and the Python layer compared with the lock (the
    packages as ``verify`` compares them; its other differences, warnings and information about the host, are
    not part of an answer)."""
    from .._privacy import scrub_snapshot
    from ..compare.verify import MISMATCH, ordered, package_differences

    locked = scrub_snapshot(lock)
    versions = {p.name: p.version for p in locked.python.packages}
    mismatches = [d for d in ordered(package_differences(locked, host)) if d.severity == MISMATCH]
    verdict = report.verdict
    if mismatches:
        verdict = "incompatible"
    return {
        "format": NODE_FORMAT,
        "node": node,
        "environment": environment,
        "lock_digest": lock_digest(lock),
        "verdict": verdict,
        "facts": facts(host),
        "check": report.to_dict(),
        "python_layer": {
            "identical": not mismatches,
            "digest": python_layer_digest(host),
            "packages_checked": len(locked.python.packages),
            "mismatches": len(mismatches),
            "differences": [
                {
                    "subject": d.subject,
                    "what": d.what,
                    "expected": d.expected,
                    "actual": d.actual,
                    "description": d.describe(),
                    "remedy": python_layer_remedy(
                        lock_path, d.subject, d.expected, d.what, versions.get(d.subject, "")
                    ),
                }
                for d in mismatches[:MAX_DIFFERENCES]
            ],
        },
    }


def node_target(environ: Mapping[str, str]) -> tuple[TargetEnvironment, str, bool]:
    """The environment a node is checked in (``fleet node``, ``fleet prolog``): the active one, as ``check`` finds
    it, with no ``--python`` to offer in its errors; its description; and whether it has a Python layer. A conda
    environment without Python lends envsnap's own interpreter to the rules, as ``check`` does, and has no Python
    layer to compare (envsnap's own packages are not the environment's): the rules read "found python ?" otherwise,
    and the prolog drained a node ``check`` calls compatible."""
    import sys

    from ..probes.python import select_environment

    chosen = select_environment(None, environ=environ, python_option=False)
    environment, python_layer = chosen.describe(), chosen.python_layer
    if not python_layer:
        chosen = select_environment(sys.executable, environ=environ, python_from="envsnap's own interpreter")
    return chosen, environment, python_layer


def probe(
    lock: Snapshot,
    target: TargetEnvironment,
    *,
    node: str,
    lock_path: str,
    cpu_only: bool = False,
    gpu_timeout: float | None = None,
    gpu_timeout_option: bool = False,
    started: PendingProbe | None = None,
    python_layer: bool = True,
    environment: str = "",
    gpu_facts: bool = True,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Capture this node once (the environment ``select_environment`` chose) and answer for it; ``gpu_timeout``
    bounds the NVIDIA driver probe (default: capture's), and ``gpu_timeout_option`` says the caller took it from
    ``--gpu-timeout`` (a finding about a driver that did not answer then names the option); ``started``: that
    environment's probe, already running.
    ``python_layer`` false: the environment the node runs in (``environment``, its description) is a conda
    environment without Python, and ``target`` the interpreter lent for the rules, whose packages are not
    compared. ``gpu_facts`` false: the driver and its GPUs are asked of NVML only where a rule reads them for the
    lock (``compat.reads_gpus``), for a caller that reads the verdict and not the answer's facts (the prolog: a
    hung driver would hold every job of a CPU-only lock); the facts then say no driver. ``say``: told when the
    node begins to wait on its driver and when the driver answered (``fleet node`` writes it to standard error:
    ``waiting_on`` reads it back from a node that missed its deadline).

    Only the facts an answer reads are probed (``check``'s rules, the Python layer, the matrix): not the
    project's git state (a job's working directory says nothing about the node), nor the recorded environment
    variables, nor the host's system packages and the libraries the environment loads from them (the rules read
    only which package manager the host has, and look the lock's own libraries up by name: ``find_libraries``).
    tests/fleet/test_fleet_units.py holds that an answer's report is ``check``'s."""
    from .._bundlelock import pin_command
    from ..compat import HOST, TargetFacts, evaluate, find_libraries, probe_target, reads_gpus
    from ..probes.capture import NotAsked, check_probes, run_capture
    from ..probes.interface import CaptureOptions

    # With cpu_only, no GPU finding can fail: a caller of the verdict alone need not wait on the driver.
    probes = check_probes(gpus=gpu_facts or (reads_gpus(lock) and not cpu_only))
    if say is not None:
        probes = tuple(_announced(p, say) if p.name == "nvidia" and not isinstance(p, NotAsked) else p for p in probes)
    options = CaptureOptions(
        python_path=target.python,
        python_named=target.named(),
        conda_prefix=target.conda_prefix,
        python_layer=target.python_layer,
    )
    if gpu_timeout is not None:
        options = dataclasses.replace(options, gpu_timeout=gpu_timeout)
    if say is not None and started is not None:
        interpreter = started.python or ""

        def note(ended: bool, bound: float) -> None:
            # Its path, as the node uses it: a hung interpreter read "no answer within 120 s" and no more.
            say(
                f"{_NOTE}{PYTHON_WAIT} answered"
                if ended
                else f"{_NOTE}waiting for {PYTHON_WAIT} (at most {bound:g} s): {interpreter}"
            )

        started.on_wait = note
    captured = run_capture(options, started=started, probes=probes)
    host = captured.snapshot
    # The host as ``check`` judges it (rebuild's ``check_target("host")``, without importing every rebuild target).
    target_facts = probe_target(HOST, TargetFacts(), cpu_only=cpu_only)
    target_facts = dataclasses.replace(
        target_facts,
        libraries=find_libraries(lock, captured.loader()),
        gpu_timeout=options.gpu_timeout if gpu_timeout_option else None,
        python_options=False,  # the environment is the one the node runs in: no --python or --target to name
        pin_command=pin_command(lock_path) if lock_path else "envsnap pin LOCK",
    )
    report = evaluate(lock, host, target_facts)
    if not python_layer:
        host = dataclasses.replace(host, python=dataclasses.replace(host.python, packages=()))
    return answer(lock, host, report, node=node, lock_path=lock_path, environment=environment or target.describe())
