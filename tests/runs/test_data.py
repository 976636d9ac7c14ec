"""Data fingerprints: a manifest digest over path, size and sha256 of every file; size+mtime when fast."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from envsnap.runs import data


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha\n")
    (root / "sub" / "b.bin").write_bytes(os.urandom(3 << 20))  # several blocks
    return root


def test_a_directory_manifest_lists_every_file_with_its_sha256(tmp_path: Path) -> None:
    root = _tree(tmp_path / "d")
    fp = data.fingerprint(root, workers=4)
    assert fp.kind == "directory" and fp.method == "sha256" and fp.files == 2 and fp.complete
    by_path = {e.path: e for e in fp.entries}
    assert by_path["a.txt"].value == hashlib.sha256(b"alpha\n").hexdigest()
    assert by_path["sub/b.bin"].value == hashlib.sha256((root / "sub" / "b.bin").read_bytes()).hexdigest()
    assert fp.bytes == 6 + (3 << 20)
    # The digest is documented (docs/runrecord.md): sha256 over "path NUL size NUL sha256 LF" in path order.
    lines = "".join(f"{e.path}\0{e.size}\0{e.value}\n" for e in sorted(fp.entries, key=lambda e: e.path))
    assert fp.digest == "sha256:" + hashlib.sha256(lines.encode()).hexdigest()
    # Parallel and serial hashing agree.
    assert data.fingerprint(root, workers=1).digest == fp.digest


def test_compare_names_the_changed_added_and_removed_files(tmp_path: Path) -> None:
    root = _tree(tmp_path / "d")
    before = data.fingerprint(root)
    (root / "a.txt").write_bytes(b"ALPHA\n")
    (root / "new.txt").write_text("x")
    (root / "sub" / "b.bin").unlink()
    after = data.fingerprint(root)
    changes = data.compare(before, after)
    assert changes is not None
    assert {(c.path, c.what) for c in changes} == {("a.txt", "changed"), ("new.txt", "added"), ("sub/b.bin", "removed")}
    assert data.compare(after, data.fingerprint(root)) is None


def test_fast_fingerprints_use_size_and_mtime_and_say_so(tmp_path: Path) -> None:
    root = _tree(tmp_path / "d")
    fp = data.fingerprint(root, fast=True)
    assert fp.method == "size-mtime"
    assert {e.path: e.value for e in fp.entries}["a.txt"] == str((root / "a.txt").stat().st_mtime_ns)
    os.utime(root / "a.txt", ns=(1, 1))
    assert [c.path for c in data.compare(fp, data.fingerprint(root, fast=True)) or ()] == ["a.txt"]


def test_a_single_file_is_listed_by_its_name(tmp_path: Path) -> None:
    f = tmp_path / "input.csv"
    f.write_text("1,2\n")
    fp = data.fingerprint(f)
    assert fp.kind == "file" and [e.path for e in fp.entries] == ["input.csv"]


def test_progress_reaches_the_total(tmp_path: Path) -> None:
    root = _tree(tmp_path / "d")
    seen: list[tuple[int, int]] = []
    data.fingerprint(root, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (6 + (3 << 20), 6 + (3 << 20))


def test_a_fifo_a_missing_input_and_a_missing_output(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(data.DataError, match="not a regular file"):
        data.fingerprint(fifo)
    with pytest.raises(data.DataError, match="no such file"):
        data.fingerprint(tmp_path / "absent")
    assert data.fingerprint(tmp_path / "absent", missing_ok=True).kind == "missing"


def test_a_large_tree_keeps_its_digest_but_lists_only_the_first_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "MAX_ENTRIES", 2)
    root = tmp_path / "d"
    root.mkdir()
    for i in range(4):
        (root / f"{i}.txt").write_text(str(i))
    fp = data.fingerprint(root)
    assert fp.files == 4 and len(fp.entries) == 2 and not fp.complete
    (root / "3.txt").write_text("changed")
    # Not listed, so not named, but the digest says the tree differs.
    assert data.compare(fp, data.fingerprint(root)) == ()


def test_a_directory_link_loop_is_walked_once(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "x").mkdir(parents=True)
    (root / "x" / "f").write_text("f")
    (root / "x" / "loop").symlink_to(root)
    assert data.fingerprint(root).files == 1


def test_ctrl_c_while_a_tree_is_hashed_stops_the_workers_at_once(tmp_path: Path) -> None:
    # Ctrl-C during `envsnap run --data BIG` used to wait until every file was hashed (leaving the thread pool's
    # block waits for every queued file): minutes on a large dataset before envsnap ended.
    import _thread

    root = tmp_path / "big"
    root.mkdir()
    size = 32 << 20
    for i in range(8):
        with open(root / f"f{i}.bin", "wb") as fh:
            fh.truncate(size)  # sparse: cheap to make, read at memory speed
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == 1:
            _thread.interrupt_main()  # as the terminal's SIGINT reaches the main thread

    with pytest.raises(KeyboardInterrupt):
        data.fingerprint(root, workers=2, progress=progress)
    assert max(seen) < 4 * size  # each worker stopped within a block or so, not after all 256 MiB
