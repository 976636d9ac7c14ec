"""``ro-crate-metadata.json``: the bundle as an RO-Crate 1.1 (https://w3id.org/ro/crate/1.1).

The root ``Dataset`` is the bundle; every file in it is a ``File`` in ``hasPart`` with its sha256 and size;
every Python, conda and system package of the lock is a ``SoftwareApplication`` named by its purl; the authors are
``Person``s identified by ORCID; the licence by its SPDX URL; the paper by its DOI (``citation``). A run record
in the bundle becomes a ``CreateAction`` per the Process Run Crate profile: the environment as its instrument, the
data it read as ``object``, what it wrote as ``result``. Where its command still names the author's
home as text (``command.unlabelled``), its ``description`` says so, with the command words.

Everything is written as JSON (``json.dumps``: every string escaped); file ids are percent-encoded URI
references relative to the crate."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from .. import grammar, purls
from ..model import Snapshot
from .metadata import ArtifactMeta, license_choices

NAME = "ro-crate-metadata.json"
RO_CRATE = "https://w3id.org/ro/crate/1.1"
PROCESS_RUN_CRATE = "https://w3id.org/ro/wfrun/process/0.5"
# RO-Crate 1.1's context has no ``sha256``: a term it lacks is dropped by every JSON-LD reader unless the crate
# defines it, here as the Workflow Run Crate terms do.
SHA256_TERM = "https://w3id.org/ro/terms/workflow-run#sha256"
# Nor ``environment``: Process Run Crate's settings of environment variables (``run --env``), each a PropertyValue.
ENVIRONMENT_TERM = "https://w3id.org/ro/terms/workflow-run#environment"
CONTEXT: list[Any] = [f"{RO_CRATE}/context", {"sha256": SHA256_TERM, "environment": ENVIRONMENT_TERM}]
_ENCODING = {
    ".whl": "application/zip",
    ".json": "application/json",
    ".toml": "application/toml",
    ".lock": "application/toml",  # envsnap.lock: TOML, as every lock envsnap writes
    ".md": "text/markdown",
    ".tex": "application/x-tex",
    ".txt": "text/plain",
    ".tar": "application/x-tar",
    ".deb": "application/vnd.debian.binary-package",
    ".conda": "application/zip",
    ".bz2": "application/x-bzip2",
    ".cff": "application/yaml",
}


def file_id(rel: str) -> str:
    return quote(rel, safe="/-._~")


def _one_or_more(refs: list[Any]) -> Any:
    """A property's values as RO-Crate 1.1 recommends them written: a single one as itself, not an array of one."""
    return refs[0] if len(refs) == 1 else refs


def _time(text: str) -> str:
    """A run's time as Process Run Crate gives it (ISO 8601 with its offset as ``+HH:MM``, milliseconds): the
    record's RFC 3339 time (``...Z``) in UTC; a text that is no time, kept (the record loader refused one)."""
    import datetime

    from ..grammar import timestamp

    moment = timestamp(text)
    if moment is None:
        return text
    # ``timestamp`` reads to the second: the fraction is the text's, after the seconds (RFC 3339: ``.DIGITS``).
    digits = text[20:].rstrip("Z").split("+")[0].split("-")[0] if text[19:20] == "." else ""
    millis = (digits + "000")[:3] if digits.isdigit() else "000"
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + millis + "+00:00"


def _spdx_url(license: str) -> str:
    return f"https://spdx.org/licenses/{quote(license, safe='-.+')}"


def build(
    lock: Snapshot,
    files: Mapping[str, tuple[str, int]],
    meta: ArtifactMeta,
    *,
    code: Mapping[str, str] | None = None,
    runs: Sequence[Mapping[str, Any]] = (),
    today: str = "",
) -> dict[str, Any]:
    """The crate's JSON-LD. ``files``: relative path -> (sha256, size) of every file of the bundle (the crate's
    own file excluded); ``code``: the project's SWHIDs and commit; ``runs``: each run record's facts (``run_action``);
    ``today``: the date the artifact is made, its ``datePublished`` where the lock records no capture time (an
    imported lock): RO-Crate 1.1 requires one of the root dataset."""
    graph: list[dict[str, Any]] = []
    root: dict[str, Any] = {
        "@id": "./",
        "@type": "Dataset",
        "name": meta.title or f"Computational environment {lock.envsnap.content_digest[:19]}",
        "description": meta.description
        or (
            "A self-contained, hash-checked environment bundle made by envsnap: the lock, the files it installs, "
            "and how to rebuild and check it (REPRODUCING.md)."
        ),
        "datePublished": lock.envsnap.created or today,
        "identifier": lock.envsnap.content_digest,
        "hasPart": _one_or_more([{"@id": file_id(rel)} for rel in sorted(files)]),
    }
    if not root["datePublished"]:
        del root["datePublished"]
    if meta.version:
        root["version"] = meta.version
    descriptor: dict[str, Any] = {
        "@id": NAME,
        "@type": "CreativeWork",
        "conformsTo": {"@id": RO_CRATE},  # the profile the crate conforms to is the root's (Process Run Crate)
        "about": {"@id": "./"},
    }
    graph.append(descriptor)
    graph.append(root)
    if meta.license:
        # Each alternative by its SPDX page (an expression has no page of its own).
        refs = []
        for choice in license_choices(meta.license):
            refs.append({"@id": _spdx_url(choice)})
            graph.append({"@id": _spdx_url(choice), "@type": "CreativeWork", "name": choice, "identifier": choice})
        root["license"] = refs[0] if len(refs) == 1 else refs
    people = []
    for n, author in enumerate(meta.authors):
        pid = author.orcid_url or f"#author-{n + 1}"
        people.append({"@id": pid})
        graph.append({"@id": pid, "@type": "Organization" if author.entity else "Person", "name": author.name})
    if people:
        root["author"] = _one_or_more(people)
    if meta.doi:
        root["citation"] = {"@id": meta.doi_url}
        graph.append(
            {
                "@id": meta.doi_url,
                "@type": "ScholarlyArticle",
                "identifier": meta.doi_url,
                "name": f"The paper this artifact supplements ({meta.doi})",
            }
        )
    for rel, (sha256, size) in sorted(files.items()):
        entity: dict[str, Any] = {
            "@id": file_id(rel),
            "@type": "File",
            "name": rel.rsplit("/", 1)[-1],
            "contentSize": str(size),
            "sha256": sha256,
        }
        for suffix, encoding in _ENCODING.items():
            if rel.endswith(suffix):
                entity["encodingFormat"] = encoding
                break
        graph.append(entity)
    software = _software(lock)
    environment: dict[str, Any] = {
        "@id": "#environment",
        "@type": "SoftwareApplication",
        "name": f"Python {lock.python.version} environment (envsnap.lock)",
        "identifier": lock.envsnap.content_digest,
        # Process Run Crate: an application SHOULD have a version. The lock's content digest names this very
        # environment, as a commit names a tree: another package or version is another digest.
        "softwareVersion": lock.envsnap.content_digest,
        "softwareRequirements": _one_or_more([{"@id": s["@id"]} for s in software]),
    }
    if not environment["softwareVersion"]:  # a lock not sealed has no digest to give
        del environment["softwareVersion"]
    if not software:
        del environment["softwareRequirements"]
    graph.append(environment)
    root["mentions"] = [{"@id": "#environment"}]
    graph.extend(software)
    if code:
        source: dict[str, Any] = {
            "@id": code["directory"],
            "@type": "SoftwareSourceCode",
            "name": "the project's code",
            "identifier": [code["directory"], code["revision"]],
            "version": code["commit"],
        }
        if code.get("dirty"):
            # The lock was captured with uncommitted changes to this commit: the crate names the commit they were
            # made to, and says that it is not the exact code.
            from ..artifacts.appendix import uncommitted_note

            source["name"] = f"the project's code at commit {code['commit']}, without its uncommitted changes"
            source["description"] = f"The environment was {uncommitted_note(code.get('diff_digest', ''))}."
        graph.append(source)
        root["mentions"].append({"@id": code["directory"]})
    if runs:
        root["conformsTo"] = {"@id": PROCESS_RUN_CRATE}
        graph.append({"@id": PROCESS_RUN_CRATE, "@type": "CreativeWork", "name": "Process Run Crate", "version": "0.5"})
        for run in runs:  # every run reachable from the root, not the first alone
            graph.extend(run_action(run, files, agent=people))
            root["mentions"].append({"@id": run["id"]})
    root["mentions"] = _one_or_more(root["mentions"])
    return {"@context": CONTEXT, "@graph": graph}


def _software(lock: Snapshot) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def add(purl: Any, name: str, version: str) -> None:
        ref = purl.to_string()
        out.setdefault(
            ref,
            {"@id": ref, "@type": "SoftwareApplication", "name": name, "softwareVersion": version, "identifier": ref},
        )

    for pkg in lock.python.packages:
        purl = purls.python(pkg)
        if purl is None:  # a local project: no package URL names it (purls.python), a local identifier does
            ref = f"#local:{pkg.name}@{pkg.version}"
            entity = {"@id": ref, "@type": "SoftwareApplication", "name": pkg.metadata_name or pkg.name}
            out.setdefault(ref, {**entity, "softwareVersion": pkg.version})
            continue
        add(purl, pkg.metadata_name or pkg.name, pkg.version)
    for cpkg in lock.conda.packages if lock.conda is not None else ():
        add(purls.conda(cpkg), cpkg.name, cpkg.version)
    for spkg in lock.system.packages:
        add(purls.system(lock, spkg), spkg.name, spkg.version)
    for entity in out.values():
        if not entity["softwareVersion"]:
            del entity["softwareVersion"]
    return list(out.values())


def run_action(
    run: Mapping[str, Any], files: Mapping[str, tuple[str, int]], *, agent: Sequence[Mapping[str, str]] = ()
) -> list[dict[str, Any]]:
    """A run record as a Process Run Crate ``CreateAction``: what ran (the command, as text), with which
    environment, reading which data and writing which outputs (by manifest digest), when, and how it ended.
    ``agent``: who ran it, the artifact's authors (a record names no person)."""
    action: dict[str, Any] = {
        "@id": run["id"],
        "@type": "CreateAction",
        "name": f"run: {run['command']}"[:300],
        "instrument": {"@id": "#environment"},
        "startTime": _time(run["start"]),
        "endTime": _time(run["end"]),
        # The status as Process Run Crate and Workflow Run Crate write it: the term's URL as text.
        "actionStatus": "http://schema.org/CompletedActionStatus"
        if run["status"] == 0
        else "http://schema.org/FailedActionStatus",
        "description": f"exit status {run['status']}; recorded by envsnap run{_unset(run)}{_home_text(run)}",
    }
    if agent:
        action["agent"] = _one_or_more([dict(a) for a in agent])
    if run.get("record") in files:
        action["subjectOf"] = {"@id": file_id(run["record"])}
    extra: list[dict[str, Any]] = []
    for key, kind in (("data", "object"), ("outputs", "result")):
        refs = []
        # Each run's own ids (``#run-<digest>-data-1``): ``#data-1`` of every run was one @id with two meanings,
        # which RO-Crate forbids.
        for n, (path, digest) in enumerate(run.get(key, ())):
            eid = f"{run['id']}-{key}-{n + 1}"
            refs.append({"@id": eid})
            extra.append({"@id": eid, "@type": "Dataset", "name": path, "identifier": digest})
        if refs:
            action[kind] = _one_or_more(refs)
    # ``run --env``: each variable the command had set, as Process Run Crate records one (an unset one has no
    # value to give, and is said in the description).
    settings = []
    given = [(name, value) for name, value in run.get("env", ()) if value is not None]
    for n, (name, value) in enumerate(given):
        eid = f"{run['id']}-env-{n + 1}"
        settings.append({"@id": eid})
        extra.append({"@id": eid, "@type": "PropertyValue", "name": name, "value": value})
    if settings:
        action["environment"] = _one_or_more(settings)
    return [action, *extra]


def _unset(run: Mapping[str, Any]) -> str:
    """The variables the run recorded as unset at its start (``run --env``), which ``environment`` cannot hold."""
    unset = [name for name, value in run.get("env", ()) if value is None]
    return (
        f"; {', '.join(unset)} unset at its start (envsnap rerun unsets {'it' if len(unset) == 1 else 'them'})"
        if unset
        else ""
    )


def _home_text(run: Mapping[str, Any]) -> str:
    """Where the run's command still names its author's home or project as text (``command.unlabelled``), as
    REPRODUCING.md and the appendix say it: the ``name`` above holds that command, so the crate says so too, with
    the command words (the text is in the name and the record)."""
    if not run.get("home_text"):
        return ""
    from ..runs.summary import home_text_words

    words = home_text_words(run["home_text"])
    which = f"word {words[0]}" if len(words) == 1 else f"words {', '.join(map(str, words))}"
    names = "names it" if len(run["home_text"]) == 1 else "names them"
    return f". {run['home_note']} (command {which}; envsnap show {run['record']} {names})"


def dumps(crate: Mapping[str, Any]) -> str:
    """The crate as JSON, written as the JSON export is: a run record's free text (a variable's value) may hold a
    bidirectional formatting character or U+2028, each a ``\\uXXXX`` escape here, so no editor or forge shows the
    file reordered or a string broken in two."""
    return grammar.escape_unshown(json.dumps(crate, indent=2, ensure_ascii=False, sort_keys=False)) + "\n"
