"""A lock of a Python whose distribution a dpkg package installed (``system_package``), pinned to the index's file
of its release in its place (``pin``'s stand-in), bundled, rebuilt as a venv offline and verified: the whole road
no other test takes. Offline: the "system" site is a venv holding Debian's build of a distribution (no INSTALLER,
its RECORD in hex as dh_python writes it, its module patched), owned by a package of a dpkg database made here."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from offline_wheels import wheel
from testutil import site_packages, uv_bin

from envsnap import lockfile
from envsnap.artifacts.bundle import BundleOptions, make_bundle
from envsnap.artifacts.pin import IndexConfig, pin
from envsnap.compare.verify import WARNING, verify
from envsnap.probes import hostlibs
from envsnap.probes.capture import capture
from envsnap.rebuild import RebuildResult, rebuild

HEADERS = "Summary: Stood in for\nHome-page: https://example.invalid/stood\nAuthor: The Stood team\n"


def _debian_build(site: Path) -> Path:
    """Debian's build of stood 1.0 in ``site``: its module patched, no INSTALLER, a RECORD of hex sha256s."""
    files = {
        "stood/__init__.py": b"NAME = 'stood'\nPATCHED = True\n",
        "stood-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: stood\nVersion: 1.0\n{HEADERS}\n".encode(),
        "stood-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    for path, data in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(data)
    rows = [f"{p},sha256={hashlib.sha256(d).hexdigest()},{len(d)}\n" for p, d in files.items()]
    (site / "stood-1.0.dist-info" / "RECORD").write_text("".join(rows) + "stood-1.0.dist-info/RECORD,,\n")
    return site / "stood-1.0.dist-info"


def test_a_venv_rebuilt_from_a_lock_pinned_to_a_stand_in_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    system = tmp_path / "system"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(system)], check=True)
    python = system / "bin" / "python"
    dist = _debian_build(site_packages(python))
    info = tmp_path / "dpkg" / "info"
    info.mkdir(parents=True)
    (info / "python3-stood.list").write_text(f"{dist}\n{dist}/METADATA\n{dist.parent}/stood/__init__.py\n")
    status = tmp_path / "dpkg" / "status"
    status.write_text("Package: python3-stood\nStatus: install ok installed\nArchitecture: all\nVersion: 1.0-1\n\n")
    monkeypatch.setattr(hostlibs, "DPKG_INFO", str(info))
    monkeypatch.setattr(hostlibs, "DPKG_STATUS", str(status))

    captured = capture(str(python), project_state=False)
    stood = captured.package("stood")
    assert stood is not None and (stood.system_package, stood.identity) == (
        "python3-stood",
        tuple(HEADERS.splitlines()),
    )
    # The index's wheel of stood 1.0, the same project (its METADATA agrees): pinned as a stand-in, said so.
    whl = wheel(tmp_path / "wheels", "stood", "1.0", headers=HEADERS)
    page = tmp_path / "index" / "simple" / "stood"
    page.mkdir(parents=True)
    (page / whl.name).write_bytes(whl.read_bytes())
    (page / "index.html").write_text(
        f'<a href="{whl.name}#sha256={hashlib.sha256(whl.read_bytes()).hexdigest()}">x</a>'
    )
    config = IndexConfig(index_url=(tmp_path / "index" / "simple").as_uri())
    result = pin(captured, config, cache_dir=tmp_path / "cache")
    assert [o.status for o in result.outcomes] == ["pinned"] and len(result.stand_ins) == 1, result.outcomes
    lock_path = lockfile.dump(result.snapshot, tmp_path / "envsnap.lock")
    bundle = tmp_path / "bundle"
    make_bundle(lockfile.load(lock_path), bundle, BundleOptions(config=config, cache_dir=tmp_path / "cache"))

    rebuilt = rebuild(lock_path, target="venv", dest=tmp_path / "new", bundle=bundle, offline=True)
    assert isinstance(rebuilt, RebuildResult) and rebuilt.ok, rebuilt
    new_python = tmp_path / "new" / "bin" / "python"
    out = subprocess.run([str(new_python), "-c", "import stood; print(hasattr(stood, 'PATCHED'))"], capture_output=True)
    assert out.stdout.decode().strip() == "False"  # the index's build, not Debian's
    # The rebuilt venv is the lock: the stand-in installed, its tags and RECORD not compared (the lock pins that file).
    report = verify(lock_path, str(new_python), cache=False)
    assert [d for d in report.differences if d.area == "python"] == [], report.differences
    # The host it was captured on holds Debian's build still: one warning, naming the package and the pinned file.
    report = verify(lock_path, str(python), cache=False)
    said = [d for d in report.differences if d.area == "python"]
    assert [(d.severity, d.subject, d.what) for d in said] == [(WARNING, "stood", "record_digest")], said
    assert said[0].note == (
        "installed by the Debian package python3-stood, another build of the same release as the index's file the "
        f"lock pins ({whl.name}), which a rebuild installs"
    )
