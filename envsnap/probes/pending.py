"""The probe of a target interpreter, started ahead of the work that reads it (``PendingProbe``).

A command starts it first, so that the target's scan overlaps envsnap's own start-up: this module imports only what
starting it takes (the subprocess runner, the interpreter's resolution), not the probe contract's dataclasses or
the model, which are imported where the answer is read. ``probes.python`` re-exports it."""

from __future__ import annotations

import json
import os
import sys

from .. import _runner
from .._defaults import PROBE_TIMEOUT, capture_cache_path
from ..errors import ProbeError
from .target import interpreter_named, resolve_interpreter

TYPE_CHECKING = False  # not typing's: see above
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .interface import RawPython

PROBE_PATH = os.path.join(os.path.dirname(__file__), "_pyprobe_run.py")  # imports _pyprobe (its byte code)


def _records_cache(interpreter: str) -> str | None:
    path = capture_cache_path("records", interpreter)
    return None if path is None else str(path)


def _record_memo() -> str | None:
    """The host's file of RECORD digests kept by content (``_pyprobe._RecordMemo``), one for each probe's code: its
    digests are that code's (the probe ignores a file another code wrote), and two installs of envsnap with
    another probe on one host (a project's venv and a tool's, an upgrade beside the old one) each kept dropping the
    other's file at every read, so that neither found a digest. The code is told by its file's size and mtime (a
    stat, not a hash of it, on the way to the probe's start): where two codes share both, the probe's own check of
    the file's code digest keeps each from using the other's."""
    try:
        info = os.stat(os.path.join(os.path.dirname(__file__), "_pyprobe.py"))
        code = f"{info.st_size}:{info.st_mtime_ns}"
    except OSError:
        code = ""
    path = capture_cache_path("record-memo", f"content:{code}")
    return None if path is None else str(path)


def user_site_off(environ: Mapping[str, str]) -> bool:
    """Whether ``PYTHONNOUSERSITE`` keeps the user site-packages off ``sys.path``, as CPython reads it: set and
    not empty, and not a number that is 0 (``PYTHONNOUSERSITE=0`` leaves them on; any other text turns them off)."""
    value = environ.get("PYTHONNOUSERSITE", "")
    # A 0 as C's strtol reads one: leading white space, a sign, zeros (" 0", "-00"); trailing space is text. Not
    # a regular expression: this module is on the way to the probe's start, before ``re`` is needed.
    digits = value.lstrip(" \t\n\v\f\r")
    digits = digits[1:] if digits[:1] in ("+", "-") else digits
    return bool(value) and not (digits and digits.strip("0") == "")


def _running(python: str) -> bool:
    """Whether ``python`` names the interpreter running envsnap, as it was started."""
    return bool(sys.executable) and os.path.abspath(python) == os.path.abspath(sys.executable)


class PendingProbe:
    """A probe running in the target interpreter while the caller does other work."""

    def __init__(
        self,
        python: str | None,
        *,
        check_files: bool = False,
        use_cache: bool = True,
        moved: tuple[str, str] | None = None,
        interpreter_only: bool = False,
        named: str | None = None,
        timeout: float | None = None,
    ):
        """``use_cache``: reuse the RECORD digests of the last capture of this interpreter where nothing they
        were computed from changed (the capture cache, ``probes/cache.py``), and keep the new ones.

        ``moved``: ``(folder, destination)``: ``python`` is the interpreter of an environment being made in
        ``folder`` (a rebuild's staging folder) that will be moved to ``destination``. The probe starts now and
        waits, set up, until ``go`` (said once the environment is moved, which must wait for ``set_up``); it
        then reads the environment where it is, and answers with its paths there. It keeps no RECORD digest
        (their files are all new, and they would be kept under the folder's path).

        ``interpreter_only``: the interpreter's own facts, no distribution read (``CaptureOptions``); answered
        in-process, at once, when ``python`` is the interpreter running envsnap (its path as this process was
        started with it): those facts are the binary's.

        With ``use_cache``, a probe that reads distributions also takes and keeps RECORD digests by their
        content (``_pyprobe._RecordMemo``), ``moved`` or not: a rebuild's new venv holds the RECORDs the last
        rebuild of the same wheels read.

        ``named``: how an error names the interpreter (``TargetEnvironment.named``: ``the environment's interpreter
        /x`` where envsnap chose it, ``--python /x`` where the user typed it, the default).

        ``timeout``: how long ``result`` waits for the interpreter's answer (``fleet prolog --python-timeout``; None:
        ``PROBE_TIMEOUT``)."""
        self.python = python
        self.timeout = timeout
        self.named = named or interpreter_named(python or sys.executable)
        self.interpreter_only = interpreter_only
        self._raw: RawPython | None = None
        self._proc: _runner.Running | None = None
        self._moved = moved
        # Told False as a reader begins to wait for the interpreter's answer, True once it ended (answered or not),
        # with the bound of that wait in seconds: ``fleet node`` notes what it waits on (``fleet.node``).
        self.on_wait: Callable[[bool, float], None] | None = None
        self.cache_path: str | None = None
        self.memo_path: str | None = None
        if interpreter_only and moved is None and (python is None or _running(python)):
            from . import _pyprobe

            self._raw = self._answer(_pyprobe.probe(path_entries=[]))
            return
        if python is None:
            from . import _pyprobe

            self.cache_path = _records_cache(sys.executable) if use_cache else None
            self.memo_path = _record_memo() if use_cache else None
            self._raw = self._answer(
                _pyprobe.probe(check_files=check_files, cache_path=self.cache_path, memo_path=self.memo_path)
            )
            return
        exe = resolve_interpreter(python, self.named)
        self.cache_path = _records_cache(exe) if use_cache and moved is None and not interpreter_only else None
        self.memo_path = _record_memo() if use_cache and not interpreter_only and not check_files else None
        # -E: PYTHON* variables of this process must not steer the target; -s only where PYTHONNOUSERSITE keeps
        # the user site-packages from that interpreter (-E ignores it), else they are captured too; -B: it writes
        # no byte code into envsnap's folder (``_pyprobe_run``). Its own process group, killed whole on timeout: a
        # wrapper's children cannot keep it running.
        args = [exe, "-E", *(["-s"] if user_site_off(os.environ) else []), "-B", PROBE_PATH]
        args += ["--files"] if check_files else []
        args += ["--interpreter-only"] if interpreter_only else []
        args += ["--cache", self.cache_path] if self.cache_path else []
        args += ["--memo", self.memo_path] if self.memo_path else []
        self._proc = _runner.start([*args, *(["--wait"] if moved else [])], held=moved is not None)
        if self._proc.error is not None:
            raise ProbeError(f"{self.named}: not a working Python interpreter ({self._proc.error.stderr})")

    def set_up(self, timeout: float) -> bool:
        """Whether a ``moved`` probe's interpreter has started and the probe is set up (or it ended) within
        ``timeout`` seconds of now: an interpreter moved while it starts finds neither its venv nor itself."""
        return self._proc is not None and self._proc.output_begun(timeout)

    def go(self) -> None:
        """A ``moved`` probe reads the environment, moved to its destination, from now on."""
        if self._proc is not None:
            self._proc.feed(json.dumps({"go": self._moved[1] if self._moved else ""}) + "\n")

    def result(self) -> RawPython:
        if self._raw is not None:
            return self._raw
        assert self._proc is not None
        self.go()
        bound = PROBE_TIMEOUT if self.timeout is None else self.timeout
        if self.on_wait is not None:
            self.on_wait(False, bound)
        res = self._proc.wait(bound)
        if self.on_wait is not None:
            self.on_wait(True, bound)
        out, err = res.stdout, res.stderr
        if res.timed_out:
            raise ProbeError(f"{self.named}: the probe did not finish within {bound:g} s")
        if res.flooded:
            raise ProbeError(f"{self.named}: the probe {err} (is it a Python interpreter?)")
        if res.returncode != 0:
            last = (err.strip().splitlines() or ["no output"])[-1]
            if last.startswith("SyntaxError"):
                # The interpreter runs, but cannot even compile the probe: Python 2 or 3.6 and older.
                raise ProbeError(f"{self.named}: too old for envsnap's probe, which needs Python >= 3.7 ({last})")
            raise ProbeError(f"{self.named}: not a working Python interpreter ({last})")
        try:
            data = json.loads(out)
        except ValueError:
            raise ProbeError(f"{self.named}: the probe printed no JSON (is it a Python interpreter?)") from None
        self._raw = self._answer(data, self.named)
        return self._raw

    @property
    def answered(self) -> bool:
        return self._raw is not None

    def cancel(self) -> None:
        """End the probe unanswered (its process group killed): it was started ahead for a capture that
        turned out to want another interpreter."""
        if self._proc is not None and self._raw is None:
            self._proc.kill()

    def _answer(self, data: object, who: str = "this interpreter") -> RawPython:
        """The probe's answer checked; the RECORD digests it computed anew kept for the next capture."""
        kept = data.pop("cache", None) if isinstance(data, dict) else None
        remembered = data.pop("memo", None) if isinstance(data, dict) else None
        # Only cache files of RECORD digests are kept (their entries are checked again when they are read).
        for path, document, kind in ((self.cache_path, kept, "records"), (self.memo_path, remembered, "record-memo")):
            if path is not None and isinstance(document, dict) and document.get("kind") == kind:
                from pathlib import Path

                from .cache import write

                write(Path(path), document)
        from .interface import RawPython

        return RawPython.from_json(data, who)


def run_probe(python: str | None = None) -> RawPython:
    """Probe ``python`` (a path to an interpreter) in a subprocess, or this interpreter in-process."""
    return PendingProbe(python).result()
