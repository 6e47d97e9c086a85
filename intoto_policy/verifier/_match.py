"""Phase 2 of a verification: match authentic attestations to expected predicates.

An authentic attestation is a candidate for a step's expected predicate when
its predicate type matches (and, for a link, its name is the step's), and
at least one of its signers is a functionary the predicate authorises,
not revoked (as a functionary or as a key), and inside its validity window.
The candidate keeps the principals of those signers, linked principals
counted once.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._errors import ValidationError
from ..policy._functionaries import Functionary
from ..policy._layout import ExpectedPredicate, Step
from ..report._model import (
    RejectReason,
    Signer,
)
from ._context import LINK_V03, Authentic, Candidate, Context


def candidates(
    ctx: Context, step: Step, pred: ExpectedPredicate, authentic: Sequence[Authentic]
) -> list[Candidate]:
    """The candidates for ``pred`` of ``step`` among ``authentic``; rejects the unauthorised."""
    out = []
    allowed = set(pred.functionaries)
    for auth in authentic:
        st = auth.statement
        if not pred.accepts(st.predicate_type):
            continue
        if st.predicate_type == LINK_V03 and auth.ref.name != step.name:
            continue
        principals: dict[str, Signer] = {}
        problems: list[tuple[RejectReason, str]] = []
        for fid, signer in auth.signers.items():
            if fid not in allowed:
                continue
            func = ctx.layout.functionaries[fid]
            if fid in ctx.layout.revoked_keys:
                problems.append(
                    (RejectReason.REVOKED, f"functionary {fid[:16]} is revoked by the layout")
                )
                continue
            if signer.principal in ctx.revoked_principals:
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
            window = _window_problem(ctx, func, auth)
            if window:
                problems.append(
                    (RejectReason.OUTSIDE_VALIDITY, f"functionary {fid[:16]}: {window}")
                )
                continue
            principals.setdefault(ctx.links.canonical(signer.principal), signer)
        if not principals:
            if problems:
                for reason, message in problems:
                    ctx.reject(auth.att, reason, message, step.name)
            else:
                who = ", ".join(sorted(s.label for s in auth.signers.values()))
                ctx.reject(
                    auth.att,
                    RejectReason.UNAUTHORIZED,
                    f"signed by {who}, which the layout does not authorize for "
                    f"{st.predicate_type} in step {step.name!r}",
                    step.name,
                )
            continue
        out.append(Candidate(auth, principals))
    return out


def _window_problem(ctx: Context, func: Functionary, auth: Authentic) -> str | None:
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
    problem = func.window_problem(ctx.at, "verification time")
    if problem:
        return problem
    try:
        ts = auth.view.timestamp()
    except ValidationError as exc:
        return f"the predicate's time cannot be read: {exc}"
    return func.window_problem(ts, "predicate time") if ts else None
