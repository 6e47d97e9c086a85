"""Authoring commands without surprises (issue #15): ``layout sign`` checks
first, ``layout check`` names unresolved parameters and regex thresholds,
classic in-toto documents are understood, and usage basics.

Each case runs the command and checks its exit code and a phrase of its
output; the phrase is what the change added, so each case fails without it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from intoto_policy.cli._main import main

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SCENARIO = CORPUS / "attestation-verifier" / "derived-scenarios" / "00-baseline-pass"
CLASSIC_DSSE = CORPUS / "real-world" / "items" / "30-intoto-golang-dsse-only"
CLASSIC_META = CORPUS / "intoto-reference" / "scenarios" / "fail_step_rule_modify_disallow"

pytestmark = pytest.mark.skipif(
    not (SCENARIO.is_dir() and CLASSIC_DSSE.is_dir() and CLASSIC_META.is_dir()),
    reason="shared corpus not present",
)

AT = "2026-11-22T00:00:00Z"

BAD_CEL = """\
expires: "2030-01-01T00:00:00Z"
functionaries:
  ci: {type: key, keyType: ed25519, scheme: ed25519, keyVal: {public: "KEYHEX"}}
steps:
  - name: build
    expectedPredicates:
      - predicateType: https://slsa.dev/provenance/v1
        functionaries: [ci]
        expectedAttributes:
          - rule: "predicate.x ==== 1"
"""

KEY_PARAM = """\
expires: "2030-01-01T00:00:00Z"
functionaries:
  ci: {type: key, keyType: ed25519, scheme: ed25519, keyVal: {public: "{ci-key}"}}
steps:
  - name: build
    expectedPredicates:
      - predicateType: https://slsa.dev/provenance/v1
        functionaries: [ci]
"""

REGEX_THRESHOLD = """\
expires: "2030-01-01T00:00:00Z"
functionaries:
  gha:
    type: sigstore
    identityRegex: '^https://github\\.com/acme/.+$'
    issuer: https://token.actions.githubusercontent.com
steps:
  - name: review
    expectedPredicates:
      - predicateType: https://example.com/review/v1
        functionaries: [gha]
        threshold: 2
"""

GOOD = """\
expires: "2030-01-01T00:00:00Z"
functionaries:
  ci: {type: key, keyType: ed25519, scheme: ed25519, keyVal: {public: "KEYHEX"}}
steps:
  - name: build
    expectedPredicates:
      - predicateType: https://slsa.dev/provenance/v1
        functionaries: [ci]
"""


class Case(NamedTuple):
    id: str
    argv: list[str]
    code: int
    phrase: str  # in stdout or stderr


CASES = [
    # layout sign: the layout check semantics first
    Case(
        "sign/good-layout", ["layout", "sign", "{good}", "--key", "{key}", "--at", AT], 0, "payload"
    ),
    Case(
        "sign/expired",
        ["layout", "sign", "{expired}", "--key", "{key}", "--at", AT],
        2,
        "refusing to sign: the layout already expired",
    ),
    Case(
        "sign/expired-forced",
        ["layout", "sign", "{expired}", "--key", "{key}", "--at", AT, "--force"],
        0,
        "payload",
    ),
    Case(
        "sign/cel-not-compiling",
        ["layout", "sign", "{cel}", "--key", "{key}", "--at", AT],
        2,
        "refusing to sign: step 'build'",
    ),
    Case(
        "sign/key-parameter",
        ["layout", "sign", "{param}", "--key", "{key}"],
        2,
        "unresolved parameter {ci-key}",
    ),
    Case(
        "sign/key-parameter-written-in",
        ["layout", "sign", "{param}", "--key", "{key}", "--param", "ci-key={keyhex}"],
        0,
        "application/vnd.intoto-policy.layout+json",
    ),
    Case(
        "sign/unused-parameter",
        ["layout", "sign", "{good}", "--key", "{key}", "--param", "typo=1"],
        2,
        "never uses parameter typo",
    ),
    Case(
        "sign/parameter-value-with-space",
        ["layout", "sign", "{param}", "--key", "{key}", "--param", "ci-key=a b"],
        2,
        "ci-key",
    ),
    Case(
        "sign/already-signed", ["layout", "sign", "{signed}", "--key", "{key}"], 2, "already signed"
    ),
    Case(
        "sign/classic-dsse-signed",
        ["layout", "sign", f"{CLASSIC_DSSE}/dsse-only.root.layout", "--key", "{key}"],
        2,
        "already signed: a classic in-toto layout",
    ),
    Case(
        "sign/classic-metablock-signed",
        ["layout", "sign", f"{CLASSIC_META}/root.layout", "--key", "{key}"],
        2,
        "already signed: a classic in-toto layout",
    ),
    # layout check: parameters, principals, classic layouts
    Case("check/key-parameter", ["layout", "check", "{param}"], 0, "unresolved parameter {ci-key}"),
    Case("check/regex-threshold", ["layout", "check", "{regex}"], 0, "meet the threshold of 2"),
    Case(
        "check/classic-dsse",
        ["layout", "check", f"{CLASSIC_DSSE}/dsse-only.root.layout", "--at", AT],
        0,
        "classic in-toto layout (dsse)",
    ),
    Case(
        "check/classic-metablock",
        ["layout", "check", f"{CLASSIC_META}/root.layout", "--at", AT],
        0,
        "classic in-toto layout (metablock)",
    ),
    Case(
        "check/classic-expired",
        ["layout", "check", f"{CLASSIC_META}/root.layout", "--at", "2100-01-01T00:00:00Z"],
        1,
        "already expired",
    ),
    Case(
        "check/classic-link",
        ["layout", "check", f"{CLASSIC_DSSE}/clone-dsse.776a00e2.link"],
        2,
        "a classic in-toto link, not a layout",
    ),
    Case(
        "check/classic-param",
        ["layout", "check", f"{CLASSIC_META}/root.layout", "--param", "x=y"],
        2,
        "--param: classic in-toto layouts have no parameters",
    ),
    # inspect: classic links and layouts, DSSE and metablock
    Case(
        "inspect/classic-dsse-link",
        ["inspect", f"{CLASSIC_DSSE}/clone-dsse.776a00e2.link"],
        0,
        "classic in-toto link 'clone-dsse' (dsse)",
    ),
    Case(
        "inspect/classic-metablock-link",
        ["inspect", f"{CLASSIC_META}/package.2f89b927.link"],
        0,
        "classic in-toto link 'package' (metablock)",
    ),
    Case(
        "inspect/classic-metablock-with-key",
        ["inspect", f"{CLASSIC_META}/root.layout", "--key", "{key}.pub"],
        2,
        "checked by 'intoto-policy verify'",
    ),
    # layout functionary: its own flags in errors, no inverted window
    Case(
        "functionary/bad-not-before",
        ["layout", "functionary", "{key}.pub", "--not-before", "yesterday"],
        2,
        "--not-before: not an RFC 3339",
    ),
    Case(
        "functionary/bad-not-after",
        ["layout", "functionary", "{key}.pub", "--not-after", "2026-13-01T00:00:00Z"],
        2,
        "--not-after: ",
    ),
    Case(
        "functionary/inverted-window",
        [
            "layout",
            "functionary",
            "{key}.pub",
            "--not-before",
            "2027-01-01T00:00:00Z",
            "--not-after",
            "2026-01-01T00:00:00Z",
        ],
        2,
        "--not-after 2026-01-01T00:00:00Z is not after --not-before",
    ),
    Case(
        "functionary/empty-window",
        [
            "layout",
            "functionary",
            "{key}.pub",
            "--not-before",
            "2027-01-01T00:00:00Z",
            "--not-after",
            "2027-01-01T00:00:00Z",
        ],
        2,
        "is not after --not-before",
    ),
    Case(
        "functionary/value",
        ["layout", "functionary", "{key}.pub", "--format", "value"],
        0,
        "{keyhex}",
    ),
    Case(
        "functionary/value-with-window",
        [
            "layout",
            "functionary",
            "{key}.pub",
            "--format",
            "value",
            "--not-after",
            "2027-01-01T00:00:00Z",
        ],
        2,
        "--not-after: not used with --format value",
    ),
    # usage basics
    Case("usage/version", ["--version"], 0, "intoto-policy "),
    Case("usage/no-internal-names", ["layout"], 2, "{sign,check,functionary}"),
]


@pytest.fixture
def expand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], list[str]]:
    key = tmp_path / "key"
    assert main(["keygen", "--type", "ed25519", "--out", str(key)]) == 0
    keyhex = _ed25519_hex(key.with_suffix(".pub"))
    names = {"key": str(key), "keyhex": keyhex}
    for name, text in (
        ("good", GOOD),
        ("expired", GOOD.replace("2030-", "2020-")),
        ("cel", BAD_CEL),
        ("param", KEY_PARAM),
        ("regex", REGEX_THRESHOLD),
    ):
        path = tmp_path / f"{name}.yml"
        path.write_text(text.replace("KEYHEX", keyhex))
        names[name] = str(path)
    names["signed"] = str(tmp_path / "signed.json")
    assert main(["layout", "sign", names["good"], "--key", str(key), "--out", names["signed"]]) == 0
    capsys.readouterr()

    def fill(text: str) -> str:  # only the known {names}: a phrase may hold other braces
        for name, value in names.items():
            text = text.replace("{" + name + "}", value)
        return text

    return lambda argv: [fill(a) for a in argv]


def _ed25519_hex(pub: Path) -> str:
    from intoto_policy.sources._files import load_public_key_file

    value = load_public_key_file(str(pub)).to_dict(camel=True)["keyVal"]["public"]
    assert isinstance(value, str)
    return value


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_authoring_command(
    case: Case, expand: Callable[[list[str]], list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(expand(case.argv)) == case.code
    out, err = capsys.readouterr()
    assert expand([case.phrase])[0] in out + err
    if case.code == 2:
        assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["layout", "check", "--help"]],
    ids=["version", "layout-check-help"],
)
def test_python_dash_m(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "intoto_policy", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "intoto-policy" in done.stdout


@pytest.mark.parametrize("keytype", ["ecdsa", "rsa"])
def test_functionary_pem_is_a_block_scalar(
    keytype: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    from intoto_policy.policy._functionaries import functionary_from_dict
    from intoto_policy.sources._files import load_public_key_file

    key = tmp_path / "key"
    assert main(["keygen", "--type", keytype, "--out", str(key)]) == 0
    capsys.readouterr()
    assert main(["layout", "functionary", f"{key}.pub", "--not-after", "2030-01-01T00:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "public: |" in out
    assert "\n\n" not in out  # no folded quoted string with blank lines
    pem = load_public_key_file(f"{key}.pub").to_dict(camel=True)["keyVal"]["public"]
    (keyid, entry), *_ = yaml.safe_load(out)["functionaries"].items()
    assert entry["keyVal"]["public"] == pem
    assert functionary_from_dict(keyid, entry).not_after is not None


SCENARIOS = CORPUS / "intoto-reference" / "scenarios"
# (scenario, the flag that makes inspections not run), each with an inspection
INSPECTIONS_NOT_RUN = [
    ("pass_single_signed", "without --run-inspections"),
    ("dsse_pass_single_signed", "without --run-inspections"),
    ("fail_step_rule_modify_disallow", "without --run-inspections"),
]


@pytest.mark.parametrize(
    ("scenario", "why"), INSPECTIONS_NOT_RUN, ids=[s for s, _ in INSPECTIONS_NOT_RUN]
)
def test_classic_step_summary_agrees_with_verdict(
    scenario: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    folder = SCENARIOS / scenario
    argv = [
        "verify", str(folder / "root.layout"),
        "--layout-key", str(folder / "keys" / "rsa_public.pem"),
        "--attestations", str(folder), "--at", "2025-06-01T00:00:00Z", "--format", "json",
    ]  # fmt: skip
    assert main(argv) == 1, why
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "fail"
    not_run = [s for s in report["steps"] if any("not run" in c["message"] for c in s["checks"])]
    assert not_run, "the scenario has an inspection"
    assert all(s["verdict"] == "fail" for s in not_run)


def _rsa_pem(bits: int) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


ATTEST = ["attest", "--predicate-type", "https://example.com/p/v1", "--predicate", "{pred}"]
ATTEST += ["--subject", "{pred}"]


class AttestCase(NamedTuple):
    id: str
    argv: list[str]
    existing: str | None  # content of {bundle} before the command, None: absent
    code: int
    phrase: str


ATTEST_CASES = [
    AttestCase("rsa-1024", [*ATTEST, "--key", "{rsa1024}"], None, 2, "RSA key of 1024 bits"),
    AttestCase("rsa-2048", [*ATTEST, "--key", "{rsa2048}"], None, 0, '"payload"'),
    AttestCase(
        "layout-sign-rsa-1024",
        ["layout", "sign", "{good}", "--key", "{rsa1024}"],
        None,
        2,
        "too weak to sign with",
    ),
    AttestCase("append-new", [*ATTEST, "--key", "{key}", "--append", "{bundle}"], None, 0, ""),
    AttestCase(
        "append-duplicate-key",
        [*ATTEST, "--key", "{key}", "--append", "{bundle}"],
        '{"a": 1, "a": 2}\n',
        2,
        "duplicate",
    ),
    AttestCase(
        "append-other-json-lines",
        [*ATTEST, "--key", "{key}", "--append", "{bundle}"],
        '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}\n\n',
        0,
        "",
    ),
    AttestCase("append-empty", [*ATTEST, "--key", "{key}", "--append", "{bundle}"], "", 0, ""),
    AttestCase(
        "append-jsonl", [*ATTEST, "--key", "{key}", "--append", "{bundle}"], "ENVELOPE", 0, ""
    ),
    AttestCase(
        "append-text",
        [*ATTEST, "--key", "{key}", "--append", "{bundle}"],
        "hello\n",
        2,
        "not JSON Lines (line 1",
    ),
    AttestCase(
        "append-json-not-envelope",
        [*ATTEST, "--key", "{key}", "--append", "{bundle}"],
        "[1, 2]\n",
        2,
        "line 1 is not a JSON object",
    ),
    AttestCase(
        "append-pretty-json",
        [*ATTEST, "--key", "{key}", "--append", "{bundle}"],
        "PRETTY",
        2,
        "not JSON Lines",
    ),
]


@pytest.mark.parametrize("case", ATTEST_CASES, ids=[c.id for c in ATTEST_CASES])
def test_attest_refuses_weak_keys_and_non_jsonl_bundles(
    case: AttestCase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    names = {"pred": str(tmp_path / "pred.json"), "bundle": str(tmp_path / "bundle.jsonl")}
    (tmp_path / "pred.json").write_text('{"ok": true}')
    for bits in (1024, 2048):
        (tmp_path / f"rsa{bits}.pem").write_bytes(_rsa_pem(bits))
        names[f"rsa{bits}"] = str(tmp_path / f"rsa{bits}.pem")
    names["key"] = str(tmp_path / "key")
    assert main(["keygen", "--type", "ed25519", "--out", names["key"]]) == 0
    (tmp_path / "good.yml").write_text(GOOD.replace("KEYHEX", _ed25519_hex(tmp_path / "key.pub")))
    names["good"] = str(tmp_path / "good.yml")
    capsys.readouterr()
    envelope = ""
    if case.existing in ("ENVELOPE", "PRETTY"):
        assert main([a.format(**names) for a in [*ATTEST, "--key", "{key}"]]) == 0
        envelope = capsys.readouterr().out
    capsys.readouterr()
    bundle = Path(names["bundle"])
    if case.existing == "ENVELOPE":
        bundle.write_text(envelope)
    elif case.existing == "PRETTY":
        bundle.write_text(json.dumps(json.loads(envelope), indent=2))
    elif case.existing is not None:
        bundle.write_text(case.existing)
    before = bundle.read_bytes() if bundle.exists() else None
    assert main([a.format(**names) for a in case.argv]) == case.code
    out, err = capsys.readouterr()
    assert case.phrase in out + err
    if case.code == 2:
        assert len(err.strip().splitlines()) == 1, err
        assert (bundle.read_bytes() if bundle.exists() else None) == before  # untouched
    elif "--append" in case.argv:
        lines = bundle.read_text().splitlines()
        assert all(isinstance(json.loads(line), dict) for line in lines if line.strip())
        assert "payload" in json.loads(lines[-1])


VSA_URI_CASES = [
    ("verifier-id-no-scheme", "--vsa-verifier-id", "verifier.example", 2),
    ("verifier-id-space", "--vsa-verifier-id", "https://verifier.example/a b", 2),
    ("verifier-id-control", "--vsa-verifier-id", "https://verifier.example/\x1b[2J", 2),
    ("verifier-id-ok", "--vsa-verifier-id", "https://verifier.example/v1", 0),
    ("resource-uri-no-scheme", "--vsa-resource-uri", "app.tar.gz", 2),
    ("resource-uri-ok", "--vsa-resource-uri", "pkg:npm/app@1.0.0", 0),
]


@pytest.mark.parametrize(
    ("flag", "value", "code"), [c[1:] for c in VSA_URI_CASES], ids=[c[0] for c in VSA_URI_CASES]
)
def test_vsa_uris_must_be_absolute_uris(
    flag: str, value: str, code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "key"
    assert main(["keygen", "--type", "ed25519", "--out", str(key)]) == 0
    argv = [
        "verify", str(SCENARIO / "layout.yml"), "--unsigned-layout",
        "--attestations", str(SCENARIO / "attestations"), "--at", AT,
        "--format", "vsa", "--vsa-key", str(key),
        "--subject-digest",
        "sha256:58eaf5a78d580f5dbd49d31a5b733094169b31bfdf49055b74bcac2877d8f58c",
        flag, value,
    ]  # fmt: skip
    capsys.readouterr()
    assert main(argv) == code
    err = capsys.readouterr().err
    if code == 2:
        assert f"{flag}: not an absolute URI" in err
