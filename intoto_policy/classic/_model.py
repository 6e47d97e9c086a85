"""The classic in-toto layout and link model, validated as in-toto 3.x validates it.

Only the fields the reference implementation reads are interpreted; every
other field is left in the document (and so stays covered by a signature
over the document as written). Where the reference fills in defaults
(``threshold`` 1, empty rule lists, a layout without ``expires``...), so
does this model; :func:`normalized_link` and :func:`normalized_layout`
rebuild the exact object the reference signs, for signatures made by it
over documents that lack or add fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import chain
from typing import Any, Final

from .._errors import LayoutError, ValidationError
from ..policy._rules import ArtifactRule, parse_rules
from ._load import ParseCache

__all__ = [
    "Inspection",
    "Layout",
    "Link",
    "Step",
    "layout_from_payload",
    "link_from_payload",
    "normalized_layout",
    "normalized_link",
]

_HEX: Final = re.compile(r"[0-9a-fA-F]+")
_EXPIRES: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_HEX_DIGITS: Final = b"0123456789abcdefABCDEF"

Artifacts = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Step:
    """A layout step.

    Attributes:
        name: The step name (links are found by it).
        pubkeys: Key ids of the functionaries authorized to perform it.
        threshold: How many distinct functionaries must agree.
        expected_command: The command the step is expected to run.
        expected_materials: Material rules.
        expected_products: Product rules.
        index: Position in the layout's ``steps``.
    """

    name: str
    pubkeys: tuple[str, ...]
    threshold: int
    expected_command: tuple[Any, ...]
    expected_materials: tuple[ArtifactRule, ...]
    expected_products: tuple[ArtifactRule, ...]
    index: int


@dataclass(frozen=True, slots=True)
class Inspection:
    """A layout inspection: a command run by the verifier.

    Attributes:
        name: The inspection name.
        run: The command and its arguments.
        expected_materials: Material rules.
        expected_products: Product rules.
        index: Position in the layout's ``inspect``.
    """

    name: str
    run: tuple[Any, ...]
    expected_materials: tuple[ArtifactRule, ...]
    expected_products: tuple[ArtifactRule, ...]
    index: int


@dataclass(frozen=True, slots=True)
class Layout:
    """A classic in-toto layout.

    Attributes:
        steps: The steps, in order.
        inspections: The inspections, in order.
        keys: Functionary key dicts by key id, as written.
        expires: The expiry, or ``None`` when the layout has none (the
            reference then gives it one month from now: it never expires).
        readme: The readme text.
    """

    steps: tuple[Step, ...]
    inspections: tuple[Inspection, ...]
    keys: Mapping[str, Mapping[str, Any]]
    expires: datetime | None
    readme: str


@dataclass(frozen=True, slots=True)
class Link:
    """The artifacts and command one functionary recorded for a step.

    Attributes:
        name: The step name the link claims (the reference does not check it).
        materials: Path to digest set, as recorded.
        products: Path to digest set, as recorded.
        command: The command recorded.
        byproducts: The byproducts recorded.
    """

    name: Any
    materials: Artifacts
    products: Artifacts
    command: Any
    byproducts: Mapping[str, Any] = field(default_factory=dict)


def _check_hash_dicts(artifacts: Any, what: str) -> None:
    """Every value a dict of str -> non-empty hex str (the reference's HASHDICT)."""
    if not isinstance(artifacts, dict):
        raise ValidationError(f"{what} must be an object", path=what)
    if not artifacts:
        return
    # Bulk check first (object keys from JSON are always strings); the loop
    # below only runs to name the offending entry.
    try:
        digests = list(chain.from_iterable(map(dict.values, artifacts.values())))
        ok = "" not in digests and not "".join(digests).encode("ascii").translate(None, _HEX_DIGITS)
    except (TypeError, UnicodeEncodeError):
        ok = False
    if ok:
        return
    for path, digest in artifacts.items():
        if not isinstance(digest, dict):
            raise ValidationError("a digest set must be an object", path=f"{what}.{path}")
        for alg, value in digest.items():
            if not isinstance(alg, str) or not isinstance(value, str) or not _HEX.fullmatch(value):
                raise ValidationError(f"digest {alg!r} is not a hex string", path=f"{what}.{path}")


def link_from_payload(payload: Mapping[str, Any], cache: ParseCache | None = None) -> Link:
    """Validate a link payload as the reference's ``Link.read`` does.

    Args:
        payload: The link payload.
        cache: The verification's parse cache: an artifact map shared by
            several links is then checked once.

    Raises:
        ValidationError: A field has the wrong type or a digest is not hex.
    """
    if payload.get("_type") != "link":
        raise ValidationError("not a link (_type is not 'link')")
    materials = payload.get("materials", {})
    products = payload.get("products", {})
    for what, artifacts in (("materials", materials), ("products", products)):
        if cache is not None and isinstance(artifacts, dict):
            cache.validated("hash dicts", artifacts, partial(_check_hash_dicts, what=what))
        else:
            _check_hash_dicts(artifacts, what)
    byproducts = payload.get("byproducts", {})
    if not isinstance(byproducts, dict):
        raise ValidationError("byproducts must be an object", path="byproducts")
    command = payload.get("command", [])
    if not isinstance(command, list):
        raise ValidationError("command must be a list", path="command")
    if not isinstance(payload.get("environment", {}), dict):
        raise ValidationError("environment must be an object", path="environment")
    return Link(payload.get("name"), materials, products, command, byproducts)


def normalized_link(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The object the reference signs for this link payload (known fields, defaults)."""
    return {
        "_type": "link",
        "name": payload.get("name"),
        "materials": payload.get("materials", {}),
        "products": payload.get("products", {}),
        "byproducts": payload.get("byproducts", {}),
        "command": payload.get("command", []),
        "environment": payload.get("environment", {}),
    }


def _normalized_item(item: Mapping[str, Any], kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "_type": kind,
        "name": item.get("name"),
        "expected_materials": item.get("expected_materials", []),
        "expected_products": item.get("expected_products", []),
    }
    if kind == "step":
        out["pubkeys"] = item.get("pubkeys", [])
        out["expected_command"] = item.get("expected_command", [])
        out["threshold"] = item.get("threshold", 1)
    else:
        out["run"] = item.get("run", [])
    return out


def normalized_layout(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The object the reference signs for this layout payload (known fields, defaults)."""
    return {
        "_type": "layout",
        "steps": [_normalized_item(s, "step") for s in payload.get("steps") or []],
        "inspect": [_normalized_item(i, "inspection") for i in payload.get("inspect") or []],
        "keys": payload.get("keys", {}),
        "expires": payload.get("expires"),
        "readme": payload.get("readme", ""),
    }


def _rules(item: Mapping[str, Any], name: str, where: str) -> tuple[ArtifactRule, ...]:
    rules = item.get(name, [])
    if not isinstance(rules, list):
        raise ValidationError(f"{name} must be a list", path=f"{where}.{name}")
    for index, rule in enumerate(rules):
        # The reference's unpack_rule takes lists of strings only.
        if not isinstance(rule, list):
            raise ValidationError(
                "an artifact rule must be a list", path=f"{where}.{name}[{index}]"
            )
    return parse_rules(rules, path=f"{where}.{name}")


def _name(item: Mapping[str, Any], where: str) -> str:
    name = item.get("name")
    if not isinstance(name, str):
        raise ValidationError("name must be a string", path=f"{where}.name")
    return name


def _parse_expires(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _EXPIRES.fullmatch(value):
        raise ValidationError("expires must be 'YYYY-MM-DDTHH:MM:SSZ'", path="expires")
    try:
        if not value.isascii():  # other Unicode digits: strptime decides
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        # What strptime("%Y-%m-%dT%H:%M:%SZ") gives for ASCII text of this
        # shape, without importing _strptime (a CLI start-up cost).
        return datetime(
            int(value[0:4]),
            int(value[5:7]),
            int(value[8:10]),
            int(value[11:13]),
            int(value[14:16]),
            int(value[17:19]),
            tzinfo=UTC,
        )
    except ValueError:
        raise ValidationError(f"expires {value!r} is not a valid date", path="expires") from None


def _check_key_dicts(keys: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(keys, dict):
        raise ValidationError("keys must be an object", path="keys")
    for keyid, key in keys.items():
        where = f"keys.{keyid}"
        if not _HEX.fullmatch(keyid):
            raise ValidationError("a key id must be hex", path=where)
        if not isinstance(key, dict) or not isinstance(key.get("keyid"), str):
            raise ValidationError("a key must be an object with a string keyid", path=where)
        gpg = all(n in key for n in ("type", "method", "hashes", "keyval"))
        sslib = all(n in key for n in ("keytype", "scheme", "keyval"))
        if not (gpg or sslib):
            raise ValidationError(
                "a key needs keytype, scheme and keyval (or a GPG key's type, method, "
                "hashes and keyval)",
                path=where,
            )
    return keys


def layout_from_payload(payload: Mapping[str, Any]) -> Layout:
    """Validate a layout payload as the reference's ``Layout.read`` does.

    Raises:
        ValidationError: A field is missing or malformed, a rule does not
            parse, or two items share a name.
    """
    if payload.get("_type") != "layout":
        raise ValidationError("not a layout (_type is not 'layout')")
    raw_steps = payload.get("steps")
    raw_inspect = payload.get("inspect")
    if not isinstance(raw_steps, list):
        raise ValidationError("steps must be a list", path="steps")
    if not isinstance(raw_inspect, list):
        raise ValidationError("inspect must be a list", path="inspect")
    readme = payload.get("readme", "")
    if not isinstance(readme, str):
        raise ValidationError("readme must be a string", path="readme")
    keys = _check_key_dicts(payload.get("keys", {}))
    expires = _parse_expires(payload.get("expires"))
    seen: set[str] = set()
    steps: list[Step] = []
    for index, item in enumerate(raw_steps):
        where = f"steps[{index}]"
        if not isinstance(item, dict):
            raise ValidationError("a step must be an object", path=where)
        name = _name(item, where)
        pubkeys = item.get("pubkeys", [])
        if not isinstance(pubkeys, list) or not all(
            isinstance(k, str) and _HEX.fullmatch(k) for k in pubkeys
        ):
            raise ValidationError("pubkeys must be a list of hex key ids", path=f"{where}.pubkeys")
        threshold = item.get("threshold", 1)
        if not isinstance(threshold, int):
            raise ValidationError("threshold must be an integer", path=f"{where}.threshold")
        command = item.get("expected_command", [])
        if not isinstance(command, list):
            raise ValidationError(
                "expected_command must be a list", path=f"{where}.expected_command"
            )
        steps.append(
            Step(
                name,
                tuple(pubkeys),
                int(threshold),
                tuple(command),
                _rules(item, "expected_materials", where),
                _rules(item, "expected_products", where),
                index,
            )
        )
        if name in seen:
            raise LayoutError(f"two steps or inspections are named {name!r}")
        seen.add(name)
    inspections: list[Inspection] = []
    for index, item in enumerate(raw_inspect):
        where = f"inspect[{index}]"
        if not isinstance(item, dict):
            raise ValidationError("an inspection must be an object", path=where)
        name = _name(item, where)
        run = item.get("run", [])
        if not isinstance(run, list):
            raise ValidationError("run must be a list", path=f"{where}.run")
        inspections.append(
            Inspection(
                name,
                tuple(run),
                _rules(item, "expected_materials", where),
                _rules(item, "expected_products", where),
                index,
            )
        )
        if name in seen:
            raise LayoutError(f"two steps or inspections are named {name!r}")
        seen.add(name)
    return Layout(tuple(steps), tuple(inspections), keys, expires, readme)


def is_sequence_of_str(value: Any) -> bool:
    """Whether ``value`` is a list of strings."""
    return isinstance(value, Sequence) and all(isinstance(v, str) for v in value)
