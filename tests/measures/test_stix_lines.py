"""The specialised STIX indicator encoder gives exactly the bytes of the general builder, compactly encoded by
the standard library, for any row signed content can hold (issue 20, docs/adr/0200-exports-write-bytes.md)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.measures.indicators import model
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.formats import stix
from cbm.measures.indicators.formats.jsonbytes import dumps
from cbm.measures.indicators.formats.stix_lines import IndicatorEncoder

_std = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# any text signed content can hold: every code point but lone surrogates (core/canonical.py refuses them)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
TIME = st.sampled_from(["2026-11-23T06:00:00Z", "2026-11-23T06:00:00.123Z", "2001-01-01T00:00:00Z"])
SMALL = st.none() | TEXT
JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | TEXT,
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                       max_leaves=8)


@st.composite
def rows(draw: Any) -> list[Any]:
    kind = draw(st.sampled_from([*model.SIMPLE_TYPES, "ipv4-addr", "ipv6-addr"]))
    pattern = draw(st.none() | TEXT.filter(bool))
    row: list[Any] = [None] * len(R.FIELDS)
    row[R.ID] = "indicator--" + draw(st.uuids()).hex
    row[R.TYPE] = kind
    row[R.VALUE] = draw(TEXT.filter(bool))
    row[R.PATTERN] = pattern
    row[R.VALID_UNTIL] = draw(st.none() | TIME)
    row[R.VALID_FROM] = draw(st.none() | TIME)
    row[R.CREATED] = draw(st.none() | TIME)
    row[R.CONFIDENCE] = draw(st.none() | st.integers(0, 100))
    row[R.NAME], row[R.DESCRIPTION] = draw(SMALL), draw(SMALL)
    for i in (R.SECTORS, R.LABELS, R.INDICATOR_TYPES):
        row[i] = draw(st.none() | st.lists(TEXT, max_size=3))
    row[R.KILL_CHAIN] = draw(st.none() | st.lists(st.fixed_dictionaries(
        {"kill_chain_name": TEXT, "phase_name": TEXT}), max_size=2))
    row[R.EXTRA] = draw(st.none() | st.dictionaries(TEXT, JSONISH, max_size=3)
                        | st.fixed_dictionaries({"valid_from": TIME, "modified": TIME}))
    return row


@settings(max_examples=400, deadline=None)
@given(row=rows(), author=st.sampled_from(["US", "RU", "OSCE-57"]), tlp=st.sampled_from(list(model.TLP_MARKING_IDS)),
       modified=TIME.filter(lambda t: len(t) == 20), revoked=st.booleans())
def test_encoder_gives_the_general_builders_bytes(row, author, tlp, modified, revoked):
    encoder = IndicatorEncoder()
    fast = encoder.encode(encoder.version(author, tlp, modified), row, revoked)
    assert fast == _std(stix.indicator(author, tlp, row, modified, revoked)).encode("utf-8")
    json.loads(fast)


@settings(max_examples=300, deadline=None)
@given(value=JSONISH)
def test_dumps_is_the_standard_librarys_compact_utf8(value):
    assert dumps(value) == _std(value).encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(batch=st.lists(st.tuples(rows(), st.booleans()), min_size=1, max_size=6),
       tlp=st.sampled_from(list(model.TLP_MARKING_IDS)), with_after=st.booleans(), as_signed=st.booleans())
def test_a_run_is_each_indicator_with_what_follows_it_in_order(batch, tlp, with_after, as_signed):
    """A run spliced into one buffer (the constant head and tails as bytes around orjson's properties) is, row
    after row, exactly the general builder's bytes, each line joined by the separator and followed by the
    objects ``after`` gives for its row; rows are read by position, in the order given, padded or as signed
    (trailing nulls dropped: the export hands the encoder the record's own rows, docs/adr/0231)."""
    encoder = IndicatorEncoder()
    version = encoder.version("US", tlp, "2026-11-23T06:00:00Z")
    table = [row for row, _ in batch]
    given_rows = [R.trim(list(row)) for row in table] if as_signed else table
    positions = list(reversed(range(len(batch))))
    revoked_flags = [int(batch[pos][1]) for pos in positions]

    def after(row: list[Any]) -> list[dict[str, Any]]:
        return [{"type": "note", "object_refs": [row[R.ID]]}] if len(row) > R.NAME and row[R.NAME] else []

    expected = b""
    for pos, revoked in zip(positions, revoked_flags, strict=True):
        expected += b",\n" + _std(stix.indicator("US", tlp, table[pos], "2026-11-23T06:00:00Z", bool(revoked))
                                  ).encode("utf-8")
        if with_after:
            expected += b"".join(b",\n" + dumps(obj) for obj in after(table[pos]))
    assert encoder.run(version, given_rows, positions, revoked_flags, after if with_after else None) == expected
