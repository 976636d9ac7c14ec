"""What a requirements file says that the lock cannot record: pip's ``${VAR}`` environment variables, and the options
that change how pip installs (``--no-binary``, ``--config-settings``, ``--trusted-host`` ...)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap import lockfile

H = "c" * 64


def warnings_of(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def test_an_extra_index_holding_an_environment_variable_is_named_and_not_recorded(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--extra-index-url ${PIP_TOKEN}`` was recorded as ``index = "${PIP_TOKEN}"``, a local folder. pip expands the
    variable when it reads the file; envsnap reads no variable's value (it may be a secret) and records no
    placeholder: the option is named in one warning and the package is recorded on the file's other indexes."""
    monkeypatch.setenv("PIP_TOKEN", "s3cret-value")
    path = tmp_path / "r.txt"
    path.write_text(
        "--extra-index-url ${PIP_TOKEN}\n-f https://host/${WHEELS}/links\n"
        f"--extra-index-url https://host/${{PATH_PART}}/simple\nnumpy==1.26.4 --hash=sha256:{H}\n"
    )
    result = cli("import", path, "-o", tmp_path / "out.lock")
    assert result.code == 0, result.err
    why = (
        "an environment variable pip expands when it reads the file, and envsnap records no variable's value "
        "(it may be a secret)"
    )
    assert warnings_of(result.err) == [
        f"warning: import: line 1: --extra-index-url is not recorded: it holds ${{PIP_TOKEN}}, {why}",
        f"warning: import: line 2: -f is not recorded: it holds ${{WHEELS}}, {why}",
        f"warning: import: line 3: --extra-index-url is not recorded: it holds ${{PATH_PART}}, {why}",
    ]
    text = (tmp_path / "out.lock").read_text()
    assert "${" not in text.replace("${PIP_TOKEN}", "").replace("${WHEELS}", "").replace("${PATH_PART}", "")
    assert "s3cret" not in text
    lock = lockfile.load(tmp_path / "out.lock")
    (pkg,) = lock.python.packages
    assert pkg.artifact is not None and pkg.artifact.index == "https://pypi.org/simple"


def test_a_variable_in_an_index_urls_login_is_left_out_with_the_login(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """``https://${USER}:${TOKEN}@host/simple``, a private index's usual form: the login is never recorded, so the
    index is, without it."""
    path = tmp_path / "r.txt"
    path.write_text(f"--index-url https://${{USER}}:${{TOKEN}}@host/simple\nnumpy==1.26.4 --hash=sha256:{H}\n")
    result = cli("import", path, "-o", tmp_path / "out.lock")
    assert result.code == 0, result.err
    assert "${" not in (tmp_path / "out.lock").read_text()
    (pkg,) = lockfile.load(tmp_path / "out.lock").python.packages
    assert pkg.artifact is not None and pkg.artifact.index == "https://host/simple"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "--index-url https://host/${PATH_PART}/simple",
            "r.txt:1: --index-url holds ${PATH_PART}, an environment variable pip expands when it reads the file, "
            "and envsnap records no variable's value (it may be a secret): without the index every package is on, "
            "the lock would name another (write the URL out)",
        ),
        (
            f"pkg @ https://${{HOST}}/pkg-1.0-py3-none-any.whl --hash=sha256:{H}",
            "r.txt:1: the requirement holds ${HOST}, an environment variable pip expands when it reads the file, and "
            "envsnap records no variable's value (it may be a secret): the lock cannot say where it comes from",
        ),
        (
            "-e ${SRC}/proj",
            "r.txt:1: the requirement holds ${SRC}, an environment variable pip expands when it reads the file, and "
            "envsnap records no variable's value (it may be a secret): the lock cannot say where it comes from",
        ),
    ],
)
def test_an_index_or_requirement_holding_an_environment_variable_is_refused(
    tmp_path: Path, cli: Callable[..., Any], line: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "r.txt"
    path.write_text(f"{line}\nsix==1.16.0 --hash=sha256:{H}\n")
    result = cli("import", "r.txt", "-o", tmp_path / "out.lock")
    assert (result.code, result.err) == (2, f"envsnap: error: {message}\n")
    assert not (tmp_path / "out.lock").exists()


def test_a_requirement_url_with_a_variable_only_in_its_login_is_recorded_without_it(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    path = tmp_path / "r.txt"
    path.write_text(f"pkg @ https://${{U}}:${{T}}@host/pkg-1.0-py3-none-any.whl --hash=sha256:{H}\n")
    result = cli("import", path, "-o", tmp_path / "out.lock")
    assert result.code == 0, result.err
    (pkg,) = lockfile.load(tmp_path / "out.lock").python.packages
    assert pkg.source.url == "https://host/pkg-1.0-py3-none-any.whl"


def test_each_option_the_lock_does_not_record_is_named_in_a_warning(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """``--no-binary :all:``, ``--config-settings``, ``--trusted-host`` and the rest were dropped without a word."""
    path = tmp_path / "r.txt"
    path.write_text(
        "--no-binary :all:\n--only-binary=numpy\n--prefer-binary\n--config-settings x=y\n--pre\n--trusted-host h\n"
        f"--require-hashes\n--use-feature=truststore\n--no-index\nnumpy==1.26.4 --hash=sha256:{H}\n"
    )
    result = cli("import", path, "-o", tmp_path / "out.lock")
    assert result.code == 0, result.err
    said = warnings_of(result.err)
    options = [
        "--no-binary",
        "--only-binary",
        "--prefer-binary",
        "--config-settings",
        "--pre",
        "--trusted-host",
        "--require-hashes",
        "--use-feature",
        "--no-index",
    ]
    expected = [[f"line {n}", f"{option} is not recorded"] for n, option in enumerate(options, 1)]
    assert [w.split(": ")[2:4] for w in said] == expected
    assert "a rebuild may build it differently" in said[3]
    assert "may install a wheel where pip built from source" in said[0]
    path.write_text(f"--pre-release\nnumpy==1.26.4 --hash=sha256:{H}\n")  # no option pip has
    result = cli("import", path, "-o", tmp_path / "bad.lock")
    assert (result.code, result.err) == (2, f"envsnap: error: {path}:1: unsupported option --pre-release\n")


def test_a_build_option_on_a_requirements_line_is_named_in_a_warning(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """``numpy==1.26.4 --config-settings x=y --hash=...``, pip's per-requirement form, was refused as "not a
    requirement: Expected comma ...". It is named as the option on a line of its own is, and the pin recorded."""
    path = tmp_path / "r.txt"
    path.write_text(
        f"numpy==1.26.4 --config-settings x=y --hash=sha256:{H}\nsix==1.16.0 --config-settings=a=b --hash=sha256:{H}\n"
    )
    result = cli("import", path, "-o", tmp_path / "out.lock")
    assert result.code == 0, result.err
    said = warnings_of(result.err)
    assert [w.split(": ")[2:4] for w in said] == [
        ["line 1", "--config-settings is not recorded"],
        ["line 2", "--config-settings is not recorded"],
    ]
    lock = lockfile.load(tmp_path / "out.lock")
    assert [(p.name, p.version) for p in lock.python.packages] == [("numpy", "1.26.4"), ("six", "1.16.0")]
