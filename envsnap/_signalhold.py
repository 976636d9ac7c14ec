"""Holding Ctrl-C, SIGTERM and SIGHUP off once a result is final, until the command has reported it.

A venv rebuild's venv stays at ``--dest`` once the rebuild has returned its verdict; an interrupt after that moment
(while ``rebuild()`` shut down what it began ahead, while the command printed the report) exited 130 with the venv
in place, neither withdrawn nor reported. The command arms a hold around its work (``armed``); the library begins
it at the moment the result is final (``begin``: nothing when no command armed one, so an in-process caller keeps
its own signals); from then a signal is recorded, not raised, and the command says so once it has reported. A second
signal is not held: it is handled at once, as it would have been."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_HELD = ("SIGINT", "SIGTERM", "SIGHUP")


class Hold:
    """Signals recorded instead of raised between ``begin`` and ``end`` (the main thread's handlers replaced; a
    signal ignored or left to its default is left so)."""

    def __init__(self) -> None:
        self.caught: str | None = None  # the first signal's name
        self._saved: dict[int, object] = {}
        self.begun = False

    def begin(self) -> None:
        if self.begun or threading.current_thread() is not threading.main_thread():
            return
        import signal

        self.begun = True
        for name in _HELD:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            handler = signal.getsignal(signum)
            if callable(handler):
                self._saved[signum] = handler
                signal.signal(signum, self._record)

    def _record(self, signum: int, frame: object) -> None:
        if self.caught is None:
            import signal

            self.caught = signal.Signals(signum).name
            return
        # A second signal leaves at once, as every other wait of envsnap's lets it: a report stuck writing to a full
        # pipe held the first forever. Its own handler (restored with the rest) takes it as it would have.
        handler = self._saved.get(signum)
        self.end()
        if callable(handler):
            handler(signum, frame)

    def end(self) -> None:
        if not self._saved:
            return
        import signal

        saved, self._saved = self._saved, {}
        for signum, handler in saved.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]


_current: list[Hold] = []


@contextlib.contextmanager
def armed() -> Iterator[Hold]:
    """A hold the library may begin (``begin``) while the block runs; ended (the handlers restored) when it ends."""
    hold = Hold()
    _current.append(hold)
    try:
        yield hold
    finally:
        _current.remove(hold)
        hold.end()


def begin() -> None:
    """Hold signals off from now until the command that armed a hold ends it; nothing where none is armed."""
    if _current:
        _current[-1].begin()


def abandon() -> None:
    """Stop holding (an interrupt that landed as the hold began): the handlers are restored at once."""
    if _current:
        _current[-1].end()
