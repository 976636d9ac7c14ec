"""Where the locked environment would run: the target kind, what that kind of target is (``TargetFacts``, which
each rebuild target declares; compat knows no kind by name) and the facts about it that no Snapshot holds (free
disk space, the Docker engine). Probed by ``probe_target``; tests build ``Target`` directly."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .._defaults import install_hint
from .._diskfree import free_mib as free_mib
from .._frozen import frozen

if TYPE_CHECKING:
    from ..model import Snapshot
    from ..probes.hostlibs import Loader

# "host" (this machine as it is) or a rebuild target's name (``envsnap.rebuild.REGISTRY``).
TargetKind = str
HOST = "host"

DOCKER_TIMEOUT_S = 5


def bringing_python(lock: Snapshot | None) -> str:
    """The targets a remedy offers in place of an interpreter here, each bringing the locked Python: conda only for
    a lock with conda packages (its check fails a pip environment's lock, and ``rebuild --target conda`` refuses it),
    docker for any it makes an image of (not a macOS or musl lock: ``dockerfile.baseimage.platform_refusal``). Both
    where the lock is not known; "" where none makes the lock (a pip environment's lock of a Mac)."""
    if lock is None:
        return "--target conda or docker"
    from ..dockerfile.baseimage import platform_refusal

    conda = lock.conda is not None and bool(lock.conda.packages)
    docker = not conda and not platform_refusal(lock)[0]
    return "--target conda" if conda and not docker else "--target docker" if docker else ""


def or_bringing_python(lock: Snapshot | None) -> str:
    """``", or use --target docker"``: the end of a remedy that names an interpreter, where a target brings the
    locked Python (``bringing_python``); "" where none does."""
    targets = bringing_python(lock)
    return f", or use {targets}" if targets else ""


def conda_refusal(lock: Snapshot) -> tuple[str, str]:
    """Why the conda target makes no environment of ``lock``, what is wrong and what to do (``("", "")`` when it
    makes one): a lock without conda packages (a pip environment's) has nothing for conda to install, nor a Python
    to bring. The one rule: ``rebuild --target conda`` refuses the lock as it reads it (exit 2) with the two as one
    line, ``check --target conda`` fails it with them and judges nothing that environment would hold
    (``_facts.not_made``), as for a lock the docker target refuses (``dockerfile.baseimage.platform_refusal``)."""
    if lock.conda is not None and lock.conda.packages:
        return "", ""
    from ..dockerfile.baseimage import platform_refusal

    # docker only where it makes an image of the lock: not of a Mac's or a musl lock (``platform_refusal``)
    docker = "" if platform_refusal(lock)[0] else " or --target docker"
    return (
        "the lock records no conda packages, which --target conda installs",
        f"rebuild it with --target venv{docker}",
    )


@frozen
class DockerFacts:
    """What the Docker engine answered; ``reachable`` is False with ``error`` set when it did not."""

    reachable: bool
    error: str = ""
    architecture: str = ""  # the engine's machine, e.g. "x86_64" or "aarch64"
    os_type: str = ""  # "linux" for Linux containers
    runtimes: tuple[str, ...] = ()
    default_runtime: str = ""
    root_dir: str = ""
    kernel_version: str = ""  # the engine's kernel ("5.15.167.4-microsoft-standard-WSL2" under Docker Desktop's WSL 2)


@frozen
class BundleSizes:
    """What a bundle's wheels measure (bytes): as files, and unpacked (the sizes their RECORDs list)."""

    wheels: int = 0  # the lock's wheels as files
    unpacked: int = 0  # the same wheels installed
    tool: int = 0  # envsnap's own wheels for a docker image (``tool/``), as files
    tool_unpacked: int = 0


@frozen
class TargetFacts:
    """What a kind of target is, as far as the rules care; a rebuild target declares its own
    (``Rebuilder.target_facts``), and the host is ``TargetFacts()``."""

    provides_python: bool = False  # it brings its own interpreter of the locked version (conda, an image)
    # It builds a container image in the Docker engine: the image runs the lock's platform on the engine's
    # machine, with the base image's libraries, and needs the engine (and its NVIDIA runtime for a GPU).
    container: bool = False
    # It installs the lock's Python distributions into an environment of its own (a venv, a conda prefix, an
    # image): what is installed in the interpreter it starts from is no part of what it runs. The check then
    # probes that interpreter's own facts only (``CaptureOptions.interpreter_only``): reading its distributions
    # cost a process and, for a large base environment, a tenth of a second, and let a cuDNN wheel installed
    # there count for a venv that cannot load it.
    installs_packages: bool = False
    # It installs conda packages (the conda target): the Python distributions a conda package installed
    # (``conda_managed``) come with them. A target that installs packages without it (a venv, an image) cannot
    # give them: the platform rule fails such a lock before anything is fetched.
    installs_conda: bool = False


@frozen
class Target:
    kind: TargetKind = HOST
    facts: TargetFacts = TargetFacts()
    # Run without the GPU on purpose: GPU failures become warnings.
    cpu_only: bool = False
    disk_path: str = ""
    disk_free_mib: int | None = None  # None: not measured
    docker: DockerFacts | None = None  # set for a container target
    bundle: BundleSizes | None = None  # measured from the bundle the rebuild installs from, when there is one
    # A container rebuild's --base-image: the check judges the interpreter of that image, not the one the lock
    # would choose (a CUDA lock's Requires-Python failure told the user to pass it, and the check ignored it).
    base_image: str | None = None
    # The lock's system libraries as this host's loader finds them by name, (soname, path or "" when not found),
    # for the system-libs rule (``find_libraries``); None where they were not looked up (another host's facts, a
    # container, which installs its own).
    libraries: tuple[tuple[str, str], ...] | None = None
    # CUDA_VISIBLE_DEVICES where the environment would run, as set (None: unset, CUDA sees every GPU NVML lists;
    # and for a container, which sees the GPUs ``docker run --gpus`` gives it). NVML ignores it, CUDA does not.
    cuda_visible_devices: str | None = None
    # CUDA_DEVICE_ORDER with it: "PCI_BUS_ID" numbers GPUs as NVML does; unset (FASTEST_FIRST), an index of
    # CUDA_VISIBLE_DEVICES names a GPU the check cannot tell (``cuda_selected``).
    cuda_device_order: str | None = None
    # The date the check judges by (ISO, "2026-07-01"): a driver branch past its end of life is not offered
    # cuda-compat. "" where not known (a Target built by hand): no end of life is judged. ``probe_target`` sets it.
    today: str = ""
    # How long the check waited for NVML where its caller can change that (``check --gpu-timeout``): a driver that
    # did not answer in that time is named with the option. None: the caller has no such option (fleet's prolog).
    gpu_timeout: float | None = None
    # Whether the caller lets its user name another interpreter or target (check's and rebuild's --python and
    # --target): a remedy for the wrong Python names them. False for fleet's node, which judges the environment it
    # runs in (VIRTUAL_ENV, CONDA_PREFIX, else envsnap's own interpreter; srun passes on the one active for
    # ``fleet check``): `fleet check` told its user to pass --python or --target, options it does not have.
    python_options: bool = True
    # An interpreter of the lock's exact Python release on this host, where the one judged is another (a venv
    # rebuild takes it: ``rebuild.venv.find_interpreter``); "" where none was looked for or found. The remedy names
    # it: check --target venv judged envsnap's own 3.11.7 and said to install 3.11.2, which /usr/bin/python3.11 was.
    exact_python: str = ""
    # The uv a remedy names where none is found (``uv python install X.Y.Z``): the one envsnap runs, by its path
    # where the first uv on PATH is not it (``_tools.uv_word``; envsnap under pipx has its uv off PATH); "uv" for a
    # Target built by hand and another host's facts (fleet's node).
    uv: str = "uv"
    # The ``envsnap pin`` a remedy names: of the lock as the user gave it (``artifacts.bundle.pin_command``: one shell
    # word, beside the bundle for a bundle's own lock), set by the callers that know the path; the placeholder for a
    # Target built by hand.
    pin_command: str = "envsnap pin LOCK"
    # Whether this host's loader finds NVML's library (libnvidia-ml.so.1), which the NVIDIA driver installs: known
    # without asking NVML (a hung driver holds that), for a lock that needs no CUDA and records the GPUs it was
    # captured with (the cuda rule warns where this host has no driver at all). None: not looked for (a container,
    # a Target built by hand).
    nvml_library: bool | None = None
    # Whether the environment runs under Windows Subsystem for Linux (this host's kernel, or for a container the
    # engine's), where NVIDIA does not support forward compatibility (cuda-compat): the driver rule does not offer
    # it there. None: not known (an engine that did not answer, another host's facts, a Target built by hand).
    wsl: bool | None = None

    @property
    def provides_python(self) -> bool:
        return self.facts.provides_python

    @property
    def container(self) -> bool:
        return self.facts.container


def probe_docker(timeout: int = DOCKER_TIMEOUT_S) -> DockerFacts:
    """Ping the engine named by the environment (DOCKER_HOST or the default socket) with a short timeout."""
    try:
        import docker  # type: ignore[import-untyped]
        from docker.errors import DockerException  # type: ignore[import-untyped]
    except ImportError:
        return DockerFacts(
            reachable=False, error=f"the Docker SDK is not installed (reinstall envsnap: {install_hint()})"
        )
    try:
        client = docker.from_env(timeout=timeout)
    except DockerException as exc:
        return DockerFacts(reachable=False, error=_one_line(exc))
    try:
        client.ping()
        info: dict[str, Any] = client.info()
    except (DockerException, OSError) as exc:
        return DockerFacts(reachable=False, error=_one_line(exc))
    except Exception as exc:  # requests' own errors (timeouts, connection resets) are not DockerException
        return DockerFacts(reachable=False, error=_one_line(exc))
    finally:
        client.close()
    return docker_facts_from_info(info)


def docker_facts_from_info(info: dict[str, Any]) -> DockerFacts:
    runtimes = info.get("Runtimes") or {}
    return DockerFacts(
        reachable=True,
        architecture=str(info.get("Architecture", "")),
        os_type=str(info.get("OSType", "")),
        runtimes=tuple(sorted(runtimes)) if isinstance(runtimes, dict) else (),
        default_runtime=str(info.get("DefaultRuntime", "")),
        root_dir=str(info.get("DockerRootDir", "")),
        kernel_version=str(info.get("KernelVersion", "")),
    )


def current_date() -> str:
    """Today, as ``Target.today`` holds it (the local date, ISO); the one place the check reads the clock (a test
    replaces it). By ``time``, already loaded: ``datetime`` is 2 ms of imports every check and rebuild."""
    import time

    return time.strftime("%Y-%m-%d")


def probe_target(
    kind: TargetKind, facts: TargetFacts, *, cpu_only: bool = False, disk_path: str | None = None
) -> Target:
    """``kind`` with the ``facts`` its rebuild target declares, probed here (the engine for a container)."""
    docker_facts = probe_docker() if facts.container else None
    path = disk_path
    if path is None:
        # Images land in the engine's data root when it is on this machine; everything else is built here.
        local_root = docker_facts.root_dir if docker_facts and docker_facts.root_dir else ""
        path = local_root if local_root and os.path.exists(local_root) else _working_directory()
    return Target(
        kind=kind,
        facts=facts,
        cpu_only=cpu_only,
        disk_path=path,
        disk_free_mib=free_mib(path),
        docker=docker_facts,
        cuda_visible_devices=None if facts.container else os.environ.get("CUDA_VISIBLE_DEVICES"),
        cuda_device_order=None if facts.container else os.environ.get("CUDA_DEVICE_ORDER"),
        today=current_date(),
        nvml_library=None if facts.container else _nvml_library(),
        wsl=_wsl(docker_facts) if facts.container else _wsl(None),
    )


def _wsl(engine: DockerFacts | None) -> bool | None:
    """Whether the environment runs under WSL: a container on the engine's kernel (None where it did not answer or
    name one), anything else on this host's (``probes.host.wsl``: /proc/version, /dev/dxg)."""
    from ..probes.host import wsl, wsl_kernel

    if engine is None:
        return wsl()
    return wsl_kernel(engine.kernel_version) if engine.reachable and engine.kernel_version else None


def _nvml_library() -> bool:
    """Whether the loader finds NVML's library here (``nvmllib.find_library``: LD_LIBRARY_PATH, ld.so.cache, the
    default folders; nothing loaded, well under a millisecond)."""
    from ..probes.nvmllib import find_library

    return find_library(os.environ) is not None


def find_libraries(lock: Snapshot, loader: Loader | None = None) -> tuple[tuple[str, str], ...]:
    """Each system library the lock records as found on the captured machine, with where this host's loader finds
    it by name (``Loader.locate``: ``LD_LIBRARY_PATH``, ld.so.cache, the default folders), "" where it does not.
    Only the soname is used (a plain file name, by the lock's grammar); the path the lock records is never read.
    ``loader``: this host's, where one is at hand (a rebuild's check has it). Nothing where the lock records no
    such library, or this interpreter's machine cannot be read."""
    import sys

    wanted = sorted({lib.soname for lib in lock.system.libraries if lib.path})
    if not wanted:
        return ()
    from ..probes.hostlibs import Loader as HostLoader

    loader = loader or HostLoader.for_host()
    machine = loader.dynamic(sys.executable)  # the machine and ELF class a library must have to be loaded here
    if machine is None:
        return ()
    return tuple((soname, loader.locate(soname, machine)) for soname in wanted)


def _working_directory() -> str:
    try:
        return os.getcwd()
    except OSError:
        from ..errors import CheckError

        raise CheckError(
            "the working directory no longer exists: change to where the environment would be rebuilt"
        ) from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
