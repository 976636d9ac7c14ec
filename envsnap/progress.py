"""The one callback type for long steps: called with one human line per step ("installing 12 wheels with uv").

The CLI shows each line, tests collect them. Bundling, fetching and every rebuild target take the same type.

A transfer of a known size (an image saved or loaded, a large download) is counted with ``transfer``: where the
callback is a ``Meter`` (the CLI's, which draws a rich bar on a terminal) it shows the bytes as they move; a
plain callback gets one line when the transfer ends, with its size and time.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

Progress = Callable[[str], None]


class Transfer(Protocol):
    """One transfer in progress: ``advance`` by the bytes just moved."""

    def advance(self, size: int) -> None: ...

    def close(self, finished: bool) -> None: ...


@runtime_checkable
class Meter(Protocol):
    """A ``Progress`` that can also show a transfer of ``total`` bytes (0: unknown) as it goes."""

    def __call__(self, line: str) -> None: ...

    def transfer(self, label: str, total: int) -> Transfer: ...


class _Counted:
    """A plain callback's transfer: one line when it has finished."""

    def __init__(self, progress: Progress, label: str):
        self.progress, self.label, self.size, self.started = progress, label, 0, time.perf_counter()

    def advance(self, size: int) -> None:
        self.size += size

    def close(self, finished: bool) -> None:
        if finished:
            self.progress(done_line(self.label, self.size, time.perf_counter() - self.started))


def done_line(label: str, size: int, seconds: float) -> str:
    return f"{label}: {size / (1 << 20):.1f} MiB in {seconds:.1f} s"


@contextlib.contextmanager
def transfer(progress: Progress, label: str, total: int) -> Iterator[Callable[[int], None]]:
    """Count the bytes of one transfer: yields ``advance(size)``. A ``Meter`` shows them as they move; any other
    callback gets ``label: N MiB in S s`` when the transfer ends (not when it fails)."""
    shown: Transfer = progress.transfer(label, total) if isinstance(progress, Meter) else _Counted(progress, label)
    try:
        yield shown.advance
    except BaseException:
        shown.close(finished=False)
        raise
    shown.close(finished=True)


__all__ = ["Meter", "Progress", "Transfer", "done_line", "transfer"]
