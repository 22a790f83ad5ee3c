"""Short ids everywhere an id is accepted (issue 16): one rule (cbm.core.refs) for every command.

A unique prefix of at least 6 hex digits works; too short or ambiguous is exit 2 naming the candidates; a
well-formed prefix naming nothing is exit 5."""

from __future__ import annotations

import pytest

from cbm.core import refs
from cbm.core.errors import NotFound, UsageError
from tests.conftest import Party

ALPHA = refs.Candidate("7471f94a00", "first")
BETA = refs.Candidate("7471f9bb00", "second")


def _lookup(prefix: str, limit: int) -> list[refs.Candidate]:
    return [c for c in (ALPHA, BETA) if c.id.startswith(prefix)][:limit]


def test_the_rule():
    assert refs.resolve("7471F94A", "thing", _lookup) == ALPHA  # any case
    with pytest.raises(UsageError, match="ambiguous") as e:
        refs.resolve("7471f9", "thing", _lookup)
    assert e.value.hint and "7471f94a00 (first)" in e.value.hint and "7471f9bb00 (second)" in e.value.hint
    with pytest.raises(UsageError, match="too short") as e:
        refs.resolve("7471", "thing", _lookup)
    assert e.value.hint and "candidates: 7471f94a00" in e.value.hint
    with pytest.raises(NotFound):
        refs.resolve("abcdef", "thing", _lookup)
    with pytest.raises(UsageError, match="not a thing id"):
        refs.resolve("xyz!", "thing", _lookup)


def test_inquiry_open_links_an_indicator_by_its_short_id(us_ru):
    us, _ = us_ru
    sid = next(iter(_ids(us, "bad.example.net")))
    short = sid.removeprefix("indicator--")[:8]
    r = us.cli("inquiry", "open", "--to", "RU", "--type", "request_for_information", "--precedence", "ROUTINE",
               "--subject", "C2 domain", "--body", "Seen from AS12345.", "--indicator", short, "--json")
    assert r.exit_code == 0, r.stderr
    shown = us.cli("inquiry", "show", r.json()["number"], "--json").json()
    assert sid in str(shown)  # stored as the full STIX id
    r = us.cli("indicators", "show", short)
    assert r.exit_code == 0 and "bad.example.net" in r.stdout


def _ids(party: Party, value: str) -> list[str]:
    assert party.cli("indicators", "add", "--type", "domain-name", "--value", value).exit_code == 0
    return [i["id"] for i in party.cli("indicators", "list", "--json").json()["indicators"] if i["value"] == value]


def test_a_prefix_too_short_or_ambiguous_is_a_usage_error_naming_candidates(us_ru):
    us, _ = us_ru
    ids = []
    for n in range(40):  # enough that two ids share their first hex digit
        ids += _ids(us, f"host{n}.example.org")
    uuids = sorted(i.removeprefix("indicator--") for i in ids)
    first, second = next((a, b) for a, b in zip(uuids, uuids[1:], strict=False) if a[0] == b[0])
    common = first[0]
    before = us.cli("indicators", "list", "--json").stdout
    r = us.cli("inquiry", "open", "--to", "RU", "--type", "request_for_information", "--precedence", "ROUTINE",
               "--subject", "x", "--body", "y", "--indicator", common)
    assert r.exit_code == 2 and "too short" in r.stderr and first in r.stderr
    r = us.cli("indicators", "show", common)
    assert r.exit_code == 2 and "too short" in r.stderr and "candidates: " in r.stderr
    assert us.cli("inquiry", "list", "--all", "--json").json()["inquiries"] == []
    assert us.cli("indicators", "list", "--json").stdout == before
    shared = next(n for n in range(6, 37) if first[:n] != second[:n]) - 1
    if shared >= 6:  # rare: an ambiguous prefix of at least 6 characters
        r = us.cli("indicators", "show", first[:shared])
        assert r.exit_code == 2 and "ambiguous" in r.stderr and first in r.stderr and second in r.stderr
    r = us.cli("indicators", "show", "ffffff" if not any(u.startswith("ffffff") for u in uuids) else "000000")
    assert r.exit_code == 5


def test_an_inquiry_by_a_short_hash_and_a_too_short_one_refused_with_candidates(us_ru):
    us, _ = us_ru
    r = us.cli("inquiry", "open", "--to", "RU", "--type", "request_for_information", "--precedence", "ROUTINE",
               "--subject", "x", "--body", "y", "--json")
    opened = r.json()
    with us.open() as store:
        open_hash = next(h for (h, k) in store.conn.execute("SELECT hash, kind FROM records")
                         if k == "inquiry.open")
    shown = us.cli("inquiry", "show", open_hash[:8], "--json")
    assert shown.exit_code == 0 and shown.json()["number"] == opened["number"]
    r = us.cli("inquiry", "show", open_hash[:3])
    assert r.exit_code == 2 and "too short" in r.stderr
    assert f"{open_hash[:16]} (inquiry.open by US #1)" in r.stderr
