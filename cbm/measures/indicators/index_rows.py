"""The rows one ``indicators.batch`` record adds to the indicator index (index.py folds them): its ``ind`` rows,
and per indicator its flags, further pattern values, address ranges, origin and revocation at the source.

A batch in our own layout is read by columns (cbm/measures/indicators/columns.py: the columns the malformed
gate has just read), passing whole columns through where they already have the index's form; any other layout
row by row. Both give the same rows (docs/adr/0213-one-pass-indicator-landing.md; a property test holds them to
it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress, filterfalse, repeat
from operator import contains, itemgetter
from typing import Any

from cbm.measures.indicators import row_digest
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.columns import columns as batch_columns
from cbm.measures.indicators.columns import positions_by_kind

Check = Callable[[str, Any], list[str]]  # the landing checks: (type, value) -> flags


def index_time(value: Any, default: str) -> str:
    """Times in the index are ``YYYY-MM-DDTHH:MM:SSZ`` so they compare as strings."""
    if type(value) is str and len(value) == 20 and value[10] == "T" and value[19] == "Z":
        return value
    if not isinstance(value, str) or len(value) < 10:
        return default
    if len(value) == 10:
        return value + "T00:00:00Z"
    return value[:19] + "Z" if len(value) >= 19 else default


def net_range(kind: str, value: str) -> tuple[int, str, str] | None:
    if "/" not in value or kind not in ("ipv4-addr", "ipv6-addr"):
        return None
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    width = 8 if net.version == 4 else 32
    return net.version, f"{int(net.network_address):0{width}x}", f"{int(net.broadcast_address):0{width}x}"


#: Positions in an ``ind`` row (as ind_insert.INSERT takes them) of the columns :attr:`Batch.nulls` may name.
CREATED_AT, SECTORS_AT, REVOKED_AT, DIGEST_AT = 7, 12, 14, 15


Flagged = dict[tuple[str, str | None], list[str]]  # the landing checks' flags of a batch's flagged (type, value)
_NO_FLAGS: list[str] = []  # shared, never changed (a batch's flags are replaced, not appended to)


class Found:
    """The landing checks' answers the reader process found for a batch's flagged ``(type, value)`` pairs
    (docs/adr/0225), asked as a :class:`~cbm.measures.indicators.checks.Checker` is: one indicator
    (:meth:`check`) or a column (:meth:`check_many`, which :func:`column_flags` prefers)."""

    def __init__(self, flagged: Flagged) -> None:
        self.flagged = flagged

    def check(self, kind: str, value: Any) -> list[str]:
        return self.flagged.get((kind, value), _NO_FLAGS)

    def check_many(self, kinds: Sequence[str], values: Sequence[Any]) -> list[list[str]]:
        """:meth:`check` of each ``(kinds[i], values[i])``, in one C-level pass (none at all when the reader
        found nothing flagged)."""
        if not self.flagged:
            return [_NO_FLAGS] * len(kinds)
        return list(map(self.flagged.get, zip(kinds, values, strict=True), repeat(_NO_FLAGS)))


class IndRows(Sequence[tuple[Any, ...]]):
    """A batch's ``ind`` rows kept as their columns (entry ``i`` of each is row ``i``'s value there; the 16 in
    ``ind_insert.INSERT``'s order, each as long as the batch): the index binds them column by column, with no
    tuple per row (ind_insert.insert_or_ignore), and makes the row tuples only if a row is asked for (a new
    version, a peer's row held back). Equal to any sequence of the same row tuples."""

    __slots__ = ("columns", "_rows")
    __hash__ = None  # type: ignore[assignment]  # compared by content, as the list it stands for

    def __init__(self, columns: Sequence[Sequence[Any]]) -> None:
        self.columns = columns
        self._rows: list[tuple[Any, ...]] | None = None

    def _made(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            self._rows = list(zip(*self.columns, strict=True))
        return self._rows

    def __len__(self) -> int:
        return len(self.columns[1])

    def __getitem__(self, i: Any) -> Any:
        if self._rows is None and type(i) is int:  # one row (the first, for the values all rows share)
            return tuple(column[i] for column in self.columns)
        return self._made()[i]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (IndRows, list, tuple)):
            return self._made() == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"IndRows({self._made()!r})"

    def parameters(self, shared: Sequence[int], own: Sequence[int], per: int) -> list[tuple[Any, ...]]:
        """The parameters of the INSERTs of ``per`` rows each (the last one of the rest): the values at positions
        ``shared`` (the same in every row: the first row's), then the values at positions ``own`` of each row in
        turn, laid a column at a time with no tuple per row (docs/adr/0249)."""
        cells, n, width = self.columns, len(self), len(own)
        first = tuple(cells[i][0] for i in shared)
        flat: list[Any] = [None] * (n * width)
        for j, i in enumerate(own):  # each row's own values, one after the other, as the statements bind them
            flat[j::width] = cells[i]
        step = per * width
        return [first + tuple(flat[at:at + step]) for at in range(0, len(flat), step)]


@dataclass
class Batch:
    """One batch's contribution to the index, column by column: entry ``i`` of each list, and key ``i`` of each
    dict, is the batch's ``i``-th indicator (the dicts are sparse: most indicators have no alternative values,
    ranges, origin or revocation).

    Every row comes from one record, so author, rec, tlp, modified and versions (1) are the same in each; the
    index binds them once per statement (index.py)."""

    rows: Sequence[tuple[Any, ...]]  # the ``ind`` rows in ind_insert.INSERT's order (an IndRows when read by columns)
    explicit: list[bool]  # whether the indicator gave its own created time
    flags: list[Sequence[str]]  # the landing checks' flags
    alts: dict[int, list[tuple[str, str, str]]] = field(default_factory=dict)  # ind_alt rows
    nets: dict[int, list[tuple[Any, ...]]] = field(default_factory=dict)  # ind_net rows
    origins: dict[int, tuple[str | None, int | None]] = field(default_factory=dict)  # (country, asn)
    revoked: set[int] = field(default_factory=set)  # came revoked at the source
    # positions in the ``ind`` rows (CREATED_AT, SECTORS_AT, REVOKED_AT) known to be None in every row, found
    # while the columns were read (none when unknown: a row's own None is bound as usual); a hint about
    # ``rows``, not part of what the batch adds, so batches equal without it
    nulls: frozenset[int] = field(default=frozenset(), compare=False)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def sids(self) -> Sequence[str]:
        """Each row's id, in order (a column passed as it is when the rows are kept as columns)."""
        rows = self.rows
        return rows.columns[1] if isinstance(rows, IndRows) else [row[1] for row in rows]

    def take(self, keep: Sequence[int]) -> Batch:
        """The indicators at positions ``keep`` (ascending), as a batch of their own: rows kept as columns stay
        columns (each column picked in one C-level call, no tuple per row), so they still land bound a column at
        a time; a bulk landing splits most batches of a peer's feed in two (rows it holds back, the rest)."""
        where = {old: new for new, old in enumerate(keep)}
        rows = self.rows
        taken: Sequence[tuple[Any, ...]]
        if isinstance(rows, IndRows):
            if len(keep) > 1:
                pick = itemgetter(*keep)  # a tuple of those entries of a column, in C
                taken = IndRows([pick(column) for column in rows.columns])
            else:  # itemgetter of one position gives the entry, not a tuple of it
                taken = IndRows([tuple(column[i] for i in keep) for column in rows.columns])
        else:
            taken = [rows[i] for i in keep]
        return Batch(taken, [self.explicit[i] for i in keep], [self.flags[i] for i in keep],
                      {where[i]: v for i, v in self.alts.items() if i in where},
                      {where[i]: v for i, v in self.nets.items() if i in where},
                      {where[i]: v for i, v in self.origins.items() if i in where},
                      {where[i] for i in self.revoked if i in where}, self.nulls)


_STR = {str}
_NONE = type(None)
_INT_OR_NONE = {int, _NONE}
_STR_OR_NONE = {str, _NONE}


def batch_of(body: dict[str, Any], author: str, rec: int, tlp: str, modified: str, check: Check,
             to: Sequence[str] = (), *, digested: bool = True) -> Batch:
    """What batch ``body`` (record ``rec`` by ``author``, made at ``modified`` for ``to``) adds to the index,
    its flags from the landing checks' ``check``: read by columns when it is laid out as ours and every row
    carries a text id and type (the columns the malformed gate read already), else row by row. ``digested``:
    whether its rows keep their :mod:`~cbm.measures.indicators.row_digest` (only our own party's do:
    :func:`~cbm.measures.indicators.row_digest.kept_for`); else the column is NULL."""
    cells = batch_columns(body)
    if cells is not None and cells[R.ID] and set(map(type, cells[R.ID])) == _STR and \
            set(map(type, cells[R.TYPE])) == _STR:
        return from_columns(cells, author, rec, tlp, modified, check, body["rows"], to, digested=digested)
    return from_rows(R.rows_of(body), author, rec, tlp, modified, check, to, digested=digested)


def from_columns(cells: list[tuple[Any, ...]], author: str, rec: int, tlp: str, modified: str,
                 check: Check, signed: list[list[Any]], to: Sequence[str] = (), *, digested: bool = True) -> Batch:
    """:func:`batch_of` for a batch in our own layout whose rows all carry a text id and type (``signed``, the
    rows as the body holds them, ``cells`` their columns): each column whole, in C-level passes where it
    already has the index's form (a feed's usual case), row by row where not. Gives exactly what
    :func:`from_rows` gives for the same rows."""
    n = len(cells[R.ID])
    ids, kinds = cells[R.ID], cells[R.TYPE]
    values: Sequence[Any] = cells[R.VALUE]
    if not set(map(type, values)) <= _STR_OR_NONE:
        values = [v if isinstance(v, str) else None for v in values]
    created: Sequence[Any] = cells[R.CREATED]
    if created.count(None) == n:
        explicit = [False] * n
    else:
        explicit = [c is not None for c in created]
        created = [None if c is None else index_time(c, modified) for c in created]
    starts: Sequence[Any] = cells[R.VALID_FROM]
    if not _index_times(starts, n):
        starts = [None if s is None else index_time(s, modified) for s in starts]
    until: Sequence[Any] = cells[R.VALID_UNTIL]
    if not _index_times(until, n):
        until = list(map(_index_until, until))
    confidence: Sequence[Any] = cells[R.CONFIDENCE]
    if not set(map(type, confidence)) <= _INT_OR_NONE:
        confidence = [c if type(c) is int else None for c in confidence]
    sectors: Sequence[Any] = cells[R.SECTORS]
    if sectors.count(None) != n:
        sectors = [None if s is None else _sector_text(s) for s in sectors]  # a feed names few rows' sectors
    batch = Batch([], explicit, column_flags(check, kinds, values))
    revoked_text: Any = _NONES
    extras = cells[R.EXTRA]
    if extras.count(None) != n:
        batch.revoked = {i for i, extra in enumerate(extras)
                         if isinstance(extra, dict) and extra.get("revoked") is True}
        revoked_text = ["" if i in batch.revoked else None for i in range(n)]
    patterns = cells[R.PATTERN]
    free = {i for i, kind in enumerate(kinds) if kind == "pattern" and isinstance(patterns[i], str)} \
        if "pattern" in kinds else set()
    ranges = _address_ranges(kinds, values)
    for i in sorted(free.union(ranges)) if free else ranges:  # in row order, as _from_rows adds them
        if i in free:
            _pattern_parts(batch, i, ids[i], author, patterns[i], check)
        else:
            net = net_range(kinds[i], values[i])
            if net:
                batch.nets[i] = [(ids[i], author, *net)]
    countries, asns = cells[R.ORIGIN], cells[R.ASN]
    if countries.count(None) != n or asns.count(None) != n:
        for i, (country, asn) in enumerate(zip(countries, asns, strict=True)):
            origin = R.indexed_origin_of(country, asn)
            if origin is not None:
                batch.origins[i] = origin
    none_revoked = revoked_text is _NONES
    if none_revoked:
        revoked_text = [None] * n
    # kept as columns: what would be each row's tuple is bound column by column (docs/adr/0249)
    batch.rows = IndRows((_same(author, n), ids, _same(rec, n), range(n), kinds, values, _same(tlp, n), created,
                          _same(modified, n), starts, until, confidence, sectors, _same(1, n), revoked_text,
                          row_digest.digests(row_digest.canonical(signed), tlp, to) if digested else _same(None, n)))
    batch.nulls = frozenset(position for position, none in ((CREATED_AT, not any(explicit)),
                                                            (SECTORS_AT, sectors is cells[R.SECTORS]),
                                                            (REVOKED_AT, none_revoked),
                                                            (DIGEST_AT, not digested)) if none)
    return batch


_NONES = repeat(None)


def _same(value: Any, n: int) -> list[Any]:
    """A column holding ``value`` in each of ``n`` rows (one C-level fill)."""
    return [value] * n


_ADDRESS_KINDS = frozenset(("ipv4-addr", "ipv6-addr"))


def _address_ranges(kinds: Sequence[str], values: Sequence[Any]) -> list[int]:
    """Positions of the addresses whose value has a ``/`` (the candidates for :func:`net_range`), ascending:
    the address rows (the batch's positions by type, which the gate found) whose value holds one, in C-level
    passes when every one of them has a value."""
    groups = positions_by_kind(kinds)
    where = sorted(chain.from_iterable(groups.get(kind, ()) for kind in _ADDRESS_KINDS))
    texts = list(map(values.__getitem__, where))
    if texts and set(map(type, texts)) == _STR:
        return list(compress(where, map(contains, texts, repeat("/"))))
    return [i for i, value in zip(where, texts, strict=True) if isinstance(value, str) and "/" in value]


def column_flags(check: Check, kinds: Sequence[str], values: Sequence[Any]) -> list[Sequence[str]]:
    """``check`` over a batch's columns: through the checker's column method when ``check`` is a
    :class:`~cbm.measures.indicators.checks.Checker`'s (the same flags, screened in C-level passes), else
    indicator by indicator."""
    many = getattr(getattr(check, "__self__", None), "check_many", None)
    return many(kinds, values) if many is not None else list(map(check, kinds, values))


def _index_times(column: Sequence[Any], n: int) -> bool:
    """Whether every entry of ``column`` (``n`` long) is None or already a ``YYYY-MM-DDTHH:MM:SSZ`` string, the
    index's form, kept as it is: a feed's times usually are. Checked in C-level passes over the column."""
    texts = list(filter(None, column))
    if len(texts) < n and list(filterfalse(None, column)).count(None) + len(texts) != n:
        return False  # falsy values other than None ("" or 0): read one by one (only the falsy compared with None)
    if not texts:
        return True
    if set(map(type, texts)) != _STR or set(map(len, texts)) != {20}:
        return False
    joined = "".join(texts)
    return joined[10::20] == "T" * len(texts) and joined[19::20] == "Z" * len(texts)


def _index_until(until: Any) -> str | None:
    """A row's valid-until as the index keeps it: already in the index's form, as it is; else normalised, with
    no default (an unreadable time is no end)."""
    if type(until) is str and len(until) == 20 and until[19] == "Z":
        return until
    return None if until is None else (index_time(until, "") or None)


def _sector_text(sectors: Any) -> str | None:
    """A row's sectors as the index keeps them, ``,a,b,`` (so ``LIKE '%,a,%'`` finds one), or None."""
    if type(sectors) is not list or not sectors:
        return None
    try:
        return "," + ",".join(sectors) + ","
    except TypeError:
        return "," + ",".join(s for s in sectors if isinstance(s, str)) + ","


def _pattern_parts(batch: Batch, i: int, sid: str, author: str, pattern: str, check: Check) -> None:
    """A free pattern's further values (ind_alt), ranges (ind_net) and flags, for the ``i``-th indicator."""
    from cbm.measures.indicators.patterns import values as pattern_values

    found = pattern_values(pattern)
    batch.alts[i] = [(sid, author, extra_value) for _kind, extra_value in found[1:]]
    nets = [(sid, author, *net) for net in (net_range(k, v) for k, v in found) if net]
    if nets:
        batch.nets[i] = nets
    batch.flags[i] = list(dict.fromkeys(flag for k, v in found for flag in check(k, v)))


def from_rows(rows: list[list[Any]], author: str, rec: int, tlp: str, modified: str, check: Check,
              to: Sequence[str] = (), *, digested: bool = True) -> Batch:
    """:func:`batch_of` row by row, for any layout (rows already mapped to FIELDS and padded by rows_of)."""
    batch = Batch([], [], [])
    made: list[tuple[Any, ...]] = []
    digests = row_digest.digests(row_digest.canonical(rows), tlp, to) if digested else [None] * len(rows)
    for pos, row in enumerate(rows):
        sid, kind, value = row[R.ID], row[R.TYPE], row[R.VALUE]
        if not isinstance(value, str):
            value = None
        confidence = row[R.CONFIDENCE] if type(row[R.CONFIDENCE]) is int else None
        extra = row[R.EXTRA]
        revoked = isinstance(extra, dict) and extra.get("revoked") is True
        created, start, until = row[R.CREATED], row[R.VALID_FROM], row[R.VALID_UNTIL]
        batch.flags.append(check(kind, value))  # no value: no flag
        if kind == "pattern" and isinstance(row[R.PATTERN], str):
            _pattern_parts(batch, pos, sid, author, row[R.PATTERN], check)
        elif value is not None and "/" in value:
            net = net_range(kind, value)
            if net:
                batch.nets[pos] = [(sid, author, *net)]
        origin = R.indexed_origin(row)
        if origin is not None:
            batch.origins[pos] = origin
        if revoked:
            batch.revoked.add(pos)
        batch.explicit.append(created is not None)
        made.append((author, sid, rec, pos, kind, value, tlp,
                     None if created is None else index_time(created, modified), modified,
                     None if start is None else index_time(start, modified),
                     _index_until(until), confidence,
                     _sector_text(row[R.SECTORS]), 1, "" if revoked else None, digests[pos]))
    batch.rows = made
    return batch
