"""A rebuild from a bundle an envsnap before the ``identity`` field made, whose lock pins a distribution a Debian
package installed to the index's file of its name and version (a stand-in chosen by its name alone): ``pin`` and
``bundle`` look such a package up again and refuse it (nothing shows the file is the same project), but a rebuild
from the bundle installed its wheel unchecked. It is refused the same way, in one line naming what to run."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import OLD_STAND_IN_LOCK, CliResult, sample_lock

from envsnap import lockfile
from envsnap.artifacts.bundle import Bundle
from envsnap.model import Artifact, PythonPackage

WHEEL = "PyYAML-6.0-py3-none-any.whl"


def _bundle(root: Path, identity: tuple[str, ...] = ()) -> Path:
    (root / "wheels").mkdir(parents=True)
    wheel = root / "wheels" / WHEEL
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("yaml/__init__.py", "")
    art = Artifact(
        filename=WHEEL, url=f"https://files.example/{WHEEL}", sha256=hashlib.sha256(wheel.read_bytes()).hexdigest()
    )
    pkg = PythonPackage(
        "pyyaml",
        "6.0",
        record_digest="sha256:" + "1" * 64,
        system_package="python3-yaml",
        artifact=art,
        identity=identity,
    )
    lockfile.dump(sample_lock(pkg, seal=True), root / "envsnap.lock")
    Bundle(root).write_sums()
    return root


@pytest.mark.parametrize("target", ["venv", "docker"])
def test_a_stand_in_the_bundle_chose_by_its_name_alone_is_not_installed(
    target: str, tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    folder = _bundle(tmp_path / "old bundle")
    args = ["rebuild", folder / "envsnap.lock", "--bundle", folder, "--target", target, "--dest", tmp_path / "new"]
    result = cli(*args, "--dry-run", "--force")
    assert result.code == 4, result
    assert result.err.count("\n") == 1, result.err
    assert "pyyaml 6.0: installed by the Debian package python3-yaml; the lock records no identity of it" in result.err
    assert "envsnap capture" in result.err, result.err
    assert not (tmp_path / "new").exists()


def test_a_stand_in_whose_identity_the_lock_records_is_planned_as_before(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    folder = _bundle(tmp_path / "b", identity=("Summary: YAML parser and emitter for Python",))
    args = ["rebuild", folder / "envsnap.lock", "--bundle", folder, "--target", "venv", "--dest", tmp_path / "new"]
    result = cli(*args, "--dry-run", "--force")
    assert result.code == 0, result


def test_the_bundle_given_as_the_lock_is_refused_too(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    folder = _bundle(tmp_path / "b")
    result = cli("rebuild", folder, "--target", "venv", "--dest", tmp_path / "new", "--dry-run", "--force")
    assert result.code == 4 and "the lock records no identity of it" in result.err, result
    assert result.err.rstrip().endswith(f"(`envsnap bundle NEW.lock -o {folder}`), which pins the file again"), result


@pytest.mark.parametrize("target", ["venv", "docker"])
def test_a_stand_in_chosen_by_its_name_alone_is_not_installed_from_the_index_either(
    target: str, tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without --bundle the venv target downloads the lock's files, and the docker target asks for a bundle of them:
    # the plan named the index's file as what is installed, and the venv's bundle refused it only after the check.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    lock = tmp_path / "old env.lock"
    lock.write_text(OLD_STAND_IN_LOCK)
    result = cli("rebuild", lock, "--target", target, "--dest", tmp_path / "new", "--dry-run", "--force")
    assert result.code == 4, result
    assert result.err.count("\n") == 1, result.err
    assert "pyyaml 6.0: installed by the Debian package python3-yaml; the lock records no identity of it" in result.err
    assert "files.example" not in result.out + result.err, result
    assert "`envsnap capture -o NEW.lock` records its identity" in result.err, result
    assert not (tmp_path / "new").exists()
