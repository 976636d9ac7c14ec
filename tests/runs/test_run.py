"""envsnap run: the command runs as it would without envsnap, and the record says what it loaded."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from runhelpers import Envsnap, envsnap_env

from envsnap.runs import record as rec
from envsnap.runs import summary


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def _shared_library(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "extra.c").write_text("int envsnap_extra(void) { return 42; }\n")
    out = folder / "libenvsnapextra.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(folder / "extra.c")], check=True)
    return out


def test_a_python_program_s_wheel_libraries_are_accounted_for_and_a_stray_one_is_named(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    pytest.importorskip("numpy")
    extra = _shared_library(tmp_path / "unusual" / "place")
    script = tmp_path / "job.py"
    script.write_text(
        "import ctypes, sys\nimport numpy\n"
        f"lib = ctypes.CDLL({str(extra)!r})\n"
        "print('answer', lib.envsnap_extra(), float(numpy.arange(4).sum()))\n"
        "sys.exit(5)\n"
    )
    res = envsnap("run", "--lock", host_lock, "-o", "run.toml", "--", sys.executable, script, cwd=tmp_path)
    # The command's output passes through untouched, its exit status is envsnap's.
    assert res.stdout == "answer 42 6.0\n", res.stderr
    assert res.returncode == 5, res.stderr
    record = rec.load(tmp_path / "run.toml")
    assert record.result.exit_status == 5 and not record.result.interrupted
    assert record.result.peak_memory_kib > 1000
    # Paths in the project and the home by their labels (docs/runrecord.md), with the words they are in.
    home, python = os.path.expanduser("~"), sys.executable
    program = "~" + python[len(home) :] if python.startswith(home + "/") else python
    assert record.command.argv == (program, "{project}/job.py")
    assert record.command.paths == ((0, 1) if program != python else (1,))
    libs = {Path(lib.path).name: lib for lib in record.loaded.libraries}
    numpy_libs = [lib for lib in record.loaded.libraries if lib.owner == "python" and lib.package == "numpy"]
    assert any("_multiarray_umath" in lib.path for lib in numpy_libs), libs.keys()
    assert all(lib.accounted for lib in numpy_libs)
    stray = libs["libenvsnapextra.so"]
    assert not stray.accounted and stray.owner == "" and "no package" in stray.note
    assert [lib.path for lib in record.loaded.libraries if not lib.accounted] == [stray.path]
    # The C library comes from a system package the lock records.
    libc = next(lib for name, lib in libs.items() if name.startswith("libc.so"))
    assert libc.owner == "system" and libc.accounted
    assert "numpy" in record.loaded.modules and "ctypes" in record.loaded.modules
    assert any(d.startswith("numpy ") for d in record.loaded.distributions)
    assert record.loaded.python_processes == 1
    assert record.environment.lock_digest.startswith("sha256:") and not record.environment.captured
    assert "not accounted for: " in res.stderr and "libenvsnapextra.so" in res.stderr


def test_a_shell_program_is_recorded_with_the_shell_and_its_children(tmp_path: Path, envsnap: Envsnap) -> None:
    res = envsnap(
        "run", "--output", "out.txt", "--", "sh", "-c", "echo made > out.txt; sleep 0.6; cat out.txt", cwd=tmp_path
    )
    assert res.returncode == 0 and res.stdout == "made\n", res.stderr
    record = rec.load(tmp_path / "run.toml")
    names = {Path(lib.path).name for lib in record.loaded.libraries}
    shell = os.path.basename(os.path.realpath("/bin/sh"))
    assert shell in names and any(n.startswith("libc.so") for n in names), names
    assert record.loaded.python_processes == 0 and record.loaded.processes >= 1
    # No lock given: one was captured and stored beside the record.
    assert record.environment.captured and record.environment.lock == "run.lock"
    assert (tmp_path / "run.lock").is_file()
    [out] = record.outputs()
    assert out.path == "out.txt" and out.kind == "file" and out.files == 1


def test_a_signal_to_envsnap_reaches_the_command_and_the_record_says_interrupted(tmp_path: Path) -> None:
    started = tmp_path / "started"
    code = f"import pathlib, time; pathlib.Path({str(started)!r}).write_text('x'); time.sleep(60)"
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "run", "--", sys.executable, "-c", code],
        cwd=tmp_path,
        env=envsnap_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(started)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    record = rec.load(tmp_path / "run.toml")
    assert record.result.interrupted and record.result.signal == "SIGTERM"
    assert record.result.duration_ms < 50_000


def test_a_command_that_catches_the_sigterm_and_exits_0_still_ends_envsnap_with_143(tmp_path: Path) -> None:
    """A command that caught the SIGTERM envsnap passed on and exited 0 (a trainer saving a checkpoint at a job's
    time limit) was recorded interrupted with exit 0, and envsnap exited 0: a scheduler read a job that completed.
    As `rerun` does, envsnap exits 143 (128+N for the signal it got), says so, and the record and its line say the
    run was interrupted, with the command's own status."""
    started = tmp_path / "started"
    code = (
        "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); "
        f"pathlib.Path({str(started)!r}).write_text('x'); time.sleep(60)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "run", "--", sys.executable, "-c", code],
        cwd=tmp_path,
        env=envsnap_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(started)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    record = rec.load(tmp_path / "run.toml")
    assert record.result.interrupted and record.result.exit_status == 0 and record.result.signal == ""
    assert "(interrupted by SIGTERM, exit 0," in err, err
    assert err.rstrip("\n").splitlines()[-1] == "envsnap: terminated (SIGTERM)", err


def test_the_record_says_which_signal_interrupted_the_run_and_show_and_rerun_say_it(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """A command that caught the SIGTERM envsnap passed on and exited 0 was recorded ``interrupted``, exit 0, no
    ``signal`` (none ended it): nothing said which signal interrupted the run (a job's time limit, a Ctrl-C, a
    closed terminal). The record says so (``result.interrupted_by``), and ``show`` and ``rerun`` name it; a run no
    signal interrupted writes no such field."""
    started = tmp_path / "started"
    code = (
        "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); "
        f"pathlib.Path({str(started)!r}).write_text('x'); time.sleep(60)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "run", "-o", "cut.toml", "--", sys.executable, "-c", code],
        cwd=tmp_path,
        env=envsnap_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(started)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    result = rec.load(tmp_path / "cut.toml").result
    assert (result.interrupted, result.interrupted_by, result.exit_status, result.signal) == (True, "SIGTERM", 0, "")
    assert 'interrupted_by = "SIGTERM"' in (tmp_path / "cut.toml").read_text()
    shown = envsnap("show", "cut.toml", cwd=tmp_path)
    assert shown.returncode == 0 and "exit 0, interrupted by SIGTERM" in shown.stdout, shown.stdout + shown.stderr
    again = envsnap("rerun", "cut.toml", "--dry-run", cwd=tmp_path)
    assert "result: the run was interrupted by SIGTERM (exit 0)" in again.stdout, again.stdout + again.stderr
    plain = envsnap("run", "-o", "plain.toml", "--", "true", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "interrupted_by" not in (tmp_path / "plain.toml").read_text()
    assert rec.load(tmp_path / "plain.toml").result.interrupted_by == ""


def test_a_kill_sigint_is_passed_on_and_the_record_is_still_written(tmp_path: Path) -> None:
    started = tmp_path / "started"
    code = (
        f"import pathlib, time\npathlib.Path({str(started)!r}).write_text('x')\n"
        "try:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    print('cleaned up'); raise SystemExit(9)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "run", "--", sys.executable, "-c", code],
        cwd=tmp_path,
        env=envsnap_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(started)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    # The command's own status is recorded; envsnap, which was sent the signal, exits 130 as for SIGTERM's 143.
    assert out == "cleaned up\n" and proc.returncode == 130, err
    result = rec.load(tmp_path / "run.toml").result
    assert result.interrupted and result.exit_status == 9
    assert "(interrupted by SIGINT, exit 9," in err and err.endswith("envsnap: interrupted\n"), err


def test_secrets_in_the_command_are_redacted_and_it_cannot_be_rerun(tmp_path: Path, envsnap: Envsnap) -> None:
    token = "ghp_" + "a1B2" * 9
    res = envsnap("run", "--", "sh", "-c", "true", f"--token={token}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "run.toml").read_text()
    assert token not in text and "<redacted>" in text
    assert rec.load(tmp_path / "run.toml").command.redacted
    again = envsnap("rerun", "run.toml", "--yes", cwd=tmp_path)
    assert again.returncode == 2 and "redacted" in again.stderr


def test_credentials_in_a_url_of_the_command_are_redacted_by_the_locks_rules() -> None:
    """Only token formats were removed from the command line: a URL's user:password and a database DSN's password
    reached the record, and through it the paper artifact's RO-Crate."""
    from envsnap.runs.assemble import redacted_argv

    argv = [
        "python",
        "train.py",
        "https://user:pass123@example.com/x",
        "--db",
        "postgresql://alice:s3cretpw@db.example/x",
    ]
    argv += ["alice:pw@db.example:5432", "--epochs", "3"]
    kept, redacted = redacted_argv(argv)
    assert redacted and not any(secret in " ".join(kept) for secret in ("pass123", "s3cretpw", ":pw@", "alice"))
    assert kept == (
        "python",
        "train.py",
        "https://example.com/x",
        "--db",
        "postgresql://db.example/x",
        "db.example:5432",
        "--epochs",
        "3",
    )
    assert redacted_argv(["python", "train.py", "--epochs", "3"]) == (("python", "train.py", "--epochs", "3"), False)


def test_strict_refuses_to_start_a_drifted_environment(tmp_path: Path, envsnap: Envsnap, host_lock: Path) -> None:
    lock = host_lock.read_text()
    # A lock of another numpy (or of a package that is not installed): a mismatch.
    drifted = tmp_path / "drifted.lock"
    subprocess.run(
        [sys.executable, "-m", "envsnap", "capture", "-o", str(drifted)],
        env=envsnap_env(),
        check=True,
        capture_output=True,
    )
    import tomli_w
    import tomllib

    data = tomllib.loads(drifted.read_text())
    data["python"]["packages"].append({"name": "not-installed-here", "version": "1.0", "source": {"kind": "index"}})
    data["envsnap"].pop("content_digest")
    drifted.write_text(tomli_w.dumps(data))
    marker = tmp_path / "ran"
    res = envsnap("run", "--strict", "--lock", drifted, "--", "touch", marker, cwd=tmp_path)
    assert res.returncode == 3, res.stderr
    assert "not-installed-here" in res.stderr and "not started" in res.stderr
    assert "(1 mismatch; " in res.stderr, res.stderr  # said "(1 mismatches; ...)"
    assert not marker.exists() and not (tmp_path / "run.toml").exists()
    assert lock  # the session lock is untouched
    # Without --strict the run goes ahead and the drift is recorded.
    res = envsnap("run", "--lock", drifted, "--", "touch", marker, cwd=tmp_path)
    assert res.returncode == 0 and marker.exists()
    assert any(f.subject == "not-installed-here" for f in rec.load(tmp_path / "run.toml").environment.drift)


@pytest.mark.parametrize(
    ("options", "argv", "code"),
    [
        ([], ["definitely-not-a-command-xyz"], 127),
        ([], [], 2),
        (["--data", "no-such-input"], ["touch", "ran"], 2),
        (["-o", "."], ["touch", "ran"], 2),  # a folder (a missing one is made: see below)
        # Standard output is the command's own: the record went into a file named "-", where every other -o - prints.
        (["-o", "-"], ["touch", "ran"], 2),
    ],
)
def test_a_command_that_cannot_start(
    tmp_path: Path, envsnap: Envsnap, options: list[str], argv: list[str], code: int
) -> None:
    res = envsnap("run", *options, "--", *argv, cwd=tmp_path)
    assert res.returncode == code and res.stderr.count("\n") == 1, res.stderr
    assert not (tmp_path / "ran").exists()  # bad input is found before anything runs
    assert not (tmp_path / "-").exists()


def test_a_command_that_does_not_exist_in_a_work_tree_is_one_line_and_127_every_time(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    # In a work tree the git state is read in a thread as the command starts: a command that fails at once ended
    # while that thread was importing the subprocess runner, and the CLI's last step took the runner half made
    # (an AttributeError's traceback after the line, exit 1) on a third of the tries.
    import shutil

    git = shutil.which("git") or "git"
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    ident = ["-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([git, "-C", str(tmp_path), *ident, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    for _ in range(8):
        res = envsnap("run", "-o", tmp_path / "r.toml", "--", "/nonexistent-prog", cwd=tmp_path)
        assert res.returncode == 127, res.stderr
        assert res.stderr == "envsnap: error: /nonexistent-prog: command not found\n"
    assert not (tmp_path / "r.toml").exists()


def test_ctrl_c_at_the_terminal_reaches_the_command_once_and_the_record_says_interrupted(tmp_path: Path) -> None:
    """The terminal's Ctrl-C goes to the whole foreground group: envsnap must not send the command a second
    SIGINT (that would interrupt its cleanup), and still writes the record."""
    import fcntl
    import pty
    import termios

    started = tmp_path / "started"
    code = (
        "import pathlib, signal, time\n"
        "seen = []\n"
        "signal.signal(signal.SIGINT, lambda *a: seen.append(1))\n"
        f"pathlib.Path({str(started)!r}).write_text('x')\n"
        "deadline = time.monotonic() + 60\n"
        "while not seen and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "time.sleep(1.0)\n"
        "print('sigints', len(seen), flush=True)\n"
        "raise SystemExit(4)\n"
    )
    master, slave = pty.openpty()

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "run", "--", sys.executable, "-c", code],
        cwd=tmp_path,
        env=envsnap_env(),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=controlling_terminal,
    )
    os.close(slave)
    _wait_for(started)
    time.sleep(0.3)
    os.write(master, b"\x03")  # Ctrl-C, as the terminal's line discipline reads it
    output = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait(timeout=120) == 4, output
    os.close(master)
    assert b"sigints 1" in output, output
    record = rec.load(tmp_path / "run.toml")
    assert record.result.interrupted and record.result.exit_status == 4


def test_the_hook_hands_over_to_the_sitecustomize_it_shadows(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import os\nos.environ['SHADOWED_RAN'] = 'yes'\n")
    env = envsnap_env()
    env["PYTHONPATH"] = env["PYTHONPATH"] + os.pathsep + str(site)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "envsnap",
            "run",
            "--",
            sys.executable,
            "-c",
            "import os, sitecustomize; print(os.environ.get('SHADOWED_RAN'), sitecustomize.__file__)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    ran, module = res.stdout.split()
    assert ran == "yes" and module == str(site / "sitecustomize.py")
    assert rec.load(tmp_path / "run.toml").loaded.python_processes == 1


def test_a_lock_is_validated_before_the_command_runs_or_read_while_it_runs_once_validated(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    lock = tmp_path / "env.lock"
    lock.write_bytes(host_lock.read_bytes())
    records = []
    for name in ("first.toml", "second.toml"):  # the second run finds these bytes validated
        res = envsnap("run", "--lock", lock, "-o", name, "--", "true", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        records.append(rec.load(tmp_path / name).environment)
    assert records[0] == records[1] and records[0].lock_digest.startswith("sha256:")
    # Other bytes are validated again, before anything runs.
    lock.write_text(lock.read_text().replace("[envsnap]", "[envsnap]\nbogus = 1", 1))
    res = envsnap("run", "--lock", lock, "--", "touch", "ran", cwd=tmp_path)
    assert res.returncode == 2 and "bogus: unknown field" in res.stderr, res.stderr
    assert not (tmp_path / "ran").exists()


def test_the_hook_leaves_sys_path_as_the_program_would_see_it_without_envsnap(tmp_path: Path) -> None:
    # The hook's folder stayed on sys.path, and sys.path was restored after the shadowed sitecustomize ran,
    # dropping what it added (a site's sitecustomize that puts a shared folder on the path broke under envsnap).
    from envsnap.runs import trace

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(f"import sys\nsys.path.append({str(tmp_path / 'shared')!r})\n")
    show = [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path))"]
    for with_site in (True, False):
        env = dict(os.environ, PYTHONPATH=str(site) if with_site else "")
        plain = subprocess.run(show, cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
        hooked = subprocess.run(
            show,
            cwd=tmp_path,
            env=trace.hook_environment(env, str(tmp_path)),
            capture_output=True,
            text=True,
            check=True,
        )
        assert (hooked.stdout, hooked.stderr) == (plain.stdout, plain.stderr) and plain.stderr == ""
        plain = plain.stdout
        assert (str(tmp_path / "shared") in plain) is with_site
    assert list(tmp_path.glob("py-*.json"))  # the hook ran and reported


def test_a_record_named_dot_lock_does_not_replace_its_captured_lock(tmp_path: Path, envsnap: Envsnap) -> None:
    # `-o run1.lock` stored the capture at run1.lock, then wrote the record over it: the record named itself
    # as its lock, and rerun could not check the environment.
    res = envsnap("run", "-o", "run1.lock", "--", "true", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    record = rec.load(tmp_path / "run1.lock")
    assert record.environment.captured and record.environment.lock == "run1.lock.lock"
    assert (tmp_path / "run1.lock.lock").read_text().startswith("[envsnap]")


def _committed_project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A work tree with one commit (``a.txt``), clean, and an environment whose first git call takes a second:
    the command has written what it writes before git reads the tree."""
    import shutil

    real_git = shutil.which("git") or "git"
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.txt").write_text("a\n")
    for args in (["init", "-q"], ["add", "a.txt"], ["-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "a"]):
        subprocess.run([real_git, "-C", str(project), *args], check=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    slow_git = bin_dir / "git"
    slow_git.write_text(
        f'#!/bin/sh\nif [ ! -e {tmp_path}/slow ]; then : > {tmp_path}/slow; sleep 1; fi\nexec {real_git} "$@"\n'
    )
    slow_git.chmod(0o755)
    return project, envsnap_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize("written", ["stray.txt", "a.txt"], ids=["untracked", "tracked"])
def test_a_file_the_command_wrote_before_git_read_the_tree_is_said(tmp_path: Path, written: str) -> None:
    # The git state was read while the command ran: a file it wrote at once (a log; a config it rewrites) was
    # recorded as the project's uncommitted change, dirty = true and its digest the command's, and nothing said
    # so (the same command writing a second later recorded the clean tree).
    project, env = _committed_project(tmp_path)
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "run", "-o", "../run.toml", "--", "sh", "-c", f"echo x > {written}"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert (
        f"envsnap: the code state may include what the command wrote: {written} changed after it started, before "
        "git had read the work tree (code.dirty and code.diff_digest may not be the project's as the command "
        "started)\n"
    ) in res.stderr
    code = rec.load(tmp_path / "run.toml").code
    assert code is not None and code.dirty


def test_an_uncommitted_change_made_before_the_run_is_recorded_and_not_said(tmp_path: Path) -> None:
    # The other side of the line above: what the user changed before the run is the code state, said by nobody.
    project, env = _committed_project(tmp_path)
    (project / "a.txt").write_text("b\n")
    (project / "new.txt").write_text("n\n")
    before = time.time() - 10
    for name in ("a.txt", "new.txt"):
        os.utime(project / name, (before, before))
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "run", "-o", "../run.toml", "--", "sh", "-c", "echo x > ../out.txt"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "code state" not in res.stderr
    code = rec.load(tmp_path / "run.toml").code
    assert code is not None and code.dirty and code.diff_digest.startswith("sha256:")


def test_a_work_tree_git_refuses_as_another_users_is_said_not_taken_for_none(tmp_path: Path) -> None:
    # A checkout another user owns (a colleague's, or one mounted into a container run as another user): git refuses
    # it (its safe.directory check), and the run recorded no code state and said nothing, as if it ran in no work
    # tree. GIT_TEST_ASSUME_DIFFERENT_OWNER is git's own switch for that check.
    project, env = _committed_project(tmp_path)
    env["GIT_TEST_ASSUME_DIFFERENT_OWNER"] = "1"
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "run", "-o", "../run.toml", "--", "true"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert (
        f"envsnap: git refuses to read the work tree at {project}, which another user owns (git's safe.directory "
        "check): the code state (commit, uncommitted change) is not recorded; git config --global --add "
        f"safe.directory {project} lets git read it\n"
    ) in res.stderr
    assert rec.load(tmp_path / "run.toml").code is None


def test_a_command_whose_python_is_not_the_python_option_s_is_said(tmp_path: Path) -> None:
    # ``run --python .venv/bin/python -- python train.py`` outside the activated venv: the record named the venv as
    # the run's environment while the command's ``python`` (the PATH's) ran another, and nothing said so.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    env = envsnap_env()

    def run(python: Path, program: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "envsnap",
                "run",
                "--python",
                str(python),
                "-o",
                "run.toml",
                "--",
                program,
                "-c",
                "",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    res = run(venv / "bin" / "python", sys.executable)
    assert res.returncode == 0, res.stderr
    assert (
        f"envsnap: the command's Python ran in {os.path.realpath(sys.prefix)} ({sys.executable}), not in the "
        f"environment --python {venv / 'bin' / 'python'} names, which the record names as the run's: run that "
        "interpreter as the command, or activate its environment\n"
    ) in res.stderr
    for python, program in (
        (venv / "bin" / "python", str(venv / "bin" / "python")),
        (Path(sys.executable), sys.executable),
    ):
        res = run(python, program)
        assert res.returncode == 0, res.stderr
        assert "the command's Python ran in" not in res.stderr


def test_a_record_folder_envsnap_cannot_write_in_says_why_and_what_to_do(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a read-only checkout (a colleague's, a container's read-only mount) ``envsnap run -- python train.py`` said
    # only "-o run.toml: . is not a folder envsnap can write the record in": neither why nor what to do.
    # os.access is faked: the tests run as root, whom no folder's permissions refuse.
    monkeypatch.chdir(tmp_path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode == os.W_OK else real_access(p, mode, **kw))
    res = cli("run", "--", "true")
    assert (res.code, res.err) == (
        2,
        "envsnap: error: -o run.toml: . is not a folder envsnap can write the record in (you may not write in it): "
        "name a place you can write in with -o (-o DIR/run.toml)\n",
    )
    monkeypatch.setattr(os, "access", real_access)
    (tmp_path / "afile").write_text("x")
    res = cli("run", "-o", "afile/r.toml", "--", "true")
    assert (res.code, res.err) == (
        2,
        "envsnap: error: -o afile/r.toml: afile is not a folder envsnap can write the record in (a file is on the "
        "way): name a place you can write in with -o (-o DIR/r.toml)\n",
    )


def test_an_empty_record_path_is_refused_before_the_command_runs(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``envsnap run -o "$RECORD" -- python train.py`` with the variable unset ran the command to its end, then
    failed on the path ``.`` ("its record was not written: .: cannot write: Is a directory", exit 4): the run was
    lost however long it took. The empty path is one line, exit 2, and the command never starts."""
    monkeypatch.chdir(tmp_path)
    res = cli("run", "-o", "", "--", "sh", "-c", "touch ran")
    assert (res.code, res.err) == (
        2,
        "envsnap: error: -o '': the path is empty (expected a run record); a shell variable left unset?\n",
    )
    assert not (tmp_path / "ran").exists()


def test_an_empty_lock_is_refused_before_the_command_runs_not_taken_for_none(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``envsnap run --lock "$LOCK" --strict -- python train.py`` with the variable unset ran the command with no lock
    to match, exit 0: ``--lock ''`` read as no ``--lock``, so the environment was captured instead and --strict
    refused nothing. The empty path is one line, exit 2, and the command never starts."""
    monkeypatch.chdir(tmp_path)
    res = cli("run", "--lock", "", "--strict", "--", "sh", "-c", "touch ran")
    assert (res.code, res.err) == (
        2,
        "envsnap: error: --lock '': the path is empty (expected a lockfile); a shell variable left unset?\n",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_ctrl_c_after_the_command_ended_still_writes_its_record(tmp_path: Path) -> None:
    # The command had ended and envsnap was still gathering (the git state, the capture): a Ctrl-C then lost
    # the whole record, exit 130, however long the command had run.
    import shutil

    # A project's work tree: the record's gathering asks git about it (outside any work tree git is not run).
    subprocess.run([shutil.which("git") or "git", "init", "-q", str(tmp_path)], check=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    slow_git = bin_dir / "git"  # the first git call (made while the record is gathered) takes 4 s
    slow_git.write_text(
        f"#!/bin/sh\nif [ ! -e {tmp_path}/slow ]; then : > {tmp_path}/slow; sleep 4; fi\n"
        f'exec {shutil.which("git")} "$@"\n'
    )
    slow_git.chmod(0o755)
    ended = tmp_path / "ended"
    env = envsnap_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "run", "--", "sh", "-c", f": > {ended}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(ended)
    _wait_for(tmp_path / "slow")
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "its record is being written" in err
    record = rec.load(tmp_path / "run.toml")
    assert record.result.exit_status == 0 and not record.result.interrupted


def test_a_ctrl_c_while_the_hook_reports_at_exit_prints_nothing(tmp_path: Path) -> None:
    # A Ctrl-C that came while the hook wrote its report at exit printed "Exception ignored in atexit callback"
    # and a traceback on the program's standard error (KeyboardInterrupt is not an Exception).
    from envsnap.runs import trace

    code = (
        "import sys\nclass Json:\n    def dump(self, *args, **kwargs):\n        raise KeyboardInterrupt\n"
        "sys.modules['json'] = Json()\n"
    )  # the hook's json.dump is interrupted
    res = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=trace.hook_environment(dict(os.environ), str(tmp_path)),
        timeout=60,
    )
    assert res.returncode == 0 and res.stderr == "", res.stderr


# Runs envsnap's command line with its spawn of the command spied on: the modules imported when it starts.
SPAWN_SPY = """
import sys
preloaded = set(sys.modules)  # what the interpreter imported at its start (a site's .pth may import pathlib)
import json
import envsnap.runs.execute as execute
spawn = execute._spawn
def spy(*args, **kwargs):
    with open(sys.argv[1], "w") as fh:
        json.dump(sorted(set(sys.modules) - preloaded), fh)
    return spawn(*args, **kwargs)
execute._spawn = spy
from envsnap.cli import main
sys.exit(main(sys.argv[2:]))
"""
# What recording needs but starting the command does not: the lock's model and parser, the grammar and
# packaging under it, the probes, verify, what assembles and writes the record.
NOT_BEFORE_THE_COMMAND = (
    "envsnap.grammar",
    "envsnap.lockfile",
    "envsnap.model",
    "envsnap.probes",
    "envsnap.compare",
    "envsnap.runs.assemble",
    "envsnap.runs.record",
    "envsnap.runs.data",
    "envsnap.runs.gpus",
    "envsnap.cli._output",
    "packaging",
    "tomllib",
    "tomli_w",
)
# ... and the standard library's slower modules, which only the record needs (half of what envsnap imported
# before the command started); reading a lock (--lock) imports some of them before, as it must.
SLOW_STANDARD_MODULES = ("typing", "dataclasses", "pathlib", "datetime", "tempfile", "shutil", "random")


def test_the_command_starts_before_envsnap_imports_what_it_records_with(tmp_path: Path, host_lock: Path) -> None:
    """envsnap run starts the command first and prepares its record while it runs (bench/run_overhead.py):
    with no lock, and with a lock an earlier run validated, nothing heavy is imported before it starts."""
    import site

    # Without the site's .pth files (-S: this interpreter's import pathlib, tempfile and more as it starts),
    # its site folders on PYTHONPATH instead.
    env = envsnap_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], *site.getsitepackages()])
    lock = tmp_path / "env.lock"
    lock.write_bytes(host_lock.read_bytes())
    at_spawn, slow = {}, {}
    for name, options in (("none", []), ("validating", ["--lock", str(lock)]), ("validated", ["--lock", str(lock)])):
        spied = tmp_path / f"{name}.json"
        res = subprocess.run(
            [sys.executable, "-S", "-c", SPAWN_SPY, str(spied), "run", *options, "-o", f"{name}.toml", "--", "true"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == 0, res.stderr
        assert rec.load(tmp_path / f"{name}.toml").result.exit_status == 0
        modules = json.loads(spied.read_text())
        at_spawn[name] = {m for m in modules for h in NOT_BEFORE_THE_COMMAND if m == h or m.startswith(h + ".")}
        slow[name] = set(modules) & set(SLOW_STANDARD_MODULES)
    assert at_spawn["none"] == set() and at_spawn["validated"] == set()
    assert slow["none"] == set()
    assert "typing" not in slow["validated"]  # a lock validated before: its bytes hashed, one entry looked up
    assert "envsnap.lockfile" in at_spawn["validating"]  # a lock not yet validated is, before the command starts


def test_strict_verifies_before_the_command_and_reads_ahead_while_it_runs(
    tmp_path: Path, host_lock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--strict must verify before the command starts; the rest of the preparation (the owner index, the
    RECORD files) still waits for the command to run."""
    import threading

    from envsnap.runs import assemble
    from envsnap.runs.recorder import RunRequest, run_command

    monkeypatch.chdir(tmp_path)
    calls: list[tuple[str, bool]] = []
    real = assemble.read_ahead

    def spy(out: assemble.Prepared, *args: object, **kwargs: object) -> assemble.Prepared:
        calls.append((threading.current_thread().name, out.lock is not None))
        return real(out, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(assemble, "read_ahead", spy)
    record, finished = run_command(
        RunRequest(argv=(sys.executable, "-c", "pass"), record=tmp_path / "run.toml", lock=host_lock, strict=True)
    )
    assert finished.exit_status == 0 and calls == [("envsnap-run", True)]
    assert any(lib.owner for lib in record.loaded.libraries)


def test_the_record_is_prepared_at_low_priority_while_the_command_runs_at_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What envsnap prepares while the command runs must not take CPU the command could use: the preparing
    thread runs at nice 19; the command and the GPU watch keep the nice value envsnap was started with."""
    import threading

    from envsnap.runs import assemble
    from envsnap.runs.recorder import BACKGROUND_NICE, RunRequest, may_raise_priority, run_command

    monkeypatch.chdir(tmp_path)
    nice: list[int] = []
    real = assemble.prepare

    policy: list[int] = []

    prepared = tmp_path / "prepared"

    def spy(*args: object, **kwargs: object) -> assemble.Prepared:
        nice.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        policy.append(os.sched_getscheduler(threading.get_native_id()))
        prepared.touch()  # the command waits for this: once it has ended, the thread is hurried back to nice 0
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(assemble, "prepare", spy)
    from envsnap.runs import gpus

    watched: list[int] = []
    real_start = gpus.GpuWatch.start

    def start(self: gpus.GpuWatch) -> None:  # the GPU watch's poll thread takes its nice value from here
        watched.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        real_start(self)

    monkeypatch.setattr(gpus.GpuWatch, "start", start)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # where the hooks' folder is made, and removed from
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    shown = tmp_path / "nice.txt"
    code = (
        "import os, time; t = time.time(); "
        f"[time.sleep(0.01) for _ in iter(lambda: os.path.exists({str(prepared)!r}) or time.time() - t > 60, True)]; "
        f"open({str(shown)!r}, 'w').write(f'{{os.getpriority(os.PRIO_PROCESS, 0)}} "
        "{os.sched_getscheduler(0)}')"
    )
    record, finished = run_command(RunRequest(argv=(sys.executable, "-c", code), record=tmp_path / "run.toml"))
    assert finished.exit_status == 0 and record.environment.captured
    # (a command that ended before the thread came to prepare would have hurried it back first: under load it did)
    assert nice == [max(ours, BACKGROUND_NICE)] and watched == [ours]
    # Below nice 19 where the thread may come back once the command has ended (root here, as a rule).
    assert policy == [os.SCHED_IDLE if may_raise_priority() else os.SCHED_OTHER]
    assert shown.read_text().split() == [str(ours), str(os.SCHED_OTHER)]
    assert os.getpriority(os.PRIO_PROCESS, 0) == ours
    assert record.loaded.python_processes == 1 and not os.listdir(tmp_path / "tmp")


def test_once_the_command_has_ended_the_preparation_is_back_at_its_own_priority_where_allowed() -> None:
    """What is left to prepare once the command has ended is on the critical path: ``hurry`` puts the thread
    back at the nice value it started with (allowed to root or within RLIMIT_NICE; else it stays low)."""
    import resource
    import threading

    from envsnap.runs.recorder import BACKGROUND_NICE, Background, may_raise_priority

    ours = os.getpriority(os.PRIO_PROCESS, 0)
    if ours >= BACKGROUND_NICE:
        pytest.skip("envsnap already runs at the lowest priority")
    go, tid = threading.Event(), []
    job = Background(lambda: (tid.append(threading.get_native_id()), go.wait(60)), low=True)
    job.start()
    deadline = time.monotonic() + 30
    while not tid and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.getpriority(os.PRIO_PROCESS, tid[0]) == BACKGROUND_NICE
    idle = may_raise_priority()
    assert os.sched_getscheduler(tid[0]) == (os.SCHED_IDLE if idle else os.SCHED_OTHER)
    job.hurry()
    allowed = os.geteuid() == 0 or 20 - ours <= resource.getrlimit(resource.RLIMIT_NICE)[0]
    assert os.getpriority(os.PRIO_PROCESS, tid[0]) == (ours if allowed else BACKGROUND_NICE)
    assert os.sched_getscheduler(tid[0]) == os.SCHED_OTHER
    go.set()
    job.value()


def test_the_gpu_watch_starts_without_importing_the_model() -> None:
    """The GPU watch starts at the command's priority while the command starts: its module imports neither the
    record nor the model (0.2 s of CPU at full priority before, and the preparation waited for it)."""
    code = (
        "import sys; import envsnap.runs.gpus as g; w = g.GpuWatch(pids=set, environ={}); w.start(); w.stop(); "
        "print(sorted(m for m in sys.modules if m.startswith(('envsnap.model', 'envsnap.runs.record', "
        "'envsnap.lockfile', 'envsnap.probes.nvidia', 'dataclasses', 'typing'))))"
    )
    res = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60, env=envsnap_env()
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_what_the_hook_itself_imports_is_not_recorded_as_the_program_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record lists what the program loaded: the hook's own module (envsnap's, from envsnap's install: its
    distribution was listed as one the program used) and the json it imports to write its report are left
    out, unless the program imported them too. (json's extension is left out of the hook's maps, but a sample
    taken as the program exits may still see it mapped.)"""
    from envsnap.runs.recorder import RunRequest, run_command

    monkeypatch.chdir(tmp_path)
    loaded = {}
    for name, code in (("plain", "import sys"), ("json", "import json; json.dumps(1)")):
        record, finished = run_command(RunRequest(argv=(sys.executable, "-c", code), record=tmp_path / f"{name}.toml"))
        assert finished.exit_status == 0 and record.loaded.python_processes == 1
        loaded[name] = record.loaded
    assert "sitecustomize" not in loaded["plain"].modules and "json" not in loaded["plain"].modules
    assert "json" in loaded["json"].modules


def test_what_only_the_hook_mapped_at_exit_is_not_recorded_even_when_a_sample_saw_it(tmp_path: Path) -> None:
    """The hook imports json to write its report, after reading its maps: a sample of the maps taken then saw
    json's extension, and the record listed it as the program's in some runs and not in others (a run of an
    unchanged environment then looked its owner up again). The hook reports what its own import mapped; that is
    left out unless a process of the program mapped it too."""
    from envsnap.runs import trace
    from envsnap.runs.reports import PythonReport, loaded_objects, read_hook_reports

    res = subprocess.run(
        [sys.executable, "-c", "import sys"],
        env=trace.hook_environment(dict(os.environ), str(tmp_path)),
        capture_output=True,
        timeout=60,
    )
    assert res.returncode == 0
    (report,) = read_hook_reports(tmp_path)
    import _json

    if getattr(_json, "__file__", None):  # an extension module here (not built into the interpreter)
        assert report.hook_maps == (os.path.realpath(_json.__file__),) or _json.__file__ in report.hook_maps
        assert not set(report.hook_maps) & set(report.maps)

    def made(maps: tuple[str, ...], hook_maps: tuple[str, ...]) -> PythonReport:
        return PythonReport(1, "py", "3.11.7", "/p", "/p", {}, maps, hook_maps)

    sampled = {"/p/_json.so", "/lib/libc.so.6"}
    assert loaded_objects(sampled, [made(("/lib/libc.so.6",), ("/p/_json.so",))]) == {"/lib/libc.so.6"}
    both = [made(("/lib/libc.so.6",), ("/p/_json.so",)), made(("/p/_json.so",), ())]  # another imported json
    assert loaded_objects(sampled, both) == sampled
    assert loaded_objects({"/bin/sh"}, [made(("/lib/libc.so.6",), ())]) == {"/bin/sh", "/lib/libc.so.6"}


def test_the_hooks_folder_is_private_and_new_and_falls_back_to_tempfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hooks' folder is made without tempfile (before the command starts): a new folder of mode 0700 in
    $TMPDIR; where it cannot be made there, tempfile chooses."""
    import stat

    from envsnap import _leftovers
    from envsnap.runs.recorder import private_folder

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    (first, one), (second, two) = private_folder(), private_folder()
    assert first != second and Path(first).parent == tmp_path == Path(second).parent
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o700 and not os.listdir(first)
    assert _leftovers.find(tmp_path) == []  # held: no sweep takes them while the run lasts
    os.close(one)
    assert [leftover.path for leftover in _leftovers.find(tmp_path)] == [Path(first)]  # its run was killed
    os.close(two)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "missing"))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "chosen"))
    (tmp_path / "chosen").mkdir()
    fallback, held = private_folder()
    os.close(held)
    assert Path(fallback).parent == tmp_path / "chosen" and stat.S_IMODE(os.stat(fallback).st_mode) == 0o700


def test_the_main_thread_imports_before_the_preparing_threads_start_and_after_they_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two threads importing at once can be handed each other's half-made modules (Python's import locks give a
    module another thread is importing as it is, rather than deadlock): "partially initialized module 'typing'
    has no attribute 'ClassVar'" ended a run. What the main thread needs once the command has ended is imported
    before the threads start."""
    from envsnap.runs import execute as execute_module

    monkeypatch.delitem(sys.modules, "envsnap.runs.finished", raising=False)
    seen: list[bool] = []
    finished = execute_module.execute(
        ["true"],
        env=dict(os.environ),
        while_running=lambda pid, sampler: seen.append("envsnap.runs.finished" in sys.modules),
    )
    assert seen == [True] and finished.exit_status == 0


def test_the_locked_interpreter_is_accounted_for_when_no_python_process_reported(tmp_path: Path) -> None:
    """`python -I` (no hook) and a run killed by a signal (no report) listed the locked interpreter's own binary and
    libpython as "not accounted for: no package the lock records owns it"."""
    import os
    import sys

    from envsnap.model import PythonEnv, Snapshot
    from envsnap.runs.assemble import context, loaded

    binary = os.path.realpath(sys.executable)
    lock = Snapshot(python=PythonEnv(version=".".join(map(str, sys.version_info[:3]))))
    ctx = context()
    without = loaded({binary}, [], lock, ctx, method="test", processes=1)
    found = loaded({binary}, [], lock, ctx, method="test", processes=1, python=sys.executable)
    (library,) = found.libraries
    assert library.accounted and library.owner in ("interpreter", "system"), library
    if library.owner == "interpreter":  # a pyenv or source build: no package owns it, only the lock's Python
        (before,) = without.libraries
        assert not before.accounted and before.note == "no package the lock records owns it"


def test_a_ctrl_c_while_the_outputs_are_fingerprinted_exits_130_with_the_record_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It exited with the command's 0, so `envsnap run ... && next_step` went on after the user's Ctrl-C."""
    from envsnap.cli import main
    from envsnap.runs import data as data_mod

    def interrupted(*_args: object, **_kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data_mod, "fingerprint", interrupted)
    code = main(["run", "--output", "out", "-o", str(tmp_path / "run.toml"), "--", "true"])
    assert code == 130
    record = rec.load(tmp_path / "run.toml")
    assert record.result.interrupted and record.result.exit_status == 0 and not record.outputs()


def _wait_until_open(pid: int, path: Path) -> None:
    """Until process ``pid`` has ``path`` open (envsnap reading an output to fingerprint it)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd")):
                return
        except OSError:  # a descriptor closed between the listing and the reading
            pass
        time.sleep(0.01)
    raise AssertionError(f"{path} was never opened")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_sigterm_while_the_outputs_are_fingerprinted_exits_128_plus_n_with_the_record_written(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """SIGTERM after the command ended, while envsnap hashed its outputs, went the Ctrl-C way: the record was
    written (interrupted, without the outputs) but envsnap exited 130, where SIGTERM is 143 everywhere else (a
    batch system tells a time limit from a Ctrl-C by it). A real process: the command makes a large sparse file at
    once, and the signal comes while envsnap reads it."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "run", "--output", "out", "--", "truncate", "-s", "64G", str(out)],
        cwd=tmp_path,
        env=envsnap_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_until_open(proc.pid, out)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert "interrupted while fingerprinting the outputs" in err
    record = rec.load(tmp_path / "run.toml")
    assert record.result.interrupted and record.result.exit_status == 0 and not record.outputs()


def test_an_option_that_names_a_secret_keeps_no_value_in_the_record() -> None:
    """``--api-key=VALUE`` and ``--password VALUE`` (two words) were kept in clear, and the first reached the
    RO-Crate's CreateAction; a model's ``--tokenizer`` or ``--max-tokens`` is no secret and stays."""
    from envsnap.runs.assemble import redacted_argv

    argv = ["python", "train.py", "--api-key=supersecretvalue123", "--password", "hunter2", "--client-secret", "s3"]
    argv += ["--aws-secret-access-key=abc", "--tokenizer", "bert", "--max-tokens", "512", "--auth-method", "basic"]
    kept, redacted = redacted_argv(argv)
    assert redacted and not any(s in " ".join(kept) for s in ("supersecretvalue123", "hunter2", " s3", "=abc"))
    assert kept == (
        "python",
        "train.py",
        "--api-key=<redacted>",
        "--password",
        "<redacted>",
        "--client-secret",
        "<redacted>",
        "--aws-secret-access-key=<redacted>",
        "--tokenizer",
        "bert",
        "--max-tokens",
        "512",
        "--auth-method",
        "basic",
    )
    assert redacted_argv(["prog", "--password"]) == (("prog", "--password"), False)  # no value to hide
    assert redacted_argv(["prog", "--token", "--next"]) == (("prog", "--token", "--next"), False)


def test_an_output_left_from_an_earlier_run_is_not_recorded_as_this_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failing run that wrote nothing recorded the earlier run's results/metrics.json (its digest) as its own
    output; a faithful rerun of the failure then found the output "not written" and said DIFFERENT."""
    from envsnap.cli import main

    out = tmp_path / "metrics.json"
    assert (
        main(["run", "--output", str(out), "-o", str(tmp_path / "ok.toml"), "--", "sh", "-c", f"echo 1 > '{out}'"]) == 0
    )
    ok = {o.path: o for o in rec.load(tmp_path / "ok.toml").outputs()}
    assert ok[str(out)].kind == "file"
    code = main(["run", "--output", str(out), "-o", str(tmp_path / "fail.toml"), "--", "sh", "-c", "exit 1"])
    assert code == 1
    failed = rec.load(tmp_path / "fail.toml")
    (recorded,) = failed.outputs()
    assert recorded.kind == "missing", recorded
    assert "not written by the command (the file from before is unchanged)" in capsys.readouterr().err
    rewritten = main(
        ["run", "--output", str(out), "-o", str(tmp_path / "again.toml"), "--", "sh", "-c", f"echo 2 > '{out}'"]
    )
    assert rewritten == 0 and rec.load(tmp_path / "again.toml").outputs()[0].kind == "file"


def test_an_output_the_command_never_wrote_is_said_at_run_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run --output out/ -- python train.py --output ouut/` (a typo) said nothing: the record held out/ as
    missing, and only a rerun, days later, told the user their result had not been recorded."""
    from envsnap.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["run", "--output", "out/", "-o", "run.toml", "--", "sh", "-c", "mkdir ouut && echo 1 > ouut/m"])
    assert code == 0
    (recorded,) = rec.load(tmp_path / "run.toml").outputs()
    assert recorded.kind == "missing" and recorded.files == 0, recorded
    said = [line for line in capsys.readouterr().err.splitlines() if "output out" in line]
    assert said == ["envsnap: output out/: not written by the command (nothing is at that path after it)"]
    # A command that wrote it says nothing of it.
    assert main(["run", "--output", "out/", "-o", "ok.toml", "--", "sh", "-c", "mkdir out && echo 1 > out/m"]) == 0
    assert "output out" not in capsys.readouterr().err


def test_an_output_folder_left_from_an_earlier_run_is_not_recorded_as_this_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/cli.md: an --output "the command did not write is recorded as missing". A folder was not: a failed
    (or killed) run recorded the earlier run's checkpoints/ (its digest, its files) as its own output."""
    from envsnap.cli import main

    out = tmp_path / "checkpoints"
    (out / "epoch1").mkdir(parents=True)
    (out / "epoch1" / "model.bin").write_bytes(b"weights")
    (out / "log.txt").write_text("loss 0.1\n")
    code = main(["run", "--output", str(out), "-o", str(tmp_path / "fail.toml"), "--", "sh", "-c", "exit 1"])
    assert code == 1
    (recorded,) = rec.load(tmp_path / "fail.toml").outputs()
    assert recorded.kind == "missing", recorded
    assert "not written by the command (the folder from before is unchanged)" in capsys.readouterr().err
    # A run that writes one file of the folder wrote it: the whole folder is its output.
    code = main(
        ["run", "--output", str(out), "-o", str(tmp_path / "ok.toml"), "--", "sh", "-c", f"echo 2 > '{out}/log.txt'"]
    )
    (recorded,) = rec.load(tmp_path / "ok.toml").outputs()
    assert code == 0 and recorded.kind == "directory" and recorded.files == 2, recorded


def test_a_record_in_a_missing_folder_is_written_there_and_a_folder_is_refused_before_the_command_runs(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    # `-o runs/x.toml` without runs/ was exit 2; `-o adir` ran the command, then lost its record ("Is a directory").
    res = envsnap("run", "-o", "runs/day1/x.toml", "--", "true", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert rec.load(tmp_path / "runs" / "day1" / "x.toml").environment.lock == "runs/day1/x.lock"
    assert (tmp_path / "runs" / "day1" / "x.lock").read_text().startswith("[envsnap]")
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "runs").stat().st_mode & 0o777 == 0o777 & ~umask
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x\n")
    for record in ("adir", "adir/", "missing/", "afile/x.toml", "afile/sub/x.toml"):
        res = envsnap("run", "-o", record, "--", "touch", "ran", cwd=tmp_path)
        assert res.returncode == 2 and res.stderr.startswith(f"envsnap: error: -o {record}: "), res.stderr
        assert not (tmp_path / "ran").exists(), record
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile", "runs"]
    assert not list((tmp_path / "adir").iterdir())


def test_a_missing_data_path_is_named_with_its_option(tmp_path: Path, envsnap: Envsnap) -> None:
    # `--data nope` was refused as "nope: no such file or directory", a line that named no option.
    (tmp_path / "dir").mkdir()
    for path in ("nope", "dir/nope.csv"):
        res = envsnap("run", "--data", "dir", "--data", path, "--", "touch", "ran", cwd=tmp_path)
        assert (res.returncode, res.stderr) == (2, f"envsnap: error: --data {path}: no such file or directory\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"]


def test_a_record_already_there_is_replaced_saying_so_and_a_file_of_the_users_own_is_not(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """A second `envsnap run` replaced run.toml (and run.lock beside it) without a word, and `-o results.toml`
    replaced a file of the user's own after the command ran. An earlier record is replaced as the docs say, with one
    line saying so; a file there that is no run record is exit 2 before the command runs, left as it was."""
    first = envsnap("run", "--", "true", cwd=tmp_path)
    assert first.returncode == 0 and "replaced" not in first.stderr, first.stderr
    again = envsnap("run", "--", "true", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    said = [line for line in again.stderr.splitlines() if "replaced" in line]
    assert said == ["envsnap: replaced run.toml, the record of an earlier run there (and run.lock beside it)"], said
    locked = envsnap("run", "--lock", host_lock, "--", "true", cwd=tmp_path)  # no capture written beside it
    said = [line for line in locked.stderr.splitlines() if "replaced" in line]
    assert said == ["envsnap: replaced run.toml, the record of an earlier run there"], locked.stderr
    (tmp_path / "results.toml").write_text("accuracy = 0.93\n")
    res = envsnap("run", "-o", "results.toml", "--", "touch", "ran", cwd=tmp_path)
    assert (res.returncode, res.stderr) == (
        2,
        "envsnap: error: -o results.toml: exists and is not an envsnap run record; run does not replace it: name "
        "another file with -o, or move it away first\n",
    )
    assert not (tmp_path / "ran").exists()
    assert (tmp_path / "results.toml").read_text() == "accuracy = 0.93\n"


def test_a_record_that_is_the_lock_or_a_data_or_output_file_is_refused_before_the_command_runs(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    # `run --lock envsnap.lock -o envsnap.lock` ran the command, then wrote the record over the lock it was checked
    # against (and `--data x.csv -o x.csv` over the data it fingerprinted).
    (tmp_path / "envsnap.lock").write_text("[envsnap]\nschema_version = 1\n")
    (tmp_path / "x.csv").write_text("1,2\n")
    (tmp_path / "link.toml").symlink_to(tmp_path / "envsnap.lock")
    for args in (
        ("--lock", "envsnap.lock", "-o", "envsnap.lock"),
        ("--lock", "envsnap.lock", "-o", "link.toml"),
        ("--lock", "./envsnap.lock", "-o", str(tmp_path / "envsnap.lock")),
        ("--data", "x.csv", "-o", "x.csv"),
        ("--output", "out.toml", "-o", "out.toml"),
    ):
        res = envsnap("run", *args, "--", "touch", "ran", cwd=tmp_path)
        assert res.returncode == 2 and res.stderr.startswith(f"envsnap: error: -o {args[-1]}: "), (args, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and "name another file" in res.stderr, res.stderr
        assert not (tmp_path / "ran").exists(), args
    assert (tmp_path / "envsnap.lock").read_text() == "[envsnap]\nschema_version = 1\n"
    assert (tmp_path / "x.csv").read_text() == "1,2\n"


@pytest.mark.parametrize("with_lock", [False, True])
def test_a_record_that_cannot_be_written_after_the_command_ran_is_exit_4_naming_how_the_command_ended(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path, with_lock: bool
) -> None:
    # A full disk (or the record's folder gone) once the command had run was exit 2, "bad input before anything
    # ran", with no word of the command. Here the command removes the folder: the capture beside the record (no
    # --lock) or the record itself cannot be written.
    (tmp_path / "out").mkdir()
    lock = ["--lock", str(host_lock)] if with_lock else []
    script = "rm -r out; echo result > kept.txt; exit 5"
    res = envsnap("run", *lock, "--output", "kept.txt", "-o", "out/r.toml", "--", "sh", "-c", script, cwd=tmp_path)
    assert res.returncode == 4, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("envsnap: error: the command ran (exit 5) but its record was not written: out/r."), last
    assert "No such file or directory" in last
    assert (tmp_path / "kept.txt").read_text() == "result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


def test_a_record_over_the_size_limit_is_not_written_and_the_command_s_exit_is_said(
    tmp_path: Path, host_lock: Path
) -> None:
    # A --data folder of 3,000 files listed a 630 KB record, written as it was: under ENVSNAP_MAX_LOCK_BYTES=400K
    # no command (show, rerun) could read it back. The command runs; the record is refused as one that cannot be
    # written (exit 4, how the command ended), the record already there left as it was.
    (tmp_path / "d").mkdir()
    for i in range(3000):
        (tmp_path / "d" / f"{'f' * 90}{i:05d}.csv").write_text(str(i))
    res = _run_env(
        tmp_path,
        *("--lock", str(host_lock), "--data", "d", "--output", "kept.txt", "-o", "r.toml", "--"),
        *("sh", "-c", "echo result > kept.txt; exit 5"),
        ENVSNAP_MAX_LOCK_BYTES="400K",
    )
    assert res.returncode == 4, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("envsnap: error: the command ran (exit 5) but its record was not written: r.toml: "), last
    assert "bytes, over the limit of 409600 bytes" in last and "ENVSNAP_MAX_LOCK_BYTES" in last, last
    assert (tmp_path / "kept.txt").read_text() == "result\n"
    assert not (tmp_path / "r.toml").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "kept.txt"]


def _run_env(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in envsnap_env().items() if k not in ("SEED", "WANDB_MODE")}
    return subprocess.run(
        [sys.executable, "-m", "envsnap", "run", *args],
        cwd=tmp_path,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_run_env_records_the_named_variables_as_the_command_got_them(tmp_path: Path, host_lock: Path) -> None:
    """A script's own ``SEED=3`` was in neither the lock nor the record: a rerun without it silently differed.
    ``--env NAME`` records each named variable's value at the start, and an unset one as unset."""
    res = _run_env(
        tmp_path,
        "--lock", str(host_lock), "--env", "SEED", "--env", "WANDB_MODE", "--env", "SEED", "--",
        sys.executable, "-c", "import os; open('seen.txt', 'w').write(os.environ['SEED'])",
        SEED="3 4",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "seen.txt").read_text() == "3 4"  # the command's environment is its own, untouched
    record = rec.load(tmp_path / "run.toml")
    assert record.command.variables == (rec.Variable("SEED", "3 4"), rec.Variable("WANDB_MODE", unset=True))


def test_run_env_of_a_secret_s_variable_is_said_as_the_run_ends(tmp_path: Path, host_lock: Path) -> None:
    """`--env HF_TOKEN` published the token with the record, in silence, though the lock's rules never record a
    value of a variable that looks like a secret. It is still recorded as named, and said; a switch or a number in
    a variable whose name only holds TOKEN (TOKENIZERS_PARALLELISM) is not."""
    token = "hf_" + "a1B2c3D4e5" * 4
    res = _run_env(
        tmp_path,
        "--lock", str(host_lock), "--env", "HF_TOKEN", "--env", "TOKENIZERS_PARALLELISM", "--env", "SEED", "--",
        "true",
        HF_TOKEN=token, TOKENIZERS_PARALLELISM="false", SEED="3",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    said = [line for line in res.stderr.splitlines() if line.startswith("envsnap: --env")]
    assert said == [
        "envsnap: --env HF_TOKEN: it looks like a secret's variable: run.toml holds its value as it is, and so does "
        "every copy you publish (name no secret with --env)"
    ], res.stderr
    assert token not in res.stderr
    variables = rec.load(tmp_path / "run.toml").command.variables
    assert [v.name for v in variables] == ["HF_TOKEN", "TOKENIZERS_PARALLELISM", "SEED"] and variables[0].value == token


def test_run_of_a_command_with_a_secret_says_it_is_recorded_redacted(tmp_path: Path, host_lock: Path) -> None:
    """`envsnap run -- python train.py --api-key KEY` recorded the command with `<redacted>` in place of the key,
    in silence: the author learnt only from a rerun, maybe a reviewer's months later, that the record is one rerun
    refuses. It is said as the run ends; the record is written all the same."""
    res = _run_env(tmp_path, "--lock", str(host_lock), "--", "true", "--api-key", "123456789012")
    assert res.returncode == 0, res.stderr
    said = [line for line in res.stderr.splitlines() if "redacted" in line]
    assert said == [
        "envsnap: the command holds a secret: run.toml records it as <redacted>, so it is not the command that ran "
        "and envsnap rerun will not run it (give the command its secret in a variable or a file it reads)"
    ], res.stderr
    assert "123456789012" not in res.stderr
    assert rec.load(tmp_path / "run.toml").command.redacted
    res = _run_env(tmp_path, "--lock", str(host_lock), "--", "true", "--api-url", "x")
    assert res.returncode == 0 and "redacted" not in res.stderr, res.stderr


def test_run_env_of_a_secret_s_variable_holding_digits_is_said(tmp_path: Path, host_lock: Path) -> None:
    """`--env API_KEY` holding an all-digit key (a numeric API key, a PIN) was published in silence, while any
    other value of the same variable was said: "a number" was taken for a setting. A variable whose name ends as a
    secret's does (API_KEY, TOKEN, SECRET, PASSWORD) is said whatever its value but a switch; a number in one whose
    name only holds such a word (NUM_TOKENS, SESSION_ID) still is not."""
    res = _run_env(
        tmp_path,
        "--lock", str(host_lock), "--env", "API_KEY", "--env", "DB_PASSWORD", "--env", "HF_HUB_DISABLE_IMPLICIT_TOKEN",
        "--env", "NUM_TOKENS", "--env", "SESSION_ID", "--", "true",
        API_KEY="123456789012345678", DB_PASSWORD="4711", HF_HUB_DISABLE_IMPLICIT_TOKEN="1", NUM_TOKENS="2048",
        SESSION_ID="17",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    said = [line for line in res.stderr.splitlines() if line.startswith("envsnap: --env")]
    assert said == [
        f"envsnap: --env {name}: it looks like a secret's variable: run.toml holds its value as it is, and so does "
        "every copy you publish (name no secret with --env)"
        for name in ("API_KEY", "DB_PASSWORD")
    ], res.stderr
    assert "123456789012345678" not in res.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("1SEED", "", "--env 1SEED: not a variable name (letters, digits and _, not starting with a digit)"),
        ("SEED=3", "", "--env SEED=3: not a variable name"),
        ("SEED", "a\nb", "--env SEED: its value holds a control character"),
        ("SEED", "x" * 5000, "--env SEED: its value is longer than 4096 characters"),
    ],
    ids=["digit-first", "equals", "newline", "long"],
)
def test_run_env_refuses_a_bad_name_or_value_before_the_command_runs(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    res = _run_env(tmp_path, "--env", name, "--", "touch", "ran", **({"SEED": value} if value else {}))
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and message in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "ran").exists() and not (tmp_path / "run.toml").exists()


def test_show_of_a_run_counts_one_process_one_file_and_one_finding_in_the_singular(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    # `envsnap show run.toml` of a one-process run with one input file read "22 shared objects in 1 processes" and
    # "data/t.csv: 1 files, ...", and a run that started with one drift finding "Drift at start  1 findings".
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    res = envsnap(
        "run", "--lock", host_lock, "--data", "t.csv", "-o", "run.toml", "--", sys.executable, "-c", "pass",
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    record = rec.load(tmp_path / "run.toml")
    assert record.loaded.processes == 1
    shown = dict(summary.rows(record))
    assert " shared objects in 1 process (1 Python, " in shown["Loaded"], shown["Loaded"]
    assert shown["Input"].startswith("t.csv: 1 file, 8 B, "), shown["Input"]
    drifted = dataclasses.replace(
        record,
        environment=dataclasses.replace(
            record.environment, drift=(rec.Finding("warning", "python", "numpy", "version", "2.0", "2.1"),)
        ),
    )
    assert dict(summary.rows(drifted))["Drift at start"] == "1 finding"
    loaded = dataclasses.replace(record.loaded, processes=2)
    assert " in 2 processes (" in dict(summary.rows(dataclasses.replace(record, loaded=loaded)))["Loaded"]


@pytest.mark.parametrize("name", [b"a\x1b[31mRED\nfake: same", b"b\xff.txt"], ids=["control", "not-utf8"])
def test_a_file_name_a_record_cannot_hold_is_left_out_of_the_entries_and_the_record_reruns(
    tmp_path: Path, envsnap: Envsnap, name: bytes
) -> None:
    # A file in a --data or --output tree whose name has a control character or is not UTF-8: the record was
    # written and then refused by show and rerun (control), or the run ended in a traceback with no record. A name
    # that is not UTF-8 is left out of the entries; one with a control character is listed (the TOML escapes it).
    control = b"\xff" not in name
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ok.txt").write_text("x")
    with open(os.path.join(os.fsencode(tmp_path / "data"), name), "wb") as f:
        f.write(b"y")
    made = "mkdir -p out; printf z > out/ok.txt; cp data/* out/"
    res = envsnap("run", "--data", "data", "--output", "out", "--", "sh", "-c", made, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    record = rec.load(tmp_path / "run.toml")
    for d in record.data:
        assert d.files == 2 and d.complete == control
        assert [e.path for e in d.entries] == (sorted([os.fsdecode(name), "ok.txt"]) if control else ["ok.txt"])
    shown = envsnap("show", "run.toml", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    again = envsnap("rerun", "run.toml", "--yes", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "output out: identical" in again.stdout
    with open(os.path.join(os.fsencode(tmp_path / "data"), name), "wb") as f:
        f.write(b"changed")
    changed = envsnap("rerun", "run.toml", "--dry-run", cwd=tmp_path)
    assert changed.returncode == 3 and "data: differs" in changed.stdout, changed.stdout + changed.stderr
    if control:  # named, made visible
        assert "  $'data/a\\x1b[31mRED\\x0afake: same': changed" in changed.stdout.splitlines(), changed.stdout


def test_a_file_whose_name_is_not_utf8_is_named_by_show_escaped(tmp_path: Path, envsnap: Envsnap) -> None:
    """A file in an output folder whose name is not UTF-8 was counted (``3 files``) and named nowhere: the record
    cannot list it among the entries, and the user could not tell which file it was. The record names it, each byte
    that is not UTF-8 as ``\\xNN`` (a backslash doubled), and ``show`` prints it as the shell word that names it."""
    made = "mkdir -p out; printf a > out/ok.txt; printf b > \"$(printf 'out/b\\377.txt')\"; printf c > 'out/c\\d.txt'"
    res = envsnap("run", "--output", "out", "--", "sh", "-c", made, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(os.fsencode(tmp_path / "out"))) == [b"b\xff.txt", b"c\\d.txt", b"ok.txt"]
    [out] = rec.load(tmp_path / "run.toml").data
    assert out.files == 3 and not out.complete and [e.path for e in out.entries] == ["c\\d.txt", "ok.txt"]
    assert out.unlisted == ("b\\xff.txt",), out.unlisted
    shown = envsnap("show", "run.toml", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "$'out/b\\xff.txt' (its name is not UTF-8: counted, not listed)" in shown.stdout, shown.stdout


def test_rerun_names_a_file_whose_name_is_not_utf8_when_its_folder_differs(tmp_path: Path, envsnap: Envsnap) -> None:
    """An output or data folder whose file named not in UTF-8 changed: rerun said ``differs`` (the digest counts the
    file) and named no file, where the record and ``show`` name it. rerun names it as ``show`` does."""
    made = 'mkdir -p out; printf "$(cat in/v)" > "$(printf \'out/b\\377.txt\')"; printf a > out/ok.txt'
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "v").write_text("1")
    (tmp_path / "in" / os.fsdecode(b"d\xff.txt")).write_text("x")
    res = envsnap("run", "--data", "in", "--output", "out", "--", "sh", "-c", made, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    (tmp_path / "in" / "v").write_text("2")
    (tmp_path / "in" / os.fsdecode(b"d\xff.txt")).write_text("y")
    again = envsnap("rerun", "run.toml", "--yes", cwd=tmp_path)
    lines = again.stdout.splitlines()
    assert "output out: differs" in lines, again.stdout
    said = "(its name is not UTF-8: counted, not listed, so not compared by itself)"
    assert f"  $'b\\xff.txt': in the digest {said}" in lines, again.stdout
    assert f"$'in/d\\xff.txt': in the digest {said}" in again.stdout, again.stdout


def test_a_file_name_with_a_control_character_is_listed_escaped_and_ignore_output_applies(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """A file in an --output folder named with control characters was counted in its digest but not listed: the
    record was partial (complete = false), so --ignore-output could not leave another file of that folder out
    ("not compared", exit 1). It is listed, the record's TOML escaping it, and every terminal line shows it escaped."""
    odd = "a\x1b[31mRED\nfake: same"
    made = (
        "import os, sys\nos.makedirs('out', exist_ok=True)\n"
        f"open(os.path.join('out', {odd!r}), 'w').write(sys.argv[1])\n"
        "open('out/log.txt', 'w').write(str(os.getpid()))\n"
    )
    (tmp_path / "make.py").write_text(made)
    res = envsnap("run", "--output", "out", "--", sys.executable, "make.py", "x", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "run.toml").read_text(encoding="utf-8")
    assert "\x1b" not in text and 'path = "a\\u001b[31mRED\\nfake: same"' in text, text
    (out,) = rec.load(tmp_path / "run.toml").outputs()
    assert out.complete and sorted(e.path for e in out.entries) == sorted([odd, "log.txt"])
    again = envsnap("rerun", "run.toml", "--yes", "--ignore-output", "out/log.txt", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "output out: identical" in again.stdout.splitlines(), again.stdout
    (tmp_path / "make.py").write_text(made.replace("sys.argv[1]", "'changed'"))
    changed = envsnap("rerun", "run.toml", "--yes", "--ignore-output", "out/log.txt", cwd=tmp_path)
    assert changed.returncode == 1 and "\x1b" not in changed.stdout, changed.stdout + changed.stderr
    assert "fake: same" in changed.stdout and "\nfake" not in changed.stdout, changed.stdout
    assert "output out: differs" in changed.stdout.splitlines(), changed.stdout


@pytest.mark.parametrize(
    ("options", "command", "variable", "named"),
    [
        (["--output", "o\nx"], [], None, "--output $'o\\x0ax'"),
        (["--data", "d\x1bx"], [], None, "--data $'d\\x1bx'"),
        ([], [os.fsdecode(b"\xff")], None, "command word 3"),
        (["--env", "V"], [], os.fsdecode(b"\xff"), "--env V"),
    ],
    ids=["output-control", "data-control", "word-not-utf8", "env-not-utf8"],
)
def test_what_a_record_cannot_hold_is_refused_before_the_command_runs(
    tmp_path: Path, options: list[str], command: list[str], variable: str | None, named: str
) -> None:
    # An --output or --data path with a control character wrote a record that show and rerun refused; a command
    # word or --env value that is not UTF-8 ran the command and then ended in a traceback, with no record.
    (tmp_path / "d\x1bx").write_text("x")
    env = envsnap_env(**({"V": variable} if variable is not None else {}))
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "run", *options, "--", "sh", "-c", "touch ran", *command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=120,
    )
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.splitlines()) == 1, res.stderr
    assert named in res.stderr and "run record cannot hold" in res.stderr, res.stderr
    assert not (tmp_path / "ran").exists() and not (tmp_path / "run.toml").exists()


@pytest.mark.parametrize("option", ["--data", "--output"])
def test_an_empty_data_or_output_path_is_refused_before_the_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    """`run --data "$DATA"` with DATA unset hashed the whole current folder (.git, a venv) and recorded it as the
    input "."; an empty --output was "inside the --output folder ()", or recorded the folder as the output."""
    from envsnap.cli import main

    monkeypatch.chdir(tmp_path)
    try:  # refused by the parser, as every empty path is (argparse's error: SystemExit)
        code = main(["run", option, "", "-o", str(tmp_path / "r" / "run.toml"), "--", "sh", "-c", "touch ran"])
    except SystemExit as stopped:
        code = stopped.code
    err = capsys.readouterr().err
    assert code == 2, err
    what = "reads" if option == "--data" else "writes"
    assert err == (
        f"envsnap: error: {option} '': the path is empty (expected a file or folder the command {what}); a shell "
        "variable left unset?\n"
    )
    assert not (tmp_path / "ran").exists() and not (tmp_path / "r" / "run.toml").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_sigterm_after_the_command_ended_still_writes_its_record(tmp_path: Path, sig: signal.Signals) -> None:
    # As a Ctrl-C does (above): the command had ended and envsnap was still gathering the record (a batch job's
    # time limit sends SIGTERM); the record of the whole run was lost, exit 143.
    import shutil

    subprocess.run([shutil.which("git") or "git", "init", "-q", str(tmp_path)], check=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    slow_git = bin_dir / "git"  # the first git call (made while the record is gathered) takes 4 s
    slow_git.write_text(
        f"#!/bin/sh\nif [ ! -e {tmp_path}/slow ]; then : > {tmp_path}/slow; sleep 4; fi\n"
        f'exec {shutil.which("git")} "$@"\n'
    )
    slow_git.chmod(0o755)
    ended = tmp_path / "ended"
    env = envsnap_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "run", "--", "sh", "-c", f": > {ended}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(ended)
    _wait_for(tmp_path / "slow")
    time.sleep(0.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert f"its record is being written ({sig.name} again to abandon it)" in err
    record = rec.load(tmp_path / "run.toml")
    assert record.result.exit_status == 0 and not record.result.interrupted


@pytest.mark.parametrize("option", ["--output", "--data"])
def test_a_record_inside_an_output_or_input_folder_is_refused_before_the_command_runs(
    tmp_path: Path, envsnap: Envsnap, option: str
) -> None:
    # `run --output res -o res/run.toml` put the record and its captured lock in the output folder: every rerun
    # then said the output differs (run.lock, run.toml added), and a --data folder holding them differed as well.
    (tmp_path / "res").mkdir()
    res = envsnap("run", option, "res", "-o", "res/sub/run.toml", "--", "touch", "ran", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith(f"envsnap: error: -o res/sub/run.toml: inside the {option} folder (res)"), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "name a path outside it" in res.stderr, res.stderr
    assert not (tmp_path / "ran").exists() and not (tmp_path / "res" / "sub").exists()
    # Beside the folder, the record reruns identical.
    ok = envsnap("run", "--output", "res", "-o", "res.toml", "--", "sh", "-c", "echo 1 > res/a", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    again = envsnap("rerun", "res.toml", "--yes", cwd=tmp_path)
    assert again.returncode == 0 and "output res: identical" in again.stdout, again.stdout + again.stderr


def test_a_signal_that_cannot_be_passed_on_is_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A SIGTERM envsnap received while the command ran, whose passing on the kernel refused with another error than
    "no such process" (EINVAL, seen once in CI), ended `run` with a traceback and no record. The command runs on to
    its end, and how envsnap was signalled is kept (``received``), as for a signal passed on."""
    import errno
    import threading

    from envsnap.runs import execute

    refused: list[int] = []

    def kill(pid: int, signum: int) -> None:
        refused.append(signum)
        raise OSError(errno.EINVAL, "Invalid argument")

    def while_running(_pid: int, _sampler: object) -> None:
        # To this thread, which blocks it while the command runs: pending for the wait loop. Not to the process
        # (os.kill): another thread of the test run that does not block it would take it, and SIGTERM's default
        # action ends the whole test run.
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
        monkeypatch.setattr(execute.os, "kill", kill)

    finished = execute.execute(
        [sys.executable, "-c", "import time; time.sleep(0.3)"], env=dict(os.environ), while_running=while_running
    )
    assert refused == [signal.SIGTERM]
    assert (finished.exit_status, finished.interrupted, finished.received) == (0, True, signal.SIGTERM)


def test_a_wait_that_hands_back_no_signal_of_the_set_is_no_interruption(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI saw `run` of a plain command end in a traceback, `ValueError: 998427952 is not a valid Signals`: the wait
    for signals once handed back a number no signal has (as the EINVAL of the test above, a kill of it, suggests),
    which was taken for a signal to envsnap, passed on and named. A wait's answer outside the signals waited for is
    no signal: the command runs to its end, not interrupted."""
    from envsnap.runs import execute

    real = signal.sigtimedwait
    odd: list[int] = []

    class Odd:
        si_signo, si_code, si_pid, si_uid, si_status, si_errno, si_band = 998427952, 0, 0, 0, 0, 0, 0

    def wait(sigset: object, timeout: float) -> object:
        if len(odd) < 2:  # once in the wait loop, once in the read of what was left
            odd.append(1)
            return Odd()
        return real(sigset, timeout)  # type: ignore[arg-type]

    monkeypatch.setattr(execute.signal, "sigtimedwait", wait)
    finished = execute.execute([sys.executable, "-c", "import time; time.sleep(0.2)"], env=dict(os.environ))
    assert odd and (finished.exit_status, finished.interrupted, finished.received, finished.passed_on) == (
        0,
        False,
        0,
        0,
    )
    assert finished.after_end == 0


@pytest.mark.parametrize("record", ["uv.toml", "pixi.toml", "results.toml"])
def test_a_file_of_the_users_own_where_the_capture_goes_is_not_replaced(
    record: str, tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """`run -o uv.toml` captures the environment into uv.lock beside the record: it replaced the project's own
    uv.lock (pixi.toml's pixi.lock, ...) without a word, on the first run too, though a file of the user's at -o is
    refused. A file there that is no lock envsnap wrote is exit 2 before the command runs, left as it was; --lock
    (no capture) runs."""
    beside = tmp_path / (record.rsplit(".", 1)[0] + ".lock")
    beside.write_text("version = 1\n")
    res = envsnap("run", "-o", record, "--", "touch", "ran", cwd=tmp_path)
    assert (res.returncode, res.stderr) == (
        2,
        f"envsnap: error: -o {record}: the capture beside it, {beside.name}, exists and is not a lock envsnap wrote; "
        "run does not replace it: name another file with -o, pass --lock, or move it away first\n",
    )
    assert not (tmp_path / "ran").exists() and not (tmp_path / record).exists()
    assert beside.read_text() == "version = 1\n"
    locked = envsnap("run", "-o", record, "--lock", host_lock, "--", "true", cwd=tmp_path)
    assert locked.returncode == 0, locked.stderr
    assert beside.read_text() == "version = 1\n"


def test_an_output_not_written_is_named_as_a_shell_word_made_visible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ``output PATH: not written`` line named the path raw: ``output my out: not written`` read as the output
    ``my``, and a right-to-left override in a name reordered the rest of the line (the terminal saw it as U+FFFD at
    best, one path told from another by nothing). It names it as a shell word, as rerun's output lines do
    (``sinks.path_shown``), a character a terminal would act on written in bash's ``$'...'``."""
    from envsnap.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["run", "--output", "my out", "--output", "bad\u202eevil", "-o", "run.toml", "--", "true"])
    assert code == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "not written" in line]
    assert said == [
        "envsnap: output 'my out': not written by the command (nothing is at that path after it)",
        "envsnap: output $'bad\\u202eevil': not written by the command (nothing is at that path after it)",
    ], said


def test_the_show_command_a_run_names_for_its_record_is_pasteable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``run -o 'my run.toml'`` said "(envsnap show my run.toml)", which pasted shows ``my`` and ``run.toml``: the
    record is a shell word in that command and in the lines that name it."""
    from envsnap.cli import main

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "-o", "my run.toml", "--", "true", f"--msg={home}/nowhere"]) == 0
    err = capsys.readouterr().err
    assert "(envsnap show 'my run.toml')" in err and ": 'my run.toml' keeps it as written" in err, err
    assert "envsnap: recorded 'my run.toml' (exit 0" in err, err


# Runs envsnap's command line with a SIGTERM to itself the moment its command has ended: ``sigtimedwait``, taking
# it before the SIGCHLD (the real race: the command exits, the signal arrives before envsnap reaps it), or ``wait4``
# once it has reaped the command (pending for the last look at the signals).
SIGTERM_AT_THE_END = """
import os, signal, sys, threading
import envsnap.runs.execute as execute
where, spawned = sys.argv[1], []
spawn, sigtimedwait, wait4 = execute._spawn, signal.sigtimedwait, os.wait4
def spy(*args, **kwargs):
    spawned.append(spawn(*args, **kwargs))
    return spawned[-1]
def term():
    spawned.append(0)  # once
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
def timed(wanted, timeout):
    if where == "sigtimedwait" and len(spawned) == 1:
        os.waitid(os.P_PID, spawned[0], os.WEXITED | os.WNOWAIT)  # ended, not reaped
        term()
    return sigtimedwait(wanted, timeout)
def reaped(pid, options):
    found = wait4(pid, options)
    if where == "wait4" and len(spawned) == 1 and found[0] == pid:
        term()
    return found
execute._spawn, signal.sigtimedwait, os.wait4 = spy, timed, reaped
from envsnap.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("where", ["sigtimedwait", "wait4"])
def test_a_sigterm_just_after_the_command_ended_is_not_an_interrupted_run(tmp_path: Path, where: str) -> None:
    """A SIGTERM that came once the command had exited, before envsnap reaped it (or while it took its last look at
    the signals), marked the record ``interrupted = true`` with exit 0, and envsnap exited 0: record and status
    disagreed. The command completed: the run is not interrupted, and the signal is taken as one after the command
    ended (the record is written, envsnap exits with the command's status)."""
    res = subprocess.run(
        [sys.executable, "-c", SIGTERM_AT_THE_END, where, "run", "--", "true"],
        cwd=tmp_path,
        env=envsnap_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "its record is being written (SIGTERM again to abandon it)" in res.stderr, res.stderr
    record = rec.load(tmp_path / "run.toml")
    assert (record.result.exit_status, record.result.interrupted) == (0, False), record.result


@pytest.mark.parametrize("fast", [False, True], ids=["sha256", "size-mtime"])
def test_show_of_a_record_names_a_datas_digest_once(tmp_path: Path, envsnap: Envsnap, fast: bool) -> None:
    """``show`` of a run record said ``in.txt: 1 file, 3 B, sha256 sha256:...``: the method, then the digest that
    names it again. The digest is named once; one of sizes and times (``--data-fast``) says so."""
    (tmp_path / "in.txt").write_text("hi\n")
    res = envsnap("run", *(["--data-fast"] if fast else []), "--data", "in.txt", "--", "true", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    record = rec.load(tmp_path / "run.toml")
    (value,) = [value for key, value in summary.rows(record) if key == "Input"]
    digest = record.data[0].digest
    how = " (by size and modification time: --data-fast)" if fast else ""
    assert value == f"in.txt: 1 file, 3 B, {digest}{how}", value


def test_the_drift_said_at_the_start_names_a_local_source_by_its_path_and_records_its_url(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """``run`` said the environment's drift from its lock as the record keeps it, a local source by its
    percent-encoded URL (``source file:///srv/my%20dir/pytest-1.0.tar.gz``), where verify prints its path; so did
    ``--strict`` refusing to start. They say the path, one shell word, as verify does; the record keeps the URL,
    which rerun compares."""
    from envsnap import lockfile
    from envsnap.model import Source

    lock = lockfile.load(host_lock)
    source = Source(kind="archive", url="file:///srv/my%20dir/pytest-1.0.tar.gz")
    # Another archive, of other files: a mismatch (of the same files, it is one install by two ways, info).
    digest = "sha256:" + "0" * 64
    packages = tuple(
        dataclasses.replace(p, source=source, record_digest=digest) if p.name == "pytest" else p
        for p in lock.python.packages
    )
    drifted = lockfile.dump(
        dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=packages)), tmp_path / "d.lock"
    )
    res = envsnap("run", "--lock", drifted, "--", "true", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "mismatch: python: pytest: source '/srv/my dir/pytest-1.0.tar.gz' -> index" in res.stderr, res.stderr
    assert "my%20dir" not in res.stderr, res.stderr
    drift = rec.load(tmp_path / "run.toml").environment.drift
    found = [f for f in drift if (f.subject, f.what) == ("pytest", "source")]
    assert [(f.expected, f.actual) for f in found] == [("file:///srv/my%20dir/pytest-1.0.tar.gz", "index")], drift
    res = envsnap("run", "--strict", "--lock", drifted, "--", "true", cwd=tmp_path)
    assert res.returncode == 3 and "not started" in res.stderr, res.stderr
    assert "'/srv/my dir/pytest-1.0.tar.gz'" in res.stderr and "my%20dir" not in res.stderr, res.stderr
