"""Signing and verifying bundle headers (the manifest, and the outer header of an encrypted bundle).

A header is a DSSE envelope with its own payload type. It is signed with the sender's active key and, while
the recipient may not yet know about a key rotation, also with the key it rotated out, so the rotation record
travelling inside the bundle can reach the recipient (docs/adr/0010-bundle-format.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from cbm.core import dsse
from cbm.core.errors import MalformedInput, RevokedKey, UnknownSigner
from cbm.core.keys import KeyPair
from cbm.core.records import TrustedKey, TrustedKeyLookup, verify_trusted


def sign_header(payload_type: str, payload: bytes, pairs: list[KeyPair]) -> bytes:
    """Envelope bytes (one line) of ``payload`` signed by every pair, in the given order."""
    return dsse.sign(payload_type, payload, [(p.keyid, p.signing) for p in pairs]).to_json_bytes()


@dataclass(frozen=True)
class VerifiedHeader:
    payload: bytes
    key: TrustedKey  # the trusted key of the sender that signed it


def verify_header(line: bytes, payload_type: str, keys: TrustedKeyLookup, what: str) -> VerifiedHeader:
    """Check a header's signature, then its payload type. The caller checks the claimed sender.

    Raises MalformedInput (4) for an unparsable envelope or wrong type, UnknownSigner (3) when no signature is
    by a trusted key, BadSignature (1) when none of the trusted keys' signatures verifies, RevokedKey (3) when
    the only valid signatures are by revoked or rotated-out keys.
    """
    envelope = dsse.parse(line)
    candidates, signed_by = verify_trusted(envelope, keys, what,
                                           hint="import and confirm the sender's party card with `cbm keys import`")
    if envelope.payload_type != payload_type:
        raise MalformedInput(f"{what} has payload type {envelope.payload_type!r}, expected {payload_type!r}")
    valid = [candidates[k] for k in sorted(signed_by)]
    active = [k for k in valid if k.status == "active"]
    if not active:
        key = valid[0]
        state = "revoked" if key.status == "revoked" else "rotated out"
        raise RevokedKey(f"{what} is signed by {key.party}'s key {key.keyid}, which was {state}"
                         + (f" ({key.reason})" if key.reason else ""),
                         hint=f"ask {key.party} for a bundle signed with its current key")
    return VerifiedHeader(envelope.payload, active[0])


def check_sender(header: VerifiedHeader, sender: str, what: str) -> None:
    """The claimed sender must own the key that signed."""
    if header.key.party != sender:
        raise UnknownSigner(f"{what} claims sender {sender} but is signed by a key of {header.key.party}")
