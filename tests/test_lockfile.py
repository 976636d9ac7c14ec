from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testutil import sample_lock, sample_platform, sample_python, unchecked_lock_text

from envsnap import lockfile
from envsnap.errors import LockfileError
from envsnap.model import (
    Artifact,
    Cpu,
    Hardware,
    Meta,
    Project,
    PythonPackage,
    Snapshot,
    Source,
    System,
    SystemLibrary,
    SystemPackage,
)


def sample() -> Snapshot:
    return sample_lock(
        envsnap=Meta(generator="envsnap test", created="2026-01-02T03:04:05Z"),
        platform=sample_platform(os_name="Debian GNU/Linux 12 (bookworm)", kernel="6.1.0"),
        python=sample_python(
            executable="bin/python",
            packages=(
                PythonPackage(
                    name="numpy",
                    version="2.1.0",
                    installer="pip",
                    requested=True,
                    wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",),
                    record_digest="sha256:" + "ab" * 32,
                ),
                PythonPackage(
                    name="mylib",
                    version="0.1",
                    installer="uv",
                    source=Source(kind="vcs", url="https://example.org/mylib.git", vcs="git", commit_id="0" * 40),
                    artifact=Artifact(
                        filename="mylib-0.1-py3-none-any.whl",
                        url="file:///w/x.whl",
                        sha256="cd" * 32,
                        size=10,
                        rebuilt=True,
                    ),
                ),
            ),
        ),
        system=System(
            manager="dpkg",
            packages=(
                SystemPackage(manager="dpkg", name="libc6", version="2.36-9", arch="amd64", needed_by=("numpy",)),
            ),
            libraries=(
                SystemLibrary(
                    soname="libc.so.6", path="/lib/x86_64-linux-gnu/libc.so.6", package="libc6", needed_by=("numpy",)
                ),
            ),
        ),
        hardware=Hardware(
            memory_mib=1024,
            cpu=Cpu(vendor="GenuineIntel", model="Xeon", arch="x86_64", logical_cores=2, flags=("avx", "avx2")),
        ),
        environment={"OMP_NUM_THREADS": "1"},
        project=Project(commit="a" * 40, branch="main", dirty=False, remote_url="https://example.org/p.git"),
    )


def test_round_trip_is_exact(tmp_path: Path) -> None:
    snap = sample()
    path = lockfile.dump(snap, tmp_path / "envsnap.lock")
    loaded = lockfile.load(path)
    assert loaded == lockfile.seal(snap)
    assert lockfile.dumps(loaded) == path.read_text()


def test_same_content_same_bytes_apart_from_created() -> None:
    a = sample()
    b = dataclasses.replace(a, envsnap=dataclasses.replace(a.envsnap, created="2030-01-01T00:00:00Z"))
    text_a, text_b = lockfile.dumps(a), lockfile.dumps(b)
    strip = lambda t: "\n".join(line for line in t.splitlines() if not line.startswith("created"))  # noqa: E731
    assert strip(text_a) == strip(text_b)
    assert lockfile.seal(a).envsnap.content_digest == lockfile.seal(b).envsnap.content_digest


def test_defaults_are_left_out_of_repeated_records() -> None:
    text = lockfile.dumps(sample())
    # numpy's source is the index (the default): no [python.packages.source] table for it.
    numpy_block = text.split('name = "numpy"')[1].split("[[")[0]
    assert "source" not in numpy_block and "editable" not in numpy_block


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('version = "2.1.0"', "version = 2", "python.packages[0].version: expected a string, got an integer"),
        ("memory_mib = 1024", 'memory_mib = "lots"', "hardware.memory_mib: expected an integer, got a string"),
        ("dirty = false", 'dirty = "no"', "project.dirty: expected a boolean, got a string"),
        ('soname = "libc.so.6"', 'sonam = "libc.so.6"', "system.libraries[0].sonam: unknown field"),
        ('kind = "vcs"', "kind = [1]", "python.packages[1].source.kind: expected a string, got an array"),
    ],
)
def test_invalid_field_is_named_by_path_and_file(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = lockfile.dumps(sample())
    assert old in text
    bad = tmp_path / "bad.lock"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(LockfileError) as err:
        lockfile.load(bad, check_digest=False)
    assert str(err.value) == f"{bad}: {message}"


def test_a_field_a_newer_envsnap_added_says_to_upgrade(tmp_path: Path) -> None:
    """A lock of a newer envsnap that added a field within schema 1 read only "envsnap.future_field: unknown
    field": a reviewer could not tell a newer writer from a damaged file."""
    text = lockfile.dumps(sample())
    newer = text.replace('generator = "', 'future_field = "x"\ngenerator = "', 1)
    for generator, hint in (("envsnap 9.0.0", True), ("envsnap 0.0.1", False), ("other-tool 9.0", False)):
        bad = tmp_path / "bad.lock"
        bad.write_text(re.sub(r'generator = "[^"]*"', f'generator = "{generator}"', newer, count=1))
        with pytest.raises(LockfileError) as err:
            lockfile.load(bad, check_digest=False)
        said = str(err.value)
        assert said.startswith(f"{bad}: envsnap.future_field: unknown field"), said
        assert said.endswith("written by envsnap 9.0.0, newer than this one (0.1.0): upgrade envsnap") == hint, said


def test_missing_required_field(tmp_path: Path) -> None:
    text = lockfile.dumps(sample()).replace('name = "libc6"\n', "", 1)
    bad = tmp_path / "bad.lock"
    bad.write_text(text)
    with pytest.raises(LockfileError, match=r"system\.packages\[0\]\.name: required field is missing"):
        lockfile.load(bad, check_digest=False)


def test_newer_schema_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "future.lock"
    bad.write_text(lockfile.dumps(sample()).replace("schema_version = 1", "schema_version = 7"))
    with pytest.raises(LockfileError, match="schema_version: 7 is newer than this envsnap understands"):
        lockfile.load(bad)


def test_older_schema_is_migrated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from envsnap import model

    def rename_field(doc: dict[str, object]) -> dict[str, object]:
        doc = dict(doc)
        doc["envsnap"] = {**doc["envsnap"], "schema_version": 2}  # type: ignore[dict-item]
        return doc

    monkeypatch.setattr(lockfile, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(model, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(lockfile.MIGRATIONS, 1, rename_field)
    # The same text is parsed before and after this test under the schema it replaces: the memo holds one snapshot
    # per text, whatever file the text is read from.
    lockfile._loads_once.cache_clear()
    old = tmp_path / "old.lock"
    old.write_text(lockfile.dumps(sample()))
    try:
        assert lockfile.load(old).envsnap.schema_version == 2
    finally:
        lockfile._loads_once.cache_clear()


def test_tampering_is_detected(tmp_path: Path) -> None:
    path = lockfile.dump(sample(), tmp_path / "envsnap.lock")
    path.write_text(path.read_text().replace('version = "2.1.0"', 'version = "2.1.1"'))
    with pytest.raises(LockfileError, match="content_digest: does not match the content") as error:
        lockfile.load(path)
    # It said only "(the file was edited or corrupted after capture)": what to do is said too.
    assert str(error.value) == (
        f"{path}: envsnap.content_digest: does not match the content (the file was edited or corrupted after "
        "capture): restore the file as envsnap wrote it, or make the lock again (envsnap capture, or import)"
    )
    assert lockfile.load(path, check_digest=False).python.packages[0].version == "2.1.1"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("this is = not [toml", "not valid TOML"),
        ("[platform]\nsystem = 'Linux'\n", "envsnap: missing table (is this an envsnap lockfile?)"),
        ("[envsnap]\nschema_version = 'one'\n", "envsnap.schema_version: missing or not an integer"),
    ],
)
def test_not_a_lockfile(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.lock"
    path.write_text(content)
    with pytest.raises(LockfileError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        lockfile.load(path)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(LockfileError, match="no such lockfile"):
        lockfile.load(tmp_path / "nope.lock")
    binary = tmp_path / "bin.lock"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(LockfileError, match="not a text file"):
        lockfile.load(binary)


def test_interrupted_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "envsnap.lock"
    path.write_text("previous content\n")

    def fail(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        lockfile.dump(sample(), path)
    assert path.read_text() == "previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["envsnap.lock"]  # no temp file left behind


def test_writing_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "store" / "paper.lock"
    real.parent.mkdir()
    real.write_text("previous content\n")
    link = tmp_path / "envsnap.lock"
    link.symlink_to(real)
    lockfile.dump(sample(), link)
    assert link.is_symlink() and lockfile.load(link) == lockfile.load(real)
    assert sorted(p.name for p in real.parent.iterdir()) == ["paper.lock"]


def test_a_pipe_or_device_is_written_to_not_replaced(tmp_path: Path) -> None:
    # ``-o /dev/stdout`` or ``-o /dev/null``: renaming over the node would replace it with a plain file (as root,
    # /dev/null itself). A FIFO stands in for the device; a link to it for /dev/stdout.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "stdout"
    link.symlink_to(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    lockfile.dump(sample(), link)
    reader.join(timeout=10)
    assert received and lockfile.loads(received[0].decode()) == lockfile.seal(sample())
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe", "stdout"]


def test_unwritable_destination_is_a_lockfile_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    with pytest.raises(LockfileError, match="cannot write"):
        lockfile.dump(sample(), tmp_path / "afile" / "envsnap.lock")  # a path through a file
    # A folder not made yet is made (pin -o new/x.lock refused it after all its work).
    lockfile.dump(sample(), tmp_path / "no-such-dir" / "sub" / "envsnap.lock")
    assert lockfile.load(tmp_path / "no-such-dir" / "sub" / "envsnap.lock") == lockfile.seal(sample())


names = st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,5})?", fullmatch=True)
versions = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}(\+[a-z0-9]{1,6})?", fullmatch=True)
# Any text a lock may hold: no control characters (the loader refuses those, tests/security).
text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
# An installer's name is printable ASCII (the packaging spec), refused otherwise (tests/security).
installers = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    pkgs=st.lists(st.tuples(names, versions, st.booleans(), installers), max_size=8, unique_by=lambda t: t[0]),
    env=st.dictionaries(st.from_regex(r"[A-Z][A-Z_]{0,10}", fullmatch=True), text, max_size=4),
)
def test_any_snapshot_round_trips(pkgs: list[tuple[str, str, bool, str]], env: dict[str, str]) -> None:
    base = sample()
    packages = tuple(
        PythonPackage(
            name=n,
            version=v,
            requested=r,
            installer=i,
            source=Source(kind="directory", url=f"file:///src/{n}", editable=r),
        )
        for n, v, r, i in sorted(pkgs)
    )
    snap = dataclasses.replace(base, python=dataclasses.replace(base.python, packages=packages), environment=env)
    assert lockfile.loads(lockfile.dumps(snap)) == lockfile.seal(snap)


def test_replacing_a_lock_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "private.lock"
    path.write_text("old\n")
    path.chmod(0o600)
    lockfile.dump(sample(), path)
    assert path.stat().st_mode & 0o777 == 0o600
    new = lockfile.dump(sample(), tmp_path / "new.lock")
    assert new.stat().st_mode & 0o777 == 0o644


def _deb_pinned(**fields: object) -> Snapshot:
    snap = sample()
    pkg = dataclasses.replace(snap.system.packages[0], **fields)  # type: ignore[arg-type]
    return dataclasses.replace(snap, system=dataclasses.replace(snap.system, packages=(pkg,)))


def test_a_system_package_pinned_by_hash_round_trips_and_unpinned_ones_stay_as_they_were(tmp_path: Path) -> None:
    plain = lockfile.dumps(sample())
    assert "filename" not in plain.split("[[system.packages]]")[1].split("[[")[0]  # no empty new fields
    pinned = _deb_pinned(
        filename="libc6_2.36-9_amd64.deb",
        size=2_000_000,
        sha256="ef" * 32,
        url="https://snapshot.example/archive/debian/20230101T000000Z/pool/main/g/glibc/libc6_2.36-9_amd64.deb",
    )
    path = lockfile.dump(pinned, tmp_path / "envsnap.lock")
    loaded = lockfile.load(path)
    assert loaded.system.packages[0].sha256 == "ef" * 32 and loaded.system.packages[0].size == 2_000_000
    assert lockfile.dumps(loaded) == path.read_text()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"filename": "../../etc/passwd"}, r"system\.packages\[0\]\.filename: not a valid Debian package file"),
        ({"filename": "libc6-2.36.whl"}, r"system\.packages\[0\]\.filename: not a valid Debian package file"),
        ({"sha256": "ZZ"}, r"system\.packages\[0\]\.sha256: not a valid sha256"),
        ({"url": "javascript:alert(1)"}, r"system\.packages\[0\]\.url: not a valid URL"),
        ({"size": -1}, r"system\.packages\[0\]\.size: not a valid number"),
    ],
)
def test_a_system_package_hash_field_is_checked_by_its_grammar(
    tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    bad = tmp_path / "bad.lock"
    bad.write_text(unchecked_lock_text(_deb_pinned(**fields)))
    with pytest.raises(LockfileError, match=message):
        lockfile.dumps(_deb_pinned(**fields))  # nor is such a lock written
    with pytest.raises(LockfileError, match=message):
        lockfile.load(bad, check_digest=False)


def test_the_same_lock_text_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild loads the bundle's lock for its plan, its execution and its installer: parsed once (issue 19),
    the same immutable snapshot handed out; another text, or a failing one, is never served from the memo."""
    parsed: list[str] = []
    build = lockfile.from_document

    def counting(data: object, *, origin: str = "<data>", check_digest: bool = True) -> Snapshot:
        parsed.append(origin)
        return build(data, origin=origin, check_digest=check_digest)  # type: ignore[arg-type]

    monkeypatch.setattr(lockfile, "from_document", counting)
    lockfile._loads_once.cache_clear()  # the same text loaded by an earlier test, from another file, is served
    path = tmp_path / "a.lock"
    lockfile.dump(sample(), path)
    first = lockfile.load(path)
    assert lockfile.load(path) is first and lockfile.load(str(path)) is first
    assert parsed == [str(path)]
    changed = dataclasses.replace(sample(), python=dataclasses.replace(sample().python, version="3.11.8"))
    lockfile.dump(changed, path)
    assert lockfile.load(path).python.version == "3.11.8"
    assert len(parsed) == 2
    path.write_text(path.read_text().replace('version = "3.11.8"', 'version = "not a version"'))
    for _ in range(2):
        with pytest.raises(LockfileError):
            lockfile.load(path)


def test_package_lookup_is_indexed_once_per_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Snapshot.package`` answers from an index by canonical name built once (a bundle asked it for every
    package, walking the whole list each time); the first package of a name wins, as the walk found it."""
    lock = sample()
    first = lock.python.packages[0]
    assert lock.package(first.name.upper()) is first
    assert lock.package("no-such-package") is None
    index = lock._packages_by_name
    assert lock.package(first.name) is first and lock._packages_by_name is index
    replaced = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=lock.python.packages[1:]))
    assert replaced.package(first.name) is None


# ------------------------------------------------------------------------ re-capture of an unchanged environment


def _recaptured(snapshot: Snapshot) -> Snapshot:
    """The same environment captured again, a minute later."""
    return dataclasses.replace(snapshot, envsnap=dataclasses.replace(snapshot.envsnap, created="2026-12-01T00:01:00Z"))


def test_the_same_lock_is_left_alone_without_parsing_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "envsnap.lock"
    lockfile.dump(sample(), path)
    before = path.read_bytes()

    def parse(*args: object, **kwargs: object) -> Snapshot:
        raise AssertionError("the unchanged lock was parsed")

    monkeypatch.setattr(lockfile, "load", parse)
    assert lockfile.dump_if_changed(_recaptured(sample()), path) is False
    assert path.read_bytes() == before


def test_other_text_of_the_same_lock_is_parsed_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "envsnap.lock"
    path.write_text("# kept by hand\n" + lockfile.dumps(sample()))
    before = path.read_bytes()
    assert lockfile.dump_if_changed(_recaptured(sample()), path) is False
    assert path.read_bytes() == before


def test_the_same_lock_with_an_invalid_created_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "envsnap.lock"
    text = lockfile.dumps(sample())
    created = sample().envsnap.created
    assert created and f'created = "{created}"' in text
    path.write_text(text.replace(f'created = "{created}"', 'created = "yesterday"'))
    assert lockfile.dump_if_changed(_recaptured(sample()), path) is True
    assert lockfile.load(path).envsnap.created == "2026-12-01T00:01:00Z"


def test_the_conda_lock_export_leaves_envsnap_its_own_tomli() -> None:
    """conda-lock's vendored poetry-core puts its _vendor folder first on sys.path: a process that exported a
    conda-lock file and then read a lock got conda-lock's tomli 2.2 (TOML 1.0, pure Python), not envsnap's reader."""
    import subprocess
    import sys

    code = (
        "import envsnap.export.conda_lock\n"
        "import conda_lock.lockfile.v2prelim.models\n"
        "import tomli\n"
        "from envsnap import _toml\n"
        "print(tomli.__file__, _toml.tomllib is tomli)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "_vendor" not in out[0] and out[1] == "True", out


def test_every_install_reads_a_lock_with_tomli_so_toml_1_1_loads_alike(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """tomli 2.4+ reads TOML 1.1, which the standard library's tomllib refuses before Python 3.15: with a tomllib
    fallback the same lock loaded or failed by which reader was installed. tomli (>= 2.4) is the one reader
    (docs/design.md, docs/security.md); an install without it is told so in one line."""
    import importlib
    import re
    import sys

    import tomli

    from envsnap import _toml
    from envsnap.cli import main

    assert _toml.tomllib is tomli
    text = lockfile.dumps(sample())
    head, rest = text.split("\n\n", 1)
    assert head.startswith("[envsnap]\n")
    # TOML 1.1: an inline table over several lines, with a trailing comma
    inline = "envsnap = {\n" + "".join(f"  {line},\n" for line in head.splitlines()[1:]) + "}\n\n" + rest
    assert lockfile.loads(inline) == lockfile.loads(text)
    # TOML 1.1's \e escape reaches a field's control-character rule like \u001b: it carries nothing more
    os_name = re.search(r'\nos_name = "[^"\n]*"', text)
    assert os_name is not None
    for escape in ("\\e", "\\u001b"):
        with pytest.raises(LockfileError, match=r"platform.os_name: not a valid text \(no control characters"):
            lockfile.loads(text.replace(os_name.group(0), f'\nos_name = "{escape}[2J"', 1))
    # A lock outside what the fast reader takes (docs/security.md), so that tomli must read it.
    path = tmp_path / "envsnap.lock"
    path.write_text(inline, encoding="utf-8")
    monkeypatch.setenv("ENVSNAP_LOCK_CACHE", "0")
    monkeypatch.setitem(sys.modules, "tomli", None)  # not installed (pip --no-deps)
    monkeypatch.delitem(sys.modules, "envsnap._toml")
    try:
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("envsnap._toml")  # no fallback to a reader of another TOML
        lockfile._loads_once.cache_clear()
        assert main(["show", str(path)]) != 0
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "tomli, which envsnap needs, is not installed" in err, err
    finally:
        monkeypatch.undo()
        lockfile._loads_once.cache_clear()
    assert importlib.reload(_toml).tomllib is tomli


def _canonical_json_digest(doc: object) -> str:
    """The content digest's definition (docs/lockfile.md): sha256 of the document's JSON with sorted keys, no
    spaces, characters outside ASCII as themselves, UTF-8."""
    import hashlib

    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


_JSON_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["\\u0041", "é", "\\", "u", "\x00", "\x7f", "☃", "𝄞", "a\\ub"]
)
_JSON_DOCS = st.recursive(
    st.none() | st.booleans() | st.integers() | _JSON_TEXT | st.floats(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_JSON_TEXT, inner, max_size=4),
    max_leaves=20,
)
# A long array is written a piece at a time: arrays longer than a piece, and around its length.
# Arrays across piece boundaries, of a few documents repeated: drawing each of 770 items made inputs too large for
# Hypothesis's health check on a loaded machine (the length and the cut points are what is tested).
_LONG_ARRAYS = st.tuples(
    st.integers(0, 3 * lockfile._PIECE_ITEMS + 2), st.lists(_JSON_DOCS, min_size=1, max_size=4)
).map(lambda drawn: (drawn[1] * (drawn[0] // len(drawn[1]) + 1))[: drawn[0]])


@given(_JSON_DOCS)
@settings(max_examples=300, deadline=None)
def test_json_digest_is_the_canonical_form_whatever_the_text(doc: object) -> None:
    # json_digest writes ASCII first, for speed: a character outside ASCII, an escaped control character or a
    # backslash before "u" must still give the digest of the canonical (UTF-8, not escaped) form.
    assert lockfile.json_digest({"d": doc}) == _canonical_json_digest({"d": doc})


@given(st.dictionaries(_JSON_TEXT, st.dictionaries(_JSON_TEXT, _LONG_ARRAYS | _JSON_DOCS, max_size=3), max_size=3))
@settings(max_examples=60, deadline=None)
def test_json_digest_in_pieces_is_the_digest_of_the_whole(doc: dict[str, object]) -> None:
    # Tables near the top key by key, long arrays a piece at a time: the bytes hashed are the whole text's.
    assert lockfile.json_digest({"python": doc}) == _canonical_json_digest({"python": doc})
    assert "".join(lockfile._canonical_pieces({"python": doc}, 0)) == json.dumps(
        {"python": doc}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def test_json_digest_of_a_table_with_keys_other_than_text_is_jsons() -> None:
    doc = {"a": {1: "x", 2: [3] * 600}, "b": [{"k": i} for i in range(700)]}
    assert lockfile.json_digest(doc) == _canonical_json_digest(doc)
    with pytest.raises(TypeError):  # json's own refusal of what it cannot write, as before
        lockfile.json_digest({"a": {"b": {1, 2}}})


_LOCK_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["\\u0041", "é", "\\", '"', "\x00", "\x1f", "\x7f", "\u2028", "\ufeff", "☃", "𝄞", "\U0010ffff", "a\\ub"]
)
# What a lock document can hold: no floats (the model has none: the test below), integers past 64 bits included.
_LOCK_DOCS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70) | _LOCK_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_LOCK_TEXT, inner, max_size=4),
    max_leaves=25,
)


@given(st.dictionaries(_LOCK_TEXT, _LOCK_DOCS, max_size=4))
@settings(max_examples=400, deadline=None)
def test_a_lock_documents_digest_is_the_canonical_form_whoever_writes_it(doc: dict[str, object]) -> None:
    # orjson writes the canonical JSON where it is installed; the digest is the definition's, as json's is.
    assert lockfile._orjson_dumps() is not None  # installed with envsnap (pyproject.toml)
    assert lockfile._lock_digest(doc) == _canonical_json_digest(doc) == lockfile.json_digest(doc)


def test_a_lock_documents_digest_without_orjson_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = lockfile.to_dict(sample_lock())
    with_orjson = lockfile.canonical_digest(doc)
    monkeypatch.setattr(lockfile, "_orjson_dumps", lambda: None)
    assert lockfile.canonical_digest(doc) == with_orjson
    assert with_orjson == lockfile.json_digest(
        {**doc, "envsnap": {k: v for k, v in doc["envsnap"].items() if k not in ("created", "content_digest")}}
    )


def test_orjson_is_imported_for_a_large_lock_only(tmp_path: Path) -> None:
    # Its import (datetime, uuid, platform: some 3 ms) costs more than json's seal of a lock of a few hundred
    # distributions: a verify of one does not pay it; a diff of two 5,000-distribution locks does, once.
    import subprocess
    import sys

    small, large = tmp_path / "small.lock", tmp_path / "large.lock"
    lockfile.dump(sample_lock(), small)
    many = tuple(PythonPackage(name=f"p{i:04d}", version="1.0", installer="pip") for i in range(lockfile.ORJSON_FROM))
    lockfile.dump(sample_lock(*many), large)
    code = "import sys; from envsnap import lockfile; lockfile.load(sys.argv[1]); print('orjson' in sys.modules)"
    for path, imported in ((small, "False"), (large, "True")):
        env = {**os.environ, "ENVSNAP_LOCK_CACHE": "0"}
        done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env)
        assert done.stdout.strip() == imported, (path.name, done.stderr)


@pytest.mark.parametrize(
    "value",
    [2**64, -(2**63) - 1, {1: "x"}, {"a": {"b": [{"c": 2**80}]}}, type("Text", (str,), {})("x"), [[[]] * 3] * 2],
)
def test_what_orjson_refuses_or_writes_its_own_way_is_jsons(value: object) -> None:
    doc = {"envsnap": {}, "x": value}
    assert lockfile._lock_digest(doc) == lockfile.json_digest(doc)


def test_what_orjson_and_json_refuse_is_refused() -> None:
    for value in ({1, 2}, b"x", dataclasses.make_dataclass("D", [("a", int)])(1)):
        with pytest.raises(TypeError):
            lockfile._lock_digest({"x": value})


def test_no_field_of_the_model_holds_what_orjson_writes_its_own_way() -> None:
    # A float, an enum, a UUID or a date: orjson writes each otherwise than json (or where json refuses), and the
    # seal of a lock is computed by orjson. A field of such a type would need the seal written by json alone.
    import collections.abc
    import types
    import typing

    plain = {str, int, bool, type(None), tuple, list, dict, collections.abc.Mapping, collections.abc.Sequence}
    records = set(lockfile._RECORDS)

    def leaves(hint: object) -> list[object]:
        if typing.get_origin(hint) is typing.Literal:
            return [type(arg) for arg in typing.get_args(hint)]
        args = typing.get_args(hint)
        origin = typing.get_origin(hint)
        own = [] if origin in (None, typing.Union, types.UnionType) else [origin]
        return (own + [leaf for arg in args for leaf in leaves(arg)]) if args else [hint]

    for cls in records:
        for name, hint in typing.get_type_hints(cls).items():
            for leaf in leaves(hint):
                assert leaf is Ellipsis or leaf in plain or leaf in records, f"{cls.__name__}.{name}: {hint}"


def test_json_digest_of_text_outside_ascii_is_of_the_text_itself() -> None:
    doc = {"name": "café", "note": "☃ 𝄞", "path": "C:\\users"}
    assert lockfile.json_digest(doc) == _canonical_json_digest(doc)
    assert lockfile.json_digest(doc) != lockfile.json_digest({**doc, "name": "cafe\\u00e9"})


@pytest.mark.parametrize("branch", ["exp/lr_0.1%&#$|`tick`", "fix/données", "<user>/a&b", "v1.0-rc'2\"", "a@b"])
def test_a_branch_git_accepts_is_a_branch_the_lock_reads(tmp_path: Path, branch: str) -> None:
    # capture records whatever branch git has checked out: a lock that refused it would fail every later command
    snap = dataclasses.replace(sample(), project=Project(commit="a" * 40, branch=branch))
    path = lockfile.dump(snap, tmp_path / "envsnap.lock")
    assert lockfile.load(path).project.branch == branch


@pytest.mark.parametrize(
    "branch",
    [
        "-x",
        "a..b",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "a\\b",
        "x.lock",
        "a/",
        "a.",
        ".a",
        "a//b",
        "a/.b",
        "a@{1}",
        "@",
        "a\u202eb",
        "a\x1bb",
    ],
)
def test_a_branch_git_refuses_is_refused(tmp_path: Path, branch: str) -> None:
    text = lockfile.dumps(sample()).replace('branch = "main"', f"branch = {json.dumps(branch)}", 1)
    bad = tmp_path / "bad.lock"
    bad.write_text(text)
    with pytest.raises(LockfileError, match=r"project\.branch: not a valid branch name"):
        lockfile.load(bad, check_digest=False)


def test_the_schema_resolves_every_model_class_as_get_type_hints_does() -> None:
    """The loader resolves the model's annotations itself (each text once a process, envsnap/lockfile.py
    ``_hints``): the same types as ``typing.get_type_hints`` for every record class of the model."""
    import inspect
    import typing

    from envsnap import model

    classes = [c for _, c in inspect.getmembers(model, inspect.isclass) if dataclasses.is_dataclass(c)]
    assert len(classes) >= 20
    for cls in classes:
        assert lockfile._hints(cls) == typing.get_type_hints(cls), cls


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("installer", "pip", "p\tip"),
        ("requires_python", ">=3.8", ">=3.8\x00"),
        ("wheel_tags", ("py3-none-any",), ("py3 none any",)),
        ("requires_dist", ("x>=1",), ("a\nb",)),
    ],
)
def test_a_column_checked_by_its_distinct_values_still_refuses_one_bad_value(field: str, good: Any, bad: Any) -> None:
    """Fields whose values repeat from package to package are checked a distinct value at a time in a large lock
    (``_repeating``): one bad value among forty is refused as before, naming its package's field."""

    def lock(bad_at: int) -> str:
        packages = [
            PythonPackage(name=f"p{i:02d}", version="1.0", **{field: bad if i == bad_at else good}) for i in range(40)
        ]
        return lockfile.dumps(sample_lock(*packages))

    assert len(lockfile.loads(lock(-1)).python.packages) == 40
    with pytest.raises(LockfileError, match=rf"python\.packages\[23\]\.{field}"):
        lockfile.loads(lock(23))


def test_one_text_read_from_two_files_is_one_snapshot_and_a_bad_one_names_each(tmp_path: Path) -> None:
    """A rebuild of a bundle's own lock (or one the bundle copied byte for byte) reads one text under two names:
    the model is built once, the origin being no part of a snapshot; a text that fails is never remembered and
    names the file it was read from each time."""
    text = lockfile.dumps(sample())
    (tmp_path / "a.lock").write_text(text)
    (tmp_path / "b.lock").write_text(text)
    assert lockfile.load(tmp_path / "a.lock") is lockfile.load(tmp_path / "b.lock")
    bad = text.replace('version = "2.1.0"', 'version = "2.1.1"')
    for name in ("c.lock", "d.lock"):
        (tmp_path / name).write_text(bad)
        with pytest.raises(LockfileError, match=rf"{name}: envsnap.content_digest: does not match"):
            lockfile.load(tmp_path / name)


@pytest.mark.parametrize(
    ("package", "field"),
    [
        (PythonPackage(name="odd name!", version="1.0"), "python.packages[0].name"),
        (PythonPackage(name="numpy", version="1.0\nx"), "python.packages[0].version"),
        (
            PythonPackage(
                name="numpy",
                version="1.0",
                artifact=Artifact(
                    filename="numpy-1.0-py3-none-any.whl",
                    url="https://files.example.org/numpy-1.0-py3-none-any.whl",
                    sha256="ab" * 32,
                    index="https://${HOST}/simple",
                ),
            ),
            "python.packages[0].artifact.index",
        ),
    ],
)
def test_a_lock_envsnap_would_not_read_back_is_not_written(tmp_path: Path, package: PythonPackage, field: str) -> None:
    """Writing checks the document as ``load`` checks it, before anything is written: a value the loader refuses
    is one line naming the destination and the field, no file (nor temp file) is made, and a lock already there is
    left as it was (it was written, and every later command refused it)."""
    bad = sample_lock(package)
    with pytest.raises(LockfileError) as new:
        lockfile.dump(bad, tmp_path / "new.lock")
    said = str(new.value)
    assert "\n" not in said and said.startswith(f"{tmp_path / 'new.lock'}: not written") and field in said, said
    assert list(tmp_path.iterdir()) == []
    kept = tmp_path / "envsnap.lock"
    lockfile.dump(sample(), kept)
    before = kept.read_bytes()
    for write in (
        lambda: lockfile.dump(bad, kept),
        lambda: lockfile.dump_if_changed(bad, kept),
        lambda: lockfile.write_text(lockfile.dumps(bad), kept),
    ):
        with pytest.raises(LockfileError, match=re.escape(field)):
            write()
        assert kept.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["envsnap.lock"]
    with pytest.raises(LockfileError, match=re.escape(field)):
        lockfile.dumps_sealed(bad)
