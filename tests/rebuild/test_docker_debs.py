"""The docker target with the bundle's .deb files (``bundle --with-system-packages``, ``rebuild --offline``):
what the Dockerfile installs from the bundle, what an offline build expects of the base image, and the checks a
.deb passes before it enters a build context."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shlex
from pathlib import Path

import pytest
from docker_locks import cpu_lock

from envsnap.artifacts import bundle as bundle_layout
from envsnap.artifacts import debs
from envsnap.artifacts.pin import Fetcher, cached_path
from envsnap.dockerfile import spec as dockerspec
from envsnap.errors import BadOptionError, PinError
from envsnap.model import Snapshot, SystemPackage

BASE = "python:3.11.7-slim-bookworm"


def pinned_lock(body: bytes = b"libc6 file") -> Snapshot:
    lock = cpu_lock()
    pkgs = tuple(
        dataclasses.replace(
            p,
            filename=f"{p.name}_{p.version.replace(':', '%3a')}_{p.arch}.deb",
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            url=f"https://snap.example/{p.name}.deb",
        )
        if p.name == "libc6"
        else p
        for p in lock.system.packages
    )
    return dataclasses.replace(lock, system=dataclasses.replace(lock.system, packages=pkgs))


def render(lock: Snapshot, carried: object, offline: bool) -> str:
    spec = dockerspec.make_spec(
        lock,
        dockerspec.DockerOptions(base_image=BASE),
        carried=carried,  # type: ignore[arg-type]
        offline=offline,
    )
    return dockerspec.render_dockerfile(spec)


def test_a_carried_deb_is_installed_by_dpkg_and_the_rest_is_expected_in_the_base_offline() -> None:
    lock = pinned_lock()
    text = render(lock, lambda p: p.name == "libc6", offline=True)
    assert "COPY debs/ /opt/envsnap-debs/" in text
    assert "/opt/envsnap-debs/libc6_2.36-9+deb12u14_amd64.deb" in text
    assert "apt-get" not in text  # no network: nothing comes from a mirror
    assert "'libstdc++6:i386=12.2.0-14+deb12u1'" in text  # needed, not carried: checked in the base image
    online = render(lock, lambda p: p.name == "libc6", offline=False)
    assert "apt-get install" in online and "libc6=" not in online.split("apt-get install")[1]
    assert "envsnap-debs" not in render(lock, None, offline=False)  # no debs/ in the bundle: as before


def test_a_hostile_file_name_never_reaches_the_dockerfile() -> None:
    lock = pinned_lock()
    bad = dataclasses.replace(lock.system.packages[0], filename="x;rm -rf _1_amd64.deb")
    lock = dataclasses.replace(lock, system=dataclasses.replace(lock.system, packages=(bad, *lock.system.packages[1:])))
    with pytest.raises(PinError, match=r"is not a \.deb file name"):
        debs.deb_path(Path("/b/debs"), bad)
    assert debs.is_pinned(bad)


def test_fetch_debs_checks_every_file_against_the_lock_and_names_a_changed_one(tmp_path: Path) -> None:
    lock = pinned_lock()
    libc6 = next(p for p in lock.system.packages if p.name == "libc6")
    cache = tmp_path / "cache"
    cached = cached_path(cache, libc6.sha256, libc6.filename)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"libc6 file")
    folder = tmp_path / "bundle" / "debs"
    size = debs.fetch_debs([libc6], folder, Fetcher(), cache_dir=cache, offline=True)
    assert size == len(b"libc6 file") and (folder / libc6.filename).read_bytes() == b"libc6 file"
    (folder / libc6.filename).write_bytes(b"tampered!!")
    with pytest.raises(PinError, match=r"libc6_2\.36-9\+deb12u14_amd64\.deb: sha256 .* the lock pins libc6"):
        debs.check_deb(folder / libc6.filename, libc6)
    cached.write_bytes(b"also wrong")
    with pytest.raises(PinError, match="not in the download cache"):
        debs.fetch_debs([dataclasses.replace(libc6)], tmp_path / "b2", Fetcher(), cache_dir=cache, offline=True)
    unpinned = SystemPackage("dpkg", "zlib1g", "1:1.2.13.dfsg-1", "amd64", ("markupsafe",))
    with pytest.raises(PinError, match=r"1 system packages have no pinned \.deb \(zlib1g 1:1\.2\.13\.dfsg-1\)"):
        debs.fetch_debs([unpinned], folder, Fetcher(), cache_dir=cache)


def test_the_readme_states_what_the_bundle_holds_and_its_size(tmp_path: Path) -> None:
    (tmp_path / "debs").mkdir()
    (tmp_path / "debs" / "a_1_amd64.deb").write_bytes(b"x" * 3000)
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "a-1-py3-none-any.whl").write_bytes(b"y" * 1000)
    (tmp_path / "README.md").write_text("# bundle\n")
    bundle_layout.describe_bundle(tmp_path)
    bundle_layout.describe_bundle(tmp_path)  # rewritten, not repeated
    text = (tmp_path / "README.md").read_text()
    assert text.count(bundle_layout.HOLDINGS) == 1 and text.startswith("# bundle\n")
    assert "| `debs/` | system packages (.deb files) | 1 | 3 KiB |" in text
    assert "In all: 3 files" in text


def test_as_of_takes_apt_from_the_snapshot_archive_at_the_locks_capture_time() -> None:
    lock = pinned_lock()
    spec = dockerspec.make_spec(lock, dockerspec.DockerOptions(base_image=BASE, as_of="auto"))
    stamp = lock.envsnap.created.replace("-", "").replace(":", "")
    assert spec.apt_sources and all(f"/{stamp} " in line for line in spec.apt_sources)
    dated = dockerspec.make_spec(lock, dockerspec.DockerOptions(base_image=BASE, as_of="2024-01-02"))
    assert "/20240102T000000Z " in dated.apt_sources[0]
    with pytest.raises(BadOptionError, match="--as-of installs from the snapshot archive"):
        dockerspec.make_spec(lock, dockerspec.DockerOptions(base_image=BASE, as_of="auto"), offline=True)
    with pytest.raises(BadOptionError, match="give one"):
        dockerspec.make_spec(lock, dockerspec.DockerOptions(base_image=BASE, as_of="auto", apt_snapshot="2024-01-02"))
    undated = dataclasses.replace(lock, envsnap=dataclasses.replace(lock.envsnap, created=""))
    with pytest.raises(BadOptionError, match="records no capture time"):
        dockerspec.make_spec(undated, dockerspec.DockerOptions(base_image=BASE, as_of="auto"))


def test_a_bundled_deb_that_is_not_the_one_the_lock_pins_is_bad_input(tmp_path: Path) -> None:
    # A bundle's .deb whose sha256 is not the lock's fails the bundle's checks: exit 2, as a SHA256SUMS mismatch.
    from envsnap import lockfile
    from envsnap.artifacts.bundle import Bundle
    from envsnap.errors import BadBundleError
    from envsnap.rebuild.docker import _copy_debs

    lock = pinned_lock()
    libc6 = next(p for p in lock.system.packages if p.name == "libc6")
    (tmp_path / "b" / "debs").mkdir(parents=True)
    (tmp_path / "b" / "debs" / libc6.filename).write_bytes(b"another file")
    lockfile.dump(lock, tmp_path / "b" / "envsnap.lock")
    spec = dockerspec.make_spec(
        lock, dockerspec.DockerOptions(base_image=BASE), carried=lambda p: p is libc6, offline=True
    )
    with pytest.raises(BadBundleError, match=rf"{re.escape(libc6.filename)}: sha256 .*the file was changed"):
        _copy_debs(Bundle(tmp_path / "b"), spec, tmp_path / "ctx" / "debs", lambda _line: None)
    assert not (tmp_path / "ctx" / "debs" / libc6.filename).exists()


def test_bundling_a_system_package_with_no_pinned_deb_fails_naming_it(
    tmp_path: Path, cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envsnap import lockfile
    from envsnap.model import System

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    lock = dataclasses.replace(
        cpu_lock(),
        python=dataclasses.replace(cpu_lock().python, packages=()),
        system=System(manager="dpkg", packages=(SystemPackage("dpkg", "libgomp1", "12.2.0-14", "amd64", ("numpy",)),)),
    )
    path = lockfile.dump(lockfile.seal(lock), tmp_path / "envsnap.lock")
    done = cli("bundle", path, "-o", tmp_path / "b", "--with-system-packages", "--base-image", BASE)  # type: ignore[operator]
    assert done.code == 4, done
    assert "1 system packages have no pinned .deb (libgomp1 12.2.0-14)" in done.err


@pytest.mark.parametrize("output", ["b", "b.tar.gz"])
def test_bundling_system_packages_carries_the_pinned_debs_in_either_form(
    tmp_path: Path, cli: object, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    """A folder and an archive bundle take the same options: the archive was refused, "--with-system-packages needs
    a directory bundle (-o DIR), not an archive", exit 2, though it holds debs/ as a folder does."""
    import tarfile

    from envsnap import lockfile

    lock = pinned_lock()
    libc6 = next(p for p in lock.system.packages if p.name == "libc6")
    lock = dataclasses.replace(
        lock,
        python=dataclasses.replace(lock.python, packages=()),
        system=dataclasses.replace(lock.system, packages=(libc6,)),
    )
    cached = cached_path(tmp_path / "cache", libc6.sha256, libc6.filename)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"libc6 file")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # no engine: every .deb is carried
    path = lockfile.dump(lockfile.seal(lock), tmp_path / "envsnap.lock")
    out = tmp_path / output
    done = cli(  # type: ignore[operator]
        "bundle", path, "-o", out, "--with-system-packages", "--offline", "--cache-dir", tmp_path / "cache"
    )
    assert done.code == 0, done
    assert "  system packages: 1 .deb file (0 KiB) in debs/, 0 left to the base image" in done.err.splitlines()
    assert done.err.splitlines()[-1].startswith(f"wrote {out}: 1 .deb file in "), done.err
    if output == "b":
        assert (out / "debs" / libc6.filename).read_bytes() == b"libc6 file"
        return
    with tarfile.open(out) as tar:
        member = tar.extractfile(f"b/debs/{libc6.filename}")
        assert member is not None and member.read() == b"libc6 file"
        sums = tar.extractfile("b/SHA256SUMS")
        assert sums is not None and f"debs/{libc6.filename}" in sums.read().decode()


def test_bundling_unpinned_system_packages_for_a_base_image_names_it_in_the_pin_remedy(
    tmp_path: Path, cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The packages a rebuild installs depend on its base (one without Python needs the interpreter's): a plain
    ``envsnap pin LOCK`` pins those of the default base, and the bundle on ``--base-image`` failed again."""
    from envsnap import lockfile
    from envsnap.model import System

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    lock = dataclasses.replace(
        cpu_lock(),
        python=dataclasses.replace(cpu_lock().python, packages=()),
        system=System(manager="dpkg", packages=(SystemPackage("dpkg", "libgomp1", "12.2.0-14", "amd64", ("numpy",)),)),
    )
    path = lockfile.dump(lockfile.seal(lock), tmp_path / "envsnap.lock")
    done = cli("bundle", path, "-o", tmp_path / "b", "--with-system-packages", "--base-image", BASE)  # type: ignore[operator]
    assert done.code == 4, done
    # The lock given, as a shell word (it said LOCK).
    pin = f"envsnap pin {shlex.quote(str(path))} --base-image {BASE}"
    said = f"run `{pin}` where the snapshot archive is reachable first"
    assert said in done.err, done.err


def test_a_bundled_deb_is_hashed_once_by_the_sums_check_and_still_checked_against_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envsnap import lockfile
    from envsnap.artifacts.bundle import Bundle
    from envsnap.rebuild.docker import _copy_debs

    lock = pinned_lock()
    libc6 = next(p for p in lock.system.packages if p.name == "libc6")
    (tmp_path / "b" / "debs").mkdir(parents=True)
    (tmp_path / "b" / "debs" / libc6.filename).write_bytes(b"libc6 file")
    lockfile.dump(lock, tmp_path / "b" / "envsnap.lock")
    Bundle(tmp_path / "b").write_sums()
    bundle_layout._KNOWN.clear()  # forget what write_sums hashed: a rebuild is another process
    hashed: list[str] = []
    real = bundle_layout.sha256_file
    monkeypatch.setattr(bundle_layout, "sha256_file", lambda p: hashed.append(Path(p).name) or real(p))
    Bundle(tmp_path / "b").verify_sums()
    spec = dockerspec.make_spec(
        lock, dockerspec.DockerOptions(base_image=BASE), carried=lambda p: p is libc6, offline=True
    )
    _copy_debs(Bundle(tmp_path / "b"), spec, tmp_path / "ctx" / "debs", lambda _line: None)
    assert hashed.count(libc6.filename) == 1  # the 25 files of the bench were read twice (SUMS, then the lock)
    assert (tmp_path / "ctx" / "debs" / libc6.filename).read_bytes() == b"libc6 file"


def _debs_lock(tmp_path: Path, name: str, carried: dict[str, bytes], url: str = "https://snap.example") -> Path:
    """A lock of no wheel whose system packages ``carried`` (name: the .deb's bytes) are pinned, each .deb in the
    download cache at ``tmp_path/cache`` but those whose bytes are empty (not there: offline, it cannot be had)."""
    from envsnap import lockfile

    lock = cpu_lock()
    packages = []
    for p in lock.system.packages:
        if p.name not in carried:
            continue
        body = carried[p.name] or p.name.encode()
        filename = f"{p.name}_{p.version.replace(':', '%3a')}_{p.arch}.deb"
        sha256 = hashlib.sha256(body).hexdigest()
        packages.append(
            dataclasses.replace(p, filename=filename, size=len(body), sha256=sha256, url=f"{url}/{filename}")
        )
        if carried[p.name]:
            cached = cached_path(tmp_path / "cache", sha256, filename)
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(body)
    lock = dataclasses.replace(
        lock,
        python=dataclasses.replace(lock.python, packages=()),
        system=dataclasses.replace(lock.system, packages=tuple(packages)),
    )
    return lockfile.dump(lockfile.seal(lock), tmp_path / f"{name}.lock")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_rebundle_whose_debs_fail_leaves_the_earlier_bundle_as_it_was(
    tmp_path: Path, cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bundle --with-system-packages`` made the .deb files after the wheels, the lock and SHA256SUMS: where one
    could not be had (not in the download cache, --offline: exit 4), a re-bundle of an earlier bundle left the new
    lock and sums, the earlier bundle's .deb that the new lock does not carry removed, and the new ones fetched so
    far in debs/ outside SHA256SUMS. Every earlier file is as it was; what the run fetched is kept for the next run,
    marked as being made, which completes it."""
    from envsnap.artifacts.bundle import INCOMPLETE, Bundle

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # no engine: every .deb is carried
    first = _debs_lock(tmp_path, "first", {"libgcc-s1": b"libgcc file"})
    second = _debs_lock(tmp_path, "second", {"libc6": b"libc6 file", "zlib1g": b""})  # zlib1g's .deb is nowhere
    out = tmp_path / "b"
    options = ("--with-system-packages", "--offline", "--cache-dir", tmp_path / "cache")
    assert cli("bundle", first, "-o", out, *options).code == 0  # type: ignore[operator]
    before = _files(out)
    done = cli("bundle", second, "-o", out, *options)  # type: ignore[operator]
    assert done.code == 4 and "zlib1g" in done.err and "not in the download cache" in done.err, done
    after = _files(out)
    assert {k: v for k, v in after.items() if k in before} == before, [k for k in before if after.get(k) != before[k]]
    assert INCOMPLETE in after  # being made: every reader refuses it until the next run completes it
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".envsnap-")] == []
    _debs_lock(tmp_path, "second", {"libc6": b"libc6 file", "zlib1g": b"zlib1g"})  # its .deb is in the cache now
    assert cli("bundle", second, "-o", out, *options).code == 0  # type: ignore[operator]
    Bundle(out).verify_sums()
    assert sorted(p.name for p in (out / "debs").iterdir()) == [
        "libc6_2.36-9+deb12u14_amd64.deb",
        "zlib1g_1%3a1.2.13.dfsg-1_amd64.deb",
    ]


def test_a_rebundle_whose_deb_url_is_refused_leaves_the_earlier_bundle_exactly_as_it_was(
    tmp_path: Path, cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A .deb whose URL the fetch policy refuses (plain http on this machine, no --allow-url) is bad input, exit 2:
    the earlier bundle is left exactly as it was, every file and SHA256SUMS, without what this run fetched."""
    from envsnap.artifacts.bundle import Bundle

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    first = _debs_lock(tmp_path, "first", {"libgcc-s1": b"libgcc file"})
    second = _debs_lock(tmp_path, "second", {"libc6": b"libc6 file", "zlib1g": b""}, url="http://127.0.0.1:9")
    out = tmp_path / "b"
    options = ("--with-system-packages", "--cache-dir", tmp_path / "cache")
    assert cli("bundle", first, "-o", out, "--offline", *options).code == 0  # type: ignore[operator]
    before = _files(out)
    done = cli("bundle", second, "-o", out, *options)  # type: ignore[operator]
    assert done.code == 2 and "zlib1g" in done.err and "Traceback" not in done.err, done
    assert _files(out) == before
    Bundle(out).verify_sums()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".envsnap-")) == []
