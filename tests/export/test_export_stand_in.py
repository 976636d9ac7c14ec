"""An export of a lock that pins a Debian-installed distribution to the index's file of its name and version, chosen
by its name alone (a lock an envsnap before the ``identity`` field wrote, or one written by hand): the formats that
install from the lock's files named that file for pip or docker to install, unchecked, which ``pin``, ``bundle`` and
``rebuild`` refuse. They refuse it too, in one line naming the package and what to do, and write nothing."""

from __future__ import annotations

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
