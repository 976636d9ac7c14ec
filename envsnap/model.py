"""The snapshot model: frozen dataclasses, the only thing that crosses between envsnap's parts.

Field names are the lockfile's keys (see docs/lockfile.md). Optional tables are ``None`` when the thing is
absent (no GPU, no conda, no git work tree); lists are tuples so a snapshot is hashable and immutable.
Serialisation lives in ``envsnap.lockfile``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from functools import cached_property
from types import MappingProxyType
from typing import Literal

from ._frozen import frozen
from .grammar import is_pep440, split_hash

SCHEMA_VERSION = 1

# The enum-like fields: the values each may take, written here once. lockfile.RULES refuses any other value at
# load (a path-labelled error, exit 2), and the JSON Schema (docs/lockfile.schema.json) lists them as enums.
Origin = Literal["", "pylock", "requirements", "conda-explicit", "conda-lock"]
Libc = Literal["", "glibc", "musl"]
SourceKind = Literal["index", "vcs", "archive", "directory"]
Vcs = Literal["", "git", "hg", "bzr", "svn"]
EnvKind = Literal["venv", "conda", "system"]
PackageManager = Literal["dpkg", "rpm", "apk"]
SystemManager = Literal["", "dpkg", "rpm", "apk"]  # "": none found
NvidiaSource = Literal["", "nvml", "nvml-cuda-v1"]
CudaComponent = Literal["runtime", "cudnn", "nccl", "cublas"]
CudaSource = Literal["pip", "conda", "system", "cuda_home"]
CudaSourceOrNone = Literal["", "pip", "conda", "system", "cuda_home"]
CudaMethod = Literal["", "metadata", "header", "version_json", "filename", "ctypes"]
Noarch = Literal["", "python", "generic"]
ProjectVcs = Literal["", "git"]


def _empty_map() -> Mapping[str, str]:
    return MappingProxyType({})


@frozen
class Meta:
    """The ``[envsnap]`` table: the lock's schema version, who wrote it and when, and its content digest."""

    schema_version: int = SCHEMA_VERSION
    generator: str = ""
    created: str = ""
    content_digest: str = ""
    # Things the capture noticed but could not record fully (a broken dist-info, an unreadable database).
    warnings: tuple[str, ...] = ()
    # Set by `envsnap import`: the format the lock was made from, and the tables that format cannot know
    # (e.g. "nvidia", "hardware", "system"): their empty values mean "unknown", not "absent".
    # Written only when set, so captured locks (and their digests) do not change.
    origin: Origin = field(default="", metadata={"sparse": True})
    unknown: tuple[str, ...] = field(default=(), metadata={"sparse": True})
    # Set by `envsnap bundle`: the content digest of the lock the bundle's own was made from (pinned and sealed
    # anew, its digest is another): what a run record of that lock names. Written only when set.
    made_from: str = field(default="", metadata={"sparse": True})
    # Set by `envsnap pin`: the content digests of the locks this one was pinned from, oldest first (each pin that
    # changed the lock adds the one it read). A run record of one of them takes this lock as its own when the two
    # describe one environment (runs/record.py: ``Environment.made_with``). Written only when set.
    pinned_from: tuple[str, ...] = field(default=(), metadata={"sparse": True})
    # Set by ``envsnap pin -o`` into another folder, which writes the places of the lock it read (``{project}``, the
    # folder it lay in) by their path or under its own folder: ``moved_from`` is that folder as this lock names it
    # (``file:///home/...``, ``file://~/proj``, ``file://{project}/proj``), ``moved_to`` this lock's folder relative
    # to that one, where it lies inside it (``sub``). The identity reads the places back
    # (``lockfile.identity_digest``): a move is no other environment. Written only when set.
    moved_from: str = field(default="", metadata={"sparse": True})
    moved_to: str = field(default="", metadata={"sparse": True})


@frozen
class Platform:
    """The ``[platform]`` table: operating system, machine, kernel and C library."""

    system: str = ""
    machine: str = ""
    os_id: str = ""
    os_version: str = ""
    os_name: str = ""
    kernel: str = ""
    libc: Libc = ""
    libc_version: str = ""


@frozen
class Source:
    """Where a distribution came from (PEP 610 ``direct_url.json``); ``kind = "index"`` when it has none."""

    kind: SourceKind = "index"
    url: str = ""
    vcs: Vcs = ""
    commit_id: str = ""
    requested_revision: str = ""
    subdirectory: str = ""
    archive_hash: str = ""  # "sha256=<hex>", as PEP 610 spells it; read it through archive_digest
    editable: bool = False

    @property
    def archive_digest(self) -> tuple[str, str]:
        """``(algorithm, hex)`` of ``archive_hash``, ``("", "")`` when there is none (grammar.split_hash)."""
        return split_hash(self.archive_hash)


@frozen
class Artifact:
    """The exact file that was installed, recovered by ``envsnap pin``."""

    filename: str
    url: str
    sha256: str
    size: int = 0
    upload_time: str = ""
    index: str = ""
    rebuilt: bool = False  # built locally (sdist, VCS, directory): not the upstream artifact
    # The package had no version in the lock (an import of a local project or a git dependency whose version is
    # dynamic): ``bundle`` took it from this wheel it built. Its identity counts the version as unknown still.
    version_from_build: bool = False
    # A wheel ``bundle`` built from an sdist (``rebuilt``): that sdist's sha256, so two builds of one sdist whose
    # wheels differ (a build that is not reproducible) read as a build difference, not as another source.
    sdist_sha256: str = ""
    # A wheel ``bundle`` built (``rebuilt``): the RECORD digest of that wheel's files, which need not be the install's
    # (the package's ``record_digest``, kept: the lock's identity): an editable install's hook, a folder edited since,
    # a build that is not reproducible. What a rebuild from the bundle installs is verified against it.
    built_record_digest: str = ""


@frozen
class Candidate:
    """One file a lock from another tool lists for a package: every ``--hash`` of a requirement, every wheel
    (and sdist) of a pylock package. ``envsnap pin`` picks the one that fits the target from them; a hashed
    requirement knows only the sha256 (the file is found on the index by it)."""

    sha256: str
    filename: str = ""
    url: str = ""
    size: int = 0
    upload_time: str = ""
    index: str = ""


@frozen
class PythonPackage:
    """One ``[[python.packages]]`` entry: an installed distribution."""

    name: str  # canonical (PEP 503) name
    version: str
    installer: str = ""
    requested: bool = False
    wheel_tags: tuple[str, ...] = ()
    source: Source = field(default_factory=Source)
    record_digest: str = ""
    metadata_name: str = ""  # the name as the distribution spells it
    requires_dist: tuple[str, ...] = ()
    requires_python: str = ""
    artifact: Artifact | None = None
    # The files were installed by conda even if INSTALLER says otherwise (conda-meta lists them).
    conda_managed: bool = False
    # Found in the base interpreter's site-packages, which the venv sees (``venv --system-site-packages``), not in
    # the venv's own.
    base_site: bool = False
    # The dpkg package whose list holds its metadata folder (Debian's python3-yaml for PyYAML-6.0.dist-info): the
    # files are that .deb's build, not an index file of the same name and version. "" where no package owns it.
    system_package: str = field(default="", metadata={"sparse": True})
    # Only with ``system_package``: the headers of its METADATA (PKG-INFO) that say which project it is (Summary,
    # Home-page, Project-URL, Author...), ``KEY: value`` each (``_sameproject.identity``): pin takes the index's file
    # of its name and version in its place only where that file's agree (a namesake is another project).
    identity: tuple[str, ...] = field(default=(), metadata={"sparse": True})
    # Imported locks: every file the source file allowed (written only when there are some).
    candidates: tuple[Candidate, ...] = ()
    # The GPU architectures of the CUDA kernels its shared objects carry (``sm_80`` cubins, ``compute_90`` PTX),
    # read from their fat binaries at capture (``probes.fatbin``); () for a distribution without any.
    cuda_kernels: tuple[str, ...] = field(default=(), metadata={"sparse": True})
    # A limit on the fat binary headers read cut the reading of one of its files short: ``cuda_kernels`` may lack some.
    cuda_kernels_partial: bool = field(default=False, metadata={"sparse": True})
    # The newest PTX ISA version of its PTX kernels ("8.8": CUDA 12.9's), which a driver of an older CUDA cannot JIT.
    cuda_ptx_isa: str = field(default="", metadata={"sparse": True})

    @property
    def conda_layer(self) -> bool:
        """Installed by conda (conda-meta lists its files, or its INSTALLER says conda): the conda layer's to
        install, check and pin. Every other distribution is the pip layer's. The one rule that splits them."""
        return self.conda_managed or self.installer == "conda"

    @property
    def built_record_digest(self) -> str:
        """The RECORD digest of the wheel ``bundle`` built for this package (``artifact.built_record_digest``), read
        only on a wheel it built (``rebuilt``); "" for every other package. The one rule diff and verify read it by."""
        art = self.artifact
        return art.built_record_digest if art is not None and art.rebuilt else ""

    @property
    def legacy_version(self) -> bool:
        """The version is not PEP 440 (an old installer wrote it): kept as data and shown, but never put on a
        command line or in a file name; pin and rebuild refuse the package (``LEGACY_VERSION_REASON``)."""
        return bool(self.version) and not is_pep440(self.version)


LEGACY_VERSION_REASON = "not a PEP 440 version: envsnap does not pin, fetch or install it"


@frozen
class PthFolder:
    """One ``[[python.pth_folders]]`` entry: a folder a ``.pth`` file puts on ``sys.path`` that holds no
    distribution, so the modules imported from it are in no lock and a rebuild leaves them out."""

    pth: str  # the .pth file, paths redacted as the capture shows them
    folder: str  # the folder it adds, redacted the same way
    # ``sha256:`` of its module files (``probes.python.pth_folder_digest``); "" where not recorded (over the limits,
    # or a lock written before it): compared by path alone.
    digest: str = field(default="", metadata={"sparse": True})
    # Its module files, ``PATH SIZE SHA256`` each, sorted (``probes.python.pth_folder_listing``), which give the
    # digest: verify names the first that changed. Empty where the digest is, or a name is not one the lock takes.
    files: tuple[str, ...] = field(default=(), metadata={"sparse": True})


@frozen
class PythonEnv:
    """The ``[python]`` table: the interpreter and its installed distributions."""

    implementation: str = ""
    version: str = ""
    abi: str = ""  # the interpreter's own ABI tag, e.g. "cp311"
    soabi: str = ""
    platform_tag: str = ""  # sysconfig.get_platform()
    pointer_bits: int = 64
    free_threaded: bool = False
    kind: EnvKind = "system"
    executable: str = ""  # relative to the environment's prefix
    # The Debian package of the interpreter's release whose md5sums list its executable (a venv's base
    # interpreter, links resolved): "python3.11-minimal" for Debian's; "" for one of its own (pyenv, uv, a build).
    system_package: str = field(default="", metadata={"sparse": True})
    packages: tuple[PythonPackage, ...] = ()
    # What capture warns of (``probes.python.pth_folders``): written only when there is one, so older locks load
    # as they are and their digests do not change.
    pth_folders: tuple[PthFolder, ...] = field(default=(), metadata={"sparse": True})


@frozen
class SystemPackage:
    """One ``[[system.packages]]`` entry: a package of the system's package manager."""

    manager: PackageManager
    name: str
    version: str
    arch: str = ""
    needed_by: tuple[str, ...] = ()
    # Pinned by ``envsnap pin`` (dpkg only): the ``.deb`` file a container rebuild installs, its size and
    # sha256, and its permanent URL in the snapshot archive. Empty when not pinned (or not pinnable).
    filename: str = ""
    size: int = 0
    sha256: str = ""
    url: str = ""


@frozen
class SystemLibrary:
    """One shared library outside the environment that its binaries load."""

    soname: str
    path: str = ""  # resolved through the loader; "" when not found
    package: str = ""  # owning system package, "" when no package owns it
    needed_by: tuple[str, ...] = ()


@frozen
class System:
    """The ``[system]`` table: the system's package manager, its packages and the libraries loaded from it."""

    manager: SystemManager = ""
    packages: tuple[SystemPackage, ...] = ()
    libraries: tuple[SystemLibrary, ...] = ()


@frozen
class Cpu:
    """The ``[hardware.cpu]`` table."""

    vendor: str = ""
    model: str = ""
    arch: str = ""
    logical_cores: int = 0
    flags: tuple[str, ...] = ()


@frozen
class Gpu:
    """One ``[[hardware.gpus]]`` entry: a GPU the driver reports."""

    index: int
    name: str = ""
    compute_capability: str = ""
    memory_mib: int = 0
    uuid: str = ""
    serial: str = ""
    # The UUIDs of its MIG devices (``MIG-<uuid>``), with ``uuid``: which GPU a MIG device CUDA_VISIBLE_DEVICES
    # names is on.
    mig_uuids: tuple[str, ...] = ()


@frozen
class Hardware:
    """The ``[hardware]`` table: memory, CPU and GPUs."""

    memory_mib: int = 0
    cpu: Cpu = field(default_factory=Cpu)
    gpus: tuple[Gpu, ...] = ()


@frozen
class Nvidia:
    """The ``[nvidia]`` table: the driver, as NVML reports it."""

    driver_version: str = ""
    cuda_driver_version: str = ""  # the CUDA version the driver supports, e.g. "12.8"
    source: NvidiaSource = ""  # how it was read
    error: str = ""  # set when the driver answered with an error or hung


@frozen
class CudaLibrary:
    """One copy of one CUDA component found in or around the environment."""

    component: CudaComponent
    version: str
    source: CudaSource
    location: str = ""  # a distribution name, or a path (relative to the prefix where inside it)
    method: CudaMethod = ""
    selected: bool = False  # the copy the environment's frameworks would load


@frozen
class Cuda:
    """The ``[cuda]`` table: the CUDA components the environment loads, and every copy found."""

    runtime_version: str = ""
    runtime_source: CudaSourceOrNone = ""
    cudnn_version: str = ""
    cudnn_source: CudaSourceOrNone = ""
    nccl_version: str = ""
    nccl_source: CudaSourceOrNone = ""
    cublas_version: str = ""
    cublas_source: CudaSourceOrNone = ""
    toolkit_version: str = ""  # CUDA_HOME / /usr/local/cuda, when present
    toolkit_path: str = ""
    copies: tuple[CudaLibrary, ...] = ()


@frozen
class Framework:
    """One ``[frameworks.<name>]`` table: an ML framework and the CUDA it was built for."""

    name: str
    version: str = ""
    cuda_version: str = ""  # the CUDA the build targets
    cudnn_version: str = ""
    rocm_version: str = ""
    git_version: str = ""
    arch_list: tuple[str, ...] = ()  # sm_XY / compute_XY, from a --deep import
    # torch's: the kernels of its own CUDA library (libtorch_cuda.so), read from its fat binaries without an import;
    # recorded only where read whole. Not the distribution's ``cuda_kernels``: that union counts other libraries'.
    cuda_kernels: tuple[str, ...] = ()
    # torch's: a limit cut the reading of its libtorch_cuda short, so ``cuda_kernels`` is not recorded.
    cuda_kernels_partial: bool = field(default=False, metadata={"sparse": True})
    cuda_available: bool | None = None  # from a --deep import
    deep: bool = False
    error: str = ""


@frozen
class CondaPackage:
    """One ``[[conda.packages]]`` entry: a package of the conda environment."""

    name: str
    version: str
    build: str = ""
    build_number: int = 0
    channel: str = ""
    subdir: str = ""
    url: str = ""
    md5: str = ""
    sha256: str = ""
    depends: tuple[str, ...] = ()
    noarch: Noarch = ""  # "" is a platform package; needed to link it into a new prefix


# What each conda file an import reads records of a package beyond its archive (name, version, build, channel,
# subdir, URL) and the hashes its line gives: a field it records is a fact at its default too (conda-lock's
# ``dependencies: {}`` is a package that depends on nothing, though the lock leaves the empty field out, as every
# default); one it does not (``CONDA_UNRECORDED``: the build number an import reads from the build string, the noarch
# it reads from the subdir, an explicit file's dependencies) is not known, whatever value the import derived.
CONDA_RECORDED: dict[str, tuple[str, ...]] = {"conda-explicit": (), "conda-lock": ("depends",)}
CONDA_UNRECORDED = ("build_number", "depends", "noarch")


@frozen
class Conda:
    """The ``[conda]`` table: the conda environment's subdir, channels and packages."""

    subdir: str = ""
    channels: tuple[str, ...] = ()
    packages: tuple[CondaPackage, ...] = ()


@frozen
class Project:
    """The ``[project]`` table: the version-control state of the project the lock was captured in."""

    vcs: ProjectVcs = "git"
    commit: str = ""
    branch: str = ""
    dirty: bool = False
    diff_digest: str = ""
    remote_url: str = ""


@frozen
class Snapshot:
    """A whole lock: every table of the lockfile (docs/lockfile.md)."""

    envsnap: Meta = field(default_factory=Meta)
    platform: Platform = field(default_factory=Platform)
    python: PythonEnv = field(default_factory=PythonEnv)
    system: System = field(default_factory=System)
    hardware: Hardware = field(default_factory=Hardware)
    environment: Mapping[str, str] = field(default_factory=_empty_map)
    project: Project | None = None
    nvidia: Nvidia | None = None
    cuda: Cuda | None = None
    frameworks: Mapping[str, Framework] = field(default_factory=lambda: MappingProxyType({}))
    conda: Conda | None = None

    def package(self, name: str) -> PythonPackage | None:
        """The Python package of this (canonical or not) name, if locked (a dict lookup: a bundle asks it for every
        package, which was quadratic in the number of packages)."""
        from packaging.utils import canonicalize_name

        return self._packages_by_name.get(canonicalize_name(name))

    @cached_property
    def _packages_by_name(self) -> Mapping[str, PythonPackage]:
        """The Python packages by (canonical) name, the first of a name winning; built once per snapshot (the
        snapshot is frozen; ``dataclasses.replace`` makes a new one with its own)."""
        index: dict[str, PythonPackage] = {}
        for pkg in self.python.packages:
            index.setdefault(pkg.name, pkg)
        return index

    def pip_layer(self) -> list[PythonPackage]:
        """The Python packages the pip layer installs, in lock order (conda's own are the conda layer's:
        ``PythonPackage.conda_layer``). Bundle, pin, the rebuilders, verify, compat and the exports split the
        two layers with this one rule."""
        return [p for p in self.python.packages if not p.conda_layer]
