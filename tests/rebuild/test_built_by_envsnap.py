"""Which untagged images ``envsnap clean --images`` calls "built by envsnap" and removes, and which image a docker
rebuild removes when its tag moves: the labels and the last step of envsnap's Dockerfile are text anyone who builds
an image can write (``LABEL org.envsnap.lock.content-digest=...``, a last ``RUN ... envsnap verify ...``). The claim
rests on the image id envsnap's own build recorded (content-addressed: no other image has it). Without an engine: a
fake client answers as the Docker API does."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from envsnap.dockerfile.spec import LABEL_DIGEST, VERIFY_STEP
from envsnap.rebuild import _built, _docker_engine

MINE = "sha256:" + "a" * 64  # built by a rebuild here
FAKE = "sha256:" + "b" * 64  # a stranger's Dockerfile, with envsnap's label and last step
DIGEST = "sha256:" + "c" * 64


class _Engine:
    """Two untagged images that look alike from their labels and history."""

    def __init__(self) -> None:
        self.images = {i: {"Id": i, "Size": 100, "Labels": {LABEL_DIGEST: DIGEST}} for i in (MINE, FAKE)}
        self.removed: list[str] = []
        self.api = SimpleNamespace(
            images=lambda filters: [dict(v) for v in self.images.values()],
            inspect_image=lambda i: {"Id": i, "Config": {"Labels": self.images[i]["Labels"]}, "RepoTags": []},
            history=lambda i: [{"CreatedBy": f"/bin/sh -c {VERIFY_STEP}"}],
            containers=lambda **kw: [],
            remove_image=self._remove,
        )

    def _remove(self, image: str, force: bool = False, noprune: bool = False) -> None:
        self.removed.append(image)
        del self.images[image]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> _Engine:
    fake = _Engine()
    monkeypatch.setattr(_docker_engine, "engine", lambda *a, **kw: fake)
    _built.record(MINE)
    return fake


def test_clean_removes_only_the_image_envsnap_recorded_building(engine: _Engine, cli: Callable[..., Any]) -> None:
    done = cli("clean", "--images")
    assert done.code == 0, done.err
    assert engine.removed == [MINE]
    assert f"removed image {MINE} (100 B), untagged, built by envsnap" in done.err, done.err
    [line] = [line for line in done.err.splitlines() if FAKE in line]
    assert "built by envsnap" not in line, line
    assert line.startswith(f"kept image {FAKE} (100 B), untagged, labelled as envsnap's"), line
    assert f"docker rmi {FAKE}" in line, line


def test_clean_json_says_which_image_envsnap_built(engine: _Engine, cli: Callable[..., Any]) -> None:
    done = cli("clean", "--images", "--dry-run", "--json")
    images = {i["id"]: i for i in json.loads(done.out)["images"]}
    assert images[MINE]["built_by_envsnap"] is True and images[MINE]["kept"] == ""
    assert images[FAKE]["built_by_envsnap"] is False and images[FAKE]["kept"], images[FAKE]
    assert engine.removed == []


def test_a_rebuild_leaves_the_image_its_tag_named_unless_envsnap_built_it(engine: _Engine) -> None:
    assert _docker_engine.remove_replaced(engine, FAKE, "lab/env:1") == ""  # type: ignore[arg-type]
    assert engine.removed == []
    said = _docker_engine.remove_replaced(engine, MINE, "lab/env:1")  # type: ignore[arg-type]
    assert said.startswith(f"removed {MINE}, the image envsnap built as lab/env:1 before"), said
    assert engine.removed == [MINE]


def test_an_image_a_running_rebuild_has_not_recorded_yet_is_said_to_be_that_rebuilds(
    engine: _Engine, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between an image's making and its record, a clean sees an image of the lock a rebuild is building: it says
    that rebuild holds it (the instant is the one the rebuild's marker covers), not that none recorded it."""
    from envsnap.rebuild import docker as docker_target

    monkeypatch.setattr(docker_target, "_being_built", lambda: {DIGEST})
    done = cli("clean", "--images")
    assert engine.removed == []
    [line] = [line for line in done.err.splitlines() if FAKE in line]
    assert "a docker rebuild of its lock is running" in line and "recorded" not in line, line
