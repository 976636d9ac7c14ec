"""Keep what identifies a person or unlocks an account out of lockfiles: they get published with papers."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|AUTH|COOKIE|SESSION|_KEY$|^KEY$"
    r"|(^|_)(PASS|PW)(_|$))",
    re.IGNORECASE,
)
# Values that are secrets whatever their variable is called: provider token prefixes, JWTs, PEM keys.
_SECRET_VALUE = re.compile(
    r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{20,}"
    r"|sk-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{10,}\.eyJ"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----)"
)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def looks_like_secret(value: str) -> bool:
    return bool(_SECRET_VALUE.search(value))


def strip_credentials(url: str) -> str:
    """A URL without user:password (``git@`` of ssh URLs is kept: it is no secret) or secret query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{host}" if user == "git" and ":" not in userinfo else host
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not (is_secret_name(k) or k.lower() in {"sig", "signature"})]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# Matched from the start of a run of scheme characters only (group 1: what precedes the scheme's first letter): a
# pattern that may start at any letter retries from each one of a long run, quadratic in its length (a 120 kB
# environment variable took 11 s).
_URL_IN_TEXT = re.compile(r"(?<![A-Za-z0-9+.-])([0-9+.-]*)([A-Za-z][A-Za-z0-9+.-]*://[^\s'\";,]+)")


def strip_credentials_in_text(text: str) -> str:
    """Every URL inside free text, without credentials."""
    return _URL_IN_TEXT.sub(lambda m: m.group(1) + strip_credentials(m.group(2)), text)


class PathRedactor:
    """Rewrites local paths so no home directory or user name is recorded.

    Inside the environment: ``{prefix}/...``; inside the project: ``{project}/...``; under the home
    directory: ``~/...``. Other paths (``/usr/lib/...``) are kept: they are the same on every host.
    """

    def __init__(self, prefix: str | None = None, project: str | None = None, home: str | None = None):
        self.roots: list[tuple[str, str]] = []
        for root, label in ((project, "{project}"), (prefix, "{prefix}")):
            if root:
                self.roots.append((os.path.realpath(root), label))
                self.roots.append((os.path.abspath(root), label))
        home = home if home is not None else os.path.expanduser("~")
        if home and home not in ("/", "~"):
            self.roots.append((os.path.realpath(home), "~"))
            self.roots.append((os.path.abspath(home), "~"))
        # Most specific first: a project inside the home directory is "{project}", not "~/...".
        self.roots.sort(key=lambda item: -len(item[0]))

    def path(self, path: str) -> str:
        for root, label in self.roots:
            if path == root:
                return label
            if path.startswith(root.rstrip("/") + "/"):
                return label + "/" + path[len(root.rstrip("/")) + 1 :]
        return path

    def url(self, url: str) -> str:
        url = strip_credentials(url)
        if url.startswith("file://"):
            return "file://" + self.path(url[len("file://") :])
        return url

    def text(self, text: str) -> str:
        """Any path-bearing text (a warning, an env var value)."""
        for root, label in self.roots:
            text = text.replace(root.rstrip("/") + "/", label + "/")
            text = re.sub(re.escape(root.rstrip("/")) + r"(?=$|[:\s'\"])", label, text)
        return text
