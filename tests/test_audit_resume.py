"""A resumed ``audit`` reuses only lines made under the same configuration.

Every results line carries a digest of the whole effective configuration;
a line made under other parameters, another time, store, owner keys,
trusted root or unsigned flag is refused (exit 2), never counted. With
``--vsa-key`` a reused ``pass`` line must carry a VSA that key verifies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intoto_policy import Envelope, generate_private_key
from intoto_policy.audit import AuditConfig, config_digest
from intoto_policy.cli._main import main

KEY = generate_private_key("ed25519")
STRANGER = generate_private_key("ed25519")
OWNER = generate_private_key("ed25519")
PROV = "https://slsa.dev/provenance/v1"
AT = "2026-06-01T00:00:00Z"
GOOD, BAD = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def envelope(hexdigest: str, key) -> str:
    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": hexdigest}}],
        "predicateType": PROV,
        "predicate": {"builder": "b1"},
    }
    env = Envelope.sign(json.dumps(stmt).encode(), "application/vnd.in-toto+json", [key])
    return json.dumps(env.to_dict())


@pytest.fixture
def tree(tmp_path: Path, capsys) -> Path:
    layout = {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {KEY.keyid: KEY.public_key.to_dict(camel=True)},
        "subjectSteps": ["build"],
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [
                    {
                        "predicateType": PROV,
                        "functionaries": [KEY.keyid],
                        "expectedAttributes": [{"rule": "predicate.builder == '{builder}'"}],
                    }
                ],
            }
        ],
    }
    (tmp_path / "layout.json").write_text(json.dumps(layout))
    (tmp_path / "atts.intoto.jsonl").write_text(
        envelope("1" * 64, KEY) + "\n" + envelope("2" * 64, STRANGER) + "\n"
    )
    (tmp_path / "good.txt").write_text(GOOD + "\n")
    (tmp_path / "both.txt").write_text(GOOD + "\n" + BAD + "\n")
    (tmp_path / "vsa.key").write_bytes(KEY.private_pem())
    for db in ("s.db", "other.db"):
        store = f"sqlite:///{tmp_path / db}"
        assert main(["store", "ingest", "--store", store, str(tmp_path / "atts.intoto.jsonl")]) == 0
    capsys.readouterr()
    return tmp_path


def audit(tree: Path, capsys, *extra: str, **over: str) -> tuple[int, str, str]:
    settings = {
        "--store": f"sqlite:///{tree / 's.db'}",
        "--at": AT,
        "--param": "builder=b1",
        "--subjects": str(tree / "good.txt"),
    } | {f"--{k.replace('_', '-')}": v for k, v in over.items()}
    argv = ["audit", str(tree / "layout.json"), "--unsigned-layout"]
    argv += [a for pair in settings.items() for a in pair]
    code = main([*argv, "--output", str(tree / "out.jsonl"), *extra])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "over",
    [
        pytest.param({"param": "builder=EVIL"}, id="other-param"),
        pytest.param({"at": "2031-06-01T00:00:00Z"}, id="other-time-layout-expired"),
        pytest.param({"at": "2026-06-01T00:00:01Z"}, id="other-time-one-second"),
        pytest.param({"store": "sqlite:///{tree}/other.db"}, id="other-store"),
    ],
)  # fmt: skip
def test_resume_under_another_configuration_is_refused(
    tree: Path, capsys, over: dict[str, str]
) -> None:
    assert audit(tree, capsys)[0] == 0
    before = (tree / "out.jsonl").read_bytes()
    over = {k: v.replace("{tree}", str(tree)) for k, v in over.items()}
    code, _, err = audit(tree, capsys, **over)
    assert code == 2, err
    assert "results file was written for another configuration" in err
    assert "out.jsonl" in err
    assert len(err.strip().splitlines()) == 1
    assert (tree / "out.jsonl").read_bytes() == before


def test_resume_under_the_same_configuration_skips(tree: Path, capsys) -> None:
    assert audit(tree, capsys)[0] == 0
    code, out, _ = audit(tree, capsys)
    assert code == 0
    assert "(1 already in" in out


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda d: d.pop("configDigest"), id="no-config-digest"),
        pytest.param(lambda d: d.update(configDigest="sha256:" + "0" * 64), id="forged-digest"),
        pytest.param(lambda d: d.update(configDigest=None), id="null-digest"),
    ],
)
def test_lines_without_this_configuration_are_refused(tree: Path, capsys, edit) -> None:
    assert audit(tree, capsys)[0] == 0
    doc = json.loads((tree / "out.jsonl").read_text())
    edit(doc)
    doc["subject"] = BAD  # a forged pass for the subject that fails
    (tree / "out.jsonl").write_text(json.dumps(doc) + "\n")
    code, _, err = audit(tree, capsys, subjects=str(tree / "both.txt"))
    assert code == 2, err
    assert "another configuration" in err


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param("no-vsa", id="pass-line-without-vsa"),
        pytest.param("vsa-of-other-subject", id="vsa-copied-from-another-subject"),
        pytest.param("stranger-vsa", id="vsa-signed-by-another-key"),
    ],
)
def test_with_vsa_key_unvouched_pass_lines_are_audited_again(
    tree: Path, capsys, forge: str
) -> None:
    assert audit(tree, capsys, "--vsa-key", str(tree / "vsa.key"))[0] == 0
    doc = json.loads((tree / "out.jsonl").read_text())
    forged = dict(doc, subject=BAD)
    if forge == "no-vsa":
        forged.pop("vsa")
    elif forge == "stranger-vsa":
        payload = Envelope.from_dict(doc["vsa"]).payload.decode().replace("1" * 64, "2" * 64)
        env = Envelope.sign(payload.encode(), "application/vnd.in-toto+json", [STRANGER])
        forged["vsa"] = env.to_dict()
    with (tree / "out.jsonl").open("a") as f:
        f.write(json.dumps(forged) + "\n")
    code, out, _ = audit(
        tree, capsys, "--vsa-key", str(tree / "vsa.key"), subjects=str(tree / "both.txt")
    )
    assert code == 1  # the forged pass did not count: BAD was verified and failed
    assert "(1 already in" in out
    last = json.loads((tree / "out.jsonl").read_text().splitlines()[-1])
    assert (last["subject"], last["verdict"]) == (BAD, "fail")


def _resigned_vsa(vsa: dict, edit) -> dict:
    """The VSA's statement edited by ``edit`` and signed again with the audit's own key."""
    statement = json.loads(Envelope.from_dict(vsa).payload)
    edit(statement["predicate"]["policy"])
    payload = json.dumps(statement).encode()
    return Envelope.sign(payload, "application/vnd.in-toto+json", [KEY]).to_dict()


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param("line-digest-swapped", id="reviewer-line-config-digest-swapped"),
        pytest.param("vsa-without-config", id="vsa-like-verify-format-vsa-no-config"),
        pytest.param("vsa-other-config", id="vsa-signed-for-other-config"),
    ],
)
def test_vsa_pass_made_under_another_configuration_is_audited_again(
    tree: Path, capsys, forge: str
) -> None:
    # A pass (with its VSA) under builder=b1; then an honest run under builder=EVIL
    # gives this configuration's digest, which is public and deterministic.
    vsa_key = ("--vsa-key", str(tree / "vsa.key"))
    assert audit(tree, capsys, *vsa_key)[0] == 0
    good = json.loads((tree / "out.jsonl").read_text())
    (tree / "out.jsonl").unlink()
    assert audit(tree, capsys, *vsa_key, param="builder=EVIL")[0] == 1
    evil = json.loads((tree / "out.jsonl").read_text())
    forged = dict(good, configDigest=evil["configDigest"])
    if forge == "vsa-without-config":
        forged["vsa"] = _resigned_vsa(good["vsa"], lambda p: p.pop("annotations"))
    elif forge == "vsa-other-config":
        forged["vsa"] = _resigned_vsa(
            good["vsa"],
            lambda p: p.update(annotations={"intotoPolicyConfigDigest": "sha256:" + "0" * 64}),
        )
    (tree / "out.jsonl").write_text(json.dumps(forged) + "\n")
    code, out, _ = audit(tree, capsys, *vsa_key, param="builder=EVIL")
    assert code == 1, out  # the forged pass did not count: audited again, and failed
    assert "(0 already in" in out or "already in" not in out
    last = json.loads((tree / "out.jsonl").read_text().splitlines()[-1])
    assert (last["subject"], last["verdict"]) == (GOOD, "fail")


def test_audit_vsa_signs_the_configuration_digest(tree: Path, capsys) -> None:
    assert audit(tree, capsys, "--vsa-key", str(tree / "vsa.key"))[0] == 0
    doc = json.loads((tree / "out.jsonl").read_text())
    policy = json.loads(Envelope.from_dict(doc["vsa"]).payload)["predicate"]["policy"]
    assert policy["annotations"] == {"intotoPolicyConfigDigest": doc["configDigest"]}


BASE = AuditConfig(
    layout_path="layout.json",
    layout_data=b"{}",
    store_url="postgresql://u:pw@db.example:5432/att",
    at=datetime(2026, 6, 1, tzinfo=UTC),
    params={"builder": "b1"},
)


@pytest.mark.parametrize(
    ("changes", "same"),
    [
        pytest.param({"layout_data": b"{ }"}, False, id="layout-bytes"),
        pytest.param({"params": {"builder": "b2"}}, False, id="param-value"),
        pytest.param({"params": {}}, False, id="param-removed"),
        pytest.param({"at": datetime(2026, 6, 1, 0, 0, 1, tzinfo=UTC)}, False, id="time"),
        pytest.param({"store_url": "postgresql://u:pw@db.example:5432/other"}, False, id="store-db"),
        pytest.param({"store_url": "postgresql://u:pw@db2.example:5432/att"}, False, id="store-host"),
        pytest.param({"store_url": "sqlite:///a.db"}, False, id="store-kind"),
        pytest.param({"layout_keys": (("k", {"keyval": "x"}),)}, False, id="layout-key"),
        pytest.param({"trusted_root": ("root.json", b"{}")}, False, id="trusted-root"),
        pytest.param({"allow_unsigned": True}, False, id="unsigned"),
        pytest.param({"layout_path": "elsewhere/layout.json"}, True, id="layout-path-only"),
        pytest.param({"vsa": True, "verifier_id": "https://v"}, True, id="vsa-settings"),
        pytest.param({"store_url": "postgresql://u:other@db.example:5432/att"}, True,
                     id="store-password-not-recorded"),
    ],
)  # fmt: skip
def test_config_digest_covers_every_verdict_setting(changes: dict, same: bool) -> None:
    from dataclasses import replace

    assert (config_digest(replace(BASE, **changes)) == config_digest(BASE)) is same


def test_config_digest_keeps_no_password() -> None:
    from intoto_policy.audit._task import _redacted_store

    assert "pw" not in _redacted_store(BASE.store_url)
