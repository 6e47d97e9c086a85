"""The predicate-view base class, its registry, and typed field readers.

A *view* is a read-only, typed reading of one Statement's predicate. It
validates only the fields it reads: a field of the wrong type is a
:class:`~intoto_policy.ValidationError` naming its path; an absent or
``null`` field reads as ``None`` (or an empty tuple for lists), as the
in-toto parsing rules treat unset and null alike; unknown fields are ignored.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, Final, Self

from ..._errors import UsageError, ValidationError
from .._digests import DigestSet
from .._statement import ResourceDescriptor, Statement
from .._time import parse_rfc3339

__all__ = [
    "REGISTRY",
    "Artifacts",
    "FieldReader",
    "GenericView",
    "PredicateView",
    "register",
    "view_for",
]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class FieldReader:
    """Typed access to one JSON object of a predicate, with paths for errors.

    Every reader returns ``None`` (or ``()`` for lists) when the field is
    absent or ``null``, and raises :class:`ValidationError` naming the field's
    path when it is present with the wrong type.
    """

    __slots__ = ("_data", "_path")

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        self._data = data
        self._path = path

    @classmethod
    def predicate_of(cls, statement: Statement) -> FieldReader:
        """A reader over a statement's predicate (path ``predicate``)."""
        return cls(statement.predicate, "predicate")

    @property
    def path(self) -> str:
        """Where this object sits in the statement."""
        return self._path

    def at(self, key: str) -> str:
        """The path of ``key`` in this object."""
        return _join(self._path, key)

    def raw(self, key: str) -> Any:
        """The field's value as stored (read-only JSON), ``None`` if absent."""
        return self._data.get(key)

    def field_names(self) -> tuple[str, ...]:
        """The object's field names, in document order."""
        return tuple(self._data)

    def has(self, key: str) -> bool:
        """Whether the field is present and not ``null``."""
        return self._data.get(key) is not None

    def obj(self, key: str) -> FieldReader | None:
        """A reader over an object field.

        Raises:
            ValidationError: The field is not an object.
        """
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ValidationError("must be an object", path=self.at(key))
        return FieldReader(value, self.at(key))

    def obj_or_empty(self, key: str) -> FieldReader:
        """Like :meth:`obj`, but an absent object reads as ``{}``.

        Raises:
            ValidationError: The field is not an object.
        """
        found = self.obj(key)
        return found if found is not None else FieldReader({}, self.at(key))

    def mapping(self, key: str) -> Mapping[str, Any] | None:
        """An object field as a read-only mapping.

        Raises:
            ValidationError: The field is not an object.
        """
        found = self.obj(key)
        return found._data if found is not None else None

    def string(self, key: str) -> str | None:
        """A string field.

        Raises:
            ValidationError: The field is not a string.
        """
        value = self._data.get(key)
        if value is not None and not isinstance(value, str):
            raise ValidationError("must be a string", path=self.at(key))
        return value

    def integer(self, key: str) -> int | None:
        """An integer field (booleans are not integers here).

        Raises:
            ValidationError: The field is not an integer.
        """
        value = self._data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationError("must be an integer", path=self.at(key))
        return value

    def _list(self, key: str) -> tuple[Any, ...]:
        value = self._data.get(key)
        if value is None:
            return ()
        if not isinstance(value, tuple | list):
            raise ValidationError("must be a list", path=self.at(key))
        return tuple(value)

    def strings(self, key: str) -> tuple[str, ...]:
        """A list-of-strings field.

        Raises:
            ValidationError: The field is not a list, or an item is not a string.
        """
        items = self._list(key)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise ValidationError("must be a string", path=f"{self.at(key)}[{i}]")
        return items

    def objects(self, key: str) -> tuple[FieldReader, ...]:
        """A list-of-objects field, as readers.

        Raises:
            ValidationError: The field is not a list, or an item is not an object.
        """
        out = []
        for i, item in enumerate(self._list(key)):
            where = f"{self.at(key)}[{i}]"
            if not isinstance(item, Mapping):
                raise ValidationError("must be an object", path=where)
            out.append(FieldReader(item, where))
        return tuple(out)

    def time(self, key: str) -> datetime | None:
        """An RFC 3339 timestamp field, as an aware UTC datetime.

        Raises:
            ValidationError: The field is not a string or not RFC 3339.
        """
        value = self._data.get(key)
        if value is None:
            return None
        try:
            return parse_rfc3339(value)
        except ValidationError as exc:
            raise ValidationError(exc.problem, path=self.at(key)) from None

    def digest(self, key: str) -> DigestSet | None:
        """A DigestSet field.

        Raises:
            ValidationError: The field is not a valid DigestSet.
        """
        value = self._data.get(key)
        if value is None:
            return None
        try:
            return DigestSet(value)
        except ValidationError as exc:
            raise ValidationError(exc.problem, path=self.at(key)) from None

    def descriptor(self, key: str) -> ResourceDescriptor | None:
        """A ResourceDescriptor field.

        Raises:
            ValidationError: The field is not a valid ResourceDescriptor.
        """
        value = self._data.get(key)
        if value is None:
            return None
        return ResourceDescriptor.from_dict(value, path=self.at(key))

    def descriptors(self, key: str) -> tuple[tuple[str, ResourceDescriptor], ...]:
        """A list-of-ResourceDescriptors field, each with its path.

        Raises:
            ValidationError: The field is not a list, or an item is not a
                valid ResourceDescriptor.
        """
        out = []
        for i, item in enumerate(self._list(key)):
            where = f"{self.at(key)}[{i}]"
            out.append((where, ResourceDescriptor.from_dict(item, path=where)))
        return tuple(out)


def subject_entries(statement: Statement) -> tuple[tuple[str, ResourceDescriptor], ...]:
    """The statement's subjects, each with its path (``subject[i]``)."""
    return tuple((f"subject[{i}]", sub) for i, sub in enumerate(statement.subject))


@dataclass(frozen=True, slots=True)
class Artifacts:
    """One side (materials or products) of a step, in the artifact-rule form.

    An artifact is named by its ``name``, else its ``uri``. Descriptors
    without a digest, or without a name and uri, cannot be matched by rules:
    they are left out of :attr:`digests` and listed separately.

    Attributes:
        digests: Name to DigestSet (read-only).
        undigested: Descriptors that have no digest.
        unnamed: Descriptors with a digest but neither name nor uri.
        descriptors: Every descriptor, in document order.
    """

    digests: Mapping[str, DigestSet]
    undigested: tuple[ResourceDescriptor, ...] = ()
    unnamed: tuple[ResourceDescriptor, ...] = ()
    descriptors: tuple[ResourceDescriptor, ...] = ()

    @classmethod
    def collect(cls, entries: Iterable[tuple[str, ResourceDescriptor]]) -> Artifacts:
        """Build the map from descriptors, each given with its path.

        A name listed twice with the same digests counts once.

        Raises:
            ValidationError: A name is listed twice with different digests
                (rules could not tell which one was meant).
        """
        digests: dict[str, DigestSet] = {}
        first_seen: dict[str, str] = {}
        undigested: list[ResourceDescriptor] = []
        unnamed: list[ResourceDescriptor] = []
        every: list[ResourceDescriptor] = []
        for path, rd in entries:
            every.append(rd)
            name = rd.name or rd.uri
            if rd.digest is None:
                undigested.append(rd)
            elif not name:
                unnamed.append(rd)
            elif name in digests:
                if digests[name] != rd.digest:
                    raise ValidationError(
                        f"artifact {name!r} is listed again with different digests"
                        f" (first at {first_seen[name]})",
                        path=path,
                    )
            else:
                digests[name] = rd.digest
                first_seen[name] = path
        return cls(
            digests=MappingProxyType(digests),
            undigested=tuple(undigested),
            unnamed=tuple(unnamed),
            descriptors=tuple(every),
        )


#: No artifacts.
NO_ARTIFACTS: Final = Artifacts(digests=MappingProxyType({}))


@dataclass(frozen=True, slots=True, kw_only=True)
class PredicateView:
    """A typed, read-only view of a Statement's predicate.

    Build one with :func:`view_for` (which picks the class registered for
    the statement's predicateType) or a class's :meth:`from_statement`.

    Every view answers the same questions: :meth:`materials` and
    :meth:`products` (name to digest, for artifact rules),
    :meth:`undigested_materials` and friends (what the maps had to leave
    out), and :meth:`timestamp` (the predicate's main time, for freshness).

    Attributes:
        statement: The statement viewed.
        material_set: Its materials.
        product_set: Its products.
    """

    #: Predicate types this class was written for (documentation only: the
    #: registry decides which class views which type).
    PREDICATE_TYPES: ClassVar[tuple[str, ...]] = ()

    statement: Statement
    material_set: Artifacts
    product_set: Artifacts

    @classmethod
    def from_statement(cls, statement: Statement) -> Self:
        """View a statement whose predicate this class does not interpret.

        Its subjects are the materials (what the attestation is about),
        there are no products.

        Raises:
            ValidationError: Two subjects share a name but not their digests.
        """
        materials, products = describing(statement)
        return cls(statement=statement, material_set=materials, product_set=products)

    @property
    def predicate_type(self) -> str:
        """The statement's predicateType."""
        return self.statement.predicate_type

    @property
    def subjects(self) -> tuple[ResourceDescriptor, ...]:
        """The statement's subjects."""
        return self.statement.subject

    def materials(self) -> dict[str, DigestSet]:
        """Materials by name (a fresh dict on each call)."""
        return dict(self.material_set.digests)

    def products(self) -> dict[str, DigestSet]:
        """Products by name (a fresh dict on each call)."""
        return dict(self.product_set.digests)

    def undigested_materials(self) -> tuple[ResourceDescriptor, ...]:
        """Materials without a digest: no rule can match them."""
        return self.material_set.undigested

    def undigested_products(self) -> tuple[ResourceDescriptor, ...]:
        """Products without a digest: no rule can match them."""
        return self.product_set.undigested

    def unnamed_materials(self) -> tuple[ResourceDescriptor, ...]:
        """Materials with a digest but neither name nor uri."""
        return self.material_set.unnamed

    def unnamed_products(self) -> tuple[ResourceDescriptor, ...]:
        """Products with a digest but neither name nor uri."""
        return self.product_set.unnamed

    def timestamp(self) -> datetime | None:
        """The predicate's main time (UTC), or ``None`` if it has none."""
        return None


def describing(statement: Statement) -> tuple[Artifacts, Artifacts]:
    """Materials and products of a predicate that describes its subjects.

    Its subjects are the materials, there are no products (see the package
    documentation for why).

    Raises:
        ValidationError: Two subjects share a name but not their digests.
    """
    return Artifacts.collect(subject_entries(statement)), NO_ARTIFACTS


def producing(
    statement: Statement, inputs: Iterable[tuple[str, ResourceDescriptor]]
) -> tuple[Artifacts, Artifacts]:
    """Materials and products of a predicate recording a step that made its subjects.

    ``inputs`` (each with its path) are the materials, the subjects are the
    products.

    Raises:
        ValidationError: A name is listed twice with different digests.
    """
    return Artifacts.collect(inputs), Artifacts.collect(subject_entries(statement))


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericView(PredicateView):
    """The view of a predicate type nobody registered.

    Materials are the subjects, there are no products, no timestamp.
    """


_REGISTRY: dict[str, type[PredicateView]] = {}

# Which module of this package views each built-in predicate type. A module
# is imported the first time one of its types is needed, so that verifying
# SLSA provenance does not import the SBOM views (start-up time); importing
# it registers its classes. tests/test_predicates.py checks this table
# against what the modules register.
_VIEW_MODULES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "https://docs.pypi.org/attestations/publish/v1": "_ecosystems",
        "https://github.com/npm/attestation/tree/main/specs/publish/v0.1": "_ecosystems",
        "https://cosign.sigstore.dev/attestation/vuln/v1": "_intoto",
        "https://in-toto.io/attestation/link/v0.3": "_intoto",
        "https://in-toto.io/attestation/reference/v0.1": "_intoto",
        "https://in-toto.io/attestation/release/v0.1": "_intoto",
        "https://in-toto.io/attestation/runtime-trace/v0.1": "_intoto",
        "https://in-toto.io/attestation/scai/attribute-report/v0.2": "_intoto",
        "https://in-toto.io/attestation/scai/v0.3": "_intoto",
        "https://in-toto.io/attestation/svr/v0.1": "_intoto",
        "https://in-toto.io/attestation/svr/v0.2": "_intoto",
        "https://in-toto.io/attestation/test-result/v0.1": "_intoto",
        "https://in-toto.io/attestation/vulns/v0.1": "_intoto",
        "https://in-toto.io/attestation/vulns/v0.2": "_intoto",
        "https://cyclonedx.org/bom": "_sbom",
        "https://cyclonedx.org/bom/v1.0": "_sbom",
        "https://cyclonedx.org/bom/v1.1": "_sbom",
        "https://cyclonedx.org/bom/v1.2": "_sbom",
        "https://cyclonedx.org/bom/v1.3": "_sbom",
        "https://cyclonedx.org/bom/v1.4": "_sbom",
        "https://cyclonedx.org/bom/v1.5": "_sbom",
        "https://cyclonedx.org/bom/v1.6": "_sbom",
        "https://cyclonedx.org/bom/v1.7": "_sbom",
        "https://spdx.dev/Document": "_sbom",
        "https://spdx.dev/Document/v2.2": "_sbom",
        "https://spdx.dev/Document/v2.3": "_sbom",
        "https://spdx.dev/Document/v3": "_sbom",
        "https://slsa.dev/provenance/v0.1": "_slsa",
        "https://slsa.dev/provenance/v0.2": "_slsa",
        "https://slsa.dev/provenance/v1": "_slsa",
        "https://slsa.dev/provenance/v1.0?draft": "_slsa",
        "https://slsa.dev/verification_summary/v0.2": "_slsa",
        "https://slsa.dev/verification_summary/v1": "_slsa",
    }
)


def _load_builtin(predicate_type: str) -> None:
    """Import the built-in module viewing ``predicate_type``, if any (once)."""
    module = _VIEW_MODULES.get(predicate_type)
    if module is not None:
        importlib.import_module(f"{__package__}.{module}")


def _load_all_builtins() -> None:
    for module in sorted(set(_VIEW_MODULES.values())):
        importlib.import_module(f"{__package__}.{module}")


class _Registry(Mapping[str, type[PredicateView]]):
    """Read-only view of the registry that imports built-in views on access."""

    def __getitem__(self, predicate_type: str) -> type[PredicateView]:
        _load_builtin(predicate_type)
        return _REGISTRY[predicate_type]

    def __iter__(self) -> Iterator[str]:
        _load_all_builtins()
        return iter(dict(_REGISTRY))

    def __len__(self) -> int:
        _load_all_builtins()
        return len(_REGISTRY)


#: Predicate type URI to view class (read-only; use :func:`register`).
REGISTRY: Final[Mapping[str, type[PredicateView]]] = _Registry()


def register(
    predicate_type: str, view_class: type[PredicateView], *, replace: bool = False
) -> None:
    """Make ``view_class`` the view of statements with ``predicate_type``.

    Args:
        predicate_type: The exact predicateType URI.
        view_class: A :class:`PredicateView` subclass.
        replace: Allow replacing a registered class.

    Raises:
        UsageError: ``predicate_type`` is empty or not a string,
            ``view_class`` is not a PredicateView subclass, or the type is
            registered already and ``replace`` is false.
    """
    if not isinstance(predicate_type, str) or not predicate_type:
        raise UsageError("a predicate type must be a non-empty string")
    if not (isinstance(view_class, type) and issubclass(view_class, PredicateView)):
        raise UsageError(f"{view_class!r} is not a PredicateView subclass")
    _load_builtin(predicate_type)  # so that its later import cannot collide
    current = _REGISTRY.get(predicate_type)
    if current is not None and current is not view_class and not replace:
        raise UsageError(
            f"predicate type {predicate_type} is already viewed by {current.__name__}"
            " (pass replace=True to replace it)"
        )
    _REGISTRY[predicate_type] = view_class


def unregister(predicate_type: str) -> None:
    """Forget the view class of ``predicate_type`` (for tests and plugins).

    Raises:
        UsageError: Nothing is registered for it.
    """
    _load_builtin(predicate_type)
    if _REGISTRY.pop(predicate_type, None) is None:
        raise UsageError(f"no view is registered for predicate type {predicate_type}")


def view_for(statement: Statement) -> PredicateView:
    """View a statement with the class registered for its predicateType.

    Unregistered types get a :class:`GenericView`.

    Raises:
        ValidationError: A field the view reads has the wrong type or is
            invalid (the error's path names it).
    """
    view_class = _REGISTRY.get(statement.predicate_type)
    if view_class is None:
        _load_builtin(statement.predicate_type)
        view_class = _REGISTRY.get(statement.predicate_type, GenericView)
    return view_class.from_statement(statement)
