"""A bundle made again into its folder without ``--with-base-image``, which an earlier run gave a saved base image
(``images/``) and envsnap's wheels (``tool/``): they stay, and the README says so.

Offline: the wheel is made here, the bundle from a file:// index; the image is a stand-in file (no engine).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from offline_wheels import locked_bundle, wheel
from testutil import uv_bin

from envsnap import lockfile
from envsnap.artifacts.bundle import HOLDINGS, Bundle, BundleOptions, describe_bundle, make_bundle, open_bundle
from envsnap.artifacts.pin import IndexConfig


def test_a_bundle_made_again_without_with_base_image_still_says_what_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-run rewrote the README without its "What this bundle holds" section, though ``images/`` and
    ``tool/`` were still there: a reader (or a depositor) learnt nothing of the gigabytes of image it carries."""
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    lock_path, bundle, _ = locked_bundle(uv, tmp_path, {"labpkg": wheel(tmp_path / "wheels", "labpkg", "0.3.0")})
    # What ``add_docker_base`` leaves (``bundle --with-base-image``): the image, envsnap's wheel, the section.
    (bundle / "images").mkdir()
    (bundle / "images" / "base.tar").write_bytes(b"i" * 3000)
    (bundle / "tool").mkdir()
    (bundle / "tool" / "envsnap-0.1.0-py3-none-any.whl").write_bytes(b"t" * 1000)
    describe_bundle(bundle)
    Bundle(bundle).write_sums()
    options = BundleOptions(config=IndexConfig(index_url=(tmp_path / "index" / "simple").as_uri()))
    make_bundle(lockfile.load(lock_path), bundle, options)
    text = (bundle / "README.md").read_text()
    assert text.count(HOLDINGS) == 1, text
    assert "| `images/` | saved container images | 1 | 3 KiB |" in text, text
    assert "| `tool/` | envsnap's own wheels for the image | 1 | 1 KiB |" in text, text
    open_bundle(bundle, tmp_path / "unused")  # its SHA256SUMS check passes


def test_a_rebundle_whose_base_image_step_fails_leaves_the_earlier_bundle_as_it_was(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bundle --with-base-image`` saved the image after the wheels, the lock and SHA256SUMS: where a later part
    failed (envsnap's wheels for the image not to be had), a re-bundle of an earlier bundle was left with the new
    lock and sums and the newly saved image over the earlier one, outside them. Every earlier file is as it was."""
    import os

    import envsnap.rebuild.docker as docker_target
    from envsnap.errors import RebuildError
    from envsnap.model import PythonEnv, Snapshot

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    first = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), tmp_path / "first.lock")
    second = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.8")), tmp_path / "second.lock")
    out = tmp_path / "b"
    assert cli("bundle", first, "-o", out, "--offline").code == 0
    (out / "images").mkdir()
    (out / "images" / "base.tar").write_bytes(b"the earlier image")  # a stand-in: no engine
    (out / "tool").mkdir()
    (out / "tool" / "envsnap-0.1.0-py3-none-any.whl").write_bytes(b"the earlier wheel")
    describe_bundle(out)
    Bundle(out).write_sums()
    before = files(out)

    def save(_lock: object, root: Path, **_kwargs: object) -> Path:
        (root / "images" / ".new").write_bytes(b"the new image")
        os.replace(root / "images" / ".new", root / "images" / "base.tar")  # as a save replaces it
        return root / "images" / "base.tar"

    def no_wheels(*_args: object, **_kwargs: object) -> Path:
        raise RebuildError("envsnap's wheels for the image cannot be had (forced by the test)")

    monkeypatch.setattr(docker_target, "check_base_to_save", lambda *_args: None)
    monkeypatch.setattr(docker_target, "save_base_image", save)
    monkeypatch.setattr(docker_target, "bundle_tool_wheels", no_wheels)
    result = cli("bundle", second, "-o", out, "--offline", "--with-base-image")
    assert result.code == 4 and "forced by the test" in result.err, result
    after = files(out)
    assert {k: after.get(k) for k in before} == before, [k for k in before if after.get(k) != before[k]]
    # Nothing it fetched is left: the earlier bundle, complete (marked as being made, every reader refused it).
    assert set(after) == set(before), set(after) ^ set(before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "first.lock", "second.lock"]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _bundle_with_an_earlier_image(tmp_path: Path, cli: Callable[..., Any]) -> tuple[Path, Path, dict[str, bytes]]:
    """A complete bundle whose images/ holds an earlier base image (stand-ins: no engine): its lock, its folder and
    its files' bytes by path."""
    from envsnap.model import PythonEnv, Snapshot

    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), tmp_path / "envsnap.lock")
    out = tmp_path / "b"
    assert cli("bundle", lock, "-o", out, "--offline").code == 0
    (out / "images").mkdir()
    (out / "images" / "old_1.tar").write_bytes(b"the earlier image")
    (out / "images" / "old_1.json").write_bytes(b"{}")
    describe_bundle(out)
    Bundle(out).write_sums()
    return lock, out, _files(out)


def _save_a_new_image(_lock: object, root: Path, **_kwargs: object) -> Path:
    """A stand-in for saving the base image: the archive put in place as a save puts it, and its record."""
    (root / "images" / ".new").write_bytes(b"the new image")
    os.replace(root / "images" / ".new", root / "images" / "new_1.tar")
    (root / "images" / "new_1.json").write_bytes(b"{}")
    return root / "images" / "new_1.tar"


def test_a_ctrl_c_after_a_rebundle_on_another_base_removed_the_earlier_image_puts_it_back(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-bundle with another ``--base-image`` removes the earlier image's archive once the new one is saved; a
    Ctrl-C after that (before SHA256SUMS) must not lose it: every earlier file is back, and the new image gone."""
    import envsnap.rebuild.docker as docker_target
    from envsnap.artifacts.bundle import INCOMPLETE

    lock, out, before = _bundle_with_an_earlier_image(tmp_path, cli)

    write_sums = Bundle.write_sums

    def interrupted(self: Bundle) -> None:
        if not (out / "images" / "new_1.tar").exists():
            return write_sums(self)  # the packages' sums, before the image is saved
        assert not (out / "images" / "old_1.tar").exists()  # removed by now
        raise KeyboardInterrupt

    monkeypatch.setattr(docker_target, "check_base_to_save", lambda *_args: None)
    monkeypatch.setattr(docker_target, "save_base_image", _save_a_new_image)
    monkeypatch.setattr(docker_target, "bundle_tool_wheels", lambda *_args, **_kwargs: out / "tool")
    monkeypatch.setattr(Bundle, "write_sums", interrupted)
    assert cli("bundle", lock, "-o", out, "--offline", "--with-base-image").code == 130
    monkeypatch.undo()
    after = _files(out)
    assert {k: after.get(k) for k in before} == before, [k for k in before if after.get(k) != before[k]]
    assert after == before and not (out / INCOMPLETE).exists()  # the new image goes: the engine saves it again


def test_a_ctrl_c_while_a_rebundle_on_another_base_gets_its_wheels_leaves_the_earlier_bundle_complete(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C in a re-bundle with another ``--base-image``, once the new image was saved and while envsnap's wheels
    for it were fetched, kept the new image beside the earlier one as a fetched package and left the bundle marked
    as being made: every reader refused it, and a plain ``bundle`` run to complete it left it holding both images (a
    rebuild naming no base was then refused). The new image came from the local engine, not an index: it goes, and
    the earlier bundle is complete, as it was."""
    import envsnap.rebuild.docker as docker_target
    from envsnap.artifacts.bundle import INCOMPLETE

    lock, out, before = _bundle_with_an_earlier_image(tmp_path, cli)

    def interrupted(*_args: object, **_kwargs: object) -> Path:
        raise KeyboardInterrupt

    monkeypatch.setattr(docker_target, "check_base_to_save", lambda *_args: None)
    monkeypatch.setattr(docker_target, "save_base_image", _save_a_new_image)
    monkeypatch.setattr(docker_target, "bundle_tool_wheels", interrupted)
    assert cli("bundle", lock, "-o", out, "--offline", "--with-base-image").code == 130
    monkeypatch.undo()
    assert _files(out) == before and not (out / INCOMPLETE).exists(), sorted(_files(out))
    open_bundle(out, tmp_path / "unused")  # its SHA256SUMS check passes


def test_a_ctrl_c_early_in_bundling_a_complete_bundle_again_leaves_it_complete(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C very early in re-bundling a complete, unchanged bundle (before anything in it was written) left it
    marked ``.envsnap-incomplete``, and every reader refused it until ``bundle`` was run again. Nothing in it was
    changed: it is left complete, as it was."""
    import envsnap.artifacts.bundle as bundle_module
    from envsnap.artifacts.bundle import INCOMPLETE
    from envsnap.model import PythonEnv, Snapshot

    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), tmp_path / "envsnap.lock")
    out = tmp_path / "b"
    assert cli("bundle", lock, "-o", out, "--offline").code == 0
    before = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def interrupted(_root: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle_module, "_remove_leftovers", interrupted)  # the first step once it is begun
    assert cli("bundle", lock, "-o", out, "--offline").code == 130
    monkeypatch.undo()
    after = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before and not (out / INCOMPLETE).exists(), sorted(after)
    assert cli("check", out).code != 2  # a reader takes it
    open_bundle(out, tmp_path / "unused")  # its SHA256SUMS check passes


def test_a_ctrl_c_after_a_rebundle_wrote_the_same_files_again_leaves_it_complete(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C in re-bundling a complete bundle from the same lock, once it had written its lock, README and
    requirements again (the same bytes, each renamed into place) and before SHA256SUMS: every file was as it had
    been, yet the bundle was left marked ``.envsnap-incomplete``, which every reader refused (``an interrupted
    envsnap bundle``) until ``bundle`` ran again: a file replaced by the same bytes counted as changed."""
    from envsnap.artifacts.bundle import INCOMPLETE
    from envsnap.model import PythonEnv, Snapshot

    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), tmp_path / "envsnap.lock")
    out = tmp_path / "b"
    assert cli("bundle", lock, "-o", out, "--offline").code == 0
    before = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    inodes = {rel: (out / rel).stat().st_ino for rel in before}

    def interrupted(_self: Bundle) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Bundle, "write_sums", interrupted)  # the last step: every other file is written
    assert cli("bundle", lock, "-o", out, "--offline").code == 130
    monkeypatch.undo()
    after = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before and not (out / INCOMPLETE).exists(), sorted(after)
    assert {rel: (out / rel).stat().st_ino for rel in before} == inodes  # the earlier files themselves, put back
    assert cli("check", out).code != 2  # a reader takes it
    open_bundle(out, tmp_path / "unused")  # its SHA256SUMS check passes


def test_the_readme_says_which_container_rebuild_needs_the_network_by_what_the_bundle_holds(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """The README opened with "rebuilds ... with no network", but its docker command, on a bundle without the system
    packages' .deb files, installs them (and on a base without Python the interpreter) from the apt mirror over the
    build's network: the plan said so, the README did not. Its opening says no network for the venv it names, and
    its last section says which the container rebuild of this bundle is, by what it holds."""
    from envsnap.model import PythonEnv, Snapshot

    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), tmp_path / "x.lock")
    out = tmp_path / "b"
    assert cli("bundle", lock, "-o", out, "--offline").code == 0
    (out / "images").mkdir()
    (out / "images" / "base.tar").write_bytes(b"i" * 3000)  # a stand-in: no engine
    (out / "tool").mkdir()
    (out / "tool" / "envsnap-0.1.0-py3-none-any.whl").write_bytes(b"t" * 1000)
    describe_bundle(out)
    text = (out / "README.md").read_text()
    opening = text.split("\n\n")[1]
    assert opening.startswith("This folder rebuilds one Python environment exactly: as a venv, with no network."), (
        opening
    )
    section = text.split(HOLDINGS, 1)[1]
    assert "from the apt mirror, over the build's network" in section, section
    assert "on a base image without Python, its interpreter" in section, section
    assert "--with-system-packages" in section, section
    (out / "debs").mkdir()
    (out / "debs" / "zlib1g_1_amd64.deb").write_bytes(b"d" * 100)
    describe_bundle(out)
    section = (out / "README.md").read_text().split(HOLDINGS, 1)[1]
    assert "builds with no network" in section and "apt mirror" not in section, section
