"""``cbm status``: who we are, peers, record counts, what needs attention."""

# no ``from __future__ import annotations``: Typer would compile each string annotation at every start (main.py)
from collections.abc import Iterator
from typing import Annotated

import typer

from cbm.app.status import collect
from cbm.cli.context import open_store
from cbm.cli.output import emit_lines, one_line, to_jsonable
from cbm.cli.tables import Column, Styled, Table, terminal_width
from cbm.core.errors import NEEDS_ATTENTION


def status(json_flag: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
           wide: Annotated[bool, typer.Option("--wide", help="Show every value whole.")] = False,
           check: Annotated[bool, typer.Option(
               "--check",
               help=f"Exit {NEEDS_ATTENTION} when anything is overdue or waits on us (for monitoring).")] = False,
           ) -> None:
    """One screen: who we are, our peers, what waits to be sent to each, record counts, and what needs attention
    (most urgent first, the oldest overdue item first).

    Example:  cbm status --check --json   # exit 8 when anything needs attention
    """
    with open_store() as store:
        report = collect(store)

    def lines() -> Iterator[str]:
        yield one_line(f"{report.party} ({report.name})  {report.fingerprint}")
        yield one_line(f"store {report.store}")
        if report.peers:
            outbox = {box.peer: box for box in report.outbox}
            peers = Table([Column("peer"), Column("name", cut=True), Column("key"), Column("records", right=True),
                           Column("ahead", right=True)])
            for p in report.peers:
                key, style = p["status"], "green" if p["status"] == "active" else "red"
                if p["introduced_by"] is not None:  # trusted on a roster's word, not a phone call
                    key, style = f"{key}, introduced", "yellow" if p["status"] == "active" else "red"
                box = outbox.get(p["party"])
                ahead = Styled(box.ahead, "red" if box.overdue else None) if box is not None else ""
                peers.add_row(p["party"], p["name"], Styled(key, style), p["records"], ahead)
            yield from peers.lines(terminal_width(wide))
            for box in report.outbox:
                if box.ahead:
                    sent = f"last bundle {box.last_sent}" if box.last_sent else "no bundle sent yet"
                    yield one_line(f"{box.peer}: ahead by {box.ahead} since {box.since}; {sent}")
        else:
            yield "no peers yet: `cbm keys import CARD --fingerprint FPR`"
        by = report.counts["by_measure"]
        yield "records: " + (", ".join(f"{k} {v}" for k, v in sorted(by.items())) or "none")
        if report.attention:
            yield "needs attention:"
            for item in report.attention:
                due = f" (due {item.due})" if item.due else ""
                yield f"  [{item.measure}] " + one_line(item.text + due)
        else:
            yield "nothing needs attention"

    emit_lines("status", {**to_jsonable(report), "check": report.summary}, lines, json_flag=json_flag)
    if check and report.needs_attention:
        raise typer.Exit(NEEDS_ATTENTION)


app = typer.Typer(add_completion=False)
app.command("status")(status)
