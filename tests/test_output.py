"""The command line prints through one module, envsnap/cli/_output.py, which never reads data as rich markup."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap import lockfile
from envsnap.cli import _output

CLI = Path(__file__).resolve().parent.parent / "envsnap" / "cli"
SHA = "a" * 64


def test_import_of_a_find_links_line_with_brackets_is_text(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # '[/b]' is a closing tag to rich: read as markup, the warning naming this line was a MarkupError traceback
    # after the lock had been written.
    monkeypatch.chdir(tmp_path)
    # (Beside a named index, a --find-links location is not recorded and the warning names it; alone it would be
    # the artifacts' index.)
    (tmp_path / "requirements.txt").write_text(
        "--index-url https://mirror.example/simple\n"
        f"--find-links https://example.org/a[/b]\nsix==1.16.0 --hash=sha256:{SHA}\n"
    )
    result = cli("import", "requirements.txt", "-o", "x.lock")
    assert result.code == 0, result
    assert "Traceback" not in result.err
    assert "--find-links https://example.org/a[/b] is not recorded" in result.err
    assert lockfile.load(tmp_path / "x.lock").package("six") is not None


def test_say_and_tables_keep_markup_and_controls_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    _output.say(("warning:", "yellow"), " ", "[bold]x[/] [link=https://e.org]y", "\x1b[2J")
    _output.print_table(
        _output.table([("a[/]", ("[red]b", "bold"))], columns=("k", "v"), title="t[/x]", caption="c[/]")
    )
    _output.write_lines("line\x1b]8;;\x07 \u202e")
    out, err = capsys.readouterr()
    assert "[bold]x[/] [link=https://e.org]y" in err and "\x1b" not in err and "\u202e" not in err
    assert "a[/]" in out and "[red]b" in out and "t[/x]" in out and "c[/]" in out and "\x1b" not in out


@pytest.mark.parametrize(
    "messages",
    [
        ("plain", "lines", ""),
        ("a\nb", "c"),
        ("tab\tin", "ok"),
        ("ok", "esc\x1b[2J"),
        ("\u202eflipped", "ok"),
        ("c1\x9b", "del\x7f"),
        ("cr\r", "\n"),
        (),
        (3, None),
    ],
)
def test_write_lines_writes_each_message_as_one_visible_line(
    capsys: pytest.CaptureFixture[str], messages: tuple[object, ...]
) -> None:
    _output.write_lines(*messages, err=False)
    assert capsys.readouterr().out == "".join(_output.line(m) + "\n" for m in messages)


def test_write_lines_scans_plain_text_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """5,000 lines of diff without a control character: one scan, not one per line; ASCII text, none (its
    ``isprintable`` says it holds no control character)."""
    calls: list[object] = []
    line = _output.line
    monkeypatch.setattr(_output, "line", lambda value: calls.append(value) or line(value))
    _output.write_lines(*(f"python  p{i}: 1.0 -> 2.0 (major)" for i in range(5000)), err=False)
    assert len(capsys.readouterr().out.splitlines()) == 5000
    assert calls == []
    _output.write_lines(*(f"python  p{i}: 1.0 -> 2.0 (major, é)" for i in range(5000)), err=False)
    assert len(capsys.readouterr().out.splitlines()) == 5000
    assert len(calls) == 1
    for bad in ("\x1b[31m", "\x7f", "\x00", "\t", "\r", "\u202e", "\x9b"):  # ASCII and not: still made visible
        _output.write_lines("python  p0: 1.0 -> 2.0", f"python  p1: 1.0{bad} -> 2.0", err=False)
        assert bad not in capsys.readouterr().out


def _modules() -> list[Path]:
    return sorted(p for p in CLI.glob("*.py") if p.name != "_output.py")


def test_no_command_prints_around_the_output_module() -> None:
    """No module of envsnap/cli but _output imports rich or calls print(); main (the one place errors become
    exit codes) writes the error line with print, as before anything else can be imported."""
    for path in _modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n == "rich" or n.startswith("rich.") for n in names), f"{path.name} imports rich"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                assert path.name == "__init__.py", f"{path.name}:{node.lineno} prints without _output"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "print":
                raise AssertionError(f"{path.name}:{node.lineno} prints through a console of its own")
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("stdout", "stderr")
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
            ):
                assert path.name == "__init__.py", f"{path.name}:{node.lineno} writes to sys.{node.attr}"


def test_a_progress_bar_off_a_terminal_prints_nothing_and_imports_no_rich() -> None:
    """fleet check's bar is for a terminal; with stderr in a CI log or --json for a dashboard it is nothing at
    all (it printed an empty line, after importing rich's progress machinery on the way to the nodes)."""
    script = (
        "import sys\n"
        "from envsnap.cli import _output\n"
        "bar = _output.bar('nodes answering')\n"
        "bar.start(3)\n"
        "bar.advance('node1 answered')\n"
        "bar.stop()\n"
        "print(sorted(m for m in sys.modules if m.startswith('rich')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n" and done.stderr == ""


def test_a_line_to_a_pipe_is_the_same_text_without_rich(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Output that goes to no terminal has no colour: say writes it without importing rich (verify's report), the
    same bytes the console writes, controls and markup shown as text."""
    parts: tuple[_output.Part, ...] = (("warning:", "yellow"), " ", "[bold]x[/]\t", "\x1b[2J \u202e", ("ok", "green"))
    _output.say(*parts)
    _output.say(*parts, err=False)
    plain = capsys.readouterr()
    monkeypatch.setattr(_output, "_styled", lambda stream: True)
    _output.say(*parts)
    _output.say(*parts, err=False)
    console = capsys.readouterr()
    assert plain == console and "[bold]x[/]" in plain.out and "\x1b" not in plain.err
    code = (
        "import sys\nfrom envsnap.cli import _output\n"
        "_output.first_line('verifying x', json_output=False)\n"
        "_output.say(('a', 'red'), 'b', err=False)\nassert 'rich' not in sys.modules\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert (done.returncode, done.stdout) == (0, "verifying x\nab\n"), done.stderr


def test_bundle_progress_off_a_terminal_is_the_same_lines_without_rich(tmp_path: Path) -> None:
    """A bundle prints a line per wheel: off a terminal (a CI log, a pipe) they are written as plain lines, the
    same text the console writes, without importing rich (issue 19: importing it and a console print per wheel
    were a third of a warm bundle's own work)."""
    import hashlib
    import re

    from envsnap.model import Artifact, PythonEnv, PythonPackage, Snapshot

    packages = []
    for name in ("alpha", "beta", "gamma"):
        wheel = tmp_path / "index" / f"{name}-1.0-py3-none-any.whl"
        wheel.parent.mkdir(exist_ok=True)
        wheel.write_bytes(name.encode() * 1000)
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=sha)
        packages.append(PythonPackage(name=name, version="1.0", artifact=art))
    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=tuple(packages))), tmp_path / "x.lock")
    script = (
        "import sys\nfrom envsnap.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(code, sorted(m for m in sys.modules if m.startswith('rich')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")

    def bundle(out: str, **extra: str) -> tuple[str, str]:
        argv = ["bundle", str(tmp_path / "x.lock"), "-o", str(tmp_path / out), "--allow-url", tmp_path.as_uri() + "/*"]
        done = subprocess.run(
            [sys.executable, "-c", script, *argv], capture_output=True, text=True, env={**env, **extra}, check=False
        )
        return done.stdout, re.sub(r" in [0-9.]+ s$", " in T s", done.stderr, flags=re.M)

    out, cold = bundle("cold")
    assert out == "0 []\n", cold
    assert "  downloading 3 wheels, 3 at a time\n  fetched alpha-1.0-py3-none-any.whl\n" in cold
    out, plain = bundle("warm")
    assert out == "0 []\n" and plain.count(" from the download cache\n") == 3, plain
    out, console = bundle("console", FORCE_COLOR="1")  # what the console prints, as on a terminal
    assert out.startswith("0 ['rich") and console == plain.replace("/warm", "/console")


def test_a_line_or_paragraph_separator_is_shown_not_obeyed(capsys: pytest.CaptureFixture[str]) -> None:
    """U+2028 in a run record's command word reached the terminal raw: show drew a line break inside the quoted
    Command cell and rerun's confirmation line carried it. It is made visible as control and bidi characters are."""
    from envsnap._control import strip_terminal

    assert strip_terminal("x\u2028y\u2029z") == "x\ufffdy\ufffdz"
    _output.write_lines("python 'x\u2028y'", err=False)
    _output.say("cell\u2029 two", err=False)
    out = capsys.readouterr().out
    assert "\u2028" not in out and "\u2029" not in out and "x\ufffdy" in out
