"""Export: everything a peer may see and has not acknowledged, as one deterministic bundle.

Per log (sorted by author; the recipient's own log is skipped): the positions after the recipient's
acknowledged seq, each as the record when the recipient may see it (``cbm.core.tlp.may_see``), else folded
into a withheld range with the hash of its last record; then the attachments those records list in
``body["blobs"]``. The bytes depend only on the manifest header fields and the records (no timestamps; gzip with
mtime 0), encryption aside.

Third parties' logs are forwarded *late* unless we relay for the recipient (cbm.bundle.forwarding,
docs/adr/0173-late-forwarding.md): only what we already held at our previous bundle to it and it has still not
acknowledged, so a full mesh does not carry every party's day N-2 extra times.

Confidential by default (docs/adr/0141-confidential-by-default.md): a bundle that carries any record labelled
above TLP:CLEAR is encrypted to its recipient (and us) unless the caller turns encryption off; withheld ranges
carry no content and do not count.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import stat
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cbm.bundle import armor, encryption, forwarding, minisign, receipts, signing
from cbm.bundle.format import BLOB_CHUNK, MAGIC, MANIFEST_TYPE, BlobEntry, LogRange, Manifest, blob_line
from cbm.bundle.log_selection import Carried, LogWriter, positions
from cbm.bundle.recipients import recipients_of
from cbm.bundle.streams import COPY_CHUNK, HashingWriter, temporary, temporary_directory
from cbm.core import clock
from cbm.core.errors import UsageError
from cbm.core.files import StagedFile, StagedWriter, check_output, is_special, staged
from cbm.core.keys import KeyPair
from cbm.core.memory import cycle_collector_paused
from cbm.core.records import Record
from cbm.core.tlp import tlp_rank
from cbm.store import index_bundles, index_receipts
from cbm.store.db import Store

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
    forwarded: int = 0  # records carried that third parties wrote (not us)
    forwarded_bytes: int = 0  # their size in the bundle body
    deferred: int = 0  # third parties' records the recipient may see, held back for late forwarding (ADR 0173)


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


@dataclass
class _Snapshot:
    """One recipient's bundle as read from the store under the write lock: its body in a temporary file, its
    signed manifest fields, its number (already journalled). Writing it out happens after the lock is released."""

    recipient: str
    recipient_enc: bytes
    body: IO[bytes]
    zipped: IO[bytes]
    compress: bool
    logs: list[LogRange] = field(default_factory=list)
    wanted: dict[str, None] = field(default_factory=dict)
    entries: list[BlobEntry] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    number: int = 0
    previous: str | None = None
    manifest: Manifest | None = None
    payload: bytes = b""
    bundle_id: str = ""
    signers: list[KeyPair] = field(default_factory=list)
    writer: HashingWriter | None = None
    labels: dict[str, int] = field(default_factory=dict)  # TLP label -> records carried
    late: bool = True  # third parties' logs only up to our positions at the previous bundle (ADR 0173)
    sent_at: dict[str, int] = field(default_factory=dict)  # those positions: author -> seq
    forwarded: int = 0
    forwarded_bytes: int = 0
    deferred: int = 0


def _snapshot(store: Store, recipients: list[str], files: ExitStack, *, number: int | None, everything: bool,
              compress: bool, policy: forwarding.ForwardingPolicy,
              progress: Callable[[int, int], None] | None = None) -> list[_Snapshot]:
    """Read every recipient's bundle from one consistent snapshot, numbered and journalled inside the caller's
    transaction (with the receipts it carries: docs/adr/0300).

    Each author's log is read once, from the lowest position any recipient still needs, and each position
    goes to every recipient that has not acknowledged it (filtered by that recipient's audience and TLP);
    a third party's log only up to our position at the previous bundle to that recipient, unless ``policy``
    relays for it or ``everything`` is asked (ADR 0173). Our present positions are journalled for the next.
    ``progress(done, total)`` hears the log positions read, of all the positions any recipient needs.
    """
    keys = {r: store.active_key(r) for r in recipients}  # NotFound for a party we do not know
    snapshots = [_Snapshot(r, keys[r].enc_key, files.enter_context(temporary("cbm-body-")),
                           files.enter_context(temporary("cbm-gzip-")), compress) for r in recipients]
    for snap in snapshots:
        snap.writer = HashingWriter(snap.body)
        snap.late = not everything and not policy.immediate(snap.recipient)
        snap.sent_at = store.query(index_bundles.sent_positions, snap.recipient) if snap.late else {}
    heads: dict[str, int] = {}
    plan: list[tuple[str, list[tuple[_Snapshot, LogWriter]]]] = []
    for author in store.query(index_bundles.authors):
        writers: list[tuple[_Snapshot, LogWriter]] = []
        third = author != store.party
        if third:
            head = store.head(author)
            heads[author] = head[0] if head else 0
        for snap in snapshots:
            if author == snap.recipient:
                continue
            after = 0 if everything else store.query(index_receipts.acknowledged, snap.recipient, author)[0]
            upto = snap.sent_at.get(author, 0) if third and snap.late else None
            assert snap.writer is not None
            writers.append((snap, LogWriter(snap.recipient, author, after, snap.writer, snap.wanted,
                                             upto=upto, forwarded=third)))
        if writers:
            plan.append((author, writers))
    total = sum(max(0, (store.head(author) or (0, ""))[0] - min(w.after for _, w in writers))
                for author, writers in plan) if progress is not None else 0
    done = 0
    for author, writers in plan:
        start = min(w.after for _, w in writers)
        for position in positions(store, author, start):
            carried = Carried(position)
            for _, writer in writers:
                writer.add(carried)
            if progress is not None:
                done += position.last - max(position.first, start + 1) + 1
                progress(done, total)
        for snap, writer in writers:
            for label, n in writer.labels.items():
                snap.labels[label] = snap.labels.get(label, 0) + n
            snap.forwarded += writer.forwarded_records
            snap.forwarded_bytes += writer.forwarded_bytes
            snap.deferred += writer.deferred
            log = writer.finish()
            if log is not None:
                snap.logs.append(log)
    if progress is not None:
        progress(total, total)
    for snap in snapshots:
        store.query(index_bundles.record_sent_positions, snap.recipient,
                    {a: seq for a, seq in heads.items() if a != snap.recipient})
        _seal(store, snap, number)
    return snapshots


def _seal(store: Store, snap: _Snapshot, number: int | None) -> None:
    """Append the attachments, compress, build and journal the manifest of one recipient's snapshot."""
    assert snap.writer is not None
    for digest in snap.wanted:
        if store.blobs.has(digest):
            snap.entries.append(_write_blob(store, digest, snap.writer))
        else:
            snap.missing.append(digest)
    body_sha256, body_size, encoding = snap.writer.sha256.hexdigest(), snap.writer.size, "identity"
    snap.body.seek(0)
    if snap.compress:
        zipped = HashingWriter(snap.zipped)
        with gzip.GzipFile(filename="", mode="wb", fileobj=zipped, mtime=0, compresslevel=6) as gz:
            while chunk := snap.body.read(COPY_CHUNK):
                gz.write(chunk)
        body_sha256, body_size, encoding = zipped.sha256.hexdigest(), zipped.size, "gzip"
        snap.zipped.seek(0)
    last = store.query(index_bundles.last_sent, snap.recipient)
    snap.number = number or ((last[0] + 1) if last else 1)
    snap.previous = last[1] if last and last[0] < snap.number else None
    snap.manifest = Manifest(store.party, (snap.recipient,), snap.number, snap.previous, tuple(snap.logs),
                             tuple(snap.entries), body_sha256, body_size, encoding)
    snap.payload = snap.manifest.payload()
    snap.bundle_id = hashlib.sha256(snap.payload).hexdigest()
    snap.signers = _signers(store, snap.recipient)
    store.query(index_bundles.record_sent, snap.recipient, snap.number, snap.bundle_id, clock.now_iso(),
                              snap.manifest.records, snap.manifest.withheld, len(snap.entries))


def _write_out(store: Store, snap: _Snapshot, receipt: Record | None, out: Any, *, encrypt: bool | None,
               armored: bool, sign_minisig: bool) -> tuple[ExportResult, bytes | None]:
    """Write one snapshot's bundle (header, body, layers) to ``out``; its result and detached signature.
    ``encrypt`` None encrypts when a record carried is above TLP:CLEAR (docs/adr/0141)."""
    assert snap.manifest is not None
    encrypted, mode, reason = encryption_decision(encrypt, snap.labels)
    above, highest = _above_clear(snap.labels)
    header = MAGIC + signing.sign_header(MANIFEST_TYPE, snap.payload, snap.signers) + b"\n"
    final = HashingWriter(out, blake2b=sign_minisig)
    layers = _write_layers(header, snap.zipped if snap.compress else snap.body, final, store=store,
                           recipient=snap.recipient, recipient_enc=snap.recipient_enc, number=snap.number,
                           encrypt=encrypted, armored=armored, signers=snap.signers)
    layers += ["gzip"] if snap.compress else []
    final.flush()
    signature = None
    if sign_minisig:
        assert final.blake2b is not None
        trusted = f"cbm bundle {snap.number} from {store.party} to {snap.recipient} id {snap.bundle_id}"
        signature = minisign.signature_file(final.blake2b.digest(), snap.signers[0], trusted)
    result = ExportResult(snap.recipient, snap.number, snap.bundle_id, snap.previous, snap.manifest.records,
                          snap.manifest.withheld, len(snap.entries), [log.doc() for log in snap.logs], final.size,
                          layers, receipt.hash if receipt else None, "-", missing_blobs=snap.missing,
                          encrypted=encrypted, encryption=mode, encryption_reason=reason, above_clear=above,
                          highest_tlp=highest, forwarded=snap.forwarded, forwarded_bytes=snap.forwarded_bytes,
                          deferred=snap.deferred)
    return result, signature


@cycle_collector_paused()
def write_bundle(store: Store, recipient: str, out: Any, *, number: int | None = None, everything: bool = False,
                 encrypt: bool | None = None, compress: bool = False, armored: bool = False,
                 sign_minisig: bool = False, progress: Callable[[int, int], None] | None = None,
                 before_commit: Callable[[bytes | None], None] | None = None) -> tuple[ExportResult, bytes | None]:
    """Write a bundle for ``recipient`` to the binary writer ``out``; journal it. Returns the result and, with
    ``sign_minisig``, the detached minisign signature of exactly the bytes written.

    The receipt it carries, its number and the positions sent land in one transaction, which commits only once
    the bundle is written (and ``before_commit(signature)`` has run: the caller fsyncs and stages its files
    there), so a write that fails (a full disk, ``-o /dev/full``) leaves the store as it was (docs/adr/0300).
    Only a pipe or socket is written after the commit, so a slow reader never holds the store's write lock
    (docs/adr/0012): a failure there burns the number and keeps the receipt, both true either way.

    ``encrypt``: None (default) encrypts when any record carried is above TLP:CLEAR; True always; False never
    (the result says what travels readable). ``number`` overrides the bundle number (reproducibility tests);
    ``everything`` ignores acknowledgements and forwards third parties' records at once. Raises NotFound for an
    unknown recipient, UsageError for ourselves or a malformed ``[forwarding]`` policy.
    ``progress(done, total)`` hears the log positions read from the store.
    """
    if recipient == store.party:
        raise UsageError("a bundle goes to a peer, not to ourselves")
    policy = forwarding.policy_of(store.config)
    store.active_key(recipient)  # NotFound for a party we do not know, before the write lock
    store.signer()
    held = not is_stream(out)
    with ExitStack() as files:
        files.enter_context(temporary_directory(store.root / TEMP))
        with store.transaction():
            receipt = receipts.due_in_transaction(store, recipient)
            [snap] = _snapshot(store, [recipient], files, number=number, everything=everything, compress=compress,
                               policy=policy, progress=progress)
            if held:
                written = _write_out(store, snap, receipt, out, encrypt=encrypt, armored=armored,
                                     sign_minisig=sign_minisig)
                _flushed(out)
                if before_commit is not None:
                    before_commit(written[1])
        if not held:
            written = _write_out(store, snap, receipt, out, encrypt=encrypt, armored=armored,
                                 sign_minisig=sign_minisig)
            if before_commit is not None:
                before_commit(written[1])
        return written


def is_stream(out: Any) -> bool:
    """Whether ``out`` is a pipe or a socket: a reader at its other end sets the pace."""
    try:
        return stat.S_ISFIFO(os.fstat(out.fileno()).st_mode) or stat.S_ISSOCK(os.fstat(out.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):  # an in-memory buffer, a closed stream
        return False


def _flushed(out: Any) -> None:
    """Flush ``out`` and, when it is a regular file (stdout redirected to one), fsync it: a full disk shows here,
    before the transaction commits. Raises OSError (or UsageError for stdout, :mod:`cbm.core.stdio`)."""
    if hasattr(out, "flush"):
        out.flush()
    try:
        regular = stat.S_ISREG(os.fstat(out.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return
    if regular:
        os.fsync(out.fileno())


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
    """Write the bundle to ``path`` atomically (temporary file, fsync, rename) and ``path.minisig`` beside it;
    to a device or pipe (``/dev/stdout``, a FIFO) straight, without a ``.minisig`` (there is no beside). Both
    are written before the store commits, and put in place after: a file that cannot be written leaves the
    store as it was (docs/adr/0300)."""
    minisig = minisig and not is_special(path)
    if minisig:  # the bundle's own place first, then the file beside it; both before writing (docs/adr/0278)
        check_output(path)
        check_output(Path(str(path) + ".minisig"))
    bundle = StagedWriter(path)
    staging = _Staging(bundle)
    try:
        try:
            result, _ = write_bundle(store, recipient, bundle.out, sign_minisig=minisig,
                                     before_commit=staging.finish, **options)
        except OSError as e:
            raise UsageError(f"cannot write {path}: {e.strerror}") from e
        return staging.land(result)
    finally:
        staging.discard()


class _Staging:
    """A bundle's staged file and, once it is written, its staged ``.minisig`` (docs/adr/0290, 0300)."""

    def __init__(self, bundle: StagedWriter) -> None:
        self.bundle = bundle
        self.side: StagedFile | None = None

    def finish(self, signature: bytes | None) -> None:
        """The bundle flushed and fsync'd, its signature staged beside it: called before the store commits."""
        self.bundle.finish()
        if signature is not None:
            self.side = staged(Path(str(self.bundle.path) + ".minisig"), signature)

    def land(self, result: ExportResult) -> ExportResult:
        """Both put in place, the bundle first; ``result`` says where."""
        self.bundle.land()
        result.output = str(self.bundle.path)
        if self.side is not None:
            self.side.land()
            result.minisig = str(self.side.path)
        return result

    def discard(self) -> None:
        self.bundle.discard()
        if self.side is not None:
            self.side.discard()


def bundle_name(sender: str, recipient: str) -> str:
    """The file name of a bundle in a multi-recipient export: ``us-to-ru.cbm``."""
    return f"{sender.lower()}-to-{recipient.lower()}.cbm"


@dataclass
class ManyExportResult:
    directory: str
    bundles: list[ExportResult]
    skipped: list[dict[str, str]]  # peers named by ``all`` that get no bundle: {"party", "reason"}


@cycle_collector_paused()
def export_to_many(store: Store, to: str, directory: Path, *, minisig: bool = True,
                   everything: bool = False, encrypt: bool | None = None, compress: bool = False,
                   armored: bool = False, progress: Callable[[int, int], None] | None = None) -> ManyExportResult:
    """One bundle per peer that ``to`` names (``all`` or ``RU,UK,FR``, see :func:`recipients_of`) in
    ``directory`` (``us-to-ru.cbm`` and its ``.minisig``), each exactly what :func:`export_to_path` would write
    for that peer alone, read from the store in one pass.

    One transaction signs the receipts due to each recipient, reads every log once, journals every bundle
    number and writes (stages) every file; it commits once they are all written and fsync'd, and they are put in
    place after it. A file that cannot be written raises UsageError and leaves the store and the directory as
    they were (docs/adr/0300).
    Raises NotFound for an unknown peer, UsageError for ourselves, a directory that cannot be made or a
    malformed ``[forwarding]`` policy.
    ``progress(done, total)`` hears the log positions read, for all the peers at once (one pass).
    """
    policy = forwarding.policy_of(store.config)
    recipients, skipped = recipients_of(store, to)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create {directory}: {e.strerror}") from e
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory", hint="-o DIR/ names a folder for one file per peer")
    store.signer()
    written: list[tuple[ExportResult, _Staging]] = []
    with ExitStack() as files:
        files.enter_context(temporary_directory(store.root / TEMP))
        with store.transaction():
            receipts_due = {r: receipts.due_in_transaction(store, r) for r in recipients}
            snapshots = _snapshot(store, recipients, files, number=None, everything=everything, compress=compress,
                                  policy=policy, progress=progress)
            for snap in snapshots:
                path = directory / bundle_name(store.party, snap.recipient)
                staging = _Staging(StagedWriter(path))
                files.callback(staging.discard)
                try:
                    result, signature = _write_out(store, snap, receipts_due[snap.recipient], staging.bundle.out,
                                                   encrypt=encrypt, armored=armored, sign_minisig=minisig)
                except OSError as e:
                    raise UsageError(f"cannot write {path}: {e.strerror}") from e
                staging.finish(signature)
                written.append((result, staging))
                snap.body.close()  # free the disk as we go: 57 bodies of a large feed need not coexist longer
                snap.zipped.close()
        results = [staging.land(result) for result, staging in written]
    return ManyExportResult(str(directory), results, skipped)
