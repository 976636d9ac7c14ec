"""Whether an output a command writes is a file it reads: ``fleet check LOCK -o LOCK`` replaced the lock with its
report. The operating system alone (``envsnap run`` asks before its command starts, and imports little then)."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: ``envsnap run`` imports this before its command starts
if TYPE_CHECKING:
    from collections.abc import Iterable


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` name one file: a link to it or another spelling of its path, as a write of ``a``
    (which follows links) would reach it; two paths of a file not made yet count when they resolve alike."""
    try:
        if os.path.samefile(a, b):
            return True
    except (OSError, ValueError):
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def refuse_output_over_input(
    output: str | os.PathLike[str], inputs: Iterable[tuple[str, str | os.PathLike[str]]], option: str = "-o"
) -> None:
    """``UsageError`` (one line, exit 2) when the output a command will write is the same file as one of its
    ``inputs`` (what it is called, its path): ``fleet check LOCK -o LOCK`` replaced the lock with the report.
    Asked before anything is read from a node, an index or the command's run."""
    from .errors import UsageError

    if not os.fspath(output) or os.fspath(output) == "-":
        return
    for what, path in inputs:
        if path and path != "-" and same_file(output, path):
            raise UsageError(
                f"{option} {os.fspath(output)}: the same file as {what} ({os.fspath(path)}), which this command "
                "reads; writing there would replace it: name another file"
            )


def refuse_output_inside(
    output: str | os.PathLike[str], folder: str | os.PathLike[str], what: str, why: str, option: str = "-o"
) -> None:
    """``UsageError`` (one line, exit 2) when the output a command will write is ``folder`` or lies inside it, as
    a write (which follows links) would reach it: ``export BUNDLE -o BUNDLE/requirements.txt`` replaced or added a
    file of the bundle it read, which then failed its ``SHA256SUMS`` check. ``what`` names the folder, ``why`` says
    what writing there would break."""
    from .errors import UsageError

    if not os.fspath(output) or os.fspath(output) == "-":
        return
    place, root = os.path.realpath(output), os.path.realpath(folder)
    try:
        inside = os.path.commonpath([place, root]) == root
    except ValueError:  # another drive
        return
    if inside:
        raise UsageError(
            f"{option} {os.fspath(output)}: inside {what} ({os.fspath(folder)}), which this command reads; "
            f"writing there would {why}: name a path outside it"
        )
