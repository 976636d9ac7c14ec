"""``envsnap check``: this host probed for real against locks derived from a capture of it."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from compat_builders import pkg, torch_cu
from testutil import python_at, sample_lock, sample_python, uv_off_path

from envsnap import lockfile
from envsnap.model import Conda, CondaPackage, Snapshot
from envsnap.probes.capture import capture

Cli = Callable[..., Any]


@pytest.fixture(scope="module")
def here() -> Snapshot:
    return capture()


def write(tmp_path: Path, snapshot: Snapshot, name: str = "envsnap.lock") -> Path:
    return lockfile.dump(snapshot, tmp_path / name)


def with_python_version(s: Snapshot, version: str) -> Snapshot:
    return dataclasses.replace(s, python=python_at(s.python, version))


def test_this_host_is_compatible_with_its_own_capture(cli: Cli, tmp_path: Path, here: Snapshot) -> None:
    result = cli("check", write(tmp_path, here))
    assert result.code == 0, result
    assert "compatible: 0 failed" in result.out
    for column in ("severity", "component", "needed", "found"):
        assert column in result.out


def test_json_report(cli: Cli, tmp_path: Path, here: Snapshot) -> None:
    path = write(tmp_path, here)
    result = cli("check", path, "--json")
    assert result.code == 0, result
    data = json.loads(result.out)
    assert data["lock"] == str(path) and data["verdict"] == "compatible" and data["target"] == "host"
    assert {f["rule"] for f in data["findings"]} >= {"platform", "python", "disk"}
    assert all(set(f) == {"severity", "component", "needed", "found", "remedy", "rule"} for f in data["findings"])


def test_warnings_exit_0_and_1_with_strict(cli: Cli, tmp_path: Path, here: Snapshot) -> None:
    major, minor, *_ = here.python.version.split(".")
    path = write(tmp_path, with_python_version(here, f"{major}.{minor}.999"))
    result = cli("check", path)
    assert result.code == 0, result
    assert "warnings: 0 failed, 1 warning, " in result.out
    assert cli("check", path, "--strict").code == 1


def test_each_remedy_of_the_check_table_is_printed_whole_on_one_line(cli: Cli, tmp_path: Path, here: Snapshot) -> None:
    """The table folded its remedy column to a few characters a line (``(--python │ PATH; to get │ one: uv python
    │ install``), on a terminal as in a pipe or a CI log: no command in it could be copied and pasted. Each finding's
    remedy is a line of its own under the table, whole; the verdict stays the last line."""
    major, minor, *_ = here.python.version.split(".")
    path = write(
        tmp_path / "a folder named at some length for the paper", with_python_version(here, f"{major}.{minor}.999")
    )
    [finding] = [f for f in json.loads(cli("check", path, "--json").out)["findings"] if f["component"] == "Python"]
    assert f"install {major}.{minor}.999" in finding["remedy"], finding
    result = cli("check", path)
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert f"remedy for Python: {finding['remedy']}" in lines, result.out
    assert lines[-1].startswith("warnings: 0 failed, 1 warning, "), result.out


def test_incompatible_exits_3(cli: Cli, tmp_path: Path, here: Snapshot) -> None:
    other = "x86_64" if here.platform.machine == "aarch64" else "aarch64"
    lock = dataclasses.replace(here, platform=dataclasses.replace(here.platform, machine=other))
    result = cli("check", write(tmp_path, lock), "--json")
    assert result.code == 3, result
    data = json.loads(result.out)
    assert data["verdict"] == "incompatible"
    assert any(f["rule"] == "platform" and f["severity"] == "fail" for f in data["findings"])
    table = cli("check", write(tmp_path, lock))
    assert table.code == 3
    rows = [line for line in table.out.splitlines() if line.startswith("│ ") and line[2:6] in ("fail", "ok  ")]
    assert rows[0].startswith("│ fail") and "machine" in rows[0]
    assert "incompatible: " in table.out


def test_a_cuda_lock_of_another_machine_names_the_mismatch_once(cli: Cli, tmp_path: Path, here: Snapshot) -> None:
    """A lock captured with CUDA wheels on one machine (aarch64, a Grace-Hopper node) checked on another (x86_64,
    or the reverse): the platform rule failed the machine, and the wheels rule failed the same mismatch again for
    every binary wheel ("6 wheels ... built for aarch64, the target is x86_64"). The mismatch is one failure, which
    names the wheels built for the lock's machine and what to do on this one."""
    other = "x86_64" if here.platform.machine == "aarch64" else "aarch64"
    wheels = [
        pkg("torch", "2.7.1+cu128", f"cp311-cp311-manylinux_2_28_{other}"),
        *(
            pkg(n, v, f"py3-none-manylinux_2_27_{other}")
            for n, v in (
                ("nvidia-cublas-cu12", "12.8.3.14"),
                ("nvidia-cuda-runtime-cu12", "12.8.57"),
                ("nvidia-cudnn-cu12", "9.7.1.26"),
                ("nvidia-nccl-cu12", "2.26.2"),
            )
        ),
        pkg("requests", "2.32.3", "py3-none-any"),
    ]
    lock = dataclasses.replace(
        here,
        platform=dataclasses.replace(here.platform, machine=other),
        python=dataclasses.replace(here.python, packages=tuple(wheels)),
    )
    path = write(tmp_path, lock)
    result = cli("check", path, "--cpu-only", "--json")
    assert result.code == 3, result
    failures = [f for f in json.loads(result.out)["findings"] if f["severity"] == "fail"]
    assert [(f["rule"], f["component"]) for f in failures] == [("platform", "machine")], failures
    [failure] = failures
    assert failure["remedy"].startswith(f"run on an {other} host: 5 locked wheels are built for {other} ("), failure
    assert "torch 2.7.1+cu128" in failure["remedy"] and "requests" not in failure["remedy"], failure
    mine = here.platform.machine
    assert f"or capture the environment anew on this {mine} host" in failure["remedy"], failure


def test_cpu_only_accepts_a_lock_whose_gpu_kernels_cannot_run_here(cli: Cli, tmp_path: Path, here: Snapshot) -> None:
    # Kernels for Kepler only: no GPU of a modern host runs them, and a host without a GPU fails anyway.
    package, framework = torch_cu("2.0.1", "11.8", arch_list=("sm_37",))
    package = dataclasses.replace(package, wheel_tags=())
    lock = dataclasses.replace(
        here,
        python=dataclasses.replace(here.python, packages=(*here.python.packages, package)),
        frameworks={"torch": framework},
    )
    path = write(tmp_path, lock)
    assert cli("check", path).code == 3
    result = cli("check", path, "--cpu-only", "--json")
    assert result.code == 0, result
    data = json.loads(result.out)
    assert data["cpu_only"] and data["verdict"] == "warnings"
    assert any(f["remedy"].startswith("accepted with --cpu-only") for f in data["findings"])


def test_conda_target_does_not_need_this_python(cli: Cli, tmp_path: Path, here: Snapshot) -> None:
    lock = with_python_version(here, "3.99.0")
    # A conda environment's lock: conda installs its python (a lock without conda packages fails for this target).
    python = Conda(subdir="linux-64", packages=(CondaPackage("python", "3.99.0", subdir="linux-64"),))
    lock = dataclasses.replace(
        lock, python=dataclasses.replace(lock.python, packages=(pkg("six", "1.17.0", "py3-none-any"),)), conda=python
    )
    assert cli("check", write(tmp_path, lock)).code == 3
    result = cli("check", write(tmp_path, lock), "--target", "conda")
    assert result.code == 0, result


@pytest.mark.parametrize(
    "args",
    [
        ("/nonexistent/envsnap.lock",),
        ("{bad}",),
        ("{ok}", "--python", "/no/python"),
        ("{ok}", "--target", "kubernetes"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli: Cli, tmp_path: Path, here: Snapshot, args: tuple[str, ...]) -> None:
    bad = tmp_path / "bad.lock"
    bad.write_text("this is [not toml", encoding="utf-8")
    ok = write(tmp_path, here)
    result = cli("check", *(a.format(bad=bad, ok=ok) for a in args))
    assert result.code == 2, result
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 or "usage:" in result.err
    assert "Traceback" not in result.err


def _other_interpreter() -> tuple[str, str] | None:
    """(path, version) of an interpreter on this machine whose version differs from the running one."""
    for name in ("/usr/bin/python3", "python3.13", "python3.12", "python3.11", "python3.10"):
        path = name if name.startswith("/") else shutil.which(name)
        if not path or not Path(path).exists():
            continue
        proc = subprocess.run(
            [path, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        version = proc.stdout.strip()
        if proc.returncode == 0 and version and version != platform.python_version():
            return path, version
    return None


OTHER = _other_interpreter()


@pytest.mark.skipif(OTHER is None, reason="no second Python version on this machine to check against")
def test_python_option_checks_the_named_interpreter(cli: Cli, tmp_path: Path, here: Snapshot) -> None:
    assert OTHER is not None
    path, version = OTHER
    result = cli("check", write(tmp_path, here), "--python", path, "--json")
    data = json.loads(result.out)
    [finding] = [f for f in data["findings"] if f["rule"] == "python"]
    assert finding["found"] == f"cpython {version}"
    same_minor = version.split(".")[:2] == here.python.version.split(".")[:2]
    assert finding["severity"] == ("warn" if same_minor else "fail")
    assert result.code == (0 if same_minor else 3)


def test_cuda_library_wheels_without_a_runtime_are_a_cuda_lock_for_show_check_and_audit(
    cli: Cli, tmp_path: Path, here: Snapshot
) -> None:
    # `pip install nvidia-cublas-cu12` alone: the capture selects its cuBLAS (the wheel's libnvblas loads it) and no
    # runtime. `show` listed cuBLAS 12.9.3.13 while `check` said "none (CPU-only lock)" and `audit` "CPU-only
    # environment": all three read a CUDA 12.9 lock now, as they do a lock of runtime wheels alone.
    from envsnap.cli.show import summary_rows
    from envsnap.model import Cuda, CudaLibrary

    copy = CudaLibrary("cublas", "12.9.3.13", "pip", "nvidia-cublas-cu12", "metadata", selected=True)
    cuda = Cuda(cublas_version="12.9.3.13", cublas_source="pip", toolkit_version="13.0", copies=(copy,))
    python = dataclasses.replace(here.python, packages=(*here.python.packages, pkg("nvidia-cublas-cu12", "12.9.3.13")))
    lock = lockfile.seal(dataclasses.replace(here, python=python, cuda=cuda, frameworks={}))
    path = write(tmp_path, lock)
    assert dict(summary_rows(lock))["CUDA"] == (
        "cuBLAS 12.9.3.13 (for CUDA 12.9: nvidia-cublas-cu12 12.9.3.13); toolkit 13.0 present, not loaded"
    )
    findings = json.loads(cli("check", path, "--json").out)["findings"]
    needed = next(f["needed"] for f in findings if f["rule"] == "cuda")
    assert needed == "CUDA 12.9 (nvidia-cublas-cu12 12.9.3.13)", findings
    items = json.loads(cli("audit", path, "--json").out)["items"]
    gpu = next(i for i in items if i["id"] == "gpu-stack")
    assert "CPU-only" not in gpu["detail"] and "CUDA runtime" not in gpu["detail"], gpu
    # cuDNN alone (CUDA 12 by its wheel's suffix) is a CUDA 12 lock as well.
    python = dataclasses.replace(here.python, packages=(*here.python.packages, pkg("nvidia-cudnn-cu12", "9.10.2.21")))
    path = write(tmp_path, lockfile.seal(dataclasses.replace(here, python=python, cuda=None, frameworks={})))
    findings = json.loads(cli("check", path, "--json").out)["findings"]
    assert next(f["needed"] for f in findings if f["rule"] == "cuda") == "CUDA 12 (nvidia-cudnn-cu12 9.10.2.21)"


def test_a_system_cudnn_a_binary_loads_is_a_cuda_lock_for_show_check_and_audit(
    cli: Cli, tmp_path: Path, here: Snapshot
) -> None:
    # An extension of the environment links a system libcudnn.so.9 and libnccl.so.2, no framework or CUDA wheel:
    # the capture selects both. `show` listed cuDNN 9.1.0 as used while `check` said "none (CPU-only lock)" (and
    # looked for neither library on this host) and `audit` "CPU-only environment".
    from envsnap.cli.show import summary_rows
    from envsnap.model import Cuda, CudaLibrary, SystemLibrary, SystemPackage

    cudnn = CudaLibrary("cudnn", "9.1.0", "system", "/opt/sys/lib/libcudnn.so.9", "filename", selected=True)
    nccl = CudaLibrary("nccl", "2.18.3", "system", "/opt/sys/lib/libnccl.so.2", "filename", selected=True)
    cuda = Cuda(
        cudnn_version="9.1.0",
        cudnn_source="system",
        nccl_version="2.18.3",
        nccl_source="system",
        toolkit_version="13.0",
        toolkit_path="/usr/local/cuda",
        copies=(cudnn, nccl),
    )
    lock = lockfile.seal(dataclasses.replace(here, cuda=cuda, frameworks={}))
    path = write(tmp_path, lock)
    assert dict(summary_rows(lock))["CUDA"] == (
        "cuDNN 9.1.0, NCCL 2.18.3 (for a CUDA the lock does not record); toolkit 13.0 present, not loaded"
    )
    result = cli("check", path, "--json")
    findings = json.loads(result.out)["findings"]
    assert next(f["needed"] for f in findings if f["rule"] == "cuda") == (
        "a CUDA the lock does not record (cuDNN 9.1.0 and NCCL 2.18.3 loaded from the system)"
    ), findings
    libs = {f["component"]: (f["needed"], f["remedy"]) for f in findings if f["rule"] == "cuda-libs"}
    assert libs["cuDNN"] == (
        "cuDNN 9.1.0 (from the system)",
        "install cuDNN 9.1.0 for the CUDA the environment's binaries are built for",
    ), findings
    if here.nvidia is None:
        assert result.code == 3, result
    items = json.loads(cli("audit", path, "--json").out)["items"]
    gpu = next(i for i in items if i["id"] == "gpu-stack")
    assert not gpu["ok"] and "CPU-only" not in gpu["detail"], gpu
    assert "the CUDA cuDNN 9.1.0 and NCCL 2.18.3 loaded from the system are built for" in gpu["detail"], gpu
    # The system package that owns the copy names its CUDA (NVIDIA's libnccl2 2.18.3-1+cuda12.2): a CUDA 12.2 lock.
    system = dataclasses.replace(
        here.system,
        packages=(*here.system.packages, SystemPackage("dpkg", "libnccl2", "2.18.3-1+cuda12.2", "amd64")),
        libraries=(*here.system.libraries, SystemLibrary("libnccl.so.2", "/opt/sys/lib/libnccl.so.2", "libnccl2")),
    )
    lock = lockfile.seal(dataclasses.replace(here, cuda=cuda, frameworks={}, system=system))
    path = write(tmp_path, lock)
    assert dict(summary_rows(lock))["CUDA"] == (
        "cuDNN 9.1.0, NCCL 2.18.3 (for CUDA 12.2: NCCL 2.18.3 from system package libnccl2 2.18.3-1+cuda12.2); "
        "toolkit 13.0 present, not loaded"
    )
    findings = json.loads(cli("check", path, "--json").out)["findings"]
    assert next(f["needed"] for f in findings if f["rule"] == "cuda") == (
        "CUDA 12.2 (NCCL 2.18.3 from system package libnccl2 2.18.3-1+cuda12.2)"
    ), findings
    items = json.loads(cli("audit", path, "--json").out)["items"]
    gpu = next(i for i in items if i["id"] == "gpu-stack")
    assert "CPU-only" not in gpu["detail"] and "CUDA runtime" not in gpu["detail"], gpu
    if here.nvidia is None and not here.hardware.gpus:
        assert gpu["detail"] == "GPU stack not recorded: driver, GPUs and their compute capability", gpu


def test_check_names_the_interpreter_of_the_locked_release_a_venv_rebuild_would_take(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """check --target venv judged envsnap's own interpreter, another patch release, and told to install the locked
    one, which this host had (the venv rebuild's plan took it, `uv python find`): the remedy names it. The search
    is the rebuild's own (``find_interpreter``), stood in for here, as the locked release is nowhere on a CI host."""
    import sys

    from envsnap.rebuild import venv

    here = platform.python_version()
    other = ".".join([*here.split(".")[:2], str(int(here.split(".")[2]) + 1)])
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(python=sample_python(version=other)), lock)
    asked: list[bool] = []

    def find(lock_: Any, python: str | None, *, offline: bool, install: bool = False) -> Any:
        asked.append(offline)
        return venv.Interpreter("/opt/py/bin/python3", other, venv.UV_FOUND), []

    monkeypatch.setattr(venv, "find_interpreter", find)
    result = cli("check", "--target", "venv", "--python", sys.executable, "--json", lock)
    [finding] = [f for f in json.loads(result.out)["findings"] if f["component"] == "Python"]
    assert finding["remedy"].endswith("(--python PATH; here: --python /opt/py/bin/python3)"), finding
    assert asked == [True]  # offline: nothing is downloaded to answer a check


def test_check_of_a_lock_naming_a_minor_release_alone_takes_any_patch_release_of_it(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock whose Python is a minor release alone (``3.11``, as an import of uv's ``requires-python`` records it)
    is met by any patch release of it (``platforms.is_python_release``). check --target venv compared the versions
    exactly: with a 3.11.7 interpreter it still searched this host for another one (PATH, pyenv, ``uv python
    find``) for a remedy it never gave; and for an interpreter of another minor release, the 3.11.9 the search found
    was not the lock's ``3.11``, so the remedy said to install one instead of naming it."""
    import sys

    from envsnap.rebuild import venv

    here = platform.python_version()
    minor = ".".join(here.split(".")[:2])
    other = f"{minor.split('.')[0]}.{int(minor.split('.')[1]) + 1}"
    asked: list[str] = []

    def find(lock_: Any, python: str | None, *, offline: bool, install: bool = False) -> Any:
        asked.append(lock_.python.version)
        return venv.Interpreter(f"/opt/py/bin/python{other}", f"{other}.4", venv.UV_FOUND), []

    monkeypatch.setattr(venv, "find_interpreter", find)
    for version in (minor, other):
        lock = tmp_path / f"{version}.lock"
        abi = "cp" + version.replace(".", "")
        lockfile.dump(sample_lock(python=sample_python(version=version, abi=abi)), lock)
        result = cli("check", "--target", "venv", "--python", sys.executable, "--json", lock)
        [finding] = [f for f in json.loads(result.out)["findings"] if f["component"] == "Python"]
        if version == minor:
            assert finding["severity"] == "ok" and asked == [], (finding, asked)  # no search: this one is of it
        else:
            assert f"(--python PATH; here: --python /opt/py/bin/python{other})" in finding["remedy"], finding
            assert asked == [other]


@pytest.mark.skipif(OTHER is None, reason="no second Python version on this machine to check against")
def test_check_venv_judges_the_interpreter_the_venv_rebuild_would_take(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check --target venv judged the interpreter running envsnap (a pipx venv's 3.12 for a 3.11 lock) and failed
    the Python rule, though `rebuild --target venv` takes the python3.11 on PATH and passes its own check: the check
    judges the interpreter the rebuild would take, and names it."""
    assert OTHER is not None
    path, version = OTHER
    found = tmp_path / "bin"
    found.mkdir()
    (found / f"python{'.'.join(version.split('.')[:2])}").symlink_to(path)
    monkeypatch.setenv("PATH", f"{found}{os.pathsep}{os.environ.get('PATH', '')}")
    lock = write(tmp_path, sample_lock(python=python_at(sample_python(), version)))
    result = cli("check", lock, "--target", "venv", "--json")
    [finding] = [f for f in json.loads(result.out)["findings"] if f["component"] == "Python"]
    assert (finding["severity"], finding["found"]) == ("ok", f"cpython {version}"), finding
    first = result.err.splitlines()[0]
    assert first.startswith(f"checking {lock} with {found}/python") and "rebuild --target venv" in first, first
    # Named with --python, that interpreter is judged, as the rebuild takes it.
    result = cli("check", lock, "--target", "venv", "--python", sys.executable, "--json")
    [finding] = [f for f in json.loads(result.out)["findings"] if f["component"] == "Python"]
    assert finding["found"] == f"cpython {platform.python_version()}", finding


def _has_nvml() -> bool:
    from envsnap.probes.nvmllib import find_library

    return find_library(os.environ) is not None


@pytest.mark.skipif(_has_nvml(), reason="this host has an NVIDIA driver")
def test_a_lock_captured_on_a_gpu_warns_on_a_host_without_one(cli: Cli, tmp_path: Path) -> None:
    """A lock captured on an A100 with driver 550.54.14, whose packages need no CUDA, checked on a host with no NVIDIA
    driver: the report said nothing of the GPU (`CUDA: none (CPU-only lock)`, ok). It warns, exit 0 (1 with
    --strict), naming the GPU and driver the lock was captured with."""
    from envsnap.model import Gpu, Nvidia

    gpu = Gpu(index=0, name="NVIDIA A100-SXM4-80GB", compute_capability="8.0", memory_mib=81920)
    lock = sample_lock(
        nvidia=Nvidia(driver_version="550.54.14", cuda_driver_version="12.4", source="nvml"),
        hardware=dataclasses.replace(sample_lock().hardware, gpus=(gpu,)),
    )
    path = write(tmp_path, lock)
    result = cli("check", path, "--json")
    [finding] = [f for f in json.loads(result.out)["findings"] if f["rule"] == "cuda"]
    assert (finding["severity"], finding["needed"], finding["found"]) == (
        "warn",
        "none (CPU-only lock; captured with 1 GPU: NVIDIA A100-SXM4-80GB, driver 550.54.14)",
        "no NVIDIA driver",
    ), finding
    assert cli("check", path, "--strict").code == 1
    result = cli("check", path, "--cpu-only", "--json")
    [finding] = [f for f in json.loads(result.out)["findings"] if f["rule"] == "cuda"]
    assert finding["severity"] == "ok", finding


def test_check_json_names_the_interpreter_judged_and_how_it_was_chosen(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """check named the interpreter it judged only in its first line, on standard error under --json: a script
    reading the JSON could not tell which Python was checked. ``python`` holds its path and what chose it (the
    rebuild's search for --target venv, --python, envsnap's own), and is null for a target that brings its own."""
    from envsnap.rebuild import venv

    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX", "ENVSNAP_TARGET_PYTHON"):
        monkeypatch.delenv(variable, raising=False)
    found = tmp_path / "py" / "bin" / "python3"
    found.parent.mkdir(parents=True)
    found.symlink_to(sys.executable)

    def find(lock_: Any, python: str | None, *, offline: bool, install: bool = False) -> Any:
        return venv.Interpreter(str(found), platform.python_version(), venv.UV_FOUND), []

    monkeypatch.setattr(venv, "find_interpreter", find)
    lock = write(tmp_path, sample_lock(python=sample_python(version=platform.python_version())))
    data = json.loads(cli("check", lock, "--target", "venv", "--json").out)
    assert data["python"] == {"path": str(found), "chosen_by": "rebuild"}, data["python"]
    assert data["target"] == "venv" and "findings" in data  # the keys it had stay
    data = json.loads(cli("check", lock, "--target", "venv", "--python", str(found), "--json").out)
    assert data["python"] == {"path": str(found), "chosen_by": "--python"}, data["python"]
    data = json.loads(cli("check", lock, "--json").out)
    assert data["python"] == {"path": sys.executable, "chosen_by": "envsnap"}, data["python"]
    venv_dir = tmp_path / "active"
    (venv_dir / "bin").mkdir(parents=True)
    (venv_dir / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv_dir / "bin" / "python").symlink_to(sys.executable)
    monkeypatch.setenv("VIRTUAL_ENV", str(venv_dir))
    data = json.loads(cli("check", lock, "--json").out)
    assert data["python"] == {"path": str(venv_dir / "bin" / "python"), "chosen_by": "VIRTUAL_ENV"}, data["python"]
    data = json.loads(cli("check", lock, "--target", "conda", "--json").out)
    assert data["python"] is None, data["python"]


def test_the_python_remedy_names_the_uv_envsnap_runs_where_path_has_none(
    cli: Cli, tmp_path: Path, here: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """envsnap installed with pipx runs the uv beside its interpreter, off PATH: the python finding's remedy said
    ``to get one: uv python install X.Y.Z``, not found as written. It names that uv by its path, quoted."""
    own = uv_off_path(monkeypatch, tmp_path / "pipx venv", "#!/bin/sh\nexit 2\n")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    major, minor, *_ = here.python.version.split(".")
    path = write(tmp_path, with_python_version(here, f"{major}.{minor}.999"))
    result = cli("check", path, "--json")
    [remedy] = [f["remedy"] for f in json.loads(result.out)["findings"] if f["rule"] == "python"]
    assert f"to get one: '{own}' python install {major}.{minor}.999, or pyenv install" in remedy, remedy
