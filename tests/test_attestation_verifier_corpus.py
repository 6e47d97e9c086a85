"""The in-toto attestation-verifier's layouts, test data and derived scenarios.

The upstream layouts must load exactly as written and pass with their test
data; each derived scenario must give the verdict in its EXPECTED.txt.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intoto_policy import CheckKind, RejectReason, verify

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "attestation-verifier"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
AT = datetime(2026, 11, 22, tzinfo=UTC)
UPSTREAM = CORPUS / "attestation-verifier"

# Scenario -> (verdict, a check kind that must fail, a rejection reason that must appear)
DERIVED = {
    "00-baseline-pass": ("pass", None, None),
    "01-tampered-payload": ("fail", CheckKind.THRESHOLD, RejectReason.BAD_SIGNATURE),
    "02-wrong-builder-id": ("fail", CheckKind.ATTRIBUTE_RULE, RejectReason.FAILED_RULES),
    "03-extra-product": ("fail", CheckKind.ARTIFACT_RULE, RejectReason.FAILED_RULES),
    "04-material-mismatch": ("fail", CheckKind.ARTIFACT_RULE, RejectReason.FAILED_RULES),
    "05-expired-layout": ("fail", CheckKind.LAYOUT, None),
    "06-test-failed": ("fail", CheckKind.ATTRIBUTE_RULE, RejectReason.FAILED_RULES),
    "07-threshold-not-met": ("fail", CheckKind.THRESHOLD, None),
    "08-unknown-signer": ("fail", CheckKind.THRESHOLD, RejectReason.UNKNOWN_SIGNER),
    "09-warn-only-rule": ("pass", None, None),
    "10-missing-test-step": ("fail", CheckKind.THRESHOLD, None),
    # Claims are keyed by predicate type: a test-result/v0.2 attestation does
    # not count for a step that expects v0.1, and is listed as unexpected.
    "11-wrong-predicate-type": ("fail", CheckKind.THRESHOLD, RejectReason.UNEXPECTED),
}


def test_every_derived_scenario_is_covered() -> None:
    assert {p.name for p in (CORPUS / "derived-scenarios").iterdir() if p.is_dir()} == set(DERIVED)


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_derived_scenarios(name: str) -> None:
    verdict, kind, reason = DERIVED[name]
    folder = CORPUS / "derived-scenarios" / name
    expected_text = (folder / "EXPECTED.txt").read_text()
    assert expected_text.split()[0].rstrip(":").lower() == verdict
    report = verify(folder / "layout.yml", [folder / "attestations"], at=AT, allow_unsigned=True)
    assert report.verdict == verdict, [c.message for c in report.failures]
    if kind is not None:
        assert kind in {c.kind for c in report.failures}
    if reason is not None:
        assert reason in {r.reason for r in report.rejected}
    if name == "09-warn-only-rule":
        assert [c.kind for c in report.warnings] == [CheckKind.ATTRIBUTE_RULE]


def test_upstream_layout_passes_with_test_data() -> None:
    report = verify(
        UPSTREAM / "layouts" / "layout.yml", [UPSTREAM / "test-data"], at=AT, allow_unsigned=True
    )
    assert report, [c.message for c in report.failures]
    assert [s.name for s in report.steps] == ["clone", "test", "build"]
    assert all(len(s.attestations) == 1 for s in report.steps)


def test_upstream_npm_layout_passes_with_its_parameters() -> None:
    params = json.loads((UPSTREAM / "parameters" / "npm-sigstore.json").read_text())
    report = verify(
        UPSTREAM / "layouts" / "layout-npm.yml",
        [UPSTREAM / "test-data-npm"],
        at=AT,
        allow_unsigned=True,
        params=params,
    )
    assert report, [c.message for c in report.failures]
    assert report.parameters == params


def test_npm_layout_with_a_wrong_parameter_fails() -> None:
    params = json.loads((UPSTREAM / "parameters" / "npm-sigstore.json").read_text())
    params["package_version"] = "9.9.9"
    report = verify(
        UPSTREAM / "layouts" / "layout-npm.yml",
        [UPSTREAM / "test-data-npm"],
        at=AT,
        allow_unsigned=True,
        params=params,
    )
    assert not report
    assert CheckKind.ATTRIBUTE_RULE in {c.kind for c in report.failures}
