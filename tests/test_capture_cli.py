from __future__ import annotations

import getpass
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult

import envsnap
from envsnap import lockfile


def test_capture_show_and_json(cli: Callable[..., object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = cli("capture")
    assert res.code == 0, res  # type: ignore[attr-defined]
    lock = tmp_path / "envsnap.lock"
    snap = envsnap.load(lock)
    assert snap.envsnap.schema_version == 1 and snap.envsnap.generator == f"envsnap {envsnap.__version__}"
    assert snap.envsnap.created.endswith("Z")
    # envsnap itself is captured (as envsnap-lock; an editable install made before the rename: envsnap).
    assert (snap.package("envsnap-lock") or snap.package("envsnap")) is not None
    assert snap.package("packaging") is not None
    assert snap.python.version == ".".join(map(str, sys.version_info[:3]))
    assert snap.hardware.cpu.logical_cores == os.cpu_count()
    assert "wrote envsnap.lock" in res.err  # type: ignore[attr-defined]
    shown = cli("show", str(lock))
    assert shown.code == 0 and "Python" in shown.out, shown
    # The whole digest, on one line (piped, it was cut at 80 columns: "sha256:ad49...e8…").
    digest = [line.split("│")[2].strip() for line in shown.out.splitlines() if "│ Digest " in line]  # type: ignore[attr-defined]
    assert digest == [snap.envsnap.content_digest], shown
    as_json = cli("show", "--json", str(lock))
    assert '"schema_version": 1' in as_json.out  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ["capture", "pin", "import"])
def test_a_file_of_the_user_s_at_the_output_is_not_replaced_by_a_lock(
    cli: Callable[..., object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """``envsnap capture -o notes.md`` (``pin LOCK -o``, ``import FILE -o``) replaced a file of the user's own there
    with a lock, without a word: exit 0, the notes gone. ``run -o`` and ``export -o`` refuse such a file; so do
    these, exit 2, the file left as it was. A lock envsnap wrote there, and an empty file, are replaced as before."""
    from testutil import sample_lock

    monkeypatch.chdir(tmp_path)
    lock = lockfile.dump(sample_lock(seal=True), tmp_path / "in.lock")
    (tmp_path / "requirements.txt").write_text("six==1.17.0 --hash=sha256:" + "4" * 64 + "\n")
    args = {"capture": ["capture"], "pin": ["pin", str(lock)], "import": ["import", "requirements.txt"]}[command]
    notes = tmp_path / "notes.md"
    notes.write_text("my notes\n")
    refused = cli(*args, "-o", str(notes))
    assert refused.code == 2, refused  # type: ignore[attr-defined]
    said = f"-o {notes}: exists and is not a lock envsnap wrote; {command} does not replace it"
    assert said in refused.err and "Traceback" not in refused.err, refused  # type: ignore[attr-defined]
    assert notes.read_text() == "my notes\n"
    earlier = tmp_path / "earlier.lock"
    for before in ("", lockfile.dumps(sample_lock(seal=True))):
        earlier.write_text(before)
        written = cli(*args, "-o", str(earlier))
        assert written.code == 0, written  # type: ignore[attr-defined]
        assert lockfile.load(earlier).envsnap.content_digest


def test_capture_to_stdout(cli: Callable[..., object]) -> None:
    res = cli("capture", "-o", "-")
    assert res.code == 0  # type: ignore[attr-defined]
    assert lockfile.loads(res.out).python.packages  # type: ignore[attr-defined]


def test_same_environment_same_bytes(tmp_path: Path) -> None:
    def capture_text(name: str) -> str:
        out = tmp_path / name
        subprocess.run(
            [sys.executable, "-m", "envsnap", "capture", "-o", str(out)], check=True, cwd=tmp_path, capture_output=True
        )
        return "\n".join(line for line in out.read_text().splitlines() if not line.startswith("created = "))

    assert capture_text("a.lock") == capture_text("b.lock")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "/no/such.lock"], "no such lockfile"),
        (["capture", "--project", "/no/such/dir"], "--project /no/such/dir: no such directory"),
        (["capture", "--python", "/no/such/python"], "no such interpreter"),
        (["capture", "-o", "/dev/null/envsnap.lock"], "cannot write"),  # a path through a file
        (["frobnicate"], "invalid choice"),
        (["capture", "-o", "-", "--json"], "-o - and --json both write to standard output"),
        # Non-finite or huge timeouts crashed the NVML call with a traceback; zero or negative ones meant "hung".
        (["capture", "--gpu-timeout", "inf"], "argument --gpu-timeout: 'inf': expected seconds > 0"),
        (["capture", "--gpu-timeout", "nan"], "argument --gpu-timeout: 'nan': expected seconds > 0"),
        (["capture", "--gpu-timeout", "1e300"], "argument --gpu-timeout: '1e300': expected seconds > 0"),
        (["capture", "--gpu-timeout", "-1"], "argument --gpu-timeout: '-1': expected seconds > 0"),
        (["capture", "--deep-timeout", "0"], "argument --deep-timeout: '0': expected seconds > 0"),
        (["capture", "--deep-timeout", "soon"], "argument --deep-timeout: not a number of seconds: 'soon'"),
        (["check", "envsnap.lock", "--gpu-timeout", "0"], "argument --gpu-timeout: '0': expected seconds > 0"),
        (["check", "envsnap.lock", "--gpu-timeout", "-2"], "argument --gpu-timeout: '-2': expected seconds > 0"),
        (["check", "envsnap.lock", "--gpu-timeout", "soon"], "argument --gpu-timeout: not a number of seconds: 'soon'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli: Callable[..., object], args: list[str], message: str) -> None:
    res = cli(*args)
    assert res.code == 2, res  # type: ignore[attr-defined]
    assert message in res.err and "Traceback" not in res.err  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        # A newcomer's first command: the line named the missing COMMAND, and neither the commands nor where to see them
        ([], "envsnap: error: the following arguments are required: COMMAND (see envsnap --help)"),
        (["check"], "envsnap: error: the following arguments are required: LOCK (see envsnap check --help)"),
        (["capture", "--bogus"], "envsnap: error: unrecognized arguments: --bogus (see envsnap capture --help)"),
        (["fleet"], "envsnap: error: the following arguments are required: SUBCOMMAND (see envsnap fleet --help)"),
        (["fleet", "check"], "the following arguments are required: LOCK (see envsnap fleet check --help)"),
        (["diff", "a.lock"], "envsnap: error: the following arguments are required: B (see envsnap diff --help)"),
    ],
)
def test_a_usage_error_says_where_the_usage_is(cli: Callable[..., object], args: list[str], line: str) -> None:
    res = cli(*args)
    assert res.code == 2 and res.out == "", res  # type: ignore[attr-defined]
    [said] = res.err.splitlines()  # type: ignore[attr-defined]
    assert said.endswith(line) and said.startswith("envsnap: error: "), said


def test_an_interpreter_given_to_prefix_says_to_pass_the_folder(cli: Callable[..., object], tmp_path: Path) -> None:
    """``--prefix ENV/bin/python``: "no such directory", of a path that exists. Now the error says it is a file,
    names the environment's folder for --prefix, and sends the interpreter to --python."""
    env = tmp_path / "env"
    (env / "conda-meta").mkdir(parents=True)
    (env / "bin").mkdir()
    python = env / "bin" / "python"
    python.symlink_to(sys.executable)
    for args in (["--prefix", python], ["--python", sys.executable, "--prefix", python]):
        res = cli("capture", "-o", tmp_path / "x.lock", *args)
        assert res.code == 2, res  # type: ignore[attr-defined]
        assert res.err == (  # type: ignore[attr-defined]
            f"envsnap: error: --prefix {python}: a file, not a folder: --prefix takes the conda environment's "
            f"folder ({env}); pass an interpreter as --python {python}\n"
        )
        assert not (tmp_path / "x.lock").exists()


def test_the_python_an_interpreter_given_to_prefix_is_sent_to_is_a_shell_word(
    cli: Callable[..., object], tmp_path: Path
) -> None:
    """``--prefix 'my env/bin/python'`` said "pass an interpreter as --python my env/bin/python", which pasted passes
    ``my`` and an argument ``env/bin/python``: the path is one shell word."""
    env = tmp_path / "my env"
    (env / "conda-meta").mkdir(parents=True)
    (env / "bin").mkdir()
    python = env / "bin" / "python"
    python.symlink_to(sys.executable)
    res = cli("capture", "-o", tmp_path / "x.lock", "--prefix", python)
    assert res.code == 2, res  # type: ignore[attr-defined]
    assert res.err.endswith(f"; pass an interpreter as --python '{python}'\n"), res  # type: ignore[attr-defined]


def test_a_removed_working_directory_is_no_traceback(tmp_path: Path) -> None:
    gone, out = tmp_path / "gone", tmp_path / "envsnap.lock"
    lock = lockfile.dump(envsnap.capture(), tmp_path / "copy.lock")
    script = (
        f"cd {gone} && rmdir {gone} && exec {sys.executable} -c "
        "'import sys; from envsnap.cli import main; sys.exit(main(sys.argv[1:]))' \"$@\""
    )
    for args, code, err in (
        (["capture", "-o", str(out)], 0, "capturing "),
        (["check", str(lock)], 2, "envsnap: error: the working directory no longer exists"),
    ):
        gone.mkdir()
        res = subprocess.run(["sh", "-c", script, "sh", *args], capture_output=True, text=True)
        assert res.returncode == code and res.stderr.startswith(err) and "Traceback" not in res.stderr, res.stderr
    assert envsnap.load(out).project is None


def test_corrupt_lock_is_one_line(cli: Callable[..., object], tmp_path: Path) -> None:
    bad = tmp_path / "bad.lock"
    bad.write_text("[envsnap]\nschema_version = 1\n[python]\nversion = 3\n")
    res = cli("show", str(bad))
    assert (
        res.code == 2 and res.err.strip() == f"envsnap: error: {bad}: python.version: expected a string, got an integer"
    )  # type: ignore[attr-defined]


def test_no_personal_data_or_secrets_reach_the_lockfile(tmp_path: Path) -> None:
    """Plant secrets everywhere envsnap looks and prove none reach the file."""
    home = tmp_path / "home" / "alice-secret-user"
    proj = home / "research"
    proj.mkdir(parents=True)
    for args in (["init", "-q", "-b", "main"], ["config", "user.email", "a@example.org"], ["config", "user.name", "a"]):
        subprocess.run(["git", "-C", str(proj), *args], check=True)
    (proj / "x.py").write_text("1\n")
    subprocess.run(["git", "-C", str(proj), "add", "."], check=True)
    subprocess.run(["git", "-C", str(proj), "commit", "-qm", "c"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(proj),
            "remote",
            "add",
            "origin",
            "https://alice:glpat-SECRETSECRETSECRET1234@gitlab.example.org/a/r.git",
        ],
        check=True,
    )
    env = dict(os.environ)
    env.update(
        {
            "HOME": str(home),
            "OMP_NUM_THREADS": "8",
            "HF_TOKEN": "hf_PLANTEDPLANTEDPLANTEDPLANTED",
            "WANDB_API_KEY": "PLANTED-wandb-key",
            "TORCH_SECRET_THING": "PLANTED-torch-secret",
            "NCCL_DEBUG": "ghp_PLANTEDPLANTEDPLANTEDPLANTED1234",
            "TF_CPP_MIN_LOG_LEVEL": "https://bob:PLANTEDpw@example.org/x",
            "LD_LIBRARY_PATH": f"{home}/cuda/lib64",
        }
    )
    out = proj / "envsnap.lock"
    subprocess.run(
        [sys.executable, "-m", "envsnap", "capture", "-o", str(out)], check=True, cwd=proj, env=env, capture_output=True
    )
    text = out.read_text()
    assert "PLANTED" not in text and "SECRET" not in text
    assert "alice" not in text and str(home) not in text
    assert f'"{socket.gethostname()}"' not in text and f"{socket.gethostname()}." not in text
    if getpass.getuser() not in ("root",):
        assert getpass.getuser() not in text
    snap = lockfile.loads(text)
    assert snap.environment["OMP_NUM_THREADS"] == "8"
    assert snap.environment["LD_LIBRARY_PATH"] == "~/cuda/lib64"
    assert snap.project is not None and snap.project.remote_url == "https://gitlab.example.org/a/r.git"


def test_python_api_round_trip(tmp_path: Path) -> None:
    snap = envsnap.capture()
    path = envsnap.dump(snap, tmp_path / "x.lock")
    assert envsnap.load(path).python == snap.python


def test_show_says_unknown_for_what_an_imported_lock_does_not_know() -> None:
    from envsnap.cli.show import summary_rows
    from envsnap.model import Meta, PythonEnv, PythonPackage, Snapshot

    imported = Snapshot(
        envsnap=Meta(generator="envsnap import from requirements.txt"),
        python=PythonEnv(kind="venv", packages=(PythonPackage(name="six", version="1.16.0"),)),
    )
    rows = dict(summary_rows(imported))
    assert {k: rows[k] for k in ("Python", "OS", "libc", "CPU", "Memory", "Captured")} == {
        "Python": "unknown (venv)",
        "OS": "unknown",
        "libc": "unknown",
        "CPU": "unknown",
        "Memory": "unknown",
        "Captured": "by envsnap import from requirements.txt",
    }
    # A lock whose digest was removed loads (hand-written locks are allowed), but show says it is unverified.
    assert rows["Digest"] == "none: the lock is not sealed, edits cannot be detected"
    # The system packages an import does not record read "0 (no package manager), 0 needed by Python packages".
    knows_none = Snapshot(envsnap=Meta(origin="requirements", unknown=("system",)), python=imported.python)
    assert dict(summary_rows(knows_none))["System packages"] == "unknown"
    assert dict(summary_rows(imported))["System packages"].startswith("0 (no package manager)")
    # A pylock or requirements file does not say what kind of environment it came from: its import's "venv" is
    # what a rebuild makes, not a fact of the environment it describes.
    kind_unknown = Snapshot(envsnap=Meta(origin="pylock", unknown=("python.kind",)), python=imported.python)
    assert dict(summary_rows(kind_unknown))["Python"] == "unknown"


def test_show_of_a_conda_environment_without_python_says_it_has_no_python_layer() -> None:
    """capture --prefix of a conda env without Python: show read "Python  unknown (system)"."""
    from envsnap.cli.show import summary_rows
    from envsnap.model import Conda, CondaPackage, PythonEnv, Snapshot

    lock = Snapshot(python=PythonEnv(kind="system"), conda=Conda(packages=(CondaPackage("zlib", "1.3.1"),)))
    assert dict(summary_rows(lock))["Python"] == "none: no Python layer (a conda environment without Python)"


def test_show_counts_the_python_packages_conda_installed_as_conda() -> None:
    """A conda environment's lock read "3 Python (3 index)": the Python packages conda installed were counted
    as index installs, which pin, bundle and rebuild leave to the conda layer."""
    from envsnap.cli.show import summary_rows
    from envsnap.model import Conda, CondaPackage, PythonEnv, PythonPackage, Snapshot

    packages = (
        PythonPackage("numpy", "2.1.0", conda_managed=True),
        PythonPackage("pip", "24.2", installer="conda"),
        PythonPackage("requests", "2.32.3"),
    )
    lock = Snapshot(
        python=PythonEnv(version="3.11.9", packages=packages), conda=Conda(packages=(CondaPackage("numpy", "2.1.0"),))
    )
    assert dict(summary_rows(lock))["Packages"] == "3 Python (2 conda, 1 index)"


def test_show_counts_the_packages_a_venv_saw_in_its_base_interpreter() -> None:
    """A venv made with ``--system-site-packages`` over Debian's python3 read "44 Python (5 directory, 39 index)":
    nothing said that 25 of them were the base interpreter's, which the venv does not hold and a rebuild installs
    into the new venv (the lock's ``base_site``)."""
    from envsnap.cli.show import summary_rows
    from envsnap.model import PythonEnv, PythonPackage, Snapshot

    packages = (PythonPackage("six", "1.16.0", base_site=True), PythonPackage("idna", "3.7"))
    lock = Snapshot(python=PythonEnv(version="3.11.2", kind="venv", packages=packages))
    assert dict(summary_rows(lock))["Packages"] == "2 Python (2 index; 1 from the base interpreter's site-packages)"


def test_show_keeps_the_driver_version_when_one_gpu_did_not_answer() -> None:
    """A capture on which one GPU fell off the bus (NVML: "GPU is lost") records the driver that answered and the
    error; show's driver row read only "error: GPU 2: nvmlDeviceGetName: GPU is lost", and that GPU's row
    ", sm 8.0, 0 MiB"."""
    import dataclasses

    from envsnap.cli.show import summary_rows
    from envsnap.model import Gpu, Hardware, Nvidia, Snapshot

    lost = "GPU 1: nvmlDeviceGetName: GPU is lost"
    lock = Snapshot(
        nvidia=Nvidia(driver_version="550.54.14", cuda_driver_version="12.4", source="nvml", error=lost),
        hardware=Hardware(gpus=(Gpu(0, "NVIDIA H100 80GB HBM3", "9.0", 81920), Gpu(1, "", "8.0", 0))),
    )
    rows = dict(summary_rows(lock))
    assert rows["NVIDIA driver"] == f"550.54.14 (CUDA 12.4); error: {lost}"
    # Why it has no name, as the appendix says it (the row gave none).
    assert rows["GPU 1"] == "unknown GPU (NVML: GPU is lost), sm 8.0"
    assert dict(summary_rows(dataclasses.replace(lock, nvidia=None)))["GPU 1"] == "unknown GPU, sm 8.0"
    dead = Snapshot(nvidia=Nvidia(source="nvml", error="nvmlInit: Driver Not Loaded"))
    assert dict(summary_rows(dead))["NVIDIA driver"] == "error: nvmlInit: Driver Not Loaded"


def test_show_says_a_toolkit_the_environment_does_not_load_is_present_not_loaded() -> None:
    """A torch built for CUDA loads its own runtime wheel and cuDNN; /usr/local/cuda is there too. show's CUDA row
    read "runtime 12.8.90, cuDNN 9.8.0, toolkit 13.0", as if the toolkit were loaded with them; where a loaded
    component comes from it (CUDA_HOME), it is."""
    import dataclasses

    from envsnap.cli.show import summary_rows
    from envsnap.model import Cuda, CudaLibrary, Snapshot

    copies = (
        CudaLibrary("runtime", "12.8.90", "pip", "nvidia-cuda-runtime-cu12", selected=True),
        CudaLibrary("runtime", "13.0.96", "cuda_home", "/usr/local/cuda/lib64"),
    )
    cuda = Cuda(
        runtime_version="12.8.90",
        runtime_source="pip",
        cudnn_version="9.8.0",
        cudnn_source="pip",
        toolkit_version="13.0",
        toolkit_path="/usr/local/cuda",
        copies=copies,
    )
    rows = dict(summary_rows(Snapshot(cuda=cuda)))
    assert rows["CUDA"] == "runtime 12.8.90, cuDNN 9.8.0; toolkit 13.0 present, not loaded"
    from_home = dataclasses.replace(cuda, runtime_version="13.0.96", runtime_source="cuda_home")
    assert dict(summary_rows(Snapshot(cuda=from_home)))["CUDA"] == "runtime 13.0.96, cuDNN 9.8.0, toolkit 13.0"


def test_a_project_folder_outside_git_says_what_to_name(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``capture --project DIR`` of a folder in no git work tree said only "not inside a git work tree", and the
    same where git is not installed, where it is not known. Each line says what it is and what to name."""
    from envsnap import _tools

    folder = tmp_path / "results"
    folder.mkdir()
    res = cli("capture", "--project", folder, "-o", tmp_path / "x.lock")
    assert (res.code, res.err) == (
        2,
        f"envsnap: error: --project {folder}: not inside a git work tree: name a folder of the project's git clone, "
        "whose commit the lock records\n",
    )
    (folder / ".git").mkdir()  # a work tree git would read, were it installed
    monkeypatch.setattr(_tools, "git", lambda: None)
    res = cli("capture", "--project", folder, "-o", tmp_path / "x.lock")
    assert (res.code, res.err) == (
        2,
        f"envsnap: error: --project {folder}: git is not installed, which reads the project's commit: install git, "
        "or leave --project out\n",
    )


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="no /proc: not Linux")
def test_capture_into_proc_says_the_folder_takes_no_file(
    cli: Callable[..., object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``capture -o /proc/x.lock`` read ``cannot write: No such file or directory`` of a folder that is there (the
    kernel's file system refuses to make a file, root's too): one line, exit 2, saying why, and nothing made."""
    from envsnap._fs import check_writable, kernel_filesystem

    monkeypatch.chdir(tmp_path)
    reason = (
        "cannot write: /proc is on the kernel's proc file system, which holds only the kernel's own entries and "
        "takes no file: give a path in a folder of yours"
    )
    for out in ("/proc/x.lock", "/proc/envsnap-new/x.lock"):
        res = cli("capture", "-o", out)
        assert res.code == 2, res  # type: ignore[attr-defined]
        assert res.err.splitlines()[-1] == f"envsnap: error: {out}: {reason}", res  # type: ignore[attr-defined]
        assert "Traceback" not in res.err  # type: ignore[attr-defined]
    assert not os.path.exists("/proc/envsnap-new") and not os.path.exists("/proc/x.lock")
    assert list(tmp_path.iterdir()) == []
    # Asked before a long command's work (pin -o, export -o), as for a folder that may not be written.
    with pytest.raises(PermissionError):
        check_writable("/proc/x.lock")
    assert kernel_filesystem("/proc/self") == "proc" and kernel_filesystem(tmp_path) == ""


def test_a_capture_whose_lock_would_be_over_the_size_limit_writes_nothing(
    cli: Callable[..., object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock envsnap writes is one it reads: an environment whose lock is over ``ENVSNAP_MAX_LOCK_BYTES`` (here a
    small one) is one line, exit 2, and nothing written, as for an import, also where the capture memo kept the lock
    of an earlier capture made under a larger limit."""
    first = cli("capture", "-o", tmp_path / "first.lock")
    assert first.code == 0, first  # type: ignore[attr-defined]
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", "4K")
    for output in ("second.lock", "-"):
        res = cli("capture", "-o", tmp_path / output if output != "-" else "-")
        assert res.code == 2 and res.out == "", res  # type: ignore[attr-defined]
        said = [line for line in res.err.splitlines() if line.startswith("envsnap: error:")]  # type: ignore[attr-defined]
        assert len(said) == 1 and said[0].startswith("envsnap: error: the lock would be "), res
        assert said[0].endswith(
            " bytes, over the limit of 4096 bytes envsnap reads a lock under (raise it with ENVSNAP_MAX_LOCK_BYTES); "
            "nothing written"
        ), said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.lock"]


def test_a_distribution_whose_name_no_lock_can_hold_is_left_out_with_a_warning(
    cli: Callable[..., object], tmp_path: Path
) -> None:
    """An installed distribution whose name or version the lock's grammar refuses (a hand-made ``.dist-info``:
    ``Name: odd name!``) was captured into a lock that every later command refused, then failed the whole capture
    (exit 2): it is left out with a warning naming its folder, as a broken record is, the rest is recorded, and the
    lock written reads back."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    (site,) = venv.glob("lib/python3*/site-packages")
    made = (
        ("odd-2.dist-info", "odd name!", "2"),
        ("ok-1.0.dist-info", "ok", "1.0"),
        ("weird-1.dist-info", "weird", "1 0"),
    )
    for folder, name, version in made:
        info = site / folder
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lock = tmp_path / "envsnap.lock"
    res = cli("capture", "--python", venv / "bin" / "python", "-o", lock)
    assert res.code == 0, res  # type: ignore[attr-defined]
    assert "Traceback" not in res.err  # type: ignore[attr-defined]
    loaded = envsnap.lockfile.load(lock)
    assert [p.name for p in loaded.python.packages] == ["ok"]
    said = [w for w in loaded.envsnap.warnings if "odd-2.dist-info" in w or "weird-1.dist-info" in w]
    assert len(said) == 2 and all("not recorded" in w for w in said), loaded.envsnap.warnings


def test_a_work_tree_git_refuses_as_another_users_is_said_not_taken_for_none(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout another user owns (a colleague's, or one mounted into a container run as another user), which git
    refuses (its safe.directory check): capture recorded no project and said nothing, as for a folder in no work
    tree, and ``--project`` of it said "not inside a git work tree". GIT_TEST_ASSUME_DIFFERENT_OWNER is git's own
    switch for that check."""
    project = tmp_path / "proj"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")
    said = (
        f"git refuses to read the work tree at {project}, which another user owns (git's safe.directory check): "
        f"the code state (commit, uncommitted change) is not recorded; git config --global --add safe.directory "
        f"{project} lets git read it"
    )
    res = cli("capture", "--project", project, "-o", tmp_path / "x.lock")
    assert (res.code, res.err) == (2, f"envsnap: error: --project {project}: {said}\n")  # type: ignore[attr-defined]
    assert not (tmp_path / "x.lock").exists()
    monkeypatch.chdir(project)
    res = cli("capture", "--no-cache", "-o", tmp_path / "x.lock")
    assert res.code == 0, res  # type: ignore[attr-defined]
    snap = lockfile.load(tmp_path / "x.lock")
    assert snap.project is None and said in snap.envsnap.warnings
    assert said in res.err  # type: ignore[attr-defined]


def test_show_help_names_every_file_it_takes(cli: Callable[..., CliResult]) -> None:
    """``envsnap show --help`` named its argument LOCK, though it shows a bundle (folder or archive) and a run record
    too: the usage line names all three, as docs/cli.md and the README do."""
    res = cli("show", "--help")
    assert res.code == 0
    assert "usage: envsnap show [-h] [--json] LOCK|BUNDLE|RUN.toml\n" in res.out
    assert "\n  LOCK|BUNDLE|RUN.toml  " in res.out
    docs = (Path(__file__).parent.parent / "docs" / "cli.md").read_text()
    assert "    envsnap show LOCK|BUNDLE|RUN.toml [--json]\n" in docs


def test_show_counts_agree_in_number() -> None:
    """A conda import of one package read "Conda  1 packages (linux-64)"; a run record's one module "1 top-level
    modules"; the appendix the same "1 packages"."""
    from envsnap.artifacts.appendix import context
    from envsnap.cli.show import summary_rows
    from envsnap.model import Conda, CondaPackage, PythonEnv, Snapshot

    one = Snapshot(
        python=PythonEnv(kind="system"), conda=Conda(subdir="linux-64", packages=(CondaPackage("zlib", "1.3.1"),))
    )
    assert dict(summary_rows(one))["Conda"] == "1 package (linux-64)"
    two = Snapshot(conda=Conda(subdir="linux-64", packages=(CondaPackage("zlib", "1.3.1"), CondaPackage("xz", "5.4"))))
    assert dict(summary_rows(two))["Conda"] == "2 packages (linux-64)"
    conda_rows = [row for row in context(one)["environment"] if row.key == "Conda"]
    assert [row.value for row in conda_rows] == ["1 package (linux-64)"]


def test_an_editable_folder_gone_is_printed_by_its_path_and_kept_in_the_lock_as_its_url(
    cli: Callable[..., object], tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """capture's warning of an editable install whose folder is gone printed the percent-encoded URL (``its editable
    folder file:///tmp/.../my%20proj is gone``), where verify prints the folder by its decoded path, one shell word.
    The terminal shows the path; the lock's warning keeps the URL, which its identity counts and a move reads."""
    from testutil import site_packages

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    project = tmp_path / "my proj"  # never made: removed after its install
    info = site / "proj-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: proj\nVersion: 1.0\n")
    (info / "RECORD").write_text("proj-1.0.dist-info/RECORD,,\n")
    (info / "direct_url.json").write_text(f'{{"url": "{project.as_uri()}", "dir_info": {{"editable": true}}}}')
    res = cli("capture", "-o", tmp_path / "x.lock", "--python", python)
    assert res.code == 0, res  # type: ignore[attr-defined]
    shown = f"warning: python: proj: its editable folder '{project}' is gone: nothing of it imports\n"
    assert shown in res.err, res  # type: ignore[attr-defined]
    assert "%20" not in res.err, res  # type: ignore[attr-defined]
    stored = f"python: proj: its editable folder {project.as_uri()} is gone: nothing of it imports"
    assert stored in envsnap.load(tmp_path / "x.lock").envsnap.warnings


def test_capture_warnings_print_each_path_as_one_shell_word_and_the_lock_keeps_the_text(
    cli: Callable[..., object], tmp_path: Path, make_venv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """capture printed the paths of its other warnings as they are (``.pth``, ``PYTHONPATH``, a broken record):
    ``/tmp/x/my mods`` read as two words in a line a user copies from. Each path is one shell word, as the warning of
    an editable folder gone prints it (a label, ``{prefix}``, left bare); the lock's warning keeps the text."""
    from testutil import site_packages

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    mods = tmp_path / "my mods"
    mods.mkdir()
    (mods / "helper.py").write_text("X = 1\n")
    (site / "mods.pth").write_text(f"{mods}\n")
    (site / "bad one-1.0.dist-info").mkdir()  # no METADATA: a broken record
    ahead = tmp_path / "ahead dir"
    (ahead / "beta-2.0.dist-info").mkdir(parents=True)
    (ahead / "beta-2.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: beta\nVersion: 2.0\n")
    monkeypatch.setenv("PYTHONPATH", str(ahead))
    res = cli("capture", "-o", tmp_path / "x.lock", "--python", python)
    assert res.code == 0, res  # type: ignore[attr-defined]
    err = res.err  # type: ignore[attr-defined]
    pth = f"warning: python: .pth: {{prefix}}/{site.relative_to(tmp_path / 'venv')}/mods.pth puts '{mods}' on sys.path"
    assert pth in err, err
    assert f"warning: python: PYTHONPATH: '{ahead}' holds distributions" in err, err
    site_shown = f"{{prefix}}/{site.relative_to(tmp_path / 'venv')}"
    broken = f"{{prefix}}/'{site.relative_to(tmp_path / 'venv')}/bad one-1.0.dist-info'"
    assert f"warning: python: broken-dist: {broken}: no METADATA file\n" in err, err
    stored = envsnap.load(tmp_path / "x.lock").envsnap.warnings
    assert any(w.startswith(f"python: .pth: {site_shown}/mods.pth puts {mods} on sys.path") for w in stored), stored
    assert any(w.startswith(f"python: PYTHONPATH: {ahead} holds") for w in stored), stored
