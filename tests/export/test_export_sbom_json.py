from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from envsnap import lockfile
from envsnap.export import cyclonedx, json_export
from envsnap.model import Artifact, Conda, CondaPackage, PythonPackage, Snapshot, Source


def test_cyclonedx_validates_against_the_schema(rich: Snapshot) -> None:
    text = cyclonedx.render(rich)["sbom.cdx.json"].decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    assert doc["metadata"]["timestamp"].startswith("2026-11-28T12:00:00")


def test_cyclonedx_has_purls_and_hashes_for_every_layer(rich: Snapshot) -> None:
    doc = json.loads(cyclonedx.dumps(rich))
    by_purl = {c["purl"]: c for c in doc["components"] if "purl" in c}
    purls = [PackageURL.from_string(p) for p in by_purl]
    types = {p.type for p in purls}
    assert types == {"pypi", "conda", "deb"}
    torch = next(c for p, c in by_purl.items() if p.startswith("pkg:pypi/torch@"))
    assert PackageURL.from_string(torch["purl"]).version == "2.5.1+cu121"
    assert (
        PackageURL.from_string(torch["purl"]).qualifiers["repository_url"] == "https://download.pytorch.org/whl/cu121"
    )
    assert {h["alg"] for h in torch["hashes"]} == {"SHA-256"}
    python = next(c for p, c in by_purl.items() if p.startswith("pkg:conda/python@"))
    assert {h["alg"] for h in python["hashes"]} == {"MD5", "SHA-256"}
    libc = next(PackageURL.from_string(p) for p in by_purl if p.startswith("pkg:deb/"))
    assert libc.namespace == "debian" and libc.qualifiers == {"arch": "amd64", "distro": "debian-12"}
    vcs = next(c for p, c in by_purl.items() if p.startswith("pkg:pypi/mylib@"))
    assert vcs["externalReferences"][0]["type"] == "vcs"
    # Every component hangs off the environment, so the dependency graph is complete.
    (root,) = [d for d in doc["dependencies"] if d["ref"] == "environment"]
    assert len(root["dependsOn"]) == len(doc["components"])


def test_a_local_package_has_no_package_url(rich: Snapshot) -> None:
    """A local project (``pip install -e .``), archive (``./dist/x.tar.gz``) or ``file:`` repository was
    ``pkg:pypi/NAME@VERSION``: the index's project of that name, which a scanner matches advisories against (a
    lab's ``mylab`` reported as PyPI's ``mylab``). It has no package URL, as cyclonedx-py writes it."""
    archive = Source(kind="archive", url="file://{project}/dist/tinysd-0.1.tar.gz", archive_hash="sha256=" + "e" * 64)
    repo = Source(kind="vcs", url="file:///srv/repos/vcspkg", vcs="git", commit_id="c" * 40)
    extra = (
        PythonPackage(name="tinysd", version="0.1", installer="pip", source=archive),
        PythonPackage(name="vcspkg", version="0.9", installer="pip", source=repo),
    )
    lock = dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=rich.python.packages + extra))
    text = cyclonedx.dumps(lock)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    by_name = {c["name"]: c for c in json.loads(text)["components"]}
    for name in ("My_Project", "tinysd", "vcspkg"):
        assert "purl" not in by_name[name], name
    assert by_name["My_Project"]["bom-ref"] == "local:my-project@0.3.0.dev0"
    assert by_name["tinysd"]["hashes"] == [{"alg": "SHA-256", "content": "e" * 64}]
    assert by_name["tinysd"]["properties"] == [{"name": "envsnap:project-path", "value": "dist/tinysd-0.1.tar.gz"}]
    assert by_name["vcspkg"]["externalReferences"][0]["type"] == "vcs"
    # A published archive and a remote repository keep theirs.
    assert by_name["legacy-thing"]["purl"].startswith("pkg:pypi/legacy-thing@0.3?download_url=https:")
    assert by_name["mylib"]["purl"].startswith("pkg:pypi/mylib@1.2.0?vcs_url=git")


def test_cyclonedx_serial_number_follows_the_lock(rich: Snapshot) -> None:
    first = json.loads(cyclonedx.dumps(rich))["serialNumber"]
    assert first == json.loads(cyclonedx.dumps(rich))["serialNumber"]
    other = lockfile.seal(rich.__class__(**{**rich.__dict__, "environment": {"X": "1"}}))
    assert json.loads(cyclonedx.dumps(other))["serialNumber"] != first


def test_json_is_the_whole_lock(rich: Snapshot) -> None:
    data = json.loads(json_export.render(rich)["envsnap.lock.json"])
    assert data == lockfile.to_dict(rich)
    assert lockfile.from_document(data) == rich


def test_a_file_the_lock_records_by_a_label_is_no_url_in_the_sbom(rich: Snapshot) -> None:
    """A wheel pinned from ``--find-links ./wheels`` (``file://{project}/wheels``), one under the home, an imported
    index folder (``/opt/wheels``) and a local conda channel were written as URLs: ``repository_url=file://%7Bproject
    %7D/wheels``, a distribution ``file://%7Bproject%7D/...``, ``repository_url=/opt/wheels``, which no tool can read.
    A file in the project is its path from the project root (``envsnap:project-path``); the rest is named by its
    hashes, which stay; a URL stays a URL."""
    sha = "e" * 64

    def wheel(name: str, folder: str) -> PythonPackage:
        filename = f"{name}-0.3-py3-none-any.whl"
        art = Artifact(filename=filename, url=f"{folder}/{filename}", sha256=sha, index=folder)
        return PythonPackage(name=name, version="0.3", installer="pip", artifact=art)

    extra = (
        wheel("labtool", "file://{project}/wheels"),
        wheel("hometool", "file://~/wheels"),
        wheel("opttool", "file:///opt/wheels"),
        PythonPackage(
            name="imported", version="1.0", artifact=Artifact(filename="", url="", sha256=sha, index="/opt/wheels")
        ),
    )
    conda = CondaPackage(
        name="labconda",
        version="1.0",
        build="0",
        channel="file://~/conda-bld",
        subdir="noarch",
        url="file://~/conda-bld/noarch/labconda-1.0-0.conda",
        sha256=sha,
    )
    lock = dataclasses.replace(
        rich,
        python=dataclasses.replace(rich.python, packages=rich.python.packages + extra),
        conda=dataclasses.replace(rich.conda or Conda(), packages=(*(rich.conda or Conda()).packages, conda)),
    )
    text = cyclonedx.dumps(lock)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    assert "%7B" not in text and "file://~" not in text and "repository_url=/opt" not in text
    by_name = {c["name"]: c for c in json.loads(text)["components"]}
    for name in ("labtool", "hometool", "imported", "labconda"):
        component = by_name[name]
        assert "externalReferences" not in component, name
        assert component["hashes"] == [{"alg": "SHA-256", "content": sha}], name
        assert "repository_url" not in component["purl"] and "channel" not in component["purl"], name
    assert by_name["labtool"]["properties"] == [
        {"name": "envsnap:project-path", "value": "wheels/labtool-0.3-py3-none-any.whl"}
    ]
    assert "properties" not in by_name["hometool"]
    opt = by_name["opttool"]
    assert PackageURL.from_string(opt["purl"]).qualifiers["repository_url"] == "file:///opt/wheels"
    assert opt["externalReferences"] == [
        {"type": "distribution", "url": "file:///opt/wheels/opttool-0.3-py3-none-any.whl"}
    ]


# The SBOM's schema check, with ``uniqueItems`` done in one pass (``cyclonedx._unique_items``), says what the
# library's own validator says: every document tried here gets the same first problem, or none from both.
def _library_verdict(document: object) -> str | None:
    problem = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document))
    return None if problem is None else str(problem.data.message)  # type: ignore[union-attr]


def _our_verdict(document: object) -> str | None:
    problem = next(cyclonedx._validator().iter_errors(document), None)
    return None if problem is None else str(problem.message)


def test_the_schema_check_refuses_a_component_listed_twice_as_the_librarys_own(rich: Snapshot) -> None:
    document = json.loads(cyclonedx.dumps(rich))
    assert _our_verdict(document) is None and _library_verdict(document) is None
    twice = dict(document, components=[*document["components"], document["components"][0]])
    assert _our_verdict(twice) == _library_verdict(twice) is not None
    assert "has non-unique elements" in str(_our_verdict(twice))
    # the same component with its keys in another order is the same item
    reordered = dict(reversed(list(document["components"][0].items())))
    assert _our_verdict(dict(document, components=[*document["components"], reordered])) is not None


@pytest.mark.parametrize(
    ("items", "unique"),
    [
        ([1, 1.0], False),  # equal numbers to JSON Schema
        ([True, 1], True),  # a boolean is not a number
        ([{"a": [1.0]}, {"a": [1]}], False),
        ([{"a": 1, "b": 2}, {"b": 2, "a": 1}], False),
        (["1", 1], True),
        ([[1, 2], [2, 1]], True),
        ([0.5, 0.25], True),
    ],
)
def test_unique_items_in_one_pass_agrees_with_jsonschema(items: list[object], unique: bool) -> None:
    from jsonschema.validators import Draft7Validator

    schema = {"type": "array", "uniqueItems": True}
    linear = cyclonedx._validator()
    ours = list(cyclonedx._unique_items(linear, True, items, schema))
    theirs = list(Draft7Validator(schema).iter_errors(items))
    assert (not ours) == (not theirs) == unique
    if not unique:
        assert ours[0].message == theirs[0].message


def test_the_dependency_graph_is_the_one_the_library_registers(rich: Snapshot) -> None:
    # The root depending on every component, each component a node of its own: what register_dependency writes.
    from cyclonedx.output.json import JsonV1Dot6

    ours = cyclonedx.build_bom(rich)
    theirs = cyclonedx.build_bom(rich)
    theirs.dependencies = []
    root = theirs.metadata.component
    theirs.register_dependency(root, list(theirs.components))
    assert (
        json.loads(JsonV1Dot6(ours).output_as_string())["dependencies"]
        == json.loads(JsonV1Dot6(theirs).output_as_string())["dependencies"]
    )
    assert len(json.loads(JsonV1Dot6(ours).output_as_string())["dependencies"]) == len(ours.components) + 1


@pytest.mark.parametrize(
    ("field", "text"),
    [("artifact", "%zz"), ("artifact", "#a#b"), ("vcs-url", "%"), ("subdirectory", "#x"), ("conda", "%2")],
)
def test_cyclonedx_refuses_a_url_no_sbom_holds_in_one_line(
    cli: Callable[..., Any], rich: Snapshot, tmp_path: Path, field: str, text: str
) -> None:
    """A URL the loader takes but CycloneDX's xs:anyURI does not (a '%' without two hex digits, a second '#') was a
    traceback from cyclonedx-python-lib (InvalidUriException), exit 1; it is one line naming the value, exit 2."""
    packages = list(rich.python.packages)
    conda_packages = list(rich.conda.packages) if rich.conda else []
    if field == "artifact":
        i = next(i for i, p in enumerate(packages) if p.artifact is not None and p.source.kind == "index")
        art = packages[i].artifact
        assert art is not None
        packages[i] = dataclasses.replace(packages[i], artifact=dataclasses.replace(art, url=art.url + text))
    elif field == "conda":
        conda_packages[0] = dataclasses.replace(conda_packages[0], url=conda_packages[0].url + text)
    else:
        i = next(i for i, p in enumerate(packages) if p.source.kind == "vcs")
        src = packages[i].source
        changed = {"url": src.url + text} if field == "vcs-url" else {"subdirectory": src.subdirectory + text}
        packages[i] = dataclasses.replace(packages[i], source=dataclasses.replace(src, **changed))
    snap = dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=tuple(packages)))
    if rich.conda:
        snap = dataclasses.replace(snap, conda=dataclasses.replace(rich.conda, packages=tuple(conda_packages)))
    lock = lockfile.dump(snap, tmp_path / "envsnap.lock")
    target = tmp_path / "out" / "sbom.cdx.json"
    result = cli("export", lock, "-f", "cyclonedx", "--no-pin", "-o", target)
    assert result.code == 2, result
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert "cyclonedx: refused a value of the lock: not a valid URI" in result.err, result.err
    assert not target.exists()
