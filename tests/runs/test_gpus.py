"""Which GPUs a run used: NVML's per-process lists matched to the tree, or "unknown" with the reason."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest

from envsnap.runs import gpus
from envsnap.runs.gpus import GpuWatch


class _Nvml:
    """NVML's per-process queries as pynvml answers them (objects with a pid)."""

    def __init__(self, compute: dict[int, list[int]], graphics: dict[int, list[int]] | None = None):
        self.compute, self.graphics = compute, graphics or {}

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[Any]:
        return [SimpleNamespace(pid=p) for p in self.compute.get(handle, [])]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: int) -> list[Any]:
        return [SimpleNamespace(pid=p) for p in self.graphics.get(handle, [])]


def test_a_gpu_is_used_when_a_process_of_the_tree_is_on_its_list() -> None:
    me = os.getpid()
    watch = GpuWatch(pids=lambda: {me}, environ={"CUDA_VISIBLE_DEVICES": "1,0"})
    watch.poll_once(_Nvml({0: [1], 1: [me]}, {0: []}), [(0, 0), (1, 1)], {0: "H200", 1: "H200"})
    gpus = watch.result()
    assert gpus.used == ("1 (H200)",) and gpus.used_known
    assert gpus.visible_devices == "1,0" and gpus.visible_devices_set


def test_no_gpu_used_is_known_only_when_every_listed_process_is_visible_here() -> None:
    me = os.getpid()
    watch = GpuWatch(pids=lambda: {me}, environ={})
    watch.poll_once(_Nvml({0: [1]}), [(0, 0)], {0: "H200"})  # pid 1 is visible here and not ours
    assert watch.result().used == () and watch.result().used_known
    hidden = GpuWatch(pids=lambda: {me}, environ={})
    hidden.poll_once(_Nvml({0: [2**22 + 12345]}), [(0, 0)], {0: "H200"})  # a pid of another namespace
    result = hidden.result()
    assert not result.used_known and "PID namespace" in result.note and not result.visible_devices_set


def test_without_nvml_the_gpus_used_are_unknown_and_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpus, "find_library", lambda environ: None)  # a host without the NVIDIA driver
    watch = GpuWatch(pids=set, environ={})
    watch.start()
    watch.stop()
    result = watch.result()
    assert not result.used_known and result.used == ()
    assert result.note == "no NVIDIA driver library (NVML) on this host"


def test_with_a_driver_pynvml_is_imported_by_start_and_polled_in_the_watch_s_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``start`` imports pynvml in the calling thread (envsnap run lets one thread import at a time) and the
    polling thread uses that module: NVML started, the tree's processes matched, NVML shut down; an NVML that
    cannot start says so."""
    import sys
    import threading
    import types

    me = os.getpid()
    calls: list[str] = []
    importer: list[str] = []

    fake = types.ModuleType("pynvml")
    fake.nvmlInit = lambda: calls.append("init")  # type: ignore[attr-defined]
    fake.nvmlShutdown = lambda: calls.append("shutdown")  # type: ignore[attr-defined]
    fake.nvmlDeviceGetCount = lambda: 1  # type: ignore[attr-defined]
    fake.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    fake.nvmlDeviceGetName = lambda h: b"H200"  # type: ignore[attr-defined]
    fake.nvmlDeviceGetComputeRunningProcesses = lambda h: [SimpleNamespace(pid=me)]  # type: ignore[attr-defined]
    fake.nvmlDeviceGetGraphicsRunningProcesses = lambda h: []  # type: ignore[attr-defined]

    real_import = __import__

    def spying_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pynvml":
            importer.append(threading.current_thread().name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(gpus, "find_library", lambda environ: "/usr/lib/libnvidia-ml.so.1")
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setattr("builtins.__import__", spying_import)
    watch = GpuWatch(pids=lambda: {me}, environ={}, interval=0.01)
    watch.start()
    watch.stop()
    monkeypatch.setattr("builtins.__import__", real_import)
    result = watch.result()
    assert importer == [threading.current_thread().name]
    assert result.used == ("0 (H200)",) and result.used_known and calls[0] == "init" and calls[-1] == "shutdown"

    def broken() -> None:
        raise RuntimeError("driver/library version mismatch")

    fake.nvmlInit = broken  # type: ignore[attr-defined]
    failing = GpuWatch(pids=lambda: {me}, environ={})
    failing.start()
    failing.stop()
    assert not failing.result().used_known and "NVML could not be started" in failing.result().note


def test_gpu_uuids_in_the_visible_devices_are_not_recorded() -> None:
    """``CUDA_VISIBLE_DEVICES=GPU-8a2c...,MIG-1111...`` reached the run record and the artifact's crate, where a
    capture records ``GPU-<uuid>`` (a UUID identifies the machine)."""
    uuid = "GPU-8a2c4f1e-0b7d-4a58-9c3e-1f2a3b4c5d6e"
    mig = "MIG-11111111-2222-3333-4444-555555555555"
    watch = GpuWatch(pids=lambda: set(), environ={"CUDA_VISIBLE_DEVICES": f"{uuid},{mig},1"})
    gpus = watch.result()
    assert "8a2c" not in gpus.visible_devices and "1111" not in gpus.visible_devices, gpus.visible_devices
    assert gpus.visible_devices == "GPU-<uuid>,MIG-<uuid>,1" and gpus.visible_devices_set
