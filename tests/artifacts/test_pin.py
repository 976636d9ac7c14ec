"""envsnap pin: pip's configuration, PEP 503/691 pages, matching by name + version + tag, RECORD proof.

Indexes here are real ones made by the tests: a file:// PEP 503 tree, a find-links folder, and a PEP 691 JSON
index served over HTTP on the loopback interface.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from testutil import CliResult, unchecked_lock_text, uv_bin

from envsnap import lockfile
from envsnap._fetchpolicy import FetchRefusedError
from envsnap.artifacts.pin import (
    FIND_LINKS_HINT,
    PYPI,
    IndexConfig,
    PinOutcome,
    PinResult,
    find_links_hint,
    parse_simple_html,
    parse_simple_json,
    pin,
    read_pip_config,
    wheel_matches,
)
from envsnap.model import PythonEnv, PythonPackage, Snapshot, Source
from envsnap.probes._pyprobe import wheel_record_digest
from envsnap.probes.capture import capture

TAG = "py3-none-any"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(
    folder: Path, name: str, version: str, *, body: str = "VALUE = 1\n", tag: str = TAG, headers: str = ""
) -> Path:
    """A real wheel: a module, a data-scheme script with an interpreter shebang, a console script, data.
    ``headers``: more lines of its METADATA (``Summary: ...\n``)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}"
    files = {
        f"{name}/__init__.py": body.encode(),
        f"{dist}.data/scripts/{name}-tool": b"#!python\nprint('tool')\n",
        f"{dist}.data/data/share/{name}/notes.txt": b"notes\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{headers}\n".encode(),
        f"{dist}.dist-info/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()
        ),
        f"{dist}.dist-info/entry_points.txt": f"[console_scripts]\n{name}-cli = {name}:main\n".encode(),
    }
    record = "".join(f"{path},sha256={_b64(data)},{len(data)}\n" for path, data in files.items())
    record += f"{dist}.dist-info/RECORD,,\n"
    path = folder / f"{dist}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(f"{dist}.dist-info/RECORD", record)
    return path


def make_sdist(folder: Path, name: str, version: str, headers: str = "") -> Path:
    """A real sdist: ``NAME-VERSION/PKG-INFO`` (with ``headers``) and a setup.py, gzipped."""
    import io
    import tarfile

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member, text in (
            ("setup.py", "from setuptools import setup\nsetup()\n"),
            ("PKG-INFO", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{headers}\nA description.\n"),
        ):
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-{version}/{member}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


# The headers of PyYAML 6.0's and six 1.16.0's METADATA, Debian's build and the index's alike.
YAML_HEADERS = "Summary: YAML parser and emitter for Python\nHome-page: https://pyyaml.org/\nAuthor: Kirill Simonov\n"
SIX_HEADERS = (
    "Summary: Python 2 and 3 compatibility utilities\nHome-page: https://github.com/benjaminp/six\n"
    "Author: Benjamin Peterson\n"
)


def identity_of(headers: str) -> tuple[str, ...]:
    """What a capture records of an installed distribution with these METADATA headers (``identity``)."""
    return tuple(line for line in headers.splitlines() if line)


def package_for(wheel: Path, name: str, version: str) -> PythonPackage:
    return PythonPackage(name=name, version=version, wheel_tags=(TAG,), record_digest=wheel_record_digest(str(wheel)))


def lock_of(*packages: PythonPackage) -> Snapshot:
    return Snapshot(python=PythonEnv(version="3.11.7", packages=tuple(packages)))


def pep503_index(root: Path, wheels: list[Path], *, with_hash: bool = True) -> str:
    """A file:// simple index: ROOT/simple/<project>/index.html linking ../../files/<wheel>."""
    (root / "files").mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[Path]] = {}
    for wheel in wheels:
        target = root / "files" / wheel.name
        target.write_bytes(wheel.read_bytes())
        # the project's normalised name (PEP 503), as a real index serves it
        projects.setdefault(wheel.name.split("-")[0].replace("_", "-").lower(), []).append(target)
    for project, files in projects.items():
        page = root / "simple" / project
        page.mkdir(parents=True, exist_ok=True)
        links = "".join(
            f'<a href="../../files/{f.name}'
            + (f"#sha256={hashlib.sha256(f.read_bytes()).hexdigest()}" if with_hash else "")
            + f'">{f.name}</a>\n'
            for f in files
        )
        (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    return (root / "simple").as_uri()


# ------------------------------------------------------------------------------------------ pip config


def test_pip_config_files_then_environment(tmp_path: Path) -> None:
    system = tmp_path / "pip.conf"
    system.write_text(
        "[global]\nindex-url = https://mirror.example/simple\nextra-index-url =\n"
        "    file:///a/simple\n    file:///b/simple\nfind-links = /opt/w\ncert = /etc/ca.pem\n"
    )
    user = tmp_path / "user.conf"
    user.write_text("[global]\nfind-links = /home/w\n[install]\nextra-index-url = https://extra.example/simple\n")
    config = read_pip_config(environ={}, files=[system, user], uv_files=[])
    assert config == IndexConfig(
        index_url="https://mirror.example/simple",
        extra_index_urls=("https://extra.example/simple",),
        find_links=("/home/w",),
        cert="/etc/ca.pem",
    )
    env = {"PIP_INDEX_URL": "https://env.example/simple", "PIP_FIND_LINKS": "/x /y", "PIP_CERT": "/c.pem"}
    config = read_pip_config(environ=env, files=[system, user], uv_files=[])
    assert config.index_url == "https://env.example/simple"
    assert config.find_links == ("/x", "/y") and config.cert == "/c.pem"


def test_pip_config_default_is_pypi_and_bad_file_is_an_error(tmp_path: Path) -> None:
    assert read_pip_config(environ={}, files=[tmp_path / "absent.conf"]).index_url == "https://pypi.org/simple"
    bad = tmp_path / "bad.conf"
    bad.write_text("index-url = no section\n")
    from envsnap.errors import PinError

    with pytest.raises(PinError, match="not a valid pip configuration file"):
        read_pip_config(environ={}, files=[bad])


def test_pip_config_files_follow_pips_locations(tmp_path: Path) -> None:
    from envsnap.artifacts.pin import pip_config_files

    files = pip_config_files({"HOME": str(tmp_path), "PIP_CONFIG_FILE": "/site/pip.conf"})
    names = [str(f) for f in files]
    assert names.index("/etc/xdg/pip/pip.conf") < names.index("/etc/pip.conf")
    assert names.index("/etc/pip.conf") < names.index(str(tmp_path / ".config/pip/pip.conf"))
    assert names[-1] == "/site/pip.conf"


def test_uv_settings_join_pips_and_win_setting_by_setting(tmp_path: Path) -> None:
    """A lab that points uv at its mirror (UV_INDEX_URL, uv.toml) and not pip: envsnap read pip's settings only,
    so pin and bundle asked PyPI, which the lab cannot reach. The layers, each setting from the last that sets it:
    pip's files < uv's files < PIP_* < UV_*."""
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text("[global]\nindex-url = https://pip-file.example/simple\nfind-links = /pip/w\ncert = /ca.pem\n")
    system = tmp_path / "etc-uv.toml"
    system.write_text(
        'extra-index-url = ["https://sys-extra.example/simple"]\nindex-url = "https://sys.example/simple"\n'
    )
    user = tmp_path / "uv.toml"
    user.write_text(
        '[[index]]\nname = "lab"\nurl = "https://lab.example/simple"\ndefault = true\n'
        '[[index]]\nname = "cu121"\nurl = "https://cu.example/whl"\nexplicit = true\n'
        '[[index]]\nurl = "/srv/flat"\nformat = "flat"\n'
        '[pip]\nextra-index-url = ["https://user-extra.example/simple"]\n'
    )
    files = {"files": [pip_conf], "uv_files": [system, user]}
    assert read_pip_config({}, **files) == IndexConfig(
        index_url="https://lab.example/simple",
        extra_index_urls=(
            "https://cu.example/whl",
            "https://user-extra.example/simple",
            "https://sys-extra.example/simple",
        ),
        find_links=("/srv/flat",),  # uv's find-links replace pip's, as every setting does
        cert="/ca.pem",
    )
    pip_vars = {"PIP_INDEX_URL": "https://pip-env.example/simple", "PIP_EXTRA_INDEX_URL": ""}
    config = read_pip_config(pip_vars, **files)
    assert config.index_url == "https://pip-env.example/simple" and config.extra_index_urls == ()
    uv_vars = {
        **pip_vars,
        "UV_INDEX_URL": "https://old.example/simple",
        "UV_DEFAULT_INDEX": "https://uv-env.example/simple",
        "UV_INDEX": "torch=https://torch.example/whl https://second.example/simple?a=b",
        "UV_FIND_LINKS": "/a, /b",
        "PIP_NO_INDEX": "1",
        "UV_NO_INDEX": "0",
    }
    assert read_pip_config(uv_vars, **files) == IndexConfig(
        index_url="https://uv-env.example/simple",
        extra_index_urls=("https://torch.example/whl", "https://second.example/simple?a=b"),
        find_links=("/a", "/b"),
        cert="/ca.pem",
    )
    assert read_pip_config({"UV_INDEX_URL": "file:///srv/simple"}, files=[], uv_files=[]).indexes == (
        "file:///srv/simple",
    )


def test_uv_index_variables_are_split_as_uv_splits_them() -> None:
    """uv splits ``UV_INDEX`` at any white space (as pip splits ``PIP_EXTRA_INDEX_URL``) and ``UV_EXTRA_INDEX_URL``
    at spaces alone (its documented "space-separated list"), each value then read as a URL, whose parser drops a tab
    or line break in it: ``UV_EXTRA_INDEX_URL`` of two URLs on two lines is one index to uv, the first URL with the
    second after it. envsnap split both at any white space, and pin looked for files on an index uv never reads."""
    env = {
        "UV_INDEX": "https://a.example/simple\n\thttps://b.example/simple",
        "UV_EXTRA_INDEX_URL": "https://c.example/simple\nhttps://d.example/simple  https://e.example/simple\t",
    }
    assert read_pip_config(env, files=[], uv_files=[]).extra_index_urls == (
        "https://a.example/simple",
        "https://b.example/simple",
        "https://c.example/simplehttps://d.example/simple",
        "https://e.example/simple",
    )


def test_uv_extra_index_url_takes_no_name() -> None:
    """Only ``UV_INDEX`` and ``UV_DEFAULT_INDEX`` take uv's ``NAME=URL``; ``UV_EXTRA_INDEX_URL`` and ``UV_INDEX_URL``
    are read by uv as a URL or path alone (its ``IndexUrl``), so ``lab=https://lab.example/simple`` there is not the
    index at that URL to uv (a relative path named so) and not to envsnap: it took the URL after the name, and pin
    looked for files on an index uv never reads. No name is taken for its credentials either."""
    env = {
        "UV_EXTRA_INDEX_URL": "lab=https://lab.example/simple https://plain.example/simple",
        "UV_INDEX_URL": "main=https://main.example/simple",
        "UV_INDEX_LAB_PASSWORD": "pw",
        "UV_INDEX_MAIN_PASSWORD": "pw",
    }
    config = read_pip_config(env, files=[], uv_files=[])
    assert config.index_url == "main=https://main.example/simple"
    assert config.extra_index_urls == ("lab=https://lab.example/simple", "https://plain.example/simple")
    assert config.credentials == ()
    named = read_pip_config({"UV_INDEX": "lab=https://lab.example/simple"}, files=[], uv_files=[])
    assert named.extra_index_urls == ("https://lab.example/simple",)


def test_uv_default_index_is_read_as_a_url_is() -> None:
    """uv reads ``UV_DEFAULT_INDEX`` and ``UV_INDEX_URL`` with its URL parser, which drops a tab or line break
    anywhere in the value, as it reads each item of ``UV_EXTRA_INDEX_URL``: envsnap only stripped their ends, and
    pin asked an index whose URL held a line break, one uv never reads; a named one's credentials go with the URL
    uv reads."""
    wrapped = "https://a.example/\nsimple\n"
    assert read_pip_config({"UV_DEFAULT_INDEX": wrapped}, files=[], uv_files=[]).index_url == (
        "https://a.example/simple"
    )
    assert read_pip_config({"UV_INDEX_URL": "\thttps://b.example/sim\tple"}, files=[], uv_files=[]).index_url == (
        "https://b.example/simple"
    )
    env = {"UV_DEFAULT_INDEX": "lab=https://lab.example/\r\nsimple", "UV_INDEX_LAB_PASSWORD": "tok"}
    config = read_pip_config(env, files=[], uv_files=[])
    assert config.index_url == "https://lab.example/simple"
    assert config.credentials == (("https://lab.example/simple", ":tok", "UV_INDEX_LAB"),)


def test_uv_index_credentials_are_read_as_uv_reads_them(tmp_path: Path) -> None:
    """uv gives a named index's credentials in ``UV_INDEX_{NAME}_USERNAME`` / ``_PASSWORD``: the name upper-cased,
    each other character ``_``. They beat the URL's own ``user:password@``, go with the index that uses that name
    only (not one another setting replaced), and no repr of the configuration shows them."""
    user = tmp_path / "uv.toml"
    user.write_text(
        '[[index]]\nname = "lab-mirror.v2"\nurl = "https://old:pw@lab.example/simple"\ndefault = true\n'
        '[[index]]\nname = "flat"\nurl = "https://flat.example/w/"\nformat = "flat"\n'
        '[[index]]\nname = "gone"\nurl = "https://gone.example/simple"\n'
    )
    env = {
        "UV_INDEX_LAB_MIRROR_V2_USERNAME": "alice",
        "UV_INDEX_LAB_MIRROR_V2_PASSWORD": "s3cr3t",
        "UV_INDEX_FLAT_PASSWORD": "tok",
        "UV_INDEX_GONE_PASSWORD": "unused",
        "UV_INDEX": "cu121=https://cu.example/whl",
        "UV_INDEX_CU121_USERNAME": "bob",
        "UV_EXTRA_INDEX_URL": "https://plain.example/simple",
    }
    config = read_pip_config(env, files=[], uv_files=[user])
    assert config.index_url == "https://lab.example/simple"
    assert config.extra_index_urls == ("https://cu.example/whl", "https://plain.example/simple")
    assert config.credentials == (
        ("https://lab.example/simple", "alice:s3cr3t", "UV_INDEX_LAB_MIRROR_V2"),
        ("https://cu.example/whl", "bob:", "UV_INDEX_CU121"),
        ("https://flat.example/w/", ":tok", "UV_INDEX_FLAT"),
    )
    assert "s3cr3t" not in repr(config) and "s3cr3t" not in str(config)
    default = read_pip_config(
        {**env, "UV_DEFAULT_INDEX": "lab-mirror.v2=https://lab.example/simple"}, files=[], uv_files=[]
    )
    assert default.credentials[0] == ("https://lab.example/simple", "alice:s3cr3t", "UV_INDEX_LAB_MIRROR_V2")
    assert read_pip_config({"UV_INDEX_X_PASSWORD": "p"}, files=[], uv_files=[]).credentials == ()


def test_uv_config_files_follow_uvs_locations(tmp_path: Path) -> None:
    from envsnap.artifacts.pin import uv_config_files

    (tmp_path / "xdg" / "uv").mkdir(parents=True)
    (tmp_path / "xdg" / "uv" / "uv.toml").write_text("")
    env = {"HOME": str(tmp_path), "XDG_CONFIG_DIRS": f"{tmp_path / 'none'}:{tmp_path / 'xdg'}"}
    assert uv_config_files(env) == [tmp_path / "xdg/uv/uv.toml", tmp_path / ".config/uv/uv.toml"]
    assert uv_config_files({**env, "XDG_CONFIG_HOME": "/cfg"})[-1] == Path("/cfg/uv/uv.toml")
    assert uv_config_files({**env, "UV_CONFIG_FILE": "/site/uv.toml"}) == [Path("/site/uv.toml")]
    assert uv_config_files({**env, "UV_CONFIG_FILE": "/site/uv.toml", "UV_NO_CONFIG": "1"}) == []
    user = tmp_path / ".config" / "uv" / "uv.toml"
    user.parent.mkdir(parents=True)
    user.write_text('index-url = "https://user.example/simple"\n')
    assert read_pip_config(env, files=[]).index_url == "https://user.example/simple"
    assert read_pip_config({**env, "UV_NO_CONFIG": "true"}, files=[]).index_url == PYPI


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("index-url = [", "not a valid uv configuration file"),
        ('extra-index-url = "https://x.example/simple"\n', "extra-index-url is not a list of strings"),
        ('[[index]]\nname = "lab"\n', "an [[index]] has no url"),
    ],
)
def test_a_bad_uv_toml_is_an_error(tmp_path: Path, text: str, said: str) -> None:
    from envsnap.errors import PinError

    bad = tmp_path / "uv.toml"
    bad.write_text(text)
    with pytest.raises(PinError, match=re.escape(f"{bad}: not a valid uv configuration file")) as caught:
        read_pip_config({}, files=[], uv_files=[bad])
    assert said in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(PinError, match=re.escape("UV_CONFIG_FILE names /nowhere/uv.toml, which is not a file")):
        read_pip_config({"UV_CONFIG_FILE": "/nowhere/uv.toml"}, files=[])


# --------------------------------------------------------------------------------------------- parsing


def test_parse_simple_html_resolves_links_and_hashes() -> None:
    html = (
        '<html><body><a href="../../files/a-1.0-py3-none-any.whl#sha256=abc" data-requires-python=">=3">'
        'a-1.0-py3-none-any.whl</a><a href="https://files.example/a-1.0.tar.gz">a-1.0.tar.gz</a></body></html>'
    )
    files = parse_simple_html(html, "https://idx.example/simple/a/", "https://idx.example/simple")
    assert [(f.filename, f.url, f.sha256) for f in files] == [
        ("a-1.0-py3-none-any.whl", "https://idx.example/files/a-1.0-py3-none-any.whl", "abc"),
        ("a-1.0.tar.gz", "https://files.example/a-1.0.tar.gz", ""),
    ]


def test_parse_simple_json_keeps_size_and_upload_time() -> None:
    page = {
        "meta": {"api-version": "1.1"},
        "name": "a",
        "files": [
            {
                "filename": "a-1.0-py3-none-any.whl",
                "url": "../../f/a-1.0-py3-none-any.whl",
                "hashes": {"sha256": "abc"},
                "size": 12,
                "upload-time": "2024-01-01T00:00:00Z",
            },
            {"filename": "broken"},
            "not a dict",
        ],
    }
    files = parse_simple_json(page, "https://idx.example/simple/a/", "idx")
    assert files[0].url == "https://idx.example/f/a-1.0-py3-none-any.whl"
    assert (files[0].sha256, files[0].size, files[0].upload_time, files[0].index) == (
        "abc",
        12,
        "2024-01-01T00:00:00Z",
        "idx",
    )


@pytest.mark.parametrize("size", [True, False, -1, 2**41, 12.0, "12"])
def test_a_json_index_size_that_is_not_a_byte_count_is_taken_as_no_size(size: object) -> None:
    """``"size": true`` (a bool is an int in Python) became a size of 1 byte: the download of the file was cut at
    1 byte, or the lock recorded ``size = true``, which no later load accepts. The index gave no size."""
    page = {"files": [{"filename": "a-1.0-py3-none-any.whl", "url": "a-1.0-py3-none-any.whl", "size": size}]}
    (file,) = parse_simple_json(page, "https://idx.example/simple/a/", "idx")
    assert file.size == 0 and type(file.size) is int


@pytest.mark.parametrize(
    ("filename", "matches"),
    [
        ("numpy-2.0.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True),
        ("numpy-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl", False),  # fewer tags than were installed
        ("numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", False),
        ("numpy-2.0.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", False),
        ("NumPy-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True),  # 2.0 == 2.0.0
        ("numpy-2.0.0.tar.gz", False),
    ],
)
def test_wheel_matches_name_version_and_exact_tag_set(filename: str, matches: bool) -> None:
    pkg = PythonPackage(
        name="numpy",
        version="2.0.0",
        wheel_tags=("cp311-cp311-manylinux2014_x86_64", "cp311-cp311-manylinux_2_17_x86_64"),
    )
    assert wheel_matches(filename, pkg) is matches


# --------------------------------------------------------------------------------------------- pinning


def test_pin_from_a_pep503_file_index(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    result = pin(
        lock_of(package_for(wheel, "tinypkg", "1.0")),
        IndexConfig(index_url=index),
        cache_dir=tmp_path / "cache",
    )
    art = result.snapshot.python.packages[0].artifact
    assert art is not None
    assert art.filename == wheel.name and art.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert art.size == wheel.stat().st_size and art.index == index
    assert art.url == (tmp_path / "index" / "files" / wheel.name).as_uri()
    assert [o.status for o in result.outcomes] == ["pinned"]


def test_pin_searches_extra_indexes_and_find_links(tmp_path: Path) -> None:
    a = make_wheel(tmp_path / "build", "alpha", "1.0")
    b = make_wheel(tmp_path / "links", "beta", "2.0")
    extra = pep503_index(tmp_path / "extra", [a])
    config = IndexConfig(
        index_url=(tmp_path / "empty").as_uri(),
        extra_index_urls=(extra,),
        find_links=(str(tmp_path / "links"),),
    )
    result = pin(
        lock_of(package_for(a, "alpha", "1.0"), package_for(b, "beta", "2.0")),
        config,
        cache_dir=tmp_path / "cache",
    )
    arts = {p.name: p.artifact for p in result.snapshot.python.packages}
    assert arts["alpha"] is not None and arts["alpha"].index == extra
    assert arts["beta"] is not None and arts["beta"].index == str(tmp_path / "links")


def test_a_legacy_install_is_told_how_to_be_pinned(tmp_path: Path) -> None:
    """A venv made with ``--system-site-packages`` over Debian's python3 saw python3-blinker's egg-info (no WHEEL
    tags): bundle stopped on "the installed file cannot be identified" and said nothing the user could do."""
    index = pep503_index(tmp_path / "index", [])
    legacy = (PythonPackage("blinker", "1.5", base_site=True), PythonPackage("olde", "0.1"))
    result = pin(lock_of(*legacy), IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    reasons = {o.name: o.reason for o in result.outcomes if o.status == "unpinned"}
    cannot = "no WHEEL tags recorded (an egg-info or legacy install): the installed file cannot be identified; "
    assert reasons == {
        "blinker": f"{cannot}the base interpreter's (venv --system-site-packages), as a system package installs it; "
        "install it from a wheel into the environment (`pip install --force-reinstall --no-deps blinker==1.5`, where "
        "an index has it) and capture again",
        "olde": f"{cannot}install it from a wheel into the environment (`pip install --force-reinstall --no-deps "
        "olde==0.1`, where an index has it) and capture again",
    }


def test_a_distribution_a_debian_package_installed_is_pinned_to_the_index_file_as_a_stand_in(tmp_path: Path) -> None:
    """Debian's python3-yaml installs ``PyYAML-6.0.dist-info`` built by Debian (tag ``cp311-cp311-linux_x86_64``,
    no INSTALLER): pin recorded PyPI's ``PyYAML-6.0.tar.gz`` as "the sdist it was built from", without a word. It
    pins that file still (a lock of a system Python bundles), but says it is another build, naming the package,
    in its outcome and in the lock's warnings, once; the package keeps its ``system_package``."""
    sdist = make_sdist(tmp_path / "sdists", "pyyaml", "6.0", YAML_HEADERS)
    index = pep503_index(tmp_path / "index", [sdist])
    tags, digest = ("cp311-cp311-linux_x86_64",), "sha256:" + "1" * 64
    debian = PythonPackage(
        "pyyaml",
        "6.0",
        wheel_tags=tags,
        record_digest=digest,
        system_package="python3-yaml",
        identity=identity_of(YAML_HEADERS),
    )
    result = pin(lock_of(debian), IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    (outcome,) = result.outcomes
    note = (
        "installed by the Debian package python3-yaml; pinned to the index's file of that version, another build of "
        "the same release"
    )
    (pinned,) = result.snapshot.python.packages
    assert (outcome.status, outcome.reason, pinned.artifact is not None, pinned.system_package) == (
        "pinned",
        note,
        True,
        "python3-yaml",
    )
    assert result.stand_ins == (f"pyyaml 6.0: {note}",)
    assert [w for w in result.snapshot.envsnap.warnings if "python3-yaml" in w] == [f"pin: pyyaml 6.0: {note}"]
    # Pinned again (already pinned): said once still.
    again = pin(result.snapshot, IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    assert [w for w in again.snapshot.envsnap.warnings if "python3-yaml" in w] == [f"pin: pyyaml 6.0: {note}"]
    # python3-six's egg-info, no WHEEL tags, was refused as a file nobody can identify: a lock of a system Python
    # bundled nothing. The index's wheel of that release that fits the target stands in, its tags not taken as six's.
    wheel = make_wheel(tmp_path / "wheels", "six", "1.16.0", headers=SIX_HEADERS)
    index = pep503_index(tmp_path / "index2", [sdist, wheel])
    six = PythonPackage(
        "six", "1.16.0", record_digest=digest, system_package="python3-six", identity=identity_of(SIX_HEADERS)
    )
    result = pin(lock_of(six), IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    (pinned,) = result.snapshot.python.packages
    assert pinned.artifact is not None and (pinned.artifact.filename, pinned.wheel_tags) == (wheel.name, ())
    assert [o.reason for o in result.outcomes] == [note.replace("python3-yaml", "python3-six")]
    by_pip = PythonPackage("pyyaml", "6.0", installer="pip", wheel_tags=tags, record_digest=digest)
    result = pin(lock_of(by_pip), IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    assert [(o.status, o.reason) for o in result.outcomes] == [
        ("pinned", "no wheel cp311-cp311-linux_x86_64 on the index: pinned the sdist it was built from")
    ]
    assert result.stand_ins == ()


def test_cli_pin_says_a_debian_builds_stand_in_in_one_line_and_strict_exits_1(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pin of a lock of Debian's system Python said nothing of PyYAML pinned to the index's sdist: one warning line
    names the system package; exit 0, and 1 with --strict, as for any package pinned short of its own file."""
    sdist = make_sdist(tmp_path / "sdists", "pyyaml", "6.0", YAML_HEADERS)
    index = pep503_index(tmp_path / "index", [sdist])
    debian = PythonPackage(
        "pyyaml",
        "6.0",
        wheel_tags=("cp311-cp311-linux_x86_64",),
        record_digest="sha256:" + "1" * 64,
        system_package="python3-yaml",
        identity=identity_of(YAML_HEADERS),
    )
    lock_path = lockfile.dump(lock_of(debian), tmp_path / "envsnap.lock")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    line = (
        "stand-in pyyaml 6.0: installed by the Debian package python3-yaml; pinned to the index's file of that "
        "version, another build of the same release"
    )
    result = cli("pin", lock_path, "--cache-dir", tmp_path / "cache")
    assert result.code == 0 and result.err.count("python3-yaml") == 1 and line in result.err, result
    strict = cli("pin", lock_path, "--cache-dir", tmp_path / "cache", "--strict", "-o", tmp_path / "s.lock")
    assert strict.code == 1 and line in strict.err, strict


# Debian's python3-criu installs criu's image tool as ``crit 3.17.1``; the index's ``crit`` is another project.
CRIT_HEADERS = "Summary: CRiu Image Tool\nHome-page: https://criu.org\nAuthor: The CRIU team\n"
NAMESAKE_HEADERS = (
    "Summary: Crit: a task-list runner\nProject-URL: Source, https://example.invalid/crit\n"
    "Author-email: Someone Else <someone@example.invalid>\n"
)


def test_a_namesake_on_the_index_does_not_stand_in_for_a_debian_packages_distribution(tmp_path: Path) -> None:
    """Debian's ``crit 3.17.1`` (criu's image tool) was pinned to the index's ``crit`` wheel of that version, another
    project that shares the name, with only the stand-in warning. Its METADATA disagrees with the installed one's:
    it is not pinned, said in one line naming the field, as a package pin cannot pin; the same project's is."""
    namesake = make_wheel(tmp_path / "wheels", "crit", "3.17.1", headers=NAMESAKE_HEADERS)
    index = pep503_index(tmp_path / "index", [namesake])
    debian = PythonPackage(
        "crit",
        "3.17.1",
        record_digest="sha256:" + "1" * 64,
        system_package="python3-criu",
        identity=identity_of(CRIT_HEADERS),
    )
    result = pin(lock_of(debian), IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    (outcome,) = result.outcomes
    reason = (
        "installed by the Debian package python3-criu; the index's crit-3.17.1-py3-none-any.whl is not known to be "
        "the same project (its Summary 'crit: a task-list runner' is not the installed distribution's 'criu image "
        "tool'): not pinned to it as a stand-in"
    )
    assert (outcome.status, outcome.reason) == ("unpinned", reason)
    assert result.snapshot.python.packages[0].artifact is None and result.stand_ins == ()
    assert result.snapshot.envsnap.warnings == (f"pin: crit 3.17.1: {reason}",)
    # Another Summary than the index's, the URLs alike: the first field that disagrees is named.
    only_url = dataclasses.replace(debian, identity=("Home-page: https://criu.org",))
    (outcome,) = pin(lock_of(only_url), IndexConfig(index_url=index), cache_dir=tmp_path / "cache").outcomes
    assert outcome.status == "unpinned" and "(its Home-page/Project-URL 'example.invalid/crit' is not the " in (
        outcome.reason
    )
    # Nothing to compare (a lock that recorded no identity): no evidence, no stand-in.
    (outcome,) = pin(
        lock_of(dataclasses.replace(debian, identity=())), IndexConfig(index_url=index), cache_dir=tmp_path / "cache"
    ).outcomes
    assert outcome.status == "unpinned" and "the lock records no identity of it" in outcome.reason
    # criu's own crit on the index (Home-page with "www." and a slash, the Summary's case otherwise): pinned.
    own = make_wheel(
        tmp_path / "own",
        "crit",
        "3.17.1",
        headers="Summary: CRIU image tool\nHome-page: http://www.criu.org/\nAuthor: The CRIU team\n",
    )
    result = pin(
        lock_of(debian),
        IndexConfig(index_url=pep503_index(tmp_path / "own-index", [own])),
        cache_dir=tmp_path / "cache",
    )
    assert [o.status for o in result.outcomes] == ["pinned"] and len(result.stand_ins) == 1


def test_cli_pin_of_a_namesake_exits_as_for_a_package_it_cannot_pin(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``envsnap pin`` of a lock of Debian's crit against an index whose crit is another project: the package is
    not pinnable, its one line naming the Summary that disagreed; exit 0, 1 with --strict (docs/cli.md)."""
    index = pep503_index(tmp_path / "index", [make_sdist(tmp_path / "sdists", "crit", "3.17.1", NAMESAKE_HEADERS)])
    debian = PythonPackage(
        "crit",
        "3.17.1",
        record_digest="sha256:" + "1" * 64,
        system_package="python3-criu",
        identity=identity_of(CRIT_HEADERS),
    )
    lock_path = lockfile.dump(lock_of(debian), tmp_path / "envsnap.lock")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    result = cli("pin", lock_path, "--cache-dir", tmp_path / "cache")
    said = [line for line in result.err.splitlines() if "crit" in line]
    assert result.code == 0 and len(said) == 1 and "its Summary 'crit: a task-list runner'" in said[0], result
    assert "stand-in crit" not in result.err and "not pinnable" in result.err, result
    pinned = lockfile.load(lock_path).package("crit")
    assert pinned is not None and pinned.artifact is None
    strict = cli("pin", lock_path, "--cache-dir", tmp_path / "cache", "--strict", "-o", tmp_path / "s.lock")
    assert strict.code == 1, strict


def test_a_stand_in_a_lock_pinned_before_identity_was_recorded_is_checked_again(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock pinned before envsnap recorded ``identity`` holds Debian's crit pinned to the index's crit, a namesake
    taken by its name alone. pin and bundle run again kept it as "already pinned", the stand-in unchecked: nothing of
    the installed metadata is recorded to compare with, so it is not pinned now, one line naming the package (pin:
    exit 0, --strict 1, the file dropped from the lock; bundle: refused, nothing made)."""
    namesake = make_wheel(tmp_path / "wheels", "crit", "3.17.1", headers=NAMESAKE_HEADERS)
    index = pep503_index(tmp_path / "index", [namesake])
    taken = PythonPackage(
        "crit",
        "3.17.1",
        record_digest="sha256:" + "1" * 64,
        system_package="python3-criu",
        identity=identity_of(NAMESAKE_HEADERS),
    )
    # What an envsnap before ``identity`` wrote: the namesake pinned as the stand-in, no identity.
    (old,) = pin(lock_of(taken), IndexConfig(index_url=index), cache_dir=tmp_path / "cache").snapshot.python.packages
    assert old.artifact is not None and old.artifact.filename == namesake.name
    old = dataclasses.replace(old, identity=())
    result = pin(lock_of(old), IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    (outcome,) = result.outcomes
    assert outcome.status == "unpinned" and "python3-criu" in outcome.reason and "identity" in outcome.reason
    assert result.snapshot.python.packages[0].artifact is None and result.stand_ins == ()
    assert result.snapshot.envsnap.warnings == (f"pin: crit 3.17.1: {outcome.reason}",)
    # A release no configured place lists: said so first (what to configure), whatever the lock records of it.
    absent = dataclasses.replace(old, name="critter", artifact=None)
    (outcome,) = pin(lock_of(absent), IndexConfig(index_url=index), cache_dir=tmp_path / "cache").outcomes
    assert outcome.reason.startswith("no critter 3.17.1 file on ") and outcome.unlisted, outcome
    lock_path = lockfile.dump(lock_of(old), tmp_path / "envsnap.lock")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    strict = cli("pin", lock_path, "--cache-dir", tmp_path / "cache", "--strict", "-o", tmp_path / "s.lock")
    said = [line for line in strict.err.splitlines() if "crit" in line]
    assert strict.code == 1 and len(said) == 1 and said[0].strip().startswith("not pinned crit 3.17.1: "), strict
    assert "stand-in crit" not in strict.err, strict
    written = lockfile.load(tmp_path / "s.lock").package("crit")
    assert written is not None and written.artifact is None
    refused = cli("bundle", lock_path, "-o", tmp_path / "B", "--cache-dir", tmp_path / "cache")
    assert refused.code == 4 and "crit 3.17.1: installed by the Debian package python3-criu" in refused.err, refused
    assert not (tmp_path / "B").exists()


def test_a_stand_in_is_looked_for_among_every_file_of_the_release(tmp_path: Path) -> None:
    """pin compared the installed crit's metadata with the one file it chose (the wheel that fits best) and refused
    the package where that file was a namesake's, though the release's sdist was criu's own: every file of the
    release that fits the target is compared, the first that agrees stands in, and a refusal names each one."""
    namesake = make_wheel(tmp_path / "wheels", "crit", "3.17.1", headers=NAMESAKE_HEADERS)
    own = make_sdist(tmp_path / "sdists", "crit", "3.17.1", CRIT_HEADERS)
    debian = PythonPackage(
        "crit",
        "3.17.1",
        record_digest="sha256:" + "1" * 64,
        system_package="python3-criu",
        identity=identity_of(CRIT_HEADERS),
    )
    index = pep503_index(tmp_path / "index", [namesake, own])
    result = pin(lock_of(debian), IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    (pinned,) = result.snapshot.python.packages
    assert pinned.artifact is not None and pinned.artifact.filename == own.name and len(result.stand_ins) == 1
    # Neither file criu's: one line names each file and why.
    other = make_sdist(tmp_path / "other", "crit", "3.17.1", "Summary: Yet another crit\n")
    index = pep503_index(tmp_path / "index2", [namesake, other])
    result = pin(lock_of(debian), IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    (outcome,) = result.outcomes
    assert outcome.status == "unpinned" and result.snapshot.python.packages[0].artifact is None
    assert "\n" not in outcome.reason and outcome.reason.startswith(
        "installed by the Debian package python3-criu; none of the index's 2 files of that version"
    ), outcome.reason
    assert f"{namesake.name}: its Summary 'crit: a task-list runner'" in outcome.reason, outcome.reason
    assert f"{other.name}: its Summary 'yet another crit'" in outcome.reason, outcome.reason
    # No file could be read (each is not what the index's hash says): the first fetch error, as for any package.
    for served in (tmp_path / "index2" / "files").iterdir():
        served.write_bytes(b"not the file the index hashed")
    (outcome,) = pin(lock_of(debian), IndexConfig(index_url=index), cache_dir=tmp_path / "cache2").outcomes
    assert outcome.status == "unpinned" and "none of the index's" not in outcome.reason, outcome.reason
    assert "sha256" in outcome.reason and "\n" not in outcome.reason, outcome.reason


def test_same_name_version_tag_but_other_files_is_not_pinned(tmp_path: Path) -> None:
    installed = make_wheel(tmp_path / "local", "tinypkg", "1.0", body="VALUE = 1\n")
    upstream = make_wheel(tmp_path / "upstream", "tinypkg", "1.0", body="VALUE = 2\n")
    index = pep503_index(tmp_path / "index", [upstream])
    result = pin(
        lock_of(package_for(installed, "tinypkg", "1.0")),
        IndexConfig(index_url=index),
        cache_dir=tmp_path / "cache",
    )
    (outcome,) = result.outcomes
    assert outcome.status == "unpinned" and "RECORD digests differ" in outcome.reason
    assert result.snapshot.python.packages[0].artifact is None
    assert result.snapshot.envsnap.warnings == (f"pin: tinypkg 1.0: {outcome.reason}",)


def test_index_hash_that_does_not_match_the_file_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    page = tmp_path / "index" / "simple" / "tinypkg" / "index.html"
    page.write_text(page.read_text().replace("#sha256=", "#sha256=0"))
    result = pin(
        lock_of(package_for(wheel, "tinypkg", "1.0")),
        IndexConfig(index_url=index),
        cache_dir=tmp_path / "cache",
    )
    assert result.outcomes[0].status == "unpinned" and "does not match the index" in result.outcomes[0].reason


@pytest.mark.parametrize("damage", ["empty", "cut short", "another wheel"])
def test_a_damaged_wheel_in_the_download_cache_is_fetched_again(tmp_path: Path, damage: str) -> None:
    """A cache entry is trusted by its name (the sha256); one a crash cut short (a node lost power after the
    rename, a disk filled while a copy went in) or that changed on disk is dropped and downloaded again: `pin`,
    `bundle`, `export -f requirements` and `rebuild` each tracebacked (BadZipFile) on it, on every run, or called
    the package one with other files than the installed one."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    lock, config, cache = lock_of(package_for(wheel, "tinypkg", "1.0")), IndexConfig(index_url=index), tmp_path / "c"
    first = pin(lock, config, cache_dir=cache).snapshot.python.packages[0].artifact
    assert first is not None
    (entry,) = cache.glob(f"*/{first.sha256}/{wheel.name}")
    good = entry.read_bytes()
    other = make_wheel(tmp_path / "other", "tinypkg", "1.0", body="VALUE = 2\n").read_bytes()
    entry.write_bytes({"empty": b"", "cut short": good[: len(good) // 2], "another wheel": other}[damage])
    result = pin(lock, config, cache_dir=cache)
    assert [o.status for o in result.outcomes] == ["pinned"], result.outcomes
    assert result.snapshot.python.packages[0].artifact == first
    assert entry.read_bytes() == good


def test_unpinnable_packages_are_listed_with_reasons(tmp_path: Path) -> None:
    index = pep503_index(tmp_path / "index", [make_wheel(tmp_path / "b", "other", "1.0")])
    lock = lock_of(
        PythonPackage(name="missing", version="1.0", wheel_tags=(TAG,)),
        PythonPackage(name="legacy", version="1.0"),
        PythonPackage(
            name="local",
            version="0.1",
            source=Source(kind="directory", url="file:///src/local", editable=True),
        ),
        PythonPackage(
            name="fromgit",
            version="0.2",
            source=Source(kind="vcs", vcs="git", url="https://g/x", commit_id="a" * 40),
        ),
        PythonPackage(name="condapkg", version="1.0", installer="conda", conda_managed=True),
    )
    result = pin(lock, IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    got = {o.name: (o.status, o.reason) for o in result.outcomes}
    assert got["missing"][0] == "unpinned" and "no missing 1.0 wheel with tag py3-none-any" in got["missing"][1]
    assert got["legacy"][0] == "unpinned" and "no WHEEL tags" in got["legacy"][1]
    assert got["local"][0] == "unpinned" and "editable install from a local directory" in got["local"][1]
    assert got["fromgit"] == ("kept", f"VCS: https://g/x @ {'a' * 40} (the bundle builds a wheel)")
    assert got["condapkg"][0] == "skipped"


def test_unreachable_index_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    pkg = PythonPackage(name="tinypkg", version="1.0", wheel_tags=(TAG,))
    result = pin(lock_of(pkg), IndexConfig(index_url="http://127.0.0.1:9/simple"), cache_dir=tmp_path / "c")
    assert result.outcomes[0].status == "unpinned" and "cannot reach the index" in result.outcomes[0].reason


def test_a_cert_pip_names_that_cannot_be_loaded_says_so(tmp_path: Path) -> None:
    pkg = PythonPackage(name="tinypkg", version="1.0", wheel_tags=(TAG,))
    config = IndexConfig(index_url="http://127.0.0.1:9/simple", cert=str(tmp_path / "missing.pem"))
    result = pin(lock_of(pkg), config, cache_dir=tmp_path / "c")
    reason = result.outcomes[0].reason
    assert result.outcomes[0].status == "unpinned"
    assert f"pip's cert {tmp_path / 'missing.pem'}: cannot load the certificate bundle" in reason, reason


class _JsonIndex(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        if self.path.startswith("/simple/tinypkg/"):
            assert "application/vnd.pypi.simple.v1+json" in self.headers.get("Accept", "")
            name, data = next(iter(self.files.items()))
            body = json.dumps(
                {
                    "meta": {"api-version": "1.0"},
                    "name": "tinypkg",
                    "files": [
                        {
                            "filename": name,
                            "url": f"/files/{name}",
                            "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                            "size": len(data),
                            "upload-time": "2025-05-05T05:05:05Z",
                        }
                    ],
                }
            ).encode()
            self._send(body, "application/vnd.pypi.simple.v1+json")
        elif self.path.startswith("/files/") and self.path[7:] in self.files:
            self._send(self.files[self.path[7:]], "application/octet-stream")
        else:
            self.send_error(404)

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def json_index(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    _JsonIndex.files = {wheel.name: wheel.read_bytes()}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JsonIndex)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple", wheel
    finally:
        server.shutdown()
        server.server_close()


def test_pin_from_a_pep691_json_index_over_http(json_index: tuple[str, Path], tmp_path: Path) -> None:
    url, wheel = json_index
    result = pin(
        lock_of(package_for(wheel, "tinypkg", "1.0")),
        IndexConfig(index_url=url),
        cache_dir=tmp_path / "cache",
    )
    art = result.snapshot.python.packages[0].artifact
    assert art is not None and art.upload_time == "2025-05-05T05:05:05Z" and art.size == wheel.stat().st_size
    assert art.url == url.replace("/simple", "/files/") + wheel.name


# ------------------------------------------------------------------------------------- RECORD digests


def test_record_digest_is_the_same_for_pip_uv_and_the_wheel(tmp_path: Path, make_venv: Callable[..., Path]) -> None:
    """One wheel, installed by pip and by uv in two locations, gives the wheel's own digest."""
    wheel = make_wheel(tmp_path / "links", "tinypkg", "1.0")
    expected = wheel_record_digest(str(wheel))
    by_uv = make_venv(tmp_path / "uv-env", "--no-index", "--find-links", str(wheel.parent), "tinypkg")
    by_pip = make_venv(tmp_path / "pip env")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(by_pip),
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(wheel.parent),
            "tinypkg",
        ],
        check=True,
        env={"PIP_CONFIG_FILE": "/dev/null", "PATH": "/usr/bin:/bin"},
    )
    for python in (by_uv, by_pip):
        pkg = capture(str(python)).package("tinypkg")
        assert pkg is not None and pkg.record_digest == expected, python
    assert (tmp_path / "pip env" / "bin" / "tinypkg-tool").read_bytes().startswith(b"#!" + bytes(tmp_path))


def test_cli_pin_rewrites_the_lock(tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    lock_path = lockfile.dump(
        lock_of(package_for(wheel, "tinypkg", "1.0"), PythonPackage(name="gone", version="1.0", wheel_tags=(TAG,))),
        tmp_path / "envsnap.lock",
    )
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    result = cli("pin", lock_path, "--cache-dir", tmp_path / "cache")
    assert result.code == 0, result  # type: ignore[attr-defined]
    assert "1 pinned" in result.err and "not pinned gone 1.0" in result.err  # type: ignore[attr-defined]
    pinned = lockfile.load(lock_path)
    tiny = pinned.package("tinypkg")
    assert tiny is not None and tiny.artifact is not None and tiny.artifact.filename == wheel.name
    again = cli("pin", lock_path, "--cache-dir", tmp_path / "cache", "--json", "-o", tmp_path / "other.lock")
    outcomes = {o["name"]: o for o in json.loads(again.out)}  # type: ignore[attr-defined]
    assert outcomes["tinypkg"]["status"] == "pinned" and outcomes["tinypkg"]["reason"] == "already pinned"
    assert outcomes["gone"]["status"] == "unpinned"
    assert lockfile.load(tmp_path / "other.lock").package("tinypkg") == tiny


def test_pin_of_an_import_records_the_tags_of_the_wheel_it_chose(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``envsnap pin`` of ``twin==1.0`` imported from a requirements file, where the index has a ``py3-none-any``
    wheel and one for this interpreter: pin chose the second and recorded no wheel tags, so ``diff`` of the pinned
    lock against a capture of a venv that installed that very wheel read ``twin: (unknown) ->
    cp311-cp311-manylinux...``. The chosen wheel's tags are recorded, as its file name gives them."""
    from packaging.tags import sys_tags

    here = str(next(iter(sys_tags())))
    wheels = [make_wheel(tmp_path / "build", "twin", "1.0", tag=tag) for tag in (TAG, here)]
    index = pep503_index(tmp_path / "index", wheels)
    (tmp_path / "requirements.txt").write_text("twin==1.0\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    assert cli("import", tmp_path / "requirements.txt", "-o", tmp_path / "imp.lock").code == 0
    pinned = cli("pin", tmp_path / "imp.lock", "-o", tmp_path / "pinned.lock", "--cache-dir", tmp_path / "cache")
    assert pinned.code == 0, pinned
    twin = lockfile.load(tmp_path / "pinned.lock").package("twin")
    assert twin is not None and twin.artifact is not None and twin.artifact.filename == f"twin-1.0-{here}.whl"
    assert twin.wheel_tags == (here,)

    def installed(where: str, *args: str) -> Path:
        venv = tmp_path / where
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", *args], check=True
        )
        assert cli("capture", "--python", python, "-o", tmp_path / f"{where}.lock").code == 0
        return tmp_path / f"{where}.lock"

    result = cli("diff", tmp_path / "pinned.lock", installed("venv", "--index-url", index, "twin==1.0"))
    assert f"twin: (unknown) -> {here}" not in result.out, result.out
    assert "twin: twin-1.0-" in result.out and "(unknown) (B records no pinned file" in result.out, result.out
    assert result.code == 0, result.out
    # Another wheel of the release installed (from a folder holding it alone): its tags differ, which pin now knows.
    (tmp_path / "py3").mkdir()
    shutil.copy(wheels[0], tmp_path / "py3")
    result = cli(
        "diff", tmp_path / "pinned.lock", installed("other", "--no-index", "-f", str(tmp_path / "py3"), "twin")
    )
    assert result.code == 1 and f"twin: {here} -> {TAG} (build, wheel tag)" in result.out, result.out


def test_pin_names_the_lock_it_pinned_and_leaves_a_lock_it_does_not_change_untouched(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pin`` rewrote the lock with a new digest and nothing saying which lock it was, so a run record of that
    lock no longer knew its lock (docs/runrecord.md); a pin that changed nothing rewrote the file all the same.
    Now the pinned lock names the lock it pinned (``envsnap.pinned_from``), and a pin that finds nothing new leaves
    the file as it was, its time too, and says so."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    lock_path = lockfile.dump(
        lock_of(package_for(wheel, "tinypkg", "1.0"), PythonPackage(name="gone", version="1.0", wheel_tags=(TAG,))),
        tmp_path / "envsnap.lock",
    )
    before = lockfile.load(lock_path).envsnap.content_digest
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    args = ("--cache-dir", tmp_path / "cache", "--no-system-packages")
    first = cli("pin", lock_path, *args)
    assert first.code == 0 and f"{lock_path}: 1 pinned, 1 not pinnable" in first.err.splitlines(), first
    pinned = lockfile.load(lock_path)
    assert pinned.envsnap.content_digest != before and pinned.envsnap.pinned_from == (before,)
    text, stamp = lock_path.read_bytes(), lock_path.stat().st_mtime_ns
    os.utime(lock_path, ns=(stamp - 10**9, stamp - 10**9))
    again = cli("pin", lock_path, *args)
    assert again.code == 0 and f"{lock_path} (unchanged): 1 pinned, 1 not pinnable" in again.err.splitlines(), again
    assert lock_path.read_bytes() == text and lock_path.stat().st_mtime_ns == stamp - 10**9


# ``uv export --frozen --format requirements-txt --emit-find-links`` (uv 0.13.9) of a project whose ``[tool.uv]
# find-links = ["wheels"]`` holds the lab's labpkg: the wheel by its name alone, under the folder.
_UV_EXPORT_FIND_LINKS = """\
# This file was autogenerated by uv via the following command:
#    uv export --frozen --format requirements-txt --emit-find-links -o requirements.txt
--find-links wheels

labpkg==0.3.0
    # via proj
"""


def test_pin_says_a_lock_it_could_not_fully_pin_is_not_and_strict_exits_1(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv export``'s file imported where its find-links folder is not (the lab's wheel unreachable), then pinned:
    ``1 not pinnable`` and exit 0, nothing saying the written lock cannot be bundled or rebuilt offline, and no way
    for a script to tell. The summary ends with a note saying so, and ``--strict`` exits 1, as check's and verify's
    ``--strict`` exit 1 on warnings; the lock is written all the same."""
    (tmp_path / "requirements.txt").write_text(_UV_EXPORT_FIND_LINKS)
    monkeypatch.chdir(tmp_path)
    index = pep503_index(tmp_path / "index", [make_wheel(tmp_path / "build", "tinypkg", "1.0")])
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    args = ("--cache-dir", tmp_path / "cache", "--no-system-packages")
    plain = cli("pin", "env.lock", "-o", "pinned.lock", *args)
    assert plain.code == 0, plain
    lines = plain.err.splitlines()
    assert lines[0] == "pinned.lock: 1 not pinnable" and lines[1].startswith("  not pinned labpkg 0.3.0: "), lines
    assert lines[-1] == (
        "note: pinned.lock is not fully pinned: no file is recorded for 1 Python package, which `envsnap bundle` "
        "needs; exit 0 all the same (--strict exits 1)"
    )
    strict = cli("pin", "env.lock", "-o", "strict.lock", "--strict", *args)
    assert strict.code == 1, strict
    assert strict.err.splitlines()[-1] == (
        "note: strict.lock is not fully pinned: no file is recorded for 1 Python package, which `envsnap bundle` "
        "needs; exit 1 (--strict)"
    )
    assert lockfile.load(tmp_path / "strict.lock").package("labpkg") is not None
    printed = cli("pin", "env.lock", "-o", "-", "--strict", *args)
    assert printed.code == 1 and printed.err.splitlines()[-1].startswith(
        "note: the lock on standard output is not fully pinned: "
    ), printed

    # Every package pinned: no note, and --strict exits 0.
    (tmp_path / "requirements.txt").write_text("tinypkg==1.0\n")
    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    done = cli("pin", "env.lock", "-o", "done.lock", "--strict", *args)
    assert done.code == 0 and done.err.splitlines() == ["done.lock: 1 pinned"], done


def test_the_pin_note_names_system_packages_left_without_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    """A .deb the snapshot archive did not give is no file for ``bundle --with-system-packages``: the note counts it."""
    from envsnap.artifacts.debs import DebOutcome
    from envsnap.cli.pin import report

    snap = Snapshot(python=PythonEnv(version="3.11.7"))
    gone = DebOutcome("zlib1g", "1.2", "amd64", "unpinned", "gone")
    report(PinResult(snap, (PinOutcome("p", "1.0", "unpinned", "why"),)), "p.lock", debs=(gone, gone), strict=True)
    assert capsys.readouterr().err.splitlines()[-1] == (
        "note: p.lock is not fully pinned: no file is recorded for 1 Python package, which `envsnap bundle` needs "
        "and 2 system packages, which `bundle --with-system-packages` needs; exit 1 (--strict)"
    )


def test_pin_to_dash_prints_the_pinned_lock(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pin LOCK -o -`` wrote the pinned lock into a file named ``-`` in the working directory and said
    ``-: 1 pinned``, where ``capture -o -``, ``import -o -``, ``export -o -`` and ``fleet -o -`` print it: a
    ``pin env.lock -o - | ...`` pipe got nothing."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    lock_path = lockfile.dump(lock_of(package_for(wheel, "tinypkg", "1.0")), tmp_path / "envsnap.lock")
    before = lock_path.read_bytes()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    result = cli("pin", lock_path, "--cache-dir", tmp_path / "cache", "-o", "-", "--no-system-packages")
    assert result.code == 0, result  # type: ignore[attr-defined]
    assert not (tmp_path / "-").exists() and lock_path.read_bytes() == before
    printed = lockfile.loads(result.out)  # type: ignore[attr-defined]
    tiny = printed.package("tinypkg")
    assert tiny is not None and tiny.artifact is not None and tiny.artifact.filename == wheel.name
    assert "1 pinned" in result.err and "-:" not in result.err  # type: ignore[attr-defined]
    both = cli("pin", lock_path, "-o", "-", "--json", "--no-system-packages")
    assert both.code == 2 and "--json" in both.err and len(both.err.strip().splitlines()) == 1, both  # type: ignore[attr-defined]


@pytest.mark.parametrize("output", ["afile/pinned.lock", "afile/new/pinned.lock", "."])
def test_an_output_that_cannot_be_written_is_refused_before_any_download(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    """``pin LOCK -o afile/x.lock`` where ``afile`` is a file read every index and downloaded every wheel, then
    refused the output ("cannot write: File exists"). The output is judged first now: one line, exit 2, before any
    index is read or any file downloaded."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    lock_path = lockfile.dump(lock_of(package_for(wheel, "tinypkg", "1.0")), tmp_path / "envsnap.lock")
    before = lock_path.read_bytes()
    (tmp_path / "afile").write_text("kept\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    result = cli("pin", lock_path, "--cache-dir", tmp_path / "cache", "-o", output, "--no-system-packages")
    assert result.code == 2, result  # type: ignore[attr-defined]
    err = result.err  # type: ignore[attr-defined]
    assert err.startswith(f"envsnap: error: {output}: cannot write: ") and len(err.strip().splitlines()) == 1, err
    assert "File exists" not in err
    assert not (tmp_path / "cache").exists()  # nothing downloaded
    assert (tmp_path / "afile").read_text() == "kept\n" and lock_path.read_bytes() == before


def _pin_env(monkeypatch: pytest.MonkeyPatch, index: str) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)


def test_a_pin_that_must_pass_the_size_limit_is_refused_before_any_download(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock near ``ENVSNAP_MAX_LOCK_BYTES`` whose packages to pin each add at least a file's hash or a warning
    was pinned whole (every index read, every file downloaded), then refused as over the limit. What every package
    must add is counted first: over the limit, one line, exit 2, nothing downloaded, the lock as it was."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    _pin_env(monkeypatch, pep503_index(tmp_path / "index", [wheel]))
    packages = [PythonPackage(name=f"pkg{i:03d}", version="1.0", wheel_tags=(TAG,)) for i in range(300)]
    lock_path = lockfile.dump(lock_of(package_for(wheel, "tinypkg", "1.0"), *packages), tmp_path / "envsnap.lock")
    before = lock_path.read_bytes()
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", str(len(before) + 1000))
    result = cli("pin", lock_path, "--cache-dir", tmp_path / "cache", "--no-system-packages")
    assert result.code == 2, result  # type: ignore[attr-defined]
    err = result.err  # type: ignore[attr-defined]
    assert err.startswith("envsnap: error: the pinned lock would be at least ") and len(err.splitlines()) == 1, err
    assert f"over the limit of {len(before) + 1000} bytes" in err and "nothing downloaded, nothing written" in err
    assert not (tmp_path / "cache").exists()
    assert lock_path.read_bytes() == before


def test_a_pin_that_passes_the_size_limit_stops_downloading_when_it_does(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the first count cannot tell (a file pinned adds more than its hash), the files pinned are counted as
    they come: past the limit, the downloads still to start are not started, and nothing is written."""
    wheels = [make_wheel(tmp_path / "build", f"pkg{i:02d}", "1.0") for i in range(40)]
    _pin_env(monkeypatch, pep503_index(tmp_path / "index", wheels))
    packages = [package_for(w, f"pkg{i:02d}", "1.0") for i, w in enumerate(wheels)]
    lock_path = lockfile.dump(lock_of(*packages), tmp_path / "envsnap.lock")
    before = lock_path.read_bytes()
    limit = len(before) + 40 * 20 + 300  # passes the first count; four files pinned pass the limit
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", str(limit))
    result = cli("pin", lock_path, "--cache-dir", tmp_path / "cache", "--no-system-packages")
    assert result.code == 2, result  # type: ignore[attr-defined]
    err = result.err  # type: ignore[attr-defined]
    assert err.startswith("envsnap: error: the pinned lock would be at least ") and len(err.splitlines()) == 1, err
    assert f"over the limit of {limit} bytes" in err and "nothing written" in err, err
    downloaded = list((tmp_path / "cache").rglob("*.whl"))
    assert 0 < len(downloaded) <= 4 + 8, (downloaded, err)  # and those the 8 workers had started
    assert lock_path.read_bytes() == before
    # export --pin writes no lock: its pinning is not bounded by the lock's limit.
    out = tmp_path / "requirements.txt"
    result = cli("export", lock_path, "--format", "requirements", "--pin", "-o", out)
    assert result.code == 0, result  # type: ignore[attr-defined]
    assert out.read_text().count("--hash=sha256:") == 40


def test_capture_pin_flag(
    tmp_path: Path, cli: Callable[..., object], make_venv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    python = make_venv(tmp_path / "env", "--no-index", "--find-links", str(wheel.parent), "tinypkg")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "envsnap.lock"
    result = cli("capture", "--python", python, "-o", out, "--pin")
    assert result.code == 0, result  # type: ignore[attr-defined]
    tiny = lockfile.load(out).package("tinypkg")
    assert tiny is not None and tiny.artifact is not None
    assert tiny.artifact.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
    # It says what it pinned, in the line `envsnap pin` says of the same environment's lock (it said nothing of it).
    assert cli("capture", "--python", python, "-o", tmp_path / "plain.lock").code == 0
    pinned = cli("pin", tmp_path / "plain.lock", "-o", tmp_path / "pinned.lock", "--no-system-packages")
    said = [line for line in pinned.err.splitlines() if line.startswith(f"{tmp_path / 'pinned.lock'}: ")]  # type: ignore[attr-defined]
    assert len(said) == 1 and "pinned" in said[0], pinned
    line = f"{out}: {said[0].split(': ', 1)[1]}"
    assert line in result.err.splitlines(), result  # type: ignore[attr-defined]
    # A capture that leaves the lock as it was says so, as pin does.
    again = cli("capture", "--python", python, "-o", out, "--pin")
    assert f"{out} (unchanged): {said[0].split(': ', 1)[1]}" in again.err.splitlines(), again  # type: ignore[attr-defined]


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_capture_pin_of_a_find_links_install_gives_the_hint_pin_gives(
    installer: str,
    tmp_path: Path,
    cli: Callable[..., object],
    make_venv: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``capture --pin`` of a venv with a wheel installed from a ``--find-links`` folder no configured location lists
    warned only ``pin: tinypkg 1.0: no tinypkg 1.0 wheel ... on the configured indexes``, where ``pin`` goes on to
    say what finds it; the capture says it too, once, after its warnings. It said "a package pip installed" of one uv
    installed (its INSTALLER file says uv), and named pip's settings first: it names the installer, and its own."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    if installer == "uv":
        python = make_venv(tmp_path / "env")
        offline = ["--no-index", "--find-links", str(wheel.parent)]
        subprocess.run(
            [str(uv_bin()), "pip", "install", "-q", "--python", str(python), *offline, "tinypkg"],
            check=True,
            timeout=300,
        )
    else:  # the venv's own pip, as `python -m venv` seeds it
        subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "env")], check=True, timeout=300)
        python = tmp_path / "env" / "bin" / "python"
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheel.parent), "tinypkg"],
            check=True,
            timeout=300,
        )
    info = next((tmp_path / "env" / "lib").glob("python3*/site-packages/tinypkg-1.0.dist-info"))
    assert (info / "INSTALLER").read_text().strip() == installer
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", pep503_index(tmp_path / "index", []))
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "UV_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = cli("capture", "--python", python, "-o", tmp_path / "envsnap.lock", "--pin")
    assert result.code == 0, result  # type: ignore[attr-defined]
    lines = result.err.splitlines()  # type: ignore[attr-defined]
    assert lines[-3].startswith("warning: pin: tinypkg 1.0: no tinypkg 1.0 wheel"), lines
    # pin's line (the venv's own pip and setuptools are pinned beside), then its note.
    assert lines[-2].startswith(f"{tmp_path / 'envsnap.lock'}: ") and lines[-2].endswith("1 not pinnable"), lines
    assert lines[-1] == f"note: {find_links_hint([installer])}", lines
    assert lines[-1].startswith(f"note: a package {installer} installed from a --find-links folder is found once "), (
        lines
    )
    setting = {
        "uv": "UV_FIND_LINKS=DIR or find-links in uv.toml",
        "pip": "PIP_FIND_LINKS=DIR or find-links in pip.conf",
    }
    assert lines[-1].index(setting[installer]) < lines[-1].index(setting["pip" if installer == "uv" else "uv"])
    # pin says it after its list, of the same lock.
    pinned = cli("pin", tmp_path / "envsnap.lock", "-o", tmp_path / "pinned.lock")
    assert f"  ({find_links_hint([installer])})" in pinned.err.splitlines(), pinned  # type: ignore[attr-defined]


def test_pin_of_an_import_whose_wheel_came_from_a_find_links_folder_gives_the_hint(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pin`` of a lock imported from a hashed requirements file, whose wheel was installed from a ``--find-links``
    folder no configured location lists, said only "no tinypkg 1.0 file with sha256 ... on the configured indexes",
    where a captured lock gets the hint that says what finds it: the import gets it too."""
    wheel = make_wheel(tmp_path / "links", "tinypkg", "1.0")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    index = pep503_index(tmp_path / "index", [])  # the one the file names, and the one configured: nothing remote
    (tmp_path / "requirements.txt").write_text(f"--index-url {index}\ntinypkg==1.0 --hash=sha256:{digest}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "UV_CONFIG_FILE", "UV_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    imported = cli("import", tmp_path / "requirements.txt", "-o", tmp_path / "imported.lock")
    assert imported.code == 0, imported  # type: ignore[attr-defined]
    pinned = cli("pin", tmp_path / "imported.lock", "-o", tmp_path / "pinned.lock")
    lines = pinned.err.splitlines()  # type: ignore[attr-defined]
    assert any("no tinypkg 1.0 file with sha256" in line for line in lines), pinned
    assert f"  ({FIND_LINKS_HINT})" in lines, pinned
    # Configured with that folder, as the hint says, it pins the file.
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheel.parent))
    found = cli("pin", tmp_path / "imported.lock", "-o", tmp_path / "pinned.lock")
    assert found.code == 0 and FIND_LINKS_HINT not in found.err, found  # type: ignore[attr-defined]


def test_the_find_links_hint_names_each_installer_and_no_other_value() -> None:
    """Packages pip and uv installed: both named, each with its setting; a value the lock records for another
    installer (any text) is never printed, and reads as pip's, as a lock recording none does."""
    both = find_links_hint(["uv", "pip", "uv"])
    assert both.startswith("a package pip or uv installed from a --find-links folder") and "PIP_FIND_LINKS" in both
    assert "UV_FIND_LINKS" in both
    assert find_links_hint(["conda\x1b[31m", ""]) == find_links_hint([]) == FIND_LINKS_HINT
    assert find_links_hint(["uv", "poetry"]).startswith("a package uv installed")


def test_capture_pin_takes_the_allow_url_its_warning_asks_for(
    tmp_path: Path, cli: Callable[..., object], make_venv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``envsnap capture --pin`` of a venv with ``pip install ./dist/x.whl`` warned "pass --allow-url PATTERN to
    allow it", and capture had no ``--allow-url``: exit 2 ("unrecognized arguments"). It takes the option now, as
    ``pin`` does; without ``--pin`` it is one line, exit 2."""
    wheel = make_wheel(tmp_path / "dist", "tinypkg", "1.0")
    python = make_venv(tmp_path / "env", str(wheel))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", pep503_index(tmp_path / "index", []))
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "ENVSNAP_ALLOW_URL", "UV_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "envsnap.lock"
    refused = cli("capture", "--python", python, "-o", out, "--pin")
    assert refused.code == 0 and "pass --allow-url PATTERN" in refused.err, refused  # type: ignore[attr-defined]
    tiny = lockfile.load(out).package("tinypkg")
    assert tiny is not None and tiny.artifact is None
    allowed = cli("capture", "--python", python, "-o", out, "--pin", "--allow-url", f"{tmp_path / 'dist'}/*")
    assert allowed.code == 0, allowed  # type: ignore[attr-defined]
    assert "--allow-url" not in allowed.err, allowed  # type: ignore[attr-defined]
    tiny = lockfile.load(out).package("tinypkg")
    assert tiny is not None and tiny.artifact is not None
    assert tiny.artifact.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
    alone = cli("capture", "--python", python, "-o", tmp_path / "other.lock", "--allow-url", "x")
    assert alone.code == 2, alone  # type: ignore[attr-defined]
    assert alone.err.strip().splitlines() == [  # type: ignore[attr-defined]
        "envsnap: error: --allow-url is for --pin: capture reads no URL without it"
    ]


def test_export_takes_the_allow_url_its_pinning_asks_for(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``envsnap export LOCK -f dockerfile`` of a capture with ``pip install ../dist/x.whl`` (a wheel the docker
    build needs pinned) pins first, and failed with "pass --allow-url PATTERN to allow it", which export did not take
    (exit 2, unrecognized arguments). It takes the option for the pinning it does; with ``--no-pin``, which reads no
    URL, it is one line, exit 2."""
    wheel = make_wheel(tmp_path / "dist", "tinypkg", "1.0")
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "env")], check=True)
    python = tmp_path / "env" / "bin" / "python"
    # pip, as a user's ``pip install ../dist/x.whl``: its direct_url.json records the file's sha256 (uv's does not)
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)], check=True)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", pep503_index(tmp_path / "index", []))
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "ENVSNAP_ALLOW_URL", "UV_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "paper").mkdir()
    monkeypatch.chdir(tmp_path / "paper")  # the wheel's folder is outside the lock's
    lock = tmp_path / "paper" / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0  # type: ignore[attr-defined]
    # The venv's own pip and setuptools are pinned from this Python's seed wheels; tinypkg alone is refused.
    refused = cli("export", lock, "-f", "dockerfile", "-o", tmp_path / "ctx")
    assert refused.code == 2, refused  # type: ignore[attr-defined]
    assert "tinypkg 1.0" in refused.err and "pass --allow-url PATTERN" in refused.err, refused  # type: ignore[attr-defined]
    allowed = cli("export", lock, "-f", "dockerfile", "-o", tmp_path / "ctx", "--allow-url", f"{tmp_path / 'dist'}/*")
    assert allowed.code == 0, allowed  # type: ignore[attr-defined]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert f"--hash=sha256:{digest}" in (tmp_path / "ctx" / "requirements.txt").read_text()
    contradicted = cli("export", lock, "-f", "requirements", "-o", "-", "--no-pin", "--allow-url", "x")
    assert contradicted.code == 2, contradicted  # type: ignore[attr-defined]
    assert contradicted.err.strip().splitlines() == [  # type: ignore[attr-defined]
        "envsnap: error: --allow-url is for the pinning export does: --no-pin reads no URL"
    ]


def test_a_failed_pinning_names_only_the_packages_the_format_needs_a_file_for(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``export -f requirements`` of a lock with an index package no configured index has (a ``--find-links``
    install) and a wheel installed by path (which requirements writes by its URL and sha256, pinned or not) said
    "pinning left 2 package(s) without a file: local 1.0: ... pass --allow-url ...; gone 1.0: ...": the fix it
    offered first changed nothing. It names the packages the format refused; ``dockerfile``, which needs the
    local wheel pinned too, names both."""
    from envsnap.model import Source

    local = make_wheel(tmp_path / "dist", "local", "1.0")
    digest = hashlib.sha256(local.read_bytes()).hexdigest()
    archive = Source(kind="archive", url=local.as_uri(), archive_hash=f"sha256={digest}")
    lock = lock_of(
        dataclasses.replace(package_for(local, "local", "1.0"), source=archive),
        package_for(make_wheel(tmp_path / "elsewhere", "gone", "1.0"), "gone", "1.0"),
    )
    path = lockfile.dump(lock, tmp_path / "paper" / "envsnap.lock")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", pep503_index(tmp_path / "index", []))
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "ENVSNAP_ALLOW_URL", "UV_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path / "paper")
    result = cli("export", path, "-f", "requirements", "-o", "-")
    assert result.code == 2, result  # type: ignore[attr-defined]
    err = result.err  # type: ignore[attr-defined]
    assert err.startswith("envsnap: error: requirements: pinning left 1 package(s) without a file: gone 1.0: "), err
    assert "local 1.0" not in err and "--allow-url" not in err, err
    # As pin and bundle say it: no configured location lists any file of gone 1.0 (a --find-links install?).
    assert err.rstrip().endswith(f"({FIND_LINKS_HINT})"), err
    both = cli("export", path, "-f", "dockerfile", "-o", tmp_path / "ctx")
    assert both.code == 2, both  # type: ignore[attr-defined]
    said = both.err  # type: ignore[attr-defined]
    assert "pinning left 2 package(s) without a file: " in said and "local 1.0: " in said, said


def test_capturing_again_keeps_the_pinned_lock_of_the_same_environment(
    tmp_path: Path, cli: Callable[..., object], make_venv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``capture``, ``pin``, then ``capture`` again of the unchanged environment (a Makefile step, a habit) wrote an
    unpinned lock over the pinned one: every pinned file gone, the next bundle pinning again on the network, and a
    large change for git. A lock that records this environment, pinned (its identity), is left as it was; a changed
    environment is captured anew, and ``capture --pin`` writes what its own pinning found."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    python = make_venv(tmp_path / "env", "--no-index", "--find-links", str(wheel.parent), "tinypkg")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "UV_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", out).code == 0  # type: ignore[attr-defined]
    assert cli("pin", out, "--no-system-packages").code == 0  # type: ignore[attr-defined]
    pinned = out.read_bytes()
    kept = lockfile.load(out)
    assert kept.package("tinypkg").artifact is not None  # type: ignore[union-attr]
    again = cli("capture", "--python", python, "-o", out)
    assert again.code == 0, again  # type: ignore[attr-defined]
    assert out.read_bytes() == pinned
    said = again.err  # type: ignore[attr-defined]
    assert f"unchanged: {out} already records this environment ({kept.envsnap.content_digest[:19]}...)" in said, said
    other = str(make_wheel(tmp_path / "build2", "otherpkg", "2.0"))
    uv = uv_bin()
    install = [uv, "pip", "install", "-q", "--python"] if uv else [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*install, *([str(python)] if uv else []), other], check=True)  # one more package
    changed = cli("capture", "--python", python, "-o", out)
    assert changed.code == 0 and f"wrote {out}" in changed.err, changed  # type: ignore[attr-defined]
    assert lockfile.load(out).package("otherpkg") is not None


def test_capturing_again_after_committing_the_lock_leaves_it_as_it_was(
    tmp_path: Path, cli: Callable[..., object], make_venv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock kept in its project names the commit it was captured at, so it is committed after it: ``capture``,
    ``pin``, ``git commit envsnap.lock``, then ``capture`` again wrote the lock anew for the new commit, which changes
    only the lock (pins gone, a change to commit again, and so on for ever). Commits that change only envsnap's files
    leave the code the one the lock records (as ``rerun`` and ``bundle`` judge it): the lock is left as it was; a
    commit of code is a new state, captured anew."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    python = make_venv(tmp_path / "env", "--no-index", "--find-links", str(wheel.parent), "tinypkg")
    for name, value in (("PIP_CONFIG_FILE", "/dev/null"), ("PIP_INDEX_URL", index), ("UV_NO_CONFIG", "1")):
        monkeypatch.setenv(name, value)
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "UV_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = tmp_path / "paper"
    project.mkdir()
    (project / "train.py").write_text("print(1)\n")
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "train.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "code"], check=True)
    monkeypatch.chdir(project)
    lock = project / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0  # type: ignore[attr-defined]
    assert cli("pin", lock, "--no-system-packages").code == 0  # type: ignore[attr-defined]
    subprocess.run([*git, "add", "envsnap.lock"], check=True)
    subprocess.run([*git, "commit", "-qm", "the lock"], check=True)
    committed = lock.read_bytes()
    again = cli("capture", "--python", python, "-o", lock)
    assert again.code == 0 and "unchanged: " in again.err, again  # type: ignore[attr-defined]
    assert lock.read_bytes() == committed
    (project / "train.py").write_text("print(2)\n")
    subprocess.run([*git, "commit", "-qam", "more code"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    moved = cli("capture", "--python", python, "-o", lock)
    assert moved.code == 0 and f"wrote {lock}" in moved.err, moved  # type: ignore[attr-defined]
    recorded = lockfile.load(lock).project
    assert recorded is not None and recorded.commit == head


def test_export_pins_through_envsnap_pin(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    lock_path = lockfile.dump(lock_of(package_for(wheel, "tinypkg", "1.0")), tmp_path / "envsnap.lock")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = cli("export", lock_path, "-f", "requirements", "--pin", "-o", "-")
    assert result.code == 0, result  # type: ignore[attr-defined]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert f"--hash=sha256:{digest}" in result.out  # type: ignore[attr-defined]


def test_hash_only_artifact_is_completed_by_its_sha256(tmp_path: Path) -> None:
    """A lock imported from a hashed requirements file knows only the sha256: pin finds the file."""
    from envsnap.model import Artifact

    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    other = make_wheel(tmp_path / "other", "tinypkg", "1.0", body="VALUE = 2\n", tag="py2-none-any")
    index = pep503_index(tmp_path / "index", [other, wheel])
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    known = PythonPackage(name="tinypkg", version="1.0", artifact=Artifact(filename="", url="", sha256=digest))
    missing = PythonPackage(name="tinypkg2", version="1.0", artifact=Artifact(filename="", url="", sha256="0" * 64))
    result = pin(lock_of(known, missing), IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    got = {o.name: o for o in result.outcomes}
    assert got["tinypkg"].status == "pinned" and got["tinypkg"].artifact is not None
    assert got["tinypkg"].artifact.filename == wheel.name and got["tinypkg"].artifact.sha256 == digest
    assert got["tinypkg2"].status == "unpinned" and "no tinypkg2 1.0 file with sha256" in got["tinypkg2"].reason


def test_a_distribution_rebuilt_seed_wheel_pins_from_the_distributions_wheel_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Debian's ``python3 -m venv`` seeds its own pip/setuptools wheels from /usr/share/python-wheels: the index
    has other files under the same name, so the whole venv was refused by pin and bundle. That folder (and
    sysconfig's WHEEL_PKG_DIR) is searched last, as find-links, and its file proven by RECORD digest."""
    import envsnap.artifacts.pin as pin_module

    debian = make_wheel(tmp_path / "python-wheels", "pip", "23.0.1", body="VALUE = 'debian'\n")
    upstream = make_wheel(tmp_path / "upstream", "pip", "23.0.1", body="VALUE = 'upstream'\n")
    index = pep503_index(tmp_path / "index", [upstream])
    monkeypatch.setattr(
        pin_module, "DISTRIBUTION_WHEEL_DIRS", (str(tmp_path / "python-wheels"), str(tmp_path / "absent"))
    )
    result = pin(
        lock_of(package_for(debian, "pip", "23.0.1")), IndexConfig(index_url=index), cache_dir=tmp_path / "cache"
    )
    (outcome,) = result.outcomes
    art = result.snapshot.python.packages[0].artifact
    assert outcome.status == "pinned" and art is not None, outcome
    assert art.filename == debian.name and art.sha256 == hashlib.sha256(debian.read_bytes()).hexdigest()
    assert (art.url, art.index) == ("", "")  # by name and sha256, not by a folder of this host
    assert pin_module.with_seed_wheels(IndexConfig(find_links=("/mine",))).find_links[0] == "/mine"


def test_a_debian_seed_wheel_is_recorded_by_name_and_sha256_not_by_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """A venv made by Debian's ``python3 -m venv`` holds pip from ``/usr/share/python-wheels``: pin and ``bundle
    --offline`` recorded its wheel as ``file:///usr/share/python-wheels/pip-...whl`` (index the folder), a path of
    the bundler's host in a published lock, where ensurepip's wheel is known by its name and sha256 alone. It is
    recorded the same way now, and the bundle still holds the very file."""
    import envsnap.artifacts.pin as pin_module

    seeds = tmp_path / "usr" / "share" / "python-wheels"
    debian = make_wheel(seeds, "pip", "23.0.1", body="VALUE = 'debian'\n")
    monkeypatch.setattr(pin_module, "DISTRIBUTION_WHEEL_DIRS", (str(seeds),))
    monkeypatch.chdir(tmp_path)
    lock = lockfile.dump(lock_of(package_for(debian, "pip", "23.0.1")), tmp_path / "env.lock")
    result = cli("bundle", lock, "-o", tmp_path / "b", "--offline", "--cache-dir", tmp_path / "cache")
    assert result.code == 0, result
    text = (tmp_path / "b" / "envsnap.lock").read_text()
    assert "python-wheels" not in text and str(tmp_path) not in text, text
    art = lockfile.load(tmp_path / "b" / "envsnap.lock").python.packages[0].artifact
    assert art is not None and (art.filename, art.url, art.index) == (debian.name, "", "")
    assert art.sha256 == hashlib.sha256(debian.read_bytes()).hexdigest()
    assert (tmp_path / "b" / "wheels" / debian.name).read_bytes() == debian.read_bytes()


def test_an_unpinned_debian_venv_lock_exported_names_the_seed_wheel_its_pinning_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``envsnap export LOCK -f requirements`` (or pylock) of a Debian venv's unpinned capture pins it first: pip
    from /usr/share/python-wheels, recorded by name and sha256. The export named this machine's seed file only for
    a lock pinned before, so this one pinned Debian's pip by name and hash (pip then fails on PyPI's file) and the
    pylock was refused with a placeholder (`envsnap export BUNDLE_DIR`). What export pins is named as well."""
    import tomllib

    import envsnap.artifacts.pin as pin_module

    seeds = tmp_path / "usr" / "share" / "python-wheels"
    debian = make_wheel(seeds, "pip", "23.0.1", body="VALUE = 'debian'\n")
    monkeypatch.setattr(pin_module, "DISTRIBUTION_WHEEL_DIRS", (str(seeds),))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.chdir(tmp_path)
    lock = lockfile.dump(lock_of(package_for(debian, "pip", "23.0.1")), tmp_path / "env.lock")
    result = cli("export", lock, "-f", "requirements", "-o", tmp_path / "requirements.txt")
    assert result.code == 0 and "note:" not in result.err, result
    assert f"pip @ {debian.as_uri()} \\\n" in (tmp_path / "requirements.txt").read_text()
    result = cli("export", lock, "-f", "pylock", "-o", tmp_path / "pylock.toml")
    assert result.code == 0, result
    (entry,) = tomllib.loads((tmp_path / "pylock.toml").read_text())["packages"]
    assert entry["wheels"][0]["path"] == str(debian), entry
    assert "python-wheels" not in lock.read_text()


def test_a_venv_s_seed_wheels_pin_offline_from_the_interpreter_s_ensurepip_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python3 -m venv`` of a CPython from python.org, pyenv or uv seeds pip (and setuptools) from the wheels in
    its standard library's ``ensurepip/_bundled``: ``bundle --offline`` of such a venv found no pip wheel in the
    find-links folders and refused the whole bundle, though the very file pip was installed from is on the machine.
    That folder is searched last, as a seed-wheel folder, its file proven by RECORD digest."""
    import sysconfig

    import envsnap.artifacts.pin as pin_module

    stdlib = tmp_path / "lib" / "python3.11"
    seeded = make_wheel(stdlib / "ensurepip" / "_bundled", "pip", "23.2.1", body="VALUE = 'bundled'\n")
    real = sysconfig.get_path
    monkeypatch.setattr(sysconfig, "get_path", lambda name, *a, **k: str(stdlib) if name == "stdlib" else real(name))
    monkeypatch.setattr(pin_module, "DISTRIBUTION_WHEEL_DIRS", ())
    result = pin(
        lock_of(package_for(seeded, "pip", "23.2.1")), IndexConfig(), cache_dir=tmp_path / "cache", offline=True
    )
    (outcome,) = result.outcomes
    art = result.snapshot.python.packages[0].artifact
    assert outcome.status == "pinned" and art is not None, outcome
    assert art.filename == seeded.name and art.sha256 == hashlib.sha256(seeded.read_bytes()).hexdigest()
    # Known by its name and sha256, as a file of a find-links folder an import names: no path of this machine.
    assert (art.url, art.index) == ("", "")


def test_a_bundle_of_a_fresh_venv_names_its_seed_wheels_by_hash_not_by_the_bundlers_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``bundle --offline`` of a fresh venv pinned pip from the bundler's ``ensurepip/_bundled`` and recorded it as
    ``file://~/.pyenv/versions/3.11.7/lib/python3.11/ensurepip/_bundled/pip-...whl``: a path of the bundler's
    machine in a published lock, naming a file no reviewer has. The bundle holds the wheel, its sha256 pins it:
    the lock names it by those, and a rebuild from the bundle installs it."""
    import sysconfig

    import envsnap.artifacts.pin as pin_module

    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    stdlib = home / ".pyenv" / "versions" / "3.11.7" / "lib" / "python3.11"
    seeded = make_wheel(stdlib / "ensurepip" / "_bundled", "pip", "23.2.1", body="VALUE = 'bundled'\n")
    real = sysconfig.get_path
    monkeypatch.setattr(sysconfig, "get_path", lambda name, *a, **k: str(stdlib) if name == "stdlib" else real(name))
    monkeypatch.setattr(pin_module, "DISTRIBUTION_WHEEL_DIRS", ())
    monkeypatch.chdir(tmp_path)
    lock = lockfile.dump(lock_of(package_for(seeded, "pip", "23.2.1")), tmp_path / "env.lock")
    result = cli("bundle", lock, "-o", tmp_path / "b", "--offline", "--cache-dir", tmp_path / "cache")
    assert result.code == 0, result
    text = (tmp_path / "b" / "envsnap.lock").read_text()
    assert "ensurepip" not in text and ".pyenv" not in text and str(home) not in text, text
    art = lockfile.load(tmp_path / "b" / "envsnap.lock").python.packages[0].artifact
    assert art is not None and art.filename == seeded.name and art.url == ""
    assert art.sha256 == hashlib.sha256(seeded.read_bytes()).hexdigest()
    assert (tmp_path / "b" / "wheels" / seeded.name).read_bytes() == seeded.read_bytes()
    assert "ensurepip" not in (tmp_path / "b" / "README.md").read_text()
    # The bundle's pylock names the bundle's own wheel; the lock alone says where the file is.
    result = cli("export", tmp_path / "b", "--format", "pylock", "-o", tmp_path / "pylock.toml")
    assert result.code == 0, result
    assert f'path = "{(tmp_path / "b" / "wheels" / seeded.name).resolve()}"' in (tmp_path / "pylock.toml").read_text()
    # The lock alone, on a machine whose seed folder holds that very file, names it there; elsewhere it says where
    # the file is.
    result = cli("export", tmp_path / "b" / "envsnap.lock", "--format", "pylock", "-o", tmp_path / "p2.toml")
    assert result.code == 0 and f'path = "{seeded}"' in (tmp_path / "p2.toml").read_text(), result
    seeded.unlink()
    result = cli("export", tmp_path / "b" / "envsnap.lock", "--format", "pylock", "-o", tmp_path / "p2.toml")
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert f"`envsnap export {tmp_path / 'b'} --format pylock -o {tmp_path / 'p2.toml'}`" in result.err, result


def test_a_refused_url_is_found_on_the_configured_index_under_another_spelling_of_its_name(tmp_path: Path) -> None:
    """uv's lock writes a wheel's name normalised (``markupsafe-3.0.2-...whl``) where the index lists
    ``MarkupSafe-3.0.2-...whl``: a lock URL the fetch policy refused was looked for again on the configured
    indexes by exact file name and not found, so an imported uv lock could not be rebuilt."""
    from envsnap.artifacts.pin import IndexFile, Pinner

    wheel = make_wheel(tmp_path / "build", "MarkupLike", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    pinner = Pinner(IndexConfig(index_url=index), tmp_path / "cache")
    locked = IndexFile(wheel.name.lower(), "http://10.0.0.1/files/" + wheel.name.lower(), sha256=sha)
    path, got = pinner.fetch(locked)
    assert got == sha and path.read_bytes() == wheel.read_bytes() and path.name == wheel.name.lower()
    other = IndexFile("marku_plike-1.0-py3-none-any.whl", "http://10.0.0.1/x.whl", sha256=sha)
    with pytest.raises(FetchRefusedError):
        pinner.fetch(other)


def test_a_refused_url_whose_file_the_index_now_serves_changed_says_so(tmp_path: Path) -> None:
    """A lock pinned years ago against an index that since serves another file under the same name (re-uploaded,
    rebuilt): the refusal said 'no configured index lists this file', though the index listed it, under another
    sha256. It now says the index lists another file and where the locked one may still be."""
    from envsnap.artifacts.pin import IndexFile, Pinner

    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = pep503_index(tmp_path / "index", [wheel])
    served = hashlib.sha256(wheel.read_bytes()).hexdigest()
    pinner = Pinner(IndexConfig(index_url=index), tmp_path / "cache")
    locked = IndexFile(wheel.name, "http://10.0.0.1/files/" + wheel.name, sha256="ab" * 32)
    with pytest.raises(FetchRefusedError) as caught:
        pinner.fetch(locked)
    said = str(caught.value)
    assert "no configured index lists this file" not in said, said
    assert f"a configured index lists {wheel.name} with another sha256 than the lock's {'ab' * 32}" in said, said
    assert served not in said, said  # the index's hash of its file is not shown (it may be a local folder's)
    assert "--allow-url" in said and "bundle" in said, said


def test_a_find_links_folder_an_import_recorded_is_read_as_a_folder(tmp_path: Path) -> None:
    """A lock imported from ``--find-links DIR`` + a hash: its index is the folder, which pin read as a PEP 503
    index (``DIR/tinypkg/``) and never found the wheel in. A lock's folder is read once the user allows it (or
    configures it): until then the reason names the location and the option."""
    from envsnap.model import Artifact

    wheel = make_wheel(tmp_path / "links", "tinypkg", "1.0")
    links = str(tmp_path / "links")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    known = PythonPackage(
        name="tinypkg", version="1.0", artifact=Artifact(filename="", url="", sha256=digest, index=links)
    )
    empty = pep503_index(tmp_path / "empty", [])
    (refused,) = pin(lock_of(known), IndexConfig(index_url=empty), cache_dir=tmp_path / "c1").outcomes
    assert refused.status == "unpinned"
    assert f"the --find-links location {links!r} the import named is not read" in refused.reason
    assert "--allow-url" in refused.reason
    for config, allow in (
        (IndexConfig(index_url=empty), (links,)),
        (IndexConfig(index_url=empty, find_links=(links,)), ()),
    ):
        result = pin(lock_of(known), config, cache_dir=tmp_path / "c2", allow_urls=allow)
        (outcome,) = result.outcomes
        assert outcome.status == "pinned", outcome.reason
        art = result.snapshot.python.packages[0].artifact
        assert art is not None and (art.filename, art.sha256, art.index) == (wheel.name, digest, links)


def test_a_local_archive_pip_installed_is_pinned_once_its_folder_is_allowed(tmp_path: Path) -> None:
    """``pip install ./tinypkg-1.0-py3-none-any.whl`` records a file: URL and the wheel's sha256: pin said "no
    reachable URL and sha256" even with ``--allow-url`` for that folder. Allowed, the file is read and proven;
    refused, the reason names the option; a file changed since the install is not taken."""
    import dataclasses

    wheel = make_wheel(tmp_path / "wheels", "tinypkg", "1.0")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    pkg = dataclasses.replace(
        package_for(wheel, "tinypkg", "1.0"),
        source=Source(kind="archive", url=wheel.as_uri(), archive_hash=f"sha256={digest}"),
    )
    empty = IndexConfig(index_url=pep503_index(tmp_path / "empty", []))
    (refused,) = pin(lock_of(pkg), empty, cache_dir=tmp_path / "c1").outcomes
    assert refused.status == "unpinned" and "--allow-url" in refused.reason, refused.reason
    allow = ((tmp_path / "wheels").as_uri() + "/*",)
    result = pin(lock_of(pkg), empty, cache_dir=tmp_path / "c2", allow_urls=allow)
    assert [o.status for o in result.outcomes] == ["pinned"], result.outcomes
    art = result.snapshot.python.packages[0].artifact
    assert art is not None and (art.filename, art.sha256, art.url) == (wheel.name, digest, wheel.as_uri())
    make_wheel(tmp_path / "wheels", "tinypkg", "1.0", body="VALUE = 2\n")  # the file changed since the install
    (changed,) = pin(lock_of(pkg), empty, cache_dir=tmp_path / "c3", allow_urls=allow).outcomes
    assert changed.status == "unpinned"


@pytest.mark.parametrize("kind", ["sdist", "wheel"])
def test_a_refused_local_archive_stays_refused_when_the_cache_holds_its_file(tmp_path: Path, kind: str) -> None:
    """``pin`` refused a ``file:///.../tinypkg-1.0.tar.gz`` source without ``--allow-url``; once a run with the flag
    had put its sha256 into the download cache, the same pin without the flag pinned it. The fetch policy decides
    alone (a cache never changes a result): refused, with the option named, whatever the cache holds."""
    import dataclasses
    import tarfile

    if kind == "wheel":
        archive = make_wheel(tmp_path / "wheels", "tinypkg", "1.0")
    else:
        archive = tmp_path / "wheels" / "tinypkg-1.0.tar.gz"
        (tmp_path / "src" / "tinypkg-1.0").mkdir(parents=True)
        archive.parent.mkdir()
        (tmp_path / "src" / "tinypkg-1.0" / "PKG-INFO").write_text("Name: tinypkg\nVersion: 1.0\n")
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(tmp_path / "src" / "tinypkg-1.0", arcname="tinypkg-1.0")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    pkg = dataclasses.replace(
        package_for(make_wheel(tmp_path / "build", "tinypkg", "1.0"), "tinypkg", "1.0"),
        source=Source(kind="archive", url=archive.as_uri(), archive_hash=f"sha256={digest}"),
    )
    empty = IndexConfig(index_url=pep503_index(tmp_path / "empty", []))
    cache = tmp_path / "cache"
    (before,) = pin(lock_of(pkg), empty, cache_dir=cache).outcomes
    assert before.status == "unpinned" and "--allow-url" in before.reason, before.reason
    allow = ((tmp_path / "wheels").as_uri() + "/*",)
    (allowed,) = pin(lock_of(pkg), empty, cache_dir=cache, allow_urls=allow).outcomes
    assert allowed.status == "pinned", allowed.reason
    (after,) = pin(lock_of(pkg), empty, cache_dir=cache).outcomes
    assert (after.status, after.reason) == (before.status, before.reason)
    # Named once: a wheel's said "tinypkg-1.0-py3-none-any.whl: tinypkg-1.0-py3-none-any.whl: the lock's URL ...".
    assert after.reason.startswith(f"{archive.name}: the lock's URL "), after.reason
    assert digest not in after.reason  # the hash of a local file is never shown


def test_a_find_links_folder_in_the_project_or_the_home_is_recorded_by_its_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip install --find-links ./wheels`` in the project: pin recorded the wheel as
    ``file:///home/alice/proj/wheels/x.whl`` and its index as pip's ``./wheels``, where capture writes
    ``{project}/...``: the lock named the user's home, and a moved copy of the project could not be bundled.
    Inside the project both are ``file://{project}/...``, under the home ``file://~/...``, and a bundle made from
    a moved copy of the project reads the wheel there."""
    import shutil

    from envsnap.artifacts.bundle import BundleOptions, make_bundle

    home = tmp_path / "home"
    project = home / "proj"
    wheel = make_wheel(project / "wheels", "tinypkg", "1.0")
    other = make_wheel(home / "shared", "otherpkg", "2.0")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project)
    empty = pep503_index(tmp_path / "empty", [])
    config = IndexConfig(index_url=empty, find_links=("./wheels", str(home / "shared")))
    result = pin(
        lock_of(package_for(wheel, "tinypkg", "1.0"), package_for(other, "otherpkg", "2.0")),
        config,
        cache_dir=tmp_path / "cache",
        project_dir=project,
    )
    assert [o.status for o in result.outcomes] == ["pinned", "pinned"], result.outcomes
    arts = {p.name: p.artifact for p in result.snapshot.python.packages}
    assert arts["tinypkg"] is not None and arts["otherpkg"] is not None
    assert (arts["tinypkg"].url, arts["tinypkg"].index) == (
        f"file://{{project}}/wheels/{wheel.name}",
        "file://{project}/wheels",
    )
    assert (arts["otherpkg"].url, arts["otherpkg"].index) == (f"file://~/shared/{other.name}", "file://~/shared")
    written = lockfile.dump(result.snapshot, tmp_path / "envsnap.lock").read_text()
    assert str(home) not in written
    moved = tmp_path / "moved"
    shutil.move(project, moved)
    monkeypatch.chdir(moved)
    allow = ((moved / "wheels").as_uri() + "/*", (home / "shared").as_uri() + "/*")
    options = BundleOptions(
        cache_dir=tmp_path / "c2", config=IndexConfig(index_url=empty), project_dir=moved, allow_urls=allow
    )
    make_bundle(lockfile.load(tmp_path / "envsnap.lock"), tmp_path / "bundle", options)
    assert (tmp_path / "bundle" / "wheels" / wheel.name).read_bytes() == (moved / "wheels" / wheel.name).read_bytes()
    assert (tmp_path / "bundle" / "wheels" / other.name).is_file()


def test_a_bundle_pins_a_find_links_folder_in_the_project_by_its_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bundle pins what the lock left unpinned: its lock recorded the project's find-links wheel by its absolute
    path, as pin did."""
    from envsnap.artifacts.bundle import BundleOptions, make_bundle

    project = tmp_path / "proj"
    wheel = make_wheel(project / "wheels", "tinypkg", "1.0")
    monkeypatch.chdir(project)
    config = IndexConfig(index_url=pep503_index(tmp_path / "empty", []), find_links=("./wheels",))
    options = BundleOptions(cache_dir=tmp_path / "cache", config=config, project_dir=project)
    make_bundle(lock_of(package_for(wheel, "tinypkg", "1.0")), tmp_path / "bundle", options)
    art = lockfile.load(tmp_path / "bundle" / "envsnap.lock").package("tinypkg").artifact  # type: ignore[union-attr]
    assert art is not None
    assert (art.url, art.index) == (f"file://{{project}}/wheels/{wheel.name}", "file://{project}/wheels")


def test_a_bundle_of_a_find_links_install_no_index_lists_says_how_to_find_it(tmp_path: Path) -> None:
    """pip records no --find-links: a wheel installed with `pip install --find-links ./wheels tinywheel` is captured
    as an index install, and bundle failed with "no tinywheel 1.0.0 wheel ... on the configured indexes" alone. The
    error says, once, that configuring the folder for pip finds it; with it configured the bundle is made."""
    from envsnap.artifacts.bundle import BundleOptions, make_bundle
    from envsnap.errors import BundleError

    wheels = [make_wheel(tmp_path / "wheels", name, "1.0.0") for name in ("tinywheel", "tinytwo")]
    lock = lock_of(*(package_for(w, w.name.split("-")[0], "1.0.0") for w in wheels))
    empty = pep503_index(tmp_path / "empty", [])
    with pytest.raises(BundleError) as failed:
        make_bundle(lock, tmp_path / "b1", BundleOptions(cache_dir=tmp_path / "c", config=IndexConfig(index_url=empty)))
    message = str(failed.value)
    assert "no tinywheel 1.0.0 wheel with tag py3-none-any on the configured indexes" in message
    assert message.count("PIP_FIND_LINKS=DIR or find-links in pip.conf") == 1 and "\n" not in message, message
    config = IndexConfig(index_url=empty, find_links=(str(tmp_path / "wheels"),))
    make_bundle(lock, tmp_path / "b2", BundleOptions(cache_dir=tmp_path / "c", config=config))
    assert (tmp_path / "b2" / "wheels" / wheels[0].name).is_file()
    other = pep503_index(tmp_path / "other", [make_wheel(tmp_path / "o", "tinywheel", "1.0.0", tag="py2-none-any")])
    outcome = pin(
        lock_of(package_for(wheels[0], "tinywheel", "1.0.0")), IndexConfig(index_url=other), cache_dir=tmp_path / "c"
    )
    assert outcome.outcomes[0].status == "unpinned" and not outcome.outcomes[0].unlisted  # the index has the release


def test_an_offline_bundle_of_an_imported_hashed_lock_takes_its_files_from_a_local_find_links_folder(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pip-compile --generate-hashes` pins hashes only: `bundle imp.lock --offline` refused every package ("not
    pinned, and --offline forbids looking it up") though PIP_FIND_LINKS named a folder here holding those files. A
    local folder is not the network: its files are taken when their sha256 is the locked one, and nothing else is
    read (no index, no remote find-links page). A remote find-links location alone is still refused."""
    from envsnap.artifacts import httpclient

    opened: list[str] = []
    real_open = httpclient.open_url

    def counting(url: str, *args: object, **kwargs: object) -> object:
        opened.append(url)
        return real_open(url, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpclient, "open_url", counting)
    links = tmp_path / "wheels"
    wheels = [make_wheel(links, "alpha", "1.0"), make_wheel(links, "beta", "2.0")]
    make_wheel(links, "gamma", "3.0")  # not in the lock, and another file of another hash: never taken
    monkeypatch.chdir(tmp_path)
    Path("requirements.txt").write_text(
        "# This file is autogenerated by pip-compile with Python 3.11\n"
        + "".join(
            f"{n}=={v} \\\n    --hash=sha256:{hashlib.sha256(w.read_bytes()).hexdigest()}\n    # via -r req.in\n"
            for n, v, w in (("alpha", "1.0", wheels[0]), ("beta", "2.0", wheels[1]))
        )
    )
    assert cli("import", "requirements.txt", "-o", "imp.lock").code == 0  # type: ignore[attr-defined]
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", f"http://127.0.0.1:9/links {links}")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    result = cli("bundle", "imp.lock", "-o", "bundle", "--offline", "--cache-dir", tmp_path / "cache")
    assert result.code == 0, result  # type: ignore[attr-defined]
    assert sorted(p.name for p in (tmp_path / "bundle" / "wheels").iterdir()) == sorted(w.name for w in wheels)
    for wheel in wheels:
        assert (tmp_path / "bundle" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()
    assert opened == []
    # A pinned lock whose files are in neither the bundle nor the download cache: the folder's copies are taken.
    result = cli("bundle", "bundle/envsnap.lock", "-o", "b1", "--offline", "--cache-dir", tmp_path / "c1")
    assert result.code == 0, result  # type: ignore[attr-defined]
    assert sorted(p.name for p in (tmp_path / "b1" / "wheels").iterdir()) == sorted(w.name for w in wheels)

    # Another file under the locked name and version in the folder: not the locked one, not taken.
    other = make_wheel(tmp_path / "other", "alpha", "1.0", body="VALUE = 2\n")
    wheels[0].write_bytes(other.read_bytes())
    result = cli("bundle", "imp.lock", "-o", "b2", "--offline", "--cache-dir", tmp_path / "c2")
    said = result.err  # type: ignore[attr-defined]
    assert result.code == 4 and "alpha 1.0" in said and "beta" not in said, said  # type: ignore[attr-defined]
    assert opened == []
    # A remote find-links location is the network: --offline still does not read it.
    monkeypatch.setenv("PIP_FIND_LINKS", "http://127.0.0.1:9/links")
    result = cli("bundle", "imp.lock", "-o", "b3", "--offline", "--cache-dir", tmp_path / "c3")
    said = result.err  # type: ignore[attr-defined]
    assert result.code == 4 and "not pinned, and --offline forbids looking it up" in said, said
    assert opened == []


def test_an_offline_bundle_pins_from_the_find_links_folder_the_import_recorded_once_it_is_allowed(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pip-compile --emit-find-links` writes `--find-links ./wheels`; the import records the folder as the
    packages' index. `bundle --offline` refused them before reading it ("not pinned, and --offline forbids looking it
    up") even with `--allow-url` for that folder; without the flag pin says how to allow it."""
    project = tmp_path / "proj"
    wheel = make_wheel(project / "wheels", "alpha", "1.0")
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    monkeypatch.chdir(project)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    Path("requirements.txt").write_text(f"--find-links ./wheels\nalpha==1.0 --hash=sha256:{digest}\n")
    assert cli("import", "requirements.txt", "-o", "imp.lock").code == 0  # type: ignore[attr-defined]
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    result = cli("bundle", "imp.lock", "-o", tmp_path / "b1", "--offline", "--cache-dir", tmp_path / "c")
    said = result.err  # type: ignore[attr-defined]
    assert result.code == 4 and f"--allow-url {project / 'wheels'}" in said, said  # type: ignore[attr-defined]
    allow = ("--allow-url", project / "wheels")
    result = cli("bundle", "imp.lock", "-o", tmp_path / "b2", "--offline", "--cache-dir", tmp_path / "c", *allow)
    assert result.code == 0, result  # type: ignore[attr-defined]
    assert (tmp_path / "b2" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()


def test_a_find_links_wheel_an_import_records_is_pinned_by_its_name_in_that_folder_whoever_allowed_it(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv pip compile --emit-find-links`` writes ``--find-links ./wheels`` and the wheel's hash; its import records
    the folder. ``pin --allow-url DIR`` then wrote the wheel as ``file://{project}/wheels/x.whl``, while the pylock
    import of the same resolution names it by its file in that folder with no URL: one lock, two spellings, by the
    permission that read the folder. Allowed or configured (``PIP_FIND_LINKS``), it is named by its file in the
    folder (docs/lockfile.md, ``url``), as the pylock import writes it, and a bundle of it reads that file."""
    project = tmp_path / "proj"
    wheel = make_wheel(project / "wheels", "alpha", "1.0")
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    monkeypatch.chdir(project)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    header = "# This file was autogenerated by uv via the following command:\n"
    Path("requirements.txt").write_text(
        f"{header}#    uv pip compile --find-links ./wheels --emit-find-links --generate-hashes requirements.in\n"
        f"--find-links ./wheels\n\nalpha==1.0 \\\n    --hash=sha256:{digest}\n    # via -r requirements.in\n"
    )
    Path("pylock.toml").write_text(
        f"{header}#    uv pip compile --find-links ./wheels --emit-find-links --format pylock.toml requirements.in\n"
        'lock-version = "1.0"\ncreated-by = "uv"\nrequires-python = ">=3.11"\n\n[[packages]]\nname = "alpha"\n'
        f'version = "1.0"\nwheels = [{{ url = "{wheel.as_uri()}", hashes = {{ sha256 = "{digest}" }} }}]\n'
    )
    assert cli("import", "requirements.txt", "-o", "req.lock").code == 0
    assert cli("import", "pylock.toml", "-o", "pylock.lock").code == 0
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("PIP_INDEX_URL", pep503_index(tmp_path / "empty", []))
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    cache = ("--cache-dir", str(tmp_path / "cache"))
    allowed = cli("pin", "req.lock", "-o", "allowed.lock", "--allow-url", str(project / "wheels"), *cache)
    assert allowed.code == 0, allowed.err
    monkeypatch.setenv("PIP_FIND_LINKS", str(project / "wheels"))
    configured = cli("pin", "req.lock", "-o", "configured.lock", *cache)
    assert configured.code == 0, configured.err
    named = lockfile.load(project / "pylock.lock").python.packages[0].artifact
    assert named is not None and (named.url, named.index) == ("", "file://{project}/wheels")
    for name in ("allowed.lock", "configured.lock"):
        art = lockfile.load(project / name).python.packages[0].artifact
        assert art is not None
        assert (art.filename, art.url, art.sha256, art.index) == (wheel.name, "", digest, "file://{project}/wheels")
        assert (art.filename, art.url, art.sha256, art.index) == (named.filename, named.url, named.sha256, named.index)
        assert str(project) not in (project / name).read_text()
    monkeypatch.delenv("PIP_FIND_LINKS")
    bundled = cli("bundle", "allowed.lock", "-o", tmp_path / "b", "--allow-url", f"{project / 'wheels'}/*", *cache)
    assert bundled.code == 0, bundled.err
    assert (tmp_path / "b" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()


def test_the_folder_pattern_that_pinned_an_imported_find_links_wheel_bundles_it(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pin`` of a requirements import's ``--find-links ./wheels`` wheel says to pass ``--allow-url DIR`` and pins it
    by its name in that folder; ``bundle`` of the pinned lock with the same ``--allow-url DIR`` refused the file ("the
    lock's URL ... is not fetched ... DIR/* the files of a folder"), though ``bundle`` of the unpinned import took it
    with that pattern. The folder allowed, its file is read as pin read it; nothing allowed, it is still refused."""
    project = tmp_path / "proj"
    wheel = make_wheel(project / "wheels", "alpha", "1.0")
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    monkeypatch.chdir(project)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    Path("requirements.txt").write_text(f"--find-links ./wheels\nalpha==1.0 --hash=sha256:{digest}\n")
    assert cli("import", "requirements.txt", "-o", "imp.lock").code == 0
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("PIP_INDEX_URL", pep503_index(tmp_path / "empty", []))
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    folder = ("--allow-url", str(project / "wheels"))
    assert cli("pin", "imp.lock", "-o", "pinned.lock", *folder, "--cache-dir", tmp_path / "c0").code == 0
    refused = cli("bundle", "pinned.lock", "-o", tmp_path / "b1", "--cache-dir", tmp_path / "c1")
    assert refused.code != 0 and "--allow-url" in refused.err, refused
    # The lock records no URL of the file, only its name in the folder: the refusal called the folder's URL, made
    # here, "the lock's URL".
    url = (project / "wheels" / wheel.name).as_uri()
    assert f"{wheel.name}: the file in the lock's find-links folder '{url}' is not fetched (" in refused.err, refused
    assert "the lock's URL" not in refused.err
    bundled = cli("bundle", "pinned.lock", "-o", tmp_path / "b2", *folder, "--cache-dir", tmp_path / "c2")
    assert bundled.code == 0, bundled.err
    assert (tmp_path / "b2" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()


def test_a_pylock_s_wheels_in_the_project_are_pinned_once_their_folder_is_allowed(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pylock naming several wheels of a package in the project's ``./wheels`` (``uv export`` of a find-links
    package) is imported as candidates ``file://{project}/wheels/x.whl``: pin fetched that label, which names no
    file, so ``--allow-url 'DIR/*'``, which its own reason says to pass, never let it read them. Each candidate is
    read where it is in the project, asked about by its path, and the one for this target is pinned."""
    project = tmp_path / "proj"
    fits = make_wheel(project / "wheels", "alpha", "1.0")
    other = make_wheel(project / "wheels", "alpha", "1.0", tag="py2-none-any")
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    monkeypatch.chdir(project)
    wheels = ", ".join(
        f'{{ url = "{w.as_uri()}", hashes = {{ sha256 = "{hashlib.sha256(w.read_bytes()).hexdigest()}" }} }}'
        for w in (other, fits)
    )
    Path("pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "alpha"\nversion = "1.0"\n'
        f'index = "{(project / "wheels").as_uri()}"\nwheels = [{wheels}]\n'
    )
    assert cli("import", "pylock.toml", "-o", "py.lock").code == 0
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("PIP_INDEX_URL", pep503_index(tmp_path / "empty", []))
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    cache = ("--cache-dir", str(tmp_path / "cache"))
    refused = cli("pin", "py.lock", "-o", "refused.lock", *cache)
    assert "--allow-url" in refused.out + refused.err, refused
    allowed = cli("pin", "py.lock", "-o", "pinned.lock", "--allow-url", f"{project / 'wheels'}/*", *cache)
    assert allowed.code == 0 and "1 pinned" in allowed.out + allowed.err, allowed
    art = lockfile.load(project / "pinned.lock").python.packages[0].artifact
    assert art is not None
    assert (art.filename, art.sha256) == (fits.name, hashlib.sha256(fits.read_bytes()).hexdigest())
    assert art.url == f"file://{{project}}/wheels/{fits.name}"


def test_an_offline_bundle_of_an_unpinned_lock_into_its_own_bundle_takes_the_proven_pins_there(
    tmp_path: Path,
) -> None:
    """`bundle envsnap.lock -o bundle --offline` on a complete bundle of that lock failed with exit 4 ("not pinned,
    and --offline forbids looking it up") though every pin and wheel was in `bundle/`. The bundle's pins are taken
    once proven (same lock, SHA256SUMS, file hash, RECORD digest): the re-run writes the same bundle. A wheel
    swapped under a lock and SHA256SUMS edited to match is not the installed files, and stays unpinned."""
    import dataclasses

    from envsnap.artifacts.bundle import Bundle, BundleOptions, make_bundle
    from envsnap.errors import BundleError

    wheel = make_wheel(tmp_path / "w", "tinypkg", "1.0")
    lock = lock_of(package_for(wheel, "tinypkg", "1.0"))
    config = IndexConfig(index_url=pep503_index(tmp_path / "index", [wheel]))
    out = tmp_path / "bundle"
    make_bundle(lock, out, BundleOptions(cache_dir=tmp_path / "c", config=config))
    first = {name: (out / name).read_bytes() for name in ("envsnap.lock", "SHA256SUMS")}
    offline = BundleOptions(
        cache_dir=tmp_path / "none", config=IndexConfig(index_url="http://127.0.0.1:9/simple"), offline=True
    )
    make_bundle(lock, out, offline)
    assert {name: (out / name).read_bytes() for name in first} == first

    swapped = make_wheel(tmp_path / "x", "tinypkg", "1.0", body="VALUE = 2\n")
    (out / "wheels" / wheel.name).write_bytes(swapped.read_bytes())
    bundled = lockfile.load(out / "envsnap.lock")
    art = bundled.python.packages[0].artifact
    assert art is not None
    forged = dataclasses.replace(art, sha256=hashlib.sha256(swapped.read_bytes()).hexdigest())
    pkgs = (dataclasses.replace(bundled.python.packages[0], artifact=forged),)
    lockfile.dump(
        dataclasses.replace(bundled, python=dataclasses.replace(bundled.python, packages=pkgs)), out / "envsnap.lock"
    )
    Bundle(out).write_sums()
    with pytest.raises(BundleError, match="not pinned, and --offline forbids looking it up"):
        make_bundle(lock, out, offline)


def test_a_local_archive_in_the_project_is_read_from_the_project(tmp_path: Path) -> None:
    """``pip install ./wheels/x.whl`` in the project is captured as ``file://{project}/wheels/x.whl``: pin fetched
    that label, which names no file, and matched ``--allow-url`` for the folder against it, so the wheel was never
    pinned. It is read from the project (the folder allowed), and recorded by its label still."""
    import dataclasses

    project = tmp_path / "proj"
    wheel = make_wheel(project / "wheels", "tinypkg", "1.0")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    label = f"file://{{project}}/wheels/{wheel.name}"
    pkg = dataclasses.replace(
        package_for(wheel, "tinypkg", "1.0"),
        source=Source(kind="archive", url=label, archive_hash=f"sha256={digest}"),
    )
    empty = IndexConfig(index_url=pep503_index(tmp_path / "empty", []))
    allow = ((project / "wheels").as_uri() + "/*",)
    result = pin(lock_of(pkg), empty, cache_dir=tmp_path / "c1", project_dir=project, allow_urls=allow)
    assert [o.status for o in result.outcomes] == ["pinned"], result.outcomes
    art = result.snapshot.python.packages[0].artifact
    assert art is not None and (art.url, art.sha256) == (label, digest)
    (outside,) = pin(lock_of(pkg), empty, cache_dir=tmp_path / "c2", allow_urls=allow).outcomes
    assert outside.status == "unpinned" and "--project DIR" in outside.reason, outside.reason


def test_a_find_links_folder_under_the_home_missing_on_this_machine_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock imported with ``--find-links ../wheels`` beside ``~/proj`` records ``file://~/wheels``. Used where the
    home has no such folder, pin said only "no tinypkg 1.0 file with sha256 ... on the configured indexes" (once
    the folder was allowed) or "pass --allow-url" (a folder that is not there cannot be allowed into being): the
    reason now names the folder the lock records and where it was looked for. Once the folder is there, the label
    is resolved again and the wheel is pinned under it."""
    from envsnap.model import Artifact

    home = tmp_path / "home" / "bob"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    wheel = make_wheel(tmp_path / "made", "tinypkg", "1.0")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    known = PythonPackage(
        name="tinypkg", version="1.0", artifact=Artifact(filename="", url="", sha256=digest, index="file://~/wheels")
    )
    empty = IndexConfig(index_url=pep503_index(tmp_path / "empty", []))
    missing = (
        f"the --find-links folder 'file://~/wheels' the import named is not on this machine "
        f"({home / 'wheels'} does not exist)"
    )
    for allow in ((), (str(home / "wheels"),)):
        (outcome,) = pin(lock_of(known), empty, cache_dir=tmp_path / "c1", allow_urls=allow).outcomes
        assert outcome.status == "unpinned"
        assert outcome.reason.endswith(f"on the configured indexes; {missing}"), outcome.reason
        assert "--allow-url" not in outcome.reason
    (home / "wheels").mkdir()
    shutil.copy(wheel, home / "wheels")
    result = pin(lock_of(known), empty, cache_dir=tmp_path / "c2", allow_urls=(str(home / "wheels"),))
    assert [o.status for o in result.outcomes] == ["pinned"], result.outcomes
    art = result.snapshot.python.packages[0].artifact
    assert art is not None and (art.sha256, art.index) == (digest, "file://~/wheels")


@pytest.mark.parametrize(
    ("kinds", "said"),
    [
        ((), "no Python packages to pin"),
        (("conda", "conda"), "no Python packages to pin; 2 conda packages kept as the lock records them"),
        (("pinned",), "1 pinned"),
        (
            ("pinned", "unpinned", "skipped", "conda"),
            "1 pinned, 1 not pinnable, 1 left to conda; 1 conda package kept as the lock records them",
        ),
        (("kept",), "1 built from source (VCS url + commit, local projects)"),
    ],
)
def test_the_pin_summary_names_only_what_the_lock_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kinds: tuple[str, ...], said: str
) -> None:
    """``pin`` of a conda lock said ``0 pinned, 0 built from source (VCS url + commit, local projects), 0 not
    pinnable, 0 left to conda``, as for an empty lock: nothing named the conda packages, every count was a zero."""
    from envsnap.cli.pin import report
    from envsnap.model import Conda, CondaPackage

    conda = tuple(CondaPackage(f"c{i}", "1.0") for i, kind in enumerate(kinds) if kind == "conda")
    outcomes = tuple(PinOutcome(f"p{i}", "1.0", kind, "why") for i, kind in enumerate(kinds) if kind != "conda")
    snap = Snapshot(python=PythonEnv(version="3.11.7"), conda=Conda(packages=conda) if conda else None)
    report(PinResult(snap, outcomes), "p.lock")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"p.lock: {said}", lines


def test_a_git_package_bundle_reads_only_with_allow_url_is_counted_once(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A git package of a repository outside the project and the home (``git+file:///srv/libs/mylib``): ``pin``
    counted it in ``2 built from source`` and listed it under ``needs --allow-url`` too, one package said twice.
    Each package is counted once, in its group: the one bundle reads only with ``--allow-url`` in that one."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    local = Source(kind="vcs", vcs="git", url=f"file://{tmp_path / 'srv' / 'mylib'}", commit_id="a" * 40)
    remote = Source(kind="vcs", vcs="git", url="git+https://example.org/other.git", commit_id="b" * 40)
    packages = (PythonPackage("mylib", "1.1.0", source=local), PythonPackage("other", "2.0", source=remote))
    lock_path = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=packages)), work / "env.lock")
    pinned = cli("pin", lock_path, "--no-system-packages")
    assert pinned.code == 0, pinned
    lines = pinned.err.splitlines()
    assert lines[0] == (
        f"{lock_path} (unchanged): 1 built from source (VCS url + commit, local projects), 1 needs --allow-url"
    ), lines
    assert sum("mylib 1.1.0" in line for line in lines) == 1, lines


def test_the_needs_allow_url_line_of_a_git_package_names_it_once(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pin`` of a lock naming a git repository that bundle reads only with --allow-url said
    ``needs --allow-url gitpkg 1.0: gitpkg: git URL ...``: the package's name twice. The line names it once, and
    ``--json``'s ``file_refused`` (the line's reason) does not name it again either."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    url = f"file://{tmp_path / 'srv' / 'gitpkg'}"
    source = Source(kind="vcs", vcs="git", url=url, commit_id="a" * 40)
    packages = (PythonPackage("gitpkg", "1.0", source=source),)
    lock_path = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=packages)), work / "env.lock")
    pinned = cli("pin", lock_path, "--no-system-packages")
    assert pinned.code == 0, pinned
    said = [line for line in pinned.err.splitlines() if "needs --allow-url " in line and "gitpkg" in line]
    assert len(said) == 1, pinned.err
    path = tmp_path / "srv" / "gitpkg"  # named by its path (its file: URL percent-encodes what a folder holds)
    assert said[0].startswith(f"  needs --allow-url gitpkg 1.0: git URL {path} from the lock is not fetched"), said
    assert said[0].count("gitpkg 1.0") == 1 and "gitpkg: " not in said[0], said
    rows = json.loads(cli("pin", lock_path, "--no-system-packages", "--json").out)
    assert rows[0]["file_refused"].startswith(f"git URL {path} "), rows


def test_the_pin_json_fields_are_each_described_in_the_cli_reference(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pin --json`` printed ``"unlisted"`` on every package, a field docs/cli.md's ``--json`` row did not name: each
    field beyond a package's own (name, version, status, reason, artifact) is named there, quoted as printed."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.chdir(tmp_path)
    source = Source(kind="vcs", vcs="git", url="git+https://example.org/other.git", commit_id="b" * 40)
    packages = (PythonPackage("other", "2.0", source=source), PythonPackage("plain", "1.0"))
    lock_path = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=packages)), tmp_path / "env.lock")
    pinned = cli("pin", lock_path, "--no-system-packages", "--json")
    assert pinned.code == 0, pinned
    own = {"name", "version", "status", "reason", "artifact"}
    fields = {key for row in json.loads(pinned.out) for key in row} - own
    assert "unlisted" in fields, fields
    docs = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
    pin_section = docs.read_text().split("## `envsnap pin`", 1)[1].split("\n## ", 1)[0]
    (row,) = [line for line in pin_section.splitlines() if line.startswith("| `--json` |")]
    assert [f for f in sorted(fields) if f'`"{f}"' not in row] == [], row


def test_the_system_packages_pin_summary_counts_in_the_right_form(capsys: pytest.CaptureFixture[str]) -> None:
    """One pinned .deb was ``1 .deb files pinned by sha256, 0 not pinned``."""
    from envsnap.artifacts.debs import DebOutcome
    from envsnap.cli.pin import report

    snap = Snapshot(python=PythonEnv(version="3.11.7"))
    one = DebOutcome("libc6", "2.36", "amd64", "pinned")
    report(PinResult(snap, ()), "p.lock", debs=(one,))
    report(PinResult(snap, ()), "p.lock", debs=(one, one, DebOutcome("zlib1g", "1.2", "amd64", "unpinned", "gone")))
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("system packages:")]
    assert lines == [
        "system packages: 1 .deb file pinned by sha256",
        "system packages: 2 .deb files pinned by sha256, 1 not pinned",
    ]


def test_a_conda_bundle_counts_its_archives_in_the_right_form(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fetching and checking 1 conda packages``."""
    from envsnap.model import Conda, CondaPackage

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    archive = tmp_path / "channel" / "c-1.0-0.conda"
    archive.parent.mkdir()
    archive.write_bytes(b"conda archive")
    pkg = CondaPackage("c", "1.0", "0", url=archive.as_uri(), sha256=hashlib.sha256(b"conda archive").hexdigest())
    lock = lockfile.dump(
        Snapshot(python=PythonEnv(version="3.11.7"), conda=Conda(packages=(pkg,))), tmp_path / "l.lock"
    )
    result = cli("bundle", lock, "-o", tmp_path / "b", "--allow-url", f"{tmp_path.as_uri()}/*")
    assert result.code == 0 and "  fetching and checking 1 conda package\n" in result.err, result  # type: ignore[attr-defined]


def test_pin_spells_the_login_and_host_names_as_import_does(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch, json_index: tuple[str, Path]
) -> None:
    """pin recorded a wheel found in ``/scratch/alice/wheels`` and one on ``http://gpunode:8080/simple`` as written,
    where import writes the same places ``<user>`` and ``<host>`` (docs/lockfile.md "Privacy"): a published pinned
    lock named the person and the machine, an imported lock pinned named them again, and the two locks spelled the
    same file two ways. Both now spell them as import does, and the pinned lock still bundles here (the configured
    locations list the files by name and sha256)."""
    import getpass
    import os
    import socket

    from envsnap.artifacts.bundle import BundleOptions, make_bundle

    served, wheel = json_index
    login, host = "alicenamed", "gpunode17"
    real = os.uname()
    monkeypatch.setattr(getpass, "getuser", lambda: login)
    monkeypatch.setenv("USER", login)
    monkeypatch.setenv("LOGNAME", login)
    monkeypatch.setattr(os, "uname", lambda: os.uname_result((real.sysname, host, *real[2:])))
    resolve = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda h, *a, **k: resolve("127.0.0.1" if h == host else h, *a, **k))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    work = tmp_path / "work"  # the project (no git work tree: the locks' folder); the wheels lie outside it
    work.mkdir()
    monkeypatch.chdir(work)
    index = served.replace("127.0.0.1", host)
    links = tmp_path / "scratch" / login / "wheels"
    other = make_wheel(links, "otherpkg", "2.0")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    captured = lockfile.dump(
        lock_of(package_for(wheel, "tinypkg", "1.0"), package_for(other, "otherpkg", "2.0")), work / "cap.lock"
    )
    Path("requirements.txt").write_text(
        f"--index-url {index}\n--find-links {links}\n"
        + "".join(
            f"{n}=={v} --hash=sha256:{hashlib.sha256(w.read_bytes()).hexdigest()}\n"
            for n, v, w in (("tinypkg", "1.0", wheel), ("otherpkg", "2.0", other))
        )
    )
    imported = cli("import", "requirements.txt", "-o", "imp.lock")
    assert imported.code == 0, imported  # type: ignore[attr-defined]
    for lock in (captured, work / "imp.lock"):
        result = cli("pin", lock, "--cache-dir", tmp_path / "cache", "--no-system-packages")
        assert result.code == 0 and "2 pinned" in result.err, result  # type: ignore[attr-defined]
        text = lock.read_text()
        assert login not in text and host not in text, text
    arts = {
        p.name: (p.artifact.url, p.artifact.index)
        for p in lockfile.load(captured).python.packages
        if p.artifact is not None
    }
    place = str(links).replace(login, "<user>")
    redacted = served.replace("127.0.0.1", "<host>")
    assert arts == {
        "tinypkg": (served.replace("127.0.0.1", "<host>").replace("/simple", "/files/") + wheel.name, redacted),
        "otherpkg": (f"file://{place}/{other.name}", place),
    }
    again = {
        p.name: (p.artifact.url, p.artifact.index)
        for p in lockfile.load(work / "imp.lock").python.packages
        if p.artifact is not None
    }
    assert again == arts
    options = BundleOptions(cache_dir=tmp_path / "c2", config=read_pip_config())
    make_bundle(lockfile.load(captured), tmp_path / "bundle", options)
    assert (tmp_path / "bundle" / "wheels" / other.name).read_bytes() == other.read_bytes()
    # Where no configured location lists the file, the hidden name is the reason, on one line: --allow-url for a
    # path or a host that names nothing here cannot help.
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "home"))
    monkeypatch.setenv("PIP_INDEX_URL", pep503_index(tmp_path / "empty", []))
    bundled = cli("bundle", captured, "-o", tmp_path / "b2", "--cache-dir", tmp_path / "c3")
    said = bundled.err.strip()  # type: ignore[attr-defined]
    assert bundled.code != 0 and len(said.splitlines()) == 1, said  # type: ignore[attr-defined]
    assert "recorded without the host name" in said and "--allow-url" not in said, said
    assert "configure" in said and "PIP_FIND_LINKS" in said, said
    Path("requirements.txt").write_text(
        f"--find-links {links}\notherpkg==2.0 --hash=sha256:{hashlib.sha256(other.read_bytes()).hexdigest()}\n"
    )
    assert cli("import", "requirements.txt", "-o", "imp2.lock").code == 0  # type: ignore[attr-defined]
    (outcome,) = pin(lockfile.load(work / "imp2.lock"), read_pip_config(), cache_dir=tmp_path / "c4").outcomes
    assert outcome.status == "unpinned" and "recorded without the login name" in outcome.reason, outcome.reason
    assert "--allow-url" not in outcome.reason, outcome.reason


def test_a_place_under_the_home_recorded_without_the_login_says_so(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A find-links folder ``~/alice-wheels`` is recorded as ``file://~/<user>-wheels`` (import and pin alike). Where
    it must be read and nothing else lists the file, pin said the folder "is not on this machine" and bundle, which
    read the label as ``file:///home/bob/%3Cuser%3E-wheels/...``, said to pass --allow-url: neither said that the
    login was left out, nor what helps."""
    import getpass

    login = "alicenamed"
    monkeypatch.setattr(getpass, "getuser", lambda: login)
    monkeypatch.setenv("USER", login)
    monkeypatch.setenv("LOGNAME", login)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    (home / "proj").mkdir(parents=True)
    monkeypatch.chdir(home / "proj")
    wheel = make_wheel(home / f"{login}-wheels", "tinypkg", "1.0")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", pep503_index(tmp_path / "empty", []))
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.setenv("PIP_FIND_LINKS", str(home / f"{login}-wheels"))
    Path("requirements.txt").write_text(f"--find-links ../{login}-wheels\ntinypkg==1.0 --hash=sha256:{digest}\n")
    assert cli("import", "requirements.txt", "-o", "imp.lock").code == 0  # type: ignore[attr-defined]
    pinned = cli("pin", "imp.lock", "-o", "pinned.lock", "--cache-dir", tmp_path / "c1", "--no-system-packages")
    assert pinned.code == 0 and "1 pinned" in pinned.err, pinned  # type: ignore[attr-defined]
    art = lockfile.load(home / "proj" / "pinned.lock").python.packages[0].artifact
    assert art is not None and art.index == "file://~/<user>-wheels", art
    monkeypatch.delenv("PIP_FIND_LINKS")
    (outcome,) = pin(lockfile.load(home / "proj" / "imp.lock"), read_pip_config(), cache_dir=tmp_path / "c2").outcomes
    assert outcome.status == "unpinned" and "without the login name" in outcome.reason, outcome.reason
    bundled = cli("bundle", "pinned.lock", "-o", tmp_path / "b", "--cache-dir", tmp_path / "c3")
    said = bundled.err.strip()  # type: ignore[attr-defined]
    assert bundled.code == 2 and len(said.splitlines()) == 1, said  # type: ignore[attr-defined]
    assert "recorded without the login name" in said and "--allow-url" not in said, said


@pytest.mark.parametrize(
    ("written", "moved_from", "moved_to"),
    [
        ("out", "file://{base}/proj", ""),  # beside the project
        ("proj/sub", "file://{base}/proj", "sub"),  # inside it
        ("", "file://{project}/proj", ""),  # above it
    ],
)
def test_a_lock_pin_writes_into_another_folder_keeps_its_identity(
    tmp_path: Path, written: str, moved_from: str, moved_to: str
) -> None:
    """``pin LOCK -o OTHER/x.lock`` outside a work tree writes the places of ``{project}`` by their path or under
    the new folder: the identity changed with their spelling, and the pinned copy of a run's lock was another
    environment. The moved lock says where it came from and its identity reads each place back, for every layout and
    for a copy moved again; a place changed by hand is still another environment."""
    import dataclasses

    from envsnap.artifacts.pin import relabelled
    from envsnap.model import Candidate, Conda, CondaPackage

    read_from, written_to = tmp_path / "proj", tmp_path / written
    source = Source(kind="directory", url="file://{project}/libs/lab%20tool")
    candidate = Candidate(sha256="a" * 64, filename="six-1.0-py3-none-any.whl", url="file://{project}/sub/w/six.whl")
    packages = (
        PythonPackage(name="labtool", version="", source=source),
        PythonPackage(name="six", version="1.0", candidates=(candidate,)),
    )
    conda = Conda(
        channels=("file://{project}/channel",),
        packages=(CondaPackage(name="zlib", version="1.3", build="0", url="file://{project}/channel/z.conda"),),
    )
    lock = Snapshot(python=PythonEnv(packages=packages), conda=conda)
    lock = dataclasses.replace(
        lock, envsnap=dataclasses.replace(lock.envsnap, warnings=("--find-links {project}/sub/w is not recorded",))
    )
    identity = lockfile.identity_digest(lockfile.to_dict(lock))
    moved = relabelled(lock, read_from, written_to)
    assert moved.python.packages[0].source.url != source.url  # the place is written otherwise
    assert (moved.envsnap.moved_from, moved.envsnap.moved_to) == (moved_from.replace("{base}", str(tmp_path)), moved_to)
    assert lockfile.identity_digest(lockfile.to_dict(moved)) == identity
    assert lockfile.loads(lockfile.dumps(lockfile.seal(moved))).envsnap.moved_from == moved.envsnap.moved_from
    # Moved again, into a folder apart from both: the marks move with the places, or, where they cannot (the first
    # move was into a folder inside the project), are gone, and the identity is that of the places as written.
    again = relabelled(moved, written_to, Path("/srv/elsewhere"))
    assert (lockfile.identity_digest(lockfile.to_dict(again)) == identity) == (not moved_to)
    # A place changed by hand in the moved lock: another environment.
    other = dataclasses.replace(packages[0], source=dataclasses.replace(source, url="file:///srv/other/labtool"))
    edited = dataclasses.replace(moved, python=PythonEnv(packages=(other, moved.python.packages[1])))
    assert lockfile.identity_digest(lockfile.to_dict(edited)) != identity


@pytest.mark.parametrize(
    "value",
    ["file://{project}", "file://{project}/../x", "file:///a/./b", "file://~", "file://{prefix}/x", "file:///a#b"],
)
def test_a_moved_from_that_names_no_folder_is_refused(value: str) -> None:
    import dataclasses

    lock = lockfile.seal(Snapshot(python=PythonEnv()))
    text = unchecked_lock_text(dataclasses.replace(lock, envsnap=dataclasses.replace(lock.envsnap, moved_from=value)))
    with pytest.raises(lockfile.LockfileError, match=re.escape("envsnap.moved_from: not a valid folder")):
        lockfile.loads(text, check_digest=False)


@pytest.mark.parametrize("moved_to", ["../up", "file://{project}/sub", "/srv/x", "a//b", "a/./b", "a\\b", "a\x1bb"])
def test_a_lock_s_moved_to_is_a_relative_folder_below_the_one_it_was_moved_from(moved_to: str) -> None:
    """``envsnap.moved_to`` was written as ``file://{project}/sub``, a label that in the moved lock names a place
    under its own folder (a later pin found ``{project}`` in a lock written to have none). It is the folder relative
    to ``moved_from`` (``sub``); a stranger's value leading out of it, absolute, a URL or with control characters is
    refused at load, exit 2's error."""
    import dataclasses

    from envsnap.errors import LockfileError

    good = Snapshot()
    good = dataclasses.replace(good, envsnap=dataclasses.replace(good.envsnap, moved_from="file:///srv/proj"))
    ok = dataclasses.replace(good, envsnap=dataclasses.replace(good.envsnap, moved_to="sub/dir"))
    assert lockfile.loads(lockfile.dumps(lockfile.seal(ok))).envsnap.moved_to == "sub/dir"
    text = lockfile.dumps(lockfile.seal(ok)).replace('moved_to = "sub/dir"', f"moved_to = {json.dumps(moved_to)}")
    with pytest.raises(LockfileError, match="moved_to"):
        lockfile.loads(text)


def test_an_offline_bundle_of_a_hashed_import_takes_the_file_of_a_listed_sha256_from_the_download_cache(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch, json_index: tuple[str, Path]
) -> None:
    """A ``pip-compile --generate-hashes`` line names its files by sha256 alone: pinned once online (the download
    cache then holds the file), ``bundle imp.lock --offline`` still failed with "no index lists tinypkg 1.0", though
    the cache held a file of a hash the lock lists. The cache is content-addressed: that file is taken, recorded by
    name and sha256 as a hash-only file is. A hash the cache lacks, or an index read neither online nor by the fetch
    policy (a loopback one no longer configured), still leaves it unpinned."""
    served, wheel = json_index
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("PIP_INDEX_URL", served)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    Path("requirements.txt").write_text(
        "# This file is autogenerated by pip-compile with Python 3.11\n"
        f"--index-url {served}\n\n"
        f"tinypkg==1.0 \\\n    --hash=sha256:{'e' * 64} \\\n    --hash=sha256:{sha}\n    # via -r req.in\n"
    )
    assert cli("import", "requirements.txt", "-o", "imp.lock").code == 0  # type: ignore[attr-defined]
    cache = tmp_path / "cache"
    result = cli("pin", "imp.lock", "-o", "pin.lock", "--cache-dir", cache, "--no-system-packages")
    assert result.code == 0 and "1 pinned" in result.err, result  # type: ignore[attr-defined]
    result = cli("bundle", "imp.lock", "-o", "b", "--offline", "--cache-dir", cache)
    assert result.code == 0, result  # type: ignore[attr-defined]
    assert "took tinypkg-1.0-py3-none-any.whl from the download cache" in result.err, result  # type: ignore[attr-defined]
    assert (tmp_path / "b" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()
    art = lockfile.load(tmp_path / "b" / "envsnap.lock").python.packages[0].artifact
    assert art is not None and (art.filename, art.sha256, art.url, art.index) == (wheel.name, sha, "", served)
    assert cli("diff", "pin.lock", "b/envsnap.lock").code == 0  # type: ignore[attr-defined]
    # Not in this cache: nothing to take offline.
    result = cli("bundle", "imp.lock", "-o", "b1", "--offline", "--cache-dir", tmp_path / "empty")
    assert result.code == 4 and "tinypkg 1.0: not pinned" in result.err, result  # type: ignore[attr-defined]
    # The loopback index no longer configured: the policy refuses it, and the cache does not stand in for it.
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    result = cli("bundle", "imp.lock", "-o", "b2", "--offline", "--cache-dir", cache)
    assert result.code == 4 and "tinypkg 1.0" in result.err, result  # type: ignore[attr-defined]


def test_the_allow_url_a_file_in_a_folder_whose_name_holds_a_newline_needs_is_shown_as_bash_types_it(
    tmp_path: Path,
) -> None:
    """``pin`` says the ``--allow-url`` pattern bundle needs for a local file the lock names: for a folder whose name
    holds a newline, shell_word refused the pattern (a traceback); it is bash's ``$'...'`` word."""
    from envsnap.artifacts.pin import Pinner
    from envsnap.model import Artifact

    folder = tmp_path / "a\nb"
    wheel = make_wheel(folder, "tinypkg", "1.0")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    pinner = Pinner(IndexConfig(), tmp_path / "cache")
    art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=sha)
    said = pinner.refused_here(art)
    assert f"--allow-url $'{tmp_path}/a\\x0ab/*'" in said, said


def test_the_allow_url_a_file_in_a_folder_named_with_a_wildcard_needs_allows_that_file(tmp_path: Path) -> None:
    """The ``--allow-url`` pattern pin names for a local file in ``wheels [1]`` was ``.../wheels [1]/*``, in which
    ``[1]`` is a wildcard matching ``1``: pasted, bundle refused the file again. The folder's wildcard characters
    are written to match themselves, so the pattern allows that folder's files and no other's."""
    from envsnap._fetchpolicy import FetchPolicy
    from envsnap.artifacts.pin import Pinner
    from envsnap.model import Artifact

    folder = tmp_path / "wheels [1]*"
    wheel = make_wheel(folder, "tinypkg", "1.0")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=sha)
    said = Pinner(IndexConfig(), tmp_path / "cache").refused_here(art)
    pattern = shlex.split(said.partition("--allow-url ")[2].partition(" (")[0])[0]
    assert FetchPolicy((pattern,)).refusal(wheel.as_uri()) is None, said
    other = (tmp_path / "wheels 1x" / wheel.name).as_uri()
    assert FetchPolicy((pattern,)).refusal(other) is not None, pattern
    said = Pinner(IndexConfig(), tmp_path / "cache", allow_urls=(pattern,)).refused_here(art)
    assert said == "", said


def test_a_find_links_folder_named_with_a_space_and_a_wildcard_is_read_once_the_named_allow_url_is_passed(
    tmp_path: Path,
) -> None:
    """The folder ``my links [1]``: the reason named ``--allow-url '.../my links [1]'``, a pattern whose ``[1]``
    matches ``1``, not that folder, and the folder, asked of the policy by its path with a space, was no URL it
    reads whatever was allowed. The reason names the pattern matching that folder alone, which pins it."""
    import shlex

    from envsnap.model import Artifact

    wheel = make_wheel(tmp_path / "my links [1]", "tinypkg", "1.0")
    links = str(wheel.parent)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    known = PythonPackage(
        name="tinypkg", version="1.0", artifact=Artifact(filename="", url="", sha256=digest, index=links)
    )
    empty = pep503_index(tmp_path / "empty", [])
    (refused,) = pin(lock_of(known), IndexConfig(index_url=empty), cache_dir=tmp_path / "c1").outcomes
    pattern = links.replace("[", "[[]")
    assert f"pass --allow-url {shlex.quote(pattern)} to allow it" in refused.reason, refused.reason
    result = pin(lock_of(known), IndexConfig(index_url=empty), cache_dir=tmp_path / "c2", allow_urls=(pattern,))
    (outcome,) = result.outcomes
    assert outcome.status == "pinned", outcome.reason


@pytest.mark.parametrize("reference", ["Envsnap-base:bookworm", "foo:", "x:y:z"])
def test_a_base_image_the_engine_would_refuse_is_refused_by_pin_before_any_download(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch, reference: str
) -> None:
    """``pin --base-image Envsnap-base:bookworm`` (upper case, which the engine's grammar refuses) was taken, exit 0,
    with the interpreter packages left unpinned without a word, while rebuild and bundle refuse it: the same check
    now, one line, exit 2, before any index is read or any file downloaded, the lock left as it was."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    lock_path = lockfile.dump(lock_of(package_for(wheel, "tinypkg", "1.0")), tmp_path / "envsnap.lock")
    before = lock_path.read_bytes()
    monkeypatch.chdir(tmp_path)
    _pin_env(monkeypatch, pep503_index(tmp_path / "index", [wheel]))
    result = cli("pin", lock_path, "--cache-dir", tmp_path / "cache", f"--base-image={reference}")
    err = result.err  # type: ignore[attr-defined]
    assert result.code == 2 and len(err.strip().splitlines()) == 1, result  # type: ignore[attr-defined]
    assert err.startswith(f"envsnap: error: --base-image {reference!r} is not an image reference"), err
    assert not (tmp_path / "cache").exists() and lock_path.read_bytes() == before
