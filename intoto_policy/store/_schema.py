"""The store's schema and its versioned migrations.

Every migration is a list of statements applied in one transaction, with
its version recorded in ``schema_version`` in the same transaction, so a
store is always at exactly one version. A store written by a newer
intoto-policy (a version this code does not know) is refused, never
guessed at.

The same statements serve SQLite and PostgreSQL: ``{blob}`` becomes
``BLOB`` or ``BYTEA``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LATEST_VERSION", "MIGRATIONS"]

#: version -> statements. Append new versions; never edit a released one.
MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        # The exact bytes of every envelope or bundle, keyed by their sha256.
        """CREATE TABLE attestations (
            digest TEXT PRIMARY KEY,
            body {blob} NOT NULL,
            kind TEXT NOT NULL,
            source TEXT NOT NULL,
            ingested_at TEXT NOT NULL
        )""",
        "CREATE INDEX attestations_ingested_at ON attestations (ingested_at)",
        # Every digest of every subject; is_key marks one per subject (the
        # strongest algorithm) so that --all lists each artifact once.
        """CREATE TABLE attestation_subjects (
            alg TEXT NOT NULL,
            value TEXT NOT NULL,
            digest TEXT NOT NULL REFERENCES attestations (digest),
            is_key INTEGER NOT NULL,
            PRIMARY KEY (alg, value, digest)
        )""",
        "CREATE INDEX attestation_subjects_digest ON attestation_subjects (digest)",
        """CREATE TABLE attestation_predicates (
            predicate_type TEXT NOT NULL,
            digest TEXT NOT NULL REFERENCES attestations (digest),
            PRIMARY KEY (predicate_type, digest)
        )""",
        "CREATE INDEX attestation_predicates_digest ON attestation_predicates (digest)",
        # What the signatures claim (key id hint, certificate key
        # fingerprint, identity, issuer): unverified, for finding evidence.
        """CREATE TABLE attestation_signers (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            digest TEXT NOT NULL REFERENCES attestations (digest),
            PRIMARY KEY (kind, value, digest)
        )""",
        "CREATE INDEX attestation_signers_digest ON attestation_signers (digest)",
        # Inputs that did not parse: kept with the reason, never dropped.
        """CREATE TABLE rejected (
            digest TEXT NOT NULL,
            source TEXT NOT NULL,
            reason TEXT NOT NULL,
            body {blob},
            ingested_at TEXT NOT NULL,
            PRIMARY KEY (digest, source)
        )""",
    ),
}

LATEST_VERSION: Final = max(MIGRATIONS)
