"""Verification of attestations against a layout: authenticate, match to
steps, rules and thresholds, subject binding, and the Report.

May import every layer below it (``model``, ``crypto``, ``policy``,
``report`` for the result types) and ``_errors``; never ``cli``.  Pure:
no I/O, no clock (time is a parameter), no network.  Failures are
results in the Report, not exceptions.  Named ``verifier`` because
``intoto_policy.verify`` is the public function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "verify_attestations": "_core",
}

__all__ = ["verify_attestations"]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:
    from ._core import verify_attestations
