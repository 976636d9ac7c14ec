"""The ``envsnap pin`` a refusal or a remedy names is of the lock the user gave, one shell word (``envsnap pin 'my
dir/env.lock'``): the export refusals, the wheels rule and ``bundle --with-system-packages`` said ``envsnap pin
LOCK``, a placeholder to fill in, where the path was known. A bundle's own lock is pinned beside the bundle."""

from __future__ import annotations

import dataclasses
import json
import shlex
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import SAMPLE_META, CliResult, sample_lock

from envsnap import lockfile
from envsnap.artifacts.bundle import Bundle
from envsnap.cli import EXIT_BAD_INPUT
from envsnap.model import PythonPackage, Snapshot, Source, System, SystemPackage

SIX = PythonPackage(name="six", version="1.16.0")  # from an index, with no file pinned
ARCHIVE = dataclasses.replace(SIX, source=Source(kind="archive", url="https://h.example/six-1.16.0.tar.gz"))


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my dir").mkdir()
    return tmp_path / "my dir"


@pytest.mark.parametrize(
    ("fmt", "pkg", "said"),
    [
        ("pylock", SIX, "; run `envsnap pin 'my dir/env.lock'` first or pass --pin"),
        ("requirements", SIX, "; run `envsnap pin 'my dir/env.lock'` first or pass --pin"),
        ("dockerfile", SIX, "; run `envsnap pin 'my dir/env.lock'` (or `envsnap bundle`) first"),
        ("pylock", ARCHIVE, "six: archive install without a hash; run `envsnap pin 'my dir/env.lock'` first"),
        ("requirements", ARCHIVE, "six: archive install without a hash; run `envsnap pin 'my dir/env.lock'`"),
    ],
)
def test_an_export_refusal_names_the_pin_of_the_lock_given(
    fmt: str, pkg: PythonPackage, said: str, folder: Path, cli: Callable[..., CliResult]
) -> None:
    lockfile.dump(sample_lock(pkg, seal=True), folder / "env.lock")
    result = cli("export", "my dir/env.lock", "--format", fmt, "-o", "out", "--no-pin")
    assert result.code == EXIT_BAD_INPUT, result
    assert result.err.count("\n") == 1 and result.err.rstrip().endswith(said), result.err


def test_an_export_of_a_bundles_lock_names_the_pin_beside_the_bundle(
    folder: Path, cli: Callable[..., CliResult]
) -> None:
    lockfile.dump(sample_lock(SIX, seal=True), folder / "envsnap.lock")
    Bundle(folder).write_sums()
    result = cli("export", "my dir/envsnap.lock", "--format", "pylock", "-o", "out", "--no-pin")
    assert result.code == EXIT_BAD_INPUT, result
    assert "run `envsnap pin 'my dir/envsnap.lock' -o 'my dir.pinned.lock'` first" in result.err, result.err


def test_the_wheels_rule_names_the_pin_of_the_lock_checked(folder: Path, cli: Callable[..., CliResult]) -> None:
    """An imported package known by name and version only: whether a wheel fits is for ``pin`` to find out."""
    imported = dataclasses.replace(SAMPLE_META, origin="requirements")
    lockfile.dump(lockfile.seal(sample_lock(SIX, envsnap=imported)), folder / "env.lock")
    result = cli("check", "my dir/env.lock", "--json")
    [finding] = [f for f in json.loads(result.out)["findings"] if f["component"] == "wheel six 1.16.0"]
    assert finding["remedy"].startswith("run `envsnap pin 'my dir/env.lock'` on this host:"), finding


def test_bundle_with_system_packages_names_the_pin_of_the_lock_bundled(
    folder: Path, tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    system = System(manager="dpkg", packages=(SystemPackage("dpkg", "libgomp1", "12.2.0-14", "amd64", ("six",)),))
    lockfile.dump(sample_lock(seal=True, system=system), folder / "env.lock")
    result = cli("bundle", "my dir/env.lock", "-o", "b", "--with-system-packages", "--base-image", "debian:bookworm")
    assert result.code == 4, result
    assert result.err.rstrip().endswith(
        "run `envsnap pin 'my dir/env.lock' --base-image debian:bookworm` where the snapshot archive is reachable first"
    ), result.err
    assert not (tmp_path / "b").exists()


def _archive(folder: Path, lock: Snapshot) -> Path:
    """A bundle archive of ``lock``, as ``envsnap bundle -o 'my dir.tar.gz'`` writes one: its folder inside."""
    lockfile.dump(lock, folder / "envsnap.lock")
    Bundle(folder).write_sums()
    archive = folder.parent / f"{folder.name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    shutil.rmtree(folder)
    return archive


def _pasteable(command: str, archive: Path) -> list[str]:
    """``command`` as bash reads it (``bash -n``: no syntax error) and as its words: it names the archive given."""
    subprocess.run(["bash", "-n", "-c", command], check=True)
    words = shlex.split(command)
    assert "LOCK" not in words and "BUNDLE" not in words, command
    assert archive.name in words, command
    return words


def _remedy(text: str) -> str:
    """The command a ``run `...``` remedy names."""
    return text.split("run `", 1)[1].split("`", 1)[0]


@pytest.mark.parametrize("fmt", ["pylock", "requirements", "dockerfile"])
def test_an_export_refusal_of_a_bundle_archive_names_a_pasteable_pin(
    fmt: str, folder: Path, cli: Callable[..., CliResult]
) -> None:
    # It said `envsnap pin LOCK`: the archive's lock has no path until it is unpacked.
    archive = _archive(folder, sample_lock(SIX, seal=True))
    result = cli("export", archive.name, "--format", fmt, "-o", "out", "--no-pin")
    assert result.code == EXIT_BAD_INPUT, result
    words = _pasteable(_remedy(result.err), archive)
    assert words[:5] == ["tar", "-xf", "my dir.tar.gz", "-C", "."], words
    assert words[5:] == ["&&", "envsnap", "pin", "my dir/envsnap.lock", "-o", "my dir.pinned.lock"], words


def test_the_wheels_rule_names_a_pasteable_pin_for_a_bundle_archive(
    folder: Path, cli: Callable[..., CliResult]
) -> None:
    imported = dataclasses.replace(SAMPLE_META, origin="requirements")
    archive = _archive(folder, lockfile.seal(sample_lock(SIX, envsnap=imported)))
    result = cli("check", archive.name, "--json")
    [finding] = [f for f in json.loads(result.out)["findings"] if f["component"] == "wheel six 1.16.0"]
    _pasteable(_remedy(finding["remedy"]), archive)
