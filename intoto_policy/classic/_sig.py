"""Signers of classic documents: key ids in every convention, and signature checks.

A signature counts for a key only when its ``keyid`` names that key, as in
the reference implementation. A key is named by the id its layout lists it
under and by the ids each tool computes from its content:

* securesystemslib >= 0.26 (in-toto 2.x/3.x): sha256 of the canonical key
  dict ``{keytype, scheme, keyval: {public}}``;
* legacy securesystemslib: the same with ``keyid_hash_algorithms``;
* in-toto-golang: the legacy form over the PEM without its final newline.

A metablock signature is over the canonical JSON of ``signed``, encoded once
per document. The reference signs the object its model rebuilds (known
fields, defaults filled in) instead of the document as written, so when a
signature does not verify over the document and the rebuilt object differs,
it is checked over the rebuilt object too.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._errors import IntotoPolicyError
from ..crypto._canonical import CanonicalMemo, encode_canonical
from ..crypto._keys import PublicKey, compute_keyid
from ._load import Document

__all__ = ["Functionary", "functionary_from_dict", "functionary_from_key", "keyid_aliases"]

_ALIASES = {"ecdsa-sha2-nistp256": "ecdsa", "ecdsa-sha2-nistp384": "ecdsa"}


def keyid_aliases(key: PublicKey) -> frozenset[str]:
    """Every key id the in-toto tools compute for this key's content."""
    ids = {key.keyid}
    publics = {key.public, key.public.rstrip("\n"), key.public.rstrip("\n") + "\n"}
    for keytype in {key.keytype, _ALIASES.get(key.keytype, key.keytype)}:
        for public in publics:
            for style in ("securesystemslib", "legacy"):
                ids.add(compute_keyid(keytype, key.scheme, public, style))
    return frozenset(ids)


@dataclass(slots=True)
class Functionary:
    """A key that may sign classic documents.

    Attributes:
        keyid: The id it is listed (or was given) under.
        ids: Signature key ids that name this key.
        principal: What thresholds count (one per distinct key).
        kind: ``key`` or ``gpg``.
        key: The public key (``key``).
        gpg: The OpenPGP key dict (``gpg``).
        problem: Why the key cannot verify anything, or ``""``.
    """

    keyid: str
    ids: frozenset[str]
    principal: str
    kind: str = "key"
    key: PublicKey | None = None
    gpg: Mapping[str, Any] | None = None
    problem: str = ""
    main_keyid: str = field(default="")

    def verify(self, doc: Document, at: datetime, normalize: Callable[[], Any]) -> bool:
        """Whether ``doc`` carries a valid signature by this key."""
        if doc.format == "dsse":
            # Checked at most once per key, possibly before the payload was
            # parsed (the signed bytes are dropped after that).
            for fun, outcome in doc.checked:
                if fun is self:
                    return outcome
            outcome = self._verify_all(doc, at, normalize)
            doc.checked.append((self, outcome))
            return outcome
        return self._verify_all(doc, at, normalize)

    def _verify_all(self, doc: Document, at: datetime, normalize: Callable[[], Any]) -> bool:
        if self.problem:
            return False
        for sig in doc.signatures:
            if not isinstance(sig, Mapping) or sig.get("keyid") not in self.ids:
                continue
            if self._verify_one(doc, sig, at, normalize):
                return True
        return False

    def _verify_one(
        self, doc: Document, sig: Mapping[str, Any], at: datetime, normalize: Callable[[], Any]
    ) -> bool:
        if doc.format == "dsse":
            if self.key is None or doc.signed_bytes is None:
                return False
            raw = _decode_b64(sig.get("sig"))
            return raw is not None and self.key.verify(raw, doc.signed_bytes)
        if isinstance(sig, Mapping) and "signature" in sig and "other_headers" in sig:
            if self.gpg is None:
                return False
            from . import _gpg  # noqa: PLC0415 - gpg support is imported only when used

            return any(
                _gpg.verify(sig, self.gpg, data, at) for data in _metablock_bytes(doc, normalize)
            )
        if self.key is None:
            return False
        raw = _decode_hex(sig.get("sig"))
        if raw is None:
            return False
        key = self.key
        return any(key.verify(raw, data) for data in _metablock_bytes(doc, normalize))


def _metablock_bytes(doc: Document, normalize: Callable[[], Any]) -> Iterable[bytes]:
    """The canonical bytes of the document as written, then of the rebuilt object."""
    cache = doc.canonical
    memo = None if doc.cache is None else doc.cache.canonical
    if "written" not in cache:
        cache["written"] = _encode(doc.payload, memo)
    written = cache["written"]
    if written is not None:
        yield written
    if "normalized" not in cache:
        rebuilt = normalize()
        cache["normalized"] = None if rebuilt == doc.payload else _encode(rebuilt, memo)
    normalized = cache["normalized"]
    if normalized is not None and normalized != written:
        yield normalized


def _encode(value: Any, memo: CanonicalMemo | None) -> bytes | None:
    try:
        return encode_canonical(value, memo=memo)
    except IntotoPolicyError:
        return None


def _decode_hex(text: Any) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def _decode_b64(text: Any) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    try:
        # Validated: urlsafe_b64decode alone drops characters outside the alphabet.
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None


def functionary_from_key(key: PublicKey) -> Functionary:
    """A layout owner's key given on the command line."""
    return Functionary(key.keyid, keyid_aliases(key), key.principal_id, key=key)


def functionary_from_gpg(key: Mapping[str, Any]) -> Functionary:
    """An OpenPGP key (exported from a keyring or listed in a layout)."""
    main = str(key.get("keyid", ""))
    subkeys = key.get("subkeys") or {}
    ids = {main} | (set(subkeys) if isinstance(subkeys, Mapping) else set())
    return Functionary(main, frozenset(ids), f"gpg:{main.lower()}", kind="gpg", gpg=key)


def functionary_from_dict(listed_id: str, data: Mapping[str, Any]) -> Functionary:
    """A functionary key from a layout's ``keys``; unusable keys get a ``problem``."""
    if all(name in data for name in ("type", "method", "hashes", "keyval")):
        fun = functionary_from_gpg(data)
        fun.keyid = listed_id
        fun.ids = fun.ids | {listed_id}
        return fun
    own = data.get("keyid")
    try:
        key = PublicKey.from_dict(data, keyid=listed_id)
    except IntotoPolicyError as exc:
        return Functionary(
            listed_id,
            frozenset({listed_id}),
            f"keyid:{listed_id}",
            problem=exc.problem,
        )
    ids = keyid_aliases(key) | {listed_id}
    if isinstance(own, str):
        ids |= {own}
    return Functionary(listed_id, ids, key.principal_id, key=key)
