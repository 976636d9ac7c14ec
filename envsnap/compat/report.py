"""The result of a check: findings (one per thing checked) and a verdict. A check's words for the shared
severity scale (envsnap.report) are ok, warn and fail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from typing import Any, Literal

from .. import report
from .._frozen import frozen
from ..report import Entry

Severity = Literal["ok", "warn", "fail"]  # the words check prints and writes to JSON (report.CHECK_WORDS)
Verdict = Literal["compatible", "warnings", "incompatible"]

SEVERITIES: tuple[Severity, ...] = ("ok", "warn", "fail")  # CHECK_WORDS' values, least first
_VERDICTS: dict[report.Severity, Verdict] = {
    report.Severity.FAILURE: "incompatible",
    report.Severity.WARNING: "warnings",
}


@frozen
class Finding(Entry):
    """One thing checked: what the lock needs, what the target has, and what to do about a difference."""

    severity: Severity
    component: str
    needed: str
    found: str
    remedy: str = ""
    rule: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")

    @property
    def level(self) -> report.Severity:
        return report.severity_of(self.severity)


@frozen
class Report(report.Report):
    findings: tuple[Finding, ...]
    target: str = "host"
    cpu_only: bool = False
    verdict: Verdict = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "verdict", _VERDICTS.get(self.worst(), "compatible"))

    @property
    def failed(self) -> bool:
        return self.verdict == "incompatible"

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "fail")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warn")

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}

    def by_rule(self, rule: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.rule == rule)

    def render_rows(self) -> list[tuple[str, str, str, str, str]]:
        """(severity, component, needed, found, remedy) per finding, failures first, then warnings."""
        order = {"fail": 0, "warn": 1, "ok": 2}
        ranked = sorted(enumerate(self.findings), key=lambda item: (order[item[1].severity], item[0]))
        return [(f.severity, f.component, f.needed, f.found, f.remedy) for _, f in ranked]

    def summary(self) -> str:
        c = self.counts()
        warnings = report.counted(c["warn"], "warning")
        return f"{self.verdict}: {c['fail']} failed, {warnings}, {c['ok']} ok (target: {self.target})"

    def failure_summary(self) -> str:
        """The failures on one line, for an error message ("" when there are none)."""
        return "; ".join(f"{f.component}: {f.found}" + (f" ({f.remedy})" if f.remedy else "") for f in self.failures)

    def entries(self) -> Sequence[Finding]:
        return self.findings

    def json_extra(self) -> dict[str, Any]:
        return {"counts": self.counts()}
