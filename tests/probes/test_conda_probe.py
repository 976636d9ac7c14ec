from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from condafixtures import CondaEnv

from envsnap import lockfile
from envsnap.errors import ProbeError
from envsnap.model import CondaPackage
from envsnap.probes import conda as probe
from envsnap.probes.capture import capture

# A record as classic conda writes it (trimmed: files, paths_data and link are longer in real life).
CONDA_FORGE_RECORD = {
    "build": "h4bc722e_7",
    "build_number": 7,
    "channel": "https://conda.anaconda.org/conda-forge/linux-64",
    "constrains": [],
    "depends": ["__glibc >=2.17,<3.0.a0", "libgcc-ng >=12"],
    "extracted_package_dir": "/opt/conda/pkgs/bzip2-1.0.8-h4bc722e_7",
    "files": ["bin/bzip2", "include/bzlib.h", "lib/libbz2.so.1.0"],
    "fn": "bzip2-1.0.8-h4bc722e_7.conda",
    "license": "bzip2-1.0.6",
    "md5": "62ee74e96c5ebb0af99386de58cf9553",
    "name": "bzip2",
    "requested_spec": "",
    "sha256": "5ced96500d945fb286c9c838e54fa759aa04a7129c59800f0846b4335cee770d",
    "size": 252783,
    "subdir": "linux-64",
    "timestamp": 1720974491916,
    "url": "https://conda.anaconda.org/conda-forge/linux-64/bzip2-1.0.8-h4bc722e_7.conda",
    "version": "1.0.8",
}


def test_parse_record_reads_identity_origin_and_hashes() -> None:
    pkg = probe.parse_record(CONDA_FORGE_RECORD)
    assert pkg == CondaPackage(
        name="bzip2",
        version="1.0.8",
        build="h4bc722e_7",
        build_number=7,
        channel="https://conda.anaconda.org/conda-forge",
        subdir="linux-64",
        url="https://conda.anaconda.org/conda-forge/linux-64/bzip2-1.0.8-h4bc722e_7.conda",
        md5="62ee74e96c5ebb0af99386de58cf9553",
        sha256="5ced96500d945fb286c9c838e54fa759aa04a7129c59800f0846b4335cee770d",
        depends=("__glibc >=2.17,<3.0.a0", "libgcc-ng >=12"),
    )


def test_parse_record_refuses_a_depends_entry_the_lock_would_refuse() -> None:
    """The record is skipped with its reason (a warning), rather than a lock that every command then refuses."""
    data = dict(CONDA_FORGE_RECORD, depends=["libgcc-ng >=12", "evil: ## H"])
    with pytest.raises(ValueError, match=r"^depends: 'evil: ## H' is not a conda MatchSpec$"):
        probe.parse_record(data)
    data["depends"] = ["python_abi 3.11.* *_cp311", "depend > 1.1.1", "conda-forge::__glibc <2"]
    assert probe.parse_record(data).depends == tuple(data["depends"])


def test_parse_record_drops_tokens_and_credentials() -> None:
    data = dict(CONDA_FORGE_RECORD)
    data["url"] = "https://conda.anaconda.org/t/ab-12345-secret/acme/linux-64/bzip2-1.0.8-h4bc722e_7.conda"
    data["channel"] = "https://conda.anaconda.org/t/ab-12345-secret/acme/linux-64"
    pkg = probe.parse_record(data)
    assert "secret" not in pkg.url and "secret" not in pkg.channel
    assert pkg.url == "https://conda.anaconda.org/acme/linux-64/bzip2-1.0.8-h4bc722e_7.conda"
    assert pkg.channel == "https://conda.anaconda.org/acme"
    data["url"] = "https://user:hunter2@repo.example.com/conda/main/linux-64/bzip2-1.0.8-h4bc722e_7.conda"
    assert probe.parse_record(data).url == "https://repo.example.com/conda/main/linux-64/bzip2-1.0.8-h4bc722e_7.conda"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("python", "python"), (True, "generic"), ({"type": "python"}, "python"), (None, "")],
)
def test_parse_record_noarch_spellings(value: Any, expected: str) -> None:
    data = {**CONDA_FORGE_RECORD, "noarch": value, "subdir": "noarch"}
    assert probe.parse_record(data).noarch == expected


def test_parse_record_old_record_without_sha256_or_url() -> None:
    data = {"name": "six", "version": "1.16.0", "build": "py_0", "channel": "defaults", "md5": "A" * 32}
    pkg = probe.parse_record(data)
    assert (pkg.sha256, pkg.url, pkg.channel, pkg.md5) == ("", "", "defaults", "a" * 32)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"name": ""}, "no name"),
        ({"md5": "xyz"}, "md5 is not a 32-digit hex digest"),
        ({"sha256": "0" * 63}, "sha256 is not a 64-digit hex digest"),
        ({"build_number": "7"}, "build_number is not an integer"),
        ({"depends": "python"}, "depends is not a list of strings"),
    ],
)
def test_parse_record_rejects_bad_fields(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        probe.parse_record({**CONDA_FORGE_RECORD, **change})


def test_dist_owners_of_finds_dist_info_and_egg_info() -> None:
    files = [
        "lib/python3.11/site-packages/numpy/__init__.py",
        "lib/python3.11/site-packages/numpy-1.26.4.dist-info/METADATA",
        "lib/python3.11/site-packages/numpy-1.26.4.dist-info/RECORD",
        "lib/python3.11/site-packages/old-0.1-py3.11.egg-info",
        "bin/f2py",
    ]
    assert probe.dist_owners_of("numpy", files) == {
        "lib/python3.11/site-packages/numpy-1.26.4.dist-info": "numpy",
        "lib/python3.11/site-packages/old-0.1-py3.11.egg-info": "numpy",
    }


@pytest.mark.parametrize(
    ("system", "machine", "subdir"),
    [
        ("Linux", "x86_64", "linux-64"),
        ("Linux", "aarch64", "linux-aarch64"),
        ("Darwin", "arm64", "osx-arm64"),
        ("Darwin", "x86_64", "osx-64"),
        ("Windows", "AMD64", "win-64"),
        ("Linux", "ppc64le", "linux-ppc64le"),
    ],
)
def test_current_subdir(system: str, machine: str, subdir: str) -> None:
    assert probe.current_subdir(system, machine) == subdir


def _write_meta(prefix: Path, records: dict[str, Any]) -> None:
    (prefix / "conda-meta").mkdir(parents=True)
    for name, doc in records.items():
        text = doc if isinstance(doc, str) else json.dumps(doc)
        (prefix / "conda-meta" / name).write_text(text)


def test_corrupt_record_is_reported_and_skipped(tmp_path: Path) -> None:
    six = {
        "name": "six",
        "version": "1.16.0",
        "build": "pyhd8ed1ab_0",
        "subdir": "noarch",
        "noarch": "python",
        "url": "https://conda.anaconda.org/conda-forge/noarch/six-1.16.0-pyhd8ed1ab_0.tar.bz2",
    }
    _write_meta(
        tmp_path,
        {
            "bzip2-1.0.8-h4bc722e_7.json": CONDA_FORGE_RECORD,
            "broken-1.0-0.json": '{"name": "broken", "vers',
            "half-1.0-0.json": {"name": "half", "version": "1.0", "md5": "nope"},
            "six-1.16.0-pyhd8ed1ab_0.json": six,
            "history": "==> 2024-01-01 <==\n",
        },
    )
    layer = probe.probe_conda(str(tmp_path))
    assert [p.name for p in layer.conda.packages] == ["bzip2", "six"]
    assert layer.warnings == (
        "conda: conda-meta/broken-1.0-0.json: not valid JSON; record skipped",
        "conda: conda-meta/half-1.0-0.json: md5 is not a 32-digit hex digest; record skipped",
    )
    assert layer.conda.subdir == "linux-64"
    assert layer.conda.channels == ("https://conda.anaconda.org/conda-forge",)
    assert layer.dist_owners == {}


def test_find_prefix(tmp_path: Path) -> None:
    assert probe.find_prefix(str(tmp_path)) is None
    (tmp_path / "conda-meta").mkdir()
    assert probe.find_prefix(str(tmp_path)) == str(tmp_path)
    with pytest.raises(ProbeError, match="not a conda environment"):
        probe.find_prefix(None, str(tmp_path / "conda-meta"))
    with pytest.raises(ProbeError, match="no such directory"):
        probe.find_prefix(None, str(tmp_path / "missing"))


# ------------------------------------------------------------------- a real environment from a real channel


def _digests(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()


def test_capture_conda_env_records_every_package_with_its_archive_hashes(conda_env: CondaEnv) -> None:
    snap = capture(str(conda_env.python))
    assert snap.conda is not None and snap.python.kind == "conda"
    channel = conda_env.channel.url
    assert snap.conda.channels == (channel,)
    assert snap.conda.subdir == "linux-64"
    by_name = {p.name: p for p in snap.conda.packages}
    assert sorted(by_name) == sorted(conda_env.channel.archives)
    for name, archive in conda_env.channel.archives.items():
        pkg = by_name[name]
        assert (pkg.md5, pkg.sha256) == _digests(archive)
        assert pkg.url == archive.as_uri()
        assert pkg.channel == channel
    assert by_name["hello-tool"].depends == ("libhello >=1.0,<2",)
    assert (by_name["tinyutil"].noarch, by_name["tinyutil"].subdir) == ("python", "noarch")
    assert by_name["hello-tool"].build_number == 1


def test_capture_classifies_python_distributions_by_conda_meta_files(conda_env: CondaEnv) -> None:
    snap = capture(str(conda_env.python))
    tinyutil, pipdemo = snap.package("tinyutil"), snap.package("pipdemo")
    assert tinyutil is not None and pipdemo is not None
    # INSTALLER says pip for both; only conda-meta tells them apart.
    assert (tinyutil.installer, tinyutil.conda_managed) == ("pip", True)
    assert (pipdemo.installer, pipdemo.conda_managed) == ("pip", False)
    assert pipdemo.source.kind == "index" and pipdemo.record_digest.startswith("sha256:")
    assert pipdemo.wheel_tags == ("py3-none-any",)


def test_capture_round_trips_through_the_lockfile(conda_env: CondaEnv, tmp_path: Path) -> None:
    snap = capture(str(conda_env.python))
    path = lockfile.dump(snap, tmp_path / "envsnap.lock")
    again = lockfile.load(path)
    assert again.conda == snap.conda
    assert again.python.packages == snap.python.packages


def test_capture_prefix_option_with_another_interpreter(
    conda_env: CondaEnv, cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "lock.toml"
    result = cli("capture", "--python", sys.executable, "--prefix", conda_env.prefix, "-o", out)
    assert result.code == 0, result
    assert "4 conda packages" in result.err
    snap = lockfile.load(out)
    assert snap.conda is not None and len(snap.conda.packages) == 4
    # The Python layer is the other interpreter's: nothing in it is listed by this prefix's conda-meta.
    assert not any(p.conda_managed for p in snap.python.packages)
    # ... and the mixed lock says so, in the lock and on stderr.
    mixed = [w for w in snap.envsnap.warnings if "is not the captured interpreter's environment" in w]
    assert len(mixed) == 1 and "--python PREFIX/bin/python" in mixed[0], snap.envsnap.warnings
    assert "is not the captured interpreter's environment" in result.err


def test_capture_prefix_of_the_interpreter_itself_has_no_warning(conda_env: CondaEnv, tmp_path: Path) -> None:
    snap = capture(str(conda_env.python), conda_prefix=str(conda_env.prefix))
    assert not [w for w in snap.envsnap.warnings if "captured interpreter's environment" in w]


def test_capture_prefix_that_is_not_conda_is_a_clear_error(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = cli("capture", "--prefix", tmp_path, "-o", tmp_path / "lock.toml")
    assert result.code == 2
    assert f"--prefix {tmp_path}: not a conda environment" in result.err
    assert "Traceback" not in result.err and not (tmp_path / "lock.toml").exists()


def test_capture_skips_a_corrupt_record_in_a_real_env(conda_env: CondaEnv, tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    shutil.copytree(conda_env.prefix, prefix, symlinks=True)
    record = next((prefix / "conda-meta").glob("libhello-*.json"))
    record.write_text(record.read_text()[:40])
    snap = capture(str(prefix / "bin" / "python"))
    assert snap.conda is not None
    assert sorted(p.name for p in snap.conda.packages) == ["hello-tool", "python", "tinyutil"]
    assert f"conda: conda-meta/{record.name}: not valid JSON; record skipped" in snap.envsnap.warnings


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("version", "1.0\n2", "version: '1.0\\n2' is not a valid conda version"),
        ("name", "lib hello", "name: 'lib hello' is not a valid conda name"),
        ("build", "h0 0", "build: 'h0 0' is not a valid conda build"),
    ],
)
def test_capture_skips_a_record_the_lock_would_refuse_and_the_lock_loads(
    conda_env: CondaEnv, tmp_path: Path, cli: Callable[..., Any], field: str, value: str, said: str
) -> None:
    """A conda-meta record with a value the lock refuses (a version holding a newline, a name with a space, edited
    by hand or by another tool): capture wrote it into the lock, exit 0, and every later command refused that lock
    (`show`: `conda.packages[1].version: not a valid conda version`, exit 2), naming no record. It is skipped with
    a warning naming its file, as a record that is not JSON is, and the lock loads."""
    prefix = tmp_path / "env"
    shutil.copytree(conda_env.prefix, prefix, symlinks=True)
    record = next((prefix / "conda-meta").glob("libhello-*.json"))
    data = json.loads(record.read_text())
    data[field] = value
    record.write_text(json.dumps(data))
    lock = tmp_path / "envsnap.lock"
    result = cli("capture", "--prefix", prefix, "-o", lock)
    assert result.code == 0, result
    assert f"warning: conda: conda-meta/{record.name}: {said}; record skipped" in result.err, result.err
    assert cli("show", lock).code == 0
    loaded = lockfile.load(lock)
    assert loaded.conda is not None
    assert sorted(p.name for p in loaded.conda.packages) == ["hello-tool", "python", "tinyutil"]


_HOST_RULE = "a file URL's authority is a host or none, not 'https:': a local file is file:///PATH"


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        (
            "channel",
            "file://https://host/x",
            f"channel: not a valid conda channel ({_HOST_RULE}): 'file://https://host/x'",
        ),
        (
            "channel",
            "https://conda.example/my channel",
            "channel: not a valid conda channel (a URL: an allowed scheme, no spaces, control or bidirectional "
            "formatting characters, no host or login beginning with -): 'https://conda.example/my channel'",
        ),
        (
            "channel",
            "my channel",
            "channel: not a valid conda channel (a name: parts of letters, digits and . _ - joined by /, no ..): "
            "'my channel'",
        ),
        (
            "url",
            "file://https://host/x/linux-64/xz-1.0-h0.conda",
            f"url: not a valid URL ({_HOST_RULE}): 'file://https://host/x/linux-64/xz-1.0-h0.conda'",
        ),
    ],
)
def test_capture_names_the_rule_a_records_channel_or_url_breaks(
    tmp_path: Path, cli: Callable[..., Any], field: str, value: str, said: str
) -> None:
    """A conda-meta record whose channel is no URL a lock keeps (``file://https://host/x``, a pasted URL; a space)
    was skipped with ``channel: 'file://https://host/x' is not a valid conda channel``, naming no rule it breaks; a
    bad url was named as the channel made of it. The warning names the record's field and the rule, as lock loading
    names it (``grammar``'s one rule)."""
    prefix = tmp_path / "env"
    (prefix / "conda-meta").mkdir(parents=True)
    record = prefix / "conda-meta" / "xz-1.0-h0.json"
    data = {"name": "xz", "version": "1.0", "build": "h0", "build_number": 0, "subdir": "linux-64", field: value}
    record.write_text(json.dumps({**data, "depends": [], "files": []}))
    result = cli("capture", "--prefix", prefix, "-o", tmp_path / "envsnap.lock", "--no-cache")
    assert result.code == 0, result
    assert f"warning: conda: conda-meta/{record.name}: {said}; record skipped" in result.err, result.err
