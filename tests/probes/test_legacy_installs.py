"""Distributions installed without a wheel's RECORD: setuptools' ``.egg-info`` folders (legacy ``setup.py install``,
Debian's ``python3-*`` packages) and zipped ``.egg`` files on sys.path."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest
from testutil import site_packages

from envsnap import _runner, capture
from envsnap._privacy import PathRedactor
from envsnap.probes import _pyprobe, conda, hostlibs, python, system
from envsnap.probes.interface import CaptureOptions, ProbeContext, ProbeResult, RawPython

REQUIRES_TXT = """\
six>=1.10
numpy @ https://example.org/numpy-1.0.tar.gz

[:python_version < "3.8"]
importlib-metadata

[test]
pytest>=7

[win:sys_platform == "win32"]
pywin32
"""


def _egg_info(site: Path, name: str, version: str, files: dict[str, str] | None = None) -> Path:
    folder = site / f"{name}-{version}-py3.11.egg-info"
    folder.mkdir(parents=True)
    (folder / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    for file_name, text in (files or {}).items():
        (folder / file_name).write_text(text)
    return folder


def _read(site: Path, entry: str) -> dict[str, object]:
    return _pyprobe._dist_info(str(site), entry, _pyprobe._Layout())


def test_an_egg_infos_requires_txt_gives_its_requires_dist_as_importlib_metadata_does(tmp_path: Path) -> None:
    """``requires.txt`` holds an egg-info's requirements (its PKG-INFO has no Requires-Dist): a Legacy-Proj that
    requires six showed none, so ``show``, the exports and the SBOM listed no dependency."""
    folder = _egg_info(tmp_path, "Legacy_Proj", "1.0", {"requires.txt": REQUIRES_TXT})
    info = _read(tmp_path, folder.name)
    expected = importlib.metadata.PathDistribution(folder).requires
    assert expected is not None and "six>=1.10" in expected
    # importlib.metadata leaves a space after a URL requirement without a condition; a lock has none
    assert info["requires_dist"] == sorted(r.strip() for r in expected)
    assert 'pywin32; (sys_platform == "win32") and extra == "win"' in expected


def test_a_comment_in_requires_txt_is_no_requirement(tmp_path: Path) -> None:
    """importlib.metadata keeps it as one (``# pinned; extra == "x"``); pkg_resources and pip drop it."""
    folder = _egg_info(tmp_path, "Commented", "1.0", {"requires.txt": "# pinned\nsix\n[x]\n# pinned too\nattrs\n"})
    assert _read(tmp_path, folder.name)["requires_dist"] == ['attrs; extra == "x"', "six"]


def test_requires_dist_in_pkg_info_wins_over_requires_txt(tmp_path: Path) -> None:
    folder = _egg_info(tmp_path, "Newer", "2.0", {"requires.txt": "six\n"})
    with (folder / "PKG-INFO").open("a") as handle:
        handle.write("Requires-Dist: six>=1\n")
    assert _read(tmp_path, folder.name)["requires_dist"] == ["six>=1"]


def _zipped_egg(folder: Path, name: str, version: str, requires: str = "") -> Path:
    egg = folder / f"{name}-{version}-py3.11.egg"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(egg, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("EGG-INFO/PKG-INFO", f"Metadata-Version: 1.1\nName: {name}\nVersion: {version}\n")
        if requires:
            archive.writestr("EGG-INFO/requires.txt", requires)
        archive.writestr(f"{name.lower()}/__init__.py", "VALUE = 42\n")
    return egg


def test_a_zipped_egg_on_sys_path_is_recorded_and_a_damaged_one_is_a_warning(
    make_venv: Callable[..., Path], tmp_path: Path
) -> None:
    """A ``.pth`` naming a zipped ``NAME-VER-pyX.Y.egg`` (easy_install's default): the interpreter imports from it,
    and the lock had no entry for it (only ``.egg`` folders were read). A damaged one is skipped with a warning."""
    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    eggs = tmp_path / "eggs"
    egg = _zipped_egg(eggs, "ZipEgg", "1.3", requires="six\n[test]\npytest\n")
    damaged = eggs / "Damaged-0.1-py3.11.egg"
    damaged.write_bytes(b"PK\x03\x04 cut short")
    (site / "easy-install.pth").write_text(f"{egg}\n{damaged}\n")
    imported = subprocess.run([str(python), "-c", "import zipegg; print(zipegg.VALUE)"], capture_output=True, text=True)
    assert imported.stdout.strip() == "42"
    snap = capture(str(python))
    found = snap.package("zipegg")
    assert found is not None and (found.version, found.metadata_name) == ("1.3", "ZipEgg")
    assert found.requires_dist == ('pytest; extra == "test"', "six") and found.record_digest == ""
    assert snap.package("damaged") is None
    warnings = "\n".join(snap.envsnap.warnings)
    assert "Damaged-0.1-py3.11.egg/EGG-INFO: not a readable zipped egg (BadZipFile" in warnings


def test_a_zipped_egg_holding_a_compiled_module_is_said_to_hold_native_code(
    make_venv: Callable[..., Path], tmp_path: Path
) -> None:
    """A zipped egg with a compiled extension (setuptools' ``bdist_egg`` of a C extension: the ``.so``, a ``.py``
    stub that unpacks it into the egg cache, ``EGG-INFO/native_libs.txt``): the lock recorded it as a plain
    distribution with no shared object and no word of its native code, though nothing rebuilds that egg as it is
    (a rebuild installs a wheel of that name and version, if an index has one)."""
    import sysconfig

    python = make_venv(tmp_path / "venv")
    compiled = next(Path(sysconfig.get_path("platstdlib"), "lib-dynload").glob("_json.*.so"))
    egg = tmp_path / "eggs" / "NativeEgg-2.0-py3.11-linux-x86_64.egg"
    egg.parent.mkdir()
    with zipfile.ZipFile(egg, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("EGG-INFO/PKG-INFO", "Metadata-Version: 1.1\nName: NativeEgg\nVersion: 2.0\n")
        archive.writestr("EGG-INFO/native_libs.txt", f"nativeegg/{compiled.name}\n")
        archive.writestr("nativeegg/__init__.py", "")
        archive.write(compiled, f"nativeegg/{compiled.name}")
    (site_packages(python) / "easy-install.pth").write_text(f"{egg}\n")
    snap = capture(str(python))
    found = snap.package("nativeegg")
    assert found is not None and found.version == "2.0"
    said = [w for w in snap.envsnap.warnings if w.startswith("python: nativeegg: ")]
    assert said == [
        f"python: nativeegg: a zipped egg holding native code (nativeegg/{compiled.name}): its shared objects are "
        "not recorded, and a rebuild cannot reproduce the egg as it is (it installs a wheel of this name and "
        "version)"
    ], snap.envsnap.warnings


def test_a_zipped_eggs_metadata_is_read_bounded(tmp_path: Path) -> None:
    egg = tmp_path / "Big-1.0-py3.11.egg"
    with zipfile.ZipFile(egg, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("EGG-INFO/PKG-INFO", "Name: Big\nVersion: 1.0\n" + "x" * (2 << 20))
    with pytest.raises(ValueError, match="larger than"):
        _read(egg, "EGG-INFO")
    with zipfile.ZipFile(egg, "w") as archive:
        archive.writestr("big/__init__.py", "")
    with pytest.raises(ValueError, match="no EGG-INFO/PKG-INFO"):
        _read(egg, "EGG-INFO")


def _context(raw: RawPython, database: hostlibs.PackageDatabase) -> ProbeContext:
    def no_runner(args: Sequence[str], *, timeout: float, env: object = None) -> _runner.Result:
        raise AssertionError("nothing is run")

    facts: Future[tuple[hostlibs.PackageDatabase, hostlibs.Loader]] = Future()
    facts.set_result((database, hostlibs.Loader.for_host()))
    ctx = ProbeContext(
        CaptureOptions(),
        {},
        python=lambda: raw,
        redactor=lambda raw: PathRedactor(),
        system=facts,
        project_root=None,
        runner=no_runner,
    )
    no_conda: Future[ProbeResult[object]] = Future()
    no_conda.set_result(ProbeResult(None))
    ctx.start(conda.PROBE, no_conda)
    return ctx


def _raw(prefix: str, *infos: dict[str, object]) -> RawPython:
    answer = {
        "prefix": prefix,
        "implementation": "cpython",
        "version": "3.11.2",
        "abi": "cp311",
        "packages": list(infos),
    }
    return RawPython.from_json(answer)


def test_an_egg_info_without_a_file_list_gets_its_shared_objects_from_the_dpkg_package_owning_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Debian's python3-numpy installs ``numpy-1.24.2.egg-info`` with neither RECORD nor installed-files.txt: no
    extension module of it was read, and the lock named none of the libraries they load (libblas, liblapack), so
    ``check`` could not warn of a host without them. The files of the dpkg package owning the egg-info, in its
    top-level modules, are its shared objects; another package's file in a shared namespace is not."""
    site = tmp_path / "usr" / "lib" / "python3" / "dist-packages"
    egg = _egg_info(site, "Fake", "1.0", {"top_level.txt": "fake\n_fakeext\n"})
    mine = [
        f"{site}/fake/core/_multi.cpython-311-x86_64-linux-gnu.so",
        f"{site}/_fakeext.cpython-311-x86_64-linux-gnu.so",
    ]
    info_dir = tmp_path / "dpkg-info"
    info_dir.mkdir()
    (info_dir / "python3-fake.list").write_text(
        "\n".join([str(site), str(egg), f"{egg}/PKG-INFO", f"{site}/fake", f"{site}/fake/__init__.py", *mine]) + "\n"
    )
    # A plug-in package shipping a module inside the same top-level folder: not Fake's.
    (info_dir / "python3-fake-plugin:amd64.list").write_text(f"{site}/fake/plugin/_p.cpython-311-x86_64-linux-gnu.so\n")
    monkeypatch.setattr(hostlibs, "DPKG_INFO", str(info_dir))
    info = _read(site, egg.name)
    assert info["shared_objects"] == [] and info["top_level"] == ["_fakeext", "fake"]
    ctx = _context(_raw("/usr", info), hostlibs.PackageDatabase(manager="dpkg"))
    assert system.shared_objects_of(ctx) == {"fake": tuple(sorted(mine))}
    # Not owned by any package (a legacy install nobody packaged): nothing is guessed.
    (info_dir / "python3-fake.list").write_text("\n".join(mine) + "\n")
    assert system.shared_objects_of(_context(_raw("/usr", info), hostlibs.PackageDatabase(manager="dpkg"))) == {}


def test_a_distribution_a_dpkg_package_installed_names_that_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Debian's python3-six (``six-1.16.0.egg-info``) and python3-yaml (``PyYAML-6.0.dist-info``, a RECORD, no
    INSTALLER) were recorded as index installs, tied to no package: pin took PyPI's sdist for Debian's build. Each
    names the dpkg package whose list holds its metadata folder; one pip installed there, or no package owns, none."""
    site = tmp_path / "usr" / "lib" / "python3" / "dist-packages"
    six = _egg_info(site, "six", "1.16.0", {"top_level.txt": "six\n"})
    (site / "six.py").write_text("")
    yaml = site / "PyYAML-6.0.dist-info"
    yaml.mkdir()
    (yaml / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\nSummary: YAML parser\nHome-page: https://pyyaml.org/\n"
        "Author: Kirill Simonov\nLicense: MIT\nProject-URL: Source, https://github.com/yaml/pyyaml\n\n"
        "Summary: not a header\n"
    )
    (yaml / "WHEEL").write_text("Wheel-Version: 1.0\nTag: cp311-cp311-linux_x86_64\n")
    (yaml / "RECORD").write_text("PyYAML-6.0.dist-info/METADATA,,\nPyYAML-6.0.dist-info/RECORD,,\n")
    by_pip = site / "pipped-1.0.dist-info"
    by_pip.mkdir()
    (by_pip / "METADATA").write_text("Metadata-Version: 2.1\nName: pipped\nVersion: 1.0\n")
    (by_pip / "INSTALLER").write_text("pip\n")
    (by_pip / "RECORD").write_text("pipped-1.0.dist-info/METADATA,,\n")
    loose = _egg_info(site, "loose", "2.0")  # a setup.py install no package owns
    info_dir = tmp_path / "dpkg-info"
    info_dir.mkdir()
    (info_dir / "python3-six.list").write_text(f"{site}\n{six}\n{six}/PKG-INFO\n{site}/six.py\n")
    (info_dir / "python3-yaml:amd64.list").write_text(f"{site}\n{yaml}\n{yaml}/METADATA\n")
    (info_dir / "python3-pipped.list").write_text(f"{by_pip}\n")  # pip overwrote a package's files: pip's now
    monkeypatch.setattr(hostlibs, "DPKG_INFO", str(info_dir))
    infos = [_read(site, entry.name) for entry in (six, yaml, by_pip, loose)]
    ctx = _context(_raw("/usr", *infos), hostlibs.PackageDatabase(manager="dpkg"))
    env = python.probe(ctx).value
    assert {p.name: p.system_package for p in env.packages} == {
        "six": "python3-six",
        "pyyaml": "python3-yaml",
        "pipped": "",
        "loose": "",
    }
    # What says which project each is, for pin to compare with the index's file of its name (a namesake is not it).
    assert {p.name: p.identity for p in env.packages} == {
        "six": (),
        "pyyaml": (
            "Summary: YAML parser",
            "Home-page: https://pyyaml.org/",
            "Author: Kirill Simonov",
            "Project-URL: Source, https://github.com/yaml/pyyaml",
        ),
        "pipped": (),
        "loose": (),
    }
    # Without dpkg (another distribution, a container without its database) nothing is looked up or guessed.
    env = python.probe(_context(_raw("/usr", *infos), hostlibs.PackageDatabase(manager=""))).value
    assert {p.system_package for p in env.packages} == {""}


def test_a_distribution_with_a_file_list_is_not_looked_up_in_the_package_database(tmp_path: Path) -> None:
    """A RECORD, or pip's installed-files.txt of a legacy install (paths relative to the egg-info), lists the
    shared objects: nothing more is read for it."""
    egg = _egg_info(
        tmp_path,
        "Legacy",
        "2.0",
        {
            "installed-files.txt": "../legacy/__init__.py\n../legacy/_speedups.cpython-311-x86_64-linux-gnu.so\n",
            "top_level.txt": "legacy\n",
        },
    )
    info = _read(tmp_path, egg.name)
    assert info["shared_objects"] == [str(tmp_path / "legacy" / "_speedups.cpython-311-x86_64-linux-gnu.so")]
    assert "top_level" not in info


@pytest.mark.parametrize(("prefix", "counted"), [("/usr", False), ("/", False), ("/opt/conda/envs/x", True)])
def test_the_prefix_of_the_systems_own_interpreter_holds_system_libraries(prefix: str, counted: bool) -> None:
    """With Debian's /usr/bin/python3 (prefix /usr) every library under /usr was taken for the environment's: the
    lock of a host with python3-cryptography recorded no libssl3 ("0 needed by Python packages")."""
    roots = system.environment_roots(_context(_raw(prefix), hostlibs.PackageDatabase(manager="")))
    assert (prefix in roots) is counted


DEBIAN_PYTHON = "/usr/bin/python3.11"


@pytest.mark.skipif(
    not (os.path.exists(DEBIAN_PYTHON) and os.path.exists("/var/lib/dpkg/info/python3-numpy.list")),
    reason="needs Debian's python3.11 with apt's python3-numpy",
)
def test_debians_python3_numpy_records_the_blas_it_loads() -> None:
    """The real case: ``apt-get install python3-numpy`` and a capture of /usr/bin/python3.11."""
    snap = capture(DEBIAN_PYTHON)
    needed = {lib.soname: lib for lib in snap.system.libraries if "numpy" in lib.needed_by}
    assert "libblas.so.3" in needed and needed["libblas.so.3"].package == "libblas3"
    assert "liblapack.so.3" in needed


@pytest.mark.skipif(
    not (os.path.exists(DEBIAN_PYTHON) and os.path.exists("/var/lib/dpkg/info/python3-six.list")),
    reason="needs Debian's python3.11 with apt's python3-six",
)
def test_debians_python3_six_is_recorded_as_that_package_and_pinnable_as_a_stand_in() -> None:
    """The real case: ``apt-get install python3-six`` and a capture of /usr/bin/python3.11. Its egg-info, no WHEEL
    tags, is not refused from the lock alone: pin takes the index's file of that release in its place, said so."""
    from envsnap.artifacts.pin import untagged_reason

    snap = capture(DEBIAN_PYTHON)
    (six,) = [p for p in snap.python.packages if p.name == "six"]
    assert (six.installer, six.system_package) == ("", "python3-six")
    assert "python3-six" in {p.name for p in snap.system.packages}
    assert untagged_reason(six, False) == ""


def _git_project(root: Path, setup_py: str, package_dir: str = "") -> Path:
    """A setup.py-only project (no pyproject.toml) in a git work tree, its package ``legacy_pkg`` in
    ``package_dir``."""
    code = root / package_dir / "legacy_pkg" if package_dir else root / "legacy_pkg"
    code.mkdir(parents=True)
    (code / "__init__.py").write_text("VALUE = 7\n")
    (root / "setup.py").write_text(setup_py)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


@pytest.mark.network  # setuptools < 70, whose ``setup.py develop`` writes the .egg-link, from the index
@pytest.mark.parametrize("layout", ["flat", "src"])
def test_a_setup_py_develop_install_is_an_editable_directory_not_an_index_package(
    make_venv: Callable[..., Path], tmp_path: Path, layout: str
) -> None:
    """``setup.py develop`` (and pip's ``install -e`` of a setup.py-only project before PEP 660) writes no
    .dist-info and no direct_url.json: an ``.egg-link`` in site-packages names the project, an ``easy-install.pth``
    line puts it on sys.path, and its ``*.egg-info`` stays in it. It was recorded as an index install, so ``bundle``
    refused it ("cannot be identified") and verify took it for a PyPI package; pip's ``list -e`` reads the .egg-link.
    It is the project's folder (where setup.py is, not ``src/``), under ``{project}``, as a modern editable
    install's direct_url.json is recorded."""
    python = make_venv(tmp_path / "venv", "setuptools<70")
    src = layout == "src"
    package_dir = ", package_dir={'': 'src'}" if src else ""
    setup = f"setup(name='Legacy_Pkg', version='0.3', packages=['legacy_pkg']{package_dir})"
    setup_py = f"from setuptools import setup\n{setup}\n"
    project = _git_project(tmp_path / "my proj", setup_py, "src" if src else "")
    subprocess.run([str(python), "setup.py", "-q", "develop"], cwd=project, check=True, capture_output=True)
    (link,) = site_packages(python).glob("*.egg-link")
    assert (project / "src" if src else project) == Path(link.read_text().splitlines()[0])
    imported = subprocess.run(
        [str(python), "-c", "import legacy_pkg; print(legacy_pkg.VALUE)"], capture_output=True, text=True, cwd=tmp_path
    )
    assert imported.stdout.strip() == "7"
    snap = capture(str(python), str(project))
    found = snap.package("legacy-pkg")
    assert found is not None and (found.version, found.metadata_name) == ("0.3", "Legacy_Pkg")
    assert (found.source.kind, found.source.url, found.source.editable) == ("directory", "file://{project}", True)


def test_an_egg_link_names_the_project_only_for_its_own_distribution(tmp_path: Path) -> None:
    """The .egg-link's first line is the folder holding the .egg-info (``src/``), its second the project's folder
    relative to it; one of another name, or naming another folder, makes no editable install of it."""
    project = tmp_path / "proj"
    site = tmp_path / "site"
    site.mkdir()
    _egg_info(project / "src", "Legacy_Pkg", "0.3")
    _egg_info(tmp_path / "other", "Other", "1.0")
    (site / "Legacy-Pkg.egg-link").write_text(f"{project / 'src'}\n../\n")
    (site / "Other.egg-link").write_text(f"{project / 'src'}\n.\n")  # names a folder without its egg-info
    answer = _pyprobe.probe([str(site), str(project / "src"), str(tmp_path / "other")], split=False)
    by_name = {info["name"]: info for info in answer["packages"]}
    assert by_name["legacy-pkg"]["egg_link"] == str(project)
    assert "egg_link" not in by_name["other"]


def test_a_legacy_editable_install_of_a_git_checkout_in_the_environment_records_its_commit(
    tmp_path: Path, make_venv: Callable[..., Path], cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip install -e git+URL#egg=NAME`` of a project pip builds with ``setup.py develop`` clones it into
    ``{prefix}/src/NAME`` and writes an ``.egg-link`` (no ``direct_url.json``): recorded as that folder, with no
    repository and no commit, as the ``direct_url.json`` of a modern editable install was; now as the checkout."""

    def git(folder: Path, *args: str) -> str:
        ident = ["-c", "user.email=a@example.org", "-c", "user.name=a"]
        done = subprocess.run(["git", *ident, "-C", str(folder), *args], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "setup.py").write_text("from setuptools import setup\nsetup(name='legacy', version='0.3')\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one")
    commit = git(repo, "rev-parse", "HEAD")
    python = make_venv(tmp_path / "venv")
    checkout = tmp_path / "venv" / "src" / "legacy"
    git(tmp_path, "clone", "-q", repo.as_uri(), str(checkout))
    _egg_info(checkout, "legacy", "0.3")
    (checkout / "legacy-0.3-py3.11.egg-info").rename(checkout / "legacy.egg-info")
    site = site_packages(python)
    (site / "legacy.egg-link").write_text(f"{checkout}\n.\n")
    (site / "easy-install.pth").write_text(f"{checkout}\n")

    monkeypatch.chdir(tmp_path)
    result = cli("capture", "--python", python, "-o", "legacy.lock", "--no-cache")
    assert result.code == 0, result  # type: ignore[attr-defined]
    from envsnap import lockfile

    (legacy,) = [p for p in lockfile.load(tmp_path / "legacy.lock").python.packages if p.name == "legacy"]
    assert (legacy.source.kind, legacy.source.url, legacy.source.commit_id) == ("vcs", repo.as_uri(), commit)
    assert legacy.source.editable


def test_an_egg_infos_modules_in_another_site_folder_of_the_interpreter_are_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the interpreter's site folders are split (Fedora's ``lib/.../site-packages`` for pure modules and
    ``lib64/...`` for extension modules: sysconfig's purelib and platlib), a legacy ``.egg-info`` in one names in its
    ``top_level.txt`` a module installed in the other. Only the egg-info's own folder was looked in: the package was
    said gone ("nothing of it imports") and verify of an intact environment said DIFFERENT. Every site folder of the
    interpreter on sys.path is looked in; a module that is in none of them is still gone, and a folder that is no
    site folder of the interpreter (another sys.path entry, where a module of that name may be another's) is not
    looked in."""
    import sysconfig

    lib = tmp_path / "usr" / "lib" / "python3.11" / "site-packages"
    lib64 = tmp_path / "usr" / "lib64" / "python3.11" / "site-packages"
    other = tmp_path / "elsewhere"
    for folder in (lib, lib64, other):
        folder.mkdir(parents=True)
    _egg_info(lib, "splitpkg", "1.0", {"top_level.txt": "splitpkg\n_splitext\n", "SOURCES.txt": "setup.py\n"})
    (lib64 / "splitpkg").mkdir()
    (lib64 / "splitpkg" / "__init__.py").write_text("")
    (lib64 / "_splitext.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    _egg_info(lib, "strayed", "1.0", {"top_level.txt": "strayed\n", "SOURCES.txt": "setup.py\n"})
    (other / "strayed.py").write_text("")
    real = sysconfig.get_paths

    def split_paths(*args: object, **kwargs: object) -> dict[str, str]:
        return dict(real(*args, **kwargs), purelib=str(lib), platlib=str(lib64))  # type: ignore[arg-type]

    monkeypatch.setattr(sysconfig, "get_paths", split_paths)
    answer = _pyprobe.probe([str(lib), str(lib64), str(other)])
    gone = {p["name"]: p.get("missing_top_level", []) for p in answer["packages"]}
    assert gone == {"splitpkg": [], "strayed": ["strayed"]}
    (lib64 / "_splitext.cpython-311-x86_64-linux-gnu.so").unlink()
    assert {p["name"]: p.get("missing_top_level", []) for p in _pyprobe.probe([str(lib), str(lib64)])["packages"]} == {
        "splitpkg": [],  # top_level.txt may name a module never installed: only all of them gone says gone
        "strayed": ["strayed"],
    }
    (lib64 / "splitpkg" / "__init__.py").unlink()
    (lib64 / "splitpkg").rmdir()
    found = {p["name"]: p.get("missing_top_level", []) for p in _pyprobe.probe([str(lib), str(lib64)])["packages"]}
    assert found["splitpkg"] == ["_splitext", "splitpkg"]
