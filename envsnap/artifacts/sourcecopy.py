"""A local project's source, copied out of the user's folder before a wheel is built from it.

A build backend writes into the tree it builds (setuptools: ``build/`` and ``*.egg-info``), and the next build of
the same folder takes what an earlier one left there: a module deleted since stayed in ``build/lib`` and went into
the bundle's wheel, and the new ``build/`` folder made the project dirty for the next capture. So ``bundle`` and
``rebuild`` build a copy, and never write into the project.

What is copied is the project's source as the lock's ``[project]`` state describes it: in a git work tree, the
files git lists there (tracked, as they are in the work tree, and untracked ones that no ignore rule covers: ``git
ls-files --cached --others --exclude-standard``); outside one, the whole folder. Left out of both, unless git tracks
it, by the one rule the project state leaves untracked files out with (``gitstate.left_out``): what builds and
tools leave in a project (``__pycache__`` and ``*.egg-info`` anywhere; ``build``, ``dist``, ``.venv``, ``venv``
and tool caches at its top or beside a ``pyproject.toml``, ``setup.py`` or ``setup.cfg``), which a project that
ignores none of it has untracked in its work tree after one build; Python environments anywhere in it (a folder
holding ``pyvenv.cfg`` or ``conda-meta/``); what envsnap wrote there (``gitstate.envsnap_outputs``: a lock or run
record, a bundle archive, a file ``export`` wrote and nobody changed since, a bundle folder, whose wheels are
already fetched when the project is built); and ``.git``. Links are copied as links, as a build in place would
have seen them.

A version that a VCS plug-in reads from git (setuptools-scm, hatch-vcs) cannot be read in a copy without the
repository: the build is told the locked version instead (``SETUPTOOLS_SCM_PRETEND_VERSION_FOR_<NAME>``), which
is the version the wheel must have anyway (``bundle._check_built``)."""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from ..probes.gitstate import PROJECT_MARKERS, git, is_bundle_archive, is_bundle_folder, left_out, left_out_folder


def copy_project(tree: Path, dest: Path) -> Path:
    """Copy the project at ``tree`` into the new folder ``dest`` (see above); ``dest``."""
    listed = _git_files(tree)
    if listed is None or not any(name in listed for name in PROJECT_MARKERS):
        shutil.copytree(tree, dest, symlinks=True, ignore=_left_out(tree))
        return dest
    dest.mkdir()
    own = left_out(str(tree), {name for name, tracked in listed.items() if not tracked})
    for name, tracked in sorted(listed.items()):
        if not tracked and (name in own or _in_folders(name, own)):
            continue
        source = tree / name
        try:
            mode = source.lstat().st_mode
        except OSError:
            continue  # tracked but deleted in the work tree: the build in place would not have seen it either
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if stat.S_ISLNK(mode):
            os.symlink(os.readlink(source), target)
        elif stat.S_ISDIR(mode):  # a submodule's folder (git lists it as one entry): its files as they are
            shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        elif stat.S_ISREG(mode):  # a FIFO or a device is never opened
            shutil.copy2(source, target)
    return dest


def _git_files(tree: Path) -> dict[str, bool] | None:
    """The files git lists in ``tree``, by path relative to it, each with whether git tracks it; None where
    ``tree`` is in no work tree."""
    # -t: each name after its status tag, "? " for an untracked file.
    res = git(str(tree), "ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard")
    if not res.ok:
        return None
    names: dict[str, bool] = {}
    for entry in res.stdout.split("\0"):
        tag, _, name = entry.partition(" ")
        # git names files below the folder it ran in; a name that climbs out of it or is absolute is not copied.
        if name and not name.startswith("/") and ".." not in name.split("/"):
            names[name] = names.get(name, False) or tag != "?"
    return names


def _in_folders(name: str, folders: set[str]) -> bool:
    """Whether the relative path ``name`` lies in one of ``folders`` (relative paths too)."""
    parts = name.split("/")
    return any("/".join(parts[:i]) in folders for i in range(1, len(parts)))


def _left_out(top: Path) -> Callable[[str, list[str]], set[str]]:
    """``copytree``'s ignore: ``.git``, the folders ``gitstate.left_out_folder`` names, and envsnap bundle folders and
    archives (``is_bundle_folder``, ``is_bundle_archive``: a project in no work tree has no untracked files to tell
    them by)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        above = "".join(f"{part}/" for part in Path(folder).relative_to(top).parts)
        return {
            n
            for n in names
            if n == ".git"
            or (os.path.isdir(os.path.join(folder, n)) and left_out_folder(str(top), above + n))
            or is_bundle_folder(os.path.join(folder, n))
            or is_bundle_archive(os.path.join(folder, n))
        }

    return ignore


def pretend_version(name: str, version: str) -> dict[str, str]:
    """The variable that gives a VCS-versioned build of ``name`` its locked ``version`` in a copy without git
    (setuptools-scm's name for it: the name upper-cased, each run of ``-``, ``_`` and ``.`` one ``_``); {} without
    a version."""
    if not version:
        return {}
    return {"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_" + re.sub(r"[-_.]+", "_", name).upper(): version}
