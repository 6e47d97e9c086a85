"""Phase 3 of a verification: the checks of one candidate's claims.

The subject filter (a candidate of a subject step must be about the
artifact being verified), freshness (``maxAge``, measured from the oldest
verified time) and the CEL attribute rules of the expected predicate.
"""

from __future__ import annotations

from typing import Any

from .._errors import LayoutError, ValidationError
from ..policy._cel import CompiledRule, Outcome, RuleResult
from ..policy._cel import bind as cel_bind
from ..policy._layout import ExpectedPredicate, Step
from ..report._model import (
    Check,
    CheckKind,
    Status,
)
from ._context import Candidate, Context, fmt_time


def subject_filter(ctx: Context, step: Step, cand: Candidate) -> Check | None:
    """A failed subject-binding check when ``cand`` is not about the subjects, else None."""
    if not ctx.subjects or not _binds(ctx, step):
        return None
    mine = [s.digest for s in cand.auth.statement.subject if s.digest is not None]
    missing = [d for d in ctx.subjects if not any(d.matches(m) for m in mine)]
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


def _binds(ctx: Context, step: Step) -> bool:
    return step.name in ctx.layout.subject_steps if ctx.layout.subject_steps else False


def freshness(ctx: Context, step: Step, pred: ExpectedPredicate, cand: Candidate) -> Check | None:
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
    loc = ctx.loc(pred.pointer)
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
            basis = f"its predicate claims {fmt_time(ts)}, before its signing time {signed.text}"
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
        basis = f"its predicate claims {fmt_time(ts)} (a key signature carries no trusted time)"
        details = {"basis": "predicate"}
    age = ctx.at - ts
    if ts > ctx.at:
        return Check(
            status=Status.FAIL,
            message=f"{source} is dated {fmt_time(ts)}, after the verification time {fmt_time(ctx.at)}",
            expected=f"at most {pred._max_age_text} old",
            actual=fmt_time(ts),
            details=details,
            **base,  # type: ignore[arg-type]
        )
    if age > pred.max_age:
        return Check(
            status=Status.FAIL,
            message=(
                f"{source} is stale: {basis}, {_age(age)} old, above maxAge {pred._max_age_text}"
            ),
            expected=pred._max_age_text,
            actual=fmt_time(ts),
            details=details,
            **base,  # type: ignore[arg-type]
        )
    return Check(
        status=Status.PASS,
        message=f"{source} is {_age(age)} old: {basis} (maxAge {pred._max_age_text})",
        expected=pred._max_age_text,
        actual=fmt_time(ts),
        details=details,
        **base,  # type: ignore[arg-type]
    )


def attribute_checks(
    ctx: Context, step: Step, pred: ExpectedPredicate, cand: Candidate
) -> list[Check]:
    """The CEL attribute rules of ``pred`` evaluated on ``cand`` (a passing check is shared).

    A rule that reads ``signer`` is evaluated once per authorised signer of
    the candidate (never on a signer the attestation picks): a signer for
    which it does not hold is no longer counted for this predicate, and
    the rule fails when no signer is left. Those rules settle the counted
    signers first (:func:`_settle_signers`); ``signers`` is then the
    survivors for every rule, whatever the order of the rules.
    """
    checks: list[Check] = []
    if not pred.attributes:
        return checks
    values = {pid: cand.auth.signer_value(s) for pid, s in cand.principals.items()}
    base = cand.auth.activation()
    # The rules reading ``signer`` decide first, together, which signers
    # survive; every rule (these included) then sees ``signers`` as the
    # survivors, so the outcome does not depend on the order of the rules.
    dropped_by = _settle_signers(ctx, pred, cand, values, base)
    values = {pid: v for pid, v in values.items() if pid in cand.principals}
    activation = {**base, "signers": list(values.values())}
    try:
        bound = cel_bind(activation) if len(pred.attributes) > 1 else None
    except LayoutError:
        bound = None  # each rule then reports the conversion error itself
    for index, attr in enumerate(pred.attributes):
        compiled = ctx.layout.compiled(attr.rule)
        dropped: list[str] = dropped_by.get(index, [])
        unheld: list[str] = []
        if compiled.reads_signer:
            result, activation_seen, unheld = _per_signer(
                cand, compiled, activation, values, attr.allow_if_no_claim
            )
            if unheld and not attr.warn:
                # The settled set must already agree with every enforced rule:
                # a signer dropped this late would make ``signers`` depend on
                # the order of the rules. Fail closed rather than count it.
                result = RuleResult(
                    Outcome.ERROR,
                    "internal error: the signer set was not settled "
                    f"(does not hold for {', '.join(unheld)})",
                )
        else:
            result, activation_seen = compiled.evaluate(activation, bound), activation
        if unheld and attr.warn:  # (unheld is empty when the rule held for no one)
            # A warn rule never drops a signer: it says for whom it does not hold.
            checks.append(
                Check(
                    status=Status.WARN,
                    message=(
                        f"{attr.rule} does not hold for signer(s) {', '.join(unheld)} of "
                        f"{cand.auth.att.source} (a warn rule: they still count)"
                    ),
                    details={"attestation": cand.auth.att.source, "notHeldFor": unheld},
                    kind=CheckKind.ATTRIBUTE_RULE,
                    step=step.name,
                    predicate_type=pred.predicate_type,
                    rule=attr.rule,
                    location=ctx.loc(attr.pointer),
                )
            )
            continue
        if result.outcome is Outcome.TRUE and attr.pointer in ctx.passes and not dropped:
            checks.append(ctx.passes[attr.pointer])
            continue
        loc = ctx.loc(attr.pointer)
        common: dict[str, Any] = {
            "kind": CheckKind.ATTRIBUTE_RULE,
            "step": step.name,
            "predicate_type": pred.predicate_type,
            "rule": attr.rule,
            "location": loc,
        }
        if result.outcome is Outcome.TRUE and dropped:
            checks.append(
                Check(
                    status=Status.PASS,
                    message=(
                        f"{attr.rule} holds for {len(cand.principals)} signer(s) of "
                        f"{cand.auth.att.source}; not counted, as it does not hold for them: "
                        f"{', '.join(dropped)}"
                    ),
                    details={"attestation": cand.auth.att.source, "notCounted": dropped},
                    **common,
                )
            )
            continue
        if result.outcome is Outcome.TRUE:
            # The same passing check for every attestation: build it once.
            passed = Check(status=Status.PASS, message=f"{attr.rule} holds", **common)
            ctx.passes[attr.pointer] = passed
            checks.append(passed)
            continue
        if result.outcome is Outcome.MISSING and attr.allow_if_no_claim:
            details: dict[str, Any] = {
                "attestation": cand.auth.att.source,
                "error": result.detail,
            }
            message = f"{attr.rule}: the claim is absent and allowIfNoClaim is set"
            if dropped:
                details["notCounted"] = dropped
                message += f"; not counted, as it does not hold for them: {', '.join(dropped)}"
            checks.append(Check(status=Status.PASS, message=message, details=details, **common))
            continue
        why = {
            Outcome.FALSE: "is false",
            Outcome.MISSING: f"reads a field the attestation does not have ({result.detail})",
            Outcome.ERROR: f"could not be evaluated ({result.detail})",
            Outcome.NOT_BOOL: f"did not give a boolean ({result.detail})",
        }[result.outcome]
        message = f"{attr.rule} {why} for {cand.auth.att.source}"
        if compiled.reads_signer:
            message += " (for every authorised signer)"
        if attr.debug:
            message += f": {attr.debug}"
        checks.append(
            Check(
                status=Status.WARN if attr.warn else Status.FAIL,
                message=message,
                expected=True,
                actual=compiled.values_read(activation_seen),
                details={"attestation": cand.auth.att.source, "outcome": result.outcome.value},
                **common,
            )
        )
    return checks


def _settle_signers(
    ctx: Context,
    pred: ExpectedPredicate,
    cand: Candidate,
    values: dict[str, dict[str, Any]],
    base: dict[str, Any],
) -> dict[int, list[str]]:
    """Drop the signers for which a rule reading ``signer`` does not hold.

    Rounds until nothing changes (a greatest fixed point; the set only
    shrinks, so at most one round per signer): each round evaluates every
    such rule on every surviving signer, with ``signers`` bound to the
    survivors of the previous round, and then removes from
    ``cand.principals`` each signer some rule dropped. A signer is kept by
    a rule when it holds for it, or when it reads an absent claim and
    ``allowIfNoClaim`` is set. A rule that holds for no survivor removes
    no one (the candidate fails on it afterwards) while the other rules'
    drops still apply; ``warn`` rules take no part and never drop a signer.
    At the fixed point every enforced rule holds for all survivors or for
    none, so the per-rule evaluation afterwards drops no one.

    Returns:
        The labels of the signers each rule dropped, by the rule's index.
    """
    # A warn rule only warns: it never drops a signer, so it takes no part.
    rules = [
        (index, attr, compiled)
        for index, attr in enumerate(pred.attributes)
        if not attr.warn and (compiled := ctx.layout.compiled(attr.rule)).reads_signer
    ]
    dropped_by: dict[int, list[str]] = {}
    while rules:
        survivors = [pid for pid in values if pid in cand.principals]
        activation = {**base, "signers": [values[pid] for pid in survivors]}
        drops: dict[str, None] = {}
        for index, attr, compiled in rules:
            kept = False
            failed: list[str] = []
            for pid in survivors:
                result = compiled.evaluate({**activation, "signer": values[pid]})
                if result.outcome is Outcome.TRUE or (
                    result.outcome is Outcome.MISSING and attr.allow_if_no_claim
                ):
                    kept = True
                else:
                    failed.append(pid)
            if not kept:
                # This rule fails the candidate (now or, if a later round
                # makes it hold, not): it drops no one, the others still do.
                continue
            if failed:
                dropped_by.setdefault(index, []).extend(cand.principals[p].label for p in failed)
                drops.update(dict.fromkeys(failed))
        if not drops:
            return dropped_by
        for pid in drops:
            del cand.principals[pid]
    return dropped_by


def _per_signer(
    cand: Candidate,
    compiled: CompiledRule,
    activation: dict[str, Any],
    values: dict[str, dict[str, Any]],
    allow_if_no_claim: bool,
) -> tuple[RuleResult, dict[str, Any], list[str]]:
    """Evaluate a rule reading ``signer`` once per counted signer of ``cand``.

    A signer is kept when the rule holds for it, or when it reads a claim
    the data lacks and ``allow_if_no_claim`` is set; every other signer is
    removed from ``cand.principals`` (it no longer counts), so an absent
    claim for one signer never excuses a false rule for another. Returns
    the outcome (TRUE when it held for some signer, MISSING when it only
    passed as an absent claim, else the first signer's failure), the
    activation that outcome came from, and the labels of the signers it
    does not hold for. Nothing is removed here: the counted signers were
    settled before (:func:`_settle_signers`).
    """
    held: tuple[RuleResult, dict[str, Any]] | None = None
    absent: tuple[RuleResult, dict[str, Any]] | None = None
    failed: tuple[RuleResult, dict[str, Any]] | None = None
    dropped: list[str] = []
    for pid, value in values.items():
        if pid not in cand.principals:
            continue  # dropped by an earlier rule
        seen = {**activation, "signer": value}
        result = compiled.evaluate(seen)
        if result.outcome is Outcome.TRUE:
            held = held or (result, seen)
        elif result.outcome is Outcome.MISSING and allow_if_no_claim:
            absent = absent or (result, seen)
        else:
            failed = failed or (result, seen)
            dropped.append(pid)
    kept = held or absent
    if kept is None:
        if failed is None:
            # No signer left to evaluate on: fail closed.
            return RuleResult(Outcome.ERROR, "no authorised signer is left"), activation, []
        return failed[0], failed[1], []
    return kept[0], kept[1], [cand.principals[pid].label for pid in dropped]


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
