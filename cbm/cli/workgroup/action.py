"""``cbm workgroup action``: action items with an owner party and a due date, done or overdue."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from cbm.cli.context import open_store
from cbm.cli.output import emit, note
from cbm.cli.workgroup.common import (
    JsonFlag,
    WideFlag,
    action_row,
    action_table,
    print_table,
    short_id,
)
from cbm.core.errors import UsageError
from cbm.measures.workgroup import service as wg

app = typer.Typer(help="Action items: owner party, due date, done or overdue.", no_args_is_help=True)


# -- action items ------------------------------------------------------------------------------------------


@app.command("add")
def action_add(
    title: Annotated[str, typer.Argument(help="What is to be done.")],
    owner: Annotated[str, typer.Option("--owner", help="The member party that owns it.")],
    due: Annotated[str, typer.Option("--due", help="Due date (2027-01-15: by the end of that day, UTC).")],
    meeting: Annotated[str | None, typer.Option("--meeting", help="The meeting that decided it.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Record an action item for a member party.

    Example:  cbm workgroup action add "Share sinkhole data format" --owner RU \\
                --due 2027-01-15
    """
    with open_store() as store:
        a = wg.add_action(store, title, owner=owner, due=due, meeting=meeting)
    note(f"action {short_id(a.id)} for {a.owner}, due {a.due}")
    emit("workgroup.action", {"action": a}, lambda out: out.print(Text(a.id)), json_flag=json_flag)


@app.command("list")
def action_list(
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open items past their due date.")] = False,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this party's items.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open or done.")] = None,
    wide: WideFlag = False,
    json_flag: JsonFlag = False,
) -> None:
    """List action items: open first by due date; overdue is derived from the clock.

    Example:  cbm workgroup action list --overdue --owner RU
    """
    if status is not None and status not in ("open", "done"):
        raise UsageError(f"unknown status {status!r}", hint="open or done")
    with open_store() as store:
        items = wg.list_actions(store, overdue=overdue, owner=owner, status=status)

    def human(out: Console) -> None:
        if not items:
            out.print(Text("no action items match"))
            return
        table = action_table()
        for a in items:
            action_row(table, a)
        print_table(out, table, wide=wide)

    emit("workgroup.actions", {"actions": items}, human, json_flag=json_flag)


@app.command("done")
def action_done(
    action: Annotated[str, typer.Argument(help="Action id.")],
    note_text: Annotated[str | None, typer.Option("--note", help="What was done.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Mark one of our own action items done (only the owner party can).

    Example:  cbm workgroup action done 9c1b2a \\
                --note "format shared as STIX 2.1 profile"
    """
    with open_store() as store:
        a = wg.complete_action(store, action, note_text)
    note(f"action {short_id(a.id)} done")
    emit("workgroup.action", {"action": a}, lambda out: out.print(Text(f"{a.id} done")), json_flag=json_flag)
