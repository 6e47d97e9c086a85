"""The ``intoto-policy`` command line.

The top layer: may import everything.  The only layer that reads the
clock, the environment and ``sys.argv``, and that maps errors to exit
codes (0 pass, 1 policy failure, 2 bad input).  Heavy modules load inside
the command handlers so that start-up stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "main": "_main",
}

__all__ = ["main"]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:
    from ._main import main
