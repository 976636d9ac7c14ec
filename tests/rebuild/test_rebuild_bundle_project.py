"""A reviewer rebuilds the lock of a bundle without ``--bundle``: the bundle built the author's project into a
wheel (``file://{project}``), which only the bundle holds. The rebuild downloaded every other wheel, then failed
saying "run inside the project or name it with --project DIR", a project the reviewer does not have; it says
before fetching anything that the bundle holds the wheel, and names it (``--bundle DIR``).

Offline: the project's build backend is in the project; the bundle is made with no index.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import in_tree_project, uv_bin

from envsnap import lockfile
from envsnap.artifacts.bundle import BundleOptions, make_bundle
from envsnap.probes.capture import capture


@pytest.mark.parametrize("folder", ["supp", "supp\nv1", "supp b${HOME} #1 50%41"])
def test_a_bundles_lock_with_a_project_wheel_rebuilt_without_bundle_is_told_to_give_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], folder: str
) -> None:
    """``supp\\nv1``: a bundle in a folder whose name holds a newline, which ``--bundle DIR`` quoted with
    ``shlex.quote`` (it refuses a control character): a traceback, exit 1. It is bash's ``$'...'`` word, one line.
    A folder with `` #``, ``${...}`` and ``%`` rebuilds from the bundle's wheel of the project too."""
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    project = in_tree_project(tmp_path / "proj", "paperproj", "0.1.0")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "i"], check=True
    )
    env = tmp_path / "author-env"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(env)], check=True)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--offline",
            "--no-config",
            "--python",
            str(env / "bin" / "python"),
            "-e",
            str(project),
        ],
        check=True,
    )
    monkeypatch.chdir(project)
    lock = lockfile.dump(capture(str(env / "bin" / "python")), tmp_path / "envsnap.lock")
    supp = tmp_path / folder
    make_bundle(lockfile.load(lock), supp, BundleOptions(project_dir=project, cache_dir=tmp_path / "author-cache"))
    assert (supp / "wheels" / "paperproj-0.1.0-py3-none-any.whl").is_file()
    reviewer = tmp_path / "reviewer"
    reviewer.mkdir()
    monkeypatch.chdir(reviewer)  # no project here, and no cache that holds the project's wheel
    result = cli("rebuild", supp / "envsnap.lock", "--dest", reviewer / "env")
    errors = [line for line in result.err.splitlines() if line.startswith("envsnap: error:")]
    assert result.code == 4 and len(errors) == 1, result
    assert "nothing was fetched" in errors[0] and "paperproj 0.1.0" in errors[0], result.err
    word = f"$'{tmp_path}/supp\\x0av1'" if "\n" in folder else shlex.quote(str(supp))
    assert errors[0].endswith(f"rebuild from it with --bundle {word}"), result.err
    assert "pinning and downloading" not in result.err, result.err  # checked before any wheel is fetched
    assert not (reviewer / "env").exists()
    # Given the bundle, it rebuilds from it.
    done = cli("rebuild", supp / "envsnap.lock", "--bundle", supp, "--offline", "--dest", reviewer / "env")
    assert done.code == 0, done


def test_a_project_in_the_authors_home_missing_here_names_the_bundle_and_the_folder(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock whose package was installed from the author's ``~/labutil`` (``file://~/labutil``), rebuilt by a
    reviewer without ``--bundle``, said only ``source directory /home/you/labutil does not exist on this machine``:
    no word of what to do. The one line names the remedies: the bundle made of the lock, which holds the wheel built
    from it (``--bundle DIR``), or the project cloned or copied to that folder."""
    from testutil import sample_lock

    from envsnap.model import PythonPackage, Source

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    labutil = PythonPackage(name="labutil", version="0.1", source=Source(kind="directory", url="file://~/labutil"))
    lock = lockfile.dump(sample_lock(labutil), tmp_path / "paper.lock")
    result = cli("rebuild", lock, "--target", "venv", "--dest", tmp_path / "env", "--force")
    errors = [line for line in result.err.splitlines() if line.startswith("envsnap: error:")]
    assert result.code == 4 and len(errors) == 1, result
    assert f"source directory {home / 'labutil'} does not exist on this machine" in errors[0], errors
    assert errors[0].endswith(
        f"; a bundle of this lock holds the wheel built from it: rebuild with --bundle DIR, or clone or copy the "
        f"project to {home / 'labutil'}"
    ), errors
    assert "--project" not in errors[0]  # a folder in the author's home is not found by naming a project
    assert not (tmp_path / "env").exists()
    bundled = cli("bundle", lock, "-o", tmp_path / "b", "--offline")  # the author's side: no word of --project either
    assert bundled.code == 4 and "source directory" in bundled.err and "--project" not in bundled.err, bundled
    pinned = cli("pin", lock, "-o", tmp_path / "p.lock")  # pin said "(name the project with --project DIR)"
    said = pinned.out + pinned.err
    assert f"{home / 'labutil'} does not exist on this machine (clone or copy the project there)" in said, pinned
    assert "--project" not in said, pinned
