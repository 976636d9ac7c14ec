"""The quick verify of ``envsnap run``: a verify (or capture) is reused while the environment is unchanged.

A full verify reads every distribution's RECORD and the system's package database: seconds, against a
command that may take two. Its answer depends on the lock and on the state of the environment, so it is kept
under a key made from what a change to the environment must touch: the lock's digest, the interpreter (its
path and file), every site-packages folder of the environment (its mtime: a distribution installed or removed
adds or removes a ``.dist-info`` there) and each ``RECORD`` in it (reinstalling rewrites it), the package
manager's database, the NVIDIA driver's version, the machine and its boot (``/etc/machine-id``,
``boot_id``: a home directory shared by a cluster's nodes keeps one answer per node and boot), and envsnap's
code (``code_state``: its version and the stamp of every module of it, as the capture memo's key holds them).
When any part cannot be read there is no key, and the check runs in full. ``envsnap run --no-cache`` (or
``ENVSNAP_RUN_CACHE=0``) always runs it. A run's capture and quick verify are no longer kept under this key
but with the capture memo's (``assemble._capture``, ``assemble._verified``): it missed what a capture also reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .._defaults import RUNS_CACHE, code_stamps, owned_privately, private_cache_dir
from .._defaults import cache_dir as cache_root
from .._version import __version__

TYPE_CHECKING = False  # not typing's: ``envsnap run --lock`` asks this module before the command starts
if TYPE_CHECKING:
    from typing import Any

    from ..model import Snapshot

CACHE_ENV = "ENVSNAP_RUN_CACHE"
_STATE_FILES = (
    "/var/lib/dpkg/status",
    "/lib/apk/db/installed",
    "/var/lib/rpm/rpmdb.sqlite",
    "/proc/driver/nvidia/version",
    "/etc/machine-id",
    "/proc/sys/kernel/random/boot_id",
)
MAX_ENTRY_BYTES = 16 << 20
MAX_ENTRIES = 128  # the entries used most recently are kept (``_cachedir.prune``): a machine's runs make many


_CODE_STATE: list[str] = []


def code_state() -> str:
    """What decided every answer this cache keeps: envsnap's version and the stamp of every module of its code
    (``_defaults.code_stamps``), digested once a process. Every entry's name holds it: an editable envsnap whose
    code changed keeps its version, and an entry keyed by the version alone gave the old code's answer (a lock
    the new code refuses passed as valid)."""
    if not _CODE_STATE:
        text = "\n".join([__version__, *code_stamps()])
        _CODE_STATE.append(hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest())
    return _CODE_STATE[0]


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    return cache_root(RUNS_CACHE, environ)


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    return (os.environ if environ is None else environ).get(CACHE_ENV, "1") != "0"


def site_dirs(python: str) -> list[str]:
    """The site-packages folders of the environment ``python`` belongs to, and of the interpreter it was made
    from (a venv's ``bin/python`` links to it)."""
    import glob

    out: list[str] = []
    for exe in dict.fromkeys((os.path.abspath(python), os.path.realpath(python))):
        prefix = os.path.dirname(os.path.dirname(exe))
        for pattern in (
            "lib/python*/site-packages",
            "lib/python*/dist-packages",
            "lib64/python*/site-packages",
            "local/lib/python*/dist-packages",
        ):
            out.extend(sorted(glob.glob(os.path.join(glob.escape(prefix), pattern))))
    return list(dict.fromkeys(out))


def _stat(path: str) -> str:
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _hash_site(h: Any, site: str) -> None:
    """What installing, removing or reinstalling a distribution in ``site`` changes: its mtime, every RECORD's."""
    h.update(f"\0{site}\0{_stat(site)}".encode())
    for entry in sorted(os.scandir(site), key=lambda e: e.name):
        if entry.name.endswith(".dist-info"):
            record = os.path.join(entry.path, "RECORD")
            h.update(f"\0{entry.name}\0{_stat(record) if os.path.exists(record) else '-'}".encode())


def site_key(site: str) -> str | None:
    """The cache key of what the RECORD files of one site folder say (``libraries.RecordIndex``)."""
    h = hashlib.sha256(f"records\0{code_state()}\0".encode())
    try:
        _hash_site(h, site)
    except OSError:
        return None
    return "records-" + h.hexdigest()


def key(kind: str, lock_digest: str, python: str, extra: Sequence[str] = ()) -> str | None:
    """The cache key of a ``kind`` ("verify" or "capture") of the environment of ``python``; None when some
    part of the environment cannot be read."""
    h = hashlib.sha256(f"{kind}\0{lock_digest}\0{code_state()}\0{os.path.realpath(python)}\0".encode())
    try:
        h.update(_stat(os.path.realpath(python)).encode())
        sites = site_dirs(python)
        if not sites:
            return None
        for site in sites:
            _hash_site(h, site)
        for path in _STATE_FILES:
            if os.path.exists(path):
                with open(path, "rb") as fh:
                    head = fh.read(256) if path.startswith("/proc") or path.startswith("/etc") else b""
                h.update(f"\0{path}\0{_stat(path)}\0".encode() + head)
        for part in extra:
            h.update(f"\0{part}".encode())
    except OSError:
        return None
    return h.hexdigest()


def get(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The entry stored under ``name``, or None (never stored, unreadable, or not what ``put`` wrote, or in a
    folder another user owns or may write: an entry there could say a drifted environment matches its lock)."""
    folder = private_cache_dir(RUNS_CACHE, create=False, environ=environ)
    if folder is None:
        return None
    path = folder / f"{name}.json"
    try:
        st = path.stat()
        if st.st_size > MAX_ENTRY_BYTES or not owned_privately(st):
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != name:
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # the newest entries are the ones kept
    return data


def put(name: str, value: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
    from .._cachedir import store  # imports the grammar on write: not before the command starts (get is enough)

    folder = private_cache_dir(RUNS_CACHE, create=True, environ=environ)
    if folder is None:
        return
    # A cache that cannot be written only costs the next run its time; the newest MAX_ENTRIES are kept.
    store(folder / f"{name}.json", json.dumps({**value, "key": name}).encode(), keep=MAX_ENTRIES)


def get_lock(name: str, environ: Mapping[str, str] | None = None) -> Snapshot | None:
    """The lock ``put_lock`` stored under ``name``, validated again (from its JSON document: a third of the cost
    of parsing its TOML); None when there is none or it is not valid."""
    entry = get(name, environ)
    return lock_of(entry.get("document") if entry is not None else None)


def lock_of(document: Any) -> Snapshot | None:
    """A lock kept as its sealed JSON document, validated again; None when it is not a valid one."""
    from .. import lockfile
    from ..errors import LockfileError

    if not isinstance(document, dict):
        return None
    try:
        return lockfile.from_document(document, origin="the run cache")
    except LockfileError:
        return None


def put_lock(name: str, snapshot: Snapshot, environ: Mapping[str, str] | None = None) -> None:
    from .. import lockfile

    put(name, {"document": lockfile.sealed_document(snapshot)}, environ)


class KeptLock:
    """A lock validated before, to be read once the command runs (``read_lock``): ``load()`` gives it
    (validated again from the run cache's JSON, or parsed); ``kept()`` is its digest and what accounting reads
    of it (``libraries.LockView``), kept in the run cache by ``keep`` once a run has read it, so that a run whose
    verify is answered from its memo makes no lock model."""

    def __init__(self, load: Callable[[], Any], name: str) -> None:
        self.load = load
        self._name = name

    def kept(self, form: int) -> tuple[str, Any, str] | None:
        """The digest, the view (as ``LockView.to_json`` wrote it) and the identity (``lockfile.identity_digest``)
        kept by ``keep``; None when there are none (an entry kept before the identity was, or with an identity of
        another ``form``, ``lockfile.IDENTITY_FORM``, than the one asked for: the lock is read)."""
        entry = get(self._name)
        if entry is None:
            return None
        digest, identity = entry.get("digest"), entry.get("identity")
        if entry.get("form") != form or not (isinstance(identity, str) and identity):
            return None
        if isinstance(digest, str) and digest and "view" in entry:
            return digest, entry["view"], identity
        return None

    def keep(self, digest: str, view: Mapping[str, Any], identity: str, form: int) -> None:
        put(self._name, {"digest": digest, "view": view, "identity": identity, "form": form})
