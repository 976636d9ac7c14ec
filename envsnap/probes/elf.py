"""Read the dynamic section of an ELF file: DT_NEEDED, DT_RPATH and DT_RUNPATH, in pure Python, and the
architectures of the CUDA kernels it carries (``fatbin``).

Only the ELF header, the program headers and the dynamic segment are read, so a 500 MB CUDA library costs
a few kilobytes of I/O; for the kernels, the section names and the fat binaries' headers.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from typing import BinaryIO

from .._frozen import frozen
from . import fatbin

_PT_LOAD = 1
_PT_DYNAMIC = 2
_DT_NULL = 0
_DT_NEEDED = 1
_DT_STRTAB = 5
_DT_RPATH = 15
_DT_RUNPATH = 29
# The CUDA runtime's and driver's libraries: a file that links either may carry kernels (``fatbin.parse_kernels``).
_CUDA_LIBRARIES = ("libcudart.so", "libcuda.so")


@frozen
class DynamicInfo:
    needed: tuple[str, ...]
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    machine: int  # e_machine: 62 x86-64, 183 aarch64, 3 i386, 40 arm, 21 ppc64, 243 riscv
    bits: int
    kernels: tuple[str, ...] = ()  # the CUDA kernels' architectures (sm_80, compute_90), read with a budget
    kernels_cut: bool = False  # a limit stopped the kernels' reading with headers left: ``kernels`` may lack some
    ptx_isa: str = ""  # the newest PTX ISA version of its PTX kernels, "8.8"


class NotELF(ValueError):
    pass


# The program header table is read with the ELF header when it lies in the file's first block (it always does in
# what linkers write), else in one read when it is no larger than this, else entry by entry.
_HEAD = 4096
_TABLE_MAX = 1 << 16


def read_dynamic(path: str, budget: fatbin.Budget | None = None) -> DynamicInfo:
    """The file's dynamic section; with ``budget``, and while it lasts, the architectures of its CUDA kernels too
    (each kernel header read is taken from it; once it is spent, a file with a fat binary is told cut short)."""
    # Unbuffered: each read below is one system call of the bytes asked for (a buffered file filled 8 KiB for each
    # of the five or so reads of a library, and asked whether the file is a terminal).
    with open(path, "rb", buffering=0) as fh:
        info = parse_dynamic(fh)
        return info if budget is None else _with_kernels(fh.fileno(), info, budget)


def read_kernels(path: str, budget: fatbin.Budget | None = None) -> tuple[tuple[str, ...], bool]:
    """The kernels' architectures of the ELF file at ``path`` (``sm_80``, ``compute_90``), sorted, and whether the
    reading stopped at a limit before the last header (the list may lack some), read as a capture reads them (the
    cubins kept in the read-only data of a file that links the CUDA runtime or driver included); ((), False) for a
    file that is not ELF, carries no kernel, or cannot be read."""
    try:
        # Non-blocking: a FIFO named like a shared object does not hold the read (regular files ignore the flag).
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return (), False
    try:
        with open(fd, "rb", buffering=0, closefd=False) as fh:
            info = _with_kernels(fd, parse_dynamic(fh), budget if budget is not None else fatbin.Budget())
    except (OSError, NotELF):
        return (), False
    finally:
        os.close(fd)
    return info.kernels, info.kernels_cut


def _with_kernels(fd: int, info: DynamicInfo, budget: fatbin.Budget) -> DynamicInfo:
    """``info`` with the kernels of the open file ``fd``, read while ``budget`` lasts (what is read is taken off)."""
    found, read, cut, isa = fatbin.parse_kernels(
        lambda offset, n: os.pread(fd, n, offset),
        os.fstat(fd).st_size,
        max(0, min(budget.left, fatbin.MAX_ENTRIES)),
        cuda=any(name.startswith(_CUDA_LIBRARIES) for name in info.needed),
        budget=budget,
    )
    budget.left -= read
    if not found and not cut:
        return info
    kernels = fatbin.sort_arches(found)
    return dataclasses.replace(info, kernels=kernels, kernels_cut=cut, ptx_isa=fatbin.isa_text(isa))


def _read(fh: BinaryIO, size: int) -> bytes:
    """``size`` bytes from the current position, fewer only at the end of the file (an unbuffered read may return
    fewer: it is read again, as a buffered file does)."""
    data = fh.read(size) or b""
    if len(data) >= size or not data:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = fh.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def parse_dynamic(fh: BinaryIO) -> DynamicInfo:
    head = _read(fh, _HEAD)
    ident = head[:16]
    if len(ident) < 16 or ident[:4] != b"\x7fELF":
        raise NotELF("not an ELF file")
    bits = {1: 32, 2: 64}.get(ident[4])
    endian = {1: "<", 2: ">"}.get(ident[5])
    if bits is None or endian is None:
        raise NotELF("unknown ELF class or byte order")
    if bits == 64:
        hdr = struct.Struct(endian + "HHIQQQIHHHHHH")
        ph = struct.Struct(endian + "IIQQQQQQ")
        dyn = struct.Struct(endian + "qQ")
    else:
        hdr = struct.Struct(endian + "HHIIIIIHHHHHH")
        ph = struct.Struct(endian + "IIIIIIII")
        dyn = struct.Struct(endian + "iI")
    raw = head[16 : 16 + hdr.size]
    if len(raw) < hdr.size:
        raise NotELF("truncated ELF header")
    (_type, machine, _ver, _entry, phoff, _shoff, _flags, _ehsize, phentsize, phnum, *_rest) = hdr.unpack(raw)
    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    dynamic: tuple[int, int] | None = None
    # The table's bytes, entry i at i * phentsize: the bytes the entry-by-entry reads would give.
    span = (phnum - 1) * phentsize + ph.size if phnum else 0
    table: bytes | None = None
    if phoff + span <= len(head):
        table = head[phoff : phoff + span]
    elif span <= _TABLE_MAX:
        fh.seek(phoff)
        table = _read(fh, span)
    for i in range(phnum):
        if table is not None:
            entry = table[i * phentsize : i * phentsize + ph.size]
        else:
            fh.seek(phoff + i * phentsize)
            entry = _read(fh, ph.size)
        if len(entry) < ph.size:
            break
        fields = ph.unpack(entry)
        if bits == 64:
            p_type, _pflags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _align = fields
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _pflags, _align = fields
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return DynamicInfo((), (), (), machine, bits)  # statically linked
    fh.seek(dynamic[0])
    blob = _read(fh, dynamic[1])
    tags: list[tuple[int, int]] = []
    for off in range(0, len(blob) - dyn.size + 1, dyn.size):
        tag, val = dyn.unpack_from(blob, off)
        if tag == _DT_NULL:
            break
        tags.append((tag, val))
    strtab_addr = next((v for t, v in tags if t == _DT_STRTAB), None)
    if strtab_addr is None:
        return DynamicInfo((), (), (), machine, bits)
    strtab = _vaddr_to_offset(strtab_addr, loads)

    def string(offset: int) -> str:
        fh.seek(strtab + offset)
        chunk = _read(fh, 4096)
        return chunk.split(b"\0", 1)[0].decode("utf-8", "replace")

    needed = tuple(string(v) for t, v in tags if t == _DT_NEEDED)
    rpath = tuple(p for t, v in tags if t == _DT_RPATH for p in string(v).split(":") if p)
    runpath = tuple(p for t, v in tags if t == _DT_RUNPATH for p in string(v).split(":") if p)
    return DynamicInfo(needed, rpath, runpath, machine, bits)


def _vaddr_to_offset(addr: int, loads: list[tuple[int, int, int]]) -> int:
    for vaddr, offset, filesz in loads:
        if vaddr <= addr < vaddr + filesz:
            return addr - vaddr + offset
    return addr  # prelinked or odd files: the address is the offset
