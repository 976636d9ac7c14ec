"""``verify --files``: the probe's answer carries each RECORD row's sha256 only for a conda environment, whose conda
check reads them (``conda.pip_files``); a venv's answer stays as small as before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from envsnap.probes.pending import PROBE_PATH


def test_a_venv_s_files_answer_carries_no_record_rows(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    dist = site / "demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    (site / "demo.py").write_text("X = 1\n")
    (dist / "RECORD").write_text("demo.py,sha256=AAAA,6\ndemo-1.0.dist-info/METADATA,,\ndemo-1.0.dist-info/RECORD,,\n")
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-E", "-B", PROBE_PATH, "--files"], capture_output=True, text=True, check=True
    ).stdout
    [demo] = [p for p in json.loads(out)["packages"] if p["name"] == "demo"]
    assert "record_hashes" not in demo and demo["record_digest"].startswith("sha256:")
    (venv / "conda-meta").mkdir()  # the same environment, seen as a conda one: its rows are carried
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-E", "-B", PROBE_PATH, "--files"], capture_output=True, text=True, check=True
    ).stdout
    [demo] = [p for p in json.loads(out)["packages"] if p["name"] == "demo"]
    assert demo["record_hashes"] == [["demo.py", "sha256=AAAA"]]
