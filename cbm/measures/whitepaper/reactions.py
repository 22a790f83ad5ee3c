"""The white paper measure's hooks: acknowledge what a peer published once its file is here and hash-checked
(``on_import``), and what ``cbm status`` should show (``attention``)."""

from __future__ import annotations

from collections.abc import Sequence

from cbm.core.errors import (
    TamperedContent,
)
from cbm.core.records import Record
from cbm.measures.base import Attention
from cbm.measures.whitepaper import index as ix
from cbm.measures.whitepaper.service import (
    PAPER_KINDS,
    index_text,
)
from cbm.store.db import Draft, Store


def _file_ok(store: Store, sha256: str, size: int) -> bool:
    """Whether we hold the file, of the recorded size, and its bytes hash to ``sha256`` (streamed)."""
    if not store.blobs.has(sha256) or store.blobs.path(sha256).stat().st_size != size:
        return False
    try:
        for _ in store.blobs.read(sha256):
            pass
    except TamperedContent:
        return False
    return True


def on_import(store: Store, records: Sequence[Record]) -> list[Record]:
    """Acknowledge each paper version, translation or withdrawal that just landed from a peer.

    An acknowledgement (``whitepaper.ack``, to the author only) is signed only once we hold the file and it
    hashes to what the signed record says; one missing is retried on the next import (and shown by
    ``cbm status``). Then the new files' text is indexed for search.
    """
    drafts: list[Draft | None] = []
    files: list[str] = []
    for r in records:
        if r.kind not in PAPER_KINDS or r.author == store.party:
            continue
        if store.query(ix.acked_by, r.hash, store.party):
            continue
        drafts.append(_ack_draft(store, r, files))
    # a file that arrived late: acknowledge papers received earlier whose file was missing then
    for r in _unacknowledged(store, exclude={r.hash for r in records}):
        drafts.append(_ack_draft(store, r, files))
    ready = [d for d in drafts if d is not None]
    made = store.append_many(ready) if ready else []
    if files:
        index_text(store, files)
    return made


def _ack_draft(store: Store, r: Record, files: list[str]) -> Draft | None:
    v = store.query(ix.version_by_hash, r.hash)
    t = None if v else store.query(ix.translation_by_hash, r.hash)
    if v is None and t is None:
        return None  # not folded (invalid): never acknowledged
    sha256 = v.sha256 if v else t.sha256 if t else None
    size = v.size if v else t.size if t else None
    if sha256 is not None:
        if not _file_ok(store, sha256, size or 0):
            return None
        files.append(sha256)
    doc = v.doc if v else t.doc if t else ""
    number = v.version if v else t.of_version if t else None
    return Draft("whitepaper.ack", {"ref": doc, "of": r.hash, "version": number, "sha256": sha256,
                                    "verified": sha256 is not None},
                 to=(r.author,), tlp=r.tlp)


def _unacknowledged(store: Store, exclude: set[str]) -> list[Record]:
    pending = []
    for row in store.query(ix.unacknowledged, store.party):
        if row not in exclude:
            pending.append(store.get(row))
    return pending


def attention(store: Store) -> list[Attention]:
    """Peer papers whose file has not arrived (or fails its hash), and paper records that break the rules."""
    items = []
    for hash_ in store.query(ix.unacknowledged, store.party):
        items.append(Attention("whitepaper", 1, f"paper record {hash_[:12]} arrived without its file (or the "
                                                "file fails its hash): not acknowledged", ref=hash_))
    for hash_, author, kind, reason in store.query(ix.invalid):
        items.append(Attention("whitepaper", 2, f"{author} {kind} {hash_[:12]} ignored: {reason}", ref=hash_))
    return items
