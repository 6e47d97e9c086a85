"""Keyless (Sigstore) attestations: containers, offline verification, identities.

Three layers, each usable on its own:

* :func:`parse_bundles` reads the containers attestations ship in (Sigstore
  bundles v0.1-v0.3, JSON Lines of bundles, npm registry attestation
  documents, PEP 740 attestation and provenance objects) into
  :class:`BundleRecord` values that remember where each bundle came from.
* :func:`verify_bundle` verifies one bundle offline with the optional
  ``sigstore`` package against a :class:`SigstoreTrustedRoot`: DSSE
  signature, certificate chain to Fulcio at the time of signing, SCTs,
  transparency-log inclusion and signed timestamps. It accepts every signer
  identity; :class:`SigstoreIdentity` decides which ones a policy wants.
  Bundles with Rekor ``intoto/0.0.2`` log entries, which sigstore-python
  cannot check, are verified offline by :mod:`._rekor`; other bundles
  sigstore-python cannot verify come back ``unsupported``, never
  ``verified``.
* :func:`verify_certificate_envelope` verifies DSSE envelopes whose
  signatures carry their own certificate (legacy slsa-github-generator
  output) against :class:`~intoto_policy.crypto._x509.X509Constraints`.

No function here reads files, the network or the clock (sigstore-python
itself compares the validity periods of trusted-root keys with the current
time when it builds its keyrings).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from .._errors import InputError, JSONError, ValidationError
from ..model._dsse import Envelope, b64decode, pae
from ..model._json import TRUSTED_ROOT_LIMITS, loads
from ._x509 import (
    FULCIO_EXTENSIONS,
    CertificateIdentity,
    ValuePattern,
    X509Constraints,
    _extension_name_known,
    certificate_identity,
    load_certificate,
)

if TYPE_CHECKING:
    from cryptography import x509  # loaded where used: a costly import
    from sigstore.models import Bundle, TrustedRoot

    from ._rekor import RekorTrust

__all__ = [
    "BUNDLE_MEDIA_TYPES",
    "BundleRecord",
    "CertificateIdentity",
    "KeylessResult",
    "SigstoreIdentity",
    "SigstoreTrustedRoot",
    "ValuePattern",
    "VerificationStatus",
    "X509Constraints",
    "load_trusted_root",
    "parse_bundles",
    "unknown_bundle_member",
    "verify_bundle",
    "verify_certificate_envelope",
    "verify_certificate_signatures",
]

BUNDLE_MEDIA_TYPES: Final = frozenset(
    {
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
    }
)
"""Sigstore bundle media types :func:`parse_bundles` accepts."""

_BUNDLE_V03: Final = "application/vnd.dev.sigstore.bundle.v0.3+json"
_INTOTO_PAYLOAD_TYPE: Final = "application/vnd.in-toto+json"
_INSTALL_HINT: Final = "pip install 'intoto-policy[sigstore]'"
# Log entry kinds sigstore-python 4.x checks against a DSSE envelope:
# Rekor v1 dsse entries and Rekor v2 hashedrekord-over-DSSE entries.
_SUPPORTED_DSSE_ENTRY_KINDS: Final = frozenset({("dsse", "0.0.1"), ("hashedrekord", "0.0.2")})

VerificationStatus = Literal["verified", "failed", "unsupported"]
Container = Literal[
    "sigstore-bundle", "npm-attestations", "pep740-attestation", "pep740-provenance"
]


# --------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BundleRecord:
    """One Sigstore bundle found in an input file.

    Attributes:
        source: Name of the input (a file path).
        index: 0-based position of this bundle among those of ``source``.
        location: Where in ``source`` it is, e.g. ``line 2`` or
            ``attestations[1].bundle``; ``""`` for a file that is one bundle.
        container: The kind of document it came in.
        media_type: The bundle's media type (PEP 740 attestations become
            v0.3 bundles).
        bundle_json: The bundle as JSON, ready for ``sigstore``.
        predicate_type_hint: The unsigned ``predicateType`` an npm document
            lists next to the bundle, if any; informational only.
    """

    source: str
    index: int
    location: str
    container: Container
    media_type: str
    bundle_json: bytes = field(repr=False)
    predicate_type_hint: str | None = None

    @property
    def origin(self) -> str:
        """``source#index``, plus the location when there is one."""
        where = f" ({self.location})" if self.location else ""
        return f"{self.source}#{self.index}{where}"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Reader:
    """Structural checks with uniform errors for one JSON document."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, problem: str, path: str) -> ValidationError:
        return ValidationError(problem, path=path, source=self.source)

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"expected an object, got {_kind(value)}", path)
        return value

    def member(self, parent: dict[str, Any], key: str, path: str) -> Any:
        if key not in parent or parent[key] is None:
            raise self.fail("required member is missing", _join(path, key))
        return parent[key]

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise self.fail(f"expected a string, got {_kind(value)}", path)
        return value

    def array(self, value: Any, path: str, *, nonempty: bool = True) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(f"expected an array, got {_kind(value)}", path)
        if nonempty and not value:
            raise self.fail("expected a non-empty array", path)
        return value

    def b64(self, value: Any, path: str, *, nonempty: bool = True) -> bytes:
        text = self.string(value, path)
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise self.fail("not standard base64", path) from exc
        if nonempty and not raw:
            raise self.fail("expected non-empty base64 data", path)
        return raw

    def der_certificate(self, value: Any, path: str) -> None:
        from cryptography import x509  # noqa: PLC0415

        raw = self.b64(value, path)
        try:
            x509.load_der_x509_certificate(raw)
        except (ValueError, x509.InvalidVersion) as exc:
            # InvalidVersion (a bad version field) is not a ValueError.
            raise self.fail(f"not a DER X.509 certificate: {exc}", path) from exc


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )


# The members each object kind of the Sigstore bundle schema (protobuf-specs
# v0.1-v0.3, in protojson's lowerCamelCase) may have, and the kind of each
# member's value (None: a scalar or an array of scalars). Anything else is an
# unknown member: protojson (sigstore-go) rejects those, and so do we, so that
# no unchecked data rides along in a bundle that verifies. No corpus bundle
# uses the snake_case proto names, so they are not accepted either.
_BUNDLE_MEMBERS: dict[str, dict[str, str | None]] = {
    "Bundle": {
        "mediaType": None,
        "verificationMaterial": "VerificationMaterial",
        "dsseEnvelope": "Envelope",
        "messageSignature": "MessageSignature",
    },
    "VerificationMaterial": {
        "publicKey": "PublicKeyIdentifier",
        "x509CertificateChain": "X509CertificateChain",
        "certificate": "X509Certificate",
        "tlogEntries": "TransparencyLogEntry",
        "timestampVerificationData": "TimestampVerificationData",
    },
    "TransparencyLogEntry": {
        "logIndex": None,
        "logId": "LogId",
        "kindVersion": "KindVersion",
        "integratedTime": None,
        "inclusionPromise": "InclusionPromise",
        "inclusionProof": "InclusionProof",
        "canonicalizedBody": None,
    },
    "InclusionProof": {
        "logIndex": None,
        "rootHash": None,
        "treeSize": None,
        "hashes": None,
        "checkpoint": "Checkpoint",
    },
    "Checkpoint": {"envelope": None},
    "KindVersion": {"kind": None, "version": None},
    "LogId": {"keyId": None},
    "InclusionPromise": {"signedEntryTimestamp": None},
    "TimestampVerificationData": {"rfc3161Timestamps": "RFC3161SignedTimestamp"},
    "RFC3161SignedTimestamp": {"signedTimestamp": None},
    "X509Certificate": {"rawBytes": None},
    "X509CertificateChain": {"certificates": "X509Certificate"},
    "PublicKeyIdentifier": {"hint": None},
    "Envelope": {"payload": None, "payloadType": None, "signatures": "Signature"},
    "Signature": {"sig": None, "keyid": None},
    "MessageSignature": {"messageDigest": "HashOutput", "signature": None},
    "HashOutput": {"algorithm": None, "digest": None},
}


def unknown_bundle_member(bundle: Any) -> str | None:
    """The first member of ``bundle`` that its schema does not define.

    Walks the parsed bundle with :data:`_BUNDLE_MEMBERS`; values of the
    wrong JSON type are skipped here (the structural checks report them).

    Args:
        bundle: A parsed Sigstore bundle.

    Returns:
        ``unknown member 'NAME' at PATH``, or None when every member is known.
    """
    # The schema is at most six objects deep, so the stack stays small.
    stack: list[tuple[Any, str, str]] = [(bundle, "Bundle", "")]
    while stack:
        value, kind, path = stack.pop()
        if isinstance(value, list):
            stack.extend(
                (item, kind, _join(path, i)) for i, item in reversed(list(enumerate(value)))
            )
            continue
        if not isinstance(value, dict):
            continue
        allowed = _BUNDLE_MEMBERS[kind]
        children: list[tuple[Any, str, str]] = []
        for key, member in value.items():
            if key not in allowed:
                return f"unknown member {key!r} at {path or 'the bundle'}"
            child = allowed[key]
            if child is not None:
                children.append((member, child, _join(path, key)))
        stack.extend(reversed(children))
    return None


def _check_envelope(reader: _Reader, envelope: dict[str, Any], path: str) -> None:
    reader.b64(reader.member(envelope, "payload", path), _join(path, "payload"), nonempty=False)
    reader.string(reader.member(envelope, "payloadType", path), _join(path, "payloadType"))
    sigs_path = _join(path, "signatures")
    for i, raw_sig in enumerate(
        reader.array(reader.member(envelope, "signatures", path), sigs_path)
    ):
        sig_path = _join(sigs_path, i)
        sig = reader.obj(raw_sig, sig_path)
        reader.b64(reader.member(sig, "sig", sig_path), _join(sig_path, "sig"))
        if sig.get("keyid") is not None:
            reader.string(sig["keyid"], _join(sig_path, "keyid"))


def _check_bundle(reader: _Reader, bundle: dict[str, Any], path: str) -> str:
    media_type = reader.string(reader.member(bundle, "mediaType", path), _join(path, "mediaType"))
    if media_type not in BUNDLE_MEDIA_TYPES:
        known = ", ".join(sorted(BUNDLE_MEDIA_TYPES))
        raise reader.fail(f"unknown bundle media type {media_type!r} (known: {known})", path)
    vm_path = _join(path, "verificationMaterial")
    material = reader.obj(reader.member(bundle, "verificationMaterial", path), vm_path)
    kinds = [k for k in ("certificate", "x509CertificateChain", "publicKey") if material.get(k)]
    if len(kinds) != 1:
        raise reader.fail(
            "expected exactly one of certificate, x509CertificateChain and publicKey"
            f" (found {', '.join(kinds) or 'none'})",
            vm_path,
        )
    kind_path = _join(vm_path, kinds[0])
    holder = reader.obj(material[kinds[0]], kind_path)
    if kinds[0] == "certificate":
        reader.der_certificate(
            reader.member(holder, "rawBytes", kind_path), _join(kind_path, "rawBytes")
        )
    elif kinds[0] == "x509CertificateChain":
        certs_path = _join(kind_path, "certificates")
        for i, raw_cert in enumerate(
            reader.array(reader.member(holder, "certificates", kind_path), certs_path)
        ):
            cert_path = _join(certs_path, i)
            cert = reader.obj(raw_cert, cert_path)
            reader.der_certificate(
                reader.member(cert, "rawBytes", cert_path), _join(cert_path, "rawBytes")
            )
    elif holder.get("hint") is not None:
        reader.string(holder["hint"], _join(kind_path, "hint"))
    if material.get("tlogEntries") is not None:
        entries_path = _join(vm_path, "tlogEntries")
        for i, entry in enumerate(
            reader.array(material["tlogEntries"], entries_path, nonempty=False)
        ):
            reader.obj(entry, _join(entries_path, i))
    if material.get("timestampVerificationData") is not None:
        reader.obj(
            material["timestampVerificationData"], _join(vm_path, "timestampVerificationData")
        )
    has_dsse = bundle.get("dsseEnvelope") is not None
    if has_dsse == (bundle.get("messageSignature") is not None):
        raise reader.fail("expected exactly one of dsseEnvelope and messageSignature", path)
    if has_dsse:
        env_path = _join(path, "dsseEnvelope")
        _check_envelope(reader, reader.obj(bundle["dsseEnvelope"], env_path), env_path)
    else:
        reader.obj(bundle["messageSignature"], _join(path, "messageSignature"))
    return media_type


def _pep740_to_bundle(reader: _Reader, att: dict[str, Any], path: str) -> dict[str, Any]:
    version = reader.member(att, "version", path)
    if type(version) is not int or version != 1:
        raise reader.fail(
            f"unsupported PEP 740 attestation version {version!r}", _join(path, "version")
        )
    vm_path = _join(path, "verification_material")
    material = reader.obj(reader.member(att, "verification_material", path), vm_path)
    certificate = reader.member(material, "certificate", vm_path)
    reader.der_certificate(certificate, _join(vm_path, "certificate"))
    entries_path = _join(vm_path, "transparency_entries")
    entries = reader.array(reader.member(material, "transparency_entries", vm_path), entries_path)
    for i, entry in enumerate(entries):
        reader.obj(entry, _join(entries_path, i))
    env_path = _join(path, "envelope")
    envelope = reader.obj(reader.member(att, "envelope", path), env_path)
    statement = reader.member(envelope, "statement", env_path)
    reader.b64(statement, _join(env_path, "statement"))
    signature = reader.member(envelope, "signature", env_path)
    reader.b64(signature, _join(env_path, "signature"))
    # PEP 740 fixes the envelope's payload type: the statement is an in-toto Statement.
    return {
        "mediaType": _BUNDLE_V03,
        "verificationMaterial": {"certificate": {"rawBytes": certificate}, "tlogEntries": entries},
        "dsseEnvelope": {
            "payload": statement,
            "payloadType": _INTOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": signature}],
        },
    }


def _dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class _Collector:
    def __init__(self, source: str) -> None:
        self.source = source
        self.records: list[BundleRecord] = []

    def add(
        self,
        where: str,
        container: Container,
        media_type: str,
        bundle: dict[str, Any],
        hint: str | None = None,
    ) -> None:
        self.records.append(
            BundleRecord(
                source=self.source,
                index=len(self.records),
                location=where,
                container=container,
                media_type=media_type,
                bundle_json=_dump(bundle),
                predicate_type_hint=hint,
            )
        )

    def document(self, value: Any, reader: _Reader, line: str) -> None:
        def where(path: str) -> str:
            return ", ".join(part for part in (line, path) if part)

        doc = reader.obj(value, "")
        if "mediaType" in doc:
            self.add(where(""), "sigstore-bundle", _check_bundle(reader, doc, ""), doc)
        elif "attestation_bundles" in doc:
            version = doc.get("version")
            if type(version) is not int or version != 1:
                raise reader.fail(f"unsupported PEP 740 provenance version {version!r}", "version")
            groups = reader.array(doc["attestation_bundles"], "attestation_bundles")
            for i, raw_group in enumerate(groups):
                group_path = _join("attestation_bundles", i)
                group = reader.obj(raw_group, group_path)
                atts_path = _join(group_path, "attestations")
                for j, att in enumerate(
                    reader.array(reader.member(group, "attestations", group_path), atts_path)
                ):
                    att_path = _join(atts_path, j)
                    bundle = _pep740_to_bundle(reader, reader.obj(att, att_path), att_path)
                    self.add(where(att_path), "pep740-provenance", _BUNDLE_V03, bundle)
        elif "verification_material" in doc or "envelope" in doc:
            self.add(
                where(""), "pep740-attestation", _BUNDLE_V03, _pep740_to_bundle(reader, doc, "")
            )
        elif "attestations" in doc:
            for i, raw_item in enumerate(reader.array(doc["attestations"], "attestations")):
                item_path = _join("attestations", i)
                item = reader.obj(raw_item, item_path)
                hint = item.get("predicateType")
                if hint is not None:
                    reader.string(hint, _join(item_path, "predicateType"))
                bundle_path = _join(item_path, "bundle")
                bundle = reader.obj(reader.member(item, "bundle", item_path), bundle_path)
                media_type = _check_bundle(reader, bundle, bundle_path)
                self.add(where(bundle_path), "npm-attestations", media_type, bundle, hint)
        elif "payloadType" in doc and "signatures" in doc:
            raise reader.fail(
                "a bare DSSE envelope, not a Sigstore bundle (certificate-signed envelopes"
                " are checked with verify_certificate_envelope)",
                "",
            )
        else:
            raise reader.fail(
                "not a Sigstore bundle, npm attestations document or PEP 740 attestation", ""
            )


def _json_lines(data: bytes, source: str) -> list[tuple[Any, str, str]] | None:
    """Split JSON Lines; None when ``data`` does not look like JSON Lines."""
    numbered = [(n, line) for n, line in enumerate(data.split(b"\n"), 1) if line.strip()]
    if len(numbered) < 2:
        return None
    try:
        loads(numbered[0][1])
    except JSONError:
        return None
    documents = []
    for n, line in numbered:
        where = f"{source}:{n}"
        documents.append((loads(line, source=where), f"line {n}", where))
    return documents


def parse_bundles(data: bytes, *, source: str) -> list[BundleRecord]:
    """Read every Sigstore bundle in a container document.

    Accepted inputs: one Sigstore bundle (media types in
    :data:`BUNDLE_MEDIA_TYPES`); JSON Lines with one container per line (as
    written by ``gh attestation download``); an npm registry attestations
    document ``{"attestations": [{"predicateType", "bundle"}]}``; a PEP 740
    attestation object (``version``, ``verification_material``,
    ``envelope``), converted to an equivalent v0.3 bundle; and a PEP 740
    provenance object (``attestation_bundles``).

    Checks are structural (types, base64, DER certificates); cryptographic
    checks are left to :func:`verify_bundle`.

    Args:
        data: The document's bytes.
        source: Name of the input (a file path), used in records and errors.

    Returns:
        The bundles, in document order, each with its origin.

    Raises:
        JSONError: ``data`` (or one of its lines) is not acceptable JSON.
        ValidationError: A document that is not one of the accepted
            containers, a bundle with an unknown media type, missing or
            mistyped members, invalid base64 or certificates, or no bundle.
    """
    try:
        documents: list[tuple[Any, str, str]] = [(loads(data, source=source), "", source)]
    except JSONError:
        lines = _json_lines(data, source)
        if lines is None:
            raise
        documents = lines
    collector = _Collector(source)
    for value, line, where in documents:
        collector.document(value, _Reader(where), line)
    if not collector.records:
        raise ValidationError("no Sigstore bundle found", source=source)
    return collector.records


# --------------------------------------------------------------------------
# Verification with sigstore-python
# --------------------------------------------------------------------------


def _require_sigstore() -> None:
    try:
        import sigstore.models  # noqa: PLC0415
        import sigstore.verify  # noqa: F401, PLC0415
    except ImportError as exc:
        raise InputError(
            f"keyless (Sigstore) verification needs the sigstore package: {_INSTALL_HINT}"
        ) from exc


@dataclass(frozen=True, slots=True)
class SigstoreTrustedRoot:
    """A parsed Sigstore ``trusted_root.json``.

    Attributes:
        source: Name of the input it was read from.
        sha256: SHA-256 of the input bytes, hex.
        root: The ``sigstore.models.TrustedRoot``.
        rekor: Its log keys and CAs, for bundles :mod:`._rekor` verifies.
    """

    source: str
    sha256: str
    root: TrustedRoot = field(repr=False, compare=False)
    rekor: RekorTrust | None = field(default=None, repr=False, compare=False)


def load_trusted_root(data: bytes, *, source: str) -> SigstoreTrustedRoot:
    """Parse a Sigstore trusted root (``trusted_root.json``), offline.

    Args:
        data: The trusted root's bytes.
        source: Name of the input, for errors and results.

    Returns:
        The trusted root.

    Raises:
        InputError: The ``sigstore`` package is not installed.
        JSONError: ``data`` is not acceptable JSON.
        ValidationError: ``data`` is not a usable trusted root (unknown
            media type, no Fulcio CA, no transparency log or CT log keys).
    """
    _require_sigstore()
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415
    from sigstore.models import TrustedRoot  # noqa: PLC0415
    from sigstore.verify import Verifier  # noqa: PLC0415
    from sigstore_models.trustroot.v1 import TrustedRoot as TrustedRootModel  # noqa: PLC0415

    loads(
        data, source=source, limits=TRUSTED_ROOT_LIMITS
    )  # strict syntax first: duplicate keys, encoding
    try:
        root = TrustedRoot(TrustedRootModel.from_json(data))
        Verifier(trusted_root=root)  # requires Fulcio CAs and transparency logs
        root.ct_keyring(_verify_purpose())
        root.rekor_keyring(_verify_purpose())
    except (SigstoreError, ValueError) as exc:
        raise ValidationError(
            f"not a usable Sigstore trusted root: {_one_line(exc)}", source=source
        ) from exc
    from ._rekor import parse_trust  # noqa: PLC0415 - imports cryptography.x509

    rekor = parse_trust(data, source=source)
    return SigstoreTrustedRoot(
        source=source, sha256=hashlib.sha256(data).hexdigest(), root=root, rekor=rekor
    )


def _verify_purpose() -> Any:
    from sigstore._internal.trust import KeyringPurpose  # noqa: PLC0415

    return KeyringPurpose.VERIFY


@dataclass(frozen=True, slots=True)
class KeylessResult:
    """The outcome of verifying one signature.

    Attributes:
        status: ``verified`` (every check passed), ``failed`` (a check
            failed, or sigstore rejected the bundle) or ``unsupported`` (the
            signature is of a kind this layer cannot verify offline; it must
            not count as verified).
        reason: One line saying why.
        origin: Where the signature came from (``file#index (location)``).
        payload: The exact DSSE payload bytes, when verified.
        payload_type: The DSSE payload type, when verified.
        identity: The signing certificate's identity, when verified.
    """

    status: VerificationStatus
    reason: str
    origin: str
    payload: bytes | None = field(default=None, repr=False)
    payload_type: str | None = None
    identity: CertificateIdentity | None = None

    @property
    def verified(self) -> bool:
        """Whether ``status`` is ``verified``."""
        return self.status == "verified"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


class _AnyIdentity:
    """A sigstore verification policy that accepts every certificate identity.

    Identity policy is decided by :class:`SigstoreIdentity` after
    verification, so the sigstore layer checks cryptography only.
    """

    def verify(self, cert: x509.Certificate) -> None:
        """Accept ``cert`` (sigstore calls this after the chain checks)."""
        del cert


def _unsupported_reasons(bundle: dict[str, Any]) -> list[str]:
    """Why sigstore-python 4.x cannot verify this (already parsed) bundle."""
    from cryptography import x509  # noqa: PLC0415

    reasons: list[str] = []
    if bundle.get("dsseEnvelope") is None:
        reasons.append("message-signature bundle: no DSSE envelope to verify")
    material: dict[str, Any] = bundle["verificationMaterial"]
    if material.get("publicKey"):
        hint = material["publicKey"].get("hint")
        reasons.append(
            f"key-signed bundle (public key hint {hint!r}): sigstore-python verifies only"
            " certificate-signed bundles"
        )
    else:
        leaf_holder = (
            material.get("certificate") or material["x509CertificateChain"]["certificates"][0]
        )
        try:
            leaf = x509.load_der_x509_certificate(
                base64.b64decode(leaf_holder["rawBytes"], validate=True)
            )
        except x509.InvalidVersion as exc:
            # Not a ValueError, so the caller's "malformed" handler would miss it.
            raise ValueError(f"not a DER X.509 certificate: {exc}") from None
        key_problem = certificate_key_problem(leaf)
        if key_problem is not None:
            reasons.append(f"signing {key_problem}")
        elif not isinstance(leaf.public_key(), ec.EllipticCurvePublicKey):
            reasons.append("signing certificate key is not ECDSA")
    entries = material.get("tlogEntries") or []
    if not entries:
        reasons.append("no transparency log entry (sigstore-python requires exactly one)")
    elif len(entries) > 1:
        reasons.append(f"{len(entries)} transparency log entries (sigstore-python requires one)")
    else:
        entry = entries[0]
        kv = entry.get("kindVersion")
        kind = (kv.get("kind"), kv.get("version")) if isinstance(kv, dict) else (None, None)
        if kind not in _SUPPORTED_DSSE_ENTRY_KINDS:
            reasons.append(
                f"log entry kind {kind[0]}/{kind[1]}: sigstore-python checks DSSE envelopes"
                " only against dsse/0.0.1 and hashedrekord/0.0.2 entries"
            )
        proof = entry.get("inclusionProof")
        if not isinstance(proof, dict):
            reasons.append("log entry has no inclusion proof (only an inclusion promise)")
        elif not proof.get("checkpoint"):
            reasons.append("log entry inclusion proof has no checkpoint")
    return reasons


def verify_bundle(
    record: BundleRecord, trusted_root: SigstoreTrustedRoot, *, at: datetime | None = None
) -> KeylessResult:
    """Verify one Sigstore bundle offline, accepting any signer identity.

    Checks, through ``sigstore.verify.Verifier``: the time of signing (log
    inclusion promise and/or RFC 3161 timestamps), the certificate chain to
    a Fulcio CA of ``trusted_root`` at that time, the certificate's SCT,
    the log entry's inclusion proof and checkpoint (and inclusion promise),
    the DSSE signature, and the log entry's consistency with the envelope.
    Identity policy is left to :meth:`SigstoreIdentity.matches`.

    Bundles whose log entry is ``intoto/0.0.2``, or ``dsse/0.0.1`` without
    an inclusion proof, are verified offline by
    :func:`intoto_policy.crypto._rekor.verify_keyless` instead (SET, inclusion
    proof and checkpoint, entry body, chain, SCT, DSSE signature); a
    bundle's DSSE envelope must carry exactly one signature. Other bundles
    sigstore-python cannot verify (``hashedrekord`` entries without an
    inclusion proof, no log entry, key-signed bundles, message-signature
    bundles) are ``unsupported``.

    Evidence of signing dated after ``at`` (a transparency-log integrated
    time or an RFC 3161 timestamp later than the verification time) fails:
    the signature did not exist at the time being verified. A time equal to
    ``at`` passes.

    A bundle whose members have the wrong JSON types, or that sigstore
    cannot process for any other reason (e.g. a certificate key algorithm
    it does not support), fails with a reason instead of raising: one bad
    bundle must not abort a whole verification.

    Args:
        record: A bundle from :func:`parse_bundles`.
        trusted_root: The Sigstore trust material to verify against.
        at: The verification time (timezone-aware); None skips the check
            that signing happened no later than it.

    Returns:
        The result; ``payload``, ``payload_type`` and ``identity`` are set
        only when ``status`` is ``verified``.

    Raises:
        InputError: The ``sigstore`` package is not installed.
        JSONError: ``record.bundle_json`` is not JSON (only for records
            not made by :func:`parse_bundles`).
        ValidationError: ``record.bundle_json`` is not a well-formed bundle
            (only for records not made by :func:`parse_bundles`).
    """
    _require_sigstore()
    from cryptography import x509  # noqa: PLC0415
    from sigstore._internal.timestamp import TimestampSource  # noqa: PLC0415
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415
    from sigstore.models import Bundle  # noqa: PLC0415
    from sigstore.verify import Verifier  # noqa: PLC0415

    origin = record.origin
    # Records normally come from parse_bundles; re-checking the structure
    # keeps hand-made records from reaching sigstore half-formed.
    reader = _Reader(record.source)
    bundle_doc = reader.obj(loads(record.bundle_json, source=record.source), "")
    _check_bundle(reader, bundle_doc, "")
    unknown = unknown_bundle_member(bundle_doc)
    if unknown is not None:
        return KeylessResult("failed", f"malformed bundle: {unknown}", origin)
    signatures = (bundle_doc.get("dsseEnvelope") or {}).get("signatures") or ()
    if len(signatures) > 1:
        # The bundle spec (and sigstore-go) allow exactly one: the log entry
        # and the certificate vouch for one signature, not for the others.
        return KeylessResult(
            "failed",
            "dsse-signature-count: a bundle's DSSE envelope must carry exactly one signature"
            f" (it has {len(signatures)})",
            origin,
        )
    from ._rekor import handles as _rekor_handles  # noqa: PLC0415 - imports cryptography.x509
    from ._rekor import verify_keyless as _rekor_verify  # noqa: PLC0415

    if _rekor_handles(bundle_doc):
        # intoto/0.0.2 log entries: sigstore-python cannot check them; _rekor does.
        return _rekor_verify(bundle_doc, trusted_root.rekor, origin=origin, at=at)
    try:
        reasons = _unsupported_reasons(bundle_doc)
    except (TypeError, KeyError, AttributeError, ValueError, IndexError) as exc:
        # A member of the wrong JSON type that the structural check does not cover.
        return KeylessResult("failed", f"malformed bundle: {_one_line(exc)}", origin)
    if reasons:
        return KeylessResult("unsupported", "; ".join(reasons), origin)

    try:
        bundle: Bundle = Bundle.from_json(record.bundle_json)
        verifier = Verifier(trusted_root=trusted_root.root)
        payload_type, payload = verifier.verify_dsse(bundle, _AnyIdentity())
        # Re-establishing the verified times (sigstore verified them above)
        # is the only way to report them; it is a private sigstore API.
        times = verifier._establish_time(bundle)
    except (
        SigstoreError,
        ValueError,
        x509.ExtensionNotFound,
        InvalidSignature,
        UnsupportedAlgorithm,
    ) as exc:
        return KeylessResult("failed", _one_line(exc), origin)
    except Exception as exc:  # noqa: BLE001
        # sigstore and its models raise TypeError, KeyError, AttributeError...
        # on members of the wrong type or unsupported key algorithms; each
        # is a failed bundle, never a crash of the whole verification.
        return KeylessResult(
            "failed", f"sigstore cannot process the bundle: {_one_line(exc)}", origin
        )

    integrated = [t.time for t in times if t.source is TimestampSource.TRANSPARENCY_SERVICE]
    stamped = tuple(t.time for t in times if t.source is TimestampSource.TIMESTAMP_AUTHORITY)
    if at is not None:
        late = [("transparency-log integrated time", t) for t in integrated] + [
            ("RFC 3161 timestamp", t) for t in stamped
        ]
        for what, when in late:
            if when > at:
                return KeylessResult(
                    "failed",
                    f"signed after the verification time: {what}"
                    f" {when.astimezone(UTC).isoformat()} is later than"
                    f" {at.astimezone(UTC).isoformat()}",
                    origin,
                )
    try:
        identity = certificate_identity(
            bundle.signing_certificate,
            integrated_time=integrated[0] if integrated else None,
            timestamps=stamped,
        )
    except ValidationError as exc:
        return KeylessResult("failed", exc.problem, origin)
    return KeylessResult(
        "verified",
        f"verified against {trusted_root.source}: signed by {identity.san} ({identity.issuer})",
        origin,
        payload=payload,
        payload_type=payload_type,
        identity=identity,
    )


# --------------------------------------------------------------------------
# Identity constraints
# --------------------------------------------------------------------------


def _pattern(exact: str | None, regex: str | None, what: str) -> ValuePattern:
    if (exact is None) == (regex is None):
        raise ValidationError(f"give exactly one of {what} and {what}_regex")
    if exact == "" or regex == "":
        raise ValidationError(f"{what} must not be empty")
    try:
        return ValuePattern(exact=exact, regex=regex)
    except ValidationError as exc:
        raise ValidationError(f"{what}_regex: {exc.problem}") from exc


@dataclass(frozen=True, slots=True)
class SigstoreIdentity:
    """Which Fulcio certificates a policy accepts.

    The certificate identity (SAN) must equal ``identity`` or fully match
    ``identity_regex``; the OIDC issuer must equal ``issuer`` or fully match
    ``issuer_regex``; and each entry of ``extensions`` (by readable name,
    see :data:`~intoto_policy.crypto._x509.FULCIO_EXTENSIONS`, or dotted OID) must
    be present and match.

    Attributes:
        identity: Exact certificate identity (URI, email, username).
        identity_regex: Anchored regular expression for the identity.
        issuer: Exact OIDC issuer.
        issuer_regex: Anchored regular expression for the issuer.
        extensions: Fulcio extension constraints: exact strings or
            :class:`ValuePattern`.

    Raises:
        ValidationError: Not exactly one of ``identity``/``identity_regex``
            and of ``issuer``/``issuer_regex``, an empty value, a regular
            expression that does not compile, or an unknown extension name.
    """

    identity: str | None = None
    identity_regex: str | None = None
    issuer: str | None = None
    issuer_regex: str | None = None
    extensions: Mapping[str, str | ValuePattern] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    _identity: ValuePattern = field(init=False, repr=False, compare=False, hash=False)
    _issuer: ValuePattern = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_identity", _pattern(self.identity, self.identity_regex, "identity")
        )
        object.__setattr__(self, "_issuer", _pattern(self.issuer, self.issuer_regex, "issuer"))
        if not isinstance(self.extensions, Mapping):
            raise ValidationError("extensions: expected a mapping of name to value")
        normalized: dict[str, ValuePattern] = {}
        for name, value in self.extensions.items():
            if not isinstance(name, str) or not _extension_name_known(name):
                raise ValidationError(f"extensions: unknown Fulcio extension {name!r}")
            readable = FULCIO_EXTENSIONS.get(name, name)
            if isinstance(value, ValuePattern):
                normalized[readable] = value
            elif isinstance(value, str):
                normalized[readable] = ValuePattern(exact=value)
            else:
                raise ValidationError(f"extensions.{name}: expected a string or ValuePattern")
        object.__setattr__(self, "extensions", MappingProxyType(normalized))

    @property
    def principal_id(self) -> str:
        """``sigstore:{issuer pattern}|{identity pattern}`` (regexes as ``re:...``)."""
        return f"sigstore:{self._issuer}|{self._identity}"

    def matches(self, identity: CertificateIdentity) -> list[str]:
        """Check a verified certificate's identity against these constraints.

        Args:
            identity: From a verified :class:`KeylessResult`.

        Returns:
            Mismatch reasons, empty when the certificate matches.
        """
        problems: list[str] = []
        if identity.san is None:
            problems.append("certificate has no subject alternative name")
        elif not self._identity.matches(identity.san):
            problems.append(
                f"certificate identity {identity.san!r} does not match {str(self._identity)!r}"
            )
        if identity.issuer is None:
            problems.append("certificate has no OIDC issuer extension")
        elif not self._issuer.matches(identity.issuer):
            problems.append(f"OIDC issuer {identity.issuer!r} does not match {str(self._issuer)!r}")
        for name, wanted in self.extensions.items():
            pattern = wanted if isinstance(wanted, ValuePattern) else ValuePattern(exact=wanted)
            value = identity.extensions.get(name)
            if value is None:
                problems.append(f"certificate has no {name} extension (wanted {str(pattern)!r})")
            elif not pattern.matches(value):
                problems.append(f"{name} {value!r} does not match {str(pattern)!r}")
        return problems


# --------------------------------------------------------------------------
# Certificate-signed DSSE envelopes
# --------------------------------------------------------------------------


def _b64_any(reader: _Reader, value: Any, path: str) -> bytes:
    """Standard or URL-safe base64, padding optional (both are valid in DSSE)."""
    try:
        return b64decode(reader.string(value, path), what="value")
    except ValidationError as exc:
        raise reader.fail("not base64", path) from exc


#: Certificate key algorithms a DSSE signature is checked with, by OID.
_CERT_KEY_ALGORITHMS: Final = {
    "1.2.840.10045.2.1": "ECDSA",
    "1.3.101.112": "Ed25519",
    "1.2.840.113549.1.1.1": "RSA",
}

#: Elliptic curves accepted for a certificate's ECDSA key, with their hash.
_CERT_CURVES: Final = {"secp256r1": 256, "secp384r1": 384, "secp521r1": 521}


def certificate_key_problem(certificate: x509.Certificate) -> str | None:
    """Why the certificate's public key cannot be used, or None if it can.

    The algorithm is judged by its OID before the key is decoded, so a key
    cryptography cannot load (an unknown algorithm) or only warns about
    (DSA) is refused with a reason instead of raising; ECDSA keys must be on
    P-256, P-384 or P-521.
    """
    oid = certificate.public_key_algorithm_oid.dotted_string
    if oid not in _CERT_KEY_ALGORITHMS:
        name = getattr(certificate.public_key_algorithm_oid, "_name", "unknown")
        return f"certificate key algorithm {oid} ({name}) is not supported"
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        return f"certificate key cannot be loaded: {_one_line(exc)}"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in _CERT_CURVES:
        return f"certificate key curve {key.curve.name} is not supported (P-256, P-384, P-521)"
    return None


def _signature_valid(certificate: x509.Certificate, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` verifies (the key was checked by certificate_key_problem)."""
    key = certificate.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            digest: hashes.HashAlgorithm = {384: hashes.SHA384(), 521: hashes.SHA512()}.get(
                key.key_size, hashes.SHA256()
            )
            key.verify(signature, message, ec.ECDSA(digest))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        elif isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
            try:
                key.verify(signature, message, pss, hashes.SHA256())
            except InvalidSignature:
                key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:  # pragma: no cover - certificate_key_problem refused it
            return False
    except InvalidSignature:
        return False
    return True


def verify_certificate_envelope(
    data: bytes,
    constraints: X509Constraints,
    *,
    at: datetime,
    source: str,
) -> list[KeylessResult]:
    """Verify a DSSE envelope whose signatures carry a PEM ``cert``.

    For each signature: the DSSE signature (over PAE) with the certificate's
    public key, and the certificate chain to ``constraints.roots`` at time
    ``at``. Name constraints are not applied here: call
    :meth:`X509Constraints.matches` on each verified result's identity.

    There is no transparency log or timestamp here, so the caller must
    establish the time of signing (``at``) by other means.

    Args:
        data: The envelope JSON (``payloadType``, ``payload``, ``signatures``).
        constraints: Trusted CA certificates (and name constraints).
        at: The time of signing; must be timezone-aware.
        source: Name of the input, for errors and results.

    Returns:
        One result per signature, in order: ``unsupported`` for a signature
        without certificate or with an unsupported key type.

    Raises:
        JSONError: ``data`` is not acceptable JSON.
        ValidationError: Not a DSSE envelope, or a malformed certificate or
            base64 value.
        UsageError: ``at`` is a naive datetime.
    """
    reader = _Reader(source)
    envelope = reader.obj(loads(data, source=source), "")
    payload_type = reader.string(reader.member(envelope, "payloadType", ""), "payloadType")
    payload = _b64_any(reader, reader.member(envelope, "payload", ""), "payload")
    signatures = reader.array(reader.member(envelope, "signatures", ""), "signatures")
    entries: list[tuple[bytes, str | None]] = []
    for i, raw_entry in enumerate(signatures):
        path = _join("signatures", i)
        entry = reader.obj(raw_entry, path)
        signature = _b64_any(reader, reader.member(entry, "sig", path), _join(path, "sig"))
        cert = entry.get("cert")
        entries.append(
            (signature, None if cert in (None, "") else reader.string(cert, _join(path, "cert")))
        )
    return _check_certificate_signatures(
        payload_type, payload, entries, constraints, at=at, source=source
    )


def verify_certificate_signatures(
    envelope: Envelope,
    constraints: X509Constraints,
    *,
    at: datetime,
    source: str,
) -> list[KeylessResult]:
    """:func:`verify_certificate_envelope` for an envelope already parsed.

    Raises:
        ValidationError: A malformed certificate.
    """
    entries = [(sig.sig, sig.cert or None) for sig in envelope.signatures]
    return _check_certificate_signatures(
        envelope.payload_type, envelope.payload, entries, constraints, at=at, source=source
    )


def _check_certificate_signatures(
    payload_type: str,
    payload: bytes,
    entries: list[tuple[bytes, str | None]],
    constraints: X509Constraints,
    *,
    at: datetime,
    source: str,
) -> list[KeylessResult]:
    message = pae(payload_type, payload)
    results: list[KeylessResult] = []
    for i, (signature, pem) in enumerate(entries):
        path = _join("signatures", i)
        origin = f"{source}#{i} ({path})"
        if pem is None:
            results.append(KeylessResult("unsupported", "signature carries no certificate", origin))
            continue
        certificate = load_certificate(pem, source=f"{source}: {_join(path, 'cert')}")
        key_problem = certificate_key_problem(certificate)
        if key_problem is not None:
            results.append(KeylessResult("unsupported", key_problem, origin))
            continue
        valid = _signature_valid(certificate, signature, message)
        if not valid:
            results.append(
                KeylessResult(
                    "failed", "DSSE signature does not verify with the certificate's key", origin
                )
            )
            continue
        problems = constraints.check_chain(certificate, at=at)
        if problems:
            results.append(KeylessResult("failed", "; ".join(problems), origin))
            continue
        identity = certificate_identity(certificate)
        results.append(
            KeylessResult(
                "verified",
                f"signature and certificate chain verified at {at.astimezone(UTC).isoformat()}",
                origin,
                payload=payload,
                payload_type=payload_type,
                identity=identity,
            )
        )
    return results
