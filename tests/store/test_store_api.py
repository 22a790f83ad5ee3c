"""The library API the measures build on: append, query, transactions, trust changes, blobs."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from cbm.app.stores import open_store
from cbm.core.errors import (
    Equivocation,
    MalformedInput,
    NotFound,
    StoreCorrupt,
    StoreError,
    StoreMissing,
    TamperedContent,
    UsageError,
)
from cbm.store import trust
from cbm.store.activity import record_counts
from cbm.store.db import Draft
from cbm.store.verify import verify_store
from tests.conftest import Party


def test_record_counts_per_kind_and_author_over_a_half_open_period(us_ru: tuple[Party, Party]):
    us, _ = us_ru
    with us.open() as store:
        store.append_many([Draft("inquiry.open", {"ref": "I-1"}, created="2026-10-31T23:59:59Z"),
                           Draft("inquiry.open", {"ref": "I-2"}, created="2026-11-01T00:00:00Z"),
                           Draft("inquiry.reply", {"ref": "I-2"}, created="2026-11-15T12:00:00Z"),
                           Draft("hotline.message", {"ref": "H-1"}, created="2026-11-30T23:59:59Z"),
                           Draft("inquiry.open", {"ref": "I-3"}, created="2026-12-01T00:00:00Z")])
        counts = record_counts(store.conn, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert counts == [("hotline.message", "US", 1), ("inquiry.open", "US", 1), ("inquiry.reply", "US", 1)]


def test_append_and_query(us_ru: tuple[Party, Party]):
    us, ru = us_ru
    with us.open() as store:
        a = store.append("inquiry.open", {"ref": "INQ-1", "text": "a"}, to=["RU"], tlp="amber")
        b, c = store.append_many([Draft("inquiry.reply", {"ref": "INQ-1"}, ("RU",)),
                                  Draft("hotline.message", {"ref": "HL-1"}, ("*",), "TLP:RED")])
        assert (a.seq, b.seq, c.seq) == (1, 2, 3) and b.prev == a.hash and c.prev == b.hash
        assert a.tlp == "AMBER" and c.tlp == "RED" and a.to == ("RU",)
        assert store.get(a.hash[:6]) == a and store.get(a.hash.upper()) == a
        assert [r.seq for r in store.records(subject="INQ-1")] == [1, 2]
        assert [r.seq for r in store.records(kind_prefix="inquiry.")] == [1, 2]
        assert [r.seq for r in store.records(kind="hotline.message")] == [3]
        assert [r.seq for r in store.records(author="RU")] == []
        assert [r.seq for r in store.log("US", 2)] == [2, 3]
        assert store.head("US") == (3, c.hash) and store.head("RU") is None
        assert store.counts()["by_measure"] == {"inquiry": 2, "hotline": 1}
        assert store.peers() == ["RU"]
        with pytest.raises(UsageError, match="too short"):  # a usage error, naming candidates (issue 16)
            store.get("abc")
        with pytest.raises(NotFound):
            store.get("0" * 64)


@pytest.mark.parametrize("draft, error", [
    (Draft("inquiry.open", {"score": 0.5}), MalformedInput),
    (Draft("inquiry.open", {"x": 1}, ("CN",)), NotFound),
    (Draft("inquiry.open", {"x": 1}, ()), UsageError),
    (Draft("inquiry.open", {"x": 1}, ("*",), "WHITE"), UsageError),
    (Draft("nuclear.launch", {"x": 1}), MalformedInput),
    (Draft("inquiry.open", {"x": "\udc80"}), MalformedInput),
])
def test_a_bad_draft_spoils_the_whole_batch(us_ru, draft, error):
    us, ru = us_ru
    with us.open() as store:
        store.append("inquiry.open", {"x": 0})
        with pytest.raises(error):
            store.append_many([Draft("inquiry.open", {"x": 1}), draft])
        assert store.head("US")[0] == 1  # type: ignore[index]
        assert store.append("inquiry.open", {"x": 2}).seq == 2


def test_land_refuses_a_second_record_at_one_position(us_ru):
    us, ru = us_ru
    with ru.open() as ru_store:
        one = ru_store.append("inquiry.open", {"x": 1}, to=("US",))
    with ru.open() as ru_store:  # a second RU record 1, as an equivocating RU would sign it
        ru_store.conn.execute("DELETE FROM records")
        other = ru_store.append("inquiry.open", {"x": "other"}, to=("US",))
    with us.open() as store:
        with store.transaction():
            store.land([one])
        with pytest.raises(Equivocation):
            with store.transaction():
                store.land([other])
        assert [r.hash for r in store.log("RU")] == [one.hash]


@pytest.mark.parametrize("operation", ["rotate", "revoke"])
def test_key_change_and_its_record_land_together(make_party, monkeypatch: pytest.MonkeyPatch, operation):
    """Regression: the keys.rotate/keys.revoke record and the key change were two transactions; a crash
    between them left the old key active, signing records past the seq where peers retire it."""
    us = make_party("US")
    with us.open() as store:
        store.append("inquiry.open", {"x": 1})
        before = store.conn.execute("SELECT keyid, status, last_seq FROM party_keys").fetchall()

        def crash(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt  # as a kill between landing the record and recording the key change

        monkeypatch.setattr(trust, "_insert_key", crash)
        with pytest.raises(KeyboardInterrupt):
            trust.rotate(store) if operation == "rotate" else trust.revoke_own(store, "lost")
        monkeypatch.undo()
        assert store.conn.execute("SELECT keyid, status, last_seq FROM party_keys").fetchall() == before
        assert store.head("US")[0] == 1  # type: ignore[index]  # no orphan keys.* record
        card = trust.rotate(store) if operation == "rotate" else trust.revoke_own(store, "lost")
        assert store.append("inquiry.open", {"x": 3}).keyid == card.keyid
        result = verify_store(store)
        assert result.ok and result.records == 3


def test_open_errors(tmp_path: Path, make_party):
    with pytest.raises(StoreMissing):
        open_store(tmp_path / "nothing")
    us = make_party("US")
    conn = sqlite3.connect(us.root / "store.sqlite")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer cbm"):
        open_store(us.root)
    (us.root / "config.toml").write_text("party = [")
    with pytest.raises(StoreCorrupt):
        open_store(us.root)


def test_blobs(make_party, tmp_path: Path):
    us = make_party("US")
    with us.open() as store:
        digest, size = store.blobs.put(io.BytesIO(b"white paper"))
        assert size == 11 and store.blobs.has(digest)
        assert b"".join(store.blobs.read(digest)) == b"white paper"
        with pytest.raises(TamperedContent):
            store.blobs.put(io.BytesIO(b"other"), expected=digest)
        with pytest.raises(TamperedContent):
            store.blobs.put(io.BytesIO(b"x" * 100), max_bytes=10)
        assert sorted(p.name for p in store.blobs.root.rglob("*") if p.is_file()) == [digest]  # no leftovers
        store.blobs.path(digest).write_bytes(b"altered on disk")
        with pytest.raises(TamperedContent):
            b"".join(store.blobs.read(digest))
        with pytest.raises(UsageError):  # regression: `$` accepted a trailing newline in a digest
            store.blobs.path(digest + "\n")
        with pytest.raises(UsageError):
            store.blobs.path("../" + digest[3:])
        with pytest.raises(NotFound):
            b"".join(store.blobs.read("0" * 64))


def test_a_missing_database_is_not_quietly_recreated(make_party):
    """Regression: with store.sqlite gone, opening made a fresh empty database and `store verify` said OK."""
    us = make_party("US")
    assert us.cli("store", "verify").exit_code == 0
    (us.root / "store.sqlite").rename(us.root / "moved.sqlite")
    r = us.cli("store", "verify")
    assert r.exit_code == 6 and r.stdout == "" and "store.sqlite is missing" in r.stderr
    assert not (us.root / "store.sqlite").exists()


def test_a_failed_statement_rolls_back_cleanly(make_party):
    us = make_party("US")
    with us.open() as store:
        with pytest.raises(sqlite3.OperationalError):
            with store.transaction() as conn:
                conn.execute("INSERT INTO parties (party, name, added) VALUES ('XX', 'x', 'now')")
                conn.execute("SELECT * FROM no_such_table")
        assert not store.conn.in_transaction
        assert not store.party_exists("XX")
        assert store.append("inquiry.open", {"x": 1}).seq == 1
