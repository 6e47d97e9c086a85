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

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

# Public name -> module. Nothing is imported here: ``view_for`` imports the
# module viewing a predicate type when a statement of that type is first
# viewed (see ``_base._VIEW_MODULES``), so start-up pays only for the views
# a verification uses.
_EXPORTS: dict[str, str] = {
    "NO_ARTIFACTS": "_base",
    "REGISTRY": "_base",
    "Artifacts": "_base",
    "FieldReader": "_base",
    "GenericView": "_base",
    "PredicateView": "_base",
    "register": "_base",
    "unregister": "_base",
    "view_for": "_base",
    "NPM_PUBLISH_V01": "_ecosystems",
    "PYPI_PUBLISH_V1": "_ecosystems",
    "NpmPublishView": "_ecosystems",
    "PypiPublishView": "_ecosystems",
    "COSIGN_VULN_V1": "_intoto",
    "INTOTO_LINK_V03": "_intoto",
    "INTOTO_REFERENCE_V01": "_intoto",
    "INTOTO_RELEASE_V01": "_intoto",
    "INTOTO_RUNTIME_TRACE_V01": "_intoto",
    "INTOTO_SCAI_V02": "_intoto",
    "INTOTO_SCAI_V03": "_intoto",
    "INTOTO_SVR_V01": "_intoto",
    "INTOTO_SVR_V02": "_intoto",
    "INTOTO_TEST_RESULT_V01": "_intoto",
    "INTOTO_VULNS_V01": "_intoto",
    "INTOTO_VULNS_V02": "_intoto",
    "LinkView": "_intoto",
    "ReferenceView": "_intoto",
    "ReleaseView": "_intoto",
    "RuntimeTraceView": "_intoto",
    "ScaiAttribute": "_intoto",
    "ScaiView": "_intoto",
    "Severity": "_intoto",
    "SimpleVerificationResultView": "_intoto",
    "TestResultView": "_intoto",
    "Vulnerability": "_intoto",
    "VulnerabilityReportView": "_intoto",
    "CYCLONEDX_BOM": "_sbom",
    "SPDX_DOCUMENT": "_sbom",
    "SPDX_DOCUMENT_V3": "_sbom",
    "SPDX_DOCUMENT_V22": "_sbom",
    "SPDX_DOCUMENT_V23": "_sbom",
    "CycloneDxView": "_sbom",
    "SbomView": "_sbom",
    "SpdxView": "_sbom",
    "SLSA_PROVENANCE_V01": "_slsa",
    "SLSA_PROVENANCE_V02": "_slsa",
    "SLSA_PROVENANCE_V1": "_slsa",
    "SLSA_PROVENANCE_V1_DRAFT": "_slsa",
    "SLSA_VSA_V02": "_slsa",
    "SLSA_VSA_V1": "_slsa",
    "ProvenanceV01View": "_slsa",
    "ProvenanceV02View": "_slsa",
    "ProvenanceV1View": "_slsa",
    "VerificationSummaryView": "_slsa",
}

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

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:
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
