"""The Dockerfile spec: what an image of a lock is made of (base, interpreter, pinned system packages) and the
build context rendered from it. Pure: nothing here talks to an engine or touches the disk, so the dockerfile
exporter and the docker rebuild target render the same bytes from the same lock.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field

from .. import _templates, fileurls, platforms, sinks
from .._defaults import LOCK_NAME
from .._frozen import frozen
from .._plugins import Options, flag
from .._version import __version__
from ..artifacts import bundle as bundle_layout
from ..artifacts import debs as deb_files
from ..artifacts.bundle import (
    DIRECT_URL,
    bundle_wheel_dist_info,
    bundle_wheel_marker,
    dist_info_json,
    from_a_bundle_wheel,
    installs_by_file,
    installs_its_source_file,
    pin_then_bundle,
    record_line,
    requirements_text,
    source_direct_url,
)
from ..errors import BadOptionError, RebuildError
from ..model import Snapshot, SystemPackage
from ..probes.interface import BUNDLE_WHEEL_FILE
from . import apt, baseimage

ENV_DIR = "/opt/env"
DOCKERFILE = "Dockerfile"
DEBS = deb_files.DEBS
REQUIREMENTS = "requirements.txt"
# Where the image's installer stage puts the context's wheels/ and requirements.txt: the built wheels' lines name
# their files here (``requirements_text``), so that the image's direct_url.json names each and its sha256.
WHEELHOUSE = "/opt/envsnap-wheelhouse"
WHEELS = "wheels"
TOOL = bundle_layout.TOOL
LABEL_DIGEST = "org.envsnap.lock.content-digest"
LABEL_VERSION = "org.envsnap.version"
# Set in the installer stage alone: the image the classic builder keeps of that stage carries it, and neither the
# rebuilt image (built FROM the system stage) nor an image of the user's made FROM that one does, so a filter on it
# (tool/README.md's ``docker image prune`` line) cannot remove one of the user's, which inherit the other labels.
LABEL_STAGE = "org.envsnap.stage"
INSTALLER_STAGE = "installer"
# The Dockerfile's last step, by which an image is known as one envsnap built (``BUILT_STEPS``): every image made
# FROM it carries its labels too, but has later steps of its own.
VERIFY_STEP = f"envsnap verify /envsnap.lock --python {ENV_DIR}/bin/python --no-cache"
# The installer stage's last step ends so (what a hand ``docker build`` of the context leaves untagged).
INSTALLER_STEP_END = f"--find-links {WHEELHOUSE} -r {WHEELHOUSE}/requirements.txt"
# An image reference as the engine reads one (the distribution project's grammar): an optional registry host
# (with a port) before the first "/", path components of lower-case letters and digits joined by ".", "_", "__"
# or dashes, and an optional tag; the name at most 255 characters (checked apart).
_DOMAIN_PART = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NETWORK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_TAG = re.compile(
    rf"(?P<name>(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?/)?{_PATH_PART}(?:/{_PATH_PART})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?",
    re.ASCII,
)
MAX_IMAGE_NAME = 255


def split_reference(reference: str) -> tuple[str, str]:
    """``host:5000/group/name:tag`` as (repository, tag), the tag ``latest`` when none is given."""
    match = _TAG.fullmatch(reference)
    if match is None:
        raise BadOptionError(f"--tag {reference!r} is not a valid image name[:tag]")
    return match.group("name"), match.group("tag") or "latest"


@frozen
class DockerOptions(Options):
    """The docker target's options (``RebuildRequest.options``; the CLI fills them from its flags)."""

    # default: envsnap/rebuild:<first 12 hex digits of the lock's content digest>
    tag: str = field(
        default="",
        metadata=flag(
            "the image's tag, set only after the build and the verification pass (default: envsnap/rebuild:<lock "
            "digest prefix>)",
            metavar="NAME[:TAG]",
        ),
    )
    base_image: str | None = field(
        default=None,
        metadata=flag(
            "build FROM this image instead of the one chosen from the lock (OS, Python, CUDA)", metavar="IMAGE"
        ),
    )
    base_digest: str | None = field(
        default=None, metadata=flag("pin the base image to this digest", metavar="sha256:HEX")
    )
    apt_snapshot: str | None = field(
        default=None,
        metadata=flag(
            "install system packages from the snapshot mirror of DATE (snapshot.debian.org, snapshot.ubuntu.com)",
            metavar="DATE",
        ),
    )
    as_of: str | None = field(
        default=None,
        metadata=flag(
            "install the system packages that are neither bundled nor in the base image from the snapshot archive "
            "as of DATE (auto: the lock's capture time)",
            metavar="auto|DATE",
        ),
    )
    system_packages: str = field(
        default="needed",
        metadata=flag(
            "which of the lock's system packages to install, pinned (default: needed: those the Python packages' "
            "binaries load)",
            choices=apt.MODES,
        ),
    )
    network: str = "host"  # the build's network: it reaches the apt mirror, never a Python index

    @classmethod
    def from_mapping(cls, options: Mapping[str, str], *, owner: str) -> DockerOptions:
        # Given empty, a tag or a network read as not given: `--tag "$TAG"` with $TAG unset built and tagged the
        # image under the default name, where a CI job publishes it.
        for name in ("tag", "network"):
            if name in options and not str(options[name]).strip():
                raise BadOptionError(f"--{name} '': empty (name one, or leave the option out for the default)")
        return super().from_mapping(options, owner=owner)

    def __post_init__(self) -> None:
        if self.tag:
            match = _TAG.fullmatch(self.tag)
            if match is None or len(match.group("name")) > MAX_IMAGE_NAME:
                raise BadOptionError(
                    f"--tag {self.tag[:300]!r} is not a valid image name[:tag] (a registry host and port, lower-case "
                    f"path parts, a tag; the name at most {MAX_IMAGE_NAME} characters)"
                )
        # ``--option base_image=`` reads as not given, as it always has.
        for name in ("base_image", "base_digest", "apt_snapshot", "as_of"):
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)
        object.__setattr__(self, "system_packages", self.system_packages or "needed")
        object.__setattr__(self, "network", self.network or "host")
        if _NETWORK.fullmatch(self.network) is None:
            # A Docker network's name (host, none, bridge, a user-defined one): `bogus; rm -rf /` was taken and
            # shown in the plan, and failed only at the build, exit 4.
            raise BadOptionError(f"--option network={self.network[:80]!r}: not a Docker network name")


# ``named`` where no command gave the paths (an export): the notes' own placeholders.
PLACEHOLDERS = ("LOCK", "BUNDLE", "", "")


@frozen
class DockerSpec:
    """Everything the Dockerfile says, decided from the lock and the options."""

    lock: Snapshot
    base: baseimage.BaseImage
    system: tuple[apt.AptPin, ...]
    apt_specs: tuple[str, ...]
    apt_sources: tuple[str, ...]
    options: DockerOptions
    notes: tuple[str, ...]
    # The bundle's .deb files installed by dpkg from the build context (``bundle --with-system-packages``), and
    # the ``name[:arch]=version`` (version empty: any) that an offline build expects the base image to ship.
    debs: tuple[SystemPackage, ...] = ()
    expected: tuple[tuple[str, str], ...] = ()
    # The lock, the bundle and the lock pinned beside it as the commands it names take them, shell words, and the
    # commands that unpack the archive the lock is in first (``named`` of ``make_spec``).
    named: tuple[str, str, str, str] = PLACEHOLDERS

    @property
    def tag(self) -> str:
        return self.options.tag or default_tag(self.lock)


def default_tag(lock: Snapshot) -> str:
    digest = lock.envsnap.content_digest.split(":", 1)[-1]
    return f"envsnap/rebuild:{digest[:12] or 'latest'}"


def source_date_epoch(lock: Snapshot) -> int:
    """The lock's capture time as seconds since the epoch (0 when it has none), so builds are repeatable."""
    created = lock.envsnap.created
    if not created:
        return 0
    try:
        moment = _dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return max(0, int(moment.timestamp()))  # a time before 1970 is no SOURCE_DATE_EPOCH builds accept


def check_linux(lock: Snapshot) -> None:
    """Refuse a lock no image can run (``baseimage.refuses_platform``), before a base image is chosen: else a macOS
    or Windows lock was told to pass --base-image, or an Apple silicon one to use a matching host, whose engine
    builds Linux images too. ``rebuild`` refused it as the lock was read already; this is for a caller of the
    spec."""
    refused = baseimage.refuses_platform(lock)
    if refused:
        raise RebuildError(refused)


def check_architecture(lock: Snapshot, machine: str, where: str) -> None:
    check_linux(lock)
    want = platforms.machine(lock.platform.machine)
    have = platforms.machine(machine)
    if want and have and want != have:
        raise RebuildError(
            f"the lock was captured on {want}, but {where} builds {have} images: its wheels cannot run there "
            "(rebuild on a matching host)"
        )


def make_spec(
    lock: Snapshot,
    options: DockerOptions,
    inspect: baseimage.Inspector | None = None,
    *,
    carried: Callable[[SystemPackage], bool] | None = None,
    offline: bool = False,
    left_to_base: tuple[str, frozenset[str]] = ("", frozenset()),
    base_from_bundle: bool = False,
    named: tuple[str, str, str, str] = PLACEHOLDERS,
) -> DockerSpec:
    """Decide the image: base, interpreter, system packages and their pins. Raises ``RebuildError``.

    ``carried``: which pinned system packages the bundle holds as ``.deb`` files (installed with dpkg from the
    build context, never from apt). ``offline``: what is neither carried nor pinned is not fetched with apt but
    expected in the base image, checked by the build. ``left_to_base``: the base image (its reference) the bundle
    was made on and the names of the packages it left to that image, which held them (its system-base.json).
    ``base_from_bundle``: ``options.base_image`` is the bundle's saved base, not one the user named.
    ``named``: the lock and the bundle folder as the commands a refusal or a note names take them, each one shell
    word (``sinks.path_shown`` of the paths the user gave): pasted, they pin and bundle again into that bundle. The
    placeholders ``LOCK`` and ``BUNDLE`` where there are none (an export). Its third: where the lock is a bundle's
    own, the path ``pin -o`` writes the pinned lock to, beside that bundle, and the bundle is made from ("" for any
    other lock, pinned in place). Its fourth: where the lock is a bundle archive's, the commands that unpack it first
    (``_bundlelock.unpack_beside``), "" otherwise. The notes keep the placeholders, since the
    Dockerfile holds them as comments (a path of the author's machine is no part of an image's recipe, and two
    forms of one rebuild, the author's lock and the bundle's, built different Dockerfiles); ``shown_notes`` fills
    them in for the terminal."""
    refused = baseimage.refuses_conda(lock)
    if refused:
        # The image's environment is a venv: conda packages would be missing and verify would fail late. The
        # wrong target for the lock is bad input (exit 2), as a pip lock is for the conda target.
        raise BadOptionError(f"{refused}: use --target conda")
    check_linux(lock)
    base = baseimage.choose(
        lock,
        base_image=options.base_image,
        base_digest=options.base_digest,
        inspect=inspect,
        base_from_bundle=base_from_bundle,
    )
    selected = apt.select(lock, options.system_packages)
    system = apt.pins(selected, lock.platform.machine, exact=base.same_os)
    notes = [*base.notes]
    if base.interpreter.note:
        notes.append(base.interpreter.note)
    if lock.python.kind != "venv":
        notes.append(f"the lock's {lock.python.kind} environment is rebuilt as a venv at {ENV_DIR}")
    if selected and not base.same_os:
        notes.append("system packages are installed by name only: the lock's versions belong to another OS")
    sources: tuple[str, ...] = ()
    if options.apt_snapshot and options.as_of:
        raise BadOptionError("--as-of and --apt-snapshot both choose the apt snapshot: give one")
    if options.as_of and offline:
        raise BadOptionError("--as-of installs from the snapshot archive, which needs the network: drop --offline")
    dated = as_of_date(lock, options.as_of) if options.as_of else options.apt_snapshot
    if dated:
        sources = apt.snapshot_sources(base.os_id, base.codename, dated)
    debs: tuple[SystemPackage, ...] = ()
    if carried is not None and base.same_os and options.system_packages != "none":
        debs = tuple(p for p in deb_files.rebuild_packages(lock, interpreter_names(base)) if carried(p))
    carried_names = {p.name for p in debs}
    system_apt = tuple(p for p in system if p.name not in carried_names)
    pinned_names = {p.name for p in system}
    specs = [p.spec for p in system_apt]
    interpreter, note = _interpreter_specs(
        base,
        pinned_names | carried_names,
        bool(sources),
        offline,
        carried,
        bundled=carried_names,
        left_to_base=left_to_base,
    )
    notes += [note] if note else []
    specs += [s for s in interpreter if s.split("=", 1)[0] not in pinned_names | carried_names]
    expected: tuple[tuple[str, str], ...] = ()
    if offline and (debs or carried is not None):
        # No network: what the bundle does not carry must be in the base image already.
        expected = tuple(sorted(_expected(s) for s in specs))
        specs = []
    if specs and options.network == "none":
        # apt-get in a build with no network fails minutes in (or passes only from a cached layer).
        names = sorted({s.split("=", 1)[0] for s in specs})
        # The commands that carry them for this base: a plain `bundle --with-system-packages` carries only what
        # `pin` pinned, for the base the lock chooses (one with Python: no interpreter package).
        carry = carry_commands(
            lock,
            {n.split(":", 1)[0] for n in names},
            base.reference if base.chosen_by != "lock" else "",
            named[0],
            f"-o {named[1]}",
            pinned_to=named[2],
            unpack=named[3],
        )
        raise BadOptionError(
            f"--option network=none: the build installs {len(names)} system packages from apt "
            f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}), which needs the network; bundle their "
            f".deb files (`{carry}`) and rebuild {'' if offline else 'with --offline '}from that bundle, or leave "
            "out --option network=none"
        )
    return DockerSpec(
        lock=lock,
        base=base,
        system=system,
        apt_specs=tuple(sorted(specs, key=lambda s: (s.split("=", 1)[0], s))),
        apt_sources=sources,
        options=options,
        notes=tuple(notes),
        debs=debs,
        expected=expected,
        named=named,
    )


def interpreter_names(base: baseimage.BaseImage) -> tuple[str, ...]:
    """The Debian packages of the interpreter a container build installs (none where the base image ships Python):
    those it names for apt and the lock's revisions of its family. One rule for the rebuild's spec, the bundle's
    ``--with-system-packages`` and the audit, which count the same packages."""
    names = [s.split("=", 1)[0] for s in base.interpreter.apt_packages]
    names += [name for name, _ in base.interpreter.locked if name not in names]
    return tuple(names)


def carry_commands(
    lock: Snapshot,
    names: Iterable[str],
    base: str,
    lock_arg: str,
    bundle_to: str,
    *,
    pinned_to: str = "",
    unpack: str = "",
) -> str:
    """The commands that put the .deb files of the system packages ``names`` into a bundle, for the base image
    ``base`` the docker rebuild uses ("" for the one it chooses from the lock): ``envsnap bundle LOCK bundle_to
    --with-system-packages --base-image BASE`` (``bundle_to``: its ``-o`` and the options after it), after ``envsnap
    pin LOCK --base-image BASE`` where any of them is not pinned by hash. Both name the base, since which packages
    they take depends on it: for one without Python, the interpreter's, which a plain ``pin`` and ``bundle`` (for the
    base the lock chooses, which ships Python) leave out. ``pinned_to``: where ``lock_arg`` is a bundle's own lock,
    which ``pin`` does not rewrite in place, the path it writes the pinned lock to (``pin -o``) and the bundle is made
    from. ``unpack``: where ``lock_arg`` is in a bundle archive, the commands that unpack it first. One remedy for the
    rebuild plan's ``network`` line, the audit's ``system-packages`` item and REPRODUCING.md."""
    on = f" --base-image {sinks.shell_word(base)}" if base else ""
    wanted = set(names)
    pinned = all(deb_files.is_pinned(p) for p in lock.system.packages if p.name in wanted)
    if pinned:
        first = f"{unpack} && " if unpack else ""
        return f"{first}envsnap bundle {lock_arg} {bundle_to} --with-system-packages{on}"
    pin, source = pin_then_bundle(lock_arg, pinned_to, unpack)
    return f"{pin}{on} && envsnap bundle {source} {bundle_to} --with-system-packages{on}"


def shown_notes(spec: DockerSpec) -> tuple[str, ...]:
    """``spec.notes`` as the terminal shows them: the commands they name with the lock and bundle the user gave
    (``named``) in place of the placeholders the Dockerfile keeps."""
    lock_word, bundle_word, pinned_to, unpack = spec.named
    if spec.named == PLACEHOLDERS:
        return spec.notes
    pin, source = pin_then_bundle(lock_word, pinned_to, unpack)
    return tuple(
        note.replace("`envsnap pin LOCK", f"`{pin}").replace(
            "`envsnap bundle LOCK -o BUNDLE", f"`envsnap bundle {source} -o {bundle_word}"
        )
        for note in spec.notes
    )


def _interpreter_specs(
    base: baseimage.BaseImage,
    elsewhere: set[str],
    dated: bool,
    offline: bool,
    carried: Callable[[SystemPackage], bool] | None,
    bundled: set[str] | frozenset[str] = frozenset(),
    left_to_base: tuple[str, frozenset[str]] = ("", frozenset()),
) -> tuple[list[str], str]:
    """The interpreter's apt specs, and a note when the lock's revision of it cannot be had. ``elsewhere``: the
    names installed otherwise (a bundled .deb, or pinned among the system packages).

    The lock's revision (``python3.11=3.11.2-6+deb12u6``, with its ``-minimal`` and ``libpython3.11-*`` at the same
    one, or apt refuses the set) is pinned where it can be had: from a dated snapshot (``--as-of``,
    ``--apt-snapshot``) or, offline with the bundle's debs/, checked in the base image. The live mirror keeps only
    the newest revision of a release, so there the version glob stays and the note says which revision the lock
    has and how to get it: an exact pin failed every such build once Debian updated the interpreter. Where the
    bundle carries some of them, the rest are pinned to the same revision, which its .deb files depend on."""
    interpreter = base.interpreter
    locked = interpreter.locked
    if not locked:
        return list(interpreter.apt_packages), ""
    left = [(name, version) for name, version in locked if name not in elsewhere]
    name, version = left[0] if left else locked[0]
    others = f" (and {len(left) - 1} more of its packages)" if len(left) > 1 else ""
    exact = [f"{name}={version}" for name, version in locked]
    # pin and bundle choose the interpreter's packages for the base image they are given, as the rebuild does.
    on = f" --base-image {sinks.shell_word(base.reference)}" if base.chosen_by != "lock" else ""
    # The placeholders, which the Dockerfile keeps as comments; ``shown_notes`` names the paths the user gave.
    pin = f"`envsnap pin LOCK{on}` then `envsnap bundle LOCK -o BUNDLE --with-system-packages{on}`"
    if dated or len(left) < len(locked):
        some = [n for n, _ in locked if n in bundled]
        if dated or offline or not some or not left:
            return exact, ""
        # The bundle's .deb files depend on the rest at their exact revision, which apt must then find on the
        # mirror: the live one holds it only while it is the newest, and apt refuses the set otherwise.
        missing = ", ".join(n for n, _ in left)
        return exact, (
            f"interpreter: the bundle's {DEBS}/ carries {some[0]} {version} but not {missing} at that revision, "
            f"which the build then needs from the apt mirror (the live one has it only while it is the newest); "
            f"{pin} carries them"
        )
    made_on, left_there = left_to_base
    if offline and carried is not None and made_on == base.reference and all(n in left_there for n, _ in left):
        # The bundle left them to this base, which held that revision: to bundle again leaves them there again.
        return exact, (
            f"interpreter: the lock's {name} {version}{others} was left to the base image {made_on}, which held "
            f"that revision when the bundle was made (its system-base.json records it): the offline build checks "
            "that it still does"
        )
    if offline and carried is not None:
        return exact, (
            f"interpreter: the lock's {name} {version}{others} is not in the bundle's {DEBS}/: the offline build "
            f"expects the base image to have that revision; {pin} carries its .deb files"
        )
    where = (
        "--offline, with no .deb of it in the bundle"
        if offline
        else "the live apt mirror keeps only the newest revision of a release"
    )
    return list(interpreter.apt_packages), (
        f"interpreter: the lock's {name} {version}{others} cannot be had ({where}): the build installs the "
        f"mirror's newest {name} {interpreter.version} revision, which verify reports; to install the lock's, "
        + (f"{pin} carries its .deb files" if offline else f"pass --as-of auto (the snapshot archive), or {pin}")
    )


def as_of_date(lock: Snapshot, as_of: str) -> str:
    """``--as-of auto|DATE`` as a date ``--apt-snapshot`` reads: ``auto`` is the lock's capture time."""
    if as_of != "auto":
        return as_of
    created = lock.envsnap.created
    if not created:
        raise BadOptionError("--as-of auto: the lock records no capture time; give a date (2025-05-20)")
    compact = created.replace("-", "").replace(":", "")
    return compact if re.fullmatch(r"[0-9]{8}T[0-9]{6}Z", compact) else created[:10]


def _expected(apt_spec: str) -> tuple[str, str]:
    """``name[:arch]=version`` as (package, exact version); a wildcard version (the interpreter's) is any."""
    name, _, version = apt_spec.partition("=")
    return name, "" if "*" in version else version


def render_dockerfile(spec: DockerSpec) -> str:
    lock = spec.lock
    labels = sorted(
        {
            LABEL_DIGEST: lock.envsnap.content_digest,
            LABEL_VERSION: __version__,
            "org.envsnap.base": spec.base.reference,
            "org.envsnap.python": spec.base.interpreter.version,
            "org.opencontainers.image.created": lock.envsnap.created,
        }.items()
        # The image built on, by id: its tag can name another image tomorrow (no engine, no id: not known here).
        | ({"org.envsnap.base.id": spec.base.image_id}.items() if spec.base.image_id else set())
    )
    # Every lock value is quoted or checked for its place in the Dockerfile (the template's filters).
    with sinks.refusing(RebuildError, "cannot write the Dockerfile"):
        return _templates.render(
            "docker/Dockerfile.j2",
            envsnap_version=__version__,
            content_digest=lock.envsnap.content_digest,
            base=spec.base,
            # The lock's machine, so that a build elsewhere stops at the base image instead of making an image of
            # its own machine (an aarch64 lock's Dockerfile built on x86_64 made an amd64 image).
            platform=platforms.docker_platform(lock.platform.machine),
            interpreter=spec.base.interpreter,
            notes=spec.notes,
            source_date_epoch=source_date_epoch(lock),
            labels=labels,
            stage_label=f"{LABEL_STAGE}={INSTALLER_STAGE}",
            apt_sources=spec.apt_sources,
            apt_specs=spec.apt_specs,
            debs=[f"{DEBS}/{p.filename}" for p in spec.debs],
            expected=[f"{name}={version}" if version else name for name, version in spec.expected],
            foreign_arches=sorted({p.arch for p in spec.system if p.arch}),
            system_packages=f"--system-packages {spec.options.system_packages}",
            lock_name=LOCK_NAME,
            env_dir=ENV_DIR,
            wheelhouse=WHEELHOUSE,
            verify_step=VERIFY_STEP,
            bundle_wheels=_bundle_wheels(lock),
            direct_url=DIRECT_URL,
        )


def _bundle_wheels(lock: Snapshot) -> list[tuple[str, str, str, str]]:
    """(the .dist-info folder, the file written there, its text without its newline, its RECORD line) for each
    bundle's wheel whose .dist-info the final stage names, after removing any direct_url.json with its RECORD line.
    A wheel ``from_a_bundle_wheel`` names is installed by name, which writes no direct_url.json; a wheel the bundle
    built (``installs_by_file``) is installed by its file, whose direct_url.json names the installer stage's wheel
    folder, in no layer of the image. Each is named as a venv rebuilt from a bundle archive names it
    (docs/design.md): by the lock's source where a capture in the image can read it (a repository or an archive
    by URL), else by the wheel's file name and sha256 (``BUNDLE_WHEEL_FILE``: the image holds no folder of this
    machine), so a capture inside records no file that no one can read.

    A wheel the lock records as installed from its own file (``installs_its_source_file``: ``pip install ./x.whl``,
    or its URL) is installed by name too, and the bundle pins that very file (its sha256): its direct_url.json names
    the locked source, as installing that file writes it, where the URL names the same place in the image as on the
    author's machine (a URL, an absolute path); a ``{project}`` or ``~`` label names a folder of the machine the lock
    is read on, none of the image's, so nothing is written for it (a capture inside says "index", as before)."""
    out = []
    for pkg in sorted(lock.pip_layer(), key=lambda p: p.name):
        art = pkg.artifact
        if art is not None and installs_its_source_file(pkg):
            direct = None if fileurls.is_labelled(pkg.source.url) else source_direct_url(pkg, pkg.source.url)
            if direct is not None:
                data = dist_info_json(direct)
                dist_info = bundle_wheel_dist_info(art)
                line = record_line(dist_info, DIRECT_URL, data)
                out.append((dist_info, DIRECT_URL, data.decode().rstrip("\n"), line))
            continue
        if art is None or not (from_a_bundle_wheel(pkg) or installs_by_file(pkg)):
            continue
        dist_info = bundle_wheel_dist_info(art)
        url = pkg.source.url
        direct = None if from_a_bundle_wheel(pkg) or url.startswith("file:") else source_direct_url(pkg, url)
        if direct is None:
            data, line = bundle_wheel_marker(dist_info, art)
            out.append((dist_info, BUNDLE_WHEEL_FILE, data.decode().rstrip("\n"), line))
        else:
            data = dist_info_json(direct)
            out.append((dist_info, DIRECT_URL, data.decode().rstrip("\n"), record_line(dist_info, DIRECT_URL, data)))
    return out


def loaded_tag(image_id: str) -> str:
    """The tag a bundled base image gets once loaded, by envsnap's rebuild (``_docker_engine.load_bundled_image``)
    and by tool/README.md's commands alike: ``envsnap/base:<12 hex digits of its id>``."""
    return f"envsnap/base:{image_id.split(':', 1)[-1][:12]}"


def render_context(spec: DockerSpec, lock_bytes: bytes, *, saved_base: str = "") -> dict[str, bytes]:
    """The build context's generated files (the wheels are copied in beside them when building). ``saved_base``:
    the bundle's saved archive of the base image (``images/NAME.tar``), which tool/README.md's commands load first:
    the Dockerfile names that base by its id, which no registry serves, so a hand build on an engine without it
    failed at its FROM."""
    return {
        DOCKERFILE: render_dockerfile(spec).encode(),
        LOCK_NAME: lock_bytes,
        REQUIREMENTS: requirements_text(spec.lock, wheels_url=f"file://{WHEELHOUSE}").encode(),
        f"{WHEELS}/README.md": _templates.render("docker/wheels-README.md.j2", kind="wheels").encode(),
        f"{TOOL}/README.md": _templates.render(
            "docker/wheels-README.md.j2",
            kind="tool",
            tag=spec.tag,
            saved_base=saved_base,
            base_name=spec.base.reference,
            base_id=spec.base.image_id,
            by_id=spec.base.reference == spec.base.image_id,
            loaded_tag=loaded_tag(spec.base.image_id),
            label_filters=(
                f"label={LABEL_STAGE}={INSTALLER_STAGE}",
                f"label={LABEL_DIGEST}={spec.lock.envsnap.content_digest}",
            ),
        ).encode(),
    }
