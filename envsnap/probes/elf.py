"""Read the dynamic section of an ELF file: DT_NEEDED, DT_RPATH and DT_RUNPATH, in pure Python.

Only the ELF header, the program headers and the dynamic segment are read, so a 500 MB CUDA library costs
a few kilobytes of I/O.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

_PT_LOAD = 1
_PT_DYNAMIC = 2
_DT_NULL = 0
_DT_NEEDED = 1
_DT_STRTAB = 5
_DT_RPATH = 15
_DT_RUNPATH = 29


@dataclass(frozen=True)
class DynamicInfo:
    needed: tuple[str, ...]
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    machine: int  # e_machine: 62 x86-64, 183 aarch64, 3 i386, 40 arm, 21 ppc64, 243 riscv
    bits: int


class NotELF(ValueError):
    pass


def read_dynamic(path: str) -> DynamicInfo:
    with open(path, "rb") as fh:
        return parse_dynamic(fh)


def parse_dynamic(fh: BinaryIO) -> DynamicInfo:
    ident = fh.read(16)
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
    raw = fh.read(hdr.size)
    if len(raw) < hdr.size:
        raise NotELF("truncated ELF header")
    (_type, machine, _ver, _entry, phoff, _shoff, _flags, _ehsize, phentsize, phnum, *_rest) = hdr.unpack(raw)
    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    dynamic: tuple[int, int] | None = None
    for i in range(phnum):
        fh.seek(phoff + i * phentsize)
        entry = fh.read(ph.size)
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
    blob = fh.read(dynamic[1])
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
        chunk = fh.read(4096)
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
