"""Layout lint: every problem in a layout, not just the first.

``intoto-policy layout check`` reports schema errors with line numbers and
semantic findings: unknown functionary ids, thresholds above the number of
functionaries, ``MATCH ... FROM`` an unknown step, CEL that does not
compile, an expired layout, parameters that are never used, functionaries
whose keys are still unresolved parameters, thresholds that one functionary
matching by regular expression can meet alone, a ``trustedRoot`` named by
path without the SHA-256 that binds it, and X.509 functionaries whose CAs
could certify one person twice toward a threshold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.hashes import SHA256

from .._errors import LayoutError, ValidationError, excerpt
from ..crypto._x509 import ValuePattern
from ..model._digests import WEAK_ALGORITHMS
from ..model._time import parse_rfc3339
from ._cel import compile_rule
from ._functionaries import KeyFunctionary, X509Functionary, functionary_from_dict
from ._layout import _PARAM_REF, _resolve_revoked, parameters_used, substitute_parameters
from ._loading import validate_layout_schema
from ._rules import ArtifactRule

__all__ = ["UNRESOLVED_PARAMETER", "Finding", "lint_layout"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One lint finding.

    Attributes:
        severity: ``error`` or ``warning``.
        message: What is wrong.
        pointer: JSON pointer of the offending value.
        line: 1-based line, if known.
        code: A stable name for findings that commands act on
            (``unresolved-parameter``), else empty.
    """

    severity: str
    message: str
    pointer: str = ""
    line: int | None = None
    code: str = ""


#: The code of a functionary whose key or identity is still a ``{parameter}``.
UNRESOLVED_PARAMETER = "unresolved-parameter"


def _matches_by_regex(data: Any) -> bool:
    """Whether a functionary entry names its signers by a regular expression.

    Such a functionary is many principals: every identity the expression
    matches counts once towards a threshold.
    """
    if isinstance(data, Mapping):
        return any(
            (isinstance(k, str) and (k == "regex" or k.endswith("Regex")) and v is not None)
            or _matches_by_regex(v)
            for k, v in data.items()
        )
    if isinstance(data, list):
        return any(_matches_by_regex(v) for v in data)
    return False


def _many_principals(data: Any) -> str | None:
    """Why one functionary entry can stand for several principals, or None."""
    if _matches_by_regex(data):
        return "matches signers by regular expression"
    keys = data.get("keys") if isinstance(data, Mapping) else None
    if isinstance(keys, list) and len(keys) > 1:
        return f"lists {len(keys)} keys"
    return None


def _line(lines: Mapping[str, int], pointer: str) -> int | None:
    while True:
        if pointer in lines:
            return lines[pointer]
        if not pointer:
            return None
        pointer = pointer.rsplit("/", 1)[0]


def lint_layout(
    doc: Any,
    *,
    source: str,
    lines: Mapping[str, int],
    at: datetime,
    params: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Lint a parsed layout document.

    Args:
        doc: The parsed layout (before parameter substitution).
        source: Its name.
        lines: JSON pointer -> line map.
        at: The time against which expiry is judged.
        params: Parameter values, if the layout is to be checked with them.

    Returns:
        Findings in document order (errors and warnings).
    """
    findings: list[Finding] = []

    def add(severity: str, message: str, pointer: str, code: str = "") -> None:
        findings.append(Finding(severity, message, pointer, _line(lines, pointer), code))

    for err in validate_layout_schema(doc, source=source, lines=lines):
        add("error", f"schema: {err.problem}", "/" + err.path.replace(".", "/") if err.path else "")
    if not isinstance(doc, Mapping):
        return findings

    given = dict(params or {})
    used = parameters_used(doc)
    for value in given.values():
        used |= parameters_used(value)
    for name in sorted(set(given) - used):
        add("warning", f"parameter {excerpt(name)} is given but never used", "")
    if given:
        try:
            doc = substitute_parameters(doc, given)
        except ValidationError as exc:
            add("error", exc.problem, "")
            return findings

    expires = doc.get("expires")
    if isinstance(expires, str):
        try:
            when = parse_rfc3339(expires)
        except ValidationError as exc:
            add("error", f"expires: {exc.problem}", "/expires")
        else:
            if when <= at:
                add("error", f"the layout already expired at {expires}", "/expires")

    trusted_root = doc.get("trustedRoot")
    if isinstance(trusted_root, str) and trusted_root:
        # The layout's signature would cover the name, not the file, which
        # usually sits next to the evidence: verify refuses it unbound.
        add(
            "error",
            f"trustedRoot names {trusted_root} but records no sha256, so the layout does not "
            "bind the root: write it as {path, sha256} (the file's SHA-256); verify refuses a "
            "path alone unless the root is given with --trusted-root",
            "/trustedRoot",
        )

    funcs = doc.get("functionaries") if isinstance(doc.get("functionaries"), Mapping) else {}
    built: dict[str, Any] = {}
    for fid, fdata in funcs.items():
        if not isinstance(fid, str):
            add(
                "error",
                f"functionary id {excerpt(str(fid)[:16])} must be a string",
                "/functionaries",
            )
            continue
        unresolved = sorted(parameters_used(fdata))
        if unresolved:
            # A template: its key is chosen by whoever verifies (--param), so
            # the key cannot be checked, and a signed layout must not have it.
            # Parameter names are [A-Za-z0-9_-]+ (_PARAM_REF): safe to print as is.
            refs = ", ".join("{" + n + "}" for n in unresolved)
            add(
                "warning",
                f"functionary {fid[:16]}: unresolved parameter {refs}: give it with "
                f"--param {unresolved[0]}=VALUE, or write the key in before signing",
                f"/functionaries/{fid}",
                UNRESOLVED_PARAMETER,
            )
            continue
        try:
            built[fid] = functionary_from_dict(fid, fdata)
        except ValidationError as exc:
            add("error", f"functionary {fid[:16]}: {exc.problem}", f"/functionaries/{fid}")
    revoked = doc.get("revokedKeys") or []
    for index, rid in enumerate(revoked if isinstance(revoked, list) else []):
        if not isinstance(rid, str):
            continue
        try:
            _resolve_revoked([rid], built)
        except ValidationError as exc:
            if rid not in funcs:  # a functionary that failed to load is reported above
                add("error", exc.problem, f"/revokedKeys/{index}")

    steps = doc.get("steps") if isinstance(doc.get("steps"), list) else []
    _weak_digests(add, doc.get("digestAlgorithms"), "/digestAlgorithms")
    for i, step in enumerate(steps):
        if isinstance(step, Mapping):
            _weak_digests(add, step.get("digestAlgorithms"), f"/steps/{i}/digestAlgorithms")
    names = [s.get("name") for s in steps if isinstance(s, Mapping)]
    for name in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1}):
        add("error", f"step name {excerpt(name)} is used twice", "/steps")
    for sname in _items(doc.get("subjectSteps")):
        if isinstance(sname, str) and sname not in names:
            add("error", f"subjectSteps names unknown step {excerpt(sname)}", "/subjectSteps")

    for i, step in enumerate(steps):
        if not isinstance(step, Mapping):
            continue
        sp = f"/steps/{i}"
        label = step.get("name", f"#{i}")
        for field_name in ("expectedMaterials", "expectedProducts"):
            for j, text in enumerate(_items(step.get(field_name))):
                if not isinstance(text, str):
                    continue
                if _PARAM_REF.search(text) and not given:
                    continue
                try:
                    rule = ArtifactRule.parse_string(text)
                except ValidationError as exc:
                    add(
                        "error",
                        f"step {excerpt(label)}: rule {excerpt(text)}: {exc.problem}",
                        f"{sp}/{field_name}/{j}",
                    )
                    continue
                if rule.dest_name and rule.dest_name not in names:
                    add(
                        "error",
                        f"step {excerpt(label)}: {excerpt(text)} matches FROM unknown step {excerpt(rule.dest_name)}",
                        f"{sp}/{field_name}/{j}",
                    )
        step_funcs = _items(step.get("functionaries"))
        claimed: dict[str, int] = {}  # predicate type -> the expected predicate accepting it
        for k, pred in enumerate(_items(step.get("expectedPredicates"))):
            if not isinstance(pred, Mapping):
                continue
            pp = f"{sp}/expectedPredicates/{k}"
            types = pred.get("predicateTypes")
            if not isinstance(types, list):
                types = [pred.get("predicateType")]
            for ptype in types:
                if not isinstance(ptype, str):
                    continue
                if ptype in claimed:
                    # One attestation would then count for both predicates.
                    add(
                        "warning",
                        f"step {excerpt(label)}: predicate type {excerpt(ptype)} is accepted by "
                        f"expected predicates {claimed[ptype]} and {k}, so one attestation "
                        "counts for both",
                        pp,
                    )
                claimed.setdefault(ptype, k)
            if isinstance(pred.get("predicateTypes"), list) and len(pred["predicateTypes"]) == 1:
                add(
                    "warning",
                    f"step {excerpt(label)}: predicateTypes lists one type; write predicateType",
                    f"{pp}/predicateTypes",
                )
            # Ids that are not strings are the schema's finding; skip them here.
            fl = [
                f for f in (_items(pred.get("functionaries")) or step_funcs) if isinstance(f, str)
            ]
            for fid in fl:
                if fid not in funcs:
                    add(
                        "error",
                        f"step {excerpt(label)}: unknown functionary id {excerpt(fid)}",
                        f"{pp}/functionaries",
                    )
            threshold = pred.get("threshold", step.get("threshold", 1))
            many = {
                fid: why
                for fid in fl
                if isinstance(fid, str) and (why := _many_principals(funcs.get(fid))) is not None
            }
            if isinstance(threshold, int) and threshold > len(set(fl)) and not many:
                add(
                    "error",
                    f"step {excerpt(label)}: threshold {threshold} counts distinct principals, "
                    f"but the {len(set(fl))} functionaries listed are at most "
                    f"{len(set(fl))} principals, so it can never be met",
                    f"{pp}/threshold",
                )
            if isinstance(threshold, int) and threshold > 1:
                pair = _same_person_pair(
                    [built[f] for f in fl if isinstance(f, str) and f in built]
                )
                if pair is not None:
                    add(
                        "warning",
                        f"step {excerpt(label)}: X.509 functionaries {excerpt(pair[0])} and "
                        f"{excerpt(pair[1])} trust different CAs and their names could match one "
                        "person, whose two certificates would count as two principals toward "
                        f"threshold {threshold}: use one X.509 functionary per person, or CAs "
                        "that never certify the same person",
                        f"{pp}/functionaries",
                    )
                for fid, why in sorted(many.items()):
                    add(
                        "warning",
                        f"step {excerpt(label)}: functionary {excerpt(fid)} {why}, so "
                        f"{threshold} distinct signers it admits meet the threshold of "
                        f"{threshold} on their own",
                        f"{pp}/threshold",
                    )
            for m, attr in enumerate(_items(pred.get("expectedAttributes"))):
                rule_text = attr.get("rule") if isinstance(attr, Mapping) else None
                if not isinstance(rule_text, str):
                    continue
                if _PARAM_REF.search(rule_text) and not given:
                    add(
                        "warning",
                        f"step {excerpt(label)}: rule uses parameters ({', '.join(sorted(set(_PARAM_REF.findall(rule_text))))}); "
                        "give them with --param to check it compiles",
                        f"{pp}/expectedAttributes/{m}",
                    )
                    continue
                try:
                    compiled = compile_rule(rule_text)
                except LayoutError as exc:
                    add(
                        "error",
                        f"step {excerpt(label)}: {exc.problem}",
                        f"{pp}/expectedAttributes/{m}",
                    )
                    continue
                ptypes = pred.get("predicateTypes")
                if (
                    attr.get("allowIfNoClaim") is True
                    and isinstance(ptypes, list)
                    and len(ptypes) > 1
                    and not _tests_predicate_type(rule_text)
                ):
                    # An absent claim passes: on an attestation of another of
                    # the listed types the rule's fields are usually absent.
                    add(
                        "warning",
                        f"step {excerpt(label)}: rule {excerpt(rule_text)} sets allowIfNoClaim "
                        f"under predicateTypes with {len(ptypes)} types but does not test "
                        "predicateType, so it passes without checking anything on an "
                        "attestation of a type whose data lacks its fields: guard it, e.g. "
                        "predicateType != 'TYPE' || ...",
                        f"{pp}/expectedAttributes/{m}",
                    )
                kinds = [built[f] for f in fl if isinstance(f, str) and f in built]
                if (
                    compiled.reads_signer
                    and _SIGNED_AT.search(rule_text)
                    and kinds
                    and all(isinstance(f, KeyFunctionary | X509Functionary) for f in kinds)
                    and not attr.get("allowIfNoClaim")
                ):
                    # Only keyless and registry-key bundles carry a verified time.
                    add(
                        "warning",
                        f"step {excerpt(label)}: the rule reads signer.signedAt, but every "
                        "functionary of this predicate signs with a key or an X.509 certificate, "
                        "which carry no verified signing time: the rule always fails",
                        f"{pp}/expectedAttributes/{m}",
                    )
    findings.sort(key=lambda f: (f.line or 0, f.pointer))
    return findings


_STRING_LITERAL = re.compile(r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"")
_PREDICATE_TYPE = re.compile(r"\bpredicateType\b")


def _tests_predicate_type(rule: str) -> bool:
    """Whether a CEL rule reads the variable ``predicateType`` (not a field of that name)."""
    code = _STRING_LITERAL.sub("''", rule)
    return any(not code[: m.start()].rstrip().endswith(".") for m in _PREDICATE_TYPE.finditer(code))


def _items(value: Any) -> list[Any]:
    """``value`` if it is a list, else no items: the schema finding reports the wrong type."""
    return value if isinstance(value, list) else []


_SIGNED_AT = re.compile(r"\bsigner\s*\.\s*signedAt\b")


def _weak_digests(add: Any, names: Any, pointer: str) -> None:
    """Warn when ``digestAlgorithms`` accepts a broken algorithm (it must be named to count)."""
    if not isinstance(names, list):
        return
    for weak in sorted(WEAK_ALGORITHMS & {n for n in names if isinstance(n, str)}):
        add(
            "warning",
            f"digestAlgorithms accepts {weak}, which is broken: an artifact named by {weak} "
            "alone can be swapped for another with the same digest; keep it only for "
            "evidence that carries nothing stronger",
            pointer,
        )


def _same_person_pair(funcs: list[Any]) -> tuple[str, str] | None:
    """Two X.509 functionaries one person could satisfy with two certificates.

    The identity a certificate stands for includes its issuer, so one person
    certified by two CAs is two principals. Two functionaries are safe only
    with the same CAs, or when both require an exact, different common name
    (a CA does not certify one person under two names); a regex or no common
    name could match anyone. Linear in the number of functionaries.
    """
    x509s = [f for f in funcs if isinstance(f, X509Functionary) and f.constraints is not None]
    first_open: Any = None
    by_ca: dict[Any, Any] = {}  # CA set -> a functionary trusting it
    by_name: dict[str, dict[Any, Any]] = {}  # exact common name -> CA set -> functionary
    for func in x509s:
        constraints = func.constraints
        assert constraints is not None  # filtered above
        ca = frozenset(
            c.fingerprint(SHA256()) for c in (*constraints.roots, *constraints.intermediates)
        )
        by_ca.setdefault(ca, func)
        name = constraints.common_name
        if isinstance(name, ValuePattern):
            name = name.exact
        if name is None:
            first_open = first_open or (func, ca)
            continue
        same_name = by_name.setdefault(name, {})
        same_name.setdefault(ca, func)
        if len(same_name) > 1:
            a, b = list(same_name.values())[:2]
            return a.id, b.id
    if first_open is not None:
        func, ca = first_open
        for other_ca, other in by_ca.items():
            if other_ca != ca:
                return func.id, other.id
    return None
