"""``file:`` URLs as envsnap reads and writes them: the one percent-decoding of a local URL's path.

A lock records a local install as a ``file:`` URL, percent-encoded as pip writes it (``my proj`` is
``my%20proj``), and sometimes with one of envsnap's labels in place of a root: ``file://{project}/...``
(inside the project), ``file://{prefix}/...`` (inside the captured environment), ``file://~/...`` (under the
home directory). Every reader of such a URL (the fetch policy and the fetchers, pin and bundle, the conda
rebuild, the exporters and importers, the redactor at capture) decodes it here, so they cannot disagree on
which directory a URL names.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

PROJECT = "{project}"
PREFIX = "{prefix}"
HOME = "~"
LABELS = (PROJECT, PREFIX, HOME)
_LABELLED_URLS = tuple("file://" + label for label in LABELS)


def is_file_url(url: str) -> bool:
    return url.startswith("file:")


def is_labelled(url: str) -> bool:
    """Whether ``url`` is a ``file:`` URL with one of envsnap's labels in place of a root (``file://{project}/x``,
    ``file://~/x``): a name only envsnap resolves, not a URL another tool can read."""
    return url.startswith(_LABELLED_URLS)


def decoded_path(url: str) -> str:
    """The percent-decoded path of a ``file:`` URL, a label kept as it is (``file://{project}/my%20proj`` ->
    ``{project}/my proj``, ``file:///tmp/my%20proj`` -> ``/tmp/my proj``, ``file:/x`` -> ``/x``); a host
    (``file://localhost/x``) is not part of the path. ``url`` must be a ``file:`` URL."""
    rest = url[len("file://") :] if url.startswith("file://") else url[len("file:") :]
    if rest.startswith(("{", HOME)):
        return unquote(rest)
    return unquote(urlsplit(url).path)


# The folder ``rebuild --bundle X.tar.gz`` unpacks the archive into (``_leftovers.held_dir`` "rebuild", then
# ``open_bundle``'s ``bundle/``), removed when the rebuild ends.
UNPACKED_BUNDLE = "a bundle archive unpacked to a temporary folder, since removed: its sha256 names the file"


def in_unpacked_bundle(url: str) -> bool:
    """Whether ``url`` is a wheel in the temporary folder a rebuild unpacked a bundle archive to
    (``file:///tmp/.envsnap-rebuild-XXXX/bundle/wheels/F.whl``): a venv rebuild installs the wheels the bundle built
    by their file, so direct_url.json named that folder, gone once the rebuild ended (a rebuild now writes the lock's
    source there instead: ``rebuild.venv._record_sources``; a venv an earlier envsnap rebuilt still names it). Its
    sha256 is what names the file; the folder says only that it came from an archive (docs/design.md)."""
    if not is_file_url(url) or is_labelled(url):
        return False
    parts = decoded_path(url).split("/")
    return (
        len(parts) >= 4
        and parts[-4].startswith(".envsnap-rebuild-")
        and parts[-3:-1] == ["bundle", "wheels"]
        and parts[-1].endswith(".whl")
    )


def pattern_path(pattern: str) -> str:
    """The path a ``file:`` URL pattern (``--allow-url``) names, percent-decoded: ``file:///x``,
    ``file://localhost/x`` and ``file:/x`` alike. Not split as a URL: ``?`` is a wildcard there, not a query."""
    rest = pattern[len("file://") :] if pattern.startswith("file://") else pattern[len("file:") :]
    rest = rest[len("localhost") :] if rest.startswith("localhost/") else rest
    return unquote(rest)


def file_url_path(url: str) -> str:
    """The local path of a ``file:`` URL, percent-decoded; envsnap's ``{project}`` label becomes relative
    (an export is meant to sit at the project's root). Anything else is returned as it is."""
    if not is_file_url(url):
        return url
    path = decoded_path(url)
    if path == PROJECT:
        return "."
    if path.startswith(PROJECT + "/"):
        return posixpath.normpath(path[len(PROJECT) + 1 :])
    return path


def path_url(path: str) -> str:
    """The inverse of ``file_url_path``: a relative path is under envsnap's ``{project}`` label."""
    if path.startswith(HOME):
        return "file://" + quote(path, safe="/~")
    if posixpath.isabs(path):
        return "file://" + quote(path)
    relative = posixpath.normpath(path)
    return "file://{project}" if relative == "." else "file://{project}/" + quote(relative)


def local_path(url: str) -> Path | None:
    """The local path of a ``file:`` URL or a plain path, ``~`` expanded; None for a remote URL. The one
    reading of "local" that the fetch policy and the fetchers share, so what the policy calls a local path is
    the path that gets read. A ``{project}``/``{prefix}`` label stays in the path: only a caller that knows
    the project resolves it (``pin.local_dir``)."""
    if is_file_url(url):
        path = decoded_path(url)
    elif "://" not in url:
        path = url
    else:
        return None
    return Path(os.path.expanduser(path)) if path.startswith(HOME) else Path(path)


def tail_below(path: str, root: str, *, encoded: bool) -> str | None:
    """What follows the directory ``root`` in ``path``, as written (``""`` for ``root`` itself, else ``/...``);
    None when ``path`` does not lie in ``root``. ``encoded``: ``path`` is a URL's path, compared percent-decoded
    segment by segment, so ``/tmp/my%20proj/src`` lies in ``/tmp/my proj`` and its tail keeps its encoding."""
    root_parts = root.rstrip("/").split("/")
    parts = path.split("/")
    head = parts[: len(root_parts)]
    if len(parts) < len(root_parts) or ([unquote(p) for p in head] if encoded else head) != root_parts:
        return None
    return "".join("/" + part for part in parts[len(root_parts) :])


__all__ = [
    "HOME",
    "LABELS",
    "PREFIX",
    "PROJECT",
    "UNPACKED_BUNDLE",
    "decoded_path",
    "file_url_path",
    "in_unpacked_bundle",
    "is_file_url",
    "is_labelled",
    "local_path",
    "path_url",
    "tail_below",
]
