"""Classic in-toto layouts and links (in-toto 3.x semantics), verified fast.

Public entry points:

* :func:`is_classic_layout` tells a classic layout (a metablock whose
  ``signed._type`` is ``layout``, or a DSSE envelope carrying one) from an
  attestation layout.
* :func:`verify_classic` verifies one against its links and returns a
  :class:`~intoto_policy.Report`.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from .._errors import JSONError
from ..model._json import DEFAULT_LIMITS, within_layout_bounds
from ._load import ENVELOPE_PAYLOAD_TYPE, loads_strict

if TYPE_CHECKING:
    from ._verify import verify_classic

__all__ = ["is_classic_layout", "verify_classic"]


def __getattr__(name: str) -> Any:
    # The verifier loads on first use: telling the layout kinds apart (every
    # ``verify`` does) must not import it.
    if name == "verify_classic":
        from ._verify import verify_classic  # noqa: PLC0415

        return verify_classic
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _layout_type(value: Any) -> bool:
    return isinstance(value, dict) and value.get("_type") == "layout"


def is_classic_layout(data: bytes) -> bool:
    """Whether ``data`` is a classic in-toto layout (metablock or DSSE envelope).

    Never raises: bytes that are not JSON are simply not a classic layout,
    nor are bytes above the layout bounds (the attestation layout loader
    then refuses them with the reason), checked before anything is decoded.
    """
    if not within_layout_bounds(data):
        return False
    try:
        doc = loads_strict(data, limits=DEFAULT_LIMITS)
    except JSONError:
        return False
    if not isinstance(doc, dict):
        return False
    if "signed" in doc and "payload" not in doc:
        return _layout_type(doc["signed"])
    if doc.get("payloadType") != ENVELOPE_PAYLOAD_TYPE or not isinstance(doc.get("payload"), str):
        return False
    try:
        payload = base64.b64decode(doc["payload"], validate=True)
    except (binascii.Error, ValueError):
        return False
    if not within_layout_bounds(payload):
        return False
    try:
        return _layout_type(loads_strict(payload, limits=DEFAULT_LIMITS))
    except JSONError:
        return False
