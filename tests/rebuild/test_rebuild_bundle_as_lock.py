"""A bundle given as LOCK to ``rebuild`` (``envsnap rebuild supp.tar.gz``), as ``verify``, ``check`` and ``export``
read one: the lock it holds, and the bundle itself as ``--bundle``, for every target."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from offline_wheels import locked_bundle, wheel
from testutil import CliResult, sample_lock, uv_bin

from envsnap import lockfile
from envsnap.artifacts.bundle import Bundle, write_archive
from envsnap.cli import EXIT_BAD_INPUT
from envsnap.model import Artifact, PythonPackage


@pytest.fixture(scope="module")
def supp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle folder ``supp`` of a venv holding one wheel, and its archive ``supp.tar.gz`` beside it."""
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    root = tmp_path_factory.mktemp("supp")
    _lock, bundle, _python = locked_bundle(uv, root, {"esnptone": wheel(root / "wheels", "esnptone", "1.0")})
    folder = bundle.rename(root / "supp")
    write_archive(folder, root / "supp.tar.gz")
    return folder


def test_a_venv_is_rebuilt_from_a_bundle_given_as_the_lock(
    supp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """It was refused, exit 2 ("an envsnap bundle, not a lock; give the lock it holds, supp/envsnap.lock once
    unpacked (tar -xf supp.tar.gz), and the bundle as --bundle supp.tar.gz"), with ``--bundle supp.tar.gz`` given
    too, while ``verify supp.tar.gz`` reads the lock it holds."""
    monkeypatch.chdir(supp.parent)
    for given, extra in (("supp.tar.gz", ()), ("supp", ()), ("supp.tar.gz", ("--bundle", "supp.tar.gz"))):
        dest = tmp_path / f"env-{len(list(tmp_path.iterdir()))}"
        result = cli("rebuild", given, *extra, "--offline", "--dest", dest)
        assert result.code == 0, result.err
        assert list(dest.glob("lib/python*/site-packages/esnptone/__init__.py")), result.out
        assert cli("verify", given, "--python", dest / "bin" / "python").code == 0


@pytest.mark.parametrize("given", ["supp.tar.gz", "supp"])
def test_every_target_reads_the_lock_a_bundle_holds(
    given: str, supp: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """The docker target plans from it (its --bundle too), and the conda target judges the lock it holds (a pip
    environment's, which it refuses naming the bundle), as verify reads it."""
    monkeypatch.chdir(supp.parent)
    named = given if given.endswith(".tar.gz") else f"{given}/envsnap.lock"
    for extra in ((), ("--bundle", given)):
        result = cli("rebuild", given, *extra, "--target", "docker", "--dry-run", "--force")
        assert result.code == 0, result.err
        assert f"  lock: {named}\n" in result.out and "wheels/ (the bundle's wheels, hash-checked)" in result.out
    result = cli("rebuild", given, "--target", "conda", "--offline", "--dest", supp.parent / "conda-env")
    assert result.code == EXIT_BAD_INPUT
    assert result.err.startswith(f"envsnap: error: {named}: the lock records no conda packages"), result.err
    assert not (supp.parent / "conda-env").exists()


def test_a_bundle_as_the_lock_and_another_bundle_is_one_line(
    supp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    monkeypatch.chdir(supp.parent)
    other = tmp_path / "other"
    other.mkdir()
    result = cli("rebuild", "supp.tar.gz", "--bundle", other, "--offline", "--dest", tmp_path / "env")
    assert (result.code, result.out) == (EXIT_BAD_INPUT, "")
    assert result.err == (
        f"envsnap: error: --bundle {other}: supp.tar.gz is a bundle itself, whose lock and files the rebuild "
        "takes: give one or the other\n"
    )
    assert not (tmp_path / "env").exists()


def test_a_package_the_archive_has_no_wheel_of_is_named_in_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """A bundle whose lock knows a package by its sha256 alone (made by hand, or by another tool): the docker target
    said ``cannot rebuild: /tmp/.envsnap-rebuild-.../bundle: numpy 1.26.0 has no wheel in this bundle``, the
    temporary folder the archive was unpacked to, gone when the message is read. It names the archive."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    folder = tmp_path / "my supp"
    folder.mkdir()
    pkg = PythonPackage("numpy", "1.26.0", artifact=Artifact("", "", sha256="ab" * 32))
    lockfile.dump(sample_lock(pkg, seal=True), folder / "envsnap.lock")
    Bundle(folder).write_sums()
    write_archive(folder, tmp_path / "my supp.tar.gz")
    result = cli("rebuild", "my supp.tar.gz", "--target", "docker", "--dry-run", "--force", "--dest", tmp_path / "c")
    assert result.code == 4, result
    assert result.err.startswith(
        "envsnap: error: cannot rebuild: my supp.tar.gz: numpy 1.26.0 has no wheel in this bundle;"
    ), result.err
    assert "envsnap-rebuild" not in result.err, result.err


def test_the_venv_target_says_which_package_the_bundle_has_no_wheel_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """The same bundle, rebuilt as a venv: its plan listed the package as ``wheels/`` (a file name of nothing), and
    the rebuild ended with ``not a valid file name: ''``, naming neither the package nor the bundle."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "my supp"
    folder.mkdir()
    pkg = PythonPackage("numpy", "1.26.0", artifact=Artifact("", "", sha256="ab" * 32))
    lockfile.dump(sample_lock(pkg, seal=True), folder / "envsnap.lock")
    Bundle(folder).write_sums()
    write_archive(folder, tmp_path / "my supp.tar.gz")
    for given, extra in [(g, e) for g in ("my supp.tar.gz", "my supp") for e in (("--dry-run",), ("--offline",))]:
        result = cli("rebuild", given, "--target", "venv", *extra, "--force", "--dest", tmp_path / "env")
        assert result.code == 4, result
        assert result.err.rstrip().endswith("numpy 1.26.0 has no wheel in the bundle"), result.err
        assert not (tmp_path / "env").exists()
