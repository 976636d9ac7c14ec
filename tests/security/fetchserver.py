"""A tiny http server on 127.0.0.1 for the security tests: serves fixed bytes by path and records every request,
so a test can say both "envsnap refused" and "nothing was even asked for". Bounded in time: each request has a
socket timeout and the server thread stops with the context manager."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> (body, content type)
    requests: list[str] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location
    agents: list[str] = field(default_factory=list)  # the User-Agent of each request
    ranges: list[str] = field(default_factory=list)  # the Range header of each request ("" without one)
    connections: int = 0  # TCP connections accepted
    cut: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before the connection is dropped
    # path -> an event: half the body is sent, then the rest once the event is set (a download in progress)
    stall: dict[str, threading.Event] = field(default_factory=dict)
    # "user:password": a request without that basic authorisation is answered 401 (a private index)
    password: str = ""
    authorized: list[bool] = field(default_factory=list)  # whether each request carried that authorisation

    def add(self, path: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        self.files[path] = (body, content_type)
        return self.url + path


@contextmanager
def serving(*, keep_alive: bool = False, ranges: bool = False) -> Iterator[Server]:
    """``keep_alive``: HTTP/1.1, a connection serves several requests (else one request per connection, as
    HTTP/1.0). ``ranges``: ``Range: bytes=N-`` is answered with 206 and the rest (else ignored: the whole file)."""
    state: dict[str, Server] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 10
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def setup(self) -> None:
            super().setup()
            with lock:
                state["server"].connections += 1

        def do_GET(self) -> None:
            server = state["server"]
            server.requests.append(self.path)
            server.agents.append(self.headers.get("User-Agent", ""))
            server.ranges.append(self.headers.get("Range", ""))
            wanted_auth = "Basic " + base64.b64encode(server.password.encode()).decode()
            server.authorized.append(bool(server.password) and self.headers.get("Authorization") == wanted_auth)
            if server.password and not server.authorized[-1]:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="private"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path = self.path.split("?", 1)[0]
            if path in server.redirects:
                self.send_response(302)
                self.send_header("Location", server.redirects[path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path not in server.files:
                self.send_error(404)
                return
            body, content_type = server.files[path]
            start = 0
            wanted = self.headers.get("Range", "")
            if ranges and wanted.startswith("bytes=") and wanted.endswith("-") and wanted[6:-1].isdigit():
                start = int(wanted[6:-1])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            self.send_response(206 if start else 200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.end_headers()
            if path in server.cut:
                self.wfile.write(body[start : server.cut.pop(path)])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if path in server.stall:
                half = start + (len(body) - start) // 2
                self.wfile.write(body[start:half])
                self.wfile.flush()
                server.stall[path].wait(10)
                start = half
            self.wfile.write(body[start:])

        def log_message(self, *args: object) -> None:
            pass

    lock = threading.Lock()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state["server"] = Server(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state["server"]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def make_wheel(folder: Path, name: str, version: str) -> Path:
    """A small real wheel (one module, METADATA, WHEEL, RECORD) that pip and uv install."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}"
    files = {
        f"{name}/__init__.py": b"VALUE = 1\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode(),
        f"{dist}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record = "".join(f"{path},sha256={b64(data)},{len(data)}\n" for path, data in files.items())
    record += f"{dist}.dist-info/RECORD,,\n"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(f"{dist}.dist-info/RECORD", record)
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def toml_str(value: str) -> str:
    """A TOML basic string for any value (JSON's escapes are TOML's), so a test can write hostile values."""
    return json.dumps(value)


def lock_text(
    *,
    version: str = "3.11.7",
    implementation: str = "cpython",
    executable: str = "",
    packages: str = "",
    extra: str = "",
) -> str:
    """A minimal lock (the loader fills every table it does not name), with raw TOML for the packages."""
    return (
        "[envsnap]\nschema_version = 1\n\n[python]\n"
        f"implementation = {toml_str(implementation)}\nversion = {toml_str(version)}\n"
        f"executable = {toml_str(executable)}\n\n{packages}{extra}"
    )


def package_toml(
    name: str, version: str, *, filename: str = "", url: str = "", sha256: str = "", source: str = ""
) -> str:
    text = (
        f"[[python.packages]]\nname = {toml_str(name)}\nversion = {toml_str(version)}\n"
        'wheel_tags = ["py3-none-any"]\n\n'
    )
    if source:
        text += f"[python.packages.source]\n{source}\n\n"
    if filename or url or sha256:
        text += (
            f"[python.packages.artifact]\nfilename = {toml_str(filename)}\nurl = {toml_str(url)}\n"
            f"sha256 = {toml_str(sha256)}\n\n"
        )
    return text


def make_deb(name: str, version: str, arch: str = "amd64", depends: str = "", payload: bytes = b"") -> bytes:
    """A small real Debian binary package (ar: debian-binary, control.tar.gz, data.tar.gz) that dpkg reads."""
    import io
    import tarfile

    def tar_gz(files: dict[str, bytes]) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            folders = sorted({"/".join(p.split("/")[:i]) for p in files for i in range(2, p.count("/") + 1)})
            for folder in folders:
                info = tarfile.TarInfo(folder + "/")
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
                tar.addfile(info)
            for path, data in files.items():
                info = tarfile.TarInfo(path)
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    control = (
        f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: envsnap tests <t@example.org>\n"
        + (f"Depends: {depends}\n" if depends else "")
        + f"Description: {name} for envsnap's tests\n"
    ).encode()
    data = {f"./usr/share/doc/{name}/envsnap-test": payload or f"{name} {version}\n".encode()}
    members = [
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", tar_gz({"./control": control})),
        ("data.tar.gz", tar_gz(data)),
    ]
    out = b"!<arch>\n"
    for member, body in members:
        out += f"{member:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(body):<10}`\n".encode() + body
        out += b"\n" if len(body) % 2 else b""
    return out


# A download into an envsnap cache run in a process of its own (argv: the kind, the cache root, the URL, the
# sha256 and the size), as each downloader writes there: a file into its shard of the download cache
# (``debs.fetch_debs``), a conda archive beside its place in the conda cache (``conda.fetch_archive``), a wheel
# with a sha256 through ``.incoming`` (``Pinner.fetch``, kept to resume from).
DOWNLOADER = """
import sys
from pathlib import Path
from envsnap.artifacts.pin import Fetcher, IndexConfig, IndexFile, Pinner, cached_path
kind, root, url, sha, size = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
if kind == "deb":
    dest = cached_path(root / "artifacts", sha, "x-1.0-py3-none-any.whl")
    Fetcher().download(url, dest, size=size)
elif kind == "conda":
    dest = root / "conda" / sha / "x-1.0-0.conda"
    Fetcher().download(url, dest.with_name(".x-1.0-0.conda.part"), size=size)
    dest.with_name(".x-1.0-0.conda.part").rename(dest)
else:
    pinner = Pinner(IndexConfig(no_index=True), root / "artifacts", allow_urls=(url,))
    dest, _sha = pinner.fetch(IndexFile(filename="x-1.0-py3-none-any.whl", url=url, sha256=sha, size=size))
print(dest, flush=True)
"""


def files_under(folder: Path) -> list[Path]:
    """The files below ``folder``, sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file())


def wait_for_a_file(folder: Path, size: int, timeout: float = 30) -> Path:
    """The first file below ``folder`` that holds ``size`` bytes or more (a download under way)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in files_under(folder) if folder.exists() else []:
            try:
                if path.stat().st_size >= size:
                    return path
            except OSError:
                continue
        time.sleep(0.02)
    raise AssertionError(f"no file of {size} bytes under {folder}: {files_under(folder)}")
