"""The data model: digests, statements, DSSE envelopes, attestations,
predicate views, strict JSON and time parsing.

The bottom layer.  It imports only ``intoto_policy._errors`` and the
standard library (plus ``crypto`` for the signature types an envelope
carries); it does no I/O, reads no clock and never touches the network.
Everything here turns untrusted bytes into typed, immutable values or
rejects them with an ``IntotoPolicyError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "DigestSet": "_digests",
    "ResourceDescriptor": "_statement",
    "Statement": "_statement",
    "Envelope": "_dsse",
    "pae": "_dsse",
    "Attestation": "_attestations",
    "parse_attestations": "_attestations",
    "view_for": "predicates",
}

__all__ = [
    "Attestation",
    "DigestSet",
    "Envelope",
    "ResourceDescriptor",
    "Statement",
    "pae",
    "parse_attestations",
    "view_for",
]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:
    from ._attestations import Attestation, parse_attestations
    from ._digests import DigestSet
    from ._dsse import Envelope, pae
    from ._statement import ResourceDescriptor, Statement
    from .predicates import view_for
