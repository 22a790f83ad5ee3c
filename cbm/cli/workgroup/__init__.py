"""``cbm workgroup``: the bilateral working group's meetings, minutes, action items and joint proposals.

One module per subcommand group: ``meeting``, ``action``, ``proposal``; the members list, the minutes and the
report are here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from cbm.cli.context import open_store
from cbm.cli.output import emit, note
from cbm.cli.workgroup import action, meeting, proposal
from cbm.cli.workgroup.common import (
    JsonFlag,
    read_document,
    short_id,
)
from cbm.cli.workgroup.meeting import meeting_doc, show_meeting
from cbm.core.errors import NotFound, UsageError
from cbm.measures.workgroup import service as wg

app = typer.Typer(help="The working group: meetings and minutes, action items, proposals adopted by all members, "
                       "and the report for the commission.", no_args_is_help=True)
app.add_typer(meeting.app, name="meeting")
app.add_typer(action.app, name="action")
app.add_typer(proposal.app, name="proposal")


# -- members -----------------------------------------------------------------------------------------------


@app.command("members")
def members_cmd(json_flag: JsonFlag = False) -> None:
    """Show who is in the working group now: the members list in the workgroup section of config.toml, else
    every trusted party.

    New meetings and proposals record this list: their "every member" does not change later.

    Example:  cbm workgroup members
    """
    with open_store() as store:
        group = wg.members(store)
    emit("workgroup.members", {"members": group}, lambda out: out.print(Text(" ".join(group))),
         json_flag=json_flag)


# -- minutes -----------------------------------------------------------------------------------------------


@app.command("minutes")
def minutes(
    meeting: Annotated[str, typer.Argument(help="Meeting id.")],
    file: Annotated[str | None, typer.Option("--file", help="Draft minutes from this file (convener only).")]
    = None,
    approve: Annotated[bool, typer.Option("--approve", help="Approve the exact current draft.")] = False,
    digest: Annotated[str | None, typer.Option("--digest", help="With --approve: the sha256 you read; refused "
                                                                "if the current draft differs.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Draft, approve or read a meeting's minutes. They are approved when every member approved one text.

    Without --file or --approve, prints the current draft and who approved it.

    Examples:  cbm workgroup minutes 3fa9c2 --file minutes.md
               cbm workgroup minutes 3fa9c2 --approve
    """
    if file and approve:
        raise UsageError("--file drafts and --approve approves: give one of them")
    if digest and not approve:
        raise UsageError("--digest goes with --approve")
    text = read_document(file, "minutes file") if file else None
    with open_store() as store:
        if text is not None:
            m = wg.draft_minutes(store, meeting, text)
            note(f"minutes draft {len(m.minutes)} recorded; every member must approve it")
        elif approve:
            m = wg.approve_minutes(store, meeting, digest)
            note("minutes approved by every member" if m.minutes_state == "approved" else
                 "our approval recorded; awaiting " + ", ".join(m.awaiting_approval))
        else:
            _, m = wg.find_meeting(store, meeting)
            if m.current_minutes is None:
                raise NotFound(f"meeting {short_id(m.id)} has no minutes yet")
        actions = wg.load(store).actions
    emit("workgroup.meeting", meeting_doc(m, actions),
         lambda out: show_meeting(out, m, actions, full_minutes=text is None and not approve), json_flag=json_flag)


# -- report ------------------------------------------------------------------------------------------------


@app.command("report")
def report(
    start: Annotated[str, typer.Option("--from", help="First day of the period (UTC).")],
    end: Annotated[str, typer.Option("--to", help="Last day of the period, inclusive (UTC).")],
    output: Annotated[str | None, typer.Option("-o", "--output", help="Write the report here (Markdown; JSON "
                                                                      "with --json).")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """The working group's report for the commission over a period, drawn from the whole store.

    Meetings, adopted measures with their signatures, objections, actions done and overdue, and activity in
    the other measures (indicators exchanged, inquiries and response times, hotline tests).

    Example:  cbm workgroup report --from 2026-10-01 --to 2026-12-31 \\
                -o report.md
    """
    from cbm.cli.context import state
    from cbm.cli.output import to_jsonable
    from cbm.measures.workgroup import report as workgroup_report

    with open_store() as store:
        result = workgroup_report.build(store, start, end)
    as_json = json_flag or state.json
    if output is None:
        emit("workgroup.report", result, lambda out: out.print(Text(workgroup_report.markdown(result)), soft_wrap=True),
             json_flag=json_flag)
        return
    if as_json:
        import json

        content = json.dumps({"schema": "cbm.workgroup.report/1", **to_jsonable(result)}, indent=2,
                             ensure_ascii=False) + "\n"
    else:
        content = workgroup_report.markdown(result)
    from cbm.core.files import written_atomically

    with written_atomically(Path(output), text=True) as out:
        out.write(content)
    note(f"wrote the {start} to {end} report to {output}: "
         f"{len(result.meetings)} meeting(s), {len(result.adopted)} adopted measure(s)")
