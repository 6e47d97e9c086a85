"""Phase 6 of a verification: subject binding.

The artifact(s) being verified must be subjects of the counted evidence of
the layout's subject steps (or of some step when the layout names none). A
layout with subject steps and no artifact fails unless the caller opted out
(``--no-subject``).
"""

from __future__ import annotations

from ..report._model import (
    Check,
    CheckKind,
    Status,
)
from ._context import Context


def subject_checks(ctx: Context) -> list[Check]:
    """The subject-binding checks of the verification (after the thresholds)."""
    if not ctx.subjects:
        # A layout naming subject steps is a gate for one artifact: a
        # forgotten --subject must not open it, only an explicit opt-out.
        if ctx.layout.subject_steps and not ctx.no_subject:
            return [
                Check(
                    kind=CheckKind.SUBJECT_BINDING,
                    status=Status.FAIL,
                    message=(
                        "no artifact was bound, but the layout declares subject steps "
                        f"({', '.join(ctx.layout.subject_steps)}): give --subject or "
                        "--subject-digest, or opt out with --no-subject"
                    ),
                    details={"subjectOptOut": False},
                    location=ctx.loc("/subjectSteps"),
                )
            ]
        return [
            Check(
                kind=CheckKind.SUBJECT_BINDING,
                status=Status.INFO,
                message=(
                    "no subject bound (opted out with --no-subject): the verdict covers "
                    "the attestations, not a particular artifact"
                    if ctx.no_subject
                    else "no subject bound: the verdict covers the attestations, not a "
                    "particular artifact (use --subject)"
                ),
                details={"subjectOptOut": ctx.no_subject},
            )
        ]
    checks = []
    subjects_of = {
        name: [d for st in stmts for d in (x.digest for x in st.subject) if d is not None]
        for name, stmts in ctx.counted_statements.items()
    }
    for subj in ctx.subjects:
        if ctx.layout.subject_steps:
            missing = [
                s
                for s in ctx.layout.subject_steps
                if not any(subj.matches(d) for d in subjects_of[s])
            ]
            ok = not missing
            message = (
                f"{subj.describe()} is a subject of the accepted attestations of "
                f"{', '.join(ctx.layout.subject_steps)}"
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
                location=ctx.loc("/subjectSteps") if ctx.layout.subject_steps else None,
            )
        )
    return checks
