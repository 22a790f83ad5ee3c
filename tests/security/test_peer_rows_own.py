"""Our own writers never sign a row our peers would leave out (docs/adr/0269, 0270).

Landing holds a peer's batch row to ``normal_form.is_normal``: its value must be exactly what ``model.normalise``
makes of it. Whatever the normaliser returns to a writer (``indicators add``, every import format) must
therefore be a fixed point of it, and the column check landing runs first (``normal_form.all_normal``) must never
pass a value ``is_normal`` refuses. Then the same rows, carried to a peer in a real bundle, all land there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.measures.indicators import model, normal_form
from tests.bundle.helpers import export, import_
from tests.conftest import Party

DATA = Path(__file__).resolve().parents[1] / "data"

PIECES = st.sampled_from([
    "1.2.3.4", "010.1.2.3", "10.0.0.1/8", "10.0.0.0/8", "::1", "2001:DB8::1", "::ffff:1.2.3.4", "fe80::1%eth0",
    "[", "]", "[.]", "(.)", "[dot]", "[:]", "[://]", "[@]", "[at]", "[/]", "hxxp", "hXXps", "meow", "fxp", "://",
    "http://", "ftp://", "evil", "EVIL", "example", ".", "..", "-", "_", "xn--", "b\u00fccher", "\u0661", "\u00b2",
    "@", ":", ":8080", ":99999", ":0", "/", "?q=1", "#f", "%0a", "'", "\\", " ", "\t", "\n", "a" * 63, "A" * 32,
    "f" * 40, "0" * 64, "$EXTERNAL_NET", ",", ";", "user@",
])
RAW = st.one_of(st.lists(PIECES, min_size=1, max_size=6).map("".join), st.text(max_size=20))
KINDS = st.sampled_from(["", *model.SIMPLE_TYPES])


@settings(max_examples=3000, deadline=None)
@given(kind=KINDS, raw=RAW)
def test_what_the_normaliser_returns_passes_the_landing_rule(kind: str, raw: str) -> None:
    try:
        found_kind, value = model.normalise(kind, raw)
    except model.BadValue:
        return
    assert normal_form.is_normal(found_kind, value), (kind, raw, found_kind, value)
    assert model.normalise(found_kind, value) == (found_kind, value)


@settings(max_examples=2000, deadline=None)
@given(kind=st.sampled_from(list(model.SIMPLE_TYPES)), raws=st.lists(RAW, max_size=5))
def test_the_column_check_passes_only_what_the_row_check_passes(kind: str, raws: list[str]) -> None:
    """``all_normal`` may send a good column to the row check (False), never pass a bad value (True)."""
    if normal_form.all_normal(kind, raws):
        assert all(normal_form.is_normal(kind, raw) for raw in raws), (kind, raws)


def test_a_common_feed_column_takes_the_column_path() -> None:
    """The C-level column check accepts a feed's usual values (else every batch would be walked value by value)."""
    assert normal_form.all_normal("ipv4-addr", ["198.51.100.7", "10.0.0.1"])
    assert normal_form.all_normal("domain-name", ["good.example", "xn--bcher-kva.example"])
    assert normal_form.all_normal("url", ["https://good.example/x?q=1", "http://10.0.0.1:8080/"])
    assert normal_form.all_normal("file-md5", ["0" * 32, "abcdef" + "1" * 26])
    assert normal_form.all_normal("ipv6-addr", ["2001:db8::1", "::1"])


@pytest.mark.parametrize("kind, column", [
    ("ipv4-addr", ["1.2.3.4\n1.2.3.4"]), ("ipv4-addr", ["10.0.0.1", "1.2.3.4\n5.6.7.8"]),
    ("domain-name", ["good.example\nevil.example"]), ("url", ["http://a.example/\nhttp://b.example/"]),
])
def test_a_value_holding_two_good_lines_never_passes_the_column_check(kind: str, column: list[str]) -> None:
    """The column check joins the values with line breaks: a value that is two good values on two lines matched
    as two lines, so a peer's ``"1.2.3.4\n1.2.3.4"`` passed as normal (found by the hypothesis test above)."""
    assert not normal_form.all_normal(kind, column)
    assert not all(normal_form.is_normal(kind, value) for value in column)


def test_a_value_with_no_stable_normal_form_is_refused_where_it_is_read() -> None:
    """``[[.]]`` refangs to ``[.]``, which refangs again: signed as the first, a peer would leave it out."""
    with pytest.raises(model.BadValue, match="no stable normal form"):
        model.normalise("url", "http://evil.example/[[.]]")


@pytest.mark.parametrize("kind, value", [
    ("domain-name", "a\n.example.com"), ("domain-name", "evil.example\n.com"), ("url", "http://a\n.example/"),
    ("email-addr", "a\n@b.example"),
])
def test_a_line_break_inside_a_value_is_no_normal_form(kind: str, value: str) -> None:
    """A regex ``$`` matches before a final line break: a domain label ``a\\n`` passed, so ``a\\n.example.com``
    was its own normal form (the readers' single-line rule stopped it first; the rule itself must too)."""
    assert not normal_form.is_normal(kind, value)
    with pytest.raises(model.BadValue):
        model.normalise(kind, value)


@pytest.mark.parametrize("feed, fmt", [
    ("feeds/stalkerware-indicators/network.csv", "csv"),
    ("feeds/stalkerware-indicators/quad9_blocklist.txt", "txt"),
    ("feeds/stalkerware-indicators/misp_event.json", "misp"),
    ("stix21/oasis-cti-documentation/indicator-for-malicious-url.json", "stix"),
    ("stix21/oasis-cti-documentation/malware-indicator-for-file-hash.json", "stix"),
    ("misp/misp-stix-tests/test_event2_stix21.json", "stix"),
])
def test_every_import_format_signs_rows_a_peer_lands_whole(us_ru: tuple[Party, Party], tmp_path: Path, feed: str,
                                                           fmt: str) -> None:
    us, ru = us_ru
    r = us.cli("indicators", "import", str(DATA / feed), "--format", fmt, "--skip-invalid", "--to", "RU")
    assert r.exit_code == 0, r.stderr
    mine = us.cli("indicators", "list", "--json", "--limit", "0").json()["indicators"]
    assert mine, feed
    export(us, "RU", tmp_path / "us.cbm")
    assert import_(ru, tmp_path / "us.cbm").exit_code == 0
    theirs = ru.cli("indicators", "list", "--json", "--limit", "0", "--from", "US").json()["indicators"]
    assert sorted((i["id"], i["value"]) for i in theirs) == sorted((i["id"], i["value"]) for i in mine)
    for party in (us, ru):
        assert party.cli("status", "--json").json()["malformed_count"] == 0


def test_indicators_add_signs_the_normal_form_a_peer_lands(us_ru: tuple[Party, Party], tmp_path: Path) -> None:
    """Values a peer would leave out as they are typed (upper case, spaces, defanged, a range with host bits, an
    upper-case hash) are signed in their normal form, and land at the peer."""
    us, ru = us_ru
    typed = ["EVIL.Example", " 1.2.3.4 ", "hxxp://evil[.]example:8080/x", "10.0.0.1/8", "A" * 64, "2001:DB8::1",
             "x@EVIL.example"]
    for value in typed:
        r = us.cli("indicators", "add", "--value", value, "--to", "RU")
        assert r.exit_code == 0, (value, r.stderr)
    export(us, "RU", tmp_path / "us.cbm")
    assert import_(ru, tmp_path / "us.cbm").exit_code == 0
    theirs = ru.cli("indicators", "list", "--json", "--limit", "0", "--from", "US").json()["indicators"]
    assert sorted(i["value"] for i in theirs) == sorted(
        ["evil.example", "1.2.3.4", "http://evil.example:8080/x", "10.0.0.0/8", "a" * 64, "2001:db8::1",
         "x@evil.example"])
    assert ru.cli("status", "--json").json()["malformed_count"] == 0


GOOD_ID = "indicator--0b6c7a2e-5d4f-4e3a-8b1c-2d3e4f5a6b7c"


@settings(max_examples=3000, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, 48), st.sampled_from(["", "0", "a", "g", "A", "-", "_", "i", "\u0430",
                                                                      "\u0661", " ", "--", "x", "indicator--"])),
                      max_size=3),
       others=st.integers(0, 3))
def test_the_id_column_check_is_the_stix_id_rule(edits: list[tuple[int, str]], others: int) -> None:
    """landing judges a batch's ids in C-level passes over the joined column; it must pass exactly the ids
    ``model.is_stix_id(id, "indicator")`` passes (one mutated id among good ones)."""
    from cbm.measures import malformed

    text = GOOD_ID
    for at, new in edits:
        text = text[:at] + new + text[at + 1:]
    column = (GOOD_ID,) * others + (text,) + (GOOD_ID,) * others
    assert malformed._ids_ok(column) == model.is_stix_id(text, "indicator"), text
