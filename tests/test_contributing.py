"""CONTRIBUTING.md stays true: every path it names exists, and each recipe's example is a registered member of
its family (the recipe is proven by the code it points at)."""

from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEXT = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
# A path in backticks: a top-level folder of the repository, then a path without placeholders.
_PATH = re.compile(r"`((?:envsnap|tests|docs|templates|bench|\.ci)/[\w./-]*|[\w.-]+\.(?:md|toml|yaml)|LICENSE)`")


def _named() -> list[str]:
    return sorted({m.group(1) for m in _PATH.finditer(TEXT)})


def test_it_names_the_files_a_newcomer_needs() -> None:
    named = set(_named())
    assert {"docs/design.md", "tests/conftest.py", "tests/testutil.py", ".ci/layers.py", "CHANGELOG.md"} <= named
    assert 'python3 -m pytest -m "not slow"' in TEXT


@pytest.mark.parametrize("path", _named())
def test_every_path_it_names_exists(path: str) -> None:
    if "NAME" in path:  # the recipes' new module, e.g. envsnap/export/NAME.py: its folder exists
        path = path.split("NAME", 1)[0]
    assert (REPO / path).exists(), f"CONTRIBUTING.md names {path}, which does not exist"


RECIPES = {
    # heading -> (registry module, attribute of the example module that must be a registered member)
    "### A probe": ("envsnap.probes.capture", "PROBES", "PROBE"),
    "### A compatibility rule": ("envsnap.compat.rules", "REGISTRY", "RULE"),
    "### A rebuild target": ("envsnap.rebuild._registry", "REGISTRY", "REBUILDER"),
    "### An export format": ("envsnap.export", "REGISTRY", "EXPORTER"),
    "### An import format": ("envsnap.importers", "REGISTRY", "IMPORTER"),
}


@pytest.mark.parametrize("heading", sorted(RECIPES))
def test_each_recipe_points_at_a_registered_example(heading: str) -> None:
    assert heading in TEXT
    section = TEXT.split(heading, 1)[1].split("\n### ", 1)[0]
    example = re.search(r"Example: `(envsnap/[\w/]+)\.py`", section)
    assert example, f"{heading}: no example file"
    module = import_module(example.group(1).replace("/", "."))
    registry_module, registry_name, attribute = RECIPES[heading]
    member = getattr(module, attribute)
    registry = getattr(import_module(registry_module), registry_name)
    members = list(registry) if isinstance(registry, tuple) else list(registry.values())
    assert member in members, f"{heading}: {example.group(1)}.{attribute} is not registered"
    for file in re.findall(r"`((?:envsnap|tests)/[\w/]+\.py)`", section):
        if "NAME" not in file:
            assert (REPO / file).is_file(), file
