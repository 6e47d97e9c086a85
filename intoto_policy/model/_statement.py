"""in-toto attestation Statement and ResourceDescriptor models.

Models validate at construction, are immutable, and round-trip losslessly:
``Statement.from_dict(d).to_dict() == d`` for every accepted ``d``, unknown
fields included.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from .._errors import ValidationError
from ._digests import DigestSet

__all__ = [
    "STATEMENT_TYPES",
    "STATEMENT_V01",
    "STATEMENT_V1",
    "ResourceDescriptor",
    "Statement",
]

STATEMENT_V1: Final = "https://in-toto.io/Statement/v1"
STATEMENT_V01: Final = "https://in-toto.io/Statement/v0.1"
#: Statement types accepted. v0.1 is still emitted by cosign and npm.
STATEMENT_TYPES: Final = frozenset({STATEMENT_V1, STATEMENT_V01})

_RD_FIELDS: Final = (
    "name",
    "uri",
    "digest",
    "content",
    "downloadLocation",
    "mediaType",
    "annotations",
)


_ABSENT: Final = object()


class FrozenJSON(Mapping[str, Any]):
    """A read-only view of a parsed JSON object.

    Nested objects are wrapped when read and arrays come back as tuples, so
    nothing reachable through the view can be mutated, and building the view
    costs nothing however large the object is.
    """

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return _frozen(self._data[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        """The value at ``key`` (read-only), or ``default``."""
        value = self._data.get(key, _ABSENT)
        return default if value is _ABSENT else _frozen(value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenJSON):
            return self._data == other._data
        if isinstance(other, Mapping):
            return bool(self._data == thaw(other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FrozenJSON({self._data!r})"


def _frozen(value: Any) -> Any:
    if type(value) is dict:
        return FrozenJSON(value)
    if type(value) is list:
        return tuple(_frozen(v) for v in value)
    return value


def _freeze_copy(value: Any) -> Any:
    # Construction from caller-owned data: copy once, so later changes to the
    # caller's objects cannot reach the model.
    if isinstance(value, FrozenJSON):
        return value
    if type(value) is dict and not value:
        return FrozenJSON({})
    return FrozenJSON(thaw(value)) if isinstance(value, Mapping) else _frozen(thaw(value))


def thaw(value: Any) -> Any:
    """Turn a read-only JSON view back into plain (new) dicts and lists."""
    if isinstance(value, FrozenJSON):
        value = value._data
    if isinstance(value, dict | MappingProxyType | Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


def json_of(value: FrozenJSON) -> dict[str, Any]:
    """The parsed JSON behind a view, without copying. Callers must not mutate it."""
    return value._data


def _opt_str(data: Mapping[str, Any], key: str, path: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{key} must be a string", path=path)
    return value


@dataclass(frozen=True, slots=True)
class ResourceDescriptor:
    """A reference to a software artifact (subject, material, product...).

    At least one of ``uri``, ``digest`` or ``content`` must be present.

    Attributes:
        name: Local identifier, e.g. a file path.
        uri: Location or identifier of the resource.
        digest: Its digests, if given.
        content: Its raw bytes (base64 in JSON), if given.
        download_location: Where it can be fetched.
        media_type: Its media type.
        annotations: Extra information (a read-only mapping).
        extra: Fields outside the spec, kept for round trips.
    """

    name: str | None = None
    uri: str | None = None
    digest: DigestSet | None = None
    content: bytes | None = None
    download_location: str | None = None
    media_type: str | None = None
    annotations: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    _content_text: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.uri is None and self.digest is None and self.content is None:
            raise ValidationError(
                "a resource descriptor needs at least one of uri, digest, content"
            )
        object.__setattr__(self, "extra", _freeze_copy(self.extra))

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "") -> ResourceDescriptor:
        """Validate a JSON resource descriptor.

        Args:
            data: The parsed JSON object.
            path: Where it sits in the enclosing document, for errors.

        Raises:
            ValidationError: It is not an object, a field has the wrong type,
                a digest is invalid, or none of uri/digest/content is set.
        """
        if not isinstance(data, Mapping):
            raise ValidationError("a resource descriptor must be an object", path=path)
        digest = None
        if data.get("digest") is not None:
            try:
                digest = DigestSet(data["digest"])
            except ValidationError as exc:
                raise ValidationError(
                    exc.problem, path=f"{path}.digest" if path else "digest"
                ) from None
        content = None
        content_text = _opt_str(data, "content", path)
        if content_text is not None:
            try:
                content = base64.b64decode(content_text, validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError("content must be base64", path=path) from None
        annotations = data.get("annotations")
        if annotations is not None and not isinstance(annotations, Mapping):
            raise ValidationError("annotations must be an object", path=path)
        try:
            return cls(
                name=_opt_str(data, "name", path),
                uri=_opt_str(data, "uri", path),
                digest=digest,
                content=content,
                download_location=_opt_str(data, "downloadLocation", path),
                media_type=_opt_str(data, "mediaType", path),
                annotations=FrozenJSON(dict(annotations)) if annotations is not None else None,
                # An explicit null for a spec field is kept in extra, so
                # to_dict writes it back and the round trip stays lossless.
                extra={k: v for k, v in data.items() if k not in _RD_FIELDS or v is None},
                _content_text=content_text,
            )
        except ValidationError as exc:
            if path and not exc.path:
                raise ValidationError(exc.problem, path=path) from None
            raise

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (fields in spec order, unknown fields last)."""
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        if self.uri is not None:
            out["uri"] = self.uri
        if self.digest is not None:
            out["digest"] = self.digest.to_dict()
        if self.content is not None:
            out["content"] = self._content_text or base64.b64encode(self.content).decode("ascii")
        if self.download_location is not None:
            out["downloadLocation"] = self.download_location
        if self.media_type is not None:
            out["mediaType"] = self.media_type
        if self.annotations is not None:
            out["annotations"] = thaw(self.annotations)
        out.update(thaw(self.extra))
        return out

    @property
    def label(self) -> str:
        """A human name for reports: name, else uri, else the digest."""
        if self.name:
            return self.name
        if self.uri:
            return self.uri
        return self.digest.describe() if self.digest else "<content>"


@dataclass(frozen=True, slots=True)
class Statement:
    """An in-toto Statement (v1, or the legacy v0.1).

    Attributes:
        type: ``_type``: one of :data:`STATEMENT_TYPES`.
        subject: The artifacts the statement is about; each has a digest.
        predicate_type: URI of the predicate's type.
        predicate: The predicate (read-only), ``{}`` when absent.
        extra: Top-level fields outside the spec, kept for round trips.
    """

    type: str
    subject: tuple[ResourceDescriptor, ...]
    predicate_type: str
    predicate: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    _has_predicate: bool = field(default=True, repr=False, compare=False)
    _subject_json: Any = field(default=None, repr=False, compare=False)
    _type_key: str = field(default="_type", repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.type not in STATEMENT_TYPES:
            raise ValidationError(
                f"unsupported statement type {self.type!r}: want {STATEMENT_V1}", path="_type"
            )
        if not self.subject:
            raise ValidationError("a statement needs at least one subject", path="subject")
        for i, sub in enumerate(self.subject):
            if sub.digest is None:
                raise ValidationError("every subject needs a digest", path=f"subject[{i}]")
        if not isinstance(self.predicate_type, str) or not self.predicate_type:
            raise ValidationError("predicateType must be a non-empty string", path="predicateType")
        if not isinstance(self.predicate, Mapping):
            raise ValidationError("predicate must be an object", path="predicate")
        object.__setattr__(self, "predicate", _freeze_copy(self.predicate))
        object.__setattr__(self, "extra", _freeze_copy(self.extra))

    @classmethod
    def from_dict(cls, data: Any, *, copy: bool = True) -> Statement:
        """Validate a parsed JSON Statement.

        ``type`` is accepted in place of ``_type``: protobuf JSON parsers
        (the Go and Python bindings) accept the proto field name, and
        signed statements using it exist (attestation-verifier test data).

        Args:
            data: The parsed statement.
            copy: Copy the predicate so later changes to ``data`` cannot
                reach the model. Pass False only for JSON nobody else holds
                (freshly decoded bytes): the verifier's hot path.

        Raises:
            ValidationError: The statement violates the spec.
        """
        if not isinstance(data, Mapping):
            raise ValidationError("a statement must be a JSON object")
        type_key = "_type"
        if "_type" not in data and "type" in data:
            type_key = "type"
        elif "_type" in data and "type" in data:
            raise ValidationError("statement has both _type and type")
        stype = data.get(type_key)
        if not isinstance(stype, str):
            raise ValidationError("statement needs _type", path="_type")
        subjects = data.get("subject")
        if not isinstance(subjects, Sequence) or isinstance(subjects, str):
            raise ValidationError("subject must be a list", path="subject")
        parsed = tuple(
            ResourceDescriptor.from_dict(s, path=f"subject[{i}]") for i, s in enumerate(subjects)
        )
        ptype = data.get("predicateType")
        if not isinstance(ptype, str):
            raise ValidationError("predicateType must be a string", path="predicateType")
        predicate = data.get("predicate")
        # "predicate": null is kept in extra (like other explicit nulls).
        has_predicate = predicate is not None
        if predicate is None:
            predicate = {}
        if not isinstance(predicate, Mapping):
            raise ValidationError("predicate must be an object", path="predicate")
        extra = {
            k: v
            for k, v in data.items()
            if k not in (type_key, "subject", "predicateType", "predicate")
            or (k == "predicate" and v is None)
        }
        subject_json = None
        if not copy and type(predicate) is dict:
            predicate = FrozenJSON(predicate)
            subject_json = subjects
        return cls(
            type=stype,
            subject=parsed,
            predicate_type=ptype,
            predicate=predicate,
            extra=extra,
            _has_predicate=has_predicate,
            _subject_json=subject_json,
            _type_key=type_key,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; round-trips what :meth:`from_dict` accepted."""
        out: dict[str, Any] = {
            self._type_key: self.type,
            "subject": [s.to_dict() for s in self.subject],
            "predicateType": self.predicate_type,
        }
        if self._has_predicate or self.predicate:
            out["predicate"] = thaw(self.predicate)
        out.update(thaw(self.extra))
        return out

    @property
    def plain_predicate(self) -> dict[str, Any]:
        """The predicate as new plain dicts and lists."""
        return thaw(self.predicate)  # type: ignore[no-any-return]

    @property
    def subject_json(self) -> list[Any]:
        """The subjects as JSON: shared when parsed from owned bytes; never mutate it."""
        if self._subject_json is not None:
            return self._subject_json  # type: ignore[no-any-return]
        return [s.to_dict() for s in self.subject]

    @property
    def predicate_json(self) -> dict[str, Any]:
        """The predicate's parsed JSON, shared, not copied: read it, never mutate it."""
        assert isinstance(self.predicate, FrozenJSON)
        return json_of(self.predicate)
