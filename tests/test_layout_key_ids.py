"""revokedKeys entries must resolve; a key id the layout writes must be the key's."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from intoto_policy import ValidationError, generate_private_key
from intoto_policy._layout import Layout

KEY = generate_private_key("ed25519")
OTHER = generate_private_key("ed25519")
SSL_ID = KEY.public_key.computed_keyid("securesystemslib")
LEGACY_ID = KEY.public_key.computed_keyid("legacy")
FINGERPRINT = KEY.public_key.fingerprint


def _key_entry(key: Any = KEY, **extra: Any) -> dict[str, Any]:
    entry = key.public_key.to_dict(camel=True)
    entry.pop("keyID", None)
    return {**entry, **extra}


def _doc(functionaries: dict[str, Any], revoked: list[str] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": functionaries,
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [
                    {
                        "predicateType": "https://slsa.dev/provenance/v1",
                        "functionaries": list(functionaries),
                    }
                ],
            }
        ],
    }
    if revoked is not None:
        doc["revokedKeys"] = revoked
    return doc


def _load(doc: dict[str, Any]) -> Layout:
    return Layout.from_dict(copy.deepcopy(doc))


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("builder", id="functionary-id"),
        pytest.param(SSL_ID, id="securesystemslib-key-id"),
        pytest.param(LEGACY_ID, id="legacy-key-id"),
        pytest.param(FINGERPRINT, id="fingerprint"),
        pytest.param(f"SHA256:{FINGERPRINT}", id="prefixed-fingerprint"),
    ],
)
def test_revoked_entry_resolves_to_every_id_of_the_key(entry: str) -> None:
    layout = _load(
        _doc(
            {"builder": _key_entry(), "builder-again": _key_entry(), "other": _key_entry(OTHER)},
            [entry],
        )
    )
    ids_revoked = {"builder", "builder-again"} if entry != "builder" else {"builder"}
    assert ids_revoked <= layout.revoked_keys
    assert "other" not in layout.revoked_keys


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("buidler", id="typo-in-functionary-id"),
        pytest.param(SSL_ID[:-1] + ("0" if SSL_ID[-1] != "0" else "1"), id="wrong-key-id"),
        pytest.param(OTHER.public_key.fingerprint[:40], id="truncated-fingerprint"),
        pytest.param("", id="empty"),
    ],
)
def test_revoked_entry_that_names_nothing_is_invalid(entry: str) -> None:
    with pytest.raises(ValidationError, match="revokedKeys"):
        _load(_doc({"builder": _key_entry(), "other": _key_entry(OTHER)}, [entry]))


@pytest.mark.parametrize(
    "functionaries",
    [
        pytest.param({SSL_ID: _key_entry()}, id="id-is-securesystemslib-key-id"),
        pytest.param({LEGACY_ID: _key_entry()}, id="id-is-legacy-key-id"),
        pytest.param({"builder": _key_entry(keyID=SSL_ID)}, id="own-keyID-field"),
        pytest.param({"builder": _key_entry(keyID=LEGACY_ID)}, id="own-legacy-keyID-field"),
        pytest.param({"builder": _key_entry()}, id="name-not-a-key-id"),
    ],
)
def test_matching_key_ids_load(functionaries: dict[str, Any]) -> None:
    _load(_doc(functionaries))


@pytest.mark.parametrize(
    "functionaries",
    [
        pytest.param({OTHER.public_key.computed_keyid(): _key_entry()}, id="id-is-another-keys-id"),
        pytest.param({"builder": _key_entry(keyID="0" * 64)}, id="own-keyID-field-wrong"),
        pytest.param(
            {SSL_ID: _key_entry(keyID=OTHER.public_key.computed_keyid())},
            id="id-right-field-wrong",
        ),
    ],
)
def test_key_id_of_another_key_is_rejected(functionaries: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="key-id convention"):
        _load(_doc(functionaries))
