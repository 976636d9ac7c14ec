from __future__ import annotations

import glob
import json
import os
import platform
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import site_packages, uv_bin

from envsnap import capture, lockfile, model
from envsnap._privacy import PathRedactor
from envsnap.errors import ProbeError
from envsnap.probes import _pyprobe
from envsnap.probes import python as pyprobe
from envsnap.probes._pyprobe import record_digest
from envsnap.rebuild.venv import interpreter_version


@pytest.fixture(scope="module")
def two_venvs(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> tuple[Path, Path]:
    """The same wheels installed by pip into one venv and by uv into another, in different places."""
    root = tmp_path_factory.mktemp("venvs")
    pip_venv = root / "made-by-pip"
    subprocess.run([sys.executable, "-m", "venv", str(pip_venv)], check=True)
    pip_py = pip_venv / "bin" / "python"
    subprocess.run(
        [
            str(pip_py),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            "pygments",
            "markupsafe",
            "six",
        ],
        check=True,
    )
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed (pip install -e '.[test]' installs it)")
    uv_venv = root / "deeper" / "made-by-uv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(uv_venv)], check=True)
    uv_py = uv_venv / "bin" / "python"
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(uv_py),
            "--offline",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            "pygments",
            "markupsafe",
            "six",
        ],
        check=True,
    )
    return pip_py, uv_py


def test_record_digest_is_the_same_for_pip_and_uv_anywhere(two_venvs: tuple[Path, Path]) -> None:
    a = capture(str(two_venvs[0]))
    b = capture(str(two_venvs[1]))
    for name in ("pygments", "markupsafe", "six"):
        pa, pb = a.package(name), b.package(name)
        assert pa is not None and pb is not None
        assert pa.installer == "pip" and pb.installer == "uv"
        assert pa.record_digest.startswith("sha256:") and len(pa.record_digest) == 71
        assert pa.record_digest == pb.record_digest, name
        assert pa.version == pb.version and pa.wheel_tags == pb.wheel_tags


def test_python_packages_recorded_in_detail(two_venvs: tuple[Path, Path]) -> None:
    snap = capture(str(two_venvs[0]))
    assert snap.python.kind == "venv"
    assert snap.python.executable.startswith("bin/python")
    assert snap.python.abi == f"cp{sys.version_info[0]}{sys.version_info[1]}"
    pygments = snap.package("Pygments")
    assert pygments is not None
    assert pygments.version == "2.19.1" and pygments.requested and pygments.source.kind == "index"
    assert pygments.wheel_tags == ("py3-none-any",)
    markupsafe = snap.package("markupsafe")
    assert markupsafe is not None
    assert markupsafe.metadata_name == "MarkupSafe"
    assert any("manylinux" in tag for tag in markupsafe.wheel_tags)
    assert [p.name for p in snap.python.packages] == sorted(p.name for p in snap.python.packages)


def test_console_script_does_not_change_the_digest(two_venvs: tuple[Path, Path], tmp_path: Path) -> None:
    site = site_packages(two_venvs[0])
    dist = next(site.glob("pygments-*.dist-info"))
    record = (dist / "RECORD").read_text()
    assert "../../../bin/pygmentize" in record
    layout = __import__("envsnap.probes._pyprobe", fromlist=["_Layout"])._Layout()
    without = "\n".join(line for line in record.splitlines() if "bin/pygmentize" not in line)
    digest_with, _ = record_digest(str(site), str(dist), record, layout, set())
    digest_without, _ = record_digest(str(site), str(dist), without, layout, set())
    assert digest_with == digest_without


def _fake_dist(site: Path, name: str, version: str, direct_url: dict[str, object] | None = None) -> Path:
    dist = site / f"{name}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nbody\n")
    (dist / "INSTALLER").write_text("pip\n")
    if direct_url is not None:
        (dist / "direct_url.json").write_text(json.dumps(direct_url))
    (dist / "RECORD").write_text(f"{dist.name}/METADATA,,\n{dist.name}/RECORD,,\n")
    return dist


@pytest.fixture
def scratch_venv(tmp_path: Path, make_venv: Callable[..., Path]) -> Path:
    return make_venv(tmp_path / "venv")


def test_pep610_sources_and_credentials(scratch_venv: Path) -> None:
    site = site_packages(scratch_venv)
    _fake_dist(
        site,
        "fromgit",
        "1.0",
        {
            "url": "https://alice:s3cret@git.example.org/x/fromgit.git",
            "vcs_info": {"vcs": "git", "commit_id": "c" * 40, "requested_revision": "v1.0"},
            "subdirectory": "pkg",
        },
    )
    _fake_dist(
        site,
        "fromzip",
        "2.0",
        {
            "url": "https://example.org/fromzip-2.0.tar.gz?token=abc&x=1",
            "archive_info": {"hashes": {"sha256": "f" * 64}},
        },
    )
    _fake_dist(site, "editable-proj", "0.1", {"url": f"file://{Path.home()}/work/proj", "dir_info": {"editable": True}})
    _fake_dist(
        site,
        "sshdep",
        "3.0",
        {"url": "ssh://git@github.com/o/r.git", "vcs_info": {"vcs": "git", "commit_id": "d" * 40}},
    )
    snap = capture(str(scratch_venv))
    git = snap.package("fromgit")
    assert git is not None
    assert git.source.kind == "vcs" and git.source.url == "https://git.example.org/x/fromgit.git"
    assert (git.source.vcs, git.source.commit_id, git.source.requested_revision, git.source.subdirectory) == (
        "git",
        "c" * 40,
        "v1.0",
        "pkg",
    )
    zipped = snap.package("fromzip")
    assert zipped is not None and zipped.source.kind == "archive"
    assert zipped.source.url == "https://example.org/fromzip-2.0.tar.gz?x=1"
    assert zipped.source.archive_hash == "sha256=" + "f" * 64
    editable = snap.package("editable-proj")
    assert editable is not None and editable.source.kind == "directory" and editable.source.editable
    assert editable.source.url == "file://~/work/proj"
    ssh = snap.package("sshdep")
    assert ssh is not None and ssh.source.url == "ssh://git@github.com/o/r.git"
    assert "s3cret" not in lockfile.dumps(snap) and "token=abc" not in lockfile.dumps(snap)


def test_a_vcs_subdirectory_named_like_the_login_is_recorded_as_written(
    scratch_venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pip install "git+file:///scratch/alice/repo#subdirectory=alice-tools" as alice: the subdirectory is a folder
    # of the repository, where a rebuild builds the package; "<user>-tools" named nothing there.
    monkeypatch.setenv("USER", "alice")
    _fake_dist(
        site_packages(scratch_venv),
        "alicetools",
        "0.1",
        {
            "url": "file:///scratch/alice/repo",
            "vcs_info": {"vcs": "git", "commit_id": "c" * 40, "requested_revision": "alice/fix"},
            "subdirectory": "alice-tools",
        },
    )
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(capture(str(scratch_venv)), lock)
    pkg = lockfile.load(lock).package("alicetools")
    assert pkg is not None
    assert pkg.source.subdirectory == "alice-tools"
    # The login name still leaves the local URL and the branch.
    assert (pkg.source.url, pkg.source.requested_revision) == ("file:///scratch/<user>/repo", "<user>/fix")


@pytest.mark.parametrize(
    ("written", "recorded"),
    [("my pkg & co", "my pkg & co"), ("./tools/my pkg/", "tools/my pkg"), ("../../etc", ""), (".ci/pkg", "")],
)
def test_a_subdirectory_is_recorded_as_the_loader_takes_it(
    scratch_venv: Path, tmp_path: Path, written: str, recorded: str
) -> None:
    """direct_url.json's ``subdirectory`` went into the lock unchecked, and the lock just written was refused on its
    next load (``./tools/pkg/``, as pip records ``#subdirectory=./tools/pkg/``, a ``..`` or a hidden folder). The
    capture takes it as the loader does: ``.`` parts and a closing ``/`` go (the same folder), a space or an ``&``
    stays; where the loader would refuse it, that distribution's source is left out, with a one-line warning."""
    _fake_dist(
        site_packages(scratch_venv),
        "subpkg",
        "0.1",
        {
            "url": "https://git.example.org/mono.git",
            "vcs_info": {"vcs": "git", "commit_id": "c" * 40},
            "subdirectory": written,
        },
    )
    lock = tmp_path / "envsnap.lock"
    snap = capture(str(scratch_venv))
    lockfile.dump(snap, lock)
    pkg = lockfile.load(lock).package("subpkg")
    assert pkg is not None
    warnings = [w for w in snap.envsnap.warnings if "subpkg" in w]
    if recorded:
        assert (pkg.source.kind, pkg.source.subdirectory) == ("vcs", recorded) and warnings == []
    else:
        assert pkg.source == model.Source(), pkg.source
        assert warnings == [
            f"python: subpkg: direct_url.json's subdirectory {written!r} is not a folder inside the project "
            "(a relative path of plain names); its source is not recorded"
        ], warnings


def test_a_local_repository_in_a_folder_with_a_space_is_recorded_as_a_url_the_loader_takes(
    scratch_venv: Path, tmp_path: Path
) -> None:
    """pip records ``pip install 'git+file://localhost/w/repos%20%26%20co/mono@C'`` with the repository's path
    decoded (``file://localhost/w/repos & co/mono``): the capture wrote that URL, space and all, and the lock was
    refused on its next load. A local repository's URL is encoded as pip's own folder URLs are (``%20``, ``%26``)."""
    _fake_dist(
        site_packages(scratch_venv),
        "spaced",
        "0.1",
        {"url": "file://localhost/w/repos & co/mono", "vcs_info": {"vcs": "git", "commit_id": "c" * 40}},
    )
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(capture(str(scratch_venv)), lock)
    pkg = lockfile.load(lock).package("spaced")
    assert pkg is not None and pkg.source.url == "file:///w/repos%20%26%20co/mono", pkg.source


def test_a_local_repositorys_url_in_pips_mixed_encoding_is_recorded_encoded_as_a_folders(
    scratch_venv: Path, tmp_path: Path
) -> None:
    """pip keeps a repository's URL as it was given, partly percent-encoded (``file:///lab/rés%20earch/labgit``: the
    space encoded, the é not), where its folder URLs, an import and every reader encode the whole path
    (``file:///lab/r%C3%A9s%20earch/labgit``): the lock held one place in two spellings, which diff and the identity
    read as two. capture writes it once, encoded as pip writes a folder's URL; a remote URL is kept as written."""
    _fake_dist(
        site_packages(scratch_venv),
        "labgit",
        "0.2",
        {"url": "file:///lab/rés%20earch/labgit", "vcs_info": {"vcs": "git", "commit_id": "c" * 40}},
    )
    _fake_dist(
        site_packages(scratch_venv),
        "remote",
        "0.3",
        {"url": "https://git.example.org/a%20b/rés.git", "vcs_info": {"vcs": "git", "commit_id": "d" * 40}},
    )
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(capture(str(scratch_venv)), lock)
    loaded = lockfile.load(lock)
    labgit, remote = loaded.package("labgit"), loaded.package("remote")
    assert labgit is not None and labgit.source.url == "file:///lab/r%C3%A9s%20earch/labgit", labgit.source
    assert remote is not None and remote.source.url == "https://git.example.org/a%20b/rés.git", remote.source


def test_a_project_folder_named_like_the_login_is_recorded_as_written(
    scratch_venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pip install ./libs/alice-tools of the project, as alice: a folder of the project, which the reader checks out
    # and pin, bundle and rebuild build from; "{project}/libs/<user>-tools" named nothing there.
    monkeypatch.setenv("USER", "alice")
    project = tmp_path / "proj"
    (project / "libs" / "alice-tools").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    _fake_dist(
        site_packages(scratch_venv),
        "alicetools",
        "0.1",
        {"url": (project / "libs" / "alice-tools").as_uri(), "dir_info": {}},
    )
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(capture(str(scratch_venv), str(project)), lock)
    pkg = lockfile.load(lock).package("alicetools")
    assert pkg is not None and pkg.source.url == "file://{project}/libs/alice-tools"


def test_a_warning_names_a_project_folder_named_like_the_login_as_the_lock_does(
    scratch_venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A warning about a folder of the project names it as the lock's URLs do ({project}/libs/alice-tools), not as
    # "{project}/libs/<user>-tools", a folder the reader's checkout does not have; elsewhere the login still goes.
    monkeypatch.setenv("USER", "alice")
    project = tmp_path / "proj"
    tools = project / "libs" / "alice-tools"
    (tools / "broken-1.0.dist-info").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (site_packages(scratch_venv) / "tools.pth").write_text(f"{tools}\n")
    warnings = "\n".join(capture(str(scratch_venv), str(project)).envsnap.warnings)
    assert "broken-dist: {project}/libs/alice-tools/broken-1.0.dist-info" in warnings, warnings


def test_broken_dist_info_is_a_warning_not_a_failure(scratch_venv: Path) -> None:
    site = site_packages(scratch_venv)
    _fake_dist(site, "good", "1.0")
    (site / "broken-1.0.dist-info").mkdir()  # no METADATA
    nameless = site / "nameless-1.0.dist-info"
    nameless.mkdir()
    (nameless / "METADATA").write_text("Metadata-Version: 2.1\n\n")
    snap = capture(str(scratch_venv))
    assert snap.package("good") is not None
    warnings = "\n".join(snap.envsnap.warnings)
    assert "broken-dist: {prefix}/" in warnings and "broken-1.0.dist-info: no METADATA file" in warnings
    assert "nameless-1.0.dist-info: METADATA has no Name or Version" in warnings


def test_paths_are_relative_to_the_prefix(scratch_venv: Path) -> None:
    text = lockfile.dumps(capture(str(scratch_venv)))
    assert str(scratch_venv.parent.parent) not in text


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/no/such/python", "no such interpreter"),
        ("/etc/hostname", "not (executable|a working Python interpreter)"),
        ("/bin/true", "the probe printed no JSON"),
        ("/bin/false", "not a working Python interpreter"),
    ],
)
def test_bad_interpreter(target: str, message: str) -> None:
    if not os.path.exists(target) and target != "/no/such/python":
        pytest.skip(f"{target} does not exist on this system")
    with pytest.raises(ProbeError, match=message):
        pyprobe.run_probe(target)


@pytest.mark.parametrize(
    "answer",
    [
        '{"packages": []}',
        "[]",
        '{"prefix": "/x", "implementation": "cpython", "version": "3.11.7", "abi": "cp311", '
        '"packages": [{"name": "x"}]}',
    ],
)
def test_a_program_that_prints_other_json_is_not_an_interpreter(
    cli: Callable[..., object], tmp_path: Path, answer: str
) -> None:
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\necho '{answer}'\n")
    fake.chmod(0o755)
    result = cli("capture", "--python", str(fake), "-o", str(tmp_path / "envsnap.lock"))
    assert result.code == 2, result  # type: ignore[attr-defined]
    assert "unexpected probe answer" in result.err and result.err.count("\n") == 1  # type: ignore[attr-defined]
    assert not (tmp_path / "envsnap.lock").exists()


def test_bad_interpreter_on_the_cli(cli: Callable[..., object], tmp_path: Path) -> None:
    out = tmp_path / "envsnap.lock"
    out.write_text("keep me\n")
    result = cli("capture", "--python", "/bin/false", "-o", str(out))
    assert result.code == 2  # type: ignore[attr-defined]
    assert result.err.count("\n") == 1 and "Traceback" not in result.err  # type: ignore[attr-defined]
    assert out.read_text() == "keep me\n"


def test_prefix_directory_accepted_for_python(two_venvs: tuple[Path, Path]) -> None:
    venv_dir = two_venvs[0].parent.parent
    assert pyprobe.resolve_interpreter(str(venv_dir)).startswith(str(venv_dir))


def test_interpreter_in_the_working_directory(two_venvs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # "./python" names the file here, not a "python" on PATH (cd env/bin && envsnap capture --python ./python).
    exe = two_venvs[0]
    monkeypatch.chdir(exe.parent)
    monkeypatch.setenv("PATH", "/nonexistent")
    raw = pyprobe.run_probe(f"./{exe.name}")
    assert os.path.samefile(raw.prefix, exe.parent.parent)


def test_an_interpreter_too_old_for_the_probe_says_so(tmp_path: Path) -> None:
    # Python 2 or 3.6 cannot compile the probe: the message says why, not "not a working interpreter".
    old = tmp_path / "python2"
    old.write_text(
        "#!/bin/sh\necho '  File \"_pyprobe.py\", line 9' >&2\n"
        "echo 'SyntaxError: future feature annotations is not defined' >&2\nexit 1\n"
    )
    old.chmod(0o755)
    with pytest.raises(ProbeError, match=r"too old for envsnap's probe, which needs Python >= 3.7 \(SyntaxError"):
        pyprobe.run_probe(str(old))
    for real in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/[23].[0-6].*/bin/python"))):
        with pytest.raises(ProbeError, match="too old for envsnap's probe"):
            pyprobe.run_probe(real)


def test_a_venv_whose_base_interpreter_is_gone_says_so(tmp_path: Path) -> None:
    venv = tmp_path / "env"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /opt/removed/bin\n")
    (venv / "bin" / "python").symlink_to("/opt/removed/bin/python3.11")
    for given in (str(venv), str(venv / "bin" / "python")):
        with pytest.raises(
            ProbeError,
            match=r"bin/python is a broken link to /opt/removed/bin/python3.11 \(the "
            r"interpreter this environment was made from is gone\)",
        ):
            pyprobe.run_probe(given)


def test_a_venv_whose_base_interpreter_may_not_be_reached_is_not_said_to_be_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A venv made from an interpreter in another user's home (``/root/.pyenv/...``, a folder of mode 0700): its
    ``bin/python`` was "a broken link ... (the interpreter this environment was made from is gone)", when it is
    there and may not be reached. It says so. (Tests run as root, which reaches every folder: the one stat of the
    interpreter is refused as the kernel refuses it to another user.)"""
    import errno

    base = tmp_path / "home" / "py" / "bin" / "python3.11"
    base.parent.mkdir(parents=True)
    base.write_text("")
    venv = tmp_path / "env"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(base)
    real_stat = os.stat

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if str(path) == str(venv / "bin" / "python") and kwargs.get("follow_symlinks", True):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    with pytest.raises(ProbeError) as info:
        pyprobe.run_probe(str(venv / "bin" / "python"))
    message = str(info.value)
    assert "is gone" not in message and f"bin/python is a link to {base}, which you may not reach" in message, message


@pytest.mark.parametrize(
    "shebang", ["#!/usr/bin/env python3", "#!/usr/bin/env -S python3.11 -u", "#!/opt/py/bin/python"]
)
def test_a_python_script_is_refused_without_running_it(tmp_path: Path, shebang: str) -> None:
    # `--python train.py` ran the user's script (with the probe's path as its arguments) before failing.
    marker = tmp_path / "ran"
    script = tmp_path / "train.py"
    script.write_text(f"{shebang}\nopen({str(marker)!r}, 'w').write('ran')\n")
    script.chmod(0o755)
    with pytest.raises(ProbeError, match=r"train.py: a Python script \(its first line runs .*python.*\), not an inter"):
        pyprobe.run_probe(str(script))
    assert interpreter_version(str(script)) is None  # rebuild --python asks for the version first
    assert not marker.exists()


def test_a_wrapper_shell_script_is_still_an_interpreter(tmp_path: Path) -> None:
    # pyenv's shims and module-system wrappers are shell scripts that exec the interpreter.
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    assert pyprobe.run_probe(str(wrapper)).version == platform.python_version()


def test_source_without_direct_url_is_index() -> None:
    assert pyprobe.source_from_direct_url(None, PathRedactor()).kind == "index"


def test_a_wheel_installed_by_path_is_recorded_alike_from_pip_and_uv() -> None:
    """``name @ file:///b/wheels/x.whl#sha256=HEX`` (how ``rebuild --bundle`` installs a wheel the bundle built): pip
    writes the hash in ``archive_info``, uv 0.13 leaves ``archive_info`` empty and keeps it in the URL's fragment,
    which was recorded as part of the URL with no archive_hash. Both read as the file's URL and its sha256."""
    sha = "c2f60dc495b9a0c64b56769b98dfa136c5ee4991e8cc50bd9454bb028989aacc"
    url = "file:///b/wheels/mypkg-0.3.0-py3-none-any.whl"
    pip = {"archive_info": {"hash": f"sha256={sha}", "hashes": {"sha256": sha}}, "url": url}
    uv = {"url": f"{url}#sha256={sha}", "archive_info": {}}
    for written in (pip, uv):
        source = pyprobe.source_from_direct_url(written, PathRedactor())
        assert (source.kind, source.url, source.archive_hash) == ("archive", url, f"sha256={sha}")
    other = pyprobe.source_from_direct_url({"url": f"{url}#egg=mypkg", "archive_info": {}}, PathRedactor())
    assert (other.url, other.archive_hash) == (f"{url}#egg=mypkg", "")


@pytest.mark.parametrize("minor", [7, 8, 9, 10, 12, 13])
def test_probe_runs_in_other_interpreters(minor: int) -> None:
    """The probe is standard-library only and keeps to syntax that Python 3.7 accepts."""
    candidates = [
        shutil.which(f"python3.{minor}"),
        *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/3.{minor}.*/bin/python"))),
    ]
    working = [c for c in candidates if c and subprocess.run([c, "-c", "pass"], capture_output=True).returncode == 0]
    if not working:
        pytest.skip(f"no python3.{minor} interpreter is installed on this machine")
    exe = working[0]
    raw = pyprobe.run_probe(exe)
    assert raw.version.startswith(f"3.{minor}.")
    assert raw.abi in (f"cp3{minor}", f"cp3{minor}m")


def test_a_record_entry_outside_site_packages_is_placed_as_a_full_realpath_would(tmp_path: Path) -> None:
    """``_Layout.place`` resolves each folder once (600 scripts were 7,500 lstat calls); every entry lands where
    ``os.path.realpath`` of the whole path puts it: a linked folder, a linked or dangling file, ``..`` at the end,
    a missing file."""
    from envsnap.probes import _pyprobe

    site = tmp_path / "env" / "lib" / "site-packages"
    bin_dir = tmp_path / "env" / "bin"
    for folder in (site, bin_dir, tmp_path / "elsewhere"):
        folder.mkdir(parents=True)
    (bin_dir / "tool").write_text("#!/bin/sh\n")
    (tmp_path / "elsewhere" / "real").write_text("x")
    (bin_dir / "linked").symlink_to(tmp_path / "elsewhere" / "real")
    (bin_dir / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "env" / "linkdir").symlink_to(tmp_path / "elsewhere")
    layout = _pyprobe._Layout()
    entries = [
        "../../bin/tool",
        "../../bin/linked",
        "../../bin/dangling",
        "../../bin/missing",
        "../../linkdir/real",
        "../../linkdir/..",
        "../../bin/.",
        "../..",
        "pkg/__init__.py",
    ]
    for entry in entries * 2:  # the second round reads the folders it resolved in the first
        whole = os.path.normcase(os.path.realpath(os.path.join(str(site), entry)))
        assert os.path.normcase(layout._realpath(os.path.join(str(site), entry))) == whole, entry
    fresh = _pyprobe._Layout()
    assert [layout.place(str(site), e) for e in entries] == [fresh.place(str(site), e) for e in entries]


def test_a_debian_record_of_hex_digests_gives_the_digest_of_the_wheels_install(tmp_path: Path) -> None:
    """Debian's dh_python rewrites a dist-packages RECORD with hex sha256 digests (``sha256=<64 hex>``), where a
    wheel's holds urlsafe base64: the same files gave another ``record_digest`` than the wheel installed, so no
    install of the same files compared with it. A hex sha256 of the right length is read as the base64 one; any
    other value (a short hex, another algorithm, base64 already) is left as it is."""
    import base64
    import hashlib

    from envsnap.probes._pyprobe import _Layout

    site = tmp_path / "dist-packages"
    dist = site / "demo-1.0.dist-info"
    dist.mkdir(parents=True)
    files = {
        "demo/__init__.py": b"VALUE = 1\n",
        "demo/data.txt": b"data\n",
        "demo-1.0.dist-info/METADATA": b"Name: demo\nVersion: 1.0\n",
    }

    def record(spell: Callable[[bytes], str]) -> str:
        rows = [f"{path},sha256={spell(hashlib.sha256(data).digest())},{len(data)}" for path, data in files.items()]
        rows.append("demo/other.py,sha256=abc123,3")  # not a sha256's length: kept as written
        return "\n".join([*rows, "demo-1.0.dist-info/RECORD,,"]) + "\n"

    wheel = record(lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode())
    debian = record(lambda raw: raw.hex())
    layout = _Layout()
    want = record_digest(str(site), str(dist), wheel, layout, set())[0]
    assert record_digest(str(site), str(dist), debian, layout, set())[0] == want
    kept: list[tuple[str, str]] = []
    assert record_digest(str(site), str(dist), debian, layout, set(), kept=kept)[0] == want
    assert record_digest(str(site), str(dist), debian.replace("sha256=", "md5="), layout, set())[0] != want
    # Captured as the probe reads it (from the RECORD file, its digest cached or not).
    for path, data in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(data)
    (dist / "RECORD").write_text(debian)
    assert _pyprobe._dist_info(str(site), dist.name, _Layout())["record_digest"] == want


def test_the_record_split_gives_the_digest_of_every_row_read(tmp_path: Path) -> None:
    """``record_digest`` keeps most RECORD lines as they are (``_split_record``) and reads the rest row by row;
    asked for every entry's hash (``verify --files``), it reads every row. Both give one digest and one list of
    shared objects for any RECORD: quoted and backslashed paths, entries outside site-packages, the installer's
    files, byte code, shared objects, lines with fewer commas or starting with one, other line breaks."""
    from envsnap.probes._pyprobe import _Layout

    site = tmp_path / "site-packages"
    dist = site / "demo-1.0.dist-info"
    dist.mkdir(parents=True)
    pieces = [
        "demo/mod.py",
        "demo-1.0.dist-info/",
        "demo-1.0.virtualenv",
        "INSTALLER",
        "METADATA",
        "../../../bin/tool",
        "..",
        '"',
        "\\",
        "__pycache__/",
        "x.pyc",
        "y.pyo",
        "z.pyd",
        "lib.so",
        ".so.1",
        ",",
        ",sha256=abc",
        ",12",
        "\n",
        "\r\n",
        "\r",
        "\x0c",
        "\u2028",
        "é",
    ]
    rng = random.Random(18)
    layout = _Layout()
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(20)))
        split = record_digest(str(site), str(dist), text, layout, set())
        every_row = record_digest(str(site), str(dist), text, layout, set(), kept=[])
        assert split == every_row, text


def test_a_path_outside_site_packages_is_named_as_relpath_names_it(tmp_path: Path) -> None:
    """``_Layout.place`` cuts the root off a real path instead of calling ``relpath``: the same names, for the
    root itself, for folders within it, for a root of "/" and for paths under no root."""
    from envsnap.probes._pyprobe import _Layout

    site = tmp_path / "lib" / "site-packages"
    (tmp_path / "bin" / "sub").mkdir(parents=True)
    (tmp_path / "share" / "x").mkdir(parents=True)
    site.mkdir(parents=True)
    layout = _Layout()
    real = os.path.realpath(tmp_path)
    for roots in ([(real + "/bin", "scripts"), (real, "data")], [("/", "data")]):
        layout.roots = roots
        for entry in ["../../bin/tool", "../../bin/sub/t", "../../bin", "../../share/x/y.json", "../..", "../../../z"]:
            absolute = os.path.realpath(site / entry)
            expected = next(
                (
                    key + "/" + os.path.relpath(absolute, root)
                    for root, key in roots
                    if absolute == root or absolute.startswith(root + "/")
                ),
                entry,
            )
            assert layout.place(str(site), entry) == expected, (roots, entry)


def test_metadata_headers_are_read_as_from_the_whole_file(tmp_path: Path) -> None:
    """``_read_head`` stops at the first blank line: the headers are those of the whole file, wherever that line
    falls (in the first block, across a block's end, far in, nowhere), with "\\r\\n" line ends and bytes that are
    not UTF-8 at a block's edge."""
    from envsnap.probes._pyprobe import _headers, _read_head, _read_text

    rng = random.Random(18)
    path = tmp_path / "METADATA"
    pieces = [b"Name: demo\n", b"Version: 1.0\n", b"Summary: \xc3\xa9\xff\n", b" folded\n", b"\n", b"\r\n", b"x" * 5000]
    bodies = [
        b"Name: a\nVersion: 1\nSummary: " + b"y" * 8190 + b"\n\nrest",
        b"Name: a\nSummary: " + b"z" * 8176 + b"\xc3\n\nDescription",
        b"Name: a\nSummary: " + b"w" * 100000 + b"\n\nDescription",
    ]
    for _ in range(300):
        bodies.append(b"".join(rng.choice(pieces) for _ in range(rng.randrange(30))))
    for body in bodies:
        path.write_bytes(body)
        assert _headers(_read_head(str(path))) == _headers(_read_text(str(path))), body[:80]


def test_the_target_runs_the_probe_from_its_byte_code_with_the_same_answer(tmp_path: Path) -> None:
    """The target interpreter imports the probe (``_pyprobe_run.py``) and so loads it from ``__pycache__``
    where the byte code is there for its version, instead of compiling the script on every run; the answer is
    the script's, and nothing is written beside it (-B)."""
    import importlib.util
    import py_compile

    probes = tmp_path / "probes"
    probes.mkdir()
    for name in ("_pyprobe.py", "_pyprobe_run.py"):
        shutil.copy(Path(pyprobe.__file__).with_name(name), probes / name)
    assert pyprobe.PROBE_SCRIPT.name == "_pyprobe_run.py"
    script = subprocess.run(
        [sys.executable, "-E", "-B", str(probes / "_pyprobe.py")], capture_output=True, text=True, check=True
    )
    cached = Path(importlib.util.cache_from_source(str(probes / "_pyprobe.py")))
    py_compile.compile(str(probes / "_pyprobe.py"), cfile=str(cached), doraise=True)
    run = subprocess.run(
        [sys.executable, "-E", "-B", "-v", str(probes / "_pyprobe_run.py")], capture_output=True, text=True, check=True
    )
    assert f"code object from '{cached}'" in run.stderr
    assert json.loads(run.stdout) == json.loads(script.stdout)
    assert sorted(p.name for p in probes.rglob("*")) == sorted(
        ["_pyprobe.py", "_pyprobe_run.py", "__pycache__", cached.name]
    )


def test_the_probe_ends_without_the_targets_exit_handlers(tmp_path: Path) -> None:
    """Once it has answered, the probe's process ends at once: the interpreter's teardown (freeing what the read
    made) was on a rebuild's critical path after its installer, and it ran the target environment's exit handlers,
    such as a coverage hook a .pth file installs, which writes its data file where the probe runs."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    marker = tmp_path / "exit-handler-ran"
    site = site_packages(venv / "bin" / "python")
    (site / "zz_hook.pth").write_text(f"import atexit; atexit.register(open, {str(marker)!r}, 'w')\n")
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-c", "pass"], check=True)
    assert marker.exists()  # the hook runs at an interpreter's exit
    marker.unlink()
    raw = pyprobe.run_probe(python)
    assert raw.prefix == str(venv)
    assert not marker.exists()


def test_a_venv_that_sees_its_bases_packages_gives_them_their_own_digest(tmp_path: Path) -> None:
    """A venv made with --system-site-packages read a base distribution's RECORD with the venv's folders only:
    its data files (``../../../share/man/man1/ipython.1``) named the base's folders, not ``data/``, so the same
    installed files gave another RECORD digest than the base's own capture (and a fresh install's): pin found no
    such wheel and verify called it other files."""
    site = Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    with_data = [
        p.parent.name.split("-")[0].lower()
        for p in site.glob("*.dist-info/RECORD")
        if any(line.startswith("../../../share/") for line in p.read_text(errors="replace").splitlines())
    ]
    if not with_data:
        pytest.skip("the base interpreter has no distribution with data files outside site-packages")
    venv = tmp_path / "ssp"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    base = capture(sys.executable)
    seen = capture(str(venv / "bin" / "python"))
    for name in with_data:
        here, through = base.package(name), seen.package(name)
        assert here is not None and through is not None and through.version == here.version, name
        assert through.record_digest == here.record_digest, name


def test_virtualenvs_seed_marker_leaves_the_wheels_digest(tmp_path: Path) -> None:
    """virtualenv seeds pip and setuptools with a ``pip-26.0.1.virtualenv`` file beside each and lists it in the
    RECORD: every virtualenv's pip had another digest than its wheel, so ``bundle`` refused the environment (the
    index's wheel "has other files than the installed package")."""
    import zipfile

    from envsnap.probes._pyprobe import _Layout, wheel_record_digest

    files = {"demo/__init__.py": b"X = 1\n", "demo-1.0.dist-info/METADATA": b"Name: demo\nVersion: 1.0\n"}
    rows = [f"{path},sha256=abc,{len(data)}" for path, data in files.items()]
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr("demo-1.0.dist-info/RECORD", "\n".join([*rows, "demo-1.0.dist-info/RECORD,,"]) + "\n")
    site = tmp_path / "site-packages"
    dist = site / "demo-1.0.dist-info"
    dist.mkdir(parents=True)
    seeded = [*rows, "demo-1.0.dist-info/INSTALLER,,", "demo-1.0.dist-info/RECORD,,", "demo-1.0.virtualenv,,"]
    for text in ("\n".join(seeded), "\n".join(reversed(seeded))):
        for kept in (None, []):
            digest, _ = record_digest(str(site), str(dist), text, _Layout(), set(), kept)
            assert digest == wheel_record_digest(str(wheel))


def test_pythonnousersite_keeps_the_user_site_out_as_the_interpreter_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe runs with -E, which ignores PYTHONNOUSERSITE: with it set, the lock recorded the user site's
    packages (``pip install --user``) that the interpreter does not import, in place of the versions it does, and
    verify called that environment identical."""
    base = Path(sys.base_prefix) / "bin" / "python3"
    user_base = tmp_path / "userbase"
    monkeypatch.setenv("PYTHONUSERBASE", str(user_base))
    monkeypatch.delenv("PYTHONNOUSERSITE", raising=False)
    site = subprocess.run(
        [str(base), "-c", "import site; print(site.getusersitepackages() if site.ENABLE_USER_SITE else '')"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not site.startswith(str(user_base)):
        pytest.skip("the base interpreter has no user site-packages here")
    Path(site).mkdir(parents=True)
    _fake_dist(Path(site), "only-in-user-site", "1.0")
    for value, seen in (("", True), ("0", True), ("1", False), ("yes", False), (" 0", True)):
        monkeypatch.setenv("PYTHONNOUSERSITE", value)
        names = {p.name for p in pyprobe.run_probe(str(base)).packages}
        assert ("only-in-user-site" in names) is seen, value


def test_an_egg_folder_on_sys_path_is_recorded(scratch_venv: Path, tmp_path: Path) -> None:
    """easy_install (and ``setup.py install`` with older setuptools) puts ``NAME-VER-pyX.Y.egg`` folders on sys.path
    through a ``.pth``; their metadata is the folder's own ``EGG-INFO``. The interpreter imported such a package
    and ``importlib.metadata`` listed it, but the lock had no trace of it."""
    egg = tmp_path / "eggs" / "OldEgg-1.2-py3.11.egg"
    (egg / "EGG-INFO").mkdir(parents=True)
    (egg / "oldegg").mkdir()
    (egg / "oldegg" / "__init__.py").write_text("")
    (egg / "EGG-INFO" / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: OldEgg\nVersion: 1.2\n")
    (site_packages(scratch_venv) / "easy-install.pth").write_text(f"{egg}\n")
    snap = capture(str(scratch_venv))
    found = snap.package("oldegg")
    assert found is not None and found.version == "1.2" and found.metadata_name == "OldEgg"
    assert found.source.kind == "index" and found.record_digest == ""


def test_a_capture_writes_only_an_installer_and_requires_python_its_own_load_reads(
    tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """An INSTALLER file of two lines or of non-ASCII text ("pipé 2\\nsecond line") went into the lock as it
    stood, and the lock envsnap had just written was refused on its next load (python.packages[0].installer: not
    a valid ...). The capture keeps the first line where it is an installer's name, else leaves it out, and so
    for a Requires-Python outside its grammar."""
    from envsnap import lockfile

    python = make_venv(tmp_path / "venv")
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for name, installer, requires in (
        ("twolines", "uv 0.9\nsecond line\n", ">=3.8"),
        ("accented", "pipé\n", ">=3.8\u202e"),
    ):
        info = site / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nRequires-Python: {requires}\n"
        )
        (info / "INSTALLER").write_text(installer, encoding="utf-8")
        (info / "RECORD").write_text(f"{name}-1.0.dist-info/METADATA,,\n{name}-1.0.dist-info/RECORD,,\n")
    lock = tmp_path / "env.lock"
    done = subprocess.run(
        [sys.executable, "-m", "envsnap", "capture", "--python", str(python), "-o", str(lock)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    packages = {p.name: p for p in lockfile.load(lock).python.packages}
    assert (packages["twolines"].installer, packages["twolines"].requires_python) == ("uv 0.9", ">=3.8")
    assert (packages["accented"].installer, packages["accented"].requires_python) == ("", "")


def test_a_generated_script_is_told_by_its_first_bytes_and_nothing_waits_on_a_fifo(tmp_path: Path) -> None:
    # What the RECORD digest leaves out outside site-packages: a script whose shebang names a Python (or is
    # /bin/sh: a launcher), or a Windows launcher; any other file counts. A FIFO a RECORD names (a stranger's
    # wheel) is read without waiting for a writer: the probe of a rebuild's verify must not hang on it.
    import textwrap

    from envsnap.probes import _pyprobe

    files = {
        "console": b"#!/tmp/venv/bin/python\nimport sys\n",
        "env-python": b"#!/usr/bin/env python3\n",
        "shell": b"#!/bin/sh\n'''exec' python \"$0\"\n",
        "launcher": b"MZ\x90\x00",
        "bash": b"#!/bin/bash\necho hi\n",
        "data": b"not a script",
        "empty": b"",
        "long": b"#!" + b"x" * 300 + b"python\n",
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    names = [*files, "folder", "missing", "fifo"]
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(_pyprobe.__file__).parent)!r})
        import _pyprobe
        print([_pyprobe._generated_script(sys.argv[1] + "/" + name) for name in sys.argv[2:]])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), *names], capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 0, done.stderr
    expected = [True, True, True, True, False, False, False, False, False, False, False]
    assert done.stdout.strip() == str(expected)


@pytest.mark.parametrize(("left", "last"), [("1.0", "2.0"), ("2.0", "1.0")])
def test_two_installs_of_one_distribution_in_one_folder_record_the_last(
    tmp_path: Path, scratch_venv: Path, cli: Callable[..., Any], left: str, last: str
) -> None:
    """An upgrade (or downgrade) interrupted before the old ``.dist-info`` was removed leaves two of one name in one
    folder: the files are the last install's. The capture recorded the one first by name and called the other
    "shadowed by an earlier one on sys.path" (it is in the same folder), and verify called the upgraded
    environment identical to a lock of the old version."""
    site = site_packages(scratch_venv)
    old = _fake_dist(site, "alpha", left)
    lock = lockfile.dump(capture(str(scratch_venv)), tmp_path / "envsnap.lock")
    new = _fake_dist(site, "alpha", last)
    os.utime(old / "RECORD", ns=(10**18, 10**18))
    os.utime(new / "RECORD", ns=(2 * 10**18, 2 * 10**18))
    snap = capture(str(scratch_venv))
    assert snap.package("alpha").version == last
    [warning] = [w for w in snap.envsnap.warnings if "alpha" in w]
    assert warning == (
        f"python: duplicate: {{prefix}}/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages/"
        f"alpha-{left}.dist-info: alpha {left} and {last} are both installed in this folder (an install or "
        f"uninstall was interrupted): the files are the last one's, {last}"
    )
    drifted = cli("verify", lock, "--python", scratch_venv)
    assert drifted.code == 3
    assert f"  python: alpha: version {left} -> {last}\n" in drifted.out


def test_a_pythonpath_folder_holding_another_version_is_said_at_capture(
    tmp_path: Path, scratch_venv: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PYTHONPATH`` puts its folders ahead of site-packages: with ``pip install --target`` of alpha 2.0 there,
    ``import alpha`` reads 2.0 in this shell. The packages are read with ``python -E`` (the environment itself), so
    the lock records the venv's alpha 1.0 and nothing said that this session imported another one."""
    from envsnap.probes import memo

    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))  # files made moments ago: the capture memo keeps its answer
    site = site_packages(scratch_venv)
    _fake_dist(site, "alpha", "1.0")
    extra = tmp_path / "extra"
    extra.mkdir()
    _fake_dist(extra, "beta", "3.0")
    monkeypatch.setenv("PYTHONPATH", str(extra))
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", scratch_venv, "-o", lock).code == 0
    tail = "; the lock records the environment without PYTHONPATH"
    ahead = f"python: PYTHONPATH: {extra} holds distributions that import ahead of the environment's: "
    assert f"{ahead}beta 3.0 (not in the lock){tail}" in lockfile.load(lock).envsnap.warnings
    _fake_dist(extra, "alpha", "2.0")  # pip install --target: the capture memo must not answer as before
    assert cli("capture", "--python", scratch_venv, "-o", lock).code == 0
    captured = lockfile.load(lock)
    assert f"{ahead}alpha 2.0 (the lock records 1.0), beta 3.0 (not in the lock){tail}" in captured.envsnap.warnings
    assert captured.package("alpha").version == "1.0"


def test_a_pth_file_adding_a_folder_of_modules_is_said_at_capture(
    tmp_path: Path, scratch_venv: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``echo /data/mods > site-packages/mods.pth`` puts a folder of modules on ``sys.path``: they import, and the
    lock said nothing of them (no distribution is installed there), so its rebuild could not import them. An
    editable install's own ``.pth`` (hatchling's names the project's ``src/``) and ``import`` lines are not said."""
    from envsnap.probes import memo

    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))  # files made moments ago: the capture memo keeps its answer
    site = site_packages(scratch_venv)
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "helper.py").write_text("X = 1\n")
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", scratch_venv, "-o", lock).code == 0
    assert not [w for w in lockfile.load(lock).envsnap.warnings if ".pth" in w]
    (site / "mods.pth").write_text(f"import os\n# a comment\n{mods}\n{tmp_path / 'absent'}\n")
    probe = subprocess.run([str(scratch_venv), "-c", "import helper"], capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert cli("capture", "--python", scratch_venv, "-o", lock).code == 0  # the memo must not answer as before
    warned = [w for w in lockfile.load(lock).envsnap.warnings if ".pth" in w]
    assert warned == [
        f"python: .pth: {{prefix}}/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages/mods.pth puts "
        f"{mods} on sys.path, and no distribution is installed there: the modules imported from it are not in the "
        "lock, and a rebuild leaves them out"
    ]
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    [entry] = lockfile.load(lock).python.pth_folders
    assert (entry.pth, entry.folder) == (f"{{prefix}}/lib/python{minor}/site-packages/mods.pth", str(mods))
    assert entry.digest.startswith("sha256:")  # its module files (tests/compare/test_verify.py)
    _fake_dist(mods, "helper", "1.0")  # a distribution there is recorded: nothing more to say
    assert cli("capture", "--python", scratch_venv, "-o", lock).code == 0
    captured = lockfile.load(lock)
    assert captured.package("helper").version == "1.0"
    assert not [w for w in captured.envsnap.warnings if ".pth" in w]
    assert captured.python.pth_folders == ()


@pytest.mark.parametrize(
    "content, said",
    [
        ("[" * 10_000 + "]" * 10_000, "nested deeper than 8 levels"),
        ('{"url": "' + "x" * 70_000 + '"}', "over 64 KiB"),
        ('{"url": "http://[::1]/x.whl", "archive_info": {"hashes": {"sha256": "' + "0" * 64 + '"}}}', ""),
    ],
)
def test_a_direct_url_json_a_wheel_ships_cannot_drop_the_distribution(tmp_path: Path, content: str, said: str) -> None:
    """A wheel may ship its own ``direct_url.json`` (an install by name keeps it): one nested 10,000 deep raised
    RecursionError in the probe, which took the whole distribution for unreadable and left it out of the capture.
    One too deep or too large is a warning on the distribution, which is recorded; a small one is read as before."""
    site = tmp_path / "site"
    info = site / "shipped-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shipped\nVersion: 1.0\n")
    (info / "direct_url.json").write_text(content)
    found = _pyprobe.probe([str(site)])
    assert [p["name"] for p in found["packages"]] == ["shipped"], found["warnings"]
    (package,) = found["packages"]
    if said:
        assert said in package.get("warning", ""), package
        assert "direct_url" not in package or package["direct_url"] is None, package
    else:
        assert package["direct_url"]["url"] == "http://[::1]/x.whl" and not package.get("warning"), package


def _wheel_shipping_direct_url(folder: Path, claim: dict[str, object]) -> Path:
    """A real wheel of ``shipped 1.0`` that carries a ``direct_url.json`` of its own in its ``.dist-info`` (listed in
    its RECORD with its hash, as a wheel packed from an installed tree, or a hostile one, has it)."""
    import base64
    import hashlib
    import zipfile

    info = "shipped-1.0.dist-info"
    files = {
        "shipped/__init__.py": b"X = 1\n",
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: shipped\nVersion: 1.0\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/direct_url.json": json.dumps(claim).encode(),
    }
    rows = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{name},sha256={digest},{len(data)}")
    files[f"{info}/RECORD"] = ("\n".join([*rows, f"{info}/RECORD,,"]) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / "shipped-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_direct_url_json_the_wheel_itself_ships_is_not_taken_as_its_source(
    tmp_path: Path, make_venv: Callable[..., Path], installer: str
) -> None:
    """A ``direct_url.json`` is the installer's record of where it installed from; one inside the wheel (a packaging
    mistake, or a hostile wheel) is only the wheel's claim. Installed by name from a find-links folder, the wheel's
    own file stays, listed once in RECORD: the capture recorded the claim (a git commit, or the wheel's own file)
    as the source. Installed by its path, the installer writes its own over it (RECORD lists it twice): that one
    is the source."""
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed (pip install -e '.[test]' installs it)")
    wheels = tmp_path / "wheels"
    wheel_url = (wheels / "shipped-1.0-py3-none-any.whl").as_uri()
    claims = {
        # uv links the wheel's files from its cache: its own direct_url.json is a link to the cached copy
        "uv": {"url": "https://git.example.org/trusted/shipped.git", "vcs_info": {"vcs": "git", "commit_id": "a" * 40}},
        # pip copies: the wheel the claim names is at hand, and its own RECORD lists a direct_url.json
        "pip": {"url": wheel_url, "archive_info": {}},
    }
    wheel = _wheel_shipping_direct_url(wheels, claims[installer])

    def install(venv: Path, *args: str) -> Path:
        if installer == "uv":
            python = make_venv(venv)
            subprocess.run([uv, "pip", "install", "-q", "--python", str(python), "--offline", *args], check=True)
        else:
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
            python = venv / "bin" / "python"
            pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
            subprocess.run([*pip, *args], check=True)
        return python

    by_name = install(tmp_path / "by-name", "--no-index", "--find-links", str(wheels), "shipped")
    snap = capture(str(by_name))
    pkg = snap.package("shipped")
    assert pkg is not None and pkg.source.kind == "index", pkg.source
    said = [w for w in snap.envsnap.warnings if w.startswith("python: shipped: ")]
    assert said == [
        "python: shipped: its direct_url.json came with the wheel, not from the installer: not taken as its source"
    ], snap.envsnap.warnings

    by_path = install(tmp_path / "by-path", str(wheel))
    snap = capture(str(by_path))
    pkg = snap.package("shipped")
    assert pkg is not None and (pkg.source.kind, pkg.source.url) == ("archive", wheel_url), pkg.source
    assert not [w for w in snap.envsnap.warnings if w.startswith("python: shipped: ")]


@pytest.mark.parametrize(
    ("folder", "written"),
    [
        # pip 25.1 and uv 0.13 install `git+file://$PWD` from a folder with a bare % and write it raw
        ("r100%", "r100%"),
        # `pip install .` / `-e .` (pip 23.2, 25.1) and uv write a folder's # and % percent-encoded
        ("h#a%25b c", "h%23a%2525b%20c"),
    ],
)
def test_a_repository_in_a_folder_with_a_hash_or_percent_is_recorded_as_that_folder(
    scratch_venv: Path, tmp_path: Path, folder: str, written: str
) -> None:
    """The URLs pip and uv write for a git repository in such a folder, as read from their direct_url.json: the lock
    names that folder, outside a project by its URL, inside it as ``file://{project}``, and loads."""
    from envsnap.fileurls import local_path

    repo = tmp_path / folder / "proj"
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    url = f"file://{tmp_path}/{written}/proj"
    direct = {"url": url, "vcs_info": {"vcs": "git", "commit_id": "c" * 40}}
    _fake_dist(site_packages(scratch_venv), "odd", "0.1", direct)
    # Recorded encoded as a folder's URL, the bare % as %25: the one spelling of that folder (local_path reads both).
    encoded = repo.as_uri()
    for project, expected in ((None, encoded), (str(repo), "file://{project}")):
        lock = tmp_path / "envsnap.lock"
        lockfile.dump(capture(str(scratch_venv), project), lock)
        pkg = lockfile.load(lock).package("odd")
        assert pkg is not None and (pkg.source.kind, pkg.source.url) == ("vcs", expected), pkg.source
    assert local_path(url) == repo == local_path(encoded)


@pytest.mark.parametrize("check_files", [False, True])
@pytest.mark.parametrize("linked", [False, True])
def test_a_distribution_s_record_is_read_once_where_its_direct_url_json_is_judged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, check_files: bool, linked: bool
) -> None:
    """Whether a ``direct_url.json`` came with the wheel (``_shipped_by_wheel``) is judged from the RECORD, which the
    probe then read again for the distribution's digest: two reads of every RECORD of an install by URL. It is read
    once, and the verdict (a linked copy listed once: the wheel's, not taken) and the digest are as before."""
    site = tmp_path / "site"
    dist = site / "demo-1.0.dist-info"
    dist.mkdir(parents=True)
    (site / "demo").mkdir()
    (site / "demo" / "__init__.py").write_text("X = 1\n")
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    (dist / "INSTALLER").write_text("uv\n")
    claim = tmp_path / "cache-direct_url.json"  # uv links a cached wheel's own file
    claim.write_text(
        json.dumps({"url": "https://git.example.org/x.git", "vcs_info": {"vcs": "git", "commit_id": "a" * 40}})
    )
    if linked:
        os.link(claim, dist / "direct_url.json")
    else:
        shutil.copy(claim, dist / "direct_url.json")
    rows = ["demo/__init__.py,,", "demo-1.0.dist-info/METADATA,,", "demo-1.0.dist-info/direct_url.json,,"]
    (dist / "RECORD").write_text("\n".join([*rows, "demo-1.0.dist-info/RECORD,,"]) + "\n")
    expected = _pyprobe._dist_info(str(site), dist.name, _pyprobe._Layout(), check_files=check_files)
    assert (expected["direct_url"] is None) is linked, expected
    opened: list[str] = []

    def counting_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(os.fspath(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(_pyprobe, "open", counting_open, raising=False)
    info = _pyprobe._dist_info(str(site), dist.name, _pyprobe._Layout(), check_files=check_files)
    assert [p for p in opened if os.path.basename(p) == "RECORD"] == [str(dist / "RECORD")], opened
    assert info["record_digest"] == expected["record_digest"] and info["direct_url"] == expected["direct_url"]
    assert info.get("warning") == expected.get("warning")


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (
            f"python: .pth: /data/my mods {pyprobe.PTH_OVER}",
            f"python: .pth: '/data/my mods' {pyprobe.PTH_OVER}",
        ),
        (
            "python: shadowed: /opt/site dir/alpha-1.0.dist-info: alpha 1.0 is shadowed by an earlier one",
            "python: shadowed: '/opt/site dir/alpha-1.0.dist-info': alpha 1.0 is shadowed by an earlier one",
        ),
        (
            "python: proj: its editable checkout ~/src/my repo has uncommitted changes to tracked files: its code "
            "is not the recorded commit aaaaaaaaaaaa's",
            "python: proj: its editable checkout ~/'src/my repo' has uncommitted changes to tracked files: its "
            "code is not the recorded commit aaaaaaaaaaaa's",
        ),
        (
            "conda: --prefix /opt/my env is not the captured interpreter's environment: the Python packages are ...",
            "conda: --prefix '/opt/my env' is not the captured interpreter's environment: the Python packages are ...",
        ),
        ("system: libfoo.so.1 (needed by torch) was not found", "system: libfoo.so.1 (needed by torch) was not found"),
    ],
)
def test_a_capture_warning_shows_each_path_it_names_as_one_shell_word(stored: str, shown: str) -> None:
    """The paths of capture's warnings were printed as they are: a folder with a space read as two words."""
    assert pyprobe.warning_shown(stored) == shown
