"""Nothing from a lock is executed or chooses a path (issue 11, docs/security.md "Execution and network").

Each test is an attack that worked on the old main: a recorded file name that wrote ~/.bashrc, a Python
version that ran a script or was read by uv as an option (even in --dry-run), a git URL read as an option, a
requirements line that made an offline install fetch. Each asserts the refusal (one line, exit code 2) and
that nothing was written, run or fetched.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fetchserver import lock_text, make_wheel, package_toml, serving, sha256_of, toml_str
from testutil import uv_bin

from envsnap import lockfile
from envsnap._fs import join_base_name, join_relative
from envsnap.artifacts import conda as conda_archives
from envsnap.artifacts.bundle import Bundle, fetch_wheel
from envsnap.artifacts.pin import IndexConfig, Pinner, cached_path
from envsnap.errors import EnvsnapError, UnsafeInputError
from envsnap.model import Artifact, Source
from envsnap.rebuild import conda as conda_target
from envsnap.rebuild import venv

HOSTILE_NAMES = [
    "../../../../../.bashrc",
    "x/../a.whl",
    "../evil-1.0-py3-none-any.whl",
    "/tmp/evil-1.0-py3-none-any.whl",
    ".bashrc",
    "evil-1.0-py3-none-any.whl\n",
    "-rf",
]


def _one_error_line(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("envsnap: error:"), err
    assert "Traceback" not in err, err


def _files_under(root: Path) -> list[Path]:
    return [Path(d) / f for d, _dirs, files in os.walk(root) for f in files]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME holding the download cache, so a write outside it is seen."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return home


# ------------------------------------------------------------------------------------- file names


@pytest.mark.parametrize("name", ["../../../../../.bashrc", "x/../a.whl", "../evil-1.0-py3-none-any.whl"])
def test_a_recorded_file_name_never_writes_outside_the_cache(
    name: str, tmp_path: Path, home: Path, cli: Callable[..., object]
) -> None:
    """The old main wrote the served bytes to ~/.bashrc during a plain `envsnap rebuild LOCK`."""
    wheel = make_wheel(tmp_path / "build", "evil", "1.0")
    with serving() as server:
        url = server.add("/evil-1.0-py3-none-any.whl", wheel.read_bytes())
        lock = tmp_path / "evil.lock"
        lock.write_text(
            lock_text(packages=package_toml("evil", "1.0", filename=name, url=url, sha256=sha256_of(wheel)))
        )
        result = cli("rebuild", lock, "--dest", tmp_path / "env")
    assert result.code == 2, result  # type: ignore[attr-defined]
    _one_error_line(result.err)  # type: ignore[attr-defined]
    assert not (home / ".bashrc").exists()
    assert _files_under(home) == [] and not (tmp_path / "env").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "evil.lock", "home"]


@pytest.mark.parametrize("name", ["../evil-1.0-py3-none-any.whl", "../../../../../.bashrc"])
def test_bundle_never_writes_a_wheel_outside_wheels(
    name: str, tmp_path: Path, home: Path, cli: Callable[..., object]
) -> None:
    wheel = make_wheel(tmp_path / "build", "evil", "1.0")
    with serving() as server:
        url = server.add("/evil-1.0-py3-none-any.whl", wheel.read_bytes())
        lock = tmp_path / "evil.lock"
        lock.write_text(
            lock_text(packages=package_toml("evil", "1.0", filename=name, url=url, sha256=sha256_of(wheel)))
        )
        result = cli("bundle", lock, "-o", tmp_path / "out" / "bundle")
    assert result.code == 2, result  # type: ignore[attr-defined]
    _one_error_line(result.err)  # type: ignore[attr-defined]
    assert not (tmp_path / "out" / "evil-1.0-py3-none-any.whl").exists() and not (home / ".bashrc").exists()
    assert _files_under(tmp_path / "out") == [] and _files_under(home) == []


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_every_join_of_a_recorded_name_refuses_it(name: str, tmp_path: Path) -> None:
    """Defence in depth: the cache, the bundle and the fetch refuse the name themselves, whatever the loader
    let through, even when the fetch policy allows the URL."""
    sha = "a" * 64
    with pytest.raises(UnsafeInputError):
        join_base_name(tmp_path, name)
    with pytest.raises(UnsafeInputError):
        cached_path(tmp_path / "cache", sha, name)
    with serving() as server:
        pinner = Pinner(IndexConfig(no_index=True), tmp_path / "cache", allow_urls=(server.url + "/*",))
        art = Artifact(filename=name, url=server.url + "/x.whl", sha256=sha)
        with pytest.raises(UnsafeInputError):
            fetch_wheel(art, tmp_path / "wheels" / "x.whl", pinner, offline=False)
        assert server.requests == []
    assert _files_under(tmp_path) == []


def test_a_link_in_the_folder_does_not_lead_outside(tmp_path: Path) -> None:
    folder = tmp_path / "wheels"
    folder.mkdir()
    (folder / "evil-1.0-py3-none-any.whl").symlink_to("/etc/passwd")
    with pytest.raises(UnsafeInputError, match="outside"):
        join_base_name(folder, "evil-1.0-py3-none-any.whl")
    assert join_base_name(folder, "good-1.0-py3-none-any.whl") == folder / "good-1.0-py3-none-any.whl"


WHL = "evil-1.0-py3-none-any.whl"


@pytest.mark.parametrize(
    "plant",
    [
        lambda folder, outside: (folder / WHL).symlink_to(outside / "target.whl"),  # to a file outside
        lambda folder, outside: (folder / WHL).symlink_to(outside),  # to a folder outside
        lambda folder, outside: (folder / WHL).symlink_to(outside / "missing.whl"),  # dangling, outside
        lambda folder, outside: (folder / WHL).symlink_to(f"../{outside.name}/target.whl"),  # relative
        lambda folder, outside: (folder / WHL).symlink_to(f"sub/{WHL}"),  # into a folder below
        lambda folder, outside: (folder / WHL).symlink_to("."),  # the folder itself
    ],
    ids=["file", "folder", "dangling", "relative", "below", "itself"],
)
def test_every_planted_link_in_the_folder_is_refused(tmp_path: Path, plant: Callable[[Path, Path], None]) -> None:
    """The link check costs one lstat per file now, the realpath walks only for a link (issue 19): every kind of
    link planted in a bundle's wheels/ still leads outside and is refused, before any file is touched."""
    folder, outside = tmp_path / "bundle" / "wheels", tmp_path / "outside"
    (folder / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "target.whl").write_bytes(b"x")
    (folder / "sub" / WHL).write_bytes(b"x")
    plant(folder, outside)
    with pytest.raises(UnsafeInputError, match="outside"):
        join_base_name(folder, WHL)


def test_a_link_to_a_file_beside_it_and_a_folder_reached_through_a_link_are_accepted(tmp_path: Path) -> None:
    """What the realpath check always accepted, it still accepts: a link to a file in the same folder, and any
    name in a folder whose own path goes through a link (a bundle under a linked scratch folder)."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "good-1.0-py3-none-any.whl").write_bytes(b"x")
    (real / WHL).symlink_to("good-1.0-py3-none-any.whl")
    (tmp_path / "scratch").symlink_to(real)
    assert join_base_name(real, WHL) == real / WHL
    assert (
        join_base_name(tmp_path / "scratch", "good-1.0-py3-none-any.whl")
        == tmp_path / "scratch" / "good-1.0-py3-none-any.whl"
    )
    assert join_base_name(tmp_path / "no-folder-yet", WHL) == tmp_path / "no-folder-yet" / WHL


def test_a_plain_name_costs_no_realpath_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm bundle joined three names per wheel, each with two realpath walks of the whole path (a sixth of
    its time): a file that is no link, or no file yet, is settled by one lstat."""
    (tmp_path / "good-1.0-py3-none-any.whl").write_bytes(b"x")
    (tmp_path / WHL).symlink_to("/etc/passwd")
    walks: list[str] = []
    real = os.path.realpath

    def counting(path: Any, *args: Any, **kwargs: Any) -> Any:
        walks.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os.path, "realpath", counting)
    join_base_name(tmp_path, "good-1.0-py3-none-any.whl")
    join_base_name(tmp_path, "new-1.0-py3-none-any.whl")
    assert walks == []
    with pytest.raises(UnsafeInputError):
        join_base_name(tmp_path, WHL)
    assert walks  # a link is resolved and compared, as before


def test_bundle_wheel_for_refuses_a_name_with_a_folder(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    (root / "wheels").mkdir(parents=True)
    (root / "envsnap.lock").write_text(
        lock_text(
            packages=package_toml(
                "evil",
                "1.0",
                filename="../../../etc/evil-1.0-py3-none-any.whl",
                url="https://example.org/x.whl",
                sha256="a" * 64,
            )
        )
    )
    try:
        bundle = Bundle(root)
        bundle.wheel_for("evil")
    except EnvsnapError as exc:  # the loader (boundary) or the join: either way bad input, nothing read
        assert exc.exit_code == 2
    else:
        pytest.fail("a name with a folder was joined to wheels/")


@pytest.mark.parametrize("digest", ["../../x", "a" * 63, "/etc", ""])
def test_conda_cache_folders_are_named_by_checked_digests_only(digest: str, tmp_path: Path) -> None:
    from envsnap.model import CondaPackage

    pkg = CondaPackage(
        name="x", version="1", build="0", url="https://conda.example.org/c/noarch/x-1-0.conda", sha256=digest
    )
    with pytest.raises(UnsafeInputError):
        conda_archives.fetch_all([pkg], tmp_path, by_hash=True)
    assert _files_under(tmp_path) == []


@pytest.mark.parametrize(
    "url",
    ["https://conda.example.org/c/noarch/..%2f..%2fx.conda", "https://conda.example.org/c/noarch/.hidden-1-0.conda"],
)
def test_conda_archive_names_are_checked(url: str) -> None:
    from envsnap.model import CondaPackage

    with pytest.raises(UnsafeInputError):
        conda_archives.archive_name(CondaPackage(name="x", version="1", url=url, sha256="a" * 64))


@pytest.mark.parametrize("executable", ["../../../tmp/x/pyexec", "/usr/bin/python3", "bin/../../x", ""])
def test_the_conda_interpreter_is_a_path_inside_the_prefix(executable: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafeInputError):
        conda_target._interpreter_in(tmp_path, executable)
    assert conda_target._interpreter_in(tmp_path, "bin/python") == tmp_path / "bin" / "python"


@pytest.mark.parametrize("rel", ["../x", "a/../../x", "/etc", "-x", "a\nb"])
def test_relative_paths_from_a_lock_stay_inside(rel: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafeInputError):
        join_relative(tmp_path, rel, "subdirectory")
    assert join_relative(tmp_path, "pkg/sub", "subdirectory") == tmp_path / "pkg" / "sub"


# ---------------------------------------------------------------------------------- the interpreter


def _script(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\ntouch {marker}\necho 3.11.7 cpython\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def no_pythons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty pyenv root; the working directory is a supplement's folder."""
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    (tmp_path / "pyenv" / "versions").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_version_that_is_a_relative_path_runs_nothing(no_pythons: Path, cli: Callable[..., object]) -> None:
    """`version = "tools/python3.11"`: uv ran the supplement's own script on the old main, in --dry-run."""
    marker = no_pythons / "ran"
    _script(no_pythons / "tools" / "python3.11", marker)
    (no_pythons / "l.lock").write_text(lock_text(version="tools/python3.11"))
    result = cli("rebuild", "l.lock", "--dest", "env", "--dry-run")
    assert result.code == 2 and not marker.exists(), result  # type: ignore[attr-defined]
    _one_error_line(result.err)  # type: ignore[attr-defined]


def test_a_version_that_climbs_out_of_pyenv_runs_nothing(no_pythons: Path, cli: Callable[..., object]) -> None:
    """`~/.pyenv/versions/<version>/bin/python` with `version = "../../x"` ran <tmp>/x/bin/python."""
    marker = no_pythons / "ran"
    _script(no_pythons / "x" / "bin" / "python", marker)
    (no_pythons / "l.lock").write_text(lock_text(version="../../x"))
    result = cli("rebuild", "l.lock", "--dest", "env", "--dry-run")
    assert result.code == 2 and not marker.exists(), result  # type: ignore[attr-defined]
    _one_error_line(result.err)  # type: ignore[attr-defined]


def test_a_version_that_is_an_option_reaches_no_program(no_pythons: Path, cli: Callable[..., object]) -> None:
    """`version = "--mirror=http://127.0.0.1:PORT/"` was read by `uv python install` as its option."""
    if uv_bin() is None:
        pytest.skip("uv is not installed")
    with serving() as server:
        (no_pythons / "l.lock").write_text(lock_text(version=f"--mirror={server.url}/"))
        result = cli("rebuild", "l.lock", "--dest", "env", "--dry-run")
        assert server.requests == []
    assert result.code == 2, result  # type: ignore[attr-defined]
    _one_error_line(result.err)  # type: ignore[attr-defined]


@pytest.mark.parametrize("version", ["/usr/bin/python3", "3.11.7\n", "3.11; rm -rf /", "3.11/../x", ""])
def test_a_version_that_is_not_a_release_number_is_one_line(
    version: str, no_pythons: Path, cli: Callable[..., object]
) -> None:
    (no_pythons / "l.lock").write_text(lock_text(version=version or "3"))
    result = cli("rebuild", "l.lock", "--dest", "env", "--dry-run")
    assert result.code == 2, result  # type: ignore[attr-defined]
    _one_error_line(result.err)  # type: ignore[attr-defined]


@pytest.mark.parametrize("implementation", ["../../bin/sh", "--x", "cpython\n"])
def test_an_implementation_outside_the_known_set_is_refused(implementation: str, no_pythons: Path) -> None:
    import dataclasses

    lock = lockfile.loads(lock_text())
    bad = dataclasses.replace(lock, python=dataclasses.replace(lock.python, implementation=implementation))
    with pytest.raises(UnsafeInputError):
        venv.find_interpreter(bad, None, offline=True)


@pytest.fixture
def fake_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `uv` that logs its arguments: finds nothing, knows a download of every version, installs."""
    log = tmp_path / "uv.log"
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    uv = bin_dir / "uv"
    uv.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        'case "$2" in\n'
        "  find) exit 2 ;;\n"
        '  list) echo "cpython-3.12.99-linux-x86_64-gnu    <download available>" ;;\n'
        "esac\n"
        "exit 0\n"
    )
    uv.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("ENVSNAP_UV", str(uv))  # envsnap's own uv (beside the interpreter) would come first
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "gone" / "python"))
    for cached in ("_uv_downloadable", "_uv_install", "_uv_python"):  # per-process caches of uv's answers
        if hasattr(venv, cached):
            getattr(venv, cached).cache_clear()
    return log


def test_a_pre_release_is_never_searched_for(fake_uv: Path) -> None:
    """A valid recorded version that is not a plain release number: its interpreter is named with --python."""
    with pytest.raises(venv.RebuildError, match="--python"):
        venv.find_interpreter(lockfile.loads(lock_text(version="3.13.0rc1")), None, offline=False)
    assert not fake_uv.exists()  # no program ran


def test_dry_run_never_downloads_an_interpreter(
    fake_uv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., object]
) -> None:
    """An ordinary unknown version made the old main's dry run run `uv python install`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "l.lock").write_text(lock_text(version="3.12.99"))
    # This host lacks the locked Python, which the check fails: the dry run exits 3 (a CI gate), and with --force
    # it shows the plan a forced run carries out. Neither downloads anything.
    for force, code in (([], 3), (["--force"], 0)):
        result = cli("rebuild", "l.lock", "--dest", "env", "--dry-run", *force)
        calls = fake_uv.read_text().splitlines() if fake_uv.exists() else []
        assert not any(call.startswith("python install") for call in calls), calls
        assert result.code == code, result  # type: ignore[attr-defined]
        assert "uv python install" in result.out  # type: ignore[attr-defined]  # the plan says what a real run does
        assert not (tmp_path / "env").exists()


def test_a_real_run_installs_the_checked_version_after_a_double_dash(fake_uv: Path) -> None:
    lock = lockfile.loads(lock_text(version="3.12.99"))
    planned, _notes = venv.find_interpreter(lock, None, offline=False)
    assert (planned.path, planned.how) == ("", venv.UV_INSTALL)
    with pytest.raises(venv.RebuildError):  # the fake installs nothing findable
        venv.ensure(planned)
    calls = fake_uv.read_text().splitlines()
    assert "python install -- 3.12.99" in calls
    assert all(" -- " in call for call in calls), calls


# -------------------------------------------------------------------------------- argument lists


def test_a_git_url_that_is_an_option_runs_nothing(tmp_path: Path, home: Path, cli: Callable[..., object]) -> None:
    """`git clone --quiet --upload-pack=CMD DEST` ran CMD on the old main."""
    marker = tmp_path / "ran"
    source = f'kind = "vcs"\nvcs = "git"\nurl = {toml_str(f"--upload-pack=touch {marker};")}\ncommit_id = "{"a" * 40}"'
    lock = tmp_path / "l.lock"
    lock.write_text(lock_text(packages=package_toml("gitpkg", "1.0", source=source)))
    result = cli("bundle", lock, "-o", tmp_path / "b", "--allow-url", "*")
    assert not marker.exists(), result
    assert result.code in (2, 4), result  # type: ignore[attr-defined]
    _one_error_line(result.err)  # type: ignore[attr-defined]
    result = cli("bundle", lock, "-o", tmp_path / "b")
    assert result.code == 2 and not marker.exists(), result  # type: ignore[attr-defined]


@pytest.mark.parametrize("commit", ["--orphan=x", "HEAD", "a" * 40 + "\n"])
def test_a_commit_that_is_not_a_hash_is_refused(
    commit: str, tmp_path: Path, home: Path, cli: Callable[..., object]
) -> None:
    source = f'kind = "vcs"\nvcs = "git"\nurl = "https://git.example.org/x.git"\ncommit_id = {toml_str(commit)}'
    lock = tmp_path / "l.lock"
    lock.write_text(lock_text(packages=package_toml("gitpkg", "1.0", source=source)))
    result = cli("bundle", lock, "-o", tmp_path / "b", "--allow-url", "*")
    assert result.code == 2, result  # type: ignore[attr-defined]
    _one_error_line(result.err)  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", ["file://{project}/../../etc", "file://{project}/../outside"])
def test_a_project_relative_directory_stays_in_the_project(
    url: str, tmp_path: Path, home: Path, cli: Callable[..., object]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "setup.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w')\n")
    source = f'kind = "directory"\nurl = {toml_str(url)}'
    lock = tmp_path / "l.lock"
    lock.write_text(lock_text(packages=package_toml("localpkg", "1.0", source=source)))
    result = cli("bundle", lock, "-o", tmp_path / "b", "--project", project)
    assert result.code == 2 and not (tmp_path / "ran").exists(), result  # type: ignore[attr-defined]
    _one_error_line(result.err)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------- the installer


def test_an_offline_install_reads_only_checked_requirement_lines(
    tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """A newline in `version` added `--find-links http://...` and `evilpkg==1.0 --hash=...` to the
    requirements the installer read; an offline rebuild then downloaded and installed evilpkg."""
    evil = make_wheel(tmp_path / "evil", "evilpkg", "1.0")
    victim = make_wheel(tmp_path / "build", "victim", "1.0")
    root = tmp_path / "bundle"
    (root / "wheels").mkdir(parents=True)
    (root / "wheels" / victim.name).write_bytes(victim.read_bytes())
    python = make_venv(tmp_path / "target")
    with serving() as server:
        server.add("/evilpkg-1.0-py3-none-any.whl", evil.read_bytes())
        server.add("/", f'<a href="/evilpkg-1.0-py3-none-any.whl">{evil.name}</a>'.encode(), "text/html")
        version = f"1.0\n--find-links {server.url}/\nevilpkg==1.0 --hash=sha256:{sha256_of(evil)}"
        (root / "envsnap.lock").write_text(
            lock_text(
                packages=package_toml(
                    "victim",
                    version,
                    filename=victim.name,
                    url="https://example.org/" + victim.name,
                    sha256=sha256_of(victim),
                )
            )
        )
        with pytest.raises(EnvsnapError) as caught:
            lock = lockfile.load(root / "envsnap.lock")
            venv.install_python_layer(python, lock, root, offline=True)
        assert caught.value.exit_code == 2
        assert server.requests == []
    site = next(iter((tmp_path / "target").glob("lib/python*/site-packages")))
    assert not list(site.glob("evilpkg*"))


def test_install_requirements_refuse_anything_but_name_version_hash() -> None:
    from envsnap.model import PythonPackage

    good = PythonPackage("victim", "1.0", artifact=Artifact("victim-1.0-py3-none-any.whl", "", "a" * 64))
    assert venv._install_requirements([good]) == f"victim==1.0 --hash=sha256:{'a' * 64}\n"
    for bad in (
        PythonPackage("victim", "1.0 --find-links x", artifact=good.artifact),
        PythonPackage("-r", "1.0", artifact=good.artifact),
        PythonPackage("victim", "1.0", artifact=Artifact("victim-1.0-py3-none-any.whl", "", "a\nb")),
    ):
        with pytest.raises(UnsafeInputError):
            venv._install_requirements([bad])


def test_a_built_wheel_installed_by_path_is_one_line_whatever_its_folder(tmp_path: Path) -> None:
    """A wheel the bundle built is installed by its ``file:`` URL (its direct_url.json then names it): the bundle's
    folder, which may hold a space, ``#`` or a newline, is percent-encoded, so it adds no line, option or fragment."""
    from envsnap.model import PythonPackage

    folder = tmp_path / "my b#x\n-r evil"
    folder.mkdir()
    built = Artifact("victim-1.0-py3-none-any.whl", "file:///src", "a" * 64, rebuilt=True)
    pkg = PythonPackage("victim", "1.0", source=Source(kind="directory", url="file:///src"), artifact=built)
    text = venv._install_requirements([pkg], {"victim": folder / built.filename})
    assert text.count("\n") == 1 and "%20b%23x%0A-r%20evil/victim-1.0-py3-none-any.whl#sha256=" in text
    assert text.startswith("victim @ file://") and text.endswith(f"#sha256={'a' * 64} --hash=sha256:{'a' * 64}\n")


@pytest.mark.parametrize("url", ["file://--help", "relative/dir", "file:relative/dir"])
def test_a_local_directory_is_an_absolute_path(
    url: str, tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., object]
) -> None:
    """A relative directory would be the working directory's (and `--help` an option to the build tool)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "relative" / "dir").mkdir(parents=True)
    (tmp_path / "relative" / "dir" / "setup.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w')\n")
    source = f'kind = "directory"\nurl = {toml_str(url)}'
    (tmp_path / "l.lock").write_text(lock_text(packages=package_toml("localpkg", "1.0", source=source)))
    result = cli("bundle", "l.lock", "-o", tmp_path / "b")
    assert result.code == 2 and not (tmp_path / "ran").exists(), result  # type: ignore[attr-defined]
    _one_error_line(result.err)  # type: ignore[attr-defined]
