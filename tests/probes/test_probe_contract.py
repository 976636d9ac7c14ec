"""The probe contract (``envsnap/probes/interface.py``): every declared probe gives a ``ProbeResult``, a
probe that fails unexpectedly is a warning, each is timed, and the target's answer is checked once."""

from __future__ import annotations

import inspect
import json
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

import envsnap
from envsnap import _runner
from envsnap._privacy import PathRedactor
from envsnap.errors import ProbeError
from envsnap.model import Snapshot
from envsnap.probes import cuda, frameworks, nvidia, project
from envsnap.probes.capture import PROBES, Captured, run_capture
from envsnap.probes.interface import CaptureOptions, Probe, ProbeContext, ProbeResult, RawPackage, RawPython


@pytest.fixture(scope="module")
def captured() -> Captured:
    return run_capture(CaptureOptions(environ={}))


class Stand(Probe[Any]):
    """A declared probe's place taken by another ``run`` (and fallback, or none)."""

    def __init__(
        self,
        like: Probe[Any],
        run: Callable[[ProbeContext], ProbeResult[Any]],
        fallback: Callable[[ProbeContext], Any] | None = None,
    ):
        self.name, self.background = like.name, like.background
        self._run, self._fallback = run, fallback

    def run(self, ctx: ProbeContext) -> ProbeResult[Any]:
        return self._run(ctx)

    def fallback(self, ctx: ProbeContext) -> Any:
        if self._fallback is None:
            raise NotImplementedError
        return self._fallback(ctx)


def _replace(
    probe: Probe[Any],
    run: Callable[[ProbeContext], ProbeResult[Any]],
    fallback: Callable[[ProbeContext], Any] | None = None,
    probes: tuple[Probe[Any], ...] = PROBES,
) -> tuple[Probe[Any], ...]:
    return tuple(Stand(p, run, fallback) if p is probe else p for p in probes)


def test_every_declared_probe_is_a_complete_probe_of_its_own_name() -> None:
    for probe in PROBES:
        assert isinstance(probe, Probe) and not inspect.isabstract(type(probe)), probe
        assert type(probe).run is not Probe.run, probe.name
    assert len({p.name for p in PROBES}) == len(PROBES) and all(PROBES)


def test_every_declared_probe_gives_a_timed_result(captured: Captured) -> None:
    assert list(captured.results) == [p.name for p in PROBES]
    assert len(set(captured.results)) == len(PROBES)
    for name, result in captured.results.items():
        assert isinstance(result, ProbeResult), name
        assert all(isinstance(w, str) and w for w in result.warnings), name
        assert result.seconds > 0, name
    assert captured.snapshot.python.packages  # the target's facts reached the model
    assert {"nvidia", "python", "system", "cuda"} <= set(captured.timings())


def test_capture_keywords_and_the_options_object_agree() -> None:
    timings: dict[str, float] = {}
    by_keywords = envsnap.capture(environ={}, gpu_ids=False, timings=timings)
    by_options = envsnap.capture(options=CaptureOptions(environ={}))
    assert isinstance(by_keywords, Snapshot)
    assert by_keywords.python == by_options.python
    assert set(timings) >= {p.name for p in PROBES}
    with pytest.raises(TypeError):
        envsnap.capture(no_such_option=True)


def test_a_probe_that_raises_is_a_warning_and_the_others_still_record() -> None:
    def broken(ctx: ProbeContext) -> ProbeResult[Any]:
        raise OSError("the CUDA scan broke")

    probes = _replace(cuda.PROBE, broken, lambda ctx: None)
    snapshot = run_capture(CaptureOptions(environ={}), probes=probes).snapshot
    assert snapshot.cuda is None
    assert "cuda: the probe failed (OSError: the CUDA scan broke); not recorded" in snapshot.envsnap.warnings
    assert snapshot.python.packages and snapshot.platform.machine


def test_a_probe_error_still_stops_the_capture() -> None:
    """What the user asked for cannot be captured (an unreadable conda-meta, a bad --python): one error line,
    as before the contract."""

    def refuses(ctx: ProbeContext) -> ProbeResult[Any]:
        raise ProbeError("--prefix /x: cannot read")

    with pytest.raises(ProbeError, match="cannot read"):
        run_capture(CaptureOptions(environ={}), probes=_replace(cuda.PROBE, refuses, lambda ctx: None))


def test_a_probe_without_a_fallback_stops_the_capture() -> None:
    def broken(ctx: ProbeContext) -> ProbeResult[Any]:
        raise KeyError("version")

    with pytest.raises(KeyError):
        run_capture(CaptureOptions(environ={}), probes=_replace(frameworks.PROBE, broken))


def test_a_deep_failure_keeps_the_frameworks_the_files_gave() -> None:
    def broken(ctx: ProbeContext) -> ProbeResult[Any]:
        raise RuntimeError("boom")

    probes = _replace(frameworks.DEEP, broken, frameworks.DEEP.fallback)
    captured = run_capture(CaptureOptions(environ={}), probes=probes)
    assert captured.snapshot.frameworks == captured.results["frameworks"].value
    assert "deep: the probe failed (RuntimeError: boom); not recorded" in captured.snapshot.envsnap.warnings


def test_background_probes_overlap_the_others() -> None:
    """A background probe runs beside the probes after it: here it waits for one of them, which would
    deadlock (and time out) if they ran one after the other."""
    reached = threading.Event()

    def waits(ctx: ProbeContext) -> ProbeResult[Any]:
        assert reached.wait(30), "the foreground probes did not run while the background one waited"
        return project.probe(ctx)

    def signals(ctx: ProbeContext) -> ProbeResult[Any]:
        reached.set()
        return cuda.probe(ctx)

    probes = _replace(cuda.PROBE, signals, probes=_replace(project.PROBE, waits))
    captured = run_capture(CaptureOptions(environ={}), probes=probes)
    assert captured.results["project"].seconds > 0


def test_a_probe_read_before_it_started_is_a_clear_bug() -> None:
    """The declared order is the contract: a probe reading one declared after it fails loudly."""
    probes = (*(p for p in PROBES if p.name != "frameworks"), frameworks.PROBE)
    with pytest.raises(RuntimeError, match="the frameworks probe is read before it was started"):
        run_capture(CaptureOptions(environ={}), probes=tuple(Stand(p, p.run) for p in probes))


# ------------------------------------------------------------------------------ the target's answer


GOOD: dict[str, Any] = {
    "prefix": "/env",
    "implementation": "cpython",
    "version": "3.11.7",
    "abi": "cp311",
    "pointer_bits": 64,
    "packages": [
        {
            "name": "numpy",
            "version": "2.0.0",
            "site_dir": "/env/lib",
            "shared_objects": ["/env/a.so"],
            "changed_files": {"modified": ["a.py"], "missing": []},
        }
    ],
    "warnings": [{"kind": "shadowed", "path": "/env/x", "reason": "older"}],
}


def test_a_well_formed_answer_becomes_typed_facts() -> None:
    raw = RawPython.from_json(json.loads(json.dumps(GOOD)))
    assert raw.base_prefix == "/env" and raw.pointer_bits == 64
    assert raw.packages == (
        RawPackage(
            name="numpy",
            version="2.0.0",
            site_dir="/env/lib",
            shared_objects=("/env/a.so",),
            changed_files={"modified": ("a.py",), "missing": ()},
        ),
    )
    assert raw.warnings[0].reason == "older"


def _with(path: str, value: Any) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(json.dumps(GOOD))
    where: Any = answer
    *parents, last = path.split(".")
    for part in parents:
        where = where[int(part)] if part.isdigit() else where[part]
    key: Any = int(last) if last.isdigit() else last
    if value is KeyError:
        del where[key]
    else:
        where[key] = value
    return answer


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ([], "the answer is not an object"),
        (_with("prefix", KeyError), "prefix is missing"),
        (_with("version", 3.11), "version is not a string"),
        (_with("pointer_bits", "64"), "pointer_bits is not an integer"),
        (_with("free_threaded", "no"), "free_threaded is not true or false"),
        (_with("kind", "virtualenv"), "kind is not one of system, venv, conda"),
        (_with("packages", KeyError), "packages is missing"),
        (_with("packages", {}), "packages is not a list"),
        (_with("packages.0.version", None), "packages[0].version is missing"),
        (_with("packages.0.site_dir", ["/env"]), "packages[0].site_dir is not a string"),
        (_with("packages.0.shared_objects", ["/a.so", 7]), "packages[0].shared_objects[1] is not a string"),
        (_with("packages.0.changed_files", {"modified": "a.py"}), "packages[0].changed_files.modified is not a list"),
        (_with("packages.0", "numpy"), "packages[0] is not an object"),
        (_with("warnings.0.reason", 1), "warnings[0].reason is not a string"),
    ],
)
def test_a_malformed_answer_is_one_line_naming_the_field(answer: Any, named: str) -> None:
    with pytest.raises(ProbeError) as caught:
        RawPython.from_json(answer, "--python /x/python")
    message = str(caught.value)
    assert message.startswith(f"--python /x/python: unexpected probe answer: {named} ")
    assert "\n" not in message


def test_a_probe_runs_commands_through_the_context_runner(tmp_path: Path) -> None:
    """The runner is the context's: a test (or a caller) hands in another, and the NVML probe asks it, not the
    machine (a driver library is found on LD_LIBRARY_PATH; the runner answers as the NVML worker would)."""
    (tmp_path / "libnvidia-ml.so.1").write_bytes(b"")
    asked: list[Sequence[str]] = []

    def runner(args: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None) -> _runner.Result:
        asked.append(args)
        answer = {
            "driver_version": "550.54.15",
            "cuda_driver_version": 12040,
            "gpus": [{"index": 0, "name": "NVIDIA H100", "cc": [9, 0], "memory_total": 80 << 30}],
        }
        return _runner.Result(tuple(args), 0, json.dumps(answer), "")

    def no_target() -> RawPython:
        raise AssertionError("the NVML probe does not wait for the target interpreter")

    ctx = ProbeContext(
        CaptureOptions(),
        {"LD_LIBRARY_PATH": str(tmp_path)},
        python=no_target,
        redactor=lambda raw: PathRedactor(),
        system=Future(),
        project_root=None,
        runner=runner,
    )
    result = nvidia.PROBE(ctx)
    driver, gpus = result.value
    assert driver is not None and driver.driver_version == "550.54.15" and driver.cuda_driver_version == "12.4"
    assert [(g.name, g.compute_capability, g.memory_mib) for g in gpus] == [("NVIDIA H100", "9.0", 80 * 1024)]
    assert len(asked) == 1 and str(nvidia.WORKER) in asked[0]
    assert result.warnings == () and result.seconds > 0


def test_verify_files_hashes_files_in_parallel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``verify --files`` hashes on several threads (issue 20): two files' hashing must be under way at once,
    which a barrier of two only lets through when they are (one thread would wait on it and break it)."""
    import base64
    import hashlib
    import threading

    from envsnap.probes import _pyprobe

    rows = []
    for name in ("a.py", "b.py", "c.py", "d.py"):
        data = name.encode() * 100
        (tmp_path / name).write_bytes(data)
        rows.append((name, "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()))
    (tmp_path / "b.py").write_bytes(b"edited")
    (tmp_path / "d.py").unlink()
    barrier = threading.Barrier(2, timeout=30)
    hashing = _pyprobe._file_state

    def together(site_dir: str, entry: str, expected: str | list[str]) -> str:
        barrier.wait()  # BrokenBarrierError when the files are hashed one after the other
        return hashing(site_dir, entry, expected)

    monkeypatch.setattr(_pyprobe, "_file_state", together)
    monkeypatch.setattr(_pyprobe, "_HASH_POOL", [])
    monkeypatch.setattr(_pyprobe.os, "cpu_count", lambda: 2)
    assert _pyprobe.changed_files([(str(tmp_path), rows)]) == [{"modified": ["b.py"], "missing": ["d.py"]}]


def test_capture_names_the_interpreter_python_as_verify_and_check_do(
    tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """``envsnap.verify(python=...)`` and ``envsnap.check(python=...)``, but ``envsnap.capture(python_path=...)``:
    ``capture(python=X)`` raised ``TypeError: CaptureOptions.__init__() got an unexpected keyword argument
    'python'``, naming an internal class. capture takes ``python=``, ``python_path=`` still as its alias, and a
    keyword it does not know is refused in capture's own name."""
    venv_python = make_venv(tmp_path / "venv")
    for given in ({"python": str(venv_python)}, {"python_path": str(venv_python)}):
        snap = envsnap.capture(environ={}, gpu_ids=False, **given)  # type: ignore[arg-type]
        assert snap.python.kind == "venv" and "pytest" not in {p.name for p in snap.python.packages}, given
    with pytest.raises(TypeError, match=r"^capture\(\) got an unexpected keyword argument 'pyhton'$"):
        envsnap.capture(pyhton=str(venv_python))
    with pytest.raises(TypeError, match=r"^capture\(\) got both python= and python_path="):
        envsnap.capture(python=str(venv_python), python_path=sys.executable)
    for name in ("capture", "check", "verify"):
        assert "python" in inspect.signature(getattr(envsnap, name)).parameters, name
