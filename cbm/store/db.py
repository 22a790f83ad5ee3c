"""The Store: open, transact, append, land verified records, query.

Every change is one SQLite transaction (``BEGIN IMMEDIATE``; WAL; ``synchronous=FULL``), so an import lands
whole or not at all, a ``kill -9`` loses nothing already committed, and concurrent processes serialise on the
write lock (waiting up to ``busy_timeout``) instead of corrupting each other.
"""

from __future__ import annotations

import sqlite3
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, NamedTuple, ParamSpec, TypeVar

from cbm.core import clock
from cbm.core.errors import Equivocation, NotFound, StoreCorrupt, StoreMissing, UsageError
from cbm.core.tlp import check_tlp
from cbm.core.trusted_keys import TrustedKey
from cbm.store import indexes, paths, rebuilding
from cbm.store.blobs import BlobStore
from cbm.store.connection import (  # noqa: F401  (database_error, connect: re-exported)
    _statements,
    _wrap,
    busy_timeout_ms,
    connect,
    database_error,
)
from cbm.store.indexes import STORE_INDEX_VERSIONS, Deferred, Index
from cbm.store.rebuilding import OnRefold
from cbm.store.write_behind import WriteBehind

if TYPE_CHECKING:  # the record codec loads where a record is written or read back, not to read indexes (ADR 0256)
    from cbm.core import refs
    from cbm.core.keys import KeyPair, PassphraseSource
    from cbm.core.records import Record

P = ParamSpec("P")
T = TypeVar("T")


class Draft(NamedTuple):
    """A record to be appended by the local party: the store fills author, seq, prev, created."""

    kind: str
    body: Mapping[str, Any]
    to: tuple[str, ...] = ("*",)
    tlp: str = "GREEN"
    created: str | None = None


def _no_passphrase() -> str:
    raise UsageError(
        "the private keys are passphrase-protected and no passphrase was given",
        hint="set CBM_PASSPHRASE, pass --passphrase-file FILE, or run on a terminal to be asked",
    )


class Store:
    """An open store. Use :func:`Store.open`; close with :meth:`close` or as a context manager."""

    def __init__(self, root: Path, conn: sqlite3.Connection, config: dict[str, Any],
                 passphrase: PassphraseSource | None, measure_indexes: Sequence[Index] | Deferred = ()) -> None:
        self.root = root
        self.conn = conn
        if not isinstance(measure_indexes, Deferred):
            given = tuple(measure_indexes)
            measure_indexes = Deferred({index.name: index.version for index in given}, lambda: given)
        self._measure_indexes = measure_indexes
        self._indexes: tuple[Index, ...] | None = None
        self.config = config
        self._passphrase = passphrase or _no_passphrase
        self._pairs: list[KeyPair] | None = None
        self._key_cache: dict[str, TrustedKey | None] = {}
        self.party: str = config["party"]["code"]
        self.name: str = config["party"]["name"]
        self.blobs = BlobStore(root / paths.BLOBS)
        self._on_refold: OnRefold | None = None
        self._write_behind: WriteBehind | None = None  # the open transaction's (cbm/store/write_behind.py)
        self.on_close: list[Callable[[], None]] = []  # run, in order, just before the database closes

    @property
    def indexes(self) -> tuple[Index, ...]:
        """Every index folded on landing, sorted by name: the store's own, then those the measures handed in
        (:meth:`open`). Loaded on first use (every write transaction asks first); an index whose version moved
        since its tables were built is rebuilt then."""
        if self._indexes is None:
            self._indexes = tuple(sorted((*indexes.store_indexes(), *self._measure_indexes.load()),
                                         key=lambda index: index.name))
            try:
                self._ensure_indexes(self._indexes)
            except BaseException:
                self._indexes = None  # checked again by the next transaction
                raise
        return self._indexes

    # -- opening ---------------------------------------------------------------------------------------

    @classmethod
    def open(cls, root: Path, passphrase: PassphraseSource | None = None, *,
             indexes: Sequence[Index] | Deferred, on_refold: OnRefold | None = None) -> Store:
        """Open the store at ``root``, folding records into its own indexes and ``indexes`` (the measures'; the
        application layer passes them, see :func:`cbm.app.stores.open_store`). Stale or new indexes are rebuilt
        here; given as :class:`~cbm.store.indexes.Deferred` (as the application does), they are loaded only if
        one is stale, or at the first write (:attr:`indexes`). ``on_refold`` hears of an index built by another
        version of cbm before its records are folded again (see :data:`OnRefold`). Raises StoreMissing,
        StoreCorrupt, StoreLocked."""
        config_path = root / paths.CONFIG
        if not config_path.is_file():
            raise StoreMissing(f"no cbm store at {root}",
                               hint="create one with `cbm init --party XX --name NAME`, or pass --store DIR")
        try:
            config = tomllib.loads(config_path.read_text("utf-8"))
            config["party"]["code"]
        except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as e:
            raise StoreCorrupt(f"{config_path} is damaged: {e}") from e
        if not (root / paths.DATABASE).is_file():  # never quietly start an empty database in a real store
            raise StoreCorrupt(f"the store database {root / paths.DATABASE} is missing",
                               hint="restore it from a backup; the keys and config alone hold no records")
        conn = connect(root / paths.DATABASE)
        store = cls(root, conn, config, passphrase, indexes)
        store._on_refold = on_refold
        try:
            if store._stale({**STORE_INDEX_VERSIONS, **store._measure_indexes.versions}):
                store.indexes  # noqa: B018  (loads them, then rebuilds what is stale)
        except sqlite3.DatabaseError as e:
            conn.close()
            raise _wrap(e) from e
        return store

    def close(self) -> None:
        hooks, self.on_close = self.on_close, []  # each runs once, however often the store is closed
        try:
            for hook in hooks:
                hook()
        finally:
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ----------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside lands together or not at all."""
        self.indexes  # noqa: B018  (loaded, and any stale one rebuilt, before the write lock: see indexes)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise _wrap(e) from e
        write_behind = self._write_behind = WriteBehind(self.root / paths.DATABASE)
        try:
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:  # SQLite may have rolled back already (disk full, I/O error)
                    self.conn.execute("ROLLBACK")
                self._key_cache.clear()
                raise
            write_behind.committing()
            try:
                self.conn.execute("COMMIT")
            except sqlite3.OperationalError as e:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise _wrap(e) from e
        finally:
            write_behind.stop()
            self._write_behind = None

    # -- keys ------------------------------------------------------------------------------------------

    def query(self, function: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args,
              **kwargs: P.kwargs) -> T:
        """``function(connection, *args, **kwargs)``: run one of an index module's queries (or, inside
        :meth:`transaction`, its writes) on this store's connection. This is how code outside ``cbm/store``
        reaches the database: it never holds the connection itself."""
        return function(self.conn, *args, **kwargs)

    def key_pairs(self) -> list[KeyPair]:
        """Every key pair of ours, oldest first (unlocks the key file once per process)."""
        if self._pairs is None:
            from cbm.core.keys import read_secret_keys

            self._pairs = read_secret_keys(self.root / paths.SECRET_KEYS, self._passphrase)
        return self._pairs

    def signer(self) -> KeyPair:
        """Our active signing key pair."""
        row = self.conn.execute(
            "SELECT keyid, first_seq FROM party_keys WHERE party = ? AND status = 'active'", (self.party,)
        ).fetchone()
        if row is None:
            raise StoreCorrupt("the store has no active key for its own party")
        for attempt in range(2):
            for pair in self.key_pairs():
                if pair.keyid == row[0]:
                    return pair
            if attempt == 0:
                self._pairs = None  # another process may have rotated our key since we read the file
        since = f" (our signing key since record #{row[1]} of our log)" if row[1] > 1 else ""
        raise StoreCorrupt(f"the private key {row[0]}{since} is missing from {paths.SECRET_KEYS}",
                           hint=f"the keys file is older than the database (restored from another copy?): put back "
                                f"the {paths.SECRET_KEYS} saved with this store.sqlite")

    def trusted_key(self, keyid: str) -> TrustedKey | None:
        """The trusted key with this id, or None (implements core.records.TrustedKeyLookup)."""
        if keyid not in self._key_cache:
            row = self.conn.execute(
                "SELECT party, keyid, verify_key, enc_key, first_seq, last_seq, status, reason "
                "FROM party_keys WHERE keyid = ?", (keyid,)).fetchone()
            self._key_cache[keyid] = TrustedKey(*row) if row else None
        return self._key_cache[keyid]

    def forget_cached_keys(self) -> None:
        self._key_cache.clear()

    def party_keys(self, party: str) -> list[TrustedKey]:
        rows = self.conn.execute(
            "SELECT party, keyid, verify_key, enc_key, first_seq, last_seq, status, reason "
            "FROM party_keys WHERE party = ? ORDER BY serial", (party,)).fetchall()
        return [TrustedKey(*row) for row in rows]

    def active_key(self, party: str) -> TrustedKey:
        """The key a party signs with now. Raises NotFound for an unknown party."""
        for key in reversed(self.party_keys(party)):
            if key.status == "active":
                return key
        if not self.party_exists(party):
            raise NotFound(f"unknown party {party}", hint="see `cbm keys list`; import its card first")
        raise NotFound(f"party {party} has no active key (revoked)",
                       hint=f"import {party}'s new party card with `cbm keys import`")

    def party_exists(self, party: str) -> bool:
        return self.conn.execute("SELECT 1 FROM parties WHERE party = ?", (party,)).fetchone() is not None

    def peers(self) -> list[str]:
        """Codes of every trusted peer (not ourselves), sorted."""
        return [r[0] for r in self.conn.execute(
            "SELECT party FROM parties WHERE is_self = 0 ORDER BY party")]

    def check_recipients(self, to: Iterable[str]) -> tuple[str, ...]:
        """Validate an audience: ``*`` or known peers. Raises NotFound for an unknown party."""
        result = []
        for party in to:
            if party != "*" and party != self.party and not self.party_exists(party):
                raise NotFound(f"unknown party {party}", hint="see `cbm keys list`; import its card first")
            result.append(party)
        if not result:
            raise UsageError("a record needs an audience", hint="--to PARTY or --to '*'")
        return tuple(dict.fromkeys(result))

    # -- writing ---------------------------------------------------------------------------------------

    def head(self, author: str) -> tuple[int, str] | None:
        """(seq, hash) of the newest record we hold or know as withheld in ``author``'s log. Our own log is
        only what we wrote: a withheld range claimed for it (kept by stores from before ADR 0110) never counts."""
        row = self.conn.execute(
            "SELECT seq, hash FROM records WHERE author = ? ORDER BY seq DESC LIMIT 1", (author,)).fetchone()
        if author == self.party:
            return (row[0], row[1]) if row else None
        stub = self.conn.execute(
            "SELECT last_seq, last_hash FROM withheld WHERE author = ? ORDER BY last_seq DESC LIMIT 1",
            (author,)).fetchone()
        best = max([r for r in (row, stub) if r], default=None, key=lambda r: r[0])
        return (best[0], best[1]) if best else None

    def append(self, kind: str, body: Mapping[str, Any], *, to: Iterable[str] = ("*",),
               tlp: str = "GREEN", created: str | None = None) -> Record:
        """Sign and append one record by the local party; returns it once committed."""
        return self.append_many([Draft(kind, body, tuple(to), tlp, created)])[0]

    def append_many(self, drafts: Iterable[Draft]) -> list[Record]:
        """Sign and append records in one transaction (all or none). Returns them in seq order."""
        drafts = list(drafts)
        self.key_pairs()  # unlock (perhaps a prompt) before taking the write lock
        with self.transaction():
            return self.append_locked(drafts)

    def append_locked(self, drafts: Iterable[Draft]) -> list[Record]:
        """:meth:`append_many` for a caller already inside :meth:`transaction` (e.g. a key rotation that
        must land its record and its key change together).

        The signing key is read under the write lock: a rotation by another process cannot slip in
        between choosing the key and landing the record (which would sign past the key's last seq).
        """
        from cbm.core.records import build_payload, parse_verified_payload, sign_record

        normalised = [(d, self.check_recipients(d.to), check_tlp(d.tlp)) for d in drafts]
        pair = self.signer()
        head = self.head(self.party)
        seq, prev = (head[0], head[1]) if head else (0, None)
        made = []
        for draft, to, tlp in normalised:
            seq += 1
            payload = build_payload(author=self.party, seq=seq, prev=prev,
                                    created=draft.created or clock.now_iso(), kind=draft.kind,
                                    to=to, tlp=tlp, body=draft.body)
            record = parse_verified_payload(sign_record(payload, draft.kind, pair), payload, pair.keyid)
            made.append(record)
            prev = record.hash
        self.land(made)
        return made

    def land(self, records: list[Record]) -> None:
        """Insert verified records and feed the indexes. Call inside :meth:`transaction`.

        The caller has checked signatures and chain links. A record whose (author, seq) is taken by a
        different record raises Equivocation (the transaction rolls back; record the evidence afterwards
        with :meth:`record_equivocation`).
        """
        import json

        received = clock.now_iso()
        rows = []
        for r in records:
            ref = r.body.get("ref")
            rows.append((r.hash, r.author, r.seq, r.prev, r.kind, r.created, r.tlp, json.dumps(list(r.to)),
                         r.keyid, ref if isinstance(ref, str) else None, received, r.envelope))
        try:
            self.conn.executemany(
                "INSERT INTO records (hash, author, seq, prev, kind, created, tlp, audience, keyid, subject,"
                " received, envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.IntegrityError as e:
            for r in records:
                other = self.conn.execute("SELECT hash FROM records WHERE author = ? AND seq = ?",
                                          (r.author, r.seq)).fetchone()
                if other and other[0] != r.hash:
                    raise Equivocation(f"{r.author} signed two different records with seq {r.seq} "
                                       f"({other[0][:12]} and {r.hash[:12]})") from e
            raise StoreCorrupt(f"cannot insert records: {e}") from e
        if self._write_behind is not None:
            self._write_behind.landed(sum(len(r.envelope) for r in records))
        indexes.apply(self.conn, self.indexes, records)

    def record_equivocation(self, record: Record, source: str | None = None) -> None:
        """Keep a conflicting record as evidence, in its own transaction (survives a refused import)."""
        with self.transaction():
            self.conn.execute(
                "INSERT OR IGNORE INTO equivocations (author, seq, hash, envelope, detected, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (record.author, record.seq, record.hash, record.envelope, clock.now_iso(), source))

    # -- reading ---------------------------------------------------------------------------------------

    def get(self, ref: str, kind_prefix: str | None = None) -> Record:
        """A record by full hash or a unique hash prefix (cbm.core.refs: at least 6 hex digits); with
        ``kind_prefix`` (``"inquiry."``), a prefix need only be unique among records of those kinds.

        Raises UsageError (exit 2) for a prefix too short or ambiguous (naming the candidates), NotFound (5).
        """
        text = ref.strip().lower()
        if len(text) != 64:
            from cbm.core import refs

            what = f"{kind_prefix.rstrip('.')} record" if kind_prefix else "record"
            text = refs.resolve(ref, what, lambda p, n: self.record_candidates(p, n, kind_prefix)).id
        row = self.conn.execute("SELECT envelope, keyid FROM records WHERE hash = ?", (text,)).fetchone()
        if row is None:
            raise NotFound(f"no record {text}")
        from cbm.store.record_rows import record_from_row

        return record_from_row(row[0], row[1])

    def record_candidates(self, prefix: str, limit: int, kind_prefix: str | None = None) -> list[refs.Candidate]:
        """Records whose hash starts with ``prefix`` (and kind with ``kind_prefix``), with their kind and author
        (a cbm.core.refs lookup)."""
        sql = "SELECT hash, kind, author, seq FROM records WHERE hash >= ? AND hash < ?"
        args: list[Any] = [prefix, prefix + "g"]
        if kind_prefix:
            sql += " AND kind >= ? AND kind < ?"
            args += [kind_prefix, kind_prefix + "\U0010ffff"]
        rows = self.conn.execute(sql + " ORDER BY hash LIMIT ?", (*args, limit)).fetchall()
        from cbm.core import refs

        return [refs.Candidate(h, f"{kind} by {author} #{seq}") for h, kind, author, seq in rows]

    def records(self, *, kind: str | None = None, kind_prefix: str | None = None, author: str | None = None,
                subject: str | None = None, after_id: int = 0) -> Iterator[Record]:
        """Records matching every given filter, in landing order. Streams; does not load all at once."""
        where: list[str] = ["id > ?"]
        args: list[Any] = [after_id]
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if kind_prefix is not None:
            where.append("kind >= ? AND kind < ?")
            args.extend([kind_prefix, kind_prefix + "\U0010ffff"])
        if author is not None:
            where.append("author = ?")
            args.append(author)
        if subject is not None:
            where.append("subject = ?")
            args.append(subject)
        sql = f"SELECT envelope, keyid FROM records WHERE {' AND '.join(where)} ORDER BY id"
        from cbm.store.record_rows import record_from_row  # once per call, not per row
        for envelope, keyid in self.conn.execute(sql, args):
            yield record_from_row(envelope, keyid)

    def log(self, author: str, first_seq: int = 1, last_seq: int | None = None) -> Iterator[Record]:
        """One author's records in seq order."""
        from cbm.store.record_rows import record_from_row  # once per call, not per row

        sql = "SELECT envelope, keyid FROM records WHERE author = ? AND seq >= ?"
        args: list[Any] = [author, first_seq]
        if last_seq is not None:
            sql += " AND seq <= ?"
            args.append(last_seq)
        for envelope, keyid in self.conn.execute(sql + " ORDER BY seq", args):
            yield record_from_row(envelope, keyid)

    def counts(self) -> dict[str, Any]:
        """Record counts by author and by measure, plus held and equivocation counts."""
        by_author = dict(self.conn.execute("SELECT author, COUNT(*) FROM records GROUP BY author").fetchall())
        by_measure: dict[str, int] = {}
        for kind, n in self.conn.execute("SELECT kind, COUNT(*) FROM records GROUP BY kind"):
            measure = kind.split(".", 1)[0]
            by_measure[measure] = by_measure.get(measure, 0) + n
        held = self.conn.execute("SELECT COUNT(*) FROM held").fetchone()[0]
        equivocations = self.conn.execute("SELECT COUNT(*) FROM equivocations").fetchone()[0]
        return {"by_author": by_author, "by_measure": by_measure, "held": held, "equivocations": equivocations}

    # -- indexes (cbm/store/rebuilding.py) -------------------------------------------------------------

    def _stale(self, versions: Mapping[str, int]) -> set[str]:
        return rebuilding.stale(self.conn, versions)

    def _ensure_indexes(self, loaded: tuple[Index, ...]) -> None:
        rebuilding.ensure(self, loaded, self._on_refold)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
        """Regenerate the derived record columns and every index from the stored envelopes; re-check every
        withheld hint and every piece of equivocation evidence against the authors' own signed records
        (:func:`cbm.store.claims.sweep`). ``progress(done, total)`` hears the records read so far, counting
        each record once for its columns and once for each index that folds it."""
        return rebuilding.rebuild(self, progress)
