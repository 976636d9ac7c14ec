"""diff of two large locks loads one in a forked child beside the other (compare/diff.py, ``_Beside``): the same
report and the same errors as one after the other, whatever the child does, and no child left behind.

Each case runs in a fresh interpreter, as ``envsnap diff`` does: the fork is taken only from a process with no
other thread, which a test process is not."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from testutil import sample_lock

from envsnap import lockfile
from envsnap.model import PythonPackage, Source


def _packages(count: int, moved: bool) -> tuple[PythonPackage, ...]:
    return tuple(
        PythonPackage(
            name=f"pkg{i:04d}",
            version=f"1.{i % 5}.{(i + (moved and i % 3 == 0)) % 7}",
            source=Source(kind="index", url=f"https://user:secret@example.org/simple/pkg{i:04d}"),
            record_digest="sha256:" + ("ab" if moved and i % 2 else "cd") * 32,
        )
        for i in range(count)
    )


@pytest.fixture
def locks(tmp_path: Path) -> dict[str, Path]:
    a = lockfile.dump(lockfile.seal(sample_lock(*_packages(300, False))), tmp_path / "a.lock")
    b = lockfile.dump(lockfile.seal(sample_lock(*_packages(300, True))), tmp_path / "b.lock")
    bad = tmp_path / "bad.lock"  # sealed, then edited: its content digest no longer matches
    bad.write_text(b.read_text().replace('version = "1.0.0"', 'version = "1.0.9"', 1))
    assert bad.read_text() != b.read_text()
    return {"a": a, "b": b, "bad": bad}


# The driver: every diff twice, one after the other (no child) and with the child (every lock counts as large),
# each report or error printed as JSON with how many children were started and whether any is left unreaped.
DRIVER = textwrap.dedent(
    """
    import json, os, sys
    from envsnap.compare import diff as d
    from envsnap.errors import EnvsnapError

    mode, a, b = sys.argv[1:4]
    started = []
    loaded_here = []  # the locks this process loaded itself (a child's own loads are in its own memory)
    loaded_side = d._loaded_side
    through_shared = []  # views taken from the memory shared with the child
    shared_view = d._shared_view

    def counted_shared(shared, length):
        through_shared.append(int(length))
        return shared_view(shared, length)

    d._shared_view = counted_shared

    def counted_load(text, origin, name):
        loaded_here.append(origin)
        return loaded_side(text, origin, name)

    d._loaded_side = counted_load
    start = d._Beside.start.__func__

    def counted(cls, path):
        beside = start(cls, path)
        started.append(beside is not None)
        return beside

    if mode == "sequential":
        d._Beside.start = classmethod(lambda cls, path: None)
    else:
        d.BESIDE_MIN_BYTES = 0
        d._Beside.start = classmethod(counted)
    if mode == "sigchld-ignored":  # no exit status to read: the kernel reaps the child
        import signal
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    if mode == "crash":  # the child dies before it writes anything
        d._beside_child = lambda text, origin, name, fd, *shared: os._exit(3)
    if mode == "garbage":  # the child says it succeeded and writes what is no view
        def garbage(text, origin, name, fd, *shared):
            os.write(fd, d._BESIDE_OK + b"not marshal")
            os._exit(0)
        d._beside_child = garbage
    if mode == "wrong-shape":  # a well-formed marshal of the wrong shape, whole
        import marshal
        def wrong(text, origin, name, fd, *shared):
            os.write(fd, d._BESIDE_OK + marshal.dumps((("record", {}), ((1, 2),))) + d._BESIDE_END)
            os._exit(0)
        d._beside_child = wrong
    if mode in ("cut-short", "hang-after", "fail-after"):
        child = d._beside_child
        def written_then(text, origin, name, fd, *shared):
            # The child's own view, written through a pipe of this child's that the parent does not read.
            inner_read, inner_write = os.pipe()
            if os.fork() == 0:
                child(text, origin, name, inner_write)  # no shared memory: the view itself through the pipe
            os.close(inner_write)
            view = b""
            while chunk := os.read(inner_read, 1 << 20):
                view += chunk
            if mode == "cut-short":  # killed while writing: the view without its end
                os.write(fd, view[: len(view) // 2])
                os._exit(0)
            os.write(fd, view)
            os.close(fd)
            if mode == "hang-after":  # the whole view, and then no exit: the parent kills it once it is done
                import time
                time.sleep(600)
            os._exit(3)  # the whole view, then a failed exit: the bytes decide
        d._beside_child = written_then
    if mode == "no-shared":  # no memory to share: the view goes through the pipe
        import mmap
        def refused(*args, **kwargs):
            raise OSError("no memory")
        mmap.mmap = refused
    if mode == "too-large":  # shared memory smaller than the view: the view goes through the pipe
        d.SHARED_SPARE_BYTES = 16 - os.stat(b).st_size
    if mode in ("shared-length-past-the-end", "shared-garbage"):  # the pipe names a view the memory does not hold
        def lying(text, origin, name, fd, shared):
            length = len(shared) + 1 if mode == "shared-length-past-the-end" else 64
            shared[:64] = b"not marshal" * 5 + b"!"
            os.write(fd, d._BESIDE_SHARED + str(length).encode() + d._BESIDE_END)
            os._exit(0)
        d._beside_child = lying
    try:
        out = {"report": d.diff_files(a, b).to_dict()}
    except EnvsnapError as exc:
        out = {"error": str(exc)}
    try:
        os.waitpid(-1, os.WNOHANG)
        out["children_left"] = True
    except ChildProcessError:
        out["children_left"] = False
    out["started"] = started
    out["loaded_here"] = len(loaded_here)
    out["through_shared"] = through_shared
    print(json.dumps(out))
    """
)


def _run(mode: str, a: Path, b: Path, cache: str = "0", home: Path | None = None) -> dict[str, object]:
    env = {"ENVSNAP_LOCK_CACHE": cache, "PATH": "/usr/bin:/bin"}
    if home is not None:
        env["XDG_CACHE_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, mode, str(a), str(b)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    assert result["children_left"] is False
    return result


@pytest.mark.parametrize("pair", [("a", "b"), ("b", "a"), ("a", "a")])
def test_the_child_gives_the_report_one_after_the_other_gives(locks: dict[str, Path], pair: tuple[str, str]) -> None:
    a, b = (locks[name] for name in pair)
    sequential = _run("sequential", a, b)
    beside = _run("beside", a, b)
    assert beside["started"] == [True] and beside["loaded_here"] == 1  # B was loaded by the child
    assert len(beside["through_shared"]) == 1  # and its view handed over in the shared memory
    assert beside["report"] == sequential["report"]
    assert "secret" not in json.dumps(beside["report"])  # scrubbed as in an export


def test_a_parent_that_ignores_sigchld_still_takes_the_view(locks: dict[str, Path]) -> None:
    sequential = _run("sequential", locks["a"], locks["b"])
    ignored = _run("sigchld-ignored", locks["a"], locks["b"])
    assert ignored["started"] == [True] and ignored["report"] == sequential["report"]


@pytest.mark.parametrize("mode", ["no-shared", "too-large"])
def test_a_view_the_shared_memory_cannot_hold_goes_through_the_pipe(locks: dict[str, Path], mode: str) -> None:
    sequential = _run("sequential", locks["a"], locks["b"])
    piped = _run(mode, locks["a"], locks["b"])
    assert piped["started"] == [True] and piped["loaded_here"] == 1 and piped["through_shared"] == []
    assert piped["report"] == sequential["report"]


@pytest.mark.parametrize(
    "mode", ["crash", "garbage", "wrong-shape", "cut-short", "shared-length-past-the-end", "shared-garbage"]
)
def test_a_child_that_fails_leaves_the_lock_to_the_parent(locks: dict[str, Path], mode: str) -> None:
    sequential = _run("sequential", locks["a"], locks["b"])
    failed = _run(mode, locks["a"], locks["b"])
    assert failed["started"] == [True] and failed["loaded_here"] == 2  # B loaded here again
    assert failed["report"] == sequential["report"]


@pytest.mark.parametrize("mode", ["hang-after", "fail-after"])
def test_the_whole_view_is_taken_before_the_child_exits(locks: dict[str, Path], mode: str) -> None:
    # The parent reads the view up to the end of the pipe, which the child closes once it is written, and reaps
    # the child after the comparison: a child still running then (hung in its exit) is killed and reaped, and one
    # that failed after writing the whole view has still given it. No child is left either way (``_run``).
    sequential = _run("sequential", locks["a"], locks["b"])
    taken = _run(mode, locks["a"], locks["b"])
    assert taken["started"] == [True] and taken["loaded_here"] == 1  # B's view taken from the child
    assert taken["report"] == sequential["report"]


@pytest.mark.parametrize(("a", "b"), [("a", "bad"), ("bad", "b"), ("bad", "bad")])
def test_errors_are_the_same_and_in_the_same_order(locks: dict[str, Path], a: str, b: str) -> None:
    sequential = _run("sequential", locks[a], locks[b])
    beside = _run("beside", locks[a], locks[b])
    assert "content_digest" in str(sequential["error"])
    assert beside["error"] == sequential["error"]
    assert beside["started"] == [True]  # with A's error first, the child still running was killed and reaped


def test_no_child_for_a_view_in_the_cache_or_a_missing_file(locks: dict[str, Path], tmp_path: Path) -> None:
    home = tmp_path / "cache"
    first = _run("beside", locks["a"], locks["b"], cache="1", home=home)
    assert first["started"] == [True]  # the child fills the cache with B's view
    again = _run("beside", locks["a"], locks["b"], cache="1", home=home)
    assert again["started"] == [False] and again["report"] == first["report"]
    missing = _run("beside", locks["a"], tmp_path / "missing.lock")
    assert missing["started"] == [False] and "no such lockfile" in str(missing["error"])


def test_the_program_ends_without_teardown_and_its_report_is_whole(locks: dict[str, Path]) -> None:
    """`envsnap diff` leaves at once once the report is written (no interpreter teardown), as `run` does: every
    line of a long report still reaches a pipe, and the exit status is the command's."""
    from envsnap.cli import build_parser

    args = build_parser("diff").parse_args(["diff", str(locks["a"]), str(locks["b"])])
    assert args.leave_at_once is True
    in_process = subprocess.run(
        [sys.executable, "-c", "import sys; from envsnap.cli import main; print(main(sys.argv[1:]))",
         "diff", str(locks["a"]), str(locks["b"])],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    program = subprocess.run(
        [sys.executable, "-m", "envsnap", "diff", str(locks["a"]), str(locks["b"])], capture_output=True, text=True
    )
    assert program.returncode == 1 and program.stderr == ""
    assert in_process.stdout == program.stdout + "1\n"  # main(argv) returns to its caller, with the same report
    assert program.stdout.count("\n") == 201 and program.stdout.endswith("\n200 changes: 100 build, 100 patch\n")
