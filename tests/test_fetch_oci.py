"""Fetching from a real OCI registry (Debian's docker-registry, Distribution 2.8).

The registry has no referrers API, so a fetch there goes through the
referrers tag schema and cosign's ``.att`` tag; the API itself is covered by
a loopback server that adds just that endpoint in front of the registry.
Auth is covered by a loopback front that demands a bearer token from a
loopback token service, with credentials from a Docker config file.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fetch_support import (
    BUNDLE,
    DSSE,
    ITEMS,
    OCI_INDEX,
    Loopback,
    Pusher,
    Request,
    json_answer,
    serve,
    sha256,
    start_registry,
)
from jsonschema import Draft202012Validator

from intoto_policy import FetchLimits, fetch
from intoto_policy._errors import FetchError
from intoto_policy.cli._main import main
from intoto_policy.crypto._keys import generate_private_key
from intoto_policy.model._dsse import INTOTO_PAYLOAD_TYPE, Envelope

SLSA = "https://slsa.dev/provenance/v1"
COSIGN = "https://cosign.sigstore.dev/attestation/v1"
GUAC = ITEMS / "33-guac-oci-dsse-att" / "oci-dsse-att.json"
COSIGN_BUNDLE = ITEMS / "19-cosign-oci-attestation" / "oci-attestation.sigstore.json"

pytestmark = [
    pytest.mark.skipif(
        shutil.which("docker-registry") is None,
        reason="docker-registry is not installed (apt-get install docker-registry)",
    ),
    pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present"),
]


@dataclass
class Pushed:
    netloc: str
    repo: str
    image: str
    ours: bytes  # our key-signed SLSA envelope (cosign tag)
    guac: bytes  # a real DSSE envelope (cosign tag)
    bundle: bytes  # a real cosign Sigstore bundle (OCI referrer)
    key: Any
    stray: str  # an image with a referrer whose subject is another image


def _envelope(key: Any, subject: str, ptype: str) -> bytes:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": subject.removeprefix("sha256:")}}],
        "predicateType": ptype,
        "predicate": {"runDetails": {"builder": {"id": "https://ci.example.com/builder"}}},
    }
    envelope = Envelope.sign(json.dumps(statement).encode(), INTOTO_PAYLOAD_TYPE, [key])
    return json.dumps(envelope.to_dict()).encode()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, netloc = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        yield netloc
    finally:
        proc.terminate()
        proc.wait()


@pytest.fixture(scope="session")
def pushed(registry: str) -> Iterator[Pushed]:
    repo = "team/app"
    pusher = Pusher(registry, repo)
    key = generate_private_key("ed25519")
    image = pusher.image("v1", b"release bits")
    ours = _envelope(key, image, SLSA)
    guac = GUAC.read_bytes()
    bundle = COSIGN_BUNDLE.read_bytes()
    # cosign's layout: a manifest tagged sha256-HEX.att with DSSE layers.
    layers = [
        pusher.blob(ours, DSSE, predicateType=SLSA),
        pusher.blob(guac, DSSE, predicateType="https://slsa.dev/provenance/v0.2"),
    ]
    att = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": pusher.blob(b"{}", "application/vnd.oci.image.config.v1+json"),
        "layers": layers,
    }
    pusher.manifest(image.replace(":", "-") + ".att", att)
    # An OCI 1.1 referrer, listed in a referrers-tag-schema index (2.8 has no API).
    referrer = pusher.artifact(
        image,
        [pusher.blob(bundle, BUNDLE, **{"dev.sigstore.bundle.predicateType": COSIGN})],
        BUNDLE,
    )
    referrer["annotations"] = {"dev.sigstore.bundle.predicateType": COSIGN}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [referrer]}
    pusher.manifest(image.replace(":", "-"), index)
    # A second image whose referrers index lists an artifact about the first image.
    stray = pusher.image("stray", b"other bits")
    pusher.manifest(
        stray.replace(":", "-"),
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [referrer]},
    )
    pusher.close()
    return Pushed(registry, repo, image, ours, guac, bundle, key, stray)


# --------------------------------------------------------------------------
# Fetching back what was pushed


@pytest.mark.parametrize(
    ("ref", "ptypes", "expect"),
    [
        pytest.param("@", (), {"ours", "guac", "bundle"}, id="by-digest-everything"),
        pytest.param(":v1", (), {"ours", "guac", "bundle"}, id="by-tag-resolved-to-digest"),
        pytest.param("@", (SLSA,), {"ours"}, id="predicate-filter-cosign-layer"),
        pytest.param("@", (COSIGN,), {"bundle"}, id="predicate-filter-referrer"),
        pytest.param("@", ("https://example.com/none",), set(), id="predicate-filter-nothing"),
    ],
)
def test_fetch_from_the_registry(
    pushed: Pushed, ref: str, ptypes: tuple[str, ...], expect: set[str]
) -> None:
    target = f"@{pushed.image}" if ref == "@" else ref
    result = fetch(f"oci://{pushed.netloc}/{pushed.repo}{target}", predicate_types=ptypes)
    by_bytes = {pushed.ours: "ours", pushed.guac: "guac", pushed.bundle: "bundle"}
    # Bytes exactly as pushed.
    assert {by_bytes[i.raw] for i in result.items} == expect
    assert len(result.items) == len(expect)
    assert result.sources[0].attestations == len(result.attestations) == len(expect)
    assert all(a.problem is None for a in result.attestations)


def test_filtered_layers_are_never_downloaded(pushed: Pushed) -> None:
    with _front(pushed) as front:
        fetch(f"oci://{front.netloc}/{pushed.repo}@{pushed.image}", predicate_types=(SLSA,))
    blobs = {r.path.rsplit("/", 1)[-1] for r in front.requests if "/blobs/" in r.path}
    assert blobs == {sha256(pushed.ours)}


def _front(pushed: Pushed, routes: dict[str, Any] | None = None) -> Any:
    return serve(routes or {}, upstream=f"http://{pushed.netloc}")


def test_referrers_api_is_used_first(pushed: Pushed) -> None:
    """A loopback front adds the OCI 1.1 referrers endpoint the registry lacks."""
    import httpx

    tag_index = httpx.get(
        f"http://{pushed.netloc}/v2/{pushed.repo}/manifests/{pushed.image.replace(':', '-')}",
        headers={"Accept": OCI_INDEX},
    ).json()
    path = f"/v2/{pushed.repo}/referrers/{pushed.image}"
    with _front(pushed, {path: json_answer(tag_index)}) as front:
        result = fetch(f"oci://{front.netloc}/{pushed.repo}@{pushed.image}")
    paths = [r.path for r in front.requests]
    assert path in paths
    # The tag schema is not consulted when the API answers.
    assert f"/v2/{pushed.repo}/manifests/{pushed.image.replace(':', '-')}" not in paths
    assert {i.raw for i in result.items} == {pushed.ours, pushed.guac, pushed.bundle}


def test_bearer_token_from_www_authenticate_with_docker_config(
    pushed: Pushed, tmp_path: Path
) -> None:
    user_pass = base64.b64encode(b"ci:s3cret").decode()

    def token(req: Request) -> tuple[int, dict[str, str], bytes]:
        if req.headers.get("authorization") != f"Basic {user_pass}":
            return 401, {}, b""
        assert "scope=repository%3Ateam%2Fapp%3Apull" in req.path
        return json_answer({"token": "tok-123"})

    with serve({"/token": token}) as tokens:
        front = Loopback(upstream=f"http://{pushed.netloc}").start()
        challenge = (
            f'Bearer realm="{tokens.url}/token",service="test",'
            f'scope="repository:{pushed.repo}:pull"'
        )
        original = front.forward

        def forward(req: Request) -> tuple[int, dict[str, str], bytes]:
            if req.headers.get("authorization") != "Bearer tok-123":
                return 401, {"WWW-Authenticate": challenge}, b""
            return original(req)

        front.forward = forward  # type: ignore[method-assign]
        try:
            config = tmp_path / "docker"
            config.mkdir()
            (config / "config.json").write_text(
                json.dumps({"auths": {front.netloc: {"auth": user_pass}}})
            )
            result = fetch(
                f"oci://{front.netloc}/{pushed.repo}@{pushed.image}",
                env={"DOCKER_CONFIG": str(config)},
            )
            assert len(result.items) == 3
            with pytest.raises(FetchError, match="HTTP 401"):
                fetch(f"oci://{front.netloc}/{pushed.repo}@{pushed.image}", env={})
        finally:
            front.stop()


# --------------------------------------------------------------------------
# The command line


def _run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_fetch_writes_jsonl_and_a_summary(
    pushed: Pushed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "found.jsonl"
    source = f"oci://{pushed.netloc}/{pushed.repo}@{pushed.image}"
    code, _, err = _run(capsys, "fetch", source, "--out", out)
    assert code == 0, err
    assert err.strip() == f"intoto-policy: {source}: 3 attestation(s)"
    lines = out.read_bytes().splitlines()
    # Each item on one line: only line breaks (JSON whitespace) become spaces.
    expected = [x.strip().replace(b"\n", b" ") for x in (pushed.ours, pushed.guac, pushed.bundle)]
    assert sorted(lines) == sorted(expected)
    assert [json.loads(x) for x in sorted(lines)] == [json.loads(x) for x in sorted(expected)]
    assert b"\n" not in pushed.ours
    assert pushed.ours in lines


def _layout(tmp_path: Path, key: Any) -> Path:
    public = key.public_key
    layout = {
        "expires": "2099-01-01T00:00:00Z",
        "functionaries": {public.keyid: public.to_dict(camel=True)},
        "subjectSteps": ["build"],
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [{"predicateType": SLSA, "functionaries": [public.keyid]}],
            }
        ],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    return path


@pytest.mark.parametrize(
    ("subject", "code"),
    [
        pytest.param("image", 0, id="attested-image-passes"),
        pytest.param("stray", 1, id="other-image-fails"),
    ],
)
def test_cli_verify_from_the_registry(
    pushed: Pushed, tmp_path: Path, capsys: pytest.CaptureFixture[str], subject: str, code: int
) -> None:
    source = f"oci://{pushed.netloc}/{pushed.repo}@{pushed.image}"
    digest = pushed.image if subject == "image" else pushed.stray
    got, out, err = _run(
        capsys,
        "verify",
        _layout(tmp_path, pushed.key),
        "--unsigned-layout",
        "--from",
        source,
        "--subject-digest",
        digest,
        "--format",
        "json",
    )
    assert got == code, err
    report = json.loads(out)
    assert report["sources"] == [{"source": source, "attestations": 3, "subjects": []}]
    schema = json.loads(
        (Path(__file__).resolve().parents[1] / "schemas" / "report.schema.json").read_text()
    )
    Draft202012Validator(schema).validate(report)


def test_text_report_lists_fetched_sources(
    pushed: Pushed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"oci://{pushed.netloc}/{pushed.repo}@{pushed.image}"
    code, out, err = _run(
        capsys,
        "verify",
        _layout(tmp_path, pushed.key),
        "--unsigned-layout",
        "--from",
        source,
        "--subject-digest",
        pushed.image,
        "--color",
        "never",
    )
    assert code == 0, err
    assert f"  fetched:     {source} (3 attestation(s))" in out.splitlines()


def test_verify_from_combines_with_attestations(
    pushed: Pushed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = tmp_path / "more.jsonl"
    extra.write_bytes(pushed.guac + b"\n")
    source = f"oci://{pushed.netloc}/{pushed.repo}@{pushed.image}"
    code, out, err = _run(
        capsys,
        "verify",
        _layout(tmp_path, pushed.key),
        "--unsigned-layout",
        "--attestations",
        extra,
        "--from",
        source,
        "--subject-digest",
        pushed.image,
        "--format",
        "json",
    )
    assert code == 0, err
    assert json.loads(out)["sources"][0]["attestations"] == 3


def test_referrer_for_another_subject_is_an_error(
    pushed: Pushed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "found.jsonl"
    source = f"oci://{pushed.netloc}/{pushed.repo}@{pushed.stray}"
    code, _, err = _run(capsys, "fetch", source, "--out", out)
    assert code == 2
    assert err.count("\n") == 1
    assert source in err
    assert "has subject" in err
    assert pushed.image in err
    assert not out.exists()


def test_too_many_attestations_from_the_registry(pushed: Pushed) -> None:
    with pytest.raises(FetchError, match="more than 1 attestations"):
        fetch(
            f"oci://{pushed.netloc}/{pushed.repo}@{pushed.image}",
            limits=FetchLimits(max_attestations=1),
        )


# --------------------------------------------------------------------------
# A real registry with basic auth (htpasswd)


@pytest.fixture(scope="session")
def locked_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A registry requiring ci:s3cret, holding one image with one cosign attestation."""
    htpasswd = shutil.which("htpasswd")
    if htpasswd is None:
        pytest.skip("htpasswd is not installed (apt-get install apache2-utils)")
    import subprocess

    work = tmp_path_factory.mktemp("locked")
    users = work / "htpasswd"
    users.write_bytes(
        subprocess.run([htpasswd, "-Bbn", "ci", "s3cret"], check=True, capture_output=True).stdout
    )
    extra = f"auth:\n  htpasswd:\n    realm: test\n    path: {users}\n"
    proc, netloc = start_registry(work, extra, auth=("ci", "s3cret"))
    try:
        pusher = Pusher(netloc, "private/app", auth=("ci", "s3cret"))
        image = pusher.image("v1", b"private bits")
        layer = pusher.blob(
            GUAC.read_bytes(), DSSE, predicateType="https://slsa.dev/provenance/v0.2"
        )
        config = pusher.blob(b"{}", "application/vnd.oci.image.config.v1+json")
        att = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": [layer],
        }
        pusher.manifest(image.replace(":", "-") + ".att", att)
        pusher.close()
        yield netloc, image
    finally:
        proc.terminate()
        proc.wait()


@pytest.mark.parametrize(
    ("credentials", "problem"),
    [
        pytest.param(
            {"REGISTRY_USERNAME": "ci", "REGISTRY_PASSWORD": "s3cret"}, None, id="env-credentials"
        ),
        pytest.param({"docker-config": "ci:s3cret"}, None, id="docker-config-credentials"),
        pytest.param({}, "credentials needed", id="no-credentials"),
        pytest.param(
            {"REGISTRY_USERNAME": "ci", "REGISTRY_PASSWORD": "wrong"},
            "HTTP 401",
            id="wrong-password",
        ),
    ],
)
def test_real_registry_with_basic_auth(
    locked_registry: tuple[str, str],
    tmp_path: Path,
    credentials: dict[str, str],
    problem: str | None,
) -> None:
    netloc, image = locked_registry
    env = dict(credentials)
    if "REGISTRY_USERNAME" in env:
        env["REGISTRY_HOST"] = netloc  # environment credentials belong to one named registry
    if "docker-config" in env:
        auth = base64.b64encode(env.pop("docker-config").encode()).decode()
        (tmp_path / "config.json").write_text(json.dumps({"auths": {netloc: {"auth": auth}}}))
        env["DOCKER_CONFIG"] = str(tmp_path)
    source = f"oci://{netloc}/private/app@{image}"
    if problem is None:
        assert [i.raw for i in fetch(source, env=env).items] == [GUAC.read_bytes()]
    else:
        with pytest.raises(FetchError, match=problem) as caught:
            fetch(source, env=env)
        assert "s3cret" not in str(caught.value)
        assert "wrong" not in str(caught.value)
