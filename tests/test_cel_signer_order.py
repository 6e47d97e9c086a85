"""``signers`` lists only the signers every ``signer`` rule kept, whatever the rule order."""

from __future__ import annotations

import itertools

import pytest

from intoto_policy import Layout, verify_attestations
from tests.test_verify import AT, KEYS, VULNS, functionary, scan, signed

S, B = KEYS["scanner"].keyid, KEYS["builder"].keyid
ONLY_SCANNER = f"signer.keyid == '{S}'"


def _layout(rules: tuple[str | dict, ...], threshold: int = 1) -> Layout:
    return Layout.from_dict(
        {
            "expires": "2030-01-01T00:00:00Z",
            "functionaries": {S: functionary("scanner"), B: functionary("builder")},
            "steps": [
                {
                    "name": "scan",
                    "expectedPredicates": [
                        {
                            "predicateType": VULNS,
                            "functionaries": [S, B],
                            "threshold": threshold,
                            "expectedAttributes": [
                                r if isinstance(r, dict) else {"rule": r} for r in rules
                            ],
                        }
                    ],
                }
            ],
        }
    )


# (rules, who signed, verdict); every permutation of the rules must give the verdict.
CASES = [
    pytest.param([ONLY_SCANNER, "signers.size() >= 2"], ("scanner", "builder"), False,
                 id="size-counts-survivors-only"),
    pytest.param([ONLY_SCANNER, f"signers.exists(s, s.keyid == '{B}')"], ("scanner", "builder"),
                 False, id="dropped-signer-not-listed"),
    pytest.param([ONLY_SCANNER, f"signers.all(s, s.keyid == '{S}')"], ("scanner", "builder"),
                 True, id="all-over-survivors"),
    pytest.param([ONLY_SCANNER, "signers.size() == 1"], ("scanner", "builder"), True,
                 id="exactly-the-survivor"),
    pytest.param([ONLY_SCANNER, "signers.size() >= 1", "true"], ("scanner", "builder"), True,
                 id="three-rules"),
    pytest.param([f"signers.size() >= 2 && signer.keyid == '{S}'"], ("scanner", "builder"), False,
                 id="signer-rule-reading-signers-fixed-point"),
    pytest.param([ONLY_SCANNER, f"signer.keyid == '{B}'"], ("scanner", "builder"), False,
                 id="two-signer-rules-leave-no-one"),
    pytest.param(["signers.size() >= 2"], ("scanner", "builder"), True, id="no-signer-rule"),
    pytest.param([f".signer.keyid == '{S}'", "signers.size() == 1"], ("scanner", "builder"), True,
                 id="root-scope-dot-signer-rule"),
    pytest.param([f".signer.keyid == '{S}'", "signers.size() >= 2"], ("scanner", "builder"),
                 False, id="root-scope-dot-signer-drops"),
]  # fmt: skip


@pytest.mark.parametrize(("rules", "who", "verdict"), CASES)
def test_signers_is_the_survivors_in_every_rule_order(
    rules: list[str], who: tuple[str, ...], verdict: bool
) -> None:
    att = signed(scan(), *who)
    for order in itertools.permutations(rules):
        report = verify_attestations(_layout(order), [att], at=AT)
        assert bool(report) is verdict, (order, [c.message for c in report.failures])


def test_dropped_signer_does_not_meet_a_threshold_of_two() -> None:
    # Both signed, but only the scanner is kept by the signer rule: one principal.
    report = verify_attestations(
        _layout((ONLY_SCANNER, "signers.size() >= 1"), threshold=2),
        [signed(scan(), "scanner", "builder")],
        at=AT,
    )
    assert not report
    assert any("threshold" in c.message for c in report.failures)


WARN_NOBODY = {"rule": "signer.keyid == 'nobody'", "warn": True}
WARN_SCANNER = {"rule": ONLY_SCANNER, "warn": True}
WARN_FALSE = {"rule": "signers.size() >= 5", "warn": True}

# (rules, verdict, signers counted); a warn rule is inserted at every position
# of every permutation: it never drops a signer and never changes the verdict.
WARN_CASES = [
    pytest.param([ONLY_SCANNER, "signers.size() >= 2"], WARN_NOBODY, False, id="reviewer-warn-nobody"),
    pytest.param([ONLY_SCANNER, "signers.size() == 1"], WARN_NOBODY, True, id="warn-nobody-pass"),
    pytest.param(["signers.size() >= 2"], WARN_SCANNER, True, id="warn-signer-rule-drops-no-one"),
    pytest.param([ONLY_SCANNER, f"signer.keyid == '{B}'", "signers.size() >= 1"], WARN_NOBODY,
                 False, id="failing-rule-other-drops-apply"),
    pytest.param([ONLY_SCANNER, "signers.size() >= 2"], WARN_FALSE, False, id="warn-on-signers"),
]  # fmt: skip


@pytest.mark.parametrize(("rules", "warn", "verdict"), WARN_CASES)
def test_warn_rules_in_every_position_change_nothing(
    rules: list[str], warn: dict, verdict: bool
) -> None:
    att = signed(scan(), "scanner", "builder")
    for order in itertools.permutations(rules):
        for at in range(len(order) + 1):
            with_warn = (*order[:at], warn, *order[at:])
            report = verify_attestations(_layout(with_warn), [att], at=AT)
            assert bool(report) is verdict, (with_warn, [c.message for c in report.failures])
            assert not any("not settled" in c.message for c in report.all_checks())


def test_warn_signer_rule_keeps_both_signers_for_a_threshold_of_two() -> None:
    report = verify_attestations(
        _layout((WARN_SCANNER, "signers.size() >= 2"), threshold=2),
        [signed(scan(), "scanner", "builder")],
        at=AT,
    )
    assert report, [c.message for c in report.failures]
    warns = [c for c in report.all_checks() if c.rule == ONLY_SCANNER]
    assert warns
    assert all(c.status.value == "warn" for c in warns)
