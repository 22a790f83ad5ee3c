"""The working group end to end: two and three real stores exchanging real bundle files through `cbm bundle`."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest

from cbm.core import clock
from tests.conftest import Party

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "workgroup"
_counter = itertools.count()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-12-01T10:00:00Z")


def at(monkeypatch: pytest.MonkeyPatch, moment: str) -> None:
    monkeypatch.setenv("CBM_NOW", moment)


def ok(party: Party, *args: str) -> dict:
    r = party.cli(*args, "--json")
    assert r.exit_code == 0, r.stderr
    return r.json()


def send(src: Party, dst: Party, tmp_path: Path) -> None:
    """src writes a real bundle file for dst; dst imports it."""
    path = tmp_path / f"{next(_counter):03d}-{src.code}-to-{dst.code}.cbm"
    r = src.cli("bundle", "export", "--to", dst.code, "-o", str(path))
    assert r.exit_code == 0, r.stderr
    r = dst.cli("bundle", "import", str(path))
    assert r.exit_code == 0, r.stderr


def exchange(parties: tuple[Party, ...], tmp_path: Path) -> None:
    for src, dst in itertools.permutations(parties, 2):
        send(src, dst, tmp_path)


def table(party: Party, pid: str) -> dict:
    return ok(party, "workgroup", "proposal", "show", pid)


def test_two_party_adoption_through_bundles(us_ru, tmp_path):
    us, ru = us_ru
    doc = ok(us, "workgroup", "proposal", "new", "--title", "Joint notification template",
             "--text-file", str(SAMPLES / "proposal.md"))
    pid = doc["id"]
    assert doc["digest"] == hashlib.sha256((SAMPLES / "proposal.md").read_bytes()).hexdigest()
    assert doc["state"] == "proposed" and doc["members"] == ["RU", "US"]
    ok(us, "workgroup", "proposal", "sign", pid)
    send(us, ru, tmp_path)
    status = ok(ru, "status")
    assert [a["ref"] for a in status["attention"] if a["measure"] == "workgroup"] == [pid]
    r = ru.cli("workgroup", "proposal", "sign", pid[:10], "--digest", doc["digest"])
    assert r.exit_code == 0, r.stderr
    assert "adopted" in r.stderr
    send(ru, us, tmp_path)
    for party in (us, ru):
        shown = table(party, pid)
        assert shown["state"] == "adopted"
        assert {s["party"]: s["fingerprint"] for s in shown["signatures"]} == \
            {"US": us.fingerprint(), "RU": ru.fingerprint()}
        assert {s["digest"] for s in shown["signatures"]} == {doc["digest"]}
    listing = ok(us, "workgroup", "proposal", "list", "--state", "adopted")["proposals"]
    assert [p["id"] for p in listing] == [pid]
    # signing again is an illegal step: exit 4, the store unchanged
    r = ru.cli("workgroup", "proposal", "sign", pid)
    assert r.exit_code == 4 and "adopted" in r.stderr and r.stdout == ""


def test_text_changed_after_one_signature_needs_new_signatures(us_ru, tmp_path):
    us, ru = us_ru
    pid = ok(us, "workgroup", "proposal", "new", "--title", "Template", "--text-file",
             str(SAMPLES / "proposal.md"))["id"]
    send(us, ru, tmp_path)
    ok(ru, "workgroup", "proposal", "sign", pid)
    changed = tmp_path / "proposal-v2.md"
    changed.write_bytes((SAMPLES / "proposal.md").read_bytes().replace(b"48 hours", b"24 hours"))
    rev2 = ok(us, "workgroup", "proposal", "revise", pid, "--text-file", str(changed))
    assert rev2["revision"] == 2 and rev2["signatures"] == []
    ok(us, "workgroup", "proposal", "sign", rev2["revision_id"])
    exchange((us, ru), tmp_path)
    for party in (us, ru):
        current = table(party, rev2["revision_id"])
        assert current["state"] == "proposed" and current["awaiting"] == ["RU"]
        old = table(party, pid)
        assert old["state"] == "superseded" and [s["party"] for s in old["signatures"]] == ["RU"]
    r = ru.cli("workgroup", "proposal", "sign", pid)
    assert r.exit_code == 4
    assert "superseded by revision 2" in r.stderr and rev2["revision_id"][:12] in r.stderr
    ok(ru, "workgroup", "proposal", "sign", rev2["revision_id"])
    send(ru, us, tmp_path)
    assert table(us, pid)["proposal_state"] == "adopted"
    assert table(us, rev2["revision_id"])["signatures"][0]["digest"] == hashlib.sha256(changed.read_bytes()).hexdigest()


def test_three_party_adoption_through_bundles(three, tmp_path):
    us, ru, cn = three
    pid = ok(ru, "workgroup", "proposal", "new", "--title", "Sinkhole data format",
             "--text-file", str(SAMPLES / "proposal.md"))["id"]
    ok(ru, "workgroup", "proposal", "sign", pid)
    exchange((us, ru, cn), tmp_path)
    ok(us, "workgroup", "proposal", "sign", pid)
    exchange((us, ru, cn), tmp_path)
    assert {table(p, pid)["state"] for p in (us, ru, cn)} == {"proposed"}
    assert table(cn, pid)["awaiting"] == ["CN"]
    ok(cn, "workgroup", "proposal", "sign", pid)
    exchange((us, ru, cn), tmp_path)
    for party in (us, ru, cn):
        shown = table(party, pid)
        assert shown["state"] == "adopted", party.code
        assert sorted(s["party"] for s in shown["signatures"]) == ["CN", "RU", "US"]


def test_objection_travels_and_is_reported(us_ru, tmp_path):
    us, ru = us_ru
    pid = ok(us, "workgroup", "proposal", "new", "--title", "Template", "--text-file",
             str(SAMPLES / "proposal.md"))["id"]
    send(us, ru, tmp_path)
    r = ru.cli("workgroup", "proposal", "object", pid, "--reason", "item 6: no attribution | in notifications")
    assert r.exit_code == 0, r.stderr
    send(ru, us, tmp_path)
    shown = table(us, pid)
    assert shown["state"] == "proposed"
    assert [(o["party"], o["reason"], o["lifted"]) for o in shown["objections"]] == \
        [("RU", "item 6: no attribution | in notifications", False)]
    report = us.cli("workgroup", "report", "--from", "2026-11-01", "--to", "2026-12-31")
    assert report.exit_code == 0, report.stderr
    assert "item 6: no attribution \\| in notifications" in report.stdout  # escaped for the Markdown table
    r = us.cli("workgroup", "proposal", "object", pid, "--reason", "x")
    assert r.exit_code == 4 and "proposer does not object" in r.stderr


def test_actions_carried_forward_to_the_next_meeting(us_ru, tmp_path, monkeypatch):
    us, ru = us_ru
    first = ok(us, "workgroup", "meeting", "new", "--at", "2026-12-10T09:00Z", "--place", "Geneva",
               "--agenda-file", str(SAMPLES / "agenda.md"))["meeting"]
    sinkhole = ok(us, "workgroup", "action", "add", "Share sinkhole data format", "--owner", "RU",
                  "--due", "2027-01-15", "--meeting", first["id"])["action"]
    report = ok(us, "workgroup", "action", "add", "Draft Q4 report", "--owner", "RU", "--due", "2026-12-20",
                "--meeting", first["id"])["action"]
    send(us, ru, tmp_path)
    at(monkeypatch, "2027-01-20T08:00:00Z")
    overdue = ok(ru, "workgroup", "action", "list", "--overdue", "--owner", "RU")["actions"]
    assert [a["id"] for a in overdue] == [report["id"], sinkhole["id"]]
    r = us.cli("workgroup", "action", "done", sinkhole["id"])
    assert r.exit_code == 4 and "only RU can mark it done" in r.stderr
    ok(ru, "workgroup", "action", "done", report["id"], "--note", "sent on 19 December")
    send(ru, us, tmp_path)
    agenda = tmp_path / "agenda-5.md"
    agenda.write_text("1. Opening\n2. Open action items\n")
    # RU convenes the next meeting: the still-open item is carried onto its agenda
    nxt = ok(ru, "workgroup", "meeting", "new", "--at", "2027-03-10T09:00Z", "--place", "Moscow",
             "--agenda-file", str(agenda))
    assert [a["id"] for a in nxt["carried_actions"]] == [sinkhole["id"]]
    send(ru, us, tmp_path)
    shown = us.cli("workgroup", "meeting", "show", nxt["meeting"]["id"][:8])
    assert shown.exit_code == 0, shown.stderr
    assert "carried forward" in shown.stdout and "Share sinkhole data format" in shown.stdout
    assert "overdue" in shown.stdout
    done = ok(us, "workgroup", "action", "list", "--status", "done")["actions"]
    assert [(a["id"], a["note"]) for a in done] == [(report["id"], "sent on 19 December")]


def test_minutes_approved_by_both_through_bundles(us_ru, tmp_path):
    us, ru = us_ru
    m = ok(us, "workgroup", "meeting", "new", "--at", "2026-11-20T09:00Z", "--place", "Geneva",
           "--agenda-file", str(SAMPLES / "agenda.md"))["meeting"]["id"]
    ok(us, "workgroup", "meeting", "attend", m, "--name", "J. Smith")
    ok(us, "workgroup", "minutes", m, "--file", str(SAMPLES / "minutes.md"))
    ok(us, "workgroup", "minutes", m, "--approve")
    send(us, ru, tmp_path)
    ok(ru, "workgroup", "meeting", "attend", m, "--name", "A. Ivanov", "--name", "B. Petrov")
    digest = hashlib.sha256((SAMPLES / "minutes.md").read_bytes()).hexdigest()
    doc = ok(ru, "workgroup", "minutes", m, "--approve", "--digest", digest)
    assert doc["meeting"]["minutes_state"] == "approved"
    r = ru.cli("workgroup", "minutes", m, "--approve")
    assert r.exit_code == 4 and "already approved" in r.stderr
    send(ru, us, tmp_path)
    shown = ok(us, "workgroup", "meeting", "show", m)["meeting"]
    assert shown["status"] == "minutes approved"
    assert {p: a["names"] for p, a in shown["attendance"].items()} == \
        {"US": ["J. Smith"], "RU": ["A. Ivanov", "B. Petrov"]}


def test_report_matches_the_store(us_ru, tmp_path, monkeypatch):
    us, ru = us_ru
    at(monkeypatch, "2026-11-02T09:00:00Z")
    body = tmp_path / "inq.md"
    body.write_text("Scanning of our energy sector from AS64500. Please investigate.\n")
    r = us.cli("inquiry", "open", "--to", "RU", "--precedence", "PRIORITY", "--subject", "Scanning",
               "--body-file", str(body))
    assert r.exit_code == 0, r.stderr
    assert us.cli("hotline", "test", "--to", "RU").exit_code == 0
    m = ok(us, "workgroup", "meeting", "new", "--at", "2026-11-20T09:00Z", "--place", "Geneva",
           "--agenda-file", str(SAMPLES / "agenda.md"))["meeting"]["id"]
    late = ok(us, "workgroup", "action", "add", "Publish test schedule", "--owner", "US", "--due", "2026-11-10",
              "--meeting", m)["action"]["id"]
    pid = ok(us, "workgroup", "proposal", "new", "--title", "Joint notification template", "--text-file",
             str(SAMPLES / "proposal.md"))["id"]
    ok(us, "workgroup", "proposal", "sign", pid)
    send(us, ru, tmp_path)
    at(monkeypatch, "2026-11-03T15:30:00Z")
    thread = ok(ru, "inquiry", "list")
    number = (thread.get("inquiries") or thread.get("threads"))[0]["number"]
    assert ru.cli("inquiry", "ack", number).exit_code == 0
    reply = tmp_path / "reply.md"
    reply.write_text("We found a misconfigured research scanner and stopped it.\n")
    r = ru.cli("inquiry", "reply", number, "--body-file", str(reply))
    assert r.exit_code == 0, r.stderr
    ok(ru, "workgroup", "proposal", "sign", pid)
    send(ru, us, tmp_path)
    at(monkeypatch, "2026-12-01T10:00:00Z")

    out = tmp_path / "report.json"
    r = us.cli("workgroup", "report", "--from", "2026-11-01", "--to", "2026-11-30", "-o", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "" and "report.json" in r.stderr
    doc = json.loads(out.read_text())
    assert doc["schema"] == "cbm.workgroup.report/1"
    assert [x["id"] for x in doc["meetings"]] == [m]
    [adopted] = doc["adopted"]
    shown = table(us, pid)
    assert adopted["digest"] == shown["digest"]
    assert [(s["party"], s["fingerprint"], s["time"]) for s in adopted["signatures"]] == \
        sorted((s["party"], s["fingerprint"], s["time"]) for s in shown["signatures"])
    assert [a["id"] for a in doc["actions_overdue"]] == [late]
    with us.open() as store:
        records = list(store.records())
        expected: dict[tuple[str, str], int] = {}
        for rec in records:
            if "2026-11-01T00:00:00Z" <= rec.created < "2026-12-01T00:00:00Z":
                expected[(rec.kind, rec.author)] = expected.get((rec.kind, rec.author), 0) + 1
        opened = next(x for x in records if x.kind == "inquiry.open")
        first_reply = next(x for x in records if x.kind == "inquiry.reply")
    assert {(c["kind"], c["author"]): c["count"] for c in doc["activity"]["records"]} == expected
    inquiries = doc["activity"]["inquiries"]
    assert inquiries["opened"] == 1 and inquiries["answered"] == 1
    span = clock.parse_time(first_reply.created) - clock.parse_time(opened.created)
    assert inquiries["items"][0]["response_seconds"] == span.total_seconds() == 30.5 * 3600
    tests = doc["activity"]["hotline_tests"]
    assert tests["sent"] == 1 and tests["answered"] == 1

    md = tmp_path / "report.md"
    r = us.cli("workgroup", "report", "--from", "2026-11-01", "--to", "2026-11-30", "-o", str(md))
    assert r.exit_code == 0, r.stderr
    text = md.read_text()
    assert "### Joint notification template" in text
    assert us.fingerprint() in text and ru.fingerprint() in text
    assert "| Publish test schedule | US | 2026-11-10 |" in text
    assert "1 opened, 1 answered; median time to first reply 1d 6h" in text
