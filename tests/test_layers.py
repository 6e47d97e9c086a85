"""The package layout of docs/architecture.md: layers, public names, the dependency rule."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import intoto_policy

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "intoto_policy"

# Layer -> what its modules may import besides themselves (layers and
# top-level modules of intoto_policy). model and crypto import each other
# (envelope signing, bundle parsing) until that is split.
_BASE = {"_errors", "_lazy"}
ALLOWED: dict[str, set[str]] = {
    "model": _BASE | {"crypto"},
    "crypto": _BASE | {"model"},
    "sources": _BASE | {"model", "crypto"},
    "report": _BASE | {"model", "crypto"},
    "policy": _BASE | {"model", "crypto", "sources", "report"},
    "verifier": _BASE | {"model", "crypto", "policy", "report"},
    "classic": _BASE | {"model", "crypto", "sources", "policy", "report"},
    "store": _BASE | {"model", "crypto", "sources", "policy"},
    "audit": _BASE
    | {"_api", "model", "crypto", "sources", "report", "policy", "verifier", "store"},
    "cli": _BASE
    | {
        "_api",
        "model",
        "crypto",
        "sources",
        "report",
        "policy",
        "verifier",
        "classic",
        "store",
        "audit",
    },
}
LAYERS = sorted(ALLOWED)
LAZY_LAYERS = [layer for layer in LAYERS if layer != "classic"]


def _imports(source: str, package: tuple[str, ...]) -> set[str]:
    """First component under intoto_policy of every import in ``source``.

    ``package`` is the importing module's package, e.g. ``("intoto_policy", "model")``.
    Lazy imports inside functions and ``TYPE_CHECKING`` blocks count too.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = (*base, *(node.module.split(".") if node.module else ()))
            else:
                target = tuple((node.module or "").split("."))
            if target[0] != "intoto_policy":
                continue
            if len(target) > 1:
                found.add(target[1])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "intoto_policy" and len(parts) > 1:
                    found.add(parts[1])
    return found


@pytest.mark.parametrize(
    ("source", "package", "want"),
    [
        ("from ..crypto._keys import PublicKey\n", ("intoto_policy", "model"), {"crypto"}),
        ("from ._dsse import pae\n", ("intoto_policy", "model"), {"model"}),
        ("from ... import _errors\n", ("intoto_policy", "model", "predicates"), {"_errors"}),
        ("def f():\n    from ..cli import main\n", ("intoto_policy", "report"), {"cli"}),
        (
            "if TYPE_CHECKING:\n    from intoto_policy.verifier._core import x\n",
            ("intoto_policy", "report"),
            {"verifier"},
        ),
        ("import intoto_policy.cli._main\n", ("intoto_policy", "model"), {"cli"}),
        ("import json\nfrom typing import Any\n", ("intoto_policy", "model"), set()),
    ],
    ids=["relative", "same-layer", "up-two", "lazy", "type-checking", "absolute", "outside"],
)
def test_imports_are_found(source: str, package: tuple[str, ...], want: set[str]) -> None:
    assert _imports(source, package) == want


@pytest.mark.parametrize("layer", LAYERS, ids=LAYERS)
def test_layer_imports_only_what_it_may(layer: str) -> None:
    bad = []
    for path in sorted((PKG / layer).rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("").parts
        package = rel if rel[-1] == "__init__" else rel[:-1]
        package = tuple(p for p in package if p != "__init__")
        for target in _imports(path.read_text(encoding="utf-8"), package):
            if target != layer and target not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(ROOT)} imports intoto_policy.{target}")
    assert not bad, "layer dependency rule (docs/architecture.md) broken:\n" + "\n".join(bad)


# The verifier's phases (docs/architecture.md): only _core ties them together;
# what phases share lives in _context (or a small _common).
_VERIFIER_SHARED = {"_context", "_common"}
_VERIFIER_PHASES = sorted(
    p.stem
    for p in (PKG / "verifier").glob("_*.py")
    if p.stem not in {"__init__", "_core"} | _VERIFIER_SHARED
)


def _verifier_siblings(source: str) -> set[str]:
    """The ``intoto_policy.verifier`` modules a verifier module imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                parts = node.module.split(".") if node.module else []
            elif node.level == 0 and (node.module or "").startswith("intoto_policy.verifier"):
                parts = (node.module or "").split(".")[2:]
            else:
                continue
            if parts:
                found.add(parts[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[:2] == ["intoto_policy", "verifier"] and len(parts) > 2:
                    found.add(parts[2])
    return found


@pytest.mark.parametrize(
    ("source", "want"),
    [
        ("from ._context import Context\n", {"_context"}),
        ("from . import _match, _claims\n", {"_match", "_claims"}),
        ("def f():\n    from ._subject import subject_checks\n", {"_subject"}),
        ("import intoto_policy.verifier._artifacts\n", {"_artifacts"}),
        ("from intoto_policy.verifier._thresholds import x\n", {"_thresholds"}),
        ("from ..policy._layout import Step\n", set()),
    ],
    ids=["relative", "package-names", "lazy", "absolute", "absolute-from", "other-layer"],
)
def test_verifier_siblings_are_found(source: str, want: set[str]) -> None:
    assert _verifier_siblings(source) == want


def test_verifier_has_its_phases() -> None:
    assert _VERIFIER_PHASES == [
        "_artifacts",
        "_authenticate",
        "_claims",
        "_match",
        "_subject",
        "_thresholds",
    ]


@pytest.mark.parametrize("phase", _VERIFIER_PHASES, ids=_VERIFIER_PHASES)
def test_verifier_phase_imports_no_other_phase(phase: str) -> None:
    source = (PKG / "verifier" / f"{phase}.py").read_text(encoding="utf-8")
    bad = _verifier_siblings(source) - _VERIFIER_SHARED
    assert not bad, f"verifier/{phase}.py imports {sorted(bad)}: only _core ties phases together"


def test_verifier_shared_modules_import_no_phase() -> None:
    for name in sorted(_VERIFIER_SHARED):
        path = PKG / "verifier" / f"{name}.py"
        if path.exists():
            bad = _verifier_siblings(path.read_text(encoding="utf-8")) - _VERIFIER_SHARED
            assert not bad, f"verifier/{name}.py imports {sorted(bad)}"


def test_every_folder_is_a_known_layer() -> None:
    folders = {p.name for p in PKG.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    assert folders == set(LAYERS)


@pytest.mark.parametrize("layer", LAZY_LAYERS, ids=LAZY_LAYERS)
def test_layer_public_names_resolve(layer: str) -> None:
    module = importlib.import_module(f"intoto_policy.{layer}")
    assert module.__doc__
    assert sorted(module.__all__) == sorted(module._EXPORTS)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute"):
        _ = module.no_such_name


def test_top_level_public_names_resolve() -> None:
    assert set(intoto_policy._EXPORTS) | {"__version__"} == set(intoto_policy.__all__)
    for name in intoto_policy.__all__:
        assert getattr(intoto_policy, name) is not None, name
    assert callable(intoto_policy.verify)


def test_no_layer_shadows_a_public_name() -> None:
    assert not set(LAYERS) & set(intoto_policy.__all__)


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("intoto_policy.crypto._keys", "sigstore"),
        ("intoto_policy.crypto._keys", "intoto_policy.crypto._keyless"),
        ("intoto_policy.model._digests", "intoto_policy.model._attestations"),
        ("intoto_policy.report._model", "intoto_policy.report._sarif"),
        ("intoto_policy.cli", "intoto_policy.cli._main"),
        ("intoto_policy", "intoto_policy.verifier._core"),
        ("intoto_policy.cli._main", "intoto_policy.verifier"),
    ],
    ids=[
        "keys-no-sigstore",
        "keys-no-keyless",
        "digests-alone",
        "report-no-renderer",
        "cli-package-lazy",
        "package-lazy",
        "cli-start-no-verifier",
    ],
)
def test_importing_a_module_does_not_import_its_siblings(module: str, absent: str) -> None:
    code = f"import sys, {module}\nassert {absent!r} not in sys.modules, {absent!r}\n"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
