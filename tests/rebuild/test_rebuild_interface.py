"""The rebuilder family: discovery, plans, the preflight, and bad input."""

from __future__ import annotations

import dataclasses
import json
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import counting_runs

from envsnap import lockfile
from envsnap.errors import BadBundleError, RebuildError
from envsnap.model import Artifact, Platform, Project, PythonEnv, PythonPackage, Snapshot, Source
from envsnap.rebuild import Plan, PlanItem, Rebuilder, get, rebuild, rebuilders
from envsnap.rebuild._preflight import preflight
from envsnap.rebuild.interface import PlanData
from envsnap.rebuild.venv import find_interpreter, interpreter_version


def _this_python_lock(*packages: PythonPackage) -> Snapshot:
    found = interpreter_version(sys.executable)
    assert found is not None
    return Snapshot(python=PythonEnv(implementation=found[1], version=found[0], packages=packages))


def test_targets_are_discovered_from_modules() -> None:
    table = rebuilders()
    assert "venv" in table and isinstance(table["venv"], Rebuilder)
    assert get("venv").name == "venv"


def test_the_venv_target_is_found_without_importing_the_others() -> None:
    """``rebuild --target venv`` imported the docker and conda targets (Jinja2, the Dockerfile spec: 0.17 s of
    CPU) to find the venv target by name; a target named like its module is imported alone."""
    import subprocess

    code = (
        "import sys; from envsnap.rebuild import get; from envsnap.rebuild._registry import REGISTRY; "
        "t = get('venv'); print(t.name, sorted(m for m in sys.modules if m.startswith('envsnap.rebuild.')) ); "
        "print(t is REGISTRY['venv'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    first, second = out.splitlines()
    assert first.startswith("venv ") and "envsnap.rebuild.docker" not in first and "envsnap.rebuild.conda" not in first
    assert second == "True"  # the same member the whole table holds


@dataclasses.dataclass(frozen=True)
class Facts(PlanData):
    shown: tuple[tuple[str, str], ...]

    def display(self) -> dict[str, str]:
        return dict(self.shown)


def test_plan_text_is_deterministic() -> None:
    plan = Plan(
        target="venv",
        lock_path="envsnap.lock",
        dest="/x/env",
        offline=True,
        items=(PlanItem("python", "numpy", "2.0.0", "wheels/numpy.whl", "sha256:ab", "note"),),
        steps=("create", "install"),
        notes=("compatibility check passed",),
        data=Facts((("python", "3.11.7"), ("installer", "uv"))),
    )
    text = plan.describe()
    assert text == dataclasses.replace(plan).describe()
    assert text.splitlines() == [
        "rebuild plan: venv -> /x/env",
        "  lock: envsnap.lock",
        "  installer: uv",
        "  python: 3.11.7",
        "  offline: yes (no network; everything from the bundle)",
        "  note: compatibility check passed",
        "  steps:",
        "    1. create",
        "    2. install",
        "  items (1):",
        "    python: numpy 2.0.0 <- wheels/numpy.whl [sha256:ab] (note)",
    ]


def test_preflight_records_its_verdict() -> None:
    notes = preflight(_this_python_lock(), target="venv", python=sys.executable, force=False)
    assert len(notes) == 1 and "compatibility check" in notes[0]


def test_a_dry_run_the_check_fails_exits_3_with_the_plan_and_the_verdict(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A dry run used as a CI gate: the plan is printed, its ``check`` says why, and the exit status is the check's
    (it exited 0 on a host that cannot run the lock, with the failure only in a note)."""
    other = "x86_64" if platform.machine() == "aarch64" else "aarch64"
    lock = dataclasses.replace(_this_python_lock(), platform=Platform(system="Linux", machine=other))
    lock_path = lockfile.dump(lock, tmp_path / "other.lock")
    args = ("rebuild", lock_path, "--dest", tmp_path / "env", "--python", sys.executable, "--dry-run")
    why = f"machine: Linux {platform.machine()} (run on an {other} host: the locked binaries are built for it)"
    text = cli(*args)
    assert text.code == 3, text.err
    assert text.out.startswith("rebuild plan: venv -> ") and "  check: failed (platform)\n" in text.out
    assert text.err.splitlines() == [
        f"envsnap: error: compatibility check failed: {why} (the plan is printed; run `envsnap check {lock_path} "
        f"--target venv --python {sys.executable}` for details, or pass --force to rebuild anyway)"
    ]
    as_json = cli(*args, "--json")
    assert as_json.code == 3
    check = json.loads(as_json.out)["check"]
    assert (check["status"], check["verdict"], check["failed_rules"], check["reason"]) == (
        "failed",
        "incompatible",
        ["platform"],
        why,
    )
    assert [(f["rule"], f["component"], f["severity"]) for f in check["failures"]] == [("platform", "machine", "fail")]
    # --force: the plan of the rebuild that would go on, the override recorded, exit 0 as that rebuild would begin.
    forced = cli(*args, "--json", "--force")
    assert forced.code == 0 and forced.err == ""
    check = json.loads(forced.out)["check"]
    assert (check["status"], check["failed_rules"]) == ("overridden", ["platform"])
    assert "  check: overridden with --force (platform)\n" in cli(*args, "--force").out
    # A host that passes: status passed, no failures, exit 0.
    fine = cli("rebuild", lockfile.dump(_this_python_lock(), tmp_path / "l.lock"), *args[2:], "--json")
    assert fine.code == 0
    check = json.loads(fine.out)["check"]
    assert (check["status"], check["failed_rules"], check["failures"], check["reason"]) == ("passed", [], [], "")
    assert not (tmp_path / "env").exists()


def test_interpreter_of_the_locked_version(tmp_path: Path) -> None:
    lock = _this_python_lock()
    interp, notes = find_interpreter(lock, sys.executable, offline=True)
    assert interp.version == lock.python.version and interp.how == "--python" and notes == []
    older = dataclasses.replace(lock, python=dataclasses.replace(lock.python, version="2.7.18"))
    with pytest.raises(RebuildError, match=r"the lock needs cpython 2\.7\.18"):
        find_interpreter(older, sys.executable, offline=True)
    with pytest.raises(RebuildError, match="not a working Python interpreter"):
        find_interpreter(lock, str(tmp_path / "nope"), offline=True)


def test_plan_without_bundle_lists_urls_and_changes_nothing(tmp_path: Path) -> None:
    art = Artifact(
        filename="a-1.0-py3-none-any.whl", url="https://files.example/a-1.0-py3-none-any.whl", sha256="1" * 64
    )
    lock_path = lockfile.dump(_this_python_lock(PythonPackage("a", "1.0", artifact=art)), tmp_path / "l.lock")
    plan = rebuild(lock_path, target="venv", dest=tmp_path / "env", python=sys.executable, dry_run=True)
    assert isinstance(plan, Plan)
    (item,) = [i for i in plan.items if i.layer == "python"]
    assert (item.origin, item.pin) == (art.url, "sha256:" + "1" * 64)
    assert not (tmp_path / "env").exists()


def test_bad_requests_are_clear_errors(tmp_path: Path, cli: Callable[..., object]) -> None:
    lock_path = lockfile.dump(_this_python_lock(), tmp_path / "l.lock")
    unknown = cli("rebuild", lock_path, "--target", "spaceship")
    assert unknown.code == 2 and "unknown rebuild target 'spaceship'" in unknown.err  # type: ignore[attr-defined]
    offline = cli("rebuild", lock_path, "--offline", "--dest", tmp_path / "e", "--python", sys.executable)
    # Argument problems are bad input, exit 2 (they were 4, the code of a failed build).
    assert offline.code == 2 and "--offline needs --bundle" in offline.err  # type: ignore[attr-defined]
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    full = cli("rebuild", lock_path, "--dest", tmp_path / "full", "--python", sys.executable)
    assert full.code == 2 and "already exists and is not empty" in full.err  # type: ignore[attr-defined]
    assert (tmp_path / "full" / "x").read_text() == "keep me"
    nobundle = cli("rebuild", lock_path, "--bundle", tmp_path / "missing", "--dest", tmp_path / "e2")
    assert nobundle.code == 2 and "no such bundle" in nobundle.err  # type: ignore[attr-defined]


def _pinned(name: str, version: str, digit: str) -> PythonPackage:
    filename = f"{name}-{version}-py3-none-any.whl"
    art = Artifact(filename=filename, url=f"https://files.example/{filename}", sha256=digit * 64)
    return PythonPackage(name, version, record_digest="sha256:" + "7" * 64, artifact=art)


def _bundle_of(lock: Snapshot, where: Path) -> Path:
    from envsnap.artifacts.bundle import Bundle

    where.mkdir()
    lockfile.dump(lock, where / "envsnap.lock")
    Bundle(where).write_sums()  # a real bundle has one; every bundle is checked against it first
    return where


def test_a_bundle_of_another_lock_says_what_to_give_instead() -> None:
    """``rebuild after.lock --bundle supp`` (supp made of an earlier lock) read only "supp: the bundle was made from
    another lock (first difference: gitlib)": it says to give the lock the bundle holds, or to bundle this one."""
    from envsnap.artifacts.bundle import check_made_from

    lock = Snapshot(python=PythonEnv(packages=(_pinned("a", "1.0", "1"),)))
    for bundled in (_pinned("a", "2.0", "1"), _pinned("a", "1.0", "2")):
        other = Snapshot(python=PythonEnv(packages=(bundled,)))
        with pytest.raises(BadBundleError) as error:
            check_made_from(lock, other, "supp")
        assert str(error.value).startswith("supp: the bundle was made from another lock ("), error.value
        assert str(error.value).endswith(
            "; give the lock it holds (its envsnap.lock), or make a bundle of this lock (envsnap bundle LOCK -o DIR)"
        ), error.value


@pytest.mark.parametrize(
    ("bundled", "message"),
    [
        (_pinned("a", "2.0", "1"), r"made from another lock \(first difference: a\)"),
        # Same version and RECORD digest, but not the file the lock pins: a swapped wheel and an edited lock.
        (_pinned("a", "1.0", "2"), "the lock pins a-1.0-py3-none-any.whl sha256 1111"),
    ],
)
def test_a_bundle_of_another_lock_is_refused_by_both_targets(
    tmp_path: Path, bundled: PythonPackage, message: str
) -> None:
    from envsnap.rebuild.docker import DockerRebuilder
    from envsnap.rebuild.interface import RebuildRequest

    lock = _this_python_lock(_pinned("a", "1.0", "1"))
    bundle = _bundle_of(
        dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=(bundled,))), tmp_path / "bundle"
    )
    lock_path = lockfile.dump(lock, tmp_path / "l.lock")
    with pytest.raises(BadBundleError, match=message):  # bad input (exit 2), not a failed rebuild
        rebuild(lock_path, target="venv", dest=tmp_path / "env", bundle=bundle, python=sys.executable, dry_run=True)

    def no_engine() -> None:
        raise RebuildError("no engine here")

    request = RebuildRequest(lock=lock, lock_path=lock_path, dest=tmp_path / "ctx", target="docker", bundle_dir=bundle)
    with pytest.raises(BadBundleError, match=message):
        DockerRebuilder(connect=no_engine).plan(request)
    assert not (tmp_path / "env").exists() and not (tmp_path / "ctx").exists()


def test_a_bundle_built_from_another_commit_of_the_project_is_refused(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """The project's own package (``pip install -e .``, ``file://{project}``) has the same version and RECORD digest
    at every commit (an editable install's RECORD lists no code): ``rebuild new.lock --bundle old --offline``, old
    bundled at an earlier commit, installed that commit's wheel and its verify said identical."""
    source = Source(kind="directory", url="file://{project}", editable=True)
    digest = "sha256:" + "7" * 64
    lock = dataclasses.replace(
        _this_python_lock(PythonPackage("paperproj", "0.1.0", record_digest=digest, source=source)),
        project=Project(commit="b" * 40),
    )
    built = Artifact(filename="paperproj-0.1.0-py3-none-any.whl", url="", sha256="e" * 64, rebuilt=True)
    bundled = PythonPackage("paperproj", "0.1.0", record_digest=digest, source=source, artifact=built)
    old = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=(bundled,)))
    lock_path = lockfile.dump(lock, tmp_path / "new.lock")
    for project in (Project(commit="a" * 40), Project(commit="b" * 40, dirty=True, diff_digest="sha256:" + "d" * 64)):
        bundle = _bundle_of(dataclasses.replace(old, project=project), tmp_path / f"old-{project.dirty}")
        args = ("--bundle", bundle, "--offline", "--dest", tmp_path / "env", "--python", sys.executable, "--dry-run")
        refused = cli("rebuild", lock_path, *args)
        assert refused.code == 2, refused
        assert refused.err.startswith(
            f"envsnap: error: {bundle}: the bundle was made from another lock (first difference: paperproj 0.1.0 "
            "is built from the project at "
        ), refused.err
        assert len(refused.err.splitlines()) == 1 and not (tmp_path / "env").exists()
    same = _bundle_of(old, tmp_path / "same")  # the bundle of this very lock still rebuilds it
    assert cli("rebuild", lock_path, "--bundle", same, "--offline", "--dest", tmp_path / "env", "--dry-run").code == 0


@pytest.mark.parametrize(
    "source",
    [
        # pip-compile writes a git dependency as `vcsdep @ git+file:...@<commit>`: no version in the file.
        Source(kind="vcs", url="https://example.org/vcsdep.git", vcs="git", commit_id="c" * 40),
        Source(kind="archive", url="https://example.org/vcsdep-0.2.0.tar.gz", archive_hash="sha256=" + "d" * 64),
    ],
)
def test_a_bundle_of_an_imported_versionless_direct_reference_is_its_own(tmp_path: Path, source: Source) -> None:
    """A requirements import records a direct reference without a version; its bundle built the wheel and knows
    it (0.2.0): rebuilding the imported lock from that bundle is no bundle of another lock."""
    lock = _this_python_lock(PythonPackage("vcsdep", "", source=source))
    built = Artifact(filename="vcsdep-0.2.0-py3-none-any.whl", url="", sha256="e" * 64, rebuilt=True)
    bundled = PythonPackage("vcsdep", "0.2.0", source=source, artifact=built)
    bundle = _bundle_of(
        dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=(bundled,))), tmp_path / "bundle"
    )
    lock_path = lockfile.dump(lock, tmp_path / "l.lock")
    plan = rebuild(lock_path, target="venv", dest=tmp_path / "env", bundle=bundle, python=sys.executable, dry_run=True)
    assert isinstance(plan, Plan)
    other = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=(PythonPackage("x", "1"),)))
    refused = _bundle_of(other, tmp_path / "other")
    with pytest.raises(BadBundleError, match=r"made from another lock \(first difference: vcsdep\)"):
        rebuild(lock_path, target="venv", dest=tmp_path / "e2", bundle=refused, python=sys.executable, dry_run=True)
    # The same package built from another commit of its repository, or another archive: another lock's bundle.
    moved = dataclasses.replace(
        source,
        commit_id="f" * 40 if source.commit_id else "",
        archive_hash="sha256=" + "f" * 64 if source.archive_hash else "",
    )
    elsewhere = _bundle_of(
        dataclasses.replace(
            lock, python=dataclasses.replace(lock.python, packages=(dataclasses.replace(bundled, source=moved),))
        ),
        tmp_path / "moved",
    )
    with pytest.raises(BadBundleError, match=r"made from another lock \(first difference: vcsdep\)"):
        rebuild(lock_path, target="venv", dest=tmp_path / "e3", bundle=elsewhere, python=sys.executable, dry_run=True)


def test_the_venv_target_verifies_against_the_lock_asked_for(tmp_path: Path) -> None:
    from envsnap.model import Platform
    from envsnap.rebuild.venv import _bundle_lock

    bundled = _this_python_lock(_pinned("a", "1.0", "1"))
    bundle = _bundle_of(bundled, tmp_path / "bundle")
    # The user's lock: the same Python layer, not yet pinned, captured on another machine.
    unpinned = dataclasses.replace(bundled.python.packages[0], artifact=None)
    mine = dataclasses.replace(
        bundled, platform=Platform(machine="aarch64"), python=dataclasses.replace(bundled.python, packages=(unpinned,))
    )
    merged = _bundle_lock(mine, bundle)
    assert merged.platform.machine == "aarch64"  # what verify compares the new venv with: the user's lock
    assert merged.python.packages == bundled.python.packages  # the artifacts the install needs


def test_a_dest_that_cannot_be_created_is_a_clear_error(tmp_path: Path, cli: Callable[..., object]) -> None:
    from envsnap.rebuild.docker import _fresh_context

    (tmp_path / "file").write_text("in the way")
    lock = _this_python_lock()
    lock_path = lockfile.dump(lock, tmp_path / "l.lock")
    bundle = _bundle_of(lock, tmp_path / "bundle")
    result = cli(
        "rebuild",
        lock_path,
        "--bundle",
        bundle,
        "--offline",
        "--dest",
        tmp_path / "file" / "env",
        "--python",
        sys.executable,
        "--force",
    )
    assert result.code == 2, result  # type: ignore[attr-defined]  # a --dest that cannot be made: bad input
    assert result.err.count("\n") == 1 and "cannot create it" in result.err  # type: ignore[attr-defined]
    with (
        pytest.raises(RebuildError, match="cannot create the build context"),
        _fresh_context(tmp_path / "file" / "ctx"),
    ):
        pass
    assert (tmp_path / "file").read_text() == "in the way"


def test_a_docker_dest_that_is_not_a_build_context_is_refused_before_building(tmp_path: Path) -> None:
    from envsnap.rebuild.docker import DockerRebuilder
    from envsnap.rebuild.interface import RebuildRequest

    def no_engine() -> None:
        raise RebuildError("no engine here")

    lock = _this_python_lock()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("keep me")
    (tmp_path / "file").write_text("keep me too")
    for dest in (tmp_path / "busy", tmp_path / "file"):
        request = RebuildRequest(lock=lock, lock_path=tmp_path / "l.lock", dest=dest, target="docker")
        with pytest.raises(RebuildError, match="exists and is not an envsnap build context"):
            DockerRebuilder(connect=no_engine).plan(request)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "keep me"
    assert (tmp_path / "file").read_text() == "keep me too"


def test_paths_and_progress_are_printed_as_text_not_rich_markup(tmp_path: Path, cli: Callable[..., object]) -> None:
    # "[/x]" is a closing tag to rich: read as markup, each of these printed a MarkupError traceback after the
    # work was done.
    odd = tmp_path / "m["
    odd.mkdir()
    lock_path = lockfile.dump(_this_python_lock(), tmp_path / "l.lock")
    pinned = cli("pin", lock_path, "-o", odd / "p]")
    assert pinned.code == 0 and f"{odd}/p]: no Python packages to pin" in pinned.err, pinned  # type: ignore[attr-defined]
    bundled = cli("bundle", odd / "p]", "-o", odd / "b]")
    assert bundled.code == 0 and f"wrote {odd}/b]: no packages in" in bundled.err, bundled  # type: ignore[attr-defined]
    rebuilt = cli(
        "rebuild", odd / "p]", "--bundle", odd / "b]", "--offline", "--dest", odd / "e]", "--python", sys.executable
    )
    assert rebuilt.code == 0 and f"rebuilt venv at {odd}/e] in" in rebuilt.err, rebuilt  # type: ignore[attr-defined]
    assert "Traceback" not in rebuilt.err + bundled.err + pinned.err  # type: ignore[attr-defined]


def test_a_docker_bundle_must_be_of_the_locked_platform_too(tmp_path: Path) -> None:
    from envsnap.model import Platform
    from envsnap.rebuild.docker import DockerRebuilder
    from envsnap.rebuild.interface import RebuildRequest

    def no_engine() -> None:
        raise RebuildError("no engine here")

    bundled = dataclasses.replace(
        _this_python_lock(), platform=Platform(machine="x86_64", os_id="debian", os_version="12")
    )
    bundle = _bundle_of(bundled, tmp_path / "bundle")
    # The same Python layer, locked on aarch64: the image is built from the bundle's copy, so the bundle's
    # x86_64 lock would have been built (with --force past the check) instead of refusing the architecture.
    mine = dataclasses.replace(bundled, platform=dataclasses.replace(bundled.platform, machine="aarch64"))
    request = RebuildRequest(
        lock=mine, lock_path=tmp_path / "l.lock", dest=tmp_path / "ctx", target="docker", bundle_dir=bundle
    )
    expected = r"made from another lock \(machine: the lock says aarch64, the bundle's x86_64\)"
    with pytest.raises(BadBundleError, match=expected):
        DockerRebuilder(connect=no_engine).plan(request)


def test_rebuild_accepts_cpu_only_as_its_remedy_says(tmp_path: Path, cli: Callable[..., object]) -> None:
    """The check's remedy for a CUDA lock on a host without its GPU says "pass --cpu-only": rebuild takes it."""
    from envsnap.model import Cuda, Framework

    cuda_lock = dataclasses.replace(
        _this_python_lock(),
        cuda=Cuda(runtime_version="99.0", runtime_source="pip"),  # no driver anywhere supports CUDA 99
        frameworks={"torch": Framework("torch", "2.5.1", cuda_version="99.0")},
    )
    lock_path = lockfile.dump(cuda_lock, tmp_path / "l.lock")
    refused = cli("rebuild", lock_path, "--dest", tmp_path / "env", "--python", sys.executable)
    assert refused.code == 3 and "pass --cpu-only" in refused.err  # type: ignore[attr-defined]
    accepted = cli(
        "rebuild", lock_path, "--dest", tmp_path / "env", "--python", sys.executable, "--cpu-only", "--dry-run"
    )
    assert accepted.code == 0, accepted.err  # type: ignore[attr-defined]
    out = accepted.out  # type: ignore[attr-defined]
    assert "note: compatibility check:" in out and "FAILED" not in out
    assert "note: --cpu-only: the check's GPU failures are accepted as warnings" in out


def test_each_target_has_its_own_default_dest(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = {name: r.default_dest for name, r in rebuilders().items()}
    assert defaults == {"venv": "envsnap-venv", "conda": "envsnap-conda", "docker": "envsnap-docker-context"}
    assert len(set(defaults.values())) == len(defaults)
    lock_path = lockfile.dump(_this_python_lock(), tmp_path / "l.lock")
    monkeypatch.chdir(tmp_path)
    plan = rebuild(lock_path, target="venv", python=sys.executable, dry_run=True)
    assert isinstance(plan, Plan) and Path(plan.dest).name == "envsnap-venv"
    done = cli("rebuild", lock_path, "--dry-run", "--python", sys.executable)
    assert done.code == 0 and "rebuild plan: venv -> " in done.out  # type: ignore[attr-defined]
    assert "envsnap-venv" in done.out.splitlines()[0]  # type: ignore[attr-defined]
    assert "envsnap-docker-context" in cli("rebuild", "--help").out  # type: ignore[attr-defined]


def test_disk_estimate_comes_from_the_bundles_real_sizes(tmp_path: Path) -> None:
    """A wheel of 40 MiB of data that compresses to almost nothing: the lock's file size says ~0, the old
    factor-times-file-size estimate said well under 1 MiB; the bundle's unpacked size is the truth."""
    import zipfile

    from envsnap.compat import Target, evaluate
    from envsnap.rebuild import get

    def target_of(kind: str, **fields: Any) -> Target:
        return Target(kind=kind, facts=get(kind).target_facts, **fields)

    from envsnap.compat.rules import disk
    from envsnap.rebuild._preflight import bundle_sizes

    (tmp_path / "b" / "wheels").mkdir(parents=True)
    (tmp_path / "b" / "tool").mkdir()
    wheel = tmp_path / "b" / "wheels" / "big-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big/data.bin", b"\0" * (40 * 1024 * 1024))
    tool = tmp_path / "b" / "tool" / "envsnap_lock-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(tool, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("envsnap/x.py", b"x" * (2 * 1024 * 1024))
    art = Artifact(
        filename=wheel.name, url="https://files.example/" + wheel.name, sha256="1" * 64, size=wheel.stat().st_size
    )
    lock = _this_python_lock(PythonPackage("big", "1.0", artifact=art))
    sizes = bundle_sizes(tmp_path / "b")
    assert sizes is not None and sizes.unpacked == 40 * 1024 * 1024 and sizes.wheels == wheel.stat().st_size
    assert bundle_sizes(None) is None and bundle_sizes(tmp_path / "b.tar.gz") is None
    assert disk.estimate_mib(lock, target_of("venv")) < 1  # from the lock alone: the compressed size
    venv = disk.estimate_mib(lock, target_of("venv", bundle=sizes))
    assert venv == pytest.approx(40, abs=0.01)
    # An image: base, the context and COPY layer of the (small) wheels, the installed files in the installer
    # stage and again in the image, envsnap's own likewise.
    image = disk.estimate_mib(lock, target_of("docker", bundle=sizes))
    assert image == pytest.approx(150 + 2 * 40 + 2 * sizes.wheels / 2**20 + 4 * 2, abs=0.1)
    report = evaluate(lock, lock, target_of("venv", disk_path=str(tmp_path), disk_free_mib=30, bundle=sizes))
    (finding,) = [f for f in report.findings if f.rule == "disk"]
    assert finding.severity == "fail" and finding.needed == "about 40 MiB (from the bundle's wheels, unpacked)"


def test_preflight_measures_disk_where_the_environment_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import envsnap.rebuild._preflight as pre

    seen: list[object] = []
    real = pre.evaluate

    def spy(lock: Snapshot, host: Snapshot, target: Any) -> object:
        seen.append(target)
        return real(lock, host, target)

    monkeypatch.setattr(pre, "evaluate", spy)
    preflight(_this_python_lock(), target="venv", python=sys.executable, force=False, dest=tmp_path / "new" / "env")
    (target,) = seen
    assert target.disk_path == str(tmp_path / "new" / "env")  # type: ignore[attr-defined]


def test_an_interpreter_is_asked_its_version_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The preflight and the plan both ask the interpreter's version: one run of it (through a pyenv shim each
    run costs 0.1-0.6 s), while the executable is the same file."""
    shim = tmp_path / "python3"  # another file than the running interpreter, as a pyenv shim is
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    runs = counting_runs(monkeypatch)
    first = interpreter_version(str(shim))
    assert first is not None and interpreter_version(str(shim)) == first
    assert len(runs) == 1


def test_the_running_interpreter_is_not_started_to_ask_its_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The binary running envsnap (or a link to it, as a venv's bin/python is) answers in-process."""
    import platform

    link = tmp_path / "python"
    link.symlink_to(sys.executable)
    runs = counting_runs(monkeypatch)
    expected = (platform.python_version(), sys.implementation.name)
    assert interpreter_version(sys.executable) == expected
    assert interpreter_version(str(link)) == expected
    assert runs == []


def test_an_interpreter_is_asked_when_the_running_one_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process answer needs the running interpreter's file; without it, others are still asked."""
    import platform

    runs = counting_runs(monkeypatch)
    real = sys.executable
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    found = interpreter_version(real)
    assert found is not None and found[0] == platform.python_version() and len(runs) == 1


def test_a_dest_with_dot_dot_is_reported_and_made_as_the_path_it_names(
    tmp_path: Path, cli: Callable[..., object]
) -> None:
    # "rebuild --dest /a/b/../c" reported "rebuilt venv at /a/b/../c" (and so did --json's dest, and the venv's
    # scripts named it), and with no folder b the move into place failed with a traceback.
    import json

    lock_path = lockfile.dump(_this_python_lock(), tmp_path / "l.lock")
    assert cli("bundle", lock_path, "-o", tmp_path / "b").code == 0  # type: ignore[attr-defined]
    (tmp_path / "there").mkdir()
    common = ("--bundle", tmp_path / "b", "--offline", "--python", sys.executable)
    shown = cli("rebuild", lock_path, *common, "--dest", f"{tmp_path}/there/../env")
    assert shown.code == 0 and f"rebuilt venv at {tmp_path}/env in" in shown.err, shown  # type: ignore[attr-defined]
    assert "/../" not in (tmp_path / "env" / "bin" / "activate").read_text()
    as_json = cli("rebuild", lock_path, *common, "--dest", f"{tmp_path}/missing/../env2", "--json")
    assert as_json.code == 0, as_json  # type: ignore[attr-defined]
    assert json.loads(as_json.out)["dest"] == f"{tmp_path}/env2"  # type: ignore[attr-defined]
    assert (tmp_path / "env2" / "bin" / "python").exists() and not (tmp_path / "missing").exists()


def test_a_dry_run_names_each_monorepo_packages_folder(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """Two packages of one monorepo commit read ``git+URL@C`` alike in ``rebuild --dry-run``: the plan dropped
    their ``#subdirectory=``, so which folder each is built from was not said. A package at the top of its
    repository still has none."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    url = "https://git.example/lab/mono.git"

    def vcs(name: str, sub: str) -> PythonPackage:
        return PythonPackage(
            name, "0.1", source=Source(kind="vcs", url=url, vcs="git", commit_id=commit, subdirectory=sub)
        )

    lock = _this_python_lock(vcs("tool-a", "pkgs/a"), vcs("tool-b", "pkgs/b"), vcs("top", ""))
    lock_path = lockfile.dump(lock, tmp_path / "l.lock")
    allow = ("--allow-url", f"{url}*")  # the plan fetches nothing: it names the host it would
    done = cli("rebuild", lock_path, "--dest", tmp_path / "env", "--python", sys.executable, "--dry-run", *allow)
    assert done.code == 0, done
    out = done.out
    assert f"git+{url}@{commit}#subdirectory=pkgs/a" in out and f"git+{url}@{commit}#subdirectory=pkgs/b" in out, out
    plan = rebuild(
        lock_path, target="venv", dest=tmp_path / "env", python=sys.executable, dry_run=True, allow_urls=(f"{url}*",)
    )
    assert isinstance(plan, Plan)
    origins = {i.name: i.origin for i in plan.items if i.layer == "python"}
    assert origins["top"] == f"git+{url}@{commit}", origins


def test_a_bundle_whose_lock_records_another_folder_for_a_local_package_is_refused(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``rebuild LOCK --bundle B`` compared only each package's version and RECORD digest: a lock recording its local
    package as ``file:///elsewhere/proj`` and a bundle whose lock built it from ``file://{project}`` (another folder)
    rebuilt without a word. The source is compared too (kind, URL, commit), a ``{project}`` label by the folder it
    names with ``--project``, so the same folder written either way is still the same lock."""
    project = tmp_path / "proj"
    project.mkdir()
    digest = "sha256:" + "7" * 64
    built = Artifact(filename="localpkg-1.0-py3-none-any.whl", url="", sha256="e" * 64, rebuilt=True)

    def lock_of(url: str, artifact: Artifact | None = None) -> Snapshot:
        pkg = PythonPackage(
            "localpkg", "1.0", record_digest=digest, source=Source(kind="directory", url=url), artifact=artifact
        )
        return _this_python_lock(pkg)

    bundle = _bundle_of(lock_of("file://{project}", built), tmp_path / "B")
    args = ("--bundle", bundle, "--offline", "--project", project, "--python", sys.executable, "--dry-run")
    for n, elsewhere in enumerate(("file:///tmp/proj", (tmp_path / "other").as_uri())):
        lock_path = lockfile.dump(lock_of(elsewhere), tmp_path / f"l{n}.lock")
        refused = cli("rebuild", lock_path, *args, "--dest", tmp_path / "env")
        assert refused.code == 2, refused
        assert refused.err == (
            f"envsnap: error: {bundle}: the bundle was made from another lock (first difference: localpkg)"
            "; give the lock it holds (its envsnap.lock), or make a bundle of this lock "
            f"(envsnap bundle {lock_path} -o DIR)\n"  # the lock as given: it read LOCK, a placeholder
        ), refused.err
        assert not (tmp_path / "env").exists()
    same = lockfile.dump(lock_of(project.as_uri()), tmp_path / "same.lock")  # the folder {project} names
    made = cli("rebuild", same, *args, "--dest", tmp_path / "env")
    assert made.code == 0, made


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_failed_check_of_a_lock_in_a_folder_whose_name_holds_a_newline_names_a_check_command_that_types_it(
    tmp_path: Path, cli: Callable[..., Any], dry_run: bool
) -> None:
    """A lock unpacked into a folder whose name holds a newline (or another control character), on a host whose
    check fails: the error's ``envsnap check LOCK`` quoted the path with ``shlex.quote``, which refuses a control
    character, so the rebuild ended in a traceback (``UnsafeValue``), exit 1. The path is written as bash's
    ``$'...\\x0a...'`` word, one line that types the folder, exit 3 as for any other lock."""
    other = "x86_64" if platform.machine() == "aarch64" else "aarch64"
    lock = dataclasses.replace(_this_python_lock(), platform=Platform(system="Linux", machine=other))
    folder = tmp_path / "review\ndir"
    folder.mkdir()
    lock_path = lockfile.dump(lock, folder / "envsnap.lock")
    text = cli("rebuild", lock_path, "--dest", tmp_path / "env", "--python", sys.executable, *["--dry-run"] * dry_run)
    assert text.code == 3, text.err
    errors = text.err.splitlines()
    assert len(errors) == 1 and "Traceback" not in text.err, text.err
    assert f"run `envsnap check $'{tmp_path}/review\\x0adir/envsnap.lock' --target venv --python" in errors[0], errors
    assert not (tmp_path / "env").exists()


def test_a_plan_of_paths_whose_names_hold_a_newline_keeps_each_line_whole(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``--dry-run`` of a lock in ``review\\ndir``: the plan printed the folder's newline as it is, so each line that
    names the lock, the destination or the bundle broke in two (``  lock: .../review`` then ``dir/envsnap.lock``, a
    line of no field), and the docker plan showed its build context as an indented block, like the Dockerfile. Each
    such path is one line, its newline made visible; the Dockerfile is still a block."""
    from envsnap.rebuild.docker import DockerPlanData

    folder = tmp_path / "review\ndir"
    folder.mkdir()
    lock_path = lockfile.dump(_this_python_lock(), folder / "envsnap.lock")
    text = cli("rebuild", lock_path, "--dest", folder / "env", "--python", sys.executable, "--dry-run")
    assert text.code == 0, text.err
    shown = f"{tmp_path}/review\N{REPLACEMENT CHARACTER}dir"
    assert f"\n  lock: {shown}/envsnap.lock\n" in text.out and text.out.startswith(
        f"rebuild plan: venv -> {shown}/env\n"
    )
    assert all(line.startswith("  ") for line in text.out.splitlines()[1:]), text.out
    data = DockerPlanData(
        base_reference="debian:12",
        base_pinned="debian@sha256:" + "a" * 64,
        build_context=str(folder / "ctx"),
        interpreter="/usr/bin/python3.11",
        tag="t:1",
        dockerfile="FROM x\nRUN true\n",
    )
    plan = Plan(target="docker", lock_path=str(lock_path), dest="t:1", data=data).describe()
    assert f"\n  build context: {shown}/ctx\n" in plan, plan
    assert "\n  Dockerfile:\n    | FROM x\n    | RUN true\n" in plan, plan
