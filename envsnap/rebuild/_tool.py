"""The wheels of the envsnap that is running, and of its requirements, for another interpreter (an image's).

envsnap never fetches itself by name from an index (the index's ``envsnap`` is another project). Its own
wheel is built from its source tree when it runs from one (a ``pyproject.toml`` naming our distribution beside
the package), else packed from its installed files, each proven by its RECORD (``envsnap.artifacts.repack``). Each
requirement is the version installed beside it: packed the same way when its wheel tags suit the image's
interpreter, else downloaded for that interpreter by exact version (binary only). ``requirements.txt`` pins
every file by sha256. See docs/design.md ("The docker target's envsnap").
"""

from __future__ import annotations

import importlib.metadata
import sys
import zipfile
from collections.abc import Callable, Iterable
from email.parser import HeaderParser
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from .. import _runner
from .. import _version as version_module
from .._defaults import DISTRIBUTION
from .._frozen import frozen
from .._toml import tomllib
from .._version import __version__
from ..artifacts.repack import RepackError, dist_info_tags, repack
from ..errors import RebuildError
from ..platforms import numbers
from .interface import Progress

TIMEOUT = 300.0
Runner = Callable[..., _runner.Result]
# The image's envsnap verifies the rebuilt environment (and uv installs it); it never rebuilds a conda or a
# docker target from inside the image, so it goes without what only those need (py-rattler alone is 80 MB, a
# third of what the image's envsnap took to install and commit). Their own requirements go too unless another
# requirement needs them.
NOT_IN_IMAGE = frozenset({"py-rattler", "docker"})


@frozen
class WheelTarget:
    """The interpreter the wheels are for: CPython ``version`` on Linux ``machine`` with ``glibc``."""

    version: str  # "3.11.2"
    machine: str  # uname -m: "x86_64"
    glibc: str = "2.17"

    @property
    def minor(self) -> tuple[int, int]:
        major, minor = (*numbers(self.version), 0, 0)[:2]
        return major, minor

    def platforms(self) -> list[str]:
        glibc_minor = int(self.glibc.split(".")[1]) if "." in self.glibc else 17
        found = [f"manylinux_2_{n}_{self.machine}" for n in range(glibc_minor, 16, -1)]
        return [*found, f"manylinux2014_{self.machine}"]

    def tags(self) -> frozenset[Tag]:
        abi = f"cp{self.minor[0]}{self.minor[1]}"
        platforms = self.platforms()
        return frozenset(
            [*cpython_tags(self.minor, abis=[abi], platforms=platforms), *compatible_tags(self.minor, abi, platforms)]
        )

    def markers(self) -> dict[str, str]:
        env = {key: str(value) for key, value in default_environment().items()}
        env.update(
            python_version="{}.{}".format(*self.minor),
            python_full_version=self.version,
            implementation_name="cpython",
            platform_python_implementation="CPython",
            implementation_version=self.version,
            platform_machine=self.machine,
            sys_platform="linux",
            platform_system="Linux",
            os_name="posix",
        )
        return env

    @classmethod
    def running(cls) -> WheelTarget:
        import platform

        libc, version = platform.libc_ver()
        return cls(platform.python_version(), platform.machine(), version if libc == "glibc" else "2.17")


@frozen
class ToolWheel:
    path: Path
    name: str
    version: str
    how: str  # "built from its source tree" | "packed from its installed files" | "downloaded by exact version"


def source_tree() -> Path | None:
    """The source tree envsnap runs from (editable or on ``PYTHONPATH``), or None for an installed copy."""
    root = Path(version_module.__file__).resolve().parent.parent  # the folder holding the envsnap package
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    except (OSError, ValueError):
        return None
    return root if project.get("name") == DISTRIBUTION else None


def _installed(name: str) -> importlib.metadata.Distribution | None:
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _dist_info(dist: importlib.metadata.Distribution) -> Path | None:
    # A PathDistribution knows its folder only through a file it can locate.
    located = Path(str(dist.locate_file(""))).resolve()
    for candidate in located.glob("*.dist-info"):
        meta = candidate / "METADATA"
        if meta.is_file():
            head = HeaderParser().parsestr(meta.read_text(encoding="utf-8"))
            same = canonicalize_name(str(head.get("Name", ""))) == canonicalize_name(dist.metadata["Name"])
            if same and head.get("Version") == dist.version:
                return candidate
    return None


def _own_wheel(dest: Path, *, offline: bool, progress: Progress, run: Runner) -> ToolWheel:
    source = source_tree()
    if source is not None:
        progress(f"building envsnap's wheel from its source tree {source}")
        args = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dest), str(source)]
        if offline:
            _check_build_backend(source)
            args.insert(4, "--no-build-isolation")
        built = run(args, timeout=TIMEOUT)
        if not built.ok:
            raise RebuildError(f"could not build envsnap's wheel from {source}: {_last_line(built.stderr)}")
        prefix = DISTRIBUTION.replace("-", "_") + "-"
        wheel = next((p for p in dest.glob("*.whl") if p.name.startswith(prefix)), None)
        if wheel is None:
            raise RebuildError(f"building {source} gave no {DISTRIBUTION} wheel")
        return ToolWheel(wheel, DISTRIBUTION, __version__, "built from its source tree")
    dist = _installed(DISTRIBUTION)
    info = _dist_info(dist) if dist is not None else None
    if dist is None or info is None:
        raise RebuildError(
            f"envsnap is neither running from its source tree nor installed as {DISTRIBUTION}: "
            "cannot put this envsnap into the image"
        )
    progress(f"packing envsnap {dist.version} from its installed files (checked against its RECORD)")
    try:
        made = repack(info, dest)
    except RepackError as exc:
        raise RebuildError(f"cannot pack the running envsnap: {exc}") from exc
    return ToolWheel(made.path, made.name, made.version, "packed from its installed files")


def _check_build_backend(source: Path) -> None:
    """``--offline`` builds without build isolation, with this interpreter's packages: each requirement of the
    source tree's ``[build-system]`` must be installed, or the user gets pip's traceback tail."""
    try:
        pyproject = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
        requires = [Requirement(str(r)) for r in pyproject.get("build-system", {}).get("requires", [])]
    except (OSError, ValueError, InvalidRequirement):
        return  # pip reports what is wrong with the file
    missing = []
    for req in requires:
        dist = _installed(req.name)
        if dist is None or not req.specifier.contains(dist.version, prereleases=True):
            missing.append(str(req))
    if missing:
        wanted = " ".join(f"'{m}'" for m in missing)
        raise RebuildError(
            f"--offline: envsnap's wheel is built from its source tree {source} without build isolation, and its "
            f"build requirements {', '.join(missing)} are not installed for {sys.executable}: "
            f"pip install {wanted}, run without --offline, or run an installed envsnap-lock"
        )


def _requires(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        return HeaderParser().parsestr(archive.read(meta).decode()).get_all("Requires-Dist") or []


def _closure(requires: Iterable[str], markers: dict[str, str]) -> list[Requirement]:
    """The requirements (recursively, through what is installed here) that apply on the image."""
    wanted: dict[str, Requirement] = {}
    todo = [(text, "") for text in requires]
    while todo:
        text, extra = todo.pop()
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise RebuildError(f"envsnap's requirement {text!r} cannot be read: {exc}") from None
        if req.marker is not None and not req.marker.evaluate({**markers, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        if name in NOT_IN_IMAGE:
            continue
        known = wanted.get(name)
        if known is not None and req.extras <= known.extras:
            continue
        wanted[name] = req if known is None else Requirement(f"{name}[{','.join(known.extras | req.extras)}]")
        dist = _installed(name)
        for sub in (dist.requires or []) if dist is not None else []:
            todo.extend((sub, e) for e in ("", *sorted(req.extras)))
    return [wanted[n] for n in sorted(wanted)]


def wheels_for(
    dest: Path, target: WheelTarget, *, offline: bool, progress: Progress, run: Runner = _runner.run
) -> list[ToolWheel]:
    """Fill ``dest`` with the wheels of the running envsnap and of every requirement it has on ``target``."""
    own = _own_wheel(dest, offline=offline, progress=progress, run=run)
    supported = target.tags()
    made = [own]
    fetch: list[str] = []
    for req in _closure(_requires(own.path), target.markers()):
        dist = _installed(req.name)
        info = _dist_info(dist) if dist is not None else None
        if dist is not None and info is not None and req.specifier.contains(dist.version, prereleases=True):
            if supported & set(dist_info_tags(info)):
                try:
                    packed = repack(info, dest)
                except RepackError as exc:
                    progress(f"note: {exc}; downloading {req.name} {dist.version} instead")
                else:
                    made.append(ToolWheel(packed.path, packed.name, packed.version, "packed from its installed files"))
                    continue
            fetch.append(f"{canonicalize_name(req.name)}=={dist.version}")
        else:
            fetch.append(str(req))  # not installed here (a marker for the image's Python only)
    if fetch:
        if offline:
            raise RebuildError(
                "--offline: envsnap's requirements " + ", ".join(fetch) + f" have no installed copy for Python "
                f"{target.version} on {target.machine} to pack; bundle them first (`envsnap bundle --with-base-image`)"
            )
        progress(f"downloading {len(fetch)} of envsnap's requirements for Python {target.version}: {', '.join(fetch)}")
        made += _download(dest, target, fetch, run)
    return made


def _download(dest: Path, target: WheelTarget, pins: list[str], run: Runner) -> list[ToolWheel]:
    before = set(dest.glob("*.whl"))
    abi = "cp{}{}".format(*target.minor)
    args = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
    args += ["--python-version", "{}.{}".format(*target.minor), "--implementation", "cp"]
    args += ["--abi", abi, "--abi", "abi3", "--abi", "none", "-d", str(dest)]
    for platform in target.platforms():
        args += ["--platform", platform]
    fetched = run([*args, *pins], timeout=TIMEOUT)
    if not fetched.ok:
        raise RebuildError(
            f"could not download envsnap's requirements for Python {target.version}: {_last_line(fetched.stderr)}"
        )
    found = []
    for path in sorted(set(dest.glob("*.whl")) - before):
        name, version, _build, _tags = parse_wheel_filename(path.name)
        found.append(ToolWheel(path, str(name), str(version), "downloaded by exact version"))
    return found


def requirements(wheels: Iterable[ToolWheel], sha256: Callable[[Path], str]) -> str:
    """``name==version --hash=sha256:...`` for every wheel, sorted: what the image installs with --require-hashes."""
    lines = []
    for wheel in wheels:
        name, version, _build, _tags = parse_wheel_filename(wheel.path.name)
        lines.append(f"{name}=={_version(version)} --hash=sha256:{sha256(wheel.path)}\n")
    return "".join(sorted(lines))


def _version(version: Version | str) -> str:
    try:
        return str(Version(str(version)))
    except InvalidVersion:
        return str(version)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip() and not line.startswith("WARNING")]
    return lines[-1] if lines else "no output"
