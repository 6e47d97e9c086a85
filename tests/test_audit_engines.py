"""The audit engines run the same per-subject task: local pool and Ray agree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.test_cli_store import EXPECTED, audit, ingest, results, tree  # noqa: F401


@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="ray is not installed (pip install 'intoto-policy[ray]'; .ci/run installs it)",
)
def test_ray_engine_matches_local(tree: Path, capsys) -> None:  # noqa: F811
    store = f"sqlite:///{tree / 'store.db'}"
    ingest(capsys, store, tree)
    code, out, err = audit(
        capsys, tree, store, "--subjects", str(tree / "subjects.txt"),
        "--engine", "ray", "--workers", "2",
    )  # fmt: skip
    assert code == 1, err
    ray_verdicts = {s: d["verdict"] for s, d in results(tree).items()}
    assert ray_verdicts == EXPECTED
    assert "passed               6" in out
    # The same subjects through the local engine give the same lines.
    ray_lines = results(tree)
    (tree / "results.jsonl").unlink()
    audit(capsys, tree, store, "--subjects", str(tree / "subjects.txt"), "--workers", "2")
    assert results(tree) == ray_lines


@pytest.mark.parametrize(
    ("chain", "found"),
    [
        pytest.param("policy-error", True, id="wrapped-policy-error"),
        pytest.param("other", False, id="unrelated-error"),
    ],
)
def test_ray_error_unwrapping(chain: str, found: bool) -> None:
    from intoto_policy._errors import InputError
    from intoto_policy.audit._ray import _policy_error

    inner: BaseException = (
        InputError("bad store", source="x") if chain == "policy-error" else ValueError("x")
    )
    outer = RuntimeError("remote failure")
    outer.cause = inner  # type: ignore[attr-defined]  # how Ray exposes the original
    assert (_policy_error(outer) is inner) is found
