"""The report as SARIF 2.1.0, for GitHub code scanning and other viewers.

Design:

* One rule per :class:`CheckKind` (id ``intoto-policy/<kind>``), always all
  of them in the same order, so rule ids and indices are stable across runs;
  plus ``intoto-policy/rejected-attestation`` for attestations that did not
  count.
* Failed checks are ``error`` results, warnings ``warning``, attestations
  that did not count ``note``. Passing and informational checks are left
  out by default: GitHub turns every result into an alert whatever its
  level or kind, and closes an alert when a later upload no longer contains
  it, so the absence of a result is how a fixed problem is reported. With
  ``include_passing=True`` they are emitted as ``kind: "pass"`` /
  ``"informational"`` with level ``none``, as SARIF requires for non-failures.
* Every result has a physical location: the layout file and the line of the
  rule, else of its step, else line 1 (GitHub needs a region to place an
  alert), and a logical location naming the step. A stable
  ``partialFingerprints`` entry (rule id, step, predicate, rule text, JSON
  pointer, occurrence) keeps alerts matched across runs even when the
  layout's lines move.
* Messages carry the expected and actual values; ``properties`` carries
  them as JSON for tools.
* An attestation that did not count is located at the attestation file
  (and line, in a JSON Lines bundle), where the problem is.
* Every run has ``automationDetails.id`` (default
  ``intoto-policy/<layout>/``), so that GitHub keeps the alerts of
  different layouts apart and closes them per layout.
* GitHub's documented upload limits are respected: one run, one location
  per result, three tags per rule, at most :data:`MAX_RESULTS` results (the
  number GitHub displays; failures first, then warnings, then the rest, and
  a last note saying how many were left out), each message at most
  :data:`MAX_MESSAGE` characters and each JSON property value at most
  :data:`MAX_PROPERTY` characters once serialised, so that a hostile
  attestation cannot push the file over the 10 MB upload limit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any, Final
from urllib.parse import quote

from ._common import TOOL_NAME, check_location, dump_json, format_value, tool_version
from ._model import Check, CheckKind, Location, RejectedAttestation, Report, Status, StepResult

__all__ = [
    "MAX_MESSAGE",
    "MAX_PROPERTY",
    "MAX_RESULTS",
    "REJECTED_RULE_ID",
    "SARIF_SCHEMA",
    "render_sarif",
    "rule_id",
    "sarif_log",
]

#: Results per run that GitHub code scanning displays (it rejects more
#: than 25,000 and shows the top 5,000).
MAX_RESULTS: Final = 5000
#: Characters of one result message.
MAX_MESSAGE: Final = 4000
#: Characters of one result property value, serialised as JSON.
MAX_PROPERTY: Final = 4000

#: The schema URI written into ``$schema``.
SARIF_SCHEMA: Final = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_INFO_URI: Final = "https://github.com/intoto-policy/intoto-policy"
#: Rule id of results for attestations that did not count.
REJECTED_RULE_ID: Final = "intoto-policy/rejected-attestation"
_FINGERPRINT: Final = "intotoPolicyResult/v1"
_WINDOWS_DRIVE: Final = re.compile(r"[A-Za-z]:/")

# (short description, full description / help) per check kind.
_RULE_TEXT: Final[Mapping[CheckKind, tuple[str, str]]] = {
    CheckKind.LAYOUT: (
        "The layout is usable",
        (
            "The layout (the policy) must be valid, unexpired and, unless explicitly waived, "
            "signed by the expected layout keys. A failure here means nothing else could be "
            "trusted: fix the layout, its signature or its expiry date."
        ),
    ),
    CheckKind.SIGNATURE: (
        "Attestation signatures verify",
        (
            "Each attestation must carry a signature that verifies over the exact bytes that "
            "were received. A failure means an attestation was altered or signed with a key "
            "the layout does not list."
        ),
    ),
    CheckKind.AUTHORIZATION: (
        "Signers are authorized for the step",
        (
            "An attestation only counts for a step when its signer is one of the step's "
            "functionaries. A failure means a valid signature came from someone the layout "
            "does not trust for that step."
        ),
    ),
    CheckKind.THRESHOLD: (
        "Enough distinct principals attested",
        (
            "Each step requires attestations from a threshold number of distinct principals. "
            "Two signatures by the same key, or one key listed under two ids, count once. A "
            "failure lists how many were required and how many were found."
        ),
    ),
    CheckKind.ARTIFACT_RULE: (
        "Materials and products follow the artifact rules",
        (
            "The step's expected materials and products (CREATE, DELETE, MODIFY, ALLOW, "
            "REQUIRE, DISALLOW, MATCH) must hold for the artifacts its attestations record. "
            "A failure lists the artifact paths the rule rejected."
        ),
    ),
    CheckKind.ATTRIBUTE_RULE: (
        "Predicate attributes satisfy the layout's expressions",
        (
            "Each expected attribute is a CEL expression evaluated over the attestation's "
            "predicate. A failure shows the expression and the values it read."
        ),
    ),
    CheckKind.FRESHNESS: (
        "Attestations are fresh enough",
        (
            "Attestations must have been produced within the window the layout allows, "
            "measured at the verification's reference time."
        ),
    ),
    CheckKind.SUBJECT_BINDING: (
        "The attestations are about the artifact being deployed",
        (
            "The artifact's digest must match the subjects of the attestations that count. "
            "Without a bound subject, a verification cannot say anything about a specific "
            "artifact."
        ),
    ),
    CheckKind.INSPECTION: (
        "Inspections pass",
        "Inspections declared by the layout must succeed and their artifact rules hold.",
    ),
    CheckKind.COMMAND: (
        "Recorded commands match the layout",
        (
            "The command an attestation records is compared with the command the layout "
            "expects for the step; in-toto treats a mismatch as a warning."
        ),
    ),
    CheckKind.TUF: (
        "The layout was delivered intact through TUF",
        (
            "A layout named as a TUF target must come with metadata signed by a threshold of "
            "each role's keys, no older than what the client trusted before, unexpired at the "
            "verification time, and its bytes must match the signed hashes. A failure means "
            "the layout or its keys could not be trusted: rollback, freeze, a swapped file, "
            "missing signatures or an unreachable repository."
        ),
    ),
}

_REJECTED_TEXT: Final = (
    "Attestation did not count",
    (
        "An attestation was supplied but did not count toward any step: its signature did "
        "not verify, its signer is unknown or not authorized, it is about another artifact, "
        "or it is stale or malformed. This alone does not fail a verification; a step that "
        "lacks the attestations it needs fails its threshold check."
    ),
)

_LEVEL: Final[Mapping[Status, str]] = {
    Status.FAIL: "error",
    Status.WARN: "warning",
    Status.PASS: "none",
    Status.INFO: "none",
}
_KIND: Final[Mapping[Status, str]] = {
    Status.FAIL: "fail",
    Status.WARN: "fail",
    Status.PASS: "pass",
    Status.INFO: "informational",
}


def rule_id(kind: CheckKind) -> str:
    """The stable SARIF rule id of a check kind."""
    return f"{TOOL_NAME}/{kind.value}"


def _pascal(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _rule(rid: str, name: str, short: str, full: str) -> dict[str, Any]:
    return {
        "id": rid,
        "name": _pascal(name),
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": full, "markdown": f"**{short}.** {full}"},
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "tags": ["security", "supply-chain", "in-toto"],
            "precision": "very-high",
            "problem.severity": "error",
        },
    }


def _rules() -> list[dict[str, Any]]:
    rules = [_rule(rule_id(kind), kind.value, *_RULE_TEXT[kind]) for kind in CheckKind]
    rules.append(_rule(REJECTED_RULE_ID, "rejected-attestation", *_REJECTED_TEXT))
    return rules


def _uri(path: str) -> tuple[str, str | None]:
    """A SARIF artifact URI for a file name, and its uriBaseId if relative."""
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", path):
        return path, None
    posix = path.replace("\\", "/")
    if posix.startswith("/") or _WINDOWS_DRIVE.match(posix):
        return "file://" + ("" if posix.startswith("/") else "/") + quote(posix, safe="/:"), None
    parts = [p for p in PurePosixPath(posix).parts if p != "."]
    return quote("/".join(parts) or posix, safe="/"), "%SRCROOT%"


def _physical(loc: Location) -> dict[str, Any]:
    uri, base = _uri(loc.file)
    artifact: dict[str, Any] = {"uri": uri}
    if base is not None:
        artifact["uriBaseId"] = base
    return {"artifactLocation": artifact, "region": {"startLine": loc.line or 1}}


def _message(check: Check) -> str:
    lines = [check.message]
    if check.step is not None:
        lines.append(f"Step: {check.step}")
    if check.predicate_type is not None:
        lines.append(f"Predicate: {check.predicate_type}")
    if check.rule is not None:
        lines.append(f"Rule: {check.rule}")
    if check.expected is not None:
        lines.append(f"Expected: {format_value(check.expected)}")
    if check.actual is not None:
        lines.append(f"Actual: {format_value(check.actual)}")
    for key in sorted(check.details):
        lines.append(f"{key}: {format_value(check.details[key])}")
    return "\n".join(lines)


def _capped(text: str) -> str:
    if len(text) <= MAX_MESSAGE:
        return text
    note = "\n… (truncated: the json report has the whole message)"
    return text[: MAX_MESSAGE - len(note)] + note


def _small(value: Any) -> Any:
    """A property value, or a marker if its JSON is too long for the file's budget."""
    try:
        size = len(dump_json(value))
    except (TypeError, ValueError):
        return {"truncated": True}
    return value if size <= MAX_PROPERTY else {"truncated": True, "jsonLength": size}


_ATTESTATION_LINE: Final = re.compile(r"(.+):([1-9][0-9]*)")


def _attestation_location(source: str) -> Location:
    """The file (and JSON Lines line) an attestation was read from."""
    match = _ATTESTATION_LINE.fullmatch(source)
    if match and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", source):
        return Location(file=match[1], line=int(match[2]))
    return Location(file=source)


def _fingerprint(parts: tuple[str, ...], seen: dict[tuple[str, ...], int]) -> dict[str, str]:
    occurrence = seen.get(parts, 0)
    seen[parts] = occurrence + 1
    text = "\x1f".join((*parts, str(occurrence)))
    return {_FINGERPRINT: hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()}


def _check_result(
    check: Check,
    step: StepResult | None,
    report: Report,
    rule_index: Mapping[str, int],
    seen: dict[tuple[str, ...], int],
) -> dict[str, Any]:
    rid = rule_id(check.kind)
    loc = check_location(check, step, report)
    step_name = check.step if check.step is not None else (step.name if step else None)
    result: dict[str, Any] = {
        "ruleId": rid,
        "ruleIndex": rule_index[rid],
        "kind": _KIND[check.status],
        "level": _LEVEL[check.status],
        "message": {"text": _capped(_message(check))},
        "locations": [{"physicalLocation": _physical(loc)}],
    }
    if step_name is not None:
        result["locations"][0]["logicalLocations"] = [
            {"name": step_name, "fullyQualifiedName": f"steps/{step_name}", "kind": "module"}
        ]
    parts = (rid, step_name or "", check.predicate_type or "", check.rule or "", loc.pointer)
    result["partialFingerprints"] = _fingerprint(parts, seen)
    props: dict[str, Any] = {"status": check.status.value}
    if check.rule is not None:
        props["rule"] = check.rule
    if check.predicate_type is not None:
        props["predicateType"] = check.predicate_type
    if check.expected is not None:
        props["expected"] = _small(check.expected)
    if check.actual is not None:
        props["actual"] = _small(check.actual)
    if check.details:
        props["details"] = _small(dict(check.details))
    if loc.pointer:
        props["pointer"] = loc.pointer
    result["properties"] = props
    return result


def _rejected_result(
    item: RejectedAttestation,
    report: Report,
    rule_index: Mapping[str, int],
    seen: dict[tuple[str, ...], int],
) -> dict[str, Any]:
    att = item.attestation
    lines = [f"{att.source} did not count: {item.message}", f"Reason: {item.reason.value}"]
    if item.step is not None:
        lines.append(f"Step: {item.step}")
    if att.predicate_type:
        lines.append(f"Predicate: {att.predicate_type}")
    lines.extend(f"Signed at: {t.text}" for t in att.signing_times)
    result: dict[str, Any] = {
        "ruleId": REJECTED_RULE_ID,
        "ruleIndex": rule_index[REJECTED_RULE_ID],
        "kind": "fail",
        "level": "note",
        "message": {"text": _capped("\n".join(lines))},
        "locations": [{"physicalLocation": _physical(_attestation_location(att.source))}],
    }
    if item.step is not None:
        result["locations"][0]["logicalLocations"] = [
            {"name": item.step, "fullyQualifiedName": f"steps/{item.step}", "kind": "module"}
        ]
    parts = (REJECTED_RULE_ID, item.step or "", att.source, att.digest, item.reason.value)
    result["partialFingerprints"] = _fingerprint(parts, seen)
    result["properties"] = {"reason": item.reason.value, "attestation": _small(att.to_dict())}
    return result


_ORDER: Final[Mapping[str, int]] = {"error": 0, "warning": 1, "note": 2, "none": 3}


def _within_limit(results: list[dict[str, Any]], report: Report) -> list[dict[str, Any]]:
    """At most MAX_RESULTS results: the most severe, then a note on the rest."""
    if len(results) <= MAX_RESULTS:
        return results
    kept = sorted(results, key=lambda r: _ORDER[r["level"]])[: MAX_RESULTS - 1]
    left = len(results) - len(kept)
    kept.append(
        {
            "ruleId": rule_id(CheckKind.LAYOUT),
            "ruleIndex": list(CheckKind).index(CheckKind.LAYOUT),
            "kind": "informational",
            "level": "note",
            "message": {
                "text": f"{left} more results were left out (GitHub code scanning displays at "
                f"most {MAX_RESULTS} per run); the json report has them all"
            },
            "locations": [{"physicalLocation": _physical(Location(report.layout.source))}],
            "partialFingerprints": {
                _FINGERPRINT: hashlib.sha256(b"intoto-policy/results-left-out").hexdigest()
            },
            "properties": {"leftOut": left},
        }
    )
    return kept


def _checks(report: Report) -> Iterator[tuple[Check, StepResult | None]]:
    for check in report.checks:
        yield check, None
    for step in report.steps:
        for check in step.checks:
            yield check, step


def sarif_log(
    report: Report,
    *,
    include_passing: bool = False,
    category: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """The SARIF log of a report, as a JSON-able dict.

    Args:
        report: The verification report.
        include_passing: Also emit passing and informational checks (as
            ``kind: pass`` / ``informational``, level ``none``).
        category: A run category (``runAutomationDetails.id``); GitHub keeps
            the alerts of different categories apart. Default
            ``intoto-policy/<layout file name>/``.
        version: The tool version to record; default the installed one.
    """
    rules = _rules()
    rule_index = {rule["id"]: i for i, rule in enumerate(rules)}
    seen: dict[tuple[str, ...], int] = {}
    results = [
        _check_result(check, step, report, rule_index, seen)
        for check, step in _checks(report)
        if include_passing or check.status in (Status.FAIL, Status.WARN)
    ]
    results.extend(_rejected_result(r, report, rule_index, seen) for r in report.rejected)
    results = _within_limit(results, report)
    tool_version_text = version or tool_version()
    driver: dict[str, Any] = {
        "name": TOOL_NAME,
        "version": tool_version_text,
        "informationUri": _INFO_URI,
        "rules": rules,
    }
    if re.fullmatch(r"\d+\.\d+\.\d+(?:[-+].*)?", tool_version_text):
        driver["semanticVersion"] = tool_version_text
    layout_uri, layout_base = _uri(report.layout.source)
    artifact: dict[str, Any] = {"location": {"uri": layout_uri}, "roles": ["policy"]}
    if layout_base is not None:
        artifact["location"]["uriBaseId"] = layout_base
    if report.layout.digest:
        artifact["hashes"] = {"sha-256": report.layout.digest}
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [{"executionSuccessful": True}],
        "artifacts": [artifact],
        "results": results,
        "properties": {
            "verdict": report.verdict,
            "verifiedAt": report.to_dict()["verifiedAt"],
            "layout": report.layout.to_dict(),
            "subjects": [dict(sorted(s.items())) for s in report.subjects],
            # The evidence that counted, with its signers and verified
            # signing times (counted attestations produce no result).
            "attestations": [
                {"step": step.name, **att.to_dict()}
                for step in report.steps
                for att in step.attestations
            ],
        },
    }
    if not category:
        category = f"{TOOL_NAME}/{PurePosixPath(layout_uri).name or 'layout'}"
    run["automationDetails"] = {"id": category if category.endswith("/") else category + "/"}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(
    report: Report,
    *,
    include_passing: bool = False,
    category: str | None = None,
    version: str | None = None,
) -> str:
    """Render a report as a SARIF 2.1.0 log.

    Args:
        report: The verification report.
        include_passing: Also emit passing and informational checks.
        category: A run category for GitHub code scanning.
        version: The tool version to record; default the installed one.

    Returns:
        The SARIF JSON document, ending with a newline.

    Raises:
        TypeError: A check carries a value that is not JSON-serialisable.
        ValueError: A check carries a NaN or infinite float.
    """
    log = sarif_log(report, include_passing=include_passing, category=category, version=version)
    return dump_json(log, indent=2) + "\n"
