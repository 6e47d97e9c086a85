"""Offline verification of intoto/0.0.2 bundles (_rekor.py): one failing case per check.

Each case mutates a real, valid corpus bundle (or the trust material it is
checked against) so that exactly one check must reject it, and names that
check. The unmutated baselines pass, so every case is able to fail.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from intoto_policy._errors import ValidationError
from intoto_policy.crypto._rekor import (
    RegistryKey,
    RekorCheckError,
    _envelope_hashes,
    _set_payload,
    handles,
    parse_registry_keys,
    parse_trust,
    verify_rekor_bundle,
)

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real-world"
ITEMS = CORPUS / "items"
PROD = CORPUS / "trust" / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json"
pytestmark = pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present")

PROOF = "18-sigstorego-npm-provenance-sigstore-2.0.0/sigstore.js@2.0.0-provenance.sigstore.json"
SET_ONLY = "15-sigstorego-npm-provenance-sigstore-1.3.0/bundle-provenance.json"
KEYED = "16-sigstorego-npm-publish-keyed/bundle-publish.json"
TSA = "13-sigstore-conformance/intoto-with-custom-trust-root"
DSSE = "13-sigstore-conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json"
V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
NPM_KEYID = "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"

Doc = dict[str, Any]


def _flip_b64(text: str, at: int = 0) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _entry(d: Doc) -> Doc:
    entry: Doc = d["verificationMaterial"]["tlogEntries"][0]
    return entry


def _registry_key(expires: str | None = None, keyid: str = NPM_KEYID) -> dict[str, Any]:
    pem = (ITEMS / "16-sigstorego-npm-publish-keyed/publish_key.pub").read_text()
    spki = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    return {
        "keyid": keyid,
        "keytype": "ecdsa-sha2-nistp256",
        "scheme": "ecdsa-sha2-nistp256",
        "key": spki,
        "expires": expires,
    }


def _keys(**kw: Any) -> tuple[RegistryKey, ...]:
    return parse_registry_keys([_registry_key(**kw)])


def _checkpoint(d: Doc, change: Callable[[str], str]) -> None:
    cp = _entry(d)["inclusionProof"]["checkpoint"]
    cp["envelope"] = change(cp["envelope"])


def _flip_checkpoint_sig(note: str) -> str:
    head, _, sig_line = note.rstrip("\n").rpartition("\n")
    name, _, b64 = sig_line.rpartition(" ")
    return f"{head}\n{name} {_flip_b64(b64, 10)}\n"


def _no_ctlogs(t: Doc) -> None:
    t["ctlogs"] = []


def _ca_window(t: Doc) -> None:
    for ca in t["certificateAuthorities"]:
        ca["validFor"] = {"start": "2030-01-01T00:00:00Z"}


def _tlog_window(t: Doc) -> None:
    for log in t["tlogs"]:
        log["publicKey"]["validFor"] = {"start": "2030-01-01T00:00:00Z"}


def _other_root_tsa(t: Doc) -> None:
    t["timestampAuthorities"] = []


@dataclass(frozen=True)
class Case:
    name: str
    item: str
    check: str | None  # None: passes
    bundle: Callable[[Doc], object] | None = None
    trust: Callable[[Doc], object] | None = None
    keys: Callable[[], tuple[RegistryKey, ...]] = _keys


CASES = [
    Case("baseline with inclusion proof", PROOF, None),
    Case("baseline SET only (bundle v0.1)", SET_ONLY, None),
    Case("baseline key-signed publish attestation", KEYED, None),
    Case("baseline with RFC 3161 timestamp", f"{TSA}/bundle.sigstore.json", None),
    Case(
        "baseline dsse/0.0.1 entry, v0.1 bundle relying on its SET",
        DSSE,
        None,
        bundle=lambda d: (_entry(d).pop("inclusionProof"), d.update(mediaType=V01)),
    ),
    Case(
        "dsse/0.0.1 entry without inclusion proof in a v0.3 bundle",
        DSSE,
        "inclusion-proof",
        bundle=lambda d: _entry(d).pop("inclusionProof"),
    ),
    Case(
        "dsse/0.0.1 entry: payload changed",
        DSSE,
        "log-body",
        bundle=lambda d: (
            _entry(d).pop("inclusionProof"),
            d.update(mediaType=V01),
            d["dsseEnvelope"].update(payload=base64.b64encode(b"{}").decode()),
        ),
    ),
    Case(
        "dsse/0.0.1 entry: payload type changed (envelope hash)",
        DSSE,
        "log-body",
        bundle=lambda d: (
            _entry(d).pop("inclusionProof"),
            d.update(mediaType=V01),
            d["dsseEnvelope"].update(payloadType="application/json"),
        ),
    ),
    Case(
        "dsse/0.0.1 entry: signature changed",
        DSSE,
        "log-body",
        bundle=lambda d: (
            _entry(d).pop("inclusionProof"),
            d.update(mediaType=V01),
            d["dsseEnvelope"]["signatures"][0].update(
                sig=_flip_b64(d["dsseEnvelope"]["signatures"][0]["sig"], 20)
            ),
        ),
    ),
    Case(
        "two DSSE signatures",
        PROOF,
        "dsse-signature-count",
        bundle=lambda d: d["dsseEnvelope"]["signatures"].append(d["dsseEnvelope"]["signatures"][0]),
    ),
    Case(
        "no log entry",
        PROOF,
        "log-entry",
        bundle=lambda d: d["verificationMaterial"].update(tlogEntries=[]),
    ),
    Case(
        "wrong log id",
        PROOF,
        "log-id",
        bundle=lambda d: _entry(d)["logId"].update(keyId=_flip_b64(_entry(d)["logId"]["keyId"])),
    ),
    Case("log key not valid at the integrated time", PROOF, "log-id", trust=_tlog_window),
    Case(
        "SET flipped",
        PROOF,
        "set",
        bundle=lambda d: _entry(d)["inclusionPromise"].update(
            signedEntryTimestamp=_flip_b64(_entry(d)["inclusionPromise"]["signedEntryTimestamp"], 8)
        ),
    ),
    Case(
        "integrated time moved (SET no longer covers it)",
        SET_ONLY,
        "set",
        bundle=lambda d: _entry(d).update(integratedTime=str(int(_entry(d)["integratedTime"]) + 1)),
    ),
    Case(
        "log index changed",
        SET_ONLY,
        "set",
        bundle=lambda d: _entry(d).update(logIndex=str(int(_entry(d)["logIndex"]) + 1)),
    ),
    Case(
        "no SET",
        PROOF,
        "set",
        bundle=lambda d: _entry(d).pop("inclusionPromise"),
    ),
    Case(
        "inclusion proof hash flipped",
        PROOF,
        "inclusion-proof",
        bundle=lambda d: _entry(d)["inclusionProof"]["hashes"].__setitem__(
            0, _flip_b64(_entry(d)["inclusionProof"]["hashes"][0])
        ),
    ),
    Case(
        "inclusion proof hash dropped",
        PROOF,
        "inclusion-proof",
        bundle=lambda d: _entry(d)["inclusionProof"]["hashes"].pop(),
    ),
    Case(
        "inclusion proof index changed",
        PROOF,
        "inclusion-proof",
        bundle=lambda d: _entry(d)["inclusionProof"].update(
            logIndex=str(int(_entry(d)["inclusionProof"]["logIndex"]) - 1)
        ),
    ),
    Case(
        "bundle v0.2 without inclusion proof",
        SET_ONLY,
        "inclusion-proof",
        bundle=lambda d: d.update(mediaType="application/vnd.dev.sigstore.bundle+json;version=0.2"),
    ),
    Case(
        "checkpoint signature flipped",
        PROOF,
        "checkpoint",
        bundle=lambda d: _checkpoint(d, _flip_checkpoint_sig),
    ),
    Case(
        "checkpoint for another tree size",
        PROOF,
        "checkpoint",
        bundle=lambda d: _checkpoint(d, lambda n: n.replace("\n27657875\n", "\n27657876\n", 1)),
    ),
    Case(
        "checkpoint missing",
        PROOF,
        "checkpoint",
        bundle=lambda d: _entry(d)["inclusionProof"].pop("checkpoint"),
    ),
    Case(
        "payload changed (body no longer describes the envelope)",
        PROOF,
        "log-body",
        bundle=lambda d: d["dsseEnvelope"].update(
            payload=base64.b64encode(base64.b64decode(d["dsseEnvelope"]["payload"]) + b" ").decode()
        ),
    ),
    Case(
        "payload type changed",
        PROOF,
        "log-body",
        bundle=lambda d: d["dsseEnvelope"].update(payloadType="application/json"),
    ),
    Case(
        "signature changed",
        PROOF,
        "log-body",
        bundle=lambda d: d["dsseEnvelope"]["signatures"][0].update(
            sig=_flip_b64(d["dsseEnvelope"]["signatures"][0]["sig"], 20)
        ),
    ),
    Case(
        "certificate replaced by another valid Fulcio certificate",
        PROOF,
        "log-body",
        bundle=lambda d: d["verificationMaterial"].update(
            x509CertificateChain=json.loads((ITEMS / SET_ONLY).read_text())["verificationMaterial"][
                "x509CertificateChain"
            ]
        ),
    ),
    Case(
        "log entry without its body: only an online Rekor lookup could decide",
        SET_ONLY,
        "unsupported",
        bundle=lambda d: _entry(d).pop("canonicalizedBody"),
    ),
    Case("no CT log to check the SCT against", PROOF, "sct", trust=_no_ctlogs),
    Case(
        "Fulcio CA not valid at the integrated time", PROOF, "certificate-chain", trust=_ca_window
    ),
    Case(
        "RFC 3161 timestamp from an authority the root does not list",
        f"{TSA}/bundle.sigstore.json",
        "timestamp",
        trust=_other_root_tsa,
    ),
    Case("registry key not listed", KEYED, "signer-key", keys=lambda: _keys(keyid="SHA256:other")),
    Case(
        "registry key expired before the integrated time",
        KEYED,
        "signer-key",
        keys=lambda: _keys(expires="2023-01-01T00:00:00Z"),
    ),
    Case(
        "registry key still valid at the integrated time",
        KEYED,
        None,
        keys=lambda: _keys(expires="2025-01-29T00:00:00Z"),
    ),
    Case(
        "key-signed bundle against another key under the same key id",
        KEYED,
        "log-body",
        keys=lambda: parse_registry_keys(
            [
                {
                    **_registry_key(),
                    "key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwrkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==",
                }
            ]
        ),
    ),
]


def _root_for(case: Case) -> Path:
    local = (ITEMS / case.item).parent / "trusted_root.json"
    return local if local.is_file() else PROD


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rekor_check(case: Case) -> None:
    bundle = json.loads((ITEMS / case.item).read_text())
    trust_doc = json.loads(_root_for(case).read_text())
    if case.bundle is not None:
        case.bundle(bundle)
    assert handles(bundle) or not bundle["verificationMaterial"]["tlogEntries"]
    if case.trust is not None:
        case.trust(trust_doc)
    trust = parse_trust(json.dumps(trust_doc).encode())
    if case.check is None:
        outcome = verify_rekor_bundle(copy.deepcopy(bundle), trust, registry_keys=case.keys())
        assert outcome.integrated_time < datetime(2026, 1, 1, tzinfo=UTC)
        assert outcome.payload
        return
    with pytest.raises(RekorCheckError) as info:
        verify_rekor_bundle(bundle, trust, registry_keys=case.keys())
    assert info.value.check == case.check, str(info.value)


def _relogged(d: Doc, t: Doc, change: Callable[[Doc], object]) -> None:
    """Change the entry body and log it again under a test log key.

    Rekor checks a signature before logging it, so a logged body whose
    signature does not verify needs a log of our own: the body is changed,
    its envelope hash recomputed, and the SET re-signed by a test key that
    replaces the trusted root's logs.
    """
    entry = _entry(d)
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    change(body)
    content = body["spec"]["content"]
    env = content["envelope"]
    logged_sig = base64.b64decode(env["signatures"][0]["sig"]).decode()
    pem = base64.b64decode(env["signatures"][0]["publicKey"]).decode()
    d["dsseEnvelope"]["signatures"][0]["sig"] = logged_sig
    keyid = d["dsseEnvelope"]["signatures"][0].get("keyid") or ""
    content["hash"]["value"] = sorted(
        _envelope_hashes(d["dsseEnvelope"]["payload"], env["payloadType"], logged_sig, keyid, pem)
    )[0]
    body_b64 = base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()
    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    log_id = hashlib.sha256(spki).digest()
    entry["canonicalizedBody"] = body_b64
    entry["logId"]["keyId"] = base64.b64encode(log_id).decode()
    signed = _set_payload(body_b64, int(entry["integratedTime"]), log_id, int(entry["logIndex"]))
    entry["inclusionPromise"]["signedEntryTimestamp"] = base64.b64encode(
        key.sign(signed, ec.ECDSA(hashes.SHA256()))
    ).decode()
    t["tlogs"] = [
        {
            "publicKey": {
                "rawBytes": base64.b64encode(spki).decode(),
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            },
            "logId": {"keyId": base64.b64encode(log_id).decode()},
        }
    ]


def _flip_logged_sig(body: Doc) -> None:
    sig = body["spec"]["content"]["envelope"]["signatures"][0]
    raw = base64.b64decode(base64.b64decode(sig["sig"]))
    flipped = raw[:-1] + bytes([raw[-1] ^ 0x01])
    sig["sig"] = base64.b64encode(base64.b64encode(flipped)).decode()


RELOGGED: list[tuple[str, str, Callable[[Doc], object], str | None]] = [
    # The re-logging itself is sound: an unchanged body still verifies.
    ("unchanged body under the test log", SET_ONLY, lambda b: None, None),
    ("logged signature that does not verify", SET_ONLY, _flip_logged_sig, "dsse-signature"),
    ("registry-signed: signature that does not verify", KEYED, _flip_logged_sig, "dsse-signature"),
]


@pytest.mark.parametrize(
    ("item", "change", "check"), [pytest.param(*c[1:], id=c[0]) for c in RELOGGED]
)
def test_relogged_body(item: str, change: Callable[[Doc], object], check: str | None) -> None:
    bundle = json.loads((ITEMS / item).read_text())
    trust_doc = json.loads(PROD.read_text())
    _relogged(bundle, trust_doc, change)
    trust = parse_trust(json.dumps(trust_doc).encode())
    if check is None:
        assert verify_rekor_bundle(bundle, trust, registry_keys=_keys()).payload
        return
    with pytest.raises(RekorCheckError) as info:
        verify_rekor_bundle(bundle, trust, registry_keys=_keys())
    assert info.value.check == check, str(info.value)


def test_signed_after_the_verification_time_fails() -> None:
    pytest.importorskip("sigstore")
    from intoto_policy.crypto._keyless import load_trusted_root, parse_bundles, verify_bundle

    root = load_trusted_root(PROD.read_bytes(), source="prod")
    (record,) = parse_bundles((ITEMS / SET_ONLY).read_bytes(), source=SET_ONLY)
    logged = datetime(2023, 4, 18, 17, 45, 12, tzinfo=UTC)
    assert verify_bundle(record, root, at=logged).verified
    late = verify_bundle(record, root, at=logged - timedelta(seconds=1))
    assert late.status == "failed"
    assert "signed after the verification time" in late.reason
    online = json.loads(record.bundle_json)
    _entry(online).pop("canonicalizedBody")
    (record,) = parse_bundles(json.dumps(online).encode(), source="online.json")
    result = verify_bundle(record, root, at=logged)
    assert result.status == "unsupported"
    assert "online Rekor lookup" in result.reason


def _secp256k1_leaf(d: Doc) -> None:
    # A certificate whose key is on a curve Sigstore does not use; the log
    # entry is untouched, so every check before the key check passes.
    key = ec.generate_private_key(ec.SECP256K1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k1")])
    now = datetime(2023, 4, 18, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    raw = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    d["verificationMaterial"]["x509CertificateChain"] = {"certificates": [{"rawBytes": raw}]}


def test_certificate_key_algorithm_is_judged() -> None:
    bundle = json.loads((ITEMS / SET_ONLY).read_text())
    _secp256k1_leaf(bundle)
    with pytest.raises(RekorCheckError) as info:
        verify_rekor_bundle(bundle, parse_trust(PROD.read_bytes()))
    assert info.value.check == "certificate-key", str(info.value)
    assert "secp256k1" in info.value.problem


REGISTRY_KEY_ERRORS: list[tuple[str, Callable[[], list[Any]], str]] = [
    ("unknown member", lambda: [{**_registry_key(), "extra": 1}], "unknown registry key fields"),
    ("other key type", lambda: [{**_registry_key(), "keytype": "ed25519"}], "keytype must be"),
    ("duplicate key id", lambda: [_registry_key(), _registry_key()], "duplicate keyid"),
    ("not base64", lambda: [{**_registry_key(), "key": "%%%"}], "not base64"),
    ("bad expiry", lambda: [{**_registry_key(), "expires": "soon"}], "expires"),
    ("empty", list, "non-empty array"),
]


@pytest.mark.parametrize(
    ("entries", "message"),
    [pytest.param(e, m, id=n) for n, e, m in REGISTRY_KEY_ERRORS],
)
def test_registry_keys_fail_closed(entries: Callable[[], list[Any]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_registry_keys(entries())
