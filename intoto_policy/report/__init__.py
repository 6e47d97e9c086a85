"""The verification Report (the typed result) and its renderers (text,
json, sarif, junit, markdown, vsa).

``_model`` imports ``model`` and ``_errors`` only; the renderers may
import ``crypto`` (the VSA is signed).  Each renderer module is imported
on first use through the registry in ``_render``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Report": "_model",
    "StepResult": "_model",
    "Check": "_model",
    "CheckKind": "_model",
    "Status": "_model",
    "RejectedAttestation": "_model",
    "RejectReason": "_model",
    "AttestationRef": "_model",
    "Signer": "_model",
    "LayoutInfo": "_model",
    "Location": "_model",
    "render": "_render",
    "RENDERERS": "_render",
    "FORMATS": "_render",
}

__all__ = [
    "FORMATS",
    "RENDERERS",
    "AttestationRef",
    "Check",
    "CheckKind",
    "LayoutInfo",
    "Location",
    "RejectReason",
    "RejectedAttestation",
    "Report",
    "Signer",
    "Status",
    "StepResult",
    "render",
]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:
    from ._model import (
        AttestationRef,
        Check,
        CheckKind,
        LayoutInfo,
        Location,
        RejectedAttestation,
        RejectReason,
        Report,
        Signer,
        Status,
        StepResult,
    )
    from ._render import FORMATS, RENDERERS, render
