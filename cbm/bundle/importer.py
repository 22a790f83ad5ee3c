"""Import: verify a bundle, land every record in one transaction with our signed receipt, then (once it has
committed) hand what landed to ``react``: the application layer passes the measures' reactions
(:mod:`cbm.app.imports`); this package knows no measure.

Refused with nothing changed (equivocation evidence excepted): bad or missing signatures, unknown, revoked or
rotated-out signers, tampered or truncated bytes, a bundle for another party, malformed or oversized content,
chains that do not link. Records whose predecessors are missing are held; re-importing is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from cbm.bundle import receipts
from cbm.bundle.export import TEMP
from cbm.bundle.format import BlobEntry, Manifest
from cbm.bundle.reader import EncryptedOnly, Item, RecordItem, items, open_bundle
from cbm.bundle.streams import stream_of, temporary_directory
from cbm.core.errors import InputRejected, WrongRecipient
from cbm.core.memory import cycle_collector_paused
from cbm.core.records import Record
from cbm.store import index_bundles
from cbm.store.blobs import StagedBlobs
from cbm.store.claims import Claim
from cbm.store.db import Store
from cbm.store.ingest import IngestReport, ReadRecord, WithheldRange, ingest
from cbm.store.rosters import RosterChange

BULK_BYTES = 4 * 1024 * 1024  # a bundle this large may be a feed: see cbm.store.indexes.bulk_landing


@dataclass
class ImportResult:
    sender: str
    number: int
    bundle: str
    layers: list[str]
    landed: dict[str, int] = field(default_factory=dict)  # author -> records landed
    duplicates: int = 0
    withheld_new: int = 0
    held: int = 0
    missing: dict[str, tuple[int, int]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # author we do not know -> records not taken
    blobs: int = 0
    receipt: str | None = None
    already_imported: str | None = None  # when we first acknowledged this very bundle
    reactions: int = 0  # records the measures appended in response
    roster_changes: list[RosterChange] = field(default_factory=list)  # keys a roster introduced, rotated, retired
    # claims about others' logs (withheld ranges) that their authors' own records contradicted, newly recorded
    # against whoever made them (docs/adr/0110-claims-about-a-log.md)
    claims: list[Claim] = field(default_factory=list)
    # what the measures say about what landed, one line each (filled by the application layer, cbm/app/imports.py)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.landed or self.withheld_new or self.held or self.receipt or self.claims)


@cycle_collector_paused()
def import_bundle(store: Store, source: BinaryIO, *, source_name: str | None = None,
                  react: Callable[[Store, Sequence[Record]], list[Record]] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Verify and import one bundle. See the module docstring for what is refused (error classes carry the
    exit codes). Returns what landed, what is held and the exact missing ranges. ``react(store, landed)`` runs
    after the commit when peer records landed; ``reactions`` counts the records it appended.
    ``progress(done, total)`` hears how many of the bundle's records have been landed (or found known) while
    they land, once its manifest and body hash have verified (:func:`cbm.store.ingest.ingest`).
    """
    store.signer()  # unlock our key first: a wrong passphrase must fail before anything is read

    def addressed_to_us(manifest: Manifest) -> None:
        if manifest.sender == store.party:
            raise InputRejected("this bundle was made by us; import it at the store of its recipient")
        if store.party not in manifest.recipients:
            raise WrongRecipient(f"this bundle is for {', '.join(manifest.recipients)}, not for {store.party}",
                                 hint="import it at the store of the party it names")

    try:
        with temporary_directory(store.root / TEMP):
            opened = open_bundle(source, store, party=store.party, decrypt_with=store.key_pairs,
                                 check=addressed_to_us)
    except EncryptedOnly as e:
        raise WrongRecipient(f"this bundle is encrypted for {', '.join(e.header.recipients)}, not for "
                             f"{store.party}", hint="import it at the store of the party it names") from e
    with opened, StagedBlobs(store.blobs) as staged:
        manifest = opened.manifest
        result = ImportResult(manifest.sender, manifest.number, opened.bundle_id, opened.layers)
        earlier = store.query(index_bundles.receipt_for_bundle, store.party, opened.bundle_id)
        unknown = {log.author for log in manifest.logs
                   if log.author != store.party and not store.party_exists(log.author)}

        wanted: set[str] = set()  # attachments of the records we take (not of those by unknown authors)

        def blob_sink(entry: BlobEntry, chunks: Iterator[bytes]) -> None:
            if entry.sha256 not in wanted or store.blobs.has(entry.sha256):
                return
            staged.put(stream_of(chunks), expected=entry.sha256, max_bytes=entry.size)

        def feed() -> Iterator[ReadRecord | WithheldRange]:
            item: Item
            for item in items(opened, blob_sink):
                if isinstance(item, RecordItem):
                    if item.author in unknown:
                        result.skipped[item.author] = result.skipped.get(item.author, 0) + 1
                        continue
                    wanted.update(item.blobs())
                    yield ReadRecord(item.envelope, item.parsed(), item.hash)  # read once, verified at landing
                elif item.author not in unknown:
                    yield item
            # the whole bundle verified, to its last byte: its attachments take their names (a refused bundle
            # leaves none behind, docs/adr/0305), before the records that list them commit
            result.blobs = staged.publish()

        unmatched: list[receipts.OwnLogAck] = []

        def finish(report: IngestReport) -> None:
            # A peer's receipt (this sender's, just landed, or another's) may acknowledge more of our own log
            # than we hold (a store restored from an older copy): our receipt would then take a number that peer
            # holds from us, whoever it goes to (docs/adr/0304).
            unmatched.extend(receipts.own_log_unmatched(store))
            if unmatched:
                return
            if receipts.needs_receipt(store, manifest.sender):
                body = {"logs": receipts.holdings(store, manifest.sender), "bundle": opened.bundle_id,
                        "from": manifest.sender, "number": manifest.number}
                result.receipt = receipts.append_in_transaction(store, manifest.sender, body).hash

        # a large bundle from peers whose records we hold none of: the indexes may take it in bulk
        bulk = [log.author for log in manifest.logs if log.records and log.author != store.party
                and log.author not in unknown] if manifest.body_size >= BULK_BYTES else []
        report = ingest(store, feed(), source=source_name or f"bundle {opened.bundle_id[:12]}", finish=finish,
                        claimant=manifest.sender, claim_source=f"bundle {opened.bundle_id}",
                        bulk_authors=bulk, bulk_bytes=manifest.body_size,
                        progress=progress,
                        expected=sum(log.records for log in manifest.logs if log.author not in unknown))
    landed = report.landed.excluding(store.party)  # read back one at a time by the hooks: bounded memory
    result.landed = landed.by_author()
    result.duplicates, result.withheld_new = report.duplicates, report.withheld_new
    result.held, result.missing = len(report.held), dict(report.missing)
    result.roster_changes = report.roster_changes
    result.claims = list(report.claims)
    if earlier and not result.changed:
        result.already_imported = earlier[1]
    if unmatched:  # neither our receipt nor the measures' replies: each would be a record of ours
        result.warnings.extend(receipts.own_log_warnings(
            unmatched, "no receipt and no automatic reply written for this bundle: either would take a number of "
                       "our log that {holders} may already hold"))
    elif landed and react is not None:
        result.reactions = len(react(store, landed))
    return result
