"""Voice calls on the record, end to end: real stores, real keys, real bundle files through the CLI.

A call is recorded by one side, travels encrypted, and is confirmed only by the other side's own signed record;
the transcript shows it beside the messages (docs/adr/0147-hotline-call-records.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cbm.app.stores import open_store
from cbm.measures.hotline.model import KIND_CALL_CONFIRM
from tests.conftest import Party

SUMMARY = "Both sides agreed to isolate the affected substations; RU will report within the hour.\n"
NOW = {"CBM_NOW": "2026-11-23T08:00:00Z"}


def ship(src: Party, dst: Party, path: Path) -> None:
    for party, args in ((src, ("bundle", "export", "--to", dst.code, "-o", str(path))),
                        (dst, ("bundle", "import", str(path)))):
        r = party.cli(*args, env=NOW)
        assert r.exit_code == 0, r.stderr


def record(us: Party, tmp_path: Path, *extra: str, start: str = "2026-11-23T07:00Z", end: str = "2026-11-23T07:20Z"):
    (tmp_path / "call.md").write_text(SUMMARY)
    return us.cli("hotline", "call", "--with", "RU", "--start", start, "--end", end,
                  "--participant", "US cybersecurity coordinator", "--participant", "RU deputy secretary",
                  "--summary", str(tmp_path / "call.md"), *extra, env=NOW)


def test_a_call_is_recorded_shown_beside_messages_and_confirmed_by_the_other_side(us_ru, tmp_path):
    us, ru = us_ru
    r = us.cli("hotline", "send", "--to", "RU", "--precedence", "FLASH", "--body", "Call me on the secure line.",
               env={"CBM_NOW": "2026-11-23T06:55:00Z"})
    assert r.exit_code == 0, r.stderr
    r = record(us, tmp_path, "--json")
    assert r.exit_code == 0, r.stderr
    call = r.json()
    assert (call["peer"], call["start"], call["end"], call["state"]) == \
        ("RU", "2026-11-23T07:00:00Z", "2026-11-23T07:20:00Z", "unconfirmed")
    assert call["participants"] == ["US cybersecurity coordinator", "RU deputy secretary"]

    ship(us, ru, tmp_path / "1.cbm")
    assert SUMMARY.encode() not in (tmp_path / "1.cbm").read_bytes()  # the summary travels encrypted
    # RU's store did not confirm on import: only its operator's signature will
    seen = ru.cli("hotline", "calls", "--json", env=NOW).json()["calls"]
    assert [(c["id"], c["state"], c["summary"]) for c in seen] == [(call["id"], "unconfirmed", SUMMARY)]
    status = ru.cli("status", "--check", "--json", env=NOW)
    assert status.exit_code == 8
    assert any(a["ref"] == call["id"] and "confirm" in a["text"] for a in status.json()["attention"])

    # US cannot confirm its own call
    own = us.cli("hotline", "confirm", call["id"][:12], env=NOW)
    assert own.exit_code == 4 and "only RU can confirm it" in own.stderr

    r = ru.cli("hotline", "confirm", call["id"][:12], "--json", env=NOW)
    assert r.exit_code == 0, r.stderr
    assert r.json()["state"] == "confirmed"
    again = ru.cli("hotline", "confirm", call["id"][:12], env=NOW)
    assert again.exit_code == 4 and "already confirmed" in again.stderr
    assert not any(a["ref"] == call["id"] for a in ru.cli("status", "--json", env=NOW).json()["attention"])

    # back at US: unconfirmed until RU's confirmation arrives, then confirmed, by RU's own record
    mine = us.cli("hotline", "transcript", "--with", "RU", "--json", env=NOW).json()["conversations"][0]
    assert mine["calls"][0]["state"] == "unconfirmed"
    ship(ru, us, tmp_path / "2.cbm")
    t = us.cli("hotline", "transcript", "--with", "RU", "--verify", "--json", env=NOW)
    assert t.exit_code == 0, t.stderr
    conv = t.json()["conversations"][0]
    got = conv["calls"][0]
    assert (got["state"], got["confirmed"], got["summary"]) == ("confirmed", "2026-11-23T08:00:00Z", SUMMARY)
    with open_store(ru.root) as store:
        confirm = store.get(got["confirm_id"])
    assert (confirm.kind, confirm.author, confirm.body["ref"]) == (KIND_CALL_CONFIRM, "RU", call["id"])

    human = us.cli("hotline", "transcript", "--with", "RU", env=NOW).stdout
    assert human.index("Call me on the secure line.") < human.index("[call] US ↔ RU  2026-11-23T07:00:00Z")
    assert "confirmed by RU 2026-11-23T08:00:00Z" in human and SUMMARY.strip() in human

    exported = us.cli("hotline", "transcript", "--with", "RU", "--export", str(tmp_path / "t.md"), env=NOW)
    assert exported.exit_code == 0, exported.stderr
    text = (tmp_path / "t.md").read_text()
    assert "## Voice call US and RU, 2026-11-23T07:00:00Z to 2026-11-23T07:20:00Z" in text
    assert "confirmed by RU at 2026-11-23T08:00:00Z" in text and "RU deputy secretary" in text


def test_a_confirmation_by_anyone_but_the_other_side_does_not_count(three, tmp_path):
    us, ru, cn = three
    call = json.loads(record(us, tmp_path, "--json").stdout)
    ship(us, ru, tmp_path / "1.cbm")
    # CN holds no such call (it was never addressed to it): it cannot confirm it
    r = cn.cli("hotline", "confirm", call["id"][:12], env=NOW)
    assert r.exit_code == 5
    assert ru.cli("hotline", "calls", "--json", env=NOW).json()["calls"][0]["state"] == "unconfirmed"
    # US signs a "confirmation" of its own call (a faulty or dishonest client): it is not evidence about RU
    with open_store(us.root) as store:
        store.append(KIND_CALL_CONFIRM, {"ref": call["id"]}, to=("RU",), tlp="RED")
    ship(us, ru, tmp_path / "2.cbm")
    for party in (us, ru):
        conv = party.cli("hotline", "transcript", "--with", "US" if party is ru else "RU", "--json",
                         env=NOW).json()["conversations"][0]
        assert conv["calls"][0]["state"] == "unconfirmed"
        assert any(a["kind"] == "confirm" for a in conv["anomalies"])


@pytest.mark.parametrize("args, code, fragment", [
    (("--start", "2026-11-23T07:30Z", "--end", "2026-11-23T07:20Z"), 2, "before it starts"),
    (("--start", "2026-11-23T07:00Z", "--end", "2026-11-23T09:00Z"), 2, "in the future"),
    (("--start", "2026-11-22T06:00Z", "--end", "2026-11-23T07:00Z"), 2, "more than 24 hours"),
    (("--start", "yesterday", "--end", "2026-11-23T07:20Z"), 2, "--start"),
])
def test_bad_call_times_are_refused_and_nothing_is_written(us_ru, tmp_path, args, code, fragment):
    us, _ = us_ru
    r = record(us, tmp_path, start=args[1], end=args[3])
    assert r.exit_code == code and fragment in r.stderr and r.stdout == ""
    assert us.cli("hotline", "calls", "--json", env=NOW).json()["calls"] == []


def test_a_call_needs_a_participant_and_a_summary_file(us_ru, tmp_path):
    us, _ = us_ru
    missing = us.cli("hotline", "call", "--with", "RU", "--start", "2026-11-23T07:00Z", "--end", "2026-11-23T07:20Z",
                     "--participant", "A", "--summary", str(tmp_path / "nope.md"), env=NOW)
    assert missing.exit_code == 5 and "cannot read" in missing.stderr
    (tmp_path / "s.md").write_text("x")
    blank = us.cli("hotline", "call", "--with", "RU", "--start", "2026-11-23T07:00Z", "--end", "2026-11-23T07:20Z",
                   "--participant", "  ", "--summary", str(tmp_path / "s.md"), env=NOW)
    assert blank.exit_code == 2 and "participants" in blank.stderr
