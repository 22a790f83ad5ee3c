"""Values from a feed that must be refused loudly, like any other bad object: a control character (NUL, BEL,
ESC...) inside a STIX pattern's quoted value — the OASIS validator takes any character there, and the indicator
landed as pattern text with no value — and a ``created`` that is no moment (year 0000, month 13, five-digit
years, not a time at all), which landed unchecked. Each is a bad object with its reason: exit 4 and nothing
imported, or with --skip-invalid counted in ``invalid`` beside the good ones (docs/adr/0264)."""

from __future__ import annotations

import json

import pytest

GOOD = "[domain-name:value = 'good.example']"


def _indicator(n: int, pattern: str = GOOD, **fields: object) -> dict:
    obj = {"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
           "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-02T00:00:00.000Z", "pattern": pattern,
           "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z"}
    return obj | fields


HOSTILE = {
    "nul-in-a-domain": (_indicator(2, "[domain-name:value = 'a\x00b.example']"),
                        "a value in the STIX pattern holds a control character (U+0000)"),
    "bel-in-a-domain": (_indicator(2, "[domain-name:value = 'c\x07d.example']"),
                        "a value in the STIX pattern holds a control character (U+0007)"),
    "esc-in-one-of-two": (_indicator(2, "[domain-name:value = 'e\x1bf.example' OR domain-name:value = 'g.example']"),
                          "a value in the STIX pattern holds a control character (U+001B)"),
    "newline-in-a-url": (_indicator(2, "[url:value = 'http://h.example/\n' AND url:value = 'http://i.example/']"),
                         "a value in the STIX pattern holds a control character (U+000A)"),
    "nul-between-terms": (_indicator(2, "[domain-name:value = 'j.example']\x00"),
                          "the STIX pattern holds a control character (U+0000)"),
    "created-year-0": (_indicator(2, created="0000-01-01T00:00:00Z"),
                       "created '0000-01-01T00:00:00Z' is not an ISO 8601 UTC time"),
    "created-month-13": (_indicator(2, created="2026-13-01T00:00:00Z"),
                         "created '2026-13-01T00:00:00Z' is not an ISO 8601 UTC time"),
    "created-year-10000": (_indicator(2, created="10000-01-01T00:00:00Z"),
                           "created '10000-01-01T00:00:00Z' is not an ISO 8601 UTC time"),
    "created-not-a-time": (_indicator(2, created="yesterday"), "created 'yesterday' is not an ISO 8601 UTC time"),
    "created-a-number": (_indicator(2, created=0), "created is not a time"),
    "created-a-date": (_indicator(2, created="2026-11-01"),
                       "created '2026-11-01' is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.sss]Z)"),
    "modified-an-offset": (_indicator(2, modified="2026-11-02T00:00:00+03:00"),
                           "modified '2026-11-02T00:00:00+03:00' is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.sss]Z)"),
}


def _bundle(tmp_path, objects: list[dict], lines: bool):
    path = tmp_path / "feed.json"
    if lines:  # one object per line, as cbm writes it: read by the streaming reader
        body = ",\n".join(json.dumps(o) for o in objects)
        path.write_text('{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [\n'
                        + body + "\n]}\n")
    else:
        path.write_text(json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000",
                                    "objects": objects}))
    return path


@pytest.mark.parametrize("lines", [False, True], ids=["whole", "one-per-line"])
@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_stix_indicator_is_refused_with_its_reason(us_ru, tmp_path, case, lines):
    us, _ = us_ru
    hostile, reason = HOSTILE[case]
    path = _bundle(tmp_path, [_indicator(1), hostile], lines)
    before = us.cli("indicators", "list", "--json").json()["indicators"]
    r = us.cli("indicators", "import", str(path), "--tlp", "GREEN")
    assert r.exit_code == 4, r.stderr
    assert f"object 2: indicator {hostile['id']}: {reason}" in r.stderr
    assert us.cli("indicators", "list", "--json").json()["indicators"] == before  # nothing imported
    r = us.cli("indicators", "import", str(path), "--tlp", "GREEN", "--skip-invalid", "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert (doc["created"], doc["invalid"]) == (1, 1)
    assert doc["errors"] == [f"object 2: indicator {hostile['id']}: {reason}"]
    assert [i["id"] for i in us.cli("indicators", "list", "--json").json()["indicators"]] == [_indicator(1)["id"]]


def test_whitespace_between_a_patterns_terms_is_still_a_pattern(us_ru, tmp_path):
    """Tabs and line breaks between terms are the pattern grammar's whitespace, not a value's control character."""
    us, _ = us_ru
    pattern = "[domain-name:value = 'k.example'\n\tOR domain-name:value = 'l.example']"
    r = us.cli("indicators", "import", str(_bundle(tmp_path, [_indicator(1, pattern)], False)), "--tlp", "GREEN",
               "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["created"] == 1


def test_a_misp_stix2_pattern_attribute_with_a_nul_is_refused(us_ru, tmp_path):
    us, _ = us_ru
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"Event": {"info": "t", "Attribute": [
        {"type": "domain", "value": "good.example", "to_ids": True, "uuid": "a1"},
        {"type": "stix2-pattern", "value": "[domain-name:value = 'q\x00.example' OR domain-name:value = "
                                           "'r.example']", "to_ids": True, "uuid": "a2"}]}}))
    r = us.cli("indicators", "import", str(path), "--format", "misp", "--tlp", "GREEN", "--skip-invalid", "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert (doc["created"], doc["invalid"]) == (1, 1)
    assert doc["errors"] == ["attribute 2: stix2-pattern a2: a value in the STIX pattern holds a control character "
                             "(U+0000)"]


def test_indicators_add_with_a_pattern_holding_a_nul_is_refused(us_ru):
    us, _ = us_ru
    r = us.cli("indicators", "add", "--pattern", "[domain-name:value = 'm\x00.example' OR "
                                                 "domain-name:value = 'n.example']")
    assert r.exit_code in (2, 4), r.stderr
    assert "control character (U+0000)" in r.stderr and "Traceback" not in r.stderr
    assert us.cli("indicators", "list", "--json").json()["indicators"] == []
