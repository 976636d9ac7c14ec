"""The Python layer: run the standard-library probe in the target interpreter, turn its answer into the model."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .. import _runner
from .._defaults import PROBE_TIMEOUT, capture_cache_path
from ..errors import ProbeError
from .interface import Probe, ProbeContext, ProbeResult, RawPackage, RawPython
from .target import TargetEnvironment as TargetEnvironment
from .target import is_python_name as is_python_name
from .target import resolve_interpreter as resolve_interpreter
from .target import script_interpreter as script_interpreter
from .target import select_environment as select_environment

if TYPE_CHECKING:
    from .._privacy import PathRedactor
    from ..model import PythonEnv, PythonPackage, Source

# This module is imported before the rest of envsnap (the CLI starts the probe first, so the target's scan
# overlaps envsnap's own start-up): the model and the in-process probe are imported where they are used.
PROBE_SCRIPT = Path(__file__).with_name("_pyprobe_run.py")  # imports _pyprobe (its byte code): see there


def _records_cache(interpreter: str) -> str | None:
    path = capture_cache_path("records", interpreter)
    return None if path is None else str(path)


class PendingProbe:
    """A probe running in the target interpreter while the caller does other work."""

    def __init__(self, python: str | None, *, check_files: bool = False, use_cache: bool = True):
        """``use_cache``: reuse the RECORD digests of the last capture of this interpreter where nothing they
        were computed from changed (the capture cache, ``probes/cache.py``), and keep the new ones."""
        self.python = python
        self._raw: RawPython | None = None
        self._proc: _runner.Running | None = None
        self.cache_path: str | None = None
        if python is None:
            from . import _pyprobe

            self.cache_path = _records_cache(sys.executable) if use_cache else None
            self._raw = self._answer(_pyprobe.probe(check_files=check_files, cache_path=self.cache_path))
            return
        exe = resolve_interpreter(python)
        self.cache_path = _records_cache(exe) if use_cache else None
        # -E: PYTHON* variables of this process must not steer the target; -s is not used so that user
        # site-packages, which that interpreter would see, are captured too; -B: it writes no byte code into
        # envsnap's folder (``_pyprobe_run``). Its own process group, killed whole on timeout: a wrapper's
        # children cannot keep it running.
        args = [exe, "-E", "-B", str(PROBE_SCRIPT), *(["--files"] if check_files else [])]
        self._proc = _runner.start([*args, *(["--cache", self.cache_path] if self.cache_path else [])])
        if self._proc.error is not None:
            raise ProbeError(f"--python {python}: not a working Python interpreter ({self._proc.error.stderr})")

    def result(self) -> RawPython:
        if self._raw is not None:
            return self._raw
        assert self._proc is not None
        res = self._proc.wait(PROBE_TIMEOUT)
        out, err = res.stdout, res.stderr
        if res.timed_out:
            raise ProbeError(f"--python {self.python}: the probe did not finish within {PROBE_TIMEOUT:g} s")
        if res.flooded:
            raise ProbeError(f"--python {self.python}: the probe {err} (is it a Python interpreter?)")
        if res.returncode != 0:
            last = (err.strip().splitlines() or ["no output"])[-1]
            if last.startswith("SyntaxError"):
                # The interpreter runs, but cannot even compile the probe: Python 2 or 3.6 and older.
                raise ProbeError(
                    f"--python {self.python}: too old for envsnap's probe, which needs Python >= 3.7 ({last})"
                )
            raise ProbeError(f"--python {self.python}: not a working Python interpreter ({last})")
        try:
            data = json.loads(out)
        except ValueError:
            raise ProbeError(
                f"--python {self.python}: the probe printed no JSON (is it a Python interpreter?)"
            ) from None
        self._raw = self._answer(data, f"--python {self.python}")
        return self._raw

    def cancel(self) -> None:
        """End the probe unanswered (its process group killed): it was started ahead for a capture that
        turned out to want another interpreter."""
        if self._proc is not None and self._raw is None:
            self._proc.kill()

    def _answer(self, data: object, who: str = "this interpreter") -> RawPython:
        """The probe's answer checked; the RECORD digests it computed anew kept for the next capture."""
        kept = data.pop("cache", None) if isinstance(data, dict) else None
        # Only a cache file of RECORD digests is kept (its entries are checked again when they are read).
        if self.cache_path is not None and isinstance(kept, dict) and kept.get("kind") == "records":
            from .cache import write

            write(Path(self.cache_path), kept)
        return RawPython.from_json(data, who)


def run_probe(python: str | None = None) -> RawPython:
    """Probe ``python`` (a path to an interpreter) in a subprocess, or this interpreter in-process."""
    return PendingProbe(python).result()


def source_from_direct_url(direct_url: Any, redact: PathRedactor) -> Source:
    """PEP 610 ``direct_url.json`` -> Source. Credentials, signed-URL signatures, tokens, home directories and the
    login and host names never survive (the probe reports the file as is; this is where it is scrubbed)."""
    from ..model import Source, Vcs

    if not isinstance(direct_url, dict) or not isinstance(direct_url.get("url"), str):
        return Source()
    url = redact.url(direct_url["url"])
    subdirectory = redact.names(str(direct_url.get("subdirectory", "") or ""))
    vcs = direct_url.get("vcs_info")
    if isinstance(vcs, dict):
        return Source(
            kind="vcs",
            url=url,
            vcs=cast("Vcs", str(vcs.get("vcs", ""))),  # direct_url.json's: lockfile.RULES refuses another
            commit_id=str(vcs.get("commit_id", "")),
            requested_revision=redact.names(str(vcs.get("requested_revision", "") or "")),
            subdirectory=subdirectory,
        )
    archive = direct_url.get("archive_info")
    if isinstance(archive, dict):
        hashes = archive.get("hashes")
        archive_hash = ""
        if isinstance(hashes, dict) and hashes:
            algo = "sha256" if "sha256" in hashes else sorted(hashes)[0]
            archive_hash = f"{algo}={hashes[algo]}"
        elif isinstance(archive.get("hash"), str):
            archive_hash = archive["hash"]
        return Source(kind="archive", url=url, archive_hash=archive_hash, subdirectory=subdirectory)
    dir_info = direct_url.get("dir_info")
    if isinstance(dir_info, dict):
        return Source(
            kind="directory", url=url, editable=bool(dir_info.get("editable", False)), subdirectory=subdirectory
        )
    return Source(kind="archive", url=url, subdirectory=subdirectory)


def python_env(raw: RawPython, redact: PathRedactor) -> tuple[PythonEnv, list[str]]:
    """The recorded Python layer and the warnings worth keeping in the lockfile."""
    from ..model import PythonEnv

    packages = sorted((_package(info, redact) for info in raw.packages), key=lambda p: p.name)
    warnings = [f"python: {w.kind}: {redact.path(w.path)}: {redact.text(w.reason)}" for w in raw.warnings]
    warnings += [f"python: {info.name}: {info.warning}" for info in raw.packages if info.warning]
    env = PythonEnv(
        implementation=raw.implementation,
        version=raw.version,
        abi=raw.abi,
        soabi=raw.soabi,
        platform_tag=raw.platform_tag,
        pointer_bits=raw.pointer_bits,
        free_threaded=raw.free_threaded,
        kind=raw.kind,
        executable=_relative(raw.executable, raw.prefix),
        packages=tuple(packages),
    )
    return env, sorted(warnings)


def _package(info: RawPackage, redact: PathRedactor) -> PythonPackage:
    from ..model import PythonPackage

    return PythonPackage(
        name=info.name,
        version=info.version,
        installer=info.installer,
        requested=info.requested,
        wheel_tags=info.wheel_tags,
        source=source_from_direct_url(info.direct_url, redact),
        record_digest=info.record_digest,
        metadata_name=info.metadata_name if info.metadata_name != info.name else "",
        requires_dist=info.requires_dist,
        requires_python=info.requires_python,
    )


def probe(ctx: ProbeContext) -> ProbeResult[PythonEnv]:
    """The Python layer; distributions a conda record lists are marked ``conda_managed``."""
    from ..model import PythonEnv
    from . import conda as conda_probe

    if not ctx.options.python_layer:
        return ProbeResult(PythonEnv())
    env, warnings = python_env(ctx.python, ctx.redact)
    layer = ctx.value_of(conda_probe.PROBE)
    if layer is not None:
        env = conda_probe.mark_conda_managed(env, ctx.python.packages, layer)
    return ProbeResult(env, tuple(warnings))


class PythonProbe(Probe["PythonEnv"]):
    name = "python"

    def run(self, ctx: ProbeContext) -> ProbeResult[PythonEnv]:
        return probe(ctx)


PROBE = PythonProbe()


def _relative(path: str, prefix: str) -> str:
    try:
        rel = os.path.relpath(path, prefix)
    except ValueError:
        return os.path.basename(path)
    return os.path.basename(path) if rel.startswith("..") else rel
