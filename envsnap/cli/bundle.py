from __future__ import annotations

import argparse

from ..errors import UsageError
from . import COMMAND_HELP, PathValue, _output, add_allow_url

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from ..artifacts.bundle import BundleEntry, BundleOptions
    from ..model import Snapshot
    from ..paper.artifact import ArtifactResult


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bundle",
        help=COMMAND_HELP["bundle"],
        description="Write a bundle: the lock, every pinned wheel (downloaded and hash-checked, or "
        "built from VCS/local/sdist sources and flagged rebuilt), for a conda lock every conda package's "
        "archive in conda/ (hash-checked), requirements.txt with hashes, a README and SHA256SUMS. Re-running "
        "on an existing bundle fetches only what is missing.",
    )
    p.add_argument(
        "lock",
        type=PathValue("lockfile"),
        metavar="LOCK",
        help="the lockfile (pinned or not: unpinned packages are pinned now)",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        type=PathValue("bundle directory or archive"),
        metavar="DIR|FILE.tar.gz|FILE.tar",
        help="the bundle to write (a directory, a .tar.gz at a fast gzip level, or an uncompressed .tar)",
    )
    p.add_argument(
        "--project",
        type=PathValue("project folder"),
        metavar="DIR",
        help="the project whose local packages ({project} in recorded "
        "directory URLs) are built into wheels (default: the git work tree around the working directory)",
    )
    p.add_argument(
        "--python",
        type=PathValue("Python interpreter"),
        metavar="PATH",
        help="the interpreter that builds wheels from source",
    )
    p.add_argument(
        "--cache-dir",
        type=PathValue("download cache folder"),
        metavar="DIR",
        help="download cache (default: $XDG_CACHE_HOME/envsnap/artifacts)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="use only what is here: the bundle's own files and the download cache; fail on anything missing",
    )
    add_allow_url(p)
    p.add_argument(
        "--with-base-image",
        action="store_true",
        help="also `docker save` the docker target's base "
        "image into BUNDLE/images/ and envsnap's own wheels for it into BUNDLE/tool/ (a directory "
        "or archive bundle), so `rebuild --target docker --offline` works when the registry drops the tag",
    )
    p.add_argument(
        "--with-system-packages",
        action="store_true",
        help="also put the pinned .deb files of the "
        "system packages a docker rebuild installs into BUNDLE/debs/ (checked against the lock's sha256; "
        "those the base image ships at the locked version are not carried), so `rebuild --target "
        "docker --offline` builds with no network (a directory or archive bundle)",
    )
    p.add_argument(
        "--base-image",
        metavar="IMAGE",
        help="with --with-base-image or --with-system-packages: the docker target's base image (the one saved; "
        "the one whose shipped packages are not carried) (default: the one `envsnap rebuild --target docker` "
        "would choose)",
    )
    art = p.add_argument_group("paper artifact (docs/artifact.md)")
    art.add_argument(
        "--artifact",
        action="store_true",
        help="also make the bundle a research artifact: "
        "ro-crate-metadata.json, CITATION.cff, .zenodo.json, REPRODUCING.md, the project's SWHID, "
        "and the appendix with DOI and audit grade (a directory bundle)",
    )
    art.add_argument("--title", metavar="TEXT", help="the artifact's title (else CITATION.cff's)")
    art.add_argument(
        "--author",
        action="append",
        default=[],
        metavar="'NAME <ORCID>'",
        help="an author, with an optional ORCID iD; repeatable, in order (else CITATION.cff's)",
    )
    art.add_argument("--license", metavar="SPDX", help="the artifact's licence, an SPDX identifier or expression")
    art.add_argument("--doi", metavar="DOI", help="the DOI of the paper the artifact supplements")
    art.add_argument(
        "--run",
        action="append",
        default=[],
        type=PathValue("run record"),
        metavar="RUN.toml",
        help="a run record (`envsnap run`) to include in runs/ and describe in the RO-Crate; repeatable",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .. import lockfile
    from ..artifacts.bundle import BundleOptions, BundleOutputError, check_output, is_archive, make_bundle
    from ..probes.project import project_root
    from ..probes.python import resolve_interpreter

    if args.output.endswith((".zip", ".tar.bz2", ".tar.xz", ".tar.zst", ".tzst", ".txz")):
        # Would silently become a directory of that name.
        raise BundleOutputError(
            f"-o {args.output}: a bundle is a directory or a .tar.gz/.tgz archive (or an uncompressed .tar)"
        )
    check_output(Path(args.output))  # a folder named out.tar.gz, a file for a directory bundle: before any work
    if args.base_image and not (args.with_base_image or args.with_system_packages):
        raise UsageError("--base-image applies with --with-base-image or --with-system-packages: add one")
    artifact_flags = [
        f
        for f, v in (
            ("--title", args.title),
            ("--author", args.author),
            ("--license", args.license),
            ("--doi", args.doi),
            ("--run", args.run),
        )
        if v
    ]
    if artifact_flags and not args.artifact:
        raise UsageError(f"{artifact_flags[0]} describes an artifact: add --artifact")
    if args.artifact and is_archive(args.output):
        raise UsageError("--artifact needs a directory bundle (-o DIR), not an archive: deposit the folder")
    if args.artifact or is_archive(args.output):
        from .._fs import source_date_epoch

        source_date_epoch()  # the archive's times, the RO-Crate's date: a bad value is one line now, not a traceback
    lock = lockfile.load(args.lock)
    project = project_root(args.project, args.lock)
    if args.project is not None and project is not None:
        from ..artifacts.bundle import check_named_project

        check_named_project(lock, project)
    meta = None
    if args.artifact:
        # The RO-Crate names every package by its package URL: without the artifact extra that was found only
        # after the wheels were fetched and the first artifact files written (exit 4 then, with files left).
        import packageurl  # noqa: F401  (missing: exit 4 naming the extra, before anything is made)

        from ..paper.artifact import check_runs, require_complete
        from ..paper.metadata import from_args, resolve

        # Every fact is checked before anything is fetched: a bad ORCID or a missing licence is exit 2 now.
        meta = resolve(from_args(args.title, args.author, args.license, args.doi), project)
        require_complete(meta)
        from .. import sinks

        check_runs([Path(record) for record in args.run], lock, Path(args.output), sinks.path_shown(args.lock))
    if args.with_system_packages:
        from ..rebuild.docker import check_system_packages, no_system_packages_for

        if not no_system_packages_for(lock):
            # A package with no pinned .deb, before the bundle is touched: found once the wheels were in, it left an
            # earlier bundle marked as being made, which every command refused until it was bundled again.
            check_system_packages(lock, args.base_image, args.lock)
    if args.with_base_image:
        from ..rebuild.docker import check_base_to_save, no_base_image_for

        if not no_base_image_for(lock):
            # The engine and the image it saves, before a wheel is pinned or fetched (gigabytes for a CUDA lock).
            check_base_to_save(lock, args.base_image)
    # Checked like capture's --python: a Python script named here would be run by the wheel build.
    python = resolve_interpreter(args.python) if args.python else None
    options = BundleOptions(
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        project_dir=project,
        python=python,
        offline=args.offline,
        allow_urls=tuple(args.allow_url),
        lock_path=Path(args.lock),
    )
    # Progress lines hold paths and build output: printed as they are, never read as rich markup.
    import time

    started = time.perf_counter()
    # The .deb files, the saved base image and the artifact go into the bundle's folder while make_bundle holds
    # it: an archive's before it is archived, a directory's while its earlier files are kept, so a failure there
    # leaves an earlier bundle as it was and no new one (made after it, they were outside both).
    added: list[tuple[int | None, bool, ArtifactResult | None]] = []

    def parts(folder: Path, bundled: Snapshot) -> None:
        debs, base_image = _docker_parts(args, options, bundled, folder)
        made = None
        if meta is not None:
            from ..paper.artifact import add_artifact

            made = add_artifact(
                folder, meta, project=project, runs=[Path(r) for r in args.run], progress=_output.progress("  ")
            )
        added.append((debs, base_image, made))

    extra = args.with_system_packages or args.with_base_image or meta is not None
    result = make_bundle(
        lock, Path(args.output), options, progress=_output.progress("  "), then=parts if extra else None
    )
    debs, base_image, made = added[0] if added else (None, False, None)
    if made is not None:
        for note in made.notes:
            _output.say(f"  {note}")
        if made.code is not None:
            _output.say(f"  code: {made.code.directory} (commit {made.code.commit[:12]}, {made.code.computed_with})")
        _output.say(f"  artifact: {made.grade}")
    seconds = time.perf_counter() - started  # every step: the base image's save was left out of it
    conda = len(result.lock.conda.packages) if result.lock.conda is not None else 0
    held = holds(result.entries, conda=conda, debs=debs, base_image=base_image)
    _output.say(f"wrote {result.path}: {held} in {seconds:.1f} s")
    return 0


def _docker_parts(
    args: argparse.Namespace, options: BundleOptions, lock: Snapshot, folder: Path
) -> tuple[int | None, bool]:
    """``--with-system-packages`` and ``--with-base-image`` into the bundle's ``folder`` (a folder bundle, or an
    archive's before it is archived): the .deb files carried (None without them) and whether the base image was
    saved (not for a conda lock, said in one line)."""
    base_image = bool(args.with_base_image)
    if base_image:
        # Only then: the docker target's module (and the Docker SDK) costs a plain bundle a second of start-up.
        from ..rebuild.docker import no_base_image_for

        unused = no_base_image_for(lock)
        if unused:
            # It pulled and saved an image nothing would use (the docker target refuses such a lock).
            _output.say(f"  base image: not saved: {unused}")
            base_image = False
    debs = _system_packages(args, options, lock, folder) if args.with_system_packages else None
    if base_image:
        from ..rebuild.docker import add_docker_base

        add_docker_base(lock, folder, args.base_image, progress=_output.progress("  "), offline=args.offline)
    return debs, base_image


def _system_packages(args: argparse.Namespace, options: BundleOptions, lock: Snapshot, folder: Path) -> int | None:
    """``--with-system-packages`` into the bundle's ``folder``: the .deb files carried, said in one line; None for
    a conda lock, which carries none (said in one line too)."""
    from ..rebuild.docker import add_system_packages, no_system_packages_for
    from ..report import counted

    uncarried = no_system_packages_for(lock)
    if uncarried:
        # A lock the docker target refuses (a conda environment's) needs no .deb file: none is carried, said here, and
        # the bundle is made without them (this was exit 4 after every conda archive was fetched, the bundle removed).
        _output.say(f"  system packages: not carried: {uncarried}")
        return None
    carried, size, in_base = add_system_packages(
        lock,
        folder,
        base_image=args.base_image,
        cache_dir=options.cache_dir,
        offline=args.offline,
        allow_urls=tuple(args.allow_url),
        progress=_output.progress("  "),
        lock_path=args.lock,
    )
    _output.say(
        f"  system packages: {counted(carried, '.deb file')} ({size >> 10} KiB) in debs/, {in_base} left to the "
        "base image"
    )
    return carried


def holds(entries: Iterable[BundleEntry], *, conda: int, debs: int | None, base_image: bool) -> str:
    """What a bundle holds, as its last line says it: ``2 wheels (1 fetched, 1 built), 3 conda archives, 1 .deb
    file, the base image``; each kind only where there is one (``debs``: None without --with-system-packages), and
    ``no packages`` for none (a conda-only bundle said ``0 wheels ()``)."""
    from ..artifacts.bundle import describe_entries
    from ..report import counted

    counts = describe_entries(entries)
    parts = []
    if counts:
        how = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
        parts.append(f"{counted(sum(counts.values()), 'wheel')} ({how})")
    if conda:
        parts.append(counted(conda, "conda archive"))
    if debs:
        parts.append(counted(debs, ".deb file"))
    if base_image:
        parts.append("the base image")
    return ", ".join(parts) or "no packages"
