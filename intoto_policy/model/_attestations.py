"""Attestations as the verifier receives them, and how bytes become them.

An :class:`Attestation` is one signed item found in an input: a DSSE
envelope (key- or certificate-signed) or a Sigstore bundle. Items that
cannot be parsed are kept too, with the reason, so the report can list
them; one bad line never hides the others.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._errors import InputError, JSONError, ValidationError
from ._dsse import Envelope
from ._json import DEFAULT_LIMITS, JSONLimits, loads

if TYPE_CHECKING:
    from ..crypto._keyless import BundleRecord

__all__ = ["Attestation", "is_bundle_container", "parse_attestations"]


@dataclass(frozen=True, slots=True)
class Attestation:
    """One signed item to verify.

    Exactly one of ``envelope``, ``bundle`` and ``problem`` is set.

    Attributes:
        source: Where it was read (``path`` or ``path:line``).
        digest: sha256 (hex) of the item's bytes as read.
        envelope: A DSSE envelope signed with keys or a certificate.
        bundle: A Sigstore bundle (keyless).
        problem: Why the item could not be parsed.
    """

    source: str
    digest: str
    envelope: Envelope | None = None
    bundle: BundleRecord | None = None
    problem: str | None = None

    @classmethod
    def from_envelope(
        cls, envelope: Envelope, *, source: str, raw: bytes | None = None
    ) -> Attestation:
        """Wrap an already parsed envelope (the digest is over ``raw`` if given)."""
        # Without the bytes as read, the digest is over the envelope's JSON form.
        data = raw if raw is not None else json.dumps(envelope.to_dict(), sort_keys=True).encode()
        return cls(source=source, digest=hashlib.sha256(data).hexdigest(), envelope=envelope)


def _is_envelope(doc: Any) -> bool:
    return isinstance(doc, Mapping) and "payloadType" in doc and "signatures" in doc


def is_bundle_container(doc: Any) -> bool:
    """Whether a parsed JSON document is read as a Sigstore bundle or a container of them."""
    return isinstance(doc, Mapping) and (
        "mediaType" in doc
        or "attestations" in doc
        or "attestation_bundles" in doc
        or ("envelope" in doc and "verification_material" in doc)
        or "dsseEnvelope" in doc
    )


def _container_analysis(doc: Any, raw: bytes, source: str) -> list[Attestation]:
    """The DSSE envelopes of a Google Container Analysis document, each on its own.

    Only ``provenance_summary.provenance[i].envelope`` is read: the unsigned
    copies next to it (``build.intotoStatement``, ``image_summary``) prove
    nothing and are ignored. The envelope's signature covers the raw payload,
    which only a key functionary with ``signatureOver: raw-payload`` accepts.
    """
    digest = hashlib.sha256(raw).hexdigest()
    items = (
        doc["provenance_summary"].get("provenance")
        if isinstance(doc["provenance_summary"], Mapping)
        else None
    )
    if not isinstance(items, list) or not items:
        return [
            Attestation(
                source=source,
                digest=digest,
                problem="provenance_summary.provenance must be a non-empty array",
            )
        ]
    found = []
    for i, item in enumerate(items):
        where = f"{source}#{i} (provenance_summary.provenance[{i}].envelope)"
        envelope = item.get("envelope") if isinstance(item, Mapping) else None
        try:
            parsed = Envelope.from_dict(envelope)
        except ValidationError as exc:
            found.append(
                Attestation(
                    source=where, digest=digest, problem=f"not a valid DSSE envelope: {exc}"
                )
            )
            continue
        found.append(Attestation.from_envelope(parsed, source=where))
    return found


def _one(doc: Any, raw: bytes, source: str) -> list[Attestation]:
    digest = hashlib.sha256(raw).hexdigest()
    if isinstance(doc, Mapping) and "provenance_summary" in doc:
        return _container_analysis(doc, raw, source)
    if _is_envelope(doc):
        try:
            return [Attestation(source=source, digest=digest, envelope=Envelope.from_dict(doc))]
        except ValidationError as exc:
            return [
                Attestation(
                    source=source, digest=digest, problem=f"not a valid DSSE envelope: {exc}"
                )
            ]
    if is_bundle_container(doc):
        try:
            from ..crypto._keyless import parse_bundles  # noqa: PLC0415 - only for bundles

            records = parse_bundles(raw, source=source)
        except InputError as exc:
            return [Attestation(source=source, digest=digest, problem=exc.problem)]
        return [
            Attestation(
                source=r.origin if len(records) > 1 else source,
                digest=hashlib.sha256(r.bundle_json).hexdigest() if len(records) > 1 else digest,
                bundle=r,
            )
            for r in records
        ]
    return [
        Attestation(
            source=source,
            digest=digest,
            problem="not an attestation (no DSSE envelope or Sigstore bundle found)",
        )
    ]


def parse_attestations(
    data: bytes, *, source: str, limits: JSONLimits = DEFAULT_LIMITS
) -> list[Attestation]:
    """Find every attestation in one input.

    Accepts a DSSE envelope, a Sigstore bundle (or an npm / PEP 740
    container of bundles), a Google Container Analysis document (its DSSE
    envelopes), or JSON Lines of any of these. Unparsable parts
    become attestations with a ``problem``; nothing here raises for bad
    content.

    Args:
        data: The file's bytes.
        source: Its name, used in reports.
        limits: JSON size and depth bounds.
    """
    try:
        doc = loads(data, source=source, limits=limits)
    except JSONError as whole_error:
        lines = data.split(b"\n")
        if sum(1 for line in lines if line.strip()) <= 1:
            return [
                Attestation(
                    source=source,
                    digest=hashlib.sha256(data).hexdigest(),
                    problem=whole_error.problem,
                )
            ]
        found: list[Attestation] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{source}:{number}"
            try:
                item = loads(line, source=where, limits=limits)
            except JSONError as exc:
                found.append(
                    Attestation(
                        source=where, digest=hashlib.sha256(line).hexdigest(), problem=exc.problem
                    )
                )
                continue
            found.extend(_one(item, line.strip(), where))
        return found
    return _one(doc, data, source)
