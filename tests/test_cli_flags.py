"""Every CLI flag that cannot apply in a mode is refused (exit 2), never ignored.

One case per (command, flag, mode). Each case first runs the same command
without the flag and checks that it is accepted, so the refusal is the
flag's doing; then the flag must give exit 2 and a one-line error naming it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from intoto_policy.cli._main import main

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
SCENARIO = CORPUS / "attestation-verifier" / "derived-scenarios" / "00-baseline-pass"
CLASSIC = CORPUS / "real-world" / "items" / "30-intoto-golang-dsse-only"

pytestmark = pytest.mark.skipif(
    not (SCENARIO.is_dir() and CLASSIC.is_dir()), reason="shared corpus not present"
)

ATTESTATION = [
    "verify",
    "{att}/layout.yml",
    "--unsigned-layout",
    "--attestations",
    "{att}/attestations",
    "--at",
    "2026-11-22T00:00:00Z",
]
CLASSIC_VERIFY = [
    "verify",
    "{classic}/dsse-only.root.layout",
    "--layout-key",
    "{classic}/alice.pub",
    "--attestations",
    "{classic}",
    "--at",
    "2025-06-01T00:00:00Z",
]
# a VSA names its subject: the build step's product in the scenario
FOO = "sha256:58eaf5a78d580f5dbd49d31a5b733094169b31bfdf49055b74bcac2877d8f58c"
VSA = ["--format", "vsa", "--vsa-key", "{key}", "--subject-digest", FOO]
SIGNED = [
    "verify",
    "{tmp}/signed-layout.json",
    "--layout-key",
    "{key}.pub",
    "--attestations",
    "{att}/attestations",
    "--at",
    "2026-11-22T00:00:00Z",
]
ATTEST_STDOUT = [
    "attest",
    "--predicate-type",
    "https://example.com/p/v1",
    "--predicate",
    "{tmp}/predicate.json",
    "--subject",
    "{tmp}/predicate.json",
    "--key",
    "{key}",
]
ATTEST = [*ATTEST_STDOUT, "--out", "{tmp}/out.json"]
SIGN = ["layout", "sign", "{att}/layout.yml", "--key", "{key}", "--out", "{tmp}/signed.json"]


class Case(NamedTuple):
    id: str
    base: list[str]  # accepted on its own
    extra: list[str]  # the flag that does not apply
    flag: str  # named in the error


CASES = [
    # verify, attestation layouts: classic-only flags
    Case("verify/attestation/--gpg", ATTESTATION, ["--gpg", "ABCDEF"], "--gpg"),
    Case(
        "verify/attestation/--gpg-home",
        ATTESTATION,
        ["--gpg", "ABCDEF", "--gpg-home", "{tmp}"],
        "--gpg-home",
    ),
    Case(
        "verify/attestation/--run-inspections",
        ATTESTATION,
        ["--run-inspections"],
        "--run-inspections",
    ),
    Case(
        "verify/attestation/--workdir",
        ATTESTATION,
        ["--run-inspections", "--workdir", "{tmp}"],
        "--workdir",
    ),
    # verify, a signed attestation layout: accepting it unsigned does not apply
    Case(
        "verify/attestation-signed/--unsigned-layout",
        SIGNED,
        ["--unsigned-layout"],
        "--unsigned-layout",
    ),
    # verify, attestation layouts: a parameter the layout never uses
    Case("verify/attestation-no-such-param/--param", ATTESTATION, ["--param", "x=y"], "--param"),
    Case(
        "verify/attestation-no-such-param/--params-file",
        ATTESTATION,
        ["--params-file", "{tmp}/params.json"],
        "--params-file",
    ),
    # verify, attestation layouts: a trusted root with no Sigstore functionary
    Case(
        "verify/attestation-no-sigstore/--trusted-root",
        ATTESTATION,
        ["--trusted-root", "{classic}/alice.pub"],
        "--trusted-root",
    ),
    # verify, classic layouts: attestation-only flags
    *(
        Case(f"verify/classic/{extra[0]}", CLASSIC_VERIFY, extra, extra[0])
        for extra in (
            ["--subject", "{classic}/alice.pub"],
            ["--subject-digest", "sha256:" + "a" * 64],
            ["--no-subject"],
            ["--param", "x=y"],
            ["--params-file", "{classic}/alice.pub"],
            ["--unsigned-layout"],
            ["--trusted-root", "{classic}/alice.pub"],
        )
    ),
    # verify, classic layouts: flags that need another flag
    Case("verify/classic-no-gpg/--gpg-home", CLASSIC_VERIFY, ["--gpg-home", "{tmp}"], "--gpg-home"),
    Case(
        "verify/classic-no-inspections/--workdir",
        CLASSIC_VERIFY,
        ["--workdir", "{tmp}"],
        "--workdir",
    ),
    # verify, any layout: report options for another format
    *(
        Case(f"verify/{kind}-format-text/{extra[0]}", base, extra, extra[0])
        for kind, base in (("attestation", ATTESTATION), ("classic", CLASSIC_VERIFY))
        for extra in (
            ["--vsa-key", "{key}"],
            ["--vsa-verifier-id", "https://verifier.example"],
            ["--vsa-resource-uri", "https://artifact.example"],
            ["--passphrase-env", "PASS"],
        )
    ),
    *(
        Case(
            f"verify/{kind}-format-{fmt}/--sarif-category",
            [*base, "--format", fmt],
            extra,
            extra[0],
        )
        for kind, base in (("attestation", ATTESTATION), ("classic", CLASSIC_VERIFY))
        for fmt in ("text", "json", "junit")
        for extra in (["--sarif-category", "release"],)
    ),
    *(
        Case(f"verify/{kind}-format-json/--color", [*base, "--format", "json"], extra, "--color")
        for kind, base in (("attestation", ATTESTATION), ("classic", CLASSIC_VERIFY))
        for extra in (["--color", "never"],)
    ),
    Case(
        "verify/attestation-format-vsa-plain-key/--passphrase-env",
        [*ATTESTATION, *VSA],
        ["--passphrase-env", "PASS"],
        "--passphrase-env",
    ),
    # attest and layout sign: a passphrase for a key that is not encrypted
    Case(
        "attest/plain-key/--passphrase-env",
        ATTEST,
        ["--passphrase-env", "PASS"],
        "--passphrase-env",
    ),
    Case(
        "layout-sign/plain-key/--passphrase-env",
        SIGN,
        ["--passphrase-env", "PASS"],
        "--passphrase-env",
    ),
    Case(
        "layout-sign/plain-keys/--passphrase-env",
        ["layout", "sign", "{att}/layout.yml", "--key", "{key}", "--key", "{key2}"],
        ["--passphrase-env", "PASS"],
        "--passphrase-env",
    ),
    # an empty value must not read as "not given" (stdout, the current folder...)
    *(
        Case(f"{label}/empty/{extra[0]}", base, extra, extra[0])
        for label, base, extra in (
            ("attest", ATTEST, ["--out", ""]),
            ("attest", ATTEST_STDOUT, ["--append", ""]),
            ("layout-sign", SIGN, ["--out", ""]),
            ("verify/attestation", ATTESTATION, ["--output", ""]),
            ("verify/attestation", ATTESTATION, ["--attestations", ""]),
            ("verify/attestation", ATTESTATION, ["--params-file", ""]),
            ("verify/attestation", ATTESTATION, ["--trusted-root", ""]),
            ("verify/attestation-vsa", [*ATTESTATION, *VSA], ["--vsa-verifier-id", ""]),
            ("verify/classic", [*CLASSIC_VERIFY, "--run-inspections"], ["--workdir", ""]),
        )
    ),
    # demo: colour only colours the text report
    Case("demo/format-json/--color", ["demo", "--format", "json"], ["--color", "never"], "--color"),
    # fetching options do nothing without a source to fetch from
    *(
        Case(f"verify/{kind}-no-from/{extra[0]}", base, extra, extra[0])
        for kind, base in (("attestation", ATTESTATION), ("classic", CLASSIC_VERIFY))
        for extra in (
            ["--github-api", "https://127.0.0.1:1"],
            ["--npm-registry", "https://127.0.0.1:1"],
            ["--pypi-url", "https://127.0.0.1:1"],
            ["--max-response-bytes", "1000"],
            ["--max-attestations", "3"],
            ["--timeout", "5"],
            ["--source-timeout", "60"],
            ["--retries", "2"],
        )
    ),
]


@pytest.fixture
def expand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[list[str]], list[str]]:
    classic = tmp_path / "classic"
    shutil.copytree(CLASSIC, classic)
    for path in [classic, *classic.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    (tmp_path / "predicate.json").write_text('{"ok": true}')
    (tmp_path / "params.json").write_text('{"x": "y"}')
    monkeypatch.setenv("PASS", "secret")
    for name in ("key", "key2"):
        assert main(["keygen", "--type", "ed25519", "--out", str(tmp_path / name)]) == 0
    signed = ["layout", "sign", str(SCENARIO / "layout.yml"), "--key", str(tmp_path / "key")]
    assert main([*signed, "--out", str(tmp_path / "signed-layout.json")]) == 0
    enc = str(tmp_path / "enc")
    assert main(["keygen", "--type", "ed25519", "--out", enc, "--passphrase-env", "PASS"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("NO_COLOR", "1")
    names = {
        "att": str(SCENARIO),
        "classic": str(classic),
        "key": str(tmp_path / "key"),
        "key2": str(tmp_path / "key2"),
        "enc": enc,
        "tmp": str(tmp_path),
    }
    return lambda argv: [a.format(**names) for a in argv]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_inapplicable_flag_is_refused(
    case: Case,
    expand: Callable[[list[str]], list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = expand(case.base)
    code = main(base)
    err = capsys.readouterr().err
    assert code in (0, 1), f"the command without {case.flag} is not accepted: {err}"

    assert main([*base, *expand(case.extra)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("intoto-policy: ")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert case.flag in err


ACCEPTED = [
    Case(
        "verify/classic-inspections/--workdir",
        CLASSIC_VERIFY,
        ["--run-inspections", "--workdir", "{classic}"],
        "--workdir",
    ),
    Case("verify/format-text/--color", ATTESTATION, ["--color", "always"], "--color"),
    Case(
        "verify/format-sarif/--sarif-category",
        [*ATTESTATION, "--format", "sarif"],
        ["--sarif-category", "release"],
        "--sarif-category",
    ),
    Case(
        "verify/format-vsa-encrypted-key/--passphrase-env",
        [*ATTESTATION, "--format", "vsa", "--subject-digest", FOO],
        ["--vsa-key", "{enc}", "--passphrase-env", "PASS"],
        "--passphrase-env",
    ),
    Case(
        "layout-sign/one-encrypted-key/--passphrase-env",
        ["layout", "sign", "{att}/layout.yml", "--key", "{key}"],
        ["--key", "{enc}", "--passphrase-env", "PASS"],
        "--passphrase-env",
    ),
]


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.id for c in ACCEPTED])
def test_applicable_flag_is_accepted(
    case: Case,
    expand: Callable[[list[str]], list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(expand([*case.base, *case.extra]))
    err = capsys.readouterr().err
    assert code in (0, 1), err
