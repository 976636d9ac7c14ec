"""Export/import fixtures: a real wheelhouse (wheels built here, served as file:// simple indexes)."""

from __future__ import annotations

import dataclasses
import hashlib
import platform
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from envsnap import lockfile
from envsnap.model import Artifact, Meta, Platform, PythonEnv, PythonPackage, Snapshot

sys.path.insert(0, str(Path(__file__).parent))

from wheelfiles import build_wheel


@dataclasses.dataclass(frozen=True)
class Wheelhouse:
    root: Path
    index: str  # file:// URL of the main simple index
    extra_index: str  # file:// URL of a second index serving the local-label (+cu121) wheel
    artifacts: dict[str, Artifact]  # canonical name -> artifact pointing at the wheel file
    versions: dict[str, str]


def _simple_page(index_dir: Path, name: str, wheel: Path, sha256: str) -> None:
    page = index_dir / canonicalize_name(name)
    page.mkdir(parents=True)
    rel = Path("..", "..", "wheels", wheel.name).as_posix()
    href = rel.replace("+", "%2B")
    (page / "index.html").write_text(
        f'<!DOCTYPE html><html><body><a href="{href}#sha256={sha256}">{wheel.name}</a></body></html>\n'
    )


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    # Unicode in the path: file:// URLs must be percent-encoded and decoded on the way back.
    root = tmp_path_factory.mktemp("wheelhouse") / "räder café"
    wheels = root / "wheels"
    wheels.mkdir(parents=True)
    specs = {"Foo_Bar": ("1.0", "foo_bar", "simple"), "tiny_cuda": ("2.0+cu121", "tiny_cuda", "simple-cu121")}
    artifacts = {}
    versions = {}
    for dist, (version, module, index_name) in specs.items():
        wheel = build_wheel(wheels, dist, version, module)
        data = wheel.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        _simple_page(root / index_name, dist, wheel, sha256)
        name = canonicalize_name(dist)
        artifacts[name] = Artifact(
            filename=wheel.name,
            url=wheel.as_uri(),
            sha256=sha256,
            size=len(data),
            upload_time="2025-01-02T03:04:05Z",
            index=(root / index_name).as_uri(),
        )
        versions[name] = version
    return Wheelhouse(root, (root / "simple").as_uri(), (root / "simple-cu121").as_uri(), artifacts, versions)


@pytest.fixture
def host_snapshot(wheelhouse: Wheelhouse) -> Snapshot:
    """A lock of this host's interpreter holding the wheelhouse's packages (installable for real)."""
    packages = tuple(
        PythonPackage(
            name=name,
            version=wheelhouse.versions[name],
            installer="pip",
            artifact=art,
            metadata_name={"foo-bar": "Foo_Bar", "tiny-cuda": "tiny_cuda"}[name],
            requested=True,
        )
        for name, art in sorted(wheelhouse.artifacts.items())
    )
    impl = sys.implementation.name
    return lockfile.seal(
        Snapshot(
            envsnap=Meta(generator="envsnap test", created="2026-01-01T00:00:00Z"),
            platform=Platform(system=platform.system(), machine=platform.machine()),
            python=PythonEnv(
                implementation=impl,
                version=platform.python_version(),
                abi=f"cp{sys.version_info.major}{sys.version_info.minor}",
                kind="venv",
                packages=packages,
            ),
        )
    )


@pytest.fixture(params=["path", "file-url"])
def find_links_snapshot(host_snapshot: Snapshot, wheelhouse: Wheelhouse, request: pytest.FixtureRequest) -> Snapshot:
    """``host_snapshot`` as ``envsnap pin`` records it with ``PIP_FIND_LINKS=<wheels dir>`` (a plain path, or a
    ``file://`` URL): the artifacts' ``index`` is that folder, which is no package index."""
    folder = wheelhouse.root / "wheels"
    where = str(folder) if request.param == "path" else folder.as_uri()
    packages = tuple(
        dataclasses.replace(p, artifact=dataclasses.replace(p.artifact, index=where)) if p.artifact else p
        for p in host_snapshot.python.packages
    )
    return lockfile.seal(
        dataclasses.replace(host_snapshot, python=dataclasses.replace(host_snapshot.python, packages=packages))
    )


@pytest.fixture
def rich():  # type: ignore[no-untyped-def]
    from export_samples import rich_snapshot

    return rich_snapshot()
