"""Rebuilders: turn a lock back into an environment (venv, docker, conda).

Each rebuilder first produces a plan (what will be built, from what, pinned how), then acts on it;
``--dry-run`` prints the plan. Every rebuild runs the compatibility check first and verifies the result.
A target is a module here exposing ``REBUILDER`` (see ``interface.py``), listed in ``REGISTRY``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import _leftovers, lockfile, sinks
from .._defaults import LOCK_NAME
from ..errors import BadOptionError, BundleError, LockfileError, RebuildError
from ..grammar import shown
from ..model import LEGACY_VERSION_REASON, Snapshot
from ._preflight import Preflight, check_host, rebuild_target
from ._registry import REGISTRY, UnknownTargetError, check_target, check_targets, get, rebuilders
from .interface import (
    EarlyWork,
    Plan,
    PlanItem,
    Progress,
    Rebuilder,
    RebuildRequest,
    RebuildResult,
    check_command,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .._venvahead import VenvAhead
    from ..artifacts.bundle import Bundle
    from ..probes.python import PendingProbe

# How long the check waits for the early work to reach its installer: the steps before it take some 0.03 s once
# the bundle's digests are known; a bundle still being hashed (seconds, the first time) is not waited for longer.
EARLY_SETTLE_S = 0.25

__all__ = [
    "REGISTRY",
    "Plan",
    "PlanItem",
    "RebuildRequest",
    "RebuildResult",
    "Rebuilder",
    "UnknownTargetError",
    "check_command",
    "check_target",
    "check_targets",
    "get",
    "rebuild",
    "rebuilders",
]


def rebuild(
    lock_path: str | os.PathLike[str],
    *,
    target: str,
    dest: str | os.PathLike[str] | None = None,
    bundle: str | os.PathLike[str] | None = None,
    python: str | None = None,
    offline: bool = False,
    force: bool = False,
    dry_run: bool = False,
    cpu_only: bool = False,
    options: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    project: str | os.PathLike[str] | None = None,
    allow_urls: tuple[str, ...] = (),
    probe: PendingProbe | None = None,
    use_cache: bool = True,
    venv_ahead: VenvAhead | None = None,
    gpu_timeout: float | None = None,
    dest_option: str = "",
) -> Plan | RebuildResult:
    """Check the host, plan, and (unless ``dry_run``) carry out the plan. Returns the plan or the result.

    ``bundle`` is a bundle directory or archive (unpacked, safely, into a temporary folder for the rebuild).
    ``dest`` defaults to the target's own ``default_dest``; ``cpu_only`` accepts GPU failures of the check, as
    ``envsnap check --cpu-only`` does.
    ``allow_urls`` widens where the lock may send envsnap (``--allow-url``; see ``envsnap._fetchpolicy``).
    ``probe``: a probe of an interpreter started ahead (the CLI starts one of its own interpreter while envsnap
    loads): the check takes it when that is the interpreter it judges, and ends it otherwise.
    ``use_cache``: False (``--no-cache``) captures the host and verifies the result without the capture cache.
    ``venv_ahead``: a venv the CLI began making while envsnap loaded (``_venvahead``): the venv target takes it
    when it fits its plan; it is removed otherwise, whatever happens.
    ``gpu_timeout``: how long the check and the verify wait for the NVIDIA driver (``--gpu-timeout``; default
    ``GPU_TIMEOUT``); a driver that did not answer is then reported naming the option.
    ``dest_option``: the option ``dest`` was given with (``--dest`` or ``--prefix``, one option), which the
    messages about it name; "" names it as each message always did (the conda target's own ``--prefix``).
    ``lock_path`` may name a bundle (a folder or an archive ``envsnap bundle`` wrote), as ``verify`` reads one: its
    lock is rebuilt from it as ``bundle`` (an archive is unpacked and checked once, before the lock is read).
    """
    settings: dict[str, Any] = dict(locals())  # every parameter, passed on as given
    given = _bundle_as_lock(lock_path, bundle)
    if given is None:
        from ..artifacts.bundle import is_archive
        from ..errors import NotALockfileError

        try:
            if offline and bundle is None and is_archive(lock_path):
                # Named as the bundle archive it was meant to be, and neither one nor a lock: said as every reader
                # says it, not "--offline needs --bundle" of the bundle given.
                lockfile.load(lock_path)
            return _rebuild(**settings, opened=None)
        except NotALockfileError as exc:
            from ..artifacts.bundle import refuse_broken_archive

            refuse_broken_archive(lock_path, exc)  # no lock, named as an archive: as audit and verify say
            raise
    settings["bundle"] = given
    if os.path.isdir(given):
        settings["lock_path"] = os.path.join(given, LOCK_NAME)
        return _rebuild(**settings, opened=None)
    get(target).parse_options(dict(options or {}))  # bad input, before the archive is unpacked
    from ..artifacts.bundle import open_bundle

    with _leftovers.held_dir(Path(tempfile.gettempdir()), "rebuild") as tmp:
        try:
            opened = open_bundle(given, Path(tmp), progress)
        except BundleError as exc:
            if exc.exit_code != RebuildError.exit_code:
                raise
            raise RebuildError(str(exc)) from None
        return _rebuild(**settings, opened=opened)


def _bundle_as_lock(lock_path: str | os.PathLike[str], bundle: str | os.PathLike[str] | None) -> str | None:
    """The bundle ``lock_path`` names, as the lock loader recognises one (a folder with ``SHA256SUMS`` beside its
    ``envsnap.lock``, an archive by its name and data), or None for a lock. A ``bundle`` that is another one is bad
    input: the rebuild would take one bundle's lock and another's files."""
    from .._readlimits import refuse_bundle
    from .._samefile import same_file
    from ..errors import BundleNotALockError

    try:
        refuse_bundle(lock_path)
    except BundleNotALockError as exc:
        given = exc.origin
    else:
        return None
    if bundle is not None and not same_file(bundle, given):
        raise BadOptionError(
            f"--bundle {os.fspath(bundle)}: {given} is a bundle itself, whose lock and files the rebuild takes: "
            "give one or the other"
        )
    return given


def _rebuild(
    lock_path: str | os.PathLike[str],
    *,
    target: str,
    dest: str | os.PathLike[str] | None,
    bundle: str | os.PathLike[str] | None,
    python: str | None,
    offline: bool,
    force: bool,
    dry_run: bool,
    cpu_only: bool,
    options: Mapping[str, str] | None,
    progress: Progress | None,
    project: str | os.PathLike[str] | None,
    allow_urls: tuple[str, ...],
    probe: PendingProbe | None,
    use_cache: bool,
    venv_ahead: VenvAhead | None,
    gpu_timeout: float | None,
    dest_option: str,
    opened: Bundle | None,
) -> Plan | RebuildResult:
    """``rebuild`` of a lock; ``opened``: the bundle archive given as the lock, unpacked and checked (its lock is
    the one rebuilt, ``bundle`` names the archive)."""
    from ..artifacts.bundle import hash_bundle_ahead
    from ..probes.target import interpreter_named

    started = time.perf_counter()  # the time reported covers unpacking and checking the bundle too
    rebuilder = get(target)
    target_options = dict(options or {})
    rebuilder.parse_options(target_options)  # an option the target does not take: bad input, before any work
    if offline and bundle is None:  # every target: nothing may be fetched, so it all comes from a bundle
        # (A bundle given as the lock is the bundle: ``_bundle_as_lock``.)
        from .. import sinks
        from ..artifacts.bundle import bundle_listing

        # The lock of a bundle (a reviewer inside it, without --bundle): the remedy, pasted, is that bundle.
        folder = bundle_listing(lock_path)
        beside = "" if folder is None else f"; the lock is a bundle's: add --bundle {sinks.shell_shown([folder])}"
        raise BadOptionError(
            f"--offline needs --bundle: without a bundle the {target} target must download what it installs{beside}"
        )
    # ``..`` collapsed as ``python -m venv`` and uv collapse it: the path made is the one planned, reported and
    # written into what the target makes (``/a/b/../c``, made at ``/a/c``, was reported and scripted as given, and
    # a ``b`` that did not exist failed the move into place with a traceback).
    where = os.path.abspath(dest) if dest is not None else rebuilder.default_dest
    if bundle is not None and os.path.isdir(bundle):
        # Bad input, refused before any work: it was refused only after the compatibility check (seconds on a GPU
        # host, the whole NVML timeout on a hung one), whose failure then hid it.
        refuse_dest_in_bundle(where, bundle, rebuilder.default_dest, dest_option or "--dest")
    elif bundle is None and opened is None:
        from ..artifacts.bundle import bundle_listing

        # A bundle's lock rebuilt without --bundle (from inside the folder, its wheels fetched from where the lock
        # says): the default destination was made inside the bundle, which then failed its own SHA256SUMS.
        holding = bundle_listing(lock_path)
        if holding is not None:
            refuse_dest_in_bundle(where, holding, rebuilder.default_dest, dest_option or "--dest")
    if dest is not None:
        _creatable(Path(where), dest_option or "--dest")
    # A bundle directory's files are hashed in the background (GIL-free, a thread per core) while the lock is
    # read and the host is checked; the SHA256SUMS check below then finds every digest known. An archive is
    # hashed as it is unpacked, after the check.
    stop = threading.Event()
    ahead = None
    if bundle is not None and Path(bundle).is_dir():
        ahead = threading.Thread(
            target=hash_bundle_ahead, args=(Path(bundle), stop), name="envsnap-bundle-hash", daemon=True
        )
        ahead.start()
    early: EarlyWork | None = None
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="envsnap-target") as pool:
            # The target's facts (the disk space where it goes, the bundle's wheels unpacked) while the lock is read.
            probed = pool.submit(
                rebuild_target,
                target,
                cpu_only=cpu_only,
                bundle=bundle,
                dest=where,
                base_image=target_options.get("base_image") or None,
            )
            try:
                lock = opened.lock if opened is not None else lockfile.load(lock_path)
                legacy = next((p for p in lock.python.packages if p.legacy_version), None)
                if legacy is not None:
                    raise LockfileError(
                        f"{lock_path}: {legacy.name} {shown(legacy.version)}: {LEGACY_VERSION_REASON} "
                        "(remove it from the lock or replace its version)"
                    )
                _refuse_unchecked_stand_ins(lock, bundle, target, needs_bundle=bool(rebuilder.needs_bundle))
                rebuilder.refuse_lock(lock, Path(lock_path))  # the wrong target for this lock: before any work
                # The check should judge the interpreter the target will use (the venv target finds one of the
                # locked version), not the one running envsnap.
                check_python = rebuilder.preflight_python(lock, python, offline=offline, dry_run=dry_run)
                # Its errors name it as --python only where typed: the venv target finds one when none is.
                check_named = (
                    interpreter_named(check_python, "--python" if python else target) if check_python else None
                )
                taken, probe = _started_for(probe, check_python), None
                if ahead is not None and not dry_run:
                    # What the target can do before the check answers (the venv target: create the venv, check
                    # the wheels and install them, in a hidden folder) begins now and is taken up only if the
                    # check passes.
                    early = rebuilder.start_early(
                        RebuildRequest(
                            lock=lock,
                            lock_path=Path(lock_path),
                            dest=Path(where),
                            target=target,
                            bundle_dir=Path(bundle) if bundle is not None else None,
                            python=python,
                            offline=offline,
                            options=target_options,
                            allow_urls=tuple(allow_urls),
                            use_cache=use_cache,
                            venv_ahead=venv_ahead,
                            dest_option=dest_option,
                        ),
                        hashed=ahead.join,
                        target=probed.result,
                    )
                    if early is not None:
                        # Its few steps before the installer (the plan, the wheels checked, the venv taken) are
                        # Python work: they go first, and the check's capture runs beside the installer
                        # instead of sharing the interpreter with them.
                        early.settle(EARLY_SETTLE_S)
                checked = check_host(
                    lock,
                    lock_path=lock_path,
                    target=target,
                    python=check_python,
                    force=force,
                    dry_run=dry_run,
                    cpu_only=cpu_only,
                    bundle=bundle,
                    dest=where,
                    base_image=target_options.get("base_image") or None,
                    probed=probed,
                    started=taken,
                    use_cache=use_cache,
                    gpu_timeout=gpu_timeout,
                    python_named=check_named,
                )
            except BaseException:
                stop.set()  # the rebuild stops here: the files being hashed finish, no other starts
                if early is not None:
                    early.cancel()  # before it hashes what the stop left, or starts the installer
                raise
            finally:
                if ahead is not None:
                    ahead.join()
        return _carry_out(
            rebuilder,
            lock,
            checked,
            early,
            lock_path=lock_path,
            where=where,
            target=target,
            bundle=bundle,
            python=python,
            offline=offline,
            dry_run=dry_run,
            target_options=target_options,
            progress=progress,
            project=project,
            allow_urls=allow_urls,
            started=started,
            use_cache=use_cache,
            gpu_timeout=gpu_timeout,
            dest_option=dest_option,
            opened=opened,
        )
    finally:
        if probe is not None:
            probe.cancel()  # the rebuild stopped before the check could take it
        if early is not None:
            early.cancel()  # nothing left to do once taken up; otherwise stopped, and what it made removed
        if venv_ahead is not None:
            venv_ahead.cancel()  # nothing once the venv target took it; otherwise killed and removed


def _creatable(dest: Path, named: str = "--dest") -> None:
    """``--dest`` can be made: a folder can be created in the nearest folder above it that exists (one is made
    and removed at once). A destination under ``/proc`` or a read-only mount read "compatibility check failed:
    disk space: 0 MiB free", exit 3, where a destination that cannot be made is bad input."""

    above = dest.absolute()
    while not above.exists() and above.parent != above:
        above = above.parent
    if above == dest.absolute() and above.is_dir():
        return  # an existing folder: the target says whether it may be used (empty, or its own earlier one)
    # Named before it is made and removed in a ``finally``: a Ctrl-C that landed in mkdtemp once the folder was made
    # left it, an empty `.envsnap-dest-*` that no sweep or `envsnap clean` takes.
    probe = os.path.join(above, f".envsnap-dest-{os.getpid()}-{os.urandom(4).hex()}")
    try:
        if not above.is_dir():
            raise NotADirectoryError(20, "not a folder", str(above))
        try:
            os.mkdir(probe, 0o700)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.rmdir(probe)
    except OSError as exc:
        # A folder that is there and answers a mkdir with ENOENT (/proc, /sys): "/proc: No such file or directory"
        # named a folder that exists.
        why = "no folder can be made in it" if exc.errno == errno.ENOENT and above.is_dir() else exc.strerror or exc
        raise BadOptionError(f"{named} {dest}: cannot create it ({above}: {why})") from None


def _refuse_unchecked_stand_ins(
    lock: Snapshot, bundle: str | os.PathLike[str] | None, target: str, *, needs_bundle: bool = False
) -> None:
    """A lock an envsnap before the ``identity`` field wrote (or one written by hand) may pin a distribution a Debian
    package installed to the index's file of its name and version, chosen by its name alone
    (``pin.unchecked_stand_in``): ``pin`` and ``bundle`` look it up again and refuse it, with nothing to show the file
    is the same project; a rebuild from a bundle such an envsnap made installed its wheel unchecked, and one without
    a bundle planned the index's file (the venv target's own bundle refused it only after the check). Refused the
    same way for every target, before any work (exit 4, as the bundle refuses it); the remedy is a capture again,
    then the bundle (``bundle``, or a target that ``needs_bundle``) or the rebuild of that lock."""
    if not any(p.system_package and p.artifact is not None for p in lock.python.packages):
        return  # no stand-in at all: the index client stays unloaded
    from ..artifacts.pin import CAPTURE_AGAIN, unchecked_stand_ins_said

    count, said = unchecked_stand_ins_said(lock.python.packages)
    if not count:
        return
    if bundle is not None:
        where, then = (
            " from the bundle",
            f"bundle that lock (`envsnap bundle NEW.lock -o {sinks.path_shown(os.fspath(bundle))}`)",
        )
    elif needs_bundle:
        where, then = "", "bundle that lock (`envsnap bundle NEW.lock -o DIR`, then --bundle DIR)"
    else:
        where, then = "", f"rebuild that lock (`envsnap rebuild NEW.lock --target {target}`)"
    raise RebuildError(
        f"cannot rebuild {count} package(s){where}, nothing was installed: {said}; {CAPTURE_AGAIN} and {then}, which "
        "pins the file again"
    )


def _started_for(probe: PendingProbe | None, python: str | None) -> PendingProbe | None:
    """``probe`` when it probes ``python`` (the same path: a venv's ``bin/python`` links to its base
    interpreter's binary, and is another environment); ended and None otherwise."""
    if probe is None:
        return None
    if python is not None and probe.python is not None and os.path.abspath(python) == os.path.abspath(probe.python):
        return probe
    probe.cancel()
    return None


def refuse_dest_in_bundle(
    where: str | os.PathLike[str], bundle: str | os.PathLike[str], default_dest: str, named: str = "--dest"
) -> None:
    """Refuse a destination inside the bundle folder: what the rebuild makes there (the new environment, its
    staging folder, a build context) would be files the bundle does not list, and it then refused its own bundle.
    The message names the target's own destination beside the bundle, and says when ``where`` is that default
    (the docker target's envsnap-docker-context, run from inside the bundle, was told to use ../envsnap-env). The
    folder is the user's, quoted by ``shell_shown``: ``shell_word`` refuses a newline in it (a traceback)."""
    inside = Path(os.path.realpath(where))
    folder = Path(os.path.realpath(bundle))
    if inside != folder and folder not in inside.parents:
        return
    beside = os.path.join(os.path.dirname(os.path.abspath(bundle)), default_dest)
    try:
        suggested = os.path.relpath(beside)
    except ValueError:  # another drive (Windows): the absolute path
        suggested = beside
    default = f" (the target's default {named})" if os.fspath(where) == default_dest else ""
    raise BadOptionError(
        f"{os.fspath(where)}{default}: inside the bundle {os.fspath(bundle)}; put the environment beside it "
        f"({named} {sinks.shell_shown([suggested])}): anything added inside no longer matches SHA256SUMS"
    )


def _carry_out(
    rebuilder: Rebuilder,
    lock: Snapshot,
    checked: Preflight,
    early: EarlyWork | None,
    *,
    lock_path: str | os.PathLike[str],
    where: str | os.PathLike[str],
    target: str,
    bundle: str | os.PathLike[str] | None,
    python: str | None,
    offline: bool,
    dry_run: bool,
    target_options: dict[str, str],
    progress: Progress | None,
    project: str | os.PathLike[str] | None,
    allow_urls: tuple[str, ...],
    started: float,
    use_cache: bool = True,
    gpu_timeout: float | None = None,
    dest_option: str = "",
    opened: Bundle | None = None,
) -> Plan | RebuildResult:
    """After a passed (or overridden) check: the bundle opened (``opened``: already), the plan made, and unless
    ``dry_run`` carried out."""
    from ..artifacts.bundle import open_bundle
    from ..probes.project import project_root

    with _leftovers.held_dir(Path(tempfile.gettempdir()), "rebuild") as tmp:
        try:
            if opened is not None:
                bundle_dir: Path | None = opened.root
            else:
                bundle_dir = open_bundle(bundle, Path(tmp), progress).root if bundle is not None else None
        except BundleError as exc:
            if exc.exit_code != RebuildError.exit_code:
                raise
            raise RebuildError(str(exc)) from None
        project_dir = project_root(os.fspath(project) if project is not None else None, lock_path)
        if project is not None and project_dir is not None and bundle_dir is None:
            from ..artifacts.bundle import check_named_project

            check_named_project(lock, project_dir)  # the rebuild builds the project from there: it must be it
        request = RebuildRequest(
            lock=lock,
            lock_path=Path(lock_path),
            dest=Path(where),
            target=target,
            bundle_dir=bundle_dir,
            python=python,
            offline=offline,
            preflight_notes=checked.notes,
            options=target_options,
            project_dir=project_dir,
            allow_urls=tuple(allow_urls),
            host=checked.host,
            early=early,
            use_cache=use_cache,
            gpu_timeout=gpu_timeout,
            dest_option=dest_option,
        )
        try:
            made = rebuilder.plan(request)
        except RebuildError as exc:
            if not (dry_run and checked.check is not None and checked.check.failed):
                raise
            if type(exc).exit_code != RebuildError.exit_code:
                raise  # bad input stays bad input
            # A dry run is a CI gate: a host that failed the check exits 3, as the rebuild would, even where no
            # plan can be made (no interpreter of the locked version here); it exited 4 with only the plan's error.
            from ._preflight import PreflightError

            raise PreflightError(
                f"compatibility check failed: {checked.check.reason or 'the host cannot run this lock'} "
                f"(no plan: {exc}; run `{check_command(lock_path, target, python)}` for details)"
            ) from None
        plan = dataclasses.replace(made, check=checked.check)
        if bundle_dir is None and not dry_run and rebuilder.needs_bundle:
            # An argument missing (exit 2), said once the plan's own refusals of the options were (which may say how
            # to bundle: `--option network=none` names `bundle --with-system-packages`), before the engine is asked
            # or anything is built: it was the build failing (exit 4).
            raise BadOptionError(rebuilder.bundle_needed(lock_path))
        if dry_run:
            return plan
        result = rebuilder.execute(plan, request, progress)
        return dataclasses.replace(result, seconds=time.perf_counter() - started)
