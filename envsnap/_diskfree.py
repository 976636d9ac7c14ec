"""Free disk space where a path is or will be: the disk rule's measure (``compat.target``) and the check an
installer begun ahead of a rebuild makes (``_installahead``). Standard library only: the second runs before
envsnap's own start-up."""

from __future__ import annotations

import os
import shutil


def free_mib(path: str) -> int | None:
    """Free space for an unprivileged user at ``path`` (or its nearest existing parent); None if unknown."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            return None
        probe = parent
    try:
        return shutil.disk_usage(probe).free // (1024 * 1024)
    except OSError:
        return None
