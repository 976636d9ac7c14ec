"""The one http(s) client of pin, bundle and the rebuilders: kept-alive connections, one pool per host for the
whole process (issue 19: a bundle of 150 wheels opened 150 connections, each with its own TLS handshake).

urllib3 (already installed with the Docker SDK's requests) keeps the pools; this module adds what envsnap asks
of every read: pip's certificate bundle, the proxy the environment names (as ``urllib.request`` would use it),
credentials from the URL sent to that host only, no content decoding (the bytes hashed are the bytes served),
and redirects followed here, one at a time, so that the fetch policy is asked again about each one."""

from __future__ import annotations

import base64
import re
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from .._version import USER_AGENT

if TYPE_CHECKING:
    import ssl

    import urllib3

# Connections kept per host: more than the threads that read at once (pin: 8, bundle: 4), so none waits.
CONNECTIONS_PER_HOST = 16
MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class HTTPStatusError(Exception):
    """The server answered with an error status (``code``, ``reason``)."""

    def __init__(self, code: int, reason: str):
        super().__init__(f"HTTP {code} {reason}")
        self.code = code
        self.reason = reason


class TransportError(Exception):
    """No answer: the host did not resolve, refused, reset or timed out (``reason`` says which)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


_lock = threading.Lock()
_contexts: dict[str, ssl.SSLContext] = {}
_managers: dict[tuple[str, str], urllib3.PoolManager] = {}


def ssl_context(cafile: str | None) -> ssl.SSLContext:
    """The certificate context for pip's ``cert`` (None: the system's), made once per process; ``OSError`` or
    ``ssl.SSLError`` when the bundle cannot be loaded."""
    import ssl

    with _lock:
        context = _contexts.get(cafile or "")
        if context is None:
            context = _contexts[cafile or ""] = ssl.create_default_context(cafile=cafile)
        return context


def _manager(cafile: str | None, proxy: str) -> urllib3.PoolManager:
    """The process's pool manager for one certificate bundle and proxy (``""``: none): one pool per host, shared
    by every fetcher of the run (pin's and the bundle's)."""
    import urllib3

    context = ssl_context(cafile)
    key = (cafile or "", proxy)
    with _lock:
        manager = _managers.get(key)
        if manager is None:
            options: dict[str, Any] = {"maxsize": CONNECTIONS_PER_HOST, "block": True, "ssl_context": context}
            manager = urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
            _managers[key] = manager
        return manager


def _proxy_for(url: str) -> str:
    """The proxy ``urllib.request`` would use for ``url`` (``*_proxy`` variables, ``no_proxy``), or ``""``."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme, "")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return ""
    return proxy if "://" in proxy else "http://" + proxy


def split_auth(url: str) -> tuple[str, str]:
    """``url`` without its ``user:password@`` part, and that part percent-decoded (``""`` when it has none)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, ""
    userinfo, host = parts.netloc.rsplit("@", 1)
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), unquote(userinfo)


def url_origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower() + f":{parts.port or ''}"


def credentials_by_origin(urls: Iterable[str], given: Iterable[tuple[str, str]] = ()) -> dict[tuple[str, str], str]:
    """The ``user:password`` of each configured location, by its scheme, host and port (the first location of an
    origin that names some wins): pip sends an index's password with every request to that origin, the files its
    pages list included (devpi, Artifactory and Nexus serve them under another path of the same host). ``given``:
    (location, ``user:password``) given apart from the URL (uv's ``UV_INDEX_{NAME}_PASSWORD``), which win."""
    found: dict[tuple[str, str], str] = {}
    for url, auth in given:
        clean = split_auth(url)[0]
        if urlsplit(clean).scheme in ("http", "https"):
            found.setdefault(url_origin(clean), auth)
    for url in urls:
        clean, auth = split_auth(url)
        if auth and urlsplit(clean).scheme in ("http", "https"):
            found.setdefault(url_origin(clean), auth)
    return found


def open_url(
    url: str,
    *,
    cafile: str | None,
    timeout: float,
    accept: str = "*/*",
    headers: Mapping[str, str] | None = None,
    check_redirect: Callable[[str], object] | None = None,
    credentials: Mapping[tuple[str, str], str] | None = None,
) -> tuple[urllib3.BaseHTTPResponse, str]:
    """GET ``url``: the response (status 2xx, body not read yet: read it, then ``release``) and the final URL
    (without credentials). ``check_redirect`` is asked about each redirect before it is followed (it raises to
    refuse). ``credentials`` (``credentials_by_origin``): the password sent to a URL of that origin that names
    none. ``HTTPStatusError`` for an error status, ``TransportError`` when no answer came."""
    import urllib3

    clean, auth = split_auth(url)
    auth = auth or (credentials or {}).get(url_origin(clean), "")
    origin = url_origin(clean)
    current = clean
    retries = urllib3.Retry(total=2, connect=2, read=1, redirect=False, status=0, other=0)
    wait = urllib3.Timeout(connect=timeout, read=timeout)
    for _ in range(MAX_REDIRECTS + 1):
        sent = {"Accept": accept, "User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
        if auth and url_origin(current) == origin:  # a redirect elsewhere does not carry the index's password
            sent["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        try:
            response = _manager(cafile, _proxy_for(current)).urlopen(
                "GET",
                current,
                headers=sent,
                redirect=False,
                retries=retries,
                timeout=wait,
                preload_content=False,
                decode_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise TransportError(_reason(exc)) from None
        except OSError as exc:
            raise TransportError(str(exc.strerror or exc)) from None
        if response.status in _REDIRECTS and response.headers.get("Location"):
            target = urljoin(current, response.headers["Location"])
            release(response, drain=True)
            if urlsplit(target).scheme not in ("http", "https"):
                raise TransportError(f"redirected to a {urlsplit(target).scheme or 'schemeless'} URL")
            if check_redirect is not None:
                check_redirect(target)
            current = split_auth(target)[0]
            continue
        if response.status >= 400:
            reason = response.reason or ""
            release(response, drain=False)
            raise HTTPStatusError(response.status, reason)
        return response, current
    raise TransportError(f"more than {MAX_REDIRECTS} redirects")


def _reason(exc: Exception) -> str:
    """The innermost cause of a urllib3 error, as urllib said it (``[Errno 111] Connection refused``)."""
    inner: Any = getattr(exc, "reason", None) or exc
    while getattr(inner, "reason", None) is not None and inner is not inner.reason:
        inner = inner.reason
    text = str(inner)
    # urllib3 names the connection it failed on first ("HTTPConnection(host='h', port=80): Failed to establish a
    # new connection: [Errno 111] Connection refused"); the cause after it is what urllib said.
    if (text.startswith(("HTTPConnection(", "HTTPSConnection(", "<")) and "): " in text) or ">: " in text:
        text = re.split(r"\)?>?: ", text, maxsplit=1)[-1]
        text = text.removeprefix("Failed to establish a new connection: ")
    return text


def chunks(response: urllib3.BaseHTTPResponse, size: int = 1 << 20) -> Iterator[bytes]:
    """The body in pieces; the connection goes back to its pool once the body was read to its end."""
    import urllib3

    try:
        while chunk := response.read(size):
            yield chunk
    except urllib3.exceptions.HTTPError as exc:
        release(response, drain=False)
        raise TransportError(_reason(exc)) from None
    except BaseException:
        release(response, drain=False)
        raise
    release(response, drain=True)


def release(response: urllib3.BaseHTTPResponse, *, drain: bool) -> None:
    """Give the connection back: kept for reuse when its response was read to the end (``drain``: read what is
    left of a small body first), closed otherwise."""
    try:
        if drain:
            response.drain_conn()
        else:
            response.close()
    except Exception:  # a connection that fails here is simply not reused
        response.close()
    response.release_conn()
