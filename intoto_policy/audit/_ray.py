"""The Ray engine (extra ``[ray]``): the same per-subject task on a cluster.

One actor per worker builds its :class:`AuditContext` once and audits
batches of subjects with :func:`audit_subject`, the function the local
engine runs. ``ray.init`` connects to ``address`` (``--ray-address``), or
to the cluster ``RAY_ADDRESS`` names, or starts a local instance. The
store must be reachable from every node (PostgreSQL; an SQLite file only
on one machine). Ray is imported only here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Final

from .._errors import IntotoPolicyError, UsageError
from ._task import AuditConfig, AuditContext, audit_subject

__all__ = ["run_ray"]

#: Subjects per remote call: large enough to amortise a round trip.
BATCH: Final = 32


class _Worker:
    def __init__(self, config: AuditConfig) -> None:
        self.context = AuditContext.build(config)

    def audit(self, subjects: list[str]) -> list[dict[str, Any]]:
        return [audit_subject(self.context, s) for s in subjects]


def _policy_error(exc: BaseException) -> IntotoPolicyError | None:
    """The project error behind a Ray error, if that is what it wraps."""
    # Ray wraps the original in error classes that also derive from it:
    # follow .cause to the original, whose message is the one-line problem.
    seen: BaseException = exc
    for _ in range(4):
        cause = getattr(seen, "cause", None)
        if not isinstance(cause, BaseException):
            break
        seen = cause
    return seen if isinstance(seen, IntotoPolicyError) else None


def run_ray(
    config: AuditConfig,
    subjects: Sequence[str],
    *,
    workers: int,
    on_result: Callable[[dict[str, Any]], object],
    address: str | None = None,
) -> None:
    """Audit ``subjects`` on ``workers`` Ray actors; results arrive in any order.

    Raises:
        UsageError: Ray is not installed.
        InputError: An actor cannot build its context (layout, store).
    """
    try:
        import ray  # noqa: PLC0415 - optional extra
    except ImportError:
        raise UsageError("--engine ray needs Ray: pip install 'intoto-policy[ray]'") from None
    started = not ray.is_initialized()
    if started:
        target = address or os.environ.get("RAY_ADDRESS") or None
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if target is None:
            options["num_cpus"] = workers
        ray.init(address=target, **options)
    try:
        actor: Any = ray.remote(num_cpus=1)(_Worker)
        pool = [actor.remote(config) for _ in range(max(1, workers))]
        pending: dict[Any, int] = {}
        batches = [list(subjects[i : i + BATCH]) for i in range(0, len(subjects), BATCH)]
        queue = list(reversed(batches))
        idle = list(range(len(pool)))
        while queue or pending:
            while queue and idle:
                slot = idle.pop()
                pending[pool[slot].audit.remote(queue.pop())] = slot
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                idle.append(pending.pop(ref))
                try:
                    results = ray.get(ref)
                except (ray.exceptions.RayTaskError, ray.exceptions.RayActorError) as exc:
                    cause = _policy_error(exc)
                    if cause is not None:
                        raise cause from None  # a bad layout or store, reported as such
                    raise
                for result in results:
                    on_result(result)
    finally:
        if started:
            ray.shutdown()
