"""The fleet report: every node's answer (or why it has none), nodes with the same facts and verdict grouped,
and the facts on which the answering nodes differ.

A node's answer is untrusted input (docs/security.md): it is read with the bounded JSON reader, checked field
by field, and a node whose answer is not one becomes an "invalid" node, never a crash or a silent drop.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any, Literal

from .._frozen import frozen
from .._lazyre import LazyPattern
from .._readlimits import load_json
from ..errors import EnvsnapError
from ..grammar import MAX_TEXT, shown, strip_control
from ..report import counted
from . import hostlist
from .node import FACTS, GPU_SHARE, NODE_FORMAT, NVML_WAIT, PYTHON_WAIT, answer_exit, is_note, waiting_on
from .slurm import OUTSIDE_PARTITION, POWER_MARKS, RESERVED_AHEAD, SILENT, NodeRun, NodeState, document

REPORT_FORMAT = 1
NodeVerdict = Literal["compatible", "warnings", "incompatible", "unreachable", "invalid"]
FleetVerdict = Literal["compatible", "warnings", "incompatible"]
_RANK: dict[str, int] = {"unreachable": 0, "invalid": 1, "incompatible": 2, "warnings": 3, "compatible": 4}
MAX_FINDINGS = 200  # per node and list: more than a lock's rules and a page of drift


class _BadAnswer(EnvsnapError):
    pass


@frozen
class Problem:
    """One failure or warning on a node: what the lock needs, what the node has, what to do."""

    component: str
    needed: str
    found: str
    remedy: str = ""
    # The check's rule that found it ("cuda"; "" for the Python layer's), as the node said: not in the report's JSON.
    rule: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, str]:
        return {"component": self.component, "needed": self.needed, "found": self.found, "remedy": self.remedy}


@frozen
class NodeResult:
    node: str
    verdict: NodeVerdict
    facts: Mapping[str, str] = field(default_factory=dict)
    failures: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    reason: str = ""  # why there is no answer (unreachable, invalid)
    seconds: float = 0.0
    gpus: int = 0  # the GPUs its srun asked Slurm for
    in_job: bool = False  # checked in a step of the job envsnap runs in, with the job's GPUs there
    tried: bool = True  # a srun ran for it (not a node Slurm reports unavailable, nor one it does not know)
    # The environment it was checked in, as the node named it (``/shared/envs/train (VIRTUAL_ENV)``; "" without an
    # answer): where a drifted package is to be installed again.
    environment: str = ""

    @property
    def answered(self) -> bool:
        return self.verdict not in ("unreachable", "invalid")

    def key(self) -> tuple[Any, ...]:
        """What a group's members share."""
        # Nodes failing alike in different environments are told apart, since the lines under them name it.
        where = self.environment if self.failures or self.warnings else ""
        return (
            self.verdict,
            tuple(self.facts.get(f, "") for f in FACTS),
            self.failures,
            self.warnings,
            self.reason,
            where,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "verdict": self.verdict,
            "facts": dict(self.facts),
            "failures": [p.to_dict() for p in self.failures],
            "warnings": [p.to_dict() for p in self.warnings],
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
            "gpus_requested": self.gpus,
            "in_job": self.in_job,
            "environment": self.environment,
        }


@frozen
class Group:
    nodes: tuple[str, ...]
    result: NodeResult  # the first member's (all members share its key)

    @property
    def hostlist(self) -> str:
        return hostlist.compress(self.nodes)


@frozen
class FleetReport:
    lock: str
    lock_digest: str
    results: tuple[NodeResult, ...]

    @property
    def verdict(self) -> FleetVerdict:
        if any(r.verdict in ("incompatible", "unreachable", "invalid") for r in self.results):
            return "incompatible"
        if any(r.verdict == "warnings" for r in self.results):
            return "warnings"
        return "compatible"

    def counts(self) -> dict[str, int]:
        c: Counter[str] = Counter(r.verdict for r in self.results)
        return {v: c[v] for v in _RANK}

    def groups(self) -> list[Group]:
        """Nodes of the same verdict, facts and problems as one group; the worst groups first."""
        members: dict[tuple[Any, ...], list[NodeResult]] = {}
        for r in self.results:
            members.setdefault(r.key(), []).append(r)
        groups = [Group(tuple(hostlist.ordered(r.node for r in rs)), rs[0]) for rs in members.values()]
        return sorted(
            groups, key=lambda g: (_RANK[g.result.verdict], -len(g.nodes), [hostlist.node_order(n) for n in g.nodes])
        )

    def common(self) -> dict[str, str]:
        """Per fact, the value most answering nodes have ("" when none answered)."""
        answered = [r for r in self.results if r.answered]
        out: dict[str, str] = {}
        for f in FACTS:
            values = Counter(r.facts.get(f, "") for r in answered)
            out[f] = values.most_common(1)[0][0] if values else ""
        return out

    def differing(self) -> list[str]:
        """The facts on which answering nodes disagree."""
        answered = [r for r in self.results if r.answered]
        return [f for f in FACTS if len({r.facts.get(f, "") for r in answered}) > 1]

    def empty(self) -> list[str]:
        """The facts no answering node has a value for (a CPU cluster's driver, CUDA and NCCL); none where no node
        answered, whose facts are not known."""
        answered = [r for r in self.results if r.answered]
        return [f for f in FACTS if answered and not any(r.facts.get(f, "") for r in answered)]

    def summary(self) -> str:
        c = self.counts()
        verdicts = ("compatible", "warnings", "incompatible", "unreachable", "invalid")
        parts = [f"{c[v]} {'with warnings' if v == 'warnings' else v}" for v in verdicts if c[v]]
        return f"{self.verdict}: {counted(len(self.results), 'node')}, " + ", ".join(parts)

    def gpus_asked(self) -> str:
        """What each node's srun asked Slurm for ("" when no node was asked for a GPU)."""
        if not any(r.gpus for r in self.results):
            return ""
        by_count: dict[int, list[str]] = {}
        for r in (r for r in self.results if r.tried):  # a node not tried was asked for nothing
            by_count.setdefault(-1 if r.in_job else r.gpus, []).append(r.node)
        # A node of the job envsnap runs in asks for nothing: its step has the job's GPUs there, not "none".
        named = {0: "none", -1: "this job's own"}
        parts = [
            f"{named.get(n, n)} on {hostlist.compress(nodes)}"
            for n, nodes in sorted(by_count.items(), key=lambda item: (item[0] < 0, -item[0]))
        ]
        return "GPUs asked of Slurm: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "lock": self.lock,
            "lock_digest": self.lock_digest,
            "verdict": self.verdict,
            "counts": self.counts(),
            "common": self.common(),
            "differing": self.differing(),
            "groups": [
                {"nodes": g.hostlist, "members": list(g.nodes), "verdict": g.result.verdict} for g in self.groups()
            ],
            "nodes": [r.to_dict() for r in sorted(self.results, key=lambda r: hostlist.node_order(r.node))],
        }


# ---------------------------------------------------------------------------------------------- node answers


def unreachable(state: NodeState) -> NodeResult:
    """A node not tried, with why."""
    return NodeResult(state.name, "unreachable", reason=_why_not_tried(state), tried=False)


def _why_not_tried(state: NodeState) -> str:
    if state.state == OUTSIDE_PARTITION:
        return state.reason
    if state.partition_state not in ("up", ""):
        partition = _PARTITION_STATES.get(state.partition_state, state.partition_state)
        return f"Slurm reports partition {state.partition} {partition}"
    if state.state == SILENT:
        return f"not responding: {state.reason}"
    if state.state == RESERVED_AHEAD:
        return f"Slurm holds the node for {state.reason}"
    why = [POWER_MARKS[state.state[-1]]] if state.state[-1:] in POWER_MARKS else []
    why += [state.reason] if state.reason else []
    reason = f"Slurm reports the node {state.state}" + (f" ({'; '.join(why)})" if why else "")
    return "not responding: " + reason if state.not_responding else reason


_PARTITION_STATES = {"inact": "inactive", "drain": "drained"}  # sinfo's %a, as a reason says it


def from_run(run: NodeRun, *, lock_digest: str, timeout: float, node_gpus: int = 0, advice: bool = True) -> NodeResult:
    """A node's result from its srun: its answer when it gave a valid one, else why not. ``node_gpus``: the GPUs
    Slurm lists on the node (a task given fewer sees fewer). ``advice``: a node silent at the deadline is told what
    to look at (not in FLEET.toml, whose reasons ``fleet diff`` compares)."""
    gpus = run.gpus
    if run.timed_out:
        notes = _at_the_deadline(run, timeout)
        why = _no_answer(run, timeout)
        if advice and run.asked and run.waited < 1 and not notes.startswith(": "):
            # It named no wait of its own (a frozen slurmd, a check hung before its first note): what to look at
            # and what gives it longer, where "no answer within 15 s" alone said neither.
            why += (
                " (its slurmd frozen, or its check hung there? scontrol show node NODE says what Slurm sees of it; "
                f"--timeout {timeout * 2:g} or more gives it longer)"
            )
        why += notes
        return NodeResult(
            run.node, "unreachable", reason=why, seconds=run.seconds, gpus=gpus, in_job=run.in_job, tried=run.asked
        )
    if run.flooded:
        why = "printed more than the limit of output"
        return NodeResult(run.node, "invalid", reason=why, seconds=run.seconds, gpus=gpus, in_job=run.in_job)
    text = document(run.stdout, "{").strip()  # ``fleet node`` prints its answer indented: "{" alone first
    not_started = _not_started(run.stderr)
    if not_started:
        # srun reached the node and its slurmstepd could not start the program (``--envsnap`` names a path the
        # node lacks): the node is there, envsnap is not.
        return NodeResult(run.node, "invalid", reason=not_started, seconds=run.seconds, gpus=gpus, in_job=run.in_job)
    ended = _task_end(run.stderr)
    said = _last_line(run.stderr, _ENVSNAP_ERROR)
    if not text.startswith("{") and ended and not said.startswith(_ENVSNAP_ERROR):
        # The task ran there and failed before any answer, in no words of envsnap's: how it ended is the cause (its
        # exit status, or the signal that killed it).
        why = f"its task {ended} without an answer" + (f": {said}" if said and not _TASK_END.match(said) else "")
        # What it printed: a TaskProlog's ``print`` lines (why it refused the task) go to the task's standard output.
        printed = _last_line(run.stdout)
        why += f"; it printed {shown(printed, 120)}" if printed else ""
        return NodeResult(run.node, "invalid", reason=why, seconds=run.seconds, gpus=gpus, in_job=run.in_job)
    if not text.startswith("{"):
        why = _last_line(run.stderr, _ENVSNAP_ERROR) or f"srun exit status {run.returncode}, no answer"
        if gpus and _NOT_ALLOCATED in why:
            # Where the wait was for its GPUs (a long job holds them), the option that checks the node without
            # them: the check took the whole --timeout and the line said nothing of what to do about it.
            why += (
                f" (asked for {counted(gpus, 'GPU')}: other jobs hold them, or its CPUs; --gpus N asks for fewer, "
                "--gpus none checks it without its GPUs)"
                if gpus > 1
                else " (asked for 1 GPU: other jobs hold every GPU of the node, or its CPUs; --gpus none checks it "
                "without its GPU)"
            )
        elif _NOT_ALLOCATED in why and not run.in_job:
            # Asked for no GPU: what it waited for is its CPUs (or memory), which only a step of the job holding
            # them shares (``--overlap``, as fleet check asks the nodes of the job it runs in).
            why += (
                " (other jobs hold its CPUs or memory: run inside the job that holds the node, envsnap fleet asks it "
                "in a step of that job; or ask again once they end)"
            )
        # envsnap ran there but could not check (the lock not readable on the node, an envsnap too old for
        # the lock): the node answered, with an error. A task that ended well without an answer (an --envsnap
        # that is no envsnap) ran there too: its output is no answer, not a node that cannot be reached.
        ran = run.returncode == 0
        if ran:
            said = _last_line(run.stdout) or _last_line(run.stderr)
            why = "its task ended (exit status 0) without an answer" + (
                f"; it printed {shown(said, 120)}" if said else ""
            )
        verdict: NodeVerdict = "invalid" if ran or why.startswith(_ENVSNAP_ERROR) else "unreachable"
        return NodeResult(run.node, verdict, reason=why, seconds=run.seconds, gpus=gpus, in_job=run.in_job)
    try:
        result = _parse(run.node, text, lock_digest=lock_digest, seconds=run.seconds)
    except _BadAnswer as exc:
        return NodeResult(
            run.node, "invalid", reason=f"not a node answer: {exc}", seconds=run.seconds, gpus=gpus, in_job=run.in_job
        )
    claimed = _claimed(text)
    if run.returncode not in (0, answer_exit(claimed)):
        # ``fleet node`` ends 3 after an incompatible answer and 0 after any other: a task that printed one and
        # failed otherwise (killed after it, a wrapper that failed) did not end as envsnap does. (An incompatible
        # answer that ended with 0 hides nothing: the node fails all the same.)
        how = ended or f"exited with status {run.returncode}"
        why = f"its task {how} after {_a(claimed)} answer"
        return NodeResult(run.node, "invalid", reason=why, seconds=run.seconds, gpus=gpus, in_job=run.in_job)
    if 0 < gpus < node_gpus:
        result = _given_fewer(result, gpus, node_gpus)
    if node_gpus and result.facts.get("driver") == "":
        result = _gres_without_driver(result, node_gpus)
    return dataclasses.replace(result, gpus=gpus, in_job=run.in_job)


def _no_answer(run: NodeRun, timeout: float) -> str:
    """Why a node that did not answer in time has no answer: the whole timeout was its own, or its srun waited
    for a free place among those run at once (``MAX_PARALLEL``) and had only the rest of it, or none."""
    place = f"a free place (at most {counted(run.at_once, 'srun')} run at once"
    if not run.asked:
        return (
            f"not asked: --timeout {timeout:g} ran out while it waited for {place}, the others not answering); "
            "a longer --timeout asks it"
        )
    if run.waited >= 1:
        # No count of its own seconds here (the JSON's ``seconds`` has them): nodes alike share one row.
        return f"no answer within --timeout {timeout:g}, of which its srun had only the rest after waiting for {place})"
    return f"no answer within {timeout:g} s"


def _at_the_deadline(run: NodeRun, timeout: float) -> str:
    """What a node that missed the deadline was doing then, from what it printed on standard error until then
    (untrusted: its notes read by their own words, any other line shown escaped and cut): each wait it had not
    seen end (its driver and its interpreter are probed at once: both may hang), with what ends it in time, and
    its last other line; "" where it said nothing."""
    if not run.asked:
        return ""
    waits: list[str] = []
    for name, bound, what in waiting_on(run.stderr):
        if name == NVML_WAIT:
            shorter = timeout * GPU_SHARE
            why = f"it was waiting for its NVIDIA driver (NVML, at most {bound:g} s; a hung driver?)"
            if bound > shorter:
                why += (
                    f"; --gpu-timeout {shorter:g} ends that wait in time for the node to answer with its driver hung "
                    "(--gpus none does not: the node asks NVML for every lock), or a longer --timeout gives it time"
                )
            else:
                why += "; a longer --timeout gives it time to answer after that wait"
            waits.append(why)
        elif name == PYTHON_WAIT:
            # What hung, and where to look: the interpreter the node's environment runs, as the node named it.
            interpreter = f" {shown(strip_control(what), 200)}" if what else ""
            waits.append(
                f"its environment's interpreter{interpreter} did not answer envsnap's probe in that time (the node "
                f"waits for it at most {bound:g} s; a hung interpreter, or a file system that does not answer?)"
            )
    said = _last_line(run.stderr)
    return (": " + "; and ".join(waits) if waits else "") + (f"; it said {shown(said, 120)}" if said else "")


# slurmstepd, when the task's program cannot be started on the node (``execve(): PATH: No such file or directory``).
_EXECVE = LazyPattern(r"^slurmstepd(?:-\S+)?: error: execve\(\): (.+): ([^:]+)$")
# slurmstepd's PATH when the program's #! interpreter is what could not be started: ``bad interpreter(PATH)``.
_BAD_INTERPRETER = LazyPattern(r"bad interpreter\((.+)\)")
# srun's summary of how a task ended: ``Exited with exit code 5``, or the signal that killed it (``Killed``).
_TASK_END = LazyPattern(r"^srun: error: \S+: tasks? [0-9,-]+: (.+)$")
_EXIT_CODE = LazyPattern(r"Exited with exit code (\d+)")


def _cut(path: str) -> str:
    return path if len(path) <= _REASON else path[: _REASON - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _not_started(stderr: str) -> str:
    """Why the node's slurmstepd could not start the program, said as the cause; "" when it started."""
    for line in stderr.splitlines():
        found = _EXECVE.match(strip_control(line.strip()))
        if found:
            path, error = found.group(1), found.group(2)
            interpreter = _BAD_INTERPRETER.fullmatch(path)
            if interpreter:
                # The program is there; the interpreter its #! line names is not (a venv on the shared file system
                # whose base Python the node lacks): name that interpreter, not it as the envsnap path.
                lacks = "is not there" if error == "No such file or directory" else f"cannot be run there: {error}"
                return (
                    f"envsnap cannot be started on the node: the interpreter its #! line names, "
                    f"{_cut(interpreter.group(1))}, {lacks} (--envsnap PATH names one the nodes can run)"
                )
            path = _cut(path)
            hint = "(--envsnap PATH names the one the nodes have)"
            if error == "No such file or directory":
                return f"envsnap not found at {path} on the node {hint}"
            return f"envsnap at {path} cannot be started on the node: {error} {hint}"
    return ""


def _task_end(stderr: str) -> str:
    """How srun says the node's task ended, where it ended otherwise than with 0 (``exited with status 5``,
    ``ended (Killed)``); "" where srun says nothing of it (it did not start the task, or the task ended with 0)."""
    for line in reversed(stderr.splitlines()):
        found = _TASK_END.match(strip_control(line.strip()))
        if found:
            how = found.group(1)
            code = _EXIT_CODE.fullmatch(how)
            if code is None:
                return f"ended ({how[:_REASON]})"
            return f"exited with status {code.group(1)}" if code.group(1) != "0" else ""
    return ""


def _claimed(text: str) -> str:
    """The verdict a valid answer states (checked already by ``_parse``)."""
    data = load_json(text, origin="a node", error=_BadAnswer)
    return str(data.get("verdict", "")) if isinstance(data, Mapping) else ""


def _a(verdict: str) -> str:
    return f"an {verdict}" if verdict[:1] in ("a", "e", "i", "o", "u") else f"a {verdict}"


_NOT_ALLOCATED = "Unable to allocate resources"  # srun, when --immediate ran out (Requested nodes are busy)


def _given_fewer(result: NodeResult, given: int, on_node: int) -> NodeResult:
    """A node whose check was given ``given`` of its ``on_node`` GPUs (``--gpus N``) sees ``given``: its GPUs fact
    says so, and the GPU count the lock asks for is judged by the node's count, not by the task's."""
    facts = dict(result.facts)
    if facts.get("gpus"):
        facts["gpus"] += f", {given} of the node's {on_node}"
    warnings = []
    for w in result.warnings:
        if w.component == _GPU_COUNT and w.found == str(given):
            # A node's answer is untrusted: a superscript two is a digit to str.isdigit, not to int().
            if w.needed.isascii() and w.needed.isdigit() and on_node >= int(w.needed):
                continue
            w = dataclasses.replace(w, found=f"{on_node} (Slurm's count; the check was given {given})")
        warnings.append(w)
    verdict = result.verdict
    if verdict == "warnings" and not warnings:
        verdict = "compatible"
    return dataclasses.replace(result, verdict=verdict, facts=facts, warnings=tuple(warnings))


_GPU_COUNT = "GPU count"  # the finding of compat's gpu-memory rule that counts the GPUs the task sees
_CUDA_RULE = "cuda"  # compat's rule that a lock built for CUDA finds a driver and a GPU


def _gres_without_driver(result: NodeResult, on_node: int) -> NodeResult:
    """A node whose Gres lists ``on_node`` GPUs and where no NVIDIA driver was found (its driver fact "": no NVML
    at all, not one that hung or failed): the CUDA finding says both, which is what an administrator acts on (the
    driver missing on a GPU node, or a Gres that names GPUs the node does not have). It read "found no NVIDIA
    driver", as on a node without a GPU, with the remedy to run on a host with one."""

    def told(p: Problem) -> Problem:
        if p.rule != _CUDA_RULE:
            return p
        gpus = counted(on_node, "GPU")
        return dataclasses.replace(
            p,
            found=f"no NVIDIA driver, while Slurm lists {gpus} on the node (its Gres)",
            remedy=f"{p.remedy}; where the node has no GPU, take gpu out of its Gres in Slurm's configuration",
        )

    return dataclasses.replace(
        result, failures=tuple(told(p) for p in result.failures), warnings=tuple(told(p) for p in result.warnings)
    )


# srun's summary of a task's end (``_TASK_END``): the line before it says why.


def _last_line(text: str, prefer: str = "") -> str:
    """The line of a task's output that says why it gave no answer: the last, but srun's summary of its exit, and
    the last that begins with ``prefer`` where one does (srun cuts a line of more than about 1 KB into pieces, and
    the last piece of envsnap's own error then read as srun's: an unreachable node). Cut to 300 characters, said."""
    # ``fleet node``'s notes on what it waits on are no part of why it failed.
    lines = [line.strip() for line in text.splitlines() if line.strip() and not is_note(line.strip())]
    telling = [line for line in lines if not _TASK_END.match(line)] or lines
    telling = [line for line in telling if prefer and line.startswith(prefer)] or telling
    if not telling:
        return ""
    line = strip_control(telling[-1])
    return line if len(line) <= _REASON else line[: _REASON - 1] + "\N{HORIZONTAL ELLIPSIS}"


_REASON = 300  # characters of a node's line a reason keeps
_ENVSNAP_ERROR = "envsnap: error:"  # how envsnap's one-line error begins: the node answered, with an error


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise _BadAnswer(f"{where}.{key} is not a string")
    if len(value) > MAX_TEXT:
        raise _BadAnswer(f"{where}.{key} is longer than {MAX_TEXT} characters")
    return value


def _map(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise _BadAnswer(f"{where} is not a table")
    return data


def _problems(items: Any, where: str) -> list[Problem]:
    if not isinstance(items, list):
        raise _BadAnswer(f"{where} is not a list")
    if len(items) > MAX_FINDINGS:
        raise _BadAnswer(f"{where} has more than {MAX_FINDINGS} entries")
    return [
        Problem(*(_str(_map(item, where), k, where) for k in ("component", "needed", "found", "remedy")))
        for item in items
    ]


def _parse(node: str, text: str, *, lock_digest: str, seconds: float) -> NodeResult:
    data = _map(load_json(text, origin=f"node {node}", error=_BadAnswer), "the answer")
    if data.get("format") != NODE_FORMAT:
        raise _BadAnswer(f"format {shown(data.get('format'))}, expected {NODE_FORMAT} (another envsnap version?)")
    said = _str(data, "node", "answer")
    if said != node:
        raise _BadAnswer(f"it names itself {shown(said)}")
    if _str(data, "lock_digest", "answer") != lock_digest:
        raise _BadAnswer("it checked another lock (its digest differs)")
    raw_facts = _map(data.get("facts"), "facts")
    facts = {f: _str(raw_facts, f, "facts") for f in FACTS}
    check = _map(data.get("check"), "check")
    findings = check.get("findings")
    if not isinstance(findings, list) or len(findings) > MAX_FINDINGS:
        raise _BadAnswer("check.findings is not a list of findings")
    failures: list[Problem] = []
    warnings: list[Problem] = []
    for item in findings:
        finding = _map(item, "check.findings")
        severity = finding.get("severity")
        if severity not in ("ok", "warn", "fail"):
            raise _BadAnswer(f"a finding's severity is {shown(severity)}")
        if severity != "ok":
            problem = _problems([finding], "check.findings")[0]
            rule = finding.get("rule", "")
            problem = dataclasses.replace(problem, rule=rule) if isinstance(rule, str) and len(rule) <= 64 else problem
            (failures if severity == "fail" else warnings).append(problem)
    layer = _map(data.get("python_layer"), "python_layer")
    differences = _list(layer.get("differences"), "python_layer.differences")
    for item in differences:
        d = _map(item, "python_layer.differences")
        what = _WHAT.get(d.get("what", ""), "") if isinstance(d.get("what"), str) else ""
        failures.append(
            Problem(
                f"Python package {_str(d, 'subject', 'difference')}{what}",
                _str(d, "expected", "difference") or "(not in the lock)",
                _str(d, "actual", "difference") or "(not installed)",
                _str(d, "remedy", "difference"),
            )
        )
    more = layer.get("mismatches", 0)
    listed = len(differences)  # a node's "differences": null is none listed, not len(None)
    if isinstance(more, int) and not isinstance(more, bool) and more > listed:
        failures.append(
            Problem(
                "Python layer",
                "the locked packages",
                f"{more - listed} more differences",
                "envsnap verify on the node lists them all",
            )
        )
    verdict: NodeVerdict = "incompatible" if failures else "warnings" if warnings else "compatible"
    claimed = data.get("verdict")
    if claimed not in ("compatible", "warnings", "incompatible"):
        raise _BadAnswer(f"verdict {shown(claimed)}")
    if _RANK[claimed] < _RANK[verdict]:
        verdict = claimed  # a node that says it is worse than its findings show is believed
    environment = strip_control(_str(data, "environment", "answer"))
    return NodeResult(node, verdict, facts, tuple(failures), tuple(warnings), seconds=seconds, environment=environment)


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _BadAnswer(f"{where} is not a list")
    if len(value) > MAX_FINDINGS:
        raise _BadAnswer(f"{where} has more than {MAX_FINDINGS} entries")
    return value


# A package's difference other than its version, as the report names it beside the package ("needs sha256:...,
# found sha256:..." said nothing of what those digests are).
_WHAT = {
    "record_digest": " files (RECORD digest)",
    "files": " files on disk",
    "wheel_tags": " wheel tags",
    "source": " source",
}


def build(
    lock: str, lock_digest: str, states: Sequence[NodeState], runs: Mapping[str, NodeRun], *, timeout: float
) -> FleetReport:
    """Every selected node once: not tried (its state), not answered, or its answer."""
    results = []
    for state in states:
        run = runs.get(state.name)
        if run is None:
            results.append(unreachable(state))
        else:
            results.append(from_run(run, lock_digest=lock_digest, timeout=timeout, node_gpus=state.gpus))
    return FleetReport(lock, lock_digest, tuple(results))
