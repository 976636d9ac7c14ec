"""The docker target on a real engine judges the wheel a bundle built as the venv target does: the bundle's lock
records that wheel's files (``artifact.built_record_digest``) beside the author's, and ``rebuild orig.lock --bundle B``
verifies the author's files, saying a build that differs, while ``rebuild B`` verifies the bundle's wheel.

The test owns every image it touches: its base is a labelled copy of the shared ``envsnap-base:bookworm`` (another
id), every image built on it inherits that label, and all of them are removed at the end by it."""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from envsnap import lockfile

docker = pytest.importorskip("docker", reason="the Docker SDK (a dependency of envsnap-lock) is not installed")

SHARED_BASE = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
DEBIAN_PYTHON = "/usr/bin/python3.11"
LABEL = "org.envsnap.test"
NAME = "esnptstamped"
# A build hook stamping each wheel with another uuid: a build that is not reproducible.
STAMPED = """\
import os
import uuid

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        if self.target_name != "wheel":
            return
        path = os.path.join(self.root, "stamp.txt")
        with open(path, "w") as f:
            f.write(uuid.uuid4().hex)
        build_data["force_include"][path] = "NAME/stamp.txt"
"""


@pytest.fixture
def engine() -> Any:
    try:
        client = docker.from_env(timeout=60)
        client.ping()
        client.images.get(SHARED_BASE)
    except Exception as exc:
        pytest.skip(f"no Docker engine with {SHARED_BASE} ({type(exc).__name__}: {exc}): .ci/services.sh makes it")
    if not Path(DEBIAN_PYTHON).exists():
        pytest.skip(f"{DEBIAN_PYTHON} (Debian's python3.11) is not installed on this host")
    return client


@pytest.fixture
def owned_base(engine: Any) -> Iterator[str]:
    """The tag of a copy of the shared base labelled for this test; every image labelled so is removed at the end."""
    mark = f"dockerbuilt-{uuid.uuid4().hex[:12]}"
    tag = f"envsnap-test/dockerbuilt-base:{mark}"
    engine.images.build(
        fileobj=io.BytesIO(f"FROM {SHARED_BASE}\nLABEL {LABEL}={mark}\n".encode()),
        tag=tag,
        labels={LABEL: mark},
        rm=True,  # no intermediate container of the LABEL step left
        forcerm=True,
    )
    try:
        yield tag
    finally:
        made = engine.images.list(filters={"label": f"{LABEL}={mark}"}, all=True)
        for image in sorted(made, key=lambda i: -len(i.attrs.get("RootFS", {}).get("Layers", []))):
            with contextlib.suppress(docker.errors.APIError):
                engine.images.remove(image.id, force=True)


def _line(out: str) -> str:
    (line,) = [line.strip() for line in out.splitlines() if NAME in line and "record_digest" in line]
    return line


def test_the_authors_lock_with_its_bundle_verifies_the_authors_files_of_a_wheel_the_bundle_built(
    owned_base: str, make_venv: Callable[..., Path], cli: Callable[..., Any], tmp_path: Path
) -> None:
    """The docker target verified the image against the bundle's lock as a whole, which takes the files of the wheel
    the bundle built as the lock's own: ``rebuild orig.lock --bundle B --target docker`` called the image identical
    where the venv target's rebuild of the same command says that the build is not reproducible. The image is
    verified against the lock given, as the venv is: the author's lock says the build that differs, the bundle's
    own lock is identical."""
    project = tmp_path / "src" / NAME
    (project / NAME).mkdir(parents=True)
    (project / NAME / "__init__.py").write_text("VALUE = 1\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{NAME}"\nversion = "1.0"\n\n[tool.hatch.build.hooks.custom]\n'
    )
    (project / "hatch_build.py").write_text(STAMPED.replace("NAME", NAME))
    python = make_venv(tmp_path / "venv", str(project), python=DEBIAN_PYTHON)
    orig, bundle = tmp_path / "orig.lock", tmp_path / "B"
    assert cli("capture", "--python", python, "-o", orig).code == 0
    made = cli("bundle", orig, "-o", bundle, "--with-base-image", "--base-image", owned_base)  # with envsnap's wheels
    assert made.code == 0, made.err
    locked, bundled = lockfile.load(orig).package(NAME), lockfile.load(bundle / "envsnap.lock").package(NAME)
    assert locked is not None and bundled is not None and bundled.artifact is not None
    assert bundled.artifact.built_record_digest not in ("", locked.record_digest)  # another stamp
    # The venv target's judgement of the same command: the author's files, the build that differs said.
    venv = cli("rebuild", orig, "--bundle", bundle, "--offline", "--dest", tmp_path / "R")
    assert venv.code == 0 and "not reproducible" in _line(venv.out), venv.out + venv.err
    docker_args = ["--target", "docker", "--bundle", bundle, "--base-image", owned_base, "--offline"]
    tag = f"{owned_base.replace('-base:', '-image:')}"
    given = cli("rebuild", orig, *docker_args, "--dest", tmp_path / "ctx1", "--tag", tag)
    assert given.code == 0, given.out + given.err
    assert _line(given.out) == _line(venv.out), given.out
    own = cli("rebuild", bundle / "envsnap.lock", *docker_args, "--dest", tmp_path / "ctx2", "--tag", tag)
    assert own.code == 0 and "identical" in own.out, own.out + own.err
    assert "record_digest" not in own.out, own.out
    for name in ("Dockerfile", "envsnap.lock"):  # one build: the image holds the bundle's lock for both
        assert (tmp_path / "ctx1" / name).read_bytes() == (tmp_path / "ctx2" / name).read_bytes(), name
