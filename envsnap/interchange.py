"""Conventions the exporters and the importers share (the files one writes, the other reads back).

Core, so that neither family imports the other: the default package index a lock's artifacts are assumed to
come from, and upload times as the interchange formats spell them (ISO 8601, UTC, ``Z``).
"""

from __future__ import annotations

from datetime import datetime, timezone

PYPI_SIMPLE = "https://pypi.org/simple"


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 upload time (``Z`` or an offset) as an aware UTC datetime; None when absent/unreadable."""
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc)


def format_time(stamp: datetime) -> str:
    """``2024-05-01T12:00:00Z``: an aware datetime in UTC, as pylock and the lock write upload times."""
    return stamp.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
