"""A real CUDA extension for the kernel tests: ``fixtures/cuda_kernel.cu`` built by nvcc into a shared object whose
fat binary carries an ``sm_80`` cubin and ``compute_90`` PTX (built once per test run)."""

from __future__ import annotations

import atexit
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_NVCC_AT = "/usr/local/cuda/bin/nvcc"
_built: dict[tuple[str, ...], Path] = {}


def nvcc() -> str | None:
    found = shutil.which("nvcc")
    return found or (_NVCC_AT if os.access(_NVCC_AT, os.X_OK) else None)


requires_nvcc = pytest.mark.skipif(nvcc() is None, reason="nvcc (the CUDA toolkit) is needed to build a CUDA kernel")

SM80_COMPUTE90 = ("-gencode", "arch=compute_80,code=sm_80", "-gencode", "arch=compute_90,code=compute_90")


def cuda_extension(gencode: tuple[str, ...] = SM80_COMPUTE90) -> Path:
    """The shared object nvcc builds from ``fixtures/cuda_kernel.cu`` with ``gencode``."""
    if gencode not in _built:
        folder = Path(tempfile.mkdtemp(prefix="envsnap-cuda-"))
        atexit.register(shutil.rmtree, folder, True)
        out = folder / "libkernel.so"
        compiler = nvcc()
        assert compiler is not None
        subprocess.run(
            [compiler, "-shared", "-Xcompiler", "-fPIC", *gencode, "-o", str(out), str(FIXTURES / "cuda_kernel.cu")],
            check=True,
            capture_output=True,
            timeout=300,
        )
        _built[gencode] = out
    return _built[gencode]


def fatbins_in_rodata() -> tuple[str, ...]:
    """nvcc's options that link the fat binaries into ``.rodata``, with a linker script that is GNU ld's own for a
    shared object but for ``*(.nv_fatbin) *(__nv_relfatbin)`` in its ``.rodata`` (as a project's own linker script
    may): no section is named for them, and the ``.nvFatBinSegment`` wrappers nvcc registers them with point there."""
    key = ("rodata-script",)
    if key not in _built:
        script = subprocess.run(["ld", "-shared", "--verbose"], check=True, capture_output=True, text=True, timeout=60)
        body = script.stdout.split("=" * 50)[1].split("\n", 1)[1].rsplit("\n", 1)[0]
        rodata = "*(.rodata .rodata.* .gnu.linkonce.r.*)"
        assert rodata in body, "GNU ld's default script names .rodata otherwise"
        folder = Path(tempfile.mkdtemp(prefix="envsnap-ld-"))
        atexit.register(shutil.rmtree, folder, True)
        (folder / "rodata.ld").write_text(body.replace(rodata, f"{rodata} *(.nv_fatbin) *(__nv_relfatbin)", 1))
        _built[key] = folder / "rodata.ld"
    return ("-Xlinker", f"-T,{_built[key]}")


COMPRESSED = 0x2000  # an entry's flag: its payload is compressed, as NVIDIA's own libraries ship them
_FATBIN_ENTRY = struct.Struct("<HHIQIIHHIIIQQQ")  # kind, version, header size, payload size, ..., arch, ..., flags


def fatbin_library(
    path: Path,
    containers: list[list[tuple[int, int]]],
    flags: int = COMPRESSED | 0x11,
    ptx_isa: tuple[int, int] = (8, 8),
    padding: int = 0,
    large_data: bool = False,
    registered: str = "",
    elf32: bool = False,
    section_name: bytes = b".nv_fatbin",
    machine: int = 62,
) -> Path:
    """An ELF shared object written by hand whose ``.nv_fatbin`` section holds ``containers``, fat binaries of entries
    ``(kind, arch)`` (1 PTX of ISA ``ptx_isa``, 2 cubin) with an 8-byte payload each: the header counts of NVIDIA's
    libraries (libcublasLt 12.9 has 8,984), with their compressed flags, without nvcc or a download. ``padding``:
    zero bytes after each fat binary; ``large_data``: an ``.ldata`` section beside it, as ``-mcmodel=large`` links.
    ``registered``: a ``.nvFatBinSegment`` of one wrapper per fat binary at its address, as nvcc's host code registers
    them: "fatbin" (every one in ``.nv_fatbin``), "ldata" (the last fat binary kept in ``.ldata`` instead), "zero"
    (the last wrapper's address left 0, to a relocation), "rela" (that one, and a ``.rela.dyn`` section whose
    ``R_X86_64_RELATIVE`` relocation, ``R_AARCH64_RELATIVE`` for ``machine`` 183, gives its address as its addend,
    as lld links it), "rela-symbol" (a relocation to a symbol there instead, ``R_X86_64_64``). ``elf32``: a 32-bit
    ELF file (i386), its wrappers of 32-bit addresses; ``section_name``: the fat binaries' section's name
    (``.rodata``, as a linker script that puts ``.nv_fatbin`` there names it); ``machine``: the ELF header's
    ``e_machine`` (62 x86-64, 183 AArch64). Each section's address is its file offset."""
    blobs = []
    for entries in containers:
        body = b"".join(
            _FATBIN_ENTRY.pack(
                kind, 0x101, 64, 8, 8, 0, *(ptx_isa[::-1] if kind == 1 else (7, 1)), arch, 0, 0, flags, 0, 16
            )
            + b"\x28\xb5\x2f\xfd\0\0\0\0"
            for kind, arch in entries
        )
        blobs.append(struct.pack("<IHHQ", 0xBA55ED50, 1, 16, len(body)) + body + bytes(padding))
    moved = blobs[-1:] if registered == "ldata" else []
    kept = blobs[: len(blobs) - len(moved)]
    fat_at = 64
    ldata_at = fat_at + sum(map(len, kept))
    ldata = b"".join(moved) or b"\x11" * 16  # data no section header names as a fat binary
    segment_at = ldata_at + (len(ldata) if large_data or moved else 0)
    addresses, at = [], fat_at
    for blob in kept:
        addresses.append(at)
        at += len(blob)
    addresses += [ldata_at] * len(moved)
    relocated = addresses[-1]
    if registered in ("zero", "rela", "rela-symbol"):
        addresses[-1] = 0
    wrapper = "<IIII" if elf32 else "<IIQQ"  # magic, version, the fat binary's address, another address
    segment = b"".join(struct.pack(wrapper, 0x466243B1, 1, address, 0) for address in addresses) if registered else b""
    contents = [(section_name, 1, 2, fat_at, b"".join(kept))]
    if large_data or moved:
        contents.append((b".ldata", 1, 3, ldata_at, ldata))
    if registered:
        contents.append((b".nvFatBinSegment", 1, 3, segment_at, segment))
    rela = b""
    if registered in ("rela", "rela-symbol"):
        slot = segment_at + len(segment) - struct.calcsize(wrapper) + 8  # the last wrapper's address field
        kind = (1027 if machine == 183 else 8) if registered == "rela" else (1 << 32) | 1  # RELATIVE, or a symbol's
        rela = struct.pack("<QQq", slot, kind, relocated)
        contents.append((b".rela.dyn", 4, 2, segment_at + len(segment), rela))
    names_at = segment_at + len(segment) + len(rela)
    names = b"\0"
    named = {}
    for name in [c[0] for c in contents] + [b".shstrtab"]:
        named[name] = len(names)
        names += name + b"\0"
    table_at = (names_at + len(names) + 7) & ~7
    count = len(contents) + 2
    shstrndx = len(contents) + 1
    if elf32:  # its 52-byte header padded to the 64 bytes the sections start after
        header = b"\x7fELF\x01\x01\x01" + bytes(9)
        header += struct.pack("<HHIIIIIHHHHHH", 3, 3, 1, 0, 0, table_at, 0, 52, 32, 0, 40, count, shstrndx)
        header += bytes(64 - len(header))
        section = struct.Struct("<IIIIIIIIII")
    else:
        header = b"\x7fELF\x02\x01\x01" + bytes(9)
        header += struct.pack("<HHIQQQIHHHHHH", 3, machine, 1, 0, 0, table_at, 0, 64, 56, 0, 64, count, shstrndx)
        section = struct.Struct("<IIQQQQIIQQ")
    table = bytes(section.size)
    for name, kind, sflags, offset, data in contents:
        table += section.pack(named[name], kind, sflags, offset, offset, len(data), 0, 0, 8, 0)
    table += section.pack(named[b".shstrtab"], 3, 0, 0, names_at, len(names), 0, 0, 1, 0)
    body = b"".join(data for *_, data in contents)
    path.write_bytes(header + body + names + bytes(table_at - names_at - len(names)) + table)
    return path


def cubin_header(flags: int, abi: int = 7, machine: int = 190) -> bytes:
    """The 64-byte ELF header of a cubin, as nvcc writes one: ELF64, little-endian, OS ABI 0x33 (CUDA), ABI version
    ``abi`` (7: the SM in e_flags' low byte, 8: in bits 8-15, since Blackwell), e_machine 190 (EM_CUDA), ``flags``."""
    ident = b"\x7fELF\x02\x01\x01\x33" + bytes([abi]) + bytes(7)
    return ident + struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, 0, 64, 0, flags, 64, 56, 0, 64, 0, 0)


def embedded_cubins_library(path: Path, images: list[bytes], cuda: bool = True, pad: int = 0) -> Path:
    """A shared object gcc builds whose ``.rodata`` holds ``images`` as C arrays (each followed by 64 zero bytes),
    loaded with ``cuModuleLoadData`` as TensorRT-LLM loads its cubins; it links a stub ``libcuda.so.1`` where
    ``cuda``; ``pad`` bytes of other read-only data come before the images."""
    stub = path.parent / f"{path.stem}-stub"
    stub.mkdir(exist_ok=True)
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", str(stub / "libcuda.so"), "-Wl,-soname,libcuda.so.1", "-x", "c", "-"],
        input="int cuModuleLoadData(void **m, const void *image) { return 0; }\n",
        text=True,
        check=True,
        timeout=120,
    )
    arrays = "".join(
        f"const unsigned char cubin{i}[] = {{{', '.join(str(b) for b in data + bytes(64))}}};\n"
        for i, data in enumerate(images)
    )
    if pad:
        arrays = f"const unsigned char padding[{pad}] = {{1}};\n" + arrays
    names = ", ".join(f"cubin{i}" for i in range(len(images)))
    source = path.parent / f"{path.stem}.c"
    source.write_text(
        arrays + "int cuModuleLoadData(void **m, const void *image);\n"
        f"int load(void **m, int i) {{ const void *all[] = {{{names}}}; return cuModuleLoadData(m, all[i]); }}\n"
    )
    link = [f"-L{stub}", "-lcuda"] if cuda else []  # a shared object may leave cuModuleLoadData to be found
    order = ["-fno-toplevel-reorder"]  # the arrays in .rodata as the source has them: the padding first
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O0", *order, "-o", str(path), str(source), *link], check=True, timeout=120
    )
    return path
