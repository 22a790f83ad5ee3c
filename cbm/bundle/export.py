"""Export: everything a peer may see and has not acknowledged, as one deterministic bundle.

Per log (sorted by author; the recipient's own log is skipped): the positions after the recipient's
acknowledged seq, each as the record when the recipient may see it (``cbm.core.tlp.may_see``), else folded
into a withheld range with the hash of its last record; then the attachments those records list in
``body["blobs"]``. The bytes depend only on the manifest header fields and the records (no timestamps; gzip with
mtime 0), encryption aside.

Confidential by default (docs/adr/0141-confidential-by-default.md): a bundle that carries any record labelled
above TLP:CLEAR is encrypted to its recipient (and us) unless the caller turns encryption off; withheld ranges
carry no content and do not count.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cbm.bundle import armor, encryption, minisign, receipts, signing
from cbm.bundle.format import BLOB_CHUNK, MAGIC, MANIFEST_TYPE, BlobEntry, LogRange, Manifest, blob_line, withheld_line
from cbm.bundle.streams import COPY_CHUNK, HashingWriter, temporary, temporary_directory
from cbm.core import clock, dsse
from cbm.core.errors import UsageError
from cbm.core.files import written_atomically
from cbm.core.keys import KeyPair
from cbm.core.memory import cycle_collector_paused
from cbm.core.tlp import may_see, tlp_rank
from cbm.store import index_bundles, index_receipts
from cbm.store.db import Store, record_from_row

TEMP = "tmp"  # temporary files of exports and imports live on the store's disk


@dataclass
class ExportResult:
    recipient: str
    number: int
    bundle: str  # the bundle id: SHA-256 of its manifest payload
    previous: str | None
    records: int
    withheld: int
    blobs: int
    logs: list[dict[str, Any]]
    size: int
    layers: list[str]
    receipt: str | None  # hash of the receipt we wrote for this export, if one was due
    output: str
    minisig: str | None = None
    missing_blobs: list[str] = field(default_factory=list)
    encrypted: bool = False
    encryption: str = "default"  # default (by TLP) | forced | off
    encryption_reason: str = ""  # why it is, or is not, encrypted; one line for the export report
    above_clear: int = 0  # records carried with a TLP label above CLEAR
    highest_tlp: str | None = None  # the highest label among the records carried


def _above_clear(labels: dict[str, int]) -> tuple[int, str | None]:
    """How many records carried are above TLP:CLEAR, and the highest label carried."""
    return (sum(n for label, n in labels.items() if label != "CLEAR"),
            max(labels, key=tlp_rank) if labels else None)


def encryption_decision(encrypt: bool | None, labels: dict[str, int]) -> tuple[bool, str, str]:
    """Whether to encrypt a bundle carrying ``labels`` (TLP label -> records carried), the mode
    (``default``/``forced``/``off``) and the reason in words. ``encrypt`` None: by TLP, True/False: forced/off."""
    above, highest = _above_clear(labels)
    what = f"{above} record(s) above TLP:CLEAR (highest TLP:{highest})"
    if encrypt is True:
        return True, "forced", "encryption requested"
    if encrypt is False:
        return (False, "off", f"encryption turned off: {what} travel readable" if above
                else "encryption turned off")
    if above:
        return True, "default", f"encrypted by default: {what}"
    return False, "default", ("not encrypted: every record carried is TLP:CLEAR" if labels
                              else "not encrypted: no records carried")


@dataclass(frozen=True)
class _Position:
    first: int
    last: int
    hash: str
    envelope: bytes | None  # None: a withheld range we hold only as such
    to: tuple[str, ...] = ()
    tlp: str = ""


def _positions(store: Store, author: str, after: int) -> Iterator[_Position]:
    """Every position of ``author``'s log after ``after`` that we hold, in seq order."""
    stubs = store.query(index_bundles.withheld_ranges, author, after)
    rows = store.query(index_bundles.log_rows, author, after)
    row = next(rows, None)
    i = 0
    while row is not None or i < len(stubs):
        if row is not None and (i >= len(stubs) or row[0] < stubs[i][0]):
            yield _Position(row[0], row[0], row[1], row[4], row[2], row[3])
            row = next(rows, None)
        else:
            first, last, digest = stubs[i]
            yield _Position(max(first, after + 1), last, digest, None)
            i += 1


_PAYLOAD = re.compile(rb'"payload":"([A-Za-z0-9+/=]*)"')


def _blobs_of(envelope: bytes) -> list[str]:
    """The attachments a stored record lists in ``body["blobs"]`` (parsed only when it mentions any)."""
    found = _PAYLOAD.search(envelope)
    payload = binascii.a2b_base64(found[1]) if found else dsse.parse(envelope).payload
    if b'"blobs"' not in payload:
        return []
    listed = record_from_row(envelope, "").body.get("blobs")
    return [d for d in listed if isinstance(d, str)] if isinstance(listed, list) else []


def _write_log(store: Store, recipient: str, author: str, after: int, out: HashingWriter,
               blobs: dict[str, None], labels: dict[str, int]) -> LogRange | None:
    expect = after + 1
    records = withheld = 0
    pending: tuple[int, int, str] | None = None
    last_hash = None

    def flush() -> None:
        nonlocal pending, withheld
        if pending is not None:
            out.write(withheld_line(author, pending[0], pending[1], pending[2]) + b"\n")
            withheld += pending[1] - pending[0] + 1
            pending = None

    for position in _positions(store, author, after):
        if position.first != expect:
            break  # a hole in what we hold (cannot happen for landed records): stop this log there
        if position.envelope is not None and may_see(recipient, author, position.to, position.tlp):
            flush()
            envelope = position.envelope
            if b"\n" in envelope:
                envelope = dsse.parse(envelope).to_json_bytes()
            out.write(envelope + b"\n")
            records += 1
            labels[position.tlp] = labels.get(position.tlp, 0) + 1
            for digest in _blobs_of(envelope):
                blobs.setdefault(digest, None)
        else:
            pending = (pending[0], position.last, position.hash) if pending else \
                (position.first, position.last, position.hash)
        expect, last_hash = position.last + 1, position.hash
    flush()
    if last_hash is None:
        return None
    return LogRange(author, after + 1, expect - 1, last_hash, records, withheld)


def _write_blob(store: Store, digest: str, out: HashingWriter) -> BlobEntry:
    size = store.blobs.path(digest).stat().st_size
    entry = BlobEntry(digest, size)
    out.write(blob_line(entry) + b"\n")
    buffer = b""
    for chunk in store.blobs.read(digest):
        buffer += chunk
        while len(buffer) >= BLOB_CHUNK:
            out.write(base64.b64encode(buffer[:BLOB_CHUNK]) + b"\n")
            buffer = buffer[BLOB_CHUNK:]
    if buffer:
        out.write(base64.b64encode(buffer) + b"\n")
    return entry


def _signers(store: Store, recipient: str) -> list[KeyPair]:
    """Our active key, plus a rotated-out key while the recipient may not know the rotation yet."""
    pairs = {p.keyid: p for p in store.key_pairs()}
    active = store.signer()
    acknowledged = store.query(index_receipts.acknowledged, recipient, store.party)[0]
    extra = [pairs[k.keyid] for k in store.party_keys(store.party)
             if k.status == "rotated" and k.last_seq is not None and k.last_seq >= acknowledged
             and k.keyid in pairs]
    return [active] + extra[-1:]


@cycle_collector_paused()
def write_bundle(store: Store, recipient: str, out: Any, *, number: int | None = None, everything: bool = False,
                 encrypt: bool | None = None, compress: bool = False, armored: bool = False,
                 sign_minisig: bool = False) -> tuple[ExportResult, bytes | None]:
    """Write a bundle for ``recipient`` to the binary writer ``out``; journal it. Returns the result and, with
    ``sign_minisig``, the detached minisign signature of exactly the bytes written.

    ``encrypt``: None (default) encrypts when any record carried is above TLP:CLEAR; True always; False never
    (the result says what travels readable). ``number`` overrides the bundle number (reproducibility tests);
    ``everything`` ignores acknowledgements. Raises NotFound for an unknown recipient, UsageError for ourselves.
    """
    if recipient == store.party:
        raise UsageError("a bundle goes to a peer, not to ourselves")
    recipient_key = store.active_key(recipient)  # NotFound for a party we do not know
    pair = store.signer()
    receipt = receipts.write_receipt(store, recipient)
    with ExitStack() as files:
        files.enter_context(temporary_directory(store.root / TEMP))
        body_file = files.enter_context(temporary("cbm-body-"))
        zipped_file = files.enter_context(temporary("cbm-gzip-"))
        # a consistent snapshot, numbered and journalled in one transaction; the (possibly slow) writing to
        # ``out`` happens after it, so a slow pipe never holds the store's write lock
        with store.transaction():
            last = store.query(index_bundles.last_sent, recipient)
            number = number or ((last[0] + 1) if last else 1)
            previous = last[1] if last and last[0] < number else None
            body = HashingWriter(body_file)
            logs: list[LogRange] = []
            wanted: dict[str, None] = {}
            labels: dict[str, int] = {}
            for author in store.query(index_bundles.authors):
                if author == recipient:
                    continue
                after = 0 if everything else store.query(index_receipts.acknowledged, recipient, author)[0]
                log = _write_log(store, recipient, author, after, body, wanted, labels)
                if log is not None:
                    logs.append(log)
            entries, missing = [], []
            for digest in wanted:
                if store.blobs.has(digest):
                    entries.append(_write_blob(store, digest, body))
                else:
                    missing.append(digest)
            body_sha256, body_size, encoding = body.sha256.hexdigest(), body.size, "identity"
            body_file.seek(0)
            if compress:
                zipped = HashingWriter(zipped_file)
                with gzip.GzipFile(filename="", mode="wb", fileobj=zipped, mtime=0, compresslevel=6) as gz:
                    while chunk := body_file.read(COPY_CHUNK):
                        gz.write(chunk)
                body_sha256, body_size, encoding = zipped.sha256.hexdigest(), zipped.size, "gzip"
                zipped_file.seek(0)
            manifest = Manifest(store.party, (recipient,), number, previous, tuple(logs), tuple(entries),
                                body_sha256, body_size, encoding)
            payload = manifest.payload()
            bundle_id = hashlib.sha256(payload).hexdigest()
            signers = _signers(store, recipient)
            store.query(index_bundles.record_sent, recipient, number, bundle_id, clock.now_iso(),
                                      manifest.records, manifest.withheld, len(entries))
        encrypted, mode, reason = encryption_decision(encrypt, labels)
        above, highest = _above_clear(labels)
        header = MAGIC + signing.sign_header(MANIFEST_TYPE, payload, signers) + b"\n"
        final = HashingWriter(out, blake2b=sign_minisig)
        layers = _write_layers(header, zipped_file if compress else body_file, final, store=store,
                               recipient=recipient, recipient_enc=recipient_key.enc_key, number=number,
                               encrypt=encrypted, armored=armored, signers=signers)
        layers += ["gzip"] if compress else []
        final.flush()
    signature = None
    if sign_minisig:
        assert final.blake2b is not None
        trusted = f"cbm bundle {number} from {store.party} to {recipient} id {bundle_id}"
        signature = minisign.signature_file(final.blake2b.digest(), pair, trusted)
    result = ExportResult(recipient, number, bundle_id, previous, manifest.records, manifest.withheld,
                          len(entries), [log.doc() for log in logs], final.size, layers,
                          receipt.hash if receipt else None, "-", missing_blobs=missing, encrypted=encrypted,
                          encryption=mode, encryption_reason=reason, above_clear=above, highest_tlp=highest)
    return result, signature


def _write_layers(header: bytes, body: IO[bytes], out: HashingWriter, *, store: Store, recipient: str,
                  recipient_enc: bytes, number: int, encrypt: bool, armored: bool,
                  signers: list[KeyPair]) -> list[str]:
    """plain bundle -> [encrypt] -> [armor] -> out, each stage through a temporary file."""
    layers: list[str] = []
    with temporary("cbm-layer-") as stage:
        stage.write(header)
        while chunk := body.read(COPY_CHUNK):
            stage.write(chunk)
        stage.seek(0)
        current: IO[bytes] = stage
        if encrypt:
            sealed = temporary("cbm-layer-")
            me = store.signer()
            encryption.encrypt(current, sealed, sender=store.party,
                               recipients=[(recipient, recipient_enc), (store.party, me.public_enc_key)],
                               number=number, signers=signers)
            sealed.seek(0)
            current = sealed
            layers.append("encrypted")
        try:
            if armored:
                armor.armor(current, out)
                layers.append("armor")
            else:
                while chunk := current.read(COPY_CHUNK):
                    out.write(chunk)
        finally:
            if current is not stage:
                current.close()
    return layers[::-1]  # outermost first, as the reader reports them


def export_to_path(store: Store, recipient: str, path: Path, *, minisig: bool = True,
                   **options: Any) -> ExportResult:
    """Write the bundle to ``path`` atomically (temporary file, fsync, rename) and ``path.minisig`` beside it."""
    with written_atomically(path) as out:
        result, signature = write_bundle(store, recipient, out, sign_minisig=minisig, **options)
    result.output = str(path)
    if signature is not None:
        sig_path = Path(str(path) + ".minisig")
        try:
            sig_path.write_bytes(signature)
        except OSError as e:
            raise UsageError(f"cannot write {sig_path}: {e.strerror}") from e
        result.minisig = str(sig_path)
    return result
