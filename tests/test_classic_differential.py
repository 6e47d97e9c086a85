"""Differential test: random supply chains built with the in-toto package, two verifiers, one verdict.

Each case builds a chain with in-toto's own model and securesystemslib's
signers (random rules of every kind, thresholds, sublayouts, metablock and
DSSE envelopes), applies one random mutation, and checks that
``in_toto.verifylib.in_toto_verify`` and :func:`verify_classic` agree.

Cases are seeded by their number, so a failure reproduces with its id.
``INTOTO_POLICY_DIFF_CASES`` sets how many run (default 25); set it to a few
thousand to search harder.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

in_toto = pytest.importorskip("in_toto")

from in_toto.models.layout import Layout, Step  # noqa: E402
from in_toto.models.link import Link  # noqa: E402
from in_toto.models.metadata import Envelope, Metablock, Metadata  # noqa: E402
from in_toto.verifylib import in_toto_verify  # noqa: E402
from securesystemslib.signer import CryptoSigner  # noqa: E402

from intoto_policy.classic import verify_classic  # noqa: E402
from intoto_policy.crypto._keys import PublicKey  # noqa: E402

CASES = int(os.environ.get("INTOTO_POLICY_DIFF_CASES", "25"))

_POOL: list[CryptoSigner] = []


def _pool() -> list[CryptoSigner]:
    if not _POOL:
        _POOL.extend(CryptoSigner.generate_ed25519() for _ in range(6))
        _POOL.append(CryptoSigner.generate_ecdsa())
        _POOL.append(CryptoSigner.generate_rsa(scheme="rsassa-pss-sha256", size=2048))
    return _POOL


def _key_dict(signer: CryptoSigner) -> dict[str, Any]:
    out: dict[str, Any] = signer.public_key.to_dict()
    out["keyid"] = signer.public_key.keyid
    return out


def _digest(rng: random.Random) -> dict[str, str]:
    return {"sha256": hashlib.sha256(str(rng.random()).encode()).hexdigest()}


PATHS = ["a.txt", "src/a.c", "src/b.c", "src/lib/x.h", "doc/readme", "out/app", "out/app.sig", "b*"]
PATTERNS = [
    "*",
    "src/*",
    "*.c",
    "a.txt",
    "out/*",
    "src/lib/*",
    "nothing",
    "?.txt",
    "[ab].txt",
    "b*",
]


def _random_rule(rng: random.Random, names: list[str]) -> list[str]:
    kind = rng.choice(["MATCH", "CREATE", "DELETE", "MODIFY", "ALLOW", "DISALLOW", "REQUIRE"])
    if kind == "REQUIRE":
        return ["REQUIRE", rng.choice(PATHS)]
    pattern = rng.choice(PATTERNS)
    if kind != "MATCH":
        return [kind, pattern]
    rule = ["MATCH", pattern]
    if rng.random() < 0.3:
        rule += ["IN", rng.choice(["src", "src/", "out", "lib"])]
    rule += ["WITH", rng.choice(["MATERIALS", "PRODUCTS", "products"])]
    if rng.random() < 0.3:
        rule += ["IN", rng.choice(["src", "out/", "x"])]
    return [*rule, "FROM", rng.choice(names)]


def _fitting_rules(
    rng: random.Random, side: str, mine: dict[str, Any], other: dict[str, Any], prev: str | None
) -> list[list[str]]:
    """Rules that describe the artifacts (mostly), ending in DISALLOW * (mostly)."""
    rules: list[list[str]] = []
    if prev is not None and rng.random() < 0.9:
        rules.append(["MATCH", "*", "WITH", "PRODUCTS", "FROM", prev])
    elif side == "materials" and rng.random() < 0.9:
        rules.append(["ALLOW", "*"])
    if side == "products":
        if rng.random() < 0.8:
            rules.append(["MODIFY", "*"])
        rules.append(["CREATE", "*"])
        if rng.random() < 0.9:
            rules.append(["MATCH", "*", "WITH", "MATERIALS", "FROM", "__self__"])
    if mine and rng.random() < 0.3:
        rules.insert(0, ["REQUIRE", rng.choice(sorted(mine))])
    if rng.random() < 0.85:
        rules.append(["DISALLOW", "*"])
    return rules


@dataclass
class Case:
    seed: int
    root: Path
    rng: random.Random = field(init=False)
    mutation: str = ""
    owner: CryptoSigner = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.owner = self.rng.choice(_pool())

    def _dump(self, signable: Any, signers: list[CryptoSigner], path: Path) -> None:
        md = (
            Envelope.from_signable(signable)
            if self.rng.random() < 0.5
            else Metablock(signed=signable)
        )
        for signer in signers:
            md.create_signature(signer)
        md.dump(str(path))

    def build_layout(
        self, link_dir: Path, depth: int, given: tuple[dict[str, Any], dict[str, Any]] | None = None
    ) -> tuple[Layout, dict[str, Any]]:
        """A layout plus its links in ``link_dir``; returns the last step's products.

        A sublayout (``given``) has one step recording the delegating step's
        materials and products, or (rarely) no step at all.
        """
        rng = self.rng
        link_dir.mkdir(parents=True, exist_ok=True)
        n_steps = rng.randint(1, 3) if given is None else int(rng.random() < 0.9)
        names = [f"s{depth}{i}" for i in range(n_steps)]
        files = {p: _digest(rng) for p in rng.sample(PATHS, rng.randint(1, 5))}
        if given is not None:
            files = given[0]
        steps, keys = [], {}
        prev: str | None = None
        products: dict[str, Any] = {}
        for name in names:
            funcs = rng.sample(_pool(), rng.randint(1, 3))
            threshold = rng.randint(1, len(funcs))
            for f in funcs:
                keys[f.public_key.keyid] = _key_dict(f)
            materials = dict(files)
            products = dict(files)
            for p in rng.sample(sorted(products), rng.randint(0, len(products))):
                action = rng.choice(["modify", "delete", "keep"])
                if action == "modify":
                    products[p] = _digest(rng)
                elif action == "delete":
                    del products[p]
            for p in rng.sample(PATHS, rng.randint(0, 2)):
                products.setdefault(p, _digest(rng))
            if given is not None:
                products = dict(given[1])
            exp_m = _fitting_rules(rng, "materials", materials, {}, prev)
            exp_p = [
                ["MATCH", "*", "WITH", "MATERIALS", "FROM", name] if r[-1] == "__self__" else r
                for r in _fitting_rules(rng, "products", products, materials, None)
            ]
            for rules in (exp_m, exp_p):
                for _ in range(rng.choice([0, 0, 0, 1, 2])):
                    rules.insert(rng.randint(0, len(rules)), _random_rule(rng, [*names, "nope"]))
            command = ["make", name]
            delegated = depth < 2 and rng.random() < 0.2
            steps.append(
                Step(
                    name=name,
                    pubkeys=[f.public_key.keyid for f in funcs],
                    threshold=threshold,
                    expected_command=command if rng.random() < 0.8 else ["other"],
                    expected_materials=exp_m,
                    expected_products=exp_p,
                )
            )
            signers = funcs[: rng.randint(threshold, len(funcs))]
            for f in signers:
                kid = f.public_key.keyid
                path = link_dir / f"{name}.{kid[:8]}.link"
                if delegated and f is signers[0]:
                    sub, _ = self.build_layout(
                        link_dir / f"{name}.{kid[:8]}", depth + 1, (materials, products)
                    )
                    self._dump(sub, [f], path)
                    continue
                link = Link(
                    name=name,
                    materials=materials,
                    products=products,
                    command=command,
                    byproducts={"return-value": 0},
                    environment={},
                )
                self._dump(link, [f], path)
            files = products
            prev = name
        expires = "2099-01-01T00:00:00Z"
        return Layout(steps=steps, keys=keys, expires=expires, inspect=[]), products

    def build(self) -> None:
        layout, _ = self.build_layout(self.root, 0)
        self.mutate(layout)
        self._dump(layout, [self.owner], self.root / "root.layout")

    def mutate(self, layout: Layout) -> None:
        rng = self.rng
        links = sorted(self.root.rglob("*.link"))
        choices: dict[str, Callable[[], None]] = {
            "none": lambda: None,
            "expired": lambda: setattr(layout, "expires", "2000-01-01T00:00:00Z"),
            "drop-link": lambda: rng.choice(links).unlink() if links else None,
            "tamper-digest": lambda: _tamper(rng.choice(links)) if links else None,
            "unauthorized-signer": lambda: self._unauthorized(layout),
            "wrong-owner": lambda: setattr(self, "owner", rng.choice(_pool())),
            "threshold-up": lambda: _raise_threshold(rng, layout),
        }
        self.mutation = rng.choice(sorted(choices))
        choices[self.mutation]()

    def _unauthorized(self, layout: Layout) -> None:
        if not layout.steps:
            return
        step = self.rng.choice(layout.steps)
        outsider = next(s for s in _pool() if s.public_key.keyid not in step.pubkeys)
        victims = sorted(self.root.glob(f"{step.name}.*.link"))
        target = victims[0] if victims else self.root / f"{step.name}.{step.pubkeys[0][:8]}.link"
        link = Link(
            name=step.name, materials={}, products={}, command=[], byproducts={}, environment={}
        )
        self._dump(link, [outsider], target)


def _tamper(path: Path) -> None:
    md = Metadata.load(str(path))
    text = path.read_text()
    payload = md.get_payload()
    digests = (
        [d["sha256"] for d in (*payload.materials.values(), *payload.products.values())]
        if hasattr(payload, "materials")
        else []
    )
    if digests and isinstance(md, Metablock):
        path.write_text(text.replace(digests[0], "0" * 64, 1))
    else:
        path.write_text(text.replace('"sig": "', '"sig": "AAAA', 1))


def _raise_threshold(rng: random.Random, layout: Layout) -> None:
    if layout.steps:
        step = rng.choice(layout.steps)
        step.threshold += 1


def _reference(case: Case) -> bool:
    owner = _key_dict(case.owner)
    cwd = Path.cwd()
    os.chdir(case.root)
    try:
        in_toto_verify(Metadata.load("root.layout"), {owner["keyid"]: owner}, ".")
    except Exception:  # noqa: BLE001 - any exception is the reference's "fail"
        return False
    finally:
        os.chdir(cwd)
    return True


def _ours(case: Case) -> tuple[bool, list[str]]:
    owner = PublicKey.from_crypto(case.owner.public_key._crypto_key())
    report = verify_classic(
        case.root / "root.layout",
        layout_keys=[owner],
        link_dir=case.root,
        at=datetime.now(UTC),
    )
    return report.passed, [c.message for c in report.failures]


@pytest.mark.parametrize("seed", range(CASES))
def test_same_verdict_as_reference(seed: int, tmp_path: Path) -> None:
    case = Case(seed, tmp_path)
    case.build()
    expected = _reference(case)
    got, failures = _ours(case)
    assert got == expected, (
        f"seed {seed}, mutation {case.mutation}: reference {expected}, ours {got}: {failures}"
    )


def test_cases_cover_passes_and_failures(tmp_path: Path) -> None:
    verdicts = set()
    for seed in range(20):
        case = Case(1000 + seed, tmp_path / str(seed))
        case.root.mkdir()
        case.build()
        verdicts.add(_reference(case))
    assert verdicts == {True, False}
