"""An interrupted conda rebuild waits for py-rattler to stop writing at most as long as it says it will."""

from __future__ import annotations

import _thread
import time
from pathlib import Path

import pytest

from envsnap.rebuild.conda import quiet_folders, to_its_end, waiting_line


def test_the_wait_after_a_ctrl_c_is_at_most_the_time_it_says(tmp_path: Path) -> None:
    # py-rattler's install ends 0.6 s after the Ctrl-C, and its threads go on writing after it: the wait for them to
    # stop is what is left of the one the line names, not as long again (it said up to 300 s and could take 600).
    busy = tmp_path / "prefix"
    busy.mkdir()
    said: list[str] = []

    def install() -> None:
        _thread.interrupt_main()
        time.sleep(0.6)

    def still_writing(left: float) -> None:
        (busy / "f").write_text("x")  # changes every time it is looked at: only the deadline ends the wait
        quiet_folders([busy], quiet=5.0, wait=left)

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        to_its_end(install, "py-rattler", said.append, wait=1.0, settle=still_writing)
    took = time.monotonic() - start
    assert said == [waiting_line("py-rattler", 1.0)]
    assert took < 1.5, took
