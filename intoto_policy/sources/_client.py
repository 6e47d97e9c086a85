"""The one HTTP client every source uses: limits, retries, backoff, auth hooks.

Built on httpx, imported here only, so nothing that does not fetch pays for
it. Every response is read as a stream and cut off at the per-response
limit; a per-source budget caps the total. 429 and 5xx answers (and
connection failures) are retried with exponential backoff; the sleep is a
parameter so tests never wait. Proxy environment variables are honoured
(httpx's ``trust_env``). Errors are :class:`FetchError` naming the source.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .._errors import FetchError, JSONError
from ..model._json import JSONLimits, loads

__all__ = ["FetchLimits", "HttpClient", "Response", "is_loopback"]

_RETRY_STATUS: Final = frozenset({429, 500, 502, 503, 504})
_MAX_BACKOFF: Final = 30.0
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Bounds on what one fetch may cost.

    Attributes:
        max_response_bytes: Largest accepted response body.
        max_source_bytes: Most bytes read for one source, all requests together.
        max_attestations: Most attestations one source may yield.
        max_requests: Most HTTP requests for one source (bounds listing loops).
        timeout: Seconds for connecting and for each read.
        retries: Extra attempts after a 429, a 5xx or a failed connection.
        max_redirects: Redirects followed for one request.
        backoff: First retry delay in seconds (doubled each time).
    """

    max_response_bytes: int = 16 * 1024 * 1024
    max_source_bytes: int = 128 * 1024 * 1024
    max_attestations: int = 1000
    max_requests: int = 500
    timeout: float = 30.0
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
                f"invalid JSON from {self.url}: {exc.problem}", source=source
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
        progress: Called with the size of each chunk of body received
            (for a progress display; never affects what is fetched).
    """

    source: str
    limits: FetchLimits = field(default_factory=FetchLimits)
    sleep: Callable[[float], object] = time.sleep
    bytes_read: int = 0
    requests: int = 0
    _client: Any = None
    progress: Callable[[int], object] | None = None

    def __enter__(self) -> HttpClient:
        import httpx  # noqa: PLC0415 - only fetching needs it

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
            try:
                response = self._send(method, url, headers, json_body)
            except httpx.TooManyRedirects:
                raise self.fail(
                    f"too many redirects (more than {self.limits.max_redirects}) from {url}"
                ) from None
            except httpx.TransportError as exc:
                if attempt < self.limits.retries:
                    self._backoff(attempt, None)
                    attempt += 1
                    continue
                raise self.fail(
                    f"cannot reach {parts.netloc}: {type(exc).__name__}: {exc}"
                ) from None
            if response.status in ok:
                return response
            if response.status in _RETRY_STATUS and attempt < self.limits.retries:
                self._backoff(attempt, response.headers.get("retry-after"))
                attempt += 1
                continue
            hint = " (after retries)" if response.status in _RETRY_STATUS else ""
            raise self.fail(f"HTTP {response.status} from {_plain(response.url)}{hint}")

    def _check_url(self, url: str) -> urllib.parse.SplitResult:
        try:
            parts = urllib.parse.urlsplit(url)
            _ = parts.port  # raises for a port that is not a number in range
        except ValueError as exc:
            raise self.fail(f"not a valid URL: {exc}") from None
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
        self, method: str, url: str, headers: Mapping[str, str] | None, json_body: Any
    ) -> Response:
        cap = self.limits.max_response_bytes
        with self._client.stream(method, url, headers=dict(headers or {}), json=json_body) as r:
            declared = r.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > cap:
                raise self.fail(f"response from {_plain(str(r.url))} is over {cap} bytes")
            chunks: list[bytes] = []
            size = 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                self._spend(len(chunk))
                if size > cap:
                    raise self.fail(f"response from {_plain(str(r.url))} is over {cap} bytes")
                chunks.append(chunk)
            return Response(
                url=str(r.url),
                status=r.status_code,
                headers={k.lower(): v for k, v in r.headers.items()},
                body=b"".join(chunks),
            )

    def _spend(self, n: int) -> None:
        self.bytes_read += n
        if self.bytes_read > self.limits.max_source_bytes:
            raise self.fail(f"more than {self.limits.max_source_bytes} bytes read for this source")
        if self.progress is not None:
            self.progress(n)

    def _backoff(self, attempt: int, retry_after: str | None) -> None:
        delay = self.limits.backoff * (2**attempt)
        if retry_after is not None and retry_after.strip().isdigit():
            delay = max(delay, float(retry_after.strip()))
        self.sleep(min(delay, _MAX_BACKOFF))


def _plain(url: str) -> str:
    """A URL without its query (it may carry tokens) for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
