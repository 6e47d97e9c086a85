"""``npm:NAME@VERSION``: the npm registry's attestations endpoint.

The package document's ``dist.integrity`` (the tarball's sha512) is the
subject: recorded, and checked against any subject given. Each bundle is
taken out of the listing as compact JSON; its DSSE payload, which the
signature covers, is unchanged.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from typing import Any, Final

from .._errors import ValidationError
from ..model._digests import DigestSet
from ._source import Context, Item, cap, check_subject, compact

__all__ = ["fetch_npm"]

_NAME: Final = re.compile(r"[A-Za-z0-9_.-]+")
_NPM_NAME: Final = re.compile(r"(?:@[a-z0-9][a-z0-9_.-]*/)?[a-z0-9][a-z0-9_.-]*")


def _sri_sha512(integrity: Any) -> DigestSet | None:
    if not isinstance(integrity, str):
        return None
    for part in integrity.split():
        alg, _, value = part.partition("-")
        if alg == "sha512":
            try:
                return DigestSet({"sha512": base64.b64decode(value, validate=True).hex()})
            except (binascii.Error, ValidationError):
                return None
    return None


def fetch_npm(ctx: Context, rest: str) -> list[Item]:
    """The npm registry's attestations for NAME@VERSION; the tarball's sha512 is the subject.

    Raises:
        FetchError: A bad NAME@VERSION, a failing registry, a tarball digest
            that matches no given subject, or an unexpected document.
    """
    name, at, version = rest.rpartition("@")
    if not at or not _NPM_NAME.fullmatch(name) or not _NAME.fullmatch(version):
        raise ctx.fail("expected npm:NAME@VERSION")
    base = ctx.base_url("npm")
    escaped = urllib.parse.quote(name, safe="@")
    document = ctx.client.get_json(f"{base}/{escaped}/{version}")
    dist = document.get("dist") if isinstance(document, dict) else None
    subject = _sri_sha512(dist.get("integrity") if isinstance(dist, dict) else None)
    if subject is None:
        raise ctx.fail(f"the package document of {name}@{version} has no sha512 integrity")
    ctx.found_subjects.append(subject)
    check_subject(ctx, [subject], f"the tarball of {name}@{version}")
    url = f"{base}/-/npm/v1/attestations/{escaped}@{version}"
    doc = ctx.client.get_json(url)
    entries = doc.get("attestations") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise ctx.fail(f"unexpected response shape from {url}")
    items: list[Item] = []
    for number, entry in enumerate(entries):
        bundle = entry.get("bundle") if isinstance(entry, dict) else None
        if not isinstance(bundle, dict):
            raise ctx.fail(f"attestations[{number}] from {url} has no bundle")
        declared = entry.get("predicateType")
        if ctx.wants(declared if isinstance(declared, str) else None):
            items.append(Item(f"{url}#{number}", compact(bundle)))
            cap(ctx, items)
    return items
