"""``cbm inquiry``: formal inquiries about ICT incidents over the risk-reduction link."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from cbm.cli.context import open_store
from cbm.cli.output import cell, emit, note, print_body, warn
from cbm.cli.tables import Column, Styled, Table
from cbm.core import clock
from cbm.core.errors import NotFound, UsageError
from cbm.core.stdio import stdin
from cbm.measures.inquiry import service as lib
from cbm.measures.inquiry.export import document, markdown, summary
from cbm.measures.inquiry.model import Thread

app = typer.Typer(
    help="Formal inquiries about ICT incidents over the risk-reduction link: open, acknowledge, reply, "
         "clarify, close, with reference numbers and deadlines.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="JSON output.")]
Ref = Annotated[str, typer.Argument(metavar="REF", help="Reference number (US-RU/2026/0007), the recipient's "
                                                         "own reference, or a record hash prefix.")]
BodyText = Annotated[str | None, typer.Option("--body", help="The message text.")]
BodyFile = Annotated[str | None, typer.Option("--body-file", metavar="FILE",
                                              help="Read the message text from FILE ('-' for stdin).")]
Attach = Annotated[list[Path] | None, typer.Option("--attach", metavar="FILE",
                                                   help="Attach a file (repeatable); stored by hash, "
                                                        "travels with the message.")]
Indicator = Annotated[list[str] | None, typer.Option("--indicator", metavar="ID",
                                                     help="Link a STIX indicator held in the store "
                                                          "(repeatable).")]


def _text(body: str | None, body_file: str | None, *, required: bool = True) -> str:
    if body is not None and body_file is not None:
        raise UsageError("give --body or --body-file, not both")
    if body_file is not None:
        try:
            data = stdin().read() if body_file == "-" else Path(body_file).read_bytes()
        except OSError as e:
            raise NotFound(f"cannot read {body_file}: {e.strerror}") from e
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise UsageError(f"{body_file} is not UTF-8 text", hint="attach binary files with --attach") from e
    if body is None:
        if required:
            raise UsageError("a message text is required", hint="--body TEXT or --body-file FILE")
        return ""
    return body


def _done(schema: str, thread: Thread, verb: str, json_flag: bool) -> None:
    data = summary(thread)

    def human(out: Console) -> None:
        line = f"{thread.number} {verb}; now {thread.state}"
        if thread.awaiting and thread.state not in ("closed", "withdrawn"):
            line += f", waiting for {thread.awaiting}"
        countdown = thread.countdown()
        if countdown:
            line += f" ({countdown}, {thread.due})"
        out.print(cell(line))

    emit(f"inquiry.{schema}", data, human, json_flag=json_flag)


@app.command("open")
def open_(
    to: Annotated[str, typer.Option("--to", help="The party asked (one peer code).")],
    subject: Annotated[str, typer.Option("--subject", help="One line: what the inquiry is about.")],
    kind: Annotated[str, typer.Option("--type", help="request_for_information, request_for_assistance, "
                                                     "notification or consultation_request.")]
    = "request_for_information",
    precedence: Annotated[str, typer.Option("--precedence", help="FLASH, IMMEDIATE, PRIORITY or ROUTINE: "
                                                                 "sets the default deadlines.")] = "ROUTINE",
    body: BodyText = None,
    body_file: BodyFile = None,
    sector: Annotated[str | None, typer.Option("--sector", help="Affected sector, e.g. energy.")] = None,
    indicator: Indicator = None,
    attach: Attach = None,
    tlp: Annotated[str, typer.Option("--tlp", help="TLP 2.0 label for the whole thread.")] = "AMBER",
    reply_by: Annotated[str | None, typer.Option("--reply-by", metavar="TIME",
                                                 help="Answer wanted by (UTC, e.g. 2026-12-01T12:00Z); "
                                                      "default: the precedence's reply window after delivery.")]
    = None,
    draft: Annotated[bool, typer.Option("--draft", help="Keep it to ourselves until `cbm inquiry send`.")]
    = False,
    json_flag: JsonFlag = False,
) -> None:
    """Open an inquiry: a signed, numbered message to one peer, carried by the next bundle.

    Example:  cbm inquiry open --to RU --precedence IMMEDIATE \\
                --subject "SCADA scans" --body-file incident.md
    """
    text = _text(body, body_file)
    request = lib.OpenRequest(to=to, type=kind, precedence=precedence, subject=subject, text=text,
                              sector=sector, indicators=indicator or [], attachments=attach or [], tlp=tlp,
                              reply_by=reply_by, draft=draft)
    with open_store() as store:
        thread = lib.open_inquiry(store, request)
    if not draft:
        note(f"{thread.number} is signed; export a bundle for {thread.recipient} to send it")
    _done("open", thread, "drafted" if draft else "opened", json_flag)


@app.command()
def send(ref: Ref, json_flag: JsonFlag = False) -> None:
    """Release a draft to its recipient, under the number it already has.

    Example:  cbm inquiry send US-RU/2026/0007
    """
    with open_store() as store:
        thread = lib.send(store, ref)
    note(f"{thread.number} is signed; export a bundle for {thread.recipient} to send it")
    _done("send", thread, "released", json_flag)


def _due_cell(thread: Thread) -> Styled:
    """The countdown: red when overdue, yellow in the last hour."""
    countdown = thread.countdown()
    if countdown is None or thread.due is None:
        return Styled("")
    left = (clock.parse_time(thread.due) - clock.now()).total_seconds()
    return Styled(countdown, "bold red" if left < 0 else "yellow" if left < 3600 else None)


@app.command("list")
def list_(
    state: Annotated[str | None, typer.Option("--state", help="Only this state (draft, sent, delivered, "
                                                              "acknowledged, clarification, answered, closed, "
                                                              "withdrawn).")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only those past their deadline.")] = False,
    to: Annotated[str | None, typer.Option("--to", metavar="PARTY", help="Only inquiries sent to PARTY.")] = None,
    sender: Annotated[str | None, typer.Option("--from", metavar="PARTY", help="Only inquiries from PARTY.")]
    = None,
    all_: Annotated[bool, typer.Option("--all", help="Include closed and withdrawn inquiries.")] = False,
    json_flag: JsonFlag = False,
    wide: Annotated[bool, typer.Option("--wide", help="Show every subject whole.")] = False,
) -> None:
    """List inquiries with their state, who must act, and the time left (overdue ones first, in red).

    Example:  cbm inquiry list --overdue
    """
    with open_store() as store:
        rows = lib.list_threads(store, state=state, overdue=overdue, to=to, sender=sender, include_closed=all_)
        party = store.party
    now = clock.now()

    def human(out: Console) -> None:
        if not rows:
            filtered = state is not None or overdue or to is not None or sender is not None
            found = "no inquiries match" if filtered else "no inquiries" if all_ else "no inquiries open"
            out.print(Text(found + ("" if all_ else " (use --all to include closed ones)")))
            return
        table = Table([Column("ref"), Column("prec"), Column("state"), Column("waiting"), Column("due"),
                       Column("subject", cut=True, min_width=16)])
        for t in rows:
            waiting = t.awaiting or ("transport" if t.state == "sent" else "")
            if t.awaiting == party:
                waiting = f"{party} (us)"
            state_text = t.state + (f" ({t.outcome})" if t.outcome else "")
            table.add_row(t.number, t.precedence, state_text, Styled(waiting, "bold" if t.awaiting == party else None),
                          _due_cell(t), t.subject)
        out.file.flush()
        table.write(wide=wide)

    emit("inquiry.list", {"now": clock.iso(now), "party": party, "inquiries": [summary(t, now) for t in rows]},
         human, json_flag=json_flag)


@app.command()
def show(
    ref: Ref,
    save_attachments: Annotated[Path | None, typer.Option("--save-attachments", metavar="DIR",
                                                          help="Write the thread's attachments into DIR.")]
    = None,
    json_flag: JsonFlag = False,
) -> None:
    """Show the whole thread: every message, who signed it (key fingerprint), delivery and deadlines.

    Example:  cbm inquiry show US-RU/2026/0007 \\
                --save-attachments ./inquiry-files
    """
    with open_store() as store:
        thread = lib.resolve(store, ref)
        doc = document(store, thread)
        saved = lib.save_attachments(store, thread, save_attachments) if save_attachments else []
    for digest, path in saved:
        if path is None:
            warn(f"attachment {digest[:12]} has not arrived in this store")
        else:
            note(f"saved {path}")
    if saved:
        doc["saved"] = [{"sha256": d, "path": str(p) if p else None} for d, p in saved]
    for anomaly in thread.anomalies:
        warn(anomaly)

    def human(out: Console) -> None:
        out.print(cell(f"{doc['number']}  {doc['subject']}", "bold"))
        facts = [("from", doc["sender"]), ("to", doc["recipient"]), ("their ref", doc["their_ref"]),
                 ("type", doc["type"]), ("precedence", doc["precedence"]), ("sector", doc["sector"]),
                 ("tlp", doc["tlp"]), ("state", doc["state"] + (f" ({doc['outcome']})" if doc["outcome"] else "")),
                 ("waiting on", doc["awaiting"]), ("opened", doc["opened"]), ("delivered", doc["delivered"]),
                 ("ack by", doc["ack_due"]), ("reply by", doc["reply_due"] or doc["reply_by"]),
                 ("due", f"{doc['due']} ({doc['countdown']})" if doc["countdown"] else None),
                 ("you may", ", ".join(doc["allowed"]) or None)]
        for label, value in facts:
            if value:
                style = "bold red" if label == "due" and doc["overdue"] else None
                out.print(Text(f"{label:<11} ") + cell(value, style))
        for m in doc["messages"]:
            out.print()
            title = "draft" if m["draft"] else m["kind"].split(".", 1)[1]
            signature = "signature ok" if m["signature"] == "ok" else f"SIGNATURE FAILS: {m['signature']}"
            out.print(Text(f"── {title} by {m['author']} at {m['created']}", style="bold"))
            out.print(Text(f"   signed by {m['fingerprint']}  {signature}",
                           style="dim" if m["signature"] == "ok" else "bold red"))
            out.print(Text(f"   record {m['hash']}", style="dim"))
            if m["delivered"]:
                out.print(Text(f"   receipt from the other party: {m['delivered']}", style="dim"))
            for key in ("outcome", "reason", "note", "own_ref", "reply_by"):
                if m.get(key):
                    out.print(Text(f"   {key.replace('_', ' ')}: ") + cell(m[key]))
            if m.get("text"):
                print_body(out, str(m["text"]).rstrip("\n"))
            for item in m.get("indicators") or []:
                out.print(Text("   indicator ") + cell(item))
            for item in m.get("attachments") or []:
                if isinstance(item, dict):
                    out.print(Text("   attachment ") + cell(f"{item.get('name')} ({item.get('size')} bytes, "
                                                             f"sha256 {str(item.get('sha256'))[:16]}…)"))

    emit("inquiry.show", doc, human, json_flag=json_flag)


@app.command()
def ack(
    ref: Ref,
    note_text: Annotated[str | None, typer.Option("--note", help="e.g. 'routed to competent authority'.")]
    = None,
    own_ref: Annotated[str | None, typer.Option("--own-ref", "--their-ref", metavar="REF",
                                                help="Our own reference for this inquiry (recorded in the "
                                                     "ack; the sender sees it as their ref).")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Acknowledge an inquiry we received (the formal ack; delivery itself is proven by the bundle receipt).

    Example:  cbm inquiry ack US-RU/2026/0007 \\
                --note "routed to competent authority" \\
                --own-ref RU-US/2026/0031
    """
    with open_store() as store:
        thread = lib.acknowledge(store, ref, note=note_text, own_ref=own_ref)
    _done("ack", thread, "acknowledged", json_flag)


@app.command()
def reply(
    ref: Ref,
    body: BodyText = None,
    body_file: BodyFile = None,
    indicator: Indicator = None,
    attach: Attach = None,
    tlp: Annotated[str | None, typer.Option("--tlp", help="TLP for this reply (default: the inquiry's).")]
    = None,
    json_flag: JsonFlag = False,
) -> None:
    """Answer an inquiry we received. A further reply supplements the first.

    Example:  cbm inquiry reply US-RU/2026/0007 --body-file answer.md
    """
    text = _text(body, body_file)
    with open_store() as store:
        thread = lib.reply(store, ref, text=text, indicators=indicator or [], attachments=attach or [], tlp=tlp)
    _done("reply", thread, "replied", json_flag)


@app.command()
def clarify(
    ref: Ref,
    body: BodyText = None,
    body_file: BodyFile = None,
    attach: Attach = None,
    reply_by: Annotated[str | None, typer.Option("--reply-by", metavar="TIME",
                                                 help="When the other side should answer (UTC).")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Ask for clarification, or give it (either side, while the inquiry is open).

    Example:  cbm inquiry clarify US-RU/2026/0007 \\
                --body "Please give the source ports and exact times."
    """
    text = _text(body, body_file)
    with open_store() as store:
        thread = lib.clarify(store, ref, text=text, attachments=attach or [], reply_by=reply_by)
    _done("clarify", thread, "clarification sent", json_flag)


@app.command()
def close(
    ref: Ref,
    outcome: Annotated[str, typer.Option("--outcome", help="satisfied, unsatisfied or escalated.")],
    note_text: Annotated[str | None, typer.Option("--note", help="A closing remark.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Close our inquiry with an outcome.

    Example:  cbm inquiry close US-RU/2026/0007 --outcome satisfied
    """
    with open_store() as store:
        thread = lib.close(store, ref, outcome=outcome, note=note_text)
    _done("close", thread, "closed", json_flag)


@app.command()
def withdraw(
    ref: Ref,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the signed record).")],
    json_flag: JsonFlag = False,
) -> None:
    """Withdraw our inquiry (or discard a draft). Its number is never reused.

    Example:  cbm inquiry withdraw US-RU/2026/0007 \\
                --reason "resolved domestically"
    """
    with open_store() as store:
        thread = lib.withdraw(store, ref, reason=reason)
    _done("withdraw", thread, "withdrawn", json_flag)


@app.command()
def export(
    ref: Ref,
    fmt: Annotated[str, typer.Option("--format", help="json (with every signed envelope) or markdown.")]
    = "markdown",
    output: Annotated[str, typer.Option("-o", "--output", metavar="FILE", help="File to write ('-': stdout).")]
    = "-",
) -> None:
    """Write a record of the exchange for the file (Markdown, or JSON with every signed envelope).

    The JSON form lets anyone holding both parties' cards re-verify the thread without this store.

    Example:  cbm inquiry export US-RU/2026/0007 --format markdown \\
                -o inquiry-0007.md
    """
    if fmt not in ("json", "markdown"):
        raise UsageError(f"unknown format {fmt!r}", hint="json or markdown")
    with open_store() as store:
        thread = lib.resolve(store, ref)
        if fmt == "json":
            data = json.dumps({"schema": "cbm.inquiry.export/1", **document(store, thread, envelopes=True)},
                              indent=2, ensure_ascii=False) + "\n"
        else:
            data = markdown(store, thread)
    if output == "-":
        sys.stdout.write(data)
        return
    from cbm.core.files import written_atomically

    with written_atomically(Path(output), text=True) as out:
        out.write(data)
    note(f"wrote {thread.number} to {output}")
