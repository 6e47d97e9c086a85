"""The CLI: keygen -> attest -> inspect, exit codes, one-line errors, file modes."""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from securesystemslib import dsse as sslib_dsse
from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]

from intoto_policy._errors import InputError
from intoto_policy.cli._main import main
from intoto_policy.crypto._keys import PrivateKey
from intoto_policy.model._dsse import INTOTO_PAYLOAD_TYPE, Envelope
from intoto_policy.model._json import JSONLimits
from intoto_policy.sources import _files, _outputs
from intoto_policy.sources._files import load_envelopes, load_private_key_file, load_public_key_file

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
PREDICATE_TYPE = "https://example.com/predicate/v1"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def invoke(*argv: str | Path) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "artifact.bin").write_bytes(b"artifact bytes\n")
    (tmp_path / "predicate.json").write_text('{"result": "PASSED", "n": [1, 2]}')
    return tmp_path


def _keygen(run: Run, out: Path, kind: str = "ed25519", *extra: str) -> Path:
    code, _, err = run("keygen", "--type", kind, "--out", out, *extra)
    assert (code, err) == (0, "")
    return out


def _attest(run: Run, work: Path, key: Path, *extra: str | Path) -> tuple[int, str, str]:
    return run(
        "attest",
        "--predicate-type",
        PREDICATE_TYPE,
        "--predicate",
        work / "predicate.json",
        "--subject",
        work / "artifact.bin",
        "--key",
        key,
        *extra,
    )


def _assert_one_line_error(err: str, *fragments: str) -> None:
    assert err.startswith("intoto-policy: ")
    assert err.endswith("\n")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


# -- keygen ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "keytype"),
    [("ed25519", "ed25519"), ("ecdsa", "ecdsa"), ("rsa", "rsa")],
    ids=["ed25519", "ecdsa", "rsa"],
)
def test_keygen_writes_a_key_pair(run: Run, tmp_path: Path, kind: str, keytype: str) -> None:
    key = _keygen(run, tmp_path / "k", kind)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    public = load_public_key_file(tmp_path / "k.pub")
    assert public.keytype == keytype
    assert load_private_key_file(key).keyid == public.keyid
    assert [
        p.name for p in tmp_path.iterdir() if p.name.startswith(".")
    ] == []  # no temp files left


def test_keygen_private_key_is_0600_from_creation_even_with_umask_0(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modes: list[int] = []
    real_mkstemp = tempfile.mkstemp

    def spying_mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kwargs)
        modes.append(stat.S_IMODE(Path(name).stat().st_mode))
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", spying_mkstemp)
    old = os.umask(0)
    try:
        key = _keygen(run, tmp_path / "k")
    finally:
        os.umask(old)
    assert modes
    assert all(mode == 0o600 for mode in modes)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "k.pub").stat().st_mode) == 0o644


@pytest.mark.parametrize("existing", ["k", "k.pub"], ids=["private-exists", "public-exists"])
def test_keygen_refuses_to_overwrite(run: Run, tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_text("keep me")
    code, out, err = run("keygen", "--type", "ed25519", "--out", tmp_path / "k")
    assert (code, out) == (2, "")
    _assert_one_line_error(err, existing, "exists", "--force")
    assert (tmp_path / existing).read_text() == "keep me"


def test_keygen_force_overwrites(run: Run, tmp_path: Path) -> None:
    (tmp_path / "k").write_text("old")
    (tmp_path / "k").chmod(0o644)
    _keygen(run, tmp_path / "k", "ed25519", "--force")
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert (
        load_private_key_file(tmp_path / "k").keyid
        == load_public_key_file(tmp_path / "k.pub").keyid
    )


def test_keygen_with_passphrase(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEY_PASS", "correct horse")
    key = _keygen(run, tmp_path / "k", "ecdsa", "--passphrase-env", "KEY_PASS")
    assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert (
        load_private_key_file(key, b"correct horse").keyid
        == load_public_key_file(tmp_path / "k.pub").keyid
    )


@pytest.mark.parametrize(
    ("value", "problem"), [(None, "not set"), ("", "empty")], ids=["unset", "empty"]
)
def test_keygen_passphrase_env_problems(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None, problem: str
) -> None:
    monkeypatch.delenv("KEY_PASS", raising=False)
    if value is not None:
        monkeypatch.setenv("KEY_PASS", value)
    code, _, err = run(
        "keygen", "--type", "ed25519", "--out", tmp_path / "k", "--passphrase-env", "KEY_PASS"
    )
    assert code == 2
    _assert_one_line_error(err, "KEY_PASS", problem)
    assert not (tmp_path / "k").exists()


def test_keygen_into_a_missing_directory(run: Run, tmp_path: Path) -> None:
    code, _, err = run("keygen", "--type", "ed25519", "--out", tmp_path / "nope" / "k")
    assert code == 2
    _assert_one_line_error(err, str(tmp_path / "nope" / "k"), "cannot write")


# -- attest ------------------------------------------------------------------


def test_attest_builds_and_signs_a_statement(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    subject = work / "artifact.bin"
    code, out, err = _attest(run, work, key, "--subject-digest", "other=sha512:" + "c" * 128)
    assert (code, err) == (0, "")
    assert out.endswith("\n")
    assert out.count("\n") == 1
    envelope = Envelope.from_json(out.encode())
    assert envelope.payload_type == INTOTO_PAYLOAD_TYPE
    assert envelope.verify([load_public_key_file(work / "k.pub")])
    statement = envelope.statement()
    assert statement.to_dict() == {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {
                "name": str(subject),
                "digest": {"sha256": hashlib.sha256(b"artifact bytes\n").hexdigest()},
            },
            {"name": "other", "digest": {"sha512": "c" * 128}},
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"result": "PASSED", "n": [1, 2]},
    }


def test_subjects_are_named_by_the_path_as_given(
    run: Run, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _keygen(run, work / "k")
    monkeypatch.chdir(work)
    code, out, _ = run(
        "attest",
        "--predicate-type",
        PREDICATE_TYPE,
        "--predicate",
        "predicate.json",
        "--subject",
        "./artifact.bin",
        "--key",
        "k",
    )
    assert code == 0
    assert Envelope.from_json(out.encode()).statement().subject[0].name == "./artifact.bin"


def test_attest_envelope_verifies_with_securesystemslib(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k", "ecdsa")
    code, _, _ = _attest(run, work, key, "--out", work / "env.json")
    assert code == 0
    data = json.loads((work / "env.json").read_bytes())
    public = load_public_key_file(work / "k.pub")
    theirs = SSlibKey.from_dict(public.keyid, public.to_dict())
    envelope = sslib_dsse.Envelope.from_dict(data)
    assert set(envelope.verify([theirs], 1)) == {public.keyid}
    assert json.loads(envelope.payload)["predicateType"] == PREDICATE_TYPE


def test_attest_merges_digests_of_one_subject(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    code, out, _ = run(
        "attest",
        "--predicate-type",
        PREDICATE_TYPE,
        "--predicate",
        work / "predicate.json",
        "--subject-digest",
        "x=sha256:" + "a" * 64,
        "--subject-digest",
        "x=sha512:" + "b" * 128,
        "--key",
        key,
    )
    assert code == 0
    (subject,) = Envelope.from_json(out.encode()).statement().subject
    assert subject.digest == {"sha256": "a" * 64, "sha512": "b" * 128}


def test_append_builds_a_bundle(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    bundle = work / "bundle.jsonl"
    for _ in range(3):
        code, out, err = _attest(run, work, key, "--append", bundle)
        assert (code, out, err) == (0, "", "")
    lines = bundle.read_bytes().split(b"\n")
    assert len(lines) == 4
    assert lines[-1] == b""
    public = load_public_key_file(work / "k.pub")
    entries = load_envelopes(bundle)
    assert [loc for _, loc, _ in entries] == [f"{bundle}:1", f"{bundle}:2", f"{bundle}:3"]
    assert all(env is not None and env.verify([public]) for env, _, _ in entries)


def test_append_after_a_line_without_newline(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    bundle = work / "bundle.jsonl"
    _attest(run, work, key, "--out", bundle)
    bundle.write_bytes(bundle.read_bytes().rstrip(b"\n"))
    assert _attest(run, work, key, "--append", bundle)[0] == 0
    entries = load_envelopes(bundle)
    assert len(entries) == 2
    assert all(reason == "" for _, _, reason in entries)


def test_encrypted_key_with_passphrase_env(
    run: Run, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASS", "pw")
    key = _keygen(run, work / "k", "ed25519", "--passphrase-env", "PASS")
    code, out, err = _attest(run, work, key, "--passphrase-env", "PASS")
    assert (code, err) == (0, "")
    assert Envelope.from_json(out.encode()).verify([load_public_key_file(work / "k.pub")])


def test_encrypted_key_prompts_on_a_tty(
    run: Run, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASS", "pw")
    key = _keygen(run, work / "k", "ed25519", "--passphrase-env", "PASS")
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "pw"

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    code, _, err = _attest(run, work, key)
    assert (code, err) == (0, "")
    assert prompts == [f"Passphrase for {key}: "]


def test_unencrypted_key_never_prompts(
    run: Run, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _keygen(run, work / "k")

    def no_prompt(prompt: str) -> str:
        raise AssertionError(prompt)

    monkeypatch.setattr(getpass, "getpass", no_prompt)
    assert _attest(run, work, key)[0] == 0


def test_encrypted_key_without_passphrase_or_tty(
    run: Run, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASS", "pw")
    key = _keygen(run, work / "k", "ed25519", "--passphrase-env", "PASS")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    code, out, err = _attest(run, work, key)
    assert (code, out) == (2, "")
    _assert_one_line_error(err, str(key), "encrypted", "--passphrase-env")


def test_wrong_passphrase(run: Run, work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASS", "pw")
    key = _keygen(run, work / "k", "rsa", "--passphrase-env", "PASS")
    monkeypatch.setenv("PASS", "not it")
    code, _, err = _attest(run, work, key, "--passphrase-env", "PASS")
    assert code == 2
    _assert_one_line_error(err, str(key), "wrong passphrase")


@pytest.mark.skipif(
    not (CORPUS / "intoto-reference" / "upstream" / "pems").is_dir(), reason="corpus not present"
)
def test_attest_with_reference_encrypted_pem(
    run: Run, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pems = CORPUS / "intoto-reference" / "upstream" / "pems"
    monkeypatch.setenv("PASS", "hunter2")
    code, out, _ = _attest(
        run, work, pems / "ecdsa_private_encrypted.pem", "--passphrase-env", "PASS"
    )
    assert code == 0
    assert Envelope.from_json(out.encode()).verify(
        [load_public_key_file(pems / "ecdsa_public.pem")]
    )


def test_attest_with_a_json_private_key(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    private = load_private_key_file(key)
    seed = private._crypto.private_bytes_raw().hex()
    doc = {
        **private.public_key.to_dict(),
        "keyval": {"public": private.public_key.public, "private": seed},
    }
    (work / "k.json").write_text(json.dumps(doc))
    code, out, _ = _attest(run, work, work / "k.json")
    assert code == 0
    assert Envelope.from_json(out.encode()).verify([private.public_key])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


BAD_ATTEST: list[tuple[str, Callable[[Path], list[str]], tuple[str, ...]]] = [
    (
        "predicate-not-object",
        lambda w: ["--predicate", str(_write(w / "p.json", b"[1]"))],
        ("p.json", "must be a JSON object"),
    ),
    (
        "predicate-duplicate-key",
        lambda w: ["--predicate", str(_write(w / "p.json", b'{"a":1,"a":2}'))],
        ("p.json", "duplicate object key"),
    ),
    (
        "predicate-nan",
        lambda w: ["--predicate", str(_write(w / "p.json", b'{"a":NaN}'))],
        ("p.json", "NaN"),
    ),
    (
        "predicate-missing",
        lambda w: ["--predicate", str(w / "missing.json")],
        ("missing.json", "cannot read", "No such file"),
    ),
    ("predicate-is-directory", lambda w: ["--predicate", str(w)], ("cannot read", "directory")),
    ("subject-missing", lambda w: ["--subject", str(w / "gone.bin")], ("gone.bin", "cannot read")),
    ("subject-digest-malformed", lambda _: ["--subject-digest", "x"], ("NAME=ALG:HEX",)),
    (
        "subject-digest-no-name",
        lambda _: ["--subject-digest", "=sha256:" + "a" * 64],
        ("NAME=ALG:HEX",),
    ),
    (
        "subject-digest-uppercase",
        lambda _: ["--subject-digest", "x=sha256:" + "A" * 64],
        ("lowercase",),
    ),
    ("subject-digest-short", lambda _: ["--subject-digest", "x=sha256:abc"], ("hex digits",)),
    (
        "subject-digest-conflict",
        lambda _: [
            "--subject-digest",
            "x=sha256:" + "a" * 64,
            "--subject-digest",
            "x=sha256:" + "b" * 64,
        ],
        ("two different sha256",),
    ),
    ("key-missing", lambda w: ["--key", str(w / "nokey")], ("nokey", "cannot read")),
    (
        "key-garbage",
        lambda w: ["--key", str(_write(w / "bad.key", b"hello"))],
        ("bad.key", "not a PEM"),
    ),
    (
        "key-is-public",
        lambda w: ["--key", str(w / "k.pub")],
        ("k.pub", "not a PEM private key"),
    ),
    (
        "subject-name-not-utf8",
        lambda _: ["--subject-digest", "\udcff=sha256:" + "a" * 64],
        ("UTF-8",),
    ),
    ("predicate-type-not-uri", lambda _: ["--predicate-type", "not a uri"], ("not a URI",)),
]


@pytest.mark.parametrize(
    ("args", "fragments"), [c[1:] for c in BAD_ATTEST], ids=[c[0] for c in BAD_ATTEST]
)
def test_attest_bad_input(
    run: Run, work: Path, args: Callable[[Path], list[str]], fragments: tuple[str, ...]
) -> None:
    _keygen(run, work / "k")
    base = {
        "--predicate-type": PREDICATE_TYPE,
        "--predicate": str(work / "predicate.json"),
        "--key": str(work / "k"),
    }
    extra = args(work)
    argv = ["attest"]
    for flag, value in base.items():
        if flag not in extra:
            argv += [flag, value]
    if "--subject" not in extra and "--subject-digest" not in extra:
        argv += ["--subject", str(work / "artifact.bin")]
    code, out, err = run(*argv, *extra)
    assert (code, out) == (2, "")
    _assert_one_line_error(err, *fragments)


USAGE: list[tuple[str, list[str]]] = [
    ("no-arguments", []),
    ("unknown-subcommand", ["frobnicate"]),
    ("keygen-bad-type", ["keygen", "--type", "dsa", "--out", "k"]),
    ("keygen-no-out", ["keygen", "--type", "ed25519"]),
    ("attest-no-key", ["attest", "--predicate-type", "u:x", "--predicate", "p", "--subject", "s"]),
    (
        "attest-out-and-append",
        [
            "attest",
            "--predicate-type",
            "u:x",
            "--predicate",
            "p",
            "--subject",
            "s",
            "--key",
            "k",
            "--out",
            "a",
            "--append",
            "b",
        ],
    ),
    ("inspect-no-files", ["inspect"]),
    ("inspect-bad-format", ["inspect", "f", "--format", "xml"]),
]


@pytest.mark.parametrize("argv", [c[1] for c in USAGE], ids=[c[0] for c in USAGE])
def test_usage_errors_exit_2(run: Run, argv: list[str]) -> None:
    code, out, err = run(*argv)
    assert code == 2
    assert out == ""
    # One line, like every other error, pointing at --help.
    assert err.startswith("intoto-policy: ")
    assert err.count("\n") == 1
    assert "(see --help)" in err


def test_attest_without_subjects(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    code, _, err = run(
        "attest",
        "--predicate-type",
        PREDICATE_TYPE,
        "--predicate",
        work / "predicate.json",
        "--key",
        key,
    )
    assert code == 2
    _assert_one_line_error(err, "--subject")


def test_help_exits_0(run: Run) -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert "keygen" in out
    assert "inspect" in out


# -- inspect -----------------------------------------------------------------


def test_inspect_round_trip_json(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    _attest(run, work, key, "--out", work / "env.json")
    code, out, err = run("inspect", work / "env.json", "--key", work / "k.pub", "--format", "json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    public = load_public_key_file(work / "k.pub")
    assert report == {
        "format": "intoto-policy/inspect/v1",
        "keys": [
            {
                "source": str(work / "k.pub"),
                "keyid": public.keyid,
                "keytype": "ed25519",
                "scheme": "ed25519",
                "fingerprint": public.fingerprint,
            }
        ],
        "envelopes": [
            {
                "location": str(work / "env.json"),
                "payloadType": INTOTO_PAYLOAD_TYPE,
                "statement": {
                    "type": "https://in-toto.io/Statement/v1",
                    "predicateType": PREDICATE_TYPE,
                    "subjects": [
                        {
                            "name": str(work / "artifact.bin"),
                            "digest": {"sha256": hashlib.sha256(b"artifact bytes\n").hexdigest()},
                        }
                    ],
                },
                "statementError": None,
                "classic": None,
                "signatures": [
                    {"index": 0, "keyid": public.keyid, "keys": [{"key": 0, "verified": True}]}
                ],
                "verified": True,
            }
        ],
        "metablocks": [],
        "skipped": [],
        # Additive in v1: Sigstore bundles and the trusted root they were checked with.
        "trustedRoot": None,
        "registryKeys": None,
        "bundles": [],
        # Additive: with --key or --trusted-root, the items neither checked.
        "notVerified": [],
    }


def test_inspect_text(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    _attest(run, work, key, "--out", work / "env.json")
    code, out, _ = run("inspect", work / "env.json", "--key", work / "k.pub")
    assert code == 0
    assert f"predicate type: {PREDICATE_TYPE}" in out
    assert "statement type: https://in-toto.io/Statement/v1" in out
    assert str(work / "artifact.bin") in out
    assert f"verifies with {work / 'k.pub'}" in out
    assert "verified: yes" in out


def test_inspect_without_keys_lists_but_does_not_judge(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    _attest(run, work, key, "--out", work / "env.json")
    code, out, _ = run("inspect", work / "env.json", "--format", "json")
    assert code == 0
    (env,) = json.loads(out)["envelopes"]
    assert env["verified"] is None
    assert env["signatures"][0]["keys"] == []


def test_inspect_wrong_key_exits_1(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    _keygen(run, work / "other")
    _attest(run, work, key, "--out", work / "env.json")
    code, out, err = run("inspect", work / "env.json", "--key", work / "other.pub")
    assert (code, err) == (1, "")
    assert "does not verify" in out
    assert "verified: NO" in out


def test_inspect_exits_1_if_any_envelope_is_unverified(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    other = _keygen(run, work / "other")
    bundle = work / "bundle.jsonl"
    _attest(run, work, key, "--append", bundle)
    _attest(run, work, other, "--append", bundle)
    code, out, _ = run("inspect", bundle, "--key", work / "k.pub", "--format", "json")
    assert code == 1
    assert [e["verified"] for e in json.loads(out)["envelopes"]] == [True, False]
    code, _, _ = run("inspect", bundle, "--key", work / "k.pub", "--key", work / "other.pub")
    assert code == 0


def test_inspect_tampered_envelope_exits_1(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    _attest(run, work, key, "--out", work / "env.json")
    data = json.loads((work / "env.json").read_bytes())
    payload = bytearray(base64.b64decode(data["payload"]))
    payload[10] ^= 1
    data["payload"] = base64.b64encode(bytes(payload)).decode()
    (work / "env.json").write_text(json.dumps(data))
    code, _, _ = run("inspect", work / "env.json", "--key", work / "k.pub")
    assert code == 1


def test_inspect_bundle_with_bad_lines(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    bundle = work / "bundle.jsonl"
    _attest(run, work, key, "--append", bundle)
    _attest(run, work, key, "--out", work / "last.json")
    with bundle.open("ab") as fh:  # attest --append refuses a file that is not JSON Lines
        fh.write(
            b'not json\n\n{"a":1,"a":2}\n{"mediaType":"application/vnd.dev.sigstore.bundle"}\n'
        )
        fh.write((work / "last.json").read_bytes())
    code, out, err = run("inspect", bundle, "--key", work / "k.pub", "--format", "json")
    assert (code, err) == (1, "")  # --key was asked for, and three lines were never verified
    report = json.loads(out)
    assert [e["location"] for e in report["envelopes"]] == [f"{bundle}:1", f"{bundle}:6"]
    assert [n["location"] for n in report["notVerified"]] == [f"{bundle}:{n}" for n in (2, 4, 5)]
    skipped = {s["location"]: s["reason"] for s in report["skipped"]}
    assert set(skipped) == {f"{bundle}:2", f"{bundle}:4", f"{bundle}:5"}
    assert "not valid JSON" in skipped[f"{bundle}:2"]
    assert "duplicate object key" in skipped[f"{bundle}:4"]
    assert "payloadType" in skipped[f"{bundle}:5"]


def test_inspect_bundle_line_order_does_not_matter(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    bundle = work / "bundle.jsonl"
    _attest(run, work, key, "--append", bundle)
    with bundle.open("ab") as fh:
        fh.write(b"garbage\n")
    lines = bundle.read_bytes().splitlines()
    (work / "reversed.jsonl").write_bytes(b"\n".join(reversed(lines)) + b"\n")
    results = []
    for path in (bundle, work / "reversed.jsonl"):
        code, out, _ = run("inspect", path, "--key", work / "k.pub", "--format", "json")
        report = json.loads(out)
        results.append((code, [e["verified"] for e in report["envelopes"]], len(report["skipped"])))
    assert results[0] == results[1] == (1, [True], 1)  # the garbage line was not verified


def test_inspect_non_statement_payload(run: Run, work: Path) -> None:
    key = load_private_key_file(_keygen(run, work / "k"))
    (work / "env.json").write_text(
        json.dumps(Envelope.sign(b"hello", "text/plain", [key]).to_dict())
    )
    code, out, _ = run("inspect", work / "env.json", "--key", work / "k.pub", "--format", "json")
    assert code == 0
    (env,) = json.loads(out)["envelopes"]
    assert env["statement"] is None
    assert "payloadType" in env["statementError"]
    assert env["verified"] is True


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "no DSSE envelope"),
        (b"[1, 2]", "no DSSE envelope"),
        (b'{"x":\n1,\n"x":2}', "no DSSE envelope"),
    ],
    ids=["empty", "not-an-envelope", "broken-multiline"],
)
def test_inspect_file_without_envelopes_exits_2(
    run: Run, tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = _write(tmp_path / "f.json", content)
    code, out, err = run("inspect", path)
    assert code == 2
    _assert_one_line_error(err, str(path), fragment)
    assert "skipped" in out


def test_inspect_missing_file(run: Run, tmp_path: Path) -> None:
    code, out, err = run("inspect", tmp_path / "nope.json")
    assert (code, out) == (2, "")
    _assert_one_line_error(err, str(tmp_path / "nope.json"), "No such file")


def test_inspect_bad_key_file(run: Run, work: Path) -> None:
    bad = _write(work / "bad.pub", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    code, _, err = run("inspect", work / "predicate.json", "--key", bad)
    assert code == 2
    _assert_one_line_error(err, str(bad), "not a PEM public key")


def test_inspect_with_a_json_key_dict(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    public = load_public_key_file(work / "k.pub")
    (work / "k.pub.json").write_text(json.dumps({**public.to_dict(camel=True), "keyID": "my-id"}))
    _attest(run, work, key, "--out", work / "env.json")
    code, out, _ = run(
        "inspect", work / "env.json", "--key", work / "k.pub.json", "--format", "json"
    )
    assert code == 0
    assert json.loads(out)["keys"][0]["keyid"] == "my-id"


def test_untrusted_text_is_escaped_in_text_output(run: Run, work: Path) -> None:
    key = _keygen(run, work / "k")
    code, out, _ = run(
        "attest",
        "--predicate-type",
        PREDICATE_TYPE,
        "--predicate",
        work / "predicate.json",
        "--subject-digest",
        "evil\x1b[2Jname=sha256:" + "a" * 64,
        "--key",
        key,
        "--out",
        work / "e.json",
    )
    assert code == 0
    code, out, _ = run("inspect", work / "e.json")
    assert "\x1b" not in out
    assert "evil\\x1b[2Jname" in out


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_inspect_real_world_envelopes(run: Run) -> None:
    witness = CORPUS / "real-world" / "items" / "28-witness-sbom-collections"
    vsa = CORPUS / "real-world" / "items" / "10-slsaverifier-vsa-gce"
    code, out, err = run(
        "inspect",
        witness / "spdx-att.json",
        witness / "cdx-att.json",
        vsa / "gke-gce-pre.bcid-vsa.jsonl",
        "--key",
        witness / "testpub.pem",
        "--key",
        vsa / "vsa_signing_public_key.pem",
        "--format",
        "json",
    )
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert [e["verified"] for e in report["envelopes"]] == [True, True, True]
    assert [[k["verified"] for k in e["signatures"][0]["keys"]] for e in report["envelopes"]] == [
        [True, False],
        [True, False],
        [False, True],
    ]


# -- the file edge -------------------------------------------------------------


def test_read_file_checks_size_before_reading(tmp_path: Path) -> None:
    path = _write(tmp_path / "big", b"x" * 101)
    with pytest.raises(InputError, match="above the limit") as info:
        _files.read_file(path, JSONLimits(max_bytes=100))
    assert info.value.source == str(path)
    assert _files.read_file(path, JSONLimits(max_bytes=101)) == b"x" * 101


def test_read_file_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "secret", b"x")

    real_open = os.open

    # Root reads any file whatever its mode, so the refusal is simulated, for
    # this one path only (readers open with os.open, non-blocking).
    def denied(name: Any, *args: Any, **kwargs: Any) -> Any:
        if os.fspath(name) == str(path):
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(InputError) as info:
        _files.read_file(path)
    assert str(info.value) == f"{path}: cannot read: Permission denied"


def _signed_envelope() -> dict[str, Any]:
    key = PrivateKey.from_crypto(ed25519.Ed25519PrivateKey.generate())
    return Envelope.sign(b"{}", INTOTO_PAYLOAD_TYPE, [key]).to_dict()


LOAD_CASES: list[tuple[str, Callable[[dict[str, Any]], bytes], list[tuple[str, bool]]]] = [
    ("one-line-envelope", lambda e: json.dumps(e).encode(), [("", True)]),
    ("pretty-printed-envelope", lambda e: json.dumps(e, indent=2).encode(), [("", True)]),
    (
        "jsonl",
        lambda e: (json.dumps(e) + "\n" + json.dumps(e) + "\n").encode(),
        [(":1", True), (":2", True)],
    ),
    (
        "jsonl-crlf",
        lambda e: (json.dumps(e) + "\r\n" + json.dumps(e)).encode(),
        [(":1", True), (":2", True)],
    ),
    (
        "jsonl-garbage-first",
        lambda e: b"oops\n" + json.dumps(e).encode(),
        [(":1", False), (":2", True)],
    ),
    ("jsonl-blank-lines", lambda e: b"\n\n" + json.dumps(e).encode() + b"\n\n", [("", True)]),
    ("not-objects", lambda _: b"1\n2\n", [("", False)]),
    ("broken-pretty-printed", lambda e: json.dumps(e, indent=2).encode()[:-3], [("", False)]),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in LOAD_CASES], ids=[c[0] for c in LOAD_CASES]
)
def test_load_envelopes_shapes(
    tmp_path: Path, content: Callable[[dict[str, Any]], bytes], expected: list[tuple[str, bool]]
) -> None:
    path = _write(tmp_path / "f", content(_signed_envelope()))
    entries = load_envelopes(path)
    assert [(loc, env is not None) for env, loc, _ in entries] == [
        (f"{path}{suffix}", ok) for suffix, ok in expected
    ]
    assert all((reason == "") == (env is not None) for env, _, reason in entries)


def test_write_new_file_never_clobbers(tmp_path: Path) -> None:
    path = _write(tmp_path / "f", b"old")
    with pytest.raises(InputError, match="exists"):
        _outputs.write_new_file(path, b"new")
    assert path.read_bytes() == b"old"
    _outputs.write_new_file(path, b"new", overwrite=True)
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


# -- the console script ---------------------------------------------------------

CONSOLE_SCRIPT = Path(sys.executable).parent / "intoto-policy"


@pytest.mark.skipif(
    not CONSOLE_SCRIPT.is_file(), reason="console script not installed (pip install -e .)"
)
def test_console_script_round_trip(work: Path) -> None:
    def script(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CONSOLE_SCRIPT), *map(str, args)],
            capture_output=True,
            text=True,
            check=False,
            cwd=work,
        )

    assert script("keygen", "--type", "ecdsa", "--out", work / "k").returncode == 0
    attest = script(
        "attest",
        "--predicate-type",
        PREDICATE_TYPE,
        "--predicate",
        work / "predicate.json",
        "--subject",
        work / "artifact.bin",
        "--key",
        work / "k",
        "--append",
        work / "b.jsonl",
    )
    assert (attest.returncode, attest.stderr) == (0, "")
    ok = script("inspect", work / "b.jsonl", "--key", work / "k.pub")
    assert (ok.returncode, ok.stderr) == (0, "")
    assert "verified: yes" in ok.stdout
    script("keygen", "--type", "ed25519", "--out", work / "other")
    failed = script("inspect", work / "b.jsonl", "--key", work / "other.pub")
    assert failed.returncode == 1
    missing = script("inspect", work / "missing.jsonl")
    assert missing.returncode == 2
    assert (
        missing.stderr
        == f"intoto-policy: {work / 'missing.jsonl'}: cannot read: No such file or directory\n"
    )
    usage = script("attest")
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr
