"""DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1) signed with Ed25519.

The signature covers PAE(payloadType, payload) over the payload bytes exactly as carried. Verification
returns the verified payload bytes; callers parse those, never the file again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cbm.core import base64_strict
from cbm.core.canonical import encode_plain, loads
from cbm.core.errors import BadSignature, MalformedInput, UnknownSigner

if TYPE_CHECKING:  # nacl loads only when something is signed or verified (reading commands never need it)
    import nacl.signing

MAX_ENVELOPE_BYTES = 16 * 1024 * 1024


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: ``DSSEv1 SP LEN(type) SP type SP LEN(body) SP body``."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def signed_pae(sig: bytes, payload_type: str, payload: bytes) -> bytes:
    """``sig`` followed by :func:`pae` (the "signed message" libsodium's ``crypto_sign_open`` checks), made with
    one copy of the payload instead of two."""
    type_bytes = payload_type.encode("utf-8")
    return b"%sDSSEv1 %d %s %d %s" % (sig, len(type_bytes), type_bytes, len(payload), payload)


def b64(data: bytes) -> str:
    """Standard base64 of ``data``: a record's payload (about 1.1 MB for a batch of 5,000 indicators) through
    pybase64's SIMD encoder (the same bytes, a twentieth of the standard library's 2.6 ms), anything small
    without importing it."""
    if len(data) < _LARGE:
        return base64.b64encode(data).decode("ascii")
    import pybase64

    return pybase64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    """Standard base64, or URL-safe base64 (DSSE: verifiers MUST accept either). Raises MalformedInput."""
    if not isinstance(text, str):
        raise MalformedInput(f"{what} is not a base64 string")
    try:
        return _unb64_ascii(text.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as e:
        raise MalformedInput(f"{what} is not valid base64") from e


def _unb64_ascii(data: bytes | memoryview) -> bytes:
    """:func:`unb64` of bytes. Raises binascii.Error (or ValueError) as the strict decoders do."""
    try:
        return base64_strict.decode(data)
    except binascii.Error:
        return base64_strict.decode_urlsafe(data)


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    """A parsed, not yet verified, envelope."""

    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def to_json_bytes(self) -> bytes:
        """Compact JSON with a fixed key order, so equal envelopes have equal bytes."""
        doc = {
            "payload": b64(self.payload),
            "payloadType": self.payload_type,
            "signatures": [{"keyid": s.keyid, "sig": b64(s.sig)} for s in self.signatures],
        }
        return encode_plain(doc)  # ASCII only (base64, hex key ids): the same bytes as json.dumps


def sign(payload_type: str, payload: bytes, signers: list[tuple[str, nacl.signing.SigningKey]]) -> Envelope:
    """Sign with one or more (keyid, key) pairs."""
    type_bytes = payload_type.encode("utf-8")
    head = b"DSSEv1 %d %s %d " % (len(type_bytes), type_bytes, len(payload))  # PAE is head + payload
    sigs = tuple(Signature(keyid, ed25519_signature(key, head, payload)) for keyid, key in signers)
    return Envelope(payload_type, payload, sigs)


_LARGE = 64 * 1024  # a payload from which on the hashing dominates signing and base64 (a batch record: ~1.1 MB)


def ed25519_signature(key: nacl.signing.SigningKey, head: bytes, payload: bytes) -> bytes:
    """The Ed25519 signature (RFC 8032, the one libsodium's ``crypto_sign`` makes: the same 64 bytes) of the
    message ``head + payload``, without joining them.

    A small message is signed by libsodium as it is. For a large one, most of signing is its two SHA-512 passes
    over the message, and libsodium's portable SHA-512 runs at half the speed of OpenSSL's (hashlib): 7.9 ms
    against 3.3 ms for a 1.1 MB batch record, a second of a 1M-indicator import. So the two hashes are taken by
    hashlib and the rest of RFC 8032's steps by libsodium's constant-time scalar and point operations
    (docs/adr/0288-ed25519-signing-hashed-by-hashlib.md); a test holds both paths to the same signatures."""
    if len(head) + len(payload) < _LARGE:
        return bytes(key.sign(head + payload).signature)
    from nacl import bindings as sodium
    from nacl.exceptions import RuntimeError as SodiumError

    expanded = hashlib.sha512(bytes(key)).digest()  # the seed, expanded: the secret scalar and the nonce prefix
    secret = bytearray(expanded[:32])
    secret[0] &= 248
    secret[31] &= 127
    secret[31] |= 64
    nonce = hashlib.sha512(expanded[32:])
    nonce.update(head)
    nonce.update(payload)
    r = sodium.crypto_core_ed25519_scalar_reduce(nonce.digest())
    try:
        point = sodium.crypto_scalarmult_ed25519_base_noclamp(r)  # R = rB
    except SodiumError:  # r = 0 (a chance of 2**-252): the whole message through libsodium
        return bytes(key.sign(head + payload).signature)
    challenge = hashlib.sha512(point + bytes(key.verify_key))
    challenge.update(head)
    challenge.update(payload)
    k = sodium.crypto_core_ed25519_scalar_reduce(challenge.digest())
    a = sodium.crypto_core_ed25519_scalar_reduce(bytes(secret) + bytes(32))
    return point + sodium.crypto_core_ed25519_scalar_add(r, sodium.crypto_core_ed25519_scalar_mul(k, a))  # R || S


# The layout :meth:`Envelope.to_json_bytes` writes: its three keys in order, compact. The payload ends at the first
# quote (base64 holds none: the strict decoder refuses any character outside its alphabet); the payload type is
# read as it stands when it holds only printable ASCII other than quote and backslash (so that it needs no JSON
# unescaping); the short signatures array goes through the strict parser on its own.
_HEAD = b'{"payload":"'
_TAIL = re.compile(rb'","payloadType":"([\x20\x21\x23-\x5b\x5d-\x7e]*)","signatures":(\[[^\]]*\])\}')


def parse(data: bytes) -> Envelope:
    """Parse envelope JSON. Raises MalformedInput/OversizedInput; checks no signature.

    An envelope in the layout cbm writes is read without parsing its ~1.3 MB payload string as JSON (the base64
    is decoded straight from the line); anything else, or anything that layout's reading refuses, goes through
    the strict JSON parser, which accepts the same envelope and names the problem
    (docs/adr/0239-envelopes-read-in-their-written-layout.md).
    """
    from cbm.core.errors import OversizedInput

    if len(data) > MAX_ENVELOPE_BYTES:
        raise OversizedInput(f"envelope of {len(data)} bytes exceeds the {MAX_ENVELOPE_BYTES}-byte limit")
    return _parse_written_layout(data) or _parse_json(data)


def _parse_written_layout(data: bytes) -> Envelope | None:
    """The envelope, if ``data`` is in the layout cbm writes and every part of it reads; else None."""
    if type(data) is not bytes or not data.startswith(_HEAD):
        return None
    split = data.find(b'"', len(_HEAD))  # the payload's closing quote (a one-byte search: memchr)
    tail = _TAIL.fullmatch(data, split) if split > 0 else None
    if tail is None:
        return None
    try:
        with memoryview(data) as view:  # the payload decoded where it lies in the line, not copied out first
            payload = _unb64_ascii(view[len(_HEAD):split])
        signatures = _parse_json(b'{"payload":"","payloadType":"","signatures":' + tail[2] + b"}").signatures
    except (binascii.Error, ValueError, MalformedInput):
        return None  # the strict parser decides, and names the problem
    return Envelope(tail[1].decode("ascii"), payload, signatures)


def _parse_json(data: bytes) -> Envelope:
    doc = loads(data)
    if not isinstance(doc, dict):
        raise MalformedInput("envelope is not a JSON object")
    payload_type, payload, sigs = doc.get("payloadType"), doc.get("payload"), doc.get("signatures")
    if not isinstance(payload_type, str) or not isinstance(payload, str) or not isinstance(sigs, list):
        raise MalformedInput("envelope needs payloadType, payload and signatures")
    signatures = []
    for item in sigs:
        if not isinstance(item, dict) or not isinstance(item.get("sig"), str):
            raise MalformedInput("envelope signature entry is malformed")
        keyid = item.get("keyid", "")
        if not isinstance(keyid, str):
            raise MalformedInput("envelope keyid is not a string")
        signatures.append(Signature(keyid, unb64(item["sig"], "signature")))
    return Envelope(payload_type, unb64(payload, "payload"), tuple(signatures))


def verify(
    envelope: Envelope,
    keys: dict[str, nacl.signing.VerifyKey],
    *,
    threshold: int = 1,
) -> set[str]:
    """Verify ``envelope`` against ``keys`` (keyid -> key). Returns the keyids that signed.

    Only distinct trusted keys count toward ``threshold``; a duplicated signature counts once.
    Raises UnknownSigner when no signature names a key we hold, BadSignature when the valid
    signatures from distinct trusted keys fall short of the threshold.
    """
    import nacl.exceptions

    if not envelope.signatures:
        raise BadSignature("the envelope carries no signature")
    message = pae(envelope.payload_type, envelope.payload)
    verified: set[str] = set()
    known = False
    for signature in envelope.signatures:
        # the keyid only narrows which keys to try (DSSE); without one, try every key not yet counted
        names = [signature.keyid] if signature.keyid else [k for k in keys if k not in verified]
        for name in names:
            key = keys.get(name)
            if key is None:
                continue
            known = True
            if name in verified:
                break
            try:
                key.verify(message, signature.sig)
            except (nacl.exceptions.BadSignatureError, ValueError):
                continue
            verified.add(name)
            break
    if not known:
        ids = ", ".join(s.keyid[:16] or "(none)" for s in envelope.signatures)
        raise UnknownSigner(f"signed by no trusted key (signature key ids: {ids})")
    if len(verified) < threshold:
        raise BadSignature(
            f"signature does not verify ({len(verified)} of {threshold} required valid signatures)"
        )
    return verified
