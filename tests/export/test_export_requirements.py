from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pip._internal.network.session import PipSession
from pip._internal.req.req_file import parse_requirements

from envsnap import lockfile
from envsnap.compare.verify import compare_package, verify
from envsnap.export import requirements
from envsnap.model import Artifact, PythonEnv, PythonPackage, Snapshot

# pip must see only the file: no index, find-links or constraints from this machine's configuration.
PIP_ENV = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def test_pip_parses_every_line(rich: Snapshot, tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(requirements.render(rich)["requirements.txt"])
    parsed = list(parse_requirements(str(path), session=PipSession()))
    by_name = {r.requirement.split("==")[0].split(" @ ")[0]: r.requirement.strip() for r in parsed}
    assert set(by_name) == {
        "legacy-thing",
        "numpy",
        "nvidia-cudnn-cu12",
        "torch",
        "typing-extensions",
        "zope-interface",
    }
    for req in parsed:
        hashes = (req.options or {}).get("hashes", {})
        assert list(hashes) == ["sha256"] and len(hashes["sha256"]) == 1, req.requirement
    assert by_name["torch"] == "torch==2.5.1+cu121"
    assert by_name["legacy-thing"] == "legacy-thing @ https://example.org/dl/legacy-thing-0.3.tar.gz"


def test_local_label_keeps_its_index(rich: Snapshot) -> None:
    text = requirements.dumps(rich)
    assert "--extra-index-url https://download.pytorch.org/whl/cu121\n" in text


def test_the_default_index_is_not_named(rich: Snapshot) -> None:
    """``--index-url https://pypi.org/simple`` overrode the mirror the installing user configured (PIP_INDEX_URL,
    pip.conf, a lab's proxy with no route to PyPI): pip-compile and ``uv export`` name the default index only when
    it is not the default. A lock with every file on another index still names that one as ``--index-url``."""
    lines = requirements.dumps(rich).splitlines()
    assert not [line for line in lines if line.startswith("--index-url")]
    mirror = "https://mirror.example.org/simple"
    packages = tuple(
        dataclasses.replace(p, artifact=dataclasses.replace(p.artifact, index=mirror))
        if p.artifact is not None and p.artifact.index.rstrip("/") == "https://pypi.org/simple"
        else p
        for p in rich.python.packages
    )
    moved = dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=packages))
    lines = requirements.dumps(moved).splitlines()
    assert f"--index-url {mirror}" in lines
    assert "--extra-index-url https://download.pytorch.org/whl/cu121" in lines


def test_source_trees_are_commented_with_their_install_command(rich: Snapshot) -> None:
    text = requirements.dumps(rich)
    assert (
        "#   pip install --no-deps 'mylib @ git+https://github.com/example/mono.git"
        "@0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c#subdirectory=python/mylib'"
    ) in text
    assert "#   pip install --no-deps -e './pkgs/café'" in text


def test_artifact_without_index_is_referenced_by_url(host_snapshot: Snapshot) -> None:
    pkg = host_snapshot.python.packages[0]
    assert pkg.artifact is not None
    bare = dataclasses.replace(pkg, artifact=dataclasses.replace(pkg.artifact, index=""))
    lock = lockfile.seal(
        dataclasses.replace(host_snapshot, python=dataclasses.replace(host_snapshot.python, packages=(bare,)))
    )
    text = requirements.dumps(lock)
    assert f"foo-bar @ {pkg.artifact.url} \\\n    --hash=sha256:{pkg.artifact.sha256}" in text
    assert "--index-url" not in text


_HASHED = ("--isolated", "--require-hashes", "--no-deps")
_OFFLINE_HASHED = (*_HASHED, "--no-index")


def _pip_install(
    requirements_txt: Path, python: Path, options: tuple[str, ...], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """This machine's pip installing ``requirements_txt`` into ``python``'s environment, run in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", *options, "-r", str(requirements_txt)],
        capture_output=True,
        text=True,
        timeout=180,
        env=PIP_ENV,
        cwd=cwd,
    )


def test_pip_installs_it_with_require_hashes(
    host_snapshot: Snapshot, tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(requirements.render(host_snapshot)["requirements.txt"])
    python = make_venv(tmp_path / "venv")
    result = _pip_install(path, python, _HASHED)
    assert result.returncode == 0, result.stdout + result.stderr
    installed = json.loads(
        subprocess.run(
            [
                str(python),
                "-c",
                "import json, importlib.metadata as m; "
                "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    assert installed == {"Foo_Bar": "1.0", "tiny_cuda": "2.0+cu121"}


def test_files_from_two_indexes_install_the_same_with_pip_and_uv(
    tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """Two packages from each of two indexes: the alphabetically first was the ``--index-url``, and uv, which asks
    an ``--extra-index-url`` first and then only the first index that lists a package, looked for ``shared==1.0`` on
    the other index, which lists shared 2.0 alone: "no version of shared==1.0", where pip installed it. The header's
    uv command looks on every index, as pip does (the hashes pin each file); a file with one index names no uv line."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "artifacts"))
    from export_samples import uv_bin
    from test_pin import make_wheel, pep503_index

    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    wheels = tmp_path / "wheels"
    alpha_files = [make_wheel(wheels / "a", name, "1.0") for name in ("pa", "shared")]
    beta_files = [make_wheel(wheels / "b", name, version) for name, version in (("pb", "1.0"), ("pc", "1.0"))]
    beta_files.append(make_wheel(wheels / "b", "shared", "2.0"))
    alpha, beta = pep503_index(tmp_path / "alpha", alpha_files), pep503_index(tmp_path / "beta", beta_files)
    packages = [
        PythonPackage(
            name=wheel.name.split("-")[0],
            version="1.0",
            artifact=Artifact(
                filename=wheel.name, url="", sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(), index=index
            ),
        )
        for index, files in ((alpha, alpha_files), (beta, beta_files[:2]))
        for wheel in files
    ]
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=tuple(packages)))
    path = tmp_path / "requirements.txt"
    path.write_bytes(requirements.render(lock)["requirements.txt"])
    text = path.read_text()
    assert f"--index-url {alpha}\n--extra-index-url {beta}\n" in text
    (uv_command,) = [line[len("#   ") :] for line in text.splitlines() if line.startswith("#   uv pip install ")]
    assert (
        uv_command == "uv pip install --require-hashes --no-deps --index-strategy unsafe-best-match -r requirements.txt"
    )
    show = "import importlib.metadata as m; print(sorted((d.metadata['Name'], d.version) for d in m.distributions()))"
    want = "[('pa', '1.0'), ('pb', '1.0'), ('pc', '1.0'), ('shared', '1.0')]"
    pip_python = make_venv(tmp_path / "pip-venv")
    result = _pip_install(path, pip_python, ("--require-hashes", "--no-deps"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert subprocess.run([pip_python, "-c", show], capture_output=True, text=True, timeout=60).stdout.strip() == want
    uv_python = make_venv(tmp_path / "uv-venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env.update(UV_NO_CONFIG="1", UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    words = [uv, *shlex.split(uv_command)[1:]]
    words.insert(3, f"--python={uv_python}")
    result = subprocess.run(words, capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert subprocess.run([uv_python, "-c", show], capture_output=True, text=True, timeout=60).stdout.strip() == want
    # One index: uv asks that one alone, and the header names pip's command only.
    one = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=tuple(packages[:2])))
    assert "uv pip install" not in requirements.dumps(one)


def test_find_links_artifacts_install_with_pip(
    find_links_snapshot: Snapshot, tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    # `envsnap pin` with PIP_FIND_LINKS=DIR records DIR as the index; pip would read `--index-url DIR` as a
    # PEP 503 index (DIR/<name>/) and find nothing, so the folder is given as --find-links and every package is
    # pinned by name (issue 12.6: `name @ file:///...` made pip record a direct URL, which verify called a
    # mismatch).
    text = requirements.dumps(find_links_snapshot)
    assert "--index-url" not in text and "--extra-index-url" not in text
    assert " @ " not in text and "tiny-cuda==2.0+cu121 \\\n" in text
    folder = next(p.artifact.index for p in find_links_snapshot.python.packages if p.artifact is not None)
    assert f"--find-links {shlex.quote(folder)}" in text.splitlines()
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    python = make_venv(tmp_path / "venv")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--isolated",
            "--no-index",
            "--require-hashes",
            "--no-deps",
            "-r",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=PIP_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully installed foo-bar-1.0 tiny-cuda-2.0+cu121" in result.stdout
    report = verify(find_links_snapshot, str(python))
    assert not report.python_mismatch, [d.describe() for d in report.differences]


def test_header_of_an_imported_lock_has_no_empty_fields(rich: Snapshot) -> None:
    bare = dataclasses.replace(rich, python=dataclasses.replace(rich.python, abi="", version=""))
    header = requirements.dumps(bare).splitlines()[1]
    assert header == "# Python (version unknown) (cpython) on linux x86_64"
    # A pylock import that knows only a Python range knows no implementation either: no "(?)" for it.
    unknown = dataclasses.replace(bare, python=dataclasses.replace(bare.python, implementation=""))
    assert requirements.dumps(unknown).splitlines()[1] == "# Python (version unknown) on linux x86_64"


def test_a_find_links_folder_in_the_project_is_given_relative_to_it(tmp_path: Path) -> None:
    """pin records a find-links folder in the project as ``file://{project}/wheels``: pip reads that as no folder.
    It is written relative to the project root, as the project's files are, and made absolute with the file by
    ``--absolute-paths``."""
    from envsnap.export import with_absolute_paths
    from envsnap.model import Artifact, PythonEnv, PythonPackage

    art = Artifact(
        filename="tinypkg-1.0-py3-none-any.whl",
        url="file://{project}/wheels/tinypkg-1.0-py3-none-any.whl",
        sha256="a" * 64,
        index="file://{project}/wheels",
    )
    pkg = PythonPackage(name="tinypkg", version="1.0", wheel_tags=("py3-none-any",), artifact=art)
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,)))
    lines = requirements.dumps(lock).splitlines()
    assert "--find-links wheels" in lines and "tinypkg==1.0 \\" in lines
    assert any("relative to the project root" in line for line in lines)
    absolute = requirements.dumps(with_absolute_paths(lock, tmp_path / "proj")).splitlines()
    assert f"--find-links {(tmp_path / 'proj' / 'wheels').as_uri()}" in absolute


def test_an_export_with_absolute_paths_says_its_paths_are_absolute_not_to_run_in_its_folder(tmp_path: Path) -> None:
    """``export -f requirements --absolute-paths`` makes every path of the file absolute, to install from any folder,
    yet its header said "Install into a fresh environment, in the folder that holds this file, with:", as for a file
    whose paths hold only there. It says the paths are absolute, and what to do from another folder."""
    from envsnap.export import with_absolute_paths

    project = tmp_path / "proj"
    lines = requirements.dumps(with_absolute_paths(_project_archive_lock(project), project)).splitlines()
    assert not any("in the folder that holds this file" in line for line in lines), lines
    assert lines[2:4] == [
        "# Install into a fresh environment with (every path in this file is absolute: from another folder than this "
        "file's, give its path to -r):",
        "#   pip install --require-hashes --no-deps -r requirements.txt",
    ], lines


def _project_archive_lock(project: Path) -> Snapshot:
    """A lock of ``pip install ./wheels/tinypkg-1.0-py3-none-any.whl`` run in ``project``, as capture records it."""
    from wheelfiles import build_wheel

    from envsnap.model import PythonEnv, PythonPackage, Source

    (project / "wheels").mkdir(parents=True)
    wheel = build_wheel(project / "wheels", "tinypkg", "1.0", "tinypkg")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    source = Source(kind="archive", url=f"file://{{project}}/wheels/{wheel.name}", archive_hash=f"sha256={digest}")
    pkg = PythonPackage(name="tinypkg", version="1.0", installer="pip", source=source, requested=True)
    return Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,)))


def test_a_local_archive_in_the_project_installs_with_pip_from_the_project(
    tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """``pip install ./wheels/x.whl`` in the project is captured as ``file://{project}/wheels/x.whl``: pip reads
    ``x @ file://{project}/...`` as no file. The export gives the path as pip reads it from the project root
    (``./wheels/x.whl``, with its hash), and ``--absolute-paths`` an absolute ``file:`` URL."""
    from envsnap.export import with_absolute_paths

    project = tmp_path / "proj"
    lock = _project_archive_lock(project)
    text = requirements.dumps(lock)
    lines = text.splitlines()
    assert "./wheels/tinypkg-1.0-py3-none-any.whl \\" in lines and "{project}" not in text.split("\n", 4)[-1]
    assert any("relative to the project root" in line for line in lines)
    (project / "requirements.txt").write_text(text)
    result = _pip_install(project / "requirements.txt", make_venv(tmp_path / "venv"), _OFFLINE_HASHED, cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully installed tinypkg-1.0" in result.stdout

    absolute = requirements.dumps(with_absolute_paths(lock, project))
    wheel = (project / "wheels" / "tinypkg-1.0-py3-none-any.whl").as_uri()
    assert f"tinypkg @ {wheel} \\" in absolute.splitlines()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "requirements.txt").write_text(absolute)
    result = _pip_install(
        tmp_path / "elsewhere" / "requirements.txt", make_venv(tmp_path / "venv2"), _OFFLINE_HASHED, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_local_archive_under_the_home_needs_absolute_paths() -> None:
    """pip does not expand ``~`` in a requirement's path: a file recorded as ``file://~/...`` is refused, naming
    ``--absolute-paths``, rather than written as a line pip cannot read."""
    from envsnap.export.interface import ExportError
    from envsnap.model import PythonEnv, PythonPackage, Source

    source = Source(
        kind="archive", url="file://~/wheels/tinypkg-1.0-py3-none-any.whl", archive_hash="sha256=" + "a" * 64
    )
    lock = Snapshot(python=PythonEnv(packages=(PythonPackage(name="tinypkg", version="1.0", source=source),)))
    with pytest.raises(ExportError, match="--absolute-paths"):
        requirements.dumps(lock)


# A project built by a backend in its own folder, with no build requirement: pip builds it offline.
_GIT_BACKEND = """
import base64, hashlib, os, zipfile

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = "gitpkg-0.2.dist-info"
    files = {"gitpkg.py": b"X = 1\\n", info + "/METADATA": b"Metadata-Version: 2.1\\nName: gitpkg\\nVersion: 0.2\\n",
             info + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    record = [f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}"
              for n, d in files.items()] + [info + "/RECORD,,"]
    files[info + "/RECORD"] = "\\n".join(record).encode()
    with zipfile.ZipFile(os.path.join(wheel_directory, "gitpkg-0.2-py3-none-any.whl"), "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return "gitpkg-0.2-py3-none-any.whl"
"""


def test_a_local_git_repository_installs_with_the_pip_a_venv_is_seeded_with(
    tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """``pip install git+file:///repo@COMMIT`` is captured as a ``vcs`` source ``file:///repo``. The exports wrote
    ``gitpkg @ git+file:///repo@COMMIT``, which pip before 24.1 (the one ``python -m venv`` seeds on Python 3.11
    and 3.12) refuses ("Invalid requirement": its URL has no host); with ``file://localhost/repo`` every pip, uv
    and git read it, a capture records the repository pip names ``file://localhost/repo`` as ``file:///repo``, and
    an import of the file gives the lock's source back."""
    from envsnap._privacy import PathRedactor
    from envsnap.export import environment_yml
    from envsnap.importers import read_file
    from envsnap.model import Conda, CondaPackage, PythonEnv, PythonPackage, Source
    from envsnap.probes.python import source_from_direct_url

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "_backend.py").write_text(_GIT_BACKEND)
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "gitpkg"\nversion = "0.2"\n\n'
        '[build-system]\nrequires = []\nbuild-backend = "_backend"\nbackend-path = ["."]\n'
    )
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    source = Source(kind="vcs", url=repo.as_uri(), vcs="git", commit_id=commit)
    package = PythonPackage(name="gitpkg", version="0.2", installer="pip", source=source)
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(package,)))
    text = requirements.dumps(lock)
    (command,) = [line[len("#   ") :] for line in text.splitlines() if line.startswith("#   pip install --no-deps ")]
    python = make_venv(tmp_path / "venv")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), *shlex.split(command)[1:], "--no-index"],
        capture_output=True,
        text=True,
        timeout=180,
        env=PIP_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (record,) = python.parent.parent.glob("lib/python*/site-packages/gitpkg-0.2.dist-info/direct_url.json")
    recorded = source_from_direct_url(json.loads(record.read_text()), PathRedactor(users=(), hosts=()))
    assert recorded == dataclasses.replace(source, requested_revision=commit)  # as a capture records it
    path = tmp_path / "requirements.txt"
    path.write_text(shlex.split(command)[-1] + "\n")
    imported = read_file(path)
    assert imported.python.packages[0].source == recorded  # @COMMIT is also the revision the line asks for

    conda = Conda(
        subdir="linux-64",
        channels=("https://conda.anaconda.org/conda-forge",),
        packages=(
            CondaPackage(
                name="python",
                version="3.11.7",
                build="h0_0",
                url="https://conda.anaconda.org/conda-forge/linux-64/python-3.11.7-h0_0.conda",
                md5="a" * 32,
            ),
        ),
    )
    yml = environment_yml.dumps(dataclasses.replace(lock, conda=conda))
    (line,) = [line.strip()[3:-1] for line in yml.splitlines() if "gitpkg @" in line]
    path.write_text(line + "\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(make_venv(tmp_path / "venv2")),
            "install",
            "--no-deps",
            "--no-index",
            "-r",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=PIP_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _seed_wheel_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A lock of a venv Debian's ``python3 -m venv`` made, pinned: its seed wheel (here tinypkg, a rebuild whose
    file no index serves) known by file name and sha256 alone, and this machine's ``/usr/share/python-wheels`` (a
    folder of the test) holding that very file. Returns the lock and the wheel."""
    from wheelfiles import build_wheel

    import envsnap.artifacts.pin as pin_module
    from envsnap.model import Artifact, PythonEnv, PythonPackage

    seeds = tmp_path / "usr" / "share" / "python-wheels"
    seeds.mkdir(parents=True)
    wheel = build_wheel(seeds, "tinypkg", "1.0", "tinypkg")
    monkeypatch.setattr(pin_module, "DISTRIBUTION_WHEEL_DIRS", (str(seeds),))
    art = Artifact(filename=wheel.name, url="", sha256=hashlib.sha256(wheel.read_bytes()).hexdigest())
    pkg = PythonPackage(name="tinypkg", version="1.0", installer="pip", artifact=art, requested=True)
    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), tmp_path / "env.lock")
    return lock, wheel


def test_a_debian_seed_wheel_known_by_sha256_installs_from_this_machines_seed_folder(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_venv: Callable[..., Path]
) -> None:
    """A pinned lock of a Debian venv records pip and setuptools by file name and sha256 alone (Debian's rebuilds,
    from /usr/share/python-wheels). Its requirements export pinned them by name and hash with no place to find
    them: pip found PyPI's file (another sha256) and failed on a hash mismatch, or, offline, found none. The file
    of this machine's seed folder with that sha256 is named, so pip installs it; the lock still names no folder."""
    lock, wheel = _seed_wheel_lock(tmp_path, monkeypatch)
    before = lock.read_bytes()
    result = cli("export", lock, "-f", "requirements", "-o", tmp_path / "requirements.txt")
    assert result.code == 0, result
    text = (tmp_path / "requirements.txt").read_text()
    assert f"tinypkg @ {wheel.as_uri()} \\\n" in text, text
    python = make_venv(tmp_path / "venv")
    installed = _pip_install(tmp_path / "requirements.txt", python, _OFFLINE_HASHED, cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "Successfully installed tinypkg-1.0" in installed.stdout
    assert lock.read_bytes() == before


def test_a_debian_seed_wheel_comes_back_from_the_requirements_export_as_the_lock_had_it(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """capture, export -f requirements, import, verify of a Debian venv: the export names its pip by this machine's
    seed wheel (``pip @ file:///usr/share/python-wheels/...``), which the import recorded as an archive install, so
    verify of the very venv (pip seeded by ensurepip, no direct_url.json) said "source file:///usr/share/... ->
    index", a mismatch. The import records the seed wheel as the lock did: an index install known by file name and
    sha256, and verify finds nothing to say about its source."""
    lock, wheel = _seed_wheel_lock(tmp_path, monkeypatch)
    assert cli("export", lock, "-f", "requirements", "-o", tmp_path / "requirements.txt").code == 0
    assert f"tinypkg @ {wheel.as_uri()} \\\n" in (tmp_path / "requirements.txt").read_text()
    result = cli("import", tmp_path / "requirements.txt", "-o", tmp_path / "imported.lock")
    assert result.code == 0, result
    (pkg,) = lockfile.load(tmp_path / "imported.lock").python.packages
    (locked,) = lockfile.load(lock).python.packages
    assert pkg.source.kind == "index", pkg.source
    assert pkg.artifact is not None and locked.artifact is not None
    assert (pkg.artifact.filename, pkg.artifact.url, pkg.artifact.sha256) == (wheel.name, "", locked.artifact.sha256)
    assert pkg.wheel_tags == ("py3-none-any",)
    installed = dataclasses.replace(locked, artifact=None)  # as verify captures it: seeded, no direct_url.json
    assert compare_package(pkg, installed) == []
    again = cli("export", tmp_path / "imported.lock", "-f", "requirements", "-o", tmp_path / "again.txt")
    assert again.code == 0, again
    assert f"tinypkg @ {wheel.as_uri()} \\\n" in (tmp_path / "again.txt").read_text()


def test_a_debian_seed_wheel_comes_back_from_the_pylock_export_as_the_requirements_import_has_it(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pylock export names a Debian venv's seed wheel by this machine's file (``path =
    "/usr/share/python-wheels/..."``), as the requirements export does. Its import kept that path as the wheel's URL,
    a folder of the author's machine the lock never had, where the requirements import of the same lock records the
    wheel by file name and sha256 alone: the two imports agree now, and the export names this machine's file again."""
    lock, wheel = _seed_wheel_lock(tmp_path, monkeypatch)
    out = tmp_path / "out"  # apart from the seed folder, which lies outside the imported lock's project
    assert cli("export", lock, "-f", "pylock", "-o", out / "pylock.toml").code == 0
    assert f'path = "{wheel}"' in (out / "pylock.toml").read_text()
    assert cli("export", lock, "-f", "requirements", "-o", out / "requirements.txt").code == 0
    for name in ("pylock.toml", "requirements.txt"):
        result = cli("import", out / name, "-o", out / f"{name}.lock")
        assert result.code == 0, result
    (from_pylock,) = lockfile.load(out / "pylock.toml.lock").python.packages
    (from_requirements,) = lockfile.load(out / "requirements.txt.lock").python.packages
    (locked,) = lockfile.load(lock).python.packages
    assert from_pylock.source.kind == "index", from_pylock.source
    assert from_pylock.artifact is not None and from_requirements.artifact is not None and locked.artifact is not None
    shown = [(a.filename, a.url, a.sha256, a.index) for a in (from_pylock.artifact, from_requirements.artifact)]
    assert shown == [(wheel.name, "", locked.artifact.sha256, "")] * 2
    assert "python-wheels" not in (out / "pylock.toml.lock").read_text()
    assert from_pylock.wheel_tags == ("py3-none-any",)
    again = cli("export", out / "pylock.toml.lock", "-f", "pylock", "-o", out / "again" / "pylock.toml")
    assert again.code == 0, again
    assert f'path = "{wheel}"' in (out / "again" / "pylock.toml").read_text()


def test_a_seed_wheel_no_folder_here_holds_is_said_by_the_requirements_export(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exported where no seed folder holds the file (another machine, another Debian release): the file pins it by
    name and hash, which an index serves only if it is the upstream file, and a note says so and what to do."""
    lock, wheel = _seed_wheel_lock(tmp_path, monkeypatch)
    wheel.unlink()
    result = cli("export", lock, "-f", "requirements", "-o", tmp_path / "requirements.txt")
    assert result.code == 0, result
    assert "tinypkg==1.0 \\\n" in (tmp_path / "requirements.txt").read_text()
    (note,) = [line for line in result.err.splitlines() if line.startswith("note:")]
    assert "tinypkg==1.0" in note and "seed" in note and "envsnap bundle" in note, result.err
    # Printed (-o -): the same note, naming standard output (it was left out).
    printed = cli("export", lock, "-f", "requirements", "-o", "-")
    assert printed.code == 0 and "tinypkg==1.0 \\\n" in printed.out, printed
    assert [line for line in printed.err.splitlines() if line.startswith("note:")] == [
        note.replace(f"note: {tmp_path / 'requirements.txt'} ", "note: standard output ")
    ], printed.err
    assert note.startswith(f"note: {tmp_path / 'requirements.txt'} pins "), note


def test_an_ensurepip_wheel_known_by_sha256_stays_pinned_by_name_for_the_index(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh venv of a pyenv Python, bundled offline: pip from its ``ensurepip/_bundled``, by name and sha256, is
    PyPI's own file. The requirements export pinned it by name and hash, which installs anywhere; naming the file of
    this machine's ``~/.pyenv/.../ensurepip/_bundled`` instead would tie the file to this home. It stays pinned by
    name, with no note; the pylock, which has no other place to give, names the file."""
    import sysconfig

    import envsnap.artifacts.pin as pin_module

    stdlib = tmp_path / "home" / ".pyenv" / "versions" / "3.11.7" / "lib" / "python3.11"
    (stdlib / "ensurepip" / "_bundled").mkdir(parents=True)
    from wheelfiles import build_wheel

    wheel = build_wheel(stdlib / "ensurepip" / "_bundled", "tinypkg", "1.0", "tinypkg")
    real = sysconfig.get_path
    monkeypatch.setattr(sysconfig, "get_path", lambda name, *a, **k: str(stdlib) if name == "stdlib" else real(name))
    monkeypatch.setattr(pin_module, "DISTRIBUTION_WHEEL_DIRS", ())
    art = Artifact(filename=wheel.name, url="", sha256=hashlib.sha256(wheel.read_bytes()).hexdigest())
    pkg = PythonPackage(name="tinypkg", version="1.0", installer="pip", artifact=art, requested=True)
    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), tmp_path / "env.lock")
    result = cli("export", lock, "-f", "requirements", "-o", tmp_path / "requirements.txt")
    assert result.code == 0 and "note:" not in result.err, result
    text = (tmp_path / "requirements.txt").read_text()
    assert "tinypkg==1.0 \\\n" in text and ".pyenv" not in text, text
    result = cli("export", lock, "-f", "pylock", "-o", tmp_path / "pylock.toml")
    assert result.code == 0 and f'path = "{wheel}"' in (tmp_path / "pylock.toml").read_text(), result


@pytest.mark.parametrize("kind", ["archive", "vcs"])
def test_a_subdirectory_pip_would_cut_at_its_ampersand_is_refused(
    kind: str, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """``#subdirectory=a&b``: pip (``[#&]subdirectory=([^&]*)``) and uv read the fragment as written, never
    percent-decoded, and stop at the ``&``: the line built the folder ``a`` (or failed), and ``a%26b`` would name a
    folder ``a%26b``. No spelling gives them ``a&b``: the export says so (exit 2) and writes no file."""
    from envsnap.model import Source

    if kind == "archive":
        source = Source(kind="archive", url="https://example.org/mono.tar.gz", archive_hash="sha256=" + "1" * 64)
    else:
        source = Source(kind="vcs", url="https://example.org/mono.git", vcs="git", commit_id="0" * 40)
    pkg = PythonPackage(name="sub", version="1.0", source=dataclasses.replace(source, subdirectory="tools/a&b"))
    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), tmp_path / "env.lock")
    target = tmp_path / "requirements.txt"
    result = cli("export", lock, "-f", "requirements", "-o", target)
    assert result.code == 2, result
    assert "subdirectory" in result.err and "'tools/a&b'" in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
    assert not target.exists()


def _git_repo_with_a_project_in(folder: Path, subdirectory: str) -> tuple[Path, str]:
    """A git repository at ``folder`` whose one commit holds an offline-buildable project ``spaced`` 0.3 in
    ``subdirectory``; the repository and its commit."""
    from testutil import in_tree_project

    in_tree_project(folder / subdirectory, "spaced", "0.3")
    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    return folder, head.stdout.strip()


def _commented_command(text: str) -> list[str]:
    """The export's one commented install command, as the shell splits it."""
    (command,) = [line[len("#   ") :] for line in text.splitlines() if line.startswith("#   pip install --no-deps ")]
    return shlex.split(command)


def test_a_repositorys_project_in_a_folder_with_a_space_installs_from_the_commented_command(
    tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """A commit's project in ``my pkg`` (``pip install 'git+URL@C#subdirectory=my pkg'`` installs it so): the
    comment said ``pip install --no-deps 'spaced @ git+URL@C#subdirectory=my pkg'``, which pip refuses (a
    requirement's URL ends at the space: "It looks like a path"). It names the URL alone, one shell word, which pip
    reads to its end: that commit's folder is installed, and recorded as that folder."""
    from envsnap.model import Source

    repo, commit = _git_repo_with_a_project_in(tmp_path / "repos & co" / "mono", "my pkg")
    source = Source(kind="vcs", url=repo.as_uri(), vcs="git", commit_id=commit, subdirectory="my pkg")
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("spaced", "0.3", source=source),)))
    argv = _commented_command(requirements.dumps(lock))
    python = make_venv(tmp_path / "venv")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), *argv[1:], "--no-index", "--no-build-isolation"],
        capture_output=True,
        text=True,
        timeout=180,
        env=PIP_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (record,) = python.parent.parent.glob("lib/python*/site-packages/spaced-0.3.dist-info/direct_url.json")
    assert json.loads(record.read_text())["subdirectory"] == "my pkg"


@pytest.mark.parametrize("subdirectory", ["my pkg", "my_pkg"])
def test_a_commits_folder_command_says_when_it_is_pips_alone(
    tmp_path: Path, make_venv: Callable[..., Path], subdirectory: str
) -> None:
    """``pip install --no-deps 'git+URL@C#subdirectory=my pkg'`` installs the folder with pip, but uv reads the
    space of a ``#subdirectory=`` as ``%20`` ("has no subdirectory `my%20pkg`"), and no spelling of the URL gives
    uv the folder (it never percent-decodes it): the comment gave the command as every installer's. A line under it
    says the command is pip's and why, and how to install it with uv; a folder without a space has no such line, and
    its command installs with uv as with pip."""
    from testutil import uv_bin

    from envsnap.model import Source

    repo, commit = _git_repo_with_a_project_in(tmp_path / "mono", subdirectory)
    source = Source(kind="vcs", url=repo.as_uri(), vcs="git", commit_id=commit, subdirectory=subdirectory)
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("spaced", "0.3", source=source),)))
    text = requirements.dumps(lock)
    lines = text.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith("#   pip install --no-deps ")]
    note = lines[at + 1] if at + 1 < len(lines) else ""
    if " " in subdirectory:
        assert note.startswith("#     (pip only: uv reads the space in #subdirectory= as %20"), text
    else:
        assert not note.startswith("#    "), text
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    argv = _commented_command(text)
    python = make_venv(tmp_path / "venv")
    result = subprocess.run(
        [uv, "pip", "install", "--python", str(python), "--offline", *argv[2:]],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if " " in subdirectory:  # the note is true of this uv; when a uv reads the folder, the note goes
        assert result.returncode != 0 and "my%20pkg" in result.stderr, result.stdout + result.stderr
    else:
        assert result.returncode == 0, result.stdout + result.stderr
        assert next(python.parent.parent.glob("lib/python*/site-packages/spaced-0.3.dist-info")).is_dir()


def test_a_pip_install_from_a_subdirectory_with_a_space_is_captured_exported_and_installed_again(
    tmp_path: Path, make_venv: Callable[..., Path], cli: Callable[..., Any]
) -> None:
    """The user's own ``pip install 'git+file://.../repos & co/mono@C#subdirectory=./my pkg/'`` (and of a folder
    of that path): the capture recorded direct_url.json's ``./my pkg/`` as pip wrote it, and the lock it wrote was
    refused on its next load. It is captured as the folder ``my pkg``, the lock loads, and the requirements
    export's commands install the same commit's folder (and the same local folder) into a fresh venv."""
    repo, commit = _git_repo_with_a_project_in(tmp_path / "repos & co" / "mono", "my pkg")
    from testutil import in_tree_project

    local = in_tree_project(tmp_path / "repos & co" / "local proj", "localproj", "0.5")
    offline = ["--no-deps", "--no-index", "--no-build-isolation"]

    def pip_install(python: Path, *args: str) -> None:
        pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *offline, *args]
        result = subprocess.run(pip, capture_output=True, text=True, timeout=300, env=PIP_ENV)
        assert result.returncode == 0, result.stdout + result.stderr

    python = make_venv(tmp_path / "venv")
    url = "git+" + repo.as_uri().replace("file://", "file://localhost", 1)
    pip_install(python, f"{url}@{commit}#subdirectory=./my pkg/", str(local))
    lock = tmp_path / "env.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0
    pkg = lockfile.load(lock).package("spaced")
    assert pkg is not None and (pkg.source.kind, pkg.source.subdirectory) == ("vcs", "my pkg"), pkg
    out = tmp_path / "requirements.txt"
    result = cli("export", lock, "-f", "requirements", "-o", out)
    assert result.code == 0, result
    commands = [line[len("#   ") :] for line in out.read_text().splitlines() if line.startswith("#   pip install")]
    again = make_venv(tmp_path / "again")
    for command in commands[1:]:  # the first is the header's -r of the file itself
        argv = shlex.split(command)
        assert argv[:3] == ["pip", "install", "--no-deps"], command
        pip_install(again, *argv[3:])
    site = next(again.parent.parent.glob("lib/python*/site-packages"))
    spaced = json.loads((site / "spaced-0.3.dist-info" / "direct_url.json").read_text())
    assert (spaced["subdirectory"], spaced["vcs_info"]["commit_id"]) == ("my pkg", commit), spaced
    assert (site / "localproj-0.5.dist-info").is_dir()


@pytest.mark.parametrize(
    ("url", "where", "name"),
    [
        ("file://{project}", "project", "proj"),
        ("file://~/lib", "home", "home"),
        ("file://{project}", "project", "my proj"),
        ("file://~/lib", "home", "my home"),
    ],
)
def test_a_repository_the_lock_names_by_a_label_installs_from_the_commented_command(
    tmp_path: Path, make_venv: Callable[..., Path], url: str, where: str, name: str
) -> None:
    """A git package installed from the project's own repository (``file://{project}``) or one in the home
    (``file://~/lib``, as the tutorial's ``pip install git+file:///home/me/lib`` is recorded): the comment said
    ``pip install --no-deps 'spaced @ git+file://~/lib@C'``, a label pip cannot read (``git clone`` of a folder
    named ``~``), so the command failed as pasted. It names the folder by the shell's ``$PWD`` (run from the project
    root, as the file's header says) or ``$HOME``, and installs that commit's folder. From a folder with a space
    (``/tmp/my proj``) the command was ``'x @ git+file://localhost'"$PWD"@C``, which pip refused ("Invalid
    requirement": a requirement's URL ends at the space); it is the URL as a word of its own, which pip reads to its
    end."""
    from envsnap.model import Source

    home = tmp_path / (name if where == "home" else "home")
    folder = tmp_path / name if where == "project" else home / "lib"
    repo, commit = _git_repo_with_a_project_in(folder, "libs/x")
    source = Source(kind="vcs", url=url, vcs="git", commit_id=commit, subdirectory="libs/x")
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("spaced", "0.3", source=source),)))
    lines = requirements.dumps(lock).splitlines()
    (command,) = [line[len("#   pip ") :] for line in lines if line.startswith("#   pip install --no-deps ")]
    # A '#' in the folder's path, which pip reads as the URL's end whatever its escape, and a '%', which pip and then
    # git decode (from /tmp/50%41 pip cloned /tmp/50A), are said under the command.
    assert "#     (a '#' or '%' in that folder's path" in lines[lines.index("#   pip " + command) + 1], lines
    python = make_venv(tmp_path / "venv")
    pip = f"{shlex.quote(sys.executable)} -m pip --python {shlex.quote(str(python))}"
    result = subprocess.run(
        ["sh", "-c", f"{pip} {command} --no-index --no-build-isolation"],
        cwd=repo if where == "project" else tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={**PIP_ENV, "HOME": str(home)},
    )
    assert result.returncode == 0, command + "\n" + result.stdout + result.stderr
    (record,) = python.parent.parent.glob("lib/python*/site-packages/spaced-0.3.dist-info/direct_url.json")
    recorded = json.loads(record.read_text())
    assert recorded["vcs_info"]["commit_id"] == commit and recorded["subdirectory"] == "libs/x", recorded


@pytest.mark.parametrize("editable", [True, False])
def test_a_local_project_in_the_home_installs_from_the_commented_command(
    tmp_path: Path, make_venv: Callable[..., Path], editable: bool
) -> None:
    """A local project recorded in the home (``file://~/my%20lib``, a folder under the author's home): the comment
    said ``pip install --no-deps -e '~/my lib'``, whose quoted ``~`` the shell does not expand, so pip refused it
    ("not a valid editable requirement"). It names the folder by the shell's ``$HOME``, and installs that folder."""
    from testutil import in_tree_project

    from envsnap.model import Source

    home = tmp_path / "home"
    in_tree_project(home / "my lib", "homelib", "0.4")
    source = Source(kind="directory", url="file://~/my%20lib", editable=editable)
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("homelib", "0.4", source=source),)))
    (command,) = [
        line[len("#   pip ") :]
        for line in requirements.dumps(lock).splitlines()
        if line.startswith("#   pip install --no-deps ")
    ]
    python = make_venv(tmp_path / "venv")
    pip = f"{shlex.quote(sys.executable)} -m pip --python {shlex.quote(str(python))}"
    result = subprocess.run(
        ["sh", "-c", f"{pip} {command} --no-index --no-build-isolation"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={**PIP_ENV, "HOME": str(home)},
    )
    assert result.returncode == 0, command + "\n" + result.stdout + result.stderr
    (record,) = python.parent.parent.glob("lib/python*/site-packages/homelib-0.4.dist-info/direct_url.json")
    recorded = json.loads(record.read_text())
    assert recorded["url"] == (home / "my lib").as_uri(), recorded
    assert recorded.get("dir_info", {}).get("editable", False) is editable, recorded


@pytest.mark.parametrize("url", ["https://example.org/mono.git?ref=main", "file:///srv/mono#egg=mono"])
def test_a_vcs_url_with_a_query_or_fragment_is_refused_where_the_commit_would_follow_it(
    url: str, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A lock's VCS URL with a query or a fragment (a hand-made lock's: no capture records one) was written
    ``git+URL@COMMIT``: pip takes the revision from the URL's path only, so ``git+https://h/r?ref=main@C`` and
    ``git+file://localhost/r#egg=x@C`` named no revision, and pip installed the repository's default branch, not the
    commit the lock pins. No spelling puts the commit after them: the export says so (exit 2) and writes no file."""
    from pip._internal.vcs.git import Git

    from envsnap.model import Source

    commit = "0" * 40
    source = Source(kind="vcs", url=url, vcs="git", commit_id=commit)
    assert Git.get_url_rev_and_auth(f"git+{url}@{commit}".partition("#")[0])[1] is None  # what pip made of it
    pkg = PythonPackage(name="mono", version="1.0", source=source)
    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), tmp_path / "env.lock")
    target = tmp_path / "requirements.txt"
    result = cli("export", lock, "-f", "requirements", "-o", target)
    assert result.code == 2, result
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert f"not a valid repository URL to pin a commit to: '{url}'" in result.err, result.err
    assert not target.exists()


def test_an_archives_project_in_a_folder_with_a_space_installs_from_the_commented_command(
    tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """An archive whose project is in ``my pkg`` was refused by the requirements export with the general "refused a
    value of the lock: not a valid subdirectory for a pip requirement" (a requirement's URL ends at the space). It
    names the file's URL alone in a shell-quoted ``pip install`` command, as it names a commit's folder, its
    ``#sha256=`` before the ``subdirectory=``: pip checks the file against it (a file whose sha256 is not the lock's
    is refused) and builds that folder, recorded as that folder."""
    import hashlib
    import tarfile

    from testutil import in_tree_project

    from envsnap.model import Source

    in_tree_project(tmp_path / "src" / "mono" / "my pkg", "spaced", "0.3")
    archive = tmp_path / "files & co" / "mono-1.0.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "mono", arcname="mono")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    python = make_venv(tmp_path / "venv")
    for sha256 in ("0" * 64, digest):
        source = Source(kind="archive", url=archive.as_uri(), archive_hash=f"sha256={sha256}", subdirectory="my pkg")
        lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("spaced", "0.3", source=source),)))
        argv = _commented_command(requirements.dumps(lock))
        result = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), *argv[1:], "--no-index", "--no-build-isolation"],
            capture_output=True,
            text=True,
            timeout=180,
            env=PIP_ENV,
        )
        if sha256 != digest:
            assert result.returncode != 0 and "do not match" in result.stderr.lower(), result.stdout + result.stderr
            continue
        assert result.returncode == 0, result.stdout + result.stderr
    (record,) = python.parent.parent.glob("lib/python*/site-packages/spaced-0.3.dist-info/direct_url.json")
    assert json.loads(record.read_text())["subdirectory"] == "my pkg"


@pytest.mark.parametrize("root", ["run#1", "50%41", "why?"])
def test_a_project_folder_named_from_pwd_is_percent_encoded_in_its_file_url(
    tmp_path: Path, make_venv: Callable[..., Path], root: str
) -> None:
    """A local project (a folder ending in ``[...]``, which pip reads as extras in a path) and an archive in the
    project whose project is in ``my pkg`` are named by their ``file:`` URL, the project root being the shell's
    ``$PWD``: ``file://localhost"$PWD"/a%5Bb%5D``. pip and uv percent-decode that URL's path and read a ``#`` as its
    fragment and a ``?`` as its query, so from ``/tmp/run#1/proj`` pip looked for ``/tmp/run`` and from
    ``/tmp/50%41/proj`` for ``/tmp/50A/proj``. The command encodes the folder as it runs, and pip (and uv, for the
    folder) installs the very folder."""
    import tarfile

    from testutil import in_tree_project, uv_bin

    from envsnap.fileurls import decoded_path
    from envsnap.model import Source

    project = tmp_path / root / "proj"
    in_tree_project(project / "a[b]", "bpkg", "0.1")
    in_tree_project(tmp_path / "src" / "my pkg", "mono", "1.0")
    (project / "dist").mkdir()
    with tarfile.open(project / "dist" / "mono-1.0.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "my pkg", arcname="mono-1.0/my pkg")  # pip strips the top folder
    digest = hashlib.sha256((project / "dist" / "mono-1.0.tar.gz").read_bytes()).hexdigest()
    packages = (
        PythonPackage("bpkg", "0.1", source=Source(kind="directory", url="file://{project}/a%5Bb%5D")),
        PythonPackage(
            "mono",
            "1.0",
            source=Source(
                kind="archive",
                url="file://{project}/dist/mono-1.0.tar.gz",
                archive_hash=f"sha256={digest}",
                subdirectory="my pkg",
            ),
        ),
    )
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=packages))
    commands = [
        line[len("#   pip ") :]
        for line in requirements.dumps(lock).splitlines()
        if line.startswith("#   pip install --no-deps ")
    ]
    assert len(commands) == 2, commands
    python = make_venv(tmp_path / "venv")
    pip = f"{shlex.quote(sys.executable)} -m pip --python {shlex.quote(str(python))}"
    for command in commands:
        result = subprocess.run(
            ["sh", "-c", f"{pip} {command} --no-index --no-build-isolation"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=180,
            env=PIP_ENV,
        )
        assert result.returncode == 0, command + "\n" + result.stdout + result.stderr
    site = python.parent.parent
    (record,) = site.glob("lib/python*/site-packages/bpkg-0.1.dist-info/direct_url.json")
    assert decoded_path(json.loads(record.read_text())["url"]) == str(project / "a[b]"), record.read_text()
    (record,) = site.glob("lib/python*/site-packages/mono-1.0.dist-info/direct_url.json")
    recorded = json.loads(record.read_text())
    assert decoded_path(recorded["url"]) == str(project / "dist" / "mono-1.0.tar.gz"), recorded
    assert recorded["subdirectory"] == "my pkg", recorded
    uv = uv_bin()
    if uv is None:
        return
    python = make_venv(tmp_path / "venv-uv")
    (folder,) = [command for command in commands if "a%5Bb%5D" in command]
    options = f"--python {shlex.quote(str(python))} --offline --no-build-isolation"
    result = subprocess.run(
        ["sh", "-c", f"{shlex.quote(uv)} pip {folder} {options}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, folder + "\n" + result.stdout + result.stderr
    (record,) = python.parent.parent.glob("lib/python*/site-packages/bpkg-0.1.dist-info/direct_url.json")
    assert decoded_path(json.loads(record.read_text())["url"]) == str(project / "a[b]"), record.read_text()


@pytest.mark.parametrize("folder", ["run#1", "50%41"])
def test_a_repository_in_a_folder_with_a_hash_or_percent_installs_with_pip_and_with_uv(
    tmp_path: Path, make_venv: Callable[..., Path], folder: str
) -> None:
    """A repository in ``/tmp/run#1/repo`` is recorded percent-encoded (``file:///tmp/run%231/repo``). pip decodes
    a repository's URL once before it reads the fragment and hands git the rest, which git decodes again: from
    ``%23`` pip cloned ``/tmp/run`` ("does not appear to be a git repository"), from ``50%2541`` the folder
    ``50A``; uv reads the URL once and installs it. The command is pip's, its ``%`` encoded once more, and the line
    under it gives uv's; each installs the locked commit."""
    from testutil import uv_bin

    from envsnap.model import Source

    repo, commit = _git_repo_with_a_project_in(tmp_path / folder / "repo", "")
    source = Source(kind="vcs", url=repo.as_uri(), vcs="git", commit_id=commit)
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("spaced", "0.3", source=source),)))
    text = requirements.dumps(lock)
    argv = _commented_command(text)
    python = make_venv(tmp_path / "venv")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), *argv[1:], "--no-index", "--no-build-isolation"],
        capture_output=True,
        text=True,
        timeout=180,
        env=PIP_ENV,
    )
    assert result.returncode == 0, text + result.stdout + result.stderr
    (record,) = python.parent.parent.glob("lib/python*/site-packages/spaced-0.3.dist-info/direct_url.json")
    assert json.loads(record.read_text())["vcs_info"]["commit_id"] == commit
    (uv_line,) = [line for line in text.splitlines() if line.startswith("#     (with uv: ")]
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    uv_command = shlex.split(uv_line[len("#     (with uv: ") : -1])
    assert uv_command[:4] == ["uv", "pip", "install", "--no-deps"], uv_line
    python = make_venv(tmp_path / "venv-uv")
    result = subprocess.run(
        [uv, *uv_command[1:], "--python", str(python), "--offline"], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, text + result.stdout + result.stderr
    assert next(python.parent.parent.glob("lib/python*/site-packages/spaced-0.3.dist-info")).is_dir()


def test_absolute_paths_names_a_folder_of_the_project_it_cannot_place_as_one_shell_word(tmp_path: Path) -> None:
    """``--absolute-paths`` with no project to read ``{project}`` from named the folder decoded but bare,
    ``({project}/my proj)``, two words where every other message names a path as one (``sinks.path_shown``), and a
    line break in it broke the message. It is one shell word, a control character escaped; so is the project it is
    not in."""
    from envsnap.errors import ExportError
    from envsnap.export import with_absolute_paths
    from envsnap.model import PythonEnv, PythonPackage, Source

    def lock(url: str) -> Snapshot:
        pkg = PythonPackage(name="proj", version="1.0", source=Source(kind="directory", url=url))
        return Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,)))

    with pytest.raises(ExportError) as refused:
        with_absolute_paths(lock("file://{project}/my%20proj"), None)
    assert "proj is recorded inside the project ({project}/'my proj'), and no project is known here" in str(
        refused.value
    ), refused.value
    with pytest.raises(ExportError) as refused:
        with_absolute_paths(lock("file://{project}/a%0Ab"), None)
    assert "({project}/$'a\\x0ab')" in str(refused.value) and "\n" not in str(refused.value), refused.value
    other = tmp_path / "other dir"
    with pytest.raises(ExportError) as refused:
        with_absolute_paths(lock("file://{project}/my%20proj"), other, unsure="the lock's folder is in no work tree")
    assert f"({{project}}/'my proj'), which is not in {shlex.quote(str(other))} (the lock's" in str(refused.value)
