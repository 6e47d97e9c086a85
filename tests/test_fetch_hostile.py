"""Hostile or broken servers: every answer that must not be believed is an error.

A loopback server plays a registry (or an API) that lies: manifests and
blobs that do not match their digests, sizes over the limit, referrers
that are listed but absent, tokens that never come, pagination that leaves
the host the token was meant for. Each case must fail with a FetchError
that says what was wrong.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fetch_support import OCI_INDEX, Loopback, Request, json_answer, serve, sha256

from intoto_policy import FetchLimits, fetch
from intoto_policy._errors import FetchError
from intoto_policy.sources._oci import parse_reference

IMAGE = "sha256:" + "a" * 64
ENVELOPE = json.dumps({"payloadType": "x", "payload": "", "signatures": []}).encode()


def _descriptor(data: bytes, media: str, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media, "digest": sha256(data), "size": len(data), **extra}


def _registry(
    *,
    manifest_subject: str = IMAGE,
    blob: bytes = ENVELOPE,
    layer: dict[str, Any] | None = None,
    referrer_digest: str | None = None,
    tamper_manifest: bool = False,
    drop_manifest: bool = False,
    index_body: bytes | None = None,
) -> dict[str, Any]:
    """Routes for an image with one referrer carrying one DSSE layer."""
    layer = layer or _descriptor(ENVELOPE, "application/vnd.dsse.envelope.v1+json")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.dsse.envelope.v1+json",
        "config": _descriptor(b"{}", "application/vnd.oci.empty.v1+json"),
        "layers": [layer],
        "subject": {"mediaType": "x", "digest": manifest_subject, "size": 1},
    }
    body = json.dumps(manifest).encode()
    digest = referrer_digest or sha256(body)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"digest": digest, "size": len(body), "mediaType": manifest["mediaType"]}],
    }
    routes: dict[str, Any] = {
        f"/v2/r/referrers/{IMAGE}": (200, {}, index_body or json.dumps(index).encode()),
        f"/v2/r/blobs/{layer['digest']}": (200, {}, blob),
    }
    if not drop_manifest:
        routes[f"/v2/r/manifests/{digest}"] = (200, {}, body + (b" " if tamper_manifest else b""))
    return routes


HOSTILE: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    # name: (routes, fetch kwargs, problem)
    "manifest-does-not-match-digest": (
        _registry(tamper_manifest=True),
        {},
        "does not match its digest",
    ),
    "blob-does-not-match-digest": (
        _registry(blob=ENVELOPE + b" "),
        {},
        "does not match its descriptor",
    ),
    "layer-size-over-limit": (
        _registry(layer=_descriptor(ENVELOPE, "application/vnd.dsse.envelope.v1+json", size=10**9)),
        {},
        "declares size",
    ),
    "layer-size-not-a-number": (
        _registry(layer=_descriptor(ENVELOPE, "application/vnd.dsse.envelope.v1+json", size="12")),
        {},
        "declares size",
    ),
    "layer-digest-not-sha256": (
        _registry(
            layer={
                "mediaType": "application/vnd.dsse.envelope.v1+json",
                "digest": "md5:00",
                "size": 1,
            }
        ),
        {},
        "unsupported digest",
    ),
    "referrer-digest-not-sha256": (
        _registry(referrer_digest="sha512:00"),
        {},
        "unsupported digest",
    ),
    "referrer-listed-but-missing": (_registry(drop_manifest=True), {}, "listed but not found"),
    "referrer-about-another-image": (
        _registry(manifest_subject="sha256:" + "b" * 64),
        {},
        "has subject",
    ),
    "referrers-index-not-json": (_registry(index_body=b"{oops"), {}, "invalid JSON"),
    "too-many-requests-for-one-source": (
        _registry(),
        {"limits": FetchLimits(max_requests=2)},
        "more than 2 requests",
    ),
}


@pytest.mark.parametrize(("routes", "kwargs", "problem"), list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_registry(routes: dict[str, Any], kwargs: dict[str, Any], problem: str) -> None:
    with serve(routes) as server:
        source = f"oci://{server.netloc}/r@{IMAGE}"
        with pytest.raises(FetchError, match=problem) as caught:
            fetch(source, **kwargs)
    assert caught.value.source == source
    assert str(caught.value).startswith(f"{source}: ")


def test_a_well_behaved_fake_registry_passes() -> None:
    """The same routes without a lie fetch one item (so each case above fails for its lie)."""
    with serve(_registry()) as server:
        result = fetch(f"oci://{server.netloc}/r@{IMAGE}")
    assert [i.raw for i in result.items] == [ENVELOPE]


# --------------------------------------------------------------------------
# Registry auth


def _guarded(expected: str, challenge: Callable[[Loopback], str]) -> tuple[Loopback, Loopback]:
    inner = _registry()
    front = Loopback().start()

    def route(req: Request) -> Any:
        if req.headers.get("authorization") != expected:
            return 401, {"WWW-Authenticate": challenge(front)}, b""
        key = req.path if req.path in inner else req.path.partition("?")[0]
        return inner.get(key, (404, {}, b""))

    for path in [*inner, f"/v2/r/manifests/{IMAGE.replace(':', '-')}.att"]:
        front.routes[path] = route
    return front, front


BASIC = "Basic " + base64.b64encode(b"u:p").decode()


@pytest.mark.parametrize(
    ("challenge", "env", "problem"),
    [
        pytest.param('Basic realm="r"', {}, "credentials needed", id="basic-without-credentials"),
        pytest.param(
            'Basic realm="r"',
            {"REGISTRY_USERNAME": "u", "REGISTRY_PASSWORD": "p", "REGISTRY_HOST": "{netloc}"},
            None,
            id="basic-from-env",
        ),
        pytest.param("Negotiate", {}, "unsupported challenge", id="unknown-scheme"),
        pytest.param(
            'Bearer realm="{url}/token-none"', {}, "gave no token", id="token-service-without-token"
        ),
        pytest.param('Bearer realm="{url}/token-401"', {}, "HTTP 401", id="token-service-refuses"),
        pytest.param(
            'Bearer realm="http://example.invalid/token"',
            {},
            "only https",
            id="token-realm-plain-http-elsewhere",
        ),
    ],
)
def test_registry_auth(challenge: str, env: dict[str, str], problem: str | None) -> None:
    front, _ = _guarded(BASIC, lambda f: challenge.format(url=f.url))
    front.routes["/token-none"] = json_answer({"nothing": 1})
    front.routes["/token-401"] = (401, {}, b"")
    try:
        env = {k: v.format(netloc=front.netloc) for k, v in env.items()}
        run = lambda: fetch(f"oci://{front.netloc}/r@{IMAGE}", env=env)  # noqa: E731
        if problem is None:
            assert len(run().items) == 1
        else:
            with pytest.raises(FetchError, match=problem):
                run()
    finally:
        front.stop()


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(b"{not json", id="config-not-json"),
        pytest.param(b'{"auths": {"HOST": {"auth": "%%%"}}}', id="auth-not-base64"),
        pytest.param(b'{"auths": []}', id="auths-not-an-object"),
        pytest.param(b'{"auths": {"other:1": {"auth": "dTpw"}}}', id="other-registry-only"),
    ],
)
def test_unusable_docker_config_means_no_credentials(config: bytes, tmp_path: Path) -> None:
    front, _ = _guarded(BASIC, lambda f: 'Basic realm="r"')
    (tmp_path / "config.json").write_bytes(config.replace(b"HOST", front.netloc.encode()))
    try:
        with pytest.raises(FetchError, match="credentials needed"):
            fetch(f"oci://{front.netloc}/r@{IMAGE}", env={"DOCKER_CONFIG": str(tmp_path)})
        # The same file with a usable entry works: the cases above fail for their defect.
        good = json.dumps({"auths": {front.netloc: {"auth": base64.b64encode(b"u:p").decode()}}})
        (tmp_path / "config.json").write_text(good)
        assert (
            len(
                fetch(f"oci://{front.netloc}/r@{IMAGE}", env={"DOCKER_CONFIG": str(tmp_path)}).items
            )
            == 1
        )
        home = tmp_path / "home"
        (home / ".docker").mkdir(parents=True)
        (home / ".docker" / "config.json").write_text(good)
        assert len(fetch(f"oci://{front.netloc}/r@{IMAGE}", env={"HOME": str(home)}).items) == 1
    finally:
        front.stop()


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        pytest.param("host", "expected oci://", id="no-repository"),
        pytest.param("host/repo", "give a digest", id="neither-digest-nor-tag"),
        pytest.param("host/Repo:v1", "not a valid repository", id="uppercase-repository"),
        pytest.param("host/repo:bad tag", "not a valid tag", id="bad-tag"),
        pytest.param("host/repo@sha256:" + "A" * 64, "not a sha256 digest", id="uppercase-digest"),
        pytest.param("host/a/../b:v1", "not a valid repository", id="dot-dot-in-repository"),
    ],
)
def test_bad_oci_reference(reference: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_reference(reference)


# --------------------------------------------------------------------------
# Hostile APIs

DIGEST = "a" * 64


def _api_case(routes: dict[str, Any], source: str, problem: str, **kwargs: Any) -> Any:
    return pytest.param(routes, source, problem, kwargs)


API_CASES = {
    "github-pagination-to-another-host": (
        {
            f"/repos/o/r/attestations/sha256:{DIGEST}": json_answer(
                {"attestations": []}, Link='<https://elsewhere.example/next>; rel="next"'
            )
        },
        "github:o/r",
        "leaves",
    ),
    "github-pagination-to-another-port": (
        {
            f"/repos/o/r/attestations/sha256:{DIGEST}": json_answer(
                {"attestations": []}, Link='<http://127.0.0.1:1/next>; rel="next"'
            )
        },
        "github:o/r",
        "leaves",
    ),
    "github-pagination-link-not-a-url": (
        {
            f"/repos/o/r/attestations/sha256:{DIGEST}": json_answer(
                {"attestations": []}, Link='<http://[::1/next>; rel="next"'
            )
        },
        "github:o/r",
        "leaves",
    ),
    "npm-duplicate-keys": (
        {"/p/1.0.0": (200, {}, b'{"dist": {"integrity": "a", "integrity": "b"}}')},
        "npm:p@1.0.0",
        "invalid JSON",
    ),
    "pypi-too-deep": (
        {"/pypi/p/1/json": (200, {}, b"[" * 500 + b"]" * 500)},
        "pypi:p==1",
        "invalid JSON",
    ),
    "github-entry-without-bundle": (
        {
            f"/repos/o/r/attestations/sha256:{DIGEST}": json_answer(
                {"attestations": [{"bundle_url": "x"}]}
            )
        },
        "github:o/r",
        "no inline bundle",
    ),
    "github-not-a-list": (
        {f"/repos/o/r/attestations/sha256:{DIGEST}": json_answer({"attestations": {}})},
        "github:o/r",
        "unexpected response shape",
    ),
    "github-bulk-wrong-shape": (
        {"/orgs/o/attestations/bulk-list": json_answer({"attestations": []})},
        "github:o",
        "unexpected response shape",
    ),
    "github-bad-owner": ({}, "github:o/r/x", "expected github:OWNER"),
    "npm-no-integrity": (
        {"/p/1.0.0": json_answer({"dist": {}})},
        "npm:p@1.0.0",
        "no sha512 integrity",
    ),
    "npm-integrity-not-base64": (
        {"/p/1.0.0": json_answer({"dist": {"integrity": "sha512-%%%"}})},
        "npm:p@1.0.0",
        "no sha512 integrity",
    ),
    "npm-attestations-not-a-list": (
        {
            "/p/1.0.0": json_answer(
                {
                    "dist": {
                        "integrity": "sha512-"
                        + base64.b64encode(hashlib.sha512(b"").digest()).decode()
                    }
                }
            ),
            "/-/npm/v1/attestations/p@1.0.0": json_answer({"attestations": None}),
        },
        "npm:p@1.0.0",
        "unexpected response shape",
    ),
    "npm-entry-without-bundle": (
        {
            "/p/1.0.0": json_answer(
                {
                    "dist": {
                        "integrity": "sha512-"
                        + base64.b64encode(hashlib.sha512(b"").digest()).decode()
                    }
                }
            ),
            "/-/npm/v1/attestations/p@1.0.0": json_answer(
                {"attestations": [{"predicateType": "x"}]}
            ),
        },
        "npm:p@1.0.0",
        "has no bundle",
    ),
    "pypi-release-without-urls": (
        {"/pypi/p/1/json": json_answer({"info": {}})},
        "pypi:p==1",
        "unexpected release",
    ),
    "pypi-bad-sha256": (
        {
            "/pypi/p/1/json": json_answer(
                {"urls": [{"filename": "p-1.tar.gz", "digests": {"sha256": "xyz"}}]}
            )
        },
        "pypi:p==1",
        "bad sha256",
    ),
    "pypi-provenance-wrong-shape": (
        {
            "/pypi/p/1/json": json_answer(
                {"urls": [{"filename": "p-1.tar.gz", "digests": {"sha256": DIGEST}}]}
            ),
            "/integrity/p/1/p-1.tar.gz/provenance": json_answer(
                {"attestation_bundles": [{"attestations": 1}]}
            ),
        },
        "pypi:p==1",
        "unexpected provenance shape",
    ),
    "pypi-bad-file-name": ({}, "pypi:p==1/../x", "not a distribution file name"),
}


@pytest.mark.parametrize(
    ("routes", "source", "problem"), list(API_CASES.values()), ids=list(API_CASES)
)
def test_hostile_api(routes: dict[str, Any], source: str, problem: str) -> None:
    subjects = (
        [{"sha256": DIGEST}, {"sha256": "b" * 64}] if source == "github:o" else [{"sha256": DIGEST}]
    )
    if source.startswith(("npm:", "pypi:")):
        subjects = []
    with serve(routes) as server:
        base_urls = {"github": server.url, "npm": server.url, "pypi": server.url}
        with pytest.raises(FetchError, match=problem):
            fetch(source, subjects=subjects, base_urls=base_urls)


def test_pagination_that_never_ends_is_bounded() -> None:
    path = f"/repos/o/r/attestations/sha256:{DIGEST}"
    with serve({}) as server:
        server.routes[path] = json_answer(
            {"attestations": []}, Link=f'<{server.url}{path}?page=again>; rel="next"'
        )
        with pytest.raises(FetchError, match="more than 20 requests"):
            fetch(
                "github:o/r",
                subjects=[{"sha256": DIGEST}],
                base_urls={"github": server.url},
                limits=FetchLimits(max_requests=20),
            )
    assert len(server.requests) == 20


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, "https://api.github.com", id="default"),
        pytest.param(
            {"INTOTO_POLICY_GITHUB_API": "https://ghe.example/api/v3/"},
            "https://ghe.example/api/v3",
            id="from-environment",
        ),
    ],
)
def test_base_url_resolution(env: dict[str, str], expected: str) -> None:
    from intoto_policy.sources._client import HttpClient
    from intoto_policy.sources._source import Context

    assert Context("s", HttpClient("s"), env=env, base_urls={}).base_url("github") == expected


@pytest.mark.parametrize(
    ("registry", "repo", "base"),
    [
        pytest.param(
            "docker.io",
            "alpine",
            "https://registry-1.docker.io/v2/library/alpine",
            id="hub-official-image",
        ),
        pytest.param(
            "docker.io", "acme/app", "https://registry-1.docker.io/v2/acme/app", id="hub-namespaced"
        ),
        pytest.param(
            "ghcr.io", "acme/app", "https://ghcr.io/v2/acme/app", id="other-registry-https"
        ),
        pytest.param(
            "localhost:5000", "app", "http://localhost:5000/v2/app", id="loopback-plain-http"
        ),
    ],
)
def test_registry_api_base(registry: str, repo: str, base: str) -> None:
    from intoto_policy.sources._client import HttpClient
    from intoto_policy.sources._oci import _Registry
    from intoto_policy.sources._source import Context

    assert _Registry(Context("s", HttpClient("s")), registry, repo).base == base


def test_docker_hub_credentials_are_found_under_docker_logins_key(tmp_path: Path) -> None:
    from intoto_policy.sources._oci import _docker_credentials as _credentials

    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"}}})
    )
    assert _credentials({"DOCKER_CONFIG": str(tmp_path)}, "docker.io") == "dTpw"
    assert _credentials({"DOCKER_CONFIG": str(tmp_path)}, "ghcr.io") is None
