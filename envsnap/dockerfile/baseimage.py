"""Choosing the base image of a container rebuild, and the Python interpreter that runs the rebuilt packages.

The choice is a table lookup on the lock (OS id and version, Python version, CUDA runtime and cuDNN), which a
user overrides with ``--base-image`` and pins with ``--base-digest``. When the engine is reachable, the
rebuilder inspects the image it would start from (``ImageFacts``): its digest pins it, its environment tells
whether it ships Python (the official ``python`` images set ``PYTHON_VERSION``) and which CUDA it requires.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import field
from types import MappingProxyType

from packaging.version import InvalidVersion, Version

from .._frozen import frozen
from ..cudaneed import CudaNeed, cuda_need
from ..errors import BadOptionError, RebuildError, RequiresPythonError, UnbuildableLockError
from ..grammar import is_image_digest, is_python_version, is_system_version, shown
from ..model import Snapshot
from ..platforms import debian_upstream, interpreter_debs, major_minor, numbers
from ..report import counted
from ..requires_python import describe, excluding
from ..sinks import is_image_reference


@frozen
class Distro:
    codename: str
    python: str  # the CPython version the release's python3 package carries
    glibc: str


# The releases envsnap can rebuild on; their python3 and glibc decide whether the lock's wheels run there.
DISTROS: Mapping[tuple[str, str], Distro] = MappingProxyType(
    {
        ("debian", "11"): Distro("bullseye", "3.9.2", "2.31"),
        ("debian", "12"): Distro("bookworm", "3.11.2", "2.36"),
        ("debian", "13"): Distro("trixie", "3.13.5", "2.41"),
        ("ubuntu", "20.04"): Distro("focal", "3.8.10", "2.31"),
        ("ubuntu", "22.04"): Distro("jammy", "3.10.12", "2.35"),
        ("ubuntu", "24.04"): Distro("noble", "3.12.3", "2.39"),
    }
)

# nvidia/cuda tags: CUDA major.minor -> (the tag's full version, Ubuntu releases it is published for).
CUDA_IMAGES: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType(
    {
        "11.8": ("11.8.0", ("20.04", "22.04")),
        "12.0": ("12.0.1", ("20.04", "22.04")),
        "12.1": ("12.1.1", ("20.04", "22.04")),
        "12.2": ("12.2.2", ("20.04", "22.04")),
        "12.3": ("12.3.2", ("20.04", "22.04")),
        "12.4": ("12.4.1", ("20.04", "22.04")),
        "12.5": ("12.5.1", ("20.04", "22.04", "24.04")),
        "12.6": ("12.6.3", ("20.04", "22.04", "24.04")),
        "12.8": ("12.8.1", ("20.04", "22.04", "24.04")),
        "12.9": ("12.9.1", ("20.04", "22.04", "24.04")),
        "13.0": ("13.0.1", ("22.04", "24.04")),
    }
)

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)


@frozen
class ImageFacts:
    """What a local engine knows about an image (``docker image inspect``)."""

    image_id: str  # sha256:... (the config digest)
    repo_digests: tuple[str, ...] = ()  # "repo@sha256:..." once pulled from or pushed to a registry
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    architecture: str = ""  # Docker's spelling: amd64, arm64
    bundled: bool = False  # the image a bundle saved (``bundle --with-base-image``), which the rebuild loads or has


# Given an image reference, what the local engine knows about it (None: not there, or no engine).
Inspector = Callable[[str], "ImageFacts | None"]


@frozen
class ImagePython:
    """The Python a base image runs (``rebuild.venv.Interpreter`` is one found on this host, ``rebuild._tool.
    WheelTarget`` the interpreter a set of wheels is chosen for: three things, three names)."""

    source: str  # image (the base ships it) | apt (the distribution's python3.X, installed by the build)
    executable: str  # inside the image
    version: str  # what the image will run
    apt_packages: tuple[str, ...] = ()  # apt-get install specs for source "apt"
    note: str = ""  # the choice in words, when it is not the locked interpreter exactly
    # Source "apt" on the lock's OS release: the lock's own revisions of the interpreter's Debian packages, (name,
    # version), where it records them at this release (``python3.11 3.11.2-6+deb12u6``); the spec pins them where
    # that revision can be had (a bundled .deb, a dated snapshot, the base image offline).
    locked: tuple[tuple[str, str], ...] = ()


@frozen
class BaseImage:
    reference: str  # what the user or the table named: "python:3.11.7-slim-bookworm"
    pinned: str  # what FROM uses: "ref@sha256:..." or a local image id, or the bare reference
    pin_kind: str  # digest | image-id | tag
    os_id: str
    os_version: str
    codename: str
    interpreter: ImagePython
    chosen_by: str  # "lock" | "--base-image" | "bundle" (its saved base, where none was named)
    same_os: bool  # the base runs the lock's OS release, so the lock's exact package versions apply
    require_cuda: str = ""  # the NVIDIA_REQUIRE_CUDA the image must declare, "" for CPU
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    image_id: str = ""  # the engine's id of the image FROM names, when an engine had it (label org.envsnap.base.id)


def cudnn_flavour(cuda: str, cudnn_version: str) -> str:
    """The ``cudnnN`` part of an nvidia/cuda tag ("" when the lock has no cuDNN)."""
    if not cudnn_version:
        return ""
    major = cudnn_version.split(".")[0]
    newer = Version(cuda) >= Version("12.4")
    if major == "9":
        return "cudnn" if newer else "cudnn9"
    if major == "8" and not newer:
        return "cudnn8"
    raise UnbuildableLockError(f"no nvidia/cuda image pairs CUDA {cuda} with cuDNN {cudnn_version}; pass --base-image")


def refuses_conda(lock: Snapshot) -> str:
    """Why the docker target cannot rebuild ``lock`` as a conda environment ("" when it is none): its image's
    environment is a venv. The one rule for every command that says so: ``rebuild`` refuses the lock as it is read,
    ``check --target docker`` fails it (the platform rule), ``export -f dockerfile`` refuses it, and
    ``bundle --with-base-image`` saves no base image for it. Here, where the check imports it without the spec."""
    if lock.conda is not None and lock.conda.packages:
        return (
            f"the lock holds a conda environment ({counted(len(lock.conda.packages), 'conda package')}); the docker "
            "target rebuilds pip environments only"
        )
    return ""


def refuses_platform(lock: Snapshot) -> str:
    """Why no image the docker target builds can run ``lock`` ("" when one can), whatever the engine: it was
    captured on another OS than Linux (containers run Linux), or with musl (the images are glibc's, and envsnap's
    own wheels in them manylinux). The one rule: ``rebuild`` refuses the lock as it is read (exit 2), ``export -f
    dockerfile`` refuses it with the same reason, and ``check --target docker`` fails it in the same words
    (``platform_refusal``, its two parts); the engine's architecture is judged apart (``check_architecture``), as it
    depends on the engine."""
    reason, remedy = platform_refusal(lock)
    return f"{reason} ({remedy})" if reason else ""


def platform_refusal(lock: Snapshot) -> tuple[str, str]:
    """``refuses_platform``'s line in two parts, what is wrong and what to do (``("", "")`` when an image can run
    the lock): the check's finding says the first as what it found and the second as its remedy."""
    system = lock.platform.system
    if system and system != "Linux":
        # The target that makes the lock there: conda for a conda environment's, venv for a pip environment's (it
        # said "venv or conda", and the conda target refuses a lock without conda packages).
        conda = lock.conda is not None and bool(lock.conda.packages)
        return (
            f"the lock was captured on {system}: containers run Linux, so its wheels cannot run in an image",
            f"rebuild it with --target {'conda' if conda else 'venv'} on a {system} host",
        )
    if lock.platform.libc == "musl":
        # A --base-image of Alpine would still get envsnap's own manylinux wheels, which install on glibc only.
        return (
            f"the lock was captured with {f'musl {lock.platform.libc_version}'.strip()}: the docker target builds "
            "glibc images (Debian, Ubuntu), where its musllinux wheels cannot run",
            "rebuild it with --target venv on a musl host, e.g. Alpine",
        )
    return "", ""


def choose(
    lock: Snapshot,
    *,
    base_image: str | None = None,
    base_digest: str | None = None,
    inspect: Inspector | None = None,
    base_from_bundle: bool = False,
) -> BaseImage:
    """Pick the base image and interpreter for ``lock``. Raises ``RebuildError`` when none can run it.

    ``base_from_bundle``: ``base_image`` is the bundle's saved base, taken where none was named, which the plan
    says (it said ``--base-image NAME``, an option never given)."""
    if base_digest is not None and not _DIGEST.fullmatch(base_digest):
        raise BadOptionError(f"--base-digest {base_digest!r}: expected sha256: and 64 hex digits")
    if base_image is not None:
        check_base_image(base_image)
    py = lock.python
    if py.implementation and py.implementation.lower() not in ("cpython", "cp"):
        raise UnbuildableLockError(
            f"the lock's Python is {py.implementation}; container rebuilds support CPython only (rebuild it with "
            "--target venv)"
        )
    if not py.version:
        raise UnbuildableLockError(
            "the lock records no Python version, which the docker target builds its image for (rebuild it with "
            "--target venv, which takes the Python you give with --python)"
        )

    os_id, os_version = lock.platform.os_id, lock.platform.os_version
    need = cuda_need(lock)
    cuda = need.version if need is not None else ""
    others = need.others if need is not None else ()
    notes: list[str] = []
    require_cuda = f"cuda>={cuda}" if cuda else ""
    named = f"the bundle's saved base image {base_image}" if base_from_bundle else f"--base-image {base_image}"
    if base_image is not None:
        reference, chosen_by = base_image, "bundle" if base_from_bundle else "--base-image"
        base_os = (os_id, os_version)
        notes.append(f"{named}: assumed to run {os_id} {os_version}, like the lock")
    elif cuda:
        reference, base_os = _cuda_image(lock, cuda, notes)
        chosen_by = "lock"
        if need is not None and others:
            notes.append(_runtimes_note(need))
    else:
        reference, base_os = _cpu_image(lock)
        chosen_by = "lock"

    if base_digest is not None and "@" not in reference:
        # --base-digest D names the image as NAME@D does: that image, never what NAME names now.
        reference = f"{reference}@{base_digest}"
    distro = DISTROS.get(base_os)
    # NAME@sha256:D is the image D, never what NAME names now (a moved tag gave the interpreter of another image).
    facts = inspect(reference) if inspect is not None else None
    interpreter = _interpreter(lock, reference, base_os, distro, facts)
    excluded, _ = excluding(lock.python.packages, interpreter.version)
    if excluded:
        # The interpreter of this base is refused by a locked distribution's Requires-Python (Debian's 3.11.2 for
        # a 3.11.7 lock whose package needs >= 3.11.5): the build would fail at install time. An official Python
        # image of the locked patch release runs the locked interpreter itself, where one fits.
        where = f"{reference} runs Python {interpreter.version}, which {describe(excluded)} "
        where += "excludes" if len(excluded) == 1 else "exclude"
        if base_image is not None or cuda or (facts is not None and reference.startswith("python:")):
            raise RequiresPythonError(f"base image {where}; {_requires_python_remedy(lock, cuda)}")
        reference, base_os = _official_python_image(lock, where)
        notes.append(f"{where}: using {reference}, which runs the locked Python {py.version}")
        distro = DISTROS.get(base_os)
        facts = inspect(reference) if inspect is not None else None
        interpreter = _interpreter(lock, reference, base_os, distro, facts)
        excluded, _ = excluding(lock.python.packages, interpreter.version)
        if excluded:
            raise RequiresPythonError(
                f"the lock's own Python {interpreter.version} is excluded by {describe(excluded)}: "
                "no interpreter can run every locked distribution"
            )
    pinned, pin_kind, warnings = _pin(reference, base_digest, facts)
    if facts is not None and require_cuda:
        declared = facts.env.get("NVIDIA_REQUIRE_CUDA", "")
        # A --base-image of the CUDA of another runtime the environment carries serves that one alone, as told.
        other = next((o for o in others if _declares(declared, f"cuda>={o.version}")), None)
        if base_image is not None and need is not None and other is not None and not _declares(declared, require_cuda):
            require_cuda = f"cuda>={other.version}"
            notes.append(
                f"{named} declares NVIDIA_REQUIRE_CUDA={require_cuda}: the environment's CUDA "
                f"{other.version} runtime ({other.evidence}) runs in it, its CUDA {cuda} runtime ({need.evidence}) "
                "does not"
            )
        if not _declares(declared, require_cuda):
            raise RebuildError(
                f"base image {reference} declares NVIDIA_REQUIRE_CUDA={declared or '(nothing)'}, "
                f"but the lock needs the CUDA {cuda} runtime ({require_cuda})"
            )
    return BaseImage(
        reference=reference,
        pinned=pinned,
        pin_kind=pin_kind,
        os_id=base_os[0],
        os_version=base_os[1],
        codename=distro.codename if distro else "",
        interpreter=interpreter,
        chosen_by=chosen_by,
        same_os=base_os == (os_id, os_version),
        require_cuda=require_cuda,
        notes=tuple(notes),
        warnings=warnings,
        image_id=facts.image_id if facts is not None else "",
    )


def _declares(declared: str, requirement: str) -> bool:
    """Whether an image's NVIDIA_REQUIRE_CUDA is ``requirement`` (followed by its brand alternatives, if any)."""
    return declared == requirement or declared.startswith(requirement + " ")


def _runtimes_note(need: CudaNeed) -> str:
    """What the plan says of a base image for an environment carrying the runtimes of several CUDA majors (its CUDA
    12 and CUDA 13 runtime wheels, no framework): nothing says which its code loads, so the image is for the newest,
    under which each runs, and starts only on a driver of that CUDA; an older runtime's image is the user's choice."""
    carried = need.carried()
    older = need.others[0].version
    return (
        f"the environment carries {carried}, and nothing in it says which runtime its code loads: the base image is "
        f"for CUDA {need.version}, the newest, so that each of them runs; it starts only on a driver that supports "
        f"CUDA {need.version} (NVIDIA_REQUIRE_CUDA=cuda>={need.version}): on one of CUDA {numbers(older)[0]} alone, "
        f"pass --base-image with a CUDA {older} image, where the CUDA {need.version} runtime does not run"
    )


def _official_python_image(lock: Snapshot, where: str) -> tuple[str, tuple[str, str]]:
    """The official image of the locked CPython on the oldest Debian release whose glibc is no older than the
    lock's (the lock's wheels still load there, and an older release is likelier to have an image of an older
    patch release)."""
    lock_glibc = _version_or_none(lock.platform.libc_version) if lock.platform.libc == "glibc" else None
    for key, distro in DISTROS.items():
        glibc = _version_or_none(distro.glibc)
        if key[0] == "debian" and (lock_glibc is None or (glibc is not None and glibc >= lock_glibc)):
            return f"python:{lock.python.version}-slim-{distro.codename}", key
    raise RequiresPythonError(
        f"base image {where}, and no Debian release envsnap knows has a glibc as new as the lock's "
        f"{lock.platform.libc_version}; pass --base-image with an image that runs Python {lock.python.version}"
    )


def _version_or_none(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _requires_python_remedy(lock: Snapshot, cuda: str) -> str:
    if cuda:
        return (
            f"the nvidia/cuda images ship their Ubuntu release's Python, and none that envsnap knows runs "
            f"{lock.python.version}; pass --base-image with a CUDA {cuda} image that ships Python "
            f"{lock.python.version}"
        )
    version = lock.python.version
    return f"pass --base-image with an image that runs Python {version} (e.g. python:{version}-slim-...)"


def _unknown_os(lock: Snapshot) -> UnbuildableLockError:
    os_id, version = lock.platform.os_id, lock.platform.os_version
    known = ", ".join(f"{i} {v}" for i, v in DISTROS)
    return UnbuildableLockError(
        f"no base image is known for the lock's OS {os_id or '(unknown)'} {version}".rstrip()
        + f" (known: {known}); pass --base-image IMAGE (and --system-packages none if it is not Debian-based)"
    )


def _cpu_image(lock: Snapshot) -> tuple[str, tuple[str, str]]:
    key = (lock.platform.os_id, lock.platform.os_version)
    distro = DISTROS.get(key)
    if distro is None:
        raise _unknown_os(lock)
    if key[0] == "debian":
        # The official python images carry exactly the locked interpreter on the locked Debian release.
        return f"python:{lock.python.version}-slim-{distro.codename}", key
    return f"{key[0]}:{key[1]}", key


def _cuda_image(lock: Snapshot, cuda: str, notes: list[str]) -> tuple[str, tuple[str, str]]:
    if cuda not in CUDA_IMAGES:
        raise UnbuildableLockError(
            f"no nvidia/cuda image is known for CUDA {cuda} (known: {', '.join(CUDA_IMAGES)}); pass --base-image"
        )
    full, releases = CUDA_IMAGES[cuda]
    key = (lock.platform.os_id, lock.platform.os_version)
    if key[0] == "ubuntu" and key[1] in releases:
        release = key[1]
    else:
        # nvidia/cuda publishes Ubuntu images only: take the release whose python3 is the lock's minor.
        line = major_minor(lock.python.version)
        fitting = [r for r in releases if major_minor(DISTROS[("ubuntu", r)].python) == line]
        if not fitting:
            raise UnbuildableLockError(
                f"no nvidia/cuda:{full} Ubuntu image ships Python {major_minor(lock.python.version)} "
                f"(they ship {', '.join(DISTROS[('ubuntu', r)].python for r in releases)}); "
                "pass --base-image with an image that has it"
            )
        release = fitting[-1]
        notes.append(
            f"the lock was captured on {key[0] or 'an unknown OS'} {key[1]}; "
            "nvidia/cuda images are Ubuntu-based: "
            f"using Ubuntu {release}, so system packages are installed by name, not by the lock's versions"
        )
    cudnn = lock.cuda.cudnn_version if lock.cuda is not None else ""
    flavour = cudnn_flavour(cuda, cudnn)
    variant = f"{flavour}-runtime" if flavour else "runtime"
    return f"nvidia/cuda:{full}-{variant}-ubuntu{release}", ("ubuntu", release)


def _interpreter(
    lock: Snapshot, reference: str, base_os: tuple[str, str], distro: Distro | None, facts: ImageFacts | None
) -> ImagePython:
    locked = lock.python.version
    shipped = facts.env.get("PYTHON_VERSION", "") if facts is not None else ""
    if not shipped and reference.startswith("python:") and facts is None:
        shipped = reference.split(":", 1)[1].split("-", 1)[0]
    if facts is not None and shipped and not is_python_version(shipped):
        # An image's environment (a bundle's images/*.json) is untrusted: this value becomes the interpreter's
        # version in the plan, the image labels and the tool's wheel selection.
        raise RebuildError(f"base image {reference} declares PYTHON_VERSION={shown(shipped)}: not a Python version")
    if shipped:
        if major_minor(shipped) != major_minor(locked):
            raise UnbuildableLockError(
                f"base image {reference} ships Python {shipped}, but the lock needs Python "
                f"{major_minor(locked)} "
                f"(cp{major_minor(locked).replace('.', '')} wheels); pass --base-image python:{locked}-slim-..."
            )
        note = "" if shipped == locked else _patch_note(locked, shipped, reference)
        return ImagePython("image", "/usr/local/bin/python3", shipped, note=note)
    if distro is None:
        raise UnbuildableLockError(
            f"base image {reference} has no known Python and its OS {base_os[0]} {base_os[1]} has no known "
            "python3 package; pass --base-image with an image that ships Python (e.g. python:X.Y.Z-slim-...)"
        )
    if major_minor(distro.python) != major_minor(locked):
        raise UnbuildableLockError(
            f"{base_os[0]} {base_os[1]} ships Python {major_minor(distro.python)}, but the lock needs Python "
            f"{major_minor(locked)}; pass --base-image python:{locked}-slim-<release> "
            "(or another image with that "
            "Python)"
        )
    name = f"python{major_minor(locked)}"
    packages = (f"{name}={distro.python}-*", f"{name}-venv={distro.python}-*")
    note = f"{base_os[0]}'s {name} {distro.python}, installed with apt"
    if distro.python != locked:
        note = _patch_note(locked, distro.python, f"{base_os[0]} {base_os[1]}")
    same_os = base_os == (lock.platform.os_id, lock.platform.os_version)
    revisions = _locked_revisions(lock, distro.python) if same_os else ()
    return ImagePython("apt", f"/usr/bin/{name}", distro.python, packages, note, revisions)


def _locked_revisions(lock: Snapshot, release: str) -> tuple[tuple[str, str], ...]:
    """The lock's revisions of Debian's CPython ``release`` packages (``python3.11``, its ``-minimal``, ``-venv``,
    ``libpython3.11-minimal`` and ``-stdlib``), where it records ``python3.11`` at that release; one source package
    builds them all at one version, so one it lacks (``-venv``) takes ``python3.11``'s. Empty otherwise."""
    if lock.system.manager != "dpkg":
        return ()
    names = interpreter_debs(release, venv=True)
    recorded = {
        p.name: p.version
        for p in lock.system.packages
        if p.name in names and is_system_version(p.version) and debian_upstream(p.version) == release
    }
    main = recorded.get(names[0], "")
    if not main:
        return ()
    return tuple((n, recorded.get(n, main)) for n in names)


def _patch_note(locked: str, shipped: str, where: str) -> str:
    abi = "cp" + major_minor(locked).replace(".", "")
    try:
        older = Version(shipped) < Version(locked)
    except InvalidVersion:
        older = False
    direction = "an older" if older else "a newer"
    return (
        f"interpreter: the lock's CPython {locked} is not available on {where}; using its CPython {shipped} "
        f"({direction} patch release of the same minor version and ABI {abi}), "
        "so every locked wheel installs "
        "unchanged; envsnap verify reports the interpreter version as a difference"
    )


def check_base_image(base_image: str) -> None:
    """Refuse a ``--base-image`` the engine's grammar refuses (lower-case repository), one line: rebuild, bundle and
    pin share this check. One it refuses was asked of the engine, and its "400 Client Error ... invalid reference
    format" ended the rebuild and the bundle, exit 4; pin took it, exit 0, and pinned no interpreter package."""
    if not is_reference(base_image):
        raise BadOptionError(
            f"--base-image {base_image[:300]!r} is not an image reference (a registry host and port, lower-case path "
            "parts, a tag, @sha256:HEX; or an image id, sha256:HEX)"
        )


def is_reference(text: str) -> bool:
    """An image reference as ``--base-image`` accepts it (and a bundle's ``images/*.json`` must hold): the engine's
    grammar, or an image id. A looser rule took a saved image's ``Base:1``, which the engine refused (exit 4)."""
    return is_image_reference(text) or is_image_digest(text)


def _pin(reference: str, digest: str | None, facts: ImageFacts | None) -> tuple[str, str, tuple[str, ...]]:
    if "@sha256:" in reference:
        if digest is not None and not reference.endswith(digest):
            raise BadOptionError(f"--base-digest {digest} contradicts the digest in --base-image {reference}")
        named = reference.rsplit("@", 1)[1]
        if (
            facts is not None
            and facts.image_id == named
            and not any(d.endswith("@" + named) for d in facts.repo_digests)
        ):
            # The digest is the local image's id (never in a registry): only FROM sha256:ID finds it; FROM NAME@ID
            # made the engine pull NAME from a registry.
            return facts.image_id, "image-id", ()
        return reference, "digest", ()
    if digest is not None:
        return f"{reference}@{digest}", "digest", ()
    if facts is not None:
        repo = reference.rsplit(":", 1)[0] if ":" in reference.rsplit("/", 1)[-1] else reference
        for repo_digest in facts.repo_digests:
            if repo_digest.split("@", 1)[0] == repo:
                return f"{reference}@{repo_digest.split('@', 1)[1]}", "digest", ()
        # Never pushed to or pulled from a registry (docker import, a local build): only its id pins it.
        if facts.bundled:  # the bundle holds its copy: advising to make one read as if it held none
            return facts.image_id, "image-id", ()
        return (
            facts.image_id,
            "image-id",
            (
                f"base image {reference} has no registry digest; "
                f"pinned by its local image id {facts.image_id} "
                "(keep a copy with `envsnap bundle --with-base-image`)",
            ),
        )
    return (
        reference,
        "tag",
        (
            f"base image {reference} is pinned by tag only (no Docker engine answered, or it does not have "
            "the image, so its digest is unknown); "
            "tags move and vanish: "
            "pass --base-digest sha256:... to pin it",
        ),
    )
