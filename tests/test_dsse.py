"""DSSE: PAE, base64, envelope parsing, thresholds, interop and real envelopes."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given
from hypothesis import strategies as st
from securesystemslib import dsse as sslib_dsse
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey  # type: ignore[attr-defined]

from intoto_policy._errors import ValidationError
from intoto_policy.crypto._keys import PrivateKey, PublicKey, load_public_key_pem
from intoto_policy.model._dsse import INTOTO_PAYLOAD_TYPE, Envelope, b64decode, pae

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
AV = CORPUS / "attestation-verifier"
REAL = CORPUS / "real-world" / "items"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")


def _ed25519() -> PrivateKey:
    return PrivateKey.from_crypto(ed25519.Ed25519PrivateKey.generate())


def _tampered(envelope: dict[str, Any]) -> dict[str, Any]:
    """The same envelope with one byte of the payload changed."""
    payload = bytearray(b64decode(envelope["payload"]))
    payload[len(payload) // 2] ^= 0x01
    return {**envelope, "payload": base64.b64encode(bytes(payload)).decode()}


# -- PAE ---------------------------------------------------------------------

PAE_CASES: list[tuple[str, str, bytes, bytes]] = [
    (
        "official-vector",
        "http://example.com/HelloWorld",
        b"hello world",
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world",
    ),
    ("empty", "", b"", b"DSSEv1 0  0 "),
    ("intoto", INTOTO_PAYLOAD_TYPE, b"{}", b"DSSEv1 28 application/vnd.in-toto+json 2 {}"),
    ("non-ascii-type-counts-bytes", "tÿpe", b"x", b"DSSEv1 5 t\xc3\xbfpe 1 x"),
    ("payload-with-spaces-and-digits", "t", b"1 2 3\n", b"DSSEv1 1 t 6 1 2 3\n"),
    ("binary-payload", "t", b"\x00\xff", b"DSSEv1 1 t 2 \x00\xff"),
]


@pytest.mark.parametrize(
    ("payload_type", "payload", "expected"),
    [c[1:] for c in PAE_CASES],
    ids=[c[0] for c in PAE_CASES],
)
def test_pae_exact_bytes(payload_type: str, payload: bytes, expected: bytes) -> None:
    assert pae(payload_type, payload) == expected
    envelope = Envelope(payload_type=payload_type, payload=payload, signatures=())
    assert envelope.pae == expected


def _parse_pae(data: bytes) -> tuple[str, bytes]:
    magic, rest = data.split(b" ", 1)
    assert magic == b"DSSEv1"
    n, rest = rest.split(b" ", 1)
    ptype, rest = rest[: int(n)], rest[int(n) :]
    assert rest[:1] == b" "
    m, rest = rest[1:].split(b" ", 1)
    assert len(rest) == int(m)
    return ptype.decode("utf-8"), rest


@given(payload_type=st.text(max_size=40), payload=st.binary(max_size=200))
def test_pae_is_unambiguous(payload_type: str, payload: bytes) -> None:
    assert _parse_pae(pae(payload_type, payload)) == (payload_type, payload)


@given(
    a=st.tuples(st.text(max_size=8), st.binary(max_size=8)),
    b=st.tuples(st.text(max_size=8), st.binary(max_size=8)),
)
def test_pae_is_injective(a: tuple[str, bytes], b: tuple[str, bytes]) -> None:
    assert (pae(*a) == pae(*b)) == (a == b)


@needs_corpus
def test_official_dsse_vector() -> None:
    vector = json.loads((AV / "dsse" / "dsse-protocol-test-vector.json").read_text())
    envelope = Envelope.from_dict(vector["envelope"])
    assert envelope.pae == vector["expected_pae"].encode()
    numbers = ec.EllipticCurvePublicNumbers(
        int(vector["ecdsa_p256_public"]["x"]), int(vector["ecdsa_p256_public"]["y"]), ec.SECP256R1()
    )
    key = PublicKey.from_crypto(numbers.public_key())
    assert len(envelope.signatures[0].sig) == 64  # raw r||s
    assert envelope.verify([key])
    assert not Envelope.from_dict(_tampered(vector["envelope"])).verify([key])


# -- base64 ------------------------------------------------------------------

B64_OK: list[tuple[str, str, bytes]] = [
    ("standard-padded", "aGk/Pz4+", b"hi??>>"),
    ("url-safe", "aGk_Pz4-", b"hi??>>"),
    ("unpadded", "aGk", b"hi"),
    ("padded", "aGk=", b"hi"),
    ("empty", "", b""),
    ("two-pad", "YQ==", b"a"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in B64_OK], ids=[c[0] for c in B64_OK])
def test_b64decode_accepts(text: str, expected: bytes) -> None:
    assert b64decode(text) == expected


B64_BAD: list[tuple[str, object, str]] = [
    ("mixed-alphabets", "aGk/Pz4-", "mixes"),
    ("bad-char", "aGk!", "not base64"),
    ("inner-padding", "YQ==YQ==", "not base64"),
    ("whitespace", "aGk =", "not base64"),
    ("bad-length", "aGkhY", "bad length"),
    ("three-pad", "YQ===", "not base64"),
    ("not-a-string", 5, "not base64"),
]


@pytest.mark.parametrize(("text", "problem"), [c[1:] for c in B64_BAD], ids=[c[0] for c in B64_BAD])
def test_b64decode_rejects(text: Any, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        b64decode(text)


@given(st.binary(max_size=100))
def test_b64decode_both_alphabets(data: bytes) -> None:
    assert b64decode(base64.b64encode(data).decode()) == data
    assert b64decode(base64.urlsafe_b64encode(data).decode()) == data
    assert b64decode(base64.urlsafe_b64encode(data).decode().rstrip("=")) == data


def test_url_safe_envelope_verifies_and_round_trips() -> None:
    key = _ed25519()
    payload = b"\xfb\xff\xfe" * 10  # encodes to '+' and '/' in standard base64
    signed = Envelope.sign(payload, "t", [key]).to_dict()
    url_safe = {
        "payload": base64.urlsafe_b64encode(payload).decode().rstrip("="),
        "payloadType": "t",
        "signatures": [
            {"keyid": s["keyid"], "sig": s["sig"].replace("+", "-").replace("/", "_")}
            for s in signed["signatures"]
        ],
    }
    envelope = Envelope.from_dict(url_safe)
    assert envelope.payload == payload
    assert envelope.verify([key.public_key])
    assert envelope.to_dict() == url_safe


# -- parsing -----------------------------------------------------------------

_GOOD = {
    "payload": "e30=",
    "payloadType": INTOTO_PAYLOAD_TYPE,
    "signatures": [{"keyid": "k", "sig": "AAAA"}],
}

BAD_ENVELOPES: list[tuple[str, Any, str]] = [
    ("not-an-object", [], "must be a JSON object"),
    ("no-payload-type", {k: v for k, v in _GOOD.items() if k != "payloadType"}, "payloadType"),
    ("empty-payload-type", {**_GOOD, "payloadType": ""}, "payloadType"),
    ("payload-type-not-string", {**_GOOD, "payloadType": 1}, "payloadType"),
    ("no-payload", {k: v for k, v in _GOOD.items() if k != "payload"}, "payload must be"),
    ("payload-not-base64", {**_GOOD, "payload": "e30*"}, "payload is not base64"),
    ("signatures-not-list", {**_GOOD, "signatures": {}}, "signatures must be a list"),
    ("signature-not-object", {**_GOOD, "signatures": ["x"]}, "signatures\\[0\\]"),
    ("sig-missing", {**_GOOD, "signatures": [{"keyid": "k"}]}, "sig must be"),
    ("sig-empty", {**_GOOD, "signatures": [{"sig": ""}]}, "sig must be"),
    ("sig-not-base64", {**_GOOD, "signatures": [{"sig": "!!"}]}, "sig is not base64"),
    ("keyid-not-string", {**_GOOD, "signatures": [{"sig": "AAAA", "keyid": 1}]}, "keyid"),
    ("cert-not-string", {**_GOOD, "signatures": [{"sig": "AAAA", "cert": 1}]}, "cert"),
]


@pytest.mark.parametrize(
    ("data", "problem"), [c[1:] for c in BAD_ENVELOPES], ids=[c[0] for c in BAD_ENVELOPES]
)
def test_bad_envelopes(data: Any, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Envelope.from_dict(data)


def test_envelope_round_trip_keeps_unknown_fields() -> None:
    data = {**_GOOD, "x-extra": 1, "signatures": [{"keyid": "k", "sig": "AAAA", "note": "n"}]}
    assert Envelope.from_dict(data).to_dict() == data


def test_from_json_names_the_source() -> None:
    with pytest.raises(ValidationError) as info:
        Envelope.from_json(b"[]", source="env.json")
    assert str(info.value) == "env.json: a DSSE envelope must be a JSON object"


def test_statement_requires_the_intoto_payload_type() -> None:
    envelope = Envelope.sign(b"{}", "text/plain", [_ed25519()])
    with pytest.raises(ValidationError, match="payloadType"):
        envelope.statement()


def test_null_keyid_is_empty() -> None:
    envelope = Envelope.from_dict({**_GOOD, "signatures": [{"sig": "AAAA", "keyid": None}]})
    assert envelope.signatures[0].keyid == ""


# -- thresholds --------------------------------------------------------------


def test_threshold_counts_distinct_keys() -> None:
    a, b = _ed25519(), _ed25519()
    two_keys = Envelope.sign(b"p", "t", [a, b])
    assert two_keys.verify([a.public_key, b.public_key], threshold=2)
    assert not two_keys.verify([a.public_key], threshold=2)
    assert not two_keys.verify([a.public_key, b.public_key], threshold=3)


def test_same_key_signing_twice_counts_once() -> None:
    a = _ed25519()
    twice = Envelope.sign(b"p", "t", [a, a])
    assert len(twice.signatures) == 2
    assert twice.verify([a.public_key], threshold=1)
    assert not twice.verify([a.public_key], threshold=2)


def test_one_key_under_two_ids_counts_once() -> None:
    a = _ed25519()
    envelope = Envelope.sign(b"p", "t", [a])
    first = PublicKey.from_dict(a.public_key.to_dict(), "id-1")
    second = PublicKey.from_dict(a.public_key.to_dict(), "id-2")
    assert len(envelope.verified_keys([first, second])) == 1
    assert not envelope.verify([first, second], threshold=2)
    # Also when the signature's keyid hint names one of them.
    hinted = Envelope.from_dict(
        {
            **envelope.to_dict(),
            "signatures": [{**envelope.to_dict()["signatures"][0], "keyid": "id-2"}],
        }
    )
    assert not hinted.verify([first, second], threshold=2)
    assert hinted.verify([first, second], threshold=1)


def test_keyid_hint_proves_nothing() -> None:
    a, b = _ed25519(), _ed25519()
    envelope = Envelope.sign(b"p", "t", [b])
    lying = Envelope.from_dict(
        {
            **envelope.to_dict(),
            "signatures": [{**envelope.to_dict()["signatures"][0], "keyid": a.keyid}],
        }
    )
    assert not lying.verify([a.public_key])
    (check,) = lying.check_signatures([a.public_key, b.public_key])
    assert check.keyid_hint == a.keyid
    assert [k.keyid for k in check.verified_by] == [b.keyid]


@pytest.mark.parametrize("threshold", [0, -1], ids=["zero", "negative"])
def test_threshold_must_be_positive(threshold: int) -> None:
    with pytest.raises(ValidationError, match="threshold"):
        Envelope.sign(b"p", "t", [_ed25519()]).verify([], threshold=threshold)


def test_sign_needs_a_key() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        Envelope.sign(b"p", "t", [])


def test_no_signatures_never_verifies() -> None:
    envelope = Envelope.from_dict({**_GOOD, "signatures": []})
    assert not envelope.verify([_ed25519().public_key])


# -- interop with securesystemslib's DSSE ----------------------------------------

SSLIB_SIGNERS = {
    "ed25519": CryptoSigner.generate_ed25519,
    "ecdsa": CryptoSigner.generate_ecdsa,
    "rsa": CryptoSigner.generate_rsa,
}


@pytest.mark.parametrize("kind", sorted(SSLIB_SIGNERS))
def test_securesystemslib_verifies_our_envelopes(kind: str) -> None:
    signer = SSLIB_SIGNERS[kind]()
    ours = PrivateKey.from_crypto(signer._private_key)
    envelope = Envelope.sign(b'{"_type":"x"}', INTOTO_PAYLOAD_TYPE, [ours])
    theirs = sslib_dsse.Envelope.from_dict(json.loads(json.dumps(envelope.to_dict())))
    assert set(theirs.verify([signer.public_key], 1)) == {signer.public_key.keyid}
    tampered = sslib_dsse.Envelope.from_dict(_tampered(envelope.to_dict()))
    with pytest.raises(VerificationError):
        tampered.verify([signer.public_key], 1)


@pytest.mark.parametrize("kind", sorted(SSLIB_SIGNERS))
def test_we_verify_securesystemslib_envelopes(kind: str) -> None:
    signer = SSLIB_SIGNERS[kind]()
    theirs = sslib_dsse.Envelope(b"payload bytes", "application/x-test", {})
    theirs.sign(signer)
    data = theirs.to_dict()
    envelope = Envelope.from_dict(data)
    key = PublicKey.from_dict(signer.public_key.to_dict(), signer.public_key.keyid)
    assert envelope.pae == theirs.pae()
    assert envelope.verify([key])
    assert envelope.signatures[0].keyid == key.keyid
    assert not Envelope.from_dict(_tampered(data)).verify([key])


def test_keyids_agree_with_securesystemslib() -> None:
    signer = CryptoSigner.generate_ecdsa()
    ours = PublicKey.from_crypto(signer._private_key.public_key())
    assert ours.keyid == SSlibKey.from_crypto(signer._private_key.public_key()).keyid


# -- real envelopes ----------------------------------------------------------


def _fixture_key() -> PublicKey:
    layout = yaml.safe_load((AV / "attestation-verifier" / "layouts" / "layout.yml").read_text())
    ((keyid, data),) = layout["functionaries"].items()
    return PublicKey.from_dict(data, keyid)


def _corpus_files(*dirs: str) -> list[Path]:
    base = AV / "attestation-verifier"
    return sorted(p for d in dirs for p in (base / d).glob("*.json")) if base.is_dir() else []


AV_ENVELOPES = _corpus_files("test-data", "test-data-npm")


@needs_corpus
def test_attestation_verifier_fixture_key_id() -> None:
    key = _fixture_key()
    assert key.computed_keyid("legacy") == key.keyid


@needs_corpus
@pytest.mark.parametrize(
    "path", AV_ENVELOPES, ids=[f"{p.parent.name}/{p.name}" for p in AV_ENVELOPES]
)
def test_attestation_verifier_envelopes_verify(path: Path) -> None:
    key = _fixture_key()
    data = json.loads(path.read_bytes())
    envelope = Envelope.from_json(path.read_bytes(), source=str(path))
    assert envelope.signatures[0].keyid == key.keyid
    assert envelope.verify([key])
    expected_types = {
        ("test-data", "build"): "https://slsa.dev/provenance/v1",
        ("test-data", "clone"): "https://in-toto.io/attestation/link/v0.3",
        ("test-data", "test"): "https://in-toto.io/attestation/test-result/v0.1",
        ("test-data-npm", "build"): "https://slsa.dev/provenance/v0.2",
        (
            "test-data-npm",
            "publish",
        ): "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
    }
    statement = envelope.statement()
    assert statement.predicate_type == expected_types[path.parent.name, path.name.split(".")[0]]
    assert not Envelope.from_dict(_tampered(data)).verify([key])


WITNESS = REAL / "28-witness-sbom-collections"


@needs_corpus
@pytest.mark.parametrize("name", ["spdx-att.json", "cdx-att.json"])
def test_witness_collections_verify(name: str) -> None:
    pem = (WITNESS / "testpub.pem").read_bytes()
    # Witness names a key by sha256 of its PEM bytes (corpus INDEX.md).
    key = load_public_key_pem(pem, keyid=hashlib.sha256(pem).hexdigest())
    raw = (WITNESS / name).read_bytes()
    envelope = Envelope.from_json(raw)
    assert [s.keyid for s in envelope.signatures] == [key.keyid]
    assert envelope.verify([key])
    assert envelope.statement().predicate_type.startswith("https://witness.testifysec.com/")
    assert not Envelope.from_dict(_tampered(json.loads(raw))).verify([key])


VSA = REAL / "10-slsaverifier-vsa-gce"


@needs_corpus
def test_gke_vsa_raw_ecdsa_signature_verifies() -> None:
    key = load_public_key_pem((VSA / "vsa_signing_public_key.pem").read_bytes())
    raw = (VSA / "gke-gce-pre.bcid-vsa.jsonl").read_bytes().strip()
    envelope = Envelope.from_json(raw)
    assert len(envelope.signatures[0].sig) == 64  # raw r||s, not DER
    assert envelope.verify([key])
    assert envelope.statement().predicate_type == "https://slsa.dev/verification_summary/v1"
    assert not Envelope.from_dict(_tampered(json.loads(raw))).verify([key])
    assert not envelope.verify([_ed25519().public_key])
