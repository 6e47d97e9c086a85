"""Batch audits: every subject of a list (or of a store) against one layout.

:func:`audit_subject` is the per-subject task; :func:`run_local` runs it
on a process pool, :func:`run_ray` on a Ray cluster.
"""

from __future__ import annotations

from ._local import run_local
from ._task import VERDICTS, AuditConfig, AuditContext, audit_subject

__all__ = ["VERDICTS", "AuditConfig", "AuditContext", "audit_subject", "run_local"]
