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

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # verification
    "verify": "_api",
    "load_trusted_root_file": "_api",
    "TUFPolicySource": "_tuf",
    "TUFResult": "_tuf",
    "fetch_policy": "_tuf",
    "verify_attestations": "_verify",
    "load_layout": "_loading",
    "load_attestations": "_loading",
    "LoadedLayout": "_loading",
    "Layout": "_layout",
    "Step": "_layout",
    "ExpectedPredicate": "_layout",
    "AttributeRule": "_layout",
    "Attestation": "_attestations",
    "parse_attestations": "_attestations",
    # fetching (a separate step; the only code that uses the network)
    "fetch": "_fetch",
    "FetchLimits": "_fetch",
    "FetchResult": "_fetch",
    "FetchError": "_errors",
    # report
    "Report": "_report",
    "StepResult": "_report",
    "Check": "_report",
    "CheckKind": "_report",
    "Status": "_report",
    "RejectedAttestation": "_report",
    "RejectReason": "_report",
    "AttestationRef": "_report",
    "Signer": "_report",
    "SigningTime": "_report",
    "SigningTimeSource": "_report",
    "LayoutInfo": "_report",
    "Location": "_report",
    # models
    "DigestSet": "_digests",
    "ResourceDescriptor": "_statement",
    "Statement": "_statement",
    "Envelope": "_dsse",
    "pae": "_dsse",
    "PublicKey": "_keys",
    "PrivateKey": "_keys",
    "generate_private_key": "_keys",
    "load_public_key_pem": "_keys",
    "load_private_key_pem": "_keys",
    "view_for": "_predicates",
    # rendering
    "render": "_render",
    "RENDERERS": "_render",
    "FORMATS": "_render",
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'intoto_policy' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"intoto_policy.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from ._api import load_trusted_root_file, verify
    from ._attestations import Attestation, parse_attestations
    from ._digests import DigestSet
    from ._dsse import Envelope, pae
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
    from ._fetch import FetchLimits, FetchResult, fetch
    from ._keys import (
        PrivateKey,
        PublicKey,
        generate_private_key,
        load_private_key_pem,
        load_public_key_pem,
    )
    from ._layout import AttributeRule, ExpectedPredicate, Layout, Step
    from ._loading import LoadedLayout, load_attestations, load_layout
    from ._predicates import view_for
    from ._render import FORMATS, RENDERERS, render
    from ._report import (
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
    from ._statement import ResourceDescriptor, Statement
    from ._tuf import TUFPolicySource, TUFResult, fetch_policy
    from ._verify import verify_attestations
