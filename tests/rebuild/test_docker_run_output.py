"""Reading a command's output from a container of an image (base-image package lists, verification inside a built
image): the container is waited for and its logs read before it is removed. The SDK's
``containers.run(remove=True)`` joined its log stream after removing the container, and the output of a command
that exits at once (``dpkg-query`` of one package) came back empty now and then in CI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from envsnap.errors import RebuildError
from envsnap.rebuild import _docker_engine
from envsnap.rebuild.docker import base_image_packages


class _Container:
    def __init__(self, calls: list[str], out: bytes, code: int) -> None:
        self.calls, self.out, self.code, self.removed = calls, out, code, False

    def start(self) -> None:
        self.calls.append("start")

    def wait(self, timeout: int | None = None) -> dict[str, int]:
        self.calls.append("wait")
        return {"StatusCode": self.code}

    def logs(self, stdout: bool = True, stderr: bool = True) -> bytes:
        self.calls.append("logs")
        # A removed container has no logs left to read: reading after removal is what lost the output.
        return b"" if self.removed else (self.out if stdout else b"oops\n")

    def remove(self, force: bool = False) -> None:
        self.calls.append("remove")
        self.removed = True


class _Client:
    def __init__(self, out: bytes, code: int = 0) -> None:
        self.calls: list[str] = []
        self.created: list[dict[str, Any]] = []
        self.container = _Container(self.calls, out, code)
        self.containers = self

    def create(self, image: str, command: list[str], **kwargs: Any) -> _Container:
        self.calls.append("create")
        self.created.append({"image": image, "command": command, **kwargs})
        return self.container

    def run(self, *args: Any, **kwargs: Any) -> bytes:  # the racy path must not be used
        raise AssertionError("containers.run(remove=True) loses fast output; use run_in_image")


def test_output_is_read_before_the_container_is_removed() -> None:
    client = _Client(b"12.2.0-14+deb12u1")
    code, out, err = _docker_engine.run_in_image(client, "img", ["dpkg-query", "-W", "-f", "${Version}", "libgomp1"])  # type: ignore[arg-type]
    assert (code, out, err) == (0, b"12.2.0-14+deb12u1", b"oops\n")
    assert client.calls == ["create", "start", "wait", "logs", "logs", "remove"]
    assert client.created[0]["network_disabled"] is True


def test_the_container_is_removed_when_the_engine_fails_midway() -> None:
    client = _Client(b"")

    def broken(timeout: int | None = None) -> dict[str, int]:
        raise OSError("engine went away")

    client.container.wait = broken  # type: ignore[method-assign]
    with pytest.raises(OSError, match="engine went away"):
        _docker_engine.run_in_image(client, "img", ["true"])  # type: ignore[arg-type]
    assert client.calls[-1] == "remove"


def test_base_image_packages_reads_the_whole_list() -> None:
    listing = b"libc6\tamd64\t2.36-9+deb12u13\nlibgomp1\tamd64\t12.2.0-14+deb12u1\n"
    client = _Client(listing)
    assert base_image_packages(client, "base") == {  # type: ignore[arg-type]
        ("libc6", "amd64"): "2.36-9+deb12u13",
        ("libgomp1", "amd64"): "12.2.0-14+deb12u1",
    }


def test_base_image_packages_is_empty_when_dpkg_query_fails() -> None:
    assert base_image_packages(_Client(b"partial\tamd64\t1.0\n", code=127), "base") == {}  # type: ignore[arg-type]


class _BuildApi:
    """An engine whose build streams one step's standard error a piece at a time, each in a colour code, as the
    classic builder does."""

    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.chunks = chunks
        self.api = self

    def build(self, **_kwargs: Any) -> Any:
        return iter(self.chunks)


def test_a_builds_output_is_shown_in_whole_lines_without_colour_codes(tmp_path: Any) -> None:
    """'Installed 9 packages' reached the terminal as one fragment a line: \\x1b[91m1\\x1b[0m, \\x1b[91m.\\x1b[0m ..."""
    pieces = ["Installed ", "9", " packages", " in 12ms\n", "done"]
    chunks: list[dict[str, Any]] = [{"stream": "Step 1/2 : RUN x\n"}]
    chunks += [{"stream": f"\x1b[91m{piece}\x1b[0m"} for piece in pieces]
    chunks += [{"aux": {"ID": "sha256:" + "a" * 64}}]
    shown: list[str] = []
    image = _docker_engine.build(_BuildApi(chunks), tmp_path, network="none", progress=shown.append)
    assert image == "sha256:" + "a" * 64
    assert shown == ["Step 1/2 : RUN x", "Installed 9 packages in 12ms", "done"]


class _BuildClient:
    """An engine whose build streams ``chunks`` and records the images removed."""

    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.api = _BuildApi(chunks)
        self.removed: list[str] = []
        self.images = self

    def remove(self, image: str, force: bool = False) -> None:
        self.removed.append(image)


def _apt_failure(update: list[str]) -> list[dict[str, Any]]:
    """The classic builder's stream of a build whose apt step fails after apt-get update printed ``update``."""
    lines = [
        "Step 1/3 : FROM sha256:" + "7" * 64 + " AS system",
        " ---> " + "7" * 12,
        "Step 2/3 : RUN apt-get update && apt-get install -y 'python3.11=3.11.2-*'",
        " ---> Running in " + "c" * 12,
        *update,
        "Reading package lists...",
        "Building dependency tree...",
        "Reading state information...",
        "E: Unable to locate package python3.11",
        "E: Couldn't find any package by glob 'python3.11'",
        "E: Couldn't find any package by regex 'python3.11'",
        "E: Unable to locate package python3.11-venv",
        "E: Couldn't find any package by glob 'python3.11-venv'",
        "E: Couldn't find any package by regex 'python3.11-venv'",
        "Removing intermediate container " + "c" * 12,
    ]
    chunks: list[dict[str, Any]] = [{"stream": line + "\n"} for line in lines]
    message = "The command '/bin/sh -c apt-get update ...' returned a non-zero code: 100"
    return [*chunks, {"error": message, "errorDetail": {"message": message}}]


def test_a_mirror_apt_could_not_reach_is_named_with_what_to_do() -> None:
    """apt-get update exits 0 when it cannot read a mirror (a warning line each), and apt-get install then says
    only that no package can be found: the build's error named 'Unable to locate package python3.11', which reads
    as a package missing from Debian. It names the mirror apt could not reach, why, and what to do."""
    url = "http://deb.example/debian/dists/bookworm/InRelease"
    update = [
        "Ign:1 http://deb.example/debian bookworm InRelease",
        "Err:1 http://deb.example/debian bookworm InRelease",
        "  Could not resolve 'deb.example'",
        "Reading package lists...",
        f"W: Failed to fetch {url}  Could not resolve 'deb.example'",
        f"W: Failed to fetch {url.replace('bookworm', 'bookworm-updates')}  Could not resolve 'deb.example'",
        "W: Some index files failed to download. They have been ignored, or old ones used instead.",
    ]
    client = _BuildClient(_apt_failure(update))
    with pytest.raises(RebuildError) as failed:
        _docker_engine.build(client, Path("ctx"), network="host", progress=lambda line: None)  # type: ignore[arg-type]
    message = str(failed.value)
    assert message.startswith("docker build failed: The command") and "no image was tagged" in message
    assert message.endswith(
        f"; apt could not reach its mirror ({url}: Could not resolve 'deb.example'): the build's network "
        "(--option network, default host) must reach it, or bundle the system packages (`envsnap bundle "
        "--with-system-packages`) and rebuild with --offline"
    ), message
    assert client.removed == []  # the step made no image: nothing of the base or the cache is removed
    # A build whose apt read its mirror and still found no package says no more than before.
    plain = _BuildClient(_apt_failure(["Reading package lists..."]))
    with pytest.raises(RebuildError) as failed:
        _docker_engine.build(plain, Path("ctx"), network="host", progress=lambda line: None)  # type: ignore[arg-type]
    assert str(failed.value).endswith("no image was tagged"), failed.value


def test_a_mirror_apt_could_not_reach_names_the_commands_that_carry_the_packages_for_the_build() -> None:
    """The remedy said `envsnap bundle --with-system-packages`, which carries only the packages `envsnap pin`
    pinned, and for the base the lock chooses (one with Python: no interpreter package); given the commands the
    rebuild's plan names for its base (``carry``), it names them, as the plan's network line does."""
    url = "http://deb.example/debian/dists/bookworm/InRelease"
    update = ["Err:1 http://deb.example/debian bookworm InRelease", f"W: Failed to fetch {url}  Could not resolve 'x'"]
    carry = (
        "envsnap pin LOCK --base-image envsnap-base:bookworm && envsnap bundle LOCK -o BUNDLE --with-system-packages "
        "--base-image envsnap-base:bookworm"
    )
    client = _BuildClient(_apt_failure(update))
    with pytest.raises(RebuildError) as failed:
        _docker_engine.build(
            client,  # type: ignore[arg-type]
            Path("ctx"),
            network="host",
            progress=lambda line: None,
            carry=carry,
        )
    assert str(failed.value).endswith(
        f"or bundle the system packages (`{carry}`) and rebuild from that bundle with --offline"
    ), failed.value
