"""roc-validator's report on an RO-Crate, run in the validator's own venv (.ci/roc-validator.sh):

    VENV/bin/python tests/paper/_roc_validate.py CRATE_FOLDER

prints a JSON list of [severity, check id] for every issue at Process Run Crate 0.5's recommended level. The
RO-Crate JSON-LD context the validator fetches is served from ro-crate-py's copy: the tests run offline, and any
other address it asks for fails the run. Not a test module: tests/paper/test_artifact_files.py runs it."""

from __future__ import annotations

import email.message
import io
import json
import sys
import urllib.request
from importlib.resources import files
from typing import Any

import rdflib.parser  # type: ignore[import-untyped]
from rocrate_validator import services  # type: ignore[import-untyped]
from rocrate_validator.models import Severity, ValidationSettings  # type: ignore[import-untyped]
from rocrate_validator.utils.http import HttpRequester  # type: ignore[import-untyped]

CONTEXT = json.loads(files("rocrate").joinpath("data/ro-crate.jsonld").read_text())["@context"]
BODY = json.dumps({"@context": CONTEXT}).encode()


def _is_context(url: object) -> bool:
    text = str(url).rstrip("/")
    return text.startswith("https://w3id.org/ro/crate/") and text.endswith("/context")


def _urlopen(request: Any) -> Any:
    url = getattr(request, "full_url", str(request))
    if not _is_context(url):
        raise SystemExit(f"the validator fetched {url}")
    headers = email.message.Message()
    headers["Content-Type"] = "application/ld+json"
    return urllib.request.addinfourl(io.BytesIO(BODY), headers, url, 200)


class _Response:
    status_code = 200
    text = BODY.decode()

    def __init__(self) -> None:
        self.headers = {"Content-Type": "application/ld+json"}

    def json(self) -> Any:
        return json.loads(BODY)


def _get(self: Any, url: str, *args: Any, **kwargs: Any) -> Any:
    if not _is_context(url):
        raise SystemExit(f"the validator fetched {url}")
    return _Response()


def main(path: str) -> None:
    rdflib.parser._urlopen = _urlopen  # type: ignore[attr-defined]
    HttpRequester.get = _get
    settings = ValidationSettings(
        rocrate_uri=path,
        profile_identifier="process-run-crate-0.5",
        requirement_severity=Severity.RECOMMENDED,
        skip_availability_check=True,
    )
    result = services.validate(settings)
    issues = sorted({(issue.severity.name, issue.check.identifier) for issue in result.get_issues()})
    print(json.dumps(issues))


if __name__ == "__main__":
    main(sys.argv[1])
