"""Renderers: pure functions from a :class:`~intoto_policy.Report` to text.

Each output format is one module with one ``render_<format>(report, ...)``
function that returns a ``str`` and does no I/O; the CLI decides where the
text goes (and whether the terminal wants colour). :data:`RENDERERS` maps
format names to those functions.

==========  ==================================================================
format      what
==========  ==================================================================
text        for people: verdict, steps, checks, expected vs actual
json        ``Report.to_dict()`` (``schemas/report.schema.json``)
sarif       SARIF 2.1.0 for GitHub code scanning
junit       JUnit XML for CI test reporters
markdown    a compact summary for CI step summaries and PR comments
vsa         a signed SLSA Verification Summary Attestation (needs ``key=``)
==========  ==================================================================
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from .._errors import UsageError

if TYPE_CHECKING:
    from ._json import render_json
    from ._junit import render_junit
    from ._markdown import render_markdown
    from ._model import Report
    from ._sarif import render_sarif
    from ._text import render_text
    from ._vsa import render_vsa

__all__ = [
    "FORMATS",
    "RENDERERS",
    "render",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_sarif",
    "render_text",
    "render_vsa",
]

# Format name → the module of its renderer, render_<format>. A renderer's
# module is imported when it is first asked for, so that rendering text does
# not import the others (the VSA renderer signs, SARIF and JUnit build trees).
_MODULES: Final = ("text", "json", "sarif", "junit", "markdown", "vsa")


class _Renderers(Mapping[str, Callable[..., str]]):
    """A read-only mapping that imports each renderer on first use."""

    def __getitem__(self, fmt: str) -> Callable[..., str]:
        if fmt not in _MODULES:
            raise KeyError(fmt)
        renderer: Callable[..., str] = getattr(
            importlib.import_module(f"{__package__}._{fmt}"), f"render_{fmt}"
        )
        return renderer

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


#: Format name → renderer. Every renderer takes the report first and
#: keyword-only options; ``vsa`` requires ``key=``.
RENDERERS: Final[Mapping[str, Callable[..., str]]] = _Renderers()


def __getattr__(name: str) -> Any:
    fmt = name.removeprefix("render_")
    if name.startswith("render_") and fmt in _MODULES:
        return RENDERERS[fmt]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The format names, in the order the CLI lists them.
FORMATS: Final = tuple(RENDERERS)


def render(report: Report, fmt: str, **options: Any) -> str:
    """Render a report in a named format.

    Args:
        report: The verification report.
        fmt: One of :data:`FORMATS`.
        **options: Keyword options of that format's renderer.

    Returns:
        The rendered text.

    Raises:
        UsageError: Unknown format, an option the renderer does not take or
            a missing required one (``key`` for ``vsa``), or what the
            renderer itself raises as a usage error (a VSA without subject).
        TypeError: A check carries a value that is not JSON-serialisable
            (machine formats).
        ValueError: A check carries a NaN or infinite float (machine formats).
    """
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise UsageError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")
    try:
        inspect.signature(renderer).bind(report, **options)
    except TypeError as exc:
        raise UsageError(f"format {fmt!r}: {exc}") from None
    return renderer(report, **options)
