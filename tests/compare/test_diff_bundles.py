"""`envsnap diff A B` of two paper supplements (docs/cli.md, "Reading a lock"): either side may be a bundle, a
folder or an archive as `envsnap bundle` writes it, whose lock is read as `check`, `verify`, `show` and `export`
read it, only after the bundle passed every check (SHA256SUMS in full, plain files only, an archive unpacked
within its limits). A damaged bundle is the same line and exit code `check` gives it."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult, sample_lock

from envsnap import lockfile
from envsnap.cli import EXIT_BAD_INPUT
from envsnap.model import Artifact, PythonPackage


def _lock_of_six(tmp_path: Path, version: str, out: str) -> Path:
    """A sealed lock of ``six`` pinned to a wheel in a local folder, which ``envsnap bundle`` fetches offline."""
    wheel = tmp_path / "index" / f"six-{version}-py2.py3-none-any.whl"
    wheel.parent.mkdir(exist_ok=True)
    wheel.write_bytes(version.encode() * 1000)
    art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=hashlib.sha256(wheel.read_bytes()).hexdigest())
    lock = tmp_path / out
    lockfile.dump(sample_lock(PythonPackage(name="six", version=version, artifact=art), seal=True), lock)
    return lock


@pytest.fixture
def supps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]) -> Path:
    """``old/`` (a bundle folder) and ``new.tar.gz`` (a bundle archive), made by ``envsnap bundle`` of two locks
    that differ in one package, and ``old.lock``/``new.lock``, the locks they hold; the working directory is their
    folder."""
    monkeypatch.chdir(tmp_path)
    allow = ("--allow-url", f"{(tmp_path / 'index').as_uri()}/*")
    for version, name, out in (("1.16.0", "a.lock", "old"), ("1.17.0", "b.lock", "new.tar.gz")):
        made = cli("bundle", _lock_of_six(tmp_path, version, name), "-o", tmp_path / out, *allow)
        assert made.code == 0, made
    (tmp_path / "old.lock").write_bytes((tmp_path / "old" / "envsnap.lock").read_bytes())
    with tarfile.open(tmp_path / "new.tar.gz") as tar:
        member = tar.extractfile("new/envsnap.lock")
        assert member is not None
        (tmp_path / "new.lock").write_bytes(member.read())
    return tmp_path


@pytest.mark.parametrize(
    ("a", "b"), [("old", "new.tar.gz"), ("old.lock", "new.tar.gz"), ("old", "new.lock"), ("new.tar.gz", "old")]
)
def test_diff_reads_the_lock_a_bundle_holds(supps: Path, a: str, b: str, cli: Callable[..., CliResult]) -> None:
    """It was "old: an envsnap bundle, not a lock; give the lock it holds, old/envsnap.lock", exit 2, while check,
    verify, show and export took the same bundle."""
    plain = [{"old": "old.lock", "new.tar.gz": "new.lock"}.get(name, name) for name in (a, b)]
    for options in ((), ("--json",)):
        alone = cli("diff", *plain, *options)
        got = cli("diff", a, b, *options)
        assert alone.code == 1 and "six" in alone.out, alone
        assert (got.code, got.out, got.err) == (alone.code, alone.out, alone.err), got
    assert "1.16.0 -> 1.17.0" in cli("diff", "old", "new.tar.gz").out
    assert json.loads(cli("diff", "old", "new.tar.gz", "--json").out) == json.loads(
        cli("diff", "old.lock", "new.lock", "--json").out
    )


def test_an_uncompressed_archive_is_read_too(supps: Path, cli: Callable[..., CliResult]) -> None:
    made = cli("bundle", "a.lock", "-o", "old.tar", "--allow-url", f"{(supps / 'index').as_uri()}/*")
    assert made.code == 0, made
    got, alone = cli("diff", "old.tar", "new.tar.gz", "--json"), cli("diff", "old.lock", "new.lock", "--json")
    assert (got.code, got.out) == (1, alone.out), got


def test_a_bundle_against_itself_is_no_difference(supps: Path, cli: Callable[..., CliResult]) -> None:
    assert (cli("diff", "old", "old").code, cli("diff", "new.tar.gz", "new.tar.gz").code) == (0, 0)
    result = cli("diff", "old", "old.lock")
    assert (result.code, result.out) == (0, "no differences\n"), result


def _edited_lock(folder: Path) -> None:
    with open(folder / "envsnap.lock", "a") as fh:
        fh.write("# edited\n")


def _added(folder: Path) -> None:
    (folder / "extra.pth").write_text("import os\n")


def _no_sums(folder: Path) -> None:
    (folder / "SHA256SUMS").unlink()


def _link_out(folder: Path) -> None:
    (folder / "wheels" / "passwd").symlink_to("/etc/passwd")


def _same_refusal(cli: Callable[..., CliResult], given: str, other: str) -> None:
    """``diff`` of ``given`` on either side says what ``check`` says of it: one line, exit 2, nothing printed."""
    checked = cli("check", given)
    assert checked.code == EXIT_BAD_INPUT and checked.err.count("\n") == 1, checked
    for argv in ((given, other), (other, given), (given, other, "--json")):
        result = cli("diff", *argv)
        assert (result.code, result.out, result.err) == (EXIT_BAD_INPUT, "", checked.err), (argv, result)


@pytest.mark.parametrize("spoil", [_edited_lock, _added, _no_sums, _link_out])
def test_a_damaged_bundle_folder_is_checks_one_line(
    supps: Path, spoil: Callable[[Path], None], cli: Callable[..., CliResult]
) -> None:
    spoil(supps / "old")
    _same_refusal(cli, "old", "new.lock")


def test_a_folder_that_is_no_bundle_is_refused_as_check_refuses_it(supps: Path, cli: Callable[..., CliResult]) -> None:
    (supps / "results").mkdir()
    _same_refusal(cli, "results", "new.lock")


@pytest.mark.parametrize("spoil", [_edited_lock, _added])
def test_a_damaged_archive_names_the_archive(
    supps: Path, spoil: Callable[[Path], None], cli: Callable[..., CliResult]
) -> None:
    with tarfile.open("new.tar.gz") as tar:
        tar.extractall(supps / "unpacked", filter="data")
    spoil(supps / "unpacked" / "new")
    (supps / "new.tar.gz").unlink()
    with tarfile.open("new.tar.gz", "w:gz") as tar:
        tar.add(supps / "unpacked" / "new", arcname="new")  # by hand, as someone who changed it after bundling would
    _same_refusal(cli, "new.tar.gz", "old.lock")
    assert cli("diff", "old", "new.tar.gz").err.startswith("envsnap: error: new.tar.gz: ")


def test_an_archive_member_outside_its_folder_is_refused_before_anything_is_read(
    supps: Path, cli: Callable[..., CliResult]
) -> None:
    with tarfile.open("evil.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    _same_refusal(cli, "evil.tar.gz", "old.lock")
    assert not (supps.parent / "escape.txt").exists()
