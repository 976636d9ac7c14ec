"""An imported lock does not know its CUDA stack or hardware: check must say "cannot verify", not "ok"."""

from __future__ import annotations

from pathlib import Path

from compat_builders import HOST, gpu_host, snapshot

from envsnap.compat import evaluate
from envsnap.importers import read_file
from envsnap.model import Candidate, PythonPackage


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


def test_an_import_known_by_sha256_only_cannot_tell_its_wheels(tmp_path: Path) -> None:
    # A hashed requirements file records no file names: whether a file of it fits this host is unknown.
    [f] = evaluate(_imported(tmp_path), snapshot(), HOST).by_rule("wheels")  # type: ignore[arg-type]
    assert f.severity == "warn" and "six 1.16.0" in f.needed
    assert "envsnap pin" in f.remedy
    req = tmp_path / "two.txt"  # two hashes: two files, neither named
    req.write_text(f"six==1.16.0 --hash=sha256:{'8' * 64} --hash=sha256:{'9' * 64}\n")
    [f] = evaluate(read_file(req), snapshot(), HOST).by_rule("wheels")
    assert (f.severity, f.needed) == ("warn", "six 1.16.0") and "by sha256 only" in f.found


def _pylock_pkg(*filenames: str) -> PythonPackage:
    files = tuple(Candidate(sha256=f"{i}" * 64, filename=n, url=f"https://x/{n}") for i, n in enumerate(filenames))
    return PythonPackage(name="alpha", version="1.0", candidates=files)


def test_an_imports_file_names_are_judged_like_a_captured_locks() -> None:
    mac = "alpha-1.0-cp311-cp311-macosx_11_0_arm64.whl"
    win = "alpha-1.0-cp311-cp311-win_amd64.whl"
    lock = snapshot(packages=[_pylock_pkg(mac, win)])
    [f] = evaluate(lock, snapshot(), HOST).by_rule("wheels")
    assert (f.severity, f.component) == ("fail", "wheel alpha 1.0")
    linux = "alpha-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    [f] = evaluate(snapshot(packages=[_pylock_pkg(mac, linux)]), snapshot(), HOST).by_rule("wheels")
    assert (f.severity, f.needed) == ("ok", "1 locked wheel")
    # An sdist among them builds anywhere.
    assert evaluate(snapshot(packages=[_pylock_pkg(mac, "alpha-1.0.tar.gz")]), snapshot(), HOST).by_rule("wheels") == ()


def test_an_import_known_by_name_and_version_only_cannot_tell_its_wheels(tmp_path: Path) -> None:
    """A plain ``pip freeze`` records no file at all: check said nothing of its wheels, as if none needed judging,
    where the same file with hashes warned that it cannot tell. Both now say so, naming ``envsnap pin``; a captured
    lock's package without wheel tags (installed from an sdist) is left as before."""
    req = tmp_path / "freeze.txt"
    req.write_text("six==1.16.0\nalpha==1.0\n")
    [f] = evaluate(read_file(req), snapshot(), HOST).by_rule("wheels")
    assert (f.severity, f.component, f.needed) == ("warn", "2 wheels", "alpha 1.0, six 1.16.0"), f
    assert "by name and version only" in f.found and "envsnap pin" in f.remedy, f
    captured = snapshot(packages=[PythonPackage(name="alpha", version="1.0")])
    assert evaluate(captured, snapshot(), HOST).by_rule("wheels") == ()
