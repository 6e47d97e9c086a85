"""The attestation store: exact bytes of envelopes and bundles, indexed.

A store keeps every ingested envelope or bundle exactly as received (never
re-serialised), deduplicated by the sha256 of those bytes, and indexed by
every subject digest, predicate type, claimed signer and ingestion time.
It is evidence, not a verdict: nothing is verified on the way in, and
verification reads the stored bytes like files.

Backends are chosen by URL scheme: ``sqlite:///PATH`` (embedded) and
``postgresql://...`` (psycopg 3, extra ``[postgres]``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from .._errors import UsageError
from ._base import (
    IndexedItem,
    PutResult,
    RejectedItem,
    SQLStore,
    StoredAttestation,
    StoredRejection,
)
from ._ingest import IngestResult, index_item, ingest_bytes, ingest_paths, split_items
from ._query import attestations_for, parse_digest, stored_attestations

__all__ = [
    "BACKENDS",
    "IndexedItem",
    "IngestResult",
    "PutResult",
    "RejectedItem",
    "SQLStore",
    "StoredAttestation",
    "StoredRejection",
    "attestations_for",
    "index_item",
    "ingest_bytes",
    "ingest_paths",
    "open_store",
    "parse_digest",
    "split_items",
    "stored_attestations",
]

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
