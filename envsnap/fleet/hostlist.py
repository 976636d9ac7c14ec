"""Slurm's hostlist notation, written: ``["n01", "n02", "n03", "gpu7"]`` -> ``"gpu7,n[01-03]"``.

Reading a hostlist is Slurm's own job (``scontrol show hostnames``, in ``slurm.py``); writing one is only for
display, where a group of identical nodes takes one row of the matrix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A number of more digits is written as it is, not in a range: no Slurm node is numbered so, and Python turns at
# most 4,300 digits into a number (a longer run, in an untrusted FLEET.toml's node name, raised ValueError).
_NUMBERED = re.compile(r"^(.*?)(?<!\d)(\d{1,18})$")
_RUNS = re.compile(r"(\d+)")


def node_order(name: str) -> tuple[tuple[int, int, str, str], ...]:
    """A node name's place in a list of nodes: its runs of digits by their number, the rest by its text
    (``node2`` before ``node10``, ``gpu-b9`` before ``gpu-b10``), as Slurm and an operator count them; the plain
    text order put ``node10`` first on any cluster of ten nodes or more. A run of digits is compared by its length
    and text without its leading zeros, the number's order without making it one: a name from a FLEET.toml, which
    is untrusted, may hold more digits than Python turns into a number (4,300)."""
    return tuple(_part_order(part) for part in _RUNS.split(name) if part)


def _part_order(part: str) -> tuple[int, int, str, str]:
    if not part.isdigit():
        return (1, 0, "", part)
    significant = part.lstrip("0")
    return (0, len(significant), significant, part)


def ordered(names: Iterable[str]) -> list[str]:
    """``names`` in ``node_order``."""
    return sorted(names, key=node_order)


def compress(names: Iterable[str]) -> str:
    """The names in hostlist notation: numbered names of one prefix (and one zero-padded width) as ranges."""
    plain: set[str] = set()
    numbered: list[tuple[str, str]] = []
    for name in names:
        m = _NUMBERED.match(name)
        if m is None:
            plain.add(name)
        else:
            numbered.append((m.group(1), m.group(2)))
    # The zero-padded widths of each prefix: a number as long as one of them, without a leading zero (n10 beside
    # n09), is of that padded range too (n[09-10]).
    padded = {(prefix, len(digits)) for prefix, digits in numbered if digits.startswith("0") and len(digits) > 1}
    groups: dict[tuple[str, int], set[int]] = {}
    for prefix, digits in numbered:
        width = len(digits) if (prefix, len(digits)) in padded else 0
        groups.setdefault((prefix, width), set()).add(int(digits))
    parts = sorted(plain)
    for (prefix, width), numbers in sorted(groups.items()):
        ranges = _ranges(sorted(numbers))
        text = ",".join(f"{a:0{width}d}" if a == b else f"{a:0{width}d}-{b:0{width}d}" for a, b in ranges)
        parts.append(f"{prefix}{text}" if len(numbers) == 1 else f"{prefix}[{text}]")
    return ",".join(parts)


def _ranges(numbers: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in numbers:
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out
