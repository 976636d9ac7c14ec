"""Defaults the command line shows in its help, kept apart so that showing them loads none of the probes."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: the command line's start-up imports this module (cli/__init__.py)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

LOCK_NAME = "envsnap.lock"
# A bundle folder's checksums, and its marker while it is being made (a re-run completes it); how git's state tells
# an untracked bundle folder apart (probes/gitstate.py).
BUNDLE_SUMS = "SHA256SUMS"
BUNDLE_INCOMPLETE = ".envsnap-incomplete"
# A bundle's files at most this many folders down: a bundle's are a few down, a source tree's some more; 1,000
# made a walk or the folders' creation recurse past Python's limit (artifacts/bundle.py refuses deeper, _prehash's
# walk stops there).
BUNDLE_MAX_DEPTH = 128
# At a bundle's top: the folder a re-bundle keeps the earlier files in while it writes, held, or one a killed
# re-bundle left (a ``_leftovers`` name of kind "bundle"). No file of the bundle (SHA256SUMS never names one): the
# bundle's check, the hashing ahead (_prehash) and the installer begun ahead (_installahead) all leave it out.
BUNDLE_KEPT_PREFIX = ".envsnap-bundle-"


def is_kept_folder(name: str) -> bool:
    """``name``, an entry at a bundle's top, is a folder of a re-bundle's kept files (``BUNDLE_KEPT_PREFIX``).
    ``_leftovers.is_leftover_name``'s rule for that kind, without its regular expression: the hashing ahead runs
    before envsnap's own start-up."""
    return name.startswith(BUNDLE_KEPT_PREFIX) and len(name) > len(BUNDLE_KEPT_PREFIX) and "\n" not in name


# The archives `envsnap bundle -o` writes (artifacts/bundle.py), and which a lock's reader names as a bundle.
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
GPU_TIMEOUT = 10.0  # nvmlInit on eight GPUs without persistence mode takes seconds
NVML_HUNG = "NVML did not answer within"  # how nvidia.error begins when NVML did not answer within the timeout
DEEP_TIMEOUT = 120.0  # importing torch with CUDA takes seconds; a hung import must not hang the capture
# How capture's warning of an editable install whose folder is gone ends (probes/python.py, editable_gone_note): the
# summary finds it by this to show the folder by its path, and loads the probe only then.
EDITABLE_GONE = " is gone: nothing of it imports"
# How the other capture warnings that name a path begin (probes/python.py, warning_shown shows each path as one shell
# word), and what an editable checkout's warning of its changes holds: the summary finds them by these.
PATH_WARNINGS = (
    "python: .pth: ",
    "python: PYTHONPATH: ",
    "python: broken-dist: ",
    "python: shadowed: ",
    "python: duplicate: ",
    "conda: --prefix ",
)
EDITABLE_DIRTY = " has uncommitted changes to tracked files: "
# How capture's warning of a shared library not found ends (probes/system.py): the summary finds them by it, to print
# a distribution's several in one line (``missing_libraries_shown``).
LIBRARY_NOT_FOUND = " was not found"
PROBE_TIMEOUT = 120.0  # the standard-library probe in the target interpreter
FLEET_TIMEOUT = 120.0  # one node's answer to fleet check or capture, through srun
FLEET_LOCK_ENV = "ENVSNAP_LOCK"  # the lock a Slurm job asks fleet prolog to check

# Our name on the public package index. The import package and the command are `envsnap`, but the
# distribution `envsnap` there is an unrelated project: every install remedy names this one (docs/design.md).
DISTRIBUTION = "envsnap-lock"


# The modules only an optional extra installs (pyproject.toml's optional-dependencies), by top-level name: a remedy
# for one names its extra, since a plain install does not bring it (tests/test_distribution.py checks the table).
EXTRA_OF_MODULE = {
    # PyYAML: a CITATION.cff (artifact) and conda-lock.yml; conda-lock, which needs it too, is named by its own module.
    "yaml": "artifact",
    "conda_lock": "conda-lock",
    "cyclonedx": "sbom",
    "swh": "artifact",
    "packageurl": "artifact",
}


def install_hint(extra: str = "") -> str:
    """The command that installs envsnap (with ``extra``) into the environment this envsnap runs in, for remedies
    printed to the user: ``'/path/venv/bin/python' -m pip install 'envsnap-lock[sbom]'``. A bare ``pip install``
    installed into whichever environment's pip came first on the PATH (envsnap run from an unactivated venv, or
    installed with pipx), where envsnap never found it. uv's when that interpreter has no pip (``uv tool install``
    and ``uv venv`` make environments without it)."""
    import importlib.util
    import shlex
    import sys

    python = shlex.quote(sys.executable or "python3")
    requirement = f"'{DISTRIBUTION}[{extra}]'" if extra else f"'{DISTRIBUTION}'"
    if importlib.util.find_spec("pip") is None:
        from . import _tools

        return f"{shlex.quote(_tools.uv_word())} pip install --python {python} {requirement}"
    return f"{python} -m pip install {requirement}"


# The download caches, one folder each under the one cache root (``cache_dir``).
ARTIFACTS_CACHE = "artifacts"  # wheels and sdists, by sha256 (pin, bundle, the venv rebuild)
CONDA_CACHE = "conda"  # conda package archives, by hash (the conda rebuild)
RUNS_CACHE = "runs"  # quick verify results of `envsnap run`
CAPTURE_CACHE = "capture"  # facts read from files at capture, by path + size + mtime_ns + inode (probes/cache.py)
LOCKS_CACHE = "locks"  # lock texts that passed every check, parsed (_lockcache.py)
TEMPLATE_CACHE = "templates"  # compiled Jinja templates (_templates.py)


LOCK_CACHE_BYPASSED = [0]  # how many ``bypassed`` blocks are open (``--no-cache``)


class bypassed:  # a context manager, named as the function it was
    """Within the block (when ``bypass``), the parsed-lock cache (``_lockcache``) is neither read nor written:
    ``--no-cache``. Here, not there: the command line enters it before a capture starts its probe, and the
    cache's module is 10 ms of imports that capture has no use for until later."""

    def __init__(self, bypass: bool = True) -> None:
        self.bypass = int(bypass)

    def __enter__(self) -> None:
        LOCK_CACHE_BYPASSED[0] += self.bypass

    def __exit__(self, *exc: object) -> None:
        LOCK_CACHE_BYPASSED[0] -= self.bypass


def cache_dir(kind: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where envsnap keeps downloads of one ``kind``: ``$XDG_CACHE_HOME/envsnap/KIND``, ``~/.cache/envsnap/KIND``
    when it is unset or not absolute (the XDG rule: a relative one is ignored, so the cache never depends on
    the working directory)."""
    return _cache_root(environ)[1] / "envsnap" / kind


def user_cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """The user's cache folder, which envsnap's and other tools' caches sit in: ``$XDG_CACHE_HOME`` when it is
    absolute, else ``~/.cache``."""
    return _cache_root(environ)[1]


def _cache_root(environ: Mapping[str, str] | None) -> tuple[Path, Path]:
    """(the folder that must already exist, the cache root in it): the home folder and ``~/.cache``, or the
    parent of ``$XDG_CACHE_HOME`` and it."""
    from pathlib import Path  # not at start-up (8 ms with urllib.parse): `envsnap --help` loads this module

    holder, root = _cache_root_text(os.environ if environ is None else environ)
    return Path(holder), Path(root)


def _cache_root_text(env: Mapping[str, str]) -> tuple[str, str]:
    """``_cache_root`` as strings, without pathlib (a capture answered from its memo does without it)."""
    base = env.get("XDG_CACHE_HOME", "")
    if os.path.isabs(base):
        return os.path.dirname(base.rstrip("/")) or "/", base
    home = env.get("HOME") or os.path.expanduser("~")
    return home, os.path.join(home, ".cache")


def no_cache_root(environ: Mapping[str, str] | None = None) -> bool:
    """No cache root: no absolute ``$XDG_CACHE_HOME`` and ``$HOME`` empty or relative. The root would then be
    ``/.cache`` (an empty HOME) or a folder of the working directory: no cache is made, used, shown or emptied
    (the templates are compiled in memory; the download cache asks for ``--cache-dir``). ``$HOME`` unset is not
    this: the home the user database gives is the user's, as pip and uv take it (cron, ``env -i``, a Slurm
    prolog)."""
    env = os.environ if environ is None else environ
    home = env.get("HOME")
    return not os.path.isabs(env.get("XDG_CACHE_HOME", "")) and home is not None and not os.path.isabs(home)


def without_a_cache_root(env: Mapping[str, str]) -> dict[str, str]:
    """What an installer or a build is also given where there is no cache root (``no_cache_root``), or one uv
    cannot make or write (``HOME=/nonexistent``, a read-only home: uv stopped with "Failed to initialize cache"),
    and the user named no uv cache of their own: no cache, uv's temporary one for the one command (as envsnap
    keeps none), rather than the one uv and pip would make under the working directory (``HOME=relative``) or in
    ``/.cache`` (an empty HOME), or fail to make."""
    if any(k in env for k in ("UV_CACHE_DIR", "UV_NO_CACHE")):
        return {}
    if not no_cache_root(env) and _writable_or_makeable(os.path.join(_cache_root_text(env)[1], "uv")):
        return {}
    return {"UV_NO_CACHE": "1", "PIP_NO_CACHE_DIR": "1"}


def _writable_or_makeable(folder: str) -> bool:
    """Whether this user may write ``folder``, or make it in the nearest folder above it that exists."""
    path = folder
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def make_cache_dir(kind: str, environ: Mapping[str, str] | None = None) -> Path:
    """``cache_dir(kind)``, made (0700) when missing, but only inside a home folder (or the folder that holds
    ``$XDG_CACHE_HOME``) that exists: a missing home (``HOME=/nonexistent``) is never created. ``OSError``
    when it cannot be made."""
    return make_folder(cache_dir(kind, environ), environ)


def make_folder(folder: Path, environ: Mapping[str, str] | None = None) -> Path:
    """``folder`` made (0700) when missing. One inside the user's cache root is made only when the folder that
    holds that root exists (a missing home is never created); any other (a ``--cache-dir`` the user named) is made
    as asked. ``OSError`` when it cannot be made."""
    anchor, root = _cache_root(environ)
    if not folder.is_dir() and folder.is_relative_to(root):
        if no_cache_root(environ):
            raise FileNotFoundError(2, "no home folder to hold the cache ($HOME empty or relative)", "")
        if not anchor.is_dir():
            raise FileNotFoundError(2, "the folder that holds the cache does not exist", str(anchor))
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def owned_privately(st: os.stat_result) -> bool:
    """A cache entry this user owns and nobody else may write. Its folder is checked too (``private_cache_dir``),
    but an entry planted while the folder was open to others outlives a later ``chmod 700``: such an entry is
    ignored, whatever it says (that a lock passed its checks, a RECORD's digest, an environment's lock)."""
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def private_cache_dir(kind: str, *, create: bool, environ: Mapping[str, str] | None = None) -> Path | None:
    """``cache_dir(kind)`` when what it holds may decide a result: a folder this user owns and nobody else may
    write (``create``: made, 0700, when missing, as ``make_cache_dir``); None otherwise (a missing home: no
    cache). A stranger who may write it could plant an entry claiming that a lock passed its checks or that a
    RECORD has a digest envsnap never computed; one who may write a folder above it (``_held_safely``) could swap
    it for one of their own. Without a home (``no_cache_root``) none is used or made."""
    if no_cache_root(environ):
        return None
    folder = cache_dir(kind, environ)
    try:
        if create:
            make_cache_dir(kind, environ)
        info = os.stat(folder)
    except OSError:
        return None
    return folder if _private_folder(info) and _held_safely(str(folder)) else None


def _held_safely(folder: str) -> bool:
    """Whether the folders that hold a cache folder, from the cache root (``$XDG_CACHE_HOME``, ``~/.cache``) to
    ``envsnap``, let no other user rename or replace what is in them: each is owned by this user or root, and
    nobody else may write it unless it is sticky (``/tmp``'s rule: only an entry's owner may move it). A folder
    another user may write lets them swap this user's private cache folder for one of their own."""
    import stat

    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    for holder in (os.path.dirname(folder), os.path.dirname(os.path.dirname(folder))):
        try:
            info = os.stat(holder)
        except OSError:
            return False
        if info.st_uid not in (getuid(), 0) or (info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX):
            return False
    return True


def _private_folder(info: os.stat_result) -> bool:
    """A folder this user owns and nobody else may write (``private_cache_dir``)."""
    import stat  # not at start-up: `envsnap --help` loads this module

    getuid = getattr(os, "getuid", None)
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & 0o022:
        return False
    return getuid is None or info.st_uid == getuid()


def pythonpath_folders(environ: Mapping[str, str]) -> list[str]:
    """The folders ``PYTHONPATH`` puts ahead of site-packages, absolute, in order."""
    out = []
    for entry in environ.get("PYTHONPATH", "").split(os.pathsep):
        try:
            folder = os.path.abspath(entry) if entry else ""
        except OSError:  # a relative entry, and the working directory is gone
            folder = ""
        if folder and folder not in out:
            out.append(folder)
    return out


def pythonpath_distributions(folder: str) -> list[str] | None:
    """The ``.dist-info`` and ``.egg-info`` entries of a ``PYTHONPATH`` folder, sorted: all that a capture of another
    environment (read with ``python -E``) reads of one (``probes.python.pythonpath_ahead``); None when it cannot be
    listed."""
    names = pythonpath_entries(folder)
    return None if names is None else [n for n in names if n.endswith((".dist-info", ".egg-info"))]


# The frameworks' build files, read in the folder of the framework's distribution (``probes.frameworks``).
FRAMEWORK_FILES = ("torch/version.py", "tensorflow/python/platform/build_info.py", "jaxlib/version.py")
# The entries of a PYTHONPATH folder a capture reads: its distributions', and, in envsnap's own interpreter (which
# has the folder on its sys.path), the ``.egg-link`` and ``.pth`` files the probe reads in every folder there, the
# start-up modules that interpreter ran (they may change its sys.path), and the frameworks' package folders.
_PYTHONPATH_SUFFIXES = (".dist-info", ".egg-info", ".egg-link", ".pth")
_PYTHONPATH_PREFIXES = ("sitecustomize", "usercustomize")
_PYTHONPATH_NAMES = frozenset(path.split("/")[0] for path in FRAMEWORK_FILES)


def pythonpath_read(name: str) -> bool:
    """Whether a capture reads the entry ``name`` of a ``PYTHONPATH`` folder (see above)."""
    return name.endswith(_PYTHONPATH_SUFFIXES) or name.startswith(_PYTHONPATH_PREFIXES) or name in _PYTHONPATH_NAMES


def pythonpath_entries(folder: str) -> list[str] | None:
    """The entries of a ``PYTHONPATH`` folder a capture reads (``pythonpath_read``), sorted: what the capture memo
    keys on rather than the folder's stamp, which moves with every file written there (``PYTHONPATH=. envsnap run``
    writes its record and capture there); None when it cannot be listed."""
    try:
        return sorted(n for n in os.listdir(folder) if pythonpath_read(n))
    except OSError:
        return None


_CODE_STAMPS: list[list[str]] = []


def code_stamps() -> list[str]:
    """Every module of envsnap's own code, stamped (path, size, mtime, inode), sorted: what an answer kept in a cache
    was decided by (the capture memo's facts, the run cache's keys). The version is not enough: an editable
    install's code changes under the same version, and a kept answer is then the old code's. Walked once a
    process (a run's capture memo and its run cache both key on it): the code that decides is what this process
    loaded."""
    if not _CODE_STAMPS:
        _CODE_STAMPS.append(_walk_code())
    return list(_CODE_STAMPS[0])


def _walk_code() -> list[str]:
    out = []
    pending = [os.path.dirname(os.path.abspath(__file__))]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                        pending.append(entry.path)
                    elif entry.name.endswith((".py", ".json", ".typed")):
                        try:
                            st = entry.stat()
                        except OSError:
                            continue
                        out.append(f"{entry.path} {st.st_size} {st.st_mtime_ns} {st.st_ino}")
        except OSError:
            continue
    return sorted(out)


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data`` in hex, without importing ``hashlib`` where CPython has its own sha256 module
    (``_sha2``, ``_sha256`` before 3.12): ``hashlib`` loads OpenSSL, a tenth of a capture answered from its memo
    (``probes/memo.py``), which digests a few kilobytes. The same digest either way."""
    if not _SHA256:
        for name in ("_sha2", "_sha256"):
            try:
                _SHA256.append(__import__(name).sha256)
                break
            except ImportError:
                continue
        else:
            import hashlib

            _SHA256.append(hashlib.sha256)
    return str(_SHA256[0](data).hexdigest())


_SHA256: list[Any] = []  # the sha256 constructor ``sha256_hex`` found


def capture_cache_name(kind: str, identity: str, suffix: str = ".json") -> str:
    """The name of the capture cache file of ``kind`` for one environment: a digest of ``identity`` (its
    interpreter's path), so that no name read from anywhere becomes part of a path (probes/cache.py)."""
    return f"{kind}-{sha256_hex(identity.encode('utf-8', 'surrogateescape'))[:32]}{suffix}"


def capture_cache_path(kind: str, identity: str, suffix: str = ".json") -> Path | None:
    """The capture cache file of ``kind`` for one environment (``capture_cache_name``), its folder made when
    missing; None when the folder is not private (``private_cache_dir``): the capture then reads and keeps
    nothing."""
    folder = private_cache_dir(CAPTURE_CACHE, create=True)
    if folder is None:
        return None
    return folder / capture_cache_name(kind, identity, suffix)


def existing_capture_cache_file(kind: str, identity: str, suffix: str) -> str | None:
    """``capture_cache_path`` for reading only, as a string, without pathlib (a capture answered from its memo
    does without it): None when the folder is missing or not private. The same folder and rule as
    ``private_cache_dir``."""
    if no_cache_root():
        return None
    folder = os.path.join(_cache_root_text(os.environ)[1], "envsnap", CAPTURE_CACHE)
    try:
        info = os.stat(folder)
    except (OSError, ValueError):
        return None
    if not (_private_folder(info) and _held_safely(folder)):
        return None
    return os.path.join(folder, capture_cache_name(kind, identity, suffix))
