"""``envsnap fleet``: check, capture and compare every node of a Slurm cluster; the prolog mode for Slurm."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from .. import fleet
from ..errors import UsageError
from . import EXIT_INCOMPATIBLE, EXIT_OK, EXIT_WARNINGS, _output

if TYPE_CHECKING:
    from rich.table import Table

    from ..fleet.report import FleetReport

ORDER = 35

_STYLES = {"compatible": "green", "warnings": "yellow", "incompatible": "bold red", "unreachable": "bold red",
           "invalid": "bold red"}
_HEADERS = {"driver": "driver", "cuda_driver": "CUDA drv", "cuda_runtime": "CUDA rt", "cudnn": "cuDNN",
            "nccl": "NCCL", "gpus": "GPUs", "torch": "torch", "glibc": "glibc", "python": "Python",
            "python_layer": "Python layer"}


def _selection_args(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--nodes", "-N", type=int, metavar="N", default=0,
                       help="N nodes of the partition (default: every node of it)")
    which.add_argument("-w", "--nodelist", metavar="NODELIST", default="",
                       help="these nodes, in Slurm's hostlist notation (node[1-4],gpu7)")
    p.add_argument("-p", "--partition", metavar="PARTITION", default="",
                   help="the partition whose nodes to use (default: the default partition)")
    p.add_argument("--timeout", type=float, default=fleet.DEFAULT_TIMEOUT, metavar="S",
                   help="seconds each node has to answer; a node that has not answered by then is reported "
                   "unreachable (default: %(default)g)")
    p.add_argument("--envsnap", metavar="PATH", help="the envsnap program on the nodes (default: the same path "
                   "as the one running here, else envsnap on the nodes' PATH)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("fleet", help="one lock against every node of a Slurm cluster",
                       description="Check, capture and compare the nodes of a Slurm cluster, and the quick check "
                       "a Slurm prolog runs before a job (docs/fleet.md).")
    fsub = p.add_subparsers(dest="fleet_command", metavar="SUBCOMMAND")
    fsub.required = True

    c = fsub.add_parser("check", help="can every node run the lock?",
                        description="Run `envsnap fleet node LOCK` once on every selected node through srun, "
                        "and print a node x component matrix: identical nodes grouped, differences highlighted, "
                        "failing nodes first with their remedies. Exit status: 0 every node compatible, 1 "
                        "warnings with --strict, 3 a node incompatible or unreachable, 2 bad input, 4 Slurm "
                        "could not be asked.")
    c.add_argument("lock", metavar="LOCK", help="the lockfile (its path must be readable on the nodes)")
    _selection_args(c)
    c.add_argument("--json", action="store_true", help="print the report as JSON (fields in docs/fleet.md)")
    c.add_argument("-o", "--output", metavar="REPORT", help="also write the JSON report to this file")
    c.add_argument("--strict", action="store_true", help="exit 1 when there are warnings (and no failures)")
    c.add_argument("--cpu-only", action="store_true", help="accept nodes without the GPU: GPU failures become "
                   "warnings")
    c.set_defaults(func=run_check)

    n = fsub.add_parser("node", help="one node's answer to fleet check (JSON; fleet check runs it)",
                        description="Capture this node once and print, as JSON, whether it can run the lock "
                        "(the rules of check), whether its Python layer is the locked one, and the facts of the "
                        "fleet matrix. fleet check runs it on every node. Exit status: 0 compatible, 3 "
                        "incompatible, 2 bad input.")
    n.add_argument("lock", metavar="LOCK", help="the lockfile")
    n.add_argument("--cpu-only", action="store_true", help="GPU failures become warnings")
    n.set_defaults(func=run_node)

    pr = fsub.add_parser("prolog", help="the quick check a Slurm Prolog or TaskProlog runs",
                         description="Can this node run the job's lock (LOCK, else $ENVSNAP_LOCK; nothing to do "
                         "and exit 0 when neither is given)? Prints one line for the Slurm log. When it cannot, "
                         "the node is drained with envsnap's reason and a batch job is requeued (where Slurm "
                         "allows this process to), and the exit status is 3, so the job does not run here. "
                         "Exit status: 0 can run (or nothing to check), 3 cannot, 2 bad input.")
    pr.add_argument("lock", metavar="LOCK", nargs="?", help="the lockfile (default: $ENVSNAP_LOCK)")
    pr.set_defaults(func=run_prolog)


def _selection(args: argparse.Namespace) -> fleet.Selection:
    if args.nodes < 0:
        raise UsageError(f"--nodes {args.nodes}: must be 1 or more")
    return fleet.Selection(count=args.nodes, nodelist=args.nodelist, partition=args.partition)


def _progress_callbacks(json_output: bool) -> tuple[Any, Any, Any]:
    """rich progress on stderr while the nodes answer (nothing when stderr is no terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=_output.stderr(), transient=True)
    task: list[Any] = []

    def on_nodes(states: list[fleet.NodeState]) -> None:
        progress.start()
        task.append(progress.add_task("nodes answering", total=len([s for s in states if s.available])))

    def on_done(run: fleet.NodeRun) -> None:
        if task:
            progress.update(task[0], advance=1, description=_output.line(f"{run.node} answered"))

    return progress, on_nodes, on_done


def run_check(args: argparse.Namespace) -> int:
    progress, on_nodes, on_done = _progress_callbacks(args.json)
    try:
        report = fleet.check_fleet(args.lock, _selection(args), envsnap=fleet.node_command(args.envsnap),
                                   timeout=args.timeout, cpu_only=args.cpu_only, on_nodes=on_nodes,
                                   on_done=on_done)
    finally:
        progress.stop()
    data = report.to_dict()
    if args.output:
        from .._fs import atomic_write_text

        atomic_write_text(args.output, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    if args.json:
        _output.print_json(data)
    else:
        print_report(report)
    if report.verdict == "incompatible":
        return EXIT_INCOMPATIBLE
    if args.strict and report.verdict == "warnings":
        return EXIT_WARNINGS
    return EXIT_OK


def matrix(report: FleetReport) -> Table:
    from rich.table import Table
    from rich.text import Text

    common, differing = report.common(), set(report.differing())
    table = Table(title=_output.text(f"envsnap fleet check: {report.lock}"), title_justify="left",
                  caption=_output.text(report.summary()), caption_justify="left")
    table.add_column("nodes", overflow="fold")
    table.add_column("verdict")
    for fact in (*fleet.FACTS,):
        table.add_column(_HEADERS[fact] + (" *" if fact in differing else ""), overflow="fold")
    for group in report.groups():
        r = group.result
        cells = [_output.text(group.hostlist, "bold"), Text(r.verdict, style=_STYLES[r.verdict])]
        for fact in fleet.FACTS:
            value = r.facts.get(fact, "") if r.answered else "?"
            odd = r.answered and fact in differing and value != common[fact]
            cells.append(_output.text(value or "-", "bold yellow reverse" if odd else ""))
        table.add_row(*cells)
    return table


def print_report(report: FleetReport) -> None:
    from rich.text import Text

    out = _output.stdout()
    out.print(matrix(report))
    for group in report.groups():
        r = group.result
        if r.verdict == "compatible":
            continue
        out.print(Text.assemble(_output.text(group.hostlist, "bold"), ": ",
                                Text(r.verdict, style=_STYLES[r.verdict])))
        if r.reason:
            out.print(_output.text(f"  {r.reason}"))
        for label, problems in (("fail", r.failures), ("warn", r.warnings)):
            for p in problems:
                out.print(_output.text(f"  {label} {p.component}: needs {p.needed}, found {p.found}"))
                if p.remedy:
                    out.print(_output.text(f"       remedy: {p.remedy}"))


def run_node(args: argparse.Namespace) -> int:
    from .. import lockfile
    from ..fleet.node import probe
    from ..probes.python import select_environment

    lock = lockfile.load(args.lock)
    chosen = select_environment(None)
    if not chosen.python_layer:
        chosen = select_environment(sys.executable)
    node = os.environ.get("SLURMD_NODENAME", "") or os.uname().nodename
    answer = probe(lock, chosen, node=node, lock_path=args.lock, cpu_only=args.cpu_only)
    _output.print_json(answer)
    return EXIT_INCOMPATIBLE if answer["verdict"] == "incompatible" else EXIT_OK


def run_prolog(args: argparse.Namespace) -> int:
    outcome = fleet.prolog(args.lock)
    if outcome.line:
        # One line, on stderr (what Slurm logs of a prolog) and on stdout for a TaskProlog's own log.
        print(_output.line(outcome.line), file=sys.stderr if outcome.exit_code else sys.stdout, flush=True)
    return outcome.exit_code
