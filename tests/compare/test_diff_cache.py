"""What a diff keeps in the parsed-lock cache: its view of each lock (what a diff of them again reads), not the
parsed document as well, whose write was a seventh of a first diff of two 5,000-distribution locks (issue 19)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import sample_lock

from envsnap import _lockcache, lockfile
from envsnap._defaults import LOCKS_CACHE, cache_dir
from envsnap.model import PythonPackage


def _lock(path: Path, version: str) -> Path:
    packages = tuple(PythonPackage(name=f"pkg{i:03d}", version=f"1.{i}.{version}") for i in range(40))
    return lockfile.dump(lockfile.seal(sample_lock(*packages)), path)


def test_a_diff_keeps_its_views_and_no_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(_lockcache.ENV, "1")
    a, b = _lock(tmp_path / "a.lock", "0"), _lock(tmp_path / "b.lock", "1")
    lockfile._loads_once.cache_clear()  # loaded in this process by dump's check: as a new process finds them
    first = cli("diff", a, b)
    assert first.code == 1, first  # they differ
    folder = cache_dir(LOCKS_CACHE)
    assert len(list(folder.glob("*.view"))) == 2
    assert list(folder.glob("*.doc")) == []
    lockfile._loads_once.cache_clear()
    again = cli("diff", a, b)
    assert (again.code, again.out) == (first.code, first.out)
    lockfile._loads_once.cache_clear()
    lockfile.load(a)  # a command that loads the whole lock keeps its document, as before
    assert len(list(folder.glob("*.doc"))) == 1
