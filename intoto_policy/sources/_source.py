"""What every source module shares: the fetch context and the found items."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .._errors import FetchError, JSONError, ValidationError
from ..model._digests import DigestSet
from ..model._json import loads
from ._client import HttpClient

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URLS",
    "Context",
    "Item",
    "cap",
    "check_subject",
    "compact",
    "predicate_type_of",
]

DEFAULT_BASE_URLS: Final[Mapping[str, str]] = {
    "github": "https://api.github.com",
    "npm": "https://registry.npmjs.org",
    "pypi": "https://pypi.org",
}
BASE_URL_ENV: Final[Mapping[str, str]] = {
    "github": "INTOTO_POLICY_GITHUB_API",
    "npm": "INTOTO_POLICY_NPM_REGISTRY",
    "pypi": "INTOTO_POLICY_PYPI_URL",
}


@dataclass(frozen=True, slots=True)
class Item:
    """One signed item as received: a DSSE envelope, a Sigstore bundle or a PEP 740 attestation.

    Attributes:
        location: Where it came from (a URL, a blob digest, a path).
        raw: Its bytes.
    """

    location: str
    raw: bytes


@dataclass
class Context:
    """What a source module needs: the client, the filters and the settings.

    Attributes:
        source: The source as written.
        client: The open HTTP client (its errors name ``source``).
        subjects: Digest sets of the artifacts asked about (may be empty).
        predicate_types: Wanted predicate types (empty: all).
        env: Environment variables (tokens, base URLs, Docker config).
        base_urls: Service base URLs (GitHub API, npm registry, PyPI).
        found_subjects: Subjects the source itself declared (npm tarball, PyPI files).
    """

    source: str
    client: HttpClient
    subjects: tuple[DigestSet, ...] = ()
    predicate_types: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    base_urls: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_BASE_URLS))
    found_subjects: list[DigestSet] = field(default_factory=list)

    def fail(self, problem: str) -> FetchError:
        """An error about this source."""
        return FetchError(problem, source=self.source)

    def base_url(self, service: str) -> str:
        """The base URL of ``service`` (explicit setting, then environment, then default)."""
        url = self.base_urls.get(service) or self.env.get(BASE_URL_ENV[service]) or ""
        return (url or DEFAULT_BASE_URLS[service]).rstrip("/")

    def wants(self, predicate_type: str | None) -> bool:
        """Whether an item declaring ``predicate_type`` passes the filter.

        An item that declares none is kept: the filter only saves downloads,
        and verification judges what the signed statement says.
        """
        return (
            not self.predicate_types
            or predicate_type is None
            or (predicate_type in self.predicate_types)
        )


def predicate_type_of(raw: bytes) -> str | None:
    """The predicateType inside an item's (unverified) statement, if readable.

    Used only to filter: dropping an item never makes verification pass.
    """
    try:
        doc = loads(raw, source="item")
    except JSONError:
        return None
    payload: Any = None
    if isinstance(doc, dict):
        if isinstance(doc.get("dsseEnvelope"), dict):
            payload = doc["dsseEnvelope"].get("payload")
        elif isinstance(doc.get("envelope"), dict):
            payload = doc["envelope"].get("statement")
        else:
            payload = doc.get("payload")
    if not isinstance(payload, str):
        return None
    from ..model._dsse import b64decode  # noqa: PLC0415 - only when filtering

    try:  # standard or URL-safe, padded or not: as envelopes are read
        statement = loads(b64decode(payload, what="payload"), source="payload")
    except (ValidationError, JSONError):
        return None
    if isinstance(statement, dict) and isinstance(statement.get("predicateType"), str):
        return str(statement["predicateType"])
    return None


def compact(value: Any) -> bytes:
    """A JSON value as compact UTF-8 (an item taken out of a listing)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def cap(ctx: Context, items: list[Item]) -> None:
    """Stop as soon as a source gives more attestations than allowed.

    Raises:
        FetchError: Too many.
    """
    if len(items) > ctx.client.limits.max_attestations:
        raise ctx.fail(f"more than {ctx.client.limits.max_attestations} attestations")


def check_subject(ctx: Context, declared: list[DigestSet], what: str) -> None:
    """Require a source's own subject digests to match one given subject, if any given.

    Raises:
        FetchError: None matches.
    """
    if not ctx.subjects:
        return
    for given in ctx.subjects:
        for found in declared:
            if any(found.get(alg) == value for alg, value in given.items()):
                return
    raise ctx.fail(f"{what} does not match any given subject")
