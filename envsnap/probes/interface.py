"""The probe contract: what every probe is given (``ProbeContext``) and gives back (``ProbeResult``).

A probe is an instance of a ``Probe`` subclass: a name, ``run`` from the context to a result, and
``fallback``, what to record when it fails.
``probes.capture`` runs a declared list of them and builds the Snapshot from their values; a probe that needs
another's value asks the context (``ctx.value_of(OTHER)``), which waits for it if it runs in the background.

The target interpreter's answer crosses into envsnap here, once: ``RawPython.from_json`` checks every field
it reads and turns the JSON into typed facts, so no probe reads ``dict[str, Any]``.

This module is imported before the rest of envsnap loads (the CLI starts the target probe first): standard
library only at import time.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from .._defaults import DEEP_TIMEOUT, GPU_TIMEOUT
from .._frozen import frozen
from ..errors import ProbeError

if TYPE_CHECKING:
    from concurrent.futures import Future  # annotations only: concurrent.futures imports logging (envsnap run)

    from .. import _runner
    from .._privacy import PathRedactor
    from ..model import EnvKind
    from .hostlibs import Loader, PackageDatabase

T = TypeVar("T")


class Runner(Protocol):
    """How a probe runs a command: ``_runner.run`` (always with a timeout, never through a shell); tests may
    hand another one in."""

    def __call__(
        self, args: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None
    ) -> _runner.Result: ...


# ------------------------------------------------------------------------------- the target's facts


@frozen
class RawWarning:
    """Something the target probe could not read (``broken-dist``) or set aside (``shadowed``, ``duplicate``)."""

    kind: str
    path: str
    reason: str


# The file a venv rebuilt from a bundle archive holds in a distribution's .dist-info in place of direct_url.json, where
# no place on the machine holds the wheel's source: ``{"filename": F, "sha256": HEX}``, the bundle's wheel installed
# (rebuild/venv.py writes it, a capture records it as that wheel: ``probes.python``). ``_pyprobe`` spells it too.
BUNDLE_WHEEL_FILE = "envsnap_bundle.json"


@frozen
class RawPackage:
    """One distribution as the target probe found it. Paths are absolute: used within one capture, never
    recorded as they are."""

    name: str
    version: str
    site_dir: str = ""
    metadata_name: str = ""
    installer: str = ""
    requested: bool = False
    wheel_tags: tuple[str, ...] = ()
    direct_url: object = None  # PEP 610 direct_url.json as read (any JSON: ``source_from_direct_url`` checks it)
    # ``BUNDLE_WHEEL_FILE`` as read (any JSON: ``probes.python`` checks it), where there is no direct_url.json.
    bundle_wheel: object = None
    egg_link: str = ""  # a legacy editable install's project folder, as its ``.egg-link`` names it
    record_digest: str = ""
    shared_objects: tuple[str, ...] = ()
    dist_dir: str = ""
    requires_dist: tuple[str, ...] = ()
    requires_python: str = ""
    warning: str = ""
    # Only for a distribution that lists none of its files (no RECORD, no installed-files.txt): its top-level modules,
    # whose shared objects the system package owning it lists (``PackageDatabase.module_shared_objects``).
    top_level: tuple[str, ...] = ()
    # The names in its site folder its RECORD (an egg-info's installed-files.txt or top_level.txt) lists files under
    # that are not there (``_pyprobe._files_gone``), and how many it lists: all of them gone, nothing of it imports,
    # though its ``.dist-info`` is as it was.
    missing_top_level: tuple[str, ...] = ()
    top_level_listed: int = 0
    # Found in the base interpreter's site folders, through a venv made with ``--system-site-packages``.
    base_site: bool = False
    # A zipped egg's compiled modules, as its listing names them (``_pyprobe._zipped_egg_info``): none else.
    zipped_native: tuple[str, ...] = ()
    # Only with ``--files``: {"modified": [...], "missing": [...]} relative to the site directory.
    changed_files: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Only with ``--files``: (entry, "sha256=...") of every RECORD row with a sha256, as the probe read them, so that
    # the conda check (``conda.pip_files``) does not read the RECORD again.
    record_hashes: tuple[tuple[str, str], ...] = ()


@frozen
class RawPython:
    """The target interpreter's answer: used within one capture, never recorded as is."""

    prefix: str
    implementation: str
    version: str
    abi: str
    base_prefix: str = ""
    soabi: str = ""
    platform_tag: str = ""
    pointer_bits: int = 64
    free_threaded: bool = False
    kind: EnvKind = "system"
    executable: str = ""
    packages: tuple[RawPackage, ...] = ()
    warnings: tuple[RawWarning, ...] = ()
    path_entries: tuple[str, ...] = ()  # the sys.path folders the probe looked in (the capture memo watches them)

    @classmethod
    def from_json(cls, data: object, who: str = "the probe") -> RawPython:
        """The probe's JSON, checked field by field (anything can print JSON). A malformed answer is one
        ``ProbeError`` line naming the first bad field: ``<who>: unexpected probe answer: packages[3].version
        is not a string``."""
        try:
            return _python(_Fields(data, ""))
        except _Malformed as exc:
            raise ProbeError(f"{who}: unexpected probe answer: {exc} (is it a Python interpreter?)") from None

    @classmethod
    def empty(cls, prefix: str) -> RawPython:
        """A conda environment without an interpreter: no Python facts, only where it is."""
        return cls(prefix=prefix, implementation="", version="", abi="", base_prefix=prefix)


class _Malformed(Exception):
    pass


class _Fields:
    """One JSON object being read, with the dotted path of each field for the error."""

    def __init__(self, data: object, path: str):
        if not isinstance(data, dict):
            raise _Malformed(f"{path or 'the answer'} is not an object")
        self.data: dict[str, object] = data
        self.path = path

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise _Malformed(f"{self._where(key)} is {'missing' if value is None else 'not a string'}")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.text(key, choices[0])
        if value not in choices:
            raise _Malformed(f"{self._where(key)} is not one of {', '.join(choices)}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise _Malformed(f"{self._where(key)} is not true or false")
        return value

    def number(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Malformed(f"{self._where(key)} is not an integer")
        return value

    def items(self, key: str, *, required: bool = False) -> list[object]:
        value = self.data.get(key, None if required else [])
        if not isinstance(value, list):
            raise _Malformed(f"{self._where(key)} is {'missing' if value is None else 'not a list'}")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        values = self.items(key)
        for i, value in enumerate(values):
            if not isinstance(value, str):
                raise _Malformed(f"{self._where(key)}[{i}] is not a string")
        return tuple(str(v) for v in values)

    def pairs(self, key: str) -> tuple[tuple[str, str], ...]:
        out = []
        for i, value in enumerate(self.items(key)):
            if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
                raise _Malformed(f"{self._where(key)}[{i}] is not a pair of strings")
            out.append((str(value[0]), str(value[1])))
        return tuple(out)

    def objects(self, key: str, *, required: bool = False) -> list[_Fields]:
        return [_Fields(v, f"{self._where(key)}[{i}]") for i, v in enumerate(self.items(key, required=required))]

    def child(self, key: str) -> _Fields | None:
        return None if self.data.get(key) is None else _Fields(self.data[key], self._where(key))


def _package(f: _Fields) -> RawPackage:
    changed = f.child("changed_files")
    return RawPackage(
        name=f.text("name"),
        version=f.text("version"),
        site_dir=f.text("site_dir"),
        metadata_name=f.text("metadata_name", ""),
        installer=f.text("installer", ""),
        requested=f.flag("requested"),
        wheel_tags=f.texts("wheel_tags"),
        direct_url=f.data.get("direct_url"),
        bundle_wheel=f.data.get("bundle_wheel"),
        egg_link=f.text("egg_link", ""),
        record_digest=f.text("record_digest", ""),
        shared_objects=f.texts("shared_objects"),
        dist_dir=f.text("dist_dir", ""),
        requires_dist=f.texts("requires_dist"),
        requires_python=f.text("requires_python", ""),
        warning=f.text("warning", ""),
        top_level=f.texts("top_level"),
        missing_top_level=f.texts("missing_top_level"),
        top_level_listed=f.number("top_level_listed", 0),
        base_site=f.flag("base_site"),
        zipped_native=f.texts("zipped_native"),
        changed_files={k: changed.texts(k) for k in ("modified", "missing")} if changed is not None else {},
        record_hashes=f.pairs("record_hashes"),
    )


def _python(f: _Fields) -> RawPython:
    prefix = f.text("prefix")
    return RawPython(
        prefix=prefix,
        implementation=f.text("implementation"),
        version=f.text("version"),
        abi=f.text("abi"),
        base_prefix=f.text("base_prefix", prefix),
        soabi=f.text("soabi", ""),
        platform_tag=f.text("platform_tag", ""),
        pointer_bits=f.number("pointer_bits", 64),
        free_threaded=f.flag("free_threaded"),
        kind=cast("EnvKind", f.choice("kind", ("system", "venv", "conda"))),
        executable=f.text("executable", ""),
        packages=tuple(_package(p) for p in f.objects("packages", required=True)),
        warnings=tuple(RawWarning(w.text("kind"), w.text("path"), w.text("reason")) for w in f.objects("warnings")),
        path_entries=f.texts("path_entries"),
    )


# ------------------------------------------------------------------------------------- the contract


@frozen
class CaptureOptions:
    """What to capture and how (the keywords ``envsnap.capture`` takes)."""

    python_path: str | None = None  # the interpreter to probe; None: the one running envsnap
    # How an error names it (``TargetEnvironment.named``); None: as ``--python`` names it, typed by the user
    python_named: str | None = None
    project_dir: str | None = None  # the project whose git state to record; None: the working directory's
    # False: the project's root still places paths ({project}), but its git state (status, diff, remote: several
    # git subprocesses) is not read; for a capture that only compares (check, verify, a rebuild's preflight)
    project_state: bool = True
    conda_prefix: str | None = None  # the conda environment to record; None: the interpreter's, when it is one
    python_layer: bool = True  # False: ``conda_prefix`` has no interpreter, and the lock no Python layer
    environ: Mapping[str, str] | None = None  # None: this process's
    deep: bool = False  # import each ML framework in a subprocess
    deep_timeout: float = DEEP_TIMEOUT
    gpu_ids: bool = False  # record GPU UUIDs and serials (they identify the machine)
    gpu_timeout: float = GPU_TIMEOUT
    check_files: bool = False  # hash every distribution's files against its RECORD (``verify --files``)
    output: str | None = None  # the lock being written: left out of the project's dirty state
    use_cache: bool = True  # the capture cache (probes/cache.py); False (``--no-cache``): read all, write none
    # The interpreter's own facts only (its version, ABI, platform), none of the distributions installed in it: the
    # check of a target that installs the lock's own (``TargetFacts.installs_packages``)
    interpreter_only: bool = False

    def cache_identity(self) -> str:
        """The environment's name for its capture cache files: its interpreter's path, or its conda prefix."""
        from .target import cache_identity

        return cache_identity(self.python_path, self.conda_prefix, self.python_layer)


@frozen
class ProbeResult(Generic[T]):
    """A probe's value (a part of the model, or what later probes need), the warnings worth recording (each
    starting with its area, ``"cuda: ..."``), and the seconds it took; ``parts`` times costly steps inside
    it (``{"torch": 3.1}`` for ``--deep``)."""

    value: T
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    parts: Mapping[str, float] = field(default_factory=dict)


class Probe(ABC, Generic[T]):
    """One probe, the family's base: ``name`` (its key in the capture's results and the prefix of its
    warnings), ``background`` (start it in a thread before the others: it waits on a subprocess), ``run`` and
    ``fallback``. A probe is one instance, declared in ``probes.capture.PROBES``."""

    name: str = ""
    background: bool = False

    @abstractmethod
    def run(self, ctx: ProbeContext) -> ProbeResult[T]:
        """Read the context, return the value with its warnings."""

    def fallback(self, ctx: ProbeContext) -> T:
        """The value recorded when ``run`` fails unexpectedly, the failure becoming a warning. By default there
        is none (``NotImplementedError``): the capture cannot go on without this probe, and its error stops it.
        A ``ProbeError`` (what the user asked for cannot be captured) always stops it."""
        raise NotImplementedError

    def __call__(self, ctx: ProbeContext) -> ProbeResult[T]:
        """``run``, timed, with an unexpected failure turned into a warning where there is a fallback."""
        started = time.perf_counter()
        try:
            result = self.run(ctx)
        except ProbeError:
            raise
        except Exception as exc:
            try:
                value = self.fallback(ctx)
            except NotImplementedError:
                raise exc from None
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            result = ProbeResult(value, (f"{self.name}: the probe failed ({reason}); not recorded",))
        if not result.seconds:
            result = ProbeResult(result.value, result.warnings, time.perf_counter() - started, result.parts)
        return result


class ProbeContext:
    """What every probe is given: the options, the environment variables, the target interpreter's facts,
    the redactor, the loader (ld.so's rules and an ELF cache), the host's package database, the runner, and
    the values of the probes that ran before. Facts that take time arrive in the background; reading one
    waits for it."""

    def __init__(
        self,
        options: CaptureOptions,
        environ: Mapping[str, str],
        *,
        python: Callable[[], RawPython],
        redactor: Callable[[RawPython], PathRedactor],
        system: Future[tuple[PackageDatabase, Loader]],
        project_root: str | None,
        runner: Runner,
    ):
        self.options = options
        self.environ = environ
        self.project_root = project_root
        self.runner = runner
        self._python = python
        self._redactor = redactor
        self._raw: RawPython | BaseException | None = None
        self._redact: PathRedactor | None = None
        self._system = system
        self._lock = threading.Lock()  # background probes read the facts too
        self._results: dict[str, Future[ProbeResult[Any]]] = {}

    @property
    def python(self) -> RawPython:
        """The target interpreter's facts (the first reader waits for its answer)."""
        with self._lock:
            if self._raw is None:
                try:
                    self._raw = self._python()
                except BaseException as exc:  # every reader gets the same error, the target is asked once
                    self._raw = exc
            if isinstance(self._raw, BaseException):
                raise self._raw
            return self._raw

    @property
    def redact(self) -> PathRedactor:
        """Paths inside the environment and the project, home directories, login and host names."""
        raw = self.python
        with self._lock:
            if self._redact is None:
                self._redact = self._redactor(raw)
            return self._redact

    @property
    def database(self) -> PackageDatabase:
        return self._system.result()[0]

    @property
    def loader(self) -> Loader:
        return self._system.result()[1]

    def value_of(self, probe: Probe[T]) -> T:
        """The value of a probe declared before this one (waiting for it when it runs in the background)."""
        return self.result_of(probe).value

    def result_of(self, probe: Probe[T]) -> ProbeResult[T]:
        found = self._results.get(probe.name)
        if found is None:
            raise RuntimeError(f"the {probe.name} probe is read before it was started: declare it earlier")
        result: ProbeResult[T] = found.result()
        return result

    def start(self, probe: Probe[Any], result: Future[ProbeResult[Any]]) -> None:
        self._results[probe.name] = result
