"""Sealed bodies: end-to-end encryption of a record's content to named parties.

A fresh 32-byte content key encrypts the plaintext with XChaCha20-Poly1305; the associated data binds the
sender, the sorted recipient list and a caller-chosen context (e.g. the record kind), so a sealed body cannot
be replayed under another sender, audience or purpose. The content key is wrapped for each recipient -- the
sender included, so it can read its own messages -- with NaCl Box (X25519 sender-static to recipient-static
+ XSalsa20-Poly1305), which authenticates the sender's encryption key.

    {"alg": "x25519-box+xchacha20poly1305", "sender": "US", "to": ["RU", "US"],
     "keys": {"RU": "<b64 wrapped key>", "US": "..."}, "nonce": "<b64>", "ct": "<b64>"}
"""

from __future__ import annotations

from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.public
import nacl.utils

from cbm.core.canonical import canonical_bytes
from cbm.core.dsse import b64, unb64
from cbm.core.errors import BadSignature, MalformedInput, NotFound

ALG = "x25519-box+xchacha20poly1305"


def _aad(sender: str, to: list[str], context: str) -> bytes:
    return canonical_bytes({"alg": ALG, "context": context, "sender": sender, "to": to})


def seal(plaintext: bytes, *, sender: str, sender_key: nacl.public.PrivateKey,
         recipients: dict[str, bytes], context: str) -> dict[str, Any]:
    """Encrypt ``plaintext`` to ``recipients`` (party -> X25519 public key; include the sender to keep a copy)."""
    to = sorted(recipients)
    content_key = nacl.utils.random(32)
    nonce = nacl.utils.random(nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    ct = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext, _aad(sender, to, context), nonce, content_key)
    keys = {party: b64(bytes(nacl.public.Box(sender_key, nacl.public.PublicKey(pub)).encrypt(content_key)))
            for party, pub in recipients.items()}
    return {"alg": ALG, "sender": sender, "to": to, "keys": keys, "nonce": b64(nonce), "ct": b64(ct)}


def open_sealed(doc: dict[str, Any], *, reader: str, reader_key: nacl.public.PrivateKey | list[nacl.public.PrivateKey],
                sender_public: bytes | list[bytes], context: str) -> bytes:
    """Decrypt a sealed body as ``reader``. Tries every key given (keys survive rotation).

    Raises NotFound if it was not sealed for ``reader``, BadSignature if it does not authenticate
    (tampered, wrong sender, wrong context), MalformedInput if it is not a sealed body.
    """
    try:
        if doc["alg"] != ALG:
            raise MalformedInput(f"unknown sealing algorithm {doc['alg']!r}")
        wrapped = doc["keys"].get(reader)
        sender, to = doc["sender"], list(doc["to"])
        nonce, ct = unb64(doc["nonce"], "nonce"), unb64(doc["ct"], "ciphertext")
    except (KeyError, TypeError, AttributeError) as e:
        raise MalformedInput("not a sealed body") from e
    if wrapped is None:
        raise NotFound(f"this message was not encrypted for {reader}")
    if sorted(to) != to or sorted(doc["keys"]) != to:
        raise MalformedInput("sealed body recipient list is inconsistent")
    readers = reader_key if isinstance(reader_key, list) else [reader_key]
    senders = sender_public if isinstance(sender_public, list) else [sender_public]
    for mine in readers:
        for theirs in senders:
            try:
                content_key = nacl.public.Box(mine, nacl.public.PublicKey(theirs)).decrypt(
                    unb64(wrapped, "wrapped key"))
                return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                    ct, _aad(sender, to, context), nonce, content_key)
            except nacl.exceptions.CryptoError:
                continue
    raise BadSignature("the sealed body does not authenticate (tampered, or not from its claimed sender)")
