"""MATCH ... FROM reads only accepted attestations; the verdict ignores step order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intoto_policy import Layout, Report, verify_attestations
from tests.test_verify import AT, KEYS, LINK, functionary, link, sha, signed

EVIL = sha("evil")
GOOD = sha("good")
IDS = [KEYS["alice"].keyid, KEYS["bob"].keyid]


def _step(name: str, materials: list[str], products: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "expectedMaterials": materials,
        "expectedProducts": products,
        "expectedPredicates": [{"predicateType": LINK, "functionaries": IDS}],
    }


def _layout(steps: list[dict[str, Any]]) -> Layout:
    return Layout.from_dict(
        {
            "expires": "2030-01-01T00:00:00Z",
            "functionaries": {
                k.keyid: functionary(n) for n, k in KEYS.items() if n in ("alice", "bob")
            },
            "steps": steps,
        }
    )


CLONE = _step("clone", [], ["ALLOW src", "ALLOW out", "DISALLOW *"])
BUILD = _step("build", ["MATCH src WITH PRODUCTS FROM clone", "DISALLOW *"], [])


def _fingerprint(report: Report) -> tuple[bool, frozenset[Any], frozenset[Any]]:
    failures = frozenset((c.step, c.kind, c.rule, c.message) for c in report.failures)
    rejected = frozenset(
        (r.attestation.source, r.reason, r.step, r.message) for r in report.rejected
    )
    return bool(report), failures, rejected


# (id, attestations, expected verdict)
CASES = [
    pytest.param(
        [
            ("clone-a", "clone", "alice", {}, {"src": EVIL, "junk": EVIL}),
            ("clone-b", "clone", "bob", {}, {"out": GOOD}),
            ("build", "build", "alice", {"src": EVIL}, {"app": GOOD}),
        ],
        False,
        id="rejected-clone-products-do-not-satisfy-match",
    ),
    pytest.param(
        [
            ("clone-a", "clone", "alice", {}, {"src": GOOD}),
            ("build", "build", "alice", {"src": GOOD}, {"app": GOOD}),
        ],
        True,
        id="accepted-clone-products-satisfy-match",
    ),
    pytest.param(
        [
            ("clone-a", "clone", "alice", {}, {"src": GOOD}),
            ("clone-b", "clone", "bob", {}, {"src": EVIL, "junk": GOOD}),
            ("build", "build", "alice", {"src": EVIL}, {"app": GOOD}),
        ],
        False,
        id="rejected-second-clone-does-not-count",
    ),
]


def _atts(spec: list[tuple[str, str, str, dict[str, str], dict[str, str]]]) -> list[Any]:
    return [
        signed(link(step, mats, prods), key, source=f"{src}.json")
        for src, step, key, mats, prods in spec
    ]


@pytest.mark.parametrize(("spec", "verdict"), CASES)
@pytest.mark.parametrize("order", ["clone-first", "build-first"])
def test_match_reads_only_accepted_attestations(
    spec: list[tuple[str, str, str, dict[str, str], dict[str, str]]], verdict: bool, order: str
) -> None:
    steps = [CLONE, BUILD] if order == "clone-first" else [BUILD, CLONE]
    report = verify_attestations(_layout(steps), _atts(spec), at=AT)
    assert bool(report) is verdict, [c.message for c in report.failures]


NAMES = ["a", "b", "c"]
DIGESTS = st.sampled_from([GOOD, EVIL])
ARTS = st.dictionaries(st.sampled_from(["src", "out", "junk"]), DIGESTS, max_size=3)
RULES = st.lists(
    st.one_of(
        st.builds(
            lambda side, step: f"MATCH * WITH {side} FROM {step}",
            st.sampled_from(["PRODUCTS", "MATERIALS"]),
            st.sampled_from(NAMES),
        ),
        st.sampled_from(["ALLOW src", "ALLOW out", "DISALLOW junk", "CREATE out"]),
    ),
    max_size=3,
).map(lambda rules: [*rules, "DISALLOW *"])
LINKS = st.lists(
    st.tuples(
        st.sampled_from(NAMES),
        st.sampled_from(["alice", "bob"]),
        ARTS,
        ARTS.filter(bool),
    ),
    max_size=5,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.lists(st.tuples(RULES, RULES), min_size=3, max_size=3),
    links=LINKS,
    order=st.permutations([0, 1, 2]),
)
def test_verdict_does_not_depend_on_step_order(
    rules: list[tuple[list[str], list[str]]],
    links: list[tuple[str, str, dict[str, str], dict[str, str]]],
    order: list[int],
) -> None:
    # Always include a rejected attestation whose products would satisfy a MATCH.
    links = [*links, ("a", "alice", {}, {"src": EVIL, "junk": EVIL})]
    steps = [_step(n, m, p) for n, (m, p) in zip(NAMES, rules, strict=True)]
    atts = [
        signed(link(step, mats, prods), key, source=f"{i}.json")
        for i, (step, key, mats, prods) in enumerate(links)
    ]
    first = verify_attestations(_layout(steps), atts, at=AT)
    permuted = verify_attestations(_layout([steps[i] for i in order]), atts, at=AT)
    assert _fingerprint(first) == _fingerprint(permuted)
