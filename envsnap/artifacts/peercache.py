"""Files pip already downloaded: a pinned file found in pip's http cache is copied from there (read-only, its
sha256 checked while copying) instead of being downloaded again (issue 19).

pip (>= 23.3) keeps each cached response's body as a file of its own, ``<cache>/http-v2/a/b/c/d/e/<key>.body``,
where ``<key>`` is the sha224 of the request URL as its http cache (CacheControl) normalises it: scheme and host
lower-cased, the fragment dropped, an empty path read as ``/``. The body is the file exactly as served, so the
file a lock pins is found by its URL and proven by its hash. Older pips store the body inside a msgpack record
(``<cache>/http/...``): not read. uv keeps no downloaded wheel file at all: it unpacks each wheel into its
archive bucket as it arrives and records the hashes beside it, so the bytes a lock pins cannot be had from it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from .. import _leftovers
from .._defaults import user_cache_root
from ..grammar import is_sha256_hex

# pip's own switch: any value of PIP_NO_CACHE_DIR turns its cache off, so envsnap does not read it either.
_NO_CACHE = "PIP_NO_CACHE_DIR"


def pip_cache_dir(configured: str = "", environ: Mapping[str, str] | None = None) -> Path | None:
    """pip's cache folder: ``configured`` (its ``cache-dir`` setting), ``$PIP_CACHE_DIR``, else the platform's
    (``$XDG_CACHE_HOME/pip`` or ``~/.cache/pip``). None when the user turned pip's cache off."""
    env = os.environ if environ is None else environ
    if env.get(_NO_CACHE):
        return None
    chosen = env.get("PIP_CACHE_DIR") or configured
    if chosen:
        return Path(os.path.expanduser(chosen))
    return user_cache_root(env) / "pip"


def cache_key(url: str) -> str:
    """The URL as pip's http cache names it."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path or '/'}{query}"


def pip_body(cache: Path, url: str) -> Path | None:
    """The cached body of ``url`` in pip's http cache, when there is one."""
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    digest = hashlib.sha224(cache_key(url).encode()).hexdigest()
    path = cache.joinpath("http-v2", *digest[:5], digest + ".body")
    return path if path.is_file() else None


def copy_verified(source: Path, dest: Path, sha256: str, limit: int) -> bool:
    """Copy ``source`` to ``dest`` when its content has ``sha256`` (and at most ``limit`` bytes); the copy is
    written beside ``dest`` and renamed into place only after the hash matched. False, and nothing written,
    otherwise: the source is only read."""
    if not is_sha256_hex(sha256):
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        # Held while written, as a download is (``Fetcher.download``): into a cache, or a bundle's wheels.
        with _leftovers.held_file(dest.parent, dest.name, "download") as (out, tmp), open(source, "rb") as src:
            while chunk := src.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    return False
                digest.update(chunk)
                out.write(chunk)
            if digest.hexdigest() != sha256:
                return False
            out.flush()
            os.replace(tmp, dest)
        return True
    except OSError:
        return False


def from_pip_cache(url: str, sha256: str, dest: Path, *, limit: int, configured: str = "") -> bool:
    """``dest`` made from pip's cached copy of ``url`` when pip has one with ``sha256``."""
    cache = pip_cache_dir(configured)
    body = pip_body(cache, url) if cache is not None else None
    return body is not None and copy_verified(body, dest, sha256, limit)
