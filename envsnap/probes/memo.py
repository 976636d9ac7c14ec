"""The capture memo: the lock of an unchanged environment, given again without probing it (issue 18).

A capture of an environment nothing changed in gives the same lock but for its ``created`` time. So each capture
keeps its lock's text with what it depended on, and the next capture of the same environment first checks those
inputs; when every one is as it was, the kept text is the answer (with a new ``created``), without starting the
target interpreter or loading the model. What the key holds (docs/design.md, "The capture memo"):

- ``facts``, read afresh on every run: the memo's format, envsnap's version and the stamp of every module of its
  code, the interpreter envsnap runs in, the command's options and the environment it chose, the working directory,
  the user, every environment variable, ``uname``, the CPU count, the CPU's identity lines of ``/proc/cpuinfo``,
  the memory size, the boot id, the NVIDIA driver's ``/proc`` files and ``/dev`` nodes, and the names of the
  entries a capture reads in each ``PYTHONPATH`` folder (``_defaults.pythonpath_read``: distributions, ``.egg-link``
  and ``.pth`` files, ``sitecustomize``, the frameworks' folders), not the folder's stamp: a run's record written
  there moved it;
- ``watch``, the files and folders the previous capture read, stamped (mode, size, mtime, ctime, inode, device):
  the interpreter, ``pyvenv.cfg``, every folder on the target's ``sys.path`` (with a distribution in it or not,
  existing or not) with its top-level files (``.pth``), but of a ``PYTHONPATH`` folder on it (envsnap's own
  interpreter's) only the entries whose names are among the facts and the framework files, every ``.dist-info``
  folder and each file in it, the environment's ``bin/``, the user site (or the folder it would appear in), every
  ELF file the loader read and every folder it searched, ``ld.so.cache`` and its configuration, the package
  database (dpkg, rpm, apk), os-release, the folders NVML is looked for in, the system include folders (cuDNN's
  and NCCL's headers), the CUDA toolkit's version files, the conda metadata, the framework
  version files, the module files and package folders of a folder a ``.pth`` file adds whose digest the lock
  records (``python.pth_folders``). A folder's stamp changes when an entry is added, removed or renamed in it.

Inside a git work tree the key also holds what the capture reads of git (``project_facts``): the work tree's
root and the state the project probe records, by the probe's own calls (``gitstate``); a capture that recorded
another state than the key's (an edit while it ran) is not kept (``recorded_as_keyed``). A capture with
``--project``, ``--deep``, ``--pin`` or ``--json``, or with ``GIT_DIR``/``GIT_WORK_TREE`` set, or one whose NVIDIA
probe failed or timed out, is neither answered from nor kept in the memo; nor is one that read an editable git
checkout's ``HEAD`` kept (``probes.python.reads_checkouts``). A file changed less than two seconds
before the capture started is not trusted (its stamp may not move on its next change), nor one changed while it
ran: then nothing is kept. ``--no-cache`` reads and writes no memo.

The memo is written with ``marshal`` (``SUFFIX``), which loads it several times faster than JSON and is built
in, and the facts are digested without ``hashlib`` (``sha256_hex``): an answer imports nothing but this module,
``probes/target.py`` and a few small ones of envsnap's (tests/probes/test_capture_memo.py lists them).
"""

from __future__ import annotations

import os
import sys
import time

from .._defaults import FRAMEWORK_FILES as _FRAMEWORK_FILES
from .._defaults import code_stamps as _code_stamps
from .._defaults import pythonpath_entries, pythonpath_folders, pythonpath_read, sha256_hex
from .._sealed import read_private, seal
from .gitstate import LOCATION_VARIABLES as _GIT_LOCATION_VARIABLES
from .gitstate import find_root
from .gitstate import state as git_state

TYPE_CHECKING = False  # not typing's: a capture answered from the memo loads little more than this module
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path
    from typing import Any

FORMAT = 2
SUFFIX = ".marshal"  # the memo files' (``memo-DIGEST.marshal``, ``verify-DIGEST.marshal``)
MAX_BYTES = 64 << 20  # a memo larger than this is not kept (or read)
RACY_NS = 2_000_000_000  # a stamp this close to the capture's start is not trusted (see the module's docstring)
_CPU_KEYS = ("vendor_id", "model name", "Model name", "cpu model", "flags", "Features", "CPU implementer")
_SYSTEM_FILES = (
    "/etc/os-release",
    "/usr/lib/os-release",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/var/lib/dpkg/status",
    "/var/lib/dpkg/info",
    "/var/lib/rpm",
    "/usr/lib/sysimage/rpm",
    "/lib/apk/db/installed",
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local",
    "/usr/local/cuda",
    "/usr/local/nvidia/lib64",  # where NVML is looked for after ld.so.cache (nvidia.find_library)
    "/usr/local/nvidia/lib",
    "/usr/lib/wsl/lib",
    "/usr/include",  # cuDNN's and NCCL's headers beside a system library (cuda.header_version)
)
_TOOLKIT_FILES = ("version.json", "include/cuda.h", "lib64", "lib", "dist-info", "targets")


def utc_now() -> str:
    """A lock's ``created``: UTC to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def eligible(*, project: str | None, deep: bool, pin: bool, json_too: bool, environ: Mapping[str, str]) -> bool:
    """Whether this capture may be answered from (and kept in) the memo: not with an option that reads more than
    the files the memo stamps and the git state it keys on (``project_facts``), nor with git told where the
    repository is by a variable."""
    if project is not None or deep or pin or json_too or any(v in environ for v in _GIT_LOCATION_VARIABLES):
        return False
    try:
        os.getcwd()
    except OSError:
        return False
    return True


def project_facts(*, state: bool, exclude: Sequence[str]) -> list[Any]:
    """What a capture in the working directory reads of its git work tree, by the calls the capture makes: the
    root it writes paths against (``gitstate.find_root``) and, with ``state``, the state the project probe
    records (``gitstate.state``, ``exclude`` as the probe is given it). ``[None, None]`` outside any work tree,
    found without running git (no ``.git`` here or above). A memo keyed on these answers only while git gives
    the lock's project what it recorded: a commit, a checkout, an edit of a tracked file, ``git add``."""
    try:
        root = find_root(os.getcwd())  # None without running git where no .git is here or above
    except OSError:
        return [None, None]
    if root is None:
        return [None, None]
    return [root, git_state(root, exclude) if state else None]


def _read(path: str, limit: int = 1 << 20) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


def _cpu_identity() -> str:
    """The first processor's identity lines (``cpu MHz`` moves all the time and is not recorded)."""
    lines: list[str] = []
    for line in _read("/proc/cpuinfo").splitlines():
        if not line.strip() and lines:
            break
        if line.split(":", 1)[0].strip() in _CPU_KEYS:
            lines.append(line)
    return "\n".join(lines)


def _nvidia_facts() -> list[str]:
    out = [_read("/proc/driver/nvidia/version"), _read("/proc/sys/kernel/random/boot_id")]
    try:
        for gpu in sorted(os.listdir("/proc/driver/nvidia/gpus")):
            out.append(gpu + "\n" + _read(f"/proc/driver/nvidia/gpus/{gpu}/information"))
    except OSError:
        pass
    try:  # noqa: SIM105 (contextlib is not imported on a memo's answer)
        out.append(" ".join(sorted(n for n in os.listdir("/dev") if n.startswith(("nvidia", "dri")))))
    except OSError:
        pass
    return out


def facts(command: Sequence[object], environ: Mapping[str, str]) -> str:
    """The digest of what is read afresh on every run (the module's docstring); ``command``: the options and
    the chosen environment."""
    from .._version import __version__

    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    meminfo = next((line for line in _read("/proc/meminfo").splitlines() if line.startswith("MemTotal:")), "")
    parts: list[object] = [
        FORMAT,
        __version__,
        sys.executable,
        sys.version,
        [repr(c) for c in command],
        cwd,
        [os.getuid(), os.geteuid(), os.getgid()],
        sorted(environ.items()),
        list(os.uname()),
        os.cpu_count(),
        _cpu_identity(),
        meminfo,
        _nvidia_facts(),
        _code_stamps(),
        [[folder, pythonpath_entries(folder)] for folder in pythonpath_folders(environ)],
    ]
    # repr: each part is a string, a number or a list of them, whose repr is unambiguous.
    return sha256_hex(repr(parts).encode("utf-8", "surrogateescape"))


def memo_identity(identity: str, project: Sequence[Any]) -> str:
    """The name a memo file is kept under (``_defaults.capture_cache_name``): the environment's ``identity``, and
    the work tree's root ``project`` names (``project_facts``), so that verifying or capturing one environment from
    two folders keeps a memo for each instead of each run replacing the other's."""
    root = project[0]
    return identity if root is None else f"{identity}\0{root}"


def recorded_as_keyed(captured: Any, project: Sequence[Any]) -> bool:
    """Whether ``captured`` (a ``probes.capture.Captured``) wrote its paths against the root that ``project``
    (``project_facts``, read before it ran) names and recorded the git state it holds: one that saw another (a
    commit or an edit while it ran) is not kept under that key."""
    root, found = project
    if captured.project_root != root:
        return False
    if found is None:
        return True
    from .project import project_of, recorded

    redact = captured.redact
    return redact is not None and captured.snapshot.project == recorded(project_of(found), redact)


def stamps(watch: Iterable[str]) -> list[list[int] | None]:
    """Each path's (mode, size, mtime_ns, ctime_ns, inode, device), or None when it cannot be stat-ed."""
    out: list[list[int] | None] = []
    stat = os.stat
    for path in watch:
        try:
            st = stat(path)
        except (OSError, ValueError):
            out.append(None)
            continue
        out.append([st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev])
    return out


def _files_in(folder: str, *, dirs: bool = False) -> list[str]:
    """The entries of ``folder`` (files only unless ``dirs``), without following links out of it."""
    out = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if dirs or not entry.is_dir():
                        out.append(entry.path)
                except OSError:
                    continue
    except OSError:
        pass
    return out


def _with_parents(paths: Iterable[str]) -> list[str]:
    """``paths``, each that does not exist with the folders above it up to the nearest one that does, whose
    stamp changes when it appears. (Not the folder of every path: a lock written beside the environment would
    change it.)"""
    out: dict[str, None] = {}
    for path in paths:
        if not path or not os.path.isabs(path):
            continue
        out[path] = None
        folder = path
        while not os.path.lexists(folder) and folder != os.path.dirname(folder):
            folder = os.path.dirname(folder)
            out[folder] = None
    return list(out)


def _standing_for(folder: str) -> str:
    """The path whose stamp says whether ``folder`` is still there: its project file where it has one (the folder's
    own stamp moves with every file written into it, as a lock written in the project's folder is), else itself."""
    if not folder:
        return ""
    for name in ("pyproject.toml", "setup.py", "setup.cfg"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return folder


def watch_list(
    *,
    python_path: str | None,
    prefix: str,
    base_prefix: str,
    version: str,
    site_dirs: Iterable[str],
    dist_dirs: Iterable[str],
    loader_files: Iterable[str],
    loader_folders: Iterable[str],
    conda_prefix: str | None,
    environ: Mapping[str, str],
    folders: Iterable[str] = (),
) -> list[str]:
    """Every file and folder a capture of this environment read, for ``stamps`` (the module's docstring);
    ``folders``: others whose stamp is part of the answer (an editable install's, a ``.pth`` folder's files).
    A folder of ``site_dirs`` that ``PYTHONPATH`` names (in ``environ``) and that is no site folder of the
    environment is not stamped, nor are its other files: the names the capture reads of it are among the facts
    (``facts``), and ``PYTHONPATH=. envsnap run`` writes its record and capture there."""
    paths: list[str] = list(_SYSTEM_FILES)
    paths += [folder for folder in folders if folder]
    multiarch = f"{os.uname().machine}-linux-gnu"
    paths += [f"/lib/{multiarch}", f"/usr/lib/{multiarch}", f"/usr/include/{multiarch}"]
    if python_path:
        paths += [os.path.abspath(python_path), os.path.realpath(python_path)]
    from ..platforms import major_minor as release_of

    major_minor = release_of(version) if version else ""
    sites: list[str] = []  # the environment's site folders, stamped with their files whatever else names them
    for root in {prefix, base_prefix} - {""}:
        paths += [root, os.path.join(root, "pyvenv.cfg"), os.path.join(root, "bin"), os.path.join(root, "lib")]
        if major_minor:
            lib = os.path.join(root, "lib", f"python{major_minor}")
            # The site folders, with their top-level files, even when no distribution is in one yet (a venv
            # with the system's site-packages, where one may be installed next).
            for site in (os.path.join(lib, "site-packages"), os.path.join(lib, "dist-packages")):
                paths += [lib, site, *_files_in(site)]
                sites.append(site)
    if major_minor:  # Debian's system interpreter
        debian = ["/usr/lib/python3/dist-packages", f"/usr/local/lib/python{major_minor}/dist-packages"]
        paths += debian
        sites += debian
    paths += _files_in(os.path.join(prefix, "bin"))  # the scripts whose first line the probe reads
    home = environ.get("HOME", "")
    # Both: a target probed with -E ignores PYTHONUSERBASE, envsnap's own interpreter does not.
    for user_base in (environ.get("PYTHONUSERBASE", ""), os.path.join(home, ".local") if home else ""):
        if user_base and major_minor:
            paths.append(os.path.join(user_base, "lib", f"python{major_minor}", "site-packages"))
            sites.append(paths[-1])
    # PYTHONPATH's folders that are only that (not a zipped egg, whose file is its content).
    named = {os.path.realpath(f) for f in pythonpath_folders(environ) if not f.endswith(".egg")}
    named -= {os.path.realpath(site) for site in sites}
    for site in sorted(set(site_dirs)):
        if named and os.path.realpath(site) in named:
            paths += [path for path in _files_in(site, dirs=True) if pythonpath_read(os.path.basename(path))]
            # Where the framework's folder is: one that appears is among the facts, the folder is not stamped.
            paths += [
                os.path.join(site, rel)
                for rel in _FRAMEWORK_FILES
                if os.path.isdir(os.path.join(site, rel.split("/")[0]))
            ]
            continue
        paths.append(site)
        paths += _files_in(site)
        paths += [os.path.join(site, rel) for rel in _FRAMEWORK_FILES]
    for info in sorted(set(dist_dirs)):
        paths.append(info)
        paths += _files_in(info)
    for conda in {conda_prefix, prefix} - {None, ""}:
        assert conda is not None
        meta = os.path.join(conda, "conda-meta")
        paths.append(meta)
        paths += _files_in(meta)
    for var in ("CUDA_HOME", "CUDA_PATH"):
        root = environ.get(var, "")
        if root:
            paths += [root, *(os.path.join(root, rel) for rel in _TOOLKIT_FILES)]
    paths += [os.path.join("/usr/local/cuda", rel) for rel in _TOOLKIT_FILES]
    paths += _files_in("/usr/local/cuda/targets", dirs=True)
    paths += [os.path.join(t, "lib") for t in _files_in("/usr/local/cuda/targets", dirs=True)]
    paths += loader_folders
    paths += loader_files
    return _with_parents(paths)


def _racy(stamped: Sequence[list[int] | None], started_ns: int) -> bool:
    """Whether a watched path changed less than ``RACY_NS`` before the capture started, or since."""
    return any(s is not None and max(s[2], s[3]) >= started_ns - RACY_NS for s in stamped)


def _kept(path: str | os.PathLike[str] | None, fact: str) -> dict[str, Any] | None:
    """The memo at ``path`` when its facts are ``fact`` and every path it watched is as it was."""
    if path is None:
        return None
    memo = read_private(path, MAX_BYTES)
    if not (
        type(memo) is dict
        and memo.get("format") == FORMAT
        and memo.get("facts") == fact
        and type(memo.get("watch")) is list
        and all(type(p) is str for p in memo["watch"])
        and type(memo.get("stamps")) is list
    ):
        return None
    # Compared as they are (no digest to compute): a stamp is a list of ints or None.
    return memo if stamps(memo["watch"]) == memo["stamps"] else None


def lookup(path: str | os.PathLike[str] | None, fact: str) -> dict[str, Any] | None:
    """The kept capture at ``path`` when every input it depended on is unchanged: its lock text and summary."""
    memo = _kept(path, fact)
    if not (
        memo is not None
        and type(memo.get("lock")) is str
        and _is_span(memo.get("created"), len(memo["lock"]))
        and type(memo.get("summary")) is str
        and type(memo.get("digest")) is str
        and type(memo.get("warnings")) is list
        and all(type(w) is str for w in memo["warnings"])
    ):
        return None
    return memo


def _is_span(span: object, size: int) -> bool:
    """``None``, or ``(start, end)`` within a text of ``size`` characters (``_locktext.created_span``)."""
    return span is None or (
        type(span) is tuple
        and len(span) == 2
        and type(span[0]) is int
        and type(span[1]) is int
        and 0 <= span[0] <= span[1] <= size
    )


def answer_text(kept: Mapping[str, Any], created: str) -> str:
    """The kept lock's text (``lookup``) with ``created`` as its time."""
    from .._locktext import with_created_at

    return with_created_at(kept["lock"], kept["created"], created)


def lookup_answer(path: str | os.PathLike[str] | None, fact: str) -> Any:
    """The answer kept by ``save_answer`` at ``path`` when every input it depended on is unchanged, else None."""
    memo = _kept(path, fact)
    return None if memo is None else memo.get("answer")


def save(
    path: Path | None,
    fact: str,
    watch: Sequence[str],
    started_ns: int,
    *,
    lock: str,
    digest: str,
    summary: str,
    warnings: Sequence[str],
) -> bool:
    """Keep this capture's lock for the next one; not when a watched path changed too recently to trust."""
    from .._locktext import created_span

    kept = {
        "lock": lock,
        "created": created_span(lock),
        "digest": digest,
        "summary": summary,
        "warnings": list(warnings),
    }
    return _save(path, fact, watch, started_ns, kept)


def save_answer(path: Path | None, fact: str, watch: Sequence[str], started_ns: int, answer: Any) -> bool:
    """Keep a command's ``answer`` (plain data: dicts, lists, strings, numbers, booleans and None, given back as
    it was given) under the same key as a capture's lock (``verify``'s report of an environment against a lock,
    whose text is among ``fact``)."""
    return _save(path, fact, watch, started_ns, {"answer": answer})


def _save(path: Path | None, fact: str, watch: Sequence[str], started_ns: int, kept: dict[str, Any]) -> bool:
    stamped = stamps(watch)
    if path is None or _racy(stamped, started_ns):
        return False
    from . import cache

    document = {"format": FORMAT, "facts": fact, "watch": list(watch), "stamps": stamped, **kept}
    try:
        blob = seal(document)
    except ValueError:  # not plain data (never, for what the callers keep)
        return False
    if len(blob) > MAX_BYTES:
        return False
    import contextlib

    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    from .._cachedir import store

    store(path, blob, keep=cache.KEEP_FILES, suffix=SUFFIX)
    return True


def watch_of(captured: Any, chosen: Any, environ: Mapping[str, str]) -> list[str]:
    """``watch_list`` of what ``captured`` (a ``probes.capture.Captured`` of the environment ``chosen``) read."""
    from .python import editable_folder, pth_folder_files, pth_folders

    raw = captured.python
    system = captured.system
    files: set[str] = set()
    folders: set[str] = set()
    if system is not None and system.done() and system.exception() is None:
        files, folders = system.result()[1].consulted()
    # A .pth folder's module files and package folders, whose digest the lock records (``pth_folders``): the site
    # folders' stamps below see only its top-level files.
    pth_read: list[str] = []
    for _, folder in pth_folders(raw):
        listed = pth_folder_files(folder)
        pth_read += [*listed[1], *(path for _, path in listed[0])] if listed is not None else []
    return watch_list(
        python_path=chosen.python,
        prefix=raw.prefix,
        base_prefix=raw.base_prefix,
        version=raw.version,
        # Every folder the probe looked in, not only those it found a distribution in: one gets its first later.
        site_dirs=[*raw.path_entries, *(p.site_dir for p in raw.packages if p.site_dir)],
        # An editable install's folder, outside the environment: whether it is there is part of the answer.
        # Not PYTHONPATH's: the names read in them are among the facts (``facts``).
        folders=[*(_standing_for(editable_folder(p)) for p in raw.packages), *pth_read],
        dist_dirs=[p.dist_dir for p in raw.packages if p.dist_dir],
        loader_files=sorted(files),
        loader_folders=sorted(folders),
        conda_prefix=chosen.conda_prefix,
        environ=environ,
    )
