"""``github:``, ``npm:`` and ``pypi:`` sources: JSON APIs listing Sigstore bundles.

Each bundle (or PEP 740 attestation) is taken out of its listing and kept
as a compact JSON document. Its signature covers the DSSE payload, which is
carried byte for byte; only the listing around it is dropped.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse
from typing import Any, Final

from .._digests import DigestSet
from .._errors import ValidationError
from ._source import Context, Item

__all__ = ["fetch_github", "fetch_npm", "fetch_pypi"]

_GITHUB_HEADERS: Final = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
}
_NAME: Final = re.compile(r"[A-Za-z0-9_.-]+")
_NPM_NAME: Final = re.compile(r"(?:@[a-z0-9][a-z0-9_.-]*/)?[a-z0-9][a-z0-9_.-]*")


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _cap(ctx: Context, items: list[Item]) -> None:
    if len(items) > ctx.client.limits.max_attestations:
        raise ctx.fail(f"more than {ctx.client.limits.max_attestations} attestations")


def _sha256_digests(ctx: Context) -> list[str]:
    return sorted({f"sha256:{s['sha256']}" for s in ctx.subjects if "sha256" in s})


# --------------------------------------------------------------------------
# GitHub


def _github_entries(ctx: Context, entries: Any, where: str, items: list[Item]) -> None:
    if entries is None:
        return
    if not isinstance(entries, list):
        raise ctx.fail(f"unexpected response shape from {where}")
    for entry in entries:
        bundle = entry.get("bundle") if isinstance(entry, dict) else None
        if not isinstance(bundle, dict):
            raise ctx.fail(f"an entry from {where} has no inline bundle")
        raw = _compact(bundle)
        from ._source import predicate_type_of  # noqa: PLC0415

        if ctx.wants(predicate_type_of(raw)):
            items.append(Item(f"{where}#{len(items)}", raw))
            _cap(ctx, items)


def _next_link(ctx: Context, header: str | None, base: str) -> str | None:
    if not header:
        return None
    for part in header.split(","):
        match = re.search(r'<([^>]+)>\s*;\s*rel="next"', part)
        if match:
            url = match.group(1)
            # The token goes only to the configured API host.
            if urllib.parse.urlsplit(url).netloc != urllib.parse.urlsplit(base).netloc:
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


# --------------------------------------------------------------------------
# npm


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


def _check_subject(ctx: Context, declared: list[DigestSet], what: str) -> None:
    if not ctx.subjects:
        return
    for given in ctx.subjects:
        for found in declared:
            if any(found.get(alg) == value for alg, value in given.items()):
                return
    raise ctx.fail(f"{what} does not match any given subject")


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
    _check_subject(ctx, [subject], f"the tarball of {name}@{version}")
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
            items.append(Item(f"{url}#{number}", _compact(bundle)))
            _cap(ctx, items)
    return items


# --------------------------------------------------------------------------
# PyPI


def fetch_pypi(ctx: Context, rest: str) -> list[Item]:
    """PyPI's integrity API (PEP 740 provenance) for a release's files.

    Raises:
        FetchError: A bad PROJECT==VERSION[/FILENAME], a failing index, a file
            not in the release, or a digest that matches no given subject.
    """
    spec, _, filename = rest.partition("/")
    project, eq, version = spec.partition("==")
    if not eq or not _NAME.fullmatch(project) or not _NAME.fullmatch(version):
        raise ctx.fail("expected pypi:PROJECT==VERSION or pypi:PROJECT==VERSION/FILENAME")
    if filename and not _NAME.fullmatch(filename):
        raise ctx.fail(f"not a distribution file name: {filename!r}")
    base = ctx.base_url("pypi")
    release = ctx.client.get_json(f"{base}/pypi/{project}/{version}/json")
    urls = release.get("urls") if isinstance(release, dict) else None
    if not isinstance(urls, list):
        raise ctx.fail(f"unexpected release document for {project}=={version}")
    files: dict[str, DigestSet] = {}
    for entry in urls:
        digests = entry.get("digests") if isinstance(entry, dict) else None
        if isinstance(digests, dict) and isinstance(digests.get("sha256"), str):
            try:
                files[str(entry.get("filename"))] = DigestSet({"sha256": digests["sha256"]})
            except ValidationError:
                raise ctx.fail(f"bad sha256 for {entry.get('filename')!r}") from None
    if filename:
        if filename not in files:
            raise ctx.fail(f"{filename} is not a file of {project}=={version}")
        files = {filename: files[filename]}
    if ctx.subjects:
        wanted = {
            n: d
            for n, d in files.items()
            if any(s.get("sha256") == d["sha256"] for s in ctx.subjects)
        }
        if not wanted:
            raise ctx.fail(f"no file of {project}=={version} matches a given subject")
        files = wanted
    items: list[Item] = []
    for name, digest in sorted(files.items()):
        ctx.found_subjects.append(digest)
        url = f"{base}/integrity/{project}/{version}/{name}/provenance"
        # Without a file name, a file without provenance is simply skipped.
        response = ctx.client.get(url, headers={"Accept": "application/json"}, ok=(200, 404))
        if response.status == 404:
            if filename:
                raise ctx.fail(f"HTTP 404 from {url}")
            continue
        doc = response.json(source=ctx.source)
        bundles = doc.get("attestation_bundles") if isinstance(doc, dict) else None
        if not isinstance(bundles, list):
            raise ctx.fail(f"unexpected provenance shape from {url}")
        for b_index, group in enumerate(bundles):
            atts = group.get("attestations") if isinstance(group, dict) else None
            if not isinstance(atts, list):
                raise ctx.fail(f"unexpected provenance shape from {url}")
            for a_index, att in enumerate(atts):
                raw = _compact(att)
                from ._source import predicate_type_of  # noqa: PLC0415

                if ctx.wants(predicate_type_of(raw)):
                    items.append(Item(f"{url}#{b_index}.{a_index}", raw))
                    _cap(ctx, items)
    return items
