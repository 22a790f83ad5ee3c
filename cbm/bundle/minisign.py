"""Detached signatures and public keys in minisign's own formats, so the standard tool checks our bundles.

Signature file (https://jedisct1.github.io/minisign/, prehashed ``ED`` algorithm)::

    untrusted comment: <text>
    base64("ED" || key id (8 bytes) || Ed25519(BLAKE2b-512(file)))
    trusted comment: <text>
    base64(Ed25519(signature || trusted comment))

Public key file::

    untrusted comment: minisign public key <KEY ID>
    base64("Ed" || key id (8 bytes) || Ed25519 public key)

The key id is our 8-byte cbm keyid, stored in the byte order of our hex keyid; minisign prints the 8 bytes as a
little-endian integer, so the hex it shows is our keyid with its bytes reversed.
"""

from __future__ import annotations

import base64

from cbm.core.keys import KeyPair


def display_keyid(keyid: str) -> str:
    """The key id as minisign prints it (little-endian 64-bit integer, upper-case hex)."""
    return bytes.fromhex(keyid)[::-1].hex().upper()


def public_key_file(verify_key: bytes, keyid: str, party: str) -> bytes:
    blob = b"Ed" + bytes.fromhex(keyid) + verify_key
    return (f"untrusted comment: minisign public key {display_keyid(keyid)} (cbm party {party})\n".encode()
            + base64.b64encode(blob) + b"\n")


def signature_file(blake2b_512: bytes, pair: KeyPair, trusted_comment: str) -> bytes:
    """A ``.minisig`` for a file whose BLAKE2b-512 digest is ``blake2b_512``."""
    if "\n" in trusted_comment or "\r" in trusted_comment:
        raise ValueError("a trusted comment is one line")
    signature = pair.signing.sign(blake2b_512).signature
    comment = trusted_comment.encode("utf-8")
    global_signature = pair.signing.sign(signature + comment).signature
    return (f"untrusted comment: signature from cbm key {display_keyid(pair.keyid)}\n".encode()
            + base64.b64encode(b"ED" + bytes.fromhex(pair.keyid) + signature) + b"\n"
            + b"trusted comment: " + comment + b"\n"
            + base64.b64encode(global_signature) + b"\n")
