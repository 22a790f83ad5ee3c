"""``cbm handover``: what changed since the last watch handover; recorded as a signed local note."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import typer

from cbm.app.handover import handover as run_handover
from cbm.cli.context import open_store
from cbm.cli.output import emit_lines, fold, literal, note, one_line


def handover(note_text: Annotated[str | None, typer.Option(
                 "--note", metavar="TEXT", help="A note for the next shift (kept in our store only).")] = None,
             json_flag: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """Hand the watch over: print what changed since the last handover (new, overdue, answered, received,
    sent) and record this handover as a signed note that never leaves our store.

    Example:  cbm handover \\
                --note "RU promised an answer on US-RU/2026/0007 by 14:00Z"
    """
    with open_store() as store:
        done = run_handover(store, note=note_text)
    note(f"handover {done.id[:12]} recorded at {done.at}; the next `cbm handover` starts from it")

    def lines() -> Iterator[str]:
        yield f"handover at {done.at}, " + (f"since the last one at {done.since}" if done.since
                                            else "the first one of this store")
        if done.previous_note:
            yield "note from the last shift: " + literal(done.previous_note)
        yield f"overdue ({len(done.overdue)}):"
        for i in done.overdue:
            yield from fold(f"  [{i.measure}] " + one_line(i.text), indent=4)
        yield f"new since then ({len(done.new)}):"
        for i in done.new:
            yield from fold(f"  [{i.measure}] " + one_line(i.text), indent=4)
        yield f"dealt with since then ({len(done.answered)}):"
        yield from ("  " + literal(key) for key in done.answered)
        yield f"received ({sum(r.records for r in done.received)} records):"
        for r in done.received:
            measures = ", ".join(f"{m} {n}" for m, n in sorted(r.by_measure.items()))
            yield f"  from {r.peer}: {r.records} ({measures})"
        yield f"sent ({len(done.sent)} bundles):"
        yield from (f"  to {s.peer}: bundle #{s.bundle} at {s.created}, {s.records} records" for s in done.sent)
        yield f"needs attention now: {done.attention} item(s); see `cbm status`"

    emit_lines("handover", done, lines, json_flag=json_flag)


app = typer.Typer(add_completion=False)
app.command("handover")(handover)
