"""Faults leave nothing half-made and nothing running: timeouts and floods kill a command's whole process group,
Ctrl-C is one line and exit 130, what a killed run left is recognised and cleaned by the next one."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from envsnap import _runner
from envsnap.errors import ProbeError
from envsnap.probes import nvidia
from envsnap.probes import pending as pending_probe
from envsnap.probes import python as python_probe

REPO = Path(__file__).resolve().parents[2]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for this purpose (its parent, the shell, is gone and nobody may reap it in a container).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _alive(pid: int, grace: float = 3.0) -> bool:
    """Still running ``grace`` seconds from now (a SIGKILL is delivered, not acted on, at once)."""
    end = time.monotonic() + grace
    while _running(pid):
        if time.monotonic() > end:
            return True
        time.sleep(0.05)
    return False


def _wait_for(path: Path, limit: float = 20.0) -> None:
    end = time.monotonic() + limit
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.05)


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture
def reap() -> Iterator[list[int]]:
    """Pids a test started indirectly: killed at the end whatever happened (the test must not leak them)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# ----------------------------------------------------------------------------------------- the runner


def test_a_timeout_kills_the_whole_group_and_returns_at_the_timeout(tmp_path: Path, reap: list[int]) -> None:
    pidfile = tmp_path / "pid"
    wrapper = _script(tmp_path / "wrapper", f"sleep 20 &\necho $! > {pidfile}\nwait\n")
    started = time.monotonic()
    result = _runner.run([str(wrapper)], timeout=1)
    elapsed = time.monotonic() - started
    reap.append(int(pidfile.read_text()))
    assert result.timed_out and not result.ok
    assert elapsed < 8, elapsed  # not the 20 s the child holding the pipes would take
    assert not _alive(int(pidfile.read_text()))


def test_a_child_left_behind_by_a_command_that_exited_is_killed(tmp_path: Path, reap: list[int]) -> None:
    pidfile = tmp_path / "pid"
    wrapper = _script(tmp_path / "wrapper", f"(sleep 20 >/dev/null 2>&1 & echo $! > {pidfile})\necho done\n")
    started = time.monotonic()
    result = _runner.run([str(wrapper)], timeout=10)
    reap.append(int(pidfile.read_text()))
    assert result.ok and result.stdout == "done\n"
    assert time.monotonic() - started < 8
    assert not _alive(int(pidfile.read_text()))


def test_a_flood_of_output_is_one_error_not_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_runner, "MAX_OUTPUT", 1 << 20)
    result = _runner.run(["yes"], timeout=30)
    assert result.flooded and not result.ok and "more than 1048576 bytes" in result.stderr
    assert len(result.stdout) <= 1 << 20


# ------------------------------------------------------------------------------------ the --python probe


def test_the_python_probe_timeout_kills_a_wrapper_and_its_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reap: list[int]
) -> None:
    pidfile = tmp_path / "pid"
    wrapper = _script(tmp_path / "python", f"sleep 20 &\necho $! > {pidfile}\nwait\n")
    monkeypatch.setattr(pending_probe, "PROBE_TIMEOUT", 1.0)  # where the probe is started and waited for
    started = time.monotonic()
    with pytest.raises(ProbeError, match="did not finish within 1 s"):
        python_probe.run_probe(str(wrapper))
    reap.append(int(pidfile.read_text()))
    assert time.monotonic() - started < 8
    assert not _alive(int(pidfile.read_text()))


def test_a_probe_flooding_stdout_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    monkeypatch.setattr(_runner, "MAX_OUTPUT", 4 << 20)
    wrapper = _script(tmp_path / "python", "exec yes\n")
    result = cli("capture", "--python", wrapper, "-o", tmp_path / "l.lock")
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and "more than 4194304 bytes of output" in result.err
    assert not (tmp_path / "l.lock").exists()


def test_a_forking_nvml_worker_leaves_no_child_running(tmp_path: Path, reap: list[int]) -> None:
    pidfile = tmp_path / "pid"
    # What a driver library that forks a helper at init looks like from outside: the worker answers and exits,
    # its child lives on (holding the pipes).
    worker = _script(tmp_path / "python", f'(sleep 20 & echo $! > {pidfile})\necho \'{{"fatal": "no GPU"}}\'\n')
    started = time.monotonic()
    answer = nvidia.query_nvml(5, False, dict(os.environ), python=str(worker))
    reap.append(int(pidfile.read_text()))
    assert answer == {"fatal": "no GPU"}
    assert time.monotonic() - started < 4.5
    assert not _alive(int(pidfile.read_text()))


# ------------------------------------------------------------------------------------------------ Ctrl-C


def test_ctrl_c_while_the_command_line_loads_is_one_line_and_130(
    monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    from envsnap import cli as cli_mod

    def interrupted(_command: str | None = None) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_mod, "command_modules", interrupted)
    result = cli("show", "x.lock")
    assert result.code == 130 and result.err == "envsnap: interrupted\n", result


def test_sigint_during_a_probe_exits_130_with_one_line_and_kills_the_probe(tmp_path: Path, reap: list[int]) -> None:
    pidfile = tmp_path / "pid"
    wrapper = _script(tmp_path / "python", f"sleep 30 &\necho $! > {pidfile}\nwait\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "capture", "--python", str(wrapper), "-o", str(tmp_path / "l.lock")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(pidfile)
        reap.append(int(pidfile.read_text()))
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err == "envsnap: interrupted\n"
    assert not _alive(int(pidfile.read_text()))


# --------------------------------------------------------------------------- what a killed run leaves


def _envsnap(*args: str, path: str | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if path is not None:
        env["PATH"] = path
        if os.path.isfile(os.path.join(path.split(":")[0], "uv")):  # the fake uv, not envsnap's own
            env["ENVSNAP_UV"] = os.path.join(path.split(":")[0], "uv")
    return subprocess.Popen(
        [sys.executable, "-m", "envsnap", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _kill_when(proc: subprocess.Popen[str], pidfile: Path, reap: list[int]) -> None:
    """SIGKILL ``proc`` (envsnap) once the fake tool it runs has written its pid: the run dies mid-way."""
    try:
        _wait_for(pidfile, 60)
        reap.append(int(pidfile.read_text()))
    finally:
        proc.kill()
        proc.communicate(timeout=30)


# The fake git never reaches the network, but the fetch policy judges the URL first: example.org does not
# resolve on every test machine, so the test allows it explicitly.
ALLOW = ("--allow-url", "https://example.org/*")


def _vcs_lock(tmp_path: Path) -> Path:
    from envsnap import lockfile
    from envsnap.model import PythonEnv, PythonPackage, Snapshot, Source

    pkg = PythonPackage(
        name="gitpkg",
        version="1.0",
        source=Source(kind="vcs", url="https://example.org/gitpkg.git", vcs="git", commit_id="a" * 40),
    )
    return lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), tmp_path / "l.lock")


def _fake_tools(tmp_path: Path, *, hang: bool) -> str:
    """``git`` that hangs (the run is killed there) or makes an empty checkout, and ``uv`` whose build writes a
    wheel: a bundle that needs no network."""
    bin_dir = tmp_path / ("bin-hang" if hang else "bin")
    bin_dir.mkdir(exist_ok=True)
    pidfile = tmp_path / "git.pid"
    clone = f"echo $$ > {pidfile}; exec sleep 60" if hang else 'for a; do last=$a; done; mkdir -p "$last"'
    # Not a work tree for anything but the clone and the checkout in it.
    _script(
        bin_dir / "git",
        'while [ "$1" = -c ]; do shift 2; done\n'  # envsnap's `-c key=value` settings
        f'case "$1" in clone) {clone};; -C) exit 0;; *) exit 128;; esac\n',
    )
    _script(
        bin_dir / "uv",
        'while [ $# -gt 0 ]; do [ "$1" = --out-dir ] && out=$2; shift; done\n'
        # A wheel with its RECORD: the bundle's lock records the RECORD digest of the wheel it built.
        f'{sys.executable} -c "import zipfile,sys; w = zipfile.ZipFile(sys.argv[1] + '
        "'/gitpkg-1.0-py3-none-any.whl', 'w'); w.writestr('gitpkg.py', ''); "
        "w.writestr('gitpkg-1.0.dist-info/RECORD', 'gitpkg.py,,')\" \"$out\"\n",
    )
    return f"{bin_dir}:/usr/bin:/bin"


def test_a_killed_bundle_directory_is_completed_by_the_next_run(tmp_path: Path, reap: list[int]) -> None:
    lock = _vcs_lock(tmp_path)
    out = tmp_path / "out" / "supp"
    proc = _envsnap("bundle", str(lock), "-o", str(out), *ALLOW, path=_fake_tools(tmp_path, hang=True))
    _kill_when(proc, tmp_path / "git.pid", reap)
    assert out.is_dir() and not (out / "SHA256SUMS").exists()  # killed half-way: nothing could remove it
    proc = _envsnap("bundle", str(lock), "-o", str(out), *ALLOW, path=_fake_tools(tmp_path, hang=False))
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    from envsnap.artifacts.bundle import Bundle

    Bundle(out).verify_sums()  # complete, and nothing the killed run left (.build-*, the marker) is in it
    assert Bundle(out).wheel_for("gitpkg").name == "gitpkg-1.0-py3-none-any.whl"


def test_a_killed_archive_bundle_leaves_a_folder_the_next_run_removes(tmp_path: Path, reap: list[int]) -> None:
    lock = _vcs_lock(tmp_path)
    out = tmp_path / "out"
    proc = _envsnap("bundle", str(lock), "-o", str(out / "supp.tar.gz"), *ALLOW, path=_fake_tools(tmp_path, hang=True))
    _kill_when(proc, tmp_path / "git.pid", reap)
    left = [p.name for p in out.iterdir()]
    assert len(left) == 1 and left[0].startswith((".envsnap-bundle-", ".envsnap-rebuild-")), left
    proc = _envsnap("bundle", str(lock), "-o", str(out / "supp.tar.gz"), *ALLOW, path=_fake_tools(tmp_path, hang=False))
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert [p.name for p in out.iterdir()] == ["supp.tar.gz"]


def _debs_lock(tmp_path: Path, name: str, url: str, debs: dict[str, bytes]) -> Path:
    """A lock of no wheel whose system packages ``debs`` (name: the .deb's bytes) are pinned at ``url``."""
    import dataclasses
    import hashlib

    from testutil import sample_lock, sample_platform

    from envsnap import lockfile
    from envsnap.model import System, SystemPackage

    packages = tuple(
        SystemPackage(
            "dpkg",
            deb,
            "1.0-1",
            "amd64",
            filename=f"{deb}_1.0-1_amd64.deb",
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            url=f"{url}/{deb}_1.0-1_amd64.deb",
        )
        for deb, body in debs.items()
    )
    lock = sample_lock(platform=sample_platform(os_name="Debian GNU/Linux 12 (bookworm)"))
    lock = dataclasses.replace(
        lock, python=dataclasses.replace(lock.python, packages=()), system=System(manager="dpkg", packages=packages)
    )
    return lockfile.dump(lockfile.seal(lock), tmp_path / f"{name}.lock")


def test_ctrl_c_while_a_rebundle_fetches_its_debs_leaves_the_earlier_bundle_whole(tmp_path: Path) -> None:
    """``bundle --with-system-packages`` fetched the .deb files after it had written the new lock and SHA256SUMS
    over an earlier bundle's: Ctrl-C during that download left the new lock, the earlier .deb files the new lock
    does not carry removed, and a half-filled debs/. Every earlier file is as it was, marked as being made (the next
    run completes it), and nothing is left beside it."""
    from fetchserver import serving

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    out = tmp_path / "b"
    cache = ("--cache-dir", str(tmp_path / "cache"))
    env_engine = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")  # every .deb is carried
    with serving() as server:
        server.add("/early_1.0-1_amd64.deb", b"early deb")
        server.add("/late_1.0-1_amd64.deb", b"late deb" * 4096)
        server.stall["/late_1.0-1_amd64.deb"] = release = threading.Event()
        allow = ("--allow-url", server.url + "/*")
        first = _debs_lock(tmp_path, "first", server.url, {"early": b"early deb"})
        second = _debs_lock(tmp_path, "second", server.url, {"late": b"late deb" * 4096})
        made = subprocess.run(
            [sys.executable, "-m", "envsnap", "bundle", str(first), "-o", str(out), "--with-system-packages",
             *cache, *allow],
            env=dict(env_engine, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        before = files(out)
        proc = subprocess.Popen(
            [sys.executable, "-m", "envsnap", "bundle", str(second), "-o", str(out), "--with-system-packages",
             *cache, *allow],
            env=dict(env_engine, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            end = time.monotonic() + 60
            while "/late_1.0-1_amd64.deb" not in server.requests:
                assert time.monotonic() < end and proc.poll() is None, proc.communicate()
                time.sleep(0.05)
            time.sleep(0.3)  # half the file is in
            proc.send_signal(signal.SIGINT)
            _out, err = proc.communicate(timeout=30)
        finally:
            release.set()
            proc.kill()
    assert proc.returncode == 130 and err.endswith("envsnap: interrupted\n"), err
    after = files(out)
    assert {k: after.get(k) for k in before} == before, [k for k in before if after.get(k) != before[k]]
    # Nothing it fetched is left: the earlier bundle, complete (marked as being made, every reader refused it).
    assert set(after) == set(before), set(after) ^ set(before)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".envsnap-")) == []


def _rebuild_conda(bundle: Path, prefix: Path, *extra: str, path: str | None = None) -> subprocess.Popen[str]:
    return _envsnap(
        "rebuild",
        str(bundle / "envsnap.lock"),
        "--target",
        "conda",
        "--prefix",
        str(prefix),
        "--bundle",
        str(bundle),
        "--offline",
        *extra,
        path=path,
    )


@pytest.fixture
def conda_bundle(conda_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from envsnap import lockfile
    from envsnap.artifacts.bundle import make_bundle
    from envsnap.probes.capture import capture

    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(conda_env.channel.pip_wheel.parent))
    monkeypatch.setenv("ENVSNAP_ALLOW_URL", conda_env.channel.url + "/*")  # a local (file://) conda channel
    lock = lockfile.dump(capture(str(conda_env.python)), tmp_path / "envsnap.lock")
    return make_bundle(lockfile.load(lock), tmp_path / "bundle").path


def test_a_killed_conda_rebuild_leaves_no_prefix_and_the_next_run_builds_it(
    conda_bundle: Path, tmp_path: Path, reap: list[int]
) -> None:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    pidfile = tmp_path / "mm.pid"
    # An installer that links part of the prefix, then is killed with envsnap.
    _script(
        bin_dir / "micromamba",
        'while [ $# -gt 0 ]; do [ "$1" = --prefix ] && p=$2; shift; done\n'
        f'mkdir -p "$p/conda-meta" "$p/bin"; echo half > "$p/bin/tool"\necho $$ > {pidfile}\nexec sleep 60\n',
    )
    prefix = tmp_path / "envs" / "p"
    proc = _rebuild_conda(conda_bundle, prefix, "--engine", "micromamba", path=f"{bin_dir}:{os.environ['PATH']}")
    _kill_when(proc, pidfile, reap)
    assert not prefix.exists()  # built beside it: nothing half-made at --prefix
    assert any(p.name.startswith(".envsnap-conda-") for p in prefix.parent.iterdir())
    proc = _rebuild_conda(conda_bundle, prefix)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert [p.name for p in prefix.parent.iterdir()] == ["p"]  # the killed run's staging is gone too
    run = subprocess.run(
        [str(prefix / "bin" / "python"), "-c", "import pipdemo; print(pipdemo.answer())"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.stdout == "7\n", run


@pytest.fixture(autouse=True)
def _own_caches(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """`clean --cache` must never empty the real caches of whoever runs the tests."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


def test_envsnap_clean_removes_leftovers_but_not_what_a_running_envsnap_holds(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    from envsnap import _leftovers

    with _leftovers.held_dir(tmp_path, "conda") as held:  # a running rebuild's
        dead = tmp_path / ".envsnap-venv-abc123"  # a killed one's
        (dead / "venv" / "bin").mkdir(parents=True)
        (dead / "venv" / "bin" / "python").write_bytes(b"x" * 1000)
        (tmp_path / ".envsnap-tmp-l.lock.xyz").write_text("half a lock")
        (tmp_path / ".envsnap-incomplete").write_text("")  # not a leftover name: a bundle's marker
        (tmp_path / "mine").mkdir()
        result = cli("clean", tmp_path, "--dry-run")
        assert result.code == 0 and dead.exists(), result
        assert "would remove" in result.err and str(held) not in result.err
        result = cli("clean", tmp_path)
        assert result.code == 0, result
        assert held.is_dir()
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".envsnap-incomplete", held.name, "mine"])
    assert f"removed {dead}" in result.err and "download cache" in result.err


def test_a_killed_docker_rebuilds_build_context_is_a_leftover_clean_removes(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """The docker target writes its build context (every wheel of the bundle) beside --dest and moves it into
    place after the image is tagged. Killed while the image builds (SIGKILL, OOM, a node lost), that copy was a
    hidden `.ctx.<random>` folder that neither the next rebuild nor `envsnap clean` knew: it stayed, as large as
    the bundle's wheels."""
    dest = tmp_path / "ctx"
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from envsnap.rebuild.docker import _fresh_context\n"
        "with _fresh_context(Path(sys.argv[1])) as work:\n"
        "    (work / 'wheels').mkdir()\n"
        "    (work / 'wheels' / 'big-1.0-py3-none-any.whl').write_bytes(b'w' * 4096)\n"
        "    os.kill(os.getpid(), 9)  # killed while the image builds\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(dest)], capture_output=True, text=True, timeout=60)
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert not dest.exists()  # moved into place only after a successful build
    result = cli("clean", tmp_path)
    assert result.code == 0, result
    assert list(tmp_path.iterdir()) == [], f"left beside --dest: {sorted(p.name for p in tmp_path.iterdir())}"


def test_envsnap_clean_shows_and_empties_the_download_cache(tmp_path: Path, cli: Callable[..., Any]) -> None:
    cache = tmp_path / "cache"
    (cache / "ab" / "ab12").mkdir(parents=True)
    (cache / "ab" / "ab12" / "x-1.0-py3-none-any.whl").write_bytes(b"w" * 2048)
    result = cli("clean", tmp_path, "--cache-dir", cache, "--json")
    assert result.code == 0, result
    import json

    caches = {c["path"]: c for c in json.loads(result.out)["caches"]}
    assert caches[str(cache)]["size"] == 2048 and cache.exists()
    result = cli("clean", tmp_path, "--cache-dir", cache, "--cache")
    assert result.code == 0 and not cache.exists(), result
    assert cli("clean", tmp_path / "nope").code == 2


def test_the_next_run_removes_a_killed_runs_temporary_files(tmp_path: Path, cli: Callable[..., Any]) -> None:
    from envsnap import lockfile
    from envsnap.model import PythonEnv, Snapshot

    (tmp_path / ".envsnap-tmp-envsnap.lock.k1ll3d").write_text("half a lock")  # a capture killed mid-write
    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), tmp_path / "envsnap.lock")
    assert [p.name for p in tmp_path.iterdir()] == ["envsnap.lock"]


def test_a_sibling_still_there_after_its_removal_keeps_the_folder_that_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A held folder's sibling (a conda rebuild's staging prefix) that survives its removal (a library's thread still
    writing into it) was left with nothing naming it: the ``.envsnap-*`` folder went anyway, and no later sweep or
    ``envsnap clean`` found the sibling. The folder stays until the sibling is gone; the next sweep removes both."""
    import shutil

    from envsnap import _leftovers

    real_rmtree = shutil.rmtree
    sibling = tmp_path / ".prefix"

    def rmtree_but_the_sibling(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path) == sibling:
            return  # written into again as it was removed
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(_leftovers.shutil, "rmtree", rmtree_but_the_sibling)
    with _leftovers.held_dir(tmp_path, "conda") as held:
        _leftovers.name_sibling(held, sibling)
        (sibling / "pkgs").mkdir(parents=True)
    assert held.is_dir() and sibling.is_dir(), sorted(p.name for p in tmp_path.iterdir())
    assert [leftover.path for leftover in _leftovers.find(tmp_path)] == [held]
    monkeypatch.setattr(_leftovers.shutil, "rmtree", real_rmtree)
    _leftovers.sweep(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_on_another_thread_never_takes_a_folder_made_and_not_yet_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild makes its staging folder on one thread while another makes (and sweeps) its own: the folder
    between its creation and its lock is not a leftover."""
    import threading

    from envsnap import _leftovers

    made, release = threading.Event(), threading.Event()
    real_hold = _leftovers._hold

    def slow_hold(path: Path) -> int:
        made.set()  # created, not yet held: a sweep now must not take it
        assert release.wait(60)
        return real_hold(path)

    monkeypatch.setattr(_leftovers, "_hold", slow_hold)
    seen: list[Path] = []

    def make() -> None:
        with _leftovers.held_dir(tmp_path, "venv") as held:
            seen.append(held)
            assert held.is_dir()

    maker = threading.Thread(target=make)
    maker.start()
    assert made.wait(60)
    sweeper = threading.Thread(target=_leftovers.sweep, args=(tmp_path,))
    sweeper.start()
    sweeper.join(2)  # without the guard it removes the folder now; with it, it waits for the lock
    release.set()
    maker.join(60)
    sweeper.join(60)
    assert len(seen) == 1  # the folder was there, held, when its maker used it


def _sweep_in_another_process(folder: Path) -> None:
    """What another envsnap's sweep of ``folder`` does (each rebuild and bundle reader sweeps the temporary folder):
    in its own process, where this one's threading guard does not reach."""
    code = "import sys; from pathlib import Path; from envsnap import _leftovers; _leftovers.sweep(Path(sys.argv[1]))"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, env=env, timeout=120)


@pytest.mark.parametrize("kind", ["bundle", "venv"])
def test_a_sweep_in_another_process_as_a_folder_is_made_takes_nothing_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A folder made and not yet held (``mkdir``, then ``flock``) was a leftover to a sweep in another process (an
    envsnap run beside it in the same temporary folder): it removed it, and the run that made it failed (``No such
    file or directory``: 3 in 4,243 folders made beside a process sweeping theirs without pause). The run
    makes another, and the folder it uses is there, held, until it is done with it."""
    from envsnap import _leftovers

    real_mkdir = os.mkdir
    swept: list[str] = []

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        real_mkdir(path, *args, **kwargs)
        if os.path.basename(path).startswith(f".envsnap-{kind}-") and not swept:
            swept.append(os.fspath(path))
            _sweep_in_another_process(tmp_path)  # as another process's sweep lands between the two

    monkeypatch.setattr(os, "mkdir", mkdir)
    with _leftovers.held_dir(tmp_path, kind) as held:
        assert swept and held.is_dir()
        (held / "work").write_text("x")
        _sweep_in_another_process(tmp_path)
        assert (held / "work").read_text() == "x"  # held: no sweep takes it
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_that_found_a_folder_unheld_leaves_it_once_it_is_held(tmp_path: Path) -> None:
    """A sweep judged a folder unheld (its maker had not locked it yet), then removed it: by then its maker held
    it, and worked in a folder that was gone. The removal takes the folder's lock first, and leaves one a run holds
    now."""
    import fcntl

    from envsnap import _leftovers

    folder = tmp_path / ".envsnap-bundle-abc"
    folder.mkdir()
    (found,) = _leftovers.find(tmp_path)  # made, not yet held
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # its maker holds it now
        _leftovers.remove(found)
        assert folder.is_dir()
    finally:
        os.close(fd)
    _leftovers.remove(found)  # a leftover indeed, once no run holds it
    assert not folder.exists()


@pytest.mark.parametrize("kind", ["conda", "venv", "bundle"])
@pytest.mark.parametrize("where", ["made", "held"])
def test_a_ctrl_c_as_a_staging_folder_is_made_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, where: str
) -> None:
    """A Ctrl-C (or SIGTERM) that landed once the ``.envsnap-<kind>-*`` folder was made and before it was held
    left it, an empty folder beside --dest or --prefix (about 1 in 50 Ctrl-Cs early in a rebuild), though a Ctrl-C
    removes every staging folder (docs/cli.md). It goes with the run."""
    from envsnap import _leftovers

    real_mkdir, real_hold = os.mkdir, _leftovers._hold

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        real_mkdir(path, *args, **kwargs)
        if os.path.basename(path).startswith(f".envsnap-{kind}-"):
            raise KeyboardInterrupt  # the Ctrl-C lands as the folder is made

    def hold(path: Path) -> int:
        os.close(real_hold(path))
        raise KeyboardInterrupt  # ... or as it is locked

    if where == "made":
        monkeypatch.setattr(os, "mkdir", mkdir)
    else:
        monkeypatch.setattr(_leftovers, "_hold", hold)
    parent = tmp_path / "parent"
    with pytest.raises(KeyboardInterrupt), _leftovers.held_dir(parent / "new", kind):
        pytest.fail("the folder was made")
    assert list(tmp_path.iterdir()) == []  # the folders made for it go too


@pytest.mark.parametrize("where", ["made", "held"])
def test_a_ctrl_c_as_the_early_venv_folder_is_made_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The ``uv venv`` begun before envsnap loads (``_venvfirst``) makes its ``.envsnap-venv-slotN`` beside --dest:
    a Ctrl-C that landed once it was made and before it was held left it, an empty folder, though a Ctrl-C removes
    every staging folder (docs/cli.md). It goes with the run, and no uv is started."""
    import fcntl

    from envsnap import _venvfirst

    uv = tmp_path / "uv"
    uv.write_text("#!/bin/sh\nexit 0\n")
    uv.chmod(0o755)
    monkeypatch.delenv("ENVSNAP_NO_UV", raising=False)
    monkeypatch.setenv("ENVSNAP_UV", str(uv))
    (tmp_path / "bundle").mkdir()
    real_mkdir, real_flock = os.mkdir, fcntl.flock

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        real_mkdir(path, *args, **kwargs)
        if os.path.basename(path).startswith(".envsnap-venv-"):
            raise KeyboardInterrupt  # the Ctrl-C lands as the folder is made

    def flock(fd: int, operation: int) -> None:
        real_flock(fd, operation)
        if operation == fcntl.LOCK_EX:
            raise KeyboardInterrupt  # ... or as it is locked

    if where == "made":
        monkeypatch.setattr(os, "mkdir", mkdir)
    else:
        monkeypatch.setattr(fcntl, "flock", flock)
    argv = ["x.lock", "--bundle", str(tmp_path / "bundle"), "--dest", str(tmp_path / "env")]
    with pytest.raises(KeyboardInterrupt):
        _venvfirst.start(argv)
    monkeypatch.undo()
    assert not _venvfirst.started()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "uv"]


@pytest.mark.parametrize("command", ["verify", "show", "export", "audit", "rebuild"])
def test_a_reader_of_a_bundle_archive_killed_while_it_holds_the_unpacked_copy_leaves_what_clean_removes(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """show, check, verify, diff, export and audit of a bundle archive unpack it into the temporary directory as
    ``envsnap-bundle-*`` (``envsnap-audit-*``): a run killed there (SIGKILL, a job's time limit) left a copy as
    large as the archive's content, which neither the next run nor `envsnap clean` knew for envsnap's. It is a held
    ``.envsnap-bundle-*`` folder, which `envsnap clean` removes."""
    import tarfile

    from testutil import sample_lock

    from envsnap import lockfile
    from envsnap.artifacts.bundle import Bundle

    root = tmp_path / "supp"
    root.mkdir()
    lockfile.dump(sample_lock(seal=True), root / "envsnap.lock")
    Bundle(root).write_sums()
    with tarfile.open(tmp_path / "supp.tar.gz", "w:gz") as tar:
        tar.add(root, arcname="supp")
    temp = tmp_path / "temp"
    temp.mkdir()
    # Killed once the archive is unpacked, while its copy is in use.
    code = (
        "import os, signal, sys\n"
        "import envsnap.artifacts.bundle as b\n"
        "real = b.extract\n"
        "def killed(*args, **kwargs):\n"
        "    real(*args, **kwargs)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "b.extract = killed\n"
        "from envsnap.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    args = {
        "export": ["-f", "json", "-o", str(tmp_path / "out.json")],
        "rebuild": ["--target", "venv", "--offline", "--dry-run"],  # held as .envsnap-rebuild-* already
    }.get(command, [])
    done = subprocess.run(
        [sys.executable, "-c", code, command, str(tmp_path / "supp.tar.gz"), *args],
        env=dict(os.environ, PYTHONPATH=str(REPO), TMPDIR=str(temp)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    left = sorted(p.name for p in temp.iterdir())
    assert len(left) == 1 and left[0].startswith((".envsnap-bundle-", ".envsnap-rebuild-")), left
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", None)
    result = cli("clean", tmp_path)
    assert result.code == 0 and "left by an interrupted run" in result.err, result
    assert not list(temp.iterdir())


def _killed_midway(tmp_path: Path, code: str, *argv: str) -> Path:
    """Run ``code`` (Python, envsnap from this tree) with ``argv`` and its own temporary directory, which it is
    expected to SIGKILL itself in; that directory."""
    temp = tmp_path / "temp"
    temp.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        env=dict(os.environ, PYTHONPATH=str(REPO), TMPDIR=str(temp)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    return temp


def _cleaned(tmp_path: Path, temp: Path, kind: str, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """``temp`` holds one ``.envsnap-<kind>-*`` folder, which `envsnap clean` removes."""
    left = sorted(p.name for p in temp.iterdir())
    assert len(left) == 1 and left[0].startswith(f".envsnap-{kind}-"), left
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", None)
    result = cli("clean", tmp_path)
    assert result.code == 0 and "left by an interrupted run" in result.err, result
    assert not list(temp.iterdir())


def test_a_swhid_computation_killed_while_its_checkout_is_there_leaves_what_clean_removes(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SWHID of the project's code (bundle --artifact) is computed on a checkout of the commit's tree in the
    temporary directory, as large as the project: a run killed there (SIGKILL, a job's time limit) left it as
    ``envsnap-swhid-*``, which neither the next run nor `envsnap clean` knew for envsnap's."""
    pytest.importorskip("swh.model")
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text("print('hi')\n")
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    for args in (["init", "-q"], ["add", "train.py"], ["commit", "-q", "-m", "one"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from swh.model import from_disk\n"
        "def killed(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "from_disk.Directory.from_disk = killed\n"
        "from envsnap.paper.swhid import identify\n"
        "identify(Path(sys.argv[1]))\n"
    )
    temp = _killed_midway(tmp_path, code, str(project))
    _cleaned(tmp_path, temp, "swhid", cli, monkeypatch)


def test_a_run_killed_while_its_command_runs_leaves_a_hooks_folder_clean_removes(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """envsnap run makes a folder for its hooks' reports in the temporary directory before the command starts: a
    run killed while the command ran (the OOM killer, a job's time limit) left it as ``envsnap-run-*``, which
    `envsnap clean` did not know for envsnap's."""
    code = "import sys\nfrom envsnap.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    killer = "import os, signal; os.kill(os.getppid(), signal.SIGKILL)"
    temp = _killed_midway(tmp_path, code, "run", "-o", str(tmp_path / "run.toml"), "--", sys.executable, "-c", killer)
    assert not (tmp_path / "run.toml").exists()
    _cleaned(tmp_path, temp, "run", cli, monkeypatch)


def test_a_bundle_killed_while_it_builds_a_wheel_leaves_a_build_folder_clean_removes(
    tmp_path: Path, reap: list[int], cli: Callable[..., Any]
) -> None:
    """A wheel is built from its source in a folder inside the bundle (the clone, the sdist, the build's output):
    a bundle killed there left a hidden ``.build-*`` folder that only the next bundle into the same folder knew;
    `envsnap clean BUNDLE_DIR` did not. It is a held ``.envsnap-build-*`` folder, which clean removes too."""
    lock = _vcs_lock(tmp_path)
    out = tmp_path / "out" / "supp"
    proc = _envsnap("bundle", str(lock), "-o", str(out), *ALLOW, path=_fake_tools(tmp_path, hang=True))
    _kill_when(proc, tmp_path / "git.pid", reap)
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".envsnap-incomplete")
    assert len(hidden) == 1 and hidden[0].startswith(".envsnap-build-"), hidden
    result = cli("clean", out)
    assert result.code == 0 and "left by an interrupted run" in result.err, result
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".envsnap-incomplete"]


def test_an_export_killed_while_it_checks_its_bundle_folder_leaves_what_clean_removes(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """export --bundle DIR checks the bundle in full (minutes for gigabytes of wheels) with a work folder in the
    temporary directory: one killed there left it as ``envsnap-bundle-*``, which `envsnap clean` did not know."""
    from testutil import sample_lock

    from envsnap import lockfile
    from envsnap.artifacts.bundle import Bundle

    root = tmp_path / "supp"
    root.mkdir()
    lockfile.dump(sample_lock(seal=True), root / "envsnap.lock")
    Bundle(root).write_sums()
    code = (
        "import os, signal, sys\n"
        "import envsnap.artifacts.bundle as b\n"
        "def killed(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "b.Bundle.verify_sums = killed\n"
        "from envsnap.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    lock, out = str(root / "envsnap.lock"), str(tmp_path / "requirements.txt")
    temp = _killed_midway(tmp_path, code, "export", lock, "-f", "requirements", "--bundle", str(root), "-o", out)
    _cleaned(tmp_path, temp, "bundle", cli, monkeypatch)


@pytest.mark.parametrize("where", ["dir", "cache"])
def test_clean_passes_by_a_fifo_named_as_a_leftover(tmp_path: Path, where: str) -> None:
    """A FIFO named as envsnap's leftovers (``.envsnap-tmp-x``) in a folder `envsnap clean` looks in: clean opened
    it to try its lock and waited for ever for a writer. envsnap makes no FIFO: it is left alone, unopened."""
    work = tmp_path / "work"
    work.mkdir()
    cache = tmp_path / "xdg" / "envsnap" / "artifacts" / ".incoming"
    cache.mkdir(parents=True)
    fifo = (work if where == "dir" else cache) / ".envsnap-tmp-x"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-m", "envsnap", "clean", str(work)],
        env=dict(os.environ, PYTHONPATH=str(REPO), XDG_CACHE_HOME=str(tmp_path / "xdg")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and "no leftovers of interrupted runs" in done.stderr, done.stderr
    assert fifo.exists()
