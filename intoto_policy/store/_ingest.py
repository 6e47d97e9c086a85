"""Turning input bytes into stored items, and feeding them to a store.

An input file is one item (a DSSE envelope, a Sigstore bundle, an npm or
PEP 740 container of bundles) or, when it is JSON Lines, one item per
line. Each item is stored as the exact bytes received and indexed by what
it claims: subject digests, predicate types, and signers (the key id hint,
and for a certificate its key fingerprint, identity and issuer). Nothing
here verifies a signature: the store is evidence, judged at verify time.
An item that yields no usable attestation is recorded as rejected, with
the reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from .._errors import InputError, IntotoPolicyError, JSONError, ValidationError
from ..model._attestations import Attestation, parse_attestations
from ..model._dsse import Envelope
from ..model._json import DEFAULT_LIMITS, JSONLimits, loads
from ..sources._files import read_file
from ._base import IndexedItem, PutResult, RejectedItem, SQLStore

__all__ = [
    "IngestResult",
    "index_item",
    "ingest_bytes",
    "ingest_items",
    "ingest_paths",
    "split_items",
]

#: Rejections listed in an :class:`IngestResult` (all are stored).
MAX_LISTED_REJECTIONS: Final = 100

#: Preferred digest algorithm of a subject, strongest-and-commonest first:
#: the one ``audit --all`` names the artifact by.
_KEY_ORDER: Final = ("sha256", "sha512", "sha384", "sha3_256", "sha3_512", "sha224", "sha1")

_MESSAGE_DIGEST_ALGS: Final = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}


@dataclass(slots=True)
class IngestResult:
    """What an ingest did.

    Attributes:
        stored: New items stored.
        duplicates: Items already in the store (same bytes).
        rejected: Items recorded as rejected.
        rejections: ``(source, reason)`` of the first rejections.
        skipped: Items left out because of their predicate type.
    """

    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0

    def merge(self, other: IngestResult) -> None:
        """Add another ingest's counts and listed rejections to this one."""
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.skipped += other.skipped
        room = MAX_LISTED_REJECTIONS - len(self.rejections)
        self.rejections.extend(other.rejections[: max(room, 0)])

    def add(self, batch: PutResult, rejected: Iterable[RejectedItem]) -> None:
        """Count a committed batch."""
        self.stored += batch.stored
        self.duplicates += batch.duplicates
        self.rejected += batch.rejected
        for item in rejected:
            if len(self.rejections) < MAX_LISTED_REJECTIONS:
                self.rejections.append((item.source, item.reason))


def split_items(
    data: bytes, *, source: str, limits: JSONLimits = DEFAULT_LIMITS
) -> list[tuple[bytes, str]]:
    """Cut one input into items: the whole of it, or each line of JSON Lines.

    Returns:
        ``(bytes, source)`` per item; each item's bytes are a slice of
        ``data``, never re-encoded.
    """
    try:
        loads(data, source=source, limits=limits)
    except JSONError:
        lines = data.split(b"\n")
        numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
        if len(numbered) > 1:
            return [(line, f"{source}:{n}") for n, line in numbered]
    return [(data, source)]


def _b64(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _certificate_signers(certificate: bytes | str) -> list[tuple[str, str]]:
    """What a certificate claims: key fingerprint, identity, issuer (unverified)."""
    from ..crypto._x509 import certificate_identity, load_certificate  # noqa: PLC0415

    try:
        identity = certificate_identity(load_certificate(certificate))
    except (IntotoPolicyError, ValueError):
        return []
    out = [("fingerprint", identity.key_fingerprint), ("certificate", identity.fingerprint)]
    if identity.san:
        out.append(("identity", identity.san))
    if identity.issuer:
        out.append(("issuer", identity.issuer))
    return out


def _envelope_signers(envelope: Envelope) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for sig in envelope.signatures:
        if sig.keyid:
            out.append(("keyid", sig.keyid))
        if sig.cert:
            out.extend(_certificate_signers(sig.cert))
    return out


def _bundle_parts(
    bundle_json: bytes,
) -> tuple[Envelope | None, list[tuple[str, str]], list[tuple[str, str]]]:
    """A bundle's envelope, claimed signers, and message digest (for message signatures)."""
    try:
        doc = loads(bundle_json)
    except JSONError:
        return None, [], []
    if not isinstance(doc, dict):
        return None, [], []
    signers: list[tuple[str, str]] = []
    material = doc.get("verificationMaterial")
    if isinstance(material, dict):
        cert = material.get("certificate")
        chain = material.get("x509CertificateChain")
        if isinstance(chain, dict) and isinstance(chain.get("certificates"), list):
            cert = chain["certificates"][0] if chain["certificates"] else None
        der = _b64(cert.get("rawBytes")) if isinstance(cert, dict) else None
        if der:
            signers.extend(_certificate_signers(der))
        key = material.get("publicKey")
        if isinstance(key, dict) and isinstance(key.get("hint"), str) and key["hint"]:
            signers.append(("keyid", key["hint"]))
    digests: list[tuple[str, str]] = []
    message = doc.get("messageSignature")
    if isinstance(message, dict) and isinstance(message.get("messageDigest"), dict):
        alg = _MESSAGE_DIGEST_ALGS.get(str(message["messageDigest"].get("algorithm")))
        raw = _b64(message["messageDigest"].get("digest"))
        if alg and raw:
            digests.append((alg, raw.hex()))
    envelope = None
    if isinstance(doc.get("dsseEnvelope"), dict):
        try:
            envelope = Envelope.from_dict(doc["dsseEnvelope"])
        except ValidationError:
            envelope = None
        if envelope is not None:
            signers.extend(_envelope_signers(envelope))
    return envelope, signers, digests


def _subject_rows(digests: Sequence[tuple[str, str]]) -> list[tuple[str, str, bool]]:
    if not digests:
        return []
    algs = [alg for alg, _ in digests]
    key = next((a for a in _KEY_ORDER if a in algs), min(algs))
    return [(alg, value, alg == key) for alg, value in digests]


def _index_attestation(
    att: Attestation, limits: JSONLimits
) -> tuple[list[tuple[str, str, bool]], list[str], list[tuple[str, str]], str | None]:
    """Subjects, predicate types, signers of one attestation, or why it has none."""
    signers: list[tuple[str, str]] = []
    subjects: list[tuple[str, str, bool]] = []
    envelope = att.envelope
    if att.bundle is not None:
        envelope, signers, message = _bundle_parts(att.bundle.bundle_json)
        subjects.extend(_subject_rows(message))
    elif envelope is not None:
        signers = _envelope_signers(envelope)
    if envelope is None:
        return subjects, [], signers, None if subjects else "no DSSE envelope or message digest"
    try:
        statement = envelope.statement(limits=limits)
    except IntotoPolicyError as exc:
        return subjects, [], signers, f"not an in-toto Statement: {exc.problem}"
    for sub in statement.subject:
        assert sub.digest is not None  # a Statement's subjects all have one
        subjects.extend(_subject_rows(list(sub.digest.items())))
    return subjects, [statement.predicate_type], signers, None


def index_item(
    body: bytes, *, source: str, limits: JSONLimits = DEFAULT_LIMITS
) -> IndexedItem | RejectedItem:
    """Parse one item and say what it is indexed by, or why it is rejected.

    Nothing is verified: the signers are what the signatures claim.
    """
    digest = hashlib.sha256(body).hexdigest()
    attestations = parse_attestations(body, source=source, limits=limits)
    usable = [a for a in attestations if a.problem is None]
    if not usable:
        reason = next((a.problem for a in attestations if a.problem), "no attestation found")
        return RejectedItem(digest=digest, body=body, source=source, reason=reason)
    subjects: dict[tuple[str, str], bool] = {}
    ptypes: set[str] = set()
    signers: set[tuple[str, str]] = set()
    problems: list[str] = []
    for att in usable:
        found, types, claimed, problem = _index_attestation(att, limits)
        for alg, value, is_key in found:
            subjects[alg, value] = subjects.get((alg, value), False) or is_key
        ptypes.update(types)
        signers.update(claimed)
        if problem:
            problems.append(problem)
    if not subjects:
        # Nothing could ever find it by subject: say so instead of storing it.
        return RejectedItem(
            digest=digest,
            body=body,
            source=source,
            reason=problems[0] if problems else "no subject digest",
        )
    return IndexedItem(
        digest=digest,
        body=body,
        kind="bundle" if any(a.bundle is not None for a in usable) else "envelope",
        source=source,
        subjects=tuple((alg, value, key) for (alg, value), key in sorted(subjects.items())),
        predicate_types=tuple(sorted(ptypes)),
        signers=tuple(sorted(signers)),
    )


def _timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValidationError("the ingestion time must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Batcher:
    """Streams items into write transactions of ``size`` items each."""

    def __init__(self, store: SQLStore, at: str, size: int) -> None:
        self.store, self.at, self.size = store, at, max(1, size)
        self.items: list[IndexedItem | RejectedItem] = []
        self.done = PutResult()
        self.lost = False
        self.result = IngestResult()

    def add(self, item: IndexedItem | RejectedItem) -> None:
        if not self.items:
            self.store.begin_write()
        self.items.append(item)
        if not self.lost:
            counts = self.store.insert(item, ingested_at=self.at)
            if counts is None:
                self.lost = True  # rolled back: the whole batch is stored again at flush
            else:
                self.done = PutResult(
                    self.done.stored + counts.stored,
                    self.done.duplicates + counts.duplicates,
                    self.done.rejected + counts.rejected,
                )
        if len(self.items) >= self.size:
            self.flush()

    def flush(self) -> None:
        if not self.items:
            return
        if self.lost:
            done = self.store.put(self.items, ingested_at=self.at)
        else:
            self.store.commit()
            done = self.done
        self.result.add(done, (i for i in self.items if isinstance(i, RejectedItem)))
        self.items, self.done, self.lost = [], PutResult(), False


def ingest_bytes(
    store: SQLStore,
    data: bytes,
    *,
    source: str,
    ingested_at: datetime,
    limits: JSONLimits = DEFAULT_LIMITS,
) -> IngestResult:
    """Ingest one input's bytes (one item, or JSON Lines of items).

    Raises:
        InputError: The store cannot be written.
        ValidationError: ``ingested_at`` is naive.
    """
    batch = _Batcher(store, _timestamp(ingested_at), 1000)
    for body, where in split_items(data, source=source, limits=limits):
        batch.add(index_item(body, source=where, limits=limits))
    batch.flush()
    return batch.result


def ingest_items(
    store: SQLStore,
    items: Iterable[tuple[bytes, str]],
    *,
    ingested_at: datetime,
    batch_size: int = 500,
    limits: JSONLimits = DEFAULT_LIMITS,
    predicate_types: Sequence[str] = (),
) -> IngestResult:
    """Ingest items that are already one item each, such as what ``fetch`` returns.

    Each item's bytes are stored exactly as given (never split, never
    re-encoded) and deduplicated by digest like files are; committed in
    batches of ``batch_size`` as :func:`ingest_paths` does.

    Args:
        store: An open store (created and migrated).
        items: ``(bytes, source)`` per item.
        ingested_at: The ingestion time to record (timezone-aware).
        batch_size: Items per transaction.
        limits: Size and depth bounds for each item.
        predicate_types: If given, an item is stored only when the store
            indexes it under one of these types (read as the store reads
            them, from the parsed statements); items that do not parse are
            still recorded as rejected, never dropped silently.

    Returns:
        Counts of stored, duplicate, rejected and skipped items.

    Raises:
        InputError: The store cannot be written.
        ValidationError: ``ingested_at`` is naive.
    """
    batch = _Batcher(store, _timestamp(ingested_at), batch_size)
    try:
        for body, source in items:
            item = index_item(body, source=source, limits=limits)
            if (
                predicate_types
                and isinstance(item, IndexedItem)
                and not set(item.predicate_types) & set(predicate_types)
            ):
                batch.result.skipped += 1
                continue
            batch.add(item)
        batch.flush()
    except BaseException:
        store.rollback()  # the batch being built is dropped whole
        raise
    return batch.result


def _files(paths: Sequence[Path]) -> Iterator[Path]:
    from ..policy._loading import _walk  # noqa: PLC0415 - the same walk as verify's

    for path in paths:
        yield from _walk(path, frozenset())


def ingest_paths(
    store: SQLStore,
    paths: Sequence[Path],
    *,
    ingested_at: datetime,
    batch_size: int = 500,
    limits: JSONLimits = DEFAULT_LIMITS,
    progress: Callable[[int], object] | None = None,
) -> IngestResult:
    """Ingest files and directories (recursively, attestation file names only).

    Items are committed in batches of ``batch_size``: a process killed
    mid-ingest leaves every committed batch whole and nothing of the batch
    it was building. Running the same ingest again completes it (stored
    items are recognised by digest).

    Args:
        store: An open store (created and migrated).
        paths: Files (always read) and directories.
        ingested_at: The ingestion time to record (timezone-aware).
        batch_size: Items per transaction.
        limits: Size and depth bounds for each file.
        progress: Called with 1 after each item is added to a batch.

    Returns:
        Counts of stored, duplicate and rejected items.

    Raises:
        InputError: A named path does not exist, or the store cannot be
            written.
        ValidationError: ``ingested_at`` is naive.
    """
    for path in paths:
        if not path.exists():
            raise InputError("no such file or directory", source=str(path))
    batch = _Batcher(store, _timestamp(ingested_at), batch_size)
    try:
        _feed(batch, paths, limits, progress)
    except BaseException:
        store.rollback()  # the batch being built is dropped whole
        raise
    return batch.result


def _feed(
    batch: _Batcher,
    paths: Sequence[Path],
    limits: JSONLimits,
    progress: Callable[[int], object] | None,
) -> None:
    for file in _files(paths):
        try:
            data = read_file(file, limits)
        except InputError as exc:
            # Unreadable or too large: recorded, never skipped silently.
            batch.add(
                RejectedItem(
                    digest=hashlib.sha256(b"").hexdigest(),
                    body=None,
                    source=str(file),
                    reason=exc.problem,
                )
            )
            if progress is not None:
                progress(1)
            continue
        for body, where in split_items(data, source=str(file), limits=limits):
            batch.add(index_item(body, source=where, limits=limits))
            if progress is not None:
                progress(1)
    batch.flush()
