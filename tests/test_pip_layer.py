"""One rule splits the pip layer from the conda layer (``PythonPackage.conda_layer``): pin, bundle, the conda
rebuild, the exports, verify and the compat rules all leave a distribution that conda installed to the conda
layer. Before, bundle, pin and the conda rebuild asked "conda-meta lists it, or INSTALLER says conda", while
the exports' pinned check, verify and the wheel, glibc and disk rules asked only the first (issue 13)."""

from __future__ import annotations

from pathlib import Path

from envsnap.artifacts.pin import pin
from envsnap.compat.rules import glibc, wheels
from envsnap.export import _conda as export_conda
from envsnap.export.interface import unpinned
from envsnap.model import Conda, Platform, PythonEnv, PythonPackage, Snapshot
from envsnap.rebuild import conda as conda_rebuild

# conda installed it (its INSTALLER says so) though no conda-meta record lists its files: a conda-forge
# package whose record the capture did not see, or a lock made from such an environment.
BY_CONDA = PythonPackage(
    name="numpy", version="2.0.0", installer="conda", wheel_tags=("cp311-cp311-manylinux_2_99_x86_64",)
)
BY_PIP = PythonPackage(name="six", version="1.16.0", installer="pip")


def _lock() -> Snapshot:
    return Snapshot(
        platform=Platform(system="Linux", machine="x86_64"),
        python=PythonEnv(version="3.11.7", packages=(BY_CONDA, BY_PIP)),
        conda=Conda(subdir="linux-64"),
    )


def test_every_former_copy_leaves_a_conda_installed_package_to_conda(tmp_path: Path) -> None:
    lock = _lock()
    assert BY_CONDA.conda_layer and not BY_PIP.conda_layer
    assert [p.name for p in lock.pip_layer()] == ["six"]
    assert [p.name for p in export_conda.pip_packages(lock)] == ["six"]
    assert conda_rebuild.pip_packages(lock) == ["six"]
    # pin skips it ("pinned by the conda layer"); an export used to call the same package unpinned
    outcome = {o.name: o for o in pin(lock, cache_dir=tmp_path, only=lambda p: p.name == "numpy").outcomes}
    assert outcome["numpy"].status == "skipped"
    assert [p.name for p in unpinned(lock)] == ["six"]
    # its wheel tag asks for glibc 2.99: conda's own build, not a wheel the rebuild installs
    assert glibc.floors(lock) == []


def test_the_wheel_rule_does_not_check_a_conda_installed_package() -> None:
    from envsnap.compat.target import Target

    lock = _lock()
    host = Snapshot(
        platform=Platform(system="Linux", machine="x86_64", libc="glibc", libc_version="2.17"),
        python=PythonEnv(version="3.11.7", implementation="cpython"),
    )
    findings = wheels.check(lock, host, Target())
    assert "numpy" not in repr(findings), findings
