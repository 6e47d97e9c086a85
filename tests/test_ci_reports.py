"""Reports where CI looks (issue #15): SARIF that GitHub code scanning shows
and accepts, JUnit that GitLab and Jenkins show without merging cases.

The SARIF cases validate against the SARIF 2.1.0 schema in
``../shared/schemas`` and check GitHub's documented upload limits.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from intoto_policy.report._junit import render_junit
from intoto_policy.report._model import (
    AttestationRef,
    Check,
    CheckKind,
    LayoutInfo,
    Location,
    RejectedAttestation,
    RejectReason,
    Report,
    Status,
    StepResult,
)
from intoto_policy.report._sarif import MAX_MESSAGE, MAX_PROPERTY, MAX_RESULTS, render_sarif

ROOT = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
LAYOUT = "layouts/release.yml"
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SARIF_SCHEMA}")
    return jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))


def _fail(n: int, step: str = "build", **kw: Any) -> Check:
    return Check(CheckKind.ARTIFACT_RULE, Status.FAIL, f"rule {n} failed", step=step, **kw)


def _report(*steps: StepResult, **kw: Any) -> Report:
    return Report(
        layout=LayoutInfo(source=LAYOUT, digest="b" * 64), verified_at=AT, steps=steps, **kw
    )


def _rejected(source: str) -> Report:
    return _report(
        StepResult("build", (_fail(1),), location=Location(LAYOUT, 10)),
        rejected=(
            RejectedAttestation(
                AttestationRef(source), RejectReason.MALFORMED, "bad", step="build"
            ),
        ),
    )


def _sarif(report: Report, validator: jsonschema.Draft4Validator, **kw: Any) -> dict[str, Any]:
    log = json.loads(render_sarif(report, version="1.2.3", **kw))
    validator.validate(log)
    assert len(log["runs"]) == 1  # GitHub: at most 20 runs per file
    for result in log["runs"][0]["results"]:
        assert len(result["locations"]) == 1  # at most 1,000 locations per result
        assert result["partialFingerprints"]
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        assert len(rule["properties"]["tags"]) <= 10  # GitHub shows 10 tags per rule
    return log


@pytest.mark.parametrize(
    ("source", "uri", "line"),
    [
        ("evidence/build.intoto.jsonl:3", "evidence/build.intoto.jsonl", 3),
        ("evidence/build.json", "evidence/build.json", 1),
        ("/abs/att.json:12", "file:///abs/att.json", 12),
    ],
    ids=["jsonl-line", "file", "absolute-with-line"],
)
def test_sarif_rejected_attestation_is_located_at_the_attestation(
    source: str, uri: str, line: int, validator: jsonschema.Draft4Validator
) -> None:
    log = _sarif(_rejected(source), validator)
    (rejected,) = [r for r in log["runs"][0]["results"] if r["level"] == "note"]
    phys = rejected["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"] == uri
    assert phys["region"]["startLine"] == line


@pytest.mark.parametrize(
    ("category", "want"),
    [(None, "intoto-policy/release.yml/"), ("deploy", "deploy/"), ("deploy/", "deploy/")],
    ids=["default", "given", "given-with-slash"],
)
def test_sarif_run_always_has_automation_details(
    category: str | None, want: str, validator: jsonschema.Draft4Validator
) -> None:
    log = _sarif(_rejected("a.json"), validator, category=category)
    assert log["runs"][0]["automationDetails"]["id"] == want


@pytest.mark.parametrize("count", [MAX_RESULTS, MAX_RESULTS + 1, 3 * MAX_RESULTS], ids=str)
def test_sarif_results_stay_within_what_github_displays(
    count: int, validator: jsonschema.Draft4Validator
) -> None:
    warn = Check(CheckKind.COMMAND, Status.WARN, "command differs", step="build")
    checks = (warn, *(_fail(i) for i in range(count - 1)))
    log = _sarif(_report(StepResult("build", checks)), validator)
    results = log["runs"][0]["results"]
    assert len(results) == min(count, MAX_RESULTS)
    if count > MAX_RESULTS:
        assert results[-1]["properties"]["leftOut"] == count - (MAX_RESULTS - 1)
        assert all(r["level"] == "error" for r in results[:-1])  # failures first
    fingerprints = [r["partialFingerprints"]["intotoPolicyResult/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)


def test_sarif_huge_values_are_capped(validator: jsonschema.Draft4Validator) -> None:
    huge = "x" * 200_000
    check = Check(
        CheckKind.ATTRIBUTE_RULE,
        Status.FAIL,
        huge,
        step="build",
        actual=huge,
        expected=[huge],
        details={"why": huge},
    )
    report = _report(StepResult("build", (check,)))
    text = render_sarif(report, version="1.2.3")
    log = _sarif(report, validator)
    (result,) = log["runs"][0]["results"]
    assert len(result["message"]["text"]) <= MAX_MESSAGE
    for name in ("actual", "expected", "details"):
        assert len(json.dumps(result["properties"][name])) <= MAX_PROPERTY
    assert len(text) < 20 * MAX_MESSAGE


def _cases(xml: str) -> list[tuple[str | None, str | None]]:
    root = ET.fromstring(xml.encode("utf-8"))
    return [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]


@pytest.mark.parametrize(
    "steps",
    [
        ("layout",),  # the same classname as the suite of layout-level checks
        ("build", "build"),
        ("a\x1bb", "a\x1bb"),
        ("a\nb", "a b"),  # two names that read the same once cleaned
    ],
    ids=["step-named-layout", "duplicate-step", "duplicate-hostile", "clean-collision"],
)
def test_junit_classname_and_name_are_unique(steps: tuple[str, ...]) -> None:
    layout_check = Check(CheckKind.LAYOUT, Status.FAIL, "rule 1 failed")
    report = _report(
        *(StepResult(name, (_fail(1, step=name),)) for name in steps), checks=(layout_check,)
    )
    cases = _cases(render_junit(report))
    assert len(cases) == len(steps) + 1
    assert len(set(cases)) == len(cases)


def test_junit_failure_body_has_the_reason() -> None:
    check = _fail(1, rule="DISALLOW *", expected=[], actual=["dist/extra.so"])
    root = ET.fromstring(render_junit(_report(StepResult("build", (check,)))).encode("utf-8"))
    (failure,) = root.iter("failure")
    assert "rule 1 failed" in (failure.text or "")
    assert 'actual: ["dist/extra.so"]' in (failure.text or "")


def test_text_names_each_signer_by_one_label_and_lists_principals_once() -> None:
    from intoto_policy.report._model import Signer
    from intoto_policy.report._text import render_text

    builder = Signer(principal="key:" + "ab" * 32, keyid="builder")
    att = AttestationRef("build.json", "a" * 64, signers=(builder,))
    report = _report(
        StepResult("build", (), attestations=(att,)),
        StepResult("scan", (), attestations=(AttestationRef("scan.json", signers=(builder,)),)),
    )
    text = render_text(report)
    assert text.count("signed by key builder\n") == 2  # one label, no bracketed fingerprint
    assert "[key:" not in text
    assert text.count("key:abababababab…") == 1  # the principal, once
    assert "the SHA-256 of its public key" in text
