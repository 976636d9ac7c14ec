from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .. import lockfile
from . import _output

if TYPE_CHECKING:
    from ..artifacts.pin import PinResult

ORDER = 15


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "pin",
        help="record the exact wheel file (URL, size, sha256) of every package",
        description="Find, on the indexes pip is configured with (index-url, extra-index-url, "
        "find-links, cert), the exact file each index-installed package came from, prove it by "
        "its RECORD digest, and record it in the lock. Unpinnable packages are listed with the "
        "reason; VCS installs keep url + commit.",
    )
    p.add_argument("lock", metavar="LOCK", help="the lockfile (rewritten in place unless -o is given)")
    p.add_argument("-o", "--output", metavar="PATH", help="write the pinned lock here instead")
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where downloaded wheels are kept (default: $XDG_CACHE_HOME/envsnap/artifacts)",
    )
    p.add_argument("--project", metavar="DIR", help="the project whose local packages ({project} in recorded "
                   "directory URLs) are checked to be present (default: the git work tree around the working "
                   "directory)")
    p.add_argument("--allow-url", action="append", default=[], metavar="PATTERN",
                   help="also fetch lock URLs matching this shell-style pattern (e.g. 'http://127.0.0.1:8000/*', "
                   "'file:///srv/wheels/*'); by default a lock sends envsnap only to the configured indexes and "
                   "https hosts on public addresses; repeatable")
    p.add_argument("--json", action="store_true", help="print each package's outcome as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..artifacts.pin import pin, read_pip_config  # the index client (ssl, urllib) only when pinning
    from ..probes.project import project_root

    snapshot = lockfile.load(args.lock)
    result = pin(snapshot, read_pip_config(), cache_dir=Path(args.cache_dir) if args.cache_dir else None,
                 project_dir=project_root(args.project, args.lock),
                 allow_urls=tuple(args.allow_url))
    lockfile.dump(result.snapshot, args.output or args.lock)
    report(result, args.output or args.lock, as_json=args.json)
    return 0


def report(result: PinResult, where: str, *, as_json: bool = False) -> None:
    if as_json:
        _output.print_json([lockfile.to_dict(o) for o in result.outcomes])
    counts = {s: len(result.by_status(s)) for s in ("pinned", "kept", "unpinned", "skipped")}
    _output.say(
        f"{where}: {counts['pinned']} pinned, "
        f"{counts['kept']} built from source (VCS url + commit, local projects), "
        f"{counts['unpinned']} not pinnable, {counts['skipped']} left to conda"
    )
    for outcome in result.by_status("unpinned"):  # the reason quotes URLs, paths and index errors: text
        _output.say("  ", ("not pinned", "yellow"), " ", f"{outcome.name} {outcome.version}: {outcome.reason}")
