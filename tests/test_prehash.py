"""``envsnap._prehash``: a bundle folder's files hashed before envsnap loads (issue 19)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from envsnap import _prehash


def _identity(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def test_every_regular_file_is_hashed_and_nothing_else_is_opened(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    (root / "wheels").mkdir(parents=True)
    files = [root / "SHA256SUMS", root / "wheels" / "a.whl", root / "wheels" / "b.whl", root / "empty"]
    for i, path in enumerate(files):
        path.write_bytes(os.urandom(i * 70_000))
    os.mkfifo(root / "wheels" / "fifo.whl")  # opened, it would block the hashing for ever
    outside = tmp_path / "secret"
    outside.write_bytes(b"not the bundle's")
    (root / "wheels" / "link.whl").symlink_to(outside)
    _prehash.start(root)
    digests = _prehash.collect(root)
    assert digests == {_identity(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    assert _prehash.collect(root) == {}  # taken once; a folder never started gives nothing


def test_a_stop_ends_the_hashing_with_what_is_done(tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / f"f{i}").write_bytes(b"x" * 1000)
    stop = threading.Event()
    stop.set()
    _prehash.start(tmp_path)
    digests = _prehash.collect(tmp_path, stop)  # returns: never waits on files not begun
    assert set(digests) <= {_identity(tmp_path / f"f{i}") for i in range(6)}
    assert not any(t.name == "envsnap-prehash" and t.is_alive() for t in threading.enumerate())
