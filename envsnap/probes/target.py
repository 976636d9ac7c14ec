"""Which environment a command captures or verifies (``select_environment``), and checks of an interpreter's
path. Apart from ``probes/python.py`` so that a capture answered from the memo (``probes/memo.py``) chooses its
environment without loading the probe contract."""

from __future__ import annotations

import os
import sys

from .._lazyre import LazyPattern
from ..errors import ProbeError

TYPE_CHECKING = False  # not typing's: a capture answered from the memo imports this module and little else
if TYPE_CHECKING:
    from collections.abc import Mapping


def interpreter_named(python: str, why: str = "--python") -> str:
    """How an error names an interpreter: by the option where the user typed it (``--python /x``), else as what it
    is (``the environment's interpreter /x``). The target probe's errors said ``--python /x`` of the active venv's
    interpreter, and in ``fleet node``, which has no ``--python``."""
    return f"--python {python}" if why == "--python" else f"the environment's interpreter {python}"


def resolve_interpreter(python: str, named: str | None = None) -> str:
    """An interpreter given by path or by name on PATH; a clear error when it is neither, naming it as ``named``
    says (``interpreter_named``; default: as ``--python`` names it)."""
    named = named or interpreter_named(python)
    if not python:  # --python "$PY" with the variable unset: "--python : no such interpreter", a blank for the path
        from .._readlimits import empty_path

        raise ProbeError(f"{named.rstrip()} {empty_path('Python interpreter')}")
    if os.sep in python:
        candidate = python
    else:
        import shutil

        candidate = shutil.which(python) or python
        if candidate != python and not is_python_name(candidate) and os.path.isdir(python):
            # ``--python env`` for the ``./env`` the conda exports create (``--prefix ./env``), not /usr/bin/env.
            candidate = python
    if os.path.isdir(candidate):
        # A venv or conda prefix given instead of its interpreter.
        from pathlib import Path

        for rel in ("bin/python", "bin/python3", "python.exe", "Scripts/python.exe"):
            if (Path(candidate) / rel).exists():
                return str(Path(candidate) / rel)
        for rel in ("bin/python", "bin/python3"):
            _refuse_broken_link(os.path.join(candidate, rel), named)
        raise ProbeError(f"{named}: a directory with no bin/python in it")
    _refuse_broken_link(candidate, named)
    if not os.path.exists(candidate):
        raise ProbeError(f"{named}: no such interpreter")
    if not os.access(candidate, os.X_OK):
        raise ProbeError(f"{named}: not executable")
    runs = script_interpreter(candidate)
    if runs is not None:
        # Running it would run the user's script (a training run, say) with the probe's path as arguments.
        raise ProbeError(f"{named}: a Python script (its first line runs {runs}), not an interpreter")
    # Absolute: "./python" must not become "python", which the exec would look up on PATH instead.
    return os.path.abspath(candidate)


_PYTHON_NAME = LazyPattern(r"(python|pypy)[0-9.]*t?$")


def is_python_name(name: str) -> bool:
    """A program name that names a Python interpreter (``python3.11``, ``pypy3``)."""
    return _PYTHON_NAME.match(os.path.basename(name)) is not None


def script_interpreter(path: str | os.PathLike[str]) -> str | None:
    """The Python a ``#!`` script runs, or None when ``path`` is not one (wrapper shell scripts such as pyenv's
    shims, which run an interpreter, are not Python scripts)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode("utf-8", "replace").split()
    if words and os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
    if words and _PYTHON_NAME.match(os.path.basename(words[0])):
        return words[0]
    return None


def _refuse_broken_link(path: str, named: str) -> None:
    """A venv whose base interpreter was removed (a pyenv version uninstalled): say so, not "no such file". One
    that is there but may not be reached (in another user's home, a folder of mode 0700) is not said to be gone."""
    if not os.path.islink(path):
        return
    try:
        os.stat(path)
    except OSError as exc:
        if isinstance(exc, PermissionError):
            raise ProbeError(
                f"{named}: {path} is a link to {os.readlink(path)}, which you may not reach ({exc.strerror}): the "
                "interpreter this environment was made from is in a folder only its owner may read"
            ) from None
        raise ProbeError(
            f"{named}: {path} is a broken link to {os.readlink(path)} "
            "(the interpreter this environment was made from is gone)"
        ) from None


class TargetEnvironment:
    """Which environment a command captures or verifies, and why (``select_environment``). Immutable; a plain
    class, not a dataclass: the memo's answer is given without loading dataclasses and inspect."""

    __slots__ = ("conda_prefix", "python", "python_layer", "where", "why")
    python: str | None  # the interpreter to probe; None: the one running envsnap (probed in-process)
    where: str  # what the user sees: the interpreter given, or the environment's directory
    why: str  # "--python", "--prefix", "VIRTUAL_ENV", "CONDA_PREFIX" or "envsnap's own interpreter"
    conda_prefix: str | None  # a conda environment to record even without an interpreter in it
    python_layer: bool  # False: a conda environment without Python, which has no Python layer

    def __init__(
        self,
        python: str | None,
        where: str,
        why: str,
        conda_prefix: str | None = None,
        python_layer: bool = True,
    ) -> None:
        for name, value in zip(self.__slots__, (conda_prefix, python, python_layer, where, why), strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"TargetEnvironment is immutable: cannot set {name}")

    def _fields(self) -> tuple[str | bool | None, ...]:
        return (self.python, self.where, self.why, self.conda_prefix, self.python_layer)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TargetEnvironment) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def replace(self, *, why: str) -> TargetEnvironment:
        """The same environment chosen for another reason."""
        return TargetEnvironment(self.python, self.where, why, self.conda_prefix, self.python_layer)

    def __repr__(self) -> str:
        return (
            f"TargetEnvironment(python={self.python!r}, where={self.where!r}, why={self.why!r}, "
            f"conda_prefix={self.conda_prefix!r}, python_layer={self.python_layer!r})"
        )

    def cache_identity(self) -> str:
        """The environment's name for its capture cache files (``cache_identity``)."""
        return cache_identity(self.python, self.conda_prefix, self.python_layer)

    def named(self) -> str:
        """How an error names the interpreter probed (``interpreter_named``): ``--python /x`` only where typed."""
        return interpreter_named(self.python or sys.executable, self.why)

    def describe(self) -> str:
        """For the terminal: a path may hold control characters."""
        from .._control import strip_control  # not the whole grammar: a memo's answer shows this line

        if not self.python_layer:
            return f"{strip_control(self.where)} ({self.why}; no Python in it: no Python layer)"
        return f"{strip_control(self.where)} ({self.why})"


def _posix_path(path: str) -> str:
    """``str(PurePosixPath(path))`` without pathlib: "." parts and repeated or trailing slashes dropped, ".."
    kept (it may cross a link), two leading slashes kept as POSIX allows."""
    head = "//" if path.startswith("//") and not path.startswith("///") else "/" if path.startswith("/") else ""
    return head + "/".join(p for p in path.split("/") if p not in ("", ".")) or "."


def _interpreter_in(prefix: str) -> str | None:
    for rel in ("bin/python", "bin/python3"):
        exe = _posix_path(os.path.join(prefix, rel))
        if os.path.exists(exe):
            return exe
    return None


def _broken_interpreter(prefix: str) -> str:
    """Why the environment at ``prefix`` has an interpreter that cannot run: its ``bin/python`` links to nothing (a
    venv or conda environment on a shared file system whose base Python a node lacks); "" when it has none at all,
    or one that is there."""
    for rel in ("bin/python", "bin/python3"):
        link = os.path.join(prefix, rel)
        if os.path.islink(link) and not os.path.exists(link):
            return f"its interpreter {rel} links to {os.path.realpath(link)}, which does not exist here"
    return ""


def _require_working_interpreter(prefix: str, variable: str | None, python_option: bool) -> None:
    """``ProbeError`` when the environment's interpreter is a broken link: neither taken for an environment without
    Python (whose place envsnap's own interpreter takes) nor for no environment at all. ``variable``: the one that
    named the environment, or None for ``--prefix``."""
    broken = _broken_interpreter(prefix) if _interpreter_in(prefix) is None else ""
    if broken:
        remedies = ["install it", "make the environment again"]
        remedies += [f"unset {variable}"] if variable else []
        remedies += ["pass --python"] if python_option else []
        named = f"{variable}={prefix}" if variable else f"--prefix {prefix}"
        raise ProbeError(
            f"{named}: {broken}: the Python it was made from is missing; {', '.join(remedies[:-1])}, or {remedies[-1]}"
        )


def require_prefix_dir(prefix: str) -> None:
    """``--prefix`` names a folder; ``ProbeError`` saying what to pass when it does not. An interpreter given
    there (``ENV/bin/python``) was "no such directory", though it exists: it goes to ``--python``."""
    if os.path.isdir(prefix):
        return
    if not os.path.exists(prefix):
        raise ProbeError(f"--prefix {prefix}: no such directory")
    parent = os.path.dirname(os.path.abspath(prefix))
    env = f" ({os.path.dirname(parent)})" if os.path.basename(parent) in ("bin", "Scripts") else ""
    from .. import sinks

    raise ProbeError(
        f"--prefix {prefix}: a file, not a folder: --prefix takes the conda environment's folder{env}; "
        f"pass an interpreter as --python {sinks.shell_shown([prefix])}"
    )


def _conda_without_python(prefix: str) -> bool:
    """A conda environment (its ``conda-meta/``) with no interpreter, not even a broken link to one."""
    links = (os.path.join(prefix, rel) for rel in ("bin/python", "bin/python3"))
    return os.path.isdir(os.path.join(prefix, "conda-meta")) and not any(os.path.lexists(p) for p in links)


def _is_running(prefix: str) -> bool:
    """The environment envsnap itself runs in: probed in-process, without starting an interpreter."""
    return os.path.realpath(prefix) == os.path.realpath(sys.prefix)


def select_environment(
    python: str | None = None,
    prefix: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    python_from: str = "--python",
    python_option: bool = True,
) -> TargetEnvironment:
    """The environment to capture or verify, in uv's order: ``--python``, then ``--prefix``, then an active
    virtual environment (``VIRTUAL_ENV``), then an active conda environment (``CONDA_PREFIX``), then the
    interpreter running envsnap. envsnap is often installed apart from the environment it records (pipx,
    ``uv tool``), so its own interpreter is the last resort, not the default. ``python_from``: what named
    ``python``, as the user is told (``ENVSNAP_TARGET_PYTHON`` in a rebuilt image). ``python_option`` false: the
    command has no ``--python`` (``fleet node``, ``fleet prolog``), which an error then does not offer."""
    env = os.environ if environ is None else environ
    alternative = ", or pass --python" if python_option else ""
    if python is not None:
        if prefix is None and os.path.isdir(python) and _conda_without_python(python):
            # A conda prefix given for its interpreter, as --python takes a prefix, holds none: it is chosen as
            # CONDA_PREFIX chooses one, with no Python layer, not refused as a folder without bin/python.
            return TargetEnvironment(None, os.path.abspath(python), python_from, python, python_layer=False)
        resolved = resolve_interpreter(python, interpreter_named(python, python_from))
        return TargetEnvironment(resolved, python, python_from, prefix)
    if prefix is not None:
        require_prefix_dir(prefix)
        _require_working_interpreter(prefix, None, python_option)
        exe = _interpreter_in(prefix)
        where = os.path.abspath(prefix)
        if exe is None:
            return TargetEnvironment(None, where, "--prefix", prefix, python_layer=False)
        return TargetEnvironment(None if _is_running(where) else exe, where, "--prefix", prefix)
    venv = env.get("VIRTUAL_ENV", "")
    if venv:
        _require_working_interpreter(venv, "VIRTUAL_ENV", python_option)
        exe = _interpreter_in(venv)
        if not os.path.isfile(os.path.join(venv, "pyvenv.cfg")) or exe is None:
            raise ProbeError(
                f"VIRTUAL_ENV={venv}: not a virtual environment (no pyvenv.cfg and bin/python in it): "
                f"activate a real one{',' if python_option else ' or'} unset VIRTUAL_ENV{alternative}"
            )
        where = os.path.abspath(venv)
        return TargetEnvironment(None if _is_running(where) else exe, where, "VIRTUAL_ENV")
    conda = env.get("CONDA_PREFIX", "")
    if conda:
        if not os.path.isdir(os.path.join(conda, "conda-meta")):
            raise ProbeError(
                f"CONDA_PREFIX={conda}: not a conda environment (no conda-meta/ in it): "
                f"activate a real one{',' if python_option else ' or'} unset CONDA_PREFIX{alternative}"
            )
        _require_working_interpreter(conda, "CONDA_PREFIX", python_option)
        where = os.path.abspath(conda)
        exe = _interpreter_in(conda)
        if exe is None:
            return TargetEnvironment(None, where, "CONDA_PREFIX", conda, python_layer=False)
        return TargetEnvironment(None if _is_running(where) else exe, where, "CONDA_PREFIX")
    return TargetEnvironment(None, sys.prefix, "envsnap's own interpreter: no --python, VIRTUAL_ENV or CONDA_PREFIX")


def cache_identity(python_path: str | None, conda_prefix: str | None, python_layer: bool) -> str:
    """The environment's name for its capture cache files: its interpreter's path, or its conda prefix."""
    where = python_path or (conda_prefix if not python_layer else None) or sys.executable
    return os.path.abspath(where)
