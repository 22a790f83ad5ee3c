"""Canonical JSON: byte-identical to RFC 8785 (the ``rfc8785`` package) under cbm's rules, and strict parsing."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.core.canonical import canonical_bytes, loads
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
