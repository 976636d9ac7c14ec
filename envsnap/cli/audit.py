from __future__ import annotations

import argparse

from . import COMMAND_HELP, EXIT_OK, EXIT_WARNINGS, PathValue, _output

BADGE_CHOICES = ("available", "functional", "reusable", "reproduced")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "audit",
        help=COMMAND_HELP["audit"],
        description="Grade a lock or a bundle against the artifact badges (Available, Functional, "
        "Reusable, Results Reproduced), item by item, each short item with the command that fixes "
        "it. Exit 0; with --strict, 1 when short of --badge; 2 on what is neither a lock nor a bundle.",
    )
    p.add_argument(
        "path",
        type=PathValue("lock or bundle"),
        metavar="LOCK|BUNDLE",
        help="a lockfile, a bundle directory or a bundle archive",
    )
    p.add_argument(
        "--badge", choices=BADGE_CHOICES, default="functional", help="the badge --strict asks for (default: functional)"
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when the artifact is not ready for --badge")
    p.add_argument("--json", action="store_true", help="the grade and every item as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..paper.audit import TITLES, audit

    result = audit(args.path)
    if args.json:
        _output.print_json({**result.to_dict(), "badge": args.badge, "ready": result.ready(args.badge)})
    else:
        rows = [
            (
                ("ok", "green") if item.ok else (("info", "dim") if not item.graded else ("missing", "red")),
                item.id,
                TITLES.get(item.rung, item.rung),
                item.detail.replace("\n", "; "),
            )
            for item in result.items
        ]
        _output.print_table(
            _output.table(
                rows,
                columns=("", "item", "for", "found"),
                overflow="fold",
                title=f"{result.kind} {result.subject}",
            )
        )
        # A remedy is a command to paste: folded into a table column it read a few characters a line between the
        # borders, so each one is a line of its own, whole.
        for item in result.items:
            if not item.ok and item.remedy:
                _output.say(f"remedy for {item.id}: {item.remedy}", err=False)
        # An item of several findings (metadata-agrees: one per disagreement) lists them under the table too, one
        # line each, as the table folds them into its narrow column.
        for item in result.items:
            if not item.ok and "\n" in item.detail:
                for line in item.detail.splitlines():
                    _output.say(f"{item.id}: {line}", err=False)
        _output.say((result.grade, "bold"), err=False)
    if args.strict and not result.ready(args.badge):
        return EXIT_WARNINGS
    return EXIT_OK
