"""``layout check`` warns about an allowIfNoClaim rule that would pass vacuously on another type."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from intoto_policy import Layout, verify_attestations
from intoto_policy.policy._lint import lint_layout
from intoto_policy.policy._loading import parse_layout_document
from tests.test_verify import AT, KEYS, functionary, signed, statement

SPDX = "https://spdx.dev/Document/v2.3"
CDX = "https://cyclonedx.org/bom"
KID = KEYS["scanner"].keyid
WARNING = "does not test predicateType"


def _doc(pred: dict[str, Any]) -> dict[str, Any]:
    return {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {KID: functionary("scanner")},
        "steps": [{"name": "sbom", "functionaries": [KID], "expectedPredicates": [pred]}],
    }


def _pred(rule: str, allow: Any, types: list[str] | None) -> dict[str, Any]:
    pred: dict[str, Any] = {"predicateTypes": types} if types else {"predicateType": SPDX}
    attr: dict[str, Any] = {"rule": rule}
    if allow is not None:
        attr["allowIfNoClaim"] = allow
    pred["expectedAttributes"] = [attr]
    return pred


CDX_RULE = "predicate.bomFormat == 'CycloneDX'"
CASES = [
    pytest.param(CDX_RULE, True, [SPDX, CDX], True, id="unguarded-warns"),
    pytest.param(f"predicateType != '{CDX}' || {CDX_RULE}", True, [SPDX, CDX], False,
                 id="guarded-by-predicateType"),
    pytest.param(f"predicateType == '{CDX}' ? {CDX_RULE} : true", True, [SPDX, CDX], False,
                 id="guarded-by-conditional"),
    pytest.param(CDX_RULE, False, [SPDX, CDX], False, id="no-allowIfNoClaim"),
    pytest.param(CDX_RULE, None, [SPDX, CDX], False, id="allowIfNoClaim-absent"),
    pytest.param(CDX_RULE, True, None, False, id="one-predicateType"),
    pytest.param("predicate.note == 'predicateType'", True, [SPDX, CDX], True,
                 id="name-only-in-a-string-still-warns"),
    pytest.param("predicate.predicateType == 'x'", True, [SPDX, CDX], True,
                 id="a-field-of-that-name-still-warns"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "allow", "types", "warned"), CASES)
def test_lint(rule: str, allow: Any, types: list[str] | None, warned: bool) -> None:
    data = yaml.safe_dump(_doc(_pred(rule, allow, types))).encode()
    parsed, lines = parse_layout_document(data, source="l.yml")
    findings = lint_layout(parsed, source="l.yml", lines=lines, at=AT)
    got = [f for f in findings if WARNING in f.message]
    assert [f.severity for f in got] == (["warning"] if warned else []), findings
    if warned:
        assert got[0].pointer == "/steps/0/expectedPredicates/0/expectedAttributes/0"
        assert got[0].line is not None


def test_the_warned_rule_is_indeed_vacuous() -> None:
    # Why the warning exists: an SPDX document passes a CycloneDX rule.
    layout = Layout.from_dict(_doc(_pred(CDX_RULE, allow=True, types=[SPDX, CDX])))
    att = signed(statement(SPDX, {"spdxVersion": "SPDX-2.3"}), "scanner")
    assert verify_attestations(layout, [att], at=AT)
