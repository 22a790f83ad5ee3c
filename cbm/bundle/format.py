"""The bundle format, version 1 (docs/adr/0010-bundle-format.md).

A plain bundle is ASCII text, one item per line::

    CBM-BUNDLE/1
    <manifest: a DSSE envelope, signed by the sender>
    <record: a record's DSSE envelope, exactly as its author signed it>         (author, seq) order
    {"withheld":{"author":"US","first":4,"hash":"…","last":6}}                 where the recipient may not see
    {"blob":{"sha256":"…","size":N}}                                          after all records, per blob
    <base64 of up to BLOB_CHUNK bytes of that blob>                             ceil(N / BLOB_CHUNK) lines

The manifest names the format version, sender, recipients, bundle number and the previous bundle's hash, every
log range carried (author, first, last seq, hash of the last item, counts), the blobs, and the SHA-256 and size
of everything after the manifest line (the *body*), and the body's encoding: ``identity`` (the lines above) or
``gzip`` (those lines gzip-compressed, mtime 0). The hash is over the body bytes as carried, so every byte of a
compressed body is covered by the signature too. The body hash binds every record, withheld range and blob
byte to the signature; the per-log last hash, with the chain links, binds each log to it as well.

Layers around it, outermost first, each recognised by its first bytes: armor (text), encryption.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from cbm.bundle.streams import LineReader
from cbm.core.canonical import canonical_bytes, loads
from cbm.core.errors import MalformedInput, OversizedInput, TamperedContent

MAGIC = b"CBM-BUNDLE/1\n"
MANIFEST_TYPE = "application/vnd.cbm.bundle-manifest.v1+json"
FORMAT_VERSION = 1

BLOB_CHUNK = 48 * 1024  # raw bytes per blob line (64 KiB of base64)
MAX_MANIFEST_LINE = 4 * 1024 * 1024
MAX_RECORD_LINE = 16 * 1024 * 1024 + 2  # dsse.MAX_ENVELOPE_BYTES and its newline
MAX_ITEM_LINE = MAX_RECORD_LINE
MAX_RECORDS = 20_000_000
MAX_WITHHELD = 20_000_000
MAX_LOGS = 10_000
MAX_BLOBS = 100_000
MAX_BLOB_BYTES = 4 * 1024 * 1024 * 1024
MAX_BODY_BYTES = 256 * 1024 * 1024 * 1024

ENCODINGS = ("identity", "gzip")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
PARTY = re.compile(r"^[A-Z][A-Z0-9-]{1,15}$")


@dataclass(frozen=True)
class LogRange:
    """One author's part of a bundle: positions ``first``..``last``, complete, records or withheld."""

    author: str
    first: int
    last: int
    last_hash: str
    records: int
    withheld: int

    def doc(self) -> dict[str, Any]:
        return {"author": self.author, "first": self.first, "last": self.last, "last_hash": self.last_hash,
                "records": self.records, "withheld": self.withheld}


@dataclass(frozen=True)
class BlobEntry:
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    sender: str
    recipients: tuple[str, ...]
    number: int
    previous: str | None
    logs: tuple[LogRange, ...]
    blobs: tuple[BlobEntry, ...]
    body_sha256: str
    body_size: int
    encoding: str = "identity"  # identity | gzip: how the body bytes (as hashed) encode the item lines

    @property
    def records(self) -> int:
        return sum(log.records for log in self.logs)

    @property
    def withheld(self) -> int:
        return sum(log.withheld for log in self.logs)

    def payload(self) -> bytes:
        """Canonical payload bytes (what the sender signs; its SHA-256 is the bundle's id)."""
        return canonical_bytes({
            "v": FORMAT_VERSION,
            "type": "cbm.bundle",
            "sender": self.sender,
            "recipients": list(self.recipients),
            "number": self.number,
            "previous": self.previous,
            "logs": [log.doc() for log in self.logs],
            "blobs": [{"sha256": b.sha256, "size": b.size} for b in self.blobs],
            "body": {"encoding": self.encoding, "sha256": self.body_sha256, "size": self.body_size},
        })


def _int(doc: dict[str, Any], key: str, low: int, high: int, what: str) -> int:
    value = doc.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise MalformedInput(f"bundle manifest: {what} {key!r} must be an integer in {low}..{high}")
    return value


def _hash(value: Any, what: str) -> str:
    if not isinstance(value, str) or not SHA256.match(value):
        raise MalformedInput(f"bundle manifest: {what} is not a SHA-256 hex digest")
    return value


def _party(value: Any, what: str) -> str:
    if not isinstance(value, str) or not PARTY.match(value):
        raise MalformedInput(f"bundle manifest: {what} is not a party code")
    return value


def parse_manifest(payload: bytes) -> Manifest:
    """Parse verified manifest payload bytes. Raises MalformedInput / OversizedInput."""
    doc = loads(payload)
    if not isinstance(doc, dict) or doc.get("type") != "cbm.bundle":
        raise MalformedInput("not a cbm bundle manifest")
    if doc.get("v") != FORMAT_VERSION:
        raise MalformedInput(f"bundle format version {doc.get('v')!r} is not supported (this cbm reads 1)",
                             hint="upgrade cbm")
    expected = {"v", "type", "sender", "recipients", "number", "previous", "logs", "blobs", "body"}
    if set(doc) != expected:
        raise MalformedInput("bundle manifest has missing or unexpected fields")
    sender = _party(doc["sender"], "sender")
    recipients = doc["recipients"]
    if not isinstance(recipients, list) or not recipients or len(recipients) > MAX_LOGS:
        raise MalformedInput("bundle manifest: recipients must be a non-empty list")
    recipients = tuple(_party(p, "recipient") for p in recipients)
    number = _int(doc, "number", 1, 2**53 - 1, "bundle")
    previous = None if doc["previous"] is None else _hash(doc["previous"], "previous bundle")
    logs_doc, blobs_doc, body = doc["logs"], doc["blobs"], doc["body"]
    if not isinstance(logs_doc, list) or not isinstance(blobs_doc, list) or not isinstance(body, dict):
        raise MalformedInput("bundle manifest: logs, blobs and body have the wrong types")
    if len(logs_doc) > MAX_LOGS:
        raise OversizedInput(f"bundle carries {len(logs_doc)} logs; the limit is {MAX_LOGS}")
    if len(blobs_doc) > MAX_BLOBS:
        raise OversizedInput(f"bundle carries {len(blobs_doc)} attachments; the limit is {MAX_BLOBS}")
    logs = []
    for item in logs_doc:
        if not isinstance(item, dict) or set(item) != {"author", "first", "last", "last_hash", "records",
                                                        "withheld"}:
            raise MalformedInput("bundle manifest: a log entry is malformed")
        first = _int(item, "first", 1, 2**53 - 1, "log")
        last = _int(item, "last", first, 2**53 - 1, "log")
        records = _int(item, "records", 0, 2**53 - 1, "log")
        if records > MAX_RECORDS:
            raise OversizedInput(f"bundle carries more than {MAX_RECORDS} records in one log")
        withheld = _int(item, "withheld", 0, last - first + 1, "log")
        if records + withheld != last - first + 1:
            raise MalformedInput("bundle manifest: a log's counts do not add up to its range")
        logs.append(LogRange(_party(item["author"], "log author"), first, last,
                             _hash(item["last_hash"], "log last_hash"), records, withheld))
    if [log.author for log in logs] != sorted({log.author for log in logs}):
        raise MalformedInput("bundle manifest: logs must be sorted by author, one entry each")
    if sum(log.records for log in logs) > MAX_RECORDS:
        raise OversizedInput(f"bundle carries more than {MAX_RECORDS} records")
    blobs = []
    for item in blobs_doc:
        if not isinstance(item, dict) or set(item) != {"sha256", "size"}:
            raise MalformedInput("bundle manifest: a blob entry is malformed")
        blobs.append(BlobEntry(_hash(item["sha256"], "blob"), _int(item, "size", 0, MAX_BLOB_BYTES, "blob")))
    if len({b.sha256 for b in blobs}) != len(blobs):
        raise MalformedInput("bundle manifest: an attachment is listed twice")
    if set(body) != {"encoding", "sha256", "size"} or body["encoding"] not in ENCODINGS:
        raise MalformedInput("bundle manifest: body entry is malformed or uses an unknown encoding")
    return Manifest(sender, recipients, number, previous, tuple(logs), tuple(blobs),
                    _hash(body["sha256"], "body"), _int(body, "size", 0, MAX_BODY_BYTES, "body"), body["encoding"])


def blobs_listed(payload: bytes) -> list[str]:
    """The attachments (SHA-256 digests) a record payload lists in ``body["blobs"]``; parsed only when the
    payload mentions any. A malformed list lists nothing (the record's own schema check names it)."""
    if b'"blobs"' not in payload:
        return []
    try:
        body = loads(payload).get("body")
    except (MalformedInput, AttributeError):
        return []
    return blobs_in_body(body)


def blobs_in_body(body: Any) -> list[str]:
    """:func:`blobs_listed` of a payload already parsed: the digests in ``body["blobs"]``, if a list."""
    listed = body.get("blobs") if isinstance(body, dict) else None
    return [d for d in listed if isinstance(d, str)] if isinstance(listed, list) else []


def withheld_line(author: str, first: int, last: int, last_hash: str) -> bytes:
    return canonical_bytes({"withheld": {"author": author, "first": first, "hash": last_hash, "last": last}})


def blob_line(entry: BlobEntry) -> bytes:
    return canonical_bytes({"blob": {"sha256": entry.sha256, "size": entry.size}})


class LineSource(Protocol):
    """What :func:`read_line` reads from: a binary file object, or the reader's ``streams.LineReader``."""

    def readline(self, size: int = -1, /) -> bytes: ...


def read_line(stream: LineSource, limit: int, what: str) -> bytes:
    """One ``\\n``-terminated line (without it), of at most ``limit`` bytes before the newline.

    OversizedInput past ``limit``; TamperedContent if the stream ends before the newline.
    """
    if isinstance(stream, LineReader):
        line, ended = stream.readline_split(limit + 2)
    else:
        line = stream.readline(limit + 2)
        ended = line.endswith(b"\n")
        line = line[:-1] if ended else line
    if len(line) > limit:
        raise OversizedInput(f"{what} is longer than the {limit}-byte limit")
    if not ended:
        raise TamperedContent(f"the bundle ends in the middle of {what} (truncated)")
    return line


def parse_withheld(doc: Any) -> tuple[str, int, int, str]:
    """(author, first, last, last hash) from a withheld line's parsed JSON. Raises MalformedInput."""
    item = doc.get("withheld") if isinstance(doc, dict) and set(doc) == {"withheld"} else None
    if not isinstance(item, dict) or set(item) != {"author", "first", "hash", "last"}:
        raise MalformedInput("a withheld line is malformed")
    first = _int(item, "first", 1, 2**53 - 1, "withheld")
    last = _int(item, "last", first, 2**53 - 1, "withheld")
    return _party(item["author"], "withheld author"), first, last, _hash(item["hash"], "withheld hash")
