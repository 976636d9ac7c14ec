"""A probe started in a venv's staging folder, before the venv is moved to its destination (a rebuild's verify,
``rebuild/venv._verify_probe``): told once the venv is there, it answers as a probe started there would."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
