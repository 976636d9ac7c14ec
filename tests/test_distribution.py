"""envsnap's name on the package index: ours, not the unrelated project called ``envsnap`` there."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from testutil import uv_off_path

from envsnap._defaults import DISTRIBUTION, install_hint
from envsnap._toml import tomllib

REPO = Path(__file__).resolve().parents[1]
# An install command that names the bare distribution `envsnap` (with an extra, a version, or alone).
_BARE = re.compile(
    r"""pip install[^\n`&;|]*?(?<![\w./-])['"]?envsnap(?:\[|==|['"`]|\s|$)|(?<![\w./-])envsnap\[\w""", re.M
)


def _texts() -> list[Path]:
    files = [*(REPO / "envsnap").rglob("*.py"), *(REPO / "docs").rglob("*.md"), REPO / "README.md"]
    files += [*(REPO / "templates").rglob("*.j2"), *(REPO / "bench").rglob("*"), *(REPO / ".ci").rglob("*")]
    # Only what we write: a developer's tree also holds byte-compiled files beside bench/ and .ci/.
    return sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts)


def test_our_distribution_name_is_not_the_taken_one() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION == "envsnap-lock"
    assert project["scripts"] == {"envsnap": "envsnap.cli:main"}  # the command keeps its name
    assert install_hint("sbom") == f"{shlex.quote(sys.executable)} -m pip install 'envsnap-lock[sbom]'"


def test_the_install_command_names_the_interpreter_envsnap_runs_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The remedy said ``pip install 'envsnap-lock[sbom]'``: run from an unactivated venv or installed with pipx,
    envsnap was installed where the PATH's pip installs, never where it runs. It names this interpreter, quoted for
    the shell, and uv's installer where that interpreter has no pip (``uv tool install``, ``uv venv``)."""
    import importlib.util

    monkeypatch.setattr(sys, "executable", "/home/me/my env/bin/python")
    assert install_hint("sbom") == "'/home/me/my env/bin/python' -m pip install 'envsnap-lock[sbom]'"
    assert install_hint() == "'/home/me/my env/bin/python' -m pip install 'envsnap-lock'"
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pip" else real(name, *a))
    assert install_hint("conda-lock") == (
        "uv pip install --python '/home/me/my env/bin/python' 'envsnap-lock[conda-lock]'"
    )
    # envsnap's uv off PATH (pipx's venv, one not activated): named by its path, quoted, so the command runs.
    own = uv_off_path(monkeypatch, tmp_path / "my env")
    assert install_hint("sbom") == f"{shlex.quote(str(own))} pip install --python '/home/me/my env/bin/python' " + (
        "'envsnap-lock[sbom]'"
    )


def test_no_remedy_or_doc_installs_the_bare_envsnap_distribution() -> None:
    offenders = [f"{p.relative_to(REPO)}: {m.group(0)!r}" for p in _texts() for m in _BARE.finditer(p.read_text())]
    assert not offenders, offenders
    # The pattern itself catches what the old remedies said.
    old_remedies = ["pip install 'envsnap[docker]'", "pip install envsnap", "pip install envsnap==0.1", "`envsnap[x]`"]
    for old in old_remedies:
        assert _BARE.search(old), old
    assert not _BARE.search("pip install 'envsnap-lock[sbom]'") and not _BARE.search("pip install . && envsnap x")


def test_extras_that_stay_are_named_with_our_distribution() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = set(project["optional-dependencies"])
    for path in _texts():
        for extra in re.findall(rf"{DISTRIBUTION}\[([\w,-]+)\]", path.read_text()):
            assert set(extra.split(",")) <= extras, (path, extra)
    # The main jobs (docker, conda, fast venv rebuilds) need no extra.
    deps = " ".join(project["dependencies"])
    for needed in ("docker", "py-rattler", "uv"):
        assert re.search(rf"(^|\s|\"){needed}[><=]", deps) or f"{needed}>=" in deps, needed


def test_each_module_an_extra_brings_is_named_with_that_extra() -> None:
    """A plain install does not bring PyYAML: "yaml, which envsnap needs, is not installed (pip install
    'envsnap-lock' installs it)" sent the user round in a circle. The table names the extra whose requirements
    hold the module's distribution, and no base dependency brings it."""
    import importlib.metadata

    from envsnap._defaults import EXTRA_OF_MODULE

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    base = " ".join(project["dependencies"]).lower()
    distributions = importlib.metadata.packages_distributions()
    for module, extra in EXTRA_OF_MODULE.items():
        names = {d.lower() for d in distributions.get(module, ())}
        assert names, f"{module}: not installed in the test environment"
        wanted = " ".join(extras[extra]).lower()
        assert any(n in wanted or n.replace("-", ".") in wanted for n in names) or extra == "conda-lock", (
            module,
            names,
        )
        assert not any(re.search(rf"(^|[\s\"]){re.escape(n)}[\s\[><=]", base) for n in names), (module, names)
    # conda-lock brings PyYAML itself (its own requirement): the extra that installs it.
    assert "pyyaml" in {
        r.split(">")[0].split("=")[0].strip().lower() for r in importlib.metadata.requires("conda-lock") or ()
    }


@pytest.mark.parametrize("script", [".ci/services.sh", ".ci/run"])
def test_ci_scripts_name_no_package_host(script: str) -> None:
    assert "://" not in (REPO / script).read_text()
