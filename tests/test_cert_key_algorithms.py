"""Certificates whose key algorithm is not supported (issue #9).

A leaf certificate with a DSA, Ed448, X448 or unknown-algorithm key, or an
ECDSA key on a curve other than P-256/P-384/P-521 (secp256k1), in a DSSE
envelope checked by an X.509 functionary or in a Sigstore bundle: the
attestation is rejected with a reason naming the algorithm, nothing raises,
and a valid attestation next to it still counts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, x448
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from intoto_policy.cli._main import main
from intoto_policy.crypto._keyless import (
    load_trusted_root,
    parse_bundles,
    verify_bundle,
    verify_certificate_envelope,
)
from intoto_policy.crypto._x509 import X509Constraints

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

_T0 = datetime(2024, 1, 1, tzinfo=UTC)
_AT = _T0 + timedelta(days=1)
_URI = "spiffe://example.org/ns/ci/sa/builder"
_PAYLOAD_TYPE = "application/vnd.in-toto+json"
_STATEMENT = json.dumps(
    {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": "ab" * 32}}],
        "predicateType": "https://example.org/build/v1",
        "predicate": {},
    }
).encode()
_PAE = b"DSSEv1 %d %s %d %s" % (
    len(_PAYLOAD_TYPE),
    _PAYLOAD_TYPE.encode(),
    len(_STATEMENT),
    _STATEMENT,
)

_ROOT_KEY = ec.generate_private_key(ec.SECP384R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(subject: str, public_key: Any, *, ca: bool) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name("Test Root"))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_T0)
        .not_valid_after(_T0 + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_usage(ca=ca), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(_ROOT_KEY.public_key()),
            critical=False,
        )
    )


_ROOT = (
    _builder("Test Root", _ROOT_KEY.public_key(), ca=True)
    .add_extension(
        x509.SubjectKeyIdentifier.from_public_key(_ROOT_KEY.public_key()), critical=False
    )
    .sign(_ROOT_KEY, hashes.SHA384())
)


def _leaf(public_key: Any) -> x509.Certificate:
    return (
        _builder("builder", public_key, ca=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(_URI)]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(_ROOT_KEY, hashes.SHA384())
    )


def _ec(curve: ec.EllipticCurve) -> tuple[x509.Certificate, bytes]:
    key = ec.generate_private_key(curve)
    return _leaf(key.public_key()), key.sign(_PAE, ec.ECDSA(hashes.SHA256()))


def _dsa() -> tuple[x509.Certificate, bytes]:
    key = dsa.generate_private_key(2048)
    return _leaf(key.public_key()), key.sign(_PAE, hashes.SHA256())


def _ed448() -> tuple[x509.Certificate, bytes]:
    key = ed448.Ed448PrivateKey.generate()
    return _leaf(key.public_key()), key.sign(_PAE)


def _x448() -> tuple[x509.Certificate, bytes]:
    # A key-agreement key cannot sign at all; the signature is noise.
    return _leaf(x448.X448PrivateKey.generate().public_key()), b"\x01" * 64


def _unknown_oid() -> tuple[x509.Certificate, bytes]:
    # An ECDSA leaf whose key algorithm OID is changed to one nobody knows
    # (1.2.840.10045.2.9): cryptography cannot even decode the key.
    cert, signature = _ec(ec.SECP256R1())
    der = cert.public_bytes(Encoding.DER)
    known = bytes.fromhex("06072a8648ce3d0201")
    assert der.count(known) == 1
    return x509.load_der_x509_certificate(der.replace(known, known[:-1] + b"\x09")), signature


# (id, leaf maker, reason substring)
UNSUPPORTED: list[tuple[str, Callable[[], tuple[x509.Certificate, bytes]], str]] = [
    ("dsa", _dsa, "certificate key algorithm 1.2.840.10040.4.1"),
    ("ed448", _ed448, "certificate key algorithm 1.3.101.113"),
    ("x448", _x448, "certificate key algorithm 1.3.101.111"),
    ("secp256k1", lambda: _ec(ec.SECP256K1()), "certificate key curve secp256k1 is not supported"),
    ("unknown-oid", _unknown_oid, "certificate key algorithm 1.2.840.10045.2.9"),
]
_CASES = [pytest.param(make, reason, id=case) for case, make, reason in UNSUPPORTED]


def _envelope(cert: x509.Certificate, signature: bytes) -> bytes:
    return json.dumps(
        {
            "payloadType": _PAYLOAD_TYPE,
            "payload": base64.b64encode(_STATEMENT).decode(),
            "signatures": [
                {
                    "keyid": "",
                    "sig": base64.b64encode(signature).decode(),
                    "cert": cert.public_bytes(Encoding.PEM).decode(),
                }
            ],
        }
    ).encode()


def _constraints() -> X509Constraints:
    return X509Constraints(roots=(_ROOT,), uris=(_URI,))


def test_supported_leaf_verifies() -> None:
    # The control: the same PKI with a P-256 leaf verifies.
    (result,) = verify_certificate_envelope(
        _envelope(*_ec(ec.SECP256R1())), _constraints(), at=_AT, source="good.json"
    )
    assert result.status == "verified", result.reason


@pytest.mark.parametrize(("make", "reason"), _CASES)
def test_dsse_certificate_with_unsupported_key_is_rejected(
    make: Callable[[], tuple[x509.Certificate, bytes]], reason: str
) -> None:
    (result,) = verify_certificate_envelope(
        _envelope(*make()), _constraints(), at=_AT, source="bad.json"
    )
    assert result.status == "unsupported"
    assert reason in result.reason


def _x509_layout(tmp_path: Path) -> Path:
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {
            "ci": {
                "type": "x509",
                "roots": _ROOT.public_bytes(Encoding.PEM).decode(),
                "uris": [_URI],
            }
        },
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [
                    {"predicateType": "https://example.org/build/v1", "functionaries": ["ci"]}
                ],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--unsigned-layout", "--no-subject", "--format", "json"])
    out, err = capsys.readouterr()
    assert err == ""
    return code, json.loads(out)


@pytest.mark.parametrize("with_good", [True, False], ids=["beside-valid", "alone"])
@pytest.mark.parametrize(("make", "reason"), _CASES)
def test_verify_rejects_unsupported_certificate_and_counts_the_rest(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[], tuple[x509.Certificate, bytes]],
    reason: str,
    with_good: bool,
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "bad.json").write_bytes(_envelope(*make()))
    if with_good:
        (evidence / "good.json").write_bytes(_envelope(*_ec(ec.SECP256R1())))
    code, report = _run(
        [
            "verify",
            str(_x509_layout(tmp_path)),
            "--attestations",
            str(evidence),
            "--at",
            _AT.isoformat(),
        ],
        capsys,
    )
    rejected = {Path(r["attestation"]["source"]).name: r for r in report["rejected"]}
    assert reason in rejected["bad.json"]["message"]
    assert "good.json" not in rejected
    assert report["verdict"] == ("pass" if with_good else "fail")
    assert code == (0 if with_good else 1)


# --- Sigstore bundles ---------------------------------------------------------------

_REAL = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real-world"
_HAPPY = _REAL / "items" / "13-sigstore-conformance" / "happy-path-intoto-in-dsse-v3"
_PROD = _REAL / "trust" / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json"
_needs_corpus = pytest.mark.skipif(not _HAPPY.is_dir(), reason="shared corpus not present")


def _bundle_with_leaf(cert: x509.Certificate) -> bytes:
    bundle = json.loads((_HAPPY / "bundle.sigstore.json").read_bytes())
    raw = base64.b64encode(cert.public_bytes(Encoding.DER)).decode()
    bundle["verificationMaterial"]["certificate"]["rawBytes"] = raw
    return json.dumps(bundle).encode()


@_needs_corpus
@pytest.mark.parametrize(("make", "reason"), _CASES)
def test_bundle_with_unsupported_leaf_key_is_unsupported(
    make: Callable[[], tuple[x509.Certificate, bytes]], reason: str
) -> None:
    pytest.importorskip("sigstore")
    root = load_trusted_root(_PROD.read_bytes(), source="prod")
    (record,) = parse_bundles(_bundle_with_leaf(make()[0]), source="bad.sigstore.json")
    result = verify_bundle(record, root)
    assert result.status == "unsupported"
    assert reason in result.reason


@_needs_corpus
@pytest.mark.parametrize(("make", "reason"), _CASES)
def test_verify_counts_valid_bundle_beside_unsupported_one(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[], tuple[x509.Certificate, bytes]],
    reason: str,
) -> None:
    pytest.importorskip("sigstore")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "good.sigstore.json").write_bytes((_HAPPY / "bundle.sigstore.json").read_bytes())
    (evidence / "bad.sigstore.json").write_bytes(_bundle_with_leaf(make()[0]))
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {"any": {"type": "sigstore", "identityRegex": ".+", "issuerRegex": ".+"}},
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [
                    {"predicateType": "https://slsa.dev/provenance/v1", "functionaries": ["any"]}
                ],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    code, report = _run(
        [
            "verify",
            str(path),
            "--attestations",
            str(evidence),
            "--trusted-root",
            str(_PROD),
            "--at",
            "2026-11-22T00:00:00Z",
        ],
        capsys,
    )
    rejected = {Path(r["attestation"]["source"]).name: r for r in report["rejected"]}
    assert reason in rejected["bad.sigstore.json"]["message"]
    assert "good.sigstore.json" not in rejected
    assert report["verdict"] == "pass"
    assert code == 0
