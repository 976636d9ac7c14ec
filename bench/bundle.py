"""Bundle downloads beside `pip download` of the same pins, in one run, with no network (issue 19).

    python bench/bundle.py [--wheels 150] [--runs 3] [--pip PYTHON] [--json OUT]

The bench makes ~150 real wheels (one module, METADATA, RECORD and an incompressible payload, 8 KiB to 3 MiB,
log-uniform) and serves them itself from a PEP 503 simple index over HTTPS (HTTP/1.1) on localhost (127.0.0.1; a
process of its own: keep-alive, ``Range``, ``Cache-Control: max-age`` on files as a public index sends; a
certificate made with openssl for the run, given to both tools as ``PIP_CERT`` and ``SSL_CERT_FILE``; https also
because pip caches no http response).
It writes the lock that pins them (URL, sha256, size) and the requirements file with the same hashes, then
times, interleaved:

1. `PYTHON -m pip download --no-deps --no-cache-dir -d D --index-url URL -r requirements.txt` (pip's version
   printed beside it): the peer;
2. `envsnap bundle LOCK -o B --allow-url URL/*` with an empty envsnap cache and an empty pip cache: cold
   (target <= 1.0x pip download);
3. the same into a new B with the envsnap cache the cold run filled: warm (target <= 0.15x pip download);
4. the same with an empty envsnap cache but pip's cache filled by a `pip download` (pip >= 23.3 keeps bodies
   as files of their own): the files come from pip's cache after their hash check.

Each runs --runs times (medians); every run starts from new folders; load on the machine hits all alike.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import _installed  # this tree, installed from its wheel into a venv, as users run it

# ------------------------------------------------------------------------------------------------ wheels


def make_wheels(folder: Path, count: int) -> list[Path]:
    rng = random.Random(19)
    folder.mkdir(parents=True)
    out = []
    for i in range(count):
        name, version = f"benchpkg{i:03d}", "1.0"
        dist = f"{name}-{version}"
        payload = rng.randbytes(int(8192 * (384 ** rng.random())))  # 8 KiB .. 3 MiB
        files = {
            f"{name}/__init__.py": b"VALUE = 1\n",
            f"{name}/payload.bin": payload,
            f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode(),
            f"{dist}.dist-info/WHEEL": (
                b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
            ),
        }
        record = "".join(
            f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}\n"
            for p, d in files.items()
        )
        path = folder / f"{dist}-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as archive:
            for member, data in files.items():
                archive.writestr(member, data)
            archive.writestr(f"{dist}.dist-info/RECORD", record + f"{dist}.dist-info/RECORD,,\n")
        out.append(path)
    return out


# ------------------------------------------------------------------------------------------------ server


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate authority for this run (the file both tools are told to trust) and a certificate for
    localhost signed by it, written as ``cert.pem`` + ``key.pem`` for the server."""

    def openssl(*argv: str) -> None:
        subprocess.run(["openssl", *argv], check=True, capture_output=True)

    ca, ca_key = folder / "ca.pem", folder / "ca-key.pem"
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=envsnap bench CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
    )
    (folder / "leaf.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        str(folder / "key.pem"),
        "-out",
        str(folder / "leaf.csr"),
    )
    openssl(
        "x509",
        "-req",
        "-in",
        str(folder / "leaf.csr"),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        str(folder / "leaf.ext"),
        "-out",
        str(folder / "cert.pem"),
    )
    return ca, folder / "key.pem"


def serve(folder: Path, cert: Path, key: Path) -> None:
    """The index (run as a process of its own: ``bench/bundle.py --serve DIR``); prints its port."""
    wheels = {p.name: p for p in folder.glob("*.whl")}
    digests = {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in wheels.items()}
    projects = {name.split("-")[0]: name for name in wheels}
    hits, hits_lock = folder.parent / "hits.log", threading.Lock()  # each file served, for the report

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: bytes, kind: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            if parts == ["simple"]:
                links = "".join(f'<a href="/simple/{p}/">{p}</a>\n' for p in sorted(projects))
                return self._send(200, f"<html><body>{links}</body></html>".encode(), "text/html")
            if len(parts) == 2 and parts[0] == "simple" and parts[1] in projects:
                name = projects[parts[1]]
                link = f'<a href="/files/{name}#sha256={digests[name]}">{name}</a>'
                return self._send(200, f"<html><body>{link}</body></html>".encode(), "text/html")
            if len(parts) == 2 and parts[0] == "files" and parts[1] in wheels:
                with hits_lock, open(hits, "a") as log:
                    log.write(parts[1] + "\n")
                data = wheels[parts[1]].read_bytes()
                extra = {"Cache-Control": "max-age=365000000, immutable, public", "Accept-Ranges": "bytes"}
                wanted = self.headers.get("Range", "")
                if wanted.startswith("bytes=") and wanted.endswith("-") and wanted[6:-1].isdigit():
                    start = int(wanted[6:-1])
                    extra["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                    return self._send(206, data[start:], "application/octet-stream", extra)
                return self._send(200, data, "application/octet-stream", extra)
            return self._send(404, b"not found", "text/plain")

        def log_message(self, *args: object) -> None:
            pass

    import ssl

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


# ------------------------------------------------------------------------------------------------- bench


def write_lock(root: Path, wheels: list[Path], base: str) -> tuple[Path, Path]:
    from envsnap import lockfile
    from envsnap.model import Artifact, PythonEnv, PythonPackage, Snapshot

    packages, lines = [], []
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        art = Artifact(filename=wheel.name, url=f"{base}/files/{wheel.name}", sha256=sha, size=wheel.stat().st_size)
        packages.append(PythonPackage(name=name, version=version, wheel_tags=("py3-none-any",), artifact=art))
        lines.append(f"{name}=={version} --hash=sha256:{sha}\n")
    version = ".".join(map(str, sys.version_info[:3]))
    lock = root / "bench.lock"
    lockfile.dump(Snapshot(python=PythonEnv(version=version, packages=tuple(packages))), lock)
    requirements = root / "requirements.txt"
    requirements.write_text("".join(lines))
    return lock, requirements


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheels", type=int, default=150)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pip", default=sys.executable, help="the python whose pip is the peer")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.serve.parent / "cert.pem", args.serve.parent / "key.pem")
        return 0
    root = Path(tempfile.mkdtemp(prefix="envsnap-bench-bundle-"))
    server = None
    try:
        wheels = make_wheels(root / "wheels", args.wheels)
        total = sum(w.stat().st_size for w in wheels)
        cert, _key = make_certificate(root)  # the authority's certificate: what the clients trust
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(root / "wheels")], stdout=subprocess.PIPE, text=True
        )
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        if not port.isdigit():
            raise SystemExit("the bench's index did not start")
        base = f"https://localhost:{port}"
        lock, requirements = write_lock(root, wheels, base)
        pip_version = subprocess.run(
            [args.pip, "-m", "pip", "--version"], capture_output=True, text=True, check=True
        ).stdout.split()[1]
        pip_http_v2 = tuple(int(x) for x in pip_version.split(".")[:2]) >= (23, 3)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "ENVSNAP_"))}
        base_env["PIP_CONFIG_FILE"] = os.devnull
        base_env["PIP_CERT"] = str(cert)
        base_env["SSL_CERT_FILE"] = str(cert)  # pip >= 24.2 verifies with the system's store (truststore)
        # Byte code as an installed package has it (pip compiles on install), for envsnap and pip alike; kept
        # outside the source tree. The warm-up round below fills it and is not counted.
        base_env.pop("PYTHONDONTWRITEBYTECODE", None)
        base_env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        counter = iter(range(10**6))

        def fresh(kind: str) -> Path:
            path = root / "runs" / f"{kind}-{next(counter)}"
            path.mkdir(parents=True)
            return path

        def run(cmd: list[str], env: dict[str, str]) -> float:
            start = time.perf_counter()
            done = subprocess.run(cmd, env={**base_env, **env}, capture_output=True, text=True)
            took = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(cmd[:6])} ...: exit {done.returncode}\n{done.stderr[-2000:]}")
            return took

        def pip_download(cache: Path | None) -> float:
            out = fresh("pip-out")
            cache_args = ["--cache-dir", str(cache)] if cache else ["--no-cache-dir"]
            return run(
                [
                    args.pip,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--disable-pip-version-check",
                    "--no-deps",
                    *cache_args,
                    "-d",
                    str(out),
                    "--index-url",
                    f"{base}/simple",
                    "-r",
                    str(requirements),
                ],
                {},
            )

        def bundle(xdg: Path, pip_cache: Path) -> float:
            out = fresh("bundle-out") / "b"
            return run(
                _installed.envsnap("bundle", str(lock), "-o", str(out), "--allow-url", f"{base}/*"),
                {"XDG_CACHE_HOME": str(xdg), "PIP_CACHE_DIR": str(pip_cache)},
            )

        def served() -> int:
            hits = root / "hits.log"
            return len(hits.read_text().splitlines()) if hits.is_file() else 0

        downloaded: dict[str, int] = {}
        times: dict[str, list[float]] = {"pip": [], "cold": [], "warm": [], "pipcache": []}
        for round_ in range(args.runs + 1):
            times["pip"].append(pip_download(None))
            xdg = fresh("xdg")
            times["cold"].append(bundle(xdg, fresh("pipcache-empty")))
            times["warm"].append(bundle(xdg, fresh("pipcache-empty")))
            if pip_http_v2:
                filled = fresh("pipcache")
                pip_download(filled)
                before = served()
                times["pipcache"].append(bundle(fresh("xdg"), filled))
                downloaded["pipcache"] = served() - before
            shutil.rmtree(root / "runs")
            if round_ == 0:  # the warm-up round
                times = {k: [] for k in times}
        med = {k: statistics.median(v) for k, v in times.items() if v}
        print(
            f"{len(wheels)} wheels, {total / 2**20:.0f} MiB, served on localhost (HTTPS, HTTP/1.1); "
            f"medians of {args.runs} after a warm-up round"
        )
        print(f"pip {pip_version} download --no-cache-dir      {med['pip']:6.2f} s")
        for kind, goal in (("cold", "1.0"), ("warm", "0.15")):
            label = f"envsnap bundle, {kind}"
            print(f"{label:36} {med[kind]:6.2f} s  {med[kind] / med['pip']:5.2f}x  (goal <= {goal}x)")
        if "pipcache" in med:
            print(
                f"envsnap bundle, from pip's cache     {med['pipcache']:6.2f} s  {med['pipcache'] / med['pip']:5.2f}x"
                f"  ({downloaded['pipcache']} of {len(wheels)} files downloaded in the last run)"
            )
        else:
            print(f"envsnap bundle, from pip's cache     n/a (pip {pip_version} < 23.3 keeps no body files)")
        if args.json:
            args.json.write_text(json.dumps({"pip_version": pip_version, "times": times, "median": med}, indent=2))
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
