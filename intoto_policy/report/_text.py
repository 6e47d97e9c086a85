"""Human-readable report for terminals and CI logs.

The verdict comes first, then every step with the attestations that
counted, their signers and the step's threshold, then every check with its
status and, for failures, what the layout expected and what was found.
Attestations that did not count and warnings follow, and a one-line
summary closes the report. Output is deterministic: the order is the
report's own (layout order), detail keys are sorted, and nothing depends on
the environment. ANSI colour is added only when ``color=True``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from ._common import clean, format_value, short_principal
from ._model import Check, CheckKind, RejectedAttestation, Report, Status, StepResult

__all__ = ["render_text"]

_RESET: Final = "\x1b[0m"
_STYLE: Final[Mapping[str, str]] = {
    "pass": "\x1b[32m",
    "fail": "\x1b[1;31m",
    "warn": "\x1b[33m",
    "info": "\x1b[36m",
    "head": "\x1b[1m",
    "dim": "\x1b[2m",
}
_KIND_WIDTH: Final = 16
_INDENT: Final = "    "
_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")


class _Writer:
    def __init__(self, color: bool) -> None:
        self.color = color
        self.lines: list[str] = []

    def style(self, text: str, name: str) -> str:
        if not self.color or not text:
            return text
        return f"{_STYLE[name]}{text}{_RESET}"

    def status(self, status: Status) -> str:
        return self.style(status.value.upper().ljust(4), status.value)

    def line(self, text: str = "") -> None:
        self.lines.append(text.rstrip())

    def block(self, prefix: str, text: str, indent: str) -> None:
        """A possibly multi-line value: continuation lines aligned under the first."""
        first, *rest = clean(text).split("\n")
        self.line(prefix + first)
        pad = indent + " " * (len(_ANSI.sub("", prefix)) - len(indent))
        for more in rest:
            self.line(pad + more)


def _when(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def _threshold(step: StepResult) -> str | None:
    found = [
        f"{format_value(c.expected)}, found {'?' if c.actual is None else format_value(c.actual)}"
        for c in step.checks
        if c.kind is CheckKind.THRESHOLD and c.expected is not None
    ]
    return "threshold " + "; ".join(found) if found else None


def _fields(check: Check) -> Iterable[tuple[str, Any]]:
    if check.rule is not None:
        yield "rule", check.rule
    if check.predicate_type is not None:
        yield "predicate", check.predicate_type
    if check.expected is not None:
        yield "expected", check.expected
    if check.actual is not None:
        yield "actual", check.actual
    for key in sorted(check.details):
        yield key, check.details[key]


def _write_field(out: _Writer, indent: str, name: str, value: Any, width: int) -> None:
    prefix = f"{indent}{clean(name, keep_newlines=False)}:".ljust(len(indent) + width + 2)
    items = value if isinstance(value, list | tuple) else None
    if items and len(items) > 1 and all(not isinstance(v, dict | list | tuple) for v in items):
        out.line(prefix.rstrip())
        for item in items:
            out.block(f"{indent}  - ", format_value(item), indent + "    ")
        return
    out.block(prefix, format_value(value), indent)


def _write_check(out: _Writer, check: Check, indent: str) -> None:
    kind = check.kind.value.ljust(_KIND_WIDTH)
    out.block(f"{indent}{out.status(check.status)}  {kind}", check.message, indent + " " * 6)
    if check.status is Status.PASS:
        return
    inner = indent + " " * 6
    fields = list(_fields(check))
    if check.location is not None:
        fields.append(("at", _where(check)))
    width = max((len(name) for name, _ in fields), default=0)
    for name, value in fields:
        _write_field(out, inner, name, value, width)


def _where(check: Check) -> str:
    loc = check.location
    if loc is None:
        return ""
    text = loc.file if loc.line is None else f"{loc.file}:{loc.line}"
    return f"{text} ({loc.pointer})" if loc.pointer else text


def _write_step(out: _Writer, step: StepResult) -> None:
    verdict = Status.PASS if step.passed else Status.FAIL
    header = f"Step {clean(step.name, keep_newlines=False)}: "
    extra = _threshold(step)
    where = ""
    if step.location is not None and step.location.line is not None:
        where = f"at {step.location.file}:{step.location.line}"
    tail = "; ".join(clean(x, keep_newlines=False) for x in (extra, where) if x)
    out.line(f"{out.style(header, 'head')}{out.status(verdict)}" + (f"  ({tail})" if tail else ""))
    if step.attestations:
        out.line(f"  attestations that counted ({len(step.attestations)}):")
        for att in step.attestations:
            what = " ".join(
                clean(x, keep_newlines=False) for x in (att.source, att.predicate_type) if x
            )
            out.line(f"    {what}")
            if att.signers:
                for signer in att.signers:
                    out.line(f"      signed by {clean(signer.label, keep_newlines=False)}")
                    for ext_name, ext_value in sorted(signer.extensions.items()):
                        out.line(
                            f"        {clean(ext_name, keep_newlines=False)}: "
                            f"{clean(ext_value, keep_newlines=False)}"
                        )
            else:
                out.line("      signed by nobody")
            for signed in att.signing_times:
                out.line(f"      signed at {signed.text}")
    else:
        out.line("  attestations that counted: none")
    if step.checks:
        out.line(f"  checks ({len(step.checks)}):")
        for check in step.checks:
            _write_check(out, check, _INDENT)
    else:
        out.line("  checks: none")


def _write_principals(out: _Writer, report: Report) -> None:
    """Each signer's principal, once: signers are named by one label elsewhere."""
    seen: dict[tuple[str, str], None] = {}
    atts = [a for step in report.steps for a in step.attestations]
    atts += [r.attestation for r in report.rejected]
    for att in atts:
        for signer in att.signers:
            if signer.principal and signer.principal not in signer.label:
                seen.setdefault((signer.label, signer.principal), None)
    if not seen:
        return
    out.line()
    out.line(out.style("Signers (thresholds count each principal once)", "head"))
    width = max(len(clean(label, keep_newlines=False)) for label, _ in seen)
    for label, principal in seen:
        name = clean(label, keep_newlines=False).ljust(width)
        out.line(f"  {name}  {clean(short_principal(principal), keep_newlines=False)}")
    if any(p.startswith("key:") for _, p in seen):
        out.line("  (key:… is the key's fingerprint, the SHA-256 of its public key)")


def _write_rejected(out: _Writer, rejected: tuple[RejectedAttestation, ...]) -> None:
    out.line(out.style(f"Attestations that did not count ({len(rejected)})", "head"))
    for item in rejected:
        att = item.attestation
        step = f" (step {item.step})" if item.step is not None else ""
        out.line(f"  {clean(att.source, keep_newlines=False)}")
        out.block(
            f"    {item.reason.value}{clean(step, keep_newlines=False)}: ", item.message, "      "
        )
        if att.predicate_type:
            out.line(f"      predicate {clean(att.predicate_type, keep_newlines=False)}")
        for signer in att.signers:
            out.line(f"      signed by {clean(signer.label, keep_newlines=False)}")
            for ext_name, ext_value in sorted(signer.extensions.items()):
                out.line(
                    f"        {clean(ext_name, keep_newlines=False)}: "
                    f"{clean(ext_value, keep_newlines=False)}"
                )
        for signed in att.signing_times:
            out.line(f"      signed at {signed.text}")


def _summary(report: Report) -> str:
    failed_steps = sum(1 for s in report.steps if not s.passed)
    parts = [
        _plural(len(report.failures), "failure"),
        _plural(len(report.warnings), "warning"),
        f"{len(report.steps) - failed_steps} of {_plural(len(report.steps), 'step')} passed",
        _plural(len(report.rejected), "attestation") + " did not count",
    ]
    return ", ".join(parts)


def render_text(report: Report, *, color: bool = False) -> str:
    """Render a report for people.

    Args:
        report: The verification report.
        color: Add ANSI colours. The caller decides (the CLI: stdout is a
            TTY and ``NO_COLOR`` is unset); the renderer never looks.

    Returns:
        The report as text, ending with a newline.
    """
    out = _Writer(color)
    if report.passed:
        verdict = out.style("PASS", "pass") + ": the artifact may be deployed"
    else:
        verdict = out.style("FAIL", "fail") + ": the artifact may NOT be deployed"
    out.line(f"{verdict} ({_summary(report)})")
    layout = report.layout
    facts = [layout.format + " layout"]
    if layout.digest:
        facts.append(f"sha256:{layout.digest}")
    facts.append(
        "signed by " + ", ".join(layout.signed_by)
        if layout.signed_by
        else ("signed" if layout.signed else "unsigned")
    )
    if layout.expires is not None:
        facts.append(f"expires {_when(layout.expires)}")
    out.line(f"  layout:      {clean(layout.source, keep_newlines=False)}")
    out.line(f"               {clean(', '.join(facts), keep_newlines=False)}")
    out.line(f"  verified at: {_when(report.verified_at)}")
    if report.subjects:
        for i, subject in enumerate(report.subjects):
            digests = ", ".join(f"{alg}:{value}" for alg, value in sorted(subject.items()))
            label = "  subject:     " if i == 0 else " " * 15
            out.line(label + clean(digests, keep_newlines=False))
    else:
        out.line("  subject:     none bound")
    for i, (name, value) in enumerate(sorted(report.parameters.items())):
        label = "  parameters:  " if i == 0 else " " * 15
        out.block(label + clean(name, keep_newlines=False) + "=", value, " " * 15)
    for i, record in enumerate(report.sources):  # verify --from
        label = "  fetched:     " if i == 0 else " " * 15
        text = f"{record.source} ({record.attestations} attestation(s))"
        out.line(label + clean(text, keep_newlines=False))
    if report.checks:
        out.line()
        out.line(out.style("Layout checks", "head"))
        for check in report.checks:
            _write_check(out, check, "  ")
    for step in report.steps:
        out.line()
        _write_step(out, step)
    if report.rejected:
        out.line()
        _write_rejected(out, report.rejected)
    _write_principals(out, report)
    warnings = report.warnings
    if warnings:
        out.line()
        out.line(out.style(f"Warnings ({len(warnings)})", "head"))
        for check in warnings:
            where = f"step {check.step}: " if check.step is not None else ""
            where = clean(where, keep_newlines=False)
            out.block(
                f"  {out.status(check.status)}  {where}[{check.kind.value}] ",
                check.message,
                "        ",
            )
    out.line()
    final = out.style("PASS", "pass") if report.passed else out.style("FAIL", "fail")
    out.line(f"Result: {final} ({_summary(report)})")
    return "\n".join(out.lines) + "\n"
