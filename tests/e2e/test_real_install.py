"""End to end, as a researcher uses envsnap: from a built wheel installed NON-editable into a fresh venv (not the
editable test install), against a research venv with a compiled wheel, a local git package and an editable
project, run from inside that activated venv.

The steps run in order and share one module-level world; each asserts what a user would check. The research
venv uses Debian's /usr/bin/python3.11, the interpreter of the debootstrap'd bookworm base image
(``.ci/services.sh``), so the docker rebuild installs the very same wheels. Every tool shares the default uv
cache, so a second run is quick.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name
from testutil import uv_bin

from envsnap import lockfile

pytestmark = pytest.mark.integration

DEBIAN_PYTHON = "/usr/bin/python3.11"
BASE = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
TAG = "envsnap-e2e/research:1"
COMPILED = "markupsafe==3.0.2"  # a small compiled wheel from the index
PURE = "tomli-w==1.2.0"
TIMEOUT = 900


@dataclass
class World:
    root: Path
    envsnap_bin: Path  # the folder holding the installed `envsnap` command
    research: Path  # the research venv
    project: Path  # the editable project (a git work tree), where the researcher works
    uv: str
    lock: Path = field(init=False)
    bundle: Path = field(init=False)

    def __post_init__(self) -> None:
        self.lock = self.project / "envsnap.lock"
        self.bundle = self.root / "supplement"

    def env(self, venv: Path | None = None) -> dict[str, str]:
        """The environment of a shell with ``venv`` activated (default: the research venv)."""
        active = venv or self.research
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX")}
        env["VIRTUAL_ENV"] = str(active)
        env["PATH"] = os.pathsep.join([str(active / "bin"), str(self.envsnap_bin), os.environ.get("PATH", "")])
        return env

    def envsnap(
        self, *args: str | Path, cwd: Path | None = None, venv: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = self.env(venv)
        exe = shutil.which("envsnap", path=env["PATH"])
        assert exe == str(self.envsnap_bin / "envsnap"), f"`envsnap` on PATH is {exe}, not the installed one"
        done = subprocess.run(
            [exe, *map(str, args)], cwd=cwd or self.project, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
        if check:
            assert done.returncode == 0, (
                f"envsnap {' '.join(map(str, args))} exited {done.returncode}:\n" + (done.stderr[-3000:])
            )
        return done

    def verify(
        self, venv: Path, lock: Path | None = None, cwd: Path | None = None, *, activated_only: bool = False
    ) -> dict[str, Any]:
        """``envsnap verify --json`` from inside the activated ``venv`` (naming its interpreter too, unless
        ``activated_only``: the activation alone is tested once, in its own step); asserts it is identical."""
        python = () if activated_only else ("--python", str(venv / "bin" / "python"))
        done = self.envsnap("verify", lock or self.lock, "--json", *python, venv=venv, cwd=cwd, check=False)
        report: dict[str, Any] = json.loads(done.stdout)
        problems = [d for d in report["differences"] if d["severity"] == "mismatch"]
        assert report["identical"] is True and not problems, f"{venv} differs from the lock: {problems}"
        return report

    def editable_again(self, venv: Path, project: Path | None = None) -> None:
        """The project the lock installs editable, installed so in ``venv`` (a rebuild installs the bundle's wheel
        of it, which verify reports as a warning)."""
        python = venv / "bin" / "python"
        _run(self.uv, "pip", "install", "-q", "--python", python, "--no-deps", "-e", project or self.project)


def _only_editable_lost(report: dict[str, Any], name: str) -> None:
    """The verify of a rebuild: identical, with the warning that the project the lock installs editable is a
    regular install."""
    problems = [(d["subject"], d["what"]) for d in report["differences"] if d["severity"] == "mismatch"]
    warned = [(d["subject"], d["what"]) for d in report["differences"] if d["severity"] == "warning"]
    assert report["identical"] is True and not problems and (name, "source") in warned, report


def _run(*args: str | Path, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


def _git_repo(path: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "r",
        "GIT_AUTHOR_EMAIL": "r@example.org",
        "GIT_COMMITTER_NAME": "r",
        "GIT_COMMITTER_EMAIL": "r@example.org",
    }
    _run("git", "init", "-q", "-b", "main", cwd=path)
    _run("git", "add", "-A", cwd=path)
    _run("git", "commit", "-q", "-m", "first", cwd=path, env=env)


def _package(path: Path, name: str, *deps: str) -> Path:
    module = name.replace("-", "_")
    (path / module).mkdir(parents=True)
    (path / module / "__init__.py").write_text(f'"""{name}"""\n\nVALUE = 42\n')
    requires = ", ".join(json.dumps(d) for d in deps)
    (path / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.10"\ndependencies = [{requires}]\n'
    )
    return path


@pytest.fixture(scope="module")
def world(built_wheel_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if not Path(DEBIAN_PYTHON).exists():
        pytest.fail(f"{DEBIAN_PYTHON} is missing: .ci/services.sh installs it (the bookworm image's interpreter)")
    uv = uv_bin()
    assert uv, "uv is a dependency of envsnap-lock"
    root = tmp_path_factory.mktemp("e2e")
    # A local git package, installed from its repository, as researchers install a lab's shared code.
    gitpkg = _package(root / "labtools", "e2e-labtools")
    _git_repo(gitpkg)
    # The research project itself: a git work tree, installed editable.
    project = _package(root / "paper", "e2e-paper", COMPILED)
    (project / ".gitignore").write_text("envsnap.lock\n")
    _git_repo(project)
    research = root / "research-venv"
    # uv's venv seeds pip and setuptools from the index (Debian's `python3 -m venv`, which seeds Debian's own
    # wheels, has its own test below).
    _run(uv, "venv", "-q", "--seed", "--python", DEBIAN_PYTHON, research)
    pip = research / "bin" / "pip"
    _run(pip, "install", "-q", COMPILED, PURE)
    _run(pip, "install", "-q", f"git+{gitpkg.as_uri()}")
    _run(pip, "install", "-q", "-e", project)
    yield World(root, built_wheel_venv / "bin", research, project, uv)
    with _docker() as client:
        if client is not None:
            for image in client.images.list(name=TAG.split(":")[0]):
                client.images.remove(image.id, force=True)


class _docker:
    def __enter__(self) -> Any:
        try:
            import docker

            client = docker.from_env(timeout=60)
            client.ping()
            return client
        except Exception:
            return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_installed_envsnap_is_the_built_wheel_not_this_source_tree(world: World) -> None:
    code = "import envsnap, importlib.metadata as m; print(envsnap.__file__); print(m.version('envsnap-lock'))"
    out = _run(world.envsnap_bin / "python", "-c", code, cwd=world.root, env=world.env()).splitlines()
    assert "site-packages" in out[0] and not out[0].startswith(str(Path(__file__).resolve().parents[2]))
    assert out[1] == "0.1.0"


def test_capture_the_research_venv(world: World) -> None:
    world.envsnap("capture", "-o", world.lock, "--python", world.research / "bin" / "python")
    lock = lockfile.load(world.lock)
    names = {p.name: p for p in lock.python.packages}
    assert "envsnap-lock" not in names and "rich" not in names
    assert {"markupsafe", "tomli-w", "e2e-labtools", "e2e-paper"} <= set(names)
    assert lock.python.kind == "venv" and lock.python.version.startswith("3.11")
    assert names["markupsafe"].wheel_tags and not names["markupsafe"].wheel_tags[0].endswith("-none-any")
    assert names["e2e-labtools"].source.kind == "vcs" and names["e2e-labtools"].source.commit_id
    assert names["e2e-paper"].source.kind == "directory" and names["e2e-paper"].source.editable
    assert lock.project is not None and lock.project.commit


def test_capture_and_verify_from_inside_the_activated_venv_take_that_venv(world: World) -> None:
    """With the research venv activated (VIRTUAL_ENV, PATH) and no --python, capture and verify use it, not the
    venv envsnap is installed in."""
    activated = world.root / "activated.lock"
    done = world.envsnap("capture", "-o", activated)
    have = {p.name: p.record_digest for p in lockfile.load(activated).python.packages}
    want = {p.name: p.record_digest for p in lockfile.load(world.lock).python.packages}
    assert have == want, f"captured another environment than the activated venv: {done.stderr[-500:]}"
    world.verify(world.research, activated_only=True)


def test_pin(world: World) -> None:
    world.envsnap("pin", world.lock)
    lock = lockfile.load(world.lock)
    for name in ("markupsafe", "tomli-w"):
        pkg = lock.package(name)
        assert pkg is not None and pkg.artifact is not None and len(pkg.artifact.sha256) == 64, name


def test_bundle_with_the_base_image(world: World) -> None:
    # The local git package is cloned from its file:// URL, which a lock may name only with the user's allowance.
    world.envsnap(
        "bundle",
        world.lock,
        "-o",
        world.bundle,
        "--with-base-image",
        "--base-image",
        BASE,
        "--allow-url",
        (world.root / "labtools").as_uri(),
    )
    wheels = {canonicalize_name(p.name.split("-", 1)[0]) for p in (world.bundle / "wheels").glob("*.whl")}
    assert {"markupsafe", "tomli-w", "e2e-labtools", "e2e-paper"} <= wheels, wheels
    tool = (world.bundle / "tool" / "requirements.txt").read_text()
    assert "envsnap-lock==0.1.0 --hash=sha256:" in tool and "\nenvsnap==" not in f"\n{tool}"
    assert (world.bundle / "images").is_dir() and (world.bundle / "SHA256SUMS").is_file()


def test_rebuild_venv_offline_and_verify(world: World) -> None:
    dest = world.root / "rebuilt-venv"
    done = world.envsnap(
        "rebuild",
        world.lock,
        "--bundle",
        world.bundle,
        "--offline",
        "--dest",
        dest,
        "--python",
        DEBIAN_PYTHON,
        "--json",
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]  # the editable project is a regular install: a warning
    _only_editable_lost(json.loads(done.stdout)["verify"], "e2e-paper")
    world.editable_again(dest)
    world.verify(dest)


def test_rebuild_docker_on_the_debootstrap_base_and_verify_inside_without_network(world: World) -> None:
    with _docker() as client:
        if client is None:
            pytest.fail("no Docker engine: run .ci/services.sh first (it starts one and builds the base image)")
        done = world.envsnap(
            "rebuild",
            world.lock,
            "--target",
            "docker",
            "--bundle",
            world.bundle,
            "--offline",
            "--base-image",
            BASE,
            "--tag",
            TAG,
            "--dest",
            world.root / "context",
            "--json",
            check=False,
        )
        result = json.loads(done.stdout)
        assert done.returncode == 0 and result["dest"] == TAG, done.stderr[-3000:]
        _only_editable_lost(result["verify"], "e2e-paper")  # the image holds its wheel, not the editable project
        from envsnap.rebuild._docker_engine import run_in_image as run_anyhow

        code, out, _err = run_anyhow(client, TAG, ["envsnap", "verify", "/envsnap.lock", "--json"])
        inside = json.loads(out.decode())
        assert code == 0, inside
        _only_editable_lost(inside, "e2e-paper")
        assert inside["packages_checked"] >= 4


def _commented_installs(requirements: Path) -> list[list[str]]:
    """The commands a requirements export lists as comments (source trees pip cannot hash-check)."""
    found = []
    for line in requirements.read_text().splitlines():
        if line.startswith("#   pip install --no-deps ") and "-r requirements" not in line:
            found.append(shlex.split(line[len("#   pip install ") :]))
    return found


@pytest.mark.parametrize(
    ("fmt", "installer"),
    [
        ("requirements", "pip"),
        ("requirements", "uv"),
        ("pylock", "uv"),
        # pip's pylock reader (26.1+) wants a hash on every entry once one has one, so it refuses the lock's VCS and
        # directory entries; the bundle's export names the wheels the bundle built from them, by path and sha256.
        ("pylock-of-bundle", "pip"),
        ("pylock-of-bundle", "uv"),
    ],
)
def test_exports_installed_elsewhere_verify_identical(world: World, fmt: str, installer: str) -> None:
    folder = world.root / "elsewhere" / f"{fmt}-{installer}"
    folder.mkdir(parents=True)
    name = "requirements.txt" if fmt == "requirements" else "pylock.toml"
    source = world.bundle if fmt == "pylock-of-bundle" else world.lock
    fmt = fmt.removesuffix("-of-bundle")
    # Written away from the project: its editable project by absolute path, as the export's own comment says.
    world.envsnap("export", source, "--format", fmt, "-o", folder / name, "--absolute-paths")
    if source == world.bundle:
        document = (folder / name).read_text()
        assert "directory =" not in document and "vcs =" not in document and "e2e_paper-0.1.0-" in document
    venv = folder / "venv"
    _run(world.uv, "venv", "-q", "--seed", "--python", DEBIAN_PYTHON, venv)  # --seed: a current pip
    python = venv / "bin" / "python"
    env = world.env(venv)
    if installer == "pip":
        install = [str(python), "-m", "pip", "install", "-q"]
    else:
        install = [world.uv, "pip", "install", "-q", "--python", str(python)]
    if fmt == "requirements":
        _run(*install, "--require-hashes", "--no-deps", "-r", folder / name, cwd=folder, env=env)
        for args in _commented_installs(folder / name):
            _run(*install, *args, cwd=folder, env=env)
    else:
        _run(*install, "-r", folder / name, cwd=folder, env=env)
    if source == world.bundle:  # the bundle's wheel of the project the lock installs editable
        world.editable_again(venv)
    world.verify(venv)


@pytest.fixture(scope="module")
def uv_files(world: World) -> dict[str, Path]:
    """Lock files written by uv itself: a hashed compile, a pylock compile, and a uv project's pylock export."""
    folder = world.root / "uv-files"
    project = _package(folder / "uvproj", "e2e-uvproj", COMPILED, PURE)
    _git_repo(project)
    (folder / "requirements.in").write_text(f"{COMPILED}\n{PURE}\n")
    uv, py = world.uv, ["--python", DEBIAN_PYTHON]
    _run(
        uv,
        "pip",
        "compile",
        "-q",
        *py,
        "--generate-hashes",
        folder / "requirements.in",
        "-o",
        folder / "requirements.txt",
    )
    _run(
        uv,
        "pip",
        "compile",
        "-q",
        *py,
        "--format",
        "pylock.toml",
        folder / "requirements.in",
        "-o",
        folder / "pylock.toml",
    )
    _run(uv, "lock", "-q", "--python", DEBIAN_PYTHON, cwd=project)
    _run(uv, "export", "-q", "--format", "pylock.toml", "-o", project / "pylock.toml", cwd=project)
    return {
        "uv pip compile --generate-hashes": folder / "requirements.txt",
        "uv pip compile --format pylock.toml": folder / "pylock.toml",
        "uv export --format pylock.toml": project / "pylock.toml",
    }


@pytest.mark.parametrize(
    "source",
    [
        "uv pip compile --generate-hashes",
        "uv pip compile --format pylock.toml",
        "uv export --format pylock.toml",  # its own project: a directory entry without a version
    ],
)
def test_imports_of_uv_files_rebuild_and_verify(world: World, uv_files: dict[str, Path], source: str) -> None:
    written = uv_files[source]
    where = written.parent  # the uv project, for its export: its own entry is the project directory
    lock = world.root / "imports" / (source.replace(" ", "_").replace("-", "") + ".lock")
    lock.parent.mkdir(exist_ok=True)
    world.envsnap("import", written, "-o", lock, cwd=where)
    imported = lockfile.load(lock)
    for name in ("markupsafe", "tomli-w"):
        pkg = imported.package(name)
        assert pkg is not None and pkg.version, f"{source}: {name} was not imported"
    dest = world.root / "imports" / (lock.stem + "-venv")
    done = world.envsnap("rebuild", lock, "--dest", dest, "--python", DEBIAN_PYTHON, "--json", cwd=where, check=False)
    result = json.loads(done.stdout)
    if source == "uv export --format pylock.toml":  # uv's own project, editable: rebuilt as a regular install
        assert done.returncode == 0, done.stderr[-3000:]
        _only_editable_lost(result["verify"], "e2e-uvproj")
        world.editable_again(dest, where)
    else:
        assert done.returncode == 0 and result["verify"]["identical"] is True, result["verify"]
    world.verify(dest, lock, cwd=where)


def test_a_plain_debian_venv_captures_pins_bundles_rebuilds_offline_and_verifies(world: World) -> None:
    """``/usr/bin/python3.11 -m venv``, as a researcher on Debian or Ubuntu makes one: it seeds Debian's own
    pip and setuptools wheels (from /usr/share/python-wheels), whose files match no upstream wheel. They pin
    from that folder, proven by their RECORD digest, so the whole flow works and the rebuild has them too."""
    root = world.root / "debian-venv"
    venv = root / "venv"
    root.mkdir()
    _run(DEBIAN_PYTHON, "-m", "venv", venv)
    _run(venv / "bin" / "python", "-m", "pip", "install", "-q", PURE)
    lock, bundle, dest = root / "envsnap.lock", root / "supplement", root / "rebuilt"
    world.envsnap("capture", "-o", lock, "--python", venv / "bin" / "python", cwd=root, venv=venv)
    assert {"pip", "setuptools", "tomli-w"} <= {p.name for p in lockfile.load(lock).python.packages}
    world.envsnap("pin", lock, cwd=root, venv=venv)
    pinned = lockfile.load(lock)
    assert all(p.artifact is not None for p in pinned.python.packages), [
        p.name for p in pinned.python.packages if p.artifact is None
    ]
    world.envsnap("bundle", lock, "-o", bundle, cwd=root, venv=venv)
    done = world.envsnap(
        "rebuild",
        lock,
        "--bundle",
        bundle,
        "--offline",
        "--dest",
        dest,
        "--python",
        DEBIAN_PYTHON,
        "--json",
        cwd=root,
        venv=venv,
    )
    assert json.loads(done.stdout)["verify"]["identical"] is True
    report = world.verify(dest, lock, cwd=root)
    assert report["packages_checked"] == len(pinned.python.packages)
