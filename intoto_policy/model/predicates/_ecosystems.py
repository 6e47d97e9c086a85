"""Views of package registries' publish attestations (npm, PyPI).

Both describe a published file: the subjects are the materials, there are
no products and no timestamp (neither predicate carries a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final, Self

from .._statement import Statement
from ._base import FieldReader, PredicateView, describing, register

__all__ = ["NPM_PUBLISH_V01", "PYPI_PUBLISH_V1", "NpmPublishView", "PypiPublishView"]

NPM_PUBLISH_V01: Final = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"
PYPI_PUBLISH_V1: Final = "https://docs.pypi.org/attestations/publish/v1"


@dataclass(frozen=True, slots=True, kw_only=True)
class NpmPublishView(PredicateView):
    """npm publish v0.1: the registry's record of a published package version.

    The subject is named by the package's purl (``pkg:npm/name@version``).

    Attributes:
        package_name: ``name``.
        package_version: ``version``.
        registry: ``registry`` (``https://registry.npmjs.org``).
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (NPM_PUBLISH_V01,)

    package_name: str | None
    package_version: str | None
    registry: str | None

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View an npm publish statement.

        Raises:
            ValidationError: A field read has the wrong type.
        """
        pred = FieldReader.predicate_of(statement)
        materials, products = describing(statement)
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            package_name=pred.string("name"),
            package_version=pred.string("version"),
            registry=pred.string("registry"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PypiPublishView(PredicateView):
    """PyPI publish v1 (PEP 740): a distribution was published by a Trusted Publisher.

    The predicate is empty (or ``null``); what matters is the subject (the
    distribution's file name and sha256) and who signed.
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (PYPI_PUBLISH_V1,)


for _cls in (NpmPublishView, PypiPublishView):
    for _uri in _cls.PREDICATE_TYPES:
        register(_uri, _cls)
