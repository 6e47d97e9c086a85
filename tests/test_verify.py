"""The attestation verifier: named cases for every verdict and reason."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from intoto_policy import (
    Attestation,
    CheckKind,
    DigestSet,
    Envelope,
    Layout,
    PrivateKey,
    RejectReason,
    Status,
    ValidationError,
    generate_private_key,
    verify_attestations,
)

AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PROV = "https://slsa.dev/provenance/v1"
LINK = "https://in-toto.io/attestation/link/v0.3"
VULNS = "https://in-toto.io/attestation/vulns/v0.2"
TEST = "https://in-toto.io/attestation/test-result/v0.1"
BUILDER = "https://builder.example/v1"

KEYS: dict[str, PrivateKey] = {
    name: generate_private_key("ed25519")
    for name in ("builder", "scanner", "alice", "bob", "carol", "mallory")
}
KEYS["ecdsa"] = generate_private_key("ecdsa")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


APP = sha("app-binary")
SRC = sha("source")


def functionary(name: str, **extra: Any) -> dict[str, Any]:
    key = KEYS[name].public_key
    return {**key.to_dict(camel=True), **extra}


def statement(
    ptype: str, predicate: dict[str, Any], subjects: dict[str, str] | None = None
) -> dict[str, Any]:
    subjects = subjects if subjects is not None else {"app": APP}
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": n, "digest": {"sha256": d}} for n, d in subjects.items()],
        "predicateType": ptype,
        "predicate": predicate,
    }


def signed(
    doc: dict[str, Any] | bytes,
    *signers: str,
    source: str = "att.json",
    payload_type: str = "application/vnd.in-toto+json",
) -> Attestation:
    payload = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    env = Envelope.sign(payload, payload_type, [KEYS[s] for s in signers])
    raw = json.dumps(env.to_dict()).encode()
    return Attestation(source=source, digest=hashlib.sha256(raw).hexdigest(), envelope=env)


def provenance(
    builder: str = BUILDER,
    *,
    finished: str = "2026-06-01T10:00:00Z",
    source_digest: str = SRC,
    subjects: dict[str, str] | None = None,
) -> dict[str, Any]:
    return statement(
        PROV,
        {
            "buildDefinition": {
                "buildType": "https://example/build/v1",
                "resolvedDependencies": [{"name": "src", "digest": {"sha256": source_digest}}],
            },
            "runDetails": {"builder": {"id": builder}, "metadata": {"finishedOn": finished}},
        },
        subjects,
    )


def link(name: str, materials: dict[str, str], products: dict[str, str]) -> dict[str, Any]:
    return statement(
        LINK,
        {
            "name": name,
            "command": ["make"],
            "materials": [{"name": n, "digest": {"sha256": d}} for n, d in materials.items()],
        },
        products,
    )


def scan(critical: int = 0, *, finished: str = "2026-05-30T00:00:00Z") -> dict[str, Any]:
    results = [
        {"id": f"CVE-{i}", "severity": [{"method": "nvd", "score": "CRITICAL"}]}
        for i in range(critical)
    ]
    return statement(
        VULNS,
        {
            "scanner": {"uri": "https://scanner.example", "result": results},
            "metadata": {"scanStartedOn": "2026-05-29T23:00:00Z", "scanFinishedOn": finished},
        },
    )


def layout_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {
            KEYS["builder"].keyid: functionary("builder"),
            KEYS["scanner"].keyid: functionary("scanner"),
        },
        "subjectSteps": ["build"],
        "steps": [
            {
                "name": "build",
                "expectedMaterials": ["ALLOW src", "DISALLOW *"],
                "expectedProducts": ["CREATE app", "DISALLOW *"],
                "expectedPredicates": [
                    {
                        "predicateType": PROV,
                        "functionaries": [KEYS["builder"].keyid],
                        "expectedAttributes": [
                            {"rule": f"predicate.runDetails.builder.id == '{BUILDER}'"}
                        ],
                    }
                ],
            },
            {
                "name": "scan",
                "expectedMaterials": ["MATCH app WITH PRODUCTS FROM build", "DISALLOW *"],
                "expectedPredicates": [
                    {
                        "predicateType": VULNS,
                        "functionaries": [KEYS["scanner"].keyid],
                        "maxAge": "P7D",
                        "expectedAttributes": [
                            {
                                "rule": "predicate.scanner.result.all(r, r.severity.all(s, s.score != 'CRITICAL'))"
                            }
                        ],
                    }
                ],
            },
        ],
    }
    doc.update(overrides)
    return doc


def good_attestations() -> list[Attestation]:
    return [
        signed(provenance(), "builder", source="build.json"),
        signed(scan(), "scanner", source="scan.json"),
    ]


@dataclass
class Case:
    name: str
    attestations: Callable[[], list[Attestation]] = good_attestations
    layout: Callable[[dict[str, Any]], dict[str, Any]] = lambda d: d
    subjects: tuple[dict[str, str], ...] = ({"sha256": APP},)
    no_subject: bool = False
    at: datetime = AT
    verdict: str = "fail"
    failing: set[CheckKind] = field(default_factory=set)
    reasons: set[RejectReason] = field(default_factory=set)
    warnings: int = 0
    # The build attestation is rejected, so the scan step's MATCH ... FROM
    # build has nothing to match and the scan does not count either.
    downstream: bool = False


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return doc

    return apply


def _tamper(att: Attestation) -> Attestation:
    assert att.envelope is not None
    env = att.envelope
    payload = env.payload.replace(APP.encode(), sha("evil").encode())
    return Attestation(
        source=att.source, digest="x", envelope=Envelope(env.payload_type, payload, env.signatures)
    )


CASES = [
    Case("all good", verdict="pass"),
    Case(
        "no subject with explicit opt-out passes and is said",
        subjects=(),
        no_subject=True,
        verdict="pass",
    ),
    Case(
        "forgotten subject on a subjectSteps layout fails",
        subjects=(),
        failing={CheckKind.SUBJECT_BINDING},
    ),
    Case(
        "no subject on a layout without subjectSteps passes and is said",
        layout=lambda d: {k: v for k, v in d.items() if k != "subjectSteps"},
        subjects=(),
        verdict="pass",
    ),
    Case(
        "tampered payload: bad signature",
        downstream=True,
        attestations=lambda: [
            _tamper(signed(provenance(), "builder", source="build.json")),
            signed(scan(), "scanner"),
        ],
        failing={CheckKind.THRESHOLD, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.BAD_SIGNATURE},
    ),
    Case(
        "unknown signer",
        downstream=True,
        attestations=lambda: [signed(provenance(), "mallory"), signed(scan(), "scanner")],
        failing={CheckKind.THRESHOLD, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.UNKNOWN_SIGNER},
    ),
    Case(
        "scanner key signs the build step's predicate",
        downstream=True,
        attestations=lambda: [signed(provenance(), "scanner"), signed(scan(), "scanner")],
        failing={CheckKind.THRESHOLD, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.UNAUTHORIZED},
    ),
    Case(
        "builder key revoked",
        downstream=True,
        layout=lambda d: {**d, "revokedKeys": [KEYS["builder"].keyid]},
        failing={CheckKind.THRESHOLD, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.REVOKED},
    ),
    Case(
        "builder key not yet valid",
        downstream=True,
        layout=_set(["functionaries", KEYS["builder"].keyid, "notBefore"], "2026-07-01T00:00:00Z"),
        failing={CheckKind.THRESHOLD, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.OUTSIDE_VALIDITY},
    ),
    Case(
        "builder key window ended",
        downstream=True,
        layout=_set(["functionaries", KEYS["builder"].keyid, "notAfter"], "2026-05-01T00:00:00Z"),
        failing={CheckKind.THRESHOLD, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.OUTSIDE_VALIDITY},
    ),
    Case(
        "wrong payload type",
        downstream=True,
        attestations=lambda: [
            signed(provenance(), "builder", payload_type="text/plain"),
            signed(scan(), "scanner"),
        ],
        failing={CheckKind.THRESHOLD, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.WRONG_PAYLOAD_TYPE},
    ),
    Case(
        "malformed statement (uppercase digest)",
        downstream=True,
        attestations=lambda: [
            signed(json.dumps(provenance()).replace(APP, APP.upper()).encode(), "builder"),
            signed(scan(), "scanner"),
        ],
        failing={CheckKind.THRESHOLD, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.MALFORMED},
    ),
    Case(
        "unparsable file",
        attestations=lambda: [
            Attestation(source="junk.json", digest="0", problem="not valid JSON"),
            *good_attestations(),
        ],
        verdict="pass",
        reasons={RejectReason.MALFORMED},
    ),
    Case(
        "provenance about another artifact: subject mismatch",
        downstream=True,
        attestations=lambda: [
            signed(provenance(subjects={"app": sha("other")}), "builder"),
            signed(scan(), "scanner"),
        ],
        failing={CheckKind.THRESHOLD, CheckKind.SUBJECT_BINDING, CheckKind.ARTIFACT_RULE},
        reasons={RejectReason.SUBJECT_MISMATCH},
    ),
    Case(
        "stale scan",
        attestations=lambda: [
            signed(provenance(), "builder"),
            signed(scan(finished="2026-05-01T00:00:00Z"), "scanner"),
        ],
        failing={CheckKind.THRESHOLD, CheckKind.FRESHNESS},
        reasons={RejectReason.STALE},
    ),
    Case(
        "scan dated in the future",
        attestations=lambda: [
            signed(provenance(), "builder"),
            signed(scan(finished="2026-06-02T00:00:00Z"), "scanner"),
        ],
        failing={CheckKind.THRESHOLD, CheckKind.FRESHNESS},
        reasons={RejectReason.STALE},
    ),
    Case(
        "scan with a critical finding",
        attestations=lambda: [signed(provenance(), "builder"), signed(scan(critical=1), "scanner")],
        failing={CheckKind.THRESHOLD, CheckKind.ATTRIBUTE_RULE},
        reasons={RejectReason.FAILED_RULES},
    ),
    Case(
        "wrong builder id",
        downstream=True,
        attestations=lambda: [
            signed(provenance("https://evil.example"), "builder"),
            signed(scan(), "scanner"),
        ],
        failing={CheckKind.THRESHOLD, CheckKind.ATTRIBUTE_RULE, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.FAILED_RULES},
    ),
    Case(
        "extra product rejected by DISALLOW",
        attestations=lambda: [
            signed(provenance(subjects={"app": APP, "backdoor": sha("x")}), "builder"),
            signed(scan(), "scanner"),
        ],
        failing={CheckKind.THRESHOLD, CheckKind.ARTIFACT_RULE, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.FAILED_RULES},
    ),
    Case(
        "scan step missing",
        attestations=lambda: [signed(provenance(), "builder")],
        failing={CheckKind.THRESHOLD},
    ),
    Case(
        "layout expired",
        at=datetime(2031, 1, 1, tzinfo=UTC),
        failing={CheckKind.LAYOUT, CheckKind.THRESHOLD, CheckKind.FRESHNESS},
        reasons={RejectReason.STALE},
    ),
    Case(
        "failing rule with warn only warns",
        layout=_set(
            ["steps", 0, "expectedPredicates", 0, "expectedAttributes"],
            [{"rule": "predicate.runDetails.builder.id == 'x'", "warn": True}],
        ),
        verdict="pass",
        warnings=1,
    ),
    Case(
        "missing claim fails without allowIfNoClaim",
        downstream=True,
        layout=_set(
            ["steps", 0, "expectedPredicates", 0, "expectedAttributes"],
            [{"rule": "predicate.nothing.here == 'x'"}],
        ),
        failing={CheckKind.THRESHOLD, CheckKind.ATTRIBUTE_RULE, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.FAILED_RULES},
    ),
    Case(
        "missing claim passes with allowIfNoClaim",
        layout=_set(
            ["steps", 0, "expectedPredicates", 0, "expectedAttributes"],
            [{"rule": "predicate.nothing.here == 'x'", "allowIfNoClaim": True}],
        ),
        verdict="pass",
    ),
    Case(
        "allowIfNoClaim does not excuse a false rule",
        downstream=True,
        layout=_set(
            ["steps", 0, "expectedPredicates", 0, "expectedAttributes"],
            [{"rule": "predicate.runDetails.builder.id == 'x'", "allowIfNoClaim": True}],
        ),
        failing={CheckKind.THRESHOLD, CheckKind.ATTRIBUTE_RULE, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.FAILED_RULES},
    ),
    Case(
        "evaluation error fails closed",
        downstream=True,
        layout=_set(
            ["steps", 0, "expectedPredicates", 0, "expectedAttributes"],
            [{"rule": "1 / (size(subject) - 1) == 1", "allowIfNoClaim": True}],
        ),
        failing={CheckKind.THRESHOLD, CheckKind.ATTRIBUTE_RULE, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.FAILED_RULES},
    ),
    Case(
        "non-boolean rule fails closed",
        downstream=True,
        layout=_set(
            ["steps", 0, "expectedPredicates", 0, "expectedAttributes"],
            [{"rule": "predicate.runDetails.builder.id"}],
        ),
        failing={CheckKind.THRESHOLD, CheckKind.ATTRIBUTE_RULE, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.FAILED_RULES},
    ),
    Case(
        "subject given that no attestation names",
        downstream=True,
        subjects=({"sha256": sha("something else")},),
        failing={CheckKind.THRESHOLD, CheckKind.SUBJECT_BINDING},
        reasons={RejectReason.SUBJECT_MISMATCH},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_verdicts_and_reasons(case: Case) -> None:
    layout = Layout.from_dict(case.layout(layout_doc()), source="layout.yml")
    report = verify_attestations(
        layout,
        case.attestations(),
        at=case.at,
        subjects=[DigestSet(s) for s in case.subjects],
        no_subject=case.no_subject,
    )
    assert report.verdict == case.verdict, [c.message for c in report.failures]
    assert bool(report) is (case.verdict == "pass")
    failing = case.failing | ({CheckKind.ARTIFACT_RULE} if case.downstream else set())
    reasons = case.reasons | ({RejectReason.FAILED_RULES} if case.downstream else set())
    assert {c.kind for c in report.failures} == failing
    assert {r.reason for r in report.rejected} == reasons
    assert len(report.warnings) == case.warnings
    if not case.subjects:
        binding = [c for c in report.checks if c.kind is CheckKind.SUBJECT_BINDING]
        assert len(binding) == 1
        assert binding[0].status is (Status.INFO if case.verdict == "pass" else Status.FAIL)
        assert binding[0].details["subjectOptOut"] is case.no_subject
    for check in report.failures:
        assert check.message


def _threshold_layout(
    threshold: int, names: tuple[str, ...] = ("alice", "bob", "carol"), **expected: Any
) -> Layout:
    release = "https://in-toto.io/attestation/release/v0.1"
    return Layout.from_dict(
        {
            "expires": "2030-01-01T00:00:00Z",
            "functionaries": {KEYS[n].keyid: functionary(n) for n in names},
            "steps": [
                {
                    "name": "approve",
                    "expectedPredicates": [
                        {
                            "predicateType": release,
                            "functionaries": [KEYS[n].keyid for n in names],
                            "threshold": threshold,
                            **expected,
                        }
                    ],
                }
            ],
        }
    )


def _approval() -> dict[str, Any]:
    return statement("https://in-toto.io/attestation/release/v0.1", {"purl": "pkg:generic/app@1.0"})


THRESHOLD_CASES = [
    (
        "two of three distinct maintainers",
        lambda: [signed(_approval(), "alice"), signed(_approval(), "bob")],
        "pass",
    ),
    (
        "one envelope signed by two maintainers",
        lambda: [signed(_approval(), "alice", "bob")],
        "pass",
    ),
    ("only one maintainer", lambda: [signed(_approval(), "alice")], "fail"),
    (
        "same key signs twice in one envelope",
        lambda: [signed(_approval(), "alice", "alice")],
        "fail",
    ),
    (
        "same key signs two envelopes",
        lambda: [signed(_approval(), "alice"), signed(_approval(), "alice")],
        "fail",
    ),
    (
        "outsider adds the second signature",
        lambda: [signed(_approval(), "alice", "mallory")],
        "fail",
    ),
]


@pytest.mark.parametrize(
    ("name", "atts", "verdict"), THRESHOLD_CASES, ids=[c[0] for c in THRESHOLD_CASES]
)
def test_threshold_counts_distinct_principals(
    name: str, atts: Callable[[], list[Attestation]], verdict: str
) -> None:
    report = verify_attestations(_threshold_layout(2), atts(), at=AT)
    assert report.verdict == verdict, name
    threshold = next(c for c in report.steps[0].checks if c.kind is CheckKind.THRESHOLD)
    assert threshold.status is (Status.PASS if verdict == "pass" else Status.FAIL)


RELEASE = "https://in-toto.io/attestation/release/v0.1"


def _key_label(name: str) -> str:
    return f"key {KEYS[name].keyid[:12]}"


_NO_CANDIDATE = "no attestation for step 'approve' is signed by an authorized functionary"
_NO_OTHER = "no other authorized principal signed an attestation that passed every check"

# (id, attestations, threshold, exact threshold message); {labels:...} expands to key labels.
_NO_ONE = "no authorized principal signed an attestation that passed every check"
_FAILING_RULE = {"expectedAttributes": [{"rule": "predicate.purl == 'pkg:generic/other@1.0'"}]}

THRESHOLD_MESSAGE_CASES: list[tuple[str, Callable[[], list[Attestation]], int, str]] = [
    (
        "authorized principal whose attestation failed a rule",
        lambda: [signed(_approval(), "alice")],
        1,
        f"{RELEASE}: threshold not met: 0 of 1 principals; {_NO_ONE}",
    ),
    (
        "met by two principals",
        lambda: [signed(_approval(), "alice"), signed(_approval(), "bob")],
        2,
        f"{RELEASE}: 2 of 2 required principals signed: {{labels:alice,bob}}",
    ),
    (
        "met by more than required",
        lambda: [signed(_approval(), "alice", "bob", "carol")],
        1,
        f"{RELEASE}: 3 of 1 required principals signed: {{labels:alice,bob,carol}}",
    ),
    (
        "one key twice is one principal",
        lambda: [signed(_approval(), "alice"), signed(_approval(), "alice")],
        2,
        f"{RELEASE}: threshold not met: 1 of 2 principals ({{labels:alice}}); {_NO_OTHER}",
    ),
    (
        "only outsiders signed",
        lambda: [signed(_approval(), "mallory")],
        1,
        f"{RELEASE}: threshold not met: 0 of 1 principals; {_NO_CANDIDATE}",
    ),
    (
        "nothing given",
        list,
        2,
        f"{RELEASE}: threshold not met: 0 of 2 principals; {_NO_CANDIDATE}",
    ),
]


def _expand_labels(template: str) -> str:
    start = template.find("{labels:")
    if start < 0:
        return template
    end = template.index("}", start)
    names = template[start + len("{labels:") : end].split(",")
    labels = ", ".join(sorted(_key_label(n) for n in names))
    return template[:start] + labels + template[end + 1 :]


@pytest.mark.parametrize(
    ("name", "atts", "threshold", "message"),
    THRESHOLD_MESSAGE_CASES,
    ids=[c[0] for c in THRESHOLD_MESSAGE_CASES],
)
def test_threshold_message_speaks_of_principals(
    name: str, atts: Callable[[], list[Attestation]], threshold: int, message: str
) -> None:
    extra = _FAILING_RULE if "failed a rule" in name else {}
    report = verify_attestations(_threshold_layout(threshold, **extra), atts(), at=AT)
    check = next(c for c in report.steps[0].checks if c.kind is CheckKind.THRESHOLD)
    assert check.message == _expand_labels(message), name
    assert "\n" not in check.message
    assert "functionaries" not in check.message


def test_one_key_listed_under_two_ids_counts_once() -> None:
    key = KEYS["alice"].public_key
    # The same key under its other key-id convention (an arbitrary hex id
    # that is not the key's is now refused at load).
    other_id = key.computed_keyid("legacy")
    assert other_id != key.keyid
    layout = Layout.from_dict(
        {
            "expires": "2030-01-01T00:00:00Z",
            "functionaries": {key.keyid: functionary("alice"), other_id: functionary("alice")},
            "steps": [
                {
                    "name": "approve",
                    "expectedPredicates": [
                        {
                            "predicateType": "https://in-toto.io/attestation/release/v0.1",
                            "functionaries": [key.keyid, other_id],
                            "threshold": 2,
                        }
                    ],
                }
            ],
        }
    )
    report = verify_attestations(layout, [signed(_approval(), "alice")], at=AT)
    assert not report
    threshold = next(c for c in report.steps[0].checks if c.kind is CheckKind.THRESHOLD)
    assert threshold.actual == 1


def test_match_chains_links_and_fails_on_digest_mismatch() -> None:
    doc = {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {KEYS["alice"].keyid: functionary("alice")},
        "steps": [
            {
                "name": "clone",
                "expectedProducts": ["CREATE src", "DISALLOW *"],
                "expectedPredicates": [
                    {"predicateType": LINK, "functionaries": [KEYS["alice"].keyid]}
                ],
            },
            {
                "name": "build",
                "expectedMaterials": ["MATCH src WITH PRODUCTS FROM clone", "DISALLOW *"],
                "expectedPredicates": [
                    {"predicateType": LINK, "functionaries": [KEYS["alice"].keyid]}
                ],
            },
        ],
    }
    layout = Layout.from_dict(doc)
    clone = signed(link("clone", {}, {"src": SRC}), "alice")
    ok = verify_attestations(
        layout, [clone, signed(link("build", {"src": SRC}, {"app": APP}), "alice")], at=AT
    )
    assert ok, [c.message for c in ok.failures]
    bad = verify_attestations(
        layout, [clone, signed(link("build", {"src": sha("x")}, {"app": APP}), "alice")], at=AT
    )
    assert not bad
    failure = next(c for c in bad.failures if c.kind is CheckKind.ARTIFACT_RULE)
    assert failure.actual == ["src"]
    assert failure.rule == "DISALLOW *"


def test_link_counts_only_for_the_step_it_names() -> None:
    doc = {
        "expires": "2030-01-01T00:00:00Z",
        "functionaries": {KEYS["alice"].keyid: functionary("alice")},
        "steps": [
            {
                "name": "build",
                "expectedPredicates": [
                    {"predicateType": LINK, "functionaries": [KEYS["alice"].keyid]}
                ],
            }
        ],
    }
    report = verify_attestations(
        Layout.from_dict(doc), [signed(link("other", {}, {"app": APP}), "alice")], at=AT
    )
    assert not report
    assert {r.reason for r in report.rejected} == {RejectReason.UNEXPECTED}


def test_ecdsa_functionary_and_report_is_deterministic() -> None:
    doc = layout_doc()
    doc["functionaries"][KEYS["ecdsa"].keyid] = functionary("ecdsa")
    doc["steps"][0]["expectedPredicates"][0]["functionaries"] = [KEYS["ecdsa"].keyid]
    atts = [signed(provenance(), "ecdsa"), signed(scan(), "scanner")]
    layout = Layout.from_dict(doc)
    one = verify_attestations(layout, atts, at=AT, subjects=[DigestSet({"sha256": APP})])
    two = verify_attestations(
        layout, list(reversed(atts)), at=AT, subjects=[DigestSet({"sha256": APP})]
    )
    assert one
    assert one.to_dict() == two.to_dict()


def test_verification_does_not_mutate_inputs() -> None:
    layout = Layout.from_dict(layout_doc())
    atts = good_attestations()
    before = [a.envelope.to_dict() for a in atts if a.envelope]
    verify_attestations(layout, atts, at=AT, subjects=[DigestSet({"sha256": APP})])
    assert [a.envelope.to_dict() for a in atts if a.envelope] == before


def test_naive_time_is_rejected() -> None:
    with pytest.raises(ValidationError):
        verify_attestations(Layout.from_dict(layout_doc()), [], at=datetime(2026, 1, 1))


def test_maxage_boundary() -> None:
    layout = Layout.from_dict(layout_doc())
    finished = AT - timedelta(days=7)
    atts = [
        signed(provenance(), "builder"),
        signed(scan(finished=finished.isoformat().replace("+00:00", "Z")), "scanner"),
    ]
    assert verify_attestations(layout, atts, at=AT, subjects=[DigestSet({"sha256": APP})])
    assert not verify_attestations(
        layout, atts, at=AT + timedelta(seconds=1), subjects=[DigestSet({"sha256": APP})]
    )


def test_concurrent_verifications_share_one_layout() -> None:
    from concurrent.futures import ThreadPoolExecutor

    layout = Layout.from_dict(layout_doc())
    inputs = [
        good_attestations(),
        [signed(provenance("https://evil.example"), "builder"), signed(scan(), "scanner")],
        [signed(provenance(), "builder"), signed(scan(critical=2), "scanner")],
    ] * 6

    def run(atts: list[Attestation]) -> dict[str, Any]:
        return verify_attestations(
            layout, atts, at=AT, subjects=[DigestSet({"sha256": APP})]
        ).to_dict()

    expected = [run(a) for a in inputs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(run, inputs))
    assert got == expected
    assert [r["verdict"] for r in got[:3]] == ["pass", "fail", "fail"]
