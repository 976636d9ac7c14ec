"""The one-pass check of a lock (``lockfile._fast``) accepts exactly what the path-naming ``_build`` accepts, to
the same snapshot, and a lock it refuses fails with ``_build``'s error; ``envsnap diff``'s cold path reports what
diff of both locks loaded in full and scrubbed reports, byte for byte (docs/design.md, "Diff and verify speed")."""

from __future__ import annotations

import copy
import dataclasses
import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from boundary_samples import rich
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz import BASES, as_toml, leaves, mutated_document, settings_for

from envsnap import _lockcache, lockfile
from envsnap.errors import LockfileError
from envsnap.model import Artifact, Meta, Platform, PythonEnv, PythonPackage, Snapshot, Source


@pytest.fixture
def no_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(_lockcache.ENV, "0")
    lockfile._loads_once.cache_clear()
    yield
    lockfile._loads_once.cache_clear()


def outcome(text: str) -> tuple[str, Any]:
    """What loading ``text`` gives: the snapshot, or the error's message."""
    lockfile._loads_once.cache_clear()
    try:
        return "ok", lockfile.loads(text, origin="x.lock")
    except LockfileError as exc:
        return "error", str(exc)


def slow_outcome(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    """``outcome`` with the one-pass check refusing everything: every lock goes through ``_build``."""

    def refuse(*args: object) -> Any:
        raise lockfile._Refused

    with monkeypatch.context() as m:
        m.setattr(lockfile, "_fast", refuse)
        return outcome(text)


@st.composite
def default_written_out(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """A document with some record's field written at the value ``to_dict`` leaves out (or a field it always
    writes left out): the same lock to the loader, another plain-data form for the digest."""
    doc = copy.deepcopy(base)
    tables = [path for path in leaves(doc) if isinstance(_get(doc, path), dict)]
    for _ in range(draw(st.integers(1, 2))):
        table = _get(doc, draw(st.sampled_from(tables)))
        key = draw(st.sampled_from([*sorted(table), "installer", "requested", "kind", "size", "os_name"]))
        value = draw(st.sampled_from(["", False, 0, [], {}, "index", "pip"]))
        if draw(st.booleans()) and key in table:
            del table[key]
        else:
            table[key] = value
    return doc


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


@settings_for(400)
@given(data=st.data())
def test_the_one_pass_check_accepts_and_refuses_what_the_full_check_does(
    data: st.DataObject, no_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutants of valid locks (hostile and plausible values, dropped, duplicated and added fields, defaults
    written out), some sealed with the digest of their own plain data: the one-pass check gives the full
    check's snapshot or its error, word for word."""
    doc = lockfile.sealed_document(BASES[data.draw(st.sampled_from(sorted(BASES)))])
    mutant = data.draw(st.one_of(mutated_document(doc), default_written_out(doc)))
    text = as_toml(mutant, reseal=data.draw(st.booleans()))
    assert outcome(text) == slow_outcome(text, monkeypatch)


def test_a_lock_as_envsnap_writes_it_is_checked_in_one_pass(
    no_cache: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every table, every kind of field: loaded without ``_build`` and without converting the snapshot back for
    its digest, to the snapshot the full check gives."""
    text = lockfile.dumps(rich())
    wanted = slow_outcome(text, monkeypatch)
    assert wanted[0] == "ok"

    def fail(*args: object, **kwargs: object) -> Any:
        raise AssertionError("the full path was taken")

    with monkeypatch.context() as m:
        m.setattr(lockfile, "_build", fail)
        m.setattr(lockfile, "to_dict", fail)
        assert outcome(text) == wanted


def plain() -> Snapshot:
    """``rich`` with a package and a platform whose fields are mostly at their defaults."""
    snap = rich()
    package = PythonPackage(
        name="zz",
        version="1.0",
        artifact=Artifact(filename="zz-1.0.tar.gz", url="https://e.org/zz.tgz", sha256="ab" * 32),
    )
    return dataclasses.replace(
        snap,
        platform=dataclasses.replace(snap.platform, os_name=""),
        python=dataclasses.replace(snap.python, packages=(*snap.python.packages, package)),
    )


@pytest.mark.parametrize(
    ("table", "key", "value"),
    [
        (("python", "packages", -1), "installer", ""),  # a sparse field at its default
        (("python", "packages", -1), "requested", False),
        (("python", "packages", -1), "wheel_tags", []),
        (("python", "packages", -1), "source", {}),  # a record at its default
        (("python", "packages", -1), "source", {"kind": "index"}),
        (("python", "packages", -1, "artifact"), "size", 0),
        (("platform",), "os_name", None),  # a field always written, left out
    ],
)
def test_a_document_in_another_plain_form_is_digested_as_the_model_writes_it(
    no_cache: None, monkeypatch: pytest.MonkeyPatch, table: tuple[Any, ...], key: str, value: Any
) -> None:
    """A lock sealed with the digest of its own plain data, where that differs from ``to_dict`` of the lock (a
    default written out, a field left out), fails the digest check on both paths; sealed as the model writes
    it, it loads on both."""
    doc = lockfile.sealed_document(plain())
    target = _get(doc, table)
    if value is None:
        del target[key]
    else:
        target[key] = value
    own = as_toml(doc, reseal=True)
    assert outcome(own) == slow_outcome(own, monkeypatch)
    assert outcome(own)[0] == "error" and "content_digest" in outcome(own)[1]
    doc["envsnap"]["content_digest"] = lockfile.sealed_document(plain())["envsnap"]["content_digest"]
    model = as_toml(doc, reseal=False)
    assert outcome(model) == slow_outcome(model, monkeypatch)
    assert outcome(model)[0] == "ok"


# ------------------------------------------------------------------------------------------------------ diff

NAMES = [f"pkg{i}" for i in range(8)]
URLS = [
    "",
    "https://user:secret@git.example.org/r.git",
    "https://git.example.org/r.git",
    "https://files.example.org/x.tar.gz?token=abc",
]


@st.composite
def packages(draw: st.DrawFn) -> tuple[PythonPackage, ...]:
    out = []
    for name in draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=6)):
        version = draw(st.sampled_from(["1.0", "1.0.0", "1.2", "2.0", "2.0rc1", "1.0+cu121", "1!1.0"]))
        url = draw(st.sampled_from(URLS))
        kind = draw(st.sampled_from(["index", "vcs", "archive", "directory"])) if url else "index"
        source = Source(
            kind=kind,  # type: ignore[arg-type]
            url=url if kind != "index" else "",
            vcs="git" if kind == "vcs" else "",
            commit_id=draw(st.sampled_from(["a" * 40, "b" * 40])) if kind == "vcs" else "",
        )
        sha = draw(st.sampled_from(["ab" * 32, "cd" * 32]))
        wheel = f"{name}-{draw(st.sampled_from(['1.0', '2.0']))}-py3-none-any.whl"
        artifact = draw(
            st.sampled_from(
                [
                    None,
                    Artifact(filename=wheel, url=f"https://files.example.org/{wheel}", sha256=sha),
                    Artifact(filename=wheel, url=f"https://u:p@files.example.org/{wheel}?sig=1", sha256=sha),
                ]
            )
        )
        out.append(
            PythonPackage(
                name=name,
                version=version,
                source=source,
                wheel_tags=tuple(draw(st.sampled_from([(), ("py3-none-any",), ("cp311-cp311-linux_x86_64",)]))),
                record_digest=draw(st.sampled_from(["", "sha256:" + "ab" * 32, "sha256:" + "cd" * 32])),
                artifact=artifact,
            )
        )
    return tuple(out)


def lock(packages: tuple[PythonPackage, ...], machine: str, env: dict[str, str]) -> Snapshot:
    return Snapshot(
        envsnap=Meta(generator="envsnap test", created="2026-11-30T00:00:00Z"),
        platform=Platform(system="Linux", machine=machine),
        python=PythonEnv(implementation="cpython", version="3.11.7", packages=packages),
        environment=env,  # type: ignore[arg-type]
    )


def printed(report: Any) -> str:
    from envsnap.cli.diff import print_report

    out = io.StringIO()
    with redirect_stdout(out):
        print_report(report)
    return out.getvalue() + repr(report.to_dict())


@settings_for(150)
@given(
    a=packages(),
    b=packages(),
    machines=st.sampled_from([("x86_64", "x86_64"), ("x86_64", "aarch64")]),
    env=st.sampled_from([{}, {"HF_TOKEN": "secret"}, {"A": "1"}]),
)
def test_diff_of_lock_files_prints_what_the_full_model_path_prints(
    a: tuple[PythonPackage, ...],
    b: tuple[PythonPackage, ...],
    machines: tuple[str, str],
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Random pairs of locks (added, removed, moved, re-sourced and rebuilt packages, secrets in URLs and the
    environment): ``diff_files`` without the cache, filling it and from its views prints what ``diff`` of both
    locks loaded in full, checked and scrubbed prints."""
    from envsnap._privacy import scrub_snapshot
    from envsnap.compare import diff as diff_module

    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    pa = lockfile.dump(lock(a, machines[0], env), folder / "a.lock")
    pb = lockfile.dump(lock(b, machines[1], {}), folder / "b.lock")
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder / "xdg"))
    full: Callable[[Path], Snapshot] = lambda p: scrub_snapshot(lockfile.load(p))  # noqa: E731
    with _lockcache.bypassed():
        lockfile._loads_once.cache_clear()
        wanted = printed(diff_module.diff(full(pa), full(pb)))
    for setting in ("0", "1", "1"):  # cold, filling the views, from them
        monkeypatch.setenv(_lockcache.ENV, setting)
        lockfile._loads_once.cache_clear()
        assert printed(diff_module.diff_files(pa, pb)) == wanted
    assert dataclasses.is_dataclass(diff_module.diff_files(pa, pa))


def test_a_diff_from_the_views_loads_neither_the_model_nor_the_loader(tmp_path: Path) -> None:
    """Two locks seen before are compared from their views: the rest of each lock restored without the model's
    records, so the model, the loader and the grammar are not imported (a third of a warm diff's imports), and
    the report is the one the first, cold, run printed. Run as a program with ``-X importtime``."""
    import os
    import subprocess
    import sys
    import sysconfig

    from envsnap.compare import diff as diff_module

    snap = rich()
    a = lockfile.dump(snap, tmp_path / "a.lock")
    moved = tuple(dataclasses.replace(p, version=p.version + ".1") for p in snap.python.packages)
    b = lockfile.dump(
        dataclasses.replace(snap, python=dataclasses.replace(snap.python, packages=moved)), tmp_path / "b.lock"
    )
    path = os.pathsep.join([str(Path(diff_module.__file__).parents[2]), sysconfig.get_paths()["purelib"]])
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "PYTHONPATH": path, _lockcache.ENV: "1"}
    command = [sys.executable, "-S", "-X", "importtime", "-m", "envsnap", "diff", str(a), str(b)]
    cold = subprocess.run(command, capture_output=True, text=True, env=env)
    warm = subprocess.run(command, capture_output=True, text=True, env=env)
    assert cold.returncode == warm.returncode == 1
    assert warm.stdout == cold.stdout and "changes:" in warm.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in warm.stderr.splitlines() if "|" in line}
    assert "envsnap.compare.diff" in imported
    assert not imported & {"envsnap.model", "envsnap.lockfile", "envsnap.grammar"}
    cold_imported = {line.rsplit("|", 1)[-1].strip() for line in cold.stderr.splitlines() if "|" in line}
    assert "envsnap.lockfile" in cold_imported  # the first run loaded and checked both locks


@pytest.mark.parametrize("rest", [("record", {}), ("record", {"envsnap": ("record", {})}), ("table", {}), [], "x"])
def test_a_view_whose_rest_lacks_fields_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rest: Any
) -> None:
    """A damaged view (a record without the fields diff reads, another shape) gives the report of the locks
    loaded in full, never a traceback."""
    from envsnap import _sealed
    from envsnap.compare.diff import diff_files

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(_lockcache.ENV, "1")
    snap = rich()
    a = lockfile.dump(snap, tmp_path / "a.lock")
    moved = tuple(dataclasses.replace(p, version=p.version + ".1") for p in snap.python.packages)
    b = lockfile.dump(
        dataclasses.replace(snap, python=dataclasses.replace(snap.python, packages=moved)), tmp_path / "b.lock"
    )
    lockfile._loads_once.cache_clear()
    expected = diff_files(a, b)
    views = sorted((tmp_path / "xdg" / "envsnap" / _lockcache.LOCKS_CACHE).glob("*.view"))
    assert len(views) == 2
    for view in views:
        name, (_, rows) = _sealed.unseal(view.read_bytes())
        view.write_bytes(_sealed.seal((name, (rest, rows))))
    lockfile._loads_once.cache_clear()
    assert diff_files(a, b) == expected
