"""The base images a bundle saves (``bundle --with-base-image``, ``images/``) and the ones a docker rebuild loads.

Every image here is a labelled copy of the shared base, made by this test and removed by that label (the copies the
rebuild loads under ``envsnap/base:ID`` keep it)."""

from __future__ import annotations

import contextlib
import io
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_docker_engine import BASE, _envsnap, _request, captured, engine  # noqa: F401  (fixtures)

from envsnap.artifacts.bundle import Bundle, describe_bundle, open_bundle
from envsnap.errors import RebuildError
from envsnap.rebuild.docker import DockerRebuilder

docker = pytest.importorskip("docker", reason="the Docker SDK (a dependency of envsnap-lock) is not installed")
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.integration]
LABEL = "org.envsnap.test"


@pytest.fixture
def owned(engine: Any) -> Iterator[str]:  # noqa: F811
    """A label value put on every image this test makes; those images are removed at the end."""
    mark = f"saved-images-{uuid.uuid4().hex[:12]}"
    yield mark
    _remove_labelled(engine, mark)


def _remove_labelled(client: Any, mark: str) -> None:
    made = client.images.list(filters={"label": f"{LABEL}={mark}"}, all=True)
    for image in sorted(made, key=lambda i: -len(i.attrs.get("RootFS", {}).get("Layers", []))):
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image.id, force=True)


def _copy_of_base(client: Any, mark: str, tag: str) -> str:
    """A labelled copy of the shared base under ``tag`` (its own id: the label names ``tag``)."""
    dockerfile = f"FROM {BASE}\nLABEL {LABEL}={mark} org.envsnap.test.name={tag}\n"
    image, _ = client.images.build(fileobj=io.BytesIO(dockerfile.encode()), rm=True, tag=tag)
    return str(image.id)


def test_a_rebundle_on_another_base_image_keeps_only_that_images_archive(
    engine: Any,  # noqa: F811
    captured: Path,  # noqa: F811
    owned: str,
    tmp_path: Path,
) -> None:
    """Bundled again with another ``--base-image``, the bundle kept the first image's archive beside the new one:
    gigabytes no rebuild of it uses, and a rebuild naming no base was refused as the bundle "saved 2 base images".
    It holds the new one alone, and rebuilds on it."""
    first, second = f"envsnap-test/first-{owned}:1", f"envsnap-test/second-{owned}:1"
    _copy_of_base(engine, owned, first)
    second_id = _copy_of_base(engine, owned, second)
    bundle = tmp_path / "bundle"
    for base in (first, second):
        _envsnap("bundle", str(captured), "-o", str(bundle), "--with-base-image", "--base-image", base)
    stem = second.replace("/", "_").replace(":", "_")
    assert sorted(p.name for p in (bundle / "images").iterdir()) == [f"{stem}.json", f"{stem}.tar"]
    readme = (bundle / "README.md").read_text()
    assert "| `images/` | saved container images | 2 |" in readme, readme
    open_bundle(bundle, tmp_path / "unused")  # its SHA256SUMS lists what it holds
    args = ["rebuild", str(captured), "--target", "docker", "--bundle", str(bundle), "--offline", "--dry-run"]
    done = _envsnap(*args, "--dest", str(tmp_path / "ctx"), check=False)
    assert done.returncode == 0, done.stderr
    assert second in done.stdout and second_id in done.stdout and first not in done.stdout + done.stderr


def test_a_rebuild_loads_only_the_saved_image_it_builds_on(
    engine: Any,  # noqa: F811
    captured: Path,  # noqa: F811
    owned: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bundle holding two saved bases (one copied in by hand): a rebuild on one loaded both into the engine,
    gigabytes of an image it never used, from an untrusted bundle. It loads the one it builds on."""
    from envsnap.rebuild import _docker_engine

    first, second = f"envsnap-test/first-{owned}:1", f"envsnap-test/second-{owned}:1"
    first_id, second_id = _copy_of_base(engine, owned, first), _copy_of_base(engine, owned, second)
    one, both = tmp_path / "one", tmp_path / "both"
    _envsnap("bundle", str(captured), "-o", str(one), "--with-base-image", "--base-image", first)
    _envsnap("bundle", str(captured), "-o", str(both), "--with-base-image", "--base-image", second)
    for saved in (one / "images").iterdir():
        shutil.copy(saved, both / "images" / saved.name)
    describe_bundle(both)
    Bundle(both).write_sums()
    _remove_labelled(engine, owned)  # the engine of the bundle's machine: neither base is there

    def stop(*_args: Any, **_kwargs: Any) -> str:
        raise RebuildError("stopped before the build")

    monkeypatch.setattr(_docker_engine, "build", stop)
    rebuilder = DockerRebuilder(connect=lambda: engine)
    request = _request(both, tmp_path / "ctx", offline=True, base_image=second)
    plan = rebuilder.plan(request)
    said: list[str] = []
    with pytest.raises(RebuildError, match="stopped before the build"):
        rebuilder.execute(plan, request, said.append)
    assert engine.images.get(second_id).id == second_id
    with pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(first_id)
    assert not [line for line in said if first in line], said


def test_a_base_image_named_as_the_engine_reads_the_saved_one_is_the_bundles(
    engine: Any,  # noqa: F811
    captured: Path,  # noqa: F811
    owned: str,
    tmp_path: Path,
) -> None:
    """The bundle saved ``envsnap-test/NAME:1``; ``rebuild --offline --base-image docker.io/envsnap-test/NAME:1``,
    the same image as the engine reads names, was refused as "neither in the Docker engine nor saved in the bundle",
    and the command it gave saved the image again under another file (a bundle with two images). It builds on the
    saved image, as the name without ``docker.io/`` does."""
    base = f"envsnap-test/spelled-{owned}:1"
    image_id = _copy_of_base(engine, owned, base)
    bundle = tmp_path / "bundle"
    _envsnap("bundle", str(captured), "-o", str(bundle), "--with-base-image", "--base-image", base)
    _remove_labelled(engine, owned)  # the engine of the bundle's machine: without the base
    args = ["rebuild", str(captured), "--target", "docker", "--bundle", str(bundle), "--offline", "--dry-run"]
    for named in (base, f"docker.io/{base}"):
        done = _envsnap(*args, "--base-image", named, "--dest", str(tmp_path / "ctx"), check=False)
        assert done.returncode == 0, (named, done.stderr)
        assert f"FROM {image_id}" in done.stdout, done.stdout


def test_a_base_image_named_by_its_id_is_saved_and_rebuilt_on(
    engine: Any,  # noqa: F811
    captured: Path,  # noqa: F811
    owned: str,
    tmp_path: Path,
) -> None:
    """``bundle --with-base-image --base-image sha256:ID`` fetched every wheel, then failed, exit 4: "the Docker
    engine stopped answering while saving sha256:ID (sha256:ID is not a valid tag for this image)" (an id is no name
    to save an image under). It saves the image by its id, and an offline rebuild on an engine without it builds on
    it."""
    image_id = _copy_of_base(engine, owned, f"envsnap-test/by-id-{owned}:1")
    bundle = tmp_path / "bundle"
    done = _envsnap("bundle", str(captured), "-o", str(bundle), "--with-base-image", "--base-image", image_id)
    assert done.stderr.strip().splitlines()[-1].startswith(f"wrote {bundle}: "), done.stderr
    _remove_labelled(engine, owned)  # the engine of the bundle's machine: without the base
    args = ["rebuild", str(captured), "--target", "docker", "--bundle", str(bundle), "--offline", "--dry-run"]
    done = _envsnap(*args, "--dest", str(tmp_path / "ctx"), check=False)
    assert done.returncode == 0, done.stderr
    assert f"FROM {image_id}" in done.stdout, done.stdout
