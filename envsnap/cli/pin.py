from __future__ import annotations

import argparse
import re

from .._lazyre import LazyPattern
from ..errors import UsageError
from . import COMMAND_HELP, PathValue, _output, add_allow_url

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from ..artifacts.debs import DebOutcome
    from ..artifacts.pin import PinResult
    from ..model import Snapshot


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "pin",
        help=COMMAND_HELP["pin"],
        description="Find, on the indexes pip is configured with (index-url, extra-index-url, "
        "find-links, cert), the exact file each index-installed package came from, prove it by "
        "its RECORD digest, and record it in the lock. Unpinnable packages are listed with the "
        "reason; VCS installs keep url + commit. Exit 0; with --strict, 1 when a package is left "
        "with no file; 2 on bad input.",
    )
    p.add_argument(
        "lock", type=PathValue("lockfile"), metavar="LOCK", help="the lockfile (rewritten in place unless -o is given)"
    )
    p.add_argument(
        "-o",
        "--output",
        type=PathValue("lockfile"),
        metavar="PATH",
        help="write the pinned lock here instead (- for standard output)",
    )
    p.add_argument(
        "--cache-dir",
        type=PathValue("download cache folder"),
        metavar="DIR",
        help="where downloaded wheels are kept (default: $XDG_CACHE_HOME/envsnap/artifacts)",
    )
    p.add_argument(
        "--project",
        type=PathValue("project folder"),
        metavar="DIR",
        help="the project whose local packages ({project} in recorded "
        "directory URLs) are checked to be present (default: the git work tree around the working "
        "directory)",
    )
    add_allow_url(p)
    p.add_argument(
        "--snapshot-url",
        type=PathValue("snapshot archive URL"),
        metavar="URL",
        help="the Debian snapshot archive whose API pins the system packages a container rebuild "
        "installs (default: $ENVSNAP_SNAPSHOT_URL, else the archive --apt-snapshot uses)",
    )
    p.add_argument(
        "--base-image",
        metavar="IMAGE",
        help="the docker target's base image: when it has no Python, the interpreter packages it "
        "installs are pinned too (default: the one `rebuild --target docker` chooses from the lock)",
    )
    p.add_argument(
        "--no-system-packages",
        action="store_true",
        help="pin the Python packages only, not the system packages' .deb files",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a package is left without a file (not pinnable), which bundle and an offline rebuild need",
    )
    p.add_argument("--json", action="store_true", help="print each package's outcome as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from .. import lockfile
    from ..artifacts.pin import Fetcher, pin, read_pip_config  # the index client (ssl, urllib) only when pinning
    from ..probes.project import project_root

    to_stdout = args.output == "-"
    if to_stdout and args.json:
        raise UsageError("-o - and --json both write to standard output: use one, or -o PATH --json")
    if args.base_image is not None:  # rebuild's and bundle's check, before the indexes are read (minutes)
        from ..dockerfile.baseimage import check_base_image

        check_base_image(args.base_image)
    snapshot = lockfile.load(args.lock)
    if not to_stdout:  # judged before the indexes are read and the files downloaded (minutes), not after them
        _refuse_a_bundles_lock(args.lock, args.output)
        lockfile.check_writable(args.output or args.lock)
        if args.output:
            from .._locktext import refuse_foreign

            refuse_foreign(args.output, "pin", named=f"-o {args.output}")
    project = project_root(args.project, args.lock)
    if args.project is not None and project is not None:
        from ..artifacts.bundle import check_named_project

        check_named_project(snapshot, project)
    result = pin(
        snapshot,
        read_pip_config(),
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        project_dir=project,
        allow_urls=tuple(args.allow_url),
        written=True,
    )
    debs: tuple[DebOutcome, ...] = ()
    if not args.no_system_packages:
        from ..artifacts import debs as deb_pins

        base = deb_pins.snapshot_url(args.snapshot_url)
        names = interpreter_packages(snapshot, args.base_image)
        pinned, debs = deb_pins.pin_system(
            result.snapshot,
            Fetcher(),
            base=base,
            cache_dir=cache_dir_for(Path(args.cache_dir) if args.cache_dir else None),
            interpreter_names=names,
        )
        result = dataclasses.replace(result, snapshot=pinned)
    if args.output and not to_stdout and project is not None:
        # Outside a work tree {project} is the lock's folder: the one written elsewhere names each place for its own.
        written_to = project_root(args.project, args.output)
        if written_to is not None and written_to != project:
            from ..artifacts.pin import hidden_by_the_move, relabelled

            moved = relabelled(result.snapshot, project, written_to)
            for name, places, hidden in hidden_by_the_move(result.snapshot, moved):
                _output.say(
                    f"note: {name}: {args.output} names {' and '.join(places)} without the {hidden} "
                    "(docs/security.md), since its folder does not hold that place, which then names nothing: "
                    "write the lock into a folder that holds it (the input lock's, or a git work tree around both)"
                )
            result = dataclasses.replace(result, snapshot=moved)
    from ..artifacts.pin import traced

    # A record of a run with the lock read is traced to the one written (docs/runrecord.md).
    result = dataclasses.replace(result, snapshot=traced(snapshot, result.snapshot))
    if to_stdout:  # as capture, import and export print it; pin wrote a file named "-"
        _output.write_document(lockfile.dumps(result.snapshot))
        written = True
    else:
        # A pin that changed nothing leaves the file as it is (its time too: make, DVC and git see no change).
        written = lockfile.dump_if_changed(result.snapshot, args.output or args.lock)
    where = "standard output" if to_stdout else args.output or args.lock
    report(result, where if written else f"{where} (unchanged)", as_json=args.json, debs=debs, strict=args.strict)
    from ..report import Severity
    from . import exit_for

    # A package left with no file is a warning on the one scale (docs/design.md, "One report convention").
    return exit_for(Severity.WARNING if left_without_a_file(result, debs) else Severity.OK, strict=args.strict)


def _refuse_a_bundles_lock(lock: str, output: str | None) -> None:
    """A bundle's own lock is not rewritten (in place, or named by ``-o``): the bundle then no longer matched its
    SHA256SUMS, and every command refused it until it was bundled again (``pin B/envsnap.lock && bundle ... -o B``
    whose bundle step failed left it so). The pinned lock goes beside it, and the bundle is made from that."""
    from .. import sinks
    from .._bundlelock import bundle_lock_written, pin_then_bundle, pinned_beside

    target = output or lock
    folder = bundle_lock_written(target)
    if folder is None:
        return
    pin, source = pin_then_bundle(sinks.path_shown(lock), sinks.path_shown(pinned_beside(folder)))
    raise UsageError(
        f"{target}: the lock of the bundle {folder}, which would no longer match its SHA256SUMS (every command "
        f"refuses such a bundle); write the pinned lock beside the bundle with -o, and bundle from that: "
        f"{pin} && envsnap bundle {source} -o {sinks.path_shown(folder)}"
    )


def cache_dir_for(option: Path | None) -> Path:
    from .._defaults import ARTIFACTS_CACHE, cache_dir

    return option or cache_dir(ARTIFACTS_CACHE)


def interpreter_packages(lock: Snapshot, base_image: str | None = None) -> tuple[str, ...]:
    """The distribution's interpreter packages a container rebuild installs, when its base image (``base_image``,
    else the one chosen from the lock) has no Python of its own (none when it has, or when no base fits)."""
    from ..dockerfile import baseimage
    from ..dockerfile.spec import interpreter_names
    from ..errors import EnvsnapError
    from ..rebuild.docker import engine_inspector

    inspect = engine_inspector() if base_image else None
    try:
        base = baseimage.choose(lock, base_image=base_image, inspect=inspect)
    except EnvsnapError:
        return ()
    return interpreter_names(base)


def summary(result: PinResult) -> str:
    """Pin's line on the Python packages: each outcome only where there is one, and the conda packages (which pin
    leaves as locked) counted, so a conda lock no longer read ``0 pinned, 0 built from source (...), 0 not pinnable,
    0 left to conda``, as an empty one did."""
    from ..report import counted

    # A package whose file or repository bundle reads only with --allow-url is counted in that group alone: it was
    # counted as pinned or built from source too, and listed under "needs --allow-url", one package said twice.
    refused = {line.split(": ", 1)[0] for line in result.refused}
    parts = []
    for status, said in (
        ("pinned", "pinned"),
        ("kept", "built from source (VCS url + commit, local projects)"),
        ("unpinned", "not pinnable"),
        ("skipped", "left to conda"),
    ):
        if n := sum(f"{o.name} {o.version}" not in refused for o in result.by_status(status)):
            parts.append(f"{n} {said}")
    if refused:
        parts.append(f"{len(refused)} {'needs' if len(refused) == 1 else 'need'} --allow-url")
    conda = result.snapshot.conda.packages if result.snapshot.conda is not None else ()
    kept = f"; {counted(len(conda), 'conda package')} kept as the lock records them" if conda else ""
    return (", ".join(parts) or "no Python packages to pin") + kept


def left_without_a_file(result: PinResult, debs: tuple[DebOutcome, ...] = ()) -> int:
    """How many packages pin left with no file recorded (Python packages not pinnable, system packages not pinned):
    what ``bundle`` refuses and an offline rebuild cannot install."""
    unpinned = len(result.by_status("unpinned")) + sum(deb.status != "pinned" for deb in debs)
    # A stand-in (the index's build of what a dpkg package installed) is a file, but not the one installed: a warning.
    return unpinned + len(result.unreachable) + len(result.refused) + len(result.stand_ins)


def report(
    result: PinResult, where: str, *, as_json: bool = False, debs: tuple[DebOutcome, ...] = (), strict: bool = False
) -> None:
    from .. import lockfile
    from ..report import counted

    if as_json:
        # A package pinned whose file the lock names by a path not on this machine: ``file_missing`` says why.
        missing = dict(line.split(": ", 1) for line in result.unreachable if ": " in line)
        refused = dict(line.split(": ", 1) for line in result.refused if ": " in line)
        _output.print_json(
            [
                _with_missing(
                    lockfile.to_dict(o), missing.get(f"{o.name} {o.version}"), refused.get(f"{o.name} {o.version}")
                )
                for o in result.outcomes
            ]
            + [{"system": True, **lockfile.to_dict(o)} for o in debs]
        )
    _output.say(f"{where}: {summary(result)}")
    for outcome in result.by_status("unpinned"):  # the reason quotes URLs, paths and index errors: text
        _output.say("  ", ("not pinned", "yellow"), " ", f"{outcome.name} {outcome.version}: {outcome.reason}")
    found_by = result.find_links_hint()
    if found_by:
        _output.say(f"  ({found_by})")
    for line in result.stand_ins:  # pinned to the index's build of what a Debian package installed
        _output.say("  ", ("stand-in", "yellow"), " ", line)
    for line in result.unreachable:  # pinned, but the folder the lock names for its file is not here
        _output.say("  ", ("file missing", "yellow"), " ", line)
    for line in result.refused:  # pinned, but bundle reads the file only with --allow-url
        _output.say("  ", ("needs --allow-url", "yellow"), " ", line)
    for hint in result.hints:  # a 401's remedy, once per index (each package above names its 401)
        _output.say(f"  ({hint})")
    if debs:
        pinned = sum(o.status == "pinned" for o in debs)
        unpinned = f", {len(debs) - pinned} not pinned" if pinned < len(debs) else ""
        _output.say(f"system packages: {counted(pinned, '.deb file')} pinned by sha256{unpinned}")
        unreachable: dict[tuple[str, str], list[str]] = {}  # (archive, cause) -> the packages it failed
        for deb in debs:
            if deb.status == "pinned":
                continue
            cut = _UNREACHABLE.fullmatch(deb.reason)
            if cut is not None:
                unreachable.setdefault((_origin(cut.group(1)), cut.group(2)), []).append(deb.name)
            else:
                _output.say("  ", ("not pinned", "yellow"), " ", f"{deb.name} {deb.version}: {deb.reason}")
        # One line per archive that could not be reached: the same fact for every package, each with its own query
        # URL, was a line per package (a GPU lock's dozen libraries); --json keeps each package's reason.
        for (archive, cause), names in unreachable.items():
            shown = ", ".join(sorted(names))
            _output.say(
                "  ", ("not pinned", "yellow"), " ", f"{shown} ({len(names)}): {archive} cannot be reached ({cause})"
            )
    lock = where.removesuffix(" (unchanged)")
    lock = "the lock on standard output" if lock == "standard output" else lock
    ends = "exit 1 (--strict)" if strict else "exit 0 all the same (--strict exits 1)"
    if result.unreachable:
        # Pinned by the sha256 the lock records, so counted as pinned: but bundle cannot have the file.
        _output.say(
            f"note: {lock} names a file that is not on this machine for "
            f"{counted(len(result.unreachable), 'Python package')}, which `envsnap bundle` needs; {ends}"
        )
    if result.refused:
        # Pinned, and the file is here: but a local file a lock names is read only where the user allows it.
        _output.say(
            f"note: {lock} names a local file or git repository that `envsnap bundle` reads only with --allow-url for "
            f"{counted(len(result.refused), 'Python package')} (the pattern is named above); {ends}"
        )
    if len(result.by_status("unpinned")) + sum(deb.status != "pinned" for deb in debs):
        # The lock is written, and pin exits 0 as it reports what it cannot pin: said in words, so that a reviewer does
        # not take the written lock for one that rebuilds offline (--strict for a script, as check and verify).
        python = len(result.by_status("unpinned"))
        system = sum(deb.status != "pinned" for deb in debs)
        needs = [f"{counted(python, 'Python package')}, which `envsnap bundle` needs"] if python else []
        needs += [f"{counted(system, 'system package')}, which `bundle --with-system-packages` needs"] if system else []
        _output.say(f"note: {lock} is not fully pinned: no file is recorded for {' and '.join(needs)}; {ends}")


# A package's reason where the archive could not be reached at all (artifacts.pin's fetch): its query URL, the cause.
_UNREACHABLE = LazyPattern(r"(\S+): cannot reach the index \((.*)\)", re.S)


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, the archive a package's query went to."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else url


def _with_missing(outcome: dict[str, Any], why: str | None, refused: str | None = None) -> dict[str, Any]:
    missing = {"file_missing": why} if why else {}
    return {**outcome, **missing, **({"file_refused": refused} if refused else {})}
