"""Public and private keys: loading, key ids, signing and verification.

Keys are modelled the way securesystemslib and in-toto describe them
(``keytype``, ``scheme``, ``keyval.public``) so layouts written for those
tools load unchanged. Cryptography is done with ``cryptography`` directly.

Two key-id conventions are in use and both are computed here:

* ``securesystemslib``: sha256 over canonical JSON of
  ``{"keytype", "scheme", "keyval": {"public"}}`` (securesystemslib >= 0.26,
  in-toto 2.x/3.x).
* ``legacy``: the same with ``"keyid_hash_algorithms": ["sha256", "sha512"]``
  added (securesystemslib < 0.26; the attestation-verifier fixtures and many
  existing layouts).

Thresholds must count distinct keys, and a layout could list one public key
under two key ids, so every key also has a :attr:`PublicKey.fingerprint`
(sha256 over its SubjectPublicKeyInfo DER) that identifies the key material.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .._errors import KeyFormatError, SigningError, ValidationError
from ._canonical import encode_canonical

__all__ = [
    "KeyIdStyle",
    "PrivateKey",
    "PublicKey",
    "compute_keyid",
    "generate_private_key",
    "load_private_key_pem",
    "load_public_key_pem",
    "public_key_from_dict",
]

KeyIdStyle = Literal["securesystemslib", "legacy"]
LEGACY_KEYID_HASH_ALGORITHMS: Final = ("sha256", "sha512")

# Signed data may be a bytearray (classic links build their PAE bytes in place).
_VerifyFn = Callable[[Any, bytes, bytes | bytearray], None]

# PyNaCl (libsodium) is optional. It verifies short Ed25519 messages (every
# attestation) about twice as fast as OpenSSL, but large ones (classic links
# with 100k artifacts) several times slower, and it needs signature and
# message joined: so it is used below a size bound, and imported on first use
# to keep the CLI's start-up fast.
_NACL_MAX_MESSAGE: Final = 32 * 1024


class _Nacl:
    loaded = False
    open: Callable[[bytes, bytes], bytes] | None = None
    errors: tuple[type[Exception], ...] = ()


def _nacl_open() -> Callable[[bytes, bytes], bytes] | None:
    if not _Nacl.loaded:
        try:
            from nacl.bindings import crypto_sign_open  # noqa: PLC0415
            from nacl.exceptions import CryptoError  # noqa: PLC0415
        except ImportError:  # pragma: no cover - exercised where PyNaCl is absent
            _Nacl.open = None
        else:
            _Nacl.open, _Nacl.errors = crypto_sign_open, (CryptoError, ValueError, TypeError)
        _Nacl.loaded = True
    return _Nacl.open


@dataclass(frozen=True, slots=True)
class _Scheme:
    keytype: str
    name: str
    verify: _VerifyFn
    sign: Callable[[Any, bytes], bytes]
    key_class: type
    curve: type[ec.EllipticCurve] | None = None


def _ecdsa_verify(hash_alg: hashes.HashAlgorithm, size: int) -> _VerifyFn:
    def verify(key: ec.EllipticCurvePublicKey, sig: bytes, data: bytes | bytearray) -> None:
        # Accept raw r||s (fixed width, as in the DSSE test vector and some
        # KMS-backed signers) besides the usual DER encoding.
        if len(sig) == 2 * size and sig[0] != 0x30:
            sig = encode_dss_signature(
                int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big")
            )
        elif len(sig) == 2 * size:
            try:
                key.verify(sig, data, ec.ECDSA(hash_alg))
            except InvalidSignature:
                sig = encode_dss_signature(
                    int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big")
                )
            else:
                return
        key.verify(sig, data, ec.ECDSA(hash_alg))

    return verify


def _ecdsa_sign(hash_alg: hashes.HashAlgorithm) -> Callable[[Any, bytes], bytes]:
    def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
        return key.sign(data, ec.ECDSA(hash_alg))

    return sign


def _rsa_verify(
    pad: Callable[[hashes.HashAlgorithm], padding.AsymmetricPadding], h: type
) -> _VerifyFn:
    def verify(key: rsa.RSAPublicKey, sig: bytes, data: bytes | bytearray) -> None:
        # cryptography types RSA's data as bytes only (a copy, for RSA alone).
        key.verify(sig, data if isinstance(data, bytes) else bytes(data), pad(h()), h())

    return verify


def _rsa_sign(
    pad: Callable[[hashes.HashAlgorithm], padding.AsymmetricPadding], h: type
) -> Callable[[Any, bytes], bytes]:
    def sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
        return key.sign(data, pad(h()), h())

    return sign


def _pss(h: hashes.HashAlgorithm) -> padding.AsymmetricPadding:
    return padding.PSS(mgf=padding.MGF1(h), salt_length=padding.PSS.AUTO)


def _pss_sign_pad(h: hashes.HashAlgorithm) -> padding.AsymmetricPadding:
    # Sign with the maximum salt length (what securesystemslib does); verify
    # with AUTO so either choice by the signer verifies.
    return padding.PSS(mgf=padding.MGF1(h), salt_length=padding.PSS.MAX_LENGTH)


def _pkcs1(_h: hashes.HashAlgorithm) -> padding.AsymmetricPadding:
    return padding.PKCS1v15()


def _ed25519_verify(key: ed25519.Ed25519PublicKey, sig: bytes, data: bytes | bytearray) -> None:
    key.verify(sig, data)


def _ed25519_sign(key: ed25519.Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def _build_schemes() -> dict[str, _Scheme]:
    table: list[_Scheme] = [
        _Scheme("ed25519", "ed25519", _ed25519_verify, _ed25519_sign, ed25519.Ed25519PublicKey),
        _Scheme(
            "ecdsa",
            "ecdsa-sha2-nistp256",
            _ecdsa_verify(hashes.SHA256(), 32),
            _ecdsa_sign(hashes.SHA256()),
            ec.EllipticCurvePublicKey,
            ec.SECP256R1,
        ),
        _Scheme(
            "ecdsa",
            "ecdsa-sha2-nistp384",
            _ecdsa_verify(hashes.SHA384(), 48),
            _ecdsa_sign(hashes.SHA384()),
            ec.EllipticCurvePublicKey,
            ec.SECP384R1,
        ),
    ]
    for bits, h in (("256", hashes.SHA256), ("384", hashes.SHA384), ("512", hashes.SHA512)):
        table.append(
            _Scheme(
                "rsa",
                f"rsassa-pss-sha{bits}",
                _rsa_verify(_pss, h),
                _rsa_sign(_pss_sign_pad, h),
                rsa.RSAPublicKey,
            )
        )
        table.append(
            _Scheme(
                "rsa",
                f"rsa-pkcs1v15-sha{bits}",
                _rsa_verify(_pkcs1, h),
                _rsa_sign(_pkcs1, h),
                rsa.RSAPublicKey,
            )
        )
    return {s.name: s for s in table}


#: Supported signature schemes, keyed by scheme name.
SCHEMES: Final[Mapping[str, _Scheme]] = MappingProxyType(_build_schemes())

# keytype aliases seen in the wild ("ecdsa-sha2-nistp256" as a keytype comes
# from securesystemslib < 0.26 and TUF).
_KEYTYPE_ALIASES: Final = {
    "ecdsa-sha2-nistp256": "ecdsa",
    "ecdsa-sha2-nistp384": "ecdsa",
}


def compute_keyid(
    keytype: str, scheme: str, public: str, style: KeyIdStyle = "securesystemslib"
) -> str:
    """Compute a key id the way securesystemslib (or its legacy form) does.

    Args:
        keytype: ``ed25519``, ``ecdsa`` or ``rsa``.
        scheme: The signature scheme name.
        public: ``keyval.public`` (hex for ed25519, PEM otherwise).
        style: Which convention to use (see the module docstring).

    Returns:
        The lowercase hex sha256 key id.
    """
    doc: dict[str, Any] = {"keytype": keytype, "scheme": scheme, "keyval": {"public": public}}
    if style == "legacy":
        doc["keyid_hash_algorithms"] = list(LEGACY_KEYID_HASH_ALGORITHMS)
    return hashlib.sha256(encode_canonical(doc)).hexdigest()


def _spki_der(key: Any) -> bytes:
    der: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def _public_value(keytype: str, key: Any) -> str:
    if keytype == "ed25519":
        raw: bytes = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return raw.hex()
    pem: bytes = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def _default_scheme(key: Any) -> tuple[str, str]:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", "ed25519"
    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return "ecdsa", "ecdsa-sha2-nistp256"
        if isinstance(key.curve, ec.SECP384R1):
            return "ecdsa", "ecdsa-sha2-nistp384"
        raise KeyFormatError(f"unsupported elliptic curve {key.curve.name}")
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", "rsassa-pss-sha256"
    raise KeyFormatError(f"unsupported key type {type(key).__name__}")


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A verification key as layouts describe it.

    Attributes:
        keyid: The key id the layout (or loader) gave this key.
        keytype: ``ed25519``, ``ecdsa`` or ``rsa``.
        scheme: The signature scheme, a key of :data:`SCHEMES`.
        public: ``keyval.public``: hex for ed25519, SubjectPublicKeyInfo PEM otherwise.
        extra: Fields of the key dict this model does not interpret
            (``keyid_hash_algorithms``, ``keyval`` members other than
            ``public``...), kept so ``to_dict`` round-trips.
    """

    keyid: str
    keytype: str
    scheme: str
    public: str
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)
    _crypto: Any = field(default=None, repr=False, compare=False)
    _fingerprint: str = field(default="", repr=False, compare=False)
    _ed25519_raw: bytes | None = field(default=None, repr=False, compare=False)
    # Computed key ids by style: canonical JSON and a hash each, asked for
    # by the layout loader and by every verification, so computed once.
    _keyids: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        keytype = _KEYTYPE_ALIASES.get(self.keytype, self.keytype)
        scheme = SCHEMES.get(self.scheme)
        if scheme is None:
            raise KeyFormatError(
                f"key {self.keyid[:16]}: unsupported signature scheme {self.scheme!r}"
            )
        if scheme.keytype != keytype:
            raise KeyFormatError(
                f"key {self.keyid[:16]}: scheme {self.scheme!r} does not fit key type {self.keytype!r}"
            )
        try:
            if keytype == "ed25519":
                try:
                    raw = bytes.fromhex(self.public)
                except ValueError:
                    raise KeyFormatError("ed25519 public key is not hex") from None
                crypto: Any = ed25519.Ed25519PublicKey.from_public_bytes(raw)
            else:
                crypto = serialization.load_pem_public_key(self.public.encode("utf-8"))
        except (ValueError, UnsupportedAlgorithm, TypeError) as exc:
            raise KeyFormatError(
                f"key {self.keyid[:16]}: public key does not load: {exc}"
            ) from None
        if not isinstance(crypto, scheme.key_class):
            raise KeyFormatError(
                f"key {self.keyid[:16]}: a {type(crypto).__name__} cannot use scheme {self.scheme!r}"
            )
        if scheme.curve is not None and not isinstance(
            getattr(crypto, "curve", None), scheme.curve
        ):
            raise KeyFormatError(
                f"key {self.keyid[:16]}: the curve does not fit scheme {self.scheme!r}"
            )
        object.__setattr__(self, "_crypto", crypto)
        object.__setattr__(self, "_fingerprint", hashlib.sha256(_spki_der(crypto)).hexdigest())
        if keytype == "ed25519":
            object.__setattr__(self, "_ed25519_raw", bytes.fromhex(self.public))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @property
    def fingerprint(self) -> str:
        """sha256 over the key's SubjectPublicKeyInfo DER: identifies key material."""
        return self._fingerprint

    @property
    def principal_id(self) -> str:
        """The principal this key stands for when thresholds are counted."""
        return f"key:{self._fingerprint}"

    def verify(self, signature: bytes, data: bytes | bytearray) -> bool:
        """Return whether ``signature`` is a valid signature over ``data``.

        Never raises for a bad signature: a malformed signature is just invalid.
        """
        if self._ed25519_raw is not None and len(data) <= _NACL_MAX_MESSAGE:
            nacl_open = _nacl_open()
            if nacl_open is not None:
                # libsodium is at least as strict as OpenSSL (it rejects
                # non-canonical encodings), so the verdicts agree.
                if len(signature) != 64:
                    return False
                try:
                    nacl_open(signature + data, self._ed25519_raw)
                except _Nacl.errors:
                    return False
                return True
        try:
            SCHEMES[self.scheme].verify(self._crypto, signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True

    def computed_keyid(self, style: KeyIdStyle = "securesystemslib") -> str:
        """The key id this key's content gives under ``style``."""
        found = self._keyids.get(style)
        if found is None:
            found = compute_keyid(
                _KEYTYPE_ALIASES.get(self.keytype, self.keytype), self.scheme, self.public, style
            )
            self._keyids[style] = found
        return found

    @classmethod
    def from_crypto(
        cls, key: Any, *, keyid: str | None = None, scheme: str | None = None
    ) -> PublicKey:
        """Wrap a ``cryptography`` public key.

        Raises:
            KeyFormatError: The key type or curve is not supported.
        """
        keytype, default = _default_scheme(key)
        scheme = scheme or default
        public = _public_value(keytype, key)
        return cls(
            keyid=keyid or compute_keyid(keytype, scheme, public),
            keytype=keytype,
            scheme=scheme,
            public=public,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], keyid: str | None = None) -> PublicKey:
        """Load a securesystemslib-style key dict.

        Accepts both the snake_case form (``keytype``, ``keyval``,
        ``keyid_hash_algorithms``) and the camelCase form of attestation
        layouts (``keyType``, ``keyVal``, ``keyIDHashAlgorithms``, ``keyID``).

        Args:
            data: The key dict.
            keyid: The key id it is listed under; when absent, the dict's own
                ``keyid``/``keyID`` or the computed securesystemslib key id.

        Raises:
            KeyFormatError: A field is missing or the key does not load.
        """
        if not isinstance(data, Mapping):
            raise KeyFormatError("a key must be a JSON object")
        camel = "keyType" in data or "keyVal" in data
        names = (
            ("keyType", "scheme", "keyVal", "keyID")
            if camel
            else ("keytype", "scheme", "keyval", "keyid")
        )
        keytype, scheme, keyval = (data.get(n) for n in names[:3])
        if not isinstance(keytype, str) or not isinstance(scheme, str):
            raise KeyFormatError(f"key needs string {names[0]!r} and 'scheme'")
        if not isinstance(keyval, Mapping) or not isinstance(keyval.get("public"), str):
            raise KeyFormatError(f"key needs {names[2]}.public as a string")
        own_id = data.get(names[3])
        if own_id is not None and not isinstance(own_id, str):
            raise KeyFormatError(f"{names[3]} must be a string")
        extra = {k: v for k, v in data.items() if k not in names[:3]}
        extra_val = {k: v for k, v in keyval.items() if k not in ("public", "private")}
        if extra_val:
            extra["keyval_extra"] = extra_val
        public: str = keyval["public"]
        kid = (
            keyid or own_id or compute_keyid(_KEYTYPE_ALIASES.get(keytype, keytype), scheme, public)
        )
        return cls(keyid=kid, keytype=keytype, scheme=scheme, public=public, extra=extra)

    def to_dict(self, *, camel: bool = False) -> dict[str, Any]:
        """The key dict (snake_case, or camelCase as attestation layouts write it)."""
        extra = dict(self.extra)
        keyval: dict[str, Any] = {"public": self.public}
        keyval.update(extra.pop("keyval_extra", {}))
        if camel:
            out = {"keyType": self.keytype, "scheme": self.scheme, "keyVal": keyval}
        else:
            out = {"keytype": self.keytype, "scheme": self.scheme, "keyval": keyval}
        out.update(extra)
        return out


def public_key_from_dict(data: Mapping[str, Any], keyid: str | None = None) -> PublicKey:
    """Alias of :meth:`PublicKey.from_dict` for symmetry with the PEM loaders."""
    return PublicKey.from_dict(data, keyid)


def load_public_key_pem(
    data: bytes, *, scheme: str | None = None, keyid: str | None = None, source: str | None = None
) -> PublicKey:
    """Load a SubjectPublicKeyInfo PEM public key.

    Args:
        data: PEM bytes.
        scheme: Signature scheme; default by key type (ed25519,
            ecdsa-sha2-nistp256/384, rsassa-pss-sha256).
        keyid: Key id to give it; default the securesystemslib key id.
        source: Name of the input for error messages.

    Raises:
        KeyFormatError: Not a PEM public key, or an unsupported type or curve.
    """
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm, TypeError):
        raise KeyFormatError("not a PEM public key", source=source) from None
    try:
        return PublicKey.from_crypto(key, keyid=keyid, scheme=scheme)
    except KeyFormatError as exc:
        if source:
            exc.with_source(source)
        raise


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """A signing key.

    Attributes:
        public_key: The matching :class:`PublicKey`.
    """

    public_key: PublicKey
    _crypto: Any = field(repr=False)

    @property
    def keyid(self) -> str:
        """The key id signatures made with this key carry."""
        return self.public_key.keyid

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` with this key's scheme (ECDSA signatures are DER)."""
        return SCHEMES[self.public_key.scheme].sign(self._crypto, data)

    @classmethod
    def from_crypto(
        cls, key: Any, *, keyid: str | None = None, scheme: str | None = None
    ) -> PrivateKey:
        """Wrap a ``cryptography`` private key.

        Raises:
            KeyFormatError: The key type or curve is not supported.
        """
        return cls(PublicKey.from_crypto(key.public_key(), keyid=keyid, scheme=scheme), key)

    def private_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM of this key, encrypted when a passphrase is given."""
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        pem: bytes = self._crypto.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
        )
        return pem

    def public_pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM of the public half."""
        pem: bytes = self._crypto.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem


def generate_private_key(keytype: Literal["ed25519", "ecdsa", "rsa"]) -> PrivateKey:
    """Generate a new key: Ed25519, ECDSA P-256, or RSA-3072 (RSASSA-PSS-SHA256).

    Raises:
        UsageError: Unknown key type.
    """
    key: Any
    if keytype == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif keytype == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    elif keytype == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    else:
        raise ValidationError(f"unknown key type {keytype!r}: use ed25519, ecdsa or rsa")
    return PrivateKey.from_crypto(key)


def load_private_key_pem(
    data: bytes,
    *,
    passphrase: bytes | None = None,
    scheme: str | None = None,
    source: str | None = None,
) -> PrivateKey:
    """Load a PEM private key (PKCS#8, PKCS#1 or SEC1; encrypted or not).

    Args:
        data: PEM bytes.
        passphrase: Passphrase of an encrypted key.
        scheme: Signature scheme; default by key type.
        source: Name of the input for error messages.

    Raises:
        KeyFormatError: Not a PEM private key, unsupported type, or a
            passphrase is needed and none was given.
        SigningError: The passphrase is wrong.
    """
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as exc:
        message = str(exc)
        if "encrypted" in message and passphrase is None:
            raise KeyFormatError(
                "private key is encrypted: a passphrase is needed", source=source
            ) from None
        if "not encrypted" in message:
            raise KeyFormatError(
                "private key is not encrypted but a passphrase was given", source=source
            ) from None
        raise KeyFormatError(f"private key does not load: {message}", source=source) from None
    except ValueError as exc:
        if passphrase is not None and "password" in str(exc).lower():
            raise SigningError("wrong passphrase for the private key", source=source) from None
        raise KeyFormatError("not a PEM private key (or wrong passphrase)", source=source) from None
    except UnsupportedAlgorithm:
        raise KeyFormatError("unsupported private key algorithm", source=source) from None
    try:
        return PrivateKey.from_crypto(key, scheme=scheme)
    except KeyFormatError as exc:
        if source:
            exc.with_source(source)
        raise


def private_key_from_dict(data: Mapping[str, Any], *, source: str | None = None) -> PrivateKey:
    """Load a securesystemslib JSON key dict that carries ``keyval.private``.

    Ed25519 private keys are hex seeds; RSA and ECDSA are PEM.

    Raises:
        KeyFormatError: The dict has no usable private key.
    """
    public = PublicKey.from_dict(data)
    keyval = data.get("keyval") or data.get("keyVal") or {}
    private = keyval.get("private") if isinstance(keyval, Mapping) else None
    if not isinstance(private, str) or not private:
        raise KeyFormatError("key dict has no keyval.private", source=source)
    crypto: Any
    try:
        if public.keytype == "ed25519":
            crypto = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private)[:32])
        else:
            crypto = serialization.load_pem_private_key(private.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyFormatError("keyval.private does not load", source=source) from None
    if _spki_der(crypto.public_key()) != _spki_der(public._crypto):
        raise KeyFormatError("keyval.private does not match keyval.public", source=source)
    return PrivateKey(public, crypto)
