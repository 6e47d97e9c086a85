"""The embedded backend: ``sqlite:///PATH`` (standard library ``sqlite3``).

WAL mode lets readers run while one process writes; writers take the lock
up front (``BEGIN IMMEDIATE``) and wait up to a busy timeout for each
other, so concurrent ingests queue rather than fail or lose rows. A
process killed mid-batch leaves its uncommitted batch out, nothing else.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import urllib.parse
from typing import Final

from .._errors import InputError
from ._base import SQLStore

__all__ = ["SQLiteStore", "open_sqlite"]

#: How long a writer waits for another one before giving up (milliseconds).
BUSY_TIMEOUT_MS: Final = 60_000


class SQLiteStore(SQLStore):
    """A store in one SQLite file."""

    def _begin(self) -> None:
        self._execute("BEGIN IMMEDIATE")

    def _is_driver_error(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.Error)


def open_sqlite(url: str, *, create: bool) -> SQLiteStore:
    """Open ``sqlite:///PATH``.

    Args:
        url: The store URL.
        create: Create the file if it does not exist (ingest); otherwise a
            missing file is an error (a query never creates a store).

    Raises:
        InputError: The path is empty, not a regular file, missing (without
            ``create``) or not an SQLite database.
    """
    path = url.removeprefix("sqlite:///")
    if not path:
        raise InputError("give a file path: sqlite:///PATH", source=url)
    try:
        mode = os.stat(path).st_mode  # noqa: PTH116 - the mode, following links like sqlite does
    except FileNotFoundError:
        if not create:
            raise InputError("no such store file", source=url) from None
        mode = None
    except OSError as exc:
        raise InputError(f"cannot open the store: {exc.strerror}", source=url) from None
    if mode is not None and not stat.S_ISREG(mode):
        raise InputError("the store must be a regular file", source=url)
    target = f"file:{urllib.parse.quote(path)}?mode={'rwc' if create else 'rw'}"
    try:
        conn = sqlite3.connect(
            target, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # WAL with NORMAL: a crash never corrupts the database; at worst the
        # last commits before a power loss are rolled back.
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as exc:
        raise InputError(f"cannot open the store: {exc}", source=url) from None
    return SQLiteStore(conn, url=url, blob="BLOB", placeholder="?")
