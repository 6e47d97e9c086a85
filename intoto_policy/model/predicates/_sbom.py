"""Views of SBOM predicates: SPDX 2.x, SPDX 3 and CycloneDX (document level only).

The predicate is the whole SBOM; these views read only what identifies
the document and when it was made. Components, packages and relationships
are left to rules over the raw predicate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Final, Self

from ..._errors import ValidationError
from .._statement import Statement
from ._base import FieldReader, PredicateView, describing, register

__all__ = [
    "CYCLONEDX_BOM",
    "SPDX_DOCUMENT",
    "SPDX_DOCUMENT_V3",
    "SPDX_DOCUMENT_V22",
    "SPDX_DOCUMENT_V23",
    "CycloneDxView",
    "SbomView",
    "SpdxView",
]

#: SPDX without a version (cosign's ``--type spdxjson``): 2.x or 3 by shape.
SPDX_DOCUMENT: Final = "https://spdx.dev/Document"
SPDX_DOCUMENT_V22: Final = "https://spdx.dev/Document/v2.2"
SPDX_DOCUMENT_V23: Final = "https://spdx.dev/Document/v2.3"
SPDX_DOCUMENT_V3: Final = "https://spdx.dev/Document/v3"
CYCLONEDX_BOM: Final = "https://cyclonedx.org/bom"
#: CycloneDX with its spec version in the URI (``.../bom/v1.4``...).
CYCLONEDX_BOM_VERSIONED: Final = tuple(f"{CYCLONEDX_BOM}/v1.{minor}" for minor in range(8))


@dataclass(frozen=True, slots=True, kw_only=True)
class SbomView(PredicateView):
    """What every SBOM view has.

    Materials are the subjects (what the SBOM describes), no products; the
    timestamp is when the document was created.

    Attributes:
        spec_version: The SBOM format's version, as the document writes it
            (``SPDX-2.3``, ``3.0.1``, ``1.5``).
        document_name: The document's name (CycloneDX: the main component's).
        created: When the document was created.
    """

    spec_version: str | None
    document_name: str | None
    created: datetime | None

    def timestamp(self) -> datetime | None:
        """When the document was created."""
        return self.created


@dataclass(frozen=True, slots=True, kw_only=True)
class SpdxView(SbomView):
    """SPDX 2.x (JSON) or SPDX 3 (JSON-LD), told apart by shape.

    SPDX 2: ``spdxVersion``, ``name``, ``SPDXID``, ``documentNamespace``,
    ``creationInfo.created`` and ``.creators``. SPDX 3: the ``SpdxDocument``
    element of ``@graph`` (or the top-level object), its ``name``, ``spdxId``
    and its ``creationInfo`` (inline, or a reference to a ``CreationInfo``
    node): ``specVersion`` and ``created``.

    Attributes:
        spdx_id: The document's SPDX id.
        document_namespace: ``documentNamespace`` (SPDX 2 only).
        creators: ``creationInfo.creators`` (SPDX 2 only).
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (
        SPDX_DOCUMENT,
        SPDX_DOCUMENT_V22,
        SPDX_DOCUMENT_V23,
        SPDX_DOCUMENT_V3,
    )

    spdx_id: str | None
    document_namespace: str | None
    creators: tuple[str, ...]

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View an SPDX statement.

        Raises:
            ValidationError: A field read has the wrong type, the creation
                time is not RFC 3339, an SPDX 3 graph has several
                ``SpdxDocument`` elements, or its ``creationInfo`` reference
                points nowhere.
        """
        pred = FieldReader.predicate_of(statement)
        materials, products = describing(statement)
        if pred.has("@graph") or pred.has("@context"):
            doc, info = _spdx3_document(pred)
            return cls(
                statement=statement,
                material_set=materials,
                product_set=products,
                spec_version=info.string("specVersion") if info else None,
                document_name=doc.string("name") if doc else None,
                created=info.time("created") if info else None,
                spdx_id=doc.string("spdxId") if doc else None,
                document_namespace=None,
                creators=(),
            )
        info = pred.obj_or_empty("creationInfo")
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            spec_version=pred.string("spdxVersion"),
            document_name=pred.string("name"),
            created=info.time("created"),
            spdx_id=pred.string("SPDXID"),
            document_namespace=pred.string("documentNamespace"),
            creators=info.strings("creators"),
        )


def _spdx3_document(pred: FieldReader) -> tuple[FieldReader | None, FieldReader | None]:
    # The SpdxDocument element and its CreationInfo, either may be missing.
    nodes = pred.objects("@graph") if pred.has("@graph") else (pred,)
    docs = [n for n in nodes if "SpdxDocument" in (n.raw("type"), n.raw("@type"))]
    if not docs:
        return None, None
    if len(docs) > 1:
        raise ValidationError(
            f"has {len(docs)} SpdxDocument elements, want one", path=pred.at("@graph")
        )
    doc = docs[0]
    ref = doc.raw("creationInfo")
    if ref is None or isinstance(ref, Mapping):
        return doc, doc.obj("creationInfo")
    if not isinstance(ref, str):
        raise ValidationError("must be an object or a node reference", path=doc.at("creationInfo"))
    for node in nodes:
        if ref in (node.raw("@id"), node.raw("spdxId")):
            return doc, node
    raise ValidationError(
        f"refers to {ref!r}, which is not in the graph", path=doc.at("creationInfo")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CycloneDxView(SbomView):
    """CycloneDX BOM (JSON).

    ``specVersion``, ``metadata.timestamp``, and ``metadata.component.name``
    as the document name.

    Attributes:
        bom_format: ``bomFormat`` (``CycloneDX``).
        serial_number: ``serialNumber``.
        bom_version: ``version``, the BOM's own revision number.
    """

    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = (CYCLONEDX_BOM, *CYCLONEDX_BOM_VERSIONED)

    bom_format: str | None
    serial_number: str | None
    bom_version: int | None

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a CycloneDX statement.

        Raises:
            ValidationError: A field read has the wrong type or
                ``metadata.timestamp`` is not RFC 3339.
        """
        pred = FieldReader.predicate_of(statement)
        metadata = pred.obj_or_empty("metadata")
        materials, products = describing(statement)
        return cls(
            statement=statement,
            material_set=materials,
            product_set=products,
            spec_version=pred.string("specVersion"),
            document_name=metadata.obj_or_empty("component").string("name"),
            created=metadata.time("timestamp"),
            bom_format=pred.string("bomFormat"),
            serial_number=pred.string("serialNumber"),
            bom_version=pred.integer("version"),
        )


for _cls in (SpdxView, CycloneDxView):
    for _uri in _cls.PREDICATE_TYPES:
        register(_uri, _cls)
