"""gitstate.find_root: the work tree's root as git gives it, and no run of git where git could find none."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap.probes import gitstate

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _no_git_run(*args: object, **kwargs: object) -> object:
    raise AssertionError(f"git was run: {args}")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    if any(os.path.lexists(folder / ".git") for folder in (tmp_path, *tmp_path.parents)):
        pytest.skip("the temporary folder is itself inside a git work tree")
    return tmp_path


@pytest.fixture
def repo(outside: Path) -> Path:
    root = outside / "repo"
    (root / "src" / "pkg").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_outside_any_work_tree_git_is_not_run(outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in gitstate.LOCATION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(gitstate, "git", _no_git_run)
    assert not gitstate.below_git(str(outside))
    assert gitstate.find_root(str(outside)) is None


def test_inside_a_work_tree_git_gives_the_root(repo: Path) -> None:
    assert gitstate.below_git(str(repo / "src" / "pkg"))
    assert gitstate.find_root(str(repo / "src" / "pkg")) == os.path.realpath(repo)


def test_a_link_into_a_work_tree_is_followed_as_git_follows_it(repo: Path, outside: Path) -> None:
    link = outside / "elsewhere" / "link"
    link.parent.mkdir()
    link.symlink_to(repo / "src")  # no .git above the link's own path, one above where it leads
    assert gitstate.below_git(str(link / "pkg"))
    assert gitstate.find_root(str(link / "pkg")) == os.path.realpath(repo)


def test_a_linked_work_trees_git_file_counts(outside: Path) -> None:
    tree = outside / "tree"
    tree.mkdir()
    (tree / ".git").write_text("gitdir: /somewhere/else\n")
    assert gitstate.below_git(str(tree))


def test_a_variable_naming_the_repository_leaves_the_answer_to_git(
    repo: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = outside / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(repo))
    assert gitstate.find_root(str(plain)) == os.path.realpath(repo)


def test_the_state_leaves_the_users_index_alone(repo: Path) -> None:
    """A capture's ``git status`` takes no optional lock: it neither rewrites the index of a work tree whose files
    were touched nor holds ``.git/index.lock``, which a killed git leaves behind and which fails the user's own
    ``git commit`` while a capture runs beside it."""
    tracked = repo / "src" / "pkg" / "mod.py"
    tracked.write_text("x = 1\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    index = repo / ".git" / "index"
    before = index.stat().st_mtime_ns
    os.utime(tracked, ns=(before + 5 * 10**9, before + 5 * 10**9))  # the same content, a newer stat
    commit, _, dirty, _, _ = gitstate.state(str(repo))
    assert commit and not dirty
    assert index.stat().st_mtime_ns == before  # git status would have refreshed and rewritten it


def test_a_clone_of_a_folder_with_a_space_gives_a_lock_envsnap_reads(tmp_path: Path) -> None:
    """A clone of ``/tmp/my paper`` recorded ``remote_url = "/tmp/my paper"``, which the loader refuses (a remote
    holds no whitespace): capture wrote a lock that show, diff, verify and rerun then refused."""
    from testutil import sample_lock

    from envsnap import grammar, lockfile
    from envsnap.probes.project import probe_project

    origin = tmp_path / "my paper"
    origin.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "a",
        "GIT_AUTHOR_EMAIL": "a@b",
        "GIT_COMMITTER_NAME": "a",
        "GIT_COMMITTER_EMAIL": "a@b",
    }
    subprocess.run(["git", "init", "-q", str(origin)], check=True)
    (origin / "train.py").write_text("print(1)\n")
    subprocess.run(["git", "-C", str(origin), "add", "."], check=True)
    subprocess.run(["git", "-C", str(origin), "commit", "-qm", "paper"], check=True, env=env)
    subprocess.run(["git", "clone", "-q", str(origin), str(tmp_path / "clone")], check=True)
    found = probe_project(str(tmp_path / "clone"))
    assert found is not None and grammar.is_remote(found.remote_url), found
    assert found.remote_url == (origin.as_uri())
    text = lockfile.dumps(lockfile.seal(__import__("dataclasses").replace(sample_lock(), project=found)))
    assert lockfile.loads(text).project.remote_url == origin.as_uri()


def test_staging_a_change_is_no_change_of_the_working_tree(repo: Path, cli: Callable[..., Any]) -> None:
    """The digest of the uncommitted change read a new file through ``git diff HEAD`` once staged and through its
    content while untracked, and a staged ``git mv`` as a rename: ``git add`` of a new file between two captures made
    ``diff`` say ``working tree: uncommitted change A -> uncommitted change B`` of the same files. Staging changes
    no code: the two captures now record one digest, and ``diff`` finds no difference."""

    def git(*args: str) -> None:
        ident = ["-c", "user.email=a@example.org", "-c", "user.name=a"]
        subprocess.run(["git", *ident, "-C", str(repo), *args], check=True, capture_output=True)

    (repo / "src" / "pkg" / "a.py").write_text("A = 1\n")
    (repo / "src" / "pkg" / "b.py").write_text("B = 1\n")
    git("add", "-A")
    git("commit", "-qm", "one")
    (repo / "src" / "pkg" / "a.py").write_text("A = 2\n")  # a tracked file edited
    (repo / "notes.txt").write_text("new\n")  # a new file
    (repo / "src" / "pkg" / "b.py").rename(repo / "src" / "pkg" / "c.py")  # a file moved
    locks = []
    for step, staged in enumerate(((), ("add", "-A"))):
        if staged:
            git(*staged)
        lock = repo.parent / f"{step}.lock"
        assert cli("capture", "--project", str(repo), "-o", str(lock), "--python", sys.executable).code == 0
        locks.append(lock)
    result = cli("diff", *map(str, locks))
    assert result.code == 0, result.out


def test_a_virtual_environment_inside_the_project_is_no_change_of_its_code(
    repo: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m venv .venv`` in the project (Python before 3.13 writes no ``.gitignore`` in it) left every file of
    the environment untracked: the project read dirty right after a clean commit, and each ``pip install`` in it, or a
    byte-code file a run wrote there, changed the digest, so ``diff`` of two captures named the working tree changed
    where the code had not. A folder holding ``pyvenv.cfg`` (a venv, a tox or nox environment) or ``conda-meta/``
    is the environment, which the lock records as such, not the project's code: left out, as envsnap's own output is.
    """
    (repo / "src" / "pkg" / "a.py").write_text("A = 1\n")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    ident = ["-c", "user.email=a@example.org", "-c", "user.name=a"]
    subprocess.run(["git", *ident, "-C", str(repo), "commit", "-qm", "one"], check=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(repo / ".venv")], check=True)
    (repo / "envs" / "conda" / "conda-meta").mkdir(parents=True)
    (repo / "envs" / "conda" / "conda-meta" / "history").write_text("")
    monkeypatch.chdir(repo)
    python = repo / ".venv" / "bin" / "python"
    assert cli("capture", "-o", "one.lock", "--python", python).code == 0
    assert "dirty = false" in (repo / "one.lock").read_text()
    site = next((repo / ".venv" / "lib").glob("python3*/site-packages"))
    (site / "extra.py").write_text("E = 1\n")  # something installed or written in the environment
    assert cli("capture", "-o", "two.lock", "--python", python).code == 0
    assert cli("diff", "one.lock", "two.lock").code == 0
    (repo / "src" / "pkg" / "a.py").write_text("A = 2\n")  # the code: still a change
    assert cli("capture", "-o", "three.lock", "--python", python).code == 0
    assert "dirty = true" in (repo / "three.lock").read_text()


def test_a_change_of_a_tracked_file_in_a_build_folder_is_a_change(repo: Path) -> None:
    """An untracked file in ``build/`` is build output, left out; a file git tracks there is the project's."""
    (repo / "setup.py").write_text("")
    (repo / "build").mkdir()
    (repo / "build" / "gen.py").write_text("G = 1\n")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    ident = ["-c", "user.email=a@example.org", "-c", "user.name=a"]
    subprocess.run(["git", *ident, "-C", str(repo), "commit", "-qm", "one"], check=True)
    (repo / "build" / "stale.py").write_text("")
    (repo / "src" / "repo.egg-info").mkdir()
    (repo / "src" / "repo.egg-info" / "PKG-INFO").write_text("")
    assert gitstate.state(str(repo))[2] is False
    (repo / "build" / "gen.py").write_text("G = 2\n")
    assert gitstate.state(str(repo))[2] is True


def test_a_link_to_an_environment_elsewhere_is_no_change_of_the_code(repo: Path, outside: Path) -> None:
    """``ln -s /scratch/venvs/proj .venv`` (a home with a quota): git lists the link as one untracked file, which the
    rule for environments (a folder holding ``pyvenv.cfg``) never saw, so the project read dirty right after a
    clean commit, and the link went into the copy every build of the project starts from."""
    from envsnap.artifacts.sourcecopy import copy_project

    (repo / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0.1"\n')
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    ident = ["-c", "user.email=a@example.org", "-c", "user.name=a"]
    subprocess.run(["git", *ident, "-C", str(repo), "commit", "-qm", "one"], check=True)
    (outside / "scratch" / "env").mkdir(parents=True)
    (outside / "scratch" / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    os.symlink(outside / "scratch" / "env", repo / ".venv")
    os.symlink(outside / "scratch" / "env", repo / "env-link")
    (outside / "scratch" / "data").mkdir()
    os.symlink(outside / "scratch" / "data", repo / "data")  # a link to a folder of data: the project's
    assert gitstate.state(str(repo))[2] is True
    assert sorted(os.listdir(copy_project(repo, outside / "copy"))) == ["data", "pyproject.toml"]
    (repo / "data").unlink()
    assert gitstate.state(str(repo))[2] is False


def _committed(repo: Path, name: str, text: str) -> Path:
    path = repo / name
    path.write_text(text)
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    return path


def test_a_repositorys_fsmonitor_command_is_not_run(repo: Path, tmp_path: Path) -> None:
    """A repository unpacked from an archive (a paper's artifact with its ``.git``) carries its own config: git
    ran its ``core.fsmonitor`` command at every ``git status`` envsnap asked for (capture, run, rerun of a record
    lying there). The monitor is a cache of what changed, never the answer: envsnap asks git with it off."""
    _committed(repo, "train.py", "print(1)\n")
    ran = tmp_path / "fsmonitor-ran"
    subprocess.run(["git", "-C", str(repo), "config", "core.fsmonitor", f"touch {ran}; false"], check=True)
    commit, _, dirty, _, _ = gitstate.state(str(repo))
    assert gitstate.checkout(str(repo)) is not None
    assert commit and not dirty
    assert not ran.exists()


@pytest.mark.parametrize("transport", ["uploadpack", "ssh"])
def test_a_repository_set_up_as_a_partial_clone_fetches_nothing(repo: Path, tmp_path: Path, transport: str) -> None:
    """A repository unpacked from an archive can say it is a partial clone (``extensions.partialClone``): git then
    fetches an object it lacks from that "promisor" remote, and its config chose the command that fetch ran
    (``remote.NAME.uploadpack``, ``core.sshCommand``). A record's commit that is not in the clone made
    ``rerun --dry-run`` run it (``cat-file -e``, ``diff COMMIT HEAD``). envsnap's git reads only what is here."""
    _committed(repo, "train.py", "print(1)\n")
    ran = tmp_path / "fetch-ran"
    url = str(repo) if transport == "uploadpack" else "ssh://example.invalid/x"
    for key, value in [
        ("core.repositoryformatversion", "1"),
        ("extensions.partialClone", "origin"),
        ("remote.origin.promisor", "true"),
        ("remote.origin.url", url),
        ("remote.origin.uploadpack", f"touch {ran}; false"),
        ("core.sshCommand", f"touch {ran}; false"),
    ]:
        subprocess.run(["git", "-C", str(repo), "config", key, value], check=True)
    missing = "b" * 40
    assert not gitstate.has_commit(str(repo), missing)
    assert gitstate.changed_since(str(repo), missing) is None
    assert not ran.exists()
    assert gitstate.state(str(repo))[0]  # the clone's own state is still read


def test_the_digest_of_a_change_is_of_the_files_not_of_a_configured_text_conversion(repo: Path, tmp_path: Path) -> None:
    """A ``textconv`` driver (a notebook's, in the user's or the repository's config) made ``git diff`` print its
    output instead of the change: the digest of the same change differed with each machine's config (a rerun
    elsewhere said the code differs), and a repository's config ran its command. The diff is git's own."""
    tracked = _committed(repo, "nb.ipynb", "{}\n")
    (repo / ".gitattributes").write_text("*.ipynb diff=nb\n")
    _committed(repo, ".gitattributes", "*.ipynb diff=nb\n")
    tracked.write_text('{"cells": []}\n')
    plain = gitstate.state(str(repo))
    ran = tmp_path / "textconv-ran"
    subprocess.run(
        ["git", "-C", str(repo), "config", "diff.nb.textconv", f"sh -c 'touch {ran}; echo converted'"], check=True
    )
    converted = gitstate.state(str(repo))
    assert plain[2] and converted[2]
    assert converted[3] == plain[3]  # the diff digest
    assert not ran.exists()


def test_state_as_of_names_what_changed_since_a_start_moves_and_removals_included(outside: Path) -> None:
    # envsnap run reads the state while its command runs: each path git reports that was written after the
    # command started is named (a staged move by both its names, a removed file by its folder's times); one
    # last written before is not.
    import time

    from envsnap.runs.recorder import file_clock_ns

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(outside), "-c", "user.name=a", "-c", "user.email=a@b", *args], check=True)

    for name in ("a.txt", "b.txt", "old.txt"):
        (outside / name).write_text(name)
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "a")
    (outside / "old.txt").write_text("changed before")
    past = time.time() - 10
    os.utime(outside / "old.txt", (past, past))
    time.sleep(0.05)  # past the coarse clock's tick
    since = file_clock_ns()
    git("mv", "a.txt", "c.txt")
    (outside / "b.txt").unlink()
    (outside / "new.txt").write_text("new")
    found, written = gitstate.state_as_of(str(outside), [], since)
    assert found == gitstate.state(str(outside)) and found[2]
    assert written == ["a.txt", "b.txt", "c.txt", "new.txt"]
    assert gitstate.state_as_of(str(outside), [], file_clock_ns() + 10**9)[1] == []
