"""The verification report: a typed value, never an exception.

A :class:`Report` holds every check the verifier evaluated, grouped by
step, plus the attestations that did not count and why. ``bool(report)`` is
the verdict: true only when no check failed. Renderers (text, JSON, SARIF,
JUnit, Markdown, VSA) read this model and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "AttestationRef",
    "Check",
    "CheckKind",
    "LayoutInfo",
    "Location",
    "RejectReason",
    "RejectedAttestation",
    "Report",
    "Signer",
    "SigningTime",
    "SigningTimeSource",
    "Status",
    "StepResult",
]


class Status(StrEnum):
    """Outcome of one check."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    WARN = "warn"
    #: Informational: recorded, never affects the verdict.
    INFO = "info"


class CheckKind(StrEnum):
    """The kinds of check; each becomes one SARIF rule / JUnit suite."""

    LAYOUT = "layout"
    SIGNATURE = "signature"
    AUTHORIZATION = "authorization"
    THRESHOLD = "threshold"
    ARTIFACT_RULE = "artifact-rule"
    ATTRIBUTE_RULE = "attribute-rule"
    FRESHNESS = "freshness"
    SUBJECT_BINDING = "subject-binding"
    INSPECTION = "inspection"
    COMMAND = "command"
    #: The layout's delivery through TUF (rollback, freeze, signatures, target).
    TUF = "tuf"


class RejectReason(StrEnum):
    """Why an attestation did not count toward any step."""

    BAD_SIGNATURE = "bad-signature"
    UNKNOWN_SIGNER = "unknown-signer"
    UNAUTHORIZED = "signer-not-authorized"
    REVOKED = "revoked"
    OUTSIDE_VALIDITY = "outside-validity-window"
    WRONG_PAYLOAD_TYPE = "wrong-payload-type"
    MALFORMED = "malformed"
    SUBJECT_MISMATCH = "subject-mismatch"
    STALE = "stale"
    UNSUPPORTED = "unsupported"
    FAILED_RULES = "failed-rules"
    UNEXPECTED = "no-matching-step"
    DISAGREEING = "disagreeing-link"


@dataclass(frozen=True, slots=True)
class Location:
    """Where in the layout a check comes from.

    Attributes:
        file: Path of the layout file, as given.
        line: 1-based line, if known.
        pointer: JSON pointer into the layout (``/steps/1/expectedProducts/0``).
    """

    file: str
    line: int | None = None
    pointer: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {"file": self.file, "pointer": self.pointer}
        if self.line is not None:
            out["line"] = self.line
        return out


class SigningTimeSource(StrEnum):
    """Who vouches for a verified signing time."""

    #: The integrated time of a transparency-log (Rekor) entry.
    TRANSPARENCY_LOG = "transparency-log"
    #: An RFC 3161 signed timestamp from a timestamp authority.
    TIMESTAMP_AUTHORITY = "timestamp-authority"


@dataclass(frozen=True, slots=True)
class SigningTime:
    """A verified time at which a keyless attestation was signed.

    Attributes:
        time: The time (timezone-aware).
        source: What vouches for it.
    """

    time: datetime
    source: SigningTimeSource

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"time": _rfc3339(self.time), "source": self.source.value}

    @property
    def text(self) -> str:
        """``2024-10-25T03:12:16Z (transparency-log)``, for people."""
        return f"{_rfc3339(self.time)} ({self.source.value})"


@dataclass(frozen=True, slots=True)
class Signer:
    """A principal whose signature verified.

    Attributes:
        principal: The id thresholds count (distinct key material or identity).
        kind: ``key``, ``sigstore``, ``x509`` or ``gpg``.
        keyid: The key id the layout lists the key under (keys, gpg).
        identity: Certificate identity (keyless).
        issuer: OIDC issuer (keyless).
        extensions: Certificate extensions the decision read (keyless).
    """

    principal: str
    kind: str = "key"
    keyid: str | None = None
    identity: str | None = None
    issuer: str | None = None
    extensions: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short human name for reports."""
        if self.kind in ("key", "gpg") and self.keyid:
            return f"key {self.keyid[:12]}"
        if self.identity:
            return f"{self.identity} ({self.issuer})" if self.issuer else self.identity
        return self.principal

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {"principal": self.principal, "kind": self.kind}
        for name in ("keyid", "identity", "issuer"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.extensions:
            out["extensions"] = dict(sorted(self.extensions.items()))
        return out


@dataclass(frozen=True, slots=True)
class AttestationRef:
    """An attestation as the report names it.

    Attributes:
        source: Where it was read (``path`` or ``path:line``).
        digest: sha256 of the envelope bytes as read (for VSA inputs).
        predicate_type: Its predicateType, when the statement parsed.
        name: Step name claimed by the attestation (links), if any.
        signers: The principals whose signatures verified and counted.
        signing_times: Verified times of signing (keyless attestations:
            transparency-log integrated time, RFC 3161 timestamps), in
            that order; empty when the signature carries no trusted time.
    """

    source: str
    digest: str = ""
    predicate_type: str | None = None
    name: str | None = None
    signers: tuple[Signer, ...] = ()
    signing_times: tuple[SigningTime, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {"source": self.source}
        if self.digest:
            out["digest"] = {"sha256": self.digest}
        if self.predicate_type is not None:
            out["predicateType"] = self.predicate_type
        if self.name is not None:
            out["name"] = self.name
        out["signers"] = [s.to_dict() for s in self.signers]
        if self.signing_times:
            out["signingTimes"] = [t.to_dict() for t in self.signing_times]
        return out


@dataclass(frozen=True, slots=True)
class Check:
    """One evaluated check.

    Attributes:
        kind: What sort of check.
        status: Its outcome.
        message: One readable sentence; for a failure, why.
        step: The step it belongs to, if any.
        predicate_type: The expected predicate it belongs to, if any.
        rule: The rule text (artifact rule, CEL expression...), if any.
        expected: What the layout asked for (JSON-able), if meaningful.
        actual: What was found (JSON-able), if meaningful.
        details: Further JSON-able facts (rejected artifact paths, values a
            CEL expression read, the attestation it was evaluated on...).
        location: Where in the layout it comes from, if known.
    """

    kind: CheckKind
    status: Status
    message: str
    step: str | None = None
    predicate_type: str | None = None
    rule: str | None = None
    expected: Any = None
    actual: Any = None
    details: Mapping[str, Any] = field(default_factory=dict)
    location: Location | None = None

    @property
    def failed(self) -> bool:
        """Whether this check makes the verification fail."""
        return self.status is Status.FAIL

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {
            "kind": self.kind.value,
            "status": self.status.value,
            "message": self.message,
        }
        for name, key in (("step", "step"), ("predicate_type", "predicateType"), ("rule", "rule")):
            value = getattr(self, name)
            if value is not None:
                out[key] = value
        if self.expected is not None:
            out["expected"] = self.expected
        if self.actual is not None:
            out["actual"] = self.actual
        if self.details:
            out["details"] = dict(self.details)
        if self.location is not None:
            out["location"] = self.location.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class StepResult:
    """Everything evaluated for one layout step.

    Attributes:
        name: The step name.
        checks: Its checks, in evaluation order.
        attestations: The attestations that counted for it.
        location: Where the step is in the layout, if known.
    """

    name: str
    checks: tuple[Check, ...] = ()
    attestations: tuple[AttestationRef, ...] = ()
    location: Location | None = None

    @property
    def passed(self) -> bool:
        """True when none of the step's checks failed."""
        return not any(c.failed for c in self.checks)

    @property
    def principals(self) -> tuple[str, ...]:
        """Distinct principals whose attestations counted, sorted."""
        return tuple(sorted({s.principal for a in self.attestations for s in a.signers}))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {
            "name": self.name,
            "verdict": "pass" if self.passed else "fail",
            "attestations": [a.to_dict() for a in self.attestations],
            "checks": [c.to_dict() for c in self.checks],
        }
        if self.location is not None:
            out["location"] = self.location.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class RejectedAttestation:
    """An attestation that did not count, and why.

    Attributes:
        attestation: Which one.
        reason: The kind of reason.
        message: The reason in words.
        step: The step it was considered for, if any.
    """

    attestation: AttestationRef
    reason: RejectReason
    message: str
    step: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {
            "attestation": self.attestation.to_dict(),
            "reason": self.reason.value,
            "message": self.message,
        }
        if self.step is not None:
            out["step"] = self.step
        return out


@dataclass(frozen=True, slots=True)
class LayoutInfo:
    """What was verified against.

    Attributes:
        source: The layout file as given.
        digest: sha256 of the layout bytes as read.
        format: ``attestation`` (ITE-11 style) or ``classic`` (in-toto layout).
        expires: The layout's expiry, if it has one.
        signed_by: Key ids of the layout owners whose signatures verified.
        signed: Whether the layout came signed.
        verified_levels: Levels the layout declares for a pass (for a VSA).
    """

    source: str
    digest: str = ""
    format: str = "attestation"
    expires: datetime | None = None
    signed_by: tuple[str, ...] = ()
    signed: bool = False
    verified_levels: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "source": self.source,
            "digest": {"sha256": self.digest} if self.digest else {},
            "format": self.format,
            "expires": _rfc3339(self.expires) if self.expires else None,
            "signed": self.signed,
            "signedBy": list(self.signed_by),
            "verifiedLevels": list(self.verified_levels),
        }


def _rfc3339(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of one verification.

    ``bool(report)`` is the verdict: true only when no check failed anywhere.

    Attributes:
        layout: The layout verified against.
        verified_at: The reference time verification used.
        subjects: Digest sets of the artifacts bound by ``--subject`` (empty
            when no artifact was bound: the report says so as a check).
        checks: Checks that belong to no step (layout validity, subject binding).
        steps: One result per layout step, in layout order.
        rejected: Attestations that did not count, with reasons.
        parameters: Layout parameters that were substituted.
        sources: With ``verify --from``: one record per fetched source
            (``source``, ``attestations`` count), in order.
    """

    layout: LayoutInfo
    verified_at: datetime
    subjects: tuple[Mapping[str, str], ...] = ()
    checks: tuple[Check, ...] = ()
    steps: tuple[StepResult, ...] = ()
    rejected: tuple[RejectedAttestation, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[Any, ...] = ()

    def __bool__(self) -> bool:
        return self.passed

    @property
    def passed(self) -> bool:
        """The verdict."""
        return not any(c.failed for c in self.all_checks())

    @property
    def verdict(self) -> str:
        """``"pass"`` or ``"fail"``."""
        return "pass" if self.passed else "fail"

    def all_checks(self) -> Iterator[Check]:
        """Every check: global ones first, then each step's."""
        yield from self.checks
        for step in self.steps:
            yield from step.checks

    @property
    def failures(self) -> tuple[Check, ...]:
        """The failed checks, in report order."""
        return tuple(c for c in self.all_checks() if c.status is Status.FAIL)

    @property
    def warnings(self) -> tuple[Check, ...]:
        """The checks that only warned, in report order."""
        return tuple(c for c in self.all_checks() if c.status is Status.WARN)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form described by ``schemas/report.schema.json``."""
        out: dict[str, Any] = {
            "verdict": self.verdict,
            "verifiedAt": _rfc3339(self.verified_at),
            "layout": self.layout.to_dict(),
            "subjects": [dict(s) for s in self.subjects],
            "parameters": dict(self.parameters),
            "checks": [c.to_dict() for c in self.checks],
            "steps": [s.to_dict() for s in self.steps],
            "rejected": [r.to_dict() for r in self.rejected],
            "summary": {
                "failures": len(self.failures),
                "warnings": len(self.warnings),
                "steps": len(self.steps),
                "stepsPassed": sum(1 for s in self.steps if s.passed),
                "rejected": len(self.rejected),
            },
        }
        if self.sources:
            out["sources"] = [s.to_dict() for s in self.sources]
        return out
