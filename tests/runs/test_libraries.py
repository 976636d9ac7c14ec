"""Who owns a loaded file, and whether the lock accounts for it: a distribution's RECORD, a conda package's
conda-meta record, the interpreter, the system package manager, or nobody."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from testutil import sample_lock

from envsnap._privacy import PathRedactor
from envsnap.model import Conda, CondaPackage, PythonPackage
from envsnap.probes.system import PackageDatabase
from envsnap.runs import cache
from envsnap.runs.libraries import Owner, account, classify


def _so(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    src = path.with_suffix(".c")
    src.write_text("int f(void) { return 1; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(path), str(src)], check=True)
    return path


def test_each_owner_and_what_the_lock_says_of_it(tmp_path: Path) -> None:
    env = tmp_path / "env"
    # A conda environment: conda-meta lists lib/libzz.so.1 as zz's.
    conda_lib = _so(env / "lib" / "libzz.so.1")
    (env / "conda-meta").mkdir()
    (env / "conda-meta" / "zz-1.3-h0.json").write_text(
        json.dumps({"name": "zz", "version": "1.3", "build": "h0", "files": ["lib/libzz.so.1"]})
    )
    (env / "conda-meta" / "yy-2.0-h0.json").write_text(
        json.dumps({"name": "yy", "version": "2.0", "files": ["lib/libyy.so"]})
    )
    other_conda = _so(env / "lib" / "libyy.so")
    # A wheel in it: its RECORD lists its extension module.
    site = env / "lib" / "python3.11" / "site-packages"
    ext = _so(site / "fastpkg" / "_core.cpython-311-x86_64-linux-gnu.so")
    (site / "fastpkg-0.5.dist-info").mkdir(parents=True)
    (site / "fastpkg-0.5.dist-info" / "RECORD").write_text(
        "fastpkg/_core.cpython-311-x86_64-linux-gnu.so,sha256=x,1\nfastpkg-0.5.dist-info/RECORD,,\n"
    )
    stray = _so(tmp_path / "home" / "libmine.so")
    lock = sample_lock(
        PythonPackage(name="fastpkg", version="0.4"),
        conda=Conda(subdir="linux-64", packages=(CondaPackage(name="zz", version="1.3"),)),
    )
    libs = {
        Path(lib.path).name: lib
        for lib in account(
            [str(conda_lib), str(other_conda), str(ext), str(stray)],
            lock,
            PathRedactor(home=str(tmp_path / "home")),
            database=PackageDatabase(manager=""),
        )
    }
    assert libs["libzz.so.1"].owner == "conda" and libs["libzz.so.1"].accounted
    assert libs["libyy.so"].owner == "conda" and not libs["libyy.so"].accounted
    assert libs["libyy.so"].note == "conda package yy is not in the lock"
    core = libs["_core.cpython-311-x86_64-linux-gnu.so"]
    assert (core.owner, core.package, core.version, core.accounted) == ("python", "fastpkg", "0.5", False)
    assert core.note == "the lock has fastpkg 0.4"
    assert libs["libmine.so"].owner == "" and not libs["libmine.so"].accounted
    assert libs["libmine.so"].path == "~/libmine.so"  # the home directory is not recorded


def test_a_system_python_s_prefix_does_not_make_system_libraries_the_interpreter_s(tmp_path: Path) -> None:
    """A Debian python3 has /usr as its prefix: libc under /usr/lib is still libc6's, not the interpreter's."""
    db = PackageDatabase()
    if db.manager != "dpkg":
        pytest.skip("needs a dpkg host")
    libc = next(
        p
        for p in (
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/aarch64-linux-gnu/libc.so.6",
        )
        if Path(p).exists()
    )
    stray = _so(tmp_path / "usrlike" / "lib" / "libown.so")
    libs = {
        Path(lib.path).name: lib
        for lib in account(
            [libc, str(stray)],
            sample_lock(),
            PathRedactor(),
            interpreters={"/usr": "3.11.7", str(tmp_path / "usrlike"): "3.11.7"},
            database=db,
        )
    }
    assert libs["libc.so.6"].owner == "system" and libs["libc.so.6"].package.startswith("libc6")
    # What no package owns under a Python's own prefix is the interpreter's.
    assert libs["libown.so"].owner == "interpreter" and libs["libown.so"].version == "3.11.7"


def test_a_record_path_quoted_for_its_comma_is_read(tmp_path: Path) -> None:
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    ext = _so(site / "odd,pkg" / "_x.so")
    (site / "odd_pkg-1.0.dist-info").mkdir(parents=True)
    (site / "odd_pkg-1.0.dist-info" / "RECORD").write_text(
        '"odd,pkg/_x.so",sha256=x,1\nodd_pkg-1.0.dist-info/RECORD,,\n'
    )
    [lib] = account(
        [str(ext)],
        sample_lock(PythonPackage(name="odd-pkg", version="1.0")),
        PathRedactor(),
        database=PackageDatabase(manager=""),
    )
    assert (lib.owner, lib.package, lib.accounted) == ("python", "odd-pkg", True)


def test_owners_found_while_the_command_ran_are_not_looked_up_again(tmp_path: Path) -> None:
    """``envsnap run`` looks up the owners of what the command had loaded so far while it runs; at its end only
    the files loaded later are looked up."""
    stray = _so(tmp_path / "home" / "libmine.so")
    later = _so(tmp_path / "home" / "liblater.so")
    known = {str(stray): Owner("system", "libmine", "1.0")}  # a fresh lookup would find no owner
    found = classify([str(stray), str(later)], database=PackageDatabase(manager=""), known=known)
    assert found == {str(later): None, str(stray): Owner("system", "libmine", "1.0")}


def test_the_owner_index_answers_as_the_scan_of_every_list_does() -> None:
    scanned = PackageDatabase()
    if scanned.manager != "dpkg":
        pytest.skip("needs a dpkg host")
    indexed = PackageDatabase()
    indexed.index_owners()
    paths = [str(p) for p in (Path("/bin/sh"), Path("/usr/bin/env"), *Path("/lib").glob("*/libc.so.6"))]
    paths.append("/usr/lib/no-such-library.so")
    assert indexed.owners(paths) == scanned.owners(paths) and indexed.owners(paths)


def test_prepare_reads_ahead_the_environment_s_records_and_the_owners_seen_so_far(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What matching the loaded files needs is read while the command runs: the RECORD files of the Python
    environment the command runs in and the owners of the files sampled so far."""
    from envsnap.runs import assemble

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENVSNAP_RUN_CACHE", "0")
    seen = [sys.executable]  # the interpreter's file: a system package's, the interpreter's, or no one's
    ready = assemble.prepare(
        ["python3", "-c", "pass"],
        lock=sample_lock(),
        lock_path=None,
        record=tmp_path / "run.toml",
        python=sys.executable,
        seen=lambda: seen,
    )
    sites = cache.site_dirs(sys.executable)
    assert sites and all(site in ready.index.loaded() for site in sites)
    assert set(ready.known) == set(seen)


def test_reading_ahead_reads_each_dpkg_list_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The owner index answers every lookup while the command runs, so its ".so" lines (what a capture's owner
    scan reads) are not read as well: that was a second pass over every list, a fifth of a second of CPU."""
    from envsnap.runs import assemble

    if PackageDatabase().manager != "dpkg":
        pytest.skip("needs a dpkg host")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENVSNAP_RUN_CACHE", "0")
    opened: list[str] = []
    real_open = open

    def counting_open(file: object, *args: object, **kwargs: object) -> object:
        if isinstance(file, str) and file.endswith(".list"):
            opened.append(file)
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    def prepare() -> assemble.Prepared:
        return assemble.prepare(
            ["sh", "-c", "true"], lock=sample_lock(), lock_path=None, record=tmp_path / "run.toml", python=None
        )

    # The capture's own pass over the lists (their ".so" lines) is answered by the capture cache once it holds
    # them (the first run on a host, with an empty cache, reads them there too).
    prepare()
    monkeypatch.setattr("builtins.open", counting_open)
    ready = prepare()
    assert ready.database is not None and ready.database.owners(["/bin/sh"])
    assert opened and len(opened) == len(set(opened))


def test_what_a_site_folder_s_records_say_is_kept_until_a_distribution_there_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envsnap.runs import libraries

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ENVSNAP_RUN_CACHE", raising=False)
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    ext = _so(site / "fastpkg" / "_core.so")
    record = site / "fastpkg-0.5.dist-info" / "RECORD"
    record.parent.mkdir(parents=True)
    record.write_text("fastpkg/_core.so,sha256=x,1\nfastpkg/__init__.py,,\n")
    first = libraries.RecordIndex(cached=True)
    assert first.owner(str(ext)) == ("fastpkg", "0.5")
    real = libraries._read_records

    def unread(folder: str) -> object:
        raise AssertionError(f"{folder} was read again")

    monkeypatch.setattr(libraries, "_read_records", unread)
    again = libraries.RecordIndex(cached=True)
    assert again.owner(str(ext)) == ("fastpkg", "0.5")
    assert again.owner(str(site / "fastpkg" / "__init__.py")) == ("fastpkg", "0.5")
    # Reinstalled as another version: the folder's state changed, so its RECORD files are read again.
    record.parent.rename(site / "fastpkg-0.6.dist-info")
    monkeypatch.setattr(libraries, "_read_records", real)
    assert libraries.RecordIndex(cached=True).owner(str(ext)) == ("fastpkg", "0.6")
