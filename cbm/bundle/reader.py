"""Open a bundle from any stream: unwrap its layers, verify the signed manifest and the body hash, then
iterate its items with every structural check (the *quick* check), in constant memory.

Order (DSSE's rule, STYLE.md "verify, then parse"): the manifest's signature is checked before the manifest
is parsed; the body's SHA-256 and size are checked against the signed manifest before any item is parsed.
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from typing import IO, BinaryIO

from cbm.bundle import armor, encryption, signing
from cbm.bundle.format import (
    BLOB_CHUNK,
    MAGIC,
    MANIFEST_TYPE,
    MAX_ITEM_LINE,
    MAX_MANIFEST_LINE,
    BlobEntry,
    LogRange,
    Manifest,
    blobs_in_body,
    blobs_listed,
    parse_manifest,
    parse_withheld,
    read_line,
)
from cbm.bundle.streams import LineReader, check_in_place, chunks_of, read_exact, seekable, spool, stream_of
from cbm.core import base64_strict, dsse
from cbm.core.canonical import loads
from cbm.core.errors import CbmError, ChainBroken, MalformedInput, TamperedContent
from cbm.core.keys import KeyPair
from cbm.core.records import (
    MAX_PAYLOAD_BYTES,
    MEASURES,
    Record,
    TrustedKey,
    TrustedKeyLookup,
    parse_verified_payload,
    payload_type_for,
)
from cbm.store.ingest import WithheldRange

_HEAD = 32
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Opened:
    """A bundle whose manifest signature and body hash have been checked; items not yet read."""

    manifest: Manifest
    bundle_id: str  # SHA-256 of the manifest payload
    signed_by: str  # keyid of the sender's key that signed
    layers: list[str]
    body: IO[bytes] | None  # None when encrypted and we cannot decrypt
    encrypted: encryption.EncryptedHeader | None = None
    _open: list[IO[bytes]] = field(default_factory=list)
    _stored: IO[bytes] | None = None  # the verified body as stored (compressed or not): the file, or its spool
    _stored_start: int = 0

    def body_read(self) -> int:
        """Bytes of the stored body (``manifest.body_size`` in all) read so far: progress through the items."""
        if self._stored is None:
            return 0
        try:
            return max(0, self._stored.tell() - self._stored_start)
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        for f in self._open:
            f.close()

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EncryptedOnly(Exception):
    """Raised internally: the outer layer verified, but we hold no key to look inside."""

    def __init__(self, header: encryption.EncryptedHeader, layers: list[str]) -> None:
        super().__init__("encrypted")
        self.header = header
        self.layers = layers


def _peek(stream: BinaryIO) -> tuple[bytes, BinaryIO]:
    if seekable(stream):
        start = stream.tell()
        head = read_exact(stream, _HEAD)
        stream.seek(start)
        return head, stream
    head = read_exact(stream, _HEAD)
    return head, stream_of(chain([head], chunks_of(stream)))


def _gunzip(stream: BinaryIO) -> Iterator[bytes]:
    with gzip.GzipFile(fileobj=stream, mode="rb") as inflated:
        while True:
            try:
                chunk = inflated.read(1024 * 1024)
            except EOFError as e:
                raise TamperedContent("the compressed bundle is truncated") from e
            except (OSError, zlib.error) as e:
                raise TamperedContent(f"the compressed bundle is damaged: {e}") from e
            if not chunk:
                return
            yield chunk


def open_bundle(source: BinaryIO, keys: TrustedKeyLookup, *, party: str | None = None,
                decrypt_with: Callable[[], list[KeyPair]] | None = None,
                check: Callable[[Manifest], None] | None = None,
                accept_signer: Callable[[str, TrustedKey], None] | None = None) -> Opened:
    """Unwrap layers (armor, encryption), verify the manifest signature and the body hash (gzip inside it).

    For an encrypted bundle, ``party`` and ``decrypt_with`` (our key pairs) open it; without them, or when the
    bundle is not encrypted to ``party``, :class:`EncryptedOnly` carries the verified outer header. ``check`` sees the
    verified manifest before the body is read (to refuse a bundle meant for someone else without reading it).
    ``accept_signer`` sees each verified header's signing key, ``("encrypted", key)`` for the outer header of an
    encrypted bundle and ``("manifest", key)``, before anything it signs is read; it may raise to refuse the key.
    Raises the error classes of the bundle refusals (see docs/readme/bundle.md, "Exit codes").
    """
    layers: list[str] = []
    held: list[IO[bytes]] = []
    stream = source
    encrypted_header: encryption.EncryptedHeader | None = None
    try:
        while True:
            head, stream = _peek(stream)
            if head.startswith(armor.BEGIN) and not layers:
                layers.append("armor")
                stream = stream_of(armor.dearmor(stream))
            elif head.startswith(encryption.MAGIC) and "encrypted" not in layers:
                layers.append("encrypted")
                outer = None if accept_signer is None else partial(accept_signer, "encrypted")
                header, cipher = encryption.open_header(stream, keys, outer)
                held.append(cipher)
                if party is None or decrypt_with is None or (party not in header.recipients
                                                              and party != header.sender):
                    raise EncryptedOnly(header, layers)
                stream = stream_of(encryption.decrypt(header, cipher, party, decrypt_with()))
                encrypted_header = header
            elif head.startswith(MAGIC):
                break
            elif not head and not layers:  # the README's table: not a bundle, like a file of whitespace
                raise MalformedInput("the bundle file is empty: not a cbm bundle",
                                     hint="a bundle starts with CBM-BUNDLE/1, CBM-ENCRYPTED/1 or an armor line")
            elif not head:
                raise TamperedContent("the bundle is empty inside its armor or encryption (truncated)")
            else:
                raise MalformedInput("not a cbm bundle (unrecognised first bytes)" + (
                    "; it looks gzip-compressed: decompress it first" if head.startswith(GZIP_MAGIC) else ""),
                                     hint="a bundle starts with CBM-BUNDLE/1, CBM-ENCRYPTED/1 or an armor line")
        read_exact(stream, len(MAGIC))
        line = read_line(stream, MAX_MANIFEST_LINE, "the manifest")
        verified = signing.verify_header(line, MANIFEST_TYPE, keys, "the bundle manifest")
        manifest = parse_manifest(verified.payload)
        signing.check_sender(verified, manifest.sender, "the bundle manifest")
        if accept_signer is not None:
            accept_signer("manifest", verified.key)
        if check is not None:
            check(manifest)
        enc = encrypted_header
        if enc is not None and (enc.sender != manifest.sender or enc.number != manifest.number
                                or set(enc.recipients) != set(manifest.recipients)):
            raise TamperedContent("the encrypted bundle's outer header does not match its inner manifest")
        start = 0
        if stream is source and seekable(source):  # a plain file: check it where it lies, no copy
            start = source.tell()
            check_in_place(source, manifest.body_size, manifest.body_sha256, "the bundle body")
            spooled: IO[bytes] = source
        else:
            spooled = spool(stream, manifest.body_size, manifest.body_sha256, "the bundle body")
            held.append(spooled)
        body: IO[bytes] = spooled
        if manifest.encoding == "gzip":
            layers.append("gzip")
            body = stream_of(_gunzip(spooled))  # type: ignore[arg-type]
        return Opened(manifest, hashlib.sha256(verified.payload).hexdigest(), verified.key.keyid, layers, body,
                      enc, held, spooled, start)
    except BaseException:
        for f in held:
            f.close()
        raise


@dataclass(slots=True)
class RecordItem:
    """A record line, its position fields read and its hash computed; its signature NOT yet checked."""

    envelope: bytes
    payload: bytes
    payload_type: str
    hash: str
    author: str
    seq: int
    prev: str | None
    kind: str
    created: str
    tlp: str
    to: tuple[str, ...]
    # read with the envelope (the canonical layout's short array, or a strict parse), so neither a deep check
    # nor an import parses the whole envelope again
    parsed_signatures: tuple[dsse.Signature, ...] | None = field(default=None, compare=False)
    # the attachments its body lists, when a strict parse read the body (else found in the payload on demand)
    parsed_blobs: list[str] | None = field(default=None, compare=False)

    def record(self) -> Record:
        """The full record, parsed strictly (MalformedInput if its body is not what a record must be)."""
        return parse_verified_payload(self.envelope, self.payload, "")

    def signatures(self) -> tuple[dsse.Signature, ...]:
        """The envelope's signatures (not checked); MalformedInput if the envelope does not parse."""
        if self.parsed_signatures is None:
            self.parsed_signatures = dsse.parse(self.envelope).signatures
        return self.parsed_signatures

    def parsed(self) -> dsse.Envelope:
        """The envelope as DSSE parses it (payload type, payload, signatures), from what was read already."""
        return dsse.Envelope(self.payload_type, self.payload, self.signatures())

    def blobs(self) -> list[str]:
        """The attachments (SHA-256 digests) its body lists: from the strict parse, else found in the payload once
        (a search of its ~1 MB that the reader and the importer would otherwise each make)."""
        if self.parsed_blobs is None:
            self.parsed_blobs = blobs_listed(self.payload)
        return self.parsed_blobs


def _signatures(array: bytes) -> tuple[dsse.Signature, ...] | None:
    """The signatures array at the end of an envelope in the canonical layout (:data:`_FAST_ENVELOPE_TAIL`), parsed
    by DSSE's own parser without the ~1.3 MB payload before it; None if DSSE refuses it (the strict parser of
    the whole envelope then says why)."""
    try:
        return dsse.parse(b'{"payload":"","payloadType":"","signatures":' + array + b"}").signatures
    except CbmError:
        return None


# The quick check reads only a record's position fields. For the canonical form every cbm writes (sorted keys,
# compact), they are read from the end of the signed payload without parsing its body (4-5x faster at 1M
# records); anything else falls back to the strict parser. The body itself is parsed strictly on import and
# by --deep.
_ENVELOPE_HEAD = b'{"payload":"'
_ENVELOPE_SPLIT = b'","payloadType":"'
# what follows the base64 payload in the canonical layout; the payload itself is checked by the strict base64
# decoder, which refuses any other character (a regular expression over ~1.3 MB of it cost 3 ms a record)
_FAST_ENVELOPE_TAIL = re.compile(
    rb'","payloadType":"(application/vnd\.cbm\.[a-z]+\.v1\+json)","signatures":(\[[^\]]*\])\}')
_FAST_PAYLOAD = re.compile(
    rb'\{"author":"([A-Z][A-Z0-9-]{1,15})","body":\{.*\},"created":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)",'
    rb'"kind":"(([a-z]+)(?:\.[a-z_]+)+)","prev":(?:null|"([0-9a-f]{64})"),"seq":([1-9][0-9]{0,15}),'
    rb'"tlp":"(CLEAR|GREEN|AMBER|AMBER\+STRICT|RED)","to":\[((?:"(?:\*|[A-Z][A-Z0-9-]{1,15})",)*'
    rb'"(?:\*|[A-Z][A-Z0-9-]{1,15})")\],"v":1\}', re.DOTALL)
_MEASURES = frozenset(m.encode() for m in MEASURES)
_QUOTED = re.compile(rb'"([^"]*)"')


def _fast_record(line: bytes) -> RecordItem | None:
    if not line.startswith(_ENVELOPE_HEAD):
        return None
    split = line.find(_ENVELOPE_SPLIT, len(_ENVELOPE_HEAD))
    envelope = _FAST_ENVELOPE_TAIL.fullmatch(line, split) if split > 0 else None
    if envelope is None:
        return None
    try:
        payload = base64_strict.decode(line[len(_ENVELOPE_HEAD):split])
    except binascii.Error:
        return None
    fields = _FAST_PAYLOAD.fullmatch(payload)
    if fields is None or len(payload) > MAX_PAYLOAD_BYTES:
        return None
    if fields[4] not in _MEASURES:
        return None  # the strict parser names the problem
    seq, prev = int(fields[6]), fields[5]
    if (seq == 1) != (prev is None):
        return None
    author, kind = fields[1].decode(), fields[3].decode()
    to = tuple(p.decode() for p in _QUOTED.findall(fields[8]))
    payload_type = envelope[1].decode()
    if payload_type_for(kind) != payload_type:
        raise MalformedInput(f"{author} record {seq}: payload type does not match its kind")
    signatures = _signatures(envelope[2])
    if signatures is None:
        return None
    return RecordItem(line, payload, payload_type, hashlib.sha256(payload).hexdigest(), author, seq,
                      prev.decode() if prev else None, kind, fields[2].decode(), fields[7].decode(), to, signatures)


def _strict_record(line: bytes) -> RecordItem:
    envelope = dsse.parse(line)
    record = parse_verified_payload(line, envelope.payload, "")
    if payload_type_for(record.kind) != envelope.payload_type:
        raise MalformedInput(f"{record.author} record {record.seq}: payload type does not match its kind")
    return RecordItem(line, record.payload, envelope.payload_type, record.hash, record.author, record.seq,
                      record.prev, record.kind, record.created, record.tlp, record.to, envelope.signatures,
                      blobs_in_body(record.body))


Item = RecordItem | WithheldRange


def items(opened: Opened, blob_sink: Callable[[BlobEntry, Iterator[bytes]], None] | None = None,
          on_log: Callable[[LogRange], None] | None = None, strict: bool = False) -> Iterator[Item]:
    """Every record and withheld range in (author, seq) order, checked against the manifest as they pass:
    order, positions, hashes and chain links within each log, each log's last hash; then the blobs, each
    streamed to ``blob_sink`` (or just hash-checked) — before this generator finishes.

    ``strict`` parses every record fully (as import and --deep do); otherwise position fields are read fast.
    Raises ChainBroken (1) for links or hashes that disagree with the signed manifest, MalformedInput (4) for
    items that do not parse or an attachment that no record carried lists, OversizedInput (4) for lines past
    the limits.
    """
    assert opened.body is not None
    body = LineReader(opened.body)
    listed: set[str] = set()
    for log in opened.manifest.logs:
        if on_log is not None:
            on_log(log)
        for item in _log_items(body, log, strict):
            if isinstance(item, RecordItem):
                listed.update(item.blobs())
            yield item
    # an attachment travels with a record that lists it, or not at all (not even one a withheld record lists:
    # the recipient may not see that record, so it could never check or use the bytes); checked before any
    # attachment reaches the sink, so a refused bundle leaves no file behind
    for entry in opened.manifest.blobs:
        if entry.sha256 not in listed:
            raise MalformedInput(f"the bundle carries attachment {entry.sha256[:12]} that no record in it lists",
                                 hint="a bundle carries only the attachments of the records it carries")
    for entry in opened.manifest.blobs:
        header = read_line(body, MAX_ITEM_LINE, "a blob header")
        expected = {"blob": {"sha256": entry.sha256, "size": entry.size}}
        if loads(header) != expected:
            raise MalformedInput(f"attachment {entry.sha256[:12]} is not where the manifest says")
        chunks = _blob_chunks(body, entry)
        if blob_sink is not None:
            blob_sink(entry, chunks)
        for _ in chunks:  # drain whatever the sink left (and hash-check when there is no sink)
            pass
    if body.read(1):
        raise MalformedInput("the bundle has bytes after its last item")


def _blob_chunks(body: LineReader, entry: BlobEntry) -> Iterator[bytes]:
    hasher, remaining = hashlib.sha256(), entry.size
    while remaining > 0:
        line = read_line(body, (BLOB_CHUNK + 2) // 3 * 4, "an attachment line")
        try:
            data = base64_strict.decode(line)
        except (binascii.Error, ValueError) as e:
            raise MalformedInput(f"attachment {entry.sha256[:12]} is not valid base64") from e
        if len(data) != min(BLOB_CHUNK, remaining):
            raise MalformedInput(f"attachment {entry.sha256[:12]} has a chunk of the wrong size")
        remaining -= len(data)
        hasher.update(data)
        yield data
    if hasher.hexdigest() != entry.sha256:
        raise TamperedContent(f"attachment {entry.sha256[:12]} does not match its hash")


def _log_items(body: LineReader, log: LogRange, strict: bool) -> Iterator[Item]:
    expect, prev_hash, records, withheld = log.first, None, 0, 0
    while expect <= log.last:
        line = read_line(body, MAX_ITEM_LINE, f"{log.author} item {expect}")
        if line.startswith(b'{"withheld":'):
            author, first, last, last_hash = parse_withheld(loads(line))
            if author != log.author or first != expect or last > log.last:
                raise ChainBroken(f"withheld range {author} {first}-{last} is out of place "
                                  f"(expected {log.author} from {expect})")
            withheld += last - first + 1
            expect, prev_hash = last + 1, last_hash
            yield WithheldRange(author, first, last, last_hash)
            continue
        record = (None if strict else _fast_record(line)) or _strict_record(line)
        if record.author != log.author or record.seq != expect:
            raise ChainBroken(f"record {record.author} {record.seq} is out of place "
                              f"(expected {log.author} {expect})")
        if prev_hash is not None and record.prev != prev_hash:
            raise ChainBroken(f"{record.author} record {record.seq} does not link to the item before it")
        records += 1
        expect, prev_hash = expect + 1, record.hash
        yield record
    if prev_hash != log.last_hash:
        raise ChainBroken(f"{log.author}'s log in the bundle does not end at the hash its manifest signs")
    if records != log.records or withheld != log.withheld:
        raise MalformedInput(f"{log.author}'s log in the bundle does not match the counts in its manifest")
