"""system-libs: every shared library the lock's binaries loaded from the system must be found on the target. A
locked wheel whose library is missing installs, and then fails at its import ("cannot open shared object file");
nothing else the check reads says so.

What the lock records of each (``[[system.libraries]]``: the soname, where it was, the system package that owned
it, the distributions whose binaries need it) is compared with where this host's loader finds that soname by name
(``Target.libraries``: ``LD_LIBRARY_PATH``, ld.so.cache, the default folders). A missing library that a system
package owned, or that lay in a folder the loader searches by default, is a failure: a binary finds it there or
not at all. One the captured machine had elsewhere (``/opt/...``, a toolkit's folder) was reached through a
binary's RPATH or ``LD_LIBRARY_PATH``, which this check cannot follow: a warning. A container target installs
the lock's system packages into its image and is not judged here; the NVIDIA driver's own libraries are the cuda
and driver rules', and cuDNN and NCCL from the system the cuda-libs rule's."""

from __future__ import annotations

import re

from ...grammar import shown
from ...model import Snapshot, SystemLibrary
from ..report import Finding
from ..target import Target
from .interface import Rule

NAME = "system-libs"

# cuDNN and NCCL taken from the system are checked with their versions by the cuda-libs rule.
_OTHER_RULE = re.compile(r"^lib(cudnn|nccl)")
# Where the loader looks without being told (ld.so's defaults and the folders ld.so.conf names on every
# distribution): a library that lay here was found by its name.
_SEARCHED = re.compile(r"^/(usr/)?(local/)?lib(32|64)?(/[a-z0-9_]+-linux-gnu[a-z0-9_]*)?$")


def _searched_by_default(lib: SystemLibrary) -> bool:
    folder = lib.path.rpartition("/")[0]
    return bool(lib.package) or _SEARCHED.match(folder) is not None


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    if target.container or target.libraries is None or lock.platform.system not in ("", "Linux"):
        return []
    if lock.platform.machine and host.platform.machine and lock.platform.machine != host.platform.machine:
        return []  # another machine's libraries: the platform rule fails it, each of them would only repeat that
    found = dict(target.libraries)
    wanted = [lib for lib in lock.system.libraries if lib.path and not _OTHER_RULE.match(lib.soname)]
    if not wanted:
        return []
    captured = " ".join(part for part in (lock.platform.os_id, lock.platform.os_version) if part)
    findings = []
    for lib in wanted:
        if found.get(lib.soname):
            continue
        who = ", ".join(lib.needed_by) or "the environment's binaries"
        needed = f"{lib.soname} (loaded by {who})"
        if not _searched_by_default(lib):
            remedy = (
                f"it was {shown(lib.path)} on the captured machine, outside the loader's default folders (an RPATH "
                "or LD_LIBRARY_PATH led there): install it, or add its folder to LD_LIBRARY_PATH"
            )
            findings.append(Finding("warn", "system library", needed, "not found by name", remedy, NAME))
        elif lib.package:
            where = f" on {captured}" if captured else ""
            remedy = f"install the system package that provides {lib.soname} ({lib.package}{where})"
            findings.append(Finding("fail", "system library", needed, "not found on this host", remedy, NAME))
        else:
            remedy = f"install {lib.soname} (it was {shown(lib.path)} on the captured machine)"
            findings.append(Finding("fail", "system library", needed, "not found on this host", remedy, NAME))
    if findings:
        return findings
    count = len(wanted)
    return [
        Finding(
            "ok",
            "system libraries",
            f"{count} {'library' if count == 1 else 'libraries'} the lock's binaries load",
            "all found",
            "",
            NAME,
        )
    ]


class SystemLibsRule(Rule):
    name = NAME  # no areas: a lock that does not record its libraries (an import) has none to judge

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = SystemLibsRule()
