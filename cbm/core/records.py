"""Records: the immutable, signed, hash-chained unit of everything cbm stores and exchanges.

A record is a DSSE envelope whose payload is canonical JSON::

    {"author": "US", "body": {...}, "created": "2026-11-23T05:13:00Z", "kind": "inquiry.open",
     "prev": "<sha256 hex of the author's previous payload>" | null, "seq": 1, "tlp": "AMBER",
     "to": ["RU"], "v": 1}

Its id is the SHA-256 of the payload bytes. ``payloadType`` is ``application/vnd.cbm.<measure>.v1+json`` where
``<measure>`` is the first dotted part of ``kind``. Verification order: signature, then payload type, then
parse (DSSE's rule), then the semantic checks (author owns the key, key valid for this seq).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cbm.core import dsse
from cbm.core.canonical import canonical_bytes, loads
from cbm.core.errors import BadSignature, MalformedInput, RevokedKey, UnknownSigner
from cbm.core.fields import is_iso_time
from cbm.core.keys import KeyPair
from cbm.core.tlp import ALL_PEERS, TLP_LABELS
from cbm.core.trusted_keys import TrustedKey  # noqa: F401  (re-exported: cbm.core.records.TrustedKey)

# "desk": the watch desk's local notes (desk.handover, addressed to ourselves only; docs/adr/0148)
MEASURES = ("keys", "bundle", "indicators", "inquiry", "hotline", "whitepaper", "workgroup", "desk")
KIND = re.compile(r"^[a-z]+(\.[a-z_]+)+$")
MAX_PAYLOAD_BYTES = 8 * 1024 * 1024


def payload_type_for(kind: str) -> str:
    return f"application/vnd.cbm.{kind.split('.', 1)[0]}.v1+json"


def record_hash(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


@dataclass(frozen=True)
class Record:
    """A verified record. ``envelope`` holds the bytes exactly as signed and stored."""

    envelope: bytes
    payload: bytes
    hash: str
    author: str
    seq: int
    prev: str | None
    created: str
    kind: str
    to: tuple[str, ...]
    tlp: str
    body: dict[str, Any] = field(compare=False)
    keyid: str = ""

    @property
    def measure(self) -> str:
        return self.kind.split(".", 1)[0]

    @property
    def ref(self) -> str | None:
        """The record another record of its measure answers or amends (``body["ref"]``), when it names one: the
        one body field every measure shares, so generic listings (``bundle inspect``) can show the thread."""
        value = self.body.get("ref")
        return value if isinstance(value, str) else None

    @property
    def short(self) -> str:
        return self.hash[:12]


class TrustedKeyLookup(Protocol):
    """What verification needs to know about a signing key: whose it is and for which seqs it signs."""

    def trusted_key(self, keyid: str) -> TrustedKey | None: ...


def build_payload(*, author: str, seq: int, prev: str | None, created: str, kind: str,
                  to: tuple[str, ...] | list[str], tlp: str, body: Mapping[str, Any]) -> bytes:
    """Canonical payload bytes for a new record (validates every field; raises MalformedInput)."""
    check_header(author, seq, prev, created, kind, list(to), tlp)
    return canonical_bytes({
        "author": author, "body": dict(body), "created": created, "kind": kind, "prev": prev,
        "seq": seq, "tlp": tlp, "to": list(to), "v": 1,
    })


def sign_record(payload: bytes, kind: str, pair: KeyPair) -> bytes:
    """Envelope bytes for ``payload`` signed by ``pair``."""
    return dsse.sign(payload_type_for(kind), payload, [(pair.keyid, pair.signing)]).to_json_bytes()


def check_header(author: str, seq: Any, prev: Any, created: Any, kind: Any, to: Any, tlp: Any) -> None:
    if not isinstance(author, str) or not re.fullmatch(r"[A-Z][A-Z0-9-]{1,15}", author):
        raise MalformedInput(f"record author {author!r} is not a party code")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise MalformedInput("record seq must be a positive integer")
    if seq == 1 and prev is not None:
        raise MalformedInput("the first record of a log has no prev")
    if seq > 1 and (not isinstance(prev, str) or not re.fullmatch(r"[0-9a-f]{64}", prev)):
        raise MalformedInput("record prev must be a SHA-256 hex digest")
    if not is_iso_time(created):
        raise MalformedInput("record created must be an ISO 8601 UTC time like 2026-11-23T05:13:00Z")
    if not isinstance(kind, str) or not KIND.fullmatch(kind) or kind.split(".")[0] not in MEASURES:
        raise MalformedInput(f"unknown record kind {kind!r}")
    if not isinstance(to, list) or not to or not all(isinstance(p, str) for p in to):
        raise MalformedInput("record audience 'to' must be a non-empty list of party codes or '*'")
    if any(p != ALL_PEERS and not re.fullmatch(r"[A-Z][A-Z0-9-]{1,15}", p) for p in to):
        raise MalformedInput("record audience names an invalid party code")
    if tlp not in TLP_LABELS:
        raise MalformedInput(f"record TLP {tlp!r} is not a TLP 2.0 label")


def parse_verified_payload(envelope: bytes, payload: bytes, keyid: str, *, digest: str | None = None) -> Record:
    """Build a Record from payload bytes whose signature has already been checked (``digest``: their SHA-256,
    when the caller has computed it already)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MalformedInput("record payload exceeds the size limit")
    doc = loads(payload)
    if not isinstance(doc, dict) or doc.get("v") != 1:
        raise MalformedInput("record payload is not a cbm v1 record")
    expected = {"author", "body", "created", "kind", "prev", "seq", "tlp", "to", "v"}
    if set(doc) != expected:
        raise MalformedInput("record payload has missing or unexpected fields")
    check_header(doc["author"], doc["seq"], doc["prev"], doc["created"], doc["kind"], doc["to"], doc["tlp"])
    if not isinstance(doc["body"], dict):
        raise MalformedInput("record body must be a JSON object")
    return Record(envelope=envelope, payload=payload, hash=digest or record_hash(payload), author=doc["author"],
                  seq=doc["seq"], prev=doc["prev"], created=doc["created"], kind=doc["kind"],
                  to=tuple(doc["to"]), tlp=doc["tlp"], body=doc["body"], keyid=keyid)


def verify_trusted(envelope: dsse.Envelope, keys: TrustedKeyLookup, what: str,
                   hint: str) -> tuple[dict[str, TrustedKey], set[str]]:
    """Check ``envelope``'s signatures against the trusted keys they name.

    Returns (the trusted keys named, by key id; the key ids whose signature verified). Raises BadSignature (1)
    for an unsigned envelope or when no trusted key's signature verifies, UnknownSigner (3) when no signature
    names a trusted key. Whether a verified key may sign this content (party, seq range) is the caller's check.
    """
    if not envelope.signatures:
        raise BadSignature(f"{what} is not signed (it carries no signature)")
    candidates: dict[str, TrustedKey] = {}
    for signature in envelope.signatures:
        key = keys.trusted_key(signature.keyid)
        if key is not None:
            candidates[signature.keyid] = key
    if not candidates:
        names = ", ".join(s.keyid[:16] for s in envelope.signatures)
        raise UnknownSigner(f"{what} is signed by no trusted key (key ids: {names})", hint=hint)
    import nacl.signing  # here, not at the top: reading commands load records without verifying them

    signed_by = dsse.verify(envelope, {k: nacl.signing.VerifyKey(v.verify_key) for k, v in candidates.items()})
    return candidates, signed_by


def verify_record(envelope_bytes: bytes, keys: TrustedKeyLookup, *, parsed: dsse.Envelope | None = None,
                  digest: str | None = None) -> Record:
    """Verify an envelope against trusted keys and return the record.

    ``parsed`` (``envelope_bytes`` already parsed, e.g. by a bundle reader) and ``digest`` (the SHA-256 of its
    payload) spare decoding and hashing a large record twice; they must come from ``envelope_bytes``.
    Raises UnknownSigner / RevokedKey (exit 3), BadSignature (1), MalformedInput (4).
    """
    envelope = parsed if parsed is not None else dsse.parse(envelope_bytes)
    candidates, signed_by = verify_trusted(envelope, keys, "record",
                                           hint="import and confirm the author's party card with `cbm keys import`")
    keyid = sorted(signed_by)[0]
    key = candidates[keyid]
    if not envelope.payload_type.startswith("application/vnd.cbm.") or \
            envelope.payload_type.split(".")[2] not in MEASURES:
        raise MalformedInput(f"unexpected payload type {envelope.payload_type!r}")
    record = parse_verified_payload(envelope_bytes, envelope.payload, keyid, digest=digest)
    if payload_type_for(record.kind) != envelope.payload_type:
        raise MalformedInput(f"payload type {envelope.payload_type!r} does not match kind {record.kind!r}")
    if record.author != key.party:
        raise UnknownSigner(f"record claims author {record.author} but is signed by a key of {key.party}")
    if record.seq < key.first_seq:
        raise RevokedKey(f"{record.author} record {record.seq} is signed by a key valid from seq {key.first_seq}")
    if key.last_seq is not None and record.seq > key.last_seq:
        what = "revoked" if key.status == "revoked" else "rotated out"
        raise RevokedKey(f"{record.author} record {record.seq} is signed by key {keyid} which was {what} "
                         f"after seq {key.last_seq}" + (f" ({key.reason})" if key.reason else ""))
    if key.status == "revoked" and key.last_seq is None:
        raise RevokedKey(f"{record.author} key {keyid} is revoked" + (f": {key.reason}" if key.reason else ""))
    return record
