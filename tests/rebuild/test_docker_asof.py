"""``rebuild --target docker --as-of auto|DATE``, the Python side (issue 14): a wheel the bundle lacks comes from
the configured index, but only a file the index says was uploaded before DATE (uv's ``--exclude-newer`` rule),
checked against the lock; the plan says which packages come from the bundle and which from the index."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from docker_locks import cpu_lock

from envsnap import lockfile
from envsnap.artifacts.bundle import Bundle
from envsnap.errors import RebuildError
from envsnap.model import Artifact, PythonPackage, Snapshot
from envsnap.probes.records import wheel_record_digest
from envsnap.rebuild import _asof

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))
from fetchserver import Server, make_wheel, serving, sha256_of

CUTOFF = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def _index(server: Server, name: str, files: list[tuple[Path, str | None]]) -> None:
    """A PEP 691 page for ``name`` listing each wheel with its upload time (None: the index gives none)."""
    entries = []
    for wheel, uploaded in files:
        server.add(f"/files/{wheel.name}", wheel.read_bytes())
        entry: dict[str, Any] = {"filename": wheel.name, "url": f"/files/{wheel.name}", "hashes": {}}
        entry["hashes"]["sha256"] = sha256_of(wheel)
        if uploaded is not None:
            entry["upload-time"] = uploaded
        entries.append(entry)
    page = {"meta": {"api-version": "1.1"}, "name": name, "files": entries}
    server.add(f"/simple/{name}/", json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json")


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Server]:
    with serving() as server:
        monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
        monkeypatch.setenv("PIP_INDEX_URL", server.url + "/simple")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        yield server


def _pinned(wheel: Path, name: str) -> PythonPackage:
    art = Artifact(filename=wheel.name, url=f"https://files.example/{wheel.name}", sha256=sha256_of(wheel))
    return PythonPackage(
        name=name,
        version="1.0",
        installer="pip",
        wheel_tags=("py3-none-any",),
        record_digest=wheel_record_digest(str(wheel)),
        artifact=art,
    )


def _lock_of(*packages: PythonPackage) -> Snapshot:
    base = cpu_lock()
    return lockfile.seal(dataclasses.replace(base, python=dataclasses.replace(base.python, packages=packages)))


def test_a_pinned_wheel_the_bundle_lacks_is_fetched_only_if_uploaded_before_the_date(
    index: Server, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path / "w", "tinypkg", "1.0")
    pkg = _pinned(wheel, "tinypkg")
    lock = _lock_of(pkg)
    lines: list[str] = []
    _index(index, "tinypkg", [(wheel, "2024-06-01T10:00:00.123456Z")])
    _filled, found = _asof.fetch_missing(lock, [pkg], CUTOFF, progress=lines.append)
    assert found["tinypkg"].read_bytes() == wheel.read_bytes()
    assert any("uploaded 2024-06-01T10:00:00.123456Z" in line for line in lines), lines
    # The same file, but the index says it was uploaded after the date: as of that date it did not exist.
    _index(index, "tinypkg", [(wheel, "2025-06-01T00:00:00Z")])
    with pytest.raises(
        RebuildError, match=r"no configured index lists tinypkg-1\.0-py3-none-any\.whl as uploaded before"
    ):
        _asof.fetch_missing(lock, [pkg], CUTOFF, progress=lines.append)


def test_an_unpinned_package_takes_no_file_newer_than_the_date_nor_one_without_an_upload_time(
    index: Server, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path / "w", "tinypkg", "1.0")
    pkg = dataclasses.replace(_pinned(wheel, "tinypkg"), artifact=None)
    lock = _lock_of(pkg)
    for uploaded in ("2025-01-01T00:00:01Z", None):
        _index(index, "tinypkg", [(wheel, uploaded)])
        with pytest.raises(RebuildError, match=r"tinypkg 1\.0 is not in the bundle: .*uploaded before 2025-01-01"):
            _asof.fetch_missing(lock, [pkg], CUTOFF, progress=lambda _line: None)
    _index(index, "tinypkg", [(wheel, "2024-12-31T23:59:59Z")])
    filled, found = _asof.fetch_missing(lock, [pkg], CUTOFF, progress=lambda _line: None)
    art = filled.package("tinypkg").artifact  # type: ignore[union-attr]
    assert art is not None and art.sha256 == sha256_of(wheel) and found["tinypkg"].is_file()


def _bundle_without(tmp_path: Path, lost: str) -> tuple[Path, Path, Snapshot]:
    """A bundle of a lock with two wheels, made without ``lost``'s (its SHA256SUMS does not list it)."""
    wheels = {name: make_wheel(tmp_path / "w", name, "1.0") for name in ("keptpkg", "lostpkg")}
    lock = _lock_of(*(_pinned(w, n) for n, w in wheels.items()))
    root = tmp_path / "bundle"
    (root / "wheels").mkdir(parents=True)
    lockfile.dump(lock, root / "envsnap.lock")
    (root / "wheels" / wheels["keptpkg"].name).write_bytes(wheels["keptpkg"].read_bytes())
    Bundle(root).write_sums()
    path = tmp_path / "envsnap.lock"
    lockfile.dump(lock, path)
    assert lost == "lostpkg"
    return root, path, lock


def test_the_plan_says_which_wheels_come_from_the_index_as_of_the_date(tmp_path: Path, cli: Callable[..., Any]) -> None:
    root, lock, _snap = _bundle_without(tmp_path, "lostpkg")
    args = ["rebuild", lock, "--target", "docker", "--bundle", root, "--dest", tmp_path / "ctx", "--force"]
    refused = cli(*args, "--dry-run")
    assert refused.code == 4, refused
    assert "lostpkg-1.0-py3-none-any.whl: missing from the bundle (lostpkg 1.0)" in refused.err
    assert "pass --as-of auto|DATE" in refused.err
    planned = cli(*args, "--as-of", "2025-01-01", "--dry-run", "--json")
    assert planned.code == 0, planned
    plan = json.loads(planned.out)
    items = {i["name"]: i for i in plan["items"] if i["layer"] == "python"}
    assert items["lostpkg"]["origin"] == "index: a file uploaded before 2025-01-01T00:00:00Z"
    assert items["lostpkg"]["note"] == "not in the bundle"
    assert items["keptpkg"]["origin"] == "wheels/keptpkg-1.0-py3-none-any.whl"
    assert any("fetch the 1 wheels the bundle lacks" in step for step in plan["steps"])
