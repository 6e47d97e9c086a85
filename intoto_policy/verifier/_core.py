"""The attestation verifier: parsed layout + attestations + a time -> Report.

Verification runs in two phases so that every check is evaluated and no
step's result depends on evaluation order:

1. Authenticate every attestation against the layout's functionaries and
   decide, per expected predicate, which attestations are candidates
   (right predicate type, authorized and valid signer, bound subject,
   fresh, attribute rules).
2. Apply artifact rules; ``MATCH ... FROM step`` reads the artifacts of the
   destination step's *accepted* attestations only (phase 1 passed and its
   own artifact rules hold), computed as an order-independent fixed point
   (see ``_Verification.run``).

A step's expected predicate is met when the attestations that passed every
check were signed by at least ``threshold`` distinct principals. Nothing
here does I/O or reads the clock; the reference time is a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from .._errors import InputError, JSONError, LayoutError, UsageError, ValidationError
from ..crypto._keyless import KeylessResult, SigstoreTrustedRoot, verify_bundle
from ..crypto._keys import PublicKey
from ..crypto._rekor import is_key_signed, verify_keyed
from ..crypto._x509 import CertificateIdentity
from ..model._attestations import Attestation
from ..model._digests import DigestSet
from ..model._dsse import MAX_TRIAL_SIGNATURES, Envelope, KeyIndex
from ..model._statement import Statement
from ..model.predicates import view_for
from ..model.predicates._base import PredicateView
from ..policy._cel import Outcome
from ..policy._cel import bind as cel_bind
from ..policy._functionaries import (
    Functionary,
    KeyFunctionary,
    RegistryKeysFunctionary,
    SigstoreFunctionary,
    X509Functionary,
)
from ..policy._layout import ExpectedPredicate, Layout, Step
from ..policy._rules import evaluate_rules
from ..report._model import (
    AttestationRef,
    Check,
    CheckKind,
    LayoutInfo,
    Location,
    RejectedAttestation,
    RejectReason,
    Report,
    Signer,
    SigningTime,
    SigningTimeSource,
    Status,
    StepResult,
)

__all__ = ["bind_trusted_root", "verify_attestations"]

LINK_V03: Final = "https://in-toto.io/attestation/link/v0.3"

# Predicate types whose subject is the thing produced (provenance, links);
# for every other type the subject is the artifact the claim is about, so it
# is both the step's material and its product (see _artifacts_for).
_PRODUCING_PREFIXES: Final = (
    "https://slsa.dev/provenance/",
    LINK_V03,
)


@dataclass(slots=True)
class _Authentic:
    """An attestation whose signature verified under some functionary."""

    att: Attestation
    statement: Statement
    # functionary id -> signer record
    signers: dict[str, Signer]
    # Verified times of signing (keyless only); empty for key signatures.
    signing_times: tuple[SigningTime, ...]
    ref: AttestationRef
    _activation: dict[str, Any] | None = None
    _view: PredicateView | None = None
    _view_error: str | None = None

    @property
    def view(self) -> PredicateView:
        """The typed predicate view, built on first use (most checks need none).

        Raises:
            ValidationError: The predicate violates its type's schema.
        """
        if self._view is None:
            if self._view_error is not None:
                raise ValidationError(self._view_error)
            try:
                self._view = view_for(self.statement)
            except ValidationError as exc:
                self._view_error = str(exc)
                raise
        return self._view

    def activation(self) -> dict[str, Any]:
        if self._activation is None:
            self._activation = {
                "predicate": self.statement.predicate_json,
                "subject": self.statement.subject_json,
                "predicateType": self.statement.predicate_type,
            }
        return self._activation


@dataclass(slots=True)
class _Candidate:
    auth: _Authentic
    principals: dict[str, Signer]  # principal id -> signer (authorized, valid)
    checks: list[Check] = field(default_factory=list)
    failed: bool = False

    def add(self, check: Check) -> None:
        self.checks.append(check)
        self.failed = self.failed or check.failed

    def extend(self, checks: Iterable[Check]) -> None:
        for check in checks:
            self.add(check)


def _fmt(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _rank(name: str) -> tuple[bool, str]:
    # An identity names a principal more readably than a key fingerprint.
    return (name.startswith("key:"), name)


class _PrincipalLinks:
    """Which principal names stand for one principal.

    A principal is the key that made a signature. A certificate ties its key
    to an identity (Sigstore identity and issuer, or X.509 issuer and
    subject), and one identity may hold several keys (Sigstore keys are
    ephemeral), so a verified certificate links its key's name and its
    identity's name; thresholds count linked groups, each named by its
    first member in :func:`_rank` order (deterministic whatever the input
    order). Linking only merges, so it can only lower a count (fail closed).
    """

    __slots__ = ("_parent",)

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def canonical(self, name: str) -> str:
        """The name of the group ``name`` belongs to."""
        root = name
        while (up := self._parent.get(root, root)) != root:
            root = up
        while name != root:  # path compression
            name, self._parent[name] = self._parent[name], root
        return root

    def link(self, a: str, b: str) -> None:
        """Record that ``a`` and ``b`` name the same principal."""
        ra, rb = self.canonical(a), self.canonical(b)
        if ra != rb:
            keep, drop = sorted((ra, rb), key=_rank)
            self._parent[drop] = keep


class _Verification:
    def __init__(
        self,
        layout: Layout,
        attestations: Sequence[Attestation],
        *,
        subjects: Sequence[DigestSet],
        at: datetime,
        trusted_root: SigstoreTrustedRoot | None,
        progress: Callable[[int], object] | None = None,
        no_subject: bool = False,
    ) -> None:
        self.progress = progress
        self.no_subject = no_subject
        self.layout = layout
        # Locations are the same for every attestation checked against a rule.
        self._locations: dict[str, Location] = {}
        self._passes: dict[str, Check] = {}
        self.attestations = attestations
        self.subjects = tuple(subjects)
        self.at = at
        self.trusted_root = trusted_root
        self.rejections: dict[str, list[RejectedAttestation]] = {}
        self.refs: dict[int, AttestationRef] = {}
        self.counted: set[int] = set()
        self.counted_statements: dict[str, list[Statement]] = {s.name: [] for s in layout.steps}
        keys = [f for f in layout.functionaries.values() if isinstance(f, KeyFunctionary)]
        self.key_functionaries = keys
        self.keys = [f.public_key for f in keys]
        self._functionary_of = {id(kf.public_key): kf for kf in keys}
        # Key fingerprint -> (functionary id, Signer) for every id listing that
        # key; filled as keys sign, so a layout's size costs nothing per key.
        self.key_signers: dict[str, list[tuple[str, Signer]]] = {}
        # Built once: a signature naming its key (under any key-id convention)
        # then costs one verification however many keys the layout lists.
        self.key_index = KeyIndex(self.keys)
        self.x509_functionaries = [
            f for f in layout.functionaries.values() if isinstance(f, X509Functionary)
        ]
        self.sigstore_functionaries = [
            f
            for f in layout.functionaries.values()
            if isinstance(f, SigstoreFunctionary) and f.identity is not None
        ]
        self.revoked_fingerprints = {
            f.public_key.fingerprint for f in keys if f.id in layout.revoked_keys
        }
        # A revoked key is revoked under every functionary kind: also when a
        # certificate of an X.509 functionary (or Sigstore) certifies it.
        self.revoked_principals = {f"key:{fp}" for fp in self.revoked_fingerprints}
        self.links = _PrincipalLinks()

    def loc(self, pointer: str) -> Location:
        found = self._locations.get(pointer)
        if found is None:
            found = Location(
                file=self.layout.source, line=self.layout.line_of(pointer), pointer=pointer
            )
            self._locations[pointer] = found
        return found

    # -- phase 0: authentication ------------------------------------------------

    def _reject(
        self, att: Attestation, reason: RejectReason, message: str, step: str | None = None
    ) -> None:
        ref = self.refs.get(id(att)) or AttestationRef(source=att.source, digest=att.digest)
        self.rejections.setdefault(att.source + "\0" + att.digest, []).append(
            RejectedAttestation(attestation=ref, reason=reason, message=message, step=step)
        )

    def authenticate(self) -> list[_Authentic]:
        out = []
        for att in self.attestations:
            auth = self._authenticate_one(att)
            if auth is not None:
                out.append(auth)
            if self.progress is not None:
                self.progress(1)
        return out

    def _authenticate_one(self, att: Attestation) -> _Authentic | None:
        if att.problem is not None:
            self._reject(att, RejectReason.MALFORMED, att.problem)
            return None
        signers: dict[str, Signer] = {}
        signing_times: tuple[SigningTime, ...] = ()
        payload_type: str
        payload: bytes
        if att.envelope is not None:
            env = att.envelope
            payload_type, payload = env.payload_type, env.payload
            checks = env.check_signatures(self.key_index)
            for check in checks:
                for key in check.verified_by:
                    for func_id, signer in self._key_signers(key.fingerprint):
                        signers[func_id] = signer
            x509_signers, x509_problem = self._certificate_signers(att, env)
            signers.update(x509_signers)
            if not signers:
                hinted = {s.keyid for s in env.signatures if self.key_index.named(s.keyid)}
                if x509_problem:
                    self._reject(att, RejectReason.BAD_SIGNATURE, x509_problem)
                elif any(s.cert for s in env.signatures):
                    self._reject(
                        att,
                        RejectReason.UNSUPPORTED,
                        "signed with a certificate but carries no transparency-log entry or timestamp, "
                        "so the signing time cannot be established offline; it needs an online Rekor "
                        "lookup, or an X.509 functionary in the layout",
                    )
                elif hinted:
                    self._reject(
                        att,
                        RejectReason.BAD_SIGNATURE,
                        f"signature claims key {sorted(hinted)[0][:12]} of the layout but does not verify",
                    )
                else:
                    hints = ", ".join(
                        sorted({s.keyid[:12] or "<no keyid>" for s in env.signatures})
                    )
                    untried = sum(c.untried for c in checks)
                    self._reject(
                        att,
                        RejectReason.UNKNOWN_SIGNER,
                        f"no signature verifies under a key of the layout (signature key ids: {hints or 'none'})"
                        + (
                            f"; {untried} signature(s) naming no layout key were not tried, past "
                            f"the first {MAX_TRIAL_SIGNATURES}"
                            if untried
                            else ""
                        ),
                    )
                return None
        elif att.bundle is not None and is_key_signed(att.bundle.bundle_json):
            keyed = self._registry_signed(att)
            if keyed is None:
                return None
            payload_type, payload, signers, logged = keyed
            signing_times = (SigningTime(logged, SigningTimeSource.TRANSPARENCY_LOG),)
        else:
            assert att.bundle is not None
            result = self._keyless(att)
            if result is None:
                return None
            payload_type = result.payload_type or ""
            payload = result.payload or b""
            identity = result.identity
            assert identity is not None
            signing_times = _signing_times(identity)
            if identity.key_principal_id in self.revoked_principals:
                self._reject(
                    att,
                    RejectReason.REVOKED,
                    f"signed with key {identity.key_fingerprint[:12]}, which the layout revokes",
                )
                return None
            self.links.link(identity.principal_id, identity.key_principal_id)
            problems_all: list[str] = []
            for sfunc in self.sigstore_functionaries:
                if sfunc.identity is not None:
                    problems = sfunc.identity.matches(identity)
                    if problems:
                        problems_all.append(f"{sfunc.id}: {'; '.join(problems)}")
                        continue
                    signers[sfunc.id] = Signer(
                        principal=identity.principal_id,
                        kind="sigstore",
                        keyid=sfunc.id,
                        identity=identity.san,
                        issuer=identity.issuer,
                        extensions=_relevant(identity.extensions, sfunc.identity.extensions),
                    )
            if not signers:
                ref = AttestationRef(
                    source=att.source,
                    digest=att.digest,
                    signers=(
                        Signer(
                            principal=identity.principal_id,
                            kind="sigstore",
                            identity=identity.san,
                            issuer=identity.issuer,
                            extensions=_relevant(identity.extensions, {}),
                        ),
                    ),
                    signing_times=signing_times,
                )
                self.refs[id(att)] = ref
                detail = (
                    "; ".join(problems_all)
                    if problems_all
                    else "the layout lists no Sigstore identities"
                )
                self._reject(
                    att,
                    RejectReason.UNKNOWN_SIGNER,
                    f"signed by {identity.san} ({identity.issuer}), which matches no functionary: {detail}",
                )
                return None
        self.refs[id(att)] = AttestationRef(
            source=att.source,
            digest=att.digest,
            signers=tuple(signers.values()),
            signing_times=signing_times,
        )
        if payload_type != "application/vnd.in-toto+json":
            self._reject(
                att,
                RejectReason.WRONG_PAYLOAD_TYPE,
                f"payloadType is {payload_type!r}, not 'application/vnd.in-toto+json'",
            )
            return None
        try:
            statement = Envelope(payload_type, payload, ()).statement()
        except (ValidationError, JSONError) as exc:
            self._reject(att, RejectReason.MALFORMED, f"statement is malformed: {exc}")
            return None
        name = statement.predicate.get("name") if statement.predicate_type == LINK_V03 else None
        ref = AttestationRef(
            source=att.source,
            digest=att.digest,
            predicate_type=statement.predicate_type,
            name=name if isinstance(name, str) else None,
            signers=tuple(signers.values()),
            signing_times=signing_times,
        )
        self.refs[id(att)] = ref
        return _Authentic(att, statement, signers, signing_times, ref)

    def _key_signers(self, fingerprint: str) -> list[tuple[str, Signer]]:
        found = self.key_signers.get(fingerprint)
        if found is None:
            found = []
            for key in self.key_index.with_material(fingerprint):
                kf = self._functionary_of[id(key)]
                found.append((kf.id, Signer(principal=key.principal_id, kind="key", keyid=kf.id)))
            self.key_signers[fingerprint] = found
        return found

    def _certificate_signers(
        self, att: Attestation, env: Envelope
    ) -> tuple[dict[str, Signer], str | None]:
        x509s = self.x509_functionaries
        if not x509s or not any(s.cert for s in env.signatures):
            return {}, None
        from ..crypto._keyless import verify_certificate_signatures  # noqa: PLC0415

        signers: dict[str, Signer] = {}
        problems: list[str] = []
        for func in x509s:
            assert func.constraints is not None
            try:
                results = verify_certificate_signatures(
                    env, func.constraints, at=self.at, source=att.source
                )
            except ValidationError as exc:
                # A malformed certificate spoils this attestation, not the run.
                problems.append(f"{func.id}: {exc.problem}")
                continue
            for result in results:
                if not result.verified or result.identity is None:
                    problems.append(f"{func.id}: {result.reason}")
                    continue
                mismatch = func.constraints.matches(result.identity)
                if mismatch:
                    problems.append(f"{func.id}: {'; '.join(mismatch)}")
                    continue
                # The principal is the certified key (one key is one principal
                # under every functionary kind), linked to the certificate's
                # identity (one identity holding two keys is one principal).
                principal = result.identity.key_principal_id
                self.links.link(principal, result.identity.principal_id)
                held = signers.get(func.id)
                if held is not None and held.principal not in self.revoked_principals:
                    continue  # an unrevoked key of this functionary already signed
                signers[func.id] = Signer(
                    principal=principal,
                    kind="x509",
                    keyid=func.id,
                    identity=result.identity.san,
                    issuer=result.identity.certificate_issuer,
                )
        return signers, ("; ".join(problems) if problems and not signers else None)

    def _registry_signed(
        self, att: Attestation
    ) -> tuple[str, bytes, dict[str, Signer], datetime] | None:
        """Verify a key-signed bundle against the layout's registry keys."""
        assert att.bundle is not None
        funcs = [
            f for f in self.layout.functionaries.values() if isinstance(f, RegistryKeysFunctionary)
        ]
        if self.trusted_root is None:
            self._reject(
                att,
                RejectReason.UNSUPPORTED,
                "a Sigstore bundle needs a trusted root (--trusted-root or the layout's trustedRoot)",
            )
            return None
        if not funcs:
            self._reject(
                att,
                RejectReason.UNKNOWN_SIGNER,
                "key-signed bundle, and the layout lists no npmRegistryKeys functionary",
            )
            return None
        signers: dict[str, Signer] = {}
        found: tuple[str, bytes, datetime] | None = None
        problems: list[str] = []
        checks: set[str] = set()
        for func in funcs:
            result = verify_keyed(
                att.bundle.bundle_json, self.trusted_root.rekor, func.keys, at=self.at
            )
            if not result.ok or result.outcome is None:
                checks.add(result.check)
                problems.append(f"{func.id}: {result.reason}")
                continue
            out = result.outcome
            assert out.registry_key is not None
            found = (out.payload_type, out.payload, out.integrated_time)
            signers[func.id] = Signer(
                principal=PublicKey.from_crypto(out.registry_key.key).principal_id,
                kind="key",
                keyid=out.registry_key.keyid,
            )
        if found is None:
            reason = RejectReason.BAD_SIGNATURE
            if checks == {"signer-key"}:
                reason = RejectReason.UNKNOWN_SIGNER
            elif checks == {"unsupported"}:
                reason = RejectReason.UNSUPPORTED
            self._reject(att, reason, "; ".join(problems))
            return None
        return found[0], found[1], signers, found[2]

    def _keyless(self, att: Attestation) -> KeylessResult | None:
        assert att.bundle is not None
        if self.trusted_root is None:
            self._reject(
                att,
                RejectReason.UNSUPPORTED,
                "a Sigstore bundle needs a trusted root (--trusted-root or the layout's trustedRoot)",
            )
            return None
        result = verify_bundle(att.bundle, self.trusted_root, at=self.at)
        if result.status == "unsupported":
            self._reject(att, RejectReason.UNSUPPORTED, result.reason)
            return None
        if result.status != "verified":
            self._reject(att, RejectReason.BAD_SIGNATURE, result.reason)
            return None
        return result

    # -- phase 1: candidates per expected predicate ------------------------------

    def candidates(
        self, step: Step, pred: ExpectedPredicate, authentic: Sequence[_Authentic]
    ) -> list[_Candidate]:
        out = []
        allowed = set(pred.functionaries)
        for auth in authentic:
            st = auth.statement
            if st.predicate_type != pred.predicate_type:
                continue
            if st.predicate_type == LINK_V03 and auth.ref.name != step.name:
                continue
            principals: dict[str, Signer] = {}
            problems: list[tuple[RejectReason, str]] = []
            for fid, signer in auth.signers.items():
                if fid not in allowed:
                    continue
                func = self.layout.functionaries[fid]
                if fid in self.layout.revoked_keys:
                    problems.append(
                        (RejectReason.REVOKED, f"functionary {fid[:16]} is revoked by the layout")
                    )
                    continue
                if signer.principal in self.revoked_principals:
                    # The key is revoked: whichever functionary vouches for it.
                    problems.append(
                        (
                            RejectReason.REVOKED,
                            (
                                f"functionary {fid[:16]}: its key "
                                f"{signer.principal.removeprefix('key:')[:12]} is revoked by the layout"
                            ),
                        )
                    )
                    continue
                window = self._window_problem(func, auth)
                if window:
                    problems.append(
                        (RejectReason.OUTSIDE_VALIDITY, f"functionary {fid[:16]}: {window}")
                    )
                    continue
                principals.setdefault(self.links.canonical(signer.principal), signer)
            if not principals:
                if problems:
                    for reason, message in problems:
                        self._reject(auth.att, reason, message, step.name)
                else:
                    who = ", ".join(sorted(s.label for s in auth.signers.values()))
                    self._reject(
                        auth.att,
                        RejectReason.UNAUTHORIZED,
                        f"signed by {who}, which the layout does not authorize for "
                        f"{pred.predicate_type} in step {step.name!r}",
                        step.name,
                    )
                continue
            out.append(_Candidate(auth, principals))
        return out

    def _window_problem(self, func: Functionary, auth: _Authentic) -> str | None:
        if func.not_before is None and func.not_after is None:
            return None
        if auth.signing_times:
            # Every verified time must fall inside: two witnesses that
            # disagree about the window do not get the benefit of the doubt.
            for signed in auth.signing_times:
                problem = func.window_problem(signed.time, f"signing time ({signed.source.value})")
                if problem:
                    return problem
            return None
        # A key signature carries no trusted time: the key must be valid now,
        # and the predicate's own time (if any) must be inside the window too.
        problem = func.window_problem(self.at, "verification time")
        if problem:
            return problem
        try:
            ts = auth.view.timestamp()
        except ValidationError as exc:
            return f"the predicate's time cannot be read: {exc}"
        return func.window_problem(ts, "predicate time") if ts else None

    def subject_filter(self, step: Step, cand: _Candidate) -> Check | None:
        if not self.subjects or not self._binds(step):
            return None
        mine = [s.digest for s in cand.auth.statement.subject if s.digest is not None]
        missing = [d for d in self.subjects if not any(d.matches(m) for m in mine)]
        if not missing:
            return None
        return Check(
            kind=CheckKind.SUBJECT_BINDING,
            status=Status.FAIL,
            message=(
                f"attestation {cand.auth.att.source} is not about the artifact being verified "
                f"({', '.join(d.describe() for d in missing)})"
            ),
            step=step.name,
            expected=[d.to_dict() for d in missing],
            actual=[m.to_dict() for m in mine],
        )

    def _binds(self, step: Step) -> bool:
        return step.name in self.layout.subject_steps if self.layout.subject_steps else False

    def freshness(self, step: Step, pred: ExpectedPredicate, cand: _Candidate) -> Check | None:
        """The maxAge check of one candidate.

        The age is measured from the oldest time the evidence is known to
        have existed. For a keyless attestation that is its earliest
        verified signing time (log integrated time or RFC 3161 timestamp),
        which its signer cannot choose; the predicate's own claimed time
        counts only when it is older still (a claim may make evidence
        older, never fresher). A key signature carries no trusted time, so
        its age is read from the predicate's claimed time, and without one
        the age is unknown and the check fails.
        """
        if pred.max_age is None:
            return None
        loc = self.loc(pred.pointer)
        source = cand.auth.att.source
        base = {
            "kind": CheckKind.FRESHNESS,
            "step": step.name,
            "predicate_type": pred.predicate_type,
            "location": loc,
        }
        signed = min(cand.auth.signing_times, key=lambda t: t.time, default=None)
        try:
            claimed = cand.auth.view.timestamp()
        except ValidationError as exc:
            return Check(
                status=Status.FAIL,
                message=f"{source}: the predicate is malformed, so its time cannot be read: {exc}",
                **base,  # type: ignore[arg-type]
            )
        if signed is not None:
            # A verified signing time is never after ``at`` (the bundle is
            # rejected before this), so only a claim can be in the future.
            if claimed is not None and claimed < signed.time:
                ts = claimed
                basis = f"its predicate claims {_fmt(ts)}, before its signing time {signed.text}"
            else:
                ts, basis = signed.time, f"signed {signed.text}"
            details = {"basis": "predicate" if ts is claimed else signed.source.value}
        elif claimed is None:
            return Check(
                status=Status.FAIL,
                message=(
                    f"{source} has no verified signing time and its predicate no timestamp, "
                    f"so its age cannot be checked against maxAge {pred._max_age_text}"
                ),
                expected=pred._max_age_text,
                **base,  # type: ignore[arg-type]
            )
        else:
            ts = claimed
            basis = f"its predicate claims {_fmt(ts)} (a key signature carries no trusted time)"
            details = {"basis": "predicate"}
        age = self.at - ts
        if ts > self.at:
            return Check(
                status=Status.FAIL,
                message=f"{source} is dated {_fmt(ts)}, after the verification time {_fmt(self.at)}",
                expected=f"at most {pred._max_age_text} old",
                actual=_fmt(ts),
                details=details,
                **base,  # type: ignore[arg-type]
            )
        if age > pred.max_age:
            return Check(
                status=Status.FAIL,
                message=(
                    f"{source} is stale: {basis}, {_age(age)} old, "
                    f"above maxAge {pred._max_age_text}"
                ),
                expected=pred._max_age_text,
                actual=_fmt(ts),
                details=details,
                **base,  # type: ignore[arg-type]
            )
        return Check(
            status=Status.PASS,
            message=f"{source} is {_age(age)} old: {basis} (maxAge {pred._max_age_text})",
            expected=pred._max_age_text,
            actual=_fmt(ts),
            details=details,
            **base,  # type: ignore[arg-type]
        )

    def attribute_checks(
        self, step: Step, pred: ExpectedPredicate, cand: _Candidate
    ) -> list[Check]:
        checks = []
        activation = cand.auth.activation()
        try:
            bound = cel_bind(activation) if len(pred.attributes) > 1 else None
        except LayoutError:
            bound = None  # each rule then reports the conversion error itself
        for attr in pred.attributes:
            compiled = self.layout.compiled(attr.rule)
            result = compiled.evaluate(activation, bound)
            if result.outcome is Outcome.TRUE and attr.pointer in self._passes:
                checks.append(self._passes[attr.pointer])
                continue
            loc = self.loc(attr.pointer)
            common: dict[str, Any] = {
                "kind": CheckKind.ATTRIBUTE_RULE,
                "step": step.name,
                "predicate_type": pred.predicate_type,
                "rule": attr.rule,
                "location": loc,
            }
            if result.outcome is Outcome.TRUE:
                # The same passing check for every attestation: build it once.
                passed = Check(status=Status.PASS, message=f"{attr.rule} holds", **common)
                self._passes[attr.pointer] = passed
                checks.append(passed)
                continue
            if result.outcome is Outcome.MISSING and attr.allow_if_no_claim:
                checks.append(
                    Check(
                        status=Status.PASS,
                        message=f"{attr.rule}: the claim is absent and allowIfNoClaim is set",
                        details={"attestation": cand.auth.att.source, "error": result.detail},
                        **common,
                    )
                )
                continue
            why = {
                Outcome.FALSE: "is false",
                Outcome.MISSING: f"reads a field the attestation does not have ({result.detail})",
                Outcome.ERROR: f"could not be evaluated ({result.detail})",
                Outcome.NOT_BOOL: f"did not give a boolean ({result.detail})",
            }[result.outcome]
            message = f"{attr.rule} {why} for {cand.auth.att.source}"
            if attr.debug:
                message += f": {attr.debug}"
            checks.append(
                Check(
                    status=Status.WARN if attr.warn else Status.FAIL,
                    message=message,
                    expected=True,
                    actual=compiled.values_read(activation),
                    details={"attestation": cand.auth.att.source, "outcome": result.outcome.value},
                    **common,
                )
            )
        return checks

    # -- phase 2: artifact rules ---------------------------------------------------

    def artifact_checks(
        self,
        step: Step,
        cand: _Candidate,
        step_artifacts: Callable[[str], tuple[dict[str, DigestSet], dict[str, DigestSet]] | None],
    ) -> list[Check]:
        if not step.expected_materials and not step.expected_products:
            return []
        try:
            materials, products = _artifacts_for(cand.auth)
        except ValidationError as exc:
            return [
                Check(
                    kind=CheckKind.ARTIFACT_RULE,
                    status=Status.FAIL,
                    message=f"{cand.auth.att.source}: materials and products cannot be read: {exc}",
                    step=step.name,
                    location=self.loc(step.pointer),
                )
            ]
        checks = []
        for kind, rules, field_name in (
            ("materials", step.expected_materials, "expectedMaterials"),
            ("products", step.expected_products, "expectedProducts"),
        ):
            if not rules:
                continue
            result = evaluate_rules(
                rules,
                source_type=kind,  # type: ignore[arg-type]
                materials=materials,
                products=products,
                step_artifacts=step_artifacts,
                digests_equal=_digests_equal,
            )
            for i, (rule, outcome) in enumerate(zip(rules, result.outcomes, strict=True)):
                loc = self.loc(f"{step.pointer}/{field_name}/{i}")
                text = str(rule)
                if outcome.passed:
                    checks.append(
                        Check(
                            kind=CheckKind.ARTIFACT_RULE,
                            status=Status.PASS,
                            message=f"{kind}: {text} holds ({len(outcome.consumed)} consumed)",
                            step=step.name,
                            rule=text,
                            location=loc,
                        )
                    )
                else:
                    broken = sorted(outcome.failed_paths)
                    checks.append(
                        Check(
                            kind=CheckKind.ARTIFACT_RULE,
                            status=Status.FAIL,
                            message=(
                                f"{kind} of {cand.auth.att.source}: {text} rejects "
                                + (", ".join(broken[:10]) + (" ..." if len(broken) > 10 else ""))
                            ),
                            step=step.name,
                            rule=text,
                            expected=_rule_expectation(text),
                            actual=broken,
                            details={"attestation": cand.auth.att.source},
                            location=loc,
                        )
                    )
        return checks

    # -- orchestration ---------------------------------------------------------------

    def run(self, layout_info: LayoutInfo, extra_checks: Sequence[Check]) -> Report:
        layout = self.layout
        global_checks: list[Check] = list(extra_checks)
        if layout.expires <= self.at:
            global_checks.append(
                Check(
                    kind=CheckKind.LAYOUT,
                    status=Status.FAIL,
                    message=f"the layout expired at {_fmt(layout.expires)} (verification time {_fmt(self.at)})",
                    expected=f"expires after {_fmt(self.at)}",
                    actual=_fmt(layout.expires),
                    location=self.loc("/expires"),
                )
            )
        else:
            global_checks.append(
                Check(
                    kind=CheckKind.LAYOUT,
                    status=Status.PASS,
                    message=f"the layout is valid until {_fmt(layout.expires)}",
                    location=self.loc("/expires"),
                )
            )

        authentic = self.authenticate()

        # Phase 1.
        per_pred: dict[tuple[int, int], list[_Candidate]] = {}
        for si, step in enumerate(layout.steps):
            for pi, pred in enumerate(step.expected_predicates):
                cands = self.candidates(step, pred, authentic)
                for cand in cands:
                    subject_check = self.subject_filter(step, cand)
                    if subject_check is not None:
                        cand.add(subject_check)
                        continue
                    fresh = self.freshness(step, pred, cand)
                    if fresh is not None:
                        cand.add(fresh)
                    cand.extend(self.attribute_checks(step, pred, cand))
                per_pred[(si, pi)] = cands

        # Phase 2: artifact rules. ``MATCH ... FROM step`` may only read the
        # artifacts of attestations that are *accepted* for that step: they
        # passed every phase-1 check (authorized, unrevoked signer, subject,
        # freshness, attribute rules) and their own step's artifact rules.
        # Acceptance is a greatest fixed point computed in rounds, each from
        # a snapshot of the accepted sets, so no step's result depends on
        # the order of the steps:
        #   round 0: accepted = the phase-1 survivors of every step;
        #   each round evaluates every candidate's artifact rules against the
        #   artifacts of the accepted set of the previous round, and removes
        #   from it the candidates whose rules failed;
        #   stop when a round removes nothing (at most one round per
        #   candidate). A removed candidate is never re-admitted (fail
        #   closed), even though removing an attestation could resolve a
        #   digest conflict elsewhere; its reported checks are those of the
        #   round that removed it. At the end every accepted candidate passes
        #   its rules against exactly the accepted artifacts of the steps it
        #   reads.
        steps_by_name = {st.name: i for i, st in reversed(list(enumerate(layout.steps)))}
        reads: dict[int, set[str]] = {
            si: {
                rule.dest_name
                for rule in (*st.expected_materials, *st.expected_products)
                if rule.kind == "match"
            }
            for si, st in enumerate(layout.steps)
        }
        accepted: set[int] = {
            id(cand) for cands in per_pred.values() for cand in cands if not cand.failed
        }
        artifacts_cache: dict[str, tuple[dict[str, DigestSet], dict[str, DigestSet]] | None] = {}

        def step_artifacts(name: str) -> tuple[dict[str, DigestSet], dict[str, DigestSet]] | None:
            if name not in artifacts_cache:
                index = steps_by_name.get(name)
                if index is None:
                    artifacts_cache[name] = None
                    return None
                mats: list[dict[str, DigestSet]] = []
                prods: list[dict[str, DigestSet]] = []
                for pi in range(len(layout.steps[index].expected_predicates)):
                    for cand in per_pred[(index, pi)]:
                        if id(cand) not in accepted:
                            continue
                        try:
                            m, p = _artifacts_for(cand.auth)
                        except ValidationError:
                            continue  # its own artifact checks report this
                        mats.append(m)
                        prods.append(p)
                artifacts_cache[name] = (_merge(mats), _merge(prods))
            return artifacts_cache[name]

        artifact_results: dict[int, list[Check]] = {}
        frozen: set[int] = set()  # removed in some round: checks kept from then
        pending = set(range(len(layout.steps)))  # steps whose rules need (re)evaluation
        while pending:
            artifacts_cache.clear()
            removed: set[int] = set()
            changed_steps: set[str] = set()
            for si in sorted(pending):
                step = layout.steps[si]
                for pi in range(len(step.expected_predicates)):
                    for cand in per_pred[(si, pi)]:
                        if id(cand) in frozen or any(
                            c.kind is CheckKind.SUBJECT_BINDING for c in cand.checks
                        ):
                            continue
                        checks = self.artifact_checks(step, cand, step_artifacts)
                        artifact_results[id(cand)] = checks
                        if id(cand) in accepted and any(c.failed for c in checks):
                            removed.add(id(cand))
                            changed_steps.add(step.name)
            if not removed:
                break
            accepted -= removed
            frozen |= removed
            pending = {si for si, names in reads.items() if names & changed_steps}

        # Thresholds.
        results = []
        for si, step in enumerate(layout.steps):
            step_checks: list[Check] = []
            counted_refs: dict[int, AttestationRef] = {}
            for pi, pred in enumerate(step.expected_predicates):
                cands = per_pred[(si, pi)]
                for cand in cands:
                    cand.extend(artifact_results.get(id(cand), ()))
                good = [c for c in cands if not c.failed]
                principals: dict[str, Signer] = {}
                for cand in good:
                    for pid, signer in cand.principals.items():
                        principals.setdefault(pid, signer)
                met = len(principals) >= pred.threshold
                for cand in cands:
                    if cand.failed and met:
                        step_checks.extend(_as_info(cand.checks))
                        self._reject(
                            cand.auth.att,
                            _failure_reason(cand),
                            "did not count: "
                            + "; ".join(c.message for c in cand.checks if c.failed),
                            step.name,
                        )
                    else:
                        step_checks.extend(cand.checks)
                        if cand.failed:
                            self._reject(
                                cand.auth.att,
                                _failure_reason(cand),
                                "; ".join(c.message for c in cand.checks if c.failed),
                                step.name,
                            )
                    if not cand.failed:
                        self.counted.add(id(cand.auth.att))
                        self.counted_statements[step.name].append(cand.auth.statement)
                        signers = tuple(cand.principals.values())
                        ref = cand.auth.ref
                        counted_refs[id(cand.auth.att)] = (
                            ref if signers == ref.signers else replace(ref, signers=signers)
                        )
                step_checks.append(self._threshold_check(step, pred, principals, cands))
            results.append(
                StepResult(
                    name=step.name,
                    checks=tuple(step_checks),
                    attestations=tuple(counted_refs.values()),
                    location=self.loc(step.pointer),
                )
            )

        global_checks.extend(self._subject_checks())
        for auth in authentic:
            key = auth.att.source + "\0" + auth.att.digest
            if id(auth.att) not in self.counted and key not in self.rejections:
                label = auth.statement.predicate_type + (
                    f" (link {auth.ref.name!r})" if auth.ref.name else ""
                )
                self._reject(
                    auth.att,
                    RejectReason.UNEXPECTED,
                    f"no step of the layout expects {label} from its signers",
                )
        counted_keys = {
            a.source + "\0" + a.digest for a in self.attestations if id(a) in self.counted
        }
        rejected = [
            r
            for key, rs in sorted(self.rejections.items())
            if key not in counted_keys
            for r in _dedupe(rs)
        ]
        return Report(
            layout=layout_info,
            verified_at=self.at,
            subjects=tuple(s.to_dict() for s in self.subjects),
            checks=tuple(global_checks),
            steps=tuple(results),
            rejected=tuple(rejected),
            parameters=dict(layout.parameters),
        )

    def _threshold_check(
        self,
        step: Step,
        pred: ExpectedPredicate,
        principals: Mapping[str, Signer],
        cands: Sequence[_Candidate],
    ) -> Check:
        met = len(principals) >= pred.threshold
        who = sorted(s.label for s in principals.values())
        if met:
            message = (
                f"{pred.predicate_type}: {len(principals)} of {pred.threshold} required "
                f"functionaries attested ({', '.join(who)})"
            )
        elif not cands:
            message = (
                f"no {pred.predicate_type} attestation signed by an authorized functionary "
                f"for step {step.name!r} ({pred.threshold} required)"
            )
        else:
            message = (
                f"{pred.predicate_type}: threshold not met: {len(principals)} of {pred.threshold} "
                f"required distinct functionaries have an attestation that passed every check"
                + (f" ({', '.join(who)})" if who else "")
            )
        return Check(
            kind=CheckKind.THRESHOLD,
            status=Status.PASS if met else Status.FAIL,
            message=message,
            step=step.name,
            predicate_type=pred.predicate_type,
            expected=pred.threshold,
            actual=len(principals),
            details={"principals": sorted(principals), "candidates": len(cands)},
            location=self.loc(pred.pointer),
        )

    def _subject_checks(self) -> list[Check]:
        if not self.subjects:
            # A layout naming subject steps is a gate for one artifact: a
            # forgotten --subject must not open it, only an explicit opt-out.
            if self.layout.subject_steps and not self.no_subject:
                return [
                    Check(
                        kind=CheckKind.SUBJECT_BINDING,
                        status=Status.FAIL,
                        message=(
                            "no artifact was bound, but the layout declares subject steps "
                            f"({', '.join(self.layout.subject_steps)}): give --subject or "
                            "--subject-digest, or opt out with --no-subject"
                        ),
                        details={"subjectOptOut": False},
                        location=self.loc("/subjectSteps"),
                    )
                ]
            return [
                Check(
                    kind=CheckKind.SUBJECT_BINDING,
                    status=Status.INFO,
                    message=(
                        "no subject bound (opted out with --no-subject): the verdict covers "
                        "the attestations, not a particular artifact"
                        if self.no_subject
                        else "no subject bound: the verdict covers the attestations, not a "
                        "particular artifact (use --subject)"
                    ),
                    details={"subjectOptOut": self.no_subject},
                )
            ]
        checks = []
        subjects_of = {
            name: [d for st in stmts for d in (x.digest for x in st.subject) if d is not None]
            for name, stmts in self.counted_statements.items()
        }
        for subj in self.subjects:
            if self.layout.subject_steps:
                missing = [
                    s
                    for s in self.layout.subject_steps
                    if not any(subj.matches(d) for d in subjects_of[s])
                ]
                ok = not missing
                message = (
                    f"{subj.describe()} is a subject of the accepted attestations of "
                    f"{', '.join(self.layout.subject_steps)}"
                    if ok
                    else f"{subj.describe()} is not a subject of any accepted attestation of step(s) {', '.join(missing)}"
                )
            else:
                found = [s for s, ds in subjects_of.items() if any(subj.matches(d) for d in ds)]
                ok = bool(found)
                message = (
                    f"{subj.describe()} is a subject of accepted attestations of {', '.join(found)}"
                    if ok
                    else f"{subj.describe()} is not a subject of any accepted attestation"
                )
            checks.append(
                Check(
                    kind=CheckKind.SUBJECT_BINDING,
                    status=Status.PASS if ok else Status.FAIL,
                    message=message,
                    expected=subj.to_dict(),
                    location=self.loc("/subjectSteps") if self.layout.subject_steps else None,
                )
            )
        return checks


# Fulcio extensions every keyless report shows, besides those a layout constrains.
_SHOWN_EXTENSIONS: Final = (
    "sourceRepositoryURI",
    "sourceRepositoryRef",
    "sourceRepositoryDigest",
    "buildSignerURI",
    "buildTrigger",
    "runnerEnvironment",
)


def _signing_times(identity: CertificateIdentity) -> tuple[SigningTime, ...]:
    log = () if identity.integrated_time is None else (identity.integrated_time,)
    return tuple(SigningTime(t, SigningTimeSource.TRANSPARENCY_LOG) for t in log) + tuple(
        SigningTime(t, SigningTimeSource.TIMESTAMP_AUTHORITY) for t in identity.timestamps
    )


def _relevant(extensions: Mapping[str, str], constrained: Mapping[str, object]) -> dict[str, str]:
    names = set(_SHOWN_EXTENSIONS) | set(constrained)
    return {k: v for k, v in extensions.items() if k in names}


def _age(delta: Any) -> str:
    seconds = int(delta.total_seconds())
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m{seconds % 60}s"


def _as_info(checks: Iterable[Check]) -> list[Check]:
    return [
        replace(c, status=Status.INFO, message="(not counted) " + c.message) if c.failed else c
        for c in checks
    ]


def _failure_reason(cand: _Candidate) -> RejectReason:
    kinds = {c.kind for c in cand.checks if c.failed}
    if CheckKind.SUBJECT_BINDING in kinds:
        return RejectReason.SUBJECT_MISMATCH
    if CheckKind.FRESHNESS in kinds:
        return RejectReason.STALE
    return RejectReason.FAILED_RULES


def _dedupe(items: list[RejectedAttestation]) -> list[RejectedAttestation]:
    seen = set()
    out = []
    for item in items:
        key = (item.reason, item.message, item.step)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _rule_expectation(text: str) -> str:
    head = text.split(maxsplit=1)[0].upper() if text.strip() else ""
    return {
        "MATCH": "the artifacts match the named step's artifacts by digest",
        "CREATE": "the artifacts are new products (absent from materials)",
        "DELETE": "the artifacts are materials absent from products",
        "MODIFY": "the artifacts changed between materials and products",
        "DISALLOW": "no remaining artifact matches the pattern",
        "REQUIRE": "the artifact is present",
        "ALLOW": "allowed artifacts",
    }.get(head, text)


def _digests_equal(a: DigestSet, b: DigestSet) -> bool:
    return a.matches(b)


def _artifacts_for(auth: _Authentic) -> tuple[dict[str, DigestSet], dict[str, DigestSet]]:
    materials = auth.view.materials()
    products = auth.view.products()
    ptype = auth.statement.predicate_type
    if not ptype.startswith(_PRODUCING_PREFIXES):
        # A scan, test result, SBOM or VSA is about its subject: it is the
        # step's input as much as its output, so a layout may chain it with
        # either expectedMaterials (as the attestation-verifier does) or
        # expectedProducts.
        if not products:
            products = dict(materials)
        if not materials:
            materials = dict(products)
    return materials, products


def _merge(maps: Sequence[dict[str, DigestSet]]) -> dict[str, DigestSet]:
    # Several counted attestations of one step: an artifact on which they
    # disagree is left out, so no MATCH can consume it (fail closed).
    merged: dict[str, DigestSet] = {}
    conflicted: set[str] = set()
    for artifacts in maps:
        for name, digest in artifacts.items():
            if name in conflicted:
                continue
            seen = merged.get(name)
            if seen is None:
                merged[name] = digest
            elif seen != digest and not seen.matches(digest):
                conflicted.add(name)
                del merged[name]
    return merged


_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")


def bind_trusted_root(layout: Layout, root: SigstoreTrustedRoot | None) -> Check | None:
    """Check a Sigstore trusted root against the SHA-256 the layout pins.

    Every entry point goes through this one function (:func:`verify` before
    reading evidence, :func:`verify_attestations` always), so no caller can
    verify with a root the layout does not allow. The digest compared is
    the one :func:`~intoto_policy.crypto._keyless.load_trusted_root` took over the
    exact bytes it parsed; a root object without one is refused, pinned or
    not, rather than trusted.

    Returns:
        None without a root; else a passing LAYOUT check naming the root.

    Raises:
        InputError: The root records no SHA-256 of its bytes, or its SHA-256
            differs from the layout's ``trustedRoot`` digest.
    """
    if root is None:
        return None
    pinned = layout.trusted_root_sha256
    if not isinstance(root.sha256, str) or not _SHA256_HEX.fullmatch(root.sha256):
        raise InputError(
            "the trusted root records no SHA-256 of its bytes: read it with "
            "load_trusted_root (or --trusted-root)",
            source=root.source,
        )
    if pinned is not None and root.sha256 != pinned:
        raise InputError(
            f"trusted root has sha256 {root.sha256}, but the layout {layout.source} "
            f"records trustedRoot sha256 {pinned}",
            source=root.source,
        )
    how = (
        "matches the layout's trustedRoot sha256"
        if pinned is not None
        else "given out of band; the layout records no digest for it"
    )
    where = (
        Location(file=layout.source, line=layout.line_of("/trustedRoot"), pointer="/trustedRoot")
        if pinned is not None
        else None
    )
    return Check(
        kind=CheckKind.LAYOUT,
        status=Status.PASS,
        message=f"Sigstore trusted root {root.source} (sha256 {root.sha256}) {how}",
        details={"trustedRoot": {"source": root.source, "sha256": root.sha256}},
        location=where,
    )


def verify_attestations(
    layout: Layout,
    attestations: Sequence[Attestation],
    *,
    at: datetime,
    subjects: Sequence[DigestSet] = (),
    trusted_root: SigstoreTrustedRoot | None = None,
    layout_info: LayoutInfo | None = None,
    layout_checks: Sequence[Check] = (),
    progress: Callable[[int], object] | None = None,
    no_subject: bool = False,
) -> Report:
    """Verify attestations against an attestation layout.

    Args:
        layout: The layout, parameters already substituted.
        attestations: Everything found in the inputs, unparsable items included.
        at: The verification time (timezone-aware).
        subjects: Digests of the artifact(s) to bind; empty binds none.
        trusted_root: Sigstore trusted root for keyless attestations, as
            :func:`~intoto_policy.crypto._keyless.load_trusted_root` returns it; it
            must match the SHA-256 the layout's ``trustedRoot`` records, if any.
        layout_info: What the report says about the layout.
        layout_checks: Checks about the layout made by the loader (signature).
        progress: Called with 1 as each attestation is authenticated.
        no_subject: The caller explicitly binds no artifact. Without it (and
            without ``subjects``) a layout with ``subjectSteps`` fails.

    Returns:
        The report; ``bool(report)`` is the verdict.

    Raises:
        ValidationError: ``at`` is not timezone-aware.
        UsageError: ``no_subject`` is given together with ``subjects``.
        InputError: ``trusted_root`` does not match the layout's
            ``trustedRoot`` digest, or records no digest (see
            :func:`bind_trusted_root`).
    """
    if at.tzinfo is None:
        raise ValidationError("the verification time must be timezone-aware")
    if no_subject and subjects:
        raise UsageError("no_subject excludes subjects: bind an artifact or opt out, not both")
    root_check = bind_trusted_root(layout, trusted_root)
    if root_check is not None:
        layout_checks = (*layout_checks, root_check)
    run = _Verification(
        layout,
        attestations,
        subjects=subjects,
        at=at,
        trusted_root=trusted_root,
        progress=progress,
        no_subject=no_subject,
    )
    info = layout_info or LayoutInfo(
        source=layout.source, expires=layout.expires, verified_levels=layout.verified_levels
    )
    return run.run(info, layout_checks)
