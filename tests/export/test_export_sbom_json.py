from __future__ import annotations

import dataclasses
import json

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from envsnap import lockfile
from envsnap.export import cyclonedx, json_export
from envsnap.model import PythonPackage, Snapshot, Source


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
    assert by_name["tinysd"]["externalReferences"][0]["type"] == "distribution"
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
