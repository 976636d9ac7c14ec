"""The capture memo (probes/memo.py): an unchanged environment's lock is given again without probing, byte for
byte what a capture gives; any change to what the capture read makes it probe again; ``--no-cache``, a git work
tree, a file changed too recently and a corrupt memo each mean a full capture."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_capture_cache import _write_dist, cache_home, demo_env  # noqa: F401 (fixtures)
from test_system import _minimal_elf64
from testutil import CliResult

from envsnap import _sealed
from envsnap.probes import capture as capture_module
from envsnap.probes import memo

Cli = Callable[..., CliResult]


@pytest.fixture
def memo_on(monkeypatch: pytest.MonkeyPatch, cache_home: Path) -> Path:  # noqa: F811
    """The demo environment was made moments ago: its stamps are trusted here (``RACY_NS`` has its own test)."""
    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))
    monkeypatch.setattr(memo, "utc_now", lambda: "2026-01-01T00:00:00Z")
    return cache_home


@pytest.fixture
def env(demo_env: tuple[Path, Path], memo_on: Path) -> tuple[Path, Path, Path]:  # noqa: F811
    """The demo environment's python and site-packages, and the memo's folder."""
    return demo_env[0], demo_env[1], memo_on


def _memo_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("memo-*.marshal")) if folder.is_dir() else []


def _probes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the full captures (``run_capture``) the CLI runs from now on."""
    calls: list[int] = []
    real = capture_module.run_capture

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(capture_module, "run_capture", counted)
    return calls


def _lock(cli: Cli, py: Path, *extra: str) -> str:
    result = cli("capture", "--python", py, "-o", "-", *extra)
    assert result.code == 0, result.err
    return result.out


def test_an_unchanged_environment_is_given_from_the_memo_byte_for_byte(
    cli: Cli,
    demo_env: tuple[Path, Path],  # noqa: F811
    memo_on: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    py, _site = demo_env
    uncached = _lock(cli, py, "--no-cache")
    assert _memo_files(memo_on) == []  # --no-cache keeps no memo
    full = cli("capture", "--python", py, "-o", tmp_path / "a.lock")
    assert full.code == 0, full.err
    assert len(_memo_files(memo_on)) == 1
    probes = _probes(monkeypatch)
    assert _lock(cli, py) == uncached
    given = cli("capture", "--python", py, "-o", tmp_path / "b.lock")
    assert probes == []  # neither answer probed the environment
    assert (tmp_path / "b.lock").read_text() == (tmp_path / "a.lock").read_text() == uncached
    # The same lines as a capture's, but for the seconds it took.
    assert [line.rsplit(" in ", 1)[0] for line in given.err.splitlines()] == [
        line.rsplit(" in ", 1)[0].replace("a.lock", "b.lock") for line in full.err.splitlines()
    ]
    # Over an unchanged lock: left as it was, as a capture leaves it.
    before = (tmp_path / "a.lock").stat().st_mtime_ns
    again = cli("capture", "--python", py, "-o", tmp_path / "a.lock")
    assert again.code == 0 and "unchanged: " in again.err and probes == []
    assert (tmp_path / "a.lock").stat().st_mtime_ns == before
    # Over another text: the full capture compares it as a lock (the same content, other formatting: left).
    commented = uncached.replace("generator", "#x\ngenerator", 1)
    (tmp_path / "a.lock").write_text(commented)
    assert cli("capture", "--python", py, "-o", tmp_path / "a.lock").code == 0
    assert probes == [1] and (tmp_path / "a.lock").read_text() == commented


def _upgrade(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metadata = site / "demo-1.0.dist-info" / "METADATA"
    metadata.write_text(metadata.read_text().replace("Version: 1.0", "Version: 2.0"))  # the same size


def _pth(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = site.parent / "extra"
    extra.mkdir()
    _write_dist(extra, "added", {"added/__init__.py": b""})
    (site / "more.pth").write_text(f"{extra}\n")


def _variable(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")


def _library(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ext = site / "demo" / "_ext.cpython-311-x86_64-linux-gnu.so"
    ext.write_bytes(_minimal_elf64(["libm.so.6", "libz.so.1"]))


def _new_distribution(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_dist(site, "other", {"other/__init__.py": b""})


def _requested(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (site / "demo-1.0.dist-info" / "REQUESTED").write_text("")


@pytest.mark.parametrize(
    "change", [_upgrade, _pth, _variable, _library, _new_distribution, _requested], ids=lambda f: f.__name__[1:]
)
def test_a_change_to_what_the_capture_read_is_captured_again(
    cli: Cli,
    demo_env: tuple[Path, Path],  # noqa: F811
    memo_on: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Path, pytest.MonkeyPatch], None],
) -> None:
    py, site = demo_env
    before = _lock(cli, py)
    assert len(_memo_files(memo_on)) == 1
    change(site, monkeypatch)
    probes = _probes(monkeypatch)
    after = _lock(cli, py)
    assert probes == [1]  # the memo did not answer
    assert after != before
    assert after == _lock(cli, py, "--no-cache")
    assert _lock(cli, py) == after and probes == [1, 1]  # the new memo answers the next capture


def test_the_memo_depends_on_envsnap_s_own_code_and_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    environ = {"HOME": "/h"}
    fact = memo.facts(["--python", "x"], environ)
    assert memo.facts(["--python", "x"], environ) == fact
    assert memo.facts(["--python", "y"], environ) != fact
    assert memo.facts(["--python", "x"], {**environ, "LD_PRELOAD": "/l.so"}) != fact
    monkeypatch.setattr(memo, "_code_stamps", lambda: ["envsnap/probes/system.py 1 2 3"])
    assert memo.facts(["--python", "x"], environ) != fact


def _git(*args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], check=True, capture_output=True
    )


def _edit(path: Path) -> None:
    path.write_text(path.read_text() + "more\n")


# Each but ``git add`` changes what the project probe records (dirty, the digest of the change, the commit, the
# branch, the remote): the memo must not answer with the lock of before.
_GIT_CHANGES: dict[str, Callable[[Path], None]] = {
    "edit a tracked file": lambda tree: _edit(tree / "a.py"),
    "edit it again": lambda tree: _edit(tree / "a.py"),
    "git add": lambda tree: _git("add", "a.py"),
    "an untracked file": lambda tree: (tree / "new.py").write_text("x = 1\n"),
    "commit": lambda tree: _git("commit", "-qam", "two"),
    "checkout another branch": lambda tree: _git("checkout", "-qb", "other"),
    "commit on it": lambda tree: _git("commit", "-qm", "three", "--allow-empty"),
    "checkout back": lambda tree: _git("checkout", "-q", "-"),
    "a remote": lambda tree: _git("remote", "add", "origin", "https://example.org/r.git"),
}


def test_inside_a_git_work_tree_the_memo_answers_only_the_same_git_state(
    cli: Cli, env: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Most projects are git work trees: the memo answers there too, keyed on the root and the git state the
    project probe records (``memo.project_facts``, the probe's own calls); after a commit, an edit of a tracked
    file, ``git add``, a checkout, the capture runs again and gives the ``--no-cache`` lock, byte for byte."""
    py, _site, memo_on = env
    tree = Path.cwd()
    _git("init", "-q", "-b", "main", ".")
    (tree / "a.py").write_text("a = 1\n")
    _git("add", "a.py")
    _git("commit", "-qm", "one")
    first = _lock(cli, py)
    assert "[project]" in first and len(_memo_files(memo_on)) == 1
    probes = _probes(monkeypatch)
    assert _lock(cli, py) == first and probes == []  # answered from the memo inside the work tree
    previous, changed = first, []
    for what, change in _GIT_CHANGES.items():
        change(tree)
        count = len(probes)
        after = _lock(cli, py)
        assert after == _lock(cli, py, "--no-cache"), what  # never the lock of before
        if after != previous:
            changed.append(what)
            assert len(probes) == count + 2, what  # the capture ran (and --no-cache)
        count = len(probes)
        assert _lock(cli, py) == after and len(probes) == count, what  # the memo answers the next one
        previous = after
    # git add changes no recorded fact (dirty, the digest of the change against HEAD): the same lock, answered.
    assert changed == [what for what in _GIT_CHANGES if what != "git add"]
    # The lock being written is left out of the dirty state, as the probe leaves it out: -o PATH in the tree.
    written = cli("capture", "--python", py, "-o", "envsnap.lock")
    assert written.code == 0 and probes[-1:] == [1]
    count = len(probes)
    again = cli("capture", "--python", py, "-o", "envsnap.lock")
    assert "unchanged: " in again.err and len(probes) == count


def test_a_work_tree_and_a_folder_outside_it_keep_a_memo_each(
    cli: Cli, env: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memo file is named by the environment and the work tree's root (``memo.memo_identity``): capturing one
    environment from a project and from elsewhere, in turn, does not make each capture replace the other's memo."""
    py, _site, memo_on = env
    outside = Path.cwd()
    tree = outside / "project"
    tree.mkdir()
    _git("init", "-q", str(tree))
    locks = {}
    for folder in (outside, tree):
        monkeypatch.chdir(folder)
        locks[folder] = _lock(cli, py)
    assert len(_memo_files(memo_on)) == 2 and "[project]" in locks[tree] and "[project]" not in locks[outside]
    probes = _probes(monkeypatch)
    for folder in (outside, tree, outside, tree):
        monkeypatch.chdir(folder)
        assert _lock(cli, py) == locks[folder]
    assert probes == []


def test_a_memo_is_not_kept_when_the_git_state_moved_while_the_capture_ran(
    cli: Cli, env: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is read before the capture; a capture that recorded another state (an edit while it ran) keeps
    nothing under it (``memo.recorded_as_keyed``)."""
    py, _site, memo_on = env
    tree = Path.cwd()
    _git("init", "-q", ".")
    (tree / "a.py").write_text("a = 1\n")
    real = capture_module.run_capture

    def edited_meanwhile(*args: Any, **kwargs: Any) -> Any:
        _edit(tree / "a.py")
        return real(*args, **kwargs)

    monkeypatch.setattr(capture_module, "run_capture", edited_meanwhile)
    _lock(cli, py)
    assert _memo_files(memo_on) == []
    monkeypatch.setenv("GIT_DIR", "/nowhere")
    assert not memo.eligible(project=None, deep=False, pin=False, json_too=False, environ=os.environ)


def test_no_cache_bypasses_the_memo(cli: Cli, env: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    py, _site, memo_on = env
    _lock(cli, py)
    kept = {p: p.read_bytes() for p in _memo_files(memo_on)}
    probes = _probes(monkeypatch)
    _lock(cli, py, "--no-cache")
    assert probes == [1]
    assert {p: p.read_bytes() for p in _memo_files(memo_on)} == kept


def test_a_file_changed_just_before_the_capture_is_not_trusted(
    cli: Cli,
    demo_env: tuple[Path, Path],  # noqa: F811
    cache_home: Path,  # noqa: F811
) -> None:
    py, _site = demo_env  # made moments ago: its stamps may not move on its next change
    _lock(cli, py)
    assert _memo_files(cache_home) == []


def _corrupt(document: dict[str, Any]) -> list[bytes]:
    """Damaged files (each ignored before marshal reads it: it could spend minutes on one), and well-formed ones of
    the wrong shape."""
    whole = _sealed.seal(document)
    out = [b"", b"not marshal", b"[" * 100000, whole[:-1], whole[:4] + b"[\x80\x96\x98\x00" + whole[9:]]
    out += [_sealed.seal({**document, "format": 99}), _sealed.seal([]), whole[:4] + marshal.dumps({})]
    for key in ("watch", "lock", "summary", "warnings", "stamps", "digest", "created"):
        out.append(_sealed.seal({**document, key: 7}))
    out.append(_sealed.seal({**document, "created": (0, len(document["lock"]) + 1)}))  # past the lock's end
    return out


def test_a_corrupt_memo_is_ignored(cli: Cli, env: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    py, _site, memo_on = env
    expected = _lock(cli, py)
    (path,) = _memo_files(memo_on)
    document = _sealed.unseal(path.read_bytes())
    probes = _probes(monkeypatch)
    for n, blob in enumerate(_corrupt(document), start=1):
        path.write_bytes(blob)
        assert _lock(cli, py) == expected
        assert len(probes) == n


def test_a_path_folder_without_distributions_is_watched(
    cli: Cli,
    demo_env: tuple[Path, Path],  # noqa: F811
    memo_on: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A folder on sys.path (here from a ``.pth``) with no distribution in it at the first capture, which gets
    one later (the memo watched only the folders a distribution was found in)."""
    py, site = demo_env
    extra = site.parent / "later"
    extra.mkdir()
    (site / "later.pth").write_text(f"{extra}\n")
    before = _lock(cli, py)
    assert len(_memo_files(memo_on)) == 1
    _write_dist(extra, "added", {"added/__init__.py": b""})
    after = _lock(cli, py)
    assert after != before
    assert after == _lock(cli, py, "--no-cache")


def test_a_distribution_installed_into_an_empty_environment_is_captured(
    cli: Cli, memo_on: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An environment without distributions still has its site folder watched (no package names it)."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    before = _lock(cli, py)
    assert len(_memo_files(memo_on)) == 1
    (site,) = venv.glob("lib/python*/site-packages")
    _write_dist(site, "late", {"late/__init__.py": b""})
    after = _lock(cli, py)
    assert 'name = "late"' in after and after != before
    assert after == _lock(cli, py, "--no-cache")


def _watch_of_bare(*, prefix: str, base_prefix: str, version: str) -> list[str]:
    """What the memo watches for an environment in which the capture found nothing."""
    return memo.watch_list(
        python_path=None,
        prefix=prefix,
        base_prefix=base_prefix,
        version=version,
        site_dirs=[],
        dist_dirs=[],
        loader_files=[],
        loader_folders=[],
        conda_prefix=None,
        environ={},
    )


def test_the_base_interpreter_s_site_folders_are_watched_without_a_distribution_in_them(tmp_path: Path) -> None:
    """A venv made with the system's site-packages sees what is installed there next."""
    base = tmp_path / "base"
    (base / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    watch = _watch_of_bare(prefix=str(tmp_path / "venv"), base_prefix=str(base), version="3.11.7")
    assert str(base / "lib" / "python3.11" / "site-packages") in watch


def test_a_memo_others_may_write_is_ignored(
    cli: Cli,
    demo_env: tuple[Path, Path],  # noqa: F811
    memo_on: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An entry written while the folder was open to others outlives the folder's ``chmod 700``: the memo file
    itself must be the user's own and writable by nobody else (a forged one answered with its forged lock)."""
    py, _site = demo_env
    expected = _lock(cli, py)
    (path,) = _memo_files(memo_on)
    document = _sealed.unseal(path.read_bytes())
    path.write_bytes(_sealed.seal({**document, "lock": document["lock"].replace("demo", "forged")}))
    path.chmod(0o666)
    probes = _probes(monkeypatch)
    assert _lock(cli, py) == expected and probes == [1]


def test_every_folder_nvml_and_the_cuda_headers_are_looked_for_in_is_watched() -> None:
    """NVML is looked for in folders after ld.so.cache, and a cuDNN/NCCL version is read from headers in the system
    include folders: a library or header appearing there changes the capture (they were not watched)."""
    import platform

    from envsnap.probes import nvidia

    watched = _watch_of_bare(prefix="/nowhere", base_prefix="/nowhere", version="")
    multiarch = f"{platform.machine()}-linux-gnu"
    looked_in = [*nvidia._EXTRA_DIRS, f"/lib/{multiarch}", f"/usr/lib/{multiarch}", *nvidia._DEFAULT_DIRS]
    looked_in += ["/usr/include", f"/usr/include/{multiarch}"]
    assert [d for d in looked_in if d not in watched] == []


def test_a_memo_answer_loads_neither_the_model_nor_the_grammar(
    demo_env: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    """A capture answered from the memo is a few stats and a file read: it loads neither the model, the lockfile
    nor the grammar (printing its first line loaded the grammar, with packaging's version parser and typing: a
    tenth of the answer). Run as a program, with the interpreter's site folder off (``-S``) so that nothing the
    developer's interpreter loads at start (a ``.pth``) hides an import."""
    import time

    py, _site = demo_env
    time.sleep(2.1)  # the environment's files must be older than memo.RACY_NS to be trusted
    work = tmp_path / "work"
    work.mkdir()
    import sysconfig

    # This tree and the installed dependencies, without the site folder's .pth files (-S).
    path = os.pathsep.join([str(Path(memo.__file__).parents[2]), sysconfig.get_paths()["purelib"]])
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "PYTHONPATH": path}
    command = [sys.executable, "-S", "-X", "importtime", "-m", "envsnap", "capture", "--python", str(py), "-o", "-"]
    first = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, check=True)
    second = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, check=True)
    # The memo's answer is the lock, created now: the two differ only there when a second passed between them.
    from envsnap import _locktext

    assert _locktext.same_but_created(first.stdout, second.stdout)
    imported = {line.rsplit("|", 1)[-1].strip() for line in second.stderr.splitlines() if "|" in line}
    assert "envsnap.probes.memo" in imported and "envsnap.lockfile" not in imported  # answered from the memo
    assert not imported & {"envsnap.model", "envsnap.grammar", "dataclasses", "typing", "packaging.version"}
    # Nor argparse (the command line is read by hand: test_the_quick_parse_means_what_argparse_gives), re, json,
    # hashlib (OpenSSL) or pathlib: a fifth of an answer (docs/design.md, "The capture memo").
    assert not imported & {"argparse", "re", "enum", "json", "hashlib", "pathlib", "envsnap.cli.capture"}
    # Over its own lock (`envsnap capture`, the default envsnap.lock), unchanged: neither, nor the grammar.
    command = [*command[:-2], "-o", "envsnap.lock"]
    subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, check=True)
    again = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, check=True)
    assert "unchanged: envsnap.lock" in again.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in again.stderr.splitlines() if "|" in line}
    assert "envsnap.probes.memo" in imported and not imported & {"envsnap.lockfile", "envsnap.grammar", "re"}
    assert not imported & {"argparse", "pathlib", "json", "hashlib", "envsnap._readlimits"}


@pytest.mark.parametrize("created", ["2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00+01:00", "2026-01-01T00:00:00"])
def test_over_its_own_lock_of_another_time_form_the_answer_compares_as_lockfile_does(
    cli: Cli, env: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch, created: str
) -> None:
    """The quick look at the old lock takes only a ``created`` of the form a capture writes; any other goes to the
    grammar's comparison (``_locktext.same_but_created``): a valid time is left as it was, anything else
    rewritten, as ``lockfile.dump_if_changed`` does."""
    py, _site, _memo = env
    first = cli("capture", "--python", py, "-o", "envsnap.lock")
    assert first.code == 0
    lock = Path("envsnap.lock")
    lock.write_text(lock.read_text().replace('created = "2026-01-01T00:00:00Z"', f'created = "{created}"'))
    probes = _probes(monkeypatch)
    again = cli("capture", "--python", py, "-o", "envsnap.lock")
    valid = created != "2026-01-01T00:00:00"
    assert probes == ([] if valid else [1])  # a lock of another text goes to the full capture
    assert ("unchanged: " in again.err) == valid
    assert (f'created = "{created}"' in lock.read_text()) == valid


# Command lines that must each mean what argparse makes of them, or go to argparse.
_ARGVS = [
    [],
    ["-o", "-"],
    ["-o", "x.lock"],
    ["--output", "-"],
    ["--output=y.lock"],
    ["--output=-"],
    ["--python", "/p/bin/python"],
    ["--python=/q/bin/python"],
    ["--python", "py", "-o", "-"],
    ["-o", "-", "--python=/q"],
    ["--python", "capture", "--output", "o"],
    ["--python=a=b"],
    ["-ox"],
    ["-o=x"],
    ["--out", "x"],
    ["--pyth", "x"],
    ["--p", "x"],
    ["-o"],
    ["--python"],
    ["--output="],
    ["--output=-x"],
    ["-o", "--python"],
    ["-o", "-1"],
    ["-o", "-x"],
    ["-o", ""],
    ["-o", "a", "-o", "b"],
    ["-o", "a", "--output=b"],
    ["--python", "a", "--python", "b"],
    ["--json"],
    ["--no-cache"],
    ["-o", "-", "--no-cache"],
    ["--deep"],
    ["--prefix", "/e"],
    ["--gpu-timeout", "3"],
    ["-h"],
    ["--help"],
    ["--", "x"],
    ["x"],
    ["--python", "p", "extra"],
]


@pytest.mark.parametrize("argv", _ARGVS, ids=lambda a: " ".join(a) or "(none)")
def test_the_quick_parse_means_what_argparse_gives(argv: list[str]) -> None:
    """A memo answer reads the command line by hand (``quick_options``): each shape it takes means exactly what
    argparse makes of it, every other option at its default; anything else is left to argparse."""
    from envsnap import _defaults
    from envsnap.cli import build_parser
    from envsnap.cli._capture_memo import quick_options

    quick = quick_options(argv)
    if quick is None:
        return
    args = build_parser("capture").parse_args(["capture", *argv])
    assert quick == {"output": args.output, "python": args.python}
    defaults = (args.project, args.prefix, args.json, args.deep, args.gpu_ids, args.pin, args.no_cache)
    assert defaults == (None, None, False, False, False, False, False)
    assert (args.gpu_timeout, args.deep_timeout) == (_defaults.GPU_TIMEOUT, _defaults.DEEP_TIMEOUT)


def test_the_quick_parse_takes_the_common_shapes_and_leaves_the_rest() -> None:
    from envsnap.cli._capture_memo import quick_options

    taken = [argv for argv in _ARGVS if quick_options(argv) is not None]
    assert taken == _ARGVS[: _ARGVS.index(["-ox"])]


def test_a_kept_lock_s_created_line_is_replaced_as_the_expression_replaces_it() -> None:
    """The memo keeps where its lock's ``created`` line is (no ``re`` on an answer): the text it gives is the
    one the expression's substitution gives."""
    import re

    from envsnap import _locktext

    expression = re.compile(r'^created = "([^"\\\n]*)"$', re.MULTILINE)
    texts = [
        '[envsnap]\ncreated = "2026-01-01T00:00:00Z"\nx = 1\n',
        'created = "a"',
        'x = 1\n created = "a"\ncreated = "b"\ncreated = "c"\n',
        'created = "a\\"\ncreated = "b" \ncreated = "d"',
        'created = "a\nb"\n',
        "no such line\n",
        "",
    ]
    for text in texts:
        span = _locktext.created_span(text)
        expected = expression.sub(lambda _m: 'created = "NOW"', text, count=1)
        assert _locktext.with_created_at(text, span, "NOW") == _locktext.with_created(text, "NOW") == expected


def test_the_digest_without_hashlib_is_sha256() -> None:
    import hashlib

    from envsnap._defaults import sha256_hex

    for data in (b"", b"abc", bytes(range(256)) * 100):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
