"""``envsnap pin`` of system packages: the .deb files a container rebuild installs, found in the Debian snapshot
archive through its machine-readable API (recorded answers served from 127.0.0.1), pinned by sha256."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import urllib.request
from pathlib import Path

import pytest
from testutil import sample_lock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))
from fetchserver import Server, make_deb, serving

from envsnap import lockfile
from envsnap.artifacts import debs
from envsnap.artifacts.pin import Fetcher, cached_path
from envsnap.errors import BadOptionError
from envsnap.model import Snapshot, System, SystemPackage

DEB = make_deb("libc6", "2.36-9+deb12u4")
GOMP = make_deb("libgomp1", "12.2.0-14")
NEEDED = ("numpy",)


def lock_with(*packages: SystemPackage) -> Snapshot:
    return sample_lock(system=System(manager="dpkg", packages=packages))


def record(
    server: Server,
    name: str,
    version: str,
    body: bytes,
    *,
    stamps: tuple[str, ...] = ("20230610T000000Z",),
    arch: str = "amd64",
    archive: str = "debian",
    size: int | None = None,
    filename: str = "",
) -> str:
    """Serve the archive's answer for NAME VERSION (as /mr/binary/.../binfiles?fileinfo=1 gives it) and the
    file under each snapshot stamp; return the file's sha256."""
    sha1 = hashlib.sha1(body).hexdigest()
    filename = filename or f"{name}_{version.replace(':', '%3a')}_{arch}.deb"
    pool = f"/pool/main/{name[0]}/{name}"
    quoted = urllib.request.quote(version, safe="")
    server.add(
        f"/mr/binary/{name}/{quoted}/binfiles",
        json.dumps(
            {
                "_comment": "foo",
                "binary": name,
                "binary_version": version,
                "result": [{"architecture": arch, "hash": sha1}],
                "fileinfo": {
                    sha1: [
                        {
                            "archive_name": archive,
                            "first_seen": s,
                            "name": filename,
                            "path": pool,
                            "size": len(body) if size is None else size,
                        }
                        for s in stamps
                    ]
                },
            }
        ).encode(),
        "application/json",
    )
    for stamp in stamps:
        server.add(f"/archive/{archive}/{stamp}{pool}/{urllib.request.quote(filename)}", body)
    return hashlib.sha256(body).hexdigest()


def pin(lock: Snapshot, base: str, cache: Path, **kw: object) -> tuple[Snapshot, tuple[debs.DebOutcome, ...]]:
    return debs.pin_system(lock, Fetcher(), base=base, cache_dir=cache, **kw)  # type: ignore[arg-type]


def test_a_version_no_longer_on_the_mirror_is_found_in_the_snapshot_archive(tmp_path: Path) -> None:
    # The mirror moved on to deb12u9 (its pool holds only that file); the lock has deb12u4, which only the
    # snapshot archive still holds: pin asks the archive, never the mirror, and records the first snapshot's URL.
    with serving() as server:
        server.add("/debian/pool/main/g/glibc/libc6_2.36-9+deb12u9_amd64.deb", b"the mirror's newer file")
        sha256 = record(server, "libc6", "2.36-9+deb12u4", DEB, stamps=("20240115T000000Z", "20231007T031533Z"))
        lock = lock_with(
            SystemPackage("dpkg", "libc6", "2.36-9+deb12u4", "amd64", needed_by=NEEDED),
            SystemPackage("dpkg", "bash", "5.2-15", "amd64"),
        )
        pinned, outcomes = pin(lock, server.url, tmp_path)
    libc6 = next(p for p in pinned.system.packages if p.name == "libc6")
    assert [o.status for o in outcomes] == ["pinned"]  # bash is needed by nothing: not a rebuild's package
    assert libc6.filename == "libc6_2.36-9+deb12u4_amd64.deb"
    assert libc6.sha256 == sha256 and libc6.size == len(DEB)
    assert libc6.url == (
        f"{server.url}/archive/debian/20231007T031533Z/pool/main/l/libc6/libc6_2.36-9%2Bdeb12u4_amd64.deb"
    )  # the first snapshot that holds it
    assert cached_path(tmp_path, sha256, libc6.filename).read_bytes() == DEB  # bundle reuses it
    assert not any(r.startswith("/debian/") for r in server.requests)
    assert next(p for p in pinned.system.packages if p.name == "bash").sha256 == ""
    text = lockfile.dumps(pinned)  # the lock holds and reloads the pinned fields
    assert lockfile.loads(text).system.packages == pinned.system.packages


def test_an_archive_that_cannot_be_asked_leaves_the_fields_empty_and_says_so(tmp_path: Path) -> None:
    with serving() as server:
        closed = server.url
    lock = lock_with(SystemPackage("dpkg", "libgomp1", "12.2.0-14", "amd64", needed_by=NEEDED))
    pinned, outcomes = pin(lock, closed, tmp_path)
    assert pinned.system.packages == lock.system.packages  # nothing guessed
    (outcome,) = outcomes
    assert outcome.status == "unpinned" and "cannot reach" in outcome.reason
    assert any(w.startswith("pin: system libgomp1 12.2.0-14: ") for w in pinned.envsnap.warnings)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b"not the listed file"}, "is not the one the snapshot archive lists"),
        ({"filename": "libother_1_amd64.deb"}, "lists no valid file"),
        ({"archive": "../../etc"}, "lists no valid file"),
        ({"arch": "arm64"}, "no file for architecture amd64"),
    ],
)
def test_a_wrong_or_hostile_answer_pins_nothing(tmp_path: Path, change: dict[str, object], reason: str) -> None:
    with serving() as server:
        body = change.pop("body", None)
        record(server, "libgomp1", "12.2.0-14", GOMP, **change)  # type: ignore[arg-type]
        if body is not None:  # the archive lists DEB's sha1 but serves other bytes of the same length
            for path in list(server.files):
                if path.startswith("/archive/"):
                    server.files[path] = (bytes(body).ljust(len(GOMP), b"x")[: len(GOMP)], "application/octet-stream")
        lock = lock_with(SystemPackage("dpkg", "libgomp1", "12.2.0-14", "amd64", needed_by=NEEDED))
        pinned, (outcome,) = pin(lock, server.url, tmp_path)
    assert outcome.status == "unpinned" and reason in outcome.reason
    assert pinned.system.packages == lock.system.packages
    assert not [p for p in tmp_path.rglob("*.deb")]


def test_the_dependencies_of_a_pinned_package_are_pinned_as_the_lock_has_them(tmp_path: Path) -> None:
    gomp = make_deb("libgomp1", "12.2.0-14", depends="gcc-12-base (= 12.2.0-14), libc6 (>= 2.34)")
    with serving() as server:
        record(server, "libgomp1", "12.2.0-14", gomp)
        record(server, "gcc-12-base", "12.2.0-14", make_deb("gcc-12-base", "12.2.0-14"))
        lock = lock_with(
            SystemPackage("dpkg", "gcc-12-base", "12.2.0-14", "amd64"),
            SystemPackage("dpkg", "libc6", "2.36-9", "amd64"),  # pinned? no: the archive lacks it
            SystemPackage("dpkg", "libgomp1", "12.2.0-14", "amd64", needed_by=NEEDED),
            SystemPackage("dpkg", "tar", "1.34", "amd64"),
        )
        pinned, outcomes = pin(lock, server.url, tmp_path)
    assert {o.name: o.status for o in outcomes} == {"libgomp1": "pinned", "gcc-12-base": "pinned", "libc6": "unpinned"}
    assert [p.name for p in debs.rebuild_packages(pinned)] == ["gcc-12-base", "libgomp1"]  # libc6: needed by none


def test_a_file_that_is_not_the_named_package_is_not_pinned(tmp_path: Path) -> None:
    with serving() as server:
        record(server, "libgomp1", "12.2.0-14", make_deb("libevil", "12.2.0-14"))
        lock = lock_with(SystemPackage("dpkg", "libgomp1", "12.2.0-14", "amd64", needed_by=NEEDED))
        _pinned, (outcome,) = pin(lock, server.url, tmp_path)
    assert outcome.status == "unpinned" and "its control file names 'libevil'" in outcome.reason


def test_an_unknown_version_is_said_per_package(tmp_path: Path) -> None:
    with serving() as server:
        lock = lock_with(SystemPackage("dpkg", "libgomp1", "0.1-1", "amd64", needed_by=NEEDED))
        _pinned, (outcome,) = pin(lock, server.url, tmp_path)
    assert outcome.reason == "the snapshot archive does not know libgomp1 version 0.1-1"


def test_the_interpreter_packages_join_the_needed_ones_and_driver_packages_never_do(tmp_path: Path) -> None:
    lock = lock_with(
        SystemPackage("dpkg", "libgomp1", "12.2.0-14", "amd64", needed_by=NEEDED),
        SystemPackage("dpkg", "libnvidia-compute-535", "535.1", "amd64", needed_by=NEEDED),
        SystemPackage("dpkg", "python3.11", "3.11.2-6", "amd64"),
        SystemPackage("dpkg", "zlib1g", "1:1.2.13", "amd64"),
    )
    assert [p.name for p in debs.rebuild_packages(lock)] == ["libgomp1"]
    assert [p.name for p in debs.rebuild_packages(lock, ("python3.11", "python3.11-venv"))] == [
        "libgomp1",
        "python3.11",
    ]


def test_the_archive_url_is_configuration() -> None:
    assert debs.snapshot_url("http://127.0.0.1:9/", {}) == "http://127.0.0.1:9"
    assert debs.snapshot_url(None, {debs.ENV_SNAPSHOT_URL: "https://snap.example"}) == "https://snap.example"
    default = debs.snapshot_url(None, {})
    assert default.startswith("https://") and default == debs.default_snapshot_url()
    assert default.removeprefix("https://") in debs.SNAPSHOT_MIRRORS["debian"][0]  # the --apt-snapshot host
    with pytest.raises(BadOptionError, match="--snapshot-url 'javascript:x'"):
        debs.snapshot_url("javascript:x", {})


def test_pin_command_pins_the_debs_and_reports_them(
    tmp_path: Path, cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "envsnap.lock"
    lockfile.dump(
        lock_with(
            SystemPackage("dpkg", "libgomp1", "12.2.0-14", "amd64", needed_by=NEEDED),
            SystemPackage("dpkg", "libc6", "2.36-9", "amd64", needed_by=NEEDED),
        ),
        path,
    )
    with serving() as server:
        record(server, "libgomp1", "12.2.0-14", GOMP)
        result = cli("pin", path, "--snapshot-url", server.url)  # type: ignore[operator]
    assert result.code == 0, result
    assert "system packages: 1 .deb file pinned by sha256, 1 not pinned" in result.err
    assert "libc6 2.36-9: the snapshot archive does not know libc6 version 2.36-9" in result.err
    loaded = lockfile.load(path)
    assert next(p for p in loaded.system.packages if p.name == "libgomp1").sha256 == hashlib.sha256(GOMP).hexdigest()
    bad = cli("pin", path, "--snapshot-url", "ftp://x")  # type: ignore[operator]
    assert bad.code == 2 and "--snapshot-url 'ftp://x'" in bad.err


@pytest.mark.network
def test_the_real_archive_pins_a_bookworm_package(tmp_path: Path) -> None:
    base = debs.snapshot_url(None)
    try:
        urllib.request.urlopen(f"{base}/mr/timestamp/", timeout=10).close()
    except OSError as exc:
        pytest.skip(
            f"the snapshot archive {base} is not reachable from here ({exc}): the real-archive test did not run"
        )
    lock = lock_with(SystemPackage("dpkg", "libgomp1", "12.2.0-14", "amd64", needed_by=NEEDED))
    pinned, (outcome,) = pin(lock, base, tmp_path)
    assert outcome.status == "pinned", outcome.reason
    pkg = pinned.system.packages[0]
    assert pkg.filename == "libgomp1_12.2.0-14_amd64.deb" and "/archive/debian/" in pkg.url
    assert os.path.getsize(cached_path(tmp_path, pkg.sha256, pkg.filename)) == pkg.size


def test_an_arch_all_package_depends_on_the_machine_architecture(tmp_path: Path) -> None:
    with serving() as server:
        record(
            server,
            "ca-certificates",
            "20230311",
            make_deb("ca-certificates", "20230311", "all", depends="openssl (>= 1.1.1)"),
            arch="all",
        )
        record(server, "openssl", "3.0.11-1", make_deb("openssl", "3.0.11-1"))
        lock = lock_with(
            SystemPackage("dpkg", "ca-certificates", "20230311", "all", needed_by=NEEDED),
            SystemPackage("dpkg", "openssl", "3.0.11-1", "amd64"),
        )
        _pinned, outcomes = pin(lock, server.url, tmp_path)
    assert {o.name: o.status for o in outcomes} == {"ca-certificates": "pinned", "openssl": "pinned"}


def test_debs_the_archive_cannot_be_reached_for_are_one_line(
    tmp_path: Path, cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the snapshot archive cannot be reached (no network, a name that does not resolve), `pin` said the same
    failure once per system package, each line with that package's query URL: a GPU lock's dozen libraries made a
    dozen long lines of one fact. They are one line naming the packages and the archive; --json keeps each."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "envsnap.lock"
    names = ("libgomp1", "libc6", "zlib1g")
    lockfile.dump(lock_with(*(SystemPackage("dpkg", n, "1.0-1", "amd64", needed_by=NEEDED) for n in names)), path)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    result = cli("pin", path, "--snapshot-url", f"http://127.0.0.1:{port}")  # type: ignore[operator]
    assert result.code == 0, result
    assert "system packages: 0 .deb files pinned by sha256, 3 not pinned" in result.err
    lines = [line for line in result.err.splitlines() if "not pinned" in line and "system packages" not in line]
    assert len(lines) == 1, result.err
    assert lines[0].startswith(
        f"  not pinned libc6, libgomp1, zlib1g (3): http://127.0.0.1:{port} cannot be reached ("
    ), lines[0]
    assert "/mr/" not in lines[0]
    listed = cli("pin", path, "--snapshot-url", f"http://127.0.0.1:{port}", "--json")  # type: ignore[operator]
    assert sum("cannot reach" in str(o.get("reason", "")) for o in json.loads(listed.out) if o.get("system")) == 3
