"""Keep what identifies a person or unlocks an account out of lockfiles: they get published with papers.

Two kinds of rule (docs/lockfile.md "Privacy", docs/security.md):

- secrets (credentials, signed-URL signatures, provider tokens) never reach a lock or an export: a URL loses
  them, an environment variable holding one is left out, any other recorded value has the token replaced by
  ``<redacted>``; these rules need nothing from the host, so exports apply them to any lock (an imported or
  older one) too;
- what names the capturing person or machine (the home directory, the login name, the host name) is rewritten
  at capture: ``~``, ``<user>``, ``<host>``. ``{prefix}``/``{project}`` are labels a rebuild resolves; the
  angle-bracket placeholders are plain removals.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Iterator
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._lazyre import LazyPattern
from .fileurls import HOME, LABELS, PROJECT, is_file_url, is_labelled, local_path, path_url, tail_below

if TYPE_CHECKING:
    from .model import PythonPackage, Snapshot

REDACTED = "<redacted>"
USER = "<user>"
HOST = "<host>"

_SECRET_NAME = LazyPattern(
    # "-" too: query parameters spell them api-key, x-api-key, access-key.
    r"(TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|CREDENTIAL|PRIVATE|API[-_]?KEY|ACCESS[-_]?KEY|AUTH|COOKIE|SESSION|[-_]KEY$|^KEY$"
    r"|(^|_)(PASS|PW)(_|$))",
    re.IGNORECASE,
)
# Query and fragment parameters that sign or authorise a URL (S3/GCS presigned URLs, Azure SAS, CloudFront,
# OAuth implicit-flow fragments) besides those whose name says secret.
_SECRET_PARAM = LazyPattern(r"(^|[-_.])(SIG|SIGNATURE|POLICY|KEY-PAIR-ID|CODE)$", re.IGNORECASE)
# Values that are secrets whatever their variable is called: provider token prefixes, JWTs, PEM keys, bearer
# tokens, and ``key=value`` pairs of a secret parameter outside a URL. Each alternative starts with a literal,
# so a search is linear in the value's length.
_SECRET_VALUE = LazyPattern(
    r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{20,}"
    r"|sk-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|eyJ[A-Za-z0-9_-]{10,}\.eyJ"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|A(KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA)[0-9A-Z]{16}"  # AWS access key ids (ASIA: temporary)
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API keys
    r"|[sr]k_(live|test)_[0-9A-Za-z]{10,}"  # Stripe secret and restricted keys
    r"|npm_[A-Za-z0-9]{30,}"
    r"|pypi-Ag[A-Za-z0-9_-]{20,}"  # PyPI and TestPyPI API tokens (macaroons)
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/-]{12,}=*"
    r"|(?i:authorization)\s*[:=]\s*(?:[A-Za-z]+\s+)?[A-Za-z0-9._~+/-]{8,}=*"  # a header: Token, Basic, ...
    r"|hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+"  # a webhook URL's path is its secret
    r"|dapi[0-9a-f]{32}"  # Databricks personal access tokens
    r")"
    r"|(?<![A-Za-z0-9_])(?i:(x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature"
    r"|x-goog-credential|sig|signature|access_token|id_token|refresh_token|auth_token|token|password|passwd"
    r"|secret|api_key|apikey))=(?P<value>[^\s&#;,'\"]+)"
)
# An AWS secret access key: 40 base64 characters, standalone, mixed case with a digit (a lower-case hex git
# commit or an upper-case hex digest of the same length is not one).
_AWS_SECRET = LazyPattern(r"(?<![A-Za-z0-9/+_-])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=_-])")
# ``user:password@host`` without a scheme (a database DSN): the userinfo goes, as in a URL. Matched from the
# start of a run only, so a long value is scanned once.
_BARE_USERINFO = LazyPattern(r"(?<![\w.%+~<>-])[\w.%+~<>-]+:[^\s@/:'\"]+@(?=[\w-])")
# Another person's home directory: ``/home/NAME`` and macOS ``/Users/NAME``.
_OTHER_HOME = LazyPattern(r"(?<![\w.~-])(/home|/Users)/(?!<user>)[^/\s:;,'\"<>]+")
# Login names that identify nobody (and would rewrite ordinary words); host names likewise.
# A path inside the project in free text, once labelled: up to a space, a quote or a list's separator.
_PROJECT_PATH = LazyPattern(r"\{project\}/[^\s'\":;,]*")
_ANONYMOUS_USERS = frozenset({"", "root", "nobody"})
_ANONYMOUS_HOSTS = frozenset({"", "localhost", "localhost.localdomain", "localhost6"})


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def is_secret_param(name: str) -> bool:
    """A URL query or fragment parameter that carries a secret or a signature (``X-Amz-Signature``, ``sig``)."""
    return is_secret_name(name) or bool(_SECRET_PARAM.search(name))


# A command-line option whose value is a secret by its name (``--api-key``, ``--db-password``, ``--hf-token``):
# narrower than the variables' rule, ``--auth-method basic`` or ``--session 3`` being no secrets, and a command
# with a value redacted is not run again by rerun; ``--tokenizer`` and ``--max-tokens`` stay.
_SECRET_OPTION = LazyPattern(
    r"(PASSW(OR)?D|PASSPHRASE|TOKEN|SECRET([-_]?KEY)?|API[-_]?KEY|ACCESS[-_]?KEY|PRIVATE[-_]?KEY|CREDENTIALS?)$",
    re.IGNORECASE,
)


def is_secret_option(name: str) -> bool:
    """Whether a command-line option of this name (without its dashes) carries a secret value."""
    return bool(name) and _SECRET_OPTION.search(name) is not None


def _aws_secret(text: str) -> bool:
    return (
        not text.startswith("/")
        and any(c.isupper() for c in text)
        and any(c.islower() for c in text)
        and any(c.isdigit() for c in text)
    )


def _secret_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where the secrets in ``text`` are (for a ``key=value`` pair, the value)."""
    for m in _SECRET_VALUE.finditer(text):
        yield m.span("value") if m.group("value") is not None else m.span()
    for m in _AWS_SECRET.finditer(text):
        if _aws_secret(m.group()):
            yield m.span()


def looks_like_secret(value: str) -> bool:
    return next(_secret_spans(value), None) is not None


def redact_secrets(text: str) -> str:
    """``text`` with every token that looks like a secret replaced by ``<redacted>``."""
    if _SECRET_VALUE.search(text) is None and _AWS_SECRET.search(text) is None:
        return text  # the common case, without the generator (scrubbing a lock redacts every URL in it)
    spans = sorted(_secret_spans(text))
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        if start < last:
            start = last
        if start >= end:
            continue
        out.append(text[last:start] + REDACTED)
        last = end
    out.append(text[last:])
    return "".join(out)


def _kept_params(params: str, *, encode: bool) -> str:
    """A query (or a ``k=v&...`` fragment) without its secret parameters; unchanged when it has none."""
    if encode:
        pairs = parse_qsl(params, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not (is_secret_param(k) or looks_like_secret(v))]
        return params if len(kept) == len(pairs) else urlencode(kept)
    if "=" not in params:
        return params
    pieces = params.split("&")
    kept_pieces = [
        p for p in pieces if not (is_secret_param(p.partition("=")[0]) or looks_like_secret(p.partition("=")[2]))
    ]
    return params if len(kept_pieces) == len(pieces) else "&".join(kept_pieces)


# anaconda.org tokens live in a channel URL's path (``/t/<token>/``), where no URL rule can see them.
_CHANNEL_TOKEN = LazyPattern(r"/t/[^/]+/")


def strip_channel_token(url: str) -> str:
    """A conda package or channel URL without its anaconda.org ``/t/<token>/`` segment or credentials."""
    return strip_credentials(_CHANNEL_TOKEN.sub("/", url, count=1))


_SCP_LIKE = LazyPattern(r"([^@/:\s]+)@([^/:\s]+):(?!//)")
_SCP_REMOTE = LazyPattern(r"([^@/:\s]+@)?([^@/:\s]+):(?!//)")


def pip_remote_url(remote: str) -> str:
    """A git remote as pip writes it in a URL (``pip freeze`` of an editable checkout): a path as a ``file:`` URL,
    ``user@host:path`` (scp-like) as ``ssh://user@host/path``; a URL as it is. Credentials are left to ``url``."""
    if remote.startswith("/"):
        from pathlib import Path

        return Path(remote).as_uri()
    scp = _SCP_REMOTE.match(remote) if "://" not in remote else None
    if scp is not None and remote[scp.end() :]:
        return f"ssh://{scp.group(1) or ''}{scp.group(2)}/{remote[scp.end() :].lstrip('/')}"
    return remote


def strip_credentials(url: str) -> str:
    """A URL without user:password (``git@`` of ssh URLs is kept: it is no secret), secret or signing query and
    fragment parameters, or a token anywhere else in it (``<redacted>``)."""
    if "://" not in url:
        scp = _SCP_LIKE.match(url)
        if scp and scp.group(1) != "git":
            url = url[scp.start(2) :]  # alice@host:repo.git -> host:repo.git, as a URL loses its userinfo
        return redact_secrets(_BARE_USERINFO.sub("", url))
    if "@" not in url and "?" not in url and "#" not in url:
        return redact_secrets(url)  # no userinfo, query or fragment to split off (a lock's wheel URLs)
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_secrets(url)
    netloc = parts.netloc
    # ``git+file://{project}@COMMIT``: a repository the lock names by a label, then its commit; no login
    if "@" in netloc and netloc.rsplit("@", 1)[0] not in LABELS:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{host}" if user == "git" and ":" not in userinfo else host
    query = _kept_params(parts.query, encode=True) if parts.query else ""
    fragment = _kept_params(parts.fragment, encode=False) if parts.fragment else ""
    if (netloc, query, fragment) != (parts.netloc, parts.query, parts.fragment):
        url = urlunsplit((parts.scheme, netloc, parts.path, query, fragment))
    return redact_secrets(url)


# Matched from the start of a run of scheme characters only (group 1: what precedes the scheme's first letter): a
# pattern that may start at any letter retries from each one of a long run, quadratic in its length (a 120 kB
# environment variable took 11 s).
# An scp-style git remote inside free text (``git@github.com:alice/r.git``, ``github.com:alice/r.git``): a start
# of a word, ``[user@]host:`` and a path up to a space, a quote, a list's separator or the next ``:``. Group 1: the
# user, group 2: the host, group 3: the path. ``remote_in_text`` says which matches are remotes.
_SCP_IN_TEXT = LazyPattern(
    r"(?<![^\s'\"(=,;<>\[])([\w.+-]+@)?([A-Za-z0-9][\w-]*(?:\.[\w-]+)*):(?!//)([^\s'\";,:()<>\[\]]+)"
)
_URL_IN_TEXT = LazyPattern(r"(?<![A-Za-z0-9+.-])([0-9+.-]*)([A-Za-z][A-Za-z0-9+.-]*://[^\s'\";,]+)")


def strip_credentials_in_text(text: str) -> str:
    """Every URL inside free text, without credentials."""
    return _URL_IN_TEXT.sub(lambda m: m.group(1) + strip_credentials(m.group(2)), text)


def strip_bare_userinfo(text: str) -> str:
    """``user:password@host:5432`` (no scheme) -> ``host:5432``."""
    return _BARE_USERINFO.sub("", text)


def scrub_value(value: str) -> str | None:
    """A recorded variable's value without credentials, or None when it holds a secret (left out)."""
    value = strip_bare_userinfo(strip_credentials_in_text(value))
    return None if looks_like_secret(value) else value


def scrub_text(text: str) -> str:
    """Free text (a warning) with URLs stripped of credentials and tokens replaced by ``<redacted>``."""
    return redact_secrets(strip_bare_userinfo(strip_credentials_in_text(text)))


def _names(names: Iterable[str], anonymous: frozenset[str]) -> list[str]:
    return sorted({n for n in names if n and n.lower() not in anonymous and len(n) >= 2}, key=lambda n: -len(n))


def _word(names: list[str], flags: int = 0) -> re.Pattern[str] | None:
    """A whole-word pattern for any of ``names`` (``alice`` in ``/scratch/alice/x``, not in ``malice``)."""
    if not names:
        return None
    return re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, names)) + r")(?![A-Za-z0-9_])", flags)


# Where a home directory's last part is its user's name by convention (what ``_OTHER_HOME`` takes for one).
_HOMES = ("/home", "/Users")


def login_names(home: str | None = None) -> list[str]:
    """The names this process's user is known by: the login name (``getpass``), ``$USER`` and ``$LOGNAME`` (both:
    ``getpass`` reads only the first set, and they differ after ``su`` or under a batch system), the password
    database's, and the name of a home directly in ``/home`` or ``/Users`` (``/home/alice``: a container run as
    root with ``HOME`` set). Not the last part of any other home: with ``HOME=/x/home`` every ``home`` in a
    path became ``<user>`` (another user's ``/home/bob`` was recorded as ``/<user>/<user>``)."""
    names = {os.environ.get("USER", ""), os.environ.get("LOGNAME", "")}
    with contextlib.suppress(KeyError, OSError, ImportError):
        import getpass  # here: a lock's load scrubs URLs and needs neither this nor socket (2.4 ms of its imports)

        names.add(getpass.getuser())
    with contextlib.suppress(KeyError, OSError, ImportError, AttributeError):
        import pwd

        names.add(pwd.getpwuid(os.getuid()).pw_name)
    if home:
        parent, name = os.path.split(os.path.normpath(home))
        if parent in _HOMES and name.lower() not in ("home", "users"):
            names.add(name)
    return sorted(n for n in names if n)


def host_names() -> list[str]:
    """This host's name and, for a fully qualified one, its first label. ``uname``'s node name where there is one:
    what ``socket.gethostname`` gives on POSIX, without importing ``socket`` (1.5 ms of every capture)."""
    try:
        uname = getattr(os, "uname", None)
        if uname is not None:
            name = uname().nodename
        else:
            import socket

            name = socket.gethostname()
    except OSError:
        return []
    return sorted({name, name.split(".", 1)[0]})


def hidden_names(url: str) -> str:
    """What a lock's local path or URL hides of the machine it was written on: "login name", "host name" (capture,
    pin and import write ``<user>`` and ``<host>`` for them), or "" for one that names a place as it is (a local
    folder that really is called ``<user>`` included). Such a place names nothing here: neither ``--allow-url`` nor
    ``--project`` changes that."""
    local = local_path(url) if is_file_url(url) or url.startswith("/") else None
    text = url if local is None else str(local)  # percent-decoded: file:///home/bob/%3Cuser%3E-wheels
    hidden = [what for label, what in ((USER, "login name"), (HOST, "host name")) if label in text]
    if not hidden or (local is not None and local.exists()):
        return ""
    return " and ".join(hidden)


class PathRedactor:
    """Rewrites local paths and values so no home directory, user name or host name is recorded.

    Inside the environment: ``{prefix}/...``; inside the project: ``{project}/...`` (what follows as written: a
    folder of the repository); under the home directory: ``~/...``; another user's home ``/home/<user>/...``; the
    login name anywhere else in a path (``/scratch/<user>/...``) ``<user>``; the host name ``<host>``. Other paths
    (``/usr/lib/...``) are kept: they are the same on every host.
    """

    def __init__(
        self,
        prefix: str | None = None,
        project: str | None = None,
        home: str | None = None,
        users: Iterable[str] | None = None,
        hosts: Iterable[str] | None = None,
    ):
        self.roots: list[tuple[str, str]] = []
        for root, label in ((project, "{project}"), (prefix, "{prefix}")):
            if root and os.path.abspath(root) != "/":  # "/" is no place to label (a container's working directory)
                self.roots.append((os.path.realpath(root), label))
                self.roots.append((os.path.abspath(root), label))
        home = home if home is not None else os.path.expanduser("~")
        if home and home not in ("/", "~"):
            homes = (os.path.realpath(home), os.path.abspath(home))
            # A root in a home reached through a link (HOME=/home/me -> /data/me; git names the work tree
            # /data/me/proj): pip records ``pip install -e ~/proj/libs/x`` as /home/me/proj/libs/x, which lies in
            # the project, not merely under the home, so the root is spelled through every spelling of the home.
            for root, label in list(self.roots):
                for spelling in homes:
                    tail = tail_below(root, spelling, encoded=False)
                    self.roots += [(other + tail, label) for other in homes if tail and other != spelling]
            self.roots += [(spelling, "~") for spelling in homes]
        # Most specific first: a project inside the home directory is "{project}", not "~/...".
        self.roots = sorted(dict.fromkeys(self.roots), key=lambda item: -len(item[0]))
        self._user = _word(_names(login_names(home) if users is None else users, _ANONYMOUS_USERS))
        self._host = _word(_names(host_names() if hosts is None else hosts, _ANONYMOUS_HOSTS), re.IGNORECASE)

    def names(self, text: str) -> str:
        """``text`` with another user's home, the login name and the host name replaced."""
        text = _OTHER_HOME.sub(lambda m: m.group(1) + "/" + USER, text)
        if self._user is not None:
            text = self._user.sub(USER, text)
        if self._host is not None:
            text = self._host.sub(HOST, text)
        return text

    def path(self, path: str) -> str:
        for root, label in self.roots:
            if path == root:
                return label
            if path.startswith(root.rstrip("/") + "/"):
                return label + "/" + self._below(label, path[len(root.rstrip("/")) + 1 :])
        return self.names(path)

    def _below(self, label: str, tail: str) -> str:
        """What follows a root's label: inside the project as written (``{project}/libs/alice-tools`` is a folder
        of the repository, which the reader checks out and a rebuild builds from: ``<user>-tools`` named nothing
        there), elsewhere without the names."""
        return tail if label == PROJECT else self.names(tail)

    def _below_root(self, path: str) -> tuple[str, str] | None:
        """The label of the most specific root a URL's ``path`` lies in, and what follows the root (``""`` or
        ``/...``, as written); compared percent-decoded (pip writes "my proj" as my%20proj). None: in none."""
        for root, label in self.roots:
            tail = tail_below(path, root, encoded=True)
            if tail is not None:
                return label, tail
        return None

    def located(self, url: str) -> str:
        """A ``file:`` URL of a file envsnap read on this machine (a wheel pin found in a find-links folder) with
        its root as a label: ``file://{project}/wheels/x.whl``, ``file://~/wheels/x.whl``, the rest as written;
        the label is resolved again where the lock is used (``pin.local_dir``). Names are not rewritten: the URL
        must go on naming the file. Any other URL is returned as it is."""
        if not url.startswith("file:///"):
            return url
        below = self._below_root(url.partition("://")[2])  # as written, compared percent-decoded
        return url if below is None else f"file://{below[0]}{below[1]}"

    def local(self, path: str) -> str:
        """The ``file:`` URL a lock records for the absolute local ``path`` an imported file names: under the label
        of its root (``file://{project}/libs/x``, ``file://~/wheels`` for a folder beside the project), as capture
        and pin record it, where it lies in one as written or once links are resolved (git names the work tree by
        its real path); else by its path (``file:///opt/wheels``). Resolved again where the lock is used
        (``pin.local_dir``)."""
        for spelling in dict.fromkeys((path, os.path.realpath(path))):
            url = self.located(path_url(spelling))
            if is_labelled(url):
                return url
        return path_url(path)

    def labelled(self, path: str) -> str | None:
        """An absolute local ``path`` (a word of a recorded command line, a ``--data`` path) under the label of
        the project or the home it lies in (``{project}/train.py``, ``~/data/x.csv``, ``{project}`` for the root
        itself), the rest as written: no name is rewritten and no link resolved, the path must go on naming the
        same file (a venv's ``bin/python`` links to its base interpreter: it is not that one) where the label is
        resolved again (``rerun``). None when it lies in neither (each spelling of each is a root), or only
        through a ``..``."""
        if not path.startswith("/"):
            return None
        for root, label in self.roots:
            tail = tail_below(path, root, encoded=False) if label in (PROJECT, HOME) else None
            if tail is not None:
                return None if ".." in tail.split("/") else label + tail
        return None

    def url(self, url: str) -> str:
        """A URL without credentials; a local one (``file://``, a path, ``host:path``) also without names; a
        network one keeps its path (a forge account in it is public: it is what a reader clones) but not this
        host's name."""
        url = strip_credentials(url)
        scheme, _, rest = url.partition("://")
        if scheme == "file" or scheme.endswith("+file"):
            if rest.startswith("localhost/"):  # this machine's folder, as pip records git+file://localhost/repo
                rest = rest[len("localhost") :]
            below = self._below_root(rest)
            if below is not None:
                label, tail = below
                return f"{scheme}://{label}" + (f"/{self._below(label, tail[1:])}" if tail else "")
            return f"{scheme}://" + self.names(rest)
        if "://" not in url:
            remote = _SCP_REMOTE.match(url)
            if remote is None:
                return self.path(url) if url.startswith("/") else self.names(url)
            # host:path (scp-like git): a network remote, like https: its path is kept, this host's name is not.
            host = self._host.sub(HOST, remote.group(2)) if self._host is not None else remote.group(2)
            path = url[remote.end(2) + 1 :]
            if host != remote.group(2):  # a folder of this machine, which no reader clones: as a local path
                path = self.path(path) if path.startswith("/") else self.names(path)
            return (remote.group(1) or "") + host + ":" + path
        try:
            parts = urlsplit(url)
        except ValueError:
            return self.names(url)
        netloc = self._host.sub(HOST, parts.netloc) if self._host is not None else parts.netloc
        if netloc == parts.netloc:
            return url
        if scheme.lower() in ("ssh", "git+ssh"):  # a folder of this machine, as host:path above
            parts = parts._replace(path=self.path(parts.path) if parts.path.startswith("/") else parts.path)
        return urlunsplit(parts._replace(netloc=netloc))

    def text(self, text: str) -> str:
        """Any path-bearing text (a warning, an env var value): its paths and local URLs as ``path`` records them, a
        network URL in it as ``url`` records one (its path kept)."""
        return self._outside_network_urls(text, self._local_text)

    def names_in_text(self, text: str) -> str:
        """Free text with the names replaced (``names``), except after ``{project}/`` (a folder of the repository)
        and in the path of a network URL it holds, which is kept as ``url`` keeps it
        (``https://files.example.org/users/alice/wheels``: a warning named a location that does not exist,
        ``.../users/<user>/wheels``, beside a lock's URL recorded as written)."""
        return self._outside_network_urls(text, self._names_outside_project)

    def _local_text(self, text: str) -> str:
        """Text with its paths under their roots' labels and the names replaced, but for a path inside the project,
        kept as written after ``{project}/`` as ``path`` keeps it (a folder of the repository)."""
        for root, label in self.roots:
            text = text.replace(root.rstrip("/") + "/", label + "/")
            text = re.sub(re.escape(root.rstrip("/")) + r"(?=$|[:\s'\"])", label, text)
        return self._names_outside_project(text)

    def _names_outside_project(self, text: str) -> str:
        """``names`` of ``text``, but for its paths inside the project (``{project}/libs/alice-tools``)."""
        if PROJECT + "/" not in text:
            return self.names(text)
        out, last = [], 0
        for m in _PROJECT_PATH.finditer(text):
            out += [self.names(text[last : m.start()]), m.group()]
            last = m.end()
        out.append(self.names(text[last:]))
        return "".join(out)

    def _outside_remotes(self, text: str, rule: Callable[[str], str]) -> str:
        """``text`` with ``rule`` applied to all but its scp-style git remotes, which get the URL fields' rule
        (``url``: ``git@github.com:alice/r.git`` as the project's remote records it; ``alice@host:`` loses its
        user). A remote is ``user@host:path``, or ``host:path`` whose host is a domain (``github.com``) and whose
        path has a folder: ``gpunode:29500``, ``a.py:12`` and ``lib:/opt/alice/lib`` are not."""
        if ":" not in text:
            return rule(text)
        out, last = [], 0
        for m in _SCP_IN_TEXT.finditer(text):
            user, host, path = m.groups()
            if user is None and (path.startswith("/") or not ("." in host and "/" in path.strip("/"))):
                continue  # a host's port, a file's line, a list of local paths: the text's rule
            if user is None and self._user is not None and self._user.search(host):
                continue  # the login is no forge's domain: the names go
            out += [rule(text[last : m.start()]), self.url(m.group())]
            last = m.end()
        out.append(rule(text[last:]))
        return "".join(out)

    def _outside_network_urls(self, text: str, rule: Callable[[str], str]) -> str:
        """``text`` with ``rule`` applied to all but its network URLs, which get the URL fields' rule (``url``):
        a forge account or a server's ``/home/alice`` in a URL's path is what is fetched, not this machine's. A
        ``:`` in a URL's path ends it here (``https://h/x:/scratch/alice/y``, a list of places): what follows may
        be a local path, and gets ``rule``."""
        if "://" not in text:
            return self._outside_remotes(text, rule)
        out, last = [], 0
        for m in _URL_IN_TEXT.finditer(text):
            scheme, _, rest = m.group(2).partition("://")
            if scheme.lower() == "file" or scheme.lower().endswith("+file"):
                continue  # a local URL: the text's rule, as its path's
            slash = rest.find("/")
            colon = rest.find(":", slash) if slash >= 0 else -1
            end = m.end(2) if colon < 0 else m.start(2) + len(scheme) + 3 + colon
            out += [self._outside_remotes(text[last : m.start(2)], rule), self.url(text[m.start(2) : end])]
            last = end
        out.append(self._outside_remotes(text[last:], rule))
        return "".join(out)


def scrub_package(p: PythonPackage, clean: Callable[[str], str] = strip_credentials) -> PythonPackage:
    """A Python package as ``scrub_snapshot`` leaves it: its source's URL and the URL and index of its pinned file
    and of every candidate file (an imported lock's) without credentials or signatures (the same object when they
    have none). ``clean`` is the rule for each URL: an import passes ``PathRedactor.url``, which also removes the
    login and host names, as capture does for the URLs it records."""
    source = p.source
    if source.url and (url := clean(source.url)) != source.url:
        source = dataclasses.replace(source, url=url)
    artifact = p.artifact
    if artifact is not None:
        url, index = clean(artifact.url), clean(artifact.index)
        if (url, index) != (artifact.url, artifact.index):
            artifact = dataclasses.replace(artifact, url=url, index=index)
    candidates = p.candidates
    if candidates:
        scrubbed = tuple(
            c if (url, index) == (c.url, c.index) else dataclasses.replace(c, url=url, index=index)
            for c in candidates
            for url, index in [(clean(c.url), clean(c.index))]
        )
        if any(a is not b for a, b in zip(scrubbed, candidates, strict=True)):
            candidates = scrubbed
    if source is p.source and artifact is p.artifact and candidates is p.candidates:
        return p
    return dataclasses.replace(p, source=source, artifact=artifact, candidates=candidates)


def scrub_snapshot(snapshot: Snapshot) -> Snapshot:
    """``snapshot`` without secrets, for an export: URLs lose credentials and signatures, a variable holding a
    secret is left out, tokens in warnings become ``<redacted>``. A lock envsnap captured has none, and comes
    back unchanged (the same object), so its exports are byte-identical."""
    from .model import CondaPackage

    def conda_package(p: CondaPackage) -> CondaPackage:
        url, channel = strip_channel_token(p.url), strip_channel_token(p.channel)
        return p if (url, channel) == (p.url, p.channel) else dataclasses.replace(p, url=url, channel=channel)

    changes: dict[str, object] = {}
    packages = tuple(scrub_package(p) for p in snapshot.python.packages)
    if any(a is not b for a, b in zip(packages, snapshot.python.packages, strict=True)):
        changes["python"] = dataclasses.replace(snapshot.python, packages=packages)
    env = {
        name: kept
        for name, value in snapshot.environment.items()
        if not is_secret_name(name) and (kept := scrub_value(value)) is not None
    }
    if env != dict(snapshot.environment):
        changes["environment"] = MappingProxyType(env)
    warnings = tuple(scrub_text(w) for w in snapshot.envsnap.warnings)
    if warnings != snapshot.envsnap.warnings:
        changes["envsnap"] = dataclasses.replace(snapshot.envsnap, warnings=warnings)
    if snapshot.conda is not None:
        conda_packages = tuple(conda_package(p) for p in snapshot.conda.packages)
        channels = tuple(strip_channel_token(c) for c in snapshot.conda.channels)
        if conda_packages != snapshot.conda.packages or channels != snapshot.conda.channels:
            changes["conda"] = dataclasses.replace(snapshot.conda, packages=conda_packages, channels=channels)
    if snapshot.project is not None and snapshot.project.remote_url:
        remote = strip_credentials(snapshot.project.remote_url)
        if remote != snapshot.project.remote_url:
            changes["project"] = dataclasses.replace(snapshot.project, remote_url=remote)
    return dataclasses.replace(snapshot, **changes) if changes else snapshot  # type: ignore[arg-type]
