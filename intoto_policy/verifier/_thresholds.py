"""Phase 5 of a verification: thresholds over distinct principals, and step results.

An expected predicate is met when the candidates that passed every check
were signed by at least ``threshold`` distinct principals (linked
principals count once). Candidates that failed are reported; when the
threshold is met without them their failures are informational.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from ..policy._layout import ExpectedPredicate, Step
from ..report._model import (
    AttestationRef,
    Check,
    CheckKind,
    RejectReason,
    Signer,
    Status,
    StepResult,
)
from ._context import Candidate, Context


def _threshold_check(
    ctx: Context,
    step: Step,
    pred: ExpectedPredicate,
    principals: Mapping[str, Signer],
    cands: Sequence[Candidate],
) -> Check:
    met = len(principals) >= pred.threshold
    who = ", ".join(sorted(s.label for s in principals.values()))
    # Thresholds count principals (the key or identity behind a signature),
    # not functionary entries: the message says so, on one line.
    counted = f"{len(principals)} of {pred.threshold}"
    if met:
        message = f"{pred.predicate_type}: {counted} required principals signed: {who}"
    elif not cands:
        message = (
            f"{pred.predicate_type}: threshold not met: {counted} principals; no attestation "
            f"for step {step.name!r} is signed by an authorized functionary"
        )
    else:
        message = (
            f"{pred.predicate_type}: threshold not met: {counted} principals"
            + (f" ({who}); no other" if who else "; no")
            + " authorized principal signed an attestation that passed every check"
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
        location=ctx.loc(pred.pointer),
    )


def _as_info(checks: Iterable[Check]) -> list[Check]:
    return [
        replace(c, status=Status.INFO, message="(not counted) " + c.message) if c.failed else c
        for c in checks
    ]


def _failure_reason(cand: Candidate) -> RejectReason:
    kinds = {c.kind for c in cand.checks if c.failed}
    if CheckKind.SUBJECT_BINDING in kinds:
        return RejectReason.SUBJECT_MISMATCH
    if CheckKind.FRESHNESS in kinds:
        return RejectReason.STALE
    return RejectReason.FAILED_RULES


def step_results(
    ctx: Context,
    per_pred: Mapping[tuple[int, int], list[Candidate]],
    artifact_results: Mapping[int, list[Check]],
) -> list[StepResult]:
    """The result of every step of the layout, in layout order.

    Adds each candidate's artifact checks to it, counts the distinct
    principals of the candidates that passed every check against each
    expected predicate's threshold, records the counted attestations and
    their statements in ``ctx.counted`` / ``ctx.counted_statements`` (for
    subject binding) and rejects the candidates that failed.
    """
    results = []
    for si, step in enumerate(ctx.layout.steps):
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
                    ctx.reject(
                        cand.auth.att,
                        _failure_reason(cand),
                        "did not count: " + "; ".join(c.message for c in cand.checks if c.failed),
                        step.name,
                    )
                else:
                    step_checks.extend(cand.checks)
                    if cand.failed:
                        ctx.reject(
                            cand.auth.att,
                            _failure_reason(cand),
                            "; ".join(c.message for c in cand.checks if c.failed),
                            step.name,
                        )
                if not cand.failed:
                    ctx.counted.add(id(cand.auth.att))
                    ctx.counted_statements[step.name].append(cand.auth.statement)
                    signers = tuple(cand.principals.values())
                    ref = cand.auth.ref
                    counted_refs[id(cand.auth.att)] = (
                        ref if signers == ref.signers else replace(ref, signers=signers)
                    )
            step_checks.append(_threshold_check(ctx, step, pred, principals, cands))
        results.append(
            StepResult(
                name=step.name,
                checks=tuple(step_checks),
                attestations=tuple(counted_refs.values()),
                location=ctx.loc(step.pointer),
            )
        )
    return results
