"""Store backends, chosen by URL scheme; each is imported only when used."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from .._errors import UsageError
from ._base import SQLStore

__all__ = ["BACKENDS", "open_store"]

Opener = Callable[..., SQLStore]


def _sqlite(url: str, *, create: bool) -> SQLStore:
    from ._sqlite import open_sqlite  # noqa: PLC0415

    return open_sqlite(url, create=create)


def _postgres(url: str, *, create: bool) -> SQLStore:
    from ._postgres import open_postgres  # noqa: PLC0415

    return open_postgres(url, create=create)


#: URL scheme -> opener. Backends are imported only when used.
BACKENDS: Final[dict[str, Opener]] = {
    "sqlite": _sqlite,
    "postgresql": _postgres,
    "postgres": _postgres,
}


def open_store(url: str, *, create: bool = False) -> SQLStore:
    """Open a store by URL; with ``create``, create and migrate its schema.

    Without ``create`` the store must exist at the current schema version
    (a query never creates or changes a store).

    Args:
        url: ``sqlite:///PATH`` or ``postgresql://...``.
        create: Create the store (file, schema) if needed and migrate it.

    Raises:
        UsageError: The URL's scheme names no backend, or the backend's
            driver is not installed.
        InputError: The store cannot be opened, has no schema (without
            ``create``), or another schema version.
    """
    scheme, sep, _ = url.partition(":")
    opener = BACKENDS.get(scheme.lower()) if sep else None
    if opener is None:
        from ._postgres import redact  # noqa: PLC0415

        raise UsageError(
            f"--store: expected sqlite:///PATH or postgresql://..., got {redact(url)[:80]!r}"
        )
    store = opener(url, create=create)
    try:
        if create:
            store.migrate()
        else:
            store.require_current()
    except BaseException:
        store.close()
        raise
    return store
