"""The interpreter's Debian packages in a container rebuild on a base without Python: the lock's revision
(``python3.11 3.11.2-6+deb12u6``) is pinned where it can be had (a dated snapshot, a bundled .deb, the base image
offline); where it cannot (the live mirror keeps only a release's newest revision), the plan says so in one line
with the remedy instead of taking the mirror's revision unsaid."""

from __future__ import annotations

import dataclasses
import hashlib
import shlex
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from docker_locks import cpu_lock

from envsnap import lockfile
from envsnap.dockerfile import spec as dockerspec
from envsnap.dockerfile.baseimage import ImageFacts
from envsnap.model import Snapshot, SystemPackage

BASE = "envsnap-base:bookworm"
NO_PYTHON = ImageFacts(image_id="sha256:" + "1" * 64, architecture="amd64")  # a debootstrap'd base
REVISION = "3.11.2-6+deb12u6"
FAMILY = ("python3.11", "python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "python3.11-venv")


def debian_python_lock(pinned: tuple[str, ...] = ()) -> Snapshot:
    """cpu_lock with Debian's python3.11 packages recorded at deb12u6 (``pinned``: with a .deb file by sha256)."""
    lock = cpu_lock()
    extra = []
    for name in FAMILY:
        pkg = SystemPackage("dpkg", name, REVISION, "amd64")
        if name in pinned:
            pkg = dataclasses.replace(
                pkg,
                filename=f"{name}_{REVISION}_amd64.deb",
                size=3,
                sha256=hashlib.sha256(name.encode()).hexdigest(),
                url=f"https://snap.example/{name}.deb",
            )
        extra.append(pkg)
    packages = tuple(sorted((*lock.system.packages, *extra), key=lambda p: (p.name, p.arch)))
    return lockfile.seal(dataclasses.replace(lock, system=dataclasses.replace(lock.system, packages=packages)))


def spec(lock: Snapshot, carried: object = None, offline: bool = False, **options: str) -> dockerspec.DockerSpec:
    return dockerspec.make_spec(
        lock,
        dockerspec.DockerOptions(base_image=BASE, **options),
        lambda _ref: NO_PYTHON,
        carried=carried,  # type: ignore[arg-type]
        offline=offline,
    )


def test_a_dated_snapshot_installs_the_locks_revision_of_the_interpreter() -> None:
    made = spec(debian_python_lock(), apt_snapshot="2025-05-20")
    text = dockerspec.render_dockerfile(made)
    for name in FAMILY:
        assert f"'{name}={REVISION}'" in text, name
    assert "3.11.2-*" not in text
    assert not [n for n in made.notes if n.startswith("interpreter: the lock's python3.11")]


def test_the_live_mirror_keeps_the_glob_and_the_plan_says_which_revision_the_lock_has() -> None:
    made = spec(debian_python_lock())
    text = dockerspec.render_dockerfile(made)
    assert "'python3.11=3.11.2-*'" in text and f"python3.11={REVISION}" not in text
    said = [n for n in made.notes if n.startswith("interpreter: the lock's python3.11")]
    assert said == [
        f"interpreter: the lock's python3.11 {REVISION} (and 4 more of its packages) cannot be had (the live apt "
        "mirror keeps only the newest revision of a release): the build installs the mirror's newest python3.11 "
        "3.11.2 revision, which verify reports; to install the lock's, pass --as-of auto (the snapshot archive), or "
        "`envsnap pin LOCK --base-image envsnap-base:bookworm` then `envsnap bundle LOCK -o BUNDLE "
        "--with-system-packages --base-image envsnap-base:bookworm`"
    ]


def test_offline_the_bundled_debs_install_the_locks_revision_and_the_rest_is_checked_at_it() -> None:
    lock = debian_python_lock(pinned=FAMILY)
    made = spec(lock, carried=lambda p: p.name in FAMILY, offline=True)
    assert sorted(p.name for p in made.debs) == sorted(FAMILY)
    text = dockerspec.render_dockerfile(made)
    assert "apt-get" not in text and f"/opt/envsnap-debs/python3.11_{REVISION}_amd64.deb" in text
    assert not [n for n in made.notes if n.startswith("interpreter: the lock's python3.11")]
    # A bundle whose debs/ lacks them: the base image must have the lock's revision, not any, and the plan says so.
    bare = spec(lock, carried=lambda p: p.name == "libc6", offline=True)
    assert ("python3.11-minimal", REVISION) in bare.expected and ("python3.11", "") not in bare.expected
    said = [n for n in bare.notes if n.startswith("interpreter: the lock's python3.11")]
    assert len(said) == 1 and "is not in the bundle's debs/" in said[0] and "--with-system-packages" in said[0]


def test_the_bundle_carries_every_package_of_the_interpreter_the_build_installs() -> None:
    made = spec(debian_python_lock())
    assert set(dockerspec.interpreter_names(made.base)) == set(FAMILY)


def test_a_lock_without_debians_python_keeps_the_glob_and_says_nothing() -> None:
    made = spec(cpu_lock())
    assert made.base.interpreter.locked == ()
    assert not [n for n in made.notes if n.startswith("interpreter: the lock's python3.11")]
    assert "'python3.11=3.11.2-*'" in dockerspec.render_dockerfile(made)


def test_a_bundle_carrying_some_of_the_interpreter_pins_the_rest_to_the_same_revision() -> None:
    """Its .deb files depend on the rest at their own revision (``python3.11`` on ``python3.11-minimal (=
    3.11.2-6+deb12u6)``): the mirror's newest revision of the rest left dpkg unable to configure them."""
    made = spec(debian_python_lock(pinned=("python3.11",)), carried=lambda p: p.name == "python3.11")
    assert [p.name for p in made.debs] == ["python3.11"]
    assert f"python3.11-minimal={REVISION}" in made.apt_specs and f"python3.11-venv={REVISION}" in made.apt_specs
    assert not [s for s in made.apt_specs if s.startswith("python3.11=")]
    # What the bundle lacks of it is said in one line, with the commands that carry it: the build needs those
    # exact revisions from the mirror, which the live one has only while they are the newest (apt fails otherwise).
    lines = [n for n in made.notes if n.startswith("interpreter: the bundle")]
    assert lines == [
        f"interpreter: the bundle's debs/ carries python3.11 {REVISION} but not python3.11-minimal, "
        "libpython3.11-minimal, libpython3.11-stdlib, python3.11-venv at that revision, which the build then needs "
        "from the apt mirror (the live one has it only while it is the newest); "
        f"`envsnap pin LOCK --base-image {BASE}` then `envsnap bundle LOCK -o BUNDLE --with-system-packages "
        f"--base-image {BASE}` carries them"
    ], made.notes


def test_the_bundled_debs_go_to_apt_with_the_pinned_rest_so_they_satisfy_its_exact_dependencies() -> None:
    """``python3.11-venv=REV`` depends on ``python3.11 (= REV)``, which the bundle carries: the Dockerfile ran
    ``apt-get install`` of the pinned rest before ``dpkg -i`` of the bundled .deb files, so apt resolved that
    dependency against the mirror (whose live copy has moved on) and the build failed. The bundled files are now
    handed to apt in the same transaction, and no dpkg step comes after it."""
    made = spec(debian_python_lock(pinned=("python3.11",)), carried=lambda p: p.name == "python3.11")
    text = dockerspec.render_dockerfile(made)
    assert "dpkg -i" not in text
    [install] = [part for part in text.split("\nRUN ")[1:] if "apt-get install" in part]
    words = install.split("apt-get install", 1)[1].split("&& apt-get clean", 1)[0].replace("\\\n", " ").split()
    deb = f"/opt/envsnap-debs/python3.11_{REVISION}_amd64.deb"
    assert words[:4] == ["-y", "--no-install-recommends", "--allow-downgrades", deb], words
    assert f"'python3.11-venv={REVISION}'" in words and f"'python3.11-minimal={REVISION}'" in words
    assert text.index("COPY debs/ /opt/envsnap-debs/") < text.index("apt-get install")
    assert "rm -rf /var/lib/apt/lists/* /opt/envsnap-debs\n" in install
    # Offline, nothing comes from apt: the bundled files alone, by dpkg, as before.
    offline = dockerspec.render_dockerfile(
        spec(debian_python_lock(pinned=FAMILY), carried=lambda p: p.name in FAMILY, offline=True)
    )
    assert "apt-get" not in offline and "RUN dpkg -i \\\n" in offline


def test_a_build_with_no_network_names_the_commands_that_carry_what_it_would_install_from_apt() -> None:
    """``--option network=none`` on a base without Python, the bundle holding no .deb files: the refusal said to run
    ``envsnap bundle --with-system-packages`` and "rebuild with --offline", though the rebuild had ``--offline``; that
    bundle, made for the base the lock chooses (one with Python), carried no interpreter package, and without
    ``envsnap pin`` no package at all (a bundle carries the pinned ones). It names the commands that carry them for
    this base, as the plan's ``network`` line does, and says ``--offline`` only where it was not given."""
    import pytest

    from envsnap.rebuild.interface import BadOptionError

    carry = (
        f"`envsnap pin LOCK --base-image {BASE} && envsnap bundle LOCK -o BUNDLE --with-system-packages "
        f"--base-image {BASE}`"
    )
    for offline in (True, False):
        with pytest.raises(BadOptionError) as raised:
            spec(debian_python_lock(), offline=offline, network="none")
        said = str(raised.value)
        assert said.startswith("--option network=none: the build installs"), said
        assert carry in said, said
        assert ("--offline" in said) == (not offline), said


def test_the_dockerfile_keeps_no_path_of_the_authors_machine_and_the_terminal_gets_the_given_ones() -> None:
    """The plan's note names the lock and bundle the user gave (pasted, it runs); the Dockerfile, which holds the
    notes as comments, keeps the placeholders: a path of this machine is no part of an image's recipe, and the
    author's lock and the bundle's own built two Dockerfiles for one image."""
    made = dockerspec.make_spec(
        debian_python_lock(),
        dockerspec.DockerOptions(base_image=BASE),
        lambda _ref: NO_PYTHON,
        named=("'/home/me/my env.lock'", "'/home/me/my B'", "", ""),
    )
    text = dockerspec.render_dockerfile(made)
    assert "/home/me" not in text and "`envsnap pin LOCK --base-image" in text
    [shown] = [n for n in dockerspec.shown_notes(made) if n.startswith("interpreter: the lock's python3.11")]
    assert (
        f"`envsnap pin '/home/me/my env.lock' --base-image {BASE}` then `envsnap bundle '/home/me/my env.lock' -o "
        f"'/home/me/my B' --with-system-packages --base-image {BASE}`"
    ) in shown, shown


def test_a_rebuild_of_a_bundle_archive_names_commands_that_run_pasted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive given as the lock (``rebuild 'my B.tar.gz' --target docker``): its notes named ``envsnap pin 'my
    B.tar.gz'`` and ``envsnap bundle 'my B.tar.gz'``, which refuse an archive (a bundle, not a lock). They unpack it
    first and pin the lock it unpacks beside its folder, as for a bundle folder."""
    from envsnap.artifacts.bundle import Bundle, open_bundle
    from envsnap.rebuild import docker as docker_target
    from envsnap.rebuild.interface import RebuildRequest

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "my B"
    folder.mkdir()
    lock = debian_python_lock()
    lockfile.dump(lock, folder / "envsnap.lock")
    Bundle(folder).write_sums()
    with tarfile.open("my B.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname="my B")
    shutil.rmtree(folder)
    opened = open_bundle("my B.tar.gz", tmp_path / "unpacked")
    request = RebuildRequest(
        lock=opened.lock, lock_path=Path("my B.tar.gz"), dest=tmp_path / "ctx", target="docker", bundle_dir=opened.root
    )
    made = dockerspec.make_spec(
        lock, dockerspec.DockerOptions(base_image=BASE), lambda _ref: NO_PYTHON, named=docker_target._named(request)
    )
    [shown] = [n for n in dockerspec.shown_notes(made) if n.startswith("interpreter: the lock's python3.11")]
    commands = shown.split("`")[1::2]
    assert commands, shown
    pasted = " && ".join(commands)
    subprocess.run(["bash", "-n", "-c", pasted], check=True)
    words = shlex.split(pasted)
    assert words[:6] == ["tar", "-xf", "my B.tar.gz", "-C", ".", "&&"], words
    assert words[6:11] == ["envsnap", "pin", "my B/envsnap.lock", "-o", "my B.pinned.lock"], words
    assert "envsnap bundle 'my B.pinned.lock' -o 'my B.tar.gz' --with-system-packages" in shown, shown
    assert "LOCK" not in words and "BUNDLE" not in words, words
