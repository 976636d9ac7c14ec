"""``envsnap pin``: recover the exact file every index-installed package came from.

Installed environments keep no wheel hashes (pypa/pip#4732). For each package installed from an index, the
recorded name + version + wheel tag names one wheel file; pin looks for it on the indexes pip and uv are
configured with (index-url, extra-index-url, find-links, cert; from pip's and uv's config files and ``PIP_*`` and
``UV_*`` variables: ``read_pip_config``), reads
its sha256 from the index (PEP 691 JSON, else PEP 503 HTML), downloads it, checks that hash, and proves it is
the same content by comparing the wheel's RECORD digest with the installed one. What cannot be pinned is
listed with the reason; VCS installs keep their url + commit (the bundle builds a wheel from them).
"""

from __future__ import annotations

import configparser
import dataclasses
import datetime as _dt
import functools
import hashlib
import os
import shutil
import stat
import sys
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .. import _leftovers, _readlimits, fileurls
from .._defaults import ARTIFACTS_CACHE, make_folder
from .._defaults import cache_dir as cache_dir_for
from .._fetchpolicy import (
    FILE_HINT,
    FetchPolicy,
    FetchRefusedError,
    allowances,
    folder_allowance,
    local_path,
    repository_allowance,
    trusted_locations,
)
from .._frozen import frozen
from .._fs import join_base_name, join_relative
from .._localurls import here as here  # re-exported: the rule lives in the core, which verify's remedy sees
from .._localurls import local_dir as local_dir
from .._prehash import file_digests, open_regular, sha256_file
from .._privacy import HOST, USER, PathRedactor, hidden_names, scrub_package, strip_credentials
from ..errors import PinError, UnsafeInputError
from ..grammar import has_control, is_file_size, is_sha256_hex, shown, timestamp
from ..interchange import PYPI_SIMPLE, file_in_folder, file_url, is_find_links
from ..lockfile import PIN_NOTE
from ..model import LEGACY_VERSION_REASON, Artifact, Candidate, Meta, Platform, PythonPackage, Snapshot
from ..platforms import machine, macos_release, major_minor, numbers, target_machine
from ..probes.records import wheel_record_digest
from ..wheeltags import TagOrder, tag_order
from .peercache import from_pip_cache
from .releases import same_release as same_release  # re-exported: pinning and the bundle's check share it
from .releases import sdist_matches as sdist_matches

# pip's own default index, when its configuration names none (the one spelling: interchange.PYPI_SIMPLE)
PYPI = PYPI_SIMPLE
FETCH_TIMEOUT = 60.0
# An index page is read whole: a page larger than this (a lock may name the index) is refused.
MAX_INDEX_PAGE = 128 * 1024 * 1024
# The most one download may write when its size is not known in advance: more than any wheel or conda
# package (the largest CUDA ones are a few GiB), so an endless response cannot fill the disk.
MAX_DOWNLOAD = 64 * 1024 * 1024 * 1024
_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
WARNING_PREFIX = PIN_NOTE  # what identity_digest leaves out: a pin note changes no environment


# ------------------------------------------------------------------------------------------ pip's config


@frozen
class IndexConfig:
    """Where pip would look for packages."""

    index_url: str = PYPI
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    cert: str | None = None
    no_index: bool = False
    cache_dir: str = ""  # pip's own cache-dir setting (its http cache is read for files already downloaded)
    # uv's named indexes' credentials from ``UV_INDEX_{NAME}_USERNAME`` / ``_PASSWORD`` (``uv_index_credentials``):
    # (the location, ``user:password``, ``UV_INDEX_{NAME}``), kept out of repr so that no message shows them
    credentials: tuple[tuple[str, str, str], ...] = dataclasses.field(default=(), repr=False)

    @property
    def indexes(self) -> tuple[str, ...]:
        return () if self.no_index else (self.index_url, *self.extra_index_urls)


def check_recordable(config: IndexConfig) -> None:
    """``PinError`` (exit 2) for a configured index or find-links location that a lock cannot record as a file's
    ``index`` (``grammar.is_location``: ``https://h/${X}/simple``, which the loader refuses): a pin that writes its
    lock checks before anything is read, as it refuses a configuration file it cannot use, so that it never writes a
    lock it would refuse to load. Judged as recorded: without the user and password, which no lock keeps."""
    from ..grammar import is_location, location_refused_reason

    for setting, locations in (("index", config.indexes), ("find-links location", config.find_links)):
        for location in locations:
            recorded = strip_credentials(location)
            if not is_location(recorded):
                raise PinError(
                    f"the configured {setting} {shown(recorded, 200)} cannot be recorded in a lock "
                    f"({location_refused_reason(recorded)}): correct it in pip's or uv's configuration (pip config "
                    "list shows pip's; PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, uv.toml, UV_INDEX, "
                    "UV_FIND_LINKS), nothing was read or written"
                )


def local_find_links(config: IndexConfig) -> tuple[str, ...]:
    """The configured find-links locations that are folders on this machine (``PIP_FIND_LINKS=/data/wheels``,
    ``find-links = ./wheels``): what ``--offline`` still reads. A page of links (a URL, or a local HTML file whose
    links may name any host) is not a folder."""
    return tuple(loc for loc in config.find_links if (path := local_path(loc)) is not None and path.is_dir())


def offline_config(config: IndexConfig) -> IndexConfig:
    """``config`` as ``--offline`` reads it: no index, only its local find-links folders (a folder here is not the
    network; its files are taken only by name and the locked hash or RECORD digest, as any configured location's)."""
    return dataclasses.replace(config, no_index=True, extra_index_urls=(), find_links=local_find_links(config))


def pip_config_files(environ: Mapping[str, str] | None = None) -> list[Path]:
    """pip's configuration files in the order pip reads them (later ones override earlier ones)."""
    env = os.environ if environ is None else environ
    if "PIP_CONFIG_FILE" in env and env["PIP_CONFIG_FILE"] == os.devnull:
        return []
    xdg_dirs = env.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":")
    home = Path(env.get("HOME", str(Path.home())))
    xdg_home = Path(env.get("XDG_CONFIG_HOME", str(home / ".config")))
    files = [Path(d) / "pip" / "pip.conf" for d in reversed(xdg_dirs) if d]
    files.append(Path("/etc/pip.conf"))
    files += [home / ".pip" / "pip.conf", xdg_home / "pip" / "pip.conf"]
    files.append(Path(sys.prefix) / "pip.conf")
    if env.get("PIP_CONFIG_FILE"):
        files.append(Path(env["PIP_CONFIG_FILE"]))
    return files


def read_pip_config(
    environ: Mapping[str, str] | None = None,
    files: Sequence[Path] | None = None,
    uv_files: Sequence[Path] | None = None,
) -> IndexConfig:
    """The index configuration envsnap fetches with: pip's and uv's, each setting (the default index, the extra
    indexes, find-links, no-index) from the last of these that sets it: pip's files, uv's files (``uv.toml``),
    the ``PIP_*`` variables, the ``UV_*`` variables. A variable beats a file, as it does in both tools; between
    the two tools uv's setting wins, as envsnap installs with uv (docs/design.md, "pip's and uv's index
    settings"). ``cert`` and ``cache-dir`` are pip's."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for path in pip_config_files(env) if files is None else files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise PinError(f"{path}: not a valid pip configuration file: {exc}") from None
        for section in ("global", "install"):  # the command's own section overrides [global]
            if parser.has_section(section):
                for key, value in parser.items(section):
                    values[key.replace("_", "-")] = value
    settings: dict[str, Any] = {}
    if "index-url" in values and values["index-url"].strip():
        settings["index-url"] = values["index-url"].strip()
    for key in ("extra-index-url", "find-links"):
        if key in values:
            settings[key] = tuple(values[key].split())
    if "no-index" in values:
        settings["no-index"] = _boolish(values["no-index"])
    if uv_files is None:
        uv_files = uv_config_files(env)
        named = env.get("UV_CONFIG_FILE", "")
        if named and uv_files and not uv_files[0].is_file():  # uv stops there too: no index is silently dropped
            raise PinError(f"UV_CONFIG_FILE names {named}, which is not a file")
    settings.update(_uv_files_settings(uv_files))
    names = settings.pop("names", ())
    pip_vars = {key: "PIP_" + key.upper().replace("-", "_") for key in ("index-url", "extra-index-url", "find-links")}
    for key, var in pip_vars.items():
        if var in env:
            settings[key] = env[var].strip() if key == "index-url" else tuple(env[var].split())
    if "PIP_NO_INDEX" in env:
        settings["no-index"] = _boolish(env["PIP_NO_INDEX"])
    settings.update(_uv_env_settings(env))
    names = (*names, *settings.pop("names", ()))
    for key in ("cert", "cache-dir"):
        var = "PIP_" + key.upper().replace("-", "_")
        if var in env:
            values[key] = env[var]
    config = IndexConfig(
        index_url=settings.get("index-url") or PYPI,
        extra_index_urls=tuple(dict.fromkeys(settings.get("extra-index-url", ()))),
        find_links=tuple(dict.fromkeys(settings.get("find-links", ()))),
        cert=values.get("cert", "").strip() or None,
        no_index=bool(settings.get("no-index", False)),
        cache_dir=values.get("cache-dir", "").strip(),
    )
    return uv_index_credentials(config, names, env)


def uv_index_env_name(name: str) -> str:
    """The variable prefix of uv's index ``name``, as uv spells it: ``UV_INDEX_`` and the name upper-cased, each
    character other than an ASCII letter or digit written ``_`` (``lab-mirror.v2``: ``UV_INDEX_LAB_MIRROR_V2``)."""
    return "UV_INDEX_" + "".join(c.upper() if c.isascii() and c.isalnum() else "_" for c in name)


def uv_index_credentials(
    config: IndexConfig, names: Iterable[tuple[str, str]], environ: Mapping[str, str]
) -> IndexConfig:
    """``config`` with the credentials uv gives its named indexes: for each (name, URL) of uv's settings that is
    one of the configured locations, ``UV_INDEX_{NAME}_USERNAME`` and ``UV_INDEX_{NAME}_PASSWORD`` when either is
    set (a missing one is empty). As in uv they beat a ``user:password@`` the URL gives, which is then dropped
    from the location; the password is sent only as ``httpclient.credentials_by_origin`` says, never written."""
    from . import httpclient

    found: dict[str, tuple[str, str]] = {}
    for name, url in names:
        prefix = uv_index_env_name(name)
        user, password = environ.get(prefix + "_USERNAME"), environ.get(prefix + "_PASSWORD")
        if user is not None or password is not None:
            found[httpclient.split_auth(url)[0]] = (f"{user or ''}:{password or ''}", prefix)
    if not found:
        return config

    def plain(urls: Iterable[str]) -> tuple[str, ...]:
        out = (httpclient.split_auth(u)[0] if httpclient.split_auth(u)[0] in found else u for u in urls)
        return tuple(dict.fromkeys(out))

    index_url, *extra = plain((config.index_url, *config.extra_index_urls))
    find_links = plain(config.find_links)
    used = (index_url, *extra, *find_links) if not config.no_index else find_links
    credentials = tuple((url, *found[url]) for url in dict.fromkeys(used) if url in found)
    return dataclasses.replace(
        config, index_url=index_url, extra_index_urls=tuple(extra), find_links=find_links, credentials=credentials
    )


def _boolish(value: str) -> bool:
    """pip's and uv's spelling of a true setting (``1``, ``true``, ``yes``, ``on``; uv also ``y`` and ``t``)."""
    return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")


def uv_config_files(environ: Mapping[str, str] | None = None) -> list[Path]:
    """uv's configuration files envsnap reads, lowest priority first: the system one (the first of
    ``$XDG_CONFIG_DIRS/uv/uv.toml`` and ``/etc/uv/uv.toml`` that exists), then the user's
    (``$XDG_CONFIG_HOME/uv/uv.toml``, ``~/.config/uv/uv.toml``); ``UV_CONFIG_FILE`` instead of both; none with
    ``UV_NO_CONFIG``. A project's own ``uv.toml`` or ``[tool.uv]`` is not read: a checked-out repository does not
    choose where envsnap downloads from (name it in ``UV_CONFIG_FILE`` to use it)."""
    env = os.environ if environ is None else environ
    if _boolish(env.get("UV_NO_CONFIG", "")):
        return []
    if env.get("UV_CONFIG_FILE"):
        return [Path(env["UV_CONFIG_FILE"])]
    home = Path(env.get("HOME", str(Path.home())))
    xdg_home = Path(env.get("XDG_CONFIG_HOME") or str(home / ".config"))
    system_dirs = [d for d in (env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":") if d]
    system = [Path(d) / "uv" / "uv.toml" for d in system_dirs] + [Path("/etc/uv/uv.toml")]
    found = [path for path in system if path.is_file()][:1]
    return [*found, xdg_home / "uv" / "uv.toml"]


def _uv_files_settings(paths: Sequence[Path]) -> dict[str, Any]:
    """The index settings of uv's files merged as uv merges them: a later file's value replaces an earlier one's,
    a later file's list comes first."""
    merged: dict[str, Any] = {}
    for path in paths:
        for key, value in _uv_file_settings(path).items():
            if isinstance(value, tuple):
                merged[key] = (*value, *merged.get(key, ()))
            else:
                merged[key] = value
    return merged


def _uv_file_settings(path: Path) -> dict[str, Any]:
    """The index settings of one ``uv.toml``: ``index-url``, ``extra-index-url``, ``find-links`` and ``no-index``
    (its ``[pip]`` table's, which ``uv pip`` reads, over the top level's), and its ``[[index]]`` entries: the one
    with ``default = true`` is the default index, a ``format = "flat"`` one a find-links location, every other
    one an extra index, before ``extra-index-url`` (as uv asks them)."""
    from .._toml import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise PinError(f"{path}: cannot read uv's configuration file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PinError(f"{path}: not a valid uv configuration file: {exc}") from None

    def bad(what: str) -> PinError:
        return PinError(f"{path}: not a valid uv configuration file: {what}")

    def strings(table: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad(f"{key} is not a list of strings")
        return tuple(v.strip() for v in value if v.strip())

    plain: dict[str, Any] = {}
    pip_table = data.get("pip", {})
    if not isinstance(pip_table, dict):
        raise bad("[pip] is not a table")
    for table in (data, pip_table):
        if "index-url" in table:
            if not isinstance(table["index-url"], str):
                raise bad("index-url is not a string")
            plain["index-url"] = table["index-url"].strip()
        for key in ("extra-index-url", "find-links"):
            if key in table:
                plain[key] = strings(table, key)
        if "no-index" in table:
            if not isinstance(table["no-index"], bool):
                raise bad("no-index is not true or false")
            plain["no-index"] = table["no-index"]
    default, extra, flat, names = [], [], [], []
    entries = data.get("index", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise bad("index is not an array of tables ([[index]])")
    for entry in entries:
        url = entry.get("url")
        if not isinstance(url, str) or not url.strip():
            raise bad("an [[index]] has no url")
        if "name" in entry:
            if not isinstance(entry["name"], str) or not _is_uv_index_name(entry["name"]):
                raise bad(f"an [[index]] name is not letters, digits, '-', '_' and '.': {shown(entry['name'])}")
            names.append((entry["name"], url.strip()))
        if entry.get("format") == "flat":
            flat.append(url.strip())
        elif entry.get("default") is True:
            default.append(url.strip())
        else:
            extra.append(url.strip())
    settings: dict[str, Any] = {}
    if default or plain.get("index-url"):
        settings["index-url"] = default[0] if default else plain["index-url"]
    if extra or "extra-index-url" in plain:
        settings["extra-index-url"] = (*extra, *plain.get("extra-index-url", ()))
    if flat or "find-links" in plain:
        settings["find-links"] = (*plain.get("find-links", ()), *flat)
    if "no-index" in plain:
        settings["no-index"] = plain["no-index"]
    if names:
        settings["names"] = tuple(names)
    return settings


def _uv_env_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The index settings of uv's variables: ``UV_DEFAULT_INDEX`` (else the older ``UV_INDEX_URL``), ``UV_INDEX``
    then ``UV_EXTRA_INDEX_URL``, each split as uv splits it (``_uv_index_items``, ``_uv_extra_index_items``),
    ``UV_FIND_LINKS`` (comma-separated), ``UV_NO_INDEX``. ``NAME=URL`` is the URL in ``UV_DEFAULT_INDEX`` and
    ``UV_INDEX`` only: uv reads the older two as a URL or path alone, a name and all."""
    settings: dict[str, Any] = {}
    default = _uv_url_text(env.get("UV_DEFAULT_INDEX", ""))
    if default:
        settings["index-url"] = _uv_index_url(default)
    elif _uv_url_text(env.get("UV_INDEX_URL", "")):
        settings["index-url"] = _uv_url_text(env["UV_INDEX_URL"])
    index = _uv_index_items(env.get("UV_INDEX", ""))
    extra = [*map(_uv_index_url, index), *_uv_extra_index_items(env.get("UV_EXTRA_INDEX_URL", ""))]
    if extra:
        settings["extra-index-url"] = tuple(extra)
    # the names uv gives these indexes (``NAME=URL``; the older variables take none), for their credentials
    items = [default, *index] if default else index
    pairs = tuple((name, url.strip()) for name, sep, url in (i.partition("=") for i in items) if sep)
    if any(_is_uv_index_name(name) for name, _url in pairs):
        settings["names"] = tuple((name, url) for name, url in pairs if _is_uv_index_name(name))
    if env.get("UV_FIND_LINKS", "").strip():
        settings["find-links"] = tuple(item.strip() for item in env["UV_FIND_LINKS"].split(",") if item.strip())
    if "UV_NO_INDEX" in env:
        settings["no-index"] = _boolish(env["UV_NO_INDEX"])
    return settings


# The characters Rust's ``char::is_whitespace`` takes (Unicode's White_Space), at which uv splits ``UV_INDEX``
# (``str::split_whitespace``): Python's ``str.split()`` also splits at U+001C..U+001F.
_UV_WHITE_SPACE = dict.fromkeys(
    (*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000), " "
)
# What a URL parser (WHATWG's, uv's ``url`` crate) drops from a URL anywhere in it: ASCII tab and line breaks.
_URL_DROPPED = {0x09: None, 0x0A: None, 0x0D: None}
_URL_TRIMMED = "".join(map(chr, range(0x21)))  # and from either end: C0 controls and space


def _uv_index_items(value: str) -> list[str]:
    """``UV_INDEX``'s items as uv reads them: split at any white space, as pip splits ``PIP_EXTRA_INDEX_URL``
    (uv's ``parse_indices``, ``split_whitespace``), a line break included."""
    return [item for item in value.translate(_UV_WHITE_SPACE).split(" ") if item]


def _uv_extra_index_items(value: str) -> list[str]:
    """``UV_EXTRA_INDEX_URL``'s items as uv reads them: split at spaces alone, its documented "space-separated list"
    (clap's ``value_delimiter = ' '``), each then read as a URL is, a tab or line break in it dropped and C0 controls
    at its ends trimmed: two URLs on two lines are one item to uv, the second after the first, and so to envsnap (it
    looked for files on the second, an index uv never reads)."""
    items = (_uv_url_text(item) for item in value.split(" "))
    return [item for item in items if item]


def _uv_url_text(value: str) -> str:
    """A value uv reads as one URL (``UV_DEFAULT_INDEX``, ``UV_INDEX_URL``, an item of ``UV_EXTRA_INDEX_URL``) as
    its URL parser reads it: a tab or line break anywhere in it dropped, C0 controls and spaces at its ends trimmed."""
    return value.translate(_URL_DROPPED).strip(_URL_TRIMMED)


def _uv_index_url(item: str) -> str:
    """The URL of a ``UV_INDEX`` item, which may be ``NAME=URL`` (a name is letters, digits, ``-``, ``_``, ``.``)."""
    name, sep, url = item.partition("=")
    if sep and _is_uv_index_name(name):
        return url.strip()
    return item.strip()


def _is_uv_index_name(name: str) -> bool:
    """uv's rule for an index's name: ASCII letters, digits, ``-``, ``_`` and ``.``."""
    return bool(name) and all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)


# -------------------------------------------------------------------------------------- reading indexes


@frozen
class IndexFile:
    """One file an index lists for a project."""

    filename: str
    url: str
    sha256: str = ""
    size: int = 0
    upload_time: str = ""
    index: str = ""
    # Listed by an index the user configured (or found in a configured find-links folder): fetched as is.
    # Anything else (a lock's artifact URL, an imported index) is fetched only as the FetchPolicy allows.
    trusted: bool = False
    # ``sha256`` is the one the lock pins (a lock's artifact fetched again), not what an index lists: a file that
    # hashes otherwise was replaced at its URL since the lock was pinned, and is said so.
    pinned: bool = False
    # Found by its name and the lock's sha256 on a configured index or find-links folder, in place of the lock's own
    # URL (refused, or gone): another file there is not one "replaced since the lock was pinned" at a place the lock
    # never named.
    refound: bool = False
    # A file the lock names by its name in the find-links folder it records (no URL of its own: an import's): its
    # URL is that folder's, made here, which no refusal may call the lock's.
    in_lock_folder: bool = False

    def artifact(self, sha256: str, path: Path) -> Artifact:
        """What a lock records of this file once fetched to ``path`` with ``sha256``: its URL without
        credentials, its size (as the index said, else as downloaded)."""
        return Artifact(
            filename=self.filename,
            url=strip_credentials(self.url),
            sha256=sha256,
            size=self.size or path.stat().st_size,
            upload_time=self.upload_time,
            index=self.index,
        )


# What a server answers for a file that is not (any longer) at its URL.
GONE_STATUSES = (404, 410)


class DownloadError(PinError):
    """A download failed; ``status`` is the HTTP status when the server answered with one (0 otherwise)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class Fetcher:
    """Reads index pages and files over http(s) (with pip's certificate bundle) or from the file system.

    A ``checked`` read is one a lock chose: the caller has asked the ``policy`` about the URL already, and
    every redirect is asked again (an allowed https host may not bounce envsnap to 127.0.0.1)."""

    def __init__(self, cert: str | None = None, timeout: float = FETCH_TIMEOUT, policy: FetchPolicy | None = None):
        self.timeout = timeout
        self.cert = cert
        self.policy = policy or FetchPolicy()
        # The configured indexes' passwords by origin (``httpclient.credentials_by_origin``; ``Pinner`` sets them)
        self.credentials: dict[tuple[str, str], str] = {}
        # Where the credentials of an origin came from when not from its URL (``UV_INDEX_LAB``), for the 401 hint
        self.credential_vars: dict[tuple[str, str], str] = {}
        self._pages: dict[tuple[str, bool], tuple[bytes, str, str]] = {}
        # What to change after a 401 (``_auth_hint``), by origin (``http://host:port``). Said with the error, where
        # one error stops the run; where ``collect_hints`` is set (``pin`` and ``bundle``, which list every
        # package's problem: a lock of 150 packages on an index with a wrong password said it 150 times), only
        # kept here, for the caller to say once per index after the list (``hint_lines``, ``PinResult.hints``).
        self.auth_hints: dict[str, str] = {}
        self.collect_hints = False
        self._hints_lock = threading.Lock()
        self.offline = False  # ``--offline``: a URL that is not a path on this machine is never read

    def _refuse_remote(self, url: str) -> None:
        if self.offline and local_path(url) is None:
            raise PinError(f"{strip_credentials(url)[:200]}: not read, --offline reads only files on this machine")

    def get(self, url: str, accept: str = "*/*", *, checked: bool = False) -> tuple[bytes, str, str]:
        """(body, content type, final url). A missing page is an empty body, other failures ``PinError``."""
        if (url, checked) in self._pages:
            return self._pages[(url, checked)]
        if checked:
            self.policy.check(url, "index")
        self._refuse_remote(url)
        local = local_path(url)
        page = self._read_local(local, url) if local is not None else self._read_http(url, accept, checked)
        self._pages[(url, checked)] = page
        return page

    def _read_local(self, path: Path, url: str) -> tuple[bytes, str, str]:
        if path.is_dir():
            index = path / "index.html"
            if not index.is_file():
                return b"", "directory", url
            path = index
        if not path.exists():
            return b"", "", url
        body = _readlimits.read_bytes(path, error=PinError, what="index page", limit=MAX_INDEX_PAGE)
        return body, "text/html", url

    def _open(self, url: str, accept: str, checked: bool, headers: Mapping[str, str] | None = None) -> Any:
        """(response, final url) through the process's kept-alive connections; a ``checked`` read asks the policy
        about every redirect."""
        from . import httpclient

        try:
            httpclient.ssl_context(self.cert)
        except OSError as exc:  # ssl.SSLError too; said per package it would read "cannot reach the index"
            raise PinError(
                f"pip's cert {self.cert}: cannot load the certificate bundle ({getattr(exc, 'strerror', None) or exc})"
            ) from None
        return httpclient.open_url(
            url,
            cafile=self.cert,
            timeout=self.timeout,
            accept=accept,
            headers=headers,
            check_redirect=(lambda target: self.policy.check(target, "redirect to")) if checked else None,
            credentials=self.credentials,
        )

    def _read_http(self, url: str, accept: str, checked: bool = False) -> tuple[bytes, str, str]:
        from . import httpclient

        try:
            response, final = self._open(url, accept, checked)
            body = b""
            for chunk in httpclient.chunks(response):
                body += chunk
                if len(body) > MAX_INDEX_PAGE:
                    httpclient.release(response, drain=False)
                    raise PinError(f"{strip_credentials(url)}: the index page is larger than {MAX_INDEX_PAGE} bytes")
            return body, response.headers.get("Content-Type", ""), final
        except httpclient.HTTPStatusError as exc:
            if exc.code == 404:
                return b"", "", httpclient.split_auth(url)[0]
            hint = self._auth_hint(url, exc.code)
            raise PinError(f"{strip_credentials(url)}: HTTP {exc.code} {exc.reason}{hint}") from None
        except httpclient.TransportError as exc:
            raise PinError(f"{strip_credentials(url)}: cannot reach the index ({exc.reason})") from None

    def download(
        self, url: str, dest: Path, *, checked: bool = False, size: int = 0, partial: Path | None = None
    ) -> str:
        """Copy ``url`` to ``dest`` (atomically: a reader sees no part of it until it is complete); return its
        sha256. ``checked``: a URL a lock chose, asked of the fetch policy first. ``size``: the expected size
        when known; a response longer than that (or than ``MAX_DOWNLOAD``) is cut off with ``DownloadError``.
        ``partial``: where the bytes received are kept if the download is interrupted; a later call with the same
        ``partial`` asks the server for the rest only (a server that ignores the range sends it all again).
        The one downloader of wheels, sdists and conda archives: the caller checks the hash it returns (of the
        whole file, resumed or not)."""
        if checked:
            self.policy.check(url, "file")
        self._refuse_remote(url)
        limit = size if size > 0 else MAX_DOWNLOAD
        dest.parent.mkdir(parents=True, exist_ok=True)
        if partial is not None and local_path(url) is None:
            resumed = self._resume(url, dest, partial, checked=checked, limit=limit)
            if resumed is not None:
                return resumed
        digest = hashlib.sha256()
        written = 0
        # Held while written (a download cache is shared by every run): `envsnap clean` removes the file a killed
        # download left, and `clean --cache` keeps the one a running download writes.
        with _leftovers.held_file(dest.parent, dest.name, "download") as (out, tmp):
            for chunk in self._stream(url, checked):
                written += len(chunk)
                if written > limit:
                    raise DownloadError(
                        f"{strip_credentials(url)}: cannot download (larger than the {limit} bytes expected)"
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.replace(tmp, dest)
        return digest.hexdigest()

    def _resume(self, url: str, dest: Path, partial: Path, *, checked: bool, limit: int) -> str | None:
        """``download`` through ``partial``: what it holds is kept and only the rest asked for (``Range``).
        None when another process holds ``partial`` (it is downloading the same file) or it is no plain file (a
        link, a folder, a FIFO: never read or written): the caller downloads a private copy instead."""
        import fcntl

        from . import httpclient

        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError:  # a link or a folder someone left there: not ours to resume
            return None
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or a device
            os.close(fd)
            return None
        with os.fdopen(fd, "r+b") as out:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return None
            digest = hashlib.sha256()
            have = 0
            while have <= limit and (chunk := out.read(1 << 20)):
                digest.update(chunk)
                have += len(chunk)
            if have > limit:
                have, digest = 0, hashlib.sha256()
            try:
                response = None
                try:
                    headers = {"Range": f"bytes={have}-"} if have else None
                    response, _final = self._open(url, "*/*", checked, headers)
                except httpclient.HTTPStatusError as exc:
                    if exc.code != 416 or not have:  # 416: the range lies past the end (a longer stale file)
                        raise
                    have, digest = 0, hashlib.sha256()
                    response, _final = self._open(url, "*/*", checked)
                if have and not _continues_at(response, have):
                    have, digest = 0, hashlib.sha256()  # the server sends the whole file: start again from zero
                out.seek(have)
                out.truncate()
                written = have
                for chunk in httpclient.chunks(response):
                    written += len(chunk)
                    if written > limit:
                        httpclient.release(response, drain=False)
                        partial.unlink(missing_ok=True)
                        raise DownloadError(
                            f"{strip_credentials(url)}: cannot download (larger than the {limit} bytes expected)"
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
            except (httpclient.HTTPStatusError, httpclient.TransportError) as exc:
                raise _download_error(url, exc, self._auth_hint(url, getattr(exc, "code", 0))) from None
            os.replace(partial, dest)  # still held: no other process appends to it meanwhile
        return digest.hexdigest()

    def hint_lines(self) -> tuple[str, ...]:
        """Each index's 401 remedy, ``ORIGIN: hint``, in the order of the origins."""
        with self._hints_lock:
            return tuple(f"{origin}: {hint}" for origin, hint in sorted(self.auth_hints.items()))

    def _auth_hint(self, url: str, code: int) -> str:
        """What to change after a 401 (pip also reads ``~/.netrc`` and a keyring, which envsnap does not), or ``""``."""
        from . import httpclient

        if code != 401:
            return ""
        clean, auth = httpclient.split_auth(url)
        var = "" if auth else self.credential_vars.get(httpclient.url_origin(clean), "")
        if var:
            hint = f"the index refused the user and password {var}_USERNAME and {var}_PASSWORD give"
        elif auth or self.credentials.get(httpclient.url_origin(clean)):
            hint = (
                "the index refused the user and password its URL gives (check them in PIP_INDEX_URL, pip.conf, "
                "UV_INDEX_URL or uv.toml)"
            )
        else:
            hint = (
                "the index asks for a password: give it in the index URL (https://USER:PASSWORD@HOST/...) in "
                "PIP_INDEX_URL, pip.conf, UV_INDEX_URL or uv.toml, or name the index for uv and set "
                "UV_INDEX_{NAME}_USERNAME and UV_INDEX_{NAME}_PASSWORD; envsnap reads no .netrc or keyring"
            )
        parts = urlsplit(clean)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._hints_lock:
            self.auth_hints.setdefault(origin, hint)
        return "" if self.collect_hints else f": {hint}"

    def _stream(self, url: str, checked: bool = False) -> Iterable[bytes]:
        from . import httpclient

        local = local_path(url)
        try:
            if local is not None:
                # A regular file only, opened non-blocking: a pipe a stranger's folder holds would wait for ever.
                with open_regular(local) as handle:
                    while chunk := handle.read(1 << 20):
                        yield chunk
                return
            response, _final = self._open(url, "*/*", checked)
            yield from httpclient.chunks(response)
        except (httpclient.HTTPStatusError, httpclient.TransportError) as exc:
            raise _download_error(url, exc, self._auth_hint(url, getattr(exc, "code", 0))) from None
        except OSError as exc:
            raise DownloadError(f"{strip_credentials(url)}: cannot download ({exc.strerror or exc})") from None


def _continues_at(response: Any, offset: int) -> bool:
    """A ``206`` whose ``Content-Range`` starts at ``offset``: the rest of the file, to append."""
    if response.status != 206:
        return False
    unit, _, spec = response.headers.get("Content-Range", "").partition(" ")
    start = spec.partition("-")[0]
    return unit.strip().lower() == "bytes" and start.isdigit() and int(start) == offset


def _download_error(url: str, exc: Exception, hint: str = "") -> DownloadError:
    from . import httpclient

    if isinstance(exc, httpclient.HTTPStatusError):
        return DownloadError(f"{strip_credentials(url)}: cannot download ({exc.reason or exc}){hint}", exc.code)
    return DownloadError(f"{strip_credentials(url)}: cannot download ({exc})")


class HiddenNamePathError(PinError):
    """A local path recorded with the login name or the host name hidden (``file:///tmp/x/<user>/repo``), as capture
    writes one (docs/security.md): it names no folder on any machine, and ``--project`` cannot help: bad input."""


# What capture writes for the login name and the host name in a path, and what each hides.
_HIDDEN = ((USER, "login name"), (HOST, "host name"))


# What a lock's URL that names no place here (``hidden_names``) asks for instead of ``--allow-url``.
CONFIGURE_HINT = (
    "configure the folder or index that holds the file for pip (PIP_FIND_LINKS=DIR or PIP_INDEX_URL=URL; for uv: "
    "UV_FIND_LINKS or UV_INDEX_URL), which finds it by name and sha256"
)


def local_project_dir(url: str, project_dir: Path | None) -> Path:
    """The folder of a local project or git repository the lock records (``local_dir``), or
    ``HiddenNamePathError`` for a path that holds ``<user>`` or ``<host>`` where nothing is: "does not exist (name
    the project with --project DIR)" did not help."""
    local = local_dir(url, project_dir)
    hidden = [what for label, what in _HIDDEN if label in str(local)]
    if hidden and not local.exists():
        label = USER if hidden[0] == "login name" else HOST
        raise HiddenNamePathError(
            f"{url[:200]}: the path was recorded without the {' and '.join(hidden)} (capture writes {label} for it, "
            "docs/security.md), so it names no folder here: install the project from a path that does not hold it (or "
            "from inside the git work tree capture runs in, whose paths are kept as written) and capture again"
        )
    return local


def relabelled(snapshot: Snapshot, read_from: Path, written_to: Path) -> Snapshot:
    """``snapshot``, whose ``file://{project}/...`` URLs name places under ``read_from``, as a lock written where
    ``{project}`` is ``written_to`` records them: under ``{project}`` where the place lies there too, else by its
    label-free path (``~/...`` in the home, else absolute), as an import records a path outside the lock's folder
    (``pin LOCK -o other/x.lock`` outside any work tree, docs/design.md), and so are the warnings' paths. A label that
    leads out of ``read_from`` is kept as it is: every reader refuses it, as before."""
    # The name rules too: a place the new folder does not hold is written by its path, which may hold the login name
    # (/scratch/alice/proj/libs/x), as an import's or capture's would.
    redactor = PathRedactor(project=str(written_to))

    def moved(url: str) -> str:
        if not url.startswith("file://" + fileurls.PROJECT):
            return url
        base, mark, fragment = url.partition("#")
        try:
            place = join_relative(read_from, fileurls.file_url_path(base), "{project} path")
        except UnsafeInputError:
            return url
        local = redactor.local(os.path.normpath(place.absolute()))
        # Below a label as written (a folder of the project); anywhere else without the login and host names.
        return (local if fileurls.is_labelled(local) else redactor.url(local)) + mark + fragment

    python = dataclasses.replace(
        snapshot.python, packages=tuple(_folder_kept(p, scrub_package(p, moved)) for p in snapshot.python.packages)
    )
    conda = snapshot.conda
    if conda is not None:
        conda = dataclasses.replace(
            conda,
            channels=tuple(moved(c) for c in conda.channels),
            packages=tuple(dataclasses.replace(p, url=moved(p.url), channel=moved(p.channel)) for p in conda.packages),
        )
    # A warning names a place as the lock's URLs do ("--find-links {project}/wheels is not recorded"): likewise.
    warnings = tuple(
        redactor.text(w.replace(fileurls.PROJECT + "/", str(read_from) + "/")) if fileurls.PROJECT + "/" in w else w
        for w in snapshot.envsnap.warnings
    )
    moved_from, moved_to = _move_marks(snapshot.envsnap, read_from, written_to, moved)
    meta = dataclasses.replace(snapshot.envsnap, warnings=warnings, moved_from=moved_from, moved_to=moved_to)
    return dataclasses.replace(snapshot, envsnap=meta, python=python, conda=conda)


def _folder_kept(before: PythonPackage, after: PythonPackage) -> PythonPackage:
    """``after`` (``before`` relabelled) with the find-links folder its import recorded its file in, by its label and
    no URL (``file://{project}/wheels``), written by its path where the move left it outside the new lock's folder,
    as an import records a folder there (``/lab/wheels``): as a ``file:`` URL it read as a package index
    (``interchange.is_find_links``), and the export of the lock wrote ``--index-url file:///lab/wheels``, a folder pip
    cannot read as one."""
    art, old = after.artifact, before.artifact
    if art is None or old is None or art.url or art.index == old.index or not is_find_links(old.index):
        return after
    if fileurls.is_labelled(art.index) or not fileurls.is_file_url(art.index):
        return after
    return dataclasses.replace(after, artifact=dataclasses.replace(art, index=fileurls.decoded_path(art.index)))


def _move_marks(meta: Meta, read_from: Path, written_to: Path, moved: Callable[[str], str]) -> tuple[str, str]:
    """``envsnap.moved_from`` and ``moved_to`` of a lock ``relabelled`` wrote: the folder it was read from as the
    new lock names it, and the new lock's folder relative to that one where it lies inside it (``sub/dir``), so that
    its identity reads each place back (``lockfile.identity_digest``: a move is no other environment, and a run
    recorded with the lock takes the moved copy as its own). A lock moved before keeps its marks, moved the same
    way, where that composes; where it does not (a second move into a folder inside the first, or out of one),
    it gets none, and its identity is that of the places as written."""
    from ..lockfile import is_folder_url, is_relative_folder

    none = ("", "")
    inside = Path(os.path.relpath(written_to, read_from)).as_posix()
    to = "" if inside == ".." or inside.startswith("../") or os.path.isabs(inside) else inside
    if meta.moved_from and (to or meta.moved_to):
        return none
    came = moved(meta.moved_from or "file://" + fileurls.PROJECT)
    if not is_folder_url(came, ("project", "home", "absolute")) or (to and not is_relative_folder(to)):
        return none  # a place relabelled cannot name (a label leading out of the folder): no marks, as before
    return came, to


def hidden_by_the_move(before: Snapshot, after: Snapshot) -> list[tuple[str, list[str], str]]:
    """The places ``relabelled`` wrote without a name they hold (``file:///scratch/<user>/proj/libs/x``: outside the
    new lock's folder, by a path holding the login name), by package: its name, those places and what they hide
    ("login name"). Such a place names nothing (bundle and rebuild refuse a project there, and look for a file on
    the configured indexes alone): ``pin -o`` says so when it writes one."""
    pairs: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    for old, new in zip(before.python.packages, after.python.packages, strict=True):
        pairs.append((new.name, _places(old), _places(new)))
    if before.conda is not None and after.conda is not None:
        for c_old, c_new in zip(before.conda.packages, after.conda.packages, strict=True):
            pairs.append((c_new.name, (c_old.url,), (c_new.url,)))
    found = []
    for name, was, now in pairs:
        moved = [url for old, url in zip(was, now, strict=True) if url != old and url.startswith("file:")]
        hidden = {url: hidden_names(url) for url in dict.fromkeys(moved)}
        places = [url for url, what in hidden.items() if what]
        if places:
            found.append((name, places, " and ".join(sorted({hidden[url] for url in places}))))
    return found


def _places(pkg: PythonPackage) -> tuple[str, ...]:
    """The places a package's entry names: its source's URL, its file's and that file's index."""
    art = pkg.artifact
    return (pkg.source.url, *((art.url, art.index) if art is not None else ("", "")))


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, dict[str, str]]] = []
        self._href: str | None = None
        self._attrs: dict[str, str] = {}
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._attrs = {k: v or "" for k, v in attrs}
            self._href = self._attrs.get("href")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip(), self._attrs))
            self._href = None


def parse_simple_html(text: str, base_url: str, index: str = "", *, trusted: bool = False) -> list[IndexFile]:
    """PEP 503 project page -> its files (hash from the ``#sha256=`` fragment when given)."""
    parser = _Anchors()
    parser.feed(text)
    out = []
    for href, label, _attrs in parser.links:
        url = urljoin(base_url, href)
        path, _, fragment = url.partition("#")
        filename = unquote(path.rstrip("/").rsplit("/", 1)[-1]) or label
        algo, _, value = fragment.partition("=")
        out.append(
            IndexFile(
                filename=filename, url=path, sha256=value if algo == "sha256" else "", index=index, trusted=trusted
            )
        )
    return out


def parse_simple_json(
    data: Mapping[str, object], base_url: str, index: str = "", *, trusted: bool = False
) -> list[IndexFile]:
    """PEP 691 project page -> its files, with sizes and upload times where the index gives them."""
    out = []
    files = data.get("files")
    if not isinstance(files, list):
        raise PinError(f"{strip_credentials(base_url)}: JSON project page has no 'files' list")
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            continue
        hashes = entry.get("hashes") if isinstance(entry.get("hashes"), dict) else {}
        size = entry.get("size")
        out.append(
            IndexFile(
                filename=entry["filename"],
                url=urljoin(base_url, str(entry.get("url", ""))).partition("#")[0],
                sha256=str(hashes.get("sha256", "")) if hashes else "",
                size=size if is_file_size(size) else 0,  # a bool is an int, and no size
                upload_time=str(entry.get("upload-time", "") or ""),
                index=index,
                trusted=trusted,
            )
        )
    return out


def project_files(fetcher: Fetcher, index_url: str, name: str, *, trusted: bool = True) -> list[IndexFile]:
    """The files one index lists for project ``name`` (empty when the index does not have it). ``trusted``:
    the user configured this index (its files are fetched as listed); else a lock named it (checked)."""
    url = index_url.rstrip("/") + "/" + canonicalize_name(name) + "/"
    body, content_type, final = fetcher.get(url, _ACCEPT, checked=not trusted)
    if not body:
        return []
    label = strip_credentials(index_url)
    if "json" in content_type:
        text = body.decode("utf-8", "replace")
        data = _readlimits.load_json(text, origin=f"{label}: the JSON project page for {shown(name)}", error=PinError)
        if not isinstance(data, dict):
            raise PinError(f"{label}: invalid JSON project page for {shown(name)}")
        return parse_simple_json(data, final, label, trusted=trusted)
    return parse_simple_html(body.decode("utf-8", "replace"), final, label, trusted=trusted)


def find_links_files(fetcher: Fetcher, location: str, *, trusted: bool = True) -> list[IndexFile]:
    """Files from a ``--find-links`` location: a local directory or an HTML page of links. ``trusted``: the user
    configured it; else a lock named it, the fetch policy allowed it, and the links of its page are checked as a
    lock's URLs are (a folder's own files are the allowed folder's)."""
    local = local_path(location)
    label = strip_credentials(location)
    if local is not None and local.is_dir():
        return [
            IndexFile(filename=p.name, url=p.resolve().as_uri(), index=label, trusted=True)
            for p in sorted(local.iterdir())
            if p.is_file() and p.name.endswith((".whl", ".tar.gz", ".zip"))
        ]
    body, _type, final = fetcher.get(location, "text/html", checked=not trusted)
    return parse_simple_html(body.decode("utf-8", "replace"), final, label, trusted=trusted) if body else []


# ---------------------------------------------------------------------------------------------- matching


def wheel_matches(filename: str, pkg: PythonPackage) -> bool:
    """True when ``filename`` is a wheel of this name and version carrying exactly the recorded tags."""
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
        same_version = version == Version(pkg.version)
    except (InvalidWheelFilename, InvalidVersion):
        return False
    return name == canonicalize_name(pkg.name) and same_version and {str(t) for t in tags} == set(pkg.wheel_tags)


def target_tags(
    python_version: str = "", implementation: str = "", platform: Platform | None = None, platform_tag: str = ""
) -> TagOrder:
    """The wheel tags an installer on the lock's platform accepts for the locked Python, best first
    (``packaging.tags``): this host's own when the lock names no other machine, OS or C library (the running
    interpreter's when it also does not say or says the same minor release); else those of ``platform``
    (``platform_tags``, a Mac's release read from its interpreter's ``platform_tag`` too)."""
    from packaging import tags

    parts = numbers(python_version)[:2]
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    others = platform_tags(platform, platform_tag) if platform is not None else None
    if others is None and (
        len(parts) < 2 or major_minor(python_version) == running or implementation not in ("", "cpython")
    ):
        return TagOrder(tags.sys_tags())
    if len(parts) < 2:  # another platform, no Python version recorded: the running one's, as on this host
        parts = (sys.version_info.major, sys.version_info.minor)
    version = (parts[0], parts[1])
    # This host's platforms where the lock names none other (``platform_tags``), another Python release on them.
    return tag_order(version, f"cp{parts[0]}{parts[1]}", others if others is not None else list(tags.platform_tags()))


# The oldest glibc a manylinux wheel may ask for (PEP 600's manylinux_2_17 = manylinux2014), and the newest
# taken when a lock of another machine does not record its glibc version.
_MANYLINUX_FLOOR = 17
_MANYLINUX_CEILING = 39


def platform_tags(platform: Platform, platform_tag: str = "") -> list[str] | None:
    """The wheel platform tags of the lock's ``platform``, best first, or ``None`` when it is this host's own
    (or names no system and machine): an imported lock of an aarch64 Linux or a Mac gets the wheels of that
    machine, never this host's. A Mac's release is read as compat reads it (``platforms.macos_release``: its
    ``os_version``, else its Darwin kernel, else its interpreter's ``platform_tag``). Where the lock does not
    record its glibc (or macOS) version, the wheel that asks for the oldest one ranks first: it runs on every
    release of that platform the others do."""
    import platform as _host

    # the machine as compat reads it (``platforms.target_machine``: a Mac's from its interpreter where none is recorded)
    system, arch = platform.system, target_machine(platform.system, platform.machine, platform_tag)
    host_libc = "glibc" if _host.libc_ver()[0] == "glibc" else ("musl" if sys.platform == "linux" else "")
    if not system or not arch:
        return None
    if (
        system == _host.system()
        and machine(arch) == machine(_host.machine())
        and (not platform.libc or platform.libc == host_libc)
    ):
        return None
    if system == "Windows":
        return [{"x86_64": "win_amd64", "aarch64": "win_arm64", "i686": "win32"}.get(arch, f"win_{arch}")]
    if system == "Darwin":
        from packaging import tags

        arch = "arm64" if arch == "aarch64" else arch
        # mac_platforms lists every release from the one given down to 10.0: a stranger's 999999999.0 or
        # 10.999999999 is no release (a billion of them), taken as unknown (``is_macos_release``).
        release, _arch = macos_release(platform.os_version, platform.kernel, platform_tag)
        if release is not None:
            return list(tags.mac_platforms(release, arch))
        return list(reversed(list(tags.mac_platforms((15, 0), arch))))
    if system != "Linux":
        return [f"{system.lower()}_{arch}"]
    if platform.libc == "musl":
        minor = numbers(platform.libc_version)[1:2]
        found = [f"musllinux_1_{m}_{arch}" for m in range(minor[0] if minor else 2, -1, -1)]
        return [*(found if minor else reversed(found)), f"linux_{arch}"]
    glibc = numbers(platform.libc_version)
    if len(glibc) >= 2 and glibc[0] == 2:
        minors = list(range(glibc[1], _MANYLINUX_FLOOR - 1, -1))
    else:
        minors = list(range(_MANYLINUX_FLOOR, _MANYLINUX_CEILING + 1))
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    found = []
    for m in minors:
        found.append(f"manylinux_2_{m}_{arch}")
        if m in legacy:
            found.append(f"{legacy[m]}_{arch}")
    return [*found, f"linux_{arch}"]


def best_wheel(filenames: Iterable[str], wanted: TagOrder) -> tuple[str | None, str]:
    """The wheel among ``filenames`` whose tags rank best in ``wanted``, and, when none fits, why."""
    best: tuple[int, str] | None = None
    seen: list[str] = []
    for filename in filenames:
        try:
            _name, _version, _build, file_tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue
        seen.append(filename)
        score = min((r for t in file_tags if (r := wanted.rank(str(t))) is not None), default=None)
        if score is not None and (best is None or score < best[0]):
            best = (score, filename)
    if best is not None:
        return best[1], ""
    if not seen:
        return None, "no wheel among them"
    listed = ", ".join(sorted(seen)[:3]) + (f" and {len(seen) - 3} more" if len(seen) > 3 else "")
    return None, f"none of its {len(seen)} wheels fits this target ({wanted[0] if wanted else '?'}): {listed}"


# ----------------------------------------------------------------------------------------------- pinning


@frozen
class PinOutcome:
    name: str
    version: str
    status: str  # pinned | kept (VCS url + commit) | unpinned | skipped (conda's)
    reason: str = ""
    artifact: Artifact | None = None
    # No configured index or find-links location lists any file of this release: pip records no --find-links, so
    # a wheel installed from such a folder is captured as an index install that no index has (``FIND_LINKS_HINT``).
    unlisted: bool = False
    # Left unpinned because the fetch policy refused a URL the lock names (``FetchRefusedError``): bad input that
    # ``--allow-url`` answers, which ``bundle`` refuses with exit 2 as it refuses a pinned file's refused URL.
    refused: bool = False


class PolicyRefusal(str):
    """A line saying that a place the lock names is not read because the fetch policy refuses it (``--allow-url``
    reads it), told apart from the other reasons a place is not read (``--offline``, not on this machine)."""

    __slots__ = ()


def _unpinned(pkg: PythonPackage, exc: Exception, prefix: str = "") -> PinOutcome:
    """``pkg`` left unpinned by ``exc``, said after ``prefix``; ``refused`` where the fetch policy refused it."""
    return PinOutcome(pkg.name, pkg.version, "unpinned", f"{prefix}{exc}", refused=isinstance(exc, FetchRefusedError))


# Said once beside the packages no configured location lists: what makes envsnap find a --find-links install
# (``find_links_hint`` names the installer that installed them: this for pip, or none recorded).
FIND_LINKS_HINT = (
    "a package pip installed from a --find-links folder is found once pip is configured with that folder: "
    "PIP_FIND_LINKS=DIR or find-links in pip.conf (for uv: UV_FIND_LINKS=DIR or find-links in uv.toml; a project's "
    "[tool.uv] find-links, which uv export leaves out of its file, is not read)"
)
_UV_FIND_LINKS_HINT = (
    "a package uv installed from a --find-links folder is found once uv is configured with that folder: "
    "UV_FIND_LINKS=DIR or find-links in uv.toml (a project's [tool.uv] find-links, which uv export leaves out of its "
    "file, is not read; for pip: PIP_FIND_LINKS=DIR or find-links in pip.conf)"
)
_BOTH_FIND_LINKS_HINT = (
    "a package pip or uv installed from a --find-links folder is found once the installer is configured with that "
    "folder: for pip PIP_FIND_LINKS=DIR or find-links in pip.conf, for uv UV_FIND_LINKS=DIR or find-links in uv.toml "
    "(a project's [tool.uv] find-links, which uv export leaves out of its file, is not read)"
)


def _unlisted(files: Iterable[IndexFile], pkg: PythonPackage) -> bool:
    """Whether none of the files the configured locations list is of ``pkg``'s release: a wheel installed from a
    ``--find-links`` folder no one configured, whether the lock was captured or imported (``FIND_LINKS_HINT``)."""
    return not any(same_release(f.filename, pkg) for f in files)


def find_links_hint(installers: Iterable[str]) -> str:
    """``FIND_LINKS_HINT`` naming the installer of the packages it is said for (their ``installer``, the INSTALLER
    file: uv writes ``uv``), and that installer's setting first: it said "a package pip installed" of a package uv
    installed. Only pip and uv are named (a lock's value is never printed); any other, or none recorded, reads as
    pip's, whose settings envsnap reads."""
    known = {i for i in installers if i in ("pip", "uv")}
    if known == {"uv"}:
        return _UV_FIND_LINKS_HINT
    return _BOTH_FIND_LINKS_HINT if known == {"pip", "uv"} else FIND_LINKS_HINT


@frozen
class PinResult:
    snapshot: Snapshot
    outcomes: tuple[PinOutcome, ...]
    # Said once after the list: what to change for an index that answered 401 ("ORIGIN: hint"), one per index.
    hints: tuple[str, ...] = ()
    # Packages pinned, but whose file the lock names by a path on this machine that is not there (a moved
    # find-links folder), nor in the cache or a configured place: "NAME VERSION: why" (``Pinner.missing_here``).
    unreachable: tuple[str, ...] = ()
    # Packages pinned, but whose file the lock names by a path on this machine that ``bundle`` refuses to read
    # without ``--allow-url`` (an import's find-links folder): "NAME VERSION: why" (``Pinner.refused_here``).
    refused: tuple[str, ...] = ()
    # Packages a dpkg package installed, pinned to the index's file of their name and version, another build of the
    # release (``stand_in_note``): "NAME VERSION: note", each also a ``pin: `` warning of the lock.
    stand_ins: tuple[str, ...] = ()

    def by_status(self, status: str) -> list[PinOutcome]:
        return [o for o in self.outcomes if o.status == status]

    def find_links_hint(self, outcomes: Iterable[PinOutcome] | None = None) -> str:
        """The hint for the unpinned packages no configured location lists (of ``outcomes``, else all), naming
        the installer that installed them (``find_links_hint``); "" where there are none."""
        unlisted = [
            o for o in (self.outcomes if outcomes is None else outcomes) if o.status == "unpinned" and o.unlisted
        ]
        if not unlisted:
            return ""
        return find_links_hint(
            pkg.installer for o in unlisted for pkg in [self.snapshot.package(o.name)] if pkg is not None
        )


# Where Linux distributions keep the wheels their ``ensurepip`` seeds a venv with (Debian and Ubuntu patch
# ``python3 -m venv`` to use this folder; CPython's ``--with-wheel-pkg-dir`` names its own, read from sysconfig).
# Their pip and setuptools are the distribution's rebuilds, whose files match no upstream wheel: found here,
# proven by their RECORD digest like any other file, they pin, bundle and rebuild the venv as it was seeded.
DISTRIBUTION_WHEEL_DIRS = ("/usr/share/python-wheels",)


def seed_wheel_dirs() -> tuple[str, ...]:
    """The existing folders of seed wheels on this machine: the distributions' (``DISTRIBUTION_WHEEL_DIRS``,
    sysconfig's ``WHEEL_PKG_DIR``), then this Python's ``ensurepip/_bundled``, the upstream pip and setuptools
    wheels ``python3 -m venv`` of a CPython from python.org, pyenv or uv seeds a venv with (``bundle --offline``
    of a fresh venv finds them on no find-links folder)."""
    import sysconfig

    configured = sysconfig.get_config_var("WHEEL_PKG_DIR")
    found = [
        *DISTRIBUTION_WHEEL_DIRS,
        *([configured] if isinstance(configured, str) and configured else []),
        ensurepip_wheel_dir(),
    ]
    return tuple(dict.fromkeys(d for d in found if os.path.isabs(d) and os.path.isdir(d)))


def ensurepip_wheel_dir() -> str:
    """This Python's ``ensurepip/_bundled``: the upstream pip and setuptools wheels its ``venv`` seeds with."""
    import sysconfig

    return os.path.join(sysconfig.get_path("stdlib"), "ensurepip", "_bundled")


def seed_wheels(digests: Iterable[str]) -> dict[str, Path]:
    """The wheels of this machine's seed-wheel folders (``seed_wheel_dirs``: envsnap's own list, never a folder a
    lock names) whose sha256 is one of ``digests``, by that sha256. A lock records a seed wheel by its file name
    and sha256 alone (``located``); an export names this machine's copy of that very file, for a distribution's
    rebuild (Debian's pip) is on no index. Every regular ``*.whl`` of the folders is hashed (a few files): the
    lock's file name builds no path."""
    wanted = {d for d in digests if is_sha256_hex(d)}
    found: dict[str, Path] = {}
    buffer = bytearray(1 << 20)
    for folder in seed_wheel_dirs() if wanted else ():
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            path = Path(folder, name)
            try:
                digest = sha256_file(path, buffer) if name.endswith(".whl") else ""
            except OSError:  # a link to nothing, a pipe, a folder: not a wheel of the folder
                continue
            if digest in wanted:
                found.setdefault(digest, path)
    return found


def _from_seed_folder(url: str) -> bool:
    """Whether ``url`` is a file of a seed-wheel folder of this machine (``seed_wheel_dirs``: a distribution's
    ``/usr/share/python-wheels``, this Python's ``ensurepip/_bundled``; ``find_links_files`` writes it resolved)."""
    path = local_path(url) if fileurls.is_file_url(url) and not fileurls.is_labelled(url) else None
    return path is not None and str(path.parent) in {os.path.realpath(d) for d in seed_wheel_dirs()}


def with_seed_wheels(config: IndexConfig) -> IndexConfig:
    """``config`` with this machine's seed-wheel folders as the last find-links locations."""
    extra = tuple(d for d in seed_wheel_dirs() if d not in config.find_links)
    return dataclasses.replace(config, find_links=(*config.find_links, *extra)) if extra else config


def check_git_url(policy: FetchPolicy, pkg: PythonPackage, *, named: bool = True) -> None:
    """The one rule ``bundle`` and ``pin`` ask of a VCS install's URL before it is cloned: a repository recorded under
    ``{project}`` or ``~`` is the user's own, read from this machine; any other is judged by the fetch policy, a
    local one (``git+file:///srv/libs/mylib``) included: ``FetchRefusedError`` naming ``--allow-url``, and the package
    unless ``named`` is false (a caller whose line names it already)."""
    if pkg.source.url.startswith(("file://" + fileurls.PROJECT, "file://~")):
        return
    try:
        policy.check(pkg.source.url, f"{pkg.name}: git URL" if named else "git URL", repository=True)
    except FetchRefusedError as exc:
        # The refusal of a repository that is here names the pattern to pass, as pin's does (it said "--allow-url
        # PATTERN", a pattern to work out and a path with a space to quote).
        pattern = _repository_pattern(exc, pkg.source.url)
        if pattern is None:
            raise
        raise FetchRefusedError(f"{exc.refusal} (pass --allow-url {pattern} to allow it)", exc.refusal) from None


def policy_for(config: IndexConfig, allow_urls: Sequence[str] = ()) -> FetchPolicy:
    """The fetch policy for a run: the configured indexes and find-links are trusted, plus ``allow_urls``."""
    return FetchPolicy(allowances(allow_urls), trusted_locations(config.indexes, config.find_links))


def _same_file_name(a: str, b: str) -> bool:
    """Two spellings of one distribution file's name: an index lists ``MarkupSafe-3.0.2-...whl`` where uv's lock
    writes ``markupsafe-3.0.2-...whl`` (the project name normalised); name, version, build and tags compared."""
    if a == b:
        return True
    try:
        if a.endswith(".whl") and b.endswith(".whl"):
            return parse_wheel_filename(a) == parse_wheel_filename(b)
        if not a.endswith(".whl") and not b.endswith(".whl"):
            return parse_sdist_filename(a) == parse_sdist_filename(b) and a.rsplit(".", 1)[-1] == b.rsplit(".", 1)[-1]
    except (InvalidWheelFilename, InvalidSdistFilename):
        return False
    return False


def cached_path(cache_dir: Path, sha256: str, filename: str) -> Path:
    """Where a downloaded artifact is kept: content-addressed, so a re-run fetches nothing twice. Both parts
    come from a lock or an index page: checked before they name a path."""
    if not is_sha256_hex(sha256):
        raise UnsafeInputError(f"{filename[:80]!r}: not a valid sha256 hex digest: {sha256[:80]!r}")
    return join_base_name(cache_dir / sha256[:2] / sha256, filename)


def cached_names(cache_dir: Path, sha256: str) -> list[str]:
    """The file names the download cache holds under ``sha256`` (``cached_path``'s folder), sorted; [] for none or
    an invalid digest. What ``--offline`` takes of a file a lock names by its sha256 alone."""
    if not is_sha256_hex(sha256):
        return []
    try:
        with os.scandir(cache_dir / sha256[:2] / sha256) as entries:
            return sorted(e.name for e in entries if e.is_file(follow_symlinks=False) and not e.name.startswith("."))
    except OSError:
        return []


def stand_in_note(pkg: PythonPackage) -> str:
    """What pin, bundle and rebuild say of a distribution a dpkg package installed (``system_package``) that the lock
    pins to the index's file of its name and version: that file is another build of the release (Debian built
    PyYAML 6.0 itself), a stand-in, not the installed files; "" for any other package."""
    if not pkg.system_package or pkg.artifact is None:
        return ""
    return (
        f"installed by the Debian package {pkg.system_package}; pinned to the index's file of that version, another "
        "build of the same release"
    )


def file_identity(path: Path, filename: str) -> tuple[str, ...]:
    """The identifying headers (``_sameproject.identity``) of a distribution file's metadata: a wheel's top-level
    ``*.dist-info/METADATA``, an sdist's ``PKG-INFO`` in its one top folder (a ``.tar.gz`` or ``.zip``). The file is
    an index's, untrusted: only a member of that exact place is read, at most ``MAX_HEAD`` bytes of it, and an
    sdist's tar is read for at most ``_MAX_MEMBERS`` members; () where none is found or the file is not readable."""
    import tarfile
    import zipfile

    from .._sameproject import MAX_HEAD, header_text, identity

    try:
        if filename.endswith((".whl", ".zip")):
            with zipfile.ZipFile(path) as archive:
                wheel = filename.endswith(".whl")
                for info in archive.infolist():
                    parts = info.filename.split("/")
                    wanted = (
                        len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA"
                        if wheel
                        else len(parts) == 2 and parts[1] == "PKG-INFO"
                    )
                    if wanted and not info.is_dir():
                        with archive.open(info) as handle:
                            return identity(header_text(handle.read(MAX_HEAD)))
            return ()
        if filename.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(path) as tar:
                for _ in range(_MAX_MEMBERS):
                    member = tar.next()
                    if member is None or tar.offset > _MAX_TAR_BYTES:
                        break
                    parts = member.name.split("/")
                    if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile():
                        member_file = tar.extractfile(member)
                        return identity(header_text(member_file.read(MAX_HEAD))) if member_file is not None else ()
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, ValueError, RuntimeError):
        return ()
    return ()


# Of an sdist's tar, looked through for its PKG-INFO (setuptools writes it among the first members): so many members,
# so many bytes unpacked.
_MAX_MEMBERS = 10_000
_MAX_TAR_BYTES = 1 << 30


def unchecked_stand_in(pkg: PythonPackage) -> bool:
    """A stand-in (``stand_in_note``) of a lock that records no ``identity`` of the installed distribution: one an
    envsnap before that field chose by its name alone, which pin and bundle look up again (and refuse: there is
    nothing to compare the file with), never keep as pinned."""
    return bool(stand_in_note(pkg)) and not pkg.identity and pkg.artifact is not None and not pkg.artifact.rebuilt


def no_identity_refusal(pkg: PythonPackage) -> str:
    """Why no index file may stand in for a dpkg-owned distribution the lock records no ``identity`` of."""
    return (
        f"installed by the Debian package {pkg.system_package}; the lock records no identity of it (its Summary, "
        "Home-page, Project-URL or Author: a lock written before envsnap recorded them, which a capture again does, "
        "or metadata that gives none), so no index file can be shown to be the same project: not pinned to one as a "
        "stand-in"
    )


def unchecked_stand_ins_said(packages: Sequence[PythonPackage]) -> tuple[int, str]:
    """How many of ``packages`` are unchecked stand-ins (``unchecked_stand_in``), and the first said with its refusal,
    naming three more at most (``pyyaml 6.0 (and six 1.16.0): installed by the Debian package ...``); (0, "") for
    none. What ``rebuild`` and ``export`` refuse such a lock with, before any work: its file would be installed
    unchecked, where ``pin`` and ``bundle`` look it up again and refuse it."""
    from ..report import first_few

    unchecked = [p for p in packages if unchecked_stand_in(p)]
    if not unchecked:
        return 0, ""
    first = unchecked[0]
    others = f" (and {first_few([f'{p.name} {p.version}' for p in unchecked[1:]], 3)})" if unchecked[1:] else ""
    return len(unchecked), f"{first.name} {first.version}{others}: {no_identity_refusal(first)}"


# What a refusal of an unchecked stand-in says to do first: the capture again that records its identity.
CAPTURE_AGAIN = (
    "capture the environment again where it is installed (`envsnap capture -o NEW.lock` records its identity)"
)


def stand_in_refusal(pkg: PythonPackage, why: Sequence[tuple[str, str]]) -> str:
    """Why none of the index's files of a dpkg-owned distribution's name and version may stand in for it, each
    ``(filename, why)`` of ``why``: its metadata is not evidence of the same project (``_sameproject.disagreement``:
    Debian's ``crit`` is criu's image tool, the index's ``crit`` another project), or it could not be read."""
    if len(why) == 1:
        ((filename, reason),) = why
        return (
            f"installed by the Debian package {pkg.system_package}; the index's {filename} is not known to be the "
            f"same project ({reason}): not pinned to it as a stand-in"
        )
    shown = "; ".join(f"{filename}: {reason}" for filename, reason in why[:_MAX_SHOWN])
    more = f"; and {len(why) - _MAX_SHOWN} more" if len(why) > _MAX_SHOWN else ""
    return (
        f"installed by the Debian package {pkg.system_package}; none of the index's {len(why)} files of that version "
        f"that fit this target is known to be the same project ({shown}{more}): not pinned to one as a stand-in"
    )


_MAX_SHOWN = 3  # files a refused stand-in's line names, with why each was refused


def untagged_reason(pkg: PythonPackage, imported: bool) -> str:
    """Why pin refuses an index package the lock records with no WHEEL tags (an ``.egg-info`` or legacy install, as
    Debian's ``python3-*`` packages leave them), known from the lock alone, before anything is looked up; "" for one
    it would look up (tagged, or imported by name and version, ``imported``: the file that fits the target)."""
    if pkg.wheel_tags or (imported and not pkg.record_digest) or pkg.system_package:
        return ""  # a dpkg package's (python3-six's egg-info): the index's file of the release stands in for it
    # What to do: a wheel installed in its place is one a pin can prove (``pip`` leaves a base's copy, which a Debian
    # python3-* package installed, where it is: outside the venv).
    from ..sinks import shell_word

    reinstall = f"pip install --force-reinstall --no-deps {shell_word(f'{pkg.name}=={pkg.version}')}"
    where = (
        "the base interpreter's (venv --system-site-packages), as a system package installs it; "
        if pkg.base_site
        else ""
    )
    return (
        "no WHEEL tags recorded (an egg-info or legacy install): the installed file cannot be identified; "
        f"{where}install it from a wheel into the environment (`{reinstall}`, where an index has it) and capture again"
    )


class Pinner:
    """Pins packages against one index configuration, downloading each candidate once into a cache."""

    def __init__(
        self,
        config: IndexConfig,
        cache_dir: Path,
        fetcher: Fetcher | None = None,
        tags: TagOrder | Sequence[str] | None = None,
        allow_urls: Sequence[str] = (),
        exclude_newer: _dt.datetime | None = None,
        offline: bool = False,
    ):
        # The indexes read online: ``--offline`` takes a file of theirs from the download cache by its hash alone.
        self.online_indexes = frozenset(index.rstrip("/") for index in config.indexes)
        # ``--offline``: only the configured find-links folders on this machine (and the download cache) are read.
        config = with_seed_wheels(offline_config(config) if offline else config)
        # ``rebuild --as-of``: an index's files count only when it says they were uploaded before this moment
        # (the rule of uv's --exclude-newer; a file without an upload time is not used, never guessed).
        self.exclude_newer = exclude_newer
        self.config = config
        self.cache_dir = cache_dir
        self.policy = policy_for(config, allow_urls)
        self.fetcher = fetcher or Fetcher(config.cert, policy=self.policy)
        self.fetcher.policy = self.policy
        self.fetcher.offline = offline
        from . import httpclient

        # pip sends an index's password with the files its pages list on the same host, not only with the pages
        given = [(url, auth) for url, auth, _var in config.credentials]
        self.fetcher.credentials = httpclient.credentials_by_origin((*config.indexes, *config.find_links), given)
        self.fetcher.credential_vars = {httpclient.url_origin(url): var for url, _auth, var in config.credentials}
        self.tags = TagOrder(tags) if tags is not None else target_tags()
        self.imported = False  # the lock came from `envsnap import`: no installed file was ever recorded
        self.project_dir: Path | None = None  # what "{project}" means in a local project's URL

    def _project_files(self, index: str, name: str, *, trusted: bool = True) -> list[IndexFile]:
        """``project_files``, less the files uploaded after ``exclude_newer`` (or without an upload time)."""
        files = project_files(self.fetcher, index, name, trusted=trusted)
        cutoff = self.exclude_newer
        return files if cutoff is None else [f for f in files if uploaded_before(f.upload_time, cutoff)]

    @property
    def offline(self) -> bool:
        """``--offline``: only the configured find-links folders on this machine and the download cache are read
        (its fetcher refuses any other URL)."""
        return self.fetcher.offline

    def _where(self) -> str:
        """The configured indexes, as the reasons name them (with the cutoff when there is one; under ``--offline``
        the find-links folders on this machine, all that is read)."""
        if self.offline:
            return "the find-links folders on this machine (--offline reads nothing else)"
        if self.exclude_newer is None:
            return "the configured indexes"
        return f"the configured indexes (files uploaded before {self.exclude_newer:%Y-%m-%dT%H:%M:%SZ})"

    def candidates(self, pkg: PythonPackage) -> list[IndexFile]:
        files: list[IndexFile] = []
        for index in self.config.indexes:
            files += self._project_files(index, pkg.name)
        for location in self.config.find_links:
            files += find_links_files(self.fetcher, location)
        return files

    def fetch(self, file: IndexFile) -> tuple[Path, str]:
        """The file in the cache and its sha256, checked against the index's hash when it gave one.

        A file that is not ``trusted`` (its URL came from a lock) is read only as the fetch policy allows, asked
        before anything is read or the cache is looked at. A refused one is looked for again on the configured
        indexes by file name and sha256 (a lock pinned against a local index rebuilds wherever that index is
        configured); when no configured index lists it, ``FetchRefusedError``, whatever the cache holds (an
        earlier ``--allow-url`` run's copy is no proof of a URL this run does not allow)."""
        source = self._source(file)
        if isinstance(source, Path):
            return source, file.sha256
        file = source
        tmp_dir = self.cache_dir / ".incoming"
        partial = None
        if is_sha256_hex(file.sha256):
            cached = cached_path(self.cache_dir, file.sha256, file.filename)
            if cached.is_file():
                return cached, file.sha256
            limit = file.size or MAX_DOWNLOAD
            if from_pip_cache(file.url, file.sha256, cached, limit=limit, configured=self.config.cache_dir):
                return cached, file.sha256
            # Named by the hash the file must have: an interrupted download of it is resumed by the next run.
            partial = tmp_dir / f"{file.sha256}.part"
        try:
            return self._download_gone_or_refound(file, tmp_dir, partial)
        except FileNotFoundError:
            # The cache emptied under the download (``envsnap clean --cache``): its folders made again, once.
            try:
                return self._download_gone_or_refound(file, tmp_dir, partial)
            except FileNotFoundError as exc:
                raise PinError(
                    f"{file.filename}: the download cache {str(self.cache_dir)!r} was removed twice while the file "
                    f"was downloaded into it ({exc.strerror or exc})"
                ) from None

    def _download_gone_or_refound(self, file: IndexFile, tmp_dir: Path, partial: Path | None) -> tuple[Path, str]:
        """``_download_into_cache``; where the lock's own URL answers that the file is gone (HTTP 404 or 410), the
        configured indexes' and find-links folders' copy of the same file (name and sha256), as a refused URL's is
        looked for; where none lists it, a ``PinError`` that says the file is gone from the lock's URL and what
        holds it still. Said before as ``URL: cannot download (File not found)``: no package remedy, and a
        find-links folder configured with the file was not read."""
        try:
            return self._download_into_cache(file, tmp_dir, partial)
        except DownloadError as exc:
            if not (file.pinned and not file.trusted and exc.status in GONE_STATUSES):
                raise
            gone = exc.status
        found, other, unread = self._refind(file)
        if found is not None:
            return self._download_into_cache(found, tmp_dir, None)
        if other:
            listed = (
                f"a configured index lists {file.filename} with another sha256 (another file under the locked name)"
            )
        elif unread:
            listed = f"the configured indexes could not be read ({'; '.join(unread)})"
        else:
            listed = "no configured index or find-links folder lists it"
        raise PinError(
            f"{file.filename}: the file at {strip_credentials(file.url)[:200]!r} is gone (HTTP {gone}): it was "
            f"removed there since the lock was pinned, and {listed}; configure a folder or index that holds the "
            "locked file (PIP_FIND_LINKS=DIR or PIP_INDEX_URL=URL; for uv: UV_FIND_LINKS or UV_INDEX_URL), where it "
            f"is found by its name and sha256 {file.sha256}, or rebuild from a bundle made when the lock was pinned "
            "(rebuild --bundle)"
        )

    def _download_into_cache(self, file: IndexFile, tmp_dir: Path, partial: Path | None) -> tuple[Path, str]:
        """``fetch``'s download: through a private folder of ``tmp_dir`` (resumed from ``partial``) into the cache.
        ``FileNotFoundError`` when the cache's folders were removed meanwhile."""
        try:
            make_folder(tmp_dir)  # never a missing home folder (HOME=/nonexistent) made to hold the cache
        except OSError as exc:
            raise PinError(f"cannot make the download cache {str(tmp_dir)!r}: {exc.strerror or exc}") from None
        # Held as envsnap's (a file without a sha256 is written here whole): one a killed run left is removed by
        # the next download, and kept by `envsnap clean --cache` while a running one holds it.
        with _leftovers.held_dir(tmp_dir, "download") as tmp:
            part = join_base_name(tmp, file.filename)
            resumed = partial is not None and partial.is_file() and partial.stat().st_size > 0
            download = functools.partial(
                self.fetcher.download, file.url, part, checked=not file.trusted, size=file.size, partial=partial
            )
            sha = download()
            if resumed and sha != file.sha256:
                sha = download()  # what was kept was not the start of this file (a stranger's?): from zero
            if file.sha256 and sha != file.sha256:
                # The hash of a local file is never shown: the file may be one the user did not name.
                have = "" if local_path(file.url) is not None else f" {sha}"
                if not file.pinned:
                    raise PinError(f"{file.filename}: sha256{have} does not match the index's {file.sha256}")
                if file.refound:
                    raise PinError(
                        f"{file.filename}: {strip_credentials(file.url)[:200]!r}, the file of that name a configured "
                        f"index or find-links folder holds, is not the one the lock pins (sha256{have or ' differs'}, "
                        f"the lock's {file.sha256}): another file under the locked name; the locked file may be in a "
                        "bundle made when the lock was pinned (rebuild --bundle), at the lock's own URL, or on an "
                        "index that has it (configure it: PIP_INDEX_URL, PIP_FIND_LINKS)"
                    )
                # The lock's own file fetched again: what its URL serves now is another file (replaced there since
                # the lock was pinned), which no re-run or re-pin makes the locked one.
                raise PinError(
                    f"{file.filename}: the file at {strip_credentials(file.url)[:200]!r} is not the one the lock pins "
                    f"(sha256{have or ' differs'}, the lock's {file.sha256}): it was replaced there since the lock was "
                    "pinned; the locked file may be in a bundle made then (rebuild --bundle), or on an index that "
                    "still has it (configure it: PIP_INDEX_URL, PIP_FIND_LINKS)"
                )
            final = cached_path(self.cache_dir, sha, file.filename)
            final.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(part), final)
        return final, sha

    def _source(self, file: IndexFile) -> IndexFile | Path:
        """What a fetch of ``file`` reads, judged by the fetch policy alone before anything of it is read: ``file``
        itself when the policy allows its URL; for a refused one, the configured indexes' entry for the same file;
        ``FetchRefusedError`` when none lists it. The download cache never turns a refusal into a file: a local
        archive refused without ``--allow-url`` was pinned or bundled once a run with the flag had put its sha256
        into the cache, the lock's own hash taken as proof of a URL never allowed. Only a URL whose host does not
        resolve here (unreachable, not refused: the policy allows it where it resolves to a public address) is
        taken from the cache by its sha256, as an allowed one is."""
        if file.trusted or (reason := self.policy.refusal(file.url)) is None:
            return file
        if is_sha256_hex(file.sha256) and self.policy.refusal(file.url, unresolved=True) is None:
            cached = cached_path(self.cache_dir, file.sha256, file.filename)
            if cached.is_file():  # content-addressed: this exact file was fetched before
                return cached
        found, other, unread = self._refind(file)
        if found is None:
            if other:
                listed = (
                    f"and a configured index lists {file.filename} with another sha256 than the lock's "
                    f"{file.sha256} (another file under the locked name: the locked one may still be at the lock's "
                    "URL, or in a bundle made when the lock was pinned: --bundle)"
                )
            elif unread:
                # A 401 says so (with its hint, or once after the list where ``collect_hints``): it was dropped, and
                # the user read only that no index lists the file.
                listed = f"and the configured indexes could not be read ({'; '.join(unread)})"
            else:
                listed = "and no configured index lists this file"
            hidden = hidden_names(file.url)
            if hidden and not other and not unread:
                refusal = (
                    f"{file.filename}: the lock's URL {strip_credentials(file.url)[:200]!r} was recorded without the "
                    f"{hidden} (docs/security.md), so it names no file here, {listed}"
                )
                raise FetchRefusedError(f"{refusal}: {CONFIGURE_HINT}", refusal)
            hint = FILE_HINT if local_path(file.url) is not None else "pass --allow-url PATTERN to allow the URL"
            if file.in_lock_folder:
                # The folder itself, as pin and a package with several hashes name it: it reads the folder's listing
                # and its files, where DIR/* reads the files alone.
                hint = _allow_folder(str(place.parent)) if (place := local_path(file.url)) else hint
            what = "the file in the lock's find-links folder" if file.in_lock_folder else "the lock's URL"
            refusal = (
                f"{file.filename}: {what} {strip_credentials(file.url)[:200]!r} is not fetched ({reason}) {listed}"
            )
            raise FetchRefusedError(f"{refusal}; {hint}", refusal)
        return found

    def check_artifact(self, art: Artifact) -> IndexFile | Path:
        """``FetchRefusedError`` now, as ``fetch_artifact`` would raise it, when the lock's URL of ``art`` is refused
        and no configured index has the file (whatever the download cache holds); reads no lock URL (a refused one
        makes it read the configured indexes' pages). A bundle judges every URL this way before it fetches any.
        Returns what the fetch would read: the file to download (its URL), or the download cache's copy."""
        return self._source(self._artifact_file(art))

    def fetch_artifact(self, art: Artifact) -> tuple[Path, str]:
        """A pinned artifact in the cache (see ``fetch``: from its recorded URL as the policy allows, else the
        configured indexes' copy of the same file). A file the lock records inside the project or the home
        (``file://{project}/wheels/x.whl``, ``file://~/...``: a local archive pip installed, as capture names
        it) is read from there on this machine, the policy asked about that path: it was fetched by its label,
        which named no file, and ``--allow-url`` for the folder was matched against the label."""
        return self.fetch(self._artifact_file(art))

    def _here(self, url: str) -> str:
        return here(url, self.project_dir)

    def _artifact_file(self, art: Artifact) -> IndexFile:
        """``art``'s file as a fetch reads it (``_file_url``). One a lock names by its name in its find-links folder
        (no URL: an import's, or one ``pin`` found there) is read as that folder's listing is, where the policy allows
        the folder (``--allow-url DIR``, which let ``pin`` read it) or pip is configured with it: the pattern that
        pinned the file then bundles it too. Any other URL is judged by the policy as it is."""
        url, path = self._lock_folder_path(art)
        folder = str(path.parent) if path is not None else ""
        # The folder asked by its ``file:`` URL: its path as it is, with a space (``proj [1]``), was no URL to the
        # policy, refused whatever --allow-url allowed it.
        trusted = path is not None and (
            folder in self.config.find_links or self.policy.refusal(path.parent.absolute().as_uri()) is None
        )
        return IndexFile(
            filename=art.filename, url=url, sha256=art.sha256, trusted=trusted, pinned=True, in_lock_folder=bool(folder)
        )

    def _file_url(self, art: Artifact) -> str:
        """``art``'s URL on this machine (``here``); a file an import records by its name in a find-links folder
        (``interchange.file_in_folder``), that folder's."""
        return self._here(file_url(art))

    def lock_folder_file(self, art: Artifact) -> str:
        """The ``file:`` URL on this machine of ``art``'s file in the find-links folder the lock records for it
        (an import's ``file://{project}/wheels``), where it is there; "" otherwise."""
        url, path = self._lock_folder_path(art)
        return url if path is not None and path.is_file() else ""

    def _lock_folder_path(self, art: Artifact) -> tuple[str, Path | None]:
        """``art``'s URL on this machine (``_file_url``), and its local path where the lock names the file by its name
        in a find-links folder (no URL of its own, an index): None for any other."""
        url = self._file_url(art)
        return url, (local_path(url) if url and not art.url and art.index else None)

    def missing_here(self, art: Artifact) -> str:
        """Why ``art``'s file cannot be had where the lock names it by a path on this machine (a ``file:`` URL, a
        file in a find-links folder: ``uv export``'s ``file:///tmp/x/wheels/...``) that is not there, when neither
        the download cache nor a configured index or find-links location holds that file (name and sha256): one
        line naming the folder and the remedy, which is no ``--allow-url`` (nothing is there to allow). "" for a
        remote URL, a path that is there (the fetch policy judges it), a path with a hidden name or an unresolved
        label (said elsewhere), and a file to be had from the cache or a configured place."""
        url = self._file_url(art)
        path = local_path(url) if url else None
        if path is None or not path.is_absolute() or hidden_names(str(path)) or "{" in str(path):
            return ""
        if path.exists() or (
            is_sha256_hex(art.sha256) and cached_path(self.cache_dir, art.sha256, art.filename).is_file()
        ):
            return ""
        found, _other, _unread = self._refind(self._artifact_file(art))
        if found is not None:
            return ""
        folder = path.parent
        where = repr(str(folder)[:200])
        remedy = (
            "or configure the folder that holds the file now as find-links (PIP_FIND_LINKS=DIR or UV_FIND_LINKS=DIR)"
        )
        if not folder.is_dir():
            return (
                f"{art.filename}: the folder {where} the lock names for it is not on this machine (it does not exist), "
                f"nor is the file in the download cache: restore the folder there, {remedy}"
            )
        return (
            f"{art.filename}: the file {str(path)[:200]!r} the lock names for it is not on this machine "
            f"(its folder is), nor in the download cache: put the file back there, {remedy}"
        )

    def refused_here(self, art: Artifact) -> str:
        """Why ``bundle`` will refuse ``art``'s file, which the lock names by a path on this machine that is there (an
        import's ``file://{project}/wheels``, a ``file:`` URL), asked as bundle asks it (``check_artifact``): one line
        ending with the ``--allow-url`` pattern that allows it. "" for a remote URL (judged when it is fetched), a
        path that is not there (``missing_here``), a file the policy allows or a configured place holds."""
        url = self._file_url(art)
        path = local_path(url) if url else None
        if path is None or not path.is_absolute() or "{" in str(path) or not path.exists():
            return ""
        try:
            self.check_artifact(art)
        except FetchRefusedError as exc:
            if "--allow-url" not in str(exc):
                return str(exc)
            from ..sinks import shell_shown

            # A file the lock names by its name in its find-links folder: that folder, which also lets a package
            # there with several hashes be listed (DIR/* left it refused); any other file: its folder's files.
            in_folder = self._lock_folder_path(art)[1] is not None
            allowance = repository_allowance(path.parent) if in_folder else folder_allowance(path)
            pattern = shell_shown([allowance])  # a folder's newline is bash's $'...', not refused
            return (
                f"{exc.refusal or exc}: `envsnap bundle` reads it only with --allow-url {pattern} (a local file a lock "
                "names is read only where you allow it, docs/security.md)"
            )
        return ""

    def holds(self, art: Artifact) -> bool:
        """Whether ``art``'s file (its name and sha256) is to be had here without its URL: in the download cache,
        or listed by a configured index or find-links location. Nothing is downloaded."""
        if not is_sha256_hex(art.sha256):
            return False
        if cached_path(self.cache_dir, art.sha256, art.filename).is_file():
            return True
        found, _other, _unread = self._refind(self._artifact_file(art))
        return found is not None

    def local_copy(self, art: Artifact) -> Path | None:
        """``art``'s file (by name, checked against its sha256) from a configured find-links folder on this
        machine, in the download cache; None when none holds it. What ``--offline`` takes of a pinned file that
        neither the bundle nor the cache has."""
        if not is_sha256_hex(art.sha256):
            return None
        wanted = self._artifact_file(art)
        found, _other, _unread = self._refind(wanted)
        if found is None and wanted.url and local_path(wanted.url) is not None:
            # The lock's own find-links folder on this machine (an import's ``file://{project}/wheels``, pinned):
            # read as the fetch policy allows a folder a lock names (``--allow-url DIR``), never on the lock's word.
            found = wanted
        if found is None or local_path(found.url) is None:
            return None
        try:
            return self.fetch(found)[0]
        except PinError:
            return None

    def _refind(self, wanted: IndexFile) -> tuple[IndexFile | None, bool, list[str]]:
        """The configured indexes' own entry for a file a lock names by file name and sha256; else None, whether
        a configured index lists another file (another sha256) under that name, and why each configured index or
        find-links location that could not be read was not (``HTTP 401 Unauthorized``: the others are still read)."""
        if not is_sha256_hex(wanted.sha256):
            return None, False, []
        try:
            if wanted.filename.endswith(".whl"):
                project = str(parse_wheel_filename(wanted.filename)[0])
            else:
                project = str(parse_sdist_filename(wanted.filename)[0])
        except (InvalidWheelFilename, InvalidSdistFilename):
            return None, False, []
        files: list[IndexFile] = []
        unread: list[str] = []
        for index in self.config.indexes:
            try:
                files += self._project_files(index, project)
            except PinError as exc:
                unread.append(str(exc))
        for location in self.config.find_links:
            try:
                files += find_links_files(self.fetcher, location)
            except PinError as exc:
                unread.append(str(exc))
        other = False
        for file in files:
            if not (file.trusted and _same_file_name(file.filename, wanted.filename)):
                continue
            if file.sha256 in ("", wanted.sha256):
                # The lock's spelling of the name is kept (the hash is what makes it this file).
                found = dataclasses.replace(
                    file, sha256=wanted.sha256, filename=wanted.filename, pinned=wanted.pinned, refound=True
                )
                return found, False, []
            other = True
        return None, other, unread

    def pin_one(self, pkg: PythonPackage) -> PinOutcome:
        """How ``pkg`` is pinned. A file removed from the download cache between its fetch and its reading (``envsnap
        clean --cache`` meanwhile) is fetched again, once; a second time leaves the package unpinned, with why."""
        try:
            return self._pin_one(pkg)
        except FileNotFoundError:
            try:
                return self._pin_one(pkg)
            except FileNotFoundError as exc:
                why = f"{exc.filename}: removed from the download cache while it was read, twice (pin again)"
                return PinOutcome(pkg.name, pkg.version, "unpinned", why)

    def _pin_one(self, pkg: PythonPackage) -> PinOutcome:
        if pkg.legacy_version:
            return PinOutcome(pkg.name, pkg.version, "unpinned", LEGACY_VERSION_REASON)
        if pkg.artifact is not None and hash_only(pkg.artifact):
            return self._pin_by_hash(pkg, pkg.artifact)
        if pkg.artifact is None and pkg.candidates:
            return self._pin_candidates(pkg)
        if pkg.conda_layer:
            return PinOutcome(pkg.name, pkg.version, "skipped", "installed by conda: pinned by the conda layer")
        kind = pkg.source.kind
        if kind == "vcs":
            if not pkg.source.commit_id:
                return PinOutcome(
                    pkg.name,
                    pkg.version,
                    "unpinned",
                    f"VCS install of {pkg.source.url} without a recorded commit",
                )
            return PinOutcome(
                pkg.name,
                pkg.version,
                "kept",
                f"VCS: {pkg.source.url} @ {pkg.source.commit_id} (the bundle builds a wheel)",
            )
        if kind == "directory":
            what = "editable install" if pkg.source.editable else "install"
            try:
                tree = local_project_dir(pkg.source.url, self.project_dir)
                if pkg.source.subdirectory:
                    tree = join_relative(tree, pkg.source.subdirectory, "subdirectory")
            except HiddenNamePathError as exc:
                # Not "does not exist (name the project with --project DIR)": no folder or option would help.
                return PinOutcome(pkg.name, pkg.version, "unpinned", f"{what} from a local directory: {exc}")
            except (PinError, UnsafeInputError) as exc:
                where = str(exc)
            else:
                if tree.is_dir():
                    # Named as the lock records it (file://~/src/mylib), not by where it is here: what pin prints
                    # lands in CI logs and issue reports, and the lock leaves the home's path out.
                    sub = f" (subdirectory {pkg.source.subdirectory})" if pkg.source.subdirectory else ""
                    return PinOutcome(
                        pkg.name,
                        pkg.version,
                        "kept",
                        f"local project {pkg.source.url}{sub}: bundle and rebuild build it into a wheel",
                    )
                # --project moves only a folder recorded inside the project; another (file://~/labutil) is where it
                # is: a clone or copy put there, or the bundle of the lock, which holds the wheel built from it.
                where = f"{tree} does not exist on this machine " + (
                    "(name the project with --project DIR)"
                    if pkg.source.url.startswith("file://{project}")
                    else "(clone or copy the project there)"
                )
            return PinOutcome(
                pkg.name,
                pkg.version,
                "unpinned",
                f"{what} from a local directory ({pkg.source.url}): no upstream artifact, and {where}",
            )
        if kind == "archive":
            return self._pin_archive(pkg)
        if pkg.system_package:
            # Debian's build (python3-yaml's PyYAML, tagged linux_x86_64; python3-six's egg-info, no tags), which no
            # index file is: the file of that release that fits the target stands in for it, said so (pin()), where
            # its metadata says it is of the same project (``_sameproject``): a namesake's is refused.
            return self._pin_for_target(pkg, same_project=True)
        if not pkg.wheel_tags and self.imported and not pkg.record_digest:
            return self._pin_for_target(pkg)  # imported by name and version: the file that fits this target
        untagged = untagged_reason(pkg, self.imported)
        if untagged:
            return PinOutcome(pkg.name, pkg.version, "unpinned", untagged)
        try:
            files = self.candidates(pkg)
        except PinError as exc:
            return _unpinned(pkg, exc)
        wheels = [f for f in files if wheel_matches(f.filename, pkg)]
        differing = []
        for file in wheels:
            outcome = self._prove(pkg, file)
            if outcome.status == "pinned":
                return outcome
            differing.append(outcome.reason)
        if differing:
            return PinOutcome(pkg.name, pkg.version, "unpinned", differing[0])
        sdists = [f for f in files if sdist_matches(f.filename, pkg)]
        tags = ", ".join(pkg.wheel_tags)
        if sdists:
            sdist = sdists[0]
            try:
                _path, sha = self.fetch(sdist)
            except PinError as exc:
                return _unpinned(pkg, exc)
            artifact = sdist.artifact(sha, _path)
            return PinOutcome(
                pkg.name,
                pkg.version,
                "pinned",
                f"no wheel {tags} on the index: pinned the sdist it was built from",
                artifact,
            )
        return PinOutcome(
            pkg.name,
            pkg.version,
            "unpinned",
            f"no {pkg.name} {pkg.version} wheel with tag {tags} on {self._where()}",
            unlisted=_unlisted(files, pkg),
        )

    def _listed(self, pkg: PythonPackage, extra_indexes: Iterable[str] = ()) -> tuple[list[IndexFile], list[str]]:
        """Every file of this release on the configured indexes (and the ones the import named), and a line for
        each one the import named that the fetch policy refuses (what would read it: ``--allow-url DIR``)."""
        indexes, refused = self._indexes(extra_indexes)
        files: list[IndexFile] = []
        for index in indexes:
            files += self._files_at(index, pkg.name)
        for location in self.config.find_links:
            files += find_links_files(self.fetcher, location)
        return [f for f in files if same_release(f.filename, pkg)], refused

    def _pin_candidates(self, pkg: PythonPackage) -> PinOutcome:
        """A package imported with several files (every ``--hash``, every pylock wheel): the one that fits
        this target, downloaded and checked against the sha256 the import kept."""
        wanted = {c.sha256 for c in pkg.candidates if _valid_candidate(c)}
        named = [c for c in pkg.candidates if c.filename and c.url and c.sha256 in wanted]
        # A file in the project or the home by its label (a pylock's wheels in ``./wheels``: ``file://{project}/...``)
        # is read where it is on this machine, the policy asked about that path, as a pinned artifact's is.
        files = [
            IndexFile(
                filename=c.filename,
                url=self._here(c.url),
                sha256=c.sha256,
                size=c.size,
                upload_time=c.upload_time,
                index=c.index,
            )
            for c in named
        ]
        unread = ""  # the places the import named that the fetch policy refuses: they may hold the file
        if len(named) < len(wanted):  # known by hash only: the index names the files
            try:
                listed, refused = self._listed(pkg, (c.index for c in pkg.candidates))
            except PinError as exc:
                return _unpinned(pkg, exc)
            unread = "".join(f"; {r}" for r in refused)
            # The index's hash says which are the import's; a file listed without one (a find-links folder) is
            # downloaded to tell.
            files += [
                f
                for f in listed
                if (f.sha256 in wanted or not f.sha256) and f.filename not in {c.filename for c in named}
            ]
            if self.offline:
                files += self._cached_candidates(pkg, {c.sha256 for c in named}, {f.filename for f in files})
            if not files and not listed:
                return PinOutcome(
                    pkg.name,
                    pkg.version,
                    "unpinned",
                    f"the import kept {len(wanted)} sha256 hashes, and no index lists {pkg.name} {pkg.version}"
                    + unread,
                    # The place the import named, which the fetch policy refuses, is where the file is looked for.
                    refused=any(isinstance(r, PolicyRefusal) for r in refused),
                )
            if not files:
                return PinOutcome(
                    pkg.name,
                    pkg.version,
                    "unpinned",
                    f"none of the {len(wanted)} sha256 hashes "
                    f"the import kept is that of a {pkg.name} {pkg.version} file on the configured "
                    "indexes" + unread,
                    refused=any(isinstance(r, PolicyRefusal) for r in refused),
                )
        order, why = self._ranked(files, pkg)
        if not order:
            return PinOutcome(
                pkg.name, pkg.version, "unpinned", f"the import lists {len(wanted)} files: {why}" + unread
            )
        tried: list[str] = []
        for file in order:
            if file.sha256 and file.sha256 not in wanted:
                continue  # the index's hash already says it is another file
            try:
                path, sha = self.fetch(file)
            except PinError as exc:
                tried.append(str(exc))
                continue
            if sha not in wanted:
                tried.append(f"{file.filename}: sha256 {sha} is none of the hashes the import kept")
                continue
            artifact = file.artifact(sha, path)
            note = why and f"{why}; pinned the sdist (the bundle builds a wheel)"
            return PinOutcome(
                pkg.name, pkg.version, "pinned", note or f"the imported file for {self.tags[0]}", artifact
            )
        return PinOutcome(
            pkg.name,
            pkg.version,
            "unpinned",
            tried[0]
            if tried
            else f"none of the {len(wanted)} "
            f"sha256 hashes the import kept is that of a {pkg.name} {pkg.version} file that fits "
            "this target" + unread,
        )

    def _cached_candidates(self, pkg: PythonPackage, named: set[str], listed: set[str]) -> list[IndexFile]:
        """``--offline``: the files of ``pkg``'s release the download cache holds under a sha256 the import kept
        without a file name (a hashed requirement: the index names its files, and is not read offline), each from an
        index read online (configured, or one the fetch policy allows). The cache is content-addressed: such a file
        is the one the hash names, put there by an earlier ``pin`` or ``bundle``. Recorded as a hash-only file is, by
        name and sha256, its ``url`` empty: where it was downloaded from is not known here. ``named``: the sha256 of
        the files the import names; ``listed``: the file names found already."""
        out: list[IndexFile] = []
        for c in pkg.candidates:
            if c.sha256 in named or not _valid_candidate(c) or not c.index:
                continue
            if c.index.rstrip("/") not in self.online_indexes and self.policy.refusal(c.index, unresolved=True):
                continue  # the cache never turns a location read neither online nor by the policy into a file
            out += [
                IndexFile(filename=name, url="", sha256=c.sha256, index=c.index, trusted=True)
                for name in cached_names(self.cache_dir, c.sha256)
                if same_release(name, pkg) and name not in listed
            ]
        return out

    def _ranked(self, files: list[IndexFile], pkg: PythonPackage) -> tuple[list[IndexFile], str]:
        """The files worth trying for this target, best first: the wheels that fit, by tag rank; when none
        does, the sdists (with why no wheel fits)."""
        fitting: list[tuple[int, IndexFile]] = []
        for file in dict.fromkeys(files):
            try:
                file_tags = parse_wheel_filename(file.filename)[3]
            except InvalidWheelFilename:
                continue
            score = min((r for t in file_tags if (r := self.tags.rank(str(t))) is not None), default=None)
            if score is not None:
                fitting.append((score, file))
        if fitting:
            return [f for _score, f in sorted(fitting, key=lambda item: item[0])], ""
        _chosen, why = best_wheel([f.filename for f in files], self.tags)
        return [f for f in files if sdist_matches(f.filename, pkg)], why

    def _pin_for_target(self, pkg: PythonPackage, *, same_project: bool = False) -> PinOutcome:
        """A package known by name and version only (an import without hashes): the wheel of that release
        that fits this target, else its sdist. ``same_project``: a distribution a dpkg package installed, whose
        recorded ``identity`` the file's metadata must agree with (``stand_in_refusal``), else it is not pinned."""
        try:
            files, _refused = self._listed(pkg)  # the configured places only: none is refused
        except PinError as exc:
            return _unpinned(pkg, exc)
        if same_project:
            return self._pin_stand_in(pkg, files)
        by_name = {f.filename: f for f in files}
        chosen, why = best_wheel(by_name, self.tags)
        if chosen is None:
            sdists = [f for f in files if sdist_matches(f.filename, pkg)]
            if not files:
                # ``uv export`` writes a wheel of the project's ``[tool.uv] find-links`` folder by name alone, as pip
                # freeze one of a --find-links folder: the hint says how to configure the folder.
                return PinOutcome(
                    pkg.name,
                    pkg.version,
                    "unpinned",
                    f"no {pkg.name} {pkg.version} file on {self._where()}",
                    unlisted=True,
                )
            if not sdists:
                return PinOutcome(pkg.name, pkg.version, "unpinned", f"{pkg.name} {pkg.version}: {why}")
            chosen = sdists[0].filename
        file = by_name[chosen]
        try:
            path, sha = self.fetch(file)
        except PinError as exc:
            return _unpinned(pkg, exc)
        artifact = file.artifact(sha, path)
        return PinOutcome(
            pkg.name,
            pkg.version,
            "pinned",
            "the file of this release that fits the target (the import recorded no installed file)",
            artifact,
        )

    def _pin_stand_in(self, pkg: PythonPackage, files: list[IndexFile]) -> PinOutcome:
        """A distribution a dpkg package installed: the first of the release's files that fit this target (the
        wheels by tag rank, then the sdists) whose metadata agrees with the lock's ``identity``
        (``_sameproject.disagreement``). Each is compared before the package is refused, the refusal naming each
        file and why; a lock that records no identity is refused before any file is fetched."""
        from .._sameproject import disagreement

        if not files:
            # As for a release imported by name and version (``_pin_for_target``): the hint says how to configure a
            # find-links folder. Said first: it holds whatever the lock records.
            where = self._where()
            return PinOutcome(
                pkg.name, pkg.version, "unpinned", f"no {pkg.name} {pkg.version} file on {where}", unlisted=True
            )
        if not pkg.identity:
            return PinOutcome(pkg.name, pkg.version, "unpinned", no_identity_refusal(pkg))
        wheels, _why = self._ranked(files, pkg)
        sdists = [f for f in dict.fromkeys(files) if sdist_matches(f.filename, pkg)]
        ranked = list(dict.fromkeys([*wheels, *sdists]))
        if not ranked:
            return PinOutcome(
                pkg.name,
                pkg.version,
                "unpinned",
                f"{pkg.name} {pkg.version}: {best_wheel([f.filename for f in files], self.tags)[1]}",
            )
        refused: list[tuple[str, str]] = []
        failed: PinError | None = None
        read = 0
        for file in ranked:
            try:
                path, sha = self.fetch(file)
            except PinError as exc:
                failed = failed or exc
                refused.append((file.filename, f"not read: {exc}"))
                continue
            read += 1
            why = disagreement(pkg.identity, file_identity(path, file.filename))
            if not why:
                return PinOutcome(
                    pkg.name,
                    pkg.version,
                    "pinned",
                    "the file of this release that fits the target (the import recorded no installed file)",
                    file.artifact(sha, path),
                )
            refused.append((file.filename, why))
        if failed is not None and not read:
            # No file could be read (an index that failed, a URL the fetch policy refuses): said as any fetch that
            # fails, a refusal as bad input.
            return _unpinned(pkg, failed)
        return PinOutcome(pkg.name, pkg.version, "unpinned", stand_in_refusal(pkg, refused))

    def _indexes(self, extra: Iterable[str]) -> tuple[list[str], list[str]]:
        """The configured indexes plus those an import named that the fetch policy allows; and a line for
        each named one it refuses (skipped: the configured indexes may still have the file)."""
        indexes = list(self.config.indexes)
        refused = []
        for index in dict.fromkeys(extra):
            if not index or index in indexes or index in self.config.find_links:
                continue
            if index.startswith(("file://" + fileurls.PROJECT, "file://" + fileurls.HOME)):
                # A find-links folder the import recorded inside the project or the home (file://{project}/wheels):
                # that folder on this machine, by its path (a find-links folder, not a file: index), asked about as
                # any local path is.
                try:
                    folder = local_dir(index, self.project_dir)
                except (PinError, UnsafeInputError) as exc:
                    refused.append(f"the --find-links location {index[:200]!r} the import named is not read ({exc})")
                    continue
                if not folder.is_dir() and (hidden := hidden_names(str(folder))):
                    refused.append(
                        f"the --find-links folder {index[:200]!r} the import named was recorded without the {hidden} "
                        f"(docs/security.md), so it names no folder here: {CONFIGURE_HINT}"
                    )
                    continue
                if not folder.is_dir():
                    # Another machine, another home: said as such, not as a folder to allow (nothing is there).
                    refused.append(
                        f"the --find-links folder {index[:200]!r} the import named is not on this machine "
                        f"({folder} does not exist)"
                    )
                    continue
                index = str(folder)
            if self.offline and ((where := local_path(index)) is None or not where.is_dir()):
                refused.append(
                    f"the location {strip_credentials(index)[:200]!r} the import named is not read (--offline)"
                )
                continue
            # A folder by its path is asked by its file: URL: with a space (``my links``) the path was no URL to the
            # policy, refused whatever --allow-url allowed it.
            asked = Path(index).absolute().as_uri() if "://" not in index and index.startswith("/") else index
            reason = self.policy.refusal(asked)
            if reason is None:
                indexes.append(index)
            elif hidden := hidden_names(index):
                refused.append(
                    f"the location {strip_credentials(index)[:200]!r} the import named was recorded without the "
                    f"{hidden} (docs/security.md), so it names no place here: {CONFIGURE_HINT}"
                )
            else:
                what = "--find-links location" if is_find_links(index) else "index"
                refused.append(
                    PolicyRefusal(
                        f"the {what} {strip_credentials(index)[:200]!r} the import named is not read "
                        f"({reason}; {_allow_folder(index)})"
                    )
                )
        return indexes, refused

    def _files_at(self, location: str, name: str) -> list[IndexFile]:
        """The files of project ``name`` at an index, or every file of a ``--find-links`` location (a folder or a
        page of links: what an import records as the index of a wheel found there), trusted when configured."""
        if is_find_links(location):
            return find_links_files(self.fetcher, location, trusted=location in self.config.find_links)
        return self._project_files(location, name, trusted=location in self.config.indexes)

    def _pin_by_hash(self, pkg: PythonPackage, known: Artifact) -> PinOutcome:
        """An artifact known only by its sha256 (a lock imported from a hashed requirements file): the file
        of this name and version with that hash, on the configured indexes or the one the import named."""
        indexes, refused = self._indexes([known.index])
        files: list[IndexFile] = []
        try:
            for index in indexes:
                files += self._files_at(index, pkg.name)
            for location in self.config.find_links:
                files += find_links_files(self.fetcher, location)
        except PinError as exc:
            return _unpinned(pkg, exc)
        ours = [f for f in files if same_release(f.filename, pkg)]
        # Files whose index gives a hash are compared without downloading; the others are fetched.
        ours.sort(key=lambda f: (f.sha256 != known.sha256, bool(f.sha256)))
        for file in ours:
            if file.sha256 and file.sha256 != known.sha256:
                continue
            if file.filename.endswith(".whl") and pkg.record_digest:
                outcome = self._prove(pkg, file)
                if outcome.artifact is not None and outcome.artifact.sha256 == known.sha256:
                    return outcome
                continue
            try:
                path, sha = self.fetch(file)
            except PinError:
                continue
            if sha == known.sha256:
                artifact = file.artifact(sha, path)
                return PinOutcome(pkg.name, pkg.version, "pinned", "found by its sha256", artifact)
        return PinOutcome(
            pkg.name,
            pkg.version,
            "unpinned",
            f"no {pkg.name} {pkg.version} file with sha256 "
            f"{known.sha256} on {self._where()}" + "".join(f"; {r}" for r in refused),
            unlisted=_unlisted(files, pkg),
        )

    def _prove(self, pkg: PythonPackage, file: IndexFile) -> PinOutcome:
        unreadable = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)
        try:
            path, sha = self.fetch(file)
            try:
                digest = wheel_record_digest(str(path))
            except unreadable:
                digest = ""
            if (not digest or (pkg.record_digest and digest != pkg.record_digest)) and self._drop_damaged(path, sha):
                path, sha = self.fetch(file)
                digest = wheel_record_digest(str(path))
        except PinError as exc:  # fetch's own: it names the file or its URL (a refused wheel read "x.whl: x.whl: ...")
            return _unpinned(pkg, exc)
        except unreadable as exc:
            return PinOutcome(pkg.name, pkg.version, "unpinned", f"{file.filename}: {exc}")
        if pkg.record_digest and digest != pkg.record_digest:
            return PinOutcome(
                pkg.name,
                pkg.version,
                "unpinned",
                f"{file.filename} on {file.index} has other files than the installed package (RECORD digests differ)",
            )
        artifact = file.artifact(sha, path)
        return PinOutcome(pkg.name, pkg.version, "pinned", "", artifact)

    @staticmethod
    def _drop_damaged(path: Path, sha256: str) -> bool:
        """Whether the download cache's ``path``, trusted by its name, is not the file with ``sha256`` (cut short by
        a crash or a full disk, changed on disk); it is removed then, so the next ``fetch`` downloads it again. Read
        only when the file failed its proof: a sound entry is not hashed twice."""
        try:
            if sha256_file(path) == sha256:
                return False
            path.unlink(missing_ok=True)
        except FileNotFoundError:
            return True  # another run dropped it first
        except OSError:
            return False
        return True

    def _pin_archive(self, pkg: PythonPackage) -> PinOutcome:
        url, algo_hash = pkg.source.url, pkg.source.archive_hash
        algo, _, value = algo_hash.partition("=")
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        # A local archive (``pip install ./x.whl``: a file: URL) is read as any of the lock's URLs is, once the
        # fetch policy allows it (``--allow-url 'file:///srv/wheels/*'``), and proven by the sha256 pip recorded.
        if url.startswith(("http://", "https://", "file:")) and algo in ("sha384", "sha512") and value:
            # pip's other hashes (a requirement's ``--hash=sha512:``): the file is fetched, checked against that
            # digest, and pinned by its sha256 as any file is.
            try:
                path, sha = self.fetch(IndexFile(filename=filename, url=self._here(url), sha256="", index=""))
                digest = file_digests(path, (algo,))[algo]
            except (PinError, UnsafeInputError, OSError) as exc:
                return _unpinned(pkg, exc, "installed from an archive: ")
            if digest != value:
                return PinOutcome(
                    pkg.name, pkg.version, "unpinned", f"{filename}: its {algo} is not the one the lock records"
                )
            algo, value = "sha256", sha
        if url.startswith("file:") and not value:
            # A local archive no hash names (``./dist/x-1.0.tar.gz`` of a requirements file, without ``--hash``): the
            # user's own file, read where it is as a hashed one is (the fetch policy asked: ``--allow-url`` for its
            # folder), and pinned by its sha256.
            try:
                path, sha = self.fetch(IndexFile(filename=filename, url=self._here(url), sha256="", index=""))
            except PinError as exc:  # it names the file and why (a refused URL: the option to allow it)
                return _unpinned(pkg, exc)
            except UnsafeInputError as exc:
                return _unpinned(pkg, exc, "installed from a local archive: ")
            algo, value = "sha256", sha
        if url.startswith(("http://", "https://", "file:")) and algo == "sha256" and value:
            # Read where it is now (capture wrote ``file://{project}/wheels/x.whl``), recorded by its label (``pin``).
            try:
                file = IndexFile(filename=filename, url=self._here(url), sha256=value, index="")
            except (PinError, UnsafeInputError) as exc:
                return _unpinned(pkg, exc, "installed from a local archive: ")
            if filename.endswith(".whl"):
                return self._prove(pkg, file)
            try:
                path, sha = self.fetch(file)
            except PinError as exc:
                return _unpinned(pkg, exc)
            return PinOutcome(
                pkg.name,
                pkg.version,
                "pinned",
                "archive URL",
                Artifact(filename=filename, url=url, sha256=sha, size=path.stat().st_size),
            )
        return PinOutcome(
            pkg.name,
            pkg.version,
            "unpinned",
            f"installed from a local archive ({url}) with no reachable URL and sha256",
        )


def _repository_pattern(exc: FetchRefusedError, url: str) -> str | None:
    """The ``--allow-url`` pattern, one shell word, that allows the git repository ``url`` the refusal ``exc`` is of;
    None where it is not a folder of this machine (no path of a stranger's lock is made into a pattern to pass,
    docs/security.md) or the refusal has no remedy to replace."""
    from .._fetchpolicy import repository_allowance
    from ..sinks import shell_shown

    path = local_path(url)
    if not exc.refusal or path is None or not path.is_absolute() or "{" in str(path) or not path.is_dir():
        return None
    return shell_shown([repository_allowance(path)])  # a folder's newline is bash's $'...', not refused


def _repository_refused(exc: FetchRefusedError, url: str) -> str:
    """``exc``, the refusal of a git repository the lock names on this machine, ending with the ``--allow-url``
    pattern that allows it, as ``Pinner.refused_here`` names a file's (pin's note says "the pattern is named above",
    where the line said ``--allow-url PATTERN``): only for a repository that is here, so no path of a stranger's lock
    is made into a pattern to pass (docs/security.md)."""
    pattern = _repository_pattern(exc, url)
    if pattern is None:
        return str(exc)
    return (
        f"{exc.refusal}: `envsnap bundle` clones it only with --allow-url {pattern} (a local repository a lock names "
        "is read only where you allow it, docs/security.md)"
    )


def _allow_folder(location: str) -> str:
    """What lets pin read a refused location an import named: for a local folder, the exact ``--allow-url`` (the
    pattern a user writes for a folder, ``DIR/*``, matches its files but not the folder) or configuring it."""
    from .._fetchpolicy import repository_allowance
    from ..sinks import shell_shown

    local = fileurls.local_path(location) if is_find_links(location) else None
    if local is None or not local.is_absolute() or has_control(str(local)) or len(str(local)) > 200:
        return "pass --allow-url PATTERN to allow it"
    return (
        f"pass --allow-url {shell_shown([repository_allowance(local)])} to allow it, "
        "or configure the folder as find-links (PIP_FIND_LINKS or UV_FIND_LINKS)"
    )


def uploaded_before(upload_time: str, cutoff: _dt.datetime) -> bool:
    """Whether an index's ``upload-time`` (PEP 700, RFC 3339) is before ``cutoff``; False without one."""
    moment = timestamp(upload_time)
    return moment is not None and moment < cutoff


def _valid_candidate(cand: Candidate) -> bool:
    """A candidate's values are downloaded and joined to paths: each must match its grammar again here."""
    from .. import grammar

    return (
        grammar.is_sha256_hex(cand.sha256)
        and (not cand.filename or grammar.is_distribution_filename(cand.filename))
        and (not cand.url or grammar.is_lock_url(cand.url))
    )


def hash_only(artifact: Artifact) -> bool:
    """An artifact known by its sha256 alone (``envsnap import`` of a hashed requirements file)."""
    return not artifact.filename and bool(artifact.sha256)


def located(art: Artifact, redactor: PathRedactor) -> Artifact:
    """``art`` as a lock records a file pin read on this machine, as capture and import write such places
    (``PathRedactor.url``): inside the project ``file://{project}/...`` (what follows as written), under the home
    ``file://~/...``, the login and host names elsewhere ``<user>`` and ``<host>`` (``file:///scratch/<user>/...``,
    ``http://<host>:8080/...``); its index (the find-links folder, which pip's configuration may give relative to
    the working directory: ``./wheels``) likewise, a folder in the project or the home as a ``file:`` URL, another
    as its path. A lock then names neither the user's home, the person nor the machine, and bundle reads the file
    from the project wherever it is now, or from the configured locations that list it by name and sha256
    (``Pinner.fetch_artifact``)."""

    def named(url: str) -> str:  # a label the lock already wrote (a local archive's ``file://{project}/...``) stays
        return url if not url or fileurls.is_labelled(url) else redactor.url(url)

    if _from_seed_folder(art.url):
        # A wheel a venv is seeded with: the running Python's own copy of an upstream wheel, or a distribution's
        # rebuild (Debian's ``/usr/share/python-wheels``). Its place (``~/.pyenv/versions/3.11.7/lib/...``) is the
        # bundler's host, which no reader has. Known by its name and sha256, as a find-links file an import names:
        # the bundle holds it, and bundle and rebuild find it on an index or in their own seed folders by those.
        return dataclasses.replace(art, url="", index="")

    index = art.index
    if index and "://" not in index:  # a folder pip was configured with, as it was written
        folder = local_path(index)
        where = "" if folder is None else folder.absolute().as_uri()
        index = named(where) if where and fileurls.is_labelled(redactor.located(where)) else redactor.names(index)
    else:
        index = named(index)
    url = named(art.url)
    return art if (url, index) == (art.url, art.index) else dataclasses.replace(art, url=url, index=index)


def _located(outcome: PinOutcome, redactor: PathRedactor) -> PinOutcome:
    if outcome.artifact is None:
        return outcome
    return dataclasses.replace(outcome, artifact=located(outcome.artifact, redactor))


def _import_folders(pkg: PythonPackage) -> set[str]:
    """The find-links folders an import records ``pkg``'s file in by its hash or name, with no URL (a requirements
    file's ``--find-links ./wheels``: ``file://{project}/wheels``; a pylock's ``[tool.envsnap] find-links``)."""
    places = [c.index for c in pkg.candidates if not c.url]
    if pkg.artifact is not None and not pkg.artifact.url:
        places.append(pkg.artifact.index)
    return {place for place in places if place and is_find_links(place)}


def in_import_folder(pkg: PythonPackage, art: Artifact) -> Artifact:
    """``art`` (pinned, as the lock records it) named by its file in the find-links folder ``pkg``'s import recorded,
    with no URL, where that folder is where it was found (docs/lockfile.md, ``url``): the one spelling of such a file,
    whichever permission read the folder (``--allow-url DIR``, ``PIP_FIND_LINKS``), as the pylock import of the same
    resolution writes it; not by the pinning machine's path of it."""
    if not art.url or art.index not in _import_folders(pkg) or art.url != file_in_folder(art.filename, art.index):
        return art
    return dataclasses.replace(art, url="")


# The most digests ``pinned_from`` keeps (the oldest go first): a lock pinned again and again stays small.
MAX_PINNED_FROM = 64


def traced(before: Snapshot, after: Snapshot) -> Snapshot:
    """``after`` (``before`` pinned) naming ``before`` among the locks it was pinned from (``envsnap.pinned_from``),
    so that a run record of ``before`` takes it as its lock (docs/runrecord.md); ``after`` itself when the pin
    changed nothing (the same content digest): the file is then left as it is."""
    from .. import lockfile

    origin = lockfile.canonical_digest(lockfile.to_dict(before))
    if lockfile.canonical_digest(lockfile.to_dict(after)) == origin:
        return after
    kept = tuple(d for d in after.envsnap.pinned_from if d != origin)
    names = (*kept, origin)[-MAX_PINNED_FROM:]
    return dataclasses.replace(after, envsnap=dataclasses.replace(after.envsnap, pinned_from=names))


def _pinned_package(pkg: PythonPackage, artifact: Artifact) -> PythonPackage:
    """``pkg`` with the file pinned for it, and, where it records no wheel tags (an import by name and version, or
    by several hashes: pin chose one of the release's wheels for this target), the tags of that wheel, which its
    file name gives: a capture of it installed records them, so ``diff`` compares them rather than reading
    ``(unknown) -> cp311-cp311-manylinux...``. An sdist, a wheel built here, or a file named by hash alone: none."""
    pinned = dataclasses.replace(pkg, artifact=artifact)
    if pkg.wheel_tags or pkg.system_package or artifact.rebuilt or not artifact.filename.endswith(".whl"):
        return pinned  # a stand-in for a dpkg package's build: the lock keeps what was installed
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        tags = parse_wheel_filename(artifact.filename)[3]
    except InvalidWheelFilename:
        return pinned
    return dataclasses.replace(pinned, wheel_tags=tuple(sorted(str(t) for t in tags)))


# The least a package pinned adds to its lock's text: its artifact's table header and sha256 (its url may be
# relabelled shorter, ``_located``), and where it is left unpinned its warning's quoted "pin: NAME VERSION: ".
_ARTIFACT_LEAST = len('[python.packages.artifact]\nsha256 = ""\n')
_FILENAME_LEAST = len('filename = ""\n')


class _SizeBound:
    """A lower bound of the size of the lock ``pin`` makes, refused as soon as it passes the limit a lock is read
    under (``ENVSNAP_MAX_LOCK_BYTES``): before the first download, from what each package to pin must add, then as
    each is pinned; not after minutes of downloads, at the write. Never more than the lock written (``dumps``
    still checks that one): the lock less the artifacts to pin and the pin notes it replaces, plus the least each
    package adds (none for a conda, VCS or local-folder one, which may be kept as it is)."""

    def __init__(self, snapshot: Snapshot, todo: Sequence[PythonPackage]) -> None:
        from .. import lockfile
        from ..errors import LockfileError, LockTooLargeError

        self.cap = _readlimits.max_input_bytes(LockfileError)
        names = {p.name for p in todo}
        kept = [w for w in snapshot.envsnap.warnings if not w.startswith(WARNING_PREFIX)]
        base = dataclasses.replace(
            snapshot,
            envsnap=dataclasses.replace(snapshot.envsnap, warnings=tuple(sorted(set(kept)))),
            python=dataclasses.replace(
                snapshot.python,
                packages=tuple(
                    dataclasses.replace(p, artifact=None) if p.name in names else p for p in snapshot.python.packages
                ),
            ),
        )
        try:
            self.size = len(lockfile.dumps(base).encode("utf-8", "surrogatepass"))
        except LockTooLargeError as exc:
            self.size = exc.size
        self.pending = {p.name: self._least(p) for p in todo}

    @staticmethod
    def _least(pkg: PythonPackage) -> int:
        if pkg.conda_layer or pkg.source.kind in ("vcs", "directory"):
            return 0  # skipped or kept: nothing added
        note = f'"{WARNING_PREFIX}{pkg.name} {pkg.version}: "'
        return min(_ARTIFACT_LEAST + 64, len(note.encode("utf-8", "surrogatepass")))

    def add(self, pkg: PythonPackage, outcome: PinOutcome) -> None:
        least = self.pending.pop(pkg.name, 0)
        art = outcome.artifact
        if outcome.status == "pinned" and art is not None:
            least = _ARTIFACT_LEAST + len(art.sha256)
            if art.filename:
                least += _FILENAME_LEAST + len(art.filename.encode("utf-8", "surrogatepass"))
        self.size += least

    def over(self) -> bool:
        return self.size + sum(self.pending.values()) > self.cap

    def check(self, left: str) -> None:
        least = self.size + sum(self.pending.values())
        if least > self.cap:
            from ..errors import LockTooLargeError

            said = _readlimits.too_large("the pinned lock", least, self.cap, at_least=True, left=left)
            raise LockTooLargeError(said, least, self.cap)


def pin(
    snapshot: Snapshot,
    config: IndexConfig | None = None,
    *,
    cache_dir: Path | None = None,
    only: Callable[[PythonPackage], bool] | None = None,
    jobs: int = 8,
    project_dir: Path | None = None,
    allow_urls: Sequence[str] = (),
    offline: bool = False,
    written: bool = False,
) -> PinResult:
    """The snapshot with ``artifact`` filled for every package that can be pinned, and each outcome.

    URLs the lock itself names (an archive URL, an imported index) are read only as the fetch policy allows;
    ``allow_urls`` are the user's ``--allow-url`` patterns. A file read inside ``project_dir`` or the home is
    recorded by its label (``located``). Packages that already carry an artifact are kept as they are. The
    reasons for unpinned packages are also written to the lock's warnings (``pin: NAME VERSION: reason``),
    replacing those of an earlier pin. ``offline``: nothing but the configured find-links folders on this machine
    and the download cache is read (``bundle --offline``). ``written``: the pinned lock is to be written (``pin``,
    ``capture --pin``, ``bundle``), and is refused (``LockTooLargeError``) before the downloads, or as soon as they
    make it, where it would pass the size limit a lock is read under (``_SizeBound``); ``export --pin`` writes none.
    """
    pinner = Pinner(
        config or read_pip_config(),
        cache_dir or cache_dir_for(ARTIFACTS_CACHE),
        tags=target_tags(
            snapshot.python.version, snapshot.python.implementation, snapshot.platform, snapshot.python.platform_tag
        ),
        allow_urls=allow_urls,
        offline=offline,
    )
    pinner.imported = bool(snapshot.envsnap.origin)
    pinner.project_dir = project_dir
    pinner.fetcher.collect_hints = True  # one line per index after the list, not one per package (in any order)
    todo = [
        p
        for p in snapshot.python.packages
        if (p.artifact is None or hash_only(p.artifact) or unchecked_stand_in(p)) and (only is None or only(p))
    ]
    if written:
        check_recordable(pinner.config)  # never a lock whose index the loader refuses
    bound = _SizeBound(snapshot, todo) if written else None
    if bound is not None:
        bound.check("nothing downloaded, nothing written")
    counting = threading.Lock()
    over = threading.Event()

    def one(pkg: PythonPackage) -> PinOutcome | None:
        # Counted in the worker, so that no package is started once the files pinned pass the limit, however
        # late the main thread would see them.
        if over.is_set():
            return None
        outcome = pinner.pin_one(pkg)
        if bound is not None:
            with counting:
                bound.add(pkg, outcome)
                if bound.over():
                    over.set()
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(pool.map(one, todo))
    if bound is not None:
        left = sum(outcome is None for outcome in done)
        bound.check(f"stopped with {left} of {len(todo)} packages still to pin, nothing written")
    results = {p.name: outcome for p, outcome in zip(todo, done, strict=True) if outcome is not None}
    unreachable: list[str] = []
    refused: list[str] = []  # pinned, but bundle reads the file only with --allow-url: said now, not by bundle alone
    # As capture and import write them: the roots as labels, the login and host names hidden (docs/lockfile.md).
    redactor = PathRedactor(project=None if project_dir is None else str(project_dir))
    results = {name: _located(outcome, redactor) for name, outcome in results.items()}
    packages = []
    outcomes = []
    for pkg in snapshot.python.packages:
        outcome = results.get(pkg.name)
        if outcome is None:
            if pkg.artifact is not None:
                outcomes.append(PinOutcome(pkg.name, pkg.version, "pinned", "already pinned", pkg.artifact))
                art = pkg.artifact
                if art.filename and not art.rebuilt and not hash_only(art):
                    if why := pinner.missing_here(art):
                        unreachable.append(f"{pkg.name} {pkg.version}: {why}")
                    elif why := pinner.refused_here(art):
                        refused.append(f"{pkg.name} {pkg.version}: {why}")
            packages.append(pkg)
            continue
        if outcome.artifact is not None:
            found = in_import_folder(pkg, outcome.artifact)
            outcome = dataclasses.replace(outcome, artifact=found)
            if why := pinner.refused_here(found):
                refused.append(f"{pkg.name} {pkg.version}: {why}")
        elif outcome.status == "kept" and pkg.source.kind == "vcs" and local_path(pkg.source.url) is not None:
            # A repository of this machine a lock names (``git+file:///srv/libs/mylib``): bundle clones it only where
            # the user allows it. A remote one is judged when it is cloned (its host's addresses are looked up then).
            try:
                check_git_url(pinner.policy, pkg, named=False)  # "NAME VERSION: " says which package
            except FetchRefusedError as exc:
                refused.append(f"{pkg.name} {pkg.version}: {_repository_refused(exc, pkg.source.url)}")
        if outcome.artifact is None and unchecked_stand_in(pkg):
            pkg = dataclasses.replace(pkg, artifact=None)  # chosen by its name alone: no longer taken as pinned
        pinned_pkg = _pinned_package(pkg, outcome.artifact) if outcome.artifact else pkg
        if note := stand_in_note(pinned_pkg):
            outcome = dataclasses.replace(outcome, reason=note)  # not "the sdist it was built from": Debian built it
        outcomes.append(outcome)
        packages.append(pinned_pkg)
    # A stand-in is said in the lock, once per package, as long as the lock pins it (a pin again keeps it).
    stand_ins = tuple(f"{p.name} {p.version}: {note}" for p in packages if (note := stand_in_note(p)))
    warnings = [w for w in snapshot.envsnap.warnings if not w.startswith(WARNING_PREFIX)]
    warnings += [f"{WARNING_PREFIX}{o.name} {o.version}: {o.reason}" for o in outcomes if o.status == "unpinned"]
    warnings += [f"{WARNING_PREFIX}{line}" for line in stand_ins]
    hints = pinner.fetcher.hint_lines()
    warnings += [f"{WARNING_PREFIX}{hint}" for hint in hints]
    meta: Meta = dataclasses.replace(snapshot.envsnap, warnings=tuple(sorted(set(warnings))))
    pinned = dataclasses.replace(
        snapshot, envsnap=meta, python=dataclasses.replace(snapshot.python, packages=tuple(packages))
    )
    return PinResult(pinned, tuple(outcomes), hints, tuple(unreachable), tuple(refused), stand_ins)
