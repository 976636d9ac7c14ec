"""envsnap run's quick-verify cache (envsnap/runs/cache.py): an entry decides what a run record says about its
environment, so it is kept only in a folder that is the user's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from envsnap.runs import cache


def test_a_folder_others_may_write_is_neither_read_nor_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stranger who may write it could plant "no drift" for a drifted environment (the key is a digest of
    file stamps anyone can read)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache.put("k1", {"findings": []})
    assert cache.get("k1") == {"findings": [], "key": "k1"}
    folder = cache.cache_dir()
    assert folder.stat().st_mode & 0o777 == 0o700  # made private
    folder.chmod(0o777)
    assert cache.get("k1") is None
    cache.put("k2", {"findings": []})
    assert not (folder / "k2.json").exists()


def test_only_the_entries_used_last_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every changed environment or lock adds entries: the folder keeps the newest MAX_ENTRIES, not all."""
    import os

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(cache, "MAX_ENTRIES", 2)
    for i, name in enumerate(("k1", "k2")):
        cache.put(name, {"findings": []})
        os.utime(cache.cache_dir() / f"{name}.json", ns=(10**9 * (i + 1),) * 2)
    assert cache.get("k1") is not None  # used now: newer than k2
    cache.put("k3", {"findings": []})
    assert sorted(p.name for p in cache.cache_dir().iterdir()) == ["k1.json", "k3.json"]
    assert (cache.cache_dir() / "k3.json").stat().st_mode & 0o777 == 0o600
