"""``envsnap rebuild --target docker``: a lock (and its bundle) as a pinned, hermetic container image.

Planning renders the build context from the lock alone: a Dockerfile from ``templates/docker/``, the lock, and
the hashed requirements. Executing fills the context with the bundle's wheels (checked by hash) and the
wheels of envsnap itself (installed in ``/opt/envsnap``, apart from the rebuilt environment in ``/opt/env``),
builds it through the Docker SDK with streamed progress, runs ``envsnap verify`` in a network-less container
of the result, and only then tags it: a failed build or a failed verification leaves no tagged image.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import platform as _platform
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _gcpause, _leftovers, grammar, lockfile, platforms, sinks
from .._defaults import LOCK_NAME
from .._fetchpolicy import FetchRefusedError
from .._frozen import frozen
from .._fs import fresh_dir
from .._version import __version__
from ..artifacts import debs as deb_files
from ..artifacts.bundle import (
    IMAGES,
    SYSTEM_BASE,
    Bundle,
    another_lock,
    bundle_listing,
    check_made_from,
    describe_bundle,
    is_archive,
    judged_for,
    outside_project_notes,
    pin_command,
    pinned_beside,
    sha256_file,
    unpack_beside,
)
from ..compat.target import TargetFacts
from ..dockerfile import baseimage
from ..dockerfile.context import check_context_dest
from ..dockerfile.spec import (
    DEBS,
    DOCKERFILE,
    ENV_DIR,
    LABEL_DIGEST,
    REQUIREMENTS,
    TOOL,
    WHEELS,
    DockerOptions,
    DockerSpec,
    carry_commands,
    check_architecture,
    interpreter_names,
    loaded_tag,
    make_spec,
    render_context,
    render_dockerfile,
    shown_notes,
    split_reference,
)
from ..errors import BadBundleError, BundleError, EnvsnapError, PinError, RebuildError
from ..model import PythonPackage, Snapshot, SystemPackage
from ..report import counted
from . import _asof, _docker_engine, _tool
from ._editable import editable_notes
from ._pth import pth_folder_notes
from .interface import BadOptionError, Plan, PlanData, PlanItem, Progress, Rebuilder, RebuildRequest, RebuildResult

if TYPE_CHECKING:
    import docker  # type: ignore[import-untyped,unused-ignore]


TOOL_TIMEOUT = 300.0


# ----------------------------------------------------------------------------------------- the rebuilder


@frozen
class DockerPlanData(PlanData):
    """What the docker plan decided: the base image, the interpreter in it, the tag, and the Dockerfile whose
    hash ``execute`` checks its own rendering against."""

    blocks = frozenset({"Dockerfile"})  # shown as an indented block (PlanData.blocks); not a field
    base_reference: str
    base_pinned: str
    build_context: str
    interpreter: str  # "<executable> <version> (<source>)"
    tag: str
    dockerfile: str

    @property
    def dockerfile_sha256(self) -> str:
        return hashlib.sha256(self.dockerfile.encode()).hexdigest()

    def display(self) -> dict[str, str]:
        return {
            "base image": f"{self.base_reference} -> FROM {self.base_pinned}",
            "build context": self.build_context,
            "interpreter": self.interpreter,
            "image tag": self.tag,
            "Dockerfile": self.dockerfile,
            "Dockerfile sha256": self.dockerfile_sha256,
        }


class DockerRebuilder(Rebuilder):
    name = "docker"
    needs_bundle = (
        "a docker rebuild installs the bundle's wheels: make one with `envsnap bundle {lock} -o DIR` and pass "
        "--bundle DIR"
    )
    description = "a container image built on a Docker engine, verified inside with envsnap verify"
    default_dest = "envsnap-docker-context"  # the build context; the image itself is named by --tag
    target_facts = TargetFacts(provides_python=True, container=True, installs_packages=True)
    options = DockerOptions
    bundle_folders = (WHEELS, TOOL, IMAGES, DEBS)

    def __init__(self, connect: Any = None):
        # Tests may hand in another engine (a second dockerd); by default, the one the environment names.
        self._connect = connect or _docker_engine.engine

    def refuse_lock(self, lock: Snapshot, lock_path: Path) -> None:
        refused = baseimage.refuses_conda(lock)
        if refused:
            # The wrong target for the lock: bad input, before the check and the engine are asked (it was exit 4
            # after both), as a pip lock is for the conda target and as export -f dockerfile refuses it.
            raise BadOptionError(f"{lock_path}: {refused}: use --target conda")
        refused = baseimage.refuses_platform(lock)
        if refused:
            # No image can run it, whatever the engine (a macOS or musl lock): bad input as it is read, as export
            # -f dockerfile refuses it; it was exit 4 after the check. Another architecture than the engine's
            # depends on the engine, and is refused as the plan asks it.
            raise BadOptionError(f"{lock_path}: {refused}")

    def plan(self, request: RebuildRequest) -> Plan:
        asked = DockerOptions.from_mapping(request.options, owner="the docker target")
        # Named as the venv and conda targets name theirs, from the root: the default was named as it is (a
        # relative envsnap-docker-context, in the refusal and the plan), which a user elsewhere could not act on.
        dest = request.dest.absolute()
        _check_context_dest(dest, self.dest_named(request))  # before a build of minutes, not after it
        lock = _bundle_lock(request, fill=bool(asked.as_of))
        options, from_bundle = _with_bundled_base(asked, request.bundle_dir, lock)
        client = self._try_connect()
        machine = client.info().get("Architecture", "") if client is not None else _platform.machine()
        check_architecture(lock, machine, "the Docker engine" if client is not None else "this host")
        inspect = _docker_engine.with_bundled(
            _docker_engine.inspector(client) if client is not None else None, request.bundle_dir
        )
        spec = make_spec(
            lock,
            options,
            inspect,
            carried=_carried(request.bundle_dir),
            offline=request.offline,
            left_to_base=_left_to_base(request.bundle_dir),
            base_from_bundle=from_bundle,
            named=_named(request),
        )
        _refuse_the_bases_tag(spec, given=bool(options.tag))
        moved = _moved_base(spec, _docker_engine.inspector(client) if client is not None else None, request.bundle_dir)
        if request.offline and inspect is not None and client is not None and inspect(spec.base.reference) is None:
            # The build would pull it from a registry: with --offline nothing is downloaded, so it is refused now.
            raise BadOptionError(
                f"--offline: the base image {spec.base.reference} is neither in the Docker engine nor saved in the "
                "bundle, so the build would pull it from a registry; load it into the engine first, or bundle it "
                f"with `{_bundle_base(spec)}`"
            )
        if request.offline and spec.expected:
            _check_base_holds(spec, client, request.bundle_dir)
        dockerfile = render_dockerfile(spec)
        return Plan(
            target=self.name,
            lock_path=str(request.lock_path),
            dest=spec.tag,
            items=_items(spec, _missing(request)),
            steps=_steps(spec, request),
            notes=(
                *request.preflight_notes,
                *shown_notes(spec),
                *(f"warning: {w}" for w in (*spec.base.warnings, *moved)),
                *outside_project_notes(lock),
                *editable_notes(lock, request.project_dir, None),
                *pth_folder_notes(lock),
            ),
            offline=request.offline,
            network=(
                f"{len(spec.apt_specs)} system packages from the apt mirror (the build's network: "
                f"{_network(spec, request.offline)}), as the bundle holds no .deb files for them "
                f"(`{_carry_them(spec)}` adds them)"
                if request.offline and spec.apt_specs
                else ""
            ),
            data=DockerPlanData(
                base_reference=spec.base.reference,
                base_pinned=spec.base.pinned,
                build_context=str(dest),
                interpreter=f"{spec.base.interpreter.executable} {spec.base.interpreter.version} "
                f"({spec.base.interpreter.source})",
                tag=spec.tag,
                dockerfile=dockerfile,
            ),
        )

    def execute(self, plan: Plan, request: RebuildRequest, progress: Progress | None = None) -> RebuildResult:
        _gcpause.long_work()  # a build of minutes: the collector a short command turned off is on again
        say = progress or (lambda _line: None)
        started = time.perf_counter()
        client = self._connect()
        asked = DockerOptions.from_mapping(request.options, owner="the docker target")
        if request.bundle_dir is None:  # ``rebuild`` refuses it first; a caller of this API gets the same line
            raise BadOptionError(self.bundle_needed(request.lock_path))
        bundle = Bundle(request.bundle_dir)
        lock = _bundle_lock(request, fill=bool(asked.as_of))
        options, from_bundle = _with_bundled_base(asked, request.bundle_dir, lock)
        check_architecture(lock, client.info().get("Architecture", ""), "the Docker engine")
        fetched: dict[str, Path] = {}
        missing = _missing(request)
        if missing and options.as_of:
            lock, fetched = _asof.fetch_missing(
                lock, missing, _asof.cutoff(lock, options.as_of), allow_urls=request.allow_urls, progress=say
            )
        moved_before = _docker_engine.inspector(client)
        # As the plan saw it: a saved base is the bundle's image, found by its id (loaded untagged below).
        spec = make_spec(
            lock,
            options,
            _docker_engine.with_bundled(_docker_engine.inspector(client), bundle.root),
            carried=_carried(bundle.root),
            offline=request.offline,
            left_to_base=_left_to_base(bundle.root),
            base_from_bundle=from_bundle,
            named=_named(request),
        )
        # The base alone, where the engine lacks it: another image the bundle saved is none of this build's.
        _docker_engine.load_bundled_image(client, bundle.root, spec.base.reference, say)
        for warning in _moved_base(spec, moved_before, bundle.root):
            say(f"warning: {warning}")
        if plan.network:  # --offline, yet the build reaches the apt mirror: said as the plan says it, not only there
            say(f"offline: yes, but for {plan.network}")
        saved = _docker_engine.saved_image(bundle.root, spec.base.reference)
        files = render_context(spec, _lock_bytes(request), saved_base=saved)
        given = _given_lock(request, bundle)
        decided = plan.data
        if not isinstance(decided, DockerPlanData):
            raise RebuildError(f"not a docker plan (a plan of the {plan.target} target)")
        if hashlib.sha256(files[DOCKERFILE]).hexdigest() != decided.dockerfile_sha256:
            raise RebuildError(
                "the Dockerfile differs from the plan's (the engine's images changed in between); plan again"
            )
        context = Path(request.dest).absolute()
        # The context is moved into place only once the image is built, verified and tagged: a failure or an
        # interrupt in between (the verify runs a container) leaves --dest as it was. A failure of the move itself
        # (--dest became a folder envsnap may not replace while the image built) takes the image and its tag away
        # again, the tag back to the image it named before: no failing rebuild leaves its image tagged, or takes
        # the tag from the image that had it (docs/rebuild-docker.md).
        tagged = ""
        previous = _docker_engine.image_id_of(client, spec.tag)  # the image the tag names now, replaced if built
        # Held until the image is tagged: ``envsnap clean --images`` meanwhile keeps this lock's untagged images.
        with _building(spec.lock.envsnap.content_digest), contextlib.ExitStack() as stack:
            try:
                with _fresh_context(context, self.dest_named(request)) as work:
                    for name, data in files.items():
                        (work / name).parent.mkdir(parents=True, exist_ok=True)
                        (work / name).write_bytes(data)
                    _copy_debs(bundle, spec, work / DEBS, say)
                    _copy_wheels(bundle, spec.lock, work / WHEELS, say, fetched)
                    tool_wheels(work / TOOL, spec, bundle, offline=request.offline, progress=say)
                    # The engine itself keeps the untagged images from ``clean --images`` run anywhere else.
                    hold = stack.enter_context(_docker_engine.holding(client))
                    image_id = _docker_engine.build(
                        client,
                        work,
                        network=_network(spec, request.offline),
                        progress=say,
                        label=f"{LABEL_DIGEST}={spec.lock.envsnap.content_digest}",
                        hold=hold,
                        carry=_carry_them(spec) if spec.apt_specs else "",
                    )
                    try:
                        report = _docker_engine.verify_image(client, image_id, say, given)
                        if report.python_mismatch:
                            first = report.by_severity("mismatch")[0].shown()
                            if image_id == previous:
                                # A build wholly from the engine's cache made the very image the tag names:
                                # ``take_back`` leaves it (it was not this run's to remove), and says why here.
                                raise RebuildError(
                                    f"the built image differs from the lock ({first}); the build, wholly from the "
                                    f"engine's cache, made again the image {spec.tag} names ({image_id}): it is "
                                    "kept, tagged as it was before this rebuild, and it differs from the lock"
                                )
                            raise RebuildError(
                                f"the built image differs from the lock ({first}); it was removed, nothing tagged"
                            )
                        _docker_engine.tag(client, image_id, *split_reference(spec.tag))
                        tagged = image_id
                    except BaseException:
                        hold.release()
                        _docker_engine.take_back(client, image_id, spec.tag, previous)
                        raise
                    hold.release()  # tagged: the tag keeps it now
            except BaseException:
                stack.close()
                if tagged:  # the tag goes back to the image it named before, not away with the new one
                    _docker_engine.take_back(client, tagged, spec.tag, previous)
                raise
        say(f"tagged {spec.tag} ({image_id})")
        if previous and previous != image_id:
            replaced = _docker_engine.remove_replaced(client, previous, spec.tag)
            if replaced:
                say(replaced)
        return RebuildResult(
            plan=plan,
            dest=spec.tag,
            verify=report,
            notes=(
                f"image {image_id}",
                f"tag {spec.tag}",
                _built_on(spec, _docker_engine.inspector(client), bundle.root),
                f"build context {context}",
            ),
            seconds=time.perf_counter() - started,
            details={
                "image_id": image_id,
                "tag": spec.tag,
                "base_image": spec.base.reference,
                "base_image_id": spec.base.image_id,
                "build_context": str(context),
            },
        )

    def _try_connect(self) -> docker.DockerClient | None:
        try:
            client: docker.DockerClient = self._connect()
        except RebuildError:
            return None
        return client


def _built_on(spec: DockerSpec, inspect: baseimage.Inspector, bundle_dir: Path) -> str:
    """The result's note on the image the build ran FROM. The base the bundle saved, when the engine's image of
    that name is not it (``docker rmi`` since, or the tag moved), is named as the engine holds it now: the tag the
    load gave it (``envsnap/base:<12 hex digits>``), else its id alone, with the name the bundle saved it under.
    It said ``built on NAME (id)``, a name the engine no longer had, or one naming another image. One saved by its
    id is named by its id once, and as the bundle's."""
    base = spec.base
    saved = _docker_engine.bundled_image(bundle_dir, base.reference)
    loaded = loaded_tag(base.image_id) if base.image_id else ""
    if saved is not None and saved.image_id == base.image_id == base.reference:
        # Saved by its id (``--base-image sha256:X``): the name is the id, said once ("sha256:X (sha256:X)" was).
        held = inspect(loaded)
        if held is not None and held.image_id == base.image_id:
            return f"built on {loaded} ({base.image_id}), loaded from the bundle, which saved it by its id"
        return f"built on image {base.image_id}, the one the bundle saved by its id"
    now = inspect(base.reference) if saved is not None and saved.image_id == base.image_id else None
    if saved is None or saved.image_id != base.image_id or (now is not None and now.image_id == base.image_id):
        return f"built on {base.reference} ({base.image_id or base.pinned})"
    why = (
        f"the Docker engine has no {base.reference} now"
        if now is None
        else f"{base.reference} names {now.image_id} in the Docker engine now"
    )
    held = inspect(loaded)
    if held is not None and held.image_id == base.image_id:
        return (
            f"built on {loaded} ({base.image_id}), loaded from the bundle, which saved it as {base.reference} ({why})"
        )
    return f"built on image {base.image_id}, the one the bundle saved as {base.reference} ({why})"


def _moved_base(spec: DockerSpec, inspect: baseimage.Inspector | None, bundle_dir: Path | None) -> tuple[str, ...]:
    """A warning when the engine's image of the base's name is not the one the bundle saved under it (the tag moved
    since the author's bundle): the build is on the bundle's image, by id, and the reviewer is told so."""
    saved = _docker_engine.bundled_image(bundle_dir, spec.base.reference) if bundle_dir is not None else None
    now = inspect(spec.base.reference) if inspect is not None and saved is not None else None
    if saved is None or now is None or now.image_id == saved.image_id:
        return ()
    return (
        f"{spec.base.reference} now names {now.image_id} in the Docker engine, not the image the bundle saved "
        f"under that name ({saved.image_id}): building on the bundle's image, by its id",
    )


def _bundle_lock(request: RebuildRequest, *, fill: bool = False) -> Snapshot:
    """The lock with artifacts: the bundle's when there is one (it pins every wheel), else the given one.
    ``fill`` (``--as-of``): a wheel the bundle lacks is fetched later, not an error."""
    if request.bundle_dir is None:
        return request.lock
    bundle = Bundle(request.bundle_dir)
    # A bundle of another lock: bad input.
    lock_arg = request.lock_shown()
    check_made_from(request.lock, bundle.lock, bundle.shown(), project_dir=request.project_dir, lock_arg=lock_arg)
    # The image is built from the bundle's copy (label, /envsnap.lock, apt pins): it must be the lock asked for
    # in what decides the build too, or --force on an aarch64 lock built the bundle's x86_64 one.
    mine, theirs = _build_facts(request.lock), _build_facts(bundle.lock)
    if mine != theirs:
        what = next(k for k in mine if mine[k] != theirs[k])
        raise BadBundleError(
            f"{bundle.shown()}: the bundle was made from another lock ({what}: the lock says "
            f"{mine[what] or '(none)'}, the bundle's {theirs[what] or '(none)'}){another_lock(lock_arg)}"
        )
    missing = _missing(request)
    if missing and not fill:
        try:
            bundle.wheel_for(missing[0])
        except BundleError as exc:
            raise RebuildError(
                f"cannot rebuild: {exc}; or pass --as-of auto|DATE to fetch what the bundle lacks from the "
                "configured indexes as of that date"
            ) from exc
    return bundle.lock


def _given_lock(request: RebuildRequest, bundle: Bundle) -> bytes:
    """The text of the lock the image is verified against where it is not the image's own (the bundle's): the lock
    the bundle was made from, given with it, has the files it records verified, not those of the wheels the bundle
    built (``judged_for``), as the venv target verifies them; b"" for the bundle's own lock."""
    judged = judged_for(request.lock, bundle.lock)
    if judged is bundle.lock:
        return b""
    return lockfile.dumps(judged).encode()


def _given_apart(request: RebuildRequest) -> bool:
    """Whether the container that verifies the built image judges it against the lock given (``_given_lock``), put
    there as ``/envsnap-given.lock``, not against the image's ``/envsnap.lock``: what the plan's step says."""
    if request.bundle_dir is None:
        return False
    bundle = Bundle(request.bundle_dir)
    return judged_for(request.lock, bundle.lock) is not bundle.lock


def _missing(request: RebuildRequest) -> tuple[PythonPackage, ...]:
    """The packages of the bundle's lock whose wheel the bundle does not hold (none without a bundle)."""
    if request.bundle_dir is None:
        return ()
    bundle = Bundle(request.bundle_dir)
    missing = []
    for pkg in bundle.lock.pip_layer():
        try:
            bundle.wheel_for(pkg)
        except BundleError:
            missing.append(pkg)
    return tuple(missing)


def _build_facts(lock: Snapshot) -> dict[str, str]:
    p = lock.platform
    return {"machine": p.machine, "OS": f"{p.os_id} {p.os_version}".strip(), "Python": lock.python.version}


def _lock_bytes(request: RebuildRequest) -> bytes:
    path = Path(request.bundle_dir) / LOCK_NAME if request.bundle_dir is not None else Path(request.lock_path)
    return path.read_bytes()


def _items(spec: DockerSpec, missing: tuple[PythonPackage, ...] = ()) -> tuple[PlanItem, ...]:
    base = spec.base
    lacking = {p.name for p in missing}
    items = [
        PlanItem(
            "image",
            base.reference,
            origin=base.chosen_by,
            pin=base.pinned if base.pin_kind != "tag" else "tag only",
            note=f"requires {base.require_cuda}" if base.require_cuda else "",
        )
    ]
    interp = base.interpreter
    items.append(
        PlanItem(
            "interpreter",
            "python",
            interp.version,
            origin=f"{interp.source}: {interp.executable}",
            pin=" ".join(interp.apt_packages),
        )
    )
    from_bundle = {p.name: p for p in spec.debs}
    for pin in spec.system:
        needed = f"needed by {', '.join(pin.needed_by)}" if pin.needed_by else ""
        deb = from_bundle.get(pin.name)
        if deb is not None:
            items.append(
                PlanItem(
                    "system",
                    pin.name,
                    pin.version,
                    origin=f"bundle: {DEBS}/{deb.filename}",
                    pin=f"sha256:{deb.sha256}",
                    note=needed,
                )
            )
            continue
        items.append(
            PlanItem(
                "system",
                pin.name,
                pin.version,
                origin="base image (checked)"
                if spec.expected
                else (
                    f"apt, snapshot of {spec.options.apt_snapshot or spec.options.as_of}" if spec.apt_sources else "apt"
                ),
                pin=pin.spec if pin.version else "by name",
                note=needed,
            )
        )
    for pkg in sorted(spec.lock.pip_layer(), key=lambda p: p.name):
        art = pkg.artifact
        if pkg.name in lacking and spec.options.as_of:
            moment = _asof.shown(_asof.cutoff(spec.lock, spec.options.as_of))
            items.append(
                PlanItem(
                    "python",
                    pkg.name,
                    pkg.version,
                    origin=f"index: a file uploaded before {moment}",
                    pin=f"sha256:{art.sha256}" if art is not None else "RECORD digest",
                    note="not in the bundle",
                )
            )
        elif art is not None and art.filename.endswith(".whl"):
            items.append(
                PlanItem(
                    "python",
                    pkg.name,
                    pkg.version,
                    origin=f"{WHEELS}/{art.filename}",
                    pin=f"sha256:{art.sha256}",
                    note="rebuilt from source" if art.rebuilt else "",
                )
            )
        else:
            items.append(
                PlanItem(
                    "python",
                    pkg.name,
                    pkg.version,
                    origin="(no wheel yet)",
                    note="run `envsnap bundle` first",
                )
            )
    return tuple(items)


def _apt_packages(specs: Iterable[str]) -> str:
    """The packages of ``apt-get install``, said as they are pinned: an interpreter's ``python3.11=3.11.2-*`` takes
    the mirror's newest revision of that release, not the lock's (all were said to be "pinned")."""
    specs = list(specs)
    loose = sorted(s.split("=", 1)[0] for s in specs if s.endswith("*"))
    if not loose:
        return f"{len(specs)} pinned packages"
    exact = len(specs) - len(loose)
    pinned = f"{exact} pinned to the lock's version, " if exact else ""
    return (
        f"{counted(len(specs), 'package')}: {pinned}{len(loose)} at the mirror's newest revision of the "
        f"upstream release the lock names ({', '.join(loose)})"
    )


def _steps(spec: DockerSpec, request: RebuildRequest) -> tuple[str, ...]:
    steps = [
        f"write the build context to {request.dest.absolute()}: Dockerfile, {LOCK_NAME}, {REQUIREMENTS}, "
        f"{WHEELS}/ (the bundle's wheels, hash-checked), {TOOL}/ (envsnap's own wheels)"
    ]
    network = _network(spec, request.offline)
    steps.append(f"build FROM {spec.base.pinned} with --network {network} through the Docker SDK")
    if spec.debs and not spec.apt_specs:
        steps.append(f"dpkg -i {len(spec.debs)} .deb files from the bundle's {DEBS}/ (sha256-checked first)")
    if spec.expected:
        steps.append(f"check that the base image has {len(spec.expected)} packages the bundle does not carry")
    if spec.apt_sources:
        steps.append(f"use the apt snapshot of {spec.options.apt_snapshot or spec.options.as_of}")
    if spec.apt_specs and spec.debs:
        # One transaction: the bundled files satisfy the pinned packages' exact dependencies on them.
        steps.append(
            f"apt-get install {_apt_packages(spec.apt_specs)} together with {len(spec.debs)} .deb files from "
            f"the bundle's {DEBS}/ (sha256-checked first), in one transaction"
        )
    elif spec.apt_specs:
        steps.append(f"apt-get install {_apt_packages(spec.apt_specs)}")
    lacking = _missing(request)
    if lacking and spec.options.as_of:
        moment = _asof.shown(_asof.cutoff(spec.lock, spec.options.as_of))
        steps.insert(
            0,
            f"fetch the {len(lacking)} wheels the bundle lacks from the configured indexes, only files uploaded "
            f"before {moment}, each checked against the lock",
        )
    steps.append(f"install envsnap {__version__} into /opt/envsnap with uv (from tool/, its wheel checked first)")
    steps.append(
        f"create the venv {ENV_DIR} and uv pip install {len(spec.lock.pip_layer())} wheels "
        "--no-index --no-deps --require-hashes"
    )
    if _given_apart(request):
        steps.append(
            f"envsnap verify /{LOCK_NAME} (the bundle's lock) as the last build step, then envsnap verify "
            f"/{_docker_engine.GIVEN_LOCK} (the lock given, without the files of the wheels the bundle built) in a "
            "container with no network"
        )
    else:
        steps.append(f"envsnap verify /{LOCK_NAME} as the last build step, then again in a container with no network")
    steps.append(f"tag {spec.tag} only if both pass")
    return tuple(steps)


def _repository_tag(reference: str) -> tuple[str, str] | None:
    """``reference`` as the engine names a tag, (repository, tag): its digest left out, ``latest`` where none is given,
    Docker Hub's ``docker.io/`` and ``library/`` taken off (``docker.io/library/python:3.11`` is ``python:3.11``).
    None for an image id, which no tag is."""
    if grammar.is_image_digest(reference):
        return None
    try:
        name, tag = split_reference(reference.split("@", 1)[0])
    except BadOptionError:
        return None
    for hub in ("docker.io/", "index.docker.io/"):
        if name.startswith(hub):
            name = name[len(hub) :]
            break
    return name.removeprefix("library/"), tag


def _refuse_the_bases_tag(spec: DockerSpec, *, given: bool) -> None:
    """A tag that names the base image itself (``--tag envsnap-base:bookworm`` on that base) is refused: tagging the
    rebuilt image so takes the tag from the user's base image (the engine moves it without a word, as ``docker tag``
    does), and every later build FROM that name, this lock's next rebuild first, is built on the rebuilt image. No
    one wants both at once; another tag keeps the base as it is, and ``docker tag`` does it by hand for one who
    does."""
    ours = _repository_tag(spec.tag)
    if ours is None or ours != _repository_tag(spec.base.reference):
        return
    named = "--tag" if given else "the default tag"
    raise BadOptionError(
        f"{named} {spec.tag} names the base image {spec.base.reference}: tagging the rebuilt image so would take the "
        "tag from the base image, and builds FROM it then start from the rebuilt one; give another --tag (`docker "
        "tag` moves it by hand where that is meant)"
    )


def _with_bundled_base(options: DockerOptions, bundle_dir: Path | None, lock: Snapshot) -> tuple[DockerOptions, bool]:
    """``options`` with the bundle's own saved base as the base image when none is named and the bundle holds one
    (``bundle --with-base-image --base-image B``): the rebuild chose its base from the lock again, which the
    bundle did not hold, and an offline rebuild of it was refused ("neither in the engine nor saved in the
    bundle": the bundle's README command failed). And whether the base is that one, which the plan names as the
    bundle's, not as ``--base-image``.

    Of several saved images, the one that names the base ``lock`` chooses (``docker.io/library/`` and ``:latest``
    read as the engine reads them); where none or more than one does, ``BadOptionError`` names them all and
    ``--base-image``. Several were passed over for the lock's own choice, saved or not, and tool/README.md's
    ``docker load -i BUNDLE/images/NAME.tar`` then named no file the bundle held.

    A ``--base-image`` the engine reads as a saved image's name (``docker.io/`` or ``:latest`` added or left out, no
    digest given) is that saved reference: it was "neither in the Docker engine nor saved in the bundle", offline,
    and the command given to bundle it saved the image again under another file."""
    if bundle_dir is None:
        return options, False
    if options.base_image:
        named = _repository_tag(options.base_image) if "@" not in options.base_image else None
        bundled = _docker_engine.bundled_facts(bundle_dir, checked=False)
        same = [r for r in sorted(bundled) if named is not None and _repository_tag(r) == named]
        if options.base_image not in bundled and len(same) == 1:
            return dataclasses.replace(options, base_image=same[0]), False
        return options, False
    saved = sorted(_docker_engine.bundled_facts(bundle_dir, checked=False))
    if len(saved) <= 1:
        return (dataclasses.replace(options, base_image=saved[0]), True) if saved else (options, False)
    try:
        wanted = baseimage.choose(lock).reference
    except EnvsnapError:
        wanted = ""
    named = _repository_tag(wanted) if wanted else None
    matching = [r for r in saved if r == wanted or (named is not None and _repository_tag(r) == named)]
    if len(matching) == 1:
        return dataclasses.replace(options, base_image=matching[0]), True
    choice = f"the one the lock chooses ({wanted})" if wanted else "and the lock chooses none"
    which = f"{len(matching)} of them name {choice}" if matching else f"none of them {choice}"
    raise BadOptionError(
        f"the bundle saved {len(saved)} base images ({', '.join(saved)}), {which}: name one with --base-image"
    )


def _check_context_dest(dest: Path, named: str = "--dest") -> None:
    """``--dest`` is absent, empty, or an earlier build context, which the new one replaces (``check_context_dest``,
    the rule ``export --format dockerfile -o`` follows too)."""
    check_context_dest(dest, named, BadOptionError)


@contextlib.contextmanager
def _fresh_context(dest: Path, named: str = "--dest") -> Iterator[Path]:
    """A new build context beside ``dest``: moved into place when the block succeeds, removed if it fails. It is
    made in a held ``.envsnap-docker-*`` folder, so a killed rebuild's copy of the wheels is one the next run
    there (and ``envsnap clean``) removes."""
    stack = contextlib.ExitStack()
    try:
        holder = stack.enter_context(_leftovers.held_dir(dest.parent, "docker"))
        work = holder / "context"
        work.mkdir()
    except OSError as exc:
        stack.close()
        raise BadOptionError(f"{named} {dest}: cannot create the build context ({exc.strerror or exc})") from None
    with stack:
        yield work
        if dest.exists():
            _check_context_dest(dest, named)
            shutil.rmtree(dest)
        os.replace(work, dest)


# In a rebuild's held folder in the temporary directory: the lock content digest its images are labelled with.
BUILDING = "building"


@contextlib.contextmanager
def _building(digest: str) -> Iterator[None]:
    """Mark a rebuild of the lock ``digest`` as running while its images are untagged (the new one until it is
    verified and tagged, the installer stage until the build ends): a held ``.envsnap-docker-*`` folder in the
    temporary directory naming the digest, which ``untagged_images`` reads. Where none can be made the rebuild
    goes on unmarked."""
    with contextlib.ExitStack() as stack:
        with contextlib.suppress(OSError):
            holder = stack.enter_context(_leftovers.held_dir(Path(tempfile.gettempdir()), "docker"))
            (holder / BUILDING).write_text(digest + "\n", encoding="utf-8")
        yield


def _being_built() -> set[str]:
    """The lock content digests of the docker rebuilds running now (``_building``): their held folders' words."""
    folder = Path(tempfile.gettempdir())
    found: set[str] = set()
    try:
        with os.scandir(folder) as listing:
            names = [item.name for item in listing if item.name.startswith(f"{_leftovers.PREFIX}docker-")]
    except OSError:
        return found
    for name in names:
        holder = folder / name
        if holder.is_symlink() or not holder.is_dir() or not _leftovers.in_use(holder):
            continue
        try:
            with open(holder / BUILDING, "rb") as marker:
                found.add(marker.read(200).decode("utf-8").strip())
        except (OSError, UnicodeDecodeError):
            continue  # another kind of held folder (a context made in the temporary directory), or not readable
    found.discard("")  # a marker held before its digest was written: its build has not begun
    return found


def _network(spec: DockerSpec, offline: bool) -> str:
    """The build's network: none with ``--offline`` when nothing comes from apt (the bundle carries the system
    packages, or there are none); a bundle without ``debs/`` still reaches the apt mirror, as it always did."""
    return "none" if offline and not spec.apt_specs else spec.options.network


def _carry_them(spec: DockerSpec, names: Iterable[str] | None = None) -> str:
    """The commands that bundle the .deb files of ``names`` (default: what ``spec`` takes from the apt mirror), for
    its base."""
    if names is None:
        names = {s.split("=", 1)[0].split(":", 1)[0] for s in spec.apt_specs}
    base = spec.base.reference if spec.base.chosen_by != "lock" else ""
    lock_word, bundle_word, pinned_to, unpack = spec.named
    return carry_commands(spec.lock, names, base, lock_word, f"-o {bundle_word}", pinned_to=pinned_to, unpack=unpack)


def _bundle_base(spec: DockerSpec) -> str:
    """The command that saves ``spec``'s base image into the bundle, with the lock and the bundle the user gave (it
    said `envsnap bundle --with-base-image`, which names no lock or folder, and without ``--base-image`` saves the
    lock's own base, not the one named)."""
    lock_word, bundle_word, _, unpack = spec.named
    first = f"{unpack} && " if unpack else ""
    base = sinks.shell_word(spec.base.reference)
    return f"{first}envsnap bundle {lock_word} -o {bundle_word} --with-base-image --base-image {base}"


def _named(request: RebuildRequest) -> tuple[str, str, str, str]:
    """The lock and the bundle as the user gave them, each one shell word, for the commands a plan or a refusal
    names (``make_spec``'s ``named``): they printed ``envsnap pin LOCK ... bundle LOCK -o BUNDLE``, placeholders
    to fill in, where the paths were known. Third, for a bundle's own lock, which ``pin`` does not rewrite in place,
    where ``pin -o`` writes the pinned lock (beside that bundle) for the bundle to be made from; "" otherwise.
    Fourth, for a bundle archive given as the lock, the commands that unpack it beside it first: its lock is the one
    they unpack (``pin`` and ``bundle`` refuse the archive, a bundle, not a lock); "" otherwise."""
    bundle = request.bundle_shown()
    lock = os.fspath(request.lock_path)
    unpack = ""
    if is_archive(lock):
        unpack, unpacked = unpack_beside(lock)
        lock = os.path.join(unpacked, LOCK_NAME)
        own: str | None = unpacked
    else:
        own = bundle_listing(lock)
    return (
        sinks.path_shown(lock),
        sinks.path_shown(bundle) if bundle else "BUNDLE",
        sinks.path_shown(pinned_beside(own)) if own is not None else "",
        unpack,
    )


def _check_base_holds(spec: DockerSpec, client: docker.DockerClient | None, bundle_dir: Path | None) -> None:
    """An ``--offline`` build with the bundle's ``debs/`` has no network: what the bundle does not carry
    (``spec.expected``) must be in the base image. Decided here from that image's dpkg status (read from the
    bundle's saved archive or copied out of the engine's image, never run), so that a base without them is one line
    naming them now, not a build that fails at its base check (it was planned ``--network none`` and failed there,
    exit 4). Where neither holds the image, the build's own check stays the only one."""
    status = _base_status(spec, client, bundle_dir)
    if status is None:
        return
    shipped = _dpkg_shipped(status)
    lacking = base_lacks(spec.expected, shipped)
    if not lacking:
        return
    names = sorted({want.split("=", 1)[0].split(":", 1)[0] for want in lacking})

    def has(want: str) -> str:
        name, _, arch = want.split("=", 1)[0].partition(":")
        found = sorted({v for (n, a), v in shipped.items() if n == name and (not arch or a == arch)})
        return f"{want} (it has {', '.join(found)})" if found else f"{want} (not installed)"

    shown = ", ".join(map(has, lacking[:6])) + (f", ... ({len(lacking)} in all)" if len(lacking) > 6 else "")
    image = f" ({spec.base.image_id})" if spec.base.image_id else ""
    # A package at another version is what a tag that moved since the bundle was made shows (the image it names now
    # ships other revisions): the image the bundle left them to is named by its id, or saved with the bundle.
    moved = _moved_system_base(spec, recorded_system_base(bundle_dir), lacking) or (
        f"; if the bundle was made on another image of that name (a tag moves), name that one by its id "
        f"(--base-image {sinks.shell_word(spec.base.reference)}@sha256:...) or keep it in the "
        "bundle (`envsnap bundle --with-base-image`)"
        if any("(it has" in has(want) for want in lacking)
        and "@" not in spec.base.reference
        and not _is_bundled_base(spec, bundle_dir)
        else ""
    )
    raise BadOptionError(
        f"--offline: the base image {spec.base.reference}{image} lacks {shown}, which the bundle does not carry as "
        f".deb files, and the build has no network to install {'them' if len(lacking) > 1 else 'it'}; "
        f"`{_carry_them(spec, names)}` carries them, or rebuild without --offline to install them from the apt mirror"
        f"{moved}"
    )


def _is_bundled_base(spec: DockerSpec, bundle_dir: Path | None) -> bool:
    """The build runs FROM the very image the bundle saved under the base's name."""
    saved = _docker_engine.bundled_image(bundle_dir, spec.base.reference) if bundle_dir is not None else None
    return saved is not None and saved.image_id == spec.base.image_id


def _base_status(spec: DockerSpec, client: docker.DockerClient | None, bundle_dir: Path | None) -> str | None:
    """The dpkg status of the image the build runs FROM, read without running anything in it: the engine's copy
    where it holds that image (by the id the plan pins), else the bundle's saved archive of it; None where neither
    does (no engine, nothing saved), or the image has no dpkg status."""
    base = spec.base
    if client is not None:
        facts = _docker_engine.inspector(client)(base.pinned)
        if facts is not None and (not base.image_id or facts.image_id == base.image_id):
            return _docker_engine.image_dpkg_status(client, base.pinned)
    if bundle_dir is not None and _is_bundled_base(spec, bundle_dir):
        return _docker_engine.saved_dpkg_status(bundle_dir, base.reference)
    return None


def base_lacks(expected: Iterable[tuple[str, str]], shipped: dict[tuple[str, str], str]) -> tuple[str, ...]:
    """Those of ``expected`` (``name[:arch]``, exact version or "" for any) that a base image with the installed
    packages ``shipped`` (``(name, arch) -> version``) does not have, as ``name[:arch]=version`` (or the name): the
    Dockerfile's base check (``dpkg-query -W NAME``), decided before the build."""
    lacking = []
    for want, version in expected:
        name, _, arch = want.partition(":")
        have = [v for (n, a), v in shipped.items() if n == name and (not arch or a == arch)]
        if not (version in have if version else have):
            lacking.append(f"{want}={version}" if version else want)
    return tuple(lacking)


def bundled_base(bundle_dir: Path, lock: Snapshot) -> str:
    """The base image a docker rebuild of the bundle uses when none is named: the one it saved (of several, the one
    ``lock`` chooses), else "" (also where the rebuild refuses to pick one of several)."""
    try:
        return _with_bundled_base(DockerOptions(), bundle_dir, lock)[0].base_image or ""
    except BadOptionError:
        return ""


def offline_uncarried(lock: Snapshot, bundle_dir: Path) -> tuple[str, ...]:
    """The system packages an ``--offline`` docker rebuild of the bundle installs that it does not carry as .deb
    files: those it takes from the apt mirror (the plan's ``network`` line counts the same), and the interpreter's
    own it would look for in a base image that ships no Python (offline with ``debs/``: the build fails on them).
    Decided by the rebuild's own spec, on the base the rebuild would use (the bundle's saved one), with no engine;
    empty where the docker target cannot rebuild the lock at all. ``audit`` and REPRODUCING.md read this."""
    spec = _offline_spec(lock, bundle_dir)
    if spec is None:
        return ()
    names = {s.split("=", 1)[0].split(":", 1)[0] for s in spec.apt_specs}
    status = _base_status(spec, None, bundle_dir) if spec.expected else None
    if status is not None:
        # The saved base's own dpkg status decides: what it lacks, the build would fail on.
        names |= {want.split("=", 1)[0].split(":", 1)[0] for want in base_lacks(spec.expected, _dpkg_shipped(status))}
        return tuple(sorted(names))
    interpreter = set(interpreter_names(spec.base))
    names |= {name.split(":", 1)[0] for name, _ in spec.expected if name.split(":", 1)[0] in interpreter}
    return tuple(sorted(names))


def offline_from_base(lock: Snapshot, bundle_dir: Path) -> tuple[str, ...]:
    """The pinned system packages an ``--offline`` docker rebuild of the bundle takes from the bundle's own saved
    base image instead of a .deb file, because that image holds them at the locked revision (its dpkg status, read
    from the saved archive): ``bundle --with-system-packages`` leaves those out (libc6, zlib1g), and the build
    checks they are there. Carried by the bundle as much as a .deb is. Empty without a saved base image, or where
    the docker target cannot rebuild the lock."""
    spec = _offline_spec(lock, bundle_dir)
    if spec is None:
        return ()
    interpreter = set(interpreter_names(spec.base))
    names = {name.split(":", 1)[0] for name, version in spec.expected if version} - interpreter
    if not names:
        return ()
    status = _docker_engine.saved_dpkg_status(bundle_dir, spec.base.reference)
    if status is None:
        return ()
    shipped = _dpkg_shipped(status)
    wanted = [p for p in lock.system.packages if p.name in names]
    return tuple(sorted({p.name for p in _held_by_base(wanted, shipped, lock.platform.machine)}))


def _dpkg_shipped(status: str) -> dict[tuple[str, str], str]:
    """``(name, arch) -> version`` of a dpkg status file's installed packages, checked like ``dpkg-query``'s."""
    from ..probes.hostlibs import parse_dpkg_status

    return {
        (p.name, p.arch): p.version
        for p in parse_dpkg_status(status)
        if grammar.is_system_name(p.name) and grammar.is_system_version(p.version)
    }


def _held_by_base(
    packages: Iterable[SystemPackage], shipped: dict[tuple[str, str], str], machine: str
) -> list[SystemPackage]:
    """Those of ``packages`` the base image has installed at the locked version (name, architecture and version):
    the one rule ``bundle --with-system-packages`` leaves them out by, and the audit counts them carried by."""
    return [p for p in packages if shipped.get((p.name, deb_files.deb_arch(p, machine))) == p.version]


def _offline_spec(lock: Snapshot, bundle_dir: Path) -> DockerSpec | None:
    """The spec an ``--offline`` docker rebuild of the bundle makes, on the base it would use, with no engine. Every
    saved image is checked against its .json first: the audit of the bundle names a damaged one the rebuild does
    not use (which the rebuild itself leaves unread)."""
    _docker_engine.bundled_facts(bundle_dir)
    try:
        options, from_bundle = _with_bundled_base(DockerOptions(), bundle_dir, lock)
        return make_spec(
            lock,
            options,
            _docker_engine.with_bundled(None, bundle_dir),
            carried=_carried(bundle_dir),
            offline=True,
            left_to_base=_left_to_base(bundle_dir),
            base_from_bundle=from_bundle,
        )
    except BadBundleError:
        raise
    except EnvsnapError:
        return None


def carries_system_packages(bundle_dir: Path | None) -> bool:
    """The bundle was made ``--with-system-packages``: it has ``debs/``, or the record of the base image it left
    them to (``SYSTEM_BASE``). A bundle whose base held every package has an empty ``debs/``, which a copy that
    keeps files only (git, many uploads) drops: the record, in SHA256SUMS, stays, and an ``--offline`` rebuild of
    it still expects them in the base, with no network, rather than install them from the apt mirror."""
    if bundle_dir is None:
        return False
    return (Path(bundle_dir) / DEBS).is_dir() or (Path(bundle_dir) / SYSTEM_BASE).is_file()


def _carried(bundle_dir: Path | None) -> Callable[[SystemPackage], bool] | None:
    """Which pinned system packages the bundle holds in ``debs/`` (None for a bundle made without
    ``--with-system-packages``, ``carries_system_packages``)."""
    if bundle_dir is None or not carries_system_packages(bundle_dir):
        return None
    folder = Path(bundle_dir) / DEBS
    return lambda pkg: (
        deb_files.is_pinned(pkg) and grammar.is_deb_filename(pkg.filename) and (folder / pkg.filename).is_file()
    )


def _left_to_base(bundle_dir: Path | None) -> tuple[str, frozenset[str]]:
    """The base image the bundle was made on and the names of the packages it left to it (its ``SYSTEM_BASE``)."""
    recorded = recorded_system_base(bundle_dir)
    if recorded is None:
        return "", frozenset()
    return recorded.reference, frozenset(x.split("=", 1)[0].split(":", 1)[0] for x in recorded.left_to_base)


def _copy_debs(bundle: Bundle, spec: DockerSpec, dest: Path, say: Progress) -> None:
    """The bundle's .deb files the Dockerfile installs, each checked against the lock's sha256 before it enters
    the build context: a changed file fails here, naming it, before anything is built or tagged."""
    if not spec.debs:
        return
    say(f"checking {len(spec.debs)} bundled .deb files against the lock's sha256")
    dest.mkdir(parents=True, exist_ok=True)
    for pkg in spec.debs:
        try:
            source = deb_files.deb_path(Path(bundle.root) / DEBS, pkg)
        except (EnvsnapError, OSError) as exc:
            raise RebuildError(f"cannot rebuild: {exc}") from exc
        try:
            deb_files.check_deb(source, pkg)
        except PinError as exc:  # the bundle's file is not the one the lock pins: it fails the bundle's checks
            raise BadBundleError(f"cannot rebuild: {exc}") from exc
        except OSError as exc:
            raise RebuildError(f"cannot rebuild: {exc}") from exc
        shutil.copy2(source, deb_files.deb_path(dest, pkg))


def _copy_wheels(
    bundle: Bundle, lock: Snapshot, dest: Path, say: Progress, fetched: dict[str, Path] | None = None
) -> None:
    """The bundle's wheels, each checked against the lock; ``fetched``: those ``--as-of`` fetched (checked)."""
    fetched = fetched or {}
    packages = lock.pip_layer()
    say(f"checking {len(packages) - len(fetched)} bundled wheels")
    for pkg in packages:
        if pkg.name in fetched:
            shutil.copy2(fetched[pkg.name], dest / fetched[pkg.name].name)
            continue
        try:
            wheel = bundle.check_wheel(pkg)
        except BadBundleError:
            raise  # a wheel that is not the one the bundle's lock pins: bad input, not a failed build
        except BundleError as exc:
            raise RebuildError(f"cannot rebuild: {exc}") from exc
        shutil.copy2(wheel, dest / wheel.name)


def tool_wheels(dest: Path, spec: DockerSpec, bundle: Bundle | None, *, offline: bool, progress: Progress) -> None:
    """Wheels of the running envsnap and its requirements for the image's interpreter, and their hashed
    requirements (``_tool``): envsnap is built from its source tree or packed from its installed files, never
    fetched from an index by name.

    A bundle's ``tool/`` (``bundle --with-base-image``) is used only where this envsnap cannot be packed for the
    image without a download (another Python or machine than the image's): its uv installs the image's
    environments and its envsnap gives the verdict, and its files are checked only against the bundle's own list,
    which nothing the lock seals names. A stranger's bundle would choose both (docs/security.md, "Bundles")."""
    bundled = Path(bundle.root) / TOOL if bundle is not None else None
    if bundled is None or not (bundled / REQUIREMENTS).is_file():
        _own_tool_wheels(dest, spec, offline=offline, progress=progress)
        return
    try:
        _own_tool_wheels(dest, spec, offline=True, progress=progress)
    except RebuildError as exc:
        why = str(exc)
    else:
        progress(f"envsnap's wheels for the image: this envsnap's own, not the bundle's {TOOL}/")
        return
    for item in sorted(bundled.iterdir()):
        # Only what `envsnap bundle --with-base-image` writes there goes into the build context: a folder ended the
        # copy below in a traceback, and any other file entered the image's context unchecked.
        if not (item.is_file() and not item.is_symlink() and (item.name == REQUIREMENTS or item.suffix == ".whl")):
            raise BadBundleError(
                f"{TOOL}/{item.name}: not a wheel or {REQUIREMENTS} (a bundle's {TOOL}/ holds only "
                "envsnap's wheels for the image and their list)"
            )
    pinned = _check_tool_requirements(bundled / REQUIREMENTS)
    if len(list(bundled.glob("uv-*.whl"))) != 1:  # the image's installer (Dockerfile.j2)
        raise BadBundleError(
            f"{bundled}: holds no uv wheel, which installs the image's environments; make the bundle again "
            "with this envsnap (`envsnap bundle --with-base-image`)"
        )
    _check_tool_wheels(bundled, pinned)
    progress(
        f"note: the image's envsnap and uv come from the bundle's {TOOL}/, checked against the bundle's own list: "
        f"this envsnap cannot be packed for the image ({why})"
    )
    for item in bundled.iterdir():
        shutil.copy2(item, dest / item.name)


def _own_tool_wheels(dest: Path, spec: DockerSpec, *, offline: bool, progress: Progress) -> None:
    """This envsnap's wheels for the image in ``dest``, whole or not at all (made beside it, then moved in)."""
    version = spec.base.interpreter.version
    machine = platforms.machine(spec.lock.platform.machine or _platform.machine())
    distro = baseimage.DISTROS.get((spec.base.os_id, spec.base.os_version))
    target = _tool.WheelTarget(version, machine, distro.glibc if distro else "2.17")
    progress(f"envsnap {__version__} and its requirements for the image's Python {version}")
    work = fresh_dir(dest.parent, f".{dest.name}-own.")
    try:
        wheels = _tool.wheels_for(work, target, offline=offline, progress=progress)
        (work / REQUIREMENTS).write_text(_tool.requirements(wheels, sha256_file))
        dest.mkdir(parents=True, exist_ok=True)
        for item in work.iterdir():
            os.replace(item, dest / item.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_tool_wheels(folder: Path, lines: list[tuple[str, str, str]]) -> None:
    """Each wheel of a bundle's ``tool/`` is the file its ``requirements.txt`` line pins (``lines``: name, version,
    sha256), and each line has its wheel: checked here, before the build, where a damaged one is bad input said in
    one line (inside the build uv found it, exit 4 in a long log)."""
    from packaging.utils import InvalidWheelFilename, canonicalize_name, canonicalize_version, parse_wheel_filename

    pins: dict[tuple[str, str], tuple[str, str]] = {  # (name, version) -> (its line's pin, sha256)
        (str(canonicalize_name(name)), canonicalize_version(version)): (f"{name}=={version}", digest)
        for name, version, digest in lines
    }
    for wheel in sorted(folder.glob("*.whl")):
        try:
            wheel_name, wheel_version, _, _ = parse_wheel_filename(wheel.name)
        except InvalidWheelFilename:
            raise BadBundleError(f"{TOOL}/{wheel.name}: not a wheel file name") from None
        _, pinned = pins.pop((str(wheel_name), canonicalize_version(wheel_version)), ("", ""))
        if not pinned:
            raise BadBundleError(f"{TOOL}/{wheel.name}: not listed in {TOOL}/{REQUIREMENTS}")
        if sha256_file(wheel) != pinned:
            raise BadBundleError(f"{TOOL}/{wheel.name}: its sha256 is not the one {TOOL}/{REQUIREMENTS} pins")
    if pins:
        listed = ", ".join(sorted(pin for pin, _ in pins.values()))
        raise BadBundleError(f"{TOOL}/{REQUIREMENTS} pins {listed}, whose wheel is not in {TOOL}/")


def _check_tool_requirements(path: Path) -> list[tuple[str, str, str]]:
    """A bundle's ``tool/requirements.txt`` goes into the image's pip command: only ``name==version
    --hash=sha256:HEX`` lines (what envsnap writes), never an option such as ``--find-links URL``. Its pins
    (name, version, sha256)."""
    from .. import _readlimits

    # The bundle's, so a stranger's: bad input (exit 2), read within the input size limit as the lock is.
    shown = f"{TOOL}/{REQUIREMENTS}"
    raw = _readlimits.read_bytes(path, error=BadBundleError, what=shown)
    pins = []
    with sinks.refusing(BadBundleError, shown):
        for line in raw.decode("utf-8", errors="replace").splitlines():  # pip splits the same way
            if not line or line.startswith("#"):
                continue
            name, _, rest = line.partition("==")
            version, _, digest = rest.partition(" --hash=sha256:")
            if sinks.requirement_pin(name, version, digest) != line:
                raise sinks.UnsafeValue(f"not a name==version --hash=sha256:HEX line: {grammar.shown(line)}")
            pins.append((name, version, digest))
    return pins


def save_base_image(
    lock: Snapshot, bundle_root: Path, *, base_image: str | None = None, progress: Progress | None = None
) -> Path:
    """``docker save`` the base image the lock rebuilds on into ``BUNDLE/images/``, so the bundle rebuilds
    when the registry has lost the tag."""
    client, reference, facts = _base_to_save(lock, base_image)
    return _docker_engine.save_image(client, reference, facts, bundle_root, progress or (lambda _line: None))


def check_base_to_save(lock: Snapshot, base_image: str | None = None) -> None:
    """``bundle --with-base-image``'s engine and base image, asked before a wheel is pinned or fetched: a missing
    one was found only after them all (gigabytes for a CUDA lock), and the bundle removed. ``RebuildError``."""
    _base_to_save(lock, base_image)


def _base_to_save(lock: Snapshot, base_image: str | None) -> tuple[docker.DockerClient, str, baseimage.ImageFacts]:
    """The engine, the base image's name and what the engine says of it, for ``save_base_image``."""
    # `envsnap bundle` has no --dry-run: the way forward is a bundle without the image.
    client = _docker_engine.engine(way_forward="bundle without --with-base-image")
    look = _docker_engine.inspector(client)
    base = baseimage.choose(lock, base_image=base_image, inspect=look)
    reference = base.reference.split("@", 1)[0]
    facts = look(base.reference)  # NAME@sha256:ID is that image, whatever NAME names now
    if facts is None:
        # The image the docker target chose from the lock: one the engine has may be named instead.
        other = "" if base_image else ", or name an image the engine has with --base-image IMAGE"
        raise RebuildError(f"--with-base-image: {reference} is not in the Docker engine; pull or build it first{other}")
    return client, reference, facts


def _bundle_spec(
    lock: Snapshot, base_image: str | None
) -> tuple[docker.DockerClient | None, baseimage.Inspector | None, DockerSpec]:
    """The engine (None when none answers), its inspector and the image spec a bundle's docker parts are for."""
    try:
        client: docker.DockerClient | None = _docker_engine.engine()
    except RebuildError:
        client = None
    inspect = _docker_engine.inspector(client) if client is not None else None
    return client, inspect, make_spec(lock, DockerOptions(base_image=base_image), inspect)


def bundle_tool_wheels(
    lock: Snapshot,
    bundle_root: Path,
    *,
    base_image: str | None = None,
    progress: Progress | None = None,
    offline: bool = False,
) -> Path:
    """Store envsnap's own wheels for the image's interpreter in ``BUNDLE/tool/``, so that a docker rebuild
    of the bundle needs no Python index at all (``--offline``)."""
    say = progress or (lambda _line: None)
    spec = _bundle_spec(lock, base_image)[2]
    folder = Path(bundle_root) / TOOL
    work = fresh_dir(bundle_root, ".tool.")
    try:
        tool_wheels(work, spec, None, offline=offline, progress=say)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return folder


def no_base_image_for(lock: Snapshot) -> str:
    """Why ``bundle --with-base-image`` saves no base image for ``lock`` ("" where it saves one): a conda
    environment is rebuilt by the conda target, which uses none, and the docker target refuses it (``spec``), so
    the image pulled and saved (gigabytes) served nothing."""
    return _conda_rebuilt_without(lock, "uses no base image")


def no_system_packages_for(lock: Snapshot) -> str:
    """Why ``bundle --with-system-packages`` carries no .deb files for ``lock`` ("" where it carries them): a conda
    environment is rebuilt by the conda target, which installs no system packages, and the docker target refuses
    it (``spec``). It stopped with exit 4 after every conda archive was fetched, and removed the bundle."""
    return _conda_rebuilt_without(lock, "installs no system packages")


def _conda_rebuilt_without(lock: Snapshot, what: str) -> str:
    if baseimage.refuses_conda(lock):
        return (
            f"a conda lock is rebuilt by the conda target, which {what} (the docker target rebuilds pip "
            "environments only)"
        )
    return ""


def add_docker_base(
    lock: Snapshot,
    bundle_root: Path,
    base_image: str | None = None,
    progress: Progress | None = None,
    *,
    offline: bool = False,
) -> None:
    """``envsnap bundle --with-base-image``: the saved base image and envsnap's wheels (``offline``: from what is
    installed here, no index), then fresh SHA256SUMS."""
    saved = save_base_image(lock, bundle_root, base_image=base_image, progress=progress)
    bundle_tool_wheels(lock, bundle_root, base_image=base_image, progress=progress, offline=offline)
    # An earlier run's image of another --base-image (gigabytes no rebuild of this bundle builds on) goes once the
    # new one and its wheels are in; a re-bundle that fails after this puts it back (``make_bundle`` keeps them).
    _docker_engine.remove_other_saved(bundle_root, saved)
    describe_bundle(Path(bundle_root))
    Bundle(bundle_root).write_sums()


REBUILDER = DockerRebuilder()


def base_image_packages(client: docker.DockerClient, image: str) -> dict[tuple[str, str], str]:
    """The packages ``image`` has installed, ``(name, arch) -> version``, read by ``dpkg-query`` in a container
    with no network (removed after). Empty when the image has no dpkg."""
    import docker as docker_sdk  # type: ignore[import-untyped,unused-ignore]

    try:
        code, out, _err = _docker_engine.run_in_image(
            client, image, ["dpkg-query", "-W", "-f=${Package}\\t${Architecture}\\t${Version}\\n"], timeout=120
        )
    except docker_sdk.errors.DockerException:
        return {}
    if code != 0:
        return {}
    found: dict[tuple[str, str], str] = {}
    for line in bytes(out).decode("utf-8", "replace").splitlines():
        name, _, rest = line.partition("\t")
        arch, _, version = rest.partition("\t")
        if grammar.is_system_name(name) and grammar.is_system_version(version):
            found[(name, arch)] = version
    return found


def check_system_packages(lock: Snapshot, base_image: str | None = None, lock_path: str | None = None) -> None:
    """``BundleError`` (exit 4) where ``bundle --with-system-packages`` of ``lock`` would find a package it must carry
    with no pinned .deb, asked before the bundle is touched: found only once the wheels were in, it left an earlier
    bundle marked as being made (every command refused it until it was bundled again), for a failure that the lock
    alone decides. The base image's own packages are read only where some package is not pinned. ``lock_path``: the
    lock as the user gave it, which the remedy pins (``envsnap pin LOCK`` where None)."""
    _client, _inspect, spec = _bundle_spec(lock, base_image)
    if all(deb_files.is_pinned(p) for p in deb_files.rebuild_packages(lock, interpreter_names(spec.base))):
        return
    _to_carry(lock, base_image, lambda _line: None, lock_path)


def _to_carry(
    lock: Snapshot, base_image: str | None, say: Callable[[str], None], lock_path: str | None = None
) -> tuple[DockerSpec, baseimage.ImageFacts | None, list[SystemPackage], list[SystemPackage]]:
    """The image spec ``bundle --with-system-packages`` is for, its base's facts (None: not in the engine), the
    packages the base holds at the locked version and those the bundle carries; ``BundleError`` (exit 4, like a
    wheel) where one to carry has no pinned .deb, naming the ``envsnap pin`` of ``lock_path``."""
    client, inspect, spec = _bundle_spec(lock, base_image)
    wanted = deb_files.rebuild_packages(lock, interpreter_names(spec.base))
    shipped: dict[tuple[str, str], str] = {}
    reference = spec.base.pinned
    facts = inspect(reference) if client is not None and inspect is not None else None
    if client is not None and facts is not None:
        shipped = base_image_packages(client, reference)
    else:
        say(f"the base image {spec.base.reference} is not in the Docker engine: every .deb is carried")
    in_base = _held_by_base(wanted, shipped, lock.platform.machine)
    carry = [p for p in wanted if p not in in_base]
    try:
        deb_files.require_pinned(carry, "--with-system-packages", base_image, pin_command(lock_path))
    except EnvsnapError as exc:  # a package that cannot be bundled
        raise BundleError(str(exc)) from None
    return spec, facts, in_base, carry


def add_system_packages(
    lock: Snapshot,
    bundle_root: Path,
    *,
    base_image: str | None = None,
    cache_dir: Path | None = None,
    offline: bool = False,
    allow_urls: tuple[str, ...] = (),
    progress: Progress | None = None,
    lock_path: str | None = None,
) -> tuple[int, int, int]:
    """``envsnap bundle --with-system-packages``: the pinned ``.deb`` files of the system packages a docker
    rebuild installs, into ``BUNDLE/debs/`` (each checked against the lock's sha256), then fresh SHA256SUMS.
    ``lock_path``: the lock as the user gave it, which a refusal's remedy pins.

    A package the base image already has at the locked version (name, architecture and version, read with
    ``dpkg-query`` in that image) is not carried: the offline build checks it is there instead. When the base
    image is not in the engine (or there is no engine), every package is carried. Returns (files carried,
    their bytes, packages left to the base image)."""
    from .._defaults import ARTIFACTS_CACHE
    from .._defaults import cache_dir as default_cache
    from ..artifacts.pin import Fetcher, policy_for, read_pip_config

    say = progress or (lambda _line: None)
    spec, facts, in_base, carry = _to_carry(lock, base_image, say, lock_path)
    machine = lock.platform.machine
    if in_base:
        image = f" ({facts.image_id})" if facts is not None else ""
        say(
            f"{len(in_base)} system packages are in the base image {spec.base.reference}{image} at the locked "
            "version: not carried"
        )
    _record_system_base(Path(bundle_root), spec.base.reference, facts, in_base, machine)
    # The snapshot archive the user configured is trusted like a configured index; other lock URLs as the
    # fetch policy allows (https on public hosts, --allow-url).
    policy = policy_for(read_pip_config(), allow_urls)
    policy = dataclasses.replace(policy, trusted=(*policy.trusted, deb_files.snapshot_url() + "/"))
    fetcher = Fetcher(policy=policy)
    folder = Path(bundle_root) / DEBS
    keep = {p.filename for p in carry}
    for old in folder.iterdir() if folder.is_dir() else ():
        if old.name not in keep and old.is_file():
            old.unlink()  # an earlier bundle's file this lock no longer carries
    try:
        size = deb_files.fetch_debs(
            carry,
            Path(bundle_root) / DEBS,
            fetcher,
            cache_dir=cache_dir or default_cache(ARTIFACTS_CACHE),
            offline=offline,
            progress=say,
        )
    except FetchRefusedError:
        raise  # a lock URL the fetch policy refuses: bad input, exit 2
    except EnvsnapError as exc:  # a file that cannot be fetched or is not the one the lock pins
        raise BundleError(str(exc)) from None
    describe_bundle(Path(bundle_root))
    Bundle(bundle_root).write_sums()
    return len(carry), size, len(in_base)


# ``SYSTEM_BASE``: the base image ``bundle --with-system-packages`` left packages to (its id, its registry digests,
# those packages), at the bundle's top: a later rebuild whose base of that name is another image (the tag moved)
# says which one the bundle was made on. Written where the base was in the engine (else every package is carried,
# and nothing is left to it); untrusted when read, like the bundle's other files.
MAX_SYSTEM_BASE = 4 << 20  # a few KiB: a reference, an id, digests and the package specs left to the base


@frozen
class SystemBase:
    """What ``SYSTEM_BASE`` records: the base's reference as the bundle named it, its image id and registry
    digests, and the packages (``name:arch=version``) the bundle left to it rather than carry as .deb files."""

    reference: str
    image_id: str
    repo_digests: tuple[str, ...]
    left_to_base: tuple[str, ...]


def _record_system_base(
    root: Path, reference: str, facts: baseimage.ImageFacts | None, in_base: Iterable[SystemPackage], machine: str
) -> None:
    import json

    from .._fs import atomic_write_text

    path = root / SYSTEM_BASE
    if facts is None:
        path.unlink(missing_ok=True)  # an earlier run's record: nothing is left to a base this time
        return
    data = {
        "reference": reference,
        "id": facts.image_id,
        "repo_digests": sorted(facts.repo_digests),
        "left_to_base": sorted(f"{p.name}:{deb_files.deb_arch(p, machine)}={p.version}" for p in in_base),
    }
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def recorded_system_base(bundle_dir: Path | None) -> SystemBase | None:
    """The bundle's ``SYSTEM_BASE``, validated (a stranger's file: anything else is a one-line ``BadBundleError``);
    None without a bundle or that file."""
    from .. import _readlimits

    path = Path(bundle_dir) / SYSTEM_BASE if bundle_dir is not None else None
    if path is None or not path.is_file():
        return None

    def bad(why: str) -> BadBundleError:
        return BadBundleError(f"{path}: not a record of the base image envsnap wrote ({why})")

    data = _readlimits.read_json(path, error=lambda msg: bad(msg.replace(f"{path}: ", "")), limit=MAX_SYSTEM_BASE)
    reference, image_id, digests = _docker_engine.image_identity(data, bad)
    left = data.get("left_to_base", [])
    if not isinstance(left, list) or not all(isinstance(x, str) and _is_package_spec(x) for x in left):
        raise bad(f"left_to_base {grammar.shown(left)}")
    return SystemBase(reference, image_id, tuple(digests), tuple(left))


def _is_package_spec(text: str) -> bool:
    """``name:arch=version`` as ``_record_system_base`` writes it, each part in the grammar of a lock's."""
    name_arch, eq, version = text.partition("=")
    name, colon, arch = name_arch.partition(":")
    return bool(
        eq and colon and grammar.is_system_name(name) and re.fullmatch(r"[a-z0-9-]{1,32}", arch)
    ) and grammar.is_system_version(version)


def _moved_system_base(spec: DockerSpec, recorded: SystemBase | None, lacking: Iterable[str]) -> str:
    """What to say of a base that lacks packages, where the bundle recorded another image under the same name (the tag
    moved since the bundle was made): that image's id, the ``lacking`` ones the bundle left to it, and how to build on
    it again. "" otherwise."""
    if recorded is None or recorded.reference != spec.base.reference or recorded.image_id == spec.base.image_id:
        return ""
    left = {x.split("=", 1)[0].split(":", 1)[0] for x in recorded.left_to_base}
    named = sorted({want.split("=", 1)[0].split(":", 1)[0] for want in lacking} & left)
    which = f"; it left {', '.join(named)} to that image" if named else ""
    ref = spec.base.reference
    repo = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
    digests = sorted(d.split("@", 1)[1] for d in recorded.repo_digests if d.split("@", 1)[0] == repo)
    how = (
        f"--base-image {sinks.shell_word(f'{repo}@{digests[0]}')} (its registry digest) where the engine has it or "
        "a registry serves it"
        if digests
        else "it has no registry digest, so only a copy of it serves: a bundle made with --with-base-image keeps one"
    )
    return (
        f"; the bundle was made on {ref} as image {recorded.image_id} (its {SYSTEM_BASE} records it{which}), and {ref} "
        "is image "
        f"{spec.base.image_id or 'another'} here now: the tag moved since. Build on the bundle's image: {how}"
    )


def untagged_images(*, remove: bool) -> list[tuple[str, int, str, bool]]:
    """The untagged images envsnap built that the engine keeps (``envsnap clean --images``): each (id, size, why it
    stays: "" when removed, or to be, whether envsnap's rebuild built it), removed when ``remove``, never forced.
    An image made as envsnap's Dockerfile makes one that no rebuild here recorded building (``_built``: a hand
    ``docker build`` of an exported context, or a stranger's image with envsnap's labels) is listed and kept: its
    labels and steps are text anyone can write. ``RebuildError`` with no engine."""
    client = _docker_engine.engine(way_forward="leave --images out (no image was looked for)")
    found = []
    listed = _docker_engine.dangling_images(client)
    # Read after the listing: a listed image's rebuild marked itself before it built, so is seen if still running.
    building = _being_built()
    held = _docker_engine.holders(client)
    for image, size, digest, built in listed:
        kept = []  # (holder, what is known of its rebuild)
        for holder in held.get(image, []):
            judged = holder.judged()
            if judged != _docker_engine.HOLD_GONE:
                kept.append((holder, judged))
            elif remove:
                # Its rebuild is proved ended (killed, it left the container): released. The image is as any other
                # once every holder is gone; a hold not proved gone is never removed (nor one that stays, the engine's
                # refusal of the image names it).
                _docker_engine.release(client, holder)
        if kept:
            running = any(judged == _docker_engine.HOLD_RUNNING for _, judged in kept)
            holding = " and ".join(_holding(holder, judged) for holder, judged in kept)
            why = (
                f"a docker rebuild of its lock {'is' if running else 'may be'} running (the image is untagged until "
                f"verified), holding it with {holding}; left to it"
            )
        elif digest in building:
            why = "a docker rebuild of its lock is running (the image is untagged until verified); left to it"
        elif not built:  # its look alone: never removed as envsnap's
            why = NOT_RECORDED.format(image=image)
        else:
            why = _docker_engine.remove_untagged(client, image) if remove else ""
        found.append((image, size, why, built))
    return found


# Why ``untagged_images`` keeps an image that looks as envsnap makes one but that no rebuild here recorded building.
NOT_RECORDED = (
    "no envsnap rebuild of this user recorded building it, and its labels and steps are text any Dockerfile can "
    "write; `docker rmi {image}` removes it if it is yours (a hand `docker build` of an exported context)"
)


def tagged_holds(*, remove: bool) -> list[tuple[str, str, str, str]]:
    """The holds envsnap made (``_docker_engine.holders``: named ``envsnap-hold-*``, labelled, never started) on an
    image other than the untagged ones ``untagged_images`` judges: a rebuild killed between tagging its image and
    releasing its hold left one on a tagged image, which ``docker rmi TAG`` refuses while it stays. Each (container,
    the image's first tag or its id, its rebuild as "pid PID on HOST", why it stays: "" when removed, or to be),
    removed when ``remove`` where its rebuild is proved ended (``Holder.judged``, as on an untagged image); the image
    is never removed. ``RebuildError`` with no engine."""
    client = _docker_engine.engine(way_forward="leave --images out (no image was looked for)")
    listed = {image for image, _, _, _ in _docker_engine.dangling_images(client)}
    found = []
    for image, held in sorted(_docker_engine.holders(client).items()):
        if image in listed or not image:
            continue
        try:
            tags = client.api.inspect_image(image).get("RepoTags") or []
        except Exception:
            tags = []
        named = str(tags[0]) if tags else image
        for holder in held:
            judged = holder.judged()
            if judged == _docker_engine.HOLD_GONE:
                stays = _docker_engine.release(client, holder) if remove else ""
                why = (
                    f"the container {holder.container} (pid {holder.pid} on {holder.host}), the hold on image {named} "
                    f"of a docker rebuild that has ended: {stays}"
                    if stays
                    else ""
                )
            else:
                running = "is" if judged == _docker_engine.HOLD_RUNNING else "may be"
                why = (
                    f"{_holding(holder, judged)}, the hold on image {named} of a docker rebuild that {running} running"
                )
            found.append((holder.container, named, f"pid {holder.pid} on {holder.host}", why))
    return found


def _holding(holder: _docker_engine.Holder, judged: str) -> str:
    """A hold ``untagged_images`` keeps, as its line names it: how to release one whose rebuild cannot be told."""
    release = f"`docker rm {sinks.shell_word(holder.container)}` releases it once that rebuild has ended"
    why = {
        _docker_engine.HOLD_ELSEWHERE: ", in another boot or pid namespace than this clean's, or on another machine: "
        f"whether it still runs cannot be told from here; {release}",
        _docker_engine.HOLD_UNRECORDED: ", a hold that records no start time, boot or pid namespace (an older "
        f"envsnap's, or one made where /proc does not tell them): whether it still runs cannot be told; {release}",
        _docker_engine.HOLD_UNREADABLE: f": that pid runs, and its start time cannot be read here to tell whether it "
        f"is the rebuild; {release}",
    }.get(judged, "")
    return f"the container {holder.container} (pid {holder.pid} on {holder.host}{why})"


def engine_inspector() -> baseimage.Inspector | None:
    """An inspector of the images in the Docker engine the environment names, or None without one."""
    try:
        return _docker_engine.inspector(_docker_engine.engine())
    except RebuildError:
        return None
