"""Indicator values: refanging, normalisation, type recognition, patterns, ids, batch rows."""

from __future__ import annotations

import json
import uuid

import pytest

from cbm.core.canonical import canonical_bytes, encode_plain
from cbm.measures.indicators import model, patterns
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.writer import _plain


@pytest.mark.parametrize("raw, expected", [
    ("203.0.113.5", ("ipv4-addr", "203.0.113.5")),
    ("203[.]0[.]113[.]5", ("ipv4-addr", "203.0.113.5")),
    ("203.0.113.0/24", ("ipv4-addr", "203.0.113.0/24")),
    ("203.0.113.7/24", ("ipv4-addr", "203.0.113.0/24")),
    ("203.0.113.7/32", ("ipv4-addr", "203.0.113.7")),
    ("2001:DB8:0:0::1", ("ipv6-addr", "2001:db8::1")),
    ("2001:db8::/32", ("ipv6-addr", "2001:db8::/32")),
    ("Evil.Example.COM.", ("domain-name", "evil.example.com")),
    ("evil(.)example[.]com", ("domain-name", "evil.example.com")),
    ("evil[dot]example[dot]com", ("domain-name", "evil.example.com")),
    ("hxxp://Evil.Example.com/Path?Q=1", ("url", "http://evil.example.com/Path?Q=1")),
    ("hxxps[:]//evil[.]example[.]com/a", ("url", "https://evil.example.com/a")),
    ("evil.example.com/dropper.exe", ("url", "http://evil.example.com/dropper.exe")),
    ("Phish@Evil.Example.com", ("email-addr", "Phish@evil.example.com")),
    ("phish[@]evil[.]example[.]com", ("email-addr", "phish@evil.example.com")),
    ("D41D8CD98F00B204E9800998ECF8427E", ("file-md5", "d41d8cd98f00b204e9800998ecf8427e")),
    ("da39a3ee5e6b4b0d3255bfef95601890afd80709", ("file-sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709")),
    ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     ("file-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")),
    ("xn--80ak6aa92e.com", ("domain-name", "xn--80ak6aa92e.com")),
    ("пример.рф", ("domain-name", "xn--e1afmkfd.xn--p1ai")),
    ("http://evil.example:8080/a", ("url", "http://evil.example:8080/a")),
    ("http://evil.example:65535/", ("url", "http://evil.example:65535/")),
    ("http://[2001:DB8::1]:443/p", ("url", "http://[2001:db8::1]:443/p")),
    ("http://[::1]/", ("url", "http://[::1]/")),
])
def test_recognise_and_normalise(raw, expected):
    assert model.normalise("", raw) == expected


@pytest.mark.parametrize("raw", ["", "not a value", "256.1.1.1", "example", "http://", "-bad-.com",
                                 "a@b@c.com", "1.2.3.4.5", "g" * 64, "exa mple.com",
                                 "\u0661.2.3.4", "1.\u0662.3.4",  # Arabic-Indic digits are no IPv4 address
                                 # no port a sensor could match; brackets holding no IPv6 address
                                 "http://evil.example:99999/", "http://evil.example:\u00b2/",
                                 "http://evil.example:\u0668\u0660/", "http://[::1]:70000/", "http://[zzz]/",
                                 "http://[::1]junk/", "http://[v1.x]/"])
def test_bad_values_are_refused_with_a_reason(raw):
    with pytest.raises(model.BadValue):
        model.normalise("", raw)


def test_an_address_of_other_scripts_digits_is_refused_as_ipv4():
    for kind in ("ipv4-addr", ""):
        with pytest.raises(model.BadValue):
            model.normalise(kind, "\u0661.2.3.4")


def test_declared_type_is_checked():
    with pytest.raises(model.BadValue, match="IPv4"):
        model.normalise("ipv6-addr", "203.0.113.5")
    with pytest.raises(model.BadValue, match="SHA256"):
        model.normalise("file-sha256", "d41d8cd98f00b204e9800998ecf8427e")
    assert model.normalise(model.canonical_type("ip"), "10.0.0.1") == ("ipv4-addr", "10.0.0.1")
    with pytest.raises(model.BadValue, match="unknown indicator type"):
        model.canonical_type("registry-key")


def test_sectors_are_a_closed_list_with_aliases():
    assert model.check_sector("Energy") == "energy"
    assert model.check_sector("financial-services") == "finance"
    with pytest.raises(model.BadValue, match="unknown sector"):
        model.check_sector("space")


def test_patterns_for_types_and_quoting():
    assert model.pattern_for("ipv4-addr", "1.2.3.4") == "[ipv4-addr:value = '1.2.3.4']"
    assert model.pattern_for("file-sha256", "ab" * 32) == f"[file:hashes.'SHA-256' = '{'ab' * 32}']"
    assert model.pattern_for("url", "http://x.example/it's") == r"[url:value = 'http://x.example/it\'s']"
    for kind, value in [("url", "http://x.example/it's"), ("domain-name", "a.example"), ("file-md5", "a" * 32)]:
        assert patterns.simple(model.pattern_for(kind, value)) == (kind, value)


def test_pattern_validation_uses_the_oasis_grammar():
    patterns.validate("[file:hashes.'SHA-256' = '" + "a" * 64 + "'] OR [url:value = 'http://x.example/']")
    with pytest.raises(model.BadValue, match="invalid STIX pattern"):
        patterns.validate("[url:value = 'x'")
    with pytest.raises(model.BadValue):
        patterns.validate("[file:hashes.'SHA-256' = 'not-a-hash']")
    found = patterns.values("[domain-name:value = 'A.Example.com'] OR [ipv4-addr:value = '10.0.0.1']")
    assert found == [("domain-name", "a.example.com"), ("ipv4-addr", "10.0.0.1")]


def test_ids_are_stable_uuid4_shaped_and_per_author():
    a = model.indicator_id("US", "[ipv4-addr:value = '1.2.3.4']")
    assert a == model.indicator_id("US", "[ipv4-addr:value = '1.2.3.4']")
    assert a != model.indicator_id("RU", "[ipv4-addr:value = '1.2.3.4']")
    parsed = uuid.UUID(a.split("--")[1])
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert model.identity_id("US") != model.identity_id("RU")


def test_fast_encoding_is_byte_identical_to_canonical_json():
    rows = [["indicator--x", "ipv4-addr", "1.2.3.4", None, 80, ["energy"], "Ünïcode name"],
            ["indicator--y", "url", "http://x.example/\"q\"\\"]]
    body = {"fields": list(R.FIELDS), "rows": rows, "source": "feed.csv"}
    assert _plain(body)
    assert encode_plain(body) == canonical_bytes(body)
    stdlib = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    assert encode_plain(body) == stdlib
    assert not _plain({"fields": [], "rows": [["x", "y", {"k": 1}]]})
    assert not _plain({"fields": [], "rows": [["x", "y", 1.5]]})
    assert not _plain({"fields": [], "rows": [["x", "y", 2**60]]})


def test_rows_merge_keeps_what_the_new_input_does_not_say():
    old = ["id", "domain-name", "a.example", None, 80, None, "TheTruthSpy", "from MISP"]
    new = ["id", "domain-name", "a.example"] + [None] * 12
    merged = R.merge(old, new)
    assert R.same_content(old, merged)
    changed = R.merge(old, ["id", "domain-name", "a.example", None, 90])
    assert not R.same_content(old, changed) and changed[R.NAME] == "TheTruthSpy"


def test_rows_of_maps_columns_by_name():
    body = {"fields": ["type", "id", "value", "future_field"], "rows": [["url", "indicator--1", "http://a.b/", 1]]}
    [row] = R.rows_of(body)
    assert row[R.ID] == "indicator--1" and row[R.TYPE] == "url" and row[R.VALUE] == "http://a.b/"
    assert R.rows_of({"fields": "bad", "rows": []}) == []
    assert R.rows_of({"fields": list(R.FIELDS), "rows": [None, [], [1, 2]]}) == []
