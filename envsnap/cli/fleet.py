"""``envsnap fleet``: check, capture and compare every node of a Slurm cluster; the prolog mode for Slurm."""

from __future__ import annotations

import argparse
import os

from .. import _defaults
from ..errors import EnvsnapError, UsageError
from . import (
    COMMAND_HELP,
    EXIT_FAILED,
    EXIT_INCOMPATIBLE,
    EXIT_OK,
    EXIT_WARNINGS,
    PathValue,
    _output,
    add_gpu_timeout,
    seconds,
)

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .. import fleet
    from ..fleet.report import FleetReport


_STYLES = {
    "compatible": "green",
    "warnings": "yellow",
    "incompatible": "bold red",
    "unreachable": "bold red",
    "invalid": "bold red",
}
DIFFERING_MARK = "*"  # after the header of a column on which the nodes differ; a line below the matrix says so
_HEADERS = {
    "driver": "driver",
    "cuda_driver": "CUDA drv",
    "cuda_runtime": "CUDA rt",
    "cudnn": "cuDNN",
    "nccl": "NCCL",
    "gpus": "GPUs",
    "torch": "torch",
    "glibc": "glibc",
    "python": "Python",
    "python_layer": "Python layer",
}


def _selection_args(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--nodes",
        "-N",
        type=int,
        metavar="N",
        default=None,
        help="N nodes of the partition (default: every node of it)",
    )
    which.add_argument(
        "-w",
        "--nodelist",
        metavar="NODELIST",
        default=None,
        help="these nodes, in Slurm's hostlist notation (node[1-4],gpu7)",
    )
    p.add_argument(
        "-p",
        "--partition",
        metavar="PARTITION",
        default=None,
        help="the partition whose nodes to use (default: the default partition)",
    )
    p.add_argument(
        "--reservation",
        metavar="NAME",
        default=None,
        help="the active Slurm reservation whose nodes to use (a maintenance window's): each node it holds is "
        "asked through it (srun --reservation); without -w, its nodes are those asked",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=_defaults.FLEET_TIMEOUT,
        metavar="S",
        help="seconds each node has to answer; a node that has not answered by then is reported "
        "unreachable (default: %(default)g)",
    )
    p.add_argument(
        "--envsnap",
        type=PathValue("path to envsnap on the nodes"),
        metavar="PATH",
        help="the envsnap program on the nodes (default: the same path "
        "as the one running here, else envsnap on the nodes' PATH)",
    )


def _gpu_request(text: str) -> fleet.GpuRequest:
    """``--gpus``: all, none or a count."""
    if text == "all":
        return "all"
    if text == "none":
        return 0
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r}: all, none or a number of GPUs (1 or more)")


def _gpus_arg(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument(
        "--gpus",
        type=_gpu_request,
        metavar="all|none|N",
        default=None,
        help="the GPUs each node's srun asks Slurm for, of those its configuration lists on the node (a cluster "
        f"that constrains jobs to their devices shows a task no other): {default}",
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "fleet",
        help=COMMAND_HELP["fleet"],
        description="Check, capture and compare the nodes of a Slurm cluster, and the quick check "
        "a Slurm prolog runs before a job (docs/fleet.md).",
    )
    fsub = p.add_subparsers(dest="fleet_command", metavar="SUBCOMMAND")
    fsub.required = True

    c = fsub.add_parser(
        "check",
        help="can every node run the lock?",
        description="Run `envsnap fleet node LOCK` once on every selected node through srun, "
        "and print a node x component matrix: identical nodes grouped, differences highlighted, "
        "failing nodes first with their remedies. Exit status: 0 every node compatible, 1 "
        "warnings with --strict, 2 bad input, 3 a node incompatible, unreachable or invalid (reached, with no "
        "answer to take), 4 Slurm could not be asked (or, with --drain, a node could not be drained).",
    )
    c.add_argument(
        "lock", type=PathValue("lockfile"), metavar="LOCK", help="the lockfile (its path must be readable on the nodes)"
    )
    _selection_args(c)
    c.add_argument("--json", action="store_true", help="print the report as JSON (fields in docs/fleet.md)")
    c.add_argument(
        "-o",
        "--output",
        type=PathValue("file to write"),
        metavar="REPORT",
        help="also write the JSON report to this file (- for standard output)",
    )
    c.add_argument("--strict", action="store_true", help="exit 1 when there are warnings (and no failures)")
    c.add_argument("--cpu-only", action="store_true", help="accept nodes without the GPU: GPU failures become warnings")
    _gpus_arg(c, "default all of the node's when the lock needs GPUs (and not --cpu-only), else none")
    add_gpu_timeout(c, "reported, on each node,", given_only=True)
    c.add_argument(
        "--drain",
        action="store_true",
        help="after the check, drain each incompatible node with envsnap's reason, as fleet prolog does (scontrol "
        "update State=DRAIN; needs Slurm operator rights); a node drained or down already is left as it is",
    )
    c.add_argument(
        "--drain-unanswered",
        action="store_true",
        help="with --drain (which it implies), also drain each node tried that gave no answer to take "
        "(unreachable after its srun, invalid)",
    )
    c.set_defaults(func=run_check)

    n = fsub.add_parser(
        "node",
        help="one node's answer to fleet check (JSON; fleet check runs it)",
        description="Capture this node once and print, as JSON, whether it can run the lock "
        "(the rules of check), whether its Python layer is the locked one, and the facts of the "
        "fleet matrix. fleet check runs it on every node. Exit status: 0 compatible, 3 "
        "incompatible, 2 bad input.",
    )
    n.add_argument("lock", type=PathValue("lockfile"), metavar="LOCK", help="the lockfile")
    n.add_argument("--cpu-only", action="store_true", help="GPU failures become warnings")
    add_gpu_timeout(n, "reported")
    n.set_defaults(func=run_node)

    pr = fsub.add_parser(
        "prolog",
        help="the quick check a Slurm Prolog or TaskProlog runs",
        description="Can this node run the job's lock (LOCK, else $ENVSNAP_LOCK; nothing to do "
        "and exit 0 when neither is given)? Prints one line for the Slurm log. When it cannot, "
        "the node is drained with envsnap's reason (where Slurm allows this process to) and, "
        "once it is, a batch job is requeued; the exit status is 3, so the job does not run here. "
        "Exit status: 0 can run (or nothing to check), 3 cannot, 2 bad input.",
    )
    pr.add_argument(
        "lock", type=PathValue("lockfile"), metavar="LOCK", nargs="?", help="the lockfile (default: $ENVSNAP_LOCK)"
    )
    pr.add_argument(
        "--cpu-only",
        action="store_true",
        help="a CPU partition's prolog: GPU failures are accepted, and the NVIDIA driver is not asked",
    )
    pr.add_argument(
        "--python-timeout",
        type=seconds,
        default=_defaults.PROBE_TIMEOUT,
        metavar="SECONDS",
        help="how long the environment's interpreter may take to answer envsnap's probe, which the job waits for "
        "(a hung file system); after it, the node cannot be checked (default: %(default)g)",
    )
    pr.set_defaults(func=run_prolog)

    cap = fsub.add_parser(
        "capture",
        help="one capture per node, in one FLEET.toml",
        description="Run `envsnap capture -o -` once on every selected node and write one "
        "FLEET.toml: what every node shares once, then each node's differences (format in "
        "docs/fleet.md), so drift between nodes shows without a lock to compare against. Nodes "
        "without a capture are listed in it. Exit status: 0 every node captured, 3 a node "
        "unreachable or invalid (the file is written with the others), 2 bad input, 4 Slurm could not be "
        "asked.",
    )
    cap.add_argument(
        "-o",
        "--output",
        type=PathValue("file to write"),
        metavar="FLEET.toml",
        default="fleet.toml",
        help="where to write it (default: %(default)s; - for standard output)",
    )
    _selection_args(cap)
    _gpus_arg(cap, "default all")
    add_gpu_timeout(cap, "recorded, on each node,", given_only=True)
    cap.set_defaults(func=run_capture)

    d = fsub.add_parser(
        "diff",
        help="what changed between two FLEET.toml files",
        description="Node by node, every value that differs between two FLEET.toml files (the "
        "cluster last month and today), and the nodes gained or lost. Exit status: 0 the same, "
        "1 they differ, 2 bad input.",
    )
    d.add_argument("old", type=PathValue("FLEET.toml file"), metavar="OLD", help="the earlier FLEET.toml")
    d.add_argument("new", type=PathValue("FLEET.toml file"), metavar="NEW", help="the later FLEET.toml")
    d.add_argument("--json", action="store_true", help="print the changes as JSON")
    d.set_defaults(func=run_diff)


def _selection(args: argparse.Namespace) -> fleet.Selection:
    from .. import fleet

    if args.nodes is not None and args.nodes < 1:
        raise UsageError(f"--nodes {args.nodes}: must be 1 or more")
    if args.nodelist is not None and not args.nodelist.strip():
        # -w "$NODES" with $NODES empty: the whole default partition was checked instead of none.
        raise UsageError(f"-w {args.nodelist!r}: not a Slurm node list (empty)")
    # -p "$PARTITION" or --reservation "$RES" with the variable empty read as none given: the default partition
    # (or the nodes outside any reservation) was checked instead.
    for option, value in (("-p", args.partition), ("--reservation", args.reservation)):
        if value is not None and not value.strip():
            what = "partition" if option == "-p" else "reservation"
            raise UsageError(f"{option} {value!r}: not a {what} name (empty); a shell variable left unset?")
    return fleet.Selection(
        count=args.nodes or 0,
        nodelist=args.nodelist or "",
        partition=args.partition or "",
        reservation=args.reservation or "",
    )


def _node_command(args: argparse.Namespace) -> list[str]:
    from .. import fleet

    return fleet.node_command(args.envsnap)


def _writable(output: str | None) -> None:
    """Refuse an -o that cannot be written before the nodes are asked (their answers take up to --timeout); a
    folder not made yet is made when the result is written, as for ``capture -o`` and ``export -o``."""
    from .._fs import cannot_write, check_writable

    if output is None or output == "-":
        return
    try:
        check_writable(output)
    except OSError as exc:
        raise UsageError(cannot_write(output, exc)) from None


def _write(output: str, text: str) -> None:
    """Beside ``output`` and renamed into place, its missing folders made first; noted in the work tree's export
    ledger, as ``export`` notes what it writes: a FLEET.toml or report in the project is envsnap's output, and each
    node's next capture found it an uncommitted change (``fleet diff``: ``project.dirty: false -> true``)."""
    from .._fs import atomic_write_text, cannot_write, make_parents
    from ..probes.gitstate import remember_exports

    try:
        make_parents(output)
        atomic_write_text(output, text)
    except OSError as exc:
        raise UsageError(cannot_write(output, exc)) from exc
    remember_exports([output])


def run_check(args: argparse.Namespace) -> int:
    from .. import fleet
    from .._samefile import refuse_output_over_input

    refuse_output_over_input(args.output or "", [("the lock", args.lock)])
    _writable(args.output)
    progress = _output.bar("nodes answering")
    try:
        report = fleet.check_fleet(
            args.lock,
            _selection(args),
            envsnap=_node_command(args),
            timeout=args.timeout,
            cpu_only=args.cpu_only,
            gpus=args.gpus,
            gpu_timeout=args.gpu_timeout,
            on_nodes=lambda states: progress.start(len([s for s in states if s.available])),
            on_done=lambda run: progress.advance(f"{run.node} answered"),
        )
    finally:
        progress.stop()
    draining = args.drain or args.drain_unanswered
    drained = fleet.drain_failing(report, unanswered=args.drain_unanswered) if draining else []
    data = report.to_dict()
    if draining:
        data["drain"] = [o.to_dict() for o in drained]
    # ``-o -`` is standard output, as for ``fleet capture``: the JSON report there, once (it wrote a file named -).
    to_stdout = args.output == "-"
    if args.output and not to_stdout:
        _write(args.output, _output.json_text(data))  # escaped as --json prints it
    if args.json or to_stdout:
        _output.print_json(data)
    else:
        print_report(report)
    # After the report, on standard error: what was drained, left or could not be drained, nodes of one outcome on
    # one line (a rack's, or every node where this user may not drain).
    if drained:
        _output.write_lines(*drain_lines(drained))
    if any(o.action == "failed" for o in drained):
        return EXIT_FAILED
    if report.verdict == "incompatible":
        return EXIT_INCOMPATIBLE
    if args.strict and report.verdict == "warnings":
        return EXIT_WARNINGS
    return EXIT_OK


def drain_lines(outcomes: Sequence[fleet.DrainOutcome]) -> list[str]:
    """One line per outcome, the nodes sharing one (the same reason, the same cause) named together."""
    from ..fleet import hostlist

    said = {"drained": "drained: {reason}", "left": "left as it is: {detail}", "failed": "could not drain: {detail}"}
    by_line: dict[str, list[str]] = {}
    for o in outcomes:
        by_line.setdefault(said[o.action].format(reason=o.reason, detail=o.detail), []).append(o.node)
    return [f"{hostlist.compress(nodes)}: {line}" for line, nodes in by_line.items()]


def matrix(report: FleetReport) -> _output.Table:
    from .. import fleet

    common, differing = report.common(), set(report.differing())
    # A column that is "-" on every node (a CPU cluster's driver, CUDA and NCCL) took room from those that are not,
    # folded to a few characters on a 100-column terminal: it is left out, and a line below the table says so.
    shown = [f for f in fleet.FACTS if f not in report.empty()]
    rows: list[list[_output.Part]] = []
    for group in report.groups():
        r = group.result
        cells: list[_output.Part] = [(group.hostlist, "bold"), (r.verdict, _STYLES[r.verdict])]
        for fact in shown:
            value = r.facts.get(fact, "") if r.answered else "?"
            odd = r.answered and fact in differing and value != common[fact]
            cells.append((value or "-", "bold yellow reverse" if odd else ""))
        rows.append(cells)
    marked = {f: f"{_HEADERS[f]} {DIFFERING_MARK}" if f in differing else _HEADERS[f] for f in shown}
    columns = ["nodes", "verdict", *marked.values()]
    return _output.table(
        rows,
        columns=columns,
        title=f"envsnap fleet check: {report.lock}",
        caption=report.summary(),
        overflow="fold",
        whole=2,
    )


def print_report(report: FleetReport) -> None:
    # Off a terminal (a pipe, a job's log) at its own width: folded to 80 columns, a node list and a digest were
    # cut mid-word over several lines.
    _output.print_table(matrix(report), unfolded=True)
    if report.differing():  # a column headed "driver *": what the star means, said where one is printed
        highlighted = "; the values most of them do not have are highlighted" if _output.styled() else ""
        _output.write_lines(f"{DIFFERING_MARK} the nodes that answered differ on this column{highlighted}", err=False)
    if report.empty():
        left_out = ", ".join(_HEADERS[f] for f in report.empty())
        _output.write_lines(f"left out: {left_out} (empty on every node that answered)", err=False)
    if report.gpus_asked():
        _output.write_lines(report.gpus_asked(), err=False)
    for group in report.groups():
        r = group.result
        if r.verdict == "compatible":
            continue
        _output.say((group.hostlist, "bold"), ": ", (r.verdict, _STYLES[r.verdict]), err=False)
        lines = [f"  {r.reason}"] if r.reason else []
        if r.environment and (r.failures or r.warnings):
            lines.append(f"  environment: {r.environment}")
        for label, problems in (("fail", r.failures), ("warn", r.warnings)):
            for p in problems:
                lines.append(f"  {label} {p.component}: needs {p.needed}, found {p.found}")
                if p.remedy:
                    lines.append(f"       remedy: {p.remedy}")
        _output.write_lines(*lines, err=False)


def run_capture(args: argparse.Namespace) -> int:
    from .. import fleet
    from ..fleet import fleetfile

    _writable(args.output)
    progress = _output.bar("nodes captured")
    try:
        result = fleet.capture_fleet(
            _selection(args),
            envsnap=_node_command(args),
            timeout=args.timeout,
            gpus="all" if args.gpus is None else args.gpus,
            gpu_timeout=args.gpu_timeout,
            on_nodes=lambda states: progress.start(len([s for s in states if s.available])),
            on_done=lambda run: progress.advance(f"{run.node} answered"),
        )
    finally:
        progress.stop()
    if args.output == "-":
        _output.write_document(fleetfile.dumps(result))
    else:
        from ..report import counted

        _write(args.output, fleetfile.dumps(result, origin=args.output))  # beside, renamed into place
        without = len(result.unreachable) + len(result.invalid)
        _output.write_lines(
            f"wrote {args.output}: {counted(len(result.nodes), 'node')} captured"
            + (f", {without} without a capture" if without else "")
        )
    # Nodes without a capture for one cause share its line (a rack drained together), as fleet check's rows do.
    for nodes, why in fleetfile.by_cause(result):
        _output.write_lines(f"{nodes}: {why}")
    return EXIT_INCOMPATIBLE if result.unreachable or result.invalid else EXIT_OK


def run_diff(args: argparse.Namespace) -> int:
    from ..fleet import fleetfile, hostlist

    old, new = fleetfile.load(args.old), fleetfile.load(args.new)
    changes = fleetfile.diff(old, new)
    unseen = fleetfile.not_compared(old, new)
    if args.json:
        _output.print_json(
            {
                "old": args.old,
                "new": args.new,
                "changes": [c.to_dict() for c in changes],
                "not_compared": [{"node": n, "old": then, "new": now} for n, then, now in unseen],
            }
        )
        return EXIT_WARNINGS if changes or unseen else EXIT_OK
    # A package's record_digest that changed with its version is no line of its own (--json keeps it).
    lines = [c.describe() for c in fleetfile.grouped(fleetfile.folded(changes))]
    if not changes and unseen:
        from ..report import counted

        captured = len(set(old.nodes) & set(new.nodes))
        lines.append(
            f"{args.old} and {args.new}: the same environments on the {counted(captured, 'node')} captured in both"
        )
    # A node neither file captured was never compared: no diff calls it the same (a drift gate does not pass).
    # Nodes of one cause share its line (a rack down in both files), as the changes do.
    causes: dict[str, list[str]] = {}
    for n, _, _ in unseen:
        causes.setdefault(fleetfile.why_not_compared(old, new, n), []).append(n)
    lines += [
        f"{hostlist.compress(nodes)}: not compared: no capture in either file ({why})" for why, nodes in causes.items()
    ]
    if not lines:
        lines.append(f"{args.old} and {args.new}: the same nodes with the same environments")
    _output.write_lines(*lines, err=False)
    return EXIT_WARNINGS if changes or unseen else EXIT_OK


def run_node(args: argparse.Namespace) -> int:
    from ..fleet.node import node_target
    from ..probes.python import PendingProbe

    chosen, environment, python_layer = node_target(os.environ)
    # The target interpreter scans its environment from now on, while the rest of envsnap and the lock load (as
    # capture and verify start it); a bad lock still ends the command, and the probe with it.
    started = PendingProbe(chosen.python, named=chosen.named())
    from .. import lockfile
    from ..fleet.node import answer_exit, probe

    lock = lockfile.load(args.lock)
    node = os.environ.get("SLURMD_NODENAME", "") or os.uname().nodename
    answer = probe(
        lock,
        chosen,
        node=node,
        lock_path=args.lock,
        cpu_only=args.cpu_only,
        gpu_timeout=args.gpu_timeout,
        gpu_timeout_option=True,
        started=started,
        python_layer=python_layer,
        environment=environment,
        # In a Slurm task (fleet check's srun), what it waits on goes to standard error as it begins, which srun
        # passes on at once: a node that misses the deadline is then told apart by what it was waiting on.
        say=_output.write_lines if os.environ.get("SLURM_STEP_ID") else None,
    )
    _output.print_json(answer)
    return answer_exit(answer["verdict"])


def run_prolog(args: argparse.Namespace) -> int:
    if not (args.lock or os.environ.get(_defaults.FLEET_LOCK_ENV)):
        return EXIT_OK  # no lock: a prolog runs before every job, so this costs no import
    from .. import fleet

    # From a TaskProlog, Slurm reads the script's standard output and error for its `export`, `unset` and `print`
    # lines and drops every other one (the task failed with "TaskProlog failed status=1" alone): a failure is a
    # `print` line, which Slurm writes to the job's output, where its owner looks.
    mark = "print " if fleet.in_task_prolog(os.environ) else ""
    try:
        outcome = fleet.prolog(args.lock, python_timeout=args.python_timeout, cpu_only=args.cpu_only)
    except EnvsnapError as exc:
        if not mark:
            raise
        _output.write_lines(f"{mark}envsnap: error: {exc}")
        return exc.exit_code
    if outcome.line:
        # One line: on stderr (what the Prolog's log, or the job's output from a TaskProlog, gets) when the node
        # cannot run the lock.
        _output.write_lines((mark if outcome.exit_code else "") + outcome.line, err=bool(outcome.exit_code))
    if outcome.requeue_job:
        # Slurm requeues the job by ending its processes, this one among them when it has not exited yet: the end
        # asked for, after the line is written, which must not add "envsnap: terminated (SIGTERM)" nor exit 143.
        import _signal  # type: ignore[import-not-found]  # no stub: signal's own C half

        _signal.signal(_signal.SIGTERM, lambda signum, frame: None)
    why = fleet.requeue(outcome)
    if why:
        _output.write_lines(f"{mark}envsnap: the job was not requeued: {why}")
    return outcome.exit_code
