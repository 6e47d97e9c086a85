"""Helpers shared by the renderers: safe text, stable JSON, versions.

Every string a renderer prints may come from an attestation an attacker
wrote (a step name, a predicate value quoted in a message, a file name).
:func:`clean` makes such text inert for terminals, XML and Markdown by
escaping control, bidirectional-override and other invisible characters,
and lone surrogates (which cannot be encoded).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from functools import cache
from typing import Any, Final

from ._model import Check, Location, Report, Signer, StepResult

__all__ = [
    "DISTRIBUTION",
    "TOOL_NAME",
    "check_location",
    "clean",
    "dump_json",
    "format_value",
    "short_principal",
    "signer_text",
    "tool_version",
]

#: The tool name every machine-readable format carries.
TOOL_NAME: Final = "intoto-policy"
#: The distribution whose metadata gives the version.
DISTRIBUTION: Final = "intoto-policy"
#: Used when the package runs from a source tree without installed metadata.
FALLBACK_VERSION: Final = "0.1.0"

# Characters that reorder or hide text (Trojan Source, CVE-2021-42574) and
# separators some viewers treat as line breaks.
_INVISIBLE: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
)
# The same, plus DEL, C1 controls, surrogates and non-characters, for JSON
# text (which can only hold them inside strings, where \\u escapes are valid).
_JSON_UNSAFE: Final = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff\ufffe\uffff]"
)


def _escape_char(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(char: str, keep_newlines: bool) -> bool:
    if char in "\n\t":
        return not keep_newlines
    if char in _INVISIBLE or char in "\ufffe\uffff":
        return True
    return unicodedata.category(char) in ("Cc", "Cs")


def clean(text: object, *, keep_newlines: bool = True) -> str:
    """Make untrusted text safe to print.

    C0/C1 control characters (ANSI escape sequences start with one), lone
    surrogates, non-characters, bidirectional overrides and line/paragraph
    separators become visible backslash escapes. Newlines and tabs are kept
    unless ``keep_newlines`` is false.

    Args:
        text: The text; anything else is converted with ``str``.
        keep_newlines: Whether ``\\n`` and ``\\t`` pass through unchanged.
    """
    value = text if isinstance(text, str) else str(text)
    if value.isascii() and value.isprintable():
        return value
    return "".join(_escape_char(c) if _unsafe(c, keep_newlines) else c for c in value)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def dump_json(value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """Serialise JSON deterministically, as safe UTF-8-encodable text.

    Non-ASCII text stays readable, but characters that could act on a
    terminal or hide text when the document is printed or viewed — DEL
    and C1 controls, bidirectional overrides, line/paragraph separators,
    non-characters — and lone surrogates (which cannot be encoded) are
    written as ``\\u`` escapes. (The standard library already escapes
    C0 controls.) Parsing the result gives back exactly ``value``.

    Raises:
        TypeError: A value is not JSON-serialisable.
        ValueError: A float is NaN or infinite.
    """
    separators = (",", ": ") if indent is not None else (",", ":")
    text = json.dumps(
        value,
        indent=indent,
        sort_keys=sort_keys,
        ensure_ascii=False,
        allow_nan=False,
        separators=separators,
    )
    return _JSON_UNSAFE.sub(_json_escape, text)


def format_value(value: Any) -> str:
    """A one-line, deterministic rendering of a JSON-able value for humans.

    Strings are shown as they are; everything else as compact JSON with
    sorted keys (so ``true``, ``null``, ``["a", "b"]``).
    """
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        return repr(value)


def short_principal(principal: str) -> str:
    """A principal id shortened for people: ``key:0123456789ab…``."""
    kind, sep, rest = principal.partition(":")
    if sep and len(rest) > 16 and all(c in "0123456789abcdef" for c in rest):
        return f"{kind}:{rest[:12]}…"
    return principal


def signer_text(signer: Signer) -> str:
    """A signer as reports show it: its label, plus the principal when it differs."""
    label = signer.label
    if signer.principal and signer.principal not in label:
        return f"{label} [{short_principal(signer.principal)}]"
    return label


def check_location(check: Check, step: StepResult | None, report: Report) -> Location:
    """The best known layout location of a check.

    The check's own location; else its step's; else the layout file itself.
    """
    if check.location is not None:
        return check.location
    if step is not None and step.location is not None:
        return step.location
    return Location(file=report.layout.source)


def steps_by_name(report: Report) -> Mapping[str, StepResult]:
    """The report's steps keyed by name (the first one wins on duplicates)."""
    out: dict[str, StepResult] = {}
    for step in report.steps:
        out.setdefault(step.name, step)
    return out


@cache
def tool_version() -> str:
    """The installed version of intoto-policy, or the source-tree constant."""
    from importlib import metadata  # noqa: PLC0415 - costly; only renderers that name the tool need it

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # pragma: no cover - source tree only
        return FALLBACK_VERSION
