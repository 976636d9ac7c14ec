"""A bundle's own lock and ``envsnap pin``: pinned in place, the bundle no longer matched its SHA256SUMS, and the
remedies envsnap printed (``envsnap pin B/envsnap.lock ... && envsnap bundle ... -o B``) did just that, so a bundle
step that then failed (no network) left the bundle unreadable until it was bundled again. ``pin`` refuses it, and
every remedy pins such a lock beside the bundle (``-o``) and bundles from that."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult, sample_lock

import envsnap
from envsnap import lockfile
from envsnap.cli import EXIT_BAD_INPUT
from envsnap.model import System, SystemPackage

REPO = Path(envsnap.__file__).resolve().parents[1]  # the tree the tests run, for the shell's envsnap too
BASE = "debian:bookworm-slim"  # no Python: the container build installs the interpreter's Debian packages
REVISION = "3.11.2-6+deb12u6"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def offline_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Docker engine and a snapshot archive that cannot be reached (a host without the network)."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    monkeypatch.setenv("ENVSNAP_SNAPSHOT_URL", "http://127.0.0.1:9/")


@pytest.fixture
def bundle(tmp_path: Path, cli: Callable[..., CliResult], offline_world: None) -> Path:
    """A bundle in a folder whose name holds a space, of a lock recording Debian's python3.11 (not pinned)."""
    packages = tuple(SystemPackage("dpkg", name, REVISION, "amd64") for name in ("python3.11", "python3.11-venv"))
    lock = lockfile.dump(sample_lock(system=System(manager="dpkg", packages=packages), seal=True), tmp_path / "a.lock")
    made = cli("bundle", lock, "-o", tmp_path / "my B")
    assert made.code == 0, made
    return tmp_path / "my B"


def test_pin_refuses_to_rewrite_a_bundles_lock_and_names_the_o_that_writes_it_beside(
    bundle: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    before = _files(bundle)
    lock = bundle / "envsnap.lock"
    for args in ((lock,), (tmp_path / "a.lock", "-o", lock)):
        result = cli("pin", *args, "--no-system-packages")
        assert result.code == EXIT_BAD_INPUT, result
        assert result.err.count("\n") == 1 and " -o " in result.err, result.err
        assert f"envsnap bundle '{tmp_path}/my B.pinned.lock' -o '{bundle}'" in result.err, result.err
        assert _files(bundle) == before
    beside = cli("pin", lock, "-o", tmp_path / "my B.pinned.lock", "--no-system-packages")
    assert beside.code == 0, beside
    assert (tmp_path / "my B.pinned.lock").is_file() and _files(bundle) == before


def test_the_printed_remedy_runs_as_pasted_and_a_failed_bundle_step_leaves_the_bundle_readable(
    bundle: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """The docker target's refusal names the commands that carry the interpreter's .deb files; pasted into a shell
    with no network, pin records nothing and the bundle step fails (exit 4): the bundle is as it was."""
    lock = bundle / "envsnap.lock"
    before = _files(bundle)
    refused = cli(
        "rebuild", lock, "--bundle", bundle, "--target", "docker", "--dry-run",
        "--option", "network=none", "--base-image", BASE,
    )  # fmt: skip
    assert refused.code == EXIT_BAD_INPUT, refused
    line = refused.err.split("`")[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    shell = f'envsnap() {{ {sys.executable} -m envsnap "$@"; }}; {line}'
    done = subprocess.run(["bash", "-c", shell], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stderr
    assert "have no pinned .deb" in done.stderr.splitlines()[-1], done.stderr
    assert _files(bundle) == before  # no marker of a bundle being made, the lock its SHA256SUMS list
    assert line.startswith(f"envsnap pin '{lock}' -o '{tmp_path}/my B.pinned.lock' --base-image {BASE} && "), line
    assert (tmp_path / "my B.pinned.lock").is_file()
    again = cli("rebuild", lock, "--bundle", bundle, "--target", "docker", "--dry-run", "--force")  # no engine here
    assert again.code == 0, again


def test_the_audits_pin_remedy_for_a_bundle_pins_its_lock_beside_it_and_bundles_from_that(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """``audit`` of a bundle with a package not pinned said ``envsnap pin B/envsnap.lock``: pasted, it rewrote the
    bundle's lock (which then failed its SHA256SUMS) and bundled nothing; ``pin`` now refuses that."""
    import json
    import shlex

    from envsnap.artifacts.bundle import Bundle
    from envsnap.model import PythonPackage

    folder = tmp_path / "my B"
    folder.mkdir()
    lockfile.dump(sample_lock(PythonPackage(name="six", version="1.16.0"), seal=True), folder / "envsnap.lock")
    Bundle(folder).write_sums()
    audited = cli("audit", folder, "--json")
    assert audited.code == 0, audited
    [remedy] = [i["remedy"] for i in json.loads(audited.out)["items"] if i["id"] == "python-pinned"]
    pin, bundle = (shlex.split(part) for part in remedy.split(" && "))
    pinned = f"{tmp_path}/my B.pinned.lock"
    assert pin == ["envsnap", "pin", f"{folder}/envsnap.lock", "-o", pinned], remedy
    assert bundle == ["envsnap", "bundle", pinned, "-o", str(folder)], remedy
