"""``cbm bundle verify``: the quick check (manifest signature, body hash, every record's hash and chain link,
every attachment's hash: hashing-bound) and the deep check (also every record's own signature, on all cores).
Needs no store: trusted keys may come from a keyring of party cards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

import nacl.bindings
import nacl.exceptions

from cbm.bundle.reader import EncryptedOnly, RecordItem, items, open_bundle
from cbm.core.dsse import pae
from cbm.core.errors import BadSignature, RevokedKey, UnknownSigner
from cbm.core.keys import KeyPair
from cbm.core.memory import cycle_collector_paused
from cbm.core.parallel import BackgroundVerifier
from cbm.core.records import TrustedKey, TrustedKeyLookup


@dataclass
class BundleVerification:
    ok: bool
    depth: str  # quick | deep
    sender: str
    recipients: list[str]
    number: int
    bundle: str | None  # id; None when encrypted and not opened
    signed_by: str
    layers: list[str]
    contents_checked: bool  # False: encrypted and we hold no key to open it (outer signature and hash checked)
    records: int = 0
    withheld: int = 0
    blobs: int = 0
    signatures_checked: int = 0
    previous: str | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)


def _key_for(item: RecordItem, keys: TrustedKeyLookup) -> tuple[TrustedKey, bytes]:
    """The trusted key valid for this record and the signature to check with it.

    Several signatures may name valid keys (a duplicate, or a bad copy beside a good one, as DSSE allows);
    the record verifies if any of them does, so with more than one candidate the good one is picked here
    (rare; the common single-signature case goes to the parallel batch unchecked).
    """
    record = item
    found: TrustedKey | None = None
    candidates: list[tuple[TrustedKey, bytes]] = []
    for signature in item.signatures():
        key = keys.trusted_key(signature.keyid)
        if key is None or key.party != record.author:
            continue
        found = key
        in_range = record.seq >= key.first_seq and (key.last_seq is None or record.seq <= key.last_seq)
        if in_range and not (key.status == "revoked" and key.last_seq is None):
            candidates.append((key, signature.sig))
    if len(candidates) > 1:
        message = pae(item.payload_type, item.payload)
        for key, sig in candidates:
            try:
                nacl.bindings.crypto_sign_open(sig + message, key.verify_key)
                return key, sig
            except (nacl.exceptions.BadSignatureError, ValueError):
                continue
    if candidates:
        return candidates[0]
    if found is not None:
        raise RevokedKey(f"{record.author} record {record.seq} is signed by key {found.keyid}, not valid for "
                         f"that seq ({found.status})")
    raise UnknownSigner(f"{record.author} record {record.seq} is signed by no trusted key of {record.author}",
                        hint=f"add {record.author}'s party card to the keyring")


@cycle_collector_paused()
def verify_bundle(source: BinaryIO, keys: TrustedKeyLookup, *, deep: bool = False, party: str | None = None,
                  decrypt_with: Callable[[], list[KeyPair]] | None = None,
                  on_item: Callable[[RecordItem], None] | None = None) -> BundleVerification:
    """Check a bundle; return what was checked. Raises the refusal's error class on the first fault."""
    try:
        opened = open_bundle(source, keys, party=party, decrypt_with=decrypt_with)
    except EncryptedOnly as e:
        h = e.header
        return BundleVerification(True, "quick", h.sender, list(h.recipients), h.number, None, h.signed_by,
                                  e.layers, contents_checked=False)
    with opened:
        m = opened.manifest
        result = BundleVerification(False, "deep" if deep else "quick", m.sender, list(m.recipients), m.number,
                                    opened.bundle_id, opened.signed_by, opened.layers, True,
                                    previous=m.previous, logs=[log.doc() for log in m.logs])
        with BackgroundVerifier() as verifier:
            for item in items(opened, strict=deep):
                if isinstance(item, RecordItem):
                    result.records += 1
                    if on_item is not None:
                        on_item(item)
                    if deep:
                        key, sig = _key_for(item, keys)
                        verifier.add((item.payload_type, item.payload, sig, key.verify_key), (item.author, item.seq))
                else:
                    result.withheld += item.last_seq - item.first_seq + 1
            bad = verifier.finish()
            result.signatures_checked = verifier.checked
        if bad:
            author, seq = cast(tuple[str, int], bad[0])
            raise BadSignature(f"{author} record {seq} has a signature that does not verify"
                               + (f" ({len(bad)} records in all)" if len(bad) > 1 else ""))
        result.blobs = len(m.blobs)
        result.ok = True
        return result
