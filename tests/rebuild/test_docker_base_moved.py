"""A base image's tag that moved between the author's bundle and the reviewer's rebuild, on the real engine.

The author bundles on ``NAME:1`` (``--with-base-image``); the reviewer's engine later has another image under
``NAME:1``. The rebuild builds on the bundle's image, says that the tag names another one now, and records the
base it built on (the result's ``details`` and the image's labels). ``--base-image NAME@sha256:<id>`` names an
image by its id even when it was never in a registry (``docker import``, a local build).

Every image here is a labelled copy of the shared base, made by this test and removed by that label."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_docker_engine import BASE, _envsnap, captured, engine  # noqa: F401  (fixtures)

docker = pytest.importorskip("docker", reason="the Docker SDK (a dependency of envsnap-lock) is not installed")
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.integration]
LABEL = "org.envsnap.test"


@pytest.fixture
def owned(engine: Any) -> Iterator[str]:  # noqa: F811
    """A label value put on every image this test makes (its base copies, its rebuilds); removed at the end."""
    mark = f"base-moved-{uuid.uuid4().hex[:12]}"
    yield mark
    made = engine.images.list(filters={"label": f"{LABEL}={mark}"}, all=True)
    for image in sorted(made, key=lambda i: -len(i.attrs.get("RootFS", {}).get("Layers", []))):
        with contextlib.suppress(docker.errors.APIError):
            engine.images.remove(image.id, force=True)


def _copy_of_base(client: Any, mark: str, which: str) -> str:
    """A labelled copy of the shared base (another id), untagged; its id."""
    dockerfile = f"FROM {BASE}\nLABEL {LABEL}={mark} org.envsnap.test.which={which}\n".encode()
    image, _ = client.images.build(fileobj=io.BytesIO(dockerfile), rm=True, labels={LABEL: mark})
    return str(image.id)


def test_a_moved_base_tag_builds_on_the_bundles_image_and_says_so(
    engine: Any,  # noqa: F811
    captured: Path,  # noqa: F811
    owned: str,
    tmp_path: Path,
) -> None:
    name = f"envsnap-test-moved-{owned}"
    first = _copy_of_base(engine, owned, "author")
    other = _copy_of_base(engine, owned, "moved")
    engine.api.tag(first, name, "1")
    bundle = tmp_path / "bundle"
    _envsnap("bundle", str(captured), "-o", str(bundle), "--with-base-image", "--base-image", f"{name}:1")
    assert json.loads(next((bundle / "images").glob("*.json")).read_text())["id"] == first
    engine.api.tag(other, name, "1", force=True)  # the tag moves to another image

    tag = f"envsnap-test/moved:{owned}"
    done = _envsnap(
        "rebuild", str(captured), "--target", "docker", "--bundle", str(bundle), "--dest", str(tmp_path / "ctx"),
        "--tag", tag, "--offline", "--json",
    )  # fmt: skip
    result = json.loads(done.stdout)
    said = done.stderr + " ".join(result["notes"]) + " ".join(result["plan"]["notes"] if "plan" in result else [])
    assert f"{name}:1 now names {other}" in said, said
    assert result["details"]["base_image"] == f"{name}:1"
    assert result["details"]["base_image_id"] == first
    built = engine.images.get(tag)
    try:
        assert built.labels["org.envsnap.base.id"] == first
        assert built.labels["org.envsnap.test.which"] == "author"  # inherited from the base it was built on
    finally:
        engine.images.remove(built.id, force=True)


def test_a_base_image_named_by_its_id_needs_no_registry(
    engine: Any,  # noqa: F811
    captured: Path,  # noqa: F811
    owned: str,
    tmp_path: Path,
) -> None:
    name = f"envsnap-test-moved-{owned}"
    first = _copy_of_base(engine, owned, "author")
    other = _copy_of_base(engine, owned, "moved")
    engine.api.tag(other, name, "1")  # the tag names another image than the one asked for by id
    done = _envsnap(
        "rebuild", str(captured), "--target", "docker", "--base-image", f"{name}:1@{first}", "--dry-run", "--json",
        "--dest", str(tmp_path / "ctx"), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    dockerfile = plan["details"]["Dockerfile"]
    assert f"FROM --platform=linux/amd64 {first} AS system" in dockerfile, dockerfile[:2000]
