"""What a process tree loaded, seen without ptrace.

Two sources, merged:

- samples of ``/proc/PID/maps`` of every process in the tree (found from ``/proc/PID/task/*/children`` where the
  kernel has it, else from every process's parent in ``/proc/*/stat``), taken often at first and then less
  often (``Sampler``): the shared objects mapped executable. A process that starts and ends between two
  samples is missed, so the record says the tree was sampled;
- for Python processes, a ``sitecustomize`` hook put first on ``PYTHONPATH`` (``_hook/``, chaining to any
  sitecustomize it shadows) that writes ``sys.modules`` and the process's own maps at exit (read by ``reports``).

``envsnap run`` imports this module before the command starts: it imports nothing beyond ``os``, ``time`` and
``envsnap._procstat`` (which imports nothing).
"""

from __future__ import annotations

import os
import time

from .. import _procstat

HOOK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_hook")
HOOK_ENV = "ENVSNAP_RUN_HOOK_DIR"
FIRST_INTERVAL = 0.01
MAX_INTERVAL = 0.5


def executable_mappings(maps_text: str) -> set[str]:
    """The files mapped executable in a ``/proc/PID/maps`` text (the program and its shared objects)."""
    out = set()
    for line in maps_text.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and "x" in parts[1] and parts[5].startswith("/"):
            path = parts[5]
            if path.endswith(" (deleted)"):
                path = path[: -len(" (deleted)")]
            out.add(path)
    return out


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            return fh.read()
    except OSError:
        return ""


def _has_children_files() -> bool:
    return os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (from /proc/*/stat)."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _procstat.stat_fields(entry.name)
        if len(fields) > _procstat.PPID and fields[_procstat.PPID].isdigit():
            out[int(entry.name)] = int(fields[_procstat.PPID])
    return out


def descendants(root: int, *, children_files: bool | None = None) -> set[int]:
    """``root`` and every process below it, now."""
    use_children = _has_children_files() if children_files is None else children_files
    found = {root}
    if use_children:
        todo = [root]
        while todo:
            pid = todo.pop()
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for task in tasks:
                for word in _read(f"/proc/{pid}/task/{task}/children").split():
                    if word.isdigit() and int(word) not in found:
                        found.add(int(word))
                        todo.append(int(word))
        return found
    parents = _parents()
    by_parent: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        by_parent.setdefault(ppid, []).append(pid)
    todo = [root]
    while todo:
        for child in by_parent.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class Sampler:
    """Samples the maps of a process tree; ``wait_time()`` says how long until the next sample is wanted."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.objects: set[str] = set()
        self.processes: set[int] = set()
        self.samples = 0
        self.interval = FIRST_INTERVAL
        self._next = 0.0
        self._children_files = _has_children_files()

    def sample(self) -> None:
        start = time.monotonic()
        for pid in descendants(self.root, children_files=self._children_files):
            maps = _read(f"/proc/{pid}/maps")
            if maps:
                self.processes.add(pid)
                self.objects |= executable_mappings(maps)
        self.samples += 1
        cost = time.monotonic() - start
        # Often while the program starts (its libraries load then), then less often; never more than a
        # twentieth of the time on sampling.
        self.interval = min(MAX_INTERVAL, max(self.interval * 1.5, cost * 20))
        self._next = time.monotonic() + self.interval

    def wait_time(self) -> float:
        return max(0.0, self._next - time.monotonic())


def hook_environment(env: dict[str, str], report_dir: str) -> dict[str, str]:
    """``env`` with the hook first on PYTHONPATH and its report folder set."""
    out = dict(env)
    old = out.get("PYTHONPATH", "")
    out["PYTHONPATH"] = HOOK_DIR + (os.pathsep + old if old else "")
    out[HOOK_ENV] = report_dir
    return out


def own_maps() -> set[str]:
    """The shared objects this process has mapped now (``record_run`` records the running process)."""
    return executable_mappings(_read("/proc/self/maps"))
