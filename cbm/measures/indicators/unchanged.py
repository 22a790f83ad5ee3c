"""The screen of a large import of our own feed into a store holding ours: the rows that are certainly the
version we hold, told by their digest before any look-up and counted unchanged (docs/adr/0292), and when that
pays for a reader process's held-back rows (docs/adr/0303)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import compress, groupby
from operator import itemgetter, not_
from typing import Any

from cbm.core.bloom import IndependentFilter
from cbm.measures.indicators import row_digest
from cbm.measures.indicators import rows as R

Pair = tuple[list[Any], str]  # (row, tlp)


class UnchangedScreen:
    """Skips a cbm-made row (every id derived from its pattern, so no row of the import can take another's id)
    whose digest is that of the version we held when the import began and whose id no earlier row of this import
    took on to the exact path (which may have landed another version since). The exact path would find each of
    them unchanged too; it takes the rest, as before.

    ``load`` gives the held digests (:func:`~cbm.measures.indicators.held.held_digests`), called at the first
    row that needs them: after the reader process forked, so it never holds a copy. ``count`` is told how many
    rows each call skipped."""

    # A reader process's held-back rows are screened once they make up this share of the rows read: a re-import
    # (most rows held) at its first held rows; a new feed (the filters' false positives, about 3 % with 1M held)
    # never, so it loads no digests and its few held-back rows take the exact path (docs/adr/0303)
    SHARE = 0.10

    def __init__(self, to: tuple[str, ...], expected_rows: int, load: Callable[[], row_digest.HeldDigests],
                 count: Callable[[int], None]) -> None:
        self.to = to
        self.expected_rows = expected_rows
        self._load = load
        self._count = count
        self.digests: row_digest.HeldDigests | None = None
        # the ids of rows that went on to the exact path: asked about held ids, so not probed as the seeded filter
        self._went_on: IndependentFilter | None = None
        self._held = 0  # rows a reader process held back
        self._unscreened = 0  # of those, how many at the end of the writer's held-back rows wait unscreened

    def rows(self, rows: dict[str, list[Any]], tlp: str) -> dict[str, list[Any]]:
        """``rows`` (one batch of ``tlp``, by id) without the unchanged ones."""
        if not rows:
            return rows
        kept = [R.trim(row) if row[-1] is None else row for row in rows.values()]
        skip = self._unchanged(list(rows), row_digest.digests(kept, tlp, self.to))
        if True not in skip:
            return rows
        self._count(sum(skip))
        return {sid: row for (sid, row), same in zip(rows.items(), skip, strict=True) if not same}

    def pairs(self, pairs: list[Pair]) -> list[Pair]:
        """:meth:`rows` for ``(row, tlp)`` pairs in the order read (rows trimmed)."""
        if not pairs:
            return pairs
        found: list[bytes | None] = []
        for tlp, group in groupby(pairs, key=itemgetter(1)):
            found.extend(row_digest.digests([row for row, _ in group], tlp, self.to))
        skip = self._unchanged([row[R.ID] for row, _ in pairs], found)
        if True not in skip:
            return pairs
        self._count(sum(skip))
        return [pair for pair, same in zip(pairs, skip, strict=True) if not same]

    def hold(self, held_back: list[Pair], pairs: list[Pair], read: int) -> None:
        """Add to ``held_back`` (the writer's rows for the exact path at the end) the rows a reader process held
        back, of the ``read`` rows it read so far (these included): screened once held rows are at least
        :attr:`SHARE` of the rows read, those kept unscreened until then first, in order; before that as they
        came. Rows never screened land through the exact path, which tells an unchanged row from its held
        version."""
        self._held += len(pairs)
        if self.digests is None and self._held < self.SHARE * read:
            held_back.extend(pairs)
            self._unscreened += len(pairs)
            return
        if self._unscreened:  # the tail of held_back: nothing joined it after them
            start = len(held_back) - self._unscreened
            pairs = held_back[start:] + pairs
            del held_back[start:]
            self._unscreened = 0
        held_back.extend(self.pairs(pairs))

    def landing(self) -> None:
        """The held-back rows land now (screened or not): none waits any more."""
        self._unscreened = 0

    def _unchanged(self, sids: list[str], digests: list[bytes | None]) -> list[bool]:
        """Whether each row (its id, its digest; in the order read) is skipped as unchanged; every other row's id
        is remembered as gone on to the exact path."""
        if self.digests is None:
            self.digests = self._load()
            self._went_on = IndependentFilter(self.expected_rows)
        assert self._went_on is not None
        same = self.digests.holds(digests)
        if True in same:
            went_on = iter(self._went_on.may_hold(compress(sids, same)))
            same = [held and not next(went_on) for held in same]
            if len(set(sids)) < len(sids):  # a reader's held rows may bring an id twice: the later after the earlier
                gone: set[str] = set()
                for i, sid in enumerate(sids):
                    if same[i] and sid in gone:
                        same[i] = False
                    if not same[i]:
                        gone.add(sid)
        self._went_on.seen_before(compress(sids, map(not_, same)))
        return same
