"""Who and what an artifact is: title, authors (with ORCID iDs), licence (SPDX), the paper's DOI, version.

From the command line (``--title``, ``--author "Name <orcid>"``, ``--license``, ``--doi``) or else from the
project's ``CITATION.cff`` (read as untrusted YAML: bounded, no aliases). Every value is checked here, at the
boundary, because each reaches JSON-LD, YAML, Markdown and LaTeX."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import _readlimits, grammar
from .._frozen import frozen
from ..errors import UsageError

CFF_NAME = "CITATION.cff"
# The message of the CITATION.cff an artifact holds (``citation.cff`` writes it): a file with it is an artifact's own.
CFF_MESSAGE = "If you use this artifact, please cite it (and the paper it supplements) as below."
_ORCID = re.compile(r"(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])", re.ASCII)
_DOI = re.compile(r"(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.\d{4,9}/[!-~]+)", re.ASCII | re.IGNORECASE)
# An SPDX licence identifier or a simple expression of them (MIT, Apache-2.0, GPL-3.0-or-later, MIT OR Apache-2.0).
_SPDX_ID = r"[A-Za-z0-9][A-Za-z0-9.+-]{0,63}"
_SPDX = re.compile(rf"\(?{_SPDX_ID}(?:\s+(?:AND|OR|WITH)\s+{_SPDX_ID}\)?)*", re.ASCII)
_MAX_AUTHORS = 200
_DOI_URL_SAFE = "/:;()_.-~!*'$&+,=@"


class MetadataError(UsageError):
    """An artifact fact is not what its field takes (a bad ORCID, DOI or licence): bad input, exit code 2."""


@frozen
class NameParts:
    """A person's name as CFF holds it: ``given-names``, ``name-particle`` ("van der", "de la"), ``family-names``
    and ``name-suffix`` ("Jr."). An empty ``family`` means the name is not split (one word, an organisation)."""

    given: str = ""
    particle: str = ""
    family: str = ""
    suffix: str = ""

    @property
    def family_with_particle(self) -> str:
        """How a "Family, Given" list (Zenodo, a bibliography) sorts and writes the family name: "de la Cruz"."""
        return " ".join(x for x in (self.particle, self.family) if x)


@frozen
class Author:
    name: str
    orcid: str = ""  # 0000-0002-1825-0097 (checksum verified), or ""
    # The parts a CITATION.cff gave (kept as they were), else None: split from ``name`` (``parts``).
    given_parts: NameParts | None = None
    # A CITATION.cff entity (``name:``, an organisation or a team): one name, never split as a person's.
    entity: bool = False

    @property
    def orcid_url(self) -> str:
        return f"https://orcid.org/{self.orcid}" if self.orcid else ""

    @property
    def parts(self) -> NameParts:
        """The name's parts: as a CITATION.cff gave them, else split from ``name`` as BibTeX splits a name.

        "Given Family", the lower-case words between the first and the last word the particle ("Maria de la
        Cruz", "Ludwig van Beethoven", "Jean de La Fontaine"); "Family, Given" and "Family, Suffix, Given" ("de la
        Cruz, Maria", "King, Jr., Martin Luther"), the family part's leading lower-case words the particle. One
        word is not split."""
        if self.given_parts is not None:
            return self.given_parts
        if self.entity:
            return NameParts()
        pieces = [piece.strip() for piece in self.name.split(",")]
        if len(pieces) in (2, 3) and all(pieces):
            particle, family = _particle_and_family(pieces[0].split())
            suffix = pieces[1] if len(pieces) == 3 else ""
            return NameParts(given=pieces[-1], particle=particle, family=family, suffix=suffix)
        words = self.name.split()
        if len(words) < 2 or "," in self.name:
            return NameParts()
        # The particle runs from the first lower-case word after the first word to the last one before the last
        # word: "Jean de La Fontaine" is Jean, de, La Fontaine.
        lower = [i for i in range(1, len(words) - 1) if _is_particle(words[i])]
        if not lower:
            return NameParts(given=" ".join(words[:-1]), family=words[-1])
        return NameParts(
            given=" ".join(words[: lower[0]]),
            particle=" ".join(words[lower[0] : lower[-1] + 1]),
            family=" ".join(words[lower[-1] + 1 :]),
        )

    @property
    def family_given(self) -> tuple[str, str]:
        """(family names with their particle, given names); ("", "") for a name that is not split."""
        parts = self.parts
        return (parts.family_with_particle, parts.given) if parts.family else ("", "")


def _is_particle(word: str) -> bool:
    """A word of a name's particle: it starts lower case ("van", "de", "d'", "von", "da")."""
    return word[:1].islower()


def _particle_and_family(words: list[str]) -> tuple[str, str]:
    """A "Family, Given" name's family part: its leading lower-case words are the particle, the rest the family
    name (all of it when every word is lower case: "bell hooks" is a name, not a particle)."""
    start = 0
    while start < len(words) - 1 and _is_particle(words[start]):
        start += 1
    return " ".join(words[:start]), " ".join(words[start:])


@frozen
class ArtifactMeta:
    title: str = ""
    authors: tuple[Author, ...] = ()
    license: str = ""  # SPDX
    doi: str = ""  # the paper's DOI (10.xxxx/...), which the artifact supplements
    version: str = ""
    description: str = ""
    source: str = ""  # where the facts came from: "command line", "CITATION.cff", or both

    @property
    def doi_url(self) -> str:
        """The DOI's resolver URL, percent-encoded where a DOI's characters are not allowed in a URL (``"<>\\^`{|}``,
        ``#``, ``?``, ``%``), as the DOI Handbook asks: it is the RO-Crate's ``@id``, which must be an IRI."""
        return f"https://doi.org/{quote(self.doi, safe=_DOI_URL_SAFE)}" if self.doi else ""

    def missing(self) -> list[str]:
        """What a citable artifact needs and this lacks."""
        return [
            name
            for name, value in (("title", self.title), ("author", self.authors), ("license", self.license))
            if not value
        ]


def orcid_ok(orcid: str) -> bool:
    """ISO 7064 11,2 check digit of an ORCID iD."""
    digits = orcid.replace("-", "")
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


def parse_orcid(text: str) -> str:
    match = _ORCID.fullmatch(text.strip())
    if match is None or not orcid_ok(match.group(1)):
        raise MetadataError(f"not an ORCID iD (0000-0000-0000-000X with a valid check digit): {grammar.shown(text)}")
    return match.group(1)


def _labelled(label: str, parse: Callable[[str], str], text: str) -> str:
    """``parse(text)``, its refusal naming where the value came from (``--doi: not a DOI ...: '11.1/x'``,
    ``proj/CITATION.cff: authors[0].orcid: not an ORCID iD ...``): without it a bad iD in the project's
    CITATION.cff read as one of the command line's."""
    try:
        return parse(text)
    except MetadataError as exc:
        raise MetadataError(f"{label}: {exc}") from None


def parse_author(text: str) -> Author:
    """``Ada Lovelace``, ``Ada Lovelace <0000-0002-1825-0097>`` or ``<https://orcid.org/...>``."""
    name, orcid = text.strip(), ""
    if name.endswith(">") and "<" in name:
        name, _, rest = name[:-1].rpartition("<")
        name, orcid = name.strip(), _labelled(f"--author {grammar.shown(text)}", parse_orcid, rest)
    if not grammar.is_text(name, 200) or not name or "<" in name or ">" in name or grammar.has_bidi(name):
        raise MetadataError(f"--author {grammar.shown(text)}: expected 'Name' or 'Name <ORCID iD>'")
    return Author(name, orcid)


def parse_doi(text: str) -> str:
    match = _DOI.fullmatch(text.strip())
    if match is None or len(text) > 300:
        raise MetadataError(f"not a DOI (10.NNNN/suffix, or https://doi.org/10.NNNN/...): {grammar.shown(text)}")
    return match.group(1)


def parse_license(text: str) -> str:
    """An SPDX licence expression in its canonical spelling (``mit`` -> ``MIT``), every identifier one of SPDX's
    list (packaging's copy of it): CITATION.cff and the crate's licence link need a real identifier, and ``mit``
    or ``NOTALICENSE`` made a CITATION.cff its own schema refuses."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    shown = "not an SPDX licence identifier or expression (MIT, Apache-2.0, CC-BY-4.0)"
    if not _SPDX.fullmatch(text.strip()) or len(text) > 200:
        raise MetadataError(f"{shown}: {grammar.shown(text)}")
    try:
        return str(canonicalize_license_expression(text.strip()))
    except InvalidLicenseExpression as exc:
        raise MetadataError(f"{shown}: {grammar.shown(text)} ({exc})") from None


def license_choices(expression: str) -> list[str]:
    """The SPDX identifiers of a licence that is one identifier or alternatives joined by OR, which is what
    CITATION.cff 1.2.0 can hold (one identifier, or a list read as OR). Anything else is refused (bad input)."""
    words = expression.replace("(", " ").replace(")", " ").split()
    ids = words[::2]
    if any(w != "OR" for w in words[1::2]) or not ids:
        raise MetadataError(
            f"--license {grammar.shown(expression)}: CITATION.cff holds one SPDX identifier or "
            "alternatives joined by OR (AND and WITH have no CFF form)"
        )
    return list(dict.fromkeys(ids))


def _title(text: str, what: str) -> str:
    if not grammar.is_text(text, 500) or not text.strip() or grammar.has_bidi(text):
        # A bidirectional override would show the title reordered in every file that cites it (Trojan Source).
        raise MetadataError(
            f"{what} {grammar.shown(text)}: one line of text, at most 500 characters, no "
            "bidirectional formatting characters"
        )
    return text.strip()


ABSTRACT_MAX = 10_000  # a paper's abstract: arXiv's is 1920 characters, a journal's 250-300 words


def _abstract(value: Any, what: str) -> str:
    """A CITATION.cff's abstract, its words on one line: a YAML block of several lines (``abstract: |``) is one
    paragraph in every file that carries it, each a one-line value. Titles' 500 characters refused an ordinary
    abstract, and one of several lines was left out without a word."""
    if not isinstance(value, str):
        return ""  # as before: an abstract that is no text (a list, a number) is not the artifact's
    text = " ".join(value.split())
    if not text:
        return ""
    if not grammar.is_text(text, ABSTRACT_MAX) or grammar.has_bidi(text):
        raise MetadataError(
            f"{what} {grammar.shown(text)}: text of at most {ABSTRACT_MAX} characters, no control or "
            "bidirectional formatting characters"
        )
    return text


def from_args(
    title: str | None, authors: list[str], license: str | None, doi: str | None, version: str | None = None
) -> ArtifactMeta:
    return ArtifactMeta(
        title=_title(title, "--title") if title else "",
        authors=tuple(parse_author(a) for a in authors[:_MAX_AUTHORS]),
        license=_labelled("--license", parse_license, license) if license else "",
        doi=_labelled("--doi", parse_doi, doi) if doi else "",
        version=_title(version, "--version") if version else "",
        source="command line" if (title or authors or license or doi) else "",
    )


def from_cff(path: Path, *, artifact: bool = False) -> ArtifactMeta:
    """The facts of a CITATION.cff (1.2.0): title, authors (persons and entities), license, version, abstract
    and the DOI of the preferred citation (the paper) or else the file's own. ``artifact``: the file is an
    artifact's own (``citation.cff`` wrote it), which holds the paper's DOI as its first ``doi`` identifier."""
    text = _readlimits.read_text(path, error=MetadataError, what=CFF_NAME)
    data = _readlimits.load_yaml(text, origin=str(path), error=MetadataError)
    if not isinstance(data, dict):
        raise MetadataError(f"{path}: not a CITATION.cff (a mapping of fields)")
    where = f"{path}: "
    # An artifact's own file wherever it is read: `bundle --artifact` made again in the artifact's folder takes it as
    # the project's, and read so its paper's DOI (an identifier there) was dropped without a word.
    artifact = artifact or data.get("message") == CFF_MESSAGE

    def text_of(value: Any, field: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, (str, int, float)):
            raise MetadataError(f"{where}{field}: expected text")
        return _title(str(value), f"{where}{field}")

    listed = data.get("authors") or []
    if not isinstance(listed, list):  # a number, a date or true was a TypeError traceback
        raise MetadataError(f"{where}authors: a list of authors")
    authors = []
    for index, entry in enumerate(listed):
        if not isinstance(entry, dict):
            raise MetadataError(f"{where}authors: each author is a mapping")
        parts = NameParts(
            given=text_of(entry.get("given-names"), "authors.given-names"),
            particle=text_of(entry.get("name-particle"), "authors.name-particle"),
            family=text_of(entry.get("family-names"), "authors.family-names"),
            suffix=text_of(entry.get("name-suffix"), "authors.name-suffix"),
        )
        whole = " ".join(x for x in (parts.given, parts.particle, parts.family) if x)
        whole += f", {parts.suffix}" if whole and parts.suffix else ""
        entity = text_of(entry.get("name"), "authors.name")
        name = entity or whole
        orcid = (
            _labelled(f"{where}authors[{index}].orcid", parse_orcid, str(entry["orcid"])) if entry.get("orcid") else ""
        )
        if name:
            # A person the file names by parts keeps them as given (a particle is not guessed back from them); an
            # entity (``name``: an organisation, a team) is one name, not a person's to split ("Consortium, The").
            given = parts if parts.family and name == whole else None
            authors.append(Author(name, orcid, given, entity=bool(entity) and not parts.family))
    preferred = data.get("preferred-citation")
    doi = preferred.get("doi") if isinstance(preferred, dict) and preferred.get("doi") else data.get("doi")
    doi_field = "preferred-citation.doi" if isinstance(preferred, dict) and preferred.get("doi") else "doi"
    if artifact:
        identifiers = data.get("identifiers")
        listed = identifiers if isinstance(identifiers, list) else []
        doi = next((i.get("value") for i in listed if isinstance(i, dict) and i.get("type") == "doi"), None)
        doi_field = "identifiers"
    license_ = data.get("license")
    if isinstance(license_, list):
        license_ = " OR ".join(str(x) for x in license_)
    return ArtifactMeta(
        title=text_of(data.get("title"), "title"),
        authors=tuple(authors[:_MAX_AUTHORS]),
        license=_labelled(f"{where}license", parse_license, str(license_)) if license_ else "",
        doi=_labelled(f"{where}{doi_field}", parse_doi, str(doi)) if doi else "",
        version=text_of(data.get("version"), "version"),
        description=_abstract(data.get("abstract"), f"{where}abstract"),
        source=CFF_NAME,
    )


def resolve(args_meta: ArtifactMeta, project: Path | None) -> ArtifactMeta:
    """The command line's facts, each missing one taken from the project's CITATION.cff when it has one."""
    cff = project / CFF_NAME if project is not None else None
    if cff is None or not cff.is_file():
        return args_meta
    found = from_cff(cff)
    # An author the command line names as the file lists one is that entry (an organisation stays one name, a
    # person keeps the parts the file gave): the audit's remedy names the file's authors so.
    listed = {a.name: a for a in found.authors}
    authors = tuple(
        replace(listed[a.name], orcid=a.orcid or listed[a.name].orcid) if a.name in listed else a
        for a in args_meta.authors
    )
    merged = replace(
        found,
        title=args_meta.title or found.title,
        authors=authors or found.authors,
        license=args_meta.license or found.license,
        doi=args_meta.doi or found.doi,
        version=args_meta.version or found.version,
        source=" and ".join(x for x in (args_meta.source, CFF_NAME) if x),
    )
    return merged
