"""``uv venv`` of ``rebuild --target venv`` started first, before argparse and the rest of envsnap load (``start``).

A venv rebuild's venv is made from the interpreter running envsnap, in a held staging folder beside ``--dest``
(``_venvahead``): nothing of the lock goes into it. ``_venvahead`` began it once the command line was parsed and
its own imports (pathlib, shutil, tempfile, the subprocess runner) were done, 30-40 ms after the interpreter's
start, on a rebuild whose whole overhead over ``uv venv`` + ``uv pip sync`` is a tenth of a second or two. For the
one form a scripted rebuild is written in (``direct_form``), the CLI starts it here instead, with the standard
library's ``os``, ``fcntl`` and ``subprocess`` only, as soon as envsnap's entry point has loaded; ``_venvahead``
then takes it over (``take``) when argparse reads the same command line into the same interpreter and
destination, and it is killed and its folder removed (``cancel``) in every other case: the CLI cancels whatever
was not taken before it returns.

The staging folder is the one ``_leftovers.held_dir`` makes: ``.envsnap-venv-slotN`` (``_slots``) or
``.envsnap-venv-<random>`` in the destination's folder, held with ``flock`` for as long as this process runs, so a
later run (or ``envsnap clean``) recognises it when this one is killed. Nothing is created where ``_venvahead``
would create nothing: the destination's folder must exist, the bundle must be a folder, and uv must be named
(``ENVSNAP_UV``) or installed beside this interpreter (``_tools.uv_at_hand``; one found further away is left to
``_venvahead``).
"""

from __future__ import annotations

import os
import sys

from ._defaults import BUNDLE_SUMS, LOCK_NAME, without_a_cache_root
from ._slots import names
from ._tools import uv_at_hand

TYPE_CHECKING = False  # not typing's: this runs before envsnap's own start-up
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Mapping, Sequence

DEFAULT_DEST = "envsnap-venv"  # the venv target's ``default_dest``
HOLDER_PREFIX = ".envsnap-venv-"  # ``_leftovers.PREFIX`` + the kind ``venv``

# The user's installer settings that only say where the cache is and how to link: kept. Every other PIP_*/UV_*
# (an index, a constraint, an override, another interpreter) would change what is installed: dropped.
KEPT_INSTALLER_VARS = frozenset(
    {
        "UV_CACHE_DIR",
        "UV_NO_CACHE",
        "UV_LINK_MODE",
        "UV_CONCURRENT_INSTALLS",
        "UV_PYTHON_INSTALL_DIR",
        "PIP_CACHE_DIR",
        "PIP_NO_CACHE_DIR",
    }
)


def isolated_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for installers: none of the user's pip/uv settings (indexes, constraints) apply, except
    the cache and link settings in ``KEPT_INSTALLER_VARS`` (``UV_CACHE_DIR`` on a scratch disk is honoured)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_")) or k in KEPT_INSTALLER_VARS}
    env.update(
        {
            "PIP_CONFIG_FILE": os.devnull,
            "UV_NO_CONFIG": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
        }
    )
    env.update(without_a_cache_root(env))  # no cache root: none made under the working directory
    env.update(extra or {})
    return env


def uv_venv_args(uv: str, python: str, where: str | os.PathLike[str]) -> list[str]:
    """The one ``uv venv`` command line of a venv rebuild (here, in ``_venvahead`` and in ``rebuild/venv.py``)."""
    return [uv, "venv", "--quiet", "--no-project", "--python", python, str(where)]


# The options of ``rebuild`` read here, each given once (``--allow-url`` as often as wanted), each value its own
# word: anything else (``--dest=X``, an abbreviation, ``--python``, ``--dry-run``, a second operand) is argparse's.
_VALUED = ("--bundle", "--dest", "--prefix", "--target", "--allow-url")
_FLAGS = ("--offline", "--json", "--cpu-only", "--force")


def direct_form(argv: Sequence[str]) -> tuple[str, str] | None:
    """``(bundle, destination)`` of ``envsnap rebuild ARGV`` when it is a venv rebuild from a bundle in the form
    read here: the lock as the one operand, and among the options only ``--bundle DIR``, ``--target venv``,
    ``--dest``/``--prefix PATH``, ``--allow-url PATTERN`` and the flags ``--offline``, ``--json``,
    ``--cpu-only`` and ``--force``, or without ``--bundle`` where the lock is a bundle folder (``bundle_folder``:
    the bundle, as the rebuild reads it); None for anything else (an empty operand or value too, which argparse
    refuses). What argparse makes of the same line gives the same
    bundle and destination (tests/rebuild/test_venv_first.py compares the two readings)."""
    values: dict[str, str] = {}
    operands: list[str] = []
    seen: set[str] = set()
    words = list(argv)
    at = 0
    while at < len(words):
        word = words[at]
        if word in _VALUED:
            if at + 1 >= len(words) or not words[at + 1] or words[at + 1].startswith("-"):
                return None  # an empty one too: argparse refuses it (`--dest "$DEST"` unset), nothing is begun
            if word in seen and word != "--allow-url":
                return None
            key = "--dest" if word == "--prefix" else word
            if key in values and key != "--allow-url":
                return None  # --dest and --prefix both: argparse takes the last; not read here
            values[key] = words[at + 1]
            seen.add(word)
            at += 2
        elif word in _FLAGS:
            if word in seen:
                return None
            seen.add(word)
            at += 1
        elif not word or word.startswith("-"):
            return None
        else:
            operands.append(word)
            at += 1
    if len(operands) != 1 or values.get("--target", "venv") != "venv":
        return None
    bundle = values.get("--bundle") or bundle_folder(operands[0])
    return None if bundle is None else (bundle, values.get("--dest", DEFAULT_DEST))


def bundle_folder(lock: str) -> str | None:
    """``lock`` when it names a bundle folder, as the lock loader recognises one (``SHA256SUMS`` beside an
    ``envsnap.lock``: ``_readlimits.refuse_bundle``), which ``rebuild BUNDLE`` rebuilds as ``rebuild
    BUNDLE/envsnap.lock --bundle BUNDLE``; None for anything else. The reviewer's form took none of the speed-ups
    of ``--bundle`` (the files hashed while envsnap loads, the venv begun ahead, the last rebuild's installer
    started at once): 0.1 s more of CPU on the bench's 149 wheels."""
    if os.path.isfile(os.path.join(lock, BUNDLE_SUMS)) and os.path.isfile(os.path.join(lock, LOCK_NAME)):
        return lock
    return None


class Early:
    """``uv venv`` running in a held staging folder: the interpreter and destination it was started for, the
    holder (``HOLDER_PREFIX`` + a slot's name or random) and its held descriptor, and the process."""

    def __init__(self, python: str, dest: str, holder: str, fd: int, proc: subprocess.Popen[bytes]) -> None:
        self.python, self.dest, self.holder, self.fd, self.proc = python, dest, holder, fd, proc


_STARTED: list[Early] = []  # the one started and not yet taken or cancelled


def start(argv: Sequence[str]) -> None:
    """Start ``uv venv`` for ``envsnap rebuild ARGV`` when ``direct_form`` reads it and nothing stands in the
    way; nothing otherwise (``_venvahead`` then starts it as before, or the rebuild makes its own)."""
    form = direct_form(argv)
    python = sys.executable
    uv = uv_at_hand()[1]  # a uv found on PATH is left to ``_venvahead`` (``_tools.uv`` looks further)
    if form is None or not python or not uv or _STARTED:
        return
    bundle, dest = form
    target = os.path.abspath(dest)
    parent = os.path.dirname(target)
    if not os.path.isdir(bundle) or not os.path.isdir(parent):
        return
    import subprocess

    from ._hold import hold_made

    # Named before it is made, and removed from the moment it may be there: a Ctrl-C that landed once ``mkdir`` had
    # made it, and before it was held, left an empty ``.envsnap-venv-slotN`` beside --dest.
    named = ""
    holder = ""
    fd = -1
    try:
        for name in names(slots=True):  # a name a rebuild before used, where free (``_slots``)
            named = os.path.join(parent, HOLDER_PREFIX + name)
            try:
                os.mkdir(named, 0o700)
            except FileExistsError:
                named = ""
                continue
            held = hold_made(named)
            if held is None:  # another process's sweep took it before it was held: another name
                named = ""
                continue
            holder, fd = named, held
            break
        else:
            return
        proc = subprocess.Popen(
            uv_venv_args(uv, python, os.path.join(holder, "venv")),
            env=isolated_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except (OSError, ValueError):
        _remove(holder, fd)
        return
    except BaseException:  # Ctrl-C, SIGTERM: the folder is not left behind
        if holder:
            _remove(holder, fd)
        elif named:
            _remove_unheld(named)
        raise
    _STARTED.append(Early(python, target, holder, fd, proc))


def started() -> bool:
    """Whether a ``uv venv`` was started here and is not yet taken or cancelled."""
    return bool(_STARTED)


def take(python: str, dest: str) -> Early | None:
    """The ``uv venv`` started here for ``python`` and the absolute ``dest``, now the caller's; None when none
    was (one started for another interpreter or destination is cancelled)."""
    if not _STARTED:
        return None
    early = _STARTED[0]
    if early.python != python or early.dest != dest:
        cancel()
        return None
    _STARTED.clear()
    return early


def cancel() -> None:
    """Kill the ``uv venv`` started here and not taken, and remove its folder; nothing when there is none."""
    if not _STARTED:
        return
    early = _STARTED.pop()
    import contextlib
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(early.proc.pid, signal.SIGKILL)  # its own session: the whole group
    early.proc.communicate()
    _remove(early.holder, early.fd)


def _remove_unheld(named: str) -> None:
    """Remove ``named``, made or not as the run was interrupted, where it is an empty folder no run holds, as a
    sweep takes one (a name another run had taken first, and holds or has put anything in, stays)."""
    import fcntl

    try:
        fd = os.open(named, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rmdir(named)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(holder: str, fd: int) -> None:
    if holder:
        import shutil

        shutil.rmtree(holder, ignore_errors=True)
    if fd >= 0:
        os.close(fd)
