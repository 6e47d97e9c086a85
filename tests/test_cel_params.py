"""Layout parameters in CEL rules are values, never syntax."""

from __future__ import annotations

from typing import Any

import pytest

from intoto_policy.policy._cel import Outcome, compile_rule
from intoto_policy.policy._layout import substitute_cel

HOSTILE = ["5||true", "x|.*", '")', "' + '", "a\nb", "é☃\u202e", "{other}", "1) || (true"]


def _eval(rule: str, predicate: dict[str, Any]) -> Outcome:
    activation = {"predicate": predicate, "subject": [], "predicateType": "t"}
    return compile_rule(rule).evaluate(activation).outcome


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize(
    ("template", "matching"),
    [
        pytest.param('predicate.r == "{p}"', "value", id="double-quoted"),
        pytest.param("predicate.r == '{p}'", "value", id="single-quoted"),
        pytest.param('predicate.r.matches("^{p}$")', "value", id="matches-method"),
        pytest.param('matches(predicate.r, "^{p}$")', "value", id="matches-function"),
        pytest.param('predicate.r.matches(("^" + "{p}" + "$"))', "value", id="matches-nested"),
        pytest.param("predicate.r == {p}", "value", id="code-position"),
    ],
)
def test_value_matches_only_itself(template: str, matching: str, value: str) -> None:
    rule = substitute_cel(template, {"p": value, "other": "zzz"})
    assert _eval(rule, {"r": value}) is Outcome.TRUE
    assert _eval(rule, {"r": "unrelated"}) is Outcome.FALSE


@pytest.mark.parametrize(
    ("template", "value", "predicate", "outcome"),
    [
        pytest.param("predicate.n > {p}", "5", {"n": 6}, Outcome.TRUE, id="int-compare-true"),
        pytest.param("predicate.n > {p}", "5", {"n": 4}, Outcome.FALSE, id="int-compare-false"),
        pytest.param("predicate.n > {p}", "-5", {"n": -6}, Outcome.FALSE, id="negative-int"),
        pytest.param(
            "predicate.n > {p}", "5||true", {"n": 0}, Outcome.ERROR, id="or-true-is-a-string"
        ),
        pytest.param("predicate.b == {p}", "true", {"b": True}, Outcome.TRUE, id="bool"),
        pytest.param(
            'predicate.r.matches("^{p}$")',
            "x|.*",
            {"r": "anything"},
            Outcome.FALSE,
            id="regex-alternation",
        ),
        pytest.param(
            'predicate.r.matches("^{p}-[0-9]+$")',
            "v1.2",
            {"r": "v1.2-7"},
            Outcome.TRUE,
            id="regex-with-literal-param",
        ),
        pytest.param(
            'predicate.r.matches("^{p}-[0-9]+$")',
            "v1.2",
            {"r": "v1x2-7"},
            Outcome.FALSE,
            id="regex-dot-is-literal",
        ),
    ],
)
def test_typed_values(
    template: str, value: str, predicate: dict[str, Any], outcome: Outcome
) -> None:
    assert _eval(substitute_cel(template, {"p": value}), predicate) is outcome


def test_recursion_is_not_rescanned() -> None:
    assert substitute_cel('predicate.r == "{a}"', {"a": "{b}", "b": "x"}) == 'predicate.r == "{b}"'


@pytest.mark.parametrize(
    ("rule", "params", "expected"),
    [
        pytest.param(
            "predicate.n > {min}", {"min": "5||true"}, 'predicate.n > "5||true"', id="min-or-true"
        ),
        pytest.param(
            'predicate.r.matches("^{repo}$")',
            {"repo": "x|.*"},
            'predicate.r.matches("^x\\\\|\\\\.\\\\*$")',
            id="repo-alternation",
        ),
        pytest.param(
            'predicate.r == "{a}"', {"a": "{b}", "b": "v1"}, 'predicate.r == "v1"', id="resolved"
        ),
    ],
)
def test_layout_substitution_uses_cel_rules(
    rule: str, params: dict[str, str], expected: str
) -> None:
    from intoto_policy.policy._layout import substitute_parameters

    doc = {"steps": [{"expectedPredicates": [{"expectedAttributes": [{"rule": rule}]}]}]}
    out = substitute_parameters(doc, params)
    assert out["steps"][0]["expectedPredicates"][0]["expectedAttributes"][0]["rule"] == expected
