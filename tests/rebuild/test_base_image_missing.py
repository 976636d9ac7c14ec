"""`bundle --with-base-image` where the engine lacks the base image: the line names the way out. And the docker
rebuild's lines, on a fake engine, about the base it ran FROM and the image a failed verification leaves."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from testutil import sample_lock

from envsnap.compare.verdict import MISMATCH, Difference
from envsnap.errors import RebuildError
from envsnap.rebuild import _docker_engine
from envsnap.rebuild import docker as docker_target


@pytest.fixture
def empty_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """An engine that holds no image at all."""
    monkeypatch.setattr(_docker_engine, "engine", lambda **kwargs: object())
    monkeypatch.setattr(_docker_engine, "inspector", lambda client: lambda reference: None)


@pytest.mark.usefixtures("empty_engine")
def test_a_default_base_image_the_engine_lacks_names_base_image(tmp_path: Path) -> None:
    """Without --base-image, the image the docker target chose from the lock (python:3.11.7-slim-bookworm) was
    "not in the Docker engine; pull or build it first", exit 4: on a machine with no registry nothing can be
    pulled, and the option that names an image the engine has went unsaid."""
    with pytest.raises(RebuildError) as caught:
        docker_target.save_base_image(sample_lock(), tmp_path)
    message = str(caught.value)
    assert message.startswith("--with-base-image: python:3.11.7-slim-bookworm is not in the Docker engine"), message
    assert "or name an image the engine has with --base-image IMAGE" in message, message
    with pytest.raises(RebuildError) as named:
        docker_target.save_base_image(sample_lock(), tmp_path, base_image="mybase:1")
    assert str(named.value) == "--with-base-image: mybase:1 is not in the Docker engine; pull or build it first"


def _bundle_with_saved_base(root: Path, reference: str) -> str:
    """A bundle of the CPU lock whose ``images/`` holds a saved ``reference`` (as ``bundle --with-base-image``
    writes it, the official python image's environment in its .json); the saved image's id."""
    import hashlib
    import io
    import json
    import tarfile

    from docker_locks import cpu_lock

    from envsnap import lockfile

    (root / "images").mkdir(parents=True)
    lockfile.dump(cpu_lock(), root / "envsnap.lock")
    config = b'{"architecture": "amd64"}'
    manifest = json.dumps([{"Config": "config.json", "RepoTags": [reference], "Layers": []}]).encode()
    name = _docker_engine._image_file(reference)
    with tarfile.open(root / "images" / name, "w") as tar:
        for member, data in (("manifest.json", manifest), ("config.json", config)):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    image_id = "sha256:" + hashlib.sha256(config).hexdigest()
    meta = {
        "reference": reference,
        "id": image_id,
        "repo_digests": [],
        "env": {"PYTHON_VERSION": "3.11.7"},
        "architecture": "amd64",
    }
    (root / "images" / name.replace(".tar", ".json")).write_text(json.dumps(meta))
    return image_id


class _Engine:
    """A Docker engine that holds the images in ``held`` (reference or id: inspect data) and takes loads and tags."""

    def __init__(self, held: dict[str, dict[str, Any]], loads: dict[str, Any]) -> None:
        self.held, self.loads = held, loads
        self.removed: list[str] = []
        self.images = SimpleNamespace(remove=lambda image, force=False: self.removed.append(image))
        self.api = SimpleNamespace(
            timeout=10,
            inspect_image=self._inspect,
            load_image=self._load,
            tag=self._tag,
            images=lambda **kw: [],
            history=lambda image: self.held[image].get("History", []),
            remove_image=lambda image, force=False, noprune=False: self.removed.append(image),
        )

    def info(self) -> dict[str, str]:
        return {"Architecture": "x86_64"}

    def _inspect(self, reference: str) -> dict[str, Any]:
        import docker

        if reference not in self.held:
            raise docker.errors.ImageNotFound(f"no such image: {reference}")
        return self.held[reference]

    def _load(self, handle: Any, quiet: bool) -> list[Any]:
        while handle.read(8192):
            pass
        self.held.update(self.loads)  # loaded untagged: found by its id only
        return []

    def _tag(self, image: str, repository: str, tag: str) -> None:
        self.held[f"{repository}:{tag}"] = self.held[image]


def _rebuild_on(
    engine: _Engine,
    bundle: Path,
    dest: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    built: str = "sha256:" + "b" * 64,
    verified: Any = None,
) -> Any:
    """Plan and execute a docker rebuild of ``bundle`` on ``engine``, the build (making ``built``) and verification
    (reporting ``verified``, else no mismatch) faked."""
    from envsnap import lockfile
    from envsnap.rebuild.interface import RebuildRequest

    monkeypatch.setattr(docker_target, "_missing", lambda request: ())
    monkeypatch.setattr(docker_target, "_copy_wheels", lambda *a, **kw: None)
    monkeypatch.setattr(docker_target, "tool_wheels", lambda *a, **kw: None)
    monkeypatch.setattr(_docker_engine, "build", lambda *a, **kw: built)
    report = SimpleNamespace(python_mismatch=False) if verified is None else verified
    monkeypatch.setattr(_docker_engine, "verify_image", lambda *a: report)
    monkeypatch.setattr(_docker_engine, "tag", lambda *a: None)
    request = RebuildRequest(
        lock=lockfile.load(bundle / "envsnap.lock"),
        lock_path=bundle / "envsnap.lock",
        dest=dest,
        target="docker",
        bundle_dir=bundle,
        offline=True,
        options={"tag": "paper/env:1"},
    )
    rebuilder = docker_target.DockerRebuilder(connect=lambda: engine)
    return rebuilder.execute(rebuilder.plan(request), request)


def test_a_base_removed_from_the_engine_is_named_as_loaded_from_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After ``bundle --with-base-image --base-image paper-base:1`` and ``docker rmi paper-base:1``, the rebuild
    loaded the base from the bundle (tagged ``envsnap/base:<id>``), but said ``built on paper-base:1
    (sha256:...)``: a name the engine no longer has. It names the image the build ran FROM, by its tag and id,
    and the base the bundle was made from."""
    image_id = _bundle_with_saved_base(tmp_path / "bundle", "paper-base:1")
    data = {"Id": image_id, "Config": {"Env": ["PYTHON_VERSION=3.11.7"]}, "Architecture": "amd64"}
    engine = _Engine({}, {image_id: data})
    result = _rebuild_on(engine, tmp_path / "bundle", tmp_path / "ctx", monkeypatch)
    loaded = f"envsnap/base:{image_id[7:19]}"
    assert loaded in engine.held and "paper-base:1" not in engine.held
    [built_on] = [n for n in result.notes if n.startswith("built on ")]
    assert built_on == (
        f"built on {loaded} ({image_id}), loaded from the bundle, which saved it as paper-base:1 "
        "(the Docker engine has no paper-base:1 now)"
    ), built_on
    assert (result.details["base_image"], result.details["base_image_id"]) == ("paper-base:1", image_id)


def test_a_base_the_engine_still_has_under_its_name_is_named_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id = _bundle_with_saved_base(tmp_path / "bundle", "paper-base:1")
    data = {"Id": image_id, "Config": {"Env": ["PYTHON_VERSION=3.11.7"]}, "Architecture": "amd64"}
    engine = _Engine({"paper-base:1": data, image_id: data}, {})
    result = _rebuild_on(engine, tmp_path / "bundle", tmp_path / "ctx", monkeypatch)
    assert not any(name.startswith("envsnap/base:") for name in engine.held)  # nothing loaded
    assert f"built on paper-base:1 ({image_id})" in result.notes, result.notes


def test_a_base_whose_tag_moved_is_named_by_the_id_the_build_ran_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tag moved to another image and the bundle's is still in the engine (untagged, so not loaded again): the
    note named the tag, which names the other image now."""
    image_id = _bundle_with_saved_base(tmp_path / "bundle", "paper-base:1")
    data = {"Id": image_id, "Config": {"Env": ["PYTHON_VERSION=3.11.7"]}, "Architecture": "amd64"}
    other = {**data, "Id": "sha256:" + "c" * 64}
    engine = _Engine({"paper-base:1": other, image_id: data}, {})
    result = _rebuild_on(engine, tmp_path / "bundle", tmp_path / "ctx", monkeypatch)
    [built_on] = [n for n in result.notes if n.startswith("built on ")]
    assert built_on == (
        f"built on image {image_id}, the one the bundle saved as paper-base:1 (paper-base:1 names "
        f"sha256:{'c' * 64} in the Docker engine now)"
    ), built_on
    assert result.details["base_image_id"] == image_id


def test_a_failed_verification_of_the_image_the_tag_already_named_says_it_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild whose build came wholly from the engine's cache made again the very image ``--tag`` named, and its
    verification failed: the error said "it was removed, nothing tagged", though the image is kept, the tag still
    on it (``take_back`` leaves an image the engine had before). It says what happened."""
    image_id = _bundle_with_saved_base(tmp_path / "bundle", "paper-base:1")
    data = {"Id": image_id, "Config": {"Env": ["PYTHON_VERSION=3.11.7"]}, "Architecture": "amd64"}
    mine = "sha256:" + "d" * 64
    engine = _Engine({"paper-base:1": data, image_id: data, "paper/env:1": {"Id": mine}, mine: {"Id": mine}}, {})
    finding = Difference(MISMATCH, "python", "numpy", "version", "1.26.4", "2.0.0")
    report = SimpleNamespace(python_mismatch=True, by_severity=lambda severity: [finding])
    with pytest.raises(RebuildError) as caught:
        _rebuild_on(engine, tmp_path / "bundle", tmp_path / "ctx", monkeypatch, built=mine, verified=report)
    message = str(caught.value)
    assert engine.removed == [] and engine.held["paper/env:1"]["Id"] == mine  # kept, and still tagged
    assert "removed" not in message, message
    assert message == (
        "the built image differs from the lock (numpy: version 1.26.4 -> 2.0.0); the build, wholly from the "
        f"engine's cache, made again the image paper/env:1 names ({mine}): it is kept, tagged as it was before this "
        "rebuild, and it differs from the lock"
    ), message


def test_a_failed_verification_of_a_new_image_says_it_was_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id = _bundle_with_saved_base(tmp_path / "bundle", "paper-base:1")
    data = {"Id": image_id, "Config": {"Env": ["PYTHON_VERSION=3.11.7"]}, "Architecture": "amd64"}
    engine = _Engine({"paper-base:1": data, image_id: data}, {})
    # A local source is named by its decoded path, as verify prints it (not file:///srv/my%20lib).
    finding = Difference(MISMATCH, "python", "mylib", "source", "file:///srv/my%20lib", "index")
    report = SimpleNamespace(python_mismatch=True, by_severity=lambda severity: [finding])
    with pytest.raises(RebuildError) as caught:
        _rebuild_on(engine, tmp_path / "bundle", tmp_path / "ctx", monkeypatch, verified=report)
    assert engine.removed == ["sha256:" + "b" * 64] and "paper/env:1" not in engine.held
    assert str(caught.value) == (
        "the built image differs from the lock (mylib: source '/srv/my lib' -> index); it was removed, nothing tagged"
    )


@pytest.mark.parametrize("digests", [[], ["registry.invalid/paper/env@sha256:" + "f" * 64]])
def test_a_rebuild_to_a_taken_tag_keeps_the_image_before_where_a_digest_still_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, digests: list[str]
) -> None:
    """A rebuild to a taken --tag removes the image envsnap built there before once no tag names it, looking at
    its ``RepoTags`` only: an image pushed, or pulled by digest, is one a user reaches as ``repo@sha256:...``
    (``RepoDigests``) with no tag, and it was removed. It stays where a digest names it. The engine is a fake
    (its inspect data as the SDK gives it): a digest needs a registry, which the tests have none of."""
    from envsnap.dockerfile.spec import VERIFY_STEP
    from envsnap.rebuild import _built
    from envsnap.rebuild.docker import LABEL_DIGEST

    image_id = _bundle_with_saved_base(tmp_path / "bundle", "paper-base:1")
    data = {"Id": image_id, "Config": {"Env": ["PYTHON_VERSION=3.11.7"]}, "Architecture": "amd64"}
    before = "sha256:" + "e" * 64
    envsnaps = {
        "Id": before,
        "RepoTags": [],  # the tag moved to the new image
        "RepoDigests": digests,
        "Config": {"Labels": {LABEL_DIGEST: "sha256:" + "1" * 64}},
        "History": [{"CreatedBy": f"RUN /bin/sh -c {VERIFY_STEP}"}],
    }
    _built.record(before)  # an earlier rebuild's: it recorded building the image
    engine = _Engine({"paper-base:1": data, image_id: data, "paper/env:1": envsnaps, before: envsnaps}, {})
    _rebuild_on(engine, tmp_path / "bundle", tmp_path / "ctx", monkeypatch)
    assert engine.removed == ([] if digests else [before])


@pytest.mark.usefixtures("empty_engine")
def test_bundle_with_a_base_image_the_engine_lacks_stops_before_it_fetches_anything(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bundle --with-base-image`` learned that the engine lacks the base image only after every wheel was pinned
    and fetched (gigabytes for a CUDA lock), then removed the bundle: it is asked first, as the engine is."""
    import dataclasses

    from envsnap import lockfile
    from envsnap.model import PythonPackage

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    lock = sample_lock()
    packages = (PythonPackage(name="six", version="1.16.0", wheel_tags=("py3-none-any",)),)  # not pinned yet
    path = lockfile.dump(
        dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=packages)), tmp_path / "u.lock"
    )
    result = cli("bundle", path, "-o", tmp_path / "b", "--with-base-image", "--base-image", "mybase:1")
    assert result.code == 4, result
    assert result.err.endswith(
        "envsnap: error: --with-base-image: mybase:1 is not in the Docker engine; pull or build it first\n"
    ), result.err
    assert "pinning" not in result.err and "127.0.0.1" not in result.err, result.err
    assert not (tmp_path / "b").exists()
