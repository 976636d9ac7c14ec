"""Which GPUs a run was allowed and which it used.

Allowed: ``CUDA_VISIBLE_DEVICES`` as the command got it. Used: NVML's per-process lists (compute and graphics),
polled in a thread while the command runs, matched against the processes of the tree. When that cannot be known
the record says why (no NVML, NVML did not answer, a GPU process whose pid this PID namespace cannot see): it
never guesses from what is installed.

``envsnap run`` starts the watch at full priority while its command starts, so this module imports nothing
beyond ``os`` and ``threading`` (the record's ``Gpus`` is imported when the result is asked for): the model and
the lock's modules it imported before cost 0.2 s of CPU at the command's priority, and the preparation waited
for them.
"""

from __future__ import annotations

import contextlib
import os
import threading

from ..probes.nvmllib import find_library

TYPE_CHECKING = False  # not typing's (see the module's docstring)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from .record import Gpus

INTERVAL = 1.0
JOIN_TIMEOUT = 5.0


class GpuWatch:
    """Polls NVML in a daemon thread until ``stop()``; ``pids()`` gives the tree's processes at each poll."""

    def __init__(
        self, pids: Callable[[], set[int]], environ: Mapping[str, str] | None = None, interval: float = INTERVAL
    ) -> None:
        self.pids = pids
        self.environ: Mapping[str, str] = dict(os.environ) if environ is None else environ
        self.interval = interval
        self.used: dict[int, str] = {}
        self.note = ""
        self.polls = 0
        self._hidden = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start polling where there is a driver; pynvml is imported here, in the calling thread, not in the
        polling one (``envsnap run`` lets one thread import at a time)."""
        if find_library(self.environ) is None:
            self.note = "no NVIDIA driver library (NVML) on this host"
            return
        try:
            import pynvml  # type: ignore[import-untyped]
        except Exception as exc:
            self.note = f"NVML could not be started: {exc}"
            return
        self._thread = threading.Thread(target=self._run, args=(pynvml,), name="envsnap-gpu-watch", daemon=True)
        self._thread.start()

    def _run(self, pynvml: Any) -> None:
        try:
            pynvml.nvmlInit()
        except Exception as exc:  # NVMLError, a missing symbol, a broken driver: the answer is "unknown"
            self.note = f"NVML could not be started: {exc}"
            return
        try:
            handles = [(i, pynvml.nvmlDeviceGetHandleByIndex(i)) for i in range(pynvml.nvmlDeviceGetCount())]
            names = {i: _text(pynvml.nvmlDeviceGetName(h)) for i, h in handles}
            while True:
                self.poll_once(pynvml, handles, names)
                if self._stop.wait(self.interval):
                    break
            self.poll_once(pynvml, handles, names)
        except Exception as exc:
            self.note = f"NVML failed while polling: {exc}"
        finally:
            with contextlib.suppress(Exception):
                pynvml.nvmlShutdown()

    def poll_once(self, nvml: Any, handles: list[tuple[int, Any]], names: Mapping[int, str]) -> None:
        tree = self.pids()
        for index, handle in handles:
            procs = []
            for query in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
                try:
                    procs.extend(getattr(nvml, query)(handle))
                except Exception:
                    continue
            for proc in procs:
                pid = int(proc.pid)
                if pid in tree:
                    self.used[index] = names.get(index, "")
                elif not os.path.exists(f"/proc/{pid}"):
                    self._hidden = True  # another PID namespace (a container): NVML's pids are not ours
        self.polls += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT)
            if self._thread.is_alive():
                self.note = "NVML did not answer"

    def result(self) -> Gpus:
        from .record import Gpus

        visible = self.environ.get("CUDA_VISIBLE_DEVICES")
        used = tuple(f"{i} ({name})" if name else str(i) for i, name in sorted(self.used.items()))
        known = not self.note and self.polls > 0 and (bool(used) or not self._hidden)
        note = self.note
        if not note and self.polls == 0:
            note = "NVML was not polled"
        elif not note and not known:
            note = "NVML lists GPU processes this PID namespace cannot see (a container): use unknown"
        elif known:
            note = f"NVML per-process lists polled every {self.interval:g} s (a use shorter than that can be missed)"
        if visible:
            from ..probes.nvidia import redact_device_ids

            # As a lock records the variable: a GPU or MIG UUID identifies the machine (GPU-<uuid>); the record
            # and the artifact's crate held them in clear.
            visible = redact_device_ids({"CUDA_VISIBLE_DEVICES": visible})["CUDA_VISIBLE_DEVICES"]
        return Gpus(
            visible_devices=visible or "",
            visible_devices_set=visible is not None,
            used=used,
            used_known=known,
            note=note,
        )


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
