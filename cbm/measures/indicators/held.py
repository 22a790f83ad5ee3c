"""What a large import into a store holding our indicators asks of the indicator index about them, in one pass
each over ``ind``: the filters of the ids and values we hold (docs/adr/0280), and the digests of our current
versions that a re-imported row may match to be skipped as unchanged (docs/adr/0292)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress
from operator import itemgetter

from cbm.core.bloom import SeenFilter
from cbm.measures.indicators import row_digest
from cbm.measures.indicators.index_shape import CHUNK
from cbm.store.indexes import Connection


def row_bound(conn: Connection) -> int:
    """An upper bound of the rows ``ind`` holds (its largest row key), at no cost."""
    return int(conn.execute("SELECT COALESCE(MAX(k), 0) FROM ind").fetchone()[0])


def held_filters(conn: Connection, author: str, expected_rows: int) -> tuple[SeenFilter, SeenFilter, list[str]]:
    """Filters of the ids and of the values (``ind.value``, ``""`` for none) of ``author``'s current indicators,
    sized for those and ``expected_rows`` more: a feed landing in bulk into a store that holds some of the
    author's indicators takes the exact path only for the rows either filter may hold (docs/adr/0280). And the
    values the filter may have met before, in landing order (a few false positives, and any value the author
    holds twice): what :func:`held_digests` needs. One pass over ``ind`` in chunks (1M held: about half a
    second)."""
    held = int(conn.execute("SELECT COALESCE(MAX(k), 0) FROM ind").fetchone()[0])  # an upper bound, at no cost
    ids, values = SeenFilter(held + expected_rows), SeenFilter(held + expected_rows)
    again: list[str] = []
    cursor = conn.execute("SELECT sid, COALESCE(value, '') FROM ind WHERE author = ? ORDER BY k", (author,))
    while chunk := cursor.fetchmany(HELD_CHUNK):
        sids, texts = zip(*chunk, strict=True)
        ids.seen_before(sids)
        again.extend(compress(texts, values.seen_before(texts)))
    return ids, values, again


HELD_CHUNK = 50_000  # rows of ``ind`` read at a time when seeding the filters


def held_digests(conn: Connection, author: str, again: Sequence[str] | None) -> row_digest.HeldDigests:
    """The digests (:mod:`~cbm.measures.indicators.row_digest`) of ``author``'s current indicators that a row of
    a cbm-made feed may match to be skipped as unchanged (docs/adr/0292). ``again``: the values
    :func:`held_filters` may have met twice (None: found here, by a filter of its own). Left out, so that such
    rows take the exact path: free patterns (one pattern, one id goes by their text, which the index does not
    keep), and every indicator whose type and value one of ``author``'s landed before it holds too (the exact
    path would give such a row that earlier id, docs/adr/0169). One pass over ``ind``, and a look-up of
    ``again``."""
    found = row_digest.HeldDigests()
    if again is None:
        met = SeenFilter(row_bound(conn))
        twice: list[str] = []
        cursor = conn.execute("SELECT digest, type <> 'pattern', COALESCE(value, '') FROM ind WHERE author = ?"
                              " ORDER BY k", (author,))
        while chunk := cursor.fetchmany(HELD_CHUNK):
            digests, simple, texts = zip(*chunk, strict=True)
            found.add_all(compress(digests, simple))
            twice.extend(compress(texts, met.seen_before(texts)))
        again = twice
    else:
        cursor = conn.execute("SELECT digest FROM ind WHERE author = ? AND type <> 'pattern'", (author,))
        while chunk := cursor.fetchmany(HELD_CHUNK):
            found.add_all(map(itemgetter(0), chunk))
    values = sorted(set(again))
    first: set[tuple[str, str]] = set()
    for i in range(0, len(values), CHUNK):
        chunk_values = values[i:i + CHUNK]
        marks = ",".join("?" * len(chunk_values))
        for digest, kind, value in conn.execute(
                f"SELECT digest, type, value FROM ind WHERE author = ? AND value IN ({marks}) ORDER BY k",
                (author, *chunk_values)):
            if (kind, value) in first:
                found.discard(digest)
            first.add((kind, value))
    return found
