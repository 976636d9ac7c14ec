"""The GPU architectures of the CUDA kernels an ELF file carries, in pure Python: the SM architecture of each
cubin and the virtual architecture of each PTX in its fat binaries (the ``.nv_fatbin`` section, and
``__nv_relfatbin``, which relocatable device code keeps).

Only the ELF header, the section header table, the section names and the fat binaries' headers are read (one
small read each), never a kernel: a file without such a section costs three (its header, the section header of
the section names, the names). The file is untrusted: every
size and offset is checked against the file's size and the section's bounds before it is used, and a file stops
being read at ``MAX_ENTRIES`` kernel headers, an environment at its ``Budget``; a file whose reading stopped there
is told as cut short (``cut``), so that its list is not taken for the whole (cuBLAS 12.9's libcublasLt has 8,984
headers, and its ``sm_103`` and ``sm_121`` cubins come after the first 4,096). So is a file whose list cannot be
known whole: a malformed fat binary (what was read before the fault is given, and the rest of its section may hold
the GPU's cubin), or large-model data sections beside the fat binary section, where more may sit unnamed, unless
every fat binary the file registers with the CUDA runtime is found (``_registered``).
Entries NVIDIA compresses (flags ``0x2000``, ``0x8000``) have the same header: no payload is read.

A fat binary (NVIDIA's container, as nvcc writes it) is a 16-byte header (magic ``0xBA55ED50``, version, header
size, size of what follows) and its entries, each a header (kind: 1 PTX, 2 cubin; header size; payload size;
the PTX ISA version of a PTX entry at bytes 24 and 26, its minor and major, e.g. 8.8; the architecture at byte 28,
e.g. 90; flags at byte 40, architecture-specific ``a`` and family-specific ``f``)
followed by its payload. A section holds fat binaries one after another.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

Reader = Callable[[int, int], bytes]  # (offset, size) -> the bytes there, fewer at the end of the file

_FATBIN_MAGIC = 0xBA55ED50
_SECTIONS = frozenset({b".nv_fatbin", b"__nv_relfatbin"})
# x86-64's large-model data sections: a library linked with ``-mcmodel=large`` may keep fat binaries there, which no
# section header names (cuFFT 11.4's ``.nv_fatbin`` holds one sm_52 cubin, its 24,454 others sit in ``.ldata``).
_LARGE_DATA = (b".ldata", b".lrodata")
_PADDING = 8  # fat binaries in a section start 8-byte aligned: zeros between two are padding, not a fault
_SHT_NOBITS = 8
_PTX, _CUBIN = 1, 2
_ARCH_SPECIFIC, _FAMILY_SPECIFIC = 0x100000, 0x200000  # the entry's flags: sm_90a, compute_100f
_HEADER = struct.Struct("<IHHQ")  # magic, version, header size, size of the entries
# kind, version, header size, payload size, the PTX ISA's minor and major (a PTX entry's), arch, name offset/len, flags
_ENTRY = struct.Struct("<HHIQ8xHHIIIQ")
_ENTRY_HEADER_MAX = 4096  # nvcc writes 64 to 112 bytes
_TABLE_MAX = 1 << 20  # the section header table and the section names: more is no file a linker wrote
MAX_ENTRIES = 1 << 16  # headers (of containers and kernels) read in one file: libcublasLt 12.9 has 8,984
MAX_ARCH = 1000  # sm_1000 is no architecture: a larger number is a malformed header


class Budget:
    """The kernel headers left to read in one capture (``MAX_ENVIRONMENT``): past it, files are not read."""

    MAX_ENVIRONMENT = 1 << 19  # 58 libcublasLt: some 2 s of reads at 4 us a header cached, 13 s at 25 us from disk

    def __init__(self, entries: int = MAX_ENVIRONMENT) -> None:
        self.left = entries


def read_kernels(path: str, budget: Budget | None = None) -> tuple[tuple[str, ...], bool]:
    """The kernels' architectures of the ELF file at ``path`` (``sm_80``, ``compute_90``), sorted, and whether the
    reading stopped at a limit before the last header (the list may lack some); ((), False) for a file that is not
    ELF, carries no fat binary, or cannot be read."""
    try:
        # Non-blocking: a FIFO named like a shared object does not hold the read (regular files ignore the flag).
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return (), False
    try:
        size = os.fstat(fd).st_size
        found, read, cut, _ = parse_kernels(lambda offset, n: os.pread(fd, n, offset), size, _limit(budget))
    except OSError:
        return (), False
    finally:
        os.close(fd)
    if budget is not None:
        budget.left -= read
    return sort_arches(found), cut


def _limit(budget: Budget | None) -> int:
    return MAX_ENTRIES if budget is None else max(0, min(MAX_ENTRIES, budget.left))


def is_arch(text: object) -> bool:
    """What ``read_kernels`` gives: ``sm_`` or ``compute_``, a number below ``MAX_ARCH``, ``a`` or ``f`` or none
    (a capture cache's value is checked by it)."""
    if not isinstance(text, str):
        return False
    kind, _, rest = text.partition("_")
    digits = rest[:-1] if rest[-1:] in ("a", "f") else rest
    return kind in ("sm", "compute") and digits.isascii() and digits.isdigit() and 0 < int(digits) < MAX_ARCH


def sort_arches(arches: set[str] | frozenset[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Cubins first, then PTX, each by architecture number (``sm_80``, ``sm_90a``, ``compute_90``)."""

    def key(arch: str) -> tuple[int, int, str]:
        kind, _, rest = arch.partition("_")
        digits = rest.rstrip("af")
        return (kind != "sm", int(digits) if digits.isdigit() else 0, arch)

    return tuple(sorted(set(arches), key=key))


Isa = tuple[int, int]  # a PTX ISA version, (8, 8); (0, 0) for none


def isa_text(isa: Isa) -> str:
    """``8.8``; "" for none."""
    return f"{isa[0]}.{isa[1]}" if isa != (0, 0) else ""


def parse_kernels(
    pread: Reader, size: int, limit: int = MAX_ENTRIES, head: bytes = b""
) -> tuple[set[str], int, bool, Isa]:
    """The architectures of the fat binaries of an ELF file of ``size`` bytes, read through ``pread(offset, n)``,
    how many kernel headers were read (at most ``limit``), and whether the limit stopped the reading with headers
    left (a ``limit`` of 0 reads the section names alone: cut where a fat binary section holds any). ``head``: the
    file's first bytes, where the caller read them already. Last, the newest PTX ISA version of its PTX entries."""

    def at(offset: int, n: int) -> bytes:
        if offset < 0 or n <= 0 or offset + n > size:
            return b""
        if offset + n <= len(head):
            return head[offset : offset + n]
        data = pread(offset, n)
        return data if len(data) == n else b""

    ident = at(0, 64)
    if ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        return set(), 0, False, (0, 0)
    endian = "<" if ident[5] == 1 else ">"
    if ident[4] == 2:
        (shoff,) = struct.unpack_from(endian + "Q", ident, 40)
        shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", ident, 58)
        section = struct.Struct(endian + "IIQQQQ")  # name, type, flags, addr, offset, size
    else:
        (shoff,) = struct.unpack_from(endian + "I", ident, 32)
        shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", ident, 46)
        section = struct.Struct(endian + "IIIIII")
    if not shoff or not shnum or shentsize < section.size or shstrndx >= shnum or shnum * shentsize > _TABLE_MAX:
        return set(), 0, False, (0, 0)  # no sections (or extended numbering, which only huge object files use)
    # The section names first: a file that names no fat binary section (nearly every one) costs two reads more.
    strtab = at(shoff + shstrndx * shentsize, section.size)
    if not strtab:
        return set(), 0, False, (0, 0)
    names_at, names_size = section.unpack(strtab)[4:]
    names = at(names_at, names_size) if names_size <= _TABLE_MAX else b""
    if not any(b"\0" + name + b"\0" in b"\0" + names for name in _SECTIONS):
        return set(), 0, False, (0, 0)
    table = at(shoff, shnum * shentsize)
    if not table:
        return set(), 0, False, (0, 0)
    found: set[str] = set()
    isa = [0, 0]
    count = 0
    unnamed = any(b"\0" + name + b"\0" in b"\0" + names for name in _LARGE_DATA)
    sections: list[_Section] = []
    for i in range(shnum):
        name_at, kind, _flags, addr, offset, length = section.unpack_from(table, i * shentsize)
        name = names[name_at : names.find(b"\0", name_at)] if name_at < len(names) else b""
        length = max(0, min(length, size - offset))  # a section past the end of a truncated file: what is there
        if kind != _SHT_NOBITS:
            sections.append((name, addr, offset, length))
        if kind == _SHT_NOBITS or name not in _SECTIONS:
            continue
        read, cut = _walk(at, offset, offset + length, found, isa, limit - count)
        count += read
        if cut:
            return found, count, True, (isa[0], isa[1])
    if unnamed and found:
        # Large-model data sections may hold fat binaries no section names: those the file registers say where.
        read, whole = _registered(
            at, sections, endian + ("IIQQ" if ident[4] == 2 else "IIII"), found, isa, limit - count
        )
        count += read
        unnamed = not whole
    return found, count, unnamed and bool(found), (isa[0], isa[1])


_Section = tuple[bytes, int, int, int]  # name, address, file offset, size (of a section with contents)
_SEGMENT = b".nvFatBinSegment"
_WRAPPER_MAGIC = 0x466243B1


def _registered(
    read: Reader, sections: list[_Section], wrapper: str, found: set[str], isa: list[int], limit: int
) -> tuple[int, bool]:
    """Read the fat binaries the file registers with the CUDA runtime that lie outside its fat binary sections, and
    whether every one it registers was found and read: nvcc's host code keeps one wrapper per fat binary in
    ``.nvFatBinSegment`` (magic ``0x466243B1``, version, the fat binary's address, a pointer), which the runtime
    hands to the driver, so a library whose wrappers all point into ``.nv_fatbin`` keeps its kernels there, large
    data sections or not (cuBLAS 13's libcublasLt: 2,782 wrappers, every one in its ``.nv_fatbin``). A file with no
    such section (cuFFT loads the fat binaries in its ``.ldata`` itself), an address of no section (a linker may
    leave it to a relocation) or a fat binary that cannot be read whole: not whole. The kernel headers read come
    first."""
    shape = struct.Struct(wrapper)
    segment = next((s for s in sections if s[0] == _SEGMENT), None)
    if segment is None or not segment[3] or segment[3] > MAX_ENTRIES * shape.size or segment[3] % shape.size:
        return 0, False
    raw = read(segment[2], segment[3])
    if not raw:
        return 0, False
    count = 0
    seen: set[int] = set()
    for magic, _version, address, _other in shape.iter_unpack(raw):
        if magic != _WRAPPER_MAGIC:
            return count, False
        home = next((s for s in sections if s[1] and s[1] <= address < s[1] + s[3]), None)
        if home is None:
            return count, False
        if home[0] in _SECTIONS or address in seen:
            continue  # read with its section, or already
        seen.add(address)
        pos = home[2] + address - home[1]
        head = read(pos, _HEADER.size)
        if len(head) < _HEADER.size:
            return count, False
        magic, _v, header_size, fat_size = _HEADER.unpack(head)
        stop = pos + header_size + fat_size
        if magic != _FATBIN_MAGIC or header_size < _HEADER.size or stop > home[2] + home[3]:
            return count, False
        got, cut = _walk(read, pos, stop, found, isa, limit - count)
        count += got
        if cut:
            return count, False
    return count, True


def _walk(read: Reader, pos: int, end: int, found: set[str], isa: list[int], limit: int) -> tuple[int, bool]:
    """Read the fat binaries between ``pos`` and ``end`` into ``found``, the newest PTX ISA version into ``isa``; the
    kernel headers read, and whether the reading stopped with some of the section unread: at the limit with a
    header left, or at a fault (a fat binary that cannot be read whole: the rest may hold any kernel)."""
    count = 0
    while pos + _HEADER.size <= end:
        if count >= limit:
            return count, True
        head = read(pos, _HEADER.size)
        if len(head) < _HEADER.size:
            return count, True  # the file ends inside its section
        if not any(head[:_PADDING]):
            count += 1  # padding is read as a header is: a section of zeros is read no further than the limit
            pos += _PADDING
            continue
        magic, _version, header_size, fat_size = _HEADER.unpack(head)
        stop = pos + header_size + fat_size
        if magic != _FATBIN_MAGIC or header_size < _HEADER.size or stop > end:
            return count, True
        count += 1  # a container's header counts too: a section of empty ones is read no further than the limit
        entry = pos + header_size
        while entry + _ENTRY.size <= stop:
            if count >= limit:
                return count, True
            raw = read(entry, _ENTRY.size)
            if len(raw) < _ENTRY.size:
                return count, True
            kind, _v, entry_size, payload, minor, major, arch, _name_at, _name_len, flags = _ENTRY.unpack(raw)
            if entry_size < _ENTRY.size or entry_size > _ENTRY_HEADER_MAX or entry + entry_size + payload > stop:
                return count, True
            count += 1
            if kind in (_PTX, _CUBIN) and 0 < arch < MAX_ARCH:
                suffix = "a" if flags & _ARCH_SPECIFIC else "f" if flags & _FAMILY_SPECIFIC else ""
                found.add(f"{'compute' if kind == _PTX else 'sm'}_{arch}{suffix}")
            if kind == _PTX and 0 < major < 100 and minor < 100 and [major, minor] > isa:
                isa[:] = [major, minor]
            entry += entry_size + payload
        pos = stop
    return count, False
