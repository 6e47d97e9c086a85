"""Artifact rules: parsing and evaluation with in-toto's reference semantics."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intoto_policy._errors import ValidationError
from intoto_policy.policy._rules import (
    ArtifactRule,
    RulesResult,
    _Evaluation,
    evaluate_rules,
    parse_rules,
)

CORPUS = Path(__file__).parents[1].parent / "shared/corpus/intoto-reference/rule_vectors.json"


def _load_vectors() -> list[dict[str, Any]]:
    if not CORPUS.is_file():
        return []
    vectors: list[dict[str, Any]] = json.loads(CORPUS.read_text(encoding="utf-8"))["vectors"]
    return vectors


VECTORS = _load_vectors()
needs_corpus = pytest.mark.skipif(not VECTORS, reason=f"reference corpus not found at {CORPUS}")


def no_steps(_name: str) -> None:
    return None


# --- reference vectors ----------------------------------------------------


@needs_corpus
def test_corpus_has_all_vectors() -> None:
    assert len(VECTORS) == 78


def _vector_id(index: int, vector: dict[str, Any]) -> str:
    return f"{index:02d}-{vector['function']}-{'raises' if vector['raises'] else 'ok'}"


@needs_corpus
@pytest.mark.parametrize(
    "vector", VECTORS, ids=[_vector_id(i, v) for i, v in enumerate(VECTORS)] or None
)
def test_reference_vector(vector: dict[str, Any]) -> None:
    function, args = vector["function"], vector["args"]
    if function == "unpack_rule":
        if vector["raises"]:
            assert vector["raises"] == "FormatError"
            with pytest.raises(ValidationError):
                ArtifactRule.parse(args["rule"])
            return
        rule = ArtifactRule.parse(args["rule"])
        expected = vector["result"]
        assert rule.kind == expected["rule_type"]
        assert rule.pattern == expected["pattern"]
        assert rule.source_prefix == expected.get("source_prefix", "")
        assert rule.dest_prefix == expected.get("dest_prefix", "")
        assert rule.dest_type == expected.get("dest_type")
        assert rule.dest_name == expected.get("dest_name", "")
        return

    # The reference's verify_*_rule functions take the queue separately from
    # the item's artifacts; _Evaluation.apply is the same unit here.
    kind = function.removeprefix("verify_").removesuffix("_rule")
    steps: Mapping[str, Any] = {}
    if kind == "match":
        data = args["rule_data"]
        rule = ArtifactRule(
            "match",
            data["pattern"],
            source_prefix=data["source_prefix"],
            dest_type=data["dest_type"],
            dest_prefix=data["dest_prefix"],
            dest_name=data["dest_name"],
        )
        materials, products = args["source_artifacts"], {}
        steps = args["links"]
    else:
        pattern = args["filename"] if kind == "require" else args["pattern"]
        rule = ArtifactRule.parse([kind.upper(), pattern])
        materials = _as_artifacts(args.get("materials", {}))
        products = _as_artifacts(args.get("products", {}))

    def step_artifacts(name: str) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
        link = steps.get(name)
        return None if link is None else (link["materials"], link["products"])

    evaluation = _Evaluation("materials", materials, products, step_artifacts, _eq)
    outcome = evaluation.apply(rule, dict.fromkeys(args["queue"]))
    if vector["raises"]:
        assert vector["raises"] == "RuleVerificationError"
        assert not outcome.passed
        assert outcome.consumed == frozenset()
    else:
        assert outcome.passed
        assert sorted(outcome.consumed) == (vector["result"] or [])


def _eq(left: Any, right: Any) -> bool:
    return bool(left == right)


def _as_artifacts(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return {path: {"sha256": "00"} for path in value}


# --- named evaluation cases -----------------------------------------------

OTHER = {
    "materials": {"a": "1", "sub/a": "1", "lib/a": "1", "x": "9"},
    "products": {"a": "1", "b": "2", "out/a": "1", "out/b": "X"},
}


def other_steps(name: str) -> tuple[Mapping[str, str], Mapping[str, str]] | None:
    if name == "other":
        return OTHER["materials"], OTHER["products"]
    return None


# (id, rules, side, materials, products,
#  consumed per rule, failed paths per rule, remaining queue)
EVAL_CASES: list[
    tuple[
        str,
        list[str],
        str,
        dict[str, str],
        dict[str, str],
        list[set[str]],
        list[tuple[str, ...]],
        set[str],
    ]
] = [
    (
        "create-consumes-new-products",
        ["CREATE *"],
        "products",
        {"a": "1"},
        {"a": "1", "b": "2"},
        [{"b"}],
        [()],
        {"a"},
    ),
    (
        "create-on-materials-consumes-nothing",
        ["CREATE *"],
        "materials",
        {"a": "1"},
        {"b": "2"},
        [set()],
        [()],
        {"a"},
    ),
    (
        "delete-consumes-vanished-materials",
        ["DELETE *"],
        "materials",
        {"a": "1", "b": "2"},
        {"b": "2"},
        [{"a"}],
        [()],
        {"b"},
    ),
    (
        "modify-consumes-changed-only",
        ["MODIFY *"],
        "products",
        {"a": "1", "b": "2"},
        {"a": "1", "b": "3", "c": "4"},
        [{"b"}],
        [()],
        {"a", "c"},
    ),
    (
        "allow-star-crosses-slash",
        ["ALLOW *.py"],
        "products",
        {},
        {"x.py": "1", "sub/dir/y.py": "2", "z.pyc": "3"},
        [{"x.py", "sub/dir/y.py"}],
        [()],
        {"z.pyc"},
    ),
    (
        "allow-is-case-sensitive",
        ["ALLOW *.PY"],
        "products",
        {},
        {"x.py": "1"},
        [set()],
        [()],
        {"x.py"},
    ),
    (
        "allow-question-mark-matches-slash",
        ["ALLOW a?b"],
        "products",
        {},
        {"a/b": "1", "ab": "2", "a//b": "3"},
        [{"a/b"}],
        [()],
        {"ab", "a//b"},
    ),
    (
        "allow-character-classes",
        ["ALLOW [ab]?", "ALLOW [!c]*"],
        "products",
        {},
        {"a1": "1", "b2": "2", "c3": "3", "d": "4"},
        [{"a1", "b2"}, {"d"}],
        [(), ()],
        {"c3"},
    ),
    (
        "allow-star-matches-newline",
        ["ALLOW a*"],
        "products",
        {},
        {"a\nb": "1"},
        [{"a\nb"}],
        [()],
        set(),
    ),
    (
        "allow-backslash-is-literal",
        ["ALLOW a\\*"],
        "products",
        {},
        {"a\\b": "1", "a*": "2"},
        [{"a\\b"}],
        [()],
        {"a*"},
    ),
    (
        "disallow-fails-and-later-rules-still-run",
        ["DISALLOW *.tmp", "ALLOW *", "DISALLOW *"],
        "products",
        {},
        {"a.tmp": "1", "b.tmp": "2", "c": "3"},
        [set(), {"a.tmp", "b.tmp", "c"}, set()],
        [("a.tmp", "b.tmp"), (), ()],
        set(),
    ),
    (
        "disallow-after-consumption-passes",
        ["ALLOW a", "DISALLOW *"],
        "materials",
        {"a": "1"},
        {},
        [{"a"}, set()],
        [(), ()],
        set(),
    ),
    (
        "require-present",
        ["REQUIRE a"],
        "products",
        {},
        {"a": "1"},
        [set()],
        [()],
        {"a"},
    ),
    (
        "require-missing",
        ["REQUIRE b"],
        "products",
        {},
        {"a": "1"},
        [set()],
        [("b",)],
        {"a"},
    ),
    (
        "require-looks-in-the-queue-not-the-artifacts",
        ["ALLOW a", "REQUIRE a"],
        "products",
        {},
        {"a": "1"},
        [{"a"}, set()],
        [(), ("a",)],
        set(),
    ),
    (
        "require-is-literal-not-a-pattern",
        ["REQUIRE *", "REQUIRE a*"],
        "products",
        {},
        {"a": "1", "a*": "2"},
        [set(), set()],
        [("*",), ()],
        {"a", "a*"},
    ),
    (
        "match-equal-digests-only",
        ["MATCH * WITH PRODUCTS FROM other"],
        "materials",
        {"a": "1", "b": "9", "c": "3"},
        {},
        [{"a"}],
        [()],
        {"b", "c"},
    ),
    (
        "match-literal-pattern",
        ["MATCH a WITH MATERIALS FROM other", "MATCH x WITH MATERIALS FROM other"],
        "products",
        {},
        {"a": "1", "x": "8"},
        [{"a"}, set()],
        [(), ()],
        {"x"},
    ),
    (
        "match-source-prefix-is-not-globbed",
        ["MATCH a IN s* WITH MATERIALS FROM other", "MATCH a IN sub WITH MATERIALS FROM other"],
        "products",
        {},
        {"sub/a": "1", "s*/a": "1"},
        [{"s*/a"}, {"sub/a"}],
        [(), ()],
        set(),
    ),
    (
        "match-source-and-destination-prefixes",
        ["MATCH * IN dist WITH PRODUCTS IN out FROM other"],
        "products",
        {},
        {"dist/a": "1", "dist/b": "2", "a": "1"},
        [{"dist/a"}],
        [()],
        {"dist/b", "a"},
    ),
    (
        "match-destination-prefix-with-trailing-slash",
        ["MATCH * WITH PRODUCTS IN out/ FROM other"],
        "materials",
        {"a": "1", "b": "2"},
        {},
        [{"a"}],
        [()],
        {"b"},
    ),
    (
        "match-missing-step-consumes-nothing",
        ["MATCH * WITH PRODUCTS FROM nowhere", "DISALLOW *"],
        "materials",
        {"a": "1"},
        {},
        [set(), set()],
        [(), ("a",)],
        {"a"},
    ),
    (
        # "sub/a\\b" becomes "sub/a/b" when re-joined: no such artifact. The
        # reference crashes with KeyError; the rule fails here.
        "match-backslash-under-prefix-fails",
        ["MATCH * IN sub WITH MATERIALS FROM other"],
        "products",
        {},
        {"sub/a\\b": "1", "sub/a": "1"},
        [{"sub/a"}],
        [("sub/a\\b",)],
        {"sub/a\\b"},
    ),
    (
        "match-empty-segment-under-prefix-fails",
        ["MATCH * IN sub WITH MATERIALS FROM other"],
        "products",
        {},
        {"sub//a": "1"},
        [set()],
        [("sub//a",)],
        {"sub//a"},
    ),
    (
        # "sub/a\\b" re-joins to "sub/a/b", which exists: the reference
        # consumes that other path and leaves the queued one.
        "match-backslash-resolving-to-another-artifact",
        ["MATCH a?b IN sub WITH MATERIALS IN lib FROM other"],
        "products",
        {},
        {"sub/a\\b": "7", "sub/a/b": "7"},
        [set()],
        [()],
        {"sub/a\\b", "sub/a/b"},
    ),
]


@pytest.mark.parametrize(
    ("rules", "side", "materials", "products", "consumed", "failed", "remaining"),
    [case[1:] for case in EVAL_CASES],
    ids=[case[0] for case in EVAL_CASES],
)
def test_evaluate(
    *,
    rules: list[str],
    side: Any,
    materials: dict[str, str],
    products: dict[str, str],
    consumed: list[set[str]],
    failed: list[tuple[str, ...]],
    remaining: set[str],
) -> None:
    result = evaluate_rules(
        parse_rules(rules),
        source_type=side,
        materials=materials,
        products=products,
        step_artifacts=other_steps,
    )
    assert [set(outcome.consumed) for outcome in result.outcomes] == consumed
    assert [outcome.failed_paths for outcome in result.outcomes] == failed
    assert result.remaining == remaining
    assert result.passed == (not any(failed))
    assert [o.failed_paths for o in result.failures] == [f for f in failed if f]
    for outcome in result.outcomes:
        assert bool(outcome.note) == (
            not outcome.passed or outcome.rule.dest_name not in ("", "other")
        )


def test_custom_digest_matcher_drives_match_and_modify() -> None:
    def same_ignoring_case(left: str, right: str) -> bool:
        return left.lower() == right.lower()

    def steps(name: str) -> tuple[Mapping[str, str], Mapping[str, str]] | None:
        return ({}, {"a": "AB"}) if name == "build" else None

    rules = parse_rules(["MATCH a WITH PRODUCTS FROM build", "MODIFY *"])
    result = evaluate_rules(
        rules,
        source_type="products",
        materials={"b": "cd"},
        products={"a": "ab", "b": "CD"},
        step_artifacts=steps,
        digests_equal=same_ignoring_case,
    )
    assert [set(o.consumed) for o in result.outcomes] == [{"a"}, set()]
    assert result.remaining == {"b"}


def test_evaluate_rejects_bad_source_type() -> None:
    with pytest.raises(ValidationError, match="source_type"):
        evaluate_rules(
            [],
            source_type="byproducts",  # type: ignore[arg-type]
            materials={},
            products={},
            step_artifacts=no_steps,
        )


def test_evaluate_rejects_unparsed_rules() -> None:
    with pytest.raises(ValidationError, match="not a parsed ArtifactRule"):
        evaluate_rules(
            [["ALLOW", "*"]],  # type: ignore[list-item]
            source_type="products",
            materials={},
            products={},
            step_artifacts=no_steps,
        )


def test_no_rules_pass_with_everything_remaining() -> None:
    result = evaluate_rules(
        [], source_type="materials", materials={"a": 1}, products={}, step_artifacts=no_steps
    )
    assert result == RulesResult("materials", (), frozenset({"a"}))
    assert result.passed


# --- parsing ----------------------------------------------------------------

# (id, list form, expected to_list)
PARSE_CASES: list[tuple[str, list[str], list[str]]] = [
    ("create", ["CREATE", "foo"], ["CREATE", "foo"]),
    ("lowercase-keyword", ["allow", "Foo*"], ["ALLOW", "Foo*"]),
    ("mixed-case-keyword", ["DisAllow", "*"], ["DISALLOW", "*"]),
    ("require", ["REQUIRE", "a b"], ["REQUIRE", "a b"]),
    (
        "match-short",
        ["match", "Foo", "with", "Products", "from", "Build"],
        ["MATCH", "Foo", "WITH", "PRODUCTS", "FROM", "Build"],
    ),
    (
        "match-both-prefixes",
        ["MATCH", "*", "in", "Src", "WITH", "MATERIALS", "In", "Dst", "FROM", "s"],
        ["MATCH", "*", "IN", "Src", "WITH", "MATERIALS", "IN", "Dst", "FROM", "s"],
    ),
    (
        "match-prefix-spelled-like-keyword",
        ["MATCH", "x", "IN", "with", "WITH", "MATERIALS", "FROM", "from"],
        ["MATCH", "x", "IN", "with", "WITH", "MATERIALS", "FROM", "from"],
    ),
    (
        "match-empty-prefix-dropped",
        ["MATCH", "x", "IN", "", "WITH", "PRODUCTS", "FROM", "s"],
        ["MATCH", "x", "WITH", "PRODUCTS", "FROM", "s"],
    ),
]


@pytest.mark.parametrize(
    ("words", "expected"),
    [case[1:] for case in PARSE_CASES],
    ids=[case[0] for case in PARSE_CASES],
)
def test_parse_and_round_trip(words: list[str], expected: list[str]) -> None:
    rule = ArtifactRule.parse(words)
    assert rule.to_list() == expected
    assert ArtifactRule.parse(rule.to_list()) == rule
    assert ArtifactRule.parse(tuple(words)) == rule
    assert str(rule) == " ".join(expected)


def test_parse_fields() -> None:
    rule = ArtifactRule.parse(["MATCH", "*.py", "IN", "src", "WITH", "PRODUCTS", "FROM", "b"])
    assert rule == ArtifactRule(
        "match", "*.py", source_prefix="src", dest_type="products", dest_name="b"
    )


# (id, string form, expected list form)
STRING_CASES: list[tuple[str, str, list[str]]] = [
    (
        "match",
        "MATCH foo WITH PRODUCTS FROM build",
        ["MATCH", "foo", "WITH", "PRODUCTS", "FROM", "build"],
    ),
    ("extra-whitespace", "  create\t foo \n", ["CREATE", "foo"]),
    (
        "match-prefixes",
        "MATCH * IN src WITH MATERIALS IN dst FROM s",
        ["MATCH", "*", "IN", "src", "WITH", "MATERIALS", "IN", "dst", "FROM", "s"],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [case[1:] for case in STRING_CASES],
    ids=[case[0] for case in STRING_CASES],
)
def test_parse_string(text: str, expected: list[str]) -> None:
    assert ArtifactRule.parse_string(text).to_list() == expected


# (id, input, fragment of the message)
BAD_RULES: list[tuple[str, Any, str]] = [
    ("empty", [], "malformed"),
    ("keyword-only", ["DELETE"], "malformed"),
    ("unknown-keyword", ["SUBVERT", "foo"], "malformed"),
    ("generic-too-long", ["CREATE", "foo", "bar"], "exactly one pattern"),
    ("match-bad-type", ["MATCH", "f", "WITH", "PONIES", "FROM", "s"], "MATERIALS or PRODUCTS"),
    ("match-missing-step", ["MATCH", "f", "WITH", "PRODUCTS", "FROM"], "malformed MATCH"),
    ("match-too-long", ["MATCH", "f", "WITH", "PRODUCTS", "FROM", "s", "x"], "malformed MATCH"),
    ("match-from-before-with", ["MATCH", "f", "FROM", "s", "WITH", "PRODUCTS"], "malformed MATCH"),
    ("match-in-misplaced", ["MATCH", "f", "WITH", "PRODUCTS", "FROM", "s", "IN", "x"], "malformed"),
    ("string", "CREATE stuff", "list of strings"),
    ("dict", {"CREATE": "x"}, "list of strings"),
    ("non-string-element", ["CREATE", ["abc"]], "element 1"),
    (
        "int-element",
        ["MATCH", "f", "IN", "s", "WITH", "PRODUCTS", "IN", 123, "FROM", "s"],
        "element 7",
    ),
]


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [case[1:] for case in BAD_RULES],
    ids=[case[0] for case in BAD_RULES],
)
def test_parse_rejects(rule: Any, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment) as caught:
        ArtifactRule.parse(rule, path="steps[0].expected_products[3]")
    assert caught.value.path == "steps[0].expected_products[3]"


@pytest.mark.parametrize(
    "text", ["", "   ", "CREATE", "CREATE a b", "MATCH a WITH b FROM c"], ids=repr
)
def test_parse_string_rejects(text: str) -> None:
    with pytest.raises(ValidationError):
        ArtifactRule.parse_string(text)


def test_parse_string_rejects_non_string() -> None:
    with pytest.raises(ValidationError, match="must be a string"):
        ArtifactRule.parse_string(["CREATE", "x"])  # type: ignore[arg-type]


def test_parse_rules_mixes_forms_and_names_the_bad_one() -> None:
    rules = parse_rules([["CREATE", "a"], "ALLOW b", ("DISALLOW", "*")])
    assert [r.to_list() for r in rules] == [["CREATE", "a"], ["ALLOW", "b"], ["DISALLOW", "*"]]
    with pytest.raises(ValidationError) as caught:
        parse_rules(["ALLOW a", "ALLOW"], path="expected_materials")
    assert caught.value.path == "expected_materials[1]"
    with pytest.raises(ValidationError, match="must be a list"):
        parse_rules("ALLOW a")


# (id, constructor kwargs)
BAD_CONSTRUCTIONS: list[tuple[str, dict[str, Any]]] = [
    ("unknown-kind", {"kind": "permit", "pattern": "x"}),
    ("match-without-type", {"kind": "match", "pattern": "x", "dest_name": "s"}),
    ("match-bad-type", {"kind": "match", "pattern": "x", "dest_type": "byproducts"}),
    ("create-with-dest", {"kind": "create", "pattern": "x", "dest_name": "s"}),
    ("allow-with-prefix", {"kind": "allow", "pattern": "x", "source_prefix": "p"}),
    ("non-string-pattern", {"kind": "allow", "pattern": 3}),
]


@pytest.mark.parametrize(
    "kwargs", [c[1] for c in BAD_CONSTRUCTIONS], ids=[c[0] for c in BAD_CONSTRUCTIONS]
)
def test_constructor_validates(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ArtifactRule(**kwargs)


def test_rule_is_immutable() -> None:
    rule = ArtifactRule.parse(["ALLOW", "x"])
    with pytest.raises(AttributeError):
        rule.pattern = "y"  # type: ignore[misc]


# --- properties against the reference implementation ----------------------

WORDS = st.sampled_from(["a", "b", "sub", "lib", "x.py", "a\\b", "", "S"])
PATHS = st.lists(WORDS, min_size=1, max_size=3).map("/".join)
DIGESTS = st.sampled_from(["00", "11"]).map(lambda h: {"sha256": h})
ARTIFACTS = st.dictionaries(PATHS, DIGESTS, max_size=7)
PATTERNS = st.sampled_from(
    [
        "*",
        "*",
        "*",
        "a*",
        "*a",
        "sub/*",
        "?",
        "[ab]*",
        "[!a]*",
        "a",
        "sub/a",
        "*/*",
        "a\\b",
        "*.py",
        "",
        "s?b/*",
    ]
)
PREFIXES = st.sampled_from(["sub", "sub/", "lib", "a\\b", "/", "S", ""])
KEYWORDS = st.sampled_from(["create", "DELETE", "Modify", "ALLOW", "disallow", "REQUIRE"])


@st.composite
def rule_lists(draw: st.DrawFn, *, match_only: bool = False) -> list[str]:
    if not match_only and draw(st.booleans()):
        return [draw(KEYWORDS), draw(PATTERNS)]
    words = ["MATCH", draw(PATTERNS)]
    if draw(st.booleans()):
        words += ["IN", draw(PREFIXES)]
    words += ["WITH", draw(st.sampled_from(["MATERIALS", "products"]))]
    if draw(st.booleans()):
        words += ["IN", draw(PREFIXES)]
    words += ["FROM", draw(st.sampled_from(["other", "src", "missing"]))]
    return words


@st.composite
def related(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """Artifacts unrelated to ``base``, or ``base`` moved, edited and extended."""
    if not base or draw(st.booleans()):
        return draw(ARTIFACTS)
    prefix = draw(st.sampled_from(["", "", "sub/", "lib/", "S/"]))
    moved = {prefix + path: digest for path, digest in base.items()}
    for path in sorted(moved):
        if draw(st.integers(0, 3)) == 0:
            moved[path] = {"sha256": "ff"}
    return {**moved, **draw(ARTIFACTS)}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], ...]:
    materials = draw(ARTIFACTS)
    products = draw(related(materials))
    other_materials = draw(related(draw(st.sampled_from([materials, products]))))
    other_products = draw(related(draw(st.sampled_from([materials, products]))))
    return materials, products, other_materials, other_products


@given(
    scenario=scenarios(),
    rules=st.lists(rule_lists(), max_size=6),
    side=st.sampled_from(["materials", "products"]),
)
@settings(max_examples=1000, deadline=None)
def test_property_agrees_with_reference(
    scenario: tuple[dict[str, Any], ...], rules: list[list[str]], side: Any
) -> None:
    check_against_reference(scenario, rules, side)


@st.composite
def prefixed_matches(draw: st.DrawFn) -> tuple[tuple[dict[str, Any], ...], list[list[str]]]:
    """Products that another step's products mirror under prefixes, and MATCH rules for them."""

    def under(prefix: str, name: str) -> str:
        return draw(st.sampled_from([prefix + "/" + name, prefix + name])) if prefix else name

    source_prefix, dest_prefix = draw(PREFIXES), draw(PREFIXES)
    names = draw(ARTIFACTS)
    products = {under(source_prefix, n): d for n, d in names.items()} | draw(ARTIFACTS)
    mirrored = {under(dest_prefix, n): d for n, d in names.items() if draw(st.integers(0, 4))}
    other_products = mirrored | draw(ARTIFACTS)
    rules = []
    for _ in range(draw(st.integers(1, 3))):
        words = ["MATCH", draw(PATTERNS)]
        if draw(st.integers(0, 3)):
            words += ["IN", source_prefix]
        words += ["WITH", "PRODUCTS"]
        if draw(st.integers(0, 3)):
            words += ["IN", dest_prefix]
        rules.append([*words, "FROM", "other"])
    return ({}, products, {}, other_products), [*rules, ["DISALLOW", "*"]]


@given(case=prefixed_matches())
@settings(max_examples=1000, deadline=None)
def test_property_prefixed_match_agrees_with_reference(
    case: tuple[tuple[dict[str, Any], ...], list[list[str]]],
) -> None:
    scenario, rules = case
    check_against_reference(scenario, rules, "products")


def check_against_reference(
    scenario: tuple[dict[str, Any], ...], rules: list[list[str]], side: Any
) -> None:
    """Verdict, first failing rule and queue after every rule as in in_toto's verify_item_rules."""
    from in_toto import verifylib
    from in_toto.exceptions import RuleVerificationError
    from in_toto.models.link import Link

    materials, products, other_materials, other_products = scenario
    links = {
        "src": Link(name="src", materials=materials, products=products),
        "other": Link(name="other", materials=other_materials, products=other_products),
    }
    try:
        verifylib.verify_item_rules("src", side, rules, links)
        reference_failed_at = None
    except (RuleVerificationError, KeyError):
        reference_failed_at = len(verifylib.RULE_TRACE["trace"])
    reference_queues = [set(entry["queue"]) for entry in verifylib.RULE_TRACE["trace"]]

    def step_artifacts(name: str) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
        link = links.get(name)
        return None if link is None else (link.materials, link.products)

    result = evaluate_rules(
        parse_rules(rules),
        source_type=side,
        materials=materials,
        products=products,
        step_artifacts=step_artifacts,
    )
    assert result.passed == (reference_failed_at is None)
    if reference_failed_at is not None:
        # The reference stops at the first failing rule; it fails here too,
        # and every rule before it passes.
        assert not result.outcomes[reference_failed_at].passed
        assert all(o.passed for o in result.outcomes[:reference_failed_at])
    queue = set(materials if side == "materials" else products)
    for index, outcome in enumerate(result.outcomes):
        queue -= outcome.consumed
        if index < len(reference_queues):
            assert queue == reference_queues[index], f"queue after rule {index}"
    assert queue == result.remaining


@given(rule=rule_lists())
def test_property_round_trip(rule: list[str]) -> None:
    parsed = ArtifactRule.parse(rule)
    words = parsed.to_list()
    assert ArtifactRule.parse(words) == parsed
    if all(word and word.split() == [word] for word in words):
        assert ArtifactRule.parse_string(" ".join(words)) == parsed


@given(
    path=st.text(alphabet=st.sampled_from("ab/\\*?[]!.\n"), max_size=6),
    pattern=st.text(alphabet=st.sampled_from("ab/\\*?[]!.\n"), max_size=5),
)
@settings(max_examples=1500)
def test_property_pattern_matching_is_fnmatch_filter(path: str, pattern: str) -> None:
    import fnmatch

    result = evaluate_rules(
        [ArtifactRule("allow", pattern)],
        source_type="products",
        materials={},
        products={path: "1"},
        step_artifacts=no_steps,
    )
    assert (path in result.outcomes[0].consumed) == bool(fnmatch.filter([path], pattern))


@given(
    paths=st.lists(st.text(alphabet=st.sampled_from("ab/\\*?[]!.\n"), max_size=6), max_size=6),
    pattern=st.one_of(
        st.text(alphabet=st.sampled_from("ab/\\*?[]!.\n"), max_size=5),
        st.sampled_from(["", "*", "**", "a*", "*a", "*a*", "**a**", "ab", "*/b"]),
    ),
)
@settings(max_examples=1500)
def test_property_selector_is_fnmatch_filter(paths: list[str], pattern: str) -> None:
    import fnmatch

    from intoto_policy.policy._rules import _selector

    assert _selector(pattern)(paths) == fnmatch.filter(paths, pattern)


@st.composite
def shared_records(draw: st.DrawFn) -> tuple[dict[str, Any], ...]:
    """Records that are one object: a step's materials are its products, or another step's."""
    shared = draw(ARTIFACTS)
    other = draw(related(shared))
    return tuple(draw(st.sampled_from([shared, shared, other, draw(ARTIFACTS)])) for _ in range(4))


@given(
    scenario=shared_records(),
    rules=st.lists(rule_lists(), max_size=6),
    side=st.sampled_from(["materials", "products"]),
)
@settings(max_examples=1000, deadline=None)
def test_property_shared_records_agree_with_reference(
    scenario: tuple[dict[str, Any], ...], rules: list[list[str]], side: Any
) -> None:
    check_against_reference(scenario, rules, side)


def test_match_against_the_same_record_compares_values() -> None:
    # Values that are not dicts may differ from themselves: they are compared.
    nan = float("nan")
    artifacts: dict[str, Any] = {"a": nan, "b": "1", "c": {"sha256": "00"}}
    result = evaluate_rules(
        parse_rules([["MATCH", "*", "WITH", "PRODUCTS", "FROM", "self"]]),
        source_type="materials",
        materials=artifacts,
        products=artifacts,
        step_artifacts=lambda _name: (artifacts, artifacts),
    )
    assert result.outcomes[0].consumed == {"b", "c"}
    calls: list[tuple[Any, Any]] = []

    def equal(left: Any, right: Any) -> bool:
        calls.append((left, right))
        return True

    same = {"a": {"sha256": "00"}, "b": {"sha256": "11"}}
    result = evaluate_rules(
        parse_rules([["MATCH", "a*", "WITH", "MATERIALS", "FROM", "self"]]),
        source_type="products",
        materials=same,
        products=same,
        step_artifacts=lambda _name: (same, same),
        digests_equal=equal,
    )
    assert result.outcomes[0].consumed == {"a"}
    assert calls == [(same["a"], same["a"])]


def test_rules_do_not_modify_the_records() -> None:
    artifacts = {f"src/{i}": {"sha256": f"{i:02x}"} for i in range(40)}
    before = dict(artifacts)
    for rules in (
        [["ALLOW", "src/1*"], ["DISALLOW", "*"]],
        [["CREATE", "src/*"]],
        [["MATCH", "src/*", "WITH", "PRODUCTS", "FROM", "self"], ["REQUIRE", "src/3"]],
    ):
        result = evaluate_rules(
            parse_rules(rules),
            source_type="products",
            materials={},
            products=artifacts,
            step_artifacts=lambda _name: (artifacts, artifacts),
        )
        assert list(artifacts.items()) == list(before.items())
        assert result.remaining <= set(artifacts)
