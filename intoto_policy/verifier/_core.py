"""The attestation verifier: parsed layout + attestations + a time -> Report.

This module runs the phases in order; each phase is a module of this
package whose functions take the shared :class:`~._context.Context`:

1. ``_authenticate``: signatures and certificates against the layout's
   functionaries (keys, X.509, Sigstore, registry keys); the principal of
   each signer.
2. ``_match``: per expected predicate, the candidates: right predicate
   type, signer authorized for the step, not revoked, inside its validity
   window.
3. ``_claims``: per candidate, the subject filter, freshness (maxAge) and
   the CEL attribute rules.
4. ``_artifacts``: artifact rules; ``MATCH ... FROM step`` reads the
   artifacts of the destination step's *accepted* attestations only,
   computed as an order-independent fixed point.
5. ``_thresholds``: a step's expected predicate is met when the
   attestations that passed every check were signed by at least
   ``threshold`` distinct principals; the step results.
6. ``_subject``: the artifact(s) given are subjects of the counted evidence.

Then the attestations no step expected are rejected and the
:class:`~intoto_policy.report.Report` is built. No phase imports another;
only this module ties them together. Nothing here does I/O or reads the
clock; the reference time is a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

from .._errors import InputError, UsageError, ValidationError
from ..model._attestations import Attestation
from ..model._digests import DigestSet
from ..policy._layout import Layout
from ..report._model import (
    Check,
    CheckKind,
    LayoutInfo,
    Location,
    RejectedAttestation,
    RejectReason,
    Report,
    Status,
)
from . import _artifacts, _authenticate, _claims, _match, _subject, _thresholds
from ._context import Candidate, Context, fmt_time

if TYPE_CHECKING:
    from ..crypto._keyless import SigstoreTrustedRoot  # Sigstore only: loaded where used

__all__ = ["bind_trusted_root", "verify_attestations"]


def _run(ctx: Context, layout_info: LayoutInfo, extra_checks: Sequence[Check]) -> Report:
    """Run every phase over ``ctx`` and build the report."""
    layout = ctx.layout
    global_checks: list[Check] = list(extra_checks)
    if layout.expires <= ctx.at:
        global_checks.append(
            Check(
                kind=CheckKind.LAYOUT,
                status=Status.FAIL,
                message=f"the layout expired at {fmt_time(layout.expires)} (verification time {fmt_time(ctx.at)})",
                expected=f"expires after {fmt_time(ctx.at)}",
                actual=fmt_time(layout.expires),
                location=ctx.loc("/expires"),
            )
        )
    else:
        global_checks.append(
            Check(
                kind=CheckKind.LAYOUT,
                status=Status.PASS,
                message=f"the layout is valid until {fmt_time(layout.expires)}",
                location=ctx.loc("/expires"),
            )
        )

    authentic = _authenticate.authenticate(ctx)

    # Match and claims, per expected predicate.
    per_pred: dict[tuple[int, int], list[Candidate]] = {}
    for si, step in enumerate(layout.steps):
        for pi, pred in enumerate(step.expected_predicates):
            cands = _match.candidates(ctx, step, pred, authentic)
            for cand in cands:
                subject_check = _claims.subject_filter(ctx, step, cand)
                if subject_check is not None:
                    cand.add(subject_check)
                    continue
                fresh = _claims.freshness(ctx, step, pred, cand)
                if fresh is not None:
                    cand.add(fresh)
                cand.extend(_claims.attribute_checks(ctx, step, pred, cand))
            per_pred[(si, pi)] = cands

    artifact_results = _artifacts.accept(ctx, per_pred)
    results = _thresholds.step_results(ctx, per_pred, artifact_results)
    global_checks.extend(_subject.subject_checks(ctx))

    for auth in authentic:
        key = auth.att.source + "\0" + auth.att.digest
        if id(auth.att) not in ctx.counted and key not in ctx.rejections:
            label = auth.statement.predicate_type + (
                f" (link {auth.ref.name!r})" if auth.ref.name else ""
            )
            ctx.reject(
                auth.att,
                RejectReason.UNEXPECTED,
                f"no step of the layout expects {label} from its signers",
            )
    counted_keys = {a.source + "\0" + a.digest for a in ctx.attestations if id(a) in ctx.counted}
    rejected = [
        r
        for key, rs in sorted(ctx.rejections.items())
        if key not in counted_keys
        for r in _dedupe(rs)
    ]
    return Report(
        layout=layout_info,
        verified_at=ctx.at,
        subjects=tuple(s.to_dict() for s in ctx.subjects),
        checks=tuple(global_checks),
        steps=tuple(results),
        rejected=tuple(rejected),
        parameters=dict(layout.parameters),
    )


def _dedupe(items: list[RejectedAttestation]) -> list[RejectedAttestation]:
    seen = set()
    out = []
    for item in items:
        key = (item.reason, item.message, item.step)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


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
    ctx = Context.create(
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
    return _run(ctx, info, layout_checks)
