"""Encrypted bundles: the plain bundle, streamed through libsodium's secretstream (XChaCha20-Poly1305).

Layout::

    CBM-ENCRYPTED/1
    <outer header: DSSE envelope signed by the sender, payload type application/vnd.cbm.bundle-encrypted.v1+json>
    <24-byte secretstream header> { <4-byte big-endian length> <ciphertext chunk> }*

The stream key is sealed (``crypto_box_seal``) to each recipient's X25519 key from its party card, and to the
sender's own. The outer header names sender, recipients and bundle number and signs the SHA-256 and size of
everything after it, so anyone holding the sender's card can check the signature and integrity without the
decryption key. The last chunk carries ``TAG_FINAL``: a stream cut anywhere fails to decrypt or lacks it.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

import nacl.bindings as sodium
import nacl.exceptions
import nacl.public

from cbm.bundle import signing
from cbm.bundle.format import MAX_MANIFEST_LINE, PARTY, SHA256, read_line
from cbm.bundle.streams import COPY_CHUNK, read_exact, spool, temporary
from cbm.core.canonical import canonical_bytes, loads
from cbm.core.dsse import b64, unb64
from cbm.core.errors import MalformedInput, OversizedInput, TamperedContent, WrongRecipient
from cbm.core.keys import KeyPair
from cbm.core.records import TrustedKey, TrustedKeyLookup

MAGIC = b"CBM-ENCRYPTED/1\n"
HEADER_TYPE = "application/vnd.cbm.bundle-encrypted.v1+json"
CIPHER = "xchacha20poly1305-secretstream"
CHUNK = 64 * 1024
_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_HEADERBYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE


@dataclass(frozen=True)
class EncryptedHeader:
    sender: str
    recipients: tuple[str, ...]
    number: int
    sealed: dict[str, bytes]  # hex of X25519 public key -> stream key sealed to it
    body_sha256: str
    body_size: int
    signed_by: str


def encrypt(plain: IO[bytes], out: Any, *, sender: str, recipients: list[tuple[str, bytes]], number: int,
            signers: list[KeyPair]) -> None:
    """Write the encrypted form of the plain bundle ``plain`` (a seekable file at its start) to ``out``.

    ``recipients``: (party, X25519 public key) for every party that may decrypt, the sender included.
    """
    key = sodium.crypto_secretstream_xchacha20poly1305_keygen()
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    with temporary("cbm-encrypt-") as cipher:
        hasher, size = hashlib.sha256(), 0

        def put(data: bytes) -> None:
            nonlocal size
            cipher.write(data)
            hasher.update(data)
            size += len(data)

        put(header)
        chunk = plain.read(CHUNK)
        while True:
            following = plain.read(CHUNK)
            tag = _TAG_MESSAGE if following else _TAG_FINAL
            sealed_chunk = sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk, None, tag)
            put(struct.pack(">I", len(sealed_chunk)) + sealed_chunk)
            if not following:
                break
            chunk = following
        keys = sorted({pub.hex(): b64(sodium.crypto_box_seal(key, pub)) for _, pub in recipients}.items())
        payload = canonical_bytes({
            "v": 1, "type": "cbm.bundle.encrypted", "cipher": CIPHER, "chunk": CHUNK,
            "sender": sender, "recipients": sorted({p for p, _ in recipients if p != sender}), "number": number,
            "keys": [{"enc_key": k, "sealed": s} for k, s in keys],
            "body": {"sha256": hasher.hexdigest(), "size": size},
        })
        out.write(MAGIC + signing.sign_header(HEADER_TYPE, payload, signers) + b"\n")
        cipher.seek(0)
        while data := cipher.read(COPY_CHUNK):
            out.write(data)


def _parse_header(payload: bytes, signed_by: str) -> EncryptedHeader:
    doc = loads(payload)
    fields = {"v", "type", "cipher", "chunk", "sender", "recipients", "number", "keys", "body"}
    if not isinstance(doc, dict) or doc.get("type") != "cbm.bundle.encrypted" or set(doc) != fields:
        raise MalformedInput("not a cbm encrypted bundle header")
    if doc["v"] != 1 or doc["cipher"] != CIPHER or doc["chunk"] != CHUNK:
        raise MalformedInput("unsupported encrypted bundle version or cipher", hint="upgrade cbm")
    try:
        sender, recipients, number, body = doc["sender"], doc["recipients"], doc["number"], doc["body"]
        if not PARTY.match(sender) or not all(PARTY.match(p) for p in recipients) or not recipients:
            raise MalformedInput("encrypted bundle header names invalid parties")
        if not isinstance(number, int) or number < 1 or not SHA256.match(body["sha256"]):
            raise MalformedInput("encrypted bundle header is malformed")
        size = body["size"]
        if not isinstance(size, int) or size < 0:
            raise MalformedInput("encrypted bundle header is malformed")
        sealed = {}
        for entry in doc["keys"]:
            sealed[str(entry["enc_key"])] = unb64(entry["sealed"], "sealed key")
    except (KeyError, TypeError) as e:
        raise MalformedInput("encrypted bundle header is malformed") from e
    return EncryptedHeader(sender, tuple(recipients), number, sealed, body["sha256"], size, signed_by)


def open_header(stream: BinaryIO, keys: TrustedKeyLookup,
                accept_signer: Callable[[TrustedKey], None] | None = None) -> tuple[EncryptedHeader, IO[bytes]]:
    """Verify the outer header and the ciphertext's hash (no decryption key needed).

    ``accept_signer`` sees the sender's key that signed the header before the ciphertext is read, and may raise
    to refuse it. Returns the header and the ciphertext spooled to a temporary file. Raises as
    :func:`signing.verify_header`, TamperedContent for altered or truncated ciphertext.
    """
    if read_exact(stream, len(MAGIC)) != MAGIC:
        raise MalformedInput("not an encrypted cbm bundle")
    line = read_line(stream, MAX_MANIFEST_LINE, "the encrypted bundle header")
    verified = signing.verify_header(line, HEADER_TYPE, keys, "the encrypted bundle header")
    header = _parse_header(verified.payload, verified.key.keyid)
    signing.check_sender(verified, header.sender, "the encrypted bundle header")
    if accept_signer is not None:
        accept_signer(verified.key)
    return header, spool(stream, header.body_size, header.body_sha256, "the encrypted bundle")


def decrypt(header: EncryptedHeader, cipher: IO[bytes], party: str, pairs: list[KeyPair]) -> Iterator[bytes]:
    """Plaintext chunks of an encrypted bundle for ``party``. WrongRecipient if none of ``pairs`` may open it."""
    if party not in header.recipients and party != header.sender:
        raise WrongRecipient(f"this bundle is encrypted for {', '.join(header.recipients)}, not for {party}")
    key = None
    for pair in pairs:
        sealed = header.sealed.get(pair.public_enc_key.hex())
        if sealed is not None:
            try:
                key = nacl.public.SealedBox(pair.encryption).decrypt(sealed)
            except nacl.exceptions.CryptoError as e:
                raise TamperedContent("the bundle's sealed key does not open with our key") from e
            break
    if key is None:
        raise WrongRecipient(f"this bundle names {party} but is not encrypted to any of {party}'s keys")
    return _pull(cipher, key)


def _pull(cipher: IO[bytes], key: bytes) -> Iterator[bytes]:
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    header = cipher.read(_HEADERBYTES)
    if len(header) != _HEADERBYTES:
        raise TamperedContent("the encrypted bundle is truncated")
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
    except (nacl.exceptions.CryptoError, ValueError) as e:
        raise TamperedContent("the encrypted bundle cannot be opened") from e
    while True:
        length = cipher.read(4)
        if len(length) != 4:
            raise TamperedContent("the encrypted bundle is truncated (no final chunk)")
        (n,) = struct.unpack(">I", length)
        if n > CHUNK + _ABYTES or n < _ABYTES:
            raise OversizedInput("an encrypted chunk has an impossible length")
        data = cipher.read(n)
        if len(data) != n:
            raise TamperedContent("the encrypted bundle is truncated")
        try:
            message, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, data, None)
        except (nacl.exceptions.CryptoError, ValueError, RuntimeError) as e:
            raise TamperedContent("an encrypted chunk does not authenticate: the bytes were altered") from e
        if message:
            yield message
        if tag == _TAG_FINAL:
            if cipher.read(1):
                raise TamperedContent("bytes follow the final encrypted chunk")
            return
