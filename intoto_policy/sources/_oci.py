"""``oci://REGISTRY/REPO@sha256:HEX`` (or ``:TAG``): attestations stored next to an image.

A thin client of the OCI distribution API. Attestations are found, in this
order, through the OCI 1.1 referrers API, the referrers tag schema (an
index tagged ``sha256-HEX``, for registries without the API) and cosign's
``sha256-HEX.att`` tag. Layers are filtered by their predicate-type
annotation before any blob is downloaded, and every manifest and blob is
checked against its digest. Bearer tokens are obtained from the
``WWW-Authenticate`` challenge.

Credentials belong to one registry and go nowhere else:
``REGISTRY_USERNAME`` / ``REGISTRY_PASSWORD`` are used only for the
registry named by ``REGISTRY_HOST`` (as written in the reference,
``HOST[:PORT]``; set without it they are an error when a registry asks),
and a Docker config ``auths`` entry only for the registry it is keyed by.
They are sent to a Bearer token service (the challenge's ``realm``) only
over https (plain http only when registry and realm are both on this
machine), and, for the environment credentials, only when the realm's host
is the registry's own host, ``auth.docker.io`` for Docker Hub, or listed in
``REGISTRY_AUTH_HOSTS`` (comma-separated). A Docker config entry goes to
its registry's https realm on any host, as docker does: the registry it is
keyed by chose that token service. Otherwise the token is asked for
anonymously.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from .._errors import JSONError
from ..model._json import loads
from ._client import Response, is_loopback, redact_url
from ._source import Context, Item

__all__ = ["fetch_oci", "parse_reference"]

INDEX_TYPE: Final = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES: Final = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
DSSE_TYPE: Final = "application/vnd.dsse.envelope.v1+json"
BUNDLE_PREFIX: Final = "application/vnd.dev.sigstore.bundle"
# Annotations that name the predicate type (cosign, sigstore bundles, in-toto).
PREDICATE_ANNOTATIONS: Final = (
    "predicateType",
    "dev.sigstore.bundle.predicateType",
    "in-toto.io/predicate-type",
)
_DOCKER_HUB: Final = ("docker.io", "index.docker.io", "registry-1.docker.io")
_DOCKER_HUB_AUTH: Final = "auth.docker.io"
_DIGEST: Final = re.compile(r"sha256:[0-9a-f]{64}")
_REPO: Final = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
_TAG: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def parse_reference(rest: str) -> tuple[str, str, str | None, str | None]:
    """Split ``REGISTRY/REPO@DIGEST`` or ``REGISTRY/REPO:TAG``.

    Returns:
        (registry, repository, digest or None, tag or None).

    Raises:
        ValueError: Not a valid reference.
    """
    registry, slash, path = rest.partition("/")
    if not slash or not registry or not path:
        raise ValueError("expected oci://REGISTRY/REPO@sha256:HEX or oci://REGISTRY/REPO:TAG")
    digest = tag = None
    if "@" in path:
        path, _, digest = path.partition("@")
        if not _DIGEST.fullmatch(digest):
            raise ValueError(f"not a sha256 digest: {digest!r}")
    else:
        name, colon, tag_text = path.rpartition(":")
        if not colon:
            raise ValueError("give a digest (@sha256:HEX) or a tag (:TAG)")
        path, tag = name, tag_text
        if not _TAG.fullmatch(tag):
            raise ValueError(f"not a valid tag: {tag!r}")
    if not _REPO.fullmatch(path):
        raise ValueError(f"not a valid repository name: {path!r}")
    return registry, path, digest, tag


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _Registry:
    """Requests to one repository of one registry, with token auth."""

    def __init__(self, ctx: Context, registry: str, repo: str) -> None:
        self.ctx = ctx
        try:
            host = urllib.parse.urlsplit(f"//{registry}").hostname or ""
        except ValueError:
            # urllib's message may quote the reference: never echoed.
            raise ctx.fail("not a valid registry (bad host or port)") from None
        # Like docker, a registry on this machine is spoken to over plain HTTP.
        scheme = "http" if is_loopback(host) else "https"
        api = registry
        if registry in _DOCKER_HUB:  # Docker Hub's API host and official-image namespace
            api = "registry-1.docker.io"
            repo = repo if "/" in repo else f"library/{repo}"
        self.base = f"{scheme}://{api}/v2/{repo}"
        self.host = host
        self.api_host = urllib.parse.urlsplit(f"//{api}").hostname or ""
        self.registry = registry
        self.repo = repo
        self.authorization: str | None = None

    def get(self, path: str, accept: str, ok: tuple[int, ...] = (200,)) -> Response:
        url = f"{self.base}/{path}"
        headers = {"Accept": accept}
        if self.authorization:
            headers["Authorization"] = self.authorization
        response = self.ctx.client.get(url, headers=headers, ok=(*ok, 401))
        if response.status == 401 and self.authorization is None:
            self.authorization = self._authorize(response)
            headers["Authorization"] = self.authorization
            response = self.ctx.client.get(url, headers=headers, ok=(*ok, 401))
        if response.status == 401:
            raise self.ctx.fail(f"HTTP 401 from {redact_url(url)}: not authorized")
        return response

    def _authorize(self, response: Response) -> str:
        challenge = response.headers.get("www-authenticate", "")
        scheme, _, params_text = challenge.partition(" ")
        params = dict(re.findall(r'(\w+)="([^"]*)"', params_text))
        where = redact_url(response.url, keep_query=False)
        found = self._credentials()
        basic = found[0] if found else None
        if scheme.lower() == "basic":
            if basic is None:
                raise self.ctx.fail(f"HTTP 401 from {where}: credentials needed")
            return f"Basic {basic}"
        if scheme.lower() != "bearer" or "realm" not in params:
            raise self.ctx.fail(f"HTTP 401 from {where}: unsupported challenge")
        query = {"scope": params.get("scope") or f"repository:{self.repo}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        url = f"{params['realm']}?{urllib.parse.urlencode(query)}"
        send = found is not None and self._realm_may_have(params["realm"], found[1])
        headers = {"Authorization": f"Basic {basic}"} if send else {}
        doc = self.ctx.client.get_json(url, headers=headers)
        token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            where = redact_url(url, keep_query=False)
            raise self.ctx.fail(f"the token service {where} gave no token")
        return f"Bearer {token}"

    def _credentials(self) -> tuple[str, str] | None:
        """(base64 user:password, where from: "env" or "docker") for this registry."""
        env = self.ctx.env
        user, password = env.get("REGISTRY_USERNAME"), env.get("REGISTRY_PASSWORD")
        if user and password:
            named = env.get("REGISTRY_HOST", "").strip().lower()
            if not named:
                raise self.ctx.fail(
                    "REGISTRY_USERNAME/REGISTRY_PASSWORD are set but REGISTRY_HOST is not: "
                    "name the registry they belong to"
                )
            if named == self.registry.lower():
                return base64.b64encode(f"{user}:{password}".encode()).decode(), "env"
        basic = _docker_credentials(env, self.registry)
        return (basic, "docker") if basic else None

    def _realm_may_have(self, realm: str, origin: str) -> bool:
        """Whether the token service at ``realm`` may receive this registry's credentials."""
        try:
            parts = urllib.parse.urlsplit(realm)
            host = (parts.hostname or "").lower()
        except ValueError:
            return False
        local = is_loopback(host) and is_loopback(self.host)
        if not host or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
            return False
        if origin == "docker":  # docker's rule: the registry the entry is keyed by chose it
            return True
        allowed = {self.host.lower(), self.api_host.lower()}
        if self.registry in _DOCKER_HUB:
            allowed.add(_DOCKER_HUB_AUTH)
        extra = self.ctx.env.get("REGISTRY_AUTH_HOSTS", "")
        allowed |= {h.strip().lower() for h in extra.split(",") if h.strip()}
        return host in allowed

    def json(self, path: str, accept: str, expect: str | None) -> tuple[Any, bytes] | None:
        """A manifest or index (None on 404), checked against ``expect`` digest."""
        response = self.get(path, accept, ok=(200, 404))
        if response.status == 404:
            return None
        if expect is not None and _sha256(response.body) != expect:
            raise self.ctx.fail(f"manifest {expect} does not match its digest")
        try:
            return loads(response.body, source=response.url), response.body
        except JSONError as exc:
            raise self.ctx.fail(f"invalid JSON from {_where(response)}: {exc.problem}") from None

    def blob(self, descriptor: Mapping[str, Any]) -> bytes:
        digest = descriptor.get("digest")
        size = descriptor.get("size")
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise self.ctx.fail(f"a layer has an unsupported digest {digest!r}")
        limit = self.ctx.client.limits.max_response_bytes
        if not isinstance(size, int) or size < 0 or size > limit:
            raise self.ctx.fail(f"layer {digest} declares size {size!r} (limit {limit})")
        body = self.get(f"blobs/{digest}", "*/*").body
        if len(body) != size or _sha256(body) != digest:
            raise self.ctx.fail(f"blob {digest} does not match its descriptor")
        return body


def _where(response: Response) -> str:
    return redact_url(response.url, keep_query=False)


def _docker_credentials(env: Mapping[str, str], registry: str) -> str | None:
    """base64(user:password) keyed by ``registry`` in Docker's config file, if any."""
    directory = env.get("DOCKER_CONFIG") or (
        str(Path(env["HOME"]) / ".docker") if env.get("HOME") else None
    )
    if directory is None:
        return None
    try:
        doc = json.loads((Path(directory) / "config.json").read_bytes())
    except (OSError, ValueError):
        return None
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        return None
    keys = [registry, f"https://{registry}", f"http://{registry}"]
    if registry in _DOCKER_HUB:
        keys.append("https://index.docker.io/v1/")  # where docker login stores Hub credentials
    for key in keys:
        entry = auths.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("auth"), str):
            try:
                base64.b64decode(entry["auth"], validate=True)
            except binascii.Error:
                return None
            return str(entry["auth"])
    return None


def _annotated_type(descriptor: Mapping[str, Any]) -> str | None:
    annotations = descriptor.get("annotations")
    if isinstance(annotations, dict):
        for name in PREDICATE_ANNOTATIONS:
            if isinstance(annotations.get(name), str):
                return str(annotations[name])
    return None


def _is_attestation_layer(layer: Mapping[str, Any]) -> bool:
    media = layer.get("mediaType")
    return isinstance(media, str) and (media == DSSE_TYPE or media.startswith(BUNDLE_PREFIX))


def _descriptors(doc: Any, key: str) -> list[Mapping[str, Any]]:
    items = doc.get(key) if isinstance(doc, dict) else None
    return [d for d in items if isinstance(d, dict)] if isinstance(items, list) else []


def _layers(reg: _Registry, ctx: Context, manifest: Any, where: str) -> list[Item]:
    found: list[Item] = []
    for layer in _descriptors(manifest, "layers"):
        if not _is_attestation_layer(layer) or not ctx.wants(_annotated_type(layer)):
            continue
        found.append(
            Item(f"{reg.registry}/{reg.repo}@{layer['digest']} ({where})", reg.blob(layer))
        )
        if len(found) > ctx.client.limits.max_attestations:
            raise ctx.fail(f"more than {ctx.client.limits.max_attestations} attestations")
    return found


def _referrers(reg: _Registry, ctx: Context, digest: str) -> tuple[list[Item], str]:
    """Artifacts whose subject is ``digest``: the API, else the tag schema."""
    response = reg.get(f"referrers/{digest}", INDEX_TYPE, ok=(200, 404))
    how = "referrers API"
    if response.status == 200:
        try:
            index: Any = loads(response.body, source=response.url)
        except JSONError as exc:
            raise ctx.fail(f"invalid JSON from {_where(response)}: {exc.problem}") from None
    else:
        how = "referrers tag"
        got = reg.json(f"manifests/{digest.replace(':', '-')}", INDEX_TYPE, None)
        if got is None:
            return [], how
        index = got[0]
    found: list[Item] = []
    for descriptor in _descriptors(index, "manifests"):
        # The index's annotations come from the artifact manifest: filter before fetching it.
        if not ctx.wants(_annotated_type(descriptor)):
            continue
        ref = descriptor.get("digest")
        if not isinstance(ref, str) or not _DIGEST.fullmatch(ref):
            raise ctx.fail(f"a referrer has an unsupported digest {ref!r}")
        got = reg.json(f"manifests/{ref}", ",".join(MANIFEST_TYPES), ref)
        if got is None:
            raise ctx.fail(f"referrer {ref} is listed but not found")
        manifest = got[0]
        subject = manifest.get("subject") if isinstance(manifest, dict) else None
        subject_digest = subject.get("digest") if isinstance(subject, dict) else None
        if subject_digest != digest:
            raise ctx.fail(f"referrer {ref} has subject {subject_digest!r}, not {digest}")
        found.extend(_layers(reg, ctx, manifest, how))
    return found, how


def fetch_oci(ctx: Context, rest: str) -> list[Item]:
    """Fetch the attestations of one image.

    Raises:
        FetchError: A bad reference, an unreachable or refusing registry, a
            manifest or blob that does not match its digest, a referrer for
            another subject, or a limit exceeded.
    """
    try:
        registry, repo, digest, tag = parse_reference(rest)
    except ValueError as exc:
        raise ctx.fail(str(exc)) from None
    reg = _Registry(ctx, registry, repo)
    if digest is None:
        got = reg.get(f"manifests/{tag}", ",".join(MANIFEST_TYPES))
        digest = _sha256(got.body)
    found, _how = _referrers(reg, ctx, digest)
    cosign = reg.json(f"manifests/{digest.replace(':', '-')}.att", ",".join(MANIFEST_TYPES), None)
    if cosign is not None:
        found.extend(_layers(reg, ctx, cosign[0], "cosign .att tag"))
    seen: set[bytes] = set()
    unique = []
    for item in found:
        if item.raw not in seen:
            seen.add(item.raw)
            unique.append(item)
    return unique
