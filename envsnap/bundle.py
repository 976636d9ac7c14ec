"""``envsnap bundle``: a self-contained supplement that rebuilds an environment with no network.

Layout (the rebuilders rely on it)::

    BUNDLE/envsnap.lock        the lock, with every Python package's artifact filled in
    BUNDLE/wheels/             one wheel per Python package (downloaded and hash-checked, or rebuilt)
    BUNDLE/conda/              conda packages (filled by the conda layer)
    BUNDLE/images/             saved container images (filled by the docker target)
    BUNDLE/requirements.txt    ``name==version --hash=sha256:...`` for pip --require-hashes --no-deps
    BUNDLE/README.md           how to rebuild, by hand or with envsnap
    BUNDLE/SHA256SUMS          sha256sum(1) lines for every other file

Wheels that exist upstream are copied byte for byte (their sha256 is the lock's). Packages with no upstream
wheel (VCS checkouts, local directories, sdists) get a wheel built here; their artifact is marked
``rebuilt``. Re-running on an existing bundle fetches and builds only what is missing.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import _runner, _tools, lockfile
from ._fs import atomic_write_text
from .errors import BundleError, PinError
from .model import Artifact, PythonPackage, Snapshot
from .pin import (
    IndexConfig,
    IndexFile,
    Pinner,
    cached_path,
    default_cache_dir,
    hash_only,
    local_path,
    pin,
    read_pip_config,
)

LOCK = "envsnap.lock"
WHEELS = "wheels"
CONDA = "conda"
IMAGES = "images"
REQUIREMENTS = "requirements.txt"
README = "README.md"
SUMS = "SHA256SUMS"
BUILD_TIMEOUT = 900.0
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")

Progress = Callable[[str], None]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def python_packages(lock: Snapshot) -> list[PythonPackage]:
    """The packages the Python layer installs (conda's own are the conda layer's)."""
    return [p for p in lock.python.packages if not p.conda_managed and p.installer != "conda"]


class Bundle:
    """An unpacked bundle directory."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        if not (self.root / LOCK).is_file():
            raise BundleError(f"{self.root}: not an envsnap bundle (no {LOCK})")

    @cached_property
    def lock(self) -> Snapshot:
        return lockfile.load(self.root / LOCK)

    @property
    def wheels_dir(self) -> Path:
        return self.root / WHEELS

    @property
    def conda_dir(self) -> Path:
        return self.root / CONDA

    @property
    def images_dir(self) -> Path:
        return self.root / IMAGES

    @property
    def requirements(self) -> Path:
        return self.root / REQUIREMENTS

    def wheel_for(self, pkg: PythonPackage | str) -> Path:
        """The bundled wheel of a package (by model or name). ``BundleError`` when it has none or it is gone."""
        locked = self.lock.package(pkg if isinstance(pkg, str) else pkg.name)
        if locked is None:
            raise BundleError(f"{self.root}: {pkg if isinstance(pkg, str) else pkg.name} is not in the bundle's lock")
        if locked.artifact is None or not locked.artifact.filename.endswith(".whl"):
            raise BundleError(f"{self.root}: {locked.name} {locked.version} has no wheel in this bundle")
        path = self.wheels_dir / locked.artifact.filename
        if not path.is_file():
            raise BundleError(f"{path}: missing from the bundle ({locked.name} {locked.version})")
        return path

    def check_wheel(self, pkg: PythonPackage) -> Path:
        """The wheel, after checking its sha256 against the lock. Errors name the file."""
        path = self.wheel_for(pkg)
        locked = self.lock.package(pkg.name)
        artifact = locked.artifact if locked is not None else None
        if artifact is None:
            raise BundleError(f"{self.root}: {pkg.name} has no artifact in the bundle's lock")
        actual = sha256_file(path)
        if actual != artifact.sha256:
            raise BundleError(f"{path}: hash mismatch: sha256 {actual}, the lock says {artifact.sha256} "
                              "(the file was changed after bundling)")
        return path

    def verify_sums(self) -> None:
        """Check every file listed in SHA256SUMS and that no unlisted file was added. Errors name the file."""
        sums = self.root / SUMS
        if not sums.is_file():
            raise BundleError(f"{sums}: missing (not a complete bundle)")
        listed = read_sums(sums)
        for rel, expected in sorted(listed.items()):
            path = self.root / rel
            if not path.is_file():
                raise BundleError(f"{path}: listed in {SUMS} but missing")
            actual = sha256_file(path)
            if actual != expected:
                raise BundleError(f"{path}: hash mismatch: sha256 {actual}, {SUMS} says {expected}")
        extra = sorted(set(_bundle_files(self.root)) - set(listed))
        if extra:
            raise BundleError(f"{self.root / extra[0]}: not listed in {SUMS} (added after bundling)")

    def write_sums(self) -> None:
        """Rewrite SHA256SUMS over every file (call after adding conda packages or images)."""
        lines = [f"{sha256_file(self.root / rel)}  {rel}\n" for rel in _bundle_files(self.root)]
        atomic_write_text(self.root / SUMS, "".join(lines))


def check_made_from(lock: Snapshot, bundled: Snapshot, where: str | os.PathLike[str]) -> None:
    """``BundleError`` unless a bundle's lock has the Python layer of ``lock``: the same packages, versions and
    RECORD digests, and the same wheel file wherever ``lock`` already pins one (a bundle of another lock, or one
    whose lock was edited to match a swapped wheel, is refused before anything is built)."""
    # A local project imported without a version (uv export's `directory` entry) takes the version its
    # wheel was built with: an empty version matches any.
    versionless = {p.name for p in python_packages(lock) if not p.version and p.source.kind == "directory"}
    mine = {p.name: ("" if p.name in versionless else p.version, p.record_digest) for p in python_packages(lock)}
    theirs = {p.name: ("" if p.name in versionless else p.version, p.record_digest)
              for p in python_packages(bundled)}
    if mine != theirs:
        differing = sorted(set(mine.items()) ^ set(theirs.items()))
        raise BundleError(f"{where}: the bundle was made from another lock (first difference: {differing[0][0]})")
    for pkg in python_packages(lock):
        art, other = pkg.artifact, bundled.package(pkg.name)
        if art is None or art.rebuilt or not art.filename.endswith(".whl"):
            continue  # nothing pinned yet, or a wheel the bundle builds from source
        theirs_art = other.artifact if other is not None else None
        if theirs_art is None or theirs_art.sha256 != art.sha256:
            raise BundleError(
                f"{where}: the bundle was made from another lock ({pkg.name} {pkg.version}: the lock pins "
                f"{art.filename} sha256 {art.sha256}, the bundle "
                + (f"{theirs_art.filename} sha256 {theirs_art.sha256})" if theirs_art else "has no wheel)")
            )


def read_sums(path: Path) -> dict[str, str]:
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64 or rel.startswith("/") or ".." in Path(rel).parts:
            raise BundleError(f"{path}:{n}: not a sha256sum line")
        out[rel] = digest
    return out


def _bundle_files(root: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if rel != SUMS:
                out.append(rel)
    return sorted(out)


# --------------------------------------------------------------------------------------------- archives


def is_archive(path: str | os.PathLike[str]) -> bool:
    return str(path).endswith(ARCHIVE_SUFFIXES)


def safe_members(archive: tarfile.TarFile, origin: str) -> list[tarfile.TarInfo]:
    """The members of an archive, refusing any that would write outside the target or is not plain."""
    members = archive.getmembers()
    for member in members:
        name = member.name
        parts = Path(name).parts
        if name.startswith("/") or (parts and parts[0].endswith(":")) or ".." in parts:
            raise BundleError(f"{origin}: unsafe path in archive: {name!r} (absolute or with '..')")
        if member.issym() or member.islnk():
            raise BundleError(f"{origin}: link in archive refused: {name!r} -> {member.linkname!r}")
        if not (member.isfile() or member.isdir()):
            raise BundleError(f"{origin}: special file in archive refused: {name!r}")
    return members


def extract(archive_path: Path, dest: Path) -> Bundle:
    """Unpack a bundle archive into ``dest`` (created; must not exist or be empty). Never writes outside."""
    if dest.exists() and any(dest.iterdir()):
        raise BundleError(f"{dest}: exists and is not empty")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        try:
            with tarfile.open(archive_path, "r:*") as archive:
                members = safe_members(archive, str(archive_path))
                archive.extractall(staging, members=members, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BundleError(f"{archive_path}: not a readable bundle archive ({exc})") from None
        entries = list(staging.iterdir())
        # An archive holds the bundle's files at its top level, or one folder holding them.
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() and not (staging / LOCK).exists() \
            else staging
        if dest.exists():
            dest.rmdir()
        os.replace(root, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Bundle(dest)


def write_archive(root: Path, archive_path: Path) -> None:
    """A deterministic .tar.gz of a bundle directory (sorted, zero times and owners), written atomically."""
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0)
    buffer_path = Path(tempfile.mkstemp(prefix=f".{archive_path.name}.", dir=archive_path.parent)[1])
    try:
        with open(buffer_path, "wb") as raw, \
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=epoch) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for rel in [SUMS, *_bundle_files(root)]:
                path = root / rel
                info = tarfile.TarInfo(rel)
                info.size = path.stat().st_size
                info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = epoch, 0o644, 0, 0, "", ""
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
        os.chmod(buffer_path, 0o644)  # mkstemp made it private; a bundle is for sharing, like the lock
        os.replace(buffer_path, archive_path)
    except BaseException:
        buffer_path.unlink(missing_ok=True)
        raise


def open_bundle(path: str | os.PathLike[str], workdir: Path) -> Bundle:
    """A bundle directory as is, or an archive unpacked (safely) under ``workdir``."""
    p = Path(path)
    if p.is_dir():
        return Bundle(p)
    if p.is_file() and is_archive(p):
        return extract(p, workdir / "bundle")
    raise BundleError(f"{p}: no such bundle (a directory or a .tar.gz made by `envsnap bundle`)")


# ---------------------------------------------------------------------------------------------- making


@dataclass(frozen=True)
class BundleEntry:
    name: str
    version: str
    filename: str
    action: str  # present | fetched | built | reused
    rebuilt: bool = False


@dataclass(frozen=True)
class BundleResult:
    path: Path
    lock: Snapshot
    entries: tuple[BundleEntry, ...]
    seconds: float


@dataclass(frozen=True)
class BundleOptions:
    config: IndexConfig | None = None
    cache_dir: Path | None = None
    project_dir: Path | None = None  # what "{project}" in a recorded directory URL means
    python: str | None = None  # the interpreter that builds wheels from source (default: envsnap's)
    offline: bool = False  # fail rather than download or build


class BundleOutputError(BundleError):
    """The bundle cannot be written where ``-o`` says: bad input, like any file that cannot be written."""

    exit_code = 2


def make_bundle(
    lock: Snapshot, output: Path, options: BundleOptions | None = None, progress: Progress | None = None
) -> BundleResult:
    """Create or complete the bundle at ``output`` (a directory, or a ``.tar.gz`` file).

    A directory this call creates is removed again when it fails: a new bundle is complete or absent (an
    existing one keeps what it had, so a re-run fetches only what is still missing)."""
    new_dir = not is_archive(output) and not output.exists()
    try:
        return _make_bundle(lock, output, options, progress)
    except BaseException as exc:
        if new_dir:
            shutil.rmtree(output, ignore_errors=True)
        if isinstance(exc, OSError):
            where = f" ({exc.filename})" if exc.filename else ""
            raise BundleOutputError(f"{output}: cannot write the bundle: {exc.strerror or exc}{where}") from None
        raise


def _make_bundle(
    lock: Snapshot, output: Path, options: BundleOptions | None, progress: Progress | None
) -> BundleResult:
    opts = options or BundleOptions()
    say = progress or (lambda _line: None)
    started = time.perf_counter()
    if is_archive(output):
        output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".envsnap-bundle-", dir=output.parent) as tmp:
            work = Path(tmp) / "bundle"
            if output.is_file():
                extract(output, work)  # re-run on an archive: keep what it already holds
            else:
                work.mkdir()
            result_lock, entries = _fill(lock, work, opts, say)
            write_archive(work, output)
        return BundleResult(output, result_lock, tuple(entries), time.perf_counter() - started)
    if output.exists() and not output.is_dir():
        raise BundleError(f"{output}: exists and is not a directory (name a directory or a .tar.gz)")
    if output.is_dir() and any(output.iterdir()) and not ((output / SUMS).is_file() and (output / LOCK).is_file()):
        # Filling it would overwrite its README.md and requirements.txt and delete files from its wheels/.
        raise BundleOutputError(f"{output}: exists and is not an envsnap bundle (no {SUMS} and {LOCK}); "
                                "name a new or empty directory, or an earlier bundle to complete")
    output.mkdir(parents=True, exist_ok=True)
    result_lock, entries = _fill(lock, output, opts, say)
    return BundleResult(output, result_lock, tuple(entries), time.perf_counter() - started)


def _fill(lock: Snapshot, root: Path, opts: BundleOptions, say: Progress) -> tuple[Snapshot, list[BundleEntry]]:
    for sub in (WHEELS, CONDA, IMAGES):
        (root / sub).mkdir(exist_ok=True)
    previous = _previous_lock(root)
    config = opts.config or read_pip_config()
    cache = opts.cache_dir or default_cache_dir()
    lock = _reuse_rebuilt(lock, previous, root)
    missing = [p for p in python_packages(lock)
               if (p.artifact is None or hash_only(p.artifact)) and p.source.kind in ("index", "archive")]
    if missing:
        if opts.offline:
            raise BundleError(f"{missing[0].name} {missing[0].version} is not pinned and --offline forbids "
                              "looking it up (run `envsnap pin` first)")
        say(f"pinning {len(missing)} packages against the configured indexes")
        names = {p.name for p in missing}
        lock = pin(lock, config, cache_dir=cache, only=lambda p: p.name in names).snapshot
    pinner = Pinner(config, cache)
    entries: list[BundleEntry] = []
    packages = []
    problems: list[str] = []
    for pkg in lock.python.packages:
        if pkg.conda_managed or pkg.installer == "conda":
            packages.append(pkg)
            continue
        try:
            pkg, entry = _bundle_one(pkg, root, pinner, opts, say)
        except (BundleError, PinError) as exc:
            problems.append(str(exc))
            packages.append(pkg)
            continue
        packages.append(pkg)
        entries.append(entry)
    if problems:
        raise BundleError(f"{len(problems)} package(s) could not be bundled: " + "; ".join(problems))
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=tuple(packages)))
    _remove_stale_wheels(root, lock)
    if lock.conda is not None and lock.conda.packages:
        from .rebuild.conda import bundle_conda_packages

        bundle_conda_packages(lock, root, offline=opts.offline, progress=say)
    lockfile.dump(lock, root / LOCK)
    atomic_write_text(root / REQUIREMENTS, requirements_text(lock))
    from . import _templates  # jinja2 only when writing a bundle

    lock = lockfile.seal(lock)  # the README names the digest of the lock written above
    atomic_write_text(root / README, _templates.render("bundle/README.md.j2", lock=lock, packages=[
        p for p in python_packages(lock)], conda_archives=_conda_archives(lock)))
    Bundle(root).write_sums()
    return lock, entries


def _conda_archives(lock: Snapshot) -> list[str]:
    """The bundled conda archives, dependencies first (the order an explicit file is linked in); the README
    rebuilds a conda lock with the conda target, or by hand from them."""
    if lock.conda is None or not lock.conda.packages:
        return []
    from .export._conda import install_order
    from .rebuild.conda import archive_name

    return [archive_name(p) for p in install_order(lock.conda.packages)]


def _previous_lock(root: Path) -> Snapshot | None:
    path = root / LOCK
    if not path.is_file():
        return None
    try:
        return lockfile.load(path)
    except Exception:
        return None


def _reuse_rebuilt(lock: Snapshot, previous: Snapshot | None, root: Path) -> Snapshot:
    """Carry over wheels built by an earlier run for the same source, when their file is still intact."""
    if previous is None:
        return lock
    packages = []
    for pkg in lock.python.packages:
        old = previous.package(pkg.name)
        if (pkg.artifact is None and old is not None and old.artifact is not None and old.artifact.rebuilt
                and old.version == pkg.version and old.source == pkg.source):
            path = root / WHEELS / old.artifact.filename
            if path.is_file() and sha256_file(path) == old.artifact.sha256:
                pkg = dataclasses.replace(pkg, artifact=old.artifact)
        packages.append(pkg)
    return dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=tuple(packages)))


def _bundle_one(
    pkg: PythonPackage, root: Path, pinner: Pinner, opts: BundleOptions, say: Progress
) -> tuple[PythonPackage, BundleEntry]:
    art = pkg.artifact
    if art is not None and art.filename.endswith(".whl"):
        dest = root / WHEELS / art.filename
        if dest.is_file() and sha256_file(dest) == art.sha256:
            return pkg, BundleEntry(pkg.name, pkg.version, art.filename, "present", art.rebuilt)
        if art.rebuilt and not cached_path(pinner.cache_dir, art.sha256, art.filename).is_file():
            pkg = dataclasses.replace(pkg, artifact=None)  # its wheel is gone: build it again below
        else:
            fetch_wheel(art, dest, pinner, offline=opts.offline)
            say(f"fetched {art.filename}")
            return pkg, BundleEntry(pkg.name, pkg.version, art.filename, "fetched", art.rebuilt)
    if opts.offline:
        raise BundleError(f"{pkg.name} {pkg.version}: no wheel in the bundle and --offline forbids building one")
    with tempfile.TemporaryDirectory(prefix=".build-", dir=root) as tmp:
        work = Path(tmp)
        source, origin = _source_tree(pkg, work, pinner, opts)
        wheel = build_wheel(source, work / "out", opts.python)
        built, version = _check_built(wheel, pkg)
        pkg = dataclasses.replace(pkg, version=version)
        dest = root / WHEELS / built.name
        shutil.move(str(built), dest)
    sha = sha256_file(dest)
    # Kept in the download cache too, so another bundle of the same lock needs no build.
    cached = cached_path(pinner.cache_dir, sha, dest.name)
    if not cached.is_file():
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dest, cached)
    artifact = Artifact(filename=dest.name, url=origin, sha256=sha, size=dest.stat().st_size,
                        rebuilt=True)
    say(f"built {dest.name} from {origin}")
    return dataclasses.replace(pkg, artifact=artifact), BundleEntry(pkg.name, pkg.version, dest.name, "built", True)


def fetch_wheel(art: Artifact, dest: Path, pinner: Pinner, *, offline: bool) -> None:
    """Copy a pinned wheel to ``dest`` from the download cache, downloading it first if needed."""
    cached = cached_path(pinner.cache_dir, art.sha256, art.filename)
    if not cached.is_file():
        if offline:
            raise BundleError(f"{art.filename}: not in the bundle or the download cache, and --offline is set")
        cached, _sha = pinner.fetch(_index_file(art))
    if sha256_file(cached) != art.sha256:
        raise BundleError(f"{cached}: cached file does not match sha256 {art.sha256}")
    tmp = dest.with_name(f".{dest.name}.part")
    shutil.copyfile(cached, tmp)
    os.replace(tmp, dest)


def _source_tree(pkg: PythonPackage, work: Path, pinner: Pinner, opts: BundleOptions) -> tuple[Path, str]:
    """A source tree to build ``pkg`` from, and the provenance to record for the wheel."""
    src = pkg.source
    if pkg.artifact is not None and hash_only(pkg.artifact):
        raise BundleError(f"{pkg.name} {pkg.version}: only its sha256 is known ({pkg.artifact.sha256}) and no "
                          "file with that hash was found on the configured indexes")
    if pkg.artifact is not None:  # an sdist pinned on the index
        path, _sha = pinner.fetch(_index_file(pkg.artifact))
        unpacked = work / "sdist"
        with tarfile.open(path) as archive:
            archive.extractall(unpacked, members=safe_members(archive, str(path)), filter="data")
        tops = [p for p in unpacked.iterdir() if p.is_dir()]
        return (tops[0] if len(tops) == 1 else unpacked), pkg.artifact.url
    if src.kind == "vcs":
        if src.vcs != "git":
            raise BundleError(f"{pkg.name}: {src.vcs} checkouts are not supported (only git)")
        git = _tools.git()
        if git is None:
            raise BundleError(f"{pkg.name}: git is needed to build it from {src.url} and is not installed")
        checkout = work / "checkout"
        res = _runner.run([git, "clone", "--quiet", src.url, str(checkout)], timeout=BUILD_TIMEOUT)
        if not res.ok:
            raise BundleError(f"{pkg.name}: git clone {src.url} failed: {_last(res.stderr)}")
        res = _runner.run([git, "-C", str(checkout), "checkout", "--quiet", src.commit_id], timeout=120)
        if not res.ok:
            raise BundleError(f"{pkg.name}: commit {src.commit_id} not found in {src.url}: {_last(res.stderr)}")
        tree = checkout / src.subdirectory if src.subdirectory else checkout
        return tree, f"git+{src.url}@{src.commit_id}"
    if src.kind == "directory":
        tree = _local_dir(src.url, opts.project_dir)
        if src.subdirectory:
            tree = tree / src.subdirectory
        if not tree.is_dir():
            raise BundleError(f"{pkg.name}: source directory {tree} does not exist on this machine")
        return tree, src.url
    if src.kind == "archive":
        local = local_path(src.url)
        if local is not None and local.is_file() and local.name.endswith(".whl"):
            raise BundleError(f"{pkg.name}: installed from the local wheel {local}; pin it or copy it to an index")
        raise BundleError(f"{pkg.name}: installed from {src.url}, which cannot be fetched and verified")
    raise BundleError(f"{pkg.name} {pkg.version}: not pinned (no matching file on the configured indexes)")


def _index_file(art: Artifact) -> IndexFile:
    return IndexFile(filename=art.filename, url=art.url, sha256=art.sha256)


def _local_dir(url: str, project_dir: Path | None) -> Path:
    raw = url[len("file://"):] if url.startswith("file://") else url
    if raw.startswith("~"):
        return Path(os.path.expanduser(raw))
    if raw.startswith("{project}"):
        if project_dir is None:
            raise BundleError(f"{url}: recorded relative to the project; name the project with --project DIR")
        return project_dir / raw[len("{project}/"):]
    if raw.startswith("{prefix}"):
        raise BundleError(f"{url}: a directory inside the captured environment cannot be rebuilt from")
    return Path(raw)


def build_wheel(source: Path, out_dir: Path, python: str | None = None) -> Path:
    """Build one wheel from a source tree with ``uv build`` (or ``pip wheel``); its path."""
    import sys

    out_dir.mkdir(parents=True, exist_ok=True)
    uv = _tools.uv()
    interpreter = python or sys.executable
    env = dict(os.environ)
    env.setdefault("SOURCE_DATE_EPOCH", "315532800")  # reproducible zip timestamps where the backend honours it
    if uv:
        args = [uv, "build", "--wheel", "--quiet", "--python", interpreter, "--out-dir", str(out_dir), str(source)]
    else:
        args = [interpreter, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out_dir), str(source)]
    res = _runner.run(args, timeout=BUILD_TIMEOUT, env=env)
    if not res.ok:
        raise BundleError(f"building a wheel from {source} failed: {_last(res.stderr or res.stdout)}")
    wheels = sorted(out_dir.glob("*.whl"))
    if len(wheels) != 1:
        raise BundleError(f"building {source} gave {len(wheels)} wheels, expected one")
    return wheels[0]


def _check_built(wheel: Path, pkg: PythonPackage) -> tuple[Path, str]:
    """The built wheel and its version, after checking it is the locked package. A local project imported
    without a version (PEP 751 gives a ``directory`` none) takes the version it builds."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import InvalidVersion, Version

    try:
        name, version, _build, _tags = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename:
        raise BundleError(f"{pkg.name}: the build wrote {wheel.name}, not a valid wheel file name") from None
    try:
        same_version = not pkg.version or version == Version(pkg.version)
    except InvalidVersion:
        same_version = False
    if name != pkg.name or not same_version:
        raise BundleError(f"{pkg.name} {pkg.version or '(no version)'}: the source now builds {name} {version} "
                          "(the recorded commit or directory changed)")
    return wheel, str(version)


def _remove_stale_wheels(root: Path, lock: Snapshot) -> None:
    wanted = {p.artifact.filename for p in lock.python.packages if p.artifact is not None}
    for path in (root / WHEELS).iterdir():
        if path.is_file() and path.name not in wanted:
            path.unlink()


def _last(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def requirements_text(lock: Snapshot) -> str:
    """``name==version --hash=sha256:...`` for every bundled wheel, sorted: pip's --require-hashes input."""
    lines = ["# Generated by envsnap from envsnap.lock. Install with:",
             "#   pip install --no-deps --no-index --find-links wheels --require-hashes -r requirements.txt"]
    for pkg in sorted(python_packages(lock), key=lambda p: p.name):
        if pkg.artifact is not None and pkg.artifact.filename.endswith(".whl"):
            lines.append(f"{pkg.name}=={pkg.version} --hash=sha256:{pkg.artifact.sha256}")
    return "\n".join(lines) + "\n"


def describe_entries(entries: Iterable[BundleEntry]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.action] = counts.get(entry.action, 0) + 1
    return counts


__all__ = [
    "Bundle", "BundleOptions", "BundleResult", "check_made_from", "extract", "make_bundle", "open_bundle",
    "requirements_text",
]
