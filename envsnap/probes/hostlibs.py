"""The host's side of the system probe: its package database (dpkg, apk, rpm: which package owns a file) and the
dynamic loader's rules (the ld.so cache, RPATH/RUNPATH, the default directories), read and parsed.

Apart from the probe so that the probe contract (``interface.ProbeContext``, which hands every probe the one
database and loader of a capture) can name their types without importing a probe.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import grammar
from .._frozen import frozen
from . import elf, fatbin
from .cache import StatCache, path_for
from .cache import folder as cache_folder

DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_INFO = "/var/lib/dpkg/info"
APK_DB = "/lib/apk/db/installed"

# Libraries that belong to the host's NVIDIA driver: never recorded, never packed.
DRIVER_LIB = re.compile(r"^lib(cuda|nvidia-[\w.-]+|nvcuvid|nvoptix)\.so")
# What the loader searches when nothing else names a directory.
_DEFAULT_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64")

if TYPE_CHECKING:
    from concurrent.futures import Future

# A capture imports this module first, to start ``prepare_early`` while the target interpreter runs: what only its
# functions use is imported there (the target probe's script ``_pyprobe``, with json, hashlib and sysconfig, for
# ``_SO_RE`` and ``file_stamp``; the subprocess runner; concurrent.futures, platform, glob), 50 ms of its import.


@frozen
class InstalledPackage:
    name: str
    version: str
    arch: str


# ------------------------------------------------------------------------------------------ parsers


def parse_dpkg_status(text: str) -> list[InstalledPackage]:
    """Installed packages from ``/var/lib/dpkg/status``: a stanza begins at each ``Package:`` field (at a line's
    start), and its ``Status``, ``Version`` and ``Architecture`` are the first such fields in it, each value without
    the spaces around it; installed means a three-word status whose last word is ``installed``.

    One split of the text at ``Package:``, then per stanza a ``str.find`` of each field wanted (they come early in
    a stanza, before its description): every scan runs in C, and no line is cut out but the four read. It was a
    multi-line regular expression over the whole text, each match's fields put in a dict (3.4 ms of this host's 801
    packages, 2.2 ms now)."""
    out = []
    for stanza in ("\n" + text).split("\nPackage:")[1:]:  # before the first Package: is no package's
        end = stanza.find("\n")
        name = (stanza if end < 0 else stanza[:end]).strip(" ")
        if not name:
            continue
        status = _dpkg_field(stanza, "\nStatus:").split()
        if len(status) == 3 and status[2] == "installed":
            version = _dpkg_field(stanza, "\nVersion:")
            out.append(InstalledPackage(name, version, _dpkg_field(stanza, "\nArchitecture:")))
    return out


def _dpkg_field(stanza: str, key: str) -> str:
    """The value of the first line of ``stanza`` past its first that begins with ``key`` (``"\\nStatus:"``), without
    the spaces around it; "" where there is none."""
    at = stanza.find(key)
    if at < 0:
        return ""
    at += len(key)
    end = stanza.find("\n", at)
    return (stanza[at:] if end < 0 else stanza[at:end]).strip(" ")


def parse_apk_db(text: str) -> tuple[list[InstalledPackage], dict[str, str]]:
    """Packages and file owners from ``/lib/apk/db/installed`` (P: name, V: version, A: arch, F: dir, R: file)."""
    packages: list[InstalledPackage] = []
    owners: dict[str, str] = {}
    for stanza in re.split(r"\n\s*\n", text):
        name = version = arch = folder = ""
        for line in stanza.splitlines():
            key, _, value = line.partition(":")
            if key == "P":
                name = value
            elif key == "V":
                version = value
            elif key == "A":
                arch = value
            elif key == "F":
                folder = value
            elif key == "R" and name:
                owners["/" + folder + "/" + value] = name
        if name:
            packages.append(InstalledPackage(name, version, arch))
    return packages, owners


def parse_rpm_qa(text: str) -> list[InstalledPackage]:
    """``rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\n'`` output."""
    out = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0]:
            version = parts[1][2:] if parts[1].startswith("0:") else parts[1]
            out.append(InstalledPackage(parts[0], version, parts[2]))
    return out


def shared_lines(data: bytes) -> list[str]:
    """The lines of a dpkg ``.list`` whose file name holds ".so", as ``data.decode(...).splitlines()`` gives them:
    only the byte lines that hold ".so" are decoded, so a 2 MB list of headers costs no 40,000 strings. Each
    ".so" is found with ``bytes.find`` and its line cut out around it (a multi-line regular expression,
    ``^.*\\.so.*$``, backtracked through every line of every list: 0.13 s of CPU for the 8 MB of lists here,
    against 0.01 s)."""
    out: list[str] = []
    at = data.find(b".so")
    while at >= 0:
        begin = data.rfind(b"\n", 0, at) + 1
        end = data.find(b"\n", at)
        if end < 0:
            end = len(data)
        out += [
            line for line in data[begin:end].decode("utf-8", "replace").splitlines() if ".so" in os.path.basename(line)
        ]
        at = data.find(b".so", end)
    return out


def parse_ldconfig(text: str) -> dict[str, list[tuple[str, str]]]:
    """``ldconfig -p`` -> soname -> [(flags, path)] in cache order."""
    cache: dict[str, list[tuple[str, str]]] = {}
    for line in text.splitlines():
        m = re.match(r"\s+(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)", line)
        if m:
            flags = m.group(2).split(", OS ABI:")[0]
            cache.setdefault(m.group(1), []).append((flags, m.group(3)))
    return cache


# ------------------------------------------------------------------------------------------ readers


def detect_manager() -> str:
    if os.path.exists(DPKG_STATUS):
        return "dpkg"
    if os.path.exists(APK_DB):
        return "apk"
    import glob

    if glob.glob("/var/lib/rpm/*") or glob.glob("/usr/lib/sysimage/rpm/*"):
        return "rpm"
    return ""


class PackageDatabase:
    """The host's package manager: its installed list and who owns a file (loaded lazily, once)."""

    def __init__(self, manager: str | None = None, index: StatCache | None = None):
        """``index``: the capture cache of the dpkg database (``dpkg_index``); None reads it all."""
        self.manager = detect_manager() if manager is None else manager
        self.warnings: list[str] = []
        self.index = index
        self._apk_owners: dict[str, str] = {}
        self._installed: list[InstalledPackage] | None = None
        self._dpkg_lists: list[tuple[str, bytes]] | None = None
        self._list_entries: list[str] | None = None  # the dpkg ``.list`` files, listed once (``_list_names``)
        self._dpkg_shared: list[tuple[str, list[str]]] | None = None
        self._dpkg_index: dict[str, str] | None = None
        self._module_shared: dict[str, tuple[str, ...]] = {}
        self._site_modules: dict[str, dict[str, dict[str, list[str]]]] = {}
        self._module_lock = threading.Lock()  # the system and CUDA probes ask from their own threads

    def preload(self) -> None:
        """Read the databases now (while another probe runs), so later lookups cost no I/O."""
        self.installed()
        if self.manager == "dpkg":
            self._dpkg_shared_paths()

    def index_owners(self) -> None:
        """Index every file the database lists by path now (dpkg: a tenth of a second), so that ``owners`` is a
        lookup per path instead of a scan of every list: ``envsnap run`` builds it while the command runs."""
        if self.manager == "dpkg" and self._dpkg_index is None:
            index: dict[str, str] = {}
            for package, data in self._read_dpkg_lists():
                for line in data.decode("utf-8", "replace").splitlines():
                    index.setdefault(line, package)
            self._dpkg_index = index

    def installed(self) -> list[InstalledPackage]:
        if self._installed is None:
            self._installed = self._read_installed()
        return self._installed

    def _read_installed(self) -> list[InstalledPackage]:
        from ._pyprobe import file_stamp

        try:
            if self.manager == "dpkg" and self.index is not None:
                stamp = file_stamp(DPKG_STATUS)
                kept = self.index.get(DPKG_STATUS, stamp)
                if kept is not None:
                    return [InstalledPackage(*p) for p in kept]
                with open(DPKG_STATUS, encoding="utf-8", errors="replace") as fh:
                    packages = parse_dpkg_status(fh.read())
                self.index.put(DPKG_STATUS, stamp, [[p.name, p.version, p.arch] for p in packages])
                return packages
            if self.manager == "dpkg":
                with open(DPKG_STATUS, encoding="utf-8", errors="replace") as fh:
                    return parse_dpkg_status(fh.read())
            if self.manager == "apk":
                with open(APK_DB, encoding="utf-8", errors="replace") as fh:
                    packages, self._apk_owners = parse_apk_db(fh.read())
                return packages
            if self.manager == "rpm":
                from .. import _runner

                res = _runner.run(
                    ["rpm", "-qa", "--qf", "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\n"], timeout=60
                )
                if not res.ok:
                    raise OSError(res.stderr.strip() or "rpm -qa failed")
                return parse_rpm_qa(res.stdout)
        except OSError as exc:
            self.warnings.append(f"system: cannot read the {self.manager} database: {exc}")
        return []

    def owners(self, paths: Iterable[str]) -> dict[str, str]:
        """path -> owning package name, for the paths any package owns."""
        # Each path under every name it may be listed by: as resolved, with its directory's links resolved,
        # and with /usr added or dropped (merged-/usr systems list /lib/... for files in /usr/lib/...).
        variants: dict[str, str] = {}
        for path in paths:
            for variant in _path_variants(path):
                variants.setdefault(variant, path)
        if not variants:
            return {}
        if self.manager == "dpkg":
            found = self._dpkg_owners(variants)
        elif self.manager == "apk":
            found = {v: self._apk_owners[v] for v in variants if v in self._apk_owners}
        elif self.manager == "rpm":
            found = self._rpm_owners(sorted(set(variants.values())))
        else:
            return {}
        return {variants.get(k, k): v for k, v in sorted(found.items())}

    def owner_among(self, paths: Iterable[str], names: Iterable[str]) -> str:
        """The first of the packages ``names`` that installed one of ``paths`` (each under the names ``owners``
        tries: merged /usr, links resolved) as one of its files; "" where none did or the host has no dpkg. Read
        from those few packages' ``md5sums`` (every regular file a package installed, by path): not the thousands
        of ``.list`` files ``owners`` scans, which a capture's owner index reads once, later."""
        if self.manager != "dpkg":
            return ""
        variants = {variant.lstrip("/") for path in paths for variant in _path_variants(path)}
        entries = self._list_names()  # a package's md5sums is beside its .list: ``name[:arch].list``
        for name in names:
            lists = [e for e in entries if e == f"{name}.list" or e.startswith(f"{name}:")]
            for entry in lists:
                try:
                    with open(
                        os.path.join(DPKG_INFO, entry[: -len(".list")] + ".md5sums"), encoding="utf-8", errors="replace"
                    ) as fh:
                        if any(line.rstrip("\n").partition("  ")[2] in variants for line in fh):
                            return name
                except OSError:
                    continue
        return ""

    def as_installed(self, paths: Iterable[str]) -> set[str]:
        """Those of ``paths`` that a dpkg package installed and that are as it installed them: the MD5 its
        ``md5sums`` records for the file. Debian builds a ``python3-*`` package's wheel, writes its RECORD, then
        strips the shared objects (dh_strip), so a RECORD hash is not the judge of such a file, ``dpkg --verify`` is.
        Empty where the host has no dpkg."""
        if self.manager != "dpkg":
            return set()
        import hashlib

        owned = self.owners(paths)
        entries = self._list_names()
        recorded: dict[str, str] = {}  # path (no leading /) -> its md5
        for name in sorted(set(owned.values())):
            for entry in (e for e in entries if e == f"{name}.list" or e.startswith(f"{name}:")):
                try:
                    with open(
                        os.path.join(DPKG_INFO, entry[: -len(".list")] + ".md5sums"), encoding="utf-8", errors="replace"
                    ) as fh:
                        for line in fh:
                            digest, _, where = line.rstrip("\n").partition("  ")
                            recorded.setdefault(where, digest)
                except OSError:
                    continue
        out = set()
        for path in owned:
            wanted = {recorded.get(v.lstrip("/")) for v in _path_variants(path)} - {None}
            if not wanted:
                continue
            hasher = hashlib.md5(usedforsecurity=False)
            try:
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        hasher.update(block)
            except OSError:
                continue
            if hasher.hexdigest() in wanted:
                out.add(path)
        return out

    def module_shared_objects(self, dist_dir: str, site_dir: str, modules: Iterable[str]) -> tuple[str, ...]:
        """The shared objects of a Python distribution that lists none of its files (Debian's ``python3-numpy``
        installs ``numpy-1.24.2.egg-info`` without RECORD or installed-files.txt): those the list of the system
        package owning its ``dist_dir`` names under ``site_dir`` in one of its top-level ``modules`` (``numpy/...``,
        or a module ``_cffi_backend.cpython-311-x86_64-linux-gnu.so``). Empty where no package owns it (dpkg only)."""
        if self.manager != "dpkg":
            return ()
        with self._module_lock:
            found = self._module_shared.get(dist_dir)
            if found is None:
                found = self._module_shared[dist_dir] = self._dpkg_module_shared(dist_dir, site_dir, set(modules))
        return found

    def dist_owners(self, dist_dirs: Iterable[str]) -> dict[str, str]:
        """Metadata folder -> the dpkg package whose list holds it (Debian's ``python3-yaml`` for
        ``/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info``), for those a package owns; {} without dpkg. The
        lookup of ``owners``: its scan of the lists, or the owner index where one was built."""
        return self.owners(dist_dirs) if self.manager == "dpkg" else {}

    def _dpkg_module_shared(self, dist_dir: str, site_dir: str, modules: set[str]) -> tuple[str, ...]:
        by_module = self._site_modules.get(site_dir)
        if by_module is None:
            by_module = self._site_modules[site_dir] = self._dpkg_site_modules(site_dir)
        candidates: dict[str, list[str]] = {}  # package -> its shared objects in the modules
        for module in modules & by_module.keys():
            for package, paths in by_module[module].items():
                candidates.setdefault(package, []).extend(paths)
        if not candidates:
            return ()
        # Only the package that installed the distribution: a namespace (``google``) is shared by several.
        wanted = {variant.encode("utf-8", "surrogateescape") for variant in _path_variants(dist_dir)}
        names = self._list_names()
        for package, paths in sorted(candidates.items()):
            for entry in (e for e in names if e == package + ".list" or e.startswith(package + ":")):
                try:
                    with open(os.path.join(DPKG_INFO, entry), "rb") as fh:
                        owned = not wanted.isdisjoint(fh.read().splitlines())
                except OSError:
                    continue
                if owned:
                    return tuple(sorted(paths))
        return ()

    def _dpkg_site_modules(self, site_dir: str) -> dict[str, dict[str, list[str]]]:
        """The shared objects the dpkg lists name under ``site_dir``: top-level module -> package -> paths."""
        from ._pyprobe import _SO_RE as _SHARED_OBJECT  # what the target probe reports as a distribution's ELF file

        sites = tuple(variant.rstrip("/") + "/" for variant in _path_variants(site_dir))
        out: dict[str, dict[str, list[str]]] = {}
        for package, lines in self._dpkg_shared_paths():
            for line in lines:
                if not line.startswith(sites) or not _SHARED_OBJECT.search(line):
                    continue
                rest = line[len(next(site for site in sites if line.startswith(site))) :]
                module = rest.split("/", 1)[0] if "/" in rest else rest.split(".", 1)[0]
                out.setdefault(module, {}).setdefault(package, []).append(line)
        return out

    def _read_dpkg_lists(self) -> list[tuple[str, bytes]]:
        if self._dpkg_lists is None:
            self._dpkg_lists = []
            for entry in self._list_names():
                try:
                    with open(os.path.join(DPKG_INFO, entry), "rb") as fh:
                        self._dpkg_lists.append((entry[: -len(".list")].split(":", 1)[0], fh.read()))
                except OSError:
                    continue
        return self._dpkg_lists

    def _list_names(self) -> list[str]:
        """The dpkg database's ``.list`` files, sorted; listed once (the owner lookups of each distribution and of
        the interpreter ask again)."""
        if self._list_entries is None:
            try:
                self._list_entries = sorted(e for e in os.listdir(DPKG_INFO) if e.endswith(".list"))
            except OSError as exc:
                self.warnings.append(f"system: cannot read {DPKG_INFO}: {exc.strerror}")
                self._list_entries = []
        return self._list_entries

    def _dpkg_shared_paths(self) -> list[tuple[str, list[str]]]:
        """Per package, in the lists' order, the paths its ``.list`` names whose file name holds ".so": all an
        owner lookup of a library needs, so the 8 MB of lists are never held at once. The capture cache keeps
        it per list, so an unchanged list is not read again."""
        if self._dpkg_shared is None:
            from ._pyprobe import file_stamp

            self._dpkg_shared = []
            for entry in self._list_names():
                path = os.path.join(DPKG_INFO, entry)
                stamp = file_stamp(path) if self.index is not None else None
                kept = self.index.get(path, stamp) if self.index is not None else None
                if kept is None:
                    try:
                        with open(path, "rb") as fh:
                            data = fh.read()
                    except OSError:
                        continue
                    kept = shared_lines(data)
                    if self.index is not None:
                        self.index.put(path, stamp, kept)
                self._dpkg_shared.append((entry[: -len(".list")].split(":", 1)[0], kept))
        return self._dpkg_shared

    def _dpkg_owners(self, wanted: Mapping[str, str]) -> dict[str, str]:
        if self._dpkg_index is not None:
            return {path: self._dpkg_index[path] for path in wanted if path in self._dpkg_index}
        owners: dict[str, str] = {}
        if all(".so" in os.path.basename(p) for p in wanted):
            # Every wanted file name holds ".so", so the lines kept of each list are all that can match.
            for package, paths in self._dpkg_shared_paths():
                for line in paths:
                    if line in wanted:
                        owners.setdefault(line, package)
            return owners
        names = sorted({re.escape(os.path.basename(p).encode()) for p in wanted})
        pattern = re.compile(b"/(?:" + b"|".join(names) + b")$", re.MULTILINE)
        for package, data in self._read_dpkg_lists():
            # Most lists name none of the libraries: one regex scan skips them without splitting lines.
            if not pattern.search(data):
                continue
            for line in data.decode("utf-8", "replace").splitlines():
                if line in wanted:
                    owners.setdefault(line, package)
        return owners

    def _rpm_owners(self, paths: list[str]) -> dict[str, str]:
        from .. import _runner

        res = _runner.run(["rpm", "-qf", "--qf", "%{NAME}\\n", *paths], timeout=60)
        out = {}
        for path, line in zip(paths, res.stdout.splitlines(), strict=False):
            if line and "not owned" not in line and "No such file" not in line:
                out[path] = line.strip()
        return out


@functools.cache
def _real_folder(folder: str) -> str:
    return os.path.realpath(folder)


@functools.cache
def realpath(path: str) -> str:
    """``os.path.realpath``, each folder resolved once: a capture resolves hundreds of libraries that live in a
    few dozen folders, and resolving a path walks every one of its components."""
    folder, name = os.path.split(path)
    if not os.path.isabs(path) or name in ("", ".", ".."):
        return os.path.realpath(path)
    candidate = os.path.join(_real_folder(folder), name)
    return os.path.realpath(candidate) if os.path.islink(candidate) else candidate


def _path_variants(path: str) -> list[str]:
    directory, base = os.path.split(path)
    out = [path, realpath(directory) + "/" + base, realpath(path)]
    for p in list(out):
        out.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
    return list(dict.fromkeys(out))


# ------------------------------------------------------------------------------------- the loader


@dataclass
class Loader:
    """Resolves DT_NEEDED names the way ld.so does, for one host."""

    cache: Mapping[str, list[tuple[str, str]]]
    ld_library_path: tuple[str, ...] = ()
    default_dirs: tuple[str, ...] = _DEFAULT_DIRS
    _elf: dict[str, elf.DynamicInfo | None] = field(default_factory=dict)
    sections: StatCache | None = None  # the capture cache of dynamic sections (``elf_cache``)
    # The sections of files by device and inode (``link_cache``), for a rebuild's verify: uv links a new venv's
    # shared objects from its own cache, the same files as the last rebuild's, under other paths.
    links: StatCache | None = None
    # What a search found, by (folders, name, machine, bits, normalised): a capture asks for libc hundreds of times.
    _searched: dict[tuple[tuple[str, ...], str, int, int, bool], str] = field(default_factory=dict)
    _in_ld_cache: dict[tuple[str, int, int], str] = field(default_factory=dict)
    _resolved: dict[tuple[str, str, elf.DynamicInfo], str] = field(default_factory=dict)
    # The CUDA kernel headers left to read in this capture (``fatbin``): a file read past it has no kernels told.
    kernel_budget: fatbin.Budget = field(default_factory=fatbin.Budget)

    @classmethod
    def for_host(cls, sections: StatCache | None = None) -> Loader:
        import glob
        import platform

        from .. import _runner

        res = _runner.run(["ldconfig", "-p"], timeout=10)
        if not res.ok:
            res = _runner.run(["/sbin/ldconfig", "-p"], timeout=10)
        llp = tuple(p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p)
        multiarch = tuple(sorted(glob.glob(f"/usr/lib/{platform.machine()}-linux-gnu")))
        extra = tuple(d.replace("/usr", "", 1) for d in multiarch)
        return cls(
            parse_ldconfig(res.stdout) if res.ok else {}, llp, extra + multiarch + _DEFAULT_DIRS, sections=sections
        )

    def dynamic(self, path: str) -> elf.DynamicInfo | None:
        real = realpath(path)
        if real in self._elf:
            return self._elf[real]
        try:
            info = self._read_dynamic(real)
        except OSError:
            # Unreadable now (not there yet: ``warm`` asks for the files of the last capture): not a fact about the
            # file, so not remembered; a later question reads it again.
            return None
        self._elf[real] = info
        return info

    def _read_dynamic(self, real: str) -> elf.DynamicInfo | None:
        """The file's dynamic section, None when it is not ELF; OSError when it cannot be read."""
        if self.sections is None:
            try:
                return elf.read_dynamic(real, self.kernel_budget)
            except ValueError:
                return None
        stamp, link = _stamp_and_link(real)  # before the read: a change while it is read is seen next time
        kept = self.sections.get(real, stamp)
        if kept is None and self.links is not None and link:
            kept = self.links.get(link, stamp)
            if kept is not None:
                self.sections.put(real, stamp, kept)
        if kept is not None:
            return _info_of(kept)
        try:
            info = elf.read_dynamic(real, self.kernel_budget)
        except ValueError:
            info = None
        if info is not None and info.kernels_cut and self.kernel_budget.spent:
            return info  # its kernels not all read for the capture's budget: not kept, so that a later one reads them
        self.sections.put(real, stamp, _section_of(info))
        if self.links is not None and link:
            self.links.put(link, stamp, _section_of(info))
        return info

    def resolve(self, name: str, origin_file: str, info: elf.DynamicInfo) -> str:
        """Where the loader finds ``name`` for ``origin_file`` (whose dynamic section is ``info``); "" when it
        finds none. Asked once per file and name: the system probe, the CUDA probe and ``warm`` share it."""
        key = (name, realpath(origin_file), info)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = self._resolve(name, origin_file, info)
        return found

    def _resolve(self, name: str, origin_file: str, info: elf.DynamicInfo) -> str:
        if "/" in name:
            return name if os.path.exists(name) else ""
        origin = os.path.dirname(realpath(origin_file))

        def expand(dirs: Iterable[str]) -> list[str]:
            return [d.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for d in dirs]

        search: list[str] = []
        if not info.runpath:
            search += expand(info.rpath)
        search += list(self.ld_library_path)
        search += expand(info.runpath)
        return (
            self._search(tuple(search), name, info, normalise=True)
            or self._from_ld_cache(name, info)
            or self._search(self.default_dirs, name, info)
            # A library bundled beside the one that needs it (auditwheel's "<pkg>.libs" folders): ld.so finds it
            # there through the RPATH of the extension module that loads the chain, or as an already-loaded soname.
            or self._search((origin,), name, info)
        )

    def locate(self, name: str, info: elf.DynamicInfo) -> str:
        """Where the loader finds the library ``name`` by its name alone, as for a binary with neither RPATH nor
        RUNPATH: a ``LD_LIBRARY_PATH`` folder, ld.so.cache, a default folder; "" when none holds one of ``info``'s
        machine and class. ``name`` is a plain file name (``check``'s system-libs rule asks for a lock's sonames):
        anything with a ``/`` in it, or a dot name, is found nowhere."""
        if "/" in name or name in ("", ".", ".."):
            return ""
        return (
            self._search(self.ld_library_path, name, info, normalise=True)
            or self._from_ld_cache(name, info)
            or self._search(self.default_dirs, name, info)
        )

    def _search(self, folders: tuple[str, ...], name: str, info: elf.DynamicInfo, normalise: bool = False) -> str:
        """The first of ``folders`` holding a ``name`` of ``info``'s machine and class; "" when none does."""
        if not folders:
            return ""
        key = (folders, name, info.machine, info.bits, normalise)
        found = self._searched.get(key)
        if found is None:
            found = ""
            for directory in folders:
                candidate = os.path.join(directory, name)
                if self._compatible(candidate, info):
                    found = os.path.normpath(candidate) if normalise else candidate
                    break
            self._searched[key] = found
        return found

    def _from_ld_cache(self, name: str, info: elf.DynamicInfo) -> str:
        key = (name, info.machine, info.bits)
        found = self._in_ld_cache.get(key)
        if found is None:
            candidates = self.cache.get(name, ())
            found = next((p for flags, p in candidates if _flags_match(flags, info) and os.path.exists(p)), "")
            self._in_ld_cache[key] = found
        return found

    def consulted(self) -> tuple[set[str], set[str]]:
        """The files whose dynamic sections were read and the folders searched, for the capture memo
        (``probes/memo.py``): what the loader's answers depend on besides ld.so.cache."""
        files = set(self._elf) | {p for p in self._in_ld_cache.values() if p}
        folders = {folder for key in self._searched for folder in key[0]}
        return files, folders | set(self.ld_library_path) | set(self.default_dirs)

    def warm(self) -> None:
        """Resolve, before the target interpreter has answered, what the files of the last capture of this
        environment need (their sections are in the capture cache): when the environment is unchanged, the
        system and CUDA probes then find every answer ready."""
        if self.sections is None:
            return
        for path in list(self.sections.old):
            info = self.dynamic(path)
            if info is not None:
                for name in info.needed:
                    if not DRIVER_LIB.match(name):
                        self.resolve(name, path, info)

    def _compatible(self, candidate: str, info: elf.DynamicInfo) -> bool:
        if not os.path.exists(candidate):
            return False
        other = self.dynamic(candidate)
        return other is None or (other.machine == info.machine and other.bits == info.bits)


# ------------------------------------------------------------------------------ the capture cache's values

# Of the values below, of ``elf.parse_dynamic`` and of the kernels ``fatbin`` reads: raise it when one changes.
ELF_CACHE_VERSION = 9


def _section_of(info: elf.DynamicInfo | None) -> list[Any]:
    """A dynamic section as the cache keeps it; [] for a file that is not ELF."""
    if info is None:
        return []
    kernels = [list(info.kernels), info.kernels_cut, info.ptx_isa]
    return [list(info.needed), list(info.rpath), list(info.runpath), info.machine, info.bits, *kernels]


def _info_of(value: list[Any]) -> elf.DynamicInfo | None:
    if not value:
        return None
    needed, rpath, runpath, machine, bits, kernels, cut, isa = value
    return elf.DynamicInfo(tuple(needed), tuple(rpath), tuple(runpath), machine, bits, tuple(kernels), cut, isa)


DPKG_CACHE_VERSION = 1  # of the values below: raise it when they change


def valid_dpkg_value(key: str, value: Any) -> bool:
    """The status file's packages as ``[name, version, arch]``; a list file's shared-library paths."""
    if not isinstance(value, list):
        return False
    if key == DPKG_STATUS:
        return all(isinstance(p, list) and len(p) == 3 and all(isinstance(x, str) for x in p) for p in value)
    return all(isinstance(line, str) for line in value)


def valid_section(key: str, value: Any) -> bool:
    """The shape ``_section_of`` writes (anything else in a cache file is read again from the ELF file)."""
    if value == []:
        return True
    if not (isinstance(value, list) and len(value) == 8):
        return False
    texts = all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in (*value[:3], value[5]))
    numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in value[3:5])
    cut = isinstance(value[6], bool) and isinstance(value[7], str) and (not value[7] or grammar.is_ptx_isa(value[7]))
    return texts and numbers and cut and value[4] in (32, 64) and all(fatbin.is_arch(a) for a in value[5])


def elf_cache(identity: str, enabled: bool = True) -> StatCache:
    """The dynamic sections of the ELF files the capture of one environment (``identity``) read."""
    return StatCache(path_for("elf", identity) if enabled else None, "elf", ELF_CACHE_VERSION, valid_section)


def link_cache(enabled: bool = True) -> StatCache:
    """The dynamic sections of the ELF files the last rebuild's verify read, keyed by ``DEVICE:INODE``
    (``_stamp_and_link``): one file for the host, rewritten by each such verify with what it used."""
    where = cache_folder() if enabled else None
    path = where / "elf-links.json" if where is not None else None
    return StatCache(path, "elf-links", ELF_CACHE_VERSION, valid_section)


def _stamp_and_link(path: str) -> tuple[list[int] | None, str]:
    """``file_stamp(path)`` and ``DEVICE:INODE`` of the file (``""`` when it cannot be read), from one ``stat``.
    The key names the file wherever it is linked: its stamp, checked as for a path, says it is unchanged."""
    try:
        st = os.stat(path)
    except OSError:
        return None, ""
    return [st.st_size, st.st_mtime_ns, st.st_ino], f"{st.st_dev}:{st.st_ino}"


def dpkg_index(enabled: bool = True) -> StatCache:
    """The host's dpkg database, one cache for every environment."""
    meta = [DPKG_CACHE_VERSION, DPKG_INFO]
    where = cache_folder() if enabled else None
    return StatCache(where / "dpkg.json" if where is not None else None, "dpkg", meta, valid_dpkg_value)


def prepare(identity: str = "", use_cache: bool = False, preload: bool = True) -> tuple[PackageDatabase, Loader]:
    """The package database read (``preload``: when the system probe, its one reader, runs) and the ld.so cache
    loaded, while the target interpreter scans its environment: the system and CUDA probes then cost no I/O for
    either. ``use_cache``: with the capture cache of the dpkg database and of the ELF sections of the
    environment ``identity`` (its interpreter), whose last libraries are then resolved already
    (``Loader.warm``)."""
    database = PackageDatabase(index=dpkg_index() if use_cache and preload else None)
    if preload:
        database.preload()
    loader = Loader.for_host(elf_cache(identity) if use_cache else None)
    loader.warm()
    return database, loader


def prepare_early(identity: str, use_cache: bool) -> Future[tuple[PackageDatabase, Loader]]:
    """``prepare`` in a thread of its own, started by the CLI with the target probe, before envsnap loads the
    model and the lock writer: its reads (the dpkg lists' and the libraries' stamps, ``ldconfig -p``) then
    overlap that loading instead of following it."""
    from concurrent.futures import Future

    future: Future[tuple[PackageDatabase, Loader]] = Future()

    def work() -> None:
        try:
            future.set_result(prepare(identity, use_cache))
        except BaseException as exc:  # the system probe reports it, as it would its own failure
            future.set_exception(exc)

    threading.Thread(target=work, name="envsnap-prepare", daemon=True).start()
    return future


def prefetch_environment(loader: Loader, python_path: str) -> None:
    """Read the dynamic section of every shared object the ``RECORD`` files of a venv's site-packages list, and
    resolve what each needs, into ``loader``'s memos, while the target interpreter is still being probed: the
    system probe then finds each already read (``Loader.dynamic``, ``Loader.resolve``). Only a venv's own folders
    are looked at (``PREFIX/lib*/python*/site-packages``, from the interpreter's path); a file that is not there
    or not ELF is skipped. It changes no result: the memos hold what a read of the same file gives."""
    prefix = os.path.dirname(os.path.dirname(os.path.abspath(python_path)))
    if not os.path.isfile(os.path.join(prefix, "pyvenv.cfg")):
        return
    import glob

    from ._pyprobe import _SO_RE as _SHARED_OBJECT

    first: dict[str, str] = {}  # each real site folder by the name it was found by first
    for site in sorted(glob.glob(os.path.join(glob.escape(prefix), "lib*", "python*", "site-packages"))):
        # The same folder through another name once only (uv's and venv's ``lib64`` link to ``lib``): resolved and
        # listed once, where every RECORD under both names was globbed, 300 of them for 149 distributions.
        first.setdefault(os.path.realpath(site), site)
    records = []
    for site in sorted(first.values()):
        try:
            names = os.listdir(site)
        except OSError:
            continue
        records += [(site, os.path.join(site, name, "RECORD")) for name in sorted(names) if name.endswith(".dist-info")]
    for site, record in records:
        try:
            with open(record, "rb") as handle:
                lines = _lines_with(handle.read(), b".so")
        except OSError:
            continue
        for line in lines:
            entry = line.rsplit(",", 2)[0]
            if '"' in entry or not _SHARED_OBJECT.search(entry):
                continue
            # A regular file inside the site folder only: a RECORD is the installed wheel's text, and a wheel
            # holds neither links nor anything that would block a read.
            path = os.path.normpath(os.path.join(site, entry))
            try:
                if not path.startswith(site + os.sep) or not stat.S_ISREG(os.lstat(path).st_mode):
                    continue
            except OSError:
                continue
            info = loader.dynamic(path)
            if info is None:
                continue
            for name in info.needed:
                if not DRIVER_LIB.match(name):
                    loader.resolve(name, path, info)


def _lines_with(text: bytes, part: bytes) -> list[str]:
    """The lines of ``text`` (split at ``\\n``) that hold ``part``, each found by ``bytes.find`` and decoded alone
    (UTF-8, an undecodable byte replaced): a large wheel's RECORD has thousands of lines, a few dozen of them naming
    a shared object, and the 2.5 MB of a 149-distribution venv's were decoded whole. The same lines as from the
    decoded text: a newline is one byte in UTF-8, never inside a character."""
    lines = []
    at = text.find(part)
    while at >= 0:
        start = text.rfind(b"\n", 0, at) + 1
        end = text.find(b"\n", at)
        if end < 0:
            end = len(text)
        lines.append(text[start:end].rstrip(b"\r").decode("utf-8", "replace"))
        at = text.find(part, end)
    return lines


def loaded_files(shared_objects: Iterable[str], loader: Loader, limit: int = 4000) -> frozenset[str]:
    """The real paths of every library the environment's binaries load: their DT_NEEDED names resolved by
    the loader's rules (RPATH/RUNPATH with ``$ORIGIN``, ``LD_LIBRARY_PATH``, the ld.so cache, the default
    directories), and what those load in turn (a wheel's extension can reach ``libcudart`` through a
    system library). ``limit`` bounds the walk."""
    seen: set[str] = set()
    queue = [realpath(p) for p in shared_objects]
    loaded: set[str] = set()
    while queue and len(seen) < limit:
        so = queue.pop()
        if so in seen:
            continue
        seen.add(so)
        info = loader.dynamic(so)
        if info is None:
            continue
        for name in info.needed:
            if DRIVER_LIB.match(name):
                continue
            path = loader.resolve(name, so, info)
            if path:
                real = realpath(path)
                loaded.add(real)
                queue.append(real)
    return frozenset(loaded)


def _flags_match(flags: str, info: elf.DynamicInfo) -> bool:
    wants64 = info.bits == 64
    has64 = any(tag in flags for tag in ("x86-64", "64bit", "AArch64", "IA-64", "s390x", "riscv64"))
    if "x32" in flags:
        return False
    return has64 == wants64 or info.machine not in (3, 62)
