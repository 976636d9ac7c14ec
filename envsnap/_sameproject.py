"""Whether two builds of one name and version are of one project, by the headers of their metadata that say which
project it is (Summary, Home-page and Project-URL, Author and Maintainer).

A distribution a Debian package installed (the lock's ``system_package``) is pinned to the index's file of its name
and version in its place (``pin``'s stand-in). A name is no proof: Debian's ``crit 3.17.1`` (criu's image tool) and
the index's ``crit`` are two projects. Capture records those headers of the installed distribution (``identity``,
``KEY: value`` lines); pin reads them from the index's file it fetched and takes it only where they agree
(``disagreement``). A stranger's file is refused; so is one where nothing could be compared.
"""

from __future__ import annotations

from ._control import strip_terminal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

# The headers recorded, as the core metadata spells them; a lock's lines of other keys are not read.
KEYS = ("Summary", "Home-page", "Project-URL", "Author", "Author-email", "Maintainer", "Maintainer-email")
_KEYS = {k.lower(): k for k in KEYS}
MAX_LINES = 16  # Project-URL repeats: a distribution's first ones are enough to judge by
MAX_VALUE = 400  # characters of a value kept (a Summary is one line; an Author list may be long)
MAX_HEAD = 1 << 16  # bytes of a METADATA / PKG-INFO read for its headers (they come before the description)
_BLANK = ("", "unknown", "none", "n/a")  # what old setuptools writes for a field not given


def header_text(data: bytes) -> str:
    """The header block of a METADATA / PKG-INFO file's first bytes: up to its first blank line, decoded."""
    data = data[:MAX_HEAD].replace(b"\r\n", b"\n")
    end = data.find(b"\n\n")
    return (data if end < 0 else data[: end + 1]).decode("utf-8", "replace")


def identity(text: str) -> tuple[str, ...]:
    """The identifying headers (``KEYS``) of a METADATA / PKG-INFO header block, ``Key: value`` each, in file order,
    shown on one line (control characters replaced) and cut at ``MAX_VALUE``; at most ``MAX_LINES``."""
    out: list[str] = []
    key = ""
    values: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            break
        if line[0] in " \t" and values:
            k, v = values[-1]
            values[-1] = (k, v + " " + line.strip())
            continue
        key, sep, value = line.partition(":")
        if sep:
            values.append((key.strip().lower(), value.strip()))
    for key, value in values:
        name = _KEYS.get(key)
        value = " ".join(strip_terminal(value).split())[:MAX_VALUE]
        if name and value.casefold() not in _BLANK and len(out) < MAX_LINES:
            out.append(f"{name}: {value}")
    return tuple(out)


def _values(lines: Iterable[str], *keys: str) -> list[str]:
    wanted = {k.lower() for k in keys}
    out = []
    for line in lines:
        key, sep, value = line.partition(": ")
        if sep and key.lower() in wanted and value.strip().casefold() not in _BLANK:
            out.append(value.strip())
    return out


def _summary(lines: Sequence[str]) -> set[str]:
    return {" ".join(v.split()).casefold().rstrip(".") for v in _values(lines, "Summary")[:1]}


def _url(value: str) -> str:
    """A URL as compared: no scheme, ``www.``, query, fragment, trailing slash or ``.git``; lower case."""
    url = value.split("#", 1)[0].split("?", 1)[0].strip().casefold()
    url = url.split("://", 1)[-1]
    url = url.removeprefix("www.").rstrip("/")
    return url.removesuffix(".git").rstrip("/")


def _urls(lines: Sequence[str]) -> set[str]:
    found = _values(lines, "Home-page")
    # ``Project-URL: Label, https://...``: the URL after the label.
    found += [v.rpartition(",")[2].strip() for v in _values(lines, "Project-URL")]
    return {u for u in map(_url, found) if u}


def _people(lines: Sequence[str]) -> set[str]:
    """The names and e-mail addresses of Author, Author-email, Maintainer and Maintainer-email, each lower case:
    ``Name <a@b>`` gives both, a comma-separated list each of its entries."""
    out = set()
    for value in _values(lines, "Author", "Author-email", "Maintainer", "Maintainer-email"):
        for part in value.split(","):
            name, _, rest = part.partition("<")
            for token in (name, rest.rstrip(">")):
                token = " ".join(token.strip().strip('"').split()).casefold()
                if token and token not in _BLANK:
                    out.add(token)
    return out


def _shown(values: set[str]) -> str:
    text = ", ".join(sorted(values))
    return repr(text if len(text) <= 60 else text[:57] + "...")


def disagreement(installed: Sequence[str], index: Sequence[str]) -> str:
    """ "" where the index file's identifying headers (``identity``) agree with the installed distribution's: at
    least one of Summary, the URLs (Home-page, Project-URL) and the people (Author, Maintainer, their e-mails) is
    given by both, and each given by both agrees (the same Summary; a URL, or a name or address, in common). Else
    why not, in words: the first field that disagrees, or that none could be compared."""
    compared = 0
    for field, values in (("Summary", _summary), ("Home-page/Project-URL", _urls), ("Author", _people)):
        mine, theirs = values(installed), values(index)
        if not mine or not theirs:
            continue
        if not mine & theirs:
            return f"its {field} {_shown(theirs)} is not the installed distribution's {_shown(mine)}"
        compared += 1
    if not compared:
        return "no Summary, Home-page, Project-URL or Author that both it and the installed distribution give"
    return ""
