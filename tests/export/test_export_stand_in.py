"""An export of a lock that pins a Debian-installed distribution to the index's file of its name and version, chosen
by its name alone (a lock an envsnap before the ``identity`` field wrote, or one written by hand): the formats that
install from the lock's files named that file for pip or docker to install, unchecked, which ``pin``, ``bundle`` and
``rebuild`` refuse. They refuse it too, in one line naming the package and what to do, and write nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import OLD_STAND_IN_LOCK, CliResult

from envsnap import lockfile
from envsnap.errors import ExportError
from envsnap.export import REGISTRY


@pytest.mark.parametrize("fmt", ["requirements", "pylock", "dockerfile"])
def test_a_stand_in_chosen_by_its_name_alone_is_not_exported(
    fmt: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    lock = tmp_path / "old env.lock"
    lock.write_text(OLD_STAND_IN_LOCK)
    out = tmp_path / "out"
    result = cli("export", lock, "--format", fmt, "-o", out)
    assert result.code == 2, result
    assert result.err.count("\n") == 1, result.err
    assert f"{fmt}: pyyaml 6.0: installed by the Debian package python3-yaml; the lock records no identity of it" in (
        result.err
    )
    assert "`envsnap capture -o NEW.lock` records its identity" in result.err, result
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["requirements", "pylock", "dockerfile"])
def test_the_library_refuses_it_as_well(fmt: str, tmp_path: Path) -> None:
    (tmp_path / "env.lock").write_text(OLD_STAND_IN_LOCK)
    snapshot = lockfile.load(tmp_path / "env.lock")
    with pytest.raises(ExportError, match="the lock records no identity of it"):
        REGISTRY[fmt].render(snapshot)
    with pytest.raises(ExportError, match="the lock records no identity of it"):
        REGISTRY[fmt].files(snapshot)


def test_a_format_that_installs_nothing_writes_it(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    # A format that installs nothing describes the lock as it is.
    lock = tmp_path / "env.lock"
    lock.write_text(OLD_STAND_IN_LOCK)
    result = cli("export", lock, "--format", "json", "-o", tmp_path / "env.json")
    assert result.code == 0, result


def _conda_lock_with_a_debian_package(tmp_path: Path, identity: tuple[str, ...]) -> Path:
    """A conda environment's lock whose pip layer holds a distribution a Debian package installed, pinned to no file
    (``identity``: the metadata the lock records of it), and a file index holding another build of its release, the
    index's wheel of pyyaml 6.0, whose metadata says it is another project's."""
    import dataclasses
    import hashlib
    import zipfile

    from export_samples import rich_snapshot

    from envsnap.model import PythonPackage

    snapshot = rich_snapshot()
    debian = PythonPackage(
        name="pyyaml",
        version="6.0",
        system_package="python3-yaml",
        record_digest="sha256:" + "1" * 64,
        identity=identity,
    )
    python = dataclasses.replace(snapshot.python, packages=(*snapshot.python.packages, debian))
    lock = tmp_path / "env.lock"
    lockfile.dump(dataclasses.replace(snapshot, python=python), lock)
    page = tmp_path / "index" / "pyyaml"
    page.mkdir(parents=True)
    whl = page / "pyyaml-6.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as archive:
        meta = "Metadata-Version: 2.1\nName: pyyaml\nVersion: 6.0\nSummary: Another project's yaml\n\n"
        archive.writestr("pyyaml-6.0.dist-info/METADATA", meta)
        archive.writestr("pyyaml-6.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr("pyyaml-6.0.dist-info/RECORD", "")
    sha = hashlib.sha256(whl.read_bytes()).hexdigest()
    (page / "index.html").write_text(f'<a href="{whl.name}#sha256={sha}">{whl.name}</a>')
    return lock


@pytest.mark.parametrize("fmt", ["environment-yml", "conda-explicit"])
@pytest.mark.parametrize(
    ("identity", "why"),
    [
        ((), "the lock records no identity of it"),
        (("Summary: The Debian yaml",), "the index's pyyaml-6.0-py3-none-any.whl is not known to be the same project"),
    ],
)
def test_a_stand_in_pinning_refused_is_not_written_by_name(
    fmt: str,
    identity: tuple[str, ...],
    why: str,
    tmp_path: Path,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """environment-yml wrote a Debian-installed distribution whose pinning was refused (no index file is shown to be
    the same project) as ``pyyaml==6.0``, and every pip line without its hash: pip installed whatever the index gives
    under that name. conda-explicit named it in a comment saying ``envsnap pin`` records its file, which pin refuses.
    Both refuse it, as requirements and conda-lock do: exit 2, one line with pinning's reason, nothing written."""
    lock = _conda_lock_with_a_debian_package(tmp_path, identity)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", (tmp_path / "index").as_uri())
    out = tmp_path / "out"
    result = cli("export", lock, "--format", fmt, "-o", out, "--allow-url", (tmp_path / "index").as_uri() + "/*")
    assert (result.code, result.out) == (2, ""), result
    assert result.err.count("\n") == 1, result.err
    assert result.err.startswith(f"envsnap: error: {fmt}: pinning left 1 package(s) without a file: pyyaml 6.0: "), (
        result.err
    )
    assert f"installed by the Debian package python3-yaml; {why}" in result.err, result.err
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["environment-yml", "conda-explicit"])
def test_the_library_refuses_a_stand_in_pinned_to_no_file(fmt: str, tmp_path: Path) -> None:
    snapshot = lockfile.load(_conda_lock_with_a_debian_package(tmp_path, ()))
    with pytest.raises(ExportError, match=rf"^{fmt}: pyyaml 6\.0: installed by the Debian package python3-yaml"):
        REGISTRY[fmt].render(snapshot)
