"""Several artifacts in one call: one release of several files.

Every artifact must be a subject of the same counted evidence of the
subject steps (an attestation that leaves one out does not count), and each
artifact has its own subject-binding check in the report. Independent
artifacts are verified with one call each.
"""

from __future__ import annotations

from typing import Any

import pytest

from intoto_policy import CheckKind, DigestSet, Layout, Status, verify_attestations
from tests.test_verify import APP, AT, layout_doc, provenance, scan, sha, signed

OTHER = sha("another-binary")


def _attestations(subjects: dict[str, str]) -> list[Any]:
    return [
        signed(provenance(subjects=subjects), "builder", source="build.json"),
        signed(scan(), "scanner", source="scan.json"),
    ]


CASES = [
    pytest.param({"app": APP}, [APP], [Status.PASS], True, id="one-artifact"),
    pytest.param(
        {"app": APP, "other": OTHER},
        [APP, OTHER],
        [Status.PASS, Status.PASS],
        True,
        id="both-named",
    ),
    pytest.param({"app": APP}, [APP, OTHER], [Status.FAIL, Status.FAIL], False, id="one-left-out"),
]


@pytest.mark.parametrize(("named", "digests", "statuses", "verdict"), CASES)
def test_each_artifact_reported(
    named: dict[str, str], digests: list[str], statuses: list[Status], verdict: bool
) -> None:
    doc = layout_doc()
    doc["steps"][0]["expectedProducts"] = ["ALLOW *"]
    doc["steps"][1]["expectedMaterials"] = ["ALLOW *"]
    report = verify_attestations(
        Layout.from_dict(doc),
        _attestations(named),
        at=AT,
        subjects=[DigestSet({"sha256": d}) for d in digests],
    )
    binding = [c for c in report.checks if c.kind is CheckKind.SUBJECT_BINDING]
    assert [c.status for c in binding] == statuses
    assert [c.expected for c in binding] == [{"sha256": d} for d in digests]
    assert bool(report) is verdict, [c.message for c in report.failures]
    if not verdict:
        # The attestation that leaves an artifact out is rejected naming that artifact only.
        (reason,) = [r.message for r in report.rejected if r.attestation.source == "build.json"]
        assert OTHER[:16] in reason
        assert APP[:16] not in reason


def test_subject_file_and_merged_digests_are_the_same_artifact(tmp_path: Any) -> None:
    import hashlib

    from intoto_policy.cli._verify import _one_artifact
    from intoto_policy.sources._files import hash_file

    path = tmp_path / "app.tgz"
    path.write_bytes(b"release bytes")
    data = path.read_bytes()
    merged = _one_artifact(
        [
            f"sha512:{hashlib.sha512(data).hexdigest()}",
            f"sha256:{hashlib.sha256(data).hexdigest()}",
        ]
    )
    assert merged == hash_file(path, ("sha256", "sha512"))
