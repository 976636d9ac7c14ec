"""The rebuilder family's contract: one abstract base declaring every hook, typed options that refuse what a
target does not take (exit code 2), the target kinds the check offers, and plans whose data is typed."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import assert_complete_family

from envsnap import lockfile, rebuild
from envsnap.errors import EnvsnapError, UsageError
from envsnap.model import PythonEnv, Snapshot
from envsnap.rebuild import REGISTRY, Plan, check_targets, rebuilders
from envsnap.rebuild._preflight import preflight
from envsnap.rebuild.conda import CondaOptions, CondaPlanData
from envsnap.rebuild.docker import DockerOptions, DockerPlanData
from envsnap.rebuild.interface import NoOptions, Rebuilder
from envsnap.rebuild.venv import VenvPlanData


def _lock(tmp_path: Path) -> Path:
    version = ".".join(map(str, sys.version_info[:3]))
    lock = Snapshot(python=PythonEnv(implementation="cpython", version=version))
    return lockfile.dump(lock, tmp_path / "envsnap.lock")


def test_every_rebuilder_is_a_complete_rebuilder_and_declared() -> None:
    assert_complete_family(REGISTRY, rebuild)
    assert REGISTRY.base is Rebuilder
    for target in REGISTRY.values():
        assert issubclass(target.options, rebuild.interface.Options)
        assert target.default_dest and target.description and target.bundle_folders
    assert REGISTRY["venv"].options is NoOptions
    assert (REGISTRY["conda"].options, REGISTRY["docker"].options) == (CondaOptions, DockerOptions)


def test_the_check_offers_the_host_and_every_rebuild_target(cli: Callable[..., Any], tmp_path: Path) -> None:
    assert check_targets() == ("host", *REGISTRY)
    shown = cli("check", "--help")
    assert "{" + ",".join(check_targets()) + "}" in shown.out
    result = cli("check", _lock(tmp_path), "--target", "kubernetes")
    assert result.code == 2 and "invalid choice: 'kubernetes'" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "venv", "--option", "foo=bar"], "the venv target has no option 'foo' (it takes none)"),
        (["--target", "venv", "--engine", "mamba"], "--engine is not an option of the venv target"),
        (["--target", "venv", "--tag", "x:y"], "--tag is not an option of the venv target"),
        (["--target", "venv", "--base-image", "debian"], "--base-image is not an option of the venv target"),
        (["--target", "docker", "--engine", "conda"], "--engine is not an option of the docker target"),
        (["--target", "conda", "--tag", "x:y"], "--tag is not an option of the conda target"),
        (
            ["--target", "conda", "--option", "colour=blue"],
            "the conda target has no option 'colour' (it takes: engine, cache_dir)",
        ),
        (["--target", "conda", "--option", "engine=pip"], "--engine pip: unknown (known: rattler, conda, mamba"),
        (["--target", "kubernetes"], "unknown rebuild target 'kubernetes' (known: docker, conda, venv)"),
    ],
)
def test_an_option_the_target_does_not_take_is_bad_input(
    cli: Callable[..., Any], tmp_path: Path, args: list[str], message: str
) -> None:
    result = cli("rebuild", _lock(tmp_path), "--dest", tmp_path / "env", "--dry-run", *args)
    assert result.code == 2, result  # docs/cli.md: an unknown --target, --engine or --option key
    assert result.err.count("\n") == 1 and message in result.err, result.err
    assert not (tmp_path / "env").exists()


def test_the_library_refuses_them_too_before_any_work(tmp_path: Path) -> None:
    missing = tmp_path / "no.lock"  # not even read: the options are checked first
    with pytest.raises(UsageError, match="the venv target has no option 'engine'") as caught:
        rebuild.rebuild(missing, target="venv", options={"engine": "mamba"})
    assert caught.value.exit_code == 2
    with pytest.raises(EnvsnapError, match="unknown rebuild target 'kubernetes'") as unknown:
        rebuild.rebuild(missing, target="kubernetes")
    assert unknown.value.exit_code == 2


def test_the_preflight_of_an_unknown_target_is_bad_input_not_a_host_check(tmp_path: Path) -> None:
    lock = lockfile.load(_lock(tmp_path))
    with pytest.raises(EnvsnapError, match="unknown rebuild target 'kubernetes'") as caught:
        preflight(lock, target="kubernetes", python=sys.executable, force=False)
    assert caught.value.exit_code == 2


def test_options_from_args_keep_flags_and_option_pairs() -> None:
    import argparse

    args = argparse.Namespace(
        target="docker",
        tag="me/x:1",
        engine=None,
        base_image=None,
        base_digest=None,
        apt_snapshot=None,
        system_packages=None,
        option=[("network", "none")],
    )
    foreign = {"--engine": "engine", "--tag": "tag"}
    options = DockerOptions.from_args(args, owner="the docker target", foreign=foreign)
    assert (options.tag, options.network, options.system_packages) == ("me/x:1", "none", "needed")
    with pytest.raises(UsageError, match="--tag is not an option of the conda target"):
        CondaOptions.from_args(args, owner="the conda target", foreign=foreign)


def test_plans_carry_typed_data_and_only_render_it(tmp_path: Path) -> None:
    # An interpreter whose path has " (" in it: the display is text, the path stays a path.
    venv = VenvPlanData(installer="uv", python_version="3.12.4", python_path="/opt/py (test)/bin/python3")
    assert venv.display() == {"installer": "uv", "python": "3.12.4 at /opt/py (test)/bin/python3"}
    download = VenvPlanData(installer="pip", python_version="3.12.4", python_path="", bundle="/b")
    assert download.display()["python"].startswith("3.12.4 at Python 3.12.4 downloaded by uv (")
    assert download.display()["bundle"] == "/b"
    docker = DockerPlanData(
        base_reference="python:3.12-slim",
        base_pinned="python@sha256:ab",
        build_context="ctx",
        interpreter="/usr/local/bin/python 3.12.4 (image)",
        tag="t",
        dockerfile="FROM x\n",
    )
    assert docker.display()["Dockerfile sha256"] == docker.dockerfile_sha256
    conda = CondaPlanData(engine="rattler", tool="py-rattler (embedded)", subdir="linux-64", channels=("a", "b"))
    assert conda.display() == {"engine": "rattler: py-rattler (embedded)", "subdir": "linux-64", "channels": "a, b"}
    plan = Plan(target="venv", lock_path="l", dest="d", data=venv)
    assert plan.details == venv.display()
    assert plan.to_dict() == {
        "target": "venv",
        "lock_path": "l",
        "dest": "d",
        "items": [],
        "steps": [],
        "notes": [],
        "offline": False,
        "network": "",
        "details": venv.display(),
    }


def test_a_target_refuses_to_execute_another_targets_plan(tmp_path: Path) -> None:
    from envsnap.rebuild.interface import RebuildRequest

    lock = lockfile.load(_lock(tmp_path))
    request = RebuildRequest(lock=lock, lock_path=tmp_path / "l", dest=tmp_path / "env", target="venv")
    conda_plan = Plan(
        target="conda",
        lock_path="l",
        dest=str(tmp_path / "env"),
        data=CondaPlanData(engine="rattler", tool="x", subdir="linux-64", channels=()),
    )
    with pytest.raises(EnvsnapError, match="not a venv plan"):
        rebuilders()["venv"].execute(conda_plan, request)
    assert not (tmp_path / "env").exists()
    assert dataclasses.is_dataclass(conda_plan.data)
