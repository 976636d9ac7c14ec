"""System packages as files: which ``.deb`` files a container rebuild installs, pinned by sha256 and by their
permanent URL in the Debian snapshot archive.

Debian drops superseded versions from its mirrors at every point release; the snapshot archive keeps every
file it ever published, under a timestamped path. ``envsnap pin`` asks the archive's machine-readable API
(``/mr/binary/NAME/VERSION/binfiles?fileinfo=1``: the file's sha1, size and the first snapshot holding it),
downloads the file once (into the artifacts cache, where ``bundle --with-system-packages`` finds it), checks
its sha1 and size against the archive's answer, and records its sha256. Where the archive cannot be asked or
does not know the version, the package stays unpinned with the reason; nothing is guessed.

Which packages (the rule, documented in docs/cli.md): those the lock marks ``needed_by`` a Python distribution
(the host driver's own excluded), plus the interpreter's own packages when the base image lacks an interpreter
and installs the distribution's ``python3.X`` (the caller names those; the dockerfile layer decides).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from .. import _leftovers, grammar
from .._frozen import frozen
from .._fs import join_base_name
from ..errors import BadOptionError, EnvsnapError, PinError, RebuildError
from ..model import Snapshot, SystemPackage
from ..platforms import debian_arch
from ..sinks import shell_word
from .pin import Fetcher, cached_path

MODES = ("needed", "all", "none")
# Libraries of the host's NVIDIA driver come from the container toolkit at run time, never from the image.
_DRIVER_PACKAGE = re.compile(r"^(libnvidia-|nvidia-|libcuda1|libcuda-)")

SNAPSHOT_MIRRORS = {
    "debian": (
        "http://snapshot.debian.org/archive/debian/{stamp} {codename} main",
        "http://snapshot.debian.org/archive/debian/{stamp} {codename}-updates main",
        "http://snapshot.debian.org/archive/debian-security/{stamp} {codename}-security main",
    ),
    "ubuntu": (
        "http://snapshot.ubuntu.com/ubuntu/{stamp} {codename} main universe",
        "http://snapshot.ubuntu.com/ubuntu/{stamp} {codename}-updates main universe",
        "http://snapshot.ubuntu.com/ubuntu/{stamp} {codename}-security main universe",
    ),
}
ENV_SNAPSHOT_URL = "ENVSNAP_SNAPSHOT_URL"
# The archive's answer for one version is a few KiB; a larger one is refused.
MAX_ANSWER = 4 * 1024 * 1024
WARNING_PREFIX = "pin: system "
_STAMP = re.compile(r"[0-9]{8}T[0-9]{6}Z", re.ASCII)
_ARCHIVE = re.compile(r"[a-z0-9][a-z0-9-]*", re.ASCII)
_SHA1 = re.compile(r"[0-9a-f]{40}", re.ASCII)


def select(lock: Snapshot, mode: str) -> tuple[SystemPackage, ...]:
    """The lock's system packages a rebuild installs under ``--system-packages MODE``."""
    if mode not in MODES:
        raise BadOptionError(f"--system-packages {mode!r}: expected one of {', '.join(MODES)}")
    if mode == "none":
        return ()
    chosen = [p for p in lock.system.packages if mode == "all" or p.needed_by]
    if chosen and lock.system.manager != "dpkg":
        raise RebuildError(
            f"the lock's system packages come from {lock.system.manager or 'no known package manager'}, "
            "which apt cannot install; pass --system-packages none"
        )
    return tuple(sorted((p for p in chosen if not _DRIVER_PACKAGE.match(p.name)), key=lambda p: (p.name, p.arch)))


def rebuild_packages(lock: Snapshot, interpreter_names: Iterable[str] = ()) -> tuple[SystemPackage, ...]:
    """The system packages a container rebuild of ``lock`` installs (``needed``), plus the lock's packages named
    in ``interpreter_names`` (the interpreter's own, when the base image lacks one), plus those already pinned
    (``pin`` adds the dependency closure of the others). dpkg locks only."""
    if lock.system.manager != "dpkg":
        return ()
    chosen = {(p.name, p.arch): p for p in select(lock, "needed")}
    wanted = set(interpreter_names)
    for p in lock.system.packages:
        # A pinned package is one pin found in the dependency closure of the others: it belongs to the set.
        if (p.name in wanted or is_pinned(p)) and not _DRIVER_PACKAGE.match(p.name):
            chosen.setdefault((p.name, p.arch), p)
    return tuple(chosen[k] for k in sorted(chosen))


def default_snapshot_url() -> str:
    """The Debian snapshot archive's base URL as the ``--apt-snapshot`` mirrors name it (over https)."""
    host = urlsplit(SNAPSHOT_MIRRORS["debian"][0].split()[0]).netloc
    return f"https://{host}"


def snapshot_url(option: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The snapshot archive's base URL: ``option``, else ``$ENVSNAP_SNAPSHOT_URL``, else the default."""
    env = os.environ if environ is None else environ
    chosen = option or env.get(ENV_SNAPSHOT_URL, "") or default_snapshot_url()
    if not grammar.is_url(chosen) or urlsplit(chosen).scheme not in ("http", "https", "file"):
        where = "--snapshot-url" if option else ENV_SNAPSHOT_URL
        raise BadOptionError(f"{where} {grammar.shown(chosen)}: expected an http(s) or file URL")
    return chosen.rstrip("/")


def deb_arch(pkg: SystemPackage, machine: str) -> str:
    return pkg.arch or debian_arch(machine)


def is_pinned(pkg: SystemPackage) -> bool:
    return bool(pkg.filename and pkg.sha256)


@frozen
class Located:
    """What the snapshot archive says of one package file."""

    filename: str
    url: str  # the timestamped path of the first snapshot that holds it
    sha1: str
    size: int


@frozen
class DebOutcome:
    name: str
    version: str
    arch: str
    status: str  # pinned | unpinned
    reason: str = ""
    filename: str = ""
    url: str = ""


def _answer(body: bytes, what: str) -> Any:
    if len(body) > MAX_ANSWER:
        raise PinError(f"{what}: the snapshot archive's answer is larger than {MAX_ANSWER} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PinError(f"{what}: the snapshot archive's answer is not JSON") from None


def locate(fetcher: Fetcher, base: str, pkg: SystemPackage, arch: str) -> Located:
    """The file of ``pkg`` (name, version, ``arch``) in the snapshot archive at ``base``. ``PinError`` says why
    there is none: the archive could not be asked, does not know the version, or answered something invalid.
    Every value of the answer is checked by its grammar before it names a URL or a file."""
    what = f"{pkg.name} {pkg.version}"
    api = f"{base}/mr/binary/{quote(pkg.name, safe='')}/{quote(pkg.version, safe='')}/binfiles?fileinfo=1"
    body, _kind, _final = fetcher.get(api, "application/json")
    if not body:
        raise PinError(f"the snapshot archive does not know {pkg.name} version {pkg.version}")
    doc = _answer(body, what)
    results = doc.get("result") if isinstance(doc, dict) else None
    info = doc.get("fileinfo") if isinstance(doc, dict) else None
    if not isinstance(results, list) or not isinstance(info, dict):
        raise PinError(f"{what}: the snapshot archive's answer has no result and fileinfo")
    hashes: list[str] = [
        r["hash"]
        for r in results
        if isinstance(r, dict) and r.get("architecture") in (arch, "all") and isinstance(r.get("hash"), str)
    ]
    if not hashes:
        raise PinError(f"the snapshot archive has {pkg.name} {pkg.version} but no file for architecture {arch}")
    sha1 = hashes[0]
    if not _SHA1.fullmatch(sha1):
        raise PinError(f"{what}: the snapshot archive's file hash {grammar.shown(sha1)} is not a sha1")
    seen: list[tuple[str, str, str, str, int]] = []
    for entry in info.get(sha1) or ():
        if not isinstance(entry, dict):
            continue
        name, path, stamp = entry.get("name"), entry.get("path"), entry.get("first_seen")
        archive, size = entry.get("archive_name"), entry.get("size")
        if not (
            isinstance(name, str)
            and grammar.is_deb_filename(name)
            and name.startswith(f"{pkg.name}_")
            and isinstance(path, str)
            and path.startswith("/")
            and grammar.is_relative_path(path[1:])
            and isinstance(stamp, str)
            and _STAMP.fullmatch(stamp)
            and isinstance(archive, str)
            and _ARCHIVE.fullmatch(archive)
            and isinstance(size, int)
            and grammar.is_bounded_int(size, 1, 2**40)
        ):
            continue
        seen.append((stamp, archive, path, name, size))
    if not seen:
        raise PinError(f"{what}: the snapshot archive lists no valid file for {sha1}")
    stamp, archive, path, name, size = min(seen)  # the first snapshot holding the file
    return Located(name, f"{base}/archive/{archive}/{stamp}{path}/{quote(name)}", sha1, size)


MAX_CONTROL = 1 << 20


def control_fields(path: Path) -> dict[str, str]:
    """The fields of a ``.deb``'s ``control`` file (``Package``, ``Depends``, ...), read from the ar archive and its
    ``control.tar.{xz,gz}`` member within bounds; ``PinError`` when it is not such a file."""
    import io
    import tarfile

    with open(path, "rb") as handle:
        if handle.read(8) != b"!<arch>\n":
            raise PinError(f"{path.name}: not a Debian package (no ar header)")
        while True:
            header = handle.read(60)
            if len(header) < 60:
                raise PinError(f"{path.name}: no control archive in the package")
            name = header[:16].decode("ascii", "replace").strip().rstrip("/")
            try:
                size = int(header[48:58].decode("ascii").strip())
            except ValueError:
                raise PinError(f"{path.name}: a damaged ar member header") from None
            if name.startswith("control.tar"):
                if size > 64 * MAX_CONTROL:
                    raise PinError(f"{path.name}: the control archive is larger than {64 * MAX_CONTROL} bytes")
                data = handle.read(size)
                break
            handle.seek(size + (size & 1), 1)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for member in tar:
                if member.isfile() and member.name.lstrip("./") == "control" and member.size <= MAX_CONTROL:
                    extracted = tar.extractfile(member)
                    text = extracted.read().decode("utf-8", "replace") if extracted is not None else ""
                    break
            else:
                raise PinError(f"{path.name}: the control archive has no control file")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise PinError(f"{path.name}: cannot read its control archive ({exc})") from None
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    return fields


def depends(fields: Mapping[str, str]) -> list[list[str]]:
    """``Pre-Depends`` and ``Depends`` as groups of alternative package names (versions and ``:any`` dropped)."""
    groups = []
    for key in ("Pre-Depends", "Depends"):
        for group in fields.get(key, "").replace("\n", " ").split(","):
            names = [alt.strip().split(" ", 1)[0].split("(", 1)[0].split(":", 1)[0] for alt in group.split("|")]
            names = [n for n in names if grammar.is_system_name(n)]
            if names:
                groups.append(names)
    return groups


def pin_one(fetcher: Fetcher, base: str, cache_dir: Path, pkg: SystemPackage, machine: str) -> SystemPackage:
    """``pkg`` with filename, size, sha256 and url filled: located in the archive, downloaded once into the
    content-addressed cache, checked against the archive's sha1 and size. ``EnvsnapError`` says why not."""
    found = locate(fetcher, base, pkg, deb_arch(pkg, machine))
    # Downloaded and checked in a held folder of the cache's ``incoming``: what a run killed meanwhile left there
    # `envsnap clean` removes, and the next download.
    with _leftovers.held_dir(cache_dir / "incoming", "download") as tmp:
        staging = join_base_name(tmp, found.filename)
        sha256 = fetcher.download(found.url, staging, size=found.size)
        sha1 = hashlib.sha1()  # the archive names files by sha1; the lock keeps sha256
        size = 0
        with open(staging, "rb") as handle:
            while chunk := handle.read(1 << 20):
                sha1.update(chunk)
                size += len(chunk)
        if sha1.hexdigest() != found.sha1 or size != found.size:
            raise PinError(
                f"{found.filename}: the downloaded file is not the one the snapshot archive lists "
                f"(sha1 {sha1.hexdigest()}, {size} bytes; expected {found.sha1}, {found.size} bytes)"
            )
        fields = control_fields(staging)  # the package it says it is, or not pinned
        if fields.get("Package") != pkg.name or fields.get("Version") != pkg.version:
            raise PinError(
                f"{found.filename}: its control file names {grammar.shown(fields.get('Package', ''))} "
                f"{grammar.shown(fields.get('Version', ''))}, not {pkg.name} {pkg.version}"
            )
        final = cached_path(cache_dir, sha256, found.filename)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, final)
    return dataclasses.replace(pkg, filename=found.filename, size=found.size, sha256=sha256, url=found.url)


def pin_system(
    snapshot: Snapshot,
    fetcher: Fetcher,
    *,
    base: str,
    cache_dir: Path,
    interpreter_names: Sequence[str] = (),
    jobs: int = 4,
) -> tuple[Snapshot, tuple[DebOutcome, ...]]:
    """``snapshot`` with the container rebuild's system packages pinned by hash, and one outcome each."""
    todo = [p for p in rebuild_packages(snapshot, interpreter_names) if not is_pinned(p)]
    machine = snapshot.platform.machine

    def one(pkg: SystemPackage) -> tuple[SystemPackage, DebOutcome]:
        arch = deb_arch(pkg, machine)
        if not pkg.version:
            return pkg, DebOutcome(pkg.name, "", arch, "unpinned", "the lock records no version")
        try:
            done = pin_one(fetcher, base, cache_dir, pkg, machine)
        except EnvsnapError as exc:
            return pkg, DebOutcome(pkg.name, pkg.version, arch, "unpinned", str(exc))
        return done, DebOutcome(pkg.name, pkg.version, arch, "pinned", "", done.filename, done.url)

    results: list[tuple[SystemPackage, DebOutcome]] = []
    already = {(p.name, p.arch) for p in rebuild_packages(snapshot, interpreter_names) if is_pinned(p)}
    by_name: dict[str, list[SystemPackage]] = {}
    for p in snapshot.system.packages:
        by_name.setdefault(p.name, []).append(p)
    queued = {(p.name, p.arch) for p in todo} | already
    while todo:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            batch = list(pool.map(one, todo))
        results += batch
        todo = []
        for new, _outcome in batch:
            if not is_pinned(new):
                continue
            # The dependencies of what was pinned, as the lock has them installed: pinned too, so that dpkg
            # can install the set on a base image that lacks them.
            for group in depends(control_fields(cached_path(cache_dir, new.sha256, new.filename))):
                # An arch-all package's dependencies are the machine's own architecture (or all).
                arches = ("", "all", debian_arch(machine), new.arch)
                candidates = [
                    q
                    for name in group
                    for q in by_name.get(name, ())
                    if q.arch in arches and not _DRIVER_PACKAGE.match(q.name)
                ]
                if not candidates or any((q.name, q.arch) in queued for q in candidates):
                    continue  # satisfied by the set, or by nothing the lock has (virtual, the base's own)
                queued.add((candidates[0].name, candidates[0].arch))
                todo.append(candidates[0])
    replaced = {(new.name, new.arch): new for new, _o in results}
    packages = tuple(replaced.get((p.name, p.arch), p) for p in snapshot.system.packages)
    outcomes = tuple(o for _p, o in results)
    warnings = [w for w in snapshot.envsnap.warnings if not w.startswith(WARNING_PREFIX)]
    warnings += [f"{WARNING_PREFIX}{o.name} {o.version}: {o.reason}" for o in outcomes if o.status == "unpinned"]
    meta = dataclasses.replace(snapshot.envsnap, warnings=tuple(sorted(set(warnings))))
    return dataclasses.replace(
        snapshot, envsnap=meta, system=dataclasses.replace(snapshot.system, packages=packages)
    ), outcomes


# ------------------------------------------------------------------------------------------- the bundle

DEBS = "debs"  # the bundle's folder of .deb files (`bundle --with-system-packages`)


def require_pinned(
    packages: Sequence[SystemPackage], what: str, base_image: str | None = None, pin: str = "envsnap pin LOCK"
) -> None:
    """``PinError`` naming the packages that have no pinned ``.deb`` (a bundle cannot carry them). The remedy
    names ``base_image`` when one was given: the packages a rebuild installs depend on the base (one without
    Python needs the interpreter's), and a plain ``pin`` pins those of the default base only. ``pin``: the ``envsnap
    pin`` of the lock the user gave (``bundle.pin_command``), which the remedy runs."""
    missing = [f"{p.name} {p.version}" for p in packages if not is_pinned(p)]
    if missing:
        shown_names = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        pin += f" --base-image {shell_word(base_image)}" if base_image else ""
        raise PinError(
            f"{what}: {len(missing)} system packages have no pinned .deb ({shown_names}); run "
            f"`{pin}` where the snapshot archive is reachable first"
        )


def deb_path(folder: Path, pkg: SystemPackage) -> Path:
    """Where ``pkg``'s file lies in ``folder``: its lock-given name, checked to be a plain .deb base name."""
    if not grammar.is_deb_filename(pkg.filename):
        raise PinError(f"system package {pkg.name}: {grammar.shown(pkg.filename)} is not a .deb file name")
    return join_base_name(folder, pkg.filename)


def check_deb(path: Path, pkg: SystemPackage) -> None:
    """``path`` is ``pkg``'s file: its sha256 is the one the lock records. ``PinError`` names the file."""
    from .bundle import known_sha256  # a bundle's SHA256SUMS check has hashed it already: once per file

    actual = known_sha256(path)
    if actual != pkg.sha256:
        raise PinError(
            f"{path}: sha256 {actual}, but the lock pins {pkg.name} {pkg.version} to {pkg.sha256} "
            "(the file was changed or replaced)"
        )


def fetch_debs(
    packages: Sequence[SystemPackage],
    folder: Path,
    fetcher: Fetcher,
    *,
    cache_dir: Path,
    offline: bool = False,
    progress: Any = None,
) -> int:
    """Put each pinned package's ``.deb`` into ``folder``: from the download cache, else from its recorded URL
    (asked of the fetch policy: a lock chose it) through the one downloader; every file checked against the
    lock's sha256 before it stays. Returns the bytes they hold."""
    say = progress or (lambda _line: None)
    require_pinned(packages, str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    total_size = sum(p.size for p in packages)
    done = 0
    for i, pkg in enumerate(packages, 1):
        target = deb_path(folder, pkg)
        cached = cached_path(cache_dir, pkg.sha256, pkg.filename)
        if target.is_file() and not target.is_symlink() and _same(target, pkg):
            pass
        elif cached.is_file() and _same(cached, pkg):
            _copy(cached, target)
        elif offline:
            raise PinError(f"{pkg.filename}: not in the download cache {cache_dir} (--offline)")
        else:
            if not pkg.url:
                raise PinError(f"system package {pkg.name} {pkg.version}: the lock records no URL for {pkg.filename}")
            sha256 = fetcher.download(pkg.url, cached, checked=True, size=pkg.size)
            if sha256 != pkg.sha256:
                cached.unlink(missing_ok=True)
                raise PinError(f"{pkg.url}: sha256 {sha256}, but the lock pins {pkg.filename} to {pkg.sha256}")
            _copy(cached, target)
        check_deb(target, pkg)
        done += pkg.size
        say(f"[{i}/{len(packages)}] {pkg.filename} ({done >> 10} of {total_size >> 10} KiB)")
    return done


def _same(path: Path, pkg: SystemPackage) -> bool:
    from .bundle import sha256_file

    return sha256_file(path) == pkg.sha256


def _copy(source: Path, target: Path) -> None:
    import shutil

    # Held while written, as a download is: a run killed midway leaves a file `envsnap clean BUNDLE` and the next
    # bundle remove, and neither removes it under a running copy.
    with open(source, "rb") as src, _leftovers.held_file(target.parent, target.name, "download") as (out, tmp):
        shutil.copyfileobj(src, out, 1 << 20)
        out.flush()
        os.chmod(tmp, 0o644)  # made private; a bundle is for sharing
        os.replace(tmp, target)


def bundled(lock: Snapshot, bundle_root: Path, interpreter_names: Iterable[str] = ()) -> tuple[SystemPackage, ...]:
    """The rebuild's system packages whose pinned ``.deb`` the bundle carries (in ``debs/``), by name."""
    folder = Path(bundle_root) / DEBS
    if not folder.is_dir():
        return ()
    out = []
    for pkg in rebuild_packages(lock, interpreter_names):
        if is_pinned(pkg) and grammar.is_deb_filename(pkg.filename) and (folder / pkg.filename).is_file():
            out.append(pkg)
    return tuple(out)
