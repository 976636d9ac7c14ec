"""``envsnap verify``: is this environment still the one in the lock?

Captures the target and compares it with the lock, the Python layer first (every package: version, source,
wheel tag, RECORD digest; then the interpreter), then OS, libc, system packages and the GPU stack. Each
difference has a severity:

- ``mismatch``: the Python layer differs (a package added, removed, of another version, wheel or content), or,
  for a lock with ``[conda]``, the conda layer (a record missing, extra or of another version, build or archive).
- ``warning``: something around it differs that may change behaviour (OS release, libc, a system library a
  package loads, the NVIDIA driver, CUDA libraries, a patch-level interpreter change, a recorded variable, a GPU
  here that runs no kernel of a distribution's, judged by ``gpu_kernels``).
- ``info``: worth knowing, rarely decisive (CPU model, memory, GPUs, kernel, a package built from source).

Packages locked from a VCS checkout or a local directory are built from source, by pip or uv when the user
installs them and by ``envsnap bundle`` for a rebuild: a wheel built again has the same files only when the build
is reproducible (the notes say "installed from" and "built from", which is true of both, never "rebuilt", which the
user's own ``pip install ./proj`` is not). For them a different RECORD digest is a
``warning`` (VCS: the same commit gave other files; a folder installed as a wheel: its code changed or the build
differs) or ``info`` (an editable install, whose RECORD lists a ``.pth`` hook rather than the modules), and
a source recorded as "installed from a wheel" instead of the checkout is ``info``, except for a project the lock
installs editable: a regular install of it (the bundle's wheel) is a ``warning``, as is the editable flag changed
either way. The Python layer is identical when there is no ``mismatch``.

``envsnap.verify("envsnap.lock")`` is the library call: a training script can refuse to run in a drifted
environment (``if not envsnap.verify("envsnap.lock").identical: sys.exit(...)``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _lockcache, _tools, fileurls, interchange, lockfile
from .._defaults import NVML_HUNG
from .._privacy import scrub_snapshot
from ..cudaneed import cuda_need
from ..model import PthFolder, PythonEnv, PythonPackage, Snapshot, Source, SystemPackage
from ..platforms import debian_upstream, interpreter_debs, is_python_release, machine, major_minor, with_article
from ..probes.python import PendingProbe, TargetEnvironment
from ..report import first_few, gpu_name
from .verdict import AREAS as AREAS
from .verdict import INFO as INFO
from .verdict import MISMATCH as MISMATCH
from .verdict import SEVERITIES as SEVERITIES
from .verdict import UNCOMMITTED, Place, not_recorded, source_text, subfolder_url
from .verdict import WARNING as WARNING
from .verdict import Difference as Difference
from .verdict import VerifyReport as VerifyReport
from .verdict import ordered as ordered

if TYPE_CHECKING:
    from concurrent.futures import Future

    from packaging.requirements import Requirement

    from ..probes.capture import Captured
    from ..probes.hostlibs import Loader, PackageDatabase
    from ..probes.interface import RawPackage

# The differences the environment's CUDA kernels (its torch build's and its other distributions') make on this host's
# GPUs, given the lock (its torch's captured arch list), the captured environment and the variables it runs with
# (CUDA_VISIBLE_DEVICES): ``compat.kernel_differences``.
KernelJudge = Callable[[Snapshot, Snapshot, Mapping[str, str]], list[Difference]]


def judged_by_date(report: VerifyReport) -> bool:
    """Whether ``report`` holds what a ``KernelJudge`` said (area ``gpu``, what ``kernels``), which may read
    otherwise on another day: a GPU's remedy offers cuda-compat only while the driver's branch is in support (the
    rules read the date). The first question, without the rules: where it holds one, ``compat.kernels_by_date``
    tells whether the day changes it, and a kept report it does is given again on its day alone (the CLI's verify
    memo, a run's)."""
    return any(d.area == "gpu" and d.what == "kernels" for d in report.differences)


def verify(
    lock_or_path: Snapshot | str | os.PathLike[str],
    python: str | None = None,
    *,
    files: bool = False,
    environment: TargetEnvironment | None = None,
    cache: bool = True,
    same_host: Captured | None = None,
    probe: PendingProbe | None = None,
    prepared: Future[tuple[PackageDatabase, Loader]] | None = None,
    kept: list[Captured] | None = None,
    scrubbed: bool = False,
    gpu_timeout: float | None = None,
    environ: Mapping[str, str] | None = None,
    project: str | None = None,
    python_named: str | None = None,
    lock_named: str | None = None,
    wheels: str | None = None,
    gpu_kernels: KernelJudge | None = None,
) -> VerifyReport:
    """Capture ``python``'s environment (default: the running interpreter's) and compare it with the lock.

    ``environment``: the environment ``select_environment`` chose (the CLI's ``--python``, ``VIRTUAL_ENV``,
    ``CONDA_PREFIX`` order), used instead of ``python``.
    ``files``: also hash every installed file and compare it with its distribution's RECORD, so a file
    edited or deleted after installation is a mismatch (the RECORD digest alone cannot see that).
    ``cache``: False captures without the capture cache and loads the lock without the parsed-lock cache
    (``--no-cache``).
    ``same_host``: a capture on this host moments ago (a rebuild's compatibility check) whose host facts are
    taken rather than read again: only the target's own facts are probed (``probes.capture.run_capture``).
    ``probe``: the probe of ``environment``'s interpreter already started (the CLI starts it before it loads the
    rest of envsnap, as ``capture`` does), started with ``check_files=files`` and ``use_cache=cache``.
    ``prepared``: the host's package database and loader being read already (``hostlibs.prepare_early``, which
    the CLI starts with the probe), for ``environment``.
    ``kept``: given a list, the capture the lock was compared with is appended to it (the CLI's verify memo
    stamps what it read). ``scrubbed``: the lock is a Snapshot ``scrub_snapshot`` gave already (a rebuild scrubs
    it while its installer runs: 3-6 ms less after the installer). ``gpu_timeout``: how long NVML may take to
    answer (``--gpu-timeout``; default ``GPU_TIMEOUT``), after which the driver is reported as not answering.
    ``environ``: the environment variables the environment is judged with (default: this process's): a rerun's
    command gets the variables its record holds. ``project``: the folder ``{project}`` in the lock names here (the
    CLI's ``--project``); default: the git work tree around the working directory, else the one around the lock's
    folder (``probes.project.lock_project``: a lock kept in its project, verified from elsewhere). ``python_named``:
    how an error of the probe names ``python`` (``probes.target.interpreter_named``; default: as ``--python`` names
    it), where no ``environment`` names it: a rebuild's new environment, which no one typed. ``lock_named``: how
    a remedy names the lock (the CLI's LOCK as typed; default: ``lock_or_path`` where it is a path, and where it is
    a Snapshot none: no remedy runs ``envsnap rebuild`` on it). ``gpu_kernels``: what the environment's CUDA kernels
    are on this host's GPUs (``compat.kernel_differences``, which judges them as ``check`` does; the pure rules
    stand above this layer, so each caller passes it); None judges none."""
    from ..probes import gitstate
    from ..probes.capture import capture

    with _lockcache.bypassed(not cache):
        lock = lock_or_path if isinstance(lock_or_path, Snapshot) else lockfile.load(lock_or_path)
    # The capture below records no secret, so the lock is compared (and its values reported) without them.
    if not (scrubbed and isinstance(lock_or_path, Snapshot)):
        lock = scrub_snapshot(lock)
    changed: dict[str, dict[str, list[str]]] | None = {} if files else None
    checkouts = reads_checkouts(lock)
    # --files reads the conda layer's prefix from it; an editable VCS package, its checkout's folder.
    # The raw capture tells whether an editable install's folder is there (``_editable_folders_gone``).
    kept = kept if kept is not None else []
    timeout: dict[str, Any] = {} if gpu_timeout is None else {"gpu_timeout": gpu_timeout}
    if environ is not None:
        timeout["environ"] = environ
    # The checkouts of editable VCS packages the capture reads are those ``_editable_checkouts`` compares: each is
    # read by git once.
    with gitstate.read_once():
        if environment is not None:
            actual = capture(
                environment.python,
                python_named=environment.named(),
                changed_files=changed,
                conda_prefix=environment.conda_prefix,
                python_layer=environment.python_layer,
                project_state=False,
                use_cache=cache,
                same_host=same_host,
                probe=probe,
                prepared=prepared,
                kept=kept,
                **timeout,
            )
            target = environment.describe()
        else:
            actual = capture(  # compared: no git state
                python,
                python_named=python_named,
                changed_files=changed,
                project_state=False,
                use_cache=cache,
                same_host=same_host,
                probe=probe,
                kept=kept,
                **timeout,
            )
            target = python or "(this interpreter)"
        edited: list[Difference] = []
        if checkouts and kept:
            actual, edited = _editable_checkouts(lock, actual, kept[-1])
    with _lockcache.bypassed(not cache):
        report = compare(lock, actual, target=target)
    report = _unreadable_said(report, kept[-1]) if kept else report
    found = _file_differences(changed or {}, kept[-1] if files and kept else None)
    extra = [*edited, *(_files_gone(lock, kept[-1], found) if kept else found)]
    if kept and project is None and not isinstance(lock_or_path, Snapshot):
        from ..probes.project import lock_project

        project = kept[-1].project_root or lock_project(lock_or_path)
    extra += _editable_folders_gone(lock, kept[-1], actual, project) if kept else []
    elsewhere = _editable_elsewhere(lock, kept[-1], project) if kept else []
    report = _editable_lost_here(report, lock, project or (kept[-1].project_root if kept else None))
    if elsewhere:
        # Its RECORD differs as the folder its hook names does: that info follows from the source, said once.
        moved = {d.subject for d in elsewhere}
        kept_diffs = [d for d in report.differences if not (d.subject in moved and d.what == "record_digest")]
        report = dataclasses.replace(report, differences=tuple(kept_diffs))
        extra += elsewhere
    extra += _pythonpath_ahead(lock, os.environ if environ is None else environ, kept[-1] if kept else None)
    extra += _pth_folder_changes(lock, actual) if kept else []
    if gpu_kernels is not None and _has_kernels_and_gpus(actual):
        extra += gpu_kernels(lock, actual, os.environ if environ is None else environ)
    if extra:
        report = dataclasses.replace(report, differences=ordered([*report.differences, *extra]))
    interpreter = environment.python if environment is not None else python
    root = project or (kept[-1].project_root if kept else None)
    report = with_remedies(
        report, lock, actual, interpreter or sys.executable, wheels, project=Path(root) if root else None
    )
    if lock_named is None and not isinstance(lock_or_path, Snapshot):
        lock_named = os.fspath(lock_or_path)
    layer = kept[-1].results.get("conda") if kept else None
    prefix = getattr(layer.value, "prefix", None) if layer is not None else None
    where = prefix if isinstance(prefix, str) else None
    return with_rebuild_remedy(report, lock, actual, lock_named, where, project=project)


def _editable_lost_here(report: VerifyReport, lock: Snapshot, project: str | None) -> VerifyReport:
    """``report`` with the warning of each project the lock installs editable under ``{project}``, here a regular
    install, naming the project's folder in its command where ``project`` (the folder ``{project}`` names here) holds
    that project, as rebuild's plan note names it; ``compare`` knows no folder and gave DIR."""
    if not project:
        return report
    wanted = {p.name: p for p in lock.python.packages if p.source.kind == "directory" and p.source.editable}
    diffs = []
    for d in report.differences:
        want = wanted.get(d.subject) if d.area == "python" and d.what == "source" else None
        if want is not None and d.note == editable_lost(want):
            d = dataclasses.replace(d, note=editable_lost(want, Path(project)))
        diffs.append(d)
    return dataclasses.replace(report, differences=tuple(diffs))


def _has_kernels_and_gpus(actual: Snapshot) -> bool:
    """Whether there is anything for ``gpu_kernels`` to judge: a GPU here and torch, a distribution with CUDA
    kernels or a CUDA the environment needs, whose major may not support the GPU (a caller may load the rules only
    then: nearly every environment has none of them)."""
    if not actual.hardware.gpus:
        return False
    packages = actual.python.packages
    kernels = "torch" in actual.frameworks or any(p.cuda_kernels or p.cuda_kernels_partial for p in packages)
    return kernels or cuda_need(actual) is not None


# What each remedied mismatch asks for, before the command that does it.
_REMEDY_WORDS = {
    "missing": "install it as locked",
    "version": "install the locked one",
    "source": "install the locked one",
    "files": "reinstall the locked files",
    "record_digest": "reinstall the locked files",
    "extra": "remove it",
}


def with_remedies(
    report: VerifyReport,
    lock: Snapshot,
    actual: Snapshot,
    python: str,
    wheels: str | None = None,
    *,
    project: Path | None = None,
) -> VerifyReport:
    """``report`` with the command that makes each Python package's mismatch the locked state again: the locked
    pin (``name==version``, or its URL or commit) reinstalled, or an extra package removed, by the installer that
    installed it (``uv pip`` where its ``INSTALLER`` says uv, or pip is not both installed and locked, else pip)
    into ``python``'s environment; uv named by the path of the one envsnap runs where PATH's is not it
    (``_tools.uv_word``). Every word is shell-quoted; a package with nothing another tool can install from (an
    editable or local folder, a label only envsnap resolves, a legacy version, a conda package's) gets none.
    ``wheels``: the wheels folder of the bundle the lock was read from (``verify BUNDLE_DIR``), whose locked files
    an index package's pin is installed from where it holds them, offline (``--no-index --find-links``), as the
    rebuild installed them: the index a reviewer of a supplement may not reach, nor serve the same file. An index
    package the lock records from a local find-links folder is installed from that folder, offline, where it is here
    and holds the locked file (``_local_find_links``; ``project``: the folder ``{project}`` names here), else from
    ``DIR``, which the remedy says is the folder that holds the file."""
    locked = {p.name: p for p in lock.python.packages}
    installed = {p.name: p for p in actual.python.packages}
    # ``python -m pip`` fails in an environment with no pip (a uv venv that an outside ``pip --python`` installed
    # into), and once the remedy that removes a pip the lock does not hold has run: uv installs into it from outside.
    uv_only = "pip" not in installed or "pip" not in locked
    uv = _tools.uv_word()  # the uv envsnap runs, by its path where PATH's uv is not it
    # Only a removal is held back: a locked version or file put in place is what the lock asks of its environment.
    extras = any(d.what == "extra" and d.area == "python" and d.severity == MISMATCH for d in report.differences)
    own = _envsnap_runs_on(python) if extras else frozenset()
    diffs = [
        _spared(d, own) if _touches(d, own) else _remedied(d, locked, installed, python, uv_only, uv, wheels, project)
        for d in report.differences
    ]
    return dataclasses.replace(report, differences=tuple(diffs))


def _envsnap_runs_on(python: str) -> frozenset[str]:
    """The distributions envsnap runs on (``envsnap-lock`` and what it requires, all the way down, whatever the
    markers and extras), where ``python`` is an interpreter of the environment envsnap itself runs in (its venv
    activated, a lock of another environment verified); none for any other environment."""
    try:
        prefix = os.path.dirname(os.path.dirname(os.path.abspath(python)))
        if not os.path.samefile(prefix, sys.prefix):
            return frozenset()
    except (OSError, ValueError):
        return frozenset()
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = ["envsnap-lock"]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for line in requires:
            with contextlib.suppress(InvalidRequirement):
                todo.append(Requirement(line).name)
    return frozenset(seen)


def _touches(d: Difference, own: frozenset[str]) -> bool:
    """Whether the remedy of ``d`` would remove a distribution of ``own`` (uninstall a package beyond the lock)."""
    from packaging.utils import canonicalize_name

    if not own or d.severity != MISMATCH or d.area != "python" or d.what != "extra":
        return False
    return any(canonicalize_name(name) in own for name in d.subject.split(", "))


def _spared(d: Difference, own: frozenset[str]) -> Difference:
    """``d`` without a remedy, saying why: pasted, it removed what envsnap runs on from its own environment
    (``uv pip uninstall ... jinja2``), and envsnap no longer started."""
    why = "envsnap runs in this environment and needs it: no remedy; verify the lock's environment with --python PATH"
    return dataclasses.replace(d, remedy="", note=f"{d.note}; {why}" if d.note else why)


def with_rebuild_remedy(
    report: VerifyReport,
    lock: Snapshot,
    actual: Snapshot,
    lock_named: str | None,
    prefix: str | None,
    *,
    project: str | None = None,
) -> VerifyReport:
    """``report`` with, on each mismatch of what conda installed that has no remedy (a conda record, a Python
    package of the conda layer: no pip or uv command installs the locked one), the command that makes the locked
    conda environment again: ``envsnap rebuild LOCK --target conda`` into a new prefix beside the verified one
    ``prefix`` (the rebuild makes none over a prefix that is not empty), from the archives the lock pins by hash.
    None where the lock is not named (given as a Snapshot), holds no conda environment, or the target is none."""
    from .. import sinks
    from ..grammar import GrammarError

    if lock.conda is None or not lock_named or not prefix or lock_named.startswith("-"):
        return report
    conda = {p.name for snap in (lock, actual) for p in snap.python.packages if p.conda_layer}

    def conda_layers(d: Difference) -> bool:
        return d.area == "conda" or (d.area == "python" and any(n in conda for n in d.subject.split(", ")))

    if not any(d.severity == MISMATCH and not d.remedy and conda_layers(d) for d in report.differences):
        return report
    new = os.path.normpath(prefix) + "-locked"
    argv = ["envsnap", "rebuild", lock_named, "--target", "conda", "--prefix", new]
    for pattern in _channel_allowances(lock, project):
        argv += ["--allow-url", pattern]
    try:
        command = " ".join(sinks.shell_word(word) for word in argv)
    except GrammarError:  # a control character in a path: no command shown
        return report
    remedy = f"rebuild the locked conda environment, in a new prefix: {command}"
    diffs = [
        dataclasses.replace(d, remedy=remedy) if d.severity == MISMATCH and not d.remedy and conda_layers(d) else d
        for d in report.differences
    ]
    return dataclasses.replace(report, differences=tuple(diffs))


def _channel_allowances(lock: Snapshot, project: str | None) -> list[str]:
    """The ``--allow-url`` patterns the conda rebuild needs for the lock's archives: a local channel's
    (``file://``) is refused without one (``a local path, not https``), so a remedy without them failed, exit 2.
    One ``DIR/*`` per folder of an archive that is on this machine and the fetch policy refuses, as ``pin`` names
    a local wheel's: a path a lock names that is not here is made into no pattern (docs/security.md). Asked of the
    URL the rebuild reads (``{project}`` and ``~`` placed here) under the user's ``$ENVSNAP_ALLOW_URL``; remote
    URLs are not looked up (the policy decides them when the rebuild fetches)."""
    from .._fetchpolicy import FetchPolicy, allowances, folder_allowance
    from .._localurls import here
    from ..errors import EnvsnapError

    if lock.conda is None:
        return []
    policy = FetchPolicy(allowances())
    folders: list[str] = []
    for pkg in lock.conda.packages:
        try:
            url = here(pkg.url, Path(project) if project else None)
        except EnvsnapError:
            continue  # names no place here: the rebuild says why
        local = fileurls.local_path(url)
        if local is None or not local.is_absolute() or not local.is_file() or policy.refusal(url) is None:
            continue
        folder = folder_allowance(local)
        if folder not in folders:
            folders.append(folder)
    return sorted(folders)


def _remedied(
    d: Difference,
    locked: Mapping[str, PythonPackage],
    installed: Mapping[str, PythonPackage],
    python: str,
    uv_only: bool = False,
    uv_program: str = "uv",
    wheels: str | None = None,
    project: Path | None = None,
) -> Difference:
    from .. import sinks
    from ..grammar import GrammarError

    if d.severity != MISMATCH or d.area != "python" or d.what not in _REMEDY_WORDS or d.remedy:
        return d
    names = d.subject.split(", ")  # the owners of files that differ: every one named
    said = ""
    try:
        if d.what == "extra":
            have = installed.get(d.subject)
            if have is None or have.conda_layer:
                return d
            uv = have.installer == "uv" or uv_only
            argv = [uv_program, "pip", "uninstall", "--python", python, have.name] if uv else [python, "-m", "pip"]
            argv += [] if uv else ["uninstall", "-y", have.name]
        else:
            wants = [locked.get(name) for name in names]
            pins = [_pip_requirement(w) if w is not None else "" for w in wants]
            if not all(pins):
                return d
            by = installed.get(names[0]) or locked[names[0]]
            bundled = [w for w in wants if w is not None and _bundled_wheel(w, wheels)]
            folders = [_local_find_links(w, project) if w is not None else None for w in wants]
            if wheels is not None and len(bundled) == len(wants):  # the bundle's own files, offline
                pins = ["--no-index", "--find-links", wheels, *pins]
            elif all(folders):
                # A local find-links folder's files, offline: from the folder where it holds them here, else DIR.
                found = [f for f in folders if f is not None]
                here = list(dict.fromkeys(folder for folder, _ in found if folder))
                gone = [f for f in found if not f[0]]
                if gone:
                    here.append("DIR")
                    files = ", ".join(dict.fromkeys(file for _, (file, _) in gone))
                    places = ", ".join(dict.fromkeys(place for _, (_, place) in gone))
                    said = f" (DIR: the find-links folder that holds {files}; the lock names {places})"
                pins = ["--no-index", *[word for folder in here for word in ("--find-links", folder)], *pins]
            else:
                pins = [*_index_options(w for w in wants if w is not None), *pins]
            if by.installer == "uv" or uv_only:
                reinstall = [word for name in names for word in ("--reinstall-package", name)]
                # uv hard-links installed files from its cache: an edit made there edited the cached copy too, which
                # a reinstall from the cache gives again.
                fresh = ["--no-cache"] if d.what in ("files", "record_digest") else []
                argv = [uv_program, "pip", "install", "--python", python, "--no-deps", *fresh, *reinstall, *pins]
            else:
                argv = [python, "-m", "pip", "install", "--force-reinstall", "--no-deps", *pins]
        command = " ".join(sinks.shell_word(word) for word in argv)
    except GrammarError:  # a control character in the interpreter's path or the lock's values: no command shown
        return d
    return dataclasses.replace(d, remedy=f"{_REMEDY_WORDS[d.what]}{said}: {command}")


def _local_find_links(pkg: PythonPackage, project: Path | None) -> tuple[str, tuple[str, str]] | None:
    """Where the index package ``pkg``'s locked file is in a local find-links folder the lock records (a pin's
    ``file:///srv/wheels``, an import's ``file://{project}/wheels``), which no index serves: ``(FOLDER, (FILE,
    WHY))``, FOLDER the folder here that holds a file of the lock's sha256; "" where none does (not on this machine,
    ``{project}`` not known, another file there), with FILE, the file's name as the lock gives it, and WHY, the folder
    as the lock names it, one shell word, and why it is not that folder here. None where the lock names no such
    folder for it (an index's file, a capture's, which knows none). The folder here is named only where it holds the
    locked file: a stranger's lock names any folder, and the command installs from it on the lock's word."""
    from .._localurls import local_dir
    from .._prehash import sha256_file
    from ..errors import EnvsnapError
    from ..sinks import path_shown, place_shown

    if pkg.source.kind != "index":
        return None
    art = pkg.artifact
    places = [(location, url) for location, url in interchange.file_places(pkg) if location]
    local = [
        (location, url)
        for location, url in places
        if interchange.is_find_links(location, url) and (location.startswith(("file:", "/")) or "://" not in location)
    ]
    if not local or len(local) != len(places):
        return None
    wanted = {art.sha256} if art is not None else set(interchange.candidate_hashes(pkg))
    named = art.filename if art is not None and art.filename else ""
    other = ""  # a folder here that holds no locked file
    for location, _url in local:
        try:
            folder = local_dir(location, project) if location.startswith("file:") else Path(location)
        except EnvsnapError:
            continue
        if not folder.is_absolute() or not folder.is_dir():
            continue
        files = [folder / named] if named else _release_files(folder, pkg)
        with contextlib.suppress(OSError):
            if any(f.is_file() and sha256_file(f) in wanted for f in files):
                return str(folder), ("", "")
        other = other or path_shown(str(folder))
    location = local[0][0]
    place = place_shown(location) if location.startswith("file:") else path_shown(location)
    why = f"{place}, where {other} holds no file of its sha256" if other else f"{place}, not found here"
    return "", (named or f"{pkg.name} {pkg.version}", why)


def _release_files(folder: Path, pkg: PythonPackage) -> list[Path]:
    """The files of ``folder`` that may be ``pkg``'s release (a wheel or sdist named ``NAME-VERSION...``, the name
    as either spelling), at most 64: an import that knows its files by their hashes alone knows no file name."""
    from packaging.utils import canonicalize_name

    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    name = canonicalize_name(pkg.name)
    found = []
    for entry in names:
        head, sep, _ = entry.partition(f"-{pkg.version}")
        if sep and canonicalize_name(head) == name:
            found.append(folder / entry)
    return found[:64]


def _index_options(pkgs: Iterable[PythonPackage]) -> list[str]:
    """``--index-url`` (then ``--extra-index-url``) and ``--find-links`` for the indexes and folders the locked files
    were pinned from (``envsnap pin`` records them) or an import found them on (``interchange.file_places``), so
    that a local version (``torch==2.4.0+cu121``) is looked for where it is served. None for the default index, a
    folder under a label only envsnap resolves, or a package whose index the lock does not know (a capture's: the
    one pip and uv are configured with). Only an https location on another host than this machine: a lock is a
    stranger's, and the command installs what is served there without the lock's hash (the fetch policy fetches no
    local path, http URL or localhost on a lock's word either, docs/security.md); a local folder is left to the
    user's own configuration."""
    from urllib.parse import urlsplit

    out: list[str] = []
    for pkg in pkgs:
        if pkg.source.kind != "index":
            continue
        # Its pinned file's location, or those of the files an import knows it by (a hashed requirement's --hash
        # per wheel): the remedy named no index for an imported torch==2.4.0+cu121, which the default one lacks.
        for location, url in interchange.file_places(pkg):
            index = location.rstrip("/")
            if not index or index == interchange.PYPI_SIMPLE or fileurls.is_labelled(index):
                continue
            parts = urlsplit(index)
            host = (parts.hostname or "").rstrip(".").lower()
            if parts.scheme != "https" or not host or host == "localhost" or host.endswith(".localhost"):
                continue
            if interchange.is_find_links(location, url):
                option = "--find-links"
            else:
                option = "--extra-index-url" if "--index-url" in out else "--index-url"
            if index not in out:
                out += [option, index]
    return out


def _bundled_wheel(pkg: PythonPackage, wheels: str | None) -> bool:
    """Whether the folder ``wheels`` (a bundle's, checked against its SHA256SUMS and lock) holds the locked wheel of
    the index package ``pkg``, the file its pin installs from there."""
    artifact = pkg.artifact
    if wheels is None or pkg.source.kind != "index" or artifact is None or not artifact.filename.endswith(".whl"):
        return False
    return os.path.isfile(os.path.join(wheels, artifact.filename))


def _pip_requirement(pkg: PythonPackage) -> str:
    """``pkg`` as the requirement pip and uv install its locked files from, "" where there is none to give: a pin
    of an index package, a URL of an archive, a commit of a VCS checkout; not an editable or a folder's install,
    a ``file:`` URL under a label only envsnap resolves, a legacy version, a conda package's distribution."""
    from .. import sinks
    from ..purls import hashed_url, pip_vcs_url

    source = pkg.source
    if pkg.conda_layer or pkg.legacy_version or not pkg.version or source.editable:
        return ""
    if source.kind == "index":
        return f"{sinks.requirement_name(pkg.name)}=={sinks.requirement_version(pkg.version)}"
    if source.kind not in ("archive", "vcs") or fileurls.is_labelled(source.url):
        return ""
    if source.kind == "vcs":
        return f"{sinks.requirement_name(pkg.name)} @ {pip_vcs_url(source)}"
    # The archive by the lock's hash alone, which pip checks in the fragment: a hash of the URL's own is any file's.
    folder = sinks.requirement_fragment(source.subdirectory) if source.subdirectory else ""
    base, fragment = hashed_url(source.url, *source.archive_digest, folder)
    return f"{sinks.requirement_name(pkg.name)} @ {base}{fragment}"


def _unreadable_said(report: VerifyReport, captured: Captured) -> VerifyReport:
    """``report`` with each locked package not found that has a ``.dist-info`` (or ``.egg-info``) the capture could
    not read saying so (the probe's ``broken-dist`` warnings, shown as the capture shows them): its files may well
    import, and "not installed" alone sent the user looking for them."""
    from packaging.utils import canonicalize_name

    from .._privacy import PathRedactor

    redact = captured.redact if captured.redact is not None else PathRedactor()
    broken: dict[str, str] = {}
    for warning in captured.python.warnings:
        folder = os.path.basename(warning.path)
        if warning.kind == "broken-dist" and folder.endswith((".dist-info", ".egg-info")) and "-" in folder:
            broken.setdefault(
                canonicalize_name(folder.split("-", 1)[0]),
                f"its {redact.path(warning.path)} is there, unreadable: {redact.text(warning.reason)}",
            )
    if not broken:
        return report
    diffs = [
        dataclasses.replace(d, note=broken[d.subject])
        if d.area == "python" and d.what == "missing" and not d.note and d.subject in broken
        else d
        for d in report.differences
    ]
    return dataclasses.replace(report, differences=tuple(diffs))


def _editable_folders_gone(
    lock: Snapshot, captured: Captured, actual: Snapshot, project: str | None = None
) -> list[Difference]:
    """A mismatch for each package the lock installs editable whose folder is gone now (moved or deleted after
    ``pip install -e``): nothing of it imports, though its ``.dist-info`` and RECORD (its ``.pth`` hook) are as they
    were, so nothing else differs. The folder named is the one the install reads (as ``actual`` records it), where
    it is not the lock's: a project moved after ``pip install -e .`` was said as ``file://{project} is gone``, the
    lock's label for the folder it was moved to, which is there; the command that installs it as locked names that
    folder, read here (``project``, else the work tree verify runs in), as the warning of a regular install does."""
    from packaging.utils import canonicalize_name

    from .._localurls import editable_folder_shown
    from ..probes.python import editable_folder_gone, editable_gone_note
    from ..sinks import editable_install

    wanted = {p.name: p for p in lock.python.packages if p.source.editable}
    have = {p.name: p.source for p in actual.python.packages}
    out = []
    for raw in captured.python.packages:
        want = wanted.get(canonicalize_name(raw.name))
        if want is None or not editable_folder_gone(raw):
            continue
        source = have.get(want.name, want.source)
        named = source if source.kind == want.source.kind else want.source
        note = editable_gone_note(named)
        places: tuple[Place, ...] = (Place("url", named.url),)
        if source.kind == want.source.kind and source.url != want.source.url:
            root = project or captured.project_root
            folder = editable_folder_shown(want, Path(root) if root else None)
            command = editable_install("pip install", want.source.url, folder)
            note += f" (the lock installs it from {want.source.url}: {command} installs it as locked)"
            places += (Place("url", want.source.url),)
        out.append(Difference(MISMATCH, "python", want.name, "editable", note=note, places=places))
    return out


def _editable_elsewhere(lock: Snapshot, captured: Captured, project: str | None = None) -> list[Difference]:
    """A mismatch for each package the lock installs editable from a folder (``file://{project}``, ``file://~/src/
    mylib``, an absolute path) whose install reads its code from another folder that is there: a clone of the
    project installed with ``pip install -e ../proj-other`` and verified in the project was identical, though
    nothing of the project imports. ``{project}`` is ``project`` where given (``--project``, the work tree around
    the lock's folder), else read as every command reads it, the git work tree around the working directory (a
    lock verified in a clone of its project, installed editable there, is the same); ``~`` as the home. A label
    with nothing to read it from here (``{project}`` outside any work tree, the lock's folder in none either) is a
    warning saying so and what to give: it was not judged, and ``identical`` said nothing of it. A folder that is
    gone is ``_editable_folders_gone``'s. The paths are compared as text: no folder the lock names is read."""
    from packaging.utils import canonicalize_name

    from ..fileurls import PROJECT
    from ..probes.python import editable_folder, editable_folder_gone
    from ..sinks import editable_install, shell_shown

    wanted = {p.name: p for p in lock.python.packages if p.source.kind == "directory" and p.source.editable}
    redact = captured.redact
    if not wanted or redact is None:
        return []
    root = project or captured.project_root
    out, seen = [], set()
    for raw in captured.python.packages:
        name = canonicalize_name(raw.name)
        want = wanted.get(name)
        if want is None or name in seen:
            continue
        seen.add(name)  # the first one found is the one imports see
        folder = editable_folder(raw)
        if not folder or not _installed_editable(raw) or editable_folder_gone(raw):
            continue
        locked = subfolder_url(want.source.url, want.source.subdirectory.strip("/")).rstrip("/")
        here = redact.local(folder)
        where = _folder_of(locked, captured, root)
        labelled = locked == f"file://{PROJECT}" or locked.startswith(f"file://{PROJECT}/")
        if where is None and labelled and not root:
            # {project} names no folder here: said, not passed over as identical; in a work tree git refuses (another
            # user's), that refusal, where "verify runs in no git work tree" was said of the project's own checkout.
            refusal = _refused_here("{project} names no folder here")
            note = (
                f"not judged: {refusal}, or give --project DIR"
                if refusal
                else "not judged: {project} names no folder here (verify runs in no git work tree, and the lock's "
                "folder is in none): run verify inside the project, or give --project DIR"
            )
            found = Difference(WARNING, "python", want.name, "source", f"editable {locked}", f"editable {here}", note)
            out.append(found)
            continue
        if where is None or where in (_folder_of(here, captured, root), os.path.normpath(folder)):
            continue
        note = (
            "the install reads its code from another folder than the one the lock installs editable"
            + (f" ({{project}}: {_project_said(project, captured)})" if labelled else "")
            + f": {editable_install('pip install', locked, shell_shown([where]))} installs it as locked"
        )
        out.append(Difference(MISMATCH, "python", want.name, "source", f"editable {locked}", f"editable {here}", note))
    return out


def _project_said(project: str | None, captured: Captured) -> str:
    """How ``{project}`` was read, for a note: the work tree verify runs in, or the folder given or found."""
    if project is None or project == captured.project_root:
        return "the git work tree verify runs in"
    return f"read as {project}"


def _installed_editable(raw: RawPackage) -> bool:
    """Whether ``raw`` is an editable install: its ``direct_url.json`` says so, or a legacy one (an ``.egg-link``)."""
    direct = raw.direct_url
    dir_info = direct.get("dir_info") if isinstance(direct, dict) else None
    return (isinstance(dir_info, dict) and dir_info.get("editable") is True) or (direct is None and bool(raw.egg_link))


def _refused_here(what: str) -> str | None:
    """git's refusal of the work tree the working directory lies in as another user's (``gitstate.refused``)."""
    from ..probes.gitstate import refused

    try:
        here = os.getcwd()
    except OSError:  # removed from under the process
        return None
    return refused(here, what)


def _folder_of(url: str, captured: Captured, project: str | None = None) -> str | None:
    """The local folder a recorded ``file:`` URL names on this machine, its label read here (``{project}``:
    ``project``, else the work tree around the working directory; ``~``: the home; ``{prefix}``: the
    environment's), as text; None where it is no ``file:`` URL or its label names nothing here."""
    from ..fileurls import HOME, PREFIX, PROJECT, decoded_path, is_file_url

    if not is_file_url(url):
        return None
    path = decoded_path(url)
    roots = {PROJECT: project or captured.project_root, HOME: os.path.expanduser("~"), PREFIX: captured.python.prefix}
    for label, root in roots.items():
        if path == label or path.startswith(label + "/"):
            if not root or root == label:
                return None
            path = root + path[len(label) :]
            break
    return os.path.normpath(path) if os.path.isabs(path) else None


def _files_gone(lock: Snapshot, captured: Captured, found: list[Difference]) -> list[Difference]:
    """``found`` (``--files``'s mismatches) and a mismatch for each locked package whose ``.dist-info`` is there and
    files under some of the names its RECORD lists are not (``probes.python.files_gone_note``): its RECORD, and so
    its digest, is as it was, and nothing else differs. One stat per name: ``--files`` hashes every file. A legacy
    ``.egg-info`` (no RECORD) the same, by its ``installed-files.txt`` or ``top_level.txt``.

    Each package is said once: where ``--files`` found its files missing too, that line stays, and says, when all
    of them are gone, that nothing of it imports (in place of the first few files it lists)."""
    from packaging.utils import canonicalize_name

    from ..probes.python import files_gone_note

    locked = {p.name for p in lock.python.packages}
    listed = {d.subject: i for i, d in enumerate(found) if d.area == "python" and d.what == "files"}
    out = list(found)
    for raw in captured.python.packages:
        name, note = canonicalize_name(raw.name), files_gone_note(raw)
        if not note or name not in locked:
            continue
        index = listed.get(name)  # its own files alone (several owners are named together)
        if index is None:
            out.append(Difference(MISMATCH, "python", name, "installed", note=note))
        elif len(raw.missing_top_level) >= raw.top_level_listed:
            out[index] = dataclasses.replace(out[index], note=note)
    return out


def _pth_folder_changes(lock: Snapshot, actual: Snapshot) -> list[Difference]:
    """A warning for each folder a ``.pth`` file puts on ``sys.path`` that holds no distribution (what capture warns
    of) where the lock's ``python.pth_folders`` and the verified environment's differ: one here that the lock does
    not record (a ``.pth`` added since the capture changed what imports, and nothing else differed), then one the
    lock records that no ``.pth`` here puts there (the lock's environment imported modules from it that this one
    cannot: a rebuild leaves them out). One the lock records is as captured (capture warned of it then): nothing is
    said. Both sides as the lock shows them (redacted): the capture just made read them (``probes.python``); no path
    is made from the lock."""
    from .. import grammar
    from ..probes.python import pth_folder_said

    recorded = {entry.folder for entry in lock.python.pth_folders}
    here = {entry.folder for entry in actual.python.pth_folders}
    added = [
        Difference(
            WARNING,
            "python",
            ".pth",
            "imports",
            note=pth_folder_said(entry.pth, entry.folder),
            places=_pth_places(("pth", entry.pth), ("folder", entry.folder)),
        )
        for entry in actual.python.pth_folders
        if entry.folder not in recorded
    ]
    gone = [
        Difference(
            WARNING,
            "python",
            ".pth",
            "imports",
            note=grammar.strip_control(
                f"the lock's environment had {entry.folder} on sys.path (from {entry.pth}), and no .pth file here "
                "puts it there: the modules imported from it are not in the lock, and cannot be imported here"
            ),
            places=_pth_places(("folder", entry.folder), ("pth", entry.pth)),
        )
        for entry in lock.python.pth_folders
        if entry.folder not in here
    ]
    return [*added, *gone, *_pth_folders_changed(lock, actual)]


def _pth_folders_changed(lock: Snapshot, actual: Snapshot) -> list[Difference]:
    """A mismatch for each folder the lock's ``python.pth_folders`` records with its digest whose module files here
    differ (``probes.python.pth_folder_digest``): a module edited there changes what ``import`` reads, and verify
    compared the folder's path alone. A warning where the folder here has none (over the limits, or not listed),
    whether the lock has one or not: it is not checked, and a capture over the limits, which recorded none, let its
    drift pass unsaid. A lock without the digest of a folder that has one here (older) is compared by path, and an
    info line says its modules are not checked: it said nothing, as if they were (not a warning: the lock is as it
    was written, and ``--strict`` of every older lock would fail)."""
    from .. import grammar
    from ..probes.python import PTH_UNCHECKED

    here = {entry.folder: entry for entry in actual.python.pth_folders}
    out = []
    for entry in lock.python.pth_folders:
        found = here.get(entry.folder)
        if found is None or (found.digest and found.digest == entry.digest):
            continue
        said = f"the modules in {entry.folder} (from {entry.pth})"
        places = _pth_places(("folder", entry.folder), ("pth", entry.pth))
        if found.digest and not entry.digest:
            note = f"{said} {PTH_NOT_RECORDED}"
            out.append(Difference(INFO, "python", ".pth", "imports", note=grammar.strip_control(note), places=places))
        elif found.digest:
            changed, first = _pth_files_changed(entry, found)
            note = f"{said} differ from the capture's: {changed}"
            places += _pth_places(("file", first)) if first else ()
            out.append(
                Difference(MISMATCH, "python", ".pth", "imports", note=grammar.strip_control(note), places=places)
            )
        else:
            note = f"{said} {PTH_UNCHECKED}"
            out.append(
                Difference(WARNING, "python", ".pth", "imports", note=grammar.strip_control(note), places=places)
            )
    return out


PTH_NOT_RECORDED = (
    "are not checked: the lock records no digest of them (written before envsnap recorded one); capture again to "
    "record one"
)
PTH_SAME = "the folder's .py and extension module files (names, sizes, sha256) are not those the lock records"


def _pth_places(*places: tuple[str, str]) -> tuple[Place, ...]:
    """The places a ``.pth`` note names (``verdict.Place``), as the note writes them (control characters replaced,
    as ``grammar.strip_control`` replaces them in the note)."""
    from .. import grammar

    return tuple(Place(kind, grammar.strip_control(path)) for kind, path in places)


def _pth_files_changed(recorded: PthFolder, here: PthFolder) -> tuple[str, str]:
    """How many of a ``.pth`` folder's module files changed since the capture and the first of them, sorted by path
    (``2 module files changed, the first pkg/__init__.py (modified)``), from the lock's ``files`` where they give
    its digest (the lock is untrusted: another list would name a file that did not change); ``PTH_SAME`` where the
    lock lists none (older, or a name it does not take) or the folder here none. With the file it names ("" for
    none)."""
    from ..probes.python import pth_listing_digest

    if not (recorded.files and here.files) or pth_listing_digest(recorded.files) != recorded.digest:
        return PTH_SAME, ""
    was = {e.rsplit(" ", 2)[0]: e for e in recorded.files}
    now = {e.rsplit(" ", 2)[0]: e for e in here.files}
    changed = sorted(path for path in was.keys() | now.keys() if was.get(path) != now.get(path))
    if not changed:
        return PTH_SAME, ""
    first = changed[0]
    how = "added" if first not in was else "removed" if first not in now else "modified"
    count = f"{len(changed)} module file{'s' if len(changed) > 1 else ''} changed"
    return f"{count}, the first {first} ({how})", first


def _pythonpath_ahead(lock: Snapshot, environ: Mapping[str, str], captured: Captured | None) -> list[Difference]:
    """A warning for each ``PYTHONPATH`` folder holding distributions that import ahead of the environment's and
    differ from the lock's (``probes.python.pythonpath_ahead``, what capture warns of): the packages are read with
    ``python -E``, so with the PYTHONPATH the capture had, nothing else differs, and verify said identical with no
    warning while imports in that shell read another version."""
    if not environ.get("PYTHONPATH"):
        return []
    from .._privacy import PathRedactor
    from ..probes.python import pythonpath_ahead

    redact = captured.redact if captured is not None and captured.redact is not None else PathRedactor()
    return [
        Difference(
            WARNING,
            "python",
            "PYTHONPATH",
            "imports",
            note=f"{folder} holds distributions that import ahead of the environment's: {listed}; imports with this "
            "PYTHONPATH read them, verify compared the environment without it",
            places=(Place("folder", folder),),
        )
        for folder, listed in pythonpath_ahead(environ, lock.python.packages, redact)
    ]


def _file_differences(changed: Mapping[str, Mapping[str, list[str]]], captured: Captured | None) -> list[Difference]:
    """``--files``'s findings: the pip check's (``changed``: each distribution's files against its RECORD, a path
    several RECORDs list against all of them, ``_pyprobe.changed_files``) and,
    in a conda environment, each conda package's files against its conda-meta record, a path a pip RECORD lists
    too judged against both. Each file is said once, with every owner that lists it: one mismatch per set of
    owners (a distribution, a conda package, or the owners of a shared file)."""
    if not changed and captured is None:  # no --files: nothing to say, and the conda probe is not imported
        return []
    from ..probes import conda

    result = captured.results.get("conda") if captured is not None else None
    layer = result.value if result is not None and isinstance(result.value, conda.CondaLayer) else None
    raw = captured.python.packages if captured is not None else ()
    sites = {p.name: os.path.realpath(p.site_dir) for p in raw if p.site_dir}
    found = conda.CondaFiles({})
    root = ""
    if layer is not None:
        pip, installed = conda.pip_files(layer.prefix, raw)
        found = conda.changed_files(layer.prefix, pip, installed)
        root = os.path.realpath(layer.prefix)
    # Each file once, by where it is: its state, its pip and its conda owners, and how it is shown.
    files: dict[str, tuple[str, set[str], set[str], str]] = {}
    for name, lists in changed.items():
        for state, entries in lists.items():
            for entry in entries:
                where = os.path.normpath(os.path.join(sites[name], entry)) if name in sites else f"{name}:{entry}"
                if root and os.path.relpath(where, root).replace(os.sep, "/") in found.shared:
                    continue  # judged below, against its conda owners too
                files.setdefault(where, (state, set(), set(), entry))[1].add(name)
    modified = [where for where, (state, *_rest) in files.items() if state == "modified" and where.startswith("/")]
    if modified:
        from ..probes.hostlibs import PackageDatabase

        for where in PackageDatabase().as_installed(modified):  # a python3-* package, stripped after its RECORD
            del files[where]
    for path, finding in found.changed.items():
        where = os.path.join(root, path)
        owner = finding.pip[0] if finding.pip else ""
        shown = os.path.relpath(where, sites[owner]).replace(os.sep, "/") if owner in sites else path
        files[where] = (finding.state, set(finding.pip), set(finding.conda), shown)
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], dict[str, list[str]]] = {}
    for state, pips, condas, shown in files.values():
        groups.setdefault((tuple(sorted(pips)), tuple(sorted(condas))), {"modified": [], "missing": []})[state].append(
            shown
        )
    out = [_changed_files(pips, condas, lists) for (pips, condas), lists in groups.items()]
    # Named by the installer its INSTALLER file records (uv's install read "pip installed ..."): pip or uv only.
    by = {f"{p.name} {p.version}": "uv" if p.installer == "uv" else "pip" for p in raw}
    out += [
        _replaced_by_pip(name, dist, missing, by.get(dist, "pip"))
        for name, (dist, missing) in found.replaced.items()
        if missing
    ]
    return out


def _replaced_by_pip(name: str, dist: str, missing: int, installer: str = "pip") -> Difference:
    """Info: a conda package whose Python distribution a pip (or uv) install replaced; the files it removed are not
    looked for."""
    files = f"its {missing} file{'s' if missing != 1 else ''} {installer} removed are not looked for"
    note = f"{installer} installed {dist} over this conda package: {files}"
    return Difference(INFO, "conda", name, "files", note=note)


def _and(names: list[str]) -> str:
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]


def _changed_files(pips: tuple[str, ...], condas: tuple[str, ...], found: Mapping[str, list[str]]) -> Difference:
    """One mismatch per owner set whose files on disk are none of its owners' copies: a distribution's (its
    RECORD), a conda package's (its conda-meta record), or a shared file's owners, each named."""
    parts = [f"{len(found[k])} {k}" for k in ("modified", "missing") if found.get(k)]
    listed = [*sorted(found.get("modified", [])), *sorted(found.get("missing", []))]
    shown = first_few(listed, 5)
    names = list(dict.fromkeys([*pips, *condas]))
    if len(pips) + len(condas) == 1:
        lists = "as its RECORD lists them" if pips else "as its conda-meta record lists them"
    elif len(names) == 1:  # a pip distribution over the conda package of its name
        lists = "as its RECORD and its conda-meta record list them"
    else:
        kinds = [
            f"the RECORD{'s' if len(pips) > 1 else ''} of {_and(list(pips))}" if pips else "",
            f"the conda-meta record{'s' if len(condas) > 1 else ''} of {_and(list(condas))}" if condas else "",
        ]
        lists = f"as {' and '.join(k for k in kinds if k)} list them"
    area = "python" if pips else "conda"
    return Difference(MISMATCH, area, ", ".join(names), "files", lists, ", ".join(parts), note=shown)


def reads_checkouts(lock: Snapshot) -> bool:
    """Whether verify reads a git checkout for this lock: a package it installs editable from a git commit
    (``_editable_checkouts``), whose state no file of the environment stamps (the verify memo keeps no report)."""
    from ..probes.python import reads_checkouts as editable_git

    return editable_git(lock.python.packages)


def _editable_git(pkg: PythonPackage) -> bool:
    return pkg.source.kind == "vcs" and pkg.source.editable and pkg.source.vcs == "git"


def _editable_checkouts(lock: Snapshot, actual: Snapshot, captured: Captured) -> tuple[Snapshot, list[Difference]]:
    """``actual`` with each package the lock installs editable from a git commit, and pip installed as an editable
    folder, recorded as the checkout that folder is: pip clones ``-e git+URL@COMMIT#egg=NAME&subdirectory=DIR``
    into ``src/NAME`` and records the folder, not the commit, so the source read "git+URL@COMMIT -> editable
    file://{prefix}/src/NAME/DIR", a mismatch, for the environment pip made of the line. The checkout's ``HEAD``
    and the folder's place in it are compared as the lock's commit and subdirectory are; a tracked file edited
    there is a warning (the code is not the commit's). A folder in no git work tree stays a folder: a mismatch."""
    from packaging.utils import canonicalize_name

    from ..model import Source
    from ..probes import gitstate
    from ..probes.python import editable_folder

    wanted = {p.name: p for p in lock.python.packages if _editable_git(p)}
    raw: dict[str, Any] = {canonicalize_name(r.name): r for r in captured.python.packages}
    packages: list[PythonPackage] = []
    edited: list[Difference] = []
    for have in actual.python.packages:
        want, found = wanted.get(have.name), None
        folder = editable_folder(raw[have.name]) if want and have.name in raw else ""
        if want and have.source.kind in ("directory", "vcs") and have.source.editable and folder:
            found = gitstate.checkout(folder)
        if want is None or found is None:
            packages.append(have)
            continue
        root, commit, dirty = found
        sub = os.path.relpath(os.path.realpath(folder), os.path.realpath(root)).replace(os.sep, "/")
        sub = "" if sub == "." else sub
        if have.source.kind == "vcs":  # the capture read the checkout already (probes.python._editable_checkout)
            where = have.source.url
            packages.append(have)
        else:
            where = have.source.url.rstrip("/")
            where = where[: -len(sub) - 1] if sub and where.endswith("/" + sub) else where
            source = Source(kind="vcs", url=where, vcs="git", commit_id=commit, subdirectory=sub, editable=True)
            packages.append(dataclasses.replace(have, source=source))
        if dirty and commit == want.source.commit_id and sub == want.source.subdirectory:
            now = source_text(packages[-1]) + UNCOMMITTED
            note = "its editable checkout has uncommitted changes to tracked files: its code is not the locked commit's"
            edited.append(Difference(WARNING, "python", have.name, "source", source_text(want), now, note))
    python = dataclasses.replace(actual.python, packages=tuple(packages))
    return dataclasses.replace(actual, python=python), edited


def compare(lock: Snapshot, actual: Snapshot, *, target: str = "") -> VerifyReport:
    """The differences between a lock and a captured environment, most consequential first."""
    interpreter = compare_interpreter(lock.python, actual.python)
    diffs = [
        *package_differences(lock, actual, interpreter),
        *interpreter,
        *broken_requirements(lock.python.packages, actual),
        *_compare_conda(lock, actual),
        *_compare_platform(lock, actual),
        *_compare_system(lock, actual),
        *_compare_gpu(lock, actual),
        *_compare_hardware(lock, actual),
        *_compare_environment(lock, actual),
    ]
    diffs = _another_machine(lock, actual, diffs)
    if lock.envsnap.unknown:
        diffs = [_unrecorded(lock, d) for d in diffs]
    return VerifyReport(
        lock=lock.envsnap.content_digest,
        target=target,
        packages_checked=len(lock.python.packages),
        differences=ordered(diffs),
        conda_checked=len(lock.conda.packages) if lock.conda is not None and actual.conda is not None else 0,
    )


def _another_machine(lock: Snapshot, actual: Snapshot, diffs: list[Difference]) -> list[Difference]:
    """An environment verified on another machine than the lock's (an aarch64 lock, the same packages installed on
    x86_64): every binary wheel differs for that one reason, and a mismatch each hid it, the machine itself a
    warning. Where wheels built for the lock's machine alone differ, the machine is the one root mismatch, and the
    interpreter's platform tag and those wheels (one difference naming them) follow from it."""
    want, have = lock.platform.machine, actual.platform.machine
    if not want or not have or machine(want) == machine(have):
        return diffs
    from ..wheeltags import built_for_machine_alone  # packaging's tags: only for an environment of another machine

    arch, here = machine(want), machine(have)
    built = {p.name for p in lock.python.packages if built_for_machine_alone(p, arch)}
    moved = [
        d for d in diffs if d.area == "python" and d.what in ("wheel_tags", "record_digest") and d.subject in built
    ]
    if not moved:
        return diffs  # nothing of the Python layer differs for it (pure-Python wheels): the machine stays a warning
    cause = f"machine {arch} -> {here}"
    out = []
    for d in diffs:
        if d in moved:
            continue
        if d.area == "platform" and d.what == "machine":
            note = (
                f"the locked wheels are built for {arch}: verify on {with_article(arch)} host, or capture the "
                "environment anew on this one"
            )
            d = dataclasses.replace(d, severity=MISMATCH, note=note)
        elif d.area == "interpreter" and d.what == "platform_tag":
            d = dataclasses.replace(d, cause=cause)
        out.append(d)
    names = sorted({d.subject for d in moved})
    out.append(
        Difference(
            MISMATCH,
            "python",
            f"{len(names)} wheels",
            "wheel_tags",
            f"built for {arch}",
            f"built for {here}",
            first_few(names, 5),
            cause,
        )
    )
    return out


def _lock_field(d: Difference) -> str:
    """The lock field a difference of the host's facts is about, as ``envsnap.unknown`` names it; "" for the rest."""
    if d.area in ("platform", "libc"):
        return f"platform.{d.what}"
    if d.area == "gpu":
        return "nvidia" if d.subject == "nvidia" else "hardware"
    if d.area == "interpreter" and d.what == "kind":
        return "python.kind"
    if d.area == "python" and d.what == "extra":
        # A distribution installed that a lock without its Python packages (an import of a conda explicit file)
        # cannot list: the lock says nothing of it, which is no drift.
        return "python.packages"
    return d.area if d.area in ("cuda", "system", "hardware", "environment") else ""


# Why an imported lock does not know of an installed pip or setuptools, by the format it was imported from.
_SEEDS_LEFT_OUT = {
    "requirements": "the lock does not record it: imported from a requirements file that does not name pip, as pip "
    "freeze without --all writes it",
    "pylock": "the lock does not record it: imported from a pylock file that does not name pip, as uv writes it",
    "": "the lock does not record it: imported from a file that does not name pip",
}


def _unrecorded(lock: Snapshot, d: Difference) -> Difference:
    """``d`` as info where the lock holds nothing for a field its format cannot know (an import's
    ``envsnap.unknown``: the OS, libc, driver ...): what the host has there is no drift from the lock, as ``diff``
    calls it unknown and the interpreter's version missing from an import is info."""
    path = _lock_field(d)
    if path == "python.packages" and interchange.seed_unknown(lock.envsnap.unknown, d.subject):
        # pip freeze (without --all), uv and pip-compile left it out: the file says nothing of it, which is no drift.
        return dataclasses.replace(d, severity=INFO, note=_SEEDS_LEFT_OUT.get(lock.envsnap.origin, _SEEDS_LEFT_OUT[""]))
    # An import's environment kind is written (``venv``, what a rebuild makes) and still unknown: no file says it.
    if (d.expected and path != "python.kind") or not path or not not_recorded(lock.envsnap.unknown, path):
        return d
    origin = lock.envsnap.origin or "another format"
    return dataclasses.replace(d, severity=INFO, note=f"the lock does not record it: imported from {origin}")


def package_differences(
    lock: Snapshot, actual: Snapshot, interpreter: list[Difference] | None = None
) -> list[Difference]:
    """The installed packages against the lock's, each difference that an interpreter change explains marked
    with it (``interpreter``: ``compare_interpreter``'s, computed when not given). What ``compare`` reports of
    the packages, without the requirements check (warnings only): ``fleet node`` asks no more."""
    installed: Iterable[PythonPackage] = actual.python.packages
    if lock.conda is not None and lock.envsnap.origin in ("conda-explicit", "conda-lock"):
        # A distribution a conda package installed is the conda layer's to check (a conda record the lock
        # lacks is a mismatch there); a lock imported from a conda explicit file or conda-lock.yml cannot
        # list such distributions, and would otherwise call each one "installed, not in the lock". A captured
        # lock lists them all: one it lacks was not there (pip uninstalled it from under its conda package).
        listed = {p.name for p in lock.python.packages}
        installed = [p for p in installed if not p.conda_layer or p.name in listed]
    if interpreter is None:
        interpreter = compare_interpreter(lock.python, actual.python)
    return _mark_consequences(compare_packages(lock.python.packages, installed), interpreter, lock.python.packages)


def _mark_consequences(
    packages: list[Difference], interpreter: list[Difference], locked: Iterable[PythonPackage]
) -> list[Difference]:
    """Package differences an interpreter change explains: a wheel built for another Python version, ABI or
    platform has other tags and other files. Pure-Python wheels (``py3-none-any``) are the same for any
    interpreter, so a difference in one of them stands on its own."""
    roots = [d for d in interpreter if d.root_cause]
    if not roots:
        return packages
    cause = ", ".join(f"python {d.what} {d.expected} -> {d.actual}" for d in roots)
    specific = {p.name for p in locked if not p.wheel_tags or any(not t.endswith("-none-any") for t in p.wheel_tags)}
    return [
        dataclasses.replace(d, cause=cause)
        if d.what in ("wheel_tags", "record_digest") and d.subject in specific
        else d
        for d in packages
    ]


# ------------------------------------------------------------------------------------------ requirements


def marker_environment(env: Snapshot) -> dict[str, str]:
    """PEP 508 marker values of a captured environment (the target's, not the interpreter running envsnap)."""
    py, plat = env.python, env.platform
    system = plat.system or "Linux"
    return {
        "implementation_name": py.implementation or "cpython",
        "implementation_version": py.version,
        "os_name": "nt" if system == "Windows" else "posix",
        "platform_machine": plat.machine,
        "platform_python_implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(
            py.implementation, py.implementation
        ),
        "platform_release": plat.kernel,
        "platform_system": system,
        "platform_version": "",
        "python_full_version": py.version,
        "python_version": major_minor(py.version),
        "sys_platform": {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}.get(system, system.lower()),
        "extra": "",
    }


# A requirement of one extra and nothing else (``pytest; extra == "test"``): its marker is false in an environment
# where no extra is requested, so it is skipped without parsing (three quarters of an ML environment's
# Requires-Dist; parsing each was most of the comparison's time). Anything else is parsed and evaluated.
_EXTRA_ONLY = re.compile(r"""[^;]*;\s*extra\s*==\s*(?:"[^"]+"|'[^']+')\s*""")


_FIELDS = len(dataclasses.fields(Difference))


def broken_requirements(locked: Iterable[PythonPackage], actual: Snapshot) -> list[Difference]:
    """Requirements of installed packages that the environment does not satisfy, as ``pip check`` reports
    them: each installed package's ``Requires-Dist`` (from the lock and from its installed metadata) whose
    marker applies to the target (no extras requested), with the required distribution missing or of a
    version outside the specifier. A warning: the lock records what was installed, and an environment that
    matches a lock which was itself inconsistent is still the locked one (the note says when it was).

    The answer is kept in the parsed-lock cache under everything it is computed from (every installed and
    locked package's name, version and requirements, the marker values, packaging's version and this module):
    verifying an unchanged environment again parses no requirement (parsing a few hundred, and importing
    packaging's parser for them, was a third of a warm verify's comparison)."""
    if not actual.python.version:
        return []  # no Python layer
    import packaging

    locked = tuple(locked)
    inputs = json.dumps(
        [
            packaging.__version__,
            marker_environment(actual),
            [(p.name, p.version, p.requires_dist) for p in actual.python.packages],
            [(p.name, p.version, p.requires_dist) for p in locked],
        ],
        sort_keys=True,
    )
    name = (
        _lockcache.key(inputs, check_digest=False, view="requirements", deciding=("compare/verify.py",))
        if _lockcache.enabled()
        else ""
    )
    kept = _lockcache.get_view(name) if name else None
    if type(kept) is tuple and all(type(row) is tuple and len(row) == _FIELDS for row in kept):
        return [Difference(*row) for row in kept]
    found = _broken_requirements(locked, actual)
    if name:
        _lockcache.put_view(name, tuple(dataclasses.astuple(d) for d in found))
    return found


def _broken_requirements(locked: Iterable[PythonPackage], actual: Snapshot) -> list[Difference]:
    from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as Req
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    if not actual.python.version:
        return []  # no Python layer
    marker_env = marker_environment(actual)
    have: dict[str, PythonPackage] = {canonicalize_name(p.name): p for p in actual.python.packages}
    from_lock: dict[str, PythonPackage] = {canonicalize_name(p.name): p for p in locked}
    out: list[Difference] = []
    for key in sorted(have):
        pkg = have[key]
        texts = {*pkg.requires_dist, *(from_lock[key].requires_dist if key in from_lock else ())}
        seen: set[tuple[str, str]] = set()
        for text in sorted(texts):
            if _EXTRA_ONLY.fullmatch(text):
                continue
            try:
                req = Req(text)
                if req.marker is not None and not req.marker.evaluate(marker_env):
                    continue
            except (InvalidRequirement, InvalidMarker, UndefinedComparison, UndefinedEnvironmentName, KeyError):
                # Metadata pip would not act on either; KeyError: a lock file's variable (``extras``), which packaging
                # looks up unchecked in a requirement's context (a lock's Requires-Dist is a stranger's text).
                continue
            name = canonicalize_name(req.name)
            wanted = f"{req.name}{req.specifier}"
            if (name, wanted) in seen or name == key:
                continue
            seen.add((name, wanted))
            dep = have.get(name)
            if dep is None:
                found = "it is not installed"
            else:
                try:
                    if not req.specifier or req.specifier.contains(Version(dep.version), prereleases=True):
                        continue
                except InvalidVersion:
                    continue
                found = f"{dep.version} is installed"
            if _satisfied_in(req, from_lock):
                note = ""
            elif key not in from_lock:  # the requirement of a package installed here alone
                note = "a package the lock does not record"
            elif text not in from_lock[key].requires_dist:
                note = f"the lock's {from_lock[key].name} does not list it"
            else:
                note = "the lock has the same broken requirement"
            out.append(Difference(WARNING, "python", pkg.name, "requirement", wanted, found, note))
    return out


def _satisfied_in(req: Requirement, locked: Mapping[str, PythonPackage]) -> bool:
    """Does the lock's own package set satisfy ``req`` (so the breakage is new in this environment)?"""
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    dep = locked.get(canonicalize_name(req.name))
    if dep is None:
        return False
    try:
        return not req.specifier or bool(req.specifier.contains(Version(dep.version), prereleases=True))
    except InvalidVersion:
        return True


def _compare_conda(lock: Snapshot, actual: Snapshot) -> list[Difference]:
    """Conda records, one by one: a mismatch when the target is a conda prefix; when it is not one at all
    (a lock from a conda env rebuilt as a venv), one warning instead of a mismatch per package."""
    if lock.conda is None and actual.conda is None:
        return []
    if actual.conda is None:
        return [
            Difference(
                WARNING,
                "conda",
                "conda",
                "missing",
                f"{len(lock.conda.packages)} packages" if lock.conda else "",
                note="the target is not a conda environment",
            )
        ]
    from .conda import compare_conda

    return [
        Difference(MISMATCH, "conda", d.name, d.what, d.expected, d.actual)
        for d in compare_conda(lock.conda, actual.conda)
    ]


# ------------------------------------------------------------------------------------------- python


def _rebuilt_from_source(pkg: PythonPackage) -> bool:
    return pkg.source.kind in ("vcs", "directory") or bool(pkg.artifact and pkg.artifact.rebuilt)


def compare_packages(locked: Iterable[PythonPackage], installed: Iterable[PythonPackage]) -> list[Difference]:
    want = {p.name: p for p in locked}
    have = {p.name: p for p in installed}
    out: list[Difference] = []
    for name in sorted(set(want) - set(have)):
        # One the lock found in the base interpreter's site-packages: this venv does not see them (it was made
        # without --system-site-packages), or its base interpreter has it no more.
        based = "the lock found it in the base interpreter's site-packages (venv --system-site-packages)"
        note = based if want[name].base_site else ""
        out.append(Difference(MISMATCH, "python", name, "missing", expected=want[name].version, note=note))
    for name in sorted(set(have) - set(want)):
        out.append(Difference(MISMATCH, "python", name, "extra", actual=have[name].version))
    for name in sorted(set(want) & set(have)):
        out += compare_package(want[name], have[name])
    return out


def _same_version(old: str, new: str) -> bool:
    """``diff.same_version``, imported only where two versions are written differently: diff's module (its report
    and view machinery) is not on the way of every verify."""
    from .diff import same_version

    return same_version(old, new)


def compare_package(want: PythonPackage, have: PythonPackage) -> list[Difference]:
    out: list[Difference] = []
    name = want.name
    if not want.version and have.version:
        # A lock imported from a file that does not know it (a pylock ``directory`` entry without a version, as
        # ``uv export`` writes a project's own): unknown, not a mismatch, as for the interpreter's version.
        out.append(
            Difference(
                INFO, "python", name, "version", "", have.version, "the lock does not record this package's version"
            )
        )
    elif want.version != have.version and not _same_version(want.version, have.version):
        out.append(Difference(MISMATCH, "python", name, "version", want.version, have.version))
        return out  # the rest follows from the version
    if have.base_site and not want.base_site:
        # The same distribution, read from the base interpreter's site-packages where the lock had the venv's own
        # copy: the venv's imports now change with its base's packages. The other way round (a rebuild installs the
        # base's packages into a venv of its own: its plan says so) is the venv holding what the lock records.
        out.append(
            Difference(
                WARNING,
                "python",
                name,
                "site",
                "the venv's own site-packages",
                "the base interpreter's site-packages",
                "the venv sees its base's packages (python -m venv --system-site-packages) and has no copy of its own",
            )
        )
    rebuilt = _rebuilt_from_source(want)
    source = _compare_source(want, have, rebuilt)
    out += source
    if any(d.severity == MISMATCH for d in source):
        # Another commit: its files and tags follow from it, as they follow from another version (the note
        # "built from source: the build is not reproducible" blamed the build).
        return out
    if want.system_package and want.artifact is not None:
        return out + _stand_in(want, have)
    if want.wheel_tags and have.wheel_tags and set(want.wheel_tags) != set(have.wheel_tags):
        severity = INFO if want.source.kind == "directory" else (WARNING if rebuilt else MISMATCH)
        out.append(
            Difference(severity, "python", name, "wheel_tags", ", ".join(want.wheel_tags), ", ".join(have.wheel_tags))
        )
    if want.record_digest and have.record_digest not in _locked_files(want):
        # No digest now where the lock has one: the distribution's RECORD is gone (deleted, an interrupted install or
        # uninstall): nothing proves its files are the locked ones, as other files would not be.
        gone = "no RECORD installed: its files cannot be compared with the lock's" if not have.record_digest else ""
        if want.source.editable:
            # An editable install's RECORD lists its .pth hook, not the modules: its digest says nothing of them
            # (of a folder, or of a git checkout: ``pip install -e git+URL``).
            # Installed from a wheel (the bundle's, which rebuild installs), it was never the folder or commit.
            if have.source.kind in ("directory", "vcs"):
                origin = "a local directory" if want.source.kind == "directory" else "its locked commit"
            elif _the_bundles_wheel(want, have.source) or _the_bundles_marked_wheel(want, have):
                origin = "the bundle's wheel built from it"
            else:
                origin = "a wheel"
            severity, note = INFO, f"installed from {origin}; an editable install's RECORD differs"
        elif want.source.kind == "directory":
            # A project installed from its folder (not editable): its RECORD lists the modules, and with no commit
            # to compare, other files are as likely the code edited and reinstalled as a build that differs.
            severity, note = (
                WARNING,
                "installed from a local directory: its code changed or the build is not reproducible",
            )
        elif rebuilt:
            severity, note = WARNING, "built from source: the build is not reproducible"
        else:
            severity, note = MISMATCH, "same version, other files"
        note = gone or note
        out.append(Difference(severity, "python", name, "record_digest", want.record_digest, have.record_digest, note))
    return out


def _locked_files(want: PythonPackage) -> tuple[str, ...]:
    """The RECORD digests of the files the lock takes as its install: the install's own (``record_digest``) and,
    in a bundle's lock, the wheel the bundle built (``built_record_digest``), which a rebuild from it installs."""
    return tuple(d for d in (want.record_digest, want.built_record_digest) if d)


def _stand_in(want: PythonPackage, have: PythonPackage) -> list[Difference]:
    """A distribution a dpkg package installed (Debian's python3-yaml's PyYAML) that the lock pins to the index's file
    of its release, another build (``pin``'s stand-in): its tags and RECORD are the captured build's, not the pinned
    file's. Installed from that file (a rebuild: no system package owns it) it is the lock's pin, nothing to compare;
    the system package's build still (the host it was captured on) is not the pinned file: a warning naming the
    package, not a mismatch, as it is the same release."""
    if not have.system_package:
        return []
    art = want.artifact
    pinned = art.filename if art is not None and art.filename else "the index's file"
    return [
        Difference(
            WARNING,
            "python",
            want.name,
            "record_digest",
            want.record_digest or pinned,
            have.record_digest or "(none)",
            f"installed by the Debian package {have.system_package}, another build of the same release as the "
            f"index's file the lock pins ({pinned}), which a rebuild installs",
        )
    ]


def _compare_source(want: PythonPackage, have: PythonPackage, rebuilt: bool) -> list[Difference]:
    a, b = want.source, have.source
    name = want.name
    if a.kind == b.kind:
        if a.kind == "vcs" and (a.commit_id, a.subdirectory) != (b.commit_id, b.subdirectory):
            # Another commit, or one commit of a monorepo and another folder of it: another package's code. Named
            # as diff names it (``source_text``).
            return [Difference(MISMATCH, "python", name, "source", source_text(want), source_text(have))]
        if a.kind == "directory" and a.url == b.url and a.subdirectory != b.subdirectory:
            # One folder, another project inside it (``#subdirectory=``). Another URL is the folder moved or named
            # otherwise (a label, a rebuild's checkout): not compared.
            return [Difference(MISMATCH, "python", name, "source", source_text(want), source_text(have))]
        if a.kind in ("directory", "vcs") and a.editable != b.editable:
            # The editable flag is part of the environment, for a checkout of a repository as for a folder.
            where = "its folder" if a.kind == "directory" else "its repository"
            lost = editable_lost(want) if a.kind == "directory" else EDITABLE_CHECKOUT_LOST
            note = lost if a.editable else f"the lock installs it from {where}, this install is editable"
            return [Difference(WARNING, "python", name, "source", source_text(want), source_text(have), note)]
        return []
    if a.kind == "directory" and a.editable and b.kind == "vcs" and b.editable:
        # A lock captured before a capture read an editable checkout's commit (probes.python._editable_checkout)
        # names its folder alone, which is not compared (above): the same editable install.
        return []
    if a.kind == "directory" and a.editable:
        # The bundle's wheel of a project the lock installs editable (rebuild installs it so): the locked
        # environment reads the project's code where it is, this one a copy of it (docs/design.md, "Research
        # layouts"): the same code now, not after the next edit. A warning: said, and --strict refuses it.
        # Installed from a wheel, by path or from a find-links folder, leaves no direct_url.json ("index"): said as
        # what it is here, where the lock names a folder.
        now = "a wheel" if b.kind == "index" or _the_bundles_wheel(want, b) else source_text(have)
        return [Difference(WARNING, "python", name, "source", source_text(want), now, editable_lost(want))]
    if a.kind == "vcs" and a.editable and b.kind in ("index", "archive"):
        # The bundle's wheel of the locked commit of an editable checkout (``pip install -e git+URL#egg=NAME``):
        # the same code now, not the checkout the researcher edits in place. A warning, as for a folder (above).
        now = "a wheel" if b.kind == "index" or _the_bundles_wheel(want, b) else source_text(have)
        return [Difference(WARNING, "python", name, "source", source_text(want), now, EDITABLE_CHECKOUT_LOST)]
    if rebuilt and b.kind in ("index", "archive"):
        note = _built_wheel(want, have)
        return [Difference(INFO, "python", name, "source", source_text(want), source_text(have), note)]
    same = _same_file(want, have) if {a.kind, b.kind} == {"index", "archive"} else ""
    if same:
        # An sdist by path and the wheel built from it share their installed files, not their file.
        what = {
            "file": "the same file",
            "files": "the same installed files (RECORD digest)",
            "wheel": "a wheel of the same name, version and tags (the lock records no digest of its files)",
        }[same]
        note = f"{what}, from an index or a find-links folder and by {'URL' if same == 'wheel' else 'path'}"
        return [Difference(INFO, "python", name, "source", source_text(want), source_text(have), note)]
    return [Difference(MISMATCH, "python", name, "source", source_text(want), source_text(have))]


def _built_wheel(want: PythonPackage, have: PythonPackage) -> str:
    """Where the wheel of a package the lock builds from source (a commit, a folder, an sdist) was installed from,
    as its direct_url.json says: the file the lock pins (``rebuild --bundle`` installs the bundle's wheel by path:
    the same sha256), another file by path, or an index or find-links folder, which leaves none; there, the
    bundle's wheel a venv rebuilt from a bundle archive with no source names in ``envsnap_bundle.json`` (a capture's
    ``rebuilt`` wheel with no URL), taken where its file name and sha256 are the ones the lock pins."""
    from urllib.parse import unquote

    art, b, named = want.artifact, have.source, have.artifact
    if b.kind == "index" and art is not None and art.sha256 and named is not None and named.rebuilt and not named.url:
        if (
            _the_bundles_marked_wheel(want, have)
            and want.record_digest
            and have.record_digest not in ("", *_locked_files(want))
        ):
            # Any wheel may ship an envsnap_bundle.json naming the lock's file and sha256 (both public in the lock),
            # and an index install keeps it: a name proves nothing the installed files do not bear out.
            return (
                f"installed from a wheel whose envsnap_bundle.json names the bundle's {art.filename} (sha256 "
                f"{art.sha256[:12]}...), with files other than the lock's (RECORD digest): not known to be that wheel"
            )
        if _the_bundles_marked_wheel(want, have):
            return (
                f"installed from the bundle's wheel {art.filename} built from the locked source (envsnap_bundle.json "
                "names it: the same sha256)"
            )
        return (
            f"installed from the wheel {named.filename} envsnap_bundle.json names (sha256 {named.sha256[:12]}...), "
            f"not the bundle's {art.filename} built from the locked source (sha256 {art.sha256[:12]}...)"
        )
    if b.kind == "index":
        return "installed from an index or a find-links folder (no direct_url.json): not known to be built from it"
    from ..fileurls import UNPACKED_BUNDLE, in_unpacked_bundle
    from ..sinks import shell_shown

    name = unquote(b.url.rsplit("/", 1)[-1])
    # The file by its decoded name, one shell word, a control character its URL hid escaped, as a message names a path.
    shown = shell_shown([name])
    where = f"; {UNPACKED_BUNDLE}" if in_unpacked_bundle(b.url) else ""
    if art is not None and _the_bundles_wheel(want, b):
        return f"installed from the bundle's wheel {art.filename} built from the locked source (the same sha256{where})"
    if art is None or not art.sha256:
        return f"installed from the wheel file {shown} (the lock pins no built wheel to compare it with{where})"
    if not b.archive_hash and name == art.filename:
        # uv installing ``./wheels/F.whl`` (the bundle's requirements.txt) records no sha256 for a path.
        return f"installed from the wheel file {shown} by path, no sha256 recorded: not known to be the bundle's{where}"
    return f"installed from the wheel file {shown}, not the bundle's {art.filename} built from the locked source{where}"


def _the_bundles_wheel(want: PythonPackage, b: Source) -> bool:
    """``b`` (an installed package's source) is the file the lock pins, by path: its name and sha256, as
    ``rebuild --bundle`` installs a wheel the bundle built (its direct_url.json names the file)."""
    from urllib.parse import unquote

    art = want.artifact
    if art is None or not art.sha256 or b.kind != "archive" or b.archive_hash != f"sha256={art.sha256}":
        return False
    return unquote(b.url.rsplit("/", 1)[-1]) == art.filename


def _the_bundles_marked_wheel(want: PythonPackage, have: PythonPackage) -> bool:
    """``have`` names the file the lock pins in its ``envsnap_bundle.json`` (a rebuild from a bundle archive, whose
    wheels folder is gone once it ends, writes no direct_url.json: a capture records the wheel by its name and sha256,
    ``rebuilt`` with no URL): what ``_the_bundles_wheel`` is for a bundle folder's wheel installed by path."""
    art, got = want.artifact, have.artifact
    if art is None or got is None or not art.sha256 or have.source.kind != "index":
        return False
    return got.rebuilt and not got.url and (got.filename, got.sha256) == (art.filename, art.sha256)


def editable_lost(want: PythonPackage, project_dir: Path | None = None) -> str:
    """The warning for a project the lock installs editable from a folder and this environment holds as a regular
    install, with the command that installs it as locked: the folder, one shell word, as rebuild's plan note gives it
    (``_localurls.editable_folder_shown``: one under ``{project}`` where ``project_dir`` is that project); DIR and the
    lock's URL for one under ``{project}`` not found."""
    from .._localurls import editable_folder_shown
    from ..sinks import editable_install

    folder = editable_folder_shown(want, project_dir)
    return (
        "the lock installs it editable, this is a regular install: edits to the project do not reach it; "
        f"{editable_install('pip install', want.source.url, folder)} installs it as locked"
    )


EDITABLE_CHECKOUT_LOST = (
    "the lock installs it editable, a checkout of its repository, this is a regular install: edits to that checkout "
    "do not reach it; `pip install --no-deps -e` of its repository at the locked commit installs it as locked"
)


def _same_file(want: PythonPackage, have: PythonPackage) -> str:
    """How an index (or find-links) install and an install by path are one: ``"file"`` for the same sha256 or the
    same wheel file name (percent-decoded: ``torch-2.4.0%2Bcpu-...``), ``"files"`` for only the same RECORD digest
    (the same installed files: an sdist by path and a wheel built from it), ``"wheel"`` where the lock names a wheel
    by URL and records nothing more of it (an import of ``name @ URL.whl --hash=...``, as the requirements export of
    a lock pinned by URL writes it) and the installed wheel has its name, version and tags, "" for none."""
    from urllib.parse import unquote

    archive = have.source if have.source.kind == "archive" else want.source
    locked = want.artifact
    if locked is not None and archive.archive_hash == f"sha256={locked.sha256}":
        return "file"
    if locked is not None and unquote(archive.url.rsplit("/", 1)[-1]) == locked.filename:
        return "file"
    if want.record_digest:
        return "files" if have.record_digest in _locked_files(want) else ""
    return "wheel" if want.source.kind == "archive" and locked is None and _named_by_its_wheel(want, have) else ""


def _named_by_its_wheel(want: PythonPackage, have: PythonPackage) -> bool:
    """Whether the wheel ``want``'s archive URL names is a wheel of ``have``: its name, version and tags."""
    from urllib.parse import unquote, urlsplit

    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import InvalidVersion, Version

    filename = unquote(urlsplit(want.source.url).path.rsplit("/", 1)[-1])
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
        same = name == have.name and version == Version(have.version)
    except (InvalidWheelFilename, InvalidVersion):
        return False
    return same and bool(have.wheel_tags) and {str(t) for t in tags} == set(have.wheel_tags)


def compare_interpreter(want: PythonEnv, have: PythonEnv) -> list[Difference]:
    out = []
    for what in ("implementation", "abi", "platform_tag"):
        a, b = getattr(want, what), getattr(have, what)
        if a and b and a != b:
            out.append(Difference(MISMATCH, "interpreter", "python", what, a, b))
    if want.free_threaded != have.free_threaded:
        out.append(
            Difference(
                MISMATCH, "interpreter", "python", "free_threaded", str(want.free_threaded), str(have.free_threaded)
            )
        )
    if not want.version and have.version:  # a lock imported from a requirements.txt does not know it
        out.append(
            Difference(
                INFO, "interpreter", "python", "version", "", have.version, "the lock does not record a Python version"
            )
        )
    elif want.version != have.version and is_python_release(want.version, have.version):
        out.append(
            Difference(
                INFO,
                "interpreter",
                "python",
                "version",
                want.version,
                have.version,
                "the lock records the minor release only",
            )
        )
    elif want.version != have.version:
        same_minor = major_minor(want.version) == major_minor(have.version)
        out.append(
            Difference(
                WARNING if same_minor else MISMATCH,
                "interpreter",
                "python",
                "version",
                want.version,
                have.version,
                "patch release differs" if same_minor else "",
            )
        )
    if want.kind != have.kind:
        out.append(Difference(INFO, "interpreter", "python", "kind", want.kind, have.kind))
    return out


# ---------------------------------------------------------------------------------------- around it


def _pairs(
    diffs: list[Difference],
    severity: str,
    area: str,
    subject: str,
    fields: Iterable[tuple[str, str, str]],
    note: str = "",
) -> None:
    for what, a, b in fields:
        if a != b:
            diffs.append(Difference(severity, area, subject, what, a, b, note))


def _compare_platform(lock: Snapshot, actual: Snapshot) -> list[Difference]:
    a, b = lock.platform, actual.platform
    out: list[Difference] = []
    _pairs(
        out,
        WARNING,
        "platform",
        "os",
        [
            ("system", a.system, b.system),
            ("machine", a.machine, b.machine),
            ("os_id", a.os_id, b.os_id),
            ("os_version", a.os_version, b.os_version),
        ],
    )
    _pairs(out, INFO, "platform", "os", [("kernel", a.kernel, b.kernel)])
    _pairs(out, WARNING, "libc", "libc", [("libc", a.libc, b.libc), ("libc_version", a.libc_version, b.libc_version)])
    return out


def _interpreter_debs(lock: Snapshot, actual: Snapshot) -> list[tuple[SystemPackage, SystemPackage]]:
    """The interpreter's Debian packages at another revision of the same CPython release, where both sides run
    Debian's interpreter (its package's upstream version is the interpreter's): ``python3.11 3.11.2-6+deb12u6 ->
    3.11.2-6+deb12u8``, a stable or security update that patched the interpreter itself. Another release is the
    interpreter's own warning; an interpreter of its own (pyenv, uv, a python image) beside them is not it: which
    one it is, is what the capture found owning its executable (``python.system_package``), not its version, which
    a pyenv-built 3.11.2 beside Debian's 3.11.2 shares. A lock that does not say (captured before envsnap recorded
    it) is taken at the environment's word."""
    version = lock.python.version
    if lock.python.implementation != "cpython" or not version or version != actual.python.version:
        return []
    names = set(interpreter_debs(version))
    if actual.python.system_package not in names or (lock.python.system_package or "") not in names | {""}:
        return []
    want = {(p.name, p.arch): p for p in lock.system.packages if p.manager == "dpkg" and p.name in names}
    have = {(p.name, p.arch): p for p in actual.system.packages if p.manager == "dpkg" and p.name in names}
    main = f"python{major_minor(version)}"
    if not any(
        p.name == main and debian_upstream(p.version) == version for side in (want, have) for p in side.values()
    ) or not all(debian_upstream(p.version) == version for side in (want, have) for p in side.values()):
        return []
    changed = [(want[k], have[k]) for k in sorted(set(want) & set(have)) if want[k].version != have[k].version]
    return sorted(changed, key=lambda pair: pair[0].name != main)  # the interpreter's own package first


def _compare_system(lock: Snapshot, actual: Snapshot) -> list[Difference]:
    """System packages a Python package loads are warnings, and so are the interpreter's own Debian packages at
    another revision; the rest are summarised in one info line."""
    out: list[Difference] = []
    want = {(p.name, p.arch): p for p in lock.system.packages}
    have = {(p.name, p.arch): p for p in actual.system.packages}
    needed = {key for key, p in want.items() if p.needed_by}
    # The environment's interpreter patched otherwise (a Debian update of python3.11 at the same 3.11.2): it runs
    # every line, so it is a warning as another patch release of it is, not one of "N other system packages".
    patched = _interpreter_debs(lock, actual)
    if patched:
        first, now = patched[0]
        alike = [a.name for a, _ in patched[1:]]
        out.append(
            Difference(
                WARNING,
                "system",
                first.name,
                "version",
                first.version,
                now.version,
                f"the environment's interpreter, Debian's CPython {lock.python.version}, patched otherwise: a Debian "
                "stable or security update" + (f"; {', '.join(alike)} alike" if alike else ""),
            )
        )
    interpreter = {(a.name, a.arch) for a, _ in patched}
    other = {"missing": 0, "version": 0, "added": 0}  # of those no Python package loads: how each differs
    for key in sorted(set(want) | set(have)):
        a, b = want.get(key), have.get(key)
        if a is not None and b is not None and a.version == b.version:
            continue
        if key in interpreter:
            continue
        if key not in needed:
            other["missing" if b is None else "added" if a is None else "version"] += 1
            continue
        note = "loaded by " + ", ".join(a.needed_by) if a is not None else ""
        out.append(
            Difference(
                WARNING,
                "system",
                key[0],
                "missing" if b is None else "version",
                a.version if a else "",
                b.version if b else "",
                note,
            )
        )
    if any(other.values()):
        # Most are what a rebuild never installs (a docker image of a minimal base gets only the packages the Python
        # packages load, --system-packages needed): counted by how they differ, and said to be not judged, where a
        # bare "716 ... differ" read as 716 faults of the rebuild.
        how = ", ".join(
            f"{n} {what}"
            for n, what in (
                (other["missing"], "of the lock's not installed here"),
                (other["version"], "at another version"),
                (other["added"], "only here"),
            )
            if n
        )
        out.append(
            Difference(
                INFO,
                "system",
                "packages",
                "other",
                "",
                "",
                f"{sum(other.values())} system packages that no Python package loads differ ({how}): not judged, "
                "only those a Python package loads are (a docker rebuild installs just those, --system-packages "
                "needed)",
            )
        )
    want_libs = {lib.soname: lib for lib in lock.system.libraries}
    have_libs = {lib.soname: lib for lib in actual.system.libraries}
    for soname in sorted(want_libs):
        want_lib, have_lib = want_libs[soname], have_libs.get(soname)
        loaded_by = ", ".join(want_lib.needed_by)
        if have_lib is None:
            # No binary installed now needs it (its package changed or went): that says nothing about whether it
            # is installed, and "not installed" sent users to install a library they had.
            note = f"loaded by {loaded_by} in the lock; nothing installed loads it now"
            out.append(Difference(INFO, "system", soname, "unneeded", note=note))
        elif want_lib.path and not have_lib.path:  # needed now and not found on this host
            out.append(
                Difference(
                    WARNING, "system", soname, "missing", want_lib.path, "", f"shared library needed by {loaded_by}"
                )
            )
    # Needed now, not found, and not in the lock: one the lock's environment found where its package put it (a
    # wheel's vendored copy, numpy.libs/, which the lock records as no system library) and is deleted since; what
    # capture warns of. One the lock records as not found either is as captured.
    for soname in sorted(set(have_libs) - set(want_libs)):
        have_lib = have_libs[soname]
        if not have_lib.path and have_lib.needed_by:
            note = f"needed by {', '.join(have_lib.needed_by)}, not found here"
            out.append(Difference(WARNING, "system", soname, "not_found", note=note))
    return out


def _compare_gpu(lock: Snapshot, actual: Snapshot) -> list[Difference]:
    out: list[Difference] = []
    # A driver that answered with an error or not at all (a hung one) has no version and lists no GPU: that is
    # said, as ``check`` says it, not shown as a host without a driver.
    b = actual.nvidia
    unanswered = f"the NVIDIA driver did not answer: {b.error}" if b and b.error and not b.driver_version else ""
    if lock.nvidia is not None or actual.nvidia is not None:
        a = lock.nvidia
        _pairs(
            out,
            WARNING,
            "gpu",
            "nvidia",
            [
                ("driver_version", a.driver_version if a else "", b.driver_version if b else ""),
                ("cuda_driver_version", a.cuda_driver_version if a else "", b.cuda_driver_version if b else ""),
            ],
            unanswered,
        )
        # No driver version on either side: the lock's driver did not answer at capture, and this host's does not
        # answer either, another way, or there is no driver here (or the lock records none and this one fails).
        ea, eb = a.error if a else "", b.error if b else ""
        hung = ea.startswith(NVML_HUNG) and eb.startswith(NVML_HUNG)  # hung both: waited for otherwise
        if not (a and a.driver_version) and not (b and b.driver_version) and ea != eb and not hung:
            note = "no NVIDIA driver here" if not eb else "the lock records no driver" if not ea else ""
            out.append(Difference(WARNING, "gpu", "nvidia", "error", ea, eb, note))
        elif a and a.driver_version and b and b.driver_version and ea != eb:
            # The driver answered on both sides, and NVML gave another error beside it (``GPU 1: ... GPU is lost``):
            # the GPUs line read only "unknown GPU", as info.
            out.append(Difference(WARNING, "gpu", "nvidia", "error", ea, eb, "the error NVML gave beside the driver"))
    if lock.cuda is not None or actual.cuda is not None:
        a2, b2 = lock.cuda, actual.cuda
        _pairs(
            out,
            WARNING,
            "cuda",
            "cuda",
            [
                (
                    f"{what}_version",
                    getattr(a2, f"{what}_version") if a2 else "",
                    getattr(b2, f"{what}_version") if b2 else "",
                )
                for what in ("runtime", "cudnn", "nccl", "cublas")
            ],
        )
    want_gpus = [gpu_name(g) for g in lock.hardware.gpus]
    have_gpus = [gpu_name(g) for g in actual.hardware.gpus]
    if want_gpus != have_gpus:
        shown = (", ".join(want_gpus) or "none", ", ".join(have_gpus) or "none")
        out.append(Difference(INFO, "gpu", "gpus", "models", *shown, unanswered if not have_gpus else ""))
    return out


def _compare_hardware(lock: Snapshot, actual: Snapshot) -> list[Difference]:
    a, b = lock.hardware, actual.hardware
    out: list[Difference] = []
    _pairs(out, INFO, "hardware", "cpu", [("model", a.cpu.model, b.cpu.model)])
    lost = sorted(set(a.cpu.flags) - set(b.cpu.flags))
    if lost:
        out.append(
            Difference(
                WARNING,
                "hardware",
                "cpu",
                "flags",
                " ".join(lost),
                "",
                "instruction sets the captured CPU had and this one lacks",
            )
        )
    if a.memory_mib and b.memory_mib and a.memory_mib != b.memory_mib:
        out.append(Difference(INFO, "hardware", "memory", "memory_mib", str(a.memory_mib), str(b.memory_mib)))
    return out


def _compare_environment(lock: Snapshot, actual: Snapshot) -> list[Difference]:
    """The recorded variables (``[environment]``: threads, visible devices, determinism flags, ``PYTHONPATH``,
    ``LD_LIBRARY_PATH``) each set, unset or changed: a warning, as ``diff`` reports them. The environment's
    packages are read with ``-E``, so a ``PYTHONPATH`` that puts other modules ahead of them shows only here."""
    from ..probes.nvidia import redact_device_ids

    # The capture here keeps no GPU UUID (no --gpu-ids): a lock captured with them is compared without them too.
    a, b = redact_device_ids(lock.environment), actual.environment
    out: list[Difference] = []
    for name in sorted(set(a) | set(b)):
        old, new = a.get(name), b.get(name)
        if old == new:
            continue
        # Set to "" is not unset (CUDA_VISIBLE_DEVICES="" hides every GPU), so each is said in words.
        notes = [
            "not set in the lock" if old is None else "empty in the lock" if not old else "",
            "not set here" if new is None else "empty here" if not new else "",
        ]
        note = "; ".join(n for n in notes if n)
        out.append(Difference(WARNING, "environment", name, "value", old or "", new or "", note))
    return out
