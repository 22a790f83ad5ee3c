"""``cbm workgroup``: the bilateral working group's meetings, minutes, action items and joint proposals."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cbm.cli.context import open_store
from cbm.cli.output import cell, emit, literal, note
from cbm.core.errors import NotFound, UsageError
from cbm.measures.workgroup.model import Action, Meeting, Proposal, Revision
from cbm.measures.workgroup import service as wg

app = typer.Typer(help="The working group: meetings and minutes, action items, proposals adopted by all members, "
                       "and the report for the commission.", no_args_is_help=True)
meeting_app = typer.Typer(help="Convene meetings, answer the roll call, show agenda and minutes.",
                          no_args_is_help=True)
action_app = typer.Typer(help="Action items: owner party, due date, done or overdue.", no_args_is_help=True)
proposal_app = typer.Typer(help="Proposals: adopted only when every member signs the same text digest.",
                           no_args_is_help=True)
app.add_typer(meeting_app, name="meeting")
app.add_typer(action_app, name="action")
app.add_typer(proposal_app, name="proposal")

JsonFlag = Annotated[bool, typer.Option("--json", help="JSON output.")]
TlpOption = Annotated[str | None, typer.Option(
    "--tlp", help="TLP label (default: tlp in the workgroup section of config.toml, else GREEN).")]


def _read(path: str, what: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise NotFound(f"cannot read the {what} {path}: {e.strerror}") from e


def _short(record_id: str | None) -> str:
    return record_id[:12] if record_id else ""


def _indent(out: Console, text: str) -> None:
    for line in text.splitlines() or [""]:
        out.print(Text("    " + literal(line)), soft_wrap=True)


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


# -- meetings ----------------------------------------------------------------------------------------------


def _action_row(table: Table, a: Action) -> None:
    status = "overdue" if a.overdue else a.status
    style = "red" if a.overdue else "green" if a.status == "done" else None
    table.add_row(cell(_short(a.id)), cell(a.title), cell(a.owner), cell(a.due), cell(status, style))


def _action_table() -> Table:
    table = Table(box=None, pad_edge=False)
    for column in ("id", "title", "owner", "due", "status"):
        table.add_column(column, no_wrap=column != "title")
    return table


def _meeting_doc(m: Meeting, actions: dict[str, Action]) -> dict[str, Any]:
    return {"meeting": m, "awaiting_approval": m.awaiting_approval,
            "carried_actions": [actions[a] for a in m.carried if a in actions],
            "meeting_actions": [actions[a] for a in m.actions if a in actions]}


def _show_meeting(out: Console, m: Meeting, actions: dict[str, Action], *, full_minutes: bool = False) -> None:
    out.print(Text(f"meeting {_short(m.id)}  {m.at}  ", style="bold") + cell(m.place) +
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
    _indent(out, m.agenda)
    carried = [actions[a] for a in m.carried if a in actions]
    if carried:
        out.print(Text("carried forward: action items open when the meeting was convened", style="bold"))
        table = _action_table()
        for a in carried:
            _action_row(table, a)
        out.print(table)
    own = [actions[a] for a in m.actions if a in actions]
    if own:
        out.print(Text("action items from this meeting", style="bold"))
        table = _action_table()
        for a in own:
            _action_row(table, a)
        out.print(table)
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
        _indent(out, current.text)


@meeting_app.command("new")
def meeting_new(
    at: Annotated[str, typer.Option("--at", help="When, UTC ISO 8601 (2026-12-10T09:00Z).")],
    place: Annotated[str, typer.Option("--place", help="Where (or how: 'video link').")],
    agenda_file: Annotated[str, typer.Option("--agenda-file", help="The agenda text ('-' for stdin).")],
    title: Annotated[str, typer.Option("--title", help="A short title.")] = "",
    tlp: TlpOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Convene a meeting of every member. Open action items are carried forward onto its agenda.

    Example:  cbm workgroup meeting new --at 2026-12-10T09:00Z --place "Geneva" --agenda-file agenda.md
    """
    agenda = _read(agenda_file, "agenda file")
    with open_store() as store:
        m = wg.new_meeting(store, at=at, place=place, agenda=agenda, title=title, tlp=tlp)
        actions = wg.load(store).actions
    note(f"meeting {_short(m.id)} convened for {m.at}; {len(m.carried)} open action item(s) carried forward")
    emit("workgroup.meeting", _meeting_doc(m, actions), lambda out: _show_meeting(out, m, actions),
         json_flag=json_flag)


@meeting_app.command("show")
def meeting_show(
    meeting: Annotated[str, typer.Argument(help="Meeting id (6+ hex digits).")],
    json_flag: JsonFlag = False,
) -> None:
    """Show a meeting: agenda, roll call per party, carried-forward actions, minutes and their approvals.

    Example:  cbm workgroup meeting show 3fa9c2
    """
    with open_store() as store:
        state, m = wg.find_meeting(store, meeting)
    emit("workgroup.meeting", _meeting_doc(m, state.actions), lambda out: _show_meeting(out, m, state.actions),
         json_flag=json_flag)


@meeting_app.command("list")
def meeting_list(json_flag: JsonFlag = False) -> None:
    """List meetings, oldest first, with their minutes status.

    Example:  cbm workgroup meeting list
    """
    with open_store() as store:
        meetings = sorted(wg.load(store).meetings.values(), key=lambda m: (m.at, m.id))

    def human(out: Console) -> None:
        if not meetings:
            out.print(Text("no meetings yet"))
            return
        table = Table(box=None, pad_edge=False)
        for column in ("id", "at", "place", "convener", "status"):
            table.add_column(column)
        for m in meetings:
            table.add_row(cell(_short(m.id)), cell(m.at), cell(m.place), cell(m.convener), cell(m.status))
        out.print(table)

    emit("workgroup.meetings", {"meetings": meetings}, human, json_flag=json_flag)


@meeting_app.command("attend")
def meeting_attend(
    meeting: Annotated[str, typer.Argument(help="Meeting id.")],
    name: Annotated[list[str] | None, typer.Option("--name", help="Who attended for us (repeatable).")] = None,
    absent: Annotated[bool, typer.Option("--absent", help="Our party did not attend.")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Answer the roll call for our own party; a later answer corrects an earlier one.

    Example:  cbm workgroup meeting attend 3fa9c2 --name "J. Smith" --name "A. Jones"
    """
    if absent and name:
        raise UsageError("--absent and --name exclude each other")
    with open_store() as store:
        m = wg.attend(store, meeting, name or [], present=not absent)
        actions = wg.load(store).actions
        me = store.party
    note(f"roll call for {me} recorded")
    emit("workgroup.meeting", _meeting_doc(m, actions), lambda out: _show_meeting(out, m, actions),
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
    text = _read(file, "minutes file") if file else None
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
                raise NotFound(f"meeting {_short(m.id)} has no minutes yet")
        actions = wg.load(store).actions
    emit("workgroup.meeting", _meeting_doc(m, actions),
         lambda out: _show_meeting(out, m, actions, full_minutes=text is None and not approve), json_flag=json_flag)


# -- action items ------------------------------------------------------------------------------------------


@action_app.command("add")
def action_add(
    title: Annotated[str, typer.Argument(help="What is to be done.")],
    owner: Annotated[str, typer.Option("--owner", help="The member party that owns it.")],
    due: Annotated[str, typer.Option("--due", help="Due date (2027-01-15: by the end of that day, UTC).")],
    meeting: Annotated[str | None, typer.Option("--meeting", help="The meeting that decided it.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Record an action item for a member party.

    Example:  cbm workgroup action add "Share sinkhole data format" --owner RU --due 2027-01-15
    """
    with open_store() as store:
        a = wg.add_action(store, title, owner=owner, due=due, meeting=meeting)
    note(f"action {_short(a.id)} for {a.owner}, due {a.due}")
    emit("workgroup.action", {"action": a}, lambda out: out.print(Text(a.id)), json_flag=json_flag)


@action_app.command("list")
def action_list(
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open items past their due date.")] = False,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this party's items.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open or done.")] = None,
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
        table = _action_table()
        for a in items:
            _action_row(table, a)
        out.print(table)

    emit("workgroup.actions", {"actions": items}, human, json_flag=json_flag)


@action_app.command("done")
def action_done(
    action: Annotated[str, typer.Argument(help="Action id.")],
    note_text: Annotated[str | None, typer.Option("--note", help="What was done.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Mark one of our own action items done (only the owner party can).

    Example:  cbm workgroup action done 9c1b2a --note "format shared as STIX 2.1 profile"
    """
    with open_store() as store:
        a = wg.complete_action(store, action, note_text)
    note(f"action {_short(a.id)} done")
    emit("workgroup.action", {"action": a}, lambda out: out.print(Text(f"{a.id} done")), json_flag=json_flag)


# -- proposals ---------------------------------------------------------------------------------------------


def _proposal_doc(p: Proposal, rev: Revision, me: str) -> dict[str, Any]:
    return {
        "id": p.id, "revision_id": rev.record, "revision": rev.number, "state": rev.state,
        "proposal_state": p.state, "title": rev.title, "digest": rev.digest, "text": rev.text,
        "proposer": p.proposer, "members": p.members, "created": p.created, "tlp": p.tlp,
        "signatures": rev.signatures, "awaiting": p.awaiting if rev is p.current else [],
        "current_revision_id": p.current.record, "adopted_at": p.adopted_at, "closing": p.closing,
        "objections": p.objections, "conflict": p.conflict, "allowed": wg.proposal_options(p, me),
        "revisions": [{"id": r.record, "revision": r.number, "digest": r.digest, "state": r.state,
                       "created": r.created} for r in p.revisions],
    }


def _show_proposal(out: Console, p: Proposal, rev: Revision, me: str, *, text: bool = True) -> None:
    out.print(Text(f"proposal {_short(p.id)} revision {rev.number} ({_short(rev.record)})  ", style="bold") +
              cell(rev.title))
    out.print(Text(f"state    {rev.state}" + (f" (adopted {p.adopted_at})" if p.adopted_at and
                                              rev is p.current else "")))
    if rev is not p.current:
        out.print(Text(f"         current is revision {p.current.number} ({_short(p.current.record)}), "
                       f"{p.state}", style="yellow"))
    out.print(Text(f"proposer {p.proposer}; members {', '.join(p.members)}"))
    out.print(Text(f"sha256   {rev.digest}"))
    for s in rev.signatures:
        out.print(Text(f"signed   {s.party}  {s.time}  key {s.fingerprint}", style="green"), soft_wrap=True)
    if rev is p.current and p.awaiting and p.state == "proposed":
        out.print(Text("awaiting " + ", ".join(p.awaiting)))
    for o in p.objections:
        lifted = " (lifted: signed since)" if o.lifted else ""
        out.print(Text(f"objected {o.party}  {o.time}  to revision {o.revision_number}{lifted}: ", style="red") +
                  cell(o.reason))
    if p.closing is not None:
        out.print(Text(f"{p.closing.kind} by {p.closing.party} at {p.closing.time}: ", style="red") +
                  cell(p.closing.reason))
    if p.conflict:
        out.print(Text("note     ") + cell(p.conflict, "yellow"))
    options = wg.proposal_options(p, me)
    if options:
        on = f"(on revision {p.current.number}) " if rev is not p.current else ""
        out.print(Text("we may   " + on + ", ".join(options), style="dim"))
    if text:
        out.print(Text("text", style="bold"))
        _indent(out, rev.text)


def _emit_proposal(found: wg.ProposalRef, me: str, json_flag: bool, *, text: bool = True) -> None:
    p, rev = found.proposal, found.revision
    emit("workgroup.proposal", _proposal_doc(p, rev, me), lambda out: _show_proposal(out, p, rev, me, text=text),
         json_flag=json_flag)


@proposal_app.command("new")
def proposal_new(
    title: Annotated[str, typer.Option("--title", help="The proposal's title.")],
    text_file: Annotated[str, typer.Option("--text-file", help="Its text ('-' for stdin); members sign its "
                                                               "sha256.")],
    draft: Annotated[bool, typer.Option("--draft", help="Circulate for discussion; `submit` opens it for "
                                                        "signature.")] = False,
    tlp: TlpOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Table a proposal for every current member to sign (the proposer signs too, with `proposal sign`).

    Example:  cbm workgroup proposal new --title "Joint notification template" --text-file proposal.md
    """
    text = _read(text_file, "text file")
    with open_store() as store:
        found = wg.new_proposal(store, title=title, text=text, draft=draft, tlp=tlp)
        me = store.party
    note(f"proposal {_short(found.proposal.id)} tabled ({found.revision.state}); sha256 {found.revision.digest}")
    _emit_proposal(found, me, json_flag, text=False)


@proposal_app.command("revise")
def proposal_revise(
    proposal: Annotated[str, typer.Argument(help="Proposal or revision id.")],
    text_file: Annotated[str, typer.Option("--text-file", help="The new text ('-' for stdin).")],
    title: Annotated[str | None, typer.Option("--title", help="A new title.")] = None,
    submit: Annotated[bool, typer.Option("--submit", help="Also open a draft for signature.")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Replace the text (proposer only): a new revision that supersedes the old and needs new signatures.

    Example:  cbm workgroup proposal revise 3fa9c2 --text-file proposal-v2.md
    """
    text = _read(text_file, "text file")
    with open_store() as store:
        found = wg.revise_proposal(store, proposal, text=text, title=title, submit=submit)
        me = store.party
    note(f"revision {found.revision.number} ({_short(found.revision.record)}) supersedes the last; earlier "
         "signatures no longer count")
    _emit_proposal(found, me, json_flag, text=False)


@proposal_app.command("submit")
def proposal_submit(
    proposal: Annotated[str, typer.Argument(help="Proposal or revision id.")],
    json_flag: JsonFlag = False,
) -> None:
    """Open a draft proposal for signature (proposer only).

    Example:  cbm workgroup proposal submit 3fa9c2
    """
    with open_store() as store:
        found = wg.submit_proposal(store, proposal)
        me = store.party
    _emit_proposal(found, me, json_flag, text=False)


@proposal_app.command("show")
def proposal_show(
    proposal: Annotated[str, typer.Argument(help="Proposal or revision id.")],
    json_flag: JsonFlag = False,
) -> None:
    """Show a revision: text, digest, signatures (party, key, time), objections, state.

    Example:  cbm workgroup proposal show 3fa9c2
    """
    with open_store() as store:
        found = wg.find_proposal(store, proposal)
        me = store.party
    _emit_proposal(found, me, json_flag)


@proposal_app.command("sign")
def proposal_sign(
    proposal: Annotated[str, typer.Argument(help="Revision id: the exact text you endorse.")],
    digest: Annotated[str | None, typer.Option("--digest", help="The sha256 of the text you read; refused "
                                                                "if it differs.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Endorse the exact text digest of a revision. Adopted once every member has signed the same digest.

    Example:  cbm workgroup proposal sign 3fa9c2
    """
    with open_store() as store:
        found = wg.sign_proposal(store, proposal, digest)
        me = store.party
    p = found.proposal
    note(f"adopted: every member signed sha256 {p.current.digest}" if p.state == "adopted" else
         "our signature recorded; awaiting " + ", ".join(p.awaiting))
    _emit_proposal(found, me, json_flag, text=False)


@proposal_app.command("object")
def proposal_object(
    proposal: Annotated[str, typer.Argument(help="Revision id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded and reported.")],
    json_flag: JsonFlag = False,
) -> None:
    """Record an objection to a revision. The proposal stays open for a revision that meets it.

    Example:  cbm workgroup proposal object 3fa9c2 --reason "section 2 needs a 24h deadline"
    """
    with open_store() as store:
        found = wg.object_proposal(store, proposal, reason)
        me = store.party
    _emit_proposal(found, me, json_flag, text=False)


@proposal_app.command("reject")
def proposal_reject(
    proposal: Annotated[str, typer.Argument(help="Revision id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded and reported.")],
    json_flag: JsonFlag = False,
) -> None:
    """Veto the current revision for good: the proposal is rejected (adoption needs every member).

    Example:  cbm workgroup proposal reject 3fa9c2 --reason "outside the group's mandate"
    """
    with open_store() as store:
        found = wg.reject_proposal(store, proposal, reason)
        me = store.party
    _emit_proposal(found, me, json_flag, text=False)


@proposal_app.command("withdraw")
def proposal_withdraw(
    proposal: Annotated[str, typer.Argument(help="Proposal or revision id.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Take our proposal off the table (proposer only; not once adopted).

    Example:  cbm workgroup proposal withdraw 3fa9c2 --reason "merged into the notification template"
    """
    with open_store() as store:
        found = wg.withdraw_proposal(store, proposal, reason)
        me = store.party
    _emit_proposal(found, me, json_flag, text=False)


@proposal_app.command("list")
def proposal_list(
    state: Annotated[str | None, typer.Option("--state", help="draft, proposed, adopted, rejected, withdrawn "
                                                              "or superseded.")] = None,
    all_revisions: Annotated[bool, typer.Option("--all", help="Every revision, not just the current.")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """List proposals by their current revision id (the id to sign), state and who is still to sign.

    Example:  cbm workgroup proposal list --state proposed
    """
    with open_store() as store:
        rows = wg.list_proposals(store, state=state, all_revisions=all_revisions)
        me = store.party

    def human(out: Console) -> None:
        if not rows:
            out.print(Text("no proposals match"))
            return
        table = Table(box=None, pad_edge=False)
        for column in ("id", "rev", "title", "by", "state", "signed", "awaiting"):
            table.add_column(column, no_wrap=column != "title")
        for row in rows:
            p, rev = row.proposal, row.revision
            awaiting = ", ".join(p.awaiting) if rev is p.current and p.state == "proposed" else ""
            table.add_row(cell(_short(rev.record)), cell(rev.number), cell(rev.title), cell(p.proposer),
                          cell(rev.state), cell(", ".join(s.party for s in rev.signatures)), cell(awaiting))
        out.print(table)

    emit("workgroup.proposals", {"proposals": [_proposal_doc(r.proposal, r.revision, me) for r in rows]},
         human, json_flag=json_flag)


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

    Example:  cbm workgroup report --from 2026-10-01 --to 2026-12-31 -o report.md
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
    try:
        Path(output).write_text(content, "utf-8")
    except OSError as e:
        raise UsageError(f"cannot write {output}: {e.strerror}") from e
    note(f"wrote the {start} to {end} report to {output}: "
         f"{len(result.meetings)} meeting(s), {len(result.adopted)} adopted measure(s)")
