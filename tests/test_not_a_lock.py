"""A file given where a lock belongs that is another tool's lock (a pylock.toml, a requirements file, a conda lock):
the error says how to compare it (``envsnap import FILE``), with the exit code of any invalid lock."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult

from envsnap import lockfile
from envsnap.cli import EXIT_BAD_INPUT
from envsnap.model import PythonEnv, PythonPackage, Snapshot

FOREIGN = {
    "pylock.toml": 'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "six"\nversion = "1.16.0"\n',
    "requirements.txt": f"six==1.16.0 \\\n    --hash=sha256:{'a' * 64}\n",
    "conda-lock.yml": "version: 1\nmetadata: {}\npackage:\n- name: six\n  manager: conda\n",
    "explicit.txt": "# platform: linux-64\n@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/noarch/six-1.16.0-pyh6c4a22f_0.tar.bz2\n",
}
KIND = {"pylock.toml": "pylock", "requirements.txt": "requirements", "conda-lock.yml": "conda-lock"}
KIND["explicit.txt"] = "conda-explicit"


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    path = tmp_path / "A.lock"
    lockfile.dump(Snapshot(python=PythonEnv(packages=(PythonPackage(name="six", version="1.16.0"),))), path)
    return path


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_diff_names_the_import_that_makes_a_lock_of_a_foreign_file(
    name: str, lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """It was "missing table (is this an envsnap lockfile?)" (or "not valid TOML"), exit 2, with nothing saying
    what to do."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(FOREIGN[name])
    stem = name.rsplit(".", 1)[0]
    expected = (
        f"envsnap: error: {name}: a {KIND[name]} file, not an envsnap lock; to compare it, make a lock of it "
        f"first: envsnap import {name} -o {stem}.envsnap.lock\n"
    )
    for args in (("A.lock", name), (name, "A.lock")):
        result = cli("diff", *args)
        assert (result.code, result.out, result.err) == (EXIT_BAD_INPUT, "", expected)


@pytest.mark.parametrize(("command", "verb"), [("verify", "verify against"), ("show", "show"), ("check", "check")])
def test_other_commands_name_it_too(
    command: str, verb: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pylock.toml").write_text(FOREIGN["pylock.toml"])
    result = cli(command, "pylock.toml")
    assert result.code == EXIT_BAD_INPUT
    assert result.err == (
        f"envsnap: error: pylock.toml: a pylock file, not an envsnap lock; to {verb} it, make a lock of it first: "
        "envsnap import pylock.toml -o pylock.envsnap.lock\n"
    )


def test_a_file_no_import_reads_keeps_the_loader_s_message(
    lock: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    other = tmp_path / "other.toml"
    other.write_text("[platform]\nsystem = 'Linux'\n")
    result = cli("diff", lock, other)
    assert (result.code, result.err) == (
        EXIT_BAD_INPUT,
        f"envsnap: error: {other}: envsnap: missing table (is this an envsnap lockfile?)\n",
    )


def _bundle(tmp_path: Path, lock: Path) -> Path:
    """A bundle folder as ``envsnap bundle -o supp`` lays it out (its lock and its checksums), and the same folder
    as ``-o supp.tar.gz`` archives it."""
    import shutil
    import tarfile

    folder = tmp_path / "supp"
    folder.mkdir()
    shutil.copy(lock, folder / "envsnap.lock")
    (folder / "SHA256SUMS").write_text("")
    with tarfile.open(tmp_path / "supp.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname="supp")
    return folder


@pytest.mark.parametrize("command", ["pin"])  # check, verify, show, diff read the lock inside
@pytest.mark.parametrize("limit", ["", "1K"])
def test_a_bundle_given_as_the_lock_names_the_lock_it_holds(
    command: str,
    limit: str,
    lock: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., CliResult],
) -> None:
    """A reviewer who got the supplement (docs/tutorial.md) gives it to `pin`: it was "supp.tar.gz: not a text
    file (expected a TOML lockfile)", or, for an archive over the lock size limit (any real supplement), "over the
    limit ... (raise it with ENVSNAP_MAX_LOCK_BYTES)", a limit whose raising only leads to the first message; a
    bundle folder was "is a directory, not a lockfile"."""
    monkeypatch.chdir(tmp_path)
    if limit:
        monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", limit)
    _bundle(tmp_path, lock)
    result = cli(command, "supp.tar.gz")
    assert (result.code, result.out, result.err) == (
        EXIT_BAD_INPUT,
        "",
        "envsnap: error: supp.tar.gz: an envsnap bundle, not a lock; give the lock it holds, supp/envsnap.lock "
        "once unpacked (tar -xf supp.tar.gz -C .)\n",
    )
    result = cli(command, "supp")
    assert (result.code, result.out, result.err) == (
        EXIT_BAD_INPUT,
        "",
        "envsnap: error: supp: an envsnap bundle, not a lock; give the lock it holds, supp/envsnap.lock\n",
    )


def test_rebuild_given_a_bundle_as_the_lock(
    lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """`rebuild` reads the lock a bundle holds, as `verify` and `diff` do
    (tests/rebuild/test_rebuild_bundle_as_lock.py), after the bundle's checks: it was told "give the lock it holds,
    supp/envsnap.lock once unpacked (tar -xf supp.tar.gz), and the bundle as --bundle supp.tar.gz". This bundle's
    SHA256SUMS does not list its lock."""
    monkeypatch.chdir(tmp_path)
    _bundle(tmp_path, lock)
    result = cli("rebuild", "supp.tar.gz", "--dry-run")
    assert (result.code, result.err) == (
        EXIT_BAD_INPUT,
        "envsnap: error: supp.tar.gz: envsnap.lock: not listed in SHA256SUMS (added after bundling)\n",
    )


@pytest.mark.parametrize("target", ["venv", "conda"])
def test_rebuild_offline_given_a_bundle_as_the_lock_reads_it_as_the_bundle(
    target: str, lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """`rebuild supp --target conda --offline` (the bundle as the lock, as `verify supp` takes it) said "--offline
    needs --bundle: without a bundle the conda target must download what it installs", though a bundle was given:
    the bundle is the one the rebuild installs from, checked as any --bundle is."""
    monkeypatch.chdir(tmp_path)
    _bundle(tmp_path, lock)
    for given, named in (("supp", "supp/envsnap.lock"), ("supp.tar.gz", "supp.tar.gz: envsnap.lock")):
        result = cli("rebuild", given, "--target", target, "--offline", "--dest", tmp_path / "env")
        # A folder's lock is read before the bundle's check: the conda target refuses a pip environment's first.
        why = "the lock records no conda packages" if target == "conda" and given == "supp" else "not listed in SHA"
        assert (result.code, result.out) == (EXIT_BAD_INPUT, ""), result.err
        assert result.err.startswith(f"envsnap: error: {named}: {why}") and result.err.count("\n") == 1, result.err
    assert not (tmp_path / "env").exists()


def test_a_lock_named_like_an_archive_is_read_as_a_lock(
    lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """Only an archive (gzip or tar data) is taken for a bundle, not a lock someone named x.tar."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "odd.tar").write_bytes(lock.read_bytes())
    result = cli("show", "odd.tar")
    assert result.code == 0, result


@pytest.mark.parametrize("name", ["X.tar.gz", "X.tgz", "X.tar"])
def test_audit_reads_a_lock_named_like_an_archive_as_show_does(
    name: str, lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """`audit X.tar.gz` of a lock (TOML text) merely named as an archive said "not a readable bundle archive",
    exit 2, where show, check, verify, diff and export read it as the lock it is; audit grades it as a lock."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(lock.read_bytes())
    shown = cli("show", name)
    audited = cli("audit", name, "--json")
    assert (shown.code, audited.code) == (0, 0), (shown.err, audited.err)
    assert json.loads(audited.out)["kind"] == "lock", audited.out


@pytest.mark.parametrize(
    ("arcname", "expected", "unpack"),
    [
        ("supp", "supp/envsnap.lock", "tar -xf artifact-v2.tar.gz -C ."),
        ("bundle", "bundle/envsnap.lock", "tar -xf artifact-v2.tar.gz -C ."),
        # A folder's content, unpacked into a folder of its own beside it, as every remedy for an archive does.
        (".", "artifact-v2/envsnap.lock", "mkdir -p artifact-v2 && tar -xf artifact-v2.tar.gz -C artifact-v2"),
    ],
)
def test_an_archive_renamed_or_made_by_hand_names_the_folder_it_unpacks_to(
    arcname: str,
    expected: str,
    unpack: str,
    lock: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., CliResult],
) -> None:
    """A reviewer's supplement is often an archive renamed for the deposit (`supp.tar.gz` uploaded as
    `artifact-v2.tar.gz`) or made by hand (`tar czf supp.tar.gz bundle`, `tar czf supp.tar.gz -C bundle .`): the
    error named `artifact-v2/envsnap.lock` (the archive's own name) for a lock that `tar -xf` puts at
    `supp/envsnap.lock`, `bundle/envsnap.lock` or `envsnap.lock`. It names the folder the archive unpacks to."""
    import tarfile

    monkeypatch.chdir(tmp_path)
    folder = _bundle(tmp_path, lock)
    with tarfile.open(tmp_path / "artifact-v2.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname=arcname)
    result = cli("pin", "artifact-v2.tar.gz")  # rebuild reads it (tests/rebuild/test_rebuild_bundle_as_lock.py)
    assert (result.code, result.out, result.err) == (
        EXIT_BAD_INPUT,
        "",
        f"envsnap: error: artifact-v2.tar.gz: an envsnap bundle, not a lock; give the lock it holds, {expected} "
        f"once unpacked ({unpack})\n",
    )


@pytest.mark.parametrize(("command", "verb"), [("pin", "use"), ("check", "check"), ("diff", "compare")])
def test_an_environment_yml_given_as_a_lock_says_what_to_make_a_lock_of(
    command: str, verb: str, lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``envsnap pin environment.yml`` said ``environment.yml: not valid TOML: Expected '=' after a key ...`` where a
    requirements file or a pylock given so is named with the import that makes a lock of it. No format reads an
    environment.yml: the error says what it is and what to make the lock from (as ``envsnap import`` of it says)."""
    monkeypatch.chdir(tmp_path)
    env = "name: lab\ndependencies:\n  - python=3.11\n  - pip:\n    - six==1.17.0\n"
    (tmp_path / "environment.yml").write_text(env)
    result = cli(command, "environment.yml", *(("A.lock",) if command == "diff" else ()))
    assert (result.code, result.out) == (EXIT_BAD_INPUT, "")
    assert result.err == (
        f"envsnap: error: environment.yml: an environment.yml, not an envsnap lock; to {verb} it, make a lock first, "
        "but it names packages, not their files (no URL, no hash): import a conda-lock.yml (conda-lock lock -f "
        "environment.yml, or envsnap export -f conda-lock) or an explicit file (conda list --explicit --md5) instead\n"
    )


@pytest.mark.parametrize("command", ["check", "diff"])
def test_a_bundles_readme_given_as_the_lock_is_no_requirements_file(
    command: str, lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """A reviewer in the bundle's folder gave its README.md where the lock belongs: it was "a requirements file, not
    an envsnap lock; ... make a lock of it first: envsnap import README.md", whose import then failed ("README.md:6:
    unsupported option -"): the README's table names requirements.txt's ``--hash=`` lines. It is no format envsnap
    imports, and the loader's own message stands; a requirements file without the name is still one."""
    from envsnap import _templates
    from envsnap.importers import recognised

    monkeypatch.chdir(tmp_path)
    readme = _templates.render("bundle/README.md.j2", lock=lockfile.load(lock), packages=[], conda_archives=[])
    assert "--hash=" in readme
    (tmp_path / "README.md").write_text(readme)
    result = cli(*((command, "README.md") if command == "check" else (command, "A.lock", "README.md")))
    assert result.code == EXIT_BAD_INPUT
    assert result.err.startswith("envsnap: error: README.md: a Markdown file, not an envsnap lock (not valid TOML"), (
        result.err
    )
    assert "requirements" not in result.err
    assert recognised(tmp_path / "README.md") == ""
    (tmp_path / "hashed").write_text(FOREIGN["requirements.txt"])
    (tmp_path / "bywheel").write_text(f"./wheels/six-1.16.0-py3-none-any.whl --hash=sha256:{'a' * 64}\n")
    assert recognised(tmp_path / "hashed") == recognised(tmp_path / "bywheel") == "requirements"


@pytest.mark.parametrize("command", ["check", "verify", "show", "diff", "pin"])
def test_a_file_that_is_no_toml_says_what_it_is_and_which_lock_to_give(
    command: str, lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``envsnap check supp/README.md`` read only the parser's ``not valid TOML: Expected '=' after a key ...``: it
    says what the file looks like and the lock to give, the bundle's envsnap.lock beside it; every command that
    reads a lock says it. A hand-edited lock's TOML error keeps its line and column alone."""
    monkeypatch.chdir(tmp_path)
    folder = _bundle(tmp_path, lock)
    (folder / "README.md").write_text("# A bundle\n\nThis bundle holds the lock.\n")
    args = ("A.lock", "supp/README.md") if command == "diff" else ("supp/README.md",)
    result = cli(command, *args)
    assert (result.code, result.err) == (
        EXIT_BAD_INPUT,
        "envsnap: error: supp/README.md: a Markdown file, not an envsnap lock (not valid TOML: Expected '=' after a "
        "key in a key/value pair (at line 3, column 6)); give the lock beside it, supp/envsnap.lock\n",
    ), result.err
    (tmp_path / "report.json").write_text('{"identical": true}\n')
    result = cli(command, *(("A.lock", "report.json") if command == "diff" else ("report.json",)))
    assert result.code == EXIT_BAD_INPUT
    assert result.err.startswith("envsnap: error: report.json: a JSON file, not an envsnap lock (not valid TOML: "), (
        result.err
    )
    assert result.err.endswith(
        "; give the lock file instead: envsnap.lock, as envsnap capture writes it and a bundle holds it\n"
    ), result.err
    edited = tmp_path / "edited.lock"
    edited.write_text(lock.read_text().replace("schema_version = 1", "schema_version 1", 1))
    result = cli(command, *(("A.lock", "edited.lock") if command == "diff" else ("edited.lock",)))
    assert (result.code, result.err) == (
        EXIT_BAD_INPUT,
        "envsnap: error: edited.lock: not valid TOML: Expected '=' after a key in a key/value pair (at line 2, "
        "column 16)\n",
    ), result.err


UV_LOCK = (
    'version = 1\nrevision = 2\nrequires-python = ">=3.11"\n\n[[package]]\nname = "six"\nversion = "1.16.0"\n'
    'source = { registry = "https://pypi.org/simple" }\n'
)
POETRY_LOCK = (
    "# This file is automatically @generated by Poetry 1.8.3 and should not be changed by hand.\n\n[[package]]\n"
    'name = "six"\nversion = "1.16.0"\n\n[metadata]\nlock-version = "2.0"\npython-versions = "^3.11"\n'
    f'content-hash = "{"c" * 64}"\n'
)
INSTEAD = "give the lock file instead: envsnap.lock, as envsnap capture writes it and a bundle holds it"
NO_TABLE = {
    "e.md": ("", f"e.md: an empty file, not an envsnap lock; {INSTEAD}"),
    "empty.lock": ("\n  \n", f"empty.lock: an empty file, not an envsnap lock; {INSTEAD}"),
    "requirements.txt": ("", f"requirements.txt: an empty file, not an envsnap lock; {INSTEAD}"),
    "pyproject.toml": (
        '[build-system]\nrequires = ["hatchling"]\n\n[project]\nname = "lab"\nversion = "0.1"\n',
        "pyproject.toml: a pyproject.toml (a project's metadata, not its environment), not an envsnap lock; " + INSTEAD,
    ),
    "tool.toml": (
        "[tool.ruff]\nline-length = 120\n",
        f"tool.toml: a TOML file without an [envsnap] table, not an envsnap lock; {INSTEAD}",
    ),
    "uv.lock": (
        UV_LOCK,
        "uv.lock: uv's lock (uv.lock), not an envsnap lock; make one of it: uv export --format pylock.toml -o "
        "pylock.toml in its project, then envsnap import pylock.toml, and give the lock that writes",
    ),
    "poetry.lock": (
        POETRY_LOCK,
        "poetry.lock: Poetry's lock (poetry.lock), not an envsnap lock; make one of it: poetry export -f "
        "requirements.txt -o requirements.txt in its project (the poetry-plugin-export), then envsnap import "
        "requirements.txt, and give the lock that writes",
    ),
}


@pytest.mark.parametrize("command", ["check", "verify", "show", "diff", "pin", "rebuild"])
@pytest.mark.parametrize("name", sorted(NO_TABLE))
def test_toml_without_an_envsnap_table_says_what_it_is_and_what_to_give(
    name: str,
    command: str,
    lock: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., CliResult],
) -> None:
    """``: > e.md; envsnap check e.md``, ``envsnap check pyproject.toml`` and ``envsnap check uv.lock`` read only
    "envsnap: missing table (is this an envsnap lockfile?)": the line says what the file is (empty, a
    pyproject.toml, uv's or Poetry's lock) and what to give instead, for every command that reads a lock."""
    monkeypatch.chdir(tmp_path)
    text, expected = NO_TABLE[name]
    (tmp_path / name).write_text(text)
    result = cli(command, *(("A.lock", name) if command == "diff" else (name,)))
    assert (result.code, result.out, result.err) == (EXIT_BAD_INPUT, "", f"envsnap: error: {expected}\n")


def test_uv_and_poetry_locks_are_told_by_their_content_too(tmp_path: Path) -> None:
    """A lock renamed (``uv-2025.lock``) is still uv's or Poetry's; a lock that lost its [envsnap] table keeps the
    loader's line, and so does a text read from no file."""
    for name, text, start in (("uv-old.lock", UV_LOCK, "uv's lock"), ("p.lock", POETRY_LOCK, "Poetry's lock")):
        (tmp_path / name).write_text(text)
        with pytest.raises(lockfile.NotALockfileError) as error:
            lockfile.load(tmp_path / name)
        assert str(error.value).startswith(f"{tmp_path / name}: {start} ("), str(error.value)
    with pytest.raises(lockfile.NotALockfileError, match=r"^<string>: envsnap: missing table"):
        lockfile.loads("")


@pytest.mark.parametrize("command", ["check", "verify", "diff", "pin", "rebuild", "audit", "export"])
def test_a_run_record_given_as_the_lock_says_what_reads_it(
    command: str, lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``envsnap audit run.toml`` read ``run.toml: envsnap: missing table (is this an envsnap lockfile?)``: a run
    record is named as one, with the commands that read it and the lock to give instead."""
    from envsnap.runs import record as rec

    monkeypatch.chdir(tmp_path)
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00.000Z"),
        command=rec.Command(argv=("true",)),
        result=rec.Outcome(
            started="2026-11-30T10:00:00.000Z", ended="2026-11-30T10:00:00.000Z", duration_ms=0, exit_status=0
        ),
    )
    rec.dump(record, tmp_path / "run.toml")
    args = {"diff": ("A.lock", "run.toml"), "export": ("run.toml", "--format", "json")}.get(command, ("run.toml",))
    result = cli(command, *args)
    assert (result.code, result.out, result.err) == (
        EXIT_BAD_INPUT,
        "",
        "envsnap: error: run.toml: an envsnap run record, not an envsnap lock; read it with envsnap show or envsnap "
        "rerun, or give the lock the run used instead (its environment.lock)\n",
    )


BOM_LOCK = (
    "envsnap: error: bom.lock: not valid TOML: it starts with a UTF-8 byte order mark, which envsnap does not "
    "accept; save the file as UTF-8 without the mark\n"
)


@pytest.mark.parametrize("command", ["check", "verify", "show", "diff"])
def test_a_lock_saved_with_a_byte_order_mark_names_the_mark(
    command: str, lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """A lock an editor saved as "UTF-8 with BOM" read ``not valid TOML: Invalid statement (at line 1, column 1)``,
    naming neither the mark nor what to do."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bom.lock").write_bytes(b"\xef\xbb\xbf" + lock.read_bytes())
    result = cli(command, *(("A.lock", "bom.lock") if command == "diff" else ("bom.lock",)))
    assert (result.code, result.out, result.err) == (EXIT_BAD_INPUT, "", BOM_LOCK)


def test_import_of_an_envsnap_lock_says_it_is_one(
    lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``envsnap import`` of a lock, with or without a byte order mark, said ``not a format envsnap can import``: it
    says the file is a lock already, and names the mark where there is one. Nothing is written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bom.lock").write_bytes(b"\xef\xbb\xbf" + lock.read_bytes())
    result = cli("import", "bom.lock", "-o", "out.lock")
    assert (result.code, result.out, result.err) == (
        EXIT_BAD_INPUT,
        "",
        "envsnap: error: bom.lock: an envsnap lock already, not a file to import; use it as it is, once saved as "
        "UTF-8 without the byte order mark it starts with (envsnap does not accept one)\n",
    )
    result = cli("import", "A.lock", "-o", "out.lock")
    assert (result.code, result.out, result.err) == (
        EXIT_BAD_INPUT,
        "",
        "envsnap: error: A.lock: an envsnap lock already, not a file to import; use it as it is\n",
    )
    assert not (tmp_path / "out.lock").exists()


@pytest.mark.parametrize(
    "content",
    [b"garbage, not an archive\n", bytes(range(256)) * 2, b""],
    ids=["text", "binary", "empty"],
)
def test_a_broken_archive_is_worded_alike_by_every_reader_of_a_bundle(
    content: bytes, lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """A file named as a bundle archive that is neither an archive nor a lock: `show` and `audit` said "not a
    readable bundle archive", while `diff` (and check, verify, export, rebuild) said it was "a file that is no TOML"
    (or "not a text file", "an empty file"), "not an envsnap lock". Every reader of a lock or a bundle says what
    audit says, one line, exit 2."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "supp.tar.gz").write_bytes(content)
    commands = {
        "audit": ["audit", "supp.tar.gz"],
        "show": ["show", "supp.tar.gz"],
        "diff A": ["diff", "supp.tar.gz", lock],
        "diff B": ["diff", lock, "supp.tar.gz"],
        "check": ["check", "supp.tar.gz"],
        "verify": ["verify", "supp.tar.gz"],
        "export": ["export", "supp.tar.gz", "--format", "requirements", "-o", tmp_path / "r.txt"],
        "rebuild": ["rebuild", "supp.tar.gz", "--target", "venv", "--dry-run", "--prefix", tmp_path / "env"],
        # A reviewer's rebuild of the archive they were given: "--offline needs --bundle", of a bundle given.
        "rebuild --offline": ["rebuild", "supp.tar.gz", "--target", "venv", "--offline", "--dest", tmp_path / "env"],
    }
    said = {name: cli(*args) for name, args in commands.items()}
    expected = said["audit"].err
    assert (
        expected.startswith("envsnap: error: supp.tar.gz: not a readable bundle archive (")
        and expected.count("\n") == 1
    ), expected
    for name, result in said.items():
        assert (result.code, result.err) == (EXIT_BAD_INPUT, expected), name
    assert not (tmp_path / "r.txt").exists() and not (tmp_path / "env").exists()


def test_a_bundle_in_a_folder_whose_name_holds_a_newline_names_its_lock_as_bashs_ansi_c_word(
    lock: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """``pin`` of a bundle in ``new\\nfolder`` named the lock it holds with ``shlex.quote``, a quoted newline the
    terminal line shows as a space or U+FFFD: pasted, another path. It is bash's ``$'...'`` word, as the other
    commands envsnap prints name such a folder; and so is the archive in ``tar -xf``."""
    where = tmp_path / "new\nfolder"
    where.mkdir()
    _bundle(where, lock)
    shown = str(where).replace("\n", "\\x0a")
    result = cli("pin", where / "supp")
    assert result.code == EXIT_BAD_INPUT and result.err.endswith(
        f"give the lock it holds, $'{shown}/supp/envsnap.lock'\n"
    ), result.err
    result = cli("pin", where / "supp.tar.gz")
    assert result.code == EXIT_BAD_INPUT and result.err.endswith(
        f"give the lock it holds, $'{shown}/supp/envsnap.lock' once unpacked (tar -xf $'{shown}/supp.tar.gz' -C "
        f"$'{shown}')\n"
    ), result.err


def test_the_import_named_for_a_foreign_file_in_a_folder_whose_name_holds_a_newline_is_pasteable(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """``envsnap import`` named for a pylock.toml in ``new\\nfolder`` quoted the path with a newline inside (shown as
    a space or U+FFFD, one line: pasted, another path); each path is bash's ``$'...'`` word."""
    where = tmp_path / "new\nfolder"
    where.mkdir()
    (where / "pylock.toml").write_text(FOREIGN["pylock.toml"])
    shown = str(where).replace("\n", "\\x0a")
    result = cli("show", where / "pylock.toml")
    assert result.code == EXIT_BAD_INPUT and result.err.endswith(
        f"first: envsnap import $'{shown}/pylock.toml' -o $'{shown}/pylock.envsnap.lock'\n"
    ), result.err
