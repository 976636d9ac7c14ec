"""Pack an installed distribution back into a wheel, proven file by file by its RECORD.

An installer unpacks a wheel and writes a RECORD of every file with its sha256 and size; it adds a few files of
its own (``INSTALLER``, ``REQUESTED``, ``direct_url.json``, byte-compiled ``__pycache__`` files, the launchers of
console scripts). Repacking reads every file the RECORD lists, refuses the distribution when one is missing
or differs from its recorded hash or size (an edited or half-removed install), leaves out what the installer
made, and writes a wheel with the same files and a fresh RECORD. The docker target uses it to put the exact
envsnap that is running (and its requirements) into an image, never fetching a project by name from an index.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import stat
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from packaging.tags import Tag, parse_tag
from packaging.utils import canonicalize_name

from .._frozen import frozen
from .._fs import atomic_write_bytes
from ..errors import EnvsnapError

# What installers add to a dist-info folder: not part of the wheel (PEP 376, PEP 610, PEP 627).
_INSTALLER_FILES = frozenset({"INSTALLER", "REQUESTED", "direct_url.json", "RECORD", "RECORD.jws", "RECORD.p7s"})
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the same files give the same wheel bytes


class RepackError(EnvsnapError):
    """An installed distribution cannot be packed back into the wheel it came from."""


@frozen
class Repacked:
    path: Path
    name: str  # as METADATA spells it
    version: str
    sha256: str
    tags: tuple[Tag, ...]


@frozen
class _Entry:
    arcname: str
    data: bytes
    executable: bool


def dist_info_tags(dist_info: Path) -> tuple[Tag, ...]:
    """The wheel tags an installed distribution's ``WHEEL`` file names (empty when it has none)."""
    try:
        text = (dist_info / "WHEEL").read_text(encoding="utf-8")
    except OSError:
        return ()
    found: list[Tag] = []
    for value in HeaderParser().parsestr(text).get_all("Tag") or ():
        found.extend(parse_tag(value.strip()))
    return tuple(found)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _verified(path: Path, shown: str, digest: str, size: str) -> bytes:
    algorithm, _, expected = digest.partition("=")
    if algorithm != "sha256" or not expected:
        raise RepackError(f"{shown}: its RECORD gives no sha256 for it, so it cannot be proven")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RepackError(f"{shown}: listed in RECORD but cannot be read ({exc.strerror or exc})") from None
    if _record_hash(data) != digest or (size and size != str(len(data))):
        raise RepackError(f"{shown}: differs from its RECORD (edited after installation)")
    return data


def _scripts(dist_info: Path) -> set[str]:
    """The launchers the installer wrote for entry points: made on install, not files of the wheel."""
    try:
        text = (dist_info / "entry_points.txt").read_text(encoding="utf-8")
    except OSError:
        return set()
    names: set[str] = set()
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section in ("console_scripts", "gui_scripts") and "=" in line:
            names.add(line.split("=", 1)[0].strip())
    return names


def _script_data(data: bytes, prefix: Path) -> bytes:
    """A script whose ``#!python`` line the installer rewrote to the environment's interpreter, rewritten back."""
    first, newline, rest = data.partition(b"\n")
    if first.startswith(b"#!"):
        interpreter = first[2:].strip().split(b" ", 1)[0]
        name = os.path.basename(interpreter.decode(errors="replace"))
        inside = interpreter.decode(errors="replace").startswith(str(prefix))
        if inside and re.fullmatch(r"python[0-9.]*w?", name):
            return b"#!python" + newline + rest
    return data


def _entries(dist_info: Path, prefix: Path) -> list[_Entry]:
    site = dist_info.parent
    data_dir = dist_info.name[: -len(".dist-info")] + ".data"
    try:
        with open(dist_info / "RECORD", encoding="utf-8", newline="") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except OSError as exc:
        raise RepackError(f"{dist_info}: no readable RECORD ({exc.strerror or exc})") from None
    listed = {os.path.normpath(site / row[0]) for row in rows}
    launchers = _scripts(dist_info)
    scripts = prefix / "bin"
    entries: list[_Entry] = []
    for row in rows:
        if len(row) < 2:
            raise RepackError(f"{dist_info / 'RECORD'}: a malformed row {row!r}")
        relative, digest, size = row[0], row[1], row[2] if len(row) > 2 else ""
        path = Path(os.path.normpath(site / relative))
        if path.parent == dist_info and path.name in _INSTALLER_FILES:
            continue
        if path.suffix == ".pyc" and path.parent.name == "__pycache__":
            source = path.parent.parent / (path.name.split(".", 1)[0] + ".py")
            if str(source) in listed:
                continue  # byte-compiled by the installer
        if path.is_relative_to(site):
            arcname = path.relative_to(site).as_posix()
            data = _verified(path, relative, digest, size)
        elif path.parent == scripts:
            if path.name in launchers:
                continue
            data = _script_data(_verified(path, relative, digest, size), prefix)
            arcname = f"{data_dir}/scripts/{path.name}"
        elif path.is_relative_to(prefix):
            arcname = f"{data_dir}/data/{path.relative_to(prefix).as_posix()}"
            data = _verified(path, relative, digest, size)
        else:
            raise RepackError(f"{relative}: installed outside the environment ({prefix}); cannot be packed")
        mode = path.stat().st_mode
        entries.append(_Entry(arcname, data, bool(mode & stat.S_IXUSR)))
    return entries


def _wheel_tag(tags: tuple[Tag, ...]) -> str:
    """The compressed tag set of a wheel file name (``py2.py3-none-any``)."""
    interpreters = ".".join(sorted({t.interpreter for t in tags}))
    abis = ".".join(sorted({t.abi for t in tags}))
    platforms = ".".join(sorted({t.platform for t in tags}))
    return f"{interpreters}-{abis}-{platforms}"


def repack(dist_info: Path, dest: Path, *, prefix: Path | None = None) -> Repacked:
    """Write the wheel of the distribution installed at ``dist_info`` into folder ``dest``.

    ``prefix`` is the environment's root (scripts in ``bin/``, data files below it); by default the folder
    three above ``site-packages``. Raises ``RepackError`` when a listed file is missing or changed, when the
    install is editable (its RECORD lists a pointer to a source tree, not the files), or when it has no WHEEL.
    """
    dist_info = Path(dist_info)
    site = dist_info.parent
    prefix = Path(prefix) if prefix is not None else site.parents[2]
    try:
        meta = HeaderParser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
    except OSError as exc:
        raise RepackError(f"{dist_info}: no readable METADATA ({exc.strerror or exc})") from None
    name, version = str(meta.get("Name", "")), str(meta.get("Version", ""))
    tags = dist_info_tags(dist_info)
    if not name or not version or not tags:
        raise RepackError(f"{dist_info}: not installed from a wheel (no name, version or WHEEL tags)")
    direct = dist_info / "direct_url.json"
    if direct.is_file():
        with open(direct, encoding="utf-8") as handle:
            try:
                editable = bool(json.load(handle).get("dir_info", {}).get("editable"))
            except (ValueError, AttributeError):
                editable = False
        if editable:
            raise RepackError(f"{name} {version} is an editable install: build its wheel from its source tree")
    entries = _entries(dist_info, prefix)
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for entry in sorted(entries, key=lambda e: e.arcname):
        writer.writerow([entry.arcname, _record_hash(entry.data), str(len(entry.data))])
    record_name = f"{dist_info.name}/RECORD"
    writer.writerow([record_name, "", ""])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in sorted(entries, key=lambda e: e.arcname):
            info = zipfile.ZipInfo(entry.arcname, _ZIP_TIME)
            info.external_attr = (0o755 if entry.executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.data)
        info = zipfile.ZipInfo(record_name, _ZIP_TIME)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, record.getvalue().encode())
    wheel_name = f"{canonicalize_name(name).replace('-', '_')}-{version.replace('-', '_')}-{_wheel_tag(tags)}.whl"
    data = buffer.getvalue()
    target = Path(dest) / wheel_name
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, data)
    return Repacked(target, name, version, hashlib.sha256(data).hexdigest(), tags)
