"""DSSE envelopes: parsing, PAE, signing and verification.

Signatures are verified over the pre-authentication encoding (PAE) of the
exact payload bytes that were received, never over a re-serialisation.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .._errors import ValidationError
from ..crypto._keys import PrivateKey, PublicKey
from ._json import DEFAULT_LIMITS, JSONLimits, loads
from ._statement import Statement

__all__ = [
    "INTOTO_PAYLOAD_TYPE",
    "MAX_TRIAL_SIGNATURES",
    "Envelope",
    "EnvelopeSignature",
    "KeyIndex",
    "SignatureCheck",
    "b64decode",
    "pae",
]

#: The payloadType of an envelope that carries an in-toto Statement.
INTOTO_PAYLOAD_TYPE: Final = "application/vnd.in-toto+json"

_B64: Final = re.compile(r"[A-Za-z0-9+/\-_]*={0,2}")

#: How many signatures of one envelope are tried against every key when their
#: keyid hint names no key they verify under. Such a trial costs one
#: verification per key, and an envelope may carry thousands of signatures,
#: so without a cap one input could cost signatures x keys verifications.
MAX_TRIAL_SIGNATURES: Final = 8


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 pre-authentication encoding of a payload.

    ``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`` where LEN is the
    byte length in ASCII decimal.
    """
    ptype = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(ptype), ptype, len(payload), payload)


def b64decode(text: str, *, what: str = "value") -> bytes:
    """Decode standard or URL-safe base64, padded or not.

    Raises:
        ValidationError: The text is not base64.
    """
    if not isinstance(text, str):
        raise ValidationError(f"{what} is not base64")
    try:  # the common case: standard, padded
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    if not _B64.fullmatch(text):
        raise ValidationError(f"{what} is not base64")
    if "-" in text or "_" in text:
        if "+" in text or "/" in text:
            raise ValidationError(f"{what} mixes standard and URL-safe base64")
        text = text.replace("-", "+").replace("_", "/")
    stripped = text.rstrip("=")
    if len(stripped) % 4 == 1:
        raise ValidationError(f"{what} is not base64 (bad length)")
    try:
        return base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{what} is not base64") from None


@dataclass(frozen=True, slots=True)
class EnvelopeSignature:
    """One signature of an envelope.

    Attributes:
        sig: The raw signature bytes.
        keyid: The signer's key id hint (unauthenticated), or ``""``.
        cert: A PEM certificate carried beside the signature (legacy
            keyless output), if any.
        extra: Other fields, kept for round trips.
    """

    sig: bytes
    keyid: str = ""
    cert: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    _sig_text: str | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {
            "keyid": self.keyid,
            "sig": self._sig_text or base64.b64encode(self.sig).decode(),
        }
        if self.cert is not None:
            out["cert"] = self.cert
        out.update(self.extra)
        return out


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """How one envelope signature fared against a set of keys.

    Attributes:
        index: Position of the signature in the envelope.
        keyid_hint: The keyid the signature claims.
        verified_by: Keys under which it verified (usually zero or one).
        untried: The hint named no key the signature verifies under, and it
            was not tried against the other keys because the envelope had
            already used its :data:`MAX_TRIAL_SIGNATURES` trials.
    """

    index: int
    keyid_hint: str
    verified_by: tuple[PublicKey, ...]
    untried: bool = False


class KeyIndex:
    """Verification keys indexed for signature checks; build once, use for many envelopes.

    A signature's keyid hint is looked up under every key-id convention the
    project accepts: the id the key is listed under, its securesystemslib and
    legacy key ids, and its fingerprint (sha256 over the SubjectPublicKeyInfo,
    also written ``SHA256:hex``). So a signature that names its key costs one
    verification however many keys there are.

    Attributes:
        keys: The keys, in the order given.
    """

    # Few objects per key: building the index for tens of thousands of keys
    # must not wake the garbage collector over and over. Each name maps to
    # its first key; the rare further keys under one name go to ``_more``.
    __slots__ = ("_by_id", "_by_material", "_more_by_id", "_more_by_material", "_position", "keys")

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        self.keys: tuple[PublicKey, ...] = tuple(keys)
        self._position: dict[int, int] = {}
        self._by_id: dict[str, PublicKey] = {}
        self._more_by_id: dict[str, list[PublicKey]] = {}
        self._by_material: dict[str, PublicKey] = {}
        self._more_by_material: dict[str, list[PublicKey]] = {}
        by_id, more_by_id = self._by_id, self._more_by_id
        for position, key in enumerate(self.keys):
            self._position.setdefault(id(key), position)
            _add(by_id, more_by_id, key.keyid, key)
            _add(by_id, more_by_id, key.computed_keyid("securesystemslib"), key)
            _add(by_id, more_by_id, key.computed_keyid("legacy"), key)
            _add(by_id, more_by_id, key.fingerprint, key)
            _add(self._by_material, self._more_by_material, key.fingerprint, key)

    def named(self, keyid: str) -> tuple[PublicKey, ...]:
        """The keys a keyid hint names (empty for ``""`` or an unknown id)."""
        if not keyid:
            return ()
        found = _get(self._by_id, self._more_by_id, keyid)
        if not found and keyid[:7].lower() == "sha256:":
            found = _get(self._by_id, self._more_by_id, keyid[7:])
        return found

    def with_material(self, fingerprint: str) -> tuple[PublicKey, ...]:
        """The keys with this fingerprint (one key listed under several ids)."""
        return _get(self._by_material, self._more_by_material, fingerprint)

    def _ordered(self, keys: Iterable[PublicKey]) -> list[PublicKey]:
        return sorted(keys, key=lambda k: self._position[id(k)])

    def check_hinted(self, sig: EnvelopeSignature, message: bytes) -> list[PublicKey]:
        """The keys ``sig`` verifies under among those its hint names.

        When one verifies, every other key with the same material is
        included (one key listed under two ids is one key).
        """
        hinted = self.named(sig.keyid)
        verified = [k for k in hinted if k.verify(sig.sig, message)]
        if verified:
            hinted_ids = {id(k) for k in hinted}
            materials = dict.fromkeys(k.fingerprint for k in verified)
            verified.extend(
                self._ordered(
                    k for fp in materials for k in self.with_material(fp) if id(k) not in hinted_ids
                )
            )
        return verified

    def check_all(self, sig: EnvelopeSignature, message: bytes) -> list[PublicKey]:
        """The keys ``sig`` verifies under among those its hint does not name.

        One verification per distinct key material and scheme: call it only
        when :meth:`check_hinted` found nothing.
        """
        hinted = self.named(sig.keyid)
        hinted_ids = {id(k) for k in hinted}
        failed = {(k.fingerprint, k.scheme) for k in hinted}
        found: list[PublicKey] = []
        for fp, first in self._by_material.items():
            more = self._more_by_material.get(fp)
            if more is None:  # the usual case: one key per material
                if id(first) not in hinted_ids and first.verify(sig.sig, message):
                    found.append(first)
                continue
            # Keys with the same material and scheme verify alike: one try each.
            verdicts: dict[str, bool] = {}
            for key in (first, *more):
                if id(key) in hinted_ids or (fp, key.scheme) in failed:
                    continue
                ok = verdicts.get(key.scheme)
                if ok is None:
                    ok = verdicts[key.scheme] = key.verify(sig.sig, message)
                if ok:
                    found.append(key)
        return self._ordered(found)


def _add(
    first: dict[str, PublicKey], more: dict[str, list[PublicKey]], name: str, key: PublicKey
) -> None:
    held = first.setdefault(name, key)
    if held is not key:
        extra = more.setdefault(name, [])
        if all(k is not key for k in extra):
            extra.append(key)


def _get(
    first: dict[str, PublicKey], more: dict[str, list[PublicKey]], name: str
) -> tuple[PublicKey, ...]:
    held = first.get(name)
    if held is None:
        return ()
    extra = more.get(name)
    return (held, *extra) if extra else (held,)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A DSSE envelope.

    Attributes:
        payload_type: The payloadType.
        payload: The exact payload bytes that were signed.
        signatures: The signatures, in envelope order.
        extra: Top-level fields outside the DSSE spec, kept for round trips.
    """

    payload_type: str
    payload: bytes
    signatures: tuple[EnvelopeSignature, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)
    _payload_text: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any) -> Envelope:
        """Validate a parsed DSSE envelope.

        Raises:
            ValidationError: A field is missing, of the wrong type, or not base64.
        """
        if not isinstance(data, Mapping):
            raise ValidationError("a DSSE envelope must be a JSON object")
        ptype = data.get("payloadType")
        if not isinstance(ptype, str) or not ptype:
            raise ValidationError("payloadType must be a non-empty string", path="payloadType")
        payload_text = data.get("payload")
        if not isinstance(payload_text, str):
            raise ValidationError("payload must be a base64 string", path="payload")
        payload = b64decode(payload_text, what="payload")
        sigs = data.get("signatures")
        if not isinstance(sigs, list):
            raise ValidationError("signatures must be a list", path="signatures")
        parsed: list[EnvelopeSignature] = []
        for i, sig in enumerate(sigs):
            where = f"signatures[{i}]"
            if not isinstance(sig, Mapping):
                raise ValidationError("a signature must be an object", path=where)
            sig_text = sig.get("sig")
            if not isinstance(sig_text, str) or not sig_text:
                raise ValidationError("sig must be a non-empty base64 string", path=where)
            keyid = sig.get("keyid", "")
            if keyid is None:
                keyid = ""
            if not isinstance(keyid, str):
                raise ValidationError("keyid must be a string", path=where)
            cert = sig.get("cert")
            if cert is not None and not isinstance(cert, str):
                raise ValidationError("cert must be a PEM string", path=where)
            try:
                raw = b64decode(sig_text, what="sig")
            except ValidationError as exc:
                raise ValidationError(exc.problem, path=where) from None
            parsed.append(
                EnvelopeSignature(
                    sig=raw,
                    keyid=keyid,
                    cert=cert,
                    extra={k: v for k, v in sig.items() if k not in ("sig", "keyid", "cert")},
                    _sig_text=sig_text,
                )
            )
        return cls(
            payload_type=ptype,
            payload=payload,
            signatures=tuple(parsed),
            extra={
                k: v for k, v in data.items() if k not in ("payload", "payloadType", "signatures")
            },
            _payload_text=payload_text,
        )

    @classmethod
    def from_json(
        cls, data: bytes, *, source: str | None = None, limits: JSONLimits = DEFAULT_LIMITS
    ) -> Envelope:
        """Parse an envelope from JSON bytes.

        Raises:
            JSONError: The bytes are not acceptable JSON.
            ValidationError: The JSON is not a DSSE envelope.
        """
        try:
            return cls.from_dict(loads(data, source=source, limits=limits))
        except ValidationError as exc:
            if source:
                exc.with_source(source)
            raise

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with the payload exactly as received."""
        out: dict[str, Any] = {
            "payload": self._payload_text or base64.b64encode(self.payload).decode(),
            "payloadType": self.payload_type,
            "signatures": [s.to_dict() for s in self.signatures],
        }
        out.update(self.extra)
        return out

    @property
    def pae(self) -> bytes:
        """The bytes every signature is over."""
        return pae(self.payload_type, self.payload)

    @classmethod
    def sign(cls, payload: bytes, payload_type: str, keys: Iterable[PrivateKey]) -> Envelope:
        """Create an envelope signed by each key.

        Raises:
            ValidationError: No key was given.
        """
        signing = pae(payload_type, payload)
        sigs = tuple(EnvelopeSignature(sig=k.sign(signing), keyid=k.keyid) for k in keys)
        if not sigs:
            raise ValidationError("an envelope needs at least one signing key")
        return cls(payload_type=payload_type, payload=payload, signatures=sigs)

    def check_signatures(self, keys: Iterable[PublicKey] | KeyIndex) -> tuple[SignatureCheck, ...]:
        """Check every signature against the candidate keys.

        The keyid in a signature is only a hint: the keys it names (under any
        key-id convention, see :class:`KeyIndex`) are tried first, and a
        signature that verifies under one of them is checked against nothing
        else. A signature with no hint, an unknown one, or one naming a key
        it does not verify under is tried against every other key, and
        counts for whichever it verifies under: a matching hint alone proves
        nothing. That trial costs one verification per key, so only the first
        :data:`MAX_TRIAL_SIGNATURES` such signatures of an envelope get it;
        the others are reported ``untried`` and verify under no key. Repeated
        identical signatures are checked once.

        Args:
            keys: The candidate keys, or a :class:`KeyIndex` of them (build
                one to check many envelopes against many keys).
        """
        index = keys if isinstance(keys, KeyIndex) else KeyIndex(keys)
        message = self.pae
        checks = []
        trials = 0
        seen: dict[tuple[str, bytes], tuple[PublicKey, ...]] = {}
        for i, sig in enumerate(self.signatures):
            done = seen.get((sig.keyid, sig.sig))
            if done is not None:
                checks.append(SignatureCheck(i, sig.keyid, done))
                continue
            verified = index.check_hinted(sig, message)
            untried = False
            if not verified:
                if trials < MAX_TRIAL_SIGNATURES:
                    trials += 1
                    verified = index.check_all(sig, message)
                else:
                    untried = True
            if not untried:
                seen[(sig.keyid, sig.sig)] = tuple(verified)
            checks.append(SignatureCheck(i, sig.keyid, tuple(verified), untried))
        return tuple(checks)

    def verified_keys(self, keys: Iterable[PublicKey] | KeyIndex) -> dict[str, PublicKey]:
        """Distinct keys (by key material) that signed this envelope.

        Returns:
            A map from key fingerprint to one key of the given set with that
            material. Two signatures by one key, or one key listed under two
            ids, count once.
        """
        found: dict[str, PublicKey] = {}
        for check in self.check_signatures(keys):
            for key in check.verified_by:
                found.setdefault(key.fingerprint, key)
        return found

    def verify(self, keys: Iterable[PublicKey] | KeyIndex, threshold: int = 1) -> bool:
        """Whether at least ``threshold`` distinct keys signed this envelope."""
        if threshold < 1:
            raise ValidationError("threshold must be at least 1")
        return len(self.verified_keys(keys)) >= threshold

    def statement(self, *, limits: JSONLimits = DEFAULT_LIMITS) -> Statement:
        """Parse the payload as an in-toto Statement.

        Raises:
            ValidationError: The payloadType is not in-toto's, or the payload
                is not a valid Statement.
            JSONError: The payload is not acceptable JSON.
        """
        if self.payload_type != INTOTO_PAYLOAD_TYPE:
            raise ValidationError(
                f"payloadType is {self.payload_type!r}, not {INTOTO_PAYLOAD_TYPE!r}",
                path="payloadType",
            )
        # The payload was decoded here and nobody else holds it: no copy needed.
        return Statement.from_dict(loads(self.payload, limits=limits), copy=False)
