"""The one exception hierarchy of intoto_policy.

Exceptions are for input that cannot be understood (malformed JSON, a key
that does not parse, a layout that violates its schema) and for misuse of
the API. Verification outcomes are never exceptions: they are values in a
:class:`~intoto_policy.Report`.

Every error renders as one readable line: ``SOURCE: problem`` where SOURCE
names the file (or other input) when it is known.
"""

from __future__ import annotations

__all__ = [
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
]


class IntotoPolicyError(Exception):
    """Base of every error raised by intoto_policy.

    Attributes:
        problem: What is wrong, in words a user can act on.
        source: The file or input the problem is in, if known.
    """

    def __init__(self, problem: str, *, source: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.source = source

    def with_source(self, source: str) -> IntotoPolicyError:
        """Return this error with ``source`` filled in where it was missing."""
        if self.source is None:
            self.source = source
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
