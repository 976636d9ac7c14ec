"""The command line. Each command is a module here (not starting with ``_``) with ``ORDER`` (its place in
``envsnap --help``) and ``register(subparsers)``; errors become exit codes in exactly one place, ``main``."""

from __future__ import annotations

import argparse
import pkgutil
import sys
from collections.abc import Sequence
from importlib import import_module
from types import ModuleType

from .. import __version__
from ..errors import EnvsnapError

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"envsnap: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="envsnap", description="Capture, check and rebuild ML environments exactly.")
    parser.add_argument("--version", action="version", version=f"envsnap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in command_modules():
        module.register(sub)
    return parser


def command_modules() -> list[ModuleType]:
    modules = [
        import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    ]
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except EnvsnapError as exc:
        print(f"envsnap: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("envsnap: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
