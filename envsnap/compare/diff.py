"""``envsnap diff A B``: two lockfiles side by side, most consequential change first.

Python (and conda) packages are added, removed or changed; a change has a kind:

- ``major`` / ``minor`` / ``patch``: the first differing component of the release (pre-, post- and dev-
  releases of the same release count as ``patch``);
- ``local``: only the local label differs (``2.1.0+cu121`` -> ``2.1.0+cu124``: another build variant, often
  another CUDA);
- ``build``: the same version with other files (wheel tag or RECORD digest; conda: build string); an editable
  install's other RECORD digest (its hook names another folder, not other modules) is ``provenance``, no drift;
- ``source``: the same version from elsewhere (index -> VCS commit, another commit, a local directory); the
  same files from an index and by path (one RECORD digest) say so, ranked with ``artifact``; a folder or checkout
  with no file pinned against a wheel by its file says what the RECORD digests say of the files, never more;
- ``artifact``: the same version pinned to another file (sha256), or pinned in one lock only where the installed
  files are not known to be the same (no RECORD digest, or another); with the same RECORD digest a file pinned in
  one lock only is ``unknown``: the other (a capture) does not record it.

A table one lock cannot know (``envsnap import`` lists them in ``envsnap.unknown``: a requirements file
records no GPU, no system packages) is ``unknown`` there, never ``removed`` or ``added``. Two locks whose
content differs never read as identical: what no comparison above covers is named by its field.

Around them: the NVIDIA driver, CUDA runtime / cuDNN / NCCL, GPUs, framework builds, Python, OS, libc and the
system libraries and packages. Each change has a weight; the report is sorted by it, heaviest first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn, cast

from .. import interchange
from .._frozen import frozen
from .._lazyre import LazyPattern
from ..errors import EnvsnapError
from ..report import Entry, Report, Severity, first_few, gpu_name
from .verdict import not_recorded, source_shown, source_text

if TYPE_CHECKING:  # a diff answered from the parsed-lock cache builds no model record and loads no model
    from mmap import mmap

    from ..model import Candidate, CondaPackage, Project, PythonPackage, Snapshot

# How much a kind of change is likely to alter behaviour; higher comes first.
_PACKAGE_WEIGHT = {
    "major": 60,
    "local": 58,
    "removed": 55,
    "added": 54,
    "minor": 50,
    "source": 45,
    "patch": 30,
    "version": 40,
    "build": 20,
    "artifact": 12,
}


# The entries that are no drift of the environment: a fact one lock does not record, the tool that installed a
# package (pip where the author installed, uv where ``rebuild`` did: the same files, as ``verify`` says), and the
# environment kind (a system interpreter's lock rebuilt as a venv: verify calls it info).
_NO_DRIFT = ("unknown", "provenance")
# The fields of a ``[[python.packages]]`` entry diff does not compare (see ``diff``: blank in older locks).
_NOT_COMPARED = ("system_package", "identity", "cuda_kernels", "cuda_kernels_partial", "cuda_ptx_isa")


@frozen
class Change(Entry):
    area: str  # gpu | cuda | framework | python | interpreter | platform | libc | conda | system | hardware
    subject: str
    # added | removed | changed | unknown (one lock cannot know it: an import) | provenance (how a package was
    # installed, not what: the tool named in its INSTALLER, which verify does not compare either; the environment
    # kind, system or venv, which verify calls info; an editable install's RECORD digest, which verify calls info)
    change: str
    # major | minor | patch | local | build | source | artifact | version | value | unknown | installer | library |
    # unanswered (the NVIDIA driver of one lock did not answer at capture: its values are empty, not removed)
    kind: str
    old: str = ""
    new: str = ""
    weight: int = 0
    note: str = ""  # e.g. "downgrade"

    def describe(self) -> str:
        if self.kind == "library" and self.change in ("added", "removed"):  # named once, with its owning package
            return f"{self.subject}{f' ({self.note})' if self.note else ''} {self.change}"
        if self.change == "added":
            return f"{self.subject} {self.new} added"
        if self.change == "removed":
            return f"{self.subject} {self.old} removed"
        if self.change == "unknown" and self.kind == "fields":  # what one lock does not record, by path
            return f"{self.subject} unknown: {self.new} ({self.note})"
        if self.change == "unknown":
            return f"{self.subject}: {self.old or '(unknown)'} -> {self.new or '(unknown)'} ({self.note})"
        if self.change == "provenance" or self.kind == "unanswered":
            return f"{self.subject}: {self.old or '(none)'} -> {self.new or '(none)'} ({self.note})"
        if self.kind == "fields":  # the fields that differ, by path: no value of either lock
            return f"{self.subject} differ: {self.new} ({self.note})"
        note = f", {self.note}" if self.note else ""
        return f"{self.subject}: {self.old or '(none)'} -> {self.new or '(none)'} ({self.kind}{note})"

    def shown(self) -> str:
        """``describe`` as diff prints it: a source by its decoded path (``verdict.source_shown``); the JSON keeps the
        lock's URL."""
        if self.kind != "source":
            return self.describe()
        return dataclasses.replace(self, old=source_shown(self.old), new=source_shown(self.new)).describe()

    @property
    def level(self) -> Severity:
        """On the shared scale a change is a drift, a WARNING (its weight orders it among the others); what one
        lock does not record, and how a package was installed (the installer tool), is INFO."""
        return Severity.INFO if self.change in _NO_DRIFT else Severity.WARNING


@frozen
class DiffReport(Report):
    a: str  # content digests of the two locks
    b: str
    changes: tuple[Change, ...]

    @property
    def identical(self) -> bool:
        return not self.changes

    @property
    def differs(self) -> bool:
        """Something both locks record differs: a change that is not only unknown to one of them (an import's
        host facts, which ``verify`` calls info too) nor only the tool that installed a package (``provenance``:
        ``verify`` does not compare it)."""
        return any(c.change not in _NO_DRIFT for c in self.changes)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.changes:
            out[c.kind if c.change == "changed" else c.change] = (
                out.get(c.kind if c.change == "changed" else c.change, 0) + 1
            )
        return dict(sorted(out.items()))

    def entries(self) -> Sequence[Change]:
        return self.changes

    def json_extra(self) -> dict[str, Any]:
        return {"identical": self.identical, "differs": self.differs, "counts": self.counts()}


_NEW = object.__new__


def _change(
    area: str, subject: str, change: str, kind: str, old: str = "", new: str = "", weight: int = 0, note: str = ""
) -> Change:
    """``Change(...)`` without the frozen dataclass's ``__init__`` (a call of ``object.__setattr__`` for each field):
    the same record at half the cost, for the 5,000 changes of a large diff (tests/compare/test_diff.py)."""
    record = _NEW(Change)
    record.__dict__.update(
        area=area, subject=subject, change=change, kind=kind, old=old, new=new, weight=weight, note=note
    )
    return record


# A plain release (``1.26.4``): the form of most versions in a lock, compared without building ``Version``s.
_PLAIN_RELEASE = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18})*")


def version_change(old: str, new: str) -> tuple[str, str]:
    """(kind, direction): kind is major/minor/patch/local/version, direction upgrade/downgrade/""."""
    return version_moved(old, new, same=("version", "")) or ("version", "")  # never None: ``same`` is given


def same_version(old: str, new: str) -> bool:
    """Whether two versions are one under PEP 440, however written (``1.0`` and ``1.0.0``, ``2024.01`` and
    ``2024.1``, ``2.1+CU121`` and ``2.1.0+cu121``): installers take them for one release, and a file that normalises
    versions (an import) writes it otherwise than the installed metadata. An invalid (legacy) version is compared
    as written."""
    return old == new or version_moved(old, new) is None


_SAME = None


def version_moved(old: str, new: str, same: tuple[str, str] | None = _SAME) -> tuple[str, str] | None:
    """``same`` where the two versions are one (``same_version``), else ``version_change``'s (kind, direction),
    each version read once: a diff of 5,000 packages asked both, and read every changed version twice."""
    if old == new:
        return same if same is not None else None
    if _PLAIN_RELEASE.fullmatch(old) and _PLAIN_RELEASE.fullmatch(new):
        a, b = tuple(map(int, old.split("."))), tuple(map(int, new.split(".")))
        sa, sb = _without_trailing_zeros(a), _without_trailing_zeros(b)
        if sa == sb and same is None:
            return None
        return _release_change(a, b, sa, sb)
    from packaging.version import InvalidVersion, Version

    try:
        va, vb = Version(old), Version(new)
    except InvalidVersion:
        return ("version", "")  # not one version (they are written differently), and no kind of change
    if va == vb and same is None:
        return None
    direction = "upgrade" if vb > va else ("downgrade" if vb < va else "")
    ra, rb = va.release + (0,) * 3, vb.release + (0,) * 3
    if va.epoch != vb.epoch or ra[0] != rb[0]:
        return "major", direction
    if ra[1] != rb[1]:
        return "minor", direction
    if va.public != vb.public:
        return "patch", direction
    if va.local != vb.local:
        return "local", ""
    return "version", direction


def _release_change(
    a: tuple[int, ...], b: tuple[int, ...], sa: tuple[int, ...], sb: tuple[int, ...]
) -> tuple[str, str]:
    """``version_change`` of two plain releases (``sa`` and ``sb`` without their trailing zeros), as ``Version``
    orders them (trailing zeros do not count)."""
    direction = "upgrade" if sb > sa else ("downgrade" if sb < sa else "")
    ra, rb = a + (0,) * 3, b + (0,) * 3
    if ra[0] != rb[0]:
        return "major", direction
    if ra[1] != rb[1]:
        return "minor", direction
    return ("patch" if a != b else "version"), direction


def _without_trailing_zeros(release: tuple[int, ...]) -> tuple[int, ...]:
    end = len(release)
    while end > 1 and release[end - 1] == 0:
        end -= 1
    return release[:end]


# Whether two local sources (``source_text``), each read where its lock is, name one place (``_SamePlace``).
SamePlace = Callable[[str, str], bool]


def diff(a: Snapshot, b: Snapshot, same_place: SamePlace | None = None) -> DiffReport:
    rows_a, rows_b = [package_row(p) for p in a.python.packages], [package_row(p) for p in b.python.packages]
    changes = _changes(a, b, rows_a, rows_b, same_place)
    if not changes:
        return _report(a, b, _uncompared(a, b, same_place=same_place))
    if _only_no_drift(changes, a, b):
        return _report(a, b, [*changes, *_uncompared(a, b, _explained(changes), same_place)])
    return _report(a, b, changes)


def _only_no_drift(changes: Sequence[Change], a: Snapshot, b: Snapshot) -> bool:
    """Every entry is no drift (``_NO_DRIFT``: the environment kind, a file pinned in one lock only) between two
    captured locks: then the fields no comparison looks at are compared too, as they are when there is no entry at
    all, or a difference there (a package's ``requested``) was hidden behind them and the diff said the same
    environment. Not for an imported lock, whose unknown entries are what its format leaves out."""
    return not (a.envsnap.origin or b.envsnap.origin) and all(c.change in _NO_DRIFT for c in changes)


def _explained(changes: Sequence[Change]) -> frozenset[str]:
    """The fields the entries that are no drift name already: the environment kind, each package's pinned file."""
    fields = {"python.kind" for c in changes if c.area == "interpreter" and c.subject == "environment kind"}
    fields |= {f"python.packages[{c.subject}].artifact" for c in changes if c.area == "python" and c.kind == "artifact"}
    fields |= {
        f"python.packages[{c.subject}].record_digest"
        for c in changes
        if c.area == "python" and c.change == "provenance" and c.kind == "build"
    }
    fields |= {
        {"remote": "project.remote_url", "branch": "project.branch"}[c.kind]
        for c in changes
        if c.area == "project" and c.change == "provenance"
    }
    # One editable checkout named by its folder and by its commit: its source, and its hook's RECORD (the note).
    checkouts = [c.subject for c in changes if c.area == "python" and c.change == "provenance" and c.kind == "source"]
    fields |= {f"python.packages[{name}].{field}" for name in checkouts for field in ("source", "record_digest")}
    # The bundle's wheel installed by path: the file one lock pins is the one the other's direct_url.json names
    # (or its envsnap_bundle.json: the same file name and sha256, with no URL).
    fields |= {
        f"python.packages[{c.subject}].artifact"
        for c in changes
        if c.area == "python"
        and c.change == "provenance"
        and c.note.startswith((BUNDLE_WHEEL_INSTALLED, BUNDLE_WHEEL_NAMED))
    }
    # A wheel one lock pins and the other installed with nothing that says whether it is that file: the entry says so.
    fields |= {
        f"python.packages[{c.subject}].{field}"
        for c in changes
        if c.area == "python" and c.change == "unknown" and c.note in (BUNDLE_WHEEL_UNHASHED, BUNDLE_WHEEL_UNRECORDED)
        for field in ("artifact", "source")
    }
    return frozenset(fields)


def diff_files(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> DiffReport:
    """What ``envsnap diff A B`` reports: ``diff`` of the two lockfiles, both without secrets (as in an export: a
    change of a signature alone is no change of environment), each loaded and checked as ``lockfile.load`` does.

    A lock compared before is not loaded again: its package rows and the rest of it (without packages) are kept
    in the parsed-lock cache as a view of its exact text, written when the text first loaded and was checked, so
    two 5,000-distribution locks build no model of their 10,000 packages and scrub none of their URLs again. The
    report is the same either way (tests/security/test_lockcache.py); only two locks that differ in no package and
    in nothing else compared are loaded in full, to name the fields that differ."""
    from .. import _gcpause

    same_place = _SamePlace(a, b)
    with _gcpause.paused():  # two locks' rows and thousands of changes, none in a cycle (_gcpause)
        beside = _Beside.start(b)  # B loaded by a child process while this one loads A (None: not worth one)
        try:
            rest_a, rows_a, full_a = _side(a)
            side_b = beside.result() if beside is not None else None
            rest_b, rows_b, full_b = side_b or _side(b)
            try:
                changes = _changes(rest_a, rest_b, rows_a, rows_b, same_place)
            except AttributeError:  # a view's record without a field diff reads (a damaged entry): the locks in full
                changes = []
        finally:
            # Reaped here, after the comparison: the child closed its pipe once the view was written, and its exit
            # (the kernel freeing the memory the load took) ran beside the comparison instead of before it.
            if beside is not None:
                beside.close()
        if changes and not _only_no_drift(changes, rest_a, rest_b):
            return _report(rest_a, rest_b, changes)
        return diff(full_a(), full_b(), same_place)  # to name the fields that differ where no comparison looks


def diff_loaded(
    a: Snapshot, b: Snapshot, where_a: str | os.PathLike[str], where_b: str | os.PathLike[str]
) -> DiffReport:
    """What ``envsnap diff A B`` reports of two locks already loaded and checked (the lock a bundle holds, read once
    the bundle passed its checks): ``diff`` of the two without secrets, as ``diff_files`` compares them. ``where_a``
    and ``where_b``: each lock's path, where its ``{project}`` label is read (``_SamePlace``)."""
    from .._privacy import scrub_snapshot

    return diff(scrub_snapshot(a), scrub_snapshot(b), _SamePlace(where_a, where_b))


class _SamePlace:
    """Whether a local source of lock A and one of lock B, written otherwise, name one place: each ``{project}`` label
    read as every other command reads it where that lock is (``probes.project.project_root``: the git work tree
    around the working directory, else the lock's folder), and ``~`` as the home. Outside any work tree ``pin -o
    out/x.lock`` names the project for the folder it writes into (``file:///lab/libs/x`` for ``file://{project}/
    libs/x``), and a capture records the absolute path an import labels: diff said "(source)" of one folder.
    Asked only of two sources that differ, one of them labelled; each lock's project is found once. The paths are
    compared as text: no file a lock names is touched."""

    def __init__(self, a: str | os.PathLike[str], b: str | os.PathLike[str]) -> None:
        self.locks = (a, b)
        self.roots: list[str | None] = [None, None]

    def _root(self, side: int) -> str:
        if self.roots[side] is None:
            from ..probes.project import project_root

            root = project_root(None, self.locks[side])
            self.roots[side] = "" if root is None else str(root)
        return self.roots[side] or ""

    def _path(self, url: str, side: int) -> str:
        from ..fileurls import HOME, PROJECT, decoded_path

        path = decoded_path(url)
        for label in (PROJECT, HOME):
            if path == label or path.startswith(label + "/"):
                where = self._root(side) if label == PROJECT else os.path.expanduser("~")
                if not where or where == label:
                    return ""  # no place to read the label from: not the same
                path = where + path[len(label) :]
        return os.path.normpath(path)

    def __call__(self, x: str, y: str) -> bool:
        editable = "editable "
        if x.startswith(editable) != y.startswith(editable):
            return False
        x, y = x.removeprefix(editable), y.removeprefix(editable)
        if not _labelled_pair(x, y):
            return False
        a, b = self._path(x, 0), self._path(y, 1)
        return bool(a) and a == b


# The modules whose code decides a lock's view for diff (the scrubbing and the rows), besides the loader's.
_VIEW_DECIDED_BY = ("compare/diff.py", "compare/verdict.py", "_privacy.py", "fileurls.py")


def _side(path: str | os.PathLike[str]) -> tuple[Snapshot, Sequence[PackageRow], Callable[[], Snapshot]]:
    """A lock without secrets as diff compares it: its snapshot without packages, its package rows, and how to
    get the whole snapshot."""
    from .. import _lockcache, _locktext

    text = _locktext.read_text(path)
    origin = str(Path(path))
    full = _full_of(text, origin)
    name = _view_name(text)
    kept = _lockcache.get_view(name) if name else None
    if kept is not None:
        try:
            kept_rest, rows = kept
            if type(rows) is tuple and all(type(row) is tuple and len(row) == ROW_FIELDS for row in rows):
                rest = _restored(kept_rest)
                if isinstance(rest, _Record):
                    return cast("Snapshot", rest), rows, full  # duck-typed: the comparisons read only fields
        except (TypeError, ValueError, AttributeError, KeyError):
            pass  # an entry that is not a view (garbage written over it) is a miss
    rest, rows = _loaded_side(text, origin, name)
    return rest, rows, full


def _view_name(text: str) -> str:
    """The parsed-lock cache's name for the diff view of ``text``; "" when the cache is off."""
    from .. import _lockcache

    if not _lockcache.enabled():
        return ""
    return _lockcache.key(text, check_digest=True, view="diff", deciding=_VIEW_DECIDED_BY)


def _full_of(text: str, origin: str) -> Callable[[], Snapshot]:
    def full() -> Snapshot:
        from .. import lockfile
        from .._privacy import scrub_snapshot

        return scrub_snapshot(lockfile.loads(text, origin=origin))

    return full


def _loaded_side(text: str, origin: str, name: str) -> tuple[Snapshot, tuple[PackageRow, ...]]:
    """``text`` loaded and checked: the rest and the package rows of its view, kept under ``name`` (unless "")."""
    # Without secrets as ``full`` has it, scrubbing only what the view holds: the rest, and each package's source
    # URL (a row holds no other URL: scrubbing the pinned files' URLs of 5,000 packages was a tenth of a load).
    # The cyclic collector is already off here: diff_files pauses it, and its child inherits that.
    from .. import _lockcache, lockfile
    from .._privacy import scrub_package, scrub_snapshot

    # The parsed document is not kept (0.015 s of a 5,000-distribution lock's 0.1 s): a diff of this lock again
    # reads the view kept below, which is all it needs; another command that loads it keeps its own.
    loaded = lockfile.loads(text, origin=origin, keep=False)
    rest = scrub_snapshot(dataclasses.replace(loaded, python=dataclasses.replace(loaded.python, packages=())))
    rows = tuple(package_row(scrub_package(p) if p.source.url else p) for p in loaded.python.packages)
    if name:
        _lockcache.put_view(name, (_kept(rest), rows))
    return rest, rows


# A lock's text at least this large is loaded beside the other in a child process when neither is in the cache:
# parsing and checking a 2.9 MB lock takes about 0.3 s, a fork and the view sent back about 0.01 s.
BESIDE_MIN_BYTES = 256 << 10


class _Beside:
    """One lock's view for diff (``_side``'s rest and rows) made by a forked child while the parent loads the
    other lock: the two parses share the two cores a cold ``diff`` of two large locks leaves to one.

    Only where it cannot change a result or an error: on Linux, from a process with no other thread (a fork copies
    no lock another thread holds), for a lock whose text is large and whose view is not in the parsed-lock cache.
    The child loads and checks the text exactly as ``_side`` does, writes the view it would keep (``marshal``: from
    this program's own child, never from a file) and exits without running any exit handler. The view goes into
    memory shared with the parent alone (an anonymous mapping made before the fork) and the pipe carries its
    length; one too large for that memory goes through the pipe itself. Through the pipe, 1.2 MB of a
    5,000-distribution lock's view took the parent 3-4 ms more to take, 64 KB at a time, after its own load.
    Whatever goes wrong there (bad input, a crash, a kill, a view of the wrong shape) gives no result, and the
    parent loads the lock itself (``_side``), raising the same error a sequential load raises, and in the same order
    (the other lock's first). A parent that stops first kills and reaps its child (``close``)."""

    def __init__(self, path: str | os.PathLike[str], text: str, pid: int, fd: int, shared: mmap | None) -> None:
        self.path, self.text, self.pid, self.fd, self.shared = path, text, pid, fd, shared

    @classmethod
    def start(cls, path: str | os.PathLike[str]) -> _Beside | None:
        import sys
        import threading

        from .. import _lockcache, _locktext

        if not sys.platform.startswith("linux") or threading.active_count() != 1 or len(os.sched_getaffinity(0)) < 2:
            return None
        try:
            if os.stat(path).st_size < BESIDE_MIN_BYTES:
                return None
            text = _locktext.read_text(path)
        except (OSError, ValueError, EnvsnapError):
            return None  # ``_side`` reads it again after the other lock, and says what is wrong with it
        name = _view_name(text)
        if _lockcache.has_view(name):
            return None  # answered from the cache in milliseconds
        import mmap

        try:  # address space only: the pages the view fills are all the memory it takes
            shared: mmap.mmap | None = mmap.mmap(-1, len(text) + SHARED_SPARE_BYTES)
        except (OSError, ValueError):
            shared = None  # the view goes through the pipe
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            if shared is not None:
                shared.close()
            return None
        if pid == 0:  # the child: never returns
            os.close(read_end)
            _beside_child(text, str(Path(path)), name, write_end, shared)
        os.close(write_end)
        return cls(path, text, pid, read_end, shared)

    def result(self) -> tuple[Snapshot, Sequence[PackageRow], Callable[[], Snapshot]] | None:
        """The child's view of the lock, or None (then ``_side`` loads it here).

        Read up to the end of the pipe, which the child closes once it has written the whole view, before its exit:
        the child is reaped later (``close``). The bytes decide: only the child writes to the pipe, it writes the
        view (or, once the view is whole in the shared memory, its length) between a first and a last line only when
        it has made it, and a view cut short has no last line."""
        import marshal

        chunks = []
        with os.fdopen(self.fd, "rb", closefd=True) as pipe:
            self.fd = -1
            while chunk := pipe.read(1 << 20):
                chunks.append(chunk)
        blob = b"".join(chunks)
        if not blob.endswith(_BESIDE_END):
            return None
        try:
            if blob.startswith(_BESIDE_OK):
                kept_rest, rows = marshal.loads(blob[len(_BESIDE_OK) : -len(_BESIDE_END)])
            elif blob.startswith(_BESIDE_SHARED) and self.shared is not None:
                kept_rest, rows = _shared_view(self.shared, blob[len(_BESIDE_SHARED) : -len(_BESIDE_END)])
            else:
                return None
            if not (type(rows) is tuple and all(type(row) is tuple and len(row) == ROW_FIELDS for row in rows)):
                return None
            rest = _restored(kept_rest)
        except (EOFError, TypeError, ValueError, AttributeError, KeyError):
            return None
        if not isinstance(rest, _Record):
            return None
        return cast("Snapshot", rest), rows, _full_of(self.text, str(Path(self.path)))

    def _reap(self) -> None:
        pid, self.pid = self.pid, 0
        if pid > 0:
            with contextlib.suppress(ChildProcessError):  # reaped by the kernel already (SIGCHLD ignored)
                os.waitpid(pid, 0)

    def close(self) -> None:
        """Kill and reap a child still running (the parent stopped first), and close the pipe."""
        import signal

        if self.pid > 0:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.shared is not None:
            self.shared.close()
            self.shared = None


_BESIDE_OK = b"envsnap-diff-view\n"  # the view follows, through the pipe
_BESIDE_SHARED = b"envsnap-diff-view-shared\n"  # the view is in the shared memory: its length follows, in digits
_BESIDE_END = b"\nenvsnap-diff-view-end\n"
# Room in the shared memory beyond the text's length: a view holds less than its lock's text (a 5,000-distribution
# lock's 2.9 MB make a 1.2 MB view), and one that does not fit goes through the pipe.
SHARED_SPARE_BYTES = 1 << 20


def _shared_view(shared: mmap, length: bytes) -> Any:
    """The view the child wrote at the start of ``shared``, ``length`` (ASCII digits) bytes long."""
    import marshal

    if not (length.isdigit() and 0 < int(length) <= len(shared)):
        raise ValueError("not a view's length")
    with memoryview(shared) as whole, whole[: int(length)] as view:
        return marshal.loads(view)


def _beside_child(text: str, origin: str, name: str, fd: int, shared: mmap | None = None) -> NoReturn:
    """In the forked child: the view of ``text`` as ``_side`` makes it (kept under ``name``), written to ``fd``;
    then exit at once."""
    code = 1
    try:
        import marshal

        rest, rows = _loaded_side(text, origin, name)
        blob = marshal.dumps((_kept(rest), rows))
        if shared is not None and len(blob) <= len(shared):
            shared[: len(blob)] = blob
            blob = _BESIDE_SHARED + str(len(blob)).encode() + _BESIDE_END
        else:
            blob = _BESIDE_OK + blob + _BESIDE_END
        view = memoryview(blob)
        while view:
            view = view[os.write(fd, view) :]
        # The end of the pipe for the parent now, not after this process's exit has freed all it allocated.
        os.close(fd)
        code = 0
    except BaseException:  # any failure: the parent loads the lock itself and reports it
        code = 1
    finally:
        os._exit(code)


def _kept(value: Any) -> Any:
    """The rest of a lock as its view keeps it, in what ``marshal`` writes: a record as ``("record", {every field:
    its value})``, a table as ``("table", {...})``, an array as a list. Every field, defaults included, so that
    ``_restored`` needs no model to give each record the attributes diff reads."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return ("record", {f.name: _kept(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, Mapping):
        return ("table", {str(k): _kept(v) for k, v in value.items()})
    if isinstance(value, tuple):
        return [_kept(v) for v in value]
    return value


class _Record:
    """A record of the rest of a lock restored from its view: its fields as attributes, as the model's record has
    them (diff reads only fields)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.__dict__.update(fields)


def _restored(value: Any) -> Any:
    """What ``_kept`` wrote, with records, tables and arrays as the comparisons read them; anything else in it is
    a ``TypeError`` or a ``ValueError`` (a damaged entry: a miss)."""
    kind = type(value)
    if kind is list:
        return tuple(map(_restored, value))
    if kind is tuple:
        shape, fields = value
        if type(fields) is not dict or shape not in ("record", "table"):
            raise ValueError("not a view")
        restored = {str(k): _restored(v) for k, v in fields.items()}
        return _Record(restored) if shape == "record" else MappingProxyType(restored)
    if value is None or kind in (str, int, bool):
        return value
    raise TypeError("not a view")


def _changes(
    a: Snapshot,
    b: Snapshot,
    rows_a: Sequence[PackageRow],
    rows_b: Sequence[PackageRow],
    same_place: SamePlace | None = None,
) -> list[Change]:
    """What differs between two locks, their Python packages given as rows; [] where nothing compared does."""
    # Only an imported lock (its origin and unknown tables) can leave a change unknown: a captured pair's 5,000
    # changes are not each looked up in the tables neither lock lists.
    imported = any(lock.envsnap.origin or lock.envsnap.unknown for lock in (a, b))
    found = [
        *_stack(a, b),
        *_interpreter(a, b),
        *_platform(a, b),
        *package_changes(rows_a, rows_b, imported=imported, same_place=same_place),
        *conda_packages(a.conda.packages if a.conda else (), b.conda.packages if b.conda else ()),
        *_system(a, b),
        *_hardware(a, b),
        *_project(a, b),
        *_environment(a, b),
    ]
    made_from = _made_from(a, b)
    if made_from is not None:
        rows = {row[0]: row for row in (rows_a if made_from else rows_b)}
        found = [_built_by_bundle(c, rows) for c in found]
    elif _one_origin(a, b):
        by_name = ({row[0]: row for row in rows_a}, {row[0]: row for row in rows_b})
        found = [_built_by_sibling(c, *by_name) for c in found]
    if not imported:
        return found
    managed = ({row[0] for row in rows_a if row[7]}, {row[0] for row in rows_b if row[7]})
    alike: dict[bool, bool] = {}  # per listing side (a lists it: True), whether the other holds its every archive
    found = [c for c in found if not _in_the_same_conda_package(c, a, b, managed, alike)]
    if all(_tags_left_blank(c, a, b) for c in found):
        # Nothing but the wheel tags of files an import names by hash alone (a hashed requirements file): said in the
        # one line that names the other fields its file does not say, the file's name and URL (``_uncompared``).
        return []
    return [_mark_unknown(c, a, b, managed) for c in found]


def _made_from(a: Snapshot, b: Snapshot) -> bool | None:
    """True where B is the lock of a bundle made from A (its ``envsnap.made_from`` names A's content digest), False
    where A is the one made from B, None where neither lock was made from the other."""
    if b.envsnap.made_from and b.envsnap.made_from == a.envsnap.content_digest:
        return True
    if a.envsnap.made_from and a.envsnap.made_from == b.envsnap.content_digest:
        return False
    return None


BUILT_BY_BUNDLE = "the wheel the bundle built from its source: the same environment with its file pinned"


def _built_by_bundle(change: Change, rows: Mapping[str, PackageRow]) -> Change:
    """A package pinned only in the lock of a bundle made from the other lock (``rows``: that lock's packages), whose
    source there is a VCS commit or a local project: ``bundle`` built its wheel from that source and pinned it, so
    the pair is one environment, its file pinned in one of them (provenance, as verify of the rebuild says
    identical). A file pinned on both sides that differs, or an index package pinned in the bundle only, still
    differs: an index's file was chosen when the bundle was made, not by the lock."""
    row = rows.get(change.subject)
    if (
        change.area != "python"
        or change.change != "changed"
        or change.kind != "artifact"
        or row is None
        or row[5] is not None
        or _source_kind(row[2]) == "index"
    ):
        return change
    return dataclasses.replace(change, change="provenance", weight=0, note=BUILT_BY_BUNDLE)


def _one_origin(a: Snapshot, b: Snapshot) -> bool:
    """Both locks were made from one lock, each naming its content digest (``envsnap.made_from`` of a bundle's
    lock, ``envsnap.pinned_from`` of ``pin``'s output): ``pin imp.lock`` and ``bundle imp.lock`` are siblings, and
    neither names the other. Or one is that lock, which the other names among those it was pinned from: the bundle
    of ``pin imp.lock``, whose ``made_from`` names the pin output, against ``imp.lock``."""
    origins = [{lock.envsnap.content_digest, lock.envsnap.made_from, *lock.envsnap.pinned_from} for lock in (a, b)]
    return bool((origins[0] & origins[1]) - {""})


BUILT_BY_SIBLING = (
    "the wheel a bundle built from its source: both locks come from one lock and record this source alike"
)


def _built_by_sibling(change: Change, rows_a: Mapping[str, PackageRow], rows_b: Mapping[str, PackageRow]) -> Change:
    """A package pinned in one of two locks made from one lock (``_one_origin``) to a wheel of its name and version,
    where both record the same git commit or local project: the wheel ``bundle`` built from that source, the same
    environment with its file pinned (provenance). The named digests alone decide nothing (any lock can name one):
    the source must be the same in both, a VCS checkout at a commit both record, and the wheel that package's.
    An index package, another source or commit, or another project's wheel still differs."""
    x, y = rows_a.get(change.subject), rows_b.get(change.subject)
    if change.area != "python" or change.change != "changed" or change.kind != "artifact" or x is None or y is None:
        return change
    pinned = y[5] if x[5] is None else (x[5] if y[5] is None else None)
    if pinned is None or x[2] != y[2] or x[1] != y[1] or not _built_from_source(x[2]):
        return change
    if not _wheel_of(pinned[0], x[0], x[1]):
        return change
    return dataclasses.replace(change, change="provenance", weight=0, note=BUILT_BY_SIBLING)


def _built_from_source(source: str) -> bool:
    """``source_text`` names a source ``bundle`` builds a wheel from and that names its content: a VCS checkout at a
    commit (``git+URL@COMMIT``, not ``git+URL@``: a branch's head is not one content), or a local project's folder."""
    kind = _source_kind(source)
    if kind == "vcs":
        return bool(source.partition("#")[0].rpartition("@")[2])
    return kind == "url"


def _wheel_of(filename: str, name: str, version: str) -> bool:
    """``filename`` is a wheel of the distribution ``name`` (canonical) at ``version``."""
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

    try:
        wheel_name, wheel_version, _, _ = parse_wheel_filename(filename)
    except (InvalidWheelFilename, ValueError):
        return False
    return canonicalize_name(wheel_name) == canonicalize_name(name) and same_version(str(wheel_version), version)


def _report(a: Snapshot, b: Snapshot, changes: list[Change]) -> DiffReport:
    # By (-weight, area, subject), in two stable sorts whose keys are C's (a lambda per change was 0.003 s of 5,000).
    changes.sort(key=attrgetter("area", "subject"))
    changes.sort(key=attrgetter("weight"), reverse=True)
    return DiffReport(a.envsnap.content_digest, b.envsnap.content_digest, tuple(changes))


def _lock_path(change: Change) -> str:
    """The lock field a change is about (what ``envsnap.unknown`` names)."""
    if change.area == "gpu":
        return "hardware" if change.subject == "GPUs" else "nvidia"
    if change.area == "platform":
        return {"machine": "platform.machine", "OS": "platform.os_id", "kernel": "platform.kernel"}.get(
            change.subject, "platform"
        )
    if change.area == "libc":
        return "platform.libc_version"
    if change.area == "interpreter":
        return {"Python": "python.version", "ABI": "python.abi", "environment kind": "python.kind"}.get(
            change.subject, "python"
        )
    if change.area == "framework":
        return "frameworks"
    if change.area == "python":
        return "python.packages"
    return change.area  # cuda, conda, system, hardware: the table of that name


def _knows(lock: Snapshot, path: str) -> bool:
    return not not_recorded(lock.envsnap.unknown, path)


def _mark_unknown(change: Change, a: Snapshot, b: Snapshot, managed: tuple[set[str], set[str]]) -> Change:
    """A change whose one side is a field that lock cannot know (an import's ``envsnap.unknown``); ``managed``: the
    names of each lock's conda-managed Python distributions."""
    path = _lock_path(change)
    for lock, label, value, theirs in ((a, "A", change.old, managed[1]), (b, "B", change.new, managed[0])):
        if (
            not _knows(lock, path)
            or _seed_left_out(change, lock, value)
            or _left_blank(change, lock, value)
            or _conda_managed_there(change, lock, value, theirs)
        ):
            origin = lock.envsnap.origin or "another format"
            note = f"{label} does not record it (imported from {origin})"
        elif _no_wheel_tags(change, value):
            note = f"{label} records no wheel tags"
        else:
            continue
        return dataclasses.replace(change, change="unknown", kind="unknown", weight=1, note=note)
    return change


def _tags_left_blank(change: Change, a: Snapshot, b: Snapshot) -> bool:
    """A package's wheel tags an imported lock leaves blank (its file names no wheel: ``name==1.0 --hash=...``)
    against those the other lock names: what that file does not say, as the wheel's name and URL are not."""
    if change.area != "python" or change.kind != "build" or change.note != "wheel tag":
        return False
    return bool((not change.old and a.envsnap.origin) or (not change.new and b.envsnap.origin))


def _no_wheel_tags(change: Change, value: str) -> bool:
    """A package's wheel tags one lock of an imported pair does not record (a capture of a distribution with no
    WHEEL file, as an egg-info install leaves) against the tags the other names (a pylock.toml's wheel): a fact one
    side lacks, not a move from ``(none)``. Between two captures it stays a change of build."""
    return change.area == "python" and change.kind == "build" and change.note == "wheel tag" and not value


def _in_the_same_conda_package(
    change: Change,
    a: Snapshot,
    b: Snapshot,
    managed: tuple[set[str], set[str]],
    alike: dict[bool, bool],
) -> bool:
    """A conda package's Python distribution (``conda_managed``) that one lock lists and an imported one does not,
    where both record that conda package (the one of its name) alike: the same archive holds the same distribution.
    An explicit file or a conda-lock.yml lists it only as the conda package, so ``diff`` of a capture against its
    export's import printed ``tinyutil: 0.3.0 -> (unknown)``, though both locks agree on what installed it.
    A distribution no conda package of its name holds (``torch``, from ``pytorch``) is in one of the listing lock's
    conda records: the same where the other lock records each of them as the same archive (``alike`` keeps that
    answer per side, computed once), unknown otherwise, since which record holds it is not in the lock."""
    if change.area != "python" or change.change not in ("added", "removed"):
        return False
    removed = change.change == "removed"
    (listing, other), conda_managed = ((a, b), managed[0]) if removed else ((b, a), managed[1])
    if change.subject not in conda_managed or not other.envsnap.origin or listing.conda is None or other.conda is None:
        return False
    from packaging.utils import canonicalize_name  # an imported conda lock only: not on a captured pair's path

    from .conda import record_differences

    name = canonicalize_name(change.subject)
    mine = [p for p in listing.conda.packages if canonicalize_name(p.name) == name]
    theirs = [p for p in other.conda.packages if canonicalize_name(p.name) == name]
    if mine or theirs:
        return len(mine) == 1 and len(theirs) == 1 and not record_differences(mine[0], theirs[0])
    if removed not in alike:
        alike[removed] = _holds_every_archive(listing.conda.packages, other.conda.packages)
    return alike[removed]


def _holds_every_archive(mine: Sequence[CondaPackage], theirs: Sequence[CondaPackage]) -> bool:
    """Whether ``theirs`` records each of ``mine`` as the same archive (one record of that name, no difference)."""
    from .conda import record_differences

    by_name: dict[str, list[CondaPackage]] = {}
    for p in theirs:
        by_name.setdefault(p.name, []).append(p)
    for p in mine:
        same = by_name.get(p.name, [])
        if len(same) != 1 or record_differences(p, same[0]):
            return False
    return bool(mine)


def _conda_managed_there(change: Change, lock: Snapshot, value: str, managed: set[str]) -> bool:
    """A Python package one lock lists and an imported one does not, where that import has the conda package of
    its name, or has a conda layer and the other lock says conda installed it (``managed``: ``torch`` from
    ``pytorch``): a conda-lock.yml lists a conda package's Python distribution only as the conda package, so it was
    read as removed (or added) after an export and import, while the conda layer was the same."""
    if change.area != "python" or value or not lock.envsnap.origin or lock.conda is None:
        return False
    if change.subject in managed:
        return True
    from packaging.utils import canonicalize_name  # an imported conda lock only: not on a captured pair's path

    return any(canonicalize_name(p.name) == change.subject for p in lock.conda.packages)


def _seed_left_out(change: Change, lock: Snapshot, value: str) -> bool:
    """A pip, setuptools, wheel or distribute an imported lock does not list where its file left them out (``pip
    freeze`` without ``--all``): not known to it, rather than removed or added."""
    return change.area == "python" and not value and interchange.seed_unknown(lock.envsnap.unknown, change.subject)


def _left_blank(change: Change, lock: Snapshot, value: str) -> bool:
    """An imported lock's blank where the file says nothing: the interpreter's ABI and kind, a package's
    wheel tags, a source-tree project's version (a requirements comment line). A blank in a captured lock,
    or a package an import does not list, stays a change."""
    if not lock.envsnap.origin or value:
        return False
    return change.area == "interpreter" or (change.area == "python" and change.change == "changed")


def _within(path: str, explained: frozenset[str]) -> bool:
    """``path`` is a field an entry names, or lies in one (``python.packages[tool].source.kind`` in its source)."""
    while path not in explained:
        path, dot, _ = path.rpartition(".")
        if not dot:
            return False
    return True


def _uncompared(
    a: Snapshot, b: Snapshot, explained: frozenset[str] = frozenset(), same_place: SamePlace | None = None
) -> list[Change]:
    """The fields that differ where no comparison above looks (the locks' content digests differ, so they
    must not read as identical), but those an entry names already (``explained``), the tool that wrote the lock, the
    lock a bundle's lock was made from and the locks it was pinned from (``envsnap.generator``, ``envsnap.made_from``,
    ``envsnap.pinned_from``: how the lock was made, as its ``created``). Warnings that differ only in what ``pin`` could
    not pin (its ``pin:`` notes) are how the lock was pinned too: named as unknown, not as a difference."""
    from .. import lockfile

    if a == b:  # the same lock twice (one object, when both sides are one file): nothing to convert
        return []
    da, db = lockfile.to_dict(a), lockfile.to_dict(b)
    if lockfile.canonical_digest(da) == lockfile.canonical_digest(db):
        return []
    # A package's version written otherwise (1.0, 1.0.0) was compared above: one version, no difference.
    b_versions = {p.name: p.version for p in b.python.packages}
    respelled = {
        f"python.packages[{p.name}].version"
        for p in a.python.packages
        if b_versions.get(p.name, p.version) != p.version and same_version(p.version, b_versions[p.name])
    }
    respelled |= _upload_times_respelled(a, b)
    imported = (bool(a.envsnap.origin), bool(b.envsnap.origin))
    unrecorded: list[str] = []
    if any(imported):
        # An explicit file's import lists its conda packages in the order conda links them, a capture by name: the
        # same records in another order are the same environment, named as an order only (the content differs).
        order = [a.conda and [p.name for p in a.conda.packages], b.conda and [p.name for p in b.conda.packages]]
        if order[0] and order[1] and order[0] != order[1] and sorted(order[0]) == sorted(order[1]):
            unrecorded.append("conda.packages (order)")
        da, db = _conda_by_name(da), _conda_by_name(db)
        da, db = _files_by_hash(da, db, imported, unrecorded)
    db = _places_read_alike(da, db, same_place)
    paths = sorted(_differing(da, db, "", (a.envsnap.origin, b.envsnap.origin), unrecorded))
    # Which tool wrote a lock (``envsnap import from uv``, ``envsnap 0.9``) is how it was made, as its ``created``.
    left_out = (
        "envsnap.created",
        "envsnap.generator",
        "envsnap.content_digest",
        "envsnap.made_from",
        "envsnap.pinned_from",
        # The folder ``pin -o`` moved the lock from (its places are read back above, ``_places_read_alike``).
        "envsnap.moved_from",
        "envsnap.moved_to",
        # Which package installed the interpreter (verify's question, of the host it runs on): blank in a lock
        # written before it was recorded, as in one of an interpreter of its own, so a blank tells nothing here.
        "python.system_package",
    )
    # A list's entries are named by their place (``envsnap.pinned_from[0]``: two locks pinned once each): the list's.
    # The dpkg package a distribution came from (``python.packages[six].system_package``), blank alike: how it was
    # installed, asked of the capturing host, not what is installed; the headers of its metadata recorded with it
    # (``identity``, for pin's stand-in), absent from a lock written before they were; and the architectures of its
    # CUDA kernels (``cuda_kernels``, whether they were read in part, their PTX's ISA version), which follow from its
    # files (their RECORD digest is compared), absent alike.
    paths = [
        p
        for p in paths
        if p.split("[", 1)[0] not in left_out
        and not (p.startswith("python.packages[") and p.partition("].")[2].split("[", 1)[0] in _NOT_COMPARED)
        and p not in respelled
        and not _within(p, explained)
    ]
    unrecorded = [p for p in unrecorded if p.split("[", 1)[0] not in left_out]  # one lock pinned, the other not
    if any(imported):
        # How each lock was made (the format it was imported from, and what its import said of the file: pip-compile
        # copies pip.conf's ``--extra-index-url`` lines, which uv's file of one resolution has not) is not a fact of
        # the environment.
        # A list's entries are named by their place where both lists are as long (``envsnap.warnings[0]``).
        made = [p for p in paths if p.split("[", 1)[0] in ("envsnap.origin", "envsnap.unknown", "envsnap.warnings")]
        unrecorded += made
        paths = [p for p in paths if p not in made]
    if _pin_notes_alone(a.envsnap.warnings, b.envsnap.warnings):
        # Each pin writes what it could not pin again, and the bundle that found the file has no such note: how
        # the lock was pinned, which its identity leaves out too (``lockfile.PIN_NOTE``).
        pinned = [p for p in paths if p.split("[", 1)[0] == "envsnap.warnings"]
        unrecorded += ["envsnap.warnings"] if pinned else []
        paths = [p for p in paths if p not in pinned]
    installed_otherwise = _installed_otherwise(a, b)
    # One an import leaves blank (its file names no revision) is unknown there, as other blanks are.
    requested_otherwise = {k: v for k, v in _requested_otherwise(a, b).items() if k not in unrecorded}
    paths = [p for p in paths if p not in installed_otherwise and p not in requested_otherwise]
    provenance = [*_provenance(installed_otherwise), *requested_otherwise.values()]
    if paths:
        fields = Change("lock", "other fields", "changed", "fields", "", _shown(paths), 2, "not compared above")
        return [fields, *provenance]
    if unrecorded:
        note = "what an imported lock does not record, how a lock was made, or the conda packages' link order"
        return [
            Change("lock", "other fields", "unknown", "fields", "", _shown(sorted(unrecorded)), 1, note),
            *provenance,
        ]
    return provenance


def _places_read_alike(da: dict[str, Any], db: dict[str, Any], same_place: SamePlace | None) -> dict[str, Any]:
    """``db`` with each local place a package of both locks names otherwise but reads as one (its source's URL, its
    file's URL and index) written as ``da`` writes it: the comparison of the packages reads them so, and so must the
    fields no comparison looks at. One place spelled two ways (``_one_spelling``: percent-encoded otherwise, the host
    ``localhost``; a path and its ``file:`` URL, ``/lab/my wheels`` and ``file:///lab/my%20wheels``), or one that
    ``same_place`` reads as one: ``pin -o out/x.lock`` outside a work tree names the project's folder for ``out``
    (``file:///lab/libs/x`` for ``file://{project}/libs/x``, the find-links folder of an imported file ``/lab/wheels``).
    diff said "other fields differ" of one place, exit 1."""
    from ..fileurls import is_file_url, path_url

    def as_url(value: str) -> str:
        return path_url(value) if value.startswith("/") else value

    mine_by_name = {p.get("name"): p for p in _packages_of(da)}
    changed = False
    packages = []
    for q in _packages_of(db):
        p = mine_by_name.get(q.get("name"), {})
        new = dict(q)
        for table, key in (("source", "url"), ("artifact", "url"), ("artifact", "index")):
            mine, yours = p.get(table), q.get(table)
            if not isinstance(mine, dict) or not isinstance(yours, dict):
                continue
            x, y = mine.get(key), yours.get(key)
            if not isinstance(x, str) or not isinstance(y, str) or x == y:
                continue
            ux, uy = as_url(x), as_url(y)
            if not (is_file_url(ux) and is_file_url(uy)):
                continue
            if _one_spelling(ux, uy) or (same_place is not None and same_place(ux, uy)):
                new[table] = {**new[table], key: x}
                changed = True
        packages.append(new)
    if not changed:
        return db
    return {**db, "python": {**db["python"], "packages": packages}}


def _packages_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    python = doc.get("python")
    packages = python.get("packages") if isinstance(python, dict) else None
    return [p for p in packages if isinstance(p, dict)] if isinstance(packages, list) else []


def _pin_notes_alone(a: Sequence[str], b: Sequence[str]) -> bool:
    """The two locks' warnings differ, and only in the notes ``pin`` wrote (``pin: NAME VERSION: reason``)."""
    from ..lockfile import PIN_NOTE

    def own(warnings: Sequence[str]) -> list[str]:
        return [w for w in warnings if not w.startswith(PIN_NOTE)]

    return a != b and own(a) == own(b)


def _upload_times_respelled(a: Snapshot, b: Snapshot) -> set[str]:
    """``python.packages[NAME].artifact.upload_time`` of each file both locks pin (one sha256) whose upload time they
    write at another precision: PyPI's JSON gives ``2024-12-04T17:35:26.475808Z``, which ``pin`` records, and uv's
    pylock ``2024-12-04T17:35:26Z``, which its import records. One moment to the second, one file: no difference."""
    from ..grammar import timestamp

    theirs = {p.name: p.artifact for p in b.python.packages if p.artifact is not None}
    out = set()
    for p in a.python.packages:
        x, y = p.artifact, theirs.get(p.name)
        if x is None or y is None or x.sha256 != y.sha256 or x.upload_time == y.upload_time:
            continue
        moment = timestamp(x.upload_time)
        if moment is not None and moment == timestamp(y.upload_time):
            out.add(f"python.packages[{p.name}].artifact.upload_time")
    return out


def _installed_otherwise(a: Snapshot, b: Snapshot) -> dict[str, tuple[str, str, str]]:
    """``python.packages[NAME].installer`` -> (old, new, NAME) for each package both locks list whose installer tool
    alone names another (pip -> uv: a venv rebuild installs with uv what the author installed with pip). How a package
    got there, not what runs: ``verify`` compares no installer. A package the installer moves between the pip and the
    conda layer (``conda`` on one side only, ``PythonPackage.conda_layer``) is not in it: another layer installs it."""
    theirs = {p.name: p for p in b.python.packages}
    out: dict[str, tuple[str, str, str]] = {}
    for p in a.python.packages:
        q = theirs.get(p.name)
        if q is not None and p.installer != q.installer and p.conda_layer == q.conda_layer:
            out[f"python.packages[{p.name}].installer"] = (p.installer, q.installer, p.name)
    return out


REQUESTED_OTHERWISE = "how its commit was asked for, not what it holds: the commit is compared"


def _requested_otherwise(a: Snapshot, b: Snapshot) -> dict[str, Change]:
    """``python.packages[NAME].source.requested_revision`` -> a ``provenance`` entry for each VCS package both locks
    record at one commit of one repository, asked for otherwise: a branch in one (a pylock's ``requested-revision =
    "main"``), the commit itself in the other (a requirements file's ``@COMMIT``, as pip records it), or nothing (``pip
    install git+URL``). The commit is what a rebuild checks out, compared in the source above."""
    theirs = {p.name: p for p in b.python.packages}
    out: dict[str, Change] = {}
    for p in a.python.packages:
        q = theirs.get(p.name)
        if q is None or p.source.kind != "vcs" or not p.source.commit_id:
            continue
        x, y = p.source, q.source
        if (x.kind, x.url, x.commit_id, x.subdirectory) != (y.kind, y.url, y.commit_id, y.subdirectory):
            continue
        if x.requested_revision != y.requested_revision:
            path = f"python.packages[{p.name}].source.requested_revision"
            old, new = x.requested_revision, y.requested_revision
            out[path] = Change("python", p.name, "provenance", "source", old, new, 0, REQUESTED_OTHERWISE)
    return out


def _provenance(installed_otherwise: dict[str, tuple[str, str, str]]) -> list[Change]:
    """One ``provenance`` entry for each pair of installer tools (``installer: pip -> uv``), naming its packages."""
    by_tools: dict[tuple[str, str], list[str]] = {}
    for old, new, name in installed_otherwise.values():
        by_tools.setdefault((old, new), []).append(name)
    return [
        Change(
            "lock",
            "installer",
            "provenance",
            "installer",
            old,
            new,
            0,
            f"{_shown(sorted(names))}: how installed, not what; verify does not compare it",
        )
        for (old, new), names in sorted(by_tools.items())
    ]


def _conda_by_name(d: dict[str, Any]) -> dict[str, Any]:
    conda = d.get("conda")
    if not isinstance(conda, dict) or not isinstance(conda.get("packages"), list):
        return d
    return {**d, "conda": {**conda, "packages": sorted(conda["packages"], key=lambda r: str(r.get("name", "")))}}


def _files_by_hash(
    da: dict[str, Any], db: dict[str, Any], imported: tuple[bool, bool], unrecorded: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two locks with a package's ``candidates`` made alike where an imported lock names its files by sha256
    alone (a hashed requirement) on every index its file names (``--index-url``, ``--extra-index-url``: it does not
    say which holds each), and the other names the same files (one sha256 set), each on one of those indexes: what
    the requirements file left open, not a difference (``python.packages[NAME].candidates``, unknown)."""

    def packages(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
        python = d.get("python")
        listed = python.get("packages") if isinstance(python, dict) else None
        return {str(p.get("name")): p for p in listed or () if isinstance(p, dict)}

    pa, pb = packages(da), packages(db)
    same: dict[str, list[Any]] = {}
    for name in sorted(pa.keys() & pb.keys()):
        ca, cb = pa[name].get("candidates"), pb[name].get("candidates")
        if not (isinstance(ca, list) and isinstance(cb, list) and ca and cb) or ca == cb:
            continue
        for side, (mine, theirs) in enumerate(((ca, cb), (cb, ca))):
            if not imported[side] or any(c.get("filename") or c.get("url") for c in mine):
                continue
            places: dict[str, set[str]] = {}
            for c in mine:
                places.setdefault(str(c.get("sha256", "")), set()).add(str(c.get("index", "")))
            files = {(str(c.get("sha256", "")), str(c.get("index", ""))) for c in theirs}
            if {h for h, _ in files} == places.keys() and all(i in places[h] for h, i in files):
                same[name] = theirs
                unrecorded.append(f"python.packages[{name}].candidates")
                break
    if not same:
        return da, db

    def alike(d: dict[str, Any]) -> dict[str, Any]:
        listed = [{**p, "candidates": same[p["name"]]} if p.get("name") in same else p for p in d["python"]["packages"]]
        return {**d, "python": {**d["python"], "packages": listed}}

    return alike(da), alike(db)


def _shown(paths: list[str]) -> str:
    return first_few(paths, 6)


def _differing(
    x: object, y: object, path: str, origins: tuple[str, str] = ("", ""), unrecorded: list[str] | None = None
) -> list[str]:
    """The dotted paths where ``x`` and ``y`` differ; a field absent or blank on one side whose lock was imported
    (``origins``: per side, the format, "" for a capture) goes to ``unrecorded`` instead, as a format that does not
    record it (an explicit file's sha256; the name and URL of a file a hashed requirement pins by its sha256). A conda
    record's field is told by what its format records (``_conda_field_known``)."""
    if isinstance(x, dict) and isinstance(y, dict):
        out: list[str] = []
        for key in sorted(set(x) | set(y)):
            here = f"{path}.{key}" if path else str(key)
            if unrecorded is not None and (
                (key not in x and not _known(here, origins[0], absent=True))
                or (key not in y and not _known(here, origins[1], absent=True))
            ):
                unrecorded.append(here)
                continue
            out += _differing(x.get(key), y.get(key), here, origins, unrecorded)
        return out
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        out = []
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            # A record of a list by its name where both sides name the same one (python.packages[idna]).
            named = isinstance(u, dict) and isinstance(v, dict) and u.get("name") and u.get("name") == v.get("name")
            out += _differing(u, v, f"{path}[{u['name'] if named else i}]", origins, unrecorded)
        return out
    if x == y:
        return []
    if unrecorded is not None and (
        not _known(path, origins[0], absent=x == "") or not _known(path, origins[1], absent=y == "")
    ):
        unrecorded.append(path)  # an import's blank: what its file does not say (``_left_blank``)
        return []
    return [path or "(top level)"]


_CONDA_FIELD = LazyPattern(r"conda\.packages\[[^\]]*\]\.([a-z_0-9]+)")


def _known(path: str, origin: str, *, absent: bool) -> bool:
    """Whether a lock imported from ``origin`` ("" for a capture: every field is known) knows the field at ``path``,
    left out or blank there (``absent``) or not: a field an import leaves out or blank is one its file does not say,
    but for a conda record's field its format records (``model.CONDA_RECORDED``: conda-lock's ``dependencies: {}``,
    left out as every default, is a package that depends on nothing), and one it never records
    (``model.CONDA_UNRECORDED``: the build number an import reads from the build string) is unknown at any value."""
    if not origin:
        return True
    from ..model import CONDA_RECORDED, CONDA_UNRECORDED  # an imported lock's only: not on a captured pair's path

    recorded = CONDA_RECORDED.get(origin)
    match = _CONDA_FIELD.match(path) if recorded is not None else None
    if match is not None and recorded is not None:
        field = match.group(1)
        if field in recorded:
            return True
        if field in CONDA_UNRECORDED:
            return False
    return not absent


def _value(area: str, subject: str, old: str, new: str, weight: int, kind: str = "value") -> list[Change]:
    if old == new:
        return []
    if not old:
        return [Change(area, subject, "added", kind, "", new, weight)]
    if not new:
        return [Change(area, subject, "removed", kind, old, "", weight)]
    if kind == "version":
        vkind, direction = version_change(old, new)
        return [Change(area, subject, "changed", vkind, old, new, weight, direction)]
    return [Change(area, subject, "changed", kind, old, new, weight)]


def _unanswered(a: Snapshot, b: Snapshot, changes: list[Change]) -> list[Change]:
    """``changes`` (of the driver and the GPUs), each whose one side is empty because that lock's NVIDIA driver
    did not answer at capture (``nvidia.error`` and no version) said so, as ``verify`` says it: not removed or
    added, which reads as a host without a driver."""
    out: list[Change] = []
    for c in changes:
        side = b if c.change == "removed" else a if c.change == "added" else None
        nvidia = side.nvidia if side is not None else None
        if nvidia is None or not nvidia.error or nvidia.driver_version:
            out.append(c)
            continue
        label = "B" if side is b else "A"
        note = f"the NVIDIA driver did not answer in {label}: {nvidia.error}"
        out.append(_change(c.area, c.subject, "changed", "unanswered", c.old, c.new, c.weight, note))
    return out


def _both_unanswered(a: Snapshot, b: Snapshot) -> list[Change]:
    """Neither lock records a driver version, and their drivers were not in the same state at capture: one did
    not answer and the other had no driver, or each did not answer its own way (``nvidia.error``). No version
    differs, yet the two hosts' drivers do: said, as ``_unanswered`` says a driver that did not answer. Not where
    a lock cannot know its driver (an import): it had none to compare."""
    na, nb = a.nvidia, b.nvidia
    if (na is not None and na.driver_version) or (nb is not None and nb.driver_version):
        return []
    if not (_knows(a, "nvidia") and _knows(b, "nvidia")):
        return []
    ea, eb = na.error if na is not None else "", nb.error if nb is not None else ""
    if ea == eb:
        return []
    if ea and eb:
        note = f"the NVIDIA driver did not answer in A: {ea}; in B: {eb}"
    elif ea:
        note = f"the NVIDIA driver did not answer in A: {ea}; B records no driver"
    else:
        note = f"A records no driver; the NVIDIA driver did not answer in B: {eb}"
    return [_change("gpu", "NVIDIA driver", "changed", "unanswered", "", "", 90, note)]


def _gpu_errors(a: Snapshot, b: Snapshot) -> list[Change]:
    """The error NVML gave beside a driver that answered (``GPU 1: nvmlDeviceGetName: GPU is lost``), where both
    locks record a driver version and their errors differ: the GPUs line shows only an ``unknown GPU``, and where
    no GPU's name changed, nothing said it. An error without a driver version is ``_unanswered``'s."""
    na, nb = a.nvidia, b.nvidia
    if na is None or nb is None or not (na.driver_version and nb.driver_version) or na.error == nb.error:
        return []
    # "changed", either side empty: an error that came or went is said whole, as "(none) -> GPU 1: ...".
    note = "the error NVML gave at capture, beside the driver's version"
    return [_change("gpu", "NVIDIA driver error", "changed", "value", na.error, nb.error, 88, note)]


def _stack(a: Snapshot, b: Snapshot) -> list[Change]:
    out: list[Change] = []
    na, nb = a.nvidia, b.nvidia
    out += _unanswered(
        a,
        b,
        _value("gpu", "NVIDIA driver", na.driver_version if na else "", nb.driver_version if nb else "", 90, "version"),
    )
    out += _both_unanswered(a, b)
    out += _gpu_errors(a, b)
    out += _unanswered(
        a,
        b,
        _value(
            "gpu",
            "driver CUDA",
            na.cuda_driver_version if na else "",
            nb.cuda_driver_version if nb else "",
            89,
            "version",
        ),
    )
    ca, cb = a.cuda, b.cuda
    for what, label, weight in (
        ("runtime", "CUDA runtime", 95),
        ("cudnn", "cuDNN", 85),
        ("nccl", "NCCL", 80),
        ("cublas", "cuBLAS", 70),
    ):
        out += _value(
            "cuda",
            label,
            getattr(ca, f"{what}_version") if ca else "",
            getattr(cb, f"{what}_version") if cb else "",
            weight,
            "version",
        )
    # The system toolkit (``CUDA_HOME``, /usr/local/cuda): what an extension built here compiles and links against.
    ta, tb = (ca.toolkit_version if ca else ""), (cb.toolkit_version if cb else "")
    out += _value("cuda", "CUDA toolkit", ta, tb, 60, "version")
    ga = ", ".join(f"{gpu_name(g)} (sm {g.compute_capability})" for g in a.hardware.gpus)
    gb = ", ".join(f"{gpu_name(g)} (sm {g.compute_capability})" for g in b.hardware.gpus)
    out += _unanswered(a, b, _value("gpu", "GPUs", ga, gb, 88))
    for name in sorted(set(a.frameworks) | set(b.frameworks)):
        fa, fb = a.frameworks.get(name), b.frameworks.get(name)
        out += _value(
            "framework",
            f"{name} CUDA build",
            fa.cuda_version if fa else "",
            fb.cuda_version if fb else "",
            92,
            "version",
        )
        out += _value(
            "framework",
            f"{name} arch list",
            " ".join(fa.arch_list) if fa else "",
            " ".join(fb.arch_list) if fb else "",
            87,
        )
    return out


def _interpreter(a: Snapshot, b: Snapshot) -> list[Change]:
    pa, pb = a.python, b.python
    out = _value(
        "interpreter",
        "Python",
        f"{pa.implementation} {pa.version}".strip(),
        f"{pb.implementation} {pb.version}".strip(),
        0,
    )
    if out:
        kind, direction = (
            version_change(pa.version, pb.version) if pa.implementation == pb.implementation else ("major", "")
        )
        weight = {"major": 100, "minor": 100, "patch": 40}.get(kind, 60)
        out = [Change("interpreter", "Python", "changed", kind, out[0].old, out[0].new, weight, direction)]
    out += _value("interpreter", "ABI", pa.abi, pb.abi, 99)
    if pa.kind != pb.kind:
        # A system interpreter's packages rebuilt into a venv (``rebuild --target venv``): how the environment was
        # made, not what runs, as verify calls it info. Shown, and no drift (``provenance``).
        note = "how the environment was made, not what runs; verify calls it info"
        out.append(Change("interpreter", "environment kind", "provenance", "value", pa.kind, pb.kind, 0, note))
    return out


def _environment(a: Snapshot, b: Snapshot) -> list[Change]:
    """The recorded variables that change results (``[environment]``: threads, devices, determinism flags), each
    added, removed or changed: they were named only when nothing else differed, as "other fields"."""
    x, y = a.environment, b.environment
    out: list[Change] = []
    for name in sorted(set(x) | set(y)):
        old, new = x.get(name), y.get(name)
        if old == new:
            continue
        if old is None:
            out.append(_change("environment", name, "added", "added", "", str(new), 35))
        elif new is None:
            out.append(_change("environment", name, "removed", "removed", str(old), "", 35))
        else:
            out += _value("environment", name, str(old), str(new), 35)
    return out


def _project(a: Snapshot, b: Snapshot) -> list[Change]:
    """The project's code each lock was captured with (``[project]``): its commit, and its uncommitted change."""
    x, y = a.project, b.project
    if x is None and y is None:
        return []

    def tree(p: Project | None) -> str:
        if p is None:
            return ""
        return f"uncommitted change {p.diff_digest[7:19]}" if p.dirty else "clean"

    out = [
        *_value("project", "commit", x.commit[:12] if x else "", y.commit[:12] if y else "", 42),
        *_value("project", "working tree", tree(x), tree(y), 41),
    ]
    if x is not None and y is not None:
        # Where the checkout came from and what its branch is called: a reviewer's clone (another remote URL, its
        # own branch) of the same commit read "other fields differ: project.remote_url", exit 1. The code is the
        # commit and the working tree, compared above.
        compared = "not what it holds: the commit and the working tree are compared"
        for kind, old, new, what in (
            ("remote", x.remote_url, y.remote_url, "where the checkout came from"),
            ("branch", x.branch, y.branch, "what its branch is called"),
        ):
            if old != new:
                out.append(_change("project", kind, "provenance", kind, old, new, 0, f"{what}, {compared}"))
    return out


def _platform(a: Snapshot, b: Snapshot) -> list[Change]:
    x, y = a.platform, b.platform
    return [
        *_value("platform", "machine", x.machine, y.machine, 100),
        *_value("platform", "OS", f"{x.os_id} {x.os_version}".strip(), f"{y.os_id} {y.os_version}".strip(), 72),
        *_value("libc", x.libc or y.libc or "libc", x.libc_version, y.libc_version, 75, "version"),
        *_value("platform", "kernel", x.kernel, y.kernel, 10),
    ]


# A Python package as diff compares it: (name, version, source, wheel tags, RECORD digest of the files it installs
# (``PythonPackage.built_record_digest`` where the bundle built its wheel), the pinned
# artifact's (file name, sha256) or None, and the sha256 of the archive it was installed from by URL or "").
# Plain tuples: the rows of a lock are kept in the parsed-lock cache (``diff_files``), and a row read from there
# is compared by the same code as one made from a package.
# name, version, source_text, wheel tags, RECORD digest, pinned file, archive sha256, conda_managed, editable,
# the sha256 of each file an unpinned package's candidates allow (a hashed requirement's ``--hash`` lines), and the
# sha256 of the sdist the pinned wheel was built from (``bundle``'s ``sdist_sha256``)
PackageRow = tuple[str, str, str, tuple[str, ...], str, "tuple[str, str] | None", str, bool, bool, tuple[str, ...], str]
ROW_FIELDS = 11  # what a kept view's row must hold


def package_row(p: PythonPackage) -> PackageRow:
    a = p.artifact
    algo, value = p.source.archive_digest if p.source.kind == "archive" else ("", "")
    pinned = _by_hash(p.candidates) if a is None else (a.filename, a.sha256)
    return (
        p.name,
        p.version,
        source_text(p),
        tuple(p.wheel_tags),
        # The files its install gives: the wheel the bundle built, where its lock records that wheel's (the author's
        # ``record_digest`` is the lock's identity, and need not be that wheel's files).
        p.built_record_digest or p.record_digest,
        pinned,
        value if algo == "sha256" else "",
        p.conda_managed,
        p.source.editable,  # a folder's says so in its source text, a VCS checkout's (pip install -e git+URL) not
        tuple(sorted({c.sha256 for c in p.candidates if c.sha256})) if pinned is None else (),
        a.sdist_sha256 if a is not None and a.rebuilt else "",
    )


def _by_hash(candidates: tuple[Candidate, ...]) -> tuple[str, str] | None:
    """A hashed requirement's one file on each index its requirements file names (an import records it on all of
    them: the file does not say which holds it), as one file named by its sha256, as on one index."""
    hashes = {c.sha256 for c in candidates}
    if len(hashes) == 1 and not any(c.filename or c.url for c in candidates):
        return ("", hashes.pop())
    return None


def python_packages(old: Iterable[PythonPackage], new: Iterable[PythonPackage]) -> list[Change]:
    return package_changes([package_row(p) for p in old], [package_row(p) for p in new])


def package_changes(
    old: Iterable[PackageRow],
    new: Iterable[PackageRow],
    *,
    imported: bool = False,
    same_place: SamePlace | None = None,
) -> list[Change]:
    """``imported``: one of the two locks was imported (``_one_file``); ``same_place``: whether two local sources
    written otherwise name one place where the locks are (``_SamePlace``; None: they never do)."""
    a = {row[0]: row for row in old}
    b = {row[0]: row for row in new}
    common = a.keys() & b.keys()
    out = []
    if len(common) < len(a):
        out += [
            _change("python", n, "removed", "removed", a[n][1], "", _PACKAGE_WEIGHT["removed"])
            for n in sorted(a.keys() - common)
        ]
    if len(common) < len(b):
        out += [
            _change("python", n, "added", "added", "", b[n][1], _PACKAGE_WEIGHT["added"])
            for n in sorted(b.keys() - common)
        ]
    for name in sorted(common):
        x, y = a[name], b[name]
        if x != y:
            change = _package_change(x, y, imported, same_place)
            if change is not None:
                out.append(change)
        elif not x[1] and _source_kind(x[2]) == "url" and not x[6]:
            # A folder (or an archive without its hash) neither lock records the version of (an import's project
            # whose version its build computes): what each installs is not known, so the pair is not identical.
            out.append(_change("python", name, "unknown", "unknown", "", "", 1, "neither lock records its version"))
    return out


def _package_change(
    x: PackageRow, y: PackageRow, imported: bool = False, same_place: SamePlace | None = None
) -> Change | None:
    name, version, source, tags, record, artifact, _, _, editable, _, _ = x
    _, version_b, source_b, tags_b, record_b, artifact_b, _, _, editable_b, _, _ = y
    if version != version_b:
        moved = version_moved(version, version_b)
        if moved is not None and not (version and version_b) and _source_kind(source) != _source_kind(source_b):
            # An import's local project records no version (``./libs/mylib``): the version then says nothing, and
            # reading it as unknown hid a move from the index's project to a folder (another project, maybe).
            note = f"{'A' if not version else 'B'} records no version"
            return _change("python", name, "changed", "source", source, source_b, _PACKAGE_WEIGHT["source"], note)
        if moved is not None:
            kind, direction = moved
            return _change("python", name, "changed", kind, version, version_b, _PACKAGE_WEIGHT[kind], direction)
    if source != source_b and imported and _one_file(x, y):
        # The file by URL on one side, pinned on the other: one file (docs/design.md, "One file, two spellings").
        artifact = artifact_b = artifact or artifact_b
    elif source != source_b and (
        _one_archive(x, y)
        or _one_spelling(source, source_b)
        or (same_place is not None and same_place(source, source_b))
    ):
        pass  # one archive (its sha256), or one place spelled otherwise or by a label in one lock: no change of source
    elif source != source_b and editable and editable_b and _one_checkout(name, source, source_b):
        # One editable git checkout, named by its folder in the environment's src/ in a lock captured before a
        # capture read its commit: the same install, as verify says identical. Provenance, unless the rest differs.
        rest = _package_change(x, (*y[:2], source, *y[3:]), imported, same_place)
        if rest is not None and rest.change != "provenance":
            return rest
        note = EDITABLE_CHECKOUT + ("; other RECORD digest of its editable hook" if record != record_b else "")
        return _change("python", name, "provenance", "source", source, source_b, 0, note)
    elif source != source_b and (installed := _bundle_wheel_installed(x, y) or _bundle_wheel_named(x, y)):
        # The wheel a bundle built (from a commit, a folder or an sdist), installed by ``rebuild --bundle`` from its
        # file, which direct_url.json names with its sha256, or from a bundle archive with no source here, which
        # envsnap_bundle.json names by its file name and sha256: that very file. What else differs still does.
        pinned = x if installed is y else y
        if not pinned[3] and pinned[5] is not None:  # an import records no tags: the wheel's file name gives them
            from packaging.utils import parse_wheel_filename

            tags_of = tuple(sorted(str(t) for t in parse_wheel_filename(pinned[5][0])[3]))
            pinned = (*pinned[:3], tags_of, *pinned[4:])
        # An editable project's lock records its hook's RECORD, which lists no module: the wheel's differs always
        # (verify calls it info), so only what else differs is compared.
        record = pinned[4] if pinned[8] and not installed[8] else installed[4]
        read = (*installed[:2], pinned[2], installed[3], record, pinned[5], *installed[6:])  # as that file's install
        rest = _package_change(pinned, read) if installed is y else _package_change(read, pinned)
        if rest is not None and rest.change != "provenance":
            return rest
        from ..fileurls import UNPACKED_BUNDLE, in_unpacked_bundle

        note = BUNDLE_WHEEL_INSTALLED if installed[5] is None else BUNDLE_WHEEL_NAMED
        note += f"; {UNPACKED_BUNDLE}" if in_unpacked_bundle(installed[2]) else ""
        note += "; " + EDITABLE_NOT_KEPT if editable or editable_b else "; verify calls it info"
        return _change("python", name, "provenance", "source", source, source_b, 0, note)
    elif source != source_b and _bundle_wheel_unrecorded(x, y):
        # The capture of a wheel of its name, version and tags from an index or a find-links folder (pip by name
        # from a wheels folder): no direct_url.json says whether it is the bundle's wheel.
        return _change("python", name, "unknown", "source", source, source_b, 1, BUNDLE_WHEEL_UNRECORDED)
    elif source != source_b and _bundle_wheel_unhashed(x, y):
        # By path with no sha256 (uv from the bundle's requirements.txt): the file's name alone is the bundle's.
        return _change("python", name, "unknown", "source", source, source_b, 1, BUNDLE_WHEEL_UNHASHED)
    elif source != source_b and _one_file_moved(x, y):
        # One archive by path (the same file name and sha256) in two folders: a bundle's wheel installed from two
        # copies of the bundle (a folder, an archive unpacked to a temporary one). What else differs still does.
        rest = _package_change(x, (*y[:2], source, *y[3:]), imported, same_place)
        if rest is not None and rest.change != "provenance":
            return rest
        from ..fileurls import UNPACKED_BUNDLE, in_unpacked_bundle

        moved_note = ONE_FILE_MOVED + (
            f" ({UNPACKED_BUNDLE})" if in_unpacked_bundle(source) or in_unpacked_bundle(source_b) else ""
        )
        return _change("python", name, "provenance", "source", source, source_b, 0, moved_note)
    elif source != source_b:
        # One wheel's files from an index (or find-links folder) and by path: a change of provenance, not of what
        # runs, ranked with another pinned file (verify calls it info: "the same file").
        if "index" in (source, source_b) and record and record == record_b and set(tags) == set(tags_b):
            weight = _PACKAGE_WEIGHT["artifact"]
            return _change("python", name, "changed", "source", source, source_b, weight, "the same files")
        # A source with no file pinned (a local project, a git checkout: the author's lock before bundling) against a
        # capture of a wheel installed by its file (a venv ``rebuild --bundle`` made): the line said "(source)" alone,
        # whether the files installed were the same, other, or could not be compared.
        note = _wheel_in_place_of_source(x, y)
        return _change("python", name, "changed", "source", source, source_b, _PACKAGE_WEIGHT["source"], note)
    if tags != tags_b and set(tags) != set(tags_b):  # the same tags in the same order: no sets to build
        if not (tags and tags_b) and _other_file(x, y):
            # One side names no wheel (a hashed requirement pins by sha256 alone: its tags are blank, unknown), but
            # the file the other pins is none it allows: another file, not only tags one lock does not say.
            return _artifact_changed(name, artifact, artifact_b)
        if not (tags and tags_b) and (y if tags else x)[5] is None and _tags_of_its_wheel(x if tags else y):
            # One side's tags are those of the wheel it pins (``pin`` records them from its file name), the other's
            # blank and no file pinned (the import by name and version it was pinned from): they say nothing the
            # pinned file does not, which is compared.
            return _package_change(x, (*y[:3], tags, *y[4:]), imported, same_place)
        return _change(
            "python",
            name,
            "changed",
            "build",
            ", ".join(tags),
            ", ".join(tags_b),
            _PACKAGE_WEIGHT["build"],
            "wheel tag",
        )
    if artifact and artifact_b and artifact[1] != artifact_b[1] and x[10] and y[10] and x[10] != y[10]:
        # Wheels built from two sdists of one URL (another sha256): another source, whatever the wheels hold.
        old, new = f"sdist sha256:{x[10][:12]}...", f"sdist sha256:{y[10][:12]}..."
        note = "the wheel built from another sdist of that name"
        return _change("python", name, "changed", "source", old, new, _PACKAGE_WEIGHT["source"], note)
    built_twice = _built_twice(x, y)
    if built_twice and artifact is not None and artifact_b is not None:
        # One wheel's name built twice from one source (the same sdist sha256, one commit): other bytes are a build
        # that is not reproducible, a difference of build, not of source or of a file chosen (docs/cli.md). Said
        # before their RECORD digests: each bundle's lock records its own wheel's (``built_record_digest``).
        old, new = f"sha256:{artifact[1][:12]}...", f"sha256:{artifact_b[1][:12]}..."
        return _change("python", name, "changed", "build", old, new, _PACKAGE_WEIGHT["build"], built_twice)
    if (
        (artifact is None) != (artifact_b is None)
        and record
        and record_b
        and record != record_b
        and editable
        and editable_b
    ):
        # An editable install against the wheel the bundle built from it (its lock records that wheel's files): the
        # install's RECORD lists its hook, not the modules the wheel installs. Neither the same files nor other ones.
        side = "A" if artifact is None else "B"
        return _change(
            "python",
            name,
            "unknown",
            "artifact",
            artifact[0] if artifact else "",
            artifact_b[0] if artifact_b else "",
            1,
            f"{side} records no pinned file; {EDITABLE_UNCOMPARED.format(side=side)}",
        )
    if record and record_b and record != record_b and editable and editable_b:
        # An editable install's RECORD lists its hook (the ``.pth`` or finder naming the folder it reads), not its
        # modules: the project moved and installed again (``pip install -e .`` where it is now) has other files
        # there and the same code; so does a checkout of one commit (``pip install -e git+URL@COMMIT``) cloned
        # into another ``src`` folder. No drift, as verify calls it info (docs/design.md, "Research layouts").
        return _change("python", name, "provenance", "build", record[:19], record_b[:19], 0, EDITABLE_RECORD)
    if record and record_b and record != record_b:
        return _change(
            "python",
            name,
            "changed",
            "build",
            record[:19],
            record_b[:19],
            _PACKAGE_WEIGHT["build"],
            "other files (RECORD digest)",
        )
    if (artifact is None) != (artifact_b is None) and record and record == record_b:
        # Pinned in one lock only, the same files installed: a capture records no pinned file (only ``pin`` finds
        # it), so that side does not know it, as verify of the pair says identical. Another file on both sides,
        # or other files installed, still differs.
        return _change(
            "python",
            name,
            "unknown",
            "artifact",
            artifact[0] if artifact else "",
            artifact_b[0] if artifact_b else "",
            1,
            f"{'A' if artifact is None else 'B'} records no pinned file",
        )
    if (artifact is None) != (artifact_b is None) and _captured_unpinned(x, y):
        # Pinned in one lock only, which records no RECORD digest (an import's file), against a capture of the
        # wheel's name, version and tags: what the pinned file installs cannot be compared, so it is unknown.
        return _change(
            "python",
            name,
            "unknown",
            "artifact",
            artifact[0] if artifact else "",
            artifact_b[0] if artifact_b else "",
            1,
            f"{'A' if artifact is None else 'B'} records no pinned file, {'B' if artifact is None else 'A'} no "
            "RECORD digest to compare",
        )
    allowed_by = _allowed_by(x, y)
    if allowed_by:
        # Pinned in one lock only, to a file the other's hashes allow (a hashed requirement's ``--hash`` lines, one
        # file of which ``pin`` or ``bundle`` chose): the same environment with its file pinned. Another sha256 differs.
        note = ALLOWED_FILE.format(side=allowed_by)
        old, new = (artifact[0] if artifact else "(not pinned)"), (artifact_b[0] if artifact_b else "(not pinned)")
        return _change("python", name, "provenance", "artifact", old, new, 0, note)
    if (artifact is None) != (artifact_b is None) or (
        artifact is not None and artifact_b is not None and artifact[1] != artifact_b[1]
    ):
        other_sha256 = bool(artifact and artifact_b and artifact[0] == artifact_b[0])
        return _artifact_changed(name, artifact, artifact_b, "other sha256" if other_sha256 else "")
    return None


def _artifact_changed(
    name: str, artifact: tuple[str, str] | None, artifact_b: tuple[str, str] | None, note: str = ""
) -> Change:
    """Another pinned file (or one side's only): ``artifact`` and ``artifact_b`` are the rows' (file name, sha256)."""
    weight = _PACKAGE_WEIGHT["artifact"]
    return _change("python", name, "changed", "artifact", _file_named(artifact), _file_named(artifact_b), weight, note)


BUNDLE_WHEEL_INSTALLED = (
    "installed from the bundle's wheel built from that source: direct_url.json names that file, the same sha256"
)
BUNDLE_WHEEL_NAMED = (
    "installed from the bundle's wheel built from that source: envsnap_bundle.json names that file, the same sha256"
)
EDITABLE_NOT_KEPT = "the lock installs it editable, this is a regular install of that wheel: verify warns of it"
ONE_FILE_MOVED = "the same file (name and sha256) installed by path from another folder"
BUNDLE_WHEEL_UNHASHED = (
    "installed by path from a file of the bundle's wheel's name, no sha256 recorded (uv records none for a path): not "
    "known to be the bundle's wheel built from that source"
)
BUNDLE_WHEEL_UNRECORDED = (
    "installed from an index or a find-links folder, no direct_url.json: not known to be the bundle's wheel built "
    "from that source (rebuild --bundle installs it by its file)"
)


def _pinned_and_captured(x: PackageRow, y: PackageRow) -> tuple[PackageRow, PackageRow] | None:
    """The side that pins a wheel of the package's name and version and records no RECORD digest, and the side
    captured from installed files (a RECORD digest, no pinned file) whose wheel tags are that wheel's; else None."""
    pinned, captured = (x, y) if y[5] is None else (y, x)
    if pinned[5] is None or captured[5] is not None or pinned[4] or not captured[4] or x[1] != y[1]:
        return None
    if not _wheel_of(pinned[5][0], pinned[0], pinned[1]):
        return None
    from packaging.utils import parse_wheel_filename  # a pinned file against a capture only

    tags = {str(t) for t in parse_wheel_filename(pinned[5][0])[3]}
    return (pinned, captured) if tags == set(captured[3]) else None


def _bundle_wheel_installed(x: PackageRow, y: PackageRow) -> PackageRow | None:
    """The side that installed by path the very wheel the other pins: ``rebuild --bundle`` installs each wheel the
    bundle built by its file, so pip and uv write a direct_url.json naming it, and a capture records that file's
    URL and sha256. Its file name and sha256 must be the pinned wheel's, of the package's name and version. A
    capture that names the index (a wheel from an index or a find-links folder, which leaves no direct_url.json)
    is not the bundle's wheel: another wheel of that version reads the same."""
    for pinned, installed in ((x, y), (y, x)):
        if pinned[5] is None or installed[5] is not None or not installed[6] or pinned[1] != installed[1]:
            continue
        filename, sha256 = pinned[5]
        if not sha256 or installed[6] != sha256 or not installed[2].startswith("file:"):
            continue
        if not _built_from_source(pinned[2]):
            continue
        from ..fileurls import decoded_path  # a pair of a pinned wheel and an install by path only

        if decoded_path(installed[2]).rsplit("/", 1)[-1] == filename and _wheel_of(filename, pinned[0], pinned[1]):
            return installed
    return None


def _bundle_wheel_named(x: PackageRow, y: PackageRow) -> PackageRow | None:
    """The side that pins, as an index install, the very wheel the other pins as built from a git commit or a local
    project (its file name and sha256, of the package's name and version): the capture of a venv rebuilt from a
    bundle archive with no source here, whose ``envsnap_bundle.json`` names the bundle's wheel it installed (a
    ``rebuilt`` wheel with no URL). A sha256 names one file, wherever a lock says it came from."""
    for pinned, named in ((x, y), (y, x)):
        if pinned[5] is None or named[5] != pinned[5] or named[2] != "index" or pinned[1] != named[1]:
            continue
        if pinned[5][1] and _built_from_source(pinned[2]) and _wheel_of(pinned[5][0], pinned[0], pinned[1]):
            return named
    return None


def _wheel_in_place_of_source(x: PackageRow, y: PackageRow) -> str:
    """The note of a source change where one lock installs a source ``bundle`` builds from (a folder, a VCS
    checkout) with no file pinned or hashed, and the other a wheel of the package's name and version by its file
    (its sha256 recorded, no file pinned: a capture): the wheel is not known to be built from that source, and what
    the RECORD digests say of the files, never more than they say. "" for any other pair."""
    for source, wheel, (side, other) in ((x, y, "AB"), (y, x, "BA")):
        if source[5] is not None or source[6] or _source_kind(source[2]) == "index" or source[9]:
            continue
        if wheel[5] is not None or not wheel[6] or not wheel[2].startswith("file:") or source[1] != wheel[1]:
            continue
        from ..fileurls import decoded_path  # a source against a wheel by path only

        if not _wheel_of(decoded_path(wheel[2]).rsplit("/", 1)[-1], wheel[0], wheel[1]):
            continue
        known = f"{other} installs a wheel by its file in place of that source, not known to be built from it"
        known += f" ({side} pins no file)"
        if source[8]:
            # An editable install's RECORD lists its hook (the .pth naming the folder), never the modules.
            files = f"files not compared: {side} installs it editable, its RECORD lists the hook, not the modules"
        elif source[4] and wheel[4]:
            files = "the same files (RECORD digest)" if source[4] == wheel[4] else "other files (RECORD digest)"
        elif source[4] or wheel[4]:
            files = f"files not compared: {side if not source[4] else other} records no RECORD digest"
        else:
            files = "files not compared: neither lock records a RECORD digest"
        return f"{known}; {files}"
    return ""


def _bundle_wheel_unrecorded(x: PackageRow, y: PackageRow) -> bool:
    """One lock pins the wheel a bundle built from a git commit or a local project (``_built_from_source``) and
    records no RECORD digest, the other is a capture of a wheel of its name, version and tags that names the index:
    installed from a wheels folder (the bundle's, or another), which leaves no direct_url.json."""
    pair = _pinned_and_captured(x, y)
    return pair is not None and pair[1][2] == "index" and _built_from_source(pair[0][2])


def _bundle_wheel_unhashed(x: PackageRow, y: PackageRow) -> bool:
    """One lock pins the wheel a bundle built from a git commit or a local project, the other installed a file of
    that wheel's name by path with no sha256 recorded (``uv pip`` installing the bundle's ``./wheels/F.whl`` line
    records none for a path), and no RECORD digests that differ: nothing says whether it is the bundle's file."""
    for pinned, installed in ((x, y), (y, x)):
        if pinned[5] is None or installed[5] is not None or installed[6] or pinned[1] != installed[1]:
            continue
        if not installed[2].startswith("file:") or not _built_from_source(pinned[2]):
            continue
        if pinned[4] and installed[4] and pinned[4] != installed[4]:
            continue  # other installed files: a change, said as one
        from ..fileurls import decoded_path

        filename = pinned[5][0]
        if decoded_path(installed[2]).rsplit("/", 1)[-1] == filename and _wheel_of(filename, pinned[0], pinned[1]):
            return True
    return False


def _one_file_moved(x: PackageRow, y: PackageRow) -> bool:
    """Both locks install one archive by path, the same file name and sha256, from two local folders (neither a
    label, which ``_one_archive`` reads): the bytes are one file, the folder is where it lay."""
    if not x[6] or x[6] != y[6] or not (x[2].startswith("file:") and y[2].startswith("file:")):
        return False
    from ..fileurls import decoded_path  # a pair of local archives only

    return decoded_path(x[2]).rsplit("/", 1)[-1] == decoded_path(y[2]).rsplit("/", 1)[-1]


def _captured_unpinned(x: PackageRow, y: PackageRow) -> bool:
    """One lock pins a file and records no RECORD digest, the other is a capture of a wheel of that name, version
    and tags from the same source: neither can tell whether the installed files are the pinned file's."""
    return x[2] == y[2] and _pinned_and_captured(x, y) is not None


def _built_twice(x: PackageRow, y: PackageRow) -> str:
    """The note for two wheels of one file name, other sha256, that a bundle built from one source: the same sdist
    (its sha256, which ``bundle`` records) or one git commit; "" otherwise (another sdist, one side's sdist not
    recorded, a folder, whose content no lock records, or a wheel taken from an index)."""
    if x[5] is None or y[5] is None or x[5][0] != y[5][0] or x[5][1] == y[5][1] or x[2] != y[2]:
        return ""
    if x[10] and x[10] == y[10]:
        return f"the wheel built twice from the same sdist (sha256:{x[10][:12]}...): the build is not reproducible"
    if _source_kind(x[2]) == "vcs" and _built_from_source(x[2]):
        return "the wheel built twice from the same commit: the build is not reproducible"
    return ""


def _tags_of_its_wheel(row: PackageRow) -> bool:
    """The row's wheel tags are exactly those the file name of the wheel it pins gives."""
    if row[5] is None or not row[5][0].endswith(".whl"):
        return False
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename  # a pinned lock against its import only

    try:
        tags = parse_wheel_filename(row[5][0])[3]
    except InvalidWheelFilename:
        return False
    return {str(t) for t in tags} == set(row[3])


def _file_named(pinned: tuple[str, str] | None) -> str:
    """A pinned file as an entry names it: its file name, or for a hashed requirement's one file, which an import
    names by its sha256 alone, that (a blank name would read as a field the import leaves out, unknown)."""
    if pinned is None:
        return "(not pinned)"
    return pinned[0] or f"sha256:{pinned[1][:12]}..."


def _other_file(x: PackageRow, y: PackageRow) -> bool:
    """Both locks name the package's file by sha256 (a pinned file, or the files a hashed requirement allows) and the
    file one pins is none the other names."""
    for one, other in ((x, y), (y, x)):
        if one[5] is not None and one[5][1]:
            if other[5] is not None and other[5][1] and other[5][1] != one[5][1]:
                return True
            if other[5] is None and other[9] and one[5][1] not in other[9]:
                return True
    return False


ALLOWED_FILE = "one of the files {side}'s hashes allow: the same environment with its file pinned"


def _allowed_by(x: PackageRow, y: PackageRow) -> str:
    """Which lock, "A" or "B", pins no file of the package but lists the sha256 of each file it allows (an import
    of a hashed requirement with several ``--hash`` lines), where the other lock pins one of them; "" otherwise."""
    if x[5] is None and y[5] is not None and y[5][1] in x[9]:
        return "A"
    if y[5] is None and x[5] is not None and x[5][1] in y[9]:
        return "B"
    return ""


EDITABLE_RECORD = (
    "other RECORD digest of an editable install: it lists the hook naming the folder the code is read from, not the "
    "modules; verify calls it info"
)
EDITABLE_UNCOMPARED = (
    "files not compared: {side} installs it editable, its RECORD lists the hook naming the folder, not the modules "
    "the other's wheel installs"
)
EDITABLE_CHECKOUT = (
    "one editable git checkout: a lock captured before envsnap read its commit names its folder in the "
    "environment's src; verify calls it the same install"
)
_PREFIX_SRC = "editable file://{prefix}/src/"  # where pip clones ``pip install -e git+URL@COMMIT#egg=NAME`` to


def _one_checkout(name: str, source: str, source_b: str) -> bool:
    """One lock names an editable install by its folder in the environment's ``src/NAME`` (``file://{prefix}/src/
    NAME``, the folder ``direct_url.json`` names), the other by the git checkout that folder is: ``git+URL@COMMIT``
    with the folder's place in it (``#subdirectory=DIR``, the folder ``src/NAME/DIR``). Both editable (the caller
    knows). pip names the clone's folder by the canonical name of ``#egg=``: another folder is another source."""
    folder, checkout = (source, source_b) if source.startswith(_PREFIX_SRC) else (source_b, source)
    if not folder.startswith(_PREFIX_SRC) or not checkout.startswith("git+"):
        return False
    sub = checkout.partition("#subdirectory=")[2]
    clone = folder[len(_PREFIX_SRC) :].rstrip("/")
    if sub:
        clone, slash, tail = clone.partition("/")
        if not slash or tail != sub.strip("/"):
            return False
    if not clone or "/" in clone:
        return False
    from packaging.utils import canonicalize_name  # an editable checkout against its folder only

    return canonicalize_name(clone) == canonicalize_name(name)


def _one_file(x: PackageRow, y: PackageRow) -> bool:
    """One lock names the file by URL (an archive source with its sha256), the other pins an index package to that
    very file (its name and sha256): what an explicit file's ``# pip NAME @ URL#sha256=HEX`` line spells as one line
    for both (conda-lock writes every pip package so), and its import reads as the pinned file. Said of a pair only
    when a lock of it was imported: two captures record how pip was asked, and a change of it is reported."""
    if "index" not in (x[2], y[2]):
        return False
    index, archive = (x, y) if x[2] == "index" else (y, x)
    pinned, sha256 = index[5], archive[6]
    if pinned is None or not sha256 or pinned[1] != sha256:
        return False
    from urllib.parse import unquote  # a pair that names one file: not on a captured pair's path

    return unquote(archive[2].rsplit("/", 1)[-1]) == pinned[0] and (archive[5] is None or archive[5][1] == sha256)


def _source_kind(source: str) -> str:
    """What ``source_text`` names: the index, a VCS checkout, or a folder or archive by its URL (two spellings of one
    folder, a capture's absolute path and an import's ``{project}`` label, are one kind)."""
    if source == "index":
        return source
    return "vcs" if source.startswith(("git+", "hg+", "bzr+", "svn+")) else "url"


def _one_archive(x: PackageRow, y: PackageRow) -> bool:
    """Both locks install the same archive by path, its folder named by a label in one of them: the same sha256 and
    file name at ``file:///lab/x.tar.gz`` and ``file://{project}/x.tar.gz``. Outside any git work tree a capture
    records the absolute URL, an import the file under ``{project}`` when it lies in the folder of the lock it
    writes (``importers.interface.import_root``): diff cannot resolve a label (it names another folder on each
    machine), and the sha256 says the bytes are the same."""
    if not x[6] or x[6] != y[6] or not _labelled_pair(x[2], y[2]):
        return False
    from ..fileurls import decoded_path  # a pair of local archives only

    return decoded_path(x[2]).rsplit("/", 1)[-1] == decoded_path(y[2]).rsplit("/", 1)[-1]


def _one_spelling(source: str, source_b: str) -> bool:
    """Two source texts of one local place, a ``file:`` URL's path percent-encoded otherwise or with the host
    ``localhost``: pip's direct_url.json keeps ``file:///lab/rés%20earch/labgit`` where pip-compile writes
    ``git+file:/lab/r%C3%A9s%20earch/labgit``, the import ``file:///lab/r%C3%A9s%20earch/labgit``. Another kind,
    commit or folder is another text once decoded."""
    from urllib.parse import unquote

    def decoded(text: str) -> str | None:
        prefix = "editable " if text.startswith("editable ") else ""
        body = text.removeprefix(prefix)
        vcs, plus, rest = body.partition("+")
        if plus and rest.startswith("file:") and not vcs.startswith("file:"):  # git+file:///x@COMMIT
            prefix, body = f"{prefix}{vcs}+", rest
        if not body.startswith("file:"):
            return None
        if body.startswith("file://localhost/"):
            body = "file:///" + body.removeprefix("file://localhost/")
        return prefix + unquote(body)

    a, b = decoded(source), decoded(source_b)
    return a is not None and a == b


def _labelled_pair(a: str, b: str) -> bool:
    """Two local URLs, at least one of them under a label (``{project}``, ``~``): one place, perhaps, spelled two
    ways (``_one_archive``, ``_SamePlace``)."""
    from ..fileurls import is_file_url, is_labelled

    return is_file_url(a) and is_file_url(b) and (is_labelled(a) or is_labelled(b))


def conda_packages(old: Iterable[CondaPackage], new: Iterable[CondaPackage]) -> list[Change]:
    a = {p.name: p for p in old}
    b = {p.name: p for p in new}
    out = [
        Change("conda", n, "removed", "removed", a[n].version, "", _PACKAGE_WEIGHT["removed"] - 5)
        for n in sorted(set(a) - set(b))
    ]
    out += [
        Change("conda", n, "added", "added", "", b[n].version, _PACKAGE_WEIGHT["added"] - 5)
        for n in sorted(set(b) - set(a))
    ]
    for name in sorted(set(a) & set(b)):
        x, y = a[name], b[name]
        if x.version != y.version:
            kind, direction = version_change(x.version, y.version)
            out.append(
                Change("conda", name, "changed", kind, x.version, y.version, _PACKAGE_WEIGHT[kind] - 5, direction)
            )
        elif x.build != y.build:
            out.append(
                Change(
                    "conda",
                    name,
                    "changed",
                    "build",
                    f"{x.version}={x.build}",
                    f"{y.version}={y.build}",
                    _PACKAGE_WEIGHT["build"],
                )
            )
        elif hashes := [
            h for h in ("sha256", "md5") if getattr(x, h) and getattr(y, h) != getattr(x, h) and getattr(y, h)
        ]:
            # Another archive of that version and build (a rebuilt package, a mirror's copy): the hash both record,
            # named, where it read "2.1.0=py_0 -> 2.1.0=py_0". An md5 alone (an explicit file's) decides too.
            h = hashes[0]
            was, now = f"{h} {getattr(x, h)}", f"{h} {getattr(y, h)}"
            out.append(Change("conda", name, "changed", "build", was, now, _PACKAGE_WEIGHT["build"]))
        elif x.channel != y.channel:
            out.append(Change("conda", name, "changed", "source", x.channel, y.channel, _PACKAGE_WEIGHT["source"]))
    return out


def _system(a: Snapshot, b: Snapshot) -> list[Change]:
    out: list[Change] = []
    libs_a = {lib.soname: lib for lib in a.system.libraries}
    libs_b = {lib.soname: lib for lib in b.system.libraries}
    for soname in sorted(set(libs_a) ^ set(libs_b)):
        gone = soname in libs_a
        package = (libs_a if gone else libs_b)[soname].package  # the system package that owns it, "" where none
        out.append(
            Change(
                "system",
                soname,
                "removed" if gone else "added",
                "library",
                soname if gone else "",
                "" if gone else soname,
                35,
                f"package {package}" if package else "",
            )
        )
    pa = {(p.name, p.arch): p for p in a.system.packages}
    pb = {(p.name, p.arch): p for p in b.system.packages}
    for key in sorted(set(pa) | set(pb)):
        x, y = pa.get(key), pb.get(key)
        needed = bool((x and x.needed_by) or (y and y.needed_by))
        weight = 34 if needed else 8
        name = key[0] + (f":{key[1]}" if key[1] else "")
        out += _value("system", name, x.version if x else "", y.version if y else "", weight, "version")
    return out


def _hardware(a: Snapshot, b: Snapshot) -> list[Change]:
    x, y = a.hardware, b.hardware
    out = _value("hardware", "CPU", x.cpu.model, y.cpu.model, 6)
    lost = sorted(set(x.cpu.flags) - set(y.cpu.flags))
    if lost:
        out.append(
            Change(
                "hardware",
                "CPU flags",
                "removed",
                "value",
                " ".join(lost),
                "",
                65,
                "instruction sets no longer available",
            )
        )
    return out
