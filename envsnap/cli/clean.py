from __future__ import annotations

import argparse
import os

from ..errors import UsageError
from . import COMMAND_HELP, PathValue, _output


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "clean",
        help=COMMAND_HELP["clean"],
        description="Remove the .envsnap-* folders and files that killed or interrupted runs left "
        "in DIR (default: the working directory; a bundle's package folders too), in the temporary folder and in "
        "the download caches (never one a running envsnap holds), and show the size of every cache envsnap keeps "
        "(the download caches, the parsed-lock cache, the capture cache, the run cache, the template cache); --cache "
        "empties them.",
    )
    p.add_argument(
        "dirs",
        nargs="*",
        type=PathValue("folder to clean"),
        metavar="DIR",
        help="folders to clean (default: the working directory); "
        "where the interrupted run wrote: the parent of its -o, --dest or --prefix",
    )
    p.add_argument(
        "--cache",
        action="store_true",
        help="also empty every cache: the download caches (wheels and conda packages, fetched again when needed), "
        "the parsed-lock cache, the capture cache, the run cache and the compiled-template cache (a folder that is "
        "a link is left alone)",
    )
    p.add_argument(
        "--cache-dir",
        type=PathValue("download cache folder"),
        metavar="DIR",
        help="the wheel download cache (default: $XDG_CACHE_HOME/envsnap/artifacts)",
    )
    p.add_argument(
        "--images",
        action="store_true",
        help="also remove the untagged images envsnap built that the Docker engine keeps (a docker rebuild removes "
        "the one it replaces at its --tag itself, unless a container used it); never an image envsnap did not build",
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


def _is_bundle(folder: str | os.PathLike[str]) -> bool:
    """``folder`` is a bundle folder: it holds a bundle's checksums, or is one being made."""
    from .._defaults import BUNDLE_INCOMPLETE, BUNDLE_SUMS

    return any(os.path.isfile(os.path.join(folder, name)) for name in (BUNDLE_SUMS, BUNDLE_INCOMPLETE))


def run(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from .. import _cachedir, _leftovers
    from .._defaults import ARTIFACTS_CACHE, no_cache_root

    folders = [Path(d) for d in args.dirs] or [Path(".")]
    given = list(folders)
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
        if folder in given and _is_bundle(folder):
            from ..artifacts.bundle import FOLDERS

            # A copy or download into a bundle is written beside its place in the bundle's folder.
            for name in FOLDERS:
                inner = folder / name
                if inner.is_dir() and not inner.is_symlink():
                    found.extend(_leftovers.find(inner))
    caches: list[
        tuple[str, Path, Path | None]
    ] = []  # (what, folder, the envsnap folder it must be directly in; None: --cache-dir, the user's own)
    downloads: list[tuple[Path, Path | None]] = []  # the download caches, where killed downloads leave partial files
    # Without a home no cache is kept: the would-be root is /.cache or a folder of the working directory, not envsnap's.
    homeless = no_cache_root()
    for kind, what in _cachedir.CACHES:
        if kind == ARTIFACTS_CACHE and args.cache_dir:
            caches.append((what, Path(args.cache_dir), None))
        elif not homeless:
            caches.append((what, *_cachedir.kind_dir(kind)))
        else:
            continue
        if kind in _cachedir.DOWNLOAD_CACHES:
            downloads.append(caches[-1][1:])
    if args.cache and args.cache_dir:
        # The user's own folder: emptied only when it is a download cache, never a project or a home named by mistake.
        foreign = _cachedir.foreign_entry(Path(args.cache_dir))
        if foreign is not None:
            raise UsageError(
                f"--cache-dir {args.cache_dir}: not an envsnap download cache (it holds {foreign}, which envsnap "
                "does not write there); nothing removed: name the download cache itself, or leave --cache-dir out "
                "for the default one"
            )
    # A link is neither measured nor emptied: what it points to is not envsnap's.
    usable = {str(folder): _cachedir.removable(folder, root=root) for _, folder, root in caches}
    for folder, root in downloads:
        # A --cache-dir that holds what no download cache does is the user's folder: not walked for leftovers.
        if usable[str(folder)] and (root is not None or _cachedir.foreign_entry(folder) is None):
            known = {leftover.path for leftover in found}
            found.extend(leftover for leftover in _cachedir.leftovers(folder) if leftover.path not in known)
    if not args.dry_run:
        for leftover in found:
            _leftovers.remove(leftover)
    left: dict[str, int] = {}  # a cache emptied while another envsnap wrote into it: what it wrote, left to it
    in_use: dict[str, list[Path]] = {}  # the partial downloads a running envsnap holds, kept
    cache_sizes = {str(folder): _leftovers.size_of(folder) if usable[str(folder)] else 0 for _, folder, _ in caches}
    if not args.dry_run and args.cache:
        for _, folder, root in caches:
            # What another envsnap wrote into it meanwhile (or holds open) stays: its size, said below.
            held: list[Path] = []
            if _cachedir.empty(folder, root=root, held=held) and folder.exists():
                in_use[str(folder)] = held
                left[str(folder)] = max(0, _leftovers.size_of(folder) - sum(map(_leftovers.size_of, held)))
    images, holds, images_note = _images(remove=not args.dry_run) if args.images else ([], [], "")
    removed = "would remove" if args.dry_run else "removed"
    if args.json:
        _output.print_json(
            {
                "leftovers": [{"path": str(f.path), "size": f.size} for f in found],
                "caches": [
                    {
                        "cache": what,
                        "path": str(folder),
                        "size": cache_sizes[str(folder)],
                        "emptied": bool(args.cache and not args.dry_run and usable[str(folder)]),
                        "left": left.get(str(folder), 0),
                        "in_use": [
                            {"path": str(p), "size": _leftovers.size_of(p)} for p in in_use.get(str(folder), [])
                        ],
                    }
                    for what, folder, _ in caches
                ],
                "images": [
                    {"id": i, "size": size, "kept": why, "built_by_envsnap": built} for i, size, why, built in images
                ],
                "holds": [{"container": c, "image": i, "kept": why} for c, i, _, why in holds],
                "dry_run": bool(args.dry_run),
            }
        )
        return 0
    for leftover in found:
        _output.say(f"{removed} {leftover.path} ({_size(leftover.size)}), left by an interrupted run")
    if not found:
        _output.say("no leftovers of interrupted runs")
    for image, image_size, why, built in images:
        if not built:
            _output.say(f"kept image {image} ({_size(image_size)}), untagged, labelled as envsnap's: {why}")
        elif why:
            _output.say(f"kept image {image} ({_size(image_size)}), untagged, built by envsnap: {why}")
        else:
            _output.say(f"{removed} image {image} ({_size(image_size)}), untagged, built by envsnap")
    if args.images and not images:
        _output.say(images_note or "no untagged images envsnap built")
    for container, image, rebuild, why in holds:
        if why:
            _output.say(f"kept {why}; left to it")
        else:
            _output.say(
                f"{removed} the container {container}, the hold on image {image} of a docker rebuild that has "
                f"ended ({rebuild})"
            )
    if homeless:
        _output.say(
            "no cache: $HOME is empty or relative (and $XDG_CACHE_HOME is not an absolute path), so envsnap keeps "
            "none" + (" but the --cache-dir named" if args.cache_dir else "")
        )
    for what, folder, _ in caches:
        size = _size(cache_sizes[str(folder)])
        if not usable[str(folder)] and (folder.is_symlink() or folder.exists()):
            _output.say(f"{what} {folder}: left alone (a link, or in one: not envsnap's to remove)")
        elif args.cache and in_use.get(str(folder)):
            held = in_use[str(folder)]
            partial = "a partial download" if len(held) == 1 else f"{len(held)} partial downloads"
            held_size = _size(sum(map(_leftovers.size_of, held)))
            _output.say(
                f"{removed} the {what} {folder}: {size}, but left {partial} ({held_size}) a running envsnap holds "
                "(in use)"
            )
        elif args.cache and str(folder) in left:
            kept = left[str(folder)]
            meanwhile = f"for {_size(kept)} a running envsnap wrote" if kept else "a running envsnap made folders"
            _output.say(
                f"{removed} the {what} {folder}: {size}, but {meanwhile} into it meanwhile, left to it (in use)"
            )
        elif args.cache:
            _output.say(f"{removed} the {what} {folder}: {size}")
        else:
            _output.say(f"{what} {folder}: {size} (empty it with --cache)")
    return 0


def _images(*, remove: bool) -> tuple[list[tuple[str, int, str, bool]], list[tuple[str, str, str, str]], str]:
    """The untagged images envsnap built, each (id, size, why it was kept: "" when removed or to be, whether envsnap
    built it: one made as envsnap makes them that no rebuild here recorded is kept, ``untagged_images``), removed when
    ``remove``; the holds of envsnap's rebuilds on other images (a tagged one a killed rebuild left its hold on:
    ``tagged_holds``), those proved gone removed when ``remove``; and, when none was looked for, why not."""
    from ..errors import RebuildError
    from ..rebuild.docker import tagged_holds, untagged_images

    try:
        return untagged_images(remove=remove), tagged_holds(remove=remove), ""
    except RebuildError as exc:
        return [], [], str(exc)
