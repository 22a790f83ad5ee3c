"""Reading batch records back for exports (cbm/measures/indicators/cache.py): the fast path (orjson, pybase64)
reads what the strict reader reads, and what it refuses goes to the strict reader, not to an error."""

from __future__ import annotations

import base64
import io
import json
import sqlite3
from pathlib import Path

from cbm.measures.indicators import query
from cbm.measures.indicators import service as svc
from cbm.measures.indicators.cache import read_batch
from tests.conftest import at

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"


def _export(party) -> bytes:  # noqa: ANN001
    out = io.BytesIO()
    with at("2026-11-23T06:00:00Z"), party.open() as store:
        svc.export(store, query.make_filter(), "stix", out)
    return out.getvalue()


def test_a_record_whose_payload_is_url_safe_base64_reads_and_exports_as_before(make_party):
    """DSSE lets a signer use URL-safe base64 and the strict reader accepts it; the fast decoder refuses it, so
    such a record must take the strict path and give the same batch and the same export."""
    us = make_party("US")
    with at("2026-11-20T08:00:00Z"):
        r = us.cli("indicators", "import", str(SAMPLES / "feed.csv"))
        assert r.exit_code == 0, r.stderr
        # bytes with their high bits set give base64 digits 62 and 63 ('+' and '/', or '-' and '_')
        r = us.cli("indicators", "add", "--value", "198.51.100.7", "--description", "ÿÿÿ ~~~ ??? ÿ~?ÿ~?ÿ~?")
        assert r.exit_code == 0, r.stderr
    db = sqlite3.connect(us.root / "store.sqlite")
    envelopes = {rec: json.loads(envelope) for rec, envelope in db.execute(
        "SELECT id, envelope FROM records WHERE kind = 'indicators.batch'")}
    # a record whose payload has '+' or '/', so that the two forms differ
    rec = next(rec for rec, envelope in envelopes.items() if {"+", "/"} & set(envelope["payload"]))
    envelope = envelopes[rec]
    with us.open() as store:
        before = read_batch(store, rec)
    assert before.rows
    exported = _export(us)
    url_safe = base64.urlsafe_b64encode(base64.b64decode(envelope["payload"])).decode("ascii")
    envelope["payload"] = url_safe
    db.execute("UPDATE records SET envelope = ? WHERE id = ?", (json.dumps(envelope).encode(), rec))
    db.commit()
    db.close()
    with us.open() as store:
        assert read_batch(store, rec) == before
    assert _export(us) == exported


def test_a_batch_hands_the_export_its_signed_rows_only_where_they_sit_where_the_index_says():
    """The STIX export encodes a record's rows as signed (no padded copy of each, docs/adr/0231); the index
    counts positions among the well-formed rows only, so a batch with any malformed row (possible in a peer's
    signed record) or with its own column order gives the padded, remapped rows instead."""
    from cbm.measures.indicators import rows as R
    from cbm.measures.indicators.cache import Batch

    good = ["indicator--1", "ipv4-addr", "192.0.2.1"]
    other = ["indicator--2", "domain-name", "example.org", None, 50]
    fields = list(R.FIELDS)
    plain = Batch(1, "US", "GREEN", "2026-11-20T08:00:00Z", {"fields": fields, "rows": [good, other]}, [])
    assert plain.signed_rows == [good, other] and plain.signed_rows[0] is good
    assert plain.rows == [R.rows_of({"fields": fields, "rows": [good]})[0],
                          other + [None] * (len(R.FIELDS) - len(other))]
    for bad in (7, [], ["indicator--3"], [3, "url"], ["indicator--3", None]):
        mixed = Batch(1, "US", "GREEN", "2026-11-20T08:00:00Z", {"fields": fields, "rows": [good, bad, other]}, [])
        assert mixed.signed_rows == mixed.rows and len(mixed.rows) == 2 and mixed.rows[1][R.ID] == "indicator--2"
    reordered = {"fields": ["type", "id", "value"], "rows": [["ipv4-addr", "indicator--1", "192.0.2.1"]]}
    remapped = Batch(1, "US", "GREEN", "2026-11-20T08:00:00Z", reordered, [])
    assert remapped.signed_rows == remapped.rows and remapped.rows[0][:3] == good
    assert Batch(1, "US", "GREEN", "t", {"fields": fields, "rows": []}, []).signed_rows == []
