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
    # usage basics
    Case("usage/version", ["--version"], 0, "intoto-policy "),
    Case("usage/no-internal-names", ["layout"], 2, "{sign,check,functionary}"),
]


@pytest.fixture
def expand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], list[str]]:
    key = tmp_path / "key"
    assert main(["keygen", "--type", "ed25519", "--out", str(key)]) == 0
    keyhex = _ed25519_hex(key.with_suffix(".pub"))
    names = {"key": str(key)}
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
    return lambda argv: [a.format(**names) for a in argv]


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
    assert case.phrase in out + err
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
