"""`--json` documents are built by `cbm.cli.output.to_jsonable`: a result is an object of its fields in their
order, whether it is a dataclass or a named tuple (the value holders of `status` and `search` are named tuples:
docs/adr/0256-reading-commands-load-no-record-codec.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cbm.app.outbox import Outbox
from cbm.cli.output import to_jsonable
from cbm.measures.base import Attention
from cbm.measures.indicators.query import SearchHit, SearchResult


@dataclass
class _Result:
    name: str
    items: list[Attention]
    raw: bytes
    pair: tuple[int, int]


def test_a_named_tuple_is_an_object_of_its_fields_in_order_as_a_dataclass_is():
    item = Attention("inquiry", 0, "RU inquiry overdue", ref="abc", due="2026-12-08T00:00:00Z")
    assert to_jsonable(item) == {"measure": "inquiry", "rank": 0, "text": "RU inquiry overdue", "ref": "abc",
                                 "due": "2026-12-08T00:00:00Z"}
    assert list(to_jsonable(item)) == ["measure", "rank", "text", "ref", "due"]
    # nested in a dataclass: the named tuple inside is an object too; a plain tuple stays an array, bytes are hex
    result = _Result("x", [item], b"\x01\xff", (1, 2))
    assert to_jsonable(result) == {"name": "x", "items": [to_jsonable(item)], "raw": "01ff", "pair": [1, 2]}


def test_a_search_result_is_the_document_scripts_read():
    hit = SearchHit("indicator--1", "RU", "domain-name", "a.example", "GREEN", 60, "active", None, "exact",
                    sightings=2, flags=[], labels=["c2"])
    doc = to_jsonable(SearchResult("a.example", "a.example", "domain-name", [hit], ["RU"]))
    assert json.dumps(doc) == json.dumps({
        "query": "a.example", "normalised": "a.example", "type": "domain-name",
        "hits": [{"id": "indicator--1", "author": "RU", "type": "domain-name", "value": "a.example", "tlp": "GREEN",
                  "confidence": 60, "state": "active", "valid_until": None, "match": "exact", "sightings": 2,
                  "origin": None, "asn": None, "flags": [], "labels": ["c2"]}],
        "reported_by": ["RU"]})
    assert to_jsonable([Outbox("RU", 3, None, None, False)]) == [
        {"peer": "RU", "ahead": 3, "since": None, "last_sent": None, "overdue": False}]
