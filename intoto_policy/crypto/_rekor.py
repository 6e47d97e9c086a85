"""Offline verification of Sigstore bundles with Rekor ``intoto/0.0.2`` entries.

sigstore-python verifies DSSE bundles only against ``dsse/0.0.1`` and
``hashedrekord/0.0.2`` log entries with inclusion proofs. Bundles v0.1/v0.2
as written by npm, sigstore-js and slsa-github-generator carry
``intoto/0.0.2`` entries, often with a signed entry timestamp (SET) only.
This module verifies them itself, on ``cryptography``, with no network, no
clock and no subprocess (and ``dsse/0.0.1`` entries that lack an inclusion
proof, the same way):

* the DSSE envelope carries exactly one signature (what the bundle spec and
  sigstore-go require);
* exactly one log entry, of kind ``intoto/0.0.2`` (or ``dsse/0.0.1``), from a log of the trusted
  root whose key was valid at the entry's integrated time;
* the SET: the log's signature over the canonical JSON of ``body``,
  ``integratedTime``, ``logID`` and ``logIndex``;
* the inclusion proof (RFC 6962 audit path to the root hash) and the
  checkpoint (a signed note by the same log naming that size and root
  hash); bundles v0.2 and later must carry both;
* the entry body describes this envelope: payload type, payload hash,
  envelope hash, the signature and the signer's certificate or key;
* for certificate-signed bundles: integrated time within the leaf
  certificate's validity, the chain to a Fulcio CA of the trusted root
  valid at that time, the code-signing usage, an embedded SCT from a CT log
  of the trusted root, and the DSSE signature by the leaf's key;
* for key-signed bundles (``publicKey`` hint, e.g. npm registry publish
  attestations): the DSSE signature by a registry key named by the hint,
  whose ``expires`` lies after the integrated time.

RFC 3161 timestamps the bundle carries are verified too (with the
``rfc3161-client`` package sigstore depends on): each must be by a timestamp
authority of the trusted root, over the DSSE signature, and within the leaf
certificate's validity.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from .._errors import JSONError, ValidationError
from ..model._dsse import pae
from ..model._json import TRUSTED_ROOT_LIMITS, loads
from ..model._time import parse_rfc3339
from ._keyless import unknown_bundle_member

if TYPE_CHECKING:
    from cryptography import x509  # loaded where used: a costly import (start-up)

    from ._keyless import KeylessResult

__all__ = [
    "DSSE_KIND",
    "INTOTO_KIND",
    "KeyedResult",
    "RegistryKey",
    "RekorCheckError",
    "RekorOutcome",
    "RekorTrust",
    "handles",
    "is_key_signed",
    "parse_registry_keys",
    "parse_trust",
    "verify_keyed",
    "verify_keyless",
    "verify_rekor_bundle",
]

INTOTO_KIND: Final = ("intoto", "0.0.2")
DSSE_KIND: Final = ("dsse", "0.0.1")
_V01: Final = "application/vnd.dev.sigstore.bundle+json;version=0.1"
# Bounds on attacker-supplied proof material, checked before hashing.
_MAX_PROOF_HASHES: Final = 64
_MAX_BODY: Final = 4 * 1024 * 1024
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class RekorCheckError(Exception):
    """One check failed; ``check`` names it, ``str()`` says why."""

    def __init__(self, check: str, problem: str) -> None:
        super().__init__(f"{check}: {problem}")
        self.check = check
        self.problem = problem


def _fail(check: str, problem: str) -> RekorCheckError:
    return RekorCheckError(check, problem)


# --------------------------------------------------------------------------
# Trust material
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Window:
    start: datetime | None
    end: datetime | None

    def contains(self, when: datetime) -> bool:
        return (self.start is None or when >= self.start) and (self.end is None or when <= self.end)


@dataclass(frozen=True, slots=True)
class _LogKey:
    log_id: bytes
    key: Any = field(repr=False)
    window: _Window


@dataclass(frozen=True, slots=True)
class _CertAuthority:
    chain: tuple[x509.Certificate, ...] = field(repr=False)
    window: _Window


@dataclass(frozen=True, slots=True)
class RekorTrust:
    """The parts of a Sigstore trusted root this module uses.

    Attributes:
        tlogs: Transparency log keys by log id.
        ctlogs: Certificate transparency log keys by log id.
        cas: Fulcio certificate authorities (chain leaf-most first).
        tsas: RFC 3161 timestamp authorities (chain leaf-most first).
    """

    tlogs: Mapping[bytes, _LogKey]
    ctlogs: Mapping[bytes, _LogKey]
    cas: tuple[_CertAuthority, ...]
    tsas: tuple[_CertAuthority, ...] = ()


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{what} is not base64") from None


def _window(raw: Any, what: str) -> _Window:
    if raw is None:
        return _Window(None, None)
    if not isinstance(raw, dict):
        raise ValidationError(f"{what}.validFor must be an object")
    start = parse_rfc3339(raw["start"]) if raw.get("start") is not None else None
    end = parse_rfc3339(raw["end"]) if raw.get("end") is not None else None
    return _Window(start, end)


def _log_keys(entries: Any, what: str) -> dict[bytes, _LogKey]:
    out: dict[bytes, _LogKey] = {}
    if not isinstance(entries, list):
        raise ValidationError(f"{what} must be an array")
    for i, entry in enumerate(entries):
        where = f"{what}[{i}]"
        if not isinstance(entry, dict):
            raise ValidationError(f"{where} must be an object")
        pk = entry.get("publicKey")
        log_id = entry.get("logId")
        if not isinstance(pk, dict) or not isinstance(log_id, dict):
            raise ValidationError(f"{where} needs publicKey and logId")
        try:
            key = serialization.load_der_public_key(_b64(pk.get("rawBytes"), f"{where}.publicKey"))
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise ValidationError(f"{where}.publicKey does not load: {exc}") from None
        lid = _b64(log_id.get("keyId"), f"{where}.logId.keyId")
        out[lid] = _LogKey(lid, key, _window(pk.get("validFor"), where))
    return out


def _authorities(raw_cas: Any, what: str) -> tuple[_CertAuthority, ...]:
    from cryptography import x509  # noqa: PLC0415

    if not isinstance(raw_cas, list):
        raise ValidationError(f"{what} must be an array")
    cas = []
    for i, ca in enumerate(raw_cas):
        where = f"{what}[{i}]"
        certs = ca.get("certChain", {}).get("certificates") if isinstance(ca, dict) else None
        if not isinstance(certs, list) or not certs:
            raise ValidationError(f"{where} needs certChain.certificates")
        chain = []
        for j, c in enumerate(certs):
            raw = _b64(c.get("rawBytes") if isinstance(c, dict) else None, f"{where}[{j}]")
            try:
                chain.append(x509.load_der_x509_certificate(raw))
            except (ValueError, x509.InvalidVersion) as exc:
                # InvalidVersion (a bad version field) is not a ValueError.
                raise ValidationError(f"{where}[{j}] is not a certificate: {exc}") from None
        cas.append(_CertAuthority(tuple(chain), _window(ca.get("validFor"), where)))
    return tuple(cas)


def parse_trust(data: bytes, *, source: str = "trusted root") -> RekorTrust:
    """Read the log keys and CAs of a Sigstore ``trusted_root.json``.

    Args:
        data: The trusted root's bytes.
        source: Name of the input, for errors.

    Returns:
        The trust material.

    Raises:
        JSONError: ``data`` is not acceptable JSON.
        ValidationError: A key, certificate or validity period is malformed.
    """
    doc = loads(data, source=source, limits=TRUSTED_ROOT_LIMITS)
    if not isinstance(doc, dict):
        raise ValidationError("a trusted root must be an object", source=source)
    try:
        tlogs = _log_keys(doc.get("tlogs", []), "tlogs")
        ctlogs = _log_keys(doc.get("ctlogs", []), "ctlogs")
        cas = _authorities(doc.get("certificateAuthorities", []), "certificateAuthorities")
        tsas = _authorities(doc.get("timestampAuthorities", []), "timestampAuthorities")
    except ValidationError as exc:
        raise ValidationError(exc.problem, source=source) from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValidationError(f"malformed trusted root: {exc!r}", source=source) from None
    return RekorTrust(tlogs, ctlogs, cas, tsas)


# --------------------------------------------------------------------------
# npm registry keys
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistryKey:
    """One key of a registry keys document (``/-/npm/v1/keys``).

    Attributes:
        keyid: The key id the registry publishes (``SHA256:...``), which
            bundles name in their ``publicKey.hint``.
        key: The public key.
        expires: When the registry stopped signing with it; None if current.
    """

    keyid: str
    key: ec.EllipticCurvePublicKey = field(repr=False)
    expires: datetime | None

    @property
    def spki(self) -> bytes:
        """The key as DER SubjectPublicKeyInfo."""
        return self.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


_REGISTRY_KEY_FIELDS: Final = frozenset({"keyid", "keytype", "scheme", "key", "expires"})
_REGISTRY_SCHEME: Final = "ecdsa-sha2-nistp256"


def parse_registry_keys(entries: Any, *, path: str = "keys") -> tuple[RegistryKey, ...]:
    """Read the ``keys`` array of an npm registry keys document.

    Each entry is ``{"keyid": "SHA256:...", "keytype": "ecdsa-sha2-nistp256",
    "scheme": "ecdsa-sha2-nistp256", "key": BASE64_SPKI, "expires":
    null | RFC3339}``; unknown members, other key types and duplicate key
    ids are errors.

    Args:
        entries: The array (already parsed JSON/YAML).
        path: Where it is, for errors.

    Returns:
        The keys, in order.

    Raises:
        ValidationError: A malformed entry.
    """
    if not isinstance(entries, list) or not entries:
        raise ValidationError("keys must be a non-empty array of registry keys", path=path)
    out: list[RegistryKey] = []
    for i, entry in enumerate(entries):
        where = f"{path}[{i}]"
        if not isinstance(entry, Mapping):
            raise ValidationError("a registry key must be an object", path=where)
        unknown = sorted(set(entry) - _REGISTRY_KEY_FIELDS)
        if unknown:
            raise ValidationError(f"unknown registry key fields: {', '.join(unknown)}", path=where)
        keyid = entry.get("keyid")
        if not isinstance(keyid, str) or not keyid:
            raise ValidationError("keyid must be a non-empty string", path=where)
        for name in ("keytype", "scheme"):
            if entry.get(name) != _REGISTRY_SCHEME:
                raise ValidationError(
                    f"{name} must be {_REGISTRY_SCHEME!r} (got {entry.get(name)!r})", path=where
                )
        try:
            key = serialization.load_der_public_key(_b64(entry.get("key"), "key"))
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise ValidationError(f"key does not load: {exc}", path=where) from None
        except ValidationError as exc:
            raise ValidationError(exc.problem, path=where) from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise ValidationError("key must be an ECDSA P-256 public key", path=where)
        raw_expires = entry.get("expires")
        try:
            expires = None if raw_expires is None else parse_rfc3339(raw_expires)
        except ValidationError as exc:
            raise ValidationError(f"expires: {exc.problem}", path=where) from None
        if any(k.keyid == keyid for k in out):
            raise ValidationError(f"duplicate keyid {keyid!r}", path=where)
        out.append(RegistryKey(keyid, key, expires))
    return tuple(out)


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RekorOutcome:
    """What :func:`verify_rekor_bundle` established.

    Attributes:
        payload: The exact DSSE payload bytes.
        payload_type: The DSSE payload type.
        integrated_time: The log's integrated time (verified through the SET).
        certificate: The signing certificate (certificate-signed bundles).
        registry_key: The registry key that signed (key-signed bundles).
        timestamps: Verified RFC 3161 timestamp times, if the bundle had any.
    """

    payload: bytes = field(repr=False)
    payload_type: str
    integrated_time: datetime
    certificate: x509.Certificate | None = field(default=None, repr=False)
    registry_key: RegistryKey | None = None
    timestamps: tuple[datetime, ...] = ()


def _kind_of(entry: Any) -> tuple[Any, Any]:
    kv = entry.get("kindVersion") if isinstance(entry, dict) else None
    return (kv.get("kind"), kv.get("version")) if isinstance(kv, dict) else (None, None)


def handles(bundle: Mapping[str, Any]) -> bool:
    """Whether this module (not sigstore-python) verifies ``bundle``.

    True for DSSE bundles whose log entries are all ``intoto/0.0.2``, or
    all ``dsse/0.0.1`` without an inclusion proof (sigstore-python requires
    one; a v0.1 bundle may rely on the signed entry timestamp alone).
    """
    material = bundle.get("verificationMaterial")
    if bundle.get("dsseEnvelope") is None or not isinstance(material, dict):
        return False
    entries = material.get("tlogEntries") or []
    if not isinstance(entries, list) or not entries:
        return False
    if all(_kind_of(e) == INTOTO_KIND for e in entries):
        return True
    return all(
        _kind_of(e) == DSSE_KIND and isinstance(e, dict) and not e.get("inclusionProof")
        for e in entries
    )


def _int(value: Any, what: str) -> int:
    # Protobuf JSON writes int64 as a decimal string; accept plain integers too.
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    raise _fail("log-entry", f"{what} must be a non-negative integer")


def _entry_b64(value: Any, what: str) -> bytes:
    try:
        return _b64(value, what)
    except ValidationError as exc:
        raise _fail("log-entry", exc.problem) from None


def _verify_sig(key: Any, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            digest: hashes.HashAlgorithm = (
                hashes.SHA384() if key.curve.key_size == 384 else hashes.SHA256()
            )
            if key.curve.key_size == 521:
                digest = hashes.SHA512()
            key.verify(signature, data, ec.ECDSA(digest))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, rsa.RSAPublicKey):
            from cryptography.hazmat.primitives.asymmetric import padding  # noqa: PLC0415

            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _set_payload(body_b64: str, integrated: int, log_id: bytes, log_index: int) -> bytes:
    # Canonical JSON (keys sorted, no whitespace); the values are ASCII.
    doc = {
        "body": body_b64,
        "integratedTime": integrated,
        "logID": log_id.hex(),
        "logIndex": log_index,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("ascii")


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _root_from_proof(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """RFC 6962 / RFC 9162 2.1.3.2: the root an audit path leads to."""
    if index >= size:
        raise _fail("inclusion-proof", f"leaf index {index} is not below tree size {size}")
    fn, sn = index, size - 1
    node = leaf
    for sibling in path:
        if sn == 0:
            raise _fail("inclusion-proof", "audit path is longer than the tree allows")
        if fn & 1 or fn == sn:
            node = _node(sibling, node)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            node = _node(node, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise _fail("inclusion-proof", "audit path is shorter than the tree requires")
    return node


def _check_checkpoint(note: Any, log: _LogKey, size: int, root: bytes) -> None:
    if not isinstance(note, str) or len(note) > 64 * 1024:
        raise _fail("checkpoint", "checkpoint envelope must be a string")
    text, sep, sigs = note.partition("\n\n")
    if not sep:
        raise _fail("checkpoint", "no blank line between the note and its signatures")
    signed = (text + "\n").encode("utf-8")
    lines = text.split("\n")
    if len(lines) < 3:
        raise _fail("checkpoint", "a checkpoint needs origin, size and root hash lines")
    if lines[1] != str(size):
        raise _fail("checkpoint", f"checkpoint size {lines[1]!r} is not the proof's {size}")
    try:
        note_root = base64.b64decode(lines[2], validate=True)
    except (binascii.Error, ValueError):
        raise _fail("checkpoint", "checkpoint root hash is not base64") from None
    if note_root != root:
        raise _fail("checkpoint", "checkpoint root hash is not the proof's root hash")
    hint = log.log_id[:4]
    for line in sigs.split("\n"):
        if not line.startswith("\u2014 "):
            continue
        _, _, b64sig = line[2:].rpartition(" ")
        try:
            raw = base64.b64decode(b64sig, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) > 4 and raw[:4] == hint and _verify_sig(log.key, raw[4:], signed):
            return
    raise _fail("checkpoint", "no checkpoint signature by the log's key verifies")


def _go_json_string(value: str) -> str:
    # Go's encoding/json escapes HTML characters and line separators.
    out = json.dumps(value, ensure_ascii=False)
    for raw, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
        ("\\b", "\\u0008"),
        ("\\f", "\\u000c"),
    ):
        out = out.replace(raw, esc)
    return out


def _envelope_hashes(
    payload_b64: str, payload_type: str, sig_b64: str, keyid: str, public_key_pem: str | None
) -> set[str]:
    """The envelope hashes Rekor clients have recorded for this envelope.

    Rekor's own Go code hashed ``{"payload","payloadType","signatures":
    [{"keyid"?,"sig"}]}`` as Go marshals it; for intoto entries sigstore-js
    hashes the canonical JSON of the envelope with each signature's
    ``publicKey`` (``public_key_pem``; None for dsse entries, which use the
    first form only).
    """
    sig_fields = (f'"keyid":{_go_json_string(keyid)},' if keyid else "") + (
        f'"sig":{_go_json_string(sig_b64)}'
    )
    go = (
        f'{{"payload":{_go_json_string(payload_b64)},"payloadType":'
        f'{_go_json_string(payload_type)},"signatures":[{{{sig_fields}}}]}}'
    )
    if public_key_pem is None:
        return {hashlib.sha256(go.encode("utf-8")).hexdigest()}
    js_sig: dict[str, str] = {"publicKey": public_key_pem, "sig": sig_b64}
    if keyid:
        js_sig["keyid"] = keyid
    js = json.dumps(
        {"payload": payload_b64, "payloadType": payload_type, "signatures": [js_sig]},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return {hashlib.sha256(t.encode("utf-8")).hexdigest() for t in (go, js)}


def _get(obj: Any, key: str, what: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise _fail("log-body", f"{what} has no {key!r}")
    return obj[key]


def _sha256_field(holder: Any, name: str) -> str:
    h = _get(holder, name, "body")
    if _get(h, "algorithm", name) != "sha256" or not isinstance(h.get("value"), str):
        raise _fail("log-body", f"{name} must be a sha256 hex digest")
    return str(h["value"]).lower()


def _check_dsse_body(
    spec: Any,
    payload: bytes,
    payload_b64: str,
    payload_type: str,
    sig_b64: str,
    keyid: str,
    signer_pem_matches: Any,
) -> None:
    # dsse/0.0.1 records hashes of the payload and of the envelope (compact
    # JSON, keys in order, keyid only when set) plus each signature and its
    # verifier; the DSSE signature itself covers the payload type.
    if _sha256_field(spec, "payloadHash") != hashlib.sha256(payload).hexdigest():
        raise _fail("log-body", "payload hash differs from the envelope's payload")
    sigs = _get(spec, "signatures", "spec")
    if not isinstance(sigs, list) or len(sigs) != 1:
        raise _fail("log-body", "logged entry must carry exactly one signature")
    logged_sig = _entry_b64(_get(sigs[0], "signature", "signature"), "logged signature")
    if logged_sig != base64.b64decode(sig_b64, validate=True):
        raise _fail("log-body", "logged signature differs from the envelope's")
    pem = _entry_b64(_get(sigs[0], "verifier", "signature"), "logged verifier")
    if not signer_pem_matches(pem):
        raise _fail("log-body", "logged certificate or key is not the bundle's signer")
    envelope_hash = _sha256_field(spec, "envelopeHash")
    if envelope_hash not in _envelope_hashes(payload_b64, payload_type, sig_b64, keyid, None):
        raise _fail("log-body", "envelope hash differs from the envelope")


def _check_body(
    kind: tuple[Any, Any],
    body: bytes,
    payload: bytes,
    payload_b64: str,
    payload_type: str,
    sig_b64: str,
    keyid: str,
    signer_pem_matches: Any,
) -> None:
    try:
        doc = loads(body, source="log entry body")
    except JSONError as exc:
        raise _fail("log-body", f"not JSON: {exc}") from None
    if (_get(doc, "kind", "body"), _get(doc, "apiVersion", "body")) != kind:
        raise _fail("log-body", "body is not of the log entry's kind")
    if kind == DSSE_KIND:
        _check_dsse_body(
            _get(doc, "spec", "body"),
            payload,
            payload_b64,
            payload_type,
            sig_b64,
            keyid,
            signer_pem_matches,
        )
        return
    content = _get(_get(doc, "spec", "body"), "content", "spec")
    env = _get(content, "envelope", "content")
    if _get(env, "payloadType", "envelope") != payload_type:
        raise _fail("log-body", "payload type differs from the envelope's")
    if "payload" in env:
        logged = env["payload"]
        if not isinstance(logged, str) or _entry_b64(logged, "payload") != payload_b64.encode():
            raise _fail("log-body", "logged payload differs from the envelope's")
    hashes_ = {name: _sha256_field(content, name) for name in ("payloadHash", "hash")}
    if hashes_["payloadHash"] != hashlib.sha256(payload).hexdigest():
        raise _fail("log-body", "payload hash differs from the envelope's payload")
    sigs = _get(env, "signatures", "envelope")
    if not isinstance(sigs, list) or len(sigs) != 1:
        raise _fail("log-body", "logged envelope must carry exactly one signature")
    logged_sig = _entry_b64(_get(sigs[0], "sig", "signature"), "logged signature")
    if logged_sig != sig_b64.encode():
        raise _fail("log-body", "logged signature differs from the envelope's")
    pem = _entry_b64(_get(sigs[0], "publicKey", "signature"), "logged public key")
    if not signer_pem_matches(pem):
        raise _fail("log-body", "logged certificate or key is not the bundle's signer")
    pem_text = pem.decode("utf-8", errors="replace")
    if hashes_["hash"] not in _envelope_hashes(payload_b64, payload_type, sig_b64, keyid, pem_text):
        raise _fail("log-body", "envelope hash differs from the envelope")


def _check_chain(leaf: x509.Certificate, trust: RekorTrust, when: datetime) -> x509.Certificate:
    """The issuing CA certificate of a trusted-root CA that issued ``leaf``."""
    problems = []
    for ca in trust.cas:
        if not ca.window.contains(when):
            problems.append("a CA outside its trusted-root validity at that time")
            continue
        chain = (leaf, *ca.chain)
        try:
            for child, parent in pairwise(chain):
                child.verify_directly_issued_by(parent)
            last = chain[-1]
            last.verify_directly_issued_by(last)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            problems.append("a CA that did not issue it")
            continue
        for cert in ca.chain:
            if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
                problems.append("a CA certificate not valid at that time")
                break
        else:
            return ca.chain[0]
    raise _fail(
        "certificate-chain",
        "the certificate does not chain to a Fulcio CA of the trusted root valid at "
        f"{when.isoformat()} ({'; '.join(sorted(set(problems))) or 'no CAs'})",
    )


def _check_sct(leaf: x509.Certificate, issuer: x509.Certificate, trust: RekorTrust) -> None:
    from cryptography import x509  # noqa: PLC0415

    try:
        scts = leaf.extensions.get_extension_for_class(
            x509.PrecertificateSignedCertificateTimestamps
        ).value
    except x509.ExtensionNotFound:
        raise _fail("sct", "the certificate has no embedded SCT") from None
    issuer_key_hash = hashlib.sha256(
        issuer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).digest()
    tbs = leaf.tbs_precertificate_bytes
    for sct in scts:
        log = trust.ctlogs.get(sct.log_id)
        if log is None:
            continue
        when = sct.timestamp.replace(tzinfo=UTC)
        # Integer arithmetic: a float product can be a millisecond off.
        millis = (when - _EPOCH) // timedelta(milliseconds=1)
        ext = sct.extension_bytes
        # RFC 6962 3.2: digitally-signed struct over a precert_entry.
        signed = (
            b"\x00\x00"
            + struct.pack(">Q", millis)
            + b"\x00\x01"
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + len(ext).to_bytes(2, "big")
            + ext
        )
        if log.window.contains(when) and _verify_sig(log.key, sct.signature, signed):
            return
    raise _fail("sct", "no embedded SCT verifies under a CT log key of the trusted root")


def _check_timestamp(
    raw: Any, trust: RekorTrust, signature: bytes, cert: x509.Certificate
) -> datetime:
    """Verify one RFC 3161 timestamp over ``signature``; its time."""
    try:
        from rfc3161_client import (  # noqa: PLC0415
            VerificationError,
            VerifierBuilder,
            decode_timestamp_response,
        )
    except ImportError:
        raise _fail("unsupported", "RFC 3161 timestamps need the rfc3161-client package") from None
    signed_b64 = raw.get("signedTimestamp") if isinstance(raw, dict) else None
    try:
        response = decode_timestamp_response(_b64(signed_b64, "signedTimestamp"))
    except (ValidationError, ValueError) as exc:
        raise _fail("timestamp", f"not an RFC 3161 timestamp response: {exc}") from None
    gen_time = response.tst_info.gen_time.astimezone(UTC)
    for tsa in trust.tsas:
        if not tsa.window.contains(gen_time):
            continue
        builder = VerifierBuilder().tsa_certificate(tsa.chain[0])
        builder = builder.add_root_certificate(tsa.chain[-1])
        for middle in tsa.chain[1:-1]:
            builder = builder.add_intermediate_certificate(middle)
        try:
            builder.build().verify_message(response, signature)
        except (VerificationError, ValueError):
            continue
        break
    else:
        raise _fail(
            "timestamp",
            "no timestamp authority of the trusted root verifies the RFC 3161 timestamp",
        )
    if not cert.not_valid_before_utc <= gen_time <= cert.not_valid_after_utc:
        raise _fail(
            "certificate-validity",
            f"timestamp {gen_time.isoformat()} is outside the certificate's validity",
        )
    return gen_time


def verify_rekor_bundle(
    bundle: Mapping[str, Any],
    trust: RekorTrust,
    *,
    registry_keys: Sequence[RegistryKey] = (),
) -> RekorOutcome:
    """Verify a DSSE bundle with an ``intoto/0.0.2`` log entry, offline.

    Does not compare the signing time with a verification time, nor the
    identity with a policy; callers do.

    Args:
        bundle: A bundle (parsed JSON) whose structure ``parse_bundles``
            checked.
        trust: Log keys and CAs of the trusted root.
        registry_keys: Keys for key-signed bundles (``publicKey`` hint).

    Returns:
        The verified payload, signing time and signer.

    Raises:
        RekorCheckError: A check failed; ``check`` names which.
    """
    from cryptography import x509  # noqa: PLC0415
    from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: PLC0415

    envelope = bundle["dsseEnvelope"]
    sigs = envelope["signatures"]
    if len(sigs) != 1:
        raise _fail(
            "dsse-signature-count",
            f"a bundle's DSSE envelope must carry exactly one signature (it has {len(sigs)})",
        )
    material = bundle["verificationMaterial"]
    stamps = (material.get("timestampVerificationData") or {}).get("rfc3161Timestamps") or []
    if not isinstance(stamps, list):
        raise _fail("timestamp", "rfc3161Timestamps must be an array")
    entries = material.get("tlogEntries") or []
    if len(entries) != 1:
        raise _fail(
            "log-entry", f"expected exactly one transparency log entry, found {len(entries)}"
        )
    entry = entries[0]
    kind = _kind_of(entry)
    if kind not in (INTOTO_KIND, DSSE_KIND):
        raise _fail("log-entry", "log entry is not of kind intoto/0.0.2 or dsse/0.0.1")
    log_index = _int(entry.get("logIndex"), "logIndex")
    integrated = _int(entry.get("integratedTime"), "integratedTime")
    log_id_holder = entry.get("logId")
    log_id = _entry_b64(
        log_id_holder.get("keyId") if isinstance(log_id_holder, dict) else None, "logId.keyId"
    )
    body_b64 = entry.get("canonicalizedBody")
    if not body_b64:
        raise _fail(
            "unsupported",
            "log entry has no canonicalized body: it needs an online Rekor lookup",
        )
    body = _entry_b64(body_b64, "canonicalizedBody")
    if len(body) > _MAX_BODY:
        raise _fail("log-entry", "canonicalized body is too large")
    try:
        when = datetime.fromtimestamp(integrated, UTC)
    except (OverflowError, ValueError, OSError):
        raise _fail("log-entry", "integratedTime is out of range") from None

    log = trust.tlogs.get(log_id)
    if log is None:
        raise _fail(
            "log-id", "the log entry's log id names no transparency log of the trusted root"
        )
    if not log.window.contains(when):
        raise _fail("log-id", "the log's key was not valid at the entry's integrated time")

    promise = entry.get("inclusionPromise")
    set_b64 = promise.get("signedEntryTimestamp") if isinstance(promise, dict) else None
    if not set_b64:
        raise _fail("set", "log entry has no signed entry timestamp (inclusion promise)")
    set_sig = _entry_b64(set_b64, "signedEntryTimestamp")
    if not isinstance(body_b64, str) or not _verify_sig(
        log.key, set_sig, _set_payload(body_b64, integrated, log_id, log_index)
    ):
        raise _fail("set", "signed entry timestamp does not verify under the log's key")

    proof = entry.get("inclusionProof")
    if proof:
        if not isinstance(proof, dict):
            raise _fail("inclusion-proof", "inclusion proof must be an object")
        size = _int(proof.get("treeSize"), "treeSize")
        index = _int(proof.get("logIndex"), "inclusionProof.logIndex")
        path_raw = proof.get("hashes") or []
        if not isinstance(path_raw, list) or len(path_raw) > _MAX_PROOF_HASHES:
            raise _fail("inclusion-proof", "hashes must be an array of at most 64 hashes")
        path = [_entry_b64(h, "inclusionProof.hashes") for h in path_raw]
        root = _entry_b64(proof.get("rootHash"), "rootHash")
        if any(len(h) != 32 for h in (*path, root)):
            raise _fail("inclusion-proof", "proof hashes must be 32 bytes")
        leaf = hashlib.sha256(b"\x00" + body).digest()
        if _root_from_proof(leaf, index, size, path) != root:
            raise _fail("inclusion-proof", "audit path does not lead to the root hash")
        checkpoint = proof.get("checkpoint")
        note = checkpoint.get("envelope") if isinstance(checkpoint, dict) else None
        if not note:
            raise _fail("checkpoint", "inclusion proof has no checkpoint")
        _check_checkpoint(note, log, size, root)
    elif bundle.get("mediaType") != _V01:
        raise _fail(
            "inclusion-proof",
            "bundles v0.2 and later must carry an inclusion proof (only v0.1 may rely on"
            " the signed entry timestamp alone)",
        )

    payload_b64 = envelope["payload"]
    payload = base64.b64decode(payload_b64, validate=True)
    payload_type = envelope["payloadType"]
    sig_b64 = sigs[0]["sig"]
    signature = base64.b64decode(sig_b64, validate=True)
    keyid = sigs[0].get("keyid") or ""
    signed = pae(payload_type, payload)

    if material.get("publicKey"):
        hint = material["publicKey"].get("hint")
        key = next((k for k in registry_keys if k.keyid == hint), None)
        if key is None:
            raise _fail("signer-key", f"no registry key of the layout has key id {hint!r}")
        if key.expires is not None and when >= key.expires:
            raise _fail(
                "signer-key",
                f"registry key {key.keyid} expired at {key.expires.isoformat()}, before the"
                f" integrated time {when.isoformat()}",
            )

        def key_matches(pem: bytes) -> bool:
            try:
                logged = serialization.load_pem_public_key(pem)
            except (ValueError, UnsupportedAlgorithm):
                return False
            return (
                logged.public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                == key.spki
            )

        _check_body(kind, body, payload, payload_b64, payload_type, sig_b64, keyid, key_matches)
        if not _verify_sig(key.key, signature, signed):
            raise _fail("dsse-signature", "DSSE signature does not verify under the registry key")
        if stamps:
            raise _fail("timestamp", "RFC 3161 timestamps on a key-signed bundle are not expected")
        return RekorOutcome(payload, payload_type, when, registry_key=key)

    holder = material.get("certificate") or material["x509CertificateChain"]["certificates"][0]
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(holder["rawBytes"], validate=True))
    except x509.InvalidVersion as exc:
        # Not a ValueError, so the callers' "malformed" handlers would miss it.
        raise ValueError(f"not a DER X.509 certificate: {exc}") from None
    # Judged by OID before the key is used, as for every other bundle.
    from ._keyless import certificate_key_problem  # noqa: PLC0415 (it imports this module)

    key_problem = certificate_key_problem(cert)
    if key_problem is not None:
        raise _fail("certificate-key", f"signing {key_problem}")

    def cert_matches(pem: bytes) -> bool:
        try:
            logged = x509.load_pem_x509_certificate(pem)
        except (ValueError, x509.InvalidVersion):
            return False
        return logged == cert

    _check_body(kind, body, payload, payload_b64, payload_type, sig_b64, keyid, cert_matches)
    if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        raise _fail(
            "certificate-validity",
            f"integrated time {when.isoformat()} is outside the certificate's validity"
            f" ({cert.not_valid_before_utc.isoformat()} to {cert.not_valid_after_utc.isoformat()})",
        )
    issuer = _check_chain(cert, trust, when)
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = None
    if eku is None or ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        raise _fail("certificate-chain", "the certificate is not for code signing")
    _check_sct(cert, issuer, trust)
    if not _verify_sig(cert.public_key(), signature, signed):
        raise _fail("dsse-signature", "DSSE signature does not verify under the certificate's key")
    times = tuple(_check_timestamp(raw, trust, signature, cert) for raw in stamps)
    return RekorOutcome(payload, payload_type, when, certificate=cert, timestamps=times)


# --------------------------------------------------------------------------
# Glue for the keyless (_keyless) and key-signed (_verify) paths
# --------------------------------------------------------------------------


def _late(when: datetime, at: datetime | None) -> str | None:
    if at is not None and when > at:
        return (
            f"signed after the verification time: transparency-log integrated time"
            f" {when.isoformat()} is later than {at.astimezone(UTC).isoformat()}"
        )
    return None


def verify_keyless(
    bundle: Mapping[str, Any], trust: RekorTrust | None, *, origin: str, at: datetime | None
) -> KeylessResult:
    """Verify a certificate-signed ``intoto/0.0.2`` bundle for ``verify_bundle``.

    Returns:
        A ``KeylessResult``: ``verified`` with the payload and the
        certificate identity (integrated time and timestamps as signing
        times), or ``failed`` naming the check that rejected it, or
        ``unsupported`` when only an online Rekor lookup could decide.
    """
    from ._keyless import KeylessResult  # noqa: PLC0415
    from ._x509 import certificate_identity  # noqa: PLC0415

    if trust is None:
        return KeylessResult("failed", "the trusted root has no usable log material", origin)
    if bundle["verificationMaterial"].get("publicKey"):
        return KeylessResult(
            "failed",
            "key-signed bundle: it verifies only against registry keys"
            " (an npmRegistryKeys functionary)",
            origin,
        )
    try:
        outcome = verify_rekor_bundle(bundle, trust)
    except RekorCheckError as exc:
        if exc.check == "unsupported":
            return KeylessResult("unsupported", str(exc), origin)
        return KeylessResult("failed", str(exc), origin)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        return KeylessResult("failed", f"malformed bundle: {type(exc).__name__}: {exc}", origin)
    for when in (outcome.integrated_time, *outcome.timestamps):
        late = _late(when, at)
        if late:
            return KeylessResult("failed", late, origin)
    assert outcome.certificate is not None
    try:
        identity = certificate_identity(
            outcome.certificate,
            integrated_time=outcome.integrated_time,
            timestamps=outcome.timestamps,
        )
    except ValidationError as exc:
        return KeylessResult("failed", exc.problem, origin)
    return KeylessResult(
        "verified",
        f"verified offline (intoto/0.0.2 log entry): signed by {identity.san} ({identity.issuer})",
        origin,
        payload=outcome.payload,
        payload_type=outcome.payload_type,
        identity=identity,
    )


@dataclass(frozen=True, slots=True)
class KeyedResult:
    """The outcome of verifying a key-signed bundle.

    Attributes:
        ok: Whether every check passed.
        check: The check that failed (``signer-key`` when no registry key
            of the layout is the signer), or ``""``.
        reason: One line saying why.
        outcome: What was verified, when ``ok``.
    """

    ok: bool
    check: str
    reason: str
    outcome: RekorOutcome | None = None


def is_key_signed(bundle_json: bytes) -> bool:
    """Whether a bundle (from ``parse_bundles``) is key-signed with an intoto entry."""
    doc = loads(bundle_json)
    material = doc.get("verificationMaterial") if isinstance(doc, dict) else None
    return isinstance(material, dict) and bool(material.get("publicKey")) and handles(doc)


def verify_keyed(
    bundle_json: bytes,
    trust: RekorTrust | None,
    registry_keys: Sequence[RegistryKey],
    *,
    at: datetime | None,
) -> KeyedResult:
    """Verify a key-signed ``intoto/0.0.2`` bundle against registry keys.

    Args:
        bundle_json: The bundle, as ``parse_bundles`` recorded it.
        trust: Log material of the trusted root.
        registry_keys: Every registry key the layout trusts.
        at: The verification time; None skips the check that signing
            happened no later than it.

    Returns:
        The result; never raises for bad input.
    """
    if trust is None:
        return KeyedResult(
            ok=False, check="set", reason="the trusted root has no usable log material"
        )
    try:
        doc = loads(bundle_json)
        unknown = unknown_bundle_member(doc)
        if unknown is not None:
            return KeyedResult(ok=False, check="malformed", reason=f"malformed bundle: {unknown}")
        outcome = verify_rekor_bundle(doc, trust, registry_keys=registry_keys)
    except RekorCheckError as exc:
        return KeyedResult(ok=False, check=exc.check, reason=str(exc))
    except (KeyError, TypeError, AttributeError, ValueError, IndexError, JSONError) as exc:
        return KeyedResult(
            ok=False, check="malformed", reason=f"malformed bundle: {type(exc).__name__}: {exc}"
        )
    late = _late(outcome.integrated_time, at)
    if late:
        return KeyedResult(ok=False, check="time", reason=late)
    assert outcome.registry_key is not None
    return KeyedResult(
        ok=True,
        check="",
        reason=f"verified offline with registry key {outcome.registry_key.keyid}",
        outcome=outcome,
    )
