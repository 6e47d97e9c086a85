"""Telling classic in-toto documents (layouts and links) apart, for the
commands that are not ``verify``: ``layout check``, ``layout sign``, ``inspect``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .._errors import IntotoPolicyError, excerpt
from ..classic._load import Document, parse_document


def classic_document(data: bytes, source: str) -> Document | None:
    """The classic in-toto link or layout ``data`` is, or None if it is not one.

    A metablock (``signed`` + ``signatures``) or a DSSE envelope of type
    ``application/vnd.in-toto+json`` whose payload has ``_type`` ``link`` or
    ``layout``. Never raises: anything else is simply not classic.
    """
    stripped = data.lstrip()
    if not stripped.startswith(b"{"):
        return None
    try:
        doc = parse_document(data, source=source)
    except IntotoPolicyError:
        return None
    return doc if doc.type in ("link", "layout") else None


def classic_summary(doc: Document) -> dict[str, Any]:
    """What ``inspect`` shows of a classic document: kind, format, name."""
    name = doc.payload.get("name")
    return {
        "type": doc.type,
        "format": doc.format,
        "name": name if isinstance(name, str) else None,
    }


def classic_findings(doc: Document, at: datetime) -> list[tuple[str, str]]:
    """``layout check`` for a classic layout: (severity, message) pairs.

    The layout is validated as the classic verifier reads it (fields, rules,
    unique names, key ids), and judged for expiry at ``at``.
    """
    from ..classic._model import layout_from_payload  # noqa: PLC0415

    findings: list[tuple[str, str]] = []
    try:
        layout = layout_from_payload(doc.payload)
    except IntotoPolicyError as exc:
        return [("error", f"classic layout: {exc.problem}")]
    if layout.expires is not None and layout.expires <= at:
        findings.append(("error", f"the layout already expired at {layout.expires.isoformat()}"))
    if not doc.signatures:
        findings.append(("warning", "the layout has no signature: verify refuses it"))
    for step in layout.steps:
        unknown = sorted(k for k in step.pubkeys if k not in layout.keys)
        for keyid in unknown:
            findings.append(
                ("error", f"step {excerpt(step.name)}: unknown functionary key {excerpt(keyid)}")
            )
        if step.threshold > len(set(step.pubkeys)):
            findings.append(
                (
                    "error",
                    (
                        f"step {excerpt(step.name)}: threshold {step.threshold} counts distinct "
                        f"principals, but only {len(set(step.pubkeys))} keys are authorised, "
                        "so it can never be met"
                    ),
                )
            )
    return findings
