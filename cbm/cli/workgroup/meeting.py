"""``cbm workgroup meeting``: convene meetings, answer the roll call, show agenda and minutes."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from cbm.cli.context import open_store
from cbm.cli.output import cell, emit, note
from cbm.cli.tables import Column, Table
from cbm.cli.workgroup.common import (
    JsonFlag,
    TlpOption,
    WideFlag,
    action_row,
    action_table,
    indent,
    print_table,
    read_document,
    short_id,
)
from cbm.core.errors import UsageError
from cbm.measures.workgroup import service as wg
from cbm.measures.workgroup.model import Action, Meeting

app = typer.Typer(help="Convene meetings, answer the roll call, show agenda and minutes.", no_args_is_help=True)


# -- meetings ----------------------------------------------------------------------------------------------


def meeting_doc(m: Meeting, actions: dict[str, Action]) -> dict[str, Any]:
    return {"meeting": m, "awaiting_approval": m.awaiting_approval,
            "carried_actions": [actions[a] for a in m.carried if a in actions],
            "meeting_actions": [actions[a] for a in m.actions if a in actions]}


def show_meeting(out: Console, m: Meeting, actions: dict[str, Action], *, full_minutes: bool = False) -> None:
    out.print(Text(f"meeting {short_id(m.id)}  {m.at}  ", style="bold") + cell(m.place) +
              Text(f"  (convened by {m.convener})"))
    if m.title:
        out.print(Text("title    ") + cell(m.title))
    out.print(Text(f"status   {m.status}"))
    out.print(Text("members  " + ", ".join(m.members)))
    out.print(Text("roll call", style="bold"))
    for party in m.members:
        answer = m.attendance.get(party)
        if answer is None:
            out.print(Text(f"  {party:<6} no answer yet", style="dim"))
        elif answer.present:
            out.print(Text(f"  {party:<6} present: ") + cell(", ".join(answer.names)))
        else:
            out.print(Text(f"  {party:<6} absent"))
    out.print(Text(f"agenda (sha256 {m.agenda_digest})", style="bold"))
    indent(out, m.agenda)
    carried = [actions[a] for a in m.carried if a in actions]
    if carried:
        out.print(Text("carried forward: action items open when the meeting was convened", style="bold"))
        table = action_table()
        for a in carried:
            action_row(table, a)
        print_table(out, table)
    own = [actions[a] for a in m.actions if a in actions]
    if own:
        out.print(Text("action items from this meeting", style="bold"))
        table = action_table()
        for a in own:
            action_row(table, a)
        print_table(out, table)
    current = m.current_minutes
    if current is None:
        out.print(Text(f"minutes  none yet ({m.convener} drafts them)"))
        return
    approved = ", ".join(a.party for a in current.approvals) or "nobody yet"
    if m.minutes_state == "approved":
        line = f"minutes  approved {m.approved_at} by {approved} (draft {current.number}, sha256 {current.digest})"
    else:
        line = f"minutes  draft {current.number} (sha256 {current.digest}); approved by {approved}; awaiting " + \
            ", ".join(m.awaiting_approval)
    out.print(Text(line, style="bold"), soft_wrap=True)
    if full_minutes:
        indent(out, current.text)


@app.command("new")
def meeting_new(
    at: Annotated[str, typer.Option("--at", help="When, UTC ISO 8601 (2026-12-10T09:00Z).")],
    place: Annotated[str, typer.Option("--place", help="Where (or how: 'video link').")],
    agenda_file: Annotated[str, typer.Option("--agenda-file", help="The agenda text ('-' for stdin).")],
    title: Annotated[str, typer.Option("--title", help="A short title.")] = "",
    tlp: TlpOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Convene a meeting of every member. Open action items are carried forward onto its agenda.

    Example:  cbm workgroup meeting new --at 2026-12-10T09:00Z \\
                --place "Geneva" --agenda-file agenda.md
    """
    agenda = read_document(agenda_file, "agenda file")
    with open_store() as store:
        m = wg.new_meeting(store, at=at, place=place, agenda=agenda, title=title, tlp=tlp)
        actions = wg.load(store).actions
    note(f"meeting {short_id(m.id)} convened for {m.at}; {len(m.carried)} open action item(s) carried forward")
    emit("workgroup.meeting", meeting_doc(m, actions), lambda out: show_meeting(out, m, actions),
         json_flag=json_flag)


@app.command("show")
def meeting_show(
    meeting: Annotated[str, typer.Argument(help="Meeting id (6+ hex digits).")],
    json_flag: JsonFlag = False,
) -> None:
    """Show a meeting: agenda, roll call per party, carried-forward actions, minutes and their approvals.

    Example:  cbm workgroup meeting show 3fa9c2
    """
    with open_store() as store:
        state, m = wg.find_meeting(store, meeting)
    emit("workgroup.meeting", meeting_doc(m, state.actions), lambda out: show_meeting(out, m, state.actions),
         json_flag=json_flag)


@app.command("list")
def meeting_list(wide: WideFlag = False, json_flag: JsonFlag = False) -> None:
    """List meetings, oldest first, with their minutes status.

    Example:  cbm workgroup meeting list
    """
    with open_store() as store:
        meetings = sorted(wg.load(store).meetings.values(), key=lambda m: (m.at, m.id))

    def human(out: Console) -> None:
        if not meetings:
            out.print(Text("no meetings yet"))
            return
        table = Table([Column("id"), Column("at"), Column("place", cut=True, min_width=12), Column("convener"),
                       Column("status")])
        for m in meetings:
            table.add_row(short_id(m.id), m.at, m.place, m.convener, m.status)
        print_table(out, table, wide=wide)

    emit("workgroup.meetings", {"meetings": meetings}, human, json_flag=json_flag)


@app.command("attend")
def meeting_attend(
    meeting: Annotated[str, typer.Argument(help="Meeting id.")],
    name: Annotated[list[str] | None, typer.Option("--name", help="Who attended for us (repeatable).")] = None,
    absent: Annotated[bool, typer.Option("--absent", help="Our party did not attend.")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Answer the roll call for our own party; a later answer corrects an earlier one.

    Example:  cbm workgroup meeting attend 3fa9c2 --name "J. Smith" \\
                --name "A. Jones"
    """
    if absent and name:
        raise UsageError("--absent and --name exclude each other")
    with open_store() as store:
        m = wg.attend(store, meeting, name or [], present=not absent)
        actions = wg.load(store).actions
        me = store.party
    note(f"roll call for {me} recorded")
    emit("workgroup.meeting", meeting_doc(m, actions), lambda out: show_meeting(out, m, actions),
         json_flag=json_flag)
