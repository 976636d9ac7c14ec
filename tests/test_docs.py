"""The reference docs keep up with the code: every lockfile field in docs/lockfile.md, every command and option
in docs/cli.md. Both are derived from the code (the model's dataclasses, the CLI's parsers), so a field or an
option added without its documentation fails here, naming what is missing."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import envsnap
from envsnap import model
from envsnap.cli import build_parser, command_modules

DOCS = Path(__file__).resolve().parent.parent / "docs"
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) for each Markdown heading; a body runs to the next heading of any level."""
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            out.append((m.group(2), []))
        elif out:
            out[-1][1].append(line)
    return [(heading, "\n".join(body)) for heading, body in out]


# ---------------------------------------------------------------------------------------------- lockfile


def _table_of(tp: typing.Any) -> tuple[type | None, str]:
    """The dataclass a field's type holds and how TOML writes it: "table", "array" or "map" ("" for a value)."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return _table_of(args[0])
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp, "table"
    if typing.get_origin(tp) is tuple and args and dataclasses.is_dataclass(args[0]):
        return args[0], "array"
    if typing.get_origin(tp) in (Mapping, dict) and len(args) == 2 and dataclasses.is_dataclass(args[1]):
        return args[1], "map"
    return None, ""


def model_tables(cls: type = model.Snapshot, path: str = "") -> Iterator[tuple[str, type]]:
    """Every table of the lockfile as docs/lockfile.md heads it (``[python]``, ``[[python.packages]]``,
    ``[frameworks.<name>]``), with the model class whose fields it holds."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        sub, kind = _table_of(hints[f.name])
        if sub is None:
            continue
        dotted = f"{path}.{f.name}" if path else f.name
        heading = {"table": f"[{dotted}]", "array": f"[[{dotted}]]", "map": f"[{dotted}.<name>]"}[kind]
        yield heading, sub
        yield from model_tables(sub, dotted.strip("[]") if kind != "map" else f"{dotted}.<name>")


def lockfile_sections() -> dict[str, str]:
    """Table heading (``[[python.packages]]``) -> its section's text in docs/lockfile.md."""
    out: dict[str, str] = {}
    for heading, body in sections((DOCS / "lockfile.md").read_text()):
        m = re.match(r"`(\[\[?[^`]+?\]\]?)`", heading)
        if m:
            out[m.group(1)] = body
    return out


def documented_fields(body: str) -> set[str]:
    """The field names in the first column of a section's tables (``| `a`, `b` | ...`` documents both)."""
    names: set[str] = set()
    for line in body.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            names.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cells[1]))
    return names


def test_model_tables_are_found_in_the_model() -> None:
    # The walk itself must see the tables the lockfile has, or the test below would check nothing.
    headings = dict(model_tables())
    assert headings["[envsnap]"] is model.Meta
    assert headings["[[python.packages]]"] is model.PythonPackage
    assert headings["[python.packages.artifact]"] is model.Artifact
    assert headings["[frameworks.<name>]"] is model.Framework
    assert headings["[[cuda.copies]]"] is model.CudaLibrary
    assert len(headings) >= 18


@pytest.mark.parametrize(("heading", "cls"), list(model_tables()), ids=[h for h, _ in model_tables()])
def test_every_model_field_is_in_docs_lockfile(heading: str, cls: type) -> None:
    docs = lockfile_sections()
    assert heading in docs, f"docs/lockfile.md has no section headed `{heading}` ({cls.__name__})"
    documented = documented_fields(docs[heading])
    hints = typing.get_type_hints(cls)
    missing = []
    for f in dataclasses.fields(cls):
        sub, _ = _table_of(hints[f.name])
        if f.name in documented:
            continue
        # A sub-table may be described by its own section instead of a row (``[[python.packages]]``).
        if sub is not None and any(
            h.strip("[]").split(".")[-1] in (f.name, "<name>")
            for h in docs
            if h.strip("[]").startswith(heading.strip("[]") + ".")
        ):
            continue
        missing.append(f.name)
    assert not missing, f"docs/lockfile.md `{heading}` does not document: {', '.join(missing)}"


def test_every_top_level_table_is_in_docs_lockfile() -> None:
    docs = lockfile_sections()
    for f in dataclasses.fields(model.Snapshot):
        assert any(h.strip("[]").split(".")[0] == f.name for h in docs), f"no section for [{f.name}]"


# ------------------------------------------------------------------------------------------------- cli


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def cli_sections(command: str) -> str:
    """Every section of docs/cli.md about ``envsnap COMMAND`` (rebuild has one per target)."""
    return "\n".join(
        heading + "\n" + body
        for heading, body in sections((DOCS / "cli.md").read_text())
        if re.match(rf"`envsnap {re.escape(command)}(?:[ `])", heading)
    )


def test_every_option_of_envsnap_itself_is_in_docs_cli() -> None:
    # ``envsnap --help`` lists ``--version`` beside the commands; the commands' sections never name it.
    intro = sections((DOCS / "cli.md").read_text())[0][1]
    missing = [
        option
        for action in build_parser()._actions
        if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction))
        for option in action.option_strings
        if not re.search(rf"`envsnap {re.escape(option)}`", intro)
    ]
    assert not missing, f"docs/cli.md's opening does not document: {', '.join(missing)}"


def test_every_command_s_help_says_what_it_does() -> None:
    # ``envsnap show --help`` printed its usage and options with no paragraph saying what it does; every other
    # command's help has one.
    bare = [name for name, parser in command_parsers().items() if not (parser.description or "").strip()]
    assert not bare, f"no description in --help: {', '.join(sorted(bare))}"


def test_every_command_module_has_a_parser() -> None:
    assert set(command_parsers()) == {m.__name__.rsplit(".", 1)[1].rstrip("_") for m in command_modules()}


@pytest.mark.parametrize("command", sorted(command_parsers()))
def test_every_cli_option_is_in_docs_cli(command: str) -> None:
    text = cli_sections(command)
    assert text, f"docs/cli.md has no section headed `envsnap {command}`"
    missing = []
    for action in command_parsers()[command]._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:  # a positional: its metavar (LOCK, FILE) in the section
            name = str(action.metavar or action.dest)
            if not re.search(rf"\b{re.escape(name)}\b", text):
                missing.append(name)
            continue
        for option in action.option_strings:
            if not re.search(rf"`{re.escape(option)}(?![\w-])", text):
                missing.append(option)
        for choice in action.choices or ():
            if not re.search(rf"(?<![\w-]){re.escape(str(choice))}(?![\w-])", text):
                missing.append(f"{action.option_strings[-1]} {choice}")
    assert not missing, f"docs/cli.md `envsnap {command}` does not document: {', '.join(missing)}"


def _plugin_names() -> Iterator[tuple[str, str]]:
    """(command, name) for every registered plug-in a user names on that command's line or sees in its report."""
    from envsnap import export, importers
    from envsnap.compat import rules
    from envsnap.rebuild import _registry

    yield from (("export", name) for name in export.exporters())
    yield from (("import", name) for name in dict(importers.REGISTRY))
    yield from (("rebuild", name) for name in dict(_registry.REGISTRY))
    yield from (("check", rule.name) for rule in dict(rules.REGISTRY).values())


@pytest.mark.parametrize(("command", "name"), sorted(_plugin_names()))
def test_every_registered_plugin_is_in_docs_cli(command: str, name: str) -> None:
    # A format, target or rule added by a CONTRIBUTING recipe is documented where users look for it; --format
    # and --from are no argparse choices, so the option check above cannot see a new one.
    if command == "check":  # a row of the rules table, under `envsnap check`
        where, pattern = (DOCS / "cli.md").read_text(), rf"^\| `{re.escape(name)}` \|"
    else:
        where, pattern = cli_sections(command), rf"`{re.escape(name)}`"
    assert re.search(pattern, where, re.MULTILINE), f"docs/cli.md `envsnap {command}` does not document {name!r}"


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_exit_code_is_in_the_exit_code_table() -> None:
    import importlib
    import pkgutil

    import envsnap
    from envsnap.errors import EnvsnapError

    for info in pkgutil.walk_packages(envsnap.__path__, "envsnap."):
        if info.name.rsplit(".", 1)[-1] not in ("__main__", "_pyprobe", "_nvml_worker", "_cuda_worker", "_deep_worker"):
            importlib.import_module(info.name)  # every error class and EXIT_ constant is defined
    codes = {EnvsnapError.exit_code} | {c.exit_code for c in _subclasses(EnvsnapError)}  # type: ignore[attr-defined]
    for module in command_modules():
        codes |= {v for k, v in vars(module).items() if k.startswith("EXIT_") and isinstance(v, int)}
    import envsnap.cli

    codes |= {v for k, v in vars(envsnap.cli).items() if k.startswith("EXIT_") and isinstance(v, int)}
    table = dict(sections((DOCS / "cli.md").read_text()))["Exit codes"]
    listed = {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    assert codes <= listed, f"docs/cli.md's exit-code table lacks {sorted(codes - listed)}"


def test_every_command_uses_the_codes_of_the_one_exit_code_table() -> None:
    """A command's own exit-code table (check, verify, rebuild, ...) uses only codes the table that every
    command follows lists (check and verify once gave 1 and 3 opposite meanings)."""
    text = (DOCS / "cli.md").read_text()
    listed = {m for m in re.findall(r"^\| (\d+) \|", dict(sections(text))["Exit codes"], re.MULTILINE)}
    for heading, body in sections(text):
        if heading == "Exit codes":
            continue
        used = set(re.findall(r"^\| (\d+) \| ", body, re.MULTILINE))
        assert used <= listed, f"docs/cli.md, {heading}: exit codes {sorted(used - listed)} are not in the table"
    verify = dict(sections(text))["`envsnap verify`"]
    check = dict(sections(text))["Exit status"]
    for body in (verify, check):  # the same meaning for 1 (strict warnings) and 3 (failure/mismatch)
        assert re.search(r"^\| 1 \| .*warnings", body, re.MULTILINE) and re.search(r"^\| 3 \| ", body, re.MULTILINE)


# -------------------------------------------------------------------------------------------- tutorial

# What docs/tutorial.md's prose says exists before its first command: the environment the experiments ran in.
_TUTORIAL_GIVEN = {"paper-env"}


def tutorial_commands() -> list[list[str]]:
    """Every ``$ COMMAND`` line of docs/tutorial.md, in order, as the shell splits it (a ``# comment`` left out)."""
    import shlex

    lines = (DOCS / "tutorial.md").read_text(encoding="utf-8").splitlines()
    found = []
    for line in lines:
        match = re.match(r"^ {4}\$ (.*)$", line)
        if match:
            for part in match.group(1).split(" && "):
                found.append(shlex.split(part, comments=True))
    return found


def _tutorial_outputs(argv: list[str], capsys: pytest.CaptureFixture[str]) -> set[str]:
    """What one tutorial command makes, for the commands after it: envsnap's ``-o``/``--dest`` as its own parser
    reads them (a command line it refuses fails the test), a venv, or the folder ``tar -xf NAME.tar.gz`` unpacks."""
    if argv[0] == "envsnap":
        try:
            args = build_parser(argv[1]).parse_args(argv[1:])
        except SystemExit:
            pytest.fail(f"docs/tutorial.md: envsnap refuses `{' '.join(argv)}`: {capsys.readouterr().err.strip()}")
        return {str(v) for v in (getattr(args, "output", None), getattr(args, "dest", None)) if v}
    if argv[:2] == ["uv", "venv"]:
        return {argv[2]}
    if argv[:2] == ["tar", "-xf"]:
        return {re.sub(r"\.(tar\.gz|tgz|tar)$", "", argv[2])}
    return set()


def test_every_tutorial_command_parses_and_reads_only_what_an_earlier_step_made(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A reader follows docs/tutorial.md literally: each `envsnap` line must be one envsnap takes, and each file or
    folder a line names must exist by then (made by an earlier line, or named by the prose as given). It used
    `drifted.lock`, which no step made, and the reviewer's `envsnap.lock`, which the supplement holds inside it."""
    commands = tutorial_commands()
    assert sum(argv[0] == "envsnap" for argv in commands) >= 10, commands
    made = set(_TUTORIAL_GIVEN)
    for argv in commands:
        outputs = _tutorial_outputs(argv, capsys)
        for word in argv[1:]:
            if word.startswith("-") or word in outputs or "=" in word:
                continue
            if "/" in word or word.endswith((".lock", ".tar.gz", ".tar")):
                first = word.split("/", 1)[0]
                assert first in made, f"docs/tutorial.md: `{' '.join(argv)}` names {word}, which no earlier step made"
        made |= outputs


# ------------------------------------------------------------------------------------------- Python API

_API_USE = re.compile(r"\benvsnap\.([A-Za-z_]\w*)\(")
_RETURNS = re.compile(r"\s*->\s*`?([A-Za-z_][\w.]*)")


def api_uses() -> list[tuple[str, str, str, str]]:
    """Every ``envsnap.NAME(...)`` of a public name in README.md, CONTRIBUTING.md and docs/: where, the name, the
    text in its parentheses (on one line) and the return type written after it (``-> Report``), or ""."""
    found = []
    for path in (DOCS.parent / "README.md", DOCS.parent / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))):
        text = path.read_text()
        for m in _API_USE.finditer(text):
            if m.group(1) not in envsnap.__all__:
                continue
            depth, end = 1, m.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                end += 1
            returns = _RETURNS.match(text, end)
            where = f"{path.name}:{text.count(chr(10), 0, m.start()) + 1}"
            found.append((where, m.group(1), " ".join(text[m.end() : end - 1].split()), returns[1] if returns else ""))
    return found


def _documented_signature(inside: str) -> list[tuple[str, str, object]] | None:
    """The parameters (name, kind, default) a signature written as ``(a, b=None, *, c=1)`` declares; None when the
    text is no parameter list (a call: ``("envsnap.lock", python=None)``)."""
    try:
        args = ast.parse(f"def f({inside}): pass").body[0].args  # type: ignore[attr-defined]
    except SyntaxError:
        return None
    out: list[tuple[str, str, object]] = []
    positional = [*args.posonlyargs, *args.args]
    defaults = [inspect.Parameter.empty] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        kind = "POSITIONAL_ONLY" if i < len(args.posonlyargs) else "POSITIONAL_OR_KEYWORD"
        out.append((arg.arg, kind, default))
    if args.vararg:
        out.append((args.vararg.arg, "VAR_POSITIONAL", inspect.Parameter.empty))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append((arg.arg, "KEYWORD_ONLY", inspect.Parameter.empty if default is None else default))
    if args.kwarg:
        out.append((args.kwarg.arg, "VAR_KEYWORD", inspect.Parameter.empty))
    return [(n, k, d if d is inspect.Parameter.empty else ast.literal_eval(d)) for n, k, d in out]


def test_the_docs_show_the_python_api_somewhere() -> None:
    """The test below reads what it should: the README's calls and design.md's signatures are found."""
    uses = api_uses()
    assert {name for _, name, _, returns in uses if returns} >= {"capture", "check"}, uses
    assert {name for _, name, _, _ in uses} >= {"capture", "check", "verify", "dump", "load", "record_run"}, uses


@pytest.mark.parametrize("where, name, inside, returns", api_uses(), ids=lambda v: str(v)[:40])
def test_every_documented_api_signature_and_call_matches_the_code(
    where: str, name: str, inside: str, returns: str
) -> None:
    """docs/design.md gave ``envsnap.check(lock, host=None, *, target="host", python=None, cpu_only=False)`` after
    ``cache``, ``gpu_timeout`` and ``python_named`` were added. A signature (``-> Type`` after it) must be the
    code's, parameter for parameter, defaults and return type included; a call must be one the code takes."""
    actual = inspect.signature(getattr(envsnap, name))
    if returns:
        assert returns.rsplit(".", 1)[-1] == str(actual.return_annotation), f"{where}: envsnap.{name} returns"
    declared = _documented_signature(inside) if returns else None
    if declared is not None:
        code = [(p.name, p.kind.name, p.default) for p in actual.parameters.values()]
        assert declared == code, f"{where}: envsnap.{name}({inside}) is not the code's signature {actual}"
        return
    call = ast.parse(f"f({inside})", mode="eval").body
    assert isinstance(call, ast.Call), where
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return
    try:
        actual.bind(*call.args, **{k.arg: k.value for k in call.keywords if k.arg})
    except TypeError as exc:
        pytest.fail(f"{where}: envsnap.{name}({inside}) does not fit {actual}: {exc}")
