"""docs/lockfile.schema.json is generated from the model and lockfile.RULES, and every example lock in the
repository is valid against it; the enum-like fields are typed in the model and refused at load when a lock
holds another value (exit 2, one line naming the field)."""

from __future__ import annotations

import json
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import tomllib
from testutil import unchecked_lock_text

from envsnap import lockfile, model, schema
from envsnap.model import Snapshot

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "docs" / "lockfile.schema.json"

sys.path.insert(0, str(Path(__file__).parent / "export"))  # the shared sample locks of the export tests
sys.path.insert(0, str(Path(__file__).parent / "security"))


def _validator() -> jsonschema.Draft202012Validator:
    data = json.loads(COMMITTED.read_text())
    jsonschema.Draft202012Validator.check_schema(data)
    return jsonschema.Draft202012Validator(data)


def test_the_committed_schema_is_the_generated_one() -> None:
    assert COMMITTED.read_text() == schema.dumps(), (
        "docs/lockfile.schema.json is out of date: python -c 'from envsnap import schema; "
        'open("docs/lockfile.schema.json", "w").write(schema.dumps())\''
    )


def _example_locks() -> dict[str, Any]:
    """Every example lock of the repository as the TOML reads: the golden JSON export, and the sample locks
    the tests share (each as lockfile.dumps writes it, but for its check that the loader reads it back)."""
    from export_samples import rich_snapshot
    from test_lockfile import sample
    from test_sinks import conda_lock_snapshot, full_lock, hostile_terminal_lock

    locks: dict[str, Any] = {
        str(p.relative_to(REPO)): json.loads(p.read_text()) for p in sorted(REPO.glob("tests/**/golden/**/*.lock.json"))
    }
    assert locks, "the golden JSON export is an example lock"
    makers: dict[str, Callable[[], Snapshot]] = {
        "rich_snapshot": rich_snapshot,
        "sample": sample,
        "conda_lock_snapshot": conda_lock_snapshot,
        "full_lock": full_lock,
        "hostile_terminal_lock": hostile_terminal_lock,
        "empty": Snapshot,
    }
    for name, make in makers.items():
        locks[name] = tomllib.loads(unchecked_lock_text(make()))  # the hostile lock's values are no lock's
    return locks


@pytest.mark.parametrize("name", sorted(_example_locks()))
def test_every_example_lock_is_valid(name: str) -> None:
    errors = [f"{e.json_path}: {e.message}" for e in _validator().iter_errors(_example_locks()[name])]
    assert not errors, errors


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("python", "kind"), "bogus"),
        (("system", "manager"), "pacman"),
        (("envsnap", "origin"), "pip-freeze"),
        (("python", "pointer_bits"), 16),
        (("envsnap", "surprise"), "x"),
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(where: tuple[str, str], value: object) -> None:
    doc = tomllib.loads(lockfile.dumps(Snapshot()))
    doc[where[0]][where[1]] = value
    assert list(_validator().iter_errors(doc))
    with pytest.raises(lockfile.LockfileError, match=rf"{where[0]}\.{where[1]}"):
        lockfile.from_document(doc, check_digest=False)


ENUM_FIELDS = {
    (model.Source, "kind"),
    (model.Source, "vcs"),
    (model.PythonEnv, "kind"),
    (model.System, "manager"),
    (model.SystemPackage, "manager"),
    (model.CudaLibrary, "component"),
    (model.CudaLibrary, "source"),
    (model.CudaLibrary, "method"),
    (model.Cuda, "runtime_source"),
    (model.Cuda, "cudnn_source"),
    (model.Nvidia, "source"),
    (model.Platform, "libc"),
    (model.Meta, "origin"),
    (model.CondaPackage, "noarch"),
}


def test_enum_like_fields_are_typed_and_their_rule_comes_from_the_type() -> None:
    for cls, name in ENUM_FIELDS:
        tp = typing.get_type_hints(cls)[name]
        assert typing.get_origin(tp) is typing.Literal, f"{cls.__name__}.{name} is {tp}"
        assert lockfile.RULES[cls][name].values == typing.get_args(tp)  # written once, in the model


def _lock_with(tmp_path: Path, old: str, new: str) -> Path:
    source = model.Source(kind="archive", url="https://example.org/six-1.16.0.tar.gz")
    text = lockfile.dumps(
        Snapshot(python=model.PythonEnv(packages=(model.PythonPackage("six", "1.16.0", source=source),)))
    )
    assert text.count(old) == 1
    text = text.replace(old, new)
    path = tmp_path / "bad.lock"
    path.write_text(text)
    return path


@pytest.mark.parametrize("command", ["show", "check"])
@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('version = "1.16.0"', 'version = "not a version !!"', "python.packages[0].version"),
        ('kind = "archive"', 'kind = "bogus"', "python.packages[0].source.kind"),
    ],
)
def test_a_lock_with_a_bad_value_is_refused_by_show_and_check(
    tmp_path: Path, cli: Callable[..., Any], command: str, old: str, new: str, field: str
) -> None:
    # Before the model validated, 'show' printed '1 bogus' and 'check' called the lock compatible.
    bad = _lock_with(tmp_path, old, new)
    result = cli(command, bad)
    assert result.code == 2, result
    assert result.out == "" and result.err.count("\n") == 1
    assert result.err.startswith(f"envsnap: error: {bad}: {field}: not a valid "), result


def test_every_spelling_of_a_hash_reads_the_same() -> None:
    from envsnap.grammar import split_hash

    hex64 = "ab" * 32
    assert split_hash(f"sha256:{hex64}") == split_hash(f"sha256={hex64}") == split_hash(hex64) == ("sha256", hex64)
    assert split_hash("cd" * 16) == ("md5", "cd" * 16)
    assert split_hash("") == split_hash("sha256=") == split_hash("sha256:XYZ") == ("", "")
    assert model.Source(
        kind="archive", url="https://e.org/a.tar.gz", archive_hash=f"sha256={hex64}"
    ).archive_digest == ("sha256", hex64)


def test_no_module_parses_the_archive_hash_itself() -> None:
    # Five exporters each split archive_hash at '=' (one of them only when it started with 'sha256=').
    offenders = [
        str(p.relative_to(REPO))
        for p in sorted((REPO / "envsnap").rglob("*.py"))
        if "archive_hash.partition" in p.read_text() or "archive_hash.startswith" in p.read_text()
    ]
    assert not offenders, offenders
