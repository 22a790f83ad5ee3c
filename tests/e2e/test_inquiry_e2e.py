"""An inquiry end to end: two real stores exchanging real bundle files with ``cbm bundle export/import``.

open -> deliver -> ack -> clarify (both ways, one bundle lost on the way) -> reply -> close, with deadlines
from the receiver's signed receipt, an attachment each way, and the thread verified on both sides.
"""

from __future__ import annotations

import json
from pathlib import Path

from cbm.core.records import verify_record
from tests.conftest import Party


def ship(src: Party, dst: Party, path: Path, now: str, *, lose: bool = False) -> None:
    """``src`` exports a bundle for ``dst`` into a real file at ``now``; ``dst`` imports it (unless lost)."""
    r = src.cli("bundle", "export", "--to", dst.code, "-o", str(path), env={"CBM_NOW": now})
    assert r.exit_code == 0, r.stderr
    if not lose:
        r = dst.cli("bundle", "import", str(path), env={"CBM_NOW": now})
        assert r.exit_code == 0, r.stderr


def view(party: Party, ref: str, now: str) -> dict:
    r = party.cli("inquiry", "show", ref, "--json", env={"CBM_NOW": now})
    assert r.exit_code == 0, r.stderr
    return r.json()


def act(party: Party, now: str, *args: str) -> dict:
    r = party.cli("inquiry", *args, "--json", env={"CBM_NOW": now})
    assert r.exit_code == 0, r.stderr
    return r.json()


def test_inquiry_round_trip_through_bundle_files(us_ru, tmp_path):
    us, ru = us_ru
    (tmp_path / "incident.md").write_text("Scans of Modbus/TCP 502 from AS12345 since 23:40Z.\n")
    (tmp_path / "pcap-summary.txt").write_text("2026-11-22T23:40:02Z 198.51.100.7 -> WECC-A 502/tcp 4211 pkts\n")
    (tmp_path / "answer.md").write_text("Four rented servers were used; suspended at 06:35Z.\n")
    (tmp_path / "servers.csv").write_text("ip,suspended\n198.51.100.7,2026-11-23T06:35:00Z\n")

    opened = act(us, "2026-11-23T06:00:00Z", "open", "--to", "RU", "--type", "request_for_information",
                 "--precedence", "IMMEDIATE", "--subject", "Scanning of US energy SCADA from AS12345",
                 "--body-file", str(tmp_path / "incident.md"), "--sector", "energy",
                 "--attach", str(tmp_path / "pcap-summary.txt"), "--tlp", "AMBER")
    number = opened["number"]
    assert (number, opened["state"], opened["due"]) == ("US-RU/2026/0001", "sent", None)

    # delivery: RU's import signs a receipt; deadlines run from it
    ship(us, ru, tmp_path / "1-us-ru.cbm", "2026-11-23T06:05:00Z")
    seen = view(ru, number, "2026-11-23T06:05:00Z")
    assert (seen["state"], seen["awaiting"], seen["delivered"]) == ("delivered", "RU", "2026-11-23T06:05:00Z")
    assert (seen["ack_due"], seen["reply_due"], seen["countdown"]) == \
        ("2026-11-23T07:05:00Z", "2026-11-23T18:05:00Z", "due in 1h00m")
    status = ru.cli("status", "--json", env={"CBM_NOW": "2026-11-23T07:06:00Z"}).json()
    owed = [a for a in status["attention"] if a["measure"] == "inquiry"]
    assert owed[0]["rank"] == 0 and owed[0]["ref"] == number and "OVERDUE by 1m" in owed[0]["text"]

    r = ru.cli("inquiry", "show", number, "--save-attachments", str(tmp_path / "ru-got"))
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "ru-got" / "pcap-summary.txt").read_text() == (tmp_path / "pcap-summary.txt").read_text()

    # acknowledgement and a request for clarification
    act(ru, "2026-11-23T06:10:00Z", "ack", number, "--note", "routed to competent authority",
        "--own-ref", "RU-US/2026/0031")
    act(ru, "2026-11-23T06:11:00Z", "clarify", number, "--body", "Which destination ports besides 502?")
    ship(ru, us, tmp_path / "2-ru-us.cbm", "2026-11-23T06:12:00Z")
    mine = view(us, number, "2026-11-23T06:12:00Z")
    assert (mine["state"], mine["awaiting"], mine["their_ref"]) == ("clarification", "US", "RU-US/2026/0031")
    assert mine["delivered"] == "2026-11-23T06:05:00Z"  # the date RU's signed receipt says
    assert mine["messages"][0]["delivered"] == "2026-11-23T06:05:00Z"

    # US clarifies; that bundle is lost, the next one carries the clarification again
    act(us, "2026-11-23T06:20:00Z", "clarify", number, "--body", "Also 20000/tcp (DNP3).")
    ship(us, ru, tmp_path / "3-us-ru-lost.cbm", "2026-11-23T06:21:00Z", lose=True)
    assert view(ru, number, "2026-11-23T06:22:00Z")["awaiting"] == "US"
    ship(us, ru, tmp_path / "4-us-ru.cbm", "2026-11-23T06:25:00Z")
    seen = view(ru, number, "2026-11-23T06:25:00Z")
    assert (seen["state"], seen["awaiting"], seen["due"]) == ("clarification", "RU", "2026-11-23T18:05:00Z")

    # the answer, with an attachment of its own
    act(ru, "2026-11-23T06:40:00Z", "reply", number, "--body-file", str(tmp_path / "answer.md"),
        "--attach", str(tmp_path / "servers.csv"))
    ship(ru, us, tmp_path / "5-ru-us.cbm", "2026-11-23T06:41:00Z")
    mine = view(us, number, "2026-11-23T06:41:00Z")
    assert (mine["state"], mine["awaiting"]) == ("answered", "US")
    r = us.cli("inquiry", "show", number, "--save-attachments", str(tmp_path / "us-got"))
    assert (tmp_path / "us-got" / "servers.csv").read_text().startswith("ip,suspended")

    # US closes; the closure travels; both sides agree on every message and their signatures
    closed = act(us, "2026-11-23T06:50:00Z", "close", number, "--outcome", "satisfied")
    assert (closed["state"], closed["outcome"]) == ("closed", "satisfied")
    ship(us, ru, tmp_path / "6-us-ru.cbm", "2026-11-23T06:51:00Z")
    a, b = view(us, number, "2026-11-23T07:00:00Z"), view(ru, number, "2026-11-23T07:00:00Z")
    assert a["state"] == b["state"] == "closed" and b["outcome"] == "satisfied"
    kinds = [m["kind"].split(".")[1] for m in b["messages"]]
    assert kinds == ["open", "ack", "clarify", "clarify", "reply", "close"]
    assert [m["hash"] for m in a["messages"]] == [m["hash"] for m in b["messages"]]
    assert {m["signature"] for m in a["messages"] + b["messages"]} == {"ok"}
    assert [m["author"] for m in b["messages"]] == ["US", "RU", "RU", "US", "RU", "US"]
    assert not a["anomalies"] and not b["anomalies"]
    assert not [x for x in ru.cli("status", "--json").json()["attention"] if x["measure"] == "inquiry"]

    # the exported record of the exchange verifies with the other side's keys
    r = ru.cli("inquiry", "export", number, "--format", "json")
    exported = json.loads(r.stdout)
    with us.open() as store:
        assert len([verify_record(e.encode(), store) for e in exported["envelopes"]]) == 6

    # replaying an old bundle changes nothing
    r = ru.cli("bundle", "import", str(tmp_path / "1-us-ru.cbm"))
    assert r.exit_code == 0, r.stderr
    assert view(ru, number, "2026-11-23T07:00:00Z")["messages"] == b["messages"]

    # and acting on a closed inquiry is refused on both sides
    r = ru.cli("inquiry", "reply", number, "--body", "one more thing")
    assert r.exit_code == 4 and "it is closed" in r.stderr
