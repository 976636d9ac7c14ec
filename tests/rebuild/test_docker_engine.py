"""The docker target on a real Docker engine: capture a small real venv, bundle it, rebuild it as an image on
a debootstrap'd Debian base, and verify inside the container. ``.ci/services.sh`` starts the engine and makes
the base image; these tests run it themselves when they can, and skip only when no engine can run here."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from testutil import run_in_image

from envsnap import lockfile
from envsnap.dockerfile.spec import INSTALLER_STAGE, LABEL_STAGE
from envsnap.errors import RebuildError
from envsnap.rebuild import RebuildRequest
from envsnap.rebuild.docker import LABEL_DIGEST, DockerRebuilder

docker = pytest.importorskip("docker", reason="the Docker SDK (a dependency of envsnap-lock) is not installed")

REPO = Path(__file__).resolve().parents[2]
BASE = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
DEBIAN_PYTHON = "/usr/bin/python3.11"
LABEL = "org.envsnap.test"  # on every image a test makes itself, which removes those by their value
pytestmark = pytest.mark.integration


def _engine() -> Any:
    client = docker.from_env(timeout=30)
    client.ping()
    return client


@pytest.fixture(scope="session")
def engine() -> Any:
    """A reachable engine with the base image; started by .ci/services.sh when this process may do that."""
    try:
        client = _engine()
        client.images.get(BASE)
        return client
    except Exception as first:  # not running, or no base image yet
        reason = f"{type(first).__name__}: {first}"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"no Docker engine with {BASE} ({reason}), and no root/apt to start one (.ci/services.sh)")
    done = subprocess.run([str(REPO / ".ci" / "services.sh")], capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        pytest.skip(f"dockerd cannot run here: .ci/services.sh failed: {done.stderr.strip()[-500:]}")
    return _engine()


@pytest.fixture(scope="session")
def captured(engine: Any, make_venv: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lock of a real venv made with Debian's python3.11 (the base's apt has the same interpreter)."""
    if not Path(DEBIAN_PYTHON).exists():
        pytest.skip(f"{DEBIAN_PYTHON} (Debian's python3.11) is not installed on this host")
    work = tmp_path_factory.mktemp("docker")
    python = make_venv(work / "venv", "markupsafe==3.0.2", "tomli-w==1.2.0", python=DEBIAN_PYTHON)
    lock = work / "envsnap.lock"
    _envsnap("capture", "--python", str(python), "-o", str(lock))
    return lock


@pytest.fixture(scope="session")
def bundle(captured: Path) -> Path:
    out = captured.parent / "bundle"
    _envsnap("bundle", str(captured), "-o", str(out), "--with-base-image", "--base-image", BASE)
    return out


def _docker_rebuild(lock: Path, bundle: Path, ctx: Path, tag: str, *extra: str) -> list[str]:
    """The arguments of ``envsnap rebuild LOCK --target docker`` from ``bundle`` on the test base image."""
    args = ["rebuild", str(lock), "--target", "docker", "--bundle", str(bundle), "--base-image", BASE]
    return [*args, "--dest", str(ctx), "--tag", tag, *extra]


def _envsnap(*args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "envsnap", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
    )
    if check and done.returncode != 0:
        raise AssertionError(f"envsnap {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done


def _run(client: Any, image: str, *cmd: str) -> str:
    return run_in_image(client, image, *cmd)


def _no_tag(client: Any, tag: str) -> None:
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(tag)


def test_the_bundles_own_folders_are_readable_by_others(bundle: Path) -> None:
    """``tool/`` was made by mkdtemp and moved into place as it was: 0700, while the rest of the bundle a user
    shares with a group or deposits is readable."""
    for folder in ("tool", "images", "wheels"):
        assert (bundle / folder).stat().st_mode & 0o055 == 0o055 & ~_umask(), folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_rebuild_in_docker_and_verify_inside(engine: Any, captured: Path, bundle: Path, tmp_path: Path) -> None:
    tag = "envsnap-test/roundtrip:1"
    # --with-base-image stored the base and envsnap's own wheels: the rebuild can be --offline.
    assert (bundle / "images" / "envsnap-base_bookworm.tar").is_file()
    assert (bundle / "tool" / "requirements.txt").is_file()
    with _removed(engine, tag):
        done = _envsnap(*_docker_rebuild(captured, bundle, tmp_path / "ctx", tag, "--offline", "--json"))
        result = json.loads(done.stdout)
        assert result["dest"] == tag and result["verify"]["identical"] is True
        image = engine.images.get(tag)
        # The image id, tag and verdict are returned as fields, not only as words in the notes.
        assert result["details"] == {
            "image_id": image.id,
            "tag": tag,
            "base_image": BASE,
            "base_image_id": engine.images.get(BASE).id,
            "build_context": str(tmp_path / "ctx"),
        }
        lock = lockfile.load(bundle / "envsnap.lock")
        assert image.labels["org.envsnap.lock.content-digest"] == lock.envsnap.content_digest
        assert image.labels["org.envsnap.version"] == "0.1.0"
        # The build's SOURCE_DATE_EPOCH (the lock's capture time) is an argument of the build, not a variable of
        # the image: set there, every program in it ran with a variable the captured one had not, and the verify
        # inside warned "SOURCE_DATE_EPOCH: (none) -> ...", so --strict failed a faithful rebuild.
        assert not [e for e in image.attrs["Config"]["Env"] if e.startswith("SOURCE_DATE_EPOCH=")]
        assert _epoch(lock.envsnap.created) > 0

        # envsnap verify inside the container, with no network, finds the Python layer identical.
        report = json.loads(_run(engine, tag, "envsnap", "verify", "/envsnap.lock", "--json"))
        assert report["identical"] is True and report["packages_checked"] == 2
        assert not [d for d in report["differences"] if d["severity"] == "mismatch"]
        said = [d for d in report["differences"] if d["area"] == "environment"]
        assert not [d for d in said if "SOURCE_DATE_EPOCH" in (d["subject"], d["what"])], said

        # The same packages with the same RECORD digests, captured independently inside the image.
        inside = lockfile.loads(
            _run(engine, tag, "envsnap", "capture", "--python", "/opt/env/bin/python", "-o", "-"),
            check_digest=False,
        )
        want = {p.name: (p.version, p.record_digest, p.wheel_tags) for p in lock.python.packages}
        have = {p.name: (p.version, p.record_digest, p.wheel_tags) for p in inside.python.packages}
        assert have == want and all(digest for _v, digest, _t in want.values())
        assert inside.python.version == lock.python.version == "3.11.2"

        # The system packages the wheels need are installed at exactly the locked versions.
        needed = {p.name: p.version for p in lock.system.packages if p.needed_by}
        assert needed, "the lock should name the system packages markupsafe's extension loads (libc6)"
        query = _run(engine, tag, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *sorted(needed))
        assert dict(line.split(" ", 1) for line in query.splitlines()) == needed


def test_the_image_holds_the_environments_not_their_installers(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    """uv's wheel (17 MB) and the bundle's wheels were copied into the image and left there: in /opt, and in
    the layers of the COPY steps, which no later RUN can shrink. They belong to the installer stage only, which
    is removed once the image is built."""
    tag = "envsnap-test/no-installers:1"
    with _removed(engine, tag):
        _envsnap(*_docker_rebuild(captured, bundle, tmp_path / "ctx", tag, "--offline"))
        installers = {p.name for folder in ("wheels", "tool") for p in (bundle / folder).glob("*.whl")}
        assert any(name.startswith("uv-") for name in installers) and len(installers) > 3
        found = [name for name in _layer_files(engine, tag) if Path(name).name in installers | {"uv"}]
        assert not found, found
        assert _run(engine, tag, "ls", "/opt").split() == ["env", "envsnap"]
        assert _run(engine, tag, "envsnap", "--version").strip().endswith("0.1.0")
        # Nothing of the installer stage is left in the engine, as an untagged image, either.
        digest = lockfile.load(bundle / "envsnap.lock").envsnap.content_digest
        assert not engine.images.list(filters={"label": f"{LABEL_DIGEST}={digest}", "dangling": True})


def test_the_apt_step_leaves_no_download_cache_in_its_layer(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    """The step that installs the interpreter with apt left the .deb files it downloaded
    (/var/cache/apt/archives) and apt's package caches (/var/cache/apt/*.bin) in its layer: 90 MiB of a
    143 MiB layer on a base without the docker-clean apt setting that official images carry (a debootstrap'd
    one), which no later step can take out of the image."""
    tag = "envsnap-test/apt-cache:1"

    def apt_cache(image: str) -> set[str]:
        names = (name.removeprefix("./") for name in _layer_files(engine, image))
        # A whiteout (.wh.NAME, no bytes) is a deletion: apt-get clean's of the base's own cached files.
        cached = (name for name in names if not Path(name).name.startswith(".wh."))
        return {name for name in cached if name.startswith("var/cache/apt/") and name.endswith((".deb", ".bin"))}

    with _removed(engine, tag):
        _envsnap(*_docker_rebuild(captured, bundle, tmp_path / "ctx", tag, "--offline"))
        assert "python3.11" not in _run(engine, BASE, "dpkg-query", "-W", "-f", "${Package}\\n").split()
        left = sorted(apt_cache(tag) - apt_cache(BASE))
        assert not left, left[:5]


def test_the_build_steps_verify_leaves_no_cache_in_the_image(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    """The build's last step, ``envsnap verify``, wrote its capture and parsed-lock caches into the image's
    last layer (/root/.cache/envsnap), and the verify in a container after the build then reused that answer
    instead of capturing the image's environment again."""
    tag = "envsnap-test/no-cache:1"
    with _removed(engine, tag):
        _envsnap(*_docker_rebuild(captured, bundle, tmp_path / "ctx", tag, "--offline"))
        found = [name for name in _layer_files(engine, tag) if "/.cache/envsnap" in f"/{name.removeprefix('./')}"]
        assert not found, found


def _layer_files(client: Any, image: str) -> Iterator[str]:
    """The path of every file in every layer of ``image`` (read from ``docker save`` as it streams)."""
    import io
    import tarfile

    class Stream(io.RawIOBase):
        def __init__(self, chunks: Iterator[bytes]):
            self._chunks, self._rest = chunks, b""

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            while not self._rest:
                self._rest = next(self._chunks, b"")
                if not self._rest:
                    return 0
            size = min(len(buffer), len(self._rest))
            buffer[:size], self._rest = self._rest[:size], self._rest[size:]
            return size

    saved = io.BufferedReader(Stream(iter(client.api.get_image(image))), 1 << 20)
    with tarfile.open(fileobj=saved, mode="r|") as outer:
        for member in outer:
            if member.name.endswith("layer.tar") and member.isfile():
                with tarfile.open(fileobj=outer.extractfile(member), mode="r|") as layer:
                    yield from (inner.name for inner in layer)


def test_another_patch_release_of_python_is_stated_and_verified(
    engine: Any, make_venv: Callable[..., Path], tmp_path: Path
) -> None:
    """A lock from a CPython 3.11 that Debian does not ship (pyenv's 3.11.7, say) rebuilds on Debian's 3.11.2:
    the plan says so, and verify inside reports the interpreter as a warning, the packages as identical."""
    here = sys.version_info
    if (here.major, here.minor) != (3, 11) or here[:3] == (3, 11, 2):
        pytest.skip(f"needs a CPython 3.11 other than Debian's 3.11.2 to run the tests (this is {sys.version})")
    python = make_venv(tmp_path / "venv", "markupsafe==3.0.2", "tomli-w==1.2.0", python=sys.executable)
    lock = tmp_path / "envsnap.lock"
    _envsnap("capture", "--python", str(python), "-o", str(lock))
    version = lockfile.load(lock).python.version
    pinned = tmp_path / "bundle"
    _envsnap("bundle", str(lock), "-o", str(pinned))
    args = ["rebuild", str(lock), "--target", "docker", "--bundle", str(pinned), "--base-image", BASE]
    plan = _envsnap(*args, "--dry-run").stdout
    assert f"interpreter: the lock's CPython {version} is not available on debian 12; using its CPython 3.11.2" in plan
    tag = "envsnap-test/patch:1"
    with _removed(engine, tag):
        done = _envsnap(*args, "--dest", str(tmp_path / "ctx"), "--tag", tag, "--json")
        report = json.loads(done.stdout)["verify"]
        assert report["identical"] is True
        interpreter = [d for d in report["differences"] if d["area"] == "interpreter"]
        assert interpreter and interpreter[0]["severity"] == "warning", report["differences"]
        assert (interpreter[0]["expected"], interpreter[0]["actual"]) == (version, "3.11.2")


def test_missing_wheel_in_bundle_fails_before_building(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "bundle"
    shutil.copytree(bundle, broken, ignore=shutil.ignore_patterns("images"))
    wheel = next((broken / "wheels").glob("tomli_w-*.whl"))
    wheel.unlink()
    from envsnap.artifacts.bundle import Bundle

    Bundle(broken).write_sums()  # a bundle made without it (a listed file that is gone is refused up front)
    tag = "envsnap-test/missing:1"
    done = _envsnap(*_docker_rebuild(captured, broken, tmp_path / "ctx", tag), check=False)
    assert done.returncode == 4, done.stderr
    assert f"{wheel}: missing from the bundle (tomli-w 1.2.0)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "ctx").exists()
    _no_tag(engine, tag)


def test_a_failing_build_or_verification_tags_nothing(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    lock = lockfile.load(bundle / "envsnap.lock")
    # A system package version no mirror has: apt fails; the build stops; nothing is tagged.
    bad_pin = dataclasses.replace(
        lock,
        system=dataclasses.replace(
            lock.system,
            packages=tuple(
                dataclasses.replace(p, version="9.9.9-envsnap") if p.needed_by else p for p in lock.system.packages
            ),
        ),
    )
    # A package whose files are not the locked ones: the build's last step, envsnap verify, fails.
    bad_record = dataclasses.replace(
        lock,
        python=dataclasses.replace(
            lock.python,
            packages=tuple(
                dataclasses.replace(p, record_digest="sha256:" + "0" * 64) if p.name == "tomli-w" else p
                for p in lock.python.packages
            ),
        ),
    )
    for name, changed, expected in [
        ("pin", bad_pin, "pass --apt-snapshot DATE"),
        ("record", bad_record, "tomli-w"),
    ]:
        copy = tmp_path / name
        # Without tool/: envsnap's wheels for the image are fetched on the host this time.
        shutil.copytree(bundle, copy, ignore=shutil.ignore_patterns("images", "tool"))
        lockfile.dump(changed, copy / "envsnap.lock")
        from envsnap.artifacts.bundle import Bundle

        Bundle(copy).write_sums()  # a bundle made of that lock (SHA256SUMS would refuse an edited one first)
        tag = f"envsnap-test/failing-{name}:1"
        # Only images of this lock count (labelled by its digest): other work may share the engine.
        digest = lockfile.load(copy / "envsnap.lock").envsnap.content_digest
        mine = {"dangling": True, "label": f"{LABEL_DIGEST}={digest}"}
        dangling_before = {i.id for i in engine.images.list(filters=mine)}
        done = _envsnap(*_docker_rebuild(copy / "envsnap.lock", copy, tmp_path / f"ctx-{name}", tag), check=False)
        assert done.returncode == 4, done.stderr
        error = done.stderr.strip().splitlines()[-1]
        assert error.startswith("envsnap: error: docker build failed") and "no image was tagged" in error
        assert expected in done.stderr
        _no_tag(engine, tag)
        assert not (tmp_path / f"ctx-{name}").exists()
        # The layers the failed build made are gone too: no new untagged images are left behind.
        assert {i.id for i in engine.images.list(filters=mine)} <= dangling_before


def _bundle_with(bundle: Path, folder: Path, name: str, make_wheel: Callable[[Path], Path]) -> Path:
    """A copy of ``bundle`` (without its saved images) in ``folder`` whose lock also pins ``name`` 1.0, the wheel
    ``make_wheel`` writes into its wheels/ folder; sealed and listed in SHA256SUMS as a bundle's files are."""
    from envsnap.artifacts.bundle import Bundle, sha256_file
    from envsnap.model import Artifact, PythonPackage

    shutil.copytree(bundle, folder, ignore=shutil.ignore_patterns("images"))
    wheel = make_wheel(folder / "wheels")
    lock = lockfile.load(folder / "envsnap.lock")
    extra = PythonPackage(
        name,
        "1.0",
        installer="pip",
        wheel_tags=("py3-none-any",),
        record_digest="sha256:" + "0" * 64,
        artifact=Artifact(wheel.name, wheel.as_uri(), sha256_file(wheel), size=wheel.stat().st_size),
    )
    packages = tuple(sorted((*lock.python.packages, extra), key=lambda p: p.name))
    lockfile.dump(
        dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=packages)), folder / "envsnap.lock"
    )
    Bundle(folder).write_sums()
    return folder


def _slow_start_wheel(folder: Path) -> Path:
    """A wheel whose .pth sleeps at every start of the image's /opt/env interpreter (not on this host), so the
    build's last step (envsnap verify, which runs that interpreter) takes minutes: a build to interrupt."""
    import base64
    import hashlib
    import zipfile

    files = {
        "slowstart.pth": b"import sys, time; time.sleep(300) if sys.prefix == '/opt/env' else None\n",
        "slowstart-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: slowstart\nVersion: 1.0\n",
        "slowstart-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for name, data in files.items()
    )
    path = folder / "slowstart-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr("slowstart-1.0.dist-info/RECORD", record + "slowstart-1.0.dist-info/RECORD,,\n")
    return path


def test_ctrl_c_cancels_the_build_and_removes_what_it_made(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    """SIGINT to a real `envsnap rebuild --target docker` mid-build: exit 130, the daemon's build is cancelled,
    and no container or (intermediate) image carrying the lock's label is left behind."""
    slow = _bundle_with(bundle, tmp_path / "bundle", "slowstart", _slow_start_wheel)
    digest = lockfile.load(slow / "envsnap.lock").envsnap.content_digest
    label = f"org.envsnap.lock.content-digest={digest}"
    tag = "envsnap-test/interrupted:1"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "envsnap",
            "rebuild",
            str(slow / "envsnap.lock"),
            "--target",
            "docker",
            "--bundle",
            str(slow),
            "--base-image",
            BASE,
            "--dest",
            str(tmp_path / "ctx"),
            "--tag",
            tag,
            "--offline",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT; the rebuild must see it as a terminal's Ctrl-C does.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen: list[str] = []
    assert proc.stderr is not None
    try:
        armed = False
        for line in proc.stderr:
            seen.append(line)
            armed = armed or ("Step " in line and "envsnap verify /envsnap.lock" in line)
            if armed and "Running in" in line:
                time.sleep(3)  # the step's container sleeps in the .pth
                proc.send_signal(signal.SIGINT)
                break
        assert armed, "the build never reached its last step: " + "".join(seen[-20:])
        rest = proc.communicate(timeout=120)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, rest
    assert "envsnap: interrupted" in rest and "Traceback" not in rest
    assert not engine.api.containers(all=True, filters={"label": label}), "a build container was left"
    assert not engine.api.images(all=True, filters={"label": label}), "intermediate images were left"
    _no_tag(engine, tag)
    assert not (tmp_path / "ctx").exists()


def _big_wheel(folder: Path, megabytes: int) -> Path:
    """A wheel holding ``megabytes`` of random (incompressible) data: a build context whose ``COPY wheels/`` takes
    a while, so that an interrupt lands in that step."""
    import zipfile

    path = folder / "bigdata-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as wheel:
        wheel.writestr("bigdata/blob.bin", os.urandom(megabytes << 20))
        wheel.writestr("bigdata-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: bigdata\nVersion: 1.0\n")
        wheel.writestr("bigdata-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr("bigdata-1.0.dist-info/RECORD", "")
    return path


def test_an_interrupt_during_a_copy_step_leaves_no_image(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    """SIGINT while the build copies the wheels into a layer: a COPY step runs no container the cancellation
    could kill, so the daemon finishes the copy and commits its image after the client went away. That image
    (here 300 MB of wheels; a CUDA bundle's are gigabytes) carries the lock's label and was left behind: the
    cleanup had already run."""
    big = _bundle_with(bundle, tmp_path / "bundle", "bigdata", lambda wheels: _big_wheel(wheels, 300))
    label = f"{LABEL_DIGEST}={lockfile.load(big / 'envsnap.lock').envsnap.content_digest}"
    tag = "envsnap-test/interrupted-copy:1"
    args = _docker_rebuild(big / "envsnap.lock", big, tmp_path / "ctx", tag, "--offline")
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen: list[str] = []
    assert proc.stderr is not None
    try:
        for line in proc.stderr:
            seen.append(line)
            if re.match(r"Step \d+/\d+ : COPY wheels/", line):
                proc.send_signal(signal.SIGINT)
                break
        else:
            raise AssertionError("the build never reached its COPY of the wheels: " + "".join(seen[-20:]))
        rest = proc.communicate(timeout=300)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, rest
    assert "envsnap: interrupted" in rest and "Traceback" not in rest
    try:
        time.sleep(5)  # the daemon commits a copy it had begun after its client left, if it was still copying
        assert not engine.api.containers(all=True, filters={"label": label}), "a build container was left"
        assert not engine.api.images(all=True, filters={"label": label}), "the COPY step's image was left"
    finally:
        for image in engine.api.images(all=True, filters={"label": label}):
            with contextlib.suppress(Exception):
                engine.api.remove_image(image["Id"], force=True)
    _no_tag(engine, tag)
    assert not (tmp_path / "ctx").exists()


def test_lock_for_another_architecture_and_unknown_os(engine: Any, captured: Path, tmp_path: Path) -> None:
    lock = lockfile.load(captured)
    for name, platform, message in [
        (
            "arm",
            dataclasses.replace(lock.platform, machine="aarch64"),
            "captured on aarch64, but the Docker engine",
        ),
        (
            "os",
            dataclasses.replace(lock.platform, os_id="plan9", os_version="4"),
            "no base image is known for the lock's OS plan9 4",
        ),
    ]:
        path = tmp_path / f"{name}.lock"
        lockfile.dump(dataclasses.replace(lock, platform=platform), path)
        done = _envsnap("rebuild", str(path), "--target", "docker", "--dry-run", check=False)
        if done.returncode == 3:  # the compatibility check, which runs first, refused it already
            assert platform.machine in done.stderr or platform.os_id in done.stderr, done.stderr
        else:
            assert done.returncode == 2 and message in done.stderr, done.stderr  # bad input: --base-image is needed
        assert "Traceback" not in done.stderr


def test_no_engine_points_at_dry_run(captured: Path, bundle: Path, tmp_path: Path) -> None:
    gone = {"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}
    args = ["rebuild", str(captured), "--target", "docker", "--bundle", str(bundle), "--base-image", BASE]
    # The compatibility check, which runs first, finds no engine (exit 3, like `envsnap check`) ...
    done = _envsnap(*args, "--dest", str(tmp_path / "ctx"), env=gone, check=False)
    assert done.returncode == 3, done.stderr
    assert "docker engine" in done.stderr and "--dry-run" in done.stderr and "Traceback" not in done.stderr
    # ... and past it (--force), the docker target itself says so and points at --dry-run (exit 4).
    done = _envsnap(*args, "--dest", str(tmp_path / "ctx"), "--force", env=gone, check=False)
    assert done.returncode == 4, done.stderr
    assert f"no Docker engine is reachable at unix://{tmp_path}/no-such.sock" in done.stderr
    assert "--dry-run" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "ctx").exists()
    # The plan needs no engine: it prints the Dockerfile, with the base the bundle saved pinned by its id, and
    # exits 3 as the check failed (--force: 0) ...
    done = _envsnap(*args, "--dry-run", env=gone, check=False)
    assert done.returncode == 3 and "  check: failed (docker)\n" in done.stdout, done.stderr
    assert _envsnap(*args, "--dry-run", "--force", env=gone).returncode == 0
    saved = json.loads((bundle / "images" / "envsnap-base_bookworm.json").read_text())
    assert f"    | FROM --platform=linux/amd64 {saved['id']} AS system\n" in done.stdout  # the lock's machine
    assert "compatibility check FAILED (a dry run plans anyway)" in done.stdout
    # ... or, from the lock alone, by tag only, with a warning.
    done = _envsnap(
        "rebuild", str(captured), "--target", "docker", "--base-image", BASE, "--dry-run", "--force", env=gone
    )
    assert f"    | FROM --platform=linux/amd64 {BASE} AS system\n" in done.stdout
    assert "pinned by tag only" in done.stdout


# ------------------------------------------------------------------------------- an engine that dies


@pytest.fixture
def second_engine(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Any]]:
    """A private dockerd (own socket and data root), started and killed by the test."""
    root = tmp_path_factory.mktemp("dockerd2")
    sock = f"unix://{root}/docker.sock"
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> Any:
        (root / "dockerd.pid").unlink(missing_ok=True)  # left behind by the engine the test killed
        with open(root / "dockerd.log", "ab") as log:
            proc = subprocess.Popen(
                [
                    "dockerd",
                    "--host",
                    sock,
                    "--data-root",
                    str(root / "data"),
                    "--exec-root",
                    str(root / f"exec{len(procs)}"),
                    "--pidfile",
                    str(root / "dockerd.pid"),
                    "--iptables=false",
                    "--ip-masq=false",
                    "--bridge=none",
                ],
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        procs.append(proc)
        for _ in range(120):
            try:
                client = docker.DockerClient(base_url=sock, timeout=60)
                client.ping()
                return client
            except Exception:
                time.sleep(0.5)
        pytest.fail(f"a second dockerd did not start: {(root / 'dockerd.log').read_text()[-1000:]}")

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    subprocess.run(["umount", "-R", str(root / "data")], capture_output=True, check=False)
    shutil.rmtree(root, ignore_errors=True)


def test_engine_dying_mid_build(second_engine: Callable[[], Any], captured: Path, bundle: Path, tmp_path: Path) -> None:
    client = second_engine()
    tag = "envsnap-test/dying:1"
    request = _request(bundle, tmp_path / "ctx", tag=tag, base_image=BASE)
    rebuilder = DockerRebuilder(connect=lambda: client)
    plan = rebuilder.plan(request)
    killed: list[int] = []

    def progress(line: str) -> None:
        # The bundle's saved base image was loaded into this empty engine; kill it as apt starts.
        if line.startswith("Step ") and "apt-get update" in line and not killed:
            dockerd_pid = _pid_of_engine(client)
            os.killpg(dockerd_pid, signal.SIGKILL)  # dockerd and its containerd, as when a host loses them
            killed.append(dockerd_pid)

    with pytest.raises(RebuildError, match=r"stopped answering during the build.*no image was tagged"):
        rebuilder.execute(plan, request, progress)
    assert killed, "the build never reached its apt step"
    assert not (tmp_path / "ctx").exists()
    restarted = second_engine()
    _no_tag(restarted, tag)


def _request(bundle: Path, dest: Path, offline: bool = False, **options: str) -> RebuildRequest:
    """A docker rebuild of the bundle's lock into the build context ``dest``, as the command line makes one."""
    return RebuildRequest(
        lock=lockfile.load(bundle / "envsnap.lock"),
        lock_path=bundle / "envsnap.lock",
        dest=dest,
        target="docker",
        bundle_dir=bundle,
        offline=offline,
        options=options,
    )


def _pid_of_engine(client: Any) -> int:
    """The pid of the private dockerd, from the pidfile beside its data root."""
    return int(Path(client.info()["DockerRootDir"]).parent.joinpath("dockerd.pid").read_text().strip())


def _epoch(created: str) -> int:
    import datetime as dt

    return int(dt.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())


class _removed:
    """Remove a tag before and after a test, so a previous run cannot make it pass."""

    def __init__(self, client: Any, tag: str):
        self.client, self.tag = client, tag

    def __enter__(self) -> None:
        self._remove()

    def __exit__(self, *exc: object) -> None:
        self._remove()

    def _remove(self) -> None:
        with contextlib.suppress(docker.errors.ImageNotFound):
            self.client.images.remove(self.tag, force=True)


def test_an_interrupt_while_the_image_is_verified_leaves_the_earlier_context_and_tags_nothing(
    engine: Any, bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build context was moved into place as soon as the build ended, before the image was verified and
    tagged: a Ctrl-C or a mismatch then left a new context at --dest (or replaced an earlier, good one)."""
    from envsnap.rebuild import _docker_engine

    tag = "envsnap-test/verify-interrupted:1"
    earlier = tmp_path / "ctx"
    earlier.mkdir()
    earlier_text = "# Generated by envsnap 0.1.0 from a lock with content digest sha256:00.\nFROM scratch\n"
    (earlier / "Dockerfile").write_text(earlier_text)  # an earlier build context, as --dest accepts one
    request = _request(bundle, earlier, tag=tag, base_image=BASE)
    rebuilder = DockerRebuilder(connect=lambda: engine)
    plan = rebuilder.plan(request)
    built: list[str] = []

    def interrupted(client: Any, image_id: str, say: Any, given: bytes = b"") -> Any:
        built.append(image_id)
        raise KeyboardInterrupt

    monkeypatch.setattr(_docker_engine, "verify_image", interrupted)
    with _removed(engine, tag), pytest.raises(KeyboardInterrupt):
        rebuilder.execute(plan, request)
    assert built, "the build did not get as far as its verification"
    assert sorted(p.name for p in earlier.iterdir()) == ["Dockerfile"]
    assert (earlier / "Dockerfile").read_text() == earlier_text
    assert not list(tmp_path.glob(".ctx.*")) and not list(tmp_path.glob(".envsnap-*"))  # no half-made context
    _no_tag(engine, tag)


def test_a_dest_that_became_foreign_during_the_build_leaves_no_image_tagged(
    engine: Any, bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--dest is checked again before the new context replaces it; that check came after the tag, so a file added
    to --dest while the image built (a user's notes beside an earlier context) ended the rebuild with exit 2 and
    the image still tagged, where docs/rebuild-docker.md promises none is on any failure."""
    from envsnap.rebuild import _docker_engine

    tag = "envsnap-test/dest-changed:1"
    earlier = tmp_path / "ctx"
    earlier.mkdir()
    (earlier / "Dockerfile").write_text("# Generated by envsnap 0.1.0 from a lock with content digest sha256:00.\n")
    request = _request(bundle, earlier, tag=tag, base_image=BASE)
    rebuilder = DockerRebuilder(connect=lambda: engine)
    plan = rebuilder.plan(request)
    real = _docker_engine.verify_image

    def verify_while_the_user_writes(client: Any, image_id: str, say: Any, given: bytes = b"") -> Any:
        (earlier / "notes.txt").write_text("mine\n")
        return real(client, image_id, say, given)

    monkeypatch.setattr(_docker_engine, "verify_image", verify_while_the_user_writes)
    with _removed(engine, tag):
        with pytest.raises(RebuildError, match=r"notes\.txt"):
            rebuilder.execute(plan, request)
        _no_tag(engine, tag)  # before _removed takes any tag away
    assert (earlier / "notes.txt").read_text() == "mine\n"


def test_an_offline_plan_says_what_still_comes_over_the_network_and_refuses_a_base_it_would_pull(
    engine: Any, bundle: Path, tmp_path: Path
) -> None:
    """The plan said "offline: yes (no network; everything from the bundle)" while its build installed the
    interpreter from the apt mirror; and a base image the engine did not have was pulled from Docker Hub."""
    from envsnap.rebuild.interface import BadOptionError

    rebuilder = DockerRebuilder(connect=lambda: engine)
    plan = rebuilder.plan(_request(bundle, tmp_path / "ctx", offline=True, base_image=BASE))
    assert not (bundle / "debs").exists()
    # The base has no Python: pin and bundle carry the interpreter's packages only when they name it.
    lock, folder = shlex.quote(str(bundle / "envsnap.lock")), shlex.quote(str(bundle))  # the paths given
    # The bundle's own lock is pinned beside it (pin refuses to rewrite it), and the bundle made from that.
    pinned = shlex.quote(f"{bundle}.pinned.lock")
    assert plan.network.endswith(
        f"as the bundle holds no .deb files for them (`envsnap pin {lock} -o {pinned} --base-image {BASE} && envsnap "
        f"bundle {pinned} -o {folder} --with-system-packages --base-image {BASE}` adds them)"
    ), plan.network
    assert "  offline: yes, but for " in plan.describe() and "everything from the bundle" not in plan.describe()
    with pytest.raises(BadOptionError, match=r"--offline: the base image envsnap-test/not-here:1 is neither in the"):
        rebuilder.plan(_request(bundle, tmp_path / "ctx", offline=True, base_image="envsnap-test/not-here:1"))


def test_an_offline_build_says_what_still_comes_over_the_network_before_it_builds(
    engine: Any, bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only ``--dry-run``'s plan said it: ``rebuild --offline`` itself installed the interpreter from the apt mirror
    over the build's network and said nothing (REPRODUCING.md's "everything below works offline" read true)."""
    from envsnap.rebuild import _docker_engine

    def stop(*_args: Any, **_kwargs: Any) -> str:
        raise RebuildError("stopped before the build")

    monkeypatch.setattr(_docker_engine, "build", stop)
    rebuilder = DockerRebuilder(connect=lambda: engine)
    request = _request(bundle, tmp_path / "ctx", offline=True, base_image=BASE)
    plan = rebuilder.plan(request)
    said: list[str] = []
    with pytest.raises(RebuildError, match="stopped before the build"):
        rebuilder.execute(plan, request, said.append)
    [line] = [s for s in said if s.startswith("offline:")]
    assert line == f"offline: yes, but for {plan.network}"
    assert re.fullmatch(
        r"offline: yes, but for \d+ system packages from the apt mirror \(the build's network: \w+\).*", line
    )
    assert not (tmp_path / "ctx").exists()


def test_a_bundle_with_a_saved_base_is_rebuilt_on_it_when_no_base_is_named(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    """The bundle saved envsnap-base:bookworm (--with-base-image --base-image); rebuilt without --base-image, the
    target chose python:3.11-slim from the lock and --offline refused it as neither in the engine nor saved: the
    bundle's README command failed."""
    done = _envsnap(
        "rebuild",
        str(bundle / "envsnap.lock"),
        "--target",
        "docker",
        "--bundle",
        str(bundle),
        "--offline",
        "--dest",
        str(tmp_path / "ctx"),
        "--dry-run",
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert BASE in done.stdout and "neither in the Docker engine" not in done.stderr


def test_an_offline_base_neither_in_the_engine_nor_the_bundle_is_refused_with_a_command_to_paste(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    """--offline with a --base-image the engine and the bundle lack said to bundle it "with `envsnap bundle
    --with-base-image`", no lock, no -o, no base: that command bundles nothing (it exits 2) and, given the rest,
    would save the lock's own base, not the one named. It names the whole command, each path one shell word."""
    odd = tmp_path / "my bundle"
    shutil.copytree(bundle, odd)
    missing = "envsnap-test-no-such-base:never"
    done = _envsnap(
        "rebuild",
        str(odd / "envsnap.lock"),
        "--target",
        "docker",
        "--bundle",
        str(odd),
        "--offline",
        "--base-image",
        missing,
        "--dest",
        str(tmp_path / "ctx"),
        "--dry-run",
        check=False,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    command = (
        f"envsnap bundle {shlex.quote(str(odd / 'envsnap.lock'))} -o {shlex.quote(str(odd))} --with-base-image "
        f"--base-image {missing}"
    )
    assert f"`{command}`" in done.stderr, done.stderr
    assert not (tmp_path / "ctx").exists()


def test_the_plan_says_which_apt_packages_are_pinned_and_which_take_the_mirrors_revision(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    """On a base without Python the interpreter comes from apt as ``python3.11=3.11.2-*``, the mirror's newest
    revision of that release (the notes say verify reports it): the plan's step said "apt-get install 2 pinned
    packages", pinned to the lock, which they are not."""
    done = _envsnap(
        "rebuild",
        str(bundle / "envsnap.lock"),
        "--target",
        "docker",
        "--bundle",
        str(bundle),
        "--dest",
        str(tmp_path / "ctx"),
        "--dry-run",
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [step] = [line for line in done.stdout.splitlines() if "apt-get install" in line and ". apt-get" in line]
    assert "pinned packages" not in step, step
    assert re.search(
        r"apt-get install \d+ packages: (\d+ pinned to the lock's version, )?2 at the mirror's newest revision of "
        r"the upstream release the lock names \(python3\.11, python3\.11-venv\)$",
        step,
    ), step


def test_a_base_taken_from_the_bundle_is_not_said_to_be_named_with_base_image(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    """Rebuilt with no --base-image from a bundle that saved its base, the plan, the Dockerfile's header and the
    JSON said the base was "chosen by --base-image" and "--base-image NAME: assumed to run debian 12", an option
    the user never gave; they name the bundle's saved image."""
    args = ["rebuild", str(bundle / "envsnap.lock"), "--target", "docker", "--bundle", str(bundle), "--offline"]
    plan = json.loads(_envsnap(*args, "--dest", str(tmp_path / "ctx"), "--dry-run", "--json").stdout)
    dockerfile = plan["details"]["Dockerfile"]
    assert f"# Base: {BASE} (chosen by bundle;" in dockerfile, dockerfile[:800]
    assert plan["items"][0]["origin"] == "bundle"
    assert f"the bundle's saved base image {BASE}: assumed to run debian 12, like the lock" in plan["notes"]
    assert not any(note.startswith("--base-image") for note in plan["notes"]), plan["notes"]
    # The commands that carry the interpreter's .deb files still name that base, which pin and bundle need.
    assert f"--with-system-packages --base-image {BASE}" in " ".join(plan["notes"])
    # Named with --base-image, it is still said so.
    named = json.loads(_envsnap(*args, "--base-image", BASE, "--dry-run", "--json").stdout)
    assert f"# Base: {BASE} (chosen by --base-image;" in named["details"]["Dockerfile"]
    assert f"--base-image {BASE}: assumed to run debian 12, like the lock" in named["notes"]


def test_an_archive_bundle_with_its_base_image_is_rebuilt_offline_after_the_engine_dropped_it(
    engine: Any, captured: Path, tmp_path: Path
) -> None:
    """``bundle --with-base-image -o b.tar.gz`` was refused, exit 2, "needs a directory bundle", with no reason: the
    archive holds ``images/`` and ``tool/`` as the folder does, put in its folder before it is archived, and
    ``rebuild --offline --bundle b.tar.gz`` builds on its saved base once the engine no longer has that image. The
    base is a copy of the shared one, labelled by this test (``LABEL``) and removed by that label, with the image
    built on it (which inherits the label)."""
    import io
    import tarfile
    import uuid

    mark = f"archive-base-{uuid.uuid4().hex[:12]}"
    base, tag = f"envsnap-test/archive-base:{mark}", f"envsnap-test/archive-rebuilt:{mark}"
    dockerfile = f"FROM {BASE}\nLABEL {LABEL}={mark}\n".encode()
    try:
        engine.images.build(fileobj=io.BytesIO(dockerfile), rm=True, tag=base)
        archive = tmp_path / "b.tar.gz"
        done = _envsnap("bundle", str(captured), "-o", str(archive), "--with-base-image", "--base-image", base)
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith(f"wrote {archive}: ") and "the base image" in last, done.stderr
        with tarfile.open(archive) as tar:
            names = tar.getnames()
            sums = tar.extractfile("b/SHA256SUMS")
            assert sums is not None
            listed = sums.read().decode()
        saved = [n for n in names if n.startswith("b/images/") and n.endswith(".tar")]
        assert len(saved) == 1 and "b/tool/requirements.txt" in names, names
        assert saved[0].removeprefix("b/") in listed and "tool/requirements.txt" in listed
        engine.images.remove(base, force=True)  # only the archive's copy is left
        _no_tag(engine, base)
        args = _docker_rebuild(captured, archive, tmp_path / "ctx", tag, "--offline", "--json")
        result = json.loads(_envsnap(*[base if a == BASE else a for a in args]).stdout)
        assert result["dest"] == tag and result["verify"]["identical"] is True, result
        assert result["details"]["base_image"] == base
    finally:
        made = engine.images.list(filters={"label": f"{LABEL}={mark}"}, all=True)
        for image in sorted(made, key=lambda i: -len(i.attrs.get("RootFS", {}).get("Layers", []))):
            with contextlib.suppress(docker.errors.APIError):
                engine.images.remove(image.id, force=True)


def test_a_wheel_the_bundle_built_is_installed_in_the_image_by_its_file(
    engine: Any, make_venv: Callable[..., Path], tmp_path: Path
) -> None:
    """``rebuild --target docker --bundle B`` installed the wheel the bundle built from a local project by its name
    from the image's wheel folder, which leaves no direct_url.json: a capture inside the image named the index, diff
    called it unknown and verify "not known to be built from it". The image installs it by its file, as the venv
    target does, and verify inside calls it the bundle's wheel. That file's folder is the installer stage's, in no
    layer of the image: its direct_url.json named ``file:///opt/envsnap-wheelhouse/F.whl``, which a capture inside
    recorded as the project's source, a file no one can read, and bundle of that capture failed (exit 4). The image
    names the wheel as a venv rebuilt from a bundle archive does (``envsnap_bundle.json``: its file name and
    sha256), and bundle of a capture there takes it from the bundle's wheels folder given as find-links."""
    if not Path(DEBIAN_PYTHON).exists():
        pytest.skip(f"{DEBIAN_PYTHON} (Debian's python3.11) is not installed on this host")
    project = tmp_path / "src" / "esnptdelta"
    (project / "esnptdelta").mkdir(parents=True)
    (project / "esnptdelta" / "__init__.py").write_text("NAME = 'delta'\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "esnptdelta"\nversion = "1.0"\n'
    )
    python = make_venv(tmp_path / "venv", str(project), python=DEBIAN_PYTHON)
    lock, bundle = tmp_path / "envsnap.lock", tmp_path / "B"
    _envsnap("capture", "--python", str(python), "-o", str(lock))
    _envsnap("bundle", str(lock), "-o", str(bundle), "--with-base-image", "--base-image", BASE)
    bundled = lockfile.load(bundle / "envsnap.lock").package("esnptdelta")
    assert bundled is not None and bundled.artifact is not None and bundled.artifact.rebuilt
    wheel, sha256 = bundled.artifact.filename, bundled.artifact.sha256
    tag = "envsnap-test/built-by-file:1"
    with _removed(engine, tag):
        _envsnap(*_docker_rebuild(bundle / "envsnap.lock", bundle, tmp_path / "ctx", tag, "--offline"))
        line = f"esnptdelta @ file:///opt/envsnap-wheelhouse/{wheel}#sha256={sha256} --hash=sha256:{sha256}"
        assert line in (tmp_path / "ctx" / "requirements.txt").read_text().splitlines()
        text = _run(engine, tag, "envsnap", "capture", "--python", "/opt/env/bin/python", "-o", "-")
        (tmp_path / "inside.lock").write_text(text)
        links = {"PIP_CONFIG_FILE": "/dev/null", "PIP_FIND_LINKS": str(bundle / "wheels")}
        done = _envsnap("bundle", str(tmp_path / "inside.lock"), "-o", str(tmp_path / "again"), "--offline", env=links)
        again = lockfile.load(tmp_path / "again" / "envsnap.lock").package("esnptdelta")
        assert again is not None and again.artifact is not None and again.artifact.sha256 == sha256, done.stderr
        captured = lockfile.loads(text, check_digest=False).package("esnptdelta")
        assert captured is not None and captured.artifact is not None, captured
        assert "envsnap-wheelhouse" not in captured.source.url, captured.source
        assert (captured.artifact.filename, captured.artifact.sha256) == (wheel, sha256)
        assert captured.artifact.rebuilt and not captured.artifact.url and captured.source.kind == "index"
        verified = _run(engine, tag, "envsnap", "verify", "/envsnap.lock")
        assert (
            f"installed from the bundle's wheel {wheel} built from the locked source (envsnap_bundle.json" in verified
        )


def test_the_bundles_wheel_a_reviewers_capture_records_is_named_in_the_image_for_a_capture_there(
    engine: Any, make_venv: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reviewer's capture of a venv rebuilt from a bundle archive with no project there records the project's
    wheel as the bundle's (``rebuilt``, no URL, an index install); the bundle of that lock rebuilt as an image
    installed the wheel by name from the image's wheel folder, which leaves no direct_url.json, and wrote no
    ``envsnap_bundle.json``: a capture inside the image recorded an index install with no file, which no index
    has. The image names that wheel as the venv target does, and a capture there records it again."""
    if not Path(DEBIAN_PYTHON).exists():
        pytest.skip(f"{DEBIAN_PYTHON} (Debian's python3.11) is not installed on this host")
    project = tmp_path / "paper"
    (project / "esnptepsilon").mkdir(parents=True)
    (project / "esnptepsilon" / "__init__.py").write_text("NAME = 'epsilon'\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "esnptepsilon"\nversion = "1.0"\n'
    )
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    python = make_venv(tmp_path / "venv", str(project), python=DEBIAN_PYTHON)
    monkeypatch.chdir(project)
    _envsnap("capture", "--python", str(python), "-o", str(tmp_path / "envsnap.lock"))
    _envsnap("bundle", str(tmp_path / "envsnap.lock"), "-o", str(tmp_path / "supplement.tar.gz"))
    reviewer = tmp_path / "reviewer"
    reviewer.mkdir()
    monkeypatch.chdir(reviewer)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("UV_FIND_LINKS", raising=False)
    _envsnap("rebuild", str(tmp_path / "supplement.tar.gz"), "--offline", "--dest", "env")
    _envsnap("capture", "--python", str(reviewer / "env" / "bin" / "python"), "-o", "R.lock")
    named = lockfile.load(reviewer / "R.lock").package("esnptepsilon")
    assert named is not None and named.artifact is not None and named.artifact.rebuilt and not named.artifact.url
    with tarfile.open(tmp_path / "supplement.tar.gz") as tar:
        tar.extractall(reviewer, filter="data")
    links = {"PIP_FIND_LINKS": str(reviewer / "supplement" / "wheels")}
    _envsnap("bundle", "R.lock", "-o", "again", "--with-base-image", "--base-image", BASE, env=links)
    tag = "envsnap-test/bundle-wheel-named:1"
    with _removed(engine, tag):
        _envsnap(
            *_docker_rebuild(
                reviewer / "again" / "envsnap.lock", reviewer / "again", reviewer / "ctx", tag, "--offline"
            )
        )
        inside = lockfile.loads(
            _run(engine, tag, "envsnap", "capture", "--python", "/opt/env/bin/python", "-o", "-"), check_digest=False
        )
        captured = inside.package("esnptepsilon")
        assert captured is not None and captured.artifact is not None, captured
        assert (captured.artifact.filename, captured.artifact.sha256) == (
            named.artifact.filename,
            named.artifact.sha256,
        )
        assert captured.artifact.rebuilt and not captured.artifact.url and captured.source.kind == "index"
        assert captured.record_digest == named.record_digest


def test_a_rebuild_to_a_taken_tag_removes_the_image_envsnap_built_there_before(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    """Each rebuild to the same --tag left the image it took the tag from untagged (267 MB a time), which nothing
    removed. The one envsnap built is removed once the tag is taken; an image of the user's there (here one built
    FROM envsnap's, carrying its labels by inheritance) stays, untagged, as the engine leaves it."""
    tag = "envsnap-test/dockerfix-retag:1"
    mine = f"{LABEL}=dockerfix-retag"
    try:
        with _removed(engine, tag):
            _envsnap(*_docker_rebuild(captured, bundle, tmp_path / "ctx", tag, "--offline"))
            first = engine.images.get(tag).id
            done = _envsnap(*_docker_rebuild(captured, bundle, tmp_path / "ctx", tag, "--offline"))
            second = engine.images.get(tag).id
            assert second != first, "the second build made the same image: nothing was replaced"
            with pytest.raises(docker.errors.ImageNotFound):
                engine.images.get(first)
            assert f"removed {first}" in done.stderr, done.stderr[-2000:]
            # A user's image at the tag, built on envsnap's and so carrying its labels: not envsnap's to remove.
            (tmp_path / "user").mkdir()
            (tmp_path / "user" / "Dockerfile").write_text(f"FROM {second}\nLABEL {mine}\nRUN true\n")
            users, _ = engine.images.build(path=str(tmp_path / "user"), tag=tag, rm=True, network_mode="none")
            assert users.labels[LABEL_DIGEST]
            _envsnap(*_docker_rebuild(captured, bundle, tmp_path / "ctx", tag, "--offline"))
            assert engine.images.get(users.id).tags == []
    finally:
        for image in engine.images.list(filters={"label": mine}):
            with contextlib.suppress(Exception):
                engine.images.remove(image.id, force=True)


def test_clean_images_lists_and_removes_the_untagged_images_envsnap_built(
    engine: Any,
    captured: Path,
    bundle: Path,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An image envsnap built that lost its tag (moved to an image of the user's, or kept by a container when its
    rebuild ran) was neither reported nor removed by ``envsnap clean``: only ``docker image prune`` took it, with
    every other untagged image."""
    import tempfile

    from envsnap.rebuild import _docker_engine

    tag = "envsnap-test/dockerfix-clean:1"
    mine = f"{LABEL}=dockerfix-clean"
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "Dockerfile").write_text(f"FROM {BASE}\nLABEL {mine}\n")
    try:
        with _removed(engine, tag):
            _envsnap(*_docker_rebuild(captured, bundle, tmp_path / "ctx", tag, "--offline"))
            built = engine.images.get(tag).id
            users, _ = engine.images.build(
                path=str(tmp_path / "user"), tag=tag, rm=True, network_mode="none"
            )  # takes the tag
            listed = json.loads(_envsnap("clean", str(tmp_path), "--images", "--dry-run", "--json").stdout)
            size = engine.images.get(built).attrs["Size"]
            assert {"id": built, "size": size, "kept": "", "built_by_envsnap": True} in listed["images"]
            assert users.id not in [i["id"] for i in listed["images"]]
            engine.images.get(built)  # --dry-run removed nothing
            # Removed: only this test's lock's images are looked for, so that no other run's is touched.
            digest = lockfile.load(bundle / "envsnap.lock").envsnap.content_digest
            only_mine = functools.partial(_docker_engine.dangling_images, label=f"{LABEL_DIGEST}={digest}")
            monkeypatch.setattr(_docker_engine, "dangling_images", lambda client: only_mine(client))
            monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
            done = cli("clean", str(tmp_path), "--images")
            assert done.code == 0 and f"removed image {built} (" in done.err, done.err
            with pytest.raises(docker.errors.ImageNotFound):
                engine.images.get(built)
            assert engine.images.get(tag).id == users.id
    finally:
        for image in engine.images.list(filters={"label": mine}):
            with contextlib.suppress(Exception):
                engine.images.remove(image.id, force=True)


def test_the_commands_the_context_readme_gives_build_the_image_and_leave_no_stage_behind(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path
) -> None:
    """tool/README.md gave no command to build the context by hand, and a hand ``docker build`` (the classic
    builder) left the installer stage, uv and a copy of every wheel, as an untagged image nothing named. Its lines
    are run here as written, ``BUNDLE`` filled in: the last, scoped to this lock, removes the stage. ``envsnap clean
    --images`` does not: no rebuild recorded building it (a hand build's labels are any Dockerfile's)."""
    from envsnap.rebuild import _docker_engine

    tag = "envsnap-test/dockerfix-by-hand:1"
    ctx = tmp_path / "ctx"
    digest = lockfile.load(bundle / "envsnap.lock").envsnap.content_digest
    mine = f"{LABEL_DIGEST}={digest}"
    try:
        with _removed(engine, tag):
            _envsnap(*_docker_rebuild(captured, bundle, ctx, tag, "--offline"))
            readme = (ctx / "tool" / "README.md").read_text()
            lines = readme.split("\n\n    ", 1)[1].split("\n\n", 1)[0].split("\n    ")
            prune = re.search(r"`(docker image prune [^`]+)`", readme)
            assert prune is not None and digest in prune.group(1)
            assert lines[-1] == prune.group(1), lines
            script = "\n".join(lines).replace("BUNDLE", shlex.quote(str(bundle)))
            done = subprocess.run(["sh", "-ec", script], cwd=ctx, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, done.stderr[-3000:]
            assert engine.images.get(tag).labels[LABEL_DIGEST] == digest
            # The installer stage alone carries its stage label (an image made FROM the rebuilt one does not).
            stage = {"label": [mine, f"{LABEL_STAGE}={INSTALLER_STAGE}"], "dangling": True}
            assert not engine.images.list(filters=stage)
            # What else of this lock is untagged (the rebuild's image, whose tag the hand build took) is a final
            # image envsnap built, which `envsnap clean --images` removes, as the README says.
            for image in engine.images.list(filters={"label": mine, "dangling": True}):
                assert _docker_engine.built_by_envsnap(engine, image.id), image.id
                assert LABEL_STAGE not in image.labels, image.id
            engine.images.get(tag)
    finally:
        for image in engine.images.list(filters={"label": mine, "dangling": True}):
            with contextlib.suppress(Exception):
                engine.images.remove(image.id)


def test_the_context_readme_loads_the_bundles_saved_base_for_an_engine_without_it(
    engine: Any, captured: Path, tmp_path: Path
) -> None:
    """The Dockerfile of a rebuild from a bundle's saved base names that base by its id, which no registry serves:
    tool/README.md's commands, run where the engine lacks the base (the bundle's machine, the point of
    --with-base-image), failed at FROM, and no line said to load the bundle's archive. Its first line loads it.
    Every image here carries this test's label (the base is a labelled copy of the shared one) and is removed."""
    import io
    import uuid

    mark = f"saved-base-{uuid.uuid4().hex[:12]}"
    base, tag = f"envsnap-test/saved-base-{mark}:1", f"envsnap-test/by-hand-{mark}:1"

    def remove_mine() -> None:
        made = engine.images.list(filters={"label": f"{LABEL}={mark}"}, all=True)
        for image in sorted(made, key=lambda i: -len(i.attrs.get("RootFS", {}).get("Layers", []))):
            with contextlib.suppress(Exception):
                engine.images.remove(image.id, force=True)

    try:
        engine.images.build(fileobj=io.BytesIO(f"FROM {BASE}\nLABEL {LABEL}={mark}\n".encode()), rm=True, tag=base)
        bundle, ctx = tmp_path / "bundle", tmp_path / "ctx"
        _envsnap("bundle", str(captured), "-o", str(bundle), "--with-base-image", "--base-image", base)
        rebuild = ["rebuild", str(captured), "--target", "docker", "--bundle", str(bundle), "--offline"]
        _envsnap(*rebuild, "--dest", str(ctx), "--tag", tag)  # on the bundle's saved base, none named
        readme = (ctx / "tool" / "README.md").read_text()
        lines = readme.split("\n\n    ", 1)[1].split("\n\n", 1)[0].split("\n    ")
        saved = [p.name for p in (bundle / "images").glob("*.tar")]
        assert f"docker load -i BUNDLE/images/{saved[0]}" in [line.strip() for line in lines], lines
        remove_mine()  # the engine of the bundle's machine: without the base (and the image rebuilt on it)
        _no_tag(engine, base)
        script = "\n".join(lines[:-1]).replace("BUNDLE", shlex.quote(str(bundle)))
        done = subprocess.run(["sh", "-ec", script], cwd=ctx, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        engine.images.get(tag)
    finally:
        remove_mine()


def test_a_rebuild_to_a_taken_tag_that_fails_after_tagging_gives_the_tag_back(
    engine: Any, bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild whose move of the build context failed after the tag moved to its image removed that image with
    force: the tag went with it, and the image the tag named before was left untagged. The tag is back on it."""
    from envsnap.rebuild import _docker_engine

    tag = "envsnap-test/dockertag-failed-move:1"
    context = tmp_path / "ctx"
    first = ""
    try:
        with _removed(engine, tag):
            _envsnap(*_docker_rebuild(bundle / "envsnap.lock", bundle, context, tag, "--offline"))
            first = engine.images.get(tag).id
            request = _request(bundle, context, offline=True, tag=tag, base_image=BASE)
            rebuilder = DockerRebuilder(connect=lambda: engine)
            plan = rebuilder.plan(request)
            real = _docker_engine.verify_image
            built: list[str] = []

            def verify_while_the_user_writes(client: Any, image_id: str, say: Any, given: bytes = b"") -> Any:
                built.append(image_id)
                (context / "notes.txt").write_text("mine\n")  # the move into --dest fails, after the tag
                return real(client, image_id, say, given)

            monkeypatch.setattr(_docker_engine, "verify_image", verify_while_the_user_writes)
            with pytest.raises(RebuildError, match=r"notes\.txt"):
                rebuilder.execute(plan, request)
            assert built and built[0] != first, "the second build made the same image: no tag moved"
            assert engine.images.get(tag).id == first
            assert engine.images.get(first).tags == [tag]
            with pytest.raises(docker.errors.ImageNotFound):
                engine.images.get(built[0])
    finally:
        if first:  # left untagged where the tag went away with the new image
            with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
                engine.images.remove(first)


def test_clean_images_leaves_a_running_rebuilds_image_and_removes_it_once_the_rebuild_ended(
    engine: Any,
    bundle: Path,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rebuild's new image is untagged until it is verified: ``envsnap clean --images`` run meanwhile removed it,
    and the rebuild failed (the docs only asked to run it while no docker rebuild runs). It is kept, said so, while
    a rebuild of its lock runs, and removed by a clean after, once nothing tags it."""
    import tempfile

    from envsnap.rebuild import _docker_engine

    tag = "envsnap-test/dockertag-held:1"
    mine = f"{LABEL}=dockertag-held"
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "Dockerfile").write_text(f"FROM {BASE}\nLABEL {mine}\n")
    # Only this test's lock's images are looked for, so that no other run's is touched.
    digest = lockfile.load(bundle / "envsnap.lock").envsnap.content_digest
    only_mine = functools.partial(_docker_engine.dangling_images, label=f"{LABEL_DIGEST}={digest}")
    monkeypatch.setattr(_docker_engine, "dangling_images", lambda client: only_mine(client))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    request = _request(bundle, tmp_path / "ctx", offline=True, tag=tag, base_image=BASE)
    rebuilder = DockerRebuilder(connect=lambda: engine)
    plan = rebuilder.plan(request)
    real = _docker_engine.verify_image
    during: list[tuple[str, Any]] = []

    def verify_after_a_clean(client: Any, image_id: str, say: Any, given: bytes = b"") -> Any:
        during.append((image_id, cli("clean", str(tmp_path), "--images", "--json")))
        return real(client, image_id, say, given)

    monkeypatch.setattr(_docker_engine, "verify_image", verify_after_a_clean)
    try:
        with _removed(engine, tag):
            rebuilder.execute(plan, request)
            (built, cleaned), *_ = during
            assert cleaned.code == 0, cleaned.err
            kept = {i["id"]: i["kept"] for i in json.loads(cleaned.out)["images"]}
            assert "a docker rebuild of its lock is running" in kept[built], kept
            assert engine.images.get(tag).id == built
            engine.images.build(path=str(tmp_path / "user"), tag=tag, rm=True)  # takes the tag: built is untagged
            done = cli("clean", str(tmp_path), "--images")
            assert done.code == 0 and f"removed image {built} (" in done.err, done.err
            with pytest.raises(docker.errors.ImageNotFound):
                engine.images.get(built)
    finally:
        for image in engine.images.list(filters={"label": mine}):
            with contextlib.suppress(Exception):
                engine.images.remove(image.id, force=True)


def _instructions(stage: str, word: str) -> list[str]:
    """The ``word`` instructions of one stage of a Dockerfile, each with its continuation lines."""
    found: list[str] = []
    going_on = False
    for line in stage.splitlines():
        if going_on:
            found[-1] += f"\n{line}"
        elif line.startswith(f"{word} "):
            found.append(line)
        else:
            continue
        going_on = line.endswith("\\")
    return found


def test_the_context_readmes_prune_line_removes_the_installer_stage_and_not_an_image_made_from_the_rebuilt_one(
    engine: Any, tmp_path: Path
) -> None:
    """tool/README.md's line for a machine without envsnap, ``docker image prune -f --filter label=<the lock's
    digest label>``, removed every untagged image carrying that label: an image of the user's built FROM envsnap's
    carries it too (labels are inherited), while the same page says ``clean --images`` never removes one of yours.
    The stages' labels are taken from the exported Dockerfile, each built on the base with LABEL steps alone: the
    line removes the installer stage the classic builder leaves, and leaves the user's untagged image."""
    import secrets

    from docker_locks import cpu_lock

    from envsnap import export

    lock = cpu_lock()
    # A digest of this run's own, so that the prune line (filtered on it) can touch no other run's images.
    lock = dataclasses.replace(
        lock, envsnap=dataclasses.replace(lock.envsnap, content_digest=f"sha256:{secrets.token_hex(32)}")
    )
    files = export.get("dockerfile").render(lock)
    stages = files["Dockerfile"].decode().split("\nFROM ")
    system = next(s for s in stages if s.split("\n", 1)[0].endswith(" AS system"))
    installer = next(s for s in stages if s.startswith("system AS installer"))
    mark = f"dockerfix-prune-{secrets.token_hex(4)}"
    tag = f"envsnap-test/{mark}:1"
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text(
        "\n".join(
            [
                *(f"FROM {BASE} AS system", f"LABEL {LABEL}={mark}", *_instructions(system, "LABEL")),
                # The stage's COPY and RUN steps stand as one more label: an image apart from the system stage.
                *("FROM system AS installer", f"LABEL {LABEL}.stage=installer", *_instructions(installer, "LABEL")),
                *("FROM system", ""),
            ]
        )
    )
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "Dockerfile").write_text(f"FROM {tag}\nLABEL {LABEL}.user={mark}\n")
    try:
        with _removed(engine, tag):
            engine.images.build(path=str(tmp_path / "ctx"), tag=tag, rm=True, network_mode="none")
            stage, _ = engine.images.build(path=str(tmp_path / "ctx"), target="installer", rm=True, network_mode="none")
            users, _ = engine.images.build(path=str(tmp_path / "user"), rm=True, network_mode="none")
            assert users.labels[LABEL_DIGEST] == lock.envsnap.content_digest  # inherited
            assert engine.images.get(stage.id).tags == [] and engine.images.get(users.id).tags == []
            readme = files["tool/README.md"].decode()
            prune = re.search(r"`(docker image prune [^`]+)`", readme)
            assert prune is not None, readme
            subprocess.run(shlex.split(prune.group(1)), check=True, capture_output=True, timeout=300)
            with pytest.raises(docker.errors.ImageNotFound):
                engine.images.get(stage.id)
            assert engine.images.get(users.id).labels[f"{LABEL}.user"] == mark, "the user's image was removed"
            engine.images.get(tag)
    finally:
        for image in engine.images.list(filters={"label": f"{LABEL}={mark}"}):
            with contextlib.suppress(Exception):
                engine.images.remove(image.id, force=True)


def _only_this_lock(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``clean --images`` run in-process looks only at this test lock's images, so that no other run's is touched."""
    from envsnap.rebuild import _docker_engine

    digest = lockfile.load(bundle / "envsnap.lock").envsnap.content_digest
    only_mine = functools.partial(_docker_engine.dangling_images, label=f"{LABEL_DIGEST}={digest}")
    monkeypatch.setattr(_docker_engine, "dangling_images", lambda client: only_mine(client))


def test_a_rebuild_to_a_taken_tag_keeps_the_image_a_stopped_container_uses_and_clean_says_so(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stopped container made from the image a --tag named: a rebuild to that tag succeeds, keeps that image
    (the engine refuses to remove it) and says so in one line that names the container; ``clean --images`` reports
    it kept for the same reason, and removes it once the container is gone."""
    import tempfile

    tag = "envsnap-test/dockerclean-used:1"
    mine = "dockerclean-used"
    _only_this_lock(bundle, monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    first = ""
    try:
        with _removed(engine, tag):
            _envsnap(*_docker_rebuild(captured, bundle, tmp_path / "ctx", tag, "--offline"))
            first = engine.images.get(tag).id
            user = engine.api.create_container(first, ["true"], labels={LABEL: mine}, name=f"{mine}-{os.getpid()}")
            done = _envsnap(*_docker_rebuild(captured, bundle, tmp_path / "ctx", tag, "--offline"))
            assert engine.images.get(tag).id != first, "the second build made the same image: nothing was replaced"
            assert engine.images.get(first).tags == []  # kept, untagged
            said = [line for line in done.stderr.splitlines() if first in line]
            assert said == [
                f"kept the image {tag} named before, {first}, now untagged: the stopped container "
                f"{mine}-{os.getpid()} uses it (`envsnap clean --images` removes it once no container uses it)"
            ], done.stderr[-2000:]
            cleaned = cli("clean", str(tmp_path), "--images")
            assert cleaned.code == 0, cleaned.err
            kept = [line for line in cleaned.err.splitlines() if first in line]
            assert len(kept) == 1 and kept[0].endswith(f": the stopped container {mine}-{os.getpid()} uses it"), kept
            engine.images.get(first)
            engine.api.remove_container(user["Id"])
            cleaned = cli("clean", str(tmp_path), "--images")
            assert f"removed image {first} (" in cleaned.err, cleaned.err
            with pytest.raises(docker.errors.ImageNotFound):
                engine.images.get(first)
    finally:
        for container in engine.api.containers(all=True, filters={"label": f"{LABEL}={mine}"}):
            engine.api.remove_container(container["Id"], force=True)
        if first:
            with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
                engine.images.remove(first)


def test_clean_images_with_another_temporary_folder_leaves_a_running_rebuilds_images(
    engine: Any, bundle: Path, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running docker rebuild's hold was a folder in its temporary directory: ``clean --images`` run with another
    TMPDIR (another user, another machine on the same engine) removed the installer stage while the final stage
    copied from it, and the new image before it was verified, and the rebuild failed. The engine holds them now:
    a clean from elsewhere keeps both, says why, and the rebuild succeeds, leaving no holding container."""
    import tempfile

    from envsnap.rebuild import _docker_engine

    tag = "envsnap-test/dockerclean-two-tmpdirs:1"
    digest = lockfile.load(bundle / "envsnap.lock").envsnap.content_digest
    _only_this_lock(bundle, monkeypatch)
    ours, theirs = tmp_path / "a", tmp_path / "b"
    ours.mkdir()
    theirs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(ours))
    request = _request(bundle, tmp_path / "ctx", offline=True, tag=tag, base_image=BASE)
    rebuilder = DockerRebuilder(connect=lambda: engine)
    plan = rebuilder.plan(request)
    cleaned: dict[str, tuple[str, dict[str, str]]] = {}  # when -> (the image it had to keep, what clean said)

    def clean_elsewhere(when: str, image: str) -> None:
        monkeypatch.setattr(tempfile, "tempdir", str(theirs))
        try:
            done = cli("clean", str(theirs), "--images", "--json")
        finally:
            monkeypatch.setattr(tempfile, "tempdir", str(ours))
        assert done.code == 0, done.err
        cleaned[when] = (image, {i["id"]: i["kept"] for i in json.loads(done.out)["images"]})

    def progress(line: str) -> None:
        if re.fullmatch(r"Step \d+/\d+ : FROM system", line) and "build" not in cleaned:  # the final stage
            stage = {"label": [f"{LABEL_DIGEST}={digest}", f"{LABEL_STAGE}={INSTALLER_STAGE}"], "dangling": True}
            installer = [image.id for image in engine.images.list(filters=stage)]
            assert installer, "no installer stage image while the final stage is built"
            clean_elsewhere("build", installer[0])

    real = _docker_engine.verify_image

    def verify_after_a_clean(client: Any, image_id: str, say: Any, given: bytes = b"") -> Any:
        clean_elsewhere("verify", image_id)
        return real(client, image_id, say, given)

    monkeypatch.setattr(_docker_engine, "verify_image", verify_after_a_clean)
    with _removed(engine, tag):
        result = rebuilder.execute(plan, request, progress)
        assert engine.images.get(tag).id == result.details["image_id"]
        for when in ("build", "verify"):
            image, kept = cleaned[when]
            assert "a docker rebuild of its lock is running" in kept.get(image, "(removed)"), (when, kept)
        assert cleaned["verify"][0] == result.details["image_id"]
        holding = engine.api.containers(all=True, filters={"label": _docker_engine.LABEL_HOLD})
        assert not [c for c in holding if c["ImageID"] in (cleaned["build"][0], result.details["image_id"])]


def test_clean_images_removes_a_hold_a_killed_rebuild_left_and_keeps_one_from_another_host(
    engine: Any, captured: Path, bundle: Path, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild killed while it held its new image leaves the holding container: on this host, its pid gone, a
    clean removes it and then the image; one that names another host is left to it, said so with its name."""
    import tempfile

    from envsnap.rebuild import _docker_engine

    tag = "envsnap-test/dockerclean-stale-hold:1"
    mine = "dockerclean-stale-hold"
    _only_this_lock(bundle, monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "Dockerfile").write_text(f"FROM {BASE}\nLABEL {LABEL}={mine}\n")
    ended = subprocess.Popen(["true"])
    ended.wait()
    built = ""
    try:
        with _removed(engine, tag):
            _envsnap(*_docker_rebuild(captured, bundle, tmp_path / "ctx", tag, "--offline"))
            built = engine.images.get(tag).id
            engine.images.build(path=str(tmp_path / "user"), tag=tag, rm=True, network_mode="none")  # takes the tag
            elsewhere = engine.api.create_container(
                built,
                ["true"],
                labels={
                    _docker_engine.LABEL_HOLD: f"another-host 1 start=9 boot={'0' * 8}-{'0' * 4}-{'0' * 4}-"
                    f"{'0' * 4}-{'0' * 12} pidns=4026531836",
                    LABEL: mine,
                },
                name=f"envsnap-hold-{mine}",
            )
            done = cli("clean", str(tmp_path), "--images")
            name = engine.api.inspect_container(elsewhere["Id"])["Name"].lstrip("/")
            assert (
                f"holding it with the container {name} (pid 1 on another-host, in another boot or pid namespace than "
                f"this clean's, or on another machine: whether it still runs cannot be told from here; `docker rm "
                f"{name}` releases it once that rebuild has ended); left to it"
            ) in done.err, done.err
            engine.api.remove_container(elsewhere["Id"])
            engine.api.create_container(
                built,
                ["true"],
                labels={_docker_engine.LABEL_HOLD: _hold_label(ended.pid), LABEL: mine},
                name=f"envsnap-hold-{mine}-2",
            )
            done = cli("clean", str(tmp_path), "--images")
            assert f"removed image {built} (" in done.err, done.err
            with pytest.raises(docker.errors.ImageNotFound):
                engine.images.get(built)
            assert not engine.api.containers(all=True, filters={"label": f"{LABEL}={mine}"})
    finally:
        for container in engine.api.containers(all=True, filters={"label": f"{LABEL}={mine}"}):
            engine.api.remove_container(container["Id"], force=True)
        users = [image.id for image in engine.images.list(filters={"label": f"{LABEL}={mine}"})]
        for image in [*users, built] if built else users:
            with contextlib.suppress(Exception):
                engine.images.remove(image, force=True)


def test_clean_images_never_removes_a_started_container_that_carries_a_hold_label(
    engine: Any, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hold is a container made from the image and never started, whose command is ``true``: removing one costs
    nothing. A container of another's (running, or started once) that carries ``org.envsnap.hold=HOST PID`` with
    this host and a pid gone was removed with force, killed while it ran, and the image it used with it."""
    import tempfile

    from envsnap.dockerfile.spec import VERIFY_STEP
    from envsnap.rebuild import _docker_engine

    mine = f"dockerclean-started-hold-{os.getpid()}"
    digest = "f" * 64
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    only_mine = functools.partial(_docker_engine.dangling_images, label=f"{LABEL_DIGEST}={digest}")
    monkeypatch.setattr(_docker_engine, "dangling_images", lambda client: only_mine(client))
    (tmp_path / "image").mkdir()  # untagged, and taken for envsnap's: its label and last step are
    (tmp_path / "image" / "Dockerfile").write_text(
        f"FROM {BASE}\nLABEL {LABEL}={mine} {LABEL_DIGEST}={digest}\nRUN true || {VERIFY_STEP}\n"
    )
    ended = subprocess.Popen(["true"])
    ended.wait()
    hold = {_docker_engine.LABEL_HOLD: _hold_label(ended.pid), LABEL: mine}
    built = ""
    try:
        image, _ = engine.images.build(path=str(tmp_path / "image"), rm=True, network_mode="none")
        built = image.id
        running = engine.api.create_container(
            built, ["sleep", "300"], labels=hold, name=f"envsnap-hold-{mine}", network_disabled=True
        )
        engine.api.start(running["Id"])
        done = cli("clean", str(tmp_path), "--images")
        assert engine.api.inspect_container(running["Id"])["State"]["Running"], done.err
        assert f"kept image {built}" in done.err, done.err
        engine.images.get(built)
    finally:
        for container in engine.api.containers(all=True, filters={"label": f"{LABEL}={mine}"}):
            engine.api.remove_container(container["Id"], force=True)
        if built:
            with contextlib.suppress(Exception):
                engine.images.remove(built, force=True)


@contextlib.contextmanager
def _envsnaps_untagged_image(
    engine: Any, tmp_path: Path, mine: str, monkeypatch: pytest.MonkeyPatch, first: str = ""
) -> Iterator[str]:
    """An untagged image ``clean --images`` takes for envsnap's (its label and last step are), the only one it looks
    at; it, and every container labelled ``mine``, removed at the end."""
    import tempfile

    from envsnap.dockerfile.spec import VERIFY_STEP
    from envsnap.rebuild import _built, _docker_engine

    digest = f"{os.getpid():x}".rjust(64, "e")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    only_mine = functools.partial(_docker_engine.dangling_images, label=f"{LABEL_DIGEST}={digest}")
    monkeypatch.setattr(_docker_engine, "dangling_images", lambda client: only_mine(client))
    (tmp_path / "image").mkdir()
    (tmp_path / "image" / "Dockerfile").write_text(
        f"FROM {BASE}\n{first}LABEL {LABEL}={mine} {LABEL_DIGEST}={digest}\nRUN true || {VERIFY_STEP}\n"
    )
    built = ""
    try:
        image, _ = engine.images.build(path=str(tmp_path / "image"), rm=True, network_mode="none")
        built = image.id
        _built.record(built)  # as envsnap's rebuild records the image it built: it stands for one here
        yield built
    finally:
        for container in engine.api.containers(all=True, filters={"label": f"{LABEL}={mine}"}):
            engine.api.remove_container(container["Id"], force=True)
        if built:
            with contextlib.suppress(Exception):
                engine.images.remove(built, force=True)


def _a_pid_gone() -> int:
    ended = subprocess.Popen(["true"])
    ended.wait()
    return ended.pid


def _hold_label(pid: int, *, start: int | None = None, pidns: str = "") -> str:
    """``org.envsnap.hold`` as a rebuild on this machine writes it: ``HOST PID start=TICKS boot=ID pidns=INODE``,
    the process's start time (field 22 of /proc/PID/stat; this process's where ``pid`` is gone), the kernel's boot
    id and the pid namespace."""
    own = Path("/proc/self/stat").read_text().rpartition(")")[2].split()[19]
    stat = Path(f"/proc/{pid}/stat")
    ticks = stat.read_text().rpartition(")")[2].split()[19] if stat.exists() else own
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    namespace = pidns or os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
    return f"{os.uname().nodename} {pid} start={ticks if start is None else start} boot={boot} pidns={namespace}"


@pytest.mark.parametrize("live_first", [True, False])
def test_clean_images_judges_every_hold_on_an_image_and_removes_only_the_gone_ones(
    engine: Any, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, live_first: bool
) -> None:
    """Two rebuilds of one lock hold the same image, each with its own container: the engine's listing of holds
    was read into one holder per image, the other one unseen. A live one unseen: its image was judged by the gone
    one (the gone container removed, then the image "used by the stopped container" of the running rebuild); a
    gone one unseen: it was never removed. Each is judged now: the gone one removed, the live one and the image
    kept, said in one line naming the live one."""
    from envsnap.rebuild import _docker_engine

    mine = f"dockerclean-two-holds-{os.getpid()}"
    here = os.uname().nodename
    with _envsnaps_untagged_image(engine, tmp_path, mine, monkeypatch) as built:
        labels = {"live": _hold_label(os.getpid()), "gone": _hold_label(_a_pid_gone())}
        names = {}
        for which in ("live", "gone") if live_first else ("gone", "live"):
            made = engine.api.create_container(
                built,
                ["true"],
                labels={_docker_engine.LABEL_HOLD: labels[which], LABEL: mine},
                name=f"envsnap-hold-{mine}-{which}",
                network_disabled=True,
            )
            names[which] = engine.api.inspect_container(made["Id"])["Name"].lstrip("/")
        done = cli("clean", str(tmp_path), "--images")
        assert done.code == 0, done.err
        containers = engine.api.containers(all=True, filters={"label": f"{LABEL}={mine}"})
        left = {c["Names"][0].lstrip("/") for c in containers}
        assert left == {names["live"]}, done.err
        engine.images.get(built)
        said = [line for line in done.err.splitlines() if built in line]
        assert len(said) == 1 and said[0].startswith(f"kept image {built} ("), done.err
        assert f"holding it with the container {names['live']} (pid {os.getpid()} on {here}" in said[0], said
        assert names["gone"] not in said[0], said


def test_clean_images_removes_a_hold_only_where_its_rebuild_is_proved_gone(
    engine: Any, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hold was judged gone by host name and pid alone: a rebuild in a container (another pid namespace) on a
    machine of the same name, whose pid is not one here, was taken for killed, its hold removed and its image with
    it under it; a pid another process took since was taken for the rebuild, alive. A hold records the process's
    start time, the boot and the pid namespace now: it is removed where its pid is gone or another process's, in
    this boot and pid namespace; one from another namespace, and an older hold that records none of them, are kept,
    said so in the one line, with the `docker rm` that releases each once its rebuild has ended."""
    from envsnap.rebuild import _docker_engine

    mine = f"dockerclean-judged-hold-{os.getpid()}"
    here = os.uname().nodename
    gone = _a_pid_gone()
    own = int(Path("/proc/self/stat").read_text().rpartition(")")[2].split()[19])
    with _envsnaps_untagged_image(engine, tmp_path, mine, monkeypatch) as built:
        labels = {
            "reused": _hold_label(os.getpid(), start=own + 1),  # this pid, another process's start
            "ended": _hold_label(gone),
            "other-ns": _hold_label(gone, pidns="1"),
            "older": f"{here} {gone}",
        }
        names = {}
        for which, label in labels.items():
            made = engine.api.create_container(
                built,
                ["true"],
                labels={_docker_engine.LABEL_HOLD: label, LABEL: mine},
                name=f"envsnap-hold-{mine}-{which}",
                network_disabled=True,
            )
            names[which] = engine.api.inspect_container(made["Id"])["Name"].lstrip("/")
        done = cli("clean", str(tmp_path), "--images")
        assert done.code == 0, done.err
        containers = engine.api.containers(all=True, filters={"label": f"{LABEL}={mine}"})
        assert {c["Names"][0].lstrip("/") for c in containers} == {names["other-ns"], names["older"]}, done.err
        engine.images.get(built)
        said = [line for line in done.err.splitlines() if built in line]
        assert len(said) == 1, done.err
        assert (
            said[0].startswith(f"kept image {built} (")
            and ": a docker rebuild of its lock may be running (the image is untagged until verified), holding it with"
            in (said[0])
        ), said
        assert (
            f"the container {names['other-ns']} (pid {gone} on {here}, in another boot or pid namespace than this "
            f"clean's, or on another machine: whether it still runs cannot be told from here; `docker rm "
            f"{names['other-ns']}` releases it once that rebuild has ended)" in said[0]
        ), said
        assert (
            f"the container {names['older']} (pid {gone} on {here}, a hold that records no start time, boot or "
            f"pid namespace (an older envsnap's, or one made where /proc does not tell them): whether it still runs "
            f"cannot be told; `docker rm {names['older']}` "
            "releases it once that rebuild has ended)" in said[0]
        ), said
        for container in containers:
            engine.api.remove_container(container["Id"])
        done = cli("clean", str(tmp_path), "--images")
        assert f"removed image {built} (" in done.err, done.err


def test_clean_images_removes_the_hold_it_judged_not_a_container_of_its_name_made_since(
    engine: Any, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hold proved gone was removed by its name, with force: a container of that name made since it was listed
    (the hold removed meanwhile by a user or another clean, and the name taken again) was removed in its place,
    killed while it ran. The hold is removed by the container id that was judged, unforced: the other one runs on."""
    from envsnap.rebuild import _docker_engine

    mine = f"dockerclean-renamed-hold-{os.getpid()}"
    judged = _docker_engine.Holder.judged
    swapped: list[str] = []

    def judged_then_swapped(holder: Any) -> str:
        found = judged(holder)
        # Between the judging and the removal: the hold goes, and another's container takes its name.
        engine.api.remove_container(holder.container)
        made = engine.api.create_container(
            BASE, ["sleep", "300"], labels={LABEL: mine}, name=holder.container, network_disabled=True
        )
        engine.api.start(made["Id"])
        swapped.append(made["Id"])
        return found

    with _envsnaps_untagged_image(engine, tmp_path, mine, monkeypatch) as built:
        engine.api.create_container(
            built,
            ["true"],
            labels={_docker_engine.LABEL_HOLD: _hold_label(_a_pid_gone()), LABEL: mine},
            name=f"envsnap-hold-{mine}",
            network_disabled=True,
        )
        monkeypatch.setattr(_docker_engine.Holder, "judged", judged_then_swapped)
        done = cli("clean", str(tmp_path), "--images")
        assert done.code == 0, done.err
        assert len(swapped) == 1, done.err
        assert engine.api.inspect_container(swapped[0])["State"]["Running"], done.err


def test_clean_images_keeps_a_hold_started_since_it_was_judged(
    engine: Any, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hold judged gone that someone started before the removal is no longer what was judged (it has a state of
    its own now): it is not removed, and the line says why. Shown on a tagged image's hold, whose line is its own."""
    import tempfile

    from envsnap.rebuild import _docker_engine

    mine = f"dockerclean-started-since-{os.getpid()}"
    tag = f"envsnap-test/{mine}:1"
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    only_mine = functools.partial(_docker_engine.dangling_images, label=f"{LABEL_DIGEST}={'c' * 63}{os.getpid() % 10}")
    monkeypatch.setattr(_docker_engine, "dangling_images", lambda client: only_mine(client))
    every_hold = _docker_engine.holders
    monkeypatch.setattr(
        _docker_engine,
        "holders",
        lambda client: {
            image: [h for h in held if h.container.startswith(f"envsnap-hold-{mine}")]
            for image, held in every_hold(client).items()
        },
    )
    judged = _docker_engine.Holder.judged

    def judged_then_started(holder: Any) -> str:
        found = judged(holder)
        engine.api.start(holder.container)
        engine.api.wait(holder.container, timeout=60)
        return found

    (tmp_path / "image").mkdir()
    (tmp_path / "image" / "Dockerfile").write_text(f"FROM {BASE}\nLABEL {LABEL}={mine}\n")
    try:
        engine.images.build(path=str(tmp_path / "image"), tag=tag, rm=True, network_mode="none")
        made = engine.api.create_container(
            tag,
            ["true"],
            labels={_docker_engine.LABEL_HOLD: _hold_label(_a_pid_gone()), LABEL: mine},
            name=f"envsnap-hold-{mine}",
            network_disabled=True,
        )
        monkeypatch.setattr(_docker_engine.Holder, "judged", judged_then_started)
        done = cli("clean", str(tmp_path), "--images")
        assert done.code == 0, done.err
        assert engine.api.inspect_container(made["Id"])["State"]["Status"] == "exited", done.err
        assert (
            f"kept the container envsnap-hold-{mine} (pid " in done.err
            and f"the hold on image {tag} of a docker rebuild that has ended: it was started since it was judged; "
            "left to it"
            in done.err
        ), done.err
    finally:
        for container in engine.api.containers(all=True, filters={"label": f"{LABEL}={mine}"}):
            engine.api.remove_container(container["Id"], force=True)
        with contextlib.suppress(Exception):
            engine.images.remove(tag, force=True)


def test_a_hold_on_an_image_with_an_entrypoint_is_taken_for_a_hold(
    engine: Any, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image built on ``nvidia/cuda`` inherits its ENTRYPOINT, and a hold made from it ran ``ENTRYPOINT true``:
    its command was no longer ``true``, so ``clean --images`` took a running rebuild's hold for another's stopped
    container (and never removed a killed one's). A hold runs ``true`` alone now, whatever the image's entrypoint."""
    from envsnap.rebuild import _docker_engine

    mine = f"dockerclean-entrypoint-hold-{os.getpid()}"
    entrypoint = 'ENTRYPOINT ["/bin/sh", "-c"]\n'
    with _envsnaps_untagged_image(engine, tmp_path, mine, monkeypatch, first=entrypoint) as built:
        with _docker_engine.holding(engine) as hold:
            hold.take(built)
            (container,) = hold.containers.values()
            name = engine.api.inspect_container(container)["Name"].lstrip("/")
            done = cli("clean", str(tmp_path), "--images")
        said = [line for line in done.err.splitlines() if built in line]
        assert len(said) == 1, done.err
        assert (
            f": a docker rebuild of its lock is running (the image is untagged until verified), holding it with the "
            f"container {name} (pid {os.getpid()} on {os.uname().nodename}); left to it" in said[0]
        ), said


def test_an_older_envsnaps_hold_that_ran_the_images_entrypoint_is_taken_for_a_hold(
    engine: Any, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An envsnap before holds ran ``true`` alone made its hold on an image with an ENTRYPOINT as ``ENTRYPOINT
    true`` (the image's entrypoint, inherited): `clean --images` took it for another's stopped container, never
    removed a killed rebuild's (the user had to `docker rm` it) and named a running one's as a stranger's. Such a
    hold (envsnap's label, its command ``true`` after the image's own entrypoint, never started) is one: the
    killed rebuild's is removed and its image with it, a running one's named as a hold. A container of the same
    shape whose entrypoint is not the image's is none, and is left."""
    from envsnap.rebuild import _docker_engine

    mine = f"dockerclean-older-entrypoint-hold-{os.getpid()}"
    entrypoint = 'ENTRYPOINT ["/bin/sh", "-c"]\n'
    here = os.uname().nodename
    with _envsnaps_untagged_image(engine, tmp_path, mine, monkeypatch, first=entrypoint) as built:
        names = {}
        for which, label in {"live": _hold_label(os.getpid()), "gone": _hold_label(_a_pid_gone())}.items():
            made = engine.api.create_container(  # as envsnap made it before: no entrypoint=[]
                built,
                ["true"],
                labels={_docker_engine.LABEL_HOLD: label, LABEL: mine},
                name=f"envsnap-hold-{mine}-{which}",
                network_disabled=True,
            )
            names[which] = engine.api.inspect_container(made["Id"])["Name"].lstrip("/")
        assert engine.api.inspect_container(names["gone"])["Path"] == "/bin/sh"  # it ran the entrypoint
        done = cli("clean", str(tmp_path), "--images")
        assert done.code == 0, done.err
        left = {
            c["Names"][0].lstrip("/") for c in engine.api.containers(all=True, filters={"label": f"{LABEL}={mine}"})
        }
        assert left == {names["live"]}, done.err
        said = [line for line in done.err.splitlines() if built in line]
        assert len(said) == 1, done.err
        assert (
            f": a docker rebuild of its lock is running (the image is untagged until verified), holding it with the "
            f"container {names['live']} (pid {os.getpid()} on {here}); left to it" in said[0]
        ), said
        engine.api.remove_container(names["live"])
        # Its own entrypoint, not the image's: not as a rebuild makes a hold, so another's, left with its image.
        other = engine.api.create_container(
            built,
            ["true"],
            entrypoint=["/bin/echo"],
            labels={_docker_engine.LABEL_HOLD: _hold_label(_a_pid_gone()), LABEL: mine},
            name=f"envsnap-hold-{mine}-other",
            network_disabled=True,
        )
        done = cli("clean", str(tmp_path), "--images")
        assert engine.api.inspect_container(other["Id"]), done.err
        assert f"kept image {built} (" in done.err and f"envsnap-hold-{mine}-other uses it" in done.err, done.err
        engine.api.remove_container(other["Id"])
        done = cli("clean", str(tmp_path), "--images")
        assert f"removed image {built} (" in done.err, done.err


def test_clean_images_removes_a_killed_rebuilds_hold_on_its_tagged_image(
    engine: Any, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild killed (SIGKILL) between tagging its image and releasing its hold left the hold on a tagged image:
    `clean --images` judged only the holds on the untagged images it lists, so it never removed that one, and
    `docker rmi TAG` refused (a container uses it). It judges every hold envsnap made now: the killed rebuild's is
    removed (proved gone, as on an untagged image), a live one's kept and named, any other container left, and the
    tagged image never removed. Only this test's image and containers are looked at (the engine is shared)."""
    import tempfile

    from envsnap.rebuild import _docker_engine

    mine = f"dockerclean-tagged-hold-{os.getpid()}"
    tag = f"envsnap-test/{mine}:1"
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # No untagged image is looked at, and of the holds only this test's.
    only_mine = functools.partial(_docker_engine.dangling_images, label=f"{LABEL_DIGEST}={'d' * 63}{os.getpid() % 10}")
    monkeypatch.setattr(_docker_engine, "dangling_images", lambda client: only_mine(client))
    every_hold = _docker_engine.holders
    monkeypatch.setattr(
        _docker_engine,
        "holders",
        lambda client: {
            image: [h for h in held if h.container.startswith(f"envsnap-hold-{mine}-")]
            for image, held in every_hold(client).items()
        },
    )
    (tmp_path / "image").mkdir()
    (tmp_path / "image" / "Dockerfile").write_text(f"FROM {BASE}\nLABEL {LABEL}={mine}\n")
    here = os.uname().nodename
    try:
        image, _ = engine.images.build(path=str(tmp_path / "image"), tag=tag, rm=True, network_mode="none")
        labels = {"live": _hold_label(os.getpid()), "gone": _hold_label(_a_pid_gone())}
        names = {}
        for which, label in labels.items():
            made = engine.api.create_container(
                image.id,
                ["true"],
                labels={_docker_engine.LABEL_HOLD: label, LABEL: mine},
                name=f"envsnap-hold-{mine}-{which}",
                network_disabled=True,
            )
            names[which] = engine.api.inspect_container(made["Id"])["Name"].lstrip("/")
        # A container of another's, labelled as a hold but not named as one: never envsnap's to remove.
        other = engine.api.create_container(
            image.id,
            ["true"],
            labels={_docker_engine.LABEL_HOLD: labels["gone"], LABEL: mine},
            name=f"other-{mine}",
            network_disabled=True,
        )
        dry = cli("clean", str(tmp_path), "--images", "--dry-run")
        assert dry.code == 0, dry.err
        assert f"would remove the container {names['gone']}, the hold on image {tag} of a docker rebuild" in dry.err
        assert len(engine.api.containers(all=True, filters={"label": f"{LABEL}={mine}"})) == 3
        done = cli("clean", str(tmp_path), "--images")
        assert done.code == 0, done.err
        left = {
            c["Names"][0].lstrip("/") for c in engine.api.containers(all=True, filters={"label": f"{LABEL}={mine}"})
        }
        assert left == {names["live"], f"other-{mine}"}, done.err
        assert (
            f"removed the container {names['gone']}, the hold on image {tag} of a docker rebuild that has ended "
            f"(pid " in done.err
        ), done.err
        assert (
            f"kept the container {names['live']} (pid {os.getpid()} on {here}), the hold on image {tag} of a docker "
            "rebuild that is running; left to it"
        ) in done.err, done.err
        assert engine.images.get(tag).id == image.id
        engine.api.remove_container(names["live"])
        engine.api.remove_container(other["Id"])
        engine.images.remove(tag)  # unforced: no hold is left on it
    finally:
        for container in engine.api.containers(all=True, filters={"label": f"{LABEL}={mine}"}):
            engine.api.remove_container(container["Id"], force=True)
        for leftover in engine.images.list(filters={"label": f"{LABEL}={mine}"}):
            with contextlib.suppress(Exception):
                engine.images.remove(leftover.id, force=True)


def test_a_bundle_in_a_folder_with_an_awkward_name_is_rebuilt_in_docker(
    engine: Any, bundle: Path, tmp_path: Path
) -> None:
    """A reviewer unpacks the bundle into a folder whose name a shell, pip, a URL or a Dockerfile reads otherwise
    (a ``#`` after a space, a ``${...}``, a ``%``, quotes, non-ASCII, a newline), with the build context beside it:
    the image is built offline and verified; the Dockerfile names only the context's own folders, never the path."""
    where = tmp_path / "review dir #1 b${HOME} 50%41 a'b\"c ü\nx"
    where.mkdir()
    copy = where / "bundle"
    shutil.copytree(bundle, copy)
    tag = "envsnap-test/awkward-folder:1"
    with _removed(engine, tag):
        args = ["rebuild", str(copy), "--target", "docker", "--offline", "--dest", str(where / "ctx"), "--tag", tag]
        done = _envsnap(*args, "--json")
        assert json.loads(done.stdout)["verify"]["identical"] is True
        assert str(tmp_path) not in (where / "ctx" / "Dockerfile").read_text()
