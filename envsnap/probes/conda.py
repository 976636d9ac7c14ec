"""The conda layer: read ``<prefix>/conda-meta/*.json`` directly (no conda executable, no solver).

Each record conda, mamba or rattler writes when it links a package holds the package's identity (name,
version, build), where it came from (url, channel, subdir), its archive hashes and the files it put into
the prefix. Those ``files`` lists also tell which Python distributions conda installed, whatever their
``INSTALLER`` file says.
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Iterable, Mapping
from dataclasses import field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from .. import platforms
from .._frozen import frozen
from .._privacy import PathRedactor, strip_channel_token
from ..errors import ProbeError
from ..grammar import (
    conda_channel_refused,
    is_conda_build,
    is_conda_channel,
    is_conda_depends,
    is_conda_name,
    is_conda_subdir,
    is_conda_version,
    is_lock_url,
    lock_url_refused,
    shown,
)
from ..model import Conda, CondaPackage, Noarch, PythonEnv
from .interface import Probe, ProbeContext, ProbeResult, RawPackage, RawPython
from .target import require_prefix_dir

META_DIR = "conda-meta"

_HEX = re.compile(r"^[0-9a-f]+$")
_DIST_DIR = re.compile(r"^(.*/[^/]+\.(?:dist-info|egg-info))(?:/|$)")


@frozen
class CondaLayer:
    """What the conda probe found: the table for the lock, plus what the rest of the capture needs."""

    conda: Conda
    prefix: str
    # ``.dist-info`` / ``.egg-info`` paths (relative to the prefix, "/"-separated) -> owning conda package.
    dist_owners: Mapping[str, str]
    warnings: tuple[str, ...] = ()


def is_conda_prefix(path: str | os.PathLike[str]) -> bool:
    return (Path(path) / META_DIR).is_dir()


def find_prefix(python_prefix: str | None, explicit: str | None = None) -> str | None:
    """The conda prefix to capture: ``--prefix`` when given (it must be one), else the interpreter's own
    prefix when it is a conda environment, else ``None``."""
    if explicit is not None:
        require_prefix_dir(explicit)
        if not is_conda_prefix(explicit):
            raise ProbeError(f"--prefix {explicit}: not a conda environment (no {META_DIR}/ directory)")
        return os.path.abspath(explicit)
    if python_prefix and is_conda_prefix(python_prefix):
        return python_prefix
    return None


# ------------------------------------------------------------------------------------------ parsing


def clean_url(url: str, redact: PathRedactor | None = None) -> str:
    """A package or channel URL fit for a lockfile: no credentials, signatures or anaconda.org token; local
    paths, login and host names redacted."""
    url = strip_channel_token(url)
    return redact.url(url) if redact is not None else url


def _hex(value: Any, length: int, field: str) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) != length or not _HEX.match(value.lower()):
        raise ValueError(f"{field} is not a {length}-digit hex digest")
    return value.lower()


def _noarch(value: Any) -> str:
    # Old conda-build wrote ``"noarch": true`` for generic packages, and some tools ``{"type": "python"}``.
    if isinstance(value, str):
        return value
    if value is True:
        return "generic"
    if isinstance(value, Mapping) and isinstance(value.get("type"), str):
        return str(value["type"])
    return ""


def channel_of(url: str, subdir: str, channel_field: str) -> str:
    """The channel's base URL: what is left of the package URL without ``/<subdir>/<file>``."""
    if url:
        base, _, _ = url.rpartition("/")
        if subdir and base.endswith("/" + subdir):
            return base[: -len(subdir) - 1]
        return base.rpartition("/")[0] if "/" in base else base
    channel = channel_field.rstrip("/")
    if subdir and channel.endswith("/" + subdir):
        channel = channel[: -len(subdir) - 1]
    return channel


def parse_record(data: Any, redact: PathRedactor | None = None) -> CondaPackage:
    """One ``conda-meta/*.json`` document -> CondaPackage. ``ValueError`` names what is wrong."""
    if not isinstance(data, Mapping):
        raise ValueError("not a JSON object")
    for key in ("name", "version"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ValueError(f"no {key}")
    build_number = data.get("build_number", 0)
    if not isinstance(build_number, int) or isinstance(build_number, bool):
        raise ValueError("build_number is not an integer")
    depends = data.get("depends", [])
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise ValueError("depends is not a list of strings")
    for dep in depends:
        if not is_conda_depends(dep):  # the lock would refuse it: every later command would fail on this lock
            raise ValueError(f"depends: {shown(dep)} is not a conda MatchSpec")
    url = str(data.get("url") or "")
    subdir = str(data.get("subdir") or "")
    if not subdir and url:
        subdir = url.rsplit("/", 2)[-2] if url.count("/") >= 2 else ""
    channel = clean_url(channel_of(url, subdir, str(data.get("channel") or data.get("schannel") or "")), redact)
    build = str(data.get("build") or data.get("build_string") or "")
    url = clean_url(url, redact)
    # Each as the lock checks it: a record it would refuse (a version with a newline, a name with a space) made a
    # lock that every later command refused, show too (exit 2), with no word of the record it came from.
    for key, value, valid in (
        ("name", data["name"], is_conda_name),
        ("version", data["version"], is_conda_version),
        ("build", build, is_conda_build),
        ("subdir", subdir, is_conda_subdir),
    ):
        if value and not valid(value):
            raise ValueError(f"{key}: {shown(value)} is not a valid conda {key}")
    # A URL and a channel name the rule they break, as lock loading names it: the url first, which a channel
    # without a field of its own is made of (a bad url was named as that channel, no rule said).
    if url and not is_lock_url(url):
        raise ValueError(f"url: {lock_url_refused(url)}")
    if channel and not is_conda_channel(channel):
        raise ValueError(f"channel: {conda_channel_refused(channel)}")
    return CondaPackage(
        name=data["name"],
        version=data["version"],
        build=build,
        build_number=build_number,
        channel=channel,
        subdir=subdir,
        url=url,
        md5=_hex(data.get("md5"), 32, "md5"),
        sha256=_hex(data.get("sha256"), 64, "sha256"),
        depends=tuple(depends),
        noarch=cast(Noarch, _noarch(data.get("noarch"))),  # lockfile.RULES checks the value
    )


def dist_owners_of(name: str, files: Any) -> dict[str, str]:
    """The Python distribution metadata directories among a record's ``files`` -> ``name``."""
    owners: dict[str, str] = {}
    if not isinstance(files, list):
        return owners
    for entry in files:
        if not isinstance(entry, str):
            continue
        match = _DIST_DIR.match("/" + entry.replace("\\", "/"))
        if match:
            owners[match.group(1)[1:]] = name
    return owners


def current_subdir(system: str | None = None, machine: str | None = None) -> str:
    """The conda platform of this host (``linux-64``, ``osx-arm64`` ...)."""
    return platforms.conda_subdir(system or platform.system(), machine or platform.machine())


# ------------------------------------------------------------------------------------------ reading


def probe_conda(prefix: str, redact: PathRedactor | None = None) -> CondaLayer:
    """Read every record in ``<prefix>/conda-meta``. A corrupt record is a warning and is skipped."""
    meta = Path(prefix) / META_DIR
    try:
        names = sorted(p.name for p in meta.iterdir() if p.suffix == ".json")
    except OSError as exc:
        raise ProbeError(f"{meta}: cannot read: {exc.strerror or exc}") from None
    packages: list[CondaPackage] = []
    owners: dict[str, str] = {}
    warnings: list[str] = []
    for fname in names:
        where = f"conda: {META_DIR}/{fname}"
        try:
            data = json.loads((meta / fname).read_text(encoding="utf-8"))
            pkg = parse_record(data, redact)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if isinstance(exc, json.JSONDecodeError):
                reason = "not valid JSON"
            warnings.append(f"{where}: {reason}; record skipped")
            continue
        packages.append(pkg)
        owners.update(dist_owners_of(pkg.name, data.get("files")))
    packages.sort(key=lambda p: (p.name, p.version, p.build))
    platform_subdirs = sorted({p.subdir for p in packages if p.subdir and p.subdir != "noarch"})
    conda = Conda(
        subdir=platform_subdirs[0] if platform_subdirs else current_subdir(),
        channels=tuple(sorted({p.channel for p in packages if p.channel})),
        packages=tuple(packages),
    )
    return CondaLayer(conda=conda, prefix=prefix, dist_owners=MappingProxyType(owners), warnings=tuple(warnings))


# ------------------------------------------------------------------------------------------ installed files (--files)

_PREFIX_RELATIVE = re.compile(r"^(?!/)(?!.*(?:^|/)\.\.(?:/|$))[^\0\\]+$")


def _sha256_of(value: Any) -> str:
    """A recorded sha256 in lower-case hex, "" where it is none."""
    digest = value.lower() if isinstance(value, str) else ""
    return digest if len(digest) == 64 and _HEX.match(digest) else ""


def _file_check(entry: Any) -> tuple[str, str, str] | None:
    """``(path, sha256, placeholder)`` to check of one ``paths_data.paths`` entry. The sha256 is the file's as
    installed: its ``sha256_in_prefix`` where the installer recorded one (conda, rattler: a file it wrote the
    prefix into has another digest than the archive's), else the archive's ``sha256``; with a ``placeholder``, the
    archive's digest of a text file the installer wrote the prefix into, compared with the prefix written back
    as the placeholder. The sha256 is "" where the file is only looked for (a link, a binary file with a
    placeholder and no ``sha256_in_prefix``, one the installer made: an entry point), and the entry None where
    nothing is checked (compiled bytecode, which Python rewrites; a path out of the prefix)."""
    if not isinstance(entry, Mapping):
        return None
    path = entry.get("_path")
    if not isinstance(path, str) or not _PREFIX_RELATIVE.match(path):
        return None
    kind = entry.get("path_type", "hardlink")
    if kind == "pyc_file" or "__pycache__/" in path or path.endswith((".pyc", ".pyo")):
        return None
    if kind != "hardlink":
        return path, "", ""
    installed = _sha256_of(entry.get("sha256_in_prefix"))
    if installed:
        return path, installed, ""
    placeholder = entry.get("prefix_placeholder")
    if not placeholder:
        return path, _sha256_of(entry.get("sha256")), ""
    if isinstance(placeholder, str) and entry.get("file_mode", "text") == "text":
        digest = _sha256_of(entry.get("sha256"))
        return path, digest, placeholder if digest else ""
    return path, "", ""  # binary: the installer padded each string it rewrote, which cannot be undone here


def _file_state(prefix: str, path: str, expected: set[str], placed: set[tuple[str, str]] | None = None) -> str:
    """``ok``, ``modified`` or ``missing``: the file ``path`` of the prefix against the sha256s ``expected`` (its
    owners' copies: it is right as any one of them; none: it is only looked for), or any ``(placeholder,
    sha256)`` of ``placed``: the sha256 of the file with the prefix written back as the placeholder."""
    import hashlib
    import stat

    from .._prehash import sha256_file

    where = os.path.join(prefix, path)
    if not expected and not placed:
        return "ok" if os.path.lexists(where) else "missing"
    try:
        if not stat.S_ISREG(os.stat(where).st_mode):  # a folder, a fifo in its place: never opened
            return "modified"
        if expected and sha256_file(where) in expected:
            return "ok"
        if placed:
            with open(where, "rb") as handle:
                data = handle.read()
            # The prefix as the installer wrote it: the environment's path, or that path with its links resolved.
            for written in {os.fsencode(prefix), os.fsencode(os.path.realpath(prefix))}:
                for placeholder, digest in placed:
                    if hashlib.sha256(data.replace(written, placeholder.encode())).hexdigest() == digest:
                        return "ok"
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "modified"
    return "modified"


@frozen
class FileFinding:
    """A file of the prefix that is none of its owners' copies: ``modified`` or ``missing``, with the conda
    packages whose records list it and the pip distributions whose RECORDs do."""

    state: str
    conda: tuple[str, ...]
    pip: tuple[str, ...]


@frozen
class CondaFiles:
    """What ``changed_files`` found. ``changed``: each path (relative to the prefix) a conda record lists that
    differs from every owner's copy. ``shared``: the paths a conda record and a pip RECORD both list, judged
    here against all their owners (the pip check's own finding on such a path is replaced by this one).
    ``replaced``: each conda package a pip install replaced (its Python distribution gone, one of that name
    installed by pip) -> that distribution ("NAME VERSION") and how many of the package's files are missing and
    not reported."""

    changed: Mapping[str, FileFinding]
    shared: frozenset[str] = frozenset()
    replaced: Mapping[str, tuple[str, int]] = field(default_factory=dict)


def pip_files(prefix: str, packages: Iterable[RawPackage]) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    """The pip layer seen from the prefix, for ``changed_files``: each path (relative to ``prefix``) a RECORD of
    a distribution inside it lists -> (that distribution, the sha256 in hex it gives), and each such
    distribution's name -> ``"NAME VERSION"``. The RECORD rows are those the probe read (``record_hashes``, with
    ``--files``): no RECORD is read again here. A RECORD the probe could not read adds nothing (the pip check
    reports its distribution)."""
    import base64
    import binascii

    root = os.path.realpath(prefix)
    files: dict[str, list[tuple[str, str]]] = {}
    installed: dict[str, str] = {}
    for pkg in packages:
        if not pkg.dist_dir or not pkg.site_dir:
            continue
        site = os.path.relpath(os.path.realpath(pkg.site_dir), root)
        if site == ".." or site.startswith(".." + os.sep):
            continue
        installed[pkg.name] = f"{pkg.name} {pkg.version}"
        for entry, digest in pkg.record_hashes:
            try:
                raw = base64.urlsafe_b64decode(digest[7:] + "=" * (-len(digest[7:]) % 4))
            except (binascii.Error, ValueError):
                continue
            path = os.path.normpath(os.path.join(site, entry.replace("\\", "/"))).replace(os.sep, "/")
            if len(raw) == 32 and not path.startswith("../") and path != "..":
                files.setdefault(path, []).append((pkg.name, raw.hex()))
    return files, installed


def _dist_name(dist_dir: str) -> str:
    """The canonical project name of a ``NAME-VERSION.dist-info`` (or ``.egg-info``) folder."""
    from packaging.utils import canonicalize_name

    folder = dist_dir.rsplit("/", 1)[-1].rsplit(".", 1)[0]  # NAME-VERSION.dist-info, NAME.egg-info
    return str(canonicalize_name(folder.split("-", 1)[0]))


def changed_files(
    prefix: str,
    pip: Mapping[str, list[tuple[str, str]]] | None = None,
    installed: Mapping[str, str] | None = None,
) -> CondaFiles:
    """``verify --files`` for the conda layer: each package's installed files against what its ``conda-meta``
    record says of them. Files the record hashes are hashed (in parallel, each path once); the rest
    (``_file_check``) are only looked for. A record that cannot be read is the capture's warning already, and
    is skipped here.

    A path several owners list (two conda packages, where the later one's copy clobbered the other's; a conda
    package and a pip distribution, ``pip``: ``pip_files``'s paths) is right when it is any one owner's copy.
    A conda package whose Python distribution a pip install replaced (``installed``: the pip layer's names) has
    the files pip removed missing: they are counted in ``replaced``, not reported."""
    from concurrent.futures import ThreadPoolExecutor

    pip = pip or {}
    installed = installed or {}
    meta = Path(prefix) / META_DIR
    try:
        names = sorted(p.name for p in meta.iterdir() if p.suffix == ".json")
    except OSError:
        return CondaFiles({})
    owners: dict[str, list[tuple[str, str, str]]] = {}  # path -> (conda package, sha256 or "", placeholder)
    gone_dists: dict[str, str] = {}  # conda package -> the pip distribution that replaced its own
    for fname in names:
        try:
            data = json.loads((meta / fname).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
            continue
        name = data["name"]
        paths_data = data.get("paths_data")
        entries = paths_data.get("paths") if isinstance(paths_data, Mapping) else None
        if not isinstance(entries, list):  # an older record: its ``files`` list, looked for alone
            files = data.get("files")
            entries = [{"_path": f, "path_type": "unknown"} for f in files] if isinstance(files, list) else []
        for entry in entries:
            check = _file_check(entry)
            if check is not None:
                owners.setdefault(check[0], []).append((name, check[1], check[2]))
        for dist_dir in dist_owners_of(name, data.get("files")):
            dist = _dist_name(dist_dir)
            if dist in installed and not os.path.lexists(os.path.join(prefix, dist_dir)):
                gone_dists[name] = installed[dist]
    wanted = sorted(owners)

    def state(path: str) -> str:
        placed = {(placeholder, digest) for _name, digest, placeholder in owners[path] if placeholder}
        expected = {digest for _name, digest, placeholder in owners[path] if not placeholder}
        expected |= {digest for _name, digest in pip.get(path, ())}
        if "" in expected:  # an owner whose copy is only looked for (a link, an entry point): any file may be its
            return _file_state(prefix, path, set())
        return _file_state(prefix, path, expected, placed)

    with ThreadPoolExecutor(max_workers=min(32, (os.cpu_count() or 1) + 2)) as pool:
        states = dict(zip(wanted, pool.map(state, wanted), strict=True))
    found: dict[str, FileFinding] = {}
    missed: dict[str, int] = {}
    for path in wanted:
        if states[path] == "ok":
            continue
        names = sorted({owner[0] for owner in owners[path]})
        pips = tuple(sorted({name for name, _expected in pip.get(path, ())}))
        if states[path] == "missing":  # pip's uninstall removed the files of a conda package it replaced
            excused = [n for n in names if n in gone_dists]
            names = [n for n in names if n not in gone_dists]
            if not names and not pips:
                for name in excused:
                    missed[name] = missed.get(name, 0) + 1
                continue
        found[path] = FileFinding(states[path], tuple(names), pips)
    return CondaFiles(
        changed=found,
        shared=frozenset(path for path in wanted if path in pip),
        replaced={name: (gone_dists[name], missed.get(name, 0)) for name in sorted(gone_dists)},
    )


def mark_conda_managed(py_env: PythonEnv, raw_packages: Iterable[RawPackage], layer: CondaLayer) -> PythonEnv:
    """Set ``conda_managed`` on every Python distribution whose metadata directory a conda record lists."""
    root = os.path.realpath(layer.prefix)
    managed: set[str] = set()
    for info in raw_packages:
        if not info.dist_dir:
            continue
        rel = os.path.relpath(os.path.realpath(info.dist_dir), root)
        if rel.startswith(".."):
            continue
        if rel.replace(os.sep, "/") in layer.dist_owners:
            managed.add(info.name)
    if not managed:
        return py_env
    packages = tuple(replace(p, conda_managed=True) if p.name in managed else p for p in py_env.packages)
    return replace(py_env, packages=packages)


def _same_env(prefix: str, raw: RawPython) -> bool:
    return any(os.path.realpath(prefix) == os.path.realpath(r) for r in {raw.prefix, raw.base_prefix or raw.prefix})


def probe(ctx: ProbeContext) -> ProbeResult[CondaLayer | None]:
    """The conda layer of ``--prefix`` or of the interpreter's own environment; None when there is none."""
    raw, given = ctx.python, ctx.options.conda_prefix
    prefix = find_prefix(raw.prefix, given)
    if prefix is None:
        return ProbeResult(None)
    layer = probe_conda(prefix, ctx.redact)
    warnings = list(layer.warnings)
    if given is not None and ctx.options.python_layer and not _same_env(prefix, raw):
        # Allowed (a venv on a conda base, a prefix whose Python lives elsewhere), but a mixed lock must say so:
        # its Python packages are the interpreter's, not the conda environment's.
        warnings.append(
            f"conda: --prefix {ctx.redact.path(prefix)} is not the captured interpreter's environment: "
            "the Python packages are the interpreter's (to capture that environment, pass "
            "--python PREFIX/bin/python)"
        )
    return ProbeResult(layer, tuple(warnings))


class CondaProbe(Probe[CondaLayer | None]):
    name = "conda"

    def run(self, ctx: ProbeContext) -> ProbeResult[CondaLayer | None]:
        return probe(ctx)


PROBE = CondaProbe()
