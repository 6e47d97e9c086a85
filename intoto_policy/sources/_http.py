"""``https://...`` and ``file:PATH`` sources: a bundle, an envelope or JSON Lines of them."""

from __future__ import annotations

from .._errors import InputError, JSONError
from ..model._json import JSONLimits, loads
from ._files import read_file
from ._source import Context, Item

__all__ = ["fetch_file", "fetch_url", "split_document"]


def split_document(data: bytes, *, location: str, ctx: Context) -> list[Item]:
    """One item for a JSON document, one per line for JSON Lines.

    Raises:
        FetchError: Neither one JSON document nor JSON Lines.
    """
    limits = JSONLimits(max_bytes=len(data) + 1)
    try:
        loads(data, source=location, limits=limits)
    except JSONError as whole:
        items: list[Item] = []
        for number, line in enumerate(data.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                loads(line, source=location, limits=limits)
            except JSONError:
                raise ctx.fail(f"invalid JSON in {location}: {whole.problem}") from None
            items.append(Item(f"{location}:{number}", line.strip()))
        if not items:
            raise ctx.fail(f"invalid JSON in {location}: {whole.problem}") from None
        return items
    return [Item(location, data)]


def fetch_url(ctx: Context, rest: str, scheme: str) -> list[Item]:
    """GET one file over HTTPS (plain HTTP only on loopback).

    Raises:
        FetchError: The request fails or the body is not JSON / JSON Lines.
    """
    url = f"{scheme}{rest}"
    response = ctx.client.get(url)
    return split_document(response.body, location=url, ctx=ctx)


def fetch_file(ctx: Context, rest: str) -> list[Item]:
    """Read a local file (same size limits as a response).

    Raises:
        FetchError: The file cannot be read or is not JSON / JSON Lines.
    """
    if not rest:
        raise ctx.fail("file: needs a path")
    try:
        data = read_file(rest, JSONLimits(max_bytes=ctx.client.limits.max_response_bytes))
    except InputError as exc:
        raise ctx.fail(f"{rest}: {exc.problem}") from None
    return split_document(data, location=rest, ctx=ctx)
