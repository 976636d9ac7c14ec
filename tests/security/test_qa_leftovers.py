"""A skeptical second pass over issue 11: the leftovers the implementers reported, each proved here."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from envsnap.artifacts.pin import MAX_INDEX_PAGE, project_files
from envsnap.errors import PinError


class _PageFetcher:
    """A fetcher that answers every page with one body (what a hostile index a lock names would send)."""

    def __init__(self, body: bytes, content_type: str) -> None:
        self.body, self.content_type = body, content_type

    def get(self, url: str, accept: str = "*/*", *, checked: bool = False) -> tuple[bytes, str, str]:
        return self.body, self.content_type, url


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in json.loads
        b'{"files": [], "files": [1]}',  # duplicate key
        b"[1, 2]",  # not an object
        b'{"files": [{"filename": "a-1.whl", "size": 1' + b"9" * 5000 + b"}]}",  # a 5,000-digit integer
    ],
    ids=["deep", "duplicate-key", "not-an-object", "long-number"],
)
def test_a_hostile_json_index_page_is_a_pin_error(body: bytes) -> None:
    with pytest.raises(PinError) as info:
        project_files(_PageFetcher(body, "application/vnd.pypi.simple.v1+json"), "https://idx.invalid/simple", "a")
    assert "\n" not in str(info.value)


def test_a_local_index_page_is_read_bounded(tmp_path: Path, monkeypatch: Any) -> None:
    from envsnap.artifacts import pin as pin_module
    from envsnap.artifacts.pin import Fetcher, IndexConfig

    monkeypatch.setattr(pin_module, "MAX_INDEX_PAGE", 1024)
    project = tmp_path / "simple" / "a"
    project.mkdir(parents=True)
    (project / "index.html").write_text("<a>x</a>" * 1000)
    fetcher = Fetcher(IndexConfig(no_index=True))
    with pytest.raises(PinError, match="over the limit"):
        fetcher.get(project.as_uri() + "/")
    assert MAX_INDEX_PAGE >= 64 * 1024 * 1024  # a real index's largest project pages still fit


@pytest.mark.parametrize(
    "record",
    ["{not json", "[" * 50_000, '{"name": "a", "name": "b"}', "[1]"],
    ids=["broken", "deep", "duplicate-key", "not-an-object"],
)
def test_a_malformed_conda_meta_record_is_a_rebuild_error(tmp_path: Path, record: str) -> None:
    from envsnap.errors import RebuildError
    from envsnap.model import Conda
    from envsnap.probes import conda as conda_probe
    from envsnap.rebuild.conda import restore_provenance

    meta = tmp_path / conda_probe.META_DIR
    meta.mkdir(parents=True)
    (meta / "a-1-0.json").write_text(record)
    with pytest.raises(RebuildError) as info:
        restore_provenance(tmp_path, Conda())
    assert "\n" not in str(info.value)


_SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyzABCDEF",
    "DATABASE": "postgres://bob:hunter2@db:5432/x",
}
_SECRET_WARNING = "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 was seen"


def _secret_lock(path: Path) -> Path:
    """An imported/older lock, correctly sealed, that holds secrets a capture today would never record."""
    from types import MappingProxyType

    from envsnap import lockfile
    from envsnap.model import Meta, Project, PythonEnv, Snapshot

    lock = Snapshot(
        envsnap=Meta(generator="envsnap 0.1.0", created="2026-01-01T00:00:00Z", warnings=(_SECRET_WARNING,)),
        python=PythonEnv(implementation="cpython", version="3.11.7", kind="venv"),
        environment=MappingProxyType(dict(_SECRETS, OMP_NUM_THREADS="4")),
        project=Project(commit="a" * 40, remote_url="https://bob:hunter2@git.example.org/x.git"),
    )
    lockfile.dump(lock, path)
    return path


def _leaks(text: str) -> list[str]:
    needles = ["hunter2", "hf_abcdef", "wJalrXUtnFEMI", "ghp_abcdef"]
    return [n for n in needles if n in text]


@pytest.mark.parametrize("form", ["dir", "bundle.tar.gz"])
def test_a_bundle_of_a_lock_with_secrets_publishes_none_of_them(tmp_path: Path, cli: Any, form: str) -> None:
    from envsnap import lockfile
    from envsnap.artifacts.bundle import open_bundle

    lock = _secret_lock(tmp_path / "in.lock")
    out = tmp_path / form
    result = cli("bundle", lock, "-o", out)
    assert result.code == 0, result.err
    (tmp_path / "unpacked").mkdir()
    root = Path(open_bundle(out, tmp_path / "unpacked").root)  # its SHA256SUMS checked in full
    files = [file for file in root.rglob("*") if file.is_file()]
    assert files
    for file in files:
        assert not _leaks(file.read_text(errors="replace")), file
    bundled = lockfile.load(root / "envsnap.lock")  # sealed anew, so it loads with its digest checked
    assert dict(bundled.environment) == {"OMP_NUM_THREADS": "4", "DATABASE": "postgres://db:5432/x"}
    assert bundled.project is not None and bundled.project.commit == "a" * 40


def _signed_package_lock(path: Path) -> Path:
    """``_secret_lock`` plus this interpreter's ``packaging``, locked from a signed archive URL."""
    import sys
    from importlib.metadata import version

    from envsnap import lockfile
    from envsnap.model import PythonPackage, Source

    lock = lockfile.load(_secret_lock(path))
    signed = (
        "https://files.example.org/packaging.whl?X-Amz-Signature=cafebabe0123&"
        "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101"
    )
    package = PythonPackage(
        name="packaging", version=version("packaging"), installer="pip", source=Source(kind="archive", url=signed)
    )
    major, minor, micro = sys.version_info[:3]
    python = dataclasses.replace(lock.python, version=f"{major}.{minor}.{micro}", packages=(package,))
    lockfile.dump(dataclasses.replace(lock, python=python), path)
    return path


def _leaks_signed(text: str) -> list[str]:
    return _leaks(text) + [n for n in ("cafebabe0123", "AKIAIOSFODNN7") if n in text]


def test_show_diff_check_and_verify_print_no_secret_of_a_lock(tmp_path: Path, cli: Any) -> None:
    import sys

    lock = _signed_package_lock(tmp_path / "a.lock")
    clean = tmp_path / "b.lock"
    clean.write_text("")
    from envsnap import lockfile
    from envsnap.model import Snapshot

    lockfile.dump(Snapshot(), clean)
    runs = {
        "show --json": cli("show", "--json", lock),
        "show": cli("show", lock),
        "diff --json": cli("diff", "--json", lock, clean),
        "diff": cli("diff", lock, clean),
        "diff back": cli("diff", "--json", clean, lock),
        "check --json": cli("check", "--json", lock, "--python", sys.executable),
        "verify --json": cli("verify", "--json", lock, "--python", sys.executable),
        "verify": cli("verify", lock, "--python", sys.executable),
    }
    for what, result in runs.items():
        assert "Traceback" not in result.err, what
        assert not _leaks_signed(result.out + result.err), (what, result.out + result.err)
    assert "files.example.org/packaging.whl" in runs["verify --json"].out  # the URL is still reported
    assert '"OMP_NUM_THREADS": "4"' in runs["show --json"].out  # only the secrets are left out


_BIDI = ("\u202e", "\u2066", "\u2069", "\u200f")


def test_bidi_characters_of_a_lock_never_reach_the_terminal_raw(tmp_path: Path, cli: Any) -> None:
    """U+202E (right-to-left override) and U+2066 (isolate) in free-text fields are valid text, but shown raw
    they reorder what the reader sees ("Trojan Source"): every printed form replaces or escapes them."""
    import json as json_module

    from envsnap import lockfile
    from envsnap.model import Meta, Platform, PythonEnv, Snapshot

    hostile = Snapshot(
        envsnap=Meta(generator="envsnap 0.1.0", warnings=("w \u202eexe.txt\u202c",)),
        platform=Platform(os_id="debian", os_version="12", os_name="Debian \u2066x\u2069 \u200f\u202egpj.exe"),
        python=PythonEnv(implementation="cpython", version="3.11.7", kind="venv"),
    )
    lock = tmp_path / "a.lock"
    lockfile.dump(hostile, lock)
    other = tmp_path / "b.lock"
    lockfile.dump(Snapshot(), other)
    for args in (("show", lock), ("show", "--json", lock), ("diff", lock, other), ("diff", "--json", lock, other)):
        result = cli(*args)
        shown = result.out + result.err
        assert not [c for c in _BIDI if c in shown], (args, shown)
    data = json_module.loads(cli("show", "--json", lock).out)  # escaped, not changed: the same JSON value
    assert data["platform"]["os_name"] == hostile.platform.os_name


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        ("https://hub.example.org/m?api-key=s3cr3tv4lue1", "s3cr3tv4lue1"),  # Azure style, hyphenated
        ("https://x.example.org/?x-api-key=s3cr3tv4lue2&page=2", "s3cr3tv4lue2"),
        ("--xla_dump_to=gs://bucket/x?access-key=s3cr3tv4lue4", "s3cr3tv4lue4"),
        ("https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/s3cr3tv4lue3abcdefghijkl", "s3cr3tv4lue3"),
        ("dapi0123456789abcdef0123456789abcdef", "dapi0123456789"),
        ("Authorization: Token s3cr3tv4lue6abcdef", "s3cr3tv4lue6"),
    ],
    ids=["api-key", "x-api-key", "access-key", "slack-webhook", "databricks", "authorization-header"],
)
def test_more_secret_formats_never_reach_a_lock(value: str, secret: str) -> None:
    from envsnap._privacy import scrub_text, scrub_value, strip_credentials_in_text

    kept = scrub_value(value)
    assert kept is None or secret not in kept
    assert secret not in scrub_text(f"a warning about {value}")
    if "://" in value:
        assert secret not in strip_credentials_in_text(value)


@pytest.mark.parametrize(
    "value",
    [
        "--xla_gpu_autotune_level=4",
        "https://x.example.org/?page=2&monkey=1",
        "1",
        "/usr/local/cuda/lib64",
        "Authorization",
    ],
)
def test_ordinary_values_are_kept(value: str) -> None:
    from envsnap._privacy import scrub_value

    assert scrub_value(value) == value


@pytest.mark.parametrize("shipped", ["3.11.7 && curl http://127.0.0.1:9/x | sh", "3.11.x", "3.11.7\u202e"])
def test_an_image_python_version_that_is_not_one_is_refused(shipped: str) -> None:
    """A bundle's images/*.json env is untrusted: PYTHON_VERSION became the interpreter version (plan, labels,
    the tool's wheels) when only its first two parts matched the lock."""
    from envsnap.dockerfile import baseimage
    from envsnap.errors import RebuildError
    from envsnap.model import Platform, PythonEnv, Snapshot

    lock = Snapshot(
        platform=Platform(os_id="debian", os_version="12"), python=PythonEnv(implementation="cpython", version="3.11.7")
    )
    facts = baseimage.ImageFacts(image_id="sha256:" + "a" * 64, env={"PYTHON_VERSION": shipped})
    with pytest.raises(RebuildError, match="not a Python version") as info:
        baseimage.choose(lock, inspect=lambda reference: facts)
    assert shipped not in str(info.value) or (shipped.isascii() and shipped.isprintable())
    good = baseimage.ImageFacts(image_id="sha256:" + "a" * 64, env={"PYTHON_VERSION": "3.11.7"})
    assert baseimage.choose(lock, inspect=lambda reference: good).interpreter.version == "3.11.7"
