"""Every cache envsnap keeps, emptied by `envsnap clean --cache` and never beyond (envsnap/_cachedir.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap import _cachedir

KINDS = ("artifacts", "conda", "locks", "capture", "runs", "templates")


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The envsnap folder of a cache root of the test's own, each cache holding one entry."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("ENVSNAP_LOCK_CACHE", "1")  # the test run turns it off (conftest.py)
    for kind in KINDS:
        (tmp_path / "xdg" / "envsnap" / kind).mkdir(parents=True, mode=0o700)
        (tmp_path / "xdg" / "envsnap" / kind / "entry.json").write_bytes(b"x" * 100)
    (tmp_path / "work").mkdir()
    return tmp_path / "xdg" / "envsnap"


def test_clean_cache_empties_every_cache_and_names_each(root: Path, tmp_path: Path, cli: Callable[..., Any]) -> None:
    result = cli("clean", tmp_path / "work", "--json")
    assert result.code == 0, result
    shown = {c["path"]: c for c in json.loads(result.out)["caches"]}
    assert set(shown) == {str(root / kind) for kind in KINDS}
    assert {shown[str(root / "locks")]["cache"], shown[str(root / "capture")]["cache"]} == {
        "parsed-lock cache",
        "capture cache",
    }
    assert all(c["size"] == 100 and not c["emptied"] for c in shown.values())
    result = cli("clean", tmp_path / "work", "--cache", "--dry-run")
    assert result.code == 0 and all((root / kind / "entry.json").exists() for kind in KINDS), result
    assert f"would remove the parsed-lock cache {root / 'locks'}" in result.err
    result = cli("clean", tmp_path / "work", "--cache")
    assert result.code == 0, result
    assert sorted(os.listdir(root)) == []
    for what, kind in (("parsed-lock", "locks"), ("capture", "capture"), ("run", "runs"), ("template", "templates")):
        assert f"removed the {what} cache {root / kind}: 100 B" in result.err
    # Emptied caches are made again when next used.
    from envsnap import lockfile
    from envsnap.model import PythonEnv, Snapshot

    lockfile._loads_once.cache_clear()
    lockfile.load(lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), tmp_path / "work" / "envsnap.lock"))
    assert len(list((root / "locks").glob("*.doc"))) == 1


def test_clean_never_follows_a_link_out_of_the_cache(root: Path, tmp_path: Path, cli: Callable[..., Any]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    (outside / "capture").mkdir()
    (outside / "capture" / "precious").write_text("keep me too")
    for kind in ("locks", "capture"):
        (root / kind / "entry.json").unlink()
        (root / kind).rmdir()
    (root / "locks").symlink_to(outside)  # the cache folder itself a link
    (root / "runs" / "link").symlink_to(outside)  # a link inside a cache: removed as a link
    result = cli("clean", tmp_path / "work", "--cache")
    assert result.code == 0, result
    assert (outside / "precious").read_text() == "keep me" and (root / "locks").is_symlink()
    assert "left alone" in result.err and not (root / "runs").exists()
    # The envsnap folder of the cache root a link: nothing it leads to is removed.
    moved = tmp_path / "xdg" / "elsewhere"
    (tmp_path / "xdg" / "envsnap").rename(moved)
    (tmp_path / "xdg" / "envsnap").symlink_to(outside)
    result = cli("clean", tmp_path / "work", "--cache")
    assert result.code == 0, result
    assert (outside / "capture" / "precious").read_text() == "keep me too"


def test_prune_keeps_the_newest_and_removes_a_link_not_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target.json"
    target.write_text("not the cache's")
    folder = tmp_path / "cache"
    folder.mkdir()
    for i in range(4):
        (folder / f"{i}.json").write_text(str(i))
        os.utime(folder / f"{i}.json", ns=(i * 10**9 + 10**9, i * 10**9 + 10**9))
    (folder / "old.json").symlink_to(target)
    os.utime(folder / "old.json", ns=(1, 1), follow_symlinks=False)
    (folder / "other.txt").write_text("not an entry")
    _cachedir.prune(folder, keep=2)
    assert sorted(os.listdir(folder)) == ["2.json", "3.json", "other.txt"]
    assert target.read_text() == "not the cache's"
    _cachedir.store(folder / "4.json", b"{}", keep=2)
    assert sorted(os.listdir(folder)) == ["3.json", "4.json", "other.txt"]
    assert (folder / "4.json").stat().st_mode & 0o777 == 0o600
