"""``--target conda`` end to end on a real local channel: capture, bundle, rebuild offline, compare."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from condafixtures import PY_FULL, CondaChannel, CondaEnv, create_env
from testutil import uv_bin

from envsnap import lockfile
from envsnap.artifacts import conda as conda_archives
from envsnap.artifacts.bundle import Bundle, another_lock, make_bundle
from envsnap.compare import conda as conda_compare
from envsnap.errors import BundleError, RebuildError
from envsnap.model import Conda, CondaPackage, Snapshot
from envsnap.probes.capture import capture
from envsnap.rebuild import RebuildRequest
from envsnap.rebuild import conda as target


@pytest.fixture(scope="module", autouse=True)
def allow_local_channels() -> Iterator[None]:
    """These tests rebuild from local channels (file:// folders, an http server on 127.0.0.1): URLs a lock may
    send envsnap to only when the user allows them, here through the configuration form of --allow-url."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENVSNAP_ALLOW_URL", "file:///* http://127.0.0.1:*")
        yield


@pytest.fixture(scope="module")
def pip_index(conda_env: CondaEnv) -> Iterator[None]:
    """pip's configuration for this module: no index, the local wheel folder as --find-links."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIP_NO_INDEX", "1")
        mp.setenv("PIP_FIND_LINKS", str(conda_env.channel.pip_wheel.parent))
        yield


@pytest.fixture(scope="module")
def locked(conda_env: CondaEnv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lock") / "envsnap.lock"
    lockfile.dump(capture(str(conda_env.python)), path)
    return path


@pytest.fixture(scope="module")
def bundle(locked: Path, pip_index: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "bundle"
    make_bundle(lockfile.load(locked), out)
    return out


def _same_python_layer(a: Snapshot, b: Snapshot) -> None:
    def key(s: Snapshot) -> list[tuple[Any, ...]]:
        return [(p.name, p.version, p.record_digest, p.conda_managed, p.wheel_tags) for p in s.python.packages]

    assert key(a) == key(b)


def test_bundle_holds_every_conda_package_hash_checked(bundle: Path, conda_env: CondaEnv) -> None:
    held = sorted(p.name for p in (bundle / "conda").iterdir())
    assert held == sorted(a.name for a in conda_env.channel.archives.values())
    for archive in conda_env.channel.archives.values():
        assert (bundle / "conda" / archive.name).read_bytes() == archive.read_bytes()
    Bundle(bundle).verify_sums()  # SHA256SUMS covers conda/ too
    assert "conda/libhello-1.0.0-h0a1b2c3_0.tar.bz2" in (bundle / "SHA256SUMS").read_text()


def test_rebuild_offline_from_bundle_is_identical(
    bundle: Path, locked: Path, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = tmp_path / "rebuilt"
    monkeypatch.chdir(bundle.parent)  # relative paths, as typed by hand
    result = cli(
        "rebuild", "bundle/envsnap.lock", "--target", "conda", "--prefix", prefix, "--bundle", "bundle", "--offline"
    )
    assert result.code == 0, result
    assert "identical" in result.out
    lock = lockfile.load(locked)
    again = capture(str(prefix / "bin" / "python"))
    assert again.conda == lock.conda  # every record: identity, url, channel, md5, sha256, depends, noarch
    _same_python_layer(again, lock)
    # The packages work: the compiled tool finds its library through the prefix, Python sees both layers.
    assert subprocess.run([prefix / "bin" / "hello"], capture_output=True, text=True).stdout == "hello from libhello\n"
    out = subprocess.run(
        [
            prefix / "bin" / "python",
            "-c",
            "import tinyutil, pipdemo; print(tinyutil.VALUE, pipdemo.answer())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == "42 7\n"


def test_rebuild_from_the_channel_without_bundle(
    locked: Path, pip_index: None, tmp_path: Path, conda_env: CondaEnv
) -> None:
    lock = lockfile.load(locked)
    request = RebuildRequest(
        lock=lock,
        lock_path=locked,
        dest=tmp_path / "env",
        target="conda",
        options={"cache_dir": str(tmp_path / "cache")},
    )
    result = target.REBUILDER.execute(target.REBUILDER.plan(request), request)
    assert result.verify is not None and result.verify.identical, result.verify
    cached = sorted((tmp_path / "cache").glob("*/*"))
    assert sorted(p.name for p in cached) == sorted(a.name for a in conda_env.channel.archives.values())
    assert all(p.parent.name == hashlib.sha256(p.read_bytes()).hexdigest() for p in cached)
    assert capture(str(tmp_path / "env" / "bin" / "python")).conda == lock.conda


def test_dry_run_prints_the_plan_and_builds_nothing(bundle: Path, cli: Callable[..., Any], tmp_path: Path) -> None:
    result = cli(
        "rebuild",
        bundle / "envsnap.lock",
        "--target",
        "conda",
        "--prefix",
        tmp_path / "p",
        "--bundle",
        bundle,
        "--offline",
        "--dry-run",
    )
    assert result.code == 0, result
    assert "conda: libhello 1.0.0 h0a1b2c3_0 <- conda/libhello-1.0.0-h0a1b2c3_0.tar.bz2 [sha256:" in result.out
    assert "python: pipdemo 1.2.0 <- wheels/pipdemo-1.2.0-py3-none-any.whl [sha256:" in result.out
    assert "engine: rattler" in result.out
    assert not (tmp_path / "p").exists()


def test_dry_run_of_the_users_lock_names_the_bundles_wheels(
    bundle: Path, locked: Path, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """The lock as captured (its pip packages not pinned) rebuilt from its bundle: the run installs the bundle's
    wheels, offline, but the plan said "to be pinned and fetched" under "offline: yes (no network; everything
    from the bundle)", as if the dry run had read another lock than the run does."""
    args = ["rebuild", locked, "--target", "conda", "--prefix", tmp_path / "p", "--bundle", bundle, "--offline"]
    result = cli(*args, "--dry-run")
    assert result.code == 0, result
    assert "to be pinned and fetched" not in result.out
    bundled = {p.name: p for p in lockfile.load(bundle / "envsnap.lock").python.packages}["pipdemo"].artifact
    assert bundled is not None
    assert f"python: pipdemo 1.2.0 <- wheels/{bundled.filename} [sha256:{bundled.sha256}]" in result.out
    result = cli(*args)
    assert result.code == 0 and "identical" in result.out, result


def _copy_bundle(bundle: Path, where: Path) -> Path:
    copy = where / "bundle"
    shutil.copytree(bundle, copy)
    return copy


@pytest.mark.parametrize("hash_kept", ["sha256", "md5"])
def test_hash_mismatch_stops_the_rebuild(bundle: Path, hash_kept: str, cli: Callable[..., Any], tmp_path: Path) -> None:
    copy = _copy_bundle(bundle, tmp_path)
    archive = next((copy / "conda").glob("libhello-*.tar.bz2"))
    archive.write_bytes(archive.read_bytes() + b"\0")
    from envsnap.artifacts.bundle import Bundle

    Bundle(copy).write_sums()  # SHA256SUMS rewritten to match (else it is what refuses the bundle): the lock's hash
    lock = lockfile.load(copy / "envsnap.lock")
    assert lock.conda is not None
    if hash_kept == "md5":  # an older record with md5 only
        lock = dataclasses.replace(
            lock,
            conda=dataclasses.replace(
                lock.conda, packages=tuple(dataclasses.replace(p, sha256="") for p in lock.conda.packages)
            ),
        )
    lockfile.dump(lock, tmp_path / "edited.lock")
    result = cli(
        "rebuild",
        tmp_path / "edited.lock",
        "--target",
        "conda",
        "--prefix",
        tmp_path / "p",
        "--bundle",
        copy,
        "--offline",
    )
    assert result.code == 4, result
    assert f"libhello 1.0.0 (h0a1b2c3_0): {hash_kept} mismatch for {archive.name}" in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "p").exists()


def _relocated(lock: Snapshot, base: str) -> Snapshot:
    assert lock.conda is not None
    packages = tuple(
        dataclasses.replace(p, url=f"{base}/{p.subdir}/{p.url.rsplit('/', 1)[-1]}", channel=base)
        for p in lock.conda.packages
    )
    return dataclasses.replace(lock, conda=dataclasses.replace(lock.conda, packages=packages))


def test_gone_file_channel_names_the_package(locked: Path, tmp_path: Path) -> None:
    lock = _relocated(lockfile.load(locked), (tmp_path / "vanished").as_uri())
    request = RebuildRequest(
        lock=lock,
        lock_path=locked,
        dest=tmp_path / "env",
        target="conda",
        options={"cache_dir": str(tmp_path / "cache")},
    )
    with pytest.raises(
        RebuildError,
        match=r"hello-tool 1\.0\.0 \(h4d5e6f7_1\): file://.*/vanished/linux-64/"
        r"hello-tool-1\.0\.0-h4d5e6f7_1\.conda is gone",
    ):
        target.REBUILDER.execute(target.REBUILDER.plan(request), request)
    assert not (tmp_path / "env").exists()


@pytest.fixture
def http_channel(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on localhost serving an empty directory: every package is a 404."""
    (tmp_path / "www").mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    handler.log_message = lambda *args: None  # type: ignore[assignment,method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/conda-forge"
    server.shutdown()
    server.server_close()


def test_gone_http_channel_names_the_package(locked: Path, tmp_path: Path, http_channel: str) -> None:
    lock = _relocated(lockfile.load(locked), http_channel)
    request = RebuildRequest(
        lock=lock,
        lock_path=locked,
        dest=tmp_path / "env",
        target="conda",
        options={"cache_dir": str(tmp_path / "cache")},
    )
    with pytest.raises(
        RebuildError,
        match=r"hello-tool 1\.0\.0 \(h4d5e6f7_1\): http://127\.0\.0\.1:\d+/conda-forge/"
        r"linux-64/hello-tool-1\.0\.0-h4d5e6f7_1\.conda is gone \(HTTP 404\)",
    ):
        target.REBUILDER.execute(target.REBUILDER.plan(request), request)
    assert not (tmp_path / "env").exists()


def test_bundle_reports_a_gone_package_as_bundle_error(locked: Path, tmp_path: Path) -> None:
    lock = _relocated(lockfile.load(locked), (tmp_path / "vanished").as_uri())
    with pytest.raises(BundleError, match="is gone"):
        conda_archives.bundle_conda_packages(lock, tmp_path / "b")


def test_bundle_drops_archives_the_lock_no_longer_names(locked: Path, conda_env: CondaEnv, tmp_path: Path) -> None:
    (tmp_path / "conda").mkdir()
    (tmp_path / "conda" / "old-0.1-0.tar.bz2").write_bytes(b"stale")
    paths = conda_archives.bundle_conda_packages(lockfile.load(locked), tmp_path)
    assert sorted(p.name for p in (tmp_path / "conda").iterdir()) == sorted(p.name for p in paths)
    assert len(paths) == len(conda_env.channel.archives)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"conda": None}, "records no conda packages"),
        ({"offline": True}, "--offline needs --bundle"),
        ({"options": {"engine": "pip"}}, "--engine pip: unknown"),
        ({"options": {"engine": "micromamba"}}, "no micromamba executable on PATH"),
    ],
)
def test_plan_refuses_what_cannot_be_rebuilt(
    locked: Path, tmp_path: Path, change: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no conda, mamba or micromamba
    lock = lockfile.load(locked)
    if "conda" in change:
        lock = dataclasses.replace(lock, conda=change.pop("conda"))
    request = RebuildRequest(lock=lock, lock_path=locked, dest=tmp_path / "env", target="conda", **change)
    with pytest.raises(RebuildError, match=message):
        target.REBUILDER.plan(request)


def test_plan_refuses_a_non_empty_prefix(locked: Path, tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "keep.txt").write_text("mine")
    request = RebuildRequest(lock=lockfile.load(locked), lock_path=locked, dest=tmp_path / "env", target="conda")
    with pytest.raises(RebuildError, match="already exists and is not empty"):
        target.REBUILDER.plan(request)
    assert (tmp_path / "env" / "keep.txt").read_text() == "mine"


# A stand-in for micromamba (none can be installed offline): it honours exactly the command line envsnap
# gives, reads the @EXPLICIT file with rattler's own parser, checks each #md5 and installs the listed
# archives with py-rattler, as micromamba's explicit install does.
FAKE_MICROMAMBA = """#!{python}
import asyncio, hashlib, os, sys
from pathlib import Path
import rattler
from rattler.explicit_environment import ExplicitEnvironmentSpec

args = sys.argv[1:]
Path({log!r}).write_text(" ".join(args))
assert args[0] == "create" and {{"--no-rc", "--yes", "--offline"}} <= set(args), args
prefix = args[args.index("--prefix") + 1]
spec = ExplicitEnvironmentSpec.from_path(Path(args[args.index("--file") + 1]))
Path({log!r} + ".order").write_text("".join(e.url.partition("#")[0].rsplit("/", 1)[-1] + "\\n" for e in spec.packages))
records = []
for entry in spec.packages:
    url, _, md5 = entry.url.partition("#")
    path = Path(url[len("file://"):])
    if hashlib.md5(path.read_bytes()).hexdigest() != md5:
        sys.exit("critical libmamba md5 mismatch for " + path.name)
    records.append(asyncio.run(rattler.RepoDataRecord.from_package_archive(path)))
asyncio.run(rattler.install(records, prefix, cache_dir=Path(prefix).parent / "mm-cache", show_progress=False))
# py-rattler's runtime threads can crash the interpreter's shutdown now and then ("Fatal Python error ... <no Python
# frame>", exit -6): the stand-in's work is done here, so it leaves without that shutdown, as a real engine would.
sys.stdout.flush()
os._exit(0)
"""


def test_engine_micromamba_runs_the_executable_with_an_explicit_file(
    bundle: Path, locked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "micromamba"
    fake.write_text(FAKE_MICROMAMBA.format(python=sys.executable, log=str(tmp_path / "args")))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    lock = lockfile.load(locked)
    request = RebuildRequest(
        lock=lock,
        lock_path=locked,
        dest=tmp_path / "env",
        target="conda",
        bundle_dir=bundle,
        offline=True,
        options={"engine": "micromamba"},
    )
    plan = target.REBUILDER.plan(request)
    assert plan.details["engine"] == f"micromamba: {fake}"
    result = target.REBUILDER.execute(plan, request)
    assert result.verify is not None and result.verify.identical, result.verify
    assert "--file" in (tmp_path / "args").read_text()
    # Linked in dependency order (the lock's is by name, hello-tool before the libhello it links against).
    assert (tmp_path / "args.order").read_text().splitlines() == [
        "libhello-1.0.0-h0a1b2c3_0.tar.bz2",
        "hello-tool-1.0.0-h4d5e6f7_1.conda",
        f"python-{PY_FULL}-envsnap_shim_0.tar.bz2",
        "tinyutil-0.3.0-pyhd8ed1ab_0.tar.bz2",
    ]
    # The archives came from the bundle, yet the records name the locked origin again.
    assert capture(str(tmp_path / "env" / "bin" / "python")).conda == lock.conda


def test_engine_conda_failure_shows_the_end_of_what_conda_said(
    bundle: Path, locked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """conda ends a failed post-link script's report with the script's output, its return code and a line ``()``:
    the error gave that last line alone ("conda could not install the locked packages: ()"). It gives the last
    lines now, escaped, with the hidden folder the prefix is built in named as the prefix asked for."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "conda"
    fake.write_text(
        "#!/bin/sh\n"
        'while [ "$1" != "--prefix" ]; do shift; done; prefix="$2"\n'
        "echo 'Preparing transaction: done'\n"
        "cat >&2 <<EOF\n"
        "LinkError: post-link script failed for package file:///c::flaky-1.0-h0_0\n"
        "location of failed script: $prefix/bin/.flaky-post-link.sh\n"
        "==> script output <==\n"
        "stdout: \n"
        "stderr: ImportError: libcuda.so.1: cannot open shared object file \033[31m\n"
        "\n"
        "return code: 1\n"
        "\n"
        "()\n"
        "EOF\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    dest = tmp_path / "env"
    request = RebuildRequest(
        lock=lockfile.load(locked),
        lock_path=locked,
        dest=dest,
        target="conda",
        bundle_dir=bundle,
        offline=True,
        options={"engine": "conda"},
    )
    with pytest.raises(RebuildError) as caught:
        target.REBUILDER.execute(target.REBUILDER.plan(request), request)
    assert str(caught.value) == (
        "conda could not install the locked packages: LinkError: post-link script failed for package "
        f"file:///c::flaky-1.0-h0_0 | location of failed script: {dest}/bin/.flaky-post-link.sh | ==> script "
        "output <== | stdout: | stderr: ImportError: libcuda.so.1: cannot open shared object file | return code: 1 "
        "| ()"
    )
    assert not dest.exists()


def test_explicit_text_and_engine_command(tmp_path: Path) -> None:
    conda = Conda(
        subdir="linux-64",
        packages=(
            CondaPackage("a", "1", "0", md5="0" * 32, sha256="1" * 64),
            CondaPackage("b", "2", "0", sha256="2" * 64),
        ),
    )
    archives = {"a": tmp_path / "a-1-0.conda", "b": tmp_path / "b-2-0.tar.bz2"}
    assert target.explicit_text(conda, archives) == (
        "# platform: linux-64\n@EXPLICIT\n"
        f"{archives['a'].as_uri()}#{'0' * 32}\n"
        f"{archives['b'].as_uri()}#sha256:{'2' * 64}\n"
    )
    assert target.engine_command("conda", "/opt/conda/bin/conda", tmp_path / "p", tmp_path / "e.txt") == [
        "/opt/conda/bin/conda",
        "create",
        "--yes",
        "--prefix",
        str(tmp_path / "p"),
        "--file",
        str(tmp_path / "e.txt"),
        "--offline",
    ]


def test_explicit_text_lists_dependencies_before_their_dependents(tmp_path: Path) -> None:
    """conda, mamba and micromamba link an explicit file in the order given (a post-link script may run what it
    depends on): a captured lock is by name, where hello-tool comes before the libhello it links against."""
    conda = Conda(
        subdir="linux-64",
        packages=(
            CondaPackage("hello-tool", "1.0.0", "h_1", md5="1" * 32, depends=("libhello >=1.0,<2", "python")),
            CondaPackage("libhello", "1.0.0", "h_0", md5="2" * 32, depends=("zlib",)),
            CondaPackage("python", "3.11.7", "h_0", md5="3" * 32, depends=("zlib",)),
            CondaPackage("zlib", "1.3", "h_0", md5="4" * 32),
        ),
    )
    archives = {p.name: tmp_path / f"{p.name}-{p.version}-{p.build}.conda" for p in conda.packages}
    listed = target.explicit_text(conda, archives).splitlines()[2:]
    assert listed == [
        f"{archives[name].as_uri()}#{md5 * 32}"
        for name, md5 in (("zlib", "4"), ("libhello", "2"), ("python", "3"), ("hello-tool", "1"))
    ]


@pytest.mark.conda
def test_rattler_runs_post_link_scripts_dependencies_first_from_the_records_depends(tmp_path: Path) -> None:
    """The conda/mamba/micromamba engines get an explicit file in ``install_order`` and run the post-link scripts
    in that order; with the default engine, py-rattler links the packages and envsnap runs the scripts after, in
    ``install_order`` too: dependencies first by the records' ``depends``, whatever order the lock gives. Without
    ``depends`` (a lock imported from an explicit file) the lock's order, conda's link order, is kept: rattler ran
    them in an order of its own (reverse name order), docs/design.md, "conda link order"."""
    from condafixtures import Entry, Pkg, write_package

    def post_link(name: str) -> Entry:
        return Entry(f"bin/.{name}-post-link.sh", f'echo {name} >> "$PREFIX/post-link-order"\n'.encode(), 0o755)

    made = [
        Pkg("aa-tool", "1.0", "h0_0", "linux-64", [post_link("aa-tool")], depends=["zz-lib >=1"]),
        Pkg("mm-plugin", "1.0", "h0_0", "linux-64", [post_link("mm-plugin")], depends=["aa-tool"]),
        Pkg("zz-lib", "1.0", "h0_0", "linux-64", [post_link("zz-lib")]),
    ]
    archives = {pkg.name: write_package(pkg, tmp_path / "channel") for pkg in made}
    channel = (tmp_path / "channel").as_uri()

    def seen(names: tuple[str, ...], with_depends: bool) -> list[str]:
        by_name = {pkg.name: pkg for pkg in made}
        packages = tuple(
            CondaPackage(
                name, "1.0", "h0_0", channel=channel, depends=tuple(by_name[name].depends) if with_depends else ()
            )
            for name in names
        )
        prefix = tmp_path / f"env-{'-'.join(names)}-{with_depends}"
        target.install_with_rattler(Conda(subdir="linux-64", packages=packages), archives, prefix, tmp_path / "pkgs")
        return (prefix / "post-link-order").read_text().split()

    by_name = ("aa-tool", "mm-plugin", "zz-lib")  # a capture's order: each before what it needs
    assert seen(by_name, with_depends=True) == ["zz-lib", "aa-tool", "mm-plugin"]
    assert seen(("mm-plugin", "zz-lib", "aa-tool"), with_depends=True) == ["zz-lib", "aa-tool", "mm-plugin"]
    # No depends: the lock's order, as conda runs an explicit file's.
    assert seen(by_name, with_depends=False) == ["aa-tool", "mm-plugin", "zz-lib"]
    assert seen(("zz-lib", "mm-plugin", "aa-tool"), with_depends=False) == ["zz-lib", "mm-plugin", "aa-tool"]


@pytest.mark.conda
def test_a_failing_post_link_script_fails_the_rattler_install(tmp_path: Path) -> None:
    """conda stops with "post-link script failed for package X" and leaves no environment; py-rattler only logs the
    failure and returns, so the rebuild reported a prefix whose package never finished its install as verified."""
    from condafixtures import Entry, Pkg, write_package

    made = [
        Pkg(
            "aa-tool",
            "1.0",
            "h0_0",
            "linux-64",
            [Entry("bin/.aa-tool-post-link.sh", b'echo aa >> "$PREFIX/post-link-order"; exit 3\n', 0o755)],
            depends=["zz-lib"],
        ),
        Pkg("zz-lib", "1.0", "h0_0", "linux-64", [Entry("bin/.zz-lib-post-link.sh", b"exit 0\n", 0o755)]),
    ]
    archives = {pkg.name: write_package(pkg, tmp_path / "channel") for pkg in made}
    packages = tuple(
        CondaPackage(pkg.name, "1.0", "h0_0", channel=(tmp_path / "channel").as_uri(), depends=tuple(pkg.depends))
        for pkg in made
    )
    prefix = tmp_path / "env"
    with pytest.raises(RebuildError) as caught:
        target.install_with_rattler(Conda(subdir="linux-64", packages=packages), archives, prefix, tmp_path / "pkgs")
    assert str(caught.value) == (
        f"py-rattler could not install the locked packages into {prefix}: the post-link script "
        "bin/.aa-tool-post-link.sh of aa-tool 1.0 (h0_0) failed (exit status 3), as conda would refuse it; it "
        "printed: nothing"
    )
    assert (prefix / "post-link-order").read_text() == "aa\n"  # it ran, and failed


@pytest.mark.conda
def test_a_failing_post_link_scripts_output_is_in_the_error_trimmed_and_escaped(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """conda prints a failed post-link script's output ("==> script output <=="); the rebuild named the script and
    nothing of what it said, so why it failed was lost (rattler keeps it in a log envsnap cannot read). What it
    printed is untrusted: its last lines, cut short, with terminal escapes made visible."""
    import asyncio

    from condafixtures import Entry, Pkg, write_package
    from rattler import index

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    channel = tmp_path / "channel"
    body = (
        b"for i in $(seq 1 50); do echo noise line $i; done\n"
        b'echo "checking $PKG_NAME $PKG_VERSION in $PREFIX"\n'
        b"printf 'evil \\033]0;pwned\\007 title\\n'\n"
        b"echo \"$(printf 'x%.0s' $(seq 1 3000))\"\n"
        b'echo "error: libcuda.so.1 not found" >&2\n'
        b"exit 7\n"
    )
    write_package(Pkg("flaky", "1.0", "h0_0", "linux-64", [Entry("bin/.flaky-post-link.sh", body, 0o755)]), channel)
    (channel / "noarch").mkdir(exist_ok=True)
    asyncio.run(index.index_fs(channel, force=True))
    prefix = create_env(
        CondaChannel(channel, channel.as_uri(), {}, tmp_path), tmp_path / "env", tmp_path / "c", "flaky"
    )
    monkeypatch.chdir(tmp_path)
    assert cli("capture", "--prefix", prefix, "-o", "env.lock").code == 0
    dest = tmp_path / "rebuilt"
    result = cli("rebuild", "env.lock", "--target", "conda", "--prefix", dest, "--allow-url", f"{channel.as_uri()}/*")
    assert result.code == 4 and not dest.exists()
    last = result.err.strip().splitlines()[-1]
    assert last.startswith(
        f"envsnap: error: py-rattler could not install the locked packages into {dest}: the post-link script "
        "bin/.flaky-post-link.sh of flaky 1.0 (h0_0) failed (exit status 7), as conda would refuse it; it printed: "
    ), last
    assert "error: libcuda.so.1 not found" in last
    assert f"checking flaky 1.0 in {dest}" in last  # the prefix asked for, not the hidden one it is built in
    assert "\x1b" not in last and "\x07" not in last and "evil" in last
    assert "noise line 49 | noise line 50 |" in last and "noise line 40 " not in last  # only the last lines
    assert len(last) < 1500  # a 3000-character line is cut short


@pytest.mark.conda
def test_a_post_link_scripts_message_to_the_user_is_a_note_of_the_rebuild(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A post-link script leaves what the user must read in ``$PREFIX/.messages.txt``, which conda prints once the
    environment is made; the rebuild removed the file and said nothing. Untrusted: one line, escaped, cut short."""
    import asyncio

    from condafixtures import Entry, Pkg, write_package
    from rattler import index

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    channel = tmp_path / "channel"
    body = (
        b'echo "$PKG_NAME: run setup-gpu once to finish the install" >> "$PREFIX/.messages.txt"\n'
        b"printf 'see the docs \\033[2J\\n' >> \"$PREFIX/.messages.txt\"\n"
    )
    write_package(Pkg("needy", "1.0", "h0_0", "linux-64", [Entry("bin/.needy-post-link.sh", body, 0o755)]), channel)
    write_package(
        Pkg("quiet", "1.0", "h0_0", "linux-64", [Entry("bin/.quiet-post-link.sh", b"true\n", 0o755)]), channel
    )
    (channel / "noarch").mkdir(exist_ok=True)
    asyncio.run(index.index_fs(channel, force=True))
    prefix = create_env(
        CondaChannel(channel, channel.as_uri(), {}, tmp_path), tmp_path / "env", tmp_path / "c", "needy", "quiet"
    )
    (prefix / ".messages.txt").unlink(missing_ok=True)
    monkeypatch.chdir(tmp_path)
    assert cli("capture", "--prefix", prefix, "-o", "env.lock").code == 0
    dest = tmp_path / "rebuilt"
    result = cli("rebuild", "env.lock", "--target", "conda", "--prefix", dest, "--allow-url", f"{channel.as_uri()}/*")
    assert result.code == 0, result.err
    notes = [line for line in (result.out + result.err).splitlines() if line.startswith("note: ") and "needy" in line]
    assert notes == [
        "note: needy 1.0 (h0_0): its post-link script says: needy: run setup-gpu once to finish the install | "
        "see the docs"
    ]
    assert not any("quiet 1.0" in line for line in (result.out + result.err).splitlines())
    assert not (dest / ".messages.txt").exists()


@pytest.mark.conda
@pytest.mark.parametrize(
    ("made", "kind"), [("mkfifo", "a pipe"), ("mkdir -p", "a folder"), ("ln -s /dev/zero", "a link")]
)
def test_a_post_link_scripts_messages_that_are_no_file_are_not_read(tmp_path: Path, made: str, kind: str) -> None:
    """A package's script may leave ``$PREFIX/.messages.txt`` as something other than a file: a pipe made the
    rebuild wait for ever on opening it (no writer comes), a folder ended it in an IsADirectoryError traceback. It
    is not read now, removed, and said in a note; the install goes on."""
    from condafixtures import Entry, Pkg, write_package

    body = f'{made} "$PREFIX/.messages.txt"\n'.encode()
    made_pkg = Pkg("odd", "1.0", "h0_0", "linux-64", [Entry("bin/.odd-post-link.sh", body, 0o755)])
    archives = {"odd": write_package(made_pkg, tmp_path / "channel")}
    packages = (CondaPackage("odd", "1.0", "h0_0", channel=(tmp_path / "channel").as_uri()),)
    prefix = tmp_path / "env"
    outcome: list[object] = []

    def install() -> None:
        try:
            outcome.append(
                target.install_with_rattler(Conda(subdir="linux-64", packages=packages), archives, prefix, tmp_path)
            )
        except BaseException as exc:  # the test names what it got
            outcome.append(exc)

    worker = threading.Thread(target=install, daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():  # let the blocked open go, so the test ends
        import os

        os.close(os.open(prefix / ".messages.txt", os.O_WRONLY | os.O_NONBLOCK))
        worker.join(30)
        pytest.fail("the install waited on the messages file")
    assert outcome == [
        (f"odd 1.0 (h0_0): its post-link script left $PREFIX/.messages.txt as {kind}, not a file: not read",)
    ], outcome
    assert not (prefix / ".messages.txt").exists() and not (prefix / ".messages.txt").is_symlink()


@pytest.mark.conda
def test_a_rebuild_whose_post_link_script_fails_names_the_prefix_asked_for(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rebuild installs into a hidden folder beside ``--prefix`` and moves it into place: an install that
    failed named that folder (``/tmp/x/.u9``), which the user never asked for and which is gone when they look."""
    import asyncio

    from condafixtures import Entry, Pkg, write_package
    from rattler import index

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    channel = tmp_path / "channel"
    script = Entry("bin/.flaky-post-link.sh", b"exit 5\n", 0o755)
    write_package(Pkg("flaky", "1.0", "h0_0", "linux-64", [script]), channel)
    (channel / "noarch").mkdir(exist_ok=True)
    asyncio.run(index.index_fs(channel, force=True))
    prefix = create_env(
        CondaChannel(channel, channel.as_uri(), {}, tmp_path), tmp_path / "env", tmp_path / "c", "flaky"
    )
    monkeypatch.chdir(tmp_path)
    assert cli("capture", "--prefix", prefix, "-o", "env.lock").code == 0
    dest = tmp_path / "rebuilt"
    result = cli("rebuild", "env.lock", "--target", "conda", "--prefix", dest, "--allow-url", f"{channel.as_uri()}/*")
    assert result.code == 4 and not dest.exists()
    assert result.err.strip().splitlines()[-1] == (
        f"envsnap: error: py-rattler could not install the locked packages into {dest}: the post-link script "
        "bin/.flaky-post-link.sh of flaky 1.0 (h0_0) failed (exit status 5), as conda would refuse it; it printed: "
        "nothing"
    )


def test_a_conda_package_without_a_hash_is_bad_input_for_the_rebuild(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """conda list --explicit without --md5 writes no hash, and the import takes such a file with a warning: its
    rebuild was refused as "the rebuild failed" (exit 4) before any work, though the lock was what could not be
    used, with no word of how to get one that can."""
    monkeypatch.chdir(tmp_path)
    url = "https://conda.anaconda.org/conda-forge/linux-64/libzlib-1.3.1-hb9d3cd8_2.conda"
    (tmp_path / "explicit.txt").write_text(f"# platform: linux-64\n@EXPLICIT\n{url}\n")
    assert cli("import", "explicit.txt", "-o", "env.lock").code == 0
    result = cli("rebuild", "env.lock", "--target", "conda", "--dry-run")
    assert result.code == 2, result
    assert result.err.strip().splitlines()[-1] == (
        "envsnap: error: libzlib 1.3.1 (hb9d3cd8_2): the lock has neither md5 nor sha256 for it, so its archive "
        "cannot be checked (conda list --explicit --md5, or conda-lock, write them)"
    )


@pytest.mark.conda
def test_a_conda_package_without_a_url_is_bad_input_for_the_rebuild(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old conda-meta record may name no URL, and the capture keeps the package without one: its rebuild, a dry
    run too, was refused as "the rebuild failed" (exit 4), though the lock was what could not be used."""
    import asyncio

    from condafixtures import Entry, Pkg, write_package
    from rattler import index

    channel = tmp_path / "channel"
    write_package(Pkg("old", "1.0", "h0_0", "linux-64", [Entry("share/old.txt", b"old\n")]), channel)
    (channel / "noarch").mkdir(exist_ok=True)
    asyncio.run(index.index_fs(channel, force=True))
    prefix = create_env(CondaChannel(channel, channel.as_uri(), {}, tmp_path), tmp_path / "env", tmp_path / "c", "old")
    (record,) = (prefix / "conda-meta").glob("old-*.json")
    data = json.loads(record.read_text())
    del data["url"]
    record.write_text(json.dumps(data))
    monkeypatch.chdir(tmp_path)
    assert cli("capture", "--prefix", prefix, "-o", "env.lock").code == 0
    result = cli("rebuild", "env.lock", "--target", "conda", "--dry-run")
    assert result.code == 2, result
    assert result.err.strip().splitlines()[-1] == (
        "envsnap: error: old 1.0 (h0_0): the lock has no URL for it (the conda-meta record had none), so its archive "
        "cannot be fetched (conda install --force-reinstall old writes a record that names it: capture again after it)"
    )


def test_compare_conda_names_each_difference() -> None:
    a = CondaPackage("x", "1.0", "h1_0", md5="a" * 32, url="https://c/linux-64/x-1.0-h1_0.conda")
    want = Conda(packages=(a, CondaPackage("y", "2.0", "0")))
    have = Conda(packages=(dataclasses.replace(a, md5="b" * 32), CondaPackage("z", "3.0", "0")))
    assert [d.describe() for d in conda_compare.compare_conda(want, have)] == [
        "conda y 2.0 0: in the lock, not installed",
        "conda z 3.0 0: installed, not in the lock",
        f"conda x: md5 {'a' * 32} -> {'b' * 32}",
    ]


def test_another_conda_version_or_build_is_one_mismatch() -> None:
    """A conda package of another version verified as four mismatches, its root cause last (``mismatch (4)``:
    md5, sha256 and url before ``version 1.0.0 -> 1.1.0``), where ``diff`` says one change and a Python package of
    another version is one line. Another version, or build of one version, is now the one line: the build number,
    URL and archive hashes follow from it. A channel or subdir of its own still shows, and so do the hashes of
    the same build."""
    from envsnap.compare.verify import compare

    a = CondaPackage(
        "libhello",
        "1.0.0",
        "h0a1b2c3_0",
        md5="a" * 32,
        sha256="c" * 64,
        url="file:///ch/linux-64/libhello-1.0.0-h0a1b2c3_0.tar.bz2",
        channel="file:///ch",
        subdir="linux-64",
    )
    newer = dataclasses.replace(
        a, version="1.1.0", md5="b" * 32, sha256="d" * 64, url="file:///ch/linux-64/libhello-1.1.0-h0a1b2c3_0.tar.bz2"
    )
    report = compare(Snapshot(conda=Conda(packages=(a,))), Snapshot(conda=Conda(packages=(newer,))))
    found = [(d.severity, d.area, d.subject, d.what, d.expected, d.actual) for d in report.by_severity("mismatch")]
    assert found == [("mismatch", "conda", "libhello", "version", "1.0.0", "1.1.0")]
    rebuilt = dataclasses.replace(a, build="h0a1b2c3_1", build_number=1, md5="b" * 32, sha256="d" * 64, url="u")
    assert [d.describe() for d in conda_compare.compare_conda(Conda(packages=(a,)), Conda(packages=(rebuilt,)))] == [
        "conda libhello: build h0a1b2c3_0 -> h0a1b2c3_1"
    ]
    moved = dataclasses.replace(newer, channel="file:///other", url="file:///other/linux-64/x.tar.bz2")
    found_moved = conda_compare.compare_conda(Conda(packages=(a,)), Conda(packages=(moved,)))
    assert [(d.what, d.actual) for d in found_moved] == [("version", "1.1.0"), ("channel", "file:///other")]


def test_compare_conda_skips_a_hash_one_side_does_not_record() -> None:
    # A prefix made from an explicit file or md5-only lock records no sha256 (rattler and conda take it from the
    # record they install): the md5 both know decides, the absent sha256 is no difference.
    a = CondaPackage("x", "1.0", "h1_0", md5="a" * 32, sha256="c" * 64, url="https://c/linux-64/x-1.0-h1_0.conda")
    want = Conda(packages=(a,))
    assert conda_compare.compare_conda(want, Conda(packages=(dataclasses.replace(a, sha256=""),))) == []
    other = Conda(packages=(dataclasses.replace(a, md5="b" * 32, sha256=""),))
    assert [d.describe() for d in conda_compare.compare_conda(want, other)] == [
        f"conda x: md5 {'a' * 32} -> {'b' * 32}"
    ]
    # Neither hash comparable: the lock's hash still says the prefix cannot prove it holds that archive.
    bare = Conda(packages=(dataclasses.replace(a, md5="", sha256=""),))
    assert [d.what for d in conda_compare.compare_conda(want, bare)] == ["md5", "sha256"]


def test_verify_takes_a_prefix_without_sha256_records_for_the_locked_one(
    locked: Path, conda_env: CondaEnv, cli: Callable[..., Any], tmp_path: Path
) -> None:
    # What `export -f conda-explicit`, `import`, `rebuild --target conda` makes: the same archives, by md5.
    prefix = tmp_path / "env"
    shutil.copytree(conda_env.prefix, prefix, symlinks=True)
    for record in (prefix / "conda-meta").glob("*.json"):
        doc = json.loads(record.read_text())
        doc.pop("sha256", None)
        record.write_text(json.dumps(doc))
    result = cli("verify", locked, "--python", prefix / "bin" / "python")
    assert result.code == 0, result
    assert "sha256" not in result.out


def test_verify_compares_the_conda_layer(
    locked: Path, conda_env: CondaEnv, cli: Callable[..., Any], tmp_path: Path
) -> None:
    result = cli("verify", locked, "--python", conda_env.python)
    assert result.code == 0, result
    prefix = tmp_path / "env"
    shutil.copytree(conda_env.prefix, prefix, symlinks=True)
    record = next((prefix / "conda-meta").glob("libhello-*.json"))
    record.write_text(record.read_text().replace('"version": "1.0.0"', '"version": "1.0.1"'))
    result = cli("verify", locked, "--python", prefix / "bin" / "python")
    assert result.code == 3, result
    assert "libhello: version 1.0.0 -> 1.0.1" in result.out


def test_verify_of_a_matching_conda_env_names_both_layers_it_compared(
    locked: Path, conda_env: CondaEnv, cli: Callable[..., Any], tmp_path: Path
) -> None:
    result = cli("verify", locked, "--python", conda_env.python)
    assert result.code == 0, result
    assert result.out.splitlines()[-1] == (
        "identical: the Python and conda layers match the lock (2 Python packages and 4 conda packages checked, "
        "0 warnings)"
    )
    prefix = tmp_path / "env"
    shutil.copytree(conda_env.prefix, prefix, symlinks=True)
    for dist in prefix.glob("lib/python*/site-packages/pipdemo-*.dist-info"):
        shutil.rmtree(dist)  # the pip layer differs, the conda layer does not
    result = cli("verify", locked, "--python", prefix / "bin" / "python")
    assert result.code == 3, result
    assert result.out.splitlines()[-1].startswith(
        "DIFFERENT: the Python layer does not match the lock, the conda layer matches (2 Python packages and 4 conda "
        "packages checked"
    )


def test_a_failure_after_linking_leaves_the_users_empty_prefix_empty(
    bundle: Path, cli: Callable[..., Any], tmp_path: Path
) -> None:
    copy = _copy_bundle(bundle, tmp_path)
    for wheel in (copy / "wheels").glob("*.whl"):
        wheel.unlink()  # the conda layer installs, then the pip layer cannot
    Bundle(copy).write_sums()  # a bundle made without them (a listed file that is gone is refused up front)
    (tmp_path / "p").mkdir()
    result = cli(
        "rebuild", copy / "envsnap.lock", "--target", "conda", "--prefix", tmp_path / "p", "--bundle", copy, "--offline"
    )
    assert result.code == 4, result
    assert "pipdemo" in result.err
    assert (tmp_path / "p").is_dir() and not any((tmp_path / "p").iterdir())


def test_a_failed_rebuild_removes_the_folders_it_made_for_the_prefix(
    bundle: Path, cli: Callable[..., Any], tmp_path: Path
) -> None:
    copy = _copy_bundle(bundle, tmp_path)
    for wheel in (copy / "wheels").glob("*.whl"):
        wheel.unlink()  # the conda layer installs, then the pip layer cannot
    Bundle(copy).write_sums()
    (tmp_path / "kept").mkdir()
    args = ("rebuild", copy / "envsnap.lock", "--target", "conda", "--bundle", copy, "--offline")
    result = cli(*args, "--prefix", tmp_path / "newparent" / "deeper" / "p")
    assert result.code == 4, result
    assert "pipdemo" in result.err
    assert not (tmp_path / "newparent").exists()  # it was made for the prefix: gone with it
    result = cli(*args, "--prefix", tmp_path / "kept" / "new" / "p")
    assert result.code == 4, result
    assert (tmp_path / "kept").is_dir() and not any((tmp_path / "kept").iterdir())  # the user's stays


def test_a_damaged_cache_copy_is_fetched_again(locked: Path, conda_env: CondaEnv, tmp_path: Path) -> None:
    lock = lockfile.load(locked)
    assert lock.conda is not None
    pkg = next(p for p in lock.conda.packages if p.name == "libhello")
    damaged = tmp_path / pkg.sha256 / conda_archives.archive_name(pkg)
    damaged.parent.mkdir()
    damaged.write_bytes(b"truncated")
    archives = conda_archives.fetch_all(lock.conda.packages, tmp_path, by_hash=True)
    assert archives["libhello"] == damaged
    assert damaged.read_bytes() == conda_env.channel.archives["libhello"].read_bytes()
    damaged.write_bytes(b"truncated")
    with pytest.raises(RebuildError, match=r"libhello 1\.0\.0 \(h0a1b2c3_0\): sha256 mismatch"):
        conda_archives.fetch_all(lock.conda.packages, tmp_path, by_hash=True, repair=False)


def test_the_download_cache_never_makes_a_missing_home(
    locked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With HOME=/nonexistent (as root), the conda rebuild's cache made /nonexistent/.cache/envsnap/conda: it
    stops with one line naming the cache, and makes nothing."""
    from envsnap._defaults import CONDA_CACHE, cache_dir

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "nonexistent"))
    lock = lockfile.load(locked)
    assert lock.conda is not None
    with pytest.raises(RebuildError, match="cannot make the download cache"):
        conda_archives.fetch_all(lock.conda.packages, cache_dir(CONDA_CACHE), by_hash=True)
    assert not (tmp_path / "nonexistent").exists()


def test_a_changed_archive_on_the_channel_is_named_by_its_file(
    locked: Path, conda_env: CondaEnv, tmp_path: Path
) -> None:
    # The download goes to a hidden partial file; the error names the archive the user can look for.
    channel = tmp_path / "mirror"
    shutil.copytree(conda_env.channel.path, channel)
    changed = next((channel / "linux-64").glob("libhello-*.tar.bz2"))
    changed.write_bytes(changed.read_bytes() + b"\0")
    lock = _relocated(lockfile.load(locked), channel.as_uri())
    assert lock.conda is not None
    with pytest.raises(RebuildError) as err:
        conda_archives.fetch_all(lock.conda.packages, tmp_path / "cache", by_hash=True)
    assert f"libhello 1.0.0 (h0a1b2c3_0): sha256 mismatch for {changed.name}: the lock says" in str(err.value)
    assert ".part" not in str(err.value)


@pytest.mark.parametrize("fmt", ["conda-lock", "conda-explicit"])
def test_a_lock_imported_from_a_conda_file_rebuilds_and_verifies_identical(
    fmt: str, bundle: Path, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a reader of a paper has: the conda file, not the lock. Such files cannot list the Python
    # distributions conda packages install (tinyutil); verify leaves those to the conda layer's check.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    exported = tmp_path / f"exported.{fmt}"
    assert cli("export", bundle / "envsnap.lock", "-f", fmt, "-o", exported).code == 0
    assert cli("import", exported, "--from", fmt, "-o", tmp_path / "imported.lock").code == 0
    result = cli(
        "rebuild",
        tmp_path / "imported.lock",
        "--target",
        "conda",
        "--prefix",
        tmp_path / "env",
        "--bundle",
        bundle,
        "--offline",
    )
    assert result.code == 0, result
    assert "identical" in result.out and "installed, not in the lock" not in result.out
    rebuilt = capture(str(tmp_path / "env" / "bin" / "python"))
    assert [p.name for p in rebuilt.python.packages if p.conda_managed] == ["tinyutil"]


def test_bundle_readme_rebuilds_a_conda_lock(bundle: Path, locked: Path, tmp_path: Path) -> None:
    # The README a reader of the supplement follows: the conda target, and by hand an explicit file of the
    # bundled archives (written by the README's own shell lines, then read by rattler's explicit parser and
    # installed by rattler, standing in for `conda create --file`).
    import asyncio

    import rattler
    from rattler.explicit_environment import ExplicitEnvironmentSpec

    copy = _copy_bundle(bundle, tmp_path)
    readme = (copy / "README.md").read_text()
    assert "envsnap rebuild envsnap.lock --target conda --bundle . --offline --prefix ../envsnap-env" in readme
    assert "--target venv" not in readme
    by_hand = readme.split("## Rebuild by hand", 1)[1].split("## Packages", 1)[0]
    lines = [line[4:] for line in by_hand.splitlines() if line.startswith("    ")]
    script = "\n".join(lines[: next(i for i, line in enumerate(lines) if line.startswith("conda create"))])
    subprocess.run(["bash", "-euc", script], cwd=copy, check=True, capture_output=True)
    # The explicit file is written beside the bundle, not in it: a file added there failed the bundle's own check
    # after ("explicit.txt: not listed in SHA256SUMS (added after bundling)"), and the README's envsnap line with it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "envsnap-explicit.txt"]
    Bundle(copy).verify_sums()
    spec = ExplicitEnvironmentSpec.from_path(tmp_path / "envsnap-explicit.txt")
    records = [
        asyncio.run(rattler.RepoDataRecord.from_package_archive(Path(p.url[len("file://") :]))) for p in spec.packages
    ]
    asyncio.run(rattler.install(records, tmp_path / "env", cache_dir=tmp_path / "cache", show_progress=False))
    lock = lockfile.load(locked)
    assert lock.conda is not None
    installed = capture(str(tmp_path / "env" / "bin" / "python")).conda
    assert installed is not None
    assert sorted((p.name, p.version, p.build) for p in installed.packages) == sorted(
        (p.name, p.version, p.build) for p in lock.conda.packages
    )


def test_a_bundle_of_another_lock_is_bad_input_as_for_the_other_targets(locked: Path, tmp_path: Path) -> None:
    """It read as an archive "missing from the bundle (re-run `envsnap bundle`)", exit 4; the venv and docker
    targets say the bundle was made from another lock, exit 2."""
    from envsnap.artifacts.bundle import Bundle
    from envsnap.errors import BadBundleError
    from envsnap.model import PythonEnv, Snapshot

    other = tmp_path / "other"
    other.mkdir()
    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7")), other / "envsnap.lock")
    Bundle(other).write_sums()
    request = RebuildRequest(
        lock=lockfile.load(locked),
        lock_path=locked,
        dest=tmp_path / "env",
        target="conda",
        bundle_dir=other,
        offline=True,
        options={"cache_dir": str(tmp_path / "cache")},
    )
    with pytest.raises(BadBundleError, match=r"the bundle was made from another lock \(first difference: conda "):
        target.REBUILDER.plan(request)
    assert BadBundleError.exit_code == 2 and not (tmp_path / "env").exists()


@pytest.mark.parametrize("change", ["other version", "not bundled"])
def test_a_bundle_without_the_locks_pip_packages_is_bad_input(
    bundle: Path, locked: Path, cli: Callable[..., Any], tmp_path: Path, change: str
) -> None:
    """A bundle whose conda packages are the lock's but whose pip layer is another's (a pip package upgraded after
    bundling, or one pip installed since) was taken: the other version was installed from it, or the package left
    out, and the rebuild ended in a failed verify (exit 3) with that prefix left in place. It is bad input, as for
    the other targets: exit 2, nothing made."""
    lock = lockfile.load(locked)
    if change == "other version":
        packages = tuple(
            dataclasses.replace(p, version="1.3.0") if p.name == "pipdemo" else p for p in lock.python.packages
        )
    else:
        extra = dataclasses.replace(next(p for p in lock.python.packages if p.name == "pipdemo"), name="pipextra")
        packages = (*lock.python.packages, extra)
    other = tmp_path / "other.lock"
    lockfile.dump(dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=packages)), other)
    prefix = tmp_path / "env"
    result = cli("rebuild", other, "--target", "conda", "--prefix", prefix, "--bundle", bundle, "--offline")
    assert result.code == 2, result
    first = "pipdemo" if change == "other version" else "pipextra"
    assert result.err == (
        f"envsnap: error: {bundle}: the bundle was made from another lock (first difference: {first})"
        f"{another_lock(str(other))}\n"
    ), result
    assert not prefix.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.lock"]


def test_verify_files_hashes_the_conda_packages_files(
    locked: Path, conda_env: CondaEnv, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """``--files`` read the pip layer's RECORDs alone: a conda package's library deleted and its executable edited
    by hand verified identical, exit 0. They are now checked against conda-meta's ``paths_data``."""
    prefix = tmp_path / "env"
    shutil.copytree(conda_env.prefix, prefix, symlinks=True)
    untouched = cli("verify", locked, "--python", prefix / "bin" / "python", "--files")
    assert untouched.code == 0, untouched
    assert "identical" in untouched.out
    for library in (prefix / "lib").glob("libhello.so*"):
        library.unlink()
    with open(prefix / "bin" / "hello", "ab") as tool:
        tool.write(b"\0patched")
    result = cli("verify", locked, "--python", prefix / "bin" / "python", "--files")
    assert result.code == 3, result
    assert "libhello: files as its conda-meta record lists them -> 2 missing" in result.out
    assert "lib/libhello.so, lib/libhello.so.1" in result.out
    assert "hello-tool: files as its conda-meta record lists them -> 1 modified (bin/hello)" in result.out
    assert "the conda layer does not match the lock" in result.out
    # Without --files nothing is hashed: the records alone are compared, as before.
    assert cli("verify", locked, "--python", prefix / "bin" / "python").code == 0


def test_verify_files_takes_a_file_rewritten_for_its_prefix_by_presence(
    conda_channel: Any, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A file with a prefix placeholder holds the prefix once installed: its archive's sha256 is not the file's,
    so it is not hashed (no false alarm, wherever the prefix was moved to), only missed when it is gone."""
    import asyncio

    from condafixtures import CondaChannel, Entry, Pkg, build_packages, create_env, write_package
    from rattler import index

    channel = tmp_path / "channel"
    placeholder = "/opt/anaconda1anaconda2anaconda3"
    conf = Entry("etc/prefixed.conf", f"prefix={placeholder}\n".encode(), placeholder=placeholder)
    for pkg in [*build_packages(tmp_path / "work"), Pkg("prefixed", "1.0", "h0_0", "linux-64", [conf])]:
        write_package(pkg, channel)
    (channel / "noarch").mkdir(exist_ok=True)
    asyncio.run(index.index_fs(channel, force=True))
    local = CondaChannel(channel, channel.as_uri(), {}, conda_channel.pip_wheel)
    prefix = create_env(local, tmp_path / "env", tmp_path / "cache", "python", "prefixed")
    assert (prefix / "etc" / "prefixed.conf").read_text() == f"prefix={prefix}\n"
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(capture(str(prefix / "bin" / "python")), lock)
    result = cli("verify", lock, "--python", prefix / "bin" / "python", "--files")
    assert result.code == 0, result
    assert "prefixed" not in result.out
    (prefix / "etc" / "prefixed.conf").unlink()
    result = cli("verify", lock, "--python", prefix / "bin" / "python", "--files")
    assert result.code == 3, result
    assert "prefixed: files as its conda-meta record lists them -> 1 missing (etc/prefixed.conf)" in result.out


def _env_with(tmp_path: Path, conda_channel: Any, extra: list[Any], *specs: str) -> Path:
    """A prefix installed by py-rattler from a channel of the fixture packages plus ``extra``."""
    import asyncio

    from condafixtures import CondaChannel, build_packages, create_env, write_package
    from rattler import index

    channel = tmp_path / "channel"
    for pkg in [*build_packages(tmp_path / "work"), *extra]:
        write_package(pkg, channel)
    (channel / "noarch").mkdir(exist_ok=True)
    asyncio.run(index.index_fs(channel, force=True))
    local = CondaChannel(channel, channel.as_uri(), {}, conda_channel.pip_wheel)
    return create_env(local, tmp_path / "env", tmp_path / "cache", *specs)


def _as_conda_clobbers(prefix: Path, loser: str) -> None:
    """Rewrite ``loser``'s record as conda writes a clobbered file (its default ``path_conflict: clobber``):
    rattler keeps the losing copy under ``__clobbers__/`` and records it there; conda records the shared path in
    both packages' records, with each package's own sha256, and the prefix holds the later package's copy."""
    (record,) = (prefix / "conda-meta").glob(f"{loser}-*.json")
    data = json.loads(record.read_text())
    for entry in data["paths_data"]["paths"]:
        if "original_path" in entry:
            (prefix / entry["_path"]).unlink()
            entry["_path"] = entry.pop("original_path")
    data["files"] = [e["_path"] for e in data["paths_data"]["paths"]]
    record.write_text(json.dumps(data))
    shutil.rmtree(prefix / "__clobbers__")


def test_verify_files_takes_a_file_two_conda_packages_install_by_the_copy_on_disk(
    conda_channel: Any, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A path two conda packages both install holds one of them's copy: the other's record has another sha256.
    --files called that faithful environment "modified", exit 3; the file is now right when it is any of its
    owners' copy, and an edit of it is still caught."""
    from condafixtures import Entry, Pkg

    aaa = Pkg("aaa", "1.0", "h0_0", "linux-64", [Entry("share/shared.txt", b"from aaa\n")])
    zzz = Pkg("zzz", "1.0", "h0_0", "linux-64", [Entry("share/shared.txt", b"from zzz\n")], depends=["aaa"])
    prefix = _env_with(tmp_path, conda_channel, [aaa, zzz], "python", "zzz")
    _as_conda_clobbers(prefix, "aaa")
    assert (prefix / "share" / "shared.txt").read_text() == "from zzz\n"
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(capture(str(prefix / "bin" / "python")), lock)
    result = cli("verify", lock, "--python", prefix / "bin" / "python", "--files")
    assert result.code == 0, result
    assert "identical" in result.out and "shared.txt" not in result.out
    (prefix / "share" / "shared.txt").write_text("edited\n")
    result = cli("verify", lock, "--python", prefix / "bin" / "python", "--files")
    assert result.code == 3, result
    assert "1 modified (share/shared.txt" in result.out


def test_verify_files_reports_a_shared_file_once_naming_its_owners(
    conda_channel: Any, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """An edited file two conda packages both list was reported twice, once for each package ("aaa: ... 1
    modified (share/shared.txt)", "zzz: ... 1 modified (share/shared.txt)"), in the text and in --json. It is one
    finding now, naming both owners."""
    from condafixtures import Entry, Pkg

    aaa = Pkg("aaa", "1.0", "h0_0", "linux-64", [Entry("share/shared.txt", b"from aaa\n")])
    zzz = Pkg("zzz", "1.0", "h0_0", "linux-64", [Entry("share/shared.txt", b"from zzz\n")], depends=["aaa"])
    prefix = _env_with(tmp_path, conda_channel, [aaa, zzz], "python", "zzz")
    _as_conda_clobbers(prefix, "aaa")
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(capture(str(prefix / "bin" / "python")), lock)
    (prefix / "share" / "shared.txt").write_text("edited\n")
    result = cli("verify", lock, "--python", prefix / "bin" / "python", "--files")
    assert result.code == 3, result
    line = (
        "  conda: aaa, zzz: files as the conda-meta records of aaa and zzz list them -> 1 modified (share/shared.txt)"
    )
    assert line in result.out.splitlines()
    assert result.out.count("shared.txt") == 1
    result = cli("verify", lock, "--python", prefix / "bin" / "python", "--files", "--json")
    found = [d for d in json.loads(result.out)["differences"] if "shared.txt" in d["note"]]
    assert [(d["area"], d["subject"], d["actual"]) for d in found] == [("conda", "aaa, zzz", "1 modified")]


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_verify_files_takes_a_pip_install_over_a_conda_package(
    installer: str, conda_env: CondaEnv, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """``pip install tinyutil==0.4.0`` over conda's tinyutil 0.3.0: pip removed conda's files and wrote its own
    over the paths both list. --files called that faithful environment "1 modified, 4 missing", exit 3. The
    shared file is now right as pip's RECORD has it, and the files pip removed are said once, as info; an edit of
    the shared file is still a mismatch. Installed by uv (its INSTALLER file says uv), the note said "pip installed",
    "files pip removed": it names uv."""
    from condafixtures import make_wheel

    prefix = tmp_path / "env"
    shutil.copytree(conda_env.prefix, prefix, symlinks=True)
    wheel = make_wheel(tmp_path / "wheels", "tinyutil", "0.4.0", {"tinyutil/__init__.py": b"VALUE = 43\n"})
    if installer == "pip":
        pip = [sys.executable, "-m", "pip", "--python", str(prefix / "bin" / "python"), "install", "-q", "--no-index"]
    else:
        pip = [str(uv_bin()), "pip", "install", "-q", "--python", str(prefix / "bin" / "python"), "--no-index"]
    subprocess.run([*pip, "--find-links", str(wheel.parent), "tinyutil==0.4.0"], check=True, capture_output=True)
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(capture(str(prefix / "bin" / "python")), lock)
    result = cli("verify", lock, "--python", prefix / "bin" / "python", "--files")
    assert result.code == 0, result
    assert "identical" in result.out
    assert (
        f"conda: tinyutil: {installer} installed tinyutil 0.4.0 over this conda package: "
        f"its 4 files {installer} removed are not looked for" in result.out
    )
    site = next((prefix / "lib").glob("python*/site-packages"))
    (site / "tinyutil" / "__init__.py").write_text("VALUE = 0\n")
    result = cli("verify", lock, "--python", prefix / "bin" / "python", "--files")
    assert result.code == 3, result
    assert "1 modified (tinyutil/__init__.py)" in result.out
    # Once, naming both owners (it was reported by the pip check and again by the conda check).
    line = (
        "  python: tinyutil: files as its RECORD and its conda-meta record list them"
        " -> 1 modified (tinyutil/__init__.py)"
    )
    assert line in result.out.splitlines()
    assert result.out.count("tinyutil/__init__.py") == 1
    result = cli("verify", lock, "--python", prefix / "bin" / "python", "--files", "--json")
    found = [d for d in json.loads(result.out)["differences"] if "__init__.py" in d["note"]]
    assert [(d["area"], d["subject"], d["actual"]) for d in found] == [("python", "tinyutil", "1 modified")]


def test_verify_gives_a_remedy_for_a_conda_package_at_another_version(
    conda_env: CondaEnv, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conda-managed package at another version (pip's tinyutil 0.4.0 over conda's 0.3.0, then conda's record
    of another version too) was a mismatch with no remedy line, where a pip package's mismatch has one: each now
    says the command that makes the locked environment again, from the lock as the command named it."""
    from condafixtures import make_wheel

    prefix = tmp_path / "my env"
    shutil.copytree(conda_env.prefix, prefix, symlinks=True)
    lockfile.dump(capture(str(prefix / "bin" / "python")), tmp_path / "envsnap.lock")
    wheel = make_wheel(tmp_path / "wheels", "tinyutil", "0.4.0", {"tinyutil/__init__.py": b"VALUE = 43\n"})
    pip = [sys.executable, "-m", "pip", "--python", str(prefix / "bin" / "python"), "install", "-q", "--no-index"]
    subprocess.run([*pip, "--find-links", str(wheel.parent), "tinyutil==0.4.0"], check=True, capture_output=True)
    monkeypatch.chdir(tmp_path)
    remedy = (
        "    remedy: rebuild the locked conda environment, in a new prefix: envsnap rebuild envsnap.lock --target "
        f"conda --prefix '{os.path.realpath(prefix)}-locked'"
    )
    result = cli("verify", "envsnap.lock", "--python", prefix / "bin" / "python")
    assert result.code == 3, result
    lines = result.out.splitlines()
    assert lines[lines.index("  python: tinyutil: version 0.3.0 -> 0.4.0") + 1] == remedy, result.out
    (record,) = (prefix / "conda-meta").glob("tinyutil-*.json")
    data = json.loads(record.read_text())
    record.write_text(json.dumps({**data, "version": "0.4.0", "build": "pyh_0"}))
    result = cli("verify", "envsnap.lock", "--python", prefix / "bin" / "python", "--json")
    assert result.code == 3, result
    diffs = json.loads(result.out)["differences"]
    found = {(d["area"], d["subject"], d["what"]): d["remedy"] for d in diffs if d["severity"] == "mismatch"}
    said = remedy.split(": ", 1)[1]
    assert found == {("python", "tinyutil", "version"): said, ("conda", "tinyutil", "version"): said}


def test_verify_files_hashes_a_file_rewritten_for_its_prefix(
    conda_channel: Any, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A text file with a prefix placeholder was only looked for: an edit of it verified identical, exit 0. It is
    now hashed against the record's ``sha256_in_prefix`` (the file as installed), and where an older installer
    wrote none, against the archive's ``sha256`` with the prefix written back as the placeholder."""
    from condafixtures import Entry, Pkg

    placeholder = "/opt/anaconda1anaconda2anaconda3"
    conf = Entry("etc/prefixed.conf", f"prefix={placeholder}\n".encode(), placeholder=placeholder)
    prefix = _env_with(
        tmp_path, conda_channel, [Pkg("prefixed", "1.0", "h0_0", "linux-64", [conf])], "python", "prefixed"
    )
    installed = (prefix / "etc" / "prefixed.conf").read_bytes()
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(capture(str(prefix / "bin" / "python")), lock)
    (record,) = (prefix / "conda-meta").glob("prefixed-*.json")
    data = json.loads(record.read_text())
    for kept in (True, False):
        if not kept:  # as an installer that records no sha256_in_prefix wrote it
            for entry in data["paths_data"]["paths"]:
                del entry["sha256_in_prefix"]
            record.write_text(json.dumps(data))
        (prefix / "etc" / "prefixed.conf").write_bytes(installed)
        result = cli("verify", lock, "--python", prefix / "bin" / "python", "--files")
        assert result.code == 0, result
        (prefix / "etc" / "prefixed.conf").write_bytes(installed + b"debug=1\n")
        result = cli("verify", lock, "--python", prefix / "bin" / "python", "--files")
        assert result.code == 3, result
        line = "  conda: prefixed: files as its conda-meta record lists them -> 1 modified (etc/prefixed.conf)"
        assert line in result.out.splitlines()


def test_a_channel_inside_the_project_is_rebuilt_from_another_checkout(
    conda_channel: CondaChannel, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lab keeps its own conda channel in the project repository. Capture records its packages as
    ``file://{project}/channel/...``; bundle and ``rebuild --target conda`` in another checkout of the project read
    ``{project}/channel/...`` below the working directory instead of that checkout's channel, and failed. They now
    read it from the checkout, allowed by ``--allow-url`` for its channel folder, as pip's files in the project."""
    monkeypatch.delenv("ENVSNAP_ALLOW_URL")  # only what the user passes below
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    project = tmp_path / "proj"
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    shutil.copytree(conda_channel.path, project / "channel")
    here = dataclasses.replace(conda_channel, path=project / "channel", url=(project / "channel").as_uri())
    prefix = create_env(here, tmp_path / "env", tmp_path / "cache", "hello-tool", "python")
    monkeypatch.chdir(project)
    assert cli("capture", "--prefix", prefix, "-o", "envsnap.lock").code == 0
    text = (project / "envsnap.lock").read_text()
    assert 'url = "file://{project}/channel/linux-64/libhello-1.0.0-h0a1b2c3_0.tar.bz2"' in text
    other = tmp_path / "other"
    shutil.copytree(project, other)
    shutil.rmtree(project)  # the lock's archives are read from this checkout or not at all
    monkeypatch.chdir(other)
    allow = ("--allow-url", f"{other}/channel/*")
    bundled = cli("bundle", "envsnap.lock", "-o", tmp_path / "bundle", *allow)
    assert bundled.code == 0, bundled
    assert sorted(p.name for p in (tmp_path / "bundle" / "conda").iterdir()) == [
        "hello-tool-1.0.0-h4d5e6f7_1.conda",
        "libhello-1.0.0-h0a1b2c3_0.tar.bz2",
        conda_channel.archives["python"].name,
    ]
    rebuilt = cli("rebuild", "envsnap.lock", "--target", "conda", "--prefix", tmp_path / "rebuilt", *allow)
    assert rebuilt.code == 0 and "identical" in rebuilt.out, rebuilt
    assert subprocess.run([tmp_path / "rebuilt" / "bin" / "hello"], capture_output=True, text=True).stdout == (
        "hello from libhello\n"
    )


def test_verify_files_reads_each_record_once_in_a_conda_environment(
    conda_env: CondaEnv, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """``verify --files`` of a conda environment read every pip distribution's RECORD twice: the probe read it to
    hash the distribution's files, then ``conda.pip_files`` opened it again in envsnap's own process to judge the
    paths a conda record lists too. The probe's answer now carries the RECORD's hashes, so envsnap's process
    reads no RECORD (it hashes the one a conda record lists as a file of its own), and the report is the same."""
    from condafixtures import make_wheel

    from envsnap.compare.verify import verify

    prefix = tmp_path / "env"
    shutil.copytree(conda_env.prefix, prefix, symlinks=True)
    files = {f"bigdemo/m{i:03d}.py": f"X = {i}\n".encode() for i in range(300)}
    wheel = make_wheel(tmp_path / "wheels", "bigdemo", "2.0.0", {"bigdemo/__init__.py": b"", **files})
    pip = [sys.executable, "-m", "pip", "--python", str(prefix / "bin" / "python"), "install", "-q", "--no-index"]
    subprocess.run([*pip, "--find-links", str(wheel.parent), "bigdemo"], check=True, capture_output=True)
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(capture(str(prefix / "bin" / "python")), lock)
    site = next((prefix / "lib").glob("python*/site-packages"))
    (site / "tinyutil" / "__init__.py").write_text("VALUE = 0\n")  # a conda record and a RECORD list it
    (site / "bigdemo" / "m007.py").write_text("X = -1\n")
    opened: list[str] = []
    counting = [True]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if counting[0] and event == "open" and str(args[0]).endswith(".dist-info/RECORD"):
            opened.append(Path(str(args[0])).parent.name)

    sys.addaudithook(hook)  # cannot be removed: it stops counting below
    try:
        report = verify(lock, str(prefix / "bin" / "python"), files=True, cache=False)
    finally:
        counting[0] = False
    # Only the conda check's hash of the one RECORD a conda record lists as a file of its own (tinyutil's); it
    # was bigdemo's, pipdemo's and tinyutil's RECORD read again besides.
    assert opened == ["tinyutil-0.3.0.dist-info"]
    found = sorted((d.area, d.subject, d.actual, d.note) for d in report.by_severity("mismatch"))
    assert found == [
        ("python", "bigdemo", "1 modified", "bigdemo/m007.py"),
        ("python", "tinyutil", "1 modified", "tinyutil/__init__.py"),
    ]
    result = cli("verify", lock, "--python", prefix / "bin" / "python", "--files")
    assert result.code == 3, result
    line = "  python: bigdemo: files as its RECORD lists them -> 1 modified (bigdemo/m007.py)"
    assert line in result.out.splitlines()


@pytest.mark.conda
def test_each_package_comes_from_the_channel_its_lock_entry_names_whatever_the_channel_order(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock keeps no channel order or priority (``[conda] channels`` is a sorted list): each package records
    its own archive URL and hashes, which the rebuild fetches and checks. Two channels holding one name and version
    in different builds: the rebuild installs the build the environment had, from the channel it came from, the
    first channel or the second."""
    import asyncio

    from condafixtures import Entry, Pkg, write_package
    from rattler import index

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    channels = {}
    for tag in ("first", "second"):
        channel = tmp_path / tag
        content = f"built for the {tag} channel\n".encode()
        write_package(Pkg("dup", "1.0", f"h{tag}_0", "linux-64", [Entry("share/dup.txt", content)]), channel)
        (channel / "noarch").mkdir(exist_ok=True)
        asyncio.run(index.index_fs(channel, force=True))
        channels[tag] = channel
    monkeypatch.chdir(tmp_path)
    allow = ["--allow-url", f"{tmp_path.as_uri()}/*"]
    for tag in ("first", "second"):
        import rattler

        # Both channels in one order, the build asked for: a solve with channel priority alone could not choose.
        records = asyncio.run(
            rattler.solve(
                [channels["first"].as_uri(), channels["second"].as_uri()],
                [f"dup ==1.0 h{tag}_0"],
                platforms=["linux-64", "noarch"],
                gateway=rattler.Gateway(cache_dir=tmp_path / "repodata"),
                virtual_packages=[],
            )
        )
        env = tmp_path / f"env-{tag}"
        asyncio.run(rattler.install(records, env, cache_dir=tmp_path / "pkgs", show_progress=False))
        assert cli("capture", "--prefix", env, "-o", f"{tag}.lock").code == 0
        (locked,) = lockfile.load(tmp_path / f"{tag}.lock").conda.packages  # type: ignore[union-attr]
        assert (locked.build, locked.channel) == (f"h{tag}_0", channels[tag].as_uri())
        dest = tmp_path / f"rebuilt-{tag}"
        result = cli("rebuild", f"{tag}.lock", "--target", "conda", "--prefix", dest, *allow)
        assert result.code == 0, result.err
        assert (dest / "share" / "dup.txt").read_text() == f"built for the {tag} channel\n"
        (meta,) = (dest / "conda-meta").glob("dup-*.json")
        record = json.loads(meta.read_text())
        assert (record["build"], record["channel"]) == (f"h{tag}_0", channels[tag].as_uri())
        assert record["url"] == f"{channels[tag].as_uri()}/linux-64/dup-1.0-h{tag}_0.tar.bz2"


# A stand-in for conda and micromamba that installs an explicit file as they do for the call envsnap makes, and runs
# each package's post-link script after it, in the file's order, with bash: after a script that succeeds, conda prints
# $PREFIX/.messages.txt amid its "Executing transaction" line and removes it (conda.core.link.messages); libmamba
# prints it and leaves it in the prefix (get_prefix_messages removes it only when reading it failed).
FAKE_ENGINE = """#!{python}
import asyncio, os, subprocess, sys
from pathlib import Path
import rattler
from rattler.explicit_environment import ExplicitEnvironmentSpec

conda = Path(sys.argv[0]).name == "conda"
args = sys.argv[1:]
assert args[0] == "create" and {{"--yes", "--offline"}} <= set(args), args
prefix = Path(args[args.index("--prefix") + 1])
spec = ExplicitEnvironmentSpec.from_path(Path(args[args.index("--file") + 1]))
paths = [Path(entry.url.partition("#")[0][len("file://"):]) for entry in spec.packages]
records = [asyncio.run(rattler.RepoDataRecord.from_package_archive(path)) for path in paths]
asyncio.run(rattler.install(records, prefix, cache_dir=prefix.parent / "engine-cache", execute_link_scripts=False,
                            show_progress=False))
print("Preparing transaction: done")
print("Verifying transaction: done")
print("Executing transaction: " + ("...working... " if conda else ""), end="", flush=True)
for path in paths:
    name = path.name.rsplit("-", 2)[0]
    script = prefix / "bin" / f".{{name}}-post-link.sh"
    if not script.is_file():
        continue
    env = {{**os.environ, "PREFIX": str(prefix), "PKG_NAME": name}}
    done = subprocess.run(["bash", "-x", str(script)], env=env, cwd=script.parent, capture_output=True)
    assert done.returncode == 0, done
    messages = prefix / ".messages.txt"
    if messages.is_file():
        print(messages.read_text(), flush=True)
        if conda:
            messages.unlink()
print("done" if conda else "")
print("#\\n# To activate this environment, use\\n#\\n#     $ conda activate " + str(prefix) + "\\n#")
sys.stdout.flush()
os._exit(0)
"""


@pytest.mark.conda
@pytest.mark.parametrize("engine", ["conda", "micromamba"])
@pytest.mark.parametrize("scripts", ["needy", "needy and quiet"])
def test_a_post_link_scripts_message_is_a_note_with_an_engine_too(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, engine: str, scripts: str
) -> None:
    """With --engine conda, mamba or micromamba, a post-link script's message to the user was lost: conda printed it
    into its output, which the rebuild drops on success, and micromamba left ``.messages.txt`` in the new prefix. It
    is a note of the rebuild, as with py-rattler: escaped, cut short, and no file of it left in the prefix. The engine
    does not say which script wrote it: the note names the packages that have one."""
    import asyncio

    from condafixtures import Entry, Pkg, write_package
    from rattler import index

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    channel = tmp_path / "channel"
    body = (
        b'echo "$PKG_NAME: run setup-gpu once to finish the install" >> "$PREFIX/.messages.txt"\n'
        b"printf 'see the docs \\033[2J\\n' >> \"$PREFIX/.messages.txt\"\n"
    )
    write_package(Pkg("needy", "1.0", "h0_0", "linux-64", [Entry("bin/.needy-post-link.sh", body, 0o755)]), channel)
    quiet = [Entry("bin/.quiet-post-link.sh", b"true\n", 0o755)] if "quiet" in scripts else [Entry("q.txt", b"q\n")]
    write_package(Pkg("quiet", "1.0", "h0_0", "linux-64", quiet), channel)
    (channel / "noarch").mkdir(exist_ok=True)
    asyncio.run(index.index_fs(channel, force=True))
    prefix = create_env(
        CondaChannel(channel, channel.as_uri(), {}, tmp_path), tmp_path / "env", tmp_path / "c", "needy", "quiet"
    )
    (prefix / ".messages.txt").unlink(missing_ok=True)
    monkeypatch.chdir(tmp_path)
    assert cli("capture", "--prefix", prefix, "-o", "env.lock").code == 0
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / engine
    fake.write_text(FAKE_ENGINE.format(python=sys.executable))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    dest = tmp_path / "rebuilt"
    result = cli(
        "rebuild",
        "env.lock",
        "--target",
        "conda",
        "--engine",
        engine,
        "--prefix",
        dest,
        "--allow-url",
        f"{channel.as_uri()}/*",
    )
    assert result.code == 0, result.err
    notes = [line for line in (result.out + result.err).splitlines() if line.startswith("note: ") and "needy" in line]
    who = (
        "the post-link scripts of needy 1.0 (h0_0), quiet 1.0 (h0_0) say"
        if "quiet" in scripts
        else "needy 1.0 (h0_0): its post-link script says"
    )
    assert notes == [f"note: {who}: needy: run setup-gpu once to finish the install | see the docs"]
    assert not (dest / ".messages.txt").exists()


@pytest.mark.conda
def test_ctrl_c_while_rattler_installs_waits_for_its_writing_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """py-rattler installs on threads of its own (tokio's), which a Ctrl-C does not stop: the interrupt went on at
    once, the staging folder was removed while rattler still wrote its package cache into it, and a
    ``.envsnap-conda-*`` folder was left beside --prefix after `envsnap: interrupted`. The rebuild now says it
    waits for rattler, waits, and then removes everything. (rattler's install is replaced here by one that, like
    it, writes on a thread no cancellation stops: a real one ends too soon to be interrupted on time.)"""
    import asyncio
    import os
    import signal
    import time

    import rattler
    from condafixtures import Entry, Pkg, write_package

    from envsnap import _leftovers

    made = Pkg("aa-tool", "1.0", "h0_0", "linux-64", [Entry("share/aa", b"aa\n")])
    archives = {made.name: write_package(made, tmp_path / "channel")}
    packages = (CondaPackage(made.name, "1.0", "h0_0", channel=(tmp_path / "channel").as_uri()),)
    writers: list[threading.Thread] = []

    def write(cache: Path) -> None:
        for i in range(8):
            time.sleep(0.1)
            (cache / f"pkg{i}").mkdir(parents=True, exist_ok=True)
            (cache / f"pkg{i}" / "info").write_text("extracted\n")

    def install(records: object, prefix: object, cache_dir: Path, **kwargs: object) -> Any:
        writer = threading.Thread(target=write, args=(Path(cache_dir),))
        writers.append(writer)
        writer.start()
        threading.Timer(0.15, os.kill, (os.getpid(), signal.SIGINT)).start()  # a Ctrl-C while it writes

        async def done() -> None:
            while writer.is_alive():
                await asyncio.sleep(0.01)

        return done()

    monkeypatch.setattr(rattler, "install", install)
    parent = tmp_path / "parent"
    parent.mkdir()  # the user's folder: it stays (one held_dir made would go with the run)
    said: list[str] = []
    with pytest.raises(KeyboardInterrupt), _leftovers.held_dir(parent, "conda") as work:
        target.install_with_rattler(
            Conda(subdir="linux-64", packages=packages),
            archives,
            work / "prefix",
            work / "pkgs",
            progress=said.append,
        )
    for writer in writers:
        writer.join(5)
    assert list(parent.iterdir()) == []
    assert said == ["interrupted: waiting for py-rattler to stop writing (up to 300 s; Ctrl-C again to leave at once)"]


@pytest.mark.conda
def test_ctrl_c_as_rattlers_install_starts_waits_for_it_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C that came as the thread installing with py-rattler was started (in ``Thread.start``, before the
    wait that handles an interrupt) went on at once, without waiting: the staging prefix, which
    py-rattler went on writing while it was removed, was left beside --prefix with no holder to name it (a 2-letter
    hidden folder, found in about 1 of 7 Ctrl-Cs at that moment), which neither `envsnap clean` nor the next
    rebuild removes. Such a Ctrl-C now waits for py-rattler as any other does."""
    import asyncio
    import time

    import rattler
    from condafixtures import Entry, Pkg, write_package

    from envsnap import _leftovers

    made = Pkg("aa-tool", "1.0", "h0_0", "linux-64", [Entry("share/aa", b"aa\n")])
    archives = {made.name: write_package(made, tmp_path / "channel")}
    packages = (CondaPackage(made.name, "1.0", "h0_0", channel=(tmp_path / "channel").as_uri()),)
    writers: list[threading.Thread] = []

    def write(prefix: Path) -> None:
        for i in range(6):
            time.sleep(0.05)
            (prefix / f"part{i}").mkdir(parents=True, exist_ok=True)

    def install(records: object, prefix: object, cache_dir: Path, **kwargs: object) -> Any:
        writer = threading.Thread(target=write, args=(Path(str(prefix)),))
        writers.append(writer)
        writer.start()

        async def done() -> None:
            while writer.is_alive():
                await asyncio.sleep(0.01)

        return done()

    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        real_start(self)
        if self.name == "envsnap-py-rattler":
            while not writers:  # py-rattler is writing...
                time.sleep(0.001)
            raise KeyboardInterrupt  # ...and the Ctrl-C lands in start()

    monkeypatch.setattr(rattler, "install", install)
    monkeypatch.setattr(threading.Thread, "start", start)
    parent = tmp_path / "parent"
    parent.mkdir()
    said: list[str] = []
    with pytest.raises(KeyboardInterrupt), _leftovers.held_dir(parent, "conda") as work:
        staging = target.staging_prefix(parent / "env", work)
        target.install_with_rattler(
            Conda(subdir="linux-64", packages=packages), archives, staging, work / "pkgs", progress=said.append
        )
    for writer in writers:
        writer.join(5)
    assert list(parent.iterdir()) == []
    assert said == ["interrupted: waiting for py-rattler to stop writing (up to 300 s; Ctrl-C again to leave at once)"]


def test_a_ctrl_c_as_the_prefix_folder_is_tried_leaves_no_folder(
    bundle: Path, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether --prefix can be made is tried by making a folder above it and removing it at once. A Ctrl-C that
    came just after it was made left it there, an empty ``.envsnap-dest-*`` that neither the next rebuild nor
    `envsnap clean` removes ("no leftovers of interrupted runs"), though a Ctrl-C removes every staging and
    temporary folder (about 1 in 20 Ctrl-Cs early in a rebuild)."""
    import os

    real_mkdir = os.mkdir

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        real_mkdir(path, *args, **kwargs)
        if os.path.basename(path).startswith(".envsnap-dest-"):
            raise KeyboardInterrupt  # the Ctrl-C lands as the folder is made

    monkeypatch.setattr(os, "mkdir", mkdir)
    parent = tmp_path / "parent"
    parent.mkdir()
    result = cli(
        "rebuild",
        bundle / "envsnap.lock",
        "--target",
        "conda",
        "--prefix",
        parent / "new" / "env",
        "--bundle",
        bundle,
        "--offline",
    )
    assert result.code == 130, result
    assert result.err == "envsnap: interrupted\n", result
    assert list(parent.iterdir()) == []


@pytest.mark.parametrize("where", ["removing the work folder", "the first check"])
def test_ctrl_c_once_the_prefix_is_in_place_but_not_verified_takes_it_out(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The prefix is moved into place, then the work folder (its package cache: seconds for a large environment)
    is removed and the result verified. A Ctrl-C in either left the prefix at --prefix, never verified, with the
    run reporting 'interrupted' (exit 130); the next rebuild refused the folder as not empty."""
    from envsnap import _leftovers

    if where == "removing the work folder":
        real_rmtree = shutil.rmtree

        def rmtree(path: Any, *args: Any, **kwargs: Any) -> None:
            real_rmtree(path, *args, **kwargs)
            if Path(path).name.startswith(".envsnap-conda-"):
                raise KeyboardInterrupt

        monkeypatch.setattr(_leftovers.shutil, "rmtree", rmtree)
    else:

        def interrupted(*args: object, **kwargs: object) -> object:
            raise KeyboardInterrupt

        monkeypatch.setattr(target, "compare_conda", interrupted)
    lock = lockfile.load(bundle / "envsnap.lock")
    parent = tmp_path / "parent"
    parent.mkdir()
    request = RebuildRequest(
        lock=lock,
        lock_path=bundle / "envsnap.lock",
        dest=parent / "env",
        target="conda",
        bundle_dir=bundle,
        offline=True,
    )
    plan = target.REBUILDER.plan(request)
    with pytest.raises(KeyboardInterrupt):
        target.REBUILDER.execute(plan, request)
    assert sorted(p.name for p in parent.iterdir()) == []


def test_a_ctrl_c_while_the_work_folder_is_removed_leaves_no_part_of_it(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the prefix is in place, the work folder and its package cache (gigabytes for a CUDA environment) are
    removed. A Ctrl-C in that removal stopped it midway: the prefix was taken out, but the rest of the work folder, a
    ``.envsnap-conda-*`` folder with part of the package cache, stayed beside --prefix until the next rebuild or
    `envsnap clean`, though the docs say an interrupted rebuild removes it. The removal is finished, then the
    interrupt goes on (exit 130)."""
    from envsnap import _leftovers

    real_rmtree = shutil.rmtree
    interrupted: list[Path] = []

    def rmtree(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path).name.startswith(".envsnap-conda-") and not interrupted:
            interrupted.append(Path(path))
            for item in sorted(Path(path).iterdir())[:1]:  # the removal has begun...
                real_rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()
            raise KeyboardInterrupt  # ...and the Ctrl-C lands in it
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(_leftovers.shutil, "rmtree", rmtree)
    lock = lockfile.load(bundle / "envsnap.lock")
    parent = tmp_path / "parent"
    parent.mkdir()
    request = RebuildRequest(
        lock=lock,
        lock_path=bundle / "envsnap.lock",
        dest=parent / "env",
        target="conda",
        bundle_dir=bundle,
        offline=True,
    )
    plan = target.REBUILDER.plan(request)
    with pytest.raises(KeyboardInterrupt):
        target.REBUILDER.execute(plan, request)
    assert interrupted
    assert sorted(p.name for p in parent.iterdir()) == []


def test_dry_run_refuses_a_channel_url_the_run_would_refuse(
    locked: Path, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file:// channel without --allow-url: `--dry-run` printed a plan, "check: passed", exit 0, and the run then
    refused the first archive's URL, exit 2. The plan refuses it, with the run's line; an archive already in the
    download cache is not fetched, so its URL is not asked about, in the plan as in the run."""
    monkeypatch.delenv("ENVSNAP_ALLOW_URL")
    cache = tmp_path / "cache"
    args = ["rebuild", locked, "--target", "conda", "--prefix", tmp_path / "p", "--option", f"cache_dir={cache}"]
    result = cli(*args, "--dry-run")
    assert result.code == 2, result
    assert "hello-tool 1.0.0 (h4d5e6f7_1): conda package /" in result.err  # by its path, not its file: URL
    assert "is not fetched: a local path, not https (pass --allow-url PATTERN" in result.err
    assert not (tmp_path / "p").exists() and not cache.exists()
    lock = lockfile.load(locked)
    assert lock.conda is not None
    with monkeypatch.context() as mp:
        mp.setenv("ENVSNAP_ALLOW_URL", "file:///*")
        conda_archives.fetch_all(lock.conda.packages, cache, by_hash=True)
    result = cli(*args, "--dry-run")
    assert result.code == 0, result
    assert "check: passed" in result.out


def test_audit_of_a_conda_bundle_asks_for_no_base_image(bundle: Path, cli: Callable[..., Any]) -> None:
    """The audit graded a conda bundle short of Functional for want of a saved base image, its remedy `envsnap
    bundle ... --with-base-image`: the docker target refuses a conda environment ("rebuilds pip environments
    only: use --target conda"), so the image saved rebuilt nothing. A conda lock's rebuild needs none."""
    result = cli("audit", bundle, "--json")
    assert result.code == 0, result
    (item,) = [i for i in json.loads(result.out)["items"] if i["id"] == "base-image"]
    assert item["ok"] and item["remedy"] == "", item
    assert item["detail"].startswith("a conda environment: rebuilt by the conda target"), item


def test_the_appendix_check_line_of_a_conda_lock_passes_where_another_python_runs_envsnap(
    locked: Path, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The appendix (and an artifact's REPRODUCING.md) told a reader of a conda lock to run `envsnap check LOCK`,
    which judges the interpreter envsnap runs with: on a machine whose envsnap runs on another Python it failed the
    Python rule, exit 3, though the conda rebuild on the next line brings the locked one. The line says
    `--target conda`, and passes there."""
    import shlex

    lock = lockfile.load(locked)
    # Locked with another Python than the one running here (its conda package and wheels aside: not judged).
    other = dataclasses.replace(
        lock, python=dataclasses.replace(lock.python, version="3.9.18", abi="cp39", soabi="cpython-39-x86_64-linux-gnu")
    )
    path = lockfile.dump(other, tmp_path / "envsnap.lock")
    assert cli("check", path).code == 3  # the host's interpreter is not 3.9.18
    result = cli("export", path, "-f", "markdown", "-o", tmp_path / "appendix.md")
    assert result.code == 0, result
    text = (tmp_path / "appendix.md").read_text()
    (line,) = [line for line in text.splitlines() if line.startswith("envsnap check ")]
    words = shlex.split(line.split("#", 1)[0])
    assert words[-2:] == ["--target", "conda"], line
    monkeypatch.chdir(tmp_path)
    result = cli(*words[1:])
    assert result.code == 0, result


def test_a_pip_package_that_cannot_be_pinned_stops_the_rebuild_before_any_conda_install(
    locked: Path, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip's configuration without the find-links folder pipdemo came from: the run installed every conda package
    (minutes, for a CUDA environment), then failed to pin pipdemo, saying "nothing was fetched". The wheels are
    pinned and fetched first: the conda install does not begin."""
    import rattler

    def install(*args: object, **kwargs: object) -> object:
        raise AssertionError("the conda packages were installed before the pip layer was pinned")

    monkeypatch.setattr(rattler, "install", install)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    args = ("rebuild", locked, "--target", "conda", "--prefix", tmp_path / "p")
    result = cli(*args, "--option", f"cache_dir={tmp_path / 'cache'}")
    assert result.code == 4, result
    assert "not every package could be pinned, nothing was fetched: pipdemo 1.2.0" in result.err
    assert "installing 4 conda packages" not in result.err and "were installed" not in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_a_second_ctrl_c_while_the_unverified_prefix_is_removed_leaves_nothing_at_the_prefix(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted before the verify judged it, the prefix is removed; a second Ctrl-C while its files went (the
    interrupt message says another leaves at once) left part of it at --prefix, which the next rebuild refused as
    not empty and no sweep knew. It is moved aside in one rename first, to a name the next run's sweep removes."""
    from envsnap import _leftovers

    def interrupted(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(target, "compare_conda", interrupted)
    real_rmtree = shutil.rmtree

    def rmtree(path: Any, *args: Any, **kwargs: Any) -> None:
        if not (Path(path) / "conda-meta").is_dir():  # not the prefix: the work folder, removed as it is
            real_rmtree(path, *args, **kwargs)
            return
        # The second Ctrl-C, while the prefix is removed: a few files are gone, then the removal stops.
        for item in sorted(Path(path).rglob("*"))[:3]:
            if item.is_file() and not item.is_symlink():
                item.unlink()
        raise KeyboardInterrupt

    lock = lockfile.load(bundle / "envsnap.lock")
    parent = tmp_path / "parent"
    parent.mkdir()
    request = RebuildRequest(
        lock=lock,
        lock_path=bundle / "envsnap.lock",
        dest=parent / "env",
        target="conda",
        bundle_dir=bundle,
        offline=True,
    )
    plan = target.REBUILDER.plan(request)
    monkeypatch.setattr(target.shutil, "rmtree", rmtree)
    with pytest.raises(KeyboardInterrupt):
        target.REBUILDER.execute(plan, request)
    monkeypatch.setattr(target.shutil, "rmtree", real_rmtree)
    assert not (parent / "env").exists()
    _leftovers.sweep(parent)  # what the next rebuild, and `envsnap clean`, do first
    assert sorted(p.name for p in parent.iterdir()) == []


def test_the_failed_checks_remedy_runs_the_check_the_rebuild_ran(
    locked: Path, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conda lock rebuilt as a venv fails the check (its conda packages are not wheels); the error said "run
    `envsnap check` for details", which judges the host and passed that lock, exit 0, showing no failure. It names
    the check the rebuild ran, shell-quoted, which fails as the rebuild did."""
    import shlex

    lock = tmp_path / "it's a lock.toml"
    lock.write_bytes(locked.read_bytes())
    monkeypatch.chdir(tmp_path)
    for extra in ((), ("--dry-run",)):
        result = cli("rebuild", lock.name, "--dest", tmp_path / "env", *extra)
        assert result.code == 3, result
        command = result.err.split("run `", 1)[1].split("`", 1)[0]
        words = shlex.split(command)
        assert words[:5] == ["envsnap", "check", lock.name, "--target", "venv"], command
        again = cli(*words[1:])
        assert again.code == 3, again
        assert "conda packages" in again.out
    assert cli("check", lock.name).code == 0  # what the remedy said before: the host's check passes


def test_audit_finds_a_conda_archive_that_is_not_the_locked_one(
    bundle: Path, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A conda archive replaced in the bundle, SHA256SUMS written again: the audit read `files-bundled: ok, every
    file present and matching SHA256SUMS; 1 wheels match the lock` (it checked the wheels alone), and
    `rebuild --target conda --bundle` then refused the archive, exit 4. The archives are checked as the wheels are."""
    copy = _copy_bundle(bundle, tmp_path)
    good = json.loads(cli("audit", copy, "--json").out)
    (item,) = [i for i in good["items"] if i["id"] == "files-bundled"]
    assert item["ok"] and item["detail"].endswith("1 wheel, 4 conda archives, matching the lock"), item
    archive = next((copy / "conda").glob("libhello-*.tar.bz2"))
    archive.write_bytes(archive.read_bytes() + b"\0")
    Bundle(copy).write_sums()
    result = cli("audit", copy, "--json")
    (item,) = [i for i in json.loads(result.out)["items"] if i["id"] == "files-bundled"]
    assert not item["ok"], item
    assert item["detail"].startswith(f"not intact: {archive}: hash mismatch: sha256 "), item
    args = ("--target", "conda", "--bundle", copy, "--offline", "--prefix", tmp_path / "p")
    rebuilt = cli("rebuild", copy / "envsnap.lock", *args)
    assert rebuilt.code == 4 and "sha256 mismatch for libhello" in rebuilt.err, rebuilt


@pytest.mark.parametrize(
    "folder", ["review dir #1", "b${HOME} 50%41", "a'b\"c", "ünï códe ✓", "new\nline", "/".join(["x" * 200] * 17)]
)
def test_a_bundle_in_a_folder_with_an_awkward_name_rebuilds_identical(
    bundle: Path, cli: Callable[..., Any], tmp_path: Path, folder: str
) -> None:
    """A reviewer unpacks the bundle into a folder whose path pip, a shell or a URL reads otherwise (a ``#`` after a
    space, a ``${...}``, a ``%``, quotes, non-ASCII, a newline): the conda rebuild installs its conda archives and
    its wheels from there, offline, identical to the lock, with the bundle given as a folder and as its lock."""
    where = tmp_path / folder
    where.mkdir(parents=True)
    copy = _copy_bundle(bundle, where)
    for n, args in enumerate(([copy], [copy / "envsnap.lock", "--bundle", copy])):
        prefix = where / f"env{n}"
        result = cli("rebuild", *args, "--target", "conda", "--prefix", prefix, "--offline")
        assert result.code == 0 and "identical" in result.out, result
        out = subprocess.run(
            [prefix / "bin" / "python", "-c", "import tinyutil, pipdemo; print(tinyutil.VALUE, pipdemo.answer())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out == "42 7\n"


def test_a_rebuild_past_path_max_fails_and_leaves_no_staging_folder(
    bundle: Path, cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A --prefix so deep that the installer's files are past PATH_MAX: py-rattler fails ("File name too long"),
    exit 4, and the failing run removes its ``.envsnap-conda-*`` folder and the staging prefix beside --prefix
    before it returns: rattler's own threads still unpacked other packages after its install had failed, and one
    was left there, with rattler's package cache in it (removed by the next run), or the staging prefix alone."""
    parent = tmp_path / "/".join(["d" * 250] * 15)
    parent = parent / ("e" * (4000 - len(os.fsencode(parent)) - 1))  # 4,000 bytes: a folder can be made in it
    parent.mkdir(parents=True)
    prefix = parent / ("p" * 40)  # its files past 4,096 bytes
    args = ("rebuild", bundle / "envsnap.lock", "--target", "conda", "--bundle", bundle, "--offline")
    result = cli(*args, "--prefix", prefix)
    assert result.code == 4 and "File name too long" in result.err, result
    assert list(parent.iterdir()) == []


def test_a_failed_rattler_install_waits_for_its_writing_and_leaves_nothing(
    bundle: Path, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """py-rattler's install fails while threads of its own (tokio's) still unpack other packages into its package
    cache and link them into the prefix: the run removed its staging folder under them, and they left a
    ``.envsnap-conda-*`` folder (or the staging prefix) beside --prefix after the command returned. The failing run
    now waits until they stop writing, then removes everything. (rattler's install is replaced by one that, like
    it, fails while a thread of its own goes on writing.)"""
    import time

    import rattler

    writers: list[threading.Thread] = []

    def write(prefix: Path, cache: Path) -> None:
        for i in range(8):
            time.sleep(0.1)
            for folder in (prefix, cache / f"pkg{i}"):
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"file{i}").write_text("extracted\n")

    async def install(records: object, prefix: object, cache_dir: Path, **kwargs: object) -> None:
        writer = threading.Thread(target=write, args=(Path(str(prefix)), Path(cache_dir)))
        writers.append(writer)
        writer.start()
        raise RuntimeError("failed to unpack `site-packages/x.py`: File name too long (os error 36)")

    monkeypatch.setattr(rattler, "install", install)
    parent = tmp_path / "parent"
    parent.mkdir()
    args = ("rebuild", bundle / "envsnap.lock", "--target", "conda", "--bundle", bundle, "--offline")
    result = cli(*args, "--prefix", parent / "p")
    assert result.code == 4 and "File name too long" in result.err, result
    assert list(parent.iterdir()) == []  # when the command returns
    for writer in writers:
        writer.join(5)
    assert list(parent.iterdir()) == []


def test_a_real_ctrl_c_while_a_failing_rattler_install_writes_leaves_nothing(tmp_path: Path) -> None:
    """``envsnap rebuild --target conda`` sent SIGINT while py-rattler installs from a local channel (made with
    ``rattler.index``) whose first package cannot be unpacked (its last file's path is past PATH_MAX) while the others
    still are: the interrupt waited for rattler's install to fail, and then removed the staging folder while
    rattler's own threads still wrote into it, so a ``.envsnap-conda-*`` folder and the staging prefix were left
    beside --prefix (4 runs in 5). An interrupt now waits for them to stop writing, as a failure does: exit 130,
    nothing left."""
    import asyncio
    import signal
    import time

    from condafixtures import Entry, Pkg, write_package
    from rattler import index

    channel = tmp_path / "channel"
    made = []
    for k in range(8):
        entries = [Entry(f"share/big{k}/f{i}.txt", b"%d\n" % i * 200) for i in range(1500)]
        if k == 0:
            entries.append(Entry(f"share/big{k}/" + "z" * 80 + ".txt", b"z\n"))  # unpacked last: past PATH_MAX
        pkg = Pkg(f"big{k}", "1.0", "h0_0", "linux-64", entries)
        made.append((pkg, write_package(pkg, channel)))
    (channel / "noarch").mkdir(exist_ok=True)
    asyncio.run(index.index_fs(channel, force=True))
    packages = tuple(
        CondaPackage(
            pkg.name,
            pkg.version,
            pkg.build,
            channel=channel.as_uri(),
            subdir="linux-64",
            url=f"{channel.as_uri()}/linux-64/{archive.name}",
            sha256=hashlib.sha256(archive.read_bytes()).hexdigest(),
        )
        for pkg, archive in made
    )
    lock = lockfile.dump(
        Snapshot(conda=Conda(subdir="linux-64", channels=(channel.as_uri(),), packages=packages)),
        tmp_path / "envsnap.lock",
    )
    # A parent 4,000 bytes long: the prefix beside it fits, rattler's package cache's copy of big0's last file not.
    parent = tmp_path / "/".join(["d" * 250] * 15)
    parent = parent / ("e" * (4000 - len(os.fsencode(parent)) - 1))
    parent.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    argv = ["rebuild", str(lock), "--target", "conda", "--prefix", str(parent / ("p" * 40))]
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", *argv, "--option", f"cache_dir={tmp_path / 'cache'}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        said = [proc.stderr.readline() for _ in range(2)]
        assert said[1].startswith("installing 8 conda packages with rattler"), said
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert (proc.returncode, err.splitlines()[-1]) == (130, "envsnap: interrupted"), err
    assert list(parent.iterdir()) == []  # when the command returns
    time.sleep(2)
    assert list(parent.iterdir()) == []


def test_a_conda_rebuild_run_outside_the_project_names_its_folder_in_verifys_warning_as_in_its_plan(
    conda_channel: CondaChannel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """A conda environment whose pip layer holds the project installed editable, captured in the project: run from
    outside it, ``rebuild --target conda`` reads ``{project}`` as the work tree around the lock's folder, and its plan
    names the project's folder in the command that installs it as locked; the verify after it read ``{project}`` as
    the work tree around the working directory (none) and said ``-e DIR``. It reads it as the rebuild does, as the
    venv target's verify does."""
    import shlex

    from testutil import in_tree_project

    project = in_tree_project(tmp_path / "my paper", "researchproj", "1.0")
    who = ["-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "."], [*who, "commit", "-q", "-m", "paper"]):
        subprocess.run(["git", *args], cwd=project, check=True)
    prefix = create_env(conda_channel, tmp_path / "env", tmp_path / "cache", "python")
    pip = [sys.executable, "-m", "pip", "--python", str(prefix / "bin" / "python"), "install", "-q", "--no-index"]
    subprocess.run([*pip, "--no-build-isolation", "--no-deps", "-e", str(project)], check=True, capture_output=True)
    lock = capture(str(prefix / "bin" / "python"), project_dir=str(project))
    pkg = lock.package("researchproj")
    assert pkg is not None and pkg.source.url == "file://{project}" and pkg.source.editable
    lock_path = lockfile.dump(lock, project / "envsnap.lock")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    bundle, dest = tmp_path / "bundle", tmp_path / "rebuilt"
    made = cli("bundle", lock_path, "-o", bundle)
    assert made.code == 0, made
    done = cli("rebuild", lock_path, "--target", "conda", "--prefix", dest, "--bundle", bundle, "--offline")
    assert done.code == 0, done
    folder = shlex.quote(str(project))
    assert f"--no-deps -e {folder}` afterwards" in done.out + done.err, done
    assert f"`pip install --no-deps -e {folder}` installs it as locked)" in done.out, done
