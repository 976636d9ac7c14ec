"""The Python layer: run the standard-library probe in the target interpreter, turn its answer into the model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .interface import Probe, ProbeContext, ProbeResult, RawPackage, RawPython
from .pending import PROBE_PATH
from .pending import PendingProbe as PendingProbe
from .pending import run_probe as run_probe
from .target import TargetEnvironment as TargetEnvironment
from .target import is_python_name as is_python_name
from .target import resolve_interpreter as resolve_interpreter
from .target import script_interpreter as script_interpreter
from .target import select_environment as select_environment

if TYPE_CHECKING:
    from .._privacy import PathRedactor
    from ..model import PythonEnv, PythonPackage, Source

PROBE_SCRIPT = Path(PROBE_PATH)  # imports _pyprobe (its byte code): see there


def source_from_direct_url(direct_url: Any, redact: PathRedactor) -> Source:
    """PEP 610 ``direct_url.json`` -> Source. Credentials, signed-URL signatures, tokens, home directories and the
    login and host names never survive in the URL and the requested revision (the probe reports the file as is;
    this is where it is scrubbed). The ``subdirectory`` is kept as written: a folder inside the repository or
    archive, where a rebuild builds the package, not a path of this machine (``alice-tools`` recorded as
    ``<user>-tools`` named nothing there)."""
    from ..model import Source, Vcs

    if not isinstance(direct_url, dict) or not isinstance(direct_url.get("url"), str):
        return Source()
    url = redact.url(direct_url["url"])
    subdirectory = str(direct_url.get("subdirectory", "") or "")
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
    from .. import grammar
    from ..model import PythonPackage

    return PythonPackage(
        name=info.name,
        version=info.version,
        installer=_installer(info.installer),
        requested=info.requested,
        wheel_tags=info.wheel_tags,
        source=_source(info, redact),
        record_digest=info.record_digest,
        metadata_name=info.metadata_name if info.metadata_name != info.name else "",
        # Each line as shown (grammar.is_line): a control, bidi or line separator character as U+FFFD, so the lock
        # loads (verify then skips that line as not PEP 508, as pip would not act on it either).
        requires_dist=tuple(map(grammar.strip_terminal, info.requires_dist)),
        requires_python=info.requires_python if grammar.is_requires_python(info.requires_python) else "",
    )


def _installer(text: str) -> str:
    """An ``INSTALLER`` file's installer as a lock holds it: its first line, where that is an installer's name
    (printable ASCII), else none. A file of two lines or of other text went into the lock as it stood, and the
    lock just written was refused on its next load."""
    from .. import grammar

    first = text.strip().partition("\n")[0].strip()
    return first if grammar.is_installer(first) else ""


def _source(info: RawPackage, redact: PathRedactor) -> Source:
    """Where a distribution came from: its ``direct_url.json``; a legacy editable install (``setup.py develop``)
    has none, and is recorded as a modern editable install of the folder its ``.egg-link`` names."""
    if info.direct_url is None and info.egg_link:
        from ..model import Source

        return Source(kind="directory", url=redact.url(Path(info.egg_link).as_uri()), editable=True)
    return source_from_direct_url(info.direct_url, redact)


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
