"""The NVIDIA probe against a fake libnvidia-ml.so.1 loaded by the real pynvml, through `envsnap capture`."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gpu_fakes import FakeGpu, FakeNvml, build_fake_nvml, nvml_environ, requires_gcc

from envsnap import lockfile
from envsnap._toml import tomllib
from envsnap.model import Gpu, Nvidia
from envsnap.probes import nvidia

GIB = 1024**3

H100 = FakeGpu(
    "NVIDIA H100 80GB HBM3", (9, 0), 85520809984, "GPU-5d1e2c3b-0a9f-4e6d-8c7b-1f2e3d4c5b6a", "1654922001234"
)
EIGHT = (
    FakeGpu("NVIDIA A100-SXM4-80GB", (8, 0), 85899345920, "GPU-a1000000-0000-4000-8000-000000000001", "1323120011111"),
    FakeGpu("NVIDIA GeForce RTX 4090", (8, 9), 25757220864, "GPU-40900000-0000-4000-8000-000000000002"),
    FakeGpu("Tesla T4", (7, 5), 16106127360, "GPU-74000000-0000-4000-8000-000000000003", "1562720022222"),
    FakeGpu("NVIDIA H200", (9, 0), 150754820096, "GPU-b2000000-0000-4000-8000-000000000004", "1655024033333"),
    FakeGpu("Tesla V100-SXM2-32GB", (7, 0), 34359738368, "GPU-71000000-0000-4000-8000-000000000005", "0323617044444"),
    FakeGpu("NVIDIA B200", (10, 0), 192 * GIB, "GPU-b2000000-0000-4000-8000-000000000006", "1790125055555"),
    FakeGpu("NVIDIA GeForce RTX 5090", (12, 0), 32 * GIB, "GPU-50900000-0000-4000-8000-000000000007"),
    FakeGpu("NVIDIA GeForce GTX 1080", (6, 1), 8 * GIB, "GPU-10800000-0000-4000-8000-000000000008"),
)


def capture(
    tmp_path: Path, config: FakeNvml | None, *extra: str
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """Run `envsnap capture` in a subprocess whose loader finds the fake NVML; the lock as plain data."""
    env = dict(os.environ)
    if config is not None:
        env = nvml_environ(build_fake_nvml(tmp_path, config), env)
    lock = tmp_path / "envsnap.lock"
    proc = subprocess.run(
        [sys.executable, "-m", "envsnap", "capture", "-o", str(lock), *extra],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lockfile.load(lock)  # valid against the model, digest intact
    return tomllib.loads(lock.read_text()), proc


@requires_gcc
def test_one_gpu(tmp_path: Path) -> None:
    data, proc = capture(tmp_path, FakeNvml(driver="550.54.14", cuda=12040, gpus=(H100,)))
    assert data["nvidia"] == {
        "driver_version": "550.54.14",
        "cuda_driver_version": "12.4",
        "source": "nvml",
        "error": "",
    }
    # No UUID or serial without the opt-in: they identify the machine.
    assert data["hardware"]["gpus"] == [
        {"index": 0, "name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", "memory_mib": 81559}
    ]
    assert not [w for w in data["envsnap"]["warnings"] if w.startswith("nvidia")]
    assert "warning" not in proc.stderr


@requires_gcc
def test_eight_mixed_gpus_with_ids(tmp_path: Path) -> None:
    data, _ = capture(tmp_path, FakeNvml(driver="570.124.06", cuda=12080, gpus=EIGHT), "--gpu-ids")
    assert data["nvidia"]["driver_version"] == "570.124.06"
    assert data["nvidia"]["cuda_driver_version"] == "12.8"
    assert data["hardware"]["gpus"] == [
        {
            "index": 0,
            "name": "NVIDIA A100-SXM4-80GB",
            "compute_capability": "8.0",
            "memory_mib": 81920,
            "uuid": "GPU-a1000000-0000-4000-8000-000000000001",
            "serial": "1323120011111",
        },
        # GeForce cards have no serial (NVML: Not Supported): recorded as absent, not as an error.
        {
            "index": 1,
            "name": "NVIDIA GeForce RTX 4090",
            "compute_capability": "8.9",
            "memory_mib": 24564,
            "uuid": "GPU-40900000-0000-4000-8000-000000000002",
        },
        {
            "index": 2,
            "name": "Tesla T4",
            "compute_capability": "7.5",
            "memory_mib": 15360,
            "uuid": "GPU-74000000-0000-4000-8000-000000000003",
            "serial": "1562720022222",
        },
        {
            "index": 3,
            "name": "NVIDIA H200",
            "compute_capability": "9.0",
            "memory_mib": 143771,
            "uuid": "GPU-b2000000-0000-4000-8000-000000000004",
            "serial": "1655024033333",
        },
        {
            "index": 4,
            "name": "Tesla V100-SXM2-32GB",
            "compute_capability": "7.0",
            "memory_mib": 32768,
            "uuid": "GPU-71000000-0000-4000-8000-000000000005",
            "serial": "0323617044444",
        },
        {
            "index": 5,
            "name": "NVIDIA B200",
            "compute_capability": "10.0",
            "memory_mib": 196608,
            "uuid": "GPU-b2000000-0000-4000-8000-000000000006",
            "serial": "1790125055555",
        },
        {
            "index": 6,
            "name": "NVIDIA GeForce RTX 5090",
            "compute_capability": "12.0",
            "memory_mib": 32768,
            "uuid": "GPU-50900000-0000-4000-8000-000000000007",
        },
        {
            "index": 7,
            "name": "NVIDIA GeForce GTX 1080",
            "compute_capability": "6.1",
            "memory_mib": 8192,
            "uuid": "GPU-10800000-0000-4000-8000-000000000008",
        },
    ]
    assert data["nvidia"]["error"] == ""


@requires_gcc
def test_old_driver_without_v2_functions(tmp_path: Path) -> None:
    data, _ = capture(tmp_path, FakeNvml(driver="418.39", cuda=10010, gpus=(EIGHT[4],), old=True))
    # nvmlSystemGetCudaDriverVersion_v2 is missing: the v1 answer, and the lock says so.
    assert data["nvidia"] == {
        "driver_version": "418.39",
        "cuda_driver_version": "10.1",
        "source": "nvml-cuda-v1",
        "error": "",
    }
    # No nvmlDeviceGetCudaComputeCapability in this driver: unknown, not an error.
    assert data["hardware"]["gpus"] == [{"index": 0, "name": "Tesla V100-SXM2-32GB", "memory_mib": 32768}]


@requires_gcc
def test_driver_not_loaded_is_recorded_as_an_error(tmp_path: Path) -> None:
    data, proc = capture(tmp_path, FakeNvml(init_error=9, gpus=(H100,)))
    assert data["nvidia"] == {
        "driver_version": "",
        "cuda_driver_version": "",
        "source": "nvml",
        "error": "nvmlInit: Driver Not Loaded",
    }
    assert data["hardware"]["gpus"] == []
    assert "nvidia: nvmlInit: Driver Not Loaded" in data["envsnap"]["warnings"]
    assert "nvmlInit: Driver Not Loaded" in proc.stderr
    assert data["python"]["packages"], "the rest of the capture completed"


@requires_gcc
def test_a_lost_gpu_keeps_the_others(tmp_path: Path) -> None:
    lost = FakeGpu("NVIDIA A100-SXM4-40GB", (8, 0), 40 * GIB, name_error=15)
    data, _ = capture(tmp_path, FakeNvml(gpus=(H100, lost)))
    assert data["nvidia"]["error"] == "GPU 1: nvmlDeviceGetName: GPU is lost"
    assert data["hardware"]["gpus"] == [
        {"index": 0, "name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", "memory_mib": 81559},
        {"index": 1, "compute_capability": "8.0", "memory_mib": 40960},
    ]


@requires_gcc
def test_a_hung_driver_is_bounded_by_the_timeout(tmp_path: Path) -> None:
    data, _ = capture(tmp_path, FakeNvml(hang=True, gpus=(H100,)), "--gpu-timeout", "1")
    assert data["nvidia"] == {
        "driver_version": "",
        "cuda_driver_version": "",
        "source": "nvml",
        "error": "NVML did not answer within 1 s (a hung driver?)",
    }
    assert data["hardware"]["gpus"] == []
    assert data["python"]["packages"]


def test_a_driver_library_that_cannot_be_loaded_is_an_error_not_an_absence(tmp_path: Path) -> None:
    # A broken driver install: libnvidia-ml.so.1 is there, where the loader looks, and cannot be loaded (cut short
    # by a failed upgrade). pynvml calls it "NVML Shared Library Not Found", and the capture recorded no driver at
    # all, as on a host without one: check then said to install a driver, not to repair the one installed.
    libdir = tmp_path / "broken"
    libdir.mkdir()
    (libdir / "libnvidia-ml.so.1").write_bytes(b"\x7fELF cut short")
    env = {**os.environ, "LD_LIBRARY_PATH": str(libdir)}
    nv, gpus, warnings = nvidia.probe_nvidia(timeout=30, environ=env)
    assert gpus == () and nv is not None, nv
    # Its folder is left out: a lock names no path of the captured machine's for this.
    assert nv.error == "nvmlInit: libnvidia-ml.so.1 cannot be loaded: file too short", nv
    assert (nv.driver_version, warnings) == ("", [f"nvidia: {nv.error}"])


def test_no_driver_is_a_quiet_absence(tmp_path: Path) -> None:
    if nvidia.find_library(os.environ) is not None:
        pytest.skip("this machine has an NVIDIA driver: the no-driver state cannot be observed")
    data, proc = capture(tmp_path, None)
    assert "nvidia" not in data
    assert data["hardware"]["gpus"] == []
    assert not [w for w in data["envsnap"]["warnings"] if w.startswith(("nvidia", "cuda", "frameworks"))]
    assert "warning" not in proc.stderr


# ------------------------------------------------------------------------------------ pieces, on plain data


def test_find_library(tmp_path: Path) -> None:
    empty_cache = tmp_path / "ld.so.cache"
    empty_cache.write_bytes(b"glibc-ld.so.cache1.1\0libc.so.6\0")
    libdir = tmp_path / "lib"
    libdir.mkdir()
    if nvidia.find_library({}, ld_cache=str(empty_cache)) is None:
        assert nvidia.find_library({"LD_LIBRARY_PATH": str(libdir)}, ld_cache=str(empty_cache)) is None
    (libdir / "libnvidia-ml.so.1").write_bytes(b"")
    found = nvidia.find_library({"LD_LIBRARY_PATH": f"/nonexistent:{libdir}"}, ld_cache=str(empty_cache))
    assert found == str(libdir / "libnvidia-ml.so.1")
    cache = tmp_path / "ld.so.cache.driver"
    cache.write_bytes(b"glibc-ld.so.cache1.1\0libnvidia-ml.so.1\0/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1\0")
    assert nvidia.find_library({}, ld_cache=str(cache)) == "ld.so.cache"


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (12040, "12.4"),
        (12080, "12.8"),
        (13000, "13.0"),
        (10010, "10.1"),
        (11020, "11.2"),
        (0, ""),
        (None, ""),
    ],
)
def test_format_cuda_version(code: int | None, text: str) -> None:
    assert nvidia.format_cuda_version(code) == text


def test_parse_answer() -> None:
    answer = {
        "driver_version": "535.104.05",
        "cuda_method": "v2",
        "cuda_driver_version": 12020,
        "errors": [],
        "gpus": [
            {
                "index": 0,
                "name": "NVIDIA L4",
                "cc": [8, 9],
                "memory_total": 24152899584,
                "uuid": "GPU-5d1e2c3b-0a9f-4e6d-8c7b-1f2e3d4c5b6a",
                "serial": "123",
            }
        ],
    }
    nv, gpus = nvidia.parse_answer(answer)
    assert nv == Nvidia(driver_version="535.104.05", cuda_driver_version="12.2", source="nvml")
    assert gpus == (Gpu(index=0, name="NVIDIA L4", compute_capability="8.9", memory_mib=23034),)
    _, with_ids = nvidia.parse_answer(answer, gpu_ids=True)
    assert (with_ids[0].uuid, with_ids[0].serial) == ("GPU-5d1e2c3b-0a9f-4e6d-8c7b-1f2e3d4c5b6a", "123")
    # An answer in another form than NVML's is not recorded (the lock would be refused by every command).
    odd = {**answer, "gpus": [{**answer["gpus"][0], "uuid": "GPU-x\u202e", "serial": "12 | **3**"}]}
    assert [(g.uuid, g.serial) for g in nvidia.parse_answer(odd, gpu_ids=True)[1]] == [("", "")]
    # The library vanished between the check and the query: absent, not an error.
    assert nvidia.parse_answer({"fatal": "nvmlInit: NVML Shared Library Not Found", "code": 12}) == (None, ())
    assert nvidia.parse_answer({"fatal": "nvmlInit: Unknown Error", "code": 999}) == (
        Nvidia(source="nvml", error="nvmlInit: Unknown Error"),
        (),
    )


def test_worker_crash_is_an_error(tmp_path: Path) -> None:
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\necho 'Segmentation fault' >&2\nexit 139\n")
    fake_python.chmod(0o755)
    answer = nvidia.query_nvml(5, False, dict(os.environ), python=str(fake_python))
    assert answer == {"fatal": "the NVML query failed: Segmentation fault"}


def test_device_uuids_in_the_environment_need_the_opt_in(tmp_path: Path) -> None:
    uuid = "GPU-5d1e2c3b-0a9f-4e6d-8c7b-1f2e3d4c5b6a"
    mig = "MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f"
    env = {"CUDA_VISIBLE_DEVICES": f"{uuid},{mig}", "NVIDIA_VISIBLE_DEVICES": f"MIG-{uuid}/1/0"}
    assert nvidia.redact_device_ids(env) == {
        "CUDA_VISIBLE_DEVICES": "GPU-<uuid>,MIG-<uuid>",
        "NVIDIA_VISIBLE_DEVICES": "MIG-GPU-<uuid>/1/0",
    }
    assert nvidia.redact_device_ids({"CUDA_VISIBLE_DEVICES": "0,1"}) == {"CUDA_VISIBLE_DEVICES": "0,1"}
    lock = tmp_path / "a.lock"
    run_env = {**os.environ, "CUDA_VISIBLE_DEVICES": uuid}
    for extra, expected in (((), "GPU-<uuid>"), (("--gpu-ids",), uuid)):
        subprocess.run(
            [sys.executable, "-m", "envsnap", "capture", "-o", str(lock), *extra],
            env=run_env,
            cwd=tmp_path,
            check=True,
            capture_output=True,
            timeout=120,
        )
        assert tomllib.loads(lock.read_text())["environment"]["CUDA_VISIBLE_DEVICES"] == expected


@requires_gcc
def test_mig_devices_are_recorded_with_gpu_ids_only(tmp_path: Path) -> None:
    """A GPU in MIG mode: with --gpu-ids its MIG devices' UUIDs are recorded (what tells the check which GPU a
    CUDA_VISIBLE_DEVICES=MIG-<uuid> is on); an answer not in NVML's form is dropped, and without --gpu-ids none."""
    migs = ("MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f", "not-a-uuid", "MIG-0a0b0c0d-0000-1111-2222-333344445555")
    config = FakeNvml(driver="550.54.14", cuda=12040, gpus=(dataclasses.replace(H100, mig=migs), EIGHT[7]))
    data, _ = capture(tmp_path, config, "--gpu-ids")
    assert [g.get("mig_uuids") for g in data["hardware"]["gpus"]] == [[migs[0], migs[2]], None]
    assert not [w for w in data["envsnap"]["warnings"] if w.startswith("nvidia")]
    data, _ = capture(tmp_path, config)
    assert [g.get("mig_uuids") for g in data["hardware"]["gpus"]] == [None, None]
