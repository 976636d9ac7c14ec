"""A held Ctrl-C (the venv rebuild's verdict returned, its report not yet printed) is recorded, not raised; a second
one leaves at once, as every other wait of envsnap's does (a report stuck writing to a full pipe held it forever)."""

from __future__ import annotations

import os
import signal

import pytest

from envsnap import _signalhold


def test_a_second_ctrl_c_while_held_leaves_at_once() -> None:
    before = signal.getsignal(signal.SIGINT)
    with _signalhold.armed() as hold:
        _signalhold.begin()
        os.kill(os.getpid(), signal.SIGINT)
        assert hold.caught == "SIGINT"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # its handler runs before the next line
    assert signal.getsignal(signal.SIGINT) is before
