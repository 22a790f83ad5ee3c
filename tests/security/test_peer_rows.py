"""A peer's indicator rows are held to our own rules at landing (docs/adr/0269-a-peer-rows-values-at-landing.md).

RU signs ``indicators.batch`` records with its own real key, holding rows no cbm writes: an id that is no STIX
indicator id, a type cbm does not know (each makes the whole batch malformed), values that are not the normal
form of their type (each such row is left out, the rest of its batch lands). They travel to US in a real bundle
file; US must keep every signed record as evidence, fold none of the bad rows at import or at ``store rebuild``,
say so in ``status``, and write none of them in any export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.bundle.helpers import hashes
from tests.conftest import Party
from tests.security.test_malformed_records import land

FIELDS = ["id", "type", "value"]


def sid(n: int) -> str:
    return f"indicator--{n:08x}-5d4f-4e3a-8b1c-2d3e4f5a6b7c"


#: Values a firewall, an IDS or a dedup would read wrong, each as the type it claims to be.
HOSTILE_VALUES = [
    ("ipv4-addr", '203.0.113.9] any (msg:"own"; sid:5;) #'),
    ("ipv6-addr", "::1,$EXTERNAL_NET"),
    ("ipv4-addr", "1.2.3.4 "),  # a trailing space: search and dedup miss it
    ("domain-name", "EVIL.Example"),  # upper case: not the form every writer signs
    ("url", "http://evil.example:99999/"),  # refused since ADR 0264's era: an older cbm may have signed it
    ("ipv4-addr", "10.0.0.1/8"),  # a range with host bits: the writer signs 10.0.0.0/8
    ("file-sha256", "A" * 64),
    ("email-addr", "x@EVIL.example"),
    ("domain-name", "evil[.]example"),  # defanged: a firewall reads no name in it
]
#: Honest rows of the same batch, exactly as cbm's writers sign them.
GOOD_VALUES = [("ipv4-addr", "198.51.100.7"), ("domain-name", "good.example"), ("url", "https://good.example/x"),
               ("ipv4-addr", "10.0.0.0/8"), ("ipv6-addr", "2001:db8::1"), ("email-addr", "a@good.example")]
HOSTILE_TEXTS = [value for _, value in HOSTILE_VALUES]
EXPORTS = ("txt", "csv", "suricata", "stix", "misp")


def mixed_batch() -> dict[str, Any]:
    """Good and hostile rows interleaved, so each kept row must keep its own position in the signed record."""
    rows = []
    for n, (kind, value) in enumerate(HOSTILE_VALUES):
        rows.append([sid(2 * n), kind, value])
        good = GOOD_VALUES[n % len(GOOD_VALUES)]
        rows.append([sid(2 * n + 1), *good] if n < len(GOOD_VALUES) else [sid(2 * n + 1), "ipv4-addr",
                                                                          f"192.0.2.{n}"])
    return {"fields": FIELDS, "rows": rows}


def listed_values(party: Party) -> dict[str, str]:
    r = party.cli("indicators", "list", "--json", "--from", "RU", "--limit", "0")
    assert r.exit_code == 0, r.stderr
    return {i["id"]: i["value"] for i in r.json()["indicators"]}


def exports(party: Party, tmp_path: Path) -> dict[str, str]:
    out = {}
    for fmt in EXPORTS:
        path = tmp_path / f"out.{fmt}"
        r = party.cli("indicators", "export", "--format", fmt, "--include-flagged", "-o", str(path))
        assert r.exit_code == 0, (fmt, r.stderr)
        out[fmt] = path.read_text(encoding="utf-8")
    return out


@pytest.fixture
def landed(us_ru: tuple[Party, Party], tmp_path: Path) -> tuple[Party, Party, dict[str, Any]]:
    us, ru = us_ru
    body = mixed_batch()
    land(ru, us, "indicators.batch", body, tmp_path / "mixed.cbmb")
    return us, ru, body


def _good_rows(body: dict[str, Any]) -> dict[str, str]:
    return {row[0]: row[2] for row in body["rows"] if row[2] not in HOSTILE_TEXTS}


def test_rows_not_in_normal_form_are_left_out_and_the_rest_of_the_batch_lands(landed, tmp_path):
    us, ru, body = landed
    good = _good_rows(body)
    assert listed_values(us) == good
    # each good row keeps its own place in the signed record: `show` reads it back from there
    for row_id, value in good.items():
        shown = us.cli("indicators", "show", row_id, "--json")
        assert shown.exit_code == 0, shown.stderr
        assert f"'{value}'" in shown.json()["indicators"][0]["stix"]["pattern"]
    for row_id in set(row[0] for row in body["rows"]) - set(good):
        assert us.cli("indicators", "show", row_id).exit_code == 5
    # kept as evidence: the author's chain is whole and verifies
    assert hashes(us, "RU") == hashes(ru, "RU")
    verified = us.cli("store", "verify")
    assert verified.exit_code == 0, verified.stderr


def test_status_names_the_rows_left_out_in_text_and_json(landed):
    us, _ru, body = landed
    status = us.cli("status", "--json")
    assert status.exit_code == 0, status.stderr
    report = status.json()
    # a well-formed batch with rows left out is no malformed record (docs/adr/0291)
    assert report["malformed_count"] == 0 and report["malformed"] == []
    assert report["batches_with_rows_left_out_count"] == 1
    assert report["rows_left_out_count"] == len(HOSTILE_VALUES)
    (entry,) = report["batches_with_rows_left_out"]
    assert entry["author"] == "RU" and entry["kind"] == "indicators.batch"
    assert entry["left_out"] == len(HOSTILE_VALUES)
    assert entry["reason"].startswith("row 1: value ") and "not a ipv4-addr in normal form" in entry["reason"]
    text = us.cli("status").stdout
    line = next(line for line in text.splitlines() if "RU signed" in line)
    assert f"RU signed {len(HOSTILE_VALUES)} indicator row(s) in 1 batch(es)" in line
    assert "malformed record" not in text  # the batch itself is well formed: its good rows are shown


def test_no_row_left_out_reaches_any_export(landed, tmp_path):
    us, _ru, body = landed
    out = exports(us, tmp_path)
    good = _good_rows(body)
    for fmt, text in out.items():
        for value in HOSTILE_TEXTS:
            assert value not in text, (fmt, value)
        assert "EXTERNAL_NET" not in text and "msg:\"own\"" not in text, fmt
    assert sorted(out["txt"].split()) == sorted(good.values())
    for row_id in good:
        assert row_id in out["stix"] and row_id in out["csv"]


def test_store_rebuild_leaves_the_same_rows_out(landed, tmp_path):
    us, _ru, body = landed
    before = us.cli("status", "--json").json()["batches_with_rows_left_out"]
    assert before  # the landed batch, with its rows left out
    rebuilt = us.cli("store", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert listed_values(us) == _good_rows(body)
    assert us.cli("status", "--json").json()["batches_with_rows_left_out"] == before
    out = exports(us, tmp_path)
    assert not any(value in text for text in out.values() for value in HOSTILE_TEXTS)


def test_an_old_rule_row_costs_only_that_row(us_ru, tmp_path):
    """A batch an older cbm signed (a URL with port 99999 was accepted until ADR 0264's era) keeps its other
    4,999 rows: only the row today's normaliser refuses is left out, at import and at every rebuild."""
    us, ru = us_ru
    rows = [[sid(n), "ipv4-addr", f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"] for n in range(4999)]
    rows.insert(1234, [sid(99999), "url", "http://old.example:99999/path"])
    land(ru, us, "indicators.batch", {"fields": FIELDS, "rows": rows}, tmp_path / "old.cbmb")
    for _ in range(2):
        listed = listed_values(us)
        assert len(listed) == 4999 and sid(99999) not in listed
        (entry,) = us.cli("status", "--json").json()["batches_with_rows_left_out"]
        assert entry["left_out"] == 1 and entry["reason"].startswith("row 1235: value 'http://old.example:99999/")
        assert us.cli("store", "rebuild").exit_code == 0


@pytest.mark.parametrize("row, why", [
    ([" x; noalert; metadata: y", "ipv4-addr", "198.51.100.7"], "no STIX indicator id"),
    (["indicator--0B6C7A2E-5D4F-4E3A-8B1C-2D3E4F5A6B7C", "ipv4-addr", "198.51.100.7"], "no STIX indicator id"),
    (["malware--0b6c7a2e-5d4f-4e3a-8b1c-2d3e4f5a6b7c", "ipv4-addr", "198.51.100.7"], "no STIX indicator id"),
    ([sid(1) + "x", "ipv4-addr", "198.51.100.7"], "no STIX indicator id"),
    ([sid(1), "ip-dst", "198.51.100.7"], "no indicator type cbm knows"),
    ([sid(1), "=2+2", "198.51.100.7"], "no indicator type cbm knows"),
    ([sid(1), "IPV4-ADDR", "198.51.100.7"], "no indicator type cbm knows"),
])
def test_an_id_or_a_type_no_cbm_writes_makes_the_whole_batch_malformed(us_ru, tmp_path, row, why):
    """No cbm ever wrote another id (``indicator_id`` since the first version) or another type (``model.TYPES``
    has not changed): such a batch is no honest batch, so none of its rows is folded (ADR 0116)."""
    us, ru = us_ru
    land(ru, us, "indicators.batch", {"fields": FIELDS, "rows": [[sid(7), "domain-name", "good.example"], row]},
         tmp_path / "bad.cbmb")
    assert listed_values(us) == {}
    (entry,) = us.cli("status", "--json").json()["malformed"]
    assert entry["left_out"] == 0 and entry["reason"].startswith("row 2: ") and why in entry["reason"]
    assert "RU signed 1 malformed record(s)" in us.cli("status").stdout
    assert us.cli("store", "rebuild").exit_code == 0
    assert listed_values(us) == {}
    out = exports(us, tmp_path)
    assert not any("good.example" in text for text in out.values())
    assert us.cli("store", "verify").exit_code == 0


def test_a_pattern_row_keeps_its_value(us_ru, tmp_path):
    """A free pattern's row holds the pattern's first literal as its searchable value, never written to a sensor
    as it is: landing leaves it as it was."""
    us, ru = us_ru
    pattern = "[domain-name:value = 'a.example' OR ipv4-addr:value = '10.9.8.7']"
    land(ru, us, "indicators.batch", {"fields": ["id", "type", "value", "pattern"],
                                      "rows": [[sid(3), "pattern", "a.example", pattern]]}, tmp_path / "p.cbmb")
    assert listed_values(us) == {sid(3): "a.example"}
    assert us.cli("status", "--json").json()["malformed_count"] == 0


#: An IPv6 zone (``%eth0``) names an interface of one host: ``ipaddress`` takes anything after the ``%`` but
#: another ``%``, so the "address" may hold a quote, a semicolon, a space (no indicator a peer can match).
ZONED = ['fe80::1%"; sid:1; content:"x', "fe80::1%eth0", "fe80::%x/64", "fe80::1%a b"]


def test_an_ipv6_zone_is_no_normal_form_and_its_row_lands_nowhere(us_ru, tmp_path):
    us, ru = us_ru
    rows = [[sid(n), "ipv6-addr", value] for n, value in enumerate(ZONED)] + [[sid(9), "ipv6-addr", "fe80::1"]]
    land(ru, us, "indicators.batch", {"fields": FIELDS, "rows": rows}, tmp_path / "zoned.cbmb")
    assert listed_values(us) == {sid(9): "fe80::1"}
    (entry,) = us.cli("status", "--json").json()["batches_with_rows_left_out"]
    assert entry["left_out"] == len(ZONED)
    out = exports(us, tmp_path)
    assert not any("%" in text for fmt, text in out.items() if fmt != "stix"), out
    assert out["txt"] == "fe80::1\n"


#: A value that is two good values on two lines: the column check of values (``normal_form.all_normal``) joined a
#: column's values with line breaks and passed it as two good lines. The batch's control-character rule stops it
#: first at landing; this holds that whole path, so a firewall's list never reads two entries from one row.
TWO_LINES = [("ipv4-addr", "203.0.113.9\n0.0.0.0"), ("domain-name", "good.example\nevil.example"),
             ("url", "https://good.example/\nhttps://evil.example/")]


@pytest.mark.parametrize("kind, value", TWO_LINES)
def test_a_value_holding_two_good_lines_lands_nowhere(us_ru, tmp_path, kind, value):
    us, ru = us_ru
    rows = [[sid(1), "ipv4-addr", "198.51.100.7"], [sid(2), kind, value], [sid(3), "domain-name", "good.example"]]
    land(ru, us, "indicators.batch", {"fields": FIELDS, "rows": rows}, tmp_path / "two-lines.cbmb")
    assert listed_values(us) == {}
    status = us.cli("status", "--json").json()
    assert status["malformed_count"] == 1 and "control character" in status["malformed"][0]["reason"], status
    out = exports(us, tmp_path)
    assert not any("evil.example" in text or "0.0.0.0" in text for text in out.values()), out


@pytest.mark.parametrize("value", [*ZONED, "http://[fe80::1%25eth0]/", 'http://[fe80::1%"x]/'])
def test_an_ipv6_zone_is_refused_where_it_is_read(us_ru, value):
    us, _ru = us_ru
    r = us.cli("indicators", "add", "--value", value)
    assert r.exit_code == 2 and r.stderr.startswith("cbm: error: ") and "zone" in r.stderr, (value, r.stderr)
    assert us.cli("indicators", "list", "--json", "--limit", "0").json()["indicators"] == []


def test_status_counts_every_malformed_record_and_names_the_latest(us_ru, tmp_path):
    """``status`` lists at most 1,000 malformed records, but its counts per author and its "latest" are over
    all of them: a peer that signed more is not shown as having signed 1,000, its oldest as its latest."""
    from tests.bundle.helpers import export, import_, write

    us, ru = us_ru
    write(ru, "indicators.batch", {"fields": FIELDS, "rows": [["x", "ipv4-addr", "198.51.100.7"]]}, n=1001)
    write(ru, "indicators.batch", {"fields": FIELDS, "rows": [[sid(1), "ipv4-addr", "1.2.3.4 "]]})
    write(ru, "indicators.batch", {"fields": FIELDS, "rows": [[sid(2), "ipv4-addr", "5.6.7.8"], ["y", "ipv4-addr"]]})
    export(ru, "US", tmp_path / "many.cbm")
    assert import_(us, tmp_path / "many.cbm").exit_code == 0
    report = us.cli("status", "--json").json()
    assert report["malformed_count"] == 1002 and len(report["malformed"]) == 1000
    assert all(entry["left_out"] == 0 for entry in report["malformed"])
    assert report["batches_with_rows_left_out_count"] == 1 and report["rows_left_out_count"] == 1
    assert [entry["seq"] for entry in report["batches_with_rows_left_out"]] == [1002]
    text = us.cli("status").stdout
    whole = next(line for line in text.splitlines() if "malformed record(s)" in line)
    assert "RU signed 1002 malformed record(s)" in whole and "seq 1003:" in whole and "row 2:" in whole, whole
    rows = next(line for line in text.splitlines() if "indicator row(s)" in line)
    assert "RU signed 1 indicator row(s) in 1 batch(es)" in rows and "seq 1002:" in rows, rows


@pytest.mark.parametrize("fields, row", [
    (FIELDS, [sid(4), "pattern", "d.example"]),
    (["id", "type", "value", "pattern"], [sid(4), "pattern", "d.example", None]),
    (["id", "type", "value", "pattern"], [sid(4), "pattern", "d.example", ""]),
])
def test_a_pattern_row_without_its_pattern_makes_the_batch_malformed(us_ru, tmp_path, fields, row):
    """cbm writes a free pattern's row with its pattern, always: a row of type ``pattern`` without one made
    ``indicators export --format stix`` (and so TAXII) end in a traceback for the whole store."""
    us, ru = us_ru
    good = [sid(5), "domain-name", "good.example"] + [None] * (len(fields) - 3)
    land(ru, us, "indicators.batch", {"fields": fields, "rows": [good, row]}, tmp_path / "p.cbmb")
    assert listed_values(us) == {}
    (entry,) = us.cli("status", "--json").json()["malformed"]
    assert entry["left_out"] == 0 and entry["reason"] == "row 2: a pattern indicator needs its pattern"
    out = exports(us, tmp_path)
    assert not any("example" in text for text in out.values())


def test_a_simple_row_whose_pattern_is_not_its_value_is_left_out(us_ru, tmp_path):
    """A simple row may carry its STIX source's pattern text, which the STIX export writes as it is: it must be
    one equality on the row's own value, else a STIX reader gets another indicator than the one listed and sent
    to a firewall, or a pattern a strict reader refuses (and with it the whole bundle)."""
    import stix2
    from stix2validator import ValidationOptions, validate_string

    us, ru = us_ru
    fields = ["id", "type", "value", "pattern"]
    rows = [[sid(1), "ipv4-addr", "198.51.100.1", "[domain-name:value = 'other.example']"],
            [sid(2), "ipv4-addr", "198.51.100.2", "not a pattern ]["],
            [sid(3), "domain-name", "kept.example", "[domain-name:value = 'KEPT.example']"],
            [sid(4), "ipv4-addr", "198.51.100.4", None]]
    land(ru, us, "indicators.batch", {"fields": fields, "rows": rows}, tmp_path / "p.cbmb")
    assert listed_values(us) == {sid(3): "kept.example", sid(4): "198.51.100.4"}
    (entry,) = us.cli("status", "--json").json()["batches_with_rows_left_out"]
    assert entry["left_out"] == 2
    assert entry["reason"] == "row 1: pattern \"[domain-name:value = 'other.example']\" is not the pattern of its value"
    out = exports(us, tmp_path)
    assert "other.example" not in out["stix"] and "not a pattern" not in out["stix"]
    assert "[domain-name:value = 'KEPT.example']" in out["stix"]
    stix2.parse(out["stix"], allow_custom=False)
    assert validate_string(out["stix"], ValidationOptions(version="2.1", strict=False)).is_valid
