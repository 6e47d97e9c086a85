"""Where evidence comes from: files (regular files only, bounded sizes,
keys and envelopes), and the explicit fetching step from OCI registries,
GitHub, npm, PyPI and HTTPS (one bounded HTTP client), plus the atomic
output writers.

May import ``model``, ``crypto`` and ``_errors``.  The only layers that
open files or sockets are this one, ``policy._tuf`` (fetching policy
through TUF) and ``cli``; the verifier never does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "read_file": "_files",
    "hash_file": "_files",
    "load_public_key_file": "_files",
    "load_private_key_file": "_files",
    "load_envelopes": "_files",
    "fetch": "_fetch",
    "FetchLimits": "_fetch",
    "FetchResult": "_fetch",
}

__all__ = [
    "FetchLimits",
    "FetchResult",
    "fetch",
    "hash_file",
    "load_envelopes",
    "load_private_key_file",
    "load_public_key_file",
    "read_file",
]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:
    from ._fetch import FetchLimits, FetchResult, fetch
    from ._files import (
        hash_file,
        load_envelopes,
        load_private_key_file,
        load_public_key_file,
        read_file,
    )
