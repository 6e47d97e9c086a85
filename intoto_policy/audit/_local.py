"""The local engine: this process and helper processes, the layout compiled once in each.

``workers`` is the number of processes auditing: this process (the
coordinator, which already holds a built :class:`AuditContext`) and
``workers - 1`` helper processes. Each helper builds its own context once,
says it is ready, then audits the batches of subjects it is sent and sends
back each batch's results in one message. The coordinator starts the
helpers first, audits small slices of subjects itself while they start and
between their replies, and hands every result to ``on_result`` as soon as
it has it, so results are written (and the progress bar moves) as they
come. With one worker everything runs in this process.

Batches shrink as the list runs out, so no process is left with a long
batch while the others are idle. A helper that cannot build its context
makes the whole run an error, whether or not the others finished first.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Final

from .._errors import InputError, IntotoPolicyError
from ._task import AuditConfig, AuditContext, audit_subject

__all__ = ["run_local"]

#: Largest batch sent to a helper: a round trip per batch, and a batch's
#: results must not sit long in the coordinator's queue.
MAX_BATCH: Final = 64
#: Batches in flight per helper: it starts the next while the coordinator
#: reads the results of the last.
DEPTH: Final = 2
#: Subjects the coordinator audits between two looks at its helpers.
OWN_SLICE: Final = 8
#: Seconds to wait for a helper that stopped unexpectedly to be gone.
_JOIN_TIMEOUT: Final = 10.0

_CONTEXT: AuditContext | None = None


def _initialize(config: AuditConfig) -> None:
    global _CONTEXT  # noqa: PLW0603 - one context per worker process, by design
    _CONTEXT = AuditContext.build(config)


def _audit(subject: str) -> dict[str, Any]:
    assert _CONTEXT is not None, "the initializer builds the context"
    return audit_subject(_CONTEXT, subject)


def _serve(conn: Connection, config: AuditConfig) -> None:
    """A helper process: build the context, then audit each batch sent until ``None``."""
    # Ctrl-C is the coordinator's to handle: it ends the helpers (no traceback from each).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _initialize(config)
    except IntotoPolicyError as exc:
        conn.send(("error", exc.problem, exc.source))
        return
    # Batches are read as they arrive, whatever this process is doing: the
    # coordinator never blocks sending one while this one blocks sending results.
    inbox: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()

    def read() -> None:
        try:
            while (batch := conn.recv()) is not None:
                inbox.put(batch)
        except (EOFError, OSError):
            pass
        inbox.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        conn.send(("ready",))
        while (batch := inbox.get()) is not None:
            try:
                results = [_audit(subject) for subject in batch]
            except IntotoPolicyError as exc:
                conn.send(("error", exc.problem, exc.source))
                return
            conn.send(("results", results))
    except (EOFError, OSError):
        pass  # the coordinator stopped: nothing left to send to
    finally:
        if _CONTEXT is not None:
            _CONTEXT.close()


class _Helper:
    """The coordinator's view of one helper process."""

    __slots__ = ("conn", "in_flight", "process", "ready")

    def __init__(self, config: AuditConfig) -> None:
        # spawn: a fresh interpreter per helper, no inherited connections or locks.
        ctx = multiprocessing.get_context("spawn")
        try:
            self.conn, theirs = ctx.Pipe(duplex=True)
        except OSError as exc:
            raise InputError(f"cannot start an audit worker: {exc.strerror or exc}") from None
        self.process = ctx.Process(target=_serve, args=(theirs, config), daemon=True)
        # Started with Ctrl-C ignored (a disposition a new interpreter keeps;
        # a signal mask it does not): a helper never gets a KeyboardInterrupt
        # before _serve ignores it. Only the main thread may change handlers.
        # A handler installed from C (getsignal: None) could not be restored: left alone.
        previous = (
            signal.getsignal(signal.SIGINT)
            if threading.current_thread() is threading.main_thread()
            else None
        )
        if previous is not None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.process.start()
        except OSError as exc:
            self.conn.close()
            raise InputError(f"cannot start an audit worker: {exc.strerror or exc}") from None
        except BaseException:
            self.conn.close()
            raise
        finally:
            theirs.close()  # only the helper holds its end: its exit is an EOF here
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        self.ready = False
        self.in_flight = 0

    def receive(self) -> tuple[Any, ...]:
        """The helper's next message.

        Raises:
            InputError: The helper could not build its context, or stopped.
        """
        try:
            message: tuple[Any, ...] = self.conn.recv()
        except (EOFError, OSError):
            raise self.stopped() from None
        if message[0] == "error":
            raise InputError(message[1], source=message[2])
        return message

    def stopped(self) -> InputError:
        """The error for a helper whose pipe broke (it exited or was killed)."""
        self.process.join(_JOIN_TIMEOUT)
        return InputError(
            f"an audit worker stopped unexpectedly (exit code {self.process.exitcode})"
        )

    def put(self, batch: list[str]) -> None:
        """Send a batch.

        Raises:
            InputError: The helper stopped.
        """
        try:
            self.conn.send(batch)
        except OSError:
            raise self.stopped() from None

    def stop(self, *, finished: bool) -> None:
        """Stop the helper: asked to when ``finished``, else (an error) ended at once.

        A finished helper exits on its own (closing its store connection,
        then its interpreter: about 15 ms) without being waited for;
        ``multiprocessing`` reaps it when the next process starts or at
        exit.
        """
        if finished:
            with contextlib.suppress(OSError):  # already gone
                self.conn.send(None)
        elif self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self.conn.close()


def batch_size(remaining: int, workers: int) -> int:
    """Subjects in the next batch for a helper.

    Half of an even share of what is left, at most :data:`MAX_BATCH`:
    large batches while the list is long (few round trips), smaller ones
    near its end (no process idles while another finishes a long batch).

    Args:
        remaining: Subjects not yet handed out.
        workers: Processes auditing.

    Returns:
        At least 1 (when ``remaining`` is at least 1).
    """
    return max(1, min(MAX_BATCH, remaining // (2 * workers)))


def run_local(
    config: AuditConfig,
    subjects: Sequence[str],
    *,
    workers: int,
    on_result: Callable[[dict[str, Any]], object],
    context: AuditContext | None = None,
    coordinator_audits: bool = True,
) -> None:
    """Audit ``subjects`` on ``workers`` processes; results arrive in any order.

    Args:
        config: What the helper processes need.
        subjects: ``ALG:HEX`` strings.
        workers: Processes auditing (1: only this one).
        on_result: Called in this process with each result.
        context: An already built context for this process.
        coordinator_audits: This process audits too and starts
            ``workers - 1`` helpers (the default); ``False`` starts
            ``workers`` helpers and only hands out subjects (kept to
            measure one against the other).

    Raises:
        InputError: A process cannot build its context (layout, store),
            or a helper stopped unexpectedly.
    """
    if workers <= 1 or len(subjects) <= 1:
        alone = context if context is not None else AuditContext.build(config)
        try:
            for subject in subjects:
                on_result(audit_subject(alone, subject))
        finally:
            if context is None:
                alone.close()
        return
    # Helpers first: they start while this process builds its context and audits.
    helpers: list[_Helper] = []
    built: AuditContext | None = None
    finished = False
    try:
        # No more helpers than subjects for them.
        count = workers - 1 if coordinator_audits else workers
        for _ in range(min(count, len(subjects) - 1 if coordinator_audits else len(subjects))):
            helpers.append(_Helper(config))
        own: AuditContext | None = None
        if coordinator_audits:
            own = context if context is not None else (built := AuditContext.build(config))
        _coordinate(own, subjects, helpers, workers, on_result)
        finished = True
    finally:
        # On an error a helper may be busy or blocked sending: end it.
        for helper in helpers:
            helper.stop(finished=finished)
        if built is not None:
            built.close()


def _coordinate(
    own: AuditContext | None,
    subjects: Sequence[str],
    helpers: list[_Helper],
    workers: int,
    on_result: Callable[[dict[str, Any]], object],
) -> None:
    """Hand out ``subjects``, audit slices with ``own`` (if any), pass on every result."""
    by_conn = {helper.conn: helper for helper in helpers}
    start = 0  # subjects[:start] are handed out or done

    def send(helper: _Helper) -> None:
        nonlocal start
        while helper.in_flight < DEPTH and start < len(subjects):
            end = start + batch_size(len(subjects) - start, workers)
            helper.put(list(subjects[start:end]))
            helper.in_flight += 1
            start = end

    for helper in helpers:
        if helper.ready:  # started beforehand (a warm pool)
            send(helper)
    while True:
        left = start < len(subjects)
        working = any(h.in_flight for h in helpers)
        # Every helper must report its start even when the work is done,
        # so a helper that cannot build its context is always an error.
        starting = any(not h.ready for h in helpers)
        if not (left or working or starting):
            return
        busy_here = own is not None and left
        for conn in wait(list(by_conn), timeout=0 if busy_here else None):
            helper = by_conn[conn]  # type: ignore[index]
            message = helper.receive()
            if message[0] == "ready":
                helper.ready = True
            else:
                helper.in_flight -= 1
                for result in message[1]:
                    on_result(result)
            send(helper)
        if own is not None and start < len(subjects):
            end = min(len(subjects), start + OWN_SLICE)
            mine = subjects[start:end]
            start = end
            for subject in mine:
                on_result(audit_subject(own, subject))
