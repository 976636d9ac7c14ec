"""Planted secrets: every token format, login name and host name envsnap must never record.

Each case is planted where a capture reads it (recorded environment variables, a distribution's
``direct_url.json``, the project's git branch and remote, a ``conda-meta`` record, a framework's import error)
of a real venv captured in process with a monkeypatched home, login and host name. None of the planted strings
may appear in the lock, nor in the output of any export format. A second lock carries the same secrets raw (as an
imported or older lock could): every export of it must still leave each secret out. Each case leaked on the main
before this test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import io
import json
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pytest
from testutil import site_packages

from envsnap import lockfile
from envsnap.cli import main
from envsnap.export import exporters
from envsnap.model import Artifact, Snapshot

LOGIN = "zoe.planted"
HOST = "gpunode-planted07.cluster.example.org"
SHORT_HOST = "gpunode-planted07"
SHA256 = "9f" * 32  # a wheel's sha256: never a secret
MD5 = "0c" * 16
COMMIT = "3e1f" * 10  # a 40-hex commit, as long as an AWS secret key
# Formats that refuse this lock (its pip packages come from directories and archives without a file sha256).
UNFIT_FORMATS = frozenset({"conda-lock"})


@dataclass(frozen=True)
class Planted:
    id: str
    where: str  # env | direct_url | git | conda
    key: str  # the variable, distribution or conda package it is planted in
    value: str  # what is planted
    secret: str  # the part that must appear nowhere
    name: bool = False  # a login/host name (a capture-time rule) rather than a secret (removed by exports too)


def _aws_secret(seed: str) -> str:
    value = (seed + "Xq7Lm2Np9Rs4Tv8Wy3Za6Bc1De5Fg0Hj")[:40]
    assert len(value) == 40
    return value


AWS_SECRET = _aws_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCY")
AWS_SECRET_PLUS = _aws_secret("PLANTEDa1b2+c3d4/e5f6")

CASES = [
    # ---- values in recorded environment variables (names that do not look secret)
    Planted("env-aws-secret-key", "env", "TORCH_S3_READER", AWS_SECRET, AWS_SECRET),
    Planted("env-aws-secret-key-plus", "env", "TF_S3_READER", f"--s3={AWS_SECRET_PLUS}", AWS_SECRET_PLUS),
    Planted("env-aws-temporary-asia", "env", "TORCH_S3_ID", "ASIAPLANTEDTEMPKEY01", "ASIAPLANTEDTEMPKEY01"),
    Planted(
        "env-google-aiza",
        "env",
        "JAX_GCS_CLIENT",
        "AIzaSyPLANTED-googleKey_0123456789abcde",
        "AIzaSyPLANTED-googleKey_0123456789abcde",
    ),
    Planted(
        "env-stripe-sk-live",
        "env",
        "TORCH_BILLING",
        "sk_live_PLANTEDstripe0123456789",
        "sk_live_PLANTEDstripe0123456789",
    ),
    Planted(
        "env-stripe-rk-live",
        "env",
        "NCCL_BILLING",
        "rk_live_PLANTEDrestricted0123456789",
        "rk_live_PLANTEDrestricted0123456789",
    ),
    Planted(
        "env-npm",
        "env",
        "TORCH_NPM",
        "npm_PLANTEDnpm0123456789abcdefghijklmnop",
        "npm_PLANTEDnpm0123456789abcdefghijklmnop",
    ),
    Planted(
        "env-pypi",
        "env",
        "TORCH_UPLOAD",
        "pypi-AgEIcHlwaS5vcmcPLANTEDpypi0123456789",
        "AgEIcHlwaS5vcmcPLANTEDpypi0123456789",
    ),
    Planted(
        "env-bearer",
        "env",
        "TORCH_HTTP_HEADER",
        "Authorization: Bearer PLANTEDbearer0123456789.abc",
        "PLANTEDbearer0123456789",
    ),
    Planted(
        "env-dsn-without-scheme", "env", "TORCH_DB", "dbuser:PLANTEDdbPass@db.internal.example:5432", "PLANTEDdbPass"
    ),
    Planted(
        "env-url-x-amz-signature",
        "env",
        "TORCH_MODEL_URL",
        "https://bucket.s3.example.org/m.pt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=PLANTEDamzsig0123",
        "PLANTEDamzsig0123",
    ),
    Planted(
        "env-url-x-goog-signature",
        "env",
        "JAX_MODEL_URL",
        "https://storage.example.org/b/m.ckpt?X-Goog-Algorithm=GOOG4&X-Goog-Signature=PLANTEDgoogsig0123",
        "PLANTEDgoogsig0123",
    ),
    Planted("env-sig-outside-url", "env", "TORCH_BLOB", "--container=c --sig=PLANTEDbaresig0123", "PLANTEDbaresig0123"),
    Planted("env-token-outside-url", "env", "XLA_PROFILER", "--token=PLANTEDbaretoken0123", "PLANTEDbaretoken0123"),
    Planted(
        "env-url-access-token-fragment",
        "env",
        "TORCH_CALLBACK",
        "https://auth.example.org/cb#access_token=PLANTEDfragtoken0123&state=1",
        "PLANTEDfragtoken0123",
    ),
    Planted("env-host-short", "env", "NCCL_COMM_ID", f"{SHORT_HOST}:29500", SHORT_HOST, name=True),
    Planted("env-host-fqdn", "env", "TORCH_DIST_ADDR", f"{HOST}:29501", "cluster.example.org:29501", name=True),
    Planted(
        "env-host-in-flag",
        "env",
        "XLA_FLAGS",
        f"--xla_dump_to=/home/bobplanted/dumps --xla_host={SHORT_HOST}",
        "--xla_host=gpunode",
        name=True,
    ),
    Planted("env-user-scratch-path", "env", "TORCH_HOME", f"/scratch/{LOGIN}/torch", f"/scratch/{LOGIN}", name=True),
    Planted(
        "env-user-ld-library-path",
        "env",
        "LD_LIBRARY_PATH",
        f"/opt/{LOGIN}/cuda/lib64:/usr/local/cuda/lib64",
        f"/opt/{LOGIN}",
        name=True,
    ),
    Planted("env-user-ld-preload", "env", "LD_PRELOAD", f"/work/{LOGIN}/lib/libhook.so", f"/work/{LOGIN}", name=True),
    Planted(
        "env-user-file-url", "env", "TORCH_EXTENSIONS_DIR", f"file:///data/{LOGIN}/ext", f"/data/{LOGIN}", name=True
    ),
    Planted("env-other-home", "env", "XLA_FLAGS", "", "/home/bobplanted", name=True),  # planted with env-host-in-flag
    Planted("env-other-home-macos", "env", "TORCH_HUB_DIR", "/Users/carolplanted/hub", "carolplanted", name=True),
    # ---- the project's git state
    Planted("git-branch-user", "git", "branch", f"{LOGIN}/x", f"{LOGIN}/x", name=True),
    Planted(
        "git-remote-login",
        "git",
        "remote",
        f"{LOGIN}@gitserver.example.org:research/proj.git",
        f"{LOGIN}@gitserver",
        name=True,
    ),
    # ---- direct_url.json of installed distributions
    Planted(
        "direct-url-x-amz-signature",
        "direct_url",
        "amzpkg",
        "https://bucket.s3.example.org/amzpkg-1.0.tar.gz?X-Amz-Date=20260101T000000Z&X-Amz-Signature=PLANTEDdusig0123",
        "PLANTEDdusig0123",
    ),
    Planted(
        "direct-url-akia-in-query",
        "direct_url",
        "akiapkg",
        "https://mirror.example.org/akiapkg-1.0.tar.gz?id=AKIAPLANTEDLONGKEY02&v=1",
        "AKIAPLANTEDLONGKEY02",
    ),
    Planted(
        "direct-url-x-goog-signature",
        "direct_url",
        "googpkg",
        "https://storage.example.org/b/googpkg-1.0.tar.gz?X-Goog-Signature=PLANTEDdugoog0123",
        "PLANTEDdugoog0123",
    ),
    Planted(
        "direct-url-access-token-fragment",
        "direct_url",
        "fragpkg",
        f"https://files.example.org/fragpkg-1.0.tar.gz#sha256={SHA256}&access_token=PLANTEDdufrag0123",
        "PLANTEDdufrag0123",
    ),
    Planted(
        "direct-url-sig-fragment",
        "direct_url",
        "sigfrag",
        "https://blob.example.org/c/sigfrag-1.0.tar.gz#sv=2024&sig=PLANTEDdusasfrag0123",
        "PLANTEDdusasfrag0123",
    ),
    Planted(
        "direct-url-hf-token-in-path",
        "direct_url",
        "hfpkg",
        "https://hub.example.org/hf_PLANTEDhuggingface0123456789/hfpkg-1.0.tar.gz",
        "hf_PLANTEDhuggingface0123456789",
    ),
    Planted(
        "direct-url-ghp-in-path",
        "direct_url",
        "ghppkg",
        "https://raw.example.org/ghp_PLANTEDgithub0123456789abcdefghij/ghppkg-1.0.tar.gz",
        "ghp_PLANTEDgithub0123456789abcdefghij",
    ),
    Planted(
        "direct-url-user-path",
        "direct_url",
        "scratchpkg",
        f"file:///scratch/{LOGIN}/src/scratchpkg",
        f"/scratch/{LOGIN}/src",
        name=True,
    ),
    Planted(
        "direct-url-other-home",
        "direct_url",
        "bobpkg",
        "file:///home/bobplanted/src/bobpkg",
        "/home/bobplanted",
        name=True,
    ),
    Planted("direct-url-revision-user", "direct_url", "revpkg", f"{LOGIN}/feature", f"{LOGIN}/feature", name=True),
    # ---- an import error of a framework (capture --deep), quoted in [frameworks.torch] and the warnings
    Planted(
        "deep-import-error-user-path",
        "deep",
        "torch",
        f"OSError: /scratch/{LOGIN}/cudnn/lib/libcudnn.so.9: cannot open shared object file",
        f"/scratch/{LOGIN}/cudnn",
        name=True,
    ),
    # ---- conda-meta records
    Planted(
        "conda-x-amz-signature",
        "conda",
        "amzlib",
        "https://conda-mirror.example.org/ch/linux-64/amzlib-1.0-0.conda?X-Amz-Signature=PLANTEDcondasig0123",
        "PLANTEDcondasig0123",
    ),
    Planted(
        "conda-x-goog-signature",
        "conda",
        "googlib",
        "https://storage.example.org/ch/linux-64/googlib-1.0-0.conda?X-Goog-Signature=PLANTEDcondagoog0123",
        "PLANTEDcondagoog0123",
    ),
    Planted(
        "conda-github-pat-in-path",
        "conda",
        "patlib",
        "https://conda.example.org/github_pat_11PLANTED0123456789_abcdefghij/ch/linux-64/patlib-1.0-0.conda",
        "github_pat_11PLANTED0123456789_abcdefghij",
    ),
    Planted(
        "conda-host-channel",
        "conda",
        "hostlib",
        f"http://{SHORT_HOST}:8080/ch/linux-64/hostlib-1.0-0.conda",
        f"{SHORT_HOST}:8080",
        name=True,
    ),
    Planted(
        "conda-user-channel",
        "conda",
        "userlib",
        f"file:///scratch/{LOGIN}/channel/linux-64/userlib-1.0-0.conda",
        f"/scratch/{LOGIN}/channel",
        name=True,
    ),
]
# Planted, but already handled before: kept as regressions, not counted among the leaks above.
REGRESSIONS = [
    Planted("env-ghp", "env", "TF_CONFIG", "ghp_PLANTEDregress0123456789abcdefgh", "ghp_PLANTEDregress0123456789"),
    Planted("env-akia", "env", "TORCH_S3_KEYID", "AKIAPLANTEDREGRESS03", "AKIAPLANTEDREGRESS03"),
    Planted(
        "env-url-credentials", "env", "TORCH_MIRROR", "https://bob:PLANTEDurlpw@mirror.example.org/x", "PLANTEDurlpw"
    ),
    Planted(
        "direct-url-credentials",
        "direct_url",
        "credpkg",
        "git+https://deploy:PLANTEDvcspw@git.example.org/credpkg.git",
        "PLANTEDvcspw",
    ),
    Planted(
        "conda-anaconda-token",
        "conda",
        "toklib",
        "https://conda.example.org/t/PLANTEDcondapathtok/ch/linux-64/toklib-1.0-0.conda",
        "PLANTEDcondapathtok",
    ),
]
ALL = CASES + REGRESSIONS

# Ordinary values that must survive unchanged.
ORDINARY_ENV = {
    "CUDA_VISIBLE_DEVICES": "0,1",
    "OMP_NUM_THREADS": "8",
    "PYTHONHASHSEED": "0",
    "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
    "CUDA_HOME": "/usr/local/cuda-12.4",
    "TORCH_CUDA_ARCH_LIST": "8.0;9.0+PTX",
    "TORCH_CHECKPOINT_DIR": "/data/shared/models/Llama3-8B",
    "TORCH_BUILD_COMMIT": COMMIT,
    "TORCH_WHEEL_SHA256": SHA256,
    "TORCH_UPPER_DIGEST": "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678",
    "NCCL_SOCKET_IFNAME": "eth0",
    "XLA_PYTHON_CLIENT_MEM_FRACTION": ".9",
}


def _dist(site: Path, name: str, direct_url: dict[str, object]) -> None:
    dist = site / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "INSTALLER").write_text("pip\n")
    (dist / "direct_url.json").write_text(json.dumps(direct_url))
    (dist / "RECORD").write_text(f"{dist.name}/METADATA,,\n{dist.name}/RECORD,,\n")


def _direct_url(case: Planted) -> dict[str, object]:
    if case.value.startswith("file://"):
        return {"url": case.value, "dir_info": {"editable": True}}
    if case.id == "direct-url-revision-user":
        return {
            "url": "https://git.example.org/revpkg.git",
            "vcs_info": {"vcs": "git", "commit_id": COMMIT, "requested_revision": case.value},
        }
    if case.value.startswith("git+"):
        return {"url": case.value[len("git+") :], "vcs_info": {"vcs": "git", "commit_id": COMMIT}}
    return {"url": case.value, "archive_info": {"hashes": {"sha256": SHA256}}}


def _conda_record(case: Planted) -> dict[str, object]:
    return {
        "name": case.key,
        "version": "1.0",
        "build": "0",
        "build_number": 0,
        "subdir": "linux-64",
        "url": case.value,
        "md5": MD5,
        "sha256": SHA256,
        "depends": [],
        "files": [],
    }


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _planted_env() -> dict[str, str]:
    env = dict(ORDINARY_ENV)
    for case in ALL:
        if case.where == "env" and case.value:
            env[case.key] = case.value
    return env


@dataclass
class Captured:
    lock_text: str
    snapshot: Snapshot
    exports: dict[str, str]  # format -> every output file's text, joined
    hostile_exports: dict[str, str]  # the same for a lock that carries the secrets raw


def _export_all(locks: list[Path], out_dir: Path) -> dict[str, str]:
    """Each format's output from the first of ``locks`` it accepts (the dockerfile refuses a lock with a conda
    layer: the second lock has none), or its one-line error where no lock fits that format (conda-lock needs a
    file URL for every pip package): an error message must not reveal a secret either."""
    texts = {}
    for name in exporters():
        for n, lock in enumerate(locks):
            target = out_dir / f"{name}-{n}"
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                code = main(["export", str(lock), "--format", name, "--no-pin", "-o", str(target)])
            if code == 0:
                files = [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file())
                texts[name] = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)
                break
            assert code == 2, err.getvalue()
            texts[name] = texts.get(name, "") + err.getvalue()
        else:
            assert name in UNFIT_FORMATS, f"export --format {name}: {texts[name]}"
    return texts


def _write(snapshot: Snapshot, path: Path) -> list[Path]:
    """``path`` holding ``snapshot``, and a second lock beside it without the conda layer."""
    lockfile.dump(snapshot, path)
    without_conda = path.with_suffix(".noconda.lock")
    lockfile.dump(dataclasses.replace(snapshot, conda=None), without_conda)
    return [path, without_conda]


def _pinned(snapshot: Snapshot, *, hostile: bool = False) -> Snapshot:
    """Every package with the wheel ``envsnap pin`` would record (formats such as dockerfile need one); the
    hostile form's URLs carry a signature and its index a password."""
    packages = []
    for pkg in snapshot.python.packages:
        filename = f"{pkg.name}-{pkg.version}-py3-none-any.whl"
        query = f"?X-Amz-Signature=PLANTEDartsig{pkg.name}" if hostile else ""
        index = "https://pin:PLANTEDindexpw@index.example.org/simple" if hostile else "https://index.example.org/simple"
        artifact = Artifact(
            filename=filename, url=f"https://files.example.org/{filename}{query}", sha256=SHA256, index=index
        )
        packages.append(dataclasses.replace(pkg, artifact=artifact))
    return dataclasses.replace(snapshot, python=dataclasses.replace(snapshot.python, packages=tuple(packages)))


def _hostile(snapshot: Snapshot) -> Snapshot:
    """The captured lock with every secret put back raw, as an older envsnap or an import could have written it."""
    raw_urls = {c.key: c.value for c in ALL if c.where == "direct_url" and c.id != "direct-url-revision-user"}
    packages = []
    for pkg in snapshot.python.packages:
        if pkg.name in raw_urls:
            raw = raw_urls[pkg.name]
            pkg = dataclasses.replace(
                pkg, source=dataclasses.replace(pkg.source, url=raw[len("git+") :] if raw.startswith("git+") else raw)
            )
        packages.append(pkg)
    conda_urls = {c.key: c.value for c in ALL if c.where == "conda"}
    assert snapshot.conda is not None
    conda_packages = tuple(dataclasses.replace(p, url=conda_urls.get(p.name, p.url)) for p in snapshot.conda.packages)
    assert snapshot.project is not None
    return dataclasses.replace(
        snapshot,
        python=dataclasses.replace(snapshot.python, packages=tuple(packages)),
        environment=MappingProxyType(dict(sorted(_planted_env().items()))),
        conda=dataclasses.replace(snapshot.conda, packages=conda_packages),
        project=dataclasses.replace(
            snapshot.project,
            remote_url="https://ci:PLANTEDremotepw@gitserver.example.org/p.git?X-Amz-Signature=PLANTEDremotesig0123",
        ),
        envsnap=dataclasses.replace(
            snapshot.envsnap,
            warnings=(
                "pin: amzpkg 1.0: https://bucket.s3.example.org/a.tar.gz?X-Amz-Signature=PLANTEDwarnsig0123: HTTP 403",
            ),
        ),
    )


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory, make_venv: Callable[..., Path]) -> Iterator[Captured]:
    from envsnap.probes.capture import capture

    root = tmp_path_factory.mktemp("planted")
    home = root / "home" / LOGIN
    project = home / "research"
    project.mkdir(parents=True)
    venv_python = make_venv(root / "venv")
    venv = root / "venv"
    site = site_packages(venv_python)
    for case in ALL:
        if case.where == "direct_url":
            _dist(site, case.key, _direct_url(case))
    for case in ALL:
        if case.where == "deep":
            (site / "torch").mkdir()
            (site / "torch" / "__init__.py").write_text(f"raise OSError({case.value.partition(': ')[2]!r})\n")
            _dist(
                site,
                "torch",
                {
                    "url": "https://download.example.org/torch-1.0.tar.gz",
                    "archive_info": {"hashes": {"sha256": SHA256}},
                },
            )
    (venv / "conda-meta").mkdir()
    for case in ALL:
        if case.where == "conda":
            (venv / "conda-meta" / f"{case.key}-1.0-0.json").write_text(json.dumps(_conda_record(case)))
    for args in (
        ["init", "-q", "-b", f"{LOGIN}/x"],
        ["config", "user.email", "a@example.org"],
        ["config", "user.name", "a"],
    ):
        _git(project, *args)
    (project / "train.py").write_text("print(1)\n")
    _git(project, "add", ".")
    _git(project, "commit", "-qm", "c")
    _git(project, "remote", "add", "origin", next(c.value for c in CASES if c.id == "git-remote-login"))

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setattr(socket, "gethostname", lambda: HOST)
        real = os.uname()  # the node name is the host name envsnap reads on POSIX (``_privacy.host_names``)
        mp.setattr(os, "uname", lambda: os.uname_result((real.sysname, HOST, real.release, real.version, real.machine)))
        mp.setattr(getpass, "getuser", lambda: LOGIN)
        snap = capture(str(venv_python), str(project), environ=_planted_env(), deep=True)
        lock = root / "envsnap.lock"
        lockfile.dump(snap, lock)
        exports = _export_all(_write(_pinned(snap), root / "pinned.lock"), root / "exports")
        hostile_locks = _write(_pinned(_hostile(snap), hostile=True), root / "hostile.lock")
        hostile_exports = _export_all(hostile_locks, root / "hostile-exports")
    yield Captured(lock.read_text(encoding="utf-8"), lockfile.load(lock), exports, hostile_exports)


def test_the_corpus_is_every_format_of_the_issue() -> None:
    # 41 leaks the issue counted, each planted in at least one place; ids are unique.
    assert len(CASES) >= 41 and len({c.id for c in ALL}) == len(ALL)


@pytest.mark.parametrize("case", ALL, ids=[c.id for c in ALL])
def test_planted_value_reaches_no_lock_and_no_export(captured: Captured, case: Planted) -> None:
    assert case.secret not in captured.lock_text
    for fmt, text in captured.exports.items():
        assert case.secret not in text, fmt


@pytest.mark.parametrize("case", [c for c in ALL if not c.name], ids=[c.id for c in ALL if not c.name])
def test_exports_of_a_lock_carrying_the_secret_leave_it_out(captured: Captured, case: Planted) -> None:
    for fmt, text in captured.hostile_exports.items():
        assert case.secret not in text, fmt


def test_exports_leave_out_secrets_of_artifacts_project_and_warnings(captured: Captured) -> None:
    for fmt, text in captured.hostile_exports.items():
        for secret in (
            "PLANTEDremotepw",
            "PLANTEDremotesig0123",
            "PLANTEDwarnsig0123",
            "PLANTEDartsig",
            "PLANTEDindexpw",
        ):
            assert secret not in text, (fmt, secret)
    # The URLs are still there, without what signed them.
    for fmt in ("requirements", "pylock"):
        assert (
            "https://bucket.s3.example.org/amzpkg-1.0.tar.gz?X-Amz-Date=20260101T000000Z"
            in captured.hostile_exports[fmt]
        ), captured.hostile_exports[fmt]


def test_login_and_host_name_appear_nowhere(captured: Captured) -> None:
    for text in (captured.lock_text, *captured.exports.values()):
        assert LOGIN not in text and SHORT_HOST not in text.lower() and "bobplanted" not in text


def test_surviving_entries_are_redacted_as_documented(captured: Captured) -> None:
    snap = captured.snapshot
    env = snap.environment
    # A variable holding a secret is left out; only the ordinary and the name-bearing ones are recorded.
    recorded_planted = {c.key for c in ALL if c.where == "env" and c.key in env}
    assert recorded_planted == {
        "NCCL_COMM_ID",
        "TORCH_DIST_ADDR",
        "XLA_FLAGS",
        "TORCH_HOME",
        "LD_LIBRARY_PATH",
        "LD_PRELOAD",
        "TORCH_EXTENSIONS_DIR",
        "TORCH_HUB_DIR",
        "TORCH_DB",
        "TORCH_MODEL_URL",
        "JAX_MODEL_URL",
        "TORCH_CALLBACK",
        "TORCH_MIRROR",
    }
    assert env["NCCL_COMM_ID"] == "<host>:29500"
    assert env["TORCH_DIST_ADDR"] == "<host>:29501"
    assert env["XLA_FLAGS"] == "--xla_dump_to=/home/<user>/dumps --xla_host=<host>"
    assert env["TORCH_HOME"] == "/scratch/<user>/torch"
    assert env["LD_LIBRARY_PATH"] == "/opt/<user>/cuda/lib64:/usr/local/cuda/lib64"
    assert env["LD_PRELOAD"] == "/work/<user>/lib/libhook.so"
    assert env["TORCH_EXTENSIONS_DIR"] == "file:///data/<user>/ext"
    assert env["TORCH_HUB_DIR"] == "/Users/<user>/hub"
    assert env["TORCH_DB"] == "db.internal.example:5432"
    assert env["TORCH_MODEL_URL"] == "https://bucket.s3.example.org/m.pt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    assert env["JAX_MODEL_URL"] == "https://storage.example.org/b/m.ckpt?X-Goog-Algorithm=GOOG4"
    assert env["TORCH_CALLBACK"] == "https://auth.example.org/cb#state=1"
    assert env["TORCH_MIRROR"] == "https://mirror.example.org/x"

    assert snap.project is not None
    assert snap.project.branch == "<user>/x"
    assert snap.project.remote_url == "gitserver.example.org:research/proj.git"

    urls = {p.name: p.source.url for p in snap.python.packages}
    assert urls["amzpkg"] == "https://bucket.s3.example.org/amzpkg-1.0.tar.gz?X-Amz-Date=20260101T000000Z"
    assert urls["akiapkg"] == "https://mirror.example.org/akiapkg-1.0.tar.gz?v=1"
    assert urls["googpkg"] == "https://storage.example.org/b/googpkg-1.0.tar.gz"
    assert urls["fragpkg"] == f"https://files.example.org/fragpkg-1.0.tar.gz#sha256={SHA256}"
    assert urls["sigfrag"] == "https://blob.example.org/c/sigfrag-1.0.tar.gz#sv=2024"
    assert urls["hfpkg"] == "https://hub.example.org/<redacted>/hfpkg-1.0.tar.gz"
    assert urls["ghppkg"] == "https://raw.example.org/<redacted>/ghppkg-1.0.tar.gz"
    assert urls["scratchpkg"] == "file:///scratch/<user>/src/scratchpkg"
    assert urls["bobpkg"] == "file:///home/<user>/src/bobpkg"
    assert urls["credpkg"] == "https://git.example.org/credpkg.git"
    rev = snap.package("revpkg")
    assert rev is not None and rev.source.requested_revision == "<user>/feature"
    assert snap.frameworks["torch"].error == (
        "import failed: OSError: /scratch/<user>/cudnn/lib/libcudnn.so.9: cannot open shared object file"
    )

    assert snap.conda is not None
    conda = {p.name: p.url for p in snap.conda.packages}
    assert conda == {
        "amzlib": "https://conda-mirror.example.org/ch/linux-64/amzlib-1.0-0.conda",
        "googlib": "https://storage.example.org/ch/linux-64/googlib-1.0-0.conda",
        "patlib": "https://conda.example.org/<redacted>/ch/linux-64/patlib-1.0-0.conda",
        "hostlib": "http://<host>:8080/ch/linux-64/hostlib-1.0-0.conda",
        "userlib": "file:///scratch/<user>/channel/linux-64/userlib-1.0-0.conda",
        "toklib": "https://conda.example.org/ch/linux-64/toklib-1.0-0.conda",
    }


def test_ordinary_values_survive(captured: Captured) -> None:
    snap = captured.snapshot
    assert {k: snap.environment.get(k) for k in ORDINARY_ENV} == ORDINARY_ENV
    assert snap.project is not None and len(snap.project.commit) == 40 and snap.project.commit in captured.lock_text
    fragpkg = snap.package("fragpkg")
    assert fragpkg is not None and fragpkg.source.archive_hash == f"sha256={SHA256}"
    rev = snap.package("revpkg")
    assert rev is not None and rev.source.commit_id == COMMIT
    assert snap.conda is not None and all(p.sha256 == SHA256 and p.md5 == MD5 for p in snap.conda.packages)
    for fmt in ("json", "requirements", "pylock"):
        assert SHA256 in captured.exports[fmt], fmt
    assert COMMIT in captured.exports["json"]


def test_a_clean_lock_exports_unchanged() -> None:
    """The export scrub returns a lock without secrets as the same object: its exports are byte-identical."""
    from envsnap._privacy import scrub_snapshot
    from envsnap.model import Artifact, PythonEnv, PythonPackage, Source

    clean = Snapshot(
        environment=MappingProxyType(dict(ORDINARY_ENV)),
        python=PythonEnv(
            packages=(
                PythonPackage(
                    name="a",
                    version="1.0",
                    artifact=Artifact(
                        filename="a-1.0-py3-none-any.whl",
                        url=f"https://files.example.org/a-1.0-py3-none-any.whl#sha256={SHA256}",
                        sha256=SHA256,
                        index="https://index.example.org/simple",
                    ),
                ),
                PythonPackage(
                    name="b",
                    version="2.0",
                    source=Source(kind="vcs", url="ssh://git@github.com/o/b.git", vcs="git", commit_id=COMMIT),
                ),
            )
        ),
    )
    assert scrub_snapshot(clean) is clean


@pytest.mark.parametrize(
    "value",
    [
        "0,1",
        "8",
        "0",
        ":4096:8",
        "/usr/local/cuda-12.4/lib64:/usr/lib/x86_64-linux-gnu",
        COMMIT,
        SHA256,
        "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678",
        "--xla_gpu_autotune_level=2 --xla_force_host_platform_device_count=8",
        "git@github.com:org/repo.git",
        "https://download.example.org/whl/cu124",
        "file:///opt/conda/pkgs",
        "bearer tokens are long",
        "/opt/tools/Release/Bin64/Tools1/Vendor2/x",
    ],
)
def test_ordinary_environment_values_are_kept(value: str) -> None:
    from envsnap._privacy import PathRedactor
    from envsnap.probes.environment import filter_environment

    redact = PathRedactor(home=f"/home/{LOGIN}", users=[LOGIN], hosts=[HOST, SHORT_HOST])
    assert filter_environment({"TORCH_X": value}, redact) == {"TORCH_X": value}


@pytest.mark.parametrize(
    ("url", "recorded"),
    [
        # Local: the login name in a path goes, the home becomes ~, another user's home /home/<user>.
        (f"git+file:///scratch/{LOGIN}/repo", "git+file:///scratch/<user>/repo"),
        (f"file:///home/{LOGIN}/src/x", "file://~/src/x"),
        ("file:///home/bobplanted/src/x", "file:///home/<user>/src/x"),
        (f"/scratch/{LOGIN}/repos/p.git", "/scratch/<user>/repos/p.git"),
        # Network remotes keep their path (a forge account is public); this host's name and a login's user@ go.
        (f"https://github.com/{LOGIN}/r.git", f"https://github.com/{LOGIN}/r.git"),
        (f"git@github.com:{LOGIN}/r.git", f"git@github.com:{LOGIN}/r.git"),
        (f"{LOGIN}@{SHORT_HOST}:repo.git", "<host>:repo.git"),
        # A remote on this host names a folder of this machine, which no reader clones: the names go from it too.
        (f"{LOGIN}@{SHORT_HOST}:/scratch/{LOGIN}/r.git", "<host>:/scratch/<user>/r.git"),
        (f"{LOGIN}@{SHORT_HOST}:{LOGIN}/r.git", "<host>:<user>/r.git"),
        (f"ssh://{LOGIN}@{SHORT_HOST}/scratch/{LOGIN}/r.git", "ssh://<host>/scratch/<user>/r.git"),
        (f"git@gitserver.example.org:/srv/{LOGIN}/r.git", f"git@gitserver.example.org:/srv/{LOGIN}/r.git"),
        (f"ssh://{LOGIN}@gitserver.example.org/r.git", "ssh://gitserver.example.org/r.git"),
        (f"http://{HOST.upper()}:8080/simple", "http://<host>:8080/simple"),
        # Signatures and tokens go, ordinary parameters stay.
        (
            f"https://h.example.org/x-1.0.tar.gz?X-Amz-Date=1&X-Amz-Signature=abc&X-Amz-Security-Token=t#sha256={SHA256}",
            f"https://h.example.org/x-1.0.tar.gz?X-Amz-Date=1#sha256={SHA256}",
        ),
        ("https://h.example.org/x.whl?Policy=p&Signature=s&Key-Pair-Id=k&v=2", "https://h.example.org/x.whl?v=2"),
        ("https://h.example.org/x.zip#egg=x&subdirectory=sub", "https://h.example.org/x.zip#egg=x&subdirectory=sub"),
        ("https://h.example.org/cb#id_token=abc&state=s", "https://h.example.org/cb#state=s"),
        (
            "https://h.example.org/x.tar.gz?next=npm_PLANTEDnpm0123456789abcdefghijklmnop",
            "https://h.example.org/x.tar.gz",
        ),
    ],
)
def test_url_rules(url: str, recorded: str) -> None:
    from envsnap._privacy import PathRedactor

    redact = PathRedactor(home=f"/home/{LOGIN}", users=[LOGIN], hosts=[HOST, SHORT_HOST])
    assert redact.url(url) == recorded


@pytest.mark.parametrize(
    ("value", "recorded"),
    [
        # A network URL in free text keeps its path, as a URL field does: the login in it is a public account.
        (f"https://files.example.org/users/{LOGIN}/wheels", f"https://files.example.org/users/{LOGIN}/wheels"),
        # A path like the home's inside one is the server's, not this machine's home (it read ``...org~/w``).
        (f"https://h.example.org/home/{LOGIN}/w", f"https://h.example.org/home/{LOGIN}/w"),
        # This host's name in its host part still goes; local paths and URLs beside it still lose the names.
        (f"http://{SHORT_HOST}:8080/{LOGIN}/x", f"http://<host>:8080/{LOGIN}/x"),
        (
            f"/scratch/{LOGIN}/a:https://github.com/{LOGIN}/r.git:file:///data/{LOGIN}/c:/home/{LOGIN}/d",
            f"/scratch/<user>/a:https://github.com/{LOGIN}/r.git:file:///data/<user>/c:~/d",
        ),
        (f"git+file:///scratch/{LOGIN}/repo {LOGIN}", "git+file:///scratch/<user>/repo <user>"),
        # An scp-style remote too, as the remote field records it (it read git@github.com:<user>/r.git).
        (f"git@github.com:{LOGIN}/r.git", f"git@github.com:{LOGIN}/r.git"),
        (
            f"clone '{LOGIN}@gitserver.example.org:{LOGIN}/r.git' failed",
            f"clone 'gitserver.example.org:{LOGIN}/r.git' failed",
        ),
        (f"(git@{SHORT_HOST}:{LOGIN}/r.git)", "(git@<host>:<user>/r.git)"),
        (f"github.com:{LOGIN}/r.git:/scratch/{LOGIN}/y", f"github.com:{LOGIN}/r.git:/scratch/<user>/y"),
        # What is no remote keeps the name rules: a file's line, a host's port, a list of paths.
        (f"/scratch/{LOGIN}/a.py:12 {LOGIN}:x", "/scratch/<user>/a.py:12 <user>:x"),
        (f"{SHORT_HOST}:29500 {LOGIN}.dev:8080", "<host>:29500 <user>.dev:8080"),
        (f"lib:/opt/{LOGIN}/lib64", "lib:/opt/<user>/lib64"),
        (f"push to {LOGIN}@{SHORT_HOST}:/scratch/{LOGIN}/r.git", "push to <host>:/scratch/<user>/r.git"),
        (f"git@gitserver.example.org:/srv/{LOGIN}/r.git", f"git@gitserver.example.org:/srv/{LOGIN}/r.git"),
    ],
)
def test_free_text_keeps_a_network_urls_path_as_the_url_fields_do(value: str, recorded: str) -> None:
    from envsnap._privacy import PathRedactor
    from envsnap.probes.environment import filter_environment

    redact = PathRedactor(home=f"/home/{LOGIN}", users=[LOGIN], hosts=[HOST, SHORT_HOST])
    assert filter_environment({"TORCH_X": value}, redact) == {"TORCH_X": recorded}
    assert redact.text(f"warning: {value}") == f"warning: {recorded}"
