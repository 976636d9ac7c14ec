"""``bundle --with-system-packages`` leaves the packages its base image holds at the locked version to that image;
which image that was (its id) is recorded in the bundle's ``system-base.json``, so that an offline rebuild on a base
whose tag has moved since says so, and names the image the bundle was made on."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from docker_locks import cpu_lock

from envsnap import lockfile
from envsnap.errors import BadBundleError
from envsnap.model import System, SystemPackage
from envsnap.rebuild.docker import SYSTEM_BASE, recorded_system_base

SHARED_BASE = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
LABEL = "org.envsnap.test"


@pytest.fixture
def engine() -> Any:
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env(timeout=60)
        client.ping()
        client.images.get(SHARED_BASE)
    except Exception as exc:
        pytest.skip(f"no Docker engine with {SHARED_BASE} ({type(exc).__name__}: {exc}): .ci/services.sh makes it")
    return client


@pytest.fixture
def owned(engine: Any) -> Iterator[str]:
    """A label value this test puts on every image it makes; those images are removed at the end."""
    import docker

    mark = f"sysbase-{uuid.uuid4().hex[:12]}"
    yield mark
    made = engine.images.list(filters={"label": f"{LABEL}={mark}"}, all=True)
    for image in sorted(made, key=lambda i: -len(i.attrs.get("RootFS", {}).get("Layers", []))):
        with contextlib.suppress(docker.errors.APIError):
            engine.images.remove(image.id, force=True)


def _build(engine: Any, dockerfile: str, tag: str, mark: str) -> str:
    engine.images.build(
        fileobj=io.BytesIO(dockerfile.encode()),
        tag=tag,
        labels={LABEL: mark},
        network_mode="none",
        rm=True,
        forcerm=True,
    )
    return str(engine.images.get(tag).id)


@pytest.mark.parametrize("output", ["b", "b.tar.gz"])
def test_a_bundle_records_the_base_image_it_left_system_packages_to_and_a_moved_tag_is_named(
    engine: Any, owned: str, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    """``bundle --with-system-packages`` without ``--with-base-image`` left libc6 and zlib1g to the base image by its
    tag and recorded no id: once the tag named another image (one without zlib1g), ``rebuild --offline`` said the
    base lacks zlib1g, and its advice, "name that one by its id", named an id the bundle did not hold. The bundle
    records the base's id and what it left to it; the rebuild names that image and says the tag moved. An archive
    bundle holds the same (it refused --with-system-packages)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tag = f"envsnap-test/sysbase:{owned}"
    made_on = _build(engine, f"FROM {SHARED_BASE}\nLABEL {LABEL}={owned}\n", tag, owned)
    needed = ("markupsafe",)
    lock = dataclasses.replace(
        cpu_lock(),
        python=dataclasses.replace(cpu_lock().python, packages=()),
        system=System(
            manager="dpkg",
            packages=(
                SystemPackage("dpkg", "libc6", "2.36-9+deb12u14", "amd64", needed),
                SystemPackage("dpkg", "zlib1g", "1:1.2.13.dfsg-1", "amd64", needed),
            ),
        ),
    )
    path = lockfile.dump(lockfile.seal(lock), tmp_path / "envsnap.lock")
    made = tmp_path / output
    done = cli("bundle", path, "-o", made, "--with-system-packages", "--base-image", tag)
    assert done.code == 0, done
    assert f"2 system packages are in the base image {tag} ({made_on}) at the locked version: not carried" in done.err
    bundle = made
    if output != "b":
        import tarfile

        with tarfile.open(made) as tar:
            tar.extractall(tmp_path / "unpacked", filter="data")
        bundle = tmp_path / "unpacked" / "b"
    assert json.loads((bundle / SYSTEM_BASE).read_text()) == {
        "reference": tag,
        "id": made_on,
        "repo_digests": [],
        "left_to_base": ["libc6:amd64=2.36-9+deb12u14", "zlib1g:amd64=1:1.2.13.dfsg-1"],
    }
    assert f"  {SYSTEM_BASE}" in (bundle / "SHA256SUMS").read_text()

    # The tag moves to an image without zlib1g.
    moved = _build(engine, f"FROM {tag}\nRUN dpkg --purge --force-depends zlib1g\n", tag, owned)
    assert moved != made_on
    done = cli("rebuild", path, "--target", "docker", "--bundle", made, "--offline", "--base-image", tag, "--dry-run")
    assert done.code == 2, done
    assert "zlib1g=1:1.2.13.dfsg-1 (not installed)" in done.err
    assert done.err.strip().endswith(
        f"; the bundle was made on {tag} as image {made_on} (its {SYSTEM_BASE} records it; it left zlib1g to that "
        f"image), and {tag} is image {moved} here now: the tag moved since. Build on the bundle's image: it has no "
        "registry digest, so only a copy of it serves: a bundle made with --with-base-image keeps one"
    ), done.err


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("[]", "not a JSON object"),
        ('{"reference": "x\\ny", "id": "sha256:' + "0" * 64 + '"}', "reference"),
        ('{"reference": "debian:12", "id": "sha256:zz"}', "id 'sha256:zz' is not sha256:<64 hex digits>"),
        ('{"reference": "debian:12", "id": "sha256:' + "0" * 64 + '", "left_to_base": ["x; rm -rf /"]}', "left_to"),
    ],
)
def test_a_system_base_record_a_stranger_wrote_is_one_line(tmp_path: Path, content: str, why: str) -> None:
    (tmp_path / SYSTEM_BASE).write_text(content)
    with pytest.raises(BadBundleError, match="not a record of the base image envsnap wrote") as caught:
        recorded_system_base(tmp_path)
    assert why in str(caught.value) and "\n" not in str(caught.value)
    assert recorded_system_base(tmp_path / "none") is None
