"""Distributions installed without a wheel's RECORD: setuptools' ``.egg-info`` folders (legacy ``setup.py install``,
Debian's ``python3-*`` packages) and zipped ``.egg`` files on sys.path."""

from __future__ import annotations

import importlib.metadata
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from envsnap import capture
from envsnap.probes import _pyprobe

REQUIRES_TXT = """\
six>=1.10
numpy @ https://example.org/numpy-1.0.tar.gz

[:python_version < "3.8"]
importlib-metadata

[test]
pytest>=7

[win:sys_platform == "win32"]
pywin32
"""


def _egg_info(site: Path, name: str, version: str, **files: str) -> Path:
    folder = site / f"{name}-{version}-py3.11.egg-info"
    folder.mkdir(parents=True)
    (folder / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    for file_name, text in files.items():
        (folder / file_name.replace("_txt", ".txt")).write_text(text)
    return folder


def _read(site: Path, entry: str) -> dict[str, object]:
    return _pyprobe._dist_info(str(site), entry, _pyprobe._Layout())


def test_an_egg_infos_requires_txt_gives_its_requires_dist_as_importlib_metadata_does(tmp_path: Path) -> None:
    """``requires.txt`` holds an egg-info's requirements (its PKG-INFO has no Requires-Dist): a Legacy-Proj that
    requires six showed none, so ``show``, the exports and the SBOM listed no dependency."""
    folder = _egg_info(tmp_path, "Legacy_Proj", "1.0", requires_txt=REQUIRES_TXT)
    info = _read(tmp_path, folder.name)
    expected = importlib.metadata.PathDistribution(folder).requires
    assert expected is not None and "six>=1.10" in expected
    # importlib.metadata leaves a space after a URL requirement without a condition; a lock has none
    assert info["requires_dist"] == sorted(r.strip() for r in expected)
    assert 'pywin32; (sys_platform == "win32") and extra == "win"' in expected


def test_a_comment_in_requires_txt_is_no_requirement(tmp_path: Path) -> None:
    """importlib.metadata keeps it as one (``# pinned; extra == "x"``); pkg_resources and pip drop it."""
    folder = _egg_info(tmp_path, "Commented", "1.0", requires_txt="# pinned\nsix\n[x]\n# pinned too\nattrs\n")
    assert _read(tmp_path, folder.name)["requires_dist"] == ['attrs; extra == "x"', "six"]


def test_requires_dist_in_pkg_info_wins_over_requires_txt(tmp_path: Path) -> None:
    folder = _egg_info(tmp_path, "Newer", "2.0", requires_txt="six\n")
    with (folder / "PKG-INFO").open("a") as handle:
        handle.write("Requires-Dist: six>=1\n")
    assert _read(tmp_path, folder.name)["requires_dist"] == ["six>=1"]


def _zipped_egg(folder: Path, name: str, version: str, requires: str = "") -> Path:
    egg = folder / f"{name}-{version}-py3.11.egg"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(egg, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("EGG-INFO/PKG-INFO", f"Metadata-Version: 1.1\nName: {name}\nVersion: {version}\n")
        if requires:
            archive.writestr("EGG-INFO/requires.txt", requires)
        archive.writestr(f"{name.lower()}/__init__.py", "VALUE = 42\n")
    return egg


def test_a_zipped_egg_on_sys_path_is_recorded_and_a_damaged_one_is_a_warning(
    make_venv: Callable[..., Path], tmp_path: Path
) -> None:
    """A ``.pth`` naming a zipped ``NAME-VER-pyX.Y.egg`` (easy_install's default): the interpreter imports from it,
    and the lock had no entry for it (only ``.egg`` folders were read). A damaged one is skipped with a warning."""
    python = make_venv(tmp_path / "venv")
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    eggs = tmp_path / "eggs"
    egg = _zipped_egg(eggs, "ZipEgg", "1.3", requires="six\n[test]\npytest\n")
    damaged = eggs / "Damaged-0.1-py3.11.egg"
    damaged.write_bytes(b"PK\x03\x04 cut short")
    (site / "easy-install.pth").write_text(f"{egg}\n{damaged}\n")
    imported = subprocess.run([str(python), "-c", "import zipegg; print(zipegg.VALUE)"], capture_output=True, text=True)
    assert imported.stdout.strip() == "42"
    snap = capture(str(python))
    found = snap.package("zipegg")
    assert found is not None and (found.version, found.metadata_name) == ("1.3", "ZipEgg")
    assert found.requires_dist == ('pytest; extra == "test"', "six") and found.record_digest == ""
    assert snap.package("damaged") is None
    warnings = "\n".join(snap.envsnap.warnings)
    assert "Damaged-0.1-py3.11.egg/EGG-INFO: not a readable zipped egg (BadZipFile" in warnings


def test_a_zipped_eggs_metadata_is_read_bounded(tmp_path: Path) -> None:
    egg = tmp_path / "Big-1.0-py3.11.egg"
    with zipfile.ZipFile(egg, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("EGG-INFO/PKG-INFO", "Name: Big\nVersion: 1.0\n" + "x" * (2 << 20))
    with pytest.raises(ValueError, match="larger than"):
        _read(egg, "EGG-INFO")
    with zipfile.ZipFile(egg, "w") as archive:
        archive.writestr("big/__init__.py", "")
    with pytest.raises(ValueError, match="no EGG-INFO/PKG-INFO"):
        _read(egg, "EGG-INFO")
