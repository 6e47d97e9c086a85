"""The local engine: a process pool, the layout compiled once per worker.

Each worker process builds its :class:`AuditContext` in the pool
initializer and keeps it for every subject it is handed, so the cost of
parsing the layout and compiling its rules is paid once per worker, not
once per subject. With one worker everything runs in this process.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

from ._task import AuditConfig, AuditContext, audit_subject

__all__ = ["run_local"]

_CONTEXT: AuditContext | None = None


def _initialize(config: AuditConfig) -> None:
    global _CONTEXT  # noqa: PLW0603 - one context per worker process, by design
    _CONTEXT = AuditContext.build(config)


def _audit(subject: str) -> dict[str, Any]:
    assert _CONTEXT is not None, "the pool initializer builds the context"
    return audit_subject(_CONTEXT, subject)


def run_local(
    config: AuditConfig,
    subjects: Sequence[str],
    *,
    workers: int,
    on_result: Callable[[dict[str, Any]], object],
    context: AuditContext | None = None,
) -> None:
    """Audit ``subjects`` on ``workers`` processes; results arrive in any order.

    Args:
        config: What the workers need.
        subjects: ``ALG:HEX`` strings.
        workers: Processes (1: run here, in this process).
        on_result: Called in this process with each result.
        context: An already built context, used when ``workers`` is 1.

    Raises:
        InputError: A worker cannot build its context (layout, store).
    """
    if workers <= 1 or len(subjects) <= 1:
        own = context if context is not None else AuditContext.build(config)
        try:
            for subject in subjects:
                on_result(audit_subject(own, subject))
        finally:
            if context is None:
                own.close()
        return
    # spawn: a fresh interpreter per worker, no inherited connections or locks.
    ctx = multiprocessing.get_context("spawn")
    chunk = max(1, min(64, len(subjects) // (workers * 16)))
    with ctx.Pool(workers, initializer=_initialize, initargs=(config,)) as pool:
        for result in pool.imap_unordered(_audit, subjects, chunksize=chunk):
            on_result(result)
