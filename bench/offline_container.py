"""The offline container, side by side with a hand-written Dockerfile, in one run.

    python bench/offline_container.py [--packages 150] [--repeats 3] [--snapshot-url URL] [--json OUT]

Builds an environment of Debian's python3.11 holding N small wheels (generated here, so the bench runs with no
network) plus gompmod, a C extension linking libgomp (Debian's libgomp1), captures it, pins it (the .deb files
from --snapshot-url, else from a local snapshot archive serving this host's own packages repacked, as
tests/rebuild/test_docker_offline.py does) and measures:

1. `envsnap bundle LOCK -o B --with-system-packages --with-base-image` (wheels, .deb files, the saved
   base image, envsnap's own wheels, SHA256SUMS, README);
2. `envsnap rebuild LOCK --target docker --bundle B --offline` (SHA256SUMS check, every wheel and .deb checked
   against the lock, a build with no network, `envsnap verify` in the build and again in a container, tag)
   against `docker load` of the bundle's base image and a hand-written Dockerfile building the same image from
   the same files: `dpkg -i` of the same .deb
   files and `pip install --no-index` of the same wheelhouse on the same base, with no network, no hash check
   and no verification. Both builds start with no build cache of their own, in --repeats interleaved rounds
   (the order alternating); the medians give the ratio. Target ratio <= 1.2.

The base image is a labelled copy of envsnap-base:bookworm (.ci/services.sh makes it); every image the bench
makes is removed at the end. A ~150-package ML environment (numpy, scipy, torch ...) needs the network to
install; the synthetic one has the same number of wheels, with less in them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import _installed  # this tree, installed from its wheel into a venv, as users run it

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "rebuild"), str(REPO / "tests" / "security"), str(REPO / "tests")]

SHARED_BASE = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
LABEL = "org.envsnap.bench"


def envsnap(*args: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        _installed.envsnap(*args),
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **env},
    )
    if done.returncode != 0:
        raise SystemExit(f"envsnap {' '.join(args[:2])} exited {done.returncode}: {done.stderr[-2000:]}")
    return time.perf_counter() - start


def small_wheel(folder: Path, i: int) -> str:
    name = f"benchpkg{i:03d}"
    files = {
        f"{name}/__init__.py": f"VALUE = {i}\n".encode() * 50,
        f"{name}-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
        f"{name}-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    import base64
    import hashlib

    record = (
        "".join(
            f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}\n"
            for n, d in files.items()
        )
        + f"{name}-1.0.dist-info/RECORD,,\n"
    )
    files[f"{name}-1.0.dist-info/RECORD"] = record.encode()
    with zipfile.ZipFile(folder / f"{name}-1.0-py3-none-any.whl", "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return name


def hand_build(client: Any, bundle: Path, base_id: str, mark: str, work: Path) -> float:
    """The same image, hand-written: the same .deb files and wheels, no checks, no verification."""
    from envsnap import lockfile

    lock = lockfile.load(bundle / "envsnap.lock")
    ctx = work / "hand"
    shutil.rmtree(ctx, ignore_errors=True)
    shutil.copytree(bundle / "debs", ctx / "debs")
    shutil.copytree(bundle / "wheels", ctx / "wheels")
    (ctx / "requirements.txt").write_text("".join(f"{p.name}=={p.version}\n" for p in lock.pip_layer()))
    (ctx / "Dockerfile").write_text(
        f"FROM {base_id}\nLABEL {LABEL}={mark}\nCOPY debs/ /tmp/debs/\n"
        "RUN dpkg -i /tmp/debs/*.deb && rm -rf /tmp/debs\n"
        "COPY wheels/ /tmp/wheels/\nCOPY requirements.txt /tmp/requirements.txt\n"
        "RUN /usr/bin/python3.11 -m venv /opt/env && /opt/env/bin/pip install -q --no-index --no-deps "
        "--find-links /tmp/wheels -r /tmp/requirements.txt\n"
    )
    start = time.perf_counter()
    for chunk in client.api.build(
        path=str(ctx),
        network_mode="none",
        nocache=True,
        rm=True,
        forcerm=True,
        decode=True,
        labels={LABEL: mark},
        tag=f"envsnap-bench/hand:{mark}",
    ):
        if "error" in chunk:
            raise SystemExit(f"the hand-written build failed: {chunk['error']}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=150)
    parser.add_argument(
        "--snapshot-url", help="a real snapshot archive (default: a local one of this host's packages, repacked)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="rounds of both builds, interleaved (median)")
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    import docker  # type: ignore[import-untyped,unused-ignore]
    from fetchserver import serving
    from test_docker_offline import closure, gomp_wheel, repack, serve_in_archive

    client = docker.from_env(timeout=120)
    mark = f"bench-{uuid.uuid4().hex[:10]}"
    base_tag = f"envsnap-bench/base:{mark}"
    work = Path(tempfile.mkdtemp(prefix="envsnap-bench-offline-"))
    try:
        client.images.build(
            fileobj=io.BytesIO(f"FROM {SHARED_BASE}\nLABEL {LABEL}={mark}\n".encode()),
            tag=base_tag,
            labels={LABEL: mark},
            network_mode="none",
            rm=True,
        )
        base_id = client.images.get(base_tag).id
        wheels = work / "wheels"
        gomp_wheel(wheels)
        names = [small_wheel(wheels, i) for i in range(max(0, args.packages - 3))]  # + gompmod, pip, setuptools
        venv = work / "venv"
        subprocess.run(["/usr/bin/python3.11", "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(venv / "bin/python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--no-index",
                "--find-links",
                str(wheels),
                "gompmod==1.0",
                *names,
            ],
            check=True,
        )
        env = {"XDG_CACHE_HOME": str(work / "cache"), "PIP_FIND_LINKS": str(wheels)}
        lock = work / "envsnap.lock"
        envsnap("capture", "--python", str(venv / "bin/python"), "-o", str(lock), env=env)
        if args.snapshot_url:
            envsnap("pin", str(lock), "--snapshot-url", args.snapshot_url, "--base-image", base_tag, env=env)
        else:
            from envsnap import lockfile

            locked = {p.name for p in lockfile.load(lock).system.packages}
            in_base = set(
                client.containers.run(
                    base_tag, ["dpkg-query", "-W", "-f", "${Package}\n"], remove=True, network_disabled=True
                )
                .decode()
                .split()
            )
            with serving() as server:
                for name in sorted(closure(["libgomp1", "python3.11", "python3.11-venv"]) - in_base):
                    if name in locked:
                        serve_in_archive(server, *repack(name, work / "repacked"))
                envsnap("pin", str(lock), "--snapshot-url", server.url, "--base-image", base_tag, env=env)
        bundle = work / "bundle"
        bundle_s = envsnap(
            "bundle",
            str(lock),
            "-o",
            str(bundle),
            "--with-system-packages",
            "--with-base-image",
            "--base-image",
            base_tag,
            env=env,
        )
        size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
        client.images.remove(base_tag, force=True)  # the rebuild loads it from the bundle
        tag = f"envsnap-bench/offline:{mark}"

        def drop(*refs: str) -> None:
            for ref in refs:
                with contextlib.suppress(docker.errors.APIError):
                    client.images.remove(ref, force=True)

        def envsnap_round() -> float:
            seconds = envsnap(
                "rebuild",
                str(lock),
                "--target",
                "docker",
                "--bundle",
                str(bundle),
                "--offline",
                "--base-image",
                base_tag,
                "--tag",
                tag,
                "--dest",
                str(work / "ctx"),
                env=env,
            )
            drop(tag, base_id)  # the next build, either one, starts without the base image and any cache
            return seconds

        def hand_round() -> tuple[float, float]:
            # The hand-written build starts where envsnap's did: the base image is not in the engine, the bundle
            # has it (`docker load` is part of its time too).
            start = time.perf_counter()
            for archive in (bundle / "images").glob("*.tar"):
                with open(archive, "rb") as handle:
                    client.images.load(handle)
            load_s = time.perf_counter() - start
            seconds = load_s + hand_build(client, bundle, base_id, mark, work)
            drop(f"envsnap-bench/hand:{mark}", base_id)
            return seconds, load_s

        ours: list[float] = []
        hands: list[float] = []
        loads: list[float] = []
        for round_ in range(args.repeats):  # interleaved, the order alternating, so load on the machine hits both
            first_ours = round_ % 2 == 0
            if first_ours:
                ours.append(envsnap_round())
            hand_s, load_s = hand_round()
            hands.append(hand_s)
            loads.append(load_s)
            if not first_ours:
                ours.append(envsnap_round())
            print(
                f"round {round_ + 1}: envsnap {ours[-1]:.1f} s, hand-written {hand_s:.1f} s "
                f"(ratio {ours[-1] / hand_s:.2f})",
                flush=True,
            )
        rebuild_s, hand_s, load_s = statistics.median(ours), statistics.median(hands), statistics.median(loads)
        result = {
            "packages": args.packages,
            "debs": len(list((bundle / "debs").iterdir())),
            "bundle_bytes": size,
            "bundle_s": round(bundle_s, 2),
            "repeats": args.repeats,
            "envsnap_offline_rebuild_s": [round(x, 2) for x in ours],
            "hand_written_build_s": [round(x, 2) for x in hands],
            "ratio": round(rebuild_s / hand_s, 2),
        }
        print(f"{args.packages} Python packages, {result['debs']} .deb files, bundle {size >> 20} MiB")
        print(f"bundle (--with-system-packages --with-base-image): {bundle_s:.1f} s")
        print(f"envsnap rebuild --target docker --offline: median {rebuild_s:.1f} s of {args.repeats} (verified)")
        print(f"hand-written: docker load + Dockerfile:  median {hand_s:.1f} s (not verified; load {load_s:.1f} s)")
        print(f"ratio {result['ratio']:.2f} (goal <= 1.2)")
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    finally:
        made = [
            f"envsnap-bench/offline:{mark}",
            f"envsnap-bench/hand:{mark}",
            *(i.id for i in client.images.list(filters={"label": f"{LABEL}={mark}"}, all=True)),
        ]
        for ref in made:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(ref, force=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
