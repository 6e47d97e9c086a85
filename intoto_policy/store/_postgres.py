"""The team backend: ``postgresql://...`` with psycopg 3 (extra ``[postgres]``).

Each batch is one explicit transaction (reads run in autocommit mode); rows are inserted with ``ON CONFLICT DO
NOTHING`` in digest order, so concurrent ingests neither lose rows nor
deadlock (a deadlock or serialisation failure is retried). Migrations take
an advisory lock so two processes never migrate at once. psycopg is
imported only when a PostgreSQL store is opened.
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Final

from .._errors import InputError, UsageError
from ._base import SQLStore

__all__ = ["PostgresStore", "open_postgres", "redact"]

#: Advisory lock key for migrations ("itpstore" as an integer).
_MIGRATION_LOCK: Final = 0x6974707374_6F7265 & 0x7FFFFFFFFFFFFFFF


def redact(url: str) -> str:
    """The URL without its password (for messages)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urllib.parse.urlunsplit(parts._replace(netloc=user + host))


class PostgresStore(SQLStore):
    """A store in a PostgreSQL database."""

    def __init__(self, conn: Any, *, url: str, errors: Any) -> None:
        super().__init__(conn, url=url, blob="BYTEA", placeholder="%s")
        self._errors = errors

    def _begin(self) -> None:
        # The connection is in autocommit mode, so a read is one round trip;
        # writes open their transaction explicitly.
        self._execute("BEGIN")

    def _lock_schema(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))

    def _retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, (self._errors.DeadlockDetected, self._errors.SerializationFailure))

    def _is_driver_error(self, exc: BaseException) -> bool:
        return isinstance(exc, self._errors.Error)

    def _version(self) -> int:
        cur = self._execute(
            "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name = 'schema_version'"
        )
        if not cur.fetchone()[0]:
            self._end_read()
            return 0
        row = self._execute("SELECT MAX(version) FROM schema_version").fetchone()
        self._end_read()
        return int(row[0] or 0)


def open_postgres(url: str, *, create: bool) -> PostgresStore:
    """Connect to ``postgresql://...``.

    Args:
        url: A libpq connection URL.
        create: Unused: the database must exist; the schema is created by
            :meth:`SQLStore.migrate`.

    Raises:
        UsageError: psycopg is not installed.
        InputError: The server cannot be reached or refuses the login.
    """
    del create
    shown = redact(url)
    try:
        import psycopg  # noqa: PLC0415 - optional extra, only for this backend
    except ImportError:
        raise UsageError(
            "PostgreSQL stores need psycopg: pip install 'intoto-policy[postgres]'",
            source=shown,
        ) from None
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot connect: {first}", source=shown) from None
    return PostgresStore(conn, url=shown, errors=psycopg.errors)
