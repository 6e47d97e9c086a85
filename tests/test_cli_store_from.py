"""``store ingest --from SOURCE``: what the fetching step returns, kept byte-exact, on both backends.

The sources are the loopback services the fetch tests use: an HTTP server
answering JSON Lines, the npm registry shape, and Debian's real
docker-registry with cosign's tag layout and an OCI referrer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fetch_support import ITEMS, serve
from test_fetch import NPM_DOC, NPM_NAME, NPM_TGZ, _npm_routes
from test_fetch_oci import Pushed, pushed, registry  # noqa: F401

from intoto_policy import Envelope, generate_private_key
from intoto_policy.cli._main import main
from tests._stores import postgres_server, store_url  # noqa: F401

pytestmark = pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present")

KEY = generate_private_key("ed25519")
PROV = "https://slsa.dev/provenance/v1"


def _line(n: int) -> bytes:
    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": f"app{n}", "digest": {"sha256": f"{n:064x}"}}],
        "predicateType": PROV,
        "predicate": {"builder": "b1"},
    }
    env = Envelope.sign(json.dumps(stmt).encode(), "application/vnd.in-toto+json", [KEY])
    return json.dumps(env.to_dict()).encode()


LINES = [_line(n) for n in (1, 2, 3)]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _query(capsys: pytest.CaptureFixture[str], store: str, digest: str) -> list[dict[str, Any]]:
    code, out, _ = _run(
        capsys, "store", "query", "--store", store, "--subject-digest", digest, "--format", "json"
    )
    assert code in (0, 1)
    return list(json.loads(out)["attestations"])


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# (id, files to write and pass (name -> lines), expected stdout summary, expected stderr line)
HTTP_CASES = [
    pytest.param({}, "stored 3, already present 0, rejected 0", id="from-only"),
    pytest.param(
        {"one.intoto.jsonl": [LINES[0]]},
        "stored 3, already present 1, rejected 0",
        id="file-and-from-dedup-by-digest",
    ),
    pytest.param(
        {"other.intoto.jsonl": [_line(9)]},
        "stored 4, already present 0, rejected 0",
        id="file-and-from-combined",
    ),
]


@pytest.mark.parametrize(("files", "summary"), HTTP_CASES)
def test_ingest_from_http(
    store_url: str,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, list[bytes]],
    summary: str,
) -> None:
    paths = []
    for name, lines in files.items():
        (tmp_path / name).write_bytes(b"\n".join(lines))
        paths.append(str(tmp_path / name))
    body = b"\n".join(LINES) + b"\n"
    with serve({"/atts.jsonl": (200, {}, body)}) as server:
        source = f"{server.url}/atts.jsonl"
        code, out, err = _run(
            capsys, "store", "ingest", "--store", store_url, *paths, "--from", source
        )
        assert (code, out.splitlines()[-1]) == (0, summary)
        want = len(LINES) - sum(line in LINES for lines in files.values() for line in lines)
        assert f"{source}: 3 item(s) fetched; stored {want}, already present {3 - want}" in err
        # Again: everything is already present, nothing is stored twice.
        code, out, _ = _run(
            capsys, "store", "ingest", "--store", store_url, *paths, "--from", source
        )
        total = 3 + sum(len(lines) for lines in files.values())
        assert out.splitlines()[-1] == f"stored 0, already present {total}, rejected 0"
    # The bytes kept are the bytes received: the digest of each line as served.
    for n, line in enumerate(LINES, start=1):
        found = _query(capsys, store_url, f"sha256:{n:064x}")
        assert [a["digest"] for a in found] == [_sha(line)]


SBOM = "https://spdx.dev/Document"


def _unpadded(envelope: bytes) -> bytes:
    doc = json.loads(envelope)
    doc["payload"] = doc["payload"].rstrip("=")
    assert doc["payload"] != json.loads(envelope)["payload"], "the payload needs padding"
    return json.dumps(doc).encode()


def _url_safe(envelope: bytes) -> bytes:
    doc = json.loads(envelope)
    raw = base64.b64decode(doc["payload"])
    doc["payload"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("types", "stored", "encode"),
    [
        ([], 4, None),
        ([PROV], 3, None),
        ([SBOM], 1, None),
        ([PROV, SBOM], 4, None),
        (["https://other"], 0, None),
        ([PROV], 3, _unpadded),
        ([PROV], 3, _url_safe),
    ],
    ids=["all", "provenance", "sbom", "both", "none", "unpadded-sbom", "url-safe-sbom"],
)
def test_ingest_from_keeps_only_the_predicate_types_asked_for(
    store_url: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    types: list[str],
    stored: int,
    encode: Callable[[bytes], bytes] | None,
) -> None:
    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app4", "digest": {"sha256": f"{4:064x}"}}],
        "predicateType": SBOM,
        "predicate": {"spdxVersion": "SPDX-2.3"},
    }
    env = Envelope.sign(json.dumps(stmt).encode(), "application/vnd.in-toto+json", [KEY])
    sbom = json.dumps(env.to_dict()).encode()
    if encode is not None:
        sbom = encode(sbom)
    body = b"\n".join([*LINES, sbom]) + b"\n"
    flags = [a for t in types for a in ("--predicate-type", t)]
    with serve({"/atts.jsonl": (200, {}, body)}) as server:
        code, out, _ = _run(
            capsys,
            "store",
            "ingest",
            "--store",
            store_url,
            "--from",
            f"{server.url}/atts.jsonl",
            *flags,
        )
    assert (code, out.splitlines()[-1]) == (0, f"stored {stored}, already present 0, rejected 0")
    kept = [bool(_query(capsys, store_url, f"sha256:{n:064x}")) for n in (1, 2, 3, 4)]
    assert sum(kept) == stored


def test_ingest_from_npm(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    routes = _npm_routes(
        NPM_NAME, "1.0.5", NPM_DOC.read_bytes(), hashlib.sha512(NPM_TGZ.read_bytes()).digest()
    )
    with serve(routes) as server:
        code, out, err = _run(
            capsys,
            "store",
            "ingest",
            "--store",
            store_url,
            "--from",
            f"npm:{NPM_NAME}@1.0.5",
            "--npm-registry",
            server.url,
        )
    assert (code, out.splitlines()[-1]) == (0, "stored 2, already present 0, rejected 0")
    assert f"npm:{NPM_NAME}@1.0.5: 2 item(s) fetched; stored 2" in err
    tgz = hashlib.sha512(NPM_TGZ.read_bytes()).hexdigest()
    assert len(_query(capsys, store_url, f"sha512:{tgz}")) == 2


@pytest.mark.skipif(shutil.which("docker-registry") is None, reason="docker-registry missing")
def test_ingest_from_the_registry(
    store_url: str,  # noqa: F811
    pushed: Pushed,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = f"oci://{pushed.netloc}/{pushed.repo}@{pushed.image}"
    code, out, err = _run(capsys, "store", "ingest", "--store", store_url, "--from", source)
    assert f"{source}: 3 item(s) fetched" in err
    assert (code, out.splitlines()[-1]) == (0, "stored 3, already present 0, rejected 0")
    # Our envelope is about the pushed image, stored exactly as pushed.
    found = [a["digest"] for a in _query(capsys, store_url, pushed.image)]
    assert found == [_sha(pushed.ours)]


ERROR_CASES = [
    pytest.param(["--timeout", "5", "{file}"], "--timeout: only apply with --from", id="timeout"),
    pytest.param(
        ["--npm-registry", "http://127.0.0.1:1", "{file}"],
        "--npm-registry: only apply with --from",
        id="npm-registry",
    ),
    pytest.param(
        ["--subject-digest", f"sha256:{1:064x}", "{file}"],
        "--subject-digest: only apply with --from",
        id="subject-digest",
    ),
    pytest.param(
        ["--predicate-type", PROV, "{file}"],
        "--predicate-type: only apply with --from",
        id="predicate-type",
    ),
    pytest.param([], "nothing to ingest", id="nothing"),
    pytest.param(["--from", "bogus:x"], "unknown source kind", id="unknown-source"),
    pytest.param(["--from", "{url}/missing"], "HTTP 404", id="source-fails"),
    pytest.param(["{file}", "--from", "{url}/missing"], "HTTP 404", id="source-fails-with-file"),
]


@pytest.mark.parametrize(("argv", "message"), ERROR_CASES)
def test_ingest_from_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    file = tmp_path / "one.intoto.jsonl"
    file.write_bytes(LINES[0])
    db = tmp_path / "store.db"
    with serve({}) as server:
        args = [a.format(file=file, url=server.url) for a in argv]
        code, _, err = _run(capsys, "store", "ingest", "--store", f"sqlite:///{db}", *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    # Refused before anything was written: the store was never created.
    assert not db.exists()
