"""``cyclonedx``: a CycloneDX 1.6 JSON SBOM of the Python, conda and system packages.

Each component carries a package URL (``pkg:pypi``, ``pkg:conda``, ``pkg:deb``/``rpm``/``apk``) and the
hashes the lock knows. Built with cyclonedx-python-lib and validated against the CycloneDX JSON schema
before it is returned; the serial number and timestamp come from the lock, so the output is stable.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterator
from typing import Any

from .. import fileurls, purls, sinks
from .._defaults import install_hint
from ..errors import ExportError, NotInstalledError
from ..model import CondaPackage, PythonPackage, Snapshot, SystemPackage
from . import _common
from .interface import Exporter

SPEC = (1, 6)
PROJECT_PATH = "envsnap:project-path"  # a file in the project, by its path from the project root
_NAMESPACE = uuid.UUID("6f1c4f5e-7c7e-4f5b-9d55-0e6e0c2f3a11")  # envsnap's namespace for SBOM serials


def render(snapshot: Snapshot) -> dict[str, bytes]:
    return {"sbom.cdx.json": dumps(snapshot).encode("utf-8")}


def dumps(snapshot: Snapshot) -> str:
    try:
        from cyclonedx.output.json import JsonV1Dot6
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
    except ImportError as exc:
        raise NotInstalledError(
            f"cyclonedx: needs cyclonedx-python-lib with JSON validation ({install_hint('sbom')})"
        ) from exc
    with sinks.refusing(ExportError, "cyclonedx"):
        bom = build_bom(snapshot)
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    validator = _validator()
    if validator is None:  # a cyclonedx-python-lib without the schema files where this version keeps them
        problem: object = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    else:
        problem = next(validator.iter_errors(json.loads(text)), None)
    if problem is not None:
        raise ExportError(f"cyclonedx: the SBOM does not validate against CycloneDX 1.6: {problem}")
    return text + "\n"


@functools.cache
def _validator() -> Any:
    """cyclonedx-python-lib's strict CycloneDX 1.6 JSON validator (jsonschema's Draft 7 over the library's schema
    files, with its format checker) with one keyword checked another way: ``uniqueItems`` (``_unique_items``);
    None where the library keeps its schema files elsewhere (its own validator is used then).

    jsonschema decides ``uniqueItems`` for an array of objects by comparing every pair of items, and an SBOM's
    ``components`` and ``dependencies`` hold one object per package: 7.6 s of a 1,000-package lock's 10 s export
    under the profiler, and four times that for twice the packages (issue 19: linear, with small constants)."""
    try:
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.schema._res import BOM_JSON_STRICT, CRYPTOGRAPHY_DEFS, JSF, SPDX_JSON
        from jsonschema.validators import Draft7Validator, extend  # type: ignore[import-untyped]
        from referencing import Registry
        from referencing.jsonschema import DRAFT7
    except ImportError:
        return None
    schema_file = BOM_JSON_STRICT.get(SchemaVersion.V1_6)
    if schema_file is None:
        return None
    prefix = "http://cyclonedx.org/schema/"  # where the 1.6 schema's $refs name them, as the library registers them
    resources = []
    for name, path in (
        ("spdx.SNAPSHOT.schema.json", SPDX_JSON),
        ("cryptography-defs.SNAPSHOT.schema.json", CRYPTOGRAPHY_DEFS),
        ("jsf-0.82.SNAPSHOT.schema.json", JSF),
    ):
        with open(path, encoding="utf-8") as part:
            resources.append((prefix + name, DRAFT7.create_resource(json.load(part))))
    with open(schema_file, encoding="utf-8") as whole:
        schema = json.load(whole)
    linear = extend(Draft7Validator, {"uniqueItems": _unique_items})
    return linear(schema, registry=Registry().with_resources(resources), format_checker=Draft7Validator.FORMAT_CHECKER)


def _unique_items(validator: Any, unique: object, instance: object, schema: object) -> Iterator[Any]:
    """JSON Schema's ``uniqueItems`` in one pass: each item written once as canonical JSON (sorted keys, an integral
    number as an integer: 1 and 1.0 are equal items to JSON Schema, True and 1 are not) and the texts looked up in
    a set, where jsonschema compares every pair."""
    if not unique or not validator.is_type(instance, "array"):
        return
    assert isinstance(instance, list)
    seen: set[str] = set()
    for item in instance:
        text = json.dumps(_integral_as_int(item), sort_keys=True, ensure_ascii=False)
        if text in seen:
            from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

            yield ValidationError(f"{instance!r} has non-unique elements")
            return
        seen.add(text)


def _integral_as_int(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral_as_int(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_as_int(item) for item in value]
    return value


def build_bom(snapshot: Snapshot) -> Any:
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType

    bom = Bom()
    bom.serial_number = uuid.uuid5(_NAMESPACE, snapshot.envsnap.content_digest or "unsealed")
    stamp = _common.parse_time(snapshot.envsnap.created)
    if stamp is not None:
        bom.metadata.timestamp = stamp
    tool_name, _, tool_version = _common.generator(snapshot).partition(" ")
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name=tool_name or "envsnap", version=tool_version or None)
    )
    root = Component(
        type=ComponentType.PLATFORM,
        name="environment",
        version=snapshot.envsnap.content_digest or None,
        bom_ref="environment",
        description=f"Python {snapshot.python.version} environment captured by envsnap",
    )
    bom.metadata.component = root
    components = [
        *(_python(p) for p in snapshot.python.packages),
        *(_conda(p) for p in (snapshot.conda.packages if snapshot.conda is not None else ())),
        *(_system(snapshot, p) for p in snapshot.system.packages),
    ]
    os_component = _operating_system(snapshot)
    if os_component is not None:
        components.append(os_component)
    seen: set[str] = set()
    for component in components:
        ref = str(component.bom_ref.value)
        if ref in seen:  # two records for one package URL (a multi-arch library): keep the first
            continue
        seen.add(ref)
        bom.components.add(component)
    # What ``bom.register_dependency(root, components)`` records (the root depending on each component, each
    # component a node with no dependencies of its own), made at once: the library looks each node up in the whole
    # list before adding it, a square of the number of packages (a million comparisons for 1,000).
    from cyclonedx.model.dependency import Dependency

    bom.dependencies = [
        Dependency(ref=root.bom_ref, dependencies=[Dependency(ref=c.bom_ref) for c in bom.components]),
        *(Dependency(ref=c.bom_ref) for c in bom.components),
    ]
    return bom


def _hashes(**values: str) -> list[Any]:
    from cyclonedx.model import HashAlgorithm, HashType

    algorithms = {
        "sha256": HashAlgorithm.SHA_256,
        "md5": HashAlgorithm.MD5,
        "sha512": HashAlgorithm.SHA_512,
        "sha384": HashAlgorithm.SHA_384,
        "sha1": HashAlgorithm.SHA_1,
    }
    return [HashType(alg=algorithms[k], content=v) for k, v in sorted(values.items()) if v and k in algorithms]


def _distribution(url: str, refs: list[Any], properties: list[Any]) -> None:
    """Where a package's file is: a URL as a ``distribution`` reference; a file the lock records by a label is no
    URL (``file://{project}/wheels/x.whl`` was written ``file://%7Bproject%7D/...``): one in the project is its path
    from the project root, the property ``envsnap:project-path`` (``wheels/x.whl``), one elsewhere on the author's
    machine (``file://~/...``) is named by its hashes alone."""
    from cyclonedx.model import ExternalReference, ExternalReferenceType, Property, XsUri

    if not url:
        return
    if not fileurls.is_labelled(url):
        refs.append(ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(sinks.sbom_uri(url))))
    elif fileurls.decoded_path(url).startswith(fileurls.PROJECT + "/"):
        properties.append(Property(name=PROJECT_PATH, value=fileurls.file_url_path(url)))


def _python(pkg: PythonPackage) -> Any:
    from cyclonedx.model import ExternalReference, ExternalReferenceType, XsUri
    from cyclonedx.model.component import Component, ComponentType

    refs: list[Any] = []
    properties: list[Any] = []
    hashes: dict[str, str] = {}
    src = pkg.source
    if src.kind == "vcs":
        refs.append(ExternalReference(type=ExternalReferenceType.VCS, url=XsUri(sinks.sbom_uri(purls.vcs_url(src)))))
    elif src.kind == "archive":
        algo, value = src.archive_digest
        hashes[algo] = value
        if purls.is_local(pkg):  # the file's location, which a package URL gives a published archive
            _distribution(src.url, refs, properties)
    art = pkg.artifact
    if art is not None and src.kind == "index":
        hashes["sha256"] = art.sha256
        _distribution(_common.file_url(art), refs, properties)  # a find-links folder's file: named there
    purl = purls.python(pkg)
    return Component(
        type=ComponentType.LIBRARY,
        name=pkg.metadata_name or pkg.name,
        version=pkg.version or None,
        purl=purl,
        bom_ref=purl.to_string() if purl is not None else f"local:{pkg.name}@{pkg.version}",
        hashes=_hashes(**hashes),
        external_references=refs,
        properties=properties,
    )


def _conda(pkg: CondaPackage) -> Any:
    from cyclonedx.model.component import Component, ComponentType

    purl = purls.conda(pkg)
    refs: list[Any] = []
    properties: list[Any] = []
    _distribution(pkg.url, refs, properties)
    return Component(
        type=ComponentType.LIBRARY,
        name=pkg.name,
        version=pkg.version or None,
        purl=purl,
        bom_ref=purl.to_string(),
        hashes=_hashes(md5=pkg.md5, sha256=pkg.sha256),
        external_references=refs,
        properties=properties,
    )


def _system(snapshot: Snapshot, pkg: SystemPackage) -> Any:
    from cyclonedx.model.component import Component, ComponentType

    purl = purls.system(snapshot, pkg)
    return Component(
        type=ComponentType.LIBRARY,
        name=pkg.name,
        version=pkg.version or None,
        purl=purl,
        bom_ref=purl.to_string(),
    )


def _operating_system(snapshot: Snapshot) -> Any:
    from cyclonedx.model.component import Component, ComponentType

    p = snapshot.platform
    if not p.os_id:
        return None
    return Component(
        type=ComponentType.OPERATING_SYSTEM,
        name=p.os_id,
        version=p.os_version or None,
        description=p.os_name or None,
        bom_ref=f"os:{p.os_id}-{p.os_version}",
    )


class CycloneDxExporter(Exporter):
    name = "cyclonedx"
    description = "CycloneDX 1.6 JSON SBOM with package URLs and hashes (Python, conda, system packages)"
    filename = "sbom.cdx.json"
    signature = b"environment captured by envsnap"

    def files(self, snapshot: Snapshot) -> dict[str, bytes]:
        return render(snapshot)


EXPORTER = CycloneDxExporter()
