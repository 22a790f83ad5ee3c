"""``cbm handover``: what changed since the last handover, recorded as a signed note that never leaves the store.

Real stores exchanging real bundle files (docs/adr/0148-handover-local-notes.md).
"""

from __future__ import annotations

from pathlib import Path

from cbm.app.stores import open_store
from cbm.core.records import verify_record
from tests.conftest import Party


def ship(src: Party, dst: Party, path: Path, now: str) -> None:
    for party, args in ((src, ("bundle", "export", "--to", dst.code, "-o", str(path))),
                        (dst, ("bundle", "import", str(path)))):
        r = party.cli(*args, env={"CBM_NOW": now})
        assert r.exit_code == 0, r.stderr


def handover(party: Party, now: str, *args: str) -> dict:
    r = party.cli("handover", *args, "--json", env={"CBM_NOW": now})
    assert r.exit_code == 0, r.stderr
    return r.json()


def test_handover_reports_changes_since_the_last_one_and_stays_local(us_ru, tmp_path):
    us, ru = us_ru
    first = handover(ru, "2026-11-23T05:00:00Z", "--note", "Quiet night.")
    assert (first["schema"], first["since"], first["previous_note"]) == ("cbm.handover/1", None, None)
    assert first["new"] == [] and first["received"] == [] and first["sent"] == []

    r = us.cli("inquiry", "open", "--to", "RU", "--type", "notification", "--precedence", "FLASH",
               "--subject", "Wiper in the grid",
               "--body", "details", "--json", env={"CBM_NOW": "2026-11-23T06:00:00Z"})
    number = r.json()["number"]
    ship(us, ru, tmp_path / "1.cbm", "2026-11-23T06:05:00Z")

    second = handover(ru, "2026-11-23T07:00:00Z", "--note", "Ack the FLASH inquiry first.")
    assert (second["since"], second["previous_note"]) == (first["at"], "Quiet night.")
    assert [(i["ref"], i["rank"]) for i in second["overdue"]] == [(number, 0)]
    assert [i["ref"] for i in second["new"]] == [number]
    assert [(x["peer"], x["by_measure"].get("inquiry")) for x in second["received"]] == [("US", 1)]
    human = ru.cli("handover", env={"CBM_NOW": "2026-11-23T07:30:00Z"})
    assert human.exit_code == 0 and "note from the last shift: Ack the FLASH inquiry first." in human.stdout
    assert "received (0 records)" in human.stdout  # nothing landed in the last half hour

    r = ru.cli("inquiry", "ack", number, env={"CBM_NOW": "2026-11-23T07:40:00Z"})
    assert r.exit_code == 0, r.stderr
    ship(ru, us, tmp_path / "2.cbm", "2026-11-23T07:45:00Z")
    third = handover(ru, "2026-11-23T08:00:00Z")
    assert third["overdue"] == [] and f"inquiry:{number}" in third["answered"]
    assert [(s["peer"], s["bundle"]) for s in third["sent"]] == [("US", 1)]

    # signed, addressed to RU alone: US holds only the hash of each handover, never its content
    with open_store(ru.root) as store:
        notes = list(store.records(kind="desk.handover"))
        assert [n.to for n in notes] == [("RU",)] * 4 and notes[1].body["note"] == "Ack the FLASH inquiry first."
        for n in notes:
            assert verify_record(n.envelope, store).hash == n.hash
    with open_store(us.root) as store:
        assert list(store.records(kind="desk.handover")) == []
    assert b"Ack the FLASH" not in (tmp_path / "2.cbm").read_bytes()
    assert us.cli("store", "verify").exit_code == 0


def test_an_overlong_note_is_refused_and_nothing_is_recorded(us_ru):
    us, _ = us_ru
    r = us.cli("handover", "--note", "x" * 4001)
    assert r.exit_code == 2 and "longer than 4000" in r.stderr
    with open_store(us.root) as store:
        assert list(store.records(kind="desk.handover")) == []
