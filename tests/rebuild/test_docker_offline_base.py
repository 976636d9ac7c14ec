"""An ``--offline`` docker rebuild of a bundle with ``debs/`` expects what the bundle does not carry in the base
image: the plan reads that image's dpkg status (the engine's copy, else the bundle's saved archive, never run) and
refuses a base that lacks them in one line naming them, where it planned a ``--network none`` build that failed at
its base check (exit 4, minutes in).

Every image here is a labelled copy of the shared base, made by this test and removed by that label."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_docker_engine import BASE, _envsnap, captured, engine  # noqa: F401  (fixtures)

from envsnap import lockfile

docker = pytest.importorskip("docker", reason="the Docker SDK (a dependency of envsnap-lock) is not installed")
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.integration]
LABEL = "org.envsnap.test"
INTERPRETER = ("python3.11", "python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "python3.11-venv")


@pytest.fixture
def owned(engine: Any) -> Iterator[str]:  # noqa: F811
    """A label value put on every image this test makes; those images are removed at the end."""
    mark = f"offline-base-{uuid.uuid4().hex[:12]}"
    yield mark
    made = engine.images.list(filters={"label": f"{LABEL}={mark}"}, all=True)
    for image in sorted(made, key=lambda i: -len(i.attrs.get("RootFS", {}).get("Layers", []))):
        with contextlib.suppress(docker.errors.APIError):
            engine.images.remove(image.id, force=True)


def _copy_of_base(client: Any, mark: str, tag: str, context: Path | None = None) -> str:
    """A labelled copy of the shared base under ``tag``; with ``context``, its dpkg status is the one there."""
    lines = [f"FROM {BASE}", f"LABEL {LABEL}={mark}"]
    if context is None:
        image, _ = client.images.build(fileobj=io.BytesIO("\n".join(lines).encode()), rm=True, tag=tag)
    else:
        (context / "Dockerfile").write_text("\n".join([*lines, "COPY status /var/lib/dpkg/status"]) + "\n")
        image, _ = client.images.build(path=str(context), rm=True, tag=tag, network_mode="none")
    return str(image.id)


def test_an_offline_plan_refuses_a_base_without_what_the_bundle_does_not_carry(
    engine: Any,  # noqa: F811
    captured: Path,  # noqa: F811
    owned: str,
    tmp_path: Path,
) -> None:
    locked = {p.name: p.version for p in lockfile.load(captured).system.packages}
    if not all(name in locked for name in INTERPRETER):
        pytest.skip("the captured lock does not record Debian's python3.11 packages")
    name = f"envsnap-test-offline-base-{owned}"
    bare = _copy_of_base(engine, owned, f"{name}:bare")  # the shared base: no Python
    bundle = tmp_path / "bundle"
    _envsnap("bundle", str(captured), "-o", str(bundle), "--with-base-image", "--base-image", f"{name}:bare")
    # A debs/ that carries none of the interpreter (its .deb files are the ones the offline build would install).
    (bundle / "debs").mkdir()
    from envsnap.artifacts.bundle import Bundle

    Bundle(bundle).write_sums()

    def plan(*extra: str) -> Any:
        args = ["rebuild", str(captured), "--target", "docker", "--bundle", str(bundle), "--offline", "--dry-run"]
        return _envsnap(*args, "--dest", str(tmp_path / "ctx"), *extra, check=False)

    # The engine holds the base: its dpkg status, copied out of a container that never starts, decides.
    refused = plan()
    assert refused.returncode == 2, refused.stderr
    line = refused.stderr.strip()
    assert "\n" not in line and "Traceback" not in line, line
    assert f"the base image {name}:bare ({bare}) lacks" in line, line
    assert "(a tag moves)" not in line, line  # none of them is there at another revision
    assert f"python3.11={locked['python3.11']} (not installed)" in line and "python3.11-venv" in line, line
    assert "--with-system-packages" in line and "without --offline" in line, line

    # Gone from the engine, the bundle's saved archive of it says the same, with no engine run.
    engine.images.remove(f"{name}:bare", force=True)
    again = plan()
    assert again.returncode == 2 and f"python3.11={locked['python3.11']}" in again.stderr, again.stderr
    # What audit and REPRODUCING.md read: the saved base's facts, as the rebuild decides.
    from envsnap.rebuild.docker import offline_uncarried

    assert set(INTERPRETER) <= set(offline_uncarried(Bundle(bundle).lock, bundle))

    # A base whose dpkg status holds the interpreter at the locked revision (this host's, copied in): the plan
    # is the network-less build it was, checked in the base.
    context = tmp_path / "held"
    context.mkdir()
    shutil.copyfile("/var/lib/dpkg/status", context / "status")
    _copy_of_base(engine, owned, f"{name}:held", context)
    done = plan("--base-image", f"{name}:held", "--json")
    assert done.returncode == 0, done.stderr
    steps = " ".join(json.loads(done.stdout)["steps"])
    assert "--network none" in steps and "check that the base image has" in steps, steps

    # The tag moves to an image shipping another revision of python3.11 (a Debian point release of the base): the
    # plan says what that image has, and how to name the one the bundle was made on.
    status = (context / "status").read_text()
    stanza = status.index("Package: python3.11\n")
    end = status.index("\n\n", stanza)
    block = status[stanza:end].replace(f"Version: {locked['python3.11']}", "Version: 3.11.2-6+deb12u99")
    (context / "status").write_text(status[:stanza] + block + status[end:])
    moved = _copy_of_base(engine, owned, f"{name}:held", context)
    done = plan("--base-image", f"{name}:held")
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert f"the base image {name}:held ({moved}) lacks" in line, line
    assert f"python3.11={locked['python3.11']} (it has 3.11.2-6+deb12u99)" in line, line
    assert "(a tag moves)" in line and f"--base-image {name}:held@sha256:" in line, line


def test_a_bundle_whose_base_holds_every_system_package_stays_one_with_system_packages(
    engine: Any,  # noqa: F811
    captured: Path,  # noqa: F811
    owned: str,
    tmp_path: Path,
) -> None:
    """``bundle --with-system-packages`` on a base that holds every package the rebuild needs carries no .deb file:
    its ``debs/`` is empty, and a copy that keeps files only (git, many uploads) drops it. The bundle then read as
    one made without system packages: its ``--offline`` rebuild planned ``--network host`` and ``apt-get install``
    from the mirror. Its ``system-base.json`` (in SHA256SUMS) records the base it left them to, and the offline
    plan keeps checking that base, with no network."""
    locked = {p.name: p.version for p in lockfile.load(captured).system.packages}
    if not all(name in locked for name in INTERPRETER):
        pytest.skip("the captured lock does not record Debian's python3.11 packages")
    context = tmp_path / "held"
    context.mkdir()
    shutil.copyfile("/var/lib/dpkg/status", context / "status")  # this host's: the lock's revisions
    tag = f"envsnap-test-offline-base-{owned}:held"
    held = _copy_of_base(engine, owned, tag, context)
    bundle = tmp_path / "bundle"
    args = ("bundle", str(captured), "-o", str(bundle), "--with-system-packages", "--with-base-image")
    done = _envsnap(*args, "--base-image", tag)
    assert "system packages: 0 .deb files (0 KiB) in debs/" in done.stderr, done.stderr
    assert (bundle / "debs").is_dir() and not any((bundle / "debs").iterdir())
    record = json.loads((bundle / "system-base.json").read_text())
    assert record["id"] == held and record["reference"] == tag
    assert {f"{name}:amd64={locked[name]}" for name in INTERPRETER} <= set(record["left_to_base"]), record
    assert "  system-base.json" in (bundle / "SHA256SUMS").read_text()

    def plan() -> list[str]:
        args = ["rebuild", str(captured), "--target", "docker", "--bundle", str(bundle), "--offline", "--dry-run"]
        done = _envsnap(*args, "--base-image", tag, "--dest", str(tmp_path / "ctx"), "--json")
        data = json.loads(done.stdout)
        # The interpreter was left to this base, which held it: to bundle again would leave it there again (the
        # note said "... is not in the bundle's debs/ ...; envsnap pin ... then envsnap bundle ... carries it").
        [note] = [n for n in data["notes"] if n.startswith("interpreter:")]
        assert note == (
            f"interpreter: the lock's python3.11 {locked['python3.11']} (and 4 more of its packages) was left to the "
            f"base image {tag}, which held that revision when the bundle was made (its system-base.json records "
            "it): the offline build checks that it still does"
        ), note
        return list(data["steps"])

    from envsnap.artifacts.bundle import Bundle
    from envsnap.paper.audit import system_packages

    kept = plan()
    audited = system_packages(Bundle(bundle).lock, Bundle(bundle))
    (bundle / "debs").rmdir()  # as a copy that keeps files only leaves it
    assert plan() == kept
    assert any("--network none" in step for step in kept), kept
    assert f"check that the base image has {len(record['left_to_base'])} packages the bundle does not carry" in kept
    assert not any("apt-get" in step for step in kept), kept
    # The audit reads the same: what the saved base holds was left to it, the bundle carries the rest.
    assert system_packages(Bundle(bundle).lock, Bundle(bundle)) == audited and audited.carried, audited
