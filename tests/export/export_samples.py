"""Hand-written locks for the export tests: every kind of source, tricky names, local labels, unicode."""

from __future__ import annotations

import dataclasses
import re
import shutil
import sys
from pathlib import Path
from types import MappingProxyType

from envsnap import lockfile
from envsnap.model import (
    Artifact,
    Conda,
    CondaPackage,
    Cpu,
    Cuda,
    Framework,
    Gpu,
    Hardware,
    Meta,
    Nvidia,
    Platform,
    Project,
    PythonEnv,
    PythonPackage,
    Snapshot,
    Source,
    System,
    SystemPackage,
)

GOLDEN = Path(__file__).parent / "golden"

H = "0123456789abcdef" * 4  # a 64-hex-digit stand-in for sha256 values


def sha(n: int) -> str:
    return f"{n:02x}" + H[2:]


PYPI = "https://pypi.org/simple"
CU121 = "https://download.pytorch.org/whl/cu121"


def wheel(name: str, version: str, tag: str, n: int, index: str = PYPI, size: int = 1000) -> Artifact:
    filename = f"{name}-{version}-{tag}.whl"
    host = "https://files.pythonhosted.org/packages/aa/bb" if index == PYPI else index
    return Artifact(
        filename=filename,
        url=f"{host}/{filename.replace('+', '%2B')}",
        sha256=sha(n),
        size=size,
        upload_time="2024-10-01T12:34:56Z" if index == PYPI else "",
        index=index,
    )


def python_packages() -> tuple[PythonPackage, ...]:
    return (
        PythonPackage(
            name="numpy",
            version="2.1.3",
            installer="pip",
            wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",),
            artifact=wheel(
                "numpy", "2.1.3", "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", 1, size=16_300_000
            ),
            requires_python=">=3.10",
        ),
        PythonPackage(
            name="torch",
            version="2.5.1+cu121",
            installer="pip",
            requested=True,
            artifact=wheel("torch", "2.5.1+cu121", "cp311-cp311-linux_x86_64", 2, index=CU121, size=780_000_000),
        ),
        PythonPackage(
            name="typing-extensions",
            version="4.12.2",
            installer="pip",
            metadata_name="typing_extensions",
            artifact=wheel("typing_extensions", "4.12.2", "py3-none-any", 3),
        ),
        PythonPackage(
            name="zope-interface",
            version="7.1.1",
            installer="pip",
            metadata_name="zope.interface",
            artifact=wheel("zope.interface", "7.1.1", "cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64", 4),
        ),
        PythonPackage(
            name="nvidia-cudnn-cu12",
            version="9.1.0.70",
            installer="pip",
            artifact=wheel("nvidia_cudnn_cu12", "9.1.0.70", "py3-none-manylinux2014_x86_64", 5),
        ),
        PythonPackage(
            name="mylib",
            version="1.2.0",
            installer="pip",
            requested=True,
            source=Source(
                kind="vcs",
                url="https://github.com/example/mono.git",
                vcs="git",
                commit_id="0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
                requested_revision="v1.2",
                subdirectory="python/mylib",
            ),
        ),
        PythonPackage(
            name="my-project",
            version="0.3.0.dev0",
            installer="pip",
            requested=True,
            metadata_name="My_Project",
            source=Source(kind="directory", url="file://{project}/pkgs/caf%C3%A9", editable=True),
        ),
        PythonPackage(
            name="legacy-thing",
            version="0.3",
            installer="pip",
            source=Source(
                kind="archive", url="https://example.org/dl/legacy-thing-0.3.tar.gz", archive_hash="sha256=" + sha(6)
            ),
        ),
        PythonPackage(name="certifi", version="2024.8.30", installer="conda", conda_managed=True),
    )


def rich_snapshot() -> Snapshot:
    """A CUDA workstation lock with every kind of Python source, conda and system packages."""
    snapshot = Snapshot(
        envsnap=Meta(generator="envsnap 0.1.0", created="2026-11-28T12:00:00Z"),
        platform=Platform(
            system="Linux",
            machine="x86_64",
            os_id="debian",
            os_version="12",
            os_name="Debian GNU/Linux 12 (bookworm)",
            kernel="6.1.0-27-amd64",
            libc="glibc",
            libc_version="2.36",
        ),
        python=PythonEnv(
            implementation="cpython",
            version="3.11.9",
            abi="cp311",
            soabi="cpython-311-x86_64-linux-gnu",
            platform_tag="linux-x86_64",
            kind="conda",
            executable="bin/python",
            packages=python_packages(),
        ),
        system=System(
            manager="dpkg",
            packages=(
                SystemPackage(
                    manager="dpkg", name="libc6", version="2.36-9+deb12u9", arch="amd64", needed_by=("numpy",)
                ),
                SystemPackage(manager="dpkg", name="libgomp1", version="12.2.0-14", arch="amd64", needed_by=("torch",)),
            ),
        ),
        hardware=Hardware(
            memory_mib=515_000,
            cpu=Cpu(vendor="GenuineIntel", model="Intel(R) Xeon(R) Platinum 8480+", arch="x86_64", logical_cores=224),
            gpus=(
                Gpu(index=0, name="NVIDIA H100 80GB HBM3", compute_capability="9.0", memory_mib=81_559),
                Gpu(index=1, name="NVIDIA H100 80GB HBM3", compute_capability="9.0", memory_mib=81_559),
            ),
        ),
        nvidia=Nvidia(driver_version="550.54.15", cuda_driver_version="12.4", source="nvml"),
        cuda=Cuda(runtime_version="12.1", runtime_source="pip", cudnn_version="9.1.0", cudnn_source="pip"),
        frameworks=MappingProxyType(
            {"torch": Framework(name="torch", version="2.5.1+cu121", cuda_version="12.1", cudnn_version="9.1.0")}
        ),
        conda=Conda(
            subdir="linux-64",
            channels=("https://conda.anaconda.org/conda-forge",),
            packages=(
                CondaPackage(
                    name="python",
                    version="3.11.9",
                    build="hb806964_0_cpython",
                    channel="https://conda.anaconda.org/conda-forge",
                    subdir="linux-64",
                    url="https://conda.anaconda.org/conda-forge/linux-64/python-3.11.9-hb806964_0_cpython.conda",
                    md5="a" * 32,
                    sha256=sha(7),
                ),
                CondaPackage(
                    name="certifi",
                    version="2024.8.30",
                    build="pyhd8ed1ab_0",
                    channel="https://conda.anaconda.org/conda-forge",
                    subdir="noarch",
                    url="https://conda.anaconda.org/conda-forge/noarch/certifi-2024.8.30-pyhd8ed1ab_0.conda",
                    md5="b" * 32,
                    sha256=sha(8),
                ),
            ),
        ),
        project=Project(commit="4d3c2b1a" * 5, branch="main", remote_url="https://github.com/example/paper.git"),
    )
    return lockfile.seal(snapshot)


def pinned_snapshot() -> Snapshot:
    """The rich lock without the packages no file was pinned for (a VCS checkout, a source tree, an sdist):
    what a format that lists only files with hashes (conda-lock) can write."""
    rich = rich_snapshot()
    return with_packages(rich, tuple(p for p in rich.python.packages if p.artifact is not None or p.conda_managed))


def cpu_venv_snapshot() -> Snapshot:
    """The rich lock's pinned CPU wheels in a venv, without conda or the GPU stack: what the docker target builds
    from a plain python image."""
    rich = rich_snapshot()
    wheels = tuple(
        p
        for p in rich.python.packages
        if p.artifact is not None and not p.conda_managed and not p.name.startswith(("torch", "nvidia-"))
    )
    return lockfile.seal(
        dataclasses.replace(
            rich,
            conda=None,
            nvidia=None,
            cuda=None,
            frameworks=MappingProxyType({}),
            python=dataclasses.replace(rich.python, kind="venv", packages=wheels),
        )
    )


def with_packages(snapshot: Snapshot, packages: tuple[PythonPackage, ...]) -> Snapshot:
    return lockfile.seal(dataclasses.replace(snapshot, python=dataclasses.replace(snapshot.python, packages=packages)))


def uv_bin() -> str | None:
    """uv from PATH or beside the running interpreter (a test dependency)."""
    found = shutil.which("uv")
    if found:
        return found
    candidate = Path(sys.executable).parent / "uv"
    return str(candidate) if candidate.exists() else None


def latex_syntax_problems(text: str) -> list[str]:
    """A structural check of LaTeX source: braces balance, environments nest, specials are escaped,
    table rows have as many cells as columns. Catches what escaping bugs produce."""
    problems = []
    # TeX ends a line at \n only: str.splitlines would also split at U+2028, which TeX reads as a character.
    body = "\n".join(
        line.split("%", 1)[0] if not re.search(r"\\%", line) else re.sub(r"(?<!\\)%.*$", "", line)
        for line in text.split("\n")
    )
    plain = re.sub(r"\\[{}#$%&_]", "", body)
    depth = 0
    for ch in plain:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            problems.append("a '}' closes nothing")
            depth = 0
    if depth:
        problems.append(f"{depth} '{{' never closed")
    stack: list[str] = []
    for kind, env in re.findall(r"\\(begin|end)\{(\w+)\}", plain):
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            problems.append(f"\\end{{{env}}} does not match")
    if stack:
        problems.append(f"unclosed environments: {stack}")
    for ch in "#$_^~":
        text = re.sub(r"\\textasciicircum\{\}|\\textasciitilde\{\}", "", plain)
        if re.search(r"(?<!\\)" + re.escape(ch), text):
            problems.append(f"unescaped {ch!r}")
    for row in re.findall(r"^(.*)\\\\\s*$", plain, re.MULTILINE):
        if "multicolumn" not in row and "caption" not in row and row.count("&") != 1:
            problems.append(f"row with {row.count('&') + 1} cells: {row[:60]}")
    return problems
