from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap import export, lockfile
from envsnap._toml import tomllib
from envsnap.model import PythonEnv, PythonPackage, Snapshot, Source


@pytest.fixture
def lock(rich: Snapshot, tmp_path: Path) -> Path:
    return lockfile.dump(rich, tmp_path / "envsnap.lock")


def test_list_names_every_format_with_its_description(cli: Callable[..., Any]) -> None:
    result = cli("export", "--list")
    assert result.code == 0
    for name, exporter in export.exporters().items():
        assert any(line.startswith(name + " ") and exporter.description in line for line in result.out.splitlines()), (
            name
        )


def test_writes_the_default_file_name(
    cli: Callable[..., Any], lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("export", lock, "--format", "pylock")
    assert result.code == 0, result
    assert tomllib.loads((tmp_path / "pylock.toml").read_text())["lock-version"] == "1.0"
    assert "pylock.toml" in result.err


def test_stdout_and_output_path(cli: Callable[..., Any], lock: Path, tmp_path: Path, rich: Snapshot) -> None:
    result = cli("export", lock, "-f", "requirements", "-o", "-")
    assert result.code == 0
    assert result.out == export.get("requirements").render(rich)["requirements.txt"].decode()
    target = tmp_path / "out dir ü" / "pylock.paper.toml"
    assert cli("export", lock, "-f", "pylock", "-o", target).code == 0
    assert target.read_bytes() == export.get("pylock").render(rich)["pylock.toml"]
    assert cli("export", lock, "-f", "markdown", "-o", tmp_path).code == 0
    assert (tmp_path / "appendix.md").exists()


def test_unpinned_lock_fails_clearly_and_keeps_the_old_file(
    cli: Callable[..., Any], rich: Snapshot, tmp_path: Path
) -> None:
    packages = tuple(dataclasses.replace(p, artifact=None) for p in rich.python.packages)
    unpinned = dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=packages))
    lock = lockfile.dump(unpinned, tmp_path / "unpinned.lock")
    target = tmp_path / "requirements.txt"
    target.write_text("old content\n")
    result = cli("export", lock, "-f", "requirements", "-o", target, "--no-pin")
    assert result.code == 2
    assert "have no pinned artifact" in result.err and "numpy==2.1.3" in result.err
    assert "Traceback" not in result.err
    assert target.read_text() == "old content\n"
    assert list(tmp_path.glob(".requirements.txt.*")) == []


def test_pin_flag_says_when_pinning_is_unavailable(
    cli: Callable[..., Any], rich: Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "envsnap.artifacts.pin", None)  # as on a build without envsnap.artifacts.pin
    packages = tuple(dataclasses.replace(p, artifact=None) for p in rich.python.packages)
    unpinned = dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=packages))
    lock = lockfile.dump(unpinned, tmp_path / "unpinned.lock")
    result = cli("export", lock, "-f", "pylock", "--pin")
    assert result.code == 2 and "cannot pin artifacts" in result.err
    result = cli("export", lock, "-f", "pylock", "-o", "-")  # automatic: falls back to naming what is missing
    assert result.code == 2 and "have no pinned artifact" in result.err


def test_bad_input_is_one_line(cli: Callable[..., Any], lock: Path, tmp_path: Path) -> None:
    for args, expected in [
        (("export", lock, "-f", "nope"), "unknown export format 'nope'"),
        (("export", tmp_path / "missing.lock", "-f", "json"), "no such lockfile"),
        (("export", lock), "needs LOCK and --format"),
    ]:
        result = cli(*args)
        assert result.code == 2 and expected in result.err, result
        assert len(result.err.strip().splitlines()) == 1


def test_directory_formats_write_every_file_and_refuse_stdout(tmp_path: Path) -> None:
    from envsnap.cli.export import write
    from envsnap.errors import ExportError
    from envsnap.export.interface import Exporter

    class Context(Exporter):
        name = "ctx"
        description = "a build context"
        filename = "context"
        directory = True

        def files(self, snapshot: Snapshot) -> dict[str, bytes]:
            return {}

    context = Context()
    files = {"Dockerfile": b"FROM scratch\n", "wheels/a b.txt": b"x"}
    written = write(context, files, str(tmp_path / "out"))
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["Dockerfile", "wheels/a b.txt"]
    assert (tmp_path / "out" / "Dockerfile").read_bytes() == b"FROM scratch\n"
    with pytest.raises(ExportError, match="writes several files"):
        write(context, files, "-")


def test_pinning_that_fails_says_why(
    cli: Callable[..., Any], rich: Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The index cannot be reached: "run envsnap pin first" would be no help after export just ran it.
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    packages = tuple(dataclasses.replace(p, artifact=None) for p in rich.python.packages)
    lock = lockfile.dump(
        dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=packages)),
        tmp_path / "unpinned.lock",
    )
    for flag in ("--pin", None):
        result = cli("export", lock, "-f", "pylock", "-o", tmp_path / "pylock.toml", *([flag] if flag else []))
        assert result.code == 2, result
        assert result.err.startswith("envsnap: error: pylock: pinning left ") and result.err.count("\n") == 1
        assert "http://127.0.0.1:9/simple/" in result.err and "cannot reach the index" in result.err
        assert "run `envsnap pin LOCK` first" not in result.err
        assert not (tmp_path / "pylock.toml").exists()


def test_pinning_for_an_export_keeps_the_local_project_and_names_only_what_has_no_file(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the project, export listed the editable project among the packages "left without a file", with
    "run inside the project, or name it with --project DIR" (it was run there): pinning was not told where the
    project is. It needs no file (the pylock names its folder)."""
    from envsnap.model import PythonEnv, PythonPackage, Snapshot, Source

    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = tmp_path / "myproj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "myproj"\nversion = "0.1.0"\n')
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    monkeypatch.chdir(project)
    lock = Snapshot(
        python=PythonEnv(
            version="3.11.7",
            packages=(
                PythonPackage(
                    name="myproj",
                    version="0.1.0",
                    source=Source(kind="directory", url="file://{project}", editable=True),
                ),
                PythonPackage(name="localwheel", version="0.3.0"),
            ),
        )
    )
    path = lockfile.dump(lock, project / "env.lock")
    result = cli("export", path, "-f", "pylock", "-o", tmp_path / "p.toml")
    assert result.code == 2 and "pinning left 1 package(s) without a file: localwheel 0.3.0: " in result.err, result
    assert "myproj" not in result.err


@pytest.mark.parametrize("fmt", ["conda-lock", "environment-yml"])
def test_a_format_that_refuses_the_lock_says_so_after_a_pinning_that_left_a_package_unpinned(
    cli: Callable[..., Any], rich: Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """A pip-only lock exported to a conda format was refused as "pinning left 1 package(s) without a file: ...;
    pass --allow-url" (an option export does not have), naming a package the format did not refuse: the format's
    own refusal (no conda packages) was replaced by whatever pinning had failed to find."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    packages = tuple(dataclasses.replace(p, artifact=None) for p in rich.python.packages if not p.conda_managed)
    lock = lockfile.dump(
        dataclasses.replace(rich, conda=None, python=dataclasses.replace(rich.python, packages=packages)),
        tmp_path / "unpinned.lock",
    )
    result = cli("export", lock, "-f", fmt, "-o", tmp_path / "out")
    assert result.code == 2, result
    assert result.err == (
        f"envsnap: error: {fmt}: the lock records no conda packages (it was not captured from a conda environment); "
        "use --format requirements or pylock\n"
    ), result
    assert not (tmp_path / "out").exists()


def test_a_pylock_written_under_another_name_than_pep_751_gives_is_noted(
    cli: Callable[..., Any], lock: Path, tmp_path: Path
) -> None:
    """docs said any -o name works; uv refuses out.pylock.toml ("not a valid PEP 751 filename")."""
    for name, noted in (("pylock.toml", False), ("pylock.paper.toml", False), ("out.pylock.toml", True)):
        result = cli("export", lock, "-f", "pylock", "-o", tmp_path / name)
        assert result.code == 0, result
        assert ("PEP 751 names a lock file pylock.toml or pylock.NAME.toml" in result.err) == noted, (name, result)


def test_local_projects_are_relative_to_the_project_root_or_absolute(
    cli: Callable[..., Any], lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """issue 12.6: `path = "."` held only where -o put the file; now the file says where it must sit, or
    --absolute-paths writes the project's path on this machine."""
    project = tmp_path / "proj"
    (project / "pkgs" / "café").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)  # in no git work tree: the project is named
    result = cli("export", lock, "-f", "pylock", "-o", tmp_path / "elsewhere" / "pylock.toml")
    assert result.code == 0, result
    text = (tmp_path / "elsewhere" / "pylock.toml").read_text()
    assert text.startswith("# Local projects below are written relative to the project root")
    assert "names local projects relative to the project root" in result.err
    result = cli("export", lock, "-f", "pylock", "-o", tmp_path / "abs.toml", "--absolute-paths", "--project", project)
    assert result.code == 0, result
    doc = tomllib.loads((tmp_path / "abs.toml").read_text())
    paths = [p["directory"]["path"] for p in doc["packages"] if "directory" in p]
    assert paths == [str(project / "pkgs" / "café")]
    result = cli(
        "export", lock, "-f", "requirements", "-o", tmp_path / "req.txt", "--absolute-paths", "--project", project
    )
    assert result.code == 0 and f"-e '{project / 'pkgs' / 'café'}'" in (tmp_path / "req.txt").read_text()
    # Not named, outside any work tree: the lock's folder, as pin, bundle and rebuild take it there (it refused).
    (tmp_path / "pkgs" / "café").mkdir(parents=True)
    result = cli("export", lock, "-f", "requirements", "-o", tmp_path / "r2.txt", "--absolute-paths")
    assert result.code == 0 and f"-e '{tmp_path / 'pkgs' / 'café'}'" in (tmp_path / "r2.txt").read_text()


def test_absolute_paths_of_a_lock_saved_away_from_its_project_ask_for_the_project(
    cli: Callable[..., Any], lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`envsnap import ... -o - > ../out/x.lock` labels the working directory {project}; the lock's folder, taken
    for the project outside a work tree, then wrote paths to folders that do not exist there, exit 0. It asks for
    --project in one line, exit 2, and the project named makes it write."""
    project = tmp_path / "proj"
    (project / "pkgs" / "café").mkdir(parents=True)
    monkeypatch.chdir(project)  # in no git work tree
    result = cli("export", lock, "-f", "requirements", "-o", tmp_path / "r.txt", "--absolute-paths")
    assert result.code == 2 and not (tmp_path / "r.txt").exists(), result
    assert result.err.count("\n") == 1 and "--project DIR" in result.err and "pkgs/café" in result.err, result.err
    result = cli("export", lock, "-f", "requirements", "-o", tmp_path / "r.txt", "--absolute-paths", "--project", ".")
    assert result.code == 0 and f"-e '{project / 'pkgs' / 'café'}'" in (tmp_path / "r.txt").read_text()


@pytest.mark.parametrize(
    ("url", "project"),
    [
        ("file://~/<user>-lib", None),
        ("file://{project}/libs/<user>-tools", None),
        ("file://{project}/libs/<user>-tools", "."),
    ],
)
def test_absolute_paths_of_a_path_recorded_without_the_login_say_so(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, project: str | None
) -> None:
    """A local project capture recorded as ``~/<user>-lib`` (the login hidden: ``~/alice-lib``; an older lock's
    ``{project}/libs/<user>-tools``): ``--absolute-paths`` wrote ``pip install --no-deps '/home/bob/<user>-lib'``, a
    path that names nothing, exit 0, or asked for ``--project DIR``, which cannot help. It says the login name was left
    out and what to do, as bundle does, on one line, exit 2."""
    from envsnap.model import PythonEnv, PythonPackage, Source

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # in no git work tree
    pkg = PythonPackage(name="alib", version="1.0", source=Source(kind="directory", url=url))
    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), tmp_path / "x.lock")
    where = ["--project", project] if project else []
    result = cli("export", lock, "-f", "requirements", "-o", tmp_path / "r.txt", "--absolute-paths", *where)
    assert result.code == 2 and not (tmp_path / "r.txt").exists(), result
    assert result.err.count("\n") == 1 and "--project DIR" not in result.err, result.err
    assert "without the login name" in result.err and "capture again" in result.err, result.err


@pytest.mark.parametrize(
    ("fmt", "advice"),
    [
        ("pylock", "PEP 751 reads them relative to the file: move it to the project root, or export with"),
        ("requirements", "pip reads them from the working directory: install from the project root, or export with"),
        ("environment-yml", "conda runs pip from the file's folder: move it to the project root, or export with"),
    ],
)
def test_the_note_on_a_file_written_outside_the_project_says_what_makes_it_install(
    cli: Callable[..., Any], lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, advice: str
) -> None:
    """A pylock written to /tmp was noted with "install it from there": PEP 751 reads a relative path from the
    file's folder, so uv looked for /tmp/wheels/... wherever it ran. Each format's note says what holds for it."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "elsewhere" / {"pylock": "pylock.toml", "requirements": "r.txt"}.get(fmt, "environment.yml")
    result = cli("export", lock, "-f", fmt, "-o", out)
    assert result.code == 0, result
    assert advice in result.err and "install it from there" not in result.err, result.err


def _bundled_from_the_wheelhouse(host_snapshot: Snapshot, wheelhouse: Any, bundle: Path) -> tuple[Snapshot, Any]:
    """The host's lock with its packages unpinned, and its bundle made at ``bundle`` from the wheelhouse alone."""
    from envsnap.artifacts.bundle import BundleOptions, make_bundle
    from envsnap.artifacts.pin import IndexConfig

    captured = dataclasses.replace(
        host_snapshot,
        python=dataclasses.replace(
            host_snapshot.python,
            packages=tuple(
                dataclasses.replace(p, artifact=None, wheel_tags=("py3-none-any",))
                for p in host_snapshot.python.packages
            ),
        ),
    )
    options = BundleOptions(
        config=IndexConfig(no_index=True, find_links=(str(wheelhouse.root / "wheels"),)),
        cache_dir=bundle.parent / "cache",
    )
    return captured, make_bundle(captured, bundle, options)


def test_the_bundle_holds_the_appendix_of_its_own_lock(
    cli: Callable[..., Any], host_snapshot: Snapshot, wheelhouse: Any, tmp_path: Path
) -> None:
    """issue 12.6: the appendix exported from the captured lock cited another digest than the supplement's
    lock (the bundle pins every file). The bundle writes it from its own lock, and `export` of a bundle uses
    the bundle's lock."""
    captured, result = _bundled_from_the_wheelhouse(host_snapshot, wheelhouse, tmp_path / "bundle")
    bundled = lockfile.load(tmp_path / "bundle" / "envsnap.lock")
    assert bundled.envsnap.content_digest != lockfile.seal(captured).envsnap.content_digest
    appendix = (tmp_path / "bundle" / "appendix.md").read_text()
    assert bundled.envsnap.content_digest in appendix and (tmp_path / "bundle" / "appendix.tex").is_file()
    exported = cli("export", tmp_path / "bundle", "-f", "markdown", "-o", tmp_path / "appendix.md")
    assert exported.code == 0, exported
    assert (tmp_path / "appendix.md").read_text() == appendix
    assert result.lock.envsnap.content_digest == bundled.envsnap.content_digest


def test_an_output_ending_in_a_slash_is_a_folder_made_for_the_file(
    cli: Callable[..., Any], lock: Path, tmp_path: Path
) -> None:
    """``-o exp/`` (missing) wrote a file named ``exp``, and the next format replaced it."""
    for fmt, name in (("requirements", "requirements.txt"), ("markdown", "appendix.md")):
        result = cli("export", lock, "-f", fmt, "-o", f"{tmp_path / 'exp'}/")
        assert result.code == 0, result
        assert (tmp_path / "exp" / name).is_file()
    assert sorted(p.name for p in (tmp_path / "exp").iterdir()) == ["appendix.md", "requirements.txt"]


def test_an_output_that_is_the_input_itself_is_refused_before_anything_is_written(
    cli: Callable[..., Any], lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``export LOCK -f requirements -o LOCK`` (or a link to it) replaced the lock with requirements.txt lines, and
    ``import reqs.txt -o reqs.txt`` the requirements file with a lock. Refused now: one line, exit 2, the input
    unchanged."""
    text = lock.read_bytes()
    (tmp_path / "link.txt").symlink_to(lock)
    monkeypatch.chdir(tmp_path)
    for args in (
        ("-f", "requirements", "-o", lock),
        ("-f", "pylock", "-o", "link.txt"),
        ("-f", "requirements", "-o", "./sub/../envsnap.lock"),
    ):
        result = cli("export", lock, *args)
        assert result.code == 2 and len(result.err.strip().splitlines()) == 1, (args, result)
        assert "the lock" in result.err and "name another" in result.err, result.err
        assert lock.read_bytes() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["envsnap.lock", "link.txt"]
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("six==1.16.0\n")
    result = cli("import", reqs, "-o", reqs)
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result
    assert "name another" in result.err, result.err
    assert reqs.read_text() == "six==1.16.0\n"


def test_an_output_inside_the_bundle_folder_it_reads_is_refused_before_anything_is_written(
    cli: Callable[..., Any], host_snapshot: Snapshot, wheelhouse: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``export BUNDLE -f requirements -o BUNDLE/requirements.txt`` (or ``-f dockerfile -o BUNDLE``) wrote over the
    bundle's own files, or added one, so its SHA256SUMS check failed and the bundle was broken. Refused now: one
    line, exit 2, the bundle unchanged and still read; an output beside it is written."""
    bundle = tmp_path / "bundle"
    _bundled_from_the_wheelhouse(host_snapshot, wheelhouse, bundle)
    before = {p.relative_to(bundle): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}
    (tmp_path / "link").symlink_to(bundle)
    monkeypatch.chdir(bundle)
    for args in (
        ("-f", "requirements", "-o", bundle / "requirements.txt"),
        ("-f", "markdown", "-o", bundle),
        ("-f", "pylock", "-o", bundle / "wheels" / "pylock.toml"),
        ("-f", "pylock"),  # the working directory is the bundle
        ("-f", "dockerfile", "-o", bundle),
        ("-f", "dockerfile", "-o", bundle / "docker"),
        ("-f", "requirements", "-o", tmp_path / "link" / "r.txt"),
    ):
        result = cli("export", bundle, *args)
        assert result.code == 2 and len(result.err.strip().splitlines()) == 1, (args, result)
        assert "inside the bundle" in result.err and "SHA256SUMS" in result.err, result.err
        after = {p.relative_to(bundle): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}
        assert after == before, args
    monkeypatch.chdir(tmp_path)
    assert cli("show", bundle).code == 0  # its SHA256SUMS check passes
    done = cli("export", bundle, "-f", "requirements", "-o", tmp_path / "requirements.txt")
    assert done.code == 0, done
    assert (tmp_path / "requirements.txt").is_file()


def test_a_find_links_folder_recorded_without_the_login_is_noted(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A requirements file with ``--find-links /scratch/alice/wheels`` and hashes imports as ``/scratch/<user>/wheels``
    (docs/security.md), which the export wrote as ``--find-links '/scratch/<user>/wheels'`` and said nothing: pip
    skips a folder it cannot find and looks on the index alone. A one-line note now names the place and what to do."""
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # in no git work tree
    (tmp_path / "req.in").write_text(f"--find-links /scratch/alice/wheels\nlabnotes==1.0 --hash=sha256:{'ab' * 32}\n")
    assert cli("import", "req.in", "--from", "requirements", "-o", "env.lock").code == 0
    assert "alice" not in (tmp_path / "env.lock").read_text()
    result = cli("export", "env.lock", "-f", "requirements", "-o", "r.txt", "--no-pin")
    assert result.code == 0, result
    assert "--find-links '/scratch/<user>/wheels'" in (tmp_path / "r.txt").read_text()
    notes = [line for line in result.err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "/scratch/<user>/wheels" in notes[0] and "login name" in notes[0], result.err
    assert "--find-links" in notes[0] and "PIP_FIND_LINKS" in notes[0], notes


def test_no_pin_writes_every_hash_of_a_pip_compile_import(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip-compile --generate-hashes`` writes one ``--hash`` per file of a release; the import keeps them all, and
    ``export -f requirements --no-pin`` refused every such package ("no pinned artifact ... run envsnap pin"), though
    writing them back as the file had them needs no look-up. Each is now ``name==version`` with every hash, its
    index or find-links folder named as for a pinned file, and the file imports back to the same packages."""
    monkeypatch.chdir(tmp_path)  # in no git work tree
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in ("labnotes-1.0-py3-none-any.whl", "labnotes-1.0.tar.gz"):
        (wheels / name).write_bytes(name.encode())
    lab_hashes = [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(wheels.iterdir())]
    mirror = "https://mirror.example/simple"
    (tmp_path / "requirements.txt").write_text(
        f"--index-url {mirror}\n--find-links ./wheels\n\n"
        f"attrs==24.2.0 \\\n    --hash=sha256:{'a1' * 32} \\\n    --hash=sha256:{'b2' * 32}\n"
        f"idna==3.10 \\\n    --hash=sha256:{'c3' * 32}\n"
        f"labnotes==1.0 \\\n    --hash=sha256:{lab_hashes[0]} \\\n    --hash=sha256:{lab_hashes[1]}\n"
    )
    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    result = cli("export", "env.lock", "-f", "requirements", "--no-pin", "-o", "out.txt")
    assert result.code == 0, result
    text = (tmp_path / "out.txt").read_text()
    # The folder in the project (outside a work tree: the lock's folder), as pip reads it from there.
    assert f"--index-url {mirror}\n--find-links wheels\n" in text
    assert f"attrs==24.2.0 \\\n    --hash=sha256:{'a1' * 32} \\\n    --hash=sha256:{'b2' * 32}\n" in text
    assert f"idna==3.10 \\\n    --hash=sha256:{'c3' * 32}\n" in text
    assert f"labnotes==1.0 \\\n    --hash=sha256:{lab_hashes[0]} \\\n    --hash=sha256:{lab_hashes[1]}\n" in text
    assert cli("import", "out.txt", "-o", "again.lock").code == 0
    first, again = lockfile.load(tmp_path / "env.lock"), lockfile.load(tmp_path / "again.lock")
    assert again.python.packages == first.python.packages
    # A package whose files are known by URL alone (no index to find them by name on) is still refused.
    multi = dataclasses.replace(
        first.package("attrs"),  # type: ignore[arg-type]
        candidates=tuple(
            dataclasses.replace(c, url=f"https://files.example/attrs-{n}.whl", index="")
            for n, c in enumerate(first.package("attrs").candidates)  # type: ignore[union-attr]
        ),
    )
    packages = tuple(multi if p.name == "attrs" else p for p in first.python.packages)
    lockfile.dump(dataclasses.replace(first, python=dataclasses.replace(first.python, packages=packages)), "url.lock")
    refused = cli("export", "url.lock", "-f", "requirements", "--no-pin", "-o", "url.txt")
    assert refused.code == 2 and "have no pinned artifact" in refused.err and "attrs==24.2.0" in refused.err, refused


def test_the_requirements_header_names_the_file_written(
    cli: Callable[..., Any], lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lock names local projects relative to the project root (outside any work tree: the lock's folder), where
    # the file is installed from: the header names it from there.
    monkeypatch.chdir(tmp_path)
    ci = tmp_path / "ci" / "ci.txt"
    assert cli("export", lock, "--format", "requirements", "-o", ci).code == 0
    header = [line for line in ci.read_text().splitlines() if "--require-hashes" in line]
    assert header == [
        "#   pip install --require-hashes --no-deps -r ci/ci.txt",
        # an extra index (the lock's torch): uv asks only the first index that lists a package unless told
        "#   uv pip install --require-hashes --no-deps --index-strategy unsafe-best-match -r ci/ci.txt",
    ]
    # the same lock and options give the same bytes
    first = ci.read_bytes()
    assert cli("export", lock, "--format", "requirements", "-o", ci).code == 0
    assert ci.read_bytes() == first
    # a name the shell would split is one word of the command
    spaced = tmp_path / "req for ci.txt"
    assert cli("export", lock, "--format", "requirements", "-o", spaced).code == 0
    assert "#   pip install --require-hashes --no-deps -r 'req for ci.txt'\n" in spaced.read_text()
    # a folder gets the usual name, which the header names; standard output keeps the usual name too
    assert cli("export", lock, "--format", "requirements", "-o", f"{tmp_path / 'exp'}/").code == 0
    assert "-r exp/requirements.txt\n" in (tmp_path / "exp" / "requirements.txt").read_text()
    printed = cli("export", lock, "--format", "requirements", "-o", "-")
    assert "-r requirements.txt\n" in printed.out
    # only the header differs from the usual file
    assert ci.read_text().replace("-r ci/ci.txt", "-r requirements.txt") == printed.out


def test_the_requirements_header_command_runs_from_the_project_root_where_the_file_names_local_projects(
    cli: Callable[..., Any], rich: Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``export envsnap.lock -f requirements -o /tmp/req.txt`` in a project wrote ``pip install ... -r req.txt`` in
    the header, while its note says to install from the project root, where req.txt is not: the header names the
    file as it is read from there. A lock naming no local project installs from the file's folder: its name."""
    import shlex

    project = tmp_path / "proj"
    (project / "pkgs" / "café").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    lockfile.dump(rich, project / "envsnap.lock")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(project)

    def named(out: Path) -> str:
        result = cli("export", "envsnap.lock", "-f", "requirements", "-o", out)
        assert result.code == 0, result
        (command,) = [line for line in out.read_text().splitlines() if line.startswith("#   pip install --req")]
        return command.removeprefix("#   ")

    for out in (tmp_path / "elsewhere" / "req file.txt", project / "ci" / "ci.txt", project / "requirements.txt"):
        out.parent.mkdir(parents=True, exist_ok=True)
        words = shlex.split(named(out))
        assert words[:5] == ["pip", "install", "--require-hashes", "--no-deps", "-r"], words
        assert (project / words[5]).resolve() == out.resolve(), words  # as pip reads it from the project root
    assert named(project / "ci" / "ci.txt").endswith(" -r ci/ci.txt")
    home = tmp_path / "home" / "exports"
    home.mkdir(parents=True)
    assert named(home / "r 1.txt").endswith(" -r ~/'exports/r 1.txt'")
    local = [p for p in rich.python.packages if "{project}" in p.source.url + getattr(p.artifact, "url", "")]
    assert local
    plain = dataclasses.replace(
        rich, python=dataclasses.replace(rich.python, packages=tuple(p for p in rich.python.packages if p not in local))
    )
    lockfile.dump(plain, project / "envsnap.lock")
    assert named(tmp_path / "elsewhere" / "plain.txt").endswith(" -r plain.txt")


def test_the_requirements_header_names_no_login_in_a_path_outside_the_project_and_home(
    cli: Callable[..., Any], rich: Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written outside the project and the home (``-o /scratch/alice/req.txt``), the header named the file by its
    absolute path, the login with it, in a file made to be shared, where a capture hides the login everywhere: the
    header names it by its name, as before, and the placement note on standard error says where to install from."""
    from envsnap import _privacy

    project = tmp_path / "proj"
    (project / "pkgs" / "café").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    lockfile.dump(rich, project / "envsnap.lock")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(_privacy, "login_names", lambda home=None: ["alice"])
    monkeypatch.chdir(project)
    out = tmp_path / "scratch" / "alice" / "req.txt"
    out.parent.mkdir(parents=True)
    result = cli("export", "envsnap.lock", "-f", "requirements", "-o", out)
    assert result.code == 0, result
    text = out.read_text()
    assert "alice" not in text, text
    assert "#   pip install --require-hashes --no-deps -r req.txt" in text.splitlines(), text
    assert "install from the project root" in result.err, result.err
    other = tmp_path / "scratch" / "shared" / "req.txt"
    other.parent.mkdir(parents=True)
    assert cli("export", "envsnap.lock", "-f", "requirements", "-o", other).code == 0
    assert f"-r {other}" in other.read_text()  # no login in it: the path that runs as pasted


@pytest.mark.parametrize(("fmt", "name"), [("requirements", "r.txt"), ("pylock", "pylock.toml")])
def test_an_editable_git_checkout_exported_as_a_regular_install_is_noted(
    cli: Callable[..., Any], tmp_path: Path, fmt: str, name: str
) -> None:
    """``pip install -e git+URL@COMMIT#egg=x`` is recorded as an editable checkout; the export writes it as a regular
    install from the repository (PEP 751 has no editable VCS entry, uv installs none), and said nothing: the
    environment installed from the file then failed to verify as the lock's, with a warning nobody expected."""
    commit = "a" * 40
    lock = Snapshot(
        python=PythonEnv(
            version="3.11.7",
            packages=(
                PythonPackage(
                    name="labtool",
                    version="1.0",
                    source=Source(
                        kind="vcs",
                        url="https://git.example.org/lab/labtool.git",
                        vcs="git",
                        commit_id=commit,
                        editable=True,
                    ),
                ),
                PythonPackage(
                    name="other",
                    version="2.0",
                    source=Source(kind="vcs", url="https://git.example.org/lab/other.git", vcs="git", commit_id=commit),
                ),
            ),
        )
    )
    path = lockfile.dump(lock, tmp_path / "env.lock")
    result = cli("export", path, "-f", fmt, "-o", tmp_path / name)
    assert result.code == 0, result
    notes = [line for line in result.err.splitlines() if line.startswith("note: ") and "editable" in line]
    assert notes == [
        f"note: {tmp_path / name} installs labtool from its repository as a regular install: the lock has an "
        "editable checkout of it (pip install -e), which this file cannot say; verify will warn of it"
    ], result.err


def test_a_build_context_that_cannot_be_written_whole_is_not_begun(
    cli: Callable[..., Any], host_snapshot: Snapshot, wheelhouse: Any, tmp_path: Path
) -> None:
    """``-f dockerfile -o ctx`` where ``ctx/requirements.txt`` is a folder wrote ``ctx/Dockerfile`` and
    ``ctx/envsnap.lock``, then exited 2: a half-written build context was left that ``docker build`` read.
    Every file is checked first now: nothing is written."""
    python = dataclasses.replace(
        host_snapshot.python, packages=tuple(p for p in host_snapshot.python.packages if "cuda" not in p.name)
    )
    debian = dataclasses.replace(
        host_snapshot.platform, os_id="debian", os_version="12", libc="glibc", libc_version="2.36"
    )
    snapshot = dataclasses.replace(host_snapshot, python=python, platform=debian)
    lock = lockfile.dump(lockfile.seal(snapshot), tmp_path / "env.lock")
    context = tmp_path / "ctx"
    (context / "requirements.txt").mkdir(parents=True)
    result = cli("export", lock, "-f", "dockerfile", "-o", context)
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result
    assert "requirements.txt: cannot write" in result.err, result.err
    assert sorted(p.name for p in context.iterdir()) == ["requirements.txt"]
    assert not any((context / "requirements.txt").iterdir())


def _lock_with_a_directory(rich: Snapshot, url: str, path: Path) -> Path:
    """``rich``, pinned, with its first pinned package's file dropped and its source a local folder at ``url``,
    sealed again: a lock written by hand, its digest right."""
    packages = list(rich.python.packages)
    at = next(i for i, p in enumerate(packages) if p.artifact is not None)
    packages[at] = dataclasses.replace(packages[at], artifact=None, source=Source(kind="directory", url=url))
    snap = dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=tuple(packages)))
    path.write_text(lockfile.dumps(snap))
    return path


@pytest.mark.parametrize("url", ["file://{project}/../../x", "file://{project}/a/%2E%2E/../x", "file://{project}//x"])
def test_a_project_folder_that_leads_out_of_the_project_is_refused_by_every_format(
    url: str, rich: Snapshot, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """``file://{project}/../../x`` as a package's folder: bundle and rebuild refused it (``not a relative path
    inside`` the project), while every export wrote it, ``pip install --no-deps ../../x`` (``/tmp/x`` with
    --absolute-paths) and pylock's ``path = "../../x"``. The loader refuses it, so every command does: one line,
    exit 2, nothing written."""
    lock = _lock_with_a_directory(rich, url, tmp_path / "h.lock")
    for fmt in sorted(export.exporters()):
        for extra in ([], ["--absolute-paths"]):
            out = tmp_path / f"out-{fmt}"
            result = cli("export", lock, "-f", fmt, "-o", out, *extra)
            assert result.code == 2, (fmt, extra, result)
            assert result.err.count("\n") == 1 and "not a relative path inside the project" in result.err, result
            assert not out.exists(), (fmt, extra)
    for command in (["bundle", lock, "-o", tmp_path / "b"], ["show", lock], ["diff", lock, lock]):
        result = cli(*command)
        assert result.code == 2 and "not a relative path inside the project" in result.err, (command, result)
        assert result.err.count("\n") == 1, result
    assert not (tmp_path / "b").exists()


def test_a_project_folder_inside_the_project_is_still_exported(
    rich: Snapshot, cli: Callable[..., Any], tmp_path: Path
) -> None:
    lock = _lock_with_a_directory(rich, "file://{project}/libs/a/../x", tmp_path / "h.lock")
    result = cli("export", lock, "-f", "requirements", "-o", tmp_path / "r.txt")
    assert result.code == 0, result
    assert "./libs/x" in (tmp_path / "r.txt").read_text()


def test_a_build_context_is_not_exported_over_a_folder_of_the_users_own_files(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """``export LOCK -f dockerfile -o DIR`` replaced the user's own Dockerfile and requirements.txt in DIR without a
    word, where ``rebuild --target docker --dest DIR`` refused the folder. Refused now by the same rule: one line
    naming what is there, exit 2, nothing written; a context envsnap wrote is written again."""
    from testutil import sample_lock

    lock = lockfile.dump(sample_lock(), tmp_path / "env.lock")  # pip only: the docker target's
    project = tmp_path / "proj"
    project.mkdir()
    (project / "Dockerfile").write_text("FROM python:3.11\n")
    (project / "requirements.txt").write_text("mine==1.0\n")
    for leave in ("", "Dockerfile"):
        if leave:
            (project / leave).unlink()
        before = {p.name: p.read_bytes() for p in project.iterdir()}
        result = cli("export", lock, "-f", "dockerfile", "-o", project)
        assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result
        assert "not an envsnap build context" in result.err, result.err
        assert ("Dockerfile" if not leave else "requirements.txt") in result.err, result.err
        assert {p.name: p.read_bytes() for p in project.iterdir()} == before
    context = tmp_path / "ctx"
    assert cli("export", lock, "-f", "dockerfile", "-o", context).code == 0
    again = cli("export", lock, "-f", "dockerfile", "-o", context)
    assert again.code == 0, again
    (context / "notes.txt").write_text("mine")
    result = cli("export", lock, "-f", "dockerfile", "-o", context)
    assert result.code == 2 and "it holds notes.txt" in result.err, result
