"""What each inquiry type obliges the recipient to do, through real stores and real bundle files.

README "Types and precedence": every type needs an acknowledgement within its precedence's window; every type
but ``notification`` then needs a reply within the reply window. A notification's reply is allowed, never due,
never OVERDUE (docs/adr/0145-notifications-need-only-an-ack.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Party

REPLY_OWED = {"request_for_information": True, "request_for_assistance": True, "consultation_request": True,
              "notification": False}


def ship(src: Party, dst: Party, path: Path, now: str) -> None:
    r = src.cli("bundle", "export", "--to", dst.code, "-o", str(path), env={"CBM_NOW": now})
    assert r.exit_code == 0, r.stderr
    r = dst.cli("bundle", "import", str(path), env={"CBM_NOW": now})
    assert r.exit_code == 0, r.stderr


def act(party: Party, now: str, *args: str) -> dict:
    r = party.cli("inquiry", *args, "--json", env={"CBM_NOW": now})
    assert r.exit_code == 0, r.stderr
    return r.json()


def inquiry_attention(party: Party, now: str) -> list[dict]:
    r = party.cli("status", "--json", env={"CBM_NOW": now})
    assert r.exit_code == 0, r.stderr
    return [a for a in r.json()["attention"] if a["measure"] == "inquiry"]


@pytest.mark.parametrize("kind", sorted(REPLY_OWED))
def test_each_type_owes_an_ack_and_only_requests_owe_a_reply(us_ru, tmp_path, kind):
    us, ru = us_ru
    number = act(us, "2026-11-23T06:00:00Z", "open", "--to", "RU", "--type", kind, "--precedence", "FLASH",
                 "--subject", "Outage of the WECC-A control link", "--body", "Restored 06:10Z.")["number"]
    ship(us, ru, tmp_path / "1.cbm", "2026-11-23T06:05:00Z")

    # every type: the acknowledgement falls due 15 minutes after delivery (FLASH)
    late_ack = inquiry_attention(ru, "2026-11-23T06:21:00Z")
    assert [(a["ref"], a["rank"]) for a in late_ack] == [(number, 0)]
    assert "acknowledge" in late_ack[0]["text"] and "OVERDUE by 1m" in late_ack[0]["text"]

    act(ru, "2026-11-23T06:10:00Z", "ack", number)
    five_hours_later = "2026-11-23T11:10:00Z"  # past the 4-hour FLASH reply window
    seen = act(ru, five_hours_later, "show", number)
    owed = inquiry_attention(ru, five_hours_later)
    if REPLY_OWED[kind]:
        assert (seen["state"], seen["awaiting"], seen["reply_due"]) == ("acknowledged", "RU", "2026-11-23T10:05:00Z")
        assert seen["countdown"].startswith("OVERDUE")
        assert [(a["ref"], a["rank"]) for a in owed] == [(number, 0)]
    else:
        assert (seen["state"], seen["awaiting"], seen["reply_due"], seen["due"]) == \
            ("acknowledged", None, None, None)
        assert seen["countdown"] is None
        assert owed == []
        overdue = ru.cli("inquiry", "list", "--overdue", "--json", env={"CBM_NOW": five_hours_later})
        assert overdue.exit_code == 0 and overdue.json()["inquiries"] == []

    # a reply is allowed for every type, and then the sender may close
    act(ru, five_hours_later, "reply", number, "--body", "Noted; no action on our side.")
    ship(ru, us, tmp_path / "2.cbm", five_hours_later)
    assert act(us, five_hours_later, "show", number)["state"] == "answered"
    assert all(a["rank"] != 0 for a in inquiry_attention(us, five_hours_later))


def test_a_notification_takes_no_reply_by(us_ru):
    us, _ = us_ru
    r = us.cli("inquiry", "open", "--to", "RU", "--type", "notification", "--subject", "Planned maintenance",
               "--body", "02:00-04:00Z", "--reply-by", "2030-01-01T00:00Z")
    assert r.exit_code == 2
    assert "notification needs only an acknowledgement" in r.stderr
    assert us.cli("inquiry", "list", "--all", "--json").json()["inquiries"] == []
