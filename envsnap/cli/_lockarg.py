"""A LOCK argument that may name a bundle (a folder, or an archive ``envsnap bundle`` wrote): the lock it holds,
read only after the bundle passed ``open_bundle``'s checks. ``export``, ``check``, ``verify``, ``show`` and ``diff`` (A
and B) read it here, ``rebuild`` in ``envsnap.rebuild`` (the bundle is its ``--bundle`` too); the other commands keep
the loader's "an envsnap bundle, not a lock" (``_not_a_lock.py``)."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from collections.abc import Callable

    from ..artifacts.bundle import Bundle
    from ..model import Snapshot


def load_lock_or_bundle(path: str, read: Callable[[Bundle], None] | None = None) -> tuple[Snapshot, bool]:
    """The lock at ``path``, or the lock inside the bundle ``path`` names (what a paper's supplement ships), and
    whether it came from a bundle. A folder is always read as a bundle (no lock is a folder); a file is one when
    the lock loader refuses it as one (an archive's name and gzip or tar data), so a lock named ``x.tar`` stays a
    lock. A bundle is checked in full against its SHA256SUMS (an archive unpacked within its limits, plain files
    only) before its lock is read; whatever fails is one line naming the bundle, never the copy it was unpacked to.
    ``read``: called with a bundle once it is checked, while an archive's unpacked copy is still there.
    """
    from .. import lockfile
    from ..errors import BundleNotALockError, NotALockfileError

    if not os.path.isdir(path):
        try:
            return lockfile.load(path), False
        except BundleNotALockError as exc:
            path = exc.origin
        except NotALockfileError as exc:
            from ..artifacts.bundle import refuse_broken_archive

            refuse_broken_archive(path, exc)  # a file named as an archive, neither one nor a lock: as audit says
            raise
    return _bundled_lock(path, read), True


def _bundled_lock(path: str, read: Callable[[Bundle], None] | None = None) -> Snapshot:
    import tempfile
    from pathlib import Path

    from .. import _leftovers
    from ..artifacts.bundle import open_bundle

    # Held as envsnap's: an archive's copy a killed run left (as large as what it holds) is one the next run that
    # works there, and `envsnap clean`, remove.
    with _leftovers.held_dir(Path(tempfile.gettempdir()), "bundle") as tmp:
        bundle = open_bundle(path, tmp)  # its errors name an archive's member, not this copy
        if read is not None:
            read(bundle)
        return bundle.lock
