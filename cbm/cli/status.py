"""``cbm status``: who we are, peers, record counts, what needs attention."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cbm.cli.context import open_store
from cbm.cli.output import cell, emit
from cbm.measures.status import collect


def status(json_flag: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """One screen: who we are, our peers, record counts, and what needs attention (most urgent first).

    Example:  cbm status
    """
    with open_store() as store:
        report = collect(store)

    def human(out: Console) -> None:
        out.print(Text(f"{report.party} ({report.name})  {report.fingerprint}", style="bold"))
        out.print(Text(f"store {report.store}", style="dim"))
        peers = Table(box=None, pad_edge=False, title=None)
        for column in ("peer", "name", "key", "records"):
            peers.add_column(column)
        for p in report.peers:
            key, style = p["status"], "green" if p["status"] == "active" else "red"
            if p["introduced_by"] is not None:  # trusted on a roster's word, not a phone call
                key, style = f"{key}, introduced", "yellow" if p["status"] == "active" else "red"
            peers.add_row(cell(p["party"]), cell(p["name"]), cell(key, style), cell(p["records"]))
        if report.peers:
            out.print(peers)
        else:
            out.print(Text("no peers yet: `cbm keys import CARD --fingerprint FPR`"))
        by = report.counts["by_measure"]
        out.print(Text("records: " + (", ".join(f"{k} {v}" for k, v in sorted(by.items())) or "none")))
        if report.attention:
            out.print(Text("needs attention:", style="bold"))
            for item in report.attention:
                style = "red" if item.rank == 0 else "yellow" if item.rank == 1 else ""
                due = f" (due {item.due})" if item.due else ""
                out.print(Text(f"  [{item.measure}] ", style=style) + cell(item.text + due))
        else:
            out.print(Text("nothing needs attention"))

    emit("status", report, human, json_flag=json_flag)


app = typer.Typer(add_completion=False)
app.command("status")(status)
