"""bundle's downloads (issue 19): kept-alive connections shared by the whole run, an interrupted download resumed
from what it kept (and checked whole), and a file pip already downloaded copied from pip's cache once its hash
matches. Every behaviour against a real http server on 127.0.0.1 (tests/security/fetchserver.py)."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))
from fetchserver import serving

from envsnap.artifacts import peercache
from envsnap.artifacts.bundle import PARALLEL_FETCHES, Bundle, BundleOptions, fetch_wheel, make_bundle
from envsnap.artifacts.pin import Fetcher, IndexConfig, IndexFile, Pinner, cached_path, read_pip_config
from envsnap.errors import BundleError, PinError
from envsnap.model import Artifact, PythonEnv, PythonPackage, Snapshot


def _body(n: int, size: int = 10_000) -> bytes:
    return hashlib.sha256(str(n).encode()).digest() * (size // 32)


def _pinner(tmp_path: Path, url: str) -> Pinner:
    return Pinner(IndexConfig(no_index=True), tmp_path / "cache", allow_urls=(url + "/*",))


@pytest.fixture(autouse=True)
def _no_pip_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's own pip cache stays out of these tests (an empty one of the test's own)."""
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))


# ----------------------------------------------------------------------------------------------- keep-alive


def test_one_fetcher_reads_every_file_over_one_connection(tmp_path: Path) -> None:
    """Each download opened a connection of its own (urllib); now they reuse one kept-alive connection, also
    across two fetchers of the same run (pin's and the bundle's)."""
    with serving(keep_alive=True) as server:
        urls = [server.add(f"/f{i}.whl", _body(i)) for i in range(6)]
        first, second = Fetcher(), Fetcher()
        for i, url in enumerate(urls):
            fetcher = first if i < 3 else second
            assert fetcher.download(url, tmp_path / f"f{i}.whl") == hashlib.sha256(_body(i)).hexdigest()
        assert server.requests == [f"/f{i}.whl" for i in range(6)]
        assert server.connections == 1


def test_a_bundle_opens_at_most_one_connection_per_parallel_download(tmp_path: Path) -> None:
    with serving(keep_alive=True) as server:
        packages = []
        for i in range(12):
            name = f"pkg{i}"
            filename = f"{name}-1.0-py3-none-any.whl"
            body = _body(i, 50_000)
            url = server.add(f"/files/{filename}", body)
            art = Artifact(filename=filename, url=url, sha256=hashlib.sha256(body).hexdigest(), size=len(body))
            packages.append(PythonPackage(name=name, version="1.0", artifact=art))
        lock = Snapshot(python=PythonEnv(version="3.11.7", packages=tuple(packages)))
        make_bundle(
            lock,
            tmp_path / "bundle",
            BundleOptions(cache_dir=tmp_path / "cache", allow_urls=(server.url + "/*",), config=IndexConfig()),
        )
        assert sorted(server.requests) == sorted(f"/files/pkg{i}-1.0-py3-none-any.whl" for i in range(12))
        assert server.connections <= PARALLEL_FETCHES
    bundle = Bundle(tmp_path / "bundle")
    assert all(bundle.check_wheel(p) for p in packages)


# ------------------------------------------------------------------------------------------------- resume


def _interrupted(tmp_path: Path, server: object, body: bytes, cut: int) -> tuple[Pinner, IndexFile, Path]:
    url = server.add("/a-1.0-py3-none-any.whl", body)  # type: ignore[attr-defined]
    server.cut["/a-1.0-py3-none-any.whl"] = cut  # type: ignore[attr-defined]
    sha = hashlib.sha256(body).hexdigest()
    pinner = _pinner(tmp_path, server.url)  # type: ignore[attr-defined]
    file = IndexFile(filename="a-1.0-py3-none-any.whl", url=url, sha256=sha, size=len(body))
    with pytest.raises(PinError, match="cannot download"):
        pinner.fetch(file)
    partial = tmp_path / "cache" / ".incoming" / f"{sha}.part"
    assert partial.read_bytes() == body[:cut]  # what was received is kept
    return pinner, file, partial


def test_an_interrupted_download_is_resumed_with_a_range_request(tmp_path: Path) -> None:
    body = _body(1, 300_000)
    with serving(ranges=True) as server:
        pinner, file, partial = _interrupted(tmp_path, server, body, 120_000)
        path, sha = pinner.fetch(file)
        assert server.ranges == ["", "bytes=120000-"]
    assert path.read_bytes() == body and sha == file.sha256
    assert not partial.exists()


def test_a_server_that_ignores_range_sends_the_whole_file_again(tmp_path: Path) -> None:
    body = _body(2, 300_000)
    with serving(ranges=False) as server:
        pinner, file, partial = _interrupted(tmp_path, server, body, 120_000)
        path, _sha = pinner.fetch(file)
        assert server.ranges == ["", "bytes=120000-"]  # asked, answered with 200 and the whole file
    assert path.read_bytes() == body and not partial.exists()


def test_a_strangers_partial_file_never_passes_the_whole_file_hash(tmp_path: Path) -> None:
    """A ``.part`` someone else left (wrong first bytes): the resumed file fails the hash of the whole file, so
    it is fetched again from zero; nothing of the planted bytes reaches the cache."""
    body = _body(3, 300_000)
    sha = hashlib.sha256(body).hexdigest()
    partial = tmp_path / "cache" / ".incoming" / f"{sha}.part"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"planted" * 1000)
    with serving(ranges=True) as server:
        url = server.add("/a-1.0-py3-none-any.whl", body)
        path, got = _pinner(tmp_path, server.url).fetch(
            IndexFile(filename="a-1.0-py3-none-any.whl", url=url, sha256=sha, size=len(body))
        )
        assert server.ranges == ["bytes=7000-", ""]
    assert path.read_bytes() == body and got == sha and not partial.exists()


@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory"])
def test_a_planted_partial_that_is_no_plain_file_is_passed_by(tmp_path: Path, kind: str) -> None:
    """A ``.part`` that is a link (to a file of the user's), a FIFO or a folder: the file is downloaded to a
    private copy beside it, the link's target is neither read nor written (the bundle stopped with "cannot write
    the bundle: Too many levels of symbolic links", or "File or stream is not seekable")."""
    body = _body(5, 30_000)
    sha = hashlib.sha256(body).hexdigest()
    partial = tmp_path / "cache" / ".incoming" / f"{sha}.part"
    partial.parent.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    if kind == "symlink":
        partial.symlink_to(victim)
    elif kind == "fifo":
        os.mkfifo(partial)
    else:
        partial.mkdir()
    with serving(ranges=True) as server:
        url = server.add("/a-1.0-py3-none-any.whl", body)
        path, got = _pinner(tmp_path, server.url).fetch(
            IndexFile(filename="a-1.0-py3-none-any.whl", url=url, sha256=sha, size=len(body))
        )
    assert path.read_bytes() == body and got == sha
    assert victim.read_bytes() == b"keep me"


def test_a_partial_file_of_the_wrong_file_fails_when_the_server_serves_another(tmp_path: Path) -> None:
    body = _body(4, 30_000)
    with serving(ranges=True) as server:
        url = server.add("/a-1.0-py3-none-any.whl", body)
        pinner = _pinner(tmp_path, server.url)
        with pytest.raises(PinError, match="does not match"):
            pinner.fetch(IndexFile(filename="a-1.0-py3-none-any.whl", url=url, sha256="ab" * 32))
    assert list((tmp_path / "cache").glob("ab/*/*")) == []


def test_a_bundle_resumes_a_download_its_first_try_lost(tmp_path: Path) -> None:
    """The parallel download is cut off halfway; the bundle's second try asks only for the rest."""
    with serving(ranges=True, keep_alive=True) as server:
        packages = []
        for i in range(3):
            filename = f"pkg{i}-1.0-py3-none-any.whl"
            body = _body(10 + i, 200_000)
            url = server.add(f"/files/{filename}", body)
            art = Artifact(filename=filename, url=url, sha256=hashlib.sha256(body).hexdigest(), size=len(body))
            packages.append(PythonPackage(name=f"pkg{i}", version="1.0", artifact=art))
        server.cut["/files/pkg1-1.0-py3-none-any.whl"] = 50_000
        lock = Snapshot(python=PythonEnv(version="3.11.7", packages=tuple(packages)))
        make_bundle(
            lock,
            tmp_path / "bundle",
            BundleOptions(cache_dir=tmp_path / "cache", allow_urls=(server.url + "/*",), config=IndexConfig()),
        )
        assert "bytes=50000-" in server.ranges
    bundle = Bundle(tmp_path / "bundle")
    assert all(bundle.check_wheel(p) for p in packages)


def test_a_damaged_download_cache_entry_is_fetched_again(tmp_path: Path) -> None:
    """A cache entry whose bytes are not the pinned file (damaged on disk, replaced): the bundle drops it and
    downloads the file again; with --offline it stops, naming the entry to remove (every later bundle stopped with
    "cached file does not match" until the user found and removed it)."""
    body = _body(6, 40_000)
    sha = hashlib.sha256(body).hexdigest()
    filename = "a-1.0-py3-none-any.whl"
    entry = cached_path(tmp_path / "cache", sha, filename)
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"damaged" * 100)
    with serving() as server:
        url = server.add(f"/{filename}", body)
        pinner = _pinner(tmp_path, server.url)
        art = Artifact(filename=filename, url=url, sha256=sha, size=len(body))
        (tmp_path / "offline").mkdir()
        with pytest.raises(BundleError, match=r"does not match.*remove it"):
            fetch_wheel(art, tmp_path / "offline" / filename, pinner, offline=True)
        assert server.requests == []
        (tmp_path / "wheels").mkdir()
        fetch_wheel(art, tmp_path / "wheels" / filename, pinner, offline=False)
        assert server.requests == [f"/{filename}"]
    assert (tmp_path / "wheels" / filename).read_bytes() == body == entry.read_bytes()


def test_a_download_never_makes_a_missing_home_to_hold_its_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With HOME=/nonexistent (as root), a download made /nonexistent/.cache/envsnap/artifacts/.incoming: it stops
    with one line naming the cache instead, and a cache folder the user named is still made as asked."""
    from envsnap._defaults import ARTIFACTS_CACHE, cache_dir

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "nonexistent"))
    body = _body(7)
    with serving() as server:
        url = server.add("/a-1.0-py3-none-any.whl", body)
        file = IndexFile("a-1.0-py3-none-any.whl", url, sha256=hashlib.sha256(body).hexdigest(), trusted=True)
        default = Pinner(IndexConfig(no_index=True), cache_dir(ARTIFACTS_CACHE))
        with pytest.raises(PinError, match="cannot make the download cache"):
            default.fetch(file)
        assert not (tmp_path / "nonexistent").exists() and server.requests == []
        named = Pinner(IndexConfig(no_index=True), tmp_path / "named" / "cache")
        path, sha = named.fetch(file)
    assert path.read_bytes() == body and sha == hashlib.sha256(body).hexdigest()


# ------------------------------------------------------------------------------------------ pip's cache


def _plant_pip_body(cache: Path, url: str, data: bytes) -> Path:
    digest = hashlib.sha224(url.encode()).hexdigest()
    path = cache.joinpath("http-v2", *digest[:5], digest + ".body")
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return path


def test_a_file_in_pips_cache_with_the_pinned_hash_is_copied_not_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _body(5, 40_000)
    sha = hashlib.sha256(body).hexdigest()
    with serving() as server:
        url = server.add("/files/a-1.0-py3-none-any.whl", body)
        planted = _plant_pip_body(tmp_path / "pip-cache", url, body)
        path, got = _pinner(tmp_path, server.url).fetch(
            IndexFile(filename="a-1.0-py3-none-any.whl", url=url, sha256=sha)
        )
        assert server.requests == []
    assert path.read_bytes() == body and got == sha
    assert path.parent == tmp_path / "cache" / sha[:2] / sha
    assert planted.read_bytes() == body  # pip's copy is left as it was


def test_a_file_in_pips_cache_with_another_hash_is_not_used(tmp_path: Path) -> None:
    body = _body(6, 40_000)
    sha = hashlib.sha256(body).hexdigest()
    with serving() as server:
        url = server.add("/files/a-1.0-py3-none-any.whl", body)
        planted = _plant_pip_body(tmp_path / "pip-cache", url, b"not the pinned file")
        path, _got = _pinner(tmp_path, server.url).fetch(
            IndexFile(filename="a-1.0-py3-none-any.whl", url=url, sha256=sha)
        )
        assert server.requests == ["/files/a-1.0-py3-none-any.whl"]
    assert path.read_bytes() == body and planted.read_bytes() == b"not the pinned file"


def test_pips_cache_is_found_as_pip_finds_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIP_CACHE_DIR")
    env = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert peercache.pip_cache_dir(environ=env) == tmp_path / "xdg" / "pip"
    assert peercache.pip_cache_dir(environ={"HOME": str(tmp_path), "XDG_CACHE_HOME": "rel"}) == (
        tmp_path / ".cache" / "pip"
    )
    assert peercache.pip_cache_dir("/srv/pip", environ=env) == Path("/srv/pip")
    assert peercache.pip_cache_dir("/srv/pip", environ={**env, "PIP_CACHE_DIR": "/x"}) == Path("/x")
    assert peercache.pip_cache_dir(environ={**env, "PIP_NO_CACHE_DIR": "1"}) is None
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\ncache-dir = /srv/pipcache\n")
    assert read_pip_config({"PIP_CONFIG_FILE": os.devnull}, files=[conf]).cache_dir == "/srv/pipcache"
    # CacheControl's key: scheme and host lower-cased, the fragment dropped
    assert peercache.cache_key("HTTPS://Files.Example.ORG/p/a.whl#sha256=00") == "https://files.example.org/p/a.whl"


# ------------------------------------------------------------------------------------------- warm bundle


def _cached_lock(tmp_path: Path, count: int) -> Snapshot:
    """A lock of ``count`` wheels that are all in the download cache already."""
    from envsnap.artifacts.pin import cached_path

    packages = []
    for i in range(count):
        filename = f"pkg{i}-1.0-py3-none-any.whl"
        body = _body(20 + i, 20_000)
        sha = hashlib.sha256(body).hexdigest()
        cached = cached_path(tmp_path / "cache", sha, filename)
        cached.parent.mkdir(parents=True)
        cached.write_bytes(body)
        art = Artifact(filename=filename, url=f"https://files.invalid/{filename}", sha256=sha, size=len(body))
        packages.append(PythonPackage(name=f"pkg{i}", version="1.0", artifact=art))
    return Snapshot(python=PythonEnv(version="3.11.7", packages=tuple(packages)))


def test_a_warm_bundle_reads_each_cached_wheel_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each wheel was hashed in the cache, copied, then hashed again for SHA256SUMS; now it is hashed while it
    is copied and that digest is what the check and SHA256SUMS use."""
    from envsnap.artifacts import bundle as bundle_mod

    lock = _cached_lock(tmp_path, 4)
    hashed: list[str] = []
    real = bundle_mod.sha256_file

    def counting(path: Path) -> str:
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(bundle_mod, "sha256_file", counting)
    result = make_bundle(lock, tmp_path / "bundle", BundleOptions(cache_dir=tmp_path / "cache", config=IndexConfig()))
    assert [e.action for e in result.entries] == [bundle_mod.FROM_CACHE] * 4  # copied, not downloaded
    assert [name for name in hashed if name.endswith(".whl")] == []
    Bundle(tmp_path / "bundle").verify_sums()


def test_a_warm_bundle_copies_its_wheels_in_parallel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from envsnap.artifacts import bundle as bundle_mod

    lock = _cached_lock(tmp_path, 3)
    barrier = threading.Barrier(2, timeout=20)
    calls: list[str] = []
    real = bundle_mod.fetch_wheel

    def meeting(art: Artifact, dest: Path, pinner: Pinner, *, offline: bool, cached: Path | None = None) -> str:
        calls.append(art.filename)
        if len(calls) <= 2:
            barrier.wait()  # BrokenBarrierError when the copies run one after the other
        return real(art, dest, pinner, offline=offline, cached=cached)

    monkeypatch.setattr(bundle_mod, "fetch_wheel", meeting)
    make_bundle(lock, tmp_path / "bundle", BundleOptions(cache_dir=tmp_path / "cache", config=IndexConfig()))
    assert sorted(calls) == [f"pkg{i}-1.0-py3-none-any.whl" for i in range(3)]


def test_a_plain_bundle_does_not_load_the_docker_target(tmp_path: Path) -> None:
    """`envsnap bundle` imported the docker target (and the Docker SDK) for flags it was not given."""
    import subprocess

    from envsnap import lockfile

    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), tmp_path / "l.lock")
    code = (
        "import sys\nfrom envsnap.cli import main\n"
        f"rc = main(['bundle', {str(tmp_path / 'l.lock')!r}, '-o', {str(tmp_path / 'b')!r}])\n"
        "print(rc, 'envsnap.rebuild.docker' in sys.modules, 'docker' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split()[-3:] == ["0", "False", "False"], done.stderr


def test_a_refused_connection_is_said_as_urllib_said_it(tmp_path: Path) -> None:
    """One line with the cause, not urllib3's retry and connection-object wording."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(PinError) as caught:
        Fetcher().download(f"http://127.0.0.1:{port}/x.whl", tmp_path / "x.whl")
    assert str(caught.value) == f"http://127.0.0.1:{port}/x.whl: cannot download ([Errno 111] Connection refused)"


def test_a_bundle_holds_only_the_folders_it_fills(tmp_path: Path) -> None:
    """A pip-only bundle had empty ``conda/`` and ``images/`` folders, which the README describes as holding conda
    packages and saved images; an empty one an earlier run left is removed, a filled one kept."""
    lock = _cached_lock(tmp_path, 2)
    root = tmp_path / "bundle"
    make_bundle(lock, root, BundleOptions(cache_dir=tmp_path / "cache", config=IndexConfig()))
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["wheels"]
    (root / "conda").mkdir()
    (root / "images").mkdir()
    (root / "images" / "base.json").write_text("{}")
    make_bundle(lock, root, BundleOptions(cache_dir=tmp_path / "cache", config=IndexConfig()))
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["images", "wheels"]


def test_an_earlier_bundle_holding_a_link_is_refused_before_it_is_completed(tmp_path: Path) -> None:
    """A link put into an earlier bundle (``ln -s /etc/hostname b/notes.txt``) was kept by bundling into it again,
    which said "wrote b", exit 0: the bundle then failed its own check in every later command. It is refused before
    anything is fetched or written (exit 2), naming the file and the command that removes it."""
    from envsnap.artifacts.bundle import BundleOutputError

    lock = _cached_lock(tmp_path, 2)
    root = tmp_path / "b"
    options = BundleOptions(cache_dir=tmp_path / "cache", config=IndexConfig())
    make_bundle(lock, root, options)
    sums = (root / "SHA256SUMS").read_bytes()
    (root / "notes.txt").symlink_to("/etc/hostname")
    with pytest.raises(BundleOutputError) as caught:
        make_bundle(lock, root, options)
    assert caught.value.exit_code == 2
    assert str(caught.value) == (
        f"{root}: holds 'notes.txt', a link or special file, which a bundle cannot hold and bundling again would "
        f"keep: remove it (rm -- {root}/notes.txt) and bundle again"
    )
    assert (root / "SHA256SUMS").read_bytes() == sums and (root / "notes.txt").is_symlink()
    (root / "notes.txt").unlink()
    make_bundle(lock, root, options)
    Bundle(root).verify_sums()
    # A name holding a newline is named as bash's $'...' word (shell_word refused it: a traceback).
    (root / "a\nb").symlink_to("/etc/hostname")
    with pytest.raises(BundleOutputError) as caught:
        make_bundle(lock, root, options)
    assert caught.value.exit_code == 2 and f"(rm -- $'{root}/a\\x0ab')" in str(caught.value), caught.value


def test_a_folder_made_to_be_moved_into_place_has_the_umasks_permissions(tmp_path: Path) -> None:
    """A bundle's ``tool/`` (and a docker build context, an unpacked bundle) was made by mkdtemp, 0700: the
    user's group could not read what the user shared."""
    import os

    from envsnap._fs import fresh_dir

    old = os.umask(0o022)
    try:
        made = fresh_dir(tmp_path, ".tool.")
        other = fresh_dir(tmp_path, ".tool.")
    finally:
        os.umask(old)
    assert made.stat().st_mode & 0o777 == 0o755 and made.name.startswith(".tool.") and made != other


def test_a_pinned_file_inside_the_project_is_bundled_from_there(tmp_path: Path) -> None:
    """``pip install ./wheels/x.whl`` inside the project is captured and pinned as ``file://{project}/wheels/x.whl``:
    bundle fetched that label, which names no file, and matched ``--allow-url`` for the folder against the label
    (exit 2, then exit 4 with ``--allow-url '*'``), where pin with the same option took it."""
    import hashlib

    project = tmp_path / "my proj"
    (project / "wheels").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n')
    body = _body(7, 5_000)
    (project / "wheels" / "pkgx-1.0-py3-none-any.whl").write_bytes(body)
    art = Artifact(
        filename="pkgx-1.0-py3-none-any.whl",
        url="file://{project}/wheels/pkgx-1.0-py3-none-any.whl",
        sha256=hashlib.sha256(body).hexdigest(),
        size=len(body),
    )
    lock = Snapshot(
        python=PythonEnv(version="3.11.7", packages=(PythonPackage(name="pkgx", version="1.0", artifact=art),))
    )
    allow = ((project / "wheels").as_uri() + "/*",)
    options = BundleOptions(cache_dir=tmp_path / "cache", config=IndexConfig(), project_dir=project, allow_urls=allow)
    make_bundle(lock, tmp_path / "bundle", options)
    assert (tmp_path / "bundle" / "wheels" / "pkgx-1.0-py3-none-any.whl").read_bytes() == body
    Bundle(tmp_path / "bundle").verify_sums()


def test_a_locked_file_gone_from_its_url_is_named_with_what_holds_it_still(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    """A pinned wheel whose URL answers 404 (removed from the server since the lock was pinned) was
    ``http://.../labpkg-0.3.0-py3-none-any.whl: cannot download (File not found)``: nothing said the file is gone or
    what to do, and a find-links folder configured with the very file (name and sha256) was not read. The message
    says it is gone from the lock's URL and what holds it still (exit 4, as a package that cannot be bundled); a
    configured folder that holds it bundles it."""
    from envsnap import lockfile

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("UV_FIND_LINKS", raising=False)
    body = _body(3, 5_000)
    name = "labpkg-0.3.0-py3-none-any.whl"
    sha = hashlib.sha256(body).hexdigest()
    with serving() as server:
        url = f"{server.url}/files/{name}"  # served nothing: 404
        art = Artifact(filename=name, url=url, sha256=sha, size=len(body))
        lock = Snapshot(
            python=PythonEnv(version="3.11.7", packages=(PythonPackage(name="labpkg", version="0.3.0", artifact=art),))
        )
        lockfile.dump(lock, tmp_path / "env.lock")
        common = ("--cache-dir", tmp_path / "cache", "--allow-url", server.url + "/*")
        result = cli("bundle", tmp_path / "env.lock", "-o", tmp_path / "bundle", *common)
        assert result.code == 4, result
        assert result.err.strip().splitlines() == [
            f"envsnap: error: 1 package(s) could not be bundled: labpkg 0.3.0: {name}: the file at '{url}' is gone "
            "(HTTP 404): it was removed there since the lock was pinned, and no configured index or find-links folder "
            "lists it; configure a folder or index that holds the locked file (PIP_FIND_LINKS=DIR or "
            "PIP_INDEX_URL=URL; for uv: UV_FIND_LINKS or UV_INDEX_URL), where it is found by its name and sha256 "
            f"{sha}, or rebuild from a bundle made when the lock was pinned (rebuild --bundle)"
        ]
        assert not (tmp_path / "bundle").exists()
        (tmp_path / "found").mkdir()
        (tmp_path / "found" / name).write_bytes(body)
        monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "found"))
        result = cli("bundle", tmp_path / "env.lock", "-o", tmp_path / "bundle", *common)
        assert result.code == 0, result
    assert (tmp_path / "bundle" / "wheels" / name).read_bytes() == body
    Bundle(tmp_path / "bundle").verify_sums()


def test_a_rebuild_that_fetches_its_wheels_says_what_it_could_not_fetch_not_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    """``rebuild --target venv`` without ``--bundle`` fetches the locked wheels itself; a file gone from its URL read
    ``1 package(s) could not be bundled: ...``, the words of a command the user did not run. It says the package
    could not be fetched or built for the rebuild, with the same reason, and nothing is made."""
    from envsnap import lockfile

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("UV_FIND_LINKS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    body = _body(3, 5_000)
    name = "labpkg-0.3.0-py3-none-any.whl"
    with serving() as server:
        url = f"{server.url}/files/{name}"  # served nothing: 404
        art = Artifact(filename=name, url=url, sha256=hashlib.sha256(body).hexdigest(), size=len(body))
        version = ".".join(map(str, sys.version_info[:3]))
        lock = Snapshot(
            python=PythonEnv(version=version, packages=(PythonPackage(name="labpkg", version="0.3.0", artifact=art),))
        )
        lockfile.dump(lock, tmp_path / "env.lock")
        dest = tmp_path / "env"
        result = cli("rebuild", tmp_path / "env.lock", "--dest", dest, "--allow-url", server.url + "/*")
    assert result.code == 4, result
    (line,) = [x for x in result.err.strip().splitlines() if x.startswith("envsnap: error:")]
    assert line.startswith(
        f"envsnap: error: 1 package(s) could not be fetched or built for the rebuild: labpkg 0.3.0: {name}: "
        f"the file at '{url}' is gone (HTTP 404)"
    ), line
    assert "bundled" not in line and not dest.exists()


def test_another_file_of_the_locked_name_in_a_configured_folder_is_not_said_replaced_at_the_locks_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    """A lock's URL that is not read (refused: http) is looked for by name and sha256 on the configured locations; a
    find-links folder holding another file of that name was said to hold the lock's file "replaced there since the
    lock was pinned", though the lock never named that folder, with "configure it: PIP_FIND_LINKS", which the user
    had done. It is said to be another file under the locked name, in the folder configured."""
    from envsnap import lockfile

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("UV_FIND_LINKS", raising=False)
    name = "labpkg-0.3.0-py3-none-any.whl"
    sha = hashlib.sha256(_body(3, 5_000)).hexdigest()
    (tmp_path / "found").mkdir()
    (tmp_path / "found" / name).write_bytes(_body(4, 5_000))  # another file under the locked name
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "found"))
    art = Artifact(filename=name, url=f"http://127.0.0.1:9/files/{name}", sha256=sha)
    lock = Snapshot(
        python=PythonEnv(version="3.11.7", packages=(PythonPackage(name="labpkg", version="0.3.0", artifact=art),))
    )
    lockfile.dump(lock, tmp_path / "env.lock")
    result = cli("bundle", tmp_path / "env.lock", "-o", tmp_path / "bundle", "--cache-dir", tmp_path / "cache")
    assert result.code == 4, result
    assert result.err.strip().splitlines() == [
        f"envsnap: error: 1 package(s) could not be bundled: labpkg 0.3.0: {name}: "
        f"'{(tmp_path / 'found' / name).as_uri()}', the file of that name a configured index or find-links folder "
        f"holds, is not the one the lock pins (sha256 differs, the lock's {sha}): another file under the locked name; "
        "the locked file may be in a bundle made when the lock was pinned (rebuild --bundle), at the lock's own URL, "
        "or on an index that has it (configure it: PIP_INDEX_URL, PIP_FIND_LINKS)"
    ]
    assert "replaced" not in result.err


def test_a_download_killed_midway_leaves_a_folder_the_next_download_removes(tmp_path: Path) -> None:
    """A file is downloaded through a folder of the cache's ``.incoming`` (a file without a sha256, or one another
    run is resuming, is written there whole: gigabytes for a GPU wheel). A run killed there (the OOM killer, a job's
    time limit) left it for ever, as ``tmpXXXX``; it is a held ``.envsnap-download-*`` folder, which the next
    download removes."""
    import signal
    import subprocess

    sha = hashlib.sha256(b"never sent").hexdigest()
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from envsnap.artifacts.pin import Fetcher, IndexConfig, IndexFile, Pinner\n"
        "def killed(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "Fetcher.download = killed\n"
        "url = 'http://127.0.0.1:9/a-1.0-py3-none-any.whl'\n"
        "pinner = Pinner(IndexConfig(no_index=True), Path(sys.argv[1]), allow_urls=(url,))\n"
        "pinner.fetch(IndexFile(filename='a-1.0-py3-none-any.whl', url=url, sha256=sys.argv[2], size=10))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "cache"), sha],
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    incoming = tmp_path / "cache" / ".incoming"
    assert [p.name for p in incoming.iterdir() if p.is_dir()] != []
    body = _body(7)
    with serving() as server:
        url = server.add("/b-1.0-py3-none-any.whl", body)
        path, _sha = _pinner(tmp_path, server.url).fetch(
            IndexFile(filename="b-1.0-py3-none-any.whl", url=url, sha256="", size=len(body))
        )
    assert path.read_bytes() == body
    assert [p.name for p in incoming.iterdir() if p.is_dir()] == []


@pytest.mark.parametrize("kind", ["deb", "conda", "wheel"])
def test_a_download_killed_midway_leaves_a_part_file_clean_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any, kind: str
) -> None:
    """A download killed midway (the OOM killer, a job's time limit) left its partial file in the download cache:
    a hidden ``.NAME.XXXX.part`` beside its place in the cache (a system package, a conda archive), or the
    ``.incoming/<sha256>.part`` a wheel's download keeps to resume from. Only `clean --cache`, which empties the
    whole cache, removed it: plain `envsnap clean` said nothing of it. Each is held while its download runs, and
    plain `envsnap clean` removes the one whose download is gone."""
    import signal
    import subprocess
    import threading

    from fetchserver import DOWNLOADER, files_under, wait_for_a_file

    root = tmp_path / "xdg" / "envsnap"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    body = _body(3, 3 << 20)  # a read of 1 MiB is written before the server stalls at half
    with serving() as server:
        url = server.add("/x-1.0-py3-none-any.whl", body)
        server.stall["/x-1.0-py3-none-any.whl"] = release = threading.Event()
        download = subprocess.Popen(
            [sys.executable, "-c", DOWNLOADER, kind, str(root), url, hashlib.sha256(body).hexdigest(), str(len(body))],
            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            part = wait_for_a_file(root, 1 << 20)
            download.send_signal(signal.SIGKILL)
            assert download.wait(timeout=30) == -signal.SIGKILL
        finally:
            release.set()
            download.kill()
            download.communicate()
    (tmp_path / "work").mkdir()
    result = cli("clean", tmp_path / "work")
    assert result.code == 0, result
    assert f"removed {part} (1.0 MiB), left by an interrupted run" in result.err, result.err
    assert files_under(root) == []


_KILLED_WHILE_CHECKED = """
import hashlib, os, signal, sys
from pathlib import Path
from envsnap.artifacts import conda, debs
from envsnap.artifacts.pin import Fetcher
from envsnap.model import CondaPackage, SystemPackage
def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
kind, root, url, body = sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]).read_bytes()
sha = hashlib.sha256(body).hexdigest()
if kind == "conda":
    conda.check_archive = killed
    pkg = CondaPackage(name="pkg", version="1.0", build="0", url=url, sha256=sha)
    conda.fetch_archive(pkg, root / "conda" / sha / "pkg-1.0-0.conda", allow_urls=(url,))
else:
    debs.locate = lambda *args: debs.Located(
        filename="pkg_1.0_amd64.deb", url=url, sha1=hashlib.sha1(body).hexdigest(), size=len(body)
    )
    debs.control_fields = killed
    debs.pin_one(Fetcher(), "http://127.0.0.1:9", root / "artifacts", SystemPackage("dpkg", "pkg", "1.0"), "x86_64")
"""


@pytest.mark.parametrize("kind", ["conda", "deb"])
def test_a_download_killed_while_its_file_is_checked_leaves_what_clean_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any, kind: str
) -> None:
    """A downloaded conda archive is checked as ``.NAME.part`` beside its place in the cache, and a system package
    pinned as ``incoming/NAME`` of the download cache, before either is moved into place: a run killed while it
    checked (a large archive is read whole) left that file, which no `envsnap clean` but `--cache` removed. Each
    is checked in a held ``.envsnap-download-*`` folder, which `envsnap clean` removes."""
    import signal
    import subprocess

    root = tmp_path / "xdg" / "envsnap"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    body = _body(4)
    (tmp_path / "body").write_bytes(body)
    with serving() as server:
        url = server.add("/pkg-1.0-0.conda", body)
        done = subprocess.run(
            [sys.executable, "-c", _KILLED_WHILE_CHECKED, kind, str(root), url, str(tmp_path / "body")],
            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert [p.read_bytes() for p in root.rglob("*") if p.is_file()] == [body]
    (tmp_path / "work").mkdir()
    result = cli("clean", tmp_path / "work")
    assert result.code == 0 and "left by an interrupted run" in result.err, result
    assert [p for p in root.rglob("*") if p.is_file()] == []


_KILLED_WHILE_COPIED = """
import hashlib, os, signal, sys
from pathlib import Path
from envsnap.artifacts import bundle, debs
def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
kind, cached, folder = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
os.replace = killed  # the copy is written whole: killed before it is moved into place
if kind == "wheel":
    bundle._copy_checked(cached, folder / "pkg-1.0-py3-none-any.whl", hashlib.sha256(cached.read_bytes()).hexdigest())
else:
    debs._copy(cached, folder / "pkg_1.0_amd64.deb")
"""


@pytest.mark.parametrize(("kind", "folder"), [("wheel", "wheels"), ("deb", "debs")])
def test_a_copy_into_a_bundle_killed_midway_leaves_what_clean_of_the_bundle_removes(
    tmp_path: Path, cli: Any, kind: str, folder: str
) -> None:
    """A wheel copied from the download cache into a bundle's ``wheels/`` (a ``.deb`` into ``debs/``) was written
    as an unheld ``.NAME.part`` there: a run killed midway left it in the bundle, which only the next bundle
    removed (`envsnap clean BUNDLE` did not look). It is a held ``.envsnap-download-*`` file, which `envsnap clean
    BUNDLE` removes once its writer is gone, and leaves alone while a running envsnap holds one."""
    import signal
    import subprocess

    from envsnap import _leftovers

    cached = tmp_path / "cached"
    cached.write_bytes(_body(5))
    out = tmp_path / "bundle"
    (out / folder).mkdir(parents=True)
    (out / ".envsnap-incomplete").touch()  # a bundle being made
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_WHILE_COPIED, kind, str(cached), str(out / folder)],
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    left = list((out / folder).iterdir())
    assert [p.read_bytes() for p in left] == [cached.read_bytes()], left
    with _leftovers.held_file(out / folder, "other.whl", "download") as (_handle, running):
        result = cli("clean", out)
        assert result.code == 0, result
        assert f"removed {left[0]}" in result.err, result.err
        assert running.exists(), result.err  # a running envsnap's copy stays
    assert list((out / folder).iterdir()) == []
