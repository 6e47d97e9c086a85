"""The one exception hierarchy of intoto_policy.

Exceptions are for input that cannot be understood (malformed JSON, a key
that does not parse, a layout that violates its schema) and for misuse of
the API. Verification outcomes are never exceptions: they are values in a
:class:`~intoto_policy.Report`.

Every error renders as one readable line: ``SOURCE: problem`` where SOURCE
names the file (or other input) when it is known.
"""

from __future__ import annotations

import reprlib
from typing import Final

__all__ = [
    "MAX_PROBLEM_CHARS",
    "MAX_QUOTED_CHARS",
    "FetchError",
    "InputError",
    "IntotoPolicyError",
    "JSONError",
    "KeyFormatError",
    "LayoutError",
    "ParameterError",
    "SchemaError",
    "SigningError",
    "UsageError",
    "ValidationError",
    "excerpt",
]

#: Longest quotation of an input value in an error message (see :func:`excerpt`).
MAX_QUOTED_CHARS: Final = 80

#: Longest ``problem`` of any error: a backstop for messages that embed input
#: some other way (a library's message, a list of names).
MAX_PROBLEM_CHARS: Final = 400

# Bounded repr of containers: never renders more than a few items, so quoting
# a million-element list costs no more than quoting a short one.
_REPR: Final = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxdict = 4
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = MAX_QUOTED_CHARS


def excerpt(value: object, limit: int = MAX_QUOTED_CHARS, *, raw: bool = False) -> str:
    """Quote an input value for an error message, at most about ``limit`` characters.

    The value is rendered as ``repr`` would; a longer rendering is cut, ending
    with an ellipsis and the original size, so a hostile input (a megabyte
    string, a huge list) can never make an error message large or slow.
    Every error message that quotes an input value goes through this; the
    ``problem`` of every :class:`IntotoPolicyError` is in addition cut to
    :data:`MAX_PROBLEM_CHARS`.

    Args:
        value: The value (a string, number, list, dict, anything).
        limit: How many characters of the rendering to keep.
        raw: Keep a string as it is instead of quoting it (for a whole
            message from a library, which may embed input).

    Returns:
        The (possibly shortened) rendering.
    """
    if raw and isinstance(value, str):
        return _clip(value, limit)
    if isinstance(value, str | bytes):
        if len(value) <= limit:
            return repr(value)
        unit = "chars" if isinstance(value, str) else "bytes"
        return f"{value[:limit]!r}… ({len(value)} {unit})"
    if isinstance(value, list | tuple | dict | set | frozenset):
        text = _REPR.repr(value)
        size = f" ({len(value)} items)"
    elif isinstance(value, int) and not isinstance(value, bool):
        # str() of a huge int is quadratic (and may be refused): count digits.
        digits = value.bit_length() * 0.30103
        if digits > limit:
            return f"an integer of about {int(digits)} digits"
        text, size = repr(value), ""
    else:
        text, size = repr(value), ""
    return _clip(text, limit, size)


def _clip(text: str, limit: int, size: str = "") -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…{size or f' ({len(text)} chars)'}"


class IntotoPolicyError(Exception):
    """Base of every error raised by intoto_policy.

    Attributes:
        problem: What is wrong, in words a user can act on.
        source: The file or input the problem is in, if known.
    """

    def __init__(self, problem: str, *, source: str | None = None) -> None:
        problem = _clip(problem, MAX_PROBLEM_CHARS)
        super().__init__(problem)
        self.problem = problem
        self.source = _clip(source, MAX_PROBLEM_CHARS) if source else source

    def with_source(self, source: str) -> IntotoPolicyError:
        """Return this error with ``source`` filled in where it was missing."""
        if self.source is None:
            self.source = _clip(source, MAX_PROBLEM_CHARS)
        return self

    def __str__(self) -> str:
        if self.source:
            return f"{self.source}: {self.problem}"
        return self.problem


class InputError(IntotoPolicyError):
    """Input that cannot be understood: the CLI's exit code 2."""


class JSONError(InputError):
    """Bytes that are not acceptable JSON (syntax, encoding, duplicates, limits)."""


class FetchError(InputError):
    """Evidence could not be fetched from a source (network, HTTP, limits, shape).

    ``source`` is the source as the user wrote it (``oci://...``, ``npm:...``).
    """


class ValidationError(InputError):
    """A document that parsed but does not satisfy its model.

    Attributes:
        path: Where in the document the problem is, as a dotted path
            (``subject[0].digest.sha256``), or ``""`` for the top level.
    """

    def __init__(self, problem: str, *, path: str = "", source: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {problem}" if path else problem, source=source)


class SchemaError(ValidationError):
    """A document that violates a JSON Schema shipped in ``schemas/``.

    Attributes:
        line: 1-based line of the offending value in the input, if known.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str = "",
        line: int | None = None,
        source: str | None = None,
    ) -> None:
        self.line = line
        super().__init__(problem, path=path, source=source)

    def __str__(self) -> str:
        base = super().__str__()
        if self.line is not None and self.source:
            return f"{self.source}:{self.line}: {self.problem}"
        return base


class KeyFormatError(InputError):
    """A key that cannot be loaded, or an unsupported key type or scheme."""


class LayoutError(InputError):
    """A layout that is structurally valid but semantically unusable."""


class ParameterError(LayoutError):
    """A layout parameter that is malformed, missing or unresolved."""


class SigningError(IntotoPolicyError):
    """Signing failed (wrong passphrase, unusable private key)."""


class UsageError(IntotoPolicyError):
    """The API or CLI was called in a way that cannot work."""
