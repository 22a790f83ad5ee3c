"""Workgroup and TAXII tables (issue 16) follow the rules of every other table (docs/adr/0150): at 80 columns
they fit without breaking a word or an id, free text is cut in the middle; piped or with --wide, nothing is cut."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_tables import _fits, on_terminal
from tests.conftest import Party

AGENDA = Path(__file__).resolve().parents[2] / "sample-data" / "workgroup" / "agenda.md"
TITLE = ("Draft a joint procedure for notifying each other of large-scale scanning of energy-sector "
         "industrial control systems")
PLACE = "Palais des Nations, Geneva, Room XVII (the Human Rights and Alliance of Civilizations Room)"


@pytest.fixture
def workgroup(us_ru, tmp_path, monkeypatch) -> tuple[Party, dict[str, str]]:
    """US convened a meeting at a long-named place, holds an action item and a proposal with long titles."""
    monkeypatch.setenv("CBM_NOW", "2026-12-01T10:00:00Z")
    us, _ = us_ru
    ids: dict[str, str] = {}
    r = us.cli("workgroup", "meeting", "new", "--at", "2026-12-10T09:00Z", "--place", PLACE,
               "--agenda-file", str(AGENDA), "--json")
    assert r.exit_code == 0, r.stderr
    ids["meeting"] = r.json()["meeting"]["id"]
    r = us.cli("workgroup", "action", "add", TITLE, "--owner", "RU", "--due", "2027-01-15", "--meeting",
               ids["meeting"][:8], "--json")
    assert r.exit_code == 0, r.stderr
    ids["action"] = r.json()["action"]["id"]
    text = tmp_path / "proposal.md"
    text.write_text("Each side names a 24/7 contact for scanning reports.\n")
    r = us.cli("workgroup", "proposal", "new", "--title", TITLE, "--text-file", str(text), "--json")
    assert r.exit_code == 0, r.stderr
    ids["proposal"] = r.json()["revision_id"]
    return us, ids


def _cut_but_whole_ids(shown: str, record_id: str, words: tuple[str, ...]) -> None:
    _fits(shown)
    assert record_id[:12] in shown  # ids are never cut
    assert TITLE not in shown and PLACE not in shown and "…" in shown  # free text gives way, in the middle
    for word in words:  # codes, dates and states stay whole
        assert word in shown, word


def _whole(text: str, value: str) -> None:
    assert value in text and "…" not in text


def test_action_list_at_80_columns(workgroup):
    us, ids = workgroup
    _cut_but_whole_ids(on_terminal(us, "workgroup", "action", "list"), ids["action"], ("RU", "2027-01-15", "open"))
    line = next(line for line in on_terminal(us, "workgroup", "action", "list").splitlines()
                if line.startswith(ids["action"][:12]))
    assert line.split()[1].startswith("Draft") and "systems" in line  # both ends of the title kept
    _whole(us.cli("workgroup", "action", "list").stdout, TITLE)
    _whole(on_terminal(us, "workgroup", "action", "list", "--wide"), TITLE)


def test_meeting_list_and_show_at_80_columns(workgroup):
    us, ids = workgroup
    _cut_but_whole_ids(on_terminal(us, "workgroup", "meeting", "list"), ids["meeting"], ("2026-12-10", "US"))
    _whole(us.cli("workgroup", "meeting", "list").stdout, PLACE)
    _whole(on_terminal(us, "workgroup", "meeting", "list", "--wide"), PLACE)
    shown = on_terminal(us, "workgroup", "meeting", "show", ids["meeting"][:8])
    table = shown[shown.index("action items from this meeting"):]
    _fits(table)
    assert ids["action"][:12] in table and "2027-01-15" in table and TITLE not in table


def test_proposal_list_at_80_columns(workgroup):
    us, ids = workgroup
    _cut_but_whole_ids(on_terminal(us, "workgroup", "proposal", "list"), ids["proposal"], ("US", "proposed", "RU, US"))
    _whole(us.cli("workgroup", "proposal", "list").stdout, TITLE)
    _whole(on_terminal(us, "workgroup", "proposal", "list", "--wide"), TITLE)


def test_taxii_list_at_80_columns(us_ru):
    us, _ = us_ru
    url = "https://threat-intelligence.cert.example.gov/taxii2/collections/published/indicators/"
    collection = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
    r = us.cli("taxii", "add", "internal", url, "--api-root", "/api/v21/national-cert-exchange/", "--collection",
               collection)
    assert r.exit_code == 0, r.stderr
    shown = on_terminal(us, "taxii", "list")
    _fits(shown)
    assert "internal" in shown and collection in shown and url not in shown and "…" in shown
    _whole(us.cli("taxii", "list").stdout, url)
    _whole(on_terminal(us, "taxii", "list", "--wide"), url)
