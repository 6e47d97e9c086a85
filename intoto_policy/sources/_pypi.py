"""``pypi:PROJECT==VERSION[/FILENAME]``: PyPI's integrity API (PEP 740 provenance).

The JSON API gives each file's sha256 (recorded, and used to pick the files
matching a given subject); the integrity API gives each file's provenance
object, whose attestations are taken out as compact JSON.
"""

from __future__ import annotations

import re
from typing import Final

from .._errors import ValidationError
from ..model._digests import DigestSet
from ._source import Context, Item, cap, compact, predicate_type_of

__all__ = ["fetch_pypi"]

_NAME: Final = re.compile(r"[A-Za-z0-9_.-]+")


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
                raw = compact(att)
                if ctx.wants(predicate_type_of(raw)):
                    items.append(Item(f"{url}#{b_index}.{a_index}", raw))
                    cap(ctx, items)
    return items
