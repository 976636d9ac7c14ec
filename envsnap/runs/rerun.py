"""``envsnap rerun``: check what a run depended on, then run its command again and compare the outputs.

Before anything runs, three checks say exactly what differs: the environment (``verify`` against the lock the
run used, found by its content digest), the code (the commit and the uncommitted change) and the inputs (their
fingerprints, naming each changed file). Then the recorded argv runs, unchanged but for the interpreter
``--python`` names, in the recorded working directory, and the outputs are fingerprinted and compared.

A record is a stranger's file (docs/security.md): nothing in it is run but its argv, which the CLI shows and
asks to confirm; a command whose secrets were redacted is refused (it is not the command that ran); the working
directory and the lock must lie inside the project; data paths are only read, only regular files, only inside
the project or a folder given with ``--data-root``, and at most ``ENVSNAP_MAX_DATA_BYTES`` per path: any other
is reported as not checked, never read.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from .. import _runner, lockfile
from .._defaults import BUNDLE_SUMS, LOCK_NAME
from .._frozen import frozen
from .._fs import join_relative
from ..errors import EnvsnapError, LockfileError, UnsafeInputError, UsageError
from ..fileurls import HOME, PROJECT
from ..grammar import has_control
from ..probes.gitstate import distrust, has_commit, refused
from ..probes.project import changed_files, drift, envsnap_commits, find_root, probe_project
from ..probes.python import is_python_name, resolve_interpreter
from ..report import counted
from . import data as data_mod
from .assemble import (
    differences_found,
    fingerprint_data,
    kernel_differences,
    python_target,
    resolve_data_path,
    to_fingerprint,
    unlabelled,
)
from .execute import execute
from .finished import Finished
from .record import (
    Command,
    Data,
    Finding,
    RecordError,
    RunRecord,
    Variable,
    inner_places,
    labelled_word,
    path_end,
    word_shown,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..compare.verdict import Difference
    from ..model import Gpu, Snapshot

DOCKER_VERIFY_TIMEOUT = 600
# A device ``--gpus`` may name: an index, or a GPU or MIG device's UUID (as nvidia-smi -L prints it).
_GPU_DEVICE = re.compile(r"[0-9]{1,4}|(?:GPU|MIG)-[0-9A-Za-z][0-9A-Za-z/-]{0,127}")

SAME = "same"
DIFFERS = "differs"
UNKNOWN = "unknown"
NOT_WRITTEN = "not written"  # an output the rerun left as it was before it ran
NOT_CHECKED = "not checked"  # outside the folders rerun may read, over the size limit, or no file or folder
NOT_COMPARED = "not compared"  # an output recorded by size and modification time: a rewrite has a new time
PARTLY_WRITTEN = "partly written"  # an output folder as recorded, but with files the rerun did not write
IGNORED = "ignored (--ignore-output)"  # an output a --ignore-output glob matches: not compared


@frozen
class Check:
    area: str  # environment | gpus | code | data
    state: str  # same | differs | unknown
    lines: tuple[str, ...] = ()
    verified: bool = False  # environment, --in-docker: the image's envsnap verify ran and gave its report


@frozen
class OutputResult:
    path: str
    state: str  # identical | differs | missing | not written | partly written | not checked
    changes: tuple[data_mod.Change, ...] = ()
    why: str = ""  # why it was not checked
    kept: tuple[str, ...] = ()  # an output folder's files left as they were before the rerun, not written by it
    files: int = 0  # how many files the output folder holds now
    ignored: tuple[str, ...] = ()  # an output folder's files a --ignore-output glob matches: left out
    # An output folder that differs: its files whose name is not UTF-8, which no entry lists (``data.unlisted``), each
    # with how it stands (``unlisted_changes``): named, as ``show`` names them, so that the user sees which.
    unlisted: tuple[tuple[str, str], ...] = ()


UNLISTED_SAID = "(its name is not UTF-8: counted, not listed, so not compared by itself)"


def unlisted_changes(recorded: Sequence[str], now: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """The files of a folder whose name is not UTF-8 (as ``data.name_written`` writes them), of the record's and of
    the folder now, each with how it stands: ``added``, ``removed``, or ``in the digest`` (in both: counted in the
    digest, which differs, but no entry compares it by itself)."""
    return tuple(
        (name, "added" if name not in recorded else "removed" if name not in now else "in the digest")
        for name in sorted({*recorded, *now})
    )


def unlisted_shown(path: str, how: str) -> str:
    """A file ``unlisted_changes`` gives, by ``path`` (its name, or its folder's path and its name), as ``show`` names
    it: the shell word for it (``$'out/b\\xff.txt'``), then how it stands and why it is not listed."""
    from .. import sinks

    return f"{sinks.path_shown(data_mod.name_read(path) or path)}: {how} {UNLISTED_SAID}"


@frozen
class Mount:
    """A folder or file of the rerunner's home that ``--in-docker`` mounts because the record names it under
    ``~``: at the path the command names (``target``), from where it is (``source``, links resolved)."""

    shown: str  # as the record names it: ~/data/x.csv
    source: str
    target: str
    writable: bool


@frozen
class Plan:
    """What rerun will run, where, and how its checks came out (before anything runs)."""

    argv: tuple[str, ...]
    cwd: Path
    env: dict[str, str]
    checks: tuple[Check, ...]
    roots: tuple[str, ...] = ()  # the folders the record's data paths may lie in: the project, --data-root
    root: Path | None = None  # the project: what the record's {project} names here
    resolved: tuple[tuple[str, str], ...] = ()  # each label argv used, and the folder it names here
    mounts: tuple[Mount, ...] = ()  # --in-docker: what of the home the command's ~ paths need
    unmounted: tuple[tuple[str, str], ...] = ()  # --in-docker: each ~ path that will not be there, and why
    home: str = ""  # --in-docker: your home's path, an empty folder of yours in the container (HOME); "" for none
    folders: tuple[str, ...] = ()  # the outputs' missing folders, relative to the project: made before the command
    unmade: tuple[tuple[str, str], ...] = ()  # each output whose missing folder is not made, and why
    ignore: tuple[str, ...] = ()  # --ignore-output: globs of the outputs, or files in one, not compared
    gpus: str = ""  # --in-docker: docker's --gpus value ("all", '"device=0,1"'); "" when none are asked for
    no_gpu: bool = False  # --in-docker: the container gets NO_GPU (NVIDIA_VISIBLE_DEVICES=void), the command too
    # --in-docker: the recorded interpreter's path (as recorded), and the name the image's PATH finds instead
    python: tuple[str, str] | None = None
    # ... and whether the image's verify checked it: it ran and reported (no lock, no envsnap in the image: not)
    python_verified: bool = False
    # --in-docker: the ``docker run`` that asks the image's ``sh`` whether the command's program is there (its
    # name is only data to it: nothing the record names runs); () where another check asked already (a python)
    lookup: tuple[str, ...] = ()
    # The bundle the record is kept in (``bundle --artifact --run``) where the project found is that bundle or a
    # folder in it (a reviewer in the artifact's folder, no project around it): the record's folder and ``{project}``
    # paths are the project's, not the bundle's, so the command is not run there (``in_bundle_refusal``).
    in_bundle: Path | None = None

    @property
    def differs(self) -> bool:
        return any(c.state != SAME for c in self.checks)


def project_root(record_path: Path | None = None, commit: str = "") -> Path:
    """The project a record is rerun in: the git work tree the record file lies in (``rerun proj/run.toml`` from
    outside ``proj``: the current folder was taken, its git state and its files for the record's relative paths);
    for a record in none (one downloaded beside a clone), the work tree around the current directory, else that
    directory. A record kept in another repository than the one you are in (a repository of records) is rerun in
    yours when only yours holds the run's ``commit``."""
    cwd = os.getcwd()
    here = find_root(cwd)
    if record_path is not None:
        found = find_root(os.path.dirname(os.path.abspath(record_path)))
        if found and not (
            here and found != here and commit and not has_commit(found, commit) and has_commit(here, commit)
        ):
            if found != here:  # a tree the user is not in, maybe a stranger's: its own git filters do not run
                distrust(found)
            return Path(found)
    return Path(here or cwd)


def _kept_in_bundle(record_path: Path | None) -> Path | None:
    """The bundle folder whose ``runs/`` holds the record (``bundle --artifact --run`` put it there): a folder with
    the bundle's lock and ``SHA256SUMS`` above ``runs/``; None for a record anywhere else."""
    if record_path is None:
        return None
    runs = Path(os.path.abspath(record_path)).parent
    root = runs.parent
    if runs.name != "runs" or not (root / LOCK_NAME).is_file() or not (root / BUNDLE_SUMS).is_file():
        return None
    return root


def _inside_bundle(record_path: Path | None, root: Path) -> Path | None:
    """The bundle keeping the record where ``root``, the project found, is that bundle or lies in it; else None."""
    bundle = _kept_in_bundle(record_path)
    if bundle is None:
        return None
    return bundle if Path(os.path.realpath(root)).is_relative_to(os.path.realpath(bundle)) else None


def in_bundle_refusal(plan: Plan, record_path: str) -> str:
    """Why the command of a record kept in a bundle is not run in that bundle's folder (``Plan.in_bundle``), and
    where to rerun it: it ran with the bundle as its working directory and wrote its outputs into the bundle."""
    from .. import sinks

    bundle = plan.in_bundle
    assert bundle is not None
    shown = sinks.shell_shown([str(bundle)])
    command = sinks.shell_shown(["envsnap", "rerun", "--lock", str(bundle / LOCK_NAME), os.path.abspath(record_path)])
    return (
        f"{sinks.shell_shown([record_path])} is kept in the bundle {shown}, which is not the project it ran in: its "
        f"command would run in the bundle's folder; rerun in the project's folder, a checkout of the run's commit "
        f"(the bundle's REPRODUCING.md says how): cd PROJECT && {command}"
    )


def run_directory(record: RunRecord, root: Path) -> Path:
    if record.command.cwd == ".":
        return root
    return join_relative(root, record.command.cwd, "the record's working directory")


def resolved_argv(command: Command, root: Path) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    """The recorded argv with each word ``command.paths`` names, and each place ``command.inner_paths`` names
    inside a word, resolved for whoever reruns it (``{project}``: their project, ``~``: their home), and each
    label used with the folder it named. No other word or text is changed: a literal ``~/x`` the program was
    given stays one."""
    argv, used = list(command.argv), {}
    for index in command.paths:
        split = labelled_word(argv[index])
        if split is None:  # load checked it: a record built in Python is not loaded
            raise RecordError(f"command.paths: argv[{index}] names no path under a label")
        head, label, tail = split
        argv[index] = head + unlabelled(label, tail, root)
        used[label] = unlabelled(label, "", root)
    places = inner_places(command)
    used.update((label, unlabelled(label, "", root)) for _, _, label in places if label not in used)
    # From the last place back, so that each offset still counts in the word as recorded.
    for index, offset, label in reversed(places):
        word = argv[index]
        argv[index] = word[:offset] + used[label] + word[offset + len(label) :]
    return argv, tuple(used.items())


def output_folders(record: RunRecord, root: Path, run_dir: Path) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The folders the recorded outputs go in that are missing here (a directory output: itself; a file, or one
    the run did not write: its folder; and the working directory), relative to the project, for
    ``make_folders``; and each output whose missing folder is not made, with why. A fresh clone has no folder
    git does not track (``out/``), so the command failed writing ``out/x``. The record is a stranger's file: only
    a path inside the project is made, by a relative path (to the working directory, or under ``{project}``)
    with no ``..``, and no link on the way may lead out of the project; an absolute path, ``~`` and any other
    are said, never made."""
    unmade: list[tuple[str, str]] = []
    cwd = os.path.relpath(run_dir, root)
    # The working directory too (checked inside the project by run_directory): one holding only outputs was
    # never committed.
    folders: list[str] = [] if os.path.isdir(run_dir) else [cwd]
    for d in record.outputs():
        path = d.path.rstrip("/") if d.kind == "directory" else d.path.rstrip("/").rpartition("/")[0]
        if d.path == PROJECT or d.path.startswith(PROJECT + "/"):
            rel = path[len(PROJECT) + 1 :]
        elif d.path == HOME or d.path.startswith(HOME + "/"):
            if path and not os.path.isdir(resolve_data_path(path, run_dir, root)):
                unmade.append((d.path, "it is not in the project"))
            continue
        elif os.path.isabs(d.path):
            if path and not os.path.isdir(path):
                unmade.append((d.path, "it is not in the project (an absolute path)"))
            continue
        else:
            rel = path if cwd == "." else f"{cwd}/{path}" if path else cwd
        if not rel or rel == "." or os.path.isdir(root / rel):
            continue
        try:
            folder = join_relative(root, rel, "output folder")
        except UnsafeInputError:
            unmade.append((d.path, "its folder is not a relative path inside the project, links resolved"))
            continue
        shown = os.path.relpath(folder, root)
        if shown not in folders:
            folders.append(shown)
    return tuple(folders), tuple(unmade)


def make_folders(p: Plan) -> tuple[str, ...]:
    """Make the folders ``output_folders`` found missing, inside the project (checked again: a link may have been
    made since), and return those made. One that cannot be made is left to the command to fail on, as without
    rerun."""
    if p.root is None:
        return ()
    made: list[str] = []
    for rel in p.folders:
        try:
            os.makedirs(join_relative(p.root, rel, "output folder"), exist_ok=True)
        except (OSError, UnsafeInputError):
            continue
        made.append(rel)
    return tuple(made)


def _home_paths(record: RunRecord, replaced: Collection[int] = ()) -> dict[str, bool]:
    """Each path the record names under ``~`` (a word ``command.paths`` lists, but for the words ``replaced``, which
    the command does not get; a place ``command.inner_paths`` lists, a data path) by its tail after ``~`` (``""``
    or ``/...``), and whether the run wrote it: an output, or a path naming one or one inside one."""
    outputs = [d.path[len(HOME) :] for d in record.outputs() if d.path == HOME or d.path.startswith(HOME + "/")]
    tails = [d.path[len(HOME) :] for d in record.inputs() if d.path == HOME or d.path.startswith(HOME + "/")]
    for index in record.command.paths:
        split = labelled_word(record.command.argv[index])
        if split is not None and split[1] == HOME and index not in replaced:
            tails.append(split[2])
    for index, offset, label in inner_places(record.command):
        if label == HOME and index not in replaced:
            word = record.command.argv[index]
            start = offset + len(label)
            tails.append(word[start : path_end(word, start)])
    found: dict[str, bool] = {}
    for tail in [*tails, *outputs]:
        tail = tail.rstrip("/")
        written = any(tail == out.rstrip("/") or tail.startswith(out.rstrip("/") + "/") for out in outputs)
        found[tail] = found.get(tail, False) or written
    return found


def _within(path: str, folders: Sequence[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def container_home(root: Path) -> str:
    """Your home's path, where ``--in-docker`` gives a command run as you (not root) an empty folder of yours, the
    container's HOME; "" where there is none to give: for root (the image's /root is its home), a home that is
    ``/``, is the project or lies in it, or has a character docker's ``--tmpfs PATH:OPTIONS`` cannot take (``:``,
    ``,``, a control character)."""
    home = os.path.expanduser("~").rstrip("/")
    if os.getuid() == 0 or not home.startswith("/") or any(c in home for c in ":,") or has_control(home):
        return ""
    if _within(os.path.realpath(home), [os.path.realpath(root)]):
        return ""  # the home is the project, or in it: mounted already (a folder over it would hide that part)
    return home


def home_mounts(
    record: RunRecord, root: Path, roots: Sequence[str], replaced: Collection[int] = ()
) -> tuple[tuple[Mount, ...], tuple[tuple[str, str], ...]]:
    """What ``--in-docker`` mounts for the paths the record names under ``~`` (the project is mounted whole; the
    argv words ``replaced``, a recorded interpreter the image's runs instead of, are not the command's), and a line
    for each that will not be in the container, saying why. An input is mounted read-only, itself;
    an output writable: its folder, so that it can be made or replaced, or itself when that folder is the home.
    Only what lies, links resolved, in your home (never the home itself, whole), the project or a
    ``--data-root`` folder is mounted: a record names the paths, never a folder outside those."""
    home = os.path.expanduser("~").rstrip("/")
    paths = _home_paths(record, replaced)
    if not home or home == "~":
        return (), tuple((HOME + tail, "you have no home folder") for tail in paths)
    real_home = os.path.realpath(home)
    allowed = [real_home, *roots]
    mounts: dict[str, Mount] = {}
    said: list[tuple[str, str]] = []
    for tail, written in paths.items():
        target, shown = home + tail, HOME + tail
        folder = tail.rpartition("/")[0]
        if written and folder and os.path.isdir(home + folder):
            target, shown = home + folder, HOME + folder  # made or replaced in it
        elif not os.path.lexists(target):
            why = (
                "it does not exist here"
                if not written or not tail
                else "it does not exist here, and its folder is your home, which is not mounted whole"
                if not folder
                else "neither it nor its folder exists here"
            )
            said.append((shown, why))
            continue
        source = os.path.realpath(target)
        if has_control(target) or has_control(source):  # no docker mount can name it safely (sinks.docker_bind)
            said.append((shown, "its name holds a control character"))
            continue
        if source == real_home:
            said.append((shown, "it is your home, which is not mounted whole"))
            continue
        if not _within(source, allowed):
            said.append((shown, "it leads outside your home, the project and each --data-root"))
            continue
        if _within(target, [os.fspath(root)]):  # in the project's mount already
            continue
        old = mounts.get(target)
        mounts[target] = Mount(shown, source, target, written or (old is not None and old.writable))
    return tuple(sorted(mounts.values(), key=lambda m: m.target)), tuple(said)


def check_environment(
    record: RunRecord,
    root: Path,
    *,
    lock: str | None = None,
    python: str | None = None,
    in_docker: str | None = None,
    argv: Sequence[str] | None = None,
    gpus: str = "",
    bundle: Path | None = None,
) -> Check:
    """``bundle``: the bundle folder the record is kept in (its ``runs/``), whose lock a line names where the record's
    own cannot be read."""
    from .. import sinks
    from ..compare.verify import verify

    # The variables the command gets from the record (run --env) are judged as it gets them, not as you have them.
    variables = record.command.variables
    environ = with_variables(os.environ, variables) if variables else None

    env = record.environment
    if lock is not None:
        lock_file = Path(lock)
    elif env.lock:
        lock_file = join_relative(root, env.lock, "the record's lock")
    elif env.lock_digest:  # a lock outside the project: a record names no path outside it
        return Check(
            "environment",
            UNKNOWN,
            (
                f"the run's lock is outside the project, and the record holds only its digest ({env.lock_digest}): "
                "pass --lock FILE to check the environment against it",
            ),
        )
    else:
        return Check(
            "environment", UNKNOWN, ("the record names no lock: the environment cannot be checked (pass --lock)",)
        )
    try:
        snapshot = lockfile.load(lock_file)
    except LockfileError as exc:
        if lock is None and bundle is not None:
            # Rerun in the artifact's folder: the record names its author's project path; the bundle's lock, which
            # the record was checked against when bundled, is beside it.
            kept = (
                f"; the record is kept in the bundle {sinks.shell_shown([str(bundle)])}: pass --lock "
                f"{sinks.shell_shown([str(bundle / LOCK_NAME)])}, and rerun in the project's folder (its "
                "REPRODUCING.md says how)"
            )
            return Check("environment", UNKNOWN, (f"the lock cannot be read: {exc}{kept}",))
        return Check("environment", UNKNOWN, (f"the lock cannot be read: {exc}",))
    lines = []
    # The run's lock pinned (pin, bundle) is that lock, proven by its identity (record.Environment.other_lock).
    why = env.other_lock(snapshot, record.code)
    if why:
        digest = snapshot.envsnap.content_digest or lockfile.canonical_digest(lockfile.to_dict(snapshot))
        lines.append(f"{lock_file} is not the lock the run used ({digest} instead of {env.lock_digest}; {why})")
    found: Sequence[tuple[str, Finding | None, Difference | None]]
    if in_docker is not None:
        try:
            found = _verify_in_docker(in_docker, lock_file, gpus, variables)
        except EnvsnapError as exc:
            return Check("environment", UNKNOWN, (*lines, str(exc)))
    else:
        command = record.command.argv if argv is None else argv
        program = command[0] if command else ""
        if python is None and is_python_name(program) and "/" in program and not os.path.exists(program):
            # Not verify's own choice (the PATH's python) in its place: that is not what the command runs.
            return Check("environment", UNKNOWN, (*lines, *_missing_interpreter(program, lock_file, snapshot, root)))
        ran = _recorded_interpreter(env.interpreter, root) if python is None and is_python_name(program) else None
        if ran is not None and "/" not in program and not os.path.exists(ran):
            # The run's python found on its PATH (an activated venv of the project), missing here (a fresh clone):
            # the PATH's python here is another environment, whose every package would be a difference.
            found_as = f"the run's python ({program}, found on its PATH) was"
            return Check(
                "environment", UNKNOWN, (*lines, *_missing_interpreter(ran, lock_file, snapshot, root, found_as))
            )
        if python is None and is_python_name(program) and "/" not in program and not _on_path(program, environ):
            # verify's own choice (envsnap's interpreter) is not what the command runs: it is not found here.
            return Check(
                "environment",
                UNKNOWN,
                (
                    *lines,
                    f"the command's {sinks.shell_shown([program])} is not on PATH here: the environment it runs in "
                    "cannot be checked (activate it, or pass --python PATH)",
                ),
            )
        found = differences_found(
            verify(
                snapshot,
                environment=python_target(command, python),
                environ=environ,
                gpu_kernels=kernel_differences,
            ).differences
        )
    # The run's own findings against the lock (its drift: a variable set, a package upgraded) are what the run
    # had; a captured lock holds the run's variables already. What differs from those is a difference from the
    # run, a warning included: a PYTHONHASHSEED or an OMP_NUM_THREADS the rerun lacks changes the outputs.
    had = {f.said() for f in env.drift}
    now = {line for line, _, _ in found}
    new = [line for line, _, _ in found if line not in had]
    gone = [f for f in env.drift if f.said() not in now]
    # A finding the run had too (a package upgraded before the run and still) is the run's environment, not a
    # difference from it: its line names the same versions, values or digests on both sides.
    state = DIFFERS if lines or new or gone else SAME
    # The lock is the run's (``why`` is empty): what the run had, where its drift says nothing else. Compared by the
    # line the record keeps (``Finding.said``), shown from the finding's fields as verify prints them
    # (``Finding.shown``: a local source by its path, a .pth folder's paths each one shell word), the line before the
    # words that say whose it is.
    lines.extend(
        f"{_finding_shown(line, finding)} (as in the run)"
        if line in had
        else _new_here(line, finding, diff, snapshot if not why else None)
        for line, finding, diff in found
    )
    lines.extend(f"{f.shown()} (in the run, not here)" for f in gone)
    return Check("environment", state, tuple(lines), verified=in_docker is not None)


def _on_path(program: str, environ: Mapping[str, str] | None) -> bool:
    """Whether ``program`` is found on the PATH the command gets (``environ``, else yours)."""
    import shutil

    return shutil.which(program, path=(os.environ if environ is None else environ).get("PATH")) is not None


def _recorded_interpreter(recorded: str, root: Path) -> str | None:
    """The interpreter the record names as the one a python command found on PATH ran (``environment.interpreter``),
    here: ``{project}`` the project, ``~`` your home; None where the record names none."""
    split = labelled_word(recorded) if recorded else None
    if split is None or split[0]:  # load checked it: a record built in Python is not loaded
        return None
    return unlabelled(split[1], split[2], root)


def _missing_interpreter(
    program: str, lock_file: Path, lock: Snapshot, root: Path, found_as: str = ""
) -> tuple[str, ...]:
    """What the environment check says of the command's interpreter ``program``, missing here: where it is an
    environment's (``DIR/bin/python``) whose folder is not here or empty (a fresh clone, whose venv git does not
    track), the rebuild that makes it from ``lock_file``, on a line of its own, runnable as printed from the current
    folder (it said "make it" and not how), then the editable install of the project the lock has. ``found_as``: how
    the line names it where the command named it by its name alone (the run's activated venv), which the rebuild
    does not activate."""
    from .. import sinks
    from .._tools import uv_word
    from ..artifacts.bundle import bundle_listing
    from ..interchange import editable_folders

    shown = sinks.shell_shown([_here(program)])
    said = (
        f"{found_as} {shown}, which does not exist here: the environment it "
        if found_as
        else f"the command's interpreter {shown} does not exist here: the environment it "
    )
    then = "then activate it, or " if found_as else "or "
    dest = Path(program).parent.parent
    # A path through ``..`` (a hand-edited record) names no folder a rebuild fills: ``gone/..`` is its parent.
    if Path(program).parent.name != "bin" or ".." in Path(program).parts or not _made_by_rebuild(dest):
        return (said + "runs in cannot be checked (make it, or pass --python PATH)",)
    target = "conda" if lock.conda is not None and lock.conda.packages else "venv"
    words = ["envsnap", "rebuild", _here(lock_file), "--target", target, "--dest", _here(dest)]
    # The rebuild's project, for a package the lock installs from it: the work tree it is run in, else the lock's
    # folder; the rerun's (the record's work tree) where that is another.
    default = find_root(os.getcwd()) or os.path.dirname(os.path.abspath(lock_file))
    if os.path.realpath(default) != os.path.realpath(root):
        words += ["--project", _here(root)]
    for pattern in _rebuild_allowances(lock, root):  # a local source the rebuild reads only where allowed: exit 2
        words += ["--allow-url", pattern]
    # A bundle's lock (a paper's supplement): its files are the bundle's, and the reviewer may well be offline.
    bundle = bundle_listing(lock_file)
    if bundle is not None:
        words += ["--bundle", _here_folder(Path(bundle)), "--offline"]
    # The project's folders the lock installs editable: the rebuild installs their wheels, and the rerun would find
    # the environment differs until they are installed so again (REPRODUCING.md's step).
    editable = [_here_folder(root / folder) for folder in editable_folders(lock)]
    if not editable:
        return (
            said + f"runs in cannot be checked; this rebuild makes it from the lock ({then}pass --python PATH):",
            sinks.shell_shown(words),
        )
    python = _here(dest / "bin" / "python")
    install = [uv_word(), "pip", "install", "--python", python, "--no-deps", *(w for f in editable for w in ("-e", f))]
    return (
        said + "runs in cannot be checked; this rebuild makes it from the lock, and the install after it puts the "
        f"project in editable, as the lock has it ({then}pass --python PATH):",
        sinks.shell_shown(words),
        sinks.shell_shown(install),
    )


def _here_folder(path: Path) -> str:
    """A folder as a command run from the current folder names it: ``.`` for that folder itself (``_here``)."""
    return "." if os.path.realpath(path) == os.path.realpath(os.getcwd()) else _here(path)


def _rebuild_allowances(lock: Snapshot, root: Path) -> list[str]:
    """The ``--allow-url`` patterns the rebuild of ``lock`` needs for its local sources: a git repository
    (``git+file://``) or a file (a wheel, an archive) on this machine that the fetch policy refuses (exit 2, "pass
    --allow-url PATTERN"). Each as narrow as pin and verify name one: a repository's own path, a file's folder
    (``DIR/*``), and the find-links folder an import recorded (a file it names by its name there, or a package it
    kept several hashes of, which the rebuild's pin lists the folder for): the folder itself, as pin and bundle
    advise it (``DIR/*`` reads the folder's files, not its listing). A path a lock names that is not here is made
    into no pattern (docs/security.md); ``{project}`` and ``~`` are the user's own, read without asking."""
    from .. import fileurls
    from .._fetchpolicy import folder_allowance, repository_allowance
    from .._localurls import here
    from ..artifacts.pin import IndexConfig, policy_for, read_pip_config
    from ..interchange import candidate_hashes, file_url

    try:
        policy = policy_for(read_pip_config())
    except EnvsnapError:  # a pip configuration that cannot be read: the rebuild says so; the patterns asked alone
        policy = policy_for(IndexConfig())
    found: set[str] = set()
    for pkg in lock.pip_layer():
        src = pkg.source
        places = []
        if src.kind == "vcs" and src.url.startswith("file://") and not fileurls.is_labelled(src.url):
            places.append((src.url, True))
        if src.kind == "archive":
            places.append((src.url, False))
        if pkg.artifact is not None and (url := file_url(pkg.artifact)):
            # A file named by its name in the import's find-links folder: that folder, listed as pin lists it.
            folder = not pkg.artifact.url and bool(pkg.artifact.index)
            places.append((url.rsplit("/", 1)[0] if folder else url, folder))
        if candidate_hashes(pkg):  # several hashes kept: the rebuild's pin lists each local find-links folder
            places.extend((c.index, True) for c in pkg.candidates if c.index.startswith("file:") and not c.url)
        for url, repository in places:
            try:
                url = here(url, root)
            except EnvsnapError:
                continue  # names no place here: the rebuild says why
            local = fileurls.local_path(url)
            if local is None or not local.is_absolute() or policy.refusal(url) is None:
                continue
            if repository and local.is_dir():
                found.add(repository_allowance(local))
            elif not repository and local.is_file():
                found.add(folder_allowance(local))
    return sorted(found)


def _made_by_rebuild(dest: Path) -> bool:
    """Whether a rebuild may make its environment at ``dest``: a folder not there, or empty (its ``--dest``)."""
    if not os.path.lexists(dest):
        return True
    try:
        return dest.is_dir() and not dest.is_symlink() and not any(dest.iterdir())
    except OSError:
        return False


def _here(path: str | os.PathLike[str]) -> str:
    """``path`` as a command run from the current folder names it: relative inside that folder, else absolute;
    never read as an option (``./-x``)."""
    full = os.path.abspath(path)
    cwd = os.getcwd()
    if not Path(full).is_relative_to(cwd) or full == cwd:
        return full
    rel = os.path.relpath(full, cwd)
    return f"./{rel}" if rel.startswith("-") else rel


def _finding_shown(line: str, finding: Finding | None) -> str:
    """A finding of this rerun as verify prints it, from its fields (``Finding.shown``); a docker verify's report
    whose fields are not a difference's by its line (``drift_line_shown``)."""
    from ..compare.verdict import drift_line_shown

    return finding.shown() if finding is not None else drift_line_shown(line)


def _new_here(line: str, finding: Finding | None, diff: Difference | None, runs_lock: Snapshot | None) -> str:
    """A finding here that the run did not have. A variable the run's own lock records is said as verify says one
    against a lock, the run in the lock's place, since the run had the lock's value (``value A -> (none) (set in the
    run, as its lock records; not set here)``); it read ``(not set here) (here, not in the run)``, as if the value
    were here. Anything else ends ``(here, not in the run)``. Shown as verify prints it (``drift_line_shown``)."""
    from .assemble import finding_of

    if diff is None or runs_lock is None or diff.area != "environment" or diff.what != "value":
        return f"{_finding_shown(line, finding)} (here, not in the run)"
    had = runs_lock.environment.get(diff.subject)
    run = "not set in the run" if had is None else "empty in the run" if not had else "set in the run"
    if diff.actual:
        here = "another value here" if had else "set here"
    else:  # verify tells unset from empty in its note, as the value alone cannot
        here = "not set here" if diff.note.endswith("not set here") else "empty here"
    return finding_of(dataclasses.replace(diff, note=f"{run}, as its lock records; {here}")).shown()


# What the docker client itself reads from its environment (which engine, its config, its TLS files, where its
# plugins are): a recorded unset variable of these names is not removed from docker's environment.
_DOCKER_READS = frozenset({"PATH", "HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "TMPDIR", "SSH_AUTH_SOCK"})
_DOCKER_READS_PROXY = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"})


def docker_reads(name: str) -> bool:
    """Whether the docker client reads ``name`` from its own environment (``DOCKER_HOST``, ``HOME``, a proxy's)."""
    return name.startswith("DOCKER_") or name in _DOCKER_READS or name.upper() in _DOCKER_READS_PROXY


def docker_variables(variables: Sequence[Variable], environ: Mapping[str, str]) -> list[str]:
    """``docker run``'s ``-e`` words for the variables a run recorded: words of its argv, never a shell's.
    ``-e NAME=VALUE`` for one set, as recorded; ``-e NAME`` for one the run had unset, which docker, with no
    NAME in its own environment (``docker_environ``), removes from the container's, the image's ``ENV``
    included. None for an unset one docker itself reads and ``environ`` (yours) has: docker would pass yours."""
    words: list[str] = []
    for v in variables:
        if not v.unset:
            words += ["-e", f"{v.name}={v.value}"]
        elif not (docker_reads(v.name) and v.name in environ):
            words += ["-e", v.name]
    return words


def docker_environ(environ: Mapping[str, str], variables: Sequence[Variable]) -> dict[str, str]:
    """docker's own environment for ``--in-docker``: ``environ`` (yours, not the record's values: a recorded
    DOCKER_HOST would send the rerun to another engine) less each variable the run had unset that docker does
    not read itself, so that its ``-e NAME`` unsets it in the container rather than passing yours."""
    gone = {v.name for v in variables if v.unset and not docker_reads(v.name)}
    return {k: v for k, v in environ.items() if k not in gone}


# What NVIDIA's container runtime (docker's default runtime on many GPU hosts) reads as "no GPU, act as runc":
# without it, an image's ENV NVIDIA_VISIBLE_DEVICES=all (every nvidia/cuda image) gave a container asked for no
# --gpus every GPU. Any other runtime ignores the variable.
NO_GPU = "NVIDIA_VISIBLE_DEVICES=void"


def gives_no_gpu(gpus: str, variables: Sequence[Variable]) -> bool:
    """Whether ``--in-docker`` gives the container ``NO_GPU``: docker is asked for no GPU (``gpus`` is ``""``) and
    the run did not record ``NVIDIA_VISIBLE_DEVICES`` (``run --env``), whose value, as recorded, is the command's.
    The runtime reads the container's environment, the command's: the variable reaches the command too."""
    return not gpus and not any(v.name == "NVIDIA_VISIBLE_DEVICES" for v in variables)


def docker_gpu_words(gpus: str, variables: Sequence[Variable]) -> list[str]:
    """``docker run``'s words for the GPUs the container gets: ``--gpus`` as asked, or for none ``-e NO_GPU``
    (``gives_no_gpu``), so that none is given with any runtime."""
    if gpus:
        return ["--gpus", gpus]
    return ["-e", NO_GPU] if gives_no_gpu(gpus, variables) else []


def _verify_in_docker(
    image: str, lock_file: Path, gpus: str = "", variables: Sequence[Variable] = ()
) -> list[tuple[str, Finding | None, Difference | None]]:
    from .. import sinks
    from .assemble import finding_of

    res = _runner.run(
        [
            "docker",
            "run",
            "--pull",
            "never",  # the reviewer's image or none: a name docker has not is never fetched from a registry
            "--rm",
            "--network",
            "none",
            *docker_gpu_words(gpus, variables),  # the driver and GPUs the command will see, verified
            "--mount",
            sinks.docker_bind(str(lock_file.resolve()), "/envsnap-run.lock", readonly=True),
            *docker_variables(variables, os.environ),  # judged as the command will have them
            "--",
            image,
            "envsnap",
            "verify",
            "/envsnap-run.lock",
            "--json",
        ],
        timeout=DOCKER_VERIFY_TIMEOUT,
        env=docker_environ(os.environ, variables),
    )
    # The NO_GPU envsnap gives the container reaches the verify as it reaches the command; the GPUs check judges
    # what it means. Counted here, it made every rerun of a run without GPUs differ (`--strict` ran nothing).
    ours = gives_no_gpu(gpus, variables)
    try:
        data = json.loads(res.stdout)
        diffs = [
            d
            for d in data.get("differences", ())
            if isinstance(d, dict) and d.get("severity") != "info" and not (ours and _is_no_gpu(d))
        ]
    except (json.JSONDecodeError, AttributeError):
        if res.returncode == DOCKER_NOT_FOUND:
            raise EnvsnapError(
                f"--in-docker {image}: the image has no envsnap program to verify it with, so its environment "
                f"cannot be checked (an image `envsnap rebuild {sinks.path_shown(str(lock_file))} --target docker` "
                "made has one)"
            ) from None
        raise EnvsnapError(
            f"--in-docker {image}: envsnap verify in the image gave no report: {_docker_error(res.stderr)}"
        ) from None
    out: list[tuple[str, Finding | None, Difference | None]] = []
    for d in diffs:
        diff = _docker_difference(d)
        finding = finding_of(diff) if diff is not None else None
        out.append((finding.said() if finding is not None else _docker_line(d), finding, diff))
    return out


# ``docker run``'s exit status when the image has no such program ("exec: ...: executable file not found").
DOCKER_NOT_FOUND = 127


def _may_have_entrypoint(image: str, env: Mapping[str, str]) -> bool:
    """Whether ``image`` has an ``ENTRYPOINT`` (or docker cannot say): the command is then its arguments, which it
    may run on a PATH of its own (an entrypoint script that activates an environment), so no lookup on the image's
    PATH without it says whether the command will start."""
    res = _runner.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Entrypoint}}", "--", image],
        timeout=DOCKER_PROBE_TIMEOUT,
        env=env,
    )
    return res.returncode != 0 or res.stdout.strip() not in ("null", "[]")


def image_lacks(image: str, program: str, env: Mapping[str, str]) -> str:
    """Docker's words when ``image`` has no ``program`` it can start by its name on the image's PATH, else ``""``:
    it has one, or docker cannot tell (no such image, no engine: ``require_image`` says so before anything runs;
    an image with an ``ENTRYPOINT``, which may find it on a PATH of its own).
    ``program`` is a python's name (``is_python_name``), started with ``--version`` alone, as you, no network."""
    if _may_have_entrypoint(image, env):
        return ""
    res = _runner.run(
        [
            "docker",
            "run",
            "--pull",
            "never",
            "--rm",
            "--network",
            "none",
            "-e",
            NO_GPU,
            "--user",
            f"{os.getuid()}:{os.getgid()}",
            "--entrypoint",
            program,
            "--",
            image,
            "--version",
        ],
        timeout=DOCKER_PROBE_TIMEOUT,
        env=env,
    )
    # The engine's own refusal to start it ('exec: "python3.11": executable file not found in $PATH'), not the
    # docker client missing here (the runner's 127) nor a python that ran and failed.
    if res.returncode in (DOCKER_NOT_FOUND, DOCKER_CANNOT_RUN) and 'exec: "' in res.stderr:
        return _docker_error(res.stderr)
    return ""


DOCKER_CANNOT_RUN = 126  # ``docker run``'s exit status when the program cannot be started (not executable)
DOCKER_PROBE_TIMEOUT = 120


def _is_no_gpu(d: dict[str, object]) -> bool:
    """Whether a difference of ``verify --json`` in the image is the variable ``NO_GPU`` sets, at its value."""
    name, _, value = NO_GPU.partition("=")
    return d.get("area") == "environment" and d.get("subject") == name and d.get("actual") == value


def require_image(image: str, env: Mapping[str, str]) -> None:
    """Raise when docker has no image ``image`` here (a typo, one not pulled or built): ``docker run`` would fail
    with its own exit status 125, which would read as the command's, and its outputs as not reproduced."""
    res = _runner.run(["docker", "image", "inspect", "--format", "{{.Id}}", "--", image], timeout=60, env=env)
    if res.returncode == 0:
        return
    if res.returncode in (126, 127) and not res.stdout:  # no docker program to ask
        raise EnvsnapError(f"--in-docker {image}: docker cannot be run ({res.stderr.strip()}): nothing was run")
    raise EnvsnapError(
        f"--in-docker {image}: the image is not here ({_docker_error(res.stderr)}); pull or build it first: "
        "nothing was run"
    )


def _docker_difference(d: dict[str, object]) -> Difference | None:
    """A difference of ``verify --json`` in the image; None when its fields are not a difference's. Its ``places``
    where they are a list of places (``{"kind", "path"}``, a kind verify writes), else none (an older envsnap's)."""
    from ..compare.verdict import PLACE_KINDS, Difference, Place

    names = ("severity", "area", "subject", "what", "expected", "actual", "note", "cause")
    if all(isinstance(d.get(n, ""), str) for n in names):
        severity, area, subject, what, expected, actual, note, cause = (str(d.get(n, "")) for n in names)
        listed = d.get("places")
        places: tuple[Place, ...] = ()
        if isinstance(listed, list) and all(
            isinstance(p, dict) and p.get("kind") in PLACE_KINDS and isinstance(p.get("path"), str) for p in listed
        ):
            places = tuple(Place(p["kind"], p["path"]) for p in listed)
        return Difference(severity, area, subject, what, expected, actual, note, cause, places=places)
    return None


def _docker_line(d: dict[str, object]) -> str:
    """A difference of ``verify --json`` in the image whose fields are not a difference's, in the old words."""
    return (
        f"{d.get('severity')}: {d.get('area')}: {d.get('subject')}: {d.get('what')} "
        f"{d.get('expected') or '(none)'} -> {d.get('actual') or '(none)'}"
    )


def _docker_error(stderr: str) -> str:
    """The line of ``docker run``'s error output that says what went wrong: its last, but for docker's own
    ``Run 'docker run --help' for more information`` after it (which was all a missing envsnap in the image said)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    said = [line for line in lines if not line.startswith("Run 'docker ")]
    return (said or lines or ["no output"])[-1]


def _gpus_here(environ: Mapping[str, str]) -> tuple[tuple[Gpu, ...] | None, str]:
    """The GPUs NVML lists here (``None`` when it did not answer), and what to say of them."""
    from ..probes.nvidia import probe_nvidia

    nvidia, gpus, _ = probe_nvidia(environ=environ)
    if nvidia is None and not gpus:
        return (), "no NVIDIA driver library (NVML) on this host"
    if nvidia is not None and nvidia.error:
        return None, nvidia.error
    return gpus, ""


def _cuda_devices(value: str) -> list[str]:
    """The devices a ``CUDA_VISIBLE_DEVICES`` value names, as CUDA reads it: up to the first entry that is none."""
    out: list[str] = []
    for entry in (e.strip() for e in value.split(",")):
        if not _GPU_DEVICE.fullmatch(entry):
            break
        out.append(entry)
    return out


def docker_gpus(
    record: RunRecord,
    environ: Mapping[str, str],
    asked: str | None = None,
    probe: Callable[[Mapping[str, str]], tuple[tuple[Gpu, ...] | None, str]] | None = None,
) -> str:
    """The value of ``docker run --gpus`` for ``--in-docker``: ``asked`` (``all``, ``none``, or devices by index
    or UUID, ``0,1``) when given; else, for a run that used GPUs, those its command would see here
    (``CUDA_VISIBLE_DEVICES`` as CUDA reads it, else all). ``""``: ask for none (a run that used none, or a host
    where NVML finds no GPU: docker refuses ``--gpus`` without NVIDIA's runtime, and the command ran on the CPU
    before; the GPUs check says so)."""
    if asked is not None:
        if asked in ("all", "none"):
            return "" if asked == "none" else "all"
        devices = [e.strip() for e in asked.split(",")]
        if not all(_GPU_DEVICE.fullmatch(d) for d in devices):
            raise UsageError(
                f"--gpus {asked!r}: not all, none, or GPUs by index or UUID separated by commas (0,1 or GPU-...)"
            )
        return f'"device={",".join(devices)}"'
    if not (record.gpus.used_known and record.gpus.used):
        return ""
    found, _ = (probe or _gpus_here)(environ)
    if found == ():  # none here (None: NVML did not answer, and the GPUs may well be there)
        return ""
    recorded = _recorded_cuda_devices(record)
    if recorded is not None:
        # The command gets the run's value (-e), which the container's CUDA reads against the GPUs docker gives it,
        # numbered from 0: given all, it names what it names here, as without docker; one it names none of, none.
        return "all" if recorded.unset or _cuda_devices(recorded.value) else ""
    value = environ.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return "all"
    devices = _cuda_devices(value)
    return f'"device={",".join(devices)}"' if devices else ""


def _recorded_cuda_devices(record: RunRecord) -> Variable | None:
    """The run's ``CUDA_VISIBLE_DEVICES`` when it named it (``run --env``): the rerun gives it to the command."""
    return next((v for v in record.command.variables if v.name == "CUDA_VISIBLE_DEVICES"), None)


def check_gpus(
    record: RunRecord,
    environ: Mapping[str, str],
    probe: Callable[[], tuple[tuple[Gpu, ...] | None, str]] | None = None,
    in_docker: bool = False,
    gpus_asked: str = "",
) -> Check | None:
    """The GPUs the run used against those its command will see here (NVML's, narrowed by
    ``CUDA_VISIBLE_DEVICES`` as CUDA does: up to the first entry that names none; ``in_docker``: those
    ``gpus_asked``, docker's ``--gpus``, names): ``differs`` when fewer are visible, ``unknown`` when NVML does
    not answer. ``None`` when the run used no GPU, or which it used is unknown: nothing to compare."""
    used = record.gpus.used if record.gpus.used_known else ()
    if not used:
        return None
    shown = ", ".join(used)
    allowed = f" (CUDA_VISIBLE_DEVICES={record.gpus.visible_devices})" if record.gpus.visible_devices_set else ""
    lines = [f"the run used {len(used)} GPU{'s' if len(used) > 1 else ''}: {shown}{allowed}"]
    recorded = _recorded_cuda_devices(record) if in_docker else None
    if in_docker:
        if not gpus_asked:  # docker run is given no --gpus: the container sees none
            here, note = probe() if probe is not None else _gpus_here(environ)
            why = f"{note}: " if here == () and note else "no GPU here: " if here == () else ""
            return Check("gpus", DIFFERS, (*lines, f"here: no GPU visible ({why}--in-docker asks docker for none)"))
        # The container sees the devices docker is asked for, as a process here sees CUDA_VISIBLE_DEVICES's.
        devices = gpus_asked.strip('"').removeprefix("device=")
        environ = {k: v for k, v in environ.items() if k != "CUDA_VISIBLE_DEVICES"}
        if gpus_asked != "all":
            environ["CUDA_VISIBLE_DEVICES"] = devices
    gpus, note = probe() if probe is not None else _gpus_here(environ)
    if gpus is None:
        return Check("gpus", UNKNOWN, (*lines, f"here: unknown ({note})"))
    visible = [f"{g.index} ({g.name})" for g in gpus]
    value = environ.get("CUDA_VISIBLE_DEVICES")
    if value is not None:
        visible = _narrowed([(str(g.index), f"{g.index} ({g.name})") for g in gpus], value, len(gpus))
    where = f" (CUDA_VISIBLE_DEVICES={value})" if value else " (CUDA_VISIBLE_DEVICES is empty)" if value == "" else ""
    if in_docker:
        where = f" (in the container: docker run --gpus {gpus_asked}"
        if recorded is not None and recorded.unset:
            where += ", and the run's CUDA_VISIBLE_DEVICES unset)"
        elif recorded is not None:
            # The container's CUDA reads the run's value against its own GPUs, numbered from 0 in docker's order.
            visible = _narrowed([(str(i), shown) for i, shown in enumerate(visible)], recorded.value, len(visible))
            renumbered = "" if gpus_asked == "all" else ", which names the container's GPUs from 0"
            where += f", and the run's CUDA_VISIBLE_DEVICES={recorded.value}{renumbered})"
        else:
            where += ")"
    if note:
        where += f" ({note})"
    if visible:
        n = len(visible)
        lines.append(f"here: {n} GPU{'s' if n > 1 else ''} visible: {', '.join(visible)}{where}")
    else:
        lines.append(f"here: no GPU visible{where}")
    return Check("gpus", DIFFERS if len(visible) < len(used) else SAME, tuple(lines))


def _narrowed(gpus: Sequence[tuple[str, str]], value: str, count: int) -> list[str]:
    """The GPUs (each its index and how it is shown) a ``CUDA_VISIBLE_DEVICES`` value leaves visible, as CUDA reads
    it: up to the first entry that names none; a UUID or MIG device is one device, named as given."""
    by_index = dict(gpus)
    named: list[str] = []
    for entry in (e.strip() for e in value.split(",")):
        if entry.isdigit():
            if entry not in by_index:
                break
            named.append(by_index[entry])
        elif entry and len(named) < count:
            named.append(entry)
        else:
            break
    return named


def check_code(record: RunRecord, root: Path, exclude: Sequence[str | Path] = ()) -> Check:
    if record.code is None:
        return Check("code", UNKNOWN, ("the run was not in a git work tree: the code cannot be checked",))
    now = probe_project(str(root), exclude=[str(p) for p in exclude])
    if now is None:
        commit = record.code.commit
        if why := refused(str(root), f"its commit cannot be compared with the recorded {commit[:12]}"):
            return Check("code", UNKNOWN, (why,))  # a work tree all the same: not said to be none
        return Check("code", DIFFERS, (f"{root} is not a git work tree (the run was at commit {commit})",))
    lines = drift(record.code, now, root)
    # A record names the commit its run was at, so it is committed after it: a commit since that changes only what
    # the run's state left out (envsnap's files, the outputs) leaves the code the run's.
    only = envsnap_commits(record.code, now, root, exclude) if lines else None
    if only is not None:
        return Check("code", SAME, (f"{lines[0]}: the commits since change only envsnap's files: {only}",))
    if lines:  # which files: the data check names each, and the code's were left to guess
        lines = (*lines, *changed_files(record.code, now, root, exclude))
    return Check("code", DIFFERS if lines else SAME, lines)


def data_roots(root: Path, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The folders a record's data paths may lie in: the project and each ``--data-root`` (an existing
    folder)."""
    out = [os.path.realpath(root)]
    for folder in extra:
        if not os.path.isdir(folder):
            raise UsageError(f"--data-root {folder}: not a folder")
        out.append(os.path.realpath(folder))
    return tuple(out)


# What ``_fingerprint`` found for a path, by the path resolved and the method: a fingerprint or why none.
_Seen = dict[tuple[str, bool], "Data | data_mod.DataError"]


def _fingerprint(
    d: Data, role: str, run_dir: Path, roots: Sequence[str], root: Path | None, seen: _Seen | None = None
) -> Data:
    """A recorded data path as it is now, bounded: inside ``roots``, at most ``ENVSNAP_MAX_DATA_BYTES``. With
    ``seen``, a path read before in this check (its links resolved: ``x``, ``./x`` and ``sub/../x`` are one) is
    not read again: a stranger's record listing one large file thousands of times had it hashed each time."""
    fast = d.method == data_mod.SIZE_MTIME
    key = (os.path.realpath(resolve_data_path(d.path, run_dir, root)), fast)
    found = seen.get(key) if seen is not None else None
    if found is None:
        try:
            found = fingerprint_data(
                role, d.path, fast=fast, base=run_dir, within=roots, max_bytes=data_mod.max_data_bytes(), root=root
            )
        except data_mod.DataError as exc:  # OutOfBounds too: the same answer for each spelling of the path
            found = exc
        if seen is not None:
            seen[key] = found
    if isinstance(found, data_mod.DataError):
        raise found
    return dataclasses.replace(found, path=d.path)


def _sized(f: data_mod.Fingerprint) -> data_mod.Fingerprint:
    """A fingerprint by size and modification time (``run --data-fast``) by its files' sizes alone."""
    entries = tuple(data_mod.Entry(e.path, e.size, "") for e in f.entries)
    return data_mod.Fingerprint(
        f.kind, f.method, data_mod.manifest_digest(entries), f.files, f.bytes, entries, f.complete, f.dangling
    )


def _resolved(top: str, rel: str) -> tuple[str, list[str]]:
    """The path ``rel`` names in the folder ``top`` (a real path) with every link resolved, as
    ``os.path.realpath`` does, and each link met on the way (absolute paths): where git vouches for a file
    reached through links, it must vouch for each of those links too."""
    links: list[str] = []
    parts = rel.split(os.sep)
    done = top
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            done = os.path.dirname(done)
            continue
        step = os.path.join(done, part)
        if not os.path.islink(step):
            done = step
            continue
        hops += 1
        if hops > 40:  # a loop: what it reaches is no file
            raise OSError("too many links")
        links.append(step)
        target = os.readlink(step)
        parts = target.split(os.sep) + parts
        if os.path.isabs(target):
            done = os.sep
    return done, links


def _committed(root: Path, path: Path, kind: str, files: Sequence[str], dangling: Sequence[str] = ()) -> bool:
    """Whether git holds every one of ``files`` (relative to the input ``path``, a file or a folder, inside the
    work tree at ``root``) unchanged from ``HEAD``, and no other file there, tracked or not. Git holds a link as
    its target text: a file reached through links (one of ``files``) counts where git holds it, and each link on
    the way, unchanged; a link that leads to nothing (one of ``dangling``) where git holds that link unchanged."""
    from ..probes.gitstate import git

    top = os.path.realpath(root)

    def relative(full: str) -> str | None:
        rel = os.path.relpath(full, top)
        return None if rel.startswith("..") or os.path.isabs(rel) else rel.replace(os.sep, "/")

    # The input's path from the work tree's top, so that a link above the work tree (how it is reached) is none of
    # the input's.
    start = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if start.startswith("..") or os.path.isabs(start):
        start = os.path.relpath(os.path.abspath(path), top)
    if start.startswith("..") or os.path.isabs(start):
        return False
    regular: set[str] = set()  # the tracked files the input's files are, and the links on the way to them
    links: set[str] = set()
    try:
        for name in files if kind == "directory" else [""]:
            full, met = _resolved(top, os.path.join(start, name))
            regular.add(relative(full) or "")
            links.update(relative(link) or "" for link in met)
        for name in dangling:
            parent, met = _resolved(top, os.path.dirname(os.path.join(start, name)))
            links.update(relative(link) or "" for link in met)
            links.add(relative(os.path.join(parent, os.path.basename(name))) or "")
    except OSError:
        return False
    if "" in regular or "" in links or regular & links:
        return False  # something outside the work tree, or the work tree itself
    rel = relative(os.path.realpath(path))
    if rel is None:
        return False
    spec = rel
    prefix = "" if spec == "." else spec + "/"
    inside = spec if kind == "file" else None
    # The input's own path, and each file or link outside it that git must vouch for too; a literal pathspec: the
    # record names the path, and a name holding * or [ is no glob.
    elsewhere = sorted(n for n in regular | links if n != inside and not (kind == "directory" and n.startswith(prefix)))
    found: dict[str, str] = {}
    for i in range(0, len(elsewhere) + 1, 500):
        chunk = [spec] if i == 0 else []
        chunk += elsewhere[i : i + 500]
        args = ["--", *(f":(top,literal){n}" for n in chunk)]
        tracked = git(top, "ls-files", "-s", "-z", "--full-name", *args)
        status = git(top, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored", *args)
        if not (tracked.ok and status.ok) or status.stdout.strip("\0"):
            return False
        for line in tracked.stdout.split("\0"):
            meta, _, name = line.partition("\t")
            if name:
                found[name] = meta.split(" ", 1)[0]
    if any(found.get(n) not in ("100644", "100755") for n in regular):
        return False
    if any(found.get(n) != "120000" for n in links):
        return False
    # No other file in the input: every tracked one (a link included) is one of those or a link git vouches for.
    mine = {n for n in found if n == spec or spec == "." or n.startswith(prefix)}
    return all(n in regular or found[n] == "120000" for n in mine)


def check_data(
    record: RunRecord, run_dir: Path, roots: Sequence[str], root: Path | None = None, code: Check | None = None
) -> Check:
    """Each recorded input as it is now: ``differs`` names what changed; an input rerun does not read (outside
    ``roots``, over the size limit) makes the answer ``unknown`` unless another one differs. An input recorded by
    size and modification time (``run --data-fast``) whose files have their sizes but other times (a clone, a
    copy) is the run's where git holds each unchanged at the run's commit and the ``code`` check is ``same`` (git
    hashed every tracked file for it); else it is not compared (``unknown``), said with why."""
    lines = []
    unread = differs = False
    seen: _Seen = {}
    for d in record.inputs():
        try:
            now = _fingerprint(d, "input", run_dir, roots, root, seen)
        except data_mod.OutOfBounds as exc:
            unread = True
            lines.append(f"{d.path}: not checked: {exc}")
            continue
        except data_mod.DataError as exc:
            differs = True
            lines.append(f"{d.path}: {exc}")
            continue
        changes = data_mod.compare(to_fingerprint(d), to_fingerprint(now))
        if changes is None:
            continue
        if d.method == data_mod.SIZE_MTIME and d.kind == now.kind and d.complete and now.complete:
            by_size = data_mod.compare(_sized(to_fingerprint(d)), _sized(to_fingerprint(now)))
            if by_size is None:  # each file is there, of its size: only the times differ
                files = [e.path for e in now.entries]
                path = resolve_data_path(d.path, run_dir, root)
                if (
                    code is not None
                    and code.state == SAME
                    and root is not None
                    and _committed(root, path, d.kind, files, now.dangling)
                ):
                    lines.append(
                        f"{d.path}: same: its {len(files)} file{'s are' if len(files) != 1 else ' is'} committed, "
                        "unchanged, at the run's commit (recorded by size and modification time, which a clone "
                        "sets anew)"
                    )
                    continue
                unread = True
                why = (
                    "git does not hold it unchanged at the run's commit"
                    if code is not None and code.state == SAME
                    else "the code is not as the run had it, so git cannot vouch for it"
                    if code is not None
                    else "git cannot vouch for it"
                )
                n = len(changes)
                names = ", ".join(_name_shown(c.path) for c in changes[:10]) + (f" and {n - 10} more" if n > 10 else "")
                lines.append(
                    f"{d.path}: not compared: recorded by size and modification time (run --data-fast): the sizes "
                    f"match, but {n} file{'s have' if n != 1 else ' has'} another modification time, and the content "
                    f"was never recorded ({why}): {names}"
                )
                continue
            changes = by_size  # a file added, removed or of another size: named by that, not by its time
        differs = True
        if not changes:
            lines.append(
                f"{d.path}: differs ({d.files} -> {counted(now.files, 'file')}; the changed files are not listed)"
            )
        for c in changes:
            name = d.path if d.kind == "file" else f"{d.path.rstrip('/')}/{c.path}"
            lines.append(f"{_name_shown(name)}: {c.what}")
        for name, how in unlisted_changes(d.unlisted, now.unlisted):
            lines.append(unlisted_shown(f"{d.path.rstrip('/')}/{name}", how))
    return Check("data", DIFFERS if differs else UNKNOWN if unread else SAME, tuple(lines))


def _name_shown(name: str) -> str:
    """A file's name in a data line: as it is, but one with a control character (a record lists it, its TOML holds
    it escaped) as one shell word with it escaped (``$'a\\x0ab'``), not a line broken or a character lost."""
    if not has_control(name):
        return name
    from .. import sinks

    return sinks.path_shown(name)


def plan(
    record: RunRecord,
    *,
    lock: str | None = None,
    python: str | None = None,
    in_docker: str | None = None,
    record_path: Path | None = None,
    data_root: Sequence[str] = (),
    gpus: str | None = None,
    ignore_output: Sequence[str] = (),
) -> Plan:
    if record.command.redacted:
        raise RecordError(
            "the recorded command had a secret replaced by <redacted>: it is not the command that "
            "ran, and is not run again"
        )
    if not record.command.argv:
        raise RecordError("the record has no command")
    try:  # bad input, said before anything is checked or run (it was read at the first data path, as a change)
        data_mod.max_data_bytes()
    except data_mod.DataError as exc:
        raise UsageError(str(exc)) from None
    root = project_root(record_path, record.code.commit if record.code is not None else "")
    roots = data_roots(root, data_root)
    run_dir = run_directory(record, root)
    if os.path.lexists(run_dir) and not run_dir.is_dir():  # a missing one is made, as the outputs' folders are
        raise UnsafeInputError(f"the record's working directory {record.command.cwd} is not a folder in {root}")
    argv, resolved = resolved_argv(record.command, root)
    command = tuple(argv)  # the program the record names, resolved: its environment is verified
    if "/" in argv[0] and not os.path.isabs(argv[0]):
        # By a path relative to the run's folder (.venv/bin/python), where the command runs it: the current folder's
        # was judged, and from outside the project the venv there was said not to exist.
        command = (os.path.join(run_dir, argv[0]), *argv[1:])
    if in_docker is None:
        env = with_variables(os.environ, record.command.variables)
    else:  # docker's -e words: docker itself runs in your environment, less what it is to unset in the container
        env = docker_environ(os.environ, record.command.variables)
    if python is not None:
        interpreter = resolve_interpreter(python)
        if is_python_name(argv[0]):
            argv[0] = interpreter
        env["PATH"] = os.path.dirname(interpreter) + os.pathsep + env.get("PATH", "")
    mounts: tuple[Mount, ...] = ()
    unmounted: tuple[tuple[str, str], ...] = ()
    lookup: tuple[str, ...] = ()
    if gpus is not None and in_docker is None:
        raise UsageError("--gpus needs --in-docker (here, the command sees the GPUs CUDA_VISIBLE_DEVICES names)")
    asked = docker_gpus(record, os.environ, gpus) if in_docker is not None else ""
    replaced: tuple[str, str] | None = None
    home = ""
    if in_docker is not None:
        from .. import sinks

        if is_python_name(argv[0]) and "/" in argv[0]:
            # The author's interpreter by its path (``$(which python3)``, record_run's sys.executable) is not in the
            # image, or is a project's own venv: the image's of that name runs, the one its verify checks.
            replaced = (record.command.argv[0], os.path.basename(argv[0]))
            argv[0] = replaced[1]
        lacks = image_lacks(in_docker, argv[0], env) if is_python_name(argv[0]) and "/" not in argv[0] else ""
        if lacks:  # docker's init would fail to start it (exit 127), read as the command's own exit status
            runs = (
                f" to run the recorded {word_shown(record.command, 0)} with"
                if replaced
                else ", which the recorded command runs"
            )
            raise UsageError(
                f"--in-docker {in_docker}: the image has no {argv[0]} on its PATH{runs} ({lacks}): nothing was run"
            )
        mounts, unmounted = home_mounts(record, root, roots, (0,) if replaced else ())
        binds = [
            arg for m in mounts for arg in ("--mount", sinks.docker_bind(m.source, m.target, readonly=not m.writable))
        ]
        home = container_home(root)
        if home:
            # ``--user`` names no user of the image: docker's HOME would be ``/``, where the command may write
            # nothing (a library's ~/.cache). Mounted under the paths above (docker mounts parents first).
            binds += ["--tmpfs", f"{home}:uid={os.getuid()},gid={os.getgid()},mode=0700", "-e", f"HOME={home}"]
        inner = list(argv)
        argv = [
            "docker",
            "run",
            "--pull",
            "never",  # as the check's: a registry's image of the name never runs with the project mounted
            "--rm",
            "-i",
            # docker's init as the container's process 1: the kernel gives process 1 no default action for a signal,
            # so a SIGTERM or Ctrl-C that docker passes on would not end a command without a handler of its own.
            "--init",
            # ... and it passes each signal to the command's process group, as a terminal's Ctrl-C reaches every
            # process of a command run without docker (a program a shell script runs, a trainer's workers); by
            # default docker's init (tini) signals the command alone. The variable is tini's only way to be told.
            "-e",
            "TINI_KILL_PROCESS_GROUP=1",
            "--network",
            "none",
            *docker_gpu_words(asked, record.command.variables),
            # ``--mount``, not ``-v SRC:DST``: a project folder whose path holds a ``:`` (``-v`` splits at each)
            # is mounted where it is.
            "--mount",
            sinks.docker_bind(str(root), str(root), readonly=False),
            *binds,
            *docker_variables(record.command.variables, os.environ),
            "-w",
            str(run_dir),
            "--user",
            f"{os.getuid()}:{os.getgid()}",
            "--",
            in_docker,
            *argv,
        ]
        if not is_python_name(inner[0]):  # a python was looked for above (image_lacks)
            # The command's own words (mounts, variables, directory, user) with the image's sh in its place, so
            # that it looks the program up on the PATH, and in the folder, the command would have.
            options = argv[2 : -len(inner) - 2]
            lookup = (
                "docker", "run", *(o for o in options if o != "-i"), "--entrypoint", "/bin/sh", "--", in_docker,
                "-c", _LOOKUP, "sh", inner[0],
            )  # fmt: skip
    exclude: list[str | Path] = [
        *(resolve_data_path(d.path, run_dir, root) for d in record.outputs()),
        *([record_path] if record_path else []),
    ]
    folders, unmade = output_folders(record, root, run_dir)
    code = check_code(record, root, exclude)
    gpu_check = check_gpus(record, env, in_docker=in_docker is not None, gpus_asked=asked)
    environment = check_environment(
        record,
        root,
        lock=lock,
        python=python,
        in_docker=in_docker,
        argv=command,
        gpus=asked,
        bundle=_kept_in_bundle(record_path),
    )
    said = variable_lines(record.command.variables, os.environ, in_docker=in_docker is not None)
    checks = (
        Check(environment.area, environment.state, (*environment.lines, *said)),
        *([gpu_check] if gpu_check is not None else []),
        code,
        check_data(record, run_dir, roots, root, code),
    )
    return Plan(
        in_bundle=_inside_bundle(record_path, root),
        argv=tuple(argv),
        cwd=run_dir,
        env=env,
        checks=checks,
        roots=roots,
        root=root,
        resolved=resolved,
        mounts=mounts,
        unmounted=unmounted,
        folders=folders,
        unmade=unmade,
        home=home,
        gpus=asked,
        no_gpu=in_docker is not None and gives_no_gpu(asked, record.command.variables),
        ignore=tuple(ignore_output),
        python=replaced,
        python_verified=replaced is not None and environment.verified,
        lookup=lookup,
    )


# Prints "absent" when the program $1 is not where exec would find it: a path (a / in it) that is not there, or a
# name no PATH folder holds as an executable (``command -v`` prints a builtin's bare name: not said absent).
_LOOKUP = 'case $1 in */*) [ -e "$1" ] || echo absent ;; *) command -v -- "$1" >/dev/null || echo absent ;; esac'


def image_lacks_program(p: Plan, image: str, env: Mapping[str, str]) -> bool:
    """Whether the image has no program to start as the command (``--in-docker``): docker's init would fail to exec
    it with exit 127, which read as the command's own status. Asked of the image's ``sh``, which runs nothing the
    record names; ``False`` where it cannot tell (no ``sh`` in the image, docker failing, an image with an
    ``ENTRYPOINT``: the command is its arguments, which it may run on a PATH of its own, or not run at all)."""
    if not p.lookup:
        return False
    if _may_have_entrypoint(image, env):
        return False
    res = _runner.run(list(p.lookup), timeout=DOCKER_PROBE_TIMEOUT, env=env)
    return res.returncode == 0 and res.stdout == "absent\n"


def with_variables(environ: Mapping[str, str], variables: Sequence[Variable]) -> dict[str, str]:
    """``environ`` with the variables a run recorded (``run --env``) as the run had them: set to the recorded
    value, or removed when the run had it unset."""
    env = dict(environ)
    for v in variables:
        if v.unset:
            env.pop(v.name, None)
        else:
            env[v.name] = v.value
    return env


def variable_lines(variables: Sequence[Variable], environ: Mapping[str, str], *, in_docker: bool) -> list[str]:
    """One line of the environment check per recorded variable: whether ``environ`` (yours) has it as the run
    did, and what the rerun gives the command. Your value is never shown: a record may name any variable."""
    from .. import sinks

    lines = []
    for v in variables:
        mine = environ.get(v.name)
        if v.unset:
            shown = f"{v.name} (unset in the run)"
            state = "same here" if mine is None else "differs here (yours is set)"
            if in_docker and docker_reads(v.name) and mine is not None:
                what = (
                    "envsnap cannot unset it in the container: docker itself reads it here (one the image sets "
                    "stays; unset it for the rerun)"
                )
            elif in_docker:
                what = "the rerun unsets it in the container"
            else:
                what = "" if mine is None else "the rerun unsets it"
        else:
            shown = sinks.shell_assignment(v.name, v.value)
            if mine == v.value:
                state = "same here"
            else:
                state = "differs here (" + ("yours is unset" if mine is None else "yours has another value") + ")"
            what = (
                "the container gets the run's" if in_docker else "" if mine == v.value else "the rerun sets the run's"
            )
        lines.append(f"variable {shown}: {state}" + (f"; {what}" if what else ""))
    return lines


def run(p: Plan) -> Finished:
    return execute(p.argv, env=p.env, cwd=str(p.cwd))


def outputs_before(record: RunRecord, p: Plan) -> dict[str, data_mod.Fingerprint]:
    """The recorded outputs as they are before the rerun (by size and modification time), to tell an output
    the command wrote again from one it left as it was."""
    out = {}
    for d in record.outputs():
        try:
            out[d.path] = data_mod.fingerprint(
                resolve_data_path(d.path, p.cwd, p.root), fast=True, missing_ok=True, within=p.roots
            )
        except data_mod.DataError:
            continue
    return out


def compare_outputs(
    record: RunRecord, p: Plan, before: dict[str, data_mod.Fingerprint] | None = None
) -> list[OutputResult]:
    """Each recorded output against the recorded fingerprint: ``identical``, ``differs``, ``missing``, ``not
    checked`` (outside the folders rerun may read, or over the size limit), or (given ``before``, from
    ``outputs_before``) ``not written``: it is there but the rerun did not touch it, so an output left from the
    recorded run is not taken for a reproduced one; one the recorded run did not write either (``missing``) is
    ``identical``, as when it is absent."""
    run_dir = p.cwd
    out = []
    seen: _Seen = {}
    for d in record.outputs():
        if ignored(d.path, p.ignore):
            out.append(OutputResult(d.path, IGNORED))
            continue
        try:
            now = _fingerprint(d, "output", run_dir, p.roots, p.root, seen)
        except data_mod.DataError as exc:
            # Outside the folders rerun may read, over the size limit, or what has no fingerprint (a pipe the
            # command left there): this output's finding, the report of the others kept (the command has run).
            out.append(OutputResult(d.path, NOT_CHECKED, (), str(exc)))
            continue
        if now.kind == "missing":
            out.append(OutputResult(d.path, "missing" if d.kind != "missing" else "identical"))
            continue
        old = (before or {}).get(d.path)
        kept: tuple[str, ...] = ()
        if old is not None and old.kind != "missing":
            try:
                after = data_mod.fingerprint(
                    resolve_data_path(d.path, run_dir, p.root), fast=True, missing_ok=True, within=p.roots
                )
            except data_mod.DataError as exc:  # changed since it was read just above: not checked, as above
                out.append(OutputResult(d.path, NOT_CHECKED, (), str(exc)))
                continue
            if data_mod.compare(old, after) is None:
                # Left as it was: the recorded run did not write it either (recorded missing), or this is not its
                # result.
                out.append(OutputResult(d.path, "identical" if d.kind == "missing" else NOT_WRITTEN))
                continue
            if old.kind == "directory" and after.kind == "directory":
                # Files of a folder the rerun did not write (an interrupted rerun's, the recorded run's): a command
                # that skips work it finds done made none of them.
                same = {(e.path, e.size, e.value) for e in old.entries}
                kept = tuple(sorted(e.path for e in after.entries if (e.path, e.size, e.value) in same))
        recorded, current = to_fingerprint(d), to_fingerprint(now)
        left_out: tuple[str, ...] = ()
        if p.ignore and "directory" in (d.kind, now.kind):
            recorded, left_out = _leave_out(recorded, d.path, p.ignore)
            current, more = _leave_out(current, d.path, p.ignore)
            left_out = tuple(sorted({*left_out, *more}))
            kept = tuple(k for k in kept if not ignored(f"{d.path.rstrip('/')}/{k}", p.ignore))
            if left_out and not d.complete:
                why = (
                    f"the record lists {len(d.entries)} of its {counted(d.files, 'file')}: those --ignore-output "
                    "matches cannot be left out of its digest"
                )
                out.append(OutputResult(d.path, NOT_COMPARED, (), why, kept=kept, files=now.files, ignored=left_out))
                continue
        if d.method == data_mod.SIZE_MTIME and d.kind != "missing":
            out.append(dataclasses.replace(_by_size(recorded, current, d.path, kept), ignored=left_out))
            continue
        changes = data_mod.compare(recorded, current)
        state = "differs" if changes is not None else PARTLY_WRITTEN if kept else "identical"
        unlisted = unlisted_changes(d.unlisted, now.unlisted) if changes is not None else ()
        out.append(
            OutputResult(d.path, state, changes or (), kept=kept, files=now.files, ignored=left_out, unlisted=unlisted)
        )
    return out


def unmatched_globs(results: Sequence[OutputResult], globs: Sequence[str]) -> tuple[str, ...]:
    """The ``--ignore-output`` globs that matched no output and no file in one: spelled otherwise than the record
    names the outputs, they left nothing out."""
    names = [r.path for r in results if r.state == IGNORED]
    names += [f"{r.path.rstrip('/')}/{f}" for r in results for f in r.ignored]
    return tuple(g for g in dict.fromkeys(globs) if not any(_matches(n, g) for n in names))


def ignored(name: str, globs: Sequence[str]) -> bool:
    """Whether a recorded output (``results/train.log``), or a file in one (``results`` + ``/train.log``), is one
    a ``--ignore-output`` glob matches: by its name as the record spells it (``*`` matches ``/`` too)."""
    return any(_matches(name, glob) for glob in globs)


def _matches(name: str, glob: str) -> bool:
    """``glob`` matches ``name`` as a glob, or is that name itself: ``log[1].txt``, an output's name as rerun prints
    it, read as a glob only (``[1]`` a set of characters), matched ``log1.txt`` and never the output it names."""
    return name == glob or fnmatch.fnmatchcase(name, glob)


def _leave_out(
    fp: data_mod.Fingerprint, name: str, globs: Sequence[str]
) -> tuple[data_mod.Fingerprint, tuple[str, ...]]:
    """A folder's fingerprint without the files ``globs`` match (named ``name/FILE``), its digest made anew over
    the rest; and those files."""
    gone = [e for e in fp.entries if ignored(f"{name.rstrip('/')}/{e.path}", globs)]
    links = [link for link in fp.dangling if ignored(f"{name.rstrip('/')}/{link}", globs)]  # a link to nothing too
    if not gone and not links:
        return fp, ()
    entries = tuple(e for e in fp.entries if e not in gone)
    left = data_mod.Fingerprint(
        fp.kind,
        fp.method,
        data_mod.manifest_digest(entries),
        fp.files - len(gone),
        fp.bytes - sum(e.size for e in gone),
        entries,
        fp.complete,
        tuple(link for link in fp.dangling if link not in links),
    )
    return left, tuple(sorted([e.path for e in gone] + links))


def _by_size(d: data_mod.Fingerprint, now: data_mod.Fingerprint, path: str, kept: tuple[str, ...]) -> OutputResult:
    """An output recorded by size and modification time (``run --data-fast``) after a rerun, which writes its
    files anew, each at a new time: a file added, removed or of another size differs; the content was never
    recorded, so what is left cannot be compared (it was "changed", every file, whatever the command wrote)."""

    changes = data_mod.compare(_sized(d), _sized(now))
    if changes is not None:  # a file added, removed or of another size, or another kind
        return OutputResult(path, "differs", changes or (), kept=kept, files=now.files)
    why = "recorded by size and modification time (run --data-fast): the sizes match, the content was not recorded"
    return OutputResult(path, NOT_COMPARED, (), why, kept=kept, files=now.files)
