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


PYTHON = f"""\
- name: python
  version: 3.11.7
  manager: conda
  platform: linux-64
  dependencies: {{}}
  url: https://conda.anaconda.org/conda-forge/linux-64/python-3.11.7-hab00c5b_0_cpython.conda
  hash:
    md5: {HASH[:32]}
    sha256: {HASH}
  category: main
  optional: false
"""


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_the_plan_names_the_installer_the_pip_layer_is_installed_with(
    installer: str, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan read "install 1 pip packages with bin/python" while the run installs the pip layer with uv where
    there is one (pip of envsnap's interpreter, for bin/python, where not): it names the installer the run takes, and
    the count in the number it takes."""
    from testutil import uv_off_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENVSNAP_ALLOW_URL", "https://conda.anaconda.org/* https://files.pythonhosted.org/*")
    if installer == "uv":
        uv_off_path(monkeypatch, tmp_path / "tools")
    else:
        monkeypatch.setenv("ENVSNAP_UV", str(tmp_path / "no-uv"))  # names no executable: pip is used
    (tmp_path / "conda-lock.yml").write_text(
        CONDA_LOCK.replace("- name: typing_extensions", f"{PYTHON}- name: typing_extensions")
    )
    assert cli("import", "conda-lock.yml", "-o", "env.lock").code == 0
    result = cli("rebuild", "env.lock", "--target", "conda", "--prefix", "env", "--dry-run")
    assert result.code == 0, result
    steps = [line.strip() for line in result.out.splitlines() if "pip package" in line]
    assert steps == [f"4. install 1 pip package into bin/python with {installer} (hash-checked wheels, --no-deps)"]
