"""DSSE v1: the published PAE vector, the Ed25519 test vectors, threshold and duplicate-signature rules."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.core import dsse
from cbm.core.errors import BadSignature, MalformedInput, OversizedInput, UnknownSigner

VECTORS = json.loads((Path(__file__).parent / "fixtures" / "dsse-vectors.json").read_text("utf-8"))
KEYS = {name: nacl.signing.SigningKey(bytes.fromhex(k["seed"])) for name, k in VECTORS["keys"].items()}


def test_pae_vector_from_the_dsse_protocol():
    # protocol.md, "Test Vectors": SERIALIZED_BODY "hello world", PAYLOAD_TYPE http://example.com/HelloWorld
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == \
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    # and the envelope's payload field for that body, as the protocol's example result shows it
    assert dsse.b64(b"hello world") == "aGVsbG8gd29ybGQ="


def test_pae_counts_bytes_not_characters():
    # LEN(type) is the length of UTF8(PAYLOAD_TYPE): 29 bytes for these 28 characters
    assert dsse.pae("application/vnd.exämple+json", b"").startswith(b"DSSEv1 29 ")
    assert dsse.pae("t", "é".encode()) == b"DSSEv1 1 t 2 \xc3\xa9"
    assert dsse.pae("", b"") == b"DSSEv1 0  0 "


def test_vector_keys_are_the_rfc8032_keys():
    for name, key in KEYS.items():
        assert bytes(key.verify_key).hex() == VECTORS["keys"][name]["public"]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["id"])
def test_dsse_vector(vector):
    envelope = dsse.parse(json.dumps(vector["envelope"]).encode("utf-8"))
    if vector["id"] != "payload-type-swapped":  # there "pae" is what was signed, under the original type
        assert dsse.pae(envelope.payload_type, envelope.payload).hex() == vector["pae"]
    trusted = {name: KEYS[name].verify_key for name in vector["trustedKeys"]}

    def check() -> set[str]:
        signed = dsse.verify(envelope, trusted, threshold=vector["threshold"])
        if envelope.payload_type not in vector["supportedPayloadTypes"]:
            raise MalformedInput("unsupported payload type")
        return signed

    if vector["expect"] == "accept":
        assert len(check()) >= vector["threshold"]
    else:
        with pytest.raises((BadSignature, MalformedInput)):
            check()


def test_our_signatures_match_the_vector():
    # Ed25519 is deterministic: signing the vector's payload with key A reproduces its signature
    vector = VECTORS["vectors"][0]
    payload = base64.b64decode(vector["envelope"]["payload"])
    env = dsse.sign(vector["envelope"]["payloadType"], payload, [("A", KEYS["A"])])
    assert dsse.b64(env.signatures[0].sig) == vector["envelope"]["signatures"][0]["sig"]


def _env(signers: list[tuple[str, nacl.signing.SigningKey]], payload: bytes = b"{}") -> dsse.Envelope:
    return dsse.sign("application/vnd.cbm.inquiry.v1+json", payload, signers)


def test_duplicate_signature_counts_once():
    keys = {"A": KEYS["A"].verify_key, "B": KEYS["B"].verify_key}
    good = _env([("A", KEYS["A"]), ("B", KEYS["B"])])
    assert dsse.verify(good, keys, threshold=2) == {"A", "B"}
    twice = _env([("A", KEYS["A"]), ("A", KEYS["A"])])
    assert dsse.verify(twice, keys, threshold=1) == {"A"}
    with pytest.raises(BadSignature, match="1 of 2"):
        dsse.verify(twice, keys, threshold=2)
    # the same signature under an empty keyid is tried against every key but still counts once
    sig = twice.signatures[0]
    relabelled = dsse.Envelope(twice.payload_type, twice.payload, (sig, dsse.Signature("", sig.sig)))
    with pytest.raises(BadSignature):
        dsse.verify(relabelled, keys, threshold=2)


def test_unknown_and_missing_signers():
    env = _env([("A", KEYS["A"])])
    assert dsse.verify(env, {"A": KEYS["A"].verify_key}) == {"A"}
    with pytest.raises(UnknownSigner):
        dsse.verify(env, {"B": KEYS["B"].verify_key})
    with pytest.raises(BadSignature, match="no signature"):
        dsse.verify(dsse.Envelope(env.payload_type, env.payload, ()), {"A": KEYS["A"].verify_key})
    # a trusted keyid with someone else's signature is a bad signature, not an unknown signer
    forged = _env([("A", KEYS["B"])])
    with pytest.raises(BadSignature):
        dsse.verify(forged, {"A": KEYS["A"].verify_key})


@pytest.mark.parametrize(
    "data, error",
    [
        (b"not json", MalformedInput),
        (b"[]", MalformedInput),
        (b'{"payload": "e30=", "payloadType": "t"}', MalformedInput),
        (b'{"payload": "e30=", "payloadType": "t", "signatures": [{"sig": "!!"}]}', MalformedInput),
        (b'{"payload": "e30", "payloadType": "t", "signatures": []}', MalformedInput),
        (b'{"payload": "e30=", "payloadType": "t", "signatures": [{"sig": "", "keyid": 5}]}', MalformedInput),
        (b'{"payload": "e30=", "payload": "e30=", "payloadType": "t", "signatures": []}', MalformedInput),
        (b" " * (dsse.MAX_ENVELOPE_BYTES + 1), OversizedInput),
    ],
)
def test_malformed_envelopes(data, error):
    assert dsse.parse(_env([("A", KEYS["A"])]).to_json_bytes()).payload == b"{}"  # the good case
    with pytest.raises(error):
        dsse.parse(data)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_flipped_byte_fails_verification(data):
    env = _env([("A", KEYS["A"])], payload=b'{"author":"US","body":{"text":"hello"}}')
    keys = {"A": KEYS["A"].verify_key}
    target = data.draw(st.sampled_from(["payload", "sig", "type"]))
    if target == "payload":
        i = data.draw(st.integers(0, len(env.payload) - 1))
        payload = bytearray(env.payload)
        payload[i] ^= data.draw(st.integers(1, 255))
        bad = dsse.Envelope(env.payload_type, bytes(payload), env.signatures)
    elif target == "sig":
        sig = bytearray(env.signatures[0].sig)
        i = data.draw(st.integers(0, len(sig) - 1))
        sig[i] ^= data.draw(st.integers(1, 255))
        bad = dsse.Envelope(env.payload_type, env.payload, (dsse.Signature("A", bytes(sig)),))
    else:
        kind = bytearray(env.payload_type.encode())
        i = data.draw(st.integers(0, len(kind) - 1))
        kind[i] = (kind[i] + data.draw(st.integers(1, 25))) % 128 or 1
        bad = dsse.Envelope(kind.decode(), env.payload, env.signatures)
    with pytest.raises(BadSignature):
        dsse.verify(bad, keys)


def test_envelope_bytes_are_deterministic():
    a = _env([("A", KEYS["A"])]).to_json_bytes()
    assert a == _env([("A", KEYS["A"])]).to_json_bytes()
    assert dsse.parse(a).to_json_bytes() == a


# A large payload (a batch record: ~1.1 MB) is signed with hashlib's SHA-512 and libsodium's scalar and point
# operations (docs/adr/0288): the signature must be the very one libsodium's crypto_sign makes over the PAE.
_AROUND_THE_SWITCH = st.integers(min_value=dsse._LARGE - 80, max_value=dsse._LARGE + 80)


@settings(max_examples=60, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), size=st.one_of(st.integers(0, 300), _AROUND_THE_SWITCH,
                                                               st.integers(200_000, 1_200_000)),
       filler=st.binary(min_size=1, max_size=64), payload_type=st.text(max_size=40))
def test_signatures_of_any_size_are_libsodiums_over_the_pae(seed, size, filler, payload_type):
    key = nacl.signing.SigningKey(seed)
    payload = (filler * (size // len(filler) + 1))[:size]
    envelope = dsse.sign(payload_type, payload, [("k", key)])
    expected = key.sign(dsse.pae(payload_type, payload)).signature
    assert envelope.signatures[0].sig == expected
    assert dsse.verify(envelope, {"k": key.verify_key}) == {"k"}


def test_a_large_payload_is_signed_by_the_split_path_with_the_rfc8032_keys():
    payload = bytes(range(256)) * (dsse._LARGE // 256 + 7)  # past the switch: the hashlib path
    for key in KEYS.values():
        head = b"DSSEv1 31 application/vnd.cbm.record+json %d " % len(payload)
        assert dsse.ed25519_signature(key, head, payload) == \
            key.sign(dsse.pae("application/vnd.cbm.record+json", payload)).signature


def test_large_payloads_base64_as_the_standard_library_does():
    data = bytes(range(256)) * (dsse._LARGE // 256 + 3) + b"\xff\xfe"
    assert dsse.b64(data) == base64.b64encode(data).decode("ascii")
    assert dsse.b64(data[:100]) == base64.b64encode(data[:100]).decode("ascii")
