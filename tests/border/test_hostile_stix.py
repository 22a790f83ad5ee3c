"""STIX bundles from outside whose reference fields are not strings (a list where an identifier belongs): read
like any other odd value, never a traceback from a set or dict lookup."""

from __future__ import annotations

import json

import pytest

INDICATOR = {"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-000000000001",
             "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z", "name": "scanner",
             "pattern": "[ipv4-addr:value = '203.0.113.9']", "pattern_type": "stix",
             "valid_from": "2026-11-01T00:00:00Z"}
RELATED = {"type": "relationship", "spec_version": "2.1", "relationship_type": "related-to",
           "id": "relationship--00000000-0000-4000-8000-000000000002", "created": "2026-11-01T00:00:00.000Z",
           "modified": "2026-11-01T00:00:00.000Z"}


@pytest.mark.parametrize("objects, kept", [
    ([INDICATOR | {"created_by_ref": ["identity--00000000-0000-4000-8000-000000000003"]}], {}),
    ([INDICATOR, RELATED | {"source_ref": [INDICATOR["id"]], "target_ref": "location--x"}], {"relationship": 1}),
], ids=["created_by_ref-list", "source_ref-list"])
def test_a_reference_that_is_not_a_string_is_read_not_a_crash(us_ru, tmp_path, objects, kept):
    us, _ = us_ru
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000",
                                "objects": objects}))
    r = us.cli("indicators", "import", str(path), "--format", "stix", "--tlp", "GREEN", "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["created"] == 1 and doc["kept_objects"] == kept
    listed = us.cli("indicators", "list", "--json").json()["indicators"]
    assert [i["value"] for i in listed] == ["203.0.113.9"]
