"""The in-toto artifact rule language, with the reference implementation's semantics.

A step or inspection lists rules for its materials and for its products.
Verification puts every artifact path of one side into a queue and applies
the rules in order; each rule may *consume* queued paths:

* ``MATCH <pattern> [IN <prefix>] WITH (MATERIALS|PRODUCTS) [IN <prefix>]
  FROM <step>`` consumes queued paths whose artifact has the same digest as
  the corresponding artifact of another step;
* ``CREATE``/``DELETE``/``MODIFY <pattern>`` consume queued paths that are
  only products / only materials / in both with different digests;
* ``ALLOW <pattern>`` consumes every queued path it matches;
* ``DISALLOW <pattern>`` fails if it matches any queued path;
* ``REQUIRE <path>`` fails if that literal path is not in the queue.

Semantics follow in-toto's ``verifylib.verify_item_rules`` (in-toto 3.x) on
POSIX, including its corners:

* Patterns are :mod:`fnmatch` patterns matched case-sensitively over the
  whole path; ``*`` and ``?`` match ``/`` too, ``[...]`` is a character
  class, and there is no escape character.
* ``REQUIRE`` looks for its path in the *queue*: a path that an earlier rule
  consumed counts as absent.
* ``MATCH`` against a step that has no artifacts recorded (no link) consumes
  nothing and does not fail.
* ``MATCH`` strips the source prefix before matching, so the prefix is never
  globbed; paths are re-joined with POSIX join semantics and backslashes
  turned into slashes. When that re-joined source path is not an artifact
  of the source side (a queued path with a backslash or an empty segment
  right after the prefix), the reference implementation crashes with a
  ``KeyError``; here that rule fails instead, naming those paths.

Unlike the reference, evaluation does not stop at the first failing rule:
every rule is evaluated against the queue the previous rules left, and the
verdict fails if any rule failed, which is the reference's verdict.

Rules are parsed from the list form of classic layouts (``["MATCH", "foo",
"WITH", "PRODUCTS", "FROM", "build"]``) or from the single-string form that
attestation layouts (ITE-11) use (``"MATCH foo WITH PRODUCTS FROM build"``).
"""

from __future__ import annotations

import fnmatch
import functools
import operator
import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, filterfalse, repeat
from typing import Final, Generic, Literal, TypeVar

from .._errors import ValidationError

__all__ = [
    "ArtifactRule",
    "ArtifactType",
    "RuleKind",
    "RuleOutcome",
    "RulesResult",
    "StepArtifacts",
    "evaluate_rules",
    "parse_rules",
]

RuleKind = Literal["match", "create", "delete", "modify", "allow", "disallow", "require"]
ArtifactType = Literal["materials", "products"]

D = TypeVar("D")

#: Looks up another step's recorded artifacts by step name: its
#: ``(materials, products)``, or ``None`` when there is no such record.
StepArtifacts = Callable[[str], tuple[Mapping[str, D], Mapping[str, D]] | None]

_KINDS: Final[Mapping[str, RuleKind]] = {
    "match": "match",
    "create": "create",
    "delete": "delete",
    "modify": "modify",
    "allow": "allow",
    "disallow": "disallow",
    "require": "require",
}
_ARTIFACT_TYPES: Final[Mapping[str, ArtifactType]] = {
    "materials": "materials",
    "products": "products",
}
_WILDCARDS: Final = re.compile(r"[*?\[]")
_GRAMMAR: Final = (
    "expected one of: MATCH <pattern> [IN <prefix>] WITH (MATERIALS|PRODUCTS) "
    "[IN <prefix>] FROM <step>; CREATE|DELETE|MODIFY|ALLOW|DISALLOW <pattern>; "
    "REQUIRE <path>"
)


@dataclass(frozen=True, slots=True)
class ArtifactRule:
    """One parsed artifact rule.

    Attributes:
        kind: The rule keyword, lower case.
        pattern: The fnmatch pattern (for ``require``: a literal path).
        source_prefix: ``match`` only: the ``IN`` prefix of the rule's own
            artifacts, or ``""``.
        dest_type: ``match`` only: which artifacts of the other step to
            compare with; ``None`` for every other kind.
        dest_prefix: ``match`` only: the ``IN`` prefix of the other step's
            artifacts, or ``""``.
        dest_name: ``match`` only: the other step's name; ``""`` otherwise.
    """

    kind: RuleKind
    pattern: str
    source_prefix: str = ""
    dest_type: ArtifactType | None = None
    dest_prefix: str = ""
    dest_name: str = ""

    def __post_init__(self) -> None:
        for name in ("pattern", "source_prefix", "dest_prefix", "dest_name"):
            if not isinstance(getattr(self, name), str):
                raise ValidationError(f"artifact rule {name} must be a string")
        if self.kind not in _KINDS:
            raise ValidationError(f"unknown artifact rule kind {self.kind!r}")
        if self.kind == "match":
            if self.dest_type not in _ARTIFACT_TYPES:
                raise ValidationError("a MATCH rule needs dest_type 'materials' or 'products'")
        elif self.dest_type is not None or self.source_prefix or self.dest_prefix or self.dest_name:
            raise ValidationError(f"a {self.kind.upper()} rule takes only a pattern")

    @classmethod
    def parse(cls, rule: Sequence[str], *, path: str = "") -> ArtifactRule:
        """Parse a rule in list form, as the reference's ``unpack_rule`` accepts it.

        Keywords are case-insensitive; pattern, prefixes and step name keep
        their case. A string is not accepted (use :meth:`parse_string`).

        Args:
            rule: The rule's words, e.g. ``["CREATE", "foo"]``.
            path: Where the rule is in its document, for error messages.

        Returns:
            The parsed rule.

        Raises:
            ValidationError: ``rule`` is not a list of strings or does not
                follow the rule grammar.
        """
        if not isinstance(rule, (list, tuple)):
            raise ValidationError(
                f"an artifact rule must be a list of strings, got {type(rule).__name__}",
                path=path,
            )
        for index, word in enumerate(rule):
            if not isinstance(word, str):
                raise ValidationError(
                    f"artifact rule element {index} must be a string, got {type(word).__name__}",
                    path=path,
                )
        words: list[str] = list(rule)
        lower = [word.lower() for word in words]
        if len(words) < 2 or lower[0] not in _KINDS:
            raise ValidationError(f"malformed artifact rule {words!r}: {_GRAMMAR}", path=path)
        kind = _KINDS[lower[0]]
        if kind != "match":
            if len(words) != 2:
                raise ValidationError(
                    f"malformed artifact rule {words!r}: {kind.upper()} takes exactly one pattern",
                    path=path,
                )
            return cls(kind, words[1])
        return cls._parse_match(words, lower, path)

    @classmethod
    def _parse_match(cls, words: list[str], lower: list[str], path: str) -> ArtifactRule:
        # Keyword positions for the four shapes; the words in between are
        # taken literally (a prefix may itself be spelled "with" or "from").
        shape = (len(words), *(lower[i] for i in range(2, len(words), 2)))
        source_prefix = dest_prefix = ""
        if shape == (10, "in", "with", "in", "from"):
            source_prefix, dest_word, dest_prefix, dest_name = (
                words[3],
                lower[5],
                words[7],
                words[9],
            )
        elif shape == (8, "in", "with", "from"):
            source_prefix, dest_word, dest_name = words[3], lower[5], words[7]
        elif shape == (8, "with", "in", "from"):
            dest_word, dest_prefix, dest_name = lower[3], words[5], words[7]
        elif shape == (6, "with", "from"):
            dest_word, dest_name = lower[3], words[5]
        else:
            raise ValidationError(f"malformed MATCH rule {words!r}: {_GRAMMAR}", path=path)
        if dest_word not in _ARTIFACT_TYPES:
            raise ValidationError(
                f"malformed MATCH rule {words!r}: expected MATERIALS or PRODUCTS after WITH",
                path=path,
            )
        return cls(
            "match",
            words[1],
            source_prefix=source_prefix,
            dest_type=_ARTIFACT_TYPES[dest_word],
            dest_prefix=dest_prefix,
            dest_name=dest_name,
        )

    @classmethod
    def parse_string(cls, rule: str, *, path: str = "") -> ArtifactRule:
        """Parse a rule written as one string, split on whitespace (ITE-11 layouts).

        Args:
            rule: E.g. ``"MATCH foo WITH PRODUCTS FROM build"``.
            path: Where the rule is in its document, for error messages.

        Returns:
            The parsed rule.

        Raises:
            ValidationError: ``rule`` is not a string or does not follow the
                rule grammar.
        """
        if not isinstance(rule, str):
            raise ValidationError(
                f"an artifact rule must be a string, got {type(rule).__name__}", path=path
            )
        return cls.parse(rule.split(), path=path)

    def to_list(self) -> list[str]:
        """The rule in list form, keywords upper case; ``parse`` of it gives this rule back."""
        if self.kind != "match":
            return [self.kind.upper(), self.pattern]
        words = ["MATCH", self.pattern]
        if self.source_prefix:
            words += ["IN", self.source_prefix]
        words += ["WITH", str(self.dest_type).upper()]
        if self.dest_prefix:
            words += ["IN", self.dest_prefix]
        words += ["FROM", self.dest_name]
        return words

    def __str__(self) -> str:
        return " ".join(self.to_list())


def parse_rules(
    rules: Iterable[Sequence[str] | str], *, path: str = ""
) -> tuple[ArtifactRule, ...]:
    """Parse a list of rules, each in list form or single-string form.

    Args:
        rules: The rules, e.g. a step's ``expected_materials``.
        path: Where the list is in its document; errors name ``path[i]``.

    Returns:
        The parsed rules, in order.

    Raises:
        ValidationError: ``rules`` is not a list, or a rule is malformed.
    """
    if isinstance(rules, (str, bytes)) or not isinstance(rules, (list, tuple)):
        raise ValidationError("artifact rules must be a list", path=path)
    parsed = []
    for index, rule in enumerate(rules):
        where = f"{path}[{index}]"
        if isinstance(rule, str):
            parsed.append(ArtifactRule.parse_string(rule, path=where))
        else:
            parsed.append(ArtifactRule.parse(rule, path=where))
    return tuple(parsed)


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What one rule did.

    Attributes:
        rule: The rule.
        consumed: Paths the rule consumed (removed from the queue).
        failed_paths: For a failing rule, the paths that broke it, sorted: the
            queued paths a DISALLOW matched, the path a REQUIRE missed, or the
            paths a MATCH could not look up. Empty if the rule passed.
        note: Why the rule failed, or a remark on a passing rule (a MATCH
            whose step has no recorded artifacts); ``""`` otherwise.
    """

    rule: ArtifactRule
    consumed: frozenset[str]
    failed_paths: tuple[str, ...] = ()
    note: str = ""

    @property
    def passed(self) -> bool:
        """Whether the rule passed."""
        return not self.failed_paths


@dataclass(frozen=True, slots=True)
class RulesResult:
    """The outcome of applying one list of rules to one side of a step.

    Attributes:
        source_type: ``"materials"`` or ``"products"``: the side queued.
        outcomes: One outcome per rule, in rule order.
        remaining: The queue after the last rule: paths no rule consumed.
    """

    source_type: ArtifactType
    outcomes: tuple[RuleOutcome, ...]
    remaining: frozenset[str]

    @property
    def passed(self) -> bool:
        """Whether every rule passed."""
        return all(outcome.passed for outcome in self.outcomes)

    @property
    def failures(self) -> tuple[RuleOutcome, ...]:
        """The outcomes of the rules that failed."""
        return tuple(outcome for outcome in self.outcomes if not outcome.passed)


# --- pattern matching ------------------------------------------------------
#
# Paths are always visited in the order of the artifact mapping they come
# from, never in set order: with 100,000 artifacts, memory locality decides
# the speed (iterating a set touches the path strings in hash order).

_Selector = Callable[[Collection[str]], list[str]]


@functools.lru_cache(maxsize=1024)
def _selector(pattern: str) -> _Selector:
    """Select the paths ``pattern`` matches, as ``fnmatch.filter`` does on POSIX.

    fnmatch translates ``*`` to ``.*`` and ``?`` to ``.`` with DOTALL, and
    escapes every other character outside ``[...]``, so a pattern without
    ``*?[`` matches only itself, and ``*`` next to a literal part is a plain
    prefix, suffix or substring test. Everything else goes to the compiled
    fnmatch regular expression, compiled once per pattern.
    """
    core = pattern.strip("*")
    if not _WILDCARDS.search(core):
        leading, trailing = pattern.startswith("*"), pattern.endswith("*")
        if not leading and not trailing:
            test: Callable[[str], object] = pattern.__eq__
        elif not core:  # only stars
            return list
        else:
            if not leading:
                return functools.partial(_select_prefix, core)
            # One C-level pass (no Python call per path).
            method = operator.contains if trailing else str.endswith
            return lambda paths: list(compress(paths, map(method, paths, repeat(core))))
    else:
        test = re.compile(fnmatch.translate(pattern)).match
    return lambda paths: list(filter(test, paths))


def _select_prefix(prefix: str, paths: Collection[str]) -> list[str]:
    """The paths that start with ``prefix``, in order."""
    # Strings with a common prefix are contiguous in code point order, so
    # when the least and the greatest path have it, every path has it.
    if paths and min(paths).startswith(prefix) and max(paths).startswith(prefix):
        return list(paths)
    return list(compress(paths, map(str.startswith, paths, repeat(prefix))))


def _select(pattern: str, queue: Mapping[str, object]) -> list[str]:
    """The queued paths ``pattern`` matches, in queue order."""
    if not _WILDCARDS.search(pattern):
        return [pattern] if pattern in queue else []
    return _selector(pattern)(queue)


def _join(prefix: str, path: str) -> str:
    # What the reference computes with os.path.join(...).replace("\\", "/")
    # on POSIX.
    return posixpath.join(prefix, path).replace("\\", "/")


def _plain_names(names: list[str]) -> bool:
    """Whether no name has a backslash or a leading slash.

    Such a name joins to a prefix by plain concatenation: ``_join(prefix,
    name) == _join(prefix, "") + name``. (A NUL inside a name can only make
    this answer False where True was right, which merely costs speed.)
    """
    joined = "\x00" + "\x00".join(names)
    return "\\" not in joined and "\x00/" not in joined


# --- evaluation ------------------------------------------------------------


def evaluate_rules(
    rules: Iterable[ArtifactRule],
    *,
    source_type: ArtifactType,
    materials: Mapping[str, D],
    products: Mapping[str, D],
    step_artifacts: StepArtifacts[D],
    digests_equal: Callable[[D, D], bool] = operator.eq,
    digests_differ: Callable[[D, D], bool] | None = None,
) -> RulesResult:
    """Apply artifact rules to one side of a step, as in-toto's ``verify_item_rules`` does.

    Args:
        rules: The parsed rules, in order.
        source_type: Which side the rules are for (and so which is queued).
        materials: The step's materials: path to digest.
        products: The step's products: path to digest.
        step_artifacts: Returns another step's ``(materials, products)`` by
            name, or ``None`` if none are recorded (then a MATCH against it
            consumes nothing).
        digests_equal: Whether two digests name the same content (MATCH and
            MODIFY). Defaults to ``==``, the reference's comparison of
            digest dicts.
        digests_differ: Whether two digests certainly name different
            content (MODIFY). With ``digests_equal`` a three-way comparison:
            a pair neither equal nor different is undecidable (say, only a
            short blake2b is shared), and MODIFY then fails on that path
            instead of reading "not equal" as "changed". Defaults to "not
            ``digests_equal``", the reference's two-way reading.

    Returns:
        Per-rule outcomes and the verdict. Every rule is evaluated, also
        after a failing one.

    Raises:
        ValidationError: ``source_type`` is neither ``"materials"`` nor
            ``"products"``, or a rule is not an :class:`ArtifactRule`.
    """
    if source_type not in _ARTIFACT_TYPES:
        raise ValidationError(f"source_type must be 'materials' or 'products', got {source_type!r}")
    rule_list = tuple(rules)
    for index, rule in enumerate(rule_list):
        if not isinstance(rule, ArtifactRule):
            raise ValidationError(
                f"rule {index} is a {type(rule).__name__}, not a parsed ArtifactRule"
            )
    evaluation = _Evaluation(
        source_type, materials, products, step_artifacts, digests_equal, digests_differ
    )
    evaluation.queue_in_source = True  # every queue below holds source paths only
    # The queue is a dict used as an ordered set (see "pattern matching").
    # The queue starts as the source mapping itself (only its keys are read)
    # and is copied when a rule first consumes something.
    source = evaluation.source
    queue: Mapping[str, object] = source if type(source) is dict else dict.fromkeys(source)
    outcomes: list[RuleOutcome] = []
    for rule in rule_list:
        outcome = evaluation.apply(rule, queue)
        consumed = outcome.consumed
        if len(consumed) == len(queue) and not (rule.kind == "match" and rule.source_prefix):
            # Everything queued was consumed: every rule but a MATCH with a
            # source prefix consumes queued paths only.
            queue = {}
        elif len(consumed) * 8 < len(queue):
            if consumed:
                own = dict.fromkeys(queue) if queue is source else queue
                assert isinstance(own, dict)
                for path in consumed:
                    own.pop(path, None)
                queue = own
        elif consumed:
            queue = dict.fromkeys(filterfalse(consumed.__contains__, queue))
        outcomes.append(outcome)
    return RulesResult(source_type, tuple(outcomes), frozenset(queue))


class _Evaluation(Generic[D]):
    """The fixed inputs of one evaluate_rules call."""

    __slots__ = (
        "digests_differ",
        "digests_equal",
        "materials",
        "products",
        "queue_in_source",
        "source",
        "source_type",
        "step_artifacts",
    )

    def __init__(
        self,
        source_type: ArtifactType,
        materials: Mapping[str, D],
        products: Mapping[str, D],
        step_artifacts: StepArtifacts[D],
        digests_equal: Callable[[D, D], bool],
        digests_differ: Callable[[D, D], bool] | None = None,
    ) -> None:
        self.digests_differ = digests_differ
        self.source_type = source_type
        self.materials = materials
        self.products = products
        self.source = materials if source_type == "materials" else products
        self.step_artifacts = step_artifacts
        self.digests_equal = digests_equal
        #: Whether the queues given to apply() hold only paths of the source
        #: side (as in evaluate_rules), which spares looking them up there.
        self.queue_in_source = False

    def apply(self, rule: ArtifactRule, queue: Mapping[str, object]) -> RuleOutcome:
        """Apply one rule to the queue (not changed here); the reference's verify_*_rule."""
        kind = rule.kind
        if kind == "require":
            if rule.pattern in queue:
                return RuleOutcome(rule, frozenset())
            return RuleOutcome(
                rule,
                frozenset(),
                (rule.pattern,),
                f"required artifact {rule.pattern!r} is not among the unconsumed "
                f"{self.source_type}",
            )
        if kind == "match":
            return self.apply_match(rule, queue)
        selected = _select(rule.pattern, queue)
        if kind == "allow":
            return RuleOutcome(rule, frozenset(selected))
        if kind == "disallow":
            if not selected:
                return RuleOutcome(rule, frozenset())
            return RuleOutcome(
                rule,
                frozenset(),
                tuple(sorted(selected)),
                f"disallowed artifacts present: {len(selected)} unconsumed path(s) match",
            )
        materials, products = self.materials, self.products
        consumed: Iterable[str]
        # Where the queued paths are artifacts of the source side, only the
        # other side needs looking up.
        if kind == "create":
            if self.source is materials or not self.queue_in_source:
                consumed = filter(
                    products.__contains__, filterfalse(materials.__contains__, selected)
                )
            else:
                consumed = filterfalse(materials.__contains__, selected) if materials else selected
        elif kind == "delete":
            if self.source is products or not self.queue_in_source:
                consumed = filter(
                    materials.__contains__, filterfalse(products.__contains__, selected)
                )
            else:
                consumed = filterfalse(products.__contains__, selected) if products else selected
        else:  # modify: in both sides, with digests that differ
            both = list(filter(products.__contains__, filter(materials.__contains__, selected)))
            if self.digests_differ is not None:
                return self._modify_three_way(rule, both, self.digests_differ)
            same = map(
                self.digests_equal,
                map(materials.__getitem__, both),
                map(products.__getitem__, both),
            )
            consumed = compress(both, map(operator.not_, same))
        return RuleOutcome(rule, frozenset(consumed))

    def _modify_three_way(
        self, rule: ArtifactRule, both: list[str], differ: Callable[[D, D], bool]
    ) -> RuleOutcome:
        """MODIFY with a three-way comparison: changed, unchanged or undecidable.

        A path whose digests neither match nor certainly differ is neither
        consumed as modified nor left as unchanged: the rule fails on it
        (fail closed), saying why.
        """
        equal = self.digests_equal
        changed: list[str] = []
        unknown: list[str] = []
        for path in both:
            before, after = self.materials[path], self.products[path]
            if differ(before, after):
                changed.append(path)
            elif not equal(before, after):
                unknown.append(path)
        if not unknown:
            return RuleOutcome(rule, frozenset(changed))
        return RuleOutcome(
            rule,
            frozenset(changed),
            tuple(sorted(unknown)),
            f"cannot tell whether {len(unknown)} artifact(s) changed: their materials and "
            "products share no acceptable digest strong enough to compare "
            "(at least 256 bits)",
        )

    def apply_match(self, rule: ArtifactRule, queue: Mapping[str, object]) -> RuleOutcome:
        recorded = self.step_artifacts(rule.dest_name)
        if recorded is None:
            return RuleOutcome(
                rule,
                frozenset(),
                note=f"no artifacts recorded for step {rule.dest_name!r}; nothing consumed",
            )
        dest = recorded[0] if rule.dest_type == "materials" else recorded[1]
        source, equal = self.source, self.digests_equal
        source_prefix, dest_prefix, pattern = rule.source_prefix, rule.dest_prefix, rule.pattern
        if not source_prefix and not dest_prefix and self.queue_in_source:
            # The common case, in C-level passes: the selected names are
            # queued, so they are artifacts of the source side.
            names = _select(pattern, queue)
            if dest is source:  # the same record (a step's materials and products)
                # Every selected name is a key of source: when all keys are
                # selected, their values are source.values().
                selected: Iterable[D] = (
                    source.values() if len(names) == len(source) else map(source.__getitem__, names)
                )
                if equal is operator.eq and set(map(type, selected)) <= {dict}:
                    # A dict equals itself: dict comparison takes identical
                    # members as equal without comparing them.
                    return RuleOutcome(rule, frozenset(names))
                values = list(map(source.__getitem__, names))
                return RuleOutcome(rule, frozenset(compress(names, map(equal, values, values))))
            both = list(filter(dest.__contains__, names))
            same = map(equal, map(source.__getitem__, both), map(dest.__getitem__, both))
            return RuleOutcome(rule, frozenset(compress(both, same)))
        stem = _join(source_prefix, "") if source_prefix else ""
        if not source_prefix:
            names = _select(pattern, queue)
        elif _WILDCARDS.search(pattern):
            # The prefix is stripped before globbing, so it is never a pattern.
            cut = len(stem)
            names = _selector(pattern)([path[cut:] for path in queue if path.startswith(stem)])
        else:
            names = [pattern] if stem + pattern in queue else []
        # Source and destination paths: the names re-joined to the prefixes.
        source_paths = dest_paths = names
        unresolved: list[str] = []
        if (source_prefix or dest_prefix) and _plain_names(names):
            if source_prefix:
                source_paths = [stem + name for name in names]  # the queued paths
            if dest_prefix:
                dest_stem = _join(dest_prefix, "")
                dest_paths = [dest_stem + name for name in names]
        elif source_prefix or dest_prefix:
            if dest_prefix:
                dest_paths = [_join(dest_prefix, name) for name in names]
            if source_prefix:
                source_paths = [_join(source_prefix, name) for name in names]
                # A re-joined source path that names no artifact makes the
                # reference raise KeyError.
                unresolved = [
                    stem + name
                    for name, path in zip(names, source_paths, strict=True)
                    if path not in source
                ]
        consumed = frozenset(
            [
                source_path
                for source_path, dest_path in zip(source_paths, dest_paths, strict=True)
                if dest_path in dest
                and source_path in source
                and equal(source[source_path], dest[dest_path])
            ]
        )
        if unresolved:
            return RuleOutcome(
                rule,
                consumed,
                tuple(sorted(unresolved)),
                "queued path(s) under the source prefix name no artifact once re-joined "
                "(a backslash, or an empty segment after the prefix); the reference "
                "implementation aborts here",
            )
        return RuleOutcome(rule, consumed)
