"""A compact Markdown summary for CI step summaries and PR comments.

The verdict comes first, then a table of steps, then the failures with
expected and actual values, then (folded) warnings and attestations that
did not count. Every value is escaped for GitHub-flavoured Markdown: HTML
special characters become entities, inline syntax (emphasis, code, links,
table pipes) is backslash-escaped, line breaks become ``<br>``, and
control or direction-changing characters become visible escapes, so text
from an attestation cannot restructure the table or inject markup. Long
values and long lists are cut (``max_cell``, ``max_rows``) to stay within
the size limits of PR comments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

from ._common import clean, format_value
from ._model import Check, CheckKind, Report, Status, StepResult

__all__ = ["escape_markdown", "render_markdown"]

# Inline syntax that can appear mid-line: escapes, code, emphasis, links,
# table pipes, strikethrough and GitHub math. Block syntax (#, -, >) only
# acts at the start of a line, and values never start one.
_SPECIAL: Final = re.compile(r"([\\`*_\[\]|~$])")
_ICON: Final = {True: "✅", False: "❌"}


def escape_markdown(text: object, *, max_len: int | None = None) -> str:
    """Escape text for inline use (a table cell, a list item) in GFM.

    Args:
        text: The text; anything else is converted with ``str``.
        max_len: Cut the (unescaped) text to this many characters, marking
            the cut with ``…``.
    """
    value = clean(text)
    if max_len is not None and len(value) > max_len:
        value = value[: max_len - 1] + "…"
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _SPECIAL.sub(r"\\\1", value)
    return value.replace("\r", "").replace("\t", " ").replace("\n", "<br>")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(cell or " " for cell in row) + " |" for row in rows)
    return lines


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _threshold(step: StepResult) -> str:
    return "; ".join(
        f"{format_value(c.expected)} (found {'?' if c.actual is None else format_value(c.actual)})"
        for c in step.checks
        if c.kind is CheckKind.THRESHOLD and c.expected is not None
    )


def _step_row(step: StepResult, max_cell: int) -> list[str]:
    failed = sum(1 for c in step.checks if c.status is Status.FAIL)
    warned = sum(1 for c in step.checks if c.status is Status.WARN)
    counts = [f"{failed} failed"] if failed else []
    if warned:
        counts.append(f"{warned} warned")
    counts.append(f"{len(step.checks) - failed - warned} ok")
    signers = sorted({s.label for a in step.attestations for s in a.signers})
    return [
        escape_markdown(step.name, max_len=max_cell),
        f"{_ICON[step.passed]} {'pass' if step.passed else 'fail'}",
        str(len(step.attestations)),
        escape_markdown(", ".join(signers), max_len=max_cell) if signers else "none",
        escape_markdown(_threshold(step), max_len=max_cell),
        ", ".join(counts),
    ]


def _value(value: Any, max_cell: int) -> str:
    return "" if value is None else escape_markdown(format_value(value), max_len=max_cell)


def _failure_row(check: Check, max_cell: int) -> list[str]:
    why = check.message
    if check.rule is not None:
        why = f"{why}\nrule: {check.rule}"
    for key in sorted(check.details):
        why = f"{why}\n{key}: {format_value(check.details[key])}"
    where = ""
    if check.location is not None and check.location.line is not None:
        where = f"{check.location.file}:{check.location.line}"
    return [
        escape_markdown(check.step or "(layout)", max_len=max_cell),
        escape_markdown(check.kind.value),
        escape_markdown(why, max_len=max_cell),
        _value(check.expected, max_cell),
        _value(check.actual, max_cell),
        escape_markdown(where, max_len=max_cell),
    ]


def _signing_rows(report: Report, max_cell: int) -> list[list[str]]:
    """One row per verified signing time, counted attestations first."""
    rows: list[list[str]] = []
    for step in report.steps:
        for att in step.attestations:
            rows.extend(
                [
                    escape_markdown(att.source, max_len=max_cell),
                    escape_markdown(step.name, max_len=max_cell),
                    "yes",
                    t.to_dict()["time"],
                    t.source.value,
                ]
                for t in att.signing_times
            )
    for item in report.rejected:
        rows.extend(
            [
                escape_markdown(item.attestation.source, max_len=max_cell),
                escape_markdown(item.step or "", max_len=max_cell),
                "no",
                t.to_dict()["time"],
                t.source.value,
            ]
            for t in item.attestation.signing_times
        )
    return rows


def _cut(rows: list[list[str]], max_rows: int, width: int) -> list[list[str]]:
    if len(rows) <= max_rows:
        return rows
    more = len(rows) - max_rows
    return [*rows[:max_rows], [f"… and {more} more", *([""] * (width - 1))]]


def render_markdown(report: Report, *, max_rows: int = 50, max_cell: int = 300) -> str:
    """Render a compact Markdown summary of a report.

    Args:
        report: The verification report.
        max_rows: Most rows per table (failures, warnings, rejections);
            further rows are counted, not shown.
        max_cell: Most characters of any one value.

    Returns:
        GitHub-flavoured Markdown, ending with a newline.
    """
    verdict = "PASS" if report.passed else "FAIL"
    outcome = "may be deployed" if report.passed else "may **not** be deployed"
    lines = [f"### {_ICON[report.passed]} intoto-policy: {verdict} — the artifact {outcome}", ""]
    failed_steps = sum(1 for s in report.steps if not s.passed)
    summary = [
        f"**{_plural(len(report.failures), 'failure')}**",
        _plural(len(report.warnings), "warning"),
        f"{len(report.steps) - failed_steps} of {_plural(len(report.steps), 'step')} passed",
        f"{_plural(len(report.rejected), 'attestation')} did not count",
    ]
    lines.append(" · ".join(summary))
    lines.append("")
    layout = report.layout
    facts = [f"Layout {escape_markdown(layout.source, max_len=max_cell)}"]
    if layout.digest:
        facts.append(f"sha256:{layout.digest[:12]}…")
    facts.append(f"verified at {report.verified_at.isoformat().replace('+00:00', 'Z')}")
    if report.subjects:
        for subject in report.subjects:
            alg = "sha256" if "sha256" in subject else sorted(subject)[0]
            facts.append(escape_markdown(f"subject {alg}:{subject[alg][:12]}…"))
    else:
        facts.append("**no subject bound**")
    lines.append(" · ".join(facts))
    if report.steps:
        lines.append("")
        lines.extend(
            _table(
                ["Step", "Verdict", "Attestations", "Signers", "Threshold", "Checks"],
                (_step_row(step, max_cell) for step in report.steps),
            )
        )
    failures = report.failures
    if failures:
        lines += ["", "#### Failures", ""]
        rows = [_failure_row(c, max_cell) for c in failures]
        lines.extend(
            _table(
                ["Step", "Check", "Why", "Expected", "Actual", "Layout"],
                _cut(rows, max_rows, 6),
            )
        )
    warnings = report.warnings
    if warnings:
        lines += ["", f"<details><summary>Warnings ({len(warnings)})</summary>", ""]
        rows = [
            [
                escape_markdown(c.step or "(layout)", max_len=max_cell),
                escape_markdown(c.kind.value),
                escape_markdown(c.message, max_len=max_cell),
            ]
            for c in warnings
        ]
        lines.extend(_table(["Step", "Check", "Message"], _cut(rows, max_rows, 3)))
        lines += ["", "</details>"]
    signed = _signing_rows(report, max_cell)
    if signed:
        lines += ["", f"<details><summary>Signing times ({len(signed)})</summary>", ""]
        lines.extend(
            _table(
                ["Attestation", "Step", "Counted", "Signed at", "Vouched for by"],
                _cut(signed, max_rows, 5),
            )
        )
        lines += ["", "</details>"]
    if report.rejected:
        lines += [
            "",
            f"<details><summary>Attestations that did not count ({len(report.rejected)})</summary>",
            "",
        ]
        rows = [
            [
                escape_markdown(r.attestation.source, max_len=max_cell),
                escape_markdown(r.step or ""),
                escape_markdown(r.reason.value),
                escape_markdown(r.message, max_len=max_cell),
            ]
            for r in report.rejected
        ]
        lines.extend(_table(["Attestation", "Step", "Reason", "Message"], _cut(rows, max_rows, 4)))
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
