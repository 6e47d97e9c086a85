"""Batch audits: every subject of a list (or of a store) against one layout.

:func:`audit_subject` is the per-subject task; :func:`run_local` runs it
on a process pool, :func:`run_ray` on a Ray cluster.

May import every layer but ``cli`` (it runs the verifier per subject).
Ray loads only for ``run_ray`` (``audit._ray``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "VERDICTS": "_task",
    "AuditConfig": "_task",
    "AuditContext": "_task",
    "audit_subject": "_task",
    "config_digest": "_task",
    "run_local": "_local",
}

__all__ = [
    "VERDICTS",
    "AuditConfig",
    "AuditContext",
    "audit_subject",
    "config_digest",
    "run_local",
]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:
    from ._local import run_local
    from ._task import VERDICTS, AuditConfig, AuditContext, audit_subject, config_digest
