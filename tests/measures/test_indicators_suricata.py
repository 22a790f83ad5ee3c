"""Suricata rules that sensors keep: sids stable for the life of an indicator, rev following its version, and
syntax checked by OISF's own rule parser (``idstools``) on a real public feed (issue 14, point 8)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from idstools import rule as ids_rule

from cbm.measures.indicators.formats import suricata
from tests.conftest import DATA, Party

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-11-23T06:00:00Z")


def sids_by_rule(text: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(indicator id, protocol) -> (sid, rev), every rule parsed by idstools."""
    found = {}
    for line in text.splitlines():
        parsed = ids_rule.parse(line)
        assert parsed is not None, line
        cbm_id = re.search(r"cbm_id (indicator--[0-9a-f-]+)", line)
        assert cbm_id, line
        found[(cbm_id.group(1), parsed.proto)] = (parsed.sid, parsed.rev)
    return found


def test_rules_of_a_real_feed_parse_with_unique_sids(make_party):
    us = make_party("US")
    assert us.cli("indicators", "import", str(DATA / "feeds/stalkerware-indicators/quad9_blocklist.txt")).exit_code == 0
    r = us.cli("indicators", "export", "-f", "suricata")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    parsed = [ids_rule.parse(line) for line in lines]
    assert len(lines) > 100 and all(p is not None for p in parsed)
    assert all(p.action == "alert" and p.direction == "->" and p.source_addr == "$HOME_NET" and p.msg
               and p.classtype == "trojan-activity" and p.rev == 1 for p in parsed)
    assert {p.proto for p in parsed} >= {"dns", "tls"}
    sids = [p.sid for p in parsed]
    assert len(set(sids)) == len(sids)
    assert all(suricata.DEFAULT_SID_BASE <= s < suricata.DEFAULT_SID_BASE + 2 * suricata.SID_SLOTS for s in sids)


def test_a_sid_lives_as_long_as_its_indicator(make_party):
    us: Party = make_party("US")
    for name in ("feed.csv", "feed-defanged.txt"):
        assert us.cli("indicators", "import", str(SAMPLES / name)).exit_code == 0
    before = sids_by_rule(us.cli("indicators", "export", "-f", "suricata", "--active").stdout)
    first = next(iter(before))[0]
    assert us.cli("indicators", "revoke", first, "--reason", "false positive").exit_code == 0
    assert us.cli("indicators", "add", "--value", "new-c2.example", "--tlp", "GREEN").exit_code == 0
    after = sids_by_rule(us.cli("indicators", "export", "-f", "suricata", "--active").stdout)
    assert first not in {i for i, _ in after}
    kept = {k: v for k, v in before.items() if k[0] != first}
    assert {k: after[k] for k in kept} == kept  # nothing renumbered by a revocation or an addition
    assert len({i for i, _ in after} - {i for i, _ in before}) == 1  # only the added indicator is new


def test_rev_follows_the_indicator_version_and_the_sid_does_not_move(make_party):
    us = make_party("US")
    us.cli("indicators", "add", "--value", "203.0.113.77", "--confidence", "50")
    (key, (sid, rev)), = sids_by_rule(us.cli("indicators", "export", "-f", "suricata").stdout).items()
    assert rev == 1
    assert us.cli("indicators", "add", "--value", "203.0.113.77", "--confidence", "90").exit_code == 0
    assert sids_by_rule(us.cli("indicators", "export", "-f", "suricata").stdout) == {key: (sid, 2)}
    other = sids_by_rule(us.cli("indicators", "export", "-f", "suricata", "--sid-base", "3000000").stdout)
    assert other[key][0] != sid and 3000000 <= other[key][0]


def test_colliding_indicators_get_distinct_sids(monkeypatch):
    monkeypatch.setattr(suricata, "SID_SLOTS", 8)
    sids = suricata.SidAllocator(100)
    got = [sids.sid("US", f"indicator--{n}") for n in range(8)]
    assert sorted(got) == list(range(100, 116, 2))  # every slot used once, no sid shared
    assert sids.collisions > 0
    again = suricata.SidAllocator(100)
    assert [again.sid("US", f"indicator--{n}") for n in range(8)] == got  # the same order gives the same sids
    with pytest.raises(Exception, match="split it"):
        sids.sid("US", "indicator--8")


def test_a_sid_base_that_leaves_no_room_is_a_usage_error(make_party):
    us = make_party("US")
    us.cli("indicators", "add", "--value", "203.0.113.77")
    r = us.cli("indicators", "export", "-f", "suricata", "--sid-base", "4294967000")
    assert r.exit_code == 2 and "--sid-base must be between" in r.stderr and r.stdout == ""


@pytest.mark.parametrize("url, host, path", [
    ("http://user@evil.example/x", "evil.example", "/x"),
    ("http://a@b@evil.example:8080/y?q=1", "evil.example", "/y?q=1"),
    ("http://user:secret@evil.example/w", "evil.example", "/w"),
    ("http://evil.example/z", "evil.example", "/z"),
])
def test_a_url_rule_matches_the_host_a_client_sends(make_party, url, host, path):
    """A URL's user information (``user@``) is never in the Host header a client sends: a rule whose http.host
    content held it would never fire."""
    us = make_party("US")
    assert us.cli("indicators", "add", "--value", url).exit_code == 0
    r = us.cli("indicators", "export", "-f", "suricata")
    assert r.exit_code == 0, r.stderr
    (rule,) = [ids_rule.parse(line) for line in r.stdout.splitlines()]
    contents = [o["value"] for o in rule["options"] if o["name"] == "content"]
    assert contents == [f'"{host}"', f'"{path}"'], rule["raw"]
