"""predicateTypes: one expected predicate met by any of several predicate types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from intoto_policy import Layout, SchemaError, ValidationError, load_layout, verify_attestations
from intoto_policy.policy._lint import lint_layout
from intoto_policy.policy._loading import parse_layout_document
from intoto_policy.report._model import RejectReason
from tests.test_verify import AT, KEYS, functionary, signed, statement

SPDX = "https://spdx.dev/Document/v2.3"
CDX = "https://cyclonedx.org/bom"
OTHER = "https://example.com/other/v1"
SBOM = KEYS["scanner"].keyid


def _doc(pred: dict[str, Any], *, extra_preds: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {SBOM: functionary("scanner")},
        "steps": [
            {
                "name": "sbom",
                "functionaries": [SBOM],
                "expectedPredicates": [pred, *extra_preds],
            }
        ],
    }


ANY_SBOM = {
    "predicateTypes": [SPDX, CDX],
    "expectedAttributes": [
        {
            "rule": f"predicateType == '{SPDX}' ? has(predicate.spdxVersion) : has(predicate.bomFormat)"
        }
    ],
}

# (id, predicate type of the attestation, its predicate, verdict)
MATCHING = [
    ("spdx", SPDX, {"spdxVersion": "SPDX-2.3"}, True),
    ("cyclonedx", CDX, {"bomFormat": "CycloneDX"}, True),
    ("other-type-not-accepted", OTHER, {"spdxVersion": "SPDX-2.3"}, False),
    ("rule-sees-the-actual-type", CDX, {"spdxVersion": "SPDX-2.3"}, False),
]


@pytest.mark.parametrize(
    ("ptype", "predicate", "verdict"),
    [pytest.param(*c[1:], id=c[0]) for c in MATCHING],
)
def test_any_of_several_types(ptype: str, predicate: dict[str, Any], verdict: bool) -> None:
    layout = Layout.from_dict(_doc(dict(ANY_SBOM)))
    report = verify_attestations(layout, [signed(statement(ptype, predicate), "scanner")], at=AT)
    assert bool(report) is verdict, [c.message for c in report.failures]
    if verdict:
        (att,) = report.steps[0].attestations
        assert att.predicate_type == ptype  # the report names the type that matched
    elif ptype == OTHER:
        assert {r.reason for r in report.rejected} == {RejectReason.UNEXPECTED}


def test_one_attestation_of_each_type_is_one_principal() -> None:
    layout = Layout.from_dict(_doc({**ANY_SBOM, "threshold": 1}))
    atts = [
        signed(statement(SPDX, {"spdxVersion": "SPDX-2.3"}), "scanner", source="a.json"),
        signed(statement(CDX, {"bomFormat": "CycloneDX"}), "scanner", source="b.json"),
    ]
    report = verify_attestations(layout, atts, at=AT)
    assert report
    (threshold,) = [c for c in report.steps[0].checks if c.kind.value == "threshold"]
    assert threshold.actual == 1  # one key, two types: still one principal
    assert threshold.predicate_type == f"{SPDX} | {CDX}"


BAD = [
    pytest.param({"predicateType": SPDX, "predicateTypes": [CDX]}, "not both", id="both"),
    pytest.param({"predicateTypes": []}, "non-empty", id="empty"),
    pytest.param({"predicateTypes": [SPDX, SPDX]}, "twice", id="duplicate"),
    pytest.param({"predicateTypes": [SPDX, 3]}, "non-empty list", id="not-a-string"),
    pytest.param({}, "required", id="neither"),
]


@pytest.mark.parametrize(("pred", "message"), BAD)
def test_model_refuses_bad_predicate_types(pred: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Layout.from_dict(_doc(pred))


@pytest.mark.parametrize(("pred", "message"), BAD)
def test_schema_refuses_bad_predicate_types(
    tmp_path: Path, pred: dict[str, Any], message: str
) -> None:
    path = tmp_path / "layout.yml"
    path.write_text(yaml.safe_dump(_doc(pred)))
    with pytest.raises(SchemaError):
        load_layout(path, allow_unsigned=True)


def test_round_trip_and_schema_accept(tmp_path: Path) -> None:
    path = tmp_path / "layout.yml"
    path.write_text(yaml.safe_dump(_doc(dict(ANY_SBOM))))
    layout = load_layout(path, allow_unsigned=True).layout
    pred = layout.steps[0].expected_predicates[0]
    assert pred.predicate_types == (SPDX, CDX)
    assert layout.to_dict()["steps"][0]["expectedPredicates"][0]["predicateTypes"] == [SPDX, CDX]


LINT = [
    pytest.param(
        _doc(dict(ANY_SBOM), extra_preds=({"predicateType": CDX},)),
        "accepted by expected predicates 0 and 1",
        id="overlap-between-predicates",
    ),
    pytest.param(_doc({"predicateTypes": [SPDX]}), "write predicateType", id="single-entry"),
]


@pytest.mark.parametrize(("doc", "message"), LINT)
def test_lint_warns(tmp_path: Path, doc: dict[str, Any], message: str) -> None:
    data = yaml.safe_dump(doc).encode()
    parsed, lines = parse_layout_document(data, source="l.yml")
    findings = lint_layout(parsed, source="l.yml", lines=lines, at=AT)
    assert [f.severity for f in findings if message in f.message] == ["warning"], findings


def test_lint_is_quiet_for_distinct_types() -> None:
    data = yaml.safe_dump(_doc(dict(ANY_SBOM))).encode()
    parsed, lines = parse_layout_document(data, source="l.yml")
    assert lint_layout(parsed, source="l.yml", lines=lines, at=AT) == []
