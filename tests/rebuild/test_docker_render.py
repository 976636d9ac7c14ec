"""The docker target's pure parts: Dockerfile rendering (golden files), apt pins, base-image selection."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from docker_locks import cpu_lock, gpu_lock

from envsnap import export, lockfile
from envsnap.artifacts import bundle
from envsnap.dockerfile import apt, baseimage
from envsnap.dockerfile import spec as dockerspec
from envsnap.dockerfile.baseimage import ImageFacts
from envsnap.errors import ExportError, RebuildError
from envsnap.model import Artifact, Conda, CondaPackage, Cuda, CudaLibrary, PythonPackage, Source, SystemPackage
from envsnap.platforms import major_minor
from envsnap.rebuild import _docker_engine

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str, text: str) -> None:
    """Compare with tests/rebuild/golden/NAME; ENVSNAP_UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    path = GOLDEN / name
    if os.environ.get("ENVSNAP_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def dockerfile(lock, **options) -> str:  # type: ignore[no-untyped-def]
    inspect = options.pop("inspect", None)
    return dockerspec.render_dockerfile(dockerspec.make_spec(lock, dockerspec.DockerOptions(**options), inspect))


# ----------------------------------------------------------------------------------------- golden files


def test_cpu_lock_dockerfile() -> None:
    golden("Dockerfile.cpu", dockerfile(cpu_lock()))


def test_gpu_lock_dockerfile() -> None:
    golden("Dockerfile.gpu", dockerfile(gpu_lock()))


def test_local_base_snapshot_all_packages_dockerfile() -> None:
    local = ImageFacts(image_id="sha256:" + "1" * 64, architecture="amd64")
    text = dockerfile(
        cpu_lock(),
        base_image="envsnap-base:bookworm",
        apt_snapshot="2025-05-20",
        system_packages="all",
        tag="paper/env:v1",
        inspect=lambda ref: local,
    )
    golden("Dockerfile.cpu-local-snapshot-all", text)


def test_bundled_debs_with_pinned_packages_from_apt_dockerfile() -> None:
    # A bundle carrying libc6's .deb, built with the network: the .deb goes to apt with the pinned rest, in one
    # transaction (it ran `apt-get install` of the rest first, and `dpkg -i` of the bundled files after it).
    lock = cpu_lock()
    body = b"libc6 file"
    packages = tuple(
        dataclasses.replace(
            p,
            filename=f"{p.name}_{p.version}_{p.arch}.deb",
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            url=f"https://snap.example/{p.name}.deb",
        )
        if p.name == "libc6"
        else p
        for p in lock.system.packages
    )
    lock = dataclasses.replace(lock, system=dataclasses.replace(lock.system, packages=packages))
    made = dockerspec.make_spec(
        lock,
        dockerspec.DockerOptions(base_image="python:3.11.7-slim-bookworm"),
        carried=lambda p: p.name == "libc6",
    )
    golden("Dockerfile.cpu-bundled-debs", dockerspec.render_dockerfile(made))


def test_same_lock_same_bytes_and_export_matches_plan() -> None:
    lock = cpu_lock()
    assert dockerfile(lock) == dockerfile(cpu_lock())
    files = export.get("dockerfile").render(lock)
    assert files == export.get("dockerfile").render(lock)
    assert files["Dockerfile"].decode() == dockerfile(lock)
    assert sorted(files) == [
        "Dockerfile",
        "envsnap.lock",
        "requirements.txt",
        "tool/README.md",
        "wheels/README.md",
    ]
    assert files["requirements.txt"].decode().splitlines()[2:] == [
        f"markupsafe==3.0.2 --hash=sha256:{'a' * 64}",
        f"tomli-w==1.2.0 --hash=sha256:{'b' * 64}",
    ]


def test_dockerfile_records_lock_digest_version_epoch_and_verifies_last() -> None:
    lock = cpu_lock()
    text = dockerfile(lock)
    assert f'org.envsnap.lock.content-digest="{lock.envsnap.content_digest}"' in text
    assert 'org.envsnap.version="0.1.0"' in text
    assert "SOURCE_DATE_EPOCH=1767323045" in text  # 2026-01-02T03:04:05Z
    assert "COPY envsnap.lock /envsnap.lock" in text
    last = [line for line in text.splitlines() if line.strip()][-1]
    assert last == "RUN envsnap verify /envsnap.lock --python /opt/env/bin/python --no-cache"


def test_a_wheel_a_reviewers_capture_names_as_the_bundles_is_named_in_the_image_as_the_venv_target_names_it() -> None:
    """A lock's wheel recorded as the bundle's (``rebuilt``, no URL, an index install: a capture of a venv rebuilt
    from a bundle archive with no source there) is installed by name in the image, which writes no
    direct_url.json: the final stage writes envsnap_bundle.json and its RECORD line, the bytes the venv target
    writes, so a capture inside records that wheel (tests/rebuild/test_docker_engine.py builds it)."""
    art = Artifact(filename="esnptpaper-1.0-py3-none-any.whl", url="", sha256="a" * 64, rebuilt=True)
    named = PythonPackage(name="esnptpaper", version="1.0", source=Source(kind="index"), artifact=art)
    base = cpu_lock()
    lock = dataclasses.replace(base, python=dataclasses.replace(base.python, packages=(*base.python.packages, named)))
    text = dockerfile(lock)
    data, line = bundle.bundle_wheel_marker("esnptpaper-1.0.dist-info", art)
    final = text[text.index("COPY envsnap.lock /envsnap.lock") :]
    assert " && for d in /opt/env/lib/python*/site-packages/esnptpaper-1.0.dist-info; do \\\n" in final, final
    assert f"printf '%s\\n' '{data.decode().strip()}' > \"$d/envsnap_bundle.json\"" in final, final
    assert f"printf '%s\\n' '{line}' >> \"$d/RECORD\" || exit 1" in final, final
    assert final.rstrip().endswith(dockerspec.VERIFY_STEP)
    # Only such a wheel: the sample lock's index wheels are named by nothing more (the golden files).
    assert "envsnap_bundle.json" not in dockerfile(base)


def test_a_wheel_the_bundle_built_is_named_in_the_image_by_its_source_not_the_installer_stages_folder() -> None:
    """A wheel the bundle built is installed by its file, from the installer stage's wheel folder, which is in no
    layer of the image: its direct_url.json named that vanished file. As a venv rebuilt from a bundle archive does,
    the final stage writes the locked source where it is a URL (a git commit: ``vcs_info``), and for a folder of
    the machine that captured it (which the image does not hold) names the wheel in envsnap_bundle.json."""
    git = PythonPackage(
        name="esnptgit",
        version="1.0",
        source=Source(kind="vcs", url="https://example.invalid/g.git", vcs="git", commit_id="c" * 40),
        artifact=Artifact(filename="esnptgit-1.0-py3-none-any.whl", url="", sha256="b" * 64, rebuilt=True),
    )
    folder = PythonPackage(
        name="esnptdir",
        version="1.0",
        source=Source(kind="directory", url="file://{project}"),
        artifact=Artifact(filename="esnptdir-1.0-py3-none-any.whl", url="", sha256="d" * 64, rebuilt=True),
    )
    base = cpu_lock()
    lock = dataclasses.replace(
        base, python=dataclasses.replace(base.python, packages=(*base.python.packages, git, folder))
    )
    final = dockerfile(lock)
    final = final[final.index("COPY envsnap.lock /envsnap.lock") :]
    for dist_info in ("esnptdir-1.0.dist-info", "esnptgit-1.0.dist-info"):
        assert f'\'{dist_info}/direct_url.json,\' "$d/RECORD" > "$d/RECORD.envsnap"' in final, final
    direct = '{"url":"https://example.invalid/g.git","vcs_info":{"commit_id":"' + "c" * 40 + '","vcs":"git"}}'
    assert f"printf '%s\\n' '{direct}' > \"$d/direct_url.json\"" in final, final
    data, _ = bundle.bundle_wheel_marker("esnptdir-1.0.dist-info", folder.artifact)  # type: ignore[arg-type]
    assert f"printf '%s\\n' '{data.decode().strip()}' > \"$d/envsnap_bundle.json\"" in final, final
    assert "envsnap-wheelhouse" not in final


def test_a_capture_time_before_1970_gives_no_negative_source_date_epoch() -> None:
    """RFC 3339 holds 1969; SOURCE_DATE_EPOCH is seconds since 1970, and build tools refuse -1."""
    lock = cpu_lock()
    early = dataclasses.replace(lock, envsnap=dataclasses.replace(lock.envsnap, created="1969-12-31T23:59:59Z"))
    assert dockerspec.source_date_epoch(early) == 0


def test_uv_installs_both_environments_and_runs_only_once_its_wheel_is_the_pinned_one(tmp_path: Path) -> None:
    import hashlib
    import subprocess

    text = dockerfile(cpu_lock())
    assert "ensurepip" not in text and "-m pip" not in text  # no pip: uv installs envsnap and the locked wheels
    check = text.index('grep -qx "uv==')
    assert check < text.index("-m zipfile -e") < text.index('"$uv" pip install')
    # uv and the wheels are in the installer stage only: the image copies the two environments out of it.
    installer, final = text.split("\nFROM system AS installer\n")[1].split("\nFROM system\n")
    assert "COPY tool/ /opt/envsnap-wheels/" in installer and "-m zipfile -e" in installer
    assert [line for line in final.splitlines() if line.startswith("COPY")] == [
        "COPY --from=installer /opt/envsnap /opt/envsnap",
        "COPY --from=installer /opt/env /opt/env",
        "COPY envsnap.lock /envsnap.lock",
    ]
    # The check itself, as the image's shell runs it, on a tool/ folder whose uv wheel is or is not the pinned one.
    lines = text[text.index("RUN cd /opt/envsnap-wheels") : text.index("-m zipfile -e")].splitlines()[1:-1]
    script = "cd tool " + "".join(line.rstrip("\\") for line in lines)
    (tmp_path / "tool").mkdir()
    wheel = tmp_path / "tool" / "uv-0.13.9-py3-none-manylinux_2_17_x86_64.whl"
    wheel.write_bytes(b"the uv wheel")
    pinned = hashlib.sha256(b"the uv wheel").hexdigest()
    (tmp_path / "tool" / "requirements.txt").write_text(
        f"rich==14.0.0 --hash=sha256:{'a' * 64}\nuv==0.13.9 --hash=sha256:{pinned}\n"
    )
    assert subprocess.run(["sh", "-c", script], cwd=tmp_path).returncode == 0
    wheel.write_bytes(b"another uv wheel")
    assert subprocess.run(["sh", "-c", script], cwd=tmp_path).returncode != 0


def test_a_bundles_tool_folder_without_uv_is_refused_before_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envsnap.artifacts.bundle import Bundle
    from envsnap.errors import BadBundleError
    from envsnap.rebuild import docker

    root = tmp_path / "bundle"
    (root / "tool").mkdir(parents=True)
    (root / "envsnap.lock").write_text("")
    (root / "tool" / "requirements.txt").write_text("envsnap-lock==0.1.0 --hash=sha256:" + "a" * 64 + "\n")
    (tmp_path / "ctx").mkdir()
    spec = dockerspec.make_spec(cpu_lock(), dockerspec.DockerOptions())
    monkeypatch.setattr(docker._tool, "wheels_for", _cannot_pack)  # the bundle's tool/ is what is left
    with pytest.raises(BadBundleError, match="holds no uv wheel, which installs the image's environments"):
        docker.tool_wheels(tmp_path / "ctx", spec, Bundle(root), offline=True, progress=lambda _line: None)
    assert not list((tmp_path / "ctx").iterdir())


def _cannot_pack(dest: Path, target: object, *, offline: bool, progress: object) -> list[object]:
    (dest / "envsnap_lock-0.1.0-py3-none-any.whl").write_bytes(b"half made")  # what a failed packing leaves
    raise RebuildError("--offline: envsnap's requirements rich have no installed copy for Python 3.12")


def _tool_bundle(root: Path) -> None:
    """A bundle whose tool/ holds a stranger's envsnap and uv, listed with their hashes in its own list."""
    (root / "tool").mkdir(parents=True)
    (root / "envsnap.lock").write_text("")
    lines = []
    for name in ("envsnap_lock-0.1.0-py3-none-any.whl", "uv-0.9.0-py3-none-manylinux_2_17_x86_64.whl"):
        (root / "tool" / name).write_bytes(b"a stranger's " + name.encode())
        digest = hashlib.sha256((root / "tool" / name).read_bytes()).hexdigest()
        lines.append(f"{name.split('-')[0].replace('_', '-')}=={name.split('-')[1]} --hash=sha256:{digest}")
    (root / "tool" / "requirements.txt").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("spoil", ["changed", "unlisted", "missing"])
def test_a_bundles_tool_wheel_that_is_not_the_one_its_list_pins_is_refused_on_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spoil: str
) -> None:
    """A truncated tool/ wheel (SHA256SUMS rewritten to match) was found only inside the build, by uv: exit 4 with
    "Failed to download ... BufError" in a long build log, not the bad input it is."""
    from envsnap.artifacts.bundle import Bundle
    from envsnap.errors import BadBundleError
    from envsnap.rebuild import docker

    root = tmp_path / "bundle"
    _tool_bundle(root)
    wheel = root / "tool" / "envsnap_lock-0.1.0-py3-none-any.whl"
    if spoil == "changed":
        wheel.write_bytes(wheel.read_bytes()[:5])
    elif spoil == "unlisted":
        (root / "tool" / "rich-14.0.0-py3-none-any.whl").write_bytes(b"!")
    else:
        wheel.unlink()
    monkeypatch.setattr(docker._tool, "wheels_for", _cannot_pack)
    spec = dockerspec.make_spec(cpu_lock(), dockerspec.DockerOptions())
    (tmp_path / "ctx").mkdir()
    with pytest.raises(BadBundleError, match=r"tool/(envsnap_lock-0\.1\.0|rich-14\.0\.0)|envsnap-lock==0\.1\.0"):
        docker.tool_wheels(tmp_path / "ctx", spec, Bundle(root), offline=True, progress=lambda _line: None)
    assert not [p for p in (tmp_path / "ctx").iterdir() if p.suffix == ".whl"]


def test_the_image_gets_this_envsnaps_own_installer_and_verifier_before_a_bundles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle's tool/ (uv, which installs the image's environments, and the envsnap that verifies them) is the
    bundle's own, hash-checked only against the bundle's own list, which nothing the lock seals names: a stranger's
    bundle chose the image's installer and its verdict. This envsnap, packed for the image, comes first; the
    bundle's is taken only where this one cannot be packed, and the rebuild says so."""
    from envsnap.artifacts.bundle import Bundle
    from envsnap.rebuild import _tool, docker

    root = tmp_path / "bundle"
    _tool_bundle(root)
    spec = dockerspec.make_spec(cpu_lock(), dockerspec.DockerOptions())

    def own(dest: Path, target: object, *, offline: bool, progress: object) -> list[_tool.ToolWheel]:
        assert offline  # never a download where the bundle has a tool/
        made = []
        for name in ("envsnap_lock-0.1.0-py3-none-any.whl", "uv-0.9.1-py3-none-manylinux_2_17_x86_64.whl"):
            (dest / name).write_bytes(b"this envsnap's " + name.encode())
            made.append(_tool.ToolWheel(dest / name, name.split("-")[0], name.split("-")[1], "packed"))
        return made

    monkeypatch.setattr(docker._tool, "wheels_for", own)
    lines: list[str] = []
    (tmp_path / "ctx").mkdir()
    docker.tool_wheels(tmp_path / "ctx", spec, Bundle(root), offline=True, progress=lines.append)
    assert sorted(p.name for p in (tmp_path / "ctx").iterdir()) == [
        "envsnap_lock-0.1.0-py3-none-any.whl",
        "requirements.txt",
        "uv-0.9.1-py3-none-manylinux_2_17_x86_64.whl",
    ]
    assert all(p.read_bytes().startswith(b"this envsnap's") for p in (tmp_path / "ctx").glob("*.whl"))
    assert any("this envsnap's own" in line and "not the bundle's tool/" in line for line in lines), lines

    # Where this envsnap cannot be packed for the image (another Python, another machine), the bundle's: said.
    monkeypatch.setattr(docker._tool, "wheels_for", _cannot_pack)
    lines.clear()
    shutil.rmtree(tmp_path / "ctx")
    (tmp_path / "ctx").mkdir()
    docker.tool_wheels(tmp_path / "ctx", spec, Bundle(root), offline=True, progress=lines.append)
    assert sorted(p.name for p in (tmp_path / "ctx").iterdir()) == sorted(p.name for p in (root / "tool").iterdir())
    assert all(p.read_bytes().startswith(b"a stranger's") for p in (tmp_path / "ctx").glob("*.whl"))
    (note,) = [line for line in lines if "bundle's tool/" in line]
    assert note.startswith("note: the image's envsnap and uv come from the bundle's tool/") and "rich" in note


# -------------------------------------------------------------------------------------------- apt pins


def test_apt_pins_render_name_equals_version_and_foreign_arch() -> None:
    lock = cpu_lock()
    pins = apt.pins(apt.select(lock, "needed"), "x86_64")
    assert [p.spec for p in pins] == ["libc6=2.36-9+deb12u14", "libstdc++6:i386=12.2.0-14+deb12u1"]
    assert [p.spec for p in apt.pins(apt.select(lock, "all"), "x86_64")] == [
        "libc6=2.36-9+deb12u14",
        "libgcc-s1=12.2.0-14+deb12u1",
        "libstdc++6:i386=12.2.0-14+deb12u1",
        "zlib1g=1:1.2.13.dfsg-1",
    ]
    assert apt.select(lock, "none") == ()
    assert [p.spec for p in apt.pins(apt.select(lock, "needed"), "x86_64", exact=False)] == [
        "libc6",
        "libstdc++6:i386",
    ]


def test_apt_never_installs_driver_packages() -> None:
    names = [p.name for p in apt.select(gpu_lock(), "needed")]
    assert names == ["libgomp1"]


@pytest.mark.parametrize("name,version", [("libc6; rm -rf /", "1"), ("libc6", "1 && curl x"), ("Libc6", "1")])
def test_apt_rejects_names_and_versions_that_are_not_debian(name: str, version: str) -> None:
    with pytest.raises(RebuildError, match="not a valid"):
        apt.pins((SystemPackage("dpkg", name, version, "amd64"),), "x86_64")


def test_apt_rejects_other_package_managers_and_unknown_modes() -> None:
    lock = cpu_lock()
    rpm = dataclasses.replace(lock, system=dataclasses.replace(lock.system, manager="rpm"))
    with pytest.raises(RebuildError, match="rpm, which apt cannot install"):
        apt.select(rpm, "needed")
    assert apt.select(rpm, "none") == ()
    with pytest.raises(RebuildError, match="expected one of needed, all, none"):
        apt.select(lock, "some")


@pytest.mark.parametrize(
    "date,stamp",
    [
        ("2025-05-20", "20250520T000000Z"),
        ("20250520", "20250520T000000Z"),
        ("20250520T101112Z", "20250520T101112Z"),
    ],
)
def test_apt_snapshot_dates(date: str, stamp: str) -> None:
    assert apt.snapshot_stamp(date) == stamp
    assert apt.snapshot_sources("debian", "bookworm", date)[0] == (
        f"deb [check-valid-until=no] http://snapshot.debian.org/archive/debian/{stamp} bookworm main"
    )


def test_apt_snapshot_bad_date_and_unknown_os() -> None:
    with pytest.raises(RebuildError, match="expected a date"):
        apt.snapshot_stamp("last tuesday")
    with pytest.raises(RebuildError, match="no snapshot mirror"):
        apt.snapshot_sources("fedora", "40", "2025-05-20")


# ---------------------------------------------------------------------------------- base-image selection

TABLE = [
    # (lock, expected reference, interpreter source, interpreter version)
    (cpu_lock(), "python:3.11.7-slim-bookworm", "image", "3.11.7"),
    (cpu_lock(os_version="11"), "python:3.11.7-slim-bullseye", "image", "3.11.7"),
    (
        dataclasses.replace(
            cpu_lock(os_id="ubuntu", os_version="22.04"),
            python=dataclasses.replace(cpu_lock().python, version="3.10.12"),
        ),
        "ubuntu:22.04",
        "apt",
        "3.10.12",
    ),
    (gpu_lock(), "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04", "apt", "3.10.12"),
    (
        gpu_lock(cuda="12.8.61", cudnn="9.8.0", os_version="24.04", python="3.12.3"),
        "nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04",
        "apt",
        "3.12.3",
    ),
    (
        gpu_lock(cuda="11.8.89", cudnn="8.9.2"),
        "nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04",
        "apt",
        "3.10.12",
    ),
    (
        gpu_lock(cuda="12.3.101", cudnn="9.0.0"),
        "nvidia/cuda:12.3.2-cudnn9-runtime-ubuntu22.04",
        "apt",
        "3.10.12",
    ),
    (gpu_lock(cudnn=""), "nvidia/cuda:12.4.1-runtime-ubuntu22.04", "apt", "3.10.12"),
    # Captured on Debian with Python 3.12: the Ubuntu release whose python3 is 3.12.
    (
        gpu_lock(cuda="12.6.77", os_id="debian", os_version="12", python="3.12.3"),
        "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04",
        "apt",
        "3.12.3",
    ),
]


@pytest.mark.parametrize("lock,reference,source,version", TABLE)
def test_base_image_table(lock, reference: str, source: str, version: str) -> None:  # type: ignore[no-untyped-def]
    base = baseimage.choose(lock)
    assert (base.reference, base.interpreter.source, base.interpreter.version) == (reference, source, version)
    assert base.pin_kind == "tag" and "pinned by tag only" in base.warnings[0]
    if lock.cuda is not None:
        assert base.require_cuda == "cuda>=" + major_minor(lock.cuda.runtime_version)


@pytest.mark.parametrize(
    "lock,message",
    [
        (cpu_lock(os_id="plan9", os_version="4"), "no base image is known for the lock's OS plan9 4"),
        (cpu_lock(os_id="", os_version=""), r"no base image is known for the lock's OS \(unknown\)"),
        (
            dataclasses.replace(cpu_lock(os_id="ubuntu", os_version="22.04")),
            "ubuntu 22.04 ships Python 3.10, but the lock needs Python 3.11",
        ),
        (gpu_lock(cuda="10.2.89"), "no nvidia/cuda image is known for CUDA 10.2"),
        (gpu_lock(cuda="12.4.127", cudnn="8.9.7"), "no nvidia/cuda image pairs CUDA 12.4 with cuDNN 8.9.7"),
        (gpu_lock(python="3.11.9"), r"ubuntu 22.04 ships Python 3.10, but the lock needs Python 3.11"),
        (
            gpu_lock(python="3.11.9", os_id="debian", os_version="12"),
            r"no nvidia/cuda:12.4.1 Ubuntu image ships Python 3.11 \(they ship 3.8.10, 3.10.12\)",
        ),
    ],
)
def test_base_image_errors(lock, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RebuildError, match=message) as refused:
        baseimage.choose(lock)
    # Known from the lock before any work, each asking for --base-image: bad input (2), not a failed rebuild (4).
    assert refused.value.exit_code == 2


def test_a_lock_without_what_the_docker_target_needs_is_bad_input_exit_2(
    tmp_path: Path, cli: Callable[..., object]
) -> None:
    # rebuild --dry-run --target docker of a lock with no os_version ("no base image is known ... pass --base-image
    # IMAGE") or no Python version exited 4, the work failing, though nothing had been done: the lock lacks what
    # the target needs, or an option is needed (docs/cli.md: 2).
    from envsnap import lockfile

    lock = cpu_lock()
    for name, bare in (
        ("noos", dataclasses.replace(lock, platform=dataclasses.replace(lock.platform, os_version=""))),
        ("nopy", dataclasses.replace(lock, python=dataclasses.replace(lock.python, version=""))),
    ):
        path = lockfile.dump(bare, tmp_path / f"{name}.lock")
        result = cli("rebuild", path, "--dry-run", "--target", "docker", "--dest", tmp_path / name)
        assert result.code == 2, result  # type: ignore[attr-defined]
        err = result.err  # type: ignore[attr-defined]
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert ("pass --base-image IMAGE" if name == "noos" else "records no Python version") in err, err
        assert not (tmp_path / name).exists()


@pytest.mark.parametrize("reference", ["Envsnap-base:bookworm", "foo/Bar", "foo:", "-foo", "x:y:z"])
def test_a_base_image_the_engine_would_refuse_is_a_bad_option_before_the_engine_is_asked(
    reference: str, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``--base-image Envsnap-base:bookworm`` (an upper-case repository, which the engine's grammar refuses) was
    taken, and the engine's "400 Client Error ... invalid reference format" ended the rebuild and the bundle, exit
    4; a reference the engine cannot read is a bad command line, as a bad --tag is: one line, exit 2."""
    with pytest.raises(RebuildError, match="is not an image reference"):
        baseimage.choose(cpu_lock(), base_image=reference)
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(cpu_lock(), lock)
    res = cli("rebuild", str(lock), "--target", "docker", "--dry-run", f"--base-image={reference}")
    assert res.code == 2 and res.err.count("\n") == 1, res
    assert res.err.startswith(f"envsnap: error: --base-image {reference!r} is not an image reference"), res


@pytest.mark.parametrize(
    ("base", "tag"),
    [
        ("envsnap-base:bookworm", "envsnap-base:bookworm"),
        ("lab/base", "lab/base:latest"),
        ("python:3.11-slim", "docker.io/library/python:3.11-slim"),
        ("python:3.11-slim@sha256:" + "e" * 64, "python:3.11-slim"),
    ],
)
def test_a_tag_that_names_the_base_image_is_refused_naming_both(
    base: str, tag: str, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``--tag envsnap-base:bookworm`` on that base moved the tag off the user's base image onto the rebuilt one
    (the engine retags without a word), and the plan said nothing: the next rebuild built FROM the rebuilt image. It
    is a bad command line, one line naming both, exit 2, --dry-run too; another tag of the same name is not."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(cpu_lock(), lock)
    res = cli("rebuild", str(lock), "--target", "docker", "--dry-run", f"--base-image={base}", f"--tag={tag}")
    assert res.code == 2 and res.err.count("\n") == 1, res
    assert res.err.startswith(f"envsnap: error: --tag {tag} names the base image {base}"), res
    other = cli("rebuild", str(lock), "--target", "docker", "--dry-run", f"--base-image={base}", "--tag=lab/rebuilt:1")
    assert other.code == 0, other


def test_base_image_pinning() -> None:
    lock = cpu_lock()
    digest = "sha256:" + "e" * 64
    assert baseimage.choose(lock, base_digest=digest).pinned == f"python:3.11.7-slim-bookworm@{digest}"
    pulled = ImageFacts("sha256:" + "2" * 64, (f"python@{digest}",), {"PYTHON_VERSION": "3.11.7"})
    base = baseimage.choose(lock, inspect=lambda ref: pulled)
    assert (base.pinned, base.pin_kind, base.warnings) == (
        f"python:3.11.7-slim-bookworm@{digest}",
        "digest",
        (),
    )
    local = ImageFacts("sha256:" + "3" * 64)
    base = baseimage.choose(lock, base_image="envsnap-base:bookworm", inspect=lambda ref: local)
    assert (base.pinned, base.pin_kind) == (local.image_id, "image-id")
    assert "no registry digest" in base.warnings[0]
    with pytest.raises(RebuildError, match="--base-digest 'sha256:12'"):
        baseimage.choose(lock, base_digest="sha256:12")
    with pytest.raises(RebuildError, match="contradicts"):
        baseimage.choose(lock, base_image=f"python:3.11.7@{digest}", base_digest="sha256:" + "f" * 64)


def test_a_base_digest_that_is_a_local_images_id_builds_on_that_image() -> None:
    """``--base-image NAME --base-digest sha256:ID``, ID a local image's (built or imported here, in no registry):
    the Dockerfile said ``FROM NAME@sha256:ID``, which the engine pulls, and the interpreter was read from what NAME
    names now. It is the image ID, as ``--base-image NAME@sha256:ID`` is: ``FROM sha256:ID``, its interpreter."""
    lock = cpu_lock()
    mine = ImageFacts("sha256:" + "3" * 64, (), {"PYTHON_VERSION": "3.11.7"})
    now = ImageFacts("sha256:" + "4" * 64, (), {"PYTHON_VERSION": "3.12.1"})  # what the tag names today
    asked: list[str] = []

    def inspect(ref: str) -> ImageFacts:
        asked.append(ref)
        return mine if ref.endswith(mine.image_id) else now

    base = baseimage.choose(lock, base_image="envsnap-base:bookworm", base_digest=mine.image_id, inspect=inspect)
    assert (base.pinned, base.pin_kind, base.image_id) == (mine.image_id, "image-id", mine.image_id), base
    assert base.interpreter.version == "3.11.7" and "envsnap-base:bookworm" not in asked, asked


def test_interpreter_from_the_image_env_or_apt_with_a_patch_note() -> None:
    lock = cpu_lock()  # pyenv's 3.11.7 on Debian 12, whose python3.11 is 3.11.2
    bare = baseimage.choose(lock, base_image="envsnap-base:bookworm", inspect=lambda ref: None)
    assert bare.interpreter.source == "apt"
    assert bare.interpreter.apt_packages == ("python3.11=3.11.2-*", "python3.11-venv=3.11.2-*")
    assert "the lock's CPython 3.11.7 is not available on debian 12; using its CPython 3.11.2" in (
        bare.interpreter.note
    )
    with_python = ImageFacts("sha256:" + "4" * 64, env={"PYTHON_VERSION": "3.11.9"})
    base = baseimage.choose(lock, base_image="mine:1", inspect=lambda ref: with_python)
    assert (base.interpreter.source, base.interpreter.executable) == ("image", "/usr/local/bin/python3")
    assert "a newer patch release" in base.interpreter.note
    wrong = ImageFacts("sha256:" + "5" * 64, env={"PYTHON_VERSION": "3.12.1"})
    with pytest.raises(RebuildError, match=r"ships Python 3\.12\.1, but the lock needs Python 3\.11"):
        baseimage.choose(lock, base_image="mine:2", inspect=lambda ref: wrong)


def test_gpu_base_must_declare_the_locked_cuda() -> None:
    lock = gpu_lock()
    good = ImageFacts("sha256:" + "6" * 64, env={"NVIDIA_REQUIRE_CUDA": "cuda>=12.4 brand=tesla,driver>=470"})
    assert baseimage.choose(lock, inspect=lambda ref: good).require_cuda == "cuda>=12.4"
    bad = ImageFacts("sha256:" + "7" * 64, env={"NVIDIA_REQUIRE_CUDA": "cuda>=12.8 brand=tesla,driver>=470"})
    with pytest.raises(RebuildError, match=r"declares NVIDIA_REQUIRE_CUDA=cuda>=12.8.*needs the CUDA 12.4"):
        baseimage.choose(lock, inspect=lambda ref: bad)


def test_lock_for_another_architecture_is_refused() -> None:
    lock = cpu_lock(machine="aarch64")
    with pytest.raises(RebuildError, match="captured on aarch64, but the Docker engine builds x86_64"):
        dockerspec.check_architecture(lock, "x86_64", "the Docker engine")
    dockerspec.check_architecture(cpu_lock(), "amd64", "the Docker engine")


def test_lock_of_another_os_is_refused_as_containers_run_linux() -> None:
    """A macOS arm64 lock said "captured on aarch64 ... rebuild on a matching host" (an Apple silicon Mac's
    engine builds Linux images too), an Intel Mac's or Windows lock "pass --base-image IMAGE": neither can run
    in any image, as the check's platform rule says."""
    for system, machine in (("Darwin", "arm64"), ("Darwin", "x86_64"), ("Windows", "AMD64")):
        with pytest.raises(RebuildError, match=f"captured on {system}: containers run Linux") as caught:
            dockerspec.check_architecture(cpu_lock(system=system, machine=machine), "x86_64", "the Docker engine")
        assert "matching host" not in str(caught.value) and f"--target venv on a {system} host" in str(caught.value)
    # export -f dockerfile told a macOS lock to pass --base-image, an option export has not (and no image helps)
    with pytest.raises(ExportError, match="captured on Darwin: containers run Linux"):
        export.get("dockerfile").render(cpu_lock(system="Darwin", machine="arm64", os_id="macos", os_version="14.5"))


def test_export_names_the_command_that_has_base_image() -> None:
    """export -f dockerfile said "pass --base-image python:3.11.7-slim-<release>", an option export has not."""
    with pytest.raises(ExportError, match=r"Python 3\.11") as caught:
        export.get("dockerfile").render(cpu_lock(os_id="ubuntu", os_version="22.04"))
    message = str(caught.value)
    assert "envsnap rebuild LOCK --target docker --dry-run --base-image IMAGE" in message
    assert "envsnap export has no --base-image" in message


def test_a_musl_lock_is_refused_as_the_images_are_glibc() -> None:
    """With --base-image ...-alpine an Alpine lock planned an image whose own envsnap is manylinux wheels."""
    musl = cpu_lock(os_id="alpine", os_version="3.20.3", libc="musl", libc_version="1.2.5")
    with pytest.raises(RebuildError, match=r"musl 1\.2\.5.*glibc images.*--target venv on a musl host"):
        dockerspec.check_architecture(musl, "x86_64", "the Docker engine")


def test_bad_tag_is_refused() -> None:
    with pytest.raises(RebuildError, match="not a valid image name"):
        dockerspec.DockerOptions(tag="Bad Tag")


@pytest.mark.parametrize(
    ("reference", "split"),
    [
        ("localhost:5000/foo:1", ("localhost:5000/foo", "1")),  # a private registry: refused before
        ("registry.example.org/group/foo", ("registry.example.org/group/foo", "latest")),
        ("foo__bar:v1.2", ("foo__bar", "v1.2")),  # "__" is a separator of the engine's grammar: refused before
        ("my-lab/env--x.y_z", ("my-lab/env--x.y_z", "latest")),
    ],
)
def test_the_engines_reference_grammar_is_taken(reference: str, split: tuple[str, str]) -> None:
    assert dockerspec.DockerOptions(tag=reference).tag == reference
    assert dockerspec.split_reference(reference) == split


@pytest.mark.parametrize("reference", ["foo/Bar", "foo:", "foo/:1", "foo:" + "a" * 129, "x/" + "a" * 290, "-foo"])
def test_what_the_engine_refuses_is_refused_before_the_build(reference: str) -> None:
    """A 292-character name was taken, built and verified, and the engine's refusal to tag it was a traceback."""
    with pytest.raises(RebuildError, match="not a valid image name"):
        dockerspec.DockerOptions(tag=reference)


def test_export_needs_pinned_wheels() -> None:
    lock = cpu_lock()
    bare = dataclasses.replace(
        lock,
        python=dataclasses.replace(
            lock.python, packages=tuple(dataclasses.replace(p, artifact=None) for p in lock.python.packages)
        ),
    )
    with pytest.raises(ExportError, match=r"2 package\(s\) have no pinned wheel: markupsafe==3.0.2, tomli-w"):
        export.get("dockerfile").render(bare)


def test_export_of_a_lock_with_a_local_project_points_at_the_bundle_not_at_pin() -> None:
    """ "run `envsnap pin LOCK` first" sent the user round in a circle: pin has no wheel for a local project."""
    from envsnap.model import Source

    lock = cpu_lock()
    first, *rest = lock.python.packages
    local = dataclasses.replace(first, artifact=None, source=Source(kind="directory", url="file://{project}"))
    with_project = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=(local, *rest)))
    with pytest.raises(ExportError) as caught:
        export.get("dockerfile").render(with_project)
    assert "`envsnap export DIR --format dockerfile`" in str(caught.value) and "envsnap pin" not in str(caught.value)


# ----------------------------------------------------------------------------- engine output, bundled images

BUILD_OUTPUT = """Step 1/4 : FROM sha256:263832507b91c6f15ce041d4dd3a3582121bcfbfe415e93010527d0f4e0e858d
 ---> 263832507b91
Step 2/4 : ARG SOURCE_DATE_EPOCH=1767323045
 ---> Using cache
 ---> 85248864644b
Step 3/4 : RUN apt-get update
 ---> Running in c80661f559d9
Removing intermediate container c80661f559d9
 ---> ebb35004f45b
Step 4/4 : RUN envsnap verify /envsnap.lock --python /opt/env/bin/python
 ---> Running in efaf9bfded7b
Removing intermediate container efaf9bfded7b
 ---> 05eb4b819173
Successfully built 05eb4b819173
"""


def test_build_output_names_the_layers_this_build_made() -> None:
    layers = _docker_engine._Layers()
    for line in BUILD_OUTPUT.splitlines():
        layers.read(line.strip())
    # The base and the cached step are not this build's to remove.
    assert layers.created == ["ebb35004f45b", "05eb4b819173"]
    assert layers.image_id == "05eb4b819173"


def test_the_installer_stage_is_removed_after_the_build_and_the_final_image_kept() -> None:
    layers = _docker_engine._Layers()
    output = """Step 1/6 : FROM sha256:263832507b91 AS system
 ---> 263832507b91
Step 2/6 : RUN apt-get update
 ---> Using cache
 ---> ebb35004f45b
Step 3/6 : FROM system AS installer
 ---> ebb35004f45b
Step 4/6 : COPY tool/ /opt/envsnap-wheels/
 ---> 1c3e5a7f9b11
Step 5/6 : FROM system
 ---> ebb35004f45b
Step 6/6 : COPY --from=installer /opt/env /opt/env
 ---> 05eb4b819173
Successfully built 05eb4b819173
"""
    for line in output.splitlines():
        layers.read(line.strip())
    removed: list[tuple[str, bool]] = []

    class Images:
        def remove(self, image: str, force: bool) -> None:
            removed.append((image, force))

    class Client:
        images = Images()

    layers.discard_stages(Client())  # type: ignore[arg-type]
    # The system stage came from the cache (and the image is made from it): only the installer goes, unforced.
    assert removed == [("1c3e5a7f9b11", False)]
    assert layers.image_id == "05eb4b819173"


def _saved_image(path: Path, config: bytes) -> str:
    """A ``docker save`` archive of one image whose config is ``config``; its id (the config's digest)."""
    import hashlib
    import io
    import json
    import tarfile

    manifest = json.dumps([{"Config": "config.json", "RepoTags": ["envsnap-base:bookworm"], "Layers": []}]).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in (("manifest.json", manifest), ("config.json", config)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return "sha256:" + hashlib.sha256(config).hexdigest()


def test_a_base_saved_in_the_bundle_is_planned_by_image_id(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    digest = "sha256:" + "9" * 64
    image_id = _saved_image(images / "envsnap-base_bookworm.tar", b'{"architecture": "amd64"}')
    (images / "envsnap-base_bookworm.json").write_text(
        '{"reference": "envsnap-base:bookworm", "id": "' + image_id + '", '
        f'"repo_digests": ["envsnap-base@{digest}"], "env": {{}}, "architecture": "amd64"}}'
    )
    facts = _docker_engine.bundled_facts(tmp_path)
    assert facts["envsnap-base:bookworm"].repo_digests == (f"envsnap-base@{digest}",)
    look = _docker_engine.with_bundled(None, tmp_path)
    assert look is not None
    base = baseimage.choose(cpu_lock(), base_image="envsnap-base:bookworm", inspect=look)
    # Once loaded from the bundle the image has no registry digest here, so FROM names its id.
    assert (base.pinned, base.pin_kind) == (image_id, "image-id")
    assert _docker_engine.with_bundled(None, None) is None


def test_a_base_the_bundle_saved_is_not_said_to_need_a_copy_saved(tmp_path: Path) -> None:
    """``rebuild --bundle B`` of a bundle made ``--with-base-image`` on an image with no registry digest (docker
    import, a local build) warned ``base image ... has no registry digest; pinned by its local image id ... (keep a
    copy with `envsnap bundle --with-base-image`)``: the bundle it was rebuilt from holds that copy. The warning is
    for a base no bundle holds, and said there still."""
    images = tmp_path / "images"
    images.mkdir()
    image_id = _saved_image(images / "envsnap-base_bookworm.tar", b'{"architecture": "amd64"}')
    (images / "envsnap-base_bookworm.json").write_text(
        '{"reference": "envsnap-base:bookworm", "id": "' + image_id + '", "repo_digests": [], "env": {}, '
        '"architecture": "amd64"}'
    )
    here = baseimage.ImageFacts(image_id=image_id, architecture="amd64")
    for engine in (None, lambda ref: here if ref == "envsnap-base:bookworm" else None):  # loaded, or there already
        look = _docker_engine.with_bundled(engine, tmp_path)
        base = baseimage.choose(cpu_lock(), base_image="envsnap-base:bookworm", inspect=look)
        assert (base.pinned, base.pin_kind) == (image_id, "image-id")
        assert not any("keep a copy" in w or "no registry digest" in w for w in base.warnings), base.warnings
    unbundled = baseimage.choose(cpu_lock(), base_image="envsnap-base:bookworm", inspect=lambda ref: here)
    [warning] = [w for w in unbundled.warnings if "no registry digest" in w]
    assert warning.endswith("(keep a copy with `envsnap bundle --with-base-image`)"), warning


def test_a_saved_bases_json_that_pins_another_image_than_its_archive_is_refused(tmp_path: Path) -> None:
    """images/*.json naming another image the engine had (SHA256SUMS rewritten with it) made the build run FROM
    that image: its archive was read only when the engine lacked the image. The archive is what is pinned."""
    from envsnap.errors import BadBundleError

    images = tmp_path / "images"
    images.mkdir()
    _saved_image(images / "envsnap-base_bookworm.tar", b'{"architecture": "amd64"}')
    other = "sha256:" + "8" * 64
    (images / "envsnap-base_bookworm.json").write_text(
        '{"reference": "envsnap-base:bookworm", "id": "' + other + '", "repo_digests": [], "env": {}, '
        '"architecture": "amd64"}'
    )
    with pytest.raises(BadBundleError, match="but the bundle pins"):
        _docker_engine.bundled_facts(tmp_path)


def test_a_system_cuda_toolkit_nothing_uses_does_not_make_a_gpu_lock() -> None:
    unloaded = CudaLibrary(component="runtime", version="13.0.96", source="system", location="/usr/local/cuda/lib64")
    lock = dataclasses.replace(cpu_lock(), cuda=Cuda(toolkit_version="13.0", copies=(unloaded,)))
    base = baseimage.choose(lock)
    assert (base.reference, base.require_cuda) == ("python:3.11.7-slim-bookworm", "")


def test_a_system_cuda_runtime_the_environment_loads_makes_a_gpu_lock() -> None:
    # An extension of the environment links /usr/local/cuda through its RPATH: the copy is selected.
    loaded = CudaLibrary(
        component="runtime", version="13.0.96", source="system", location="/usr/local/cuda/lib64", selected=True
    )
    cuda = Cuda(runtime_version="13.0.96", runtime_source="system", copies=(loaded,))
    # The choice is now among CUDA images (none ships the lock's Python 3.11: the CPU image before).
    with pytest.raises(RebuildError, match=r"nvidia/cuda:13\.0"):
        baseimage.choose(dataclasses.replace(cpu_lock(), cuda=cuda))


def test_export_cli_writes_the_context_with_the_same_bytes_twice(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from envsnap import lockfile

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(cpu_lock(), lock)
    for out in ("a", "b"):
        result = cli("export", str(lock), "--format", "dockerfile", "-o", str(tmp_path / out), "--no-pin")
        assert result.code == 0, result
    a, b = sorted((tmp_path / "a").rglob("*")), sorted((tmp_path / "b").rglob("*"))
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True) if x.is_file())
    assert (tmp_path / "a" / "Dockerfile").read_text() == dockerfile(lockfile.load(lock))


def test_a_conda_lock_is_refused_up_front() -> None:
    lock = dataclasses.replace(cpu_lock(), conda=Conda(subdir="linux-64", packages=(CondaPackage("numpy", "2.0.0"),)))
    with pytest.raises(RebuildError, match=r"conda environment \(1 conda package\).*use --target conda"):
        dockerspec.make_spec(lock, dockerspec.DockerOptions())


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_conda_lock_is_bad_input_for_a_docker_rebuild(cli, tmp_path: Path, force: list[str]) -> None:  # type: ignore[no-untyped-def]
    """The wrong target for the lock, as a pip lock is for --target conda and as export -f dockerfile refuses it:
    exit 2, one line naming the lock, before any work. It was 4, "the work itself failed", after the check."""
    from envsnap import lockfile

    conda = Conda(subdir="linux-64", packages=(CondaPackage("numpy", "2.0.0"),))
    lock = lockfile.dump(dataclasses.replace(cpu_lock(), conda=conda), tmp_path / "conda.lock")
    result = cli("rebuild", lock, "--target", "docker", "--dest", tmp_path / "ctx", "--dry-run", *force)
    assert result.code == 2, result
    assert result.err == (
        f"envsnap: error: {lock}: the lock holds a conda environment (1 conda package); the docker target "
        "rebuilds pip environments only: use --target conda\n"
    )
    assert not (tmp_path / "ctx").exists()
    exported = cli("export", lock, "--format", "dockerfile", "-o", tmp_path / "ctx")
    assert exported.code == 2 and exported.err.count("\n") == 1, exported


@pytest.mark.parametrize(
    ("platform", "reason"),
    [
        (
            {"system": "Darwin", "machine": "arm64", "os_id": "macos", "os_version": "14.5"},
            "the lock was captured on Darwin: containers run Linux, so its wheels cannot run in an image (rebuild "
            "it with --target venv on a Darwin host)",
        ),
        (
            {"os_id": "alpine", "os_version": "3.20.3", "libc": "musl", "libc_version": "1.2.5"},
            "the lock was captured with musl 1.2.5: the docker target builds glibc images (Debian, Ubuntu), where "
            "its musllinux wheels cannot run (rebuild it with --target venv on a musl host, e.g. Alpine)",
        ),
    ],
    ids=["macos", "musl"],
)
@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_lock_no_image_can_run_is_bad_input_for_a_docker_rebuild(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, platform: dict[str, str], reason: str, force: list[str]
) -> None:
    """A macOS or musl (Alpine) lock: no image the docker target builds can run it, whatever the engine, as
    export -f dockerfile says (exit 2). The rebuild refused it with exit 4, "the work itself failed", after the
    check; it is refused as it is read, exit 2, one line naming the lock, with export's reason."""
    from envsnap import lockfile

    lock = lockfile.dump(cpu_lock(**platform), tmp_path / "other.lock")
    result = cli("rebuild", lock, "--target", "docker", "--dest", tmp_path / "ctx", "--dry-run", *force)
    assert (result.code, result.out, result.err) == (2, "", f"envsnap: error: {lock}: {reason}\n"), result
    assert not (tmp_path / "ctx").exists()
    exported = cli("export", lock, "--format", "dockerfile", "-o", tmp_path / "ctx")
    assert (exported.code, exported.err) == (2, f"envsnap: error: cannot export a Dockerfile: {reason}\n")
    assert not (tmp_path / "ctx").exists()


def test_export_of_a_conda_lock_as_a_dockerfile_names_what_export_can_do_instead(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`export -f dockerfile` refused a conda lock saying "use --target conda", an option export does not have: it
    names the conda formats export writes and the rebuild that takes the lock, with the rebuild's reason; the
    rebuild names the lock as given (it read `envsnap rebuild LOCK`, a placeholder where the path is known)."""
    from envsnap import lockfile

    conda = Conda(subdir="linux-64", packages=(CondaPackage("numpy", "2.0.0"),))
    lock = lockfile.dump(dataclasses.replace(cpu_lock(), conda=conda), tmp_path / "conda.lock")
    exported = cli("export", lock, "--format", "dockerfile", "-o", tmp_path / "ctx")
    assert exported.code == 2, exported
    assert exported.err == (
        "envsnap: error: cannot export a Dockerfile: the lock holds a conda environment (1 conda package); the "
        "docker target rebuilds pip environments only: export it with -f environment-yml, -f conda-explicit or "
        f"-f conda-lock, or rebuild it with `envsnap rebuild {lock} --target conda`\n"
    )
    assert not (tmp_path / "ctx").exists()
    for fmt in ("environment-yml", "conda-explicit", "conda-lock"):  # each named is a format export has
        assert cli("export", "--list").out.count(f"{fmt} ") >= 1, fmt


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tag", "NOT:valid tag"], "--tag 'NOT:valid tag' is not a valid image name"),
        (["--base-digest", "sha256:zz"], "--base-digest 'sha256:zz': expected sha256: and 64 hex digits"),
        (["--apt-snapshot", "yesterday"], "--apt-snapshot 'yesterday': expected a date"),
        (["--option", "colour=blue"], "the docker target has no option 'colour'"),
        # The flag's default must not hide the --option spelling of the same setting.
        (["--option", "system_packages=some"], "--system-packages 'some': expected one of"),
        (["--option", "tag"], "argument --option: 'tag' is not KEY=VALUE"),
    ],
)
def test_a_bad_docker_option_is_bad_input(cli, tmp_path: Path, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    from envsnap import lockfile

    lock = lockfile.dump(cpu_lock(), tmp_path / "envsnap.lock")
    result = cli("rebuild", lock, "--target", "docker", "--dest", tmp_path / "ctx", "--dry-run", *args)
    assert result.code == 2, result  # like any bad option (docs/cli.md), not 4: nothing was tried
    assert result.err.count("\n") == 1 and message in result.err
    assert not (tmp_path / "ctx").exists()


def test_a_docker_rebuild_without_a_bundle_is_bad_input_before_any_work(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The docker target installs the bundle's wheels: without --bundle it exited 4 (the work failed), once the
    build was under way (where no engine answers, with the engine's error). An argument missing is bad input, said
    once the plan is made, before anything is built."""
    from envsnap import lockfile

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")  # the plan is the same with an engine
    lock = lockfile.dump(cpu_lock(), tmp_path / "p.lock")
    # --force: past the compatibility check, which finds no engine here (exit 3) before anything is planned.
    result = cli("rebuild", lock, "--target", "docker", "--dest", tmp_path / "ctx", "--force")
    assert (result.code, result.err) == (
        2,
        f"envsnap: error: a docker rebuild installs the bundle's wheels: make one with `envsnap bundle {lock} -o DIR` "
        "and pass --bundle DIR\n",
    ), result
    assert not (tmp_path / "ctx").exists()


def test_a_build_with_no_network_that_installs_from_apt_is_refused_at_plan_time(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--option network=none` was taken (the plan even said "apt mirror (the build's network: none)") and the
    build's apt-get failed minutes later, exit 4; built from a cached apt layer, it passed."""
    from envsnap import lockfile

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")  # the plan is the same with an engine
    lock = lockfile.dump(cpu_lock(), tmp_path / "envsnap.lock")
    args = ["rebuild", lock, "--target", "docker", "--dest", tmp_path / "ctx", "--option", "network=none"]
    # --force: past the compatibility check, which finds no engine here (exit 3) before anything is planned.
    for more in (["--force"], ["--dry-run"], ["--dry-run", "--json"]):
        result = cli(*args, *more)
        assert result.code == 2, result
        assert result.err.count("\n") == 1 and "error: --option network=none: the build installs" in result.err
        assert "2 system packages from apt (libc6, libstdc++6:i386)" in result.err
        # The lock given, as a shell word (it said LOCK); no bundle was given, so BUNDLE is the user's to name.
        word = shlex.quote(str(lock))
        assert f"(`envsnap pin {word} && envsnap bundle {word} -o BUNDLE --with-system-packages`)" in result.err
        assert "rebuild with --offline from that bundle" in result.err
        assert not (tmp_path / "ctx").exists()
    # Nothing from apt (the base has the interpreter, and no system package is installed): no network is fine
    # (--force: the plan of a rebuild past the check, which without an engine fails and a dry run exits 3).
    result = cli(*args, "--system-packages", "none", "--dry-run", "--force")
    assert result.code == 0, result
    with pytest.raises(RebuildError, match="--option network=none: the build installs"):
        dockerspec.make_spec(cpu_lock(), dockerspec.DockerOptions(network="none"))


def test_the_tag_only_warning_does_not_claim_there_is_no_engine() -> None:
    # An engine that answers but has not got the image (nothing can be pulled here) gives the same facts as
    # none at all: the warning must fit both.
    base = baseimage.choose(cpu_lock(), inspect=lambda _reference: None)
    assert base.pin_kind == "tag"
    assert "no Docker engine answered, or it does not have the image" in base.warnings[0]


def test_bundle_with_base_image_and_no_engine_offers_a_way_bundle_has(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envsnap import lockfile
    from envsnap.model import PythonEnv

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    lock = lockfile.dump(dataclasses.replace(cpu_lock(), python=PythonEnv(version="3.11.7")), tmp_path / "l.lock")
    result = cli("bundle", lock, "-o", tmp_path / "b", "--with-base-image", "--base-image", "envsnap-base:x")
    assert result.code == 4 and "no Docker engine is reachable" in result.err, result
    # `bundle` has no --dry-run: pointing there (as rebuild does) sent users to an option that does not exist.
    assert "--dry-run" not in result.err and "bundle without --with-base-image" in result.err


def test_dockerfile_export_to_a_path_rich_would_read_as_markup(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from envsnap import lockfile

    lock = lockfile.dump(cpu_lock(), tmp_path / "envsnap.lock")
    (tmp_path / "x[").mkdir()
    result = cli("export", lock, "--format", "dockerfile", "-o", tmp_path / "x[" / "ctx]", "--no-pin")
    # "[/ctx]" is a closing tag to rich: the context was written, then the summary line was a traceback.
    assert result.code == 0 and f"wrote {tmp_path}/x[/ctx]/Dockerfile" in result.err, result


@pytest.mark.parametrize(("machine", "platform"), [("x86_64", "linux/amd64"), ("aarch64", "linux/arm64"), ("", "")])
def test_the_image_is_built_for_the_locks_machine(machine: str, platform: str) -> None:
    """The Dockerfile named no platform: exported for an aarch64 lock and built on an x86_64 machine, it made an
    amd64 image (a lock of pure-Python wheels silently; the others failed late, at their install). Its first
    FROM names the lock's machine, so such a build stops at the base image."""
    text = dockerfile(
        cpu_lock(machine=machine) if machine else cpu_lock(machine=""), base_image="python:3.11.7-slim-bookworm"
    )
    first = next(line for line in text.splitlines() if line.startswith("FROM "))
    if platform:
        assert first == f"FROM --platform={platform} python:3.11.7-slim-bookworm AS system", first
    else:
        assert first == "FROM python:3.11.7-slim-bookworm AS system", first


def test_a_base_image_for_cuda_12_and_13_runtime_wheels_says_which_runtimes_it_serves_and_on_which_driver() -> None:
    """A venv with the CUDA 12 and the CUDA 13 runtime wheels and no framework: nothing in it says which runtime its
    code loads. The image is for the newest CUDA, under which both run, and needs a driver of that CUDA; the plan did
    not say so, and on a driver of CUDA 12 alone that image does not start where the CUDA 12 runtime would run."""
    lock = gpu_lock(cuda="13.0.96", cudnn="", os_version="24.04", python="3.12.3")
    lock = dataclasses.replace(
        lock,
        cuda=None,
        frameworks=MappingProxyType({}),
        python=dataclasses.replace(
            lock.python,
            packages=(
                dataclasses.replace(lock.python.packages[0], name="nvidia-cuda-runtime-cu12", version="12.8.90"),
                dataclasses.replace(lock.python.packages[1], name="nvidia-cuda-runtime", version="13.0.96"),
            ),
        ),
    )
    base = baseimage.choose(lock)
    assert (base.reference, base.require_cuda) == ("nvidia/cuda:13.0.1-runtime-ubuntu24.04", "cuda>=13.0")
    assert (
        "the environment carries nvidia-cuda-runtime 13.0.96 and nvidia-cuda-runtime-cu12 12.8.90, and nothing in it "
        "says which runtime its code loads: the base image is for CUDA 13.0, the newest, so that each of them runs; "
        "it starts only on a driver that supports CUDA 13.0 (NVIDIA_REQUIRE_CUDA=cuda>=13.0): on one of CUDA 12 "
        "alone, pass --base-image with a CUDA 12.8 image, where the CUDA 13.0 runtime does not run"
    ) in base.notes
    # The plan (rebuild --target docker --dry-run) says it.
    spec = dockerspec.make_spec(lock, dockerspec.DockerOptions())
    assert any(note.startswith("the environment carries nvidia-cuda-runtime 13.0.96") for note in spec.notes)
    # The way out it names is taken: a CUDA 12.8 image serves the CUDA 12 runtime, and the plan says the other's lot.
    cuda_12 = ImageFacts(
        "sha256:" + "1" * 64, env={"NVIDIA_REQUIRE_CUDA": "cuda>=12.8 brand=tesla,driver>=535,driver<536"}
    )
    mine = baseimage.choose(lock, base_image="nvidia/cuda:12.8.1-runtime-ubuntu24.04", inspect=lambda ref: cuda_12)
    assert mine.require_cuda == "cuda>=12.8"
    assert (
        "--base-image nvidia/cuda:12.8.1-runtime-ubuntu24.04 declares NVIDIA_REQUIRE_CUDA=cuda>=12.8: the "
        "environment's CUDA 12.8 runtime (nvidia-cuda-runtime-cu12 12.8.90) runs in it, its CUDA 13.0 runtime "
        "(nvidia-cuda-runtime 13.0.96) does not"
    ) in mine.notes
    with pytest.raises(RebuildError, match=r"declares NVIDIA_REQUIRE_CUDA=cuda>=12\.4"):
        baseimage.choose(
            lock,
            base_image="mine:1",
            inspect=lambda ref: ImageFacts("sha256:" + "2" * 64, env={"NVIDIA_REQUIRE_CUDA": "cuda>=12.4"}),
        )


def _readme_commands(readme: str) -> list[str]:
    """The lines of the first indented code block of a README."""
    lines = readme.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    "))
    return [line[4:] for line in itertools.takewhile(lambda line: line.startswith("    "), lines[start:])]


def test_the_exported_context_says_the_commands_that_build_it_by_hand() -> None:
    """tool/README.md said `envsnap rebuild --target docker` fills the folder, and the Dockerfile's header
    `docker build --network host .`: no command filled tool/ or tagged the image, and the classic builder's
    installer stage stayed behind as an untagged image, with no word of it."""
    lock = cpu_lock()
    files = export.get("dockerfile").render(lock)
    readme = files["tool/README.md"].decode()
    tag = dockerspec.default_tag(lock)
    # The installer stage's own label, with the lock's: an image made FROM the rebuilt one inherits the lock's.
    prune = (
        f"docker image prune -f --filter label={dockerspec.LABEL_STAGE}=installer"
        f" --filter label={dockerspec.LABEL_DIGEST}={lock.envsnap.content_digest}"
    )
    # The last removes the stage: `envsnap clean --images` leaves it, as no rebuild recorded building it.
    assert _readme_commands(readme) == [
        "cp BUNDLE/wheels/*.whl wheels/",
        "cp BUNDLE/tool/*.whl BUNDLE/tool/requirements.txt tool/",
        f"docker build --network host -t {tag} .",
        prune,
    ]
    # The folders the lines copy into are the context's, and the bundle's folders they copy from are the ones
    # `envsnap bundle --with-base-image` writes.
    assert {"wheels/README.md", "tool/README.md", "Dockerfile"} <= set(files)
    assert (bundle.WHEELS, bundle.TOOL) == ("wheels", "tool")
    assert f"`{prune}`, removes this\nlock's installer stage, and only it" in readme
    installer = files["Dockerfile"].decode().split("FROM system AS installer\n", 1)[1].split("\nFROM ", 1)[0]
    assert f"\nLABEL {dockerspec.LABEL_STAGE}=installer\n" in f"\n{installer}"


def test_the_final_stages_step_writes_a_git_packages_direct_url_json_that_a_capture_reads(
    tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """The step above, run: a wheel the bundle built from a git commit, installed by its file as the installer stage
    installs it (its direct_url.json names that file), then the final stage's ``RUN`` step run over that environment
    (its ``/opt/env`` made this venv's folder). The direct_url.json it leaves names the commit (``vcs_info``), RECORD
    names that file with its sha256 and size, and a capture of the venv records the git source at that commit, as a
    capture inside the image does (the image itself is built in tests/rebuild/test_docker_engine.py)."""
    import base64
    import json
    import re
    import subprocess
    import sys

    from offline_wheels import wheel
    from testutil import uv_bin

    from envsnap.probes.capture import capture

    made = wheel(tmp_path / "wheels", "esnptgit", "1.0")
    sha256 = hashlib.sha256(made.read_bytes()).hexdigest()
    git = PythonPackage(
        name="esnptgit",
        version="1.0",
        source=Source(kind="vcs", url="https://example.invalid/g.git", vcs="git", commit_id="c" * 40),
        artifact=Artifact(filename=made.name, url="", sha256=sha256, rebuilt=True),
    )
    base = cpu_lock()
    lock = dataclasses.replace(base, python=dataclasses.replace(base.python, packages=(*base.python.packages, git)))
    python = make_venv(tmp_path / "env")
    env = python.parent.parent
    requirement = f"esnptgit @ {made.as_uri()}#sha256={sha256}"
    uv = uv_bin()
    install = [uv, "pip", "install", "--python", str(python)] if uv else [sys.executable, "-m", "pip", "--python"]
    if not uv:
        install += [str(python), "install"]
    subprocess.run([*install, "--no-deps", "--no-index", "--quiet", requirement], check=True, timeout=120)
    (installed,) = env.glob("lib/python*/site-packages/esnptgit-1.0.dist-info")
    assert made.name in (installed / "direct_url.json").read_text()  # the installer stage's file, as in the image
    text = dockerfile(lock)
    step = text[text.index("RUN ln -s /opt/envsnap/bin/envsnap /usr/local/bin/envsnap") :]
    step = step[: step.index("\n\n")]
    assert "esnptgit-1.0.dist-info" in step, step
    script = step.replace("RUN ln -s /opt/envsnap/bin/envsnap /usr/local/bin/envsnap", "true", 1)
    script = script.replace(f"{dockerspec.ENV_DIR}/lib/", f"{env}/lib/")
    assert dockerspec.ENV_DIR not in script, script
    subprocess.run(["sh", "-ec", script], check=True, timeout=60)
    written = (installed / "direct_url.json").read_bytes()
    assert json.loads(written) == {
        "url": "https://example.invalid/g.git",
        "vcs_info": {"vcs": "git", "commit_id": "c" * 40},
    }, written
    digest = base64.urlsafe_b64encode(hashlib.sha256(written).digest()).rstrip(b"=").decode()
    record = (installed / "RECORD").read_text().splitlines()
    lines = [line for line in record if line.startswith("esnptgit-1.0.dist-info/direct_url.json,")]
    assert lines == [f"esnptgit-1.0.dist-info/direct_url.json,sha256={digest},{len(written)}"], record
    assert not re.search(r"RECORD\.envsnap", "\n".join(p.name for p in installed.iterdir()))
    captured = capture(str(python), project_state=False).python.packages
    (found,) = [p for p in captured if p.name == "esnptgit"]
    assert (found.source.kind, found.source.vcs, found.source.commit_id) == ("vcs", "git", "c" * 40), found.source
    assert found.source.url == "https://example.invalid/g.git", found.source


@pytest.mark.parametrize("where", ["path", "url", "label"])
def test_the_final_stages_step_records_a_wheel_installed_by_its_path_that_a_capture_reads(
    where: str, tmp_path: Path, make_venv: Callable[..., Path], cli: Callable[..., Any]
) -> None:
    """A wheel the lock records as installed from its own file (``pip install ./dist/x.whl``, or its URL) is installed
    by name from the bundle's wheels, which writes no direct_url.json: a capture inside the image said "index", and
    diff of the lock against it a change of source, exit 1. The final stage's ``RUN`` step, run over a venv holding
    that wheel installed so, writes the locked source, so the capture names it and diff says nothing of it. A
    ``~`` or ``{project}`` label names a folder of the machine the lock is read on, none of the image's: nothing is
    written for it."""
    import subprocess
    import sys

    from offline_wheels import wheel
    from testutil import uv_bin

    from envsnap import lockfile
    from envsnap.probes.capture import capture

    made = wheel(tmp_path / "dist", "esnptwhl", "1.0")
    sha256 = hashlib.sha256(made.read_bytes()).hexdigest()
    url = {
        "path": made.as_uri(),
        "url": f"https://example.invalid/dist/{made.name}",
        "label": f"file://~/dist/{made.name}",
    }[where]
    # pip's record of an install from a path (its sha256 in archive_info); uv's names none
    locked = PythonPackage(
        name="esnptwhl",
        version="1.0",
        source=Source(kind="archive", url=url, archive_hash=f"sha256={sha256}"),
        artifact=Artifact(filename=made.name, url="", sha256=sha256),
    )
    assert bundle.installs_its_source_file(locked)
    python = make_venv(tmp_path / "env")
    env = python.parent.parent
    uv = uv_bin()
    install = [uv, "pip", "install", "--python", str(python)] if uv else [sys.executable, "-m", "pip", "--python"]
    if not uv:
        install += [str(python), "install"]
    found = ["--no-deps", "--no-index", "--quiet", "--find-links", str(made.parent), "esnptwhl==1.0"]
    subprocess.run([*install, *found], check=True, timeout=120)  # by name, as the installer stage installs it
    (installed,) = env.glob("lib/python*/site-packages/esnptwhl-1.0.dist-info")
    assert not (installed / "direct_url.json").exists()
    base = cpu_lock()
    lock = dataclasses.replace(base, python=dataclasses.replace(base.python, packages=(locked,)))
    text = dockerfile(lock)
    step = text[text.index("RUN ln -s /opt/envsnap/bin/envsnap /usr/local/bin/envsnap") :]
    step = step[: step.index("\n\n")]
    script = step.replace("RUN ln -s /opt/envsnap/bin/envsnap /usr/local/bin/envsnap", "true", 1)
    script = script.replace(f"{dockerspec.ENV_DIR}/lib/", f"{env}/lib/")
    subprocess.run(["sh", "-ec", script], check=True, timeout=60)
    captured = capture(str(python), project_state=False)
    (got,) = [p for p in captured.python.packages if p.name == "esnptwhl"]
    if where == "label":
        assert "esnptwhl" not in step and not (installed / "direct_url.json").exists(), step
        assert got.source.kind == "index", got.source
        return
    assert (got.source.kind, got.source.url, got.source.archive_hash) == ("archive", url, f"sha256={sha256}")
    # The bundle's lock (the wheel by that path, pinned as that file) against the capture in the image: the same.
    pinned = dataclasses.replace(got, source=locked.source, artifact=locked.artifact)
    packages = tuple(pinned if p.name == "esnptwhl" else p for p in captured.python.packages)
    lockfile.dump(
        dataclasses.replace(captured, python=dataclasses.replace(captured.python, packages=packages)),
        tmp_path / "B.lock",
    )
    lockfile.dump(captured, tmp_path / "cap.lock")
    shown = cli("diff", tmp_path / "B.lock", tmp_path / "cap.lock")
    assert shown.code == 0 and "source" not in shown.out, shown.out
    verified = cli("verify", tmp_path / "B.lock", "--python", python)  # the image's last step
    assert verified.code == 0 and "esnptwhl" not in verified.out, verified.out


def _bundle_with_saved_bases(tmp_path: Path, cli: Callable[..., Any], *references: str) -> tuple[Path, dict[str, str]]:
    """A bundle of a lock with no Python package, holding one saved base image (a stand-in archive and its .json) for
    each of ``references``; their ids by reference."""
    lock = cpu_lock()
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=()))
    out = tmp_path / "b"
    assert cli("bundle", lockfile.dump(lock, tmp_path / "in.lock"), "-o", out, "--offline").code == 0
    images = out / "images"
    images.mkdir()
    ids = {}
    for n, reference in enumerate(references):
        name = _docker_engine._image_file(reference)  # as bundle --with-base-image names it
        ids[reference] = _saved_image(images / name, b'{"architecture": "amd64", "n": %d}' % n)
        (images / name).with_suffix(".json").write_text(
            '{"reference": "' + reference + '", "id": "' + ids[reference] + '", "repo_digests": [], "env": {}, '
            '"architecture": "amd64"}'
        )
    bundle.Bundle(out).write_sums()
    return out, ids


def test_a_bundle_with_several_saved_bases_builds_on_the_one_the_lock_or_base_image_names(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A bundle holding two saved images rebuilt on neither: where none was named the lock's own choice was taken,
    saved or not, and the README's ``docker load -i BUNDLE/images/NAME.tar`` named no file it held. The saved image
    the lock's choice or --base-image names is the base; where neither names one of them, one line names them all and
    --base-image, exit 2."""
    chosen = baseimage.choose(cpu_lock()).reference
    out, ids = _bundle_with_saved_bases(tmp_path, cli, "envsnap-base:bookworm", "lab/other:1")
    lock = out / "envsnap.lock"
    res = cli("rebuild", lock, "--target", "docker", "--bundle", out, "--dry-run")
    assert res.code == 2 and res.err.count("\n") == 1, res
    assert res.err.startswith(
        "envsnap: error: the bundle saved 2 base images (envsnap-base:bookworm, lab/other:1), none of them "
        f"the one the lock chooses ({chosen}): name one with --base-image"
    ), res
    named = cli("rebuild", lock, "--target", "docker", "--bundle", out, "--dry-run", "--base-image=lab/other:1")
    assert named.code == 0 and f"FROM --platform=linux/amd64 {ids['lab/other:1']} AS system" in named.out, named
    out, ids = _bundle_with_saved_bases(tmp_path / "2", cli, "lab/other:1", chosen)
    lock = out / "envsnap.lock"
    res = cli("rebuild", lock, "--target", "docker", "--bundle", out, "--dry-run")
    assert res.code == 0 and f"FROM --platform=linux/amd64 {ids[chosen]} AS system" in res.out, res
    assert f"# Base: {chosen} (chosen by bundle;" in res.out, res


@pytest.mark.parametrize(
    ("raised", "said"),
    [
        ("refused", "the Docker engine could not save base:1 (500 Server Error"),
        ("gone", "the Docker engine stopped answering while saving base:1"),
    ],
)
def test_a_base_image_save_the_engine_refuses_is_not_said_to_have_stopped_answering(
    tmp_path: Path, raised: str, said: str
) -> None:
    """The engine's own refusal to save the image (a full disk of its own, an image removed meanwhile) was reported
    as "the Docker engine stopped answering while saving", which sent the user to restart an engine that was
    answering; that line is for a transport that broke, the engine's answer is named as it is."""
    from types import SimpleNamespace

    import docker
    import requests

    def save(named: object) -> Any:
        if raised == "refused":
            response = SimpleNamespace(status_code=500, reason="Server Error", url="http+docker://localhost/x")
            raise docker.errors.APIError("no space left on device", response=response)  # type: ignore[arg-type]
        raise requests.ConnectionError("Connection aborted.")

    engine = SimpleNamespace(
        api=SimpleNamespace(timeout=10),
        images=SimpleNamespace(get=lambda _id: SimpleNamespace(attrs={"Size": 1}, save=save)),
    )
    facts = ImageFacts(image_id="sha256:" + "a" * 64, repo_digests=(), env={}, architecture="amd64")
    with pytest.raises(RebuildError) as caught:
        _docker_engine.save_image(engine, "base:1", facts, tmp_path, lambda _line: None)  # type: ignore[arg-type]
    assert str(caught.value).startswith(said), caught.value
    assert "nothing was written" in str(caught.value)
    assert not list((tmp_path / "images").iterdir())


def test_a_damaged_saved_image_the_rebuild_does_not_build_on_stops_only_the_audit(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A bundle holding two saved images, one of them damaged (its .json pins another image than its archive, the
    bundle's SHA256SUMS written with it): every rebuild of the bundle was refused, the one on the sound image too,
    since the plan checked every saved image. The rebuild on the sound one goes on; the one on the damaged image
    is refused, and the audit of the bundle still names the damaged one."""
    out, ids = _bundle_with_saved_bases(tmp_path, cli, "envsnap-base:bookworm", "lab/other:1")
    damaged = out / "images" / "lab_other_1.json"
    damaged.write_text(damaged.read_text().replace(ids["lab/other:1"], "sha256:" + "8" * 64))
    bundle.Bundle(out).write_sums()
    lock = out / "envsnap.lock"
    args = ("rebuild", lock, "--target", "docker", "--bundle", out, "--dry-run")
    sound = cli(*args, "--base-image=envsnap-base:bookworm")
    assert sound.code == 0, sound
    assert f"FROM --platform=linux/amd64 {ids['envsnap-base:bookworm']} AS system" in sound.out, sound
    bad = cli(*args, "--base-image=lab/other:1")
    assert bad.code == 2 and "lab_other_1.tar" in bad.err and bad.err.count("\n") == 1, bad
    audited = cli("audit", out)
    assert audited.code == 2 and "lab_other_1.tar" in audited.err, audited


def _bundle_saved_by_id(root: Path) -> str:
    """A bundle folder holding one stand-in base image saved by its id (``--with-base-image --base-image sha256:ID``);
    that id."""
    images = root / "images"
    images.mkdir(parents=True)
    config = b'{"architecture": "amd64", "by": "id"}'
    image_id = "sha256:" + hashlib.sha256(config).hexdigest()
    name = _docker_engine._image_file(image_id)
    assert _saved_image(images / name, config) == image_id
    (images / name).with_suffix(".json").write_text(
        '{"reference": "' + image_id + '", "id": "' + image_id + '", "repo_digests": [], "env": {}, '
        '"architecture": "amd64"}'
    )
    return image_id


class _FakeEngine:
    """The calls ``load_bundled_image`` makes of the Docker SDK's low-level client: an engine holding the images
    ``held`` names (tags and ids, each to its id)."""

    def __init__(self, *held: str) -> None:
        self.held = {image_id: image_id for image_id in held}
        self.api = self
        self.timeout = 60

    def inspect_image(self, reference: str) -> dict[str, Any]:
        import docker

        if reference not in self.held:
            raise docker.errors.ImageNotFound(reference)
        return {"Id": self.held[reference], "RepoDigests": [], "Config": {}, "Architecture": "amd64"}

    def load_image(self, data: Any, quiet: bool = True) -> list[dict[str, str]]:
        import tarfile

        with tarfile.open(fileobj=data, mode="r|") as tar:
            for member in tar:
                if member.name == "config.json":
                    handle = tar.extractfile(member)
                    assert handle is not None
                    image_id = "sha256:" + hashlib.sha256(handle.read()).hexdigest()
                    self.held[image_id] = image_id
        return []

    def tag(self, image: str, repository: str, tag: str) -> None:
        self.held[f"{repository}:{tag}"] = self.held[image]


def test_a_base_saved_by_its_id_is_loaded_and_named_once_as_the_bundles(tmp_path: Path) -> None:
    """A base image the bundle saved by its id (``--base-image sha256:X``): the load said "loading the bundled base
    image sha256:X (sha256:X)" and the rebuild's note "built on sha256:X (sha256:X)", the id twice, and the note did
    not say the image came from the bundle. The id is said once, and the note names the bundle."""
    from types import SimpleNamespace

    from envsnap.rebuild.docker import _built_on

    pytest.importorskip("docker")
    image_id = _bundle_saved_by_id(tmp_path)
    engine = _FakeEngine()
    said: list[str] = []
    _docker_engine.load_bundled_image(engine, tmp_path, image_id, said.append)  # type: ignore[arg-type]
    assert image_id in engine.held, said
    assert said[0] == f"loading the bundled base image {image_id} without its tags", said
    spec = SimpleNamespace(base=SimpleNamespace(reference=image_id, image_id=image_id, pinned=image_id))
    note = _built_on(spec, _docker_engine.inspector(engine), tmp_path)  # type: ignore[arg-type]
    loaded = dockerspec.loaded_tag(image_id)
    assert note == f"built on {loaded} ({image_id}), loaded from the bundle, which saved it by its id", note
    had = _FakeEngine(image_id)  # an engine that had the image already: nothing loaded
    assert _built_on(spec, _docker_engine.inspector(had), tmp_path) == (  # type: ignore[arg-type]
        f"built on image {image_id}, the one the bundle saved by its id"
    )


def test_the_bundle_readme_names_the_base_image_images_holds(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """The bundle's README said `images/` holds "the saved base image" and its size, never which image: a reader
    could not tell the name or id the container rebuild builds on without opening the .json. Its last section names
    each, with the id the bundle pins."""
    out, ids = _bundle_with_saved_bases(tmp_path, cli, "envsnap-base:bookworm", "lab/other:1")
    again = cli("bundle", out / "envsnap.lock", "-o", out, "--offline")  # the README written anew, images/ kept
    assert again.code == 0, again
    readme = (out / "README.md").read_text()
    for reference, image_id in ids.items():
        assert f"- `{reference}` (id `{image_id}`)" in readme, readme
    assert "The saved base images in `images/`" in readme, readme


_FAKE_DOCKER = r"""#!/usr/bin/env python3
# A Docker CLI over a JSON file of tags -> ids and ids: the calls tool/README.md's commands make.
import json, sys
state_file = sys.argv[0] + ".json"
state = json.load(open(state_file))
args = sys.argv[1:]
with open(sys.argv[0] + ".log", "a") as log:
    log.write(" ".join(args) + "\n")
def find(ref):
    return ref if ref in state["ids"] else state["tags"].get(ref)
if args[:2] == ["image", "inspect"]:
    found = find(args[-1])
    if found is None:
        sys.exit("Error: No such image: " + args[-1])
    print(found if "--format" in args else json.dumps([{"Id": found}]))
elif args[:2] == ["load", "-i"]:
    saved = json.load(open(args[2]))  # the stand-in archive: the image's id and the tags it was saved with
    state["ids"].append(saved["id"])
    state["tags"].update({tag: saved["id"] for tag in saved["tags"]})
elif args[0] == "tag":
    state["tags"][args[2]] = find(args[1])
elif args[0] == "rmi":
    del state["tags"][args[1]]  # the image keeps its other tag
else:
    sys.exit("unexpected: " + " ".join(args))
json.dump(state, open(state_file, "w"))
"""


@pytest.mark.parametrize("had", ["other", "none", "same"])
def test_the_context_readme_loads_the_saved_base_without_taking_a_tag_of_the_users(tmp_path: Path, had: str) -> None:
    """tool/README.md's hand build loaded the bundle's saved base with ``docker load -i BUNDLE/images/NAME.tar``,
    which tags NAME as the bundle saved it: an image of the user's under NAME lost the tag (envsnap's own load strips
    the tags), and the README said an engine that had the image "loads nothing new", untrue where NAME names
    another image. Its commands, run against an engine holding another image as NAME, none, or the saved image,
    leave NAME where it was and the saved image in the engine, and load nothing where the engine has it."""
    saved_id, other_id = "sha256:" + "5" * 64, "sha256:" + "6" * 64
    base = "lab/base:1"
    look = {base: baseimage.ImageFacts(image_id=saved_id, architecture="amd64", bundled=True)}
    spec = dockerspec.make_spec(cpu_lock(), dockerspec.DockerOptions(base_image=base), look.get)
    name = _docker_engine._image_file(base)
    files = dockerspec.render_context(spec, b"", saved_base=f"images/{name}")
    readme = files["tool/README.md"].decode()
    block = readme.split("\n\n    ", 1)[1].split("\n\n", 1)[0].split("\n    ")
    load = block[: next(i for i, line in enumerate(block) if line.startswith("cp "))]
    bundle_dir = tmp_path / "the bundle"  # a space: the commands quote the path given for BUNDLE
    (bundle_dir / "images").mkdir(parents=True)
    (bundle_dir / "images" / name).write_text(json.dumps({"id": saved_id, "tags": [base]}))
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "docker").write_text(_FAKE_DOCKER)
    (tools / "docker").chmod(0o755)
    tags = {"other": {base: other_id}, "none": {}, "same": {base: saved_id}}[had]
    ids = {"other": [other_id], "none": [], "same": [saved_id]}[had]
    (tools / "docker.json").write_text(json.dumps({"tags": tags, "ids": ids}))
    script = "\n".join(load).replace("BUNDLE", shlex.quote(str(bundle_dir)))
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["sh", "-ec", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (script, done.stderr)
    state = json.loads((tools / "docker.json").read_text())
    assert saved_id in state["ids"], (script, state)
    assert state["tags"].get(base) == tags.get(base), (script, state)  # the user's tag is where it was
    calls = (tools / "docker.log").read_text()
    assert ("load -i" in calls) == (had != "same"), calls
    assert "loads nothing new" not in readme, readme
    # The tag the commands give the loaded image is the one envsnap's own load gives it (`spec.loaded_tag`).
    assert dockerspec.loaded_tag(saved_id) in readme, readme
