"""``envsnap check`` end to end on GPU hosts: the host side is probed for real, through the real pynvml
loading the compiled fake ``libnvidia-ml.so.1`` of the GPU probes (``tests/gpu_fakes.py``)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gpu_fakes
import pytest
from compat_builders import A100, H100, gpus, torch_cu

from envsnap import lockfile
from envsnap.model import Cuda, Nvidia, Snapshot
from envsnap.probes.capture import capture

GIB = 1024**3
FAKE_H100 = gpu_fakes.FakeGpu("NVIDIA H100 80GB HBM3", (9, 0), 80 * GIB)
FAKE_A100 = gpu_fakes.FakeGpu("NVIDIA A100-SXM4-80GB", (8, 0), 80 * GIB)
FAKE_GTX_1080 = gpu_fakes.FakeGpu("NVIDIA GeForce GTX 1080", (6, 1), 8 * GIB)
FAKE_RTX_5090 = gpu_fakes.FakeGpu("NVIDIA GeForce RTX 5090", (12, 0), 32 * GIB)


@pytest.fixture(scope="module")
def here() -> Snapshot:
    return capture()


def gpu_lock_of(here: Snapshot, torch_version: str, cuda: str, gpu: tuple[str, str, int]) -> Snapshot:
    """This host's own capture, plus a torch build for ``cuda`` and the GPU it was captured on."""
    package, framework = torch_cu(torch_version, cuda)
    package = dataclasses.replace(package, wheel_tags=())  # the wheel rule is not under test here
    return dataclasses.replace(
        here,
        python=dataclasses.replace(here.python, packages=(*here.python.packages, package)),
        frameworks={"torch": framework},
        cuda=Cuda(runtime_version=cuda, runtime_source="pip"),
        hardware=dataclasses.replace(here.hardware, gpus=gpus(gpu)),
    )


def cpu_lock_of(here: Snapshot) -> Snapshot:
    """This host's own capture, without its GPU stack: a lock that needs no GPU."""
    lock = dataclasses.replace(
        here, nvidia=None, cuda=None, frameworks={}, hardware=dataclasses.replace(here.hardware, gpus=())
    )
    assert not [p for p in lock.python.packages if p.name.startswith("nvidia-cu")]
    return lock


# ``python -m envsnap`` on another date: the check reads the clock in one place, ``current_date``.
_ON_DATE = "import envsnap.compat.target as t; t.current_date = lambda: {today!r}; "
# ... and on a host whose /proc/version is another file (the WSL kernel's), without /dev/dxg.
_ON_KERNEL = "import envsnap.probes.host as h; h.PROC_VERSION = {path!r}; h.DXG = {path!r} + '.dxg'; "
_RUN = "import runpy; runpy.run_module('envsnap', run_name='__main__', alter_sys=True)"


def run_check(
    tmp_path: Path,
    lock: Snapshot,
    nvml: Any,
    *extra: str,
    visible: str | None = None,
    order: str | None = None,
    today: str | None = None,
    proc_version: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """``envsnap check --json`` of ``lock`` on the fake NVML ``nvml`` (None: no NVML, as without a driver); ``today``
    (ISO) is the date the check judges driver branches' end of life by, instead of the clock's; ``proc_version`` the
    text the check reads as this host's /proc/version."""
    path = lockfile.dump(lock, tmp_path / "envsnap.lock")
    # None: no NVML at all, as on a host without a driver.
    env = dict(os.environ) if nvml is None else gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, nvml))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    env.pop("CUDA_DEVICE_ORDER", None)
    if visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = visible
    if order is not None:
        env["CUDA_DEVICE_ORDER"] = order
    command = [sys.executable, "-m", "envsnap"]
    if today is not None or proc_version is not None:
        program = _ON_DATE.format(today=today) if today is not None else ""
        if proc_version is not None:
            kernel = tmp_path / "proc_version"
            kernel.write_text(proc_version)
            program += _ON_KERNEL.format(path=str(kernel))
        command = [sys.executable, "-c", program + _RUN]
    proc = subprocess.run(
        [*command, "check", str(path), "--json", *extra],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in (0, 1, 3), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def findings(report: dict[str, Any], rule: str) -> list[tuple[str, str, str]]:
    return [(f["severity"], f["found"], f["remedy"]) for f in report["findings"] if f["rule"] == rule]


@gpu_fakes.requires_gcc
def test_h100_lock_on_a_470_driver(tmp_path: Path, here: Snapshot) -> None:
    nvml = gpu_fakes.FakeNvml(driver="470.82.01", cuda=11040, gpus=(FAKE_H100,))
    code, report = run_check(tmp_path, gpu_lock_of(here, "2.5.1", "12.4", H100), nvml, today="2024-07-31")
    assert code == 3
    [(severity, found, remedy)] = findings(report, "driver")
    assert (severity, found) == ("fail", "driver 470.82.01 (supports CUDA 11.4)")
    assert remedy == (
        "install NVIDIA driver >= 550.54.14, or install cuda-compat-12-4 and put /usr/local/cuda-12.4/compat first "
        "on LD_LIBRARY_PATH (forward compatibility, supported on "
        "data-center GPUs such as this NVIDIA H100 80GB HBM3)"
    )
    # On the clock's date, R470 is past its end of life (July 2024): cuda-compat is no longer supported there.
    code, report = run_check(tmp_path, gpu_lock_of(here, "2.5.1", "12.4", H100), nvml)
    assert code == 3
    assert findings(report, "driver") == [
        (
            "fail",
            "driver 470.82.01 (supports CUDA 11.4)",
            "install NVIDIA driver >= 550.54.14 (forward compatibility through cuda-compat is not supported on "
            "driver 470.82.01: R470 reached its end of life in July 2024, and NVIDIA supports it only on production "
            "and long-term support branches still in support)",
        )
    ]


WSL_KERNEL = (
    "Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f) (gcc (GCC) 11.2.0, GNU ld (GNU Binutils) "
    "2.37) #1 SMP Tue Nov 5 00:21:55 UTC 2024\n"
)


@gpu_fakes.requires_gcc
def test_cuda_compat_is_not_offered_on_wsl(tmp_path: Path, here: Snapshot) -> None:
    """NVIDIA does not support forward compatibility (cuda-compat) on WSL, whose libcuda comes from the Windows
    driver (/usr/lib/wsl/lib): a CUDA 12.4 lock on a WSL host's driver 470 was told to install cuda-compat-12-4."""
    nvml = gpu_fakes.FakeNvml(driver="470.82.01", cuda=11040, gpus=(FAKE_H100,))
    lock = gpu_lock_of(here, "2.5.1", "12.4", H100)
    code, report = run_check(tmp_path, lock, nvml, today="2024-07-31", proc_version=WSL_KERNEL)
    assert code == 3
    assert findings(report, "driver") == [
        (
            "fail",
            "driver 470.82.01 (supports CUDA 11.4)",
            "install NVIDIA driver >= 550.54.14 (forward compatibility through cuda-compat is not supported on WSL: "
            "NVIDIA supports it on native Linux only)",
        )
    ]
    # Off WSL the same host is offered it (the kernel of a native Linux).
    code, report = run_check(tmp_path, lock, nvml, today="2024-07-31", proc_version="Linux version 6.1.0-28-amd64\n")
    [(_, _, remedy)] = findings(report, "driver")
    assert "or install cuda-compat-12-4" in remedy


@gpu_fakes.requires_gcc
def test_cuda_12_4_lock_on_driver_535(tmp_path: Path, here: Snapshot) -> None:
    nvml = gpu_fakes.FakeNvml(driver="535.183.01", cuda=12020, gpus=(FAKE_A100,))
    code, report = run_check(tmp_path, gpu_lock_of(here, "2.5.1", "12.4", A100), nvml)
    assert [s for s, _, _ in findings(report, "driver")] == ["warn"]
    assert [s for s, _, _ in findings(report, "gpu-arch")] == ["ok"]
    assert code in (0, 3) and (code == 0) == (report["verdict"] != "incompatible")


@gpu_fakes.requires_gcc
@pytest.mark.parametrize(("gpu", "severity"), [(FAKE_GTX_1080, "fail"), (FAKE_RTX_5090, "ok"), (FAKE_A100, "ok")])
def test_cu128_torch_on_real_probed_gpus(tmp_path: Path, here: Snapshot, gpu: Any, severity: str) -> None:
    nvml = gpu_fakes.FakeNvml(driver="575.57.08", cuda=12090, gpus=(gpu,))
    code, report = run_check(tmp_path, gpu_lock_of(here, "2.7.1", "12.8", A100), nvml)
    [(found_severity, found, remedy)] = findings(report, "gpu-arch")
    assert found_severity == severity, found
    if severity == "fail":
        assert remedy == "use the cu126 build of torch 2.7.1 for this sm_61 GPU"
        assert code == 3


@gpu_fakes.requires_gcc
def test_cpu_only_lock_on_a_gpu_host(tmp_path: Path, here: Snapshot) -> None:
    nvml = gpu_fakes.FakeNvml(driver="575.57.08", cuda=12090, gpus=(FAKE_H100,))
    code, report = run_check(tmp_path, here, nvml)
    assert code == 0, report
    # The driver is not named: NVML is not asked for a lock no rule reads it for (it may hang).
    assert findings(report, "cuda") == [("ok", "no GPU needed", "")]


@gpu_fakes.requires_gcc
def test_cuda_visible_devices_hiding_every_gpu_is_no_gpu_for_cuda(tmp_path: Path, here: Snapshot) -> None:
    """NVML lists both H100s whatever CUDA_VISIBLE_DEVICES says; with it empty (or naming GPU 5 of 2) CUDA sees
    none and torch.cuda.is_available() is False, yet the check said compatible, exit 0."""
    nvml = gpu_fakes.FakeNvml(driver="550.54.14", cuda=12040, gpus=(FAKE_H100, FAKE_H100))
    lock = gpu_lock_of(here, "2.5.1", "12.4", H100)
    lock = dataclasses.replace(lock, hardware=dataclasses.replace(lock.hardware, gpus=gpus(H100, H100)))
    code, report = run_check(tmp_path, lock, nvml)
    assert code == 0 and findings(report, "cuda") == [("ok", "2 GPU(s), driver 550.54.14", "")]
    for visible in ("", "5"):
        code, report = run_check(tmp_path, lock, nvml, visible=visible)
        assert code == 3, report
        [(severity, found, remedy)] = findings(report, "cuda")
        assert severity == "fail"
        assert found == f"2 GPU(s), driver 550.54.14; CUDA_VISIBLE_DEVICES={visible!r} shows CUDA none of them"
        assert remedy.startswith("unset CUDA_VISIBLE_DEVICES or set it to GPUs of this host (0-1)")
    code, report = run_check(tmp_path, lock, nvml, "--cpu-only", visible="")
    assert code == 0 and [s for s, _, _ in findings(report, "cuda")] == ["warn"]
    code, report = run_check(tmp_path, lock, nvml, visible="1")
    assert code == 0 and report["verdict"] == "warnings"
    counts = [(f["needed"], f["found"]) for f in report["findings"] if f["component"] == "GPU count"]
    assert counts == [("2", "1")]


A100_UUID = "GPU-0f2c3d4e-1111-2222-3333-444455556666"
GTX_UUID = "GPU-9a8b7c6d-7777-8888-9999-aaaabbbbcccc"
# NVML lists the A100 first (PCI bus order), a GeForce GTX 1080 (sm 6.1) second: torch 2.7.1+cu128 has no
# kernel for the GTX 1080, and 8 GiB is a tenth of what the lock's A100 had.
MIXED = gpu_fakes.FakeNvml(
    driver="575.57.08",
    cuda=12090,
    gpus=(dataclasses.replace(FAKE_A100, uuid=A100_UUID), dataclasses.replace(FAKE_GTX_1080, uuid=GTX_UUID)),
)


def gpu_rows(report: dict[str, Any], rule: str) -> list[tuple[str, str, str]]:
    return [(f["component"], f["severity"], f["found"]) for f in report["findings"] if f["rule"] == rule]


@gpu_fakes.requires_gcc
def test_gpu_rules_judge_the_gpus_cuda_visible_devices_selects(tmp_path: Path, here: Snapshot) -> None:
    """On a shared machine with an A100 and an old GTX 1080, CUDA_VISIBLE_DEVICES=0 runs on the A100 alone, yet
    the check failed (exit 3) on the GTX 1080 it does not use; with CUDA_VISIBLE_DEVICES=1 the GPU memory was
    the A100's 80 GiB (ok) though the run has the GTX 1080's 8 GiB."""
    lock = gpu_lock_of(here, "2.7.1", "12.8", A100)
    code, report = run_check(tmp_path, lock, MIXED, visible="0", order="PCI_BUS_ID")
    assert gpu_rows(report, "gpu-arch") == [("GPU 0 NVIDIA A100-SXM4-80GB", "ok", "NVIDIA A100-SXM4-80GB (sm_80)")]
    assert [s for s, _, _ in findings(report, "cuda")] == ["ok"]
    assert code == 0, report
    code, report = run_check(tmp_path, lock, MIXED, visible="1", order="PCI_BUS_ID")
    assert code == 3
    assert gpu_rows(report, "gpu-arch") == [
        ("GPU 1 NVIDIA GeForce GTX 1080", "fail", "NVIDIA GeForce GTX 1080 (sm_61): no kernel image")
    ]
    assert ("GPU memory", "warn", "8.0 GiB") in gpu_rows(report, "gpu-memory")
    # A GPU UUID names one GPU whatever the order: the check reads the host's UUIDs to match it.
    code, report = run_check(tmp_path, lock, MIXED, visible=A100_UUID)
    assert [(c, s) for c, s, _ in gpu_rows(report, "gpu-arch")] == [("GPU 0 NVIDIA A100-SXM4-80GB", "ok")]
    assert code == 0, report
    assert "0f2c3d4e" not in json.dumps(report)  # the UUID is matched, never shown
    code, report = run_check(tmp_path, lock, MIXED, visible=GTX_UUID[:12])  # a unique prefix, as CUDA takes
    assert [(c, s) for c, s, _ in gpu_rows(report, "gpu-arch")] == [("GPU 1 NVIDIA GeForce GTX 1080", "fail")]


@gpu_fakes.requires_gcc
def test_an_index_cuda_numbers_fastest_first_is_said_to_be_unmappable(tmp_path: Path, here: Snapshot) -> None:
    """CUDA's default order is fastest first, NVML's the PCI bus: which GPU CUDA_VISIBLE_DEVICES=1 names cannot
    be told, so every GPU is judged and the cuda rule says why, with the remedy."""
    lock = gpu_lock_of(here, "2.7.1", "12.8", A100)
    code, report = run_check(tmp_path, lock, MIXED, visible="1")
    assert code == 3
    assert [s for _, s, _ in gpu_rows(report, "gpu-arch")] == ["ok", "fail"]
    [(severity, found, remedy)] = findings(report, "cuda")
    assert severity == "warn"
    assert found == (
        "2 GPU(s), driver 575.57.08; which of them CUDA_VISIBLE_DEVICES='1' selects cannot be told: CUDA numbers "
        "GPUs fastest first (CUDA_DEVICE_ORDER unset), NVML by PCI bus id"
    )
    assert remedy.startswith("set CUDA_DEVICE_ORDER=PCI_BUS_ID")
    assert ("GPU memory", "warn", "8.0 GiB (the smallest GPU: the selection cannot be told)") in gpu_rows(
        report, "gpu-memory"
    )
    # Identical GPUs need no mapping: any of them is the same.
    twins = dataclasses.replace(MIXED, gpus=(FAKE_A100, FAKE_A100))
    code, report = run_check(tmp_path, lock, twins, visible="1")
    assert code == 0 and [s for s, _, _ in findings(report, "cuda")] == ["ok"], report


@gpu_fakes.requires_gcc
def test_a_mig_slice_is_not_judged_with_its_whole_gpus_memory(tmp_path: Path, here: Snapshot) -> None:
    """CUDA_VISIBLE_DEVICES naming a MIG slice (a 1g.10gb of an H100) gives the run the slice's memory, not the
    80 GiB NVML reports for the whole GPU; the check passed it with the whole GPU's."""
    mig = "MIG-5c4b3a29-1111-2222-3333-444455556666"
    nvml = gpu_fakes.FakeNvml(
        driver="550.54.14", cuda=12040, gpus=(FAKE_H100, dataclasses.replace(FAKE_H100, mig=(mig,)))
    )
    lock = gpu_lock_of(here, "2.5.1", "12.4", H100)
    code, report = run_check(tmp_path, lock, nvml, visible=mig)
    [(severity, found, remedy)] = findings(report, "gpu-memory")
    assert severity == "warn"
    assert found == "a MIG slice of a 80.0 GiB GPU (CUDA_VISIBLE_DEVICES='MIG-<uuid>'): its memory cannot be told"
    assert remedy.startswith("check the slice's memory (nvidia-smi -L names its profile")
    assert "5c4b3a29" not in json.dumps(report)
    assert code == 0 and [s for s, _, _ in findings(report, "gpu-arch")] == ["ok"]
    # Unlike GPUs: the slice is on the GeForce's neighbour, whose memory the finding names.
    mixed = dataclasses.replace(MIXED, gpus=(dataclasses.replace(MIXED.gpus[0], mig=(mig,)), MIXED.gpus[1]))
    code, report = run_check(tmp_path, lock, mixed, visible=mig)
    [(severity, found, _)] = findings(report, "gpu-memory")
    assert (severity, found) == (
        "warn",
        "a MIG slice of a 80.0 GiB GPU (CUDA_VISIBLE_DEVICES='MIG-<uuid>'): its memory cannot be told",
    )


@gpu_fakes.requires_gcc
def test_cuda_compat_is_offered_only_where_the_driver_branch_and_the_used_gpu_allow_it(
    tmp_path: Path, here: Snapshot
) -> None:
    """A CUDA 13.0 lock on an H100 with driver 575 (a new feature branch) was told to install cuda-compat-13-0,
    which runs only on production and long-term support branches; on 570 (a production branch) it is offered,
    judged on the GPU CUDA_VISIBLE_DEVICES selects and not on a GeForce beside it that the run does not use."""
    lock = gpu_lock_of(here, "2.9.0", "13.0", H100)
    nfb = gpu_fakes.FakeNvml(driver="575.57.08", cuda=12090, gpus=(FAKE_H100,))
    code, report = run_check(tmp_path, lock, nfb)
    assert code == 3
    [(severity, found, remedy)] = findings(report, "driver")
    assert (severity, found) == ("fail", "driver 575.57.08 (supports CUDA 12.9)")
    assert "install cuda-compat" not in remedy
    assert remedy.endswith(
        "R575 is a new feature branch, and NVIDIA supports it only on production and long-term support branches)"
    )
    production = gpu_fakes.FakeNvml(driver="570.133.20", cuda=12080, gpus=(FAKE_H100, FAKE_GTX_1080))
    code, report = run_check(tmp_path, lock, production, visible="0", order="PCI_BUS_ID", today="2025-06-01")
    [(severity, _, remedy)] = findings(report, "driver")
    assert severity == "fail" and code == 3
    assert remedy == (
        "install NVIDIA driver >= 580.65.06, or install cuda-compat-13-0 and put /usr/local/cuda-13.0/compat first "
        "on LD_LIBRARY_PATH (forward compatibility, supported on "
        "data-center GPUs such as this NVIDIA H100 80GB HBM3)"
    )


A100_MIG = "MIG-4f3e2d1c-aaaa-bbbb-cccc-ddddeeeeffff"


@gpu_fakes.requires_gcc
def test_a_mig_device_selects_its_own_gpu(tmp_path: Path, here: Snapshot) -> None:
    """CUDA_VISIBLE_DEVICES=MIG-<uuid> of a slice of the A100 on a host that also has a GeForce GTX 1080: the run
    uses the A100 alone, yet every GPU was judged, and cuda-compat was refused for the GeForce the run does not
    use. NVML names each GPU's MIG devices: the slice's GPU is judged, and a UUID of no MIG device here selects
    nothing, as CUDA does."""
    lock = gpu_lock_of(here, "2.9.0", "13.0", A100)
    a100 = dataclasses.replace(FAKE_A100, uuid=A100_UUID, mig=("MIG-0a0b0c0d-0000-1111-2222-333344445555", A100_MIG))
    gtx = dataclasses.replace(FAKE_GTX_1080, uuid=GTX_UUID)
    host = gpu_fakes.FakeNvml(driver="570.133.20", cuda=12080, gpus=(a100, gtx))
    code, report = run_check(tmp_path, lock, host, visible=A100_MIG, today="2025-06-01")
    assert code == 3
    assert findings(report, "driver") == [
        (
            "fail",
            "driver 570.133.20 (supports CUDA 12.8)",
            "install NVIDIA driver >= 580.65.06, or install cuda-compat-13-0 and put /usr/local/cuda-13.0/compat "
            "first on LD_LIBRARY_PATH (forward compatibility, supported on "
            "data-center GPUs such as this NVIDIA A100-SXM4-80GB)",
        )
    ]
    assert findings(report, "cuda") == [("ok", "2 GPU(s), driver 570.133.20", "")]
    assert gpu_rows(report, "gpu-arch") == [("GPU 0 NVIDIA A100-SXM4-80GB", "ok", "NVIDIA A100-SXM4-80GB (sm_80)")]
    assert (
        "GPU memory",
        "warn",
        "a MIG slice of a 80.0 GiB GPU (CUDA_VISIBLE_DEVICES='MIG-<uuid>'): its memory cannot be told",
    ) in gpu_rows(report, "gpu-memory")
    assert "4f3e2d1c" not in json.dumps(report) and "0f2c3d4e" not in json.dumps(report)
    unknown = "MIG-99999999-aaaa-bbbb-cccc-ddddeeeeffff"
    code, report = run_check(tmp_path, lock, host, visible=unknown, today="2025-06-01")
    assert code == 3
    assert findings(report, "cuda") == [
        (
            "fail",
            "2 GPU(s), driver 570.133.20; CUDA_VISIBLE_DEVICES='MIG-<uuid>' shows CUDA none of them",
            "unset CUDA_VISIBLE_DEVICES or set it to GPUs of this host (0-1), or pass --cpu-only to run without "
            "the GPU",
        )
    ]
    assert findings(report, "driver")[0][2] == "install NVIDIA driver >= 580.65.06"


@gpu_fakes.requires_gcc
def test_a_hung_driver_is_waited_for_as_long_as_gpu_timeout_says(tmp_path: Path, here: Snapshot) -> None:
    """A driver that does not answer (nvmlInit hangs): check waited NVML's 10 s with no option to change it, and
    said only "a hung driver?", though one slow to start (eight GPUs without persistence mode) needs longer.
    --gpu-timeout sets the wait, as capture's does, and the finding names it."""
    nvml = gpu_fakes.FakeNvml(hang=True, gpus=(FAKE_H100,))
    code, report = run_check(tmp_path, gpu_lock_of(here, "2.5.1", "12.4", H100), nvml, "--gpu-timeout", "1.5")
    assert code == 3
    assert findings(report, "cuda") == [
        (
            "fail",
            "the NVIDIA driver did not answer: NVML did not answer within 1.5 s (a hung driver?)",
            "make the installed NVIDIA driver answer (`nvidia-smi` shows what fails: a kernel module not loaded, or "
            "not the driver's own after an upgrade without a reboot, or a hung GPU); CUDA 12.4 needs a driver >= "
            "550.54.14, or pass --cpu-only to run without the GPU; a driver slow to start rather than hung (many GPUs "
            "without persistence mode) may need more than the 1.5 s waited: pass --gpu-timeout SECONDS",
        )
    ]


@gpu_fakes.requires_gcc
def test_a_cpu_lock_is_checked_without_waiting_for_a_hung_driver(tmp_path: Path, here: Snapshot) -> None:
    """A lock that needs no GPU, checked on a node whose driver hangs (nvmlInit blocks): the check waited out the
    whole --gpu-timeout (30 s here, 10 s by default) before its verdict, though no rule judges what NVML says for
    it. It asks NVML nothing now: its report is the one of a host without a driver, at once."""
    lock = cpu_lock_of(here)
    without = tmp_path / "no-driver"
    without.mkdir()
    code, expected = run_check(without, lock, None)
    hung = gpu_fakes.FakeNvml(hang=True, gpus=(FAKE_H100,))
    started = time.monotonic()
    code, report = run_check(tmp_path, lock, hung, "--gpu-timeout", "30")
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"the check waited {elapsed:.1f} s for a driver no rule reads"
    assert code == 0
    assert findings(report, "cuda") == [("ok", "no GPU needed", "")]
    assert _rows(report) == _rows(expected)
    # A GPU lock on the same node still waits for the driver and names the hang.
    code, report = run_check(tmp_path, gpu_lock_of(here, "2.5.1", "12.4", H100), hung, "--gpu-timeout", "1")
    assert code == 3
    [(severity, found, _)] = findings(report, "cuda")
    assert (severity, found) == (
        "fail",
        "the NVIDIA driver did not answer: NVML did not answer within 1 s (a hung driver?)",
    )


def _rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """The findings, without the free space the disk rule found (it moves between two checks)."""
    return [
        tuple(f[k] for k in ("severity", "component", "needed", "remedy", "rule"))
        + (("(free space)",) if f["rule"] == "disk" else (f["found"],))
        for f in report["findings"]
    ]


# ``python -m envsnap`` whose default wait for NVML (``GPU_TIMEOUT``: the commands without --gpu-timeout) is 60 s.
_LONG_NVML_WAIT = (
    "import envsnap._defaults as d; d.GPU_TIMEOUT = 60.0; import runpy; "
    "runpy.run_module('envsnap', run_name='__main__', alter_sys=True)"
)


def _hung_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a node whose NVIDIA driver hangs (the fake NVML's init blocks)."""
    return gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, gpu_fakes.FakeNvml(hang=True, gpus=(FAKE_H100,))))


def _run_quickly(
    args: list[str], env: dict[str, str], cwd: Path, within: float
) -> tuple[subprocess.CompletedProcess[str], float]:
    """``args`` run, and how long it took; a failure naming the wait when it takes longer than ``within``."""
    started = time.monotonic()
    try:
        proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=within + 10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{args[3:]} waited more than {within + 10:g} s")
    return proc, time.monotonic() - started


@gpu_fakes.requires_gcc
def test_a_cpu_lock_s_rebuild_dry_run_does_not_wait_for_a_hung_driver(tmp_path: Path, here: Snapshot) -> None:
    """``rebuild --dry-run`` of a CPU-only lock on a node whose driver hangs: its compatibility check waited out
    the whole NVML timeout (10 s; 60 s here) before showing the plan, as ``check`` did. It asks NVML nothing now."""
    lock = cpu_lock_of(here)
    # Without the host's packages: the developer's own envsnap among them is an editable project the plan would
    # look for in the working directory (the plan is not under test, the check's wait is).
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=()))
    path = lockfile.dump(lock, tmp_path / "envsnap.lock")
    args = [sys.executable, "-c", _LONG_NVML_WAIT, "rebuild", str(path), "--dry-run", "--dest", str(tmp_path / "env")]
    proc, elapsed = _run_quickly(args, _hung_env(tmp_path), tmp_path, 20)
    assert elapsed < 20, f"the dry run waited {elapsed:.1f} s for a driver no rule reads"
    assert proc.returncode == 0, proc.stderr
    assert "compatibility check: compatible:" in proc.stdout, proc.stdout


@gpu_fakes.requires_gcc
@pytest.mark.parametrize("target", ["venv", "docker", "conda"])
def test_a_destination_inside_the_bundle_is_refused_before_the_check_waits_for_a_hung_driver(
    tmp_path: Path, here: Snapshot, target: str
) -> None:
    """``rebuild --bundle supp --dest supp/env`` of a GPU lock on a node whose driver hangs: the whole check ran
    first (the NVML timeout, 10 s by default, 60 s here), and its failure, exit 3, hid that the destination could
    never be used (with --force, the refusal came only after the wait). Refused at once now, with the same line,
    for every target and for the target's default destination too, and nothing is left in the bundle."""
    from envsnap.cli._plugin_table import TARGET_DEST

    path = lockfile.dump(gpu_lock_of(here, "2.5.1", "12.4", H100), tmp_path / "envsnap.lock")
    env = _hung_env(tmp_path)
    bundle = tmp_path / "supp"
    bundle.mkdir()
    (bundle / "README.md").write_text("a bundle\n")
    default = TARGET_DEST[target]
    command = [sys.executable, "-c", _LONG_NVML_WAIT, "rebuild", str(path), "--target", target]
    for extra in ([], ["--force"], ["--dry-run"]):
        proc, elapsed = _run_quickly([*command, "--bundle", "supp", "--dest", "supp/env", *extra], env, tmp_path, 5)
        assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
        assert proc.stderr == (
            f"envsnap: error: {bundle / 'env'}: inside the bundle supp; put the environment beside it "
            f"(--dest {default}): anything added inside no longer matches SHA256SUMS\n"
        )
        assert elapsed < 5, f"refused after {elapsed:.1f} s"
    proc, elapsed = _run_quickly([*command, "--bundle", "."], env, bundle, 5)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert proc.stderr == (
        f"envsnap: error: {default} (the target's default --dest): inside the bundle .; put the environment beside "
        f"it (--dest ../{default}): anything added inside no longer matches SHA256SUMS\n"
    )
    assert elapsed < 5, f"refused after {elapsed:.1f} s"
    assert [p.name for p in bundle.iterdir()] == ["README.md"]


@gpu_fakes.requires_gcc
def test_verify_on_a_hung_driver_waits_its_gpu_timeout_and_says_the_driver_did_not_answer(
    tmp_path: Path, here: Snapshot
) -> None:
    """``verify`` compares the driver, so it asks NVML for every lock; it had no ``--gpu-timeout`` (a hung node
    held it for the fixed 10 s) and then printed ``driver_version 550.54.14 -> (none)``, as if the driver were
    gone. It takes ``--gpu-timeout`` as ``capture`` and ``check`` do, and says the driver did not answer."""
    lock = dataclasses.replace(gpu_lock_of(here, "2.5.1", "12.4", H100), nvidia=Nvidia("550.54.14", "12.4", "nvml"))
    path = lockfile.dump(lock, tmp_path / "envsnap.lock")
    verify = ["verify", str(path), "--python", sys.executable, "--gpu-timeout", "1"]
    proc, elapsed = _run_quickly([sys.executable, "-c", _LONG_NVML_WAIT, *verify], _hung_env(tmp_path), tmp_path, 20)
    assert elapsed < 20, f"verify waited {elapsed:.1f} s, not its --gpu-timeout of 1 s"
    assert proc.returncode in (0, 3), proc.stderr
    hung = "the NVIDIA driver did not answer: NVML did not answer within 1 s (a hung driver?)"
    assert f"  gpu: nvidia: driver_version 550.54.14 -> (none) ({hung})" in proc.stdout.splitlines(), proc.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "envsnap", "verify", str(path), "--gpu-timeout", "0"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr


@gpu_fakes.requires_gcc
def test_a_cuda_lock_s_rebuild_dry_run_waits_its_gpu_timeout_and_names_it(tmp_path: Path, here: Snapshot) -> None:
    """``rebuild`` had no ``--gpu-timeout``, as ``check``, ``capture``, ``verify`` and ``fleet`` have: a CUDA
    lock's rebuild on a node whose driver hangs waited the fixed 10 s (60 s here) before its check failed."""
    lock = gpu_lock_of(here, "2.5.1", "12.4", H100)
    torch = [p for p in lock.python.packages if p.name == "torch"]
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=tuple(torch)))
    path = lockfile.dump(lock, tmp_path / "envsnap.lock")
    dry_run = ["rebuild", str(path), "--dry-run", "--dest", str(tmp_path / "env"), "--gpu-timeout", "1"]
    proc, elapsed = _run_quickly([sys.executable, "-c", _LONG_NVML_WAIT, *dry_run], _hung_env(tmp_path), tmp_path, 20)
    assert elapsed < 20, f"the dry run waited {elapsed:.1f} s, not its --gpu-timeout of 1 s"
    assert proc.returncode == 3, proc.stderr
    # The plan's check (stdout) or, where the lock's sample torch has no wheel to plan, the refusal (stderr).
    said = proc.stderr + proc.stdout
    assert "the NVIDIA driver did not answer: NVML did not answer within 1 s (a hung driver?)" in said, said
    assert "--gpu-timeout" in said


FAKE_RTX_4090 = gpu_fakes.FakeGpu("NVIDIA GeForce RTX 4090", (8, 9), 24 * GIB)


@gpu_fakes.requires_gcc
def test_a_cuda_compat_libcuda_on_a_geforce_fails_and_is_judged_on_the_gpus_cuda_uses(
    tmp_path: Path, here: Snapshot
) -> None:
    """cuda-compat's libcuda.so.1 on the loader's path (a CUDA 12.9 user-mode driver on the kernel's R535): NVML
    answers the CUDA version of that libcuda, and the check said "ok" on a GeForce RTX 4090, where CUDA fails to
    start (error 804: forward compatibility on hardware that does not support it). On a data-center GPU it runs;
    on a host with both, only when CUDA_VISIBLE_DEVICES leaves CUDA the data-center GPU alone."""
    lock = gpu_lock_of(here, "2.8.0", "12.9", H100)
    geforce = gpu_fakes.FakeNvml(driver="535.54.03", cuda=12090, gpus=(FAKE_RTX_4090,))
    code, report = run_check(tmp_path, lock, geforce)
    assert code == 3, report
    assert findings(report, "driver") == [
        (
            "fail",
            "driver 535.54.03 (supports CUDA 12.2) with cuda-compat's libcuda (CUDA 12.9)",
            "cuda-compat runs only on data-center GPUs and Jetson: CUDA fails to start on this NVIDIA GeForce RTX "
            "4090 (error 804); take cuda-compat's libcuda off the loader's path (LD_LIBRARY_PATH, /etc/ld.so.conf.d): "
            "driver 535.54.03 then runs CUDA 12.9 through minor-version compatibility (reduced features: no PTX JIT "
            "for newer code); install NVIDIA driver >= 575.51.03 for full support",
        )
    ]
    datacenter = gpu_fakes.FakeNvml(driver="535.54.03", cuda=12090, gpus=(FAKE_H100,))
    code, report = run_check(tmp_path, lock, datacenter, today="2026-01-15")
    assert code == 0, report
    assert findings(report, "driver") == [
        ("ok", "driver 535.54.03 (supports CUDA 12.2) with cuda-compat's libcuda (CUDA 12.9)", "")
    ]
    both = gpu_fakes.FakeNvml(driver="535.54.03", cuda=12090, gpus=(FAKE_H100, FAKE_RTX_4090))
    code, report = run_check(tmp_path, lock, both, visible="0", order="PCI_BUS_ID", today="2026-01-15")
    assert code == 0 and [s for s, _, _ in findings(report, "driver")] == ["ok"], report
    code, report = run_check(tmp_path, lock, both, today="2026-01-15")
    assert code == 3
    [(severity, _, remedy)] = findings(report, "driver")
    assert severity == "fail"
    assert remedy.startswith(
        "cuda-compat runs only on data-center GPUs and Jetson: CUDA fails to start on this NVIDIA GeForce RTX 4090 "
        "(error 804); set CUDA_VISIBLE_DEVICES to the data-center GPUs alone (with CUDA_DEVICE_ORDER=PCI_BUS_ID: 0), "
        "or take cuda-compat's libcuda off the loader's path"
    )


@gpu_fakes.requires_gcc
def test_a_gpu_uuid_nvml_gives_malformed_is_not_said_unread_nor_to_be_named_by_uuid(
    tmp_path: Path, here: Snapshot
) -> None:
    """CUDA_VISIBLE_DEVICES=GPU-bbbb on a host whose NVML answered the UUIDs GPU-aaaa and GPU-bbbb (not NVML's form,
    so not matched): the cuda rule said "no GPU UUID was read" (one was) and told to "name the GPUs by UUID",
    which the variable does. It says NVML gave no well-formed UUID, and to name the GPUs by index under
    CUDA_DEVICE_ORDER=PCI_BUS_ID."""
    lock = gpu_lock_of(here, "2.7.1", "12.8", A100)
    odd = dataclasses.replace(
        MIXED,
        gpus=(dataclasses.replace(FAKE_A100, uuid="GPU-aaaa"), dataclasses.replace(FAKE_GTX_1080, uuid="GPU-bbbb")),
    )
    code, report = run_check(tmp_path, lock, odd, visible="GPU-bbbb")
    assert code == 3  # every GPU judged: the GTX 1080 has no kernel image
    assert findings(report, "cuda") == [
        (
            "warn",
            "2 GPU(s), driver 575.57.08; which of them CUDA_VISIBLE_DEVICES='GPU-bbbb' selects cannot be told: NVML "
            "gave no well-formed UUID for 2 of them",
            "set CUDA_DEVICE_ORDER=PCI_BUS_ID and name the GPUs by index (CUDA then numbers GPUs as nvidia-smi does); "
            "the GPU rules judged every GPU",
        )
    ]
