"""Canonical JSON: byte-identical to RFC 8785 (the ``rfc8785`` package) under cbm's rules, and strict parsing."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.core.canonical import FAST_PARSE_MIN, canonical_bytes, loads
from cbm.core.errors import MalformedInput

MAX_INT = 2**53 - 1

# cbm's rules: no floats, ASCII keys, integers within the I-JSON range, valid Unicode text
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
ascii_keys = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=8)
scalars = st.none() | st.booleans() | st.integers(min_value=-MAX_INT, max_value=MAX_INT) | texts
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ascii_keys, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_canonical_equals_rfc8785_under_cbm_rules(value):
    assert canonical_bytes(value) == rfc8785.dumps(value)


@settings(max_examples=100, deadline=None)
@given(values)
def test_round_trip_through_strict_parser(value):
    encoded = canonical_bytes(value)
    assert canonical_bytes(loads(encoded)) == encoded


def test_known_encoding():
    # the good case the refusals below stand beside
    assert canonical_bytes({"b": 1, "a": ["é", None, True], "A": -3}) == '{"A":-3,"a":["é",null,true],"b":1}'.encode()


@pytest.mark.parametrize(
    "value, fragment",
    [
        ({"x": 1.5}, "floats are not allowed"),
        ({"x": [0.0]}, "floats are not allowed"),
        ({"é": 1}, "ASCII"),
        ({1: "x"}, "ASCII strings"),
        ({"x": 2**53}, "interoperable range"),
        ({"x": -(2**53)}, "interoperable range"),
        ({"x": b"bytes"}, "cannot be signed"),
        ({"x": "\udc80"}, "lone surrogate"),  # regression: was a UnicodeEncodeError traceback
    ],
)
def test_refused_values(value, fragment):
    with pytest.raises(MalformedInput, match=fragment):
        canonical_bytes(value)


def test_integer_limits_are_inclusive():
    assert canonical_bytes([MAX_INT, -MAX_INT]) == rfc8785.dumps([MAX_INT, -MAX_INT])


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('{"a": 1, "a": 2}', "duplicate JSON key 'a'"),
        ('{"x": {"k": 1, "k": 1}}', "duplicate JSON key 'k'"),
        ('{"x": NaN}', "NaN"),
        ('{"x": Infinity}', "Infinity"),
        ('{"x": -Infinity}', "-Infinity"),
        ('{"x": ', "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),  # deep nesting: no RecursionError escapes
        (b'{"x": "\xff"}', "not valid JSON"),
    ],
)
def test_strict_parser_refuses(text, fragment):
    assert json.loads('{"a": 1}') == loads('{"a": 1}')  # the good case
    with pytest.raises(MalformedInput, match=fragment):
        loads(text)


_stdlib = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode


@settings(max_examples=300, deadline=None)
@given(values)
def test_encoding_equals_the_standard_library_under_cbm_rules(value):
    """orjson does the encoding; the standard library's json with the same settings is the reference (every
    code point of valid text escapes the same way; checked exhaustively for single characters below)."""
    assert canonical_bytes(value) == _stdlib(value).encode("utf-8")


def test_every_character_escapes_as_the_standard_library_does():
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for i in range(0, len(chars), 4096):
        chunk = chars[i:i + 4096]
        assert canonical_bytes(chunk) == _stdlib(chunk).encode("utf-8")


def _big(doc: str) -> bytes:
    """``doc`` (a JSON object text) padded past the fast path's threshold with a long string member."""
    data = doc[:-1] + ',"zz":"' + "p" * FAST_PARSE_MIN + '"}'
    return data.encode()


@pytest.mark.parametrize(
    "doc, fragment",
    [
        ('{"a":1,"a":1}', "duplicate JSON key 'a'"),  # same value twice: the parsed dict alone cannot tell
        ('{"a":1,"a":2}', "duplicate JSON key 'a'"),
        ('{"x":{"k":[1],"k":[1]}}', "duplicate JSON key 'k'"),
        ('{"x":NaN}', "NaN"),
        ('{\n "a": 1,\n "a": 1\n}', "duplicate JSON key 'a'"),  # pretty-printed: straight to the strict parser
    ],
)
def test_large_input_is_as_strict_as_small(doc, fragment):
    """Payloads of 4 KiB and more take the orjson fast path: it must refuse exactly what the strict parser does."""
    with pytest.raises(MalformedInput, match=fragment):
        loads(_big(doc))
    with pytest.raises(MalformedInput, match=fragment):
        loads(_big(doc), maybe_canonical=False)


def test_input_never_canonical_skips_the_round_trip_and_parses_the_same(monkeypatch):
    """A MISP event is compact but never canonical: parsed strictly at once (no orjson tree built and dropped
    first), to the same value the round trip gives a canonical text of it."""
    import orjson

    from cbm.core import canonical

    doc = {"Event": {"uuid": "u", "info": "x", "Attribute": [{"value": "p" * FAST_PARSE_MIN, "to_ids": True}]}}
    compact = json.dumps(doc, separators=(",", ":")).encode()  # unsorted keys: not canonical
    parsed: list[int] = []
    monkeypatch.setattr(canonical, "orjson", type("Spy", (), {
        "loads": staticmethod(lambda data: (parsed.append(1), orjson.loads(data))[1]),
        "dumps": staticmethod(orjson.dumps), "JSONDecodeError": orjson.JSONDecodeError,
        "JSONEncodeError": orjson.JSONEncodeError}))
    assert loads(compact, maybe_canonical=False) == doc and parsed == []
    assert loads(compact) == doc and parsed == [1]


@settings(max_examples=100, deadline=None)
@given(values)
def test_large_input_parses_as_small_does(value):
    doc = {"v": value, "zz": "p" * FAST_PARSE_MIN}
    canonical = canonical_bytes(doc)
    spaced = json.dumps(doc, indent=1).encode()  # not canonical: the strict path
    assert loads(canonical) == loads(spaced) == json.loads(canonical)


@pytest.mark.parametrize("depth", [300, 1000])
def test_large_input_nests_no_deeper_than_small(depth):
    """orjson parses up to 1,024 levels, the strict parser fewer: the fast path must not accept what the
    strict one refuses (its canonical re-encoding stops at 254 levels, so deep input always falls through)."""
    nested = "[" * depth + "]" * depth
    small, large = f'{{"a":{nested}}}', _big(f'{{"a":{nested}}}')
    try:
        expected = loads(small)
    except MalformedInput:
        with pytest.raises(MalformedInput):
            loads(large)
    else:
        assert loads(large)["a"] == expected["a"]
