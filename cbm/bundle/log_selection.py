"""What one recipient gets of one author's log: the positions we hold, read once and prepared once for every
recipient (:class:`Carried`), and per recipient the records it may see, the rest folded into withheld ranges, up
to the late-forwarding limit (:class:`LogWriter`; docs/adr/0173-late-forwarding.md)."""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass

from cbm.bundle.format import LogRange, withheld_line
from cbm.bundle.streams import HashingWriter
from cbm.core import dsse
from cbm.core.tlp import may_see
from cbm.store import index_bundles
from cbm.store.db import Store
from cbm.store.record_rows import record_from_row


@dataclass(frozen=True)
class Position:
    first: int
    last: int
    hash: str
    envelope: bytes | None  # None: a withheld range we hold only as such
    to: tuple[str, ...] = ()
    tlp: str = ""


def positions(store: Store, author: str, after: int) -> Iterator[Position]:
    """Every position of ``author``'s log after ``after`` that we hold, in seq order."""
    stubs = store.query(index_bundles.withheld_ranges, author, after)
    rows = store.query(index_bundles.log_rows, author, after)
    row = next(rows, None)
    i = 0
    while row is not None or i < len(stubs):
        if row is not None and (i >= len(stubs) or row[0] < stubs[i][0]):
            yield Position(row[0], row[0], row[1], row[4], row[2], row[3])
            row = next(rows, None)
        else:
            first, last, digest = stubs[i]
            yield Position(max(first, after + 1), last, digest, None)
            i += 1


_PAYLOAD = re.compile(rb'"payload":"([A-Za-z0-9+/=]*)"')


def blobs_of(envelope: bytes) -> list[str]:
    """The attachments a stored record lists in ``body["blobs"]`` (parsed only when it mentions any)."""
    found = _PAYLOAD.search(envelope)
    payload = binascii.a2b_base64(found[1]) if found else dsse.parse(envelope).payload
    if b'"blobs"' not in payload:
        return []
    listed = record_from_row(envelope, "").body.get("blobs")
    return [d for d in listed if isinstance(d, str)] if isinstance(listed, list) else []


class Carried:
    """One stored position, prepared once however many recipients carry it: the envelope as one line and the
    attachments it lists (a multi-recipient export reads and parses each record once, not once per peer)."""

    def __init__(self, position: Position) -> None:
        self.position = position
        self._line: bytes | None = None
        self._blobs: list[str] = []

    def line(self) -> bytes:
        if self._line is None:
            assert self.position.envelope is not None
            envelope = self.position.envelope
            if b"\n" in envelope:
                envelope = dsse.parse(envelope).to_json_bytes()
            self._line = envelope + b"\n"
            self._blobs = blobs_of(envelope)
        return self._line

    def blobs(self) -> list[str]:
        self.line()
        return self._blobs


class LogWriter:
    """One recipient's part of one author's log, fed positions in seq order: the records it may see, every
    other position folded into withheld ranges (the hash of the last), so the recipient's chain still links."""

    def __init__(self, recipient: str, author: str, after: int, out: HashingWriter, blobs: dict[str, None], *,
                 upto: int | None = None, forwarded: bool = False) -> None:
        self.recipient, self.author, self.after = recipient, author, after
        self.out, self.blobs = out, blobs
        self.upto = upto  # late forwarding: positions after this wait for a later bundle (None: no limit)
        self.forwarded = forwarded  # a third party's log: count what it carries as forwarded
        self.expect = after + 1
        self.records = self.withheld = 0
        self.forwarded_records = self.forwarded_bytes = self.deferred = 0
        self.pending: tuple[int, int, str] | None = None
        self.last_hash: str | None = None
        self.stopped = False
        self.labels: dict[str, int] = {}  # TLP label -> records carried (for the encryption default)

    def _flush(self) -> None:
        if self.pending is not None:
            first, last, digest = self.pending
            self.out.write(withheld_line(self.author, first, last, digest) + b"\n")
            self.withheld += last - first + 1
            self.pending = None

    def add(self, carried: Carried) -> None:
        position = carried.position
        if self.stopped or position.last <= self.after:
            return  # already acknowledged by this recipient
        visible = position.envelope is not None and may_see(self.recipient, self.author, position.to, position.tlp)
        if self.upto is not None and position.first > self.upto:
            self.deferred += visible  # not yet: the recipient may get it from its author (ADR 0173)
            return
        first = max(position.first, self.after + 1)  # only a withheld range can straddle the acknowledged seq
        if first != self.expect:
            self.stopped = True  # a hole in what we hold (cannot happen for landed records): stop this log there
            return
        if visible:
            self._flush()
            line = carried.line()
            self.out.write(line)
            self.records += 1
            if self.forwarded:
                self.forwarded_records += 1
                self.forwarded_bytes += len(line)
            self.labels[position.tlp] = self.labels.get(position.tlp, 0) + 1
            for digest in carried.blobs():
                self.blobs.setdefault(digest, None)
        else:
            self.pending = (self.pending[0], position.last, position.hash) if self.pending else \
                (first, position.last, position.hash)
        self.expect, self.last_hash = position.last + 1, position.hash

    def finish(self) -> LogRange | None:
        self._flush()
        if self.last_hash is None:
            return None
        return LogRange(self.author, self.after + 1, self.expect - 1, self.last_hash, self.records, self.withheld)
