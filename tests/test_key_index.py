"""The key index: a signature's keyid hint under every convention, and the capped trial."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache

import pytest

from intoto_policy import (
    Attestation,
    Envelope,
    Layout,
    PrivateKey,
    PublicKey,
    RejectReason,
    generate_private_key,
    verify_attestations,
)
from intoto_policy.model._dsse import MAX_TRIAL_SIGNATURES, EnvelopeSignature, KeyIndex

PTYPE = "https://example.com/attestation/test/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT = (
    b'{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":'
    b'{"sha256":"' + b"a" * 64 + b'"}}],"predicateType":"' + PTYPE.encode() + b'","predicate":{}}'
)


@cache
def _keys() -> dict[str, PrivateKey]:
    return {name: generate_private_key("ed25519") for name in ("a", "b", "c", "outsider")}


def _listed(name: str, as_id: str | None = None) -> PublicKey:
    """Key ``name`` as a layout lists it: under a functionary id of its own."""
    key = _keys()[name].public_key
    return PublicKey.from_dict(key.to_dict(), as_id or f"func-{name}")


def _sig(name: str, hint: str) -> EnvelopeSignature:
    signed = Envelope.sign(STATEMENT, PAYLOAD_TYPE, [_keys()[name]])
    return EnvelopeSignature(sig=signed.signatures[0].sig, keyid=hint)


def _envelope(*sigs: EnvelopeSignature) -> Envelope:
    return Envelope(PAYLOAD_TYPE, STATEMENT, sigs)


# (id, hint for key "a" given the listed key)
_HINTS: list[tuple[str, Callable[[PublicKey], str]]] = [
    ("functionary-id", lambda k: k.keyid),
    ("securesystemslib-keyid", lambda k: k.computed_keyid("securesystemslib")),
    ("legacy-keyid", lambda k: k.computed_keyid("legacy")),
    ("fingerprint", lambda k: k.fingerprint),
    ("fingerprint-SHA256-prefix", lambda k: "SHA256:" + k.fingerprint),
    ("fingerprint-sha256-prefix", lambda k: "sha256:" + k.fingerprint),
]


@pytest.mark.parametrize("hint", [pytest.param(h, id=n) for n, h in _HINTS])
def test_hint_names_the_key_under_every_convention(hint: Callable[[PublicKey], str]) -> None:
    a, b = _listed("a"), _listed("b")
    index = KeyIndex([b, a])
    assert index.named(hint(a)) == (a,)
    # Found by its hint alone: no other key needs trying.
    assert index.check_hinted(_sig("a", hint(a)), _envelope().pae) == [a]


@pytest.mark.parametrize("hint", ["", "unknown", "SHA256:", "sha256:unknown"])
def test_empty_or_unknown_hint_names_nothing(hint: str) -> None:
    index = KeyIndex([_listed("a"), _listed("b")])
    assert index.named(hint) == ()
    assert index.check_hinted(_sig("a", hint), _envelope().pae) == []


# (id, signer, hint, keys as listed, expected ids verified_by, in order)
_CHECK_CASES: list[tuple[str, str, str, list[tuple[str, str]], list[str]]] = [
    ("hint-by-id", "a", "func-a", [("b", "func-b"), ("a", "func-a")], ["func-a"]),
    (
        "same-key-two-ids-hint-names-second",
        "a",
        "a-2",
        [("a", "a-1"), ("b", "func-b"), ("a", "a-2")],
        ["a-2", "a-1"],
    ),
    (
        "same-key-two-ids-no-hint",
        "a",
        "",
        [("a", "a-1"), ("b", "func-b"), ("a", "a-2")],
        ["a-1", "a-2"],
    ),
    (
        "hint-names-another-layout-key",
        "a",
        "func-b",
        [("b", "func-b"), ("a", "func-a")],
        ["func-a"],
    ),
    ("unknown-hint", "a", "nobody", [("b", "func-b"), ("a", "func-a")], ["func-a"]),
    ("signer-not-listed", "outsider", "", [("b", "func-b"), ("a", "func-a")], []),
    ("signer-not-listed-hint-names-a-key", "outsider", "func-a", [("a", "func-a")], []),
]


@pytest.mark.parametrize(
    ("signer", "hint", "listed", "expected"), [pytest.param(*c[1:], id=c[0]) for c in _CHECK_CASES]
)
def test_check_signatures(
    signer: str, hint: str, listed: list[tuple[str, str]], expected: list[str]
) -> None:
    keys = [_listed(name, as_id) for name, as_id in listed]
    envelope = _envelope(_sig(signer, hint))
    for given in (keys, KeyIndex(keys)):
        (check,) = envelope.check_signatures(given)
        assert [k.keyid for k in check.verified_by] == expected
        assert not check.untried


def test_trial_of_every_key_is_capped_per_envelope() -> None:
    a = _listed("a")
    bad = [_sig("outsider", f"nobody-{i}") for i in range(MAX_TRIAL_SIGNATURES)]
    late = [_sig("a", ""), _sig("a", "func-a")]
    checks = _envelope(*bad, *late).check_signatures([a, _listed("b")])
    assert [c.untried for c in checks] == [False] * MAX_TRIAL_SIGNATURES + [True, False]
    # Past the cap, a signature that names its key still verifies under it;
    # one that does not is not tried.
    assert [[k.keyid for k in c.verified_by] for c in checks[-2:]] == [[], ["func-a"]]


def test_repeated_signature_is_checked_once_and_not_capped() -> None:
    a = _listed("a")
    sig = _sig("a", "")
    checks = _envelope(*[sig] * (3 * MAX_TRIAL_SIGNATURES)).check_signatures([_listed("b"), a])
    assert all(c.verified_by == (a,) and not c.untried for c in checks)


def test_verifier_says_when_signatures_were_not_tried() -> None:
    a = _keys()["a"]
    layout = Layout.from_dict(
        {
            "expires": "2030-01-01T00:00:00Z",
            "functionaries": {"a": a.public_key.to_dict(camel=True)},
            "steps": [
                {
                    "name": "test",
                    "expectedPredicates": [{"predicateType": PTYPE, "functionaries": ["a"]}],
                }
            ],
        },
        source="layout.json",
    )
    # Distinct hints: identical signatures would be checked (and tried) once.
    sigs = [_sig("outsider", f"x{i}") for i in range(MAX_TRIAL_SIGNATURES)] + [_sig("a", "")]
    envelope = _envelope(*sigs)
    att = Attestation(
        source="att.json", digest=hashlib.sha256(b"att").hexdigest(), envelope=envelope
    )
    report = verify_attestations(layout, [att], at=datetime(2026, 6, 1, tzinfo=UTC))
    assert not report
    (rejected,) = report.rejected
    assert rejected.reason is RejectReason.UNKNOWN_SIGNER
    assert "1 signature(s) naming no layout key were not tried, past the first" in (
        rejected.message
    )
    # The same signature within the cap counts.
    ok = Attestation(
        source="ok.json",
        digest=hashlib.sha256(b"ok").hexdigest(),
        envelope=_envelope(*sigs[-2:]),
    )
    assert verify_attestations(layout, [ok], at=datetime(2026, 6, 1, tzinfo=UTC))
