"""What ``newsletter check`` prints: one line per finding, or one JSON document.

The JSON document is described by ``report.schema.json`` beside this module (README,
"newsletter check --format json").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from newsletter.checks.audience import either, members
from newsletter.checks.context import CheckInput, Reach
from newsletter.checks.findings import Finding, Severity
from newsletter.checks.optional import Extra

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Located:
    finding: Finding
    file: str | None
    line: int | None


@dataclass(frozen=True)
class CheckReport:
    file: str
    slug: str
    provider: str
    findings: list[Located]
    reach: Reach | None = None
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)

    def count(self, severity: Severity) -> int:
        return sum(1 for located in self.findings if located.finding.severity is severity)

    @property
    def ok(self) -> bool:
        return self.count(Severity.ERROR) == 0


def build(
    check: CheckInput, file: Path, found: list[Finding], extras: list[Extra] = ()
) -> CheckReport:
    located = []
    for finding in found:
        path = check.file_of(finding.place)
        located.append(
            Located(finding, str(path) if path is not None else None, check.line_of(finding.place))
        )
    return CheckReport(
        str(file),
        check.issue.slug,
        check.delivery.provider,
        located,
        check.reach,
        {extra.name: extra.summary for extra in extras},
    )


def text_lines(report: CheckReport) -> list[str]:
    """``FILE:LINE: severity rule place: message; fix: how``, then the reach and a total."""
    lines = []
    for item in report.findings:
        f = item.finding
        where = f"{item.file}:{item.line}" if item.line else (item.file or report.file)
        place = (
            f" {f.place.dotted}:" if f.place.dotted and f.place.source.value != "template" else ""
        )
        fix = f"; fix: {f.fix}" if f.fix else ""
        lines.append(f"{where}: {f.severity.value} [{f.rule}]{place} {f.message}{fix}")
    if report.reach is not None:
        lines.append(reach_line(report.reach))
    if "spam" in report.extras:
        lines.append(spam_line(report.extras["spam"]))
    counts = ", ".join(
        f"{report.count(severity)} {severity.value}{'' if report.count(severity) == 1 else 's'}"
        for severity in Severity
    )
    verdict = "ready to send" if report.ok else "not ready: fix the errors or --skip-check RULE"
    lines.append(f"{report.slug} ({report.provider}): {counts}; {verdict}")
    return lines


def reach_line(reach: Reach) -> str:
    """Who the issue reaches and who it leaves out, in one sentence."""
    if reach.subscribed == 0:
        return "Reaches nobody: the audience has no subscribed members"
    if not reach.topics:
        everyone = "the only" if reach.subscribed == 1 else f"all {reach.subscribed:,}"
        return f"Reaches {everyone} subscribed member{'s' if reach.subscribed > 1 else ''}"
    share = f"{reach.reached:,}" if reach.reached else "none"
    line = (
        f"Reaches {share} of the {members(reach.subscribed)} "
        f"(it goes to those who chose {either(reach.topics)})"
    )
    left = []
    if reach.chose_no_topic:
        left.append(f"{reach.chose_no_topic:,} who chose no topic")
    if reach.chose_other_topics:
        left.append(f"{reach.chose_other_topics:,} who chose only other topics")
    return f"{line}; leaves out {' and '.join(left)}" if left else line


def spam_line(spam: dict[str, Any]) -> str:
    """SpamAssassin's score of the sample copy and the rules that added points."""
    line = f"SpamAssassin (local rules) gives a sample copy {spam['score']:.1f} points"
    added = [rule for rule in spam["rules"] if rule["score"] > 0]
    if added:
        line += ": " + ", ".join(f"{rule['name']} {rule['score']:.1f}" for rule in added)
    return line


def as_json(report: CheckReport) -> str:
    document = {
        "version": FORMAT_VERSION,
        "file": report.file,
        "slug": report.slug,
        "provider": report.provider,
        "ok": report.ok,
        "counts": {severity.value: report.count(severity) for severity in Severity},
        "findings": [
            {
                "rule": item.finding.rule,
                "severity": item.finding.severity.value,
                "message": item.finding.message,
                "fix": item.finding.fix,
                "place": item.finding.place.dotted,
                "source": item.finding.place.source.value,
                "file": item.file,
                "line": item.line,
            }
            for item in report.findings
        ],
        "reach": _reach(report.reach),
        **{name: report.extras.get(name) for name in ("links", "spam")},
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _reach(reach: Reach | None) -> dict[str, Any] | None:
    if reach is None:
        return None
    values = asdict(reach)
    values["topics"] = list(reach.topics)
    return values
