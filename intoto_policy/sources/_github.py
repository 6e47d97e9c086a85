"""``github:OWNER[/REPO]``: GitHub's attestations API, queried by subject digest.

One digest: ``/repos/OWNER/REPO/attestations/sha256:HEX`` (or the
``/orgs/OWNER/...`` form), following ``Link: rel="next"`` pages on the same
host only. Several digests for an owner: the bulk endpoint. ``GITHUB_TOKEN``
is sent when set (never printed); public data needs none.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, Final

from ._source import Context, Item, cap, compact, predicate_type_of

__all__ = ["fetch_github"]

_GITHUB_HEADERS: Final = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
}
_NAME: Final = re.compile(r"[A-Za-z0-9_.-]+")


def _sha256_digests(ctx: Context) -> list[str]:
    return sorted({f"sha256:{s['sha256']}" for s in ctx.subjects if "sha256" in s})


def _github_entries(ctx: Context, entries: Any, where: str, items: list[Item]) -> None:
    if entries is None:
        return
    if not isinstance(entries, list):
        raise ctx.fail(f"unexpected response shape from {where}")
    for entry in entries:
        bundle = entry.get("bundle") if isinstance(entry, dict) else None
        if not isinstance(bundle, dict):
            raise ctx.fail(f"an entry from {where} has no inline bundle")
        raw = compact(bundle)
        if ctx.wants(predicate_type_of(raw)):
            items.append(Item(f"{where}#{len(items)}", raw))
            cap(ctx, items)


def _netloc(url: str) -> str | None:
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.hostname}:{port}"


def _next_link(ctx: Context, header: str | None, base: str) -> str | None:
    if not header:
        return None
    for part in header.split(","):
        match = re.search(r'<([^>]+)>\s*;\s*rel="next"', part)
        if match:
            url = match.group(1)
            # The token goes only to the configured API host.
            if _netloc(url) != _netloc(base):
                raise ctx.fail(f"a pagination link leaves {base}")
            return url
    return None


def fetch_github(ctx: Context, rest: str) -> list[Item]:
    """GitHub's attestations API, by subject digest.

    Raises:
        FetchError: No sha256 subject given, a bad owner/repo, or a failing API.
    """
    owner, _, repo = rest.partition("/")
    if not _NAME.fullmatch(owner) or (repo and not _NAME.fullmatch(repo)):
        raise ctx.fail("expected github:OWNER or github:OWNER/REPO")
    digests = _sha256_digests(ctx)
    if not digests:
        raise ctx.fail("the GitHub attestations API is queried by subject: give a sha256 subject")
    base = ctx.base_url("github")
    headers = dict(_GITHUB_HEADERS)
    token = ctx.env.get("GITHUB_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    query = {"per_page": "100"}
    if len(ctx.predicate_types) == 1:
        query["predicate_type"] = ctx.predicate_types[0]
    items: list[Item] = []
    if not repo and len(digests) > 1:
        bulk = f"{base}/orgs/{owner}/attestations/bulk-list?per_page=100"
        body: dict[str, Any] = {"subject_digests": digests}
        if "predicate_type" in query:
            body["predicate_type"] = query["predicate_type"]
        response = ctx.client.request("POST", bulk, headers=headers, json_body=body)
        doc = response.json(source=ctx.source)
        by_digest = doc.get("attestations_subject_digests") if isinstance(doc, dict) else None
        if not isinstance(by_digest, dict):
            raise ctx.fail(f"unexpected response shape from {bulk}")
        for digest in digests:
            _github_entries(ctx, by_digest.get(digest), f"{bulk} [{digest}]", items)
        return items
    for digest in digests:
        path = f"repos/{owner}/{repo}" if repo else f"orgs/{owner}"
        url: str | None = f"{base}/{path}/attestations/{digest}?{urllib.parse.urlencode(query)}"
        while url is not None:
            response = ctx.client.get(url, headers=headers, ok=(200, 404))
            if response.status == 404:  # GitHub's answer for "none for this digest"
                break
            doc = response.json(source=ctx.source)
            entries = doc.get("attestations") if isinstance(doc, dict) else None
            _github_entries(ctx, entries, url.partition("?")[0], items)
            url = _next_link(ctx, response.headers.get("link"), base)
    return items
