"""``envsnap diff A B [--json]`` is read without argparse (cli/diff.py, ``direct_arguments``): the same reading
argparse gives for every command line it takes, and argparse's own answer for every other."""

from __future__ import annotations

import itertools

import pytest

from envsnap.cli import build_parser
from envsnap.cli import diff as diff_cli

WORDS = ["a.lock", "b.lock", "--json", "-x.lock", "--js", "-h", "--help", "c.lock", "-", "--", "--json=1", ""]


def _argparse_reading(argv: list[str], parser=None) -> dict[str, object] | None:
    try:
        args = (parser or build_parser("diff")).parse_args(["diff", *argv])
    except SystemExit:
        return None
    return vars(args)


def test_direct_reading_is_argparses_where_it_reads_at_all(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser("diff")
    lines = [list(p) for n in range(5) for p in itertools.product(WORDS[:6], repeat=n)]
    lines += [list(p) for p in itertools.product(WORDS, repeat=3)]
    read = 0
    for argv in lines:
        direct = diff_cli.direct_arguments(argv)
        if direct is None:
            continue  # argparse reads it, as before
        read += 1
        assert vars(direct) == _argparse_reading(argv, parser), argv
    assert read > 20
    capsys.readouterr()


@pytest.mark.parametrize(
    "argv",
    [
        ["a.lock", "b.lock"],
        ["a.lock", "b.lock", "--json"],
        ["--json", "a.lock", "b.lock"],
        ["a.lock", "--json", "b.lock"],
    ],
)
def test_the_ways_a_diff_is_written_are_read_directly(argv: list[str]) -> None:
    direct = diff_cli.direct_arguments(argv)
    assert direct is not None and vars(direct) == _argparse_reading(argv)


@pytest.mark.parametrize(
    "argv", [["a.lock"], ["a.lock", "b.lock", "c.lock"], ["a.lock", "b.lock", "--json", "--json"], ["-h"]]
)
def test_anything_else_is_left_to_argparse(argv: list[str]) -> None:
    assert diff_cli.direct_arguments(argv) is None


def test_a_diff_builds_no_parser(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from testutil import sample_lock

    from envsnap import cli, lockfile

    a, b = tmp_path / "a.lock", tmp_path / "b.lock"
    lockfile.dump(sample_lock(), a)
    lockfile.dump(sample_lock(), b)

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("argparse's parser built for a plain diff")

    monkeypatch.setattr(cli, "build_parser", refused)
    assert cli.main(["diff", str(a), str(b)]) == 0
