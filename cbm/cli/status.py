"""``cbm status``: who we are, peers, record counts, what needs attention."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import typer

from cbm.app.status import collect
from cbm.cli.context import open_store
from cbm.cli.output import emit_lines, literal
from cbm.cli.tables import Column, Styled, Table, terminal_width


def status(json_flag: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
           wide: Annotated[bool, typer.Option("--wide", help="Show every value whole.")] = False) -> None:
    """One screen: who we are, our peers, record counts, and what needs attention (most urgent first).

    Example:  cbm status
    """
    with open_store() as store:
        report = collect(store)

    def lines() -> Iterator[str]:
        yield literal(f"{report.party} ({report.name})  {report.fingerprint}")
        yield literal(f"store {report.store}")
        if report.peers:
            peers = Table([Column("peer"), Column("name", cut=True), Column("key"), Column("records", right=True)])
            for p in report.peers:
                key, style = p["status"], "green" if p["status"] == "active" else "red"
                if p["introduced_by"] is not None:  # trusted on a roster's word, not a phone call
                    key, style = f"{key}, introduced", "yellow" if p["status"] == "active" else "red"
                peers.add_row(p["party"], p["name"], Styled(key, style), p["records"])
            yield from peers.lines(terminal_width(wide))
        else:
            yield "no peers yet: `cbm keys import CARD --fingerprint FPR`"
        by = report.counts["by_measure"]
        yield "records: " + (", ".join(f"{k} {v}" for k, v in sorted(by.items())) or "none")
        if report.attention:
            yield "needs attention:"
            for item in report.attention:
                due = f" (due {item.due})" if item.due else ""
                yield f"  [{item.measure}] " + literal(item.text + due)
        else:
            yield "nothing needs attention"

    emit_lines("status", report, lines, json_flag=json_flag)


app = typer.Typer(add_completion=False)
app.command("status")(status)
