"""``--target conda``: a conda prefix holding exactly the locked conda packages, then the pip layer on top.

Nothing is solved. Every locked package archive is fetched (or taken from ``BUNDLE/conda/``) and checked
against the lock's md5 and sha256 before anything is installed; then the installer links exactly those
archives into a fresh prefix:

- ``rattler`` (the default, embedded through py-rattler): ``rattler.install()`` with one ``RepoDataRecord``
  per locked package, built from the lock (name, version, build, subdir, noarch, depends, hashes);
- ``conda`` / ``mamba`` / ``micromamba`` (when asked with ``--engine`` and found on PATH): ``create --file``
  with an ``@EXPLICIT`` list of the checked archives.

The installers are given the local, checked archives, so the records they write name those files; envsnap
then writes the locked URL and channel back into each ``conda-meta`` record, so the new prefix says where
its packages came from, as the captured one did. The pip layer is installed by the venv target's machinery
(hash-checked wheels, no resolution) with the prefix's own interpreter, and the result is verified: the
conda layer must match the lock record for record, the Python layer package for package.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mmap
import os
import secrets
import shutil
import stat
import string
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from pathlib import Path

from .. import _gcpause, _leftovers, _readlimits, _runner, sinks
from .._defaults import CONDA_CACHE, cache_dir, install_hint
from .._frozen import frozen
from .._fs import atomic_write_text, join_base_name, move_into_place
from .._plugins import Options, flag
from .._prehash import sha256_file
from ..artifacts import bundle as bundle_layout
from ..artifacts.conda import (
    CONDA_DIR,
    archive_name,
    fetch_all,
    install_order,
    label,
    refuse_unfetchable,
    unusable,
)
from ..compare.conda import compare_conda, pip_packages
from ..compat import kernel_differences
from ..compat.target import TargetFacts, conda_refusal
from ..errors import IncompatibleLockError, RebuildError, UnsafeInputError
from ..grammar import has_control, is_conda_name
from ..model import Conda, CondaPackage, PythonPackage, Snapshot
from ..platforms import with_article
from ..probes import conda as conda_probe
from ..probes.records import generated_script
from ..probes.target import interpreter_named
from ._editable import editable_notes
from ._pth import pth_folder_notes
from .interface import BadOptionError, Plan, PlanData, PlanItem, Progress, Rebuilder, RebuildRequest, RebuildResult

ENGINES = ("rattler", "conda", "mamba", "micromamba")
INSTALL_TIMEOUT = 3600.0


# ------------------------------------------------------------------------------------------ engines


def rattler_records(packages: Iterable[CondaPackage], archives: Mapping[str, Path]) -> list[object]:
    """One py-rattler ``RepoDataRecord`` per locked package, pointing at its checked local archive."""
    from rattler import BuildString, NoArchType, PackageRecord, RepoDataRecord

    records: list[object] = []
    for pkg in packages:
        record = PackageRecord(
            name=pkg.name,
            version=pkg.version,
            build=BuildString(pkg.build),
            build_number=pkg.build_number,
            subdir=pkg.subdir,
            noarch=NoArchType(pkg.noarch or None),
            depends=list(pkg.depends),
            md5=bytes.fromhex(pkg.md5) if pkg.md5 else None,
            sha256=bytes.fromhex(pkg.sha256) if pkg.sha256 else None,
        )
        path = archives[pkg.name]
        records.append(RepoDataRecord(record, path.name, path.as_uri(), pkg.channel))
    return records


POST_LINK_TIMEOUT = 600.0
POST_LINK_SHOWN_LINES = 8
POST_LINK_SHOWN_LINE = 200
_TERMINAL_SEQUENCE = r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?)"


def script_output(stdout: str, stderr: str) -> str:
    """What a package's script printed, as an error may show it: its last lines (stdout's, then stderr's, where
    the reason usually is), each cut short, terminal sequences dropped and every other control character made
    visible. The script is the package's: untrusted."""
    import re

    from ..grammar import strip_terminal

    lines = []
    for text in (stdout, stderr):
        for line in re.sub(_TERMINAL_SEQUENCE, "", text).splitlines():
            line = strip_terminal(line).strip()
            if line:
                cut = len(line) > POST_LINK_SHOWN_LINE
                lines.append(line[:POST_LINK_SHOWN_LINE] + (" [...]" if cut else ""))
    shown = lines[-POST_LINK_SHOWN_LINES:]
    return ("[...] " if len(lines) > len(shown) else "") + " | ".join(shown) if shown else "nothing"


def run_post_link_scripts(conda: Conda, prefix: Path, where: Path) -> tuple[str, ...]:
    """Run each package's ``bin/.NAME-post-link.sh`` as conda and rattler do (bash, with ``PREFIX``,
    ``PKG_NAME``, ``PKG_VERSION``, ``PKG_BUILDNUM``, the prefix's ``bin`` first on ``PATH``), dependencies first
    (``install_order``, the lock's order between packages that do not depend on each other), through the runner
    with a timeout. The first that fails stops the rebuild with what it printed: rattler only logged a failure,
    and its output where envsnap cannot read it. Returns a note per script that left the user a message in
    ``$PREFIX/.messages.txt`` (which conda prints once the environment is made)."""
    notes: list[str] = []
    messages = prefix / ".messages.txt"
    for pkg in install_order(conda.packages):
        if not is_conda_name(pkg.name):  # the lock's name becomes a file name: never one that leaves bin/
            raise UnsafeInputError(f"conda package {pkg.name[:80]!r}: not a conda package name")
        script = _post_link_script(prefix, pkg)
        if not script.is_file():
            continue
        env = {
            **os.environ,
            "PREFIX": str(prefix),
            "CONDA_PREFIX": str(prefix),
            "PKG_NAME": pkg.name,
            "PKG_VERSION": pkg.version,
            "PKG_BUILDNUM": str(pkg.build_number),
            "PATH": os.pathsep.join([str(prefix / "bin"), *filter(None, [os.environ.get("PATH", "")])]),
        }
        res = _runner.run(["bash", str(script)], timeout=POST_LINK_TIMEOUT, env=env, cwd=prefix)
        said, odd = _read_messages(messages)
        who = f"{label(pkg)}: its post-link script"
        if odd:
            notes.append(_odd_messages(who, odd))
        if res.ok:
            if said:
                notes.append(_messages_said(who, "says", said, prefix, where))
            continue
        how = (
            f"ran past {POST_LINK_TIMEOUT:.0f} s"
            if res.timed_out
            else "printed too much"
            if res.flooded
            else f"failed (exit status {res.returncode})"
        )
        raise RebuildError(
            f"py-rattler could not install the locked packages into {where}: the post-link script "
            f"bin/.{pkg.name}-post-link.sh of {label(pkg)} {how}, as conda would refuse it; it printed: "
            # The hidden folder it ran in is the prefix asked for once moved; it is gone when the message is read.
            f"{script_output(res.stdout, res.stderr).replace(str(prefix), str(where))}"
        )
    return tuple(notes)


def _post_link_script(prefix: Path, pkg: CondaPackage) -> Path:
    """A package's post-link script in ``prefix``, where conda packages put it (its name is a conda name)."""
    return prefix / "bin" / f".{pkg.name}-post-link.sh"


def _odd_messages(who: str, odd: str) -> str:
    """The note of a ``$PREFIX/.messages.txt`` that is ``odd`` (a pipe, a folder): removed unread."""
    return f"{who} left $PREFIX/.messages.txt as {odd}, not a file: not read"


def _messages_said(who: str, verb: str, said: str, prefix: Path, where: Path) -> str:
    """The note of what a post-link script left the user to read, cut short and escaped, with the staging
    ``prefix`` named as ``where`` it is once moved."""
    return f"{who} {verb}: {script_output(said, '').replace(str(prefix), str(where))}"


def install_with_rattler(
    conda: Conda,
    archives: Mapping[str, Path],
    prefix: Path,
    cache: Path,
    *,
    shown: Path | None = None,
    progress: Progress | None = None,
) -> tuple[str, ...]:
    """Install into ``prefix``; ``shown`` is the prefix a failure names: the ``--prefix`` a staging folder becomes
    (the hidden staging folder itself is removed before the message is read). Returns the post-link scripts'
    messages to the user, as notes. ``progress`` hears of an interrupt, which waits for rattler's writing to end."""
    import rattler

    where = shown or prefix

    # rattler links the records it is given in parallel, in no order of the lock's; the post-link scripts run
    # after, here (docs/design.md, after "An explicit file records no depends").
    records = rattler_records(conda.packages, archives)

    async def install() -> None:
        await rattler.install(
            records,  # type: ignore[arg-type]
            prefix,
            cache_dir=cache,
            platform=rattler.Subdir(conda.subdir) if conda.subdir else None,
            execute_link_scripts=False,  # run below, where their output and a timeout are envsnap's
            show_progress=False,
        )

    said = progress or (lambda line: None)
    try:
        # Interrupted, its install ends (as it would have: a failure too) before the interrupt goes on; then the
        # folders it wrote are waited on as after a failure.
        to_its_end(
            lambda: asyncio.run(install()),
            "py-rattler",
            said,
            settle=lambda left: quiet_folders((prefix, cache), wait=left),
        )
    except Exception as exc:  # py-rattler raises its own exception type per cause (link, cache, IO)
        # Its install fails at the first package that fails while its own threads still unpack and link others:
        # the staging folder, removed under them, was left beside --prefix (a "File name too long" past PATH_MAX).
        try:
            quiet_folders((prefix, cache))
        except KeyboardInterrupt:
            # A first Ctrl-C as those threads still write: waited out as one during the install is.
            said(waiting_line("py-rattler"))
            quiet_folders((prefix, cache))
            raise
        raise RebuildError(f"py-rattler could not install the locked packages into {where}: {exc}") from None
    return run_post_link_scripts(conda, prefix, where)


# How long an interrupted rebuild waits for py-rattler to stop writing (a CUDA environment's gigabytes take it
# a minute or two); another Ctrl-C leaves at once, and the next rebuild or `envsnap clean` removes what it left.
RATTLER_STOP_WAIT_S = 300

# How long nothing may change in the folders py-rattler wrote before a failed install's are taken as done with.
RATTLER_QUIET_S = 1.0


def _written(folders: Iterable[Path]) -> tuple[int, int, int]:
    """What ``folders`` hold, to see it change: their entries, bytes and latest change (links not followed)."""
    count = size = latest = 0
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in (*dirnames, *filenames):
                with contextlib.suppress(OSError):
                    st = os.lstat(os.path.join(dirpath, name))
                    count, size, latest = count + 1, size + st.st_size, max(latest, st.st_mtime_ns)
    return count, size, latest


def quiet_folders(folders: Iterable[Path], quiet: float = RATTLER_QUIET_S, wait: float = RATTLER_STOP_WAIT_S) -> None:
    """Return once nothing in ``folders`` has changed for ``quiet`` seconds (at most ``wait``): py-rattler's threads
    go on writing after its install has failed, and no call says when they are done."""
    folders = tuple(folders)
    deadline = time.monotonic() + wait
    seen = _written(folders)
    since = time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.05)
        now = _written(folders)
        if now != seen:
            seen, since = now, time.monotonic()


def waiting_line(who: str, wait: float = RATTLER_STOP_WAIT_S) -> str:
    """What an interrupted rebuild says while it waits for ``who`` to stop writing."""
    return f"interrupted: waiting for {who} to stop writing (up to {wait:g} s; Ctrl-C again to leave at once)"


def to_its_end(
    work: Callable[[], object],
    who: str,
    progress: Progress,
    wait: float = RATTLER_STOP_WAIT_S,
    settle: Callable[[float], object] | None = None,
) -> None:
    """Run ``work`` on a thread, to its end even when interrupted. py-rattler installs on threads of its own (a
    tokio runtime's), which a Ctrl-C does not stop: run on the main thread, the interrupt left it writing packages
    into the staging folder (its ``pkgs`` cache and prefix) while that folder was removed, and the folder was left
    behind, sometimes with a Rust panic's backtrace printed. Interrupted, this waits for ``work`` (up to ``wait``
    seconds, saying so), then for ``settle``, given what is left of those seconds (what ``work`` started may write on
    after it ended: py-rattler's threads after its install failed; the two together take no longer than the line
    says), and then lets the interrupt go on, so that what it wrote is removed with the rest.
    Another Ctrl-C leaves at once."""
    import threading

    failed: list[BaseException] = []
    # An event, not Thread.join: a join a KeyboardInterrupt broke takes the thread as ended, and the next one
    # returned at once (CPython 3.11).
    ended = threading.Event()
    # Whether ``work`` began, decided once under the lock: an interrupt that lands in ``Thread.start`` (the thread
    # may already run) waits for a work that began, and keeps one that had not from beginning.
    gate = threading.Lock()
    state = {"began": False, "called_off": False}

    def run() -> None:
        with gate:
            if state["called_off"]:
                ended.set()
                return
            state["began"] = True
        try:
            work()
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)
        finally:
            ended.set()

    try:
        threading.Thread(target=run, name=f"envsnap-{who}", daemon=True).start()
        while not ended.wait(0.2):
            pass
    except KeyboardInterrupt:
        with gate:
            state["called_off"] = True
            began = state["began"]
        if began:
            progress(waiting_line(who, wait))
            deadline = time.monotonic() + wait
            if ended.wait(wait) and settle is not None:
                settle(max(0.0, deadline - time.monotonic()))
        raise
    if failed:
        raise failed[0]


def _read_messages(path: Path) -> tuple[str, str]:
    """The ``.messages.txt`` a post-link script left, removed (conda and rattler leave none in the prefix): its
    first 64 KiB, read as a file of the package's, and ``""``; or, for one that is no regular file, ``""`` and what
    it is (``"a pipe"``): never read (a pipe's open waits for a writer that never comes, a link leads anywhere)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return "", ""
    except OSError:  # the script took the prefix's permissions away
        return "", "something that cannot be read"
    what = _NOT_A_FILE.get(stat.S_IFMT(info.st_mode), "")
    data = b""
    if not what:
        try:
            # Non-blocking and no link followed: what is opened is checked again, it may have changed since.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            what = "something that cannot be opened"
        else:
            with os.fdopen(fd, "rb") as handle:
                kind = stat.S_IFMT(os.fstat(handle.fileno()).st_mode)
                if kind == stat.S_IFREG:
                    data = handle.read(1 << 16)
                else:
                    what = _NOT_A_FILE.get(kind, "something else")
    with contextlib.suppress(OSError):  # gone already, or not ours to remove: the prefix is checked after
        if stat.S_ISDIR(path.lstat().st_mode):
            shutil.rmtree(path)
        else:
            path.unlink()
    return ("", what) if what else (data.decode(errors="replace"), "")


_NOT_A_FILE = {
    stat.S_IFIFO: "a pipe",
    stat.S_IFDIR: "a folder",
    stat.S_IFLNK: "a link",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
}


def explicit_text(conda: Conda, archives: Mapping[str, Path]) -> str:
    """An ``@EXPLICIT`` list of the checked local archives for conda / mamba / micromamba, dependencies before
    their dependents (``install_order``, as the conda-explicit export lists them): these installers link the file
    in the order given, and a post-link script may run what it depends on. A captured lock is by name."""
    # One package a line: a subdir or hash holding a newline must add none.
    with sinks.refusing(RebuildError, "cannot write the explicit file"):
        lines = [f"# platform: {sinks.conda_subdir(conda.subdir)}", "@EXPLICIT"]
        for pkg in install_order(conda.packages):
            lines.append(sinks.conda_url_line(archives[pkg.name].as_uri(), pkg.md5, pkg.sha256))
    return "\n".join(lines) + "\n"


def engine_command(engine: str, exe: str, prefix: Path, explicit: Path) -> list[str]:
    args = [exe, "create", "--yes", "--prefix", str(prefix), "--file", str(explicit), "--offline"]
    if engine == "micromamba":
        args.insert(2, "--no-rc")  # a user's .mambarc must not add channels or pins
    return args


def install_with_executable(
    engine: str,
    exe: str,
    conda: Conda,
    archives: Mapping[str, Path],
    prefix: Path,
    work: Path,
    *,
    shown: Path | None = None,
) -> tuple[str, ...]:
    """``shown``: the prefix a failure names, as for ``install_with_rattler``. Returns the post-link scripts'
    messages to the user, as a note (``engine_notes``)."""
    explicit = work / "explicit.txt"
    explicit.write_text(explicit_text(conda, archives), encoding="utf-8")
    env = {**os.environ, "CONDA_PKGS_DIRS": str(work / "pkgs")}
    res = _runner.run(engine_command(engine, exe, prefix, explicit), timeout=INSTALL_TIMEOUT, env=env)
    if res.timed_out:
        raise RebuildError(f"{engine} could not install the locked packages: it ran past {INSTALL_TIMEOUT:.0f} s")
    if not res.ok:
        # Its last lines, not the last alone: conda ends a failed post-link script's report, whose output says
        # why, with "return code: 1" and "()". What the packages' scripts printed is untrusted: escaped.
        said = script_output("", res.stderr or res.stdout) if (res.stderr or res.stdout).strip() else "no output"
        raise RebuildError(
            f"{engine} could not install the locked packages: {said.replace(str(prefix), str(shown or prefix))}"
        )
    return engine_notes(engine, conda, prefix, res.stdout, shown or prefix)


def engine_notes(engine: str, conda: Conda, prefix: Path, stdout: str, where: Path) -> tuple[str, ...]:
    """What the post-link scripts left the user to read, after an engine installed ``prefix``, as the note
    ``run_post_link_scripts`` makes of it: libmamba (mamba, micromamba) prints ``$PREFIX/.messages.txt`` and leaves
    it in the prefix, where it is read and removed; conda prints it inside its ``Executing transaction:`` line, up
    to that line's ``done``, and removes it. The engine says no more of which script wrote it than which packages
    have one."""
    said, odd = _read_messages(prefix / ".messages.txt")
    if not said and not odd and engine == "conda":
        _, mark, rest = stdout.partition("Executing transaction: ")
        lines = rest.removeprefix("...working... ").splitlines() if mark else []
        ends = [i for i, line in enumerate(lines) if line.strip() == "done"]
        said = "\n".join(lines[: ends[-1]]) if ends else ""
    if not said.strip() and not odd:
        return ()
    scripted = [
        label(pkg)
        for pkg in install_order(conda.packages)
        if is_conda_name(pkg.name) and _post_link_script(prefix, pkg).is_file()
    ]
    who = (
        f"{scripted[0]}: its post-link script"
        if len(scripted) == 1
        else f"the post-link scripts of {', '.join(scripted)}"
        if scripted
        else "a post-link script"
    )
    if odd:
        return (_odd_messages(who, odd),)
    return (_messages_said(who, "say" if len(scripted) > 1 else "says", said, prefix, where),)


def restore_provenance(prefix: Path, conda: Conda) -> None:
    """Write each locked package's URL, channel and hashes back into its conda-meta record (the installer
    saw a local, already checked copy of the archive)."""
    by_key: dict[tuple[object, object, object], CondaPackage] = {
        (p.name, p.version, p.build): p for p in conda.packages
    }
    for path in sorted((prefix / conda_probe.META_DIR).glob("*.json")):
        # Written by the installer from the packages' own metadata: bounded and guarded like any untrusted JSON.
        data = _readlimits.read_json(path, error=RebuildError, what="conda-meta record")
        if not isinstance(data, dict):
            raise RebuildError(f"{path}: a conda-meta record is not a JSON object")
        pkg = by_key.get((data.get("name"), data.get("version"), data.get("build")))
        if pkg is None:
            continue
        data["url"] = pkg.url
        data["channel"] = pkg.channel
        # envsnap checked these very bytes against the lock; some installers leave a hash out of the record.
        for algo in ("md5", "sha256"):
            if getattr(pkg, algo):
                data[algo] = getattr(pkg, algo)
        # Replaced whole (never half-written), but not fsync'ed one by one: a prefix that a crash interrupts
        # is removed and rebuilt anyway, and an fsync per record triples the time of a locked install.
        part = path.with_name(f".{path.name}.part")
        part.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(part, path)


# ---------------------------------------------------------------------------------------- rebuilder


@frozen
class CondaOptions(Options):
    """The conda target's options."""

    engine: str = field(
        default="rattler",
        metadata=flag(
            "conda target: the installer (default: rattler, embedded; the others must be on PATH)", choices=ENGINES
        ),
    )
    cache_dir: str = ""  # where fetched archives are kept (default: envsnap's cache); --option cache_dir=DIR

    def __post_init__(self) -> None:
        if self.engine and self.engine not in ENGINES:
            raise BadOptionError(f"--engine {self.engine}: unknown (known: {', '.join(ENGINES)})")
        if self.engine and self.engine != "rattler":
            _executable(self.engine)  # a tool the option names that is not there: bad input, before any work


@frozen
class CondaPlanData(PlanData):
    """What the conda plan decided: the installer (engine and the program or library that is it)."""

    engine: str
    tool: str
    subdir: str
    channels: tuple[str, ...]
    bundle: str = ""

    def display(self) -> dict[str, str]:
        shown = {"engine": f"{self.engine}: {self.tool}", "subdir": self.subdir, "channels": ", ".join(self.channels)}
        return shown | ({"bundle": self.bundle} if self.bundle else {})


def _engine(options: CondaOptions) -> tuple[str, str]:
    engine = options.engine or "rattler"
    if engine == "rattler":
        try:
            import rattler  # noqa: F401
        except ImportError:
            raise RebuildError(
                f"the conda target needs py-rattler (reinstall envsnap: {install_hint()}) "
                "(or pass --engine conda|mamba|micromamba)"
            ) from None
        return engine, "py-rattler (embedded)"
    return engine, _executable(engine)


def _executable(engine: str) -> str:
    exe = shutil.which(engine)
    if exe is None:
        raise BadOptionError(f"--engine {engine}: no {engine} executable on PATH")
    return exe


def _runs_here(conda: Conda, lock_path: Path) -> None:
    """A lock of another conda platform (``linux-64`` on ``osx-arm64``) is one this host cannot run: conda installs
    a platform's packages on that platform only. Said before the check, which judges it too (the ``platform``
    rule) but which ``--force`` overrides: it was exit 4, "the rebuild failed", after the whole check."""
    host = conda_probe.current_subdir()
    if conda.subdir and conda.subdir != host:
        raise IncompatibleLockError(
            f"{lock_path}: the lock's conda packages are for {conda.subdir} and this host is {host}: conda cannot "
            f"install them here (rebuild it on {with_article(conda.subdir)} host)"
        )


def _locked_conda(lock: Snapshot, lock_path: Path) -> Conda:
    """The lock's conda layer. A lock without conda packages (a pip environment's) is bad input for this target,
    refused before any work: it was exit 4, "the rebuild failed", after the host had been checked."""
    reason, remedy = conda_refusal(lock)
    if reason or lock.conda is None:
        raise BadOptionError(f"{lock_path}: {reason} ({remedy})")
    return lock.conda


def _refuse_pip_without_python(lock: Snapshot, conda: Conda, lock_path: Path) -> None:
    """A lock with pip packages installs them with the interpreter its conda packages bring: one whose conda layer
    has no ``python`` package can never be rebuilt (a conda-lock.yml with pip entries whose environment.yml left
    python out). Bad input, refused before any work: it was found only after every conda package was fetched and
    installed (exit 4, "the conda packages installed no interpreter at bin/python")."""
    pips = pip_packages(lock)
    if not pips or any(p.name == "python" for p in conda.packages):
        return
    more = f" and {len(pips) - 3} more" if len(pips) > 3 else ""
    raise BadOptionError(
        f"{lock_path}: the lock has pip packages ({', '.join(pips[:3])}{more}) but no conda python package to "
        "install them with: add python to the conda environment (or its environment.yml) and lock it again"
    )


class CondaRebuilder(Rebuilder):
    name = "conda"
    description = "a conda prefix with exactly the locked conda packages (no solve), then the pip layer"
    default_dest = "envsnap-conda"
    target_facts = TargetFacts(provides_python=True, installs_packages=True, installs_conda=True)
    options = CondaOptions
    bundle_folders = (CONDA_DIR, bundle_layout.WHEELS)
    dest_flag = "--prefix"

    def refuse_lock(self, lock: Snapshot, lock_path: Path) -> None:
        conda = _locked_conda(lock, lock_path)
        _refuse_pip_without_python(lock, conda, lock_path)
        _runs_here(conda, lock_path)

    def plan(self, request: RebuildRequest) -> Plan:
        lock = request.lock
        conda = _locked_conda(lock, request.lock_path)
        _refuse_pip_without_python(lock, conda, request.lock_path)
        _runs_here(conda, request.lock_path)
        dest = request.dest.absolute()
        named = self.dest_named(request)
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise BadOptionError(f"{named} {dest}: already exists and is not empty (remove it or choose another)")
        if dest.is_symlink():  # the new folder is renamed into place, where the link is, and never through it
            raise BadOptionError(f"{named} {dest}: a link (remove it, or name the folder it points to)")
        if request.offline and request.bundle_dir is None:
            raise BadOptionError("--offline needs --bundle: without a bundle the conda packages must be downloaded")
        # The bundle's lock names the wheel of each pip package, which the rebuild installs from ``wheels/`` even when
        # the lock given is the one captured, with none pinned.
        bundled: dict[str, PythonPackage] = {}
        if request.bundle_dir is not None:
            from ..artifacts.bundle import Bundle, check_conda_made_from

            opened = Bundle(request.bundle_dir)
            theirs = opened.lock
            # A bundle of another lock is bad input, said as the other targets say it (it read as archives
            # missing from the bundle, exit 4, with "re-run envsnap bundle").
            check_conda_made_from(request.lock, theirs, opened.shown(), request.lock_shown())
            bundled = {p.name: p for p in theirs.python.packages}
        options = CondaOptions.from_mapping(request.options, owner="the conda target")
        engine, tool = _engine(options)
        items = []
        for pkg in conda.packages:
            if problem := unusable(pkg):  # no URL or no hash: the lock is what cannot be used (before any work)
                raise BadOptionError(problem)
        if request.bundle_dir is None:
            # A URL the fetch policy refuses (a file:// channel without --allow-url) is refused by the plan, as the
            # run would refuse it before installing anything: --dry-run printed a plan and exit 0 for it.
            cache = Path(options.cache_dir) if options.cache_dir else cache_dir(CONDA_CACHE)
            refuse_unfetchable(conda.packages, cache, request.allow_urls, request.project_dir, by_hash=True)
        for pkg in conda.packages:
            name = archive_name(pkg)
            if request.bundle_dir is not None:
                if not join_base_name(request.bundle_dir / CONDA_DIR, name).is_file():
                    raise RebuildError(
                        f"{label(pkg)}: {CONDA_DIR}/{name} is missing from the bundle "
                        f"{request.bundle_shown()} (re-run `envsnap bundle`)"
                    )
                origin = f"{CONDA_DIR}/{name}"
            else:
                origin = pkg.url
            pin = f"sha256:{pkg.sha256}" if pkg.sha256 else f"md5:{pkg.md5}"
            items.append(PlanItem("conda", pkg.name, f"{pkg.version} {pkg.build}".strip(), origin=origin, pin=pin))
        pips = pip_packages(lock)
        for py in lock.python.packages:
            if py.name in pips:
                held = bundled.get(py.name)
                art = (
                    held.artifact if held is not None and held.version == py.version and held.artifact else py.artifact
                )
                items.append(
                    PlanItem(
                        "python",
                        py.name,
                        py.version,
                        origin=(
                            f"wheels/{art.filename}"
                            if request.bundle_dir and art
                            else art.url
                            if art
                            else "to be pinned and fetched"
                        ),
                        pin=f"sha256:{art.sha256}" if art else "",
                    )
                )
        source = (
            f"take {len(conda.packages)} conda packages from {CONDA_DIR}/ of {request.bundle_shown()}"
            if request.bundle_dir is not None
            else f"download {len(conda.packages)} conda packages"
        )
        steps = [
            f"{source} and check each against the lock's md5/sha256",
            f"install exactly those into {dest} with {engine} (no solve)",
            "write the locked URL, channel and hashes into each conda-meta record",
        ]
        if pips:
            from ..report import counted
            from .venv import installer_name  # the installer ``_pip_layer`` runs (``install_python_layer``)

            # Which installer: the plan said "with bin/python" where uv installs them.
            steps.append(
                f"install {counted(len(pips), 'pip package')} into {lock.python.executable or 'bin/python'} with "
                f"{installer_name()} (hash-checked wheels, --no-deps)"
            )
        steps.append("verify the conda layer and the Python layer against the lock")
        data = CondaPlanData(
            engine=engine,
            tool=tool,
            subdir=conda.subdir,
            channels=tuple(conda.channels),
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
                *bundle_layout.outside_project_notes(lock),
                *editable_notes(
                    lock, request.project_dir, _interpreter_in(dest, lock.python.executable or "bin/python")
                ),
                *pth_folder_notes(lock),
            ),
            offline=request.offline,
            data=data,
        )

    def execute(self, plan: Plan, request: RebuildRequest, progress: Progress | None = None) -> RebuildResult:
        from ..compare.verify import verify

        _gcpause.long_work()  # a build of minutes: the collector a short command turned off is on again
        say = progress or (lambda _line: None)
        started = time.perf_counter()
        lock = request.lock
        conda = lock.conda
        assert conda is not None  # plan() refused a lock without one
        dest = Path(plan.dest)
        data = plan.data
        if not isinstance(data, CondaPlanData):
            raise RebuildError(f"not a conda plan (a plan of the {plan.target} target)")
        options = CondaOptions.from_mapping(request.options, owner="the conda target")
        engine, tool = data.engine, data.tool
        created = not dest.exists()
        made = _leftovers.missing_folders(dest.parent)  # made by held_dir, and removed again on failure
        # Built beside the prefix and renamed into place, as the venv target does: a killed run leaves no
        # half-made prefix at --prefix, and the next run (or `envsnap clean`) removes what it left. Beside it:
        # the installer hard-links from its cache when both are on one file system.
        # Once the prefix is at --prefix, whatever stops the run (a failed verify, a Ctrl-C while the work folder
        # and its package cache are removed, which takes seconds for a large environment) takes it out again:
        # a prefix is left there only once it is verified.
        in_place = False
        try:
            with _leftovers.held_dir(dest.parent, "conda") as work:
                staging = staging_prefix(dest, work, self.dest_named(request))
                if request.bundle_dir is not None:
                    # The bundle is the only source: a file there that fails the check stops the rebuild.
                    archives = fetch_all(
                        conda.packages, request.bundle_dir / CONDA_DIR, offline=True, repair=False, progress=say
                    )
                else:
                    cache = Path(options.cache_dir) if options.cache_dir else cache_dir(CONDA_CACHE)
                    archives = fetch_all(
                        conda.packages,
                        cache,
                        by_hash=True,
                        offline=request.offline,
                        progress=say,
                        allow_urls=request.allow_urls,
                        project_dir=request.project_dir,  # a channel inside the project: file://{project}/channel
                    )
                # The pip layer's wheels are pinned and fetched before any conda package is installed: one that
                # cannot be pinned stopped the run only after the conda install, saying "nothing was fetched".
                wheels = self._pip_wheels(lock, request, work, say)
                say(f"installing {len(archives)} conda packages with {engine}")
                said: tuple[str, ...] = ()
                if engine == "rattler":
                    said = install_with_rattler(conda, archives, staging, work / "pkgs", shown=dest, progress=say)
                else:
                    said = install_with_executable(engine, tool, conda, archives, staging, work, shown=dest)
                restore_provenance(staging, conda)
                self._pip_layer(lock, request, staging, wheels, say)
                say(f"moving the prefix to {dest}")
                relocate_prefix(staging, dest)
                try:
                    move_into_place(staging, dest)  # an empty folder the user made is replaced
                except FileExistsError:
                    raise BadOptionError(
                        f"{self.dest_named(request)} {dest}: already exists and is not empty: another run put its "
                        "own there while this one built (remove it or choose another)"
                    ) from None
                in_place = True
                _leftovers.forget_sibling(work)
            say("verifying the conda layer against the lock")
            diffs = compare_conda(conda, conda_probe.probe_conda(str(dest)).conda)
            if diffs:
                raise RebuildError(
                    f"the new prefix differs from the lock: {diffs[0].describe()}"
                    + (f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else "")
                )
            python = dest / (lock.python.executable or "bin/python")
            report = None
            if pip_packages(lock) or python.exists():
                say("verifying the Python layer against the lock")
                report = verify(
                    lock,
                    str(python),
                    cache=request.use_cache,
                    gpu_timeout=request.gpu_timeout,
                    gpu_kernels=kernel_differences,
                    python_named=interpreter_named(str(python), "rebuild"),  # no one typed it
                    project=request.project_named(),
                )
        except BaseException:
            if in_place:
                _undo(dest, created)
                _leftovers.remove_empty(made)
            raise
        return RebuildResult(
            plan=plan,
            dest=str(dest),
            verify=report,
            notes=(*plan.notes, *said),
            seconds=time.perf_counter() - started,
        )

    def _pip_wheels(
        self, lock: Snapshot, request: RebuildRequest, work: Path, say: Callable[[str], None]
    ) -> Path | None:
        """The folder the pip layer's wheels are installed from: the bundle's, or one made in ``work`` (pinned and
        downloaded now); None when the lock has no pip package."""
        if not pip_packages(lock):
            return None
        if request.bundle_dir is not None:
            return request.bundle_dir
        return request.fetch_wheels(work / "bundle", say)

    def _pip_layer(
        self, lock: Snapshot, request: RebuildRequest, prefix: Path, wheels: Path | None, say: Callable[[str], None]
    ) -> None:
        """Install the pip packages with the prefix's interpreter from ``wheels`` (``_pip_wheels``), verified once
        the prefix is in place."""
        if wheels is None:
            return
        python = _interpreter_in(prefix, lock.python.executable or "bin/python")
        if not python.exists():
            raise RebuildError(
                f"the lock has pip packages but the conda packages installed no interpreter at "
                f"{lock.python.executable or 'bin/python'}"
            )
        from .venv import install_python_layer

        install_python_layer(
            python,
            lock,
            wheels,
            offline=request.offline,
            progress=say,
            allow_urls=request.allow_urls,
            project_dir=request.project_dir,
        )


def staging_prefix(dest: Path, holder: Path, named: str = "--prefix") -> Path:
    """A new empty folder beside ``dest`` whose path is exactly as long as ``dest``'s, recorded in ``holder``
    first (so a killed run's is removed with it). Installers write the prefix's path into scripts and
    binaries; at equal length it is replaced byte for byte when the prefix moves into place. The length is in
    bytes, as the files hold it: ``ünï env`` takes 9 ASCII characters, not 7."""
    alphabet = string.ascii_lowercase + string.digits
    n = len(os.fsencode(dest.name))
    for _ in range(1000):
        token = "".join(secrets.choice(alphabet) for _ in range(n))
        name = "." + token[1:] if n >= 2 else token
        candidate = dest.parent / name
        if name == dest.name or candidate.exists() or candidate.is_symlink():
            continue
        _leftovers.name_sibling(holder, candidate)
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise RebuildError(f"{named} {dest}: found no free name beside it to build in")


def relocate_prefix(staging: Path, dest: Path) -> None:
    """Rewrite ``staging``'s path to ``dest``'s (equal length) in every file and link of the prefix that holds
    it. A changed file is written anew and renamed over the old one: a file hard-linked from a package cache
    is never edited in place (files holding the prefix are copies anyway). The hashes the installers recorded
    of such files are then those of the files as they are (``_rehash_moved``). The path as uv quotes it in a pip
    console script too (``moved_forms``: a folder whose name holds a ``'``), a text file, whose length may change;
    a script of ``bin`` as its shell reads the path there (``moved_script``: a ``#!`` line that cannot hold the
    destination, ``my env`` beside a staging folder named without a space, made a ``/bin/sh`` launcher; the path
    escaped between pip's double quotes)."""
    from ._moved import moved_forms, moved_script

    old, new = os.fsencode(staging), os.fsencode(dest)
    scripts = os.path.join(staging, "bin")
    forms = moved_forms(old, new)
    if len(old) != len(new):
        raise RebuildError(f"cannot move {staging} to {dest}: the paths differ in length")
    moved: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(staging):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(os.fsencode(path))
                if old in target:
                    os.unlink(path)
                    os.symlink(target.replace(old, new), path)
            elif stat.S_ISREG(st.st_mode) and st.st_size >= len(old):
                with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
                    if all(view.find(before) < 0 for before, _ in forms):
                        continue
                    data = view[:]
                if dirpath == scripts and data.startswith(b"#!"):
                    data = moved_script(name, data, old, new)
                else:
                    for before, after in forms:
                        data = data.replace(before, after)
                part = f"{path}.envsnap-move"
                with open(part, "wb") as out:
                    out.write(data)
                os.chmod(part, stat.S_IMODE(st.st_mode))
                os.replace(part, path)
                moved.add(os.path.relpath(path, staging))
    _rehash_moved(staging, moved)


def _rehash_moved(prefix: Path, moved: set[str]) -> None:
    """The hashes conda-meta and pip's RECORD keep of the files the move rewrote, made those of the files as
    they now are: conda's ``sha256_in_prefix`` (a file with the prefix written in at install), and a RECORD's
    hash of a script whose first line names the interpreter (what pip rewrites itself; the RECORD digest a lock
    compares leaves such scripts out). Else conda's health checks and ``pip`` saw every such file as altered."""
    if not moved:
        return
    meta = prefix / "conda-meta"
    for record in sorted(meta.glob("*.json")) if meta.is_dir() else ():
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            paths = data["paths_data"]["paths"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a record conda or rattler wrote: left as it is
        changed = False
        for entry in paths if isinstance(paths, list) else ():
            if isinstance(entry, dict) and entry.get("_path") in moved and "sha256_in_prefix" in entry:
                entry["sha256_in_prefix"] = sha256_file(prefix / entry["_path"])
                changed = True
        if changed:
            atomic_write_text(record, json.dumps(data, indent=2, sort_keys=True) + "\n")
    for listing in sorted(prefix.glob("lib/python*/site-packages/*.dist-info/RECORD")):
        _rehash_record(prefix, listing, moved)


def _rehash_record(prefix: Path, listing: Path, moved: set[str]) -> None:
    import base64
    import csv
    import io

    site = listing.parent.parent
    try:
        rows = list(csv.reader(io.StringIO(listing.read_text(encoding="utf-8"))))
    except (OSError, ValueError, csv.Error):
        return
    changed = False
    for row in rows:
        if len(row) < 2 or not row[1].startswith("sha256="):
            continue
        where = os.path.normpath(os.path.join(site, row[0]))
        rel = os.path.relpath(where, prefix)
        if rel not in moved or not generated_script(where):
            continue
        digest = bytes.fromhex(sha256_file(Path(where)))
        row[1] = "sha256=" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
        changed = True
    if changed:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        atomic_write_text(listing, out.getvalue())


def _interpreter_in(prefix: Path, executable: str) -> Path:
    """The prefix's interpreter at the lock's relative ``executable``: a path below the prefix, never one the
    lock leads elsewhere (it is run to install and verify). A link there is the installed packages' own
    (checked by hash), so it is followed like any file they installed."""
    rel = Path(executable)
    if rel.is_absolute() or not rel.parts or ".." in rel.parts or has_control(executable) or "\\" in executable:
        raise UnsafeInputError(f"python.executable {executable[:80]!r}: not a path inside the environment")
    return prefix / rel


def _undo(dest: Path, created: bool) -> None:
    """Remove a half-built prefix; an empty folder the user made beforehand is left, empty again. It is first
    moved aside in one rename, to a name the next run's sweep and `envsnap clean` remove: a second Ctrl-C while its
    files are removed (gigabytes, for a CUDA environment) left part of the prefix at --prefix, which the next
    rebuild refused as not empty."""
    aside = dest.parent / f"{_leftovers.PREFIX}conda-{secrets.token_hex(6)}"
    try:
        os.rename(dest, aside)
    except OSError:
        pass  # removed where it is, as before
    else:
        if not created:
            with contextlib.suppress(OSError):
                dest.mkdir()
        shutil.rmtree(aside, ignore_errors=True)
        return
    if created:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for child in dest.iterdir() if dest.exists() else ():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


REBUILDER = CondaRebuilder()
