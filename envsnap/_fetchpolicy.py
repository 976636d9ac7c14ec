"""Where a lock may send envsnap: the one fetch policy that every fetcher (pin, bundle, the rebuilders, the
conda layer, git) asks before it reads a URL that came from a lock, a bundle or a page such a URL led to.

Trusted without asking: what the user configured (pip's index-url, extra-index-url and find-links, from its
files, ``PIP_*`` variables or a ``uv``/pip setting envsnap reads) and every file those indexes list. A URL from
a lock is fetched only when

- it matches an ``--allow-url PATTERN`` the user gave (a shell-style pattern over the whole URL; also read
  from ``$ENVSNAP_ALLOW_URL``, white-space separated), or
- it lies at or below a configured index or find-links location, or
- it is ``https`` (``git+https`` for a checkout) to a host whose every address is public: not loopback,
  private, link-local, multicast, reserved or unspecified.

So ``file://``, plain ``http://``, ``ssh`` and hosts such as ``127.0.0.1``, ``localhost``, ``10.0.0.5`` or a
cloud metadata address are refused unless the user allows them. A refusal happens before anything is read,
and its message never carries a hash of a local file. Redirects of a checked fetch are checked again.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import posixpath
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ._frozen import frozen
from ._privacy import strip_credentials
from .errors import PinError
from .fileurls import local_path, pattern_path
from .grammar import has_control

PUBLIC_SCHEMES = frozenset({"https", "git+https"})
HINT = "pass --allow-url PATTERN to allow it"
# A local file: the pattern matches the file's path, so a folder alone (``--allow-url /srv/wheels``) allows none of
# its files. Said in general terms: a path from a stranger's lock is not made into the pattern to pass (a lock naming
# ``/etc/shadow`` would have the message offer ``/etc/*``).
FILE_HINT = "pass --allow-url PATTERN to allow it: the pattern matches the file's path, DIR/* the files of a folder"
# A local git repository is allowed by its own path, a folder: ``DIR/*`` of the file hint, read as the repository's
# folder, matches none of it (``--allow-url /lab/labgit/*`` was refused again).
REPO_HINT = (
    "pass --allow-url PATTERN to allow it: the pattern matches the repository's own path, its folder, and DIR/* the "
    "repositories in DIR"
)


class FetchRefusedError(PinError):
    """A URL from a lock lies outside the fetch policy: nothing was read. Bad input (exit code 2). ``refusal``: what
    was refused, without the remedy the message ends with, for a caller that knows a better one (the bundle beside
    the lock); "" where the message has no remedy to replace."""

    exit_code = 2

    def __init__(self, message: str, refusal: str = "") -> None:
        super().__init__(message)
        self.refusal = refusal


def _under(url: str, root: str) -> bool:
    """``url`` is ``root`` or below it (file paths compared after resolving links and ``..``)."""
    local, base = local_path(url), local_path(root)
    if local is not None or base is not None:
        if local is None or base is None:
            return False
        return Path(os.path.realpath(local)).is_relative_to(os.path.realpath(base))
    have, want = urlsplit(url), urlsplit(root)
    if (have.scheme, have.netloc.rpartition("@")[2].lower()) != (want.scheme, want.netloc.rpartition("@")[2].lower()):
        return False
    path = posixpath.normpath(unquote(have.path) or "/")
    prefix = posixpath.normpath(unquote(want.path) or "/")
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _addresses(host: str) -> list[str] | None:
    """The host's addresses (an IP literal is its own); None when it does not resolve."""
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return [str(ipaddress.ip_address(literal))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _allowed(url: str, pattern: str) -> bool:
    """``url`` matches the ``--allow-url`` pattern. A local path is compared as the path that gets read, decoded
    and with ``..`` resolved, against the pattern decoded too: a folder as the user writes it (``my prøj``) or as
    a URL spells it (``my%20pr%C3%B8j``) is the same folder, and ``*`` does not lead out of it through ``..``."""
    local = local_path(url)
    if local is None:
        return fnmatch.fnmatchcase(strip_credentials(url), pattern) or fnmatch.fnmatchcase(url, pattern)
    read = posixpath.normpath(str(local))
    if pattern.startswith("file:"):  # file:///x, file://localhost/x, file:/x; not split as a URL: ? is a wildcard
        return fnmatch.fnmatchcase(read, pattern_path(pattern))
    return fnmatch.fnmatchcase(read, pattern)


@frozen
class FetchPolicy:
    """The user's allowances: ``allow`` (``--allow-url`` patterns) and ``trusted`` (configured locations)."""

    allow: tuple[str, ...] = ()
    trusted: tuple[str, ...] = ()

    def refusal(self, url: str, *, unresolved: bool = False) -> str | None:
        """Why ``url`` may not be fetched on a lock's word, or None when it may. ``unresolved``: a host name that
        does not resolve is no refusal (the URL is unreachable from here, not one the policy forbids)."""
        if not url or has_control(url) or any(ch.isspace() for ch in url):
            return "not a URL envsnap fetches"
        if any(_allowed(url, pattern) for pattern in self.allow):
            return None
        if any(_under(url, root) for root in self.trusted):
            return None
        parts = urlsplit(url)
        if parts.scheme not in PUBLIC_SCHEMES:
            what = "a local path" if local_path(url) is not None else f"a {parts.scheme or 'schemeless'} URL"
            return f"{what}, not https"
        host = parts.hostname or ""
        if not host:
            return "no host"
        if host.rstrip(".").lower() == "localhost" or host.lower().endswith(".localhost"):
            return f"host {host} is this machine"
        addresses = _addresses(host)
        if addresses is None:
            return None if unresolved else f"host {host} does not resolve"
        inner = [a for a in addresses if _not_public(a)]
        if inner:
            return f"host {host} is a loopback, private or link-local address ({inner[0]})"
        return None

    def check(self, url: str, what: str = "URL", *, repository: bool = False) -> str:
        """``url`` when a lock may send envsnap there; ``FetchRefusedError`` (one line) otherwise. ``repository``:
        ``url`` names a git repository (a folder), not a file."""
        reason = self.refusal(url)
        if reason is not None:
            place = local_path(url)
            hint = HINT if place is None else REPO_HINT if repository else FILE_HINT
            refusal = f"{what} {_url_shown(url, place)} from the lock is not fetched: {reason}"
            raise FetchRefusedError(f"{refusal} ({hint})", refusal)
        return url

    def with_allowed(self, patterns: Iterable[str]) -> FetchPolicy:
        return FetchPolicy((*self.allow, *patterns), self.trusted)


ENV_ALLOW = "ENVSNAP_ALLOW_URL"  # the configuration form of --allow-url: patterns separated by white space


def _url_shown(url: str, place: Path | None) -> str:
    """A refused URL as its refusal names it: a local file or repository by its decoded path, one shell word (its
    ``file:`` URL read ``paper%20%24x``, ``caf%C3%A9`` for the folder the user knows as ``paper $x``, ``café``);
    any other URL quoted, without credentials. At most 200 characters of either."""
    if place is None:
        return repr(strip_credentials(url)[:200])
    from .sinks import shell_shown

    return shell_shown([str(place)[:200]])


def folder_allowance(path: Path) -> str:
    """The ``--allow-url`` pattern that allows a local file of the lock's, ``path`` (absolute, on this machine): its
    folder, ``DIR/*``. The one rule ``pin``'s refusal of a local wheel and verify's conda remedy name it by."""
    return f"{_literal(posixpath.normpath(os.fspath(path.parent)))}/*"


def repository_allowance(path: Path) -> str:
    """The ``--allow-url`` pattern that allows a local git repository of the lock's, ``path`` (absolute, on this
    machine): its own path, the folder (``REPO_HINT``), and no other repository beside it as ``DIR/*`` would. The
    same for a find-links folder the lock names, which is read once allowed (``pin``, ``bundle --offline``)."""
    return _literal(posixpath.normpath(os.fspath(path)))


def _literal(path: str) -> str:
    """``path`` as a pattern matching itself alone: its ``*``, ``?`` and ``[`` each in brackets (``wheels [1]`` was
    a pattern matching ``wheels 1`` and not that folder; ``a*`` any folder starting ``a``)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in path)


def allowances(extra: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The user's ``--allow-url`` patterns and those in ``$ENVSNAP_ALLOW_URL`` (their own settings, trusted
    like pip's ``PIP_*``)."""
    env = os.environ if environ is None else environ
    return (*env.get(ENV_ALLOW, "").split(), *extra)


def trusted_locations(index_urls: Iterable[str], find_links: Iterable[str]) -> tuple[str, ...]:
    """The configured locations as the policy compares them (plain paths become absolute)."""
    out = []
    for location in (*index_urls, *find_links):
        if "://" not in location:
            location = Path(location).absolute().as_uri()
        out.append(location)
    return tuple(out)


__all__ = [
    "ENV_ALLOW",
    "FetchPolicy",
    "FetchRefusedError",
    "allowances",
    "folder_allowance",
    "local_path",
    "repository_allowance",
    "trusted_locations",
]
