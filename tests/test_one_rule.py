"""Each shared rule of issue 13 is written once: a second copy of one (they had drifted apart) fails here, naming
where it was written again. Read from the source's syntax tree, so docstrings and comments do not count."""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "envsnap"


@functools.cache
def _trees() -> tuple[tuple[str, ast.AST], ...]:
    return tuple(
        (path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(PACKAGE.rglob("*.py"))
    )


def _string(node: ast.AST, value: str) -> bool:
    return isinstance(node, ast.Constant) and node.value == value


def _lock_name(node: ast.AST) -> bool:
    return _string(node, "envsnap.lock")


def _cache_root(node: ast.AST) -> bool:
    return _string(node, "XDG_CACHE_HOME")


def _file_url_prefix(node: ast.AST) -> bool:
    """``url[len("file://"):]``: stripping the scheme by hand (percent-decoding then differs per copy)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "len"
        and len(node.args) == 1
        and _string(node.args[0], "file://")
    )


def _url2pathname(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "url2pathname"


def _conda_installer(node: ast.AST) -> bool:
    """``pkg.installer == "conda"``: the pip-layer rule (``PythonPackage.conda_layer``)."""
    return (
        isinstance(node, ast.Compare)
        and isinstance(node.left, ast.Attribute)
        and node.left.attr == "installer"
        and any(_string(c, "conda") for c in node.comparators)
    )


def _arch_table(node: ast.AST) -> bool:
    """A table keyed by a machine's other spelling (``{"amd64": ..., "arm64": ...}``)."""
    return isinstance(node, ast.Dict) and any(_string(k, "amd64") or _string(k, "arm64") for k in node.keys if k)


def _cache_function(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef) and node.name == "default_cache_dir"


def _major_minor_split(node: ast.AST) -> bool:
    """``version.split(".")[:2]``: a second reading of a release's major.minor."""
    return (
        isinstance(node, ast.Subscript)
        and isinstance(node.slice, ast.Slice)
        and node.slice.lower is None
        and isinstance(node.slice.upper, ast.Constant)
        and node.slice.upper.value == 2
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == "split"
        and len(node.value.args) == 1
        and _string(node.value.args[0], ".")
    )


def _below_root(node: ast.AST) -> bool:
    """``tail_below(path, root, ...)``: labelling a path by the root it lies in (``{project}``, ``~``) by hand, which
    an importer did for the project alone, leaving a folder beside it under the home by its absolute path."""
    func = node.func if isinstance(node, ast.Call) else None
    return (isinstance(func, ast.Name) and func.id == "tail_below") or (
        isinstance(func, ast.Attribute) and func.attr == "tail_below"
    )


def _nvml_name_error(node: ast.AST) -> bool:
    """``f"GPU {i}: nvmlDeviceGetName: "``: reading why NVML gave a GPU no name out of ``nvidia.error`` by hand
    (``show`` printed the GPU with no reason while the appendix gave it)."""
    return isinstance(node, ast.JoinedStr) and any(
        isinstance(v, ast.Constant) and isinstance(v.value, str) and "nvmlDeviceGetName: " in v.value
        for v in node.values
    )


def _relative_inside(node: ast.AST) -> bool:
    """``rel.startswith(("/", "\\\\", "-"))``: a relative path's own check by hand (``grammar.is_relative_inside``),
    where bundle refused ``{project}/../../x`` and every export wrote it."""
    return isinstance(node, ast.Tuple) and [getattr(e, "value", None) for e in node.elts] == ["/", "\\", "-"]


def _proc_stat(node: ast.AST) -> bool:
    """``f"/proc/{pid}/stat"``: reading a process's stat by hand (``_procstat.stat_fields``), where three readers
    split its fields after the command name each its own way."""
    return isinstance(node, ast.JoinedStr) and any(
        isinstance(v, ast.Constant) and isinstance(v.value, str) and v.value.endswith("/stat") for v in node.values
    )


RULES: dict[str, tuple[Callable[[ast.AST], bool], set[str]]] = {
    "the lock's default name": (_lock_name, {"_defaults.py"}),
    "the cache root": (_cache_root, {"_defaults.py"}),
    "a cache-folder function": (_cache_function, set()),
    "reading a file: URL": (_file_url_prefix, {"fileurls.py"}),
    "url2pathname": (_url2pathname, set()),
    # probes/cuda.py asks the raw INSTALLER of a distribution, during capture, before any model exists.
    "the pip-layer rule": (_conda_installer, {"model.py", "probes/cuda.py"}),
    "an architecture alias table": (_arch_table, {"platforms.py"}),
    "a major.minor split": (_major_minor_split, set()),
    "labelling a path by its root": (_below_root, {"_privacy.py"}),
    "why NVML gave a GPU no name": (_nvml_name_error, {"report.py"}),
    "a relative path inside a folder": (_relative_inside, {"grammar.py"}),
    "reading /proc/PID/stat": (_proc_stat, {"_procstat.py"}),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_is_written_once(rule: str) -> None:
    matches, allowed = RULES[rule]
    found = sorted({name for name, tree in _trees() for node in ast.walk(tree) if matches(node)})
    assert set(found) <= allowed, f"{rule} is written again in {found} (its one place: {sorted(allowed)})"
    assert not allowed or found, f"{rule}: its one place {sorted(allowed)} no longer has it (update this test)"
