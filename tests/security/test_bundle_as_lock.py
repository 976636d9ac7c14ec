"""A reviewer's supplement given to `check`, `verify` and `show` as the lock (docs/cli.md, "Reading a lock"): the
lock inside is read, as `export` reads it, and only after the bundle passed every check `envsnap bundle`'s reader
makes (SHA256SUMS in full, plain files only, an archive unpacked within its limits). A damaged bundle is one line,
exit 2, and nothing of its lock is printed."""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult, sample_lock

from envsnap import lockfile
from envsnap.artifacts.bundle import Bundle, write_archive
from envsnap.cli import EXIT_BAD_INPUT
from envsnap.model import PythonPackage

COMMANDS = ("check", "verify", "show")


@pytest.fixture
def supp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``supp/`` as ``envsnap bundle -o supp`` lays it out, ``supp.tar.gz`` as ``-o supp.tar.gz`` writes it, and
    ``env.lock``, the same lock outside any bundle; the working directory is their folder."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "supp"
    folder.mkdir()
    lockfile.dump(sample_lock(PythonPackage(name="six", version="1.16.0"), seal=True), folder / "envsnap.lock")
    (folder / "README.md").write_text("how to rebuild\n")
    Bundle(folder).write_sums()
    write_archive(folder, tmp_path / "supp.tar.gz")
    (tmp_path / "env.lock").write_bytes((folder / "envsnap.lock").read_bytes())
    return folder


# What the host measures anew at each run (the disk rule's free space): not the lock's, so not compared.
_MEASURED = re.compile(r"\d+(\.\d+)? ?[KMGT]i?B free")


def _same_as_the_lock(cli: Callable[..., CliResult], command: str, given: str, *options: str) -> None:
    alone = cli(command, "env.lock", *options)
    got = cli(command, given, *options)
    assert alone.code in (0, 3), alone  # compatible or not, matching or not: a verdict on the lock
    assert got.code == alone.code, got
    assert _MEASURED.sub("N free", got.out) == _MEASURED.sub("N free", alone.out.replace("env.lock", given)), got
    assert got.err == alone.err.replace("env.lock", given), got


@pytest.mark.parametrize("given", ["supp.tar.gz", "supp"])
def test_show_reads_the_lock_a_bundle_holds(supp: Path, given: str, cli: Callable[..., CliResult]) -> None:
    """It was "supp.tar.gz: an envsnap bundle, not a lock; give the lock it holds, ...", exit 2, while `export`
    and `audit` took the same bundle."""
    _same_as_the_lock(cli, "show", given)
    _same_as_the_lock(cli, "show", given, "--json")
    assert json.loads(cli("show", given, "--json").out) == lockfile.to_dict(lockfile.load(supp / "envsnap.lock"))


@pytest.mark.parametrize("given", ["supp.tar.gz", "supp"])
def test_check_and_verify_read_the_lock_a_bundle_holds(supp: Path, given: str, cli: Callable[..., CliResult]) -> None:
    for command in ("check", "verify"):
        _same_as_the_lock(cli, command, given, "--json")
    result = cli("check", given, "--json")
    assert json.loads(result.out)["lock"] == given
    assert result.err.startswith(f"checking {given} with ")


def _edited_lock(folder: Path) -> str:
    with open(folder / "envsnap.lock", "a") as fh:
        fh.write("# edited\n")
    return "envsnap.lock: hash mismatch: sha256 "


def _added(folder: Path) -> str:
    (folder / "extra.pth").write_text("import os\n")
    return "extra.pth: not listed in SHA256SUMS (added after bundling)"


def _no_sums(folder: Path) -> str:
    (folder / "SHA256SUMS").unlink()
    return "SHA256SUMS: missing (not a complete bundle; every file of a bundle is checked against it before use)"


def _link_out(folder: Path) -> str:
    (folder / "wheels").mkdir()
    (folder / "wheels" / "passwd").symlink_to("/etc/passwd")
    return "wheels/passwd: a link or special file in the bundle (a bundle holds only files)"


@pytest.mark.parametrize("spoil", [_edited_lock, _added, _no_sums, _link_out])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_damaged_bundle_folder_is_one_line(
    supp: Path, command: str, spoil: Callable[[Path], str], cli: Callable[..., CliResult]
) -> None:
    message = spoil(supp)
    result = cli(command, "supp")
    assert (result.code, result.out) == (EXIT_BAD_INPUT, ""), result
    assert result.err.startswith(f"envsnap: error: supp/{message}") and result.err.count("\n") == 1, result.err


@pytest.mark.parametrize("spoil", [_edited_lock, _added, _no_sums])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_damaged_archive_names_the_archive_not_where_it_was_unpacked(
    supp: Path, tmp_path: Path, command: str, spoil: Callable[[Path], str], cli: Callable[..., CliResult]
) -> None:
    """The error named the unpacked copy (/tmp/envsnap-export-.../bundle/envsnap.lock), gone once it was printed."""
    message = spoil(supp)
    (tmp_path / "supp.tar.gz").unlink()
    with tarfile.open(tmp_path / "supp.tar.gz", "w:gz") as tar:
        tar.add(supp, arcname="supp")  # by hand, as someone who changed it after bundling would
    result = cli(command, "supp.tar.gz")
    assert (result.code, result.out) == (EXIT_BAD_INPUT, ""), result
    assert result.err.startswith(f"envsnap: error: supp.tar.gz: {message}") and result.err.count("\n") == 1, result


@pytest.mark.parametrize("command", COMMANDS)
def test_an_archive_member_outside_its_folder_is_refused_before_anything_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, cli: Callable[..., CliResult]
) -> None:
    monkeypatch.chdir(tmp_path)
    with tarfile.open(tmp_path / "supp.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    result = cli(command, "supp.tar.gz")
    assert (result.code, result.out) == (EXIT_BAD_INPUT, "")
    assert result.err == (
        "envsnap: error: supp.tar.gz: unsafe path in archive: '../escape.txt' "
        "(absolute, with '..', hidden or not a plain name)\n"
    )
    assert not (tmp_path.parent / "escape.txt").exists()


def test_an_archive_of_the_folders_content_made_with_tar_dot_is_read(supp: Path, cli: Callable[..., CliResult]) -> None:
    """``tar -C supp -czf content.tar.gz .`` (how a folder's content is usually tarred) starts with the member
    ``./``, the archive's top itself: show, check, verify and audit refused it ("unsafe path in archive: '.'")."""
    import subprocess

    subprocess.run(["tar", "-C", str(supp), "-czf", "content.tar.gz", "."], check=True)
    with tarfile.open("content.tar.gz") as made:
        assert made.getnames()[0] == "."
    _same_as_the_lock(cli, "show", "content.tar.gz")
    audited = cli("audit", "content.tar.gz", "--json")
    assert audited.code == 0, audited
    bundled = next(i for i in json.loads(audited.out)["items"] if i["id"] == "files-bundled")
    assert bundled["ok"], bundled
    # A member "." that is not the top folder (a file) is still refused.
    with tarfile.open("dot.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo(".")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    refused = cli("show", "dot.tar.gz")
    assert refused.code == EXIT_BAD_INPUT and "unsafe path in archive: '.'" in refused.err, refused


def _unreadable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``path`` made unreadable to this user (mode 000, as a file ``cp -p`` kept private to its author): root reads
    it anyway, so its open is refused here as the kernel refuses another user's."""
    import os

    path.chmod(0)
    # A new mtime: this process hashed the file when the bundle was made, and would not read it again.
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1))
    real_open = os.open

    def denied(name: object, *args: object, **kwargs: object) -> int:
        if os.path.abspath(name) == str(path):  # type: ignore[call-overload]
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)


@pytest.mark.parametrize("command", [*COMMANDS, "audit"])
def test_a_bundle_file_the_reviewer_may_not_read_is_one_line(
    supp: Path, command: str, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle copied with its author's private modes: show, check, verify and audit ended in a PermissionError
    traceback while checking SHA256SUMS."""
    _unreadable(supp / "README.md", monkeypatch)
    result = cli(command, "supp", "--json") if command == "audit" else cli(command, "supp")
    if command == "audit":  # graded, not refused: files-bundled is short, naming the file
        assert result.code == 0, result
        item = next(i for i in json.loads(result.out)["items"] if i["id"] == "files-bundled")
        assert not item["ok"] and "supp/README.md: cannot be read (Permission denied)" in item["detail"], item
    else:
        assert (result.code, result.out) == (EXIT_BAD_INPUT, ""), result
        assert result.err == "envsnap: error: supp/README.md: cannot be read (Permission denied)\n", result


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_that_is_no_bundle_is_named_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, cli: Callable[..., CliResult]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    result = cli(command, "results")
    assert (result.code, result.out, result.err) == (
        EXIT_BAD_INPUT,
        "",
        "envsnap: error: results: not an envsnap bundle (no envsnap.lock)\n",
    )
