"""Bundle archives and checksums: safe extraction, deterministic archives, SHA256SUMS."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap import lockfile
from envsnap.artifacts.bundle import Bundle, extract, read_sums, requirements_text, write_archive
from envsnap.errors import BadBundleError, BundleError
from envsnap.model import Artifact, PythonEnv, PythonPackage, Snapshot, Source


def _lock() -> Snapshot:
    art = Artifact(filename="a-1.0-py3-none-any.whl", url="https://x/a-1.0-py3-none-any.whl", sha256="0" * 64)
    return Snapshot(
        python=PythonEnv(
            version="3.11.7",
            packages=(
                PythonPackage(name="a", version="1.0", artifact=art),
                PythonPackage(name="b", version="2.0"),  # nothing to install it from: not listed
                PythonPackage(name="c", version="1.0", installer="conda", conda_managed=True, artifact=art),
            ),
        )
    )


def _bundle(root: Path) -> Bundle:
    (root / "wheels").mkdir(parents=True)
    lockfile.dump(_lock(), root / "envsnap.lock")
    (root / "wheels" / "a-1.0-py3-none-any.whl").write_bytes(b"wheel")
    bundle = Bundle(root)
    bundle.write_sums()
    return bundle


def _tar(path: Path, *members: tarfile.TarInfo, data: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            if member.isfile():
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
            else:
                tar.addfile(member)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_requirements_pin_every_wheel_with_its_hash() -> None:
    text = requirements_text(_lock())
    assert text.splitlines()[2:] == [f"a==1.0 --hash=sha256:{'0' * 64}"]


def test_requirements_name_a_wheel_the_bundle_built_by_its_file() -> None:
    """A wheel built from a local project was pinned ``name==version``, which pip installs by name from the wheels
    folder with no direct_url.json: the bundle's file by path (pip resolves it against the bundle folder it runs in),
    and the image's by its URL with the sha256 in its fragment, which uv records. A wheel from an index stays pinned
    by name; a file name that could expand a variable or add an option is refused."""
    built = Artifact(filename="g-1.0+lab-py3-none-any.whl", url="file:///src/g", sha256="1" * 64, rebuilt=True)
    pkg = PythonPackage(
        name="g", version="1.0+lab", artifact=built, source=Source(kind="directory", url="file:///src/g")
    )
    lock = dataclasses.replace(
        _lock(), python=dataclasses.replace(_lock().python, packages=(*_lock().python.packages, pkg))
    )
    assert requirements_text(lock).splitlines()[3:] == [
        f"a==1.0 --hash=sha256:{'0' * 64}",
        f"./wheels/g-1.0+lab-py3-none-any.whl --hash=sha256:{'1' * 64}",
    ]
    assert requirements_text(lock, wheels_url="file:///opt/envsnap-wheelhouse").splitlines()[2:] == [
        f"a==1.0 --hash=sha256:{'0' * 64}",
        f"g @ file:///opt/envsnap-wheelhouse/g-1.0+lab-py3-none-any.whl#sha256={'1' * 64} --hash=sha256:{'1' * 64}",
    ]
    odd = dataclasses.replace(pkg, artifact=dataclasses.replace(built, filename="g-1.0-${HOME}-none-any.whl"))
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=(odd,)))
    with pytest.raises(BundleError, match="wheel file name"):
        requirements_text(lock)


def test_sums_cover_every_file_and_catch_additions(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "b")
    assert sorted(read_sums(tmp_path / "b" / "SHA256SUMS")) == [
        "envsnap.lock",
        "wheels/a-1.0-py3-none-any.whl",
    ]
    bundle.verify_sums()
    (tmp_path / "b" / "wheels" / "extra.whl").write_bytes(b"!")
    with pytest.raises(BundleError, match=r"extra\.whl: not listed in SHA256SUMS"):
        bundle.verify_sums()


def test_wheel_for_and_hash_check_name_the_file(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "b")
    wheel = bundle.wheel_for("a")
    assert wheel.name == "a-1.0-py3-none-any.whl"
    with pytest.raises(BundleError, match=r"a-1\.0-py3-none-any\.whl: hash mismatch"):
        bundle.check_wheel(bundle.lock.python.packages[0])
    with pytest.raises(BundleError, match=r"b 2\.0 has no wheel"):
        bundle.wheel_for("b")
    wheel.unlink()
    with pytest.raises(BundleError, match=r"a-1\.0-py3-none-any\.whl: missing from the bundle"):
        bundle.wheel_for("a")


@pytest.mark.parametrize(("name", "version"), [("b", "2.0"), ("a", "1.1")])
def test_a_wheel_that_names_another_package_or_version_is_refused(tmp_path: Path, name: str, version: str) -> None:
    """A stranger's bundle lock can give a package the wheel of another (``b 2.0`` installed from
    ``a-1.0-py3-none-any.whl``, its sha256 right): the rebuild planned ``b 2.0 <- wheels/a-1.0-...whl`` and left it to
    the installer to fail, or to install ``a`` for ``b``. The wheel's file name must name the package's name and
    version, as an installer reads them: refused as a bad bundle (exit 2), naming both. "1.0.0" is "1.0"."""
    root = tmp_path / "b"
    (root / "wheels").mkdir(parents=True)
    (root / "wheels" / "a-1.0-py3-none-any.whl").write_bytes(b"wheel")
    art = Artifact(filename="a-1.0-py3-none-any.whl", url="https://x/a-1.0-py3-none-any.whl", sha256="0" * 64)
    packages = (PythonPackage(name=name, version=version, artifact=art),)
    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=packages)), root / "envsnap.lock")
    bundle = Bundle(root)
    wanted = rf"a-1\.0-py3-none-any\.whl: the wheel of a 1\.0, not of {name} {version}"
    with pytest.raises(BadBundleError, match=wanted):
        bundle.wheel_for(name)
    same = (PythonPackage(name="a", version="1.0.0", artifact=art),)
    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=same)), root / "envsnap.lock")
    assert Bundle(root).wheel_for("a").name == "a-1.0-py3-none-any.whl"


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not an envsnap bundle"):
        Bundle(tmp_path)


def test_archive_round_trip_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _bundle(tmp_path / "b")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    write_archive(tmp_path / "b", tmp_path / "one" / "b.tar.gz")
    write_archive(tmp_path / "b", tmp_path / "two" / "b.tar.gz")
    assert (tmp_path / "one" / "b.tar.gz").read_bytes() == (tmp_path / "two" / "b.tar.gz").read_bytes()
    bundle = extract(tmp_path / "one" / "b.tar.gz", tmp_path / "out")
    bundle.verify_sums()
    assert bundle.lock.python.packages[0].name == "a"


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_member("../evil"), "unsafe path"),
        (_member("wheels/../../evil"), "unsafe path"),
        (_member("/etc/evil"), "unsafe path"),
        (_member("wheels/link", tarfile.SYMTYPE, "/etc/passwd"), "link in archive refused"),
        (_member("wheels/hard", tarfile.LNKTYPE, "envsnap.lock"), "link in archive refused"),
        (_member("dev", tarfile.FIFOTYPE), "special file"),
    ],
)
def test_extraction_refuses_unsafe_members(tmp_path: Path, member: tarfile.TarInfo, message: str) -> None:
    archive = _tar(tmp_path / "bad.tar.gz", _member("envsnap.lock"), member)
    with pytest.raises(BundleError, match=message):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.tar.gz"]


def test_an_archive_with_a_stray_top_level_member_names_it_not_a_missing_lock(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A bundle archive with a member beside its one folder (a ``notes.txt`` added by hand, macOS's ``._supp``)
    said "not an envsnap bundle (no envsnap.lock)", of an archive that holds one. It names the stray member."""
    _bundle(tmp_path / "supp")
    write_archive(tmp_path / "supp", tmp_path / "supp.tar.gz")
    with tarfile.open(tmp_path / "supp.tar.gz") as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]  # type: ignore[union-attr]
    with tarfile.open(tmp_path / "stray.tar.gz", "w:gz") as tar:
        for member, data in members:
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
        stray = _member("notes.txt")
        stray.size = 2
        tar.addfile(stray, io.BytesIO(b"hi"))
    result = cli("show", tmp_path / "stray.tar.gz")
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert "no envsnap.lock" not in result.err, result
    assert "notes.txt" in result.err and "supp/" in result.err, result


def test_extraction_of_garbage_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(BundleError, match="not a readable bundle archive"):
        extract(tmp_path / "x.tar.gz", tmp_path / "out")


def test_garbage_archive_is_one_line_on_the_command_line(tmp_path: Path, cli: Callable[..., Any]) -> None:
    # tarfile reports each compression method it tried on its own line; the CLI must still print one line.
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    (tmp_path / "x.tar.gz").write_bytes(b"not an archive")
    result = cli("rebuild", lock, "--bundle", tmp_path / "x.tar.gz", "--dest", tmp_path / "env", "--force")
    assert result.code == 2
    assert result.err.count("\n") == 1 and result.err.startswith("envsnap: error: ")
    assert "not a readable bundle archive" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "env").exists()


def test_a_bundle_that_cannot_be_written_is_bad_input_and_leaves_nothing(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    (tmp_path / "file").write_text("in the way")
    for output in (tmp_path / "file" / "bundle", tmp_path / "file" / "bundle.tar.gz"):
        result = cli("bundle", lock, "-o", output, "--offline")
        assert result.code == 2, result  # a file that cannot be written (docs/cli.md), not a traceback
        assert result.err.count("\n") == 1 and "cannot write the bundle" in result.err
    # A new bundle directory that cannot be completed is removed again, not left half-built.
    result = cli("bundle", lock, "-o", tmp_path / "new", "--offline", "--cache-dir", tmp_path / "cache")
    # b has no WHEEL tags: pin refuses it online too, so that is what is said (it said --offline forbade looking it up)
    assert result.code == 4 and "b 2.0: not pinnable: no WHEEL tags recorded" in result.err, result
    assert not (tmp_path / "new").exists()


def test_a_download_cache_that_cannot_be_made_is_named_not_the_bundle(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # It said "b5: cannot write the bundle: Not a directory (.../artifacts/.incoming)", blaming the bundle.
    import hashlib

    wheel = tmp_path / "index" / "a-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"wheel")
    art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=hashlib.sha256(b"wheel").hexdigest())
    snapshot = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("a", "1.0", artifact=art),)))
    lock = lockfile.dump(snapshot, tmp_path / "l.lock")
    allow = ("--allow-url", tmp_path.as_uri() + "/*")
    (tmp_path / "file").write_text("in the way")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    result = cli("bundle", lock, "-o", tmp_path / "b5", *allow)
    assert result.code == 2, result
    cache = tmp_path / "file" / "envsnap" / "artifacts"
    assert result.err.count("\n") == 1 and f"the download cache {cache} cannot be made" in result.err, result
    assert "--cache-dir DIR" in result.err and "cannot write the bundle" not in result.err
    result = cli("bundle", lock, "-o", tmp_path / "b6", *allow, "--cache-dir", tmp_path / "file" / "c")
    assert result.code == 2 and f"the download cache {tmp_path / 'file' / 'c'} cannot be made" in result.err
    assert not (tmp_path / "b5").exists() and not (tmp_path / "b6").exists()
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cli("bundle", lock, "-o", tmp_path / "b7", *allow, "--cache-dir", tmp_path / "c").code == 0


def test_an_archive_bundle_is_readable_by_others(tmp_path: Path) -> None:
    _bundle(tmp_path / "b")
    write_archive(tmp_path / "b", tmp_path / "b.tar.gz")
    assert (tmp_path / "b.tar.gz").stat().st_mode & 0o777 == 0o644


def test_a_folder_that_is_not_a_bundle_is_refused_untouched(tmp_path: Path, cli: Callable[..., Any]) -> None:
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    project = tmp_path / "project"  # `envsnap bundle envsnap.lock -o .` in a project root
    (project / "wheels").mkdir(parents=True)
    (project / "wheels" / "mine-1.0-py3-none-any.whl").write_bytes(b"mine")
    (project / "README.md").write_text("# my project\n")
    result = cli("bundle", lock, "-o", project, "--offline")
    assert result.code == 2 and "exists and is not an envsnap bundle" in result.err, result
    assert (project / "wheels" / "mine-1.0-py3-none-any.whl").read_bytes() == b"mine"
    assert (project / "README.md").read_text() == "# my project\n"
    assert sorted(p.name for p in project.iterdir()) == ["README.md", "wheels"]


def test_python_that_is_a_script_is_refused_without_running_it(tmp_path: Path, cli: Callable[..., Any]) -> None:
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    ran = tmp_path / "ran"
    script = tmp_path / "train.py"
    script.write_text(f"#!/usr/bin/env python3\nopen({str(ran)!r}, 'w').write('oops')\n")
    script.chmod(0o755)
    result = cli("bundle", lock, "-o", tmp_path / "b", "--offline", "--python", script)
    assert result.code == 2 and "a Python script" in result.err, result
    assert not ran.exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("name", ["b.zip", "b.tar.xz"])
def test_an_archive_kind_envsnap_does_not_write_is_refused(tmp_path: Path, cli: Callable[..., Any], name: str) -> None:
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    result = cli("bundle", lock, "-o", tmp_path / name, "--offline")
    assert result.code == 2 and "a directory or a .tar.gz/.tgz archive" in result.err, result
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("value", ["abc", "-5", "1.5e9"])
def test_a_source_date_epoch_that_is_no_number_of_seconds_is_one_line_before_anything_is_made(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """``SOURCE_DATE_EPOCH=abc envsnap bundle LOCK -o b.tar.gz`` fetched and assembled the bundle, then ended in
    a ValueError traceback as the archive was written (exit 1), its folder left behind. It is read before anything
    is made: one line naming the variable, exit 2; an artifact's RO-Crate date (``bundle --artifact``) reads it the
    same way."""
    empty = Snapshot(python=PythonEnv(version="3.11.7"))  # nothing to fetch: the archive was reached at once
    lock = lockfile.dump(empty, tmp_path / "l.lock")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    for output in (tmp_path / "b.tar.gz", tmp_path / "art"):
        extra = ["--artifact", "--title", "T", "--author", "A", "--license", "MIT"] if output.suffix == "" else []
        result = cli("bundle", lock, "-o", output, "--offline", *extra)
        assert result.code == 2, result
        assert result.err.count("\n") == 1 and "SOURCE_DATE_EPOCH" in result.err and "Traceback" not in result.err
        assert not output.exists() and list(tmp_path.iterdir()) == [tmp_path / "l.lock"], list(tmp_path.iterdir())


def test_everything_checkable_is_checked_before_anything_is_fetched(tmp_path: Path) -> None:
    """issue 12.8: bundle failed only after fetching everything, one problem at a time. Now every local
    project, VCS install and disk need is checked first, and the error lists them all by package name."""
    from envsnap.artifacts.bundle import BundleOptions, make_bundle
    from envsnap.errors import BundleError
    from envsnap.model import Artifact, PythonEnv, PythonPackage, Snapshot, Source

    lock = Snapshot(
        python=PythonEnv(
            packages=(
                PythonPackage(
                    name="paper", version="0.1", source=Source(kind="directory", url="file://{project}/paper")
                ),
                PythonPackage(
                    name="gone", version="2.0", source=Source(kind="directory", url=(tmp_path / "gone").as_uri())
                ),
                PythonPackage(name="nocommit", version="1.0", source=Source(kind="vcs", vcs="git", url="https://g/x")),
                PythonPackage(
                    name="torch",
                    version="2.4.0",
                    artifact=Artifact(
                        filename="torch-2.4.0-cp311-cp311-linux_x86_64.whl",
                        url="https://files.example/torch.whl",
                        sha256="a" * 64,
                        size=2**62,
                    ),
                ),
            )
        )
    )
    with pytest.raises(BundleError) as info:
        make_bundle(lock, tmp_path / "bundle", BundleOptions(cache_dir=tmp_path / "cache"))
    message = str(info.value)
    assert message.startswith("nothing was fetched: 4 problems: ")
    for part in (
        "paper 0.1: recorded inside the project",
        f"gone 2.0: source directory {tmp_path / 'gone'}",
        "nocommit 1.0: VCS install of https://g/x without a recorded commit",
        "GiB of wheels to download",
    ):
        assert part in message
    assert not (tmp_path / "cache").exists() and not (tmp_path / "bundle").exists()


def test_a_failed_download_names_the_package(tmp_path: Path) -> None:
    from envsnap.artifacts.bundle import BundleOptions, make_bundle
    from envsnap.errors import BundleError
    from envsnap.model import Artifact, PythonEnv, PythonPackage, Snapshot

    lock = Snapshot(
        python=PythonEnv(
            packages=(
                PythonPackage(
                    name="torch",
                    version="2.4.0",
                    artifact=Artifact(
                        filename="torch-2.4.0-cp311-cp311-linux_x86_64.whl",
                        url=(tmp_path / "missing.whl").as_uri(),
                        sha256="a" * 64,
                    ),
                ),
            )
        )
    )
    # A local URL, allowed explicitly, whose file is not there: said before anything is fetched, with the package.
    missing = "nothing was fetched: torch 2.4.0: torch-2.4.0-cp311-cp311-linux_x86_64.whl: "
    missing += f"the file '{tmp_path}/missing.whl' the lock names for it is not on this machine (its folder is)"
    with pytest.raises(BundleError, match=re.escape(missing)):
        make_bundle(
            lock,
            tmp_path / "bundle",
            BundleOptions(cache_dir=tmp_path / "cache", allow_urls=(tmp_path.as_uri() + "/*",)),
        )


def test_the_readme_of_an_imported_lock_says_what_it_does_not_record() -> None:
    """A bundle of a requirements/uv import: the README read "- Python:   ()" and "- Platform:  "."""
    from envsnap import _templates
    from envsnap.model import Meta, Platform

    imported = Snapshot(
        envsnap=Meta(generator="envsnap import from uv", origin="pylock"), python=PythonEnv(kind="venv", packages=())
    )
    text = _templates.render("bundle/README.md.j2", lock=imported, packages=[], conda_archives=[])
    assert "- Python: not recorded (imported from pylock)\n" in text
    assert "- Platform: not recorded (imported from pylock)\n" in text
    captured = Snapshot(
        platform=Platform(
            os_name="Debian GNU/Linux 12 (bookworm)", machine="x86_64", libc="glibc", libc_version="2.36"
        ),
        python=PythonEnv(implementation="cpython", version="3.11.7", abi="cp311"),
    )
    text = _templates.render("bundle/README.md.j2", lock=captured, packages=[], conda_archives=[])
    assert "- Python: cpython 3.11.7 (cp311)\n" in text
    assert "- Platform: Debian GNU/Linux 12 (bookworm) x86\\_64, glibc 2.36\n- Python packages" in text


def test_wheels_are_downloaded_several_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bundle downloads the missing wheels in parallel (issue 19): the first two downloads meet at a barrier of
    two, which one download at a time would break; every wheel still lands hash-checked, in the lock's order."""
    import hashlib
    import threading

    from envsnap.artifacts.bundle import BundleOptions, make_bundle
    from envsnap.artifacts.pin import Pinner

    packages = []
    for name in ("alpha", "beta", "gamma"):
        wheel = tmp_path / "index" / f"{name}-1.0-py3-none-any.whl"
        wheel.parent.mkdir(exist_ok=True)
        wheel.write_bytes(name.encode() * 1000)
        packages.append(
            PythonPackage(
                name=name,
                version="1.0",
                artifact=Artifact(
                    filename=wheel.name, url=wheel.as_uri(), sha256=hashlib.sha256(wheel.read_bytes()).hexdigest()
                ),
            )
        )
    barrier = threading.Barrier(2, timeout=20)
    calls: list[str] = []
    real = Pinner.fetch_artifact

    def meeting(self: Pinner, art: Artifact) -> Any:
        calls.append(art.filename)
        if len(calls) <= 2:
            barrier.wait()  # BrokenBarrierError when the downloads run one after the other
        return real(self, art)

    monkeypatch.setattr(Pinner, "fetch_artifact", meeting)
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=tuple(packages)))
    make_bundle(
        lock, tmp_path / "bundle", BundleOptions(cache_dir=tmp_path / "cache", allow_urls=(tmp_path.as_uri() + "/*",))
    )
    assert sorted(calls) == [p.artifact.filename for p in packages if p.artifact is not None]
    bundle = Bundle(tmp_path / "bundle")
    assert [bundle.check_wheel(p).name for p in packages] == sorted(calls)


def test_a_bundles_wheels_are_hashed_in_parallel_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild checks every wheel against the lock: hashed on several threads at once (issue 19; two hashes
    meet at a barrier of two), each file once, and a changed wheel still fails its check."""
    import hashlib
    import threading

    from envsnap.artifacts import bundle as bundle_mod
    from envsnap.errors import BadBundleError

    (tmp_path / "wheels").mkdir()
    packages = []
    for name in ("alpha", "beta", "gamma"):
        wheel = tmp_path / "wheels" / f"{name}-1.0-py3-none-any.whl"
        wheel.write_bytes(name.encode() * 1000)
        packages.append(
            PythonPackage(
                name=name,
                version="1.0",
                artifact=Artifact(
                    filename=wheel.name,
                    url="https://x/" + wheel.name,
                    sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
                ),
            )
        )
    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=tuple(packages))), tmp_path / "envsnap.lock")
    barrier = threading.Barrier(2, timeout=20)
    hashed: list[str] = []
    real = bundle_mod.sha256_file

    def meeting(path: Path) -> str:
        hashed.append(path.name)
        if len(hashed) <= 2:
            barrier.wait()  # BrokenBarrierError when the wheels are hashed one after the other
        return real(path)

    monkeypatch.setattr(bundle_mod, "sha256_file", meeting)
    bundle = Bundle(tmp_path)
    bundle.check_wheels(packages)
    assert [bundle.check_wheel(p).name for p in packages] == sorted(hashed)  # each once: the checks reused them
    (tmp_path / "wheels" / "beta-1.0-py3-none-any.whl").write_bytes(b"changed after bundling")
    with pytest.raises(BadBundleError, match="hash mismatch"):
        Bundle(tmp_path).check_wheel(packages[1])


def test_a_file_is_hashed_as_hashlib_hashes_its_bytes(tmp_path: Path) -> None:
    """``sha256_file`` reads into one reused buffer: every size around the buffer's gives hashlib's digest of the
    whole content (a short read, an empty file, the last partial chunk)."""
    import hashlib
    import os

    from envsnap import _prehash
    from envsnap.artifacts import bundle

    size = _prehash._CHUNK
    for length in (0, 1, size - 1, size, size + 1, 3 * size + 7):
        data = os.urandom(length)
        path = tmp_path / f"f{length}"
        path.write_bytes(data)
        assert bundle.sha256_file(path) == hashlib.sha256(data).hexdigest(), length


def test_a_bundle_unpacked_from_an_archive_without_a_top_folder_is_readable_by_others(tmp_path: Path) -> None:
    """An archive of envsnap 0.1 holds its files at the top level: the unpacked bundle was the 0700 staging
    folder itself."""
    import os

    _bundle(tmp_path / "b")
    flat = tmp_path / "flat.tar.gz"
    with tarfile.open(flat, "w:gz") as tar:
        for path in sorted((tmp_path / "b").rglob("*")):
            tar.add(path, arcname=str(path.relative_to(tmp_path / "b")), recursive=False)
    old = os.umask(0o022)
    try:
        bundle = extract(flat, tmp_path / "out")
    finally:
        os.umask(old)
    bundle.verify_sums()
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755


def test_a_member_a_thousand_folders_deep_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """``bund/a/a/.../x`` of 1,000 parts made the folders' creation recurse past Python's limit: every command
    that read the archive ended in a 7,000-line traceback."""
    deep = _tar(tmp_path / "deep.tar.gz", _member("/".join(["a"] * 1000) + "/x"))
    with pytest.raises(BadBundleError, match="more than 128 folders deep") as exc:
        extract(deep, tmp_path / "out")
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    shallow = _tar(tmp_path / "ok.tar.gz", _member("/".join(["a"] * 100) + "/x"))
    with pytest.raises(BadBundleError, match=r"no envsnap\.lock"):  # unpacked whole: no bundle, but not too deep
        extract(shallow, tmp_path / "out2")


def test_an_extended_header_larger_than_any_bundle_needs_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """A pax header of 1.5 GiB compresses to 2 MB and tarfile reads it whole before the member it describes: 4.7
    GB of memory past every limit on the members. One larger than 1 MiB is refused unread; so is a GNU long
    name that large."""
    import gzip

    from envsnap.artifacts import bundle as bundle_mod

    for kind in (tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME):
        header = tarfile.TarInfo("././@PaxHeader" if kind == tarfile.XHDTYPE else "././@LongLink")
        header.type = kind
        header.size = bundle_mod.MAX_EXTENDED_HEADER + 512
        raw = header.tobuf(format=tarfile.USTAR_FORMAT if kind == tarfile.XHDTYPE else tarfile.GNU_FORMAT)
        body = b"9" * header.size  # never read: refused at the header
        path = tmp_path / f"bomb-{kind.decode()}.tar.gz"
        path.write_bytes(gzip.compress(raw + body + b"\0" * 1024))
        with pytest.raises(BadBundleError, match=r"an extended header of \d+ bytes") as exc:
            extract(path, tmp_path / f"out-{kind.decode()}")
        assert "\n" not in str(exc.value)


def test_an_artifacts_zenodo_json_is_the_one_hidden_member_an_archive_may_hold(tmp_path: Path) -> None:
    """``tar -czf supp.tar.gz supp`` of an artifact (the form it is deposited in) was refused by audit and rebuild:
    its ``.zenodo.json`` read as a hidden member. Only that file, at the bundle's top, is taken."""
    _bundle(tmp_path / "supp")
    (tmp_path / "supp" / ".zenodo.json").write_text("{}")
    archive = tmp_path / "supp.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "supp", arcname="supp")
    bundle = extract(archive, tmp_path / "out")
    assert (bundle.root / ".zenodo.json").read_text() == "{}"
    for name in ("supp/wheels/.zenodo.json", "supp/.other", "a/b/.zenodo.json"):
        with pytest.raises(BadBundleError, match="unsafe path"):
            extract(_tar(tmp_path / "bad.tar.gz", _member(name)), tmp_path / f"o{len(name)}")


def test_a_failed_build_says_what_the_build_backend_said(tmp_path: Path) -> None:
    """An sdist whose backend stops with its reason (a compiler missing) was reported with uv's own line only,
    ``error: Failed to build `/.../.build-x/sdist/labsdist-2.0```: ``uv build --quiet`` hides the backend's output,
    so the cause never reached the message."""
    from envsnap.artifacts.bundle import build_wheel

    project = tmp_path / "labsdist-2.0"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "labsdist"\nversion = "2.0"\n'
    )
    (project / "backend.py").write_text(
        "import sys\n\n\ndef get_requires_for_build_wheel(config_settings=None):\n    return []\n\n\n"
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
        "    print('compiling labsdist/_fast.f90', file=sys.stderr)\n"
        "    sys.exit('labsdist: no Fortran compiler found (set FC)')\n"
    )
    with pytest.raises(BundleError) as caught:
        build_wheel(project, tmp_path / "out")
    message = str(caught.value)
    assert "labsdist: no Fortran compiler found (set FC)" in message, message
    assert "\n" not in message


def test_a_failed_builds_message_names_its_cause_not_uvs_last_hint() -> None:
    """A uv build of a setuptools-scm project without .git failed with "hint: Build failures usually indicate a
    problem with the package or the build environment": uv's last line, not the LookupError above it."""
    from envsnap.artifacts.bundle import _last

    uv = (
        "  x Failed to build `alpha-core @ file:///tmp/x`\n  |-> The build backend returned an error\n"
        "      [stderr]\n      Traceback (most recent call last):\n"
        "      LookupError: setuptools-scm was unable to detect version for /tmp/x.\n\n"
        "  hint: Build failures usually indicate a problem with the package or the build environment\n"
    )
    assert _last(uv) == "LookupError: setuptools-scm was unable to detect version for /tmp/x."
    assert _last("error: the wheel could not be written\nhint: see above") == "error: the wheel could not be written"
    assert _last("one line only\n") == "one line only" and _last("") == "no output"


def test_a_build_whose_requirements_cannot_be_found_says_which_not_what_the_backend_printed(tmp_path: Path) -> None:
    """``bundle --offline`` of a setuptools project with no ``wheel`` in a find-links folder said ``failed: writing
    manifest file 'src/proj.egg-info/SOURCES.txt'``: the backend's last chatter before uv stopped on the
    requirement it could not resolve, which uv names in its ``cause:`` lines."""
    from envsnap.artifacts.bundle import _last, build_wheel

    uv = (
        "Building wheel...\nrunning egg_info\nwriting manifest file 'src/proj.egg-info/SOURCES.txt'\n"
        "error: Failed to build `/tmp/b/source`\n  cause: Failed to resolve requirements from `build-system.requires`\n"
        "  cause: No solution found when resolving: `setuptools>=61`, `wheel`\n"
        "  cause: Because wheel was not found in the provided package locations and you require wheel, we can "
        "conclude that your requirements are unsatisfiable.\n"
    )
    assert _last(uv).startswith("Because wheel was not found in the provided package locations"), _last(uv)
    failed = "error: Failed to build `/x`\n  cause: The build backend returned an error\n"
    failed += "  cause: Call to `b.build_wheel` failed (exit status: 1)"
    assert _last("no Fortran\n" + failed) == "no Fortran"
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "proj"\nversion = "1.0"\n'
    )
    (project / "backend.py").write_text(
        "import sys\n\n\ndef get_requires_for_build_wheel(config_settings=None):\n"
        "    print(\"writing manifest file 'src/proj.egg-info/SOURCES.txt'\", file=sys.stderr)\n"
        "    return ['envsnap-absent-build-req']\n"
    )
    (tmp_path / "links").mkdir()
    with pytest.raises(BundleError) as caught:
        build_wheel(project, tmp_path / "out", offline_links=[str(tmp_path / "links")])
    message = str(caught.value)
    assert "envsnap-absent-build-req" in message and "writing manifest" not in message, message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("wheels", "conda", "said"),
    [
        (0, 0, "no packages"),
        (0, 1, "1 conda archive"),
        (0, 2, "2 conda archives"),
        (1, 0, "1 wheel (1 fetched)"),
        (1, 2, "1 wheel (1 fetched), 2 conda archives"),
    ],
)
def test_the_bundle_summary_says_what_the_bundle_holds(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, wheels: int, conda: int, said: str
) -> None:
    """A bundle of a conda environment (or of an empty lock) ended ``wrote B: 0 wheels () in 0.2 s``: the conda
    archives it holds were not named and the parentheses were empty."""
    import hashlib
    import re

    from envsnap.model import Conda, CondaPackage

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # a download cache of its own: its wheel is fetched
    archives = []
    for i in range(conda):
        archive = tmp_path / "channel" / "noarch" / f"c{i}-1.0-0.conda"
        archive.parent.mkdir(parents=True, exist_ok=True)
        archive.write_bytes(f"conda archive {i}".encode())
        sha = hashlib.sha256(archive.read_bytes()).hexdigest()
        archives.append(CondaPackage(f"c{i}", "1.0", "0", subdir="noarch", url=archive.as_uri(), sha256=sha))
    packages = []
    for i in range(wheels):
        wheel = tmp_path / "wheels" / f"w{i}-1.0-py3-none-any.whl"
        wheel.parent.mkdir(parents=True, exist_ok=True)
        wheel.write_bytes(f"wheel {i}".encode())
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=sha)
        packages.append(PythonPackage(f"w{i}", "1.0", wheel_tags=("py3-none-any",), artifact=art))
    snap = Snapshot(
        python=PythonEnv(version="3.11.7", packages=tuple(packages)),
        conda=Conda(subdir="noarch", packages=tuple(archives)) if archives else None,
    )
    lock = lockfile.dump(snap, tmp_path / "l.lock")
    result = cli("bundle", lock, "-o", tmp_path / "b", "--allow-url", f"{tmp_path.as_uri()}/*")
    assert result.code == 0, result
    (line,) = [line for line in result.err.splitlines() if line.startswith("wrote ")]
    assert re.fullmatch(rf"wrote {re.escape(str(tmp_path / 'b'))}: {re.escape(said)} in \d+\.\d s", line), line
    assert len(list((tmp_path / "b" / "conda").glob("*.conda"))) == conda


@pytest.mark.parametrize(
    ("debs", "image", "said"),
    [
        (None, False, "1 wheel (1 fetched), 1 conda archive"),
        (0, False, "1 wheel (1 fetched), 1 conda archive"),
        (1, False, "1 wheel (1 fetched), 1 conda archive, 1 .deb file"),
        (3, True, "1 wheel (1 fetched), 1 conda archive, 3 .deb files, the base image"),
    ],
)
def test_the_bundle_summary_names_the_system_packages_and_the_base_image(
    debs: int | None, image: bool, said: str
) -> None:
    from envsnap.artifacts.bundle import BundleEntry
    from envsnap.cli.bundle import holds

    entries = (BundleEntry("w", "1.0", "w-1.0-py3-none-any.whl", "fetched"),)
    assert holds(entries, conda=1, debs=debs, base_image=image) == said
    assert holds((), conda=0, debs=2, base_image=False) == "2 .deb files"
    assert holds((), conda=0, debs=0, base_image=True) == "the base image"
    assert holds((), conda=0, debs=None, base_image=False) == "no packages"


@pytest.mark.parametrize("recorded", ["file:///{root}/x/<user>/repo", "file://~/<user>-lib"])
def test_a_local_project_recorded_without_the_login_name_says_so(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorded: str
) -> None:
    """A project in a folder whose path holds the login name (``/tmp/x/alice/repo``, ``~/alice-lib``) is recorded
    with ``<user>`` there, as capture hides the login name. ``pin`` and ``bundle`` said "... does not exist (name the
    project with --project DIR)", which did not help. They now say the path was recorded without the login name,
    and what to do; bundle with exit 2 (the lock names no folder), one line."""
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for folder in (tmp_path / "x" / "alice" / "repo", tmp_path / "home" / "alice-lib"):
        folder.mkdir(parents=True)
        (folder / "pyproject.toml").write_text('[project]\nname = "repo"\nversion = "0.1"\n')
    url = recorded.replace("/{root}", str(tmp_path))
    pkg = PythonPackage(name="repo", version="0.1", source=Source(kind="directory", url=url))
    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), tmp_path / "u.lock")
    monkeypatch.chdir(tmp_path)
    pinned = cli("pin", lock, "-o", tmp_path / "p.lock")
    assert "recorded without the login name" in pinned.err and "--project" not in pinned.err, pinned
    result = cli("bundle", lock, "-o", tmp_path / "b", "--offline")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result
    assert "recorded without the login name" in result.err and "capture again" in result.err, result.err
    assert "--project" not in result.err and not (tmp_path / "b").exists()


def test_the_built_line_names_the_subdirectory_of_a_monorepo(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``built sub-0.1-py3-none-any.whl from file:///path/mono`` did not say which folder of the monorepo was built:
    the line names the subdirectory now, as pin's "kept" line does."""
    import zipfile

    from envsnap.artifacts import bundle

    mono = tmp_path / "mono"
    (mono / "libs" / "sub").mkdir(parents=True)
    (mono / "libs" / "sub" / "pyproject.toml").write_text('[project]\nname = "sub"\nversion = "0.1"\n')
    built_from: list[Path] = []

    def fake_build(
        source: Path, out_dir: Path, python: str | None = None, variables: Any = None, offline_links: Any = None
    ) -> Path:
        built_from.append(source)
        out_dir.mkdir(parents=True, exist_ok=True)
        wheel = out_dir / "sub-0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("sub/__init__.py", "")
            archive.writestr("sub-0.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: sub\nVersion: 0.1\n\n")
            wheel_text = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
            archive.writestr("sub-0.1.dist-info/WHEEL", wheel_text)
            archive.writestr("sub-0.1.dist-info/RECORD", "")
        return wheel

    monkeypatch.setattr(bundle, "build_wheel", fake_build)
    pkg = PythonPackage(
        name="sub", version="0.1", source=Source(kind="directory", url=mono.as_uri(), subdirectory="libs/sub")
    )
    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), tmp_path / "u.lock")
    monkeypatch.chdir(tmp_path)
    result = cli("bundle", lock, "-o", tmp_path / "b", "--allow-url", f"{mono.as_uri()}/*")
    assert result.code == 0, result
    assert built_from and built_from[0].name == "source"
    line = next((x.strip() for x in result.err.splitlines() if x.strip().startswith("built ")), result.err)
    assert line == f"built sub-0.1-py3-none-any.whl from {mono.as_uri()} (subdirectory libs/sub)", line


def _conda_lock(tmp_path: Path, *extra: Any) -> Path:
    """A lock of this host's conda platform: one conda package whose archive is in a ``file://`` channel under
    ``tmp_path``, and ``extra``."""
    import hashlib

    from envsnap.model import Conda, CondaPackage
    from envsnap.probes.conda import current_subdir

    archive = tmp_path / "channel" / "noarch" / "c0-1.0-0.conda"
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(b"conda archive")
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    first = CondaPackage("c0", "1.0", "0", subdir="noarch", url=archive.as_uri(), sha256=sha)
    snap = Snapshot(python=PythonEnv(version="3.11.7"), conda=Conda(subdir=current_subdir(), packages=(first, *extra)))
    return lockfile.dump(snap, tmp_path / f"l{len(extra)}.lock")


def test_a_conda_package_without_a_url_is_bad_input_before_the_bundle_is_touched(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old conda-meta record may name no URL, and capture keeps the package without one: its bundle fetched the
    other archives into the bundle, then failed (exit 4, "the lock has no URL for it"), an earlier bundle left
    marked incomplete. It is bad input (exit 2), said as rebuild says it, before anything is written."""
    from envsnap.model import CondaPackage

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    allow = ("--allow-url", f"{tmp_path.as_uri()}/*")
    assert cli("bundle", _conda_lock(tmp_path), "-o", tmp_path / "b", *allow).code == 0
    before = sorted((p.relative_to(tmp_path / "b"), p.stat().st_mtime_ns) for p in (tmp_path / "b").rglob("*"))
    old = CondaPackage("old", "1.0", "h0_0", subdir="noarch", sha256="1" * 64)
    result = cli("bundle", _conda_lock(tmp_path, old), "-o", tmp_path / "b", *allow)
    assert result.code == 2, result
    assert result.err.strip().splitlines()[-1] == (
        "envsnap: error: old 1.0 (h0_0): the lock has no URL for it (the conda-meta record had none), so its archive "
        "cannot be fetched (conda install --force-reinstall old writes a record that names it: capture again after it)"
    )
    assert sorted((p.relative_to(tmp_path / "b"), p.stat().st_mtime_ns) for p in (tmp_path / "b").rglob("*")) == before
    result = cli("bundle", _conda_lock(tmp_path, old), "-o", tmp_path / "new.tar.gz", *allow)
    assert result.code == 2, result
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "channel", "l0.lock", "l1.lock"]


def test_a_conda_package_without_a_hash_is_bad_input_before_the_bundle_is_touched(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conda package the lock records without md5 or sha256 (an explicit file written without --md5): its bundle
    fetched the other archives into the bundle, then failed at its turn (exit 4, "refusing to install an archive
    that cannot be checked"). It is bad input (exit 2), said as rebuild says it, before anything is written."""
    from envsnap.model import CondaPackage

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    allow = ("--allow-url", f"{tmp_path.as_uri()}/*")
    assert cli("bundle", _conda_lock(tmp_path), "-o", tmp_path / "b", *allow).code == 0
    before = sorted((p.relative_to(tmp_path / "b"), p.stat().st_mtime_ns) for p in (tmp_path / "b").rglob("*"))
    archive = tmp_path / "channel" / "noarch" / "plain-1.0-0.conda"
    archive.write_bytes(b"unchecked")
    plain = CondaPackage("plain", "1.0", "0", subdir="noarch", url=archive.as_uri())
    result = cli("bundle", _conda_lock(tmp_path, plain), "-o", tmp_path / "b", *allow)
    assert result.code == 2, result
    assert result.err.strip().splitlines()[-1] == (
        "envsnap: error: plain 1.0 (0): the lock has neither md5 nor sha256 for it, so its archive cannot be checked "
        "(conda list --explicit --md5, or conda-lock, write them)"
    )
    assert sorted((p.relative_to(tmp_path / "b"), p.stat().st_mtime_ns) for p in (tmp_path / "b").rglob("*")) == before


@pytest.mark.parametrize("kind", ["pipe", "link to /dev/zero", "folder"])
@pytest.mark.parametrize("command", ["bundle", "rebuild"])
def test_a_conda_archive_url_that_names_no_regular_file_is_refused_unread(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, kind: str, command: str
) -> None:
    """A lock's ``file://`` conda archive, allowed with ``--allow-url``, that is a pipe, a link to a device or a
    folder (a stranger's supplement unpacked there) was said to be gone (``no such file``), exit 4, as if the
    channel had dropped it. It is refused unread as what it is, one line, exit 2, as a wheel's is."""
    import os

    from envsnap.model import CondaPackage

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    place = tmp_path / "channel" / "linux-64" / "odd-1.0-0.conda"
    place.parent.mkdir(parents=True)
    if kind == "pipe":
        os.mkfifo(place)
    elif kind == "folder":
        place.mkdir()
    else:
        place.symlink_to("/dev/zero")
    odd = CondaPackage("odd", "1.0", "0", subdir="linux-64", url=place.as_uri(), sha256="1" * 64)
    lock = _conda_lock(tmp_path, odd)
    allow = ("--allow-url", f"{tmp_path.as_uri()}/*")
    if command == "bundle":
        result = cli("bundle", lock, "-o", tmp_path / "b", *allow)
    else:
        result = cli("rebuild", lock, "--target", "conda", "--force", "--dest", tmp_path / "p", *allow)
    assert result.code == 2, result
    assert result.err.strip().splitlines()[-1] == (
        f"envsnap: error: odd 1.0 (0): {place.as_uri()} is not a regular file (a pipe, a device or a folder "
        "is no conda archive: not read)"
    )
    assert not (tmp_path / "b").exists() and not (tmp_path / "p").exists()


def test_a_conda_archive_that_is_no_regular_file_is_not_opened_for_its_check(tmp_path: Path) -> None:
    """The hash check of an archive already at its place (the bundle's ``conda/``, the download cache) opened it
    as it was: a pipe put there after the look at it waited for a writer for ever. It is opened only as a regular
    file: anything else is one error naming the package."""
    import os
    import threading

    from envsnap.artifacts.conda import check_archive
    from envsnap.errors import RebuildError
    from envsnap.model import CondaPackage

    fifo = tmp_path / "c0-1.0-0.conda"
    os.mkfifo(fifo)
    outcome: list[object] = []

    def check() -> None:
        try:
            outcome.append(check_archive(CondaPackage("c0", "1.0", "0", sha256="1" * 64), fifo))
        except BaseException as exc:  # the test names what it got
            outcome.append(exc)

    worker = threading.Thread(target=check, daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():  # let the blocked open go, so the test ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(30)
        pytest.fail("the check waited on the pipe")
    assert len(outcome) == 1 and isinstance(outcome[0], RebuildError), outcome
    assert str(outcome[0]) == "c0 1.0 (0): c0-1.0-0.conda: cannot read it (not a regular file)"


@pytest.mark.parametrize("kind", ["pipe", "link to /dev/zero", "folder"])
def test_a_wheel_url_that_names_no_regular_file_is_refused_unread(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A lock's ``file://`` wheel, allowed with ``--allow-url``, that is a pipe, a link to a device or a folder was
    a package that "could not be bundled" (``cannot download (not a regular file)``), exit 4, after the other wheels
    were fetched, where such a conda archive is refused unread. It is refused unread too: one line, exit 2, before
    anything is fetched, and no bundle is left."""
    import os

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    place = tmp_path / "wheels" / "odd-1.0-py3-none-any.whl"
    place.parent.mkdir(parents=True)
    if kind == "pipe":
        os.mkfifo(place)
    elif kind == "folder":
        place.mkdir()
    else:
        place.symlink_to("/dev/zero")
    art = Artifact(filename=place.name, url=place.as_uri(), sha256="1" * 64)
    lock = lockfile.dump(
        Snapshot(
            python=PythonEnv(version="3.11.7", packages=(PythonPackage(name="odd", version="1.0", artifact=art),))
        ),
        tmp_path / "env.lock",
    )
    result = cli("bundle", lock, "-o", tmp_path / "b", "--allow-url", f"{tmp_path.as_uri()}/*")
    assert result.code == 2, result
    assert result.err.strip().splitlines() == [
        f"envsnap: error: odd 1.0: {place.as_uri()} is not a regular file (a pipe, a device or a folder is no "
        "wheel: not read)"
    ], result.err
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("kind", ["pipe", "folder"])
def test_an_imported_local_archive_that_names_no_regular_file_is_refused_unread(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """``name @ file:///.../x.whl`` imported from a requirements file (an archive source the bundle pins first) that
    is a pipe or a folder: bundle said "not every package could be pinned ... cannot download (not a regular
    file)", exit 4, as if an index had failed. It is refused unread, one line, exit 2, as a pinned wheel there is."""
    import os

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    place = tmp_path / "wheels" / "odd-1.0-py3-none-any.whl"
    place.parent.mkdir(parents=True)
    if kind == "pipe":
        os.mkfifo(place)
    else:
        place.mkdir()
    (tmp_path / "requirements.txt").write_text(f"odd @ {place.as_uri()}\n")
    assert cli("import", tmp_path / "requirements.txt", "-o", tmp_path / "env.lock").code == 0
    result = cli("bundle", tmp_path / "env.lock", "-o", tmp_path / "b", "--allow-url", f"{tmp_path.as_uri()}/*")
    assert result.code == 2, result
    assert result.err.strip().splitlines() == [
        f"envsnap: error: odd 1.0: {place.as_uri()} is not a regular file (a pipe, a device or a folder is no "
        "wheel: not read)"
    ], result.err
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("count", [1, 3])  # one wheel: no prefetch; several: placed side by side first
def test_a_wheel_taken_from_the_download_cache_is_not_said_fetched(
    tmp_path: Path, cli: Callable[..., Any], count: int
) -> None:
    """A second bundle of the same lock (`--offline`, or another output folder) said "fetched" of every wheel and
    "3 wheels (3 fetched)", though nothing was downloaded: each was copied from the download cache. A wheel is said
    fetched only when it was downloaded; one from the cache is said so."""
    import hashlib

    packages = []
    for name in ("alpha", "beta", "gamma")[:count]:
        wheel = tmp_path / "index" / f"{name}-1.0-py3-none-any.whl"
        wheel.parent.mkdir(exist_ok=True)
        wheel.write_bytes(name.encode() * 1000)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        packages.append(
            PythonPackage(name, "1.0", artifact=Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=digest))
        )
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=tuple(packages))), lock)
    common = ("--cache-dir", str(tmp_path / "cache"), "--allow-url", tmp_path.as_uri() + "/*")
    first = cli("bundle", str(lock), "-o", str(tmp_path / "one"), *common)
    assert first.code == 0, first
    assert f"({count} fetched)" in first.err, first.err
    for extra in ((), ("--offline",)):
        again = cli("bundle", str(lock), "-o", str(tmp_path / f"two{len(extra)}"), *common, *extra)
        assert again.code == 0, again
        assert "fetched" not in again.err, again.err
        wheels = "1 wheel" if count == 1 else f"{count} wheels"
        assert f"{wheels} ({count} from the download cache)" in again.err, again.err
        taken = f"took {packages[0].artifact.filename} from the download cache"  # type: ignore[union-attr]
        assert taken in again.err, again.err


def test_an_offline_bundle_reads_the_find_links_folder_an_import_records_once_allowed(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pylock import of a wheel in its find-links folder (uv's ``--emit-find-links`` header, or envsnap's
    ``[tool.envsnap] find-links``) records it by its name in ``file://{project}/wheels``, no URL. ``bundle
    --offline`` of it said the file was in no find-links folder on this machine, ``--allow-url`` of that folder's
    files given or not: only the configured folders were read. The lock's own folder is read once allowed now, and
    without that the error names the ``--allow-url`` to pass."""
    import hashlib
    import subprocess

    from test_pin import make_wheel

    project = tmp_path / "proj"
    (project / "wheels").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    wheel = make_wheel(project / "wheels", "labnotes", "1.0")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (project / "pylock.toml").write_text(
        "#    uv pip compile --find-links ./wheels --emit-find-links --format pylock.toml requirements.in\n"
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "labnotes"\nversion = "1.0"\n'
        f'wheels = [{{ url = "{wheel.as_uri()}", hashes = {{ sha256 = "{sha}" }} }}]\n'
    )
    monkeypatch.chdir(project)
    assert cli("import", "pylock.toml", "-o", "env.lock").code == 0
    assert 'url = ""' in (project / "env.lock").read_text()
    refused = cli("bundle", "env.lock", "-o", tmp_path / "b1", "--offline", "--cache-dir", tmp_path / "c1")
    assert refused.code != 0
    folder = (project / "wheels").as_uri()
    # The folder, as pin names the one it reads: it reads the files the lock names there (DIR/* does too, below).
    said = "and --offline is set (the lock's find-links folder is read once allowed: pass --allow-url "
    said += f"{project / 'wheels'})"
    assert said in refused.err, refused.err
    by_folder = ("--allow-url", project / "wheels", "--cache-dir", tmp_path / "c3")
    assert cli("bundle", "env.lock", "-o", tmp_path / "b3", "--offline", *by_folder).code == 0
    assert (tmp_path / "b3" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()
    allowed = cli(
        "bundle",
        "env.lock",
        "-o",
        tmp_path / "b2",
        "--offline",
        "--cache-dir",
        tmp_path / "c2",
        "--allow-url",
        f"{folder}/*",
    )
    assert allowed.code == 0, allowed.err
    assert (tmp_path / "b2" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()


_NOT_REPRODUCIBLE = """\
import base64, hashlib, io, os, tarfile, time, zipfile

NAME, VERSION = "nrb", "1.0"


def _b64(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist = f"{NAME}-{VERSION}"
    files = {
        f"{NAME}/__init__.py": b"VALUE = 1\\n",
        f"{NAME}/_stamp.py": f"STAMP = {time.time_ns()!r}\\n".encode(),  # another wheel each build
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n\\n".encode(),
        f"{dist}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\\nGenerator: nrb\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
        ),
    }
    record = "".join(f"{p},sha256={_b64(d)},{len(d)}\\n" for p, d in files.items()) + f"{dist}.dist-info/RECORD,,\\n"
    name = f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for p, d in files.items():
            z.writestr(p, d)
        z.writestr(f"{dist}.dist-info/RECORD", record)
    return name
"""


def _sdist(folder: Path, value: str) -> Path:
    """An sdist of ``nrb 1.0`` whose in-tree build backend writes another wheel each time it builds."""
    folder.mkdir(parents=True)
    path = folder / "nrb-1.0.tar.gz"
    members = {
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        '[project]\nname = "nrb"\nversion = "1.0"\n',
        "backend.py": _NOT_REPRODUCIBLE,
        "nrb/__init__.py": f"VALUE = {value}\n",
        "PKG-INFO": "Metadata-Version: 2.1\nName: nrb\nVersion: 1.0\n",
    }
    with tarfile.open(path, "w:gz") as archive:
        for member, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"nrb-1.0/{member}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_two_bundles_of_one_lock_whose_sdist_builds_are_not_reproducible_differ_in_build(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bundle imp.lock`` twice, the index holding only ``nrb``'s sdist, whose build is not reproducible: the two
    wheels' sha256 differ, and ``diff B1/envsnap.lock B2/envsnap.lock`` read ``nrb: nrb-1.0-py3-none-any.whl ->
    nrb-1.0-py3-none-any.whl (artifact, other sha256)``, as for another file. The bundle records the sdist's sha256
    (``sdist_sha256``): the same sdist built twice is a build difference, the sdist replaced a change of source."""
    from test_pin import pep503_index

    index = pep503_index(tmp_path / "index", [_sdist(tmp_path / "dist", "1")])
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    (tmp_path / "requirements.txt").write_text("nrb==1.0\n")
    assert cli("import", tmp_path / "requirements.txt", "-o", tmp_path / "imp.lock").code == 0
    for name in ("B1", "B2"):
        made = cli("bundle", tmp_path / "imp.lock", "-o", tmp_path / name, "--cache-dir", tmp_path / f"cache-{name}")
        assert made.code == 0, made.err
    locks = [lockfile.load(tmp_path / name / "envsnap.lock").package("nrb") for name in ("B1", "B2")]
    arts = [p.artifact for p in locks if p is not None and p.artifact is not None]
    sdist = hashlib.sha256((tmp_path / "dist" / "nrb-1.0.tar.gz").read_bytes()).hexdigest()
    assert len(arts) == 2 and all(a.rebuilt and a.sdist_sha256 == sdist for a in arts)
    assert arts[0].sha256 != arts[1].sha256
    result = cli("diff", tmp_path / "B1" / "envsnap.lock", tmp_path / "B2" / "envsnap.lock")
    assert result.code == 1, result.out
    assert (
        f"nrb: sha256:{arts[0].sha256[:12]}... -> sha256:{arts[1].sha256[:12]}... (build, the wheel built twice from "
        f"the same sdist (sha256:{sdist[:12]}...): the build is not reproducible)"
    ) in result.out, result.out
    assert result.out.splitlines()[-1] == "1 change: 1 build"
    # Another sdist behind the same URL (the index's file replaced): a change of source.
    (tmp_path / "index" / "files" / "nrb-1.0.tar.gz").unlink()
    other = _sdist(tmp_path / "dist2", "2")
    pep503_index(tmp_path / "index", [other])
    made = cli("bundle", tmp_path / "imp.lock", "-o", tmp_path / "B3", "--cache-dir", tmp_path / "cache-B3")
    assert made.code == 0, made.err
    result = cli("diff", tmp_path / "B1" / "envsnap.lock", tmp_path / "B3" / "envsnap.lock")
    assert result.code == 1 and "(source, the wheel built from another sdist of that name)" in result.out, result.out


def test_a_bundle_built_from_another_sdist_than_the_lock_pins_is_another_locks(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock that pins ``nrb``'s sdist, given a bundle whose wheel of it was built from another sdist of that name
    (the index's file replaced between the two pins): the bundle's lock records its own wheel's RECORD digest, which
    is not compared, and the pinned sdist was not either, so the bundle was taken. Its ``sdist_sha256`` is compared
    with the sdist the lock pins: another lock's bundle, exit 2; the lock it was made from is taken."""
    from test_pin import pep503_index

    index = pep503_index(tmp_path / "index", [_sdist(tmp_path / "dist", "1")])
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    (tmp_path / "requirements.txt").write_text("nrb==1.0\n")
    assert cli("import", tmp_path / "requirements.txt", "-o", tmp_path / "imp.lock").code == 0
    pinned = cli("pin", tmp_path / "imp.lock", "-o", tmp_path / "p1.lock", "--cache-dir", tmp_path / "c1")
    assert pinned.code == 0, pinned.err
    made = cli("bundle", tmp_path / "p1.lock", "-o", tmp_path / "B1", "--cache-dir", tmp_path / "c1")
    assert made.code == 0, made.err
    (tmp_path / "index" / "files" / "nrb-1.0.tar.gz").unlink()
    pep503_index(tmp_path / "index", [_sdist(tmp_path / "dist2", "2")])
    pinned = cli("pin", tmp_path / "imp.lock", "-o", tmp_path / "p2.lock", "--cache-dir", tmp_path / "c2")
    assert pinned.code == 0, pinned.err
    p1, p2 = (lockfile.load(tmp_path / f"p{n}.lock").package("nrb") for n in (1, 2))
    assert p1 is not None and p2 is not None and p1.artifact is not None and p2.artifact is not None
    assert p1.artifact.filename == p2.artifact.filename == "nrb-1.0.tar.gz"
    assert p1.artifact.sha256 != p2.artifact.sha256
    refused = cli("rebuild", tmp_path / "p2.lock", "--bundle", tmp_path / "B1", "--dry-run", "--dest", tmp_path / "R")
    assert refused.code == 2 and "the bundle was made from another lock" in refused.err, refused.out + refused.err
    taken = cli("rebuild", tmp_path / "p1.lock", "--bundle", tmp_path / "B1", "--dry-run", "--dest", tmp_path / "R")
    assert taken.code == 0, taken.out + taken.err


# ``uv export --format pylock.toml`` (uv 0.13.9) of a project whose ``[tool.uv] find-links = ["/tmp/x/wheels"]``
# holds the lab's labpkg: the package's index and its wheel's URL are that folder's (FOLDER and SHA filled in).
_UV_PYLOCK_FIND_LINKS = """\
# This file was autogenerated by uv via the following command:
#    uv export --format pylock.toml --offline -o pylock.toml
lock-version = "1.0"
created-by = "uv"
requires-python = ">=3.8"

[[packages]]
name = "labpkg"
version = "0.3.0"
index = "file://FOLDER"
wheels = [{ url = "file://FOLDER/labpkg-0.3.0-py3-none-any.whl", hashes = { sha256 = "SHA" } }]
"""


def test_bundle_says_the_find_links_folder_a_lock_names_is_missing(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """uv's pylock of a find-links wheel, imported and pinned, then the folder moved: ``pin`` said ``1 pinned``, exit
    0, and ``bundle`` said to pass ``--allow-url``, with which it failed with ``cannot download (No such file or
    directory)``. ``bundle`` says first (exit 4, nothing fetched) that the folder is not there, for which package, and
    to restore it or configure where the file is now; ``pin`` says the file is missing (``--strict`` exits 1); the
    folder configured as find-links where it now is bundles."""
    from test_pin import make_wheel

    folder = tmp_path / "x" / "wheels"
    wheel = make_wheel(folder, "labpkg", "0.3.0")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pylock.toml").write_text(_UV_PYLOCK_FIND_LINKS.replace("FOLDER", str(folder)).replace("SHA", sha))
    monkeypatch.chdir(project)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    for name in (
        "UV_CONFIG_FILE",
        "PIP_FIND_LINKS",
        "UV_FIND_LINKS",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "ENVSNAP_ALLOW_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    assert cli("import", "pylock.toml", "-o", "env.lock").code == 0
    moved = folder.rename(tmp_path / "x" / "moved")
    cache = ("--cache-dir", str(tmp_path / "cache"))
    pinned = cli("pin", "env.lock", "--no-system-packages", *cache)
    assert pinned.code == 0, pinned
    lines = pinned.err.splitlines()
    assert lines[0] == "env.lock (unchanged): 1 pinned", lines
    assert lines[1].startswith(
        f"  file missing labpkg 0.3.0: labpkg-0.3.0-py3-none-any.whl: the folder '{folder}' the lock names for it is "
        "not on this machine (it does not exist)"
    ), lines
    assert lines[-1] == (
        "note: env.lock names a file that is not on this machine for 1 Python package, which `envsnap bundle` needs; "
        "exit 0 all the same (--strict exits 1)"
    )
    assert cli("pin", "env.lock", "--no-system-packages", "--strict", *cache).code == 1
    # --json says it too: the package pinned, and the file missing with why (it listed only "pinned").
    as_json = cli("pin", "env.lock", "--no-system-packages", "--json", *cache)
    (outcome,) = json.loads(as_json.out)
    assert outcome["status"] == "pinned" and outcome["file_missing"].startswith(
        f"labpkg-0.3.0-py3-none-any.whl: the folder '{folder}' the lock names for it is not on this machine"
    ), outcome

    said = (
        f"envsnap: error: nothing was fetched: labpkg 0.3.0: labpkg-0.3.0-py3-none-any.whl: the folder '{folder}' "
        "the lock names for it is not on this machine (it does not exist), nor is the file in the download cache: "
        "restore the folder there, or configure the folder that holds the file now as find-links "
        "(PIP_FIND_LINKS=DIR or UV_FIND_LINKS=DIR)"
    )
    for extra in ((), ("--allow-url", f"{folder}/*"), ("--allow-url", str(folder)), ("--offline",)):
        result = cli("bundle", "env.lock", "-o", tmp_path / "b", *cache, *extra)
        assert (result.code, result.err.strip()) == (4, said), (extra, result)
        assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.whl"))

    # The folder is there, the file is not: said so.
    folder.mkdir()
    result = cli("bundle", "env.lock", "-o", tmp_path / "b", *cache, "--allow-url", str(folder))
    assert result.code == 4, result
    assert (
        f"the file '{folder}/{wheel.name}' the lock names for it is not on this machine (its folder is)" in result.err
    )
    folder.rmdir()

    # Configured where it is now: bundled, as the message says.
    monkeypatch.setenv("PIP_FIND_LINKS", str(moved))
    done = cli("bundle", "env.lock", "-o", tmp_path / "b", *cache)
    assert done.code == 0, done
    assert (tmp_path / "b" / "wheels" / wheel.name).is_file()


def test_a_package_whose_error_names_its_wheel_first_is_still_named() -> None:
    """ "could not be bundled" put ``NAME VERSION:`` before each package's reason unless the reason began with the
    package's name, and a wheel's file name (``labpkg-0.3.0-py3-none-any.whl: ...``) begins with it: the package was
    not named. A reason that names the package already is kept as it is."""
    from envsnap.artifacts.bundle import _named

    pkg = PythonPackage(name="labpkg", version="0.3.0")
    assert _named(pkg, "labpkg-0.3.0-py3-none-any.whl: cannot download") == (
        "labpkg 0.3.0: labpkg-0.3.0-py3-none-any.whl: cannot download"
    )
    assert _named(pkg, "labpkg 0.3.0: no wheel") == "labpkg 0.3.0: no wheel"
    assert _named(pkg, "labpkg: git clone failed") == "labpkg: git clone failed"
    assert _named(PythonPackage(name="proj", version=""), "proj: gone") == "proj: gone"


def test_a_locked_file_replaced_at_its_url_is_said_to_be_the_lock_s_not_the_index_s(tmp_path: Path) -> None:
    """A pinned wheel whose URL now serves another file (replaced since the lock was pinned) was refused with
    ``sha256 does not match the index's <the lock's hash>``: no index was read, and nothing said what to do. It says
    the file at the lock's URL is not the one the lock pins, that it was replaced there, and where the locked one
    may still be."""
    from test_pin import make_wheel

    from envsnap.artifacts.bundle import BundleOptions, make_bundle

    wheel = make_wheel(tmp_path / "wheels", "labpkg", "0.3.0")
    pinned = "0" * 64
    lock = Snapshot(
        python=PythonEnv(
            packages=(
                PythonPackage(
                    name="labpkg",
                    version="0.3.0",
                    artifact=Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=pinned),
                ),
            )
        )
    )
    opts = BundleOptions(cache_dir=tmp_path / "cache", allow_urls=(f"{tmp_path}/wheels/*",))
    with pytest.raises(BundleError) as caught:
        make_bundle(lock, tmp_path / "bundle", opts)
    assert str(caught.value) == (
        f"1 package(s) could not be bundled: labpkg 0.3.0: {wheel.name}: the file at {wheel.as_uri()!r} is not the "
        "one the lock "
        f"pins (sha256 differs, the lock's {pinned}): it was replaced there since the lock was pinned; the locked file "
        "may be in a bundle made then (rebuild --bundle), or on an index that still has it (configure it: "
        "PIP_INDEX_URL, PIP_FIND_LINKS)"
    )


def test_an_offline_bundle_with_an_empty_cache_says_where_it_looked_and_how_to_fill_it(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bundle --offline`` of a pinned lock on a machine whose download cache is empty said of each package only
    "not in the bundle, the download cache or a find-links folder on this machine, and --offline is set": neither
    which cache nor which folders it read, nor how to fill them. Each package is named as before, and one hint after
    them names the cache and the folders and says how to fill the cache (a run without --offline into it)."""
    import hashlib

    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    folder = tmp_path / "my-wheels"  # pip splits find-links at white space
    folder.mkdir()
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    monkeypatch.delenv("UV_FIND_LINKS", raising=False)
    packages = []
    for name in ("alpha", "beta"):
        data = name.encode() * 1000
        filename = f"{name}-1.0-py3-none-any.whl"
        art = Artifact(
            filename=filename, url=f"https://files.example/{filename}", sha256=hashlib.sha256(data).hexdigest()
        )
        packages.append(PythonPackage(name, "1.0", artifact=art))
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=tuple(packages))), lock)
    cache = tmp_path / "empty cache"
    result = cli("bundle", lock, "-o", tmp_path / "out", "--cache-dir", cache, "--offline")
    assert result.code == 4, result
    (line,) = result.err.strip().splitlines()
    missing = "not in the bundle, the download cache or a find-links folder on this machine, and --offline is set"
    assert line.startswith(
        f"envsnap: error: 2 package(s) could not be bundled: alpha 1.0: alpha-1.0-py3-none-any.whl: {missing}; "
        f"beta 1.0: beta-1.0-py3-none-any.whl: {missing} (--offline looked in the download cache '{cache}' and the "
        f"find-links folders '{folder}'"
    ), line
    assert line.endswith(
        "; fill the cache by running the bundle once without --offline where the lock's URLs can be reached "
        f"(envsnap bundle {lock} -o {tmp_path / 'out'} --cache-dir '{cache}'), or configure a folder on this machine "
        "that holds the "
        "wheels (PIP_FIND_LINKS=DIR or UV_FIND_LINKS=DIR))"
    ), line
    assert line.count("--offline looked") == 1
    assert not (tmp_path / "out").exists()


def test_the_readmes_lines_by_hand_say_where_they_run_and_install_from_there(tmp_path: Path) -> None:
    """The README's "Rebuild by hand" lines read ``wheels``, ``requirements.txt`` and its ``./wheels/F.whl`` lines (a
    wheel the bundle built) from the working directory, and said nothing of where to run them: "Run the commands
    below in this folder" stood only over the envsnap lines. The section says it, and its lines, run in that folder
    (the bundle's, which a reader unpacked), make the environment beside it with both wheels installed."""
    import subprocess
    import sys

    from test_pin import make_wheel

    from envsnap.artifacts.bundle import BundleOptions, make_bundle
    from envsnap.artifacts.pin import IndexConfig, cached_path

    cache = tmp_path / "cache"
    packages = []
    for name, rebuilt in (("labpkg", False), ("mylib", True)):
        wheel = make_wheel(tmp_path / "made", name, "0.1")
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        cached = cached_path(cache, sha, wheel.name)
        cached.parent.mkdir(parents=True)
        cached.write_bytes(wheel.read_bytes())
        url = "file://{project}/mylib" if rebuilt else f"https://files.example/{wheel.name}"
        art = Artifact(filename=wheel.name, url=url, sha256=sha, rebuilt=rebuilt)
        source = Source(kind="directory", url=url) if rebuilt else Source()
        packages.append(PythonPackage(name, "0.1", artifact=art, source=source))
    version = ".".join(map(str, sys.version_info[:3]))
    lock = Snapshot(python=PythonEnv(version=version, packages=tuple(packages)))
    supp = tmp_path / "supp"
    make_bundle(lock, supp, BundleOptions(cache_dir=cache, config=IndexConfig(no_index=True), offline=True))
    assert "./wheels/mylib-0.1-py3-none-any.whl --hash" in (supp / "requirements.txt").read_text()
    by_hand = (supp / "README.md").read_text().split("## Rebuild by hand", 1)[1].split("## Packages", 1)[0]
    said, _, block = by_hand.partition("\n    ")
    assert " ".join(said.split()) == (
        "Run these in this folder too (the one that holds this README): they read `SHA256SUMS`, `wheels/`, "
        "`requirements.txt` (whose `./wheels/...` lines pip reads against the folder it runs in) from the working "
        "directory, and make the environment beside the folder (`../envsnap-env`)."
    )
    lines = [line[4:] for line in ("    " + block).splitlines() if line.startswith("    ")]
    assert lines[1] == f"python{sys.version_info[0]}.{sys.version_info[1]} -m venv ../envsnap-env"
    lines[1] = f"{sys.executable} -m venv ../envsnap-env"  # this test's interpreter, of the locked version
    subprocess.run(["bash", "-euc", "\n".join(lines)], cwd=supp, check=True, capture_output=True)
    site = next((tmp_path / "envsnap-env" / "lib").glob("python*/site-packages"))
    assert (site / "labpkg-0.1.dist-info").is_dir()
    direct = json.loads((site / "mylib-0.1.dist-info" / "direct_url.json").read_text())
    assert direct["url"] == (supp / "wheels" / "mylib-0.1-py3-none-any.whl").as_uri()


def test_the_readmes_lines_by_hand_make_the_environment_verify_finds_as_locked(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A lock of an environment made without pip (uv's venv, `python -m venv --without-pip`): the README's "Rebuild
    by hand" lines made it with `python3.X -m venv`, which seeds pip (and setuptools before Python 3.12), and
    `envsnap verify` of the result said `DIFFERENT`, exit 3 (`pip 23.2.1: installed, not in the lock`). The lines end
    by taking out what the venv seeded and the lock does not hold; verify finds the environment identical."""
    import subprocess
    import sys

    from test_pin import make_wheel

    from envsnap.artifacts.bundle import BundleOptions, make_bundle
    from envsnap.artifacts.pin import IndexConfig, cached_path

    cache = tmp_path / "cache"
    wheel = make_wheel(tmp_path / "made", "labpkg", "0.1")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    cached = cached_path(cache, sha, wheel.name)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(wheel.read_bytes())
    art = Artifact(filename=wheel.name, url=f"https://files.example/{wheel.name}", sha256=sha)
    version = ".".join(map(str, sys.version_info[:3]))
    lock = Snapshot(python=PythonEnv(version=version, packages=(PythonPackage("labpkg", "0.1", artifact=art),)))
    supp = tmp_path / "supp"
    make_bundle(lock, supp, BundleOptions(cache_dir=cache, config=IndexConfig(no_index=True), offline=True))
    by_hand = (supp / "README.md").read_text().split("## Rebuild by hand", 1)[1].split("## Packages", 1)[0]
    lines = [line[4:] for line in by_hand.splitlines() if line.startswith("    ")]
    lines[1] = f"{sys.executable} -m venv ../envsnap-env"  # this test's interpreter, of the locked version
    subprocess.run(["bash", "-euc", "\n".join(lines)], cwd=supp, check=True, capture_output=True)
    result = cli("verify", supp / "envsnap.lock", "--python", tmp_path / "envsnap-env" / "bin" / "python")
    assert result.code == 0, result
    assert "identical: the Python layer matches the lock (1 package checked" in result.err + result.out, result
    seeded = "pip" if sys.version_info >= (3, 12) else "pip setuptools"
    assert lines[-1] == f"../envsnap-env/bin/python -m pip uninstall -y {seeded}", lines


def test_the_readmes_table_names_a_place_in_the_project_readably(tmp_path: Path) -> None:
    """A wheel pip installed from the project's own ``dist`` folder (``pip install --find-links ./dist``, pinned as
    ``file://{project}/dist``) read ``file://{project}/dist`` in the README's origin column: envsnap's label, no URL
    a reader can open. A place in the project is its path there, one elsewhere on the machine its path, an index its
    URL as before."""
    from test_pin import make_wheel

    from envsnap.artifacts.bundle import BundleOptions, make_bundle
    from envsnap.artifacts.pin import IndexConfig, cached_path

    cache = tmp_path / "cache"
    wheel_origins = {
        # name: (artifact index, artifact url or a rebuilt wheel's source, rebuilt)
        "dlib": ("file://{project}/dist", "file://{project}/dist/dlib-0.1-py3-none-any.whl", False),
        "proj": ("", "file://{project}", True),
        "mylib": ("", "file://{project}/libs/my%20lib", True),
        "homelib": ("file://~/wheels", "file://~/wheels/homelib-0.1-py3-none-any.whl", False),
        "srvlib": ("", "file:///srv/wheels/srvlib-0.1-py3-none-any.whl", False),
        "idx": ("https://pypi.org/simple", "https://files.example/idx-0.1-py3-none-any.whl", False),
    }
    packages = []
    for name, (index, url, rebuilt) in wheel_origins.items():
        wheel = make_wheel(tmp_path / "made", name, "0.1")
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        cached = cached_path(cache, sha, wheel.name)
        cached.parent.mkdir(parents=True)
        cached.write_bytes(wheel.read_bytes())
        art = Artifact(filename=wheel.name, url=url, sha256=sha, index=index, rebuilt=rebuilt)
        source = Source(kind="directory", url=url) if rebuilt else Source()
        packages.append(PythonPackage(name, "0.1", artifact=art, source=source))
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=tuple(packages)))
    project = tmp_path / "proj"
    (project / "libs" / "my lib").mkdir(parents=True)
    for folder in (project, project / "libs" / "my lib"):
        (folder / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0.1"\n')
    options = BundleOptions(cache_dir=cache, config=IndexConfig(no_index=True), offline=True, project_dir=project)
    make_bundle(lock, tmp_path / "b", options)
    table = (tmp_path / "b" / "README.md").read_text().split("## Packages", 1)[1]
    origins = {
        cells[0]: cells[3]
        for line in table.splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.strip("|").split("|")])[0] in wheel_origins
    }
    assert origins == {
        "dlib": "`dist` in the project",
        "proj": "rebuilt from the project's folder",
        "mylib": "rebuilt from `libs/my lib` in the project",
        "homelib": "`~/wheels`",
        "srvlib": "`/srv/wheels/srvlib-0.1-py3-none-any.whl`",
        "idx": "https://pypi.org/simple",
    }
    assert "{project}" not in table


def test_a_git_package_of_the_projects_own_repository_keeps_its_label_in_the_bundles_lock(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package installed from the project's own repository (``pip install git+file:///path/mono@v1
    #subdirectory=libs/sub`` inside it: ``file://{project}``) was built into a wheel whose URL the bundle's lock wrote
    as ``git+file://COMMIT``: ``{project}@`` was taken for a login and left out, and every ``rebuild``, ``check`` and
    ``verify`` of the bundle refused its lock (exit 2). The lock names ``git+file://{project}@COMMIT`` now."""
    import subprocess
    import zipfile

    from envsnap.artifacts import bundle

    mono = tmp_path / "mono"
    (mono / "libs" / "sub").mkdir(parents=True)
    (mono / "libs" / "sub" / "pyproject.toml").write_text('[project]\nname = "sub"\nversion = "0.1"\n')
    git = ["git", "-C", str(mono), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()

    def fake_build(
        source: Path, out_dir: Path, python: str | None = None, variables: Any = None, offline_links: Any = None
    ) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        wheel = out_dir / "sub-0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("sub/__init__.py", "")
            archive.writestr("sub-0.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: sub\nVersion: 0.1\n\n")
            wheel_text = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
            archive.writestr("sub-0.1.dist-info/WHEEL", wheel_text)
            archive.writestr("sub-0.1.dist-info/RECORD", "")
        return wheel

    monkeypatch.setattr(bundle, "build_wheel", fake_build)
    source = Source(kind="vcs", url="file://{project}", vcs="git", commit_id=commit, subdirectory="libs/sub")
    pkg = PythonPackage(name="sub", version="0.1", source=source)
    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), tmp_path / "u.lock")
    monkeypatch.chdir(mono)
    result = cli("bundle", lock, "-o", tmp_path / "b")
    assert result.code == 0, result
    bundled = lockfile.load(tmp_path / "b" / "envsnap.lock")
    art = bundled.python.packages[0].artifact
    assert art is not None and art.url == f"git+file://{{project}}@{commit}", art
    assert cli("check", tmp_path / "b").code == 0


def test_bundle_help_names_every_part_the_bundle_holds(cli: Callable[..., Any]) -> None:
    """``envsnap bundle --help`` listed the wheels, requirements.txt, README and SHA256SUMS, not the ``conda/``
    archives a conda lock's bundle holds (docs/cli.md's layout names them)."""
    result = cli("bundle", "--help")
    assert result.code == 0, result
    text = " ".join(result.out.split())
    for part in ("every pinned wheel", "conda/", "requirements.txt", "README", "SHA256SUMS"):
        assert part in text, part


def test_a_bundle_whose_own_lock_is_refused_at_write_leaves_nothing_half_made(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """bundle writes its own lock through the loader's checks (``lockfile._loadable``): where they refuse it, the
    command is one line, exit 2, and what it was making is gone (a new folder, an archive and its temporary
    folder beside it), while an earlier bundle it was completing is left as it was: its lock, its SHA256SUMS, its
    wheels, and no marker saying it is being made."""
    import hashlib

    from envsnap.errors import LockfileError

    wheel = tmp_path / "index" / "a-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"wheel")
    art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=hashlib.sha256(b"wheel").hexdigest())
    snapshot = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("a", "1.0", artifact=art),)))
    lock = lockfile.dump(snapshot, tmp_path / "l.lock")
    # Completing the earlier bundle with one more wheel: the wheel this run fetched into it goes again.
    other = wheel.with_name("b-2.0-py3-none-any.whl")
    other.write_bytes(b"other")
    more = dataclasses.replace(
        art, filename=other.name, url=other.as_uri(), sha256=hashlib.sha256(b"other").hexdigest()
    )
    both = dataclasses.replace(
        snapshot,
        python=dataclasses.replace(
            snapshot.python, packages=(*snapshot.python.packages, PythonPackage("b", "2.0", artifact=more))
        ),
    )
    lock_both = lockfile.dump(both, tmp_path / "both.lock")
    allow = ("--allow-url", tmp_path.as_uri() + "/*", "--cache-dir", tmp_path / "cache")
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "earlier"
    assert cli("bundle", lock, "-o", earlier, *allow).code == 0
    before = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    real = lockfile._loadable

    def refusing(data: dict[str, Any], where: str) -> dict[str, Any]:
        if str(out) in where:  # the bundle's own lock, wherever it is being made
            raise LockfileError(f"{where}: not written: python.packages[0].name: refused (forced by the test)")
        return real(data, where)

    monkeypatch.setattr(lockfile, "_loadable", refusing)
    for output in (out / "new", out / "new.tar.gz", earlier):
        result = cli("bundle", lock_both if output == earlier else lock, "-o", output, *allow)
        errors = [line for line in result.err.splitlines() if line.startswith("envsnap: error:")]
        assert result.code == 2 and len(errors) == 1, (output, result)
        assert "forced by the test" in result.err and "Traceback" not in result.err, result.err
        assert ".envsnap-" not in result.err, result.err  # the lock is named as the bundle's, not a temporary path
    assert sorted(p.name for p in out.iterdir()) == ["earlier"], list(out.iterdir())
    after = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    assert after == before, sorted(set(after) ^ set(before))


def test_a_refused_rebundle_puts_back_the_wheel_it_replaced(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-bundle whose lock names a wheel of the earlier bundle's file name with other bytes (a rebuilt local
    project, a wheel from another find-links folder) wrote it over the earlier one; where the run was then refused
    (its own lock refused at write: exit 2), the earlier lock and SHA256SUMS stayed, the replaced wheel did not,
    and the earlier bundle failed its own sums. Every file of the earlier bundle is as it was."""
    from envsnap.errors import LockfileError

    def lock_of(folder: str, data: bytes) -> Path:
        wheel = tmp_path / folder / "a-1.0-py3-none-any.whl"
        wheel.parent.mkdir()
        wheel.write_bytes(data)
        art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=hashlib.sha256(data).hexdigest())
        snap = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("a", "1.0", artifact=art),)))
        return lockfile.dump(snap, tmp_path / f"{folder}.lock")

    first, second = lock_of("index", b"wheel"), lock_of("other", b"rebuilt")
    allow = ("--allow-url", tmp_path.as_uri() + "/*", "--cache-dir", tmp_path / "cache")
    earlier = tmp_path / "out" / "earlier"
    assert cli("bundle", first, "-o", earlier, *allow).code == 0
    before = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    real = lockfile._loadable

    def refusing(data: dict[str, Any], where: str) -> dict[str, Any]:
        if str(earlier) in where:
            raise LockfileError(f"{where}: not written: python.packages[0].name: refused (forced by the test)")
        return real(data, where)

    monkeypatch.setattr(lockfile, "_loadable", refusing)
    result = cli("bundle", second, "-o", earlier, *allow)
    assert result.code == 2 and "forced by the test" in result.err, result
    after = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    assert after == before, sorted(k for k in set(after) | set(before) if after.get(k) != before.get(k))
    assert sorted(p.name for p in earlier.parent.iterdir()) == ["earlier"]
    Bundle(earlier).verify_sums()  # the earlier bundle matches its own SHA256SUMS


def test_a_failed_rebundle_puts_back_the_wheel_it_replaced_and_keeps_what_it_fetched(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A re-bundle that fails otherwise (a wheel that fails its hash check once fetched: exit 4) keeps what it
    fetched for the next run, as a bundle being made, but every earlier file it replaced is put back: the earlier
    wheel of the same file name was lost with it. Where that leaves nothing it fetched, it is the earlier bundle."""
    allow = ("--allow-url", tmp_path.as_uri() + "/*", "--cache-dir", tmp_path / "cache")

    def package(folder: str, name: str, data: bytes) -> PythonPackage:
        wheel = tmp_path / folder / f"{name}-1.0-py3-none-any.whl"
        wheel.parent.mkdir(exist_ok=True)
        wheel.write_bytes(data)
        art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=hashlib.sha256(data).hexdigest())
        return PythonPackage(name, "1.0", artifact=art)

    first = Snapshot(python=PythonEnv(version="3.11.7", packages=(package("index", "a", b"wheel"),)))
    gone = package("other", "b", b"gone")
    second = dataclasses.replace(first, python=PythonEnv("3.11.7", packages=(package("other", "a", b"new"), gone)))
    assert gone.artifact is not None
    Path(gone.artifact.url.removeprefix("file://")).write_bytes(b"changed")  # b fails its hash check once fetched
    earlier = tmp_path / "earlier"
    assert cli("bundle", lockfile.dump(first, tmp_path / "first.lock"), "-o", earlier, *allow).code == 0
    before = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    result = cli("bundle", lockfile.dump(second, tmp_path / "second.lock"), "-o", earlier, *allow)
    assert result.code == 4, result
    after = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    assert {k: v for k, v in after.items() if k in before} == before
    # Nothing it fetched is left (a's new wheel was put back, b failed its check): the earlier bundle, complete, not
    # marked as being made (every reader refused it until bundled again).
    assert set(after) == set(before), set(after) ^ set(before)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".envsnap-")) == []
    # One that fetched a wheel before failing keeps it, marked as being made: the next run completes the bundle.
    kept = package("other", "c", b"kept")
    third = dataclasses.replace(second, python=PythonEnv("3.11.7", packages=(kept, gone)))
    result = cli("bundle", lockfile.dump(third, tmp_path / "third.lock"), "-o", earlier, *allow)
    assert result.code == 4, result
    after = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {Path("wheels/c-1.0-py3-none-any.whl"), Path(".envsnap-incomplete")}, after


@pytest.mark.parametrize("step", ["wheels", "artifact"])
def test_a_full_disk_while_bundling_is_the_work_failing_exit_4_not_bad_input(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    # A write that failed once the work had started (a full disk while the wheels, the .deb files, the base image
    # or the artifact were written) was "cannot write the bundle", exit 2: bad input, for an environment failure
    # (docs/cli.md: 4, the work itself failed). An -o that cannot be written at all stays 2 (above).
    import errno

    from envsnap.artifacts import bundle as bundle_mod
    from envsnap.paper import artifact

    def full(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "x"))

    if step == "wheels":
        monkeypatch.setattr(bundle_mod, "_fill", full)
    else:
        monkeypatch.setattr(artifact, "add_artifact", full)
    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), tmp_path / "l.lock")
    facts = ("--artifact", "--title", "T", "--author", "Ada Lovelace", "--license", "MIT")
    result = cli("bundle", lock, "-o", tmp_path / "out", "--offline", *facts)
    assert result.code == 4, result
    assert result.err.count("\n") == 1 and "No space left on device" in result.err, result
    assert "cannot write the bundle" not in result.err and "Traceback" not in result.err
    assert not (tmp_path / "out").exists()  # a new bundle is complete or absent


def test_bundle_of_a_debian_package_takes_the_index_file_and_says_so_once(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock of Debian's system Python: python3-six's egg-info was refused (not pinnable), and before that a tagged
    Debian build was pinned to the index's file without a word. The bundle holds the index's wheel of the release
    and says, once, that it stands in for the Debian package's build; its lock keeps ``system_package``."""
    from test_pin import SIX_HEADERS, YAML_HEADERS, identity_of, make_wheel, pep503_index

    wheel = make_wheel(tmp_path / "wheels", "six", "1.16.0", headers=SIX_HEADERS)
    yaml_wheel = make_wheel(tmp_path / "wheels", "pyyaml", "6.0", headers=YAML_HEADERS)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", pep503_index(tmp_path / "index", [wheel, yaml_wheel]))
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    six = PythonPackage(
        "six",
        "1.16.0",
        record_digest="sha256:" + "1" * 64,
        system_package="python3-six",
        identity=identity_of(SIX_HEADERS),
    )
    # python3-yaml's PyYAML, built by Debian (tag linux_x86_64): the index's wheel of another tag stands in.
    yaml = PythonPackage(
        "pyyaml",
        "6.0",
        wheel_tags=("cp311-cp311-linux_x86_64",),
        record_digest="sha256:" + "2" * 64,
        system_package="python3-yaml",
        identity=identity_of(YAML_HEADERS),
    )
    snap = Snapshot(python=PythonEnv(version="3.11.7", packages=(six, yaml)))
    lock = lockfile.dump(snap, tmp_path / "deb.lock")
    made = cli("bundle", lock, "-o", tmp_path / "B", "--cache-dir", tmp_path / "cache")
    assert made.code == 0, made
    line = (
        "six 1.16.0: installed by the Debian package python3-six; pinned to the index's file of that version, "
        "another build of the same release"
    )
    assert (made.out + made.err).count(line) == 1, made
    bundled = lockfile.load(tmp_path / "B" / "envsnap.lock").package("six")
    assert bundled is not None and bundled.artifact is not None and bundled.artifact.filename == wheel.name
    assert bundled.system_package == "python3-six"
    assert (tmp_path / "B" / "wheels" / wheel.name).is_file()
    assert (tmp_path / "B" / "wheels" / yaml_wheel.name).is_file()
    assert (made.out + made.err).count("python3-yaml") == 1, made
    # The index's six another project (its Summary another): not a stand-in, and the bundle is refused, as for any
    # package pin cannot pin; nothing is made.
    other = make_wheel(tmp_path / "other", "six", "1.16.0", headers="Summary: Six of one\nAuthor: Someone Else\n")
    monkeypatch.setenv("PIP_INDEX_URL", pep503_index(tmp_path / "index2", [other, yaml_wheel]))
    refused = cli("bundle", lock, "-o", tmp_path / "C", "--cache-dir", tmp_path / "cache2")
    assert refused.code == 4 and "six 1.16.0" in refused.err and "its Summary 'six of one'" in refused.err, refused
    assert not (tmp_path / "C").exists()


def _mode_bits_for_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Folder modes as a user meets them: tests run as root, which may make an entry in a folder of mode 0555, and
    every entry envsnap makes beside its files (its held folders, a file written atomically) is made by
    ``os.mkdir`` or ``os.open``; each is refused where the folder has no write bit."""
    import errno
    import os

    real_mkdir, real_open = os.mkdir, os.open

    def check(path: Any) -> None:
        parent = os.path.dirname(os.path.abspath(os.fspath(path)))
        if not os.stat(parent).st_mode & 0o200:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

    def mkdir(path: Any, mode: int = 0o777, *args: Any, **kwargs: Any) -> None:
        check(path)
        real_mkdir(path, mode, *args, **kwargs)

    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT:
            check(path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", open_)


@pytest.mark.parametrize("outcome", ["made", "refused"])
def test_a_rebundle_in_a_folder_whose_parent_is_read_only_keeps_its_copies_inside(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, outcome: str
) -> None:
    """Re-bundling kept each earlier file in a held ``.envsnap-bundle-*`` folder beside the bundle, in its parent:
    a bundle in a shared folder whose parent the user may not write (the bundle itself writable) was refused, exit
    2, before anything changed. The copies are kept inside the bundle, in a hidden folder its SHA256SUMS, archive
    and readers ignore: the re-bundle works, and one refused leaves the earlier bundle as it was."""
    from envsnap.errors import LockfileError

    def lock_of(folder: str, data: bytes) -> Path:
        wheel = tmp_path / folder / "a-1.0-py3-none-any.whl"
        wheel.parent.mkdir()
        wheel.write_bytes(data)
        art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=hashlib.sha256(data).hexdigest())
        snap = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("a", "1.0", artifact=art),)))
        return lockfile.dump(snap, tmp_path / f"{folder}.lock")

    first, second = lock_of("index", b"wheel"), lock_of("other", b"rebuilt")
    allow = ("--allow-url", tmp_path.as_uri() + "/*", "--cache-dir", tmp_path / "cache")
    shared = tmp_path / "shared"
    earlier = shared / "supp"
    assert cli("bundle", first, "-o", earlier, *allow).code == 0
    before = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    if outcome == "refused":
        real = lockfile._loadable

        def refusing(data: dict[str, Any], where: str) -> dict[str, Any]:
            if str(earlier) in where:
                raise LockfileError(f"{where}: not written: python.packages[0].name: refused (forced by the test)")
            return real(data, where)

        monkeypatch.setattr(lockfile, "_loadable", refusing)
    _mode_bits_for_root(monkeypatch)
    shared.chmod(0o555)
    try:
        result = cli("bundle", second, "-o", earlier, *allow)
    finally:
        shared.chmod(0o755)
    assert sorted(p.name for p in shared.iterdir()) == ["supp"]
    assert not [p for p in earlier.rglob(".envsnap-bundle-*")]
    after = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    if outcome == "refused":
        assert result.code == 2 and "forced by the test" in result.err, result
        assert after == before, sorted(k for k in set(after) | set(before) if after.get(k) != before.get(k))
    else:
        assert result.code == 0, result
        assert after[Path("wheels/a-1.0-py3-none-any.whl")] == b"rebuilt"
    Bundle(earlier).verify_sums()


def test_a_held_folder_a_killed_rebundle_left_inside_the_bundle_is_ignored_and_removed_by_the_next(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A re-bundle killed (SIGKILL) after it had kept the earlier files inside the bundle, before it marked the
    bundle as being made, leaves a hidden ``.envsnap-bundle-*`` folder in a bundle that is still complete: every
    reader ignores it (its check, an archive of it) and the next run removes it."""
    wheel = tmp_path / "index" / "a-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"wheel")
    art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=hashlib.sha256(b"wheel").hexdigest())
    snap = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("a", "1.0", artifact=art),)))
    lock = lockfile.dump(snap, tmp_path / "l.lock")
    allow = ("--allow-url", tmp_path.as_uri() + "/*", "--cache-dir", tmp_path / "cache")
    out = tmp_path / "supp"
    assert cli("bundle", lock, "-o", out, *allow).code == 0
    left = out / ".envsnap-bundle-0123abcd" / "wheels"
    left.mkdir(parents=True)
    (left / wheel.name).write_bytes(b"wheel")
    Bundle(out).verify_sums()
    write_archive(out, tmp_path / "supp.tar.gz")
    with tarfile.open(tmp_path / "supp.tar.gz") as tar:
        assert not [name for name in tar.getnames() if ".envsnap-" in name]
    assert cli("bundle", lock, "-o", out, *allow).code == 0
    assert not (out / ".envsnap-bundle-0123abcd").exists()
    Bundle(out).verify_sums()


def test_a_rebundle_of_a_bundle_folder_that_may_not_be_written_names_the_folder(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-bundling a bundle the user may not write (a colleague's, read-only) said ``cannot write the bundle:
    Permission denied (.../supp/.envsnap-bundle-f86525b55176)``, a hidden folder of envsnap's that is gone once the
    command ends. It names the bundle folder; one line, exit 2, the bundle as it was."""
    wheel = tmp_path / "index" / "a-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"wheel")
    art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=hashlib.sha256(b"wheel").hexdigest())
    snap = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("a", "1.0", artifact=art),)))
    lock = lockfile.dump(snap, tmp_path / "l.lock")
    allow = ("--allow-url", tmp_path.as_uri() + "/*", "--cache-dir", tmp_path / "cache")
    out = tmp_path / "supp"
    assert cli("bundle", lock, "-o", out, *allow).code == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    _mode_bits_for_root(monkeypatch)
    out.chmod(0o555)
    try:
        result = cli("bundle", lock, "-o", out, *allow)
    finally:
        out.chmod(0o755)
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert result.err == f"envsnap: error: {out}: cannot write the bundle: Permission denied ({out})\n", result.err
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("layout", ["folder", "contents"])
def test_an_archive_of_a_bundle_a_killed_rebundle_left_its_copies_in_unpacks_without_them(
    tmp_path: Path, layout: str
) -> None:
    """A re-bundle killed while it kept the earlier files leaves them in a hidden ``.envsnap-bundle-*`` folder
    inside a bundle that is still complete; its author's ``tar -czf supp.tar.gz supp`` (or ``-C supp .``) carried
    it, and the reviewer's unpacking refused the archive ("unsafe path in archive ... hidden"). Every reader leaves
    that folder out, the archive's too: nothing of it is unpacked."""
    root = tmp_path / "supp"
    _bundle(root)
    kept = root / ".envsnap-bundle-0123abcd" / "wheels"
    kept.mkdir(parents=True)
    (kept / "a-1.0-py3-none-any.whl").write_bytes(b"wheel")
    archive = tmp_path / "supp.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        if layout == "folder":
            tar.add(root, arcname="supp")
        else:
            tar.add(root, arcname=".")
    dest = tmp_path / "unpacked"
    extract(archive, dest)
    assert not list(dest.rglob(".envsnap-*")), list(dest.rglob("*"))
    Bundle(dest).verify_sums()


def test_a_bundle_archive_in_a_folder_that_may_not_be_written_names_the_folder(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bundle -o shared/supp.tar.gz`` where ``shared`` may not be written said ``Permission denied
    (shared/.envsnap-bundle-ad958613818b)``, the work folder it could not make, which the user never sees. It names
    the folder the archive goes in; one line, exit 2, nothing made."""
    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), tmp_path / "l.lock")
    shared = tmp_path / "shared"
    shared.mkdir()
    _mode_bits_for_root(monkeypatch)
    shared.chmod(0o555)
    try:
        result = cli("bundle", lock, "-o", shared / "supp.tar.gz", "--cache-dir", tmp_path / "cache")
    finally:
        shared.chmod(0o755)
    assert result.err == (
        f"envsnap: error: {shared / 'supp.tar.gz'}: cannot write the bundle: Permission denied ({shared})\n"
    ), result
    assert result.code == 2 and not list(shared.iterdir())


def test_the_allow_url_an_offline_bundle_names_for_a_find_links_folder_named_with_a_wildcard_allows_it(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The find-links folder ``proj [1]/wheels`` was named as ``--allow-url '.../proj [1]/wheels'``, a pattern
    whose ``[1]`` matches ``1``, not that folder: pasted, the bundle was refused again. It is the pattern matching
    that folder alone, as pin names one (``[[]1]``), and pasted it bundles."""
    import hashlib
    import shlex
    import subprocess

    from test_pin import make_wheel

    project = tmp_path / "proj [1]"
    (project / "wheels").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    wheel = make_wheel(project / "wheels", "labnotes", "1.0")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (project / "pylock.toml").write_text(
        "#    uv pip compile --find-links ./wheels --emit-find-links --format pylock.toml requirements.in\n"
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "labnotes"\nversion = "1.0"\n'
        f'wheels = [{{ url = "{wheel.as_uri()}", hashes = {{ sha256 = "{sha}" }} }}]\n'
    )
    monkeypatch.chdir(project)
    assert cli("import", "pylock.toml", "-o", "env.lock").code == 0
    refused = cli("bundle", "env.lock", "-o", tmp_path / "b1", "--offline", "--cache-dir", tmp_path / "c1")
    assert refused.code != 0
    pattern = str(project / "wheels").replace("[", "[[]")
    said = f"(the lock's find-links folder is read once allowed: pass --allow-url {shlex.quote(pattern)})"
    assert said in refused.err, refused.err
    allowed = ("--allow-url", pattern, "--cache-dir", tmp_path / "c2")
    assert cli("bundle", "env.lock", "-o", tmp_path / "b2", "--offline", *allowed).code == 0


def test_the_built_line_names_the_sdist_of_a_find_links_folder_it_built(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An imported requirements file's sdist in its ``--find-links`` folder (``uv pip compile --emit-find-links
    --generate-hashes``), no URL in the lock, was built and said as ``built zope_thing-1.0-py3-none-any.whl from ``,
    naming nothing; the line names the sdist in its folder now, as it names one it built from the index by URL."""
    import zipfile

    from envsnap import importers
    from envsnap.artifacts import bundle

    links = tmp_path / "sdonly"
    links.mkdir()
    data = b"[project]\nname = 'zope.thing'\nversion = '1.0'\n"
    sdist = links / "zope_thing-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        info = tarfile.TarInfo("zope_thing-1.0/pyproject.toml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    sha = hashlib.sha256(sdist.read_bytes()).hexdigest()

    def fake_build(
        source: Path, out_dir: Path, python: str | None = None, variables: Any = None, offline_links: Any = None
    ) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        wheel = out_dir / "zope_thing-1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("zope_thing/__init__.py", "")
            info = "zope_thing-1.0.dist-info"
            archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: zope.thing\nVersion: 1.0\n\n")
            archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
            archive.writestr(f"{info}/RECORD", "")
        return wheel

    monkeypatch.setattr(bundle, "build_wheel", fake_build)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"--find-links {links}\n\nzope-thing==1.0 \\\n    --hash=sha256:{sha}\n")
    snap = importers.read_file(reqs)
    lock = lockfile.dump(
        dataclasses.replace(snap, python=dataclasses.replace(snap.python, version="3.11.7")), tmp_path / "u.lock"
    )
    result = cli("bundle", lock, "-o", tmp_path / "b", "--allow-url", str(links))
    assert result.code == 0, result
    line = next((x.strip() for x in result.err.splitlines() if x.strip().startswith("built ")), result.err)
    assert line == f"built zope_thing-1.0-py3-none-any.whl from {sdist.as_uri()}", line
