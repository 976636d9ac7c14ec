"""The parsed-lock cache (envsnap/_lockcache.py): a text that loaded once loads again without its parse and checks,
to the same snapshot; it never accepts what the checks refuse, never changes a result and never fails a load."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from boundary_samples import rich

from envsnap import _lockcache, _readlimits, _sealed, lockfile
from envsnap._sealed import seal, unseal
from envsnap.errors import LockfileError
from envsnap.model import Candidate, PythonPackage, Snapshot


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The cache on, in a folder of its own; the in-process memo cleared before and after."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(_lockcache.ENV, "1")
    lockfile._loads_once.cache_clear()
    yield tmp_path / "xdg" / "envsnap" / _lockcache.LOCKS_CACHE
    lockfile._loads_once.cache_clear()


def full() -> Snapshot:
    """Every table, and the records only imports write (candidates), so every kind of field is converted."""
    snap = rich()
    pkg = PythonPackage(
        name="six",
        version="1.17.0",
        candidates=(Candidate(sha256="ab" * 32, filename="six-1.17.0-py2.py3-none-any.whl"),),
    )
    return dataclasses.replace(snap, python=dataclasses.replace(snap.python, packages=(*snap.python.packages, pkg)))


def no_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(_readlimits, "load_toml", refuse)


def test_a_lock_loaded_again_comes_from_the_cache_equal_to_the_checked_one(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = lockfile.dump(full(), tmp_path / "envsnap.lock")
    checked = lockfile.load(path)
    assert len(list(cache.glob("*.doc"))) == 1
    assert cache.stat().st_mode & 0o777 == 0o700
    assert next(cache.glob("*.doc")).stat().st_mode & 0o777 == 0o600
    lockfile._loads_once.cache_clear()  # a new process, as far as the memo knows
    no_parse(monkeypatch)
    again = lockfile.load(path)
    assert again == checked and lockfile.dumps(again) == path.read_text()
    # Every value has the model's type (tuples, read-only mappings), as the checked load gives it.
    assert type(again.python.packages) is tuple and type(again.frameworks) is type(checked.frameworks)
    assert again.python.packages[-1].candidates == checked.python.packages[-1].candidates
    assert again.package("six") == checked.package("six")


def test_the_cache_off_writes_nothing(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_lockcache.ENV, "0")
    lockfile.load(lockfile.dump(full(), tmp_path / "envsnap.lock"))
    assert not cache.exists()


def test_a_text_that_fails_is_never_kept_and_an_edited_one_is_checked_again(cache: Path, tmp_path: Path) -> None:
    good = lockfile.dump(full(), tmp_path / "good.lock")
    lockfile.load(good)
    bad = tmp_path / "bad.lock"
    bad.write_text(good.read_text().replace('version = "3.11.7"', 'version = "3.11.7; rm -rf /"', 1))
    for _ in range(2):
        lockfile._loads_once.cache_clear()
        with pytest.raises(LockfileError, match=r"python\.version: not a valid Python version"):
            lockfile.load(bad)
    assert len(list(cache.glob("*.doc"))) == 1


def test_the_digest_check_is_part_of_the_key(cache: Path, tmp_path: Path) -> None:
    """A text kept from a load without the digest check is checked again when the digest is asked for."""
    text = lockfile.dumps(full()).replace('generator = "envsnap 0.1.0"', 'generator = "envsnap 0.1.1"')
    path = tmp_path / "edited.lock"
    path.write_text(text)
    lockfile.load(path, check_digest=False)
    lockfile._loads_once.cache_clear()
    with pytest.raises(LockfileError, match="content_digest: does not match"):
        lockfile.load(path)


def _damaged(blob: bytes) -> bytes:
    return blob[:4] + bytes([blob[4] ^ 0xFF]) + blob[5:]  # changed after its checksum was taken


@pytest.mark.parametrize(
    "entry",
    [
        lambda key: b"{not marshal",
        lambda key: b"",
        lambda key: b"\x00\x00\x00\x00" + b"[" * 100_000,  # a checksum that does not match
        lambda key: seal((key, {}))[:-3],  # cut short
        lambda key: _damaged(seal((key, {"envsnap": {"schema_version": 1}}))),
        lambda key: seal(("another", {})),
        lambda key: seal((key, [])),
        lambda key: seal((key, ("a", "tuple"))),
        lambda key: seal((key,)),
        lambda key: seal([key, {}]),
        # An entry of the right key whose document is not a lock (garbage written over it): the load said
        # "envsnap.schema_version: missing or not an integer" of a lock that had loaded before
        lambda key: seal((key, {})),
        lambda key: seal((key, {"envsnap": {}})),
        lambda key: seal((key, {"envsnap": {"schema_version": 1}, "python": "x"})),
        lambda key: seal((key, {"envsnap": {"schema_version": 1}, "python": {"packages": 5}})),
    ],
)
def test_a_broken_entry_is_a_miss(cache: Path, tmp_path: Path, entry: Callable[[str], bytes]) -> None:
    path = lockfile.dump(full(), tmp_path / "envsnap.lock")
    expected = lockfile.load(path)
    (name,) = (p.name for p in cache.glob("*.doc"))
    key = name.removesuffix(".doc")
    (cache / name).write_bytes(entry(key))
    lockfile._loads_once.cache_clear()
    assert lockfile.load(path) == expected
    kept = unseal((cache / name).read_bytes())
    assert type(kept) is tuple and kept[0] == key and kept[1]["envsnap"]["schema_version"] == 1  # written anew


def test_a_folder_others_may_write_is_not_used(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = lockfile.dump(full(), tmp_path / "envsnap.lock")
    lockfile.load(path)
    cache.chmod(0o777)
    lockfile._loads_once.cache_clear()
    no_parse(monkeypatch)
    with pytest.raises(AssertionError, match="parsed again"):
        lockfile.load(path)


def test_an_entry_others_may_write_is_not_read(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry planted while the folder was open to others outlives its ``chmod 700``: the entry itself (the
    parsed document, or a marshal view, which is not made for a stranger's bytes) must be the user's own and
    writable by nobody else."""
    path = lockfile.dump(full(), tmp_path / "envsnap.lock")
    lockfile.load(path)
    _lockcache.put_view("v" * 64, (("a", "1"),))
    assert _lockcache.get_view("v" * 64) == (("a", "1"),)
    for entry in cache.iterdir():
        entry.chmod(0o666)
    assert _lockcache.get_view("v" * 64) is None
    lockfile._loads_once.cache_clear()
    no_parse(monkeypatch)
    with pytest.raises(AssertionError, match="parsed again"):
        lockfile.load(path)


def test_an_entry_of_another_envsnap_state_is_not_read(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = lockfile.dump(full(), tmp_path / "envsnap.lock")
    text = path.read_text()
    before = _lockcache.key(text, check_digest=True)
    monkeypatch.setattr(_lockcache, "_code_state", lambda: "envsnap 9.9 with another grammar")
    assert _lockcache.key(text, check_digest=True) != before
    assert _lockcache.key(text, check_digest=False) != _lockcache.key(text, check_digest=True)


def test_only_the_newest_entries_are_kept(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lockcache, "MAX_ENTRIES", 3)
    snap = full()
    for i in range(5):
        meta = dataclasses.replace(snap.envsnap, generator=f"envsnap 0.1.{i}")
        lockfile.load(lockfile.dump(dataclasses.replace(snap, envsnap=meta), tmp_path / f"{i}.lock"))
    assert len(list(cache.glob("*.doc"))) == 3


def test_an_unwritable_cache_never_fails_a_load(cache: Path, tmp_path: Path) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_text("a file where the folder should be")
    snap = lockfile.load(lockfile.dump(full(), tmp_path / "envsnap.lock"))
    assert snap.python.version == "3.11.7"


def test_diff_says_the_same_from_the_cache(
    cache: Path, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = full()
    a = lockfile.dump(snap, tmp_path / "a.lock")
    moved = tuple(dataclasses.replace(p, version=p.version + ".1") for p in snap.python.packages)
    b = lockfile.dump(
        dataclasses.replace(snap, python=dataclasses.replace(snap.python, packages=moved)), tmp_path / "b.lock"
    )
    outputs = []
    for setting in ("0", "1", "1"):  # checked, checked and kept, from the cache
        monkeypatch.setenv(_lockcache.ENV, setting)
        lockfile._loads_once.cache_clear()
        outputs.append((cli("diff", a, b).out, cli("diff", a, b, "--json").out))
    assert outputs[0] == outputs[1] == outputs[2]
    assert "changes:" in outputs[0][0]
    # What the third pair read: each lock's view (a diff keeps no parsed document: tests/compare/test_diff_cache.py).
    assert len(list(cache.glob("*.view"))) == 2 and list(cache.glob("*.doc")) == []


@pytest.mark.parametrize("command", ["verify", "check"])
def test_no_cache_neither_reads_nor_writes_the_lock_cache(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], command: str
) -> None:
    import sys

    path = lockfile.dump(full(), tmp_path / "envsnap.lock")
    looked_up: list[str] = []
    real_get = _lockcache.get
    monkeypatch.setattr(_lockcache, "get", lambda name: looked_up.append(name) or real_get(name))
    result = cli(command, path, "--python", sys.executable, "--no-cache", "--json")
    assert result.code in (0, 1, 3), result
    assert looked_up == [] and not cache.exists()
    # Without it, the same command reads and keeps the lock's parse (so the test above can see a difference).
    lockfile._loads_once.cache_clear()
    result = cli(command, path, "--python", sys.executable, "--json")
    assert result.code in (0, 1, 3), result
    assert len(looked_up) == 1 and len(list(cache.glob("*.doc"))) == 1
    assert _lockcache.enabled()  # the flag's scope ended with its command


def test_the_library_verify_without_cache_bypasses_the_lock_cache(cache: Path, tmp_path: Path) -> None:
    import sys

    from envsnap.compare.verify import verify

    path = lockfile.dump(full(), tmp_path / "envsnap.lock")
    verify(path, sys.executable, cache=False)
    assert not cache.exists()


# ------------------------------------------------------------------------------------ diff's view of a lock


def _variants() -> dict[str, Snapshot]:
    """Locks that differ from ``full()`` in each way diff tells apart, and in ways it does not compare."""
    from envsnap.model import Artifact, Source

    base = full()

    def packages(change: Callable[[PythonPackage], PythonPackage]) -> Snapshot:
        moved = tuple(change(p) for p in base.python.packages)
        return dataclasses.replace(base, python=dataclasses.replace(base.python, packages=moved))

    def signed(p: PythonPackage, token: str) -> PythonPackage:
        if p.artifact is None:
            return p
        url = f"{p.artifact.url}?X-Amz-Signature={token}"
        return dataclasses.replace(p, artifact=dataclasses.replace(p.artifact, url=url))

    return {
        "same": base,
        "versions": packages(lambda p: dataclasses.replace(p, version=p.version + ".1")),
        "sources": packages(
            lambda p: (
                dataclasses.replace(p, source=Source(kind="archive", url="https://u:pw@files.example.org/x.whl"))
                if p.source.kind == "index"
                else p
            )
        ),
        "tags and files": packages(
            lambda p: dataclasses.replace(p, wheel_tags=("py2-none-any",), record_digest="sha256:" + "12" * 32)
        ),
        "artifacts": packages(
            lambda p: dataclasses.replace(
                p,
                artifact=Artifact(
                    filename=f"{p.name.replace('-', '_')}-{p.version}-py3-none-any.whl",
                    url=f"https://files.example.org/{p.name.replace('-', '_')}-{p.version}.whl",
                    sha256="34" * 32,
                ),
            )
        ),
        "fewer": dataclasses.replace(base, python=dataclasses.replace(base.python, packages=base.python.packages[1:])),
        # A signature is a secret, scrubbed on both sides: the same lock to diff, though their texts differ.
        "signed": packages(lambda p: signed(p, "abc")),
        "signed again": packages(lambda p: signed(p, "def")),
        # A field no comparison looks at (the generator was one, until diff read it as how the lock was made).
        "uncompared": packages(lambda p: dataclasses.replace(p, requested=not p.requested)),
        "imported": dataclasses.replace(
            base, envsnap=dataclasses.replace(base.envsnap, origin="requirements", unknown=("system",))
        ),
    }


def test_diff_of_lock_files_is_the_diff_of_the_scrubbed_locks_from_the_cache_too(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``diff_files`` (what ``envsnap diff`` runs) reports what ``diff`` of both locks loaded, checked and scrubbed
    reports, with the cache off, while it fills it, and from the views it kept."""
    from envsnap._privacy import scrub_snapshot
    from envsnap.compare import diff as diff_module

    paths = {name: lockfile.dump(snap, tmp_path / f"{i}.lock") for i, (name, snap) in enumerate(_variants().items())}
    pairs = [(a, b) for a in paths for b in paths]

    def expected(a: str, b: str) -> Any:
        with _lockcache.bypassed():
            return diff_module.diff(scrub_snapshot(lockfile.load(paths[a])), scrub_snapshot(lockfile.load(paths[b])))

    wanted = {pair: expected(*pair) for pair in pairs}
    assert not cache.exists()
    monkeypatch.setenv(_lockcache.ENV, "0")
    assert all(diff_module.diff_files(paths[a], paths[b]) == wanted[a, b] for a, b in pairs)
    assert not cache.exists()
    monkeypatch.setenv(_lockcache.ENV, "1")
    for a, b in pairs:  # filling the cache
        lockfile._loads_once.cache_clear()
        assert diff_module.diff_files(paths[a], paths[b]) == wanted[a, b], (a, b)
    assert len(list(cache.glob("*.view"))) == len(paths)
    # From the views: no package is built or scrubbed, where some package differs.
    loads = lockfile.loads
    monkeypatch.setattr(lockfile, "loads", lambda *args, **kwargs: pytest.fail("loaded in full"))
    for a, b in pairs:
        if wanted[a, b].changes and wanted[a, b].changes[0].area != "lock":
            assert diff_module.diff_files(paths[a], paths[b]) == wanted[a, b], (a, b)
    monkeypatch.setattr(lockfile, "loads", loads)
    for a, b in pairs:
        lockfile._loads_once.cache_clear()
        assert diff_module.diff_files(paths[a], paths[b]) == wanted[a, b], (a, b)
    # The paths where a full load is still needed were taken: a pair alike but for secrets, one alike but for
    # a field no comparison looks at.
    assert wanted["signed", "signed again"].identical and wanted["same", "signed"].identical
    assert [c.area for c in wanted["same", "uncompared"].changes] == ["lock"]
    assert {c.kind for c in wanted["same", "tags and files"].changes} == {"build"}


@pytest.mark.parametrize(
    "entry",
    [
        b"",
        b"not marshal",
        b"\xff" * 10,
        b"[\xff\xff\xff\x7f",  # a list of two billion items, as a damaged file can claim
        "marshal:KEY",
        "marshal:other",
        "marshal:shape",
        "marshal:rows",
        "unsealed",
        "damaged",
    ],
)
def test_a_broken_view_is_a_miss(cache: Path, tmp_path: Path, entry: bytes | str) -> None:
    """A view that is not what this command kept, in shape, key or bytes, is a miss, never a wrong diff. A byte
    changed on disk can leave valid marshal data with another value in it: the checksum makes it a miss."""
    import marshal

    from envsnap.compare.diff import diff_files

    a = lockfile.dump(full(), tmp_path / "a.lock")
    b = lockfile.dump(_variants()["versions"], tmp_path / "b.lock")
    expected = diff_files(a, b)
    views = sorted(cache.glob("*.view"))
    assert len(views) == 2
    for number, view in enumerate(views):
        name = view.name.removesuffix(".view")
        kept = view.read_bytes()
        assert b"6.1.0-18-amd64" in kept
        blob = {
            "marshal:KEY": _sealed.seal((name, {"envsnap": {}})),
            "marshal:other": _sealed.seal(("other", _sealed.unseal(kept)[1])),
            "marshal:shape": _sealed.seal((name, (1, 2, 3))),
            "marshal:rows": _sealed.seal((name, (_sealed.unseal(kept)[1][0], ((1, 2),)))),
            "unsealed": marshal.dumps(_sealed.unseal(kept)),
            # One lock's kernel, changed in its view's bytes: still a valid marshal of another lock.
            "damaged": kept.replace(b"6.1.0-18-amd64", b"6.1.0-19-amd64") if number == 0 else kept,
        }.get(entry, entry)
        assert isinstance(blob, bytes)
        view.write_bytes(blob)
    lockfile._loads_once.cache_clear()
    assert diff_files(a, b) == expected
    assert all(_sealed.unseal(view.read_bytes())[0] == view.name.removesuffix(".view") for view in views)


def test_a_view_is_keyed_on_the_code_that_derives_it(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = lockfile.dumps(full())
    view = _lockcache.key(text, check_digest=True, view="diff", deciding=("compare/diff.py", "_privacy.py"))
    assert view != _lockcache.key(text, check_digest=True)
    assert view != _lockcache.key(text, check_digest=True, view="diff", deciding=("compare/diff.py",))
    assert view != _lockcache.key(text, check_digest=True, view="verify", deciding=("compare/diff.py", "_privacy.py"))
    monkeypatch.setattr(_lockcache, "_modules_state", lambda names: "an edited compare/diff.py")
    assert view != _lockcache.key(text, check_digest=True, view="diff", deciding=("compare/diff.py", "_privacy.py"))


def test_diff_errors_are_the_loaders(cache: Path, tmp_path: Path, cli: Callable[..., Any]) -> None:
    """A bad lock on either side fails as ``lockfile.load`` fails, the first side's error first."""
    good = lockfile.dump(full(), tmp_path / "good.lock")
    bad = tmp_path / "bad.lock"
    bad.write_text("[envsnap]\nschema_version = 99\n")
    missing = tmp_path / "missing.lock"
    for a, b, expected in ((bad, good, "bad.lock"), (good, bad, "bad.lock"), (bad, missing, "bad.lock")):
        for _ in range(2):  # the good lock's view kept by the first run
            result = cli("diff", a, b)
            assert result.code == 2 and expected in result.err and "Traceback" not in result.err, result


def test_a_cache_entry_is_written_without_fsync_and_a_lock_with_it(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache entry saves time only (it is checked when read, and a torn one is a miss): it is renamed into place
    without waiting for the disk; a lock is flushed to the disk before its rename."""
    import os

    synced: list[int] = []
    fsync = os.fsync

    def counted(fd: int) -> None:
        synced.append(fd)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", counted)
    path = lockfile.dump(full(), tmp_path / "envsnap.lock")
    assert len(synced) == 1
    lockfile.load(path)
    assert len(list(cache.glob("*.doc"))) == 1 and len(synced) == 1


# Modules a load imports whose code decides neither whether a text loads nor what it loads to.
_NOT_DECIDING = {
    "envsnap",  # the package's own start
    "envsnap._cachedir",  # where the cache is
    "envsnap._defaults",  # where caches are, and whether they are bypassed
    "envsnap._frozen",  # how a record class is made (tests/test_frozen.py)
    "envsnap._gcpause",  # the collector paused during a load
    "envsnap._lazyre",  # when a pattern compiles
    "envsnap._locktext",  # reading a file's text
    "envsnap._sealed",  # the cache entries' own seal
    "envsnap._version",  # in the key already
    "envsnap.errors",
}


def test_every_module_a_load_imports_is_in_the_cache_key_or_decides_nothing(tmp_path: Path) -> None:
    """A cached document is keyed on the code that decided it (``_lockcache._DECIDING``): a module the checks use
    and the key leaves out (the interpreter facts' series, read by ``platforms``) would keep an old verdict."""
    import os
    import subprocess
    import sys

    lock = tmp_path / "x.lock"
    lockfile.dump(full(), lock)
    code = (
        "import sys; from envsnap import lockfile; lockfile.load(sys.argv[1]); "
        "print(' '.join(m for m in sys.modules if m.split('.')[0] == 'envsnap'))"
    )
    env = {**os.environ, "ENVSNAP_LOCK_CACHE": "0"}
    loaded = subprocess.run(
        [sys.executable, "-c", code, str(lock)], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    deciding = {"envsnap." + name.removesuffix(".py").replace("/", ".") for name in _lockcache._DECIDING}
    assert "envsnap.lockfile" in loaded
    assert sorted(set(loaded) - deciding - _NOT_DECIDING) == []
