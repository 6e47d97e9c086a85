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
# Unicode categories that are invisible or act on how text is shown: controls
# (C0, DEL, C1), format characters (bidi marks and overrides, zero-width
# characters), surrogates, private use, unassigned code points (which
# include the non-characters) and line/paragraph separators.
_HIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Every JSON text is printed ASCII-safe except for visible non-ASCII
# characters; only non-ASCII characters (and DEL) need a look.
_JSON_CANDIDATE: Final = re.compile("[^\x00-\x7e]")


def _hidden(char: str) -> bool:
    """Whether a character is invisible or acts on the display (see above)."""
    return char in _INVISIBLE or unicodedata.category(char) in _HIDDEN_CATEGORIES


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
    return _hidden(char)


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
    char = match.group()
    if not _hidden(char):
        return char
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    # JSON has no escape past the BMP: write the UTF-16 surrogate pair.
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def dump_json(value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """Serialise JSON deterministically, as safe UTF-8-encodable text.

    Non-ASCII text stays readable, but characters that could act on a
    terminal or hide text when the document is printed or viewed — DEL
    and C1 controls, every format character (bidirectional marks and
    overrides, zero-width characters), line/paragraph separators,
    private-use and unassigned code points — and lone surrogates (which
    cannot be encoded) are written as ``\\u`` escapes. Every JSON document
    the CLI prints goes through here. (The standard library already escapes
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
    return (
        text if text.isascii() and "\x7f" not in text else _JSON_CANDIDATE.sub(_json_escape, text)
    )


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
