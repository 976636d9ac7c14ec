"""Plain data written with ``marshal`` behind a CRC-32: the form of envsnap's fastest cache entries.

``marshal`` loads an order of magnitude faster than JSON, but it is not meant for bytes anyone else wrote, and not
for damaged ones either: reading a file cut short or changed on disk, it can take a count for a list of a billion
items and spend minutes and terabytes of address space on it. An entry is the user's own file in a private folder
(docs/security.md), so the only failure left is damage, and the checksum is checked before ``marshal`` reads a
byte. Only ``zlib`` and ``marshal`` are imported (a capture memo's answer loads this, and nothing else may cost it
start-up).
"""

from __future__ import annotations

import marshal
import os

TYPE_CHECKING = False  # not typing's: a memo answer does not load typing
if TYPE_CHECKING:
    from typing import Any


def seal(value: Any) -> bytes:
    """The bytes of ``value`` (plain data ``marshal`` writes): its CRC-32, then ``marshal``'s bytes."""
    import zlib

    blob = marshal.dumps(value)
    return zlib.crc32(blob).to_bytes(4, "big") + blob


def read_private(path: str | os.PathLike[str], max_bytes: int) -> Any:
    """What ``seal`` wrote to the cache entry ``path``, or None: the file is missing or unreadable, not this user's
    own and private (``_defaults.owned_privately``: an entry planted by another user is never read), larger than
    ``max_bytes``, or damaged."""
    from ._defaults import owned_privately

    try:
        with open(path, "rb") as fh:
            if not owned_privately(os.fstat(fh.fileno())):
                return None
            raw = fh.read(max_bytes + 1)
    except OSError:
        return None
    return unseal(raw) if len(raw) <= max_bytes else None


def unseal(raw: bytes) -> Any:
    """What ``seal`` wrote, or None: a checksum that does not match, or bytes ``marshal`` refuses."""
    import zlib

    if len(raw) < 4 or zlib.crc32(raw[4:]) != int.from_bytes(raw[:4], "big"):
        return None
    try:
        return marshal.loads(raw[4:])
    except (ValueError, EOFError, TypeError, MemoryError):
        return None
