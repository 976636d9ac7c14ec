"""A rebuild's verify reads the dynamic section of each shared object of the new venv once per file, not once per
rebuild (issue 19): uv links a venv's files from its cache, so the next rebuild of the same wheels installs the same
files under other paths, and the verify finds their sections by device and inode (``hostlibs.link_cache``).

Offline: the wheel is made here, with a real shared object of this interpreter in it.
"""

from __future__ import annotations

import glob
import os
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from offline_wheels import locked_bundle, wheel
from testutil import uv_bin

from envsnap import _installahead, lockfile
from envsnap.probes import _pyprobe, elf

NAME, VERSION = "linkednative", "1.0"


def _a_shared_object() -> bytes:
    """An extension module of this interpreter: a real ELF file, which needs libc at least."""
    found = sorted(glob.glob(os.path.join(sysconfig.get_path("platstdlib"), "lib-dynload", "*.so")))
    if not found:
        pytest.skip("this interpreter has no extension module in lib-dynload")
    return Path(found[0]).read_bytes()


@pytest.fixture
def made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The lock of a venv holding the wheel, and its bundle; a cache home of this test's own."""
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))  # uv links from it: the same file system
    files = {f"{NAME}/__init__.py": b"", f"{NAME}/_native.so": _a_shared_object()}
    made = wheel(tmp_path / "wheels", NAME, VERSION, files=files, purelib=False)
    lock_path, bundle, _ = locked_bundle(uv, tmp_path, {NAME: made})
    # Everything here was written moments ago: taken as settled, so that what is read of it is kept.
    monkeypatch.setattr(_pyprobe, "_RACY_NS", 0)
    monkeypatch.setattr(_installahead, "RACY_NS", 0)
    return lock_path, bundle


def test_the_next_rebuild_finds_the_sections_of_the_files_uv_links_again(
    made: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    lock_path, bundle = made
    reads: list[str] = []
    real = elf.read_dynamic

    def read_dynamic(path: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(elf, "read_dynamic", read_dynamic)

    # The lock records the libraries the extension module loads: a verify that did not know what it needs would
    # say they are "in the lock, not installed".
    needed = [lib.soname for lib in lockfile.load(lock_path).system.libraries if NAME in lib.needed_by]
    assert needed

    def rebuilt(dest: Path) -> list[str]:
        reads.clear()
        result = cli("rebuild", lock_path, "--bundle", bundle, "--offline", "--dest", dest)
        assert result.code == 0, result
        assert "identical" in result.out and "not installed" not in result.out, result.out
        return [path for path in reads if path.startswith(str(dest))]

    native = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages/{NAME}/_native.so"
    assert rebuilt(tmp_path / "one") == [str(tmp_path / "one" / native)]
    assert rebuilt(tmp_path / "two") == []  # the same file, linked from uv's cache again: not read
    one, two = os.stat(tmp_path / "one" / native), os.stat(tmp_path / "two" / native)
    assert (one.st_dev, one.st_ino) == (two.st_dev, two.st_ino)
    # --no-cache reads it again, and keeps nothing.
    reads.clear()
    result = cli("rebuild", lock_path, "--bundle", bundle, "--offline", "--dest", tmp_path / "three", "--no-cache")
    assert result.code == 0, result
    assert [path for path in reads if path.startswith(str(tmp_path / "three"))] == [str(tmp_path / "three" / native)]
