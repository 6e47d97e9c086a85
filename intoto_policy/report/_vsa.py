"""The report as a signed SLSA Verification Summary Attestation (VSA v1).

The statement says who verified (``verifier.id``), when (the report's
reference time, never the wall clock), what (the bound subjects and a
``resourceUri``), against which policy (the layout, by digest), from which
evidence (the attestations that counted, by digest), and the outcome
(``PASSED``/``FAILED`` and the SLSA levels the layout declares). A
keyless input attestation carries its verified signing times in its
``annotations`` (``signingTimes``: time and ``transparency-log`` or
``timestamp-authority``). It is signed into a DSSE envelope.

A VSA is about an artifact: when no subject was bound the verification
said nothing about a specific artifact and no VSA can be written.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from .._errors import UsageError
from ..crypto._keys import PrivateKey
from ..model._dsse import INTOTO_PAYLOAD_TYPE, Envelope
from ..model._statement import STATEMENT_V1
from ._common import TOOL_NAME, dump_json, tool_version
from ._model import Report

__all__ = [
    "CONFIG_DIGEST_ANNOTATION",
    "DEFAULT_VERIFIER_ID",
    "VSA_PREDICATE_TYPE",
    "render_vsa",
    "resource_uri_for",
    "vsa_statement",
]

#: predicateType of SLSA VSA v1.
VSA_PREDICATE_TYPE: Final = "https://slsa.dev/verification_summary/v1"
#: The ``policy.annotations`` key of the digest of the verification's whole
#: configuration (parameters, time, store, keys...), written by ``audit`` so
#: that the signature covers it.
CONFIG_DIGEST_ANNOTATION: Final = "intotoPolicyConfigDigest"
#: ``verifier.id`` when none is configured.
DEFAULT_VERIFIER_ID: Final = "https://github.com/intoto-policy/intoto-policy"

_SLSA_LEVEL: Final = re.compile(r"SLSA_([A-Z][A-Z0-9]*)_LEVEL_(\d+)")
# RFC 6920 "ni" URIs name an object by hash; these are the registry names.
_NI_NAMES: Final[Mapping[str, str]] = {
    "sha256": "sha-256",
    "sha384": "sha-384",
    "sha512": "sha-512",
}


def resource_uri_for(digests: Mapping[str, str]) -> str:
    """A URI naming an artifact by its digest (RFC 6920 ``ni:///``).

    Args:
        digests: The artifact's digest set.

    Raises:
        UsageError: The set has no sha256, sha384 or sha512 digest.
    """
    for alg, name in _NI_NAMES.items():
        value = digests.get(alg)
        if value:
            try:
                raw = bytes.fromhex(value)
            except ValueError:
                raise UsageError(f"subject {alg} digest is not hex") from None
            text = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
            return f"ni:///{name};{text}"
    raise UsageError(
        "cannot name the subject by digest (no sha256, sha384 or sha512): pass a resource URI"
    )


def _levels(report: Report, verified_levels: Iterable[str]) -> list[str]:
    levels = check_verified_levels(verified_levels)
    if not report.passed:
        return ["FAILED"]
    return levels


def check_verified_levels(verified_levels: Iterable[str]) -> list[str]:
    """The levels a VSA would declare, checked before any VSA is made.

    Raises:
        UsageError: A level is empty or ``FAILED``, an ``SLSA_`` level is
            not ``SLSA_<TRACK>_LEVEL_<N>``, or two levels name one track.
    """
    levels = list(verified_levels)
    tracks: dict[str, str] = {}
    for level in levels:
        if not isinstance(level, str) or not level:
            raise UsageError("verified levels must be non-empty strings")
        if level == "FAILED":
            raise UsageError("'FAILED' is not a level to declare: it is written for failures")
        match = _SLSA_LEVEL.fullmatch(level)
        if level.startswith("SLSA_") and match is None:
            raise UsageError(
                f"verified level {level!r} is not of the form SLSA_<TRACK>_LEVEL_<N> "
                "(custom levels must not start with SLSA_)"
            )
        if match is not None:
            track = match.group(1)
            if track in tracks:
                raise UsageError(
                    f"verified levels name track {track} twice ({tracks[track]}, {level})"
                )
            tracks[track] = level
    return levels


def _input_attestations(report: Report) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for step in report.steps:
        for att in step.attestations:
            if not att.digest:
                raise UsageError(
                    f"attestation {att.source} has no digest: a VSA must name its inputs by digest"
                )
            if att.digest in seen:
                continue
            seen.add(att.digest)
            entry: dict[str, Any] = {"name": att.source, "digest": {"sha256": att.digest}}
            if att.signing_times:
                # When each keyless input was signed, per a log or a TSA.
                entry["annotations"] = {"signingTimes": [t.to_dict() for t in att.signing_times]}
            out.append(entry)
    return out


def vsa_statement(
    report: Report,
    *,
    verifier_id: str = DEFAULT_VERIFIER_ID,
    resource_uri: str | None = None,
    verified_levels: Iterable[str] = (),
    policy_uri: str | None = None,
    version: str | None = None,
    config_digest: str | None = None,
) -> dict[str, Any]:
    """The VSA v1 in-toto Statement describing a verification.

    Args:
        report: The verification report.
        verifier_id: ``verifier.id``: a URI naming who verified.
        resource_uri: ``resourceUri``; default the first subject named by
            digest (``ni:///sha-256;...``).
        verified_levels: SLSA levels the layout declares for a pass
            (``SLSA_BUILD_LEVEL_3``...); a failed verification always
            records ``["FAILED"]``.
        policy_uri: ``policy.uri``; default the layout file as given.
        version: ``verifier.version`` for intoto-policy; default the
            installed version.
        config_digest: When given, recorded as the ``policy`` annotation
            :data:`CONFIG_DIGEST_ANNOTATION` (inside what is signed).

    Returns:
        The statement as a JSON-able dict.

    Raises:
        UsageError: No subject was bound; a default resource URI cannot be
            derived; a level is malformed or repeats a track; a counted
            attestation has no digest; the verifier id is empty.
    """
    if not report.subjects:
        raise UsageError(
            "a VSA needs a subject, but no artifact was bound to this verification: "
            "verify with --subject FILE or --subject-digest ALG:HEX"
        )
    if not verifier_id:
        raise UsageError("a VSA needs a verifier id")
    levels = _levels(report, verified_levels)
    policy: dict[str, Any] = {"uri": policy_uri or report.layout.source}
    if report.layout.digest:
        policy["digest"] = {"sha256": report.layout.digest}
    if config_digest is not None:
        policy["annotations"] = {CONFIG_DIGEST_ANNOTATION: config_digest}
    predicate: dict[str, Any] = {
        "verifier": {"id": verifier_id, "version": {TOOL_NAME: version or tool_version()}},
        "timeVerified": report.to_dict()["verifiedAt"],
        "resourceUri": resource_uri or resource_uri_for(report.subjects[0]),
        "policy": policy,
        "inputAttestations": _input_attestations(report),
        "verificationResult": "PASSED" if report.passed else "FAILED",
        "verifiedLevels": levels,
    }
    return {
        "_type": STATEMENT_V1,
        "subject": [{"digest": dict(sorted(s.items()))} for s in report.subjects],
        "predicateType": VSA_PREDICATE_TYPE,
        "predicate": predicate,
    }


def render_vsa(
    report: Report,
    *,
    key: PrivateKey,
    verifier_id: str = DEFAULT_VERIFIER_ID,
    resource_uri: str | None = None,
    verified_levels: Iterable[str] = (),
    policy_uri: str | None = None,
    version: str | None = None,
) -> str:
    """Render a report as a DSSE envelope holding a signed VSA v1 statement.

    Args:
        report: The verification report.
        key: The verifier's signing key.
        verifier_id: ``verifier.id``.
        resource_uri: ``resourceUri``; default derived from the first subject.
        verified_levels: SLSA levels the layout declares (recorded on a pass).
        policy_uri: ``policy.uri``; default the layout file as given.
        version: The intoto-policy version to record; default the installed one.

    Returns:
        The envelope as one line of JSON (so it can be appended to a
        ``.intoto.jsonl`` bundle), ending with a newline.

    Raises:
        UsageError: As :func:`vsa_statement`.
        ValidationError: No signing key was usable.
    """
    statement = vsa_statement(
        report,
        verifier_id=verifier_id,
        resource_uri=resource_uri,
        verified_levels=verified_levels,
        policy_uri=policy_uri,
        version=version,
    )
    payload = dump_json(statement, indent=None, sort_keys=True).encode("utf-8")
    envelope = Envelope.sign(payload, INTOTO_PAYLOAD_TYPE, [key])
    return dump_json(envelope.to_dict(), indent=None) + "\n"
