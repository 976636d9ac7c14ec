"""The venv of ``rebuild --target venv`` made while envsnap loads, before the lock is read (``VenvAhead``).

A venv rebuild creates the venv with ``uv venv`` in a held staging folder beside ``--dest``, then installs into
it. That creation waited for envsnap to import the rebuild and check machinery, read the lock and plan; but a
venv made from the interpreter running envsnap (the one ``find_interpreter`` tries first for a lock of its
version) depends on nothing in the lock. So the CLI starts it at once, with the same command and environment the
rebuild uses (``isolated_env``), in the same kind of held folder, and the rebuild takes it only if its plan chose
that interpreter and that destination (``take``); otherwise, and on every failure, it is killed and removed
(``cancel``), and the rebuild makes its own venv as before. Nothing of the lock reaches it: it is made before the
lock is read, from the running interpreter's path and the user's ``--dest``.

It is not started where it could leave a trace the rebuild would not: the destination's folder must exist (the
staging folder is removed with everything in it, and no folder is created for it), and the command must be
``uv`` (the only tool whose venv creation is cheap enough to race).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from . import _leftovers, _runner, _tools, _venvfirst
from ._venvfirst import DEFAULT_DEST as DEFAULT_DEST
from ._venvfirst import KEPT_INSTALLER_VARS as KEPT_INSTALLER_VARS
from ._venvfirst import isolated_env as isolated_env
from ._venvfirst import uv_venv_args as uv_venv_args
from .errors import BadOptionError

TYPE_CHECKING = False  # not typing's: this runs before envsnap's own start-up
if TYPE_CHECKING:
    from ._installahead import Memo

VENV_TIMEOUT = 300.0


@contextmanager
def staging(dest: Path) -> Iterator[Path]:
    """A venv rebuild's staging folder: a folder in a held ``.envsnap-venv-*`` beside ``dest`` (same file system:
    the final move is a rename); gone on failure, and recognised and removed by the next run when this one is
    killed."""
    stack = ExitStack()
    try:
        holder = stack.enter_context(_leftovers.held_dir(dest.parent, "venv"))
    except OSError as exc:
        raise BadOptionError(f"--dest {dest}: cannot create it ({exc.strerror or exc})") from None
    with stack:
        yield holder / "venv"  # the venv tool creates it


class NotTheSame(Exception):
    """The installer begun ahead is not the one the rebuild's checks would start: it was killed (``adopt``)."""


class VenvAhead:
    """``uv venv`` of ``python`` running in a held staging folder beside ``dest`` (``start``), and, where the last
    rebuild of the same lock and bundle left its installer's command (``_installahead``), that installer started
    into it as soon as it is made (``begin_install``)."""

    def __init__(self, python: str, dest: Path, stack: ExitStack, folder: Path, running: _runner.Running) -> None:
        self.python, self.dest = python, dest
        self._stack, self._staging, self._running = stack, folder, running
        self._done = False
        self._guard = threading.Lock()
        self._venv_guard = threading.Lock()
        self._venv: _runner.Result | None = None  # uv venv's result, once waited for
        self._thread: threading.Thread | None = None
        self._install: _runner.Running | None = None  # the installer begun ahead, until adopted or killed
        self._install_args: list[str] = []
        self._requirements = ""
        self.launched: Memo | None = None  # the installer the rebuild ran, for the next one (``note_launch``)
        self.stale = False  # the installer begun ahead was not the rebuild's (``adopt``)

    @classmethod
    def start(cls, python: str, dest: str | os.PathLike[str]) -> VenvAhead | None:
        """Started, or None where it is not (no uv, no folder for ``dest``, anything that fails): the rebuild
        then makes its venv itself and reports what is wrong, as it always did."""
        target = Path(os.path.abspath(dest))  # ``..`` collapsed, as the rebuild and ``_venvfirst`` name it
        if _venvfirst.started():
            # What killed runs left beside it is removed now, as ``held_dir`` removes it first; before ``take``,
            # while the CLI still cancels what was begun if a Ctrl-C or SIGTERM lands here. This run's own folder
            # is held: never taken.
            _leftovers.sweep(target.parent)
        early = _venvfirst.take(python, str(target))
        if early is not None:
            return cls._taken(early, target)
        uv = _tools.uv()
        if not uv or not python or not target.parent.is_dir():
            return None
        stack = ExitStack()
        try:
            folder = stack.enter_context(staging(target))
            running = _runner.start(uv_venv_args(uv, python, folder), env=isolated_env())
        except (BadOptionError, OSError, ValueError):
            stack.close()
            return None
        except BaseException:  # Ctrl-C, SIGTERM: the staging folder goes too (uv, if started, is the runner's)
            stack.close()
            raise
        return cls(python, target, stack, folder, running)

    @classmethod
    def _taken(cls, early: _venvfirst.Early, target: Path) -> VenvAhead:
        """The ``uv venv`` the CLI started before argparse (``_venvfirst``), its folder held as ``staging`` holds
        one."""
        holder = Path(early.holder)
        stack = ExitStack()
        stack.callback(os.close, early.fd)
        stack.callback(shutil.rmtree, holder, ignore_errors=True)
        try:
            return cls(early.python, target, stack, holder / "venv", _runner.Running.adopt(early.proc))
        except BaseException:  # Ctrl-C, SIGTERM: taken from ``_venvfirst`` and not yet the caller's to cancel
            _runner.kill_group(early.proc)
            early.proc.wait()
            stack.close()
            raise

    def begin_install(self, memo: Memo) -> None:
        """Start ``memo``'s installer into the venv as soon as uv has made it (on a thread: envsnap goes on
        loading meanwhile); its requirements are written in the staging folder's holder."""
        self._thread = threading.Thread(target=self._install_ahead, args=(memo,), name="envsnap-install-ahead")
        self._thread.daemon = True
        self._thread.start()

    def _install_ahead(self, memo: Memo) -> None:
        venv = self._venv_result()
        with self._guard:
            if self._done or not venv.ok:
                return
            requirements = self._staging.parent / "requirements.txt"
            try:
                requirements.write_text(memo.requirements, "utf-8")
            except OSError:
                return
            self._install_args = memo.command(str(self._staging / "bin" / "python"), str(requirements))
            self._requirements = memo.requirements
            self._install = _runner.start(self._install_args, env=isolated_env())

    def _venv_result(self) -> _runner.Result:
        with self._venv_guard:  # one wait for uv venv, whichever thread asks first
            if self._venv is None:
                self._venv = self._running.wait(VENV_TIMEOUT)
            return self._venv

    def take(self, python: str, dest: Path) -> tuple[Path, ExitStack] | None:
        """The staging folder with the venv made, and what removes its holder, when it was made from ``python``
        for ``dest`` and uv succeeded; None otherwise (it is then removed, and the caller makes its own). An
        installer begun in it is the caller's to ``adopt``: closing the stack kills it first if it was not."""
        if self._done:
            return None
        if python != self.python or dest.absolute() != self.dest:
            self.cancel()
            return None
        if self._thread is not None:
            self._thread.join()
        if not self._venv_result().ok:
            self.cancel()
            return None
        self._done = True
        stack = self._stack.pop_all()
        stack.callback(self._kill_install)  # runs before the folder is removed
        return self._staging, stack

    def adopt(self, args: list[str], env: dict[str, str]) -> _runner.Running | None:
        """The installer begun ahead, when ``args`` and ``env`` are its command and environment, but for the path of
        the requirements file (``-r``), whose content must be the same; None when none was begun. Raises
        ``NotTheSame``, the installer killed, when they differ: the venv it wrote into is not the rebuild's."""
        if self._thread is not None:
            self._thread.join()
        with self._guard:
            running, self._install = self._install, None
        if running is None:
            return None
        if env == isolated_env() and _same_command(args, self._install_args, self._requirements):
            return running
        running.kill()
        self.stale = True
        raise NotTheSame()

    def note_launch(self, args: list[str], need_mib: float) -> None:
        """Keep the command the rebuild started its installer with (its interpreter and requirements file put as
        slots), the requirements, and what the disk rule asked for: the next rebuild's ``begin_install`` when this
        one verifies (``_installahead.remember``). Nothing where the command is not of that form."""
        from ._installahead import PYTHON_SLOT, REQUIREMENTS_SLOT, Memo

        python = str(self._staging / "bin" / "python")
        found = _requirements_of(args)
        if found is None or args.count(python) != 1:
            return
        at, requirements = found
        template = [PYTHON_SLOT if arg == python else arg for arg in args]
        template[at] = REQUIREMENTS_SLOT
        self.launched = Memo(template, requirements, need_mib)

    def _kill_install(self) -> None:
        with self._guard:
            running, self._install = self._install, None
        if running is not None:
            running.kill()

    def cancel(self) -> None:
        """Kill uv (and an installer begun ahead) if it still runs and remove the staging folder; nothing once
        taken or cancelled."""
        with self._guard:
            if self._done:
                return
            self._done = True
        with contextlib.suppress(OSError):
            self._running.kill()  # wakes the thread waiting for it
        if self._thread is not None:
            self._thread.join()
        self._kill_install()
        self._stack.close()


def _same_command(args: list[str], begun: list[str], requirements: str) -> bool:
    """Whether ``args`` is the command ``begun`` but for the requirements file's path, and that file (``args``')
    holds ``requirements``."""
    found = _requirements_of(args)
    if found is None or len(args) != len(begun) or "-r" not in begun:
        return False
    at, text = found
    return (
        at == begun.index("-r") + 1
        and args[:at] + args[at + 1 :] == begun[:at] + begun[at + 1 :]
        and text == requirements
    )


def _requirements_of(args: list[str]) -> tuple[int, str] | None:
    """Where an installer's command names its requirements file (the word after ``-r``) and what that file holds;
    None for a command without one, or a file that cannot be read."""
    if "-r" not in args or args.index("-r") + 1 >= len(args):
        return None
    at = args.index("-r") + 1
    try:
        with open(args[at], encoding="utf-8") as handle:
            return at, handle.read()
    except (OSError, ValueError):
        return None
