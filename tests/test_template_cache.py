"""Templates are compiled once per envsnap, not once per run (issue 19: compiling the bundle's README and the two
appendices was a tenth of a warm ``bundle``): Jinja's bytecode is kept in the user's private cache folder and
used only for the same template text and settings; a cache never changes what is rendered and never fails it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Renders two templates of two formats in a fresh process and says which ones Jinja compiled from source.
SCRIPT = """
import json, os, jinja2
from envsnap import _templates
exec(os.environ.get("PRELUDE", ""))
compiled = []
original = jinja2.Environment.compile
def counting(self, source, name=None, *args, **kwargs):
    compiled.append(name)
    return original(self, source, name, *args, **kwargs)
jinja2.Environment.compile = counting
out = [_templates.render("docker/wheels-README.md.j2", kind="tool", tag="t:1", label_filters=("label=a=b",)),
       _templates.render("conda/explicit.txt.j2", digest="d", filename="f.txt", pip=["x==1"], unlisted=[],
                         subdir="linux-64", lines=["https://e.org/a-1-0.conda"])]
print(json.dumps({"compiled": compiled, "out": out}))
"""


def _render(cache_home: Path, **env: str) -> dict[str, Any]:
    environ = {k: v for k, v in os.environ.items() if k != "ENVSNAP_TEMPLATE_CACHE"}
    environ.update(XDG_CACHE_HOME=str(cache_home), **env)
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=environ, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _entries(cache_home: Path) -> list[Path]:
    folder = cache_home / "envsnap" / "templates"
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def plain(tmp_path: Path) -> list[str]:
    """What the templates render to without any cache."""
    result = _render(tmp_path / "none", ENVSNAP_TEMPLATE_CACHE="0")
    assert len(result["compiled"]) == 2 and _entries(tmp_path / "none") == []
    out: list[str] = result["out"]
    return out


def test_a_template_is_compiled_once_and_renders_the_same(tmp_path: Path, plain: list[str]) -> None:
    first = _render(tmp_path)
    assert first["compiled"] == ["docker/wheels-README.md.j2", "conda/explicit.txt.j2"]
    assert first["out"] == plain
    entries = _entries(tmp_path)
    assert len(entries) == 2
    assert (tmp_path / "envsnap" / "templates").stat().st_mode & 0o777 == 0o700
    assert all(e.stat().st_mode & 0o777 == 0o600 for e in entries)
    second = _render(tmp_path)
    assert second["compiled"] == [] and second["out"] == plain


def test_a_half_written_entry_left_by_a_killed_run_is_removed(tmp_path: Path, plain: list[str]) -> None:
    """Jinja writes an entry beside it and renames it into place: a run killed (SIGKILL) in between left its
    ``.tmp`` file in the cache for good. The next write sweeps those that are old; a young one may be another
    run's write in progress and stays."""
    _render(tmp_path)
    entries = _entries(tmp_path)
    old, young = Path(f"{entries[0]}k1ll3d.tmp"), Path(f"{entries[1]}wr1t1ng.tmp")
    for leftover in (old, young):
        leftover.write_bytes(b"half")
    os.utime(old, (1, 1))
    for entry in entries:
        entry.unlink()
    assert _render(tmp_path)["out"] == plain
    assert not old.exists() and young.exists()
    assert sorted(_entries(tmp_path)) == sorted([*entries, young])


@pytest.mark.parametrize(
    "spoil",
    [
        lambda path: path.write_bytes(b""),
        lambda path: path.write_bytes(path.read_bytes()[:40]),
        lambda path: path.write_bytes(b"not a jinja bytecode file at all" * 10),
    ],
    ids=["empty", "cut short", "garbage"],
)
def test_a_spoiled_entry_is_compiled_again_and_rewritten(tmp_path: Path, plain: list[str], spoil: Any) -> None:
    _render(tmp_path)
    for entry in _entries(tmp_path):
        spoil(entry)
    again = _render(tmp_path)
    assert len(again["compiled"]) == 2 and again["out"] == plain
    assert _render(tmp_path)["compiled"] == []  # rewritten whole


@pytest.mark.parametrize(
    "prelude",
    [
        "_templates.__version__ = '0.0.0+other'",
        "jinja2.__version__ = '0.0.0'",
        "_templates._shape = lambda env: 'other settings'",
    ],
    ids=["envsnap", "jinja", "settings"],
)
def test_an_entry_made_by_another_envsnap_jinja_or_settings_is_compiled_again(
    tmp_path: Path, plain: list[str], prelude: str
) -> None:
    _render(tmp_path)
    other = _render(tmp_path, PRELUDE=prelude)
    assert len(other["compiled"]) == 2 and other["out"] == plain
    assert len(_entries(tmp_path)) == 2  # replaced, not added beside
    assert _render(tmp_path, PRELUDE=prelude)["compiled"] == []


def test_a_folder_others_may_write_is_not_used(tmp_path: Path, plain: list[str]) -> None:
    folder = tmp_path / "envsnap" / "templates"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    result = _render(tmp_path)
    assert len(result["compiled"]) == 2 and result["out"] == plain
    assert _entries(tmp_path) == []


def test_a_cache_that_cannot_be_written_renders_from_source(tmp_path: Path, plain: list[str]) -> None:
    full = (
        "import tempfile\n"
        "def full(*a, **k): raise OSError(28, 'No space left on device')\n"
        "tempfile.NamedTemporaryFile = full\n"
    )
    result = _render(tmp_path, PRELUDE=full)
    assert len(result["compiled"]) == 2 and result["out"] == plain
    assert _entries(tmp_path) == []


def test_the_cache_can_be_turned_off(tmp_path: Path, plain: list[str]) -> None:
    assert len(_render(tmp_path, ENVSNAP_TEMPLATE_CACHE="0")["compiled"]) == 2
    assert _entries(tmp_path) == []


@pytest.mark.parametrize("home", ["", "relative-home"])
def test_without_a_home_templates_are_compiled_in_memory_and_no_folder_is_made(
    tmp_path: Path, plain: list[str], home: str | None
) -> None:
    """With HOME empty or relative (and no XDG_CACHE_HOME), a refused bundle left ``/.cache/envsnap/templates`` (an
    empty HOME) or one under the working directory: the user named no cache folder there. The templates are
    compiled in memory then, every time."""
    passwd_home = tmp_path / "passwd-home"  # the home passwd gives, which HOME does not name
    passwd_home.mkdir()
    (tmp_path / "relative-home").mkdir()
    prelude = f"import os.path\nos.path.expanduser = lambda path: path.replace('~', {str(passwd_home)!r}, 1)\n"
    environ = {k: v for k, v in os.environ.items() if k not in ("ENVSNAP_TEMPLATE_CACHE", "XDG_CACHE_HOME", "HOME")}
    environ.update(PRELUDE=prelude, **({} if home is None else {"HOME": home}))
    source = str(Path(__file__).resolve().parents[1])  # run in tmp_path, this checkout's envsnap still
    environ["PYTHONPATH"] = source + (os.pathsep + environ["PYTHONPATH"] if environ.get("PYTHONPATH") else "")
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=environ, cwd=tmp_path, check=False
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert len(result["compiled"]) == 2 and result["out"] == plain
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["passwd-home", "relative-home"]
