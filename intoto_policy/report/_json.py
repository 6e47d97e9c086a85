"""The report as JSON, as described by ``schemas/report.schema.json``.

The structure and key order are :meth:`Report.to_dict`'s (``verdict``
first). Free-form values — check ``expected``/``actual``/``details``,
parameters, digest sets, certificate extensions — get their keys sorted,
so two runs over the same inputs produce byte-identical output whatever
order the verifier happened to record facts in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ._common import dump_json
from ._model import Report

__all__ = ["render_json", "stable_dict"]

# Keys whose values are free-form JSON (sorted recursively); everything else
# keeps the model's own key order.
_FREE_FORM: Final = frozenset(
    {"expected", "actual", "details", "parameters", "digest", "extensions"}
)


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(v) for v in value]
    return value


def _stable(value: Any, free: bool = False) -> Any:
    if free:
        return _sorted(value)
    if isinstance(value, Mapping):
        return {k: _stable(v, k in _FREE_FORM) for k, v in value.items()}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def stable_dict(report: Report) -> dict[str, Any]:
    """``report.to_dict()`` with free-form values' keys sorted.

    Subjects (a list of digest sets) are sorted key-wise too.
    """
    data: dict[str, Any] = _stable(report.to_dict())
    data["subjects"] = [_sorted(s) for s in data["subjects"]]
    return data


def render_json(report: Report, *, indent: int = 2) -> str:
    """Render a report as JSON.

    Args:
        report: The verification report.
        indent: Spaces per nesting level.

    Returns:
        The JSON document, ending with a newline.

    Raises:
        TypeError: A check carries a value that is not JSON-serialisable
            (a verifier defect: the model requires JSON-able values).
        ValueError: A check carries a NaN or infinite float.
    """
    return dump_json(stable_dict(report), indent=indent) + "\n"
