"""The lockfile: the only module that touches TOML.

Snapshot <-> plain dict <-> TOML. Reading validates every field against the model and names the dotted path
of a bad one; the schema version is checked (older versions are migrated, newer ones refused); the content
digest is recomputed and compared; writing is atomic.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import operator
import os
import sys
import threading
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from . import _gcpause, _lockcache, _locktext, _readlimits, grammar
from ._defaults import LOCK_NAME
from ._frozen import frozen
from .errors import LockfileError, LockTooLargeError, NotALockfileError
from .model import (
    SCHEMA_VERSION,
    Artifact,
    Candidate,
    Conda,
    CondaPackage,
    Cpu,
    Cuda,
    CudaLibrary,
    Framework,
    Gpu,
    Hardware,
    Meta,
    Nvidia,
    Platform,
    Project,
    PthFolder,
    PythonEnv,
    PythonPackage,
    Snapshot,
    Source,
    System,
    SystemLibrary,
    SystemPackage,
)

DEFAULT_NAME = LOCK_NAME

# Records that repeat hundreds of times: fields equal to their default are left out to keep the file
# readable. Top-level tables are always written in full.
_SPARSE: frozenset[type] = frozenset(
    {
        Artifact,
        Candidate,
        CondaPackage,
        CudaLibrary,
        Framework,
        Gpu,
        PythonPackage,
        Source,
        SystemLibrary,
        SystemPackage,
    }
)

# schema version N -> function turning an N document into an N+1 document.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------- to dict


def to_dict(obj: Any) -> Any:
    """The plain-data form of a model object (what TOML and JSON hold)."""
    kind = type(obj)
    # The values a lock holds most (some 7,000 in a 160-distribution lock) first, by their exact type: the checks
    # below (``is_dataclass``, the ``Mapping`` ABC) cost a tenth of writing a lock. The same answers.
    if kind is str or kind is int or kind is bool or obj is None:
        return obj
    if kind is tuple or kind is list:
        return [to_dict(v) for v in obj]
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


def json_digest(doc: Mapping[str, Any]) -> str:
    """``sha256:`` of the canonical JSON of a document (sorted keys, no spaces, UTF-8): the one content
    digest of a lock and of a run record."""
    # The same bytes as ``json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` hashed at
    # once, written and hashed a piece at a time: the text of a 5,000-distribution lock never exists whole. Its
    # 2.7 MB and the encoder's pieces of it were 10 MB of fresh memory, a quarter of a fresh process's 0.027 s
    # spent on page faults; in pieces it is 0.020 s. tests/test_lockfile.py checks the bytes against the definition.
    digest = hashlib.sha256()
    for piece in _canonical_pieces(doc, 0):
        digest.update(piece.encode("utf-8"))
    return "sha256:" + digest.hexdigest()


# No check for cycles: a document is a parser's output or to_dict's, which hold none (0.002 s of 0.016 s).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False).encode
_PIECE_ITEMS = 256  # items of a long array written at once
_PIECE_DEPTH = 3  # tables below this depth are written whole


def _canonical_pieces(value: Any, depth: int) -> typing.Iterator[str]:
    """The canonical JSON of ``value`` in pieces: a table of text keys near the top key by key, in sorted order,
    a long array ``_PIECE_ITEMS`` items at a time, and anything else whole. Joined, the pieces are exactly the
    JSON of ``value`` written at once (and a value json refuses raises json's error, as it did)."""
    if type(value) is dict and depth < _PIECE_DEPTH and all(type(key) is str for key in value):
        yield "{"
        for i, key in enumerate(sorted(value)):
            yield ("," if i else "") + _CANONICAL(key) + ":"
            yield from _canonical_pieces(value[key], depth + 1)
        yield "}"
    elif type(value) is list and len(value) > _PIECE_ITEMS:
        yield "["
        for start in range(0, len(value), _PIECE_ITEMS):
            yield ("," if start else "") + _CANONICAL(value[start : start + _PIECE_ITEMS])[1:-1]
        yield "]"
    else:
        yield _CANONICAL(value)


def canonical_digest(data: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a lock document, leaving out ``created`` and the digest itself."""
    doc = dict(data)
    meta = dict(doc.get("envsnap", {}))
    meta.pop("created", None)
    meta.pop("content_digest", None)
    doc["envsnap"] = meta
    return _lock_digest(doc)


# What ``pin`` and ``bundle`` add to a lock without changing the environment it describes: where each file comes
# from and its hashes (a package's ``artifact``, a system package's .deb), their ``pin:`` notes, the locks it was
# pinned or made from. ``identity_digest`` leaves these out (docs/lockfile.md, "The environment's identity").
PIN_NOTE = "pin: "
# The definition of ``identity_digest`` an identity kept in a cache was computed by (the run cache keeps a lock's):
# raised with each change to what it leaves out or reads back, so that an identity of another is computed again.
# 1: as ``lock_identity`` came; 2: the warnings (but pin's notes) read as a set, in no order.
IDENTITY_FORM = 2
_DEB_FIELDS = ("filename", "size", "sha256", "url")


def is_folder_url(url: str, kinds: tuple[str, ...]) -> bool:
    """``envsnap.moved_from``/``moved_to``: a ``file:`` URL of a folder below one of ``kinds`` of root (``project``,
    ``home``, ``absolute``), no ``..``, ``.`` or empty part, no host, query or fragment, and not the root itself."""
    from .fileurls import HOME, PROJECT, decoded_path

    roots = {"project": f"file://{PROJECT}/", "home": f"file://{HOME}/", "absolute": "file:///"}
    if not url.startswith(tuple(roots[k] for k in kinds)) or not grammar.is_lock_url(url) or "?" in url or "#" in url:
        return False
    path = decoded_path(url)
    parts = path.split("/")[1:]  # below the label, or the root of an absolute path
    return bool(parts) and all(part not in ("", ".", "..") for part in parts)


def is_relative_folder(path: str) -> bool:
    """``envsnap.moved_to``: a relative folder path (``sub``, ``a/b``), ``/``-separated, no ``..``, ``.`` or empty part,
    no control character or backslash: where the lock lies below the folder it was moved from, not a place of its own
    (a ``file://{project}/...`` URL would read as under this lock's folder)."""
    return (
        bool(path)
        and not grammar.has_control(path)
        and "\\" not in path
        and all(part not in ("", ".", "..") for part in path.split("/"))
    )


def _unmoved(meta: Mapping[str, Any]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """The inverse of ``pin -o``'s move (``envsnap.moved_from``, ``moved_to``), for a URL and for a warning's text:
    a place under the folder the lock was moved from is written under ``{project}`` again, and one under this lock's
    own ``{project}`` under the folder it is in that lock (``moved_to``). Identity where the lock was not moved."""
    moved_from, moved_to = meta.get("moved_from"), meta.get("moved_to")
    if not isinstance(moved_from, str) or not moved_from:
        return (lambda v: v), (lambda v: v)
    import re

    from .fileurls import PROJECT, decoded_path, path_url

    project = "file://" + PROJECT
    prefixes = {moved_from: project}
    if isinstance(moved_to, str) and moved_to:
        prefixes[project] = path_url(moved_to)

    def url(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        for new, old in prefixes.items():  # the folder moved from first: ``{project}/q`` where it lay in this one
            if value == new or value.startswith((new + "/", new + "#")):
                return old + value[len(new) :]
        return value

    texts = {decoded_path(new) + "/": decoded_path(old) + "/" for new, old in prefixes.items()}
    pattern = re.compile("|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True)))

    def text(value: Any) -> Any:
        return pattern.sub(lambda m: texts[m.group(0)], value) if isinstance(value, str) else value

    return url, text


def identity_digest(data: Mapping[str, Any]) -> str:
    """``sha256:`` of the canonical JSON of a lock document without what pinning adds (above): the same for a lock
    and the lock ``pin`` or ``bundle`` made of it, another for a lock with any other change (a version, a source,
    the system, a GPU). A run record keeps it (``environment.lock_identity``) to know its lock once pinned."""
    doc = dict(data)
    left_out = ("created", "content_digest", "made_from", "pinned_from", "moved_from", "moved_to")
    url, text = _unmoved(doc.get("envsnap", {}))
    meta = {k: v for k, v in doc.get("envsnap", {}).items() if k not in left_out}
    # A set, in no order: an import writes its notes in the file's order, and pin (its system layer) sorts them.
    notes = sorted({text(w) for w in meta.get("warnings", ()) if isinstance(w, str) and not w.startswith(PIN_NOTE)})
    meta.pop("warnings", None)
    if notes:
        meta["warnings"] = notes
    doc["envsnap"] = meta
    python = doc.get("python")
    if isinstance(python, Mapping) and isinstance(python.get("packages"), list):
        doc["python"] = {**python, "packages": [_unpinned(p, url) for p in python["packages"]]}
    conda = doc.get("conda")
    if isinstance(conda, Mapping):  # its channels and archives, as pin -o moves them
        conda = dict(conda)
        if isinstance(conda.get("channels"), list):
            conda["channels"] = [url(c) for c in conda["channels"]]
        if isinstance(conda.get("packages"), list):
            conda["packages"] = [
                {k: url(v) if k in ("url", "channel") else v for k, v in c.items()} if isinstance(c, Mapping) else c
                for c in conda["packages"]
            ]
        doc["conda"] = conda
    system = doc.get("system")
    if isinstance(system, Mapping) and isinstance(system.get("packages"), list):
        debs = [{k: v for k, v in p.items() if k not in _DEB_FIELDS} for p in system["packages"]]
        doc["system"] = {**system, "packages": debs}
    return _lock_digest(doc)


def _unpinned(package: Any, url: Callable[[Any], Any] = lambda v: v) -> Any:
    """A ``python.packages`` entry as it was before pinning: without its ``artifact``, and without the version
    ``bundle`` learned from the wheel it built where the lock had none (``artifact.version_from_build``: the
    version of that wheel's file name, and only of a wheel the bundle built). A version is honoured as learned only
    where the artifact says so and agrees: such a lock matches only a lock that did not know the version, so the
    mark cannot stand for another version of one that did."""
    if not isinstance(package, Mapping):
        return package
    out = {k: v for k, v in package.items() if k != "artifact"}
    # The places ``pin -o`` rewrote for a move (``_unmoved``): its source, every candidate file's URL and index.
    source = out.get("source")
    if isinstance(source, Mapping) and "url" in source:
        out["source"] = {**source, "url": url(source["url"])}
    candidates = out.get("candidates")
    if isinstance(candidates, list):
        out["candidates"] = [
            {k: url(v) if k in ("url", "index") else v for k, v in c.items()} if isinstance(c, Mapping) else c
            for c in candidates
        ]
    artifact = package.get("artifact")
    if (
        isinstance(artifact, Mapping)
        and artifact.get("version_from_build") is True
        and artifact.get("rebuilt") is True
        and isinstance(artifact.get("filename"), str)
        and out.get("version")
    ):
        from packaging.utils import InvalidWheelFilename, parse_wheel_filename

        try:
            built = str(parse_wheel_filename(artifact["filename"])[1])
        except InvalidWheelFilename:
            built = ""
        if built == out["version"]:
            out["version"] = ""
    return out


def _lock_digest(doc: dict[str, Any]) -> str:
    """``json_digest(doc)`` for a lock document, its canonical JSON written by orjson where it is installed and the
    lock large enough to pay for its import (``ORJSON_FROM``).

    For a document of text, integers within 64 bits, booleans, arrays and tables of text keys, orjson writes the
    bytes ``json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` gives (json's escapes; keys
    sorted by their UTF-8, which is code point order), in a fifth of the time: the seal is checked at every load of
    a lock, twice in a diff (docs/design.md, "Dependencies and why"). A larger integer, a key that is not text, a
    subclass of a JSON type, a dataclass or a date is refused by it and goes to json, whose digest or refusal it
    is, as before. It writes floats its own way, and an enum or a UUID where json refuses them: none is in a lock
    document, a TOML text's checked tables or ``to_dict``'s of the model, which has no such field (tests/
    test_lockfile.py holds that), so the run record's digest, whose document has floats, stays json's alone."""
    dumps = _orjson_dumps() if _orjson_pays(doc) else None
    if dumps is not None:
        try:
            blob = dumps(doc)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            pass
        else:
            return "sha256:" + hashlib.sha256(blob).hexdigest()
    return json_digest(doc)


# Records of a lock from which orjson's seal pays for its import: orjson imports datetime, uuid and platform (about
# 3 ms), and saves about 3 us a distribution (json's 4 against its 1); a lock of 180 distributions and 800 system
# packages is sealed by json in 1.3 ms. Once imported, it is used for every lock.
ORJSON_FROM = 1000


def _orjson_pays(doc: Mapping[str, Any]) -> bool:
    if "orjson" in sys.modules:
        return True
    count = 0
    for table, key in (("python", "packages"), ("conda", "packages")):
        section = doc.get(table)
        rows = section.get(key) if isinstance(section, dict) else None
        count += len(rows) if isinstance(rows, list) else 0
    return count >= ORJSON_FROM


@functools.cache
def _orjson_dumps() -> Callable[[Any], bytes] | None:
    """orjson's ``dumps`` with the options that make it json's canonical form (sorted keys; a dataclass, a date and
    a subclass of a JSON type refused, so that json decides those), or None where orjson is not installed (a
    platform without its wheel: PyPy, an install with ``--no-deps``)."""
    try:
        import orjson
    except ImportError:
        return None
    options = (
        orjson.OPT_SORT_KEYS
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_SUBCLASS
    )
    return functools.partial(orjson.dumps, option=options)


def seal(snapshot: Snapshot) -> Snapshot:
    """The snapshot with its ``content_digest`` filled in."""
    digest = canonical_digest(to_dict(snapshot))
    return dataclasses.replace(snapshot, envsnap=dataclasses.replace(snapshot.envsnap, content_digest=digest))


def sealed_document(snapshot: Snapshot) -> dict[str, Any]:
    """The plain-data form with its content digest filled in (``to_dict(seal(s))``, converting once)."""
    data: dict[str, Any] = to_dict(snapshot)
    data["envsnap"]["content_digest"] = canonical_digest(data)
    return data


# What the line of a lock ``_loadable`` refuses names, where no file is given (standard output, a size estimate).
WRITTEN = "the lock"
_WRITING = "<lock being written>"


def dumps(snapshot: Snapshot, *, where: str = WRITTEN) -> str:
    """The TOML text of a snapshot, sealed with its content digest. Same snapshot -> same bytes.

    ``LockfileError`` where ``load`` would refuse the text (``_loadable``); ``where``: what its line names."""
    from . import _tomlwrite  # here, not at import: a load (diff, verify) writes no TOML

    return _readable(_tomlwrite.dumps(_loadable(sealed_document(snapshot), where)))


def dumps_sealed(snapshot: Snapshot, *, where: str = WRITTEN) -> tuple[str, str]:
    """``dumps`` and the content digest it seals the text with (converting once)."""
    data = _loadable(sealed_document(snapshot), where)
    from . import _tomlwrite

    return _readable(_tomlwrite.dumps(data)), str(data["envsnap"]["content_digest"])


def _loadable(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``data``, a sealed document about to be written, once the loader's own checks (``from_document``, every
    field's grammar, duplicates, bounds) pass it, else ``LockfileError``: one line naming ``where`` and the field,
    before anything is written. Every lock envsnap writes is made here (capture, pin, bundle, import, run): a
    distribution installed under a name the grammar refuses was captured into a lock that every command then
    refused. Its digest is not checked again: it was computed from ``data`` just now. About 4 ms for a lock of 150
    distributions and 800 system packages, a third of writing it (docs/design.md, "Writing is checked as reading
    is")."""
    try:
        with _gcpause.paused():
            _checked(*_migrated(data, _WRITING), origin=_WRITING, check_digest=False)  # from_document's checks
    except LockfileError as exc:
        said = str(exc).removeprefix(f"{_WRITING}: ")
        raise LockfileError(f"{where}: not written: {said} (envsnap would refuse the lock when reading it)") from None
    return data


def _readable(text: str) -> str:
    """``text``, a lock's, where envsnap can read it back: ``LockTooLargeError`` where it is over the size limit of a
    lock read (``ENVSNAP_MAX_LOCK_BYTES``). Every lock envsnap writes, to a file or to standard output, is made here
    (import, capture, pin, bundle): a requirements file of 150,000 hashes was imported into a 21 MB lock that every
    command then refused."""
    size = _readlimits.over_limit(text, error=LockfileError)
    if size:
        cap = _readlimits.max_input_bytes(LockfileError)
        raise LockTooLargeError(_readlimits.too_large("the lock", size, cap), size, cap)
    return text


def dump(snapshot: Snapshot, path: str | os.PathLike[str] = DEFAULT_NAME) -> Path:
    """Write a lockfile atomically: an existing file is only ever replaced by a complete one."""
    return _write(dumps(snapshot, where=str(path)), Path(path))


def write_text(text: str, path: str | os.PathLike[str] = DEFAULT_NAME, *, make_folders: bool = True) -> Path:
    """Write a lockfile's text (``dumps``) atomically; missing folders are made unless ``make_folders`` is False."""
    return _locktext.write(text, Path(path), make_folders=make_folders)


def _write(text: str, target: Path) -> Path:
    return _locktext.write(text, target)


def check_writable(path: str | os.PathLike[str]) -> None:
    """``LockfileError``, as ``dump`` would raise it, when ``path`` surely cannot be written; nothing is made (a
    command asks before its long work: ``pin`` before its downloads)."""
    _locktext.check_writable(path)


def dump_if_changed(
    snapshot: Snapshot, path: str | os.PathLike[str] = DEFAULT_NAME, *, text: str | None = None
) -> bool:
    """Write the lockfile unless ``path`` already holds a valid lock with the same content digest (``kept_lock``):
    True when it was written."""
    return kept_lock(snapshot, path, text=text) is None


def kept_lock(
    snapshot: Snapshot,
    path: str | os.PathLike[str] = DEFAULT_NAME,
    *,
    text: str | None = None,
    pinned_kept: bool = False,
    alike: Callable[[Snapshot, Snapshot], Snapshot] | None = None,
) -> str | None:
    """Write the lockfile unless ``path`` already holds a valid lock with the same content digest; None when it was
    written, else the content digest of the lock left there (``""``: the snapshot's own). With ``pinned_kept`` (a
    capture without ``--pin``), a lock of the same environment pinned (``identity_digest``: what ``pin`` and
    ``bundle`` add left out) is left there too: a re-capture wrote the unpinned lock over it, its files gone.
    ``alike(existing, snapshot)``: the snapshot as it compares with the lock there (a capture's: with that lock's
    project commit where the commits since change only envsnap's files, the lock committed after its capture).

    Returns False when the file was left untouched (same bytes, same ``created``, same mtime): re-capturing an
    unchanged environment must not look like a change to make, DVC or git. A file that is missing, unreadable
    or not a valid lock is replaced, as ``dump`` does.

    The file is first compared as text: when it is the new lock's text but for a valid ``created``, it is the
    same lock (the text of a valid lock, sealed with the same digest) without parsing it, which cost a
    re-capture a third of its time. Any other text is parsed, so a lock written with other formatting but the
    same content is still left as it is. ``text``: the snapshot's ``dumps``, when the caller has it already."""
    if text is None:
        text = dumps(snapshot, where=str(path))
    try:
        raw = _readlimits.read_bytes(Path(path), error=LockfileError, what="lockfile")
    except LockfileError:
        raw = b""
    try:
        if raw and _locktext.same_but_created(raw.decode("utf-8"), text):
            return ""
        existing = load(path) if raw else None
    except (LockfileError, UnicodeDecodeError):
        existing = None
    if existing is not None:
        old, new = to_dict(existing), to_dict(snapshot if alike is None else alike(existing, snapshot))
        if canonical_digest(old) == canonical_digest(new):
            return ""
        if pinned_kept and identity_digest(old) == identity_digest(new):
            return existing.envsnap.content_digest or canonical_digest(old)
    _write(text, Path(path))
    return None


# -------------------------------------------------------------------------------------------- from dict


def loads(text: str, *, origin: str = "<string>", check_digest: bool = True, keep: bool = True) -> Snapshot:
    """Parse and validate lock text: its shape is checked before ``tomllib`` sees it (docs/security.md).

    The same text is parsed once per process: a rebuild read the same bundle lock three times (its plan, its
    execution, its installer), 0.1-0.4 s each for a large lock. The memo is keyed by the exact text, the digest
    check and the size limit in force, whatever file it was read from: a rebuild of a bundle's own lock (``rebuild
    B/envsnap.lock --bundle B``, or a lock the bundle copied byte for byte) reads one text under two names, and the
    model was built twice. A snapshot is immutable and holds nothing of its origin, which only errors name, so
    sharing it is safe; a text that failed is never remembered, and fails again naming where it was read this
    time. ``keep``: also keep the parsed document in the parsed-lock cache for the next process (``diff`` keeps
    its own view of a lock instead: ``compare/diff.py``)."""
    _ORIGIN.name = origin
    return _loads_once(text, check_digest, _readlimits.max_input_bytes(LockfileError), keep)


# The origin of the text ``_loads_once`` is reading (this thread's ``loads``): named in its errors, not in its key.
_ORIGIN = threading.local()


@functools.lru_cache(maxsize=4)
def _loads_once(text: str, check_digest: bool, _limit: int, keep: bool = True) -> Snapshot:
    origin: str = getattr(_ORIGIN, "name", "<string>")
    # Across processes, a text that loaded before is read from the parsed-lock cache (envsnap/_lockcache.py):
    # its document was checked then, and only the model is built from it again.
    name = _lockcache.key(text, check_digest=check_digest) if _lockcache.enabled() else ""
    cached = _lockcache.get(name) if name else None
    if cached is not None:
        try:
            return _trusted(Snapshot, _migrated(cached, origin)[0])
        except (LockfileError, TypeError, ValueError, AttributeError, KeyError):
            pass  # an entry that is not a lock's document (garbage written over it) is a miss
    with _gcpause.paused():  # some 100,000 containers for a large lock, none in a cycle
        try:
            data = _readlimits.load_toml(text, origin=origin, error=LockfileError)
        except LockfileError as exc:
            raise NotALockfileError(_not_toml(text, origin, str(exc)), origin) from None
        try:
            snapshot = from_document(data, origin=origin, check_digest=check_digest)
        except NotALockfileError as exc:  # TOML without an [envsnap] table: an empty file, a pyproject.toml ...
            raise NotALockfileError(_no_table(text, data, origin, str(exc)), origin) from None
    if name and keep:
        _lockcache.put(name, data)
    return snapshot


# What a file given as a lock reads as, by its name's ending, where that is no TOML.
_KINDS_BY_SUFFIX = {
    ".md": "a Markdown file",
    ".markdown": "a Markdown file",
    ".rst": "a reStructuredText file",
    ".txt": "a text file",
    ".json": "a JSON file",
    ".yml": "a YAML file",
    ".yaml": "a YAML file",
    ".py": "a Python file",
    ".sh": "a shell script",
    ".html": "an HTML file",
    ".xml": "an XML file",
    ".cff": "a CITATION.cff (YAML) file",
    ".bib": "a BibTeX file",
    ".tex": "a LaTeX file",
    ".cfg": "an INI file",
    ".ini": "an INI file",
}


def _not_toml(text: str, origin: str, error: str) -> str:
    """The line for a text given as a lock that is no TOML. A lock with a TOML error (a hand edit: it has its
    ``[envsnap]`` table or a ``.toml``/``.lock`` name) keeps the parser's line and column alone; any other file (a
    bundle's README.md, a CITATION.cff, a JSON report) is said to be what it looks like, and the lock to give instead
    is named: the ``envsnap.lock`` beside it where there is one (a bundle's), else the file capture writes."""
    import re

    path = _named_file(origin)
    if path is None:
        return error
    suffix = path.suffix.lower()
    a_lock = re.search(r"^[ \t]*\[[ \t]*envsnap[ \t]*\]", text, re.MULTILINE) or "schema_version" in text
    if a_lock or suffix in (".toml", ".lock") or path.name == LOCK_NAME:
        return error
    start = text.lstrip()[:1]
    kind = _KINDS_BY_SUFFIX.get(suffix) or (
        "a JSON file"
        if start == "{"
        else "an HTML or XML file"
        if start == "<"
        else "a YAML file"
        if text.lstrip().startswith("---")
        else "a script"
        if text.startswith("#!")
        else "a file that is no TOML"
    )
    # The parser's complaint, without the file name it repeats.
    why = error[len(origin) + 2 :] if error.startswith(f"{origin}: ") else error
    return f"{origin}: {kind}, not an envsnap lock ({why}); {_instead(path)}"


# What ``envsnap run`` writes in its record's ``run.kind`` (``runs.record``): a record given as a lock is named so.
RUN_RECORD_KIND = _locktext.RUN_RECORD_KIND

# uv's lock holds every platform's resolution, which envsnap imports once uv writes it as a PEP 751 file.
UV_EXPORT = "uv export --format pylock.toml -o pylock.toml"
# Poetry's lock, once its export plug-in writes it as a requirements file.
POETRY_EXPORT = "poetry export -f requirements.txt -o requirements.txt in its project (the poetry-plugin-export)"


def _no_table(text: str, data: Mapping[str, Any], origin: str, error: str) -> str:
    """The line for a TOML text given as a lock without an ``[envsnap]`` table. A lock that lost its table (it has
    the lock's other tables) keeps the loader's line; any other file the user named is said to be what it is (an
    empty file, a pyproject.toml, uv's or Poetry's lock) with what to give instead. Another tool's lock that ``envsnap
    import`` reads (a pylock.toml) is named with its import by the command line, which knows the importers."""
    path = _named_file(origin)
    run = data.get("run")
    if path is not None and isinstance(run, Mapping) and run.get("kind") == RUN_RECORD_KIND:
        return (
            f"{origin}: an envsnap run record, not an envsnap lock; read it with envsnap show or envsnap rerun, or "
            "give the lock the run used instead (its environment.lock)"
        )
    fleet = data.get("fleet")
    if path is not None and isinstance(fleet, Mapping) and "format_version" in fleet and "nodes" in data:
        # ``fleet capture``'s file (envsnap/fleet/fleetfile.py), given where a lock belongs (fleet check's LOCK).
        return (
            f"{origin}: an envsnap fleet capture (FLEET.toml, as envsnap fleet capture writes it), not an envsnap "
            "lock; compare two of them with envsnap fleet diff OLD NEW, or give the lock the nodes should run"
        )
    # A lock's own tables (``project`` aside, which a pyproject.toml has too): a lock that lost its header.
    if path is None or any(f.name in data for f in dataclasses.fields(Snapshot) if f.name != "project"):
        return error
    name = path.name.lower()
    meta = data.get("metadata")
    if not text.strip():
        return f"{origin}: an empty file, not an envsnap lock; {_instead(path)}"
    if name == "uv.lock" or ("requires-python" in data and isinstance(data.get("package"), list)):
        return (
            f"{origin}: uv's lock (uv.lock), not an envsnap lock; make one of it: {UV_EXPORT} in its project, "
            "then envsnap import pylock.toml, and give the lock that writes"
        )
    if name == "poetry.lock" or (isinstance(meta, Mapping) and "content-hash" in meta and "lock-version" in meta):
        return (
            f"{origin}: Poetry's lock (poetry.lock), not an envsnap lock; make one of it: {POETRY_EXPORT}, then "
            "envsnap import requirements.txt, and give the lock that writes"
        )
    if name == "pyproject.toml" or "project" in data or "build-system" in data:
        kind = "a pyproject.toml (a project's metadata, not its environment)"
    else:
        kind = "a TOML file without an [envsnap] table"
    return f"{origin}: {kind}, not an envsnap lock; {_instead(path)}"


def _named_file(origin: str) -> Path | None:
    """The file ``origin`` names, None for any other origin: a node's answer (``node n1``) or a bundle archive's
    member is no file to replace."""
    return Path(origin) if origin and not origin.startswith("<") and os.path.isfile(origin) else None


def _instead(path: Path) -> str:
    """The lock to give in place of the file at ``path``: the ``envsnap.lock`` beside it where there is one (a
    bundle's), else the file capture writes."""
    beside = path.with_name(LOCK_NAME)
    if beside.is_file() and beside != path:
        return f"give the lock beside it, {beside}"
    return f"give the lock file instead: {LOCK_NAME}, as envsnap capture writes it and a bundle holds it"


def load(path: str | os.PathLike[str], *, check_digest: bool = True) -> Snapshot:
    """Read and validate a lockfile. Errors name the file and the dotted path of the bad field.

    Only a regular file of at most ``ENVSNAP_MAX_LOCK_BYTES`` is read (a FIFO or a device is refused)."""
    return loads(read_text(path), origin=str(Path(path)), check_digest=check_digest)


def read_text(path: str | os.PathLike[str]) -> str:
    """A lockfile's text, read as ``load`` reads it (a regular file within the size limit, UTF-8), unchecked."""
    return _locktext.read_text(path)


def from_checked_document(data: Mapping[str, Any]) -> Snapshot:
    """The snapshot of a document that passed every check of this envsnap's loader before (a cache entry keyed
    on the text it came from and on this code), built without checking it again. Never for untrusted data."""
    return _trusted(Snapshot, _migrated(data, "<cache>")[0])


def validate(snapshot: Snapshot, *, origin: str = "<data>") -> Snapshot:
    """``snapshot`` checked as a loaded lock would be (every field's grammar, duplicates, bounds): what an
    importer made from a foreign file passes the same boundary as a lock."""
    return from_document(to_dict(snapshot), origin=origin, check_digest=False)


def from_document(data: Mapping[str, Any], *, origin: str = "<data>", check_digest: bool = True) -> Snapshot:
    doc, migrated = _migrated(data, origin)
    return _checked(doc, migrated, origin=origin, check_digest=check_digest)


def _migrated(data: Mapping[str, Any], origin: str) -> tuple[dict[str, Any], bool]:
    """The document at the current schema version, and whether it was migrated to it."""
    meta = data.get("envsnap")
    if not isinstance(meta, Mapping):
        raise NotALockfileError(f"{origin}: envsnap: missing table (is this an envsnap lockfile?)", origin)
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
    return doc, migrated


def _checked(doc: Mapping[str, Any], migrated: bool, *, origin: str, check_digest: bool) -> Snapshot:
    """The snapshot of a current-version document, every field checked (and its digest, unless migrated).

    Checked in one pass first (``_fast``: every check of ``_build``, without the paths its errors name); a
    document that pass refuses is built again by ``_build``, which names the field at fault, so an error reads
    as it always did. A document in the form ``to_dict`` gives (what envsnap writes) is its own plain-data form,
    and its digest is computed from it without converting the snapshot back."""
    normal = [True]
    try:
        snapshot = _fast(Snapshot, doc, normal)
    except (_Refused, LockfileError):
        try:
            snapshot, normal = _build(Snapshot, doc, "", origin), [False]
        except LockfileError as exc:
            meta = doc.get("envsnap")
            generator = meta.get("generator") if isinstance(meta, Mapping) else None
            newer = newer_writer(generator) if str(exc).endswith(": unknown field") else ""
            if newer:
                raise LockfileError(f"{exc}; the lock was written by {newer}: upgrade envsnap") from None
            raise
    if check_digest and not migrated and snapshot.envsnap.content_digest:
        expected = canonical_digest(doc if normal[0] else to_dict(snapshot))
        if expected != snapshot.envsnap.content_digest:
            raise LockfileError(
                f"{origin}: envsnap.content_digest: does not match the content "
                "(the file was edited or corrupted after capture): restore the file as envsnap wrote it, or make the "
                "lock again (envsnap capture, or import)"
            )
    return snapshot


def newer_writer(generator: object) -> str:
    """``envsnap X, newer than this one (Y)`` when ``generator`` (a lock's ``envsnap.generator``, a run record's
    ``run.generator``) is an envsnap newer than this one (a field it added within the schema version is unknown
    here), else "". The generator is the file's text: only a version that parses is shown."""
    from packaging.version import InvalidVersion, Version

    from ._version import __version__

    name, _, version = generator.partition(" ") if isinstance(generator, str) else ("", "", "")
    try:
        newer = name == "envsnap" and Version(version) > Version(__version__)
    except InvalidVersion:
        return ""
    return f"envsnap {Version(version)}, newer than this one ({__version__})" if newer else ""


def _where(path: str) -> str:
    return path or "(top level)"


@functools.cache
def _schema(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A model class's resolved field types and fields: resolving string annotations for each of hundreds of
    records was most of the time ``load`` took (and ``verify`` loads a lock every time)."""
    return _hints(cls), {f.name: f for f in dataclasses.fields(cls)}


# Each annotation's text, by its module, resolved: the model's 21 records write some 150 annotations in 30 texts.
_RESOLVED: dict[tuple[str, str], Any] = {}


def _hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints(cls)`` for a model class, each annotation text evaluated once a process, in its
    module, where ``get_type_hints`` compiles and evaluates every one of them anew (2 ms of every process that
    loads a lock, before its load). A text that does not resolve in its module alone (a name from the class's own
    body) is left to ``get_type_hints``; tests/test_lockfile.py compares the two for every class of the model."""
    hints: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        namespace = getattr(sys.modules.get(base.__module__), "__dict__", {})
        # The annotations the class body wrote (``inspect.get_annotations`` would import inspect for this).
        for name, value in vars(base).get("__annotations__", {}).items():
            if isinstance(value, str):
                key = (value, base.__module__)
                if key not in _RESOLVED:
                    if value in vars(base):
                        return typing.get_type_hints(cls)
                    try:
                        _RESOLVED[key] = eval(value, namespace)
                    except NameError:
                        return typing.get_type_hints(cls)
                value = _RESOLVED[key]
            hints[name] = type(None) if value is None else value
    if not hints.keys() >= {f.name for f in dataclasses.fields(cls)}:
        return typing.get_type_hints(cls)  # annotations kept otherwise (a Python that evaluates them lazily)
    return hints


def _build(cls: type[T], data: Any, path: str, origin: str) -> T:
    if not isinstance(data, Mapping):
        raise LockfileError(f"{origin}: {_where(path)}: expected a table, got {value_kind(data)}")
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
    _check_record(cls, kwargs, path, origin)
    return cls(**kwargs)


class _Refused(Exception):
    """``_fast`` met something ``_build`` may refuse: ``_build`` decides, and names the field."""


# How _fast converts a field: (kind, argument): a scalar's type, a record's class, an array's or a table's item.
_FastSpec = tuple[str, Any]
# A field in _fast_plan: its kind and argument, its rule's test of one value and of a list (None: no rule).
_FieldPlan = tuple[str, Any, "Callable[[Any], bool] | None", "Callable[[Any], bool] | None"]


def _fast(cls: type[T], data: Any, normal: list[bool]) -> T:
    """``_build(cls, data, ...)`` for a document it accepts, in one pass: the same conversions and the same
    ``_check_record`` on the converted values, without building a path per field or calling ``__init__`` (the
    record filled as ``_trusted`` fills it). Raises ``_Refused`` or ``LockfileError`` (with no useful path) where
    ``_build`` may refuse. ``normal[0]`` is set False where ``to_dict`` of the record would differ from ``data``
    (a field at its sparse default written out, a field always written left out)."""
    if type(data) is not dict:
        raise _Refused
    specs, required, sparse, always, generic = _fast_plan(typing.cast(type, cls))
    values: dict[str, Any] = {}
    for name, value in data.items():
        spec = specs.get(name)
        if spec is None:
            raise _Refused
        kind, arg, ok, all_ok = spec
        if kind == "scalar":
            if type(value) is not arg or (ok is not None and not ok(value)):
                raise _Refused
        else:
            value = _fast_value((kind, arg), value, normal)
            if all_ok is not None and not all_ok(value):
                raise _Refused
        values[name] = value
    if not required.issubset(values):
        raise _Refused
    if normal[0] and not always.issubset(values):
        normal[0] = False
    if normal[0]:
        for name, default in sparse:
            if name in values and values[name] == default:
                normal[0] = False
                break
    if generic:  # the uniqueness of a list, the keys of a table: _check_record's own code
        _check_record(cls, values, "", "")
    record = object.__new__(cls)
    fields = record.__dict__
    fields.update(_trusted_plan(typing.cast(type, cls))[0])
    fields.update(values)
    return record


def _fast_value(spec: _FastSpec, value: Any, normal: list[bool]) -> Any:
    kind, arg = spec
    if kind == "scalar":
        if type(value) is not arg:
            raise _Refused
        return value
    if kind == "record":
        return _fast(arg, value, normal)
    if kind == "array":
        if type(value) is not list:
            raise _Refused
        if arg[0] == "scalar":
            item_type = arg[1]
            for item in value:
                if type(item) is not item_type:
                    raise _Refused
            return tuple(value)
        if arg[0] == "record" and len(value) >= _MANY:
            return _fast_many(arg[1], value, normal)
        return tuple([_fast_value(arg, item, normal) for item in value])
    if type(value) is not dict:
        raise _Refused
    return types.MappingProxyType({str(k): _fast_value(arg, v, normal) for k, v in sorted(value.items())})


# An array of at least this many records is checked a field at a time (``_fast_many``).
_MANY = 16
_ABSENT = object()


def _fast_many(cls: type[T], items: list[Any], normal: list[bool]) -> tuple[T, ...]:
    """``tuple(_fast(cls, item, normal) for item in items)``, the same records and the same refusals, checked a
    field at a time: each field's values of every record are gathered once and their types and rule tested in
    one ``map`` (5,000 packages were 60,000 turns of ``_fast``'s loop, half the time a lock's checks took).
    A class whose records have more to check than the rules (``_check_record``'s generic part) goes through
    ``_fast`` record by record."""
    specs, required, sparse, always, generic = _fast_plan(typing.cast(type, cls))
    if generic or set(map(type, items)) != {dict}:
        return tuple([_fast(cls, item, normal) for item in items])
    names: set[str] = set().union(*items)
    if not names.issubset(specs) or not required.issubset(names):
        raise _Refused
    if normal[0] and not always.issubset(names):
        normal[0] = False  # a field to_dict writes, left out of every record
    count = len(items)
    converted: list[tuple[str, list[Any]]] = []  # the fields whose values change type, each value or _ABSENT
    for name in names:
        kind, arg, _, all_ok = specs[name]
        column = list(map(dict.get, items, itertools.repeat(name, count), itertools.repeat(_ABSENT, count)))
        present = [value for value in column if value is not _ABSENT] if _ABSENT in column else column
        if len(present) < len(column) and (name in required or (normal[0] and name in always)):
            if name in required:
                raise _Refused
            normal[0] = False  # a field to_dict writes, left out
        if kind == "scalar":
            if set(map(type, present)) != {arg} or (all_ok is not None and not all_ok(present)):
                raise _Refused
            values = present
        elif kind == "array" and arg[0] == "scalar":
            if set(map(type, present)) != {list}:
                raise _Refused
            flat = list(itertools.chain.from_iterable(present))
            if flat and (set(map(type, flat)) != {arg[1]} or (all_ok is not None and not all_ok(flat))):
                raise _Refused
            values = list(map(tuple, present))
        else:
            values = (
                list(_fast_many(arg, present, normal))
                if kind == "record" and len(present) >= _MANY
                else [_fast_value((kind, arg), value, normal) for value in present]
            )
            if all_ok is not None and not all(map(all_ok, values)):
                raise _Refused
        if normal[0]:
            for field, default in sparse:
                if field == name and default in values:
                    normal[0] = False  # a field at its sparse default, written out
        if kind != "scalar":
            if len(present) < len(column):
                it = iter(values)
                values = [value if value is _ABSENT else next(it) for value in column]
            converted.append((name, values))
    defaults = _trusted_plan(typing.cast(type, cls))[0]
    records = []
    new = object.__new__
    for i, item in enumerate(items):
        record = new(cls)
        fields = record.__dict__
        fields.update(defaults)
        fields.update(item)
        for name, values in converted:
            value = values[i]
            if value is not _ABSENT:
                fields[name] = value
        records.append(record)
    return tuple(records)


@functools.cache
def _fast_spec(tp: Any) -> _FastSpec:
    kind, inner = _shape(tp)
    return (kind, inner if kind in ("scalar", "record") else _fast_spec(inner))


@functools.cache
def _fast_plan(
    cls: type,
) -> tuple[
    dict[str, _FieldPlan],
    frozenset[str],
    tuple[tuple[str, Any], ...],
    frozenset[str],
    bool,
]:
    """A record class's fields (how each converts, and the rule its value or each of its items must pass, as
    ``_check_record`` applies ``RULES``), its required fields, its sparse fields with their defaults (``to_dict``
    leaves them out at the default), the fields ``to_dict`` writes even when the document leaves them out, and
    whether ``_check_record`` has more to check than the rules (a list's uniqueness, a table's keys)."""
    hints, fields = _schema(cls)
    rules = RULES.get(cls, {})
    specs: dict[str, _FieldPlan] = {}
    for name in fields:
        kind, arg = _fast_spec(hints[name])
        rule = rules.get(name)
        # _check_record applies a rule to a scalar and to each item of an array, never to a record or a table.
        if rule is not None and kind in ("scalar", "array"):
            specs[name] = (kind, arg, rule.ok, rule.all_ok)
        else:
            specs[name] = (kind, arg, None, None)
    required = frozenset(
        name
        for name, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    defaults = _trusted_plan(cls)[0]
    sparse = tuple((name, d) for name, d in _field_defaults(cls) if d is not _KEEP)
    always = frozenset(name for name, d in _field_defaults(cls) if d is _KEEP and defaults.get(name) is not None)
    generic = cls is Snapshot or any(owner is cls for owner, _ in UNIQUE)
    return specs, required, sparse, always, generic


def _trusted(cls: type[T], data: Mapping[str, Any]) -> T:
    """The record of a document that passed every check of ``_build`` before (a parsed-lock cache entry): the
    same conversion, without the checks and the paths for their errors. The record's fields are filled in as
    ``copy`` and ``pickle`` fill them, without calling ``__init__`` (a third of the time, for 5,000 packages)."""
    defaults, converters = _trusted_plan(typing.cast(type, cls))
    values = dict(data)
    for name, convert in converters:
        if name in values:
            values[name] = convert(values[name])
    record = object.__new__(cls)
    fields = record.__dict__
    fields.update(defaults)
    fields.update(values)
    return record


@functools.cache
def _trusted_plan(cls: type) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[Any], Any]], ...]]:
    """A record class's defaults and the converters of its fields that are not scalars."""
    # Filling __dict__ skips what __init__ would do beyond setting the fields: the model has none of it.
    assert not hasattr(cls, "__post_init__") and not hasattr(cls, "__slots__"), cls
    hints, fields = _schema(cls)
    defaults: dict[str, Any] = {}
    for name, f in fields.items():
        if f.default is not dataclasses.MISSING:
            defaults[name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            defaults[name] = f.default_factory()  # shared by every record: the model's values are immutable
    converters = tuple((name, convert) for name in fields if (convert := _trusted_converter(hints[name])) is not None)
    return defaults, converters


@functools.cache
def _trusted_converter(tp: Any) -> Callable[[Any], Any] | None:
    """How ``_convert`` turns a checked value of ``tp`` into the model's (None: it is the value itself)."""
    kind, inner = _shape(tp)
    if kind == "scalar":
        return None
    if kind == "record":
        return functools.partial(_trusted, inner)
    item = _trusted_converter(inner)
    if kind == "array":
        return tuple if item is None else (lambda value: tuple(map(item, value)))
    return lambda value: types.MappingProxyType(
        {str(k): v if item is None else item(v) for k, v in sorted(value.items())}
    )


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def value_kind(value: Any) -> str:
    """A parsed TOML value's type as an error message names it ("a table", "an array", ...)."""
    return {
        dict: "a table",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a float",
    }.get(type(value), type(value).__name__)


@functools.cache
def _shape(tp: Any) -> tuple[str, Any]:
    """How to convert a value of model type ``tp``: resolved once per type (``typing.get_origin`` per value
    was a tenth of the time a large lock took to load)."""
    origin_tp = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin_tp in (typing.Union, types.UnionType):
        return _shape(next(a for a in args if a is not type(None)))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return "record", tp
    if origin_tp is tuple:
        return "array", args[0]
    if origin_tp in (Mapping, dict, typing.Mapping):
        return "table", args[1]
    if tp in (bool, int, str):
        return "scalar", tp
    if origin_tp is typing.Literal:  # an enum-like field: a string here, its value checked by RULES
        return "scalar", str
    raise TypeError(f"unsupported model type {tp!r}")  # a bug in the model, not in the file


_SCALAR_NAMES = {bool: "a boolean", int: "an integer", str: "a string"}


def check_entry(area: str, inner: str, value: Any, *, where: str, origin: str) -> None:
    """One entry of the lock's list ``area.inner`` (``python``, ``packages``) checked as ``load`` checks it, its
    errors naming it ``where`` (a FLEET.toml's ``[common.python.packages.numpy]``), not by an index."""
    kind, record = _shape(_schema(Snapshot)[0][area])
    item = _schema(record)[0][inner] if kind == "record" else None
    if item is None or _shape(item)[0] != "array":
        raise TypeError(f"{area}.{inner}: not a list of the lock")  # a bug in the caller, not in the file
    _convert(_shape(item)[1], value, where, origin)


def _convert(tp: Any, value: Any, path: str, origin: str) -> Any:
    kind, inner = _shape(tp)
    if kind == "scalar":
        # type() rather than isinstance: a bool is not an integer here, and a str subclass never comes from TOML
        if type(value) is not inner:
            raise LockfileError(f"{origin}: {path}: expected {_SCALAR_NAMES[inner]}, got {value_kind(value)}")
        return value
    if kind == "record":
        return _build(inner, value, path, origin)
    if kind == "array":
        if not isinstance(value, list):
            raise LockfileError(f"{origin}: {path}: expected an array, got {value_kind(value)}")
        return tuple(_convert(inner, item, f"{path}[{i}]", origin) for i, item in enumerate(value))
    if not isinstance(value, Mapping):
        raise LockfileError(f"{origin}: {path}: expected a table, got {value_kind(value)}")
    return types.MappingProxyType(
        {str(k): _convert(inner, v, _join(path, str(k)), origin) for k, v in sorted(value.items())}
    )


# ------------------------------------------------------------------------------------------------- grammar
# Every str, int and tuple-of-str field of the model has a rule here (tests/test_lockfile.py checks that none
# is missing): the lock is untrusted input, so a value is checked against what it may look like, not only its
# type. Messages show the value through ``grammar.shown`` (escaped, cut short), never raw.


@frozen
class Rule:
    ok: Callable[[Any], bool]
    what: str
    values: tuple[str | int, ...] = ()  # an enum-like field's values (docs/lockfile.schema.json lists them)
    bounds: tuple[int, int] | None = None  # a bounded integer's lowest and highest value
    # ``all(map(ok, values))`` for a list of values of the field's type, exactly, at C speed where it can be
    # (``_fast_many`` tests a column of 5,000 values at once); None: that expression itself.
    many: Callable[[Sequence[Any]], bool] | None = None
    # Where a refused value has a reason of its own (a ``file://https://...`` URL's host), the text that names it in
    # the place of ``what``'s parenthesis; "" keeps ``what``.
    why: Callable[[str], str] | None = None

    def all_ok(self, values: Sequence[Any]) -> bool:
        return self.many(values) if self.many is not None else all(map(self.ok, values))


def _s(pred: Callable[[str], bool], what: str, *, empty: bool = True) -> Rule:
    bulk = grammar.all_of(pred) or (lambda values: all(map(pred, values)))  # C speed where the grammar has a way

    def many(values: Sequence[str]) -> bool:
        return bulk(list(filter(None, values)) if empty else values)  # "" passes where empty: a str is false

    return Rule(lambda v: (empty and v == "") or pred(v), what, many=many)


def _one_of(*values: str) -> Rule:
    shown = ", ".join(repr(v) for v in values if v) + (" or empty" if "" in values else "")
    allowed = frozenset(values)
    return Rule(allowed.__contains__, f"value (one of {shown})", values, many=allowed.issuperset)


def _literal_rules() -> dict[type, dict[str, Rule]]:
    """A rule for every enum-like field of the model (typed ``Literal[...]`` there): the values are written
    once, in model.py, and refused here when a lock holds another."""
    out: dict[type, dict[str, Rule]] = {}
    for cls in _RECORDS:
        for name, tp in _schema(cls)[0].items():
            inner = typing.get_args(tp)[0] if typing.get_origin(tp) is tuple else tp
            if typing.get_origin(inner) is typing.Literal:
                out.setdefault(cls, {})[name] = _one_of(*typing.get_args(inner))
    return out


def _n(lo: int, hi: int) -> Rule:
    return Rule(lambda v: grammar.is_bounded_int(v, lo, hi), f"number (from {lo} to {hi})", bounds=(lo, hi))


def _text(limit: int = grammar.MAX_TEXT) -> Rule:
    return Rule(
        lambda v: grammar.is_text(v, limit),
        f"text (no control characters, at most {limit} characters)",
        many=lambda values: grammar.all_text(values, limit),
    )


def _line(limit: int = grammar.MAX_TEXT) -> Rule:
    return Rule(
        lambda v: grammar.is_line(v, limit),
        f"text (one line as shown: no control, bidirectional formatting or line separator characters; at most {limit})",
        many=lambda values: grammar.all_lines(values, limit),
    )


def _repeating(rule: Rule) -> Rule:
    """``rule`` for a field whose values repeat from record to record (an installer, a wheel tag, a Requires-Python,
    a conda channel): a column of them is checked by its distinct values, which pass exactly when the column does.
    5,000 packages' installer is one value, ``pip``, checked once instead of 5,000 times (3-5 ms of a large lock's
    load over such fields)."""
    whole = rule.all_ok
    return dataclasses.replace(rule, many=lambda values: whole(list(set(values))))


_VERSION = _s(grammar.is_version, "version (PEP 440, or a plain legacy version; at most 255 characters)")
_TOKEN = _s(grammar.is_token, "value (letters, digits and . _ + ~ -)")
_DIGEST = _s(grammar.is_sha256_digest, "digest (sha256:<64 hex digits>)")
_URL = dataclasses.replace(
    _s(grammar.is_lock_url, f"URL ({grammar.LOCK_URL_RULES})"),
    why=grammar.lock_url_reason,
)
# A built wheel's URL may name the project's own repository at its commit (``git+file://{project}@COMMIT``).
_ARTIFACT_URL = dataclasses.replace(
    _s(grammar.is_artifact_url, f"URL ({grammar.LOCK_URL_RULES})"), why=grammar.lock_url_reason
)
_LOCATION = dataclasses.replace(
    _s(grammar.is_location, "index URL or path (no ${...}, which pip and uv replace by an environment variable)"),
    why=grammar.location_refused_reason,
)


def _channel(*, empty: bool) -> Rule:
    """A conda channel, a URL or a name: a ``file://https://...`` one breaks the URL's rule, and is refused naming it
    as a URL is (it named "a URL or a name", both of which it keeps); another, the rule of the kind it is
    (``grammar.conda_channel_refused_reason``, which the conda probe names too)."""
    rule = _s(grammar.is_conda_channel, f"conda channel ({grammar.CONDA_CHANNEL_RULES})", empty=empty)
    return dataclasses.replace(rule, why=grammar.conda_channel_refused_reason)


_DIST = _s(grammar.is_canonical_name, "distribution name (PEP 503 normalised)", empty=False)
_RECORDS: tuple[type, ...] = (
    Meta,
    Platform,
    Source,
    Artifact,
    Candidate,
    PythonPackage,
    PthFolder,
    PythonEnv,
    SystemPackage,
    SystemLibrary,
    System,
    Cpu,
    Gpu,
    Hardware,
    Nvidia,
    CudaLibrary,
    Cuda,
    Framework,
    CondaPackage,
    Conda,
    Project,
    Snapshot,
)

RULES: dict[type, dict[str, Rule]] = {
    Meta: {
        # from_document has checked it against the running envsnap (and migrated older ones) already.
        "schema_version": Rule(lambda v: grammar.is_bounded_int(v, 1, 1000), "schema version", bounds=(1, 1000)),
        "generator": _s(grammar.is_generator, "generator (a tool's name and version)"),
        "created": _s(grammar.is_timestamp, "timestamp (RFC 3339, e.g. 2026-11-28T15:57:18Z)"),
        "content_digest": _DIGEST,
        "warnings": _text(65536),
        "unknown": _s(grammar.is_table_path, "table or field name", empty=False),
        "made_from": _DIGEST,
        "pinned_from": _DIGEST,
        "moved_from": _s(lambda v: is_folder_url(v, ("project", "home", "absolute")), "folder (a file: URL, no '..')"),
        "moved_to": _s(is_relative_folder, "relative folder (sub/dir; no '..')"),
    },
    Platform: {
        "system": _TOKEN,
        "machine": _TOKEN,
        "os_id": _TOKEN,
        "os_version": _TOKEN,
        "os_name": _text(256),
        "kernel": _TOKEN,
        "libc_version": _s(
            grammar.is_libc_version,
            "C library version (digits and dots, e.g. 2.36 or 1.2.4; the first two numbers of at most 3 digits each)",
        ),
    },
    Source: {
        "url": _URL,
        "commit_id": _s(grammar.is_commit_id, "commit id"),
        "requested_revision": _s(grammar.is_git_ref, "branch or tag name"),
        "subdirectory": _s(grammar.is_relative_path, "relative folder (no '..', not absolute)"),
        "archive_hash": _s(grammar.is_hash_pair, "archive hash (sha256=<hex>)"),
    },
    Artifact: {
        # Empty with a sha256: a hash imported from a requirements file, its file still to be found by pin.
        "filename": _s(grammar.is_distribution_filename, "file name (a wheel, sdist, conda or .deb base name)"),
        "url": _ARTIFACT_URL,
        "sha256": _s(grammar.is_sha256_hex, "sha256 (64 lower-case hex digits)", empty=False),
        "size": _n(0, grammar.MAX_FILE_SIZE),
        "upload_time": _s(grammar.is_timestamp, "timestamp (RFC 3339)"),
        "index": _LOCATION,
        "sdist_sha256": _s(grammar.is_sha256_hex, "sha256 (64 lower-case hex digits)"),
        "built_record_digest": _DIGEST,
    },
    Candidate: {
        "sha256": _s(grammar.is_sha256_hex, "sha256 (64 lower-case hex digits)", empty=False),
        "filename": _s(grammar.is_distribution_filename, "file name (a wheel, sdist, conda or .deb base name)"),
        "url": _URL,
        "size": _n(0, grammar.MAX_FILE_SIZE),
        "upload_time": _s(grammar.is_timestamp, "timestamp (RFC 3339)"),
        "index": _LOCATION,
    },
    PythonPackage: {
        "name": _DIST,
        "version": _VERSION,
        "installer": _repeating(_s(grammar.is_installer, "installer (printable ASCII, at most 128 characters)")),
        "wheel_tags": _repeating(_s(grammar.is_wheel_tag, "wheel tag (python-abi-platform)", empty=False)),
        "record_digest": _DIGEST,
        "metadata_name": _s(grammar.is_project_name, "project name"),
        "system_package": _s(grammar.is_system_name, "system package name"),
        "identity": _line(),
        "cuda_kernels": _s(grammar.is_cuda_arch, "CUDA architecture (sm_90, compute_80)", empty=False),
        "cuda_ptx_isa": _s(grammar.is_ptx_isa, "PTX ISA version (8.8)"),
        "requires_dist": _repeating(_line()),
        "requires_python": _repeating(
            _s(grammar.is_requires_python, "Requires-Python (a PEP 440 specifier set: printable ASCII, at most 1024)")
        ),
    },
    PythonEnv: {
        "implementation": _TOKEN,
        "version": _s(grammar.is_python_version, "Python version (e.g. 3.11.7)"),
        "abi": _TOKEN,
        "soabi": _TOKEN,
        "platform_tag": _TOKEN,
        "pointer_bits": Rule(lambda v: v in (32, 64), "pointer size (32 or 64)", values=(32, 64)),
        "executable": _s(grammar.is_relative_path, "path relative to the environment (bin/python3)"),
        "system_package": _s(grammar.is_system_name, "system package name"),
    },
    PthFolder: {
        "pth": _line(),
        "folder": _line(),
        "digest": _DIGEST,
        "files": _s(grammar.is_pth_file_entry, "module file (PATH SIZE SHA256: a relative .py, .so or .pyd path)"),
    },
    SystemPackage: {
        "name": _s(grammar.is_system_name, "system package name", empty=False),
        "version": _s(grammar.is_system_version, "system package version"),
        "arch": _TOKEN,
        "needed_by": _DIST,
        "filename": _s(grammar.is_deb_filename, "Debian package file name (name_version_arch.deb)"),
        "size": _n(0, grammar.MAX_FILE_SIZE),
        "sha256": _s(grammar.is_sha256_hex, "sha256 (64 lower-case hex digits)"),
        "url": _URL,
    },
    SystemLibrary: {
        "soname": _s(grammar.is_soname, "library soname (libz.so.1)", empty=False),
        "path": _line(),
        "package": _s(grammar.is_system_name, "system package name"),
        "needed_by": _DIST,
    },
    Cpu: {
        "vendor": _text(256),
        "model": _text(256),
        "arch": _TOKEN,
        "logical_cores": _n(0, 2**20),
        "flags": _s(grammar.is_token, "CPU flag", empty=False),
    },
    Gpu: {
        "index": _n(0, 4096),
        "name": _text(256),
        "compute_capability": _s(grammar.is_compute_capability, "compute capability (9.0)"),
        "memory_mib": _n(0, 2**30),
        "uuid": _s(grammar.is_gpu_uuid, "GPU UUID (GPU-<8-4-4-4-12 hex digits>, or MIG-...)"),
        "serial": _s(grammar.is_gpu_serial, "GPU serial (letters, digits and . _ -; at most 64)"),
        "mig_uuids": _s(grammar.is_gpu_uuid, "MIG device UUID (MIG-<8-4-4-4-12 hex digits>)", empty=False),
    },
    Hardware: {"memory_mib": _n(0, 2**40)},
    Nvidia: {"driver_version": _TOKEN, "cuda_driver_version": _TOKEN, "error": _line()},
    CudaLibrary: {
        "version": _TOKEN,
        "location": _line(),
    },
    Cuda: {
        **{f"{part}_version": _TOKEN for part in ("runtime", "cudnn", "nccl", "cublas", "toolkit")},
        "toolkit_path": _line(),
    },
    Framework: {
        "name": _TOKEN,
        "version": _VERSION,
        "cuda_version": _TOKEN,
        "cudnn_version": _TOKEN,
        "rocm_version": _TOKEN,
        "git_version": _TOKEN,
        "arch_list": _s(grammar.is_cuda_arch, "CUDA architecture (sm_90, compute_80)", empty=False),
        "cuda_kernels": _s(grammar.is_cuda_arch, "CUDA architecture (sm_90, compute_80)", empty=False),
        "error": _line(),
    },
    CondaPackage: {
        "name": _s(grammar.is_conda_name, "conda package name", empty=False),
        "version": _s(grammar.is_conda_version, "conda version", empty=False),
        "build": _s(grammar.is_conda_build, "conda build string"),
        "build_number": _n(0, 2**31),
        "channel": _repeating(_channel(empty=True)),
        "subdir": _repeating(_s(grammar.is_conda_subdir, "conda subdir (linux-64, noarch)")),
        "url": _URL,
        "md5": _s(grammar.is_md5_hex, "md5 (32 lower-case hex digits)"),
        "sha256": _s(grammar.is_sha256_hex, "sha256 (64 lower-case hex digits)"),
        "depends": _repeating(
            _s(grammar.is_conda_depends, "conda dependency (a MatchSpec: name, version spec, build)", empty=False)
        ),
    },
    Conda: {
        "subdir": _s(grammar.is_conda_subdir, "conda subdir (linux-64, noarch)"),
        "channels": _channel(empty=False),
    },
    Project: {
        "commit": _s(grammar.is_commit_id, "commit id"),
        "branch": _s(grammar.is_git_branch, "branch name"),
        "diff_digest": _DIGEST,
        "remote_url": _s(grammar.is_remote, "remote (a URL or a path, no spaces)"),
    },
}
for _cls, _rules in _literal_rules().items():
    RULES[_cls] = {**RULES.get(_cls, {}), **_rules}
# Keys of the top-level mappings.
KEY_RULES: dict[str, tuple[Rule, Rule]] = {
    "environment": (_s(grammar.is_env_name, "variable name", empty=False), _text()),
    "frameworks": (_s(grammar.is_token, "framework name", empty=False), Rule(lambda v: True, "")),
}


def _check(rule: Rule, value: Any, path: str, origin: str) -> None:
    if not rule.ok(value):
        _refuse(rule, value, path, origin)


def _refuse(rule: Rule, value: Any, path: str, origin: str) -> None:
    why = rule.why(value) if rule.why is not None and isinstance(value, str) else ""
    what = f"{rule.what.partition(' (')[0]} ({why})" if why else rule.what
    raise LockfileError(f"{origin}: {path}: not a valid {what}: {grammar.shown(value)}")


def _identity(*fields: str) -> Callable[[Any], Any]:
    return operator.attrgetter(*fields)  # one field: its value, several: a tuple of them


# Records a list may hold only once: two entries for one name would mean two different environments.
UNIQUE: dict[tuple[type, str], tuple[Callable[[Any], Any], str]] = {
    (PythonEnv, "packages"): (_identity("name"), "package"),
    (System, "packages"): (_identity("manager", "name", "arch"), "system package"),
    (System, "libraries"): (_identity("soname"), "library"),
    (Hardware, "gpus"): (_identity("index"), "GPU index"),
    (Conda, "packages"): (_identity("name"), "conda package"),
    (Cuda, "copies"): (_identity("component", "source", "location"), "copy"),
}


def _check_interpreter(values: Mapping[str, Any], path: str, origin: str) -> None:
    """``[python]``'s version, ABI tag and SOABI name one Python series (and the tag and SOABI the same ABI flags):
    each comes from the one interpreter, so a lock where they differ was edited (``version = "3.9.18"`` beside
    ``abi = "cp311"``, sealed again): check passed it, the rebuild made a 3.9 venv and verify then failed on the
    ABI. A blank or a form that names no series (another implementation's) is not compared."""
    version, abi, soabi = (values.get(name, "") for name in ("version", "abi", "soabi"))
    series = grammar.python_series(version) if type(version) is str else None
    tag = grammar.abi_series(abi) if type(abi) is str else None
    so = grammar.abi_series(soabi, soabi=True) if type(soabi) is str else None
    shown_series = f"Python {series[0]}.{series[1]} (python.version {grammar.shown(version)})" if series else ""
    if series and tag and tag[:2] != series:
        raise LockfileError(
            f"{origin}: {_join(path, 'abi')}: {grammar.shown(abi)} is not the ABI of {shown_series}: the lock's "
            "interpreter facts contradict each other (was it edited?)"
        )
    if tag and so and (tag[:2] != so[:2] or tag[2] != so[2]):
        raise LockfileError(
            f"{origin}: {_join(path, 'soabi')}: {grammar.shown(soabi)} is not the SOABI of the ABI {grammar.shown(abi)}"
            " (python.abi): the lock's interpreter facts contradict each other (was it edited?)"
        )
    if series and so and so[:2] != series:
        raise LockfileError(
            f"{origin}: {_join(path, 'soabi')}: {grammar.shown(soabi)} is not the SOABI of {shown_series}: the "
            "lock's interpreter facts contradict each other (was it edited?)"
        )


def _check_record(cls: type, values: Mapping[str, Any], path: str, origin: str) -> None:
    """The field rules of one record, and the uniqueness of the lists it holds. (Paths are built only for an
    error: this runs for every record of a lock.)"""
    rules = RULES.get(cls, {})
    if cls is PythonEnv:
        _check_interpreter(values, path, origin)
    for name, value in values.items():
        rule = rules.get(name)
        if type(value) is tuple:
            if rule is not None and not rule.all_ok(value):
                for i, item in enumerate(value):
                    if not rule.ok(item):
                        _refuse(rule, item, f"{_join(path, name)}[{i}]", origin)
            unique = UNIQUE.get((cls, name))
            if unique is not None:
                key, what = unique
                keys = list(map(key, value))
                if len(set(keys)) == len(keys):
                    continue  # no record twice (the loop below names the first one that is)
                seen: set[Any] = set()
                for i, k in enumerate(keys):
                    if k in seen:
                        parts = k if type(k) is tuple else (k,)
                        shown_key = " ".join(str(part) for part in parts if part != "")
                        raise LockfileError(
                            f"{origin}: {_join(path, name)}[{i}]: {what} {grammar.shown(shown_key)} appears twice"
                        )
                    seen.add(k)
        elif rule is not None and isinstance(value, (str, int)):
            if not rule.ok(value):
                _refuse(rule, value, _join(path, name), origin)
        elif name in KEY_RULES and cls is Snapshot and isinstance(value, Mapping):
            sub = _join(path, name)
            key_rule, value_rule = KEY_RULES[name]
            for k, v in value.items():
                _check(key_rule, k, sub, origin)
                if isinstance(v, str):
                    _check(value_rule, v, _join(sub, k), origin)
                elif isinstance(v, Framework) and v.name not in ("", k):
                    raise LockfileError(
                        f"{origin}: {_join(sub, k)}.name: {grammar.shown(v.name)} is not the "
                        f"table's key {grammar.shown(k)}"
                    )
