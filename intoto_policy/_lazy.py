"""One helper for the lazy public names of intoto_policy and its layers.

A package's ``__init__`` runs whenever any of its submodules is imported,
so eager re-exports there would import, for example, sigstore whenever
``intoto_policy.crypto._keys`` is needed.  Every package therefore declares
its public names in a table and resolves them on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


def lazy_exports(
    namespace: dict[str, Any], exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` resolving ``exports`` lazily.

    Args:
        namespace: The package's ``globals()``; resolved names are cached
            there so that the import happens once.
        exports: Public name -> module path relative to the package
            (``"_keys"``, ``"verifier._core"``).

    Returns:
        ``(__getattr__, __dir__)`` to assign at the package's top level.

    Raises:
        AttributeError: From ``__getattr__``, for a name not in ``exports``.
    """
    package = namespace["__name__"]

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return list(namespace.get("__all__", exports))

    return getattr_, dir_
