"""The CUDA kernels' architectures read from a shared object's fat binaries (``probes.fatbin``): a real one nvcc
builds, and malformed ones (truncated, huge sizes and offsets), which give what was read and never a traceback."""

from __future__ import annotations

import contextlib
import io
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cuda_fixtures import (
    SM80_COMPUTE90,
    cubin_header,
    cuda_extension,
    embedded_cubins_library,
    fatbin_library,
    fatbins_in_rodata,
    nvcc,
    requires_nvcc,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from envsnap import grammar
from envsnap.probes import elf, fatbin

MAGIC = struct.pack("<I", 0xBA55ED50)


@requires_nvcc
def test_the_cubins_and_ptx_of_a_real_extension() -> None:
    path = cuda_extension()
    assert elf.read_kernels(str(path)) == (("sm_80", "compute_90"), False)
    assert elf.read_dynamic(str(path), fatbin.Budget()).kernels == ("sm_80", "compute_90")
    assert elf.read_dynamic(str(path)).kernels == ()  # without a budget: the dynamic section alone
    isa = elf.read_dynamic(str(path), fatbin.Budget()).ptx_isa  # nvcc's own: 9.0 from CUDA 13.0
    assert grammar.is_ptx_isa(isa), isa


@requires_nvcc
@pytest.mark.parametrize(
    ("gencode", "arches"),
    [
        (("-gencode", "arch=compute_90a,code=sm_90a"), ("sm_90a",)),
        (("-gencode", "arch=compute_90a,code=compute_90a"), ("compute_90a",)),
        (("-gencode", "arch=compute_100f,code=[sm_100f,compute_100f]"), ("sm_100f", "compute_100f")),
        (("-gencode", "arch=compute_87,code=sm_87", "-rdc=true"), ("sm_87",)),
    ],
)
def test_architecture_and_family_specific_kernels(gencode: tuple[str, ...], arches: tuple[str, ...]) -> None:
    assert elf.read_kernels(str(cuda_extension(gencode))) == (arches, False)


def test_a_file_without_kernels_or_not_elf(tmp_path: Path) -> None:
    import sys

    assert elf.read_kernels(sys.executable) == ((), False)
    (tmp_path / "text.so").write_text("#!/bin/sh\n" * 20)
    assert elf.read_kernels(str(tmp_path / "text.so")) == ((), False)
    assert elf.read_kernels(str(tmp_path / "missing.so")) == ((), False)


def _fatbins(data: bytes) -> list[int]:
    out, at = [], data.find(MAGIC)
    while at >= 0:
        out.append(at)
        at = data.find(MAGIC, at + 1)
    return out


def _patched(data: bytes, at: int, fmt: str, value: int) -> bytes:
    return data[:at] + struct.pack(fmt, value) + data[at + struct.calcsize(fmt) :]


@requires_nvcc
def test_malformed_fat_binaries_give_what_was_read_and_no_traceback(tmp_path: Path) -> None:
    data = cuda_extension().read_bytes()
    first, second = _fatbins(data)[:2]
    shoff = struct.unpack_from("<Q", data, 40)[0]
    cases = {
        # truncated: inside the first fat binary, inside the second, before the section headers, inside the header
        "cut-first": data[: first + 40],
        "cut-second": data[: second + 100],
        "cut-table": data[: shoff + 10],
        "cut-head": data[:50],
        # sizes past the end of the file or the section, and huge
        "fat-size": _patched(data, first + 8, "<Q", 2**63),
        "fat-header": _patched(data, first + 6, "<H", 0xFFFF),
        "entry-header": _patched(data, first + 16 + 4, "<I", 0xFFFFFFFF),
        "entry-payload": _patched(data, first + 16 + 8, "<Q", 2**64 - 1),
        "second-payload": _patched(data, second + 16 + 8, "<Q", 2**40),
        "arch": _patched(data, first + 16 + 28, "<I", 0xFFFFFFFF),
        "shoff": _patched(data, 40, "<Q", 2**64 - 1),
        "shnum": _patched(data, 60, "<H", 0xFFFF),
        "shstrndx": _patched(data, 62, "<H", 0xFFFE),
        "magic": _patched(data, first, "<I", 0),
    }
    for name, blob in cases.items():
        path = tmp_path / f"{name}.so"
        path.write_bytes(blob)
        got, _ = elf.read_kernels(str(path))
        assert set(got) <= {"sm_80", "compute_90"}, (name, got)
        with contextlib.suppress(elf.NotELF):  # the dynamic section's own refusal, which the loader takes as such
            elf.read_dynamic(str(path), fatbin.Budget())
    assert elf.read_kernels(str(tmp_path / "cut-second.so")) == ((), False)  # its section headers are cut off
    # what came before the fault, told as read in part: the rest of the section may hold the GPU's cubin, and a
    # list taken for whole would fail a GPU the file has kernels for (compute_90 here)
    assert elf.read_kernels(str(tmp_path / "second-payload.so")) == (("sm_80",), True)
    assert elf.read_kernels(str(tmp_path / "fat-size.so")) == ((), True)  # the section stops at the bad one
    assert elf.read_kernels(str(tmp_path / "magic.so")) == ((), True)
    # Its section names read, naming .nv_fatbin, and its section headers past the end of the file: GPU code whose
    # kernels cannot be looked for, not a file without any.
    shnum = struct.unpack_from("<H", data, 60)[0]
    path = tmp_path / "shnum-past-end.so"
    path.write_bytes(_patched(data, 60, "<H", shnum + 64))
    assert elf.read_kernels(str(path)) == ((), True)


@requires_nvcc
def test_reads_stop_at_the_limits(tmp_path: Path) -> None:
    """Every fat binary header read counts against the file's and the environment's limits."""
    path = str(cuda_extension())
    budget = fatbin.Budget(2)
    # a container's and a kernel's header: the budget spent, the file told cut short (its compute_90 not read)
    assert elf.read_kernels(path, budget) == (("sm_80",), True)
    assert budget.left == 0
    assert elf.read_kernels(path, budget) == ((), True)
    info = elf.read_dynamic(path, budget)
    assert (info.kernels, info.kernels_cut) == ((), True)


def test_a_library_of_nvidias_size_is_read_whole(tmp_path: Path) -> None:
    """libcublasLt 12.9: 8,984 headers of compressed entries, its sm_103 and sm_121 cubins after the 4,096th; a read
    that stopped there recorded a list without them, as if it were whole."""
    common = [[(2, 80), (2, 90), (2, 100), (1, 120)]] * 1000  # 5,000 headers
    late = [[(2, 103), (2, 121)]] * 1300  # 3,900 more
    path = str(fatbin_library(tmp_path / "libcublasLt.so.12", common + late))
    budget = fatbin.Budget()
    got = elf.read_kernels(path, budget)
    assert got == (("sm_80", "sm_90", "sm_100", "sm_103", "sm_121", "compute_120"), False)
    assert fatbin.Budget.MAX_ENVIRONMENT - budget.left == 8900
    assert elf.read_dynamic(path, fatbin.Budget()).ptx_isa == "8.8"  # its PTX's ISA version: CUDA 12.9's


def test_a_file_past_the_limit_is_told_cut_short(tmp_path: Path) -> None:
    """More headers than a file is read for: what was read, and that the list may lack some."""
    many = [[(2, 80)] * 255] * (fatbin.MAX_ENTRIES // 256) + [[(2, 75)]]
    path = str(fatbin_library(tmp_path / "libmany.so", many))
    assert elf.read_kernels(path) == (("sm_80",), True)
    exact = str(fatbin_library(tmp_path / "libexact.so", [[(2, 80)] * 255] * (fatbin.MAX_ENTRIES // 256)))
    assert elf.read_kernels(exact) == (("sm_80",), False)  # the last header read is the last one: not cut


def test_zeros_between_fat_binaries_are_padding(tmp_path: Path) -> None:
    """Fat binaries in a section start aligned: the zeros between two are read past, not taken for the end."""
    path = str(fatbin_library(tmp_path / "libpad.so", [[(2, 80)], [(2, 90)], [(1, 100)]], padding=8))
    assert elf.read_kernels(path) == (("sm_80", "sm_90", "compute_100"), False)
    zeros = str(fatbin_library(tmp_path / "libzeros.so", [[(2, 80)]], padding=fatbin.MAX_ENTRIES * 8 + 64))
    assert elf.read_kernels(zeros) == (("sm_80",), True)  # a section of zeros is read no further than the limit


def test_garbage_after_a_fat_binary_is_told_read_in_part(tmp_path: Path) -> None:
    path = tmp_path / "libjunk.so"
    data = bytearray(fatbin_library(path, [[(2, 80)], [(2, 90)]]).read_bytes())
    second = _fatbins(bytes(data))[1]
    data[second : second + 4] = b"junk"
    path.write_bytes(bytes(data))
    assert elf.read_kernels(str(path)) == (("sm_80",), True)


def test_large_model_data_beside_the_fat_binaries_makes_the_list_partial(tmp_path: Path) -> None:
    """cuFFT 11.4: one sm_52 cubin in .nv_fatbin, its other fat binaries in .ldata, which no section header names:
    the list read may lack the GPU's kernels."""
    path = str(fatbin_library(tmp_path / "libcufft.so.11", [[(2, 52)]], large_data=True))
    assert elf.read_kernels(path) == (("sm_52",), True)
    plain = str(fatbin_library(tmp_path / "libplain.so", [[(2, 52)]]))
    assert elf.read_kernels(plain) == (("sm_52",), False)


@requires_nvcc
def test_a_medium_model_library_whose_registered_fat_binaries_are_all_named_is_read_whole(tmp_path: Path) -> None:
    """gcc's medium and large models put big data in ``.ldata``, as in cuBLAS 13's libcublasLt and cuDNN 9's
    libraries, whose every fat binary nvcc's host code registers sits in ``.nv_fatbin``: the list is whole (it was
    recorded partial, and a capture of a CUDA torch warned of cuBLAS and cuDNN every time)."""
    source = tmp_path / "big.cu"
    source.write_text(
        "__global__ void k(float *x) { x[threadIdx.x] *= 2.0f; }\nvoid launch(float *x) { k<<<1, 32>>>(x); }\n"
        "char big_table[1 << 17] = {1};\n"
    )
    out = tmp_path / "libbig.so"
    compiler = nvcc()
    assert compiler is not None
    flags = ["-Xcompiler", "-fPIC", "-Xcompiler", "-mcmodel=medium", "-gencode", "arch=compute_80,code=sm_80"]
    subprocess.run([compiler, "-shared", *flags, "-o", str(out), str(source)], check=True, capture_output=True)
    assert b".ldata" in out.read_bytes()  # what made the list partial before
    assert elf.read_kernels(str(out)) == (("sm_80",), False)


@pytest.mark.parametrize(
    ("registered", "expected"),
    [
        ("fatbin", (("sm_52", "sm_90"), False)),  # every registered fat binary in .nv_fatbin: whole
        ("ldata", (("sm_52", "sm_90"), False)),  # the one in .ldata found by its wrapper's address, and read
        ("zero", (("sm_52", "sm_90"), True)),  # an address left to a relocation: where it is cannot be known
    ],
)
def test_the_registered_fat_binaries_say_where_the_kernels_are(
    tmp_path: Path, registered: str, expected: tuple[tuple[str, ...], bool]
) -> None:
    path = str(fatbin_library(tmp_path / "libreg.so", [[(2, 52)], [(2, 90)]], large_data=True, registered=registered))
    assert elf.read_kernels(path) == expected


@pytest.mark.parametrize("elf32", [False, True], ids=["elf64", "elf32"])
@pytest.mark.parametrize(
    ("section", "registered", "expected"),
    [
        (b".nv_fatbin", "fatbin", (("sm_52", "sm_90"), False)),
        (b".nv_fatbin", "ldata", (("sm_52", "sm_90"), False)),
        (b".nv_fatbin", "zero", (("sm_52", "sm_90"), True)),
        (b".rodata", "fatbin", (("sm_52", "sm_90"), False)),  # no section named for them: read where they point
        (b".rodata", "zero", (("sm_52",), True)),
    ],
)
def test_the_wrappers_of_a_32_bit_library_are_read_as_a_64_bit_ones(
    tmp_path: Path, elf32: bool, section: bytes, registered: str, expected: tuple[tuple[str, ...], bool]
) -> None:
    """A 32-bit ELF file (an i386 or armhf build) registers its fat binaries with wrappers of 32-bit addresses (16
    bytes, not 24): read as a 64-bit file's are, to the same kernels."""
    large = section == b".nv_fatbin"
    path = fatbin_library(
        tmp_path / "libreg.so",
        [[(2, 52)], [(2, 90)]],
        large_data=large,
        registered=registered,
        elf32=elf32,
        section_name=section,
    )
    assert path.read_bytes()[4] == (1 if elf32 else 2)
    assert elf.read_kernels(str(path)) == expected
    info = elf.read_dynamic(str(path), fatbin.Budget())  # as the capture reads a library
    assert (info.kernels, info.kernels_cut, info.bits) == (*expected, 32 if elf32 else 64)


@pytest.mark.parametrize("machine", [62, 183], ids=["x86_64", "aarch64"])
@pytest.mark.parametrize(
    ("section", "registered", "expected"),
    [
        (b".nv_fatbin", "rela", (("sm_52", "sm_90"), False)),
        (b".rodata", "rela", (("sm_52", "sm_90"), False)),
        (b".nv_fatbin", "rela-symbol", (("sm_52", "sm_90"), True)),  # a symbol's address: not the file's to tell
        (b".rodata", "rela-symbol", (("sm_52",), True)),
    ],
)
def test_a_wrapper_address_left_to_a_relative_relocation_is_read_from_it(
    tmp_path: Path, machine: int, section: bytes, registered: str, expected: tuple[tuple[str, ...], bool]
) -> None:
    """lld leaves the address in each wrapper 0 and writes it as the addend of a relative relocation in
    ``.rela.dyn`` (``R_X86_64_RELATIVE``, ``R_AARCH64_RELATIVE``), which the loader adds the load address to: such a
    library read as partial, its fat binaries in ``.ldata`` or ``.rodata`` unread. The addend is the address."""
    path = fatbin_library(
        tmp_path / "liblld.so",
        [[(2, 52)], [(2, 90)]],
        large_data=section == b".nv_fatbin",
        registered=registered,
        section_name=section,
        machine=machine,
    )
    assert elf.read_kernels(str(path)) == expected
    info = elf.read_dynamic(str(path), fatbin.Budget())  # as the capture reads a library
    assert (info.kernels, info.kernels_cut) == expected


def test_a_wrapper_that_points_at_no_fat_binary_leaves_the_list_partial(tmp_path: Path) -> None:
    """A hostile or damaged ``.nvFatBinSegment``: a wrong magic, an address into ``.ldata`` where no fat binary
    starts, or one past the section's end: what was read, told partial, no traceback."""
    path = tmp_path / "libbad.so"
    good = fatbin_library(path, [[(2, 52)], [(2, 90)]], large_data=True, registered="ldata").read_bytes()
    wrapper = good.index(struct.pack("<I", 0x466243B1))
    ldata = good.index(b"\x50\xed\x55\xba", 70)  # the second fat binary: the one in .ldata
    for at, fmt, value in ((wrapper, "<I", 0x12345678), (wrapper + 32, "<Q", ldata + 4), (wrapper + 32, "<Q", 1 << 40)):
        path.write_bytes(_patched(good, at, fmt, value))
        kernels, cut = elf.read_kernels(str(path))
        assert cut and "sm_52" in kernels


_REGISTERED = fatbin_library(
    Path(tempfile.mkdtemp(prefix="envsnap-fatbin-")) / "libreg.so",
    [[(2, 52)], [(2, 90)]],
    large_data=True,
    registered="ldata",
).read_bytes()


@settings(max_examples=400, deadline=None)
@given(at=st.integers(0, len(_REGISTERED) - 1), value=st.binary(min_size=1, max_size=8))
def test_any_damage_to_a_library_is_read_without_a_fault(at: int, value: bytes) -> None:
    """Bytes written anywhere over a library whose second fat binary sits in ``.ldata`` (its section headers, its
    ``.nvFatBinSegment``, the fat binaries): the reading ends without an exception, within its limit, and gives only
    architectures."""
    data = _REGISTERED[:at] + value + _REGISTERED[at + len(value) :]
    found, count, _, _ = fatbin.parse_kernels(lambda offset, n: data[offset : offset + n], len(data), limit=64)
    assert all(fatbin.is_arch(arch) for arch in found)
    assert count <= 64


def _sections(data: bytes) -> dict[bytes, tuple[int, int, int, int]]:
    """A 64-bit little-endian ELF file's sections by name: (its header's offset, address, offset, size)."""
    shoff, (shentsize, shnum, shstrndx) = struct.unpack_from("<Q", data, 40)[0], struct.unpack_from("<HHH", data, 58)
    header = struct.Struct("<IIQQQQ")
    names_at = header.unpack_from(data, shoff + shstrndx * shentsize)[4]
    out = {}
    for i in range(shnum):
        name, _kind, _flags, addr, offset, size = header.unpack_from(data, shoff + i * shentsize)
        out[data[names_at + name : data.index(b"\0", names_at + name)]] = (shoff + i * shentsize, addr, offset, size)
    return out


@requires_nvcc
@pytest.mark.parametrize("extra", [(), ("-rdc=true",), ("-cudart=shared",)])
def test_fat_binaries_linked_into_rodata_are_read_where_nvcc_registers_them(extra: tuple[str, ...]) -> None:
    """A linker script that puts ``.nv_fatbin`` into ``.rodata`` leaves no section named for the fat binaries: the
    file recorded no kernels, and check judged none. The wrappers nvcc registers each fat binary with
    (``.nvFatBinSegment``) hold its address."""
    path = str(cuda_extension(SM80_COMPUTE90 + extra + fatbins_in_rodata()))
    sections = _sections(Path(path).read_bytes())
    assert b".nvFatBinSegment" in sections and not {b".nv_fatbin", b"__nv_relfatbin"} & set(sections)
    assert elf.read_kernels(path) == (("sm_80", "compute_90"), False)
    assert elf.read_dynamic(path, fatbin.Budget()).kernels == ("sm_80", "compute_90")
    budget = fatbin.Budget(1)  # the limits count these headers too: a list cut short is partial, never whole
    found, partial = elf.read_kernels(path, budget)
    assert partial and set(found) < {"sm_80", "compute_90"} and budget.left <= 0, found


@requires_nvcc
def test_wrappers_that_cannot_be_followed_make_the_list_partial(tmp_path: Path) -> None:
    """A wrapper whose address the file does not hold (lld writes none in place: the loader's relocation fills it) and
    no relative relocation gives, or holds wrongly: the kernels there cannot be read, so the list is partial, never
    taken for whole. GNU ld writes the address in place and as the addend of a relative relocation too: with it
    zeroed, the relocation gives it."""
    data = cuda_extension(SM80_COMPUTE90 + fatbins_in_rodata()).read_bytes()
    sections = _sections(data)
    header_at, _, segment, size = sections[b".nvFatBinSegment"]
    rodata = sections[b".rodata"][1]
    wrappers = range(segment, segment + size, 24)

    def each(value: int) -> bytes:
        out = data
        for at in wrappers:
            out = _patched(out, at + 8, "<Q", value)
        return out

    rela_type = sections[b".rela.dyn"][0] + 4
    cases = {
        "unrelocated": _patched(each(0), rela_type, "<I", 1),  # its relocations not RELA: none gives the address
        "outside": each(2**63),
        "not-a-fatbin": each(rodata),
        "segment-size": _patched(data, header_at + 32, "<Q", 2**63),
        "segment-offset": _patched(data, header_at + 24, "<Q", 2**40),
        "fat-size": each(rodata + 2**20 - 16),
    }
    for name, blob in cases.items():
        path = tmp_path / f"{name}.so"
        path.write_bytes(blob)
        got, cut = elf.read_kernels(str(path))
        assert cut and set(got) <= {"sm_80", "compute_90"}, (name, got)
        assert elf.read_dynamic(str(path), fatbin.Budget()).kernels_cut, name
    # The fat binary's sm_80 cubin is whole in .rodata: its own ELF header is read there, and the list stays partial.
    assert elf.read_kernels(str(tmp_path / "unrelocated.so")) == (("sm_80",), True)
    path = tmp_path / "relocated.so"
    path.write_bytes(each(0))
    assert elf.read_kernels(str(path)) == (("sm_80", "compute_90"), False)
    # Two wrappers of the same fat binary: read once.
    first = struct.unpack_from("<Q", data, segment + 8)[0]
    path = tmp_path / "twice.so"
    path.write_bytes(each(first))
    got, cut = elf.read_kernels(str(path))
    assert not cut and got


@requires_nvcc
def test_a_cuda_library_whose_sections_cannot_be_read_is_partial(tmp_path: Path) -> None:
    """A library that links the CUDA runtime, its section header table gone (``--strip-sections``) or cut off: its
    kernels cannot be looked for, and recording none let check judge it as a library without GPU code."""
    shared = cuda_extension((*SM80_COMPUTE90, "-cudart=shared")).read_bytes()
    assert any(n.startswith("libcudart.so") for n in elf.parse_dynamic(io.BytesIO(shared)).needed)
    shoff = struct.unpack_from("<Q", shared, 40)[0]
    for name, blob in {"stripped": _patched(shared, 40, "<Q", 0), "cut": shared[: shoff + 10]}.items():
        path = tmp_path / f"{name}.so"
        path.write_bytes(blob)
        info = elf.read_dynamic(str(path), fatbin.Budget())
        assert (info.kernels, info.kernels_cut) == ((), True), name
    # Without the CUDA runtime or driver, a file without section headers says nothing of kernels.
    plain = tmp_path / "plain"
    plain.write_bytes(_patched(Path(sys.executable).read_bytes(), 40, "<Q", 0))
    assert elf.read_dynamic(str(plain), fatbin.Budget()).kernels_cut is False


def _wrapped_elf(path: Path, sections: int, wrappers: int, address: int) -> Path:
    """An ELF file written by hand with ``sections`` loaded sections, none named for fat binaries, and a
    ``.nvFatBinSegment`` of ``wrappers`` wrappers, each pointing at ``address``."""
    names = b"\0.shstrtab\0.nvFatBinSegment\0.data\0"
    segment = struct.pack("<IIQQ", 0x466243B1, 1, address, 0) * wrappers
    names_at, segment_at = 64, 64 + len(names)
    table_at = (segment_at + len(segment) + 7) & ~7
    count = 3 + sections
    header = b"\x7fELF\x02\x01\x01" + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, 0, table_at, 0, 64, 56, 0, 64, count, 1)
    section = struct.Struct("<IIQQQQIIQQ")
    table = bytes(64) + section.pack(1, 3, 0, 0, names_at, len(names), 0, 0, 1, 0)
    table += section.pack(11, 1, 3, 0x1000, segment_at, len(segment), 0, 0, 8, 0)
    table += b"".join(section.pack(28, 1, 3, 0x100000 + 64 * i, 64, 64, 0, 0, 8, 0) for i in range(sections))
    path.write_bytes(header + names + segment + bytes(table_at - segment_at - len(segment)) + table)
    return path


def test_many_sections_and_wrappers_are_looked_through_in_bounded_time(tmp_path: Path) -> None:
    """The most sections a file is read with and a segment of 43,690 wrappers, each pointing at no section, nor at
    a fat binary in one: each address is found by bisection (one look through every section for each wrapper was
    seven hundred million steps), and the list is partial."""
    import time

    for address in (0x100, 0x100000 + 64 * 16000 + 8):
        path = _wrapped_elf(tmp_path / "many.so", 16_380, (1 << 20) // 24, address)
        started = time.monotonic()
        assert elf.read_kernels(str(path)) == ((), True)
        assert time.monotonic() - started < 10


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc builds the library")
def test_cubins_in_read_only_data_are_read_within_the_limits(tmp_path: Path) -> None:
    """Cubins kept whole in .rodata: each ELF header with e_machine EM_CUDA names its SM (the old ABI's low byte and
    0x800 for ``a``, ABI 8's bits 8-15 and 0x8), a header of another machine or without an SM none; each header found is
    read as a kernel header is, so a budget spent on them leaves the list partial; a library that links no CUDA and
    carries no fat binary has its read-only data left unread (every library's .rodata is no cost of a capture)."""
    images = [
        cubin_header(0x400 | 80),
        cubin_header(0x800 | 0x400 | 90),
        cubin_header((100 << 8) | 0x8 | 2, abi=8),
        cubin_header((120 << 8) | 2, abi=8),
        cubin_header(0x50, machine=62),
        cubin_header(0x5A)[:40],  # its e_flags never written (zeros follow): no SM
    ]
    path = str(embedded_cubins_library(tmp_path / "libtrt.so", images))
    info = elf.read_dynamic(path, fatbin.Budget())
    assert (info.kernels, info.kernels_cut) == (("sm_80", "sm_90a", "sm_100a", "sm_120"), False)
    budget = fatbin.Budget(2)
    info = elf.read_dynamic(path, budget)
    assert info.kernels_cut and len(info.kernels) == 2 and budget.left == 0
    plain = str(embedded_cubins_library(tmp_path / "libplain.so", images, cuda=False))
    assert elf.read_dynamic(plain, fatbin.Budget()).kernels == ()


@requires_nvcc
@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc builds the library")
def test_real_cubins_in_read_only_data_are_named_as_nvcc_was_asked(tmp_path: Path) -> None:
    """Cubins nvcc builds (``-cubin``) kept as C arrays: each is named as nvcc was asked, ``a`` and ``f`` included.
    CUDA 13's ptxas writes the same e_flags for sm_100, sm_100a and sm_100f (ABI 8, no 0x8 bit): the ``a`` is in the
    cubin's ``.nv.compat`` (attribute 9), the ``f`` in the options its ``.note.nv.tkinfo`` records; they were read as
    sm_100, a GPU of another family taken for one that runs them."""
    compiler = nvcc()
    assert compiler is not None
    source = Path(__file__).resolve().parent.parent / "fixtures" / "cuda_kernel.cu"
    asked = ["sm_75", "sm_90", "sm_90a", "sm_100", "sm_100a", "sm_103f", "sm_110a", "sm_120a", "sm_120f"]
    images = []
    for arch in asked:
        out = tmp_path / f"{arch}.cubin"
        subprocess.run(
            [
                compiler,
                "-cubin",
                "-gencode",
                f"arch={arch.replace('sm_', 'compute_')},code={arch}",
                "-o",
                str(out),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        images.append(out.read_bytes())
    for arch, image in zip(asked, images, strict=True):
        path = str(embedded_cubins_library(tmp_path / f"lib{arch}.so", [image]))
        assert elf.read_dynamic(path, fatbin.Budget()).kernels == (arch,), arch
    path = str(embedded_cubins_library(tmp_path / "liball.so", images))
    assert elf.read_dynamic(path, fatbin.Budget()).kernels == fatbin.sort_arches(tuple(asked))


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc builds the library")
def test_read_only_data_full_of_elf_magic_is_read_no_further_than_the_header_limit(tmp_path: Path) -> None:
    """Each ELF magic in read-only data is read as a header is, a cubin or not: a library of magics that name no cubin
    is read no further than the header limit, and partial (it was read whole, some 0.2 s a MiB of magics, 1 GiB of
    them 3 minutes; NVIDIA's libraries hold at most 136 such magics)."""
    path = str(embedded_cubins_library(tmp_path / "libmagic.so", [b"\x7fELF" * (fatbin.MAX_ENTRIES + 16)]))
    assert elf.read_kernels(path) == ((), True)
    images = [b"\x7fELF" * 8 + cubin_header((100 << 8) | 0x8 | 2, abi=8)]
    few = str(embedded_cubins_library(tmp_path / "libfew.so", images))
    assert elf.read_kernels(few) == (("sm_100a",), False)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc builds the library")
def test_read_kernels_alone_finds_cubins_kept_in_read_only_data(tmp_path: Path) -> None:
    """``elf.read_kernels``, the entry that reads one file, reads it as a capture does: cubins kept as C arrays in a
    library that links the CUDA driver and has no fat binary section are found (``fatbin.read_kernels``, the entry
    before, read the section names alone and gave none); one that links no CUDA has its read-only data left unread."""
    images = [cubin_header(0x400 | 80), cubin_header((120 << 8) | 0x8 | 2, abi=8)]
    path = str(embedded_cubins_library(tmp_path / "libtrt.so", images))
    assert elf.read_kernels(path) == (("sm_80", "sm_120a"), False)
    budget = fatbin.Budget(1)
    assert elf.read_kernels(path, budget) == (("sm_80",), True) and budget.left == 0
    plain = str(embedded_cubins_library(tmp_path / "libplain.so", images, cuda=False))
    assert elf.read_kernels(plain) == ((), False)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc builds the library")
def test_read_only_data_left_unread_makes_the_list_partial(tmp_path: Path) -> None:
    """A library that links the CUDA driver whose read-only data is not all looked through is partial: one read after
    the capture's bytes of read-only data were spent (they were not counted across files: each of a thousand
    libraries read 64 MiB). A library with more than 64 MiB of it is read whole while the capture's bytes last
    (cuBLAS's libcublasLt holds 55 MiB: a file past 64 MiB was partial, however much of the capture's were left)."""
    images = [cubin_header((100 << 8) | 0x8 | 2, abi=8)]
    far = str(embedded_cubins_library(tmp_path / "libfar.so", images, pad=(64 << 20) + 4096))
    whole = elf.read_dynamic(far, fatbin.Budget())
    assert (whole.kernels, whole.kernels_cut) == (("sm_100a",), False)
    assert elf.read_kernels(far) == (("sm_100a",), False)
    short = fatbin.Budget()
    short.rodata = 64 << 20  # the capture's bytes run out before its cubin
    assert elf.read_dynamic(far, short).kernels_cut and short.rodata == 0
    near = str(embedded_cubins_library(tmp_path / "libnear.so", images, pad=1 << 20))
    budget = fatbin.Budget()
    budget.rodata = (1 << 20) + (1 << 19)  # the first library read whole, the second not
    first, second = elf.read_dynamic(near, budget), elf.read_dynamic(near, budget)
    assert (first.kernels, first.kernels_cut) == (("sm_100a",), False)
    assert second.kernels_cut and budget.rodata == 0
