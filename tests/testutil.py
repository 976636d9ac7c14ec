"""Helpers for tests in every area (importable as ``testutil``: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import dataclasses
import inspect
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from envsnap import lockfile
from envsnap.model import (
    Gpu,
    Hardware,
    Meta,
    Nvidia,
    Platform,
    PythonEnv,
    PythonPackage,
    Snapshot,
    System,
    SystemPackage,
)


def site_packages(python: Path) -> Path:
    """The site-packages folder (sysconfig's ``purelib``) of the interpreter ``python``, as it answers itself."""
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def uv_bin() -> str | None:
    """uv from PATH, or the one installed beside this interpreter (pip install uv)."""
    found = shutil.which("uv")
    if found:
        return found
    candidate = Path(sys.executable).parent / "uv"
    return str(candidate) if candidate.exists() else None


def uv_off_path(monkeypatch: Any, folder: Path, script: str = "#!/bin/sh\n") -> Path:
    """envsnap's own uv at ``folder/bin/uv`` and off PATH (``PATH=/usr/bin:/bin``), as where envsnap was installed
    with pipx or into a venv not activated: the uv it runs (``ENVSNAP_UV``), which a printed command must name by
    its path. Returns that path."""
    own = folder / "bin" / "uv"
    own.parent.mkdir(parents=True)
    own.write_text(script)
    own.chmod(0o755)
    monkeypatch.setenv("ENVSNAP_UV", str(own))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return own


def assert_complete_family(registry: Any, package: ModuleType) -> None:
    """A plug-in family's registry holds an instance of its abstract base for every module of the package (none
    left out of the declared list), each with every hook implemented and its own name."""
    from envsnap._plugins import Registry

    assert isinstance(registry, Registry)
    assert registry, "an empty family"
    for name, plugin in registry.items():
        assert isinstance(plugin, registry.base), name
        assert not inspect.isabstract(type(plugin)), name
        hooks = {n for n in dir(registry.base) if getattr(getattr(registry.base, n), "__isabstractmethod__", False)}
        assert hooks, "the base declares no hook"
        for hook in hooks:
            assert callable(getattr(plugin, hook)), (name, hook)
            assert getattr(type(plugin), hook) is not getattr(registry.base, hook), (name, hook)
        assert plugin.name == name
    modules = {
        info.name
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_") and info.name != "interface"
    }
    declared = {member.partition(":")[0] for member in registry.members}
    assert declared == modules, "every module of the family is declared in its REGISTRY, and only those"


# ------------------------------------------------------------------------------------------------ markers
# `python3 -m pytest -m "not slow"` is the fast offline subset a contributor runs before each commit; plain
# `python3 -m pytest` (what .ci/run runs) is the full suite. conftest.py gives a test its markers from the fixtures
# it uses (directly or through other fixtures) and the file it is in, so a new test is classed like its neighbours.
MARK_BY_FIXTURE = {
    "engine": "docker",  # rebuild/test_docker_engine.py, security/test_bundles.py
    "conda_channel": "conda",
    "conda_env": "conda",
    "envsnap_wheel": "network",  # pip wheel . fetches the build backend
    "built_wheel_venv": "network",  # installs envsnap's requirements into a fresh venv
    "wheelhouse": "network",  # tests/probes: pip download of a few wheels from the index
    "runtime_venv": "network",  # probes/test_cuda.py: the NVIDIA runtime wheels from the index
    "stages": "network",  # paper/test_artifact.py: a wheel from the index, pinned and bundled
    "slurm_cluster_env": "slurm",  # tests/fleet: a real local Slurm cluster
    "hung_cluster_env": "slurm",  # tests/fleet/test_fleet_hung_driver.py: a cluster of its own, one driver hung
}
MARKS_BY_FILE = {
    "e2e/test_real_install.py": ("docker", "network"),
    "rebuild/test_docker_engine.py": ("docker",),
}
SLOW_BECAUSE = ("docker", "conda", "network", "tex", "slurm", "integration")
# Tests that need none of the above but take long, by file or by test (without its parameters): slow_tests.txt.
SLOW = frozenset(
    line.strip()
    for line in (Path(__file__).parent / "slow_tests.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


# ------------------------------------------------------------------------------------------- sample locks
# The one plain lock the tests start from: CPython 3.11.7 in a venv on x86_64 Debian 12 (glibc 2.36). A test
# names only what it needs beyond that (its packages, a table, a field of the platform or the interpreter).

SAMPLE_META = Meta(generator="envsnap 0.1.0", created="2026-01-02T03:04:05Z")


def sample_platform(**changes: str) -> Platform:
    """x86_64 Debian 12 with glibc 2.36; ``changes`` replace single fields (``kernel="6.1"``)."""
    base = Platform(
        system="Linux", machine="x86_64", os_id="debian", os_version="12", libc="glibc", libc_version="2.36"
    )
    return dataclasses.replace(base, **changes)


def sample_python(*packages: PythonPackage, **changes: Any) -> PythonEnv:
    """CPython 3.11.7 (cp311) in a venv holding ``packages``; ``changes`` replace single fields."""
    base = PythonEnv(implementation="cpython", version="3.11.7", abi="cp311", kind="venv", packages=packages)
    return dataclasses.replace(base, **changes)


def sample_lock(*packages: PythonPackage, seal: bool = False, **tables: Any) -> Snapshot:
    """The sample lock with ``packages`` in its Python layer; ``tables`` replace whole tables (``system=...``,
    ``python=sample_python(..., kind="conda")``, ``envsnap=Meta()``); ``seal`` adds its content digest."""
    snap = Snapshot(envsnap=SAMPLE_META, platform=sample_platform(), python=sample_python(*packages))
    snap = dataclasses.replace(snap, **tables)
    return lockfile.seal(snap) if seal else snap


def unchecked_lock_text(snapshot: Snapshot) -> str:
    """The text ``lockfile.dumps`` writes of ``snapshot``, without its check that ``load`` would read it back: for a
    test of what the loader, or a command, makes of a lock holding a value envsnap refuses to write (a hand edit)."""
    from envsnap import _tomlwrite

    return _tomlwrite.dumps(lockfile.sealed_document(snapshot))


def dump_unchecked(snapshot: Snapshot, path: Path) -> Path:
    """``lockfile.dump`` of a lock ``load`` refuses, as a hand edit leaves it (``unchecked_lock_text``)."""
    path.write_text(unchecked_lock_text(snapshot), encoding="utf-8")
    return path


# A lock as an envsnap before the ``identity`` field wrote it, or as anyone may write one by hand: a Debian-installed
# distribution pinned to the index's file of its name and version, chosen by the name alone.
OLD_STAND_IN_LOCK = """\
[envsnap]
schema_version = 1
generator = "envsnap 0.1.0"
created = "2026-01-02T03:04:05Z"

[platform]
system = "Linux"
machine = "x86_64"
os_id = "debian"
os_version = "12"
libc = "glibc"
libc_version = "2.36"

[python]
implementation = "cpython"
version = "3.11.7"
abi = "cp311"
pointer_bits = 64
kind = "venv"

[[python.packages]]
name = "pyyaml"
version = "6.0"
record_digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
system_package = "python3-yaml"

[python.packages.artifact]
filename = "PyYAML-6.0-py3-none-any.whl"
url = "https://files.example/PyYAML-6.0-py3-none-any.whl"
sha256 = "abababababababababababababababababababababababababababababababab"
"""


class CliResult:
    """What the ``cli`` fixture returns. It lives here, not in conftest.py: a test module's ``from conftest
    import`` finds whichever of the several conftest.py files (tests/runs/, tests/fleet/, ...) was imported last."""

    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out[-500:]!r}, err={self.err[-500:]!r})"


def run_in_image(client: Any, image: str, *cmd: str) -> str:
    """Run ``cmd`` in a network-less container of ``image`` and return its stdout; the command must exit 0.
    Waits and reads the logs before removing the container (``containers.run(remove=True)`` can lose the output of
    a command that exits at once)."""
    from envsnap.rebuild._docker_engine import run_in_image as run

    code, out, err = run(client, image, list(cmd))
    assert code == 0, f"{' '.join(cmd)} exited {code} in {image}: {err.decode(errors='replace')[-2000:]}"
    return out.decode()


def counting_runs(monkeypatch: Any) -> list[list[str]]:
    """Every command envsnap's runner starts from now on (``_runner.run`` wrapped), with the interpreter versions
    asked before forgotten, so that a test counts the programs a step starts."""
    from envsnap import _runner
    from envsnap.rebuild import venv

    venv._interpreter_version.cache_clear()
    runs: list[list[str]] = []
    real = _runner.run

    def counting(argv: list[str], **kwargs: Any) -> _runner.Result:
        runs.append(argv)
        return real(argv, **kwargs)

    monkeypatch.setattr(_runner, "run", counting)
    return runs


def python_at(python: PythonEnv, version: str) -> PythonEnv:
    """``python`` as an interpreter of ``version`` records itself: its ABI tag and SOABI name that series too (a lock
    where they differ is refused), with the same ABI flags and platform."""
    major, minor = version.split(".")[:2]
    series = f"{major}{minor}"
    digits = "0123456789"
    abi = "cp" + series + python.abi[2:].lstrip(digits) if python.abi.startswith("cp") else python.abi
    parts = python.soabi.split("-", 2)
    soabi = python.soabi
    if len(parts) == 3 and parts[0] == "cpython":
        soabi = f"cpython-{series}{parts[1].lstrip(digits)}-{parts[2]}"
    return dataclasses.replace(python, version=version, abi=abi, soabi=soabi)


def locks_for_this_host(snap: Snapshot) -> dict[str, Snapshot]:
    """Locks that a host captured as ``snap`` meets, fails or warns on in every area a compatibility rule reads:
    the platform, the interpreter, the wheels and glibc, the driver and GPUs, the system packages (the host's
    manager)."""
    python, platform = snap.python, snap.platform
    first = python.packages[0]
    future = dataclasses.replace(first, wheel_tags=("cp311-cp311-manylinux_2_99_x86_64",))
    return {
        "here": snap,
        "riscv": dataclasses.replace(snap, platform=dataclasses.replace(platform, machine="riscv64")),
        "python 3.9": dataclasses.replace(snap, python=python_at(python, "3.9.18")),
        "glibc 2.99": dataclasses.replace(
            snap, python=dataclasses.replace(python, packages=(future, *python.packages[1:]))
        ),
        "gpu": dataclasses.replace(
            snap,
            nvidia=Nvidia(driver_version="550.54.15", cuda_driver_version="12.4", source="nvml"),
            hardware=Hardware(gpus=(Gpu(0, "NVIDIA H100 80GB HBM3", "9.0", 81559),)),
        ),
        "rpm packages": dataclasses.replace(
            snap,
            system=System(
                manager="rpm",
                packages=(SystemPackage(manager="rpm", name="libgomp", version="11.4.1", needed_by=(first.name,)),),
            ),
        ),
        "dpkg packages": dataclasses.replace(
            snap,
            system=System(
                manager="dpkg",
                packages=(SystemPackage(manager="dpkg", name="libgomp1", version="12.2.0", needed_by=(first.name,)),),
            ),
        ),
    }


def tex_typed(text: str) -> str:
    """LaTeX appendix source as a reader types its commands from the PDF: ``-{}-`` two hyphens, and the gaps of a
    command (a space that does not break, then where a line may end in a shell continuation) single spaces, and
    where a long word may break nothing."""
    gap = r"\nobreakspace{}\discretionary{\char92}{}{}"
    joins = (r"\discretionary{\char92}{}{}", r"\discretionary{\textquotesingle{}\char92}{\textquotesingle{}}{}")
    text = text.replace(gap, " ").replace(joins[0], "").replace(joins[1], "")  # the shell joins a long word again
    return text.replace("-{}-", "--").replace(r"\nobreakspace{}", " ")


# A PEP 517 backend kept in the project (``backend-path``): builds its wheel, and an editable one (a .pth file naming
# the folder), with the standard library alone, so pip and uv install the project offline with no build requirement.
_IN_TREE_BACKEND = """\
import base64, hashlib, os, zipfile

NAME, VERSION = "@NAME@", "@VERSION@"
DIST = f"{NAME}-{VERSION}"


def _wheel(directory, files):
    files[f"{DIST}.dist-info/METADATA"] = f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n".encode()
    files[f"{DIST}.dist-info/WHEEL"] = b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    digest = lambda v: base64.urlsafe_b64encode(hashlib.sha256(v).digest()).rstrip(b"=").decode()
    record = "".join(f"{k},sha256={digest(v)},{len(v)}\\n" for k, v in files.items()) + f"{DIST}.dist-info/RECORD,,\\n"
    files[f"{DIST}.dist-info/RECORD"] = record.encode()
    filename = f"{DIST}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, filename), "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
    return filename


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(f"{NAME}/__init__.py", "rb") as f:
        return _wheel(wheel_directory, {f"{NAME}/__init__.py": f.read()})


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {f"_{NAME}.pth": (os.getcwd() + "\\n").encode()})
"""


def in_tree_project(folder: Path, name: str, version: str) -> Path:
    """A project at ``folder`` (its package ``name/__init__.py``: ``X = 1``) that pip and uv build offline, with
    ``--no-build-isolation`` or none: its build backend is in the project (``_IN_TREE_BACKEND``)."""
    (folder / name).mkdir(parents=True)
    (folder / "_backend").mkdir()
    code = _IN_TREE_BACKEND.replace("@NAME@", name).replace("@VERSION@", version)
    (folder / "_backend" / "inproj.py").write_text(code)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "inproj"\nbackend-path = ["_backend"]\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
    )
    (folder / name / "__init__.py").write_text("X = 1\n")
    return folder


def count_tags_made(monkeypatch: Any) -> list[int]:
    """A one-item list counting every ``packaging.tags.Tag`` made from here on (``monkeypatch`` restores it): how many
    tags a target's supported set was built from."""
    from packaging import tags as ptags

    made = [0]

    class Counted(ptags.Tag):
        __slots__ = ()

        def __init__(self, *args: str) -> None:
            made[0] += 1
            super().__init__(*args)

    monkeypatch.setattr(ptags, "Tag", Counted)
    return made
