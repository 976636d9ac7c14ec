"""``bundle --with-base-image`` and ``--with-system-packages`` of a conda lock: the docker target refuses such a
lock and the conda target uses no base image and installs no system packages, so neither is fetched or saved, and
the bundle says so in one line each."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from condafixtures import Entry, Pkg, write_package


def _conda_lock(tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Path:
    """``env.lock`` in ``tmp_path`` (the working folder): one conda package, imported from an explicit file; no
    Docker engine can be reached. Returns the package's archive."""
    archive = write_package(Pkg("tool", "1.0", "h0_0", "linux-64", [Entry("share/tool.txt", b"tool\n")]), tmp_path)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    (tmp_path / "explicit.txt").write_text(f"# platform: linux-64\n@EXPLICIT\n{archive.as_uri()}#{md5}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENVSNAP_ALLOW_URL", "file:///*")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # any use of an engine fails
    assert cli("import", "explicit.txt", "-o", "env.lock").code == 0
    return archive


def test_a_conda_lock_bundled_with_base_image_saves_none_and_says_so(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It looked for the docker target's base image in the engine and saved it (gigabytes) into images/, with
    envsnap's wheels for it in tool/: a bundle nothing rebuilds from, or exit 4 where no engine runs."""
    archive = _conda_lock(tmp_path, cli, monkeypatch)
    result = cli("bundle", "env.lock", "-o", "b", "--with-base-image")
    assert result.code == 0, result
    lines = result.err.splitlines()  # progress, as every line of bundle
    assert (
        "  base image: not saved: a conda lock is rebuilt by the conda target, which uses no base image (the docker "
        "target rebuilds pip environments only)"
    ) in lines
    assert lines[-1].startswith("wrote b: 1 conda archive in "), lines[-1]
    assert not (tmp_path / "b" / "images").exists() and not (tmp_path / "b" / "tool").exists()
    assert (tmp_path / "b" / "conda" / archive.name).is_file()


def test_a_conda_lock_bundled_with_system_packages_carries_none_and_says_so(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It fetched every conda archive, then stopped with exit 4 ("the lock holds a conda environment ...; the docker
    target rebuilds pip environments only") and removed the bundle."""
    archive = _conda_lock(tmp_path, cli, monkeypatch)
    result = cli("bundle", "env.lock", "-o", "b", "--with-system-packages")
    assert result.code == 0, result
    lines = result.err.splitlines()
    assert (
        "  system packages: not carried: a conda lock is rebuilt by the conda target, which installs no system "
        "packages (the docker target rebuilds pip environments only)"
    ) in lines
    assert lines[-1].startswith("wrote b: 1 conda archive in "), lines[-1]
    assert not (tmp_path / "b" / "debs").exists() and not (tmp_path / "b" / "system-base.json").exists()
    assert (tmp_path / "b" / "conda" / archive.name).is_file()


def test_the_docker_target_counts_a_conda_locks_one_package_in_the_singular(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rebuild --target docker` and `export -f dockerfile` of a one-package conda lock said "(1 conda packages)"."""
    _conda_lock(tmp_path, cli, monkeypatch)
    refusal = (
        "the lock holds a conda environment (1 conda package); the docker target rebuilds pip environments only: "
        "use --target conda"
    )
    result = cli("rebuild", "env.lock", "--target", "docker", "--dry-run", "--force")
    assert result.code == 2, result  # the wrong target for the lock: bad input, as export says it
    assert result.err == f"envsnap: error: env.lock: {refusal}\n"
    result = cli("export", "env.lock", "-f", "dockerfile", "-o", "Dockerfile")
    assert result.code == 2, result
    reason = refusal.removesuffix(": use --target conda")  # export has no --target: it names what it has instead
    assert result.err.strip().splitlines()[-1] == (
        f"envsnap: error: cannot export a Dockerfile: {reason}: export it with -f environment-yml, -f conda-explicit "
        "or -f conda-lock, or rebuild it with `envsnap rebuild env.lock --target conda`"
    )


def test_a_conda_lock_bundled_into_an_archive_with_system_packages_carries_none_and_says_so(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive form takes the options the folder form takes: it was refused, "--with-system-packages needs a
    directory bundle (-o DIR), not an archive", exit 2, where the folder of the same lock was made."""
    import tarfile

    archive = _conda_lock(tmp_path, cli, monkeypatch)
    result = cli("bundle", "env.lock", "-o", "b.tar.gz", "--with-system-packages")
    assert result.code == 0, result
    lines = result.err.splitlines()
    assert (
        "  system packages: not carried: a conda lock is rebuilt by the conda target, which installs no system "
        "packages (the docker target rebuilds pip environments only)"
    ) in lines
    assert lines[-1].startswith("wrote b.tar.gz: 1 conda archive in "), lines[-1]
    with tarfile.open(tmp_path / "b.tar.gz") as tar:
        names = tar.getnames()
    assert f"b/conda/{archive.name}" in names
    assert not [n for n in names if n.startswith(("b/debs", "b/system-base.json"))], names


def test_a_conda_lock_bundled_into_an_archive_with_base_image_saves_none_and_says_so(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive form takes --with-base-image as the folder form does: it was refused, "--with-base-image needs a
    directory bundle (-o DIR), not an archive", exit 2. A conda lock's archive saves no image, says so, and asks
    no engine (none can be reached here)."""
    import tarfile

    archive = _conda_lock(tmp_path, cli, monkeypatch)
    result = cli("bundle", "env.lock", "-o", "b.tar.gz", "--with-base-image", "--with-system-packages")
    assert result.code == 0, result
    lines = result.err.splitlines()
    assert (
        "  base image: not saved: a conda lock is rebuilt by the conda target, which uses no base image (the docker "
        "target rebuilds pip environments only)"
    ) in lines
    assert lines[-1].startswith("wrote b.tar.gz: 1 conda archive in "), lines[-1]
    with tarfile.open(tmp_path / "b.tar.gz") as tar:
        names = tar.getnames()
    assert f"b/conda/{archive.name}" in names
    assert not [n for n in names if n.startswith(("b/images", "b/tool", "b/debs"))], names
