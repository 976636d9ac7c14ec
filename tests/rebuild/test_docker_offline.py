"""The done-when test of the offline container (issue 14), on the real engine: an environment whose Python
package links libgomp, pinned (its .deb files found in a snapshot archive: a local one here, serving the host's
own packages repacked, since this test must run with no network), bundled with ``--with-system-packages
--with-base-image``, its base image removed from the engine, then rebuilt ``--offline`` in a build with no
network and verified inside. The same bundle with one .deb changed fails before anything is tagged, naming it.

The test owns every image it touches: its base is a labelled copy of the shared ``envsnap-base:bookworm``
(another id, so removing it removes it), and every image it made is removed at the end by that label."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envsnap import lockfile

docker = pytest.importorskip("docker", reason="the Docker SDK (a dependency of envsnap-lock) is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))
from fetchserver import Server, serving  # noqa: E402
from testutil import run_in_image  # noqa: E402

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.integration]
SHARED_BASE = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
DEBIAN_PYTHON = "/usr/bin/python3.11"
LABEL = "org.envsnap.test"
GOMPMOD_C = r"""
#include <Python.h>
#include <omp.h>
static PyObject *threads(PyObject *self, PyObject *args) { return PyLong_FromLong(omp_get_max_threads()); }
static PyMethodDef methods[] = {{"threads", threads, METH_NOARGS, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "gompmod", NULL, -1, methods};
PyMODINIT_FUNC PyInit_gompmod(void) { return PyModule_Create(&module); }
"""


@pytest.fixture
def engine() -> Any:
    try:
        client = docker.from_env(timeout=60)
        client.ping()
        client.images.get(SHARED_BASE)
    except Exception as exc:
        pytest.skip(f"no Docker engine with {SHARED_BASE} ({type(exc).__name__}: {exc}): .ci/services.sh makes it")
    for tool in ("gcc", "dpkg-deb", "dpkg-query"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed here")
    if not Path(DEBIAN_PYTHON).exists() or not Path("/usr/include/python3.11/Python.h").exists():
        pytest.skip(f"{DEBIAN_PYTHON} and its headers (python3.11-dev) are not installed on this host")
    return client


@pytest.fixture
def owned(engine: Any) -> Iterator[str]:
    """A label value this test puts on every image it makes; those images are removed at the end."""
    mark = f"debs-offline-{uuid.uuid4().hex[:12]}"
    yield mark
    made = engine.images.list(filters={"label": f"{LABEL}={mark}"}, all=True)
    for image in sorted(made, key=lambda i: -len(i.attrs.get("RootFS", {}).get("Layers", []))):
        with contextlib.suppress(docker.errors.APIError):
            engine.images.remove(image.id, force=True)


def _envsnap(*args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "envsnap", *args],
        capture_output=True,
        text=True,
        timeout=1500,
        env={**os.environ, **env},
    )
    if check and done.returncode != 0:
        raise AssertionError(f"envsnap {' '.join(args)} exited {done.returncode}: {done.stderr[-3000:]}")
    return done


def gomp_wheel(folder: Path, zlib: bool = False) -> Path:
    """gompmod 1.0: a C extension compiled here with -fopenmp, so it loads libgomp.so.1 (Debian's libgomp1);
    ``zlib``: it also links libz.so.1 (zlib1g, which the base image ships)."""
    folder.mkdir(parents=True)
    source = GOMPMOD_C
    if zlib:
        source = source.replace("#include <omp.h>", "#include <omp.h>\n#include <zlib.h>").replace(
            "omp_get_max_threads())", "omp_get_max_threads() + (zlibVersion()[0] == 0))"
        )
    (folder / "gompmod.c").write_text(source)
    so = "gompmod.cpython-311-x86_64-linux-gnu.so"
    subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-fopenmp",
            "-O1",
            "-I/usr/include/python3.11",
            str(folder / "gompmod.c"),
            "-o",
            str(folder / so),
            *(["-lz"] if zlib else []),
        ],
        check=True,
    )
    files = {
        so: (folder / so).read_bytes(),
        "gompmod-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: gompmod\nVersion: 1.0\n",
        "gompmod-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: envsnap-tests\nRoot-Is-Purelib: false\n"
        b"Tag: cp311-cp311-linux_x86_64\n",
    }
    record = (
        "".join(
            f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
            f"{len(data)}\n"
            for name, data in files.items()
        )
        + "gompmod-1.0.dist-info/RECORD,,\n"
    )
    files["gompmod-1.0.dist-info/RECORD"] = record.encode()
    wheel = folder / "gompmod-1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return wheel


def repack(name: str, out: Path) -> tuple[str, str, str, bytes]:
    """The installed package ``name`` as a .deb again (its files and control data; dpkg-repack's idea):
    (name, version, arch, bytes). The test's stand-in for the archive's copy of the same version."""
    status = subprocess.run(["dpkg-query", "-s", name], capture_output=True, text=True, check=True).stdout
    control, skip = [], False
    for line in status.splitlines():
        if line[:1] in (" ", "\t"):
            if not skip:
                control.append(line)
            continue
        key = line.split(":", 1)[0]
        skip = key in ("Status", "Conffiles", "Config-Version")
        if not skip:
            control.append(line)
    # A dependency this host does not have installed (its dpkg state can be forced) is left out of the stand-in:
    # it describes what the host holds, and dpkg in the image would refuse the set otherwise.
    for i, line in enumerate(control):
        if line.startswith(("Depends: ", "Pre-Depends: ")):
            key, _, value = line.partition(": ")
            kept = [
                g
                for g in value.split(",")
                if any(_installed(a.strip().split(" ", 1)[0].split(":", 1)[0]) for a in g.split("|"))
            ]
            control[i] = f"{key}: {','.join(kept).strip()}" if kept else ""
    control = [line for line in control if line]
    fields = dict(line.split(": ", 1) for line in control if ": " in line and line[:1] not in (" ", "\t"))
    root = out / f"root-{name}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text("\n".join(control) + "\n")
    listed = subprocess.run(["dpkg-query", "-L", name], capture_output=True, text=True, check=True).stdout
    # Files and links only (tar makes their folders), each under its real folder: on a merged-/usr host
    # /lib is a link to usr/lib, and a package lists its files under /lib.
    paths = sorted(
        {
            os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p))
            for p in listed.splitlines()
            if p.startswith("/") and os.path.lexists(p) and (os.path.islink(p) or not os.path.isdir(p))
        }
    )
    subprocess.run(
        f"tar -cf - --no-recursion -T - | tar -xf - -C {root}",
        shell=True,
        check=True,
        input="\n".join(p.lstrip("/") for p in paths),
        text=True,
        cwd="/",
    )
    version, arch = fields["Version"], fields["Architecture"]
    deb = out / f"{name}_{version.replace(':', '%3a')}_{arch}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(root)
    return name, version, arch, deb.read_bytes()


def _installed(name: str) -> bool:
    done = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Status}", name], capture_output=True, text=True)
    return done.returncode == 0 and done.stdout.strip() == "installed"


def serve_in_archive(server: Server, name: str, version: str, arch: str, body: bytes) -> None:
    """The snapshot archive's API answer for NAME VERSION and the file under its first snapshot's path."""
    sha1 = hashlib.sha1(body).hexdigest()
    filename = f"{name}_{version.replace(':', '%3a')}_{arch}.deb"
    pool, stamp = f"/pool/main/{name[0]}/{name}", "20250520T000000Z"
    server.add(
        f"/mr/binary/{name}/{urllib.request.quote(version, safe='')}/binfiles",
        json.dumps(
            {
                "result": [{"architecture": arch, "hash": sha1}],
                "fileinfo": {
                    sha1: [
                        {
                            "archive_name": "debian",
                            "first_seen": stamp,
                            "name": filename,
                            "path": pool,
                            "size": len(body),
                        }
                    ]
                },
            }
        ).encode(),
        "application/json",
    )
    server.add(f"/archive/debian/{stamp}{pool}/{urllib.request.quote(filename)}", body)


def closure(names: list[str]) -> set[str]:
    """The host's installed packages ``names`` need (Pre-Depends and Depends, first installed alternative)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Pre-Depends}, ${Depends}", name], capture_output=True, text=True
        ).stdout
        seen.add(name)
        for group in out.split(","):
            for alt in group.split("|"):
                dep = alt.strip().split(" ", 1)[0].split(":", 1)[0]
                if dep and _installed(dep):
                    todo.append(dep)
                    break
    return seen


def test_an_offline_rebuild_installs_the_bundled_debs_with_no_network(engine: Any, owned: str, tmp_path: Path) -> None:
    # The test's own base: the shared base under a label of its own (a new image id: removing it removes it).
    base_tag = f"envsnap-test/debs-base:{owned}"
    engine.images.build(
        fileobj=io.BytesIO(f"FROM {SHARED_BASE}\nLABEL {LABEL}={owned}\n".encode()),
        tag=base_tag,
        labels={LABEL: owned},
        network_mode="none",
        rm=True,
        forcerm=True,
    )
    base_id = engine.images.get(base_tag).id
    in_base = dict(
        line.split("\t", 1)
        for line in run_in_image(engine, base_tag, "dpkg-query", "-W", "-f", "${Package}\t${Version}\n").splitlines()
    )

    # An environment whose package needs a system library: gompmod links libgomp.so.1.
    wheels = tmp_path / "wheels"
    gomp_wheel(wheels)
    venv = tmp_path / "venv"
    subprocess.run([DEBIAN_PYTHON, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(wheels),
            "gompmod==1.0",
        ],
        check=True,
    )
    lock = tmp_path / "envsnap.lock"
    _envsnap("capture", "--python", str(venv / "bin" / "python"), "-o", str(lock))
    captured = lockfile.load(lock)
    assert any(p.name == "libgomp1" and "gompmod" in p.needed_by for p in captured.system.packages)

    # The snapshot archive (local): the host's packages that the base lacks, repacked. Those the base has are
    # unknown to it, as a version the archive lacks would be: pin leaves them unpinned and says so.
    locked = {p.name: p.version for p in captured.system.packages}
    wanted = sorted(
        n for n in closure(["libgomp1", "python3.11", "python3.11-venv"]) if n not in in_base and n in locked
    )
    cache = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache), "PIP_FIND_LINKS": str(wheels)}
    with serving() as server:
        for name in wanted:
            serve_in_archive(server, *repack(name, tmp_path / "repacked"))
        _envsnap("pin", str(lock), "--snapshot-url", server.url, "--base-image", base_tag, **env)
        pinned = lockfile.load(lock)
        by_name = {p.name: p for p in pinned.system.packages}
        assert (
            by_name["libgomp1"].sha256
            and by_name["python3.11"].sha256
            and by_name["libgomp1"].url.startswith(f"{server.url}/archive/debian/20250520T000000Z/")
        )
    bundle = tmp_path / "bundle"
    # The archive is gone: every .deb comes from the cache pin filled.
    _envsnap(
        "bundle",
        str(lock),
        "-o",
        str(bundle),
        "--with-system-packages",
        "--with-base-image",
        "--base-image",
        base_tag,
        **env,
    )
    carried = sorted(p.name for p in (bundle / "debs").iterdir())
    assert any(n.startswith("libgomp1_") for n in carried) and any(n.startswith("python3.11_") for n in carried)
    assert not any(n.startswith("libc6_") for n in carried)  # the base image ships it: not carried twice
    # Every package of the interpreter the build installs (the base has no Python): the build needs no network.
    family = {"python3.11", "python3.11-minimal", "python3.11-venv", "libpython3.11-minimal", "libpython3.11-stdlib"}
    assert family <= {n.split("_", 1)[0] for n in carried}, carried
    readme = (bundle / "README.md").read_text()
    assert "| `debs/` | system packages (.deb files) |" in readme and "In all:" in readme

    # The base image leaves the engine (the test's copy; the bundle holds it), with the build cache this
    # test's images made.
    engine.images.remove(base_tag, force=True)
    with pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(base_id)

    tag = f"envsnap-test/debs-offline:{owned}"
    args = [
        "rebuild",
        str(lock),
        "--target",
        "docker",
        "--bundle",
        str(bundle),
        "--base-image",
        base_tag,
        "--offline",
        "--tag",
        tag,
    ]
    plan = _envsnap(*args, "--dry-run", **env).stdout
    assert "--network none" in plan and "dpkg -i" in plan

    # A changed .deb (SHA256SUMS rewritten to match: only the lock's sha256 can tell) fails before any build.
    tampered = tmp_path / "tampered"
    shutil.copytree(bundle, tampered)
    victim = next((tampered / "debs").glob("libgomp1_*.deb"))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte inside the package's data
    victim.write_bytes(bytes(data))
    from envsnap.artifacts.bundle import Bundle

    Bundle(tampered).write_sums()
    bad = _envsnap(
        "rebuild",
        str(lock),
        "--target",
        "docker",
        "--bundle",
        str(tampered),
        "--base-image",
        base_tag,
        "--offline",
        "--tag",
        tag,
        "--dest",
        str(tmp_path / "bad-ctx"),
        check=False,
        **env,
    )
    assert bad.returncode == 2, bad.stderr  # bad input: the bundle is not what the lock pins
    assert victim.name in bad.stderr and "sha256" in bad.stderr
    with pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(tag)

    try:
        done = _envsnap(*args, "--dest", str(tmp_path / "ctx"), "--json", **env)
        result = json.loads(done.stdout)
        assert result["verify"]["identical"] is True
        image = engine.images.get(tag)
        # The loaded base is the test's (found by its id in the bundle), and its package works with no network.
        out = run_in_image(engine, image.id, "/opt/env/bin/python", "-c", "import gompmod; print(gompmod.threads())")
        assert int(out.strip()) >= 1
        query = run_in_image(engine, image.id, "dpkg-query", "-W", "-f", "${Version}", "libgomp1")
        assert query == locked["libgomp1"]
        # The interpreter is the lock's Debian revision (from the bundle's .deb files), not the mirror's newest:
        # verify inside has no warning on it.
        for name in ("python3.11", "python3.11-minimal", "libpython3.11-stdlib"):
            assert run_in_image(engine, image.id, "dpkg-query", "-W", "-f", "${Version}", name) == locked[name]
        warned = [d for d in result["verify"]["differences"] if d["area"] == "system" and d["severity"] == "warning"]
        assert not warned, warned
    finally:
        for ref in (tag, f"envsnap/base:{base_id.split(':', 1)[1][:12]}"):
            with contextlib.suppress(docker.errors.APIError):
                engine.images.remove(ref, force=True)


def test_audit_counts_a_needed_package_the_saved_base_image_holds_as_carried(
    engine: Any, owned: str, tmp_path: Path
) -> None:
    """gompmod also links zlib1g, which the base image ships at the locked revision and the archive knows: pin pins
    it, ``bundle --with-system-packages`` leaves it out (the base holds it), and the audit counts it carried, as the
    offline rebuild does: it said "not bundled" and named that same bundle command as the remedy."""
    if not Path("/usr/include/zlib.h").exists():
        pytest.skip("zlib1g-dev is not installed on this host")
    base_tag = f"envsnap-test/debs-base:{owned}"
    engine.images.build(
        fileobj=io.BytesIO(f"FROM {SHARED_BASE}\nLABEL {LABEL}={owned}\n".encode()),
        tag=base_tag,
        labels={LABEL: owned},
        network_mode="none",
        rm=True,
        forcerm=True,
    )
    in_base = dict(
        line.split("\t", 1)
        for line in run_in_image(engine, base_tag, "dpkg-query", "-W", "-f", "${Package}\t${Version}\n").splitlines()
    )
    wheels = tmp_path / "wheels"
    gomp_wheel(wheels, zlib=True)
    venv = tmp_path / "venv"
    subprocess.run([DEBIAN_PYTHON, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels)]
    subprocess.run([*pip, "gompmod==1.0"], check=True)
    lock = tmp_path / "envsnap.lock"
    _envsnap("capture", "--python", str(venv / "bin" / "python"), "-o", str(lock))
    locked = {p.name: p.version for p in lockfile.load(lock).system.packages}
    if in_base.get("zlib1g") != locked.get("zlib1g"):
        pytest.skip(f"the base image's zlib1g {in_base.get('zlib1g')} is not this host's {locked.get('zlib1g')}")
    # The archive knows the base's packages too (as snapshot.debian.org does): zlib1g is pinned by hash.
    wanted = sorted(n for n in closure(["libgomp1", "python3.11", "python3.11-venv"]) if n not in in_base)
    wanted += sorted(closure(["zlib1g"]))
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PIP_FIND_LINKS": str(wheels)}
    with serving() as server:
        for name in sorted(n for n in set(wanted) if n in locked):
            serve_in_archive(server, *repack(name, tmp_path / "repacked"))
        _envsnap("pin", str(lock), "--snapshot-url", server.url, "--base-image", base_tag, **env)
    pinned = {p.name: p for p in lockfile.load(lock).system.packages}
    assert pinned["zlib1g"].sha256 and "gompmod" in pinned["zlib1g"].needed_by
    bundle = tmp_path / "bundle"
    made = _envsnap(
        "bundle",
        str(lock),
        "-o",
        str(bundle),
        "--with-system-packages",
        "--with-base-image",
        "--base-image",
        base_tag,
        **env,
    )
    assert "left to the base image" in made.stderr
    carried = {n.split("_", 1)[0] for n in os.listdir(bundle / "debs")}
    assert "libgomp1" in carried and "zlib1g" not in carried, carried

    audited = json.loads(_envsnap("audit", str(bundle), "--json", **env).stdout)
    item = next(i for i in audited["items"] if i["id"] == "system-packages")
    assert item["ok"] and not item["remedy"], item
    assert "in the saved base image at the locked revision: zlib1g" in item["detail"], item

    # The saved image is what counts: a bundle whose saved base lacks the package (its dpkg status emptied
    # here, SHA256SUMS and the image's .json written to match) is short of it again.
    from envsnap.artifacts.bundle import Bundle

    other = tmp_path / "other"
    shutil.copytree(bundle, other)
    _empty_dpkg_status(next((other / "images").glob("*.tar")))
    Bundle(other).write_sums()
    audited = json.loads(_envsnap("audit", str(other), "--json", **env).stdout)
    item = next(i for i in audited["items"] if i["id"] == "system-packages")
    assert not item["ok"] and "not bundled" in item["detail"], item


def _empty_dpkg_status(archive: Path) -> None:
    """The saved image with one layer more on top that empties /var/lib/dpkg/status, its .json pointing at it."""
    import tarfile

    work = archive.with_suffix(".d")
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="tar")
    manifest = json.loads((work / "manifest.json").read_text())
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo("var/lib/dpkg/status")
        info.size = 0
        tar.addfile(info, io.BytesIO(b""))
    (work / "top.tar").write_bytes(layer.getvalue())
    config_path = work / manifest[0]["Config"]
    config = json.loads(config_path.read_text())
    config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(layer.getvalue()).hexdigest())
    body = json.dumps(config).encode()
    digest = hashlib.sha256(body).hexdigest()
    config_path.unlink()
    (work / f"{digest}.json").write_bytes(body)
    manifest[0]["Config"] = f"{digest}.json"
    manifest[0]["Layers"].append("top.tar")
    (work / "manifest.json").write_text(json.dumps(manifest))
    with tarfile.open(archive, "w") as tar:
        for item in sorted(work.iterdir()):
            tar.add(item, arcname=item.name)
    shutil.rmtree(work)
    meta = archive.with_suffix(".json")
    facts = json.loads(meta.read_text())
    facts["id"] = f"sha256:{digest}"
    meta.write_text(json.dumps(facts))
