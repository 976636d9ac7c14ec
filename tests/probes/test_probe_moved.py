"""A probe started in a venv's staging folder, before the venv is moved to its destination (a rebuild's verify,
``rebuild/venv._verify_probe``): told once the venv is there, it answers as a probe started there would."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from envsnap.probes import _pyprobe
from envsnap.probes.pending import PROBE_PATH, PendingProbe


def _row(site: Path, rel: str) -> str:
    data = (site / rel).read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{rel},sha256={digest},{len(data)}"


def _venv(where: Path) -> Path:
    """A venv at ``where`` with one distribution that has a module, a shared object, a script an installer wrote
    (naming this venv's interpreter) and a data file outside site-packages; its site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    (site,) = where.glob("lib/python*/site-packages")
    dist = site / "tool-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tool\nVersion: 1.0\n\n")
    (dist / "INSTALLER").write_text("uv\n")
    (site / "tool").mkdir()
    (site / "tool" / "__init__.py").write_text("x = 1\n")
    (site / "tool" / "_ext.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF not really")
    (where / "bin" / "tool").write_text(f"#!{where}/bin/python\nimport tool\n")
    (where / "share").mkdir()
    (where / "share" / "tool.json").write_text("{}\n")
    rel = os.path.relpath(where, site)
    rows = [
        _row(site, "tool/__init__.py"),
        _row(site, "tool/_ext.cpython-311-x86_64-linux-gnu.so"),
        _row(site, f"{rel}/bin/tool"),
        _row(site, f"{rel}/share/tool.json"),
        "tool-1.0.dist-info/RECORD,,",
    ]
    (dist / "RECORD").write_text("\n".join(rows) + "\n")
    return site


def test_a_probe_started_before_its_venv_is_moved_answers_as_one_started_where_it_is(tmp_path: Path) -> None:
    staging, dest = tmp_path / ".staging" / "venv", tmp_path / "env"
    _venv(staging)
    held = PendingProbe(str(staging / "bin" / "python"), use_cache=False, moved=(str(staging), str(dest)))
    assert held.answered is False
    assert held.set_up(60)  # a deadline for a hang, not a speed assertion
    os.replace(staging, dest)
    answer = held.result()
    there = PendingProbe(str(dest / "bin" / "python"), use_cache=False).result()
    assert answer == there
    assert answer.prefix == str(dest) and answer.executable == str(dest / "bin" / "python")
    (package,) = answer.packages
    assert package.record_digest and package.shared_objects and str(tmp_path / ".staging") not in repr(answer)


def test_a_probe_started_before_its_venv_is_moved_reads_it_through_a_linked_folder(tmp_path: Path) -> None:
    """The destination named through a link: the scripts outside site-packages are still named by scheme."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    staging, dest = tmp_path / "link" / ".staging", tmp_path / "link" / "env"
    _venv(staging)
    held = PendingProbe(str(staging / "bin" / "python"), use_cache=False, moved=(str(staging), str(dest)))
    assert held.set_up(60)
    os.replace(staging, dest)
    assert held.result() == PendingProbe(str(dest / "bin" / "python"), use_cache=False).result()


@pytest.mark.parametrize("said", [b"", b"stop\n", b'{"go": "relative/path"}\n', b'{"go": 3}\n'])
def test_a_probe_told_nothing_it_understands_reads_nothing(tmp_path: Path, said: bytes) -> None:
    """Its caller ended (the input closed unsaid) or said something else: exit 3, no answer."""
    done = subprocess.run(
        [sys.executable, "-E", "-B", PROBE_PATH, "--wait"], input=said, capture_output=True, timeout=60
    )
    assert (done.returncode, done.stdout) == (3, b"\n")  # set up (the newline), then nothing read


def test_a_probe_started_ahead_and_ended_unanswered_leaves_no_process(tmp_path: Path) -> None:
    staging = tmp_path / "venv"
    _venv(staging)
    held = PendingProbe(str(staging / "bin" / "python"), use_cache=False, moved=(str(staging), str(tmp_path / "env")))
    proc = held._proc
    assert proc is not None and proc.proc is not None
    held.cancel()
    assert proc.proc.poll() is not None and held.answered is False


def _age(root: Path, seconds: float = 10.0) -> None:
    """Every file and folder under ``root`` written ``seconds`` ago (with sub-second times): settled, as an
    installer's finished distributions are by the time the probe waiting beside it reads them."""
    when = int((time.time() - seconds) * 1e9) + 123_456_789
    for path in [root, *root.rglob("*")]:
        os.utime(path, ns=(when, when), follow_symlinks=False)


def _read(site: Path, known: dict[str, Any] | None) -> dict[str, Any]:
    layout = _pyprobe._Layout()
    (answer,) = _pyprobe._read_all([(str(site), "tool-1.0.dist-info")], layout, False, None, False, known)
    ok, info = answer
    assert ok and isinstance(info, dict), info
    return info


def _replace(path: Path) -> None:
    copy = path.with_name(path.name + ".new")
    copy.write_bytes(path.read_bytes())
    os.replace(copy, path)


def _ahead(site: Path) -> _pyprobe._ReadAhead:
    ahead = _pyprobe._ReadAhead([str(site)], _pyprobe._Layout())
    while ahead.step() or ahead.queue:
        pass
    return ahead


def test_a_waiting_probe_reads_a_finished_distribution_ahead_and_its_read_takes_it(tmp_path: Path) -> None:
    site = _venv(tmp_path / "venv")
    _age(tmp_path / "venv")
    ahead = _ahead(site)
    assert ahead.step() is False  # nothing more to read until the next scan
    known = ahead.known_at(_pyprobe._Moved(("", ""), ""))
    folder = str(site / "tool-1.0.dist-info")
    assert set(known) == {folder}
    assert _read(site, known) is known[folder][1]  # taken, not read again
    assert _read(site, known) == _read(site, None)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: (d / "REQUESTED").write_text(""), id="a file added"),
        pytest.param(lambda d: (d / "INSTALLER").write_text("pip\n"), id="a file rewritten"),
        pytest.param(lambda d: (d / "RECORD").write_text((d / "RECORD").read_text() + "x.py,,\n"), id="RECORD grown"),
        pytest.param(lambda d: _replace(d / "METADATA"), id="a file replaced by a copy"),
    ],
)
def test_what_changed_after_the_read_ahead_is_read_again(tmp_path: Path, change: Any) -> None:
    """A file added, rewritten or replaced since: the folder's or the file's stamp moved, and it is read anew."""
    site = _venv(tmp_path / "venv")
    _age(tmp_path / "venv")
    known = _ahead(site).known_at(_pyprobe._Moved(("", ""), ""))
    change(site / "tool-1.0.dist-info")
    fresh = _read(site, known)
    assert fresh is not known[str(site / "tool-1.0.dist-info")][1]
    assert fresh == _read(site, None)


@pytest.mark.parametrize(
    ("script", "taken"),
    [
        pytest.param("#!{moved}/bin/python\nimport tool\n", True, id="its shebang names the new folder"),
        pytest.param("#!/bin/bash\necho tool\n", False, id="no longer an installer's script"),
    ],
)
def test_a_script_rewritten_after_the_read_ahead_stands_while_it_is_what_it_was_taken_for(
    tmp_path: Path, script: str, taken: bool
) -> None:
    """The rebuild's move rewrites the shebang of every script naming the staging folder: the digest takes of such
    a script only whether an installer wrote it (its RECORD line has RECORD's hash, never the file's), so the read
    ahead stands while it still is one, and the distribution is read again when it is not (jupyterlab's 425 data
    files were read again after every rebuild's installer, for one rewritten script)."""
    site = _venv(tmp_path / "venv")
    _age(tmp_path / "venv")
    known = _ahead(site).known_at(_pyprobe._Moved(("", ""), ""))
    (tmp_path / "venv" / "bin" / "tool").write_text(script.format(moved=tmp_path / "env"))
    fresh = _read(site, known)
    assert (fresh is known[str(site / "tool-1.0.dist-info")][1]) is taken
    assert fresh == _read(site, None)


def test_a_distribution_written_just_now_or_with_whole_second_times_is_not_read_ahead(tmp_path: Path) -> None:
    """Its files might still change within their mtime's granularity with the same size: read after the
    installer. A file system that keeps whole seconds (its times end in .000000000) is not trusted either."""
    site = _venv(tmp_path / "venv")
    assert _ahead(site).known == {}  # written moments ago
    whole = int(time.time() - 10) * 10**9
    for path in [tmp_path / "venv", *(tmp_path / "venv").rglob("*")]:
        os.utime(path, ns=(whole, whole), follow_symlinks=False)
    assert _ahead(site).known == {}
    _age(tmp_path / "venv")
    assert set(_ahead(site).known) == {str(site / "tool-1.0.dist-info")}


def test_a_distribution_read_ahead_in_the_staging_folder_is_answered_where_it_is_with_what_changed_since(
    tmp_path: Path,
) -> None:
    """The probe reads the finished distribution while it waits; the venv is moved and a file is added to it
    there before the probe is told: the answer is a fresh probe's at the destination, REQUESTED included."""
    staging, dest = tmp_path / ".staging" / "venv", tmp_path / "env"
    _venv(staging)
    _age(staging)
    held = PendingProbe(str(staging / "bin" / "python"), use_cache=False, moved=(str(staging), str(dest)))
    assert held.set_up(60)
    time.sleep(0.3)  # time for several of its scans
    os.replace(staging, dest)
    (site,) = dest.glob("lib/python*/site-packages")
    (site / "tool-1.0.dist-info" / "REQUESTED").write_text("")
    answer = held.result()
    assert answer == PendingProbe(str(dest / "bin" / "python"), use_cache=False).result()
    (package,) = answer.packages
    assert package.requested and package.dist_dir == str(site / "tool-1.0.dist-info")


def test_the_waiting_probe_scans_no_more_often_than_a_fifth_of_a_core_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site-packages of thousands of distributions takes milliseconds to scan: the next scan waits four times
    as long as the last one took (20 ms at least)."""
    site = _venv(tmp_path / "venv")
    clock = iter(x * 0.05 for x in range(1, 1000))  # each look at the clock is 50 ms later
    monkeypatch.setattr(_pyprobe.time, "monotonic", lambda: next(clock))
    ahead = _pyprobe._ReadAhead([str(site)], _pyprobe._Layout())
    assert ahead.step() is False  # scanned (nothing settled yet): the scan "took" 50 ms
    assert ahead.interval == pytest.approx(0.2)
    assert ahead.step() is False and ahead.scanned == pytest.approx(0.05)  # 50 ms later: no scan yet
