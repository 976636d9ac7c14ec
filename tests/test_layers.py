"""The layer contract (.ci/layers.py): the tree follows it, and it catches what it promises to catch."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "layers.py"


@pytest.fixture(scope="module")
def layers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layers_contract", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def make_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """A small package named ``envsnap`` under tmp_path: ``files`` maps a path inside it to its source."""
    package = tmp_path / "envsnap"
    for name, source in {"__init__.py": "", **files}.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(package).parents:
            init = package / parent / "__init__.py"
            if not init.exists():
                init.write_text("")
        path.write_text(textwrap.dedent(source))
    return package


def test_the_tree_follows_the_layers() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK")


def test_a_clean_synthetic_tree_passes(layers: ModuleType, tmp_path: Path) -> None:
    package = make_tree(
        tmp_path,
        {
            "model.py": "",
            "_fs.py": "",
            "compare/verify.py": "from .. import model\nfrom .._fs import x\n",
            "rebuild/venv.py": "from ..compare import verify\nfrom ..compare.verify import compare\n",
            "cli/main.py": "from ..rebuild import venv\n",
        },
    )
    assert layers.check(package) == []


def test_an_upward_import_fails(layers: ModuleType, tmp_path: Path) -> None:
    package = make_tree(
        tmp_path,
        {
            "export/dockerfile.py": "from ..rebuild import docker\n",
            "rebuild/docker.py": "",
        },
    )
    problems = layers.check(package)
    assert len(problems) == 1
    assert "export/dockerfile.py:1: upward import" in problems[0] and "envsnap.rebuild.docker" in problems[0]


def test_an_upward_import_inside_a_function_or_for_types_only_fails(layers: ModuleType, tmp_path: Path) -> None:
    package = make_tree(
        tmp_path,
        {
            "model.py": """\
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from .compare.verify import Report

            def load():
                from .cli import main
            """,
            "compare/verify.py": "",
            "cli/main.py": "",
        },
    )
    problems = layers.check(package)
    assert [p.split(": ")[1] for p in problems] == ["upward import", "upward import"]
    assert any("envsnap/model.py:3" in p for p in problems) and any("envsnap/model.py:6" in p for p in problems)


def test_export_and_importers_use_neither_the_other(layers: ModuleType, tmp_path: Path) -> None:
    package = make_tree(
        tmp_path,
        {
            "export/common.py": "",
            "importers/pylock.py": "from ..export import common\n",
        },
    )
    problems = layers.check(package)
    assert len(problems) == 1 and "a package beside it" in problems[0]


def test_a_cycle_fails(layers: ModuleType, tmp_path: Path) -> None:
    package = make_tree(
        tmp_path,
        {
            "rebuild/conda.py": "from . import venv\n",
            "rebuild/venv.py": "def later():\n    from .conda import x\n",
        },
    )
    assert layers.check(package) == ["cycle: envsnap.rebuild.conda -> envsnap.rebuild.venv -> envsnap.rebuild.conda"]


def test_a_cycle_across_layers_is_named_once(layers: ModuleType, tmp_path: Path) -> None:
    package = make_tree(
        tmp_path,
        {
            "artifacts/bundle.py": "from ..rebuild.conda import fetch\n",
            "rebuild/conda.py": "from ..artifacts import bundle\n",
        },
    )
    problems = layers.check(package)
    assert [p for p in problems if p.startswith("cycle:")] == [
        "cycle: envsnap.artifacts.bundle -> envsnap.rebuild.conda -> envsnap.artifacts.bundle"
    ]
    assert len(problems) == 2 and "upward import" in problems[0]


def test_a_private_module_from_another_package_fails(layers: ModuleType, tmp_path: Path) -> None:
    package = make_tree(
        tmp_path,
        {
            "probes/_pyprobe.py": "",
            "probes/python.py": "from . import _pyprobe\n",  # its own package: fine
            "artifacts/pin.py": "from ..probes._pyprobe import wheel_record_digest\n",
        },
    )
    problems = layers.check(package)
    assert len(problems) == 1
    assert "artifacts/pin.py:1: private import" in problems[0] and "outside envsnap.probes" in problems[0]


def test_a_private_name_from_another_package_fails(layers: ModuleType, tmp_path: Path) -> None:
    package = make_tree(
        tmp_path,
        {
            "lockfile.py": "_RULES = {}\n",
            "compat/rules.py": "_TABLE = {}\n",
            "compat/check.py": "from .rules import _TABLE\n",  # its own package: fine
            "compat/more/deep.py": "from ..rules import _TABLE\n",  # below its own package: fine
            "rebuild/docker.py": "from ..compat.rules import _TABLE\nfrom ..lockfile import _RULES\n",
        },
    )
    problems = layers.check(package)
    assert len(problems) == 2
    assert all("rebuild/docker.py" in p and "private import" in p for p in problems)


def test_the_script_prints_one_line_per_violation_and_exits_1(tmp_path: Path) -> None:
    package = make_tree(
        tmp_path,
        {
            "model.py": "from .rebuild import venv\n",
            "rebuild/venv.py": "from .. import model\n",
        },
    )
    result = subprocess.run([sys.executable, str(SCRIPT), str(package)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "envsnap/model.py:1: upward import: envsnap.model (core) imports envsnap.rebuild.venv "
        "(rebuild, a higher layer)",
        "cycle: envsnap.model -> envsnap.rebuild.venv -> envsnap.model",
    ]


def test_progress_is_one_type_for_bundles_and_rebuilds() -> None:
    from envsnap import progress
    from envsnap.artifacts import bundle
    from envsnap.rebuild import interface

    assert bundle.Progress is progress.Progress and interface.Progress is progress.Progress
