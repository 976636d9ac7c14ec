"""The paper artifact (issue 17): a bundle from a small captured environment with a run record, made an artifact
with `bundle --artifact`, checked by the formats' own validators: the RO-Crate by the `rocrate` library, the
CITATION.cff by the CFF 1.2.0 schema, .zenodo.json against Zenodo's documented deposit fields, the SWHID
recomputed by `swh.model`, the LaTeX appendix by pdflatex; and `envsnap audit` on the four stages."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from envsnap import lockfile, sinks
from envsnap.paper import audit as auditing
from envsnap.paper.metadata import MetadataError, parse_author, parse_doi, parse_license, parse_orcid

ORCID = "0000-0002-1825-0097"  # ORCID's documented example iD (Josiah Carberry)
DOI = "10.1145/3589334.3645700"
FIXTURES = Path(__file__).parent / "fixtures"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
    "PATH": "/usr/bin:/bin",
}


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass(frozen=True)
class Stages:
    project: Path
    bare: Path  # a captured lock
    pinned: Path
    bundle: Path
    artifact: Path
    run: Path


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> Stages:
    """A venv of one small wheel from the index, captured inside a git project, pinned, bundled, and bundled as
    an artifact with a run record: each stage by the CLI, as a user makes them."""
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    root = tmp_path_factory.mktemp("paper")
    venv = root / "venv"
    made = subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    installed = subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "tomli-w==1.2.0"],
        capture_output=True,
        text=True,
    )
    if installed.returncode != 0:
        pytest.skip(f"the package index is not reachable here: {installed.stderr.strip()[:200]}")
    project = root / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "input.csv").write_text("x,y\n1,2\n")
    (project / "train.py").write_text("import sys, tomli_w\nopen(sys.argv[1], 'w').write(tomli_w.dumps({'y': 2}))\n")
    git("init", "-q", cwd=project)
    git("add", ".", cwd=project)
    git("commit", "-q", "-m", "paper", cwd=project)
    python = str(venv / "bin" / "python")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    def envsnap(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "envsnap", *args], cwd=project, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    out = root / "out"
    out.mkdir()
    envsnap("capture", "--python", python, "-o", str(out / "bare.lock"))
    envsnap("pin", str(out / "bare.lock"), "-o", str(out / "pinned.lock"))
    envsnap("bundle", str(out / "pinned.lock"), "-o", str(out / "bundle"))
    envsnap(
        "run",
        "--lock",
        str(out / "pinned.lock"),
        "--python",
        python,
        "--data",
        "data",
        "--output",
        str(out / "result.toml"),
        "-o",
        str(out / "run.toml"),
        "--",
        python,
        "train.py",
        str(out / "result.toml"),
    )
    envsnap(
        "bundle",
        str(out / "pinned.lock"),
        "-o",
        str(out / "artifact"),
        "--artifact",
        "--title",
        "Reproducing Table 2",
        "--author",
        f"Josiah Carberry <{ORCID}>",
        "--author",
        "Ada Lovelace",
        "--license",
        "MIT",
        "--doi",
        f"https://doi.org/{DOI}",
        "--run",
        str(out / "run.toml"),
        # The debootstrap'd base .ci/services.sh makes (no registry here): saved like any base image.
        "--with-base-image",
        "--base-image",
        "envsnap-base:bookworm",
    )
    return Stages(project, out / "bare.lock", out / "pinned.lock", out / "bundle", out / "artifact", out / "run.toml")


def test_the_ro_crate_validates_with_rocrate_and_lists_every_file(stages: Stages) -> None:
    from rocrate.rocrate import ROCrate

    crate = ROCrate(str(stages.artifact))
    root = crate.root_dataset
    assert root["name"] == "Reproducing Table 2"
    parts = {e.id for e in root["hasPart"]}
    on_disk = {p.relative_to(stages.artifact).as_posix() for p in stages.artifact.rglob("*") if p.is_file()}
    assert parts == on_disk - {"ro-crate-metadata.json", "SHA256SUMS"}
    doc = json.loads((stages.artifact / "ro-crate-metadata.json").read_text())
    by_id = {e["@id"]: e for e in doc["@graph"]}
    wheel = next(e for e in by_id.values() if e["@id"].startswith("wheels/"))
    assert wheel["@type"] == "File" and len(wheel["sha256"]) == 64
    assert int(wheel["contentSize"]) == (stages.artifact / wheel["@id"]).stat().st_size
    assert by_id[f"https://orcid.org/{ORCID}"]["@type"] == "Person"
    assert root["license"].id == "https://spdx.org/licenses/MIT"
    assert root["citation"].id == f"https://doi.org/{DOI}"
    assert "pkg:pypi/tomli-w@1.2.0?file_name=tomli_w-1.2.0-py3-none-any.whl" in by_id
    # The run, per the Process Run Crate profile.
    [action] = [e for e in by_id.values() if e["@type"] == "CreateAction"]
    assert action["instrument"] == {"@id": "#environment"} and action["object"] and action["result"]
    assert action["actionStatus"] == "http://schema.org/CompletedActionStatus"
    assert by_id["./"]["conformsTo"] == {"@id": "https://w3id.org/ro/wfrun/process/0.5"}


def test_every_file_of_the_ro_crate_names_its_encoding_format(stages: Stages) -> None:
    """RO-Crate 1.1: a File data entity SHOULD have an ``encodingFormat`` (a media type); the crate gave one to every
    file but ``envsnap.lock``, the environment the artifact is about (the RO-Crate validator's 'Missing or invalid
    encodingFormat' on it). A lock is TOML."""
    import re

    doc = json.loads((stages.artifact / "ro-crate-metadata.json").read_text())
    files = {e["@id"]: e for e in doc["@graph"] if e.get("@type") == "File"}
    assert files["envsnap.lock"].get("encodingFormat") == "application/toml", files["envsnap.lock"]
    media_type = re.compile(r"^\w+/\w[\w.+-]*$")
    lacking = sorted(i for i, e in files.items() if not media_type.match(str(e.get("encodingFormat", ""))))
    assert not lacking, lacking


def test_citation_cff_validates_against_the_cff_1_2_0_schema(stages: Stages) -> None:
    import jsonschema

    schema = json.loads((FIXTURES / "cff-1.2.0.schema.json").read_text())
    cff = yaml.safe_load((stages.artifact / "CITATION.cff").read_text())
    jsonschema.validate(cff, schema)
    assert cff["authors"][0] == {
        "family-names": "Carberry",
        "given-names": "Josiah",
        "orcid": f"https://orcid.org/{ORCID}",
    }
    assert {"type": "doi", "value": DOI}.items() <= cff["identifiers"][0].items()


def test_zenodo_json_has_the_documented_deposit_fields(stages: Stages) -> None:
    doc = json.loads((stages.artifact / ".zenodo.json").read_text())
    # Zenodo's deposit metadata (its REST API's "Deposit metadata" table): the required fields and their values.
    assert doc["upload_type"] in {
        "publication",
        "poster",
        "presentation",
        "dataset",
        "image",
        "video",
        "software",
        "lesson",
        "physicalobject",
        "other",
    }
    assert doc["title"] == "Reproducing Table 2" and doc["description"].startswith("<p>")
    assert doc["creators"] == [{"name": "Carberry, Josiah", "orcid": ORCID}, {"name": "Lovelace, Ada"}]
    assert doc["access_right"] == "open" and doc["license"] == "MIT"
    assert len(doc["publication_date"]) == 10 and doc["publication_date"][4] == "-"
    assert {
        "identifier": DOI,
        "relation": "isSupplementTo",
        "resource_type": "publication-article",
        "scheme": "doi",
    } in doc["related_identifiers"]
    assert set(doc) <= {
        "upload_type",
        "title",
        "creators",
        "description",
        "access_right",
        "license",
        "keywords",
        "publication_date",
        "version",
        "related_identifiers",
    }


def test_the_swhid_is_what_swh_model_computes_and_what_git_says(stages: Stages, tmp_path: Path) -> None:
    from swh.model.from_disk import Directory

    doc = json.loads((stages.artifact / "ro-crate-metadata.json").read_text())
    [code] = [e for e in doc["@graph"] if e["@type"] == "SoftwareSourceCode"]
    commit = git("rev-parse", "HEAD", cwd=stages.project)
    checkout = tmp_path / "checkout"
    git("clone", "-q", str(stages.project), str(checkout), cwd=tmp_path)
    shutil.rmtree(checkout / ".git")
    recomputed = str(Directory.from_disk(path=os.fsencode(checkout), max_content_length=None).swhid())
    assert code["@id"] == recomputed == "swh:1:dir:" + git("rev-parse", "HEAD^{tree}", cwd=stages.project)
    assert code["identifier"] == [recomputed, f"swh:1:rev:{commit}"]
    assert recomputed in (stages.artifact / "appendix.md").read_text()


def test_the_latex_appendix_compiles(stages: Stages, tmp_path: Path) -> None:
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (.ci/services.sh installs TeX)")
    body = (stages.artifact / "appendix.tex").read_text()
    assert "Computational environment" in body and "3589334" in body
    (tmp_path / "paper.tex").write_text(
        "\\documentclass{article}\\usepackage{booktabs}\\usepackage{longtable}"
        "\\begin{document}\\input{appendix}\\end{document}\n"
    )
    (tmp_path / "appendix.tex").write_text(body)
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]


def test_reproducing_md_gives_the_reviewer_the_commands(stages: Stages) -> None:
    text = (stages.artifact / "REPRODUCING.md").read_text()
    for expected in (
        "envsnap check envsnap.lock",
        "envsnap rebuild envsnap.lock --bundle . --offline",
        'envsnap rerun --lock "$artifact/envsnap.lock" --python "$artifact/../envsnap-env/bin/python" '
        '"$artifact"/runs/run.toml',
        f"https://doi.org/{DOI}",
        "Disk:",
        "Time:",
    ):
        assert expected in text
    assert "(being graded)" not in text
    # Its base image has no Python: the container build installs the interpreter's packages, which it does not carry.
    assert "Everything below works offline.\n" not in text
    assert "packages of the interpreter the container build installs (python3.11, python3.11-venv)" in text
    # The remedy pins and bundles them for that base: `bundle --with-system-packages` alone chose the base from
    # the lock (one with Python) and carried none of them.
    base = "--base-image envsnap-base:bookworm"
    # ... and, run in this artifact's folder, bundles it again as the artifact it is (a plain `bundle` there rewrote
    # the README and appendix without it, and the RO-Crate no longer described the bundle).
    # Its own lock is pinned beside the folder (pin refuses to rewrite a bundle's lock), and bundled from there.
    start = (
        f"`envsnap pin envsnap.lock -o ../envsnap.pinned.lock {base} && envsnap bundle ../envsnap.pinned.lock -o . "
        "--artifact --title='Reproducing"
    )
    assert start in text, text
    span = text[text.index(start) + 1 :].split("`", 1)[0]
    command = shlex.split(span.split(" && ", 1)[1])
    assert command[-5:] == ["--run", "./runs/run.toml", "--with-system-packages", *base.split()], command
    assert f"--doi={DOI}" in command and "--license=MIT" in command
    assert "`envsnap bundle --with-system-packages` adds them" not in text


def test_the_offline_plan_names_the_commands_that_carry_the_interpreter_of_a_base_without_python(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    lock = stages.artifact / "envsnap.lock"
    args = ["rebuild", lock, "--target", "docker", "--bundle", stages.artifact, "--offline", "--dry-run", "--json"]
    result = cli(*args, "--dest", tmp_path / "ctx")
    assert result.code == 0, result
    network = json.loads(result.out)["network"]
    base = "--base-image envsnap-base:bookworm"
    assert "system packages from the apt mirror" in network, network
    # The paths given, as shell words: it printed `envsnap pin LOCK ... bundle LOCK -o BUNDLE`, placeholders.
    words = (shlex.quote(str(lock)), shlex.quote(str(stages.artifact)))
    # The bundle's own lock, which pin does not rewrite in place: pinned beside the bundle, which is made from that.
    pinned = f"{stages.artifact}.pinned.lock"
    carry = (
        f"envsnap pin {words[0]} -o {shlex.quote(pinned)} {base} && envsnap bundle {shlex.quote(pinned)} -o "
        f"{words[1]} --with-system-packages {base}"
    )
    assert f"`{carry}` adds them" in network, network
    # Pasted, each command parses to the paths given: the lock pinned beside, the bundle made again into that folder.
    pin, bundle = (shlex.split(part) for part in carry.split(" && "))
    assert pin == ["envsnap", "pin", str(lock), "-o", pinned, *base.split()], pin
    made = ["envsnap", "bundle", pinned, "-o", str(stages.artifact), "--with-system-packages", *base.split()]
    assert bundle == made, bundle


def test_audit_gives_four_grades_that_rise_as_the_remedies_are_applied(stages: Stages, cli: Callable[..., Any]) -> None:
    grades = []
    for path in (stages.bare, stages.pinned, stages.bundle, stages.artifact):
        result = cli("audit", path, "--json")
        assert result.code == 0, result
        grades.append(json.loads(result.out))
    levels = [g["level"] for g in grades]
    # The artifact's base (a debootstrap'd Debian) has no Python: its container build installs the interpreter's
    # Debian packages, which the artifact does not carry (the offline rebuild's plan counts them from the apt
    # mirror), so it is not Functional-ready, and system-packages is the one item short, naming them.
    assert levels == ["recorded", "pinned", "bundled", "bundled"], [g["grade"] for g in grades]
    short = [i for i in grades[3]["items"] if i["graded"] and not i["ok"]]
    assert [i["id"] for i in short] == ["system-packages"], short
    assert "python3.11" in short[0]["detail"] and "has no Python" in short[0]["detail"]
    assert short[0]["remedy"].endswith("--with-system-packages --base-image envsnap-base:bookworm"), short[0]
    assert len({g["grade"] for g in grades}) == 4
    ladder = auditing.LADDER
    assert [ladder.index(level) for level in levels] == sorted(ladder.index(level) for level in levels)
    # Every short item names the command that fixes it.
    for graded in grades:
        for item in graded["items"]:
            if item["graded"] and not item["ok"]:
                assert "envsnap " in item["remedy"] or "commit" in item["remedy"], item
    bare_remedy = next(i["remedy"] for i in grades[0]["items"] if i["id"] == "python-pinned")
    assert bare_remedy == f"envsnap pin {stages.bare}"
    assert next(i for i in grades[2]["items"] if i["id"] == "files-bundled")["ok"]
    assert grades[3]["badges"]["available"] and not grades[3]["badges"]["functional"]


def test_audit_strict_exits_1_short_of_the_badge_and_names_a_tampered_file(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    assert cli("audit", stages.bundle, "--strict", "--badge", "functional").code == 1  # no base image saved
    assert cli("audit", stages.pinned, "--strict").code == 1
    # Short of Functional by the interpreter's .deb files alone (its base image has no Python), ready to deposit.
    assert cli("audit", stages.artifact, "--strict", "--badge", "reusable").code == 1
    assert cli("audit", stages.artifact, "--strict", "--badge", "available").code == 0
    copy = tmp_path / "copy"
    shutil.copytree(stages.artifact, copy)
    wheel = next((copy / "wheels").glob("*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"x")
    result = json.loads(cli("audit", copy, "--json").out)
    item = next(i for i in result["items"] if i["id"] == "files-bundled")
    assert not item["ok"] and wheel.name in item["detail"] and result["level"] == "pinned"


_FACTS = ("--artifact", "--title", "T", "--author", "A", "--license", "MIT")


@pytest.mark.parametrize(
    "args,message",
    [
        (["--artifact"], "--artifact needs title, author, license"),
        (["--artifact", "--title", "T", "--author", "A <0000-0002-1825-0098>", "--license", "MIT"], "not an ORCID"),
        (["--artifact", "--title", "T", "--author", "A", "--license", "MIT;rm -rf"], "not an SPDX"),
        (["--artifact", "--title", "T", "--author", "A", "--license", "MIT", "--doi", "11.1/x"], "not a DOI"),
        (["--title", "T"], "--title describes an artifact: add --artifact"),
        ([*_FACTS, "--run", "/nonexistent/run.toml"], "--run '/nonexistent/run.toml': no such run record"),
        # A folder read "no such run record", though it is there: it says what to name instead.
        ([*_FACTS, "--run", "/"], "--run '/': a folder, not a run record"),
    ],
)
def test_bad_artifact_facts_are_one_line_and_exit_2_before_anything_is_fetched(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any], args: list[str], message: str
) -> None:
    result = cli("bundle", stages.pinned, "-o", tmp_path / "b", "--project", tmp_path, *args)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "field,value,option",
    [
        ("orcid", "https://orcid.org/0000-0002-1825-0098", "--author 'A <0000-0002-1825-0098>'"),
        ("doi", "11.1/x", "--doi"),
        ("license", "mitx", "--license"),
    ],
)
def test_a_bad_fact_names_the_option_or_the_citation_cff_field_it_came_from(
    tmp_path: Path, cli: Callable[..., Any], field: str, value: str, option: str
) -> None:
    # "envsnap: error: not an ORCID iD (...): 'https://orcid.org/...'" named neither the option nor the project's
    # CITATION.cff: a bundle given no --author at all said so of an iD in a file it did not name.
    from testutil import sample_lock

    lock = lockfile.dump(sample_lock(seal=True), tmp_path / "env.lock")
    project = tmp_path / "proj"
    project.mkdir()
    facts = {"orcid": f"https://orcid.org/{ORCID}", "doi": DOI, "license": "MIT", field: value}
    (project / "CITATION.cff").write_text(
        f'cff-version: 1.2.0\nmessage: "cite"\ntitle: "T"\nlicense: "{facts["license"]}"\ndoi: "{facts["doi"]}"\n'
        f'authors:\n  - family-names: Carberry\n    given-names: Josiah\n    orcid: "{facts["orcid"]}"\n'
    )
    result = cli("bundle", lock, "-o", tmp_path / "b", "--project", project, "--artifact")
    where = {"orcid": "authors[0].orcid", "doi": "doi", "license": "license"}[field]
    assert (result.code, result.err.count("\n")) == (2, 1), result
    assert result.err.startswith(f"envsnap: error: {project / 'CITATION.cff'}: {where}: not "), result.err
    args = {"orcid": ["--author", "A <0000-0002-1825-0098>"], "doi": ["--doi", "11.1/x"], "license": []}[field]
    license_ = ["--license", "mitx" if field == "license" else "MIT"]
    result = cli(
        "bundle",
        lock,
        "-o",
        tmp_path / "b",
        "--project",
        tmp_path,
        "--artifact",
        "--title",
        "T",
        "--author",
        "A",
        *args,
        *license_,
    )
    assert result.code == 2 and result.err.startswith(f"envsnap: error: {option}: not "), result.err
    assert not (tmp_path / "b").exists()


def test_citation_cff_of_the_project_supplies_what_the_command_line_does_not(tmp_path: Path) -> None:
    from envsnap.paper.metadata import from_args, resolve

    (tmp_path / "CITATION.cff").write_text(
        'cff-version: 1.2.0\nmessage: "cite"\ntitle: "From CFF"\nlicense: Apache-2.0\n'
        f"authors:\n  - family-names: Carberry\n    given-names: Josiah\n    orcid: https://orcid.org/{ORCID}\n"
        f"preferred-citation:\n  type: article\n  doi: {DOI}\n  title: P\n  authors: [{{name: X}}]\n"
    )
    meta = resolve(from_args(None, [], None, None), tmp_path)
    assert (meta.title, meta.license, meta.doi, meta.authors[0].orcid) == ("From CFF", "Apache-2.0", DOI, ORCID)
    assert resolve(from_args("Mine", [], None, None), tmp_path).title == "Mine"
    (tmp_path / "CITATION.cff").write_text("title: &a [*a]\n")
    with pytest.raises(MetadataError):
        resolve(from_args(None, [], None, None), tmp_path)


def test_a_citation_cff_with_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    # The second title (or licence) was taken silently; the file is read as untrusted YAML like conda-lock.yml.
    from envsnap.paper.metadata import from_args, resolve

    (tmp_path / "CITATION.cff").write_text('cff-version: 1.2.0\ntitle: "Mine"\nlicense: MIT\ntitle: "Theirs"\n')
    with pytest.raises(MetadataError, match="key 'title' appears twice \\(line 4, column 1\\)"):
        resolve(from_args(None, [], None, None), tmp_path)


def test_metadata_values_are_checked_at_the_boundary() -> None:
    assert parse_orcid(f"https://orcid.org/{ORCID}") == ORCID
    assert parse_author("Ada Lovelace").orcid == ""
    assert parse_doi(f"doi:{DOI}") == DOI
    assert parse_license("GPL-3.0-or-later WITH Classpath-exception-2.0").startswith("GPL")
    # SPDX's spelling of a known identifier; an unknown one refused (its CITATION.cff failed the CFF schema).
    assert parse_license("mit") == "MIT" and parse_license("apache-2.0 OR mit") == "Apache-2.0 OR MIT"
    for unknown in ("NOTALICENSE", "MIT-ish"):
        with pytest.raises(MetadataError, match="not an SPDX licence identifier"):
            parse_license(unknown)
    for bad in ("Ada\nLovelace", "Ada <script>", "A <0000-0002-1825-0098>"):
        with pytest.raises(MetadataError):
            parse_author(bad)


def test_a_rerun_on_an_artifact_bundle_keeps_describing_its_run_records(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    # Re-run without --run, the record stayed in runs/ but lost its CreateAction and its rerun line.
    copy = tmp_path / "again"
    shutil.copytree(stages.artifact, copy)
    result = cli(
        "bundle",
        copy / "envsnap.lock",
        "-o",
        copy,
        "--offline",
        "--project",
        stages.project,
        "--artifact",
        "--title",
        "Again",
        "--author",
        "Ada Lovelace",
        "--license",
        "MIT",
    )
    assert result.code == 0, result
    assert '--python "$artifact/../envsnap-env/bin/python" "$artifact"/runs/' in (copy / "REPRODUCING.md").read_text()
    graph = json.loads((copy / "ro-crate-metadata.json").read_text())["@graph"]
    assert [e for e in graph if e["@type"] == "CreateAction"]
    audited = json.loads(cli("audit", copy, "--json").out)
    # Short only of the interpreter's .deb files, as the artifact it was made from (its base has no Python).
    assert [i["id"] for i in audited["items"] if i["graded"] and not i["ok"]] == ["system-packages"], audited


def test_the_base_image_remedy_of_an_artifact_followed_as_pasted_makes_it_ready_again(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The remedy was `envsnap bundle LOCK -o DIR --with-base-image`: followed, it wrote the README and appendix
    # without the artifact, the RO-Crate no longer described the bundle, and the next audit was short again.
    import shlex

    from envsnap.artifacts.bundle import Bundle

    copy = tmp_path / "my supplement"
    shutil.copytree(stages.artifact, copy)
    shutil.rmtree(copy / "images")
    shutil.rmtree(copy / "tool")
    Bundle(copy).write_sums()
    cff = (copy / "CITATION.cff").read_text()
    before = json.loads(cli("audit", copy, "--json").out)
    remedy = next(i["remedy"] for i in before["items"] if i["id"] == "base-image")
    words = shlex.split(remedy)
    assert words[:2] == ["envsnap", "bundle"] and "--artifact" in words and "--run" in words, remedy
    monkeypatch.chdir(stages.project)  # where the user works: the project whose SWHID the artifact gives
    # The one addition: the tests' base image is local (.ci/services.sh), no registry has it.
    result = cli(*words[1:], "--base-image", "envsnap-base:bookworm")
    assert result.code == 0, result
    after = json.loads(cli("audit", copy, "--json").out)
    # What is left is what the artifact it was copied from lacks: the interpreter's .deb files (no Python in the
    # base image), not the base image.
    assert [i["id"] for i in after["items"] if i["graded"] and not i["ok"]] == ["system-packages"], after
    assert after["badges"]["available"]
    assert (copy / "CITATION.cff").read_text() == cff


def test_a_bad_run_record_is_exit_2_before_anything_is_fetched(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    # It was loaded only after every wheel had been fetched and the bundle written.
    bad = tmp_path / "run.toml"
    bad.write_text(stages.run.read_text().replace("exit_status = 0", "exit_status = 1", 1) + "\n")
    result = cli(
        "bundle",
        stages.pinned,
        "-o",
        tmp_path / "b",
        "--artifact",
        "--title",
        "T",
        "--author",
        "A",
        "--license",
        "MIT",
        "--run",
        bad,
    )
    assert result.code == 2 and "Traceback" not in result.err and not (tmp_path / "b").exists()


def test_a_run_record_of_another_lock_is_exit_2_before_anything_is_fetched(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """The run used pinned.lock: bundling bare.lock with it was taken without a word, and the artifact's
    ``rerun`` then said "environment: differs" to every reader (the audit failed it). The bundle's own lock,
    made from pinned.lock, still takes it."""
    args = ("--artifact", "--title", "T", "--author", "A", "--license", "MIT", "--run", stages.run)
    result = cli("bundle", stages.bare, "-o", tmp_path / "b", *args)
    assert result.code == 2 and "Traceback" not in result.err and not (tmp_path / "b").exists()
    assert "the run used another lock" in result.err, result.err
    # The lock given, one shell word: it read `envsnap run --lock LOCK`, a placeholder where the path was known.
    assert f"(envsnap run --lock {sinks.path_shown(str(stages.bare))} -- COMMAND)" in result.err, result.err
    from envsnap.paper.artifact import check_run

    assert check_run(stages.run, lockfile.load(stages.bundle / "envsnap.lock"))[1] == stages.run.name
    assert check_run(stages.run, lockfile.load(stages.pinned))[1] == stages.run.name


def test_a_run_recorded_before_its_lock_was_pinned_is_bundled_with_that_lock_pinned(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``run --lock L``, then ``pin L`` (in place), then ``bundle L --artifact --run RUN.toml`` was exit 2, "the run
    used another lock", whose remedy ("bundle the lock it used") pin had made impossible. The pinned lock names the
    lock it pinned and describes its environment: it is bundled with the record. A lock naming it that changed a
    version is still refused, before anything is fetched."""
    lock = tmp_path / "mine" / "envsnap.lock"
    lock.parent.mkdir()
    shutil.copy(stages.bare, lock)
    python = str(stages.project.parent / "venv" / "bin" / "python")
    run = tmp_path / "mine" / "run.toml"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    words = ["run", "--lock", str(lock), "--python", python, "--data", "data", "-o", str(run), "--"]
    done = subprocess.run(
        [sys.executable, "-m", "envsnap", *words, python, "train.py", str(tmp_path / "mine" / "result.toml")],
        cwd=stages.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert cli("pin", lock, "--no-system-packages").code == 0
    args = ("--artifact", "--title", "T", "--author", "A", "--license", "MIT", "--project", stages.project)
    result = cli("bundle", lock, "-o", tmp_path / "b", *args, "--run", run)
    assert result.code == 0, result
    assert (tmp_path / "b" / "runs" / "run.toml").read_bytes() == run.read_bytes()

    pinned = lockfile.load(lock)
    first = pinned.python.packages[0]
    packages = (dataclasses.replace(first, version=first.version + ".post99"), *pinned.python.packages[1:])
    edited = lockfile.dump(
        dataclasses.replace(pinned, python=dataclasses.replace(pinned.python, packages=packages)),
        tmp_path / "mine" / "edited.lock",
    )
    result = cli("bundle", edited, "-o", tmp_path / "c", *args, "--run", run)
    assert result.code == 2 and not (tmp_path / "c").exists(), result
    assert "the run used another lock" in result.err and "describes another environment" in result.err, result


def test_a_runs_command_is_described_with_its_words_kept_apart_and_escapes_shown() -> None:
    """The crate's CreateAction named the command as its words joined by spaces: ``python "a b.py"`` and
    ``python a b.py`` read the same, and a control character went into the description raw."""
    from types import SimpleNamespace

    from envsnap.paper.artifact import _run_facts

    def rec(*argv: str) -> Any:
        return SimpleNamespace(
            run=SimpleNamespace(content_digest="sha256:" + "ab" * 32),
            command=SimpleNamespace(argv=list(argv), paths=(), inner_paths=(), unlabelled=(), variables=()),
            result=SimpleNamespace(started="2026-01-01T00:00:00Z", ended="2026-01-01T00:00:02Z", exit_status=0),
            inputs=lambda: [],
            outputs=lambda: [],
        )

    one = _run_facts(rec("python", "a b.py"), "r.toml")["command"]
    two = _run_facts(rec("python", "a", "b.py"), "r.toml")["command"]
    assert one == "python 'a b.py'" and two == "python a b.py"
    assert "\x1b" not in _run_facts(rec("python", "x\x1b[2Jy"), "r.toml")["command"]


def test_an_artifact_tarred_for_its_deposit_is_audited_and_read(stages: Stages, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """``tar -czf "supp arch.tar.gz" supp``: audit and rebuild refused it ("unsafe path in archive:
    'supp/.zenodo.json'"), so a reviewer could not take the artifact in the form it is deposited."""
    import shutil
    import tarfile

    shutil.copytree(stages.artifact, tmp_path / "supp")
    archive = tmp_path / "supp arch.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "supp", arcname="supp")
    result = cli("audit", archive)
    assert result.code == 0 and "unsafe path" not in result.err, result
    shown = cli("show", stages.artifact / "envsnap.lock")
    assert shown.code == 0


def test_a_bundle_in_a_folder_whose_name_holds_a_newline_is_audited_with_remedies_that_type_it(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A reviewer's copy of the bundle, folder or archive, in ``review\\ndir``: the audit's remedies (``envsnap
    bundle LOCK -o DIR``, ``tar -xf ARCHIVE -C DIR``) quoted the path with ``shlex.quote``, which refuses a control
    character, so the audit ended in a traceback (``UnsafeValue``), exit 1. It grades the copy as the bundle,
    naming the path as bash's ``$'...'`` word, which types it."""
    import shutil
    import tarfile

    where = tmp_path / "review\ndir"
    shutil.copytree(stages.bundle, where / "supp")
    with tarfile.open(where / "supp.tar.gz", "w:gz") as tar:
        tar.add(where / "supp", arcname="supp")
    expected = cli("audit", stages.bundle).code
    for copy in (where / "supp", where / "supp.tar.gz"):
        result = cli("audit", copy, "--json")
        assert result.code == expected and "Traceback" not in result.err, result
        remedies = [item["remedy"] for item in json.loads(result.out)["items"] if item["remedy"]]
        assert any(f"$'{tmp_path}/review\\x0adir/supp" in remedy for remedy in remedies), remedies


def test_two_run_records_of_one_name_are_exit_2_before_anything_is_fetched(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``--run runs/ok.toml --run other/ok.toml`` fetched and built first, then failed with exit 4 and left the new
    bundle folder half-made. The same file twice is one record."""
    import shutil

    (tmp_path / "other").mkdir()
    shutil.copy(stages.run, tmp_path / "other" / stages.run.name)
    args = ("--artifact", "--title", "T", "--author", "A", "--license", "MIT")
    result = cli(
        "bundle",
        stages.pinned,
        "-o",
        tmp_path / "b",
        *args,
        "--run",
        stages.run,
        "--run",
        tmp_path / "other" / stages.run.name,
    )
    assert result.code == 2 and "named" in result.err and "Traceback" not in result.err, result
    assert not (tmp_path / "b").exists()


def test_an_artifact_says_where_a_run_records_command_names_the_authors_home(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run record lists where its command still names the author's home as text (``command.unlabelled``), and
    ``envsnap show`` flags each place; the artifact made of it (REPRODUCING.md, the appendix in Markdown and LaTeX)
    said nothing, so a reviewer reran a command naming a folder of the author's machine unwarned. Each now says
    so, escaped for its format; the appendix, printed with the paper, names the words, not the author's path."""
    home = tmp_path / "users" / "alice"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(stages.project)
    python = str(stages.project.parent / "venv" / "bin" / "python")
    record = tmp_path / "home_run.toml"
    ran = cli("run", "--lock", stages.pinned, "--python", python, "-o", record, "--", python, "-c", "pass",
              f"--msg={home}/results/a_b*c")  # fmt: skip
    assert ran.code == 0, ran
    assert "command word 3 names" in ran.err
    copy = tmp_path / "artifact"
    shutil.copytree(stages.artifact, copy)
    made = cli("bundle", copy / "envsnap.lock", "-o", copy, "--offline", "--artifact", "--title", "T", "--author",
               "Ada Lovelace", "--license", "MIT", "--run", stages.run, "--run", record)  # fmt: skip
    assert made.code == 0, made
    note = (
        "1 place in the command names the home or project folder of whoever recorded it, kept as written (not as "
        "{project} or ~): a rerun elsewhere gets this text unchanged"
    )
    reproducing = (copy / "REPRODUCING.md").read_text()
    md_note = note.replace("~", r"\~")  # Markdown shows it as "~" (unescaped, GitHub strikes "~x~" through)
    assert f"`runs/home_run.toml`: {md_note}:\n\n- command word 3: `{home}/results/a_b*c`\n" in reproducing
    assert "runs/run.toml`:" not in reproducing  # the other record names no home
    markdown = (copy / "appendix.md").read_text()
    assert f"- Run record `runs/home_run.toml`: {md_note} (command word 3; `envsnap show` names it)\n" in markdown
    latex = (copy / "appendix.tex").read_text()
    tex_note = note.replace("{project}", r"\{project\}").replace("~", r"\textasciitilde{}")
    assert rf"Run record {sinks.tex_code('runs/home_run.toml')}: {tex_note} (command word 3" in latex
    assert str(home) not in markdown and str(home) not in latex
    graph = json.loads((copy / "ro-crate-metadata.json").read_text())["@graph"]
    described = {e["subjectOf"]["@id"]: e["description"] for e in graph if e["@type"] == "CreateAction"}
    assert described["runs/home_run.toml"] == (
        f"exit status 0; recorded by envsnap run. {note} (command word 3; envsnap show runs/home_run.toml names it)"
    )
    assert described["runs/run.toml"] == "exit status 0; recorded by envsnap run"


def test_a_run_record_named_as_another_the_bundle_holds_is_exit_2_with_the_bundle_untouched(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """The experiment run again (its record rewritten at the same path) and the artifact made again into its folder:
    the bundle was pinned and written first, then it failed with exit 4, left marked incomplete (``rebuild
    --bundle`` and ``audit`` refused it until the next complete run). Now it is refused before anything is written,
    exit 2, naming the record and what to do."""
    copy = tmp_path / "again"
    shutil.copytree(stages.artifact, copy)
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    python = str(stages.project.parent / "venv" / "bin" / "python")
    again = tmp_path / "new" / stages.run.name
    run = ["run", "--lock", str(stages.pinned), "--python", python, "-o", str(again), "--", python, "-c", "pass"]
    done = subprocess.run(
        [sys.executable, "-m", "envsnap", *run],
        cwd=stages.project,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = cli(
        "bundle",
        stages.pinned,
        "-o",
        copy,
        "--offline",
        "--project",
        stages.project,
        *("--artifact", "--title", "T", "--author", "A", "--license", "MIT", "--run", again),
    )
    assert result.code == 2 and "Traceback" not in result.err, result
    assert f"runs/{stages.run.name}" in result.err and "rename" in result.err, result
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def test_an_artifact_made_again_from_another_lock_refuses_the_run_records_it_holds_of_the_first(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """The artifact folder bundled again from another lock (the environment captured anew) kept its ``runs/`` of
    the first lock and described them: REPRODUCING.md told the reviewer to rerun a record whose environment
    differs, and the audit failed ``run-recorded``, where a ``--run`` of another lock is refused. Now such a kept
    record is refused the same way, exit 2, before anything is written."""
    copy = tmp_path / "again"
    shutil.copytree(stages.artifact, copy)
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    args = ("--artifact", "--title", "T", "--author", "A", "--license", "MIT", "--project", stages.project)
    result = cli("bundle", stages.bare, "-o", copy, *args)
    assert result.code == 2 and "Traceback" not in result.err, result
    assert f"runs/{stages.run.name}" in result.err and "another lock" in result.err, result
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def test_the_appendix_names_a_run_records_variables_escaped_for_each_sink(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run --env SEED --env WANDB_MODE`` records what the command had set (or unset); REPRODUCING.md lists them,
    but the appendix, which a reader of the paper re-runs the command from by hand, did not. Each sink now names
    them: a value as the shell word ``NAME=VALUE`` (a stranger's text, kept text in Markdown and LaTeX, backquotes
    and all), an unset one said to be unset, not shown as an empty value."""
    monkeypatch.chdir(stages.project)
    python = str(stages.project.parent / "venv" / "bin" / "python")
    value = "3 $x `y` 50%_{a}^~#|*[l](u)<b>\\&"
    monkeypatch.setenv("SEED", value)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    record = tmp_path / "seeded.toml"
    ran = cli("run", "--lock", stages.pinned, "--python", python, "--env", "SEED", "--env", "WANDB_MODE", "-o", record,
              "--", python, "-c", "pass")  # fmt: skip
    assert ran.code == 0, ran
    copy = tmp_path / "artifact"
    shutil.copytree(stages.artifact, copy)
    made = cli("bundle", copy / "envsnap.lock", "-o", copy, "--offline", "--artifact", "--title", "T", "--author",
               "Ada Lovelace", "--license", "MIT", "--run", stages.run, "--run", record)  # fmt: skip
    assert made.code == 0, made
    word = f"SEED={shlex.quote(value)}"
    markdown = (copy / "appendix.md").read_text()
    assert (
        "- Run record `runs/seeded.toml` ran its command with these variables (`envsnap rerun` sets them; set them "
        f"to run it by hand): {sinks.md_code(word)}; `WANDB_MODE` unset\n"
    ) in markdown, markdown
    latex = (copy / "appendix.tex").read_text()
    assert (
        rf"Run record {sinks.tex_code('runs/seeded.toml')} ran its command with these variables "
        rf"(\texttt{{envsnap rerun}} sets them; set them to run it by hand): {sinks.tex_shell_code(word)}; "
        rf"{sinks.tex_code('WANDB_MODE')} unset."
    ) in latex, latex
    assert "runs/run.toml` ran its command" not in markdown  # the other record named no variable
    # REPRODUCING.md gives the shell lines a reader runs first: pasted into bash, the command gets the seed, and
    # not the WANDB_MODE this shell had.
    reproducing = (copy / "REPRODUCING.md").read_text()
    block = reproducing.split("`runs/seeded.toml` sets these variables", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert block == f"export SEED={shlex.quote(value)}\nunset WANDB_MODE\n", block
    shell = subprocess.run(
        ["bash", "-c", block + "printenv SEED; printenv WANDB_MODE || echo unset"],  # printenv: a child process
        env={**os.environ, "WANDB_MODE": "offline"},
        capture_output=True,
        text=True,
    )
    assert shell.stdout == f"{value}\nunset\n", shell


def test_the_remedy_of_a_bundle_without_its_sha256sums_runs_as_pasted(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle that lost its SHA256SUMS was told to bundle its lock again into its own folder, which ``bundle``
    refuses (exit 2: not an envsnap bundle, since any folder holding a lock might be meant): the remedy names a new
    folder beside it, and followed as pasted it makes a bundle the next audit finds intact."""
    import shlex

    copy = tmp_path / "supp"
    shutil.copytree(stages.bundle, copy)
    (copy / "SHA256SUMS").unlink()
    before = json.loads(cli("audit", copy, "--json").out)
    remedy = next(i["remedy"] for i in before["items"] if i["id"] == "files-bundled")
    words = shlex.split(remedy)
    assert words[:2] == ["envsnap", "bundle"], remedy
    monkeypatch.chdir(stages.project)
    result = cli(*words[1:])
    assert result.code == 0, (remedy, result)
    made = Path(words[words.index("-o") + 1])
    assert made != copy and not (copy / "SHA256SUMS").exists()
    after = json.loads(cli("audit", made, "--json").out)
    assert next(i for i in after["items"] if i["id"] == "files-bundled")["ok"], after


def test_an_artifact_bundles_export_gives_its_own_appendix_with_the_artifact_part(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``envsnap export supp -f markdown`` (and ``-f latex``) of a ``bundle --artifact`` left out the "Artifact"
    part the bundle's own appendix.md has (the paper's DOI, the code's SWHID and commit, the audit grade, the run
    records' variables): the export is now the bundle's own appendix, read from what the bundle holds (its RO-Crate,
    REPRODUCING.md, runs/), from a folder and from an archive of it; a fact the bundle's files do not give in its
    form is left out, and a note says the bundle's own appendix has it."""
    monkeypatch.chdir(stages.project)
    python = str(stages.project.parent / "venv" / "bin" / "python")
    monkeypatch.setenv("SEED", "3 4")
    monkeypatch.delenv("WANDB_MODE", raising=False)
    record = tmp_path / "seeded.toml"
    ran = cli("run", "--lock", stages.pinned, "--python", python, "--env", "SEED", "--env", "WANDB_MODE", "-o", record,
              "--", python, "-c", "pass")  # fmt: skip
    assert ran.code == 0, ran
    supp = tmp_path / "supp"
    shutil.copytree(stages.artifact, supp)
    made = cli("bundle", supp / "envsnap.lock", "-o", supp, "--offline", "--artifact", "--title", "T", "--author",
               "Ada Lovelace", "--license", "MIT", "--doi", DOI, "--run", stages.run, "--run", record)  # fmt: skip
    assert made.code == 0, made
    own = (supp / "appendix.md").read_text()
    assert "### Artifact" in own and f"https://doi.org/{DOI}" in own and "swh:1:dir:" in own, own
    assert "Readiness (`envsnap audit`): " in own and "`SEED='3 4'`; `WANDB_MODE` unset" in own, own
    archive = tmp_path / "supp.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(supp, arcname="supp")
    for given in (supp, archive):
        for fmt, name in (("markdown", "appendix.md"), ("latex", "appendix.tex")):
            out = tmp_path / f"x-{given.name}-{name}"
            exported = cli("export", given, "-f", fmt, "-o", out)
            assert exported.code == 0, exported
            assert out.read_text() == (supp / name).read_text(), (given, fmt)
            assert "note:" not in exported.err, exported
    # A grade REPRODUCING.md does not state in its form (edited, and SHA256SUMS written again): left out, said.
    reproducing = supp / "REPRODUCING.md"
    reproducing.write_text(reproducing.read_text().replace("grades it: **", "grades it: **<b>", 1))
    from envsnap.artifacts.bundle import Bundle

    Bundle(supp).write_sums()
    out = tmp_path / "edited.md"
    exported = cli("export", supp, "-f", "markdown", "-o", out)
    assert exported.code == 0, exported
    text = out.read_text()
    assert "Readiness" not in text and "<b>" not in text and f"https://doi.org/{DOI}" in text, text
    assert (
        "note: the bundle's own appendix.md has its artifact part in full: the audit grade could not be read from "
        "the bundle's files"
    ) in " ".join(exported.err.split()), exported


def test_the_audit_reads_no_run_record_through_a_link_and_its_remedy_removes_it(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``runs/extra.toml`` a link to a file outside the bundle (a stranger's bundle may point it at any file of the
    reader's) was followed and read as one of the bundle's records: a valid record there graded run-recorded ok
    with "2 run record(s)", a file the bundle does not hold. It is not read: the item is short, naming it, and its
    remedy, run as pasted, removes it, after which the audit finds the bundle as it was."""
    copy = tmp_path / "supp"
    shutil.copytree(stages.artifact, copy)
    outside = tmp_path / "elsewhere" / "theirs.toml"
    outside.parent.mkdir()
    shutil.copy(stages.run, outside)
    (copy / "runs" / "extra.toml").symlink_to(outside)
    items = {i["id"]: i for i in json.loads(cli("audit", copy, "--json").out)["items"]}
    item = items["run-recorded"]
    assert not item["ok"], item
    assert item["detail"] == "extra.toml: a link in runs/, not read (a bundle holds only files)", item
    assert item["remedy"] == f"rm -- {sinks.shell_word(f'{copy}/runs/extra.toml')}", item
    assert subprocess.run(shlex.split(item["remedy"]), check=False).returncode == 0
    assert outside.is_file() and not (copy / "runs" / "extra.toml").exists()
    after = {i["id"]: i for i in json.loads(cli("audit", copy, "--json").out)["items"]}
    assert after["run-recorded"]["ok"] and after["run-recorded"]["detail"].startswith("1 run record(s)"), after
    assert after["files-bundled"]["ok"], after


def test_a_broken_record_kept_in_runs_is_named_and_its_audit_remedy_runs_as_pasted(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record in an artifact's ``runs/`` that no longer loads (cut short in a copy, edited): bundling the folder
    again refused it with the loader's line alone, as if it had been given with ``--run``, and every remedy of the
    audit bundled again with ``--run`` naming that very record, which ``bundle`` refuses (exit 2): none could be
    followed. ``bundle`` says it is a record the bundle kept and what to do; the audit's remedies no longer give it
    as a ``--run``, and run-recorded's removes it first, after which the bundle is intact again."""
    copy = tmp_path / "supp"
    shutil.copytree(stages.artifact, copy)
    broken = copy / "runs" / stages.run.name
    broken.write_text(broken.read_text()[:200])
    monkeypatch.chdir(stages.project)
    again = cli(
        "bundle", copy / "envsnap.lock", "-o", copy, "--artifact", "--title", "T", "--author", "A", "--license", "MIT"
    )
    assert again.code == 2, again
    assert again.err.count("\n") == 1 and f"runs/{stages.run.name}" in again.err, again.err
    assert "kept in the bundle from an earlier --artifact run" in again.err, again.err
    assert "remove it" in again.err, again.err
    items = {i["id"]: i for i in json.loads(cli("audit", copy, "--json").out)["items"]}
    assert not items["run-recorded"]["ok"] and stages.run.name in items["run-recorded"]["detail"], items
    for item in items.values():
        assert f"--run {sinks.shell_word(str(broken))}" not in item["remedy"], item
    removal, _, bundling = items["run-recorded"]["remedy"].partition(" && ")
    assert removal == f"rm -- {sinks.shell_word(str(broken))}", removal
    assert subprocess.run(shlex.split(removal), check=False).returncode == 0 and not broken.exists()
    words = shlex.split(bundling)
    assert words[:2] == ["envsnap", "bundle"], bundling
    result = cli(*words[1:])
    assert result.code == 0, (bundling, result)
    after = {i["id"]: i for i in json.loads(cli("audit", copy, "--json").out)["items"]}
    assert after["files-bundled"]["ok"] and after["citable"]["ok"], after
    assert after["run-recorded"]["detail"] == "no run record in the bundle (its runs/ folder)", after


def test_the_remedy_of_a_link_in_a_bundle_removes_it_and_the_bundle_is_intact_again(
    stages: Stages, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A link in a bundle (``notes.txt`` -> a file elsewhere) makes files-bundled short, and its remedy bundled the
    folder again, which keeps the link: followed as pasted, the next audit was short the same way, for ever. The
    remedy removes the link (SHA256SUMS and the crate list none), and the bundle is intact again."""
    copy = tmp_path / "supp"
    shutil.copytree(stages.artifact, copy)
    outside = tmp_path / "notes.txt"
    outside.write_text("mine\n")
    (copy / "notes.txt").symlink_to(outside)
    item = next(i for i in json.loads(cli("audit", copy, "--json").out)["items"] if i["id"] == "files-bundled")
    assert not item["ok"] and "notes.txt: a link or special file in the bundle" in item["detail"], item
    assert item["remedy"] == f"rm -- {sinks.shell_word(f'{copy}/notes.txt')}", item
    assert subprocess.run(shlex.split(item["remedy"]), check=False).returncode == 0
    assert outside.read_text() == "mine\n"
    after = {i["id"]: i for i in json.loads(cli("audit", copy, "--json").out)["items"]}
    assert after["files-bundled"]["ok"] and after["run-recorded"]["ok"], after


def test_the_instructions_without_envsnap_take_out_what_a_new_venv_seeds(stages: Stages) -> None:
    """The lock is a uv venv's (no pip): REPRODUCING.md and the appendix said to pip install "in a new virtual
    environment", which ``python -m venv`` seeds with pip (and setuptools before Python 3.12), and ``envsnap verify``
    of the result said DIFFERENT (``pip: installed, not in the lock``). Each says to take them out again after the
    install, as the README's lines by hand do."""
    seeded = "pip" if sys.version_info >= (3, 12) else "pip setuptools"
    command = f"python -m pip uninstall -y {seeded}"
    reproducing = " ".join((stages.artifact / "REPRODUCING.md").read_text().split())
    assert f"`{command}`" in reproducing, reproducing
    appendix = " ".join((stages.artifact / "appendix.md").read_text().split())
    assert f"`{command}`" in appendix, appendix
    latex = (stages.artifact / "appendix.tex").read_text()
    assert "uninstall" in latex and "the locked environment has no pip" in latex, latex


def test_reproducing_md_gives_a_small_bundles_sizes_in_kilobytes(stages: Stages) -> None:
    """A bundle of one small wheel read "about 0.0 MB more for the rebuilt environment": a size under 1 MB is given
    in kB, so no size reads as nothing."""
    line = next(line for line in (stages.artifact / "REPRODUCING.md").read_text().splitlines() if "Disk:" in line)
    assert "0.0 MB" not in line and " kB" in line, line


def test_reproducing_md_counts_a_bundle_of_one_package_in_the_singular(stages: Stages) -> None:
    """The time estimate of a one-wheel artifact read "the offline rebuild of 1 packages"."""
    text = " ".join((stages.artifact / "REPRODUCING.md").read_text().split())
    assert "for the offline rebuild of 1 package (an estimate:" in text, text


def test_audit_counts_a_bundle_of_one_wheel_in_the_singular(stages: Stages, cli: Callable[..., Any]) -> None:
    """The audit of a one-wheel bundle read "1 wheels match the lock"."""
    result = cli("audit", stages.bundle, "--json")
    (item,) = [i for i in json.loads(result.out)["items"] if i["id"] == "files-bundled"]
    assert item["detail"] == "every file present and matching SHA256SUMS; 1 wheel, matching the lock", item
