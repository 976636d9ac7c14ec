"""A reviewer inside a bundle folder rebuilds its lock without ``--bundle``: the lock names the author's find-links
folder, which is not here. The refusal's remedy is the bundle beside the lock (``--bundle .``), which holds the
wheel, not ``--allow-url`` for a folder of the author's machine.

Offline: the wheel is made here, the bundle from a file:// index.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from offline_wheels import locked_bundle, wheel
from testutil import uv_bin


def test_a_lock_inside_a_bundle_rebuilt_without_bundle_is_told_to_give_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    made = wheel(tmp_path / "author wheels", "labpkg", "0.3.0")
    _, bundle, _ = locked_bundle(uv, tmp_path, {"labpkg": made})
    moved = tmp_path / "supp 'v1'"
    bundle.rename(moved)
    (tmp_path / "author wheels" / made.name).unlink()  # the reviewer's machine has no such folder
    monkeypatch.chdir(moved)
    result = cli("rebuild", "envsnap.lock", "--dest", tmp_path / "env")
    errors = [line for line in result.err.splitlines() if line.startswith("envsnap: error:")]
    assert result.code == 2 and len(errors) == 1, result
    assert "labpkg-0.3.0-py3-none-any.whl" in errors[0], result.err
    assert errors[0].endswith("--bundle .") and "--allow-url" not in result.err, result.err
    assert not (tmp_path / "env").exists()
    monkeypatch.chdir(tmp_path)
    result = cli("rebuild", moved / "envsnap.lock", "--dest", tmp_path / "env")
    assert result.code == 2, result
    assert f"--bundle '{tmp_path}/supp '\"'\"'v1'\"'\"''" in result.err, result.err
    # Given the bundle, it rebuilds from it.
    done = cli("rebuild", moved / "envsnap.lock", "--bundle", moved, "--offline", "--dest", tmp_path / "env")
    assert done.code == 0, done


def test_a_bundle_in_a_folder_whose_name_holds_a_newline_is_named_by_a_word_that_types_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """The refusal's ``--bundle DIR`` quoted the folder with ``shlex.quote``, which refuses a newline: a bundle
    unpacked into ``review\\ndir`` ended the rebuild in a traceback (``UnsafeValue``), exit 1. The folder is bash's
    ``$'...'`` word, one line, exit 2; given that way, it rebuilds from there."""
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    made = wheel(tmp_path / "author wheels", "labpkg", "0.3.0")
    _, bundle, _ = locked_bundle(uv, tmp_path, {"labpkg": made})
    moved = tmp_path / "review\ndir"
    bundle.rename(moved)
    (tmp_path / "author wheels" / made.name).unlink()
    result = cli("rebuild", moved / "envsnap.lock", "--dest", tmp_path / "env")
    errors = [line for line in result.err.splitlines() if line.startswith("envsnap: error:")]
    assert result.code == 2 and len(errors) == 1 and "Traceback" not in result.err, result
    assert result.err.endswith(f"--bundle $'{tmp_path}/review\\x0adir'\n"), result.err
    assert not (tmp_path / "env").exists()
    done = cli("rebuild", moved / "envsnap.lock", "--bundle", moved, "--offline", "--dest", tmp_path / "env")
    assert done.code == 0 and "identical" in done.out, done


@pytest.mark.parametrize(
    "folder", ["review dir #1", "b${HOME} 50%41", "a'b\"c", "ünï códe ✓", "new\nline", "/".join(["x" * 200] * 17)]
)
def test_a_bundle_in_a_folder_with_an_awkward_name_rebuilds_and_verifies_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], folder: str
) -> None:
    """A reviewer unpacks the bundle into a folder whose path pip, a shell or a URL reads otherwise (a ``#`` after a
    space, a ``${...}``, a ``%``, quotes, non-ASCII, a newline, a path of 3,400 characters): the venv rebuild
    installs its wheels from there offline (uv is given the folder's percent-encoded ``file:`` URL), given as the
    bundle and as its lock with ``--bundle``, and verify finds each venv identical to the lock."""
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    made = wheel(tmp_path / "author wheels", "labpkg", "0.3.0")
    _, bundle, _ = locked_bundle(uv, tmp_path, {"labpkg": made})
    where = tmp_path / folder
    where.mkdir(parents=True)
    moved = where / "bundle"
    bundle.rename(moved)
    for n, args in enumerate(([moved], [moved / "envsnap.lock", "--bundle", moved])):
        env = where / f"env{n}"
        done = cli("rebuild", *args, "--offline", "--dest", env)
        assert done.code == 0 and "identical" in done.out, done
        checked = cli("verify", moved / "envsnap.lock", "--python", env / "bin" / "python")
        assert checked.code == 0 and "identical" in checked.out, checked


def test_a_bundles_lock_rebuilt_without_bundle_makes_no_environment_inside_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """A reviewer inside the bundle folder who left out `--bundle .` (the folder the lock names allowed, or the
    index it names reachable): the rebuild fetched the wheels and made its default `envsnap-venv` inside the
    bundle, which then failed its own SHA256SUMS (`envsnap-venv/...: not listed in SHA256SUMS`) in every later
    command. A destination inside the bundle the lock lies in is refused as it is with `--bundle`: one line, exit 2,
    nothing made, the bundle intact."""
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    made = wheel(tmp_path / "author wheels", "labpkg", "0.3.0")
    _, bundle, _ = locked_bundle(uv, tmp_path, {"labpkg": made})
    monkeypatch.chdir(bundle)
    allowed = ("--allow-url", f"{tmp_path}/index/simple/labpkg/*")  # where the lock says its wheel is
    for dest in ((), ("--dest", "env")):
        result = cli("rebuild", "envsnap.lock", *allowed, *dest)
        errors = [line for line in result.err.splitlines() if line.startswith("envsnap: error:")]
        assert result.code == 2 and len(errors) == 1, result
        assert "inside the bundle ." in errors[0] and "--dest ../envsnap-venv" in errors[0], errors
    assert sorted(p.name for p in bundle.iterdir()) == sorted(
        ["README.md", "SHA256SUMS", "appendix.md", "appendix.tex", "envsnap.lock", "requirements.txt", "wheels"]
    )
    done = cli("rebuild", "envsnap.lock", "--bundle", ".", "--offline", "--dest", tmp_path / "env")
    assert done.code == 0, done


def test_a_projects_own_sha256sums_beside_its_lock_makes_it_no_bundle_to_rebuild_beside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """A project that keeps a SHA256SUMS of its data beside its lock is no bundle: its rebuild's default destination
    is not refused as inside one."""
    from testutil import sample_lock

    from envsnap import lockfile

    lockfile.dump(sample_lock(seal=True), tmp_path / "envsnap.lock")
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  data/train.csv\n")
    monkeypatch.chdir(tmp_path)
    result = cli("rebuild", "envsnap.lock", "--dry-run")
    assert "inside the bundle" not in result.err, result
