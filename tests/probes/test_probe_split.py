"""The target probe reads half the distributions in a forked copy of itself (``_pyprobe._read_all``): its answer
is the one process's, whatever the copy does."""

from __future__ import annotations

import base64
import hashlib
import json
import marshal
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from envsnap.probes import _pyprobe, cache
from envsnap.probes import python as pyprobe


def _row(site: Path, rel: str) -> str:
    data = (site / rel).read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{rel},sha256={digest},{len(data)}"


def _dist(site: Path, name: str, version: str, files: int) -> None:
    """A distribution of ``files`` modules, a shared object, their byte code and a console script outside."""
    dist = site / f"{name}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Dist: x\n\n")
    (dist / "INSTALLER").write_text("pip\n")
    (dist / "WHEEL").write_text("Wheel-Version: 1.0\nTag: py3-none-any\n")
    (dist / "entry_points.txt").write_text(f"[console_scripts]\n{name}-run = {name}:main\n")
    package = site / name
    (package / "__pycache__").mkdir(parents=True)
    rows = []
    for k in range(files):
        (package / f"m{k}.py").write_text(f"x = {k}\n")
        (package / "__pycache__" / f"m{k}.cpython-311.pyc").write_bytes(b"pyc")
        rows += [_row(site, f"{name}/m{k}.py"), f"{name}/__pycache__/m{k}.cpython-311.pyc,,"]
    (package / f"_ext{files}.so").write_bytes(b"\x7fELF not really")
    rows.append(_row(site, f"{name}/_ext{files}.so"))
    rows.append(f"../../../bin/{name}-run,sha256=abc,12")
    rows += [f"{dist.name}/METADATA,,", f"{dist.name}/RECORD,,"]
    (dist / "RECORD").write_text("\n".join(rows) + "\n")


@pytest.fixture
def sites(tmp_path: Path) -> list[str]:
    """Two site folders of 41 distributions: one shadowed by the first folder's, one broken, an egg-info file."""
    first, second = tmp_path / "lib" / "site-packages", tmp_path / "user" / "site-packages"
    for k in range(30):
        _dist(first, f"pkg{k:02d}", f"1.{k}", files=k % 7 * 5)
    for k in range(10):
        _dist(second, f"other{k}", "2.0", files=k)
    _dist(second, "pkg03", "9.9", files=2)  # shadowed by the first folder's pkg03
    (first / "broken-1.0.dist-info").mkdir()  # no METADATA
    (second / "single-1.0.egg-info").write_text("Metadata-Version: 1.1\nName: single\nVersion: 1.0\n")
    return [str(first), str(second)]


def _answer(paths: list[str], **options: Any) -> dict[str, Any]:
    return _pyprobe.probe(paths, **options)


def test_a_split_probe_answers_as_one_process(sites: list[str], tmp_path: Path) -> None:
    one = _answer(sites, split=False)
    assert len(one["packages"]) == 41 and {w["kind"] for w in one["warnings"]} == {"broken-dist", "shadowed"}
    assert any(p["shared_objects"] for p in one["packages"])
    assert _answer(sites, split=True) == one
    # With the RECORD cache: the same answer and the same cache document, filled by both processes; then every
    # digest is the cache's, counted across both (nothing changed: no document to write).
    old = (1_600_000_000 * 10**9,) * 2  # older than the racy window: their digests are kept
    for site in sites:
        for path in Path(site).rglob("*"):
            os.utime(path, ns=old)
    records = tmp_path / "records.json"
    filled = _answer(sites, split=True, cache_path=str(records))
    alone = _answer(sites, split=False, cache_path=str(records))
    assert filled["cache"] is not None and filled["cache"] == alone["cache"]
    assert len(filled["cache"]["entries"]) == 41
    assert {**filled, "cache": None} == {**one, "cache": None}
    cache.write(records, filled["cache"])
    again = _answer(sites, split=True, cache_path=str(records))
    assert again["cache"] is None
    assert again == {**one, "cache": None}


@pytest.mark.parametrize("failure", ["garbage", "exception"])
def test_a_copy_that_fails_leaves_its_half_to_the_probe(
    sites: list[str], monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    one = _answer(sites, split=False)

    def broken(value: object) -> bytes:
        if failure == "exception":
            raise ValueError("cannot")
        return b"\x00not marshal"

    monkeypatch.setattr(marshal, "dumps", broken)  # only the copy writes marshal
    assert _answer(sites, split=True) == one


def test_the_probe_splits_only_where_it_helps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert _pyprobe._may_split(100)
    assert not _pyprobe._may_split(_pyprobe._SPLIT_AT - 1)  # a fork costs more than a few folders
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not _pyprobe._may_split(100)  # another thread's locks are not safe to fork
    finally:
        stop.set()
        other.join()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert not _pyprobe._may_split(100)  # no second core


def test_the_halves_are_about_equal_in_record_size(sites: list[str]) -> None:
    found = [(s, e) for s in sites for e in sorted(os.listdir(s)) if e.endswith((".dist-info", ".egg-info"))]
    mine, theirs = _pyprobe._halves(found)
    assert sorted(mine + theirs) == list(range(len(found)))

    def size(indexes: list[int]) -> int:
        total = 0
        for index in indexes:
            record = Path(found[index][0], found[index][1], "RECORD")
            total += record.stat().st_size if record.exists() else 0
        return total

    largest = max(size([i]) for i in range(len(found)))
    assert abs(size(mine) - size(theirs)) <= largest + 4096 * len(found) // 2


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the probe splits only with a second core")
def test_the_target_interpreter_splits_by_itself(sites: list[str], tmp_path: Path) -> None:
    """Run as envsnap runs it (``python -E -B _pyprobe_run.py``), the probe of 41 distributions forks once (an
    audit hook counts it) and answers as one process does."""
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(
        "import json, sys\n"
        f"sys.path.insert(0, {str(Path(pyprobe.PROBE_SCRIPT).parent)!r})\n"
        "forks = []\n"
        "sys.addaudithook(lambda event, args: forks.append(event) if event == 'os.fork' else None)\n"
        "import _pyprobe\n"
        f"answer = _pyprobe.probe({sites!r})\n"
        "print(len(forks))\n"
        "print(json.dumps(answer))\n"
    )
    run = subprocess.run([sys.executable, "-E", "-B", str(wrapper)], capture_output=True, text=True, check=True)
    forks, answer = run.stdout.split("\n", 1)
    assert forks == "1"
    assert json.loads(answer) == json.loads(json.dumps(_answer(sites, split=False)))


def test_the_same_version_again_later_on_sys_path_is_no_shadow_warning(tmp_path: Path) -> None:
    """An editable setuptools project (src/ layout) has src/PKG.egg-info beside its code, which the install's .pth
    puts on sys.path after the install's own .dist-info: every capture of it warned "shadowed" into the lock."""
    from envsnap.probes import _pyprobe

    first, second = tmp_path / "site", tmp_path / "src"
    _dist(first, "paper", "0.1.0", files=1)
    _dist(second, "paper", "0.1.0", files=1)  # the project's own build metadata
    _dist(second, "other", "1.0", files=1)
    _dist(first, "other", "2.0", files=1)  # another version first: that is a shadow
    found = _pyprobe.probe(path_entries=[str(first), str(second)], split=False)
    assert sorted(p["name"] for p in found["packages"]) == ["other", "paper"]
    assert [(w["kind"], Path(w["path"]).name) for w in found["warnings"]] == [("shadowed", "other-1.0.dist-info")]


def test_a_distribution_behind_a_broken_one_earlier_on_sys_path_is_not_recorded(tmp_path: Path) -> None:
    """A venv's alpha whose METADATA is gone, and the base's (or user site's) alpha 1.0 later on sys.path: imports
    read the venv's files, and the capture recorded 1.0 as the alpha installed. A broken one of the same name in the
    same folder (an uninstall's leftover beside the install that replaced it) leaves the readable one recorded."""
    from envsnap.probes import _pyprobe

    first, second = tmp_path / "venv-site", tmp_path / "base-site"
    _dist(first, "alpha", "2.0", files=1)
    (first / "alpha-2.0.dist-info" / "METADATA").unlink()
    _dist(second, "alpha", "1.0", files=1)
    _dist(second, "beta", "1.0", files=1)
    (second / "beta-0.9.dist-info").mkdir()  # left by an interrupted uninstall of 0.9
    found = _pyprobe.probe(path_entries=[str(first), str(second)], split=False)
    assert sorted((p["name"], p["version"]) for p in found["packages"]) == [("beta", "1.0")]
    assert sorted((w["kind"], Path(w["path"]).name, w["reason"]) for w in found["warnings"]) == [
        ("broken-dist", "alpha-2.0.dist-info", "no METADATA file"),
        ("broken-dist", "beta-0.9.dist-info", "no METADATA file"),
        ("shadowed", "alpha-1.0.dist-info", "alpha 1.0 is shadowed by an earlier one on sys.path"),
    ]
