"""What ``envsnap import`` writes stays within what envsnap reads: a lock no command could load is never written."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult


def _hashed_requirements(packages: int, hashes: int) -> str:
    """A requirements file as ``pip-compile --generate-hashes`` writes one: each pin with its wheels' hashes."""
    lines = []
    for p in range(packages):
        digests = [hashlib.sha256(f"{p}-{i}".encode()).hexdigest() for i in range(hashes)]
        lines.append(f"pkg{p}==1.0 \\\n" + " \\\n".join(f"    --hash=sha256:{d}" for d in digests))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("output", ["out.lock", "-"])
def test_an_import_whose_lock_would_be_over_the_size_limit_writes_nothing(
    tmp_path: Path, output: str, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 13 MB requirements file of 150,000 ``--hash`` options (under the 16 MiB limit) was imported into a 21 MB
    lock that ``show`` and every other command then refused: the import refuses it, naming the size and the limit,
    and writes nothing (a lock already there is left as it was). The same limit, lowered, makes it small here."""
    req = tmp_path / "requirements.txt"
    req.write_text(_hashed_requirements(20, 10))
    limit = req.stat().st_size + 1024  # the file to import is within it, the lock it makes is not
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", str(limit))
    target = tmp_path / "out.lock"
    target.write_text("kept\n")
    result = cli("import", req, "-o", target if output != "-" else "-")
    assert result.code == 2 and result.out == "" and target.read_text() == "kept\n", result
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    said = re.fullmatch(
        rf"envsnap: error: {re.escape(str(req))}: the lock made of it would be (\d+) bytes, over the limit of "
        rf"{limit} bytes envsnap reads a lock under \(raise it with ENVSNAP_MAX_LOCK_BYTES\); nothing written",
        lines[0],
    )
    assert said is not None and int(said.group(1)) > limit, lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.lock", "requirements.txt"]  # no half-made file
