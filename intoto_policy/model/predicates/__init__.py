"""Typed, read-only views of attestation predicates, keyed by predicateType.

:func:`view_for` picks the view class registered for a statement's
predicateType (:data:`REGISTRY`; add more with :func:`register`), or
:class:`GenericView` for types nobody registered.

Every view offers the same interface to the verifier:

- ``materials()`` / ``products()``: name to :class:`~intoto_policy.DigestSet`,
  for artifact rules. A descriptor is named by its ``name``, else its
  ``uri``. Descriptors without a digest, or without name and uri, cannot be
  matched, so they are left out of the maps and listed by
  ``undigested_materials()`` / ``unnamed_materials()`` (and the products
  counterparts). A name listed twice with different digests is an error.
- ``timestamp()``: the predicate's main time (aware, UTC) for freshness
  checks, or ``None``.

Which descriptors are materials and products:

================================ ================================= ==========
predicate                        materials                         products
================================ ================================= ==========
link v0.3                        ``predicate.materials``           subjects
SLSA provenance v1 (and draft)   ``resolvedDependencies``          subjects
SLSA provenance v0.2, v0.1       ``predicate.materials``           subjects
anything else                    subjects                          none
================================ ================================= ==========

"Anything else" (test results, scans, VSAs, SBOMs, releases, publish
attestations, unknown types) describes its subjects rather than making
them: the subjects are what the step consumed, i.e. its materials. This is
what in-toto's attestation-verifier does, and its layouts depend on it: the
``test`` step of its demo layout says ``MATCH foo WITH products FROM clone``
in ``expectedMaterials`` for a test-result whose subject is ``foo``, and the
npm layout matches the publish attestation's subject against the build's
products the same way. Treating those subjects as products would make such
rules match nothing, and pass without checking anything.

Timestamps: provenance v1 ``runDetails.metadata.finishedOn`` (else
``startedOn``); v0.2/v0.1 ``metadata.buildFinishedOn`` (else
``buildStartedOn``); VSA ``timeVerified``; SVR ``timeCreated``; vulns
``metadata.scanFinishedOn`` (else ``scanStartedOn``); runtime trace
``metadata.buildFinishedOn`` (else ``buildStartedOn``); SPDX
``creationInfo.created``; CycloneDX ``metadata.timestamp``; none for link,
test-result, SCAI, release, reference, npm and PyPI publish, and unknown
types.
"""

from __future__ import annotations

from ._base import (
    NO_ARTIFACTS,
    REGISTRY,
    Artifacts,
    FieldReader,
    GenericView,
    PredicateView,
    register,
    unregister,
    view_for,
)
from ._ecosystems import NPM_PUBLISH_V01, PYPI_PUBLISH_V1, NpmPublishView, PypiPublishView
from ._intoto import (
    COSIGN_VULN_V1,
    INTOTO_LINK_V03,
    INTOTO_REFERENCE_V01,
    INTOTO_RELEASE_V01,
    INTOTO_RUNTIME_TRACE_V01,
    INTOTO_SCAI_V02,
    INTOTO_SCAI_V03,
    INTOTO_SVR_V01,
    INTOTO_SVR_V02,
    INTOTO_TEST_RESULT_V01,
    INTOTO_VULNS_V01,
    INTOTO_VULNS_V02,
    LinkView,
    ReferenceView,
    ReleaseView,
    RuntimeTraceView,
    ScaiAttribute,
    ScaiView,
    Severity,
    SimpleVerificationResultView,
    TestResultView,
    Vulnerability,
    VulnerabilityReportView,
)
from ._sbom import (
    CYCLONEDX_BOM,
    SPDX_DOCUMENT,
    SPDX_DOCUMENT_V3,
    SPDX_DOCUMENT_V22,
    SPDX_DOCUMENT_V23,
    CycloneDxView,
    SbomView,
    SpdxView,
)
from ._slsa import (
    SLSA_PROVENANCE_V01,
    SLSA_PROVENANCE_V02,
    SLSA_PROVENANCE_V1,
    SLSA_PROVENANCE_V1_DRAFT,
    SLSA_VSA_V02,
    SLSA_VSA_V1,
    ProvenanceV01View,
    ProvenanceV02View,
    ProvenanceV1View,
    VerificationSummaryView,
)

__all__ = [
    "COSIGN_VULN_V1",
    "CYCLONEDX_BOM",
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
    "NO_ARTIFACTS",
    "NPM_PUBLISH_V01",
    "PYPI_PUBLISH_V1",
    "REGISTRY",
    "SLSA_PROVENANCE_V01",
    "SLSA_PROVENANCE_V02",
    "SLSA_PROVENANCE_V1",
    "SLSA_PROVENANCE_V1_DRAFT",
    "SLSA_VSA_V02",
    "SLSA_VSA_V1",
    "SPDX_DOCUMENT",
    "SPDX_DOCUMENT_V3",
    "SPDX_DOCUMENT_V22",
    "SPDX_DOCUMENT_V23",
    "Artifacts",
    "CycloneDxView",
    "FieldReader",
    "GenericView",
    "LinkView",
    "NpmPublishView",
    "PredicateView",
    "ProvenanceV01View",
    "ProvenanceV02View",
    "ProvenanceV1View",
    "PypiPublishView",
    "ReferenceView",
    "ReleaseView",
    "RuntimeTraceView",
    "SbomView",
    "ScaiAttribute",
    "ScaiView",
    "Severity",
    "SimpleVerificationResultView",
    "SpdxView",
    "TestResultView",
    "VerificationSummaryView",
    "Vulnerability",
    "VulnerabilityReportView",
    "register",
    "unregister",
    "view_for",
]
