"""OpenPGP keys and signatures through securesystemslib's GPG support (imported lazily).

Key export shells out to ``gpg``; signature verification is done in Python
by securesystemslib. Key expiry is decided here against the verification
time given by the caller (securesystemslib would read the clock).
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from .._errors import InputError, KeyFormatError

__all__ = ["export_pubkeys", "gpg_key_expired", "is_gpg_key", "is_gpg_signature", "verify"]


def is_gpg_key(key: Mapping[str, Any]) -> bool:
    """Whether a layout key dict is a securesystemslib OpenPGP key."""
    return all(name in key for name in ("type", "method", "hashes", "keyval"))


def is_gpg_signature(sig: Any) -> bool:
    """Whether a metablock signature dict is an OpenPGP signature."""
    return isinstance(sig, Mapping) and "signature" in sig and "other_headers" in sig


def export_pubkeys(keyids: Sequence[str], home: Path | None) -> dict[str, dict[str, Any]]:
    """Export public keys from a GnuPG keyring, as ``in-toto-verify --gpg`` does.

    Returns:
        Key dicts by their primary key id (lower-case fingerprint).

    Raises:
        KeyFormatError: A key id is not hex or names no key in the keyring.
        InputError: gpg is missing or fails.
    """
    from securesystemslib._gpg import exceptions as gpg_exceptions  # noqa: PLC0415
    from securesystemslib._gpg import functions as gpg  # noqa: PLC0415
    from securesystemslib.exceptions import Error as SslibError  # noqa: PLC0415

    out: dict[str, dict[str, Any]] = {}
    for keyid in keyids:
        if not keyid or any(c not in "0123456789abcdefABCDEF" for c in keyid):
            raise KeyFormatError(f"GPG key id {keyid!r} is not hex")
        try:
            key = gpg.export_pubkey(keyid, homedir=str(home) if home else None)  # type: ignore[no-untyped-call]
        except gpg_exceptions.KeyNotFoundError:
            raise KeyFormatError(f"no GPG key {keyid} in the keyring") from None
        except (
            OSError,
            subprocess.SubprocessError,
            SslibError,
            gpg_exceptions.PacketParsingError,
            gpg_exceptions.PacketVersionNotSupportedError,
            gpg_exceptions.SignatureAlgorithmNotSupportedError,
            ValueError,
        ) as exc:
            raise InputError(f"cannot export GPG key {keyid}: {exc}") from None
        out[key["keyid"]] = key
    return out


def _signing_key(key: Mapping[str, Any], sig_keyid: str) -> Mapping[str, Any]:
    subkeys = key.get("subkeys") or {}
    sub = subkeys.get(sig_keyid) if isinstance(subkeys, Mapping) else None
    return sub if isinstance(sub, Mapping) else key


def gpg_key_expired(key: Mapping[str, Any], sig_keyid: str, at: datetime) -> bool:
    """Whether the (sub)key that made a signature had expired at ``at``."""
    used = _signing_key(key, sig_keyid)
    created = used.get("creation_time")
    period = used.get("validity_period")
    if not isinstance(created, int) or not isinstance(period, int) or not created or not period:
        return False
    return bool(created + period < at.timestamp())


def verify(sig: Mapping[str, Any], key: Mapping[str, Any], data: bytes, at: datetime) -> bool:
    """Verify an OpenPGP signature over ``data`` with a key (or its subkey).

    An expired key verifies nothing. Never raises for a bad signature or a
    malformed key or signature.
    """
    from securesystemslib._gpg import exceptions as gpg_exceptions  # noqa: PLC0415
    from securesystemslib._gpg import functions as gpg  # noqa: PLC0415
    from securesystemslib.exceptions import Error as SslibError  # noqa: PLC0415

    sig_keyid = sig.get("keyid")
    if not isinstance(sig_keyid, str) or gpg_key_expired(key, sig_keyid, at):
        return False
    # Expiry is decided above, at the caller's time: strip it so that
    # securesystemslib does not compare with the clock.
    plain = copy.deepcopy(dict(key))
    plain.pop("validity_period", None)
    for sub in (plain.get("subkeys") or {}).values():
        if isinstance(sub, dict):
            sub.pop("validity_period", None)
    try:
        return bool(gpg.verify_signature(dict(sig), plain, data))  # type: ignore[no-untyped-call]
    except (
        SslibError,
        gpg_exceptions.KeyExpirationError,
        gpg_exceptions.PacketParsingError,
        gpg_exceptions.SignatureAlgorithmNotSupportedError,
        KeyError,
        TypeError,
        ValueError,
    ):
        return False
