"""Talking to the Docker engine for the docker target: connect, inspect, build, run ``envsnap verify`` in
an image, and save or load base images. Every SDK and transport error becomes a ``RebuildError`` here."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import tarfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _leftovers, _procstat, _readlimits, grammar
from .._defaults import install_hint
from .._frozen import frozen
from .._fs import atomic_write_text
from ..dockerfile import baseimage
from ..dockerfile.spec import INSTALLER_STEP_END, LABEL_DIGEST, VERIFY_STEP, loaded_tag, split_reference
from ..errors import BadBundleError, RebuildError
from ..progress import transfer
from . import _built
from .interface import Progress

if TYPE_CHECKING:
    import docker  # type: ignore[import-untyped,unused-ignore]

    from ..compare.verify import VerifyReport

IMAGES = "images"  # in a bundle: saved base images (``envsnap bundle --with-base-image``)
VERIFY_TIMEOUT = 300
CANCEL_TIMEOUT = 30.0  # how long a cancelled build's step container may take to go away
# How long a cancelled build's COPY or ADD step may take to commit its image: the daemon finishes a copy it has
# begun (no container runs it, so there is nothing to kill), at disk speed, gigabytes for a CUDA bundle's wheels.
COPY_TIMEOUT = 300.0
# How long the engine may go silent while it saves or loads an image (exporting a base image on a busy engine
# takes longer than the 10 s a question such as ping or inspect is given before the engine counts as gone).
STREAM_TIMEOUT = 900
DRY_RUN_HINT = "pass --dry-run to print the Dockerfile and build plan without building"


def engine(timeout: int = 10, way_forward: str = DRY_RUN_HINT) -> docker.DockerClient:
    """A client of a reachable Docker engine, or ``RebuildError`` saying how to go on without one."""
    try:
        import docker  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise RebuildError(
            f"the docker target needs the Docker SDK (reinstall envsnap: {install_hint()}); {way_forward}"
        ) from exc
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:  # the SDK raises DockerException, requests and OS errors alike
        raise RebuildError(
            f"no Docker engine is reachable at {where} ({short(exc)}); start dockerd (or set DOCKER_HOST), "
            f"or {way_forward}"
        ) from exc
    return client


@contextlib.contextmanager
def patient(client: docker.DockerClient) -> Iterator[None]:
    """While an image streams to or from the engine, its read timeout is ``STREAM_TIMEOUT``, then it is the
    client's again."""
    quick = client.api.timeout
    client.api.timeout = None if quick is None else max(quick, STREAM_TIMEOUT)
    try:
        yield
    finally:
        client.api.timeout = quick


def _engine_errors(*more: type[BaseException]) -> tuple[type[BaseException], ...]:
    """What the Docker SDK raises when the engine fails or stops answering (its own errors, the transport's),
    and ``more``."""
    import docker as docker_sdk  # type: ignore[import-untyped,unused-ignore]
    import requests
    import urllib3

    return (
        docker_sdk.errors.DockerException,
        requests.RequestException,
        urllib3.exceptions.HTTPError,
        http.client.HTTPException,
        *more,
    )


def inspector(client: docker.DockerClient) -> baseimage.Inspector:
    import docker  # type: ignore[import-untyped,unused-ignore]

    def inspect(reference: str) -> baseimage.ImageFacts | None:
        try:
            data = _inspect_image(client, reference)
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as exc:
            raise RebuildError(f"the Docker engine could not inspect {reference}: {short(exc)}") from exc
        if data is None:
            return None
        config = data.get("Config") or {}
        env = dict(item.split("=", 1) for item in (config.get("Env") or []) if "=" in item)
        return baseimage.ImageFacts(
            image_id=data["Id"],
            repo_digests=tuple(data.get("RepoDigests") or ()),
            env=env,
            architecture=data.get("Architecture", ""),
        )

    return inspect


def _inspect_image(client: docker.DockerClient, reference: str) -> dict[str, Any] | None:
    """``docker image inspect reference``; ``NAME@sha256:D`` is also the image whose id is D (an image never in a
    registry, built or imported here, has no registry digest the engine finds it by): the engine resolved such a
    name to nothing, and a build FROM it pulled (docs/rebuild-docker.md, "Pinning")."""
    import docker  # type: ignore[import-untyped,unused-ignore]

    try:
        data: dict[str, Any] = client.api.inspect_image(reference)
        return data
    except docker.errors.ImageNotFound:
        digest = reference.rsplit("@", 1)[1] if "@" in reference else ""
        if not grammar.is_image_digest(digest):
            raise
    try:
        data = client.api.inspect_image(digest)
    except docker.errors.ImageNotFound:
        return None
    return data if data.get("Id") == digest else None


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip() and not line.startswith("WARNING")]
    return lines[-1] if lines else "no output"


def short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:300] if text else type(exc).__name__


# A terminal's colour code (SGR), which the classic builder puts around each piece of a step's standard error.
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def build(
    client: docker.DockerClient,
    context: Path,
    *,
    network: str,
    progress: Progress,
    label: str = "",
    hold: Hold | None = None,
    carry: str = "",
) -> str:
    """Build ``context`` untagged; the image id. A failure raises ``RebuildError``: nothing is tagged, and the
    intermediate images this build made (not those it took from the cache) are removed.

    With ``hold``, each earlier stage's last image is held from the moment the build moves past it until the build
    ends (the installer stage is untagged and used by no container while the final stage copies from it), and the
    built image from the moment it is there.

    ``label`` (``key=value``) is one the Dockerfile sets on every layer it makes: on Ctrl-C the build is
    cancelled in the daemon (the stream is closed), and the containers and images carrying it that this build
    made are removed before ``KeyboardInterrupt`` goes on.

    ``carry``: the commands that bundle the .deb files of what the build installs from apt, for its base
    (``envsnap pin LOCK --base-image B && envsnap bundle ...``), which a mirror apt could not reach names."""
    layers = _Layers(hold, client)
    before = _Leftovers.of(client, label)
    stream = None
    pending = ""  # the output's last line, until its end comes
    try:
        stream = client.api.build(
            path=str(context), rm=True, forcerm=True, decode=True, network_mode=network, pull=False
        )
        for chunk in stream:
            if "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                context_lines = " | ".join(layers.tail[-3:])
                raise RebuildError(
                    f"docker build failed: {detail.strip()}"
                    + (f" (last output: {context_lines})" if context_lines else "")
                    + "; no image was tagged"
                    + _hint(layers, carry)
                )
            aux = chunk.get("aux")
            if isinstance(aux, dict) and aux.get("ID"):
                layers.image_id = str(aux["ID"])
            # The engine sends a step's output as it comes, a line in several pieces (a colour code around each
            # piece of standard error): whole lines are shown, without the colour codes.
            pending += _SGR.sub("", str(chunk.get("stream", "")))
            *lines, pending = pending.split("\n")
            for line in lines:
                if line.strip():
                    layers.read(line.strip())
                    progress(line.rstrip())
        if pending.strip():
            layers.read(pending.strip())
            progress(pending.rstrip())
    except RebuildError:
        layers.let_go()
        layers.discard(client)
        raise
    except KeyboardInterrupt:
        progress("interrupted: cancelling the build and removing what it made")
        layers.let_go()
        _cancel(client, stream, layers, before, progress)
        raise
    except _engine_errors(OSError) as exc:
        # The engine is gone: there is nothing to remove through it, and it tagged nothing.
        layers.let_go()
        raise RebuildError(
            f"the Docker engine stopped answering during the build ({short(exc)}); no image was tagged"
        ) from exc
    except BaseException:
        layers.let_go()
        raise
    if not layers.image_id:
        layers.let_go()
        layers.discard(client)
        raise RebuildError("docker build ended without an image id (the engine closed the stream); no image was tagged")
    if hold is not None:
        hold.take(layers.image_id)
    layers.record(layers.image_id)
    layers.let_go()
    layers.discard_stages(client)
    return layers.image_id


def _hint(layers: _Layers, carry: str = "") -> str:
    """What to do about a failure the output names (apt mirrors drop old versions of a package; a mirror the build
    cannot reach leaves apt without package lists, and what it says last is that no package can be found).
    ``carry``: the commands that bundle what the build installs from apt (``build``)."""
    if layers.fetch_failed:
        if carry:
            # A plain `bundle --with-system-packages` carries only what `pin` pinned, for the base the lock chooses.
            bundle = f"or bundle the system packages (`{carry}`) and rebuild from that bundle with --offline"
        else:
            bundle = (
                "or bundle the system packages (`envsnap bundle --with-system-packages`) and rebuild with --offline"
            )
        return (
            f"; apt could not reach its mirror ({layers.fetch_failed}): the build's network (--option network, "
            f"default host) must reach it, {bundle}"
        )
    if any(re.search(r"Version '[^']+' for '[^']+' was not found", line) for line in layers.tail):
        return (
            "; the mirror no longer has a locked package version: pass --apt-snapshot DATE (the lock's capture "
            "date), or --system-packages none"
        )
    return ""


# apt-get update's warning for a mirror it could not read (it then exits 0, and apt-get install finds no package):
# "W: Failed to fetch http://deb.../InRelease  Could not resolve 'deb...'" (two spaces before the reason).
_APT_FETCH_FAILED = re.compile(r"[WE]: Failed to fetch (\S+)\s+(.+)")


class _Layers:
    """What the classic builder's output says about the images it makes (`` ---> <id>`` after each step)."""

    def __init__(self, hold: Hold | None = None, client: docker.DockerClient | None = None) -> None:
        self.hold = hold
        self.client = client
        self.image_id = ""
        self.created: list[str] = []  # made by this build, oldest first
        self.stages: list[str] = []  # the last image of each stage before the final one
        self.tail: list[str] = []
        self.fetch_failed = ""  # the first mirror apt could not read, and why (``_APT_FETCH_FAILED``)
        # The step under way when it makes its image with no container (COPY, ADD), and the image it starts from:
        # a cancelled build still finishes such a step and commits its image (``_cancel`` waits for it).
        self.copying = ""
        self.copy_parent = ""
        self._cached = False
        self._last = ""

    def read(self, line: str) -> None:
        self.tail = [*self.tail[-9:], line]
        failed = None if self.fetch_failed else _APT_FETCH_FAILED.fullmatch(line)
        if failed:
            self.fetch_failed = f"{failed.group(1)}: {failed.group(2)}"
        instruction = re.match(r"Step \d+/\d+ : (\S+)", line)
        if instruction:
            self.copying = line if instruction.group(1).upper() in ("COPY", "ADD") else ""
            self.copy_parent = self._last
        elif line.startswith("---> "):
            self.copying = ""  # the step is done (or taken from the cache): no image is still to come
        stage = re.match(r"Step \d+/\d+ : FROM ", line) is not None
        if stage and self._last:
            self.stages.append(self._last)
            self.record(self._last)
            if self.hold is not None:
                self.hold.take(self._last)
        if line == "---> Using cache" or stage:
            # The base image and cached layers belong to others: never this build's to remove.
            self._cached = True
            return
        step = re.fullmatch(r"---> ([0-9a-f]{12,64})", line)
        if step:
            if not self._cached:
                self.created.append(step.group(1))
            self._cached = False
            self._last = step.group(1)
        built = re.match(r"Successfully built ([0-9a-f]+)", line)
        if built and not self.image_id:
            self.image_id = built.group(1)

    def record(self, image: str) -> None:
        """Note that this build made ``image`` (a stage's last image, the final one), by its full id, as soon as it is
        there: what ``clean --images`` and a later rebuild to the same tag know envsnap built by (never its labels
        alone), a clean run while the build goes on included (``_built``)."""
        if self.client is not None and image:
            _built.record(image_id_of(self.client, image))

    def let_go(self) -> None:
        """Release the earlier stages' images (the build ended): they are removed next, or left to the cache."""
        if self.hold is not None:
            for image in self.stages:
                self.hold.release(image)

    def discard_stages(self, client: docker.DockerClient) -> None:
        """After a build: remove the last image of each earlier stage this build made (the installer stage, which
        holds uv and the wheels; with it go its untagged parents). The final image stays, and so does every stage
        it is built on: the engine refuses, unforced, to remove an image another one is made from."""
        for image in self.stages:
            if image in self.created:
                with contextlib.suppress(Exception):
                    client.images.remove(image, force=False)

    def discard(self, client: docker.DockerClient) -> None:
        for image in reversed(self.created):
            # Not forced: an image something else has tagged or runs stays.
            with contextlib.suppress(Exception):
                client.images.remove(image, force=False)


@frozen
class _Leftovers:
    """The containers and images carrying a build's label before it started (they are not the build's)."""

    label: str
    containers: frozenset[str]
    images: frozenset[str]

    @classmethod
    def of(cls, client: docker.DockerClient, label: str) -> _Leftovers:
        if not label:
            return cls(label, frozenset(), frozenset())
        try:
            containers, images = _labelled_containers(client, label), _labelled_images(client, label)
        except Exception:  # an engine that cannot list: cleaning up after Ctrl-C falls back on the stream's ids
            return cls("", frozenset(), frozenset())
        return cls(label, frozenset(containers), frozenset(images))


def _labelled_containers(client: docker.DockerClient, label: str) -> list[str]:
    return [str(c["Id"]) for c in client.api.containers(all=True, filters={"label": label})]


def _labelled_images(client: docker.DockerClient, label: str) -> list[str]:
    """Ids of every image (intermediate ones too) carrying ``label``, newest first."""
    found = client.api.images(all=True, filters={"label": label})
    return [str(i["Id"]) for i in sorted(found, key=lambda i: i.get("Created", 0), reverse=True)]


def _cancel(client: docker.DockerClient, stream: Any, layers: _Layers, before: _Leftovers, progress: Progress) -> None:
    """After Ctrl-C: end the build in the daemon, then remove the containers and images it made."""
    with contextlib.suppress(Exception):
        if stream is not None:
            stream.close()
    with contextlib.suppress(Exception):
        client.api.close()  # drops the connection: the daemon cancels the build and kills its step's container
    if before.label:
        deadline = time.monotonic() + CANCEL_TIMEOUT
        while time.monotonic() < deadline:
            try:
                running = [c for c in _labelled_containers(client, before.label) if c not in before.containers]
            except Exception:
                break
            if not running:
                break
            for container in running:
                with contextlib.suppress(Exception):
                    client.api.remove_container(container, force=True)
            time.sleep(0.5)
        if layers.copying:
            progress("waiting for the engine to finish the copy it was making (it cannot be stopped), to remove it")
            _await_copy(client, before, layers.copy_parent, layers.created)
        with contextlib.suppress(Exception):
            for image in _labelled_images(client, before.label):
                if image not in before.images:
                    # Newest first; removing an untagged image also removes its untagged parents.
                    with contextlib.suppress(Exception):
                        client.api.remove_image(image, force=False)
    layers.discard(client)


def _await_copy(client: docker.DockerClient, before: _Leftovers, parent: str, made: list[str]) -> None:
    """Wait for the image of the COPY or ADD step a cancelled build was in: a new image carrying the build's label
    whose parent is the step's starting image, and not one the build said it ``made`` already (another stage's
    first step on the same image). The daemon commits it after its client went away; removed before it is there,
    the build's cleanup missed it and it stayed (as large as what it copied). When an image made before the build
    has that parent, the step is most likely taken from the cache and makes none: the wait is then as short as a
    container's."""
    deadline = time.monotonic() + COPY_TIMEOUT
    while parent and time.monotonic() < deadline:
        try:
            found = client.api.images(all=True, filters={"label": before.label})
        except Exception:
            return
        for image in found:
            if str(image.get("ParentId") or "").removeprefix("sha256:").startswith(parent):
                ident = str(image["Id"])
                if ident not in before.images and not any(ident.removeprefix("sha256:").startswith(m) for m in made):
                    return
                deadline = min(deadline, time.monotonic() + CANCEL_TIMEOUT)
        time.sleep(0.5)


def run_in_image(
    client: docker.DockerClient,
    image: str,
    command: list[str],
    *,
    timeout: int = VERIFY_TIMEOUT,
    files: Mapping[str, bytes] | None = None,
) -> tuple[int, bytes, bytes]:
    """Run ``command`` in a network-less container of ``image``: (exit status, stdout, stderr). The container is
    waited for, its logs read, and only then removed: the SDK's ``containers.run(remove=True)`` joins its log
    stream after removing the container and can lose the output of a command that exits at once. ``files``: file
    name -> bytes, put in the container's root before it starts (in the container alone: the image is as built).
    Engine errors propagate (``_engine_errors``)."""
    container = None
    try:
        container = client.containers.create(image, command, network_disabled=True, entrypoint=[])
        if files:
            container.put_archive("/", _tar_of(files))
        container.start()
        status = container.wait(timeout=timeout)
        out = container.logs(stdout=True, stderr=False)
        err = container.logs(stdout=False, stderr=True)
    finally:
        if container is not None:
            with contextlib.suppress(Exception):
                container.remove(force=True)
    return int(status.get("StatusCode", -1)), bytes(out), bytes(err)


def _tar_of(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# The lock a rebuild was given, where the image's own (``/envsnap.lock``, the bundle's) is not the one its files are
# verified against (``judged_for``): put beside it in the container that verifies the image, never in the image.
GIVEN_LOCK = "envsnap-given.lock"


def verify_image(client: docker.DockerClient, image_id: str, say: Progress, given: bytes = b"") -> VerifyReport:
    """Run ``envsnap verify --json`` in a network-less container of the image; its report. ``given``: the text of
    the lock to verify against, where it is not the image's ``/envsnap.lock``."""
    from ..compare.verify import VerifyReport

    lock = f"/{GIVEN_LOCK}" if given else "/envsnap.lock"
    say(f"verifying the image: envsnap verify {lock} --json --no-cache (no network)")
    try:
        command = ["envsnap", "verify", lock, "--json", "--no-cache"]
        code, raw_out, raw_err = run_in_image(client, image_id, command, files={GIVEN_LOCK: given} if given else None)
    except _engine_errors() as exc:
        raise RebuildError(f"could not run envsnap verify in the image: {short(exc)}") from exc
    out = raw_out.decode(errors="replace")
    err = raw_err.decode(errors="replace")
    try:
        data = json.loads(out)
    except json.JSONDecodeError as exc:
        raise RebuildError(
            f"envsnap verify in the image exited {code} without a report: "
            f"{last_line(err) if err.strip() else out[-300:]}"
        ) from exc
    return report_from_json(data, VerifyReport)


def report_from_json(data: Mapping[str, Any], report_type: type[VerifyReport]) -> VerifyReport:
    from ..compare.verify import Difference

    diffs = tuple(
        Difference(**{k: v for k, v in d.items() if k in Difference.__dataclass_fields__})
        for d in data.get("differences", ())
    )
    return report_type(
        lock=str(data.get("lock", "")),
        target=str(data.get("target", "")),
        packages_checked=int(data.get("packages_checked", 0)),
        differences=diffs,
    )


def tag(client: docker.DockerClient, image_id: str, repository: str, tag: str) -> None:
    """Tag the built image ``repository:tag``; the engine's refusal is a ``RebuildError`` (one line)."""
    import docker

    try:
        client.api.tag(image_id, repository, tag)
    except docker.errors.APIError as exc:
        reason = str(getattr(exc, "explanation", "") or exc).strip().splitlines()[0][:300]
        raise RebuildError(f"the engine refused the tag {repository}:{tag}: {reason}") from None


def remove_image(client: docker.DockerClient, image_id: str) -> None:
    """Remove the untagged image a build just made (forced: a leftover stopped container must not keep it)."""
    with contextlib.suppress(Exception):
        client.images.remove(image_id, force=True)
        _built.forget(image_id)


def take_back(client: docker.DockerClient, image_id: str, reference: str, previous: str) -> None:
    """Undo a rebuild that failed once its image ``image_id`` was built (and maybe tagged ``reference``): the tag
    goes back to ``previous``, the image it named before ("" when none), and the new image is removed. Removed with
    force, it took the tag with it and left ``previous`` untagged. An image the engine already had (a build wholly
    from its cache made ``previous`` again) is left as it was."""
    if previous == image_id:
        return
    if previous and image_id_of(client, reference) == image_id:  # moved here, not by another run since
        with contextlib.suppress(Exception):  # the image was removed meanwhile: then the tag goes with the new one
            client.api.tag(previous, *split_reference(reference))
    remove_image(client, image_id)


def image_id_of(client: docker.DockerClient, reference: str) -> str:
    """The id of the image ``reference`` names now; "" when none (or the engine cannot say)."""
    try:
        return str(client.api.inspect_image(reference)["Id"])
    except Exception:  # not found, or an engine error: then there is nothing known to replace
        return ""


def _labels(client: docker.DockerClient, image_id: str) -> dict[str, str]:
    """The image's labels ({} when it has none; an engine error is the caller's)."""
    return (client.api.inspect_image(image_id).get("Config") or {}).get("Labels") or {}


def built_by_envsnap(client: docker.DockerClient, image_id: str) -> bool:
    """Whether envsnap's docker rebuild built ``image_id``: its build recorded the id (``_built``; an image id is
    the digest of the image's configuration, so no other image has it), and it looks as envsnap's Dockerfile makes
    it (``made_as_envsnap``). The look alone is text anyone who builds an image can write."""
    return _built.recorded(image_id) and made_as_envsnap(client, image_id)


def made_as_envsnap(client: docker.DockerClient, image_id: str) -> bool:
    """Whether ``image_id`` looks as envsnap's Dockerfile makes an image: it carries envsnap's label and its last
    step is the Dockerfile's last (the final image) or the installer stage's. An image built FROM one of envsnap's
    carries the same labels, but steps of its own after them: it is the user's. Any Dockerfile can say the same:
    this is no proof that envsnap built it (``built_by_envsnap``)."""
    try:
        labels = _labels(client, image_id)
        history = client.api.history(image_id)
    except Exception:
        return False
    if LABEL_DIGEST not in labels or not history:
        return False
    last = str(history[0].get("CreatedBy") or "")  # newest first
    return last.endswith(VERIFY_STEP) or last.endswith(INSTALLER_STEP_END)


def remove_replaced(client: docker.DockerClient, previous: str, tag: str) -> str:
    """After ``tag`` moved to a new image: remove ``previous``, the image it named before, when envsnap built it
    and no other tag or digest names it (a pushed image, or one pulled by digest, is reached as ``repo@sha256:...``
    with no tag); never forced (an image a container uses, or one another is built on, stays). What was done, in
    words ("" when ``previous`` is not envsnap's, or still named)."""
    try:
        facts = client.api.inspect_image(previous)
        if facts.get("RepoTags") or facts.get("RepoDigests") or not built_by_envsnap(client, previous):
            return ""
    except Exception:  # the engine cannot say: nothing is removed
        return ""
    why = remove_untagged(client, previous)
    if why:  # in use: the image stays, and the user is told how to go on
        return (
            f"kept the image {tag} named before, {previous}, now untagged: {why} "
            "(`envsnap clean --images` removes it once no container uses it)"
        )
    return f"removed {previous}, the image envsnap built as {tag} before, now untagged"


def dangling_images(client: docker.DockerClient, label: str = LABEL_DIGEST) -> list[tuple[str, int, str, bool]]:
    """The untagged images made as envsnap's Dockerfile makes them (``made_as_envsnap``) carrying ``label`` (a key,
    or ``key=value``), with their sizes, lock content digests (the listing's labels) and whether envsnap's rebuild
    built them (``built_by_envsnap``): a replaced rebuild's kept by a container since gone; a hand build's
    installer stage, or a stranger's look-alike, not built by envsnap."""
    found = client.api.images(filters={"dangling": True, "label": label})
    return [
        (
            str(i["Id"]),
            int(i.get("Size") or 0),
            str((i.get("Labels") or {}).get(LABEL_DIGEST) or ""),
            _built.recorded(str(i["Id"])),
        )
        for i in found
        if made_as_envsnap(client, str(i["Id"]))
    ]


def remove_untagged(client: docker.DockerClient, image_id: str) -> str:
    """Remove an untagged image, never forced; "" when removed, else why it stays (a container uses it, an image
    is built on it)."""
    try:
        client.api.remove_image(image_id, force=False, noprune=False)
    except Exception as exc:
        # The engine's refusal names the container by a short id, after the request's URL: the containers by name.
        explained = str(getattr(exc, "explanation", "") or "").strip().splitlines()
        return users_of(client, image_id) or (explained[0][:300] if explained else short(exc))
    _built.forget(image_id)
    return ""


# On a container (created, never started) that a running docker rebuild holds one of its untagged images with:
# "HOST PID start=TICKS boot=ID pidns=INODE", the rebuild's machine and process, and what tells that process from
# any other: its start time (clock ticks after boot, field 22 of /proc/PID/stat), the kernel's boot id and its pid
# namespace. A hold written before these (or where /proc could not tell them) is "HOST PID".
LABEL_HOLD = "org.envsnap.hold"
HOLD_PREFIX = "envsnap-hold-"  # the name of every such container begins so

# What ``Holder.judged`` finds of a hold's rebuild.
HOLD_GONE = "gone"  # ended: in this boot and pid namespace, its pid is gone or another process's
HOLD_RUNNING = "running"  # in this boot and pid namespace, its pid is the process that made the hold
HOLD_ELSEWHERE = "elsewhere"  # another boot, pid namespace or machine: cannot be told from here
HOLD_UNRECORDED = "unrecorded"  # an older hold, recording host and pid only: cannot be told
HOLD_UNREADABLE = "unreadable"  # its pid runs, but /proc does not give its start time here


def _process_start(pid: int | str) -> int:
    """A process's start time in clock ticks after boot (field 22 of /proc/PID/stat; ``pid`` may be "self"), 0
    where it cannot be read."""
    fields = _procstat.stat_fields(pid)
    start = fields[_procstat.START_TIME] if len(fields) > _procstat.START_TIME else ""
    return int(start) if start.isdigit() else 0


_BOOT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_INODE = re.compile(r"[0-9]{1,20}")


def _this_kernel() -> tuple[str, str]:
    """This process's boot id and pid namespace (its inode), ("", "") where /proc cannot tell: none (not Linux), or
    one mounted for another pid namespace, whose pids are not this process's."""
    try:
        if os.readlink("/proc/self") != str(os.getpid()):
            return "", ""
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot_id:
            boot = boot_id.read(64).strip()
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
    except (OSError, ValueError):
        return "", ""
    if not _BOOT_ID.fullmatch(boot) or not _INODE.fullmatch(namespace):
        return "", ""
    return boot, namespace


def hold_label() -> str:
    """``LABEL_HOLD``'s value for a hold this process takes."""
    boot, namespace = _this_kernel()
    start = _process_start("self") if boot else 0
    known = f" start={start} boot={boot} pidns={namespace}" if start else ""
    return f"{os.uname().nodename} {os.getpid()}{known}"


class Hold:
    """The untagged images a running rebuild still needs (its installer stage until the build ends, its new image
    until it is tagged), each held in the engine by a container made from it and never started: the engine refuses
    an unforced removal of an image a container uses, whoever asks (``envsnap clean --images`` with another
    temporary folder, another user, another machine on the same engine, ``docker image prune``). Where the engine
    refuses the container the image goes unheld, as before. ``release`` removes the containers."""

    def __init__(self, client: docker.DockerClient):
        self.client = client
        self.containers: dict[str, str] = {}  # image -> container

    def take(self, image: str) -> None:
        if not image or image in self.containers:
            return
        holder = hold_label()
        name = f"{HOLD_PREFIX}{image.removeprefix('sha256:')[:12]}-{os.urandom(3).hex()}"
        with contextlib.suppress(Exception):
            # ``true`` alone, as ``holders`` knows a hold: an image on ``nvidia/cuda`` inherits its ENTRYPOINT.
            made = self.client.api.create_container(
                image, ["true"], entrypoint=[], labels={LABEL_HOLD: holder}, name=name, network_disabled=True
            )
            self.containers[image] = str(made["Id"])

    def release(self, image: str = "") -> None:
        """Let ``image`` go (every image held, by default)."""
        for held in [image] if image else list(self.containers):
            container = self.containers.pop(held, "")
            if container:
                remove_container(self.client, container)


@contextlib.contextmanager
def holding(client: docker.DockerClient) -> Iterator[Hold]:
    """A ``Hold`` whose containers are all removed when the block ends, however it ends."""
    hold = Hold(client)
    try:
        yield hold
    finally:
        hold.release()


@frozen
class Holder:
    """A container ``Hold`` made: its name and id, the machine and process of the rebuild that holds it, and what
    tells that process from another (0 and "" where the label records none: an older hold)."""

    container: str
    id: str  # the container's, as the engine listed it: what is judged is removed, never a name taken again since
    host: str
    pid: int
    start: int = 0  # clock ticks after boot (/proc/PID/stat field 22)
    boot: str = ""  # /proc/sys/kernel/random/boot_id
    pidns: str = ""  # the inode of /proc/PID/ns/pid

    @classmethod
    def read(cls, container: str, container_id: str, label: str) -> Holder:
        """The holder a ``LABEL_HOLD`` value names; a field out of its grammar is taken as not recorded (anyone who
        reaches the engine may write the label: such a hold cannot be judged, and is kept)."""
        host, pid, *rest = [*label.split(" ", 5), "", ""]
        fields = dict(field.partition("=")[::2] for field in rest if field)
        start, boot, pidns = fields.get("start", ""), fields.get("boot", ""), fields.get("pidns", "")
        return cls(
            container,
            container_id,
            host[:256],
            int(pid) if _INODE.fullmatch(pid) else 0,
            int(start) if _INODE.fullmatch(start) else 0,
            boot if _BOOT_ID.fullmatch(boot) else "",
            pidns if _INODE.fullmatch(pidns) else "",
        )

    def judged(self) -> str:
        """Whether the rebuild that made the hold has ended (``HOLD_GONE``), which is said only where it is proved:
        in this boot and pid namespace, its pid is gone, or is a process that started at another time (the pid was
        taken again). Another boot, namespace or machine (the same host name says nothing: a container's rebuild
        shares it), an older hold that records no start time, and a pid whose start time cannot be read are
        kept: another rebuild's image is never removed under it."""
        if self.pid <= 0 or not (self.start and self.boot and self.pidns):
            return HOLD_UNRECORDED
        if (self.boot, self.pidns) != _this_kernel():
            return HOLD_ELSEWHERE
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return HOLD_GONE
        except PermissionError:  # another user's process: its start time still tells
            pass
        except OSError:
            return HOLD_UNREADABLE
        start = _process_start(self.pid)
        if not start:
            return HOLD_UNREADABLE
        return HOLD_RUNNING if start == self.start else HOLD_GONE


def holders(client: docker.DockerClient) -> dict[str, list[Holder]]:
    """The images ``Hold`` containers hold now, by id, each with all its holders (two rebuilds of one lock hold the
    same image, each with its own container); {} where the engine cannot list them. A container is taken for a hold
    only where it is one as ``Hold.take`` makes it: named ``envsnap-hold-*``, its command ``true`` (or, as an older
    envsnap made it, ``true`` after the image's own entrypoint), never started (so it holds no state of its own,
    and removing it loses nothing). Anyone may put the label on another container
    (a running one, one started once): that one is no hold, and a clean leaves it, and its image, as it leaves any
    container's."""
    try:
        found = client.api.containers(all=True, filters={"label": LABEL_HOLD})
    except Exception:
        return {}
    held: dict[str, list[Holder]] = {}
    for container in found:
        name = _container_name(container)
        if not _is_a_hold(client, container, name):
            continue
        holder = Holder.read(name, str(container["Id"]), str((container.get("Labels") or {}).get(LABEL_HOLD) or ""))
        held.setdefault(str(container.get("ImageID") or ""), []).append(holder)
    return held


def _is_a_hold(client: docker.DockerClient, container: dict[str, Any], name: str) -> bool:
    if not name.startswith(HOLD_PREFIX) or container.get("State") != "created":
        return False
    return str(container.get("Command") or "") == "true" or _an_older_hold(client, container)


def _an_older_hold(client: docker.DockerClient, container: dict[str, Any]) -> bool:
    """Whether ``container`` is a hold as an envsnap before ``entrypoint=[]`` made one on an image with an
    ENTRYPOINT: its command ``true`` after the image's own entrypoint, inherited unchanged (its listed command is
    "ENTRYPOINT true"). A container whose entrypoint is not its image's is none."""
    try:
        config = client.api.inspect_container(container["Id"]).get("Config") or {}
        image = client.api.inspect_image(str(container.get("ImageID") or "")).get("Config") or {}
    except Exception:
        return False
    entrypoint = config.get("Entrypoint")
    return config.get("Cmd") == ["true"] and bool(entrypoint) and entrypoint == image.get("Entrypoint")


def _container_name(container: dict[str, Any]) -> str:
    """A container's name, as the engine's listing gives it (its short id where it has none)."""
    return str((container.get("Names") or ["/" + str(container["Id"])[:12]])[0]).lstrip("/")


def remove_container(client: docker.DockerClient, container_id: str) -> None:
    with contextlib.suppress(Exception):
        client.api.remove_container(container_id, force=True)


def release(client: docker.DockerClient, holder: Holder) -> str:
    """Remove the hold ``holder`` names, judged gone: the container of its id (one made since under its name is
    another's), unforced and only while it is never started, as it was when judged (one started since is not what
    was judged). "" where it is gone, else why it stays."""
    import docker  # type: ignore[import-untyped,unused-ignore]

    try:
        if (client.api.inspect_container(holder.id).get("State") or {}).get("Status") != "created":
            return "it was started since it was judged"
        client.api.remove_container(holder.id)
    except docker.errors.NotFound:
        return ""  # removed meanwhile
    except Exception as exc:
        return f"the Docker engine did not remove it: {short(exc)}"
    return ""


def users_of(client: docker.DockerClient, image_id: str) -> str:
    """Why ``image_id`` cannot be removed when containers use it: "the stopped container NAME uses it" (at most
    three named), "" when none does or the engine cannot say."""
    try:
        found = [c for c in client.api.containers(all=True) if c.get("ImageID") == image_id]
    except Exception:
        return ""
    if not found:
        return ""

    def named(container: dict[str, Any]) -> str:
        state = "running" if container.get("State") == "running" else "stopped"
        name = _container_name(container)
        return f"{state} container {name}"

    shown = ", ".join(map(named, found[:3])) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
    return f"the {shown} {'uses' if len(found) == 1 else 'use'} it"


def _image_file(reference: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", reference).strip("_") + ".tar"


def saved_image(bundle_root: Path, reference: str) -> str:
    """The bundle's saved archive of the image ``reference`` (``images/NAME.tar``), "" where it saved none."""
    name = _image_file(reference)
    return f"{IMAGES}/{name}" if (Path(bundle_root) / IMAGES / name).is_file() else ""


def remove_other_saved(bundle_root: Path, kept: Path) -> None:
    """Remove from the bundle's ``images/`` every file but the saved archive ``kept`` and its ``.json``: the images
    an earlier ``bundle --with-base-image`` saved of another base, which the bundle carried on unused (and several
    saved images left a rebuild naming no base to choose among them)."""
    keep = {kept.name, kept.with_suffix(".json").name}
    folder = Path(bundle_root) / IMAGES
    for entry in sorted(folder.iterdir()):
        if entry.name in keep or entry.name.startswith("."):  # a hidden one is a running save's (``held_file``)
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


MAX_IMAGE_JSON = 1 << 20  # an images/*.json is a few hundred bytes
MAX_IMAGE_CONFIG = 16 << 20  # a saved image's config: a few KiB, its history and labels included


def bundled_facts(bundle_root: Path, *, checked: bool = True) -> dict[str, baseimage.ImageFacts]:
    """What the bundle's saved base images are (from the .json written beside each), by reference. Each file is
    untrusted input: anything but the shape ``save_image`` writes is a one-line ``BadBundleError``. ``checked``:
    each archive is checked against its .json too (the audit's look at the whole bundle); a rebuild reads them
    unchecked and checks the one it builds on (``bundled_image``)."""
    facts = {}
    folder = Path(bundle_root) / IMAGES
    for meta in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        reference, image = _read_image_json(meta)
        if checked:
            _check_saved(folder / _image_file(reference), image.image_id)
        facts[reference] = image
    return facts


def bundled_image(bundle_root: Path, reference: str) -> baseimage.ImageFacts | None:
    """The bundle's saved image of ``reference``, its archive checked against its .json; None where it saved none.
    The id the .json pins is the saved archive's own (its config digest): a .json naming another image the engine
    has made the build run FROM that image, its archive never read (only a missing image was). Only this one is
    checked: a damaged image the rebuild does not use stopped every rebuild of the bundle."""
    facts = bundled_facts(bundle_root, checked=False).get(reference)
    if facts is not None:
        _check_saved(Path(bundle_root) / IMAGES / _image_file(reference), facts.image_id)
    return facts


MAX_DPKG_STATUS = 64 << 20  # a Debian image's /var/lib/dpkg/status is a few MiB
_DPKG_STATUS = "var/lib/dpkg/status"


def saved_dpkg_status(bundle_root: Path, reference: str) -> str | None:
    """The text of ``/var/lib/dpkg/status`` in the bundle's saved image of ``reference``, read from its layers with
    no engine (the top-most layer that writes or removes it decides): what ``dpkg-query`` in a container of that
    image reads. None when the bundle saved no such image or it has no dpkg. The archive was checked against the
    bundle's .json (``bundled_facts``); one it cannot read, or a status file over the bound, is ``BadBundleError``."""
    if bundled_image(bundle_root, reference) is None:
        return None
    source = Path(bundle_root) / IMAGES / _image_file(reference)
    text: str | None = None
    try:
        with tarfile.open(source, "r:") as tar:
            by_name = {(m.name[2:] if m.name.startswith("./") else m.name): m for m in tar.getmembers()}
            manifest = _json_member(tar, by_name.get("manifest.json"), source)
            layers = manifest[0].get("Layers") if isinstance(manifest, list) and manifest else None
            if not isinstance(layers, list) or not all(isinstance(n, str) and n in by_name for n in layers):
                raise BadBundleError(f"{source}: manifest.json names layers it does not hold")
            for name in layers:
                handle = tar.extractfile(by_name[name])
                if handle is None:
                    raise BadBundleError(f"{source}: layer {grammar.shown(name)} is not a file")
                with tarfile.open(fileobj=handle, mode="r:*") as layer:
                    for member in layer:
                        path = member.name[2:] if member.name.startswith("./") else member.name
                        if path in (_DPKG_STATUS, "var/lib/dpkg/.wh.status", "var/lib/dpkg/.wh..wh..opq"):
                            text = None
                        if path != _DPKG_STATUS or not member.isreg():
                            continue
                        if member.size > MAX_DPKG_STATUS:
                            raise BadBundleError(f"{source}: /{_DPKG_STATUS} is over {MAX_DPKG_STATUS >> 20} MiB")
                        data = layer.extractfile(member)
                        text = data.read().decode("utf-8", "replace") if data is not None else None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BadBundleError(f"{source}: not a readable saved image ({short(exc)})") from None
    return text


def image_dpkg_status(client: docker.DockerClient, image: str) -> str | None:
    """The text of ``/var/lib/dpkg/status`` in the engine's ``image``, copied out of a container that is created
    and never started (nothing of the image runs): what ``dpkg-query`` in a container of it reads. None when the
    image has no such file or the engine cannot tell; a file over the bound is None too (not a Debian image's)."""
    import docker as docker_sdk  # type: ignore[import-untyped,unused-ignore]

    container = None
    try:
        container = client.api.create_container(image, command=["true"], entrypoint=[], network_disabled=True)
        stream, _stat = client.api.get_archive(container["Id"], f"/{_DPKG_STATUS}")
        body, size = bytearray(), 0
        for chunk in stream:
            size += len(chunk)
            if size > MAX_DPKG_STATUS + (1 << 20):
                return None
            body += chunk
    except (docker_sdk.errors.NotFound, docker_sdk.errors.ImageNotFound):
        return None
    except _engine_errors(OSError) as exc:
        raise RebuildError(f"the Docker engine could not read /{_DPKG_STATUS} of {image}: {short(exc)}") from exc
    finally:
        if container is not None:
            with contextlib.suppress(Exception):
                client.api.remove_container(container["Id"], force=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(bytes(body)), mode="r:") as tar:
            member = next((m for m in tar if m.isreg() and m.name.rsplit("/", 1)[-1] == "status"), None)
            data = tar.extractfile(member) if member is not None and member.size <= MAX_DPKG_STATUS else None
            return data.read().decode("utf-8", "replace") if data is not None else None
    except (tarfile.TarError, OSError, EOFError):
        return None


def _check_saved(archive: Path, image_id: str) -> None:
    """``untag_image_archive``'s check of ``archive`` against ``image_id``, once per state of the file in this
    process: a rebuild reads the bundle's saved images for its plan, its base, and its load."""
    try:
        info = archive.stat()
    except OSError:
        info = None
    key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns) if info is not None else None
    _checked_saved(str(archive), image_id, key)


@functools.lru_cache(maxsize=16)
def _checked_saved(archive: str, image_id: str, _state: tuple[int, int, int, int] | None) -> None:
    untag_image_archive(Path(archive), image_id)  # raises BadBundleError: an error is never remembered


def image_identity(data: Any, bad: Callable[[str], BadBundleError]) -> tuple[str, str, list[str]]:
    """The ``reference``, ``id`` and ``repo_digests`` of an image a bundle's JSON file describes (a saved image's
    ``images/*.json``, ``system-base.json``), each checked against its grammar; ``bad(why)`` is raised for a file
    that is no JSON object or a value outside it (a stranger's file)."""
    if not isinstance(data, dict):
        raise bad("not a JSON object")
    reference, image_id, digests = data.get("reference"), data.get("id"), data.get("repo_digests", [])
    if not isinstance(reference, str) or not baseimage.is_reference(reference):
        raise bad(f"reference {grammar.shown(reference)}")
    if not isinstance(image_id, str) or not grammar.is_image_digest(image_id):
        raise bad(f"id {grammar.shown(image_id)} is not sha256:<64 hex digits>")
    if not isinstance(digests, list) or not all(
        isinstance(d, str)
        and "@" in d
        and baseimage.is_reference(d.split("@", 1)[0])
        and grammar.is_image_digest(d.split("@", 1)[1])
        for d in digests
    ):
        raise bad(f"repo_digests {grammar.shown(digests)}")
    return reference, image_id, digests


def _read_image_json(meta: Path) -> tuple[str, baseimage.ImageFacts]:
    def bad(why: str) -> BadBundleError:
        return BadBundleError(f"{meta}: not an image description envsnap wrote ({why})")

    # Bounded like every untrusted file (size, nesting, number length, duplicate keys): one line, never a traceback.
    data = _readlimits.read_json(meta, error=lambda msg: bad(msg.replace(f"{meta}: ", "")), limit=MAX_IMAGE_JSON)
    reference, image_id, digests = image_identity(data, bad)
    env, arch = data.get("env", {}), data.get("architecture", "")
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and not grammar.has_control(k + v) for k, v in env.items()
    ):
        raise bad("env is not a table of strings")
    if not isinstance(arch, str) or not re.fullmatch(r"[a-z0-9_]{0,32}", arch):
        raise bad(f"architecture {grammar.shown(arch)}")
    if meta.with_suffix(".tar").name != _image_file(reference):
        raise bad(f"it describes {grammar.shown(reference)}, saved as {_image_file(reference)}")
    return reference, baseimage.ImageFacts(
        image_id=image_id, repo_digests=tuple(digests), env=dict(env), architecture=arch
    )


def with_bundled(inspect: baseimage.Inspector | None, bundle_root: Path | None) -> baseimage.Inspector | None:
    """Inspect through the engine, but a reference the bundle saved is the bundle's image (which ``execute``
    loads, untagged): the engine's image of that name counts only when it is the very image the bundle pins
    (another image under the same tag is not the one the supplement was built on)."""
    saved = bundled_facts(bundle_root, checked=False) if bundle_root is not None else {}
    if bundle_root is None or not saved:
        return inspect
    root = bundle_root

    def look(reference: str) -> baseimage.ImageFacts | None:
        found = inspect(reference) if inspect is not None else None
        if reference not in saved:
            return found
        bundled_image(root, reference)  # the one looked up is checked, no other saved image
        if found is not None and found.image_id == saved[reference].image_id:
            return dataclasses.replace(found, bundled=True)
        # A loaded image has no tag and no registry digest locally, so FROM pins it by id.
        return dataclasses.replace(saved[reference], repo_digests=(), bundled=True)

    return look


def load_bundled_image(client: docker.DockerClient, bundle_root: Path, reference: str, say: Progress) -> None:
    """Load the bundle's saved image of ``reference`` (the base a rebuild builds on) where the engine lacks it (the
    registry may have dropped it); nothing where the bundle saved none. Another image the bundle saved is left
    unread: every one the engine lacked was loaded, gigabytes of images no build used, from an untrusted bundle.

    The image is loaded only when its config digest, read from the archive before anything is sent to the
    engine, is the id its ``.json`` pins; and loaded without its tags (a copy of the archive with none is what
    the engine gets), so no image the engine already has under a name is replaced. It is then found by that id
    and tagged ``envsnap/base:<12 hex digits>`` only."""
    look = inspector(client)
    facts = bundled_image(bundle_root, reference)
    if facts is None or look(facts.image_id) is not None:
        return
    archive = Path(bundle_root) / IMAGES / _image_file(reference)
    pinned = "" if reference == facts.image_id else f" ({facts.image_id})"  # saved by its id: said once
    say(f"loading the bundled base image {reference}{pinned} without its tags")
    untagged = untag_image_archive(archive, facts.image_id)  # checked before the engine sees a byte
    try:
        with transfer(say, f"loaded {reference}", untagged.size) as advance, patient(client):
            for chunk in client.api.load_image(_Reader(untagged, advance), quiet=True) or ():
                if isinstance(chunk, dict) and chunk.get("error"):
                    raise RebuildError(f"the Docker engine could not load {archive}: {chunk['error']}")
    except _engine_errors(OSError) as exc:
        raise RebuildError(f"the Docker engine could not load {archive}: {short(exc)}") from exc
    loaded = look(facts.image_id)
    if loaded is None or loaded.image_id != facts.image_id:
        raise RebuildError(f"{archive}: the engine did not get image {facts.image_id} from it")
    client.api.tag(facts.image_id, *loaded_tag(facts.image_id).split(":"))


_BLOCK = tarfile.BLOCKSIZE


@frozen
class UntaggedArchive:
    """A checked ``docker save`` archive as the engine gets it: its members' headers (tags taken out) and, for
    each, the replaced bytes or where its data lies in the source file. Nothing is copied to disk: ``chunks``
    reads the source as the engine reads the archive."""

    source: Path
    parts: tuple[bytes | tuple[int, int], ...]  # bytes as they are, or (offset, size) of data in the source

    @property
    def size(self) -> int:
        return sum(len(p) if isinstance(p, bytes) else -(-p[1] // _BLOCK) * _BLOCK for p in self.parts)

    def chunks(self) -> Iterator[bytes]:
        with open(self.source, "rb") as raw:
            for part in self.parts:
                if isinstance(part, bytes):
                    yield part
                    continue
                offset, left = part
                raw.seek(offset)
                while left:
                    block = raw.read(min(left, 1 << 20))
                    if not block:
                        raise BadBundleError(f"{self.source}: changed while it was loaded (shorter than it was)")
                    left -= len(block)
                    yield block
                if part[1] % _BLOCK:
                    yield b"\0" * (-part[1] % _BLOCK)


class _Reader:
    """An ``UntaggedArchive`` as a file the SDK sends with its length, each read counted by ``advance``."""

    def __init__(self, archive: UntaggedArchive, advance: Callable[[int], None]):
        self._size, self._chunks, self._advance = archive.size, archive.chunks(), advance
        self._chunk, self._pos = b"", 0

    def __len__(self) -> int:  # what requests sends as Content-Length
        return self._size

    def read(self, size: int = -1) -> bytes:
        out = []
        want = size if size >= 0 else self._size
        while want > 0:
            if self._pos >= len(self._chunk):
                following = next(self._chunks, None)
                if following is None:
                    break
                self._chunk, self._pos = following, 0
                continue
            piece = self._chunk[self._pos : self._pos + want]
            self._pos += len(piece)
            want -= len(piece)
            out.append(piece)
        data = b"".join(out)
        self._advance(len(data))
        return data


def untag_image_archive(source: Path, image_id: str) -> UntaggedArchive:
    """A ``docker save`` archive without any name in it (``manifest.json`` RepoTags emptied, the legacy
    ``repositories`` file and OCI ref-name annotations dropped), after checking that it holds one image whose
    config digest is ``image_id``. ``BadBundleError`` otherwise, before the engine sees anything."""
    try:
        with tarfile.open(source, "r:") as tar:
            members = tar.getmembers()
            by_name = {(m.name[2:] if m.name.startswith("./") else m.name): m for m in members}
            for member in members:
                name = member.name
                if (
                    name.startswith("/")
                    or ".." in name.split("/")
                    or not (
                        member.isreg() or member.isdir() or (member.issym() and not member.linkname.startswith("/"))
                    )
                ):
                    raise BadBundleError(f"{source}: unexpected member {grammar.shown(name)} in a saved image")
            manifest = _json_member(tar, by_name.get("manifest.json"), source)
            if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict):
                raise BadBundleError(f"{source}: a saved image's manifest.json must list exactly one image")
            config_name = manifest[0].get("Config")
            config = by_name.get(config_name) if isinstance(config_name, str) else None
            if config is None or not config.isreg():
                raise BadBundleError(f"{source}: manifest.json names no config file it holds")
            layers = manifest[0].get("Layers")
            if not isinstance(layers, list) or not all(
                isinstance(n, str) and n in by_name and not by_name[n].isdir() for n in layers
            ):
                # A layer outside the archive (``../../etc/passwd``) reached the engine, whose refusal ended the
                # rebuild (exit 4) after the plan had passed.
                raise BadBundleError(f"{source}: manifest.json names layers it does not hold")
            if config.size > MAX_IMAGE_CONFIG:
                raise BadBundleError(f"{source}: its config is over {MAX_IMAGE_CONFIG >> 20} MiB")
            handle = tar.extractfile(config)
            assert handle is not None
            checked = handle.read()
            digest = "sha256:" + hashlib.sha256(checked).hexdigest()
            if digest != image_id:
                raise BadBundleError(f"{source}: holds image {digest}, but the bundle pins {image_id}; not loaded")
            manifest[0]["RepoTags"] = None
            index = _json_member(tar, by_name.get("index.json"), source) if "index.json" in by_name else None
            if isinstance(index, dict):
                for entry in index.get("manifests") or ():
                    if isinstance(entry, dict) and isinstance(entry.get("annotations"), dict):
                        for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name"):
                            entry["annotations"].pop(key, None)
            # The config goes as the bytes that were checked, never read again from the file: one swapped in the
            # bundle since (its owner may still write it) sent the engine another config, and so other layers
            # (the engine checks each layer against the config it gets).
            replaced = {config_name: checked, "manifest.json": json.dumps(manifest).encode()}
            if index is not None:
                replaced["index.json"] = json.dumps(index).encode()
            parts: list[bytes | tuple[int, int]] = []
            for member in members:
                if member.name in ("repositories", "./repositories"):
                    continue  # the legacy format's tags
                key = member.name[2:] if member.name.startswith("./") else member.name
                if key in replaced:
                    info = tarfile.TarInfo(member.name)
                    info.size, info.mode, info.mtime = len(replaced[key]), 0o644, member.mtime
                    parts += [_header(info), replaced[key] + b"\0" * (-info.size % _BLOCK)]
                else:
                    parts.append(_header(member))
                    if member.isreg() and member.size:
                        parts.append((member.offset_data, member.size))
            parts.append(b"\0" * (2 * _BLOCK))  # the end of the archive
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BadBundleError(f"{source}: not a readable saved image ({short(exc)})") from None
    return UntaggedArchive(source, tuple(parts))


def _header(member: tarfile.TarInfo) -> bytes:
    return member.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _json_member(tar: tarfile.TarFile, member: tarfile.TarInfo | None, source: Path) -> Any:
    if member is None or not member.isreg() or member.size > MAX_IMAGE_JSON:
        raise BadBundleError(f"{source}: a saved image needs a manifest.json (of at most {MAX_IMAGE_JSON} bytes)")
    handle = tar.extractfile(member)
    assert handle is not None
    try:
        return json.loads(handle.read().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadBundleError(f"{source}: {member.name} is not JSON ({short(exc)})") from None


def save_image(
    client: docker.DockerClient, reference: str, facts: baseimage.ImageFacts, bundle_root: Path, say: Progress
) -> Path:
    """``docker save`` one image into ``BUNDLE/images/<name>.tar`` (atomically), its facts in ``<name>.json``."""
    folder = Path(bundle_root) / IMAGES
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / _image_file(reference)
    say(f"saving base image {reference} ({facts.image_id}) to {target}")
    # Held while written (gigabytes): a save killed midway leaves a file `envsnap clean BUNDLE/images` and the
    # next bundle remove, and nothing removes it under a running save.
    with _leftovers.held_file(folder, target.name, "download") as (handle, tmp), patient(client):
        try:
            image = client.images.get(facts.image_id)
            with transfer(say, f"saved {reference}", int(image.attrs.get("Size") or 0)) as advance:
                # An image named by its id is saved by it: an id is no tag to save it under (the engine refused it).
                named: str | bool = False if grammar.is_image_digest(reference) else reference
                for chunk in image.save(named=named):
                    handle.write(chunk)
                    advance(len(chunk))
        except _engine_errors() as exc:
            import docker as docker_sdk  # type: ignore[import-untyped,unused-ignore]

            # The engine's own answer (a full disk of its own, the image removed meanwhile) is named as it is: "stopped
            # answering" sent the user to restart an engine that answered.
            what = (
                f"the Docker engine could not save {reference}"
                if isinstance(exc, docker_sdk.errors.APIError)
                else f"the Docker engine stopped answering while saving {reference}"
            )
            raise RebuildError(f"{what} ({short(exc)}); nothing was written to {folder}") from exc
        handle.flush()
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    meta = {
        "reference": reference,
        "id": facts.image_id,
        "repo_digests": list(facts.repo_digests),
        "env": dict(sorted(facts.env.items())),
        "architecture": facts.architecture,
    }
    atomic_write_text(target.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return target
