"""The GPU architectures of the CUDA kernels an ELF file carries, in pure Python: the SM architecture of each
cubin and the virtual architecture of each PTX in its fat binaries (the ``.nv_fatbin`` section, and
``__nv_relfatbin``, which relocatable device code keeps; where a file names neither, as where a linker script put
them into ``.rodata``, wherever the wrappers nvcc registers them with, in ``.nvFatBinSegment``, point).

Only the ELF header, the section header table, the section names and the fat binaries' headers are read (one
small read each), never a kernel: a file without such a section costs three (its header, the section header of
the section names, the names). The file is untrusted: every
size and offset is checked against the file's size and the section's bounds before it is used, and a file stops
being read at ``MAX_ENTRIES`` kernel headers, an environment at its ``Budget``; a file whose reading stopped there
is told as cut short (``cut``), so that its list is not taken for the whole (cuBLAS 12.9's libcublasLt has 8,984
headers, and its ``sm_103`` and ``sm_121`` cubins come after the first 4,096). So is a file whose list cannot be
known whole: a malformed fat binary (what was read before the fault is given, and the rest of its section may hold
the GPU's cubin), large-model data sections beside the fat binary section, where more may sit unnamed (unless
every fat binary the file registers is found), a wrapper that cannot be followed to a fat binary, or a file whose
section header table cannot be read that names a fat binary section or links the CUDA runtime or driver.
Entries NVIDIA compresses (flags ``0x2000``, ``0x8000``) have the same header: no payload is read.
A file that links the CUDA runtime or driver, or carries fat binaries, has its read-only data (``.rodata``) looked
through too, at most ``Budget.MAX_RODATA`` bytes a capture, whatever a file holds (a file whose read-only data was
not all looked through is told cut), for cubins kept whole as arrays and loaded with ``cuModuleLoadData``
(TensorRT-LLM's): the ELF header of each (e_machine EM_CUDA) names its SM in e_flags, and its ``a`` up to CUDA 12.9;
CUDA 13's ``a`` is in the cubin's ``.nv.compat``, an ``f`` only in the ptxas options its ``.note.nv.tkinfo`` keeps.

A fat binary (NVIDIA's container, as nvcc writes it) is a 16-byte header (magic ``0xBA55ED50``, version, header
size, size of what follows) and its entries, each a header (kind: 1 PTX, 2 cubin; header size; payload size;
the PTX ISA version of a PTX entry at bytes 24 and 26, its minor and major, e.g. 8.8; the architecture at byte 28,
e.g. 90; flags at byte 40, architecture-specific ``a`` and family-specific ``f``)
followed by its payload. A section holds fat binaries one after another.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable

Reader = Callable[[int, int], bytes]  # (offset, size) -> the bytes there, fewer at the end of the file

_FATBIN_MAGIC = 0xBA55ED50
_SECTIONS = frozenset({b".nv_fatbin", b"__nv_relfatbin"})
# nvcc's wrappers of the fat binaries it registers (``__fatBinC_Wrapper_t``: magic, version, the fat binary's address,
# another address), read where no section above is named.
_WRAPPERS = b".nvFatBinSegment"
_WRAPPER_MAGIC = 0x466243B1
_SHF_ALLOC = 2
# lld leaves each wrapper's address 0 and writes it as the addend of a relative relocation (``.rela.dyn``), which the
# loader adds the load address to: the addend is the file's address. ELF64 RELA entries (offset, info, addend) of the
# machines NVIDIA's CUDA runs on, by ``e_machine``: x86-64's R_X86_64_RELATIVE, AArch64's R_AARCH64_RELATIVE.
_SHT_RELA = 4
_RELATIVE = {62: 8, 183: 1027}
_RELA_MAX = 1 << 24  # bytes of relocations read (699,050 entries): more leaves the list partial, as before
_RELA_CHUNK = 1 << 20
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
    """The kernel headers left to read in one capture (``MAX_ENVIRONMENT``), and the bytes of read-only data left to
    look through for cubins (``MAX_RODATA``): past either, what a file holds there is not read, and it is partial."""

    MAX_ENVIRONMENT = 1 << 19  # 58 libcublasLt: some 2 s of reads at 4 us a header cached, 13 s at 25 us from disk
    # torch 2.14's CUDA 13 stack has some 300 MiB of .rodata in its libraries (libcublasLt 54 MiB, cuDNN's 46 MiB),
    # some 200 MiB of it in libraries looked through; looked through at about 1 ms a MiB from the page cache. No
    # limit a file: one of 64 MiB left the rest of a larger library unread, and it partial, however much was left.
    MAX_RODATA = 1 << 30

    def __init__(self, entries: int = MAX_ENVIRONMENT) -> None:
        self.left = entries
        self.rodata = self.MAX_RODATA

    @property
    def spent(self) -> bool:
        """Whether either part is spent: a file cut short now may be read whole by a capture with a fresh budget."""
        return self.left <= 0 or self.rodata <= 0


def is_arch(text: object) -> bool:
    """What ``elf.read_kernels`` gives: ``sm_`` or ``compute_``, a number below ``MAX_ARCH``, ``a`` or ``f`` or none
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
    pread: Reader,
    size: int,
    limit: int = MAX_ENTRIES,
    head: bytes = b"",
    cuda: bool = False,
    budget: Budget | None = None,
) -> tuple[set[str], int, bool, Isa]:
    """The architectures of the fat binaries of an ELF file of ``size`` bytes, read through ``pread(offset, n)``,
    how many kernel headers were read (at most ``limit``), and whether the limit stopped the reading with headers
    left (a ``limit`` of 0 reads the section names alone: cut where a fat binary section holds any). ``head``: the
    file's first bytes, where the caller read them already. Last, the newest PTX ISA version of its PTX entries.
    ``cuda``: the file links the CUDA runtime or driver (``libcudart.so``, ``libcuda.so`` among its needed
    libraries): one whose section header table cannot be read (stripped of it, cut off) may hold kernels that
    cannot be looked for, and is told read in part. ``budget``: the capture's, whose bytes of read-only data the
    look for cubins kept there takes from (its headers are the caller's to take: ``limit``)."""
    unread: tuple[set[str], int, bool, Isa] = set(), 0, cuda, (0, 0)

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
        return unread  # no sections (or extended numbering, which only huge object files use)
    # The section names first: a file that names no fat binary section (nearly every one) costs two reads more.
    strtab = at(shoff + shstrndx * shentsize, section.size)
    if not strtab:
        return unread
    names_at, names_size = section.unpack(strtab)[4:]
    names = at(names_at, names_size) if names_size <= _TABLE_MAX else b""
    if not names:
        return unread
    named = any(b"\0" + name + b"\0" in b"\0" + names for name in _SECTIONS)
    wrapped = b"\0" + _WRAPPERS + b"\0" in b"\0" + names
    if not named and not wrapped and not cuda:
        return set(), 0, False, (0, 0)
    table = at(shoff, shnum * shentsize)
    if not table:
        return set(), 0, True, (0, 0)  # it names GPU code that its section headers do not let be read (cut off)
    found: set[str] = set()
    sections = [section.unpack_from(table, i * shentsize) for i in range(shnum)]
    # Cubins kept whole in its read-only data, loaded with cuModuleLoadData (TensorRT-LLM's): no fat binary names them.
    embedded, embedded_cut = _embedded(at, sections, names, size, found, limit, budget)
    if not named and not wrapped:
        return found, embedded, embedded_cut, (0, 0)
    found_rest, count_rest, cut_rest, isa_rest = _fat_binaries(
        at, sections, names, named, ident, endian, size, limit - embedded
    )
    found |= found_rest
    return found, embedded + count_rest, embedded_cut or cut_rest, isa_rest


def _fat_binaries(
    at: Reader,
    sections: list[tuple[int, ...]],
    names: bytes,
    named: bool,
    ident: bytes,
    endian: str,
    size: int,
    limit: int,
) -> tuple[set[str], int, bool, Isa]:
    """The kernels of the file's fat binaries: in the sections named for them, or where its wrappers point."""
    found: set[str] = set()
    isa = [0, 0]
    wrapper = struct.Struct(endian + ("IIQQ" if ident[4] == 2 else "IIII"))
    # A 64-bit file of a machine whose relative relocations are known; 32-bit files keep the addend in place (REL).
    machine = struct.unpack_from(endian + "H", ident, 18)[0] if ident[4] == 2 else 0
    relocations = _Relocations(at, sections, endian, _RELATIVE[machine]) if machine in _RELATIVE else None
    if not named:
        count, cut = _wrapped(at, sections, names, wrapper, size, found, isa, limit, relocations=relocations)
        return found, count, cut, (isa[0], isa[1])
    count = 0
    walked: list[tuple[int, int]] = []
    for name_at, kind, _flags, _addr, offset, length in sections:
        if kind == _SHT_NOBITS or name_at >= len(names) or names[name_at : names.find(b"\0", name_at)] not in _SECTIONS:
            continue
        length = max(0, min(length, size - offset))  # a section past the end of a truncated file: what is there
        walked.append((offset, offset + length))
        read, cut = _walk(at, offset, offset + length, found, isa, limit - count)
        count += read
        if cut:
            return found, count, True, (isa[0], isa[1])
    if found and any(b"\0" + name + b"\0" in b"\0" + names for name in _LARGE_DATA):
        # Large-model data sections may hold fat binaries no section names: the wrappers of those the file registers
        # say where (every one in the sections read: the list is whole, as cuBLAS's and cuDNN's are).
        read, cut = _wrapped(at, sections, names, wrapper, size, found, isa, limit - count, walked, relocations)
        return found, count + read, cut, (isa[0], isa[1])
    return found, count, False, (isa[0], isa[1])


# Read-only data where a library keeps cubins as arrays (``.rodata``, ``.rodata.*``, ``.lrodata``): looked through,
# in chunks, for CUDA ELF headers, while ``Budget.MAX_RODATA`` bytes a capture last.
_RODATA = (b".rodata", b".lrodata")
_EMBEDDED_CHUNK = 1 << 20
_ELF_MAGIC = b"\x7fELF"
_EM_CUDA = 190
_CUDA_ABI_V2 = 8  # e_ident[EI_ABIVERSION] from Blackwell on: the SM in e_flags' bits 8-15, not its low byte


def _embedded(
    read: Reader,
    sections: list[tuple[int, ...]],
    names: bytes,
    size: int,
    found: set[str],
    limit: int,
    budget: Budget | None = None,
) -> tuple[int, bool]:
    """Add to ``found`` the SM architecture of every cubin whose ELF header lies in the file's read-only data (a
    C array ``cuModuleLoadData`` loads): ELF magic, e_machine 190 (EM_CUDA), the SM in e_flags as cuobjdump reads it
    (ABI version 8: bits 8-15, ``a`` where bit 0x8 is set, or where its sections say so, ``_cubin_suffix``; before:
    the low byte, ``a`` where 0x800 is). Each ELF magic found, a cubin's or not, counts as a kernel header read (at
    most ``limit``); the bytes looked through are taken from ``budget`` (a fresh one's ``MAX_RODATA`` without it).
    The magics read, and whether the reading stopped with read-only data left unread (a limit on the headers, on the
    bytes, or a read that failed): the rest may hold any cubin."""
    most = Budget.MAX_RODATA if budget is None else max(0, budget.rodata)
    count, stopped, spent = _look_through(read, sections, names, size, found, limit, most)
    if budget is not None:
        budget.rodata -= spent
    return count, stopped


def _look_through(
    read: Reader, sections: list[tuple[int, ...]], names: bytes, size: int, found: set[str], limit: int, most: int
) -> tuple[int, bool, int]:
    """``_embedded``'s reading of at most ``most`` bytes: the headers found, whether data was left, the bytes read."""
    count = 0
    left = most
    for name_at, kind, _flags, _addr, offset, length in sections:
        name = names[name_at : names.find(b"\0", name_at)] if name_at < len(names) else b""
        if kind == _SHT_NOBITS or not (name in _RODATA or name.startswith(b".rodata.")):
            continue
        end = min(offset + length, size)
        pos = offset
        while pos < end:
            if left <= 0:
                return count, True, most
            n = min(_EMBEDDED_CHUNK, end - pos, left)
            # A header that starts in this chunk is read whole: 64 bytes more than the chunk.
            chunk = read(pos, min(n + 64, end - pos))
            if not chunk:
                return count, True, most - left
            left -= n
            at = chunk.find(_ELF_MAGIC)
            while 0 <= at < n:
                # Each magic is read as a header is, a cubin or not: data of magics alone is read no further than
                # the limit (NVIDIA's libraries hold at most 136 that name no cubin; each costs some 0.7 us).
                if count >= limit:
                    return count, True, most - left
                count += 1
                arch = _cubin_arch(chunk[at : at + 64], read, pos + at, end)
                if arch:
                    found.add(arch)
                at = chunk.find(_ELF_MAGIC, at + 1)
            pos += n
    return count, False, most - left


def _cubin_arch(head: bytes, read: Reader | None = None, start: int = 0, end: int = 0) -> str:
    """``sm_90a`` for the ELF header of a cubin (e_machine EM_CUDA), "" for any other bytes. ``read``: the file, in
    which the cubin starts at ``start`` and lies before ``end``: its ``a`` or ``f`` is looked for in its sections where
    e_flags do not tell it (CUDA 13's ptxas writes the same e_flags for sm_100, sm_100a and sm_100f)."""
    if len(head) < 52 or head[4] not in (1, 2) or head[5] not in (1, 2):
        return ""
    order = "<" if head[5] == 1 else ">"
    (machine,) = struct.unpack_from(order + "H", head, 18)
    if machine != _EM_CUDA:
        return ""
    if head[4] == 2 and len(head) < 64:
        return ""
    (flags,) = struct.unpack_from(order + "I", head, 48 if head[4] == 2 else 36)
    if head[8] >= _CUDA_ABI_V2:
        sm, specific = (flags >> 8) & 0xFF, flags & 0x8
    else:
        sm, specific = flags & 0xFF, flags & 0x800
    if not 0 < sm < MAX_ARCH:
        return ""
    suffix = "a" if specific else ""
    if not suffix and head[8] >= _CUDA_ABI_V2 and read is not None:
        suffix = _cubin_suffix(head, order, read, start, end, sm)
    return f"sm_{sm}{suffix}"


_CUBIN_TABLE_MAX = 1 << 16  # a cubin's section header table and its section names, at most: ptxas writes some 2 KiB
_CUBIN_NOTE_MAX = 1 << 12  # its .nv.compat and .note.nv.tkinfo: some 40 and 170 bytes
_COMPAT, _TKINFO = b".nv.compat", b".note.nv.tkinfo"
_COMPAT_ARCH_SPECIFIC = 9  # .nv.compat's attribute that CUDA 13's ptxas sets to 1 for sm_90a, sm_100a, sm_120a


def _cubin_suffix(head: bytes, order: str, read: Reader, start: int, end: int, sm: int) -> str:
    """The ``a`` or ``f`` of an ABI 8 cubin whose e_flags do not say ``a``: ``a`` where its ``.nv.compat`` sets
    attribute 9 (CUDA 13), ``f`` where the options its ``.note.nv.tkinfo`` records name ``sm_<sm>f`` (which nothing
    else in the cubin tells from a plain ``sm_<sm>``); "" where neither does, or its sections cannot be read inside
    ``start`` to ``end`` (every offset is the cubin's own, checked against its bounds)."""
    wide = head[4] == 2
    if wide:
        (shoff,) = struct.unpack_from(order + "Q", head, 40)
        shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", head, 58)
        section = struct.Struct(order + "IIQQQQ")
    else:
        (shoff,) = struct.unpack_from(order + "I", head, 32)
        shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", head, 46)
        section = struct.Struct(order + "IIIIII")

    def inside(offset: int, n: int, most: int) -> bytes:
        if n <= 0 or n > most or offset < 0 or start + offset + n > end:
            return b""
        data = read(start + offset, n)
        return data if len(data) == n else b""

    if shentsize < section.size or shstrndx >= shnum:
        return ""
    table = inside(shoff, shnum * shentsize, _CUBIN_TABLE_MAX)
    if not table:
        return ""
    sections = [section.unpack_from(table, i * shentsize) for i in range(shnum)]
    names = inside(sections[shstrndx][4], sections[shstrndx][5], _CUBIN_TABLE_MAX)
    found: dict[bytes, bytes] = {}
    for name_at, kind, _flags, _addr, offset, length in sections:
        name = names[name_at : names.find(b"\0", name_at)] if name_at < len(names) else b""
        if name in (_COMPAT, _TKINFO) and kind != _SHT_NOBITS:
            found[name] = inside(offset, length, _CUBIN_NOTE_MAX)
    if _compat_value(found.get(_COMPAT, b""), _COMPAT_ARCH_SPECIFIC, order) == 1:
        return "a"
    options = found.get(_TKINFO, b"").replace(b"\0", b" ").replace(b"=", b" ").split()
    for suffix in ("a", "f"):
        if f"sm_{sm}{suffix}".encode() in options:
            return suffix
    return ""


def _compat_value(data: bytes, attribute: int, order: str) -> int | None:
    """The value of ``attribute`` in a cubin's ``.nv.compat``: records of a format byte and an attribute byte, then
    a byte (format 2) or a half word (3) of value, or (4) a half word of size and that many bytes; None where absent."""
    pos = 0
    while pos + 4 <= len(data):
        form, attr = data[pos], data[pos + 1]
        if form == 4:
            (n,) = struct.unpack_from(order + "H", data, pos + 2)
            pos += 4 + n
            continue
        if form not in (1, 2, 3):
            return None
        if attr == attribute and form != 1:
            return data[pos + 2] if form == 2 else int(struct.unpack_from(order + "H", data, pos + 2)[0])
        pos += 4
    return None


def _wrapped(
    read: Reader,
    sections: list[tuple[int, ...]],
    names: bytes,
    wrapper: struct.Struct,
    size: int,
    found: set[str],
    isa: list[int],
    limit: int,
    walked: list[tuple[int, int]] | None = None,
    relocations: _Relocations | None = None,
) -> tuple[int, bool]:
    """Read the fat binaries the wrappers of ``.nvFatBinSegment`` point to (nvcc registers each fat binary with one:
    its magic, version, the fat binary's address, and another address), where no section is named for them (a linker
    script that puts ``.nv_fatbin`` into ``.rodata``): each address is found in the section that holds it, and the
    one fat binary there read, as ``_walk`` reads a section. The kernel headers read, and whether the list may lack
    some: a limit, a wrapper whose address the file does not hold (a linker that leaves it to the loader's
    relocation, as lld does, where ``relocations`` does not give it) or that points at no fat binary inside a
    section; a file without wrappers (cuFFT loads
    the fat binaries in its ``.ldata`` itself). ``walked``: the file's ranges already read as fat binary sections,
    whose wrappers are passed over (a library with large data sections beside its ``.nv_fatbin``: cuBLAS 13's
    libcublasLt registers 2,782 fat binaries, every one in its ``.nv_fatbin``)."""
    segment = next(
        (s for s in sections if names[s[0] : names.find(b"\0", s[0])] == _WRAPPERS and s[1] != _SHT_NOBITS), None
    )
    if segment is None:
        return 0, True  # named and holding nothing: the wrappers are not in the file
    offset, length = segment[4], min(segment[5], _TABLE_MAX, max(0, size - segment[4]))
    raw = read(offset, length - length % wrapper.size) if length >= wrapper.size else b""
    cut = len(raw) < segment[5] - segment[5] % wrapper.size
    count = 0
    seen: set[int] = set()
    loaded = _loaded(sections, size)
    for at in range(0, len(raw), wrapper.size):
        if count >= limit:
            return count, True
        count += 1  # a wrapper is read as a header is: a segment of them is read no further than the limit
        magic, _version, address, _other = wrapper.unpack_from(raw, at)
        if magic != _WRAPPER_MAGIC:
            cut = cut or any(raw[at : at + wrapper.size])  # zeros: padding
            continue
        if not address and relocations is not None:
            address = relocations.addend(segment[3] + at + 8)  # the address follows the magic and the version
        where = _in_file(loaded, address)
        if where is None:
            cut = True
            continue
        start, end = where
        if start in seen or any(low <= start < high for low, high in walked or ()):
            continue
        seen.add(start)
        head = read(start, _HEADER.size)
        if len(head) < _HEADER.size or _HEADER.unpack(head)[0] != _FATBIN_MAGIC:
            cut = True
            continue
        _magic, _v, header_size, fat_size = _HEADER.unpack(head)
        read_now, stopped = _walk(read, start, min(end, start + header_size + fat_size), found, isa, limit - count)
        count += read_now
        if stopped:
            return count, True
    return count, cut


class _Relocations:
    """The addends of the file's relative relocations (``.rela.dyn``), by the address they are written to: read on
    the first question (only a wrapper whose address the linker left to one asks), at most ``_RELA_MAX`` bytes."""

    def __init__(self, read: Reader, sections: list[tuple[int, ...]], endian: str, relative: int) -> None:
        self.read, self.sections, self.endian, self.relative = read, sections, endian, relative
        self.found: dict[int, int] | None = None

    def addend(self, address: int) -> int:
        """The address a relative relocation writes at ``address``; 0 where none does (or they were not read)."""
        if self.found is None:
            self.found = self._read()
        return self.found.get(address, 0)

    def _read(self) -> dict[int, int]:
        entry = struct.Struct(self.endian + "QQq")  # offset, info (symbol << 32 | type), addend
        out: dict[int, int] = {}
        left = _RELA_MAX
        for _name, kind, _flags, _addr, offset, length in self.sections:
            if kind != _SHT_RELA:
                continue
            length = min(length - length % entry.size, left)
            left -= length
            for start in range(offset, offset + length, _RELA_CHUNK):
                raw = self.read(start, min(_RELA_CHUNK, offset + length - start))
                for where, info, value in entry.iter_unpack(raw[: len(raw) - len(raw) % entry.size]):
                    if info & 0xFFFFFFFF == self.relative and value > 0:
                        out[where] = value
        return out


def _loaded(sections: list[tuple[int, ...]], size: int) -> list[tuple[int, int, int, int]]:
    """The sections of the file that are loaded (allocated, not NOBITS) and lie in it: (address, address past the
    end, offset, offset past the end in the file), by address, to find the one that holds an address by bisection
    (a file of 16,384 sections and 43,690 wrappers is looked through once, not once a wrapper)."""
    out = []
    for _name, kind, flags, start, offset, length in sections:
        if flags & _SHF_ALLOC and kind != _SHT_NOBITS and length and offset < size:
            out.append((start, start + length, offset, offset + min(length, size - offset)))
    return sorted(out)


def _in_file(loaded: list[tuple[int, int, int, int]], address: int) -> tuple[int, int] | None:
    """Where ``address`` is in the file: its offset in the loaded section that holds it, and the section's end in
    the file; None for 0 (an address the file does not hold) or one outside them (or past the file's end)."""
    at = bisect.bisect_right(loaded, (address, 2**64)) - 1
    if not address or at < 0:
        return None
    start, stop, offset, end = loaded[at]
    inside = start <= address < stop and offset + address - start < end
    return (offset + address - start, end) if inside else None


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
