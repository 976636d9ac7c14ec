"""Start-up: ``envsnap --help``, ``--version`` and a command's ``--help`` import no command's implementation and
none of the standard library's heavier modules, and stay within bench/startup.py's module budget (issue 18). The
time itself is measured in bench/startup.py, never asserted here."""

from __future__ import annotations

import argparse
import ast
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import envsnap
from envsnap import cli
from envsnap.cli import COMMAND_HELP, build_parser, command_names, help_width, main

REPO = Path(envsnap.__file__).resolve().parent.parent

# What a command's work needs and its help does not: every layer above core, and the heavy core modules (the
# model's dataclasses, the TOML lockfile, packaging through the grammar, the subprocess runner).
IMPLEMENTATION = (
    "envsnap.probes",
    "envsnap.compare",
    "envsnap.artifacts",
    "envsnap.dockerfile",
    "envsnap.compat",
    "envsnap.export",
    "envsnap.importers",
    "envsnap.rebuild",
    "envsnap.fleet",
    "envsnap.runs",
    "envsnap.paper",
    "envsnap.api",
    "envsnap.model",
    "envsnap.lockfile",
    "envsnap.grammar",
    "envsnap._runner",
)
# Standard-library modules none of these paths needs, each a few milliseconds of a start of about 20 (measured
# with `python -X importtime`, bench/startup.py): typing (5 ms), inspect (14 ms with ast, dis, tokenize: pkgutil
# and dataclasses import it), pathlib (8 ms with urllib.parse and ipaddress), shutil (5 ms with zlib, bz2, lzma),
# json, tempfile (random), subprocess, and the third-party ones.
HEAVY_STDLIB = (
    "typing",
    "inspect",
    "ast",
    "dis",
    "tokenize",
    "dataclasses",
    "pkgutil",
    "pathlib",
    "urllib",
    "ipaddress",
    "shutil",
    "zlib",
    "bz2",
    "lzma",
    "fnmatch",
    "json",
    "tempfile",
    "random",
    "hashlib",
    "subprocess",
    "threading",
    "socket",
    "email",
    "importlib.metadata",
    "tomllib",
    "runpy",
    "packaging",
    "rich",
    "tomli_w",
)
# The other cli modules a command's help may import: the plug-in table (names, flags, descriptions of rebuild
# targets and import formats), and verify's (light) command module, whose report rebuild prints.
TABLE = "envsnap.cli._plugin_table"
# capture: the memo's answer reads its command line before argparse (cli/_capture_memo.py, a few hundred lines).
ALSO = {
    "capture": {"envsnap.cli._capture_memo"},
    "check": {TABLE},
    "import": {TABLE},
    "rebuild": {TABLE, "envsnap.cli.verify"},
}

# Run with -S (no site: the developer interpreter's .pth files import what envsnap does not), then `import site`,
# which loads what an ordinary start does (os and the rest), and site-packages on the path, without running any
# .pth file: what is new after main() is what envsnap imported.
SCRIPT = """
import sys
import site
sys.path.extend([*site.getsitepackages(), site.getusersitepackages()])
before = set(sys.modules)
from envsnap.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout.flush()
print("\\n".join(sorted(set(sys.modules) - before)), file=sys.stderr)
"""


def imported(*argv: str) -> set[str]:
    """The modules ``envsnap ARGV`` imports beyond those of the interpreter's own start."""
    return {line for line in python_s(SCRIPT, *argv).stderr.splitlines() if line}


def python_s(code: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``python -S -c CODE ARGV`` with this tree's envsnap first on the path."""
    return subprocess.run(
        [sys.executable, "-S", "-c", code, *argv],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def budget() -> int:
    """bench/startup.py's BUDGET_MODULES: how many modules a start-up path may add to the interpreter's."""
    tree = ast.parse((REPO / "bench" / "startup.py").read_text())
    (value,) = (
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == ["BUDGET_MODULES"]
    )
    assert isinstance(value, ast.Constant) and isinstance(value.value, int)
    return value.value


def heavy(modules: set[str]) -> list[str]:
    """envsnap's implementation and the heavy standard-library (and third-party) modules among ``modules``."""
    return sorted(
        m
        for m in modules
        if m.startswith(IMPLEMENTATION) or m in HEAVY_STDLIB or m.startswith(tuple(f"{h}." for h in HEAVY_STDLIB))
    )


@pytest.mark.parametrize("argv", [("--help",), ("--version",), (), ("no-such-command",), ("-h",)])
def test_top_level_help_and_version_import_no_command(argv: tuple[str, ...]) -> None:
    """No command's module at all: ``envsnap --help`` lists the commands from ``COMMAND_HELP``."""
    modules = imported(*argv)
    assert heavy(modules) == []
    assert sorted(m for m in modules if m.startswith("envsnap.cli.")) == []
    assert len(modules) <= budget()


def test_version_imports_not_even_argparse() -> None:
    assert imported("--version") == {"__future__", "envsnap", "envsnap._version", "envsnap.errors", "envsnap.cli"}


@pytest.mark.parametrize("command", sorted(command_names()))
def test_a_commands_help_imports_no_implementation(command: str) -> None:
    """check, rebuild and import too: their plug-ins' names, flags and descriptions come from
    envsnap/cli/_plugin_table.py, not from loading every rebuild target (the docker and conda stacks) or importer."""
    modules = imported(command, "--help")
    assert heavy(modules) == []
    assert len(modules) <= budget()
    # Only its own command module: the other commands are not even imported.
    assert {m for m in modules if m.startswith("envsnap.cli.") and m != "envsnap.cli._output"} == {
        f"envsnap.cli.{command_names()[command]}",
        *ALSO.get(command, ()),
    }


def test_the_command_table_is_the_command_modules() -> None:
    """``COMMAND_HELP`` names every command module of envsnap/cli and no other, and each module registers the
    command of its name."""
    modules = {i.name for i in pkgutil.iter_modules(cli.__path__) if not i.name.startswith("_")}
    assert set(command_names().values()) == modules
    assert set(command_names()) == set(COMMAND_HELP)
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == list(COMMAND_HELP)


@pytest.mark.parametrize("columns", [None, "80", "50", "200", "14", "12", "3", "0", "wide"])
def test_the_top_level_help_is_what_every_command_registering_itself_gives(
    columns: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``envsnap --help`` (every command listed from ``COMMAND_HELP``, no module imported) prints what the parser
    with every command registered prints, byte for byte, in any terminal width; so do its usage errors."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    shallow, full = build_parser(shallow=True), build_parser()
    assert shallow.format_help() == full.format_help()
    assert shallow.format_usage() == full.format_usage()
    for argv in ([], ["no-such-command"]):
        messages = []
        for parser in (shallow, full):
            parser.exit = lambda status=0, message=None: (_ for _ in ()).throw(SystemExit((status, message)))  # type: ignore[method-assign]
            with pytest.raises(SystemExit) as caught:
                parser.parse_args(argv)
            messages.append(caught.value.code)
        assert messages[0] == messages[1]


@pytest.mark.parametrize("columns", [None, "80", "50", "0", "-3", "wide", "1"])
def test_help_width_is_argparses_own(columns: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The help width computed without shutil is the one argparse computes with it."""
    import shutil

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert help_width() == shutil.get_terminal_size().columns - 2
    assert argparse.HelpFormatter("envsnap")._width == help_width()


@pytest.mark.parametrize("columns", [None, "80", "16", "15", "14", "13", "5"])
def test_version_without_argparse_prints_what_argparse_does(
    columns: str | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``envsnap --version`` answered before argparse is imported prints what argparse's version action prints,
    in any terminal width (a terminal narrower than the line is left to argparse, which wraps it)."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    with pytest.raises(SystemExit) as caught:
        build_parser(shallow=True).parse_args(["--version"])
    assert caught.value.code == 0
    expected = capsys.readouterr()
    try:
        code = main(["--version"])
    except SystemExit as exc:
        code = exc.code
    assert code == 0
    assert capsys.readouterr() == expected
    assert expected.out.split() == ["envsnap", envsnap.__version__]


def test_the_plugin_table_is_the_registries() -> None:
    """The static table the parsers read never drifts from the plug-ins it describes."""
    from envsnap import importers
    from envsnap.cli import _plugin_table as table
    from envsnap.compat import HOST
    from envsnap.rebuild import REGISTRY, check_targets

    assert table.HOST == HOST
    assert (table.HOST, *table.TARGET_DEST) == check_targets()
    assert {name: target.default_dest for name, target in REGISTRY.items()} == table.TARGET_DEST
    flags = {name: target.options.flags() for name, target in REGISTRY.items()}
    assert all(settings.pop("default") is None for each in flags.values() for settings in each.values())
    assert flags == table.TARGET_FLAGS
    assert list(table.IMPORT_FORMATS.items()) == [(name, imp.description) for name, imp in importers.REGISTRY.items()]


def test_fleet_prolog_without_a_lock_imports_no_implementation(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Slurm prolog runs before every job on every node: with no lock to check it is a no-op, and a quick one."""
    monkeypatch.delenv("ENVSNAP_LOCK", raising=False)
    assert heavy(imported("fleet", "prolog")) == []
    monkeypatch.setenv("ENVSNAP_LOCK", "")
    assert heavy(imported("fleet", "prolog")) == []


@pytest.mark.parametrize("module", ["envsnap.model", "envsnap.lockfile", "envsnap.compare.diff"])
def test_the_model_and_the_lockfile_import_no_packaging_tags(module: str) -> None:
    """Every command that reads a lock imports the model (and through it the grammar): packaging.tags (logging,
    platform, subprocess, sysconfig) comes only with a wheel's file name to check, or a command that needs tags."""
    code = (
        "import sys, site; sys.path.extend([*site.getsitepackages(), site.getusersitepackages()]); "
        f"import {module}; print(' '.join(sys.modules))"
    )
    modules = set(python_s(code).stdout.split())
    assert sorted(modules & {"packaging.tags", "packaging.utils", "logging", "subprocess", "platform"}) == []


def test_importing_the_grammar_and_the_privacy_rules_compiles_no_regular_expression() -> None:
    """Their expressions are compiled when first used (envsnap._lazyre): a capture used 10 of the 64 that
    envsnap's modules compiled at import."""
    code = (
        "import re, sys, site; sys.path.extend([*site.getsitepackages(), site.getusersitepackages()])\n"
        "compiled, real = [], re.compile\n"
        "def counting(pattern, flags=0):\n"
        "    frame = sys._getframe(1)\n"
        "    if frame.f_code.co_name == '<module>' and '/envsnap/' in frame.f_code.co_filename:\n"
        "        compiled.append(f'{frame.f_code.co_filename}:{frame.f_lineno}')\n"
        "    return real(pattern, flags)\n"
        "re.compile = counting\n"
        "import envsnap.grammar, envsnap._privacy, envsnap.model\n"
        "print('\\n'.join(compiled))\n"
    )
    assert python_s(code).stdout.split() == []


def test_a_lazy_pattern_answers_as_the_compiled_one() -> None:
    import re

    from envsnap._lazyre import LazyPattern

    for pattern, flags, texts in [
        (r"[0-9a-f]{4}", re.ASCII, ["beef", "BEEF", "beefy", "", "x beef"]),
        (r"(?<![\w])(/home|/Users)/[^/\s]+", 0, ["/home/alice/x", "a /Users/bob y", "/homes/x"]),
    ]:
        lazy, compiled = LazyPattern(pattern, flags), re.compile(pattern, flags)
        for text in texts:
            for method in ("fullmatch", "match", "search"):
                got, want = getattr(lazy, method)(text), getattr(compiled, method)(text)
                assert (got and got.span()) == (want and want.span())
            assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in compiled.finditer(text)]
            assert lazy.sub("<x>", text) == compiled.sub("<x>", text)
            assert lazy.sub(lambda m: m.group(0).upper(), text, 1) == compiled.sub(
                lambda m: m.group(0).upper(), text, 1
            )
        assert lazy.compiled is lazy.compiled and lazy.compiled.pattern == pattern


def test_version_with_stdout_closed_exits_0_without_a_traceback() -> None:
    """As argparse's version action: with no stdout (closed at start, so None) there is nothing to print to."""
    done = subprocess.run(
        ["sh", "-c", f"exec {sys.executable} -m envsnap --version >&-"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert (done.returncode, done.stderr) == (0, "")


# ``envsnap diff A B`` as the program runs it (``_main`` with no arguments given, so that it reads sys.argv and
# is the program itself), then whether inspect was imported, what ``dataclasses`` holds as its ``inspect``, and
# whether argparse was imported.
PROGRAM = """
import sys
import site
sys.path.extend([*site.getsitepackages(), site.getusersitepackages()])
sys.argv = ["envsnap", *sys.argv[1:]]
from envsnap.cli import _main
code = _main(None, [])
import dataclasses
print(code, "inspect" in sys.modules, type(dataclasses.inspect).__name__, "argparse" in sys.modules, file=sys.stderr)
"""


def test_a_diff_imports_dataclasses_without_inspect_nor_argparse(tmp_path: Path) -> None:
    """Python 3.10 and 3.11's dataclasses use inspect for one call envsnap's classes never make (a signature
    for a class without a docstring): the program imports it for them only when something reads from it
    (envsnap/_lazyinspect.py). From 3.12 dataclasses reads every class's annotations through it. The command
    line of a plain diff is read without argparse (cli/diff.py), its module included."""
    from testutil import sample_lock

    from envsnap import lockfile

    a, b = tmp_path / "a.lock", tmp_path / "b.lock"
    lockfile.dump(sample_lock(), a)
    lockfile.dump(sample_lock(), b)
    code, inspected, kind, argparsed = python_s(PROGRAM, "diff", str(a), str(b)).stderr.split()
    assert code == "0"
    assert kind == "_Inspect"
    assert inspected == str(sys.version_info >= (3, 12))
    assert argparsed == "False"


def test_a_diff_of_two_locks_imports_nothing_of_the_bundle_reader(tmp_path: Path) -> None:
    """diff reads a bundle given as A or B (cli/diff.py): only once the loader refused one, so a diff of two plain
    locks imports neither the bundle reader nor the archive modules it unpacks with."""
    from testutil import sample_lock

    from envsnap import lockfile

    a, b = tmp_path / "a.lock", tmp_path / "b.lock"
    lockfile.dump(sample_lock(), a)
    lockfile.dump(sample_lock(), b)
    modules = imported("diff", str(a), str(b))
    assert "envsnap.compare.diff" in modules
    bundle_reader = ("envsnap.artifacts", "envsnap.cli._lockarg", "tarfile", "zipfile", "tempfile", "shutil")
    assert sorted(m for m in modules if m.startswith(bundle_reader)) == []


def test_dataclasses_inspect_deferred_is_inspect() -> None:
    """What dataclasses reads from its deferred inspect is the real module's, and every other import of inspect
    gets the real module: a class without a docstring gets dataclass's own (made with inspect.signature)."""
    code = """
import sys
from envsnap._lazyinspect import defer
assert defer() and "dataclasses" not in sys.modules and "inspect" not in sys.modules  # nothing imported yet
import dataclasses
assert "inspect" not in sys.modules or sys.version_info >= (3, 12)
assert not defer()  # dataclasses is imported now
assert dataclasses.__spec__.loader is dataclasses.__loader__ and type(dataclasses.__loader__).__name__ != "_Loader"
import inspect
assert type(inspect).__name__ == "module" and dataclasses.inspect.signature is inspect.signature

@dataclasses.dataclass
class Point:
    x: int
    y: str = "a"

print(Point.__doc__)
"""
    done = python_s(code)
    assert done.stdout.strip() == "Point(x: int, y: str = 'a')"


def test_deferring_inspect_changes_nothing_where_it_is_imported() -> None:
    """In a process that imported dataclasses or inspect already (envsnap as a library, the tests), nothing."""
    import dataclasses
    import inspect

    from envsnap._lazyinspect import defer

    assert not defer()
    assert dataclasses.inspect is inspect


def test_importing_the_host_library_probe_imports_neither_the_target_probe_nor_the_runner() -> None:
    """A capture imports ``probes.hostlibs`` first, to start reading the package database and the ld.so cache
    (``prepare_early``) while the target interpreter runs: its import took 50 to 90 ms, most of it the target probe's
    script (``_pyprobe``, with json, hashlib and sysconfig) for one pattern and one stat, the subprocess runner and
    concurrent.futures, which only its functions use. They are imported where they are used."""
    code = (
        "import sys, site; sys.path.extend([*site.getsitepackages(), site.getusersitepackages()]); "
        "import envsnap.probes.hostlibs; print(' '.join(sys.modules))"
    )
    modules = set(python_s(code).stdout.split())
    deferred = {
        "envsnap.probes._pyprobe",
        "envsnap._runner",
        "concurrent.futures",
        "subprocess",
        "json",
        "hashlib",
        "sysconfig",
        "platform",
        "glob",
    }
    assert "envsnap.probes.hostlibs" in modules
    assert sorted(modules & deferred) == []
