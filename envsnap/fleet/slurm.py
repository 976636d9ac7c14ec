"""Talking to Slurm: which nodes a selection names, their states, one command per node through ``srun``, and
draining a node. Every call goes through ``_runner`` (a timeout, bounded output, the process group killed).

One ``srun`` per node, run side by side, not one ``srun -N``: when a node's slurmd does not answer, Slurm
aborts the whole step and kills the tasks that were running on the healthy nodes (seen with Slurm 22.05), so
one dead node would hide every other node's answer.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Literal

from .. import _procstat, _runner
from .._frozen import frozen
from .._lazyre import LazyPattern
from ..errors import FleetError, UsageError
from ..grammar import shown
from . import hostlist

QUERY_TIMEOUT = 30.0  # sinfo, scontrol
MAX_PARALLEL = 64  # sruns at once
# A node whose turn among them comes after it waited this long, with less than this left of the deadline, is not
# asked: its srun could not start a task and answer in time, and would only leave a job to cancel. (A --timeout of
# less than this is no wait: every node is asked.)
MIN_LEFT = 1.0
NODE_OUTPUT_LIMIT = 8 << 20  # bytes one node may print: an answer is a few KB, a capture a few MB
# srun stops waiting for the node's resources (--immediate) this long before the node's deadline, so that a node
# whose GPUs or CPUs other jobs hold says so ("Requested nodes are busy") instead of "no answer within ...".
IMMEDIATE_MARGIN = 2
# Node states (sinfo's %T) in which a node cannot run a step: reported unreachable with the state, not tried.
# A node in an active reservation (``maint``, ``reserved``) runs only the jobs that name it, which envsnap's do not.
_UNAVAILABLE = ("down", "drain", "fail", "future", "power", "unknown", "reboot", "maint", "reserved")
_RESERVED = ("maint", "reserved")
# The suffixes sinfo puts after a state for the node's power (``idle~``): a node powered down, or on its way up or
# down, cannot run a step before it has booted, which a srun would wait out; reported with what the mark means.
POWER_MARKS = {"~": "powered down", "#": "powering up", "%": "powering down", "!": "to be powered down"}


# The state of an available node a reservation takes before its check's job would end (its reason names it).
RESERVED_AHEAD = "reserved ahead"
# The state of a node whose slurmd does not answer at its address, which Slurm still reports as it was (idle,
# completing) until its own ping or SlurmdTimeout notices: its reason says where it was asked.
SILENT = "slurmd not answering"
SLURMD_PORT = 6818  # Slurm's default SlurmdPort, where scontrol names no Port
CONNECT_TIMEOUT = 3.0  # seconds a slurmd has to accept a connection
# The state of a named node Slurm knows, but not in the partition ``-p`` names (its reason says where it is).
OUTSIDE_PARTITION = "outside the partition"
# What Slurm sets in a job's (and a step's) environment, which srun reads as the job to run in and its shape: a
# node outside the job runs in a job of its own, without them. What a user sets for every job (SLURM_ACCOUNT,
# SLURM_QOS, SLURM_PARTITION, SLURM_CONF) is kept.
_JOB_PREFIXES = ("SLURM_JOB_", "SLURM_STEP_", "SLURM_HET_", "SLURM_PACK_", "SLURM_ARRAY_", "SLURM_GPUS")
_JOB_VARIABLES = frozenset(
    [
        "SLURM_JOBID",
        "SLURM_STEPID",
        "SLURM_NNODES",
        "SLURM_NODELIST",
        "SLURM_NTASKS",
        "SLURM_NPROCS",
        "SLURM_NTASKS_PER_NODE",
        "SLURM_TASKS_PER_NODE",
        "SLURM_CPUS_PER_TASK",
        "SLURM_CPUS_ON_NODE",
        "SLURM_CPUS_PER_GPU",
        "SLURM_NTASKS_PER_GPU",
        "SLURM_MEM_PER_NODE",
        "SLURM_MEM_PER_CPU",
        "SLURM_MEM_PER_GPU",
        "SLURM_TRES_PER_TASK",
        "SLURM_DISTRIBUTION",
        "SLURM_NODE_ALIASES",
        "SLURM_OVERLAP",
        "SLURM_EXACT",
        "SLURM_EXCLUSIVE",
        "SLURM_SRUN_COMM_HOST",
        "SLURM_SRUN_COMM_PORT",
        "SLURM_LAUNCH_NODE_IPADDR",
        "SLURM_PROCID",
        "SLURM_LOCALID",
        "SLURM_NODEID",
        "SLURM_GTIDS",
        "SLURM_TASK_PID",
        "SLURM_SCRIPT_CONTEXT",
        "SLURM_PRIO_PROCESS",
        "SLURM_UMASK",
        "SLURM_TOPOLOGY_ADDR",
        "SLURM_TOPOLOGY_ADDR_PATTERN",
        "SLURM_WORKING_CLUSTER",
        "SLURM_SUBMIT_DIR",
        "SLURM_SUBMIT_HOST",
    ]
)


@frozen
class Selection:
    """Which nodes: a count (``--nodes``), a hostlist (``-w``), a partition (``-p``), or the default partition;
    ``reservation`` (``--reservation``): the active Slurm reservation whose nodes are asked through it (and, without
    a hostlist, its nodes)."""

    count: int = 0
    nodelist: str = ""
    partition: str = ""
    reservation: str = ""


@frozen
class NodeState:
    name: str
    state: str  # as sinfo's %T says it ("idle", "mixed", "drained", "idle*" when not responding)
    reason: str = ""
    partition: str = ""  # where its srun asks for it (a node outside the default partition needs it named)
    gpus: int = 0  # the GPUs Slurm's configuration lists on it (its GRES gpu)
    # That partition's state (sinfo's %a: "up", "down", "drain", "inact"): a job of a partition not up waits
    # (down) or is refused, whatever the node's state.
    partition_state: str = "up"
    # The reservation (``--reservation``) that holds this node and its srun names: the node runs the jobs that
    # name it, so its own ``maint`` or ``reserved`` state does not keep it from being asked.
    reservation: str = ""

    @property
    def not_responding(self) -> bool:
        """Slurm flags it not responding (sinfo's ``*``, scontrol's ``NOT_RESPONDING``), or its slurmd did not
        answer here."""
        return self.state == SILENT or self.state.endswith("*") or "not_responding" in self.state.lower()

    @property
    def available(self) -> bool:
        if self.state in (OUTSIDE_PARTITION, SILENT, RESERVED_AHEAD) or self.partition_state not in (
            "up",
            "",
        ):
            return False
        if self.state.endswith(("*", *POWER_MARKS)):
            return False
        return not any(word in self.state for word in _UNAVAILABLE if not (self.reservation and word in _RESERVED))


@frozen
class NodeRun:
    """What one node's srun gave: its output, or why there is none."""

    node: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    flooded: bool = False
    # The GPUs its srun asked for; for a step of the job envsnap runs in (``in_job``), the job's GPUs on the node,
    # which the step has.
    gpus: int = 0
    in_job: bool = False  # a step of the job envsnap runs in
    # Seconds its srun waited for a free place among the ``at_once`` run at once (``MAX_PARALLEL``), all against
    # one deadline: a node queued behind hung ones had only what was left, or nothing (``asked`` False: no srun).
    waited: float = 0.0
    at_once: int = 0
    asked: bool = True


def _query(args: Sequence[str], env: Mapping[str, str]) -> str:
    conf = env.get("SLURM_CONF")
    if conf and not os.path.isfile(conf):
        # Slurm's commands retry a configuration they cannot read: each query waited out its whole timeout.
        raise UsageError(
            f"SLURM_CONF={shown(conf, 1000)}: no such file (Slurm's commands read their configuration from it; "
            "unset it to use the cluster's own)"
        )
    result = _runner.run(args, timeout=QUERY_TIMEOUT, env=env)
    if result.returncode == 127:
        raise FleetError(f"{args[0]} not found: envsnap fleet runs where Slurm's client commands are installed")
    if result.timed_out:
        raise FleetError(
            f"{args[0]} did not answer within {QUERY_TIMEOUT:g} s: is the Slurm controller up, and "
            "SLURM_CONF (or /etc/slurm/slurm.conf) readable?"
        )
    if not result.ok:
        last = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        raise FleetError(f"{' '.join(args[:2])}: {shown(last, 300)}")
    return result.stdout


def expand(nodelist: str, env: Mapping[str, str]) -> list[str]:
    """A hostlist expanded by Slurm itself (``scontrol show hostnames``)."""
    if not nodelist.strip() or any(c.isspace() or not c.isprintable() for c in nodelist):
        raise UsageError(f"-w {shown(nodelist)}: not a Slurm node list")
    if not _balanced(nodelist):
        # scontrol reads "node[1-2" as one node "node]" and exits 0: a typo became a node never reachable.
        raise UsageError(f"-w {shown(nodelist)}: not a Slurm node list (unbalanced brackets)")
    names = _hostnames(nodelist, env)
    if any("[" in n or "]" in n for n in names):
        raise UsageError(f"-w {shown(nodelist)}: not a Slurm node list (unbalanced brackets)")
    if not names:
        raise UsageError(f"-w {shown(nodelist)}: names no node")
    return list(dict.fromkeys(names))


def _hostnames(nodelist: str, env: Mapping[str, str]) -> list[str]:
    """The node names of a hostlist (``node[1-3]``), as Slurm expands it."""
    return _query(["scontrol", "show", "hostnames", nodelist], env).split()


def _fields(line: str) -> dict[str, str]:
    """The ``Key=Value`` words of one line ``scontrol show ... --oneliner`` (or ``--details``) prints."""
    return dict(word.split("=", 1) for word in line.split() if "=" in word)


def _balanced(nodelist: str) -> bool:
    """Every ``[`` of a hostlist closed by a ``]`` before the next one opens (ranges do not nest)."""
    inside = False
    for c in nodelist:
        if c == "[":
            if inside:
                return False
            inside = True
        elif c == "]":
            if not inside:
                return False
            inside = False
    return not inside


def node_states(env: Mapping[str, str], *, partition: str = "", names: Sequence[str] = ()) -> list[NodeState]:
    """The nodes of ``partition`` (default: the default partition), or the nodes named (in whichever partition,
    the default one first), in sinfo's order, each once."""
    args = ["sinfo", "--noheader", "--Node", "--format=%N|%T|%P|%G|%a|%E"]
    if partition:
        args.append(f"--partition={partition}")
    if names:
        args.append(f"--nodes={','.join(names)}")
    return parse_states(_query(args, env), all_partitions=bool(partition or names))


def parse_states(text: str, *, all_partitions: bool) -> list[NodeState]:
    """sinfo's ``%N|%T|%P|%G|%a|%E`` lines as node states; without ``all_partitions`` only the default
    partition's (``%P`` ends with ``*``). A node in several partitions is asked for in one that is up, the
    default one first, else its first."""
    seen: dict[str, tuple[tuple[bool, bool], NodeState]] = {}
    for line in text.splitlines():
        name, state, part, gres, avail, reason = [*line.split("|", 5), "", "", "", "", ""][:6]
        default = part.endswith("*")
        part = part.rstrip("*")
        if not name or (not all_partitions and not default):
            continue
        rank = (avail.strip() == "up", default)
        if name not in seen or rank > seen[name][0]:
            why = "" if reason.strip() == "none" else reason.strip()
            seen[name] = (rank, NodeState(name, state.strip(), why, part, gres_gpus(gres), avail.strip()))
    return [node for _, node in seen.values()]


def gres_gpus(gres: str) -> int:
    """The GPUs a node's GRES (sinfo's %G: ``gpu:a100:8(S:0-1),nic:1``, ``gpu:4``, ``gpu``, ``(null)``) lists."""
    total = 0
    for entry in re.split(r",(?![^(]*\))", gres.strip()):  # no entry ends inside the sockets, (S:0,1)
        name, *rest = entry.partition("(")[0].strip().split(":")
        if name == "gpu":
            total += int(rest[-1]) if rest and rest[-1].isdigit() else 1
    return total


GpuRequest = int | Literal["all"]  # GPUs asked for on each node: "all" of it, else at most that many (0: none)


def gpus_for(node: NodeState, request: GpuRequest) -> int:
    """The GPUs a node's srun asks for: no more than Slurm lists on it."""
    return node.gpus if request == "all" else min(max(request, 0), node.gpus)


def resolve(selection: Selection, env: Mapping[str, str], *, timeout: float = 0.0) -> list[NodeState]:
    """The nodes a selection names, with their states; a node ``-w`` names that Slurm does not know is bad input
    (``UsageError``), as a partition is. ``timeout``: each node's, whose job a reservation ahead must not cut (0:
    none is looked for)."""
    if "," in selection.partition:
        _known_partition(selection.partition, env)  # sinfo reads a list without the names it does not know
    using = selection.reservation
    # Slurm's reservations, read once: the one named, and those that hold other nodes (``_reserved``).
    holds, listing = _reservation_nodes(using, env) if using else ([], None)
    if selection.nodelist:
        names = expand(selection.nodelist, env)
        in_slurm = node_states(env, partition=selection.partition, names=names)
        known = {s.name: s for s in _reserved(in_slurm, env, timeout, using, holds, listing)}
        missing = [n for n in names if n not in known]
        if selection.partition and missing:
            # A partition Slurm does not know is a typo, not nodes gone; a node Slurm has in other partitions
            # only is named so (both were "Slurm knows no node of this name").
            _known_partition(selection.partition, env)
            elsewhere = {s.name: s for s in node_states(env, names=missing)}
            for name, state in elsewhere.items():
                why = f"not in partition {selection.partition} (Slurm has it in {state.partition})"
                known[name] = NodeState(name, OUTSIDE_PARTITION, why, state.partition, state.gpus)
        unknown = [n for n in names if n not in known]
        if unknown:
            # A typo or another cluster's node, as a partition Slurm does not know is: bad input, said before any node
            # is asked (it was a node "unreachable", exit 3, as if it were down).
            what = "node" if len(unknown) == 1 else "nodes"
            raise UsageError(f"-w {shown(selection.nodelist)}: Slurm knows no {what} {hostlist.compress(unknown)}")
        return _answering(_in_own_job([known[n] for n in names], env), env)
    # Without a hostlist, a reservation's nodes are those asked: in whichever partition, or in -p's.
    in_slurm = (
        node_states(env, partition=selection.partition, names=holds)
        if using
        else node_states(env, partition=selection.partition)
    )
    states = _in_own_job(_reserved(in_slurm, env, timeout, using, holds, listing), env)
    if not states and selection.partition:
        _known_partition(selection.partition, env)
    if not states:
        where = f"partition {shown(selection.partition)}" if selection.partition else "the default partition"
        if using:
            where = f"reservation {using}" + (
                f" in partition {shown(selection.partition)}" if selection.partition else ""
            )
        raise UsageError(f"{where} has no nodes")
    if selection.count:
        if selection.count > len(states):
            what = f"reservation {using}" if using else "the partition"
            raise UsageError(f"--nodes {selection.count}: {what} has {len(states)} nodes")
        states = _answering(states, env)
        available = [s for s in states if s.available]
        others = [s for s in states if not s.available]
        return (available + others)[: selection.count]
    return _answering(states, env)


_SHOW_RESERVATIONS = ("scontrol", "show", "reservation", "--oneliner")


def _reservation_nodes(name: str, env: Mapping[str, str]) -> tuple[list[str], str]:
    """The nodes of the active reservation ``name`` (``--reservation``), as Slurm expands them, and what Slurm said
    of every reservation. A name Slurm does not know, or a reservation not active yet (a srun naming it waits for
    its start), is bad input."""
    if not _WORD.fullmatch(name):
        raise UsageError(f"--reservation {shown(name)}: not a reservation name")
    listing = _query(_SHOW_RESERVATIONS, env)
    for line in listing.splitlines():
        fields = _fields(line)
        if fields.get("ReservationName") != name:
            continue
        nodes, state, begin = fields.get("Nodes", ""), fields.get("State", ""), fields.get("StartTime", "")
        if state != "ACTIVE":
            begins = f": it begins at {begin}" if _WORD.fullmatch(begin) else ""
            raise UsageError(f"--reservation {name}: not active{begins} (a srun naming it waits until then)")
        if not _NODELIST.fullmatch(nodes) or nodes == "(null)":
            raise UsageError(f"--reservation {name}: holds no nodes")
        return list(dict.fromkeys(_hostnames(nodes, env))), listing
    raise UsageError(f"--reservation {name}: Slurm knows no reservation of this name")


def _reserved(
    states: list[NodeState],
    env: Mapping[str, str],
    timeout: float,
    using: str = "",
    holds: Sequence[str] = (),
    listing: str | None = None,
) -> list[NodeState]:
    """``states``, each node Slurm reports in a reservation (``maint``, ``reserved``) with the active reservation
    that holds it as its reason (``in maintenance reservation m1 until 2026-05-04T18:00:00; --reservation m1 would
    ask it``), and each available node a reservation holds (sinfo reports the node idle for a few seconds after
    the reservation begins) or takes before the time limit of its srun (``timeout``'s ``job_minutes``) would end
    marked ``RESERVED_AHEAD``: a srun that names none waited there for the whole timeout and read "Requested nodes
    are busy". The nodes of the job envsnap runs in run a step of it, which a reservation ahead does not stop.
    ``using`` (``--reservation``): the reservation whose nodes (``holds``) are asked through it, none of it keeping
    them from being tried; ``listing``: Slurm's reservations as ``scontrol`` showed them, if read already."""
    if using:
        states = [dataclasses.replace(s, reservation=using) if s.name in holds else s for s in states]
    held = [s for s in states if any(word in s.state for word in _RESERVED)]
    ahead_until = time.time() + job_minutes(timeout) * 60 if timeout else 0.0
    if not held and not any(s.available for s in states):
        return states
    if listing is None:
        result = _runner.run(_SHOW_RESERVATIONS, timeout=QUERY_TIMEOUT, env=env)
        listing = result.stdout if result.ok else ""
    now: dict[str, str] = {}
    ahead: dict[str, str] = {}
    for line in listing.splitlines():
        fields = _fields(line)
        name, nodes, state = fields.get("ReservationName", ""), fields.get("Nodes", ""), fields.get("State", "")
        if not _WORD.fullmatch(name) or not _NODELIST.fullmatch(nodes) or nodes == "(null)" or name == using:
            continue
        kind = "maintenance reservation" if "MAINT" in fields.get("Flags", "").split(",") else "reservation"
        begin, until = fields.get("StartTime", ""), fields.get("EndTime", "")
        until_text = f" until {until}" if _WORD.fullmatch(until) else ""
        if state == "ACTIVE":
            for node in _hostnames(nodes, env):
                now.setdefault(node, f"in {kind} {name}{until_text}; --reservation {name} would ask it")
                # sinfo says so from the controller's next pass on: until then the node reads idle.
                since = f" from {begin}" if _WORD.fullmatch(begin) else ""
                ahead.setdefault(node, f"{kind} {name}{since}{until_text}")
        elif state == "INACTIVE" and ahead_until and _WORD.fullmatch(begin) and _epoch(begin) <= ahead_until:
            text = (
                f"{kind} {name} from {begin}{until_text}, before this check's job there would end "
                f"(--time {job_minutes(timeout)} min)"
            )
            for node in _hostnames(nodes, env):
                ahead.setdefault(node, text)
    if ahead:
        own = allocated(env)  # asked once: inside a job, each ask runs scontrol
        ahead = {n: why for n, why in ahead.items() if n not in own}
    return [
        dataclasses.replace(s, reason="; ".join(filter(None, (now[s.name], s.reason))))
        if s.name in now and not s.available
        else dataclasses.replace(s, state=RESERVED_AHEAD, reason=ahead[s.name])
        if s.name in ahead and s.available
        else s
        for s in states
    ]


def _epoch(stamp: str) -> float:
    """A time as scontrol prints it (``2026-05-04T18:00:00``, local time) in seconds since the epoch; infinity
    when it is not one (``Unknown``)."""
    try:
        return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S").timestamp()
    except ValueError:
        return math.inf


def job_minutes(timeout: float) -> int:
    """The time limit (``srun --time``, minutes) of a node's job for a ``timeout`` of seconds."""
    return int(timeout // 60) + 2


_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_+-]{0,200}")  # a reservation's name or end, as scontrol says it
_NODELIST = re.compile(r"[A-Za-z0-9][A-Za-z0-9.,_\[\]-]{0,10000}")


def _answering(states: list[NodeState], env: Mapping[str, str]) -> list[NodeState]:
    """``states``, each available node whose slurmd does not accept a connection at its address marked
    ``SILENT``. Slurm reports a node whose slurmd died as it was (idle, completing) until its ping or SlurmdTimeout
    notices: a srun there failed ("Communication connection failure") and left the node completing, where the
    next one read "Requested nodes are busy" for the whole timeout."""
    return _mark_silent(states, _silent(states, env))


def _mark_silent(states: list[NodeState], silent: Mapping[str, str]) -> list[NodeState]:
    return [
        dataclasses.replace(s, state=SILENT, reason=f"{silent[s.name]}; Slurm still reports it {s.state}")
        if s.name in silent
        else s
        for s in states
    ]


def _silent(states: Sequence[NodeState], env: Mapping[str, str]) -> dict[str, str]:
    """Of the available nodes, those whose slurmd does not accept a connection, with why. A node whose address
    scontrol does not say is not asked (it is tried, as before). A refusal alone does not tell a dead slurmd from
    a path that is blocked (a firewall between this host and a rack's nodes, which Slurm's own traffic passes):
    a node is silent only where a node of its own rack (``_racks``) accepts one here, a selected node or up to
    ``WITNESSES`` others Slurm reports responding. Where none of its rack does, Slurm's own state stands and a
    srun there says what it finds. A node with no rack-mate Slurm knows of is judged by any node's answer."""
    names = [s.name for s in states if s.available]
    if not names:
        return {}
    addresses = _addresses(names, env)
    resolve = _Resolver()  # each host name resolved once in this check: by the probes and the racks alike
    answers = _probe(addresses, resolve)
    failed = {name: why for name, why in answers.items() if why}
    if not failed:
        return {}
    others = {name: address for name, address in _addresses((), env, responding=True).items() if name not in answers}
    rack_of = _Racks({**others, **addresses}, env, resolve)
    reached = [name for name, why in answers.items() if not why]
    verdicts: dict[str, bool] = {}  # per rack ("": any node), whether a node of it accepts a connection here
    silent: dict[str, str] = {}
    for name, why in failed.items():
        rack = rack_of(name)
        near = [n for n in reached if rack_of(n) == rack] if rack else reached
        mates = [n for n in others if rack_of(n) == rack] if rack and not near else []
        if rack and not near and not mates and not any(rack_of(n) == rack for n in failed if n != name):
            rack, near = "", reached  # alone in its rack: nothing to tell by but any node's answer
        if rack not in verdicts:
            if not near:
                candidates = mates if rack else list(others)
                witnesses = _probe({n: others[n] for n in candidates[:WITNESSES]}, resolve)
                near = [n for n, w in witnesses.items() if not w]
            verdicts[rack] = bool(near)
        if verdicts[rack]:
            silent[name] = why
    return silent


class _Racks:
    """Each node's rack, where a firewall would treat its nodes alike: its leaf switch in Slurm's topology
    (``scontrol show topology``), else the /24 of its IPv4 address (a rack's nodes share one on most clusters);
    "" for a node of neither. Looked up once, when asked."""

    def __init__(
        self, addresses: Mapping[str, tuple[str, int]], env: Mapping[str, str], resolve: _Resolver | None = None
    ) -> None:
        self._addresses = addresses
        self._env = env
        self._resolve = resolve or _Resolver()
        self._switches: list[tuple[str, str]] | None = None  # (switch, its nodes' hostlist), Level 0
        self._known: dict[str, str] = {}
        self._subnets: dict[str, str] | None = None  # host name -> its /24, resolved when first asked

    def __call__(self, name: str) -> str:
        if name not in self._known:
            rack = self._switch(name)
            if not rack and name in self._addresses:
                if self._subnets is None:
                    # Every switch is expanded now (none named this node): the addresses of the nodes no switch
                    # names are resolved at once, side by side, each host once (one by one, a slow DNS cost
                    # seconds per node of a large cluster).
                    hosts = [addr for n, (addr, _) in self._addresses.items() if n not in self._known]
                    self._subnets = _subnets(self._resolve(hosts))
                subnet = self._subnets.get(self._addresses[name][0], "")
                rack = f"subnet {subnet}" if subnet else ""
            self._known[name] = rack
        return self._known[name]

    def _switch(self, name: str) -> str:
        if self._switches is None:
            self._switches = []
            result = _runner.run(["scontrol", "show", "topology"], timeout=QUERY_TIMEOUT, env=self._env)
            for line in result.stdout.splitlines() if result.ok else []:
                fields = _fields(line)
                nodes, switch = fields.get("Nodes", ""), fields.get("SwitchName", "")
                if fields.get("Level") == "0" and switch and _NODELIST.fullmatch(nodes) and _balanced(nodes):
                    self._switches.append((switch, nodes))
        while self._switches:  # expanded as needed, each once: the nodes found are remembered
            switch, nodes = self._switches.pop(0)
            try:
                members = _hostnames(nodes, self._env)
            except (FleetError, UsageError):
                continue
            for member in members:
                self._known.setdefault(member, f"switch {switch}")
            if name in self._known:
                return self._known[name]
        return ""


RESOLVE_TIMEOUT = 5.0  # seconds the racks' host names have to resolve, all together
MAX_RESOLVING = 16  # host names resolved at once


def _subnets(found: Mapping[str, _Lookup]) -> dict[str, str]:
    """The /24 of each host name ``found`` with an IPv4 address; a host not resolved in time has none."""
    return {host: lookup.ipv4.rpartition(".")[0] for host, lookup in found.items() if lookup.ipv4}


@frozen
class _Lookup:
    addresses: tuple[str, ...] = ()  # the addresses to connect to, in the resolver's order
    ipv4: str = ""  # its first IPv4 address, if any
    error: str = ""  # why it has none (the resolver's own words)


def _lookups(hosts: Sequence[str]) -> dict[str, _Lookup]:
    """Each distinct host name of ``hosts`` resolved, side by side, at most ``MAX_RESOLVING`` at once, within
    ``RESOLVE_TIMEOUT`` seconds together; a host not resolved by then is left out. Daemon threads: a resolver
    that never answers (getaddrinfo has no timeout of its own) holds nothing up, not even the interpreter's
    exit."""
    todo = list(dict.fromkeys(hosts))
    found: dict[str, _Lookup] = {}
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                host = todo.pop()
            result = _lookup(host)
            with lock:
                found[host] = result

    threads = [
        threading.Thread(target=work, name="envsnap-resolve", daemon=True) for _ in range(min(len(todo), MAX_RESOLVING))
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + RESOLVE_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        todo.clear()  # what is left waits for no thread
        return dict(found)


class _Resolver:
    """Host names resolved (``_lookups``), each at most once: a name asked again is answered from the first
    lookup, and one not resolved in time then stays unresolved. The probes resolved the selected nodes' names,
    then the racks resolved them again, and a witness's name twice too: a slow resolver cost its time twice."""

    def __init__(self) -> None:
        self._asked: set[str] = set()
        self._found: dict[str, _Lookup] = {}

    def __call__(self, hosts: Sequence[str]) -> dict[str, _Lookup]:
        new = [host for host in dict.fromkeys(hosts) if host not in self._asked]
        self._asked.update(new)
        if new:
            self._found.update(_lookups(new))
        return {host: self._found[host] for host in hosts if host in self._found}


def _lookup(host: str) -> _Lookup:
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    except OSError as exc:
        return _Lookup(error=exc.strerror or type(exc).__name__)
    except UnicodeError as exc:
        return _Lookup(error=type(exc).__name__)
    addresses = [(family, str(info[0])) for family, _, _, _, info in infos]
    ipv4 = next((a for family, a in addresses if family == socket.AF_INET), "")
    ordered = tuple(dict.fromkeys(a for _, a in addresses))
    return _Lookup(ordered, ipv4, "" if addresses else "no address")


WITNESSES = 8  # other nodes of a rack asked, when none of its selected nodes' slurmd accepts a connection


def _addresses(names: Sequence[str], env: Mapping[str, str], *, responding: bool = False) -> dict[str, tuple[str, int]]:
    """The slurmd address (scontrol's ``NodeAddr``, ``Port``) of each of ``names`` (of every node when none are
    named; ``responding``: only those Slurm reports responding and up)."""
    args = ["scontrol", "show", "node", "--oneliner", *([",".join(names)] if names else [])]
    result = _runner.run(args, timeout=QUERY_TIMEOUT, env=env)
    if not result.ok:
        return {}
    addresses = {}
    for line in result.stdout.splitlines():
        fields = _fields(line)
        name, addr, port = fields.get("NodeName", ""), fields.get("NodeAddr", ""), fields.get("Port", "")
        flags = fields.get("State", "").upper().replace("+", " ").replace("*", " NOT_RESPONDING").split()
        if responding and (not flags or any(f in _NOT_UP for f in flags)):
            continue
        if (name in names or not names) and _ADDRESS.fullmatch(addr):
            addresses[name] = (addr, int(port) if port.isdigit() else SLURMD_PORT)
    return addresses


# scontrol's State words of a node whose slurmd need not answer (``IDLE+NOT_RESPONDING``, ``DOWN*``)
_NOT_UP = frozenset(["NOT_RESPONDING", "DOWN", "FUTURE", "POWERED_DOWN", "POWERING_UP", "POWER_DOWN", "UNKNOWN"])


def _probe(addresses: Mapping[str, tuple[str, int]], resolve: _Resolver | None = None) -> dict[str, str]:
    """Each node's slurmd asked for a connection at once: "" when it accepted one, else why not. Its host name is
    resolved first, each once, within ``RESOLVE_TIMEOUT`` (``create_connection`` resolves it without a bound: a
    hung resolver held the whole check); a node whose name is not resolved by then is left out, not asked.
    ``resolve``: the check's resolver, whose names found already are not resolved again."""
    if not addresses:
        return {}
    found = (resolve or _Resolver())([addr for addr, _ in addresses.values()])
    asked = {name: (addr, port) for name, (addr, port) in addresses.items() if addr in found}
    if not asked:
        return {}

    def one(addr: str, port: int) -> str:
        lookup = found[addr]
        if not lookup.addresses:
            return f"its slurmd does not answer at {addr}:{port} ({lookup.error})"
        return _connect(addr, port, lookup.addresses)

    with ThreadPoolExecutor(max_workers=min(len(asked), MAX_PARALLEL), thread_name_prefix="ping") as pool:
        return dict(zip(asked, pool.map(lambda a: one(*a), asked.values()), strict=True))


_ADDRESS = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,252}")  # a host name or an IP address, as scontrol says it


def _connect(addr: str, port: int, ips: Sequence[str]) -> str:
    """ "" when something accepts a connection at one of ``ips`` (``addr`` resolved), tried in turn as
    ``create_connection`` tries a name's addresses (``localhost`` is ``::1`` first on most machines, where a slurmd
    listening on IPv4 alone refuses), else why not (at the last one)."""
    why = "no address"
    for ip in ips:
        try:
            with socket.create_connection((ip, port), timeout=CONNECT_TIMEOUT):
                return ""
        except TimeoutError:
            why = f"no connection within {CONNECT_TIMEOUT:g} s"
        except ConnectionRefusedError:
            why = "connection refused"
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
    return f"its slurmd does not answer at {addr}:{port} ({why})"


def _in_own_job(states: list[NodeState], env: Mapping[str, str]) -> list[NodeState]:
    """Run in a job, its own nodes are reached by a step of it (``srun --overlap``), which a partition set down or
    drained after the job began does not stop: for them only the node's own state counts."""
    if not in_job(env) or all(s.partition_state in ("up", "") for s in states):
        return states
    mine = allocated(env)
    return [dataclasses.replace(s, partition_state="up") if s.name in mine else s for s in states]


def _known_partition(partition: str, env: Mapping[str, str]) -> None:
    """Refuse a partition Slurm does not know (sinfo lists every partition, empty ones too), or one of a list
    (``-p debug,gpu``, as sinfo and srun read it): sinfo leaves out a name of the list it does not know."""
    partitions = list(dict.fromkeys(_query(["sinfo", "--noheader", "--format=%R"], env).split()))
    listed = ", ".join(partitions[:20]) + (", ..." if len(partitions) > 20 else "")
    names = partition.split(",")
    if len(names) > 1 and not all(names):
        raise UsageError(f"-p {shown(partition)}: an empty partition name in the list")
    for name in names:
        if name not in partitions:
            what = "of this name" if len(names) == 1 else shown(name)
            raise UsageError(
                f"-p {shown(partition)}: Slurm knows no partition {what} (its partitions: {listed or 'none'})"
            )


def in_job(env: Mapping[str, str]) -> bool:
    return bool(env.get("SLURM_JOB_ID") or env.get("SLURM_JOBID"))


def without_job(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without the variables that tie srun to the job it runs in."""
    return {k: v for k, v in env.items() if k not in _JOB_VARIABLES and not k.startswith(_JOB_PREFIXES)}


def allocated(env: Mapping[str, str]) -> set[str]:
    """The nodes of the job envsnap runs in (none outside a job)."""
    nodelist = env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST") or ""
    if not in_job(env) or not nodelist:
        return set()
    return set(_hostnames(nodelist, env))


def job_gpus(nodes: Sequence[str], env: Mapping[str, str]) -> dict[str, int]:
    """The GPUs the job envsnap runs in holds on each of its ``nodes``: what ``scontrol show job -d`` says of each
    node (``Nodes=n[1-2] CPU_IDs=0-3 Mem=0 GRES=gpu:a100:2(IDX:0-1)``), else the count Slurm set for the job on
    this node (``SLURM_GPUS_ON_NODE``, ``SLURM_JOB_GPUS``: ``0,1``) for each of them (a job's nodes are alike
    unless it asked otherwise)."""
    job = env.get("SLURM_JOB_ID") or env.get("SLURM_JOBID") or ""
    counts: dict[str, int] = {}
    if job.isdigit():
        shown_job = _runner.run(["scontrol", "show", "job", "--details", job], timeout=QUERY_TIMEOUT, env=env)
        for line in shown_job.stdout.splitlines() if shown_job.ok else ():
            fields = _fields(line)
            if "Nodes" not in fields or "CPU_IDs" not in fields:
                continue
            hosts = fields["Nodes"]
            names = [hosts] if "[" not in hosts else _hostnames(hosts, env)
            counts.update(dict.fromkeys(names, gres_gpus(fields.get("GRES", ""))))
    if counts:
        return {n: counts.get(n, 0) for n in nodes}
    on_node = env.get("SLURM_GPUS_ON_NODE", "")
    listed = env.get("SLURM_JOB_GPUS", "")
    if on_node.isdigit():
        each = int(on_node)
    elif listed and all(i.strip().isdigit() for i in listed.split(",")):
        each = len(listed.split(","))
    else:
        each = 0
    return dict.fromkeys(nodes, each)


def srun_command(
    node: NodeState,
    command: Sequence[str],
    *,
    timeout: float,
    job_name: str,
    step: bool = False,
    gpus: int = 0,
    left: float | None = None,
) -> list[str]:
    """One task on ``node``, never waiting for resources longer than the ``left`` seconds of its timeout (less a
    margin, so that srun's own reason comes back); ``step``: a step of the job envsnap runs in (``node`` is one
    of its nodes), beside the steps that hold its CPUs (``--overlap``), with the job's GPUs there; else ``gpus``
    GPUs of the node (``--gres=gpu:N``): a cluster that constrains a job to its devices shows a task none
    otherwise."""
    left = timeout if left is None else left
    return [
        "srun",
        f"--nodelist={node.name}",
        *(["--overlap"] if step else [f"--partition={node.partition}"] if node.partition else []),
        # A step runs in its job's reservation; a job of its own names the one that holds the node.
        *([f"--reservation={node.reservation}"] if node.reservation and not step else []),
        "--nodes=1",
        "--ntasks=1",
        "--ntasks-per-node=1",
        *([f"--gres=gpu:{gpus}"] if gpus and not step else []),
        f"--immediate={max(1, int(left) - IMMEDIATE_MARGIN)}",
        f"--time={job_minutes(timeout)}",
        f"--job-name={job_name}",
        "--quiet",
        "--input=none",  # the task reads nothing: srun forwards its own input to its tasks by default
        "--kill-on-bad-exit=0",
        "--export=ALL",
        "--",
        *command,
    ]


def _result_in_main_thread(future: Future[None]) -> None:
    """``future.result()``, woken every ``_runner.SIGNAL_POLL_S``, as ``_runner``'s waits are: Python runs a
    signal's handler in the main thread only, and the kernel gives a process's SIGTERM to any of its threads not
    blocking it. Given to an srun's thread, it woke nothing, and a main thread asleep in an unbounded wait never
    ran the handler: a CI job's SIGTERM left ``fleet check`` waiting out its whole ``--timeout``, its sruns holding
    the nodes. A bounded wait returns to the interpreter, which runs the pending handler (``Terminated``)."""
    while True:
        try:
            future.result(timeout=_runner.SIGNAL_POLL_S)
            return
        except FutureTimeout:
            continue


def run_on_nodes(
    nodes: Sequence[NodeState],
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    job_name: str = "",
    on_done: Callable[[NodeRun], None] | None = None,
    gpus: GpuRequest = 0,
) -> dict[str, NodeRun]:
    """``command`` on every node at once (one srun each), each given ``timeout`` seconds from when the sruns
    start, and ``gpus`` of the GPUs Slurm lists on it. The jobs of nodes that did not answer in time are cancelled
    (killing srun alone leaves its job running). Run in a job, a node of that job runs a step of it (with the
    job's GPUs there), and any other node a job of its own, as from a login node."""
    mine = allocated(env) if nodes else set()
    granted = job_gpus(sorted(mine), env) if mine else {}
    own_job_env = without_job(env) if in_job(env) else env
    job_name = job_name or f"envsnap-fleet-{os.getpid()}-{int(time.time())}"
    lock = threading.Lock()
    results: dict[str, NodeRun] = {}
    sruns: list[_runner.Running] = []
    stopping = threading.Event()

    at_once = min(len(nodes), MAX_PARALLEL)
    # The nodes' time begins here, once the job's own lookups above (scontrol, each bounded by QUERY_TIMEOUT) are
    # done: a slow controller took them out of --timeout, and nodes that answer in seconds read "no answer".
    # A node waits for a place from here on too.
    submitted = time.monotonic()
    deadline = submitted + timeout

    def one(node: NodeState) -> None:
        started = time.monotonic()
        waited = started - submitted
        with lock:
            if stopping.is_set():
                return
            step = node.name in mine
            # A step has the job's GPUs there: the report judges a node given fewer than Slurm lists on it by
            # Slurm's count, as with ``--gpus N``.
            asked = min(granted.get(node.name, 0), node.gpus) if step else gpus_for(node, gpus)
            left = deadline - time.monotonic()
            if left < MIN_LEFT and waited >= MIN_LEFT:
                # Its turn came when the time was up: the others' sruns held every place until the deadline.
                # Asked for nothing: the report names no GPUs of it (``gpus`` 0).
                run = NodeRun(
                    node.name, -9, "", "", 0.0, timed_out=True, in_job=step, waited=waited, at_once=at_once, asked=False
                )
                results[node.name] = run
                if on_done is not None:
                    on_done(run)
                return
            running = _runner.start(
                srun_command(node, command, timeout=timeout, job_name=job_name, step=step, gpus=asked, left=left),
                env=env if step else own_job_env,
                # No input: up to 64 sruns read the terminal's (what the user types meanwhile) or a script's (the
                # rest of a ``while read`` loop's list) otherwise.
                input="",
                max_output=NODE_OUTPUT_LIMIT,
            )
            sruns.append(running)
        if running.error is not None and running.error.returncode == 127:
            raise FleetError("srun not found: envsnap fleet runs where Slurm's client commands are installed")
        # What the node said before a deadline it missed tells what it was waiting on (``node.waiting_on``).
        res = running.wait(max(0.0, deadline - time.monotonic()), keep_stderr=True)
        run = NodeRun(
            node.name,
            res.returncode,
            res.stdout,
            res.stderr,
            time.monotonic() - started,
            timed_out=res.timed_out,
            flooded=res.flooded,
            gpus=asked,
            in_job=step,
            waited=waited,
            at_once=at_once,
        )
        with lock:
            results[node.name] = run
            if on_done is not None:
                on_done(run)

    if not nodes:
        return results
    try:
        with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="srun") as pool:
            try:
                for future in [pool.submit(one, n) for n in nodes]:
                    _result_in_main_thread(future)
            except BaseException:  # Ctrl-C, or a node's srun missing: stop now, not at the deadline
                with lock:
                    stopping.set()
                for running in sruns:
                    running.kill()
                raise
    finally:
        if stopping.is_set() or len(results) < len(nodes) or any(r.timed_out or r.flooded for r in results.values()):
            _runner.run(
                ["scancel", f"--name={job_name}", f"--user={os.getuid()}"], timeout=QUERY_TIMEOUT, env=own_job_env
            )
            if mine:
                _cancel_steps(job_name, env)
    return results


def document(stdout: str, first_line: str) -> str:
    """What a node printed, from the line that begins its document (``first_line``) on: a site's TaskProlog may
    print lines (``print ...``), which Slurm writes to the task's standard output ahead of the task's own. The
    whole output when no line is ``first_line``."""
    start = 0
    for line in stdout.splitlines(keepends=True):
        if line.rstrip("\r\n") == first_line:
            return stdout[start:]
        start += len(line)
    return stdout


# How long the steps of a node that did not answer have to end on SIGTERM before they are cancelled (SIGKILL).
STEP_TERM_GRACE = 5.0


def _cancel_steps(name: str, env: Mapping[str, str]) -> None:
    """Cancel the steps called ``name`` of the job envsnap runs in (``scancel --name`` reads the job's name).
    SIGTERM first, then the cancel: ``scancel JOB.STEP`` sends a step SIGKILL alone (a job's cancel sends SIGTERM,
    then SIGKILL after ``KillWait``), and a node's envsnap so killed could not end what it started in a session of
    its own (a hung interpreter), which a cluster that tracks a step's processes by process group
    (``proctrack/pgid``) does not end either: it ran on. On SIGTERM, ``fleet node`` ends it and exits."""
    job = env.get("SLURM_JOB_ID") or env.get("SLURM_JOBID") or ""

    def listed() -> list[str]:
        res = _runner.run(
            ["squeue", "--steps", "--noheader", f"--jobs={job}", "--format=%i|%j"], timeout=QUERY_TIMEOUT, env=env
        )
        return [i for i, _, n in (line.partition("|") for line in res.stdout.split()) if n == name]

    steps = listed()
    if not steps:
        return
    _runner.run(["scancel", "--signal=TERM", *steps], timeout=QUERY_TIMEOUT, env=env)
    until = time.monotonic() + STEP_TERM_GRACE
    while time.monotonic() < until:
        time.sleep(0.5)
        left = [s for s in listed() if s in steps]
        if not left:
            return
        steps = left
    _runner.run(["scancel", *steps], timeout=QUERY_TIMEOUT, env=env)


# Where a site installs Slurm's client commands, looked in when scontrol is neither on PATH nor beside slurmd.
SLURM_BIN_DIRS = ("/usr/bin", "/bin", "/usr/local/bin", "/opt/slurm/bin", "/usr/local/slurm/bin")
_SLURM_DAEMONS = ("slurmd", "slurmstepd")


def scontrol_path(env: Mapping[str, str]) -> str:
    """The scontrol to run from a Prolog or TaskProlog, "" when none is found. Slurm runs them with a minimal
    environment whose PATH (if any) lacks a site's /opt/slurm/bin: ``env``'s PATH, else the scontrol of the Slurm
    whose slurmd (or slurmstepd) started this process (its bin folder, beside its sbin), else ``SLURM_BIN_DIRS``."""
    import shutil

    found = shutil.which("scontrol", path=env.get("PATH") or os.defpath)
    if found:
        return found
    for daemon in _slurm_daemons():
        here = os.path.dirname(daemon)
        for folder in (here, os.path.join(os.path.dirname(here), "bin")):
            candidate = os.path.join(folder, "scontrol")
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return next((found for d in SLURM_BIN_DIRS if (found := shutil.which("scontrol", path=d) or "")), "")


def _slurm_daemons() -> list[str]:
    """The programs of this process's ancestors that are Slurm's daemons (slurmd, slurmstepd), nearest first
    (none readable where /proc says nothing, or where they run as another user)."""
    daemons: list[str] = []
    pid = os.getppid()
    for _ in range(16):  # a Prolog is a few processes below slurmd
        if pid <= 1:
            break
        try:
            program = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            program = ""
        if os.path.basename(program).startswith(_SLURM_DAEMONS):
            daemons.append(program)
        fields = _procstat.stat_fields(pid)
        if len(fields) <= _procstat.PPID or not fields[_procstat.PPID].isdigit():
            break
        pid = int(fields[_procstat.PPID])
    return daemons


def _scontrol(args: Sequence[str], env: Mapping[str, str] | None) -> str:
    """ "" when ``scontrol ARGS`` did it, else why not (not an operator, no scontrol, no controller)."""
    env = env if env is not None else os.environ
    program = scontrol_path(env)
    if not program:
        path = env.get("PATH") or os.defpath
        return f"scontrol not found (on PATH={path}, beside slurmd or in {', '.join(SLURM_BIN_DIRS)})"
    result = _runner.run([program, *args], timeout=QUERY_TIMEOUT, env=env)
    if result.ok:
        return ""
    return (result.stderr.strip().splitlines() or [f"scontrol exit status {result.returncode}"])[-1]


_NODE_NAME = LazyPattern(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")


def is_node_name(name: str) -> bool:
    """A host name as Slurm's node names are: nothing scontrol could read as another word or an option."""
    return _NODE_NAME.fullmatch(name) is not None


def drain(node: str, reason: str, env: Mapping[str, str] | None = None) -> str:
    """Drain ``node`` with ``reason``; "" when done, else why not."""
    return _scontrol(["update", f"NodeName={node}", "State=DRAIN", f"Reason={reason}"], env)


def batch_job(job_id: str, env: Mapping[str, str] | None = None) -> bool | None:
    """Whether ``job_id`` is a batch job (``scontrol show job``'s ``BatchFlag``), which alone Slurm requeues; None
    when Slurm did not say."""
    env = env if env is not None else os.environ
    program = scontrol_path(env)
    if not program:
        return None
    result = _runner.run([program, "show", "job", "--oneliner", job_id], timeout=QUERY_TIMEOUT, env=env)
    for line in result.stdout.splitlines() if result.ok else ():
        fields = _fields(line)
        if fields.get("JobId") == job_id and fields.get("BatchFlag", "").isdigit():
            return fields["BatchFlag"] != "0"
    return None


def requeue(job_id: str, env: Mapping[str, str] | None = None) -> str:
    """Put a batch job back in the queue (it then runs on another node); "" when done, else why not."""
    return _scontrol(["requeue", job_id], env)
