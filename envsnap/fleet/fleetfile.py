"""FLEET.toml: one capture per node of a cluster in one file, what every node shares written once.

The format (docs/fleet.md, "FLEET.toml"): ``[fleet]`` (format version, generator, time, the nodes, those that did
not answer), ``[common]`` (the lock document's values every node has, equal), and ``[nodes.NAME]`` (what NAME has
beyond or instead of the common part). The lists of a lock whose entries have a name (Python, system and conda
packages, libraries, GPUs, CUDA library copies) are written as tables keyed by that name, so one drifted package
is one entry of one node, not a copy of the whole list. A node's lock is ``common`` merged with its table;
``created`` and ``content_digest`` are left out (they differ on every node and say nothing about it).

Read back, the file is untrusted input: bounded reading, the format version checked, every node's merged document
validated as a lock is.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from .. import _readlimits, _tomlwrite, lockfile
from .._frozen import frozen
from .._fs import atomic_write_text
from .._version import __version__
from ..errors import FleetError, LockfileError
from ..grammar import shown
from ..model import Snapshot
from . import hostlist

FORMAT_VERSION = 1
# Lists of the lock document kept as tables keyed by the identity of their entries.
KEYED: dict[tuple[str, str], tuple[str, ...]] = {
    ("python", "packages"): ("name",),
    ("system", "packages"): ("name", "arch"),
    ("system", "libraries"): ("soname",),
    ("hardware", "gpus"): ("index",),
    ("conda", "packages"): ("name", "subdir"),
    ("cuda", "copies"): ("component", "source", "location"),
}
_VOLATILE = ("created", "content_digest")


class FleetFileError(LockfileError):
    """A FLEET.toml that cannot be read (bad input, exit 2)."""


@frozen
class FleetFile:
    nodes: Mapping[str, Snapshot]  # the nodes that answered
    unreachable: Mapping[str, str] = dataclasses.field(default_factory=dict)  # node -> why it has no capture
    created: str = ""
    generator: str = ""
    # node -> why it has none though srun reached it (``fleet check``'s "invalid": no envsnap at --envsnap there,
    # its task killed or failed, an output that is no lock); ``unreachable``: the nodes not tried or not answering.
    invalid: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def without(self, node: str) -> str:
        """Why ``node`` has no capture, with its verdict (``unreachable: ...``, ``invalid: ...``); "" when it has
        one or is not in the file."""
        if node in self.invalid:
            return f"invalid: {self.invalid[node]}"
        return f"unreachable: {self.unreachable[node]}" if node in self.unreachable else ""


def _identity(item: Mapping[str, Any], fields: Sequence[str]) -> str:
    return "/".join(str(item.get(f, "")) for f in fields)


def keyed(document: Mapping[str, Any]) -> dict[str, Any]:
    """The lock document with its named lists as tables (a list whose names repeat stays a list)."""
    out: dict[str, Any] = {}
    for area, value in document.items():
        if area == "envsnap" and isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if k not in _VOLATILE}
        if isinstance(value, Mapping):
            table = dict(value)
            for (outer, inner), fields in KEYED.items():
                items = table.get(inner)
                if outer == area and isinstance(items, list) and all(isinstance(i, Mapping) for i in items):
                    ids = [_identity(i, fields) for i in items]
                    if len(set(ids)) == len(ids):
                        table[inner] = dict(zip(ids, items, strict=True))
            value = table
        out[area] = value
    return out


def unkeyed(document: Mapping[str, Any]) -> dict[str, Any]:
    """``keyed`` undone: the named tables back to lists, in the order of their names."""
    out: dict[str, Any] = {}
    for area, value in document.items():
        if isinstance(value, Mapping):
            table = dict(value)
            for (outer, inner), _fields in KEYED.items():
                if outer == area and isinstance(table.get(inner), Mapping):
                    entries = table[inner]
                    table[inner] = [entries[k] for k in sorted(entries, key=_natural)]
            value = table
        out[area] = value
    return out


def _natural(key: str) -> tuple[Any, ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in key.split("/"))


def common_part(documents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What every document has, equal: tables intersected key by key, any other value only when equal."""
    out: dict[str, Any] = {}
    first = documents[0]
    for key, value in first.items():
        values = [d.get(key, _MISSING) for d in documents]
        if any(v is _MISSING for v in values):
            continue
        if all(isinstance(v, Mapping) for v in values):
            out[key] = common_part(values)
        elif all(v == value for v in values):
            out[key] = value
    return out


_MISSING = object()


def difference(document: Mapping[str, Any], common: Mapping[str, Any]) -> dict[str, Any]:
    """What ``document`` has beyond or instead of ``common`` (``merge(common, difference) == document``)."""
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key not in common:
            out[key] = value
        elif isinstance(value, Mapping) and isinstance(common[key], Mapping):
            sub = difference(value, common[key])
            if sub:
                out[key] = sub
        elif value != common[key]:
            out[key] = value
    return out


def merge(common: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(common)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def document(fleet: FleetFile) -> dict[str, Any]:
    """The FLEET.toml document of ``fleet``."""
    names = hostlist.ordered(fleet.nodes)
    docs = {n: keyed(lockfile.to_dict(fleet.nodes[n])) for n in names}
    common = common_part([docs[n] for n in names]) if names else {}
    out: dict[str, Any] = {
        "fleet": {
            "format_version": FORMAT_VERSION,
            "generator": fleet.generator or f"envsnap {__version__}",
            "created": fleet.created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "nodes": names,
        },
        "common": common,
        "nodes": {n: difference(docs[n], common) for n in names},
    }
    if fleet.unreachable:
        out["fleet"]["unreachable"] = {n: fleet.unreachable[n] for n in hostlist.ordered(fleet.unreachable)}
    if fleet.invalid:
        out["fleet"]["invalid"] = {n: fleet.invalid[n] for n in hostlist.ordered(fleet.invalid)}
    return out


def dumps(fleet: FleetFile, *, origin: str = "-") -> str:
    """The text of ``fleet``, to be written at ``origin``; ``FleetFileError`` where it is over the size limit ``load``
    reads it under (``ENVSNAP_MAX_LOCK_BYTES``): a file of many nodes that ``fleet diff`` then refused is not made."""
    text = _tomlwrite.dumps(document(fleet))
    return _readlimits.readable(
        text, f"{origin}: the FLEET.toml file", error=FleetFileError, read_as="a FLEET.toml file"
    )


def dump(fleet: FleetFile, path: str | os.PathLike[str]) -> None:
    """Written beside and renamed into place: an interrupted write leaves the old file whole."""
    atomic_write_text(path, dumps(fleet, origin=str(path)))


def _table(data: Any, where: str, origin: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise FleetFileError(f"{origin}: {where}: not a table")
    return data


def _node_name(name: Any) -> bool:
    """A Slurm node name: printable, without spaces (what ``scontrol show hostnames`` gives)."""
    return isinstance(name, str) and bool(name) and name.isprintable() and not any(c.isspace() for c in name)


def loads(text: str, *, origin: str = "<string>") -> FleetFile:
    data = _readlimits.load_toml(text, origin=origin, error=FleetFileError)
    if "fleet" not in data:
        raise FleetFileError(
            f"{origin}: no [fleet] table: not a FLEET.toml (`envsnap fleet capture -o FILE` writes one)"
        )
    head = _table(data.get("fleet"), "fleet", origin)
    version = head.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise FleetFileError(f"{origin}: fleet.format_version: missing or not an integer (is this a FLEET.toml?)")
    if version < 1:
        raise FleetFileError(f"{origin}: fleet.format_version: {version} is not a format version (1 or more)")
    if version > FORMAT_VERSION:
        raise FleetFileError(
            f"{origin}: fleet.format_version: {version} is newer than this envsnap understands "
            f"(<= {FORMAT_VERSION}); upgrade envsnap"
        )
    names = head.get("nodes")
    if not isinstance(names, list) or not all(_node_name(n) for n in names) or len(set(names)) != len(names):
        raise FleetFileError(f"{origin}: fleet.nodes: not a list of distinct node names")
    unreachable = _table(head.get("unreachable", {}), "fleet.unreachable", origin)
    invalid = _table(head.get("invalid", {}), "fleet.invalid", origin)
    for where, table in (("fleet.unreachable", unreachable), ("fleet.invalid", invalid)):
        if not all(_node_name(k) and isinstance(v, str) for k, v in table.items()):
            raise FleetFileError(f"{origin}: {where}: every key must be a node name, every value a string")
        both = sorted(set(names) & set(table))
        if both:
            raise FleetFileError(f"{origin}: {where}: {shown(both[0])} is in fleet.nodes too (captured)")
    twice = sorted(set(unreachable) & set(invalid))
    if twice:
        raise FleetFileError(f"{origin}: fleet.invalid: {shown(twice[0])} is in fleet.unreachable too")
    common = _table(data.get("common", {}), "common", origin)
    tables = _table(data.get("nodes", {}), "nodes", origin)
    if set(tables) - set(names):
        raise FleetFileError(f"{origin}: nodes: {shown(sorted(set(tables) - set(names))[0])} is not in fleet.nodes")
    nodes: dict[str, Snapshot] = {}
    for name in names:
        own = _table(tables.get(name, {}), f"nodes.{name}", origin)
        merged = merge(common, own)
        _check_identities(merged, common, own, name, text, origin)
        try:
            nodes[name] = lockfile.from_document(unkeyed(merged), origin=f"{origin}: node {name}", check_digest=False)
        except LockfileError as exc:
            # Its lock's error names an index of a list the file does not hold (python.packages[1]): a named entry
            # at fault is named by its table and line instead.
            _check_entries(merged, common, own, name, text, origin)
            placed = _placed(str(exc), f"{origin}: node {name}: ", common, own, text, origin)
            if placed:
                raise FleetFileError(placed) from None
            raise
    created, generator = head.get("created", ""), head.get("generator", "")
    return FleetFile(nodes, dict(unreachable), str(created), str(generator), dict(invalid))


def _entries(document: Mapping[str, Any], area: str, inner: str) -> Mapping[str, Any]:
    """The named table ``area.inner`` of a keyed document ({} where it is none)."""
    table = document.get(area)
    entries = table.get(inner) if isinstance(table, Mapping) else None
    return entries if isinstance(entries, Mapping) else {}


def _check_identities(
    merged: Mapping[str, Any], common: Mapping[str, Any], own: Mapping[str, Any], node: str, text: str, origin: str
) -> None:
    """Each entry of a named table (``[common.python.packages.numpy]``) carries its name, and it is its table's.
    Written by hand without one, the lock's check named a list index (``python.packages[1].name``) the file does
    not hold; with another, the entry moved when the file was written again. The error names the table where it
    is written, and its line."""
    for (area, inner), fields in KEYED.items():
        for key, entry in _entries(merged, area, inner).items():
            if not isinstance(entry, Mapping):
                continue  # the lock's check says what it is
            missing = [f for f in fields if f not in entry]
            if not missing and _identity(entry, fields) == key:
                continue
            mine = _entries(own, area, inner).get(key)
            in_own = isinstance(mine, Mapping) and (
                key not in _entries(common, area, inner) or any(f in mine for f in fields)
            )
            where = ": ".join(_entry_place(_table_path(in_own, node, area, inner, key), text, origin))
            what = "/".join(fields)
            if missing:
                example = key if fields == ("index",) and key.isdigit() else _tomlwrite.key_text(key, quoted=True)
                raise FleetFileError(
                    f"{where}: no {' or '.join(missing)} (each entry of {area}.{inner} names itself: "
                    f"{what} = {example})"
                )
            named = shown(_identity(entry, fields))
            raise FleetFileError(f"{where}: its {what} is {named}, not its table's {shown(key)}")


def _table_path(in_own: bool, node: str, area: str, inner: str, key: str) -> list[str]:
    return ["nodes", node, area, inner, key] if in_own else ["common", area, inner, key]


def _entry_place(path: Sequence[str], text: str, origin: str) -> tuple[str, str]:
    """``(origin: line N, [common.python.packages.numpy])``: the line of a named entry's header (else of its
    table's: ``numpy = ...`` inside ``[common.python.packages]``), if found, and its table as the file writes it."""
    header = "[" + ".".join(_tomlwrite.key_text(p) for p in path) + "]"
    parent = "[" + ".".join(_tomlwrite.key_text(p) for p in path[:-1]) + "]"
    lines = text.splitlines()
    found = next((i for i, line in enumerate(lines, 1) if line.strip() == header), 0) or next(
        (i for i, line in enumerate(lines, 1) if line.strip() == parent), 0
    )
    return (f"{origin}: line {found}" if found else origin), header


def _placed(
    message: str, prefix: str, common: Mapping[str, Any], own: Mapping[str, Any], text: str, origin: str
) -> str:
    """A node's lock error (``origin: node n1: platform.system: expected a string, ...``) at a value of ``[common]``
    said of its table and line (``origin: line 16: [common.platform].system: ...``): it named the first node for
    a value every node has, and no line of the file. "" where the value is the node's own, or not found."""
    if not message.startswith(prefix):
        return ""
    path, sep, why = message[len(prefix) :].partition(": ")
    parts = path.split(".")
    if not sep or "[" in path or not all(parts):
        return ""
    *table, key = parts

    def holds(document: Any, with_key: bool) -> bool:
        for part in table:
            document = document.get(part) if isinstance(document, Mapping) else None
        return isinstance(document, Mapping) and (key in document or not with_key)

    if holds(own, True) or not holds(common, False) or (holds(own, False) and not holds(common, True)):
        return ""  # the node's own value: its error names the node already
    where = ["common", *table]
    header = "[" + ".".join(_tomlwrite.key_text(p) for p in where) + "]"
    own_header = "[" + ".".join(_tomlwrite.key_text(p) for p in [*where, key]) + "]"
    # Its line, else the header of a table of its own ([common.platformx]), else its table's (a field missing).
    for line, named in (
        (_line(text, header, key), f"{header}.{_tomlwrite.key_text(key)}"),
        (_line(text, own_header), own_header),
        (_line(text, header), f"{header}.{_tomlwrite.key_text(key)}"),
    ):
        if line:
            return f"{origin}: line {line}: {named}: {why}"
    return ""


def _line(text: str, header: str, key: str = "") -> int:
    """The line of ``key = ...`` in the table ``header`` (of the header itself without ``key``); 0 where the file
    writes none so."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines, 1) if line.strip() == header), 0)
    if not start or not key:
        return start
    spellings = {_tomlwrite.key_text(key), _tomlwrite.key_text(key, quoted=True), f"'{key}'"}
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if line.startswith("["):
            break
        if line.partition("=")[0].strip() in spellings:
            return i + 1
    return 0


def _check_entries(
    merged: Mapping[str, Any], common: Mapping[str, Any], own: Mapping[str, Any], node: str, text: str, origin: str
) -> None:
    """Each named entry of a node's lock checked as the lock's loader checks it, an error naming the entry's table
    (where the node's own table sets it, else ``[common...]``) and line."""
    for area, inner in KEYED:
        for key, entry in _entries(merged, area, inner).items():
            in_own = key in _entries(own, area, inner)
            prefix, header = _entry_place(_table_path(in_own, node, area, inner, key), text, origin)
            lockfile.check_entry(area, inner, entry, where=header, origin=prefix)


def load(path: str | os.PathLike[str]) -> FleetFile:
    return loads(_readlimits.read_text(path, error=FleetFileError, what="FLEET.toml file"), origin=str(path))


# ---------------------------------------------------------------------------------------------- diff


NODE_PATH = "node"  # a Change of whether the node was captured (``captured``, ``unreachable: WHY``), not of its lock


@frozen
class Change:
    node: str
    path: str  # dotted, named entries in brackets: python.packages[fleet-demo].version
    old: str  # "" when absent
    new: str

    def describe(self) -> str:
        if not self.old:
            return f"{self.node}: {self.path} added: {self.new}"
        if not self.new:
            return f"{self.node}: {self.path} removed (was {self.old})"
        if self.path == NODE_PATH:
            # Whether the node was captured, not a value of its lock: "n5: node: unreachable: ... -> captured" read
            # as a table named node.
            return f"{self.node}: {self.old} -> {self.new}"
        return f"{self.node}: {self.path}: {self.old} -> {self.new}"

    def to_dict(self) -> dict[str, str]:
        return {"node": self.node, "path": self.path, "old": self.old, "new": self.new}


def _flat(value: Any, path: str, out: dict[str, str]) -> None:
    if isinstance(value, Mapping) and value:
        for key, sub in value.items():
            _flat(sub, f"{path}.{key}", out)
    else:
        out[path] = value if isinstance(value, str) else _show(value)


def _show(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def flatten(snapshot: Snapshot, entries: dict[str, tuple[str, list[str]]] | None = None) -> dict[str, str]:
    """A node's lock as ``path -> value`` text, named lists keyed (``python.packages[torch].version``);
    ``entries``, when given, gets each named entry's path: what names it (``_entry_summary``) and its paths."""
    out: dict[str, str] = {}
    for area, value in keyed(lockfile.to_dict(snapshot)).items():
        if isinstance(value, Mapping):
            for key, sub in value.items():
                if (area, key) in KEYED and isinstance(sub, Mapping):
                    for ident, entry in sub.items():
                        place = f"{area}.{key}[{ident}]"
                        own: dict[str, str] = {}
                        _flat(entry, place, own)
                        out.update(own)
                        if entries is not None:
                            entries[place] = (_entry_summary(entry), list(own))
                else:
                    _flat(sub, f"{area}.{key}", out)
        else:
            _flat(value, area, out)
    return out


def _entry_summary(entry: Any) -> str:
    """What a diff says of a named entry a node gained or lost: its version, else its name, else its path."""
    if isinstance(entry, Mapping):
        for field in ("version", "name", "path"):
            if isinstance(entry.get(field), str) and entry[field]:
                return str(entry[field])
    return "present"


def not_compared(old: FleetFile, new: FleetFile) -> list[tuple[str, str, str]]:
    """The nodes neither file has a capture of (unreachable or invalid in both): ``(node, why then, why now)``.
    Their environments were never compared, so no diff can call them the same."""
    both = {n for n in (*old.unreachable, *old.invalid) if new.without(n)}
    return [
        (n, old.without(n).split(": ", 1)[1], new.without(n).split(": ", 1)[1])
        for n in hostlist.ordered(both)
        if n not in old.nodes and n not in new.nodes
    ]


def why_not_compared(old: FleetFile, new: FleetFile, node: str) -> str:
    """Why ``node`` (one of ``not_compared``) has no capture: the one reason both files give, else each file's
    (``old: unreachable: ...; new: invalid: ...``). The new file's alone hid why the node had none before (a drain
    reason since replaced, a node unreachable then and invalid now)."""
    then, now = old.without(node), new.without(node)
    if not then or not now or then == now:
        return now or then
    return f"old: {then}; new: {now}"


def diff(old: FleetFile, new: FleetFile) -> list[Change]:
    """Node by node, every value that changed between two FLEET files (a node gained or lost, as one line)."""
    changes: list[Change] = []
    every = set(old.nodes) | set(new.nodes) | set(old.unreachable) | set(new.unreachable)
    for node in hostlist.ordered(every | set(old.invalid) | set(new.invalid)):
        a, b = old.nodes.get(node), new.nodes.get(node)
        if a is None or b is None:
            was = "captured" if a is not None else old.without(node)
            now = "captured" if b is not None else new.without(node)
            if was != now:
                changes.append(Change(node, NODE_PATH, was, now))
            continue
        ea: dict[str, tuple[str, list[str]]] = {}
        eb: dict[str, tuple[str, list[str]]] = {}
        fa, fb = flatten(a, ea), flatten(b, eb)
        # A named entry only one side has (a package installed or gone, a GPU fallen off the bus) is one line,
        # not one per field of it.
        whole = {
            place: Change(node, place, ea.get(place, ("", []))[0], eb.get(place, ("", []))[0])
            for place in set(ea) ^ set(eb)
        }
        inside = {path for place in whole for path in (ea.get(place) or eb[place])[1]} - set(whole)
        for path in sorted((set(fa) | set(fb) | set(whole)) - inside):
            if path in whole:
                changes.append(whole[path])
            elif fa.get(path, "") != fb.get(path, ""):
                changes.append(Change(node, path, fa.get(path, ""), fb.get(path, "")))
    return changes


def by_cause(fleet: FleetFile) -> list[tuple[str, str]]:
    """The nodes without a capture, those of one cause together: ``(hostlist, "unreachable: WHY")``, in the order
    of each cause's first node."""
    members: dict[str, list[str]] = {}
    for node in hostlist.ordered({*fleet.unreachable, *fleet.invalid}):
        members.setdefault(fleet.without(node), []).append(node)
    return [(hostlist.compress(nodes), why) for why, nodes in members.items()]


def folded(changes: Sequence[Change]) -> list[Change]:
    """The changes less each package's ``record_digest`` that changed with its ``version`` on the same node: a new
    version has new files, so one upgrade read two lines per group of nodes. A digest that changed alone (the same
    version rebuilt) stays."""
    upgraded = {(c.node, c.path.removesuffix(".version")) for c in changes if c.path.endswith("].version")}
    return [
        c
        for c in changes
        if not (c.path.endswith("].record_digest") and (c.node, c.path.removesuffix(".record_digest")) in upgraded)
    ]


def grouped(changes: Sequence[Change]) -> list[Change]:
    """The changes, one per change several nodes share, its ``node`` their hostlist (``n[1-2,4-5]``): a driver
    upgraded on a hundred nodes is one line, and the node it missed stands out. In the order each first came."""
    members: dict[tuple[str, str, str], list[str]] = {}
    for change in changes:
        members.setdefault((change.path, change.old, change.new), []).append(change.node)
    return [Change(hostlist.compress(nodes), path, old, new) for (path, old, new), nodes in members.items()]


def from_captures(
    captures: Mapping[str, str], unreachable: Mapping[str, str], invalid: Mapping[str, str] | None = None
) -> FleetFile:
    """Each node's ``capture -o -`` text (untrusted: validated as a lock is); a node whose text is no lock is
    listed invalid with why, as ``fleet check`` calls an answer that is not one."""
    nodes: dict[str, Snapshot] = {}
    wrong = dict(invalid or {})
    for name, text in captures.items():
        try:
            nodes[name] = lockfile.loads(text, origin=f"node {name}", check_digest=True)
        except LockfileError as exc:
            wrong[name] = f"not a lock: {shown(str(exc), 300)}"
    if not nodes and not unreachable and not wrong:
        raise FleetError("no node to capture")
    return FleetFile(nodes, dict(unreachable), invalid=wrong)
