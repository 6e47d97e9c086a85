"""Phase 4 of a verification: artifact rules.

``MATCH ... FROM step`` reads only the artifacts of the attestations that
are *accepted* for the named step; acceptance is a greatest fixed point
(see :func:`accept`), so no step's result depends on the order of the steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

from .._errors import ValidationError
from ..model._digests import KNOWN_ALGORITHMS, DigestSet
from ..policy._layout import Step
from ..policy._rules import evaluate_rules
from ..report._model import (
    Check,
    CheckKind,
    Status,
)
from ._context import LINK_V03, Authentic, Candidate, Context


def artifact_checks(
    ctx: Context,
    step: Step,
    cand: Candidate,
    step_artifacts: Callable[[str], tuple[dict[str, DigestSet], dict[str, DigestSet]] | None],
) -> list[Check]:
    """The artifact rules of ``step`` on ``cand``, ``MATCH`` reading ``step_artifacts``."""
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
                location=ctx.loc(step.pointer),
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
            digests_equal=_digests_equal(ctx.layout.acceptable_for(step)),
            # MODIFY needs "certainly different", not merely "not equal".
            digests_differ=_digests_differ(ctx.layout.acceptable_for(step)),
        )
        for i, (rule, outcome) in enumerate(zip(rules, result.outcomes, strict=True)):
            loc = ctx.loc(f"{step.pointer}/{field_name}/{i}")
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
                            + (f" ({outcome.note})" if outcome.note else "")
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


_PRODUCING_PREFIXES: Final = (
    "https://slsa.dev/provenance/",
    LINK_V03,
)


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


def _digests_equal(acceptable: frozenset[str]) -> Callable[[DigestSet, DigestSet], bool]:
    """Digest equality under the step's acceptable algorithms (see ``DigestSet.matches``)."""

    def equal(a: DigestSet, b: DigestSet) -> bool:
        return a.matches(b, acceptable)

    return equal


def _digests_differ(acceptable: frozenset[str]) -> Callable[[DigestSet, DigestSet], bool]:
    """Whether two digest sets certainly name different content.

    They do when an algorithm both carry, known to the spec or acceptable,
    disagrees (the same disagreement that makes ``DigestSet.matches``
    false). Sets that neither match nor differ (no shared algorithm, or
    only a short blake2b) are undecidable: MODIFY fails on them.
    """
    compared = acceptable | KNOWN_ALGORITHMS

    def differ(a: DigestSet, b: DigestSet) -> bool:
        return any(alg in b and b[alg] != value for alg, value in a.items() if alg in compared)

    return differ


def _artifacts_for(auth: Authentic) -> tuple[dict[str, DigestSet], dict[str, DigestSet]]:
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


def _merge(
    maps: Sequence[dict[str, DigestSet]], acceptable: frozenset[str]
) -> dict[str, DigestSet]:
    # Several counted attestations of one step: an artifact on which they
    # disagree is left out, so no MATCH can consume it (fail closed).
    # Otherwise its digest is the union of every algorithm any of them
    # gave: keeping only the first set would drop an algorithm on which a
    # later MATCH disagrees, and the verdict would depend on the order of
    # the attestations. "Disagree" is decided over all of them at once, so
    # it is order-independent too: two values for one algorithm (known or
    # custom: a custom name is never compared for a MATCH, but one name
    # with two values is not a single artifact), or two distinct sets that
    # share no acceptable algorithm.
    everyone: dict[str, list[DigestSet]] = {}
    for artifacts in maps:
        for name, digest in artifacts.items():
            everyone.setdefault(name, []).append(digest)
    merged: dict[str, DigestSet] = {}
    for name, digests in everyone.items():
        distinct = list(dict.fromkeys(digests))
        if len(distinct) == 1:
            merged[name] = distinct[0]
            continue
        union: dict[str, str] = {}
        agree = all(
            union.setdefault(alg, value) == value
            for digest in distinct
            for alg, value in digest.items()
        )
        if agree and all(
            first.matches(second, acceptable)
            for i, first in enumerate(distinct)
            for second in distinct[i + 1 :]
        ):
            merged[name] = DigestSet(union)
    return merged


def accept(
    ctx: Context, per_pred: Mapping[tuple[int, int], list[Candidate]]
) -> dict[int, list[Check]]:
    """The artifact checks of every candidate, by ``id(candidate)``.

    ``MATCH ... FROM step`` may only read the artifacts of attestations that
    are *accepted* for that step: they passed every earlier check
    (authorized, unrevoked signer, subject, freshness, attribute rules) and
    their own step's artifact rules. Acceptance is a greatest fixed point
    computed in rounds, each from a snapshot of the accepted sets, so no
    step's result depends on the order of the steps:

    * round 0: accepted = the survivors of the earlier checks of every step;
    * each round evaluates every candidate's artifact rules against the
      artifacts of the accepted set of the previous round, and removes from
      it the candidates whose rules failed;
    * stop when a round removes nothing (at most one round per candidate).

    A removed candidate is never re-admitted (fail closed), even though
    removing an attestation could resolve a digest conflict elsewhere; its
    reported checks are those of the round that removed it. At the end every
    accepted candidate passes its rules against exactly the accepted
    artifacts of the steps it reads. A candidate that failed subject binding
    gets no artifact checks.
    """
    layout = ctx.layout
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
            acceptable = layout.acceptable_for(layout.steps[index])
            artifacts_cache[name] = (_merge(mats, acceptable), _merge(prods, acceptable))
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
                    checks = artifact_checks(ctx, step, cand, step_artifacts)
                    artifact_results[id(cand)] = checks
                    if id(cand) in accepted and any(c.failed for c in checks):
                        removed.add(id(cand))
                        changed_steps.add(step.name)
        if not removed:
            break
        accepted -= removed
        frozen |= removed
        pending = {si for si, names in reads.items() if names & changed_steps}
    return artifact_results
