"""One report convention (envsnap.report): one severity scale under check's, verify's and diff's words, one
to_dict for every --json, one exit rule; the JSON keys users parse stay as they were."""

from __future__ import annotations

import json

import pytest

from envsnap.cli import EXIT_INCOMPATIBLE, EXIT_OK, EXIT_WARNINGS, exit_for
from envsnap.compare.diff import Change, DiffReport
from envsnap.compare.verify import Difference, VerifyReport
from envsnap.compat import Finding, Report
from envsnap.report import CHECK_WORDS, VERIFY_WORDS, Severity, severity_of, to_dict


def test_each_vocabulary_is_a_view_of_one_scale() -> None:
    assert [severity_of(w) for w in ("ok", "warn", "fail")] == [Severity.OK, Severity.WARNING, Severity.FAILURE]
    assert [severity_of(w) for w in ("info", "warning", "mismatch")] == [
        Severity.INFO,
        Severity.WARNING,
        Severity.FAILURE,
    ]
    assert set(CHECK_WORDS.values()) | set(VERIFY_WORDS.values()) == {
        "ok",
        "warn",
        "fail",
        "info",
        "warning",
        "mismatch",
    }
    with pytest.raises(ValueError, match="not a severity"):
        severity_of("bad")


def test_entries_of_every_report_have_a_level() -> None:
    assert Finding("warn", "c", "n", "f").level is Severity.WARNING
    assert Difference("mismatch", "python", "a", "missing").level is Severity.FAILURE
    assert Change("python", "a", "changed", "minor", "1", "2").level is Severity.WARNING
    assert Change("system", "libc6", "unknown", "unknown").level is Severity.INFO


def test_one_exit_rule_for_check_and_verify() -> None:
    failing = Report((Finding("ok", "a", "", ""), Finding("fail", "b", "", "")))
    mismatch = VerifyReport(
        "", "", 1, (Difference("warning", "system", "x", "version"), Difference("mismatch", "python", "a", "missing"))
    )
    warned = Report((Finding("warn", "a", "", ""),))
    warning = VerifyReport("", "", 1, (Difference("warning", "system", "x", "version"),))
    for report in (failing, mismatch):
        assert report.worst() is Severity.FAILURE
        assert exit_for(report.worst(), strict=False) == EXIT_INCOMPATIBLE
    for report in (warned, warning):
        assert exit_for(report.worst(), strict=True) == EXIT_WARNINGS
        assert exit_for(report.worst(), strict=False) == EXIT_OK
    assert failing.verdict == "incompatible" and warned.verdict == "warnings" and mismatch.identical is False


def test_the_json_keys_stay_what_users_parse() -> None:
    finding = Finding("warn", "NVIDIA driver", "needs", "has", "do", rule="driver")
    check = Report((finding,), target="docker", cpu_only=True).to_dict()
    assert check == {  # the check JSON as docs/cli.md documents it
        "verdict": "warnings",
        "target": "docker",
        "cpu_only": True,
        "counts": {"ok": 0, "warn": 1, "fail": 0},
        "findings": [
            {
                "severity": "warn",
                "component": "NVIDIA driver",
                "needed": "needs",
                "found": "has",
                "remedy": "do",
                "rule": "driver",
            }
        ],
    }
    assert finding.to_dict() == check["findings"][0]
    diff = Difference("mismatch", "python", "a", "version", "1", "2", "n", "c", "r")
    verify = VerifyReport("sha256:" + "0" * 64, "/x (--python)", 3, (diff,)).to_dict()
    assert set(verify) == {"lock", "target", "packages_checked", "differences", "identical"}
    assert verify["identical"] is False and verify["differences"] == [
        {
            "severity": "mismatch",
            "area": "python",
            "subject": "a",
            "what": "version",
            "expected": "1",
            "actual": "2",
            "note": "n",
            "cause": "c",
            "remedy": "r",
            "places": [],  # the places its note names, each {"kind", "path"} (docs/cli.md), none here
        }
    ]
    change = Change("python", "a", "changed", "minor", "1", "2", 60, "upgrade")
    diffed = DiffReport("A", "B", (change,)).to_dict()
    assert diffed == {
        "a": "A",
        "b": "B",
        "identical": False,
        "differs": True,  # a change both locks record (not only "unknown" to one): diff's exit 1
        "counts": {"minor": 1},
        "changes": [
            {
                "area": "python",
                "subject": "a",
                "change": "changed",
                "kind": "minor",
                "old": "1",
                "new": "2",
                "weight": 60,
                "note": "upgrade",
            }
        ],
    }
    json.dumps([check, verify, diffed])  # plain data


def test_to_dict_writes_enums_as_their_value() -> None:
    assert to_dict({"b": (Severity.WARNING,), "a": Severity.OK}) == {"a": 0, "b": [2]}
