"""The one HTTP client every source uses: limits, retries, backoff, auth hooks.

Built on httpx, imported here only, so nothing that does not fetch pays for
it. Every response is read raw (httpx's own decoding is bypassed) and
decoded here: only ``identity``, ``gzip`` and ``deflate`` are accepted, one
layer at most, inflated in bounded steps so that neither the bytes received
nor the bytes decoded can pass the per-response limit; a per-source budget
caps the total. Each request has a total deadline (connect to last byte) and
each source one over all its requests, retries and backoff sleeps; the clock
and the sleep are parameters so tests never wait. 429 and 5xx answers (and
connection failures) are retried with exponential backoff. Proxy environment
variables are honoured (httpx's ``trust_env``). Errors are
:class:`FetchError` naming the source; a URL in a message always goes
through :func:`redact_url` first.
"""

from __future__ import annotations

import re
import time
import urllib.parse
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .._errors import FetchError, JSONError
from ..model._json import JSONLimits, loads

__all__ = ["FetchLimits", "HttpClient", "Response", "is_loopback", "redact_url"]

_RETRY_STATUS: Final = frozenset({429, 500, 502, 503, 504})
_MAX_BACKOFF: Final = 30.0
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# zlib window bits per accepted Content-Encoding (gzip: header and trailer; deflate: zlib format).
_ENCODINGS: Final = {"gzip": 31, "x-gzip": 31, "deflate": 15}
# A digest (ALG:ENCODED) ending an OCI reference: an '@' that does not end a userinfo.
_OCI_DIGEST_TAIL: Final = re.compile(r"@[a-z0-9]+(?:[+._-][a-z0-9]+)*:[^@/]*\Z")


def redact_url(url: str, *, keep_query: bool = True) -> str:
    """``url`` with any userinfo replaced by ``***``: the one redaction for messages.

    The userinfo ends at the LAST ``@`` after ``scheme://`` (a password may
    contain ``/``, ``?``, ``#`` or ``@``); the one exception is the
    ``@ALG:HEX`` digest that ends an ``oci://`` reference. Over-redacting
    a path that contains ``@`` is harmless; printing a password is not.

    Args:
        url: Any text that may be a URL (a source as written, a response URL).
        keep_query: False drops the query and fragment (they may carry
            tokens), for URLs taken from responses.

    Returns:
        Text safe to print.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    tail = ""
    if scheme == "oci":
        found = _OCI_DIGEST_TAIL.search(rest)
        if found:
            rest, tail = rest[: found.start()], rest[found.start() :]
    if "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    out = f"{scheme}{sep}{rest}{tail}"
    if not keep_query:
        head = f"{scheme}{sep}"
        body = out[len(head) :]
        for mark in "?#":
            body = body.partition(mark)[0]
        out = head + body
    return out


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Bounds on what one fetch may cost.

    Attributes:
        max_response_bytes: Largest accepted response body.
        max_source_bytes: Most bytes read for one source, all requests together.
        max_attestations: Most attestations one source may yield.
        max_requests: Most HTTP requests for one source (bounds listing loops).
        timeout: Total seconds for one request, from connecting to the last
            byte of the body, checked after every read; a single read waits
            at most what was left when the request started, so a stalled
            request ends within twice this.
        source_timeout: Total seconds for one source: every request, retry,
            backoff sleep and page together. A retry whose sleep would end
            past it is not attempted.
        retries: Extra attempts after a 429, a 5xx or a failed connection.
        max_redirects: Redirects followed for one request.
        backoff: First retry delay in seconds (doubled each time).
    """

    max_response_bytes: int = 16 * 1024 * 1024
    max_source_bytes: int = 128 * 1024 * 1024
    max_attestations: int = 1000
    max_requests: int = 500
    timeout: float = 30.0
    source_timeout: float = 300.0
    retries: int = 3
    max_redirects: int = 5
    backoff: float = 1.0


@dataclass(frozen=True, slots=True)
class Response:
    """A fully read response."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self, *, source: str) -> Any:
        """The body as JSON (strict: duplicates, depth and size are checked).

        Raises:
            FetchError: The body is not acceptable JSON.
        """
        try:
            return loads(
                self.body, source=self.url, limits=JSONLimits(max_bytes=len(self.body) + 1)
            )
        except JSONError as exc:
            raise FetchError(
                f"invalid JSON from {_plain(self.url)}: {exc.problem}", source=source
            ) from None


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (plain HTTP is allowed only there)."""
    return host.lower() in _LOOPBACK


@dataclass
class HttpClient:
    """HTTP GET/POST with limits, retries and a per-source budget.

    Args:
        source: The source being fetched (named in every error).
        limits: The bounds.
        sleep: Called with the delay before a retry (``time.sleep`` by default).
        clock: Monotonic seconds (``time.monotonic`` by default), for the
            deadlines; the source deadline starts when the client opens.
        progress: Called with the size of each chunk of body received
            (before decoding; for a progress display, never affects what
            is fetched).

    Attributes:
        bytes_read: Bytes received for this source (before decoding).
        bytes_decoded: Bytes of bodies after decoding, for this source.
    """

    source: str
    limits: FetchLimits = field(default_factory=FetchLimits)
    sleep: Callable[[float], object] = time.sleep
    clock: Callable[[], float] = time.monotonic
    bytes_read: int = 0
    bytes_decoded: int = 0
    requests: int = 0
    _client: Any = None
    _source_deadline: float = 0.0
    progress: Callable[[int], object] | None = None

    def __enter__(self) -> HttpClient:
        import httpx  # noqa: PLC0415 - only fetching needs it

        self._source_deadline = self.clock() + self.limits.source_timeout
        self._client = httpx.Client(
            follow_redirects=True,
            max_redirects=self.limits.max_redirects,
            timeout=self.limits.timeout,
            trust_env=True,
            # Every request, redirects included: no downgrade to plain HTTP off this machine.
            event_hooks={"request": [lambda request: self._check_url(str(request.url))]},
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def fail(self, problem: str) -> FetchError:
        """An error about this source."""
        return FetchError(problem, source=self.source)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        ok: tuple[int, ...] = (200,),
    ) -> Response:
        """Send one request (retrying 429/5xx) and read the whole response.

        Args:
            method: ``GET``, ``HEAD`` or ``POST``.
            url: Where.
            headers: Extra request headers.
            json_body: A JSON request body, for POST.
            ok: Statuses returned to the caller; any other is an error.

        Returns:
            The response, its body read in full (within the limits).

        Raises:
            FetchError: Connection failure, a status not in ``ok`` (after
                retries), too many redirects, or a limit exceeded.
        """
        import httpx  # noqa: PLC0415

        if self._client is None:
            raise self.fail("the HTTP client is not open")
        parts = self._check_url(url)
        attempt = 0
        while True:
            self.requests += 1
            if self.requests > self.limits.max_requests:
                raise self.fail(f"more than {self.limits.max_requests} requests")
            deadline = self._request_deadline()
            try:
                response = self._send(method, url, headers, json_body, deadline)
            except httpx.TooManyRedirects:
                raise self.fail(
                    f"too many redirects (more than {self.limits.max_redirects}) from {url}"
                ) from None
            except httpx.TransportError as exc:
                if attempt < self.limits.retries:
                    self._backoff(attempt, None)
                    attempt += 1
                    continue
                # httpx's message may quote the URL: only the kind of failure is shown.
                raise self.fail(
                    f"cannot reach {redact_url(_host_port(parts))}: {type(exc).__name__}"
                ) from None
            if response.status in ok:
                return response
            if response.status in _RETRY_STATUS and attempt < self.limits.retries:
                self._backoff(attempt, response.headers.get("retry-after"))
                attempt += 1
                continue
            hint = " (after retries)" if response.status in _RETRY_STATUS else ""
            raise self.fail(f"HTTP {response.status} from {_plain(response.url)}{hint}")

    def _request_deadline(self) -> float:
        now = self.clock()
        if now >= self._source_deadline:
            raise self.fail(f"source deadline passed ({self.limits.source_timeout:g} s in all)")
        return min(now + self.limits.timeout, self._source_deadline)

    def _check_deadline(self, deadline: float, url: str) -> float:
        """Seconds left before ``deadline``; an error once it has passed."""
        left = deadline - self.clock()
        if left <= 0:
            if deadline >= self._source_deadline:
                raise self.fail(
                    f"source deadline passed ({self.limits.source_timeout:g} s in all) "
                    f"while reading {_plain(url)}"
                )
            raise self.fail(
                f"request deadline passed ({self.limits.timeout:g} s) while reading {_plain(url)}"
            )
        return left

    def _check_url(self, url: str) -> urllib.parse.SplitResult:
        try:
            parts = urllib.parse.urlsplit(url)
            _ = parts.port  # raises for a port that is not a number in range
        except ValueError:
            # urllib's message quotes parts of the URL (a password, say): never echoed.
            raise self.fail("not a valid URL (bad host or port)") from None
        if not parts.hostname:
            raise self.fail("no host in the URL")
        if parts.username is not None or parts.password is not None:
            # They would end up in logs and error messages; credentials come from the environment.
            raise self.fail("credentials in a URL are refused (use the environment or config)")
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
            raise self.fail(f"refusing {parts.scheme}:// for {parts.hostname}: only https")
        return parts

    def get(self, url: str, **kwargs: Any) -> Response:
        """``request("GET", url, ...)``."""
        return self.request("GET", url, **kwargs)

    def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET a JSON document (strictly parsed).

        Raises:
            FetchError: As for :meth:`request`, or the body is not JSON.
        """
        return self.get(url, **kwargs).json(source=self.source)

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        json_body: Any,
        deadline: float,
    ) -> Response:
        import httpx  # noqa: PLC0415

        cap = self.limits.max_response_bytes
        # Only encodings decoded here (in bounded steps) are asked for.
        sent = {"Accept-Encoding": "gzip", **dict(headers or {})}
        timeout = httpx.Timeout(self._check_deadline(deadline, url))
        with self._client.stream(method, url, headers=sent, json=json_body, timeout=timeout) as r:
            where = _plain(str(r.url))
            declared = r.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > cap:
                raise self.fail(f"response from {where} is over {cap} bytes")
            inflater = self._inflater(r.headers.get_list("content-encoding"), where)
            chunks: list[bytes] = []
            size = 0
            raw_size = 0
            # iter_raw: the bytes as received; httpx would inflate a whole chunk unchecked.
            for chunk in r.iter_raw():
                raw_size += len(chunk)
                self._spend(len(chunk))
                if raw_size > cap:
                    raise self.fail(f"response from {where} is over {cap} bytes")
                try:
                    pieces = _inflate(inflater, chunk, cap - size + 1)
                except ValueError as exc:
                    raise self.fail(f"response from {where}: {exc}") from None
                for piece in pieces:
                    size += len(piece)
                    self._spend_decoded(len(piece))
                    if size > cap:
                        raise self.fail(f"response from {where} is over {cap} bytes decoded")
                    chunks.append(piece)
                self._check_deadline(deadline, str(r.url))
            if inflater is not None and raw_size and not inflater.eof:
                raise self.fail(f"response from {where} ends inside its compressed data")
            return Response(
                url=str(r.url),
                status=r.status_code,
                headers={k.lower(): v for k, v in r.headers.items()},
                body=b"".join(chunks),
            )

    def _inflater(self, encodings: list[str], where: str) -> Any:
        """A decompressor for the one accepted Content-Encoding, or None for identity."""
        names = [n.strip().lower() for value in encodings for n in value.split(",") if n.strip()]
        names = [n for n in names if n != "identity"]
        if not names:
            return None
        if len(names) > 1:
            raise self.fail(f"response from {where} has stacked encodings {', '.join(names)!r}")
        if names[0] not in _ENCODINGS:
            raise self.fail(f"response from {where} has unsupported encoding {names[0]!r}")
        return zlib.decompressobj(_ENCODINGS[names[0]])

    def _spend(self, n: int) -> None:
        self.bytes_read += n
        if self.bytes_read > self.limits.max_source_bytes:
            raise self.fail(f"more than {self.limits.max_source_bytes} bytes read for this source")
        if self.progress is not None:
            self.progress(n)

    def _spend_decoded(self, n: int) -> None:
        self.bytes_decoded += n
        if self.bytes_decoded > self.limits.max_source_bytes:
            raise self.fail(
                f"more than {self.limits.max_source_bytes} bytes decoded for this source"
            )

    def _backoff(self, attempt: int, retry_after: str | None) -> None:
        delay = self.limits.backoff * (2**attempt)
        if retry_after is not None and retry_after.strip().isdigit():
            delay = max(delay, float(retry_after.strip()))
        delay = min(delay, _MAX_BACKOFF)
        # Checked before sleeping: a wait that ends past the deadline is not worth starting.
        if self.clock() + delay >= self._source_deadline:
            raise self.fail(
                f"source deadline ({self.limits.source_timeout:g} s in all) "
                f"would pass during the {delay:g} s wait before a retry"
            )
        self.sleep(delay)


def _inflate(inflater: Any, data: bytes, room: int) -> list[bytes]:
    """Decode ``data``, producing at most ``room`` bytes (the caller passes cap + 1).

    Raises:
        ValueError: Corrupt compressed data, or data after its end.
    """
    if inflater is None:
        return [data]
    if inflater.eof:
        raise ValueError("data after the end of the compressed body")
    out: list[bytes] = []
    pending, produced = data, 0
    # max_length bounds each step's output: a bomb never inflates past the cap in memory.
    while pending and produced < room:
        try:
            piece = inflater.decompress(pending, room - produced)
        except zlib.error:
            raise ValueError("corrupt compressed body") from None
        out.append(piece)
        produced += len(piece)
        pending = inflater.unconsumed_tail
    if inflater.eof and inflater.unused_data:
        raise ValueError("data after the end of the compressed body")
    return out


def _host_port(parts: urllib.parse.SplitResult) -> str:
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host


def _plain(url: str) -> str:
    """A URL without userinfo, query or fragment (they may carry secrets), for messages."""
    return redact_url(url, keep_query=False)
