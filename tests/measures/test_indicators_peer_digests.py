"""Only our own party's indicators keep a content digest in the index (docs/adr/0293): a peer's rows land with
none, ours keep theirs however they come (imported, relayed back to us, signed by a rotated key), and the index
is the same after ``store rebuild``. Our daily re-import still skips every unchanged row by its digest, also
when a peer signed a row under one of our ids."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from cbm.bundle import importer
from cbm.measures.indicators import rows as R
from tests.conftest import Party
from tests.measures.test_indicators_bulk import HEADER, filler, import_json, tables, write_feed
from tests.measures.test_indicators_bulk_held import bulk
from tests.measures.test_indicators_refeed import (  # noqa: F401  (fixtures: the clock, two cores, short lines)
    daily_feed,
    fixed_clock,
    second_core,
    short_lines,
)
from tests.measures.transport import deliver


def digested(party: Party) -> dict[str, set[bool]]:
    """Per author, whether its ``ind`` rows hold a 16-byte digest (a set: {True}, {False}, or both)."""
    with party.open() as store:
        found: dict[str, set[bool]] = {}
        for author, digest in store.conn.execute("SELECT author, digest FROM ind"):
            found.setdefault(author, set()).add(type(digest) is bytes and len(digest) == 16)
        return found


def rebuilt_the_same(party: Party) -> None:
    before = tables(party)
    r = party.cli("store", "rebuild")
    assert r.exit_code == 0, r.stderr
    assert tables(party) == before


def refed(party: Party, feed: Any, rows: int, read_back: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """``party`` imports ``feed`` (``rows`` rows it holds) again: every row unchanged, told by its digest."""
    bulk(monkeypatch, True)
    read_back.clear()
    again = import_json(party, feed)
    assert again["unchanged"] == again["read"] == rows and again["records"] == 0
    assert read_back == []  # no held version read back: each row was skipped by its digest


@pytest.mark.parametrize("in_bulk", [True, False], ids=["bulk landing", "row by row"])
def test_a_peers_bundle_lands_without_digests_and_a_rebuild_gives_the_same(
        us_ru, tmp_path, monkeypatch, held_versions_read, in_bulk):
    us, ru = us_ru
    import_json(us, write_feed(tmp_path / "us.csv", [HEADER, *filler("10.30", 700), *filler("10.31", 90, "AMBER")]))
    ru_lines = [HEADER, *filler("10.50", 300), "domain,ru.example,GREEN,50,,,"]
    ru_feed = write_feed(tmp_path / "ru.csv", ru_lines)
    bulk(monkeypatch, True)
    import_json(ru, ru_feed)
    bundle = tmp_path / "us-to-ru.cbm"
    assert us.cli("bundle", "export", "--to", "RU", "-o", str(bundle), "--no-encrypt").exit_code == 0
    monkeypatch.setattr(importer, "BULK_BYTES", 0 if in_bulk else 1 << 40)
    r = ru.cli("bundle", "import", str(bundle))
    assert r.exit_code == 0, r.stderr
    with ru.open() as store:
        assert store.conn.execute("SELECT COUNT(*) FROM ind WHERE author = 'US'").fetchone()[0] == 790
    assert digested(ru) == {"US": {False}, "RU": {True}}
    assert digested(us) == {"US": {True}}  # at home, US's own rows keep theirs
    rebuilt_the_same(ru)
    refed(ru, ru_feed, len(ru_lines) - 1, held_versions_read, monkeypatch)


def test_a_peers_row_under_one_of_our_ids_leaves_our_rows_skipped_by_digest(
        us_ru, tmp_path, monkeypatch, held_versions_read):
    """A peer may sign a row under an id of ours (ids are text): it is the peer's row, kept without a digest
    beside ours, and our re-import still tells our unchanged rows by their digests."""
    us, ru = us_ru
    ru_lines = [HEADER, *filler("10.50", 300)]
    ru_feed = write_feed(tmp_path / "ru.csv", ru_lines)
    bulk(monkeypatch, True)
    import_json(ru, ru_feed)
    with ru.open() as store:
        ours = store.conn.execute("SELECT sid, value FROM ind WHERE value = '10.50.0.1'").fetchone()
    with us.open() as store:  # the same id and value, and one with our id and another value
        rows = [[ours[0], "ipv4-addr", ours[1]], [ours[0], "ipv4-addr", "10.9.9.9"]]
        store.append("indicators.batch", {"fields": list(R.FIELDS), "rows": rows}, tlp="GREEN")
    with us.open() as src, ru.open() as dst:
        deliver(src, dst)
    with ru.open() as store:
        held = store.conn.execute("SELECT author, value, digest IS NULL FROM ind WHERE sid = ? ORDER BY author",
                                  (ours[0],)).fetchall()
    assert held == [("RU", "10.50.0.1", 0), ("US", "10.9.9.9", 1)]  # the peer's second row is its new version
    rebuilt_the_same(ru)
    refed(ru, ru_feed, len(ru_lines) - 1, held_versions_read, monkeypatch)


def test_our_rows_relayed_back_to_us_and_signed_by_a_rotated_key_keep_their_digests(
        make_party, tmp_path, monkeypatch, held_versions_read):
    """A copy of our store from before (a restored backup) receives our later records through an import, as a
    peer relays them back: they are ours, and keep their digests as if imported here; so do rows signed after a
    key rotation. Either way the daily re-import skips them by digest."""
    ru = make_party("RU")
    first = write_feed(tmp_path / "first.csv", [HEADER, *filler("10.50", 300)])
    bulk(monkeypatch, True)
    import_json(ru, first)
    assert ru.cli("keys", "rotate").exit_code == 0
    backup = Party("RU", tmp_path / "backup" / "RU")  # from after the rotation: it holds the key it signs with
    shutil.copytree(ru.root, backup.root)
    second_lines = [HEADER, *filler("10.51", 400), "url,http://ru.example/a,AMBER,60,2027-01-01,,"]
    second = write_feed(tmp_path / "second.csv", second_lines)
    import_json(ru, second)
    assert digested(ru) == {"RU": {True}}
    with ru.open() as src, backup.open() as dst:
        deliver(src, dst)
    assert digested(backup) == {"RU": {True}}
    assert _digests_by_id(backup) == _digests_by_id(ru)
    rebuilt_the_same(backup)
    refed(backup, second, len(second_lines) - 1, held_versions_read, monkeypatch)
    refed(backup, first, 300, held_versions_read, monkeypatch)  # signed by the key before the rotation


def _digests_by_id(party: Party) -> dict[str, bytes]:
    with party.open() as store:
        return dict(store.conn.execute("SELECT sid, digest FROM ind"))
