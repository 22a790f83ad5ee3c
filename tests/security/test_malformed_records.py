"""Well-signed but malformed peer records (issue 13 part 3, docs/adr/0116-malformed-peer-records.md).

A peer's record whose body breaks its kind's rules lands as signed evidence (its author's chain stays whole),
is folded by no measure, so no listing, show or export sees it, and ``cbm status`` counts it with its author
and reason. Every record travels in a real bundle signed by a real trusted peer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.bundle.helpers import export, hashes, import_, write
from tests.conftest import Party

STIX_ID = "indicator--6f1e0c1a-3c1b-4b7e-9d3e-1a2b3c4d5e6f"
GOOD_ID = "indicator--0b6c7a2e-5d4f-4e3a-8b1c-2d3e4f5a6b7c"


def land(sender: Party, receiver: Party, kind: str, body: dict[str, Any], path: Path) -> None:
    write(sender, kind, body)
    export(sender, receiver.code, path)
    r = import_(receiver, path)
    assert r.exit_code == 0, r.stderr
    assert "Traceback" not in r.stderr


def test_integer_indicator_value_breaks_neither_show_nor_stix_export(us_ru: tuple[Party, Party], tmp_path: Path):
    """The issue's example: an ``indicators.batch`` row whose value is an integer made ``indicators show`` and
    ``indicators export --format stix`` print a traceback."""
    us, ru = us_ru
    batch = {"fields": ["id", "type", "value"], "rows": [[STIX_ID, "ipv4-addr", 16909060]]}
    land(ru, us, "indicators.batch", batch, tmp_path / "bad.cbmb")
    good = {"fields": ["id", "type", "value"], "rows": [[GOOD_ID, "domain-name", "evil.example"]]}
    land(ru, us, "indicators.batch", good, tmp_path / "good.cbmb")

    shown = us.cli("indicators", "show", STIX_ID)
    assert shown.exit_code == 5, shown.stderr
    assert "Traceback" not in shown.stderr and shown.stderr.startswith("cbm: error:")
    exported = us.cli("indicators", "export", "--format", "stix", "-o", str(tmp_path / "out.json"))
    assert exported.exit_code == 0, exported.stderr
    text = (tmp_path / "out.json").read_text("utf-8")
    assert GOOD_ID in text and STIX_ID not in text
    listed = us.cli("indicators", "list", "--json").json()
    assert [i["id"] for i in listed["indicators"]] == [GOOD_ID]

    status = us.cli("status", "--json").json()
    assert status["malformed_count"] == 1
    (bad,) = status["malformed"]
    assert bad["author"] == "RU" and bad["kind"] == "indicators.batch" and "value" in bad["reason"]
    # kept as evidence: the author's chain is whole, the bad record in it
    assert hashes(us, "RU") == hashes(ru, "RU")
    assert any("RU signed 1 malformed record" in line for line in us.cli("status").stdout.splitlines())


def test_store_rebuild_keeps_malformed_records_out(us_ru: tuple[Party, Party], tmp_path: Path):
    us, ru = us_ru
    land(ru, us, "indicators.batch", {"fields": ["id", "type", "value"], "rows": [[STIX_ID, "ipv4-addr", [1]]]},
         tmp_path / "bad.cbmb")
    rebuilt = us.cli("store", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert us.cli("indicators", "list", "--json").json()["indicators"] == []
    assert us.cli("status", "--json").json()["malformed_count"] == 1


def test_paper_title_with_a_newline_is_malformed_and_not_listed(us_ru: tuple[Party, Party], tmp_path: Path):
    """A peer's signed paper whose title holds a line break would add a fake row to ``whitepaper list``."""
    us, ru = us_ru
    body = {"version": 1, "title": "Doctrine\nWP-2  1  forged row", "issuer": "RU MFA",
            "lang": "en", "classification": "UNCLASSIFIED", "date": "2026-11-01",
            "file": {"sha256": "a" * 64, "size": 1, "media_type": "text/plain", "filename": "x.txt"},
            "blobs": ["a" * 64]}
    write(ru, "whitepaper.publish", body)
    export(ru, "US", tmp_path / "wp.cbmb")
    import_(us, tmp_path / "wp.cbmb")
    listing = us.cli("whitepaper", "list")
    assert listing.exit_code == 0 and "forged row" not in listing.stdout
    status = us.cli("status", "--json").json()
    assert status["malformed_count"] == 1 and "title" in status["malformed"][0]["reason"]


def test_a_row_with_neither_value_nor_pattern_is_malformed(us_ru: tuple[Party, Party], tmp_path: Path):
    """An indicator is its value or its pattern: a peer's row with neither (``[id, "ipv4-addr"]``) was folded,
    and ``indicators show`` and the STIX export then printed a traceback building a pattern from nothing."""
    us, ru = us_ru
    for n, row in enumerate(([STIX_ID, "ipv4-addr"], [STIX_ID, "url", None, None, None, None, "no value"])):
        land(ru, us, "indicators.batch", {"fields": ["id", "type", "value", "valid_until", "confidence",
                                                    "sectors", "name"], "rows": [row]}, tmp_path / f"bad{n}.cbmb")
    good = {"fields": ["id", "type", "value"], "rows": [[GOOD_ID, "domain-name", "evil.example"]]}
    land(ru, us, "indicators.batch", good, tmp_path / "good.cbmb")

    shown = us.cli("indicators", "show", STIX_ID)
    assert shown.exit_code == 5 and shown.stderr.startswith("cbm: error:"), shown.stderr
    exported = us.cli("indicators", "export", "--format", "stix", "-o", str(tmp_path / "out.json"))
    assert exported.exit_code == 0, exported.stderr
    assert STIX_ID not in (tmp_path / "out.json").read_text("utf-8")
    status = us.cli("status", "--json").json()
    assert status["malformed_count"] == 2
    assert all("value or a pattern" in m["reason"] for m in status["malformed"])
