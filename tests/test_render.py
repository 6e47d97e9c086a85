"""Renderers: text, JSON, SARIF, JUnit, Markdown and VSA, over hand-built reports.

Every renderer runs over one table of named reports (passing, one failure of
each check kind, warnings only, rejected attestations, no subject bound,
hostile text...). Machine formats are parsed back and validated: JSON
against ``schemas/report.schema.json``, SARIF against the OASIS schema read
in place from ``../shared/schemas``, JUnit with ``xml.etree``, the VSA by
verifying its envelope and parsing its statement.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from intoto_policy._errors import UsageError
from intoto_policy.cli._progress import Progress
from intoto_policy.crypto._keys import PrivateKey
from intoto_policy.model._dsse import INTOTO_PAYLOAD_TYPE, Envelope
from intoto_policy.model._statement import Statement
from intoto_policy.report._common import clean
from intoto_policy.report._json import render_json
from intoto_policy.report._junit import GLOBAL_SUITE, render_junit
from intoto_policy.report._markdown import escape_markdown, render_markdown
from intoto_policy.report._model import (
    AttestationRef,
    Check,
    CheckKind,
    LayoutInfo,
    Location,
    RejectedAttestation,
    RejectReason,
    Report,
    Signer,
    Status,
    StepResult,
)
from intoto_policy.report._render import FORMATS, RENDERERS, render
from intoto_policy.report._sarif import REJECTED_RULE_ID, render_sarif, rule_id
from intoto_policy.report._text import render_text
from intoto_policy.report._vsa import (
    DEFAULT_VERIFIER_ID,
    VSA_PREDICATE_TYPE,
    render_vsa,
    resource_uri_for,
    vsa_statement,
)

ROOT = Path(__file__).resolve().parents[1]
REPORT_SCHEMA = ROOT / "schemas" / "report.schema.json"
SARIF_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"

LAYOUT = "layouts/release.yml"
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SUBJECT = {"sha256": "c" * 64}
GLOBAL_KINDS = {CheckKind.LAYOUT, CheckKind.SUBJECT_BINDING}

# ---------------------------------------------------------------------------
# Report builders


def _signer(n: int) -> Signer:
    return Signer(principal=f"key:{n:064x}", keyid=f"{n:02d}" * 16)


def _att(name: str, n: int = 1, ptype: str = "https://slsa.dev/provenance/v1") -> AttestationRef:
    digest = f"{n:x}".rjust(64, "a")
    return AttestationRef(
        source=f"{name}.intoto.jsonl:1", digest=digest, predicate_type=ptype, signers=(_signer(n),)
    )


def _layout() -> LayoutInfo:
    return LayoutInfo(source=LAYOUT, digest="b" * 64, signed=True, signed_by=("owner" * 8,))


def _pass(kind: CheckKind, step: str | None, message: str = "ok") -> Check:
    return Check(kind, Status.PASS, message, step=step)


def _step(
    name: str, *checks: Check, line: int = 10, atts: tuple[AttestationRef, ...] = ()
) -> StepResult:
    return StepResult(
        name=name,
        checks=checks,
        attestations=atts or (_att(name),),
        location=Location(LAYOUT, line, f"/steps/{name}"),
    )


def _threshold(step: str, want: int, got: int) -> Check:
    return Check(
        CheckKind.THRESHOLD,
        Status.PASS if got >= want else Status.FAIL,
        f"{got} of {want} required principals signed",
        step=step,
        predicate_type="https://slsa.dev/provenance/v1",
        expected=want,
        actual=got,
        details={"principals": [f"key:{i:064x}" for i in range(got)]},
        location=Location(LAYOUT, 14, "/steps/0/expectedPredicates/0"),
    )


def _report(*steps: StepResult, checks: tuple[Check, ...] = (), **kw: Any) -> Report:
    base: dict[str, Any] = {
        "layout": _layout(),
        "verified_at": AT,
        "subjects": (SUBJECT,),
        "checks": (_pass(CheckKind.LAYOUT, None, "layout signature verified"), *checks),
        "steps": steps,
    }
    base.update(kw)
    return Report(**base)


def _passing() -> Report:
    return _report(
        _step("build", _threshold("build", 1, 1), _pass(CheckKind.ARTIFACT_RULE, "build")),
        _step(
            "review",
            _threshold("review", 2, 2),
            line=20,
            atts=(_att("review", 2), _att("review", 3)),
        ),
        checks=(_pass(CheckKind.SUBJECT_BINDING, None, "subject matches build"),),
        parameters={"REPO": "example/app"},
    )


# One failing check of each kind, with what that kind carries in practice.
FAILURES: dict[CheckKind, Check] = {
    CheckKind.LAYOUT: Check(
        CheckKind.LAYOUT,
        Status.FAIL,
        "the layout expired",
        expected="expires after 2024-05-01T12:00:00Z",
        actual="2024-01-01T00:00:00Z",
        location=Location(LAYOUT, 1, "/expires"),
    ),
    CheckKind.SIGNATURE: Check(
        CheckKind.SIGNATURE,
        Status.FAIL,
        "no signature verifies under any functionary key",
        step="build",
        details={"attestation": "build.intoto.jsonl:3"},
    ),
    CheckKind.AUTHORIZATION: Check(
        CheckKind.AUTHORIZATION,
        Status.FAIL,
        "signer is not a functionary of build",
        step="build",
        expected=["alice", "bob"],
        actual="mallory",
    ),
    CheckKind.THRESHOLD: _threshold("build", 2, 1),
    CheckKind.ARTIFACT_RULE: Check(
        CheckKind.ARTIFACT_RULE,
        Status.FAIL,
        "DISALLOW * rejected 2 products",
        step="build",
        rule="DISALLOW *",
        expected="no unmatched products",
        actual=["dist/extra.so", "dist/app.tar.gz.bak"],
        details={"attestation": "build.intoto.jsonl:1"},
        location=Location(LAYOUT, 17, "/steps/0/expectedProducts/1"),
    ),
    CheckKind.ATTRIBUTE_RULE: Check(
        CheckKind.ATTRIBUTE_RULE,
        Status.FAIL,
        "rule is false",
        step="build",
        predicate_type="https://slsa.dev/provenance/v1",
        rule="predicate.runDetails.builder.id == 'https://ci.example/builder'",
        expected=True,
        actual={"predicate.runDetails.builder.id": "https://evil.example/builder"},
        details={"attestation": "build.intoto.jsonl:1", "outcome": "false"},
        location=Location(LAYOUT, 23, "/steps/0/expectedPredicates/0/expectedAttributes/0"),
    ),
    CheckKind.FRESHNESS: Check(
        CheckKind.FRESHNESS,
        Status.FAIL,
        "attestation is older than P7D",
        step="build",
        expected="at most P7D old",
        actual="2024-04-01T00:00:00Z",
    ),
    CheckKind.SUBJECT_BINDING: Check(
        CheckKind.SUBJECT_BINDING,
        Status.FAIL,
        "no attestation of step build names the bound subject",
        expected=SUBJECT,
        actual=[{"sha256": "d" * 64}],
    ),
    CheckKind.INSPECTION: Check(
        CheckKind.INSPECTION,
        Status.FAIL,
        "inspection untar exited with 2",
        step="build",
        expected=0,
        actual=2,
    ),
    CheckKind.COMMAND: Check(
        CheckKind.COMMAND,
        Status.FAIL,
        "recorded command differs",
        step="build",
        expected=["make", "dist"],
        actual=["make", "all"],
    ),
    CheckKind.TUF: Check(
        CheckKind.TUF,
        Status.FAIL,
        "TUF: policies/acme/layout.json: metadata expired at the verification time",
        details={"target": "policies/acme/layout.json", "category": "freeze"},
    ),
}


def _failing(kind: CheckKind) -> Report:
    check = FAILURES[kind]
    if kind in GLOBAL_KINDS:
        return _report(_step("build", _threshold("build", 1, 1)), checks=(check,))
    return _report(
        _step("build", _threshold("build", 1, 1), check)
        if kind is not CheckKind.THRESHOLD
        else _step("build", check)
    )


def _warnings_only() -> Report:
    return _report(
        _step(
            "clone",
            _threshold("clone", 1, 1),
            Check(
                CheckKind.ATTRIBUTE_RULE,
                Status.WARN,
                "command differs (warn only)",
                step="clone",
                rule="predicate.command == ['git', 'clone']",
                expected=True,
                actual={"predicate.command": ["git"]},
            ),
            Check(CheckKind.COMMAND, Status.INFO, "recorded for information", step="clone"),
        )
    )


def _rejected() -> Report:
    return _report(
        _step("build", _threshold("build", 2, 1)),
        rejected=(
            RejectedAttestation(
                AttestationRef("evil.json", "e" * 64),
                RejectReason.UNAUTHORIZED,
                "signed by key 99… which is not a functionary of build",
                step="build",
            ),
            RejectedAttestation(
                AttestationRef("junk.json"), RejectReason.MALFORMED, "not a DSSE envelope"
            ),
            RejectedAttestation(
                AttestationRef("old.json", "f" * 64, "https://slsa.dev/provenance/v1"),
                RejectReason.STALE,
                "older than P7D",
                step="nosuchstep",
            ),
        ),
    )


def _no_subject() -> Report:
    return _report(
        _step("build", _threshold("build", 1, 1)),
        subjects=(),
        checks=(
            Check(
                CheckKind.SUBJECT_BINDING,
                Status.WARN,
                "no subject bound: the verdict is about no artifact",
            ),
        ),
    )


HOSTILE = (
    "evil\x1b[2J\x1b]0;pwned\x07 | *bold* <script>alert(1)</script> & `tick` [x](http://e) "
    "\u202eRTL\u202c\x00nul\nline2 ünïcødé 日本 🚀 $x$ ~s~ @team \x9b31m"
)


def _hostile() -> Report:
    step = "st|ep <&> \x1b[31m"
    return _report(
        StepResult(
            name=step,
            checks=(
                Check(
                    CheckKind.ATTRIBUTE_RULE,
                    Status.FAIL,
                    HOSTILE,
                    step=step,
                    rule="a | b < c",
                    expected="x|y",
                    actual={"k<": "v>\x1b", "n": "\x00"},
                    details={"why": HOSTILE},
                    location=Location("dir with space/lay out.yml", 3, "/steps/0"),
                ),
                Check(CheckKind.COMMAND, Status.WARN, HOSTILE, step=step),
            ),
            attestations=(
                AttestationRef(
                    "a|b\x1b.json", "a" * 64, signers=(Signer("p", identity="x<y>@e", issuer="i"),)
                ),
            ),
        ),
        rejected=(
            RejectedAttestation(
                AttestationRef("r\x1b|.json"), RejectReason.MALFORMED, HOSTILE, step=step
            ),
        ),
        parameters={"P": HOSTILE},
    )


def _empty() -> Report:
    return Report(layout=LayoutInfo(source=LAYOUT), verified_at=AT)


def _many_failures() -> Report:
    checks = tuple(
        Check(
            CheckKind.ARTIFACT_RULE,
            Status.FAIL,
            f"rule {i} failed",
            step="build",
            rule="DISALLOW *",
        )
        for i in range(70)
    )
    return _report(_step("build", *checks))


CASES: dict[str, Callable[[], Report]] = {
    "passing": _passing,
    **{f"fail-{kind.value}": partial(_failing, kind) for kind in CheckKind},
    "warnings-only": _warnings_only,
    "rejected": _rejected,
    "no-subject": _no_subject,
    "hostile-text": _hostile,
    "empty": _empty,
    "many-failures": _many_failures,
}
EXPECTED_VERDICT = {
    "passing": True,
    "warnings-only": True,
    "no-subject": True,
    "empty": True,
    **{f"fail-{kind.value}": False for kind in CheckKind},
    "rejected": False,
    "hostile-text": False,
    "many-failures": False,
}
NAMES = sorted(CASES)


def test_cases_cover_every_check_kind_and_verdict() -> None:
    assert set(EXPECTED_VERDICT) == set(CASES)
    for name in NAMES:
        assert bool(CASES[name]()) is EXPECTED_VERDICT[name], name
    assert {c.kind for c in FAILURES.values()} == set(CheckKind)


# ---------------------------------------------------------------------------
# Shared properties


_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "markdown"])
@pytest.mark.parametrize("name", NAMES)
def test_output_is_deterministic_and_free_of_raw_controls(name: str, fmt: str) -> None:
    report = CASES[name]()
    first = RENDERERS[fmt](report)
    assert first == RENDERERS[fmt](CASES[name]())
    assert first.endswith("\n")
    assert not _RAW_CONTROL.search(first), repr(_RAW_CONTROL.search(first))
    first.encode("utf-8")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("plain", "plain"),
        ("a\x1b[31mb", "a\\x1b[31mb"),
        ("nul\x00", "nul\\x00"),
        ("bidi\u202e", "bidi\\u202e"),
        ("keep\nnewline\ttab", "keep\nnewline\ttab"),
        ("ünïcødé 日本 🚀", "ünïcødé 日本 🚀"),
        ("lone\udc80", "lone\\udc80"),
        ("c1\x9b", "c1\\x9b"),
    ],
    ids=["plain", "ansi", "nul", "bidi", "newline-tab", "unicode", "surrogate", "c1-csi"],
)
def test_clean(text: str, want: str) -> None:
    assert clean(text) == want


def test_clean_can_flatten_newlines() -> None:
    assert clean("a\nb\tc", keep_newlines=False) == "a\\x0ab\\x09c"


# ---------------------------------------------------------------------------
# Registry


def test_registry_lists_every_format() -> None:
    assert FORMATS == ("text", "json", "sarif", "junit", "markdown", "vsa")
    assert set(RENDERERS) == set(FORMATS)


@pytest.mark.parametrize(
    ("fmt", "options", "match"),
    [
        ("yaml", {}, "unknown report format"),
        ("vsa", {}, "key"),
        ("text", {"colour": True}, "colour"),
    ],
    ids=["unknown-format", "vsa-without-key", "unknown-option"],
)
def test_render_usage_errors(fmt: str, options: dict[str, Any], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        render(_passing(), fmt, **options)


def test_render_dispatches_with_options() -> None:
    assert render(_passing(), "text", color=True) == render_text(_passing(), color=True)


# ---------------------------------------------------------------------------
# Text


@pytest.mark.parametrize("name", NAMES)
def test_text_structure(name: str) -> None:
    report = CASES[name]()
    out = render_text(report)
    lines = out.splitlines()
    assert lines[0].startswith("PASS" if report.passed else "FAIL")
    assert lines[-1].startswith(f"Result: {'PASS' if report.passed else 'FAIL'}")
    assert "\x1b" not in out
    for check in report.all_checks():
        assert clean(check.message).split("\n")[0] in out
    for step in report.steps:
        assert (
            f"Step {clean(step.name, keep_newlines=False)}: {'PASS' if step.passed else 'FAIL'}"
            in out
        )
        for att in step.attestations:
            for signer in att.signers:
                assert signer.label in out
    for failure in report.failures:
        if failure.expected is not None:
            assert "expected:" in out
        if failure.actual is not None:
            assert "actual:" in out
    for item in report.rejected:
        assert item.reason.value in out
    assert ("Warnings (" in out) == bool(report.warnings)
    assert ("did not count (" in out) == bool(report.rejected)
    if not report.subjects:
        assert "none bound" in out


def test_text_shows_cel_values_rejected_paths_and_location() -> None:
    out = render_text(_failing(CheckKind.ATTRIBUTE_RULE))
    assert "rule:        predicate.runDetails.builder.id == 'https://ci.example/builder'" in out
    assert 'actual:      {"predicate.runDetails.builder.id": "https://evil.example/builder"}' in out
    assert f"at:          {LAYOUT}:23 (/steps/0/expectedPredicates/0/expectedAttributes/0)" in out
    paths = render_text(_failing(CheckKind.ARTIFACT_RULE))
    assert re.search(r"\n +actual:\n", paths)
    assert "  - dist/extra.so" in paths
    assert "  - dist/app.tar.gz.bak" in paths
    threshold = render_text(_failing(CheckKind.THRESHOLD))
    assert "(threshold 2, found 1; at layouts/release.yml:10)" in threshold


def test_text_colour_only_when_asked() -> None:
    report = _failing(CheckKind.THRESHOLD)
    coloured = render_text(report, color=True)
    assert "\x1b[1;31mFAIL\x1b[0m" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == render_text(report)


def test_text_neutralises_hostile_text() -> None:
    out = render_text(_hostile())
    assert "\\x1b[2J" in out
    assert "\\u202e" in out
    assert "\\x00" in out
    # A newline inside a message continues on an indented line, not at column 0.
    assert "\nline2" not in out
    assert re.search(r"\n +line2", out)


# ---------------------------------------------------------------------------
# JSON


@pytest.fixture(scope="module")
def report_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("name", NAMES)
def test_json_round_trips_and_matches_schema(
    name: str, report_validator: jsonschema.Draft202012Validator
) -> None:
    report = CASES[name]()
    out = render_json(report)
    data = json.loads(out)
    assert data == json.loads(json.dumps(report.to_dict()))
    assert next(iter(data)) == "verdict"
    assert data["verdict"] == report.verdict
    report_validator.validate(data)


def test_json_sorts_free_form_keys_only() -> None:
    check = Check(
        CheckKind.ATTRIBUTE_RULE,
        Status.FAIL,
        "m",
        step="s",
        actual={"z": 1, "a": 2},
        details={"zz": {"y": 1, "b": 2}, "aa": 0},
    )
    out = render_json(_report(_step("s", check), parameters={"Z": "1", "A": "2"}))
    assert out.index('"aa"') < out.index('"zz"')
    assert out.index('"b"') < out.index('"y"')
    assert out.index('"A"') < out.index('"Z"')
    # The model's own order is kept: verdict first, summary last.
    assert out.index('"verdict"') < out.index('"layout"') < out.index('"summary"')


def test_json_keeps_unicode_readable() -> None:
    out = render_json(_hostile())
    assert "ünïcødé 日本 🚀" in out


def test_json_escapes_lone_surrogates() -> None:
    report = _report(_step("build", _pass(CheckKind.THRESHOLD, "build", "undecodable name \udc80")))
    out = render_json(report)
    out.encode("utf-8")
    assert json.loads(out)["steps"][0]["checks"][0]["message"] == "undecodable name \udc80"


@pytest.mark.parametrize(
    ("pointer", "enum"),
    [
        (("$defs", "check", "properties", "kind", "enum"), CheckKind),
        (("$defs", "check", "properties", "status", "enum"), Status),
        (("$defs", "rejectedAttestation", "properties", "reason", "enum"), RejectReason),
    ],
    ids=["check-kind", "status", "reject-reason"],
)
def test_report_schema_enums_match_the_model(pointer: tuple[str, ...], enum: Any) -> None:
    node: Any = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    for key in pointer:
        node = node[key]
    assert sorted(node) == sorted(member.value for member in enum)


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda d: d.update(verdict="maybe"), "verdict enum"),
        (lambda d: d.pop("summary"), "required summary"),
        (lambda d: d["summary"].update(failures=0), "fail verdict with zero failures"),
        (lambda d: d["steps"][0]["checks"][0].update(kind="vibes"), "check kind enum"),
        (lambda d: d["steps"][0]["checks"][0].update(status="ok"), "status enum"),
        (lambda d: d["steps"][0].update(extra=1), "no unknown step fields"),
        (lambda d: d["layout"].update(digest={"sha256": "XYZ"}), "layout digest hex"),
        (
            lambda d: d["rejected"].append(
                {"attestation": {"source": "x", "signers": []}, "reason": "because", "message": "m"}
            ),
            "reason enum",
        ),
        (lambda d: d.update(verifiedAt="yesterday"), "date-time format"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_report_schema_rejects_wrong_documents(
    mutate: Callable[[dict[str, Any]], Any],
    why: str,
    report_validator: jsonschema.Draft202012Validator,
) -> None:
    data = json.loads(render_json(_failing(CheckKind.THRESHOLD)))
    report_validator.validate(data)
    mutate(data)
    assert not report_validator.is_valid(data), why


# ---------------------------------------------------------------------------
# SARIF


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SARIF_SCHEMA}")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


def _expected_levels(report: Report, include_passing: bool) -> list[tuple[str, str, str]]:
    level = {Status.FAIL: "error", Status.WARN: "warning", Status.PASS: "none", Status.INFO: "none"}
    kind = {
        Status.FAIL: "fail",
        Status.WARN: "fail",
        Status.PASS: "pass",
        Status.INFO: "informational",
    }
    out = [
        (rule_id(c.kind), level[c.status], kind[c.status])
        for c in report.all_checks()
        if include_passing or c.status in (Status.FAIL, Status.WARN)
    ]
    out.extend((REJECTED_RULE_ID, "note", "fail") for _ in report.rejected)
    return out


@pytest.mark.parametrize("include_passing", [False, True], ids=["default", "include-passing"])
@pytest.mark.parametrize("name", NAMES)
def test_sarif_valid_and_complete(
    name: str, include_passing: bool, sarif_validator: jsonschema.Draft4Validator
) -> None:
    report = CASES[name]()
    log = json.loads(render_sarif(report, include_passing=include_passing, version="1.2.3"))
    sarif_validator.validate(log)
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "intoto-policy"
    assert driver["version"] == "1.2.3"
    ids = [r["id"] for r in driver["rules"]]
    assert ids == [rule_id(k) for k in CheckKind] + [REJECTED_RULE_ID]
    for rule in driver["rules"]:
        assert rule["help"]["text"]
        assert rule["shortDescription"]["text"]
    results = run["results"]
    got = [(r["ruleId"], r["level"], r["kind"]) for r in results]
    assert got == _expected_levels(report, include_passing)
    fingerprints = [r["partialFingerprints"]["intotoPolicyResult/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)
    for result in results:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        (loc,) = result["locations"]
        assert loc["physicalLocation"]["region"]["startLine"] >= 1
    assert run["properties"]["verdict"] == report.verdict


def test_sarif_result_carries_expected_actual_location_and_step() -> None:
    log = json.loads(render_sarif(_failing(CheckKind.ATTRIBUTE_RULE)))
    (result,) = log["runs"][0]["results"]
    text = result["message"]["text"]
    assert text.startswith("rule is false")
    assert "Expected: true" in text
    assert 'Actual: {"predicate.runDetails.builder.id": "https://evil.example/builder"}' in text
    assert "Rule: predicate.runDetails.builder.id == 'https://ci.example/builder'" in text
    phys = result["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"] == {"uri": LAYOUT, "uriBaseId": "%SRCROOT%"}
    assert phys["region"] == {"startLine": 23}
    assert result["locations"][0]["logicalLocations"][0]["name"] == "build"
    assert result["properties"]["actual"] == FAILURES[CheckKind.ATTRIBUTE_RULE].actual


@pytest.mark.parametrize(
    ("check_loc", "step_line", "want_line"),
    [
        (Location(LAYOUT, 23, "/x"), 10, 23),
        (None, 10, 10),
        (Location(LAYOUT, None, "/x"), 10, 1),
    ],
    ids=["check-line", "step-line", "no-line"],
)
def test_sarif_line_falls_back(check_loc: Location | None, step_line: int, want_line: int) -> None:
    check = Check(CheckKind.FRESHNESS, Status.FAIL, "stale", step="build", location=check_loc)
    log = json.loads(render_sarif(_report(_step("build", check, line=step_line))))
    (result,) = log["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == want_line


@pytest.mark.parametrize(
    ("source", "uri", "base"),
    [
        ("layouts/release.yml", "layouts/release.yml", "%SRCROOT%"),
        ("./layout.json", "layout.json", "%SRCROOT%"),
        ("dir with space/l.yml", "dir%20with%20space/l.yml", "%SRCROOT%"),
        ("/abs/path/l.yml", "file:///abs/path/l.yml", None),
        ("C:\\work\\l.yml", "file:///C:/work/l.yml", None),
        ("https://example.com/l.yml", "https://example.com/l.yml", None),
    ],
    ids=["relative", "dot-relative", "space", "absolute", "windows", "url"],
)
def test_sarif_uris(
    source: str, uri: str, base: str | None, sarif_validator: jsonschema.Draft4Validator
) -> None:
    check = Check(CheckKind.LAYOUT, Status.FAIL, "bad", location=Location(source, 2, ""))
    report = replace(_report(checks=(check,)), layout=LayoutInfo(source=source))
    log = json.loads(render_sarif(report))
    sarif_validator.validate(log)
    loc = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc.get("uri") == uri
    assert loc.get("uriBaseId") == base


def test_sarif_category_and_fingerprint_stability() -> None:
    first = json.loads(render_sarif(_failing(CheckKind.ARTIFACT_RULE), category="release"))
    assert first["runs"][0]["automationDetails"] == {"id": "release/"}
    # A message that changes (different actual values) keeps the same fingerprint.
    changed = replace(FAILURES[CheckKind.ARTIFACT_RULE], message="other words", actual=["x"])
    second = json.loads(render_sarif(_report(_step("build", _threshold("build", 1, 1), changed))))
    fp = [
        r["partialFingerprints"]
        for r in (first["runs"][0]["results"][0], second["runs"][0]["results"][0])
    ]
    assert fp[0] == fp[1]


# ---------------------------------------------------------------------------
# JUnit


@pytest.mark.parametrize("name", NAMES)
def test_junit_parses_and_counts(name: str) -> None:
    report = CASES[name]()
    root = ET.fromstring(render_junit(report).encode("utf-8"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    names = [s.get("name") for s in suites]
    want_names = (
        [GLOBAL_SUITE]
        if report.checks
        or not report.steps
        or any(r.step not in {s.name for s in report.steps} for r in report.rejected)
        else []
    )
    assert names == want_names + [clean(s.name, keep_newlines=False) for s in report.steps]
    cases = root.findall("testsuite/testcase")
    assert (
        int(root.get("tests", "-1"))
        == len(cases)
        == sum(1 for _ in report.all_checks()) + len(report.rejected)
    )
    failures = root.findall("testsuite/testcase/failure")
    assert int(root.get("failures", "-1")) == len(failures) == len(report.failures)
    assert [f.get("type") for f in failures] == [c.kind.value for c in report.failures]
    assert (
        int(root.get("skipped", "-1"))
        == len(root.findall("testsuite/testcase/skipped"))
        == len(report.rejected)
    )
    outs = root.findall("testsuite/testcase/system-out")
    assert len(outs) == sum(
        1 for c in report.all_checks() if c.status in (Status.WARN, Status.INFO)
    )
    for suite in suites:
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase"))
        case_names = [c.get("name") for c in suite.findall("testcase")]
        assert len(set(case_names)) == len(case_names)


def test_junit_failure_reason_has_expected_and_actual() -> None:
    root = ET.fromstring(render_junit(_failing(CheckKind.ARTIFACT_RULE)))
    (failure,) = root.findall(".//failure")
    assert failure.get("message") == "DISALLOW * rejected 2 products"
    assert failure.get("type") == "artifact-rule"
    body = failure.text or ""
    assert "rule: DISALLOW *" in body
    assert 'actual: ["dist/extra.so", "dist/app.tar.gz.bak"]' in body
    assert f"at: {LAYOUT}:17 (/steps/0/expectedProducts/1)" in body


def test_junit_hostile_text_round_trips_escaped() -> None:
    root = ET.fromstring(render_junit(_hostile()).encode("utf-8"))
    failure = root.find(".//failure")
    assert failure is not None
    message = failure.get("message") or ""
    assert "<script>alert(1)</script>" in message
    assert "\\x1b[2J" in message
    assert "\n" not in message
    assert "ünïcødé 日本 🚀" in (failure.text or "")


# ---------------------------------------------------------------------------
# Markdown


def _cells(row: str) -> list[str]:
    # Split a table row on pipes that are not backslash-escaped.
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


@pytest.mark.parametrize("name", NAMES)
def test_markdown_structure(name: str) -> None:
    report = CASES[name]()
    out = render_markdown(report)
    first = out.splitlines()[0]
    assert first.startswith(
        "### ✅ intoto-policy: PASS" if report.passed else "### ❌ intoto-policy: FAIL"
    )
    rows = [line for line in out.splitlines() if line.startswith("|")]
    for row in rows:
        assert len(_cells(row)) in (6, 4, 3), row
    step_rows = [
        r
        for r in rows
        if len(_cells(r)) == 6 and r.startswith("| ") and ("pass |" in r or "fail |" in r)
    ]
    assert len(step_rows) == len(report.steps)
    assert ("#### Failures" in out) == bool(report.failures)
    assert ("no subject bound" in out) == (not report.subjects)
    assert "<script" not in out


def test_markdown_escapes_table_breaking_text() -> None:
    out = render_markdown(_hostile())
    assert "&lt;script&gt;" in out
    assert "\\*bold\\*" in out
    assert "\\`tick\\`" in out
    assert "\\[x\\]" in out
    assert "\\$x\\$" in out
    assert "<br>line2" in out


def test_markdown_cuts_long_tables() -> None:
    out = render_markdown(_many_failures(), max_rows=5)
    assert "… and 65 more" in out
    assert "rule 4 failed" in out
    assert "rule 5 failed" not in out


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("a|b", "a\\|b"),
        ("<b>&", "&lt;b&gt;&amp;"),
        ("x\ny", "x<br>y"),
        ("_*`~", "\\_\\*\\`\\~"),
        ("back\\slash", "back\\\\slash"),
    ],
    ids=["pipe", "html", "newline", "emphasis", "backslash"],
)
def test_escape_markdown(text: str, want: str) -> None:
    assert escape_markdown(text) == want


# ---------------------------------------------------------------------------
# VSA


@pytest.fixture(scope="module")
def vsa_key() -> PrivateKey:
    return PrivateKey.from_crypto(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def _vsa(report: Report, key: PrivateKey, **kw: Any) -> tuple[Envelope, Statement]:
    envelope = Envelope.from_json(render_vsa(report, key=key, **kw).encode("utf-8"))
    assert envelope.payload_type == INTOTO_PAYLOAD_TYPE
    assert envelope.verify([key.public_key])
    return envelope, envelope.statement()


@pytest.mark.parametrize("name", [n for n in NAMES if CASES[n]().subjects])
def test_vsa_verifies_and_describes_the_report(name: str, vsa_key: PrivateKey) -> None:
    report = CASES[name]()
    _, statement = _vsa(report, vsa_key, verified_levels=["SLSA_BUILD_LEVEL_3"], version="1.2.3")
    assert statement.predicate_type == VSA_PREDICATE_TYPE
    assert [s.digest for s in statement.subject] == list(report.subjects)
    pred = statement.plain_predicate
    assert pred["verifier"] == {"id": DEFAULT_VERIFIER_ID, "version": {"intoto-policy": "1.2.3"}}
    assert pred["timeVerified"] == "2024-05-01T12:00:00Z"
    assert pred["verificationResult"] == ("PASSED" if report.passed else "FAILED")
    assert pred["verifiedLevels"] == (["SLSA_BUILD_LEVEL_3"] if report.passed else ["FAILED"])
    assert pred["policy"] == {"uri": LAYOUT, "digest": {"sha256": "b" * 64}}
    want_inputs = list(dict.fromkeys(a.digest for s in report.steps for a in s.attestations))
    assert [i["digest"]["sha256"] for i in pred["inputAttestations"]] == want_inputs
    assert pred["resourceUri"] == resource_uri_for(report.subjects[0])


def test_vsa_options_and_tamper(vsa_key: PrivateKey) -> None:
    envelope, statement = _vsa(
        _passing(),
        vsa_key,
        verifier_id="https://ci.example/verifier",
        resource_uri="pkg:oci/app@sha256:" + "c" * 64,
        policy_uri="https://example.com/layout.yml",
    )
    pred = statement.plain_predicate
    assert pred["verifier"]["id"] == "https://ci.example/verifier"
    assert pred["resourceUri"] == "pkg:oci/app@sha256:" + "c" * 64
    assert pred["policy"]["uri"] == "https://example.com/layout.yml"
    assert pred["verifiedLevels"] == []
    tampered = replace(envelope, payload=envelope.payload.replace(b"PASSED", b"FAILED"))
    assert not tampered.verify([vsa_key.public_key])


@pytest.mark.parametrize(
    ("report", "options", "match"),
    [
        (_no_subject(), {}, "needs a subject"),
        (
            _passing(),
            {"verified_levels": ["SLSA_BUILD_LEVEL_2", "SLSA_BUILD_LEVEL_3"]},
            "track BUILD twice",
        ),
        (_passing(), {"verified_levels": ["SLSA_BUILD_L3"]}, "SLSA_<TRACK>_LEVEL_<N>"),
        (_passing(), {"verified_levels": ["FAILED"]}, "FAILED"),
        (_passing(), {"verifier_id": ""}, "verifier id"),
        (
            _report(_step("build", atts=(AttestationRef("x.json", signers=(_signer(1),)),))),
            {},
            "no digest",
        ),
        (_report(_step("b"), subjects=({"sha1": "a" * 40},)), {}, "resource URI"),
    ],
    ids=[
        "no-subject",
        "two-levels-one-track",
        "malformed-level",
        "declared-failed",
        "empty-verifier",
        "input-without-digest",
        "no-nameable-digest",
    ],
)
def test_vsa_usage_errors(
    report: Report, options: dict[str, Any], match: str, vsa_key: PrivateKey
) -> None:
    with pytest.raises(UsageError, match=re.escape(match)):
        render_vsa(report, key=vsa_key, **options)


def test_vsa_custom_levels_and_other_tracks_are_kept(vsa_key: PrivateKey) -> None:
    levels = ["SLSA_BUILD_LEVEL_3", "SLSA_SOURCE_LEVEL_2", "ACME_REVIEWED"]
    assert (
        vsa_statement(_passing(), verified_levels=levels)["predicate"]["verifiedLevels"] == levels
    )


@pytest.mark.parametrize(
    ("digests", "want"),
    [
        (
            {"sha256": "00" * 32},
            "ni:///sha-256;" + base64.urlsafe_b64encode(bytes(32)).decode().rstrip("="),
        ),
        (
            {"sha512": "ff" * 64, "md5": "0" * 32},
            "ni:///sha-512;" + base64.urlsafe_b64encode(b"\xff" * 64).decode().rstrip("="),
        ),
    ],
    ids=["sha256", "sha512"],
)
def test_resource_uri_for(digests: dict[str, str], want: str) -> None:
    assert resource_uri_for(digests) == want


# ---------------------------------------------------------------------------
# Reports from the real verifier


def _verified(tmp: Path, *, tamper: bool) -> Report:
    import intoto_policy

    if not hasattr(intoto_policy, "verify"):
        pytest.skip("intoto_policy.verify does not exist yet")
    key = PrivateKey.from_crypto(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)))
    artifact = tmp / "app.tar.gz"
    artifact.write_bytes(b"bits\n")
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app.tar.gz", "digest": {"sha256": digest}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"runDetails": {"builder": {"id": "https://ci.example/b"}}},
    }
    envelope = Envelope.sign(json.dumps(statement).encode(), INTOTO_PAYLOAD_TYPE, [key])
    (tmp / "build.intoto.jsonl").write_text(json.dumps(envelope.to_dict()) + "\n")
    layout = {
        "expires": "2099-01-01T00:00:00Z",
        "functionaries": {key.keyid: key.public_key.to_dict(camel=True)},
        "subjectSteps": ["build"],
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [
                    {
                        "predicateType": "https://slsa.dev/provenance/v1",
                        "functionaries": [key.keyid],
                        "expectedAttributes": [
                            {"rule": "predicate.runDetails.builder.id == 'https://ci.example/b'"}
                        ],
                    }
                ],
            }
        ],
    }
    (tmp / "layout.json").write_text(json.dumps(layout, indent=2))
    if tamper:
        artifact.write_bytes(b"other bits\n")
    report: Report = intoto_policy.verify(
        tmp / "layout.json",
        [tmp / "build.intoto.jsonl"],
        at=AT,
        subject={"sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()},
        allow_unsigned=True,
    )
    return report


@pytest.mark.parametrize("tamper", [False, True], ids=["pass", "tampered"])
def test_real_reports_render_valid_documents(
    tamper: bool,
    tmp_path: Path,
    report_validator: jsonschema.Draft202012Validator,
    sarif_validator: jsonschema.Draft4Validator,
) -> None:
    report = _verified(tmp_path, tamper=tamper)
    assert bool(report) is not tamper
    report_validator.validate(json.loads(render_json(report)))
    sarif_validator.validate(json.loads(render_sarif(report, include_passing=True)))
    junit = ET.fromstring(render_junit(report))
    assert int(junit.get("failures", "-1")) == len(report.failures)
    assert render_text(report).startswith("FAIL" if tamper else "PASS")
    assert render_markdown(report).startswith("### ❌" if tamper else "### ✅")


# ---------------------------------------------------------------------------
# Progress


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty
        self.writes = 0

    def isatty(self) -> bool:
        return self.tty

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)


@pytest.mark.parametrize(
    ("tty", "total", "enabled", "draws"),
    [
        (False, 10, None, False),
        (True, 10, None, True),
        (True, 10, False, False),
        (False, 10, True, True),
        (True, 0, None, False),
    ],
    ids=["not-a-tty", "tty", "tty-disabled", "forced-on", "nothing-to-do"],
)
def test_progress_draws_only_on_a_tty(
    tty: bool, total: int, enabled: bool | None, draws: bool
) -> None:
    stream = _Stream(tty)
    with Progress(total, "verifying", stream, enabled=enabled) as progress:
        for _ in range(total):
            progress.advance()
    text = stream.getvalue()
    if draws:
        assert "verifying [" in text
        assert "100% (10/10)" in text
        assert text.endswith("\r")  # erased at the end
        assert text.rsplit("\r", 2)[-2].strip() == ""
    else:
        assert text == ""


def test_progress_redraws_only_on_change_and_clamps() -> None:
    stream = _Stream(tty=True)
    progress = Progress(10_000, "x", stream)
    for _ in range(10_050):
        progress.advance()
    assert progress.done == 10_000
    assert stream.writes <= 101
    progress.close()
    progress.close()
    progress.advance()
    assert stream.writes <= 102


def test_progress_callback_and_line() -> None:
    progress = Progress(4, "lbl\x1b", _Stream(tty=False))
    progress(3)
    assert progress.line() == "lbl [##################------]  75% (3/4)"
    assert not progress.enabled


def test_progress_survives_a_closed_stream() -> None:
    stream = _Stream(tty=True)
    progress = Progress(3, "x", stream)
    stream.close()
    progress.advance()
    assert not progress.enabled


# (text, what dump_json must write for it): hidden and control characters are
# escaped, visible non-ASCII stays readable; parsing gives back the text.
DUMP_CASES = [
    pytest.param("k\x9b31m", '"k\\u009b31m"', id="c1-csi"),
    pytest.param("a\x7fb", '"a\\u007fb"', id="del"),
    pytest.param("gnp\u202eexe", '"gnp\\u202eexe"', id="bidi-override"),
    pytest.param("a\u200bb", '"a\\u200bb"', id="zero-width-space-cf"),
    pytest.param("\ufeffx", '"\\ufeffx"', id="bom-cf"),
    pytest.param("soft\u00adhyphen", '"soft\\u00adhyphen"', id="soft-hyphen-cf"),
    pytest.param("tag\U000e0041", '"tag\\udb40\\udc41"', id="non-bmp-tag-cf-surrogate-pair"),
    pytest.param("p\ue000", '"p\\ue000"', id="private-use"),
    pytest.param("x\u2028y", '"x\\u2028y"', id="line-separator"),
    pytest.param("\uffff", '"\\uffff"', id="non-character"),
    pytest.param("ünï 日本 🚀", '"ünï 日本 🚀"', id="visible-unicode-kept"),
    pytest.param("plain", '"plain"', id="ascii"),
]


@pytest.mark.parametrize(("text", "written"), DUMP_CASES)
def test_dump_json_escapes_hidden_characters(text: str, written: str) -> None:
    from intoto_policy.report._common import dump_json

    out = dump_json({"k": text}, indent=None)
    assert out == '{"k":' + written + "}"
    assert json.loads(out) == {"k": text}
