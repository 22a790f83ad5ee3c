"""What ``cbm status`` shows: one screen (or one JSON document) of who we are, peers, counts and attention.

Typer-free: the Typer command (``cbm/cli/status.py``) and the fast path (``cbm/cli/fast.py``) both call
:func:`show_status` (docs/adr/0246-a-fast-path-without-typer.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from cbm.app.status import collect
from cbm.cli.context import open_store
from cbm.cli.output import emit_lines, fold, one_line, to_jsonable
from cbm.cli.tables import Column, Styled, Table, terminal_width
from cbm.core.errors import NEEDS_ATTENTION


def show_status(*, json_flag: bool = False, wide: bool = False, check: bool = False) -> int:
    """Print the status of the store chosen by the global options and return the exit code: 0, or
    ``NEEDS_ATTENTION`` when ``check`` is set and anything is overdue or waits on us. Raises what opening and
    reading the store raise (``CbmError``; the caller reports it)."""
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
        # all five measures and the bundles' own records pass 80 columns: folded as prose (piped, one line)
        yield from fold("records: " + (", ".join(f"{k} {v}" for k, v in sorted(by.items())) or "none"), wide=wide)
        if report.attention:
            yield "needs attention:"
            for item in report.attention:
                due = f" (due {item.due})" if item.due else ""
                yield from fold(f"  [{item.measure}] " + one_line(item.text + due), indent=4, wide=wide)
        else:
            yield "nothing needs attention"

    emit_lines("status", {**to_jsonable(report), "check": report.summary}, lines, json_flag=json_flag)
    return NEEDS_ATTENTION if check and report.needs_attention else 0
