"""Saving and loading a base image show their bytes as they move (issue 14: "image save/load show progress"):
a ``Meter`` (the CLI's rich bar) gets every byte, a plain callback one line with the size when it ends."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from envsnap import progress
from envsnap.cli import _output
from envsnap.dockerfile.baseimage import ImageFacts
from envsnap.rebuild import _docker_engine


class _Recorder:
    """A ``Meter`` that remembers each transfer's total and the bytes it was told about."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.transfers: list[dict[str, Any]] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    def transfer(self, label: str, total: int) -> Any:
        shown: dict[str, Any] = {"label": label, "total": total, "moved": 0, "finished": None}
        self.transfers.append(shown)

        def advance(size: int) -> None:
            shown["moved"] += size

        def close(finished: bool) -> None:
            shown["finished"] = finished

        return SimpleNamespace(advance=advance, close=close)


def test_a_plain_callback_gets_one_line_when_the_transfer_ends_and_none_when_it_fails() -> None:
    lines: list[str] = []
    with progress.transfer(lines.append, "saved base:1", 3 << 20) as advance:
        advance(1 << 20)
        advance(2 << 20)
    assert len(lines) == 1 and lines[0].startswith("saved base:1: 3.0 MiB in ")
    with pytest.raises(OSError), progress.transfer(lines.append, "loaded base:1", 10) as advance:
        advance(5)
        raise OSError("disk full")
    assert len(lines) == 1


def test_a_meter_sees_every_byte_and_whether_it_finished() -> None:
    meter = _Recorder()
    assert isinstance(meter, progress.Meter)
    with pytest.raises(OSError), progress.transfer(meter, "x", 10) as advance:
        advance(4)
        raise OSError("gone")
    assert meter.transfers == [{"label": "x", "total": 10, "moved": 4, "finished": False}]


def test_saving_a_base_image_counts_its_bytes_against_the_image_size(tmp_path: Path) -> None:
    chunks = [b"a" * 1000, b"b" * 500, b"c" * 24]
    engine = SimpleNamespace(
        api=SimpleNamespace(timeout=10),
        images=SimpleNamespace(get=lambda _id: SimpleNamespace(attrs={"Size": 1524}, save=lambda named: iter(chunks))),
    )
    facts = ImageFacts(image_id="sha256:" + "a" * 64, repo_digests=(), env={}, architecture="amd64")
    meter = _Recorder()
    saved = _docker_engine.save_image(engine, "base:1", facts, tmp_path, meter)  # type: ignore[arg-type]
    assert saved.stat().st_size == 1524
    assert meter.transfers == [{"label": "saved base:1", "total": 1524, "moved": 1524, "finished": True}]


def _saved_image(config: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:") as tar:
        manifest = json.dumps([{"Config": "config.json", "RepoTags": ["base:1"], "Layers": []}]).encode()
        for name, data in (("config.json", config), ("manifest.json", manifest), ("layer.tar", b"x" * 51_200)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_loading_a_bundled_base_image_counts_the_bytes_the_engine_reads(tmp_path: Path) -> None:
    import docker

    config = b'{"architecture": "amd64"}'
    image_id = "sha256:" + hashlib.sha256(config).hexdigest()
    root = tmp_path / "bundle"
    (root / "images").mkdir(parents=True)
    (root / "images" / "base_1.tar").write_bytes(_saved_image(config))
    meta = {"reference": "base:1", "id": image_id, "repo_digests": [], "env": {}, "architecture": "amd64"}
    (root / "images" / "base_1.json").write_text(json.dumps(meta))
    loaded: list[int] = []

    def inspect_image(reference: str) -> dict[str, Any]:
        if not loaded:
            raise docker.errors.ImageNotFound("no such image")
        return {"Id": image_id}

    received = io.BytesIO()

    def load_image(handle: Any, quiet: bool) -> list[dict[str, str]]:
        assert len(handle) > 50_000  # the Content-Length the SDK sends
        while data := handle.read(8192):
            loaded.append(len(data))
            received.write(data)
        return []

    engine = SimpleNamespace(
        api=SimpleNamespace(timeout=10, inspect_image=inspect_image, load_image=load_image, tag=lambda *a: None)
    )
    meter = _Recorder()
    _docker_engine.load_bundled_image(engine, root, "base:1", meter)  # type: ignore[arg-type]
    [shown] = meter.transfers
    assert shown["label"] == "loaded base:1" and shown["finished"] is True
    assert shown["moved"] == sum(loaded) == shown["total"] > 50_000
    # What the engine read is the archive less its tags, streamed from the bundle's file (no copy on disk).
    received.seek(0)
    with tarfile.open(fileobj=received, mode="r:") as tar:
        assert sorted(tar.getnames()) == ["config.json", "layer.tar", "manifest.json"]
        assert json.loads(tar.extractfile("manifest.json").read())[0]["RepoTags"] is None  # type: ignore[union-attr]
        # A whole number of blocks: no padding follows it (an empty piece of the stream is not its end).
        assert tar.extractfile("layer.tar").read() == b"x" * 51_200  # type: ignore[union-attr]
        assert tar.extractfile("config.json").read() == config  # type: ignore[union-attr]
    assert len(received.getvalue()) == shown["total"]


def test_the_clis_progress_draws_a_bar_on_a_terminal_and_ends_with_the_size() -> None:
    lines = _output.progress("  ")
    assert isinstance(lines, progress.Meter)
    screen = io.StringIO()
    lines.console = Console(file=screen, force_terminal=True, width=100)
    with progress.transfer(lines, "saved base:1", 2 << 20) as advance:
        advance(2 << 20)
    shown = screen.getvalue()
    assert "  saved base:1: 2.0 MiB in " in shown
    assert "\x1b[" in shown  # the live bar drew (and cleared) itself before the line
