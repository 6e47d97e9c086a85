"""Reading evidence back out of a store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .._errors import UsageError, ValidationError
from ..model._attestations import Attestation, parse_attestations
from ..model._digests import DigestSet
from ..model._json import DEFAULT_LIMITS, JSONLimits
from ._base import SQLStore, StoredAttestation

__all__ = ["attestations_for", "parse_digest", "stored_attestations"]


def parse_digest(text: str, *, what: str = "--subject-digest") -> DigestSet:
    """``ALG:HEX`` as a one-algorithm digest set.

    Raises:
        UsageError: The text is not ``ALG:HEX`` or the value is not a valid
            digest for the algorithm.
    """
    alg, sep, value = text.strip().partition(":")
    if not sep or not alg or not value:
        raise UsageError(f"{what} expects ALG:HEX, got {text[:80]!r}")
    try:
        return DigestSet({alg: value})
    except ValidationError as exc:
        raise UsageError(f"{what}: {exc.problem}") from None


def _pairs(subjects: Sequence[Mapping[str, str]]) -> list[tuple[str, str]]:
    return sorted({(alg, value) for s in subjects for alg, value in s.items()})


def stored_attestations(
    store: SQLStore,
    subjects: Sequence[Mapping[str, str]],
    *,
    predicate_type: str | None = None,
    signer: str | None = None,
    signer_kind: str | None = None,
) -> list[StoredAttestation]:
    """The stored items indexed under any digest of any of ``subjects``.

    Raises:
        InputError: The store cannot be read or too many items match.
        UsageError: ``signer_kind`` without ``signer``, or not a known kind.
    """
    return store.find(
        _pairs(subjects), predicate_type=predicate_type, signer=signer, signer_kind=signer_kind
    )


def attestations_for(
    store: SQLStore,
    subjects: Sequence[Mapping[str, str]],
    *,
    limits: JSONLimits = DEFAULT_LIMITS,
) -> list[Attestation]:
    """Evidence for a verification: the stored items about ``subjects``, parsed.

    The stored bytes are parsed exactly as a file with those bytes would
    be; each attestation's source names where it was first read and its
    digest in the store.

    Raises:
        InputError: The store cannot be read or too many items match.
    """
    found: list[Attestation] = []
    for digest, source, body in store.bodies(_pairs(subjects)):
        where = f"{source} [store sha256:{digest[:12]}]"
        found.extend(parse_attestations(body, source=where, limits=limits))
    return found
