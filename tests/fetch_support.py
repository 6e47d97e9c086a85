"""Real parts for the fetch tests: a Distribution registry and loopback HTTP servers.

Everything listens on 127.0.0.1 only. The registry is Debian's
``docker-registry`` (Distribution 2.8); the loopback servers answer from a
table of routes, record every request, and can forward what they do not
know to the registry (to add an endpoint it lacks, or to put auth in front).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real-world"
ITEMS = CORPUS / "items"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def free_port() -> int:
    """A loopback port nobody listens on (closed again before it is returned)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = tuple[int, dict[str, str], bytes]
Route = Callable[[Request], Answer] | Answer


@dataclass
class Loopback:
    """An HTTP server on 127.0.0.1 answering from ``routes`` (path with query, then path)."""

    routes: dict[str, Route] = field(default_factory=dict)
    upstream: str | None = None
    requests: list[Request] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def netloc(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"

    def start(self) -> Loopback:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                req = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                owner.requests.append(req)
                route = owner.routes.get(self.path) or owner.routes.get(self.path.partition("?")[0])
                if route is None and owner.upstream is not None:
                    status, headers, body = owner.forward(req)
                elif route is None:
                    status, headers, body = 404, {}, b'{"errors":[{"code":"NOT_FOUND"}]}'
                else:
                    status, headers, body = route(req) if callable(route) else route
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                # X-Omit-Length: the body ends when the connection closes (HTTP/1.0).
                if headers.get("X-Omit-Length"):
                    self.close_connection = True
                elif "content-length" not in {k.lower() for k in headers}:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = do_PUT = _serve  # noqa: N815 - http.server's names

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def forward(self, req: Request) -> Answer:
        assert self.upstream is not None
        headers = {k: v for k, v in req.headers.items() if k in ("accept", "content-type")}
        with httpx.Client(trust_env=False) as client:
            r = client.request(req.method, self.upstream + req.path, headers=headers)
        keep = ("content-type", "docker-content-digest", "location")
        return r.status_code, {k: v for k, v in r.headers.items() if k in keep}, r.content

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@contextmanager
def serve(routes: dict[str, Route], upstream: str | None = None) -> Iterator[Loopback]:
    server = Loopback(routes=routes, upstream=upstream).start()
    try:
        yield server
    finally:
        server.stop()


def json_answer(doc: Any, status: int = 200, **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(doc).encode()


# --------------------------------------------------------------------------
# The registry


def start_registry(
    workdir: Path, extra_config: str = "", auth: tuple[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``docker-registry serve`` on a loopback port; return it and HOST:PORT."""
    exe = shutil.which("docker-registry")
    assert exe is not None
    port = free_port()
    (workdir / "data").mkdir()
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + extra_config
    )
    proc = subprocess.Popen(
        [exe, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    netloc = f"127.0.0.1:{port}"
    with httpx.Client(trust_env=False) as client:
        for _ in range(400):  # readiness poll, not a timing assertion
            try:
                if client.get(f"http://{netloc}/v2/", auth=auth).status_code == 200:
                    return proc, netloc
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("docker-registry did not start")


class Pusher:
    """Push blobs and manifests with the registry's HTTP API (the same HTTP client)."""

    def __init__(self, netloc: str, repo: str, auth: tuple[str, str] | None = None) -> None:
        self.base = f"http://{netloc}/v2/{repo}"
        self.client = httpx.Client(trust_env=False, auth=auth)

    def blob(self, data: bytes, media_type: str, **annotations: str) -> dict[str, Any]:
        digest = sha256(data)
        start = self.client.post(f"{self.base}/blobs/uploads/")
        assert start.status_code == 202, start.text
        location = start.headers["location"]
        if location.startswith("/"):
            location = self.base.split("/v2/")[0] + location
        sep = "&" if "?" in location else "?"
        done = self.client.put(
            f"{location}{sep}digest={digest}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, done.text
        descriptor: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": len(data)}
        if annotations:
            descriptor["annotations"] = annotations
        return descriptor

    def manifest(self, ref: str, doc: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(doc).encode()
        r = self.client.put(
            f"{self.base}/manifests/{ref}", content=data, headers={"Content-Type": doc["mediaType"]}
        )
        assert r.status_code == 201, r.text
        return {"mediaType": doc["mediaType"], "digest": sha256(data), "size": len(data)}

    def image(self, tag: str, content: bytes) -> str:
        config = self.blob(b"{}", "application/vnd.oci.image.config.v1+json")
        layer = self.blob(content, "application/vnd.oci.image.layer.v1.tar")
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config,
            "layers": [layer],
        }
        return str(self.manifest(tag, doc)["digest"])

    def artifact(
        self, subject: str, layers: list[dict[str, Any]], artifact_type: str
    ) -> dict[str, Any]:
        """An OCI 1.1 artifact manifest whose subject is ``subject`` (pushed by digest)."""
        empty = self.blob(b"{}", "application/vnd.oci.empty.v1+json")
        subject_size = len(
            self.client.get(
                f"{self.base}/manifests/{subject}", headers={"Accept": OCI_MANIFEST}
            ).content
        )
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": empty,
            "layers": layers,
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": subject_size},
        }
        data = json.dumps(doc).encode()
        return self.manifest(sha256(data), doc) | {"artifactType": artifact_type}

    def close(self) -> None:
        self.client.close()
