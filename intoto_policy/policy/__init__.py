"""The layout: its model, schema, functionaries, artifact rules, CEL rules,
lint, loading layouts and attestations from files, and distributing
layouts through TUF (``_tuf``: client and repository side).

May import ``model``, ``crypto``, ``sources`` and ``_errors``; never
``verifier``, ``report`` or ``cli``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Layout": "_layout",
    "Step": "_layout",
    "ExpectedPredicate": "_layout",
    "AttributeRule": "_layout",
    "LoadedLayout": "_loading",
    "load_layout": "_loading",
    "load_attestations": "_loading",
    "TUFPolicySource": "_tuf",
    "TUFResult": "_tuf",
    "fetch_policy": "_tuf",
}

__all__ = [
    "AttributeRule",
    "ExpectedPredicate",
    "Layout",
    "LoadedLayout",
    "Step",
    "TUFPolicySource",
    "TUFResult",
    "fetch_policy",
    "load_attestations",
    "load_layout",
]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:
    from ._layout import AttributeRule, ExpectedPredicate, Layout, Step
    from ._loading import LoadedLayout, load_attestations, load_layout
    from ._tuf import TUFPolicySource, TUFResult, fetch_policy
