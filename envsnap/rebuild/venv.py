"""``envsnap rebuild --target venv``: the locked Python layer in a fresh virtual environment.

Exactly the locked set, no resolution: every wheel's sha256 is checked against the lock before anything is
installed, then the installer runs with ``--require-hashes --no-deps --no-index --find-links`` on the bundle's
wheels (uv when available, else pip), isolated from the user's pip/uv configuration. The venv is built in a
hidden folder beside ``--dest`` and moved into place only when complete, so a failure leaves nothing behind.

``install_python_layer`` is the reusable half: the conda target calls it to put the pip layer into a prefix.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import platform
import re
import shlex
import shutil
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from .. import _leftovers, _runner, _signalhold, _tools
from .._control import strip_control
from .._defaults import ARTIFACTS_CACHE, PROBE_TIMEOUT, cache_dir
from .._frozen import frozen
from .._fs import checked_base_name, join_base_name, move_into_place
from .._venvahead import DEFAULT_DEST, VENV_TIMEOUT, NotTheSame, isolated_env, uv_venv_args
from .._venvahead import staging as staging_folder
from ..artifacts.bundle import (
    DIRECT_URL,
    WHEELS,
    Bundle,
    BundleOptions,
    bundle_holding,
    bundle_wheel_dist_info,
    bundle_wheel_marker,
    check_made_from,
    dist_info_json,
    fetch_wheel,
    from_a_bundle_wheel,
    installs_by_file,
    installs_its_source_file,
    judged_for,
    local_source,
    missing_local_trees,
    outside_project_notes,
    package_label,
    precheck_line,
    record_line,
    sha256_file,
    source_direct_url,
)
from ..compat import kernel_differences
from ..compat.target import Target, TargetFacts, or_bringing_python
from ..errors import BadBundleError, BundleError, PinError, ProbeError, RebuildError, UnsafeInputError
from ..grammar import (
    PYTHON_IMPLEMENTATIONS,
    is_canonical_name,
    is_pep440,
    is_python_version,
    is_release_number,
    is_sha256_hex,
    shown,
)
from ..model import Artifact, PythonPackage, Snapshot
from ..platforms import is_python_release, major_minor
from ..probes.interface import BUNDLE_WHEEL_FILE
from ..probes.pending import PendingProbe
from ..probes.python import script_interpreter
from ..probes.target import interpreter_named
from ._editable import editable_notes
from ._pth import pth_folder_notes
from .interface import (
    BadOptionError,
    EarlyWork,
    Plan,
    PlanData,
    PlanItem,
    Progress,
    Rebuilder,
    RebuildRequest,
    RebuildResult,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..artifacts.pin import Pinner
    from ..compare.verdict import VerifyReport

INSTALL_TIMEOUT = 1800.0
_VERSION_CODE = "import platform, sys; print(platform.python_version(), sys.implementation.name); print(sys.executable)"


# --------------------------------------------------------------------------------------- interpreter


@frozen
class Interpreter:
    path: str
    version: str
    how: str  # "--python" | "PATH" | "the interpreter running envsnap" | "pyenv" | UV_MANAGED | UV_FOUND


def interpreter_version(exe: str) -> tuple[str, str] | None:
    """The version and implementation of the interpreter ``exe``; None when it is not a working one."""
    found = _interpreter(exe)
    return None if found is None else (found[0], found[1])


def _interpreter(exe: str) -> tuple[str, str, str] | None:
    """``exe``'s version, implementation and the executable to use for it: ``exe``, or for a wrapper script (a
    pyenv shim) the interpreter it started (``_wrapped``)."""
    if script_interpreter(Path(exe)) is not None:
        return None  # a Python script: running it would run the user's code
    try:
        st = os.stat(exe)
    except OSError:
        return None
    try:
        running = os.stat(sys.executable) if sys.executable else None
    except OSError:  # envsnap's own interpreter is gone (or embedded): ask ``exe`` as any other
        running = None
    if running is not None and (st.st_dev, st.st_ino) == (running.st_dev, running.st_ino):
        # The binary running envsnap (a venv's bin/python links to it): the same answer, without starting it.
        return platform.python_version(), sys.implementation.name, exe
    # Asked by the preflight and again by the plan: one run of the interpreter (0.1-0.6 s through a pyenv shim)
    # per executable, while the file is the same.
    return _interpreter_version(exe, st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _interpreter_version(exe: str, _inode: int, _size: int, _mtime_ns: int) -> tuple[str, str, str] | None:
    res = _runner.run([exe, "-I", "-c", _VERSION_CODE], timeout=30)
    lines = res.stdout.splitlines()
    if not res.ok or not lines or len(lines[0].split()) != 2:
        return None
    version, implementation = lines[0].split()
    return version, implementation, _wrapped(exe, lines[1] if len(lines) == 2 else "")


def _wrapped(exe: str, reported: str) -> str:
    """The interpreter binary a wrapper script ``exe`` runs, as it reported its ``sys.executable``; ``exe`` itself
    when it is a binary or the report names no executable binary. A pyenv shim starts bash and pyenv's scripts at
    every run (0.1-0.5 s): the compatibility check's probe and uv's venv creation would each pay it again, and
    the venv links to the binary all the same (uv creates it from the interpreter's own executable)."""
    if not reported or not os.path.isabs(reported) or not _is_script(exe):
        return exe
    if not os.path.isfile(reported) or not os.access(reported, os.X_OK) or _is_script(reported):
        return exe
    return reported


def _is_script(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"#!"
    except OSError:
        return False


def _candidates(want: str, minor: str) -> list[tuple[str, str]]:
    """Interpreters that may be the locked version, in the order they are tried: the one running envsnap when it
    is exactly that version (it answers in-process; a ``python3.X`` on PATH is often a pyenv shim that costs
    0.1-0.5 s a run), on PATH, the one running envsnap, then pyenv's installed versions (researchers' usual way to
    keep several Pythons). ``want`` and ``minor`` are checked release numbers (``locked_python``): they name
    files, never a path of their own."""
    running = (sys.executable, "the interpreter running envsnap")
    here = sys.executable and is_python_release(want, platform.python_version())
    out: list[tuple[str, str]] = [running] if here else []
    for name in (f"python{minor}", f"python{want.split('.')[0]}", "python"):
        on_path = shutil.which(name)
        if on_path is not None:
            out.append((on_path, "PATH"))
    out.append(running)
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    try:
        for version_dir in (pyenv / want, *sorted(pyenv.glob(f"{minor}.*"), reverse=True)):
            if version_dir.parent != pyenv or not is_python_version(version_dir.name):
                continue
            exe = version_dir / "bin" / "python"
            if exe.is_file():
                out.append((str(exe), "pyenv"))
    except OSError:
        # A pyenv this user may not read (``PYENV_ROOT`` kept from another user by ``su`` or ``sudo -E``): none
        # of its versions could be run here either.
        pass
    return list(dict.fromkeys(out))


UV_INSTALL = "uv python install"  # Interpreter.how of one uv downloads when the rebuild runs
UV_MANAGED = "uv-managed"  # Interpreter.how of one uv installed (in its folder, `uv python dir`)
# Interpreter.how of one `uv python find` found elsewhere (/usr/bin/python3.11, a conda environment's): not uv's.
UV_FOUND = "found by `uv python find`"


def locked_python(lock: Snapshot) -> tuple[str, str]:
    """The lock's Python version and implementation, checked: a version as an interpreter reports it
    (``grammar.is_python_version``) and a known implementation. Anything else (a path such as
    ``tools/python3.11``, an option such as ``--mirror=...``) is refused before any program runs."""
    want = lock.python.version
    impl = lock.python.implementation or "cpython"
    if want and not is_python_version(want):
        raise UnsafeInputError(
            f"python.version {shown(want)}: not a Python version (X.Y or X.Y.Z); "
            "refusing to look up an interpreter from it"
        )
    if impl not in PYTHON_IMPLEMENTATIONS:
        raise UnsafeInputError(
            f"python.implementation {shown(impl)}: not one of {', '.join(sorted(PYTHON_IMPLEMENTATIONS))}"
        )
    return want, impl


def find_interpreter(
    lock: Snapshot, python: str | None, *, offline: bool, install: bool = False
) -> tuple[Interpreter, list[str]]:
    """An interpreter of the locked version: ``--python``, else on PATH, else one uv finds. Also notes.

    Only read-only probes run here unless ``install``: when uv could download the locked version, the answer
    is an ``Interpreter`` with an empty path and ``how == UV_INSTALL`` (the plan says so; ``ensure`` installs
    it when the rebuild runs). ``--dry-run`` therefore never downloads an interpreter."""
    want, impl = locked_python(lock)
    minor = major_minor(want)
    if not want:
        return _any_interpreter(python)
    if python:
        exe = shutil.which(python) or python
        found = interpreter_version(exe)
        if found is None:
            raise BadOptionError(f"--python {python}: not a working Python interpreter")
        if found[1] != impl or major_minor(found[0]) != major_minor(want):
            raise BadOptionError(f"--python {python} is {found[1]} {found[0]}; the lock needs {impl} {want}")
        notes = (
            []
            if is_python_release(want, found[0])
            else [f"interpreter {found[0]} differs from the locked {want} in the patch release"]
        )
        return Interpreter(str(Path(exe).absolute()), found[0], "--python"), notes
    if not is_release_number(want):  # searched for (PATH, pyenv, uv) only by a plain release number
        raise RebuildError(f"Python {want} is a pre-release or local build: name its interpreter with --python")
    near: Interpreter | None = None
    for exe, where in _candidates(want, minor):
        facts = _interpreter(exe)
        if facts is None or facts[1] != impl:
            continue
        if is_python_release(want, facts[0]):
            return Interpreter(facts[2], facts[0], where), []
        if near is None and major_minor(facts[0]) == major_minor(want):
            near = Interpreter(facts[2], facts[0], where)
    managed = _uv_find(want) if impl == "cpython" else None
    if managed is not None:
        return managed, []
    if impl == "cpython" and not offline and _uv_downloadable(want):
        if not install:
            return Interpreter("", want, UV_INSTALL), [f"uv downloads Python {want} when the rebuild runs"]
        managed, _why = _uv_install(want)
        if managed is not None:
            return managed, []
    if near is not None:
        return near, [f"no Python {want} found; using {near.version} from {near.path} (same minor release)"]
    # Every place searched, and how to get the version: it read "found on PATH; name one with --python", though
    # pyenv and uv had been asked too, and an offline reviewer was not told how to get one.
    if _tools.uv() is None:
        uv = "no uv"
    elif impl != "cpython":
        uv = "uv finds CPython only"
    else:
        uv = "`uv python find` found none" + (
            "; --offline: uv downloads none" if offline else ", nor could uv download it"
        )
    raise RebuildError(
        f"no Python {want} interpreter found here (looked on PATH, at the interpreter running envsnap and in pyenv's "
        f"versions; {uv}); install it (`{_uv()} python install {want}` where uv's downloads are reachable, or "
        f"`pyenv install {want}`) and name it with --python{or_bringing_python(lock)}"
    )


def _uv() -> str:
    """uv as a command printed for the user names it: by the path of the one envsnap runs where PATH's is not it."""
    return shlex.quote(_tools.uv_word())


def ensure(interp: Interpreter, lock: Snapshot | None = None) -> tuple[Interpreter, list[str]]:
    """The planned interpreter, downloaded now if the plan said uv installs it, and notes. When uv cannot (no
    network to its downloads), one of the lock's minor release found here serves, as ``find_interpreter`` would
    have chosen without uv (the preflight's check judged that one already), said in a note."""
    if interp.how != UV_INSTALL:
        return interp, []
    version = interp.version
    installed, why = _uv_install(version)
    if installed is not None:
        return installed, []
    failed = f"uv could not install Python {version} ({why})"
    if lock is not None:
        try:
            near, notes = find_interpreter(lock, None, offline=True)  # offline: uv is not asked again
        except RebuildError:
            pass
        else:
            if major_minor(near.version) == major_minor(version):
                return near, [failed, *notes]
    raise RebuildError(
        f"{failed}; install it (`{_uv()} python install {version}` where uv's downloads are reachable, or "
        f"`pyenv install {version}`) and name it with --python{or_bringing_python(lock)}"
    )


def _any_interpreter(python: str | None) -> tuple[Interpreter, list[str]]:
    """For a lock that does not know its Python (imported from a requirements.txt): ``--python``, else the
    ``python3`` on PATH, said in a note."""
    exe = (shutil.which(python) or python) if python else (shutil.which("python3") or sys.executable)
    found = interpreter_version(exe)
    if found is None and python:
        raise BadOptionError(f"--python {python}: not a working Python interpreter")
    if found is None:
        raise RebuildError(f"{exe}: not a working Python interpreter; name one with --python")
    note = f"the lock does not record a Python version; using {found[1]} {found[0]} from {exe}"
    return Interpreter(str(Path(exe).absolute()), found[0], "--python" if python else "PATH"), [note]


def _uv_find(version: str) -> Interpreter | None:
    """An interpreter of exactly ``version`` that uv finds (a checked release number, passed after ``--`` all
    the same): ``UV_MANAGED`` when it is in uv's own folder, ``UV_FOUND`` when it is one of the system's that uv
    found (it was called uv-managed, though uv neither installed nor manages it). Read-only."""
    uv = _tools.uv()
    if uv is None:
        return None
    res = _runner.run([uv, "python", "find", "--no-project", "--", version], timeout=60)
    if not res.ok or not res.stdout.strip():
        return None
    exe = res.stdout.strip().splitlines()[-1]
    found = interpreter_version(exe)
    if found is None or found[0] != version:
        return None
    folder = _uv_python_dir(uv)
    # As uv answers it, or where a link to it leads (uv's `python3.X` in ~/.local/bin links into its folder).
    managed = bool(folder) and any(
        os.path.commonpath([folder, path]) == folder for path in (os.path.abspath(exe), os.path.realpath(exe))
    )
    return Interpreter(exe, found[0], UV_MANAGED if managed else UV_FOUND)


@functools.cache
def _uv_python_dir(uv: str) -> str:
    """The folder uv installs its interpreters in (`uv python dir`), links resolved; "" when uv does not say."""
    res = _runner.run([uv, "python", "dir"], timeout=60)
    lines = res.stdout.strip().splitlines() if res.ok else []
    return os.path.realpath(lines[-1].strip()) if lines and os.path.isabs(lines[-1].strip()) else ""


@functools.cache  # the preflight and the plan ask once
def _uv_downloadable(version: str) -> bool:
    """Whether uv knows a download of this version (its own table; nothing is fetched)."""
    uv = _tools.uv()
    if uv is None:
        return False
    res = _runner.run([uv, "python", "list", "--offline", "--only-downloads", "--", version], timeout=60)
    return res.ok and bool(res.stdout.strip())


@functools.cache  # a failed `uv python install` takes seconds: the preflight and the execution ask once
def _uv_install(version: str) -> tuple[Interpreter | None, str]:
    """The interpreter uv installed, else None and why (uv's last line of error, made printable)."""
    uv = _tools.uv()
    if uv is None:
        return None, "uv is not installed"
    install = _runner.run([uv, "python", "install", "--", version], timeout=600)
    if not install.ok:
        said = (install.stderr or install.stdout).splitlines()
        lines = [strip_control(line.strip()) for line in said if line.strip()]
        return None, f"uv: {lines[-1][:300]}" if lines else f"uv exited with status {install.returncode}"
    found = _uv_find(version)
    return found, "" if found is not None else f"uv installed it, but `uv python find {version}` does not find it"


# ------------------------------------------------------------------------------------------- installing


def installer_name() -> str:
    return "uv" if _tools.uv() else "pip"


def _checked_wheels(
    packages: list[PythonPackage], bundle: Bundle, *, offline: bool, spill: Path, allow_urls: tuple[str, ...] = ()
) -> list[Path]:
    """Every package's wheel, sha256-checked against the lock. Missing ones are fetched unless offline."""
    wheels = []
    pinner: Pinner | None = None  # made on the first wheel to fetch
    bundle.check_wheels(packages)  # every wheel hashed at once, on the machine's cores
    for pkg in packages:
        try:
            wheels.append(bundle.check_wheel(pkg))
            continue
        except BadBundleError:
            raise  # a wheel that is not the one the bundle's lock pins: bad input, not a failed install
        except BundleError as exc:
            locked = bundle.lock.package(pkg.name)
            art = locked.artifact if locked is not None else None
            missing = art is not None and not join_base_name(bundle.wheels_dir, art.filename).exists()
            if not missing or offline or art is None or art.rebuilt:
                if missing and offline:
                    raise RebuildError(
                        f"{exc}; --offline: nothing may be downloaded (re-run `envsnap bundle` to complete the bundle)"
                    ) from None
                raise RebuildError(str(exc)) from None
        if pinner is None:
            from ..artifacts.pin import Pinner, read_pip_config  # only to fetch: an offline rebuild never does

            pinner = Pinner(read_pip_config(), cache_dir(ARTIFACTS_CACHE), allow_urls=allow_urls)
        try:
            path = join_base_name(spill, art.filename)
            pinner.check_artifact(art)  # the policy alone: a refused URL's file in the cache is no answer
            fetch_wheel(art, path, pinner, offline=False)
        except (BundleError, PinError) as exc:
            raise RebuildError(
                f"{pkg.name} {pkg.version}: {art.filename} is missing from the bundle and could not be fetched: {exc}"
            ) from None
        wheels.append(path)
    return wheels


def install_python_layer(
    python_exe: str | os.PathLike[str],
    lock: Snapshot,
    bundle_dir: str | os.PathLike[str],
    *,
    offline: bool,
    progress: Progress | None = None,
    allow_urls: tuple[str, ...] = (),
    launch: Callable[[list[str], dict[str, str]], _runner.Result] | None = None,
    project_dir: Path | None = None,
) -> str:
    """Install the lock's Python packages (all but conda's) from a bundle into ``python_exe``'s environment.

    Hash-checked, ``--no-deps``, ``--no-index``: nothing is resolved and nothing outside the bundle is used
    (a wheel missing from the bundle is downloaded from its pinned URL unless ``offline``). Returns the
    installer used ("uv" or "pip"). Raises ``RebuildError`` naming the file on a hash mismatch.
    ``launch``: runs the installer's command line with its environment (default: ``_runner.run`` with
    ``INSTALL_TIMEOUT``), after every wheel was checked. ``project_dir``: what ``{project}`` names in a source the
    environment records in place of a removed bundle's wheel (``_record_sources``).
    """
    say = progress or (lambda _line: None)
    bundle = Bundle(bundle_dir)
    packages = bundle.lock.pip_layer()
    wanted = {p.name for p in lock.pip_layer()}
    packages = [p for p in packages if p.name in wanted]
    if not packages:
        return "none"
    with _leftovers.held_dir(Path(tempfile.gettempdir()), "install") as tmp:
        spill = Path(tmp) / "fetched"
        spill.mkdir()
        from ..report import counted

        say(f"checking {counted(len(packages), 'wheel')} against the lock's sha256")
        wheels = _checked_wheels(packages, bundle, offline=offline, spill=spill, allow_urls=allow_urls)
        requirements = Path(tmp) / "requirements.txt"
        pairs = zip(packages, wheels, strict=True)
        built = {p.name: w for p, w in pairs if installs_by_file(p)}
        requirements.write_text(_install_requirements(packages, built), "utf-8")
        # Each folder as its percent-encoded ``file:`` URL: uv reads a ``--find-links`` path as a URL, so the
        # bundle's folder ``/tmp/run#1/bundle/wheels`` sent it to ``/tmp/run``; pip reads the URL as the folder too.
        links = sorted({w.parent.absolute().as_uri() for w in wheels})
        uv = _tools.uv()
        find_links = [arg for d in links for arg in ("--find-links", d)]
        if uv:
            tool = "uv"
            args = [
                uv,
                "pip",
                "install",
                "--python",
                str(python_exe),
                "--no-deps",
                "--no-index",
                *find_links,
                "--require-hashes",
                "--no-build",
                "--quiet",
                "-r",
                str(requirements),
            ]
            if offline:
                args.insert(3, "--offline")
        else:
            tool = "pip"
            args = [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(python_exe),
                "install",
                "--no-deps",
                "--no-index",
                *find_links,
                "--require-hashes",
                "--only-binary",
                ":all:",
                "--no-compile",
                "--quiet",
                "-r",
                str(requirements),
            ]
        say(f"installing {counted(len(packages), 'wheel')} with {tool}")
        res = (launch or _install)(args, isolated_env())
        if not res.ok:
            raise RebuildError(f"{tool} could not install the locked wheels: {_installer_error(res.stderr)}")
    if built and _removed_after(Path(bundle_dir)):
        _record_sources(Path(python_exe), [p for p in packages if p.name in built], project_dir)
    _name_bundle_wheels(Path(python_exe), [p for p in packages if from_a_bundle_wheel(p)])
    _record_file_sources(Path(python_exe), [p for p in packages if installs_its_source_file(p)], project_dir)
    return tool


def _removed_after(bundle_dir: Path) -> bool:
    """Whether ``bundle_dir`` lies in a folder the rebuild removes when it ends (``_leftovers.held_dir``): the bundle
    a rebuild without ``--bundle`` makes, or the folder a bundle archive was unpacked to."""
    return _leftovers.is_leftover_name(bundle_dir.absolute().parent.name)


def _record_sources(python_exe: Path, packages: list[PythonPackage], project_dir: Path | None) -> None:
    """Each of ``packages`` (wheels a bundle built from the lock's source, installed by their file) recorded with that
    source in its ``direct_url.json``, as pip installing it from there writes it (``vcs_info`` with the commit, the
    folder's ``dir_info``, the sdist's ``archive_info``), in place of the installed file's URL: that file lay in a
    folder the rebuild removes, so a capture named a path gone once it ended, which pin and bundle cannot read, and
    the commit or the folder was lost (docs/design.md). RECORD's line for the file is written to match; where this
    machine holds no such source (a label with no project here), the file is removed with its RECORD line (the
    wheel's URL would name that removed folder), and the wheel is named by its file name and sha256 instead
    (``_name_bundle_wheel``)."""
    sites = sorted(python_exe.parent.parent.glob("lib/python*/site-packages"))
    for pkg in packages:
        art = pkg.artifact
        assert art is not None  # installs_by_file
        info = bundle_wheel_dist_info(art)
        found = [path for site in sites if (path := site / info / DIRECT_URL).is_file()]
        if len(found) != 1 or found[0].is_symlink():
            continue
        direct = _direct_url(pkg, project_dir)
        if direct is None:
            # No place here holds the source, and the wheel's folder is gone once the rebuild ends: no URL is true,
            # so none is written, as for an install by name from a wheel folder (docs/design.md). The wheel is
            # named instead, by its file name and sha256 (``BUNDLE_WHEEL_FILE``), which a capture records as the
            # bundle's wheel, so that bundle finds it again where it is (a find-links folder), not on an index.
            found[0].unlink()
            _set_record_line(found[0].parent, DIRECT_URL, "")
            _name_bundle_wheel(found[0].parent, art)
            continue
        data = dist_info_json(direct)
        found[0].write_bytes(data)
        _set_record_line(found[0].parent, DIRECT_URL, record_line(found[0].parent.name, DIRECT_URL, data))


def _name_bundle_wheels(python_exe: Path, packages: list[PythonPackage]) -> None:
    """Each of ``packages`` (``from_a_bundle_wheel``: a wheel no index has and no source here builds, installed by
    name from the bundle's wheels folder, so with no direct_url.json) named in its .dist-info by the wheel's file
    name and sha256 (``_name_bundle_wheel``), so a capture records that wheel again, not an index install."""
    sites = sorted(python_exe.parent.parent.glob("lib/python*/site-packages"))
    for pkg in packages:
        art = pkg.artifact
        assert art is not None  # from_a_bundle_wheel
        found = [path for site in sites if (path := site / bundle_wheel_dist_info(art)).is_dir()]
        if len(found) == 1 and not found[0].is_symlink() and not (found[0] / "direct_url.json").exists():
            _name_bundle_wheel(found[0], art)


def _record_file_sources(python_exe: Path, packages: list[PythonPackage], project_dir: Path | None) -> None:
    """Each of ``packages`` (``installs_its_source_file``: a wheel the lock records as installed from its own file,
    which the bundle pins as that file) recorded with that source in its ``direct_url.json``, as installing the file
    writes it (``archive_info`` with the hash the lock records, if any). Installed by name from the bundle's wheels
    folder, it had none: a capture said "index" and diff of the lock against it a change of source, though the
    installed wheel is the locked file, byte for byte (the same sha256). Where this machine names no such place (a
    ``{project}`` label with no file of that sha256 here), nothing is written: no URL is true then."""
    sites = sorted(python_exe.parent.parent.glob("lib/python*/site-packages"))
    for pkg in packages:
        art = pkg.artifact
        assert art is not None  # installs_its_source_file
        found = [path for site in sites if (path := site / bundle_wheel_dist_info(art)).is_dir()]
        if len(found) != 1 or found[0].is_symlink() or (found[0] / DIRECT_URL).exists():
            continue
        direct = _direct_url(pkg, project_dir)
        if direct is None:
            continue
        data = dist_info_json(direct)
        (found[0] / DIRECT_URL).write_bytes(data)
        _set_record_line(found[0], DIRECT_URL, record_line(found[0].name, DIRECT_URL, data))


def _name_bundle_wheel(dist_info: Path, art: Artifact) -> None:
    """Write ``BUNDLE_WHEEL_FILE`` into ``dist_info``, naming the bundle's wheel installed there (its file name and
    sha256), with its RECORD line: where no direct_url.json can name a place, a capture records that wheel
    (``rebuilt``, no URL), which bundle takes from the bundle's wheels folder given as find-links, not from an
    index, which has none (docs/design.md). The RECORD digest leaves the file out, as it does direct_url.json."""
    data, named = bundle_wheel_marker(dist_info.name, art)
    marker = dist_info / BUNDLE_WHEEL_FILE
    if marker.is_symlink():
        return
    marker.write_bytes(data)
    _set_record_line(dist_info, BUNDLE_WHEEL_FILE, named)


def _set_record_line(dist_info: Path, name: str, line: str) -> None:
    """RECORD of ``dist_info`` with ``line`` as the line of its file ``name`` (in its place, else added at the end);
    ``""``: with no line for it (the file removed)."""
    record = dist_info / "RECORD"
    entry = f"{dist_info.name}/{name},"
    kept, placed = [], False
    for old in record.read_text("utf-8").splitlines():
        if not old.startswith(entry):
            kept.append(old)
        elif line and not placed:
            kept.append(line)
            placed = True
    if line and not placed:
        kept.append(line)
    record.write_text("".join(old + "\n" for old in kept), "utf-8")


def _direct_url(pkg: PythonPackage, project_dir: Path | None) -> dict[str, object] | None:
    """PEP 610's ``direct_url.json`` of ``pkg``'s source (a regular install: a wheel is never editable), its
    ``{project}`` and ``~`` labels made this machine's paths; None where this machine names no such place."""
    url = pkg.source.url
    if url.startswith(("file://{", "file://~")):
        from ..artifacts.pin import here

        try:
            url = here(url, project_dir)
        except (PinError, UnsafeInputError):
            return None
        if url.startswith("file://{"):
            return None  # {prefix}: a folder of the captured environment
        if not _source_here(pkg, url, project_dir):
            # Outside any work tree ``{project}`` is the lock's folder: for a reviewer's unpacked bundle, not the
            # project, whose source the venv would then claim to have been installed from.
            return None
    return source_direct_url(pkg, url)


def _source_here(pkg: PythonPackage, url: str, project_dir: Path | None) -> bool:
    """Whether ``url``, ``pkg``'s labelled source made this machine's path, names it here: the project folder a
    bundle builds from (``local_source``), the repository's folder, the archive's file."""
    from .. import fileurls

    if pkg.source.kind == "directory":
        try:
            local_source(pkg, project_dir)
        except BundleError:
            return False
        return True
    place = fileurls.local_path(url)
    if place is None:
        return False
    if pkg.source.kind == "vcs":
        return place.is_dir()
    if installs_its_source_file(pkg) and pkg.artifact is not None and place.is_file():
        # The locked wheel itself, not another file of its name: the venv would claim to hold that one.
        return sha256_file(place) == pkg.artifact.sha256
    return place.is_file()


def _install(args: list[str], env: dict[str, str]) -> _runner.Result:
    return _runner.run(args, timeout=INSTALL_TIMEOUT, env=env)


def _install_requirements(packages: list[PythonPackage], built: Mapping[str, Path] | None = None) -> str:
    """The installer's input, written here from checked values only: one ``name==version --hash=sha256:HEX``
    line per package. A name, version or hash that is not exactly that grammar (a newline, a space, an
    option such as ``--find-links``) is refused, so no lock value can add a line or an option: with
    ``--no-index`` and ``--no-deps`` the installer reads nothing but the checked wheels.

    ``built``: the checked file of each wheel the bundle built from the lock's source (a commit, a folder, an
    sdist by URL; not the index's sdist, whose source is the index either way), which is
    installed by its ``file:`` URL (``name @ URL#sha256=HEX``): pip and uv then write its PEP 610
    ``direct_url.json`` naming that file (pip its sha256 in ``archive_info``, uv in the URL's fragment), so a
    capture of the venv tells the bundle's wheel from a wheel of that version from an index, which leaves none
    (where that file's folder is removed when the rebuild ends, ``_record_sources`` writes the lock's source there).
    The URL is made from the checked path (percent-encoded: no space, ``#`` or newline survives)."""
    lines = []
    for pkg in sorted(packages, key=lambda p: p.name):
        art = pkg.artifact
        sha = art.sha256 if art is not None else ""
        for ok, what, value in (
            (is_canonical_name(pkg.name), "package name", pkg.name),
            (is_pep440(pkg.version), "version", pkg.version),
            (is_sha256_hex(sha), "sha256", sha),
        ):
            if not ok:
                raise UnsafeInputError(f"{pkg.name[:80]!r}: {what} {shown(value)} cannot go to an installer")
        wheel = (built or {}).get(pkg.name)
        if wheel is not None:
            lines.append(f"{pkg.name} @ {wheel.absolute().as_uri()}#sha256={sha} --hash=sha256:{sha}\n")
        else:
            lines.append(f"{pkg.name}=={pkg.version} --hash=sha256:{sha}\n")
    return "".join(lines)


def _installer_error(stderr: str) -> str:
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in stderr.splitlines()]
    lines = [line for line in lines if line]
    for i, line in enumerate(lines):
        if "hash" in line.lower():
            return " ".join(lines[i : i + 4])
    return " ".join(lines[-3:]) or "no output"


# ------------------------------------------------------------------------------------------ rebuilder


def _base_site_notes(lock: Snapshot) -> list[str]:
    """What a rebuild says of a lock captured in a venv made with ``--system-site-packages``: the packages it found in
    its base interpreter's site-packages are installed into the new venv, which sees no base packages."""
    from ..report import first_few

    names = [p.name for p in lock.pip_layer() if p.base_site]
    if not names:
        return []
    return [
        f"the locked venv saw its base interpreter's site-packages (python -m venv --system-site-packages): "
        f"{first_few(names, 5)} were found there; the rebuilt venv has them installed in its own site-packages, "
        "and sees no base packages"
    ]


def _stand_in_notes(lock: Snapshot) -> list[str]:
    """What a rebuild says of the distributions a dpkg package installed (Debian's python3-yaml's PyYAML): the venv
    gets the index's file of each release in their place (``pin``'s stand-in), another build, in one line."""
    from ..report import first_few

    named = [f"{p.name} {p.version} ({p.system_package})" for p in lock.pip_layer() if p.system_package]
    if not named:
        return []
    return [
        f"installed by a Debian package: {first_few(named, 5)}; the rebuilt venv has the index's file of that "
        "version instead, another build of the same release"
    ]


def _bundle_lock(
    lock: Snapshot, bundle_dir: Path | None, project_dir: Path | None = None, lock_arg: str = "LOCK"
) -> Snapshot:
    """The lock to install from and verify against: ``lock`` with the bundle's package entries (they carry
    every artifact), after checking the bundle was made from it. The rest (interpreter, platform) stays the
    user's, so the interpreter chosen and the verdict printed are about the lock that was asked for."""
    if bundle_dir is None:
        return lock
    bundle = Bundle(bundle_dir)
    bundled = bundle.lock
    if bundled is lock:
        # The bundle's own lock, or one it copied byte for byte: one text is one snapshot (``lockfile.loads``), so
        # it was made from it and carries every artifact already (asked three times a rebuild).
        return lock
    # A bundle of another lock: bad input.
    check_made_from(lock, bundled, bundle.shown(), project_dir=project_dir, lock_arg=lock_arg)
    # Without the RECORD digests of the wheels the bundle built: the files this lock asked for are verified.
    theirs = {p.name: p for p in judged_for(lock, bundled).python.packages}
    packages = tuple(theirs.get(p.name, p) for p in lock.python.packages)
    return dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=packages))


@frozen
class VenvPlanData(PlanData):
    """What the venv plan decided: the interpreter (a path, or "" for one uv downloads) and the installer."""

    installer: str
    python_version: str
    python_path: str  # "" when uv downloads the interpreter at execute time
    bundle: str = ""

    def display(self) -> dict[str, str]:
        where = self.python_path or f"Python {self.python_version} downloaded by uv ({UV_INSTALL})"
        shown = {"installer": self.installer, "python": f"{self.python_version} at {where}"}
        return shown | ({"bundle": self.bundle} if self.bundle else {})


class VenvRebuilder(Rebuilder):
    name = "venv"
    description = "a virtual environment with exactly the locked Python packages"
    default_dest = DEFAULT_DEST
    target_facts = TargetFacts(installs_packages=True)
    bundle_folders = (WHEELS,)

    def preflight_python(
        self, lock: Snapshot, python: str | None, *, offline: bool, dry_run: bool = False
    ) -> str | None:
        """The interpreter the rebuild will use, for the compatibility check (None when none is found yet:
        planning then reports that clearly). A real rebuild may let uv download the locked version here; a
        dry run never does."""
        locked_python(lock)  # a lock that names a path or an option is refused before anything runs
        try:
            return find_interpreter(lock, python, offline=offline, install=not dry_run)[0].path or python
        except RebuildError:
            return python

    def start_early(
        self, request: RebuildRequest, hashed: Callable[[], None], target: Callable[[], Target]
    ) -> EarlyWork | None:
        """The venv made while the check runs (``_Early``), from a bundle directory only."""
        if request.bundle_dir is None or not request.bundle_dir.is_dir():
            return None
        return _Early(self, request, hashed, target)

    def plan(self, request: RebuildRequest) -> Plan:
        lock = _bundle_lock(request.lock, request.bundle_dir, request.project_dir, request.lock_shown())
        if request.offline and request.bundle_dir is None:
            raise BadOptionError("--offline needs --bundle: without a bundle the wheels must be downloaded")
        dest = request.dest.absolute()
        named = self.dest_named(request)
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise BadOptionError(f"{named} {dest}: already exists and is not empty (remove it or choose another)")
        if dest.is_symlink():  # the new folder is renamed into place, where the link is, and never through it
            raise BadOptionError(f"{named} {dest}: a link (remove it, or name the folder it points to)")
        interp, notes = find_interpreter(lock, request.python, offline=request.offline)
        items = [
            PlanItem(
                "interpreter",
                lock.python.implementation or "cpython",
                interp.version,
                origin=f"{interp.path} ({interp.how})" if interp.path else f"({interp.how})",
            )
        ]
        if request.bundle_dir is None:
            # Checked before anything is fetched: local projects present, VCS buildable, disk, as one list.
            count, line = precheck_line(
                lock,
                BundleOptions(
                    project_dir=request.project_dir, allow_urls=request.allow_urls, lock_path=request.lock_path
                ),
            )
            if count:
                raise RebuildError(
                    f"cannot rebuild {count} package(s), nothing was fetched: {line}{_bundle_remedy(request, lock)}"
                )
        for pkg in lock.pip_layer():
            art = pkg.artifact
            if art is not None and art.filename:
                checked_base_name(art.filename)  # it names a file in the bundle and the cache: refused now
            if request.bundle_dir is not None and (art is None or not art.filename):
                # A file known by its sha256 alone (a bundle made by hand or another tool) is no wheel of the bundle:
                # it was planned as ``wheels/`` and failed as "not a valid file name: ''".
                raise RebuildError(f"{package_label(pkg)} has no wheel in the bundle")
            if art is None:
                items.append(_unbundled_item(pkg, request.project_dir))
                continue
            origin = f"wheels/{art.filename}" if request.bundle_dir is not None else art.url
            note = f"rebuilt from {art.url}" if art.rebuilt else ""
            if art.rebuilt and pkg.source.kind == "directory" and pkg.source.editable:
                note += "; editable in the lock: installed as a regular wheel (see the notes)"
            items.append(
                PlanItem("python", pkg.name, pkg.version, origin=origin, pin=f"sha256:{art.sha256}", note=note)
            )
        from ..report import counted

        tool = installer_name()
        where = interp.path or f"Python {interp.version} downloaded by uv ({UV_INSTALL})"
        steps = [
            f"create a venv with {where} in a hidden folder beside {dest}",
            (
                "make a bundle in a temporary folder (pin and download every wheel"
                + (
                    ", build local projects and VCS checkouts into wheels)"
                    if any(p.source.kind in ("directory", "vcs") and p.artifact is None for p in lock.pip_layer())
                    else ")"
                )
                if request.bundle_dir is None
                else f"check every wheel in {request.bundle_shown()} against the lock's sha256"
            ),
            f"install {counted(len(items) - 1, 'wheel')} with {tool}: --require-hashes --no-deps --no-index",
            f"move the venv to {dest}",
            "verify it against the lock",
        ]
        data = VenvPlanData(
            installer=tool,
            python_version=interp.version,
            python_path=interp.path,
            bundle=request.bundle_shown(),
        )
        return Plan(
            target=self.name,
            lock_path=str(request.lock_path),
            dest=str(dest),
            items=tuple(items),
            steps=tuple(steps),
            notes=(
                *request.preflight_notes,
                *notes,
                *outside_project_notes(lock),
                *editable_notes(lock, request.project_dir, dest / "bin" / "python"),
                *_base_site_notes(lock),
                *_stand_in_notes(lock),
                *pth_folder_notes(lock),
            ),
            offline=request.offline,
            data=data,
        )

    def execute(self, plan: Plan, request: RebuildRequest, progress: Progress | None = None) -> RebuildResult:
        say = progress or (lambda _line: None)
        started = time.perf_counter()
        dest = Path(plan.dest)
        data = plan.data
        if not isinstance(data, VenvPlanData):
            raise RebuildError(f"not a venv plan (a plan of the {plan.target} target)")
        python, version = data.python_path, data.python_version
        early = request.early if isinstance(request.early, _Early) else None
        if early is not None and (request.bundle_dir is None or not early.begun(plan, request.bundle_dir)):
            early = None  # it did not get as far as the installer (and what it made is gone): done here instead
        # Until the rebuild returns its verdict (the verify, then every folder's cleanup), an interrupt or a failure
        # takes the venv back out of place once it is moved there: the first exit callback, so the last to run. A
        # Ctrl-C just after the move, or once the verify had finished, left it at --dest, with exit 130.
        placed = Withdrawal(dest)
        with ExitStack() as stack, _leftovers.held_dir(Path(tempfile.gettempdir()), "bundle") as tmp:
            stack.push(placed.on_exit)
            staging = None if early is not None else stack.enter_context(staging_folder(dest))
            bundle_dir = request.bundle_dir
            if bundle_dir is None:
                bundle_dir = request.fetch_wheels(Path(tmp) / "bundle", say)
            lock = _bundle_lock(request.lock, bundle_dir, request.project_dir, request.lock_shown())
            if not python:
                say(f"downloading Python {data.python_version} with uv")
                chosen, fallback = ensure(Interpreter("", data.python_version, UV_INSTALL), lock)
                python, version = chosen.path, chosen.version
                for note in fallback:
                    say(note)
            say(f"creating a venv with Python {version or lock.python.version}")
            probe: PendingProbe | None = None
            stack.callback(lambda: _end(probe))  # unanswered: a failed install, an interrupt
            clean = False
            if early is not None:
                # While the installer runs: the verify's module imported and the lock scrubbed of secrets as the
                # verify reports it (7-10 ms after uv before).
                from .._privacy import scrub_snapshot
                from ..compare import verify as _verify_module  # noqa: F401

                lock, clean = scrub_snapshot(lock), True
                staging, holder, probe = early.take(say)
                stack.enter_context(holder)
            else:
                assert staging is not None
                _create_venv(python, staging)
                probe = _verify_probe(staging, dest, request.use_cache)
                install_python_layer(
                    staging / "bin" / "python",
                    lock,
                    bundle_dir,
                    offline=request.offline,
                    progress=say,
                    allow_urls=request.allow_urls,
                    project_dir=request.project_dir,
                )
            _relocate(staging, dest)
            ready = probe.set_up(PROBE_TIMEOUT)
            if not ready:
                probe.cancel()  # the verify probes the venv afresh once it is moved
            placed.moving()
            try:
                move_into_place(staging, dest)  # an empty folder the user made is replaced
            except FileExistsError:
                placed.not_ours()  # another run's venv is there: never withdrawn
                raise BadOptionError(
                    f"{self.dest_named(request)} {dest}: already exists and is not empty: another run put its own "
                    "there while this one built (remove it or choose another)"
                ) from None
            if ready:
                probe.go()  # it reads the venv while the verify sets up
            say("verifying the new environment against the lock")
            report = _verify(lock, dest, request, probe if ready else None, clean)
        return RebuildResult(
            plan=plan, dest=str(dest), verify=report, notes=plan.notes, seconds=time.perf_counter() - started
        )


class Withdrawal:
    """A venv the rebuild did not finish with (a Ctrl-C or a failure once it is moving into place: while it was
    verified, just before, or after while the rebuild cleaned up) taken back out of place, into a held folder beside
    it that is removed with it: the destination is left as the rebuild found it (an empty folder the user made is
    made again, folders made for it removed), as the docker target tags no image it did not verify. A venv whose
    verdict the rebuild returned stays, whatever the verify found: its report says what differs."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.made = _leftovers.missing_folders(dest.parent)  # before the staging folder makes them
        self.emptied = False
        self.placed = False

    def moving(self) -> None:
        self.emptied = self.dest.is_dir()  # an empty folder the user made, which the plan found
        self.placed = True

    def not_ours(self) -> None:
        self.placed = False

    def on_exit(self, kind: type[BaseException] | None, _exc: object, _tb: object) -> bool:
        if kind is None:
            # The verdict is returned: from here until the command has printed its report, an interrupt is held
            # off (the venv stays, and the exit status is the verdict's), as one before this line withdraws it.
            try:
                _signalhold.begin()
            except KeyboardInterrupt:
                _signalhold.abandon()
                self._withdraw()
                raise
            return False
        if self.placed:
            self._withdraw()
        return False  # the exception goes on

    def _withdraw(self) -> None:
        if not self.placed:
            return
        with contextlib.suppress(OSError), _leftovers.held_dir(self.dest.parent, "venv") as holder:
            os.replace(self.dest, holder / "venv")
        if self.emptied:
            with contextlib.suppress(OSError):
                self.dest.mkdir()
        else:
            _leftovers.remove_empty(self.made)


def _verify_probe(staging: Path, dest: Path, use_cache: bool) -> PendingProbe:
    """The verify's probe of the new venv, started in ``staging`` before the installer, so that the interpreter
    has started and the probe is set up while the installer runs; it reads the venv at ``dest`` once told (the
    verify asks for its answer once the venv is moved there)."""
    return PendingProbe(
        str(staging / "bin" / "python"),
        use_cache=use_cache,
        moved=(str(staging), str(dest)),
        named=_new_venv_named(dest),
    )


def _new_venv_named(dest: Path) -> str:
    """How a failed probe of the new venv names its interpreter: as the environment's, at ``dest``, where it is
    (or will be) moved; it read ``--python DEST/bin/python``, an option no one typed."""
    return interpreter_named(str(dest / "bin" / "python"), "rebuild")


def _end(probe: PendingProbe | None) -> None:
    if probe is not None:
        probe.cancel()  # nothing once it has answered


def _verify(
    lock: Snapshot, dest: Path, request: RebuildRequest, probe: PendingProbe | None, scrubbed: bool = False
) -> VerifyReport:
    """The new venv at ``dest`` verified against the lock, with the host facts the check captured, by ``probe``
    (``_verify_probe``); without it, or if it failed, by a probe started afresh at ``dest``, whose answer or
    failure is the verify's. ``scrubbed``: ``lock`` is scrubbed of secrets already (``verify``)."""
    from ..compare.verify import verify

    python = str(dest / "bin" / "python")
    if probe is not None:
        try:
            return verify(
                lock,
                python,
                same_host=request.host,
                cache=request.use_cache,
                probe=probe,
                scrubbed=scrubbed,
                gpu_timeout=request.gpu_timeout,
                gpu_kernels=kernel_differences,
                python_named=_new_venv_named(dest),
                project=request.project_named(),
            )
        except ProbeError:
            if probe.answered:
                raise
    return verify(
        lock,
        python,
        same_host=request.host,
        cache=request.use_cache,
        scrubbed=scrubbed,
        gpu_timeout=request.gpu_timeout,
        gpu_kernels=kernel_differences,
        python_named=_new_venv_named(dest),
        project=request.project_named(),
    )


class _NotBegun(Exception):
    """Early work ends here, before the installer started: ``execute`` does the work itself."""


class _Early(EarlyWork):
    """The venv made while the compatibility check runs (``VenvRebuilder.start_early``), in the hidden staging
    folder beside ``--dest``, by the steps ``execute`` takes and in its order: the plan's checks (the
    destination, the wheels' file names, the interpreter), the venv created, then, once the bundle's files are
    hashed, its SHA256SUMS and every wheel checked against the lock, then the installer, which starts only when
    the check's disk rule passes for this target (what is begun early never fills a disk the check would refuse).

    Nothing is printed or fetched before the installer starts (the wheels come from the bundle alone): a step
    that fails or finds something missing ends the work, what it made is removed, and ``execute`` does the work
    itself after the check, finding and reporting what it finds as it always did. Once the installer has
    started, its progress lines and its outcome are ``execute``'s (``take``). A failed check cancels it: the
    installer is killed and the staging folder removed (``cancel``), and the check's failure is reported as
    before."""

    def __init__(
        self,
        rebuilder: VenvRebuilder,
        request: RebuildRequest,
        hashed: Callable[[], None],
        target: Callable[[], Target],
    ) -> None:
        self._request, self._hashed, self._target = request, hashed, target
        self._stack = ExitStack()
        self._guard = threading.Lock()
        self._cancelled = False
        self._running: _runner.Running | None = None
        self._launched = False
        self._settled = threading.Event()  # the installer started, or the work ended
        self._done = threading.Event()
        self._lines: list[str] = []
        self._plan: Plan | None = None
        self._staging: Path | None = None
        self._probe: PendingProbe | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, args=(rebuilder,), name="envsnap-early-venv", daemon=True)
        self._thread.start()

    def _work(self, rebuilder: VenvRebuilder) -> None:
        try:
            self._steps(rebuilder)
        except BaseException as exc:
            self._error = exc
        finally:
            self._done.set()
            self._settled.set()

    def _go_on(self) -> None:
        if self._cancelled:
            raise _NotBegun()

    def _steps(self, rebuilder: VenvRebuilder) -> None:
        request = self._request
        plan = rebuilder.plan(request)
        data = plan.data
        if not isinstance(data, VenvPlanData) or not data.python_path or request.bundle_dir is None:
            raise _NotBegun()  # an interpreter uv must download first: not before the check
        self._go_on()
        # The venv the CLI began before the lock was read, when it is made from this interpreter for this
        # destination (``_venvahead``); otherwise one made here.
        ahead = request.venv_ahead.take(data.python_path, Path(plan.dest)) if request.venv_ahead else None
        if ahead is not None:
            folder, holder = ahead
            self._stack.enter_context(holder)
        else:
            folder = self._stack.enter_context(staging_folder(Path(plan.dest)))
            _create_venv(data.python_path, folder)
        self._probe = _verify_probe(folder, Path(plan.dest), request.use_cache)  # ended by ``cancel`` or ``take``
        self._hashed()
        self._go_on()
        Bundle(request.bundle_dir).verify_sums()  # what ``open_bundle`` checks of a directory
        self._plan, self._staging = plan, folder
        install_python_layer(
            folder / "bin" / "python",
            _bundle_lock(request.lock, request.bundle_dir, request.project_dir, request.lock_shown()),
            request.bundle_dir,
            offline=True,
            progress=self._lines.append,
            allow_urls=request.allow_urls,
            launch=self._launch,
            project_dir=request.project_dir,
        )

    def _launch(self, args: list[str], env: dict[str, str]) -> _runner.Result:
        from ._preflight import disk_allows, disk_need

        target = self._target()
        if not disk_allows(self._request.lock, target):
            raise _NotBegun()
        ahead = self._request.venv_ahead
        with self._guard:
            self._go_on()
            begun = None
            if ahead is not None:
                # The installer the CLI began from the last rebuild of this lock and bundle, when it is this one.
                try:
                    begun = ahead.adopt(args, env)
                except NotTheSame:
                    raise _NotBegun() from None
            self._running = running = begun or _runner.start(args, env=env)
            self._launched = True
        self._settled.set()
        if ahead is not None:
            ahead.note_launch(args, disk_need(self._request.lock, target))
        return running.wait(INSTALL_TIMEOUT)

    def settle(self, timeout: float) -> None:
        self._settled.wait(timeout)

    def begun(self, plan: Plan, bundle_dir: Path) -> bool:
        """Whether this work started the installer for the same plan and bundle (``take`` then gives its
        outcome); when not, it is ended and what it made removed, for ``execute`` to do the work itself."""
        self._settled.wait()
        same = (
            self._plan is not None
            and isinstance(plan.data, VenvPlanData)
            and isinstance(self._plan.data, VenvPlanData)
            and (plan.dest, plan.data.python_path) == (self._plan.dest, self._plan.data.python_path)
            and self._request.bundle_dir is not None
            and os.path.samefile(bundle_dir, self._request.bundle_dir)
        )
        if not (self._launched and same):
            self.cancel()
            return False
        return True

    def take(self, say: Progress) -> tuple[Path, ExitStack, PendingProbe]:
        """After ``begun``: the staging folder with the wheels installed, what removes its holder, and the
        verify's probe (``_verify_probe``, the caller's to end); the progress lines are said first, and an
        installer's failure is raised as ``install_python_layer`` raises it (the probe ended)."""
        for line in self._lines:
            say(line)
        self._done.wait()
        if self._error is not None:
            if self._probe is not None:
                self._probe.cancel()
            raise self._error
        assert self._staging is not None and self._probe is not None
        return self._staging, self._stack.pop_all(), self._probe

    def cancel(self) -> None:
        with self._guard:
            self._cancelled = True
            running = self._running if not self._done.is_set() else None
        if running is not None:
            running.kill()
        self._thread.join()
        if self._probe is not None:
            self._probe.cancel()
        self._stack.close()


def _bundle_remedy(request: RebuildRequest, lock: Snapshot) -> str:
    """For a lock that is a bundle's (``supp/envsnap.lock``, ``SHA256SUMS`` beside it), rebuilt without ``--bundle``:
    that bundle holds every file the lock names, the wheels it built from the author's project included, so it is
    the remedy (not ``--project``, a project the reader of a bundle does not have). For another lock whose local
    project is not here (the author's ``file://~/labutil``): a bundle of the lock, which holds the wheel built from
    it, or the project cloned or copied to that folder (the line said only that the folder does not exist). ""
    for any other lock."""
    from ..sinks import shell_shown  # the user's folder: shell_word refuses a newline in it

    folder = bundle_holding(request.lock_path)
    if folder is not None:
        named = shell_shown([folder])
        return f"; the lock is a bundle's, which holds its wheels: rebuild from it with --bundle {named}"
    missing = missing_local_trees(lock.pip_layer(), request.project_dir)
    if not missing:
        return ""
    if len(missing) == 1:
        return (
            "; a bundle of this lock holds the wheel built from it: rebuild with --bundle DIR, or clone or copy the "
            f"project to {shell_shown([str(missing[0])])}"
        )
    return (
        "; a bundle of this lock holds the wheels built from them: rebuild with --bundle DIR, or clone or copy each "
        "project to the folder named"
    )


def _unbundled_item(pkg: PythonPackage, project_dir: Path | None) -> PlanItem:
    """A package the rebuild must first pin or build: the plan says which, and from where."""
    src = pkg.source
    if src.kind == "directory":
        tree = local_source(pkg, project_dir)  # precheck has found it
        editable = "; it is editable in the lock: installed as a regular wheel (see the notes)" if src.editable else ""
        return PlanItem(
            "python",
            pkg.name,
            pkg.version,
            origin=f"{tree} (local project)",
            note=f"built into a wheel (PEP 517) and installed{editable}",
        )
    if src.kind == "vcs":
        from ..purls import vcs_url  # a VCS package in the plan only

        # Its folder inside the repository too (``#subdirectory=``): two packages of one monorepo commit read alike.
        return PlanItem(
            "python",
            pkg.name,
            pkg.version,
            origin=vcs_url(src),
            note="cloned at the commit, built into a wheel and installed",
        )
    if pkg.candidates:
        return PlanItem(
            "python",
            pkg.name,
            pkg.version,
            origin=f"one of the {len(pkg.candidates)} files the import kept",
            note="the file for this target, checked against its sha256",
        )
    return PlanItem("python", pkg.name, pkg.version, origin="to be pinned and fetched")


def _create_venv(python: str, where: Path) -> None:
    uv = _tools.uv()
    args = uv_venv_args(uv, python, where) if uv else [python, "-m", "venv", "--without-pip", str(where)]
    res = _runner.run(args, timeout=VENV_TIMEOUT, env=isolated_env())
    if not res.ok:
        raise RebuildError(f"could not create a venv with {python}: {_installer_error(res.stderr)}")


def _relocate(staging: Path, dest: Path) -> None:
    """Rewrite the staging path to the final one in scripts and pyvenv.cfg (shebangs, activate scripts): each
    regular file (not a link) of up to 1 MiB that names it, in place, its mode kept. Written over and then cut to
    its new length, not truncated first: freeing a file's blocks and taking new ones made this 10-12 ms of a
    150-distribution rebuild (60 scripts), after its installer, against 1.5 ms. Each place is written as it is
    read there (``moved_script``: quoted for its shell, a ``#!`` line that cannot hold the path made a launcher)."""
    from ._moved import moved_script

    old, new = os.fsencode(staging), os.fsencode(dest)
    with os.scandir(staging / "bin") as found:
        scripts = [entry.path for entry in found if entry.is_file(follow_symlinks=False)]
    for path in [str(staging / "pyvenv.cfg"), *scripts]:
        try:
            handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            info = os.fstat(handle)
            small = stat.S_ISREG(info.st_mode) and info.st_size <= 1 << 20
            data = b"".join(iter(functools.partial(os.read, handle, 1 << 20), b"")) if small else b""
        finally:
            os.close(handle)
        moved = moved_script(os.path.basename(path), data, old, new)
        if moved != data:
            data = moved
            with open(path, "r+b") as rewritten:
                rewritten.write(data)
                rewritten.truncate()


REBUILDER = VenvRebuilder()

__all__ = [
    "REBUILDER",
    "Interpreter",
    "VenvRebuilder",
    "find_interpreter",
    "install_python_layer",
    "isolated_env",
    "sha256_file",
]
