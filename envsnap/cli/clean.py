from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from .. import _leftovers
from ..errors import UsageError
from . import _output

ORDER = 90
HELP = "remove what interrupted runs left, show and prune the download cache"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "clean",
        help=HELP,
        description="Remove the .envsnap-* folders and files that killed or interrupted runs left "
        "in DIR (default: the working directory) and in the temporary folder (never one a running "
        "envsnap holds), and show the size of the download caches; --cache empties them.",
    )
    p.add_argument(
        "dirs",
        nargs="*",
        metavar="DIR",
        help="folders to clean (default: the working directory); "
        "where the interrupted run wrote: the parent of its -o, --dest or --prefix",
    )
    p.add_argument(
        "--cache",
        action="store_true",
        help="also empty the download caches (wheels and conda packages, fetched again when needed)",
    )
    p.add_argument(
        "--cache-dir", metavar="DIR", help="the wheel download cache (default: $XDG_CACHE_HOME/envsnap/artifacts)"
    )
    p.add_argument("--dry-run", action="store_true", help="say what would be removed and remove nothing")
    p.add_argument("--json", action="store_true", help="print what was found as JSON")
    p.set_defaults(func=run)


def _size(n: int) -> str:
    value, unit = float(n), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"


def run(args: argparse.Namespace) -> int:
    from .._defaults import ARTIFACTS_CACHE, CONDA_CACHE, cache_dir

    folders = [Path(d) for d in args.dirs] or [Path(".")]
    for folder in folders:
        if not folder.is_dir():
            raise UsageError(f"{folder}: not a directory")
    folders.append(Path(tempfile.gettempdir()))
    found: list[_leftovers.Leftover] = []
    seen: set[str] = set()
    for folder in folders:
        key = os.path.realpath(folder)
        if key in seen:
            continue
        seen.add(key)
        found.extend(_leftovers.find(folder))
    caches = [Path(args.cache_dir) if args.cache_dir else cache_dir(ARTIFACTS_CACHE), cache_dir(CONDA_CACHE)]
    cache_sizes = {str(c): _leftovers.size_of(c) if c.is_dir() else 0 for c in caches}
    if not args.dry_run:
        for leftover in found:
            _leftovers.remove(leftover)
        if args.cache:
            for cache in caches:
                if cache.is_dir() and not cache.is_symlink():
                    shutil.rmtree(cache)
    removed = "would remove" if args.dry_run else "removed"
    if args.json:
        _output.print_json(
            {
                "leftovers": [{"path": str(f.path), "size": f.size} for f in found],
                "caches": [
                    {"path": path, "size": size, "emptied": bool(args.cache and not args.dry_run)}
                    for path, size in cache_sizes.items()
                ],
                "dry_run": bool(args.dry_run),
            }
        )
        return 0
    for leftover in found:
        _output.say(f"{removed} {leftover.path} ({_size(leftover.size)}), left by an interrupted run")
    if not found:
        _output.say("no leftovers of interrupted runs")
    for path, size in cache_sizes.items():
        verb = f"{removed} the download cache" if args.cache else "download cache"
        _output.say(f"{verb} {path}: {_size(size)}" + ("" if args.cache else " (empty it with --cache)"))
    return 0
