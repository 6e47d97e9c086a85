"""The attestation store: exact bytes of envelopes and bundles, indexed.

A store keeps every ingested envelope or bundle exactly as received (never
re-serialised), deduplicated by the sha256 of those bytes, and indexed by
every subject digest, predicate type, claimed signer and ingestion time.
It is evidence, not a verdict: nothing is verified on the way in, and
verification reads the stored bytes like files.

Backends are chosen by URL scheme: ``sqlite:///PATH`` (embedded) and
``postgresql://...`` (psycopg 3, extra ``[postgres]``).

May import ``model``, ``crypto``, ``sources``, ``policy`` and ``_errors``;
never ``verifier``, ``audit`` or ``cli``.  Drivers (sqlite3, psycopg) load
only when a store is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "BACKENDS": "_backends",
    "open_store": "_backends",
    "IndexedItem": "_base",
    "PutResult": "_base",
    "RejectedItem": "_base",
    "SQLStore": "_base",
    "StoredAttestation": "_base",
    "StoredRejection": "_base",
    "IngestResult": "_ingest",
    "index_item": "_ingest",
    "ingest_bytes": "_ingest",
    "ingest_items": "_ingest",
    "ingest_paths": "_ingest",
    "split_items": "_ingest",
    "attestations_for": "_query",
    "parse_digest": "_query",
    "stored_attestations": "_query",
}

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
    "ingest_items",
    "ingest_paths",
    "open_store",
    "parse_digest",
    "split_items",
    "stored_attestations",
]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:
    from ._backends import BACKENDS, open_store
    from ._base import (
        IndexedItem,
        PutResult,
        RejectedItem,
        SQLStore,
        StoredAttestation,
        StoredRejection,
    )
    from ._ingest import (
        IngestResult,
        index_item,
        ingest_bytes,
        ingest_items,
        ingest_paths,
        split_items,
    )
    from ._query import attestations_for, parse_digest, stored_attestations
