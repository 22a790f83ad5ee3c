"""cbm never signs an indicator row its own landing gate would refuse (cbm.measures.malformed).

A feed line whose name holds a control character, or whose value, name or description is longer than the gate
allows, used to be read, signed in a batch of up to 5,000 rows and then kept as a *malformed* record of our
own: the whole batch, good rows included, folded nowhere, while the import said "imported" and exited 0. Each
reader now refuses the line (``formats.row_text``): one error with its line number, exit 4, nothing imported, or
with ``--skip-invalid`` the other lines land. Behind the readers, the writer refuses to keep a batch of its own
the gate judged malformed."""

from __future__ import annotations

import json

import pytest

from cbm.core.errors import InputRejected
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.writer import BatchWriter
from tests.conftest import Party
from tests.measures.test_indicators_bulk import big_feed, ind_indexes, nothing_left_running, record_count

LONG = "x" * (R.MAX_TEXT + 1)


@pytest.fixture(autouse=True)
def second_core(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    if len(os.sched_getaffinity(0)) < 2:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})


@pytest.mark.parametrize("line, message", [
    ("domain-name,bad.example.com,bad\x01name,,GREEN", "name holds a control character (U+0001)"),
    ("domain-name,bad.example.com,bad\u2028name,,GREEN", "name holds a control character (U+2028)"),
    (f"domain-name,bad.example.com,,{LONG},GREEN", "description is longer than 65,536 characters"),
    (f"domain-name,bad.example.com,{LONG},,GREEN", "name is longer than 65,536 characters"),
    ("url,http://bad.example.com/a\x02b,,,GREEN", "value holds a control character (U+0002)"),
    (f"url,http://bad.example.com/{LONG},,,GREEN", "value is longer than 65,536 characters"),
])
def test_a_line_the_gate_would_refuse_fails_the_import_with_its_line(make_party, tmp_path, line, message):
    us: Party = make_party("US")
    feed = tmp_path / "feed.csv"
    feed.write_text(f"type,value,name,description,tlp\ndomain-name,good.example.com,fine,,GREEN\n{line}\n",
                    encoding="utf-8")
    records = record_count(us)
    r = us.cli("indicators", "import", str(feed))
    assert r.exit_code == 4 and r.stdout == "" and "Traceback" not in r.stderr
    assert f"line 3: {message}" in r.stderr and "1 bad line(s); nothing imported" in r.stderr
    assert record_count(us) == records

    r = us.cli("indicators", "import", str(feed), "--skip-invalid", "--json")
    assert r.exit_code == 0, r.stderr
    assert (r.json()["created"], r.json()["invalid"]) == (1, 1)
    status = us.cli("status", "--json")
    assert "malformed" not in json.dumps(status.json()["attention"])  # nothing of ours kept as malformed
    assert us.cli("indicators", "search", "good.example.com").exit_code == 0


def test_the_same_line_in_a_large_feed_read_by_the_reader_process(make_party, tmp_path):
    us: Party = make_party("US")
    feed = big_feed(tmp_path / "feed.csv", bad={9000: b"domain,bad.example.com,GREEN,50,,bad\x01name,"})
    records = record_count(us)
    with nothing_left_running():
        r = us.cli("indicators", "import", str(feed))
    assert r.exit_code == 4 and r.stdout == "" and "Traceback" not in r.stderr
    assert "line 9001: name holds a control character (U+0001)" in r.stderr
    assert record_count(us) == records and ind_indexes(us) == {"ind_sid", "ind_value", "ind_until"}


def test_a_plain_list_value_with_a_control_character_is_its_own_bad_line(make_party, tmp_path):
    us: Party = make_party("US")
    feed = tmp_path / "feed.txt"
    feed.write_text("good.example.com\nhttp://bad.example.com/\x05\n", encoding="utf-8")
    r = us.cli("indicators", "import", str(feed))
    assert r.exit_code == 4 and "line 2: value holds a control character (U+0005)" in r.stderr


def test_a_stix_indicator_named_with_a_control_character_is_refused(make_party, tmp_path):
    us: Party = make_party("US")
    bundle = {"type": "bundle", "id": "bundle--0c6a1e4c-8a3c-4f8e-9a55-6d1d3f0c2b11", "objects": [{
        "type": "indicator", "spec_version": "2.1", "id": "indicator--9a4d1b2e-3c5f-4e6a-8b7c-1d2e3f4a5b6c",
        "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
        "name": "evil\x07bell", "pattern": "[domain-name:value = 'evil.example.com']", "pattern_type": "stix",
        "valid_from": "2026-11-01T00:00:00Z"}]}
    path = tmp_path / "feed.stix.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    records = record_count(us)
    r = us.cli("indicators", "import", str(path))
    assert r.exit_code == 4 and "Traceback" not in r.stderr
    assert "name holds a control character (U+0007)" in r.stderr
    assert record_count(us) == records


def test_the_writer_keeps_no_batch_of_its_own_the_gate_refuses(make_party):
    """Behind the readers: rows handed to the writer directly (as a future reader with a gap would) still never
    become a malformed record of ours; the import's transaction rolls back."""
    us: Party = make_party("US")
    records = record_count(us)
    with us.open() as store, pytest.raises(InputRejected, match="name holds a control character"):
        with store.transaction():
            writer = BatchWriter(store, ("*",))
            row: list[object] = [None] * len(R.FIELDS)
            row[R.ID], row[R.TYPE], row[R.VALUE] = ("indicator--6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f", "domain-name",
                                                    "bad.example.com")
            row[R.NAME] = "bad\x01name"
            writer.add(row, "GREEN")
            writer.finish()
    assert record_count(us) == records


def test_a_made_batch_the_gate_refuses_rolls_back_and_leaves_the_cycle_collector_on(make_party):
    """A batch made by the reader process lands with the cycle collector paused (docs/adr/0289): refused by the
    gate, nothing lands and the collector is on again; landed, it is on again too."""
    import gc

    from cbm.core.canonical import encode_plain

    us: Party = make_party("US")
    records = record_count(us)
    row: list[object] = [None] * len(R.FIELDS)
    row[R.ID], row[R.TYPE], row[R.VALUE] = ("indicator--6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f", "domain-name",
                                            "bad.example.com")
    good = R.trim(list(row))
    row[R.NAME] = "bad\x01name"
    assert gc.isenabled()
    with us.open() as store, pytest.raises(InputRejected, match="name holds a control character"):
        with store.transaction():
            writer = BatchWriter(store, ("*",))
            body = encode_plain({"fields": list(R.FIELDS), "rows": [R.trim(row)]})
            writer.add_made(("batch", "GREEN", body, 1, [row[R.ID]], None, 1, 0))
    assert gc.isenabled()
    assert record_count(us) == records
    with us.open() as store, store.transaction():
        writer = BatchWriter(store, ("*",))
        writer.add_made(("batch", "GREEN", encode_plain({"fields": list(R.FIELDS), "rows": [good]}), 1,
                         [good[R.ID]], None, 1, 0))
    assert gc.isenabled()
    assert record_count(us) == records + 1
