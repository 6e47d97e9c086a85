"""Fetching evidence from where it lives: a separate, explicit step.

Verification never touches the network. This package is the one place that
does, and only when asked (``intoto-policy fetch``, ``verify --from``, or
:func:`fetch`). Each source scheme is one module, found by its prefix in
:data:`SCHEMES`; everything fetched comes back as
:class:`~intoto_policy.Attestation` objects that ``verify`` accepts, with
the bytes of each item as received.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .._errors import FetchError, JSONError
from ..model._attestations import Attestation, parse_attestations
from ..model._digests import DigestSet
from ..model._json import JSONLimits
from ._client import FetchLimits, HttpClient, redact_url
from ._github import fetch_github
from ._http import fetch_file, fetch_url
from ._npm import fetch_npm
from ._oci import fetch_oci
from ._pypi import fetch_pypi
from ._source import BASE_URL_ENV, DEFAULT_BASE_URLS, Context, Item, predicate_type_of

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URLS",
    "SCHEMES",
    "FetchLimits",
    "FetchResult",
    "SourceRecord",
    "fetch",
    "fetch_all",
    "jsonl",
]

Fetcher = Callable[[Context, str], list[Item]]

# Keyed by prefix; the longest matching prefix wins. Adding a scheme is one entry.
SCHEMES: Final[Mapping[str, Fetcher]] = {
    "oci://": fetch_oci,
    "github:": fetch_github,
    "npm:": fetch_npm,
    "pypi:": fetch_pypi,
    "https://": lambda ctx, rest: fetch_url(ctx, rest, "https://"),
    "http://": lambda ctx, rest: fetch_url(ctx, rest, "http://"),
    "file:": fetch_file,
}


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """What one source gave.

    Attributes:
        source: The source as written.
        attestations: How many usable attestations it gave (items that do
            not parse as one are kept, with their problem, but not counted).
        subjects: Subject digests the source itself declared (npm tarball,
            PyPI files), for the record; they bind nothing by themselves.
    """

    source: str
    attestations: int
    subjects: tuple[Mapping[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in reports."""
        return {
            "source": self.source,
            "attestations": self.attestations,
            "subjects": [dict(s) for s in self.subjects],
        }


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Everything fetched from one or more sources.

    Attributes:
        attestations: Ready for ``verify`` (unparsable items carry a problem).
        items: The items as received, in order (for writing JSON Lines).
        sources: One record per source.
    """

    attestations: tuple[Attestation, ...] = ()
    items: tuple[Item, ...] = ()
    sources: tuple[SourceRecord, ...] = field(default=())


def _scheme(source: str) -> tuple[Fetcher, str]:
    matches = [p for p in SCHEMES if source.startswith(p)]
    if not matches:
        known = ", ".join(SCHEMES)
        raise FetchError(f"unknown source kind (expected one of: {known})", source=source)
    prefix = max(matches, key=len)
    return SCHEMES[prefix], source[len(prefix) :]


def fetch(
    source: str,
    *,
    subjects: Sequence[DigestSet | Mapping[str, str]] = (),
    predicate_types: Sequence[str] = (),
    limits: FetchLimits | None = None,
    env: Mapping[str, str] | None = None,
    base_urls: Mapping[str, str] | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[int], object] | None = None,
) -> FetchResult:
    """Fetch the attestations one source holds.

    Args:
        source: ``oci://REGISTRY/REPO@sha256:HEX`` (or ``:TAG``),
            ``github:OWNER[/REPO]``, ``npm:NAME@VERSION``,
            ``pypi:PROJECT==VERSION[/FILENAME]``, ``https://...`` or
            ``file:PATH``.
        subjects: Digest sets of the artifacts of interest (GitHub needs
            one; npm and PyPI check theirs against them).
        predicate_types: Keep only these predicate types (empty: all).
        limits: Size, count, time and retry bounds.
        env: Environment for tokens, credentials and base URLs (default:
            ``os.environ``).
        base_urls: ``{"github"|"npm"|"pypi": URL}`` overrides.
        sleep: Called with the delay before each retry.
        clock: Monotonic seconds, for the request and source deadlines.
        progress: Called with the size of each chunk of response body
            received (for a progress display).

    Returns:
        The attestations, the items as received, and one source record.

    Raises:
        FetchError: The source is malformed, unreachable, answers with an
            error or an unexpected document, or exceeds a limit.
    """
    import os  # noqa: PLC0415

    # Redacted once, here: every message, record and report names the redacted form.
    source = redact_url(source)
    run, rest = _scheme(source)
    limits = limits or FetchLimits()
    wanted = tuple(s if isinstance(s, DigestSet) else DigestSet(s) for s in subjects)
    with HttpClient(source, limits, sleep, clock, progress=progress) as client:
        ctx = Context(
            source=source,
            client=client,
            subjects=wanted,
            predicate_types=tuple(predicate_types),
            env=dict(os.environ) if env is None else dict(env),
            base_urls=dict(base_urls or {}),
        )
        items = [i for i in run(ctx, rest) if ctx.wants(predicate_type_of(i.raw))]
    if len(items) > limits.max_attestations:
        raise FetchError(f"more than {limits.max_attestations} attestations", source=source)
    attestations: list[Attestation] = []
    json_limits = JSONLimits(max_bytes=limits.max_response_bytes)
    for item in items:
        attestations.extend(
            parse_attestations(item.raw, source=f"{source} {item.location}", limits=json_limits)
        )
    if len(attestations) > limits.max_attestations:  # one item may hold many
        raise FetchError(f"more than {limits.max_attestations} attestations", source=source)
    # Unparsable items stay in the result (verify lists them as rejected) but do not count.
    usable = sum(1 for a in attestations if a.problem is None)
    record = SourceRecord(source, usable, tuple(ctx.found_subjects))
    return FetchResult(tuple(attestations), tuple(items), (record,))


def fetch_all(sources: Iterable[str], **kwargs: Any) -> FetchResult:
    """:func:`fetch` for several sources, results concatenated in order.

    Raises:
        FetchError: As for :func:`fetch`; the first failing source stops it.
    """
    results = [fetch(s, **kwargs) for s in sources]
    return FetchResult(
        tuple(a for r in results for a in r.attestations),
        tuple(i for r in results for i in r.items),
        tuple(s for r in results for s in r.sources),
    )


def jsonl(items: Iterable[Item]) -> bytes:
    """The items as JSON Lines, one per line.

    An item's bytes are kept as received, except that line breaks (which
    JSON allows only as whitespace between tokens) become spaces so the
    item fits on one line; no value changes.

    Raises:
        FetchError: An item is not JSON (it could not be one line safely).
    """
    from ..model._json import loads  # noqa: PLC0415

    out = bytearray()
    for item in items:
        raw = item.raw.strip()
        if b"\n" in raw or b"\r" in raw:
            try:
                loads(raw, source=item.location, limits=JSONLimits(max_bytes=len(raw) + 1))
            except JSONError as exc:
                raise FetchError(exc.problem, source=item.location) from None
            raw = raw.replace(b"\r", b" ").replace(b"\n", b" ")
        out += raw + b"\n"
    return bytes(out)
