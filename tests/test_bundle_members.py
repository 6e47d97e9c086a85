"""Unknown members in Sigstore bundles: each object kind of the schema.

Every case adds one member the Sigstore bundle schema (protobuf-specs
v0.1-v0.3) does not define to a real corpus bundle that verifies, and
expects that bundle, and only it, to fail with a reason naming the member
and its path. The unmutated bundle is checked first, so each case can fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from intoto_policy.crypto._keyless import (
    SigstoreTrustedRoot,
    load_trusted_root,
    parse_bundles,
    unknown_bundle_member,
    verify_bundle,
)
from intoto_policy.crypto._rekor import parse_registry_keys, parse_trust, verify_keyed

pytest.importorskip("sigstore")

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
REAL = CORPUS / "real-world"
ITEMS = REAL / "items"
pytestmark = pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present")

ROOTS = {
    "PROD": REAL / "trust" / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json",
    "STAGING": REAL / "trust" / "sigstore-staging.trusted_root.sigstore-python-4.5.1.json",
}
V03 = "04-slsaverifier-bundle-valid-v0.3/valid-v0.3.intoto.sigstore"
V01_CHAIN = "08-slsaverifier-bundle-v0.1-slsa1draft/attestation.intoto.sigstore"
TSA = "14-sigstorepython-dsse-staging-rekor-v2/a.dsse.staging-rekor-v2.txt.sigstore.json"
KEYED = "16-sigstorego-npm-publish-keyed/bundle-publish.json"
NPM = "09-slsaverifier-npm-attestations/provenance-npm-test-ossf.tgz.json"
PEP740 = (
    "24-pypi-pep740-pypi_attestations-0.0.19/pypi_attestations-0.0.19.tar.gz.publish.attestation"
)
NPM_KEYID = "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"

Doc = dict[str, Any]
VM = "verificationMaterial"
ENTRY = (VM, "tlogEntries", 0)


@cache
def _root(name: str) -> SigstoreTrustedRoot:
    return load_trusted_root(ROOTS[name].read_bytes(), source=name)


def _at(doc: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _as_message_signature(doc: Doc) -> None:
    # A message-signature bundle: the same material, no DSSE envelope.
    del doc["dsseEnvelope"]
    doc["messageSignature"] = {
        "messageDigest": {"algorithm": "SHA2_256", "digest": "AAAA"},
        "signature": "AAAA",
    }


def _status(data: bytes, source: str, root: str) -> list[tuple[str, str]]:
    records = parse_bundles(data, source=source)
    results = [verify_bundle(record, _root(root)) for record in records]
    return [(r.status, r.reason) for r in results]


@dataclass(frozen=True)
class Case:
    item: str
    root: str
    path: tuple[str | int, ...]
    key: str
    where: str
    prepare: Callable[[Doc], None] | None = None
    base: str = "verified"


CASES = {
    "bundle": Case(V03, "PROD", (), "extra", "the bundle"),
    "verification-material": Case(V03, "PROD", (VM,), "tlog_entries", VM),
    "x509-certificate": Case(V03, "PROD", (VM, "certificate"), "rawBytes_", f"{VM}.certificate"),
    "x509-certificate-chain": Case(
        V01_CHAIN, "PROD", (VM, "x509CertificateChain"), "chain", f"{VM}.x509CertificateChain"
    ),
    "x509-certificate-in-chain": Case(
        V01_CHAIN,
        "PROD",
        (VM, "x509CertificateChain", "certificates", 0),
        "raw_bytes",
        f"{VM}.x509CertificateChain.certificates[0]",
    ),
    "transparency-log-entry": Case(V03, "PROD", ENTRY, "log_index", f"{VM}.tlogEntries[0]"),
    "log-id": Case(V03, "PROD", (*ENTRY, "logId"), "key_id", f"{VM}.tlogEntries[0].logId"),
    "kind-version": Case(
        V03, "PROD", (*ENTRY, "kindVersion"), "kind_", f"{VM}.tlogEntries[0].kindVersion"
    ),
    "inclusion-promise": Case(
        V03,
        "PROD",
        (*ENTRY, "inclusionPromise"),
        "signed_entry_timestamp",
        f"{VM}.tlogEntries[0].inclusionPromise",
    ),
    "inclusion-proof": Case(
        V03, "PROD", (*ENTRY, "inclusionProof"), "root_hash", f"{VM}.tlogEntries[0].inclusionProof"
    ),
    "checkpoint": Case(
        V03,
        "PROD",
        (*ENTRY, "inclusionProof", "checkpoint"),
        "envelope_",
        f"{VM}.tlogEntries[0].inclusionProof.checkpoint",
    ),
    "timestamp-verification-data": Case(
        TSA,
        "STAGING",
        (VM, "timestampVerificationData"),
        "rfc3161_timestamps",
        f"{VM}.timestampVerificationData",
    ),
    "rfc3161-signed-timestamp": Case(
        TSA,
        "STAGING",
        (VM, "timestampVerificationData", "rfc3161Timestamps", 0),
        "signedTimestamp_",
        f"{VM}.timestampVerificationData.rfc3161Timestamps[0]",
    ),
    "envelope": Case(V03, "PROD", ("dsseEnvelope",), "payload_type", "dsseEnvelope"),
    "signature": Case(
        V03, "PROD", ("dsseEnvelope", "signatures", 0), "sig_", "dsseEnvelope.signatures[0]"
    ),
    "message-signature": Case(
        V03,
        "PROD",
        ("messageSignature",),
        "message_digest",
        "messageSignature",
        _as_message_signature,
        "unsupported",
    ),
    "hash-output": Case(
        V03,
        "PROD",
        ("messageSignature", "messageDigest"),
        "digest_",
        "messageSignature.messageDigest",
        _as_message_signature,
        "unsupported",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_unknown_member_fails_that_bundle(case: Case) -> None:
    doc = json.loads((ITEMS / case.item).read_bytes())
    if case.prepare is not None:
        case.prepare(doc)
    assert _status(json.dumps(doc).encode(), case.item, case.root)[0][0] == case.base
    _at(doc, case.path)[case.key] = 1
    expected = f"malformed bundle: unknown member {case.key!r} at {case.where}"
    assert _status(json.dumps(doc).encode(), case.item, case.root) == [("failed", expected)]


def _keyed(doc: Doc) -> tuple[bool, str, str]:
    pem = (ITEMS / "16-sigstorego-npm-publish-keyed/publish_key.pub").read_text()
    spki = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    keys = parse_registry_keys(
        [
            {
                "keyid": NPM_KEYID,
                "keytype": "ecdsa-sha2-nistp256",
                "scheme": "ecdsa-sha2-nistp256",
                "key": spki,
                "expires": None,
            }
        ]
    )
    trust = parse_trust(ROOTS["PROD"].read_bytes())
    result = verify_keyed(json.dumps(doc).encode(), trust, keys, at=None)
    return result.ok, result.check, result.reason


KEYED_CASES = {
    "public-key-identifier": ((VM, "publicKey"), "keyId", f"{VM}.publicKey"),
    "entry-of-key-signed-bundle": (ENTRY, "body", f"{VM}.tlogEntries[0]"),
    "key-signed-envelope-signature": (
        ("dsseEnvelope", "signatures", 0),
        "public_key",
        "dsseEnvelope.signatures[0]",
    ),
}


@pytest.mark.parametrize(("path", "key", "where"), KEYED_CASES.values(), ids=KEYED_CASES.keys())
def test_unknown_member_fails_key_signed_bundle(
    path: tuple[str | int, ...], key: str, where: str
) -> None:
    doc = json.loads((ITEMS / KEYED).read_bytes())
    assert _keyed(doc)[0]
    _at(doc, path)[key] = "x"
    expected = f"malformed bundle: unknown member {key!r} at {where}"
    assert _keyed(doc) == (False, "malformed", expected)


def _npm_first_bundle(doc: Doc) -> Doc:
    bundle: Doc = doc["attestations"][0]["bundle"]
    return bundle


def _pep740_entry(doc: Doc) -> Doc:
    entry: Doc = doc["verification_material"]["transparency_entries"][0]
    return entry


# The containers keep their own shapes; a bundle inside them is checked, and
# only that bundle fails.
CONTAINER_CASES = {
    "npm-one-bundle-of-two": (NPM, _npm_first_bundle, "extra", "the bundle", 2),
    "pep740-transparency-entry": (
        PEP740,
        _pep740_entry,
        "extra",
        f"{VM}.tlogEntries[0]",
        1,
    ),
}


@pytest.mark.parametrize(
    ("item", "target", "key", "where", "count"),
    CONTAINER_CASES.values(),
    ids=CONTAINER_CASES.keys(),
)
def test_unknown_member_in_container(
    item: str, target: Callable[[Doc], Doc], key: str, where: str, count: int
) -> None:
    doc = json.loads((ITEMS / item).read_bytes())
    before = _status(json.dumps(doc).encode(), item, "PROD")
    target(doc)[key] = 1
    after = _status(json.dumps(doc).encode(), item, "PROD")
    assert len(after) == count
    assert after[0] == ("failed", f"malformed bundle: unknown member {key!r} at {where}")
    assert before[0] != after[0]
    assert after[1:] == before[1:]


SCHEMA_CASES = {
    "empty-bundle": ({}, None),
    "null-child-skipped": ({"verificationMaterial": {"publicKey": None}}, None),
    "wrong-type-child-skipped": ({"dsseEnvelope": ["x"]}, None),
    "own-members-before-children": (
        {"dsseEnvelope": {"signatures": [{"sig": "a"}, {"sig_": 1}]}, "zz": 1},
        "unknown member 'zz' at the bundle",
    ),
    "second-array-element": (
        {"dsseEnvelope": {"signatures": [{"sig": "a"}, {"sig_": 1}]}},
        "unknown member 'sig_' at dsseEnvelope.signatures[1]",
    ),
    "pep740-container-key-is-not-a-bundle-member": (
        {"verification_material": {}},
        "unknown member 'verification_material' at the bundle",
    ),
}


@pytest.mark.parametrize(("doc", "expected"), SCHEMA_CASES.values(), ids=SCHEMA_CASES.keys())
def test_unknown_bundle_member(doc: Doc, expected: str | None) -> None:
    assert unknown_bundle_member(doc) == expected
