"""A bundle's own lock as the commands envsnap prints name it: which folder a lock is the bundle lock of, and the
``envsnap pin`` that pins it without rewriting it in place (the bundle then failed its SHA256SUMS). Core, and light:
the check of a fleet node and every export name it, and the bundle module costs a start-up tens of milliseconds."""

from __future__ import annotations

import os

from . import _readlimits, sinks
from ._defaults import ARCHIVE_SUFFIXES, BUNDLE_SUMS, LOCK_NAME
from ._readlimits import archive_folder as archive_folder
from ._readlimits import unpack_beside as unpack_beside
from .errors import BadBundleError


def bundle_holding(lock_path: str | os.PathLike[str]) -> str | None:
    """The folder of the bundle ``lock_path`` is the lock of (its ``envsnap.lock``, ``SHA256SUMS`` beside it, as
    ``envsnap bundle`` writes them), as the user gave it ("." for ``envsnap.lock`` in the working directory); None
    for a lock of no bundle. For a remedy that names the bundle (``--bundle .``), never to trust it: the bundle is
    checked in full where it is given."""
    path = os.fspath(lock_path)
    folder = os.path.dirname(path) or "."
    if os.path.basename(path) != LOCK_NAME or not os.path.isfile(os.path.join(folder, BUNDLE_SUMS)):
        return None
    return folder


def bundle_listing(lock_path: str | os.PathLike[str]) -> str | None:
    """``bundle_holding``'s folder where its ``SHA256SUMS`` also lists ``envsnap.lock``, as every bundle's does: a
    project's own ``SHA256SUMS`` of its data, beside its lock, is no bundle's. Read as a bundle's sums are (a regular
    file, bounded); never to trust the bundle, which is checked in full where it is given."""
    folder = bundle_holding(lock_path)
    if folder is None:
        return None
    try:
        text = _readlimits.read_bytes(os.path.join(folder, BUNDLE_SUMS), error=BadBundleError, limit=64 << 20)
    except BadBundleError:
        return None
    name = LOCK_NAME.encode()
    listed = any(line.split(maxsplit=1)[1:] in ([name], [b"*" + name]) for line in text.splitlines())
    return folder if listed else None


def pinned_beside(folder: str) -> str:
    """Where a remedy has ``envsnap pin -o`` write the pinned lock of the bundle at ``folder`` (as the user gave it),
    for ``envsnap bundle`` to bundle from: beside the bundle, never in it (``B.pinned.lock``; for ``.``,
    ``../envsnap.pinned.lock``). Pinned in place, the bundle's lock no longer matched its SHA256SUMS, and a bundle step
    that then failed left the bundle unreadable until it was bundled again; a file put inside it is one its sums do
    not list."""
    norm = os.path.normpath(folder)
    head, name = os.path.split(norm)
    if name in ("", ".", ".."):
        return os.path.normpath(os.path.join(norm, "..", "envsnap.pinned.lock"))
    return os.path.join(head, f"{name}.pinned.lock")


def pin_then_bundle(lock_arg: str, pinned_to: str = "", unpack: str = "") -> tuple[str, str]:
    """``envsnap pin LOCK`` as a remedy names it, and the lock the bundle is then made from: the same one, pinned in
    place, or for a bundle's own lock the one ``pin -o`` writes beside it (``pinned_to``, a shell word of
    ``pinned_beside``). ``lock_arg`` is a shell word too. ``unpack``: the commands that unpack the bundle archive
    the lock is in first (``unpack_beside``), "" for none."""
    pin = f"envsnap pin {lock_arg}" + (f" -o {pinned_to}" if pinned_to else "")
    return f"{unpack} && {pin}" if unpack else pin, pinned_to or lock_arg


def pin_command(lock_path: str | os.PathLike[str] | None) -> str:
    """The ``envsnap pin`` a message names for the lock the user gave (``lock_path``, as given): its path as one shell
    word (``sinks.path_shown``), with ``-o`` beside the bundle for a bundle's own lock (or a bundle folder given as
    the lock), which ``pin`` does not rewrite in place; for a bundle archive, whose lock has no path until it is
    unpacked, the ``tar -xf`` that unpacks it beside it first (``unpack_beside``) and the pin of the lock it
    unpacks, beside its folder (it said ``envsnap pin LOCK``); ``envsnap pin LOCK`` where none is known (a library
    caller)."""
    if lock_path is None:
        return "envsnap pin LOCK"
    path = os.fspath(lock_path)
    if path.endswith(ARCHIVE_SUFFIXES):
        unpack, unpacked = unpack_beside(path)
        lock = sinks.path_shown(os.path.join(unpacked, LOCK_NAME))
        return pin_then_bundle(lock, sinks.path_shown(pinned_beside(unpacked)), unpack)[0]
    if os.path.isdir(path):
        path = os.path.join(path, LOCK_NAME)
    folder = bundle_lock_written(path)
    pinned_to = sinks.path_shown(pinned_beside(folder)) if folder is not None else ""
    return pin_then_bundle(sinks.path_shown(path), pinned_to)[0]


def bundle_lock_written(path: str) -> str | None:
    """The bundle whose lock writing ``path`` would rewrite in place (``bundle_listing``, through a link too), or
    None: ``envsnap pin`` refuses it, since the bundle no longer matched its SHA256SUMS."""
    for candidate in dict.fromkeys((path, os.path.realpath(path))):
        folder = bundle_listing(candidate)
        if folder is not None:
            return folder
    return None
