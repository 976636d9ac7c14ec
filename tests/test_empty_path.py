"""An empty path argument (``envsnap check ''``, a shell variable left unset: ``envsnap check "$LOCK"``) is said to be
empty: ``Path('')`` reads as ``.``, and the answer was ".: is a directory, not a lockfile"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult, sample_lock

from envsnap import lockfile


@pytest.mark.parametrize(
    "argv",
    [
        ["check", ""],
        ["verify", ""],
        ["pin", ""],
        ["rebuild", "", "--dry-run"],
        ["export", "", "--format", "requirements", "-o", "-"],
        ["diff", "", "x.lock"],
        ["diff", "x.lock", ""],
        ["import", ""],
        ["audit", ""],
        ["show", ""],
    ],
    ids=lambda argv: "-".join(a or "EMPTY" for a in argv[:3]),
)
def test_an_empty_path_is_said_to_be_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], argv: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    lockfile.dump(sample_lock(), tmp_path / "x.lock")
    result = cli(*argv)
    assert result.code == 2, result
    (line,) = result.err.strip().splitlines()
    assert "the path is empty" in line, line
    assert "directory" not in line, line
