"""Keys, signatures, canonical encodings, X.509 and keyless (Sigstore)
verification.

May import ``model`` and ``_errors``; never ``policy``, ``verifier``,
``report`` or ``cli``.  Does no file I/O (callers pass bytes) and reads
no clock (times are parameters).  ``_keyless`` imports sigstore, so it
must only ever be imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "PublicKey": "_keys",
    "PrivateKey": "_keys",
    "generate_private_key": "_keys",
    "load_public_key_pem": "_keys",
    "load_private_key_pem": "_keys",
}

__all__ = [
    "PrivateKey",
    "PublicKey",
    "generate_private_key",
    "load_private_key_pem",
    "load_public_key_pem",
]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:
    from ._keys import (
        PrivateKey,
        PublicKey,
        generate_private_key,
        load_private_key_pem,
        load_public_key_pem,
    )
