"""Fetching stays bounded against hostile servers, and keeps secrets to itself.

* Decoding: a compressed body is inflated here in bounded steps; stacked or
  unknown encodings are refused; bytes decoded never pass the cap (counted,
  and measured with tracemalloc against a bound proportional to the cap).
* Deadlines: one per request and one per source, read from an injectable
  clock, checked inside the read loop and before each backoff sleep.
* Registry credentials: scoped to the registry they are configured for, and
  sent to a token service only under the documented realm rule.
* Redaction: no message, stderr line or record contains a URL's password,
  whatever characters it holds (a hypothesis property).

Every server listens on 127.0.0.1 only; no case measures wall-clock time.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import threading
import tracemalloc
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fetch_support import Loopback, Request, json_answer, serve, sha256
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from intoto_policy import FetchLimits, fetch
from intoto_policy._errors import FetchError
from intoto_policy.cli._main import main
from intoto_policy.sources._client import HttpClient, redact_url
from intoto_policy.sources._oci import _Registry
from intoto_policy.sources._source import Context

IMAGE = "sha256:" + "a" * 64
ENVELOPE = json.dumps({"payloadType": "x", "payload": "", "signatures": []}).encode()


def _gzip(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data, 9)


def _zeros_gzip(n: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    return b"".join(c.compress(block) for _ in range(n >> 20)) + c.flush()


BODY = b'{"payloadType":"x","payload":"","signatures":[]}\n' * 20

# --------------------------------------------------------------------------
# Content-Encoding

ENCODED: dict[str, tuple[dict[str, str], bytes, str | None]] = {
    # name: (headers, body as sent, problem or None when BODY comes back)
    "identity-implicit": ({}, BODY, None),
    "identity-explicit": ({"Content-Encoding": "identity"}, BODY, None),
    "gzip": ({"Content-Encoding": "gzip"}, _gzip(BODY), None),
    "gzip-uppercase": ({"Content-Encoding": "GZIP"}, _gzip(BODY), None),
    "deflate": ({"Content-Encoding": "deflate"}, _deflate(BODY), None),
    "stacked-gzip-gzip": (
        {"Content-Encoding": "gzip, gzip"},
        _gzip(_gzip(BODY)),
        "stacked encodings",
    ),
    "stacked-deflate-gzip": (
        {"Content-Encoding": "deflate, gzip"},
        _gzip(_deflate(BODY)),
        "stacked encodings",
    ),
    "brotli-not-accepted": ({"Content-Encoding": "br"}, BODY, "unsupported encoding 'br'"),
    "zstd-not-accepted": ({"Content-Encoding": "zstd"}, BODY, "unsupported encoding 'zstd'"),
    "compress-not-accepted": (
        {"Content-Encoding": "compress"},
        BODY,
        "unsupported encoding 'compress'",
    ),
    "corrupt-gzip": ({"Content-Encoding": "gzip"}, b"\x1f\x8b" + b"\xff" * 40, "corrupt"),
    "truncated-gzip": (
        {"Content-Encoding": "gzip"},
        _gzip(BODY)[:-12],
        "ends inside its compressed data",
    ),
    "second-gzip-member": (
        {"Content-Encoding": "gzip"},
        _gzip(BODY) + _gzip(BODY),
        "data after the end",
    ),
    "garbage-after-gzip": (
        {"Content-Encoding": "gzip"},
        _gzip(BODY) + b"trailing",
        "data after the end",
    ),
}


@pytest.mark.parametrize(("headers", "sent", "problem"), list(ENCODED.values()), ids=list(ENCODED))
def test_content_encoding(headers: dict[str, str], sent: bytes, problem: str | None) -> None:
    with serve({"/x.jsonl": (200, headers, sent)}) as server:
        url = f"{server.url}/x.jsonl"
        if problem is None:
            assert b"".join(i.raw + b"\n" for i in fetch(url).items) == BODY
        else:
            with pytest.raises(FetchError, match=problem):
                fetch(url)
        # Only what is decoded here is asked for.
        assert server.requests[0].headers["accept-encoding"] == "gzip"


BOMBS = {
    # name: (Content-Encoding, body, cap): each inflates far past its cap
    "gzip-32MiB-of-zeros": ("gzip", _zeros_gzip(32 << 20), 1 << 20),
    "deflate-32MiB-of-zeros": ("deflate", zlib.compress(b"\0" * (32 << 20), 9), 1 << 20),
    "gzip-small-cap": ("gzip", _zeros_gzip(1 << 20), 5000),
}


@pytest.mark.parametrize(("encoding", "body", "cap"), list(BOMBS.values()), ids=list(BOMBS))
def test_decompression_bomb_stops_at_the_cap(encoding: str, body: bytes, cap: int) -> None:
    assert len(body) < cap  # what is sent is within the limit: only decoding can pass it
    with serve({"/bomb": (200, {"Content-Encoding": encoding}, body)}) as server:
        client = HttpClient("test", FetchLimits(max_response_bytes=cap, max_source_bytes=1 << 30))
        tracemalloc.start()
        try:
            with client, pytest.raises(FetchError, match=f"over {cap} bytes"):
                client.get(f"{server.url}/bomb")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Decoding stopped one byte past the cap, whatever the bomb would have grown to.
    assert client.bytes_decoded <= cap + 1
    # Memory stays proportional to the cap (a generous bound: 8x cap plus 4 MiB of overhead).
    assert peak < 8 * cap + (4 << 20), peak


def test_decoded_bytes_count_against_the_source_budget() -> None:
    # Each response is under the per-response cap, the sum decoded is over the source budget.
    body = _gzip(b"[" + b" " * 60_000 + b"]")
    with serve({"/x": (200, {"Content-Encoding": "gzip"}, body)}) as server:
        limits = FetchLimits(max_response_bytes=100_000, max_source_bytes=150_000)
        with HttpClient("test", limits) as client:
            client.get(f"{server.url}/x")
            client.get(f"{server.url}/x")
            with pytest.raises(FetchError, match="bytes decoded for this source"):
                client.get(f"{server.url}/x")
    assert client.bytes_read < 150_000 < client.bytes_decoded


# --------------------------------------------------------------------------
# Deadlines


class FakeClock:
    """Monotonic seconds that advance by ``step`` on each reading."""

    def __init__(self, step: float) -> None:
        self.now = 1000.0
        self.step = step
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        self.now += self.step
        return self.now


@contextlib.contextmanager
def _dripping() -> Iterator[str]:
    """A server that sends a body one byte at a time and never finishes it."""
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            try:
                for _ in range(100_000):
                    if stop.wait(0.005):
                        return
                    self.wfile.write(b" ")
                    self.wfile.flush()
            except OSError:
                return  # the client hung up: the deadline did its job

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("limits", "problem"),
    [
        pytest.param(
            FetchLimits(timeout=5, retries=0), "request deadline passed", id="request-deadline"
        ),
        pytest.param(
            FetchLimits(timeout=30, source_timeout=5, retries=0),
            "source deadline passed",
            id="source-deadline-inside-one-request",
        ),
    ],
)
def test_a_dripping_server_is_cut_off(limits: FetchLimits, problem: str) -> None:
    clock = FakeClock(step=1.0)  # one "second" per check: each received byte costs one
    with _dripping() as url, pytest.raises(FetchError, match=problem):
        fetch(f"{url}/drip", limits=limits, clock=clock)
    assert clock.readings < 50  # stopped after a handful of reads, not at the end of the body


@pytest.mark.parametrize(
    ("retry_after", "limits", "slept", "problem"),
    [
        pytest.param(
            "3600",
            FetchLimits(retries=3, source_timeout=20),
            [],
            "would pass during the 30 s wait",
            id="retry-after-past-the-deadline-is-not-slept",
        ),
        pytest.param(
            None,
            FetchLimits(retries=10, backoff=4, source_timeout=20),
            [4.0, 8.0],
            "would pass during the 16 s wait",
            id="backoff-stops-before-the-deadline",
        ),
        pytest.param(
            None,
            FetchLimits(retries=2, backoff=1, source_timeout=60),
            [1.0, 2.0],
            "HTTP 503",
            id="retries-within-the-deadline-run-out-first",
        ),
    ],
)
def test_backoff_respects_the_source_deadline(
    retry_after: str | None, limits: FetchLimits, slept: list[float], problem: str
) -> None:
    clock = FakeClock(step=0.0)
    sleeps: list[float] = []

    def sleep(delay: float) -> None:
        sleeps.append(delay)
        clock.now += delay  # the injected clock sees the time the sleep would have taken

    headers = {"Retry-After": retry_after} if retry_after else {}
    with serve({"/x": (503, headers, b"")}) as server, pytest.raises(FetchError, match=problem):
        fetch(f"{server.url}/x", limits=limits, sleep=sleep, clock=clock)
    assert sleeps == slept


def test_many_quick_requests_share_one_source_deadline() -> None:
    clock = FakeClock(step=1.0)
    with serve({"/x": json_answer({})}) as server:
        limits = FetchLimits(timeout=30, source_timeout=10)
        with HttpClient("test", limits, clock=clock) as client:
            for _ in range(3):
                client.get_json(f"{server.url}/x")
            with pytest.raises(FetchError, match="source deadline passed"):
                client.get_json(f"{server.url}/x")
    assert client.requests < 10


# --------------------------------------------------------------------------
# Registry credentials


def _registry_pair(challenge: str) -> tuple[Loopback, Loopback]:
    """A registry asking for ``challenge`` and a token service (on ``localhost``)."""
    token = Loopback().start()
    token.routes["/token"] = json_answer({"token": "t0k"})
    registry = Loopback().start()
    layer = {"mediaType": "application/vnd.dsse.envelope.v1+json"}
    layer |= {"digest": sha256(ENVELOPE), "size": len(ENVELOPE)}
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "layers": [layer],
            "subject": {"digest": IMAGE},
        }
    ).encode()
    index = {"manifests": [{"digest": sha256(manifest)}]}
    inner = {
        f"/v2/r/referrers/{IMAGE}": json_answer(index),
        f"/v2/r/manifests/{sha256(manifest)}": (200, {}, manifest),
        f"/v2/r/blobs/{sha256(ENVELOPE)}": (200, {}, ENVELOPE),
    }

    def route(req: Request) -> Any:
        if req.headers.get("authorization") not in ("Bearer t0k", BASIC):
            text = challenge.format(token=f"http://localhost:{token.netloc.split(':')[1]}")
            return 401, {"WWW-Authenticate": text}, b""
        return inner.get(req.path.partition("?")[0], (404, {}, b""))

    for path in [*inner, f"/v2/r/manifests/{IMAGE.replace(':', '-')}.att"]:
        registry.routes[path] = route
    return registry, token


BASIC = "Basic " + base64.b64encode(b"u:p").decode()
CREDS = {"REGISTRY_USERNAME": "u", "REGISTRY_PASSWORD": "p"}
BEARER = 'Bearer realm="{token}/token",service="reg"'

CREDENTIAL_CASES = {
    # name: (challenge, env, docker config auths key or None, problem, token service gets creds)
    "env-without-registry-host-is-an-error": (
        'Basic realm="r"',
        CREDS,
        None,
        "REGISTRY_HOST is not",
        False,
    ),
    "env-for-another-registry-is-not-sent": (
        'Basic realm="r"',
        {**CREDS, "REGISTRY_HOST": "ghcr.io"},
        None,
        "credentials needed",
        False,
    ),
    "env-for-this-registry-basic": (
        'Basic realm="r"',
        {**CREDS, "REGISTRY_HOST": "{registry}"},
        None,
        None,
        False,
    ),
    "env-not-sent-to-a-realm-on-another-host": (
        BEARER,
        {**CREDS, "REGISTRY_HOST": "{registry}"},
        None,
        None,
        False,
    ),
    "env-sent-to-an-allowed-realm-host": (
        BEARER,
        {**CREDS, "REGISTRY_HOST": "{registry}", "REGISTRY_AUTH_HOSTS": "example.org, localhost"},
        None,
        None,
        True,
    ),
    "docker-config-for-this-registry-goes-to-its-realm": (BEARER, {}, "{registry}", None, True),
    "docker-config-for-another-registry-is-not-sent": (BEARER, {}, "ghcr.io", None, False),
}


@pytest.mark.parametrize(
    ("challenge", "env", "docker_key", "problem", "token_gets_creds"),
    list(CREDENTIAL_CASES.values()),
    ids=list(CREDENTIAL_CASES),
)
def test_registry_credentials_are_scoped(
    tmp_path: Path,
    challenge: str,
    env: dict[str, str],
    docker_key: str | None,
    problem: str | None,
    token_gets_creds: bool,
) -> None:
    registry, token = _registry_pair(challenge)
    try:
        env = {k: v.format(registry=registry.netloc) for k, v in env.items()}
        if docker_key is not None:
            auths = {docker_key.format(registry=registry.netloc): {"auth": BASIC.split()[1]}}
            (tmp_path / "config.json").write_text(json.dumps({"auths": auths}))
        env["DOCKER_CONFIG"] = str(tmp_path)
        source = f"oci://{registry.netloc}/r@{IMAGE}"
        if problem is None:
            assert [i.raw for i in fetch(source, env=env).items] == [ENVELOPE]
        else:
            with pytest.raises(FetchError, match=problem):
                fetch(source, env=env)
        sent_to_registry = [r.headers.get("authorization") for r in registry.requests]
        sent_to_token = [r.headers.get("authorization") for r in token.requests]
    finally:
        registry.stop()
        token.stop()
    expect_registry_basic = "basic" in challenge.lower() and problem is None
    assert (BASIC in sent_to_registry) is expect_registry_basic
    assert (BASIC in sent_to_token) is token_gets_creds


REALMS = {
    # name: (registry as written, realm, where the credentials come from, env, may have them)
    "same-host-https": ("ghcr.io", "https://ghcr.io/token", "env", {}, True),
    "same-host-plain-http": ("ghcr.io", "http://ghcr.io/token", "env", {}, False),
    "other-host-https": ("ghcr.io", "https://evil.example/token", "env", {}, False),
    "other-host-allowed": (
        "registry.gitlab.com",
        "https://gitlab.com/jwt/auth",
        "env",
        {"REGISTRY_AUTH_HOSTS": "gitlab.com"},
        True,
    ),
    "docker-hub-auth-host": ("docker.io", "https://auth.docker.io/token", "env", {}, True),
    "docker-hub-auth-host-not-for-others": (
        "ghcr.io",
        "https://auth.docker.io/token",
        "env",
        {},
        False,
    ),
    "docker-config-any-https-realm": ("ghcr.io", "https://auth.example/t", "docker", {}, True),
    "docker-config-no-plain-http": ("ghcr.io", "http://auth.example/t", "docker", {}, False),
    "loopback-realm-only-for-a-loopback-registry": (
        "ghcr.io",
        "http://127.0.0.1:9/t",
        "docker",
        {},
        False,
    ),
    "loopback-registry-and-realm": ("127.0.0.1:5000", "http://127.0.0.1:9/t", "env", {}, True),
    "realm-not-a-url": ("ghcr.io", "https://[::1/t", "docker", {}, False),
    "realm-without-host": ("ghcr.io", "https:///t", "docker", {}, False),
}


@pytest.mark.parametrize(
    ("registry", "realm", "origin", "env", "allowed"), list(REALMS.values()), ids=list(REALMS)
)
def test_realm_rule(
    registry: str, realm: str, origin: str, env: dict[str, str], allowed: bool
) -> None:
    ctx = Context(source="s", client=HttpClient("s"), env=env)
    assert _Registry(ctx, registry, "a/b")._realm_may_have(realm, origin) is allowed


# --------------------------------------------------------------------------
# Redaction

REVIEW_CASES = {
    "slash-in-password": ("https://alice:s3cr3t/T0ken+x@127.0.0.1:1/att.json", "s3cr3t/T0ken+x"),
    "question-mark-in-password": ("oci://bob:pa?ss@127.0.0.1:1/a/b@" + IMAGE, "pa?ss"),
    "hash-in-password": ("https://alice:s3cr3t#T0ken@127.0.0.1:1/att.json", "s3cr3t"),
    "at-in-password": ("https://alice:p@ss@127.0.0.1:1/att.json", "p@ss"),
    "bad-port-after-password": ("https://alice:hunter2@127.0.0.1:99999/a", "hunter2"),
}


def _cli(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    ("source", "password"), list(REVIEW_CASES.values()), ids=list(REVIEW_CASES)
)
def test_cli_never_prints_a_password(tmp_path: Path, source: str, password: str) -> None:
    code, output = _cli("fetch", source, "--out", str(tmp_path / "o.jsonl"))
    assert code == 2
    assert output.count("\n") == 1
    assert "***@" in output
    assert password not in output
    assert not (tmp_path / "o.jsonl").exists()


_SECRET_CHARS = st.characters(blacklist_categories=("Cs", "Cc"))


def _shapes(userinfo: str) -> list[str]:
    return [
        f"https://{userinfo}@127.0.0.1:1/att.json",
        f"http://{userinfo}@127.0.0.1:1/a?b=c#d",
        f"oci://{userinfo}@127.0.0.1:1/a/b@{IMAGE}",
        f"oci://{userinfo}@127.0.0.1:1/a/b:v1",
    ]


_USERS = st.text(_SECRET_CHARS, max_size=8)
_PASSWORDS = st.text(_SECRET_CHARS, min_size=4, max_size=24)


def _sources(user: str, password: str) -> list[tuple[str, str]]:
    userinfo = f"{user}:{password}"
    shown = [(s, s.replace(userinfo + "@", "***@")) for s in _shapes(userinfo)]
    # A password that is part of what may legitimately be shown proves nothing.
    assume(all(password not in safe for _, safe in shown))
    return shown


@settings(max_examples=500, deadline=None)
@given(user=_USERS, password=_PASSWORDS)
def test_redact_url_hides_any_password(user: str, password: str) -> None:
    for source, safe in _sources(user, password):
        assert redact_url(source) == safe
        assert password not in redact_url(source, keep_query=False)


# Each example opens HTTP clients (TLS context included): fewer examples, every output path.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user=_USERS, password=_PASSWORDS)
def test_no_output_contains_the_password(user: str, password: str) -> None:
    for source, _ in _sources(user, password):
        with pytest.raises(FetchError) as caught:
            fetch(source, limits=FetchLimits(retries=0))
        assert password not in str(caught.value)
        assert password not in caught.value.source
        code, output = _cli("fetch", source, "--out", "/nonexistent-dir/o.jsonl")
        assert code == 2
        assert all(password not in line for line in output.splitlines())


REDACTED = {
    "no-userinfo": ("https://h/p?q=1", True, "https://h/p?q=1"),
    "query-dropped": ("https://h/p?token=x#f", False, "https://h/p"),
    "userinfo-and-query": ("https://u:p@h/p?q", False, "https://***@h/p"),
    "oci-digest-kept": (f"oci://h:5000/r@{IMAGE}", True, f"oci://h:5000/r@{IMAGE}"),
    "oci-bad-digest-kept": ("oci://h/r@sha256:xyz", True, "oci://h/r@sha256:xyz"),
    "oci-userinfo-and-digest": (f"oci://u:p@h/r@{IMAGE}", True, f"oci://***@h/r@{IMAGE}"),
    "not-a-url": ("npm:pkg@1.0.0", True, "npm:pkg@1.0.0"),
    "at-in-https-path-over-redacted": ("https://h/a@b/c", True, "https://***@b/c"),
}


@pytest.mark.parametrize(("url", "keep", "shown"), list(REDACTED.values()), ids=list(REDACTED))
def test_redact_url(url: str, keep: bool, shown: str) -> None:
    assert redact_url(url, keep_query=keep) == shown
