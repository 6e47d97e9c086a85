"""CEL attribute rules: compile once per layout, evaluate per attestation.

The engine is ``cel-expr-python``, the CEL project's own runtime (cel-cpp):
it is the fastest of the Python options and follows the CEL spec. Rules see
five variables: ``predicate`` (the predicate object), ``subject`` (the list
of subject resource descriptors), ``predicateType`` (a string), ``signer``
(one authorised signer, see :data:`SIGNER_FIELDS`) and ``signers`` (the list
of every signer the layout authorises for the step). A rule that reads
``signer`` is evaluated once per authorised signer by the verifier, so the
attestation cannot choose which signer a rule sees. Every value is bound as
a CEL variable, never spliced into the expression.

Evaluation is fail-closed: only a boolean ``true`` passes. An evaluation
error is a failure, except that a rule marked ``allowIfNoClaim`` passes when
the claim is absent. Absence is decided from the data, never from the text
of the error (which can quote attacker-chosen keys): the rule's static field
paths (``predicate.a.b``, ``subject[0]``, ``predicate['k']``, outside string
literals) are resolved in the activation, and the outcome is ``MISSING``
only when evaluation failed *and* one of those paths runs into a map that
lacks the key. A null, a wrong type or a list index out of range on the way
is present data, so the error stays an ``ERROR``. A path through a
comprehension variable cannot be resolved statically, so an error there is
an ``ERROR`` too (fail closed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from .._errors import LayoutError

__all__ = ["SIGNER_FIELDS", "CompiledRule", "Outcome", "RuleResult", "bind", "compile_rule"]

#: The fields of ``signer`` (and of each item of ``signers``). A field with
#: no value for a signer is absent from its map, so reading it is an error
#: (or, under ``allowIfNoClaim``, an absent claim), never an empty string.
SIGNER_FIELDS: Final = {
    "kind": "key, sigstore, x509 or gpg",
    "principal": "the principal thresholds count (key:<sha256 of the key> or the identity)",
    "functionary": "the id of the layout's functionary that authorised the signature",
    "keyid": "the key id (key-signed attestations only)",
    "identity": "the certificate identity (Sigstore SAN, or X.509 subject)",
    "issuer": "the OIDC issuer (Sigstore) or certificate issuer (X.509)",
    "extensions": "the certificate's Fulcio extensions by name (empty map without a certificate)",
    "signedAt": (
        "the earliest verified signing time, RFC 3339 (transparency log or RFC 3161 "
        "timestamp); absent for a key signature, which carries no trusted time"
    ),
}

# String literals (raw, bytes, triple-quoted) and comments: skipped when
# looking for field paths, so that text inside them is never taken for a path.
_LITERAL: Final = re.compile(
    r"(?:[rRbB]{1,2})?(?:'''(?:\\.|[^\\])*?'''"
    r'|"""(?:\\.|[^\\])*?"""'
    r"|'(?:\\.|[^'\\\n])*'"
    r'|"(?:\\.|[^"\\\n])*"'
    r")|//[^\n]*",
    re.S,
)
_BINDS_ROOT: Final = re.compile(
    r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*"
    r"(?:predicate|subject|predicateType|signers|signer)\s*,"
)
_READS: Final = re.compile(
    r"\b(predicateType|predicate|subject|signers|signer)((?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*|\s*\[\s*(?:\d+|'[^']*'|\"[^\"]*\")\s*\])*)"
)
_STEP: Final = re.compile(r"\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*(\d+|'[^']*'|\"[^\"]*\")\s*\]")


class Outcome(StrEnum):
    """How a rule evaluated."""

    TRUE = "true"
    FALSE = "false"
    MISSING = "missing-field"
    ERROR = "error"
    NOT_BOOL = "not-a-bool"


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One evaluation.

    Attributes:
        outcome: What happened.
        detail: The error text or the non-boolean value, if any.
    """

    outcome: Outcome
    detail: str = ""


_TRUE: Final = RuleResult(Outcome.TRUE)
_FALSE: Final = RuleResult(Outcome.FALSE)


def _env() -> Any:
    from cel_expr_python import cel  # noqa: PLC0415 - heavy native module, loaded on first use

    return cel.NewEnv(
        variables={
            "predicate": cel.Type.DYN,
            "subject": cel.Type.DYN,
            "predicateType": cel.Type.STRING,
            "signer": cel.Type.DYN,
            "signers": cel.Type.DYN,
        }
    )


class _EnvHolder:
    env: Any = None
    types: Any = None


def _get_env() -> Any:
    # The environment is immutable once built; building it twice in a race
    # is harmless, so no lock is needed.
    if _EnvHolder.env is None:
        from cel_expr_python import cel  # noqa: PLC0415

        _EnvHolder.types = cel.Type
        _EnvHolder.env = _env()
    return _EnvHolder.env


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A compiled CEL expression.

    Attributes:
        text: The source expression.
    """

    text: str
    _program: Any
    #: The rule reads ``signer``: the verifier evaluates it once per signer.
    reads_signer: bool = False

    def evaluate(self, activation: Mapping[str, Any], bound: Any = None) -> RuleResult:
        """Evaluate against ``{"predicate", "subject", "predicateType"}``.

        Args:
            activation: The variables.
            bound: The same variables converted once with :func:`bind`, to
                share the conversion between the rules of one attestation.

        Never raises for an evaluation problem: it is an outcome.
        """
        try:
            value = (
                self._program.eval(bound)
                if bound is not None
                else self._program.eval(data=activation)
            )
        except (RuntimeError, ValueError, TypeError) as exc:
            return self._error(str(exc), activation)
        plain = value.value()
        # Only a bool value can be the True/False singletons; check those first.
        if plain is True:
            return _TRUE
        if plain is False:
            return _FALSE
        kind = value.type()
        types = _EnvHolder.types
        if kind == types.ERROR:
            return self._error(str(value.value()), activation)
        return RuleResult(Outcome.NOT_BOOL, f"{kind.name()} {value.plain_value()!r}"[:200])

    def _error(self, message: str, activation: Mapping[str, Any]) -> RuleResult:
        message = " ".join(message.split())
        if self.reads_absent_field(activation):
            return RuleResult(Outcome.MISSING, message)
        return RuleResult(Outcome.ERROR, message)

    def reads_absent_field(self, activation: Mapping[str, Any]) -> bool:
        """Whether a static field path of the rule names a map key the data lacks."""
        code = _LITERAL.sub(_blank, self.text)
        if _BINDS_ROOT.search(code):
            return False  # a comprehension rebinds a root name: paths are ambiguous
        for match in _READS.finditer(code):
            # Reject roots that are themselves a field (``x.predicate``).
            if not _at_root(code, match.start()):
                continue
            value: Any = activation.get(match.group(1))
            for step in _STEP.finditer(match.group(2)):
                field_name, index = step.group(1), step.group(2)
                key: Any = field_name
                if index is not None:
                    key = int(index) if index.isdigit() else index[1:-1]
                if isinstance(value, Mapping) and isinstance(key, str):
                    if key not in value:
                        # A trailing ``.name(`` is a method call, not a field.
                        if code[match.start(2) + step.end() :].lstrip().startswith("("):
                            break
                        return True
                    value = value[key]
                elif isinstance(value, list) and isinstance(key, int) and key < len(value):
                    value = value[key]
                else:
                    break  # present but null, wrong type or out of range
        return False

    def values_read(self, activation: Mapping[str, Any]) -> dict[str, Any]:
        """The values of the fields the expression refers to, for reports.

        Best effort: plain field paths (``predicate.a.b``, ``subject[0]``)
        are resolved; a path that is absent maps to ``"<absent>"``.
        """
        out: dict[str, Any] = {}
        for match in _READS.finditer(self.text):
            root, tail = match.group(1), match.group(2)
            # ``x.all(...)``, ``x.startsWith(...)``: the last name is a call, not a field.
            if self.text[match.end() :].lstrip().startswith("("):
                tail = re.sub(r"\s*\.\s*[A-Za-z_][A-Za-z0-9_]*$", "", tail)
            path = root + re.sub(r"\s+", "", tail)
            value: Any = activation.get(root)
            for step in _STEP.finditer(tail):
                field_name, index = step.group(1), step.group(2)
                if field_name is not None and isinstance(value, Mapping) and field_name in value:
                    value = value[field_name]
                elif (
                    index is not None
                    and index.isdigit()
                    and isinstance(value, list)
                    and int(index) < len(value)
                ):
                    value = value[int(index)]
                elif (
                    index is not None
                    and not index.isdigit()
                    and isinstance(value, Mapping)
                    and index[1:-1] in value
                ):
                    value = value[index[1:-1]]
                else:
                    value = "<absent>"
                    break
            out[path] = _shorten(value)
        return out


def _blank(match: re.Match[str]) -> str:
    """Hide a literal or comment from path extraction, except a ``['key']`` index."""
    text = match.group(0)
    if text.startswith("//"):
        return ""
    if match.string[: match.start()].rstrip().endswith("[") and "\\" not in text:
        return text
    return "0"


def _shorten(value: Any) -> Any:
    text = repr(value)
    if len(text) > 300:
        return text[:297] + "..."
    return value


def bind(activation: Mapping[str, Any]) -> Any:
    """Convert the variables once for several rules (see :meth:`CompiledRule.evaluate`).

    Raises:
        LayoutError: The variables cannot be converted to CEL values.
    """
    try:
        return _get_env().Activation(data=activation)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise LayoutError(f"attestation data cannot be given to CEL: {exc}") from None


def compile_rule(text: str) -> CompiledRule:
    """Compile a CEL rule once; the result is thread-safe to evaluate.

    Raises:
        LayoutError: The expression does not parse or type-check.
    """
    try:
        program = _get_env().compile(text)
    except (RuntimeError, ValueError, TypeError) as exc:
        detail = " ".join(str(exc).split())
        raise LayoutError(f"CEL rule {text!r} does not compile: {detail}") from None
    code = _LITERAL.sub(_blank, text)
    reads_signer = any(
        m.group(1) == "signer" and _at_root(code, m.start()) for m in _READS.finditer(code)
    )
    return CompiledRule(text=text, _program=program, reads_signer=reads_signer)


# What may stand before a root-scope ``.name`` (CEL's leading dot): nothing,
# or an operator or opening bracket, never an operand whose field it would be.
_BEFORE_ROOT_DOT: Final = frozenset("([{,!-+*/%<>=&|?:")


def _at_root(code: str, start: int) -> bool:
    """Whether the identifier at ``start`` names a variable, not a field.

    ``x.signer`` is a field of ``x``; ``signer`` and ``.signer`` (CEL's
    root-scope form, at the start or after an operator) read the variable.
    """
    before = code[:start].rstrip()
    if not before.endswith("."):
        return True
    operand = before[:-1].rstrip()
    return not operand or operand[-1] in _BEFORE_ROOT_DOT
