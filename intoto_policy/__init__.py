"""intoto_policy: decide whether a software artifact may be deployed.

Verify signed in-toto attestations (SLSA provenance, SBOMs, scans, test
results, links) and classic in-toto link metadata against a layout: who
must attest to which step, how many of them, what their claims must say,
and how the steps' materials and products chain together. The result is a
:class:`Report` whose truth value is the verdict.

Public names are imported lazily so that ``import intoto_policy`` (and the
CLI) stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # verification
    "verify": "_api",
    "load_trusted_root_file": "_api",
    "TUFPolicySource": "policy._tuf",
    "TUFResult": "policy._tuf",
    "fetch_policy": "policy._tuf",
    "verify_attestations": "verifier._core",
    "load_layout": "policy._loading",
    "load_attestations": "policy._loading",
    "LoadedLayout": "policy._loading",
    "Layout": "policy._layout",
    "Step": "policy._layout",
    "ExpectedPredicate": "policy._layout",
    "AttributeRule": "policy._layout",
    "Attestation": "model._attestations",
    "parse_attestations": "model._attestations",
    # fetching (a separate step; the only code that uses the network)
    "fetch": "sources._fetch",
    "FetchLimits": "sources._fetch",
    "FetchResult": "sources._fetch",
    "FetchError": "_errors",
    # report
    "Report": "report._model",
    "StepResult": "report._model",
    "Check": "report._model",
    "CheckKind": "report._model",
    "Status": "report._model",
    "RejectedAttestation": "report._model",
    "RejectReason": "report._model",
    "AttestationRef": "report._model",
    "Signer": "report._model",
    "SigningTime": "report._model",
    "SigningTimeSource": "report._model",
    "LayoutInfo": "report._model",
    "Location": "report._model",
    # models
    "DigestSet": "model._digests",
    "ResourceDescriptor": "model._statement",
    "Statement": "model._statement",
    "Envelope": "model._dsse",
    "pae": "model._dsse",
    "PublicKey": "crypto._keys",
    "PrivateKey": "crypto._keys",
    "generate_private_key": "crypto._keys",
    "load_public_key_pem": "crypto._keys",
    "load_private_key_pem": "crypto._keys",
    "view_for": "model.predicates",
    # rendering
    "render": "report._render",
    "RENDERERS": "report._render",
    "FORMATS": "report._render",
    # errors
    "IntotoPolicyError": "_errors",
    "InputError": "_errors",
    "JSONError": "_errors",
    "ValidationError": "_errors",
    "SchemaError": "_errors",
    "KeyFormatError": "_errors",
    "LayoutError": "_errors",
    "ParameterError": "_errors",
    "SigningError": "_errors",
    "UsageError": "_errors",
}

__all__ = [
    "FORMATS",
    "RENDERERS",
    "Attestation",
    "AttestationRef",
    "AttributeRule",
    "Check",
    "CheckKind",
    "DigestSet",
    "Envelope",
    "ExpectedPredicate",
    "FetchError",
    "FetchLimits",
    "FetchResult",
    "InputError",
    "IntotoPolicyError",
    "JSONError",
    "KeyFormatError",
    "Layout",
    "LayoutError",
    "LayoutInfo",
    "LoadedLayout",
    "Location",
    "ParameterError",
    "PrivateKey",
    "PublicKey",
    "RejectReason",
    "RejectedAttestation",
    "Report",
    "ResourceDescriptor",
    "SchemaError",
    "Signer",
    "SigningError",
    "SigningTime",
    "SigningTimeSource",
    "Statement",
    "Status",
    "Step",
    "StepResult",
    "TUFPolicySource",
    "TUFResult",
    "UsageError",
    "ValidationError",
    "__version__",
    "fetch",
    "fetch_policy",
    "generate_private_key",
    "load_attestations",
    "load_layout",
    "load_private_key_pem",
    "load_public_key_pem",
    "load_trusted_root_file",
    "pae",
    "parse_attestations",
    "render",
    "verify",
    "verify_attestations",
    "view_for",
]


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)


if TYPE_CHECKING:
    from ._api import load_trusted_root_file, verify
    from ._errors import (
        FetchError,
        InputError,
        IntotoPolicyError,
        JSONError,
        KeyFormatError,
        LayoutError,
        ParameterError,
        SchemaError,
        SigningError,
        UsageError,
        ValidationError,
    )
    from .crypto._keys import (
        PrivateKey,
        PublicKey,
        generate_private_key,
        load_private_key_pem,
        load_public_key_pem,
    )
    from .model._attestations import Attestation, parse_attestations
    from .model._digests import DigestSet
    from .model._dsse import Envelope, pae
    from .model._statement import ResourceDescriptor, Statement
    from .model.predicates import view_for
    from .policy._layout import AttributeRule, ExpectedPredicate, Layout, Step
    from .policy._loading import LoadedLayout, load_attestations, load_layout
    from .policy._tuf import TUFPolicySource, TUFResult, fetch_policy
    from .report._model import (
        AttestationRef,
        Check,
        CheckKind,
        LayoutInfo,
        Location,
        RejectedAttestation,
        RejectReason,
        Report,
        Signer,
        SigningTime,
        SigningTimeSource,
        Status,
        StepResult,
    )
    from .report._render import FORMATS, RENDERERS, render
    from .sources._fetch import FetchLimits, FetchResult, fetch
    from .verifier._core import verify_attestations
