"""Attestation layouts: who must attest to which step, and what they must say.

The format is a superset of the in-toto attestation-verifier (ITE-11)
layout: those layouts load exactly as written. Extensions:

* functionary validity windows (``notBefore`` / ``notAfter``) and a
  layout-level ``revokedKeys`` list;
* ``maxAge`` on an expected predicate (freshness, ISO 8601 duration);
* ``subjectSteps``: the steps that produce the deployed artifact;
* step-level ``functionaries`` / ``threshold`` used by expected predicates
  that do not name their own;
* ``verifiedLevels`` for the VSA a verification can emit.

The model is pure: :func:`Layout.from_dict` validates a parsed document;
reading files happens in :mod:`intoto_policy.policy._loading`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

from .._errors import LayoutError, ParameterError, ValidationError, excerpt
from ..model._digests import DEFAULT_ACCEPTABLE, acceptable_algorithms
from ..model._time import parse_duration, parse_rfc3339
from ._cel import CompiledRule, compile_rule
from ._functionaries import Functionary, functionary_from_dict
from ._rules import ArtifactRule

__all__ = [
    "AttributeRule",
    "ExpectedPredicate",
    "Layout",
    "Step",
    "substitute_parameters",
]

_PARAM_NAME: Final = re.compile(r"^[A-Za-z0-9_-]+$")
_PARAM_REF: Final = re.compile(r"\{([A-Za-z0-9_-]+)\}")
_MAX_SUBSTITUTION_ROUNDS: Final = 32

_TOP_FIELDS: Final = frozenset(
    {
        "expires",
        "functionaries",
        "steps",
        "revokedKeys",
        "subjectSteps",
        "verifiedLevels",
        "trustedRoot",
        "digestAlgorithms",
    }
)


@dataclass(frozen=True, slots=True)
class AttributeRule:
    """A CEL rule over an attestation's ``predicate``, ``subject``, ``predicateType``, ``signer``, ``signers``.

    Attributes:
        rule: The CEL expression.
        allow_if_no_claim: Pass when a field the rule reads is absent.
        warn: A failure only warns.
        debug: Text shown when the rule fails.
        pointer: JSON pointer of the rule in the layout.
    """

    rule: str
    allow_if_no_claim: bool = False
    warn: bool = False
    debug: str = ""
    pointer: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The layout form."""
        out: dict[str, Any] = {"rule": self.rule}
        if self.allow_if_no_claim:
            out["allowIfNoClaim"] = True
        if self.warn:
            out["warn"] = True
        if self.debug:
            out["debug"] = self.debug
        return out


@dataclass(frozen=True, slots=True)
class ExpectedPredicate:
    """One kind of claim a step requires.

    Attributes:
        predicate_type: The predicateType it must have; with several
            accepted types, their names joined by `` | `` (for reports).
        predicate_types: Every predicateType it accepts (``predicateTypes``
            in the layout; one entry for ``predicateType``).
        attributes: CEL rules it must satisfy.
        functionaries: Ids of the functionaries allowed to make it.
        threshold: How many distinct functionaries must make it.
        max_age: The most its own timestamp may lag the verification time.
        pointer: JSON pointer in the layout.
    """

    predicate_type: str
    attributes: tuple[AttributeRule, ...] = ()
    functionaries: tuple[str, ...] = ()
    predicate_types: tuple[str, ...] = ()
    threshold: int = 1
    max_age: timedelta | None = None
    pointer: str = ""
    _max_age_text: str | None = field(default=None, repr=False, compare=False)
    _explicit_threshold: bool = field(default=True, repr=False, compare=False)

    def accepts(self, predicate_type: str) -> bool:
        """Whether an attestation of ``predicate_type`` can count for this predicate."""
        return predicate_type in (self.predicate_types or (self.predicate_type,))

    def to_dict(self) -> dict[str, Any]:
        """The layout form."""
        out: dict[str, Any] = (
            {"predicateTypes": list(self.predicate_types)}
            if len(self.predicate_types) > 1
            else {"predicateType": self.predicate_type}
        )
        if self.attributes:
            out["expectedAttributes"] = [a.to_dict() for a in self.attributes]
        if self.functionaries:
            out["functionaries"] = list(self.functionaries)
        if self._explicit_threshold:
            out["threshold"] = self.threshold
        if self._max_age_text is not None:
            out["maxAge"] = self._max_age_text
        return out


@dataclass(frozen=True, slots=True)
class Step:
    """A step of the supply chain.

    Attributes:
        name: The step name.
        expected_materials: Artifact rules over the step's materials.
        expected_products: Artifact rules over the step's products.
        expected_predicates: The claims the step requires.
        pointer: JSON pointer in the layout.
        digest_algorithms: The step's own ``digestAlgorithms`` (None: the layout's).
    """

    name: str
    expected_materials: tuple[ArtifactRule, ...] = ()
    expected_products: tuple[ArtifactRule, ...] = ()
    expected_predicates: tuple[ExpectedPredicate, ...] = ()
    pointer: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    digest_algorithms: frozenset[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The layout form."""
        out: dict[str, Any] = {"name": self.name}
        if self.expected_materials:
            out["expectedMaterials"] = [str(r) for r in self.expected_materials]
        if self.expected_products:
            out["expectedProducts"] = [str(r) for r in self.expected_products]
        out["expectedPredicates"] = [p.to_dict() for p in self.expected_predicates]
        if self.digest_algorithms is not None:
            out["digestAlgorithms"] = sorted(self.digest_algorithms)
        out.update(self.extra)
        return out


def _str_list(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("must be a list of strings", path=path)
    return tuple(value)


def _bool(value: Any, path: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationError("must be true or false", path=path)
    return value


def _threshold(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError("threshold must be a whole number of at least 1", path=path)
    return value


def _rules(value: Any, path: str) -> tuple[ArtifactRule, ...]:
    rules = []
    for i, text in enumerate(_str_list(value, path)):
        try:
            rules.append(ArtifactRule.parse_string(text))
        except ValidationError as exc:
            raise ValidationError(exc.problem, path=f"{path}[{i}]") from None
    return tuple(rules)


_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")


def _trusted_root(value: Any) -> tuple[str | None, str | None]:
    """``trustedRoot``: a path (legacy, binds nothing) or ``{path?, sha256}``.

    Raises:
        ValidationError: Any other shape, an unknown member, an empty path,
            or a digest that is not 64 lowercase hex digits.
    """
    if value is None:
        return None, None
    if isinstance(value, str):
        if not value:
            raise ValidationError("must not be empty", path="trustedRoot")
        return value, None
    if not isinstance(value, Mapping):
        raise ValidationError(
            "must be an object {path, sha256} (or a path string)", path="trustedRoot"
        )
    unknown = sorted(str(k) for k in value if k not in ("path", "sha256"))
    if unknown:
        raise ValidationError(
            f"unknown member(s) {', '.join(unknown)}: only path and sha256", path="trustedRoot"
        )
    path = value.get("path")
    if path is not None and (not isinstance(path, str) or not path):
        raise ValidationError("must be a non-empty string", path="trustedRoot.path")
    digest = value.get("sha256")
    if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
        raise ValidationError(
            "must be the SHA-256 of the trusted root file as 64 lowercase hex digits",
            path="trustedRoot.sha256",
        )
    return path, digest


@dataclass(frozen=True, slots=True)
class Layout:
    """An attestation layout (ITE-11 format plus extensions).

    Attributes:
        expires: When the layout stops being valid.
        functionaries: Functionaries by id.
        steps: The steps, in layout order.
        revoked_keys: Functionary ids whose signatures never count.
        subject_steps: Steps whose attestations must name the deployed artifact.
        verified_levels: Levels a passing verification vouches for (VSA).
        trusted_root: Path of a Sigstore trusted root named by the layout.
        trusted_root_sha256: SHA-256 (lowercase hex) the layout pins the
            trusted root's exact bytes to, wherever the root comes from.
        digest_algorithms: Digest algorithms artifact rules accept
            (``digestAlgorithms``; steps may override it).
        source: Where the layout was read from (for reports).
        lines: JSON pointer -> 1-based line in the source, where known.
        parameters: Parameters substituted into it.
    """

    expires: datetime
    functionaries: Mapping[str, Functionary]
    steps: tuple[Step, ...]
    revoked_keys: frozenset[str] = frozenset()
    subject_steps: tuple[str, ...] = ()
    verified_levels: tuple[str, ...] = ()
    trusted_root: str | None = None
    trusted_root_sha256: str | None = None
    digest_algorithms: frozenset[str] = DEFAULT_ACCEPTABLE
    source: str = "<layout>"
    lines: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)
    parameters: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _compiled: dict[str, CompiledRule] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        source: str = "<layout>",
        params: Mapping[str, str] | None = None,
        lines: Mapping[str, int] | None = None,
    ) -> Layout:
        """Validate a parsed layout, substitute parameters and compile its rules.

        Args:
            data: The parsed document.
            source: Its name, for reports and errors.
            params: Values for ``{name}`` parameters.
            lines: JSON pointer -> line map from the loader, for reports.

        Raises:
            ValidationError: A field is missing or malformed.
            ParameterError: A parameter is malformed, self-referential or unresolved.
            LayoutError: A rule does not compile or a reference is dangling.
        """
        if not isinstance(data, Mapping):
            raise ValidationError("a layout must be an object", source=source)
        raw = dict(data)
        try:
            if params:
                data = substitute_parameters(data, params)
            _check_unresolved(data)
            layout = cls._build(
                data, source=source, lines=lines or {}, raw=raw, params=params or {}
            )
        except (ValidationError, LayoutError) as exc:
            raise exc.with_source(source) from None
        return layout

    @classmethod
    def _build(
        cls,
        data: Mapping[str, Any],
        *,
        source: str,
        lines: Mapping[str, int],
        raw: Mapping[str, Any],
        params: Mapping[str, str],
    ) -> Layout:
        expires_text = data.get("expires")
        if not isinstance(expires_text, str):
            raise ValidationError("expires is required (an RFC 3339 time)", path="expires")
        try:
            expires = parse_rfc3339(expires_text)
        except ValidationError as exc:
            raise ValidationError(exc.problem, path="expires") from None
        funcs_raw = data.get("functionaries")
        if not isinstance(funcs_raw, Mapping):
            raise ValidationError(
                "functionaries must be an object of id -> functionary", path="functionaries"
            )
        functionaries = {
            fid: functionary_from_dict(fid, fdata, path=f"functionaries.{fid}")
            for fid, fdata in funcs_raw.items()
        }
        steps_raw = data.get("steps")
        if not isinstance(steps_raw, list) or not steps_raw:
            raise ValidationError("steps must be a non-empty list", path="steps")
        steps = tuple(_step(s, i, functionaries) for i, s in enumerate(steps_raw))
        names = [s.name for s in steps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise LayoutError(f"duplicate step names: {', '.join(dupes)}")
        revoked = _resolve_revoked(_str_list(data.get("revokedKeys"), "revokedKeys"), functionaries)
        subject_steps = _str_list(data.get("subjectSteps"), "subjectSteps")
        unknown = [s for s in subject_steps if s not in names]
        if unknown:
            raise LayoutError(f"subjectSteps names unknown steps: {', '.join(unknown)}")
        for step in steps:
            for rule in (*step.expected_materials, *step.expected_products):
                if rule.dest_name and rule.dest_name not in names:
                    raise LayoutError(
                        f"step {excerpt(step.name)}: rule {excerpt(str(rule))} matches FROM unknown step {excerpt(rule.dest_name)}"
                    )
        trusted_root, trusted_root_sha256 = _trusted_root(data.get("trustedRoot"))
        layout = cls(
            expires=expires,
            functionaries=functionaries,
            steps=steps,
            revoked_keys=frozenset(revoked),
            subject_steps=subject_steps,
            verified_levels=_str_list(data.get("verifiedLevels"), "verifiedLevels"),
            trusted_root=trusted_root,
            trusted_root_sha256=trusted_root_sha256,
            digest_algorithms=(
                acceptable_algorithms(data["digestAlgorithms"], "digestAlgorithms")
                if "digestAlgorithms" in data
                else DEFAULT_ACCEPTABLE
            ),
            source=source,
            # Copy a mutable map; the loader's LineMap is immutable and compact.
            lines=dict(lines) if isinstance(lines, MutableMapping) else lines,
            parameters=dict(params),
            raw=raw,
        )
        layout._compile_all()
        return layout

    def _compile_all(self) -> None:
        for step in self.steps:
            for pred in step.expected_predicates:
                for attr in pred.attributes:
                    if attr.rule not in self._compiled:
                        try:
                            self._compiled[attr.rule] = compile_rule(attr.rule)
                        except LayoutError as exc:
                            raise LayoutError(
                                f"step {excerpt(step.name)}: {exc.problem}", source=self.source
                            ) from None

    def compiled(self, rule: str) -> CompiledRule:
        """The compiled form of one of this layout's CEL rules."""
        return self._compiled[rule]

    def line_of(self, pointer: str) -> int | None:
        """1-based line of the value at ``pointer`` in the layout file, if known."""
        while pointer:
            if pointer in self.lines:
                return self.lines[pointer]
            pointer = pointer.rsplit("/", 1)[0]
        return self.lines.get("")

    def acceptable_for(self, step: Step) -> frozenset[str]:
        """The digest algorithms ``step``'s artifact rules accept (its own, or the layout's)."""
        return (
            step.digest_algorithms if step.digest_algorithms is not None else self.digest_algorithms
        )

    def step(self, name: str) -> Step | None:
        """The step called ``name``, if any."""
        for step in self.steps:
            if step.name == name:
                return step
        return None

    def to_dict(self) -> dict[str, Any]:
        """The layout as it was given (before parameter substitution)."""
        return dict(self.raw)

    def with_source(self, source: str) -> Layout:
        """The same layout, reported under another name."""
        return replace(self, source=source)


def _predicate_types(p: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """``predicateType``, or the accepted ``predicateTypes``: exactly one of them."""
    if "predicateTypes" in p:
        if "predicateType" in p:
            raise ValidationError("give predicateType or predicateTypes, not both", path=path)
        types = p["predicateTypes"]
        if (
            not isinstance(types, list)
            or not types
            or not all(isinstance(t, str) and t for t in types)
        ):
            raise ValidationError(
                "predicateTypes must be a non-empty list of predicate type URIs",
                path=f"{path}.predicateTypes",
            )
        if len(set(types)) != len(types):
            raise ValidationError(
                "predicateTypes lists a type twice", path=f"{path}.predicateTypes"
            )
        return tuple(types)
    ptype = p.get("predicateType")
    if not isinstance(ptype, str) or not ptype:
        raise ValidationError("predicateType (or predicateTypes) is required", path=path)
    return (ptype,)


def _step(data: Any, index: int, functionaries: Mapping[str, Functionary]) -> Step:
    path = f"steps[{index}]"
    pointer = f"/steps/{index}"
    if not isinstance(data, Mapping):
        raise ValidationError("a step must be an object", path=path)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ValidationError("a step needs a non-empty name", path=path)
    step_funcs = _str_list(data.get("functionaries"), f"{path}.functionaries")
    step_threshold = (
        _threshold(data["threshold"], f"{path}.threshold") if "threshold" in data else None
    )
    preds_raw = data.get("expectedPredicates")
    if not isinstance(preds_raw, list) or not preds_raw:
        raise ValidationError(
            "expectedPredicates must be a non-empty list", path=f"{path}.expectedPredicates"
        )
    preds = []
    for j, p in enumerate(preds_raw):
        ppath = f"{path}.expectedPredicates[{j}]"
        if not isinstance(p, Mapping):
            raise ValidationError("an expected predicate must be an object", path=ppath)
        ptypes = _predicate_types(p, ppath)
        ptype = " | ".join(ptypes)
        funcs = _str_list(p.get("functionaries"), f"{ppath}.functionaries") or step_funcs
        if not funcs:
            raise ValidationError("no functionaries are authorized for this predicate", path=ppath)
        missing = [f for f in funcs if f not in functionaries]
        if missing:
            raise LayoutError(
                f"step {excerpt(name)}: unknown functionary ids: {', '.join(missing)}"
            )
        explicit = "threshold" in p
        threshold = (
            _threshold(p["threshold"], f"{ppath}.threshold") if explicit else (step_threshold or 1)
        )
        # A threshold above the number of functionaries can never be met; it
        # is a verification failure (and a lint finding), not unreadable input.
        max_age_text = p.get("maxAge")
        max_age = None
        if max_age_text is not None:
            if not isinstance(max_age_text, str):
                raise ValidationError("maxAge must be an ISO 8601 duration", path=f"{ppath}.maxAge")
            try:
                max_age = parse_duration(max_age_text)
            except ValidationError as exc:
                raise ValidationError(exc.problem, path=f"{ppath}.maxAge") from None
        attrs_raw = p.get("expectedAttributes") or []
        if not isinstance(attrs_raw, list):
            raise ValidationError(
                "expectedAttributes must be a list", path=f"{ppath}.expectedAttributes"
            )
        attrs = []
        for k, a in enumerate(attrs_raw):
            apath = f"{ppath}.expectedAttributes[{k}]"
            if (
                not isinstance(a, Mapping)
                or not isinstance(a.get("rule"), str)
                or not a["rule"].strip()
            ):
                raise ValidationError("an attribute needs a CEL 'rule' string", path=apath)
            debug = a.get("debug", "")
            if not isinstance(debug, str):
                raise ValidationError("debug must be a string", path=apath)
            attrs.append(
                AttributeRule(
                    rule=a["rule"],
                    allow_if_no_claim=_bool(a.get("allowIfNoClaim"), apath),
                    warn=_bool(a.get("warn"), apath),
                    debug=debug,
                    pointer=f"{pointer}/expectedPredicates/{j}/expectedAttributes/{k}",
                )
            )
        preds.append(
            ExpectedPredicate(
                predicate_type=ptype,
                predicate_types=ptypes,
                attributes=tuple(attrs),
                functionaries=funcs,
                threshold=threshold,
                max_age=max_age,
                pointer=f"{pointer}/expectedPredicates/{j}",
                _max_age_text=max_age_text,
                _explicit_threshold=explicit,
            )
        )
    known = {
        "name",
        "expectedMaterials",
        "expectedProducts",
        "expectedPredicates",
        "functionaries",
        "threshold",
        "digestAlgorithms",
    }
    algorithms = (
        acceptable_algorithms(data["digestAlgorithms"], f"{path}.digestAlgorithms")
        if "digestAlgorithms" in data
        else None
    )
    return Step(
        name=name,
        expected_materials=_rules(data.get("expectedMaterials"), f"{path}.expectedMaterials"),
        expected_products=_rules(data.get("expectedProducts"), f"{path}.expectedProducts"),
        expected_predicates=tuple(preds),
        pointer=pointer,
        extra={k: v for k, v in data.items() if k not in known},
        digest_algorithms=algorithms,
    )


def _resolve_values(params: Mapping[str, str]) -> dict[str, str]:
    # Values may refer to other parameters; resolve them to a fixed point
    # first (as the attestation-verifier does), with a bound so that mutually
    # recursive parameters are an error rather than a hang.
    resolved = dict(params)
    for _ in range(_MAX_SUBSTITUTION_ROUNDS):
        changed = False
        for name, value in resolved.items():
            new = _PARAM_REF.sub(lambda m: resolved.get(m.group(1), m.group(0)), value)
            if new != value:
                resolved[name] = new
                changed = True
        if not changed:
            break
    else:
        raise ParameterError("parameters refer to each other in a cycle")
    for name, value in resolved.items():
        if any(ref in params for ref in _PARAM_REF.findall(value)):
            raise ParameterError(
                f"parameter {excerpt(name)} refers to itself through other parameters (a cycle)"
            )
    return resolved


def substitute_parameters(data: Any, params: Mapping[str, str]) -> Any:
    """Replace ``{name}`` in every string of a layout document.

    Values may refer to other parameters. A value is text, never syntax: it
    may not contain quotes, backslashes, white space or control characters
    (so it cannot end a CEL string literal or add words to an artifact
    rule), and it is inserted escaped into regular-expression fields
    (``identityRegex``, ``{regex: ...}``...).

    Raises:
        ParameterError: A name is not ``[A-Za-z0-9_-]+``, a value is not a
            string or has a forbidden character, a value refers to itself,
            or the values refer to each other in a cycle.
    """
    for name, value in params.items():
        if not _PARAM_NAME.match(name):
            raise ParameterError(
                f"invalid parameter name {excerpt(name)}: use letters, digits, '_' and '-'"
            )
        if not isinstance(value, str):
            raise ParameterError(f"parameter {excerpt(name)} must be a string")
        if f"{{{name}}}" in value:
            raise ParameterError(f"parameter {excerpt(name)} refers to itself")
        bad = sorted({ch for ch in value if ch in "'\"\\" or ch.isspace() or not ch.isprintable()})
        if bad:
            raise ParameterError(
                f"parameter {excerpt(name)} contains {', '.join(repr(c) for c in bad)}: parameter "
                "values are plain text and may not contain quotes, backslashes or white space"
            )
    resolved = _resolve_values(params)
    escaped = {name: re.escape(value) for name, value in resolved.items()}

    def sub_text(text: str, regex: bool) -> str:
        table = escaped if regex else resolved
        return _PARAM_REF.sub(lambda m: table.get(m.group(1), m.group(0)), text)

    def walk(value: Any, *, regex: bool, attrs: bool = False) -> Any:
        if isinstance(value, str):
            return sub_text(value, regex)
        if isinstance(value, list):
            return [walk(v, regex=regex, attrs=attrs) for v in value]
        if isinstance(value, Mapping):
            # Keys are ids (functionary key ids) and stay as written. A CEL
            # rule (expectedAttributes[].rule) is substituted token-aware.
            return {
                k: substitute_cel(v, resolved)
                if attrs and k == "rule" and isinstance(v, str)
                else walk(
                    v,
                    regex=k == "regex" or k.endswith("Regex"),
                    attrs=k == "expectedAttributes",
                )
                for k, v in value.items()
            }
        return value

    return walk(data, regex=False)


_CEL_TOKEN: Final = re.compile(
    r"(?P<str>(?P<pre>[rRbB]{0,2})(?P<q>'''|\"\"\"|'|\")(?P<body>(?:\\.|(?!(?P=q))[^\\])*)(?P=q))"
    r"|(?P<comment>//[^\n]*)"
    r"|(?P<param>\{[A-Za-z0-9_-]+\})"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<open>[(\[{])|(?P<close>[)\]}])|(?P<comma>,)",
    re.S,
)
_INT: Final = re.compile(r"-?[0-9]{1,18}")
_FLOAT: Final = re.compile(r"-?[0-9]{1,18}\.[0-9]{1,18}")


def _cel_string(value: str) -> str:
    """A CEL string literal whose value is exactly ``value``."""
    out = []
    for ch in value:
        if ch in "\\\"'" or not ch.isprintable() or (ch.isspace() and ch != " "):
            out.append(f"\\U{ord(ch):08x}" if ch not in "\\\"'" else "\\" + ch)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _cel_value(value: str) -> str:
    """A parameter outside a string literal: one typed literal, never syntax."""
    if _INT.fullmatch(value) or _FLOAT.fullmatch(value):
        return f"({value})"
    if value in ("true", "false"):
        return value
    return _cel_string(value)


def substitute_cel(text: str, params: Mapping[str, str]) -> str:
    """Substitute ``{name}`` in a CEL rule so that no value can change its parse tree.

    Inside a string literal the value is escaped for that literal (and, in
    the argument of ``matches``, regex-escaped first, so it matches only
    itself). Outside a literal it becomes one typed literal: an integer or
    float literal for a decimal number, ``true``/``false``, and a string
    literal otherwise. Text is never re-scanned, so a value that looks like
    ``{other}`` is inserted as written.
    """
    out: list[str] = []
    # One frame per open bracket: "regex" inside matches(...) arguments,
    # "first" before the first comma of the function form matches(s, re).
    frames: list[tuple[str, bool]] = []
    last_ident = ""
    after_dot = False
    pos = 0

    def code(chunk: str) -> str:
        return _PARAM_REF.sub(
            lambda m: _cel_value(params[m.group(1)]) if m.group(1) in params else m.group(0),
            chunk,
        )

    for token in _CEL_TOKEN.finditer(text):
        out.append(code(text[pos : token.start()]))
        pos = token.end()
        kind = token.lastgroup
        if token.group("str") is not None:
            raw = "r" in token.group("pre").lower()
            regex = bool(frames) and frames[-1][0] == "regex"

            def lit(m: re.Match[str], raw: bool = raw, regex: bool = regex) -> str:
                name = m.group(1)
                if name not in params:
                    return m.group(0)
                value = re.escape(params[name]) if regex else params[name]
                if raw:
                    if any(ch in value for ch in "'\"\\\r\n"):
                        raise ParameterError(
                            f"parameter {excerpt(name)} cannot be put in a raw CEL string literal"
                        )
                    return value
                return _cel_string(value)[1:-1]

            body = _PARAM_REF.sub(lit, token.group("body"))
            q = token.group("q")
            out.append(token.group("pre") + q + body + q)
            last_ident = ""
        elif kind == "param":
            out.append(code(token.group(0)))
            last_ident = ""
        elif kind == "comment":
            out.append(_PARAM_REF.sub(lambda m: " ", token.group(0)))
            last_ident = ""
        elif kind == "ident":
            out.append(token.group(0))
            after_dot = text[: token.start()].rstrip().endswith(".")
            last_ident = token.group(0)
            continue
        elif kind == "open":
            if last_ident == "matches" and token.group(0) == "(":
                frames.append(("regex", True) if after_dot else ("first", True))
            elif last_ident:
                frames.append(("plain", True))
            else:
                frames.append((frames[-1][0], False) if frames else ("plain", True))
            out.append(token.group(0))
            last_ident = ""
        elif kind == "close":
            if frames:
                frames.pop()
            out.append(token.group(0))
            last_ident = ""
        else:  # comma
            if frames and frames[-1] == ("first", True):
                frames[-1] = ("regex", True)
            out.append(token.group(0))
            last_ident = ""
    out.append(code(text[pos:]))
    return "".join(out)


def _check_unresolved(data: Any) -> None:
    # Anywhere in the document: a leftover {name} would silently change what
    # a rule, an identity or a key means. Names of digits only ("{40}") are
    # regular-expression repetition counts, not parameters.
    found = {name for name in parameters_used(data) if not name.isdigit()}
    if found:
        raise ParameterError(
            "unresolved layout parameters: "
            + ", ".join(sorted(found))
            + " (give them with --param NAME=VALUE or --params-file)"
        )


def parameters_used(data: Any) -> frozenset[str]:
    """Every ``{name}`` that occurs anywhere in a layout document."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.update(_PARAM_REF.findall(value))
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)

    walk(data)
    return frozenset(found)


def check_params_shape(params: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Turn ``NAME=VALUE`` pairs into a dict, rejecting duplicates.

    Raises:
        ParameterError: A name is given twice or is malformed.
    """
    out: dict[str, str] = {}
    for name, value in params:
        if not _PARAM_NAME.match(name):
            raise ParameterError(f"invalid parameter name {excerpt(name)}")
        if name in out:
            raise ParameterError(f"parameter {excerpt(name)} given twice")
        out[name] = value
    return out


def _resolve_revoked(
    entries: tuple[str, ...] | list[str], functionaries: Mapping[str, Any]
) -> set[str]:
    """The functionary ids ``revokedKeys`` designates, plus the entries themselves.

    An entry may name a functionary id, a key id under either convention, or
    a key fingerprint (sha256 over the SubjectPublicKeyInfo, optionally
    written ``SHA256:hex``). An entry that designates nothing is an error: a
    typo there would otherwise leave the key it meant counting.

    Raises:
        ValidationError: An entry designates no functionary.
    """
    resolved: set[str] = set()
    for index, entry in enumerate(entries):
        wanted = entry.removeprefix("SHA256:").removeprefix("sha256:")
        hits = {entry} if entry in functionaries else set()
        for fid, func in functionaries.items():
            key = getattr(func, "key", None)
            if key is None:
                continue
            ids = {
                key.computed_keyid("securesystemslib"),
                key.computed_keyid("legacy"),
                key.fingerprint,
            }
            if entry in ids or wanted in ids:
                hits.add(fid)
        if not hits:
            raise ValidationError(
                f"revokedKeys entry {excerpt(entry[:24])} names no functionary, key id or key fingerprint",
                path=f"revokedKeys[{index}]",
            )
        resolved |= hits
    return resolved | set(entries)
