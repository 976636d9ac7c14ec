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
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

from . import _leftovers, _runner, _tools
from .errors import BadOptionError

DEFAULT_DEST = "envsnap-venv"  # the venv target's ``default_dest``
VENV_TIMEOUT = 300.0

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
    env.update(extra or {})
    return env


def uv_venv_args(uv: str, python: str, where: Path) -> list[str]:
    """The one ``uv venv`` command line of a venv rebuild (here and in ``rebuild/venv.py``)."""
    return [uv, "venv", "--quiet", "--no-project", "--python", python, str(where)]


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


class VenvAhead:
    """``uv venv`` of ``python`` running in a held staging folder beside ``dest`` (``start``)."""

    def __init__(self, python: str, dest: Path, stack: ExitStack, folder: Path, running: _runner.Running) -> None:
        self.python, self.dest = python, dest
        self._stack, self._staging, self._running = stack, folder, running
        self._done = False

    @classmethod
    def start(cls, python: str, dest: str | os.PathLike[str]) -> VenvAhead | None:
        """Started, or None where it is not (no uv, no folder for ``dest``, anything that fails): the rebuild
        then makes its venv itself and reports what is wrong, as it always did."""
        uv = _tools.uv()
        target = Path(dest).absolute()
        if not uv or not python or not target.parent.is_dir():
            return None
        stack = ExitStack()
        try:
            folder = stack.enter_context(staging(target))
            running = _runner.start(uv_venv_args(uv, python, folder), env=isolated_env())
        except (BadOptionError, OSError, ValueError):
            stack.close()
            return None
        return cls(python, target, stack, folder, running)

    def take(self, python: str, dest: Path) -> tuple[Path, ExitStack] | None:
        """The staging folder with the venv made, and what removes its holder, when it was made from ``python``
        for ``dest`` and uv succeeded; None otherwise (it is then removed, and the caller makes its own)."""
        if self._done:
            return None
        if python != self.python or dest.absolute() != self.dest:
            self.cancel()
            return None
        result = self._running.wait(VENV_TIMEOUT)
        if not result.ok:
            self.cancel()
            return None
        self._done = True
        return self._staging, self._stack.pop_all()

    def cancel(self) -> None:
        """Kill uv if it still runs and remove the staging folder; nothing once taken or cancelled."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            self._running.kill()
        self._stack.close()
