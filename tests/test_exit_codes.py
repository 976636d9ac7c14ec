"""One meaning per exit code across commands (docs/cli.md's table): every argument problem is a UsageError,
exit 2; a failed check or a verify mismatch 3; warnings with --strict 1; a failed build or bundle 4."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap import lockfile
from envsnap.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INCOMPATIBLE, EXIT_OK, EXIT_WARNINGS
from envsnap.errors import BundleError, EnvsnapError, RebuildError, UsageError
from envsnap.model import Conda, CondaPackage, PythonEnv, Snapshot
from envsnap.probes.conda import current_subdir
from envsnap.rebuild.venv import interpreter_version

Cli = Callable[..., Any]


def _python_lock() -> Snapshot:
    found = interpreter_version(sys.executable)
    assert found is not None
    return Snapshot(python=PythonEnv(implementation=found[1], version=found[0]))


def _conda_lock() -> Snapshot:
    pkg = CondaPackage(
        "libhello",
        "1.0.0",
        "h0_0",
        channel="https://conda.example.org/demo",
        subdir=current_subdir(),
        url="https://conda.example.org/demo/" + current_subdir() + "/libhello-1.0.0-h0_0.conda",
        sha256="1" * 64,
    )
    return Snapshot(conda=Conda(subdir=current_subdir(), packages=(pkg,)))


def _one_line(result: Any) -> bool:
    return result.err.count("\n") == 1 and result.err.startswith("envsnap: error: ")


def test_the_codes_mean_one_thing() -> None:
    assert (EXIT_OK, EXIT_WARNINGS, EXIT_BAD_INPUT, EXIT_INCOMPATIBLE, EXIT_FAILED) == (0, 1, 2, 3, 4)
    assert UsageError.exit_code == EnvsnapError.exit_code == EXIT_BAD_INPUT
    assert RebuildError.exit_code == BundleError.exit_code == EXIT_FAILED
    # The argument errors of each area are usage errors too, whatever area they belong to.
    from envsnap.artifacts.bundle import BundleOutputError
    from envsnap.rebuild import UnknownTargetError
    from envsnap.rebuild.interface import BadOptionError

    for cls in (BundleOutputError, UnknownTargetError, BadOptionError):
        assert issubclass(cls, UsageError) and cls.exit_code == EXIT_BAD_INPUT


def test_conda_argument_problems_are_usage_errors(tmp_path: Path, cli: Cli) -> None:
    lock = lockfile.dump(_conda_lock(), tmp_path / "c.lock")
    offline = cli("rebuild", lock, "--target", "conda", "--prefix", tmp_path / "p", "--offline", "--force", "--dry-run")
    assert offline.code == 2 and "--offline needs --bundle" in offline.err and _one_line(offline), offline
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep").write_text("mine")
    full = cli("rebuild", lock, "--target", "conda", "--prefix", tmp_path / "full", "--force", "--dry-run")
    assert full.code == 2 and "already exists and is not empty" in full.err and _one_line(full), full
    assert (tmp_path / "full" / "keep").read_text() == "mine"
    engine = cli(
        "rebuild",
        lock,
        "--target",
        "conda",
        "--prefix",
        tmp_path / "p",
        "--option",
        "engine=pip",
        "--force",
        "--dry-run",
    )
    assert engine.code == 2 and "--engine pip: unknown" in engine.err and _one_line(engine), engine


@pytest.mark.parametrize("more", [[], ["--dry-run"], ["--dry-run", "--json"], ["--force"]])
def test_a_lock_without_conda_packages_is_bad_input_for_the_conda_target_before_any_work(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch, more: list[str]
) -> None:
    """A pip environment's lock rebuilt with --target conda: one line naming what is missing and the target to use,
    exit 2, before the host is checked or anything is made (it was exit 4, "work failed", after the check)."""
    import envsnap.rebuild

    def no_check(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the compatibility check ran for a lock the conda target cannot rebuild")

    monkeypatch.setattr(envsnap.rebuild, "check_host", no_check)
    monkeypatch.chdir(tmp_path)
    lock = lockfile.dump(_python_lock(), tmp_path / "pip.lock")
    result = cli("rebuild", "pip.lock", "--target", "conda", "--prefix", tmp_path / "p", *more)
    assert result.code == EXIT_BAD_INPUT, result
    assert result.err.splitlines() == [
        "envsnap: error: pip.lock: the lock records no conda packages, which --target conda installs "
        "(rebuild it with --target venv or --target docker)"
    ]
    assert result.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [lock.name]  # no prefix, no staging folder beside it


@pytest.mark.parametrize("name", ["out.tar.gz", "out.tgz", "out.tar"])
@pytest.mark.parametrize("holding", [False, True])
def test_bundle_to_an_archive_path_that_is_a_folder_is_refused_before_anything_is_fetched(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch, name: str, holding: bool
) -> None:
    """``-o out.tar.gz`` naming an existing folder: one line, exit 2, before a wheel is fetched or anything written
    (every wheel was fetched first, then the archive's rename failed, naming a temporary file)."""
    from envsnap.artifacts import bundle
    from envsnap.model import Artifact, PythonPackage

    def no_fetch(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the bundle began fetching for an -o it cannot write")

    monkeypatch.setattr(bundle, "_fill", no_fetch)
    monkeypatch.chdir(tmp_path)
    wheel = Artifact(
        filename="a-1.0-py3-none-any.whl", url="https://files.example/a-1.0-py3-none-any.whl", sha256="1" * 64
    )
    lock = _python_lock()
    lock = dataclasses.replace(
        lock, python=dataclasses.replace(lock.python, packages=(PythonPackage("a", "1.0", artifact=wheel),))
    )
    lockfile.dump(lock, tmp_path / "l.lock")
    (tmp_path / name).mkdir()
    if holding:
        (tmp_path / name / "notes.txt").write_text("mine")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = cli("bundle", "l.lock", "-o", name)
    assert result.code == EXIT_BAD_INPUT, result
    assert result.err.splitlines() == [
        f"envsnap: error: {name}: exists and is a directory, not an archive (name a new archive file, or the "
        "folder without its archive suffix for a directory bundle)"
    ]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    # The refusal of an existing file for a directory bundle (8bba537) is made at the same place: before any fetch.
    (tmp_path / "b").write_text("mine")
    result = cli("bundle", "l.lock", "-o", "b")
    assert result.code == EXIT_BAD_INPUT and result.err.splitlines() == [
        "envsnap: error: b: exists and is not a directory (name a directory or a .tar.gz)"
    ]
    assert (tmp_path / "b").read_text() == "mine"


def _no_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import envsnap.rebuild

    def no_check(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the compatibility check ran for a rebuild refused before any work")

    monkeypatch.setattr(envsnap.rebuild, "check_host", no_check)


@pytest.mark.parametrize("more", [[], ["--dry-run"], ["--dry-run", "--json"], ["--force"]])
def test_a_conda_lock_of_another_platform_is_incompatible_before_any_work(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch, more: list[str]
) -> None:
    """A linux-64 lock rebuilt with --target conda on another platform: this host cannot run it, exit 3, one line,
    before the check or anything is made (it was exit 4, "the work failed", after the whole check, which said
    nothing of the conda platform). --force overrides a check, not the platform conda installs for."""
    import envsnap.probes.conda

    lock = dataclasses.replace(_conda_lock(), conda=Conda(subdir="linux-64", packages=_conda_lock().conda.packages))
    monkeypatch.setattr(envsnap.probes.conda, "current_subdir", lambda *_a: "osx-arm64")
    _no_check(monkeypatch)
    monkeypatch.chdir(tmp_path)
    lockfile.dump(lock, tmp_path / "linux.lock")
    result = cli("rebuild", "linux.lock", "--target", "conda", "--prefix", "p", *more)
    assert (result.code, result.out, result.err) == (
        EXIT_INCOMPATIBLE,
        "",
        "envsnap: error: linux.lock: the lock's conda packages are for linux-64 and this host is osx-arm64: "
        "conda cannot install them here (rebuild it on a linux-64 host)\n",
    ), result
    assert sorted(p.name for p in tmp_path.iterdir()) == ["linux.lock"]


def test_check_says_a_conda_lock_of_another_platform_cannot_run_here(tmp_path: Path, cli: Cli) -> None:
    """The check passed (exit 0, a warning that the lock records no OS or machine) what rebuild --target conda
    refuses with exit 3: conda packages of another platform."""
    foreign = "osx-arm64" if current_subdir() != "osx-arm64" else "linux-64"
    lock = _conda_lock()
    assert lock.conda is not None
    lock = dataclasses.replace(lock, conda=Conda(subdir=foreign, packages=lock.conda.packages))
    lockfile.dump(lock, tmp_path / "c.lock")
    result = cli("check", str(tmp_path / "c.lock"), "--target", "conda", "--json")
    assert result.code == EXIT_INCOMPATIBLE, result
    failed = [f for f in json.loads(result.out)["findings"] if f["severity"] == "fail"]
    assert [(f["component"], f["needed"], f["found"]) for f in failed] == [
        ("conda platform", foreign, current_subdir())
    ], failed


@pytest.mark.parametrize("more", [[], ["--dry-run"], ["--force"]])
def test_an_engine_not_on_path_is_bad_input_before_any_work(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch, more: list[str]
) -> None:
    """--engine micromamba with no micromamba on PATH: the option names a tool that is not there, exit 2, before the
    check (it was exit 4, "the work failed", after the whole check)."""
    _no_check(monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    lockfile.dump(_conda_lock(), tmp_path / "c.lock")
    for given in (["--engine", "micromamba"], ["--option", "engine=micromamba"]):
        result = cli("rebuild", "c.lock", "--target", "conda", "--prefix", "p", *given, *more)
        assert (result.code, result.out, result.err) == (
            EXIT_BAD_INPUT,
            "",
            "envsnap: error: --engine micromamba: no micromamba executable on PATH\n",
        ), result
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "c.lock"]


def test_a_docker_dest_that_is_not_a_build_context_is_a_usage_error(tmp_path: Path, cli: Cli) -> None:
    from envsnap.rebuild.docker import _check_context_dest

    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not an envsnap build context"):
        _check_context_dest(tmp_path / "ctx")
    assert (tmp_path / "ctx" / "notes.txt").read_text() == "mine"


def test_only_a_build_context_envsnap_wrote_is_replaced_at_a_docker_dest(tmp_path: Path) -> None:
    """Any folder with a file named Dockerfile was taken for an earlier build context and replaced whole: a
    project's checkout lost its .git and its sources, an earlier context the files the user had added."""
    from envsnap.rebuild.docker import _check_context_dest

    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    (project / "src").mkdir()
    (project / "Dockerfile").write_text("FROM python:3.11\n")
    with pytest.raises(UsageError, match=r"not an envsnap build context \(it holds \.git, src\)"):
        _check_context_dest(project)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "Dockerfile").write_text("FROM python:3.11\n")
    (notes / "envsnap.lock").write_text("my notes")
    with pytest.raises(UsageError, match="its Dockerfile is not envsnap's"):
        _check_context_dest(notes)
    earlier = tmp_path / "ctx"
    for sub in ("wheels", "tool"):
        (earlier / sub).mkdir(parents=True)
    (earlier / "Dockerfile").write_text("# Generated by envsnap 0.1.0 from a lock with content digest sha256:00.\n")
    (earlier / "envsnap.lock").write_text("")
    (earlier / "requirements.txt").write_text("")
    _check_context_dest(earlier)  # envsnap's own: replaced by the new one
    (earlier / "mynotes.txt").write_text("mine")
    with pytest.raises(UsageError, match=r"it holds mynotes\.txt"):
        _check_context_dest(earlier)
    assert (project / ".git").is_dir() and (earlier / "mynotes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "args",
    [
        ["--tag", ""],  # `--tag "$TAG"` with $TAG unset: the default name was built and tagged
        ["--option", "tag="],
        ["--option", "network="],
        ["--option", "network=bogus; rm -rf /"],  # taken and shown in the plan; failed only at the build, exit 4
    ],
)
def test_an_empty_tag_or_a_network_that_names_none_is_a_usage_error(tmp_path: Path, cli: Cli, args: list[str]) -> None:
    lock = lockfile.dump(_python_lock(), tmp_path / "l.lock")
    result = cli("rebuild", lock, "--target", "docker", "--dest", tmp_path / "ctx", "--dry-run", *args)
    assert result.code == 2 and _one_line(result), result
    assert not (tmp_path / "ctx").exists()


def test_a_rebuild_python_that_is_not_an_interpreter_is_a_usage_error(tmp_path: Path, cli: Cli) -> None:
    lock = lockfile.dump(_python_lock(), tmp_path / "l.lock")
    (tmp_path / "notpython").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "notpython").chmod(0o755)
    result = cli(
        "rebuild", lock, "--python", tmp_path / "notpython", "--dest", tmp_path / "env", "--force", "--dry-run"
    )
    assert result.code == 2 and "not a working Python interpreter" in result.err and _one_line(result), result


@pytest.mark.parametrize("target", ["venv", "conda", "docker"])
def test_a_rebuild_dest_that_cannot_be_made_is_a_usage_error(tmp_path: Path, cli: Cli, target: str) -> None:
    """``--dest /proc/nope`` read "compatibility check failed: disk space: 0 MiB free at /proc/nope", exit 3;
    a file on the way to the destination is no folder either. Nothing is left where it was tried."""
    lock = lockfile.dump(_python_lock(), tmp_path / "l.lock")
    (tmp_path / "file").write_text("mine")
    for dest in ("/proc/envsnap-nope/env", tmp_path / "file" / "env", tmp_path / "file"):
        for dry in ((), ("--dry-run",)):
            result = cli("rebuild", lock, "--target", target, "--dest", dest, *dry)
            assert result.code == 2 and "cannot create it" in result.err and _one_line(result), (dest, result)
    assert (tmp_path / "file").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == [
        "file",
        "l.lock",
    ]


def test_a_dest_in_a_folder_no_folder_can_be_made_in_says_so(tmp_path: Path, cli: Cli) -> None:
    """``--dest /proc/x`` said "cannot create it (/proc: No such file or directory)", of a /proc that is there: the
    kernel's answer to a mkdir in it. It says no folder can be made in /proc."""
    lock = lockfile.dump(_python_lock(), tmp_path / "l.lock")
    result = cli("rebuild", lock, "--dest", "/proc/x", "--dry-run")
    assert result.code == 2 and _one_line(result), result
    assert "No such file or directory" not in result.err, result
    assert "--dest /proc/x: cannot create it (/proc: no folder can be made in it)" in result.err, result


def test_bundle_base_image_without_what_it_applies_to_is_a_usage_error(tmp_path: Path, cli: Cli) -> None:
    """``--base-image`` alone was ignored, exit 0: it names the base for --with-base-image or --with-system-packages."""
    lock = lockfile.dump(_python_lock(), tmp_path / "l.lock")
    result = cli("bundle", lock, "-o", tmp_path / "b", "--base-image", "python:3.11-slim", "--offline")
    assert result.code == 2 and _one_line(result), result
    assert "--base-image applies with --with-base-image or --with-system-packages: add one" in result.err, result
    assert not (tmp_path / "b").exists()


def test_capture_and_clean_argument_problems_are_usage_errors(tmp_path: Path, cli: Cli) -> None:
    both = cli("capture", "-o", "-", "--json")
    assert both.code == 2 and _one_line(both), both
    (tmp_path / "f").write_text("")
    clean = cli("clean", tmp_path / "f", "--dry-run")
    assert clean.code == 2 and "not a directory" in clean.err, clean


def test_verify_mismatch_is_3_and_strict_warnings_1_as_for_check() -> None:
    from envsnap.cli import verify
    from envsnap.compare.verify import MISMATCH, WARNING, Difference, VerifyReport

    mismatch = VerifyReport("", "", 1, differences=(Difference(MISMATCH, "python", "a", "missing", "1.0"),))
    warning = VerifyReport("", "", 1, differences=(Difference(WARNING, "system", "libc", "version", "2.36", "2.31"),))
    assert verify.exit_code(mismatch) == EXIT_INCOMPATIBLE  # was 1
    assert verify.exit_code(warning, strict=True) == EXIT_WARNINGS  # was 3
    assert verify.exit_code(warning) == EXIT_OK


def test_rebuild_exits_with_verify_code_for_a_mismatch() -> None:
    from envsnap.cli import rebuild, verify

    assert rebuild.exit_code is verify.exit_code  # one rule: a rebuilt environment that differs is 3, not 1


def test_a_bundle_path_that_names_nothing_is_a_usage_error(tmp_path: Path, cli: Cli) -> None:
    lock = lockfile.dump(_python_lock(), tmp_path / "l.lock")
    result = cli("rebuild", lock, "--bundle", tmp_path / "missing", "--dest", tmp_path / "env", "--force")
    assert result.code == 2 and "no such bundle" in result.err and _one_line(result), result  # was 4


def test_an_apt_snapshot_for_a_lock_it_cannot_apply_to_is_a_usage_error() -> None:
    from envsnap.dockerfile.apt import snapshot_sources

    with pytest.raises(UsageError, match="no snapshot mirror is known for fedora"):  # was a RebuildError, 4
        snapshot_sources("fedora", "", "2025-05-20")
    with pytest.raises(UsageError, match="release name of debian is unknown"):
        snapshot_sources("debian", "", "2025-05-20")


# Every argument problem of every command, as a user makes it: exit 2, one line, no traceback, nothing written.
# "{lock}" is a valid lock, "{dir}" an empty scratch folder, "{full}" a folder with a file in it, "{text}" a
# file that is no lock, "{gone}" a path that does not exist.
BAD_ARGUMENTS: list[tuple[str, ...]] = [
    ("--bogus",),
    ("nosuchcommand",),
    ("capture", "--bogus"),
    ("capture", "-o", "{gone}/x/y.lock", "--python", "{gone}"),
    ("capture", "--prefix", "{dir}", "-o", "{dir}/out.lock"),
    ("capture", "--project", "{dir}", "-o", "{dir}/out.lock"),
    ("capture", "-o", "-", "--json"),
    ("capture", "--deep-timeout", "0", "-o", "{dir}/out.lock"),
    ("capture", "--deep-timeout", "soon", "-o", "{dir}/out.lock"),
    ("capture", "--gpu-timeout", "-1", "-o", "{dir}/out.lock"),
    ("capture", "--gpu-timeout", "86401", "-o", "{dir}/out.lock"),
    ("capture", "--gpu-timeout", "nan", "-o", "{dir}/out.lock"),
    ("show",),
    ("show", "{gone}"),
    ("show", "{dir}"),
    ("show", "{text}"),
    ("check", "{gone}"),
    ("check", "{text}"),
    ("check", "{lock}", "--target", "bogus"),
    ("check", "{lock}", "--python", "{gone}"),
    ("check", "{lock}", "--python", "{text}"),
    ("check", "{lock}", "--gpu-timeout", "0"),
    ("check", "{lock}", "--gpu-timeout", "soon"),
    ("check", "{lock}", "--gpu-timeout", "inf"),
    ("verify", "{gone}"),
    ("verify", "{lock}", "--python", "{gone}"),
    ("diff", "{lock}"),
    ("diff", "{lock}", "{gone}"),
    ("diff", "{text}", "{lock}"),
    ("export", "{lock}", "--format", "bogus"),
    ("export", "{gone}", "--format", "requirements"),
    ("export", "{lock}", "--format", "requirements", "-o", "{full}/f/x.txt"),
    ("import", "{gone}"),
    ("import", "{text}", "--from", "bogus"),
    ("import", "{text}", "-o", "{dir}/out.lock"),
    ("pin", "{gone}"),
    ("pin", "{text}"),
    ("bundle", "{lock}"),
    ("bundle", "{gone}", "-o", "{dir}/b"),
    ("bundle", "{lock}", "-o", "{full}"),
    ("bundle", "{lock}", "-o", "{text}"),  # an existing file: was exit 4, a bundle that could not be made
    ("audit", "{gone}"),
    ("audit", "{lock}", "--badge", "bogus"),
    ("audit", "{text}"),
    ("rebuild", "{gone}"),
    ("rebuild", "{lock}", "--target", "nope"),
    ("rebuild", "{lock}", "--option", "foo=bar", "--dry-run"),
    ("rebuild", "{lock}", "--option", "noequals", "--dry-run"),
    ("rebuild", "{lock}", "--offline", "--dry-run"),
    ("rebuild", "{lock}", "--target", "docker", "--offline", "--dry-run"),
    ("rebuild", "{lock}", "--target", "docker", "--offline", "--dry-run", "--force"),
    ("rebuild", "{lock}", "--engine", "mamba", "--dry-run"),
    ("rebuild", "{lock}", "--tag", "x:y", "--dry-run"),
    ("rebuild", "{lock}", "--target", "docker", "--tag", "Not A Tag", "--dry-run"),
    ("rebuild", "{lock}", "--bundle", "{gone}", "--dry-run"),
    ("rebuild", "{lock}", "--bundle", "{text}", "--dry-run"),
    ("rebuild", "{lock}", "--dest", "{full}", "--dry-run"),
    ("rebuild", "{lock}", "--bundle", "{dir}", "--dest", "{dir}/env", "--dry-run"),  # inside the bundle
    ("rebuild", "{lock}", "--python", "{gone}", "--dry-run"),
    ("rebuild", "{lock}", "--target", "conda", "--engine", "bogus", "--dry-run"),
    ("fleet",),
    ("fleet", "bogus"),
    ("fleet", "check", "{lock}", "--nodes", "0"),
    ("fleet", "check", "{lock}", "--nodes", "two"),
    ("fleet", "check", "{lock}", "--timeout", "-1"),
    ("fleet", "check", "{lock}", "--gpu-timeout", "0"),
    ("fleet", "node", "{lock}", "--gpu-timeout", "nan"),
    ("fleet", "check", "{lock}", "--nodes", "2", "-w", "node1"),
    ("fleet", "check", "{gone}"),
    ("fleet", "node", "{gone}"),
    ("fleet", "capture", "-o", "{gone}/x/fleet.toml", "--timeout", "0"),
    ("fleet", "diff", "{gone}", "{gone}"),
    ("fleet", "diff", "{lock}", "{lock}"),
    ("run",),
    ("run", "--lock", "{gone}", "--", "true"),
    ("run", "--data", "{gone}", "-o", "{dir}/RUN.toml", "--", "true"),
    ("rerun", "{gone}"),
    ("rerun", "{lock}"),
    ("rerun", "{text}"),
    ("clean", "--bogus"),
    ("clean", "{gone}"),
]


@pytest.mark.parametrize("args", BAD_ARGUMENTS, ids=[" ".join(a) for a in BAD_ARGUMENTS])
def test_every_argument_problem_of_every_command_is_one_line_and_exit_2(
    tmp_path: Path, cli: Cli, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    lock = lockfile.dump(_python_lock(), tmp_path / "l.lock")
    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("mine\n")
    (tmp_path / "text.txt").write_text("hello = [\n")
    names = {
        "lock": str(lock),
        "dir": str(tmp_path / "empty"),
        "full": str(tmp_path / "full"),
        "text": str(tmp_path / "text.txt"),
        "gone": str(tmp_path / "gone"),
    }
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = cli(*(a.format(**names) for a in args))
    assert result.code == EXIT_BAD_INPUT, result
    assert _one_line(result) and "Traceback" not in result.err, result
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


def test_an_export_or_import_whose_extra_is_missing_is_exit_4_after_what_the_lock_lacks(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """export -f conda-lock without PyYAML exited 4 with a remedy naming no extra, the cyclonedx export and the
    conda-lock import 2; and a lock without conda packages was told about PyYAML before it was refused."""
    import builtins

    real_import = builtins.__import__

    def without_extras(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.partition(".")[0] in ("yaml", "conda_lock", "cyclonedx"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    python_only = lockfile.dump(_python_lock(), tmp_path / "env.lock")
    conda_lock = tmp_path / "conda-lock.yml"
    conda_lock.write_text("version: 1\nmetadata: {}\npackage: []\n")
    monkeypatch.setattr(builtins, "__import__", without_extras)
    refused = cli("export", python_only, "-f", "conda-lock", "-o", tmp_path / "out.yml")
    assert refused.code == EXIT_BAD_INPUT and "conda" in refused.err and "pip install" not in refused.err, refused
    for args, extra in (
        (("export", python_only, "-f", "cyclonedx", "-o", tmp_path / "sbom.json"), "sbom"),
        (("import", conda_lock, "--from", "conda-lock", "-o", tmp_path / "imported.lock"), "conda-lock"),
    ):
        result = cli(*args)
        assert result.code == EXIT_FAILED and _one_line(result), result
        assert f"pip install 'envsnap-lock[{extra}]'" in result.err, result
    assert not list(tmp_path.glob("out.yml")) and not list(tmp_path.glob("sbom.json"))


@pytest.mark.parametrize(
    "args",
    [
        ("pin", "{lock}", "--project", "{folder}"),
        ("bundle", "{lock}", "-o", "{out}", "--project", "{folder}"),
        ("rebuild", "{lock}", "--dest", "{out}", "--dry-run", "--force", "--project", "{folder}"),
    ],
    ids=["pin", "bundle", "rebuild"],
)
def test_a_project_option_naming_no_project_folder_is_exit_2(
    tmp_path: Path, cli: Cli, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--project`` naming a folder that holds no project: pin reported it as the project bundle would build
    (exit 0), bundle and rebuild exited 4 saying "name it with --project DIR", which the user had done."""
    from envsnap.model import PythonPackage, Source

    monkeypatch.chdir(tmp_path)
    paper = PythonPackage(name="paper", version="0.1", source=Source(kind="directory", url="file://{project}"))
    base = _python_lock()
    lock = lockfile.dump(
        dataclasses.replace(base, python=dataclasses.replace(base.python, packages=(paper,))), tmp_path / "l.lock"
    )
    folder = tmp_path / "wheels"
    folder.mkdir()
    before = lock.read_bytes()
    names = {"lock": str(lock), "folder": str(folder), "out": str(tmp_path / "out")}
    result = cli(*(a.format(**names) for a in args))
    assert result.code == EXIT_BAD_INPUT and _one_line(result), result
    assert f"--project {folder}: {folder} is no project folder" in result.err and "name it with" not in result.err
    assert lock.read_bytes() == before and not (tmp_path / "out").exists()


def test_a_dependency_missing_from_the_install_is_one_line_and_exit_4(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An install without one of envsnap's dependencies (pip --no-deps, one removed since): bundle printed
    urllib3's ModuleNotFoundError traceback. A missing module of envsnap's own is a bug and keeps its traceback."""
    path = lockfile.dump(_python_lock(), tmp_path / "env.lock")
    from envsnap import cli as cli_module

    def missing(name: str) -> Any:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(cli_module, "build_parser", lambda *a, **k: missing("urllib3"))
    result = cli("show", path)
    assert result.code == EXIT_FAILED
    assert result.err.strip().splitlines() == [
        "envsnap: error: urllib3, which envsnap needs, is not installed "
        f"({shlex.quote(sys.executable)} -m pip install 'envsnap-lock' installs it)"
    ]
    # A module only an extra brings: the remedy names the extra (a plain install does not bring PyYAML).
    monkeypatch.setattr(cli_module, "build_parser", lambda *a, **k: missing("yaml"))
    result = cli("show", path)
    assert result.code == EXIT_FAILED
    assert f"({shlex.quote(sys.executable)} -m pip install 'envsnap-lock[artifact]' installs it)" in result.err, result
    monkeypatch.setattr(cli_module, "build_parser", lambda *a, **k: missing("envsnap.gone"))
    with pytest.raises(ModuleNotFoundError):
        cli("show", path)


def test_a_new_bundle_whose_later_step_fails_is_removed(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bundle --with-system-packages`` whose .deb files could not be pinned exited 4 and left a complete-looking
    bundle (lock, wheels, README, SHA256SUMS), which rebuilt; a bundle that was there before is kept."""
    import envsnap.rebuild.docker as docker_target
    from envsnap.errors import BundleError

    def failing(*_args: object, **_kwargs: object) -> object:
        raise BundleError("--with-system-packages: 2 system packages have no pinned .deb")

    # The check before the bundle is touched passes (every package pinned); the step that fetches the .deb files
    # fails later, as a download cut off or a mirror that lost a file does.
    monkeypatch.setattr(docker_target, "check_system_packages", lambda *_args, **_kwargs: None)
    monkeypatch.setattr(docker_target, "add_system_packages", failing)
    lock = lockfile.dump(_python_lock(), tmp_path / "l.lock")
    result = cli("bundle", lock, "-o", tmp_path / "b", "--with-system-packages", "--offline")
    assert result.code == 4 and "no pinned .deb" in result.err, result
    assert not (tmp_path / "b").exists()
    monkeypatch.undo()
    assert cli("bundle", lock, "-o", tmp_path / "b", "--offline").code == 0
    monkeypatch.setattr(docker_target, "check_system_packages", lambda *_args, **_kwargs: None)
    monkeypatch.setattr(docker_target, "add_system_packages", failing)
    assert cli("bundle", lock, "-o", tmp_path / "b", "--with-system-packages", "--offline").code == 4
    assert (tmp_path / "b" / "envsnap.lock").is_file()  # the earlier bundle is the user's: left as it was


def _with_stdout_closed(*args: object, stderr_too: bool = False) -> subprocess.CompletedProcess[bytes]:
    """``envsnap ARGS | true``: standard output (and with ``stderr_too`` standard error, as ``2>&1 | head``) is a
    pipe whose reader has gone before envsnap writes."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "envsnap", *map(str, args)],
            stdout=write,
            stderr=write if stderr_too else subprocess.PIPE,
            check=False,
            timeout=120,
        )
    finally:
        os.close(write)


def test_a_reader_that_stops_reading_leaves_the_exit_status_as_it_was(tmp_path: Path) -> None:
    """``envsnap diff A B --json | head -c1`` under ``set -o pipefail``: the closed pipe turned every status into
    0, so a CI gate passed on locks that differ (1), a verify mismatch or an incompatible host (3)."""
    from testutil import sample_lock, sample_platform

    from envsnap.model import PythonPackage

    a = lockfile.dump(sample_lock(PythonPackage(name="six", version="1.16.0")), tmp_path / "a.lock")
    b = lockfile.dump(sample_lock(PythonPackage(name="six", version="1.17.0")), tmp_path / "b.lock")
    for args in (("diff", a, b, "--json"), ("diff", a, b)):
        done = _with_stdout_closed(*args)
        assert (done.returncode, done.stderr) == (EXIT_WARNINGS, b""), done
    same = _with_stdout_closed("diff", a, a, "--json")
    assert (same.returncode, same.stderr) == (EXIT_OK, b""), same
    # The line naming the environment goes to standard error under --json: a closed one does not end it either.
    incompatible = lockfile.dump(
        sample_lock(platform=dataclasses.replace(sample_platform(), machine="no-such-machine")), tmp_path / "c.lock"
    )
    done = _with_stdout_closed("check", incompatible, "--json", "--python", sys.executable, stderr_too=True)
    assert done.returncode == EXIT_INCOMPATIBLE, done
    table = _with_stdout_closed("show", a)  # rich's table, written first: rich's own handler exited 1
    assert (table.returncode, table.stderr) == (EXIT_OK, b""), table
    gone = _with_stdout_closed("diff", a, tmp_path / "gone.lock", "--json", stderr_too=True)
    assert gone.returncode == EXIT_BAD_INPUT, gone  # was 1: the error line's own broken pipe, uncaught


def test_verify_exit_3_is_any_mismatch_the_conda_layer_s_too_as_its_docs_say() -> None:
    """A conda record that differs (another version of libhello) is a mismatch: the environment is not the locked
    one, and verify exits 3, as CI needs it to. docs/cli.md and ``verify --help`` said exit 3 meant "the Python
    layer differs" and 0 "the Python layer is identical", so a conda-only drift read as a bug or went unchecked."""
    import re

    from envsnap.cli import verify
    from envsnap.compare.verify import MISMATCH, Difference, VerifyReport

    conda_only = VerifyReport(
        "", "", 1, differences=(Difference(MISMATCH, "conda", "libhello", "version", "1.0.0", "1.0.1"),)
    )
    assert verify.exit_code(conda_only) == EXIT_INCOMPATIBLE
    docs = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    section = docs.split("## `envsnap verify`", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (\d) \| (.*) \|$", section, re.MULTILINE))
    assert rows["0"] == (
        "the environment is the locked one: no `mismatch` in its Python layer, nor in its conda layer for a lock "
        "with a `[conda]` table (warnings and info may remain)"
    )
    assert rows["3"] == (
        "the environment differs from the lock: at least one `mismatch`, in the Python layer or the conda layer "
        "(the verdict line names which)"
    )
    table = dict(re.findall(r"^\| (\d) \| (.*) \|$", docs.split("## Exit codes", 1)[1].split("\n## ", 1)[0], re.M))
    assert "found a `mismatch` (the Python or the conda layer differs from the lock)" in table["3"]
    result = subprocess.run(
        [sys.executable, "-m", "envsnap", "verify", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "1000"},
    )
    assert "Exit 0 when the environment is the locked one, 3 when its Python or conda layer differs." in result.stdout
