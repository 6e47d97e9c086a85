"""Verified signing times: shown in every report format, and the basis of maxAge.

Real corpus bundles (INDEX.md items 04 and 14) carry the two kinds of
verified time: item 04 a Rekor v1 integrated time (PROD root), item 14 an
RFC 3161 timestamp and no integrated time (STAGING root, Rekor v2). Each
is verified through the CLI and rendered in every format; each format must
name the time and what vouches for it. maxAge is then measured from that
time, at, before and after its boundary.
"""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from intoto_policy import SigningTime, SigningTimeSource, verify
from intoto_policy.cli._main import main
from intoto_policy.crypto._keyless import load_trusted_root
from intoto_policy.crypto._keys import generate_private_key
from intoto_policy.model._attestations import parse_attestations
from intoto_policy.model._statement import Statement
from intoto_policy.policy._layout import Layout
from intoto_policy.report._model import AttestationRef, CheckKind, Status
from intoto_policy.verifier._claims import freshness
from intoto_policy.verifier._context import Authentic, Candidate, Context
from intoto_policy.verifier._match import _window_problem

pytest.importorskip("sigstore")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "real-world"
ITEMS = CORPUS / "items"
TRUST = CORPUS / "trust"
SARIF_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
REPORT_SCHEMA = ROOT / "schemas" / "report.schema.json"
pytestmark = pytest.mark.skipif(not ITEMS.is_dir(), reason="shared corpus not present")

GHA = "https://token.actions.githubusercontent.com"


@dataclass(frozen=True)
class Case:
    """A real bundle, its root, its signer and its verified signing time."""

    rel: str
    root: Path
    identity_regex: str
    predicate_type: str
    subject: str
    signed: datetime
    source: SigningTimeSource


CASES = {
    "04-integrated-time": Case(
        "04-slsaverifier-bundle-valid-v0.3/valid-v0.3.intoto.sigstore",
        TRUST / "sigstore-prod.trusted_root.sigstore-python-4.5.1.json",
        r"https://github\.com/slsa-framework/slsa-github-generator/\.github/workflows/"
        r"generator_generic_slsa3\.yml@refs/heads/main",
        "https://slsa.dev/provenance/v0.2",
        "2892146b063a94cb4a4318c0e98d38af12dcf2b1e29237486b58463b59607bbd",
        datetime(2024, 10, 25, 3, 12, 16, tzinfo=UTC),
        SigningTimeSource.TRANSPARENCY_LOG,
    ),
    "14-tsa-timestamp": Case(
        "14-sigstorepython-dsse-staging-rekor-v2/a.dsse.staging-rekor-v2.txt.sigstore.json",
        TRUST / "sigstore-staging.trusted_root.sigstore-python-4.5.1.json",
        r"https://github\.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
        r"\.github/workflows/extremely-dangerous-oidc-beacon\.yml@refs/heads/main",
        "https://slsa.dev/provenance/v1",
        "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf",
        datetime(2026, 5, 13, 19, 23, 33, tzinfo=UTC),
        SigningTimeSource.TIMESTAMP_AUTHORITY,
    ),
}
CASE_IDS = list(CASES)


def _stamp(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _layout(
    tmp_path: Path, case: Case, *, max_age: str | None = None, identity: str | None = None
) -> Path:
    pred: dict[str, Any] = {"predicateType": case.predicate_type, "functionaries": ["builder"]}
    if max_age is not None:
        pred["maxAge"] = max_age
    layout = {
        "expires": "2100-01-01T00:00:00Z",
        "functionaries": {
            "builder": {
                "type": "sigstore",
                "identityRegex": identity or case.identity_regex,
                "issuer": GHA,
            }
        },
        "steps": [{"name": "build", "expectedPredicates": [pred]}],
    }
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(layout))
    return path


def _cli(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: Case,
    fmt: str,
    *,
    at: datetime,
    max_age: str | None = None,
    identity: str | None = None,
) -> tuple[int, str]:
    argv = [
        "verify",
        str(_layout(tmp_path, case, max_age=max_age, identity=identity)),
        "--unsigned-layout",
        "--trusted-root",
        str(case.root),
        "--attestations",
        str(ITEMS / case.rel),
        "--at",
        _stamp(at),
        "--subject-digest",
        f"sha256:{case.subject}",
        "--format",
        fmt,
    ]
    if fmt == "vsa":
        key = tmp_path / "vsa.key"
        key.write_bytes(generate_private_key("ed25519").private_pem())
        argv += ["--vsa-key", str(key)]
    code = main(argv)
    return code, capsys.readouterr().out


AT = timedelta(days=1)  # verify a day after signing


def _expected(case: Case) -> dict[str, str]:
    return {"time": _stamp(case.signed), "source": case.source.value}


# -- the model -----------------------------------------------------------------


@pytest.mark.parametrize("name", CASE_IDS)
def test_report_model_records_signing_time_and_source(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    report = verify(
        _layout(tmp_path, case),
        [ITEMS / case.rel],
        at=case.signed + AT,
        allow_unsigned=True,
        trusted_root=load_trusted_root(case.root.read_bytes(), source=case.root.name),
        subject={"sha256": case.subject},
    )
    assert report.passed, report.failures
    (att,) = report.steps[0].attestations
    assert att.signing_times == (SigningTime(case.signed, case.source),)


def test_key_signed_attestation_has_no_signing_time() -> None:
    assert "signingTimes" not in AttestationRef(source="a.json").to_dict()


# -- every format ----------------------------------------------------------------


def _json(out: str, case: Case) -> None:
    doc = json.loads(out)
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)
    (att,) = doc["steps"][0]["attestations"]
    assert att["signingTimes"] == [_expected(case)]


def _text(out: str, case: Case) -> None:
    lines = out.splitlines()
    at = lines.index("  attestations that counted (1):")
    assert f"      signed at {_stamp(case.signed)} ({case.source.value})" in lines[at:], out


def _markdown(out: str, case: Case) -> None:
    row = f"| yes | {_stamp(case.signed)} | {case.source.value} |"
    assert "<summary>Signing times (1)</summary>" in out
    assert any(line.endswith(row) and "build" in line for line in out.splitlines()), out


def _sarif(out: str, case: Case) -> None:
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SARIF_SCHEMA}")
    doc = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))).validate(doc)
    (att,) = doc["runs"][0]["properties"]["attestations"]
    assert att["step"] == "build"
    assert att["signingTimes"] == [_expected(case)]


def _junit(out: str, case: Case) -> None:
    root = ET.fromstring(out.encode("utf-8"))
    suite = root.find("testsuite[@name='build']")
    assert suite is not None
    assert suite[0].tag == "properties"  # first child, as the JUnit schema wants
    (prop,) = suite.findall("properties/property")
    assert prop.get("name") == f"signed-at {ITEMS / case.rel}"
    assert prop.get("value") == f"{_stamp(case.signed)} ({case.source.value})"


def _vsa(out: str, case: Case) -> None:
    envelope = json.loads(out)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    Statement.from_dict(statement)  # still a valid statement
    (entry,) = statement["predicate"]["inputAttestations"]
    assert entry["annotations"] == {"signingTimes": [_expected(case)]}


_FORMATS = {
    "json": _json,
    "text": _text,
    "markdown": _markdown,
    "sarif": _sarif,
    "junit": _junit,
    "vsa": _vsa,
}


@pytest.mark.parametrize(
    ("name", "fmt"),
    [pytest.param(n, f, id=f"{n}-{f}") for n in CASE_IDS for f in _FORMATS],
)
def test_signing_time_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, fmt: str
) -> None:
    case = CASES[name]
    code, out = _cli(tmp_path, capsys, case, fmt, at=case.signed + AT)
    assert code == 0, out
    _FORMATS[fmt](out, case)


# An attestation that did not count still says when it was signed.
_REJECTED_MARKS = {
    "json": lambda doc, t: (
        json.loads(doc)["rejected"][0]["attestation"]["signingTimes"] == [t.to_dict()]
    ),
    "text": lambda doc, t: f"      signed at {t.text}" in doc.splitlines(),
    "markdown": lambda doc, t: f"| no | {t.to_dict()['time']} | {t.source.value} |" in doc,
    "sarif": lambda doc, t: (
        json.loads(doc)["runs"][0]["results"][-1]["properties"]["attestation"]["signingTimes"]
        == [t.to_dict()]
        and f"Signed at: {t.text}" in json.loads(doc)["runs"][0]["results"][-1]["message"]["text"]
    ),
    "junit": lambda doc, t: (
        f"signed at: {t.text}"
        in "".join(e.text or "" for e in ET.fromstring(doc.encode()).iter("skipped"))
    ),
}


@pytest.mark.parametrize(
    ("name", "fmt"),
    [pytest.param(n, f, id=f"{n}-{f}") for n in CASE_IDS for f in _REJECTED_MARKS],
)
def test_rejected_keyless_attestation_shows_signing_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, fmt: str
) -> None:
    case = CASES[name]
    code, out = _cli(
        tmp_path, capsys, case, fmt, at=case.signed + AT, identity="https://nobody\\.example/.+"
    )
    assert code == 1, out
    assert _REJECTED_MARKS[fmt](out, SigningTime(case.signed, case.source)), out


# -- maxAge measured from the verified signing time -----------------------------------

_AGES = [
    # (id, maxAge, verification time - signing time, exit code)
    ("fresh", "P1D", timedelta(hours=1), 0),
    ("boundary-exactly-maxAge", "P1D", timedelta(days=1), 0),
    ("stale-one-second-past", "P1D", timedelta(days=1, seconds=1), 1),
    ("stale-long-past", "PT1H", timedelta(days=30), 1),
    ("at-equals-signing-time", "PT1S", timedelta(0), 0),
]


@pytest.mark.parametrize(
    ("name", "max_age", "offset", "code"),
    [pytest.param(n, m, o, c, id=f"{n}-{i}") for n in CASE_IDS for i, m, o, c in _AGES],
)
def test_max_age_is_measured_from_signing_time(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    max_age: str,
    offset: timedelta,
    code: int,
) -> None:
    case = CASES[name]
    got, out = _cli(tmp_path, capsys, case, "json", at=case.signed + offset, max_age=max_age)
    report = json.loads(out)
    assert got == code, report
    (fresh,) = [c for c in report["steps"][0]["checks"] if c["kind"] == "freshness"]
    # The predicates of both bundles claim no time: only the signing time
    # can date them (before, maxAge failed them as undatable).
    assert fresh["actual"] == _stamp(case.signed)
    assert fresh["details"] == {"basis": case.source.value}
    assert fresh["status"] == ("pass" if code == 0 else "fail")
    assert case.source.value in fresh["message"]
    if code:
        assert "is stale" in fresh["message"]
        assert report["rejected"][0]["reason"] == "stale"


# -- whose time: signing time vs the predicate's claim -------------------------------

_SIGNED = datetime(2026, 1, 10, tzinfo=UTC)
_AT_NOW = datetime(2026, 1, 20, tzinfo=UTC)
_LOG = SigningTimeSource.TRANSPARENCY_LOG
_TSA = SigningTimeSource.TIMESTAMP_AUTHORITY


def _slsa_v1(claimed: datetime | None) -> Statement:
    metadata = {} if claimed is None else {"finishedOn": _stamp(claimed)}
    return Statement.from_dict(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "a", "digest": {"sha256": "ab" * 32}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {
                "buildDefinition": {"buildType": "https://example/t", "externalParameters": {}},
                "runDetails": {"builder": {"id": "https://example/b"}, "metadata": metadata},
            },
        }
    )


_CLAIMS = [
    # (id, verified signing times, predicate claim, expected status, basis)
    ("claim-fresh-signing-stale", ((_SIGNED, _LOG),), _AT_NOW, Status.FAIL, "transparency-log"),
    ("claim-fresh-tsa-stale", ((_SIGNED, _TSA),), _AT_NOW, Status.FAIL, "timestamp-authority"),
    ("claim-stale-signing-fresh", ((_AT_NOW, _LOG),), _SIGNED, Status.FAIL, "predicate"),
    ("claim-and-signing-fresh", ((_AT_NOW, _LOG),), _AT_NOW, Status.PASS, "transparency-log"),
    (
        "claim-after-at-signing-fresh",
        ((_AT_NOW, _LOG),),
        _AT_NOW + timedelta(days=9),
        Status.PASS,
        "transparency-log",
    ),
    ("no-claim-signing-fresh", ((_AT_NOW, _TSA),), None, Status.PASS, "timestamp-authority"),
    (
        "oldest-of-two-signing-times",
        ((_AT_NOW, _LOG), (_SIGNED, _TSA)),
        None,
        Status.FAIL,
        "timestamp-authority",
    ),
    ("key-signed-claim-fresh", (), _AT_NOW, Status.PASS, "predicate"),
    ("key-signed-claim-stale", (), _SIGNED, Status.FAIL, "predicate"),
    ("key-signed-claim-after-at", (), _AT_NOW + timedelta(days=1), Status.FAIL, "predicate"),
    ("key-signed-no-claim", (), None, Status.FAIL, None),
]


@pytest.mark.parametrize(
    ("times", "claimed", "status", "basis"),
    [pytest.param(t, c, s, b, id=i) for i, t, c, s, b in _CLAIMS],
)
def test_max_age_basis(
    times: tuple[tuple[datetime, SigningTimeSource], ...],
    claimed: datetime | None,
    status: Status,
    basis: str | None,
) -> None:
    layout = Layout.from_dict(
        {
            "expires": "2100-01-01T00:00:00Z",
            "functionaries": {"k": {"type": "sigstore", "identity": "x", "issuer": "y"}},
            "steps": [
                {
                    "name": "build",
                    "expectedPredicates": [
                        {
                            "predicateType": "https://slsa.dev/provenance/v1",
                            "functionaries": ["k"],
                            "maxAge": "P1D",
                        }
                    ],
                }
            ],
        }
    )
    statement = _slsa_v1(claimed)
    raw = json.dumps({"payloadType": "x", "payload": "", "signatures": []}).encode()
    (att,) = parse_attestations(raw, source="a.json")
    signing = tuple(SigningTime(t, s) for t, s in times)
    auth = Authentic(att, statement, {}, signing, AttestationRef(source="a.json"))
    ctx = Context.create(layout, [att], subjects=(), at=_AT_NOW, trusted_root=None)
    step = layout.steps[0]
    check = freshness(ctx, step, step.expected_predicates[0], Candidate(auth, {}))
    assert check is not None
    assert check.kind is CheckKind.FRESHNESS
    assert check.status is status, check.message
    assert dict(check.details).get("basis") == basis


# -- validity windows: every verified signing time must be inside ----------------------

_WINDOWS = [
    # (id, verified signing times, problem expected in the message or None)
    ("log-inside", ((_SIGNED, _LOG),), None),
    ("log-after-notAfter", ((_AT_NOW, _LOG),), "signing time (transparency-log)"),
    (
        "tsa-after-notAfter",
        ((_SIGNED, _LOG), (_AT_NOW, _TSA)),
        "signing time (timestamp-authority)",
    ),
    ("tsa-before-notBefore", ((_SIGNED - timedelta(days=30), _TSA),), "before the functionary's"),
]


@pytest.mark.parametrize(("times", "problem"), [pytest.param(t, p, id=i) for i, t, p in _WINDOWS])
def test_validity_window_checks_every_signing_time(
    times: tuple[tuple[datetime, SigningTimeSource], ...], problem: str | None
) -> None:
    layout = Layout.from_dict(
        {
            "expires": "2100-01-01T00:00:00Z",
            "functionaries": {
                "k": {
                    "type": "sigstore",
                    "identity": "x",
                    "issuer": "y",
                    "notBefore": _stamp(_SIGNED - timedelta(days=1)),
                    "notAfter": _stamp(_SIGNED + timedelta(days=1)),
                }
            },
            "steps": [
                {
                    "name": "build",
                    "expectedPredicates": [
                        {"predicateType": "https://slsa.dev/provenance/v1", "functionaries": ["k"]}
                    ],
                }
            ],
        }
    )
    raw = json.dumps({"payloadType": "x", "payload": "", "signatures": []}).encode()
    (att,) = parse_attestations(raw, source="a.json")
    signing = tuple(SigningTime(t, s) for t, s in times)
    auth = Authentic(att, _slsa_v1(None), {}, signing, AttestationRef(source="a.json"))
    ctx = Context.create(layout, [att], subjects=(), at=_AT_NOW, trusted_root=None)
    got = _window_problem(ctx, layout.functionaries["k"], auth)
    if problem is None:
        assert got is None
    else:
        assert got is not None
        assert problem in got
