"""Fetching from https/file, npm, PyPI and GitHub, and every way a source can fail.

The services are loopback HTTP servers answering in the documented shapes
(npm registry attestations and package documents, PyPI's JSON API and
integrity API, GitHub's "List attestations" and bulk endpoints), built from
the real items in ``../shared/corpus/real-world``. Retries use an injected
sleep, so no test waits.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fetch_support import CORPUS, ITEMS, Loopback, Request, free_port, json_answer, serve

from intoto_policy import FetchLimits, fetch
from intoto_policy._errors import FetchError
from intoto_policy.cli._main import main
from intoto_policy.crypto._keys import generate_private_key
from intoto_policy.model._dsse import INTOTO_PAYLOAD_TYPE, Envelope
from intoto_policy.sources._fetch import SCHEMES, jsonl
from intoto_policy.sources._source import Item

pytestmark = pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present")

REPO_ROOT = Path(__file__).resolve().parents[1]
PROD = CORPUS / "trust" / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json"
AT = "2026-01-15T12:00:00Z"

I09 = ITEMS / "09-slsaverifier-npm-attestations"
NPM_DOC = I09 / "provenance-npm-test-ossf.tgz.json"
NPM_TGZ = I09 / "provenance-npm-test-ossf.tgz"
NPM_NAME = "@laurentsimon/provenance-npm-test"
I15 = ITEMS / "15-sigstorego-npm-provenance-sigstore-1.3.0" / "bundle-provenance.json"
I16 = ITEMS / "16-sigstorego-npm-publish-keyed" / "bundle-publish.json"
I20 = ITEMS / "20-ghcli-sigstore-js-2.1.0"
I22 = ITEMS / "22-ghcli-artifact-attestations"
I24 = ITEMS / "24-pypi-pep740-pypi_attestations-0.0.19"
I24_SDIST = I24 / "pypi_attestations-0.0.19.tar.gz"
I27 = ITEMS / "27-pypi-pep740-gh-models"
I27_SDIST = I27 / "pypi_attestation_models-0.0.4a2.tar.gz"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _payloads(items: Any) -> list[str]:
    """The DSSE payloads (the signed bytes) of bundles or PEP 740 attestations."""
    out = []
    for item in items:
        doc = json.loads(item)
        if "dsseEnvelope" in doc:
            out.append(doc["dsseEnvelope"]["payload"])
        else:
            out.append(doc["envelope"]["statement"])
    return out


def _run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _signed_line(key: Any, n: int) -> bytes:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": f"a{n}", "digest": {"sha256": "ab" * 32}}],
        "predicateType": "https://example.com/test/v1",
        "predicate": {},
    }
    env = Envelope.sign(json.dumps(statement).encode(), INTOTO_PAYLOAD_TYPE, [key])
    return json.dumps(env.to_dict()).encode()


# --------------------------------------------------------------------------
# https and file sources


def test_file_source_keeps_jsonl_lines_byte_exact(tmp_path: Path) -> None:
    source = I20 / "sigstore-js-2.1.0_with_2_bundles.jsonl"
    result = fetch(f"file:{source}")
    assert [i.raw for i in result.items] == source.read_bytes().splitlines()
    assert jsonl(result.items) == source.read_bytes()
    assert result.sources[0].attestations == 2


def test_http_loopback_source_and_pretty_printed_bundle() -> None:
    body = (I22 / "reusable-workflow-attestation.sigstore.json").read_bytes()
    with serve({"/b.json": (200, {}, body)}) as server:
        result = fetch(f"{server.url}/b.json")
    assert [i.raw for i in result.items] == [body]
    assert result.attestations[0].bundle is not None
    line = jsonl(result.items)
    assert line.count(b"\n") == 1
    assert json.loads(line) == json.loads(body)


def test_schemes_are_a_registry_keyed_by_prefix() -> None:
    assert set(SCHEMES) == {"oci://", "github:", "npm:", "pypi:", "https://", "http://", "file:"}


def test_jsonl_refuses_a_multi_line_item_that_is_not_json() -> None:
    with pytest.raises(FetchError, match="x"):
        jsonl([Item("x", b"{\n1")])


# --------------------------------------------------------------------------
# npm


def _npm_routes(name: str, version: str, doc: bytes, tgz_sha512: bytes) -> dict[str, Any]:
    escaped = name.replace("/", "%2F")
    integrity = "sha512-" + base64.b64encode(tgz_sha512).decode()
    package = {"name": name, "version": version, "dist": {"integrity": integrity}}
    return {
        f"/{escaped}/{version}": json_answer(package),
        f"/-/npm/v1/attestations/{escaped}@{version}": (200, {}, doc),
    }


@pytest.fixture
def npm() -> Iterator[Loopback]:
    routes = _npm_routes(
        NPM_NAME, "1.0.5", NPM_DOC.read_bytes(), hashlib.sha512(NPM_TGZ.read_bytes()).digest()
    )
    # sigstore@1.3.0: its real provenance and publish bundles in the registry's shape.
    provenance, publish = json.loads(I15.read_bytes()), json.loads(I16.read_bytes())
    statement = json.loads(base64.b64decode(provenance["dsseEnvelope"]["payload"]))
    sha512 = bytes.fromhex(statement["subject"][0]["digest"]["sha512"])
    doc = {
        "attestations": [
            {"predicateType": "https://slsa.dev/provenance/v0.2", "bundle": provenance},
            {
                "predicateType": "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
                "bundle": publish,
            },
        ]
    }
    routes.update(_npm_routes("sigstore", "1.3.0", json.dumps(doc).encode(), sha512))
    with serve(routes) as server:
        yield server


@pytest.mark.parametrize(
    ("spec", "kwargs", "count"),
    [
        pytest.param(f"{NPM_NAME}@1.0.5", {}, 2, id="scoped-package-both-bundles"),
        pytest.param(
            f"{NPM_NAME}@1.0.5",
            {"predicate_types": ["https://slsa.dev/provenance/v0.2"]},
            1,
            id="predicate-filter",
        ),
        pytest.param(f"{NPM_NAME}@1.0.5", {"subject": "tgz"}, 2, id="tarball-is-the-subject"),
        pytest.param("sigstore@1.3.0", {}, 2, id="sigstore-1.3.0-provenance-and-publish"),
    ],
)
def test_npm(npm: Loopback, spec: str, kwargs: dict[str, Any], count: int) -> None:
    if kwargs.pop("subject", None):
        kwargs["subjects"] = [{"sha512": hashlib.sha512(NPM_TGZ.read_bytes()).hexdigest()}]
    result = fetch(f"npm:{spec}", base_urls={"npm": npm.url}, **kwargs)
    assert len(result.items) == len(result.attestations) == count
    assert all(a.bundle is not None for a in result.attestations)
    assert len(result.sources[0].subjects) == 1
    assert list(result.sources[0].subjects[0]) == ["sha512"]
    if spec.startswith(NPM_NAME) and count == 2:
        # The signed payloads are exactly those of the registry's document.
        original = [
            json.dumps(a["bundle"]) for a in json.loads(NPM_DOC.read_bytes())["attestations"]
        ]
        assert _payloads(i.raw for i in result.items) == _payloads(original)


def test_npm_tarball_that_is_not_the_subject(npm: Loopback) -> None:
    with pytest.raises(FetchError, match="does not match any given subject"):
        fetch(f"npm:{NPM_NAME}@1.0.5", base_urls={"npm": npm.url}, subjects=[{"sha512": "0" * 128}])


# --------------------------------------------------------------------------
# PyPI


def _pypi_routes() -> dict[str, Any]:
    wheel = "pypi_attestations-0.0.19-py3-none-any.whl"
    release = {
        "info": {"name": "pypi-attestations", "version": "0.0.19"},
        "urls": [
            {"filename": I24_SDIST.name, "digests": {"sha256": _sha256(I24_SDIST)}},
            {"filename": wheel, "digests": {"sha256": "0" * 64}},
        ],
    }
    att27 = json.loads((I27 / (I27_SDIST.name + ".attestation")).read_bytes())
    provenance27 = {
        "version": 1,
        "attestation_bundles": [
            {
                "publisher": {
                    "kind": "GitHub",
                    "repository": "trailofbits/pypi-attestation-models",
                    "workflow": "release.yml",
                },
                "attestations": [att27],
            }
        ],
    }
    release27 = {"urls": [{"filename": I27_SDIST.name, "digests": {"sha256": _sha256(I27_SDIST)}}]}
    return {
        "/pypi/pypi-attestations/0.0.19/json": json_answer(release),
        f"/integrity/pypi-attestations/0.0.19/{I24_SDIST.name}/provenance": (
            200,
            {},
            (I24 / (I24_SDIST.name + ".provenance")).read_bytes(),
        ),
        "/pypi/pypi-attestation-models/0.0.4a2/json": json_answer(release27),
        f"/integrity/pypi-attestation-models/0.0.4a2/{I27_SDIST.name}/provenance": json_answer(
            provenance27
        ),
    }


@pytest.fixture
def pypi() -> Iterator[Loopback]:
    with serve(_pypi_routes()) as server:
        yield server


@pytest.mark.parametrize(
    ("spec", "subject", "count"),
    [
        pytest.param(
            "pypi-attestations==0.0.19", None, 1, id="release-wheel-without-provenance-skipped"
        ),
        pytest.param(f"pypi-attestations==0.0.19/{I24_SDIST.name}", None, 1, id="one-file"),
        pytest.param("pypi-attestations==0.0.19", I24_SDIST, 1, id="file-chosen-by-subject"),
        pytest.param("pypi-attestation-models==0.0.4a2", None, 1, id="pep740-attestation-object"),
    ],
)
def test_pypi(pypi: Loopback, spec: str, subject: Path | None, count: int) -> None:
    subjects = [{"sha256": _sha256(subject)}] if subject else []
    result = fetch(f"pypi:{spec}", base_urls={"pypi": pypi.url}, subjects=subjects)
    assert len(result.attestations) == count
    assert all(a.bundle is not None and a.problem is None for a in result.attestations)
    if spec.startswith("pypi-attestations"):
        original = json.loads((I24 / (I24_SDIST.name + ".provenance")).read_bytes())
        atts = [json.dumps(a) for b in original["attestation_bundles"] for a in b["attestations"]]
        assert _payloads(i.raw for i in result.items) == _payloads(atts)


@pytest.mark.parametrize(
    ("spec", "subject", "problem"),
    [
        pytest.param(
            "pypi-attestations==0.0.19/nope.whl", None, "is not a file of", id="unknown-file"
        ),
        pytest.param(
            "pypi-attestations==0.0.19/pypi_attestations-0.0.19-py3-none-any.whl",
            None,
            "HTTP 404",
            id="named-file-without-provenance",
        ),
        pytest.param(
            "pypi-attestations==0.0.19",
            "0" * 63 + "1",
            "matches a given subject",
            id="subject-not-in-release",
        ),
        pytest.param("pypi-attestations", None, "expected pypi:", id="no-version"),
    ],
)
def test_pypi_errors(pypi: Loopback, spec: str, subject: str | None, problem: str) -> None:
    subjects = [{"sha256": subject}] if subject else []
    with pytest.raises(FetchError, match=problem):
        fetch(f"pypi:{spec}", base_urls={"pypi": pypi.url}, subjects=subjects)


# --------------------------------------------------------------------------
# GitHub

WORKFLOW_ARTIFACT = I22 / "reusable-workflow-artifact"
CUSTOM_ARTIFACT = I22 / "custom-issuer-artifact"


@pytest.fixture
def github() -> Iterator[Loopback]:
    reusable = json.loads((I22 / "reusable-workflow-attestation.sigstore.json").read_bytes())
    custom = json.loads((I22 / "custom-issuer.sigstore.json").read_bytes())
    d1, d2 = f"sha256:{_sha256(WORKFLOW_ARTIFACT)}", f"sha256:{_sha256(CUSTOM_ARTIFACT)}"
    routes: dict[str, Any] = {}
    server = Loopback(routes=routes).start()

    def authorized(answer: Any) -> Any:
        def route(req: Request) -> Any:
            token = req.headers.get("authorization")
            if token not in (None, "Bearer ghp-test-token"):
                return 401, {}, b""
            return answer(req) if callable(answer) else answer

        return route

    page2 = f"{server.url}/repos/malancas/attest-demo/attestations/{d1}?per_page=100&page=2"
    routes[f"/repos/malancas/attest-demo/attestations/{d1}?per_page=100"] = authorized(
        json_answer(
            {"attestations": [{"bundle": reusable, "repository_id": 1}]},
            Link=f'<{page2}>; rel="next"',
        )
    )
    routes[page2.removeprefix(server.url)] = authorized(
        json_answer({"attestations": [{"bundle": reusable, "repository_id": 1}]})
    )
    routes[f"/orgs/malancas/attestations/{d1}"] = authorized(
        json_answer({"attestations": [{"bundle": reusable, "repository_id": 1}]})
    )

    def bulk(req: Request) -> Any:
        asked = json.loads(req.body)["subject_digests"]
        by = {d1: [{"bundle": reusable, "repository_id": 1}], d2: [{"bundle": custom}]}
        return json_answer({"attestations_subject_digests": {d: by.get(d) for d in asked}})

    routes["/orgs/malancas/attestations/bulk-list"] = authorized(bulk)
    routes[f"/repos/malancas/empty/attestations/{d1}"] = json_answer({"message": "Not Found"}, 404)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("source", "artifacts", "env", "count"),
    [
        pytest.param(
            "github:malancas/attest-demo", [WORKFLOW_ARTIFACT], {}, 2, id="repo-two-pages"
        ),
        pytest.param("github:malancas", [WORKFLOW_ARTIFACT], {}, 1, id="org-one-digest"),
        pytest.param(
            "github:malancas", [WORKFLOW_ARTIFACT, CUSTOM_ARTIFACT], {}, 2, id="org-bulk-endpoint"
        ),
        pytest.param(
            "github:malancas/attest-demo",
            [WORKFLOW_ARTIFACT],
            {"GITHUB_TOKEN": "ghp-test-token"},
            2,
            id="with-token",
        ),
        pytest.param("github:malancas/empty", [WORKFLOW_ARTIFACT], {}, 0, id="none-for-digest"),
    ],
)
def test_github(
    github: Loopback, source: str, artifacts: list[Path], env: dict[str, str], count: int
) -> None:
    subjects = [{"sha256": _sha256(a)} for a in artifacts]
    result = fetch(source, subjects=subjects, env=env, base_urls={"github": github.url})
    assert len(result.attestations) == count
    assert all(a.bundle is not None for a in result.attestations)
    sent = {r.headers.get("authorization") for r in github.requests}
    assert sent == ({"Bearer ghp-test-token"} if env else {None})
    if "bulk" in str(github.requests[-1].path):
        assert github.requests[-1].method == "POST"


def test_github_token_is_never_printed(
    github: Loopback,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-wrong-token")
    out = tmp_path / "o.jsonl"
    code, stdout, err = _run(
        capsys,
        "fetch",
        "github:malancas/attest-demo",
        "--subject",
        WORKFLOW_ARTIFACT,
        "--github-api",
        github.url,
        "--out",
        out,
    )
    assert code == 2
    assert "HTTP 401" in err
    assert "ghp-wrong-token" not in err + stdout
    assert not out.exists()


# --------------------------------------------------------------------------
# verify --from with the shipped layouts and real keyless attestations


@pytest.mark.parametrize(
    ("layout", "source", "params", "subject", "service"),
    [
        pytest.param(
            "pypi-trusted-publishing.yml",
            "pypi:pypi-attestations==0.0.19",
            [
                "repository=trailofbits/pypi-attestations",
                "workflow=release.yml",
                "package=pypi_attestations",
            ],
            I24_SDIST,
            "pypi",
            id="pypi-trusted-publishing",
        ),
        pytest.param(
            "github-artifact-attestations.yml",
            "github:malancas/attest-demo",
            [
                "repository=malancas/attest-demo",
                "signer-repository=github/artifact-attestations-workflows",
            ],
            WORKFLOW_ARTIFACT,
            "github",
            id="github-artifact-attestations",
        ),
    ],
)
def test_verify_from_service_with_shipped_layout(
    pypi: Loopback,
    github: Loopback,
    capsys: pytest.CaptureFixture[str],
    layout: str,
    source: str,
    params: list[str],
    subject: Path,
    service: str,
) -> None:
    pytest.importorskip("sigstore")
    server = {"pypi": pypi, "github": github}[service]
    flag = {"pypi": "--pypi-url", "github": "--github-api"}[service]
    argv: list[str | Path] = [
        "verify",
        REPO_ROOT / "layouts" / layout,
        "--unsigned-layout",
        "--from",
        source,
        flag,
        server.url,
        "--subject",
        subject,
        "--trusted-root",
        PROD,
        "--at",
        AT,
        "--format",
        "json",
    ]
    for p in params:
        argv += ["--param", p]
    code, out, err = _run(capsys, *argv)
    assert code == 0, (err, [c for c in json.loads(out)["checks"] if c["status"] == "fail"])
    report = json.loads(out)
    assert report["sources"][0]["source"] == source
    assert report["sources"][0]["attestations"] >= 1
    assert f"{source}: " in err


# --------------------------------------------------------------------------
# Bad sources: one line naming the source, exit 2, nothing written


@pytest.fixture(scope="module")
def bad() -> Iterator[Loopback]:
    key = generate_private_key("ed25519")
    many = b"\n".join(_signed_line(key, n) for n in range(3)) + b"\n"
    routes: dict[str, Any] = {
        "/ok.jsonl": (200, {}, _signed_line(key, 0) + b"\n"),
        "/404.jsonl": (404, {}, b"not here"),
        "/401.jsonl": (401, {}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/downgrade": (302, {"Location": "http://example.invalid/x.jsonl"}, b""),
        "/container.json": (200, {}, NPM_DOC.read_bytes()),
        "/big.jsonl": (200, {}, b" " * 5000 + b"{}"),
        "/big-unannounced.jsonl": (200, {"X-Omit-Length": "1"}, b" " * 5000 + b"{}"),
        "/bad.json": (200, {}, b"{not json"),
        "/many.jsonl": (200, {}, many),
        "/503.jsonl": (503, {}, b""),
        "/v2/repo/manifests/missing": (404, {}, b'{"errors":[]}'),
        "/v2/locked/manifests/v1": (401, {}, b""),
    }
    with serve(routes) as server:
        yield server


BAD_SOURCES: dict[str, tuple[str, list[str], str]] = {
    # name: (source, extra flags, problem fragment); {url} and {netloc} are the server's
    "unreachable-host": ("http://127.0.0.1:{closed}/x.jsonl", [], "cannot reach"),
    "unreachable-registry": ("oci://127.0.0.1:{closed}/repo:v1", [], "cannot reach"),
    "http-404": ("{url}/404.jsonl", [], "HTTP 404"),
    "registry-404": ("oci://{netloc}/repo:missing", [], "HTTP 404"),
    "http-401": ("{url}/401.jsonl", [], "HTTP 401"),
    "registry-401-no-challenge": ("oci://{netloc}/locked:v1", [], "unsupported challenge"),
    "redirect-loop": ("{url}/loop", [], "too many redirects"),
    "over-size-limit": ("{url}/big.jsonl", ["--max-response-bytes", "1000"], "over 1000 bytes"),
    "over-size-limit-unannounced": (
        "{url}/big-unannounced.jsonl",
        ["--max-response-bytes", "1000"],
        "over 1000 bytes",
    ),
    "invalid-json": ("{url}/bad.json", [], "invalid JSON"),
    "redirect-to-plain-http-elsewhere": ("{url}/downgrade", [], "only https"),
    "too-many-in-one-document": (
        "{url}/container.json",
        ["--max-attestations", "1"],
        "more than 1 attestations",
    ),
    "too-many-attestations": (
        "{url}/many.jsonl",
        ["--max-attestations", "2"],
        "more than 2 attestations",
    ),
    "5xx-exhausted": ("{url}/503.jsonl", [], "HTTP 503"),
    "unknown-scheme": ("ftp://{netloc}/x", [], "unknown source kind"),
    "plain-http-off-loopback": ("http://example.invalid/x.jsonl", [], "only https"),
    "bad-oci-reference": ("oci://{netloc}/Repo@sha256:xyz", [], "not a sha256 digest"),
    "bad-npm-spec": ("npm:left-pad", [], "expected npm:NAME@VERSION"),
    "github-without-subject": ("github:octo/repo", [], "give a sha256 subject"),
    "missing-file": ("file:/nonexistent/x.jsonl", [], "cannot read"),
    "url-not-parsable": ("https://[::1/x", [], "not a valid URL"),
    "port-out-of-range": ("https://127.0.0.1:99999/x", [], "bad host or port"),
    "registry-not-parsable": ("oci://[::1/r:v1", [], "not a valid registry"),
}


@pytest.mark.parametrize(
    ("source", "flags", "problem"), list(BAD_SOURCES.values()), ids=list(BAD_SOURCES)
)
def test_bad_source(
    bad: Loopback,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source: str,
    flags: list[str],
    problem: str,
) -> None:
    source = source.format(url=bad.url, netloc=bad.netloc, closed=free_port())
    out = tmp_path / "found.jsonl"
    # A good source first: a later failure must still leave nothing written.
    good = f"{bad.url}/ok.jsonl"
    code, stdout, err = _run(capsys, "fetch", good, source, "--out", out, "--retries", "0", *flags)
    assert code == 2
    lines = err.splitlines()
    assert lines[-1].startswith(f"intoto-policy: {source}: ")
    assert problem in lines[-1]
    assert "Traceback" not in err
    assert not out.exists()
    assert stdout == ""


def _minimal_layout(tmp_path: Path) -> Path:
    public = generate_private_key("ed25519").public_key
    layout = {
        "expires": "2099-01-01T00:00:00Z",
        "functionaries": {public.keyid: public.to_dict(camel=True)},
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [
                    {
                        "predicateType": "https://example.com/test/v1",
                        "functionaries": [public.keyid],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    return path


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("https://user:hunter2@127.0.0.1:1/x.jsonl", id="https"),
        pytest.param("oci://user:hunter2@127.0.0.1:1/repo:v1", id="oci"),
    ],
)
def test_credentials_in_a_url_are_refused_and_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str
) -> None:
    out = tmp_path / "o.jsonl"
    code, _, err = _run(capsys, "fetch", source, "--out", out, "--retries", "0")
    assert code == 2
    assert "credentials in a URL are refused" in err
    assert "hunter2" not in err
    assert "***@127.0.0.1:1" in err
    assert not out.exists()


def test_verify_from_a_bad_source_exits_2(
    bad: Loopback, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = _minimal_layout(tmp_path)
    report = tmp_path / "report.json"
    code, _, err = _run(
        capsys,
        "verify",
        layout,
        "--unsigned-layout",
        "--no-subject",
        "--from",
        f"{bad.url}/404.jsonl",
        "--output",
        report,
        "--retries",
        "0",
    )
    assert code == 2
    assert "HTTP 404" in err
    assert not report.exists()


def test_fetch_with_nothing_found_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve({"/none.jsonl": (200, {}, b'{"attestations": []}')}) as server:
        out = tmp_path / "o.jsonl"
        code, _, err = _run(
            capsys,
            "fetch",
            f"{server.url}/none.jsonl",
            "--out",
            out,
            "--predicate-type",
            "https://x/y",
        )
    assert code == 1
    assert "no attestations found" in err
    assert not out.exists()


def test_fetch_refuses_to_overwrite_without_force(
    bad: Loopback, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.jsonl"
    out.write_text("keep")
    code, _, err = _run(capsys, "fetch", f"{bad.url}/ok.jsonl", "--out", out)
    assert code == 2
    assert "file exists" in err
    assert out.read_text() == "keep"
    code, _, _ = _run(capsys, "fetch", f"{bad.url}/ok.jsonl", "--out", out, "--force")
    assert code == 0
    assert out.read_bytes().count(b"\n") == 1


# --------------------------------------------------------------------------
# Retries and backoff (the sleep is injected: nothing waits)


def _flaky(statuses: list[int], body: bytes, **headers: str) -> Any:
    calls = iter(statuses)

    def route(req: Request) -> Any:
        status = next(calls, 200)
        return (status, headers if status != 200 else {}, body if status == 200 else b"")

    return route


@pytest.mark.parametrize(
    ("statuses", "headers", "retries", "sleeps", "ok"),
    [
        pytest.param(
            [429], {"Retry-After": "2"}, 3, [2.0], True, id="429-then-success-retry-after"
        ),
        pytest.param([502, 503], {}, 3, [1.0, 2.0], True, id="5xx-then-success-backoff-doubles"),
        pytest.param([503] * 9, {}, 3, [1.0, 2.0, 4.0], False, id="5xx-exhausted"),
        pytest.param([429], {"Retry-After": "3600"}, 1, [30.0], True, id="retry-after-is-capped"),
        pytest.param([404], {}, 3, [], False, id="404-is-not-retried"),
    ],
)
def test_retries(
    statuses: list[int], headers: dict[str, str], retries: int, sleeps: list[float], ok: bool
) -> None:
    key = generate_private_key("ed25519")
    slept: list[float] = []
    with serve({"/x.jsonl": _flaky(statuses, _signed_line(key, 1), **headers)}) as server:
        run = lambda: fetch(  # noqa: E731
            f"{server.url}/x.jsonl", limits=FetchLimits(retries=retries), sleep=slept.append
        )
        if ok:
            assert len(run().attestations) == 1
        else:
            with pytest.raises(FetchError):
                run()
    assert slept == sleeps


def test_connection_failures_are_retried() -> None:
    slept: list[float] = []
    with pytest.raises(FetchError, match="cannot reach"):
        fetch(
            f"http://127.0.0.1:{free_port()}/x", limits=FetchLimits(retries=2), sleep=slept.append
        )
    assert slept == [1.0, 2.0]


def test_per_source_byte_budget(tmp_path: Path) -> None:
    with (
        serve({"/x.jsonl": (200, {}, b" " * 3000 + b"{}")}) as server,
        pytest.raises(FetchError, match="bytes read for this source"),
    ):
        fetch(f"{server.url}/x.jsonl", limits=FetchLimits(max_source_bytes=2000))


# --------------------------------------------------------------------------
# Start-up cost: verify without --from never loads the fetching code


def test_verify_without_from_does_not_import_httpx(tmp_path: Path) -> None:
    layout = _minimal_layout(tmp_path)
    code = (
        "import sys; from intoto_policy.cli._main import main; "
        f"code = main(['verify', {str(layout)!r}, '--unsigned-layout', '--no-subject']); "
        "print(code, 'httpx' in sys.modules, 'intoto_policy.sources._fetch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    # Exit 1: the layout's step has no attestation, so verification really ran.
    assert done.stdout.strip().splitlines()[-1] == "1 False False", done.stderr


# --------------------------------------------------------------------------
# Command-line usage: flags that do not apply are refused, never ignored


CLASSIC_LAYOUT = ITEMS / "29-intoto-golang-demo-metablock" / "demo.layout"


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        pytest.param(
            ["fetch", "file:x", "--out", "o", "--max-attestations", "0"],
            "positive integer",
            id="zero-limit",
        ),
        pytest.param(
            ["fetch", "file:x", "--out", "o", "--timeout", "abc"],
            "seconds",
            id="timeout-not-a-number",
        ),
        pytest.param(
            ["fetch", "file:x", "--out", "o", "--retries", "99"],
            "invalid choice",
            id="too-many-retries",
        ),
        pytest.param(["fetch", "file:x"], "--out", id="no-out"),
        pytest.param(
            ["fetch", "file:x", "--out", "o", "--subject-digest", "abc"],
            "ALG:HEX",
            id="subject-digest-without-alg",
        ),
        pytest.param(
            ["fetch", "file:x", "--out", "o", "--subject-digest", "sha256:zz"],
            "--subject-digest",
            id="subject-digest-bad-hex",
        ),
        pytest.param(
            ["verify", str(CLASSIC_LAYOUT), "--from", "file:x"],
            "--from: not supported for classic",
            id="verify-from-classic-layout",
        ),
    ],
)
def test_cli_usage_errors(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    problem: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, *argv)
    assert code == 2
    assert problem in err
    assert err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_fetch_is_public_api() -> None:
    import intoto_policy

    assert intoto_policy.fetch is fetch
    assert issubclass(intoto_policy.FetchError, intoto_policy.InputError)
    assert {"fetch", "FetchError", "FetchLimits", "FetchResult"} <= set(intoto_policy.__all__)
