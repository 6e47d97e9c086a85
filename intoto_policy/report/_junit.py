"""The report as JUnit XML, for CI test reporters.

Mapping, chosen for how GitLab, Jenkins and the GitHub test-report actions
display JUnit:

* one ``<testsuite>`` per step, named after it, plus a first suite named
  ``layout`` for the checks that belong to no step (only when there are
  any, or when the report has no step at all so the file is never empty);
* one ``<testcase>`` per check: ``classname`` is ``intoto-policy.<step>``
  (Jenkins groups by it), ``name`` is ``<kind>: <rule or message>``, made
  unique within the suite; the classname is made unique within the file
  (a step named ``layout``, or two names that read the same once cleaned,
  get `` #2``...), so that ``classname`` + ``name`` identifies one case and
  reporters that key results by it (GitLab, Jenkins) never merge two;
* a failed check has ``<failure message=... type=<kind>>`` whose text gives
  the rule, expected and actual values, details and the layout location;
* a warning is a passing test case with the warning in ``<system-out>``:
  reporters show it next to the test, while ``<skipped>`` would claim the
  check never ran;
* each attestation that did not count is a ``<skipped>`` test case in the
  suite of the step it was considered for (or in ``layout``): it really was
  left out, and reporters list skipped cases with their message.

Text is sanitised: characters XML 1.0 forbids (most control characters,
lone surrogates) become visible escapes, so the file always parses.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC
from typing import Final

from ._common import TOOL_NAME, clean, format_value
from ._model import Check, RejectedAttestation, Report, Status, StepResult

__all__ = ["GLOBAL_SUITE", "render_junit"]

#: Name of the suite holding checks that belong to no step.
GLOBAL_SUITE: Final = "layout"
_MAX_NAME: Final = 120


def _one_line(text: str) -> str:
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= _MAX_NAME else flat[: _MAX_NAME - 1] + "…"


def _body(check: Check) -> str:
    lines = [check.message]
    for label, value in (
        ("step", check.step),
        ("predicate", check.predicate_type),
        ("rule", check.rule),
    ):
        if value is not None:
            lines.append(f"{label}: {value}")
    if check.expected is not None:
        lines.append(f"expected: {format_value(check.expected)}")
    if check.actual is not None:
        lines.append(f"actual: {format_value(check.actual)}")
    for key in sorted(check.details):
        lines.append(f"{key}: {format_value(check.details[key])}")
    if check.location is not None:
        loc = check.location
        where = loc.file if loc.line is None else f"{loc.file}:{loc.line}"
        lines.append(f"at: {where}" + (f" ({loc.pointer})" if loc.pointer else ""))
    return clean("\n".join(lines))


class _Suite:
    def __init__(self, name: str, timestamp: str, taken: set[str]) -> None:
        self.element = ET.Element("testsuite", {"name": clean(name, keep_newlines=False)})
        self.timestamp = timestamp
        base = clean(f"{TOOL_NAME}.{name}", keep_newlines=False)
        classname, n = base, 1
        while classname in taken:
            n += 1
            classname = f"{base} #{n}"
        taken.add(classname)
        self.classname = classname
        self.names: set[str] = set()
        self.tests = self.failures = self.skipped = 0

    def _case(self, name: str) -> ET.Element:
        base = _one_line(name)
        unique, n = base, 1
        while unique in self.names:
            n += 1
            unique = f"{base} #{n}"
        self.names.add(unique)
        self.tests += 1
        return ET.SubElement(
            self.element, "testcase", {"classname": self.classname, "name": unique, "time": "0"}
        )

    def add_check(self, check: Check) -> None:
        case = self._case(f"{check.kind.value}: {check.rule or check.message}")
        if check.status is Status.FAIL:
            self.failures += 1
            failure = ET.SubElement(
                case,
                "failure",
                {"message": _one_line(check.message), "type": check.kind.value},
            )
            failure.text = _body(check)
        elif check.status in (Status.WARN, Status.INFO):
            out = ET.SubElement(case, "system-out")
            out.text = f"{check.status.value}: {_body(check)}"

    def add_rejected(self, item: RejectedAttestation) -> None:
        att = item.attestation
        case = self._case(f"attestation {att.source}")
        self.skipped += 1
        skipped = ET.SubElement(
            case,
            "skipped",
            {"message": _one_line(f"did not count ({item.reason.value}): {item.message}")},
        )
        lines = [item.message, f"reason: {item.reason.value}"]
        if att.predicate_type:
            lines.append(f"predicate: {att.predicate_type}")
        if att.digest:
            lines.append(f"sha256: {att.digest}")
        lines.extend(f"signed at: {t.text}" for t in att.signing_times)
        skipped.text = clean("\n".join(lines))

    def finish(self) -> ET.Element:
        self.element.attrib.update(
            {
                "tests": str(self.tests),
                "failures": str(self.failures),
                "errors": "0",
                "skipped": str(self.skipped),
                "time": "0",
                "timestamp": self.timestamp,
            }
        )
        return self.element


def _suites(report: Report, timestamp: str) -> Iterable[_Suite]:
    step_names = {s.name for s in report.steps}
    by_step: dict[str | None, list[RejectedAttestation]] = {}
    for item in report.rejected:
        key = item.step if item.step in step_names else None
        by_step.setdefault(key, []).append(item)
    taken: set[str] = set()
    if report.checks or by_step.get(None) or not report.steps:
        suite = _Suite(GLOBAL_SUITE, timestamp, taken)
        for check in report.checks:
            suite.add_check(check)
        for item in by_step.get(None, []):
            suite.add_rejected(item)
        yield suite
    seen: set[str] = set()
    for step in report.steps:
        yield _step_suite(
            step, by_step.get(step.name, []) if step.name not in seen else [], timestamp, taken
        )
        seen.add(step.name)


def _step_suite(
    step: StepResult, rejected: list[RejectedAttestation], timestamp: str, taken: set[str]
) -> _Suite:
    suite = _Suite(step.name, timestamp, taken)
    # Reporters show suite properties next to the results: the verified
    # signing time of each attestation that counted, with what vouches for it.
    signed = [(att, t) for att in step.attestations for t in att.signing_times]
    if signed:
        props = ET.SubElement(suite.element, "properties")
        for att, t in signed:
            ET.SubElement(
                props,
                "property",
                {
                    "name": clean(f"signed-at {att.source}", keep_newlines=False),
                    "value": t.text,
                },
            )
    for check in step.checks:
        suite.add_check(check)
    for item in rejected:
        suite.add_rejected(item)
    return suite


def render_junit(report: Report) -> str:
    """Render a report as JUnit XML.

    Args:
        report: The verification report.

    Returns:
        A UTF-8 XML document (declaration included), ending with a newline.
    """
    moment = report.verified_at
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    timestamp = moment.replace(tzinfo=None, microsecond=0).isoformat()
    root = ET.Element("testsuites", {"name": TOOL_NAME})
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for suite in _suites(report, timestamp):
        root.append(suite.finish())
        totals["tests"] += suite.tests
        totals["failures"] += suite.failures
        totals["skipped"] += suite.skipped
    root.attrib.update(
        {
            "tests": str(totals["tests"]),
            "failures": str(totals["failures"]),
            "errors": "0",
            "skipped": str(totals["skipped"]),
            "time": "0",
        }
    )
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
