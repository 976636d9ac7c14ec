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


@pytest.mark.parametrize("home", ["", "."])
def test_without_a_home_clean_shows_and_empties_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], home: str
) -> None:
    """With HOME empty or relative (and no absolute XDG_CACHE_HOME) envsnap keeps no cache, yet `clean --cache`
    emptied ``.cache/envsnap/*`` of the working directory (``HOME=.``), a folder no envsnap cache was ever made in,
    and listed ``/.cache/envsnap/...`` as the caches. It now says there is no cache; a --cache-dir is still its own."""
    work = tmp_path / "work"
    for kind in KINDS:
        (work / ".cache" / "envsnap" / kind).mkdir(parents=True)
        (work / ".cache" / "envsnap" / kind / "keep").write_text("not a cache")
    entry = tmp_path / "dl" / "ab" / ("ab" + "0" * 62)  # the download cache's layout (pin.cached_path)
    entry.mkdir(parents=True)
    (entry / "x.whl").write_bytes(b"x" * 10)
    monkeypatch.chdir(work)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", home)
    result = cli("clean", "--cache")
    assert result.code == 0, result
    assert all((work / ".cache" / "envsnap" / kind / "keep").exists() for kind in KINDS)
    assert "no cache: $HOME is empty or relative" in result.err and ".cache/envsnap" not in result.err
    result = cli("clean", "--json", "--cache-dir", tmp_path / "dl")
    assert result.code == 0, result
    assert [(c["cache"], c["size"]) for c in json.loads(result.out)["caches"]] == [("download cache", 10)]
    result = cli("clean", "--cache", "--cache-dir", tmp_path / "dl")
    assert result.code == 0 and not (entry / "x.whl").exists(), result
    assert (work / ".cache" / "envsnap" / "artifacts" / "keep").exists()


def test_clean_cache_while_a_bundle_downloads_into_it(tmp_path: Path) -> None:
    """`clean --cache` while a bundle downloads into the same cache: clean gave a traceback (`Directory not empty:
    '.incoming'`) and the bundle failed, exit 4, `No such file or directory`. Now clean empties what it can and
    names what the bundle wrote meanwhile; the bundle makes its folders again and finishes."""
    import subprocess
    import sys
    import threading
    import time

    from fetchserver import lock_text, make_wheel, package_toml, serving, sha256_of

    wheel = make_wheel(tmp_path / "src", "demo", "1.0")
    body = wheel.read_bytes() + b"\0" * 200_000  # big enough for a download to be caught half-way
    padded = tmp_path / wheel.name
    padded.write_bytes(body)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(Path(__file__).parents[2])}
    incoming = tmp_path / "xdg" / "envsnap" / "artifacts" / ".incoming"
    with serving() as server:
        url = server.add(f"/{wheel.name}", body)
        server.stall[f"/{wheel.name}"] = release = threading.Event()
        lock = tmp_path / "envsnap.lock"
        lock.write_text(
            lock_text(packages=package_toml("demo", "1.0", filename=wheel.name, url=url, sha256=sha256_of(padded)))
        )
        bundle = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "envsnap",
                "bundle",
                str(lock),
                "-o",
                str(tmp_path / "out"),
                "--allow-url",
                server.url + "/*",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 20
            while not any(p.suffix == ".part" for p in incoming.rglob("*")) and time.monotonic() < deadline:
                time.sleep(0.02)
            clean = subprocess.run(
                [sys.executable, "-m", "envsnap", "clean", "--cache"],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            release.set()
            _out, err = bundle.communicate(timeout=30)
        finally:
            release.set()
            bundle.kill()
    assert clean.returncode == 0 and "Traceback" not in clean.stderr, clean.stderr
    assert bundle.returncode == 0, err
    assert (tmp_path / "out" / "wheels" / wheel.name).read_bytes() == body


def test_a_cache_refilled_while_it_is_emptied_is_emptied_as_far_as_it_can_be(
    root: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """Another process writing into the cache while `clean --cache` removes it (folders made again, files added
    and removed): rmtree's `Directory not empty` and `No such file` were a traceback; what was written meanwhile
    stays (the next test: `clean` names it in one line)."""
    import subprocess
    import sys
    import time

    incoming = root / "artifacts" / ".incoming"
    loop = (
        "import os, sys\n"
        "while True:\n"
        "    try:\n"
        "        os.makedirs(sys.argv[1] + '/t', exist_ok=True)\n"
        "        for n in range(20):\n"
        "            open(f'{sys.argv[1]}/t/{n}.part', 'w').close()\n"
        "    except OSError:\n"
        "        pass\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", loop, str(incoming)])
    try:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert _cachedir.empty(root / "artifacts", root=root)
            (root / "artifacts" / "x").mkdir(parents=True, exist_ok=True)
    finally:
        writer.kill()
        writer.wait()


def test_clean_names_what_was_written_into_a_cache_while_it_was_emptied(
    root: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    import unittest.mock

    real_empty = _cachedir.empty

    def refilled(folder: Path, *, root: Path | None = None, held: list[Path] | None = None) -> bool:
        done = real_empty(folder, root=root, held=held)
        if folder.name == "artifacts":  # written by another envsnap just after the folder was emptied
            (folder / ".incoming").mkdir(parents=True)
            (folder / ".incoming" / "x.part").write_bytes(b"x" * 10)
        return done

    with unittest.mock.patch.object(_cachedir, "empty", refilled):
        res = cli("clean", "--cache", str(tmp_path / "work"))
    assert res.code == 0, res
    line = next(line for line in res.err.splitlines() if "artifacts" in line)
    assert line.endswith(": 100 B, but for 10 B a running envsnap wrote into it meanwhile, left to it (in use)"), line


def test_clean_cache_keeps_a_partial_download_a_running_envsnap_holds(
    root: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A download keeps what arrived in ``.incoming/<sha256>.part``, held with ``flock`` (``Fetcher._resume``):
    `clean --cache` removed it under the running download, which then started that file over. It is kept, with
    its folder, and named in clean's line; one no process holds (a killed download's) is removed."""
    import json
    import subprocess
    import sys

    incoming = root / "artifacts" / ".incoming"
    incoming.mkdir()
    partial = incoming / f"{'a' * 64}.part"
    partial.write_bytes(b"p" * 2048)
    stale = incoming / f"{'b' * 64}.part"
    stale.write_bytes(b"s" * 10)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\nfcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\nsys.stdin.read()\n",
            str(partial),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        res = cli("clean", "--cache", str(tmp_path / "work"))
        as_json = cli("clean", "--cache", "--json", str(tmp_path / "work"))
    finally:
        holder.communicate("")
    assert res.code == 0, res
    assert partial.read_bytes() == b"p" * 2048 and not stale.exists()
    assert not (root / "artifacts" / "entry.json").exists()
    assert f"removed {stale} (10 B), left by an interrupted run" in res.err, res.err
    line = next(line for line in res.err.splitlines() if "download cache" in line and "artifacts" in line)
    assert line.endswith(": 2.1 KiB, but left a partial download (2.0 KiB) a running envsnap holds (in use)"), line
    (artifacts,) = (c for c in json.loads(as_json.out)["caches"] if c["path"].endswith("artifacts"))
    assert artifacts["in_use"] == [{"path": str(partial), "size": 2048}] and artifacts["left"] == 0


@pytest.mark.parametrize("dry_run", [False, True])
def test_clean_cache_refuses_a_cache_dir_that_is_not_a_download_cache(
    tmp_path: Path, cli: Callable[..., Any], dry_run: bool
) -> None:
    """`clean --cache --cache-dir DIR` removed DIR whole, whatever it held: `--cache-dir .` in a project removed the
    project and its .git, `--cache-dir ~` the home (`--dry-run` said "would remove the download cache /root: 7.1
    GiB"). A folder holding anything the download cache's layout has no place for is refused, one line naming it,
    exit 2, nothing removed; the cache's own folders are emptied as before."""
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "train.py").write_text("keep me")
    (project / "ab" / ("ab" + "0" * 62)).mkdir(parents=True)  # a cache entry's place: not what makes it foreign
    (project / "ab" / ("ab" + "0" * 62) / "x-1.0-py3-none-any.whl").write_bytes(b"x")
    (tmp_path / "work").mkdir()
    leftover = tmp_path / "work" / ".envsnap-bundle-abc123"
    leftover.mkdir()
    args = ["--dry-run"] if dry_run else []
    result = cli("clean", tmp_path / "work", "--cache", "--cache-dir", project, *args)
    assert result.code == 2, result
    assert result.err == (
        f"envsnap: error: --cache-dir {project}: not an envsnap download cache (it holds .git, which envsnap does "
        "not write there); nothing removed: name the download cache itself, or leave --cache-dir out for the "
        "default one\n"
    ), result.err
    assert (project / "train.py").read_text() == "keep me" and (project / ".git").is_dir()
    assert (project / "ab").is_dir() and leftover.is_dir()
    # Shown, not emptied: its size is still said.
    assert cli("clean", tmp_path / "work", "--cache-dir", project, "--dry-run").code == 0
    # A download cache as pin and bundle write it (and what an interrupted download leaves) is emptied.
    cache = tmp_path / "dl"
    (cache / "ab" / ("ab" + "0" * 62)).mkdir(parents=True)
    (cache / "ab" / ("ab" + "0" * 62) / "x-1.0-py3-none-any.whl").write_bytes(b"x")
    (cache / ".incoming").mkdir()
    (cache / "incoming").mkdir()
    result = cli("clean", tmp_path / "work", "--cache", "--cache-dir", cache, *args)
    assert result.code == 0, result
    assert cache.exists() == dry_run


@pytest.mark.parametrize("kind", ["deb", "conda"])
def test_clean_cache_keeps_a_file_a_running_download_writes(
    root: Path, tmp_path: Path, cli: Callable[..., Any], kind: str
) -> None:
    """A download writes a hidden ``.NAME.XXXX.part`` beside its place in the cache (a system package, a conda
    archive). `clean --cache` removed it, and the folders above it, under the running download, which then failed
    as it moved the file into place. It is held while written, and kept with its folders."""
    import hashlib
    import subprocess
    import sys
    import threading

    from fetchserver import DOWNLOADER, serving, wait_for_a_file

    body = os.urandom(3 << 20)  # a read of 1 MiB is written before the server stalls at half
    sha = hashlib.sha256(body).hexdigest()
    with serving() as server:
        url = server.add("/x-1.0-py3-none-any.whl", body)
        server.stall["/x-1.0-py3-none-any.whl"] = release = threading.Event()
        download = subprocess.Popen(
            [sys.executable, "-c", DOWNLOADER, kind, str(root), url, sha, str(len(body))],
            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            part = wait_for_a_file(root / ("artifacts" if kind == "deb" else "conda"), 1 << 20)
            res = cli("clean", "--cache", str(tmp_path / "work"))
            assert part.is_file(), res
            release.set()
            out, err = download.communicate(timeout=60)
        finally:
            release.set()
            download.kill()
    assert res.code == 0 and "a partial download (1.0 MiB) a running envsnap holds (in use)" in res.err, res
    assert download.returncode == 0, err
    assert Path(out.strip()).read_bytes() == body and not part.exists()


def test_clean_cache_keeps_a_copy_from_pips_cache_under_way(
    root: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A wheel pip downloaded is copied from pip's cache into the download cache through a hidden
    ``.NAME.XXXX.part`` (``peercache.copy_verified``), which `clean --cache` removed under the copy: the copy failed
    and the wheel was downloaded again. It is held while written, and kept."""
    import hashlib
    import threading

    from fetchserver import wait_for_a_file

    from envsnap.artifacts import peercache
    from envsnap.artifacts.pin import cached_path

    body = os.urandom(3 << 20)
    sha = hashlib.sha256(body).hexdigest()
    source = tmp_path / "body"  # pip's cached body, read as slowly as the test feeds it
    os.mkfifo(source)
    dest = cached_path(root / "artifacts", sha, "x-1.0-py3-none-any.whl")
    copied: list[bool] = []
    copy = threading.Thread(target=lambda: copied.append(peercache.copy_verified(source, dest, sha, len(body))))
    copy.start()
    try:
        with open(source, "wb") as feed:
            feed.write(body[: 2 << 20])
            feed.flush()
            part = wait_for_a_file(root / "artifacts", 1 << 20)
            res = cli("clean", "--cache", str(tmp_path / "work"))
            assert part.is_file(), res
            feed.write(body[2 << 20 :])
    finally:
        copy.join(timeout=30)
    assert res.code == 0 and "MiB) a running envsnap holds (in use)" in res.err, res
    assert copied == [True] and dest.read_bytes() == body and not part.exists()
