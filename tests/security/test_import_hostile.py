"""Hostile files to import, found by a mutation fuzz of real tools' output: each is one line on standard error and
exit 2 (or an import that records what it cannot read as unknown), never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult

from envsnap import lockfile

# A release number of 5,000 digits: PEP 440 sets no length, but packaging converts each part with int(), which
# Python refuses past 4,300 digits with a plain ValueError (not InvalidVersion), which no importer caught.
HUGE = "9" * 5000
SHA = "a" * 64


def _one_line(result: CliResult, *needles: str) -> None:
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and result.err.startswith("envsnap: error: "), result
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in result.err, result


@pytest.mark.parametrize(
    "line",
    [
        f"iniconfig=={HUGE}",
        f"iniconfig=={HUGE} --hash=sha256:{SHA}",
        f"iniconfig===1.0+{HUGE}",
        f"iniconfig==1.0+{HUGE}",
        f"https://example.org/iniconfig-{HUGE}-py3-none-any.whl --hash=sha256:{SHA}",
        f"./iniconfig-{HUGE}.tar.gz",
        f"iniconfig @ https://example.org/iniconfig-{HUGE}-py3-none-any.whl#sha256={SHA}",
    ],
    ids=["pin", "hashed-pin", "arbitrary-pin", "local-version", "url-alone", "local-archive", "direct-url"],
)
def test_a_version_of_thousands_of_digits_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], line: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "requirements.txt").write_text(line + "\n")
    result = cli("import", "requirements.txt", "-o", "out.lock")
    _one_line(result, "requirements.txt")
    assert not (tmp_path / "out.lock").exists()


def test_a_project_version_of_thousands_of_digits_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """A local project's pyproject.toml version that packaging cannot read is unknown, as any version that is not
    PEP 440 is (not guessed), and the import goes on."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "pyproject.toml").write_text(f'[project]\nname = "p"\nversion = "{HUGE}"\n')
    (tmp_path / "requirements.txt").write_text("-e ./p\n")
    result = cli("import", "requirements.txt", "-o", "out.lock")
    assert result.code == 0 and "Traceback" not in result.err, result
    assert 'name = "p"\nversion = ""\n' in (tmp_path / "out.lock").read_text()


@pytest.mark.parametrize("how", ["requirements", "pylock"])
def test_a_project_module_too_deep_for_the_parser_leaves_its_version_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], how: str
) -> None:
    """A setuptools ``attr:`` version is read by parsing the module named, never importing it: a module whose
    expression is nested past the parser's recursion limit (``'1' + '1' + ...`` 50,000 times) was a RecursionError
    traceback; the version is unknown, as for any computed value, and the import goes on."""
    monkeypatch.chdir(tmp_path)
    project = tmp_path / "p"
    project.mkdir()
    (project / "setup.cfg").write_text("[metadata]\nname = p\nversion = attr: p.__version__\n")
    (project / "p.py").write_text("__version__ = " + "'1' + " * 50_000 + "'1'\n")
    if how == "requirements":
        (tmp_path / "requirements.txt").write_text("-e ./p\n")
        result = cli("import", "requirements.txt", "-o", "out.lock")
    else:
        (tmp_path / "pylock.toml").write_text(
            'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "p"\n[packages.directory]\npath = "p"\n'
        )
        result = cli("import", "pylock.toml", "-o", "out.lock")
    assert result.code == 0 and "Traceback" not in result.err, result
    (package,) = lockfile.load(tmp_path / "out.lock").python.packages
    assert (package.name, package.version) == ("p", "")


def test_audit_does_not_read_a_bundle_lock_through_a_link(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    """A bundle's ``envsnap.lock`` that is a link leads to any file of the reader's (another lock of theirs,
    ``/etc/passwd``): ``show`` and ``diff`` refuse it, and ``audit`` graded the lock it led to as the bundle's (or
    quoted the file's parse error); it is refused as the other readers refuse it, one line, exit 2."""
    from test_bundles import _bundle

    bundle = _bundle(tmp_path / "b")
    theirs = tmp_path / "theirs.lock"
    theirs.write_bytes((bundle / "envsnap.lock").read_bytes())
    (bundle / "envsnap.lock").unlink()
    (bundle / "envsnap.lock").symlink_to(theirs)
    for command in (["audit", bundle], ["audit", bundle, "--json"], ["show", bundle]):
        result = cli(*command)
        _one_line(result, f"{bundle / 'envsnap.lock'}: a link or special file in the bundle")
        assert result.out == ""
