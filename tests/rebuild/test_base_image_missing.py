"""`bundle --with-base-image` where the engine lacks the base image: the line names the way out."""

from __future__ import annotations

from pathlib import Path

import pytest
from testutil import sample_lock

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
