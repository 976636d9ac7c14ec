"""``envsnap._prehash``: a bundle folder's files hashed before envsnap loads (issue 19)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

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


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    read: list[str] = []
    real = _prehash.sha256_file

    def counted(path: str | os.PathLike[str], *args: object, **kwargs: object) -> str:
        read.append(os.fspath(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_prehash, "sha256_file", counted)
    return read


def _hash(root: Path) -> dict[tuple[int, int, int, int], str]:
    _prehash.start(root)
    return _prehash.collect(root)


def _expected(files: list[Path]) -> dict[tuple[int, int, int, int], str]:
    return {_identity(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_a_digest_is_kept_across_runs_and_a_changed_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second rebuild of the same bundle reads none of its unchanged files; a file rewritten with the same size
    and its old mtime put back (only ctime tells) is read again and gives its new digest."""
    monkeypatch.setattr(_prehash, "RACY_NS", 0)  # the files were just written: keep them all the same
    root = tmp_path / "bundle"
    root.mkdir()
    files = [root / "a.whl", root / "b.whl"]
    for i, path in enumerate(files):
        path.write_bytes(bytes([i]) * 50_000)
    time.sleep(0.05)  # past the clock tick of the writes
    read = _counting(monkeypatch)
    assert _hash(root) == _expected(files) and sorted(read) == sorted(map(str, files))
    read.clear()
    assert _hash(root) == _expected(files) and read == []  # every digest from the cache
    time.sleep(0.05)
    old = os.stat(files[0])
    files[0].write_bytes(b"\xff" * 50_000)  # tampered: same size
    os.utime(files[0], ns=(old.st_atime_ns, old.st_mtime_ns))  # and the old mtime
    assert _identity(files[0]) == (old.st_dev, old.st_ino, old.st_size, old.st_mtime_ns)
    assert _hash(root) == _expected(files) and read == [str(files[0])]
    read.clear()
    monkeypatch.setenv("ENVSNAP_HASH_CACHE", "0")
    assert _hash(root) == _expected(files) and sorted(read) == sorted(map(str, files))


def test_a_file_changed_just_before_it_was_read_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "new.whl").write_bytes(b"x" * 1000)  # written now: within RACY_NS of the read
    read = _counting(monkeypatch)
    _hash(tmp_path)
    _hash(tmp_path)
    assert len(read) == 2


@pytest.mark.parametrize("damage", ["flipped", "cut", "foreign", "open-to-others"])
def test_a_damaged_or_foreign_digest_cache_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    from envsnap import _sealed
    from envsnap._defaults import capture_cache_path

    monkeypatch.setattr(_prehash, "RACY_NS", 0)
    root = tmp_path / "bundle"
    root.mkdir()
    wheel = root / "a.whl"
    wheel.write_bytes(b"a" * 4000)
    time.sleep(0.05)
    _hash(root)
    entry = capture_cache_path("bundle-digests", os.path.realpath(root), ".digests")
    assert entry is not None and entry.is_file()
    raw = entry.read_bytes()
    if damage == "flipped":
        entry.write_bytes(raw[:-10] + bytes([raw[-10] ^ 1]) + raw[-9:])
    elif damage == "cut":
        entry.write_bytes(raw[: len(raw) // 2])
    elif damage == "foreign":  # a well-formed entry that claims another digest, planted where others may write
        st = os.stat(wheel)
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        entry.write_bytes(_sealed.seal({"format": "envsnap-bundle-digests-2", "digests": {key: ("0" * 64, -1)}}))
        os.chmod(entry, 0o666)
    else:
        st = os.stat(wheel)
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        entry.write_bytes(_sealed.seal({"format": "envsnap-bundle-digests-2", "digests": {key: ("0" * 64, -1)}}))
        os.chmod(entry.parent, 0o777)
    read = _counting(monkeypatch)
    assert _hash(root) == _expected([wheel]) and read == [str(wheel)]


def test_a_wheel_s_unpacked_size_is_read_with_its_digest_and_kept_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk rule's estimate (``bundle_sizes``) takes each wheel's unpacked size from the hashing begun while
    envsnap loaded, and a later rebuild from the cache: no wheel's zip directory is read on the check's path."""
    import zipfile

    from envsnap.rebuild import _preflight

    monkeypatch.setattr(_prehash, "RACY_NS", 0)
    root = tmp_path / "bundle"
    (root / "wheels").mkdir(parents=True)
    for i in range(3):
        with zipfile.ZipFile(root / "wheels" / f"p{i}-1.0-py3-none-any.whl", "w") as archive:
            archive.writestr("p/__init__.py", "x" * (1000 * (i + 1)))
    (root / "wheels" / "broken-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    time.sleep(0.05)
    expected = _preflight.bundle_sizes(root)  # read from the zips themselves
    assert expected is not None and expected.unpacked == 6000
    opened: list[str] = []
    real = _prehash.unpacked_size

    def counted(path: str | os.PathLike[str]) -> int:
        opened.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(_prehash, "unpacked_size", counted)
    monkeypatch.setattr(_preflight, "unpacked_size", counted)
    _prehash.start(root)
    assert _preflight.bundle_sizes(root) == expected
    assert sorted(os.path.basename(p) for p in opened) == [
        "broken-1.0-py3-none-any.whl",  # read by the hashing, and again by the estimate, which skips it
        "broken-1.0-py3-none-any.whl",
        *(f"p{i}-1.0-py3-none-any.whl" for i in range(3)),
    ]
    _prehash.collect(root)
    opened.clear()
    _prehash.start(root)  # a second rebuild: digests and sizes from the cache
    assert _preflight.bundle_sizes(root) == expected
    assert [os.path.basename(p) for p in opened] == ["broken-1.0-py3-none-any.whl"]
    _prehash.collect(root)


def test_a_folder_a_killed_re_bundle_left_in_the_bundle_is_not_hashed(tmp_path: Path) -> None:
    """A re-bundle keeps the earlier files in a ``.envsnap-bundle-*`` folder inside the bundle while it writes; a
    killed one leaves it there (as large as the wheels it kept). SHA256SUMS never names it, and the bundle's check
    skips it: a rebuild from that bundle read and hashed every file of it ahead all the same."""
    root = tmp_path / "bundle"
    (root / "wheels").mkdir(parents=True)
    files = [root / "SHA256SUMS", root / "wheels" / "a.whl"]
    for path in files:
        path.write_bytes(os.urandom(70_000))
    kept = root / ".envsnap-bundle-k1ll3d" / "wheels"
    kept.mkdir(parents=True)
    (kept / "old.whl").write_bytes(os.urandom(70_000))
    _prehash.start(root, cache=False)
    assert _prehash.collect(root) == {_identity(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.mark.parametrize(
    "name", [".envsnap-bundle-k1ll3d", ".envsnap-bundle-", ".envsnap-venv-x", "wheels", ".envsnap-bundle-a\nb"]
)
def test_a_kept_folder_is_what_the_leftovers_name_of_a_re_bundle(name: str) -> None:
    from envsnap import _defaults, _leftovers

    ours = _leftovers.is_leftover_name(name) and name.startswith(f"{_leftovers.PREFIX}bundle-")
    assert _defaults.is_kept_folder(name) == ours
