"""What a user installs: one version everywhere, the templates as package resources, the type marker, and the
files a project that people pick up carries (issue 13, "Habits of a project people pick up")."""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from email.parser import HeaderParser
from importlib.resources import files
from pathlib import Path

import jinja2
import pytest

from envsnap import _templates
from envsnap._toml import tomllib
from envsnap._version import __version__

REPO = Path(__file__).resolve().parents[1]


def _wheel_metadata(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return dict(HeaderParser().parsestr(archive.read(name).decode()).items())


def test_the_version_is_written_in_one_place(cli) -> None:  # type: ignore[no-untyped-def]
    """pyproject reads the version from envsnap/_version.py; nothing else writes one (pyproject and
    envsnap/__init__.py each wrote 0.1.0)."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "envsnap/_version.py"
    written = [
        str(p.relative_to(REPO))
        for p in (REPO / "envsnap").rglob("*.py")
        if re.search(r"^__version__\s*=", p.read_text(), re.M)
    ]
    assert written == ["envsnap/_version.py"]
    import envsnap

    assert envsnap.__version__ == __version__
    result = cli("--version")
    assert result.code == 0 and result.out.strip() == f"envsnap {__version__}"
    # The lockfile reference shows the generator this version writes.
    assert f"`envsnap {__version__}`" in (REPO / "docs" / "lockfile.md").read_text()


def test_templates_are_the_packages_resources() -> None:
    """One loader for a checkout and an installed wheel: envsnap/templates is the committed link to the top-level
    templates/ folder, read through importlib.resources (a parents[] lookup of the source tree before)."""
    link = REPO / "envsnap" / "templates"
    assert link.is_symlink() and os.readlink(link) == "../templates"
    shipped = files("envsnap").joinpath("templates")
    names = sorted(str(p.relative_to(REPO / "templates")) for p in (REPO / "templates").rglob("*.j2"))
    assert names and all(
        shipped.joinpath(*n.split("/")).read_text() == (REPO / "templates" / n).read_text() for n in names
    )
    source = Path(_templates.__file__).read_text()
    assert "parents[" not in source and "__file__" not in source and "FileSystemLoader" not in source
    assert _templates.render("docker/wheels-README.md.j2", kind="tool", tag="t:1", label_filters=("label=a=b",)).strip()
    for bad in ("../pyproject.toml", "docker/../../README.md", "/etc/passwd", "docker//Dockerfile.j2", "nope.j2"):
        with pytest.raises(jinja2.TemplateNotFound):
            _templates.environment().get_template(bad)


def test_the_project_files_a_contributor_looks_for_are_there() -> None:
    license_text = (REPO / "LICENSE").read_text()
    assert pyproject_license() == "MIT" and license_text.startswith("MIT License")
    assert "Copyright (c)" in license_text and "the envsnap authors" in license_text
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and "keepachangelog" in changelog
    assert (REPO / "envsnap" / "py.typed").is_file()
    hooks = (REPO / ".pre-commit-config.yaml").read_text()
    for hook in ("id: ruff", "id: ruff-format", "id: mypy"):
        assert hook in hooks, hook
    assert "://" not in hooks  # local hooks: nothing fetched


def pyproject_license() -> str:
    return str(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"])


@pytest.mark.integration
def test_the_installed_wheel_has_one_version_its_types_and_its_templates(
    envsnap_wheel: Path, built_wheel_venv: Path, tmp_path: Path
) -> None:
    """``pip wheel .`` then a non-editable install in a fresh venv: the wheel's metadata version is what
    ``envsnap --version`` prints, py.typed ships, and the installed copy renders its templates away from the
    source tree."""
    metadata = _wheel_metadata(envsnap_wheel)
    assert metadata["Version"] == __version__
    with zipfile.ZipFile(envsnap_wheel) as archive:
        names = set(archive.namelist())
    assert "envsnap/py.typed" in names
    for template in (REPO / "templates").rglob("*.j2"):
        assert f"envsnap/templates/{template.relative_to(REPO / 'templates')}" in names
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(built_wheel_venv / "bin" / "envsnap"), "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == f"envsnap {metadata['Version']}", done
    probe = (
        "import envsnap, pathlib; from envsnap import _templates; "
        "assert 'site-packages' in envsnap.__file__, envsnap.__file__; "
        "assert not pathlib.Path(envsnap.__file__).parent.joinpath('templates').is_symlink(); "
        "print(_templates.render('docker/wheels-README.md.j2', kind='tool', tag='t:1', label_filters=('label=a=b',)))"
    )
    done = subprocess.run(
        [str(built_wheel_venv / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip(), done.stderr[-2000:]
