"""The images envsnap's docker rebuild built, by the ids the engine gave them, recorded in this user's private cache
folder (``$XDG_CACHE_HOME/envsnap/images``: one empty file per image id, 0600 in a 0700 folder).

What ``envsnap clean --images`` removes as "built by envsnap", and the image a rebuild removes when its tag moves, is
an image recorded here: an image id is the digest of its configuration (its labels and history among it), so no
other image has it. The labels envsnap's Dockerfile sets (``org.envsnap.lock.content-digest``) and its last step's
text are not enough: anyone who builds an image can write both. A folder another user owns or may write is not used
(``_defaults.private_cache_dir``): its files could vouch for a stranger's image. A record never fails a rebuild: one
that cannot be written leaves the image unclaimed (kept by a clean, and said so)."""

from __future__ import annotations

import contextlib
import os
import re
import stat

from .._defaults import owned_privately, private_cache_dir

IMAGES_CACHE = "images"

_IMAGE_ID = re.compile(r"sha256:([0-9a-f]{64})")


def _entry(image_id: str) -> str:
    """The file name of ``image_id`` (``sha256:HEX``, as the engine gives a full id); "" for anything else."""
    m = _IMAGE_ID.fullmatch(image_id)
    return f"sha256-{m.group(1)}" if m else ""


def record(image_id: str) -> None:
    """Note that envsnap's build made ``image_id`` (a full ``sha256:`` id); nothing where it cannot be noted."""
    name = _entry(image_id)
    folder = private_cache_dir(IMAGES_CACHE, create=True) if name else None
    if folder is None:
        return
    with contextlib.suppress(OSError):
        os.close(os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))


def recorded(image_id: str) -> bool:
    """Whether envsnap's build recorded making ``image_id``: a plain file of this user's that nobody else may write,
    in a folder of the same kind."""
    name = _entry(image_id)
    folder = private_cache_dir(IMAGES_CACHE, create=False) if name else None
    if folder is None:
        return False
    try:
        info = os.lstat(folder / name)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and owned_privately(info)


def forget(image_id: str) -> None:
    """Drop the record of an image envsnap removed (its id names no image any more)."""
    name = _entry(image_id)
    folder = private_cache_dir(IMAGES_CACHE, create=False) if name else None
    if folder is not None:
        with contextlib.suppress(OSError):
            os.unlink(folder / name)
