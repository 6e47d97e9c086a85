"""Hostile layouts and oversized inputs: one short line, exit 2, bounded work (issue #9).

Every document here is built to make a naive loader slow or its error
message huge: a megabyte list or string where a layout object belongs, deep
nesting, ten thousand keys, a four-thousand-digit number, megabyte key
names, more values than any layout has, a file above the size limit. Each is
refused with a message of bounded length, by the CLI (``layout check`` and
``verify``) and by the Python loader alike.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
import yaml

from intoto_policy import InputError
from intoto_policy._errors import MAX_PROBLEM_CHARS, excerpt
from intoto_policy.cli._main import main
from intoto_policy.model._json import LAYOUT_LIMITS, PARAMS_LIMITS, TRUSTED_ROOT_LIMITS
from intoto_policy.policy._loading import (
    MAX_LAYOUT_VALUES,
    MAX_SCHEMA_ERRORS,
    LineMap,
    load_layout,
    parse_layout_document,
)
from intoto_policy.sources._files import KEY_LIMITS

#: No line of output may be longer than this, whatever the input.
MAX_LINE = 500

_MB = 1024 * 1024
_HEAD_YAML = "version: 1\nexpires: 2030-01-01T00:00:00Z\n"
_HEAD = '{"expires": "2030-01-01T00:00:00Z", "functionaries": {}, "steps": [{"name": "a"}], '


def _keys(count: int, length: int) -> str:
    return json.dumps({f"{i:06d}" + "k" * length: i for i in range(count)})


# (id, file name, content, exit code of `layout check`)
HOSTILE = [
    ("array-1mb", "l.json", json.dumps(list(range(150_000))), 2),
    ("array-1mb-yaml", "l.yaml", "- 1\n" * 250_000, 2),
    ("string-1mb", "l.json", json.dumps("x" * _MB), 2),
    ("string-1mb-yaml", "l.yaml", "x" * _MB, 2),
    ("number-4000-digits", "l.json", "9" * 4000, 2),
    ("null", "l.json", "null", 2),
    ("deep-object", "l.json", '{"a": ' * 100_000 + "1" + "}" * 100_000, 2),
    ("deep-array-in-object", "l.json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", 2),
    ("deep-yaml", "l.yaml", "a: " + "[" * 100_000 + "]" * 100_000, 2),
    (
        "too-many-values",
        "l.json",
        _HEAD + '"x": ' + json.dumps([0] * (MAX_LAYOUT_VALUES + 1)) + "}",
        2,
    ),
    ("too-many-values-yaml", "l.yaml", "x:\n" + "- 0\n" * (MAX_LAYOUT_VALUES + 1), 2),
    # Containers count as values too: 16 MiB of "[]," must stop at the limit.
    (
        "too-many-empty-arrays",
        "l.json",
        _HEAD + '"x": [' + "[]," * MAX_LAYOUT_VALUES + "[]]}",
        2,
    ),
    ("too-many-empty-arrays-yaml", "l.yaml", "x:\n" + "- []\n" * (MAX_LAYOUT_VALUES + 1), 2),
    # PyYAML's YAML 1.1 constructors raise ValueError/TypeError on these (a
    # traceback and exit 1 before the fix); base 60 took quadratic time.
    ("yaml-timestamp-month-13", "l.yaml", _HEAD_YAML + "x: !!timestamp 2001-13-01\n", 2),
    ("yaml-float-tag-abc", "l.yaml", _HEAD_YAML + "x: !!float abc\n", 2),
    ("yaml-int-tag-empty", "l.yaml", _HEAD_YAML + 'x: !!int ""\n', 2),
    ("yaml-int-5000-digits", "l.yaml", _HEAD_YAML + "x: 1" + "0" * 5000 + "\n", 2),
    ("yaml-sexagesimal", "l.yaml", _HEAD_YAML + "x: 1" + ":0" * 100_000 + "\n", 1),
    ("ten-thousand-keys", "l.json", _keys(10_000, 10), 1),
    # Keys above MAX_LAYOUT_KEY_CHARS and numbers above MAX_LAYOUT_NUMBER_CHARS
    # are refused while parsing (bad input), before any value is built.
    ("long-key-names", "l.json", _keys(8, 200_000), 2),
    ("long-key-names-yaml", "l.yaml", "k" * 200_000 + ": 1\n", 2),
    ("huge-number-value", "l.json", '{"expires": ' + "9" * 4000 + "}", 2),
    ("huge-number-value-yaml", "l.yaml", "expires: " + "9" * 4000 + "\n", 2),
    ("long-string-values", "l.yaml", "expires: " + "y" * _MB + "\nsteps: " + "z" * _MB, 1),
    (
        "schema-errors-many",
        "l.json",
        _HEAD.replace('[{"name": "a"}]', json.dumps([{}] * 5000)) + '"v": 1}',
        1,
    ),
    ("above-size-limit", "l.json", "", 2),
]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    if text:
        path.write_text(text, encoding="utf-8")
    else:  # a sparse file just above the limit: the size is refused before reading
        with path.open("wb") as fh:
            fh.truncate(LAYOUT_LIMITS.max_bytes + 1)
    return path


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


@pytest.mark.parametrize(
    ("name", "content", "code"), [pytest.param(n, c, k, id=i) for i, n, c, k in HOSTILE]
)
def test_layout_check_output_is_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, code: int
) -> None:
    path = _write(tmp_path, name, content)
    assert main(["layout", "check", str(path)]) == code
    out, err = capsys.readouterr()
    lines = _lines(out) + _lines(err)
    assert lines
    assert all(len(line) < MAX_LINE for line in lines), max(map(len, lines))
    if code == 2:  # unusable input: one line naming the file
        assert lines == _lines(err)
        assert len(lines) == 1
        assert lines[0].startswith(f"intoto-policy: {path}")
    else:  # schema findings: at most the cap, plus the "more" note and the summary
        assert len(lines) <= MAX_SCHEMA_ERRORS + 2


@pytest.mark.parametrize(("name", "content"), [pytest.param(n, c, id=i) for i, n, c, _ in HOSTILE])
def test_verify_rejects_in_one_bounded_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str
) -> None:
    path = _write(tmp_path, name, content)
    assert main(["verify", str(path), "--unsigned-layout", "--no-subject"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = _lines(err)
    assert len(lines) == 1
    assert lines[0].startswith(f"intoto-policy: {path}")
    assert len(lines[0]) < MAX_LINE


@pytest.mark.parametrize(("name", "content"), [pytest.param(n, c, id=i) for i, n, c, _ in HOSTILE])
def test_python_loader_rejects_with_bounded_message(
    tmp_path: Path, name: str, content: str
) -> None:
    path = _write(tmp_path, name, content)
    with pytest.raises(InputError) as info:
        load_layout(path, allow_unsigned=True)
    text = str(info.value)
    assert "\n" not in text
    assert len(text) < MAX_LINE
    assert info.value.source == str(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("[]", "a layout must be a mapping, not a list", id="array"),
        pytest.param('"x"', "a layout must be a mapping, not a single value", id="string"),
        pytest.param("12", "a layout must be a mapping, not a single value '12'", id="number"),
        pytest.param("- a\n- b\n", "a layout must be a mapping, not a list", id="yaml-list"),
        pytest.param('{"a": 1} ', "'expires' is a required property", id="object-reaches-schema"),
    ],
)
def test_wrong_top_level_type_is_named(tmp_path: Path, content: str, expected: str) -> None:
    path = _write(tmp_path, "l.json", content)
    with pytest.raises(InputError, match=expected):
        load_layout(path, allow_unsigned=True)


_PARAMS = ["--param", "sbom-key=" + "ab" * 32, "--param", "sbom-type=https://spdx.dev/Document"]
_KEYLESS_PARAMS = ["--param", "repository=o/n", "--param", "signer-repository=o/n"]


def _named_layouts(tmp_path: Path) -> dict[str, str]:
    """ "L": a key-signed layout, "K": a keyless one (Sigstore functionaries)."""
    named = {}
    for mark, name in (("L", "sbom-required.yml"), ("K", "github-artifact-attestations.yml")):
        path = tmp_path / name
        path.write_text((Path(__file__).parents[1] / "layouts" / name).read_text())
        named[mark] = str(path)
    return named


# Every kind of file read whole has its own size bound, checked from the
# file's size before a byte of it is parsed.
OVERSIZE = [
    ("layout", LAYOUT_LIMITS.max_bytes, lambda p: ["verify", p, "--unsigned-layout"]),
    ("layout-check", LAYOUT_LIMITS.max_bytes, lambda p: ["layout", "check", p]),
    ("layout-sign", LAYOUT_LIMITS.max_bytes, lambda p: ["layout", "sign", p, "--key", p]),
    ("layout-key", KEY_LIMITS.max_bytes, lambda p: ["verify", "L", "--layout-key", p]),
    (
        "params-file",
        PARAMS_LIMITS.max_bytes,
        lambda p: ["verify", "L", "--unsigned-layout", "--params-file", p],
    ),
    (
        "trusted-root",
        TRUSTED_ROOT_LIMITS.max_bytes,
        # --trusted-root applies only to a layout with Sigstore functionaries.
        lambda p: [
            "verify",
            "K",
            "--unsigned-layout",
            "--no-subject",
            *_KEYLESS_PARAMS,
            "--trusted-root",
            p,
        ],
    ),
]


@pytest.mark.parametrize(("limit", "argv"), [pytest.param(lim, a, id=i) for i, lim, a in OVERSIZE])
def test_oversized_inputs_are_refused_before_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], limit: int, argv: object
) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as fh:
        fh.truncate(limit + 1)  # sparse: refused on its size alone
    named = _named_layouts(tmp_path)
    args = [named.get(a, a) for a in argv(str(big))]  # type: ignore[operator]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{big}: file is {limit + 1} bytes, above the limit of {limit}" in err
    assert len(_lines(err)) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("short", "'short'", id="short-string"),
        pytest.param("x" * 1000, "'" + "x" * 80 + "'… (1000 chars)", id="long-string"),
        pytest.param(b"y" * 200, "b'" + "y" * 80 + "'… (200 bytes)", id="long-bytes"),
        pytest.param(list(range(10**6)), "[0, 1, 2, 3, ...]", id="huge-list"),
        pytest.param(10**4000, "an integer of about 4000 digits", id="huge-int"),
        pytest.param(None, "None", id="none"),
    ],
)
def test_excerpt_bounds_any_value(value: object, expected: str) -> None:
    assert excerpt(value) == expected


def test_every_error_problem_is_bounded() -> None:
    # The backstop: a message that embeds input some other way is still cut.
    error = InputError("bad: " + "z" * 10**6, source="s" * 10**6)
    assert len(str(error)) < 2 * MAX_PROBLEM_CHARS + 100


_DEEP = '{"a": ' * 100 + "1" + "}" * 100

# Every JSON input goes through the strict decoder and its depth bound.
DEEP_INPUTS = [
    ("layout-key", KEY_LIMITS.max_depth, lambda p: ["verify", "L", "--layout-key", p]),
    (
        "params-file",
        PARAMS_LIMITS.max_depth,
        lambda p: ["verify", "L", "--unsigned-layout", "--params-file", p],
    ),
    (
        "trusted-root",
        TRUSTED_ROOT_LIMITS.max_depth,
        # --trusted-root applies only to a layout with Sigstore functionaries.
        lambda p: [
            "verify",
            "K",
            "--unsigned-layout",
            "--no-subject",
            *_KEYLESS_PARAMS,
            "--trusted-root",
            p,
        ],
    ),
    ("layout", LAYOUT_LIMITS.max_depth, lambda p: ["verify", p, "--unsigned-layout"]),
]


@pytest.mark.parametrize(("depth", "argv"), [pytest.param(d, a, id=i) for i, d, a in DEEP_INPUTS])
def test_deep_json_is_refused_in_every_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], depth: int, argv: object
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(_DEEP)
    named = _named_layouts(tmp_path)
    args = [named.get(a, a) for a in argv(str(deep))]  # type: ignore[operator]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{deep}: nesting deeper than {depth} levels" in err
    assert len(_lines(err)) == 1


def test_deep_attestation_is_rejected_with_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "deep.json").write_text(_DEEP)
    layout = tmp_path / "layout.yml"
    layout.write_text((Path(__file__).parents[1] / "layouts" / "sbom-required.yml").read_text())
    argv = ["verify", str(layout), "--unsigned-layout", "--no-subject", *_PARAMS]
    assert main([*argv, "--attestations", str(evidence), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (rejected,) = report["rejected"]
    assert "nesting deeper than 64 levels" in rejected["message"]


def _deep_long_keys(fmt: str, depth: int, key_len: int, leaves: int) -> bytes:
    doc: dict[str, object] = {f"a{i}": 1 for i in range(leaves)}
    for i in range(depth):
        doc = {chr(ord("A") + i % 26) * key_len + str(i): doc}
    top = {"version": 1, "expires": "2030-01-01T00:00:00Z", "x": doc}
    if fmt == "json":
        return json.dumps(top).encode()
    return yaml.safe_dump(top, width=10**9).encode()


def _stored_key_chars(lines: LineMap) -> int:
    # Characters of keys the line map holds (each key once, in its tree).
    total, stack = 0, [lines._root]
    while stack:
        node = stack.pop()
        if node is not None and isinstance(node.kids, dict):
            total += sum(map(len, node.kids))
            stack.extend(node.kids.values())
        elif node is not None and node.kids:
            stack.extend(node.kids)
    return total


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_line_map_is_proportional_to_the_layout(fmt: str) -> None:
    # One pointer string per value would hold leaves x depth x key length
    # characters (60 x 1000 x 500 = 30 M here, from ~70 KB of input).
    depth, key_len, leaves = 60, 1000, 500
    data = _deep_long_keys(fmt, depth, key_len, leaves)
    tracemalloc.start()
    try:
        _, lines = parse_layout_document(data, source=f"l.{fmt}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(lines, LineMap)
    assert len(lines) == 1 + 3 + depth + leaves
    assert _stored_key_chars(lines) < len(data)
    assert peak < 100 * len(data) < depth * key_len * leaves
    # Lookups still resolve the deepest pointers.
    path = "".join(f"/{chr(ord('A') + i % 26) * key_len}{i}" for i in reversed(range(depth)))
    assert lines[f"/x{path}/a{leaves - 1}"] >= 1
    assert f"/x{path}/a{leaves}" not in lines


_LOOKUP_DOC = {"a/b": 1, "c~d": 2, "list": [3, 4]}
_LOOKUP_TEXT = {
    "json": json.dumps(_LOOKUP_DOC, indent=2),
    "yaml": "a/b: 1\nc~d: 2\nlist:\n- 3\n- 4\n",
}

# (pointer, line in the JSON text, line in the YAML text); None: not found.
LINE_MAP_LOOKUPS = [
    pytest.param("", 1, 1, id="root"),
    pytest.param("/a~1b", 2, 1, id="escaped-slash"),
    pytest.param("/c~0d", 3, 2, id="escaped-tilde"),
    pytest.param("/list/1", 6, 5, id="array-index"),
    pytest.param("/list/01", None, None, id="leading-zero-index"),
    pytest.param("/list/2", None, None, id="index-out-of-range"),
    pytest.param("/list/x", None, None, id="index-not-a-number"),
    pytest.param("/list/" + "9" * 5000, None, None, id="index-huge"),
    pytest.param("/a~1b/deeper", None, None, id="below-a-scalar"),
    pytest.param("/a/b", None, None, id="unescaped-slash"),
    pytest.param("no-slash", None, None, id="not-a-pointer"),
]


@pytest.mark.parametrize(("pointer", "json_line", "yaml_line"), LINE_MAP_LOOKUPS)
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_line_map_lookup(
    fmt: str, pointer: str, json_line: int | None, yaml_line: int | None
) -> None:
    line = json_line if fmt == "json" else yaml_line
    _, lines = parse_layout_document(_LOOKUP_TEXT[fmt].encode(), source=f"l.{fmt}")
    assert lines.get(pointer) == line
    assert (pointer in lines) == (line is not None)
    assert list(lines) == ["", "/a~1b", "/c~0d", "/list", "/list/0", "/list/1"]
    assert len(lines) == 6


_ARRAYS = "[]," * MAX_LAYOUT_VALUES + "[]"

# Every way a JSON layout is sniffed before it is decoded (bare layout,
# layout envelope, classic metablock, classic envelope payload) must stop
# at the bounds, not decode millions of containers first.
SNIFFED = [
    pytest.param('{"x": [' + _ARRAYS + "]}", id="bare"),
    pytest.param('{"signed": {"_type": "layout", "x": [' + _ARRAYS + "]}}", id="classic-metablock"),
    pytest.param(
        json.dumps(
            {"payloadType": "application/vnd.in-toto+json", "payload": "", "signatures": []}
        )[:-1]
        + ', "x": ['
        + _ARRAYS
        + "]}",
        id="envelope",
    ),
    pytest.param('{"k' + "k" * 2000 + '": 1}', id="long-key"),
    pytest.param('{"x": ' + "1" * 101 + "}", id="long-number"),
]


@pytest.mark.parametrize("content", SNIFFED)
def test_layout_bounds_apply_before_decoding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    from intoto_policy.classic import is_classic_layout
    from intoto_policy.model._json import within_layout_bounds

    data = content.encode()
    assert not within_layout_bounds(data)
    assert not is_classic_layout(data)
    path = _write(tmp_path, "l.json", content)
    assert main(["verify", str(path), "--unsigned-layout", "--no-subject"]) == 2
    lines = _lines(capsys.readouterr().err)
    assert len(lines) == 1
    assert "above the limit" in lines[0] or "at most" in lines[0]
