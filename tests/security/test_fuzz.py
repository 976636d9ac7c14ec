"""A fuzzer over valid locks and import files: every reading command, in-process, on mutants of them.

Each mutant (a value replaced by a hostile one, a record duplicated or dropped, a key added, bytes inserted or
cut in the text) runs through ``envsnap.cli.main``. A command may accept the mutant or refuse it, but its exit
code is one docs/cli.md documents for it, and a refusal (exit 2) is exactly one line on standard error and
never a traceback. Mutants that still load run every command; those that do not run one (they all stop at the
same ``lockfile.load``). The host is captured once: the fuzz is about the lock, not the machine.

About 3,000 mutants in all (1,200 through the commands that read every field, 200 through three of every
command, 800 damaged texts, 800 import files, each import file read twice), derandomized, sized to stay
within a few minutes of CI time; ``ENVSNAP_FUZZ_SCALE=N`` runs N times as many, and ``ENVSNAP_FUZZ_SEED=N`` draws
another derandomized campaign (a scaled run alone explores the same first mutants again, then more).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import socket
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from boundary_samples import pip_only, rich
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from envsnap import lockfile
from envsnap.cli import main
from envsnap.errors import EnvsnapError
from envsnap.probes import capture as _capture

# Valid locks the mutants start from: one with every table, one a venv or docker dry run can plan.
BASES = {"rich": rich(), "pip": pip_only()}
# Exit codes each command may give (docs/cli.md).
CODES: dict[str, set[int]] = {
    "show": {0, 2},
    "export": {0, 2},
    "import": {0, 2},
    "pin": {0, 2},
    "diff": {0, 1, 2},
    "check": {0, 1, 2, 3},
    "verify": {0, 1, 2, 3},
    "rebuild": {0, 1, 2, 3, 4},
    "bundle": {0, 2, 4},
}
FORMATS = (
    "conda-explicit",
    "conda-lock",
    "cyclonedx",
    "dockerfile",
    "environment-yml",
    "json",
    "latex",
    "markdown",
    "pylock",
    "requirements",
)
IMPORTS = {
    "pylock": "pylock.toml",
    "requirements": "requirements.txt",
    "conda-explicit": "explicit.txt",
    "conda-lock": "conda-lock.yml",
    "json": "envsnap.lock.json",
}

HOSTILE_TEXT = [
    "",
    " ",
    "a\nb",
    "1.0\n--find-links http://127.0.0.1:9/",
    "\x00",
    "x\x00y",
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;https://evil.example/\x1b\\link",
    "x86_64[/]",
    "[link=https://evil.example]x[/link]",
    "\r",
    "\t",
    "\x7f",
    "\x9b",
    "é",
    "\u202e",
    "../../../../.bashrc",
    "/etc/passwd",
    "..",
    ".",
    "a/b.whl",
    "--mirror=x",
    "-e",
    "--index-url=http://127.0.0.1:9/",
    "$(id)",
    "`id`",
    "a;b",
    "<script>alert(1)</script>",
    '"quoted"',
    "'",
    "\\",
    "#",
    "%0a",
    "file:///etc/shadow",
    "http://127.0.0.1:9/x.whl",
    "javascript:x",
    "sha256:" + "0" * 64,
    "0" * 64,
    "1.0",
    "1.0.post1+local",
    "not a version",
    "x" * 5000,
    "{{ 7*7 }}",
    "${HOME}",
    "\n@EXPLICIT\n",
    "linux-64\nRUN id",
    "name==1.0 --hash=sha256:" + "1" * 64,
]
# Values a field may well accept: mutants that still load reach the commands' own code.
PLAUSIBLE: list[Any] = [
    "",
    "0",
    "1.0",
    "1!2.0.post1.dev3+abc",
    "2.0-beta_final",
    "file:///etc/passwd",
    "http://127.0.0.1:9/x.whl",
    "git+https://example.org/x.git@" + "0" * 40,
    "x-1.0.tar.gz",
    "x-1.0-py3-none-any.whl",
    "sha256:" + "0" * 64,
    "0" * 64,
    "0" * 32,
    "linux-64",
    "noarch",
    "python",
    "generic",
    "vcs",
    "directory",
    "archive",
    "index",
    "conda",
    "venv",
    "system",
    "dpkg",
    "rpm",
    "apk",
    "~/x",
    "file://{project}",
    "file://~/x",
    "<user>/x",
    "torch",
    "demo",
    "cp311-cp311-manylinux_2_17_x86_64",
    "sm_90",
    "9.0",
    "12.1",
    "3.12.0",
    "3.12.0+",
    "runtime",
    "cudnn",
    "pip",
    "cuda_home",
    "metadata",
    "2026-01-01T00:00:00Z",
    0,
    1,
    32,
    64,
    4096,
    2**30,
    2**40,
    True,
    False,
]
HOSTILE_VALUE: list[Any] = [
    *HOSTILE_TEXT,
    0,
    -1,
    1,
    2**31,
    10**400,
    2**53 + 1,
    2**63,
    10**30,
    10**60,
    True,
    False,
    1.5,
    float("inf"),
    [],
    {},
    [[]],
    [{}],
    {"a": 1},
    ["x"],
    [1],
    None,
]


@pytest.fixture(scope="module", autouse=True)
def fixed_host() -> Iterator[None]:
    """``check``, ``verify`` and ``rebuild`` capture the host: once, then the same snapshot every time."""
    real = _capture.capture
    cache: dict[str, Any] = {}

    def once(*args: Any, **kwargs: Any) -> Any:
        key = repr((args, sorted(kwargs.items())))
        if key not in cache:
            cache[key] = real(*args, **kwargs)
        return cache[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_capture, "capture", once)
        mp.setenv("PIP_CONFIG_FILE", "/dev/null")  # pin and bundle ask no index: nothing to fetch
        mp.setenv("PIP_NO_INDEX", "1")
        mp.setenv("ENVSNAP_NO_UV", "1")

        def no_network(*_args: Any, **_kwargs: Any) -> Any:
            raise OSError("the fuzzer allows no network")

        mp.setattr(socket, "getaddrinfo", no_network)
        mp.setattr(socket, "create_connection", no_network)
        yield


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    except EnvsnapError:  # pragma: no cover - main turns these into exit codes
        raise
    except BaseException:
        captured = capsys.readouterr()
        raise AssertionError(f"{args}: uncaught exception\n{traceback.format_exc()}\n{captured.err}") from None
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_well_behaved(command: str, args: list[str], result: tuple[int, str, str]) -> None:
    code, _out, err = result
    assert code in CODES[command], (args, code, err[-2000:])
    assert "Traceback" not in err, (args, err[-2000:])
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("envsnap: error: "), (args, err[-2000:])


# ------------------------------------------------------------------------------------------------ mutation


def leaves(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into the document, containers included."""
    yield path
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from leaves(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from leaves(value, (*path, i))


def get(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


@st.composite
def mutated_document(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in leaves(doc) if p]
        path = draw(st.sampled_from(paths))
        parent, key = get(doc, path[:-1]), path[-1]
        action = draw(
            st.sampled_from(
                ["replace", "replace", "plausible", "plausible", "plausible", "duplicate", "drop", "add", "nest"]
            )
        )
        if action == "replace":
            parent[key] = copy.deepcopy(draw(st.sampled_from(HOSTILE_VALUE)))
        elif action == "plausible":
            parent[key] = copy.deepcopy(draw(st.sampled_from(PLAUSIBLE)))
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif action == "drop":
            del parent[key]
        elif action == "add" and isinstance(parent[key], dict):
            # a copy: the pools hold lists and tables, and a later mutation must not change the pool itself
            parent[key][draw(st.sampled_from(["x", "name", "a.b", "\x00", "--x"]))] = copy.deepcopy(
                draw(st.sampled_from(HOSTILE_VALUE))
            )
        elif action == "nest":
            value: Any = parent[key]
            for _ in range(draw(st.sampled_from([2, 40]))):
                value = [value]
            parent[key] = value
    return doc


def without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value if v is not None]
    return value


def as_toml(doc: dict[str, Any], reseal: bool) -> str:
    doc = without_none(doc)
    meta = doc.get("envsnap")
    if reseal and isinstance(meta, dict):
        with contextlib.suppress(Exception):  # a mutant the digest cannot be computed for stays unsealed
            meta["content_digest"] = lockfile.canonical_digest(doc)
    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError):  # a value TOML cannot hold (inf is fine, None was dropped)
        return json.dumps(doc, default=str)


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> str:
    """Byte-level damage: insert hostile text, cut, repeat a line, or prefix a parser bomb."""
    action = draw(st.sampled_from(["insert", "cut", "repeat", "bomb"]))
    at = draw(st.integers(0, len(text)))
    if action == "insert":
        extra = ["[", "]]", "{", "=", "\n[envsnap]\n", "\n[[python.packages]]\n", '"""', "'''"]
        return text[:at] + draw(st.sampled_from([*HOSTILE_TEXT, *extra])) + text[at:]
    if action == "cut":
        return text[:at] + text[at + draw(st.integers(1, 200)) :]
    if action == "repeat":
        lines = text.splitlines(keepends=True)
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        return "".join(lines[: i + 1] + lines[i:])
    bomb = draw(
        st.sampled_from(
            [
                "a" + ".a" * 5000 + " = 1\n",
                "x = " + "[" * 500 + "]" * 500 + "\n",
                "x = " + "9" * 5000 + "\n",
                "x = {" * 100 + "\n",
            ]
        )
    )
    return bomb + text


# ------------------------------------------------------------------------------------------------ commands


def lock_commands(lock: Path, tmp: Path) -> list[list[str]]:
    out = [
        ["show", str(lock)],
        ["show", str(lock), "--json"],
        ["check", str(lock)],
        ["check", str(lock), "--json"],
        ["verify", str(lock)],
        ["diff", str(lock), str(lock)],
        ["diff", str(lock), str(BASE_LOCK)],
    ]
    out += [["export", str(lock), "-f", fmt, "-o", str(tmp / f"out-{fmt}")] for fmt in FORMATS]
    out += [
        ["rebuild", str(lock), "--dry-run", "--target", target, "--dest", str(tmp / f"env-{target}")]
        for target in ("venv", "docker", "conda")
    ]
    out += [["pin", str(lock), "-o", str(tmp / "pinned.lock")]]
    return out


BASE_LOCK = Path()  # set by the module fixture below


@pytest.fixture(scope="module")
def base_lock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    global BASE_LOCK
    BASE_LOCK = tmp_path_factory.mktemp("base") / "envsnap.lock"
    lockfile.dump(rich(), BASE_LOCK)
    return BASE_LOCK


# Cheap commands that read the whole lock: many mutants go through them.
CHEAP = ("show", "show --json", "diff", "export -f json", "export -f markdown")


def fuzz_lock(text: str, tmp: Path, capsys: pytest.CaptureFixture[str], picks: list[int]) -> None:
    """Write the mutant and run the commands ``picks`` chooses among every reading command."""
    lock = tmp / "envsnap.lock"
    lock.write_text(text, encoding="utf-8")
    commands = lock_commands(lock, tmp)
    for pick in picks:
        args = commands[pick % len(commands)]
        assert_well_behaved(args[0], args, run(args, capsys))


def doc_mutant(data: st.DataObject) -> str:
    doc = lockfile.sealed_document(BASES[data.draw(st.sampled_from(sorted(BASES)))])
    return as_toml(data.draw(mutated_document(doc)), reseal=data.draw(st.booleans()))


def settings_for(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    # ENVSNAP_FUZZ_SCALE=10 runs ten times as many mutants (a longer campaign than CI affords);
    # ENVSNAP_FUZZ_SEED=N another campaign, reproducible by its number.
    scale = int(os.environ.get("ENVSNAP_FUZZ_SCALE", "1") or 1)
    campaign = os.environ.get("ENVSNAP_FUZZ_SEED", "")
    chosen = settings(
        max_examples=examples * scale,
        deadline=None,
        derandomize=not campaign,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )

    def apply(test: Callable[..., None]) -> Callable[..., None]:
        test = chosen(test)
        return seed(int(campaign))(test) if campaign else test

    return apply


@settings_for(1200)
@given(data=st.data())
def test_mutated_locks_read(
    data: st.DataObject, base_lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Many mutants through the commands that read every field (show, diff, the JSON and Markdown exports)."""
    text = doc_mutant(data)
    lock = tmp_path / "envsnap.lock"
    lock.write_text(text, encoding="utf-8")
    command = data.draw(st.sampled_from(CHEAP)).split()
    args = [command[0], str(lock), *command[1:]]
    if command[0] == "diff":
        args.append(str(base_lock))
    if command[0] == "export":
        args += ["-o", str(tmp_path / "out")]
    assert_well_behaved(command[0], args, run(args, capsys))


@settings_for(200)
@given(data=st.data())
def test_mutated_locks_every_command(
    data: st.DataObject, base_lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fewer mutants, each through three commands drawn from all of them (check, verify, every export,
    rebuild --dry-run for each target, pin with no index and no network)."""
    fuzz_lock(doc_mutant(data), tmp_path, capsys, data.draw(st.lists(st.integers(0, 100), min_size=3, max_size=3)))


@settings_for(800)
@given(data=st.data())
def test_damaged_lock_text(
    data: st.DataObject, base_lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = data.draw(mutated_text(lockfile.dumps(BASES[data.draw(st.sampled_from(sorted(BASES)))])))
    fuzz_lock(text, tmp_path, capsys, [data.draw(st.integers(0, 100))])


@pytest.fixture(scope="module")
def import_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each import format, as envsnap exports the rich lock in it."""
    folder = tmp_path_factory.mktemp("exports")
    lock, index_only = folder / "envsnap.lock", folder / "index-only.lock"
    snapshot = rich()
    lockfile.dump(snapshot, lock)
    # conda-lock holds only packages with a file URL and a sha256 (no VCS or local project).
    packages = tuple(p for p in snapshot.python.packages if p.artifact is not None)
    lockfile.dump(
        dataclasses.replace(snapshot, python=dataclasses.replace(snapshot.python, packages=packages)), index_only
    )
    out: dict[str, str] = {}
    for fmt, name in IMPORTS.items():
        target = folder / name
        source = index_only if fmt == "conda-lock" else lock
        assert main(["export", str(source), "-f", fmt, "-o", str(target), "--no-pin"]) == 0
        out[fmt] = target.read_text(encoding="utf-8")
    return out


@settings_for(800)
@given(data=st.data())
def test_mutated_import_files(
    data: st.DataObject, import_files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fmt = data.draw(st.sampled_from(sorted(IMPORTS)))
    text = import_files[fmt]
    if fmt in ("json", "pylock", "conda-lock") and data.draw(st.booleans()):
        import yaml  # type: ignore[import-untyped]

        from envsnap._toml import tomllib

        read, write = {
            "json": (json.loads, lambda doc: json.dumps(without_none(doc), default=str)),
            "pylock": (tomllib.loads, lambda doc: as_toml(doc, False)),
            # conda-lock's YAML has null and any type where a mapping belongs (a metadata or hash that was a
            # list, a platforms that was a number: tracebacks the text mutations never reached)
            "conda-lock": (yaml.safe_load, lambda doc: yaml.safe_dump(doc, default_flow_style=False)),
        }[fmt]
        text = write(data.draw(mutated_document(read(text))))
    else:
        text = data.draw(mutated_text(text))
    path = tmp_path / IMPORTS[fmt]
    path.write_text(text, encoding="utf-8")
    for how in (["--from", fmt], []):
        args = ["import", str(path), *how, "-o", str(tmp_path / "imported.lock")]
        assert_well_behaved("import", args, run(args, capsys))


def test_the_fuzzer_reaches_every_command(base_lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The unmutated lock passes every command, so the mutants above start from something each one reads."""
    codes = {}
    for args in lock_commands(base_lock, tmp_path):
        result = run(args, capsys)
        assert_well_behaved(args[0], args, result)
        codes[" ".join(args[:1] + args[2:4])] = result[0]
    assert codes["show --json"] == 0 and codes["export -f markdown"] == 0, codes
