"""``envsnap import -``: the file to import read from standard input, as CI pipelines pipe it
(``pip freeze | envsnap import - -o env.lock``, ``uv export --format pylock.toml | envsnap import -``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from envsnap._toml import tomllib

A = "a" * 64


def _envsnap(
    *args: str, stdin: bytes | None, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """envsnap as a shell pipeline runs it: its own process, with ``stdin`` piped into it."""
    return subprocess.run(
        [sys.executable, "-m", "envsnap", *args],
        input=stdin.decode("latin-1") if stdin is not None else None,
        capture_output=True,
        text=True,
        encoding="latin-1",
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def _packages(lock: Path) -> dict[str, str]:
    data = tomllib.loads(lock.read_text())
    return {p["name"]: p["version"] for p in data["python"]["packages"]}


def test_pip_freeze_piped_into_import_dash_makes_the_lock(tmp_path: Path) -> None:
    freeze = b"attrs==23.2.0\nnumpy==1.26.4\n"
    done = _envsnap("import", "-", "-o", "x.lock", stdin=freeze, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _packages(tmp_path / "x.lock") == {"attrs": "23.2.0", "numpy": "1.26.4"}
    data = tomllib.loads((tmp_path / "x.lock").read_text())
    assert data["envsnap"]["origin"] == "requirements"
    # pip freeze without --all: the seed packages stay unknown, as for a file
    assert "python.seed_packages" in data["envsnap"]["unknown"]


def test_a_pylock_on_standard_input_is_recognised_by_its_content(tmp_path: Path) -> None:
    pylock = (
        'lock-version = "1.0"\ncreated-by = "uv"\nrequires-python = ">=3.8"\n\n'
        "[[packages]]\n"
        'name = "attrs"\nversion = "23.2.0"\n'
        'wheels = [{ name = "attrs-23.2.0-py3-none-any.whl", '
        'url = "https://files.example.org/attrs-23.2.0-py3-none-any.whl", hashes = { sha256 = "' + A + '" } }]\n'
    ).encode()
    done = _envsnap("import", "-", "-o", "-", stdin=pylock, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = tomllib.loads(done.stdout)
    assert data["envsnap"]["origin"] == "pylock"
    assert [p["name"] for p in data["python"]["packages"]] == ["attrs"]


def test_the_format_option_names_what_standard_input_holds(tmp_path: Path) -> None:
    done = _envsnap("import", "-", "--from", "requirements", "-o", "x.lock", stdin=b"attrs==23.2.0\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _packages(tmp_path / "x.lock") == {"attrs": "23.2.0"}
    # the named format is the one read: a requirements file given as a pylock is refused in one line
    bad = _envsnap("import", "-", "--from", "pylock", "-o", "y.lock", stdin=b"attrs==23.2.0\n", cwd=tmp_path)
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    assert not (tmp_path / "y.lock").exists()


def test_empty_standard_input_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    done = _envsnap("import", "-", "-o", "x.lock", stdin=b"", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "standard input" in lines[0] and "empty" in lines[0], done.stderr
    assert not (tmp_path / "x.lock").exists()


def test_standard_input_over_the_size_limit_is_refused_as_a_file_is(tmp_path: Path) -> None:
    big = b"attrs==23.2.0\n" + b"# padding\n" * 200
    done = _envsnap("import", "-", "-o", "x.lock", stdin=big, cwd=tmp_path, env={"ENVSNAP_MAX_LOCK_BYTES": "1K"})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "over the limit of 1024 bytes" in lines[0] and "ENVSNAP_MAX_LOCK_BYTES" in lines[0]
    assert not (tmp_path / "x.lock").exists()


def test_standard_input_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    done = _envsnap("import", "-", "-o", "x.lock", stdin=b"attrs==23.2.0\n\xff\xfe\n", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "standard input" in lines[0] and "UTF-8" in lines[0], done.stderr


def test_standard_input_in_no_format_envsnap_reads_asks_for_the_format_option(tmp_path: Path) -> None:
    done = _envsnap("import", "-", "-o", "x.lock", stdin=b"just some words\n", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--from" in lines[0] and "standard input" in lines[0], done.stderr


def test_standard_input_with_a_byte_order_mark_is_read_as_pip_reads_it(tmp_path: Path) -> None:
    done = _envsnap("import", "-", "-o", "x.lock", stdin=b"\xef\xbb\xbfattrs==23.2.0\r\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _packages(tmp_path / "x.lock") == {"attrs": "23.2.0"}


def test_a_pipe_given_by_its_path_is_refused_naming_dash(tmp_path: Path) -> None:
    """``envsnap import <(pip freeze)`` and ``pip freeze | envsnap import /dev/stdin`` give a pipe by its path, which
    is never read (it could hang): the one line says to give ``-``, which reads standard input within its limits."""
    done = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m envsnap import <(echo attrs==23.2.0) -o x.lock"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a regular file" in lines[0], done.stderr
    assert "envsnap import -" in lines[0], done.stderr
    piped = _envsnap("import", "/dev/stdin", "-o", "x.lock", stdin=b"attrs==23.2.0\n", cwd=tmp_path)
    assert piped.returncode == 2 and "envsnap import -" in piped.stderr, piped.stderr
    assert not (tmp_path / "x.lock").exists()


def test_the_summary_of_an_import_of_standard_input_names_it(tmp_path: Path) -> None:
    """envsnap's JSON of a captured lock names no origin of its own: the summary said ``from -``."""
    from testutil import sample_lock

    from envsnap import export, lockfile
    from envsnap.model import PythonPackage

    lock = lockfile.seal(sample_lock(PythonPackage(name="attrs", version="23.2.0", installer="pip")))
    (json_text,) = export.get("json").render(lock).values()
    done = _envsnap("import", "-", "-o", "x.lock", stdin=bytes(json_text), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "from standard input;" in done.stderr and "from -;" not in done.stderr, done.stderr
