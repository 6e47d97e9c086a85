"""allowIfNoClaim: absence is decided from the data, never from error text."""

from __future__ import annotations

from typing import Any

import pytest

from intoto_policy.policy._cel import Outcome, compile_rule

SUBJECT = [{"name": "app", "digest": {"sha256": "00"}}]

# (rule, predicate, expected outcome)
CASES = [
    pytest.param(
        "predicate.m[predicate.k] == 1",
        {"m": {}, "k": "no such key"},
        Outcome.ERROR,
        id="attacker-key-named-no-such-key",
    ),
    pytest.param(
        "predicate.l[predicate.n] == 1",
        {"l": [1], "n": 99, "no such key": 1},
        Outcome.ERROR,
        id="out-of-range-with-no-such-key-present",
    ),
    pytest.param(
        "int(predicate.s) > 0",
        {"s": "undeclared reference no such key"},
        Outcome.ERROR,
        id="conversion-error-quoting-data",
    ),
    pytest.param(
        "predicate.m[predicate.k] == 1",
        {"m": {}, "k": "undeclared reference"},
        Outcome.ERROR,
        id="attacker-key-named-undeclared-reference",
    ),
    pytest.param("predicate.a.b == 1", {}, Outcome.MISSING, id="absent-top-field"),
    pytest.param("predicate.a.b == 1", {"a": {}}, Outcome.MISSING, id="absent-nested-field"),
    pytest.param("predicate.a.b == 1", {"a": None}, Outcome.ERROR, id="present-null"),
    pytest.param("predicate.a.b == 1", {"a": []}, Outcome.ERROR, id="list-not-map"),
    pytest.param("predicate.l[3] == 1", {"l": []}, Outcome.ERROR, id="list-index-out-of-range"),
    pytest.param("predicate['k'] == 1", {}, Outcome.MISSING, id="absent-bracket-key"),
    pytest.param(
        "predicate['no such key'] > 1", {"no such key": "x"}, Outcome.ERROR, id="present-key"
    ),
    pytest.param("predicate.a.b == 1", {"a": {"b": 1}}, Outcome.TRUE, id="present-true"),
    pytest.param(
        'predicate.x > 1 && "predicate.zz" != ""',
        {"x": "s"},
        Outcome.ERROR,
        id="path-inside-string-literal-ignored",
    ),
    pytest.param(
        'subject.all(s, s.extra == "a")',
        {},
        Outcome.ERROR,
        id="comprehension-variable-not-resolved",
    ),
    pytest.param(
        "subject.all(predicate, predicate.zz == 1)",
        {},
        Outcome.ERROR,
        id="comprehension-rebinding-root",
    ),
    pytest.param("predicate.x.startsWith('a')", {"x": 3}, Outcome.ERROR, id="method-on-wrong-type"),
    pytest.param("predicate.x.startsWith('a')", {}, Outcome.MISSING, id="method-on-absent-field"),
]


@pytest.mark.parametrize(("rule", "predicate", "outcome"), CASES)
def test_absence_is_structural(rule: str, predicate: dict[str, Any], outcome: Outcome) -> None:
    activation = {"predicate": predicate, "subject": SUBJECT, "predicateType": "t"}
    assert compile_rule(rule).evaluate(activation).outcome is outcome
