"""An imported lock does not know its CUDA stack or hardware: check must say "cannot verify", not "ok"."""

from __future__ import annotations

from pathlib import Path

from compat_builders import HOST, gpu_host, snapshot

from envsnap.compat import evaluate
from envsnap.importers import read_file


def _imported(tmp_path: Path) -> object:
    req = tmp_path / "requirements.txt"
    req.write_text("six==1.16.0 --hash=sha256:" + "8" * 64 + "\n")
    return read_file(req)


def test_facts_an_import_lacks_are_warnings_not_ok(tmp_path: Path) -> None:
    lock = _imported(tmp_path)
    assert "cuda" in lock.envsnap.unknown and "hardware" in lock.envsnap.unknown  # type: ignore[attr-defined]
    report = evaluate(lock, snapshot(), HOST)  # type: ignore[arg-type]
    cuda = report.by_rule("cuda")
    assert [f.severity for f in cuda] == ["warn"]
    assert cuda[0].needed.startswith("unknown: ") and "does not record cuda, frameworks" in cuda[0].needed
    assert "envsnap capture" in cuda[0].remedy
    assert all(f.severity == "warn" for f in report.by_rule("cpu-isa"))
    assert not report.failed


def test_a_captured_lock_keeps_its_ok(tmp_path: Path) -> None:
    report = evaluate(snapshot(), gpu_host(("NVIDIA A100", "8.0", 80 * 1024), "570.26", "12.8"), HOST)
    assert [f.severity for f in report.by_rule("cuda")] == ["ok"]
