"""Keys: loading (PEM, JSON key dicts), key ids, signing and verification."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st
from securesystemslib.formats import encode_canonical as sslib_canonical
from securesystemslib.signer import CryptoSigner, Signature, SSlibKey  # type: ignore[attr-defined]

from intoto_policy._errors import KeyFormatError, SigningError, ValidationError
from intoto_policy.crypto._keys import (
    PrivateKey,
    PublicKey,
    compute_keyid,
    generate_private_key,
    load_private_key_pem,
    load_public_key_pem,
    private_key_from_dict,
    public_key_from_dict,
)

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
PEMS = CORPUS / "intoto-reference" / "upstream" / "pems"
needs_pems = pytest.mark.skipif(not PEMS.is_dir(), reason="shared corpus not present")

# The attestation-verifier fixture key (a published test key).
FIXTURE_PUBLIC = "7345b83c121ea0d9ffc3b38d69958718b8435e8cb0552f889d695586693e1b89"
FIXTURE_KEYID = "fe1c6281c5ff13e35286cc67e5a1fb3e6575b840a6c39ca4267d3805eb17288a"

_RSA_2048: list[rsa.RSAPrivateKey] = []


def _rsa_key() -> rsa.RSAPrivateKey:
    # Generating RSA keys is slow: one per test session is enough.
    if not _RSA_2048:
        _RSA_2048.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _RSA_2048[0]


def _crypto_key(kind: str) -> Any:
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ecdsa-p384":
        return ec.generate_private_key(ec.SECP384R1())
    return _rsa_key()


KINDS: list[tuple[str, str, str]] = [
    ("ed25519", "ed25519", "ed25519"),
    ("ecdsa-p256", "ecdsa", "ecdsa-sha2-nistp256"),
    ("ecdsa-p384", "ecdsa", "ecdsa-sha2-nistp384"),
    ("rsa", "rsa", "rsassa-pss-sha256"),
]


@pytest.mark.parametrize(("kind", "keytype", "scheme"), KINDS, ids=[k[0] for k in KINDS])
def test_sign_and_verify(kind: str, keytype: str, scheme: str) -> None:
    key = PrivateKey.from_crypto(_crypto_key(kind))
    assert (key.public_key.keytype, key.public_key.scheme) == (keytype, scheme)
    sig = key.sign(b"message")
    assert key.public_key.verify(sig, b"message")
    assert not key.public_key.verify(sig, b"messagE")
    assert not key.public_key.verify(sig[:-1] + bytes([sig[-1] ^ 1]), b"message")
    other = PrivateKey.from_crypto(_crypto_key("ed25519" if kind != "ed25519" else "ecdsa-p256"))
    assert not other.public_key.verify(sig, b"message")


RSA_SCHEMES = [
    "rsassa-pss-sha256",
    "rsassa-pss-sha384",
    "rsassa-pss-sha512",
    "rsa-pkcs1v15-sha256",
    "rsa-pkcs1v15-sha384",
    "rsa-pkcs1v15-sha512",
]


@pytest.mark.parametrize("scheme", RSA_SCHEMES, ids=RSA_SCHEMES)
def test_rsa_schemes_interoperate_with_securesystemslib(scheme: str) -> None:
    crypto = _rsa_key()
    ours = PrivateKey.from_crypto(crypto, scheme=scheme)
    theirs = SSlibKey.from_crypto(crypto.public_key(), scheme=scheme)
    assert ours.keyid == theirs.keyid
    # Ours signs, securesystemslib verifies.
    sig = ours.sign(b"data")
    theirs.verify_signature(Signature(theirs.keyid, sig.hex()), b"data")
    # securesystemslib signs, ours verifies.
    their_sig = CryptoSigner(crypto, theirs).sign(b"data")
    assert ours.public_key.verify(bytes.fromhex(their_sig.signature), b"data")
    assert not ours.public_key.verify(bytes.fromhex(their_sig.signature), b"other")


@pytest.mark.parametrize(
    ("kind", "size"), [("ecdsa-p256", 32), ("ecdsa-p384", 48)], ids=["p256", "p384"]
)
def test_ecdsa_der_and_raw_signatures(kind: str, size: int) -> None:
    key = PrivateKey.from_crypto(_crypto_key(kind))
    der = key.sign(b"payload")
    assert der[0] == 0x30
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    assert key.public_key.verify(der, b"payload")
    assert key.public_key.verify(raw, b"payload")
    assert not key.public_key.verify(raw, b"payloaD")
    assert not key.public_key.verify(raw[:-1] + bytes([raw[-1] ^ 1]), b"payload")
    assert not key.public_key.verify(raw[:-1], b"payload")
    assert not key.public_key.verify(raw + b"\x00", b"payload")


def test_ecdsa_raw_signature_starting_with_0x30_still_verifies() -> None:
    # A raw r||s whose r begins with 0x30 must not be mistaken for DER.
    crypto = ec.generate_private_key(ec.SECP256R1())
    key = PrivateKey.from_crypto(crypto)
    for i in range(2000):
        message = b"m%d" % i
        r, s = decode_dss_signature(crypto.sign(message, ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if raw[0] == 0x30:
            assert key.public_key.verify(raw, message)
            return
    pytest.skip("no signature with a 0x30 first byte in 2000 tries")


_GARBAGE_KEYS = [PrivateKey.from_crypto(_crypto_key(k[0])).public_key for k in KINDS]


@settings(max_examples=50)
@given(sig=st.binary(max_size=200), data=st.binary(max_size=50))
def test_verify_never_raises_on_garbage(sig: bytes, data: bytes) -> None:
    for key in _GARBAGE_KEYS:
        assert key.verify(sig, data) is False


# -- key ids -----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "keytype", "scheme"), KINDS, ids=[k[0] for k in KINDS])
def test_securesystemslib_keyid_matches_securesystemslib(
    kind: str, keytype: str, scheme: str
) -> None:
    crypto = _crypto_key(kind).public_key()
    theirs = SSlibKey.from_crypto(crypto)
    ours = PublicKey.from_crypto(crypto)
    assert ours.keyid == theirs.keyid
    assert ours.computed_keyid("securesystemslib") == theirs.keyid
    assert (ours.keytype, ours.scheme, ours.public) == (
        theirs.keytype,
        theirs.scheme,
        theirs.keyval["public"],
    )
    assert compute_keyid(keytype, scheme, ours.public) == theirs.keyid


@pytest.mark.parametrize(("kind", "keytype", "scheme"), KINDS, ids=[k[0] for k in KINDS])
def test_legacy_keyid_matches_securesystemslib_canonical_form(
    kind: str, keytype: str, scheme: str
) -> None:
    public = PublicKey.from_crypto(_crypto_key(kind).public_key()).public
    doc = {
        "keytype": keytype,
        "scheme": scheme,
        "keyid_hash_algorithms": ["sha256", "sha512"],
        "keyval": {"public": public},
    }
    canonical = sslib_canonical(doc)
    assert isinstance(canonical, str)
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert compute_keyid(keytype, scheme, public, "legacy") == expected
    assert compute_keyid(keytype, scheme, public) != expected


def test_attestation_verifier_fixture_keyid_is_legacy_style() -> None:
    key = PublicKey.from_dict(
        {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": FIXTURE_PUBLIC}}
    )
    assert key.computed_keyid("legacy") == FIXTURE_KEYID
    assert key.computed_keyid("securesystemslib") != FIXTURE_KEYID


# -- key dicts ---------------------------------------------------------------

SNAKE = {
    "keytype": "ed25519",
    "scheme": "ed25519",
    "keyid_hash_algorithms": ["sha256", "sha512"],
    "keyval": {"public": FIXTURE_PUBLIC},
}
CAMEL = {
    "keyType": "ed25519",
    "scheme": "ed25519",
    "keyIDHashAlgorithms": ["sha256", "sha512"],
    "keyVal": {"public": FIXTURE_PUBLIC},
    "keyID": FIXTURE_KEYID,
}


@pytest.mark.parametrize(
    ("data", "keyid", "expected_keyid", "camel"),
    [
        (SNAKE, FIXTURE_KEYID, FIXTURE_KEYID, False),
        (CAMEL, None, FIXTURE_KEYID, True),
        (CAMEL, "listed-id", "listed-id", True),
        (
            {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": FIXTURE_PUBLIC}},
            None,
            compute_keyid("ed25519", "ed25519", FIXTURE_PUBLIC),
            False,
        ),
    ],
    ids=["snake-listed", "camel-own-keyid", "camel-listed-wins", "snake-computed"],
)
def test_key_dicts(
    data: dict[str, Any], keyid: str | None, expected_keyid: str, camel: bool
) -> None:
    key = public_key_from_dict(data, keyid)
    assert key.keyid == expected_keyid
    assert key.public == FIXTURE_PUBLIC
    assert key.to_dict(camel=camel) == data
    assert PublicKey.from_dict(key.to_dict(camel=camel), keyid).fingerprint == key.fingerprint


def test_snake_and_camel_forms_are_the_same_key() -> None:
    snake = PublicKey.from_dict(SNAKE, FIXTURE_KEYID)
    camel = PublicKey.from_dict(CAMEL)
    assert snake == camel
    assert snake.fingerprint == camel.fingerprint


def test_one_key_under_two_ids_has_one_fingerprint() -> None:
    a = PublicKey.from_dict(SNAKE, "id-a")
    b = PublicKey.from_dict(SNAKE, "id-b")
    assert a != b
    assert a.fingerprint == b.fingerprint
    assert a.principal_id == b.principal_id


def test_legacy_ecdsa_keytype_alias() -> None:
    pem = PublicKey.from_crypto(_crypto_key("ecdsa-p256").public_key()).public
    key = PublicKey.from_dict(
        {
            "keytype": "ecdsa-sha2-nistp256",
            "scheme": "ecdsa-sha2-nistp256",
            "keyval": {"public": pem},
        }
    )
    assert key.keyid == compute_keyid("ecdsa", "ecdsa-sha2-nistp256", pem)


_P256_PEM = PublicKey.from_crypto(ec.generate_private_key(ec.SECP256R1()).public_key()).public
_P384_PEM = PublicKey.from_crypto(ec.generate_private_key(ec.SECP384R1()).public_key()).public

BAD_DICTS: list[tuple[str, Any]] = [
    ("not-a-mapping", ["ed25519"]),
    ("no-keytype", {"scheme": "ed25519", "keyval": {"public": FIXTURE_PUBLIC}}),
    ("no-keyval", {"keytype": "ed25519", "scheme": "ed25519"}),
    ("public-not-string", {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": 1}}),
    ("keyid-not-string", {**SNAKE, "keyid": 5}),
    (
        "unknown-scheme",
        {"keytype": "ed25519", "scheme": "ed448", "keyval": {"public": FIXTURE_PUBLIC}},
    ),
    (
        "scheme-keytype-mismatch",
        {"keytype": "rsa", "scheme": "ed25519", "keyval": {"public": FIXTURE_PUBLIC}},
    ),
    ("ed25519-not-hex", {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "zz"}}),
    ("ed25519-short", {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "ab" * 31}}),
    (
        "ecdsa-curve-mismatch",
        {"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256", "keyval": {"public": _P384_PEM}},
    ),
    (
        "ecdsa-key-as-rsa",
        {"keytype": "rsa", "scheme": "rsassa-pss-sha256", "keyval": {"public": _P256_PEM}},
    ),
    (
        "pem-garbage",
        {"keytype": "rsa", "scheme": "rsassa-pss-sha256", "keyval": {"public": "nope"}},
    ),
]


@pytest.mark.parametrize("data", [c[1] for c in BAD_DICTS], ids=[c[0] for c in BAD_DICTS])
def test_bad_key_dicts(data: Any) -> None:
    with pytest.raises(KeyFormatError):
        PublicKey.from_dict(data)


# -- PEM ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "curve", [ec.SECP521R1(), ec.SECP256K1(), ec.SECP224R1()], ids=["p521", "secp256k1", "p224"]
)
def test_unsupported_curve(curve: ec.EllipticCurve) -> None:
    crypto = ec.generate_private_key(curve)
    pem = crypto.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyFormatError, match="unsupported elliptic curve"):
        load_public_key_pem(pem, source="k.pem")
    with pytest.raises(KeyFormatError, match="unsupported elliptic curve"):
        PrivateKey.from_crypto(crypto)
    private_pem = crypto.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(KeyFormatError) as info:
        load_private_key_pem(private_pem, source="k.pem")
    assert str(info.value).startswith("k.pem: ")


@pytest.mark.parametrize(
    "data",
    [b"", b"not a key", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"],
    ids=["empty", "text", "bad-body"],
)
def test_not_a_pem_public_key(data: bytes) -> None:
    with pytest.raises(KeyFormatError, match="not a PEM public key") as info:
        load_public_key_pem(data, source="x.pub")
    assert info.value.source == "x.pub"


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_generated_keys_round_trip_through_pem(kind: str) -> None:
    key = generate_private_key(kind)  # type: ignore[arg-type]
    again = load_private_key_pem(key.private_pem())
    assert again.keyid == key.keyid
    encrypted = key.private_pem(b"s3cret")
    assert b"ENCRYPTED" in encrypted
    assert load_private_key_pem(encrypted, passphrase=b"s3cret").keyid == key.keyid
    assert load_public_key_pem(key.public_pem()).keyid == key.keyid


def test_generate_unknown_type() -> None:
    with pytest.raises(ValidationError, match="unknown key type"):
        generate_private_key("dsa")  # type: ignore[arg-type]


# -- the in-toto reference PEMs ------------------------------------------------

REFERENCE = [
    ("ed25519", "ed25519", "ed25519"),
    ("ecdsa", "ecdsa", "ecdsa-sha2-nistp256"),
    ("rsa", "rsa", "rsassa-pss-sha256"),
]


@needs_pems
@pytest.mark.parametrize(("name", "keytype", "scheme"), REFERENCE, ids=[r[0] for r in REFERENCE])
def test_reference_pems(name: str, keytype: str, scheme: str) -> None:
    public_pem = (PEMS / f"{name}_public.pem").read_bytes()
    public = load_public_key_pem(public_pem)
    assert (public.keytype, public.scheme) == (keytype, scheme)
    theirs = SSlibKey.from_crypto(serialization.load_pem_public_key(public_pem))
    assert public.keyid == theirs.keyid
    plain = load_private_key_pem((PEMS / f"{name}_private_unencrypted.pem").read_bytes())
    encrypted = load_private_key_pem(
        (PEMS / f"{name}_private_encrypted.pem").read_bytes(), passphrase=b"hunter2"
    )
    assert plain.public_key.fingerprint == public.fingerprint
    assert encrypted.public_key.fingerprint == public.fingerprint
    assert public.verify(encrypted.sign(b"hello"), b"hello")


@needs_pems
@pytest.mark.parametrize("name", ["ed25519", "ecdsa", "rsa"])
def test_reference_pem_wrong_passphrase(name: str) -> None:
    data = (PEMS / f"{name}_private_encrypted.pem").read_bytes()
    with pytest.raises(SigningError, match="wrong passphrase") as info:
        load_private_key_pem(data, passphrase=b"hunter3", source="enc.pem")
    assert info.value.source == "enc.pem"


@needs_pems
@pytest.mark.parametrize("name", ["ed25519", "ecdsa", "rsa"])
def test_reference_pem_missing_passphrase(name: str) -> None:
    data = (PEMS / f"{name}_private_encrypted.pem").read_bytes()
    with pytest.raises(KeyFormatError, match="passphrase is needed"):
        load_private_key_pem(data)


@needs_pems
def test_passphrase_for_an_unencrypted_key_is_refused() -> None:
    data = (PEMS / "ed25519_private_unencrypted.pem").read_bytes()
    with pytest.raises(KeyFormatError, match="not encrypted"):
        load_private_key_pem(data, passphrase=b"hunter2")


@needs_pems
def test_public_pem_is_not_a_private_key() -> None:
    with pytest.raises(KeyFormatError, match="not a PEM private key"):
        load_private_key_pem((PEMS / "rsa_public.pem").read_bytes())


# -- JSON private key dicts ----------------------------------------------------


def test_private_key_from_dict_ed25519() -> None:
    crypto = ed25519.Ed25519PrivateKey.generate()
    seed = crypto.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = PublicKey.from_crypto(crypto.public_key())
    data = {**public.to_dict(), "keyval": {"public": public.public, "private": seed.hex()}}
    key = private_key_from_dict(data)
    assert key.keyid == public.keyid
    assert public.verify(key.sign(b"x"), b"x")


def test_private_key_from_dict_pem() -> None:
    crypto = ec.generate_private_key(ec.SECP256R1())
    public = PublicKey.from_crypto(crypto.public_key())
    private_pem = crypto.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key = private_key_from_dict(
        {**public.to_dict(), "keyval": {"public": public.public, "private": private_pem}}
    )
    assert public.verify(key.sign(b"x"), b"x")


@pytest.mark.parametrize(
    ("private", "problem"),
    [
        (None, "no keyval.private"),
        ("", "no keyval.private"),
        ("zz", "does not load"),
        (
            ed25519.Ed25519PrivateKey.generate()
            .private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            .hex(),
            "does not match",
        ),
    ],
    ids=["missing", "empty", "not-hex", "other-key"],
)
def test_bad_private_key_dicts(private: str | None, problem: str) -> None:
    keyval: dict[str, str] = {"public": FIXTURE_PUBLIC}
    if private is not None:
        keyval["private"] = private
    with pytest.raises(KeyFormatError, match=problem):
        private_key_from_dict({"keytype": "ed25519", "scheme": "ed25519", "keyval": keyval})


def test_public_key_is_immutable() -> None:
    key = PublicKey.from_dict(SNAKE, "x")
    with pytest.raises(AttributeError):
        key.keyid = "y"  # type: ignore[misc]
    with pytest.raises(TypeError):
        key.extra["keyid_hash_algorithms"] = []  # type: ignore[index]


ED25519_PATHS = [
    ("valid", lambda sig, msg: (sig, msg), True),
    ("other message", lambda sig, msg: (sig, msg + b"!"), False),
    ("flipped bit", lambda sig, msg: (bytes([sig[0] ^ 1]) + sig[1:], msg), False),
    ("short signature", lambda sig, msg: (sig[:63], msg), False),
    ("long signature", lambda sig, msg: (sig + b"\0", msg), False),
    ("empty signature", lambda sig, msg: (b"", msg), False),
]


@pytest.mark.parametrize(
    ("name", "mutate", "expected"), ED25519_PATHS, ids=[c[0] for c in ED25519_PATHS]
)
def test_ed25519_libsodium_and_openssl_agree(
    monkeypatch: pytest.MonkeyPatch, name: str, mutate, expected: bool
) -> None:
    import intoto_policy.crypto._keys as keys_module

    key = keys_module.generate_private_key("ed25519")
    sig, msg = mutate(key.sign(b"payload"), b"payload")
    fast = keys_module.PublicKey.from_dict(key.public_key.to_dict())
    with monkeypatch.context() as patched:
        # Above the size bound, OpenSSL verifies even when PyNaCl is present.
        patched.setattr(keys_module, "_NACL_MAX_MESSAGE", -1)
        slow = keys_module.PublicKey.from_dict(key.public_key.to_dict())
        assert slow.verify(sig, msg) is expected, name
    assert keys_module._nacl_open() is not None
    assert fast.verify(sig, msg) is expected, name
