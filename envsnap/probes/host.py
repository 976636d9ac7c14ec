"""The host: OS, kernel, libc, CPU and memory. Small readers over /etc/os-release and /proc."""

from __future__ import annotations

import os
import platform
import re
from typing import cast

from .. import platforms
from ..model import Cpu, Hardware, Libc, Platform
from .interface import Probe, ProbeContext, ProbeResult

# CPU features that decide which wheels and builds run (x86 SIMD levels, Arm extensions).
ISA_FLAGS = frozenset(
    {
        "sse",
        "sse2",
        "sse3",
        "ssse3",
        "sse4_1",
        "sse4_2",
        "popcnt",
        "avx",
        "avx2",
        "fma",
        "f16c",
        "bmi1",
        "bmi2",
        "lzcnt",
        "movbe",
        "aes",
        "pclmulqdq",
        "sha_ni",
        "avx512f",
        "avx512cd",
        "avx512bw",
        "avx512dq",
        "avx512vl",
        "avx512_vnni",
        "avx512_bf16",
        "avx512_fp16",
        "avx512vbmi",
        "avx512_vbmi2",
        "avx512ifma",
        "avx512_bitalg",
        "avx512_vpopcntdq",
        "avx_vnni",
        "amx_bf16",
        "amx_int8",
        "amx_tile",
        "neon",
        "asimd",
        "asimdhp",
        "asimddp",
        "sve",
        "sve2",
        "i8mm",
        "bf16",
        "fphp",
        "sme",
        "crc32",
        "atomics",
        "vsx",
        "altivec",
    }
)


def parse_os_release(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Z_][A-Z0-9_]*)=(.*)$", line.strip())
        if m:
            value = m.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            out[m.group(1)] = value
    return out


def read_os_release() -> dict[str, str]:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                return parse_os_release(fh.read())
        except OSError:
            continue
    return {}


def libc() -> tuple[str, str]:
    """("glibc", "2.36"), ("musl", "1.2.4") or ("", "")."""
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError, AttributeError):
        value = None
    if value:
        name, _, version = value.partition(" ")
        return ("glibc" if name == "glibc" else name), version
    for path in sorted(os.listdir("/lib")) if os.path.isdir("/lib") else []:
        m = re.match(r"ld-musl-.*\.so\.1$", path)
        if m:
            return "musl", _musl_version(os.path.join("/lib", path))
    return "", ""


def _musl_version(loader: str) -> str:
    from .. import _runner

    res = _runner.run([loader], timeout=5)
    m = re.search(r"Version ([0-9.]+)", res.stderr)
    return m.group(1) if m else ""


def probe_platform() -> Platform:
    osr = read_os_release()
    libc_name, libc_version = libc()
    return Platform(
        system=platform.system(),
        machine=platform.machine(),
        os_id=osr.get("ID", ""),
        os_version=osr.get("VERSION_ID", ""),
        os_name=osr.get("PRETTY_NAME", osr.get("NAME", "")),
        kernel=platform.release(),
        libc=cast(Libc, libc_name),
        libc_version=libc_version,
    )


def parse_cpuinfo(text: str, machine: str) -> Cpu:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if ":" not in line:
            # Only the first processor's block: they are identical on the hosts envsnap targets.
            if not line.strip() and ("flags" in fields or "Features" in fields):
                break
            continue
        key, value = line.split(":", 1)
        fields.setdefault(key.strip(), value.strip())
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    if platforms.machine(machine) == "aarch64":
        flags.add("neon")  # Advanced SIMD is mandatory on AArch64 (reported as "asimd")
    vendor = fields.get("vendor_id") or _arm_vendor(fields.get("CPU implementer", ""))
    model = fields.get("model name") or fields.get("Model name") or fields.get("cpu model") or ""
    return Cpu(vendor=vendor, model=model, arch=machine, flags=tuple(sorted(flags & ISA_FLAGS)))


def _arm_vendor(implementer: str) -> str:
    return {
        "0x41": "ARM",
        "0x4e": "NVIDIA",
        "0x50": "APM",
        "0x51": "Qualcomm",
        "0x61": "Apple",
        "0xc0": "Ampere",
        "0x48": "HiSilicon",
    }.get(implementer.lower(), implementer)


# Where the kernel says what it is, and the GPU device WSL 2 gives a Linux guest (paravirtualised, by the Windows
# driver). Module names, so a test can point them elsewhere.
PROC_VERSION = "/proc/version"
DXG = "/dev/dxg"


def wsl_kernel(proc_version: str) -> bool:
    """Whether a kernel's version text (/proc/version, ``uname -r``, the Docker engine's ``KernelVersion``) is one of
    Microsoft's WSL kernels ("5.15.167.4-microsoft-standard-WSL2", WSL 1's "4.4.0-19041-Microsoft")."""
    return "microsoft" in proc_version.lower()


def wsl() -> bool:
    """Whether this host is Windows Subsystem for Linux: a WSL kernel in /proc/version, or WSL 2's /dev/dxg."""
    if os.path.exists(DXG):
        return True
    try:
        with open(PROC_VERSION, encoding="utf-8", errors="replace") as fh:
            return wsl_kernel(fh.read(4096))
    except OSError:
        return False


def parse_meminfo(text: str) -> int:
    m = re.search(r"^MemTotal:\s+(\d+)\s+kB", text, re.MULTILINE)
    return int(m.group(1)) // 1024 if m else 0


def probe_cpu() -> tuple[Cpu, int]:
    machine = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            cpu = parse_cpuinfo(fh.read(), machine)
    except OSError:
        cpu = Cpu(arch=machine)
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            memory = parse_meminfo(fh.read())
    except OSError:
        memory = 0
    from dataclasses import replace

    return replace(cpu, logical_cores=os.cpu_count() or 0), memory


def hardware(ctx: ProbeContext) -> ProbeResult[Hardware]:
    """The CPU and the memory (the GPU probe adds the GPUs)."""
    cpu, memory = probe_cpu()
    return ProbeResult(Hardware(memory_mib=memory, cpu=cpu))


def platform_probe(ctx: ProbeContext) -> ProbeResult[Platform]:
    return ProbeResult(probe_platform())


class HardwareProbe(Probe[Hardware]):
    name = "hardware"

    def run(self, ctx: ProbeContext) -> ProbeResult[Hardware]:
        return hardware(ctx)

    def fallback(self, ctx: ProbeContext) -> Hardware:
        return Hardware(cpu=Cpu(arch=platform.machine()))


class PlatformProbe(Probe[Platform]):
    name = "platform"

    def run(self, ctx: ProbeContext) -> ProbeResult[Platform]:
        return platform_probe(ctx)

    def fallback(self, ctx: ProbeContext) -> Platform:
        return Platform(system=platform.system(), machine=platform.machine())


HARDWARE = HardwareProbe()
PLATFORM = PlatformProbe()
