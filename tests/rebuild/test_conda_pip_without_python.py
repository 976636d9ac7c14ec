"""A conda lock with pip packages but no conda ``python`` package: nothing can install its pip layer, so its conda
rebuild is refused in the plan, before anything is fetched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HASH = "0123456789abcdef" * 4

# conda-lock's file for an environment.yml whose pip section names a package and whose conda list leaves python out.
CONDA_LOCK = f"""\
version: 1
metadata:
  platforms: [linux-64]
  sources: [environment.yml]
package:
- name: libzlib
  version: 1.3.1
  manager: conda
  platform: linux-64
  dependencies: {{}}
  url: https://conda.anaconda.org/conda-forge/linux-64/libzlib-1.3.1-hb9d3cd8_2.conda
  hash:
    md5: {HASH[:32]}
    sha256: {HASH}
  category: main
  optional: false
- name: typing_extensions
  version: 4.12.2
  manager: pip
  platform: linux-64
  dependencies: {{}}
  url: https://files.pythonhosted.org/packages/26/9f/typing_extensions-4.12.2-py3-none-any.whl
  hash:
    sha256: {HASH}
  category: main
  optional: false
"""

REFUSAL = (
    "envsnap: error: env.lock: the lock has pip packages (typing-extensions) but no conda python package to install "
    "them with: add python to the conda environment (or its environment.yml) and lock it again"
)


@pytest.mark.parametrize("extra", [["--dry-run"], ["--dry-run", "--json"], []])
def test_pip_packages_without_a_conda_python_are_refused_before_any_fetch(
    extra: list[str], tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan read "install 1 pip packages with bin/python", and the rebuild fetched and installed every conda
    package before it stopped: exit 4, "the conda packages installed no interpreter at bin/python"."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENVSNAP_ALLOW_URL", "https://conda.anaconda.org/* https://files.pythonhosted.org/*")
    (tmp_path / "conda-lock.yml").write_text(CONDA_LOCK)
    assert cli("import", "conda-lock.yml", "-o", "env.lock").code == 0
    result = cli("rebuild", "env.lock", "--target", "conda", "--prefix", "env", *extra)
    assert (result.code, result.out) == (2, ""), result
    assert result.err.strip().splitlines() == [REFUSAL]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conda-lock.yml", "env.lock"]
