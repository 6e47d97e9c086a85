"""What SQLite and PostgreSQL stores share: one SQL dialect, two drivers.

A backend supplies a DB-API connection and says how to begin a write
transaction; everything else (migrations, batched ingest, queries) is
here, so both backends run the same statements and pass the same tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from .._errors import InputError, UsageError
from ._schema import LATEST_VERSION, MIGRATIONS

__all__ = [
    "SIGNER_KINDS",
    "IndexedItem",
    "PutResult",
    "RejectedItem",
    "SQLStore",
    "StoredAttestation",
    "StoredRejection",
]

#: Most rows one query returns: a subject with more evidence than this is
#: refused rather than loaded into memory without bound.
MAX_QUERY_ROWS: Final = 100_000

#: What a signature may claim about its signer, as the store indexes it:
#: a key id hint, a key's fingerprint (sha256 of its SubjectPublicKeyInfo),
#: a certificate's fingerprint, a certificate identity (SAN), its issuer.
SIGNER_KINDS: Final = ("keyid", "fingerprint", "certificate", "identity", "issuer")


@dataclass(frozen=True, slots=True)
class IndexedItem:
    """One envelope or bundle ready to store, with what it is indexed by.

    Attributes:
        digest: sha256 (hex) of ``body``.
        body: The exact bytes as received.
        kind: ``envelope`` or ``bundle``.
        source: Where it was read (``path`` or ``path:line``).
        subjects: ``(alg, value, is_key)`` for every subject digest.
        predicate_types: The statement's predicateType(s).
        signers: ``(kind, value)`` claimed by the signatures (unverified).
    """

    digest: str
    body: bytes
    kind: str
    source: str
    subjects: tuple[tuple[str, str, bool], ...] = ()
    predicate_types: tuple[str, ...] = ()
    signers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RejectedItem:
    """An input that did not parse, kept with the reason.

    Attributes:
        digest: sha256 (hex) of ``body`` (of nothing when it could not be read).
        body: The bytes, or ``None`` when the input could not be read.
        source: Where it was read.
        reason: Why it was rejected.
    """

    digest: str
    body: bytes | None
    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class PutResult:
    """What one batch did: new items stored, duplicates, rejections recorded."""

    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


def _plus(a: PutResult, b: PutResult) -> PutResult:
    return PutResult(a.stored + b.stored, a.duplicates + b.duplicates, a.rejected + b.rejected)


@dataclass(frozen=True, slots=True)
class StoredAttestation:
    """One stored envelope or bundle and what it is indexed by.

    Attributes:
        digest: sha256 (hex) of ``body``.
        body: The exact bytes as ingested.
        kind: ``envelope`` or ``bundle``.
        source: Where it was first read.
        ingested_at: When it was first ingested (RFC 3339, UTC).
        subjects: ``(alg, value)`` of every subject digest.
        predicate_types: Its predicateType(s).
        signers: ``(kind, value)`` its signatures claim (unverified).
    """

    digest: str
    body: bytes
    kind: str
    source: str
    ingested_at: str
    subjects: tuple[tuple[str, str], ...] = ()
    predicate_types: tuple[str, ...] = ()
    signers: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (without the body)."""
        return {
            "digest": f"sha256:{self.digest}",
            "kind": self.kind,
            "source": self.source,
            "ingestedAt": self.ingested_at,
            "subjects": [f"{alg}:{value}" for alg, value in self.subjects],
            "predicateTypes": list(self.predicate_types),
            "signers": [{"kind": k, "value": v} for k, v in self.signers],
        }


@dataclass(frozen=True, slots=True)
class StoredRejection:
    """A rejected input as stored."""

    digest: str
    source: str
    reason: str
    ingested_at: str


class SQLStore:
    """A store over a DB-API connection; see :func:`intoto_policy.store.open_store`.

    Args:
        conn: The open connection.
        url: The store URL with any password removed (for messages).
        blob: The dialect's binary column type.
        placeholder: The driver's parameter marker.
    """

    def __init__(self, conn: Any, *, url: str, blob: str, placeholder: str) -> None:
        self._conn = conn
        self.url = url
        self._blob = blob
        self._ph = placeholder

    # -- driver-specific ---------------------------------------------------

    def _begin(self) -> None:
        """Start a write transaction."""
        raise NotImplementedError

    def _lock_schema(self) -> None:
        """Serialise migrations between processes (inside the transaction)."""

    def _retryable(self, exc: BaseException) -> bool:
        """Whether a failed transaction may simply be run again."""
        del exc
        return False

    def _is_driver_error(self, exc: BaseException) -> bool:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text.replace("?", self._ph) if self._ph != "?" else text

    def _execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        cur = self._conn.cursor()
        cur.execute(self._sql(text), tuple(params))
        return cur

    def _fail(self, what: str, exc: BaseException) -> InputError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return InputError(f"{what}: {first}", source=self.url)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        try:
            self._conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection must not mask the cause
            return

    def __enter__(self) -> SQLStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def version(self) -> int:
        """The schema version (0 for an empty database).

        Raises:
            InputError: The database cannot be read.
        """
        with self._driver_errors("cannot read the store"):
            return self._version()

    def _version(self) -> int:
        cur = self._execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
            if self._ph != "?"
            else "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
            "AND name = 'schema_version'"
        )
        if not cur.fetchone()[0]:
            self._end_read()
            return 0
        row = self._execute("SELECT MAX(version) FROM schema_version").fetchone()
        self._end_read()
        return int(row[0] or 0)

    def _end_read(self) -> None:
        """End the implicit read transaction some drivers open."""

    @contextmanager
    def _driver_errors(self, what: str) -> Iterator[None]:
        """A driver error rolls back and becomes an InputError saying ``what``;
        anything else passes through unchanged."""
        try:
            yield
        except Exception as exc:
            if not self._is_driver_error(exc):
                raise
            self._rollback()
            raise self._fail(what, exc) from None

    def _rollback(self) -> None:
        try:
            self._conn.rollback()
        except Exception:  # noqa: BLE001 - the original error is the one to report
            return

    def migrate(self) -> int:
        """Bring the schema up to :data:`LATEST_VERSION`.

        Returns:
            The version the store is at.

        Raises:
            InputError: The store was written by a newer intoto-policy, or
                it cannot be read or changed.
        """
        current = self.version()
        if current > LATEST_VERSION:
            raise InputError(
                f"the store has schema version {current}, newer than this intoto-policy "
                f"understands ({LATEST_VERSION}): upgrade intoto-policy",
                source=self.url,
            )
        if current == LATEST_VERSION:
            return current
        with self._driver_errors("cannot create or migrate the store"):
            self._begin()
            self._lock_schema()
            self._execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)")
            row = self._execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = int(row[0] or 0)  # another process may have migrated meanwhile
            for version in sorted(v for v in MIGRATIONS if v > current):
                for statement in MIGRATIONS[version]:
                    self._execute(statement.format(blob=self._blob))
                self._execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            self._conn.commit()
        return LATEST_VERSION

    def require_current(self) -> None:
        """Refuse a store that is missing, empty or at another schema version.

        Raises:
            InputError: The store has no schema or another version.
        """
        current = self.version()
        if current > LATEST_VERSION:
            raise InputError(
                f"the store has schema version {current}, newer than this intoto-policy "
                f"understands ({LATEST_VERSION}): upgrade intoto-policy",
                source=self.url,
            )
        if current != LATEST_VERSION:
            raise InputError(
                "not an intoto-policy store (no schema): ingest into it first"
                if current == 0
                else f"the store has schema version {current}: run an ingest to migrate it "
                f"to {LATEST_VERSION}",
                source=self.url,
            )

    def put(self, items: Sequence[IndexedItem | RejectedItem], *, ingested_at: str) -> PutResult:
        """Store a batch in one transaction: all of it or none of it.

        Items already present (same digest) are counted as duplicates and
        left as they are. A deadlock or serialisation failure is retried.

        Raises:
            InputError: The store cannot be written.
        """
        # A fixed order of row locks across processes: no deadlocks.
        ordered = sorted(items, key=lambda i: (isinstance(i, RejectedItem), i.digest, i.source))
        for attempt in range(5):
            try:
                self._begin()
                total = PutResult()
                for item in ordered:
                    total = _plus(total, self._insert(item, ingested_at))
                self._conn.commit()
            except Exception as exc:
                if not self._is_driver_error(exc):
                    raise
                self._rollback()
                if self._retryable(exc) and attempt < 4:
                    continue
                raise self._fail("cannot write to the store", exc) from None
            return total
        raise AssertionError("unreachable")  # pragma: no cover

    def begin_write(self) -> None:
        """Open a write transaction for :meth:`insert` (see :meth:`commit`).

        Raises:
            InputError: The store cannot be written.
        """
        with self._driver_errors("cannot write to the store"):
            self._begin()

    def insert(self, item: IndexedItem | RejectedItem, *, ingested_at: str) -> PutResult | None:
        """Add one item inside the open write transaction.

        Returns:
            The counts, or ``None`` when the transaction was lost to a
            deadlock or serialisation failure (it is rolled back; store the
            whole batch again with :meth:`put`).

        Raises:
            InputError: The store cannot be written.
        """
        try:
            return self._insert(item, ingested_at)
        except Exception as exc:
            if not self._is_driver_error(exc):
                raise
            self._rollback()
            if self._retryable(exc):
                return None
            raise self._fail("cannot write to the store", exc) from None

    def commit(self) -> None:
        """Commit the open write transaction.

        Raises:
            InputError: The store cannot be written.
        """
        with self._driver_errors("cannot write to the store"):
            self._conn.commit()

    def rollback(self) -> None:
        """Abandon the open write transaction."""
        self._rollback()

    def _insert(self, item: IndexedItem | RejectedItem, at: str) -> PutResult:
        if isinstance(item, RejectedItem):
            self._execute(
                "INSERT INTO rejected (digest, source, reason, body, ingested_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (item.digest, item.source, item.reason, item.body, at),
            )
            return PutResult(rejected=1)
        cur = self._execute(
            "INSERT INTO attestations (digest, body, kind, source, ingested_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (item.digest, item.body, item.kind, item.source, at),
        )
        if cur.rowcount != 1:
            return PutResult(duplicates=1)
        for alg, value, is_key in item.subjects:
            self._execute(
                "INSERT INTO attestation_subjects (alg, value, digest, is_key) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (alg, value, item.digest, 1 if is_key else 0),
            )
        for ptype in item.predicate_types:
            self._execute(
                "INSERT INTO attestation_predicates (predicate_type, digest) "
                "VALUES (?, ?) ON CONFLICT DO NOTHING",
                (ptype, item.digest),
            )
        for kind, value in item.signers:
            self._execute(
                "INSERT INTO attestation_signers (kind, value, digest) "
                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (kind, value, item.digest),
            )
        return PutResult(stored=1)

    def _read(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._driver_errors("cannot read the store"):
            rows: list[Any] = self._execute(text, params).fetchall()
        self._end_read()
        return rows

    def find(
        self,
        subjects: Iterable[tuple[str, str]],
        *,
        predicate_type: str | None = None,
        signer: str | None = None,
        signer_kind: str | None = None,
    ) -> list[StoredAttestation]:
        """The attestations indexed under any of ``subjects``.

        Args:
            subjects: ``(alg, value)`` pairs (one artifact's digests).
            predicate_type: Only attestations with this predicateType.
            signer: Only attestations whose signatures claim this key id,
                fingerprint, identity or issuer.
            signer_kind: With ``signer``: only a claim of this kind (one of
                :data:`SIGNER_KINDS`).

        Returns:
            The matches, oldest ingestion first (then by digest).

        Raises:
            InputError: The store cannot be read, or holds more than
                :data:`MAX_QUERY_ROWS` matches.
        """
        if signer_kind is not None and (signer is None or signer_kind not in SIGNER_KINDS):
            raise UsageError(
                f"signer kind {signer_kind!r} needs a signer and is one of {SIGNER_KINDS}"
            )
        pairs = sorted(set(subjects))
        if not pairs:
            return []
        where = " OR ".join("(s.alg = ? AND s.value = ?)" for _ in pairs)
        params: list[Any] = [x for pair in pairs for x in pair]
        text = f"SELECT DISTINCT s.digest FROM attestation_subjects s WHERE ({where})"  # noqa: S608 - only placeholders are interpolated
        if predicate_type is not None:
            text += (
                " AND EXISTS (SELECT 1 FROM attestation_predicates p "
                "WHERE p.digest = s.digest AND p.predicate_type = ?)"
            )
            params.append(predicate_type)
        if signer is not None and signer_kind is None:
            text += (
                " AND EXISTS (SELECT 1 FROM attestation_signers g "
                "WHERE g.digest = s.digest AND g.value = ?)"
            )
            params.append(signer)
        elif signer is not None:
            text += (
                " AND EXISTS (SELECT 1 FROM attestation_signers g "
                "WHERE g.digest = s.digest AND g.value = ? AND g.kind = ?)"
            )
            params += [signer, signer_kind]
        text += f" LIMIT {MAX_QUERY_ROWS + 1}"
        digests = [row[0] for row in self._read(text, params)]
        if len(digests) > MAX_QUERY_ROWS:
            raise InputError(
                f"more than {MAX_QUERY_ROWS} attestations match; narrow the query",
                source=self.url,
            )
        return self.get(digests)

    def bodies(self, subjects: Iterable[tuple[str, str]]) -> list[tuple[str, str, bytes]]:
        """``(digest, source, body)`` of every item indexed under any of ``subjects``.

        One query: the hot path of ``verify --store`` and ``audit``.

        Raises:
            InputError: The store cannot be read, or holds more than
                :data:`MAX_QUERY_ROWS` matches.
        """
        pairs = sorted(set(subjects))
        if not pairs:
            return []
        where = " OR ".join("(alg = ? AND value = ?)" for _ in pairs)
        rows = self._read(
            "SELECT a.digest, a.source, a.body, a.ingested_at FROM attestations a WHERE a.digest IN "  # noqa: S608 - only placeholders are interpolated
            f"(SELECT digest FROM attestation_subjects WHERE {where}) "
            f"ORDER BY a.ingested_at, a.digest LIMIT {MAX_QUERY_ROWS + 1}",
            [x for pair in pairs for x in pair],
        )
        if len(rows) > MAX_QUERY_ROWS:
            raise InputError(
                f"more than {MAX_QUERY_ROWS} attestations match; narrow the query",
                source=self.url,
            )
        return [(str(d), str(src), bytes(body)) for d, src, body, _ in rows]

    def get(self, digests: Sequence[str]) -> list[StoredAttestation]:
        """The stored attestations with these digests (unknown ones are left out).

        Raises:
            InputError: The store cannot be read.
        """
        out: list[StoredAttestation] = []
        for start in range(0, len(digests), 500):
            chunk = list(digests[start : start + 500])
            marks = ", ".join("?" for _ in chunk)
            rows = self._read(
                f"SELECT digest, body, kind, source, ingested_at FROM attestations "  # noqa: S608
                f"WHERE digest IN ({marks})",
                chunk,
            )
            subjects: dict[str, list[tuple[str, str]]] = {}
            for d, alg, value in self._read(
                f"SELECT digest, alg, value FROM attestation_subjects WHERE digest IN ({marks})",  # noqa: S608
                chunk,
            ):
                subjects.setdefault(d, []).append((alg, value))
            ptypes: dict[str, list[str]] = {}
            for d, ptype in self._read(
                f"SELECT digest, predicate_type FROM attestation_predicates WHERE digest IN ({marks})",  # noqa: S608
                chunk,
            ):
                ptypes.setdefault(d, []).append(ptype)
            signers: dict[str, list[tuple[str, str]]] = {}
            for d, kind, value in self._read(
                f"SELECT digest, kind, value FROM attestation_signers WHERE digest IN ({marks})",  # noqa: S608
                chunk,
            ):
                signers.setdefault(d, []).append((kind, value))
            for digest, body, kind, source, at in rows:
                out.append(
                    StoredAttestation(
                        digest=digest,
                        body=bytes(body),
                        kind=kind,
                        source=source,
                        ingested_at=at,
                        subjects=tuple(sorted(subjects.get(digest, ()))),
                        predicate_types=tuple(sorted(ptypes.get(digest, ()))),
                        signers=tuple(sorted(signers.get(digest, ()))),
                    )
                )
        out.sort(key=lambda a: (a.ingested_at, a.digest))
        return out

    def key_subjects(self) -> Iterator[tuple[str, str]]:
        """Every artifact in the store once: its strongest digest, sorted.

        Raises:
            InputError: The store cannot be read.
        """
        rows = self._read(
            "SELECT DISTINCT alg, value FROM attestation_subjects WHERE is_key = 1 "
            "ORDER BY alg, value"
        )
        for alg, value in rows:
            yield str(alg), str(value)

    def rejections(self) -> list[StoredRejection]:
        """Every rejected input, in ingestion order.

        Raises:
            InputError: The store cannot be read.
        """
        rows = self._read(
            "SELECT digest, source, reason, ingested_at FROM rejected "
            "ORDER BY ingested_at, source, digest"
        )
        return [StoredRejection(*map(str, row)) for row in rows]

    def counts(self) -> dict[str, int]:
        """Rows per table (attestations, subjects, predicates, signers, rejected).

        Raises:
            InputError: The store cannot be read.
        """
        out: dict[str, int] = {}
        for name, table in (
            ("attestations", "attestations"),
            ("subjects", "attestation_subjects"),
            ("predicates", "attestation_predicates"),
            ("signers", "attestation_signers"),
            ("rejected", "rejected"),
        ):
            out[name] = int(self._read(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608 - fixed names
        return out
