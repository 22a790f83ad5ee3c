"""``indicators list --json``, ``show --json`` and ``search --json`` agree on the fields they share (docs/adr/0291,
0299): a script that lists or searches, then shows one, reads the same labels, flags, value, dates, sectors and
count of versions under the same names, for our own indicators and a peer's alike."""

from __future__ import annotations

from pathlib import Path

from tests.bundle.helpers import export, import_
from tests.conftest import Party

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"
def test_list_and_show_agree_on_every_field_they_share(us_ru, tmp_path: Path):
    us, ru = us_ru
    for party in (us, ru):
        assert party.cli("indicators", "import", str(SAMPLES / "feed.csv")).exit_code == 0
    added = ru.cli("indicators", "add", "--value", "198.51.100.77", "--label", "APT28, Fancy Bear", "--label",
                   "c2", "--sector", "energy", "--confidence", "70", "--valid-until", "2030-01-01")
    assert added.exit_code == 0, added.stderr
    assert us.cli("indicators", "add", "--value", "10.1.2.3").exit_code == 0  # a private range: flagged
    assert us.cli("indicators", "add", "--value", "10.1.2.3", "--confidence", "20").exit_code == 0  # version 2
    assert export(ru, "US", tmp_path / "ru.cbm").exit_code == 0
    assert import_(us, tmp_path / "ru.cbm").exit_code == 0
    listed = us.cli("indicators", "list", "--json", "--limit", "0").json()["indicators"]
    assert {entry["author"] for entry in listed} == {"US", "RU"}
    for entry in listed:
        shown = us.cli("indicators", "show", entry["id"], "--json").json()["indicators"]
        (one,) = [s for s in shown if s["author"] == entry["author"]]
        shared = set(entry) & set(one)
        assert {"labels", "flags", "type", "value", "valid_until", "sectors", "versions"} <= shared
        assert {k: entry[k] for k in shared} == {k: one[k] for k in shared}, entry["id"]
        assert entry["labels"] == one["stix"].get("labels", [])  # the labels as signed
        assert one["versions"] == len(one["earlier_versions"]) + 1  # a count in both, the versions beside it
        hits = us.cli("indicators", "search", entry["value"], "--json").json()["hits"]
        (hit,) = [h for h in hits if h["id"] == entry["id"] and h["author"] == entry["author"]]
        in_hit = set(entry) & set(hit)
        assert {"labels", "flags", "type", "value", "valid_until", "state"} <= in_hit
        assert {k: entry[k] for k in in_hit} == {k: hit[k] for k in in_hit}, entry["id"]
    labelled = next(e for e in listed if e["value"] == "198.51.100.77")
    assert labelled["labels"] == ["APT28, Fancy Bear", "c2"] and labelled["author"] == "RU"
    assert any(e["flags"] for e in listed) and all(isinstance(e["flags"], list) for e in listed)
    assert {e["versions"] for e in listed if e["value"] == "10.1.2.3"} == {2}


def test_list_json_has_flags_and_labels_without_being_asked(make_party):
    """``flags`` was ``null`` unless ``--flagged`` was given: a script read "not flagged"."""
    us: Party = make_party("US")
    assert us.cli("indicators", "add", "--value", "10.1.2.3").exit_code == 0  # a private range: flagged
    assert us.cli("indicators", "add", "--value", "evil.example.com", "--label", "phishing").exit_code == 0
    (flagged, labelled) = us.cli("indicators", "list", "--json").json()["indicators"]
    assert flagged["flags"] and flagged["labels"] == []
    assert labelled["flags"] == [] and labelled["labels"] == ["phishing"]


def test_search_json_reads_labels_from_few_batches_and_from_many_alike(make_party):
    """Up to a few batch records the hits' labels are read without the record codec (start-up, ADR 0256), past
    that through it (docs/adr/0299): the same labels either way, as list --json has them."""
    from cbm.measures.indicators.query import LIGHT_LABEL_BATCHES

    us: Party = make_party("US")
    for n in range(LIGHT_LABEL_BATCHES + 2):  # one batch record each
        labels = [arg for i in range(n % 3) for arg in ("--label", f"l{n}-{i}")]
        assert us.cli("indicators", "add", "--value", f"host{n}.evil.example", *labels).exit_code == 0
    listed = {e["id"]: e["labels"] for e in us.cli("indicators", "list", "--json").json()["indicators"]}
    few = us.cli("indicators", "search", "host1.evil.example", "--json").json()["hits"]
    many = us.cli("indicators", "search", "evil.example", "--substring", "--json").json()["hits"]
    assert len(few) == 1 and len(many) == LIGHT_LABEL_BATCHES + 2
    for hit in few + many:
        assert hit["labels"] == listed[hit["id"]] and hit["flags"] == []
    assert sorted(h["labels"] for h in many) == sorted(listed.values()) and any(listed.values())


def test_a_hits_row_is_read_alone_only_when_that_is_unambiguous():
    """`search --json` parses one row of a 1.1 MB batch instead of all of it (~0.4 ms against ~25 ms) only when
    the batch names our fields in order and exactly one array starts with the id; else the whole batch is read."""
    import json

    from cbm.measures.indicators import rows as R
    from cbm.measures.indicators.query import _one_row

    def payload(fields: list[str], rows: list[list[object]]) -> bytes:
        return json.dumps({"author": "US", "body": {"fields": fields, "rows": rows}, "kind": "indicators.batch"},
                          separators=(",", ":"), sort_keys=True).encode()

    a, b = "indicator--0000000a-0000-4000-8000-000000000000", "indicator--0000000b-0000-4000-8000-000000000000"
    rows = [[a, "domain-name", "a.example"] + [None] * 8 + [["c2"]], [b, "url", "https://b.example/"]]
    assert _one_row(payload(list(R.FIELDS), rows), a)[R.LABELS] == ["c2"]
    assert _one_row(payload(list(R.FIELDS), rows), b) == [b, "url", "https://b.example/"]
    assert _one_row(payload(list(R.FIELDS), [*rows, [a, "domain-name", "a.example"]]), a) is None  # twice
    assert _one_row(payload(["type", "id", "value"], [["domain-name", a, "a.example"]]), a) is None  # reordered
    assert _one_row(payload(list(R.FIELDS), rows), "indicator--0000000c-0000-4000-8000-000000000000") is None
