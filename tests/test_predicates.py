"""Predicate views, their registry, and the RFC 3339 / ISO 8601 duration parsers."""

from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intoto_policy._errors import UsageError, ValidationError
from intoto_policy.model._digests import DigestSet
from intoto_policy.model._statement import ResourceDescriptor, Statement
from intoto_policy.model._time import format_duration, format_rfc3339, parse_duration, parse_rfc3339
from intoto_policy.model.predicates import (
    REGISTRY,
    Artifacts,
    CycloneDxView,
    GenericView,
    LinkView,
    NpmPublishView,
    PredicateView,
    ProvenanceV01View,
    ProvenanceV02View,
    ProvenanceV1View,
    PypiPublishView,
    ReferenceView,
    ReleaseView,
    RuntimeTraceView,
    ScaiView,
    Severity,
    SimpleVerificationResultView,
    SpdxView,
    TestResultView,
    VerificationSummaryView,
    Vulnerability,
    VulnerabilityReportView,
    register,
    unregister,
    view_for,
)
from intoto_policy.model.predicates._base import _VIEW_MODULES

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
AV = CORPUS / "attestation-verifier"
SPEC_EXAMPLES = AV / "spec-examples"
REAL_WORLD = CORPUS / "real-world" / "items"

D1 = "1" * 64
D2 = "2" * 64
D3 = "3" * 64
G1 = "a" * 40
FOO_DEB = "f1847f7e67aa18d0063fda3cbde8b61f84384fbf35c3dd4cfa8c4822400b5a64"
BAR_DEB = "680177210742d53016820ec118b6d7dd0be62758ad6d7f503e96927ced4809b4"
GHA_GO_BINARY = "f6ab7ad0c7549b5a4942c3b0690519d791c28c4c0f8b286208cb40da3322a066"
MODULE_BAZEL = "06ce330900a7d6403bc8d88e5dfad6aeeb8ae40179f66bb89e69c8bf6f6b1a0b"
EXAMPLE_LINUX_AMD64 = "2e38b952523576057f5ca8cf6d179ad6b66f6d0221b9a0eb621caf3507773c71"
PYPI_ATTESTATIONS_SDIST = "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3"
BIN_FOO = "58eaf5a78d580f5dbd49d31a5b733094169b31bfdf49055b74bcac2877d8f58c"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SUBJECTS = [{"name": "out.tar", "digest": {"sha256": D1}}]


def utc(*fields: int) -> datetime:
    """A UTC datetime from year, month, day[, hour, minute, second, microsecond]."""
    return datetime(*fields).replace(tzinfo=UTC)  # type: ignore[arg-type]


def stmt(
    ptype: str, predicate: Any = None, subjects: list[dict[str, Any]] | None = None
) -> Statement:
    doc: dict[str, Any] = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": SUBJECTS if subjects is None else subjects,
        "predicateType": ptype,
    }
    if predicate is not None:
        doc["predicate"] = predicate
    return Statement.from_dict(doc)


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"corpus not available: {path}")
    return path


# ---------- RFC 3339


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2024-01-31T12:00:00Z", utc(2024, 1, 31, 12), id="utc-z"),
        pytest.param("2024-01-31t12:00:00z", utc(2024, 1, 31, 12), id="lowercase-t-z"),
        pytest.param(
            "1985-04-12T23:20:50.52Z", utc(1985, 4, 12, 23, 20, 50, 520000), id="fraction-2"
        ),
        pytest.param("2024-01-31T12:00:00.5Z", utc(2024, 1, 31, 12, 0, 0, 500000), id="fraction-1"),
        pytest.param(
            "2022-09-06T17:54:10.226833361Z",
            utc(2022, 9, 6, 17, 54, 10, 226833),
            id="nanoseconds-truncated",
        ),
        pytest.param(
            "1996-12-19T16:39:57-08:00", utc(1996, 12, 20, 0, 39, 57), id="negative-offset"
        ),
        pytest.param("2024-01-31T17:30:00+05:30", utc(2024, 1, 31, 12), id="positive-offset"),
        pytest.param(
            "2024-01-01T00:30:00+01:00", utc(2023, 12, 31, 23, 30), id="offset-crosses-year"
        ),
        pytest.param("2024-01-31T12:00:00-00:00", utc(2024, 1, 31, 12), id="unknown-offset-is-utc"),
        pytest.param("2024-02-29T00:00:00Z", utc(2024, 2, 29), id="leap-day"),
        pytest.param("0001-01-01T00:00:00Z", utc(1, 1, 1), id="year-1"),
        pytest.param(
            "9999-12-31T23:59:59.999999Z", utc(9999, 12, 31, 23, 59, 59, 999999), id="max"
        ),
    ],
)
def test_parse_rfc3339_accepts(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("2024-01-31T12:00:00", "not an RFC 3339", id="naive"),
        pytest.param("2024-01-31", "not an RFC 3339", id="date-only"),
        pytest.param("2024-01-31 12:00:00Z", "not an RFC 3339", id="space-separator"),
        pytest.param("2024-01-31T12:00Z", "not an RFC 3339", id="no-seconds"),
        pytest.param("24-01-31T12:00:00Z", "not an RFC 3339", id="two-digit-year"),
        pytest.param("2024-1-31T12:00:00Z", "not an RFC 3339", id="one-digit-month"),
        pytest.param("2024-01-31T12:00:00.Z", "not an RFC 3339", id="empty-fraction"),
        pytest.param("2024-01-31T12:00:00,5Z", "not an RFC 3339", id="comma-fraction"),
        pytest.param("2024-01-31T12:00:00+0530", "not an RFC 3339", id="offset-without-colon"),
        pytest.param("2024-01-31T12:00:00+05", "not an RFC 3339", id="offset-hours-only"),
        pytest.param("2024-01-31T12:00:00UTC", "not an RFC 3339", id="named-zone"),
        pytest.param("2024-01-31T12:00:00Z\n", "not an RFC 3339", id="trailing-newline"),
        pytest.param(" 2024-01-31T12:00:00Z", "not an RFC 3339", id="leading-space"),
        pytest.param(
            "\uff12\uff10\uff12\uff14-01-31T12:00:00Z", "not an RFC 3339", id="fullwidth-digits"
        ),
        pytest.param("", "not an RFC 3339", id="empty"),
        pytest.param("2024-13-01T12:00:00Z", "out of range", id="month-13"),
        pytest.param("2024-00-01T12:00:00Z", "out of range", id="month-0"),
        pytest.param("2024-01-32T12:00:00Z", "out of range", id="day-32"),
        pytest.param("2023-02-29T12:00:00Z", "out of range", id="feb-29-non-leap"),
        pytest.param("2024-01-31T24:00:00Z", "out of range", id="hour-24"),
        pytest.param("2024-01-31T12:60:00Z", "out of range", id="minute-60"),
        pytest.param("2024-01-31T12:00:61Z", "out of range", id="second-61"),
        pytest.param("2016-12-31T23:59:60Z", "leap second", id="leap-second"),
        pytest.param("2024-01-31T12:00:00+24:00", "invalid UTC offset", id="offset-hour-24"),
        pytest.param("2024-01-31T12:00:00+01:60", "invalid UTC offset", id="offset-minute-60"),
        pytest.param("0000-01-01T00:00:00Z", "out of range", id="year-0"),
        pytest.param("0001-01-01T00:30:00+01:00", "out of range in UTC", id="underflow-in-utc"),
        pytest.param("9999-12-31T23:30:00-01:00", "out of range in UTC", id="overflow-in-utc"),
        pytest.param(1706702400, "must be a string", id="number"),
        pytest.param(None, "must be a string", id="none"),
    ],
)
def test_parse_rfc3339_rejects(text: Any, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        parse_rfc3339(text)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        pytest.param(utc(2024, 1, 31, 12), "2024-01-31T12:00:00Z", id="whole-seconds"),
        pytest.param(utc(2024, 1, 31, 12, 0, 0, 500000), "2024-01-31T12:00:00.5Z", id="fraction"),
        pytest.param(
            utc(2024, 1, 31, 12, 0, 0, 1), "2024-01-31T12:00:00.000001Z", id="microsecond"
        ),
        pytest.param(
            datetime(2024, 1, 31, 12, tzinfo=timezone(timedelta(hours=2))),
            "2024-01-31T10:00:00Z",
            id="converted-to-utc",
        ),
        pytest.param(utc(1, 1, 1), "0001-01-01T00:00:00Z", id="year-padded"),
    ],
)
def test_format_rfc3339(moment: datetime, text: str) -> None:
    assert format_rfc3339(moment) == text


def test_format_rfc3339_rejects_naive() -> None:
    with pytest.raises(UsageError, match="naive"):
        format_rfc3339(datetime(2024, 1, 31, 12))


_OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))


@given(
    moment=st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    tz=_OFFSETS,
)
def test_rfc3339_round_trip(moment: datetime, tz: timezone) -> None:
    aware = moment.replace(tzinfo=tz)
    assert parse_rfc3339(format_rfc3339(aware)) == aware


# ---------- durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("P7D", timedelta(days=7), id="days"),
        pytest.param("PT12H", timedelta(hours=12), id="hours"),
        pytest.param("P1DT2H30M", timedelta(days=1, hours=2, minutes=30), id="days-hours-minutes"),
        pytest.param("PT90M", timedelta(minutes=90), id="minutes-not-normalised"),
        pytest.param("PT36H", timedelta(hours=36), id="hours-over-a-day"),
        pytest.param("PT45S", timedelta(seconds=45), id="seconds"),
        pytest.param("PT0S", timedelta(0), id="zero-seconds"),
        pytest.param("P0D", timedelta(0), id="zero-days"),
        pytest.param("P2W", timedelta(days=14), id="weeks"),
        pytest.param("PT0.5S", timedelta(milliseconds=500), id="fraction-seconds"),
        pytest.param("PT1.5H", timedelta(hours=1, minutes=30), id="fraction-hours"),
        pytest.param("PT1,5H", timedelta(hours=1, minutes=30), id="comma-fraction"),
        pytest.param("P1DT0.000001S", timedelta(days=1, microseconds=1), id="microsecond"),
        pytest.param("PT1H0.5M", timedelta(hours=1, seconds=30), id="fraction-on-last"),
        pytest.param("P999999999D", timedelta(days=999999999), id="largest-days"),
    ],
)
def test_parse_duration_accepts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("P1Y", "years or months", id="years"),
        pytest.param("P1M", "years or months", id="months"),
        pytest.param("P1Y2M3DT4H", "years or months", id="full-calendar"),
        pytest.param("P", "no components", id="bare-p"),
        pytest.param("PT", "no components", id="bare-pt"),
        pytest.param("P1DT", "T but no", id="dangling-t"),
        pytest.param("p7d", "uppercase", id="lowercase"),
        pytest.param("P7d", "uppercase", id="lowercase-designator"),
        pytest.param("-P1D", "negative", id="negative"),
        pytest.param("P1.5DT1H", "only the last component", id="fraction-not-last"),
        pytest.param("PT0.0000001S", "finer than a microsecond", id="sub-microsecond"),
        pytest.param("P1W2D", "not an ISO 8601 duration", id="weeks-combined"),
        pytest.param("PT1H1H", "not an ISO 8601 duration", id="repeated"),
        pytest.param("PT1S2M", "not an ISO 8601 duration", id="wrong-order"),
        pytest.param("P1H", "not an ISO 8601 duration", id="hours-without-t"),
        pytest.param("7D", "not an ISO 8601 duration", id="no-p"),
        pytest.param("P7D ", "not an ISO 8601 duration", id="trailing-space"),
        pytest.param("P.5D", "not an ISO 8601 duration", id="no-leading-digit"),
        pytest.param("P\uff11D", "not an ISO 8601 duration", id="fullwidth-digit"),
        pytest.param("", "not an ISO 8601 duration", id="empty"),
        pytest.param("P1000000000D", "too large", id="too-large"),
        pytest.param("P" + "1" * 70 + "D", "longer than", id="too-long"),
        pytest.param(7, "must be a string", id="number"),
    ],
)
def test_parse_duration_rejects(text: Any, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(timedelta(0), "PT0S", id="zero"),
        pytest.param(timedelta(days=7), "P7D", id="days"),
        pytest.param(timedelta(days=1, hours=2, minutes=30), "P1DT2H30M", id="mixed"),
        pytest.param(timedelta(seconds=1.5), "PT1.5S", id="fraction"),
        pytest.param(timedelta(microseconds=1), "PT0.000001S", id="microsecond"),
    ],
)
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


def test_format_duration_rejects_negative() -> None:
    with pytest.raises(UsageError, match="negative"):
        format_duration(timedelta(seconds=-1))


@given(st.timedeltas(min_value=timedelta(0)))
def test_duration_round_trip(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


@given(
    days=st.integers(0, 10_000),
    hours=st.integers(0, 100),
    minutes=st.integers(0, 100),
    seconds=st.integers(0, 100),
)
def test_duration_components_add_up(days: int, hours: int, minutes: int, seconds: int) -> None:
    text = f"P{days}DT{hours}H{minutes}M{seconds}S"
    assert parse_duration(text) == timedelta(
        days=days, hours=hours, minutes=minutes, seconds=seconds
    )


# ---------- registry

EXPECTED_REGISTRY: dict[str, type[PredicateView]] = {
    "https://in-toto.io/attestation/link/v0.3": LinkView,
    "https://slsa.dev/provenance/v1": ProvenanceV1View,
    "https://slsa.dev/provenance/v1.0?draft": ProvenanceV1View,
    "https://slsa.dev/provenance/v0.2": ProvenanceV02View,
    "https://slsa.dev/provenance/v0.1": ProvenanceV01View,
    "https://slsa.dev/verification_summary/v1": VerificationSummaryView,
    "https://slsa.dev/verification_summary/v0.2": VerificationSummaryView,
    "https://in-toto.io/attestation/vulns/v0.1": VulnerabilityReportView,
    "https://in-toto.io/attestation/vulns/v0.2": VulnerabilityReportView,
    "https://cosign.sigstore.dev/attestation/vuln/v1": VulnerabilityReportView,
    "https://in-toto.io/attestation/test-result/v0.1": TestResultView,
    "https://in-toto.io/attestation/scai/v0.3": ScaiView,
    "https://in-toto.io/attestation/scai/attribute-report/v0.2": ScaiView,
    "https://in-toto.io/attestation/release/v0.1": ReleaseView,
    "https://in-toto.io/attestation/reference/v0.1": ReferenceView,
    "https://in-toto.io/attestation/runtime-trace/v0.1": RuntimeTraceView,
    "https://in-toto.io/attestation/svr/v0.2": SimpleVerificationResultView,
    "https://in-toto.io/attestation/svr/v0.1": SimpleVerificationResultView,
    "https://github.com/npm/attestation/tree/main/specs/publish/v0.1": NpmPublishView,
    "https://docs.pypi.org/attestations/publish/v1": PypiPublishView,
    "https://spdx.dev/Document": SpdxView,
    "https://spdx.dev/Document/v2.2": SpdxView,
    "https://spdx.dev/Document/v2.3": SpdxView,
    "https://spdx.dev/Document/v3": SpdxView,
    "https://cyclonedx.org/bom": CycloneDxView,
    **{f"https://cyclonedx.org/bom/v1.{minor}": CycloneDxView for minor in range(8)},
}


def test_registry_holds_exactly_the_documented_types() -> None:
    assert dict(REGISTRY) == EXPECTED_REGISTRY


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        REGISTRY["https://example.com/x"] = GenericView  # type: ignore[index]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _CustomView(PredicateView):
    flavour: str | None

    @classmethod
    def from_statement(cls, statement: Statement) -> _CustomView:
        return cls(
            statement=statement,
            material_set=Artifacts.collect(()),
            product_set=Artifacts.collect(()),
            flavour=statement.predicate.get("flavour"),
        )


@pytest.fixture
def custom_type() -> Iterator[str]:
    ptype = "https://example.com/custom/v1"
    register(ptype, _CustomView)
    yield ptype
    unregister(ptype)


def test_register_adds_a_view(custom_type: str) -> None:
    view = view_for(stmt(custom_type, {"flavour": "mint"}))
    assert isinstance(view, _CustomView)
    assert view.flavour == "mint"
    assert REGISTRY[custom_type] is _CustomView


def test_register_same_class_again_is_harmless(custom_type: str) -> None:
    register(custom_type, _CustomView)
    assert REGISTRY[custom_type] is _CustomView


def test_register_refuses_to_replace_silently(custom_type: str) -> None:
    with pytest.raises(UsageError, match="already viewed by _CustomView"):
        register(custom_type, GenericView)
    register(custom_type, GenericView, replace=True)
    assert REGISTRY[custom_type] is GenericView


@pytest.mark.parametrize(
    ("ptype", "cls", "problem"),
    [
        pytest.param("", GenericView, "non-empty string", id="empty-type"),
        pytest.param(7, GenericView, "non-empty string", id="type-not-string"),
        pytest.param(
            "https://example.com/x", dict, "not a PredicateView subclass", id="not-a-view"
        ),
        pytest.param(
            "https://example.com/x", "GenericView", "not a PredicateView subclass", id="not-a-class"
        ),
    ],
)
def test_register_rejects(ptype: Any, cls: Any, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        register(ptype, cls)
    assert "https://example.com/x" not in REGISTRY


def test_unregister_unknown_type() -> None:
    with pytest.raises(UsageError, match="no view is registered"):
        unregister("https://example.com/never-registered")


# ---------- uniform interface

_PROV_V1 = {
    "buildDefinition": {
        "buildType": "https://example.com/build/v1",
        "resolvedDependencies": [
            {"uri": "git+https://example.com/src@main", "digest": {"gitCommit": G1}}
        ],
    },
    "runDetails": {
        "builder": {"id": "https://example.com/builder"},
        "metadata": {"startedOn": "2024-01-01T00:00:00Z", "finishedOn": "2024-01-01T00:10:00Z"},
    },
}
_PROV_V02 = {
    "builder": {"id": "https://example.com/builder"},
    "buildType": "https://example.com/build/v02",
    "invocation": {
        "configSource": {
            "uri": "git+https://example.com/src@main",
            "digest": {"sha1": G1},
            "entryPoint": ".ci/build.yml",
        },
        "environment": {"GITHUB_REF": "refs/heads/main"},
    },
    "metadata": {
        "buildInvocationId": "run-1",
        "buildStartedOn": "2024-02-01T00:00:00Z",
        "buildFinishedOn": "2024-02-01T00:05:00Z",
    },
    "materials": [{"uri": "git+https://example.com/src@main", "digest": {"sha1": G1}}],
}
_PROV_V01 = {
    "builder": {"id": "https://example.com/builder"},
    "recipe": {
        "type": "https://example.com/recipe/v1",
        "definedInMaterial": 0,
        "entryPoint": "build.yaml",
        "environment": {"k": "v"},
    },
    "metadata": {
        "buildStartedOn": "2022-09-06T17:54:10Z",
        "buildFinishedOn": "2022-09-06T17:54:22Z",
    },
    "materials": [{"uri": "https://example.com/src", "digest": {"sha1": G1}}],
}
_VSA_V1 = {
    "verifier": {"id": "https://example.com/verifier"},
    "timeVerified": "2024-03-01T10:00:00Z",
    "resourceUri": "https://example.com/out.tar",
    "policy": {"uri": "https://example.com/policy", "digest": {"sha256": D3}},
    "verificationResult": "PASSED",
    "verifiedLevels": ["SLSA_BUILD_LEVEL_3"],
    "dependencyLevels": {"SLSA_BUILD_LEVEL_3": 5, "SLSA_BUILD_LEVEL_1": 0},
    "slsaVersion": "1.0",
}
_VSA_V02 = {
    "verifier": {"id": "https://example.com/verifier"},
    "time_verified": "2023-03-01T10:00:00Z",
    "resource_uri": "https://example.com/out.tar",
    "policy": {"uri": "https://example.com/policy"},
    "verification_result": "FAILED",
    "policy_level": "SLSA_LEVEL_2",
    "dependency_levels": {"SLSA_LEVEL_2": 1},
}
_VULNS_V02 = {
    "scanner": {
        "uri": "pkg:github/aquasecurity/trivy@244fd47e07d1004f0aed9",
        "version": "0.19.2",
        "db": {
            "uri": "pkg:github/aquasecurity/trivy-db",
            "version": "v1",
            "lastUpdate": "2021-08-06T17:45:50.52Z",
        },
        "result": [
            {
                "id": "CVE-123",
                "severity": [
                    {"method": "nvd", "score": "medium"},
                    {"method": "cvss_score", "score": "5.2"},
                ],
            }
        ],
    },
    "metadata": {
        "scanStartedOn": "2021-08-06T17:45:50.52Z",
        "scanFinishedOn": "2021-08-06T17:50:50.52Z",
    },
}
_VULNS_V01 = {
    "scanner": {
        "uri": "pkg:github/anchore/grype",
        "result": [
            {
                "vulnerability": {
                    "id": "GHSA-fxph-q3j8-mv87",
                    "severity": {"method": "nvd", "score": "critical"},
                }
            },
            {"id": "CVE-9", "severity": [{"method": "nvd", "score": "low"}]},
        ],
    },
    "metadata": {"scanStartedOn": "2021-08-06T17:45:50Z"},
}
_COSIGN_VULN = {
    "invocation": {"parameters": None, "uri": "", "event_id": "", "builder.id": ""},
    "scanner": {
        "uri": "pkg:github/aquasecurity/trivy@v0.30.1",
        "version": "v0.30.1",
        "result": {"Results": []},
    },
    "metadata": {
        "scanStartedOn": "2022-07-20T10:00:00Z",
        "scanFinishedOn": "2022-07-20T10:01:00+02:00",
    },
}
_TEST_RESULT = {
    "result": "WARNED",
    "configuration": [{"name": ".github/workflows/ci.yml", "digest": {"gitBlob": G1}}],
    "url": "https://example.com/runs/1",
    "passedTests": ["a", "b"],
    "warnedTests": ["c"],
    "failedTests": [],
}
_SCAI = {
    "attributes": [
        {"attribute": "WITH_STACK_PROTECTION", "conditions": {"flags": "-fstack-protector*"}},
        {
            "attribute": "REPRODUCIBLE",
            "target": {"name": "lib.so", "digest": {"sha256": D2}},
            "evidence": {"uri": "https://example.com/rebuild.json", "digest": {"sha256": D3}},
        },
    ],
    "producer": {"uri": "file:///usr/bin/gcc", "name": "gcc9.3.0", "digest": {"sha256": D2}},
}
_RELEASE = {"purl": "pkg:npm/@angular/http@7.2.16", "packageId": "1234567890"}
_REFERENCE = {
    "attester": {"id": "https://my-builder.com/v1"},
    "references": [
        {
            "downloadLocation": "https://example.com/sbom.spdx.json",
            "digest": {"sha256": D3},
            "mediaType": "application/spdx+json",
        }
    ],
}
_RUNTIME_TRACE = {
    "monitor": {"type": "https://github.com/cilium/tetragon/v0.8.4"},
    "monitoredProcess": {
        "hostID": "https://tekton.dev/chains/v2",
        "type": "https://tekton.dev/attestations/chains@v2",
        "event": "run-build",
    },
    "monitorLog": {"fileAccess": [{"name": "/src/main.go", "digest": {"sha256": D2}}]},
    "metadata": {
        "buildStartedOn": "2022-10-13T22:55:50Z",
        "buildFinishedOn": "2022-10-13T22:56:17Z",
    },
}
_SVR = {
    "verifier": {
        "id": "https://example.com/engine/v1",
        "policies": [{"uri": "https://example.com/p", "digest": {"sha256": D3}}],
    },
    "timeCreated": "2024-03-15T14:22:00Z",
    "properties": ["SLSA_BUILD_LEVEL_3", "EXAMPLE_DEPLOYMENT_APPROVED"],
}
_NPM = {"name": "semver", "version": "7.5.4", "registry": "https://registry.npmjs.org"}
_SPDX2 = {
    "spdxVersion": "SPDX-2.3",
    "SPDXID": "SPDXRef-DOCUMENT",
    "name": "alpine",
    "documentNamespace": "https://example.com/alpine-1",
    "creationInfo": {"created": "2024-06-15T20:27:58Z", "creators": ["Tool: syft-1.6.0"]},
    "packages": [],
}
_SPDX3 = {
    "@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
    "@graph": [
        {
            "type": "CreationInfo",
            "@id": "_:creationinfo",
            "specVersion": "3.0.1",
            "created": "2024-11-06T17:30:00Z",
        },
        {
            "type": "SpdxDocument",
            "spdxId": "https://example.com/doc",
            "creationInfo": "_:creationinfo",
            "name": "demo",
        },
        {
            "type": "software_Package",
            "spdxId": "https://example.com/pkg",
            "creationInfo": "_:creationinfo",
        },
    ],
}
_CDX = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "serialNumber": "urn:uuid:77d4dea9-2a1e-49bd-9936-a083012bccd9",
    "version": 1,
    "metadata": {"timestamp": "2024-06-15T15:30:29-05:00", "component": {"name": "alpine"}},
    "components": [],
}

_OUT = {"out.tar": DigestSet({"sha256": D1})}


@pytest.mark.parametrize(
    ("ptype", "predicate", "cls", "sides", "timestamp"),
    [
        pytest.param(
            "https://in-toto.io/attestation/link/v0.3",
            {
                "name": "build",
                "command": ["make"],
                "materials": [{"name": "src.c", "digest": {"sha256": D2}}],
            },
            LinkView,
            ({"src.c": DigestSet({"sha256": D2})}, _OUT),
            None,
            id="link-v0.3",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v1",
            _PROV_V1,
            ProvenanceV1View,
            ({"git+https://example.com/src@main": DigestSet({"gitCommit": G1})}, _OUT),
            utc(2024, 1, 1, 0, 10),
            id="provenance-v1-finished",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v1",
            {"runDetails": {"metadata": {"startedOn": "2024-01-01T00:00:00Z"}}},
            ProvenanceV1View,
            ({}, _OUT),
            utc(2024, 1, 1),
            id="provenance-v1-started-only",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v1.0?draft",
            _PROV_V1,
            ProvenanceV1View,
            ({"git+https://example.com/src@main": DigestSet({"gitCommit": G1})}, _OUT),
            utc(2024, 1, 1, 0, 10),
            id="provenance-v1-draft",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v0.2",
            _PROV_V02,
            ProvenanceV02View,
            ({"git+https://example.com/src@main": DigestSet({"sha1": G1})}, _OUT),
            utc(2024, 2, 1, 0, 5),
            id="provenance-v0.2-finished",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v0.2",
            {"metadata": {"buildStartedOn": "2024-02-01T00:00:00Z"}},
            ProvenanceV02View,
            ({}, _OUT),
            utc(2024, 2, 1),
            id="provenance-v0.2-started-only",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v0.1",
            _PROV_V01,
            ProvenanceV01View,
            ({"https://example.com/src": DigestSet({"sha1": G1})}, _OUT),
            utc(2022, 9, 6, 17, 54, 22),
            id="provenance-v0.1",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v1",
            _VSA_V1,
            VerificationSummaryView,
            (_OUT, {}),
            utc(2024, 3, 1, 10),
            id="vsa-v1",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v0.2",
            _VSA_V02,
            VerificationSummaryView,
            (_OUT, {}),
            utc(2023, 3, 1, 10),
            id="vsa-v0.2",
        ),
        pytest.param(
            "https://in-toto.io/attestation/vulns/v0.2",
            _VULNS_V02,
            VulnerabilityReportView,
            (_OUT, {}),
            utc(2021, 8, 6, 17, 50, 50, 520000),
            id="vulns-v0.2",
        ),
        pytest.param(
            "https://in-toto.io/attestation/vulns/v0.1",
            _VULNS_V01,
            VulnerabilityReportView,
            (_OUT, {}),
            utc(2021, 8, 6, 17, 45, 50),
            id="vulns-v0.1-started-only",
        ),
        pytest.param(
            "https://cosign.sigstore.dev/attestation/vuln/v1",
            _COSIGN_VULN,
            VulnerabilityReportView,
            (_OUT, {}),
            utc(2022, 7, 20, 8, 1),
            id="cosign-vuln",
        ),
        pytest.param(
            "https://in-toto.io/attestation/test-result/v0.1",
            _TEST_RESULT,
            TestResultView,
            (_OUT, {}),
            None,
            id="test-result",
        ),
        pytest.param(
            "https://in-toto.io/attestation/scai/v0.3",
            _SCAI,
            ScaiView,
            (_OUT, {}),
            None,
            id="scai-v0.3",
        ),
        pytest.param(
            "https://in-toto.io/attestation/scai/attribute-report/v0.2",
            _SCAI,
            ScaiView,
            (_OUT, {}),
            None,
            id="scai-v0.2",
        ),
        pytest.param(
            "https://in-toto.io/attestation/release/v0.1",
            _RELEASE,
            ReleaseView,
            (_OUT, {}),
            None,
            id="release",
        ),
        pytest.param(
            "https://in-toto.io/attestation/reference/v0.1",
            _REFERENCE,
            ReferenceView,
            (_OUT, {}),
            None,
            id="reference",
        ),
        pytest.param(
            "https://in-toto.io/attestation/runtime-trace/v0.1",
            _RUNTIME_TRACE,
            RuntimeTraceView,
            (_OUT, {}),
            utc(2022, 10, 13, 22, 56, 17),
            id="runtime-trace",
        ),
        pytest.param(
            "https://in-toto.io/attestation/svr/v0.2",
            _SVR,
            SimpleVerificationResultView,
            (_OUT, {}),
            utc(2024, 3, 15, 14, 22),
            id="svr-v0.2",
        ),
        pytest.param(
            "https://in-toto.io/attestation/svr/v0.1",
            _SVR,
            SimpleVerificationResultView,
            (_OUT, {}),
            utc(2024, 3, 15, 14, 22),
            id="svr-v0.1",
        ),
        pytest.param(
            "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
            _NPM,
            NpmPublishView,
            (_OUT, {}),
            None,
            id="npm-publish",
        ),
        pytest.param(
            "https://docs.pypi.org/attestations/publish/v1",
            None,
            PypiPublishView,
            (_OUT, {}),
            None,
            id="pypi-publish",
        ),
        pytest.param(
            "https://spdx.dev/Document/v2.3",
            _SPDX2,
            SpdxView,
            (_OUT, {}),
            utc(2024, 6, 15, 20, 27, 58),
            id="spdx-2.3",
        ),
        pytest.param(
            "https://spdx.dev/Document",
            _SPDX3,
            SpdxView,
            (_OUT, {}),
            utc(2024, 11, 6, 17, 30),
            id="spdx-unversioned-holding-3",
        ),
        pytest.param(
            "https://spdx.dev/Document/v3",
            _SPDX3,
            SpdxView,
            (_OUT, {}),
            utc(2024, 11, 6, 17, 30),
            id="spdx-3",
        ),
        pytest.param(
            "https://cyclonedx.org/bom",
            _CDX,
            CycloneDxView,
            (_OUT, {}),
            utc(2024, 6, 15, 20, 30, 29),
            id="cyclonedx",
        ),
        pytest.param(
            "https://cyclonedx.org/bom/v1.5",
            _CDX,
            CycloneDxView,
            (_OUT, {}),
            utc(2024, 6, 15, 20, 30, 29),
            id="cyclonedx-v1.5",
        ),
        pytest.param(
            "https://example.com/unknown/v1",
            {"anything": [1, 2]},
            GenericView,
            (_OUT, {}),
            None,
            id="unknown",
        ),
    ],
)
def test_uniform_interface(
    ptype: str, predicate: Any, cls: type[PredicateView], sides: tuple[Any, Any], timestamp: Any
) -> None:
    view = view_for(stmt(ptype, predicate))
    assert type(view) is cls
    assert view.predicate_type == ptype
    assert (view.materials(), view.products()) == sides
    assert view.timestamp() == timestamp
    assert view.undigested_materials() == ()
    assert view.undigested_products() == ()
    assert view.unnamed_materials() == ()
    assert view.unnamed_products() == ()


# ---------- typed accessors

_CVE_123 = Vulnerability(
    id="CVE-123",
    severities=(Severity(method="nvd", score="medium"), Severity(method="cvss_score", score="5.2")),
)


@pytest.mark.parametrize(
    ("ptype", "predicate", "expected"),
    [
        pytest.param(
            "https://in-toto.io/attestation/link/v0.3",
            {
                "name": "clone",
                "command": ["git", "clone", "x"],
                "environment": {"a": 1},
                "byproducts": {"stdout": ""},
            },
            {
                "step_name": "clone",
                "command": ("git", "clone", "x"),
                "environment": {"a": 1},
                "byproducts": {"stdout": ""},
            },
            id="link",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v1",
            _PROV_V1,
            {
                "build_type": "https://example.com/build/v1",
                "builder_id": "https://example.com/builder",
                "started_on": utc(2024, 1, 1),
                "finished_on": utc(2024, 1, 1, 0, 10),
                "invocation_id": None,
                "external_parameters": None,
            },
            id="provenance-v1",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v0.2",
            _PROV_V02,
            {
                "builder_id": "https://example.com/builder",
                "build_type": "https://example.com/build/v02",
                "config_source_uri": "git+https://example.com/src@main",
                "config_source_digest": DigestSet({"sha1": G1}),
                "entry_point": ".ci/build.yml",
                "environment": {"GITHUB_REF": "refs/heads/main"},
                "build_invocation_id": "run-1",
                "started_on": utc(2024, 2, 1),
            },
            id="provenance-v0.2",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v0.1",
            _PROV_V01,
            {
                "build_type": "https://example.com/recipe/v1",
                "entry_point": "build.yaml",
                "environment": {"k": "v"},
                "config_source_uri": "https://example.com/src",
                "config_source_digest": DigestSet({"sha1": G1}),
                "started_on": utc(2022, 9, 6, 17, 54, 10),
            },
            id="provenance-v0.1",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v1",
            _VSA_V1,
            {
                "verifier_id": "https://example.com/verifier",
                "resource_uri": "https://example.com/out.tar",
                "policy_uri": "https://example.com/policy",
                "policy_digest": DigestSet({"sha256": D3}),
                "verification_result": "PASSED",
                "passed": True,
                "verified_levels": ("SLSA_BUILD_LEVEL_3",),
                "dependency_levels": {"SLSA_BUILD_LEVEL_3": 5, "SLSA_BUILD_LEVEL_1": 0},
                "slsa_version": "1.0",
            },
            id="vsa-v1",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v0.2",
            _VSA_V02,
            {
                "verification_result": "FAILED",
                "passed": False,
                "verified_levels": ("SLSA_LEVEL_2",),
                "dependency_levels": {"SLSA_LEVEL_2": 1},
                "resource_uri": "https://example.com/out.tar",
                "policy_digest": None,
                "slsa_version": None,
            },
            id="vsa-v0.2",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v0.2",
            {"verifier": {"id": "v"}},
            {
                "verified_levels": (),
                "dependency_levels": None,
                "verification_result": None,
                "passed": False,
            },
            id="vsa-v0.2-sparse",
        ),
        pytest.param(
            "https://in-toto.io/attestation/vulns/v0.2",
            _VULNS_V02,
            {
                "scanner_uri": "pkg:github/aquasecurity/trivy@244fd47e07d1004f0aed9",
                "scanner_version": "0.19.2",
                "db_uri": "pkg:github/aquasecurity/trivy-db",
                "db_version": "v1",
                "db_last_update": utc(2021, 8, 6, 17, 45, 50, 520000),
                "scan_started_on": utc(2021, 8, 6, 17, 45, 50, 520000),
                "vulnerabilities": (_CVE_123,),
            },
            id="vulns-v0.2",
        ),
        pytest.param(
            "https://in-toto.io/attestation/vulns/v0.1",
            _VULNS_V01,
            {
                "vulnerabilities": (
                    Vulnerability(
                        id="GHSA-fxph-q3j8-mv87",
                        severities=(Severity(method="nvd", score="critical"),),
                    ),
                    Vulnerability(id="CVE-9", severities=(Severity(method="nvd", score="low"),)),
                ),
                "scan_finished_on": None,
            },
            id="vulns-v0.1-nested-and-flat",
        ),
        pytest.param(
            "https://in-toto.io/attestation/vulns/v0.2",
            {"scanner": {"uri": "s", "result": []}},
            {"vulnerabilities": ()},
            id="vulns-empty-result-means-none-found",
        ),
        pytest.param(
            "https://in-toto.io/attestation/vulns/v0.2",
            {"scanner": {"uri": "s"}},
            {"vulnerabilities": None},
            id="vulns-absent-result-means-unknown",
        ),
        pytest.param(
            "https://cosign.sigstore.dev/attestation/vuln/v1",
            _COSIGN_VULN,
            {"vulnerabilities": None, "scanner_uri": "pkg:github/aquasecurity/trivy@v0.30.1"},
            id="cosign-vuln-result-is-opaque",
        ),
        pytest.param(
            "https://in-toto.io/attestation/test-result/v0.1",
            _TEST_RESULT,
            {
                "result": "WARNED",
                "passed": False,
                "url": "https://example.com/runs/1",
                "passed_tests": ("a", "b"),
                "warned_tests": ("c",),
                "failed_tests": (),
            },
            id="test-result",
        ),
        pytest.param(
            "https://in-toto.io/attestation/scai/v0.3",
            _SCAI,
            {"attribute_names": ("WITH_STACK_PROTECTION", "REPRODUCIBLE")},
            id="scai",
        ),
        pytest.param(
            "https://in-toto.io/attestation/release/v0.1",
            _RELEASE,
            {"purl": "pkg:npm/@angular/http@7.2.16", "package_id": "1234567890"},
            id="release",
        ),
        pytest.param(
            "https://in-toto.io/attestation/release/v0.1",
            {"purl": "pkg:pypi/urllib3@2.1.0", "releaseId": "42"},
            {"package_id": "42"},
            id="release-legacy-release-id",
        ),
        pytest.param(
            "https://in-toto.io/attestation/release/v0.1",
            {"purl": "p", "releaseId": "42", "packageId": "42"},
            {"package_id": "42"},
            id="release-both-ids-agree",
        ),
        pytest.param(
            "https://in-toto.io/attestation/reference/v0.1",
            _REFERENCE,
            {"attester_id": "https://my-builder.com/v1"},
            id="reference",
        ),
        pytest.param(
            "https://in-toto.io/attestation/runtime-trace/v0.1",
            _RUNTIME_TRACE,
            {
                "monitor_type": "https://github.com/cilium/tetragon/v0.8.4",
                "host_id": "https://tekton.dev/chains/v2",
                "process_type": "https://tekton.dev/attestations/chains@v2",
                "event": "run-build",
                "started_on": utc(2022, 10, 13, 22, 55, 50),
            },
            id="runtime-trace",
        ),
        pytest.param(
            "https://in-toto.io/attestation/svr/v0.2",
            _SVR,
            {
                "verifier_id": "https://example.com/engine/v1",
                "properties": ("SLSA_BUILD_LEVEL_3", "EXAMPLE_DEPLOYMENT_APPROVED"),
            },
            id="svr",
        ),
        pytest.param(
            "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
            _NPM,
            {
                "package_name": "semver",
                "package_version": "7.5.4",
                "registry": "https://registry.npmjs.org",
            },
            id="npm-publish",
        ),
        pytest.param(
            "https://spdx.dev/Document/v2.3",
            _SPDX2,
            {
                "spec_version": "SPDX-2.3",
                "document_name": "alpine",
                "spdx_id": "SPDXRef-DOCUMENT",
                "document_namespace": "https://example.com/alpine-1",
                "creators": ("Tool: syft-1.6.0",),
            },
            id="spdx-2",
        ),
        pytest.param(
            "https://spdx.dev/Document/v3",
            _SPDX3,
            {
                "spec_version": "3.0.1",
                "document_name": "demo",
                "spdx_id": "https://example.com/doc",
                "creators": (),
            },
            id="spdx-3-referenced-creation-info",
        ),
        pytest.param(
            "https://spdx.dev/Document/v3",
            {
                "@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
                "type": "SpdxDocument",
                "name": "top",
                "creationInfo": {
                    "type": "CreationInfo",
                    "specVersion": "3.0.1",
                    "created": "2025-01-01T00:00:00Z",
                },
            },
            {"spec_version": "3.0.1", "document_name": "top", "created": utc(2025, 1, 1)},
            id="spdx-3-top-level-document-inline-creation-info",
        ),
        pytest.param(
            "https://spdx.dev/Document/v3",
            {"@graph": [{"type": "software_Package", "name": "p"}]},
            {"spec_version": None, "document_name": None, "created": None},
            id="spdx-3-without-document",
        ),
        pytest.param(
            "https://cyclonedx.org/bom",
            _CDX,
            {
                "spec_version": "1.5",
                "document_name": "alpine",
                "bom_format": "CycloneDX",
                "serial_number": "urn:uuid:77d4dea9-2a1e-49bd-9936-a083012bccd9",
                "bom_version": 1,
            },
            id="cyclonedx",
        ),
    ],
)
def test_typed_accessors(ptype: str, predicate: Any, expected: dict[str, Any]) -> None:
    view = view_for(stmt(ptype, predicate))
    for name, want in expected.items():
        got = getattr(view, name)
        if callable(got):
            got = got()
        assert got == want, name


def test_vulnerability_score_lookup() -> None:
    assert _CVE_123.score("cvss_score") == "5.2"
    assert _CVE_123.score("epss") is None


@pytest.mark.parametrize(
    ("ptype", "predicate", "method", "expected"),
    [
        pytest.param(
            "https://in-toto.io/attestation/test-result/v0.1",
            _TEST_RESULT,
            "configuration",
            (
                ResourceDescriptor(
                    name=".github/workflows/ci.yml", digest=DigestSet({"gitBlob": G1})
                ),
            ),
            id="test-result-configuration",
        ),
        pytest.param(
            "https://in-toto.io/attestation/reference/v0.1",
            _REFERENCE,
            "references",
            (
                ResourceDescriptor(
                    digest=DigestSet({"sha256": D3}),
                    download_location="https://example.com/sbom.spdx.json",
                    media_type="application/spdx+json",
                ),
            ),
            id="reference-references",
        ),
        pytest.param(
            "https://in-toto.io/attestation/svr/v0.2",
            _SVR,
            "policies",
            (ResourceDescriptor(uri="https://example.com/p", digest=DigestSet({"sha256": D3})),),
            id="svr-policies",
        ),
        pytest.param(
            "https://in-toto.io/attestation/runtime-trace/v0.1",
            _RUNTIME_TRACE,
            "file_accesses",
            (ResourceDescriptor(name="/src/main.go", digest=DigestSet({"sha256": D2})),),
            id="runtime-trace-file-accesses",
        ),
        pytest.param(
            "https://in-toto.io/attestation/svr/v0.2",
            {"verifier": {"id": "v"}},
            "policies",
            (),
            id="svr-policies-absent",
        ),
    ],
)
def test_descriptor_lists_parsed_on_demand(
    ptype: str, predicate: Any, method: str, expected: Any
) -> None:
    view = view_for(stmt(ptype, predicate))
    assert getattr(view, method)() == expected


@pytest.mark.parametrize(
    ("ptype", "predicate", "method", "path"),
    [
        pytest.param(
            "https://in-toto.io/attestation/test-result/v0.1",
            {
                "result": "PASSED",
                "configuration": [{"name": "ci.yml", "digest": {"sha256": "abcdef"}}],
            },
            "configuration",
            "predicate.configuration[0].digest",
            id="test-result-bad-configuration-digest",
        ),
        pytest.param(
            "https://in-toto.io/attestation/test-result/v0.1",
            {"configuration": "ci.yml"},
            "configuration",
            "predicate.configuration",
            id="test-result-configuration-not-list",
        ),
        pytest.param(
            "https://in-toto.io/attestation/reference/v0.1",
            {"references": [{"mediaType": "application/json"}]},
            "references",
            "predicate.references[0]",
            id="reference-without-uri-digest-content",
        ),
        pytest.param(
            "https://in-toto.io/attestation/svr/v0.2",
            {"verifier": {"policies": [{"uri": "p", "digest": {"sha256": "789abc012def..."}}]}},
            "policies",
            "predicate.verifier.policies[0].digest",
            id="svr-placeholder-policy-digest",
        ),
        pytest.param(
            "https://in-toto.io/attestation/runtime-trace/v0.1",
            {"monitorLog": {"fileAccess": {"name": "x"}}},
            "file_accesses",
            "predicate.monitorLog.fileAccess",
            id="runtime-trace-file-access-not-list",
        ),
    ],
)
def test_descriptor_lists_fail_when_asked(
    ptype: str, predicate: Any, method: str, path: str
) -> None:
    view = view_for(stmt(ptype, predicate))  # the view itself is fine
    with pytest.raises(ValidationError) as info:
        getattr(view, method)()
    assert info.value.path == path


def test_scai_attribute_descriptors() -> None:
    view = view_for(stmt("https://in-toto.io/attestation/scai/v0.3", _SCAI))
    assert isinstance(view, ScaiView)
    first, second = view.attributes
    assert first.conditions == {"flags": "-fstack-protector*"}
    assert first.target is None
    assert first.evidence is None
    assert second.target == ResourceDescriptor(name="lib.so", digest=DigestSet({"sha256": D2}))
    assert second.evidence is not None
    assert second.evidence.uri == "https://example.com/rebuild.json"
    assert view.producer is not None
    assert view.producer.name == "gcc9.3.0"


# ---------- invalid predicates


@pytest.mark.parametrize(
    ("ptype", "predicate", "path"),
    [
        pytest.param(
            "https://in-toto.io/attestation/link/v0.3",
            {"command": "make"},
            "predicate.command",
            id="link-command-not-list",
        ),
        pytest.param(
            "https://in-toto.io/attestation/link/v0.3",
            {"command": ["make", 1]},
            "predicate.command[1]",
            id="link-command-item-not-string",
        ),
        pytest.param(
            "https://in-toto.io/attestation/link/v0.3",
            {"name": ["clone"]},
            "predicate.name",
            id="link-name-not-string",
        ),
        pytest.param(
            "https://in-toto.io/attestation/link/v0.3",
            {"materials": {"a": {"sha256": D2}}},
            "predicate.materials",
            id="link-materials-old-map-form",
        ),
        pytest.param(
            "https://in-toto.io/attestation/link/v0.3",
            {"materials": [{"name": "a", "digest": {"sha256": "ABC"}}]},
            "predicate.materials[0].digest",
            id="link-material-bad-digest",
        ),
        pytest.param(
            "https://in-toto.io/attestation/link/v0.3",
            {
                "materials": [
                    {"name": "a", "digest": {"sha256": D2}},
                    {"name": "a", "digest": {"sha256": D3}},
                ]
            },
            "predicate.materials[1]",
            id="link-material-name-twice-different-digests",
        ),
        pytest.param(
            "https://in-toto.io/attestation/link/v0.3",
            {"environment": ["x"]},
            "predicate.environment",
            id="link-environment-not-object",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v1",
            {"buildDefinition": "x"},
            "predicate.buildDefinition",
            id="provenance-v1-build-definition-not-object",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v1",
            {"buildDefinition": {"buildType": 1}},
            "predicate.buildDefinition.buildType",
            id="provenance-v1-build-type-not-string",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v1",
            {"runDetails": {"builder": {"id": {"uri": "x"}}}},
            "predicate.runDetails.builder.id",
            id="provenance-v1-builder-id-not-string",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v1",
            {"runDetails": {"metadata": {"finishedOn": "2024-01-01T00:00:00"}}},
            "predicate.runDetails.metadata.finishedOn",
            id="provenance-v1-naive-finished-on",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v1",
            {"runDetails": {"metadata": {"startedOn": 1704067200}}},
            "predicate.runDetails.metadata.startedOn",
            id="provenance-v1-epoch-started-on",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v1",
            {"buildDefinition": {"resolvedDependencies": [{"name": "only-a-name"}]}},
            "predicate.buildDefinition.resolvedDependencies[0]",
            id="provenance-v1-dependency-without-uri-digest-content",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v0.2",
            {"invocation": {"configSource": {"uri": "x", "digest": {"sha1": "short"}}}},
            "predicate.invocation.configSource.digest",
            id="provenance-v0.2-bad-config-source-digest",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v0.2",
            {"metadata": {"buildFinishedOn": "2024-02-01"}},
            "predicate.metadata.buildFinishedOn",
            id="provenance-v0.2-date-only",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v0.2",
            {
                "materials": [
                    {"uri": "a", "digest": {"sha1": G1}},
                    {"uri": "a", "digest": {"sha1": "b" * 40}},
                ]
            },
            "predicate.materials[1]",
            id="provenance-v0.2-uri-twice-different-digests",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v0.1",
            {
                "recipe": {"definedInMaterial": 1},
                "materials": [{"uri": "a", "digest": {"sha1": G1}}],
            },
            "predicate.recipe.definedInMaterial",
            id="provenance-v0.1-defined-in-material-out-of-range",
        ),
        pytest.param(
            "https://slsa.dev/provenance/v0.1",
            {
                "recipe": {"definedInMaterial": True},
                "materials": [{"uri": "a", "digest": {"sha1": G1}}],
            },
            "predicate.recipe.definedInMaterial",
            id="provenance-v0.1-defined-in-material-boolean",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v1",
            {"verifiedLevels": "SLSA_BUILD_LEVEL_3"},
            "predicate.verifiedLevels",
            id="vsa-levels-not-list",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v1",
            {"verificationResult": True},
            "predicate.verificationResult",
            id="vsa-result-not-string",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v1",
            {"dependencyLevels": {"SLSA_BUILD_LEVEL_3": -1}},
            "predicate.dependencyLevels.SLSA_BUILD_LEVEL_3",
            id="vsa-negative-dependency-count",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v1",
            {"dependencyLevels": {"SLSA_BUILD_LEVEL_3": True}},
            "predicate.dependencyLevels.SLSA_BUILD_LEVEL_3",
            id="vsa-boolean-dependency-count",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v1",
            {"dependencyLevels": {"SLSA_BUILD_LEVEL_3": None}},
            "predicate.dependencyLevels.SLSA_BUILD_LEVEL_3",
            id="vsa-null-dependency-count",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v1",
            {"policy": {"uri": "p", "digest": {"sha256": "1234..."}}},
            "predicate.policy.digest",
            id="vsa-placeholder-policy-digest",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v1",
            {"timeVerified": "yesterday"},
            "predicate.timeVerified",
            id="vsa-time-not-rfc3339",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v0.2",
            {"time_verified": "2024-01-01T00:00:00"},
            "predicate.time_verified",
            id="vsa-v0.2-naive-time",
        ),
        pytest.param(
            "https://slsa.dev/verification_summary/v0.2",
            {"policy_level": ["SLSA_LEVEL_3"]},
            "predicate.policy_level",
            id="vsa-v0.2-policy-level-not-string",
        ),
        pytest.param(
            "https://in-toto.io/attestation/vulns/v0.2",
            {"scanner": {"result": {"id": "CVE-1"}}},
            "predicate.scanner.result",
            id="vulns-result-not-list",
        ),
        pytest.param(
            "https://in-toto.io/attestation/vulns/v0.2",
            {"scanner": {"result": [{"severity": []}]}},
            "predicate.scanner.result[0].id",
            id="vulns-missing-id",
        ),
        pytest.param(
            "https://in-toto.io/attestation/vulns/v0.1",
            {"scanner": {"result": [{"vulnerability": {"severity": []}}]}},
            "predicate.scanner.result[0].vulnerability.id",
            id="vulns-v0.1-nested-missing-id",
        ),
        pytest.param(
            "https://in-toto.io/attestation/vulns/v0.2",
            {
                "scanner": {
                    "result": [{"id": "CVE-1", "severity": [{"method": "cvss", "score": 9.8}]}]
                }
            },
            "predicate.scanner.result[0].severity[0].score",
            id="vulns-numeric-score",
        ),
        pytest.param(
            "https://in-toto.io/attestation/vulns/v0.2",
            {"scanner": {"result": [{"id": "CVE-1", "severity": "high"}]}},
            "predicate.scanner.result[0].severity",
            id="vulns-severity-string",
        ),
        pytest.param(
            "https://in-toto.io/attestation/vulns/v0.2",
            {"scanner": {"db": {"lastUpdate": "2021-08-06"}}},
            "predicate.scanner.db.lastUpdate",
            id="vulns-db-last-update-date-only",
        ),
        pytest.param(
            "https://cosign.sigstore.dev/attestation/vuln/v1",
            {"metadata": {"scanFinishedOn": ""}},
            "predicate.metadata.scanFinishedOn",
            id="cosign-vuln-empty-time",
        ),
        pytest.param(
            "https://in-toto.io/attestation/test-result/v0.1",
            {"result": 1},
            "predicate.result",
            id="test-result-result-not-string",
        ),
        pytest.param(
            "https://in-toto.io/attestation/test-result/v0.1",
            {"failedTests": [None]},
            "predicate.failedTests[0]",
            id="test-result-failed-test-null",
        ),
        pytest.param(
            "https://in-toto.io/attestation/scai/v0.3",
            {"attributes": [{"conditions": {}}]},
            "predicate.attributes[0].attribute",
            id="scai-missing-attribute",
        ),
        pytest.param(
            "https://in-toto.io/attestation/scai/v0.3",
            {"attributes": ["REPRODUCIBLE"]},
            "predicate.attributes[0]",
            id="scai-attribute-not-object",
        ),
        pytest.param(
            "https://in-toto.io/attestation/scai/v0.3",
            {
                "attributes": [
                    {
                        "attribute": "A",
                        "evidence": {"name": "e", "digest": {"sha256": "abcdabcde..."}},
                    }
                ]
            },
            "predicate.attributes[0].evidence.digest",
            id="scai-placeholder-evidence-digest",
        ),
        pytest.param(
            "https://in-toto.io/attestation/scai/v0.3",
            {"producer": {"name": "gcc"}},
            "predicate.producer",
            id="scai-producer-name-only",
        ),
        pytest.param(
            "https://in-toto.io/attestation/release/v0.1",
            {"purl": 7},
            "predicate.purl",
            id="release-purl-not-string",
        ),
        pytest.param(
            "https://in-toto.io/attestation/release/v0.1",
            {"packageId": "1", "releaseId": "2"},
            "predicate.packageId",
            id="release-ids-disagree",
        ),
        pytest.param(
            "https://in-toto.io/attestation/reference/v0.1",
            {"attester": "https://x"},
            "predicate.attester",
            id="reference-attester-not-object",
        ),
        pytest.param(
            "https://in-toto.io/attestation/runtime-trace/v0.1",
            {"metadata": {"buildFinishedOn": "2022-10-13"}},
            "predicate.metadata.buildFinishedOn",
            id="runtime-trace-date-only",
        ),
        pytest.param(
            "https://in-toto.io/attestation/runtime-trace/v0.1",
            {"monitoredProcess": {"hostID": 3}},
            "predicate.monitoredProcess.hostID",
            id="runtime-trace-host-not-string",
        ),
        pytest.param(
            "https://in-toto.io/attestation/svr/v0.2",
            {"properties": "SLSA_BUILD_LEVEL_3"},
            "predicate.properties",
            id="svr-properties-not-list",
        ),
        pytest.param(
            "https://in-toto.io/attestation/svr/v0.2",
            {"timeCreated": "1985-04-12T23:20:50.52"},
            "predicate.timeCreated",
            id="svr-naive-time",
        ),
        pytest.param(
            "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
            {"version": 7},
            "predicate.version",
            id="npm-version-not-string",
        ),
        pytest.param(
            "https://spdx.dev/Document/v2.3",
            {"creationInfo": {"created": "2024-06-15"}},
            "predicate.creationInfo.created",
            id="spdx-2-created-date-only",
        ),
        pytest.param(
            "https://spdx.dev/Document/v2.3",
            {"spdxVersion": 2.3},
            "predicate.spdxVersion",
            id="spdx-2-version-not-string",
        ),
        pytest.param(
            "https://spdx.dev/Document/v3",
            {
                "@graph": [
                    {"type": "SpdxDocument", "name": "a"},
                    {"type": "SpdxDocument", "name": "b"},
                ]
            },
            "predicate.@graph",
            id="spdx-3-two-documents",
        ),
        pytest.param(
            "https://spdx.dev/Document/v3",
            {"@graph": [{"type": "SpdxDocument", "creationInfo": "_:nowhere"}]},
            "predicate.@graph[0].creationInfo",
            id="spdx-3-dangling-creation-info",
        ),
        pytest.param(
            "https://spdx.dev/Document/v3",
            {"@graph": [{"type": "SpdxDocument", "creationInfo": 5}]},
            "predicate.@graph[0].creationInfo",
            id="spdx-3-creation-info-number",
        ),
        pytest.param(
            "https://spdx.dev/Document/v3",
            {
                "@graph": [
                    {"type": "SpdxDocument", "creationInfo": "_:ci"},
                    {"@id": "_:ci", "type": "CreationInfo", "created": "2024-11-06"},
                ]
            },
            "predicate.@graph[1].created",
            id="spdx-3-created-date-only",
        ),
        pytest.param(
            "https://spdx.dev/Document/v3",
            {"@graph": {"type": "SpdxDocument"}},
            "predicate.@graph",
            id="spdx-3-graph-not-list",
        ),
        pytest.param(
            "https://cyclonedx.org/bom",
            {"version": "1"},
            "predicate.version",
            id="cyclonedx-version-string",
        ),
        pytest.param(
            "https://cyclonedx.org/bom",
            {"metadata": {"timestamp": "2024-06-15T15:30:29"}},
            "predicate.metadata.timestamp",
            id="cyclonedx-naive-timestamp",
        ),
        pytest.param(
            "https://cyclonedx.org/bom",
            {"metadata": {"component": {"name": ["alpine"]}}},
            "predicate.metadata.component.name",
            id="cyclonedx-component-name-not-string",
        ),
    ],
)
def test_wrong_field_types_are_rejected_with_their_path(
    ptype: str, predicate: Any, path: str
) -> None:
    with pytest.raises(ValidationError) as info:
        view_for(stmt(ptype, predicate))
    assert info.value.path == path


@pytest.mark.parametrize(
    "ptype",
    [
        pytest.param("https://in-toto.io/attestation/test-result/v0.1", id="test-result"),
        pytest.param("https://slsa.dev/verification_summary/v1", id="vsa"),
        pytest.param("https://example.com/unknown", id="unknown"),
    ],
)
def test_subject_name_twice_with_different_digests_is_rejected(ptype: str) -> None:
    subjects = [{"name": "a", "digest": {"sha256": D1}}, {"name": "a", "digest": {"sha256": D2}}]
    with pytest.raises(ValidationError, match="listed again with different digests") as info:
        view_for(stmt(ptype, {}, subjects))
    assert info.value.path == "subject[1]"


@pytest.mark.parametrize(
    "ptype",
    [
        pytest.param("https://slsa.dev/provenance/v1", id="provenance-v1"),
        pytest.param("https://in-toto.io/attestation/link/v0.3", id="link"),
    ],
)
def test_subject_twice_as_product_is_rejected(ptype: str) -> None:
    subjects = [
        {"name": "a", "digest": {"sha256": D1}},
        {"name": "a", "digest": {"sha512": "f" * 128}},
    ]
    with pytest.raises(ValidationError) as info:
        view_for(stmt(ptype, {}, subjects))
    assert info.value.path == "subject[1]"


# ---------- artifact maps


def test_artifacts_name_preferred_then_uri_and_skips_reported() -> None:
    named = ResourceDescriptor(
        name="src.c", uri="https://example.com/src.c", digest=DigestSet({"sha256": D1})
    )
    by_uri = ResourceDescriptor(
        uri="git+https://example.com/repo", digest=DigestSet({"gitCommit": G1})
    )
    no_digest = ResourceDescriptor(name="toolchain", uri="https://example.com/toolchain")
    no_name = ResourceDescriptor(digest=DigestSet({"sha256": D2}))
    again = ResourceDescriptor(name="src.c", digest=DigestSet({"sha256": D1}))
    artifacts = Artifacts.collect(
        [("m[0]", named), ("m[1]", by_uri), ("m[2]", no_digest), ("m[3]", no_name), ("m[4]", again)]
    )
    assert dict(artifacts.digests) == {
        "src.c": DigestSet({"sha256": D1}),
        "git+https://example.com/repo": DigestSet({"gitCommit": G1}),
    }
    assert artifacts.undigested == (no_digest,)
    assert artifacts.unnamed == (no_name,)
    assert artifacts.descriptors == (named, by_uri, no_digest, no_name, again)


def test_undigested_materials_are_reported_not_mapped() -> None:
    predicate = {
        "materials": [
            {"uri": "git+https://example.com/src@main", "digest": {"sha1": G1}},
            {"uri": "https://github.com/actions/runner-images/releases/tag/ubuntu24"},
        ]
    }
    view = view_for(stmt("https://slsa.dev/provenance/v0.2", predicate))
    assert view.materials() == {"git+https://example.com/src@main": DigestSet({"sha1": G1})}
    assert view.undigested_materials() == (
        ResourceDescriptor(uri="https://github.com/actions/runner-images/releases/tag/ubuntu24"),
    )


def test_unnamed_subjects_are_reported_not_mapped() -> None:
    subjects = [{"digest": {"gitCommit": G1}}]
    view = view_for(
        stmt("https://in-toto.io/attestation/test-result/v0.1", {"result": "PASSED"}, subjects)
    )
    assert view.materials() == {}
    assert view.unnamed_materials() == (ResourceDescriptor(digest=DigestSet({"gitCommit": G1})),)


def test_subject_repeated_with_same_digest_counts_once() -> None:
    subjects = [{"name": "a", "digest": {"sha256": D1}}, {"name": "a", "digest": {"sha256": D1}}]
    view = view_for(stmt("https://slsa.dev/provenance/v1", {}, subjects))
    assert view.products() == {"a": DigestSet({"sha256": D1})}


def test_subject_named_by_uri() -> None:
    subjects = [{"uri": "pkg:oci/image", "digest": {"sha256": D1}}]
    view = view_for(stmt("https://slsa.dev/provenance/v1", {}, subjects))
    assert view.products() == {"pkg:oci/image": DigestSet({"sha256": D1})}


# ---------- read-only


def test_views_are_immutable() -> None:
    view = view_for(stmt("https://slsa.dev/provenance/v0.2", _PROV_V02))
    assert isinstance(view, ProvenanceV02View)
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.builder_id = "https://evil.example.com"  # type: ignore[misc]
    materials = view.materials()
    materials["injected"] = DigestSet({"sha256": D3})
    assert "injected" not in view.materials()
    with pytest.raises(TypeError):
        view.material_set.digests["injected"] = DigestSet({"sha256": D3})  # type: ignore[index]
    assert view.environment is not None
    with pytest.raises(TypeError):
        view.environment["GITHUB_REF"] = "refs/heads/evil"  # type: ignore[index]


def test_null_fields_read_as_absent() -> None:
    predicate = {
        "buildDefinition": None,
        "runDetails": {"builder": None, "metadata": {"finishedOn": None}},
    }
    view = view_for(stmt("https://slsa.dev/provenance/v1", predicate))
    assert isinstance(view, ProvenanceV1View)
    assert view.builder_id is None
    assert view.timestamp() is None
    assert view.materials() == {}


def test_unknown_fields_are_ignored() -> None:
    predicate = {**_PROV_V1, "https://example.com/extension": {"anything": True}}
    view = view_for(stmt("https://slsa.dev/provenance/v1", predicate))
    assert isinstance(view, ProvenanceV1View)
    assert view.builder_id == "https://example.com/builder"


# ---------- attestation-verifier fixtures


def _load(path: Path) -> Any:
    return json.loads(need(path).read_text(encoding="utf-8"))


_E3B0 = DigestSet({"sha256": EMPTY_SHA256})


@pytest.mark.parametrize(
    ("name", "cls", "materials", "products"),
    [
        pytest.param("clone.json", LinkView, {}, {"foo": _E3B0}, id="clone-link"),
        pytest.param("test.json", TestResultView, {"foo": _E3B0}, {}, id="test-result"),
        pytest.param(
            "build.json",
            ProvenanceV1View,
            {"foo": _E3B0},
            {"bin/foo": DigestSet({"sha256": BIN_FOO})},
            id="build-provenance-v1",
        ),
    ],
)
def test_attestation_verifier_demo_statements(
    name: str,
    cls: type[PredicateView],
    materials: dict[str, DigestSet],
    products: dict[str, DigestSet],
) -> None:
    # layouts/layout.yml: the test and build steps MATCH foo against clone's
    # products in their materials, then DISALLOW * (so nothing else may be a
    # material: not even the test's configuration).
    view = view_for(
        Statement.from_dict(_load(AV / "attestation-verifier" / "test-data-raw" / name))
    )
    assert type(view) is cls
    assert view.materials() == materials
    assert view.products() == products


def test_attestation_verifier_test_configuration_has_invalid_digest() -> None:
    # The upstream fixture's configuration digest is "sha256": "abcdef": the
    # view must still be usable (the upstream run passes), and the field
    # fails only when read.
    view = view_for(
        Statement.from_dict(_load(AV / "attestation-verifier" / "test-data-raw" / "test.json"))
    )
    assert isinstance(view, TestResultView)
    assert view.passed
    assert view.failed_tests == ()
    with pytest.raises(ValidationError) as info:
        view.configuration()
    assert info.value.path == "predicate.configuration[0].digest"


def test_attestation_verifier_npm_publish_matches_build_products() -> None:
    # layouts/layout-npm.yml: publish says MATCH * WITH products FROM build.
    raw = AV / "attestation-verifier" / "test-data-npm-raw"
    build = view_for(Statement.from_dict(_load(raw / "build.json")))
    publish = view_for(Statement.from_dict(_load(raw / "publish.json")))
    assert isinstance(build, ProvenanceV02View)
    assert isinstance(publish, NpmPublishView)
    assert build.materials() == {
        "git+https://github.com/sigstore/sigstore-js@refs/heads/main": DigestSet(
            {"sha1": "5b8c0801d1f5d105351a403f58c38269de93f680"}
        )
    }
    assert set(build.products()) == {"pkg:npm/sigstore@1.2.0"}
    assert publish.materials() == build.products()
    assert publish.products() == {}
    assert (publish.package_name, publish.package_version) == ("sigstore", "1.2.0")
    assert build.entry_point == ".github/workflows/release.yml"


# ---------- spec examples

# Per the corpus README only these carry real, lowercase-hex subject digests;
# every other example uses placeholders ("4faeb1b2...", "3A244fd...") that a
# strict DigestSet must reject.
SPEC_EXAMPLES_VALID = ("reference.ex1", "reference.ex2", "test-result.ex1")
SPEC_EXAMPLES_PLACEHOLDER_DIGESTS = (
    "release.ex1",
    "release.ex2",
    "release.ex3",
    "release.ex4",
    "release.ex5",
    "scai.ex1",
    "scai.ex2",
    "scai.ex3",
    "slsa-verification_summary.ex1",
    "svr.ex1",
    "svr.ex2",
    "svr.ex3",
)


def test_spec_example_lists_cover_the_directory() -> None:
    present = {p.stem for p in need(SPEC_EXAMPLES).glob("*.ex*.json")}
    assert present == set(SPEC_EXAMPLES_VALID) | set(SPEC_EXAMPLES_PLACEHOLDER_DIGESTS)


@pytest.mark.parametrize("name", SPEC_EXAMPLES_PLACEHOLDER_DIGESTS)
def test_spec_examples_with_placeholder_digests_are_rejected(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        Statement.from_dict(_load(SPEC_EXAMPLES / f"{name}.json"))
    assert info.value.path == "subject[0].digest"


@pytest.mark.parametrize(
    ("name", "cls", "expected"),
    [
        pytest.param(
            "reference.ex1",
            ReferenceView,
            {"attester_id": "https://my-builder.com/v1", "timestamp": None},
            id="reference.ex1",
        ),
        pytest.param(
            "reference.ex2",
            ReferenceView,
            {
                "materials": {
                    "foo.deb": DigestSet({"sha256": FOO_DEB}),
                    "bar.deb": DigestSet({"sha256": BAR_DEB}),
                }
            },
            id="reference.ex2",
        ),
        pytest.param(
            "test-result.ex1",
            TestResultView,
            {
                "result": "PASSED",
                "url": "https://github.com/in-toto/in-toto/actions/runs/4425592351",
                "materials": {},
                "unnamed_materials": (
                    ResourceDescriptor(
                        digest=DigestSet({"gitCommit": "d20ace7968ba43c0219f62d71334c1095bab1602"})
                    ),
                ),
                "warned_tests": (),
                "failed_tests": (),
            },
            id="test-result.ex1",
        ),
    ],
)
def test_spec_examples_with_real_digests(
    name: str, cls: type[PredicateView], expected: dict[str, Any]
) -> None:
    view = view_for(Statement.from_dict(_load(SPEC_EXAMPLES / f"{name}.json")))
    assert type(view) is cls
    for attr, want in expected.items():
        got = getattr(view, attr)
        assert (got() if callable(got) else got) == want, attr


def test_spec_example_reference_documents() -> None:
    view = view_for(Statement.from_dict(_load(SPEC_EXAMPLES / "reference.ex1.json")))
    assert isinstance(view, ReferenceView)
    (ref,) = view.references()
    assert ref.download_location == "https://cloud.com/my-sboms/sbom.spdx.json"
    assert ref.media_type == "application/spdx+json"


def test_spec_example_test_result_configuration() -> None:
    view = view_for(Statement.from_dict(_load(SPEC_EXAMPLES / "test-result.ex1.json")))
    assert isinstance(view, TestResultView)
    assert len(view.passed_tests) == 13
    (config,) = view.configuration()
    assert config.digest == DigestSet({"gitBlob": "ebe4add40f63c3c98bc9b32ff1e736f04120b023"})


def _with_real_subject_digests(doc: dict[str, Any]) -> dict[str, Any]:
    for sub in doc["subject"]:
        sub["digest"] = {alg: ("c" * (128 if alg == "sha512" else 64)) for alg in sub["digest"]}
    return doc


@pytest.mark.parametrize(
    ("name", "cls", "expected"),
    [
        pytest.param(
            "release.ex1",
            ReleaseView,
            {"purl": "pkg:npm/@angular/http@7.2.16", "package_id": "1234567890"},
            id="release.ex1",
        ),
        pytest.param(
            "release.ex3",
            ReleaseView,
            {
                "purl": "pkg:oci/my-image@sha256%3Afedcba09"
                "?repository_url=registry.example.com/my-project/my-image&tag=v1.2.3"
            },
            id="release.ex3",
        ),
        pytest.param(
            "release.ex4",
            NpmPublishView,
            {
                "package_name": "semver",
                "package_version": "7.5.4",
                "registry": "https://registry.npmjs.org",
            },
            id="release.ex4-npm-publish",
        ),
        pytest.param(
            "svr.ex2",
            SimpleVerificationResultView,
            {
                "verifier_id": "https://example.com/security_scanner/v3",
                "timestamp": utc(2024, 3, 15, 10, 30),
                "policies": (),
                "properties": (
                    "VERIFIER_VULN_SCANNED_1",
                    "VERIFIER_NO_CRITICAL_VULNERABILITIES",
                    "VERIFIER_NO_HIGH_VULNERABILITIES",
                ),
            },
            id="svr.ex2",
        ),
        pytest.param(
            "svr.ex1",
            SimpleVerificationResultView,
            {"timestamp": utc(1985, 4, 12, 23, 20, 50, 520000)},
            id="svr.ex1",
        ),
    ],
)
def test_spec_example_predicates(
    name: str, cls: type[PredicateView], expected: dict[str, Any]
) -> None:
    # The subjects' placeholder digests replaced, to read the predicates.
    view = view_for(
        Statement.from_dict(_with_real_subject_digests(_load(SPEC_EXAMPLES / f"{name}.json")))
    )
    assert type(view) is cls
    for attr, want in expected.items():
        got = getattr(view, attr)
        assert (got() if callable(got) else got) == want, attr


@pytest.mark.parametrize(
    ("name", "path"),
    [
        pytest.param("scai.ex1", "predicate.producer.digest", id="scai.ex1"),
        pytest.param("scai.ex2", "predicate.attributes[1].evidence.digest", id="scai.ex2"),
        pytest.param("scai.ex3", "predicate.attributes[0].evidence.digest", id="scai.ex3"),
        pytest.param("slsa-verification_summary.ex1", "predicate.policy.digest", id="vsa.ex1"),
    ],
)
def test_spec_example_predicates_with_placeholder_digests(name: str, path: str) -> None:
    # Placeholders also sit inside these predicates, in fields the views read.
    statement = Statement.from_dict(
        _with_real_subject_digests(_load(SPEC_EXAMPLES / f"{name}.json"))
    )
    with pytest.raises(ValidationError) as info:
        view_for(statement)
    assert info.value.path == path


# ---------- Go binding cases

# name -> (accepted by us, why we differ from Go's Validate() or None)
GO_STATEMENT_CASES: dict[str, tuple[bool, str | None]] = {
    "valid v1": (True, None),
    "legacy v0.1 accepted by Go": (True, None),
    "v2 type": (False, None),
    "v0.2 type": (False, None),
    "bad type host": (False, None),
    "no subjects": (False, None),
    "subject missing name/uri/digest": (False, None),
    "subject without digest": (False, None),
    "empty predicateType": (False, None),
    "missing predicate": (
        True,
        "spec/v1/statement.md makes predicate OPTIONAL; Go requires it",
    ),
}
GO_RESOURCE_DESCRIPTOR_CASES: dict[str, tuple[bool, str | None]] = {
    "full RD": (True, None),
    "supported + custom algs": (True, None),
    "no name/uri/digest": (False, None),
    "non-hex sha256": (False, None),
    "short sha256": (False, None),
    "gitCommit sha1 length": (True, None),
    "gitCommit sha256 length": (True, None),
    "gitCommit bad length": (False, None),
}


def _go_cases(kind: str) -> Any:
    return _load(SPEC_EXAMPLES / "go-binding-validation-cases.json")[kind]


@pytest.mark.parametrize(
    ("kind", "table"),
    [
        pytest.param("statement_cases", GO_STATEMENT_CASES, id="statement"),
        pytest.param(
            "resource_descriptor_cases", GO_RESOURCE_DESCRIPTOR_CASES, id="resource-descriptor"
        ),
    ],
)
def test_go_binding_case_tables_cover_the_file(kind: str, table: dict[str, Any]) -> None:
    assert {case["name"] for case in _go_cases(kind)} == set(table)


@pytest.mark.parametrize("name", list(GO_STATEMENT_CASES))
def test_go_binding_statement_cases(name: str) -> None:
    (case,) = [c for c in _go_cases("statement_cases") if c["name"] == name]
    accepted, why_different = GO_STATEMENT_CASES[name]
    go_accepts = case["expect"].startswith("ok")
    assert (accepted == go_accepts) == (why_different is None), (
        "difference from Go must be explained"
    )
    if accepted:
        statement = Statement.from_dict(case["json"])
        assert statement.to_dict() == case["json"]
        view_for(statement)
    else:
        with pytest.raises(ValidationError):
            Statement.from_dict(case["json"])


@pytest.mark.parametrize("name", list(GO_RESOURCE_DESCRIPTOR_CASES))
def test_go_binding_resource_descriptor_cases(name: str) -> None:
    (case,) = [c for c in _go_cases("resource_descriptor_cases") if c["name"] == name]
    accepted, why_different = GO_RESOURCE_DESCRIPTOR_CASES[name]
    go_accepts = case["expect"].startswith("ok")
    assert (accepted == go_accepts) == (why_different is None), (
        "difference from Go must be explained"
    )
    if accepted:
        assert ResourceDescriptor.from_dict(case["json"]).to_dict() == case["json"]
    else:
        with pytest.raises(ValidationError):
            ResourceDescriptor.from_dict(case["json"])


@pytest.mark.parametrize(
    ("rd", "accepted"),
    [
        # Go's Validate() requires one of name/uri/digest; spec/v1/resource_descriptor.md
        # requires one of uri/digest/content. We follow the spec.
        pytest.param({"name": "theName"}, False, id="name-only-go-accepts-spec-does-not"),
        pytest.param(
            {"content": base64.b64encode(b"bytescontent").decode()},
            True,
            id="content-only-go-rejects-spec-accepts",
        ),
    ],
)
def test_resource_descriptor_required_fields_follow_the_spec(
    rd: dict[str, Any], accepted: bool
) -> None:
    if accepted:
        assert ResourceDescriptor.from_dict(rd).to_dict() == rd
    else:
        with pytest.raises(ValidationError, match="at least one of uri, digest, content"):
            ResourceDescriptor.from_dict(rd)


# ---------- real-world attestations


def _statements_in(path: Path) -> Iterator[dict[str, Any]]:
    # Statements inside DSSE envelopes (bare, in Sigstore bundles, in npm's
    # wrapper) and PEP 740 attestations, in JSON or JSON Lines files.
    text = need(path).read_text(encoding="utf-8")
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if "payload" in node and "payloadType" in node:
                yield json.loads(base64.b64decode(node["payload"]))
            elif isinstance(node.get("statement"), str) and "signature" in node:
                yield json.loads(base64.b64decode(node["statement"]))
            else:
                for value in node.values():
                    yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    for doc in docs:
        yield from walk(doc)


_EXAMPLE_PACKAGE = "git+https://github.com/slsa-framework/example-package@refs/heads/main"
_RULES_LINT = "git+https://github.com/aspect-build/rules_lint@refs/heads/publish-to-bcr"
_NODEJS_BUILDER = (
    "https://github.com/slsa-framework/slsa-github-generator"
    "/.github/workflows/builder_nodejs_slsa3.yml@refs/tags/v1.6.0"
)


def _real_world_view(relative: str, ptype: str) -> PredicateView:
    for doc in _statements_in(REAL_WORLD / relative):
        if doc.get("predicateType") == ptype:
            return view_for(Statement.from_dict(doc))
    raise AssertionError(f"no {ptype} statement in {relative}")


@pytest.mark.parametrize(
    ("relative", "ptype", "cls", "expected"),
    [
        pytest.param(
            "01-slsaverifier-gha-go-v2.1.0/binary-linux-amd64-workflow_dispatch.intoto.jsonl",
            "https://slsa.dev/provenance/v0.2",
            ProvenanceV02View,
            {
                "builder_id": "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml@refs/tags/v2.1.0",
                "build_type": "https://github.com/slsa-framework/slsa-github-generator/go@v1",
                "materials": {
                    _EXAMPLE_PACKAGE: DigestSet(
                        {"sha1": "4d329c75e7ec1725f7c9ce917a8799d408d06be3"}
                    )
                },
                "products": {
                    "gha_go-binary-linux-amd64-workflow_dispatch": DigestSet(
                        {"sha256": GHA_GO_BINARY}
                    )
                },
                "undigested_materials": (
                    ResourceDescriptor(
                        uri="https://github.com/actions/virtual-environments/releases/tag/ubuntu24/20250223.1.0"
                    ),
                ),
                "timestamp": None,
            },
            id="slsa-github-generator-v0.2",
        ),
        pytest.param(
            "03-slsaverifier-bcr-slsa-v1/MODULE.bazel.intoto.jsonl",
            "https://slsa.dev/provenance/v1",
            ProvenanceV1View,
            {
                "build_type": "https://actions.github.io/buildtypes/workflow/v1",
                "builder_id": "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml@refs/tags/v0.0.1",
                "invocation_id": "https://github.com/aspect-build/rules_lint/actions/runs/14095611671/attempts/1",
                "materials": {
                    _RULES_LINT: DigestSet(
                        {"gitCommit": "8f70009fde0c94ade6ce2a054b94718c819126ec"}
                    )
                },
                "products": {"MODULE.bazel": DigestSet({"sha256": MODULE_BAZEL})},
            },
            id="bcr-provenance-v1",
        ),
        pytest.param(
            "08-slsaverifier-bundle-v0.1-slsa1draft/attestation.intoto.sigstore",
            "https://slsa.dev/provenance/v1.0?draft",
            ProvenanceV1View,
            {
                "build_type": "https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0",
                "materials": {},
                "products": {"example-linux-amd64": DigestSet({"sha256": EXAMPLE_LINUX_AMD64})},
            },
            id="provenance-v1-draft",
        ),
        pytest.param(
            "10-slsaverifier-vsa-gce/gke-gce-pre.bcid-vsa.jsonl",
            "https://slsa.dev/verification_summary/v1",
            VerificationSummaryView,
            {
                "verifier_id": "https://bcid.corp.google.com/verifier/bcid_package_enforcer/v0.1",
                "passed": True,
                "verified_levels": ("BCID_L1", "SLSA_BUILD_LEVEL_2"),
                "resource_uri": "gce_image://gke-node-images:gke-12615-gke1418000-cos-101-17162-463-29-c-cgpv1-pre",
                "policy_digest": None,
                "timestamp": utc(2024, 6, 12, 7, 24, 34, 351608),
                "materials": {"_": DigestSet({"gce_image_id": "8970095005306000053"})},
                "products": {},
            },
            id="vsa-v1",
        ),
        pytest.param(
            "11-slsaverifier-gcb-v0.3/gcloud-container-github.json",
            "https://slsa.dev/provenance/v0.1",
            ProvenanceV01View,
            {
                "builder_id": "https://cloudbuild.googleapis.com/GoogleHostedWorker@v0.3",
                "build_type": "https://cloudbuild.googleapis.com/CloudBuildYaml@v0.1",
                "entry_point": "cloudbuild.yaml",
                "build_invocation_id": "11f6c682-3451-4f72-ac2a-8e386eab66af",
                "started_on": utc(2022, 9, 6, 17, 54, 10, 226833),
                "timestamp": utc(2022, 9, 6, 17, 54, 22, 169342),
                "materials": {
                    "https://github.com/laurentsimon/gcb-tests": DigestSet(
                        {"sha1": "01ce393d04eb6df2a7b2b3e95d4126e687afb7ae"}
                    )
                },
            },
            id="gcb-provenance-v0.1",
        ),
        pytest.param(
            "16-sigstorego-npm-publish-keyed/bundle-publish.json",
            "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
            NpmPublishView,
            {"package_name": "sigstore", "package_version": "1.3.0", "products": {}},
            id="npm-publish",
        ),
        pytest.param(
            "09-slsaverifier-npm-attestations/provenance-npm-test-ossf.tgz.json",
            "https://slsa.dev/provenance/v0.2",
            ProvenanceV02View,
            {
                "build_type": "https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0",
                "builder_id": _NODEJS_BUILDER,
            },
            id="npm-registry-wrapper-provenance",
        ),
        pytest.param(
            "24-pypi-pep740-pypi_attestations-0.0.19/pypi_attestations-0.0.19.tar.gz.publish.attestation",
            "https://docs.pypi.org/attestations/publish/v1",
            PypiPublishView,
            {
                "materials": {
                    "pypi_attestations-0.0.19.tar.gz": DigestSet(
                        {"sha256": PYPI_ATTESTATIONS_SDIST}
                    )
                },
                "timestamp": None,
            },
            id="pypi-publish",
        ),
        pytest.param(
            "19-cosign-oci-attestation/oci-attestation.sigstore.json",
            "https://cosign.sigstore.dev/attestation/v1",
            GenericView,
            {"products": {}, "timestamp": None},
            id="cosign-generic-is-unregistered",
        ),
        pytest.param(
            "33-guac-oci-dsse-att/oci-dsse-att.json",
            "https://slsa.dev/provenance/v0.2",
            ProvenanceV02View,
            {
                "builder_id": "https://tekton.dev/chains/v2",
                "materials": {},
                "timestamp": utc(2022, 12, 20, 14, 9, 36),
            },
            id="tekton-chains-v0.2",
        ),
    ],
)
def test_real_world_attestations(
    relative: str, ptype: str, cls: type[PredicateView], expected: dict[str, Any]
) -> None:
    view = _real_world_view(relative, ptype)
    assert type(view) is cls
    for attr, want in expected.items():
        got = getattr(view, attr)
        assert (got() if callable(got) else got) == want, attr


@pytest.mark.parametrize(
    ("document", "ptype", "expected"),
    [
        pytest.param(
            "sbom.spdx.json",
            "https://spdx.dev/Document/v2.3",
            {
                "cls": SpdxView,
                "spec_version": "SPDX-2.3",
                "document_name": "alpine",
                "document_namespace": "https://anchore.com/syft/image/alpine-3859501a-b364-412b-b015-1d2cb49cf727",
                "creators": ("Organization: Anchore, Inc", "Tool: syft-1.6.0"),
                "timestamp": utc(2024, 6, 15, 20, 27, 58),
            },
            id="syft-spdx",
        ),
        pytest.param(
            "sbom.cdx.json",
            "https://cyclonedx.org/bom/v1.5",
            {
                "cls": CycloneDxView,
                "spec_version": "1.5",
                "document_name": "alpine",
                "timestamp": utc(2024, 6, 15, 20, 30, 29),
            },
            id="syft-cyclonedx-offset-timestamp",
        ),
    ],
)
def test_real_world_sboms_as_predicates(
    document: str, ptype: str, expected: dict[str, Any]
) -> None:
    predicate = _load(REAL_WORLD / "28-witness-sbom-collections" / document)
    view = view_for(stmt(ptype, predicate))
    assert type(view) is expected.pop("cls")
    for attr, want in expected.items():
        got = getattr(view, attr)
        assert (got() if callable(got) else got) == want, attr


# Lazy loading of the built-in views: each case runs in a fresh interpreter,
# because this process has imported every view module already.
_VIEW_MODULE_PROBE = """
import json, sys
from intoto_policy.model.predicates import _base
mod = sys.argv[1]
before = set(_base._REGISTRY)
__import__("intoto_policy.model.predicates." + mod)
print(json.dumps(sorted(set(_base._REGISTRY) - before)))
"""

_LAZY_PROBE = """
import json, sys
from intoto_policy.model._statement import Statement
from intoto_policy.model.predicates import view_for
stmt = Statement.from_dict({"_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "a", "digest": {"sha256": "%s"}}],
    "predicateType": sys.argv[1], "predicate": {}})
view = type(view_for(stmt)).__name__
loaded = sorted(m.rsplit(".", 1)[1] for m in sys.modules
                if m.startswith("intoto_policy.model.predicates._"))
print(json.dumps([view, loaded]))
""" % ("1" * 64)


def _fresh(code: str, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


_BUILTIN_MODULES = ["_ecosystems", "_intoto", "_sbom", "_slsa"]


@pytest.mark.parametrize("module", _BUILTIN_MODULES, ids=_BUILTIN_MODULES)
def test_view_module_table_matches_what_each_module_registers(module: str) -> None:
    registered = _fresh(_VIEW_MODULE_PROBE, module)
    assert registered == sorted(t for t, m in _VIEW_MODULES.items() if m == module)


_LAZY_CASES = [
    ("slsa-v1", "https://slsa.dev/provenance/v1", "ProvenanceV1View", ["_base", "_slsa"]),
    ("link", "https://in-toto.io/attestation/link/v0.3", "LinkView", ["_base", "_intoto"]),
    ("spdx", "https://spdx.dev/Document", "SpdxView", ["_base", "_sbom"]),
    (
        "npm",
        "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
        "NpmPublishView",
        ["_base", "_ecosystems"],
    ),
    ("unknown", "https://example.com/unknown/v1", "GenericView", ["_base"]),
]


@pytest.mark.parametrize(
    ("ptype", "view", "loaded"), [c[1:] for c in _LAZY_CASES], ids=[c[0] for c in _LAZY_CASES]
)
def test_view_for_imports_only_the_module_of_the_type(
    ptype: str, view: str, loaded: list[str]
) -> None:
    assert _fresh(_LAZY_PROBE, ptype) == [view, loaded]


_COLLIDE_PROBE = """
from intoto_policy._errors import UsageError
from intoto_policy.model.predicates import GenericView, register, REGISTRY
try:
    register("https://slsa.dev/provenance/v1", GenericView)
except UsageError as exc:
    print("refused:", exc)
print(REGISTRY["https://slsa.dev/provenance/v1"].__name__)
"""


def test_register_over_a_builtin_not_yet_imported_is_still_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _COLLIDE_PROBE], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == [
        (
            "refused: predicate type https://slsa.dev/provenance/v1 is already viewed by"
            " ProvenanceV1View (pass replace=True to replace it)"
        ),
        "ProvenanceV1View",
    ]
