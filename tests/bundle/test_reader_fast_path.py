"""The quick check's fast reading of record positions agrees with the strict parser on every record, however
its body is built (including bodies that imitate the fields after them)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.bundle.reader import _fast_record, _strict_record
from cbm.core import dsse
from cbm.core.errors import MalformedInput
from cbm.core.keys import KeyPair
from cbm.core.records import build_payload, sign_record

PAIR = KeyPair.from_seed(b"fast-path", "2026-11-23T00:00:00Z")
TAIL = '"},"created":"2026-01-01T00:00:00Z","kind":"keys.rotate","prev":null,"seq":1,"tlp":"RED","to":["XX"],"v":1}'

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53 + 1, 2**53 - 1) | st.text() | st.just(TAIL),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["created", "kind", "prev", "seq", "tlp", "to", "v", "x", "body"]), children, max_size=4),
    max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(body=st.dictionaries(st.text(alphabet="abckindprevtoseq", max_size=6), json_values, max_size=4),
       seq=st.integers(1, 10**6), to=st.sampled_from([["*"], ["RU"], ["RU", "CN"]]),
       tlp=st.sampled_from(["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]))
def test_fast_and_strict_agree(body, seq, to, tlp):
    payload = build_payload(author="US", seq=seq, prev=None if seq == 1 else "ab" * 32,
                            created="2026-11-23T05:13:00Z", kind="inquiry.open", to=to, tlp=tlp, body=body)
    line = sign_record(payload, "inquiry.open", PAIR)
    fast = _fast_record(line)
    assert fast is not None
    assert fast == _strict_record(line)
    # the signatures, read from the envelope's short array at its end, are those the whole parse reads; and so
    # is the envelope an import verifies (docs/adr/0213-one-pass-indicator-landing.md)
    assert fast.signatures() == _strict_record(line).signatures() == dsse.parse(line).signatures
    assert fast.parsed() == dsse.parse(line)


@pytest.mark.parametrize("damage", [
    (b'"sig":"', b'"sig":"!!'),  # a signature that is not base64
    (b'"keyid":"', b'"keyid":1,"x":"'),  # a key id that is not text
    (b'{"payload":"', b'{"payload":"\\u0041'),  # an escape inside the payload: not the canonical layout
    (b'","payloadType', b'"x","payloadType'),  # a quote inside the payload
])
def test_an_envelope_the_fast_path_cannot_read_goes_to_the_strict_parser(damage):
    payload = build_payload(author="US", seq=1, prev=None, created="2026-11-23T05:13:00Z", kind="inquiry.open",
                            to=["*"], tlp="GREEN", body={"ref": "x"})
    line = sign_record(payload, "inquiry.open", PAIR).replace(*damage, 1)
    assert _fast_record(line) is None
    with pytest.raises(MalformedInput):
        _strict_record(line)


def test_non_canonical_envelope_falls_back_to_the_strict_parser():
    payload = build_payload(author="US", seq=1, prev=None, created="2026-11-23T05:13:00Z", kind="inquiry.open",
                            to=["*"], tlp="GREEN", body={"ref": "x"})
    doc = json.loads(sign_record(payload, "inquiry.open", PAIR))
    line = json.dumps({"signatures": doc["signatures"], "payloadType": doc["payloadType"],
                       "payload": doc["payload"]}).encode()
    assert _fast_record(line) is None
    assert _strict_record(line).hash == _strict_record(sign_record(payload, "inquiry.open", PAIR)).hash
