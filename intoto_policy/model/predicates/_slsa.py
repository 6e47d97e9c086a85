"""Views of SLSA predicates: build provenance and verification summaries.

Field names follow slsa.dev: provenance v1 (``buildDefinition`` /
``runDetails``, also its pre-release ``v1.0?draft``), v0.2 (``builder``,
``buildType``, ``invocation``, ``metadata``, ``materials``), v0.1 (``recipe``
in place of ``buildType``/``invocation``); VSA v1 (lowerCamelCase) and v0.2
(snake_case, a single ``policy_level``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, Final, Self

from ..._errors import ValidationError
from .._digests import DigestSet
from .._statement import Statement
from ._base import FieldReader, PredicateView, describing, producing, register

__all__ = [
    "SLSA_PROVENANCE_V01",
    "SLSA_PROVENANCE_V02",
    "SLSA_PROVENANCE_V1",
    "SLSA_PROVENANCE_V1_DRAFT",
    "SLSA_VSA_V02",
    "SLSA_VSA_V1",
    "ProvenanceV01View",
    "ProvenanceV02View",
    "ProvenanceV1View",
    "VerificationSummaryView",
]

SLSA_PROVENANCE_V1: Final = "https://slsa.dev/provenance/v1"
SLSA_PROVENANCE_V1_DRAFT: Final = "https://slsa.dev/provenance/v1.0?draft"
SLSA_PROVENANCE_V02: Final = "https://slsa.dev/provenance/v0.2"
SLSA_PROVENANCE_V01: Final = "https://slsa.dev/provenance/v0.1"
SLSA_VSA_V1: Final = "https://slsa.dev/verification_summary/v1"
SLSA_VSA_V02: Final = "https://slsa.dev/verification_summary/v0.2"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvenanceV1View(PredicateView):
    """SLSA provenance v1 (and the ``v1.0?draft`` pre-release).

    Materials are ``buildDefinition.resolvedDependencies``, products the
    subjects; the timestamp is ``runDetails.metadata.finishedOn``, else
    ``startedOn``.

    Attributes:
        build_type: ``buildDefinition.buildType``.
        builder_id: ``runDetails.builder.id``.
        external_parameters: ``buildDefinition.externalParameters`` (read-only).
        invocation_id: ``runDetails.metadata.invocationId``.
        started_on: ``runDetails.metadata.startedOn``.
        finished_on: ``runDetails.metadata.finishedOn``.
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (SLSA_PROVENANCE_V1, SLSA_PROVENANCE_V1_DRAFT)

    build_type: str | None
    builder_id: str | None
    external_parameters: Mapping[str, Any] | None
    invocation_id: str | None
    started_on: datetime | None
    finished_on: datetime | None

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a provenance v1 statement.

        Raises:
            ValidationError: A field read has the wrong type, a resolved
                dependency is not a valid ResourceDescriptor, a time is not
                RFC 3339, or an artifact name repeats with other digests.
        """
        pred = FieldReader.predicate_of(statement)
        definition = pred.obj_or_empty("buildDefinition")
        run = pred.obj_or_empty("runDetails")
        metadata = run.obj_or_empty("metadata")
        materials, products = producing(statement, definition.descriptors("resolvedDependencies"))
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            build_type=definition.string("buildType"),
            builder_id=run.obj_or_empty("builder").string("id"),
            external_parameters=definition.mapping("externalParameters"),
            invocation_id=metadata.string("invocationId"),
            started_on=metadata.time("startedOn"),
            finished_on=metadata.time("finishedOn"),
        )

    def timestamp(self) -> datetime | None:
        """When the build finished, else when it started."""
        return self.finished_on or self.started_on


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvenanceV02View(PredicateView):
    """SLSA provenance v0.2.

    Materials are ``predicate.materials`` (``uri`` + ``digest``, so named by
    their uri), products the subjects; the timestamp is
    ``metadata.buildFinishedOn``, else ``buildStartedOn``.

    Attributes:
        builder_id: ``builder.id``.
        build_type: ``buildType``.
        config_source_uri: ``invocation.configSource.uri``.
        config_source_digest: ``invocation.configSource.digest``.
        entry_point: ``invocation.configSource.entryPoint``.
        environment: ``invocation.environment`` (read-only).
        build_invocation_id: ``metadata.buildInvocationId``.
        started_on: ``metadata.buildStartedOn``.
        finished_on: ``metadata.buildFinishedOn``.
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (SLSA_PROVENANCE_V02,)

    builder_id: str | None
    build_type: str | None
    config_source_uri: str | None
    config_source_digest: DigestSet | None
    entry_point: str | None
    environment: Mapping[str, Any] | None
    build_invocation_id: str | None
    started_on: datetime | None
    finished_on: datetime | None

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a provenance v0.2 statement.

        Raises:
            ValidationError: A field read has the wrong type, a material is
                not a valid ResourceDescriptor, a time is not RFC 3339, or an
                artifact name repeats with other digests.
        """
        pred = FieldReader.predicate_of(statement)
        invocation = pred.obj_or_empty("invocation")
        config = invocation.obj_or_empty("configSource")
        metadata = pred.obj_or_empty("metadata")
        materials, products = producing(statement, pred.descriptors("materials"))
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            builder_id=pred.obj_or_empty("builder").string("id"),
            build_type=pred.string("buildType"),
            config_source_uri=config.string("uri"),
            config_source_digest=config.digest("digest"),
            entry_point=config.string("entryPoint"),
            environment=invocation.mapping("environment"),
            build_invocation_id=metadata.string("buildInvocationId"),
            started_on=metadata.time("buildStartedOn"),
            finished_on=metadata.time("buildFinishedOn"),
        )

    def timestamp(self) -> datetime | None:
        """When the build finished, else when it started."""
        return self.finished_on or self.started_on


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvenanceV01View(ProvenanceV02View):
    """SLSA provenance v0.1, read into the v0.2 shape.

    ``recipe.type`` is the build type, ``recipe.entryPoint`` the entry point,
    ``recipe.environment`` the environment; the config source is the material
    that ``recipe.definedInMaterial`` points at, if any. Materials, products
    and timestamp as in v0.2.
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (SLSA_PROVENANCE_V01,)

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a provenance v0.1 statement.

        Raises:
            ValidationError: A field read has the wrong type, a material is
                not a valid ResourceDescriptor, ``recipe.definedInMaterial``
                is not an index into ``materials``, a time is not RFC 3339,
                or an artifact name repeats with other digests.
        """
        pred = FieldReader.predicate_of(statement)
        recipe = pred.obj_or_empty("recipe")
        metadata = pred.obj_or_empty("metadata")
        entries = pred.descriptors("materials")
        materials, products = producing(statement, entries)
        config_uri: str | None = None
        config_digest: DigestSet | None = None
        index = recipe.integer("definedInMaterial")
        if index is not None:
            if not 0 <= index < len(entries):
                raise ValidationError(
                    f"points at material {index}, but there are {len(entries)}",
                    path=recipe.at("definedInMaterial"),
                )
            config_uri, config_digest = entries[index][1].uri, entries[index][1].digest
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            builder_id=pred.obj_or_empty("builder").string("id"),
            build_type=recipe.string("type"),
            config_source_uri=config_uri,
            config_source_digest=config_digest,
            entry_point=recipe.string("entryPoint"),
            environment=recipe.mapping("environment"),
            build_invocation_id=metadata.string("buildInvocationId"),
            started_on=metadata.time("buildStartedOn"),
            finished_on=metadata.time("buildFinishedOn"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VerificationSummaryView(PredicateView):
    """SLSA Verification Summary Attestation, v1 and v0.2.

    The subjects are the materials (the artifacts verified), no products;
    the timestamp is ``timeVerified`` (v0.2: ``time_verified``).

    Attributes:
        verifier_id: ``verifier.id``.
        time_verified: ``timeVerified``.
        resource_uri: ``resourceUri``.
        policy_uri: ``policy.uri``.
        policy_digest: ``policy.digest``.
        verification_result: ``verificationResult`` (``PASSED`` or ``FAILED``).
        verified_levels: ``verifiedLevels`` (v0.2: its one ``policy_level``).
        dependency_levels: ``dependencyLevels``, level to count (read-only).
        slsa_version: ``slsaVersion`` (v1 only).
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (SLSA_VSA_V1, SLSA_VSA_V02)

    verifier_id: str | None
    time_verified: datetime | None
    resource_uri: str | None
    policy_uri: str | None
    policy_digest: DigestSet | None
    verification_result: str | None
    verified_levels: tuple[str, ...]
    dependency_levels: Mapping[str, int] | None
    slsa_version: str | None

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a VSA statement (v1 field names, or v0.2's snake_case ones).

        Raises:
            ValidationError: A field read has the wrong type, the policy
                digest is invalid, a dependency count is not a non-negative
                integer, or ``timeVerified`` is not RFC 3339.
        """
        pred = FieldReader.predicate_of(statement)
        legacy = statement.predicate_type == SLSA_VSA_V02
        policy = pred.obj_or_empty("policy")
        if legacy:
            level = pred.string("policy_level")
            levels: tuple[str, ...] = (level,) if level is not None else ()
        else:
            levels = pred.strings("verifiedLevels")
        materials, products = describing(statement)
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            verifier_id=pred.obj_or_empty("verifier").string("id"),
            time_verified=pred.time("time_verified" if legacy else "timeVerified"),
            resource_uri=pred.string("resource_uri" if legacy else "resourceUri"),
            policy_uri=policy.string("uri"),
            policy_digest=policy.digest("digest"),
            verification_result=pred.string(
                "verification_result" if legacy else "verificationResult"
            ),
            verified_levels=levels,
            dependency_levels=_counts(pred, "dependency_levels" if legacy else "dependencyLevels"),
            slsa_version=None if legacy else pred.string("slsaVersion"),
        )

    @property
    def passed(self) -> bool:
        """Whether the verification result is ``PASSED``."""
        return self.verification_result == "PASSED"

    def timestamp(self) -> datetime | None:
        """When the verification happened."""
        return self.time_verified


def _counts(pred: FieldReader, key: str) -> Mapping[str, int] | None:
    levels = pred.obj(key)
    if levels is None:
        return None
    counts: dict[str, int] = {}
    for name in levels.field_names():
        count = levels.integer(name)
        if count is None or count < 0:
            raise ValidationError("must be a non-negative integer", path=levels.at(name))
        counts[name] = count
    return MappingProxyType(counts)


for _cls in (ProvenanceV1View, ProvenanceV02View, ProvenanceV01View, VerificationSummaryView):
    for _uri in _cls.PREDICATE_TYPES:
        register(_uri, _cls)
