"""Layouts and their owner keys distributed through a TUF repository.

Self-contained: the client (:mod:`._client`) fetches a layout target and
its key targets through python-tuf's ``ngclient``; the repository side
(:mod:`._repository`) writes and signs TUF metadata with
``tuf.api.metadata``. python-tuf is imported only inside functions, so
importing this package costs nothing for a plain ``verify``.
"""

from __future__ import annotations

from ._client import TUFPolicySource, TUFResult, fetch_policy, load_tuf_layout

__all__ = ["TUFPolicySource", "TUFResult", "fetch_policy", "load_tuf_layout"]
