"""DSSE envelopes in the layout cbm writes are read without parsing the payload string as JSON
(docs/adr/0239-envelopes-read-in-their-written-layout.md). That reading must give exactly what the strict JSON
parse gives, and hand everything else to it: the same envelope, or the same error."""

from __future__ import annotations

import base64
import json

import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.core import dsse
from cbm.core.errors import MalformedInput

KEY = nacl.signing.SigningKey(b"\x07" * 32)
GOOD = dsse.sign("application/vnd.cbm.inquiry.v1+json", b'{"a":1}', [("k1", KEY)]).to_json_bytes()


def _outcome(parse, data: bytes) -> object:
    try:
        return parse(data)
    except MalformedInput as e:
        return ("refused", str(e))


def _same_as_the_json_parse(data: bytes) -> object:
    got = _outcome(dsse.parse, data)
    assert got == _outcome(dsse._parse_json, data)
    return got


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=300), payload_type=st.text(max_size=30),
       keyids=st.lists(st.text(max_size=12), max_size=3))
def test_every_written_envelope_reads_as_the_json_parse_reads_it(payload, payload_type, keyids):
    # any payload type (quotes, backslashes, non-ASCII, brackets in key ids): what the layout cannot read as it
    # stands goes to the JSON parse; what it reads, it reads the same
    envelope = dsse.sign(payload_type, payload, [(k, KEY) for k in keyids])
    data = envelope.to_json_bytes()
    assert _same_as_the_json_parse(data) == envelope
    assert dsse._parse_written_layout(data) in (None, envelope)


def test_the_written_layout_is_read_without_the_json_parse():
    assert dsse._parse_written_layout(GOOD) == dsse._parse_json(GOOD)
    assert dsse._parse_written_layout(GOOD.replace(b',"signatures"', b', "signatures"')) is None  # not the layout


def _urlsafe(line: bytes) -> bytes:
    doc = json.loads(line)
    doc["payload"] = base64.urlsafe_b64encode(b"\xfb\xff" * 40).decode()
    return dsse.Envelope(doc["payloadType"], b"", ()).to_json_bytes().replace(
        b'"payload":""', b'"payload":"' + doc["payload"].encode() + b'"').replace(
        b'"signatures":[]', b'"signatures":' + json.dumps(doc["signatures"], separators=(",", ":")).encode())


@pytest.mark.parametrize("name, edit", [
    # refused, with the JSON parse's own message
    ("a duplicate key after the signatures", lambda b: b[:-1] + b',"payload":"e30="}'),
    ("a duplicate payloadType inside the payload", lambda b: b.replace(b'{"payload":"', b'{"payload":"e30=",'
                                                                       b'"payloadType":"x","payload":"', 1)),
    ("an escape in the payload", lambda b: b.replace(b'{"payload":"', b'{"payload":"\\u0041', 1)),
    ("a quote in the payload", lambda b: b.replace(b'","payloadType', b'"x","payloadType', 1)),
    ("a payload that is not base64", lambda b: b.replace(b'{"payload":"', b'{"payload":"!', 1)),
    ("a signature that is not base64", lambda b: b.replace(b'"sig":"', b'"sig":"!!', 1)),
    ("a key id that is not text", lambda b: b.replace(b'"keyid":"k1"', b'"keyid":1', 1)),
    ("a signature entry that is not an object", lambda b: b.replace(b'"signatures":[', b'"signatures":[1,', 1)),
    ("bytes after the envelope", lambda b: b + b"x"),
    ("a truncated envelope", lambda b: b[:-1]),
    ("a control character in the payload type", lambda b: b.replace(b'application/', b'application\n/', 1)),
    ("invalid UTF-8 in a key id", lambda b: b.replace(b'"keyid":"k1"', b'"keyid":"k\xff"', 1)),
    # accepted, as the JSON parse accepts them
    ("URL-safe base64", _urlsafe),
    ("an escaped payload type", lambda b: b.replace(b"application/", b"application\\/", 1)),
    ("a key id holding a bracket", lambda b: b.replace(b'"keyid":"k1"', b'"keyid":"k]1"', 1)),
    ("no key id", lambda b: b.replace(b'"keyid":"k1",', b"", 1)),
])
def test_an_envelope_off_the_written_layout_gets_the_json_parse_verdict(name, edit):
    assert dsse.parse(GOOD) == dsse._parse_json(GOOD)  # the good case beside the bad one
    data = edit(GOOD)
    assert data != GOOD
    _same_as_the_json_parse(data)


@pytest.mark.parametrize("data, message", [
    (GOOD[:-1] + b',"payload":"e30="}', "duplicate JSON key 'payload'"),
    (GOOD.replace(b'{"payload":"', b'{"payload":"\\u0041', 1), "payload is not valid base64"),
    (GOOD.replace(b'"sig":"', b'"sig":"!!', 1), "signature is not valid base64"),
])
def test_hostile_envelopes_in_nearly_the_written_layout_are_refused(data, message):
    with pytest.raises(MalformedInput, match=message):
        dsse.parse(data)


def test_the_signed_message_is_the_signature_then_the_pae():
    payload_type, payload = "application/vnd.cbm.inquiry.v1+json", b'{"a":"\xc3\xa9"}'
    sig = KEY.sign(dsse.pae(payload_type, payload)).signature
    assert dsse.signed_pae(sig, payload_type, payload) == sig + dsse.pae(payload_type, payload)
    KEY.verify_key.verify(dsse.signed_pae(sig, payload_type, payload))
