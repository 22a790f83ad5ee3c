"""``cbm status --check`` and the outbox: a monitoring job can alert, and status says what waits to be sent.

Exit 8 when anything needs attention (README "Exit codes"; docs/adr/0146-status-check-and-outbox.md), with a
``check`` summary in ``--json``; per peer, how many records wait for the next bundle and since when, and a flag
for a peer not sent to within ``[status] send_within``.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Party


def status(party: Party, now: str, *args: str):
    return party.cli("status", "--check", *args, env={"CBM_NOW": now})


def open_inquiry(party: Party, now: str, subject: str) -> str:
    r = party.cli("inquiry", "open", "--to", "RU", "--precedence", "FLASH", "--subject", subject,
                  "--body", "details", "--json", env={"CBM_NOW": now})
    assert r.exit_code == 0, r.stderr
    return str(r.json()["number"])


def ship(src: Party, dst: Party, path: Path, now: str) -> None:
    for party, args in ((src, ("bundle", "export", "--to", dst.code, "-o", str(path))),
                        (dst, ("bundle", "import", str(path)))):
        r = party.cli(*args, env={"CBM_NOW": now})
        assert r.exit_code == 0, r.stderr


def outbox(doc: dict, peer: str) -> dict:
    return next(box for box in doc["outbox"] if box["peer"] == peer)


def test_a_quiet_desk_exits_0(us_ru):
    us, _ = us_ru
    r = status(us, "2026-11-23T06:00:00Z", "--json")
    assert r.exit_code == 0, r.stderr
    check = r.json()["check"]
    assert (check["needs_attention"], check["items"], check["overdue"], check["first"]) == (False, 0, 0, None)


def test_informational_items_are_shown_but_do_not_alert(us_ru):
    us, _ = us_ru
    r = us.cli("inquiry", "open", "--to", "RU", "--subject", "Draft", "--body", "later", "--draft",
               env={"CBM_NOW": "2026-11-23T06:00:00Z"})
    assert r.exit_code == 0, r.stderr
    r = status(us, "2026-11-23T07:00:00Z", "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert [(a["measure"], a["rank"]) for a in doc["attention"]] == [("inquiry", 2)]  # an unsent draft
    assert (doc["check"]["needs_attention"], doc["check"]["info"]) == (False, 1)


def test_records_waiting_for_a_bundle_show_ahead_by_and_alert_when_not_sent(us_ru, tmp_path):
    us, ru = us_ru
    open_inquiry(us, "2026-11-23T06:00:00Z", "Scanning of SCADA")
    r = status(us, "2026-11-23T07:00:00Z", "--json")
    assert r.exit_code == 0, r.stderr  # waiting an hour is normal
    box = outbox(r.json(), "RU")
    assert box["ahead"] >= 1 and box["since"] <= "2026-11-23T06:00:00Z"
    assert (box["last_sent"], box["overdue"]) == (None, False)
    human = us.cli("status", env={"CBM_NOW": "2026-11-23T07:00:00Z"}).stdout
    assert f"RU: ahead by {box['ahead']} since {box['since']}; no bundle sent yet" in human

    late = status(us, "2026-11-24T06:30:00Z", "--json")  # more than the default 24 hours
    assert late.exit_code == 8, late.stderr
    doc = late.json()
    assert doc["check"]["peers_not_sent_to"] == ["RU"] and outbox(doc, "RU")["overdue"] is True
    assert any(a["measure"] == "bundle" and a["ref"] == "RU" and "ahead by" in a["text"] for a in doc["attention"])

    # a configurable window
    config = us.root / "config.toml"
    config.write_text(config.read_text() + '\n[status]\nsend_within = "2h"\n')
    assert status(us, "2026-11-23T08:30:00Z").exit_code == 8
    config.write_text(config.read_text().replace('"2h"', '"two hours"'))
    bad = status(us, "2026-11-23T08:30:00Z")
    assert bad.exit_code == 2 and "send_within" in bad.stderr

    # sending clears the flag; the peer's receipt clears the count
    config.write_text(config.read_text().replace('"two hours"', '"2h"'))
    ship(us, ru, tmp_path / "1.cbm", "2026-11-23T08:40:00Z")
    after = status(us, "2026-11-23T08:45:00Z", "--json")
    assert outbox(after.json(), "RU")["overdue"] is False and after.json()["check"]["peers_not_sent_to"] == []
    ship(ru, us, tmp_path / "2.cbm", "2026-11-23T08:50:00Z")
    assert outbox(status(us, "2026-11-23T08:55:00Z", "--json").json(), "RU")["ahead"] == 0


def test_overdue_inquiries_exit_8_oldest_first(us_ru, tmp_path):
    us, ru = us_ru
    older = open_inquiry(us, "2026-11-23T06:00:00Z", "First")
    ship(us, ru, tmp_path / "1.cbm", "2026-11-23T06:01:00Z")
    newer = open_inquiry(us, "2026-11-23T06:10:00Z", "Second")
    ship(us, ru, tmp_path / "2.cbm", "2026-11-23T06:11:00Z")

    soon = status(ru, "2026-11-23T06:12:00Z", "--json")
    assert soon.exit_code == 8 and soon.json()["check"]["due"] == 2  # both due soon: waiting on RU
    r = status(ru, "2026-11-23T07:00:00Z", "--json")
    assert r.exit_code == 8 and r.stdout.startswith("{")
    doc = r.json()
    assert doc["schema"] == "cbm.status/1"
    overdue = [a["ref"] for a in doc["attention"] if a["rank"] == 0]
    assert overdue == [older, newer]
    assert doc["check"]["overdue"] == 2 and doc["check"]["first"]["ref"] == older
    human = status(ru, "2026-11-23T07:00:00Z")
    assert human.exit_code == 8 and "needs attention:" in human.stdout and human.stderr == ""
    assert human.stdout.index(older) < human.stdout.index(newer)


def test_a_revoked_peer_is_never_overdue_for_a_bundle(us_ru):
    us, _ = us_ru
    open_inquiry(us, "2026-11-23T06:00:00Z", "Scanning of SCADA")
    r = us.cli("keys", "revoke", "--party", "RU", "--reason", "compromise reported by phone", "--yes",
               env={"CBM_NOW": "2026-11-23T06:30:00Z"})
    assert r.exit_code == 0, r.stderr
    late = status(us, "2026-11-25T06:00:00Z", "--json")
    assert outbox(late.json(), "RU")["overdue"] is False
    assert late.json()["check"]["peers_not_sent_to"] == []
