"""A fresh feed's batch records, made in the reader process (docs/adr/0225-batches-made-by-the-reader.md).

When a large CSV or plain-list feed is bulk-loaded (the 1M feed's path), every row the reader makes is certainly
new unless this import met its id before or the importing party held its id or value when the import began
(docs/adr/0280): the writer seeds the reader's filters with what it held. So the reader process groups its rows
per TLP into batches exactly as :class:`~cbm.measures.indicators.writer.BatchWriter` does, keeps the Bloom filter
of the ids met, holds back the rows it may have met or held (for the writer to land through the exact path at
the end), encodes each
batch's body as the canonical bytes that will be signed, and runs the landing checks over its rows. The importing
process is left to sign, insert and index.

The messages go through the pipe as marshal'd tuples, each tagged with its first element:

- ``("batch", tlp, body bytes, rows, first ids, flags, read, repeated)``: a batch of new rows, ``flags`` the
  landing checks' verdicts as ``{(type, value): flags}`` for the rows flagged (None when the batch holds a free
  pattern, or when the writer keeps up with the reader, see :class:`Backlog`: the writer's process checks it);
  ``read`` and ``repeated`` count the rows read since the last message
  and those that fell onto a row of the same batch;
- ``("held", [(row, tlp), ...], read)``: rows held back, for the writer's ``_deferred``, at most ``HELD_CHUNK``
  a message, sent as soon as that many wait (the reader keeps no more than a chunk of them); ``read``: the rows
  read since the last message that counted them (the writer screens held-back rows once they are a share of
  all read, docs/adr/0303);
- ``("unbulk", filter)``: too many rows held back (``BatchWriter.MAX_DEFERRED``): the writer ends the bulk
  load now, and the reader hands every row from here on as it reads it (and the ids met so far, as the filter:
  the reader process sends its bits raw, right after this message, without copying them; docs/adr/0252);
- ``("lookup",)``: at the end, when rows were held back: every held row is an id the reader met, so the writer
  looks each one up in the store (its filter would answer "maybe" for every one of them: none is handed over);
- ``("rows", [(row, tlp), ...], read, repeated)``: rows the writer groups itself (those pending at an
  ``unbulk``), at most ``HELD_CHUNK`` a message, and the counts not yet sent (in the last).
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Iterator
from functools import partial
from itertools import compress
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cbm.core.bloom import SeenFilter
from cbm.core.canonical import encode_plain
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.formats import Item, RowBlock
from cbm.measures.indicators.index_rows import Check, column_flags

if TYPE_CHECKING:
    from cbm.measures.indicators.writer import BatchWriter
    from cbm.store.db import Store

Message = tuple[Any, ...]
_ITEM = Item
_BLOCK = RowBlock
_ID_OF = itemgetter(R.ID)
HELD_CHUNK = 2000  # rows a "held" or "rows" message carries at most (a pipeline chunk's size)
WRITER_BEHIND = 2  # batches sent and not landed from which the reader runs the landing checks itself
_TYPE_OF, _VALUE_OF = itemgetter(R.TYPE), itemgetter(R.VALUE)
_STR_OR_NONE = {str, type(None)}


def body_bytes(rows: list[list[Any]], source: str | None) -> bytes:
    """The canonical bytes of a batch body of ``rows`` (cbm-made: str, int, None and lists of str only), as
    :class:`~cbm.measures.indicators.writer.BatchWriter` writes it."""
    body: dict[str, Any] = {"fields": list(R.FIELDS), "rows": rows}
    if source:
        body["source"] = source
    return encode_plain(body)


def flags_of(rows: list[list[Any]], check: Check) -> dict[tuple[str, str | None], list[str]] | None:
    """The landing checks' flags of each flagged ``(type, value)`` among ``rows``; None if a row is a free
    pattern (its further values are checked too, by the index, which reads them from the pattern). As the index
    checks a batch's columns (:func:`~cbm.measures.indicators.index_rows.column_flags`)."""
    kinds = list(map(_TYPE_OF, rows))
    if "pattern" in kinds:
        return None
    if min(map(len, rows), default=0) > R.VALUE:  # a feed's rows: the value column whole, in C-level passes
        values = list(map(_VALUE_OF, rows))
        if not set(map(type, values)) <= _STR_OR_NONE:
            values = [v if type(v) is str else None for v in values]
    else:
        values = [row[R.VALUE] if len(row) > R.VALUE and type(row[R.VALUE]) is str else None for row in rows]
    found = column_flags(check, kinds, values)
    if len(found) != len(kinds):
        raise ValueError("the landing checks answered for another number of rows")
    # only the flagged few are visited: compress skips the empty answers in C
    return {(kinds[i], values[i]): list(found[i]) for i in compress(range(len(found)), found)}


class Backlog:
    """How many batch messages the reader process sent that the writer has not landed yet: the reader counts
    what it sends, the writer what it landed, in 8 bytes of memory both processes share (an anonymous shared
    map, made before the fork). It decides only who runs the landing checks of the next batch, whose flags are
    the same either way (docs/adr/0259): a stale count moves work between the processes, never changes a result.
    """

    def __init__(self) -> None:
        self._landed = mmap.mmap(-1, 8)  # MAP_SHARED | MAP_ANONYMOUS: the forked reader sees the writer's count
        self.sent = 0  # in the reader process

    def landed(self) -> None:
        """The writer landed one more batch message (called in the writer's process)."""
        self._landed[:8] = (int.from_bytes(self._landed[:8], "little") + 1).to_bytes(8, "little")

    def writer_behind(self) -> bool:
        """Whether at least ``WRITER_BEHIND`` batches wait for the writer (it is the slower process now), asked
        by the reader before it sends one more."""
        return self.sent - int.from_bytes(self._landed[:8], "little") >= WRITER_BEHIND


class BatchMaker:
    """Groups a fresh feed's rows into batch messages, as ``BatchWriter`` would group them in bulk mode.

    ``check`` is the store's landing checks; ``max_held`` is ``BatchWriter.MAX_DEFERRED``; ``seeded``: the
    filters of the ids and values the importing party held when the import began (None: it held none), whose
    rows are held back too (docs/adr/0280)."""

    def __init__(self, *, source: str | None, check: Check | None, batch_size: int = R.MAX_ROWS,
                 max_held: int = 50_000, expected_rows: int = 0,
                 seeded: tuple[SeenFilter, SeenFilter] | None = None) -> None:
        self.source = source
        self.expected_rows = expected_rows  # sizes the id filter, as the writer's (it is handed over whole)
        self.check = check
        self.batch_size = batch_size
        self.max_held = max_held
        self.pending: dict[str, dict[str, list[Any]]] = {}
        # made in the reader process, not in the writer before the fork, unless seeded with what the store holds
        self._seen: SeenFilter | None = seeded[0] if seeded else None
        self._held_values = seeded[1] if seeded else None
        self.held = 0
        self.held_rows: list[tuple[list[Any], str]] = []
        self.bulk = True
        self.leftover: RowBlock | None = None  # the rows of a block read after the bulk load ended
        self.read = 0  # rows read since the last message
        self.repeated = 0
        # who runs the landing checks: the reader while the writer lags, else the writer (docs/adr/0259); None:
        # always the reader
        self.backlog: Backlog | None = None
        # with ``check`` None: the checks once the store's warninglists are compiled, else None (docs/adr/0285)
        self.late_check: Callable[[], Check | None] | None = None

    def add_all(self, pairs: Iterator[Any]) -> Iterator[Message]:
        """The messages due as each ``(row, tlp)`` pair of ``pairs`` (rows not yet trimmed), or each row of a
        :class:`~cbm.measures.indicators.formats.RowBlock` (trimmed), is read, in one loop (a feed's million rows
        pass here): each row joins its TLP's pending batch, replacing a row of the same id there (a repeat); a
        full batch is flushed. Anything else ``pairs`` yields (a bad line) is yielded as it is, in order with the
        messages. Stops, leaving the rest of ``pairs`` unread, once the bulk load ended (the rest of a block then
        in :attr:`leftover`)."""
        pending, size, read = self.pending, self.batch_size, 0
        for item in pairs:
            if type(item) is _BLOCK:
                self.read += read
                read = 0
                yield from self._add_block(item)
                if not self.bulk:
                    return
                pending = self.pending
                continue
            if type(item) is not _ITEM:
                yield item
                continue
            row, tlp = item
            if row[-1] is None:
                R.trim(row)
            rows = pending.get(tlp)
            if rows is None:
                rows = pending[tlp] = {}
            sid = row[0]
            if sid in rows:
                self.repeated += 1
            rows[sid] = row
            read += 1
            if len(rows) >= size:
                self.read += read
                read = 0
                yield from self._flush(tlp)
                pending = self.pending
                if not self.bulk:
                    return
        self.read += read

    def _add_block(self, block: RowBlock) -> Iterator[Message]:
        """:meth:`add_all` for the rows of a block (docs/adr/0286). When no batch can fill up within the block,
        its rows are grouped by TLP in two C-level passes and each group joins its batch in one update (a
        repeat replaces its row in place, as one at a time; the repeats are what the batch did not grow by);
        else a row at a time, so that batches are flushed in the order their last row was read."""
        rows, tlps = block
        size, pending = self.batch_size, self.pending
        groups: dict[str, list[list[Any]]] = {tlp: [] for tlp in dict.fromkeys(tlps)}  # as first read
        if all(len(pending.get(tlp, ())) + tlps.count(tlp) < size for tlp in groups):
            for _ in map(list.append, map(groups.__getitem__, tlps), rows):
                pass
            for tlp, group in groups.items():
                batch = pending.get(tlp)
                if batch is None:
                    batch = pending[tlp] = {}
                had = len(batch)
                batch.update(zip(map(_ID_OF, group), group, strict=True))
                self.repeated += had + len(group) - len(batch)
            self.read += len(rows)
            return
        read = repeated = 0
        for at, (row, tlp) in enumerate(zip(rows, tlps, strict=True)):
            batch = pending.get(tlp)
            if batch is None:
                batch = pending[tlp] = {}
            sid = row[0]
            if sid in batch:
                repeated += 1
            batch[sid] = row
            read += 1
            if len(batch) >= size:
                self.read += read
                self.repeated += repeated
                read = repeated = 0
                yield from self._flush(tlp)
                pending = self.pending
                if not self.bulk:
                    self.leftover = _BLOCK(rows[at + 1:], tlps[at + 1:])
                    return
        self.read += read
        self.repeated += repeated

    def forget_seeded(self) -> None:
        """In the importing process, once the reader process forked with this maker: let go of the seeded filters,
        which only the reader's copy asks from here (docs/adr/0303)."""
        self._seen = self._held_values = None

    @property
    def seen(self) -> SeenFilter:
        """The filter of the ids met (up to 16 MiB), made on first use: in the reader process, so that the
        writer, which makes this object before the fork, never holds a copy."""
        if self._seen is None:
            self._seen = SeenFilter(self.expected_rows)
        return self._seen

    def finish(self) -> Iterator[Message]:
        """The messages due at the end of the feed: every pending batch, then the rows held back."""
        for tlp in list(self.pending):
            if not self.bulk:
                break
            yield from self._flush(tlp)
        if self.bulk and (self.held or self.held_rows):  # the writer lands them through the exact path
            yield ("lookup",)
        yield from self._handover()

    def _flush(self, tlp: str) -> Iterator[Message]:
        rows = self.pending.pop(tlp, {})
        if not rows:
            return
        maybe = self.seen.seen_before(rows)
        if self._held_values is not None:  # a row whose value we hold may take the id we hold it under
            values = [row[R.VALUE] if len(row) > R.VALUE and row[R.VALUE] is not None else "" for row in rows.values()]
            maybe = [a or b for a, b in zip(maybe, self._held_values.may_hold(values), strict=True)]
        if True in maybe:
            self.held_rows.extend((rows.pop(sid), tlp) for sid, m in zip(list(rows), maybe, strict=True) if m)
            if self.held + len(self.held_rows) > self.max_held:
                # as BatchWriter._flush: the rows held back land (the bulk load ends) before this batch's new ones
                yield from self._send_held()
                yield ("unbulk", self.seen.bits)  # the bits themselves: the reader process sends them raw
                self.bulk = False
            elif len(self.held_rows) >= HELD_CHUNK:
                yield from self._send_held()
        fresh = list(rows.values())
        if fresh:
            backlog = self.backlog
            # flags None: the writer's process checks the rows as they land, as it does a free pattern's batch
            flags = None
            if backlog is None or backlog.writer_behind():
                if self.check is None and self.late_check is not None:
                    self.check = self.late_check()  # None while the store's warninglists are compiling
                if self.check is not None:
                    flags = flags_of(fresh, self.check)
            yield ("batch", tlp, body_bytes(fresh, self.source), len(fresh), [r[R.ID] for r in fresh[:100]],
                   flags, self.read, self.repeated)
            self.read = self.repeated = 0
            if backlog is not None:
                backlog.sent += 1
        if not self.bulk:
            yield from self._handover()

    def _send_held(self) -> Iterator[Message]:
        """The rows held back and not yet sent, in order, in messages of at most ``HELD_CHUNK``."""
        held, self.held_rows = self.held_rows, []
        self.held += len(held)
        for part in _chunked(held):
            yield ("held", part, self.read)

    def _handover(self) -> Iterator[Message]:
        """Rows held back, then (once the bulk load ended) the rows still pending, for the writer to group: in
        messages of at most ``HELD_CHUNK`` rows, the counts not yet sent in the last."""
        yield from self._send_held()
        pending = [(row, tlp) for tlp, rows in self.pending.items() for row in rows.values()]
        self.pending = {}
        parts = _chunked(pending) or [[]]
        for part in parts[:-1]:
            yield ("rows", part, 0, 0)
        if parts[-1] or self.read or self.repeated:
            yield ("rows", parts[-1], self.read - len(pending), self.repeated)
            self.read = self.repeated = 0


def maker_for(store: Store, writer: BatchWriter, source: str | None, checks_ready: bool = True) -> BatchMaker | None:
    """What makes the batches in the reader process, when ``writer`` can take them (docs/adr/0225); else None.
    The store's landing checks are loaded here, before the reader forks, so it inherits them and never opens
    the store or its files; unless ``checks_ready`` is False (the store's warninglists are being compiled beside
    it): the reader then reads the compiled file once the importing process has written it (docs/adr/0285)."""
    if not writer.takes_made_batches:
        return None
    from cbm.measures.indicators import index

    maker = BatchMaker(source=source, check=store.query(index.checker).check if checks_ready else None,
                       batch_size=writer.batch_size, max_held=writer.MAX_DEFERRED,
                       expected_rows=writer.expected_rows, seeded=writer.hand_over_filters())
    if not checks_ready:
        maker.late_check = partial(_compiled_check, *store.query(index.checks_of)[:2])
    return maker


def _compiled_check(root: Path, config: dict[str, Any]) -> Check | None:
    from cbm.measures.indicators.checks import checker_if_compiled

    checker = checker_if_compiled(root, config)
    return checker.check if checker is not None else None


def _chunked(rows: list[Any]) -> list[list[Any]]:
    """``rows`` in order, in lists of at most ``HELD_CHUNK`` (none for no rows)."""
    return [rows[start:start + HELD_CHUNK] for start in range(0, len(rows), HELD_CHUNK)]
