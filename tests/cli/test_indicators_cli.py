"""``cbm indicators`` as an operator meets it: add, import, list, search, show, revoke, sighting, stats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cbm.measures.indicators.formats.stix_extension import EXTENSION_ID
from tests.conftest import DATA, Party

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"
NOW = "2026-11-23T06:00:00Z"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", NOW)


@pytest.fixture
def us(make_party) -> Party:
    return make_party("US")


def records(party: Party) -> int:
    with party.open() as store:
        return sum(store.counts()["by_author"].values())


def test_add_list_show_round_trip(us):
    r = us.cli("indicators", "add", "--type", "ipv4-addr", "--value", "203.0.113.5", "--tlp", "GREEN",
               "--confidence", "80", "--label", "malicious-activity", "--valid-until", "2027-01-01",
               "--description", "C2 for a loader", "--sector", "energy", "--json")
    assert r.exit_code == 0, r.stderr
    added = r.json()
    assert added["schema"] == "cbm.indicators.add/1" and added["action"] == "created"
    assert added["id"].startswith("indicator--") and added["value"] == "203.0.113.5"
    listing = us.cli("indicators", "list")
    assert listing.exit_code == 0 and listing.stderr == ""
    assert "203.0.113.5" in listing.stdout and "active" in listing.stdout
    assert all(len(line) <= 80 for line in listing.stdout.splitlines())
    shown = us.cli("indicators", "show", added["id"].split("--")[1][:8], "--json").json()["indicators"][0]
    stix = shown["stix"]
    assert stix["pattern"] == "[ipv4-addr:value = '203.0.113.5']" and stix["confidence"] == 80
    assert stix["valid_until"] == "2027-01-01T00:00:00Z"
    assert stix["extensions"][EXTENSION_ID] == {"extension_type": "property-extension", "sectors": ["energy"]}
    assert stix["object_marking_refs"] == ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]
    assert shown["author"] == "US" and shown["tlp"] == "GREEN" and len(shown["record"]) == 64
    human = us.cli("indicators", "show", added["id"])
    assert human.exit_code == 0 and "signed" in human.stdout and "C2 for a loader" in human.stdout


def test_same_pattern_same_author_is_a_new_version_not_a_duplicate(us):
    first = us.cli("indicators", "add", "--value", "evil[.]example[.]com", "--json").json()
    again = us.cli("indicators", "add", "--value", "EVIL.example.com.", "--json").json()
    assert again["id"] == first["id"] and again["action"] == "unchanged"
    before = records(us)
    changed = us.cli("indicators", "add", "--value", "evil.example.com", "--confidence", "90", "--json").json()
    assert changed["action"] == "updated" and changed["id"] == first["id"]
    assert records(us) == before + 1
    shown = us.cli("indicators", "show", first["id"], "--json").json()["indicators"][0]
    assert len(shown["earlier_versions"]) == 1 and shown["stix"]["confidence"] == 90
    assert us.cli("indicators", "stats", "--json").json()["total"] == 1


def test_add_with_a_custom_pattern_is_validated(us):
    sha = "ab" * 32
    pattern = f"[file:hashes.'SHA-256' = '{sha}'] OR [url:value = 'http://x.example.net/a']"
    r = us.cli("indicators", "add", "--pattern", pattern, "--name", "dropper", "--json")
    assert r.exit_code == 0, r.stderr
    # both values in the pattern are searchable
    assert us.cli("indicators", "search", sha, "--json").json()["hits"][0]["id"] == r.json()["id"]
    assert us.cli("indicators", "search", "hxxp://x[.]example[.]net/a").exit_code == 0
    bad = us.cli("indicators", "add", "--pattern", "[url:value = 'x'")
    assert bad.exit_code == 2 and "invalid STIX pattern" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("args, message", [
    (["--value", "not a value"], "not a recognised indicator"),
    (["--type", "ipv6-addr", "--value", "10.0.0.1"], "not IPv6"),
    (["--value", "10.0.0.1", "--sector", "space"], "unknown sector"),
    (["--value", "10.0.0.1", "--tlp", "WHITE"], "TLP 2.0 calls it CLEAR"),
    (["--value", "10.0.0.1", "--valid-until", "2020-01-01"], "already past"),
    (["--value", "10.0.0.1", "--confidence", "101"], "outside 0-100"),
    (["--value", "10.0.0.1", "--pattern", "[url:value = 'x']"], "either"),
])
def test_add_refuses_bad_input_with_usage_error_and_writes_nothing(us, args, message):
    before = records(us)
    r = us.cli("indicators", "add", *args)
    assert r.exit_code == 2, r.stdout
    assert message in r.stderr and r.stdout == ""
    assert records(us) == before


def test_add_to_unknown_peer_is_not_found(us):
    r = us.cli("indicators", "add", "--value", "10.0.0.1", "--to", "CN")
    assert r.exit_code == 5 and "unknown party CN" in r.stderr


def test_import_csv_sample(us):
    r = us.cli("indicators", "import", str(SAMPLES / "feed.csv"), "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["created"] == 9 and doc["invalid"] == 0 and doc["format"] == "csv"
    assert doc["by_tlp"] == {"GREEN": 6, "AMBER": 2, "RED": 1}
    energy = us.cli("indicators", "list", "--sector", "energy", "--json").json()["indicators"]
    assert {i["value"] for i in energy} >= {"198.51.100.23", "update-grid-portal.example"}
    assert all("energy" in i["sectors"] for i in energy)
    again = us.cli("indicators", "import", str(SAMPLES / "feed.csv"), "--json").json()
    assert again["created"] == 0 and again["unchanged"] == 9 and again["records"] == 0


def test_import_defanged_plain_list(us):
    r = us.cli("indicators", "import", str(SAMPLES / "feed-defanged.txt"), "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["format"] == "txt" and doc["created"] == 11 and doc["invalid"] == 0
    values = {i["value"]: i["type"] for i in us.cli("indicators", "list", "--json").json()["indicators"]}
    assert values["http://malware-drop.example.com/payload.ps1"] == "url"
    assert values["203.0.113.128/25"] == "ipv4-addr" and values["2001:db8:bad::1"] == "ipv6-addr"
    assert values["attacker@phish-mail.example"] == "email-addr"
    assert values["44d88612fea8a8f36de82e1278abb02f"] == "file-md5"
    assert values["blocked-by-hosts.example"] == "domain-name"


def test_bad_lines_are_all_reported_and_nothing_lands_without_skip_invalid(us, tmp_path):
    feed = tmp_path / "feed.txt"
    feed.write_text("10.0.0.1\nnot-an-indicator\n10.0.0.2\n300.1.1.1\nhxxp://ok[.]example/x\n")
    before = records(us)
    r = us.cli("indicators", "import", str(feed))
    assert r.exit_code == 4
    assert "line 2:" in r.stderr and "line 4:" in r.stderr and "2 bad line(s); nothing imported" in r.stderr
    assert "--skip-invalid" in r.stderr and r.stdout == ""
    assert records(us) == before
    r = us.cli("indicators", "import", str(feed), "--skip-invalid", "--json")
    assert r.exit_code == 0
    assert r.json()["created"] == 3 and r.json()["invalid"] == 2
    assert "skipped line 2" in r.stderr and "skipped line 4" in r.stderr


def test_csv_errors_name_the_line_and_reason(us, tmp_path):
    feed = tmp_path / "feed.csv"
    feed.write_text("type,value,tlp,confidence,valid_until\n"
                    "ipv4-addr,10.0.0.1,GREEN,80,2027-01-01\n"
                    "ipv4-addr,10.0.0.2,PURPLE,80,\n"
                    "domain,bad domain,GREEN,,\n"
                    "ipv4,10.0.0.3,GREEN,high,\n"
                    "url,http://a.example/x,GREEN,,tomorrow\n")
    r = us.cli("indicators", "import", str(feed))
    assert r.exit_code == 4
    for n, why in ((3, "PURPLE"), (4, "domain name"), (5, "confidence"), (6, "valid_until")):
        assert f"line {n}:" in r.stderr and why in r.stderr
    no_header = tmp_path / "nohead.csv"
    no_header.write_text("foo,bar\n1,2\n")
    r = us.cli("indicators", "import", str(no_header))
    assert r.exit_code == 4 and "no value column" in r.stderr


@pytest.mark.parametrize("name, content, fmt, message", [
    ("empty.json", b"", "stix", "the file is empty: no STIX bundle or object to import"),
    ("blank.stix.json", b"\xef\xbb\xbf \n\n", None, "the file is empty: no STIX bundle or object to import"),
    ("empty.json", b"", "misp", "the file is empty: no MISP event to import"),
    ("empty.csv", b"", None, "the file is empty: no CSV header and no indicators"),
    ("blank.csv", b"\n  \n", "csv", "the file is empty: no CSV header and no indicators"),
    ("notes.csv", b"# exported 2026-11-23\n#\n", None, "the file holds only comments: no CSV header and no indicators"),
    ("feed.txt", b"", None, "the file is empty: no indicators"),
    ("feed.txt", b"\n \n", "txt", "the file is empty: no indicators"),
    ("feed.txt", b"# feed of 2026-11-23\n; nothing today\n// end\n", None,
     "the file holds only comments: no indicators"),
    ("none.stix.json", b'{"type": "bundle", "id": "bundle--11111111-1111-4111-8111-111111111111", "objects": []}',
     "stix", "the bundle is empty: no STIX objects to import"),
    ("lines.stix.json", b'{"type": "bundle", "id": "bundle--11111111-1111-4111-8111-111111111111", "objects": [\n]}\n',
     "stix", "the bundle is empty: no STIX objects to import"),
    ("event.json", b'{"Event": {"info": "nothing", "Attribute": []}}', "misp",
     "the MISP event is empty: no attributes to import"),
], ids=["stix", "stix-blank", "misp", "csv", "csv-blank", "csv-comments", "plain", "plain-blank", "plain-comments",
        "stix-no-objects", "stix-lines-no-objects", "misp-no-attributes"])
@pytest.mark.parametrize("skip_invalid", [False, True], ids=["all-or-nothing", "skip-invalid"])
def test_an_empty_feed_is_one_error_line_not_a_bad_line(us, tmp_path, name, content, fmt, message, skip_invalid):
    path = tmp_path / name
    path.write_bytes(content)
    before = records(us)
    args = [*(["--format", fmt] if fmt else []), *(["--skip-invalid"] if skip_invalid else [])]
    r = us.cli("indicators", "import", str(path), *args)
    assert r.exit_code == 4 and r.stdout == ""
    assert r.stderr == f"cbm: error: {message}\n"
    assert records(us) == before


def test_an_empty_feed_on_stdin_is_one_error_line(us):
    r = us.cli("indicators", "import", "-", "--format", "misp", input=b"")
    assert r.exit_code == 4 and r.stderr == "cbm: error: the file is empty: no MISP event to import\n"


def test_import_missing_file_and_bad_format(us):
    r = us.cli("indicators", "import", "nowhere.csv")
    assert r.exit_code == 5 and "cannot read" in r.stderr
    r = us.cli("indicators", "import", str(SAMPLES / "feed.csv"), "--format", "yaml")
    assert r.exit_code == 2 and "unknown import format" in r.stderr


def test_import_from_stdin(us):
    r = us.cli("indicators", "import", "-", "--format", "txt", "--tlp", "amber", "--json",
               input="198.51.100.7\nexample-bad.test\n")
    assert r.exit_code == 0, r.stderr
    assert r.json()["by_tlp"] == {"AMBER": 2}


def test_stix_sample_keeps_related_objects_and_says_what_it_skips(us):
    r = us.cli("indicators", "import", str(SAMPLES / "bundle.stix.json"), "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["created"] == 2 and doc["by_tlp"] == {"GREEN": 1, "AMBER": 1}
    assert doc["kept_objects"] == {"identity": 1, "malware": 1, "relationship": 2}
    assert "sightings" in r.stderr and "marking definitions" in r.stderr
    shown = us.cli("indicators", "show", "8e2e2d2b", "--json").json()["indicators"][0]["stix"]
    assert shown["id"] == "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    assert shown["kill_chain_phases"][0]["phase_name"] == "command-and-control"
    assert shown["pattern_version"] == "2.1" and shown["created"] == "2026-10-02T08:00:00.000Z"


def test_stix_with_a_bad_pattern_is_rejected(us, tmp_path):
    bundle = json.loads((SAMPLES / "bundle.stix.json").read_text())
    bundle["objects"][4]["pattern"] = "[ipv4-addr:value = '192.0.2.44'"
    path = tmp_path / "bad.stix.json"
    path.write_text(json.dumps(bundle))
    r = us.cli("indicators", "import", str(path))
    assert r.exit_code == 4 and "object 5" in r.stderr and "invalid STIX pattern" in r.stderr
    path.write_text("{not json")
    r = us.cli("indicators", "import", str(path), "--format", "stix")
    assert r.exit_code == 4 and "not valid JSON" in r.stderr


def test_bad_input_is_counted_in_what_the_format_holds_and_a_bad_file_said_once(us, tmp_path):
    """A STIX bundle's bad objects are "bad object(s)", a MISP event's "bad attribute(s)" (not lines); a file
    that is wrong as a whole (no bundle, no event) is one error line, with no --skip-invalid to offer, and
    --skip-invalid does not pass over it."""
    before = records(us)
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
                                "objects": [{"type": "indicator"}, {"type": "indicator", "id": "x"}]}))
    r = us.cli("indicators", "import", str(path), "--format", "stix")
    assert r.exit_code == 4 and r.stdout == ""
    assert "2 bad object(s); nothing imported (first: object 1: " in r.stderr, r.stderr
    assert "import the good objects only" in r.stderr
    for doc, fmt, reason in (({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"}, "stix",
                              "the bundle has no objects list"),
                             ({"event": "lowercase"}, "misp", "not a MISP event")):
        path.write_text(json.dumps(doc))
        r = us.cli("indicators", "import", str(path), "--format", fmt)
        assert r.exit_code == 4 and r.stdout == ""
        error, hint = r.stderr.splitlines()
        assert error.startswith(f"cbm: error: nothing imported: {reason}"), r.stderr
        assert hint == "  hint: is it the file you meant, and its --format?", r.stderr
        # --skip-invalid passes over bad lines, not over a file with no good part: a script learns the feed it
        # fetched is no feed (an error page, a truncated download) instead of a success that imported nothing
        skipping = us.cli("indicators", "import", str(path), "--format", fmt, "--skip-invalid", "--json")
        assert (skipping.exit_code, skipping.stdout, skipping.stderr) == (4, "", r.stderr)
    event = {"Event": {"info": "x", "Attribute": [{"type": "ip-dst", "value": "198.51.100.7"}, {"type": "ip-dst"}]}}
    path.write_text(json.dumps(event))
    r = us.cli("indicators", "import", str(path), "--format", "misp")
    assert r.exit_code == 4 and "1 bad attribute(s); nothing imported (first: attribute 2: " in r.stderr, r.stderr
    assert records(us) == before


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "stix21").glob("*/*.json")))
def test_every_oasis_example_imports(us, name):
    [path] = list((DATA / "stix21").glob(f"*/{name}"))
    r = us.cli("indicators", "import", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    expected = sum(1 for o in json.loads(path.read_text()).get("objects", []) if o.get("type") == "indicator")
    assert doc["read"] == expected and doc["invalid"] == 0


def test_oasis_apt1_patterns_are_searchable(us):
    assert us.cli("indicators", "import", str(DATA / "stix21/oasis-cti-documentation/apt1.json")).exit_code \
        == 0
    hit = us.cli("indicators", "search", "hugesoft[.]org", "--json").json()
    assert hit["hits"][0]["type"] == "domain-name"
    # an address inside a reported /15 range
    inside = us.cli("indicators", "search", "223.167.1.1", "--json").json()
    assert inside["hits"][0]["value"] == "223.166.0.0/15" and inside["hits"][0]["match"] == "range"


def test_misp_stalkerware_event(us):
    r = us.cli("indicators", "import", str(DATA / "feeds/stalkerware-indicators/misp_event.json"), "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    # every to_ids attribute is an indicator (sha256, sha1, domains); text attributes are context
    assert doc["invalid"] == 0 and doc["read"] == 3262 + 490 + 1000
    assert doc["skipped"] == {"attributes not marked for IDS (to_ids false)": 2343}
    stats = us.cli("indicators", "stats", "--json").json()
    assert set(stats["by_type"]) == {"domain-name", "file-sha1", "file-sha256"}
    # the same domains as a plain blocklist: already known, nothing new
    r = us.cli("indicators", "import", str(DATA / "feeds/stalkerware-indicators/quad9_blocklist.txt"),
               "--json")
    assert r.json()["unchanged"] == 926 and r.json()["updated"] == 0


def test_misp_api_collections(us):
    base = DATA / "misp/misp-stix-tests"
    r = us.cli("indicators", "import", str(base / "test_attributes_collection_2.json"), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["created"] == 2  # domain|ip gives a domain and an address
    assert "MISP filename attributes" in r.stderr
    r = us.cli("indicators", "import", str(base / "test_objects_collection_1.json"), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["created"] >= 1


def test_stalkerware_csv_reports_its_two_bad_lines(us):
    path = DATA / "feeds/stalkerware-indicators/network.csv"
    r = us.cli("indicators", "import", str(path))
    assert r.exit_code == 4
    assert [line for line in r.stderr.splitlines() if ": line " in line and line.startswith("cbm: /")] \
        and "line 1023:" in r.stderr and "line 1024:" in r.stderr
    assert "line 243:" not in r.stderr  # an address in the domain column is an address (ADR 0166)
    r = us.cli("indicators", "import", str(path), "--skip-invalid", "--json")
    assert r.exit_code == 0 and r.json()["invalid"] == 2 and r.json()["created"] > 1000
    assert "ignored CSV columns" not in r.stderr  # 'app' is mapped to the name
    listing = us.cli("indicators", "list", "--type", "ipv4-addr", "--json").json()["indicators"]
    assert len(listing) == 66


def test_search_corroboration_substring_and_not_found(us_ru):
    us, ru = us_ru
    us.cli("indicators", "add", "--value", "198.51.100.9")
    r = us.cli("indicators", "search", "198[.]51[.]100[.]9", "--json")
    assert r.exit_code == 0 and r.json()["reported_by"] == ["US"] and not r.json()["corroborated"]
    r = us.cli("indicators", "search", "nothing.example")
    assert r.exit_code == 5 and "no indicator matches" in r.stderr
    us.cli("indicators", "add", "--value", "http://a.example/login.php")
    r = us.cli("indicators", "search", "login", "--substring", "--json")
    assert r.json()["hits"][0]["match"] == "substring"
    r = us.cli("indicators", "search", "198.51.100.0/24", "--json")
    assert [h["value"] for h in r.json()["hits"]] == ["198.51.100.9"]


def test_revoke_own_and_refuse_twice(us):
    added = us.cli("indicators", "add", "--value", "10.9.9.9", "--json").json()
    r = us.cli("indicators", "revoke", added["id"], "--reason", "false positive", "--json")
    assert r.exit_code == 0, r.stderr
    assert us.cli("indicators", "list", "--revoked", "--json").json()["indicators"][0]["state"] == "revoked"
    assert us.cli("indicators", "list", "--active", "--json").json()["indicators"] == []
    again = us.cli("indicators", "revoke", added["id"], "--reason", "x")
    assert again.exit_code == 4 and "already revoked" in again.stderr
    missing = us.cli("indicators", "revoke", "abcdef12", "--reason", "x")
    assert missing.exit_code == 5
    short = us.cli("indicators", "show", "abc")
    assert short.exit_code == 2 and "6 hex digits" in short.stderr  # a usage error (issue 16), not "not found"


def test_sighting_options_are_checked(us):
    added = us.cli("indicators", "add", "--value", "10.9.9.8", "--json").json()
    r = us.cli("indicators", "sighting", added["id"], "--count", "0")
    assert r.exit_code == 2
    r = us.cli("indicators", "sighting", added["id"], "--first-seen", "2026-11-22T00:00Z",
               "--last-seen", "2026-11-21T00:00Z")
    assert r.exit_code == 2 and "before" in r.stderr
    r = us.cli("indicators", "sighting", added["id"], "--count", "2", "--json")
    assert r.exit_code == 0 and r.json()["kind"] == "indicators.sighting"


def test_list_filters_and_limits(us):
    us.cli("indicators", "import", str(SAMPLES / "feed.csv"))
    only = us.cli("indicators", "list", "--type", "domain-name", "--json").json()["indicators"]
    assert {i["type"] for i in only} == {"domain-name"} and len(only) == 2
    amber = us.cli("indicators", "list", "--tlp", "amber", "--json").json()["indicators"]
    assert {i["tlp"] for i in amber} == {"AMBER"}
    low = us.cli("indicators", "list", "--tlp-max", "GREEN", "--json").json()["indicators"]
    assert {i["tlp"] for i in low} == {"GREEN"} and len(low) == 6
    expiring = us.cli("indicators", "list", "--expiring", "45", "--json").json()["indicators"]
    assert {i["value"] for i in expiring} == {"telemetry-cdn.example.org", "5d41402abc4b2a76b9719d911017c592"}
    limited = us.cli("indicators", "list", "--limit", "3")
    assert len(limited.stdout.splitlines()) == 4 and "showing 3 of 9" in limited.stderr
    bad = us.cli("indicators", "list", "--active", "--revoked")
    assert bad.exit_code == 2
    bad = us.cli("indicators", "list", "--type", "ip")
    assert bad.exit_code == 2


def test_stats_and_status_attention(us):
    us.cli("indicators", "import", str(SAMPLES / "feed.csv"))
    stats = us.cli("indicators", "stats", "--days", "45", "--json").json()
    assert stats["total"] == 9 and stats["expiring_soon"] == 2 and stats["by_party"] == {"US": 9}
    assert stats["by_tlp"] == {"AMBER": 2, "GREEN": 6, "RED": 1}
    human = us.cli("indicators", "stats")
    assert human.exit_code == 0 and "9 indicators" in human.stdout
    # within the 7-day warning horizon: nothing; move the clock to a week before expiry
    status = us.cli("status", "--json", env={"CBM_NOW": "2026-12-28T00:00:00Z"}).json()
    texts = [a["text"] for a in status["attention"] if a["measure"] == "indicators"]
    assert any("expire within 7 days" in t for t in texts)


def test_help_has_examples_for_every_command(cli):
    for command in ("add", "import", "list", "search", "show", "revoke", "sighting", "export", "stats"):
        r = cli("indicators", command, "--help")
        assert r.exit_code == 0 and "Example:" in r.stdout, command


def test_changing_tlp_or_audience_is_a_new_version(us_ru):
    us, _ = us_ru
    first = us.cli("indicators", "add", "--value", "192.0.2.10", "--json").json()
    again = us.cli("indicators", "add", "--value", "192.0.2.10", "--tlp", "AMBER", "--json").json()
    assert again["action"] == "updated" and again["id"] == first["id"]
    narrowed = us.cli("indicators", "add", "--value", "192.0.2.10", "--tlp", "AMBER", "--to", "RU", "--json").json()
    assert narrowed["action"] == "updated"
    shown = us.cli("indicators", "show", first["id"], "--json").json()["indicators"][0]
    assert shown["tlp"] == "AMBER" and shown["audience"] == ["RU"] and len(shown["earlier_versions"]) == 2


def test_peer_text_in_feeds_is_printed_literally(us, tmp_path):
    feed = tmp_path / "evil.csv"
    feed.write_text("value,\x1b[31mcolour\x1b[0m,description\n198.51.100.66,x,\x1b]0;pwned\x07 text\n")
    r = us.cli("indicators", "import", str(feed))
    assert r.exit_code == 0, r.stderr
    assert "\x1b" not in r.stderr and "\\x1b[31mcolour" in r.stderr
    shown = us.cli("indicators", "show", us.cli("indicators", "search", "198.51.100.66", "--json")
                   .json()["hits"][0]["id"])
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
