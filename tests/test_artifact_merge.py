"""Several counted attestations of a step: their artifacts merge independently of order.

An artifact's merged digest is the union of every algorithm the step's
attestations gave it; a disagreement among them on any algorithm (or two
distinct sets sharing no acceptable one) leaves the artifact out.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from intoto_policy import Layout, Report, verify_attestations
from tests.test_verify import AT, KEYS, LINK, functionary, signed

S1 = hashlib.sha1(b"app").hexdigest()  # pretend a SHA-1 collision pair shares it
S1B = hashlib.sha1(b"other").hexdigest()
GOOD = hashlib.sha256(b"app").hexdigest()
EVIL = hashlib.sha256(b"evil").hexdigest()
G512 = hashlib.sha512(b"app").hexdigest()
E512 = hashlib.sha512(b"evil").hexdigest()
WHO = ("builder", "alice", "bob")


def _link(name: str, materials: dict[str, dict[str, str]], products: dict[str, dict[str, str]]):
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": n, "digest": d} for n, d in products.items()]
        or [{"name": "none", "digest": {"sha256": "0" * 64}}],
        "predicateType": LINK,
        "predicate": {
            "name": name,
            "materials": [{"name": n, "digest": d} for n, d in materials.items()],
        },
    }


def _layout(threshold: int = 1) -> Layout:
    ids = [KEYS[w].keyid for w in WHO]
    return Layout.from_dict(
        {
            "expires": "2030-01-01T00:00:00Z",
            "digestAlgorithms": ["sha256", "sha512", "sha1"],
            "functionaries": {KEYS[w].keyid: functionary(w) for w in WHO},
            "steps": [
                {
                    "name": "build",
                    "expectedProducts": ["ALLOW app", "ALLOW none"],
                    "expectedPredicates": [
                        {"predicateType": LINK, "functionaries": ids, "threshold": threshold}
                    ],
                },
                {
                    "name": "deploy",
                    "expectedMaterials": ["MATCH app WITH PRODUCTS FROM build", "DISALLOW *"],
                    "expectedPredicates": [{"predicateType": LINK, "functionaries": ids}],
                },
            ],
        }
    )


def _atts(builds: list[dict[str, str]], deployed: dict[str, str]) -> list[Any]:
    out = [
        signed(_link("build", {}, {"app": d}), WHO[i % 3], source=f"build-{i}.json")
        for i, d in enumerate(builds)
    ]
    out.append(signed(_link("deploy", {"app": deployed}, {}), "builder", source="deploy.json"))
    return out


def _fingerprint(report: Report) -> tuple[bool, frozenset[Any], frozenset[Any]]:
    failures = frozenset((c.step, c.kind, c.rule, c.message) for c in report.failures)
    rejected = frozenset(
        (r.attestation.source, r.reason, r.step, r.message) for r in report.rejected
    )
    return bool(report), failures, rejected


@pytest.mark.parametrize(
    ("builds", "deployed", "verdict"),
    [
        pytest.param([{"sha1": S1}, {"sha1": S1, "sha256": GOOD}], {"sha1": S1, "sha256": EVIL},
                     False, id="dropped-sha256-disagrees"),
        pytest.param([{"sha1": S1}, {"sha1": S1, "sha256": GOOD}], {"sha1": S1, "sha256": GOOD},
                     True, id="union-agrees"),
        pytest.param([{"sha256": GOOD}, {"sha256": GOOD, "sha512": G512}],
                     {"sha256": GOOD, "sha512": E512}, False, id="dropped-sha512-disagrees"),
        pytest.param([{"sha1": S1}, {"sha512": G512}, {"sha1": S1, "sha512": G512}],
                     {"sha1": S1, "sha512": G512}, False, id="two-sets-share-nothing-is-a-conflict"),
        pytest.param([{"sha256": GOOD, "x-custom": "a"}, {"sha256": GOOD, "x-custom": "b"}],
                     {"sha256": GOOD}, False, id="custom-name-two-values-is-a-conflict"),
        pytest.param([{"sha256": GOOD, "x-custom": "a"}, {"sha256": GOOD}],
                     {"sha256": GOOD, "x-custom": "zzz"}, True, id="custom-name-never-compared"),
        pytest.param([{"sha256": GOOD}, {"sha256": EVIL}], {"sha256": GOOD}, False,
                     id="known-disagreement-is-a-conflict"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("reverse", [False, True], ids=["given-order", "reversed"])
def test_merged_digest_is_the_union(
    builds: list[dict[str, str]], deployed: dict[str, str], verdict: bool, reverse: bool
) -> None:
    atts = _atts(builds, deployed)
    if reverse:
        atts.reverse()
    report = verify_attestations(_layout(), atts, at=AT)
    assert bool(report) is verdict, [c.message for c in report.failures]


VALUES = {
    "sha1": st.sampled_from([S1, S1B]),
    "sha256": st.sampled_from([GOOD, EVIL]),
    "sha512": st.sampled_from([G512, E512]),
    "x-custom": st.sampled_from(["a", "b"]),
}
DIGEST = st.fixed_dictionaries({}, optional=VALUES).filter(bool)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    builds=st.lists(DIGEST, min_size=1, max_size=4),
    deployed=DIGEST,
    threshold=st.sampled_from([1, 2]),
    ranks=st.lists(st.integers(0, 9), min_size=5, max_size=5),
)
@example(  # the reviewer's case, so the property fails without the fix whatever is drawn
    builds=[{"sha1": S1}, {"sha1": S1, "sha256": GOOD}],
    deployed={"sha1": S1, "sha256": EVIL},
    threshold=2,
    ranks=[4, 3, 2, 1, 0],
).via("the dropped-algorithm reproducer")
def test_verdict_does_not_depend_on_attestation_order(
    builds: list[dict[str, str]], deployed: dict[str, str], threshold: int, ranks: list[int]
) -> None:
    atts = _atts(builds, deployed)
    # Any permutation of the (at most five) attestations: sorted by a drawn rank.
    order = sorted(range(len(atts)), key=lambda i: (ranks[i], i))
    permuted = [atts[i] for i in order]
    layout = _layout(threshold)
    first = verify_attestations(layout, atts, at=AT)
    again = verify_attestations(layout, permuted, at=AT)
    assert _fingerprint(first) == _fingerprint(again)
