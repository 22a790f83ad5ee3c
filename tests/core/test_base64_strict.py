"""The strict base64 decoder that records and bundles are read with takes pybase64's fast path for large inputs
and must answer exactly as ``binascii.a2b_base64(strict_mode=True)`` on every input, large or small."""

from __future__ import annotations

import base64
import binascii
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.core import base64_strict, dsse
from cbm.core.errors import MalformedInput


def _standard(data: bytes) -> bytes | str:
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except binascii.Error as e:
        return f"refused: {type(e).__name__}"


def _ours(data: bytes) -> bytes | str:
    try:
        return base64_strict.decode(data)
    except binascii.Error as e:
        return f"refused: {type(e).__name__}"


def _large(seed: int) -> bytes:
    rng = random.Random(seed)
    return base64.b64encode(rng.randbytes(base64_strict.LARGE - 1))  # whole quanta, no padding; fast path


ODD = [b"=", b"==", b"A", b"-", b"_", b" ", b"\n", b"\r\n", b"\x00", b"\xff", b"*", b"AA==", b"A=", b"QQ"]


@pytest.mark.parametrize("odd", ODD)
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_large_input_with_an_odd_byte_is_decided_as_the_standard_decoder_decides(odd, where):
    text = _large(len(odd))
    at = {"start": 0, "middle": len(text) // 2, "end": len(text)}[where]
    data = text[:at] + odd + text[at:]
    assert len(data) >= base64_strict.LARGE
    assert _ours(data) == _standard(data)


def test_a_stray_pad_after_a_whole_quantum_is_accepted_as_the_standard_decoder_accepts_it():
    # pybase64 refuses it, binascii's strict mode lets it through: the fallback keeps the old behaviour
    data = _large(1) + b"="
    assert base64_strict.decode(data) == binascii.a2b_base64(data, strict_mode=True)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=96), st.lists(st.tuples(st.integers(0, 200), st.sampled_from(ODD)),
                                                     max_size=3), st.booleans())
def test_any_input_small_or_large_decodes_as_the_standard_decoder(raw, edits, large):
    text = base64.b64encode(raw * (700 if large and raw else 1))
    for at, odd in edits:
        at = at * len(text) // 200
        text = text[:at] + odd + text[at:]
    assert _ours(text) == _standard(text)


def test_url_safe_base64_decodes_as_b64decode_with_url_safe_altchars():
    raw = random.Random(7).randbytes(base64_strict.LARGE)
    text = base64.urlsafe_b64encode(raw)
    assert b"-" in text and b"_" in text
    assert base64_strict.decode_urlsafe(text) == raw == base64.b64decode(text, altchars=b"-_", validate=True)


def test_a_large_dsse_payload_in_either_alphabet_is_read_and_bad_base64_is_refused_with_one_message():
    raw = random.Random(3).randbytes(base64_strict.LARGE + 5)
    assert dsse.unb64(base64.b64encode(raw).decode(), "payload") == raw
    assert dsse.unb64(base64.urlsafe_b64encode(raw).decode(), "payload") == raw
    with pytest.raises(MalformedInput, match="payload is not valid base64"):
        dsse.unb64(base64.b64encode(raw).decode() + "*", "payload")
