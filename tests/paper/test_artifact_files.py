"""The artifact's files, made from a sample lock without the network: what a reviewer copies out of them works
as written, and a stranger's values stay values in every sink."""

from __future__ import annotations

import dataclasses
import json
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import sample_lock

from envsnap import _leftovers, lockfile
from envsnap.artifacts.bundle import Bundle
from envsnap.paper import artifact
from envsnap.paper.metadata import ArtifactMeta, Author
from envsnap.runs import record as run_record


def bundle_of(tmp_path: Path) -> Bundle:
    root = tmp_path / "bundle"
    root.mkdir()
    lockfile.dump(sample_lock(seal=True), root / "envsnap.lock")
    return Bundle(root)


META = ArtifactMeta(title="Reproducing Table 2", authors=(Author("Ada Lovelace"),), license="MIT")


def test_reproducing_md_commands_run_as_copied_and_no_backslash_reaches_its_prose(tmp_path: Path) -> None:
    # The rerun line was `envsnap rerun \`runs/run.toml\``: pasted into a shell, the backquotes ran the record
    # as a command. The disk and time lines showed "\`envsnap check\`" (a value's own Markdown, escaped again).
    record = "runs/$(id) `x`.toml"
    text = artifact._reproducing(bundle_of(tmp_path), META, [{"record": record}], grade="Bundled")
    blocks = [part.split("```", 1)[0] for part in text.split("```sh\n")[1:]]
    commands = [shlex.split(line, comments=True) for block in blocks for line in block.splitlines() if line.strip()]
    # rerun runs in the project's folder, with the artifact's lock and the environment rebuilt beside it: from the
    # artifact's folder it found no work tree, and without --lock no lock (the steps could not succeed).
    assert ["artifact=$PWD"] in commands
    rerun = [
        "envsnap",
        "rerun",
        "--lock",
        "$artifact/envsnap.lock",
        "--python",
        "$artifact/../envsnap-env/bin/python",
        f"$artifact/{record}",
    ]
    assert rerun in commands
    assert ["envsnap", "check", "envsnap.lock", "--target", "venv"] in commands
    assert "--no-index --find-links wheels" in text.replace("\n", " ")
    # The environment goes beside the folder: rebuilt inside it (the default dest), the bundle no longer matched
    # its SHA256SUMS and the next `rebuild --bundle .` refused it.
    assert ["envsnap", "rebuild", "envsnap.lock", "--bundle", ".", "--offline", "--dest", "../envsnap-env"] in commands
    assert "\\`" not in text
    assert text.startswith("# Reproducing Table 2: how to reproduce\n")


def test_reproducing_md_checks_out_the_commit_each_run_ran_at_before_its_rerun(tmp_path: Path) -> None:
    # The steps said "its code at the recorded commit" and named none: the appendix names the lock's commit (and
    # its SWHID), and a run recorded at a later commit, checked out at the lock's, read "code: differs".
    ran_at = "07c1f314ca9e2099460887ec6b5ac29521f26803"
    runs = [
        {"record": "runs/r1.toml", "commit": ran_at, "dirty": False},
        {"record": "runs/r2.toml", "commit": "1" * 40, "dirty": True},
        {"record": "runs/r3.toml", "commit": "", "dirty": False},
    ]
    text = artifact._reproducing(bundle_of(tmp_path), META, runs, grade="Bundled")
    block = text.split("```sh\n")[2].split("```", 1)[0]
    lines = [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]
    rerun = ["envsnap", "rerun", "--lock", "$artifact/envsnap.lock", "--python", "$artifact/../envsnap-env/bin/python"]
    assert lines == [
        ["git", "checkout", ran_at],
        [*rerun, "$artifact/runs/r1.toml"],
        ["git", "checkout", "1" * 40],
        [*rerun, "$artifact/runs/r2.toml"],
        [*rerun, "$artifact/runs/r3.toml"],  # a run outside a git work tree recorded no commit
    ], block
    assert f"git checkout {ran_at}   # the commit runs/r1.toml ran at\n" in block
    dirty = "# the commit runs/r2.toml ran at (with uncommitted changes, which the record holds only as a digest)"
    assert dirty in block


def test_reproducing_md_installs_the_editable_project_as_the_lock_does_before_the_rerun(tmp_path: Path) -> None:
    # The paper's own code, installed editable (`pip install -e .`), is rebuilt as a wheel: verify warns of it, and
    # a rerun, whose run had it editable, read "environment: differs" (exit 3 with --dry-run) on the steps as written.
    # The steps install it editable from the checked-out project into the rebuilt environment first, as the rebuild's
    # note says; a project the lock installs from elsewhere (not the project) is left as it is.
    from envsnap.model import PythonPackage, Source

    bundle = bundle_of(tmp_path)
    lock = lockfile.load(bundle.root / "envsnap.lock")
    editable = [
        PythonPackage("paper", "0.1", source=Source(kind="directory", url="file://{project}", editable=True)),
        PythonPackage(
            "tools", "0.2", source=Source(kind="directory", url="file://{project}/libs/my%20tools", editable=True)
        ),
        PythonPackage("other", "0.3", source=Source(kind="directory", url="file:///opt/other", editable=True)),
        PythonPackage("built", "0.4", source=Source(kind="directory", url="file://{project}/libs/built")),
    ]
    packages = (*lock.python.packages, *editable)
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=packages))
    lockfile.dump(lockfile.seal(lock), bundle.root / "envsnap.lock")
    runs = [{"record": "runs/r1.toml", "commit": "7" * 40, "dirty": False}]
    text = artifact._reproducing(Bundle(bundle.root), META, runs, grade="Bundled")
    block = text.split("```sh\n")[2].split("```", 1)[0]
    lines = [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]
    install = ["uv", "pip", "install", "--python", "$artifact/../envsnap-env/bin/python", "--no-deps"]
    rerun = ["envsnap", "rerun", "--lock", "$artifact/envsnap.lock", "--python", "$artifact/../envsnap-env/bin/python"]
    assert lines == [
        ["git", "checkout", "7" * 40],
        [*install, "-e", ".", "-e", "./libs/my tools"],
        [*rerun, "$artifact/runs/r1.toml"],
    ], block
    (tmp_path / "plain").mkdir()
    plain = artifact._reproducing(bundle_of(tmp_path / "plain"), META, runs, grade="Bundled")
    assert "uv pip install" not in plain


def test_reproducing_md_docker_step_puts_its_build_context_beside_the_folder(tmp_path: Path) -> None:
    # With a saved base image the steps offered `envsnap rebuild envsnap.lock --target docker --bundle . --offline`,
    # run "in this folder": its default --dest, envsnap-docker-context, lay inside the bundle, and the rebuild
    # refused it (exit 2) after the check, naming ../envsnap-env as where to put it.
    bundle = bundle_of(tmp_path)
    bundle.images_dir.mkdir()
    (bundle.images_dir / "base.tar").write_bytes(b"")
    text = artifact._reproducing(bundle, META, [], grade="Bundled")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]
    rebuilds = [c for c in commands if c[:2] == ["envsnap", "rebuild"]]
    docker = [c for c in rebuilds if "docker" in c]
    assert docker == [
        [
            "envsnap",
            "rebuild",
            "envsnap.lock",
            "--target",
            "docker",
            "--bundle",
            ".",
            "--offline",
            "--dest",
            "../envsnap-docker-context",
        ]
    ]
    assert all(c[c.index("--dest") + 1].startswith("../") for c in rebuilds), rebuilds


def test_reproducing_md_says_the_container_build_is_not_offline_where_the_audit_finds_the_system_packages_missing(
    tmp_path: Path,
) -> None:
    # Bundled with --with-base-image but not --with-system-packages, REPRODUCING.md said "Everything below works
    # offline" while `envsnap audit` found the system packages missing (not Functional-ready), and the offline
    # container build fetched them from the apt mirror.
    from envsnap.model import System, SystemPackage
    from envsnap.paper.audit import audit

    gomp = SystemPackage(
        "dpkg",
        "libgomp1",
        "12.2.0-14",
        "amd64",
        needed_by=("numpy",),
        filename="libgomp1_12.2.0-14_amd64.deb",
        size=3,
        sha256="a" * 64,
        url="https://snapshot.debian.org/archive/debian/20230610T000000Z/libgomp1.deb",
    )
    root = tmp_path / "bundle"
    root.mkdir()
    lockfile.dump(sample_lock(system=System(manager="dpkg", packages=(gomp,)), seal=True), root / "envsnap.lock")
    bundle = Bundle(root)
    bundle.images_dir.mkdir()
    (bundle.images_dir / "base.tar").write_bytes(b"")
    artifact.add_artifact(root, META)
    text = (root / "REPRODUCING.md").read_text()
    [item] = [i for i in audit(root).items if i.id == "system-packages"]
    assert not item.ok
    assert "Everything below works offline.\n" not in text
    prose = " ".join(text.split())
    assert (
        "Everything below works offline but the container image, whose build installs system packages from the apt "
        "mirror, over the network: this folder holds no .deb files for the 1 system package the Python packages "
        "need (libgomp1). `envsnap audit .` finds system-packages missing (not Functional-ready)"
    ) in prose
    docker = next(line for line in text.splitlines() if line.startswith("envsnap rebuild envsnap.lock --target docker"))
    assert docker.endswith("(not offline: its system packages come from the apt mirror)")
    # Carried in debs/ (bundle --with-system-packages), the audit finds them, and so does REPRODUCING.md.
    (root / "debs").mkdir()
    (root / "debs" / gomp.filename).write_bytes(b"deb")
    artifact.add_artifact(root, META)
    text = (root / "REPRODUCING.md").read_text()
    assert next(i for i in audit(root).items if i.id == "system-packages").ok
    assert "Everything below works offline.\n" in text and "apt mirror" not in text
    # Not pinned by hash: said so.
    unpinned = dataclasses.replace(gomp, sha256="", filename="", url="", size=0)
    lockfile.dump(sample_lock(system=System(manager="dpkg", packages=(unpinned,)), seal=True), root / "envsnap.lock")
    (root / "debs" / gomp.filename).unlink()
    artifact.add_artifact(root, META)
    prose = " ".join((root / "REPRODUCING.md").read_text().split())
    assert (
        "the 1 system package the Python packages need (libgomp1) is not pinned by hash nor carried as .deb files"
        in prose
    )


def test_the_command_reproducing_md_gives_to_carry_the_system_packages_keeps_the_artifact(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # REPRODUCING.md said `envsnap bundle envsnap.lock -o . --with-system-packages`, run in this folder, adds the
    # .deb files: run there it did, and rewrote appendix.md and README.md without the artifact, so the RO-Crate no
    # longer described the bundle and the audit found it not citable. It now gives the artifact's options, as the
    # audit's remedy does.
    import hashlib

    from envsnap.model import System, SystemPackage
    from envsnap.paper.audit import audit

    deb = tmp_path / "mirror" / "libgomp1_12.2.0-14_amd64.deb"
    deb.parent.mkdir()
    deb.write_bytes(b"deb")
    gomp = SystemPackage(
        "dpkg",
        "libgomp1",
        "12.2.0-14",
        "amd64",
        needed_by=("numpy",),
        filename=deb.name,
        size=3,
        sha256=hashlib.sha256(b"deb").hexdigest(),
        url=deb.as_uri(),
    )
    root = tmp_path / "bundle"
    root.mkdir()
    lockfile.dump(sample_lock(system=System(manager="dpkg", packages=(gomp,)), seal=True), root / "envsnap.lock")
    bundle = Bundle(root)
    bundle.images_dir.mkdir()
    (bundle.images_dir / "base.tar").write_bytes(b"")
    meta = dataclasses.replace(META, title="Table 2: it's -x", doi="10.1145/3589334.3645700")
    artifact.add_artifact(root, meta)
    before = {p.name: p.read_bytes() for p in (root / "appendix.md", root / "appendix.tex", root / "CITATION.cff")}
    assert next(i for i in audit(root).items if i.id == "citable").ok
    prose = " ".join((root / "REPRODUCING.md").read_text().split())
    command = prose.split("`envsnap audit .` finds system-packages missing (not Functional-ready); `", 1)[1]
    command = command.split("`, run in this folder, adds them.", 1)[0]
    assert command.startswith("envsnap bundle envsnap.lock -o . --artifact "), command
    monkeypatch.chdir(root)
    monkeypatch.setenv("ENVSNAP_ALLOW_URL", f"{deb.parent}/*")
    for step in command.split(" && "):
        words = shlex.split(step)
        assert words[0] == "envsnap"
        result = cli(*words[1:])
        assert result.code == 0, (step, result)
    items = {i.id: i for i in audit(root).items}
    assert items["system-packages"].ok, items["system-packages"].detail
    assert items["citable"].ok, items["citable"].detail
    assert items["documented"].ok and items["files-bundled"].ok
    after = {name: (root / name).read_bytes() for name in before}
    assert after["CITATION.cff"] == before["CITATION.cff"]
    # The appendix keeps its artifact part (the paper's DOI, the grade), rather than the plain bundle's.
    assert b"### Artifact" in after["appendix.md"] and b"\\paragraph{Artifact.}" in after["appendix.tex"]
    assert b"10.1145/3589334.3645700" in after["appendix.md"]


def remedies(path: Path) -> dict[str, list[str]]:
    from envsnap.paper.audit import audit

    return {
        i.id: shlex.split(i.remedy.split(" (or ", 1)[0].split(";", 1)[0])
        for i in audit(path).items
        if i.remedy.startswith(("envsnap ", "tar ", "mkdir "))
    }


def test_audit_remedies_run_as_pasted_for_a_path_with_a_space_and_for_an_archive(tmp_path: Path) -> None:
    # The remedies put paths unquoted, and for an archive named FILE.tar.gz/envsnap.lock and -o FILE.tar.gz,
    # which bundle refuses (--artifact and --with-base-image need a directory); documented's remedy was a bare
    # --artifact, which exits 2 without a title, an author and a licence.
    from envsnap.artifacts.bundle import write_archive

    folder = tmp_path / "my paper"
    folder.mkdir()
    lock = folder / "env.lock"
    lockfile.dump(sample_lock(seal=True), lock)
    found = remedies(lock)
    assert found["files-bundled"] == ["envsnap", "bundle", str(lock), "-o", "BUNDLE_DIR"]
    assert {"--title", "--author", "--license"} <= set(found["documented"])
    bundle = bundle_of(folder)
    bundle.write_sums()
    archive = folder / "supp.tar.gz"
    write_archive(bundle.root, archive)
    found = remedies(archive)
    assert found["base-image"] == [
        "tar",
        "-xf",
        str(archive),
        "-C",
        str(folder),
        "&&",
        "envsnap",
        "bundle",
        f"{folder}/supp/envsnap.lock",
        "-o",
        f"{folder}/supp",
        "--with-base-image",
    ]


def test_audit_remedies_of_a_renamed_archive_name_the_folder_it_unpacks_to(tmp_path: Path) -> None:
    # A reviewer's copy of supp.tar.gz saved as other.tar.gz unpacks to supp/, but the remedies named
    # other/envsnap.lock and -o other: pasted, the bundle found no such lock.
    import shutil

    from envsnap.artifacts.bundle import write_archive

    bundle = bundle_of(tmp_path)
    bundle.write_sums()
    write_archive(bundle.root, tmp_path / "supp.tar.gz")
    archive = tmp_path / "other.tar.gz"
    shutil.move(tmp_path / "supp.tar.gz", archive)
    found = remedies(archive)
    assert found["base-image"][:6] == ["tar", "-xf", str(archive), "-C", str(tmp_path), "&&"]
    assert found["base-image"][6:] == [
        "envsnap",
        "bundle",
        f"{tmp_path}/supp/envsnap.lock",
        "-o",
        f"{tmp_path}/supp",
        "--with-base-image",
    ]


def test_audit_remedies_of_an_archive_of_a_folders_content_unpack_it_into_a_folder(tmp_path: Path) -> None:
    # ``tar -C supp -czf content.tar.gz .`` holds no top folder: the remedies unpacked it into the archive's own
    # folder (beside whatever else is there) and bundled that folder, which bundle refuses as no bundle.
    import subprocess

    bundle = bundle_of(tmp_path)
    bundle.write_sums()
    (tmp_path / "papers").mkdir()
    archive = tmp_path / "papers" / "content.tar.gz"
    subprocess.run(["tar", "-C", str(bundle.root), "-czf", str(archive), "."], check=True)
    folder = tmp_path / "papers" / "content"
    found = remedies(archive)
    assert found["base-image"] == [
        "mkdir",
        "-p",
        str(folder),
        "&&",
        "tar",
        "-xf",
        str(archive),
        "-C",
        str(folder),
        "&&",
        "envsnap",
        "bundle",
        f"{folder}/envsnap.lock",
        "-o",
        str(folder),
        "--with-base-image",
    ]


def _a_record(bundle: Bundle) -> run_record.RunRecord:
    time = "2026-12-01T10:00:00.000Z"
    return run_record.sealed(
        run_record.RunRecord(
            run=run_record.Meta(generator="envsnap 0.1.0", created=time),
            command=run_record.Command(argv=("python", "train.py")),
            result=run_record.Outcome(started=time, ended=time, duration_ms=1, exit_status=0),
            environment=run_record.Environment(lock="envsnap.lock", lock_digest=bundle.lock.envsnap.content_digest),
        )
    )


def test_audit_remedies_that_bundle_an_artifact_again_give_its_artifact_options(tmp_path: Path) -> None:
    # The base-image remedy of an artifact bundle was `envsnap bundle LOCK -o DIR --with-base-image`: followed, it
    # rewrote the README and appendix without the artifact, the RO-Crate no longer described the bundle, and the
    # next audit was short again (with placeholders for the facts the bundle's CITATION.cff holds).
    from envsnap.paper import citation
    from envsnap.paper.metadata import from_args

    folder = tmp_path / "my paper"
    folder.mkdir()
    bundle = bundle_of(folder)
    authors = ["Josiah Carberry <0000-0002-1825-0097>", "Maria de la Cruz", "King, Jr., Martin Luther", "ACME Lab"]
    meta = from_args("Table 2: it's $HOME", authors, "MIT OR Apache-2.0", "10.1145/3589334.3645700")
    (bundle.root / citation.CFF).write_text(citation.cff(meta, bundle.lock))
    (bundle.root / "runs").mkdir()
    # Records that load: an empty file stood for one here, which bundle refuses as a --run (as a kept one too).
    for name in ("my run.toml", "b.toml"):
        run_record.dump(_a_record(bundle), bundle.root / "runs" / name)
    (bundle.root / "runs" / "broken.toml").write_text("")  # given as no --run: run-recorded's remedy removes it
    bundle.write_sums()
    again = [  # each value from the file joined to its option: one starting with "-" is no option then
        "--artifact",
        "--title=Table 2: it's $HOME",
        *(f"--author={a}" for a in authors),
        "--license=MIT OR Apache-2.0",
        "--doi=10.1145/3589334.3645700",
        "--run",
        f"{bundle.root}/runs/b.toml",
        "--run",
        f"{bundle.root}/runs/my run.toml",
    ]
    plain = ["envsnap", "bundle", f"{bundle.root}/envsnap.lock", "-o", str(bundle.root)]
    found = remedies(bundle.root)
    assert found["base-image"] == [*plain, *again, "--with-base-image"]
    (bundle.root / "appendix.md").write_text("changed\n")
    assert found["base-image"][:-1] == remedies(bundle.root)["files-bundled"]
    # A CITATION.cff that cannot be read leaves the facts to fill in, the artifact and its runs still named.
    (bundle.root / citation.CFF).write_text("title: [\n")
    found = remedies(bundle.root)["base-image"]
    assert found[: len(plain) + 3] == [*plain, "--artifact", "--title", "TITLE"]
    assert found[-5:] == [
        "--run",
        f"{bundle.root}/runs/b.toml",
        "--run",
        f"{bundle.root}/runs/my run.toml",
        "--with-base-image",
    ]


def test_audit_finds_an_ro_crate_the_bundle_outgrew(tmp_path: Path) -> None:
    # A plain `bundle` re-run on an artifact bundle (the base-image remedy) rewrote appendix.md without the
    # artifact part and left the crate's sha256 of it stale; the audit still called the artifact citable.
    from envsnap.paper import citation, crate
    from envsnap.paper.audit import audit

    bundle = bundle_of(tmp_path)
    (bundle.root / citation.CFF).write_text(citation.cff(META, bundle.lock))
    artifact._write_crate(bundle, META, None, [])
    bundle.write_sums()
    assert next(i for i in audit(bundle.root).items if i.id == "citable").ok
    (bundle.root / "appendix.md").write_text("changed\n")
    bundle.write_sums()
    item = next(i for i in audit(bundle.root).items if i.id == "citable")
    assert not item.ok and "appendix.md is not in it" in item.detail and "--artifact" in item.remedy
    assert crate.NAME not in item.detail


def test_audit_finds_an_ro_crate_that_lists_a_file_the_bundle_lost(tmp_path: Path) -> None:
    # README.md deleted after --artifact and SHA256SUMS written again (sha256sum, or a re-run): the crate still
    # described README.md by its sha256, and the audit called the artifact citable (Reusable-ready).
    from envsnap.paper import citation
    from envsnap.paper.audit import audit

    bundle = bundle_of(tmp_path)
    (bundle.root / citation.CFF).write_text(citation.cff(META, bundle.lock))
    (bundle.root / "README.md").write_text("read me\n")
    artifact._write_crate(bundle, META, None, [])
    bundle.write_sums()
    assert next(i for i in audit(bundle.root).items if i.id == "citable").ok
    (bundle.root / "README.md").unlink()
    bundle.write_sums()
    item = next(i for i in audit(bundle.root).items if i.id == "citable")
    assert not item.ok and "README.md is gone" in item.detail and "--artifact" in item.remedy


def test_a_bundle_that_is_not_intact_is_not_available_ready(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # A wheel replaced after --artifact (or a bundle an interrupted run left): the grade fell to Pinned, yet the
    # audit still said Available-ready, "ready for an archival deposit", of a bundle that fails its SHA256SUMS.
    from envsnap.paper import citation

    bundle = bundle_of(tmp_path)
    (bundle.root / citation.CFF).write_text("cff-version: 1.2.0\n")
    (bundle.root / citation.ZENODO).write_text("{}\n")
    bundle.write_sums()
    graded = json.loads(cli("audit", bundle.root, "--json").out)
    assert graded["badges"]["available"], graded
    (bundle.root / "README.md").write_text("changed\n")
    graded = json.loads(cli("audit", bundle.root, "--json").out)
    deposit = next(i for i in graded["items"] if i["id"] == "deposit-metadata")
    assert not graded["badges"]["available"] and not deposit["ok"], graded
    assert "not intact" in deposit["detail"] and deposit["remedy"], deposit


def test_a_bundle_whose_lock_was_edited_after_bundling_is_graded_not_refused(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # A lock edited after bundling (its content no longer matches its content_digest) made the audit exit 2,
    # "does not match the content", where the docs say a bundle's files are graded: files-bundled is short,
    # naming the lock, whether or not SHA256SUMS was written again to match it. A lock that cannot be read at all
    # is still bad input.
    import os
    import re

    bundle = bundle_of(tmp_path)
    bundle.write_sums()
    lock = bundle.root / "envsnap.lock"
    text = lock.read_text()
    edited, count = re.subn(r'(?m)^libc_version = ".*"$', 'libc_version = "2.17"', text)
    assert count == 1
    lock.write_text(edited)
    os.utime(lock, ns=(lock.stat().st_atime_ns, lock.stat().st_mtime_ns + 1))  # this process hashed it already

    def files_bundled() -> dict[str, object]:
        result = cli("audit", bundle.root, "--json")
        assert result.code == 0 and "Traceback" not in result.err, result
        graded = json.loads(result.out)
        assert graded["grade"].startswith("Pinned"), graded
        return next(i for i in graded["items"] if i["id"] == "files-bundled")

    item = files_bundled()
    assert not item["ok"] and "envsnap.lock: hash mismatch" in str(item["detail"]), item
    # `bundle` refuses the edited lock as well: the remedy bundles the lock as captured, not this one.
    remedy = shlex.split(str(item["remedy"]).split(" (", 1)[0])
    assert remedy[:3] == ["envsnap", "bundle", "CAPTURED.lock"] and "as captured" in str(item["remedy"]), item
    bundle.write_sums()  # SHA256SUMS made to match the edited lock: its own seal still fails
    item = files_bundled()
    assert not item["ok"] and "envsnap.content_digest: does not match the content" in str(item["detail"]), item
    lock.write_text(edited.replace('libc_version = "2.17"', 'libc_version = "2.17"\nbogus = 1'))
    bundle.write_sums()
    refused = cli("audit", bundle.root)
    assert refused.code == 2 and "bogus" in refused.err and "Traceback" not in refused.err, refused


def test_an_artifact_file_the_reviewer_may_not_read_is_graded_not_a_traceback(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bundle copied with its author's private modes (CITATION.cff mode 0600, read as another user): audit ended
    # in a PermissionError traceback while comparing the RO-Crate with the files.
    import os

    from envsnap.paper import citation

    bundle = bundle_of(tmp_path)
    cff = bundle.root / citation.CFF
    cff.write_text("cff-version: 1.2.0\n")
    artifact._write_crate(bundle, META, None, [])
    bundle.write_sums()
    cff.chmod(0)
    os.utime(cff, ns=(cff.stat().st_atime_ns, cff.stat().st_mtime_ns + 1))  # this process hashed it already
    real_open = os.open

    def denied(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.path.abspath(name) == str(cff):  # root reads any file: refused as for another user
            raise PermissionError(13, "Permission denied", str(cff))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    result = cli("audit", bundle.root, "--json")
    assert result.code == 0 and "Traceback" not in result.err, result
    items = {i["id"]: i for i in json.loads(result.out)["items"]}
    assert not items["files-bundled"]["ok"] and "cannot be read" in items["files-bundled"]["detail"], items
    assert not items["citable"]["ok"], items


def test_a_licence_with_alternatives_is_a_cff_list_and_and_with_are_refused_before_anything_is_fetched(
    tmp_path: Path,
) -> None:
    # "MIT OR Apache-2.0" (docs/cli.md's own example) was written as one CFF license string, which the CFF 1.2.0
    # schema refuses, as Zenodo's licence field and an SPDX page URL did.
    import json

    import jsonschema
    import pytest
    import yaml  # type: ignore[import-untyped]

    from envsnap.paper import citation, crate
    from envsnap.paper.artifact import require_complete
    from envsnap.paper.metadata import MetadataError, from_args

    meta = from_args("T", ["Ada Lovelace"], "MIT OR Apache-2.0", None)
    lock = sample_lock(seal=True)
    schema = json.loads((Path(__file__).parent / "fixtures" / "cff-1.2.0.schema.json").read_text())
    cff = yaml.safe_load(citation.cff(meta, lock))
    jsonschema.validate(cff, schema)
    assert cff["license"] == ["MIT", "Apache-2.0"]
    assert citation.zenodo(meta, lock)["license"] == "MIT"
    root = next(e for e in crate.build(lock, {}, meta)["@graph"] if e["@id"] == "./")
    spdx = "https://spdx.org/licenses/"
    assert root["license"] == [{"@id": spdx + "MIT"}, {"@id": spdx + "Apache-2.0"}]
    jsonschema.validate(yaml.safe_load(citation.cff(from_args("T", ["A"], "MIT", None), lock)), schema)
    with pytest.raises(MetadataError, match="AND and WITH"):
        require_complete(from_args("T", ["A"], "GPL-2.0-only WITH Classpath-exception-2.0", None))


def test_bidirectional_overrides_are_refused_in_the_title_and_the_authors(tmp_path: Path) -> None:
    # U+202E reached CITATION.cff and the RO-Crate raw: the name shows reordered (Trojan Source).
    import pytest

    from envsnap.paper.metadata import MetadataError, from_args, from_cff

    for title, author in (("evil\u202egnp.exe", "Ada"), ("T", "Ada \u2067Lovelace")):
        with pytest.raises(MetadataError):
            from_args(title, [author], "MIT", None)
    (tmp_path / "CITATION.cff").write_text('title: "x\\u202ey"\nauthors: [{name: A}]\n')
    with pytest.raises(MetadataError, match="bidirectional"):
        from_cff(tmp_path / "CITATION.cff")


def test_the_crate_defines_the_sha256_term_its_files_use(tmp_path: Path) -> None:
    # The context was RO-Crate 1.1's alone, which has no "sha256": a JSON-LD reader dropped every file's hash.
    from rocrate.rocrate import ROCrate  # type: ignore[import-untyped]

    from envsnap.paper import crate

    bundle = bundle_of(tmp_path)
    artifact._write_crate(bundle, META, None, [])
    doc = crate.build(bundle.lock, {"envsnap.lock": ("0" * 64, 1)}, META)
    terms = {k: v for c in doc["@context"] if isinstance(c, dict) for k, v in c.items()}
    assert terms["sha256"] == crate.SHA256_TERM and "https://w3id.org/ro/crate/1.1/context" in doc["@context"]
    loaded = ROCrate(bundle.root)
    assert loaded.dereference("envsnap.lock")["sha256"]


def test_audit_of_what_is_no_bundle_is_exit_2_and_a_corrupt_crate_is_graded(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # A folder without a lock and an archive that does not unpack were exit 4 (docs: 2 on bad input); a crate
    # that is not JSON refused the whole audit instead of grading the bundle not citable.
    import json

    (tmp_path / "folder").mkdir()
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    for path in (tmp_path / "folder", tmp_path / "junk.tar.gz", tmp_path / "missing"):
        result = cli("audit", path)
        assert result.code == 2 and "Traceback" not in result.err, result
    bundle = bundle_of(tmp_path)
    (bundle.root / "ro-crate-metadata.json").write_text("{not json")
    result = cli("audit", bundle.root, "--json")
    assert result.code == 0, result
    citable = next(i for i in json.loads(result.out)["items"] if i["id"] == "citable")
    assert not citable["ok"]


def test_a_citation_cff_whose_authors_are_no_list_is_one_line_and_graded_in_an_audit(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # authors: 7 (a number, a date, true) was a TypeError traceback, exit 1: in `bundle --artifact`, which reads the
    # project's CITATION.cff, and in `audit` of a stranger's bundle, which reads the bundle's own.
    import pytest

    from envsnap.paper.metadata import MetadataError, from_args, resolve

    for authors in ("7", "2024-01-01", "true", "1.5"):
        (tmp_path / "CITATION.cff").write_text(f'cff-version: 1.2.0\ntitle: "T"\nauthors: {authors}\n')
        with pytest.raises(MetadataError, match=r"authors: a list of authors$"):
            resolve(from_args(None, [], None, None), tmp_path)
        (tmp_path / authors).mkdir()
        bundle = bundle_of(tmp_path / authors)
        (bundle.root / "CITATION.cff").write_text(f'cff-version: 1.2.0\ntitle: "T"\nauthors: {authors}\n')
        bundle.write_sums()
        result = cli("audit", bundle.root, "--json")
        assert result.code == 0 and "Traceback" not in result.err, result
        remedy = next(i["remedy"] for i in json.loads(result.out)["items"] if i["id"] == "documented")
        assert "--title TITLE" in remedy  # the file's facts are not trusted in part: placeholders, as for any bad file


def test_a_doi_with_characters_no_url_may_hold_is_percent_encoded_in_the_crate() -> None:
    # 10.1000/a"b<c>#d is a DOI (they may hold any printable character) and was the crate's @id as it stood:
    # not an IRI, so a JSON-LD reader refused the citation.
    from envsnap.paper import crate
    from envsnap.paper.metadata import from_args

    meta = from_args("T", ["A"], "MIT", 'doi:10.1000/a"b<c>#d%e(1)')
    assert meta.doi == '10.1000/a"b<c>#d%e(1)'
    assert meta.doi_url == "https://doi.org/10.1000/a%22b%3Cc%3E%23d%25e(1)"
    root = next(e for e in crate.build(sample_lock(seal=True), {}, meta)["@graph"] if e["@id"] == "./")
    assert root["citation"] == {"@id": meta.doi_url}
    assert from_args("T", ["A"], "MIT", "10.1145/3589334.3645700").doi_url == "https://doi.org/10.1145/3589334.3645700"


def test_an_interrupted_artifact_step_leaves_a_bundle_readers_refuse_and_the_next_run_completes(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # Interrupted between its two passes, the bundle was consistent (SHA256SUMS matched) while REPRODUCING.md
    # said "(being graded)" and the appendix had no artifact part: a bundle that looked finished.
    import pytest

    from envsnap.artifacts.bundle import INCOMPLETE
    from envsnap.paper.audit import audit

    bundle = bundle_of(tmp_path)
    bundle.write_sums()

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(artifact, "render_markdown", interrupted)
    with pytest.raises(KeyboardInterrupt):
        artifact.add_artifact(bundle.root, META)
    item = next(i for i in audit(bundle.root).items if i.id == "files-bundled")
    assert not item.ok and "interrupted" in item.detail
    monkeypatch.undo()
    made = artifact.add_artifact(bundle.root, META)
    assert not (bundle.root / INCOMPLETE).exists()
    assert next(i for i in audit(bundle.root).items if i.id == "files-bundled").ok
    assert "(being graded)" not in (bundle.root / "REPRODUCING.md").read_text()
    assert made.grade in (bundle.root / "REPRODUCING.md").read_text()
    assert next(i for i in audit(bundle.root).items if i.id == "citable").ok


def test_a_name_particle_and_a_suffix_are_kept_apart_in_citation_cff(tmp_path: Path) -> None:
    """ "Maria de la Cruz" was family-names Cruz, given-names "Maria de la": the particle belongs to neither
    (CFF's name-particle); a CITATION.cff's own parts come back as they were written."""
    import jsonschema
    import yaml

    from envsnap.paper.citation import cff, zenodo
    from envsnap.paper.metadata import from_cff

    meta = ArtifactMeta(
        title="T",
        authors=(Author("Maria de la Cruz"), Author("King, Jr., Martin Luther"), Author("Jean de La Fontaine")),
        license="MIT",
    )
    lock = sample_lock()
    written = yaml.safe_load(cff(meta, lock))
    assert written["authors"] == [
        {"family-names": "Cruz", "given-names": "Maria", "name-particle": "de la"},
        {"family-names": "King", "given-names": "Martin Luther", "name-suffix": "Jr."},
        {"family-names": "La Fontaine", "given-names": "Jean", "name-particle": "de"},
    ]
    schema = (Path(__file__).parent / "fixtures" / "cff-1.2.0.schema.json").read_text()
    jsonschema.validate(written, json.loads(schema))
    # Zenodo's "Family, Given" keeps the particle with the family name.
    creators = zenodo(meta, lock)["creators"]
    assert [c["name"] for c in creators] == ["de la Cruz, Maria", "King, Martin Luther", "de La Fontaine, Jean"]
    # Read back from the file, each author keeps the parts the file gave.
    path = tmp_path / "CITATION.cff"
    path.write_text(cff(meta, lock), encoding="utf-8")
    back = from_cff(path)
    assert [a.parts for a in back.authors] == [a.parts for a in meta.authors]
    assert yaml.safe_load(cff(back, lock))["authors"] == written["authors"]


def test_bundle_artifact_without_its_extra_is_exit_4_before_anything_is_made(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``envsnap-lock[artifact]`` (packageurl), ``bundle --artifact`` fetched every wheel and wrote
    REPRODUCING.md, CITATION.cff and .zenodo.json into the bundle before exit 4: audit then graded them."""
    import sys

    lock = tmp_path / "env.lock"
    lockfile.dump(sample_lock(), lock)
    monkeypatch.setitem(sys.modules, "packageurl", None)  # as an install without the extra
    result = cli(
        "bundle", lock, "-o", tmp_path / "b", "--artifact", "--title", "T", "--author", "A", "--license", "MIT"
    )
    assert result.code == 4, result
    assert "envsnap-lock[artifact]" in result.err and len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists()


def test_every_run_of_an_artifact_has_its_own_ids_and_is_reached_from_the_root(tmp_path: Path) -> None:
    """Two --run records gave ``#data-1`` and ``#outputs-1`` twice in the crate's graph, with other contents (an
    @id must name one thing), and only the first CreateAction was mentioned by the root."""
    from envsnap.paper.artifact import _write_crate

    bundle = bundle_of(tmp_path)

    def run(n: int) -> dict[str, object]:
        return {
            "id": f"#run-{n:016d}",
            "record": f"runs/r{n}.toml",
            "command": f"python train.py {n}",
            "start": "2026-12-01T00:00:00Z",
            "end": "2026-12-01T00:01:00Z",
            "status": 0,
            "data": [("data", f"sha256:{n}" + "0" * 63)],
            "outputs": [("out.json", f"sha256:{n}" + "1" * 63)],
        }

    _write_crate(bundle, META, None, [run(1), run(2)])
    graph = json.loads((bundle.root / "ro-crate-metadata.json").read_text())["@graph"]
    ids = [entity["@id"] for entity in graph]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    root = next(entity for entity in graph if entity["@id"] == "./")
    assert {"@id": "#run-0000000000000001"} in root["mentions"] and {"@id": "#run-0000000000000002"} in root["mentions"]


def test_a_local_project_is_no_pypi_package_in_the_crate() -> None:
    # A local project (`pip install -e .`) was the SoftwareApplication pkg:pypi/NAME@VERSION: the index's project of
    # that name. It has a local identifier, as it has no package URL in the SBOM.
    from envsnap.model import PythonPackage, Source
    from envsnap.paper import crate

    local = PythonPackage(name="mylab", version="0.3.0", source=Source(kind="directory", url="file://{project}"))
    graph = crate.build(sample_lock(local, seal=True), {}, META)["@graph"]
    [entity] = [e for e in graph if e.get("name") == "mylab"]
    assert entity["@id"] == "#local:mylab@0.3.0" and "identifier" not in entity
    assert not [e for e in graph if str(e.get("@id", "")).startswith("pkg:pypi/mylab")]


def test_an_audit_remedy_with_a_value_like_an_option_parses_as_given(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """A bundle whose CITATION.cff title is "-x" (or a licence, a DOI, an author starting with "-") got the remedy
    ``... --title -x ...``, which bundle refused ("argument --title: expected one argument") when pasted."""
    import shlex

    from envsnap.cli import build_parser

    (tmp_path / "b").mkdir()
    bundle = bundle_of(tmp_path / "b")
    (bundle.root / "CITATION.cff").write_text(
        'cff-version: 1.2.0\ntitle: "-x --force"\nauthors:\n  - name: "-Collective"\nlicense: MIT\n'
    )
    bundle.write_sums()
    result = cli("audit", bundle.root, "--json")
    remedy = next(i["remedy"] for i in json.loads(result.out)["items"] if i["id"] == "documented")
    words = shlex.split(remedy.split("&&")[-1])
    assert words[:2] == ["envsnap", "bundle"], remedy
    parsed = build_parser().parse_args(words[1:])
    assert (parsed.title, parsed.author) == ("-x --force", ["-Collective"]), remedy


def test_the_home_text_of_a_run_record_is_flagged_escaped_for_each_sink(tmp_path: Path) -> None:
    """Where a run's command still names the author's home as text (``command.unlabelled``), REPRODUCING.md lists
    each place with its text as a code span, and the appendix names the record and the words in Markdown and LaTeX:
    a record's name and the text are a stranger's values, and stay text in each."""
    from envsnap.artifacts.appendix import ArtifactFacts, RunHomeText, render_latex, render_markdown
    from envsnap.runs.summary import home_text_note

    note = home_text_note(2)
    places = [(2, "/home/alice/x*_y"), (5, "/home/alice/`z`")]
    run = {"record": "runs/a`b.toml", "home_text": places, "home_note": note}
    text = artifact._reproducing(bundle_of(tmp_path), META, [run], grade="Bundled")
    md_note = note.replace("~", r"\~")  # Markdown shows it as "~" (unescaped, GitHub strikes "~x~" through)
    assert f"``runs/a`b.toml``: {md_note}:\n\n- command word 2: `/home/alice/x*_y`\n" in text
    assert "- command word 5: `` /home/alice/`z` ``\n" in text
    facts = ArtifactFacts(home_text=(RunHomeText("runs/a&b_%#`*.toml", note, (2, 5)),))
    md = render_markdown(sample_lock(seal=True), facts)["appendix.md"].decode()
    assert f"- Run record ``runs/a&b_%#`*.toml``: {md_note} (command words 2, 5; `envsnap show` names it)\n" in md
    tex = render_latex(sample_lock(seal=True), facts)["appendix.tex"].decode()
    assert (
        r"Run record \texttt{runs/a\&b\allowbreak{}\_\%\#\textasciigrave{}*.to\allowbreak{}ml}: 2 places in the "
        r"command name the home or project folder of whoever recorded it, kept as written (not as \{project\} or "
        r"\textasciitilde{}): a rerun elsewhere gets this text unchanged (command words 2, 5; \texttt{envsnap show} "
        "names it)." in tex
    )


def test_reproducing_names_the_variables_a_run_recorded(tmp_path: Path) -> None:
    """``run --env SEED`` records what the command had set; rerun sets it again, but REPRODUCING.md said nothing of
    it, so a reader running the command by hand ran it without the seed. Each run's variables are listed now as the
    shell lines that set them for a command run after them: ``export`` with the value quoted, ``unset`` for one the
    run had unset. A list of code spans (`SEED='3 4'`, `WANDB_MODE unset`) set nothing when pasted: an assignment
    alone is not exported to the command, and ``WANDB_MODE unset`` is a command of its own."""
    run = {
        "record": "runs/train.toml",
        "home_text": [],
        "home_note": "",
        "variables": ["export SEED='3 4'", "unset WANDB_MODE"],
    }
    bundle = bundle_of(tmp_path)
    text = artifact._reproducing(bundle, META, [run], grade="Bundled")
    assert "`runs/train.toml` sets these variables for its command" in text, text
    assert "```sh\nexport SEED='3 4'\nunset WANDB_MODE\n```\n" in text, text
    plain = {"record": "runs/plain.toml", "home_text": [], "home_note": "", "variables": []}
    assert "sets these variables" not in artifact._reproducing(bundle, META, [plain], grade="Bundled")


def test_the_crate_says_where_a_runs_command_names_the_authors_home(tmp_path: Path) -> None:
    """A run record lists where its command still names its author's home as text (``command.unlabelled``), and
    REPRODUCING.md and the appendix say so; the crate's CreateAction carried that command in its ``name`` and said
    nothing, so a reviewer reading the crate alone met the author's path unwarned. Its ``description`` now says it,
    with the command words, as JSON text (escaped), and the crate still reads as an RO-Crate."""
    from rocrate.rocrate import ROCrate  # type: ignore[import-untyped]

    from envsnap.runs.summary import home_text_note

    bundle = bundle_of(tmp_path)
    places = [(3, '/home/alice/a"b\\c'), (3, "/home/alice/d"), (5, "/home/alice/e")]
    run = {
        "id": "#run-0000000000000001",
        "record": 'runs/a"b.toml',
        "command": "python -c pass '--msg=/home/alice/a\"b\\c'",
        "start": "2026-12-01T00:00:00Z",
        "end": "2026-12-01T00:01:00Z",
        "status": 0,
        "home_text": places,
        "home_note": home_text_note(len(places)),
    }
    plain = {**run, "id": "#run-0000000000000002", "record": "runs/plain.toml", "home_text": [], "home_note": ""}
    artifact._write_crate(bundle, META, None, [run, plain])
    graph = json.loads((bundle.root / "ro-crate-metadata.json").read_text())["@graph"]
    actions = {e["@id"]: e for e in graph if e["@type"] == "CreateAction"}
    assert actions["#run-0000000000000001"]["description"] == (
        "exit status 0; recorded by envsnap run. 3 places in the command name the home or project folder of "
        "whoever recorded it, kept as written (not as {project} or ~): a rerun elsewhere gets this text unchanged "
        '(command words 3, 5; envsnap show runs/a"b.toml names them)'
    )
    assert actions["#run-0000000000000002"]["description"] == "exit status 0; recorded by envsnap run"
    loaded = ROCrate(bundle.root)
    assert "3 places in the command name" in loaded.dereference("#run-0000000000000001")["description"]


def test_the_crate_records_the_variables_a_run_had(tmp_path: Path) -> None:
    """``run --env SEED`` records what the command had set; REPRODUCING.md and the appendix name it, but the crate's
    CreateAction did not, so a reader of the crate alone reran without the seed. Each set variable is a
    ``PropertyValue`` in its ``environment`` (Process Run Crate's environment variable settings, a term the
    ``@context`` defines), the value exact as JSON text; one unset at the run's start is said so in the
    description, not given an empty value."""
    from rocrate.rocrate import ROCrate

    from envsnap.paper import crate

    bundle = bundle_of(tmp_path)
    value = '3 "x" \\ </script> `y` %s'
    run = {
        "id": "#run-0000000000000001",
        "record": "runs/seeded.toml",
        "command": "python train.py",
        "start": "2026-12-01T00:00:00Z",
        "end": "2026-12-01T00:01:00Z",
        "status": 0,
        "home_text": [],
        "home_note": "",
        "env": [("SEED", value), ("WANDB_MODE", None)],
    }
    plain = {**run, "id": "#run-0000000000000002", "record": "runs/plain.toml", "env": []}
    artifact._write_crate(bundle, META, None, [run, plain])
    doc = json.loads((bundle.root / crate.NAME).read_text())
    term = "https://w3id.org/ro/terms/workflow-run#environment"
    assert any(isinstance(c, dict) and c.get("environment") == term for c in doc["@context"]), doc["@context"]
    entities = {e["@id"]: e for e in doc["@graph"]}
    action = entities["#run-0000000000000001"]
    setting = entities[action["environment"]["@id"]]  # one setting: a single value, not an array of one
    assert (setting["@type"], setting["name"], setting["value"]) == ("PropertyValue", "SEED", value)
    assert "WANDB_MODE unset" in action["description"], action["description"]
    assert "environment" not in entities["#run-0000000000000002"]
    loaded = ROCrate(bundle.root)
    assert loaded.dereference(action["environment"]["@id"])["value"] == value


def test_the_papers_link_in_the_appendix_and_reproducing_md_is_the_crates_percent_encoded_url(
    tmp_path: Path,
) -> None:
    """A DOI may hold any printable character (SICI DOIs hold ``<``, ``>`` and ``#``): the crate's citation was
    percent-encoded, but the appendix (Markdown and LaTeX) and REPRODUCING.md wrote ``https://doi.org/`` and the DOI
    as it stands, a link that stops at its ``#`` (``https://doi.org/10.1002/(SICI)...;2-#``: the reader's browser
    asks doi.org for a DOI without its last character)."""
    import dataclasses

    from envsnap.paper.metadata import parse_doi

    doi = parse_doi("10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-#")
    meta = dataclasses.replace(META, doi=doi)
    url = "https://doi.org/10.1002/(SICI)1097-4571(199806)49:8%3C693::AID-ASI4%3E3.0.CO;2-%23"
    assert meta.doi_url == url
    bundle = bundle_of(tmp_path)
    bundle.write_sums()
    artifact.add_artifact(bundle.root, meta)
    assert f"`{url}`" in (bundle.root / "appendix.md").read_text()
    assert f"`{url}`" in (bundle.root / "REPRODUCING.md").read_text()
    tex = (bundle.root / "appendix.tex").read_text()
    paper = next(line for line in tex.splitlines() if line.startswith("Paper: "))
    shown = paper.removeprefix("Paper: \\texttt{").removesuffix("}.").replace("\\allowbreak{}", "")
    assert shown == url.replace("%", "\\%"), paper


def test_an_organisation_the_citation_cff_names_stays_one_author_in_each_file(tmp_path: Path) -> None:
    """A CITATION.cff entity (``name: "The Ω Consortium"``, no family name) was split as a person's name: the
    artifact's CITATION.cff and .zenodo.json named a person "Consortium, The Ω", and the RO-Crate a Person."""
    from envsnap.paper import citation, crate
    from envsnap.paper.metadata import from_cff

    cff_file = tmp_path / "CITATION.cff"
    cff_file.write_text(
        'cff-version: 1.2.0\ntitle: T\nauthors:\n  - name: "The Ω Consortium"\n'
        "  - family-names: Lovelace\n    given-names: Ada\nlicense: MIT\n",
        encoding="utf-8",
    )
    meta = from_cff(cff_file)
    lock = sample_lock(seal=True)
    text = citation.cff(meta, lock)
    assert '  - name: "The Ω Consortium"\n' in text and "Consortium" not in text.replace('"The Ω Consortium"', "")
    assert '  - family-names: "Lovelace"\n    given-names: "Ada"\n' in text
    (tmp_path / "again.cff").write_text(text, encoding="utf-8")
    assert from_cff(tmp_path / "again.cff", artifact=True).authors == meta.authors  # a bundle made again keeps it
    creators = [c["name"] for c in citation.zenodo(meta, lock)["creators"]]
    assert creators == ["The Ω Consortium", "Lovelace, Ada"]
    graph = crate.build(lock, {}, meta)["@graph"]
    types = {e["name"]: e["@type"] for e in graph if str(e["@id"]).startswith("#author-")}
    assert types == {"The Ω Consortium": "Organization", "Ada Lovelace": "Person"}


def test_an_author_given_by_the_name_the_citation_cff_lists_keeps_that_entry(tmp_path: Path) -> None:
    """The audit's remedy names an organisation of the CITATION.cff as ``--author='The Ω Consortium'``; made again
    with it, the bundle split it as a person ("Consortium, The Ω"). An ``--author`` whose name the project's
    CITATION.cff lists is that entry (an entity stays one; a person keeps the parts the file gave), with the
    command line's ORCID iD where it gives one; a name the file does not list is read as before."""
    from envsnap.paper.metadata import from_args, resolve

    (tmp_path / "CITATION.cff").write_text(
        'cff-version: 1.2.0\ntitle: T\nauthors:\n  - name: "The Ω Consortium"\n'
        "  - family-names: de la Cruz\n    given-names: Maria\nlicense: MIT\n",
        encoding="utf-8",
    )
    args = from_args(None, ["The Ω Consortium", "Maria de la Cruz <0000-0002-1825-0097>", "Ada Lovelace"], None, None)
    authors = resolve(args, tmp_path).authors
    assert [(a.name, a.entity) for a in authors] == [
        ("The Ω Consortium", True),
        ("Maria de la Cruz", False),
        ("Ada Lovelace", False),
    ]
    assert authors[0].parts.family == "" and authors[1].parts.family == "de la Cruz"  # as the file gave it
    assert authors[1].orcid == "0000-0002-1825-0097"


def test_the_audit_remedy_run_in_the_artifact_folder_keeps_the_code_swhid(tmp_path: Path) -> None:
    """The audit's remedy (``envsnap bundle ./envsnap.lock -o . --artifact ...``, run in the artifact's folder,
    which is in no git work tree) made the artifact again without the code's SWHID ("no SWHID: ... not a git
    repository"): CITATION.cff, .zenodo.json and the crate lost it, and ``code-identified`` fell short."""
    import subprocess

    from envsnap.model import Project
    from envsnap.paper.audit import audit

    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text("print(1)\n")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", *args], cwd=project, env={**env, "PATH": "/usr/bin:/bin"}, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    root = tmp_path / "bundle"
    root.mkdir()
    lockfile.dump(sample_lock(seal=True, project=Project(commit=commit)), root / "envsnap.lock")
    first = artifact.add_artifact(root, META, project=project)
    assert first.code is not None
    swhid = first.code.directory
    again = artifact.add_artifact(root, META, project=None)  # the remedy, from the artifact's folder
    assert again.code is not None and again.code.directory == swhid
    assert swhid in (root / "CITATION.cff").read_text() and swhid in (root / ".zenodo.json").read_text()
    item = next(i for i in audit(root).items if i.id == "code-identified")
    assert item.ok, item.detail
    assert any("kept" in note and swhid in note for note in again.notes), again.notes


def test_no_swhid_outside_the_project_says_to_name_it(tmp_path: Path) -> None:
    """``bundle supp/envsnap.lock -o supp --artifact ...`` (the audit's remedy) run where the working directory and
    the lock's folder are in no git work tree noted "no SWHID: supp: git rev-parse failed: fatal: not a git
    repository ...", which said nothing of what to do: the note names --project and the commit it must hold."""
    from envsnap.model import Project

    root = tmp_path / "supp"
    root.mkdir()
    commit = "5" * 40
    lockfile.dump(sample_lock(seal=True, project=Project(commit=commit)), root / "envsnap.lock")
    result = artifact.add_artifact(root, META, project=root)
    assert result.code is None
    [note] = [n for n in result.notes if n.startswith("no SWHID: ")]
    assert note.startswith(f"no SWHID: {root}: git rev-parse failed: "), note
    assert note.endswith(f"; pass --project DIR, a git work tree of the project holding commit {commit[:12]}"), note
    assert "\n" not in note


def test_reproducing_md_offers_the_conda_target_only_for_a_conda_lock(tmp_path: Path) -> None:
    """REPRODUCING.md of a pip environment's artifact said the rebuild provides its Python "with `--target conda`
    or `--target docker`", and a reviewer's `rebuild --target conda` of that lock is refused (no conda packages).
    It names the conda target only where the lock has conda packages."""
    from envsnap.model import Conda, CondaPackage

    (tmp_path / "pip").mkdir()
    pip_only = artifact._reproducing(bundle_of(tmp_path / "pip"), META, [], grade="Bundled")
    assert "(the rebuild provides it with `--target docker`; `--target venv`" in pip_only, pip_only
    assert "--target conda" not in pip_only
    root = tmp_path / "conda" / "bundle"
    root.mkdir(parents=True)
    python = CondaPackage(name="python", version="3.11.7", build="h0", channel="conda-forge", subdir="linux-64")
    lockfile.dump(sample_lock(seal=True, conda=Conda(subdir="linux-64", packages=(python,))), root / "envsnap.lock")
    with_conda = artifact._reproducing(Bundle(root), META, [], grade="Bundled")
    assert "(the rebuild provides it with `--target conda` or `--target docker`;" in with_conda


def test_a_title_with_tildes_shows_as_written_where_github_renders_reproducing_md(tmp_path: Path) -> None:
    """GitHub's Markdown strikes through text between tildes: a title "~~2x~~ faster on ~8 GPUs" showed its "2x"
    struck out in REPRODUCING.md's heading (``md_text`` escaped emphasis, code and links, not the tilde)."""
    import html

    from markdown_it import MarkdownIt

    title = "~~2x~~ faster on ~8 GPUs ~ less"
    meta = ArtifactMeta(title=title, authors=(Author("Ada Lovelace"),), license="MIT")
    text = artifact._reproducing(bundle_of(tmp_path), meta, [], grade="Bundled")
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    assert "<s>" not in rendered and "<del>" not in rendered
    heading = rendered.split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert html.unescape(heading) == f"{title}: how to reproduce"


def test_the_crate_writes_a_runs_bidi_and_line_separator_characters_as_escapes(tmp_path: Path) -> None:
    """A run record's variable value may hold a bidirectional formatting character or U+2028 (a record's text
    rules refuse control characters only): the crate wrote them raw, so an editor or a forge showed
    ``ro-crate-metadata.json`` reordered or a string broken in two, which the lock's JSON export never does. They are
    ``\\uXXXX`` escapes now: the same JSON value."""
    from envsnap.paper import crate

    bundle = bundle_of(tmp_path)
    value = "3\u202e; rm -rf ~\u2069\u2028x"
    run = {
        "id": "#run-0000000000000001",
        "record": "runs/seeded.toml",
        "command": "python train.py",
        "start": "2026-12-01T00:00:00Z",
        "end": "2026-12-01T00:01:00Z",
        "status": 0,
        "home_text": [],
        "home_note": "",
        "env": [("SEED", value)],
    }
    artifact._write_crate(bundle, META, None, [run])
    text = (bundle.root / crate.NAME).read_text(encoding="utf-8")
    assert not {"\u202e", "\u2069", "\u2028"} & set(text), text
    assert "\\u202e" in text.lower() and "\\u2028" in text.lower()
    entities = {e["@id"]: e for e in json.loads(text)["@graph"]}
    assert entities["#run-0000000000000001-env-1"]["value"] == value


def test_audit_of_cuda_runtime_wheels_and_no_framework_asks_for_the_gpu_stack(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # The CUDA 12 and CUDA 13 runtime wheels, no framework, no runtime a binary selects: check and show judge it a
    # CUDA 13.0 lock, yet the audit's gpu-stack item said "CPU-only environment: no GPU stack to record" and was ok.
    from envsnap.model import Cuda, CudaLibrary, PythonPackage

    wheels = (
        PythonPackage(name="nvidia-cuda-runtime", version="13.0.96"),
        PythonPackage(name="nvidia-cuda-runtime-cu12", version="12.8.90"),
    )
    copies = (
        CudaLibrary("runtime", "13.0.96", "pip", "nvidia-cuda-runtime"),
        CudaLibrary("runtime", "12.8.90", "pip", "nvidia-cuda-runtime-cu12"),
    )
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(*wheels, seal=True, cuda=Cuda(toolkit_version="13.0", copies=copies)), lock)
    result = cli("audit", lock, "--json")
    gpu = next(i for i in json.loads(result.out)["items"] if i["id"] == "gpu-stack")
    assert not gpu["ok"] and "CPU-only" not in gpu["detail"], gpu
    assert gpu["detail"].startswith("GPU stack not recorded: driver"), gpu
    assert gpu["remedy"] == "run envsnap capture on the GPU machine the results came from", gpu
    # A toolkit beside no CUDA wheel and no CUDA build is still CPU-only.
    lockfile.dump(sample_lock(seal=True, cuda=Cuda(toolkit_version="13.0")), lock)
    gpu = next(i for i in json.loads(cli("audit", lock, "--json").out)["items"] if i["id"] == "gpu-stack")
    assert gpu["ok"] and gpu["detail"] == "CPU-only environment: no GPU stack to record", gpu


def test_audit_of_cuda_runtime_wheels_captured_on_the_gpu_machine_is_ok(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # What a capture of runtime wheels without a framework records on the GPU machine: the driver, the GPUs and
    # every copy of the wheels, none selected (nothing preloads them: runtime_version and cudnn_version stay "").
    # The audit asked for a "CUDA runtime" and cuDNN that no capture of such an environment can record.
    from envsnap.model import Cuda, CudaLibrary, Gpu, Hardware, Nvidia, PythonPackage

    wheels = (
        PythonPackage(name="nvidia-cuda-runtime-cu12", version="12.9.79"),
        PythonPackage(name="nvidia-cudnn-cu12", version="9.28.0.42"),
    )
    copies = (
        CudaLibrary("runtime", "12.9.79", "pip", "nvidia-cuda-runtime-cu12"),
        CudaLibrary("runtime", "13.0.96", "system", "/usr/local/cuda-13.0/lib/libcudart.so.13"),
        CudaLibrary("cudnn", "9.28.0.42", "pip", "nvidia-cudnn-cu12"),
    )
    gpus = (Gpu(index=0, name="NVIDIA H100 80GB HBM3", compute_capability="9.0", memory_mib=81920),)
    captured = sample_lock(
        *wheels,
        nvidia=Nvidia(driver_version="550.54.14", cuda_driver_version="12.4", source="nvml"),
        hardware=Hardware(gpus=gpus),
        cuda=Cuda(toolkit_version="13.0", copies=copies),
    )
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(lockfile.seal(captured), lock)
    result = cli("audit", lock, "--json")
    gpu = next(i for i in json.loads(result.out)["items"] if i["id"] == "gpu-stack")
    assert gpu["ok"] and gpu["remedy"] == "", gpu
    assert gpu["detail"] == (
        "GPU stack recorded (driver, CUDA runtime wheels nvidia-cuda-runtime-cu12 12.9.79, compute capabilities)"
    ), gpu
    # Only a system copy of the runtime (none of the environment's own): its wheel is not recorded as a copy, and
    # the audit says so.
    lockfile.dump(lockfile.seal(dataclasses.replace(captured, cuda=Cuda(copies=copies[1:]))), lock)
    gpu = next(i for i in json.loads(cli("audit", lock, "--json").out)["items"] if i["id"] == "gpu-stack")
    assert not gpu["ok"] and gpu["detail"] == "GPU stack not recorded: CUDA runtime", gpu
    # A framework built for CUDA selects its runtime and cuDNN: a lock of one that records neither still lacks them.
    from envsnap.model import Framework

    torch = PythonPackage(name="torch", version="2.7.1+cu128")
    with_torch = dataclasses.replace(
        captured,
        python=sample_lock(torch, *wheels).python,
        frameworks={"torch": Framework(name="torch", version="2.7.1+cu128", cuda_version="12.8")},
    )
    lockfile.dump(lockfile.seal(with_torch), lock)
    gpu = next(i for i in json.loads(cli("audit", lock, "--json").out)["items"] if i["id"] == "gpu-stack")
    assert not gpu["ok"] and gpu["detail"] == "GPU stack not recorded: CUDA runtime, cuDNN", gpu


def test_audit_of_a_lock_whose_driver_did_not_answer_at_capture_says_so(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # Captured on the GPU machine, whose driver did not answer (nvidia.error, no version, no GPU): the audit said
    # only "driver ... not recorded" and to capture on the GPU machine, which gives the same lock again.
    from envsnap.model import Cuda, CudaLibrary, Nvidia, PythonPackage

    wheel = PythonPackage(name="nvidia-cuda-runtime-cu12", version="12.9.79")
    copies = (CudaLibrary("runtime", "12.9.79", "pip", "nvidia-cuda-runtime-cu12"),)
    lock = tmp_path / "envsnap.lock"
    dead = Nvidia(source="nvml", error="nvmlInit: Driver Not Loaded")
    lockfile.dump(sample_lock(wheel, seal=True, nvidia=dead, cuda=Cuda(copies=copies)), lock)
    gpu = next(i for i in json.loads(cli("audit", lock, "--json").out)["items"] if i["id"] == "gpu-stack")
    assert not gpu["ok"], gpu
    assert gpu["detail"] == (
        "GPU stack not recorded: driver (it did not answer at capture: nvmlInit: Driver Not Loaded), "
        "GPUs and their compute capability"
    ), gpu
    assert gpu["remedy"] == (
        "make the NVIDIA driver answer (`nvidia-smi` shows what fails), then run envsnap capture on the GPU machine "
        "the results came from"
    ), gpu
    hung = Nvidia(source="nvml", error="NVML did not answer within 10 s (a hung driver?)")
    lockfile.dump(sample_lock(wheel, seal=True, nvidia=hung, cuda=Cuda(copies=copies)), lock)
    gpu = next(i for i in json.loads(cli("audit", lock, "--json").out)["items"] if i["id"] == "gpu-stack")
    assert gpu["remedy"].endswith(
        "; a driver slow to start rather than hung may need envsnap capture --gpu-timeout SECONDS"
    ), gpu


def test_audit_of_a_runtime_a_binary_loads_asks_for_no_cudnn_nothing_loads(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # No framework; an extension of the environment links libcudart, which a capture selects (runtime_version), and
    # nothing loads cuDNN: a capture records none, and the audit asked for one all the same.
    from envsnap.model import Cuda, CudaLibrary, Gpu, Hardware, Nvidia, PythonPackage

    copies = (CudaLibrary("runtime", "12.9.79", "pip", "nvidia-cuda-runtime-cu12", selected=True),)
    captured = sample_lock(
        PythonPackage(name="nvidia-cuda-runtime-cu12", version="12.9.79"),
        PythonPackage(name="cudaext", version="1.0"),
        nvidia=Nvidia(driver_version="575.51.03", cuda_driver_version="12.9", source="nvml"),
        hardware=Hardware(gpus=(Gpu(index=0, name="NVIDIA L4", compute_capability="8.9", memory_mib=23034),)),
        cuda=Cuda(runtime_version="12.9.79", runtime_source="pip", copies=copies),
    )
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(lockfile.seal(captured), lock)
    gpu = next(i for i in json.loads(cli("audit", lock, "--json").out)["items"] if i["id"] == "gpu-stack")
    assert gpu["ok"] and gpu["detail"] == "GPU stack recorded (driver, CUDA, compute capabilities)", gpu
    # Where a binary loads cuDNN too, the capture records it, and the audit names it.
    with_cudnn = dataclasses.replace(captured, cuda=dataclasses.replace(captured.cuda, cudnn_version="9.10.2.21"))
    lockfile.dump(lockfile.seal(with_cudnn), lock)
    gpu = next(i for i in json.loads(cli("audit", lock, "--json").out)["items"] if i["id"] == "gpu-stack")
    assert gpu["ok"] and gpu["detail"] == "GPU stack recorded (driver, CUDA, cuDNN, compute capabilities)", gpu


def test_the_ro_crate_of_a_lock_without_a_capture_time_is_still_dated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An imported lock (`envsnap import requirements.txt`) records no capture time, and its artifact's RO-Crate
    had no ``datePublished``, which RO-Crate 1.1 requires of the root dataset (the RO-Crate validator: 'The Root
    Data Entity MUST have a datePublished property'). It is the day the artifact is made, UTC, or the day of
    ``SOURCE_DATE_EPOCH`` where a build sets it (the same bytes each time)."""
    import datetime

    from envsnap.paper import crate

    def root_of(folder: Path) -> dict[str, Any]:
        folder.mkdir()
        lock = sample_lock(seal=True)
        lock = lockfile.seal(dataclasses.replace(lock, envsnap=dataclasses.replace(lock.envsnap, created="")))
        lockfile.dump(lock, folder / "envsnap.lock")
        artifact._write_crate(Bundle(folder), META, None, [])
        doc = json.loads((folder / crate.NAME).read_text())
        return next(e for e in doc["@graph"] if e["@id"] == "./")

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    published = root_of(tmp_path / "today")["datePublished"]
    assert published in (before, datetime.datetime.now(datetime.timezone.utc).date().isoformat()), published
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    assert root_of(tmp_path / "epoch")["datePublished"] == "2026-01-01"


def _committed_project(tmp_path: Path) -> tuple[Path, str]:
    import subprocess

    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text("print(1)\n")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", *args], cwd=project, env={**env, "PATH": "/usr/bin:/bin"}, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    return project, commit


@pytest.mark.parametrize("dirty", [True, False])
def test_code_captured_with_uncommitted_changes_is_not_named_as_the_exact_code(tmp_path: Path, dirty: bool) -> None:
    """A lock captured in a dirty work tree (``project.dirty``): the crate's ``SoftwareSourceCode``, CITATION.cff's
    swh identifier, .zenodo.json and the appendix's ``Code:`` line named the commit's code as the code, as for a clean
    one. Each says the changes were made and that neither the SWHID nor the commit holds them; a clean one is as
    before, and so is the appendix the bundle's files give back (``appendix_facts``)."""
    from envsnap.model import Project

    project, commit = _committed_project(tmp_path)
    diff = "sha256:" + "d" * 64
    root = tmp_path / "bundle"
    root.mkdir()
    captured = Project(commit=commit, dirty=dirty, diff_digest=diff if dirty else "")
    lockfile.dump(sample_lock(seal=True, project=captured), root / "envsnap.lock")
    result = artifact.add_artifact(root, META, project=project)
    assert result.code is not None
    swhid = result.code.directory
    note = (
        f"captured with uncommitted changes (diff {diff}), which neither this identifier nor the commit holds: "
        "not the exact code"
    )
    import yaml  # type: ignore[import-untyped]

    cff = yaml.safe_load((root / "CITATION.cff").read_text())
    (swh,) = [i for i in cff["identifiers"] if i["type"] == "swh"]
    assert swh["value"] == swhid
    assert swh["description"] == f"The project's code at commit {commit}" + (f", {note}" if dirty else "")
    zenodo = json.loads((root / ".zenodo.json").read_text())
    assert (note in zenodo["description"]) is dirty, zenodo["description"]
    crate = json.loads((root / "ro-crate-metadata.json").read_text())
    (code,) = [e for e in crate["@graph"] if e.get("@type") == "SoftwareSourceCode"]
    assert code["version"] == commit and code["identifier"] == [swhid, f"swh:1:rev:{commit}"]
    if dirty:
        assert code["name"] == f"the project's code at commit {commit}, without its uncommitted changes"
        assert code["description"] == f"The environment was {note}."
    else:
        assert code["name"] == "the project's code" and "description" not in code
    (line,) = [x for x in (root / "appendix.md").read_text().splitlines() if x.startswith("- Code: ")]
    tail = (
        f", captured with uncommitted changes (diff `{diff}`), which neither this identifier nor the commit holds: "
        "not the exact code"
    )
    assert line == f"- Code: `{swhid}` (git commit `{commit}`{tail if dirty else ''})"
    tex = (root / "appendix.tex").read_text()
    assert ("captured with uncommitted changes (diff \\texttt{sha256:" in tex) is dirty
    assert ("which neither this identifier nor the commit holds: not the exact code)." in tex) is dirty
    # What a later command gives back from the bundle's files (the appendix made again) says the same.
    facts, unread = artifact.appendix_facts(Bundle(root))
    assert facts is not None and not unread and (facts.dirty, facts.diff_digest) == (dirty, diff if dirty else "")


def _one_run(n: int = 1, *, status: int = 0) -> dict[str, object]:
    return {
        "id": f"#run-{n:016d}",
        "record": f"runs/r{n}.toml",
        "command": f"python train.py {n}",
        "start": "2026-12-01T00:00:00.250Z",
        "end": "2026-12-01T01:00:00+01:00",
        "status": status,
        "data": [("data", "sha256:" + "1" * 64)],
        "outputs": [("out.json", "sha256:" + "2" * 64)],
        "env": [("SEED", "3")],
        "home_text": [],
        "home_note": "",
    }


def test_the_crate_gives_the_run_its_agent_the_environment_its_version_and_single_values_alone(
    tmp_path: Path,
) -> None:
    """Process Run Crate 0.5 recommends of the run an ``agent`` (a Person or Organization), and of the application it
    ran with a version; RO-Crate 1.1 recommends a single value written as itself. The crate had no agent, no
    ``softwareVersion`` on ``#environment``, one-item arrays (the author, the run's one input and output and
    variable, both ``conformsTo``), times ending ``Z`` and the status as an ``@id`` (the profile's checks read
    neither)."""
    bundle = bundle_of(tmp_path)
    artifact._write_crate(bundle, META, None, [_one_run()])
    doc = json.loads((bundle.root / "ro-crate-metadata.json").read_text())
    by_id = {e["@id"]: e for e in doc["@graph"]}
    root, descriptor = by_id["./"], by_id["ro-crate-metadata.json"]
    assert descriptor["conformsTo"] == {"@id": "https://w3id.org/ro/crate/1.1"}
    assert root["conformsTo"] == {"@id": "https://w3id.org/ro/wfrun/process/0.5"}
    assert root["author"] == {"@id": "#author-1"} and by_id["#author-1"]["@type"] == "Person"
    environment = by_id["#environment"]
    assert environment["softwareVersion"] == bundle.lock.envsnap.content_digest
    action = by_id["#run-0000000000000001"]
    assert action["agent"] == {"@id": "#author-1"}
    assert action["object"] == {"@id": "#run-0000000000000001-data-1"}
    assert action["result"] == {"@id": "#run-0000000000000001-outputs-1"}
    assert action["environment"] == {"@id": "#run-0000000000000001-env-1"}
    assert action["startTime"] == "2026-12-01T00:00:00.250+00:00"
    assert action["endTime"] == "2026-12-01T00:00:00.000+00:00"  # the record's +01:00, in UTC
    assert action["actionStatus"] == "http://schema.org/CompletedActionStatus"
    # Two authors, two runs: arrays, each run's agent both authors, a failed run so said.
    two = ArtifactMeta(title="T", authors=(Author("Ada Lovelace"), Author("Alan Turing")), license="MIT")
    artifact._write_crate(bundle, two, None, [_one_run(1), _one_run(2, status=1)])
    by_id = {e["@id"]: e for e in json.loads((bundle.root / "ro-crate-metadata.json").read_text())["@graph"]}
    assert by_id["./"]["author"] == [{"@id": "#author-1"}, {"@id": "#author-2"}]
    assert by_id["#run-0000000000000002"]["agent"] == [{"@id": "#author-1"}, {"@id": "#author-2"}]
    assert by_id["#run-0000000000000002"]["actionStatus"] == "http://schema.org/FailedActionStatus"
    assert {"@id": "#run-0000000000000002"} in by_id["./"]["mentions"]


# What the crate does not meet of the recommended level, said in docs/artifact.md with why: the url of each application
# and an http(s) @id (each package is named by its package URL, the code by its SWHID, the environment by a local
# id), the root's publisher and the authors' affiliations (envsnap is told neither).
UNMET_RECOMMENDED = {
    "process-run-crate-0.5_3.2",
    "process-run-crate-0.5_5.1",
    "ro-crate-1.1_22.3",
    "ro-crate-1.1_30.2",
    "ro-crate-1.1_30.3",
}


@pytest.fixture(scope="session")
def roc_validator() -> str:
    """The python of roc-validator's own venv (.ci/roc-validator.sh makes it where .ci/services.sh has not): it pins
    rich<14, which envsnap's terminal tests cannot run with, so it is no test dependency (docs/design.md)."""
    made = subprocess.run(
        ["bash", str(Path(__file__).resolve().parents[2] / ".ci" / "roc-validator.sh")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if made.returncode != 0:
        pytest.skip(f"roc-validator cannot be installed here: {made.stderr.strip()[-300:]}")
    return made.stdout.strip()


def _validate_offline(path: Path, python: str) -> set[tuple[str, str]]:
    """roc-validator's issues with the crate at ``path`` (Process Run Crate 0.5 and RO-Crate 1.1, recommended
    level) as (severity, check id), run in its venv by tests/paper/_roc_validate.py, offline."""
    script = Path(__file__).with_name("_roc_validate.py")
    done = subprocess.run([python, str(script), str(path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return {(severity, check) for severity, check in json.loads(done.stdout)}


def test_the_crate_meets_process_run_crate_and_ro_crate_at_the_level_the_docs_state(
    tmp_path: Path, roc_validator: str
) -> None:
    """roc-validator, at the recommended level: every REQUIRED check of RO-Crate 1.1 and Process Run Crate 0.5
    passes, and of the recommended ones only those docs/artifact.md names as not met fail (the run's agent, the
    environment's version, single values, the times and the status did, before)."""
    from envsnap.model import PythonPackage

    lock = sample_lock(PythonPackage(name="six", version="1.16.0"), seal=True)
    root = tmp_path / "bundle"
    root.mkdir()
    lockfile.dump(lock, root / "envsnap.lock")
    (root / "runs").mkdir()
    artifact._write_crate(Bundle(root), META, None, [_one_run()])
    issues = _validate_offline(root, roc_validator)
    assert not [i for i in issues if i[0] == "REQUIRED"], sorted(issues)
    assert {check for _, check in issues} == UNMET_RECOMMENDED, sorted(issues)


def test_bundle_artifact_says_the_grade_once(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """``bundle --artifact`` printed the grade twice, ``audit: Bundled, ...`` and then ``artifact: Bundled, ...``:
    the same fact on two lines. It is said once, on the ``artifact:`` line."""
    project = tmp_path / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    lock = lockfile.dump(sample_lock(), project / "envsnap.lock")
    made = cli("bundle", lock, "-o", project / "art", "--artifact", "--title", "T", "--author", "Ada Lovelace",
               "--license", "MIT", "--project", project)  # fmt: skip
    assert made.code == 0, made
    (grade,) = [line for line in made.err.splitlines() if line.lstrip().startswith("artifact: ")]
    said = grade.split("artifact: ", 1)[1]
    assert sum(said in line for line in made.err.splitlines()) == 1, made.err


def test_audit_of_an_archive_names_a_record_that_does_not_load_as_a_member_not_a_temporary_path(
    tmp_path: Path,
) -> None:
    # run-recorded said "r.toml: /tmp/envsnap-audit-XXXX/bundle/runs/r.toml: not valid TOML ...": a folder the
    # audit had already removed, where every other item names the member (supp.tar.gz: runs/r.toml).
    from envsnap.artifacts.bundle import write_archive
    from envsnap.paper.audit import audit

    bundle = bundle_of(tmp_path)
    (bundle.root / "runs").mkdir()
    (bundle.root / "runs" / "r.toml").write_text("not = [toml\n")
    bundle.write_sums()
    archive = tmp_path / "supp.tar.gz"
    write_archive(bundle.root, archive)
    item = next(i for i in audit(archive).items if i.id == "run-recorded")
    assert not item.ok
    assert item.detail.startswith(f"r.toml: {archive}: runs/r.toml: not valid TOML"), item.detail
    assert "envsnap-audit-" not in item.detail


def test_the_grade_says_the_rung_reached_and_what_the_next_rung_needs(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """A pinned lock was graded "Pinned, not Functional-ready: 3 items": the next badge, skipping the next rung
    (Bundled), with a count of items from two rungs. The grade says the rung reached and what the next one needs."""
    lock = lockfile.dump(sample_lock(seal=True), tmp_path / "envsnap.lock")
    result = cli("audit", lock)
    assert result.code == 0, result
    assert result.out.strip().splitlines()[-1] == "Pinned reached; Bundled needs 1 item: files-bundled", result
    graded = json.loads(cli("audit", lock, "--json").out)
    assert graded["grade"] == "Pinned reached; Bundled needs 1 item: files-bundled"
    assert graded["level"] == "pinned"


def test_each_remedy_of_the_audit_table_is_printed_whole_on_one_line(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """The audit's table folded its remedy column to a few characters a line (``envsnap bundle /tmp/.../sup``,
    ``p/envsnap.lo``, ``ck -o ...``), on a terminal as in a pipe or a CI log: a command no one could copy and paste
    from between the table's borders. Each short item's remedy is one line of its own under the table."""
    folder = tmp_path / "reviewer copy of the supplementary material"
    lock = lockfile.dump(sample_lock(seal=True), folder / "envsnap.lock")
    graded = json.loads(cli("audit", lock, "--json").out)
    remedy = next(i["remedy"] for i in graded["items"] if i["id"] == "files-bundled")
    assert shlex.split(remedy)[:3] == ["envsnap", "bundle", str(lock)], remedy
    result = cli("audit", lock)
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert f"remedy for files-bundled: {remedy}" in lines, result.out
    assert lines[-1] == "Pinned reached; Bundled needs 1 item: files-bundled", result.out


def test_a_run_at_another_commit_of_the_same_environment_is_said_so_not_another_environment(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """The run was recorded with a lock captured at commit A; the lock bundled was captured again at commit B, the
    same packages and interpreter. ``bundle --artifact --run`` said "(another environment)", and the audit the same
    of the record kept in the bundle: it says what differs, the commit, with the run's and the lock's."""
    from envsnap.model import Project

    run_at, lock_at = "a" * 40, "b" * 40
    used = sample_lock(project=Project(commit=run_at), seal=True)
    lock = lockfile.dump(sample_lock(project=Project(commit=lock_at), seal=True), tmp_path / "envsnap.lock")
    time = "2026-12-01T10:00:00.000Z"
    record = run_record.sealed(
        run_record.RunRecord(
            run=run_record.Meta(generator="envsnap 0.1.0", created=time),
            command=run_record.Command(argv=("python", "train.py")),
            result=run_record.Outcome(started=time, ended=time, duration_ms=1, exit_status=0),
            environment=run_record.Environment(
                lock="envsnap.lock",
                lock_digest=used.envsnap.content_digest,
                lock_identity=lockfile.identity_digest(lockfile.to_dict(used)),
            ),
            code=run_record.Code(vcs="git", commit=run_at),
        )
    )
    run = run_record.dump(record, tmp_path / "run.toml")
    words = ("--artifact", "--title", "T", "--author", "A", "--license", "MIT", "--run", run)
    result = cli("bundle", lock, "-o", tmp_path / "b", *words)
    assert result.code == 2 and not (tmp_path / "b").exists(), result
    assert "another environment" not in result.err, result
    said = (
        "the same packages and interpreter, another commit of the project: "
        f"the run at {run_at[:12]}, the lock at {lock_at[:12]}"
    )
    assert said in result.err, result
    # The same record kept in a bundle of that lock: the audit names the commit too.
    (tmp_path / "kept").mkdir()
    bundle = bundle_of(tmp_path / "kept")
    lockfile.dump(lockfile.load(lock), bundle.root / "envsnap.lock")
    (bundle.root / "runs").mkdir()
    run_record.dump(record, bundle.root / "runs" / "run.toml")
    bundle.write_sums()
    graded = json.loads(cli("audit", bundle.root, "--json").out)
    (item,) = [i for i in graded["items"] if i["id"] == "run-recorded"]
    assert not item["ok"] and said in item["detail"], item


@pytest.mark.parametrize(
    ("exit_status", "signal", "interrupted", "said"),
    [(1, "", False, "exit 1"), (143, "SIGTERM", True, "exit 143 (SIGTERM), interrupted")],
)
def test_a_run_whose_command_failed_or_was_interrupted_is_no_run_recorded(
    tmp_path: Path, cli: Callable[..., Any], exit_status: int, signal: str, interrupted: bool, said: str
) -> None:
    """A run record whose command exited 1, or was stopped by Ctrl-C or SIGTERM, with its data fingerprinted by
    sha256, made run-recorded ok and the artifact Reproduced-ready: a crash offered as the paper's result. The audit
    names the record and how its command ended, and asks for a run that completed."""
    bundle = bundle_of(tmp_path)
    lock = lockfile.load(bundle.root / "envsnap.lock")
    time = "2026-12-01T10:00:00.000Z"
    outcome = run_record.Outcome(
        started=time, ended=time, duration_ms=1, exit_status=exit_status, signal=signal, interrupted=interrupted
    )
    record = run_record.RunRecord(
        run=run_record.Meta(generator="envsnap 0.1.0", created=time),
        command=run_record.Command(argv=("python", "train.py")),
        result=outcome,
        environment=run_record.Environment(
            lock="envsnap.lock",
            lock_digest=lock.envsnap.content_digest,
            lock_identity=lockfile.identity_digest(lockfile.to_dict(lock)),
        ),
        data=(run_record.Data(role="input", path="data.csv", kind="missing", method="sha256"),),
    )
    (bundle.root / "runs").mkdir()
    run_record.dump(run_record.sealed(record), bundle.root / "runs" / "train.toml")
    bundle.write_sums()

    def run_recorded() -> dict[str, Any]:
        graded = json.loads(cli("audit", bundle.root, "--json").out)
        return next(i for i in graded["items"] if i["id"] == "run-recorded")

    item = run_recorded()
    assert not item["ok"], item
    assert item["detail"] == f"train.toml: its command did not complete ({said}): no result to reproduce", item
    # Bundling again keeps the record in runs/: the remedy removes it first, and names it in no --run.
    kept = shlex.quote(str(bundle.root / "runs" / "train.toml"))
    assert item["remedy"].startswith(f"rm -- {kept} && envsnap run --lock "), item
    assert f"--run {kept}" not in item["remedy"], item
    # The same record of a run that completed is the one asked for.
    run_record.dump(
        run_record.sealed(
            dataclasses.replace(
                record, result=dataclasses.replace(outcome, exit_status=0, signal="", interrupted=False)
            )
        ),
        bundle.root / "runs" / "train.toml",
    )
    bundle.write_sums()
    assert run_recorded()["ok"]


def _forgeable_artifact(tmp_path: Path) -> Bundle:
    from envsnap.paper.metadata import from_args

    root = tmp_path / "bundle"
    root.mkdir(parents=True)
    lockfile.dump(sample_lock(seal=True), root / "envsnap.lock")
    Bundle(root).write_sums()
    authors = ["Josiah Carberry <0000-0002-1825-0097>", "King, Jr., Martin Luther", "Maria de la Cruz"]
    meta = from_args("Reproducing Table 2", authors, "MIT OR Apache-2.0", "10.1145/3589334.3645700")
    artifact.add_artifact(root, meta)
    return Bundle(root)


def _forge(bundle: Bundle, edit: Callable[[dict[str, Any]], None]) -> None:
    """The RO-Crate edited consistently with itself, and SHA256SUMS written again to match: every hash agrees."""
    path = bundle.root / "ro-crate-metadata.json"
    crate = json.loads(path.read_text())
    edit({e["@id"]: e for e in crate["@graph"]})
    path.write_text(json.dumps(crate, indent=2))
    bundle.write_sums()


def test_audit_finds_an_ro_crate_forged_against_the_artifact_s_other_metadata(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """The crate's name and licence (or an author's ORCID, or the lock digest it names) edited, and SHA256SUMS
    rewritten to match: the audit said all was well, never comparing the crate with CITATION.cff, .zenodo.json and
    the lock beside it. Each disagreement is a line naming both files and the field; the artifact is short of
    Reusable (and of deposit), and --strict exits 1 as for any item short."""
    bundle = _forgeable_artifact(tmp_path)
    graded = json.loads(cli("audit", bundle.root, "--json").out)
    (item,) = [i for i in graded["items"] if i["id"] == "metadata-agrees"]
    assert item["ok"], item
    assert cli("audit", bundle.root, "--strict", "--badge", "available").code == 0

    def retitle(graph: dict[str, Any]) -> None:
        graph["./"]["name"] = "A forged title"
        graph["./"]["license"] = {"@id": "https://spdx.org/licenses/GPL-3.0-only"}
        graph["https://spdx.org/licenses/GPL-3.0-only"] = {}

    _forge(bundle, retitle)
    graded = json.loads(cli("audit", bundle.root, "--json").out)
    items = {i["id"]: i for i in graded["items"]}
    assert items["files-bundled"]["ok"], items["files-bundled"]  # every hash agrees: only the facts do not
    item = items["metadata-agrees"]
    assert not item["ok"], item
    lines = item["detail"].splitlines()
    assert "title: ro-crate-metadata.json says 'A forged title', CITATION.cff says 'Reproducing Table 2'" in lines
    assert "licence: ro-crate-metadata.json says 'GPL-3.0-only', CITATION.cff says 'MIT OR Apache-2.0'" in lines
    assert len(lines) == 2, lines
    assert not items["deposit-metadata"]["ok"] and not graded["badges"]["available"], items["deposit-metadata"]
    said = cli("audit", bundle.root, "--strict", "--badge", "available")
    assert said.code == 1, said
    # Each disagreement on a line of its own under the table, then the grade.
    assert said.out.splitlines()[-3:-1] == [f"metadata-agrees: {line}" for line in lines], said
    assert cli("audit", bundle.root, "--strict", "--badge", "reusable").code == 1
    # An author's ORCID iD, and the lock digest the crate names for the environment.
    bundle = _forgeable_artifact(tmp_path / "2")

    def reauthor(graph: dict[str, Any]) -> None:
        graph["./"]["author"][0] = {"@id": "https://orcid.org/0000-0001-5109-3700"}
        graph["https://orcid.org/0000-0002-1825-0097"]["@id"] = "https://orcid.org/0000-0001-5109-3700"
        graph["#environment"]["softwareVersion"] = "sha256:" + "0" * 64

    _forge(bundle, reauthor)
    detail = next(i for i in audit_items(bundle.root) if i.id == "metadata-agrees").detail.splitlines()
    digest = lockfile.load(bundle.root / "envsnap.lock").envsnap.content_digest
    assert detail == [
        "authors[1] ORCID iD: ro-crate-metadata.json says '0000-0001-5109-3700', CITATION.cff says "
        "'0000-0002-1825-0097'",
        f"lock digest: ro-crate-metadata.json (#environment) says 'sha256:{'0' * 64}', envsnap.lock says {digest!r}",
    ], detail
    # .zenodo.json's title against CITATION.cff's: the same check, whichever file was edited.
    bundle = _forgeable_artifact(tmp_path / "3")
    zenodo = bundle.root / ".zenodo.json"
    zenodo.write_text(zenodo.read_text().replace('"Reproducing Table 2"', '"Another title"'))
    bundle.write_sums()
    detail = next(i for i in audit_items(bundle.root) if i.id == "metadata-agrees").detail.splitlines()
    assert detail == ["title: .zenodo.json says 'Another title', CITATION.cff says 'Reproducing Table 2'"], detail


def audit_items(root: Path) -> tuple[Any, ...]:
    from envsnap.paper.audit import audit

    return audit(root).items


@pytest.mark.parametrize("late", ["failed", "refused", "interrupted"])
def test_a_rebundle_whose_artifact_step_fails_leaves_the_earlier_bundle_as_it_was(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, late: str
) -> None:
    """``bundle --artifact`` made the artifact's files after the wheels, the lock and SHA256SUMS: where that step
    failed late (here: as the appendix is written), a re-bundle of an earlier bundle was left with the new lock and
    sums, half the artifact's files and the marker of a bundle being made. Every earlier file is as it was, and nothing
    else: no half-made artifact file, and (nothing was fetched) no marker, the earlier bundle complete as it was."""
    from envsnap.artifacts.bundle import INCOMPLETE
    from envsnap.errors import BundleError, UsageError
    from envsnap.model import PythonEnv, Snapshot

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    first = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), tmp_path / "first.lock")
    second = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.8")), tmp_path / "second.lock")
    out = tmp_path / "b"
    facts = ("--artifact", "--title", "T", "--author", "A", "--license", "MIT")
    assert cli("bundle", first, "-o", out, "--offline", *facts).code == 0
    before = files(out)
    raised = {
        "failed": BundleError("the appendix could not be written (forced by the test)"),
        "refused": UsageError("a value the appendix refuses (forced by the test)"),
        "interrupted": KeyboardInterrupt(),
    }[late]

    def failing(*_args: object) -> None:
        raise raised

    monkeypatch.setattr(artifact, "render_latex", failing)
    result = cli("bundle", second, "-o", out, "--offline", *facts)
    assert result.code == {"failed": 4, "refused": 2, "interrupted": 130}[late], result
    assert "Traceback" not in result.err
    after = files(out)
    assert {k: after.get(k) for k in before} == before, [k for k in before if after.get(k) != before[k]]
    assert set(after) == set(before) and not (out / INCOMPLETE).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "first.lock", "second.lock"]
    monkeypatch.undo()
    assert cli("bundle", second, "-o", out, "--offline", *facts).code == 0
    assert not (out / INCOMPLETE).exists() and "3.11.8" in (out / "envsnap.lock").read_text()


@pytest.mark.parametrize("where", ["render_markdown", "render_latex", "_write_crate"])
def test_a_ctrl_c_in_a_rebundle_s_artifact_step_leaves_the_earlier_bundle_complete(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """``bundle --artifact`` of the same lock into its earlier bundle, Ctrl-C in the artifact step once it had written
    REPRODUCING.md "(being graded)": every earlier file was put back, nothing was fetched, yet the bundle was left
    marked as being made, refused by every reader until bundled again. It is left the complete bundle it was."""
    from envsnap.artifacts.bundle import INCOMPLETE
    from envsnap.model import PythonEnv, Snapshot

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), tmp_path / "env.lock")
    out = tmp_path / "b"
    facts = ("--artifact", "--title", "T", "--author", "A", "--license", "MIT")
    assert cli("bundle", lock, "-o", out, "--offline", *facts).code == 0
    before = files(out)
    real = getattr(artifact, where)
    calls = [0]

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if where == "_write_crate" and calls[0] == 1:  # its second call, after the grade
            return real(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(artifact, where, interrupted)
    result = cli("bundle", lock, "-o", out, "--offline", *facts)
    assert result.code == 130, result
    assert files(out) == before, sorted(set(files(out)) ^ set(before))
    assert not (out / INCOMPLETE).exists()
    assert next(i for i in audit_items(out) if i.id == "files-bundled").ok


def test_reproducing_md_names_the_code_a_reviewer_runs_where_no_run_record_does(tmp_path: Path) -> None:
    # An artifact of a lock captured in a git work tree, bundled without --run: REPRODUCING.md listed the OS,
    # Python, GPU, disk and time a reviewer needs, and not the code (its commit and SWHID were in CITATION.cff,
    # .zenodo.json and the appendix only); it names them under "What you need", with what was not committed.
    from envsnap.paper.swhid import CodeIdentity

    commit = "07c1f314ca9e2099460887ec6b5ac29521f26803"
    code = CodeIdentity(f"swh:1:dir:{'a' * 40}", f"swh:1:rev:{commit}", commit, "swh.model")
    bundle = bundle_of(tmp_path)
    text = artifact._reproducing(bundle, META, [], grade="Bundled", code=code)
    needs = text.split("## What you need\n", 1)[1].split("\n## ", 1)[0]
    prose = " ".join(needs.split())
    assert (
        f"- Code: the project at git commit `{commit}`, archived by Software Heritage as `swh:1:dir:{'a' * 40}` "
        f"(`git checkout {commit}` in its repository)"
    ) in prose, needs
    dirty = artifact._reproducing(bundle, META, [], grade="Bundled", code=code, dirty=True)
    assert "with uncommitted changes the lock holds only as a digest" in " ".join(dirty.split())
    # No commit recorded: said, not left out.
    none = artifact._reproducing(bundle, META, [], grade="Bundled")
    assert "- Code: not identified: the lock records no git commit of the project" in " ".join(none.split())


def test_run_recorded_says_what_is_true_of_a_lock_a_bundle_folder_and_an_archive(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    # A lock alone was said to have "no run record in the bundle", where there is no bundle.
    import tarfile

    bundle = bundle_of(tmp_path)
    with tarfile.open(tmp_path / "supp.tar.gz", "w:gz") as tar:
        tar.add(bundle.root, arcname="supp")

    def detail(path: Path) -> str:
        result = cli("audit", path, "--json")
        assert result.code == 0, result
        return str(next(i["detail"] for i in json.loads(result.out)["items"] if i["id"] == "run-recorded"))

    assert detail(bundle.root / "envsnap.lock") == "a lock alone holds no run record (a bundle made with --run does)"
    assert detail(bundle.root) == "no run record in the bundle (its runs/ folder)"
    assert detail(tmp_path / "supp.tar.gz") == "no run record in the archive's bundle (its runs/ folder)"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("cff-version: 1.2.0\ntitle: T\n", "CITATION.cff lacks what CFF requires: message, authors"),
        ("authors: 7\n", "CITATION.cff cannot be read: authors: a list of authors"),
        ("{not yaml\n", "CITATION.cff cannot be read: "),
    ],
)
def test_citable_is_short_for_a_citation_cff_that_does_not_load_or_lacks_the_required_fields(
    tmp_path: Path, text: str, said: str
) -> None:
    # citable checked only that CITATION.cff existed: one that does not load, or lacks the fields CFF requires,
    # passed it (only metadata-agrees named it).
    from envsnap.paper import citation
    from envsnap.paper.audit import audit

    bundle = bundle_of(tmp_path)
    (bundle.root / citation.CFF).write_text(citation.cff(META, bundle.lock))
    artifact._write_crate(bundle, META, None, [])
    bundle.write_sums()
    assert next(i for i in audit(bundle.root).items if i.id == "citable").ok
    (bundle.root / citation.CFF).write_text(text)
    artifact._write_crate(bundle, META, None, [])
    bundle.write_sums()
    item = next(i for i in audit(bundle.root).items if i.id == "citable")
    assert not item.ok and item.detail.startswith(said) and "\n" not in item.detail, item
    assert "--artifact" in item.remedy


def test_audit_remedies_ask_only_for_what_the_projects_citation_cff_does_not_give(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # bundle --artifact reads the project's CITATION.cff, yet the remedies asked for --title, --author, --license
    # and --doi whatever it gave.
    project = tmp_path / "proj"
    project.mkdir()
    lockfile.dump(sample_lock(seal=True), project / "envsnap.lock")
    monkeypatch.chdir(project)  # no work tree around it: bundle takes the lock's folder as the project

    def remedy() -> str:
        result = cli("audit", "envsnap.lock", "--json")
        assert result.code == 0, result
        return str(next(i["remedy"] for i in json.loads(result.out)["items"] if i["id"] == "documented"))

    assert "--title TITLE" in remedy()  # no CITATION.cff: every fact is the user's to give
    (project / "CITATION.cff").write_text(
        'cff-version: 1.2.0\nmessage: "cite"\ntitle: "From CFF"\nlicense: Apache-2.0\nauthors:\n  - name: Lab\n'
    )
    given = remedy()
    assert "--title" not in given and "--author" not in given and "--license" not in given, given
    assert "--artifact --doi PAPER_DOI" in given and "CITATION.cff" in given, given
    (project / "CITATION.cff").write_text('cff-version: 1.2.0\nmessage: "cite"\ntitle: "From CFF"\n')
    partial = remedy()
    assert "--title" not in partial and "--author 'Name <ORCID>' --license SPDX" in partial, partial
    (project / "CITATION.cff").write_text("authors: 7\n")
    assert "cannot be read" in remedy()  # bundle --artifact would refuse it whatever the options


@pytest.mark.parametrize("style", [">", "|"])
def test_a_citation_cff_abstract_of_a_paper_s_length_or_lines_reaches_the_artifact(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, style: str
) -> None:
    """A CITATION.cff abstract is a paper's abstract: a thousand characters, often a YAML block of several lines.
    ``bundle --artifact`` refused one longer than a title (exit 2: "abstract ...: one line of text, at most 500
    characters"), and left one of several lines out without a word. Its words reach the artifact, joined on one
    line."""
    project = tmp_path / "proj"
    project.mkdir()
    lock = lockfile.dump(sample_lock(seal=True), project / "envsnap.lock")
    sentences = [
        f"We rebuild the environment of experiment {n} on another cluster & compare its results." for n in range(12)
    ]
    block = "".join(f"  {s}\n" for s in sentences)
    (project / "CITATION.cff").write_text(
        'cff-version: 1.2.0\nmessage: "cite"\ntitle: "T"\nlicense: MIT\nauthors:\n  - name: Lab\n'
        f"abstract: {style}\n{block}"
    )
    monkeypatch.chdir(project)  # no work tree around it: bundle takes the lock's folder as the project
    result = cli("bundle", lock, "-o", tmp_path / "b", "--artifact")
    assert result.code == 0, result
    whole = " ".join(sentences)
    assert len(whole) > 1000
    zenodo = json.loads((tmp_path / "b" / ".zenodo.json").read_text())
    assert f"<p>{whole.replace('&', '&amp;')}</p>" in zenodo["description"], zenodo["description"]
    crate = json.loads((tmp_path / "b" / "ro-crate-metadata.json").read_text())
    root = next(e for e in crate["@graph"] if e["@id"] == "./")
    assert root["description"] == whole, root
    assert f"abstract: {json.dumps(whole)}" in (tmp_path / "b" / "CITATION.cff").read_text().splitlines()


def test_an_artifact_made_again_in_its_own_folder_keeps_the_paper_s_doi(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cd supp && envsnap bundle envsnap.lock -o . --artifact --with-base-image``: the facts not given come from
    the CITATION.cff there, the artifact's own, which holds the paper's DOI as an identifier. It was read as a
    project's (a ``doi`` field or the preferred citation's): the title, authors and licence were kept, and the DOI
    dropped without a word, from CITATION.cff, .zenodo.json, the RO-Crate and the appendix."""
    doi = "10.1145/3589334.3645700"
    supp = tmp_path / "supp"
    lock = lockfile.dump(sample_lock(seal=True), tmp_path / "envsnap.lock")
    facts = ("--title", "Reproducing Table 2", "--author", "Ada Lovelace", "--license", "MIT", "--doi", doi)
    monkeypatch.chdir(tmp_path)
    made = cli("bundle", lock, "-o", supp, "--artifact", *facts)
    assert made.code == 0, made
    monkeypatch.chdir(supp)  # no work tree around it: the lock's folder, the bundle itself, is the project
    again = cli("bundle", "envsnap.lock", "-o", ".", "--artifact")
    assert again.code == 0, again
    cff = (supp / "CITATION.cff").read_text()
    assert f'value: "{doi}"' in cff and 'title: "Reproducing Table 2"' in cff, cff
    zenodo = json.loads((supp / ".zenodo.json").read_text())
    assert {"identifier": doi, "relation": "isSupplementTo"}.items() <= zenodo["related_identifiers"][0].items()
    assert f"https://doi.org/{doi}" in (supp / "appendix.md").read_text()


def test_the_crate_and_the_audit_ignore_the_folder_a_rebundle_keeps_the_earlier_files_in(tmp_path: Path) -> None:
    # A re-bundle keeps the earlier files in a hidden `.envsnap-bundle-*` folder at the bundle's top while it
    # writes, and `--artifact` writes the crate then: the crate listed those copies, and the audit of a bundle a
    # killed re-bundle had left one in called its crate stale.
    from envsnap.paper import citation
    from envsnap.paper.audit import audit

    bundle = bundle_of(tmp_path)
    (bundle.root / citation.CFF).write_text(citation.cff(META, bundle.lock))
    with _leftovers.held_dir(bundle.root, "bundle") as kept:  # a running re-bundle's
        (kept / "envsnap.lock").write_bytes((bundle.root / "envsnap.lock").read_bytes())
        artifact._write_crate(bundle, META, None, [])
        bundle.write_sums()
        assert ".envsnap-bundle-" not in (bundle.root / "ro-crate-metadata.json").read_text()
        assert next(i for i in audit(bundle.root).items if i.id == "citable").ok
        (kept / "more.txt").write_text("more\n")
        assert next(i for i in audit(bundle.root).items if i.id == "citable").ok


def test_reproducing_md_does_not_call_the_editable_install_before_the_rerun_offline(tmp_path: Path) -> None:
    """REPRODUCING.md said "Everything below works offline." above an `uv pip install ... -e .` of the project, which
    builds it with its build backend (setuptools, hatchling: `build-system.requires`): offline, with no cache holding
    it, uv failed (`setuptools was not found in the cache`). The steps say that line is the one that may need the
    package index, and why; an artifact without such an install still says everything works offline."""
    from envsnap.model import PythonPackage, Source

    bundle = bundle_of(tmp_path)
    lock = lockfile.load(bundle.root / "envsnap.lock")
    paper = PythonPackage("paper", "0.1", source=Source(kind="directory", url="file://{project}", editable=True))
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=(paper,)))
    lockfile.dump(lockfile.seal(lock), bundle.root / "envsnap.lock")
    runs = [{"record": "runs/r1.toml", "commit": "7" * 40, "dirty": False}]
    text = artifact._reproducing(Bundle(bundle.root), META, runs, grade="Bundled")
    assert "uv pip install" in text
    assert "Everything below works offline.\n" not in text, text
    said = " ".join(text.split("## What you need", 1)[0].split())
    assert "but the editable install of the project before the rerun" in said, said
    assert "build-system.requires" in said and "package index" in said, said
    (tmp_path / "plain").mkdir()
    plain = artifact._reproducing(bundle_of(tmp_path / "plain"), META, runs, grade="Bundled")
    assert "Everything below works offline.\n" in plain
