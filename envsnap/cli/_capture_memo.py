"""``capture`` answered from the capture memo (``probes/memo.py``), and the memo kept by a full capture.

The common command lines (``capture``, ``capture -o PATH``, ``capture --python PY -o -``) are answered before
argparse is imported (``quick_answer``): argparse with ``re``, ``enum``, ``gettext`` and the command's parser
was a fifth of an answer. ``quick_options`` reads only shapes whose meaning is plain (each of ``-o``/``--output``
and ``--python`` at most once, its value in the next word or after ``=``, a value that argparse could not take
for an option); anything else, including every other option, goes to argparse and the full command, which asks
the memo the same way (tests/cli/test_capture_memo_cli.py compares the two parsers).
"""

from __future__ import annotations

import os
import time

from .._defaults import (
    DEEP_TIMEOUT,
    EDITABLE_DIRTY,
    EDITABLE_GONE,
    GPU_TIMEOUT,
    LIBRARY_NOT_FOUND,
    LOCK_NAME,
    PATH_WARNINGS,
)

TYPE_CHECKING = False  # not typing's: this module is all a memo's answer imports of the command line
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..probes.capture import Captured
    from ..probes.target import TargetEnvironment

_VALUED = {"-o": "output", "--output": "output", "--python": "python"}


def quick_options(argv: Sequence[str]) -> dict[str, str | None] | None:
    """``{"output": ..., "python": ...}`` as argparse would give them for ``capture ARGV``, when ``argv`` is
    made only of ``-o V``, ``--output V``, ``--output=V``, ``--python V`` and ``--python=V``, each option at
    most once and every value non-empty and not starting with ``-`` (but ``-`` itself); None for anything else."""
    found: dict[str, str | None] = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        name, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
        field = _VALUED.get(name)
        if field is None or field in found:
            return None
        if not eq:
            if i + 1 >= len(argv):
                return None
            value = argv[i + 1]
            i += 1
        if not value or (value.startswith("-") and value != "-"):
            return None
        found[field] = value
        i += 1
    return {"output": found.get("output", LOCK_NAME), "python": found.get("python")}


def quick_answer(argv: Sequence[str]) -> int | None:
    """``envsnap capture ARGV`` answered from the memo (exit 0), or None: the command runs in full."""
    options = quick_options(argv)
    if options is None:
        return None
    started = time.perf_counter()
    from ..probes.target import select_environment

    chosen = select_environment(options["python"], None)
    output = options["output"]
    assert output is not None
    memo = CaptureMemo.of(
        python=options["python"],
        output=output,
        prefix=None,
        project=None,
        flags=(False, False, False),
        gpu_ids=False,
        gpu_timeout=GPU_TIMEOUT,
        deep_timeout=DEEP_TIMEOUT,
        chosen=chosen,
    )
    return 0 if memo is not None and memo.answer(output, started) else None


def warnings_shown(warnings: tuple[str, ...] | list[str]) -> list[str]:
    """A capture's warnings as its summary prints them: each path one shell word (an editable folder gone by its
    decoded path, as verify prints it), a distribution's several libraries not found in one line. The lock keeps them
    as written, which its identity counts; the memo keeps these, so that its answer loads none of the probes."""
    shown = list(warnings)
    if any(w.endswith(EDITABLE_GONE) or w.startswith(PATH_WARNINGS) or EDITABLE_DIRTY in w for w in shown):
        from ..probes.python import warning_shown

        shown = [warning_shown(w) for w in shown]
    if sum(w.startswith("system: ") and w.endswith(LIBRARY_NOT_FOUND) for w in shown) > 1:
        from ..probes.system import missing_libraries_shown

        shown = missing_libraries_shown(shown)
    return shown


def summarise(
    output: str,
    written: bool,
    digest: str,
    summary: str,
    started: float,
    deep: list[str],
    warnings: tuple[str, ...] | list[str],
) -> None:
    """A capture's summary line (``-o PATH``), its ``--deep`` lines and its warnings as shown (``warnings_shown``), on
    stderr."""
    from . import _output

    counts = f"{summary}, in {time.perf_counter() - started:.2f} s"
    if written:
        head = f"wrote {output}: {counts}"
    else:
        head = f"unchanged: {output} already records this environment ({digest[:19]}...), left as it was: {counts}"
    # package metadata: no control characters
    _output.write_lines(head, *deep, *(f"warning: {w}" for w in warnings))


def _holds(output: str, text: str, span: tuple[int, int] | None) -> bool | None:
    """True when ``output`` is a regular file holding ``text`` but for a ``created`` time of the form this capture
    writes (``YYYY-MM-DDTHH:MM:SSZ``, a form ``grammar.is_timestamp`` takes): what a re-capture over its own lock
    finds. None otherwise (``CaptureMemo._holds_as_lockfile_compares`` decides, with the grammar): this reads at
    most the file's size when that is the text's, never a special file, and loads neither pathlib nor ``re``."""
    if span is None:
        return None
    data = text.encode("utf-8")
    try:
        fd = os.open(output, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        import stat

        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return None
        old = os.read(fd, len(data) + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    # The text before the created line and after it are the same (so the old text has no created line before
    # this one: a line is matched whole), and this one is `created = "..."` with a time of the same form.
    start, end = span
    head, tail = len(text[:start].encode("utf-8")), len(text[end:].encode("utf-8"))
    if len(old) != len(data) or old[:head] != data[:head] or old[len(old) - tail :] != data[len(data) - tail :]:
        return None
    line = old[head : len(old) - tail]
    if not (line.startswith(b'created = "') and line.endswith(b'"') and len(line) == len('created = "') + 21):
        return None
    value = line[len('created = "') : -1]
    digits = value[0:4] + value[5:7] + value[8:10] + value[11:13] + value[14:16] + value[17:19]
    shape = bytes(value[i] for i in (4, 7, 10, 13, 16, 19))
    return True if digits.isdigit() and digits.isascii() and shape == b"--T::Z" else None


class CaptureMemo:
    """The capture memo of one command line: the environment's memo file and what is read afresh to check it."""

    def __init__(self, identity: str, fact: str, chosen: TargetEnvironment, project: list[object]) -> None:
        self.identity, self.fact, self.chosen, self.project = identity, fact, chosen, project

    @classmethod
    def of(
        cls,
        *,
        python: str | None,
        output: str,
        prefix: str | None,
        project: str | None,
        flags: tuple[bool, bool, bool],
        gpu_ids: bool,
        gpu_timeout: float,
        deep_timeout: float,
        chosen: TargetEnvironment,
    ) -> CaptureMemo | None:
        """The memo of a capture with these options (``flags``: ``--deep``, ``--pin``, ``--json``), or None
        when such a capture is not memoised (``memo.eligible``)."""
        from ..probes import memo

        deep, pin, json_too = flags
        if not memo.eligible(project=project, deep=deep, pin=pin, json_too=json_too, environ=os.environ):
            return None
        # The git work tree around the working directory: its root and state, as the capture will read them (the
        # lock being written is left out of the dirty state, as the project probe leaves it out).
        work_tree = memo.project_facts(state=True, exclude=[] if output == "-" else [output])
        command = [python, prefix, gpu_ids, gpu_timeout, deep_timeout, chosen, *work_tree]
        identity = memo.memo_identity(chosen.cache_identity(), work_tree)
        return cls(identity, memo.facts(command, os.environ), chosen, work_tree)

    def answer(self, output: str, started: float) -> bool:
        """Give the kept lock when nothing it depended on changed; False when the capture must run."""
        from .._defaults import existing_capture_cache_file
        from ..probes import memo

        kept = memo.lookup(existing_capture_cache_file("memo", self.identity, memo.SUFFIX), self.fact)
        if kept is None:
            return False
        text = memo.answer_text(kept, memo.utc_now())
        written = True
        if output != "-":
            same = _holds(output, text, kept["created"])
            if same is None:
                same = self._holds_as_lockfile_compares(output, text)
            if same is None:
                return False  # another lock's text there: the full capture compares it as lockfile does
            written = not same
        from . import _output

        _output.write_lines(f"capturing {self.chosen.describe()}")
        if output == "-":
            _output.write_document(text)
            return True
        if written:
            from .. import _locktext

            _locktext.write(text, output)
        summarise(output, written, kept["digest"], kept["summary"], started, [], kept["warnings"])
        return True

    @staticmethod
    def _holds_as_lockfile_compares(output: str, text: str) -> bool | None:
        """True when ``output`` holds ``text`` but for ``created`` (``_locktext.same_but_created``), False when
        there is nothing there, None for anything else."""
        from pathlib import Path

        from .. import _locktext, _readlimits
        from ..errors import LockfileError

        try:
            raw = _readlimits.read_bytes(Path(output), error=LockfileError, what="lockfile")
        except LockfileError:
            raw = b""
        try:
            old = raw.decode("utf-8")
        except UnicodeDecodeError:
            old = ""
        if old and _locktext.same_but_created(old, text):
            return True
        return None if raw or os.path.lexists(output) else False

    def keep(
        self,
        captured: Captured,
        started_ns: int,
        text: str,
        digest: str,
        summary: str,
        warnings: tuple[str, ...],
    ) -> None:
        """Keep this capture's lock with the stamps of what it read."""
        from .._defaults import capture_cache_path
        from ..probes import memo
        from ..probes.python import reads_checkout_state, reads_checkouts

        if not memo.recorded_as_keyed(captured, self.project):
            return
        if reads_checkouts(captured.snapshot.python.packages) or reads_checkout_state(
            captured.python, captured.project_root
        ):
            return  # a checkout's HEAD, which no file the memo watches stamps (probes.python._editable_checkout)
        path = capture_cache_path("memo", self.identity, memo.SUFFIX)
        watch = memo.watch_of(captured, self.chosen, os.environ)
        memo.save(path, self.fact, watch, started_ns, lock=text, digest=digest, summary=summary, warnings=warnings)
