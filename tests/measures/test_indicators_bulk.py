"""The bulk path of ``cbm indicators import`` (a large feed into a store holding none of our indicators: the
``ind`` indexes are dropped and rebuilt once at the end, repeats are deferred until then, a forked reader
process parses the CSV) must be invisible to the user: the same counts, the same index, the same answers as the
ordinary path, and on any failure the store exactly as before, no reader process left behind, one error line.

Small feeds take the bulk path where ``pipeline.PARALLEL_MIN_BYTES`` is patched down; the failure tests go
through the CLI with real files just over the 4 MiB threshold, so the real reader process runs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from cbm.measures.indicators import index as ix
from cbm.measures.indicators import pipeline, queries
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.writer import BatchWriter
from cbm.store.db import Store
from cbm.store.record_rows import record_from_row
from cbm.store.trust import create_store, import_card
from tests.conftest import Party
from tests.measures.transport import deliver

NOW = "2026-11-23T06:00:00Z"
IND_INDEXES = {"ind_sid", "ind_value", "ind_until"}
HEADER = "type,value,tlp,confidence,valid_until,name,description"
BATCH = R.MAX_ROWS  # rows per batch record: a repeat after this many rows of its TLP lands in a later batch


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", NOW)


@pytest.fixture(autouse=True)
def second_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader process runs only with a second core: on a one-core machine pretend there is one, so the
    reader process is tested everywhere."""
    if len(os.sched_getaffinity(0)) < 2:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})


@pytest.fixture
def us(make_party) -> Party:
    return make_party("US")


@pytest.fixture
def bulk_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the bulk loads that start (the ``ind`` indexes suspended), so each test knows which path it ran."""
    calls: list[int] = []
    real = ix.suspend_indexes

    def spy(conn: sqlite3.Connection, party: str | None = None) -> None:
        calls.append(1)
        real(conn, party)

    monkeypatch.setattr(ix, "suspend_indexes", spy)
    return calls


def bulk(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    """Every file takes the bulk path (``on``), or none does."""
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 1 if on else 1 << 40)


def twin(tmp_path: Path, code: str, name: str) -> Party:
    """A second store for the same party code, so indicator ids match those of the first."""
    root = tmp_path / name / code
    create_store(root, code, f"{code}-CERT", None)
    return Party(code, root)


def filler(prefix: str, n: int, tlp: str = "GREEN") -> list[str]:
    """``n`` distinct addresses, to push the rows after them into a later batch record."""
    return [f"ipv4,{prefix}.{i // 250}.{i % 250 + 1},{tlp},40,," for i in range(n)]


def repeats_feed() -> list[str]:
    """A feed with every kind of repeat a real feed has (each indicator at most twice, so the bulk path's
    deferred rows never meet each other; three times is test_three_versions_of_one_indicator_in_a_bulk_load)."""
    pattern = "\"[ipv4-addr:value = '198.51.100.0/24'] OR [domain-name:value = 'multi.example']\""
    first = [
        "ipv4,10.9.0.1,GREEN,50,,,",                          # again identical, same batch: repeated
        "domain,same-batch.example,GREEN,50,,first,",          # again changed, same batch: repeated, last wins
        "domain,tlp-same.example,GREEN,70,,,",                 # again identical under AMBER: a new version
        "domain,tlp-changed.example,GREEN,70,,,",              # again under AMBER and changed
        f"pattern,{pattern},GREEN,60,2027-06-01,,",            # again under AMBER: ind_alt and ind_net redone
        "ipv4,203.0.113.0/25,GREEN,60,,,",                     # a CIDR, again identical in a later batch
        "url,http://later.example/x,GREEN,55,2027-03-01,,",    # again in a later batch, changed (merged)
        "sha256," + "ab" * 32 + ",AMBER,90,,dropper,",         # AMBER only
        "ipv4,10.9.0.1,GREEN,50,,,",
        "domain,same-batch.example,GREEN,60,,,second",
    ]
    later = [
        "domain,tlp-same.example,AMBER,70,,,",
        "domain,tlp-changed.example,AMBER,80,,,",
        f"pattern,{pattern},AMBER,65,2027-06-01,,",
        "ipv4,203.0.113.0/25,GREEN,60,,,",
        "url,http://later.example/x,GREEN,75,,,",
    ]
    return [HEADER, *first, *filler("10.20", BATCH), *later, *filler("10.21", 300)]


def write_feed(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_json(party: Party, path: Path, *args: str) -> dict[str, Any]:
    r = party.cli("indicators", "import", str(path), "--json", *args)
    assert r.exit_code == 0, r.stderr
    doc: dict[str, Any] = r.json()
    return doc


COUNTS = ("read", "created", "updated", "unchanged", "repeated", "invalid", "by_tlp")


def counts(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in COUNTS}


def index_state(party: Party) -> dict[str, Any]:
    """What the indicator index answers, independent of how rows were grouped into records: every ``ind`` row
    (without its key and record position) with the full row and TLP of the version it points at, each
    indicator's history in order, and the side tables."""
    with party.open() as store:
        conn = store.conn
        cache: dict[int, Any] = {}

        def version(rec: int, pos: int) -> tuple[str, list[Any]]:
            if rec not in cache:
                record = record_from_row(*queries.envelope(conn, rec))
                cache[rec] = (record.tlp, R.rows_of(record.body))
            return cache[rec][0], cache[rec][1][pos]

        ind = sorted((row[1:3] + row[5:] + (version(row[3], row[4]),) for row in conn.execute(
            "SELECT * FROM ind")), key=repr)
        hist: dict[str, list[Any]] = {}
        for sid, author, rec, pos, modified in conn.execute("SELECT * FROM ind_hist ORDER BY rec, pos"):
            hist.setdefault(f"{author} {sid}", []).append((modified, version(rec, pos)))
        side = {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in ("ind_alt", "ind_net")}
        return {"ind": ind, "hist": hist, **side}


def tables(party: Party) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every indicator index table, as stored."""
    with party.open() as store:
        return {t: sorted(store.conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in ix.TABLES}


def ind_indexes(party: Party) -> set[str]:
    with party.open() as store:
        return {name for (name,) in store.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ind'")}


def record_count(party: Party) -> int:
    with party.open() as store:
        return int(store.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0])


def children(parent: int | None = None) -> set[int]:
    """Processes whose parent is ``parent`` (this process by default), zombies included: a reader left behind
    shows here."""
    parent = os.getpid() if parent is None else parent
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            found.add(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def drainers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "_drain" in t.name]


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (a reader that never reports would block the import forever)."""

    def expired(signum: int, frame: Any) -> None:
        raise AssertionError(f"still running after {seconds} s: the import hangs")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def nothing_left_running(seconds: int = 60) -> Iterator[None]:
    """The block ends within ``seconds`` and leaves no new child process (running or zombie) nor drainer
    thread behind."""
    procs, threads = children(), drainers()
    with deadline(seconds):
        yield
    assert children() - procs == set(), "a reader process was left behind"
    assert [t for t in drainers() if t not in threads] == [], "a drainer thread was left behind"


def peer_indicator(us: Party, ru: Party, value: str) -> None:
    """RU reports ``value`` and its record reaches US, so US's ``ind`` table holds a peer's row (US still holds
    none of its own indicators: its next large import is a bulk load)."""
    r = ru.cli("indicators", "add", "--value", value, "--to", "US")
    assert r.exit_code == 0, r.stderr
    with ru.open() as source, us.open() as target:
        deliver(source, target)


def big_feed(path: Path, *, bad: dict[int, bytes] | None = None) -> Path:
    """A CSV just over the bulk threshold (about 17,600 rows); ``bad`` replaces data line N (1 = the first
    after the header) with the given bytes."""
    pad = "x" * 200
    lines = [HEADER.encode()]
    n = 0
    size = 0
    while size < pipeline.PARALLEL_MIN_BYTES + 64 * 1024:
        n += 1
        line = (bad or {}).get(n) or f"ipv4,10.{n // 62500}.{n // 250 % 250}.{n % 250 + 1},GREEN,50,,,{pad}".encode()
        lines.append(line)
        size += len(line) + 1
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert path.stat().st_size >= pipeline.PARALLEL_MIN_BYTES and pipeline.worthwhile(str(path), "csv")
    return path


# -- 1. the bulk path gives what the ordinary path gives ---------------------------------------------------


@pytest.mark.parametrize("reader", ["reader process", "in-process reader"])
def test_bulk_and_ordinary_imports_agree_on_counts_index_and_rebuild(
        make_party, tmp_path, monkeypatch, bulk_loads, reader):
    if reader == "in-process reader":
        monkeypatch.setenv("CBM_NO_PARALLEL", "1")
    feed = write_feed(tmp_path / "feed.csv", repeats_feed())
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")

    bulk(monkeypatch, False)
    ordinary = import_json(plain, feed)
    assert bulk_loads == []
    bulk(monkeypatch, True)
    assert pipeline.worthwhile(str(feed), "csv") == (reader == "reader process")
    loaded = import_json(us, feed)
    assert bulk_loads == [1]

    assert counts(loaded) == counts(ordinary)
    # every kind of repeat in the feed happened: same batch (2), new TLP (3), later batch (2)
    assert ordinary["repeated"] == 2 and ordinary["updated"] == 4 and ordinary["unchanged"] == 1
    assert ordinary["created"] == 8 + BATCH + 300 and ordinary["read"] == 15 + BATCH + 300
    state = index_state(us)
    assert state == index_state(plain)
    assert {row[2] for row in state["ind_alt"]} == {"multi.example"}
    assert len(state["ind_net"]) == 2 and len(state["hist"]) == 4

    # `store rebuild` folds the records in bulk too: the index answers the same (the row keys of held-back
    # rows may be numbered otherwise, so compare what it answers, not its keys)
    r = us.cli("store", "rebuild")
    assert r.exit_code == 0, r.stderr
    assert index_state(us) == state
    r = us.cli("store", "verify")
    assert r.exit_code == 0, r.stderr


def test_a_bulk_load_lands_under_a_larger_page_cache_and_rebuilds_the_indexes_under_the_one_it_had(
        us, tmp_path, monkeypatch, bulk_loads):
    """The feed's batches land with 64 MiB of page cache (fewer pages written to the WAL twice and read back,
    docs/adr/0297); the sorter that rebuilds the indexes, and everything after, gets the connection's own cache
    back (64 MiB there is a run of that size per sorter thread)."""
    from cbm.measures.indicators import feed_cache

    seen: list[tuple[str, int]] = []  # (what, the cache it ran under), in order

    def cache_size(conn: sqlite3.Connection) -> int:
        return int(conn.execute("PRAGMA cache_size").fetchone()[0])

    real_fold, real_resume = ix._fold, ix.resume_indexes
    monkeypatch.setattr(ix, "_fold", lambda conn, batch: (seen.append(("fold", cache_size(conn))),
                                                          real_fold(conn, batch))[1])
    monkeypatch.setattr(ix, "resume_indexes", lambda conn: (seen.append(("resume", cache_size(conn))),
                                                            real_resume(conn))[1])
    bulk(monkeypatch, True)
    feed = write_feed(tmp_path / "feed.csv", [HEADER, *filler("10.40", BATCH + 10)])
    with us.open() as store:
        own = cache_size(store.conn)
    assert import_json(us, feed)["created"] == BATCH + 10 and bulk_loads == [1]
    at = seen.index(("resume", own))  # the indexes are rebuilt under the connection's own cache
    feed_cache_size = -feed_cache.FEED_CACHE_MIB * 1024
    assert seen[:at] == [("fold", feed_cache_size)] * at and at >= 2  # every batch of the bulk load under 64 MiB
    assert {size for _, size in seen[at:]} == {own}  # rows held back land after, under the cache it had


def test_a_bulk_load_into_a_store_holding_ours_keeps_the_connections_own_page_cache(
        us, tmp_path, monkeypatch, bulk_loads):
    """The next day's feed into a store holding ours lands under the connection's own cache: 64 MiB bought it
    no time and cost that much memory on top of the held digests and filters (docs/adr/0303)."""
    sizes: list[int] = []
    real_fold = ix._fold
    monkeypatch.setattr(ix, "_fold", lambda conn, batch: (
        sizes.append(int(conn.execute("PRAGMA cache_size").fetchone()[0])), real_fold(conn, batch))[1])
    bulk(monkeypatch, False)
    assert import_json(us, write_feed(tmp_path / "held.csv", [HEADER, *filler("10.41", 10)]))["created"] == 10
    with us.open() as store:
        own = int(store.conn.execute("PRAGMA cache_size").fetchone()[0])
    sizes.clear()
    bulk(monkeypatch, True)
    feed = write_feed(tmp_path / "feed.csv", [HEADER, *filler("10.42", BATCH + 10)])
    assert import_json(us, feed)["created"] == BATCH + 10 and bulk_loads == [1]
    assert len(sizes) >= 2 and set(sizes) == {own}


def three_versions_feed() -> list[str]:
    """One indicator three times, each in a later batch of the same TLP, each changing a different field: the
    ordinary path makes three versions, each merged with the one before (fields left empty keep their value).
    The third comes first in its batch, right after the second's batch is written."""
    return [HEADER, "domain,thrice.example,GREEN,10,,n1,", *filler("10.30", BATCH),
            "domain,thrice.example,GREEN,20,,,d2", *filler("10.31", BATCH - 2),
            "domain,thrice.example,GREEN,30,,,", *filler("10.32", 10)]


@pytest.mark.parametrize("max_deferred", [
    None,
    0,
], ids=["held back to the end", "bulk load ended early"])
def test_three_versions_of_one_indicator_in_a_bulk_load(make_party, tmp_path, monkeypatch, bulk_loads,
                                                        max_deferred):
    if max_deferred is not None:
        monkeypatch.setattr(BatchWriter, "MAX_DEFERRED", max_deferred)
    feed = write_feed(tmp_path / "feed.csv", three_versions_feed())
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    bulk(monkeypatch, False)
    ordinary = import_json(plain, feed)
    assert (ordinary["updated"], ordinary["repeated"]) == (2, 0)
    shown = plain.cli("indicators", "show", ordinary["ids"][0], "--json").json()["indicators"][0]
    assert shown["stix"]["description"] == "d2" and len(shown["earlier_versions"]) == 2
    bulk(monkeypatch, True)
    loaded = import_json(us, feed)
    assert bulk_loads == [1]
    assert counts(loaded) == counts(ordinary)
    assert index_state(us) == index_state(plain)


# -- 2. after a bulk load the store works as always -------------------------------------------------------


def test_after_a_bulk_load_indexes_exist_search_works_and_a_reimport_is_unchanged(us_ru, tmp_path, monkeypatch,
                                                                                   bulk_loads):
    us, ru = us_ru
    peer_indicator(us, ru, "later.example")  # a peer's row in ind: its indexes are dropped and rebuilt too
    feed = write_feed(tmp_path / "feed.csv", [HEADER, "domain,later.example,GREEN,50,,,", *filler("10.40", 2000),
                                              "ipv4,192.0.2.7,AMBER,80,2027-01-01,,"])
    bulk(monkeypatch, True)
    first = import_json(us, feed)
    assert bulk_loads == [1] and first["created"] == 2002
    assert ind_indexes(us) == IND_INDEXES

    r = us.cli("indicators", "search", "192.0.2.7", "--json")
    assert r.exit_code == 0 and [h["value"] for h in r.json()["hits"]] == ["192.0.2.7"]
    r = us.cli("indicators", "search", "later.example", "--json")
    assert r.exit_code == 0 and r.json()["reported_by"] == ["RU", "US"] and r.json()["corroborated"]
    r = us.cli("indicators", "list", "--expiring", "60", "--json")
    assert [i["value"] for i in r.json()["indicators"]] == ["192.0.2.7"]
    with us.open() as store:  # the unique key is back: a second (sid, author) cannot land
        sid = store.conn.execute("SELECT sid FROM ind WHERE author = 'US' LIMIT 1").fetchone()[0]
        with pytest.raises(sqlite3.IntegrityError):
            store.conn.execute("INSERT INTO ind (author, sid, rec, pos, type, tlp, modified, versions)"
                               " VALUES ('US', ?, 1, 0, 'domain-name', 'GREEN', ?, 1)", (sid, NOW))

    head = record_count(us)
    again = import_json(us, feed)
    assert bulk_loads == [1]  # the store holds our indicators now: the ordinary path
    assert (again["created"], again["updated"], again["unchanged"], again["records"]) == (0, 0, 2002, 0)
    assert record_count(us) == head


# -- 3. a failed bulk import changes nothing and leaves nothing running ------------------------------------


def test_a_bad_line_in_a_large_feed_fails_cleanly_and_changes_nothing(us_ru, tmp_path, bulk_loads):
    us, ru = us_ru
    peer_indicator(us, ru, "peer.example")
    feed = big_feed(tmp_path / "feed.csv", bad={9000: b"ipv4,999.1.1.1,GREEN,50,,,"})
    records, tables_before = record_count(us), tables(us)
    assert ind_indexes(us) == IND_INDEXES
    with nothing_left_running():
        r = us.cli("indicators", "import", str(feed))
    assert r.exit_code == 4, r.stderr
    assert bulk_loads == [1]  # it was a bulk load, with the indexes dropped when it failed
    assert r.stdout == "" and "Traceback" not in r.stderr
    assert "line 9001:" in r.stderr and "1 bad line(s); nothing imported" in r.stderr
    assert record_count(us) == records and tables(us) == tables_before
    assert ind_indexes(us) == IND_INDEXES
    assert us.cli("indicators", "search", "peer.example").exit_code == 0
    assert us.cli("store", "verify").exit_code == 0


def test_a_store_failure_midway_through_a_large_feed_stops_the_reader(us, tmp_path, monkeypatch, bulk_loads):
    """The writer gives up while the reader process is blocked sending (the parent's inbox full): the reader is
    stopped, the drainer thread ends, nothing lands."""
    monkeypatch.setattr(pipeline, "INBOX_CHUNKS", 2)
    feed = big_feed(tmp_path / "feed.csv")
    calls: list[int] = []

    def full_disk(self: Store, records: list[Any]) -> None:
        calls.append(1)
        time.sleep(0.5)  # the reader reads ahead meanwhile, until the inbox and the pipe are full
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "land", full_disk)
    records = record_count(us)
    with nothing_left_running():
        r = us.cli("indicators", "import", str(feed))
    assert bulk_loads == [1] and calls == [1]
    assert r.exit_code == 6 and "disk is full" in r.stderr
    assert r.stdout == "" and "Traceback" not in r.stderr
    assert record_count(us) == records and ind_indexes(us) == IND_INDEXES


# -- 4. a feed of repeats ends the bulk load early --------------------------------------------------------


def repeats_everywhere_feed() -> list[str]:
    """Batch 1: new addresses; batch 2: half of them again (changed), half new, then more new ones and AMBER
    copies: the second batch defers far more than MAX_DEFERRED rows (patched to 10)."""
    first = filler("10.50", BATCH)
    changed = [line.replace(",40,", ",41,") for line in first[:BATCH // 2]]
    amber = [line.replace(",GREEN,", ",AMBER,") for line in first[BATCH // 2:BATCH // 2 + 700]]
    return [HEADER, *first, *changed, *filler("10.51", BATCH // 2), *filler("10.52", 1500), *amber]


def both_ways(make_party: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              lines: list[str]) -> tuple[Party, Party, dict[str, Any], dict[str, Any]]:
    """The same feed imported by US into two fresh stores: ordinarily ("plain"), then bulk-loaded ("us")."""
    feed = write_feed(tmp_path / "feed.csv", lines)
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    bulk(monkeypatch, False)
    ordinary = import_json(plain, feed)
    bulk(monkeypatch, True)
    return us, plain, ordinary, import_json(us, feed)


def test_more_repeats_than_max_deferred_end_the_bulk_load_early_and_import_correctly(
        make_party, tmp_path, monkeypatch, bulk_loads):
    monkeypatch.setattr(BatchWriter, "MAX_DEFERRED", 10)
    resumed_with: list[int] = []
    real_resume = ix.resume_indexes

    def resume(conn: sqlite3.Connection) -> None:
        resumed_with.append(conn.execute("SELECT COUNT(*) FROM ind").fetchone()[0])
        real_resume(conn)

    monkeypatch.setattr(ix, "resume_indexes", resume)
    us, plain, ordinary, loaded = both_ways(make_party, tmp_path, monkeypatch, repeats_everywhere_feed())
    assert bulk_loads == [1]
    # the indexes came back while the import was still going: fewer rows in ind than at the end
    assert len(resumed_with) == 1 and resumed_with[0] < loaded["created"]

    assert counts(loaded) == counts(ordinary)
    assert (ordinary["created"], ordinary["updated"]) == (BATCH + BATCH // 2 + 1500, BATCH // 2 + 700)
    assert index_state(us) == index_state(plain)
    assert ind_indexes(us) == IND_INDEXES
    before = index_state(us)
    assert us.cli("store", "rebuild").exit_code == 0 and index_state(us) == before
    assert us.cli("store", "verify").exit_code == 0


def newest_last_feed() -> list[str]:
    """An indicator in three GREEN batches; while its third is pending, an AMBER batch with a repeat in it is
    written and ends the bulk load (MAX_DEFERRED patched to 1). The third version must end up current."""
    green = filler("10.60", BATCH - 1)
    return [HEADER, "domain,newest.example,GREEN,10,,,", *green,
            "domain,newest.example,GREEN,20,,,", *filler("10.61", BATCH - 1),
            "domain,newest.example,GREEN,30,,,",
            *filler("10.62", BATCH - 1, "AMBER"), green[0].replace(",GREEN,", ",AMBER,"), *filler("10.63", 10)]


def test_a_bulk_load_ended_early_keeps_the_newest_version_current(make_party, tmp_path, monkeypatch, bulk_loads):
    monkeypatch.setattr(BatchWriter, "MAX_DEFERRED", 1)
    us, plain, ordinary, loaded = both_ways(make_party, tmp_path, monkeypatch, newest_last_feed())
    assert bulk_loads == [1]
    assert counts(loaded) == counts(ordinary)
    for party in (plain, us):
        hit = party.cli("indicators", "search", "newest.example", "--json").json()["hits"][0]
        assert hit["confidence"] == 30, party.root
    assert index_state(us) == index_state(plain)


# -- 5. the reader process failing is one clear error -----------------------------------------------------


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cbm: error: "), stderr
    return lines[0]


def test_invalid_utf8_in_a_large_feed_is_a_bad_line_not_a_crash(us, tmp_path, bulk_loads):
    feed = big_feed(tmp_path / "feed.csv", bad={12000: b"domain,bad\xff.example,GREEN,50,,,"})
    records = record_count(us)
    with nothing_left_running():
        r = us.cli("indicators", "import", str(feed))
    assert r.exit_code == 4 and r.stdout == "" and "Traceback" not in r.stderr
    assert "not UTF-8 text" in r.stderr and "1 bad line(s); nothing imported" in r.stderr
    assert record_count(us) == records and ind_indexes(us) == IND_INDEXES


def test_invalid_utf8_skips_only_its_own_line(us, tmp_path):
    feed = big_feed(tmp_path / "feed.csv", bad={12000: b"domain,bad\xff.example,GREEN,50,,,"})
    total = sum(1 for _ in feed.open("rb")) - 1
    r = us.cli("indicators", "import", str(feed), "--skip-invalid", "--json")
    assert r.exit_code == 0, r.stderr
    assert "line 12001:" in r.stderr
    assert (r.json()["created"], r.json()["invalid"]) == (total - 1, 1)


@pytest.mark.parametrize("failure", ["raises", "dies"])
def test_a_reader_process_that_fails_midway_is_one_error_line(us, tmp_path, monkeypatch, bulk_loads, failure):
    """The reader process (a fork: it runs the patched reader) fails after sending some rows: an I/O error it
    reports, or a crash that closes the pipe unannounced."""
    from cbm.measures.indicators.formats import RowBlock
    from cbm.measures.indicators.formats import csv as csv_format

    real_read = csv_format.read_blocks  # what the reader process reads with (blocks of rows, docs/adr/0286)
    parent = os.getpid()

    def failing_read(*args: Any, **kwargs: Any) -> Iterator[Any]:
        rows = 0
        for item in real_read(*args, **kwargs):
            rows += len(item.rows) if isinstance(item, RowBlock) else 1
            if rows >= 7000:
                if failure == "dies" and os.getpid() != parent:
                    os._exit(1)
                raise OSError(5, "Input/output error")
            yield item

    monkeypatch.setattr(csv_format, "read_blocks", failing_read)
    feed = big_feed(tmp_path / "feed.csv")
    records = record_count(us)
    with nothing_left_running():
        r = us.cli("indicators", "import", str(feed))
    assert r.exit_code == 4 and r.stdout == ""
    line = one_error_line(r.stderr)
    assert f"reading {feed} failed" in line
    assert ("Input/output error" if failure == "raises" else "the reader process stopped") in line
    assert record_count(us) == records and ind_indexes(us) == IND_INDEXES


# -- a bulk import killed midway (kill -9, or `timeout` and job cancellation: SIGTERM) ---------------------


# a separate `cbm` process: it sees the real core count, and reads in-process on one core
ONE_CORE_SKIP = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the reader process needs two cores")


def small_rows_feed(path: Path) -> Path:
    """Over the threshold with short rows (about 190,000): the reader process is still reading seconds in."""
    lines, size, n = [HEADER], 0, 0
    while size < pipeline.PARALLEL_MIN_BYTES + 64 * 1024:
        n += 1
        lines.append(f"ipv4,10.{n // 62500}.{n // 250 % 250}.{n % 250 + 1},GREEN")
        size += len(lines[-1]) + 1
    return write_feed(path, lines)


def lists_compiled(party: Party) -> None:
    """Compile the store's warninglists now: a first import compiles them in a short-lived child process
    (docs/adr/0245), which a test waiting for the import's first child would take for its reader."""
    from cbm.measures.indicators import checks

    checks._CACHE.clear()  # a checker this process made for another store would be reused, writing nothing here
    with party.open() as store:
        store.query(ix.checker)
    assert list((party.root / "warninglists" / "compiled").glob("*.bin"))


def kill_midway(party: Party, feed: Path, signum: int) -> int:
    """Start ``cbm indicators import FEED`` as its own process, kill it with ``signum`` while its reader
    process is still reading, and return the reader's pid."""
    lists_compiled(party)
    command = [sys.executable, "-c", "import sys; from cbm.cli.main import main; sys.exit(main())",
               "--store", str(party.root), "indicators", "import", str(feed)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        give_up = time.monotonic() + 20
        while not (readers := children(proc.pid)):
            assert proc.poll() is None and time.monotonic() < give_up, "no reader process started"
            time.sleep(0.02)
        time.sleep(0.5)  # the writer is well into the bulk load: the indexes are dropped, batches landed
        assert proc.poll() is None, "the import ended before it could be killed"
        os.kill(proc.pid, signum)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signum
    [reader] = readers
    return reader


@contextmanager
def reaped(pid: int) -> Iterator[None]:
    """Kill ``pid`` (a reader orphaned by a test) if it is still there at the end."""
    try:
        yield
    finally:
        if running(pid):
            os.kill(pid, signal.SIGKILL)


@ONE_CORE_SKIP
def test_a_bulk_import_killed_midway_leaves_the_store_as_before(us_ru, tmp_path, bulk_loads):
    us, ru = us_ru
    peer_indicator(us, ru, "peer.example")
    feed = small_rows_feed(tmp_path / "feed.csv")
    records, tables_before = record_count(us), tables(us)
    with reaped(kill_midway(us, feed, signal.SIGKILL)):
        assert record_count(us) == records and tables(us) == tables_before
        assert ind_indexes(us) == IND_INDEXES
        r = us.cli("store", "verify")
        assert r.exit_code == 0, r.stderr
        assert us.cli("indicators", "search", "peer.example").exit_code == 0
        again = import_json(us, feed)  # and the next import is a bulk load again, and complete
        assert bulk_loads == [1] and again["created"] == again["read"] > 150_000
        assert ind_indexes(us) == IND_INDEXES


@ONE_CORE_SKIP
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_bulk_import_killed_midway_leaves_no_reader_behind(us, tmp_path, signum):
    feed = small_rows_feed(tmp_path / "feed.csv")
    reader = kill_midway(us, feed, signum)
    with reaped(reader):
        give_up = time.monotonic() + 3
        while running(reader) and time.monotonic() < give_up:
            time.sleep(0.05)
        assert not running(reader), "the reader process outlived the import"


@pytest.mark.parametrize("name, lines", [
    ("feed.csv", [b"type,value,tlp", b"domain,good-1.example,GREEN", b"domain,bad\xff.example,GREEN",
                  b"domain,good-2.example,GREEN"]),
    ("feed.txt", [b"good-1.example", b"bad\xfe.example", b"good-2.example"]),
])
def test_an_undecodable_byte_marks_only_its_own_line_small_files_too(us, tmp_path, name, lines):
    """Small files are read in-process; a bad byte is one bad line there too (CSV and plain lists)."""
    feed = tmp_path / name
    feed.write_bytes(b"\n".join(lines) + b"\n")
    bad_line = next(i for i, line in enumerate(lines, 1) if b"bad" in line)
    refused = us.cli("indicators", "import", str(feed))
    assert refused.exit_code == 4 and f"line {bad_line}:" in refused.stderr and "UTF-8" in refused.stderr
    r = us.cli("indicators", "import", str(feed), "--skip-invalid", "--json")
    assert r.exit_code == 0, r.stderr
    assert (r.json()["created"], r.json()["invalid"]) == (2, 1)


# -- 6. a peer's feed lands in bulk too (bundle import) ---------------------------------------------------


def test_a_peers_feed_landing_in_bulk_indexes_as_the_ordinary_path(us_ru, tmp_path, monkeypatch, bulk_loads):
    """US's feed reaches RU as one bundle: several imports (versions of one id in different records, a
    repeat within one record, patterns with extra values and CIDRs), then a revocation. RU lands it in bulk
    (the bundle is "large"); a twin RU store lands it the ordinary way. Both must answer alike, and alike after
    `store rebuild`; the revocation (which ends the bulk landing) must be applied."""
    from cbm.bundle import importer

    us, ru = us_ru
    import_json(us, write_feed(tmp_path / "one.csv", repeats_feed()))
    import_json(us, write_feed(tmp_path / "two.csv", three_versions_feed()))
    changed = [line.replace(",40,", ",45,") for line in filler("10.20", 40)]
    import_json(us, write_feed(tmp_path / "three.csv", [HEADER, *changed, "domain,fresh.example,RED,90,,,"]))
    revoked = us.cli("indicators", "search", "10.20.0.7", "--json").json()["hits"][0]["id"]
    assert us.cli("indicators", "revoke", revoked, "--reason", "false positive").exit_code == 0
    assert import_json(us, write_feed(tmp_path / "four.csv", [HEADER, *filler("10.70", 30)]))["created"] == 30
    bundle = tmp_path / "us-to-ru.cbm"
    # not encrypted: the twin RU below has keys of its own, and must open the same file
    assert us.cli("bundle", "export", "--to", "RU", "-o", str(bundle), "--no-encrypt").exit_code == 0

    plain = twin(tmp_path, "RU", "plain")
    with plain.open() as store:
        import_card(store, us.card(), us.fingerprint())
    bulk_loads.clear()
    monkeypatch.setattr(importer, "BULK_BYTES", 1 << 40)
    assert plain.cli("bundle", "import", str(bundle)).exit_code == 0
    assert bulk_loads == []
    monkeypatch.setattr(importer, "BULK_BYTES", 0)
    assert ru.cli("bundle", "import", str(bundle)).exit_code == 0
    assert bulk_loads == [1]

    def state(party: Party) -> dict[str, Any]:
        with party.open() as store:
            side = {t: sorted(store.conn.execute(f"SELECT sid, author, reason, created FROM {t}").fetchall())
                    for t in ("ind_revoke",)}
        return {**index_state(party), **side}

    expected = state(plain)
    assert state(ru) == expected
    assert ind_indexes(ru) == IND_INDEXES
    hit = ru.cli("indicators", "search", "10.20.0.7", "--json").json()["hits"][0]
    assert hit["id"] == revoked and hit["state"] == "revoked"
    assert ru.cli("store", "rebuild").exit_code == 0 and state(ru) == expected
    assert ru.cli("store", "verify").exit_code == 0


def test_a_bulk_landing_that_fails_leaves_the_store_as_before(us_ru, tmp_path, monkeypatch):
    """A bad record late in a large bundle: nothing lands, the indexes are back, and the next (good) import
    lands in bulk again."""
    from cbm.bundle import importer

    us, ru = us_ru
    import_json(us, write_feed(tmp_path / "one.csv", repeats_feed()))
    bundle = tmp_path / "us-to-ru.cbm"
    assert us.cli("bundle", "export", "--to", "RU", "-o", str(bundle)).exit_code == 0
    monkeypatch.setattr(importer, "BULK_BYTES", 0)
    before = tables(ru), record_count(ru)

    real_fold = ix._fold
    calls = {"n": 0}

    def failing_fold(conn: sqlite3.Connection, rows: list[Any]) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise sqlite3.OperationalError("disk I/O error")
        real_fold(conn, rows)

    monkeypatch.setattr(ix, "_fold", failing_fold)
    r = ru.cli("bundle", "import", str(bundle))
    assert r.exit_code == 6 and len(r.stderr.splitlines()) <= 2 and "Traceback" not in r.stderr
    assert (tables(ru), record_count(ru)) == before and ind_indexes(ru) == IND_INDEXES
    assert ix._SESSIONS == {}
    monkeypatch.setattr(ix, "_fold", real_fold)
    assert ru.cli("bundle", "import", str(bundle)).exit_code == 0
    assert ind_indexes(ru) == IND_INDEXES and ix._SESSIONS == {}


def test_a_store_holding_far_more_than_comes_keeps_its_indexes(us_ru, tmp_path, monkeypatch, bulk_loads):
    """Rebuilding the indexes over everything held only pays when the incoming feed is not dwarfed by it: a
    desk holding a peer's national feed imports its own first (smaller) feed, or a peer's smaller bundle, the
    ordinary way."""
    from cbm.bundle import importer
    from cbm.measures.indicators import service

    us, ru = us_ru
    peer_indicator(us, ru, "held.example")  # US holds one row of RU's
    feed = write_feed(tmp_path / "feed.csv", [HEADER, *filler("10.80", 50)])
    bulk(monkeypatch, True)
    monkeypatch.setattr(service, "CSV_BYTES_PER_ROW", 1 << 30)  # the file "carries" no row: far less than held
    assert import_json(us, feed)["created"] == 50
    assert bulk_loads == []
    monkeypatch.setattr(service, "CSV_BYTES_PER_ROW", 130)
    assert import_json(twin(tmp_path, "US", "fresh"), feed)["created"] == 50  # holds nothing: a bulk load
    assert bulk_loads == [1]

    bundle = tmp_path / "us-to-ru.cbm"
    assert us.cli("bundle", "export", "--to", "RU", "-o", str(bundle)).exit_code == 0
    monkeypatch.setattr(importer, "BULK_BYTES", 0)
    monkeypatch.setattr(ix, "BUNDLE_BYTES_PER_ROW", 1 << 30)
    assert ru.cli("bundle", "import", str(bundle)).exit_code == 0
    assert bulk_loads == [1]  # RU holds a row, the bundle "carries" none: no bulk landing
    assert ru.cli("indicators", "search", "10.80.0.1", "--json").json()["hits"]
