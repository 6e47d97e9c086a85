"""revokedKeys entries must resolve; a key id the layout writes must be the key's."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from intoto_policy import ValidationError, generate_private_key
from intoto_policy.policy._layout import Layout

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


def _lint(doc: dict[str, Any]) -> list[Any]:
    import yaml

    from intoto_policy.policy._lint import lint_layout
    from intoto_policy.policy._loading import parse_layout_document

    text = yaml.safe_dump(doc, sort_keys=False).encode()
    parsed, lines = parse_layout_document(text, source="l.yml")
    from datetime import UTC, datetime

    return lint_layout(parsed, source="l.yml", lines=lines, at=datetime(2026, 6, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        pytest.param(
            _doc({"builder": _key_entry()}, ["buidler"]), "names no functionary", id="revoked-typo"
        ),
        pytest.param(
            _doc({OTHER.public_key.computed_keyid(): _key_entry()}),
            "key-id convention",
            id="key-id-of-another-key",
        ),
        pytest.param(
            {**_doc({"builder": _key_entry()}), "functionaries": {1: _key_entry()}},
            "must be a string",
            id="non-string-functionary-id",
        ),
    ],
)
def test_layout_check_reports_with_line(doc: dict[str, Any], needle: str) -> None:
    findings = _lint(doc)
    hits = [f for f in findings if needle in f.message]
    assert hits, [f.message for f in findings]
    assert all(f.severity == "error" and f.line for f in hits)


def test_layout_check_accepts_resolvable_revocations() -> None:
    findings = _lint(_doc({"builder": _key_entry()}, [SSL_ID, FINGERPRINT, "builder"]))
    assert not [f for f in findings if "revokedKeys" in f.message], findings
