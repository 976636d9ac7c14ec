"""The capture cache (probes/cache.py): it never changes a result, a changed file is read again, ``--no-cache``
writes nothing, and a corrupt or foreign cache file is ignored."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_system import _minimal_elf64
from testutil import CliResult, site_packages

from envsnap.probes import _pyprobe, cache, elf, hostlibs, memo
from envsnap.probes import capture as capture_module

OLD = time.time() - 3600  # files older than the cache's racy window


def _age(*paths: Path, when: float = OLD) -> None:
    for path in paths:
        os.utime(path, (when, when))


def _record_row(site: Path, rel: str) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256((site / rel).read_bytes()).digest()).rstrip(b"=").decode()
    return f"{rel},sha256={digest},{(site / rel).stat().st_size}"


def _write_dist(site: Path, name: str, files: dict[str, bytes]) -> Path:
    """A distribution with ``files`` (paths relative to site-packages) and a RECORD naming them, all aged."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n\n")
    (info / "INSTALLER").write_text("pip\n")
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
    rows = [_record_row(site, rel) for rel in [*files, f"{info.name}/METADATA"]]
    (info / "RECORD").write_text("\n".join([*rows, f"{info.name}/RECORD,,"]) + "\n")
    _age(*(site / rel for rel in files), info / "METADATA", info / "INSTALLER", info / "RECORD")
    return info


@pytest.fixture
def demo_env(tmp_path: Path) -> tuple[Path, Path]:
    """A venv (no pip) holding one distribution with an ELF extension that needs libm and a missing library:
    (its python, its site-packages)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = site_packages(py)
    _write_dist(
        site,
        "demo",
        {
            "demo/__init__.py": b"",
            "demo/_ext.cpython-311-x86_64-linux-gnu.so": _minimal_elf64(["libm.so.6", "libnotthere.so.7"]),
        },
    )
    return py, site


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache root, a working directory outside any git tree and a fixed capture time. No capture is
    answered from the capture memo (tests/probes/test_capture_memo.py): these tests read the capture cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(capture_module, "utc_now", lambda: "2026-01-01T00:00:00Z")
    monkeypatch.setattr(memo, "RACY_NS", 1 << 62)  # no stamp is old enough to be trusted: no memo is kept
    return tmp_path / "xdg" / "envsnap" / "capture"


def _capture(cli: Callable[..., CliResult], py: Path, out: Path, *extra: str) -> bytes:
    result = cli("capture", "--python", py, "-o", out, *extra)
    assert result.code == 0, result.err
    return out.read_bytes()


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[str]:
    calls: list[str] = []
    real = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(" ".join(str(a) for a in args[:2]))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_cached_and_uncached_locks_are_byte_for_byte_equal(
    cli: Callable[..., CliResult],
    demo_env: tuple[Path, Path],
    cache_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    py, _site = demo_env
    uncached = _capture(cli, py, tmp_path / "a.lock", "--no-cache")
    assert b'soname = "libm.so.6"' in uncached  # the extension's needs were read
    filled = _capture(cli, py, tmp_path / "b.lock")
    assert {"elf", "records"} <= {p.name.split("-")[0].removesuffix(".json") for p in cache_home.iterdir()}
    written = {p.name: p.stat().st_mtime_ns for p in cache_home.iterdir()}
    reads = _counting(monkeypatch, elf, "read_dynamic")
    warm = _capture(cli, py, tmp_path / "c.lock")
    assert uncached == filled == warm
    assert reads == []  # every ELF file, the system's libm too, came from the cache
    assert {p.name: p.stat().st_mtime_ns for p in cache_home.iterdir()} == written  # nothing changed: no write


def test_no_cache_writes_nothing(
    cli: Callable[..., CliResult], demo_env: tuple[Path, Path], cache_home: Path, tmp_path: Path
) -> None:
    py, _site = demo_env
    lock = tmp_path / "env.lock"
    _capture(cli, py, lock, "--no-cache")
    assert cli("verify", lock, "--python", py, "--no-cache").code == 0
    assert cli("check", lock, "--python", py, "--no-cache").code in (0, 1, 3)
    assert not cache_home.parent.exists()


def test_the_target_probe_reads_only_the_record_that_changed(
    demo_env: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _py, site = demo_env
    other = _write_dist(site, "other", {"other/__init__.py": b"x = 1\n"})
    path = tmp_path / "records.json"
    computed = _counting(monkeypatch, _pyprobe, "_record_entries")

    def probe() -> dict[str, Any]:
        answer = _pyprobe.probe([str(site)], cache_path=str(path))
        if answer["cache"] is not None:
            cache.write(path, answer["cache"])
        return {p["name"]: (p["record_digest"], p["shared_objects"]) for p in answer["packages"]}

    first = probe()
    assert len(computed) == 2 and path.exists()
    assert probe() == first and len(computed) == 2  # unchanged: no RECORD read again
    # A reinstall rewrites RECORD (another size and mtime): that one distribution is read again.
    (site / "other" / "extra.py").write_text("y = 2\n")
    record = other / "RECORD"
    record.write_text(_record_row(site, "other/extra.py") + "\n" + record.read_text())
    _age(site / "other" / "extra.py", record, when=OLD + 60)
    third = probe()
    assert len(computed) == 3 and str(site / "other-1.0.dist-info") in computed[-1]
    assert third["other"] != first["other"] and third["demo"] == first["demo"]
    uncached = _pyprobe.probe([str(site)])
    assert third == {p["name"]: (p["record_digest"], p["shared_objects"]) for p in uncached["packages"]}


def _site_with(root: Path, *names: str, script: bool = False) -> Path:
    """A site-packages folder of its own under ``root`` holding one distribution per name, each the same files
    (and so the same RECORD bytes) wherever it is made; with ``script``, a last one whose RECORD names a console
    script outside site-packages (``../../../bin/tool``)."""
    site = root / "lib" / "site-packages"
    site.mkdir(parents=True)
    for name in names:
        _write_dist(site, name, {f"{name}/__init__.py": b"", f"{name}/_ext.so": _minimal_elf64(["libm.so.6"])})
    if script:
        info = _write_dist(site, "tooling", {"tooling/__init__.py": b""})
        record = info / "RECORD"
        record.write_text("../../../bin/tool,sha256=AAAA,10\n" + record.read_text())
        _age(record)
    return site


def _digests(answer: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    return {p["name"]: (p["record_digest"], p["shared_objects"]) for p in answer["packages"]}


def test_a_record_digested_before_is_taken_by_its_content_wherever_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rebuild's new venv holds, at a new path and with new stamps, the RECORDs the last rebuild of the same wheels
    # read: their digests come from the memo, keyed by the RECORD's bytes and folder name, and are what a read gives.
    first_site = _site_with(tmp_path / "first", "alpha", "beta", script=True)
    second_site = _site_with(tmp_path / "second", "alpha", "beta", script=True)
    memo_path = tmp_path / "record-memo.json"
    computed = _counting(monkeypatch, _pyprobe, "_record_entries")
    first = _pyprobe.probe([str(first_site)], memo_path=str(memo_path))
    assert len(computed) == 3 and first["memo"] is not None
    cache.write(memo_path, first["memo"])
    # The RECORD naming a file outside site-packages is kept too, under what was decided of that file
    # (``test_a_record_naming_scripts_is_remembered_with_what_was_decided_of_them``).
    assert len(first["memo"]["entries"]) == 3

    second = _pyprobe.probe([str(second_site)], memo_path=str(memo_path))
    assert computed[3:] == []
    assert second["memo"] is None  # nothing new to keep
    unremembered = _pyprobe.probe([str(second_site)])
    assert _digests(second) == _digests(unremembered)
    assert _digests(second)["alpha"][1] == [str(second_site / "alpha" / "_ext.so")]  # its paths are where it is now

    # Another folder name or another byte is another entry: read, not taken.
    record = second_site / "beta-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text().replace("beta/__init__.py", "beta/__init__.py "))
    before = len(computed)
    changed = _pyprobe.probe([str(second_site)], memo_path=str(memo_path))
    assert {c.rsplit("/", 1)[1] for c in computed[before:]} == {"beta-1.0.dist-info"}
    assert _digests(changed) == _digests(_pyprobe.probe([str(second_site)]))


def _scripted(root: Path, script: bytes | None, entry_points: str = "") -> Path:
    """A site-packages folder under ``root`` holding one distribution whose RECORD (the same bytes wherever it
    is made) names a script in ``root/bin``, written there with ``script`` (none: not there), and
    ``entry_points.txt`` where given."""
    site = root / "lib" / "site-packages"
    site.mkdir(parents=True)
    info = _write_dist(site, "tooling", {"tooling/__init__.py": b""})
    if entry_points:
        (info / "entry_points.txt").write_text(entry_points)
    record = info / "RECORD"
    record.write_text("../../bin/tool,sha256=AAAA,10\n" + record.read_text())
    if script is not None:
        (root / "bin").mkdir()
        (root / "bin" / "tool").write_bytes(script)
        _age(root / "bin" / "tool")
    _age(record, info / "entry_points.txt") if entry_points else _age(record)
    return site


def test_a_record_naming_scripts_is_remembered_with_what_was_decided_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rebuild's verify reads the RECORDs of the wheels the last rebuild installed, a third of them naming console
    # scripts outside site-packages (``../../../bin/x``): their digests come from the memo too, kept with each
    # such file's name and whether it counted, so that a script an installer wrote in one venv and the wheel's own
    # file in another, with one RECORD's bytes, still give each its own digest, what a full read gives.
    memo_path = tmp_path / "record-memo.json"
    computed = _counting(monkeypatch, _pyprobe, "_record_entries")
    written = b"#!/venv/bin/python\nimport tooling\n"  # an installer's shebang: not the wheel's file
    first = _pyprobe.probe([str(_scripted(tmp_path / "a", written))], memo_path=str(memo_path))
    cache.write(memo_path, first["memo"])
    assert len(computed) == 1

    again = _scripted(tmp_path / "b", written)
    assert _digests(_pyprobe.probe([str(again)], memo_path=str(memo_path))) == _digests(_pyprobe.probe([str(again)]))
    assert len(computed) == 2  # the memo, then the full read to compare

    for root, script, entry_points, reads in (
        ("c", b"#!/bin/bash\necho the wheel's own\n", "", 1),  # counted: another entry, read
        ("d", None, "", 0),  # not there: counted as well, so c's entry
        # a console script of entry_points.txt: not counted, as a's installer-written one was, so a's entry
        ("e", b"#!/bin/bash\necho\n", "[console_scripts]\ntool = tooling:main\n", 0),
    ):
        site = _scripted(tmp_path / root, script, entry_points)
        before = len(computed)
        remembered = _pyprobe.probe([str(site)], memo_path=str(memo_path))
        assert len(computed) == before + reads
        assert _digests(remembered) == _digests(_pyprobe.probe([str(site)]))
        if reads:
            cache.write(memo_path, remembered["memo"])
    counted = _digests(_pyprobe.probe([str(tmp_path / "c" / "lib" / "site-packages")], memo_path=str(memo_path)))
    assert counted != _digests(first)  # the wheel's own script counts; the installer's did not
    assert counted == _digests(_pyprobe.probe([str(tmp_path / "d" / "lib" / "site-packages")]))
    assert _digests(_pyprobe.probe([str(tmp_path / "e" / "lib" / "site-packages")])) == _digests(first)


def test_files_gone_from_under_a_cached_record_are_found_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ``rm -rf site-packages/alpha``: its RECORD is unchanged, so the stamp cache (and, in another venv, the memo)
    # answers its digest; the names it was read for are looked for all the same, and RECORD is not read again.
    import shutil

    site = _site_with(tmp_path / "env", "alpha", "beta")
    other = _site_with(tmp_path / "other", "alpha", "beta")
    path, memo_path = tmp_path / "records.json", tmp_path / "record-memo.json"
    first = _pyprobe.probe([str(site)], cache_path=str(path), memo_path=str(memo_path))
    cache.write(path, first["cache"])
    cache.write(memo_path, first["memo"])
    assert [p.get("missing_top_level", []) for p in first["packages"]] == [[], []]
    shutil.rmtree(site / "alpha")
    shutil.rmtree(other / "beta")
    for where, gone in ((site, "alpha"), (other, "beta")):
        computed = _counting(monkeypatch, _pyprobe, "_record_entries")
        answer = _pyprobe.probe([str(where)], cache_path=str(path), memo_path=str(memo_path))
        assert computed == []  # from the cache, then the memo: no RECORD read again
        found = {p["name"]: (p.get("missing_top_level", []), p.get("top_level_listed")) for p in answer["packages"]}
        assert found == {gone: ([gone], 1), ({"alpha", "beta"} - {gone}).pop(): ([], None)}
        monkeypatch.undo()
        assert answer["packages"] == _pyprobe.probe([str(where)])["packages"]  # what a read of it all answers


def test_a_name_kept_with_a_record_digest_is_looked_for_in_its_site_folder_alone(tmp_path: Path) -> None:
    # A cache file is read as untrusted bytes: a kept "name" naming a path elsewhere is not looked for at all.
    (tmp_path / "site").mkdir()
    packages: list[dict[str, Any]] = [{"site_dir": str(tmp_path / "site"), "tops": ["..", "../gone", "a/b", "gone"]}]
    _pyprobe._files_gone(packages)
    assert packages == [{"site_dir": str(tmp_path / "site"), "missing_top_level": ["gone"], "top_level_listed": 1}]


def test_a_record_memo_of_other_code_or_shape_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _site_with(tmp_path / "env", "alpha")
    memo_path = tmp_path / "record-memo.json"
    answer = _pyprobe.probe([str(site)], memo_path=str(memo_path))
    computed = _counting(monkeypatch, _pyprobe, "_record_entries")
    document = answer["memo"]
    (key,) = document["entries"]
    for bad in (
        {**document, "meta": {"probe": "another probe's code"}},
        {**document, "entries": {key: ["sha256:" + "0" * 64, "not a list"]}},
        {**document, "entries": {key: "x"}},
    ):
        cache.write(memo_path, bad)
        again = _pyprobe.probe([str(site)], memo_path=str(memo_path))
        assert _digests(again) == _digests(answer) and computed[-1].endswith("alpha-1.0.dist-info")
    assert len(computed) == 3


def test_the_record_memo_keeps_the_entries_used_last(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pyprobe, "MEMO_ENTRIES", 3)
    kept = _pyprobe._RecordMemo({k: [f"sha256:{k}", [], [k]] for k in "abcd"})
    assert kept.lookup("a") == ("sha256:a", [], ["a"]) and kept.lookup("z") is None
    kept.store("e", "sha256:e", ["x.so"], ["e"])
    assert list(kept.entries()) == ["d", "a", "e"] and kept.changed()
    assert not _pyprobe._RecordMemo({"a": ["sha256:a", [], []]}).changed()
    assert _pyprobe._RecordMemo({"a": ["sha256:a", []]}).lookup("a") is None  # an entry of the shape before


def test_the_copy_that_reads_half_sends_back_what_it_remembered(tmp_path: Path) -> None:
    names = [f"pkg{i:02d}" for i in range(30)]
    site = _site_with(tmp_path / "env", *names)
    memo_path = tmp_path / "record-memo.json"
    split = _pyprobe.probe([str(site)], memo_path=str(memo_path), split=True)
    assert len(split["memo"]["entries"]) == len(names)
    cache.write(memo_path, split["memo"])
    assert _digests(_pyprobe.probe([str(site)], memo_path=str(memo_path), split=True)) == _digests(split)


def test_a_changed_elf_file_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    lib = tmp_path / "libdemo.so"
    lib.write_bytes(_minimal_elf64(["liba.so.1"]))
    _age(lib)
    reads = _counting(monkeypatch, elf, "read_dynamic")

    def needed() -> tuple[str, ...]:
        loader = hostlibs.Loader({}, sections=hostlibs.elf_cache("env"))
        info = loader.dynamic(str(lib))
        assert loader.sections is not None
        loader.sections.save()
        return info.needed if info else ()

    assert needed() == ("liba.so.1",) and len(reads) == 1
    assert needed() == ("liba.so.1",) and len(reads) == 1
    lib.write_bytes(_minimal_elf64(["libb.so.2", "libc.so.3"]))  # another size
    _age(lib, when=OLD + 60)  # and another mtime
    assert needed() == ("libb.so.2", "libc.so.3") and len(reads) == 2


def test_a_file_changed_within_the_racy_window_is_not_kept(tmp_path: Path) -> None:
    store = cache.StatCache(tmp_path / "c.json", "elf", 1, lambda key, value: True)
    fresh, old = tmp_path / "fresh", tmp_path / "old"
    fresh.write_text("x")
    old.write_text("y")
    _age(old)
    store.put(str(fresh), _pyprobe.file_stamp(str(fresh)), [])
    store.put(str(old), _pyprobe.file_stamp(str(old)), [])
    assert list(store.new) == [str(old)]


def test_dpkg_index_finds_the_owners_a_full_read_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    info = tmp_path / "info"
    info.mkdir()
    status = tmp_path / "status"
    status.write_text("Package: libfoo1\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n")
    monkeypatch.setattr(hostlibs, "DPKG_INFO", str(info))
    monkeypatch.setattr(hostlibs, "DPKG_STATUS", str(status))
    lists = {
        "libfoo1:amd64.list": "/usr/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu/libfoo.so.1\n",
        "libbar2.list": "/usr/lib/libbar.so.2.0\n/usr/share/doc/libbar2/README\n",
        "docs.list": "/usr/share/doc\n",
    }
    for name, text in lists.items():
        (info / name).write_text(text)
    _age(status, *info.iterdir())
    wanted = ["/usr/lib/x86_64-linux-gnu/libfoo.so.1", "/usr/lib/libbar.so.2.0", "/usr/lib/libnone.so.3"]

    def owners(index: cache.StatCache | None) -> dict[str, str]:
        db = hostlibs.PackageDatabase(manager="dpkg", index=index)
        db.preload()
        found = db.owners(wanted)
        assert [p.name for p in db.installed()] == ["libfoo1"]
        if index is not None:
            index.save()
        return found

    full = owners(None)
    assert full == {wanted[0]: "libfoo1", wanted[1]: "libbar2"}
    readme = "/usr/share/doc/libbar2/README"  # a name without ".so": every list is read for it
    assert hostlibs.PackageDatabase(manager="dpkg", index=hostlibs.dpkg_index()).owners([readme]) == {readme: "libbar2"}
    assert owners(hostlibs.dpkg_index()) == full
    warm = hostlibs.dpkg_index()
    assert owners(warm) == full and warm.hits == len(lists) + 1  # every list and the status from the cache
    (info / "libbar2.list").write_text("/usr/share/doc/libbar2/README\n")  # the library moved to another package
    (info / "libbaz.list").write_text("/usr/lib/libbar.so.2.0\n")
    _age(info / "libbar2.list", info / "libbaz.list", when=OLD + 60)
    assert owners(hostlibs.dpkg_index()) == {wanted[0]: "libfoo1", wanted[1]: "libbaz"}


def _corruptions(document: dict[str, Any]) -> list[bytes]:
    """Ways a cache file can be broken or foreign: not JSON, not an object, another version or kind, and
    entries whose stamps match but whose values have the wrong shape."""
    bad_values = {**document, "entries": {k: [v[0], {"not": "a value"}] for k, v in document["entries"].items()}}
    bad_entries = {**document, "entries": {k: "x" for k in document["entries"]}}
    return [
        b"\x00\xffnot json",
        b"[1, 2, 3]",
        b"{" * 100000,
        json.dumps({**document, "version": 999}).encode(),
        json.dumps({**document, "kind": "other"}).encode(),
        json.dumps({**document, "meta": "another environment"}).encode(),
        json.dumps(bad_values).encode(),
        json.dumps(bad_entries).encode(),
    ]


def test_a_corrupt_or_foreign_cache_file_is_ignored(
    cli: Callable[..., CliResult], demo_env: tuple[Path, Path], cache_home: Path, tmp_path: Path
) -> None:
    py, _site = demo_env
    expected = _capture(cli, py, tmp_path / "uncached.lock", "--no-cache")
    _capture(cli, py, tmp_path / "fill.lock")
    files = sorted(cache_home.iterdir())
    documents = {p: json.loads(p.read_bytes()) for p in files}
    assert all(d["entries"] for d in documents.values())
    for i in range(len(_corruptions(documents[files[0]]))):
        for path, document in documents.items():
            path.write_bytes(_corruptions(document)[i])
        assert _capture(cli, py, tmp_path / f"corrupt-{i}.lock") == expected, f"corruption {i}"


def test_the_shared_library_lines_of_a_dpkg_list_are_those_of_a_full_split() -> None:
    data = b"/usr/share/doc/x\n/a/b.so\r/c/d\n/x/\xffy.so.1\n/z/libq.so\xc2\x85/w/k.so.2\n/so/plain\n/lib/libz.so.1\n"
    full = [line for line in data.decode("utf-8", "replace").splitlines() if ".so" in os.path.basename(line)]
    assert hostlibs.shared_lines(data) == full
    assert full == ["/a/b.so", "/x/\ufffdy.so.1", "/z/libq.so", "/w/k.so.2", "/lib/libz.so.1"]


def test_the_shared_library_lines_are_those_of_a_full_split_for_any_bytes() -> None:
    """``shared_lines`` cuts each line around a ".so" it finds: the lines of a full decode and split, whatever the
    bytes (lines without a newline at the end, ".so" at either end of the data, in a folder name, twice a line,
    split by other line breaks, undecodable bytes)."""
    pieces = [
        b"/usr/lib/libx.so",
        b".so",
        b"/d.so/e",
        b"\n",
        b"\r",
        b"\x0c",
        b"\xc2\x85",
        b"\xff",
        b"so",
        b".",
        b"/",
        b"a",
    ]
    rng = random.Random(18)
    for _ in range(3000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(12)))
        full = [line for line in data.decode("utf-8", "replace").splitlines() if ".so" in os.path.basename(line)]
        assert hostlibs.shared_lines(data) == full, data


def test_a_cache_folder_others_may_write_is_not_used(
    cli: Callable[..., CliResult], demo_env: tuple[Path, Path], cache_home: Path, tmp_path: Path
) -> None:
    """A stranger who may write the folder could plant entries whose stamps match: the capture would then record
    a RECORD digest it never computed (the parsed-lock cache refuses such a folder for the same reason)."""
    py, _site = demo_env
    expected = _capture(cli, py, tmp_path / "uncached.lock", "--no-cache")
    _capture(cli, py, tmp_path / "fill.lock")
    (records,) = cache_home.glob("records-*.json")
    planted = json.loads(records.read_bytes())
    for entry in planted["entries"].values():
        entry[1][0] = "sha256:" + "0" * 64
    records.write_text(json.dumps(planted))
    assert _capture(cli, py, tmp_path / "planted.lock") != expected  # the planted entry is read from a private folder
    cache_home.chmod(0o777)
    records.write_text(json.dumps(planted))
    assert _capture(cli, py, tmp_path / "shared.lock") == expected
    assert json.loads(records.read_bytes()) == planted  # nothing written there either


def test_concurrent_captures_leave_whole_cache_files(demo_env: tuple[Path, Path], tmp_path: Path) -> None:
    """Captures running at once each write their cache files beside and rename them into place: every file left
    is a whole one that the next capture uses."""
    py, _site = demo_env
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(Path(__file__).parents[2])}
    capture = [sys.executable, "-m", "envsnap", "capture", "--python", str(py)]
    runs = [
        subprocess.Popen(
            [*capture, "-o", str(tmp_path / f"{i}.lock")], cwd=tmp_path, env=env, stderr=subprocess.DEVNULL
        )
        for i in range(4)
    ]
    assert all(run.wait(timeout=300) == 0 for run in runs)
    locks = {(tmp_path / f"{i}.lock").read_text().split("\n", 4)[4] for i in range(4)}  # after `created`
    assert len(locks) == 1
    folder = tmp_path / "xdg" / "envsnap" / "capture"

    def kept() -> list[Path]:  # the capture cache's files (the capture memo's is tests/probes/test_capture_memo.py)
        return [p for p in folder.iterdir() if not p.name.startswith("memo-")]

    documents = {p.name: json.loads(p.read_bytes()) for p in kept()}
    assert all(d["format"] == _pyprobe.CACHE_FORMAT and d["entries"] for d in documents.values())
    assert not [p for p in folder.iterdir() if p.name.startswith(".envsnap-")]  # no temporary file left
    written = {p.name: p.stat().st_mtime_ns for p in kept()}
    # Another variable: not answered from the capture memo a capture above may have kept.
    again = {**env, "ENVSNAP_TEST_AGAIN": "1"}
    subprocess.run([*capture, "-o", str(tmp_path / "again.lock")], cwd=tmp_path, env=again, check=True)
    assert {p.name: p.stat().st_mtime_ns for p in kept()} == written  # all of it used, none rewritten


def test_a_cache_file_others_may_write_is_not_read(tmp_path: Path) -> None:
    """The target probe's cache of RECORD digests: a file planted while its folder was open to others outlives the
    folder's ``chmod 700``, and could claim digests envsnap never computed. Only the user's own, writable by nobody
    else, is read."""
    path = tmp_path / "records.json"
    path.write_text(json.dumps(_pyprobe.cache_document("records", ["m"], {"k": [[1], "v"]})))
    path.chmod(0o600)
    assert _pyprobe.read_cache(str(path), "records", ["m"]) == {"k": [[1], "v"]}
    path.chmod(0o646)
    assert _pyprobe.read_cache(str(path), "records", ["m"]) == {}


def test_a_file_missing_when_first_asked_for_is_read_once_it_is_there(tmp_path: Path) -> None:
    # ``Loader.warm`` asks for the files of the last capture, some of which may not be there yet (a rebuild's new
    # venv at the path of an earlier one): that answer is not a fact about the file, and is not remembered.
    lib = tmp_path / "venv" / "libdemo.so"
    loader = hostlibs.Loader({}, sections=cache.StatCache(None, "elf", 1, hostlibs.valid_section))
    assert loader.dynamic(str(lib)) is None
    lib.parent.mkdir()
    lib.write_bytes(_minimal_elf64(["liba.so.1"]))
    info = loader.dynamic(str(lib))
    assert info is not None and info.needed == ("liba.so.1",)


def test_a_link_to_a_file_a_rebuild_read_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild's verify finds by device and inode the sections of the shared objects the last one read: uv links
    the same files from its cache into each new venv. A file changed since, or another file at a known path, is
    read."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    store = tmp_path / "uv-cache" / "libdemo.so"
    store.parent.mkdir()
    store.write_bytes(_minimal_elf64(["liba.so.1"]))
    _age(store)
    reads = _counting(monkeypatch, elf, "read_dynamic")

    def verify_of(venv: str) -> tuple[str, ...]:
        lib = tmp_path / venv / "libdemo.so"
        lib.parent.mkdir(exist_ok=True)
        if not lib.exists():
            os.link(store, lib)  # as uv installs it
        loader = hostlibs.Loader({}, sections=cache.StatCache(None, "elf", 1, hostlibs.valid_section))
        loader.links = hostlibs.link_cache()
        info = loader.dynamic(str(lib))
        loader.links.save()
        return info.needed if info else ()

    assert verify_of("venv-1") == ("liba.so.1",) and len(reads) == 1
    assert verify_of("venv-2") == ("liba.so.1",) and len(reads) == 1  # another path, the same file
    assert verify_of("venv-3") == ("liba.so.1",) and len(reads) == 1
    links = json.loads((tmp_path / "xdg" / "envsnap" / "capture" / "elf-links.json").read_text())
    assert len(links["entries"]) == 1  # one file, one entry, however many links were read
    store.write_bytes(_minimal_elf64(["libb.so.2"]))  # changed in place: every link sees it
    _age(store, when=OLD + 60)
    assert verify_of("venv-3") == ("libb.so.2",) and len(reads) == 2
    other = tmp_path / "venv-4" / "libdemo.so"  # not a link: another inode
    other.parent.mkdir()
    other.write_bytes(_minimal_elf64(["libc.so.3"]))
    _age(other)
    assert verify_of("venv-4") == ("libc.so.3",) and len(reads) == 3
    assert verify_of("venv-4") == ("libc.so.3",) and len(reads) == 3


def test_the_prefetch_reads_a_venv_once_through_lib64(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # uv's and venv's ``lib64`` is a link to ``lib``: its RECORDs were read twice, every shared object looked up twice.
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    dist = site / "demo-1.0.dist-info"
    dist.mkdir(parents=True)
    (venv / "lib64").symlink_to("lib")
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (site / "demo").mkdir()
    for name in ("_a.cpython-311-x86_64-linux-gnu.so", "_b.so"):
        (site / "demo" / name).write_bytes(_minimal_elf64(["libm.so.6"]))
    rows = [
        "demo/__init__.py,sha256=x,1",
        "demo/_a.cpython-311-x86_64-linux-gnu.so,sha256=y,2",
        "demo/social.py,sha256=z,3",
        "demo/_b.so,,",
        "demo-1.0.dist-info/RECORD,,",
    ]
    (dist / "RECORD").write_text("\r\n".join(rows) + "\r\n")
    asked = _counting(monkeypatch, hostlibs.Loader, "dynamic")
    hostlibs.prefetch_environment(hostlibs.Loader({}), str(venv / "bin" / "python"))
    assert sorted(a.rsplit("/", 1)[-1] for a in asked) == ["_a.cpython-311-x86_64-linux-gnu.so", "_b.so"]


def test_two_probe_codes_on_one_host_keep_a_record_memo_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two envsnap installs of another probe on one host (a project's venv and a tool's; an upgrade beside the old
    # one), used in turn: with one file for the host, each read found the other's code's file, ignored it and
    # wrote its own over it, so neither ever found a digest (a bench of two trees, interleaved, read every RECORD).
    from envsnap.probes import pending

    paths = []
    for name, code in (("old", b"# one probe\n"), ("new", b"# another probe, longer\n"), ("again", b"# one probe\n")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "_pyprobe.py").write_bytes(code)
        os.utime(folder / "_pyprobe.py", ns=(int(OLD) * 10**9, int(OLD) * 10**9))
        monkeypatch.setattr(pending, "__file__", str(folder / "pending.py"))
        paths.append(pending._record_memo())
    assert None not in paths
    assert paths[0] != paths[1]  # another code: another file
    assert paths[0] == paths[2]  # the same code (size and mtime) wherever it is installed: the same file


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc builds the library")
def test_a_library_cut_short_by_the_captures_spent_read_only_data_budget_is_read_whole_next_time(
    tmp_path: Path,
) -> None:
    """A library whose read-only data the capture's spent byte budget left unread is partial for that capture, and
    not kept: the next capture, with a budget of its own, reads it whole (a kept partial list would stay partial)."""
    from cuda_fixtures import cubin_header, embedded_cubins_library

    lib = embedded_cubins_library(tmp_path / "libtrt.so", [cubin_header((100 << 8) | 0x8 | 2, abi=8)], pad=1 << 20)
    _age(lib)
    kept = tmp_path / "elf.json"
    spent = hostlibs.Loader({}, sections=cache.StatCache(kept, "elf", 1, hostlibs.valid_section))
    spent.kernel_budget.rodata = 1 << 19
    first = spent.dynamic(str(lib))
    assert first is not None and first.kernels_cut
    assert spent.sections is not None
    spent.sections.save()
    sections = cache.StatCache(kept, "elf", 1, hostlibs.valid_section)
    second = hostlibs.Loader({}, sections=sections).dynamic(str(lib))
    assert second is not None and (second.kernels, second.kernels_cut) == (("sm_100a",), False)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc builds the library")
def test_a_library_past_64_mib_of_read_only_data_that_an_older_envsnap_kept_partial_is_read_whole(
    tmp_path: Path,
) -> None:
    """The capture cache of the previous reader (ELF_CACHE_VERSION 8) kept a library with more than 64 MiB of
    read-only data as partial (it read 64 MiB a file): such an entry is not trusted, and the next capture reads the
    library whole, as no limit a file stops it now."""
    from cuda_fixtures import cubin_header, embedded_cubins_library

    lib = embedded_cubins_library(
        tmp_path / "libtrt.so", [cubin_header((100 << 8) | 0x8 | 2, abi=8)], pad=(64 << 20) + 4096
    )
    _age(lib)
    kept = tmp_path / "elf.json"
    written = hostlibs.Loader({}, sections=cache.StatCache(kept, "elf", 8, hostlibs.valid_section))
    assert written.dynamic(str(lib)) is not None and written.sections is not None
    written.sections.save()
    document = json.loads(kept.read_text())
    for entry in document["entries"].values():
        entry[1][5:7] = [[], True]  # as the older capture kept it: no kernels, partial
    kept.write_text(json.dumps(document))
    sections = cache.StatCache(kept, "elf", hostlibs.ELF_CACHE_VERSION, hostlibs.valid_section)
    now = hostlibs.Loader({}, sections=sections).dynamic(str(lib))
    assert now is not None and (now.kernels, now.kernels_cut) == (("sm_100a",), False)
