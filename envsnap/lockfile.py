"""The lockfile: the only module that touches TOML.

Snapshot <-> plain dict <-> TOML. Reading validates every field against the model and names the dotted path
of a bad one; the schema version is checked (older versions are migrated, newer ones refused); the content
digest is recomputed and compared; writing is atomic.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from ._defaults import LOCK_NAME
from ._fs import atomic_write_text
from ._toml import tomllib
from .errors import LockfileError
from .model import (
    SCHEMA_VERSION,
    Artifact,
    Candidate,
    CondaPackage,
    CudaLibrary,
    Framework,
    Gpu,
    PythonPackage,
    Snapshot,
    Source,
    SystemLibrary,
    SystemPackage,
)

DEFAULT_NAME = LOCK_NAME

# Records that repeat hundreds of times: fields equal to their default are left out to keep the file
# readable. Top-level tables are always written in full.
_SPARSE: frozenset[type] = frozenset(
    {Artifact, Candidate, CondaPackage, CudaLibrary, Framework, Gpu, PythonPackage, Source, SystemLibrary,
     SystemPackage}
)

# schema version N -> function turning an N document into an N+1 document.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------- to dict


def to_dict(obj: Any) -> Any:
    """The plain-data form of a model object (what TOML and JSON hold)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for name, default in _field_defaults(type(obj)):
            value = getattr(obj, name)
            if value is None or (default is not _KEEP and value == default):
                continue
            out[name] = to_dict(value)
        return out
    if isinstance(obj, Mapping):
        return {str(k): to_dict(v) for k, v in sorted(obj.items())}
    if isinstance(obj, (tuple, list)):
        return [to_dict(v) for v in obj]
    return obj


_KEEP = object()  # marks a field that is always written


@functools.cache
def _field_defaults(cls: type) -> tuple[tuple[str, Any], ...]:
    """(name, default) per field; the default is _KEEP where the field is always written."""
    out = []
    for f in dataclasses.fields(cls):
        # A field marked sparse in the model is left out at its default even in a table written in full.
        sparse = cls in _SPARSE or bool(f.metadata.get("sparse"))
        default: Any = _KEEP
        if sparse and f.default is not dataclasses.MISSING:
            default = f.default
        elif sparse and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        out.append((f.name, default))
    return tuple(out)


def canonical_digest(data: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a lock document, leaving out ``created`` and the digest itself."""
    doc = dict(data)
    meta = dict(doc.get("envsnap", {}))
    meta.pop("created", None)
    meta.pop("content_digest", None)
    doc["envsnap"] = meta
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def seal(snapshot: Snapshot) -> Snapshot:
    """The snapshot with its ``content_digest`` filled in."""
    digest = canonical_digest(to_dict(snapshot))
    return dataclasses.replace(snapshot, envsnap=dataclasses.replace(snapshot.envsnap, content_digest=digest))


def sealed_document(snapshot: Snapshot) -> dict[str, Any]:
    """The plain-data form with its content digest filled in (``to_dict(seal(s))``, converting once)."""
    data: dict[str, Any] = to_dict(snapshot)
    data["envsnap"]["content_digest"] = canonical_digest(data)
    return data


def dumps(snapshot: Snapshot) -> str:
    """The TOML text of a snapshot, sealed with its content digest. Same snapshot -> same bytes."""
    return tomli_w.dumps(sealed_document(snapshot))


def dump(snapshot: Snapshot, path: str | os.PathLike[str] = DEFAULT_NAME) -> Path:
    """Write a lockfile atomically: an existing file is only ever replaced by a complete one."""
    target = Path(path)
    try:
        atomic_write_text(target, dumps(snapshot))
    except OSError as exc:
        raise LockfileError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    return target


def dump_if_changed(snapshot: Snapshot, path: str | os.PathLike[str] = DEFAULT_NAME) -> bool:
    """Write the lockfile unless ``path`` already holds a valid lock with the same content digest.

    Returns False when the file was left untouched (same bytes, same ``created``, same mtime): re-capturing an
    unchanged environment must not look like a change to make, DVC or git. A file that is missing, unreadable
    or not a valid lock is replaced, as ``dump`` does."""
    try:
        existing = load(path)
    except LockfileError:
        existing = None
    if existing is not None and canonical_digest(to_dict(existing)) == canonical_digest(to_dict(snapshot)):
        return False
    dump(snapshot, path)
    return True


# -------------------------------------------------------------------------------------------- from dict


def loads(text: str, *, origin: str = "<string>", check_digest: bool = True) -> Snapshot:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockfileError(f"{origin}: not valid TOML: {exc}") from exc
    return from_document(data, origin=origin, check_digest=check_digest)


def load(path: str | os.PathLike[str], *, check_digest: bool = True) -> Snapshot:
    """Read and validate a lockfile. Errors name the file and the dotted path of the bad field."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise LockfileError(f"{p}: no such lockfile") from None
    except IsADirectoryError:
        raise LockfileError(f"{p}: is a directory, not a lockfile") from None
    except OSError as exc:
        raise LockfileError(f"{p}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LockfileError(f"{p}: not a text file (expected a TOML lockfile)") from None
    return loads(text, origin=str(p), check_digest=check_digest)


def from_document(data: Mapping[str, Any], *, origin: str = "<data>", check_digest: bool = True) -> Snapshot:
    meta = data.get("envsnap")
    if not isinstance(meta, Mapping):
        raise LockfileError(f"{origin}: envsnap: missing table (is this an envsnap lockfile?)")
    version = meta.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise LockfileError(f"{origin}: envsnap.schema_version: missing or not an integer")
    if version > SCHEMA_VERSION:
        raise LockfileError(
            f"{origin}: envsnap.schema_version: {version} is newer than this envsnap understands "
            f"(<= {SCHEMA_VERSION}); upgrade envsnap"
        )
    if version < 1:
        raise LockfileError(f"{origin}: envsnap.schema_version: {version} is not a valid schema version")
    doc: dict[str, Any] = dict(data)
    migrated = False
    while version < SCHEMA_VERSION:
        doc = MIGRATIONS[version](doc)
        version += 1
        migrated = True
    snapshot = _build(Snapshot, doc, "", origin)
    _check_candidates(snapshot, origin)
    if check_digest and not migrated and snapshot.envsnap.content_digest:
        expected = canonical_digest(to_dict(snapshot))
        if expected != snapshot.envsnap.content_digest:
            raise LockfileError(
                f"{origin}: envsnap.content_digest: does not match the content "
                "(the file was edited or corrupted after capture)"
            )
    return snapshot


def _check_candidates(snapshot: Snapshot, origin: str) -> None:
    """``python.packages[].candidates`` name files to download and install: each value must match its grammar
    (a sha256, a distribution file name, a URL), or the lock is refused naming the field."""
    from . import grammar

    for i, pkg in enumerate(snapshot.python.packages):
        for j, cand in enumerate(pkg.candidates):
            where = f"python.packages[{i}].candidates[{j}]"
            for name, ok in (("sha256", grammar.is_sha256_hex(cand.sha256)),
                             ("filename", not cand.filename or grammar.is_distribution_filename(cand.filename)),
                             ("url", not cand.url or grammar.is_url(cand.url)),
                             ("index", not cand.index or grammar.is_url(cand.index)
                              or (cand.index.startswith("/") and not grammar.has_control(cand.index))),
                             ("size", grammar.is_bounded_int(cand.size))):
                if not ok:
                    raise LockfileError(f"{origin}: {where}.{name}: not a valid {name}: "
                                        f"{grammar.shown(getattr(cand, name))}")


def _where(path: str) -> str:
    return path or "(top level)"


@functools.cache
def _schema(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A model class's resolved field types and fields: resolving string annotations for each of hundreds of
    records was most of the time ``load`` took (and ``verify`` loads a lock every time)."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls)}


def _build(cls: type[T], data: Any, path: str, origin: str) -> T:
    if not isinstance(data, Mapping):
        raise LockfileError(f"{origin}: {_where(path)}: expected a table, got {_kind(data)}")
    hints, fields = _schema(typing.cast(type, cls))
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise LockfileError(f"{origin}: {_join(path, unknown[0])}: unknown field")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        sub = _join(path, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise LockfileError(f"{origin}: {sub}: required field is missing")
            continue
        kwargs[name] = _convert(hints[name], data[name], sub, origin)
    return cls(**kwargs)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a float"}.get(type(value), type(value).__name__)


def _convert(tp: Any, value: Any, path: str, origin: str) -> Any:
    origin_tp = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin_tp in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, path, origin)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, value, path, origin)
    if origin_tp is tuple:
        if not isinstance(value, list):
            raise LockfileError(f"{origin}: {path}: expected an array, got {_kind(value)}")
        return tuple(_convert(args[0], item, _join(path, i), origin) for i, item in enumerate(value))
    if origin_tp in (Mapping, dict, typing.Mapping):
        if not isinstance(value, Mapping):
            raise LockfileError(f"{origin}: {path}: expected a table, got {_kind(value)}")
        return types.MappingProxyType(
            {str(k): _convert(args[1], v, _join(path, str(k)), origin) for k, v in sorted(value.items())}
        )
    if tp is bool:
        if not isinstance(value, bool):
            raise LockfileError(f"{origin}: {path}: expected a boolean, got {_kind(value)}")
        return value
    if tp is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise LockfileError(f"{origin}: {path}: expected an integer, got {_kind(value)}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise LockfileError(f"{origin}: {path}: expected a string, got {_kind(value)}")
        return value
    raise TypeError(f"unsupported model type {tp!r} at {path}")  # a bug in the model, not in the file
