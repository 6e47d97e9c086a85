"""Functionary entries in layouts: keys, Sigstore identities, X.509 constraints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from intoto_policy import ValidationError, generate_private_key
from intoto_policy.policy._functionaries import (
    KeyFunctionary,
    SigstoreFunctionary,
    X509Functionary,
    functionary_from_dict,
)

KEY = generate_private_key("ecdsa")


def _ca_pem() -> str:
    # A self-signed CA made on the fly, so the test depends on no fixture file.
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test ca")])
    now = datetime(2025, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


GOOD: list[tuple[str, dict[str, Any], type]] = [
    ("camelCase key", KEY.public_key.to_dict(camel=True), KeyFunctionary),
    ("snake_case key", KEY.public_key.to_dict(), KeyFunctionary),
    (
        "key with window",
        {
            **KEY.public_key.to_dict(camel=True),
            "notBefore": "2026-01-01T00:00:00Z",
            "notAfter": "2027-01-01T00:00:00Z",
        },
        KeyFunctionary,
    ),
    (
        "sigstore exact",
        {"type": "sigstore", "identity": "a@b.c", "issuer": "https://issuer"},
        SigstoreFunctionary,
    ),
    (
        "sigstore regex",
        {
            "type": "sigstore",
            "identityRegex": "https://github.com/acme/.+",
            "issuerRegex": "https://.+",
        },
        SigstoreFunctionary,
    ),
    (
        "sigstore with extensions",
        {
            "type": "sigstore",
            "identity": "x",
            "issuer": "y",
            "extensions": {
                "sourceRepositoryRef": "refs/tags/v1",
                "runnerEnvironment": {"regex": "github-.+"},
            },
        },
        SigstoreFunctionary,
    ),
    (
        "attestation-verifier sigstore-oidc form",
        {
            "keyType": "sigstore-oidc",
            "scheme": "fulcio",
            "keyVal": {"identity": "x", "issuer": "y"},
            "keyID": "s1",
        },
        SigstoreFunctionary,
    ),
]


@pytest.mark.parametrize(("name", "data", "kind"), GOOD, ids=[g[0] for g in GOOD])
def test_accepted_functionaries(name: str, data: dict[str, Any], kind: type) -> None:
    func = functionary_from_dict("f1", data)
    assert isinstance(func, kind), name


def test_x509_functionary_from_pem() -> None:
    func = functionary_from_dict(
        "ci",
        {
            "type": "x509",
            "roots": _ca_pem(),
            "uris": ["spiffe://example.org/ci/builder"],
            "commonName": {"regex": "build.+"},
        },
    )
    assert isinstance(func, X509Functionary)
    assert func.constraints is not None


BAD: list[tuple[str, Any, str]] = [
    ("not an object", "key", "must be an object"),
    ("unknown type", {"type": "pgp"}, "unknown functionary type"),
    ("key without scheme", {"keyType": "ed25519", "keyVal": {"public": "00"}}, "scheme"),
    (
        "key that does not load",
        {"keyType": "ed25519", "scheme": "ed25519", "keyVal": {"public": "zz"}},
        "hex",
    ),
    (
        "window reversed",
        {
            **KEY.public_key.to_dict(camel=True),
            "notBefore": "2027-01-01T00:00:00Z",
            "notAfter": "2026-01-01T00:00:00Z",
        },
        "after notBefore",
    ),
    ("window not a time", {**KEY.public_key.to_dict(camel=True), "notAfter": "soon"}, "notAfter"),
    ("window not a string", {**KEY.public_key.to_dict(camel=True), "notAfter": 5}, "notAfter"),
    ("identity without issuer", {"type": "sigstore", "identity": "x"}, "both an identity"),
    ("issuer without identity", {"type": "sigstore", "issuerRegex": "x"}, "both an identity"),
    (
        "exact and regex together",
        {"type": "sigstore", "identity": "x", "identityRegex": "x", "issuer": "y"},
        "not both",
    ),
    ("empty identity", {"type": "sigstore", "identity": "", "issuer": "y"}, "non-empty"),
    ("bad regex", {"type": "sigstore", "identityRegex": "(", "issuer": "y"}, "regular expression"),
    (
        "unknown extension",
        {
            "type": "sigstore",
            "identity": "x",
            "issuer": "y",
            "extensions": {"favouriteColour": "blue"},
        },
        "unknown Fulcio extension",
    ),
    (
        "extension of wrong shape",
        {
            "type": "sigstore",
            "identity": "x",
            "issuer": "y",
            "extensions": {"sourceRepositoryRef": 3},
        },
        "string or",
    ),
    (
        "extensions not an object",
        {"type": "sigstore", "identity": "x", "issuer": "y", "extensions": []},
        "extensions must be an object",
    ),
    ("x509 without roots", {"type": "x509", "uris": ["x"]}, "roots"),
    ("x509 roots not PEM", {"type": "x509", "roots": "nope", "uris": ["x"]}, ""),
    ("x509 without name constraints", {"type": "x509", "roots": "ROOT"}, "at least one"),
    (
        "x509 bad intermediates",
        {"type": "x509", "roots": "ROOT", "intermediates": 5, "uris": ["x"]},
        "intermediates",
    ),
    ("x509 bad commonName", {"type": "x509", "roots": "ROOT", "commonName": 5}, "commonName"),
    ("x509 bad uris", {"type": "x509", "roots": "ROOT", "uris": [5]}, "uris"),
]


@pytest.mark.parametrize(("name", "data", "needle"), BAD, ids=[b[0] for b in BAD])
def test_rejected_functionaries(name: str, data: Any, needle: str) -> None:
    if isinstance(data, dict) and data.get("roots") == "ROOT":
        data = {**data, "roots": _ca_pem()}
    with pytest.raises(ValidationError) as info:
        functionary_from_dict("f1", data, path="functionaries.f1")
    assert needle in str(info.value), str(info.value)


WINDOW = [
    ("inside", datetime(2026, 6, 1, tzinfo=UTC), None),
    ("before", datetime(2025, 6, 1, tzinfo=UTC), "before the functionary's notBefore"),
    ("after", datetime(2027, 6, 1, tzinfo=UTC), "after the functionary's notAfter"),
]


@pytest.mark.parametrize(("name", "when", "problem"), WINDOW, ids=[w[0] for w in WINDOW])
def test_window_problem(name: str, when: datetime, problem: str | None) -> None:
    func = functionary_from_dict(
        "f1",
        {
            **KEY.public_key.to_dict(camel=True),
            "notBefore": "2026-01-01T00:00:00Z",
            "notAfter": "2027-01-01T00:00:00Z",
        },
    )
    found = func.window_problem(when, "signing time")
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found
