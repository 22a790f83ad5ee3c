"""The working group's report to the commission for a period, drawn from the whole store (docs/adr/0064).

What it lists, for records whose time falls in ``[from, to]`` (whole UTC days, both inclusive):

- meetings held or scheduled (by their ``at`` time): place, convener, roll call, minutes status;
- measures adopted (the time of the last member's signature): title, revision, text sha256, and every
  signature with party, key fingerprint and time;
- objections raised, and proposals rejected or withdrawn;
- action items done in the period, and those overdue at its end (or now, if the period has not ended);
- activity in the other measures: record counts per kind and author; indicators exchanged (indicator rows in
  ``indicators.batch`` records, revocations, sightings); inquiries opened and the time from each opening to the
  recipient's first reply; hotline link tests and their round trips.

Times are the signers' own ``created`` times (each party's clock); a response time spans two clocks.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cbm.core import clock
from cbm.core.errors import UsageError
from cbm.core.records import Record
from cbm.measures.workgroup import service as wg
from cbm.measures.workgroup.model import due_deadline
from cbm.store.activity import record_counts
from cbm.store.db import Store


@dataclass
class Report:
    party: str
    period: dict[str, str]  # from, until (exclusive), as_of (overdue is judged at this instant)
    generated: str
    members: list[str]
    meetings: list[dict[str, Any]] = field(default_factory=list)
    adopted: list[dict[str, Any]] = field(default_factory=list)
    objections: list[dict[str, Any]] = field(default_factory=list)
    closed: list[dict[str, Any]] = field(default_factory=list)
    open_proposals: list[dict[str, Any]] = field(default_factory=list)
    actions_done: list[dict[str, Any]] = field(default_factory=list)
    actions_overdue: list[dict[str, Any]] = field(default_factory=list)
    activity: dict[str, Any] = field(default_factory=dict)


def _period(start: str, end: str) -> tuple[datetime, datetime]:
    first = clock.parse_time(start, what="--from")
    last = clock.parse_time(end, what="--to")
    stop = last + timedelta(days=1) if len(end.strip()) == 10 else last
    if stop <= first:
        raise UsageError(f"the period {start} to {end} is empty", hint="--to must not be before --from")
    return first, stop


def _within(moment: str | None, first: datetime, stop: datetime) -> bool:
    return moment is not None and first <= clock.parse_time(moment) < stop


def _seconds(start: str, end: str) -> int:
    return int((clock.parse_time(end) - clock.parse_time(start)).total_seconds())


def build(store: Store, start: str, end: str) -> Report:
    """Assemble the report for ``start``..``end`` (dates or times, UTC). Raises UsageError for a bad period."""
    first, stop = _period(start, end)
    now = clock.now()
    as_of = min(now, stop)
    state = wg.load(store, as_of)
    report = Report(store.party, {"from": clock.iso(first), "until": clock.iso(stop), "as_of": clock.iso(as_of)},
                    clock.iso(now), wg.members(store))
    actions = state.actions

    for m in sorted(state.meetings.values(), key=lambda m: (m.at, m.id)):
        if not _within(m.at, first, stop):
            continue
        report.meetings.append({
            "id": m.id, "at": m.at, "place": m.place, "title": m.title, "convener": m.convener,
            "members": m.members, "agenda_digest": m.agenda_digest,
            "attendance": {p: (a.names if a.present else "absent") for p, a in sorted(m.attendance.items())},
            "minutes": m.minutes_state, "minutes_digest": m.current_minutes.digest if m.current_minutes else None,
            "minutes_approved_at": m.approved_at,
            "carried_actions": len(m.carried), "actions": [actions[a].title for a in m.actions if a in actions]})

    for p in sorted(state.proposals.values(), key=lambda p: (p.created, p.id)):
        if p.state == "adopted" and _within(p.adopted_at, first, stop):
            report.adopted.append({
                "id": p.id, "revision_id": p.current.record, "title": p.title, "revision": p.current.number,
                "digest": p.current.digest, "proposer": p.proposer, "adopted_at": p.adopted_at,
                "signatures": [{"party": s.party, "fingerprint": s.fingerprint, "time": s.time, "record": s.record}
                               for s in sorted(p.signatures, key=lambda s: s.party)]})
        elif p.state in ("proposed", "draft") and p.created < clock.iso(stop):
            report.open_proposals.append({"id": p.current.record, "title": p.title, "state": p.state,
                                          "revision": p.current.number, "awaiting": p.awaiting})
        if p.closing is not None and _within(p.closing.time, first, stop):
            report.closed.append({"id": p.id, "title": p.title, "state": p.closing.kind, "by": p.closing.party,
                                  "time": p.closing.time, "reason": p.closing.reason})
        for o in p.objections:
            if _within(o.time, first, stop):
                report.objections.append({"proposal": p.id, "title": p.title, "revision": o.revision_number,
                                          "party": o.party, "time": o.time, "reason": o.reason,
                                          "lifted": o.lifted})

    for a in sorted(actions.values(), key=lambda a: (a.due, a.id)):
        item = {"id": a.id, "title": a.title, "owner": a.owner, "due": a.due, "done_at": a.done_at,
                "note": a.note}
        if a.status == "done" and _within(a.done_at, first, stop):
            report.actions_done.append(item)
        done_in_time = a.done_at is not None and clock.parse_time(a.done_at) <= as_of
        if not done_in_time and due_deadline(a.due) < as_of and a.created < clock.iso(stop):
            report.actions_overdue.append(item)

    report.activity = activity(store, first, stop)
    return report


# -- the other measures ------------------------------------------------------------------------------------


def activity(store: Store, first: datetime, stop: datetime) -> dict[str, Any]:
    """What the other measures did in ``[first, stop)``: counts per kind and author, then per measure."""
    lo, hi = clock.iso(first), clock.iso(stop)
    counts = store.query(record_counts, lo, hi)
    return {
        "records": [{"kind": k, "author": a, "count": n} for k, a, n in counts],
        "indicators": _indicators(store, lo, hi),
        "inquiries": _inquiries(store, lo, hi),
        "hotline_tests": _hotline_tests(store, lo, hi),
    }


def _in(record: Record, lo: str, hi: str) -> bool:
    return lo <= record.created < hi


def _indicators(store: Store, lo: str, hi: str) -> dict[str, Any]:
    by_author: dict[str, dict[str, int]] = {}
    for r in store.records(kind_prefix="indicators."):
        if not _in(r, lo, hi):
            continue
        entry = by_author.setdefault(r.author, {"batches": 0, "indicators": 0, "revocations": 0, "sightings": 0})
        if r.kind == "indicators.batch":
            rows = r.body.get("rows")
            entry["batches"] += 1
            entry["indicators"] += len(rows) if isinstance(rows, list) else 0
        elif r.kind == "indicators.revoke":
            ids = r.body.get("ids")
            entry["revocations"] += len(ids) if isinstance(ids, list) else 1
        elif r.kind == "indicators.sighting":
            entry["sightings"] += 1
    return {"by_author": dict(sorted(by_author.items()))}


def _reply_pairs(store: Store) -> list[tuple[Record, Record | None]]:
    """(opening record, the recipient's first reply or None) for every inquiry sent."""
    try:
        from cbm.measures.inquiry.service import threads
    except ImportError:  # the inquiry measure absent: fold the records generically
        replies: dict[str, list[Record]] = {}
        for r in store.records(kind="inquiry.reply"):
            ref = r.body.get("ref")
            if isinstance(ref, str):
                replies.setdefault(ref, []).append(r)
        return [(o, min((r for r in replies.get(o.hash, []) if r.author != o.author),
                        key=lambda r: r.created, default=None))
                for o in store.records(kind="inquiry.open") if not o.body.get("draft")]
    pairs = []
    for thread in threads(store):
        if thread.state == "draft":
            continue
        reply = next((m for m in thread.messages if m.kind == "inquiry.reply" and m.author == thread.recipient),
                     None)
        pairs.append((thread.open, reply))
    return pairs


def _inquiries(store: Store, lo: str, hi: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for opening, reply in _reply_pairs(store):
        if not _in(opening, lo, hi):
            continue
        number = opening.body.get("number")
        items.append({
            "id": opening.hash, "number": number if isinstance(number, str) else opening.short,
            "from": opening.author, "to": [p for p in opening.to if p != "*"], "opened": opening.created,
            "first_reply": reply.created if reply else None,
            "response_seconds": _seconds(opening.created, reply.created) if reply else None})
    times: list[int] = [i["response_seconds"] for i in items if i["response_seconds"] is not None]
    return {"opened": len(items), "answered": len(times),
            "median_response_seconds": int(statistics.median(times)) if times else None,
            "max_response_seconds": max(times) if times else None, "items": items}


def _hotline_tests(store: Store, lo: str, hi: str) -> dict[str, Any]:
    replies: dict[str, Record] = {}
    for r in store.records(kind="hotline.test_reply"):
        ref = r.body.get("ref")
        if isinstance(ref, str) and (ref not in replies or r.created < replies[ref].created):
            replies[ref] = r
    items: list[dict[str, Any]] = []
    for test in store.records(kind="hotline.test"):
        if not _in(test, lo, hi):
            continue
        reply = replies.get(test.hash)
        items.append({"id": test.hash, "from": test.author, "sent": test.created,
                      "answered_by": reply.author if reply else None, "answered": reply.created if reply else None,
                      "round_trip_seconds": _seconds(test.created, reply.created) if reply else None})
    trips: list[int] = [i["round_trip_seconds"] for i in items if i["round_trip_seconds"] is not None]
    return {"sent": len(items), "answered": len(trips),
            "median_round_trip_seconds": int(statistics.median(trips)) if trips else None, "items": items}


# -- Markdown ----------------------------------------------------------------------------------------------


def _md(value: object) -> str:
    """Peer text made safe for a Markdown table cell: no pipes, newlines or HTML."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    for ch in "\\|<>*_`[]":
        text = text.replace(ch, "\\" + ch)
    return text


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return sign + (f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m" if hours else
                   f"{minutes}m" if minutes else f"{secs}s")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return lines + [""]


def markdown(r: Report) -> str:
    """The report as Markdown for the commission (peer text escaped)."""
    out = [f"# Working group report, {r.period['from'][:10]} to {_last_day(r.period['until'])}", "",
           f"Prepared by {r.party} on {r.generated} from its signed cbm store. Members: {', '.join(r.members)}. "
           f"Overdue is judged at {r.period['as_of']}.", ""]
    out += ["## Meetings", ""]
    if r.meetings:
        out += _table(["date (UTC)", "place", "convener", "roll call", "minutes", "action items"],
                      [[m["at"], m["place"], m["convener"],
                        "; ".join(f"{p}: {'absent' if a == 'absent' else ', '.join(a)}"
                                  for p, a in m["attendance"].items()) or "—",
                        m["minutes"] + (f" {m['minutes_approved_at']}" if m["minutes_approved_at"] else ""),
                        len(m["actions"])] for m in r.meetings])
    else:
        out += ["No meetings in this period.", ""]
    out += ["## Measures adopted", ""]
    if not r.adopted:
        out += ["No measure was adopted in this period.", ""]
    for a in r.adopted:
        out += [f"### {_md(a['title'])}", "",
                f"Proposal `{a['id'][:12]}` revision {a['revision']} by {a['proposer']}, adopted {a['adopted_at']}. "
                f"Text SHA-256 `{a['digest']}`.", ""]
        out += _table(["party", "key fingerprint", "signed (UTC)"],
                      [[s["party"], s["fingerprint"], s["time"]] for s in a["signatures"]])
    out += ["## Objections", ""]
    out += _table(["proposal", "revision", "party", "time", "reason", "status"],
                  [[o["title"], o["revision"], o["party"], o["time"], o["reason"],
                    "lifted" if o["lifted"] else "standing"] for o in r.objections]) \
        if r.objections else ["No objections in this period.", ""]
    if r.closed:
        out += ["## Proposals rejected or withdrawn", ""]
        out += _table(["proposal", "state", "by", "time", "reason"],
                      [[c["title"], c["state"], c["by"], c["time"], c["reason"]] for c in r.closed])
    if r.open_proposals:
        out += ["## Proposals still open", ""]
        out += _table(["proposal", "state", "revision", "awaiting"],
                      [[p["title"], p["state"], p["revision"], ", ".join(p["awaiting"])] for p in r.open_proposals])
    out += ["## Action items", "", "Done in this period:", ""]
    out += _table(["action", "owner", "due", "done", "note"],
                  [[a["title"], a["owner"], a["due"], a["done_at"], a["note"] or ""] for a in r.actions_done]) \
        if r.actions_done else ["None.", ""]
    out += ["Overdue at the end of the period:", ""]
    out += _table(["action", "owner", "due"], [[a["title"], a["owner"], a["due"]] for a in r.actions_overdue]) \
        if r.actions_overdue else ["None.", ""]
    out += _activity_md(r.activity)
    return "\n".join(out).rstrip() + "\n"


def _last_day(stop_iso: str) -> str:
    return clock.iso(clock.parse_time(stop_iso) - timedelta(seconds=1))[:10]


def _activity_md(act: dict[str, Any]) -> list[str]:
    out = ["## Activity across the measures", ""]
    ind = act["indicators"]["by_author"]
    out += ["### Indicators exchanged", ""]
    out += _table(["from", "batches", "indicators", "revocations", "sightings"],
                  [[p, e["batches"], e["indicators"], e["revocations"], e["sightings"]] for p, e in ind.items()]) \
        if ind else ["None.", ""]
    inq = act["inquiries"]
    out += ["### Inquiries", "",
            f"{inq['opened']} opened, {inq['answered']} answered; median time to first reply "
            f"{_duration(inq['median_response_seconds'])}, longest {_duration(inq['max_response_seconds'])}.", ""]
    if inq["items"]:
        out += _table(["inquiry", "from", "to", "opened", "first reply", "response time"],
                      [[i["number"], i["from"], ", ".join(i["to"]), i["opened"], i["first_reply"] or "—",
                        _duration(i["response_seconds"])] for i in inq["items"]])
    hot = act["hotline_tests"]
    out += ["### Hotline link tests", "",
            f"{hot['sent']} sent, {hot['answered']} answered; median round trip "
            f"{_duration(hot['median_round_trip_seconds'])}.", ""]
    out += ["### Records by kind and author", ""]
    out += _table(["kind", "author", "records"], [[c["kind"], c["author"], c["count"]] for c in act["records"]]) \
        if act["records"] else ["None.", ""]
    return out
