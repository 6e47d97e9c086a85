"""Views of the in-toto attestation predicates (in-toto/attestation spec/predicates).

Link v0.3 records a step (materials in, subjects out). Every other type
here describes its subjects (tested, scanned, verified, released...): the
subjects are its materials and it has no products.

Lists of descriptors that play no part in artifact rules (test-result
``configuration``, reference ``references``, SVR ``verifier.policies``,
runtime-trace ``monitorLog.fileAccess``) are exposed as methods parsed when
called, so a malformed one does not make the whole attestation unreadable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final, Self

from ..._errors import ValidationError
from .._statement import ResourceDescriptor, Statement
from ._base import FieldReader, PredicateView, describing, producing, register

__all__ = [
    "COSIGN_VULN_V1",
    "INTOTO_LINK_V03",
    "INTOTO_REFERENCE_V01",
    "INTOTO_RELEASE_V01",
    "INTOTO_RUNTIME_TRACE_V01",
    "INTOTO_SCAI_V02",
    "INTOTO_SCAI_V03",
    "INTOTO_SVR_V01",
    "INTOTO_SVR_V02",
    "INTOTO_TEST_RESULT_V01",
    "INTOTO_VULNS_V01",
    "INTOTO_VULNS_V02",
    "LinkView",
    "ReferenceView",
    "ReleaseView",
    "RuntimeTraceView",
    "ScaiAttribute",
    "ScaiView",
    "Severity",
    "SimpleVerificationResultView",
    "TestResultView",
    "Vulnerability",
    "VulnerabilityReportView",
]

INTOTO_LINK_V03: Final = "https://in-toto.io/attestation/link/v0.3"
INTOTO_TEST_RESULT_V01: Final = "https://in-toto.io/attestation/test-result/v0.1"
INTOTO_VULNS_V01: Final = "https://in-toto.io/attestation/vulns/v0.1"
INTOTO_VULNS_V02: Final = "https://in-toto.io/attestation/vulns/v0.2"
COSIGN_VULN_V1: Final = "https://cosign.sigstore.dev/attestation/vuln/v1"
INTOTO_SCAI_V03: Final = "https://in-toto.io/attestation/scai/v0.3"
#: The v0.2 URI (renamed in v0.3); the predicate's shape is the same.
INTOTO_SCAI_V02: Final = "https://in-toto.io/attestation/scai/attribute-report/v0.2"
INTOTO_RELEASE_V01: Final = "https://in-toto.io/attestation/release/v0.1"
INTOTO_REFERENCE_V01: Final = "https://in-toto.io/attestation/reference/v0.1"
INTOTO_RUNTIME_TRACE_V01: Final = "https://in-toto.io/attestation/runtime-trace/v0.1"
INTOTO_SVR_V02: Final = "https://in-toto.io/attestation/svr/v0.2"
INTOTO_SVR_V01: Final = "https://in-toto.io/attestation/svr/v0.1"


def _rds(reader: FieldReader, key: str) -> tuple[ResourceDescriptor, ...]:
    return tuple(rd for _, rd in reader.descriptors(key))


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkView(PredicateView):
    """in-toto link v0.3: one step of a supply chain.

    Materials are ``predicate.materials``, products the subjects; no
    timestamp (links carry none).

    Attributes:
        step_name: ``name``, the step this link is for.
        command: ``command``, the command run.
        environment: ``environment`` (read-only).
        byproducts: ``byproducts`` (read-only).
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (INTOTO_LINK_V03,)

    step_name: str | None
    command: tuple[str, ...]
    environment: Mapping[str, Any] | None
    byproducts: Mapping[str, Any] | None

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a link statement.

        Raises:
            ValidationError: A field read has the wrong type, a material is
                not a valid ResourceDescriptor, or an artifact name repeats
                with other digests.
        """
        pred = FieldReader.predicate_of(statement)
        materials, products = producing(statement, pred.descriptors("materials"))
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            step_name=pred.string("name"),
            command=pred.strings("command"),
            environment=pred.mapping("environment"),
            byproducts=pred.mapping("byproducts"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TestResultView(PredicateView):
    """in-toto test-result v0.1.

    Materials are the subjects (what was tested), no products, no timestamp
    (the predicate has no time field). ``configuration`` is not a material:
    it describes the test run, and attestation-verifier's layouts (a
    ``DISALLOW *`` on the test step's materials) rely on it not being one.

    Attributes:
        result: ``result``: ``PASSED``, ``WARNED`` or ``FAILED``.
        url: ``url``, the test run.
        passed_tests: ``passedTests``.
        warned_tests: ``warnedTests``.
        failed_tests: ``failedTests``.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class
    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (INTOTO_TEST_RESULT_V01,)

    result: str | None
    url: str | None
    passed_tests: tuple[str, ...]
    warned_tests: tuple[str, ...]
    failed_tests: tuple[str, ...]

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a test-result statement.

        Raises:
            ValidationError: A field read has the wrong type, or two subjects
                share a name but not their digests.
        """
        pred = FieldReader.predicate_of(statement)
        materials, products = describing(statement)
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            result=pred.string("result"),
            url=pred.string("url"),
            passed_tests=pred.strings("passedTests"),
            warned_tests=pred.strings("warnedTests"),
            failed_tests=pred.strings("failedTests"),
        )

    @property
    def passed(self) -> bool:
        """Whether ``result`` is ``PASSED``."""
        return self.result == "PASSED"

    def configuration(self) -> tuple[ResourceDescriptor, ...]:
        """``configuration``: the configuration the tests ran with.

        Raises:
            ValidationError: It is not a list of valid ResourceDescriptors.
        """
        return _rds(FieldReader.predicate_of(self.statement), "configuration")


@dataclass(frozen=True, slots=True)
class Severity:
    """One scoring of a vulnerability.

    Attributes:
        method: How it was scored (``nvd``, ``cvss_score``...).
        score: The score, as the scanner wrote it (``medium``, ``5.2``...).
    """

    method: str | None
    score: str | None


@dataclass(frozen=True, slots=True)
class Vulnerability:
    """One vulnerability a scanner found.

    Attributes:
        id: Its identifier (``CVE-...``, ``GHSA-...``).
        severities: Its scores.
    """

    id: str
    severities: tuple[Severity, ...]

    def score(self, method: str) -> str | None:
        """The score by ``method``, or ``None`` if it was not scored that way."""
        for severity in self.severities:
            if severity.method == method:
                return severity.score
        return None


def _vulnerability(item: FieldReader) -> Vulnerability:
    # v0.1 nests the fields under "vulnerability"; v0.2 (and v0.1's own
    # example) has them on the item itself.
    inner = item.obj("vulnerability") or item
    vid = inner.string("id")
    if vid is None:
        raise ValidationError("a vulnerability needs an id", path=inner.at("id"))
    raw = inner.raw("severity")
    if isinstance(raw, Mapping):
        scorings: tuple[FieldReader, ...] = (inner.obj_or_empty("severity"),)
    else:
        scorings = inner.objects("severity")
    return Vulnerability(
        id=vid,
        severities=tuple(
            Severity(method=s.string("method"), score=s.string("score")) for s in scorings
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class VulnerabilityReportView(PredicateView):
    """A vulnerability scan: in-toto vulns v0.1/v0.2 and cosign's vuln v1.

    Materials are the subjects (what was scanned), no products; the
    timestamp is ``metadata.scanFinishedOn``, else ``scanStartedOn``.

    Attributes:
        scanner_uri: ``scanner.uri``.
        scanner_version: ``scanner.version``.
        db_uri: ``scanner.db.uri``.
        db_version: ``scanner.db.version``.
        db_last_update: ``scanner.db.lastUpdate``.
        scan_started_on: ``metadata.scanStartedOn``.
        scan_finished_on: ``metadata.scanFinishedOn``.
        vulnerabilities: ``scanner.result`` read as the in-toto list, or
            ``None`` when there is no such list: it is absent, or the type is
            cosign's, whose result is the scanner's own free-form report.
            ``None`` means "unknown", never "no vulnerabilities".
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (
        INTOTO_VULNS_V01,
        INTOTO_VULNS_V02,
        COSIGN_VULN_V1,
    )

    scanner_uri: str | None
    scanner_version: str | None
    db_uri: str | None
    db_version: str | None
    db_last_update: datetime | None
    scan_started_on: datetime | None
    scan_finished_on: datetime | None
    vulnerabilities: tuple[Vulnerability, ...] | None

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a vulnerability-scan statement.

        Raises:
            ValidationError: A field read has the wrong type, a time is not
                RFC 3339, or a vulnerability lacks an id.
        """
        pred = FieldReader.predicate_of(statement)
        scanner = pred.obj_or_empty("scanner")
        db = scanner.obj_or_empty("db")
        metadata = pred.obj_or_empty("metadata")
        vulns: tuple[Vulnerability, ...] | None = None
        if statement.predicate_type != COSIGN_VULN_V1 and scanner.has("result"):
            vulns = tuple(_vulnerability(item) for item in scanner.objects("result"))
        materials, products = describing(statement)
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            scanner_uri=scanner.string("uri"),
            scanner_version=scanner.string("version"),
            db_uri=db.string("uri"),
            db_version=db.string("version"),
            db_last_update=db.time("lastUpdate"),
            scan_started_on=metadata.time("scanStartedOn"),
            scan_finished_on=metadata.time("scanFinishedOn"),
            vulnerabilities=vulns,
        )

    def timestamp(self) -> datetime | None:
        """When the scan finished, else when it started."""
        return self.scan_finished_on or self.scan_started_on


@dataclass(frozen=True, slots=True)
class ScaiAttribute:
    """One SCAI attribute assertion.

    Attributes:
        attribute: The attribute asserted.
        target: What it applies to, if not the subject.
        conditions: Under which conditions it holds (read-only).
        evidence: Evidence for it.
    """

    attribute: str
    target: ResourceDescriptor | None
    conditions: Mapping[str, Any] | None
    evidence: ResourceDescriptor | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaiView(PredicateView):
    """SCAI attribute report v0.3 (and v0.2, same shape).

    Materials are the subjects (whose attributes are asserted), no products,
    no timestamp. The ``producer`` is not a material: it is the tool that
    made the subject, not something the subject was made from.

    Attributes:
        attributes: ``attributes``.
        producer: ``producer``.
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (INTOTO_SCAI_V03, INTOTO_SCAI_V02)

    attributes: tuple[ScaiAttribute, ...]
    producer: ResourceDescriptor | None

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a SCAI statement.

        Raises:
            ValidationError: A field read has the wrong type, an assertion
                lacks its ``attribute``, or a target, evidence or producer is
                not a valid ResourceDescriptor.
        """
        pred = FieldReader.predicate_of(statement)
        attributes = []
        for item in pred.objects("attributes"):
            name = item.string("attribute")
            if name is None:
                raise ValidationError("an assertion needs an attribute", path=item.at("attribute"))
            attributes.append(
                ScaiAttribute(
                    attribute=name,
                    target=item.descriptor("target"),
                    conditions=item.mapping("conditions"),
                    evidence=item.descriptor("evidence"),
                )
            )
        materials, products = describing(statement)
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            attributes=tuple(attributes),
            producer=pred.descriptor("producer"),
        )

    def attribute_names(self) -> tuple[str, ...]:
        """The attributes asserted, in order."""
        return tuple(a.attribute for a in self.attributes)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseView(PredicateView):
    """in-toto release v0.1: a registry's statement of what a release contains.

    Materials are the subjects (the released files), no products, no
    timestamp.

    Attributes:
        purl: ``purl``, the release.
        package_id: ``packageId`` (or the older name ``releaseId``).
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (INTOTO_RELEASE_V01,)

    purl: str | None
    package_id: str | None

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a release statement.

        Raises:
            ValidationError: A field read has the wrong type, or both
                ``packageId`` and ``releaseId`` are set and differ.
        """
        pred = FieldReader.predicate_of(statement)
        package_id = pred.string("packageId")
        legacy_id = pred.string("releaseId")
        if package_id is not None and legacy_id is not None and package_id != legacy_id:
            raise ValidationError("packageId and releaseId differ", path=pred.at("packageId"))
        materials, products = describing(statement)
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            purl=pred.string("purl"),
            package_id=package_id if package_id is not None else legacy_id,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferenceView(PredicateView):
    """in-toto reference v0.1: pointers to documents about the subjects.

    Materials are the subjects, no products, no timestamp.

    Attributes:
        attester_id: ``attester.id``.
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (INTOTO_REFERENCE_V01,)

    attester_id: str | None

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a reference statement.

        Raises:
            ValidationError: A field read has the wrong type.
        """
        pred = FieldReader.predicate_of(statement)
        materials, products = describing(statement)
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            attester_id=pred.obj_or_empty("attester").string("id"),
        )

    def references(self) -> tuple[ResourceDescriptor, ...]:
        """``references``: the documents referred to.

        Raises:
            ValidationError: It is not a list of valid ResourceDescriptors.
        """
        return _rds(FieldReader.predicate_of(self.statement), "references")


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeTraceView(PredicateView):
    """in-toto runtime-trace v0.1: what a monitor saw during a step.

    Materials are the subjects (as for every type that is not a link or a
    provenance), no products; the timestamp is ``metadata.buildFinishedOn``,
    else ``buildStartedOn``.

    Attributes:
        monitor_type: ``monitor.type``.
        host_id: ``monitoredProcess.hostID``.
        process_type: ``monitoredProcess.type``.
        event: ``monitoredProcess.event``.
        started_on: ``metadata.buildStartedOn``.
        finished_on: ``metadata.buildFinishedOn``.
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (INTOTO_RUNTIME_TRACE_V01,)

    monitor_type: str | None
    host_id: str | None
    process_type: str | None
    event: str | None
    started_on: datetime | None
    finished_on: datetime | None

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a runtime-trace statement.

        Raises:
            ValidationError: A field read has the wrong type or a time is
                not RFC 3339.
        """
        pred = FieldReader.predicate_of(statement)
        process = pred.obj_or_empty("monitoredProcess")
        metadata = pred.obj_or_empty("metadata")
        materials, products = describing(statement)
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            monitor_type=pred.obj_or_empty("monitor").string("type"),
            host_id=process.string("hostID"),
            process_type=process.string("type"),
            event=process.string("event"),
            started_on=metadata.time("buildStartedOn"),
            finished_on=metadata.time("buildFinishedOn"),
        )

    def timestamp(self) -> datetime | None:
        """When the monitored build finished, else when it started."""
        return self.finished_on or self.started_on

    def file_accesses(self) -> tuple[ResourceDescriptor, ...]:
        """``monitorLog.fileAccess``: the files the process touched.

        Raises:
            ValidationError: It is not a list of valid ResourceDescriptors.
        """
        pred = FieldReader.predicate_of(self.statement)
        return _rds(pred.obj_or_empty("monitorLog"), "fileAccess")


@dataclass(frozen=True, slots=True, kw_only=True)
class SimpleVerificationResultView(PredicateView):
    """in-toto Simple Verification Result v0.2 (and v0.1).

    Materials are the subjects (what was verified), no products; the
    timestamp is ``timeCreated``.

    Attributes:
        verifier_id: ``verifier.id``.
        time_created: ``timeCreated``.
        properties: ``properties``, the properties verified.
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (INTOTO_SVR_V02, INTOTO_SVR_V01)

    verifier_id: str | None
    time_created: datetime | None
    properties: tuple[str, ...]

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View an SVR statement.

        Raises:
            ValidationError: A field read has the wrong type or
                ``timeCreated`` is not RFC 3339.
        """
        pred = FieldReader.predicate_of(statement)
        materials, products = describing(statement)
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            verifier_id=pred.obj_or_empty("verifier").string("id"),
            time_created=pred.time("timeCreated"),
            properties=pred.strings("properties"),
        )

    def timestamp(self) -> datetime | None:
        """When the verification happened."""
        return self.time_created

    def policies(self) -> tuple[ResourceDescriptor, ...]:
        """``verifier.policies``: the policies applied.

        Raises:
            ValidationError: It is not a list of valid ResourceDescriptors.
        """
        pred = FieldReader.predicate_of(self.statement)
        return _rds(pred.obj_or_empty("verifier"), "policies")


for _cls in (
    LinkView,
    TestResultView,
    VulnerabilityReportView,
    ScaiView,
    ReleaseView,
    ReferenceView,
    RuntimeTraceView,
    SimpleVerificationResultView,
):
    for _uri in _cls.PREDICATE_TYPES:
        register(_uri, _cls)
