"""The envsnap that goes into a docker image is the one that is running: built from its source tree, or packed
from its installed files (proven by RECORD), never fetched from an index by name (the index's ``envsnap`` is
another project)."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

from envsnap import _runner
from envsnap.artifacts.repack import RepackError, repack
from envsnap.errors import RebuildError
from envsnap.rebuild import _tool


def _write_dist(
    site: Path,
    name: str,
    files: dict[str, bytes],
    *,
    scripts: dict[str, bytes] | None = None,
    entry_points: str = "",
    editable: bool = False,
) -> Path:
    """An installed distribution as an installer leaves it: files, dist-info, RECORD with hashes."""
    from envsnap.artifacts.repack import _record_hash

    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    made = dict(files)
    made[f"{info.name}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode()
    made[f"{info.name}/WHEEL"] = b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    made[f"{info.name}/INSTALLER"] = b"pip\n"
    if entry_points:
        made[f"{info.name}/entry_points.txt"] = entry_points.encode()
    if editable:
        made[f"{info.name}/direct_url.json"] = b'{"url": "file:///src", "dir_info": {"editable": true}}'
    rows = []
    for rel, data in made.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
        rows.append(f"{rel},{_record_hash(data)},{len(data)}")
    for script, data in (scripts or {}).items():
        path = site.parents[2] / "bin" / script
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o755)
        rows.append(f"../../../bin/{script},{_record_hash(data)},{len(data)}")
    rows.append(f"{info.name}/RECORD,,")
    (info / "RECORD").write_text("\n".join(rows) + "\n")
    return info


def _site(root: Path) -> Path:
    return root / "lib" / "python3.11" / "site-packages"


def test_repack_gives_the_installed_files_and_a_fresh_record(tmp_path: Path) -> None:
    site = _site(tmp_path / "env")
    launcher = f"#!{tmp_path}/env/bin/python\nfrom tiny.cli import main\nmain()\n".encode()
    real_script = f"#!{tmp_path}/env/bin/python3\nprint('hello')\n".encode()
    info = _write_dist(
        site,
        "tiny",
        {"tiny/__init__.py": b"X = 1\n", "tiny/__pycache__/__init__.cpython-311.pyc": b"\x00compiled"},
        scripts={"tiny-cli": launcher, "hello": real_script},
        entry_points="[console_scripts]\ntiny-cli = tiny.cli:main\n",
    )
    made = repack(info, tmp_path / "out")
    assert made.path.name == "tiny-1.0-py3-none-any.whl" and made.name == "tiny"
    with zipfile.ZipFile(made.path) as wheel:
        names = set(wheel.namelist())
        assert names == {
            "tiny/__init__.py",
            "tiny-1.0.dist-info/METADATA",
            "tiny-1.0.dist-info/WHEEL",
            "tiny-1.0.dist-info/entry_points.txt",
            "tiny-1.0.dist-info/RECORD",
            "tiny-1.0.data/scripts/hello",
        }  # no INSTALLER, no byte-compiled files, no launcher of an entry point: the installer makes those
        assert wheel.read("tiny/__init__.py") == b"X = 1\n"
        assert wheel.read("tiny-1.0.data/scripts/hello") == b"#!python\nprint('hello')\n"
        record = wheel.read("tiny-1.0.dist-info/RECORD").decode()
        assert "tiny/__init__.py,sha256=" in record and record.endswith("tiny-1.0.dist-info/RECORD,,\n")
    # Deterministic: the same files give the same bytes.
    assert repack(info, tmp_path / "again").sha256 == made.sha256


def test_repack_refuses_edited_missing_and_editable_installs(tmp_path: Path) -> None:
    site = _site(tmp_path / "a")
    info = _write_dist(site, "tiny", {"tiny/__init__.py": b"X = 1\n"})
    (site / "tiny" / "__init__.py").write_bytes(b"X = 2\n")
    with pytest.raises(RepackError, match=r"tiny/__init__.py: differs from its RECORD"):
        repack(info, tmp_path / "out")
    (site / "tiny" / "__init__.py").unlink()
    with pytest.raises(RepackError, match=r"tiny/__init__.py: listed in RECORD but cannot be read"):
        repack(info, tmp_path / "out")
    editable = _write_dist(_site(tmp_path / "b"), "tiny", {"__editable__.tiny.pth": b"/src\n"}, editable=True)
    with pytest.raises(RepackError, match="editable install: build its wheel from its source tree"):
        repack(editable, tmp_path / "out")
    assert not list((tmp_path / "out").glob("*.whl")) if (tmp_path / "out").exists() else True


def test_requirements_for_another_interpreter_are_fetched_by_exact_version_never_envsnap(tmp_path: Path) -> None:
    """For an interpreter the installed compiled wheels do not suit, each is downloaded by its installed
    version; envsnap itself is always built or packed here, never downloaded."""
    calls: list[tuple[str, ...]] = []

    def record(args: list[str], **_kw: object) -> _runner.Result:
        calls.append(tuple(args))
        if "wheel" in args:  # building from the source tree: let the real pip do it
            return _runner.run(args, timeout=300)
        return _runner.Result(tuple(args), 1, "", "ERROR: no network in this test")

    far = _tool.WheelTarget("3.99.0", "x86_64", "2.36")
    with pytest.raises(RebuildError, match=r"could not download envsnap's requirements for Python 3\.99\.0"):
        _tool.wheels_for(tmp_path, far, offline=False, progress=lambda _l: None, run=record)
    (download,) = [c for c in calls if "download" in c]
    pins = [a for a in download if "==" in a]
    assert pins and all(not a.startswith(("envsnap==", "envsnap-lock")) for a in pins), pins
    assert any(a.startswith("markupsafe==") for a in pins)  # compiled for this Python, not for 3.99


_PROBE = """
import json, sys
from pathlib import Path
from envsnap.rebuild import _tool
calls = []
def never(args, **kw):
    calls.append(list(args))
    raise AssertionError("no subprocess: everything is packed from the installed files")
wheels = _tool.wheels_for(Path(sys.argv[1]), _tool.WheelTarget.running(), offline=True, progress=lambda l: None,
                          run=never)
print(json.dumps({"source_tree": str(_tool.source_tree()), "calls": calls,
                  "wheels": [[w.path.name, w.name, w.how] for w in wheels]}))
"""


@pytest.mark.integration
def test_a_non_editable_install_packs_itself_from_its_installed_files(built_wheel_venv: Path, tmp_path: Path) -> None:
    python = built_wheel_venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(python), "-c", _PROBE, str(tmp_path / "tool")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["source_tree"] == "None" and result["calls"] == []
    own = [w for w in result["wheels"] if w[1] == "envsnap-lock"]
    assert own and own[0][2] == "packed from its installed files"
    wheel = tmp_path / "tool" / own[0][0]
    site = next((built_wheel_venv / "lib").glob("python3*/site-packages"))
    with zipfile.ZipFile(wheel) as archive:
        meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        assert HeaderParser().parsestr(archive.read(meta_name).decode())["Name"] == "envsnap-lock"
        package_files = [n for n in archive.namelist() if n.startswith("envsnap/")]
        assert "envsnap/cli/__init__.py" in package_files and "envsnap/templates/docker/Dockerfile.j2" in package_files
        for name in package_files:
            assert archive.read(name) == (site / name).read_bytes(), name
    # Every requirement is there too, each packed from the venv's files.
    names = {w[1].lower() for w in result["wheels"]}
    assert {"packaging", "jinja2", "rich", "uv"} <= names
    assert not names & {"docker", "py-rattler"}  # the image's envsnap verifies; it rebuilds nothing


def test_the_images_envsnap_goes_without_what_only_conda_and_docker_rebuilds_need() -> None:
    from envsnap.rebuild._tool import WheelTarget, _closure

    names = {
        str(r.name)
        for r in _closure(["docker>=7", "py-rattler>=0.10", "rich>=13", "uv"], WheelTarget.running().markers())
    }
    assert {"rich", "uv", "pygments"} <= names
    assert not names & {"docker", "py-rattler", "requests", "urllib3"}, names


def test_offline_from_a_source_tree_without_its_build_backend_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--offline builds without build isolation: a source checkout whose build backend is not installed gets
    what to do, before pip runs (pip's traceback tail "No module named 'hatchling'" before)."""
    tree = tmp_path / "src"
    tree.mkdir()
    (tree / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["envsnap-no-such-backend>=1.18"]\nbuild-backend = "nope.build"\n'
        '[project]\nname = "envsnap-lock"\nversion = "0.1.0"\n'
    )
    monkeypatch.setattr(_tool, "source_tree", lambda: tree)

    def failing_pip(args: list[str], **_kw: object) -> _runner.Result:
        return _runner.Result(tuple(args), 1, "", "ModuleNotFoundError: No module named 'nope'")

    with pytest.raises(RebuildError) as caught:
        _tool.wheels_for(
            tmp_path / "out", _tool.WheelTarget.running(), offline=True, progress=lambda _l: None, run=failing_pip
        )
    message = str(caught.value)
    assert "\n" not in message
    assert "envsnap-no-such-backend>=1.18" in message and "pip install" in message and "without --offline" in message


def test_a_source_tree_with_its_build_backend_installed_builds_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "src"
    tree.mkdir()
    (tree / "pyproject.toml").write_text('[build-system]\nrequires = ["packaging"]\n[project]\nname = "envsnap-lock"\n')
    monkeypatch.setattr(_tool, "source_tree", lambda: tree)
    calls: list[list[str]] = []

    def pip(args: list[str], **_kw: object) -> _runner.Result:
        calls.append(list(args))
        return _runner.Result(tuple(args), 1, "", "ERROR: stop here")

    with pytest.raises(RebuildError, match="could not build envsnap's wheel"):
        _tool.wheels_for(tmp_path / "out", _tool.WheelTarget.running(), offline=True, progress=lambda _l: None, run=pip)
    assert calls and "--no-build-isolation" in calls[0]
