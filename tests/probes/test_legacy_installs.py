"""Distributions installed without a wheel's RECORD: setuptools' ``.egg-info`` folders (legacy ``setup.py install``,
Debian's ``python3-*`` packages) and zipped ``.egg`` files on sys.path."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

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
