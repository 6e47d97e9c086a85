"""One key is one principal, whichever functionary kind or id vouches for it.

Real keys and real X.509 certificates (made here with ``cryptography``): a
key functionary, and X.509 functionaries whose CAs certify that same key.
Every case in ``_ONE_KEY_CASES`` counted two principals (or let a revoked key
count) before the principal of a certificate signature became its key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from intoto_policy import (
    Attestation,
    CheckKind,
    Envelope,
    Layout,
    PrivateKey,
    PublicKey,
    RejectReason,
    Report,
    generate_private_key,
    parse_attestations,
    verify_attestations,
)
from intoto_policy.crypto._keyless import load_trusted_root
from intoto_policy.model._dsse import EnvelopeSignature, pae

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
PTYPE = "https://example.com/attestation/test/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


@dataclass(frozen=True)
class _World:
    alice: PrivateKey  # the one key this file is about
    alice2: PrivateKey  # a second key of the same person
    bob: PrivateKey
    ca1: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
    ca2: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(AT - timedelta(days=365))
        .not_valid_after(AT + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], key: PrivateKey, cn: str) -> str:
    """A PEM certificate from ``ca`` for ``key``, naming ``cn`` and ``cn@example.org``."""
    ca_cert, ca_key = ca
    public = key._crypto.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(AT - timedelta(days=30))
        .not_valid_after(AT + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(f"{cn}@example.org")]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.PEM).decode()


@cache
def _world() -> _World:
    return _World(
        alice=generate_private_key("ed25519"),
        alice2=generate_private_key("ecdsa"),
        bob=generate_private_key("ed25519"),
        ca1=_ca("CA one"),
        ca2=_ca("CA two"),
    )


_STATEMENT = json.dumps(
    {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": "a" * 64}}],
        "predicateType": PTYPE,
        "predicate": {},
    }
).encode()


@dataclass(frozen=True)
class _Sig:
    """One signature: by ``key``, with its key id as hint or not, and a certificate or not."""

    key: PrivateKey
    hint: bool = True
    cert: str | None = None


def _attestation(*sigs: _Sig, source: str = "att.json") -> Attestation:
    message = pae(PAYLOAD_TYPE, _STATEMENT)
    env = Envelope(
        PAYLOAD_TYPE,
        _STATEMENT,
        tuple(
            EnvelopeSignature(
                sig=s.key.sign(message), keyid=s.key.keyid if s.hint else "", cert=s.cert
            )
            for s in sigs
        ),
    )
    return Attestation.from_envelope(env, source=source)


def _key_functionary(key: PrivateKey, **extra: Any) -> dict[str, Any]:
    return {**key.public_key.to_dict(camel=True), **extra}


def _x509_functionary(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], **extra: Any
) -> dict[str, Any]:
    return {
        "type": "x509",
        "roots": [ca[0].public_bytes(Encoding.PEM).decode()],
        "emails": [{"regex": r".*@example\.org"}],
        **extra,
    }


def _layout(
    functionaries: dict[str, dict[str, Any]], threshold: int, revoked: list[str] | None = None
) -> Layout:
    doc: dict[str, Any] = {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": functionaries,
        "steps": [
            {
                "name": "test",
                "expectedPredicates": [
                    {
                        "predicateType": PTYPE,
                        "functionaries": list(functionaries),
                        "threshold": threshold,
                    }
                ],
            }
        ],
    }
    if revoked:
        doc["revokedKeys"] = revoked
    return Layout.from_dict(doc, source="layout.json")


_PAST = {"notAfter": "2026-01-01T00:00:00Z"}

# (id, build (layout, attestations), threshold met, principals counted, reject reasons)
_Case = tuple[str, Callable[[_World], tuple[Layout, list[Attestation]]], bool, int, set[str]]

_ONE_KEY_CASES: list[_Case] = [
    (
        "one-signature-under-key-id-and-certificate",
        lambda w: (
            _layout({"alice": _key_functionary(w.alice), "ca1": _x509_functionary(w.ca1)}, 2),
            [_attestation(_Sig(w.alice, cert=_leaf(w.ca1, w.alice, "alice")))],
        ),
        False,
        1,
        set(),
    ),
    (
        "two-signatures-one-envelope-hint-and-certificate",
        lambda w: (
            _layout({"alice": _key_functionary(w.alice), "ca1": _x509_functionary(w.ca1)}, 2),
            [
                _attestation(
                    _Sig(w.alice),
                    _Sig(w.alice, hint=False, cert=_leaf(w.ca1, w.alice, "alice")),
                )
            ],
        ),
        False,
        1,
        set(),
    ),
    (
        "two-envelopes-key-route-and-certificate-route",
        lambda w: (
            _layout({"alice": _key_functionary(w.alice), "ca1": _x509_functionary(w.ca1)}, 2),
            [
                _attestation(_Sig(w.alice), source="a.json"),
                _attestation(
                    _Sig(w.alice, hint=False, cert=_leaf(w.ca1, w.alice, "alice")),
                    source="b.json",
                ),
            ],
        ),
        False,
        1,
        set(),
    ),
    (
        "same-key-certified-by-two-cas-two-x509-functionaries",
        lambda w: (
            _layout({"ca1": _x509_functionary(w.ca1), "ca2": _x509_functionary(w.ca2)}, 2),
            [
                _attestation(
                    _Sig(w.alice, hint=False, cert=_leaf(w.ca1, w.alice, "alice")),
                    _Sig(w.alice, hint=False, cert=_leaf(w.ca2, w.alice, "alice")),
                )
            ],
        ),
        False,
        1,
        set(),
    ),
    (
        "same-key-in-two-certificates-naming-different-subjects",
        lambda w: (
            _layout({"ca1": _x509_functionary(w.ca1)}, 2),
            [
                _attestation(
                    _Sig(w.alice, hint=False, cert=_leaf(w.ca1, w.alice, "alice")),
                    source="a.json",
                ),
                _attestation(
                    _Sig(w.alice, hint=False, cert=_leaf(w.ca1, w.alice, "not-alice")),
                    source="b.json",
                ),
            ],
        ),
        False,
        1,
        set(),
    ),
    (
        "key-listed-under-two-ids-and-certified",
        lambda w: (
            _layout(
                {
                    "alice": _key_functionary(w.alice),
                    w.alice.keyid: _key_functionary(w.alice),
                    "ca1": _x509_functionary(w.ca1),
                },
                2,
            ),
            [_attestation(_Sig(w.alice, cert=_leaf(w.ca1, w.alice, "alice")))],
        ),
        False,
        1,
        set(),
    ),
    (
        "key-route-outside-window-two-certificates",
        lambda w: (
            _layout(
                {
                    "alice": _key_functionary(w.alice, **_PAST),
                    "ca1": _x509_functionary(w.ca1),
                    "ca2": _x509_functionary(w.ca2),
                },
                2,
            ),
            [
                _attestation(
                    _Sig(w.alice, cert=_leaf(w.ca1, w.alice, "alice")),
                    _Sig(w.alice, hint=False, cert=_leaf(w.ca2, w.alice, "alice")),
                )
            ],
        ),
        False,
        1,
        set(),
    ),
    (
        "revoked-key-signs-through-its-certificate",
        lambda w: (
            _layout(
                {"alice": _key_functionary(w.alice), "ca1": _x509_functionary(w.ca1)},
                1,
                revoked=["alice"],
            ),
            [_attestation(_Sig(w.alice, hint=False, cert=_leaf(w.ca1, w.alice, "alice")))],
        ),
        False,
        0,
        {RejectReason.REVOKED.value},
    ),
    (
        "key-revoked-by-fingerprint-signs-through-two-cas",
        lambda w: (
            _layout(
                {
                    "alice": _key_functionary(w.alice),
                    "ca1": _x509_functionary(w.ca1),
                    "ca2": _x509_functionary(w.ca2),
                },
                1,
                revoked=["SHA256:" + w.alice.public_key.fingerprint],
            ),
            [
                _attestation(
                    _Sig(w.alice, hint=False, cert=_leaf(w.ca1, w.alice, "alice")),
                    _Sig(w.alice, hint=False, cert=_leaf(w.ca2, w.alice, "alice")),
                )
            ],
        ),
        False,
        0,
        {RejectReason.REVOKED.value},
    ),
]

# Controls: distinct keys still count as distinct principals, and one
# identity holding two keys is still one (as it was when X.509 principals
# were identities). These passed before the change and must still.
_CONTROL_CASES: list[_Case] = [
    (
        "distinct-keys-key-route-and-certificate-route",
        lambda w: (
            _layout({"bob": _key_functionary(w.bob), "ca1": _x509_functionary(w.ca1)}, 2),
            [_attestation(_Sig(w.bob), _Sig(w.alice, cert=_leaf(w.ca1, w.alice, "alice")))],
        ),
        True,
        2,
        set(),
    ),
    (
        "distinct-keys-both-certified",
        lambda w: (
            _layout({"ca1": _x509_functionary(w.ca1)}, 2),
            [
                _attestation(_Sig(w.alice, cert=_leaf(w.ca1, w.alice, "alice")), source="a"),
                _attestation(_Sig(w.bob, cert=_leaf(w.ca1, w.bob, "bob")), source="b"),
            ],
        ),
        True,
        2,
        set(),
    ),
    (
        "one-identity-two-keys-is-one-principal",
        lambda w: (
            _layout({"ca1": _x509_functionary(w.ca1)}, 2),
            [
                _attestation(_Sig(w.alice, cert=_leaf(w.ca1, w.alice, "alice")), source="a"),
                _attestation(_Sig(w.alice2, cert=_leaf(w.ca1, w.alice2, "alice")), source="b"),
            ],
        ),
        False,
        1,
        set(),
    ),
    (
        "revoked-key-does-not-spoil-another-key",
        lambda w: (
            _layout(
                {"alice": _key_functionary(w.alice), "ca1": _x509_functionary(w.ca1)},
                1,
                revoked=["alice"],
            ),
            [_attestation(_Sig(w.bob, cert=_leaf(w.ca1, w.bob, "bob")))],
        ),
        True,
        1,
        set(),
    ),
]


def _threshold(report: Report) -> tuple[int, list[str]]:
    (check,) = [c for c in report.steps[0].checks if c.kind is CheckKind.THRESHOLD]
    assert isinstance(check.actual, int)
    return check.actual, list(check.details["principals"])


@pytest.mark.parametrize(
    ("build", "met", "count", "reasons"),
    [pytest.param(*c[1:], id=c[0]) for c in _ONE_KEY_CASES + _CONTROL_CASES],
)
def test_one_key_is_one_principal(
    build: Callable[[_World], tuple[Layout, list[Attestation]]],
    met: bool,
    count: int,
    reasons: set[str],
) -> None:
    layout, attestations = build(_world())
    report = verify_attestations(layout, attestations, at=AT)
    actual, principals = _threshold(report)
    assert (actual, bool(report)) == (count, met), report.steps[0].checks
    assert len(set(principals)) == actual
    assert {r.reason.value for r in report.rejected} == reasons


def test_certificate_signer_names_the_key_and_reads_as_the_identity() -> None:
    w = _world()
    layout = _layout({"ca1": _x509_functionary(w.ca1)}, 1)
    att = _attestation(_Sig(w.alice, hint=False, cert=_leaf(w.ca1, w.alice, "alice")))
    report = verify_attestations(layout, [att], at=AT)
    assert report
    (signer,) = report.steps[0].attestations[0].signers
    assert signer.kind == "x509"
    assert signer.principal == w.alice.public_key.principal_id
    assert signer.label == "alice@example.org (CN=CA one)"
    threshold = next(c for c in report.steps[0].checks if c.kind is CheckKind.THRESHOLD)
    assert "alice@example.org (CN=CA one)" in threshold.message


def test_revoked_key_message_names_the_key() -> None:
    w = _world()
    layout = _layout(
        {"alice": _key_functionary(w.alice), "ca1": _x509_functionary(w.ca1)}, 1, ["alice"]
    )
    att = _attestation(_Sig(w.alice, hint=False, cert=_leaf(w.ca1, w.alice, "alice")))
    rejected = verify_attestations(layout, [att], at=AT).rejected
    assert {r.reason for r in rejected} == {RejectReason.REVOKED}
    spki = w.alice._crypto.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    fingerprint = hashlib.sha256(spki).hexdigest()
    messages = sorted(r.message for r in rejected)
    assert messages == [
        "functionary alice is revoked by the layout",
        f"functionary ca1: its key {fingerprint[:12]} is revoked by the layout",
    ]


_REAL = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real-world"
_BCR_ITEM = _REAL / "items" / "03-slsaverifier-bcr-slsa-v1" / "MODULE.bazel.intoto.jsonl"
_BCR_SIGNER = "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml@refs/tags/v0.0.1"


@pytest.mark.skipif(not _BCR_ITEM.is_file(), reason="shared corpus not present")
@pytest.mark.parametrize(
    ("revoke", "met", "reasons"),
    [
        pytest.param(False, True, set(), id="sigstore-key-not-revoked"),
        pytest.param(True, False, {RejectReason.REVOKED.value}, id="sigstore-key-revoked"),
    ],
)
def test_revoked_key_does_not_count_through_a_sigstore_bundle(
    revoke: bool, met: bool, reasons: set[str]
) -> None:
    data = _BCR_ITEM.read_bytes()
    bundle = json.loads(data.splitlines()[0])
    raw = base64.b64decode(bundle["verificationMaterial"]["certificate"]["rawBytes"])
    leaf_key = PublicKey.from_crypto(x509.load_der_x509_certificate(raw).public_key())
    layout = Layout.from_dict(
        {
            "expires": "2030-01-01T00:00:00Z",
            "functionaries": {
                "bcr": {
                    "type": "sigstore",
                    "identity": _BCR_SIGNER,
                    "issuer": "https://token.actions.githubusercontent.com",
                },
                "leaf": leaf_key.to_dict(camel=True),
            },
            "revokedKeys": ["leaf"] if revoke else [],
            "steps": [
                {
                    "name": "build",
                    "expectedPredicates": [
                        {
                            "predicateType": "https://slsa.dev/provenance/v1",
                            "functionaries": ["bcr"],
                        }
                    ],
                }
            ],
        },
        source="layout.json",
    )
    root_path = _REAL / "trust" / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json"
    report = verify_attestations(
        layout,
        parse_attestations(data, source=str(_BCR_ITEM)),
        at=datetime(2026, 11, 22, tzinfo=UTC),
        trusted_root=load_trusted_root(root_path.read_bytes(), source="trusted_root.json"),
    )
    assert bool(report) is met, report.steps[0].checks
    assert {r.reason.value for r in report.rejected} == reasons


# -- layout check: one person, two CAs ----------------------------------------------

_CN_ALICE = {"commonName": "alice"}
_CN_BOB = {"commonName": "bob"}
_CN_ANY = {"commonName": {"regex": ".*"}}

# (id, [(CA, extra constraints)] of the listed X.509 functionaries, threshold, warned)
_SAME_PERSON_CASES = [
    pytest.param([("ca1", {}), ("ca2", {})], 2, True, id="two-cas-email-regex"),
    pytest.param([("ca1", {}), ("ca2", {})], 1, False, id="two-cas-threshold-1"),
    pytest.param([("ca1", {}), ("ca1", {})], 2, False, id="same-ca"),
    pytest.param([("ca1", _CN_ALICE), ("ca2", _CN_BOB)], 2, False, id="exact-names-differ"),
    pytest.param([("ca1", _CN_ALICE), ("ca2", _CN_ALICE)], 2, True, id="exact-names-equal"),
    pytest.param([("ca1", _CN_ALICE), ("ca2", _CN_ANY)], 2, True, id="regex-name"),
    pytest.param([("ca1", _CN_ALICE)], 2, False, id="one-functionary"),
]


@pytest.mark.parametrize(("specs", "threshold", "warned"), _SAME_PERSON_CASES)
def test_layout_check_warns_when_one_person_could_count_twice(
    specs: list[tuple[str, dict[str, Any]]], threshold: int, warned: bool
) -> None:
    # The identity of a certificate includes its issuer: one person certified
    # by two CAs trusted by two functionaries is two principals (r9, issue #9).
    from intoto_policy.policy._lint import lint_layout

    w = _world()
    cas = {"ca1": w.ca1, "ca2": w.ca2}
    funcs = {f"f{i}": _x509_functionary(cas[ca], **extra) for i, (ca, extra) in enumerate(specs)}
    doc = _layout(funcs, 1).raw
    doc["steps"][0]["expectedPredicates"][0]["threshold"] = threshold
    findings = lint_layout(doc, source="layout.json", lines={}, at=AT)
    same_person = [f for f in findings if "count as two principals" in f.message]
    assert len(same_person) == int(warned), [f.message for f in findings]
    assert all(f.severity == "warning" for f in same_person)
