"""Running layout inspections, with the reference implementation's semantics.

An inspection records every file under the working directory as materials,
runs its command there (an argument list, never a shell), and records every
file again as products. Files are recorded as in-toto's ``in_toto_run``
records ``.``: relative POSIX paths, sha256 digests, symlinked directories
followed, broken symlinks skipped, and the default exclude patterns
(``*.link*``, ``.git``, ``*.pyc``, ``*~``, matched against every path
component) applied. The command's output is discarded; a command that cannot
be started, times out, or exits non-zero fails the inspection.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = [
    "DEFAULT_TIMEOUT",
    "EXCLUDE_PATTERNS",
    "InspectionRun",
    "record_artifacts",
    "run_inspection",
]

#: The reference's default inspection timeout, in seconds.
DEFAULT_TIMEOUT: Final = 10.0

#: The reference's default artifact exclude patterns (gitignore-style).
EXCLUDE_PATTERNS: Final = ("*.link*", ".git", "*.pyc", "*~")

_CHUNK: Final = 1024 * 1024


def _excluded(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in EXCLUDE_PATTERNS)


def _sha256(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)  # noqa: PTH116 - os.walk gives str paths
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def record_artifacts(workdir: Path) -> dict[str, dict[str, str]]:
    """Record every file under ``workdir`` as in-toto records ``.`` there."""
    root = os.fspath(workdir)
    out: dict[str, dict[str, str]] = {}
    # Symlinked folders are followed, as in-toto records them, but a link
    # back to a folder on its own path (a loop) is not: without this the
    # walk would never end. Two links to one folder are both still recorded.
    top = _identity(root)
    ancestors: dict[str, frozenset[tuple[int, int]]] = {root: frozenset({top} if top else ())}
    for base, dirs, names in os.walk(root, followlinks=True):
        seen = ancestors.pop(base, frozenset())
        kept = []
        for d in dirs:
            if _excluded(d):
                continue
            child = os.path.join(base, d)  # noqa: PTH118 - os.walk gives str paths
            ident = _identity(child)
            if ident is None or ident in seen:
                continue
            ancestors[child] = seen | {ident}
            kept.append(d)
        dirs[:] = kept
        rel_base = os.path.relpath(base, root)
        for name in names:
            if _excluded(name):
                continue
            full = os.path.join(base, name)  # noqa: PTH118 - os.walk gives str paths
            if not os.path.isfile(full):  # noqa: PTH113
                continue  # a broken symlink, a socket...
            digest = _sha256(full)
            if digest is None:
                continue
            rel = name if rel_base == "." else os.path.join(rel_base, name)  # noqa: PTH118
            out[os.path.normpath(rel).replace("\\", "/")] = {"sha256": digest}
    return out


@dataclass(frozen=True, slots=True)
class InspectionRun:
    """What running one inspection gave.

    Attributes:
        materials: Files before the command.
        products: Files after the command.
        return_value: The command's exit status, or ``None`` if it did not run.
        problem: Why the inspection failed, or ``""``.
    """

    materials: dict[str, dict[str, str]]
    products: dict[str, dict[str, str]]
    return_value: int | None
    problem: str


def run_inspection(run: Sequence[Any], workdir: Path, timeout: float) -> InspectionRun:
    """Record, run ``run`` in ``workdir``, record again."""
    materials = record_artifacts(workdir)
    if not run:
        return InspectionRun(
            materials, record_artifacts(workdir), None, "the inspection has no command"
        )
    if not all(isinstance(arg, str) for arg in run):
        return InspectionRun(
            materials, materials, None, "the inspection command is not a list of strings"
        )
    args = [str(arg) for arg in run]
    try:
        done = subprocess.run(
            args,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return InspectionRun(
            materials, record_artifacts(workdir), None, f"the command timed out after {timeout:g} s"
        )
    except OSError as exc:
        return InspectionRun(
            materials, materials, None, f"the command could not be run: {exc.strerror or exc}"
        )
    products = record_artifacts(workdir)
    if done.returncode != 0:
        return InspectionRun(
            materials, products, done.returncode, f"the command exited with {done.returncode}"
        )
    return InspectionRun(materials, products, 0, "")
