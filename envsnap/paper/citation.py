"""``CITATION.cff`` (Citation File Format 1.2.0) and ``.zenodo.json`` (Zenodo's deposit metadata) of an artifact.

Both are written from checked facts (``metadata``); CITATION.cff's scalars are JSON strings, which YAML reads as
double-quoted scalars, so no value can end a line or start a new key; .zenodo.json's description is HTML, so it is
escaped for HTML."""

from __future__ import annotations

import html
import json
from typing import Any

from ..artifacts.appendix import uncommitted_note
from ..model import Snapshot
from .metadata import CFF_MESSAGE, ArtifactMeta, license_choices

CFF = "CITATION.cff"
ZENODO = ".zenodo.json"


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def cff(meta: ArtifactMeta, lock: Snapshot, *, code: dict[str, str] | None = None) -> str:
    """CITATION.cff of the artifact: title, authors, licence, version, date, the lock's digest and the
    project's SWHID as identifiers, and the paper's DOI."""
    lines = ["cff-version: 1.2.0", f"message: {_q(CFF_MESSAGE)}", f"title: {_q(meta.title)}", "type: software"]
    lines.append("authors:")
    for author in meta.authors:
        parts = author.parts
        if parts.family:
            lines.append(f"  - family-names: {_q(parts.family)}")
            if parts.given:
                lines.append(f"    given-names: {_q(parts.given)}")
            if parts.particle:
                lines.append(f"    name-particle: {_q(parts.particle)}")
            if parts.suffix:
                lines.append(f"    name-suffix: {_q(parts.suffix)}")
        else:
            lines.append(f"  - name: {_q(author.name)}")
        if author.orcid:
            lines.append(f"    orcid: {_q(author.orcid_url)}")
    if meta.license:
        choices = license_choices(meta.license)
        lines.append(f"license: {_q(choices[0]) if len(choices) == 1 else json.dumps(choices)}")
    if meta.version:
        lines.append(f"version: {_q(meta.version)}")
    if lock.envsnap.created:
        lines.append(f"date-released: {_q(lock.envsnap.created[:10])}")
    identifiers = []
    if meta.doi:
        identifiers.append(("doi", meta.doi, "The paper this artifact supplements"))
    if code:
        dirty = f", {uncommitted_note(code.get('diff_digest', ''))}" if code.get("dirty") else ""
        identifiers.append(("swh", code["directory"], f"The project's code at commit {code['commit']}{dirty}"))
    if lock.envsnap.content_digest:  # a lock not sealed has none, and CFF takes no empty identifier
        identifiers.append(("other", lock.envsnap.content_digest, "Content digest of envsnap.lock"))
    lines.append("identifiers:" if identifiers else "")
    for kind, value, description in identifiers:
        lines.append(f"  - type: {kind}")
        lines.append(f"    value: {_q(value)}")
        lines.append(f"    description: {_q(description)}")
    if meta.description:
        lines.append(f"abstract: {_q(meta.description)}")
    lines.append('keywords:\n  - "reproducibility"\n  - "computational environment"\n  - "envsnap"')
    return "\n".join(line for line in lines if line) + "\n"


def zenodo(meta: ArtifactMeta, lock: Snapshot, *, code: dict[str, str] | None = None) -> dict[str, Any]:
    """.zenodo.json: the deposit's metadata, with the paper as ``isSupplementTo``."""
    description = (
        meta.description
        or "A self-contained, hash-checked computational environment made by envsnap: "
        "the lock, every file it installs, and how to rebuild and check it (REPRODUCING.md)."
    )
    parts = [
        f"<p>{html.escape(description)}</p>",
        f"<p>envsnap.lock content digest: <code>{html.escape(lock.envsnap.content_digest)}</code></p>",
    ]
    if code:
        dirty = f", {html.escape(uncommitted_note(code.get('diff_digest', '')))}" if code.get("dirty") else ""
        parts.append(
            f"<p>Code: <code>{html.escape(code['directory'])}</code> (commit "
            f"<code>{html.escape(code['commit'])}</code>{dirty})</p>"
        )
    doc: dict[str, Any] = {
        "upload_type": "software",
        "title": meta.title,
        "creators": [
            {
                "name": ", ".join(x for x in author.family_given if x) if author.family_given[0] else author.name,
                **({"orcid": author.orcid} if author.orcid else {}),
            }
            for author in meta.authors
        ],
        "description": "".join(parts),
        "access_right": "open",
        "keywords": ["reproducibility", "computational environment", "envsnap"],
    }
    if meta.license:
        # One licence identifier: of alternatives (MIT OR Apache-2.0) the first, which the recipient may choose.
        doc["license"] = license_choices(meta.license)[0]
    if meta.version:
        doc["version"] = meta.version
    if lock.envsnap.created:
        doc["publication_date"] = lock.envsnap.created[:10]
    related = []
    if meta.doi:
        related.append(
            {
                "identifier": meta.doi,
                "relation": "isSupplementTo",
                "resource_type": "publication-article",
                "scheme": "doi",
            }
        )
    if code:
        related.append({"identifier": code["directory"], "relation": "isDerivedFrom", "scheme": "swh"})
    if related:
        doc["related_identifiers"] = related
    return doc


def zenodo_text(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
