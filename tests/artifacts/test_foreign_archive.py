"""A supplement deposited as a zip (a deposit holds files, not folders, so a bundle folder goes up zipped) or
repacked as .tar.xz, .tar.bz2 or .tar.zst: every command that takes a lock or a bundle says what the file is and how
to unpack it, one line, exit 2. It read "not a text file (expected a TOML lockfile)" (the reviewer took the download
for corrupt), or, as large as a real supplement, "over the limit ... (raise it with ENVSNAP_MAX_LOCK_BYTES)", which
only led to the first; `rebuild --bundle` said "no such bundle" of a file that is there."""

from __future__ import annotations

import hashlib
import shlex
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import sample_lock

from envsnap import lockfile


def _bundle(folder: Path) -> Path:
    """A bundle of a lock with no packages: its lock and the SHA256SUMS that lists it."""
    folder.mkdir(parents=True)
    lock = lockfile.dump(sample_lock(seal=True), folder / "envsnap.lock")
    (folder / "SHA256SUMS").write_text(f"{hashlib.sha256(lock.read_bytes()).hexdigest()}  envsnap.lock\n")
    return folder


def _zipped(bundle: Path, zip_path: Path, padding: int = 0) -> Path:
    with zipfile.ZipFile(zip_path, "w") as z:
        for file in sorted(bundle.rglob("*")):
            z.write(file, f"{bundle.name}/{file.relative_to(bundle)}")
        if padding:  # the wheels of a real supplement: larger than a lock may be
            z.writestr(f"{bundle.name}/padding.bin", b"\0" * padding, compress_type=zipfile.ZIP_STORED)
    return zip_path


def _one_line_refusal(result: Any, name: str) -> str:
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
    line = result.err.strip()
    assert "not a text file" not in line and "ENVSNAP_MAX_LOCK_BYTES" not in line and "no such bundle" not in line
    assert name in line, line
    return line


def _unpack_command(line: str) -> list[str]:
    return shlex.split(line.split("unpack it (", 1)[1].split(")", 1)[0])


@pytest.mark.parametrize("padding", [0, 17 << 20], ids=["small", "over-the-lock-limit"])
def test_a_zipped_bundle_is_named_as_a_zip_with_the_unzip_that_opens_it(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, padding: int
) -> None:
    bundle = _bundle(tmp_path / "made" / "supplement")
    monkeypatch.chdir(tmp_path)
    zipped = _zipped(bundle, tmp_path / "supp.zip", padding)
    lines = [
        _one_line_refusal(cli(*command), "supp.zip")
        for command in (
            ("check", "supp.zip"),
            ("show", "supp.zip"),
            ("verify", "supp.zip"),
            ("export", "supp.zip", "-f", "markdown", "-o", "out.md"),
            ("diff", "supp.zip", bundle / "envsnap.lock"),
            ("rebuild", bundle / "envsnap.lock", "--bundle", "supp.zip", "--offline", "--dest", "env"),
        )
    ]
    assert not (tmp_path / "out.md").exists() and not (tmp_path / "env").exists()
    assert all("a zip archive" in line for line in lines), lines
    command = _unpack_command(lines[0])
    assert command[0] == "unzip", command
    if shutil.which("unzip") is None:
        return
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # What the line says to give next: the folder that holds envsnap.lock, found where the command unpacked it.
    (lock,) = (tmp_path / "supp").rglob("envsnap.lock")
    if padding == 0:
        assert cli("check", lock.parent).code == 0
    assert zipped.exists()


@pytest.mark.parametrize(("suffix", "mode"), [(".tar.xz", "w:xz"), (".tar.bz2", "w:bz2")])
def test_a_bundle_tarred_with_another_compression_is_named_with_the_tar_that_opens_it(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, suffix: str, mode: str
) -> None:
    bundle = _bundle(tmp_path / "made" / "supplement")
    monkeypatch.chdir(tmp_path)
    name = f"supp{suffix}"
    with tarfile.open(tmp_path / name, mode) as tar:
        tar.add(bundle, "supplement")
    line = _one_line_refusal(cli("check", name), name)
    command = _unpack_command(line)
    assert command == ["tar", "-xf", name, "-C", "."], line  # beside it, as a bundle archive's messages say
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert cli("check", tmp_path / "supplement").code == 0
