"""The client side: a layout and its owner keys fetched through TUF.

:class:`TUFPolicySource` names a layout target in a TUF repository and the
pinned root that anchors trust in it. :func:`fetch_policy` runs the TUF
client workflow (python-tuf's ``ngclient``): root rotation, timestamp,
snapshot, targets and delegations, each checked for signatures over the
role's threshold, version rollback and expiry at the verification time.
It then downloads the layout target (hash and length checked against the
signed metadata) and the key targets its custom metadata names.

Every TUF failure becomes a failed :attr:`CheckKind.TUF` check with the
reason; nothing here ever falls back to an unverified file. The only
network traffic is to the given URL (a ``file://`` URL, or ``offline``,
means none at all).
"""

from __future__ import annotations

import os
import re
import tempfile
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ..._errors import InputError, IntotoPolicyError, UsageError
from ...crypto._keys import PublicKey, load_public_key_pem, public_key_from_dict
from ...model._json import DEFAULT_LIMITS, loads
from ...report._model import Check, CheckKind, LayoutInfo, Report, Status
from ...sources._files import KEY_LIMITS, read_file
from ._repository import IN_TOTO_FIELD, LAYOUT_KEYS_FIELD, check_target_path

if TYPE_CHECKING:
    from tuf.ngclient import Updater

    from .._loading import LoadedLayout

__all__ = ["TUFPolicySource", "TUFResult", "fetch_policy", "load_tuf_layout"]

#: Prefix of a layout argument that names a TUF target.
TUF_PREFIX: Final = "tuf:"

_CHUNK: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class TUFPolicySource:
    """A layout published in a TUF repository.

    Attributes:
        target: The layout's target path (``policies/acme/layout.json``).
        url: The repository's base URL: metadata under ``URL/metadata/``,
            targets under ``URL/targets/``. ``http(s)://`` or ``file://``
            (a local mirror directory, read without any network).
        root: The pinned root metadata (bytes of a trusted ``root.json``).
        cache: Where TUF metadata and targets are cached between runs
            (default: a fresh temporary directory, so nothing is reused).
        offline: Never use the network: only the cache, or a ``file://``
            mirror. Expired metadata still fails.
    """

    target: str
    url: str
    root: bytes = field(repr=False)
    cache: Path | None = None
    offline: bool = False

    @classmethod
    def from_files(
        cls,
        target: str,
        *,
        url: str,
        root: str | os.PathLike[str],
        cache: str | os.PathLike[str] | None = None,
        offline: bool = False,
    ) -> TUFPolicySource:
        """Build a source from a pinned root file.

        Raises:
            InputError: The root file cannot be read or is not TUF root
                metadata (JSON limits: 1 MiB, depth 8, no duplicate keys).
            UsageError: The target path, URL or offline setup is unusable.
        """
        data = read_file(root, KEY_LIMITS)
        # The pinned root is local input: a file that is not root metadata is
        # a usage problem (exit 2), found before anything is fetched.
        doc = loads(data, source=os.fspath(root), limits=KEY_LIMITS)
        signed = doc.get("signed") if isinstance(doc, dict) else None
        if not isinstance(signed, dict) or signed.get("_type") != "root":
            raise InputError("not TUF root metadata", source=os.fspath(root))
        source = cls(
            target=target,
            url=url,
            root=data,
            cache=Path(cache) if cache is not None else None,
            offline=offline,
        )
        source.check()
        return source

    def check(self) -> None:
        """Refuse a source that cannot work, before any fetching.

        Raises:
            UsageError: Bad target path or URL, a cache that is not a
                directory, or ``offline`` with neither a cache nor a
                ``file://`` mirror.
        """
        check_target_path(self.target)
        scheme = urllib.parse.urlsplit(self.url).scheme
        if scheme not in ("http", "https", "file"):
            raise UsageError(f"--tuf-url {self.url!r}: use an http(s):// or file:// URL")
        if self.cache is not None and self.cache.exists() and not self.cache.is_dir():
            raise UsageError(f"--tuf-cache {self.cache}: not a directory")
        if self.offline and scheme != "file" and self.cache is None:
            raise UsageError("--offline needs --tuf-cache DIR, or a file:// --tuf-url mirror")


@dataclass(frozen=True, slots=True)
class TUFResult:
    """What the TUF client established.

    Attributes:
        target: The layout's target path.
        checks: The TUF checks (one; failed when anything went wrong).
        layout: The layout bytes, verified against TUF metadata (empty on failure).
        layout_keys: The owners' keys from the key targets (empty on failure).
    """

    target: str
    checks: tuple[Check, ...]
    layout: bytes = b""
    layout_keys: tuple[PublicKey, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every TUF check passed."""
        return not any(c.failed for c in self.checks)


class _RefusedError(Exception):
    """A TUF-level refusal that python-tuf itself does not raise."""

    def __init__(self, category: str, reason: str) -> None:
        super().__init__(reason)
        self.category = category


_VERSIONED: Final = re.compile(r"([0-9]{1,20})\.([A-Za-z0-9._%-]{1,200})")


def _cached_name(rel: str) -> str:
    """Where the offline cache keeps what the repository serves as ``rel``.

    ngclient caches ``ROLE.json`` for ``N.ROLE.json`` and keeps every root as
    ``root_history/N.root.json``. Serving the cache under the repository's
    names lets ngclient run its whole workflow (signatures, versions,
    expiry) over the cache alone.
    """
    match = _VERSIONED.fullmatch(rel)
    if match is None:
        return rel
    if match.group(2) == "root.json":
        return f"root_history/{rel}"
    return match.group(2)


def _dir_fetcher(base_url: str, directory: Path, *, cache: bool = False) -> Any:
    """A fetcher that reads files below ``directory`` for URLs below ``base_url``.

    With ``cache``, ``directory`` is ngclient's metadata cache (see
    :func:`_cached_name`); otherwise it is a mirror of the repository.
    """
    from tuf.api.exceptions import DownloadHTTPError  # noqa: PLC0415
    from tuf.ngclient.fetcher import FetcherInterface  # noqa: PLC0415

    root = directory.resolve()
    where = "the offline cache" if cache else "the local mirror"

    class DirFetcher(FetcherInterface):
        def _fetch(self, url: str) -> Iterator[bytes]:
            if not url.startswith(base_url):
                raise DownloadHTTPError(f"{url}: not in {where}", 404)
            rel = url[len(base_url) :]
            name = urllib.parse.unquote(_cached_name(rel) if cache else rel)
            path = (root / name).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                raise DownloadHTTPError(f"{rel}: not in {where}", 404)
            return self._chunks(path)

        @staticmethod
        def _chunks(path: Path) -> Iterator[bytes]:
            with path.open("rb") as f:
                while chunk := f.read(_CHUNK):
                    yield chunk

    return DirFetcher()


def _updater(source: TUFPolicySource, cache: Path, at: datetime) -> Updater:
    from tuf.ngclient import Updater  # noqa: PLC0415

    base = source.url.rstrip("/") + "/"
    metadata_url, targets_url = base + "metadata/", base + "targets/"
    metadata_dir, targets_dir = cache / "metadata", cache / "targets"
    metadata_dir.mkdir(parents=True, exist_ok=True)
    targets_dir.mkdir(parents=True, exist_ok=True)
    fetcher = None
    if urllib.parse.urlsplit(source.url).scheme == "file":
        mirror = Path(urllib.parse.unquote(urllib.parse.urlsplit(source.url).path))
        fetcher = _dir_fetcher(base, mirror)
    elif source.offline:
        # Only metadata comes from the cache this way; targets come from
        # find_cached_target, which checks them against the signed hashes.
        fetcher = _dir_fetcher(metadata_url, metadata_dir, cache=True)
    updater = Updater(
        str(metadata_dir),
        metadata_url,
        str(targets_dir),
        targets_url,
        fetcher=fetcher,
        bootstrap=source.root,
    )
    # ngclient reads the clock for expiry; verification time is a parameter
    # here, so it replaces that reading. Refuse a python-tuf without it
    # rather than silently judge expiry by the clock.
    trusted = getattr(updater, "_trusted_set", None)
    if trusted is None or not hasattr(trusted, "reference_time"):
        raise _RefusedError("client", "this python-tuf does not let the verification time be set")
    trusted.reference_time = at
    return updater


def _fetch_target(updater: Updater, path: str, limit: int) -> bytes:
    info = updater.get_targetinfo(path)
    if info is None:
        raise _RefusedError("missing-target", f"{path}: no such target in the TUF repository")
    if info.length > limit:
        raise _RefusedError(
            "oversized", f"{path}: {info.length} bytes, more than the {limit} allowed"
        )
    cached = updater.find_cached_target(info)
    local = cached if cached is not None else updater.download_target(info)
    data = read_file(local)
    # download_target checked the file; this re-check covers the cached copy
    # being changed between that check and this read.
    info.verify_length_and_hashes(data)
    return data


def _key_paths(target: str, custom: Any) -> list[str]:
    obj = custom.get(IN_TOTO_FIELD) if isinstance(custom, Mapping) else None
    if not isinstance(obj, Mapping):
        raise _RefusedError(
            "custom-metadata",
            f"{target}: its TUF metadata has no custom '{IN_TOTO_FIELD}' object naming layout keys",
        )
    unknown = sorted(set(obj) - {LAYOUT_KEYS_FIELD})
    if unknown:
        raise _RefusedError(
            "custom-metadata", f"{target}: unknown field(s) in custom '{IN_TOTO_FIELD}': {unknown}"
        )
    paths = obj.get(LAYOUT_KEYS_FIELD)
    if (
        not isinstance(paths, list)
        or not paths
        or not all(isinstance(p, str) for p in paths)
        or len(set(paths)) != len(paths)
    ):
        raise _RefusedError(
            "custom-metadata",
            f"{target}: custom '{IN_TOTO_FIELD}.{LAYOUT_KEYS_FIELD}' must be a non-empty list of distinct target paths",
        )
    for p in paths:
        try:
            check_target_path(p)
        except UsageError as exc:
            raise _RefusedError("custom-metadata", f"{target}: {exc.problem}") from None
    return paths


def _parse_key(data: bytes, source: str) -> PublicKey:
    try:
        if data.lstrip()[:1] == b"{":
            return public_key_from_dict(loads(data, source=source, limits=KEY_LIMITS))
        if b"-----BEGIN" in data:
            return load_public_key_pem(data, source=source)
    except IntotoPolicyError as exc:
        raise _RefusedError("key-target", f"{source}: {exc.problem}") from None
    raise _RefusedError("key-target", f"{source}: not a PEM public key or a JSON key dict")


def _key_identity(key: Any) -> str:
    """The key material behind a TUF key (not its key id, which anyone can choose)."""
    try:
        return public_key_from_dict(
            {"keytype": key.keytype, "scheme": key.scheme, "keyval": dict(key.keyval)}
        ).fingerprint
    except IntotoPolicyError:
        return f"{key.keytype}:{key.keyval.get('public')}"


def _check_distinct_keys(trusted: Any) -> None:
    """Refuse a role that lists one key under several key ids.

    python-tuf counts a threshold over key ids, so one key listed twice
    (with its signature copied under both ids) would count twice. Every
    role of the trusted root and every delegation of the trusted targets
    roles must name distinct key material.
    """
    for signed in trusted:
        if getattr(signed, "type", None) == "root":
            roles = {name: (role.keyids, signed.keys) for name, role in signed.roles.items()}
        elif getattr(signed, "delegations", None) is not None and signed.delegations.roles:
            keys = signed.delegations.keys
            roles = {name: (r.keyids, keys) for name, r in signed.delegations.roles.items()}
        else:
            continue
        for name, (keyids, keys) in roles.items():
            material = [_key_identity(keys[k]) for k in keyids if k in keys]
            if len(set(material)) != len(material):
                raise _RefusedError(
                    "threshold",
                    f"role {name!r} lists one key under several key ids: its threshold "
                    "would count one principal more than once (keys must be distinct)",
                )


# (exception class name, category, what it means), most specific first.
_MEANINGS: Final = (
    (
        "ExpiredMetadataError",
        "freeze",
        "metadata expired at the verification time (freeze attack?)",
    ),
    (
        "EqualVersionNumberError",
        "rollback",
        "metadata version did not advance (rollback or mix-and-match?)",
    ),
    (
        "BadVersionNumberError",
        "rollback",
        "metadata version is older than trusted or than listed (rollback or mix-and-match?)",
    ),
    (
        "UnsignedMetadataError",
        "threshold",
        "metadata is not signed by a threshold of its role's keys",
    ),
    (
        "LengthOrHashMismatchError",
        "mismatch",
        "content does not match its signed TUF metadata (swapped or altered)",
    ),
    (
        "DownloadLengthMismatchError",
        "mismatch",
        "a file is longer than its signed TUF metadata or the client's size limit allows (swapped, altered or hostile)",
    ),
    ("DownloadHTTPError", "download", "the repository did not serve a required file"),
    ("SlowRetrievalError", "download", "the repository could not be reached or was too slow"),
    ("DownloadError", "download", "the repository could not be reached"),
    ("RepositoryError", "metadata", "the repository's metadata was rejected"),
)


def _explain(exc: BaseException) -> tuple[str, str]:
    names = {cls.__name__ for cls in type(exc).__mro__}
    for name, category, meaning in _MEANINGS:
        if name in names:
            return category, f"{meaning}: {exc}"
    return "client", f"{type(exc).__name__}: {exc}"


def _fail(source: TUFPolicySource, category: str, reason: str) -> TUFResult:
    check = Check(
        kind=CheckKind.TUF,
        status=Status.FAIL,
        message=f"TUF: {source.target}: {reason}",
        details={
            "target": source.target,
            "url": source.url,
            "category": category,
            "offline": source.offline,
        },
    )
    return TUFResult(source.target, (check,))


def fetch_policy(source: TUFPolicySource, *, at: datetime) -> TUFResult:
    """Fetch and verify a layout target and its owner keys through TUF.

    Args:
        source: Which target, from which repository, under which root.
        at: The verification time; metadata expired then fails.

    Returns:
        The result: on success the layout bytes and keys with a passed TUF
        check; otherwise one failed TUF check saying why.

    Raises:
        UsageError: The source cannot work (see :meth:`TUFPolicySource.check`).
    """
    from tuf.api import exceptions  # noqa: PLC0415

    source.check()
    with tempfile.TemporaryDirectory(prefix="intoto-policy-tuf-") as scratch:
        cache = source.cache if source.cache is not None else Path(scratch)
        try:
            updater = _updater(source, cache, at)
            updater.refresh()
            layout = _fetch_target(updater, source.target, DEFAULT_LIMITS.max_bytes)
            info = updater.get_targetinfo(source.target)
            assert info is not None  # fetched just above
            key_paths = _key_paths(source.target, info.unrecognized_fields.get("custom"))
            keys = tuple(
                _parse_key(_fetch_target(updater, p, KEY_LIMITS.max_bytes), p) for p in key_paths
            )
            trusted = updater._trusted_set
            _check_distinct_keys(trusted)
            versions = {
                "root": trusted.root.version,
                "timestamp": trusted.timestamp.version,
                "snapshot": trusted.snapshot.version,
                "targets": trusted.targets.version,
            }
        except _RefusedError as exc:
            return _fail(source, exc.category, str(exc))
        except (exceptions.RepositoryError, exceptions.DownloadError) as exc:
            return _fail(source, *_explain(exc))
        except Exception as exc:  # noqa: BLE001
            # A cache that cannot be written, a pinned root that does not
            # parse, or whatever else python-tuf raises on hostile input: a
            # failed TUF check, never a traceback and never a pass.
            return _fail(source, *_explain(exc))
    import hashlib  # noqa: PLC0415

    check = Check(
        kind=CheckKind.TUF,
        status=Status.PASS,
        message=(
            f"TUF: {source.target} and {len(keys)} layout key(s) verified from the pinned root "
            f"(root v{versions['root']}, timestamp v{versions['timestamp']}, "
            f"snapshot v{versions['snapshot']})"
        ),
        details={
            "target": source.target,
            "url": source.url,
            "offline": source.offline,
            "sha256": hashlib.sha256(layout).hexdigest(),
            "layoutKeys": {p: k.keyid for p, k in zip(key_paths, keys, strict=True)},
            "versions": versions,
        },
    )
    return TUFResult(source.target, (check,), layout, keys)


def load_tuf_layout(
    source: TUFPolicySource,
    *,
    at: datetime,
    params: Mapping[str, str] | None = None,
) -> LoadedLayout | Report:
    """Fetch a layout through TUF and load it with the keys TUF delivered.

    Args:
        source: Which target, from which repository, under which root.
        at: The verification time.
        params: Values for the layout's ``{name}`` parameters.

    Returns:
        The loaded layout, its checks headed by the passed TUF check; or,
        when TUF refused, a failed :class:`Report` holding the TUF check.

    Raises:
        UsageError: The source cannot work.
        InputError: The layout delivered by TUF is not a valid layout.
    """
    from .._loading import load_layout  # noqa: PLC0415

    result = fetch_policy(source, at=at)
    name = f"{TUF_PREFIX}{source.target}"
    if not result.ok:
        return Report(layout=LayoutInfo(source=name), verified_at=at, checks=result.checks)
    loaded = load_layout(
        Path(name), params=params, layout_keys=result.layout_keys, data=result.layout
    )
    return replace(loaded, checks=result.checks + loaded.checks)
