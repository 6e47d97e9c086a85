"""The repository side: write and sign TUF metadata that distributes layouts.

A repository directory holds what a static web server serves::

    DIR/metadata/N.root.json       every root version (clients walk them)
    DIR/metadata/N.targets.json    every version of targets and delegated roles
    DIR/metadata/N.snapshot.json
    DIR/metadata/timestamp.json    the only unversioned file clients fetch
    DIR/metadata/ROLE.json         working copy of each role's newest version
    DIR/targets/PATH/HASH.NAME     targets, named by content (consistent snapshots)

A layout target carries custom metadata ``{"in-toto": {"layoutKeys":
[PATH, ...]}}`` naming the key targets that hold its owners' public keys
(in the spirit of ITE-2). Key targets sit next to the layout
(``policies/acme/KEYID.pub``) so the same delegation covers them.

Every change is signed by the keys given on the command line and refused
when they do not reach the role's threshold: this side never writes
metadata that a client would reject.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ..._errors import InputError, SigningError, UsageError
from ...crypto._keys import PrivateKey, PublicKey
from ...sources._files import read_file
from ...sources._outputs import write_file

if TYPE_CHECKING:
    from securesystemslib.signer import Key, Signer
    from tuf.api.metadata import Metadata, Targets

__all__ = [
    "DEFAULT_LIFETIMES",
    "IN_TOTO_FIELD",
    "LAYOUT_KEYS_FIELD",
    "RoleKeys",
    "add_layout",
    "delegate",
    "init_repository",
    "publish",
]

#: Custom-metadata field of a layout target, and the list inside it.
IN_TOTO_FIELD: Final = "in-toto"
LAYOUT_KEYS_FIELD: Final = "layoutKeys"

#: How long each role's metadata stays valid when no expiry is given.
DEFAULT_LIFETIMES: Final = {
    "root": timedelta(days=365),
    "targets": timedelta(days=90),
    "snapshot": timedelta(days=7),
    "timestamp": timedelta(days=1),
}

_TOP_LEVEL: Final = ("root", "targets", "snapshot", "timestamp")
# Role names become file names: keep them to a safe alphabet.
_ROLE_NAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# Target paths: relative, '/'-separated, printable, no '.' or '..' segments.
_SEGMENT: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@=-]{0,127}")


@dataclass(frozen=True, slots=True)
class RoleKeys:
    """The keys of one top-level role at ``init``, and its threshold.

    Attributes:
        keys: The role's signing keys (all of them sign the first version).
        threshold: How many distinct keys must sign.
    """

    keys: Sequence[PrivateKey]
    threshold: int = 1


def check_target_path(path: str) -> str:
    """Refuse a target path that is not a plain relative path.

    Raises:
        UsageError: The path is absolute, empty, or has odd segments.
    """
    segments = path.split("/")
    if not path or not all(_SEGMENT.fullmatch(s) for s in segments):
        raise UsageError(
            f"target path {path!r}: use relative '/'-separated names of letters, digits and ._+@=-"
        )
    return path


def _check_role_name(name: str) -> str:
    if not _ROLE_NAME.fullmatch(name) or name in _TOP_LEVEL:
        raise UsageError(
            f"role name {name!r}: use lowercase letters, digits and ._- (not a top-level role name)"
        )
    return name


def _tuf_key(key: PublicKey) -> Key:
    from securesystemslib.signer import SSlibKey  # noqa: PLC0415

    if key.keytype not in ("ed25519", "ecdsa"):
        raise UsageError(f"key {key.keyid[:16]}: TUF keys here must be ed25519 or ecdsa")
    return SSlibKey(key.keyid, key.keytype, key.scheme, {"public": key.public})


def _signer(key: PrivateKey) -> Signer:
    """A securesystemslib ``Signer`` that signs with an intoto_policy private key."""
    from securesystemslib.signer import Signature, Signer  # noqa: PLC0415

    public = _tuf_key(key.public_key)

    class KeySigner(Signer):
        @property
        def public_key(self) -> Key:
            return public

        def sign(self, payload: bytes) -> Signature:
            return Signature(public.keyid, key.sign(payload).hex())

        @classmethod
        def from_priv_key_uri(cls, *_args: Any, **_kwargs: Any) -> Signer:
            raise NotImplementedError

    return KeySigner()


def _md_dir(repo: Path) -> Path:
    return repo / "metadata"


def _load(repo: Path, role: str) -> Metadata[Any]:
    from tuf.api.metadata import Metadata  # noqa: PLC0415

    path = _md_dir(repo) / f"{role}.json"
    if not path.exists():
        raise InputError(
            f"no {role} metadata: is this a repository made by 'tuf init'?", source=str(repo)
        )
    try:
        return Metadata.from_bytes(read_file(path))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"unreadable {role} metadata: {exc}", source=str(path)) from None


def _expiry(role: str, at: datetime, expires: datetime | None) -> datetime:
    from datetime import UTC  # noqa: PLC0415

    when = (
        expires
        if expires is not None
        else at + DEFAULT_LIFETIMES.get(role, DEFAULT_LIFETIMES["targets"])
    )
    if when <= at:
        raise UsageError(f"{role}: the expiry {when.isoformat()} is not after {at.isoformat()}")
    return when.astimezone(UTC)


def _sign(
    role: str, md: Metadata[Any], keys: Sequence[PrivateKey], delegator: Metadata[Any]
) -> bytes:
    """Sign ``md`` with ``keys`` and check the threshold; nothing is written."""
    from tuf.api.exceptions import UnsignedMetadataError  # noqa: PLC0415

    md.signatures.clear()
    for key in keys:
        md.sign(_signer(key), append=True)
    try:
        # The delegator's own check: exactly what a client will do.
        delegator.verify_delegate(role, md)
    except UnsignedMetadataError as exc:
        raise SigningError(
            f"{role}: the keys given do not reach the role's threshold ({exc})"
        ) from None
    data: bytes = md.to_bytes(_serializer())
    return data


def _write(
    repo: Path, role: str, md: Metadata[Any], data: bytes, *, versioned: bool = True
) -> None:
    directory = _md_dir(repo)
    if versioned:
        write_file(directory / f"{md.signed.version}.{role}.json", data)
    write_file(directory / f"{role}.json", data)


def _sign_and_write(
    repo: Path,
    role: str,
    md: Metadata[Any],
    keys: Sequence[PrivateKey],
    delegator: Metadata[Any],
    *,
    versioned: bool = True,
) -> None:
    """Sign ``md`` with ``keys``, check the threshold, write it."""
    _write(repo, role, md, _sign(role, md, keys, delegator), versioned=versioned)


def _serializer() -> Any:
    from tuf.api.serialization.json import JSONSerializer  # noqa: PLC0415

    return JSONSerializer(compact=False)


def init_repository(
    repo: Path,
    *,
    root: RoleKeys,
    targets: RoleKeys,
    snapshot: RoleKeys,
    timestamp: RoleKeys,
    at: datetime,
) -> None:
    """Create a repository: root, empty targets, snapshot and timestamp, version 1.

    Args:
        repo: The repository directory (created; must hold no metadata yet).
        root: Root keys and threshold (root metadata is signed by all).
        targets: Top-level targets keys and threshold.
        snapshot: Snapshot keys and threshold.
        timestamp: Timestamp keys and threshold.
        at: The time expiry dates count from.

    Raises:
        UsageError: The directory already holds metadata, a threshold is
            out of range, or a key type is unsupported.
        InputError: A file cannot be written.
    """
    from tuf.api.metadata import Metadata, MetaFile, Root, Snapshot, Targets, Timestamp  # noqa: PLC0415

    if (_md_dir(repo) / "root.json").exists():
        raise UsageError(f"{repo} already holds a TUF repository")
    roles = {"root": root, "targets": targets, "snapshot": snapshot, "timestamp": timestamp}
    signed_root = Root(expires=_expiry("root", at, None), consistent_snapshot=True)
    for name, spec in roles.items():
        distinct = {k.public_key.fingerprint for k in spec.keys}
        if not 1 <= spec.threshold <= len(distinct):
            raise UsageError(
                f"--{name}-threshold {spec.threshold}: needs 1..{len(distinct)} (distinct keys given)"
            )
        for key in spec.keys:
            signed_root.add_key(_tuf_key(key.public_key), name)
        signed_root.roles[name].threshold = spec.threshold
    _mkdir(repo / "targets")
    _mkdir(_md_dir(repo))
    root_md = Metadata(signed_root)
    _sign_and_write(repo, "root", root_md, root.keys, root_md)
    targets_md = Metadata(Targets(expires=_expiry("targets", at, None)))
    _sign_and_write(repo, "targets", targets_md, targets.keys, root_md)
    snapshot_md = Metadata(
        Snapshot(expires=_expiry("snapshot", at, None), meta={"targets.json": MetaFile(1)})
    )
    _sign_and_write(repo, "snapshot", snapshot_md, snapshot.keys, root_md)
    timestamp_md = Metadata(
        Timestamp(expires=_expiry("timestamp", at, None), snapshot_meta=MetaFile(1))
    )
    _sign_and_write(repo, "timestamp", timestamp_md, timestamp.keys, root_md, versioned=False)


def _delegator_of(repo: Path, role: str) -> tuple[Metadata[Any], Metadata[Any]]:
    """The metadata that delegates ``role``, and the role's delegation object."""
    top = _load(repo, "targets")
    if role == "targets":
        return _load(repo, "root"), top
    delegations = top.signed.delegations
    if delegations is None or delegations.roles is None or role not in delegations.roles:
        raise UsageError(f"role {role!r} is not delegated: run 'tuf delegate' first")
    return top, top


def add_layout(
    repo: Path,
    layout: bytes,
    *,
    name: str,
    layout_keys: Sequence[tuple[PublicKey, bytes]],
    signing_keys: Sequence[PrivateKey],
    at: datetime,
    role: str = "targets",
    expires: datetime | None = None,
) -> list[str]:
    """Add (or replace) a layout target and its owner-key targets.

    The layout must be a DSSE envelope signed by every layout key; key
    targets of this role that no layout names any more are removed, which
    is how a layout key is revoked.

    Args:
        repo: The repository directory.
        layout: The signed layout file's bytes.
        name: The layout's target path (``policies/acme/layout.json``).
        layout_keys: The owners' public keys, each with its file's bytes.
        signing_keys: Private keys of ``role``.
        at: The time expiry dates count from.
        role: The targets role that lists it (default: top-level targets).
        expires: The role's new expiry (default: 90 days after ``at``).

    Returns:
        The target paths written (layout first, then its key targets).

    Raises:
        UsageError: Bad path or role, the path is outside the role's
            delegated paths, or the layout is not signed by every key.
        SigningError: The signing keys do not reach the role's threshold.
        InputError: Unreadable metadata or unwritable files.
    """
    from tuf.api.metadata import Metadata, TargetFile, Targets  # noqa: PLC0415

    from .._loading import layout_envelope  # noqa: PLC0415

    check_target_path(name)
    if not layout_keys:
        raise UsageError("a layout needs at least one --layout-key")
    if len({k.fingerprint for k, _ in layout_keys}) != len(layout_keys):
        raise UsageError("a --layout-key is given twice")
    envelope = layout_envelope(layout, source=name)
    if envelope is None:
        raise UsageError(f"{name}: publish a signed layout (see 'layout sign')")
    signed = envelope.verified_keys([k for k, _ in layout_keys])
    unsigned = [k.keyid[:16] for k, _ in layout_keys if k.fingerprint not in signed]
    if unsigned:
        raise UsageError(f"{name}: the layout is not signed by key(s) {', '.join(unsigned)}")

    delegator, top = _delegator_of(repo, role)
    if role != "targets":
        _check_role_name(role)
        assert top.signed.delegations is not None
        assert top.signed.delegations.roles is not None
        delegation = top.signed.delegations.roles[role]
    directory = posixpath.dirname(name)
    key_paths = [
        posixpath.join(directory, f"{key.keyid}.pub") if directory else f"{key.keyid}.pub"
        for key, _ in layout_keys
    ]
    for path in (name, *key_paths):
        if role != "targets" and not delegation.is_delegated_path(path):
            raise UsageError(f"{path}: outside the paths delegated to role {role!r}")

    md: Metadata[Targets]
    if role == "targets" or (_md_dir(repo) / f"{role}.json").exists():
        md = _load(repo, role)
        md.signed.version += 1
    else:  # the role's first version
        md = Metadata(Targets(version=1, expires=_expiry(role, at, expires)))
    md.signed.expires = _expiry(role, at, expires)

    written = [name, *key_paths]
    files = [
        (name, layout),
        *((p, data) for p, (_, data) in zip(key_paths, layout_keys, strict=True)),
    ]
    for path, data in files:
        md.signed.targets[path] = TargetFile.from_data(path, data, ["sha256"])
    md.signed.targets[name].unrecognized_fields["custom"] = {
        IN_TOTO_FIELD: {LAYOUT_KEYS_FIELD: key_paths}
    }
    # Revocation: a key target no layout of this role names is dropped.
    named = {
        p
        for t in md.signed.targets.values()
        for p in _layout_keys_of(t.unrecognized_fields.get("custom"))
    }
    for path in [p for p in md.signed.targets if p.endswith(".pub") and p not in named]:
        del md.signed.targets[path]
    signed_md = _sign(role, md, signing_keys, delegator)
    # Targets first: metadata never lists a file that is not there.
    for path, data in files:
        _write_target(repo, path, data)
    _write(repo, role, md, signed_md)
    return written


def _layout_keys_of(custom: Any) -> list[str]:
    if isinstance(custom, dict) and isinstance(custom.get(IN_TOTO_FIELD), dict):
        paths = custom[IN_TOTO_FIELD].get(LAYOUT_KEYS_FIELD)
        if isinstance(paths, list):
            return [p for p in paths if isinstance(p, str)]
    return []


def _mkdir(path: Path) -> None:
    # A file where a directory must be (or no permission) is bad input, not a crash.
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create directory: {exc.strerror or exc}", source=str(path)
        ) from None


def _write_target(repo: Path, path: str, data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    directory, base = posixpath.split(path)
    out = repo / "targets" / directory
    _mkdir(out)
    write_file(out / f"{digest}.{base}", data)


def delegate(
    repo: Path,
    *,
    role: str,
    paths: Sequence[str],
    keys: Sequence[PublicKey],
    threshold: int,
    targets_keys: Sequence[PrivateKey],
    at: datetime,
    expires: datetime | None = None,
) -> None:
    """Delegate ``paths`` to ``role`` (terminating), or replace its keys and paths.

    Args:
        repo: The repository directory.
        role: The delegated role's name (one per project).
        paths: Target path patterns it may publish (``policies/acme/*``).
        keys: The role's public keys.
        threshold: How many of them must sign the role's metadata.
        targets_keys: Private keys of the top-level targets role.
        at: The time expiry dates count from.
        expires: Top-level targets' new expiry.

    Raises:
        UsageError: Bad role name, paths or threshold.
        SigningError: The targets keys do not reach its threshold.
        InputError: Unreadable metadata or unwritable files.
    """
    from tuf.api.metadata import DelegatedRole, Delegations  # noqa: PLC0415

    _check_role_name(role)
    if not paths:
        raise UsageError("a delegation needs at least one --paths pattern")
    for pattern in paths:
        if pattern.startswith("/") or ".." in pattern.split("/") or not pattern:
            raise UsageError(f"--paths {pattern!r}: use a relative pattern like 'policies/acme/*'")
    distinct = {k.fingerprint for k in keys}
    if not 1 <= threshold <= len(distinct):
        raise UsageError(f"--threshold {threshold}: needs 1..{len(distinct)} (distinct keys given)")
    root = _load(repo, "root")
    md: Metadata[Targets] = _load(repo, "targets")
    if md.signed.delegations is None:
        md.signed.delegations = Delegations(keys={}, roles={})
    delegations = md.signed.delegations
    assert delegations.roles is not None
    tuf_keys = [_tuf_key(k) for k in keys]
    delegations.roles[role] = DelegatedRole(
        role, [k.keyid for k in tuf_keys], threshold, terminating=True, paths=list(paths)
    )
    for key in tuf_keys:
        delegations.keys[key.keyid] = key
    # Keys no role uses any more are dropped (a rotated-out key is gone).
    used = {kid for r in delegations.roles.values() for kid in r.keyids}
    for kid in [k for k in delegations.keys if k not in used]:
        del delegations.keys[kid]
    md.signed.version += 1
    md.signed.expires = _expiry("targets", at, expires)
    _sign_and_write(repo, "targets", md, targets_keys, root)


def publish(
    repo: Path,
    *,
    snapshot_keys: Sequence[PrivateKey],
    timestamp_keys: Sequence[PrivateKey],
    at: datetime,
    snapshot_expires: datetime | None = None,
    timestamp_expires: datetime | None = None,
) -> tuple[int, int]:
    """Make the newest role versions visible: new snapshot, new timestamp.

    Args:
        repo: The repository directory.
        snapshot_keys: Private keys of the snapshot role.
        timestamp_keys: Private keys of the timestamp role.
        at: The time expiry dates count from.
        snapshot_expires: The snapshot's expiry (default: 7 days after ``at``).
        timestamp_expires: The timestamp's expiry (default: 1 day after ``at``).

    Returns:
        The new snapshot and timestamp versions.

    Raises:
        SigningError: The keys do not reach a role's threshold.
        InputError: Unreadable metadata or unwritable files.
    """
    from tuf.api.metadata import MetaFile  # noqa: PLC0415

    root = _load(repo, "root")
    top = _load(repo, "targets")
    meta = {"targets.json": MetaFile(top.signed.version)}
    delegations = top.signed.delegations
    for name in (delegations.roles or {}) if delegations is not None else {}:
        if (_md_dir(repo) / f"{name}.json").exists():
            meta[f"{name}.json"] = MetaFile(_load(repo, name).signed.version)
    # Both are signed and checked before either is written: a refused
    # publication leaves the repository as it was.
    snapshot = _load(repo, "snapshot")
    snapshot.signed.meta = meta
    snapshot.signed.version += 1
    snapshot.signed.expires = _expiry("snapshot", at, snapshot_expires)
    timestamp = _load(repo, "timestamp")
    timestamp.signed.snapshot_meta = MetaFile(snapshot.signed.version)
    timestamp.signed.version += 1
    timestamp.signed.expires = _expiry("timestamp", at, timestamp_expires)
    snapshot_data = _sign("snapshot", snapshot, snapshot_keys, root)
    timestamp_data = _sign("timestamp", timestamp, timestamp_keys, root)
    _write(repo, "snapshot", snapshot, snapshot_data)
    _write(repo, "timestamp", timestamp, timestamp_data, versioned=False)
    return snapshot.signed.version, timestamp.signed.version


def root_bytes(repo: Path) -> bytes:
    """The current root metadata, to pin in clients.

    Raises:
        InputError: The repository has no root.
    """
    path = _md_dir(repo) / "root.json"
    if not path.exists():
        raise InputError("no root metadata", source=str(repo))
    return read_file(path)
