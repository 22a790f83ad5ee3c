"""``cbm hotline``: end-to-end encrypted, signed crisis messages with receipts, translations and link tests."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from cbm.cli.context import open_store
from cbm.cli.output import cell, emit, note, one_line, print_body, print_folded, warn
from cbm.cli.tables import Column, Styled, Table
from cbm.core import clock
from cbm.core.errors import MalformedInput, NotFound, UsageError, VerificationError
from cbm.core.stdio import stdin, stdin_is_terminal
from cbm.measures.hotline import calls as calls_
from cbm.measures.hotline import service as hotline
from cbm.measures.hotline import transcript as transcripts
from cbm.measures.hotline.model import Call, LinkTest, Message

app = typer.Typer(
    help="The crisis hotline: end-to-end encrypted, signed messages with delivered/read receipts, "
         "unofficial translations, precedence deadlines and link tests.",
    no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="JSON output.")]
Body = Annotated[str | None, typer.Option("--body", help="The text (else --body-file, else stdin).")]
BodyFile = Annotated[str | None, typer.Option("--body-file", metavar="FILE",
                                              help="Read the text from FILE (UTF-8; '-' for stdin).")]


def _text(body: str | None, body_file: str | None) -> str:
    if body is not None and body_file is not None:
        raise UsageError("give the text once: --body or --body-file, not both")
    if body is not None:
        return body
    if body_file is None and stdin_is_terminal():
        raise UsageError("no message text", hint="give --body TEXT, --body-file FILE, or pipe it on stdin")
    try:
        data = stdin().read() if body_file in (None, "-") else Path(str(body_file)).read_bytes()
    except OSError as e:
        raise NotFound(f"cannot read {body_file}: {e.strerror}") from e
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedInput(f"the text in {body_file or 'stdin'} is not UTF-8") from e


def _age(created: str, now: datetime | None = None) -> str:
    seconds = int(((now or clock.now()) - clock.parse_time(created)).total_seconds())
    return _span(seconds)


def _span(seconds: int) -> str:
    if seconds < 0:
        return "0s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            rest = seconds % size
            sub = {"d": 3600, "h": 60, "m": 1}[unit]
            small = {"d": "h", "h": "m", "m": "s"}[unit]
            return f"{seconds // size}{unit}" + (f"{rest // sub}{small}" if rest // sub else "")
    return f"{seconds}s"


def _say(out: Console, text: Text) -> None:
    """One line (or a peer's text) as is: never re-wrapped or cropped to the terminal width."""
    out.print(text, soft_wrap=True)


def _body(out: Console, text: str) -> None:
    """A message body, a translation or a call summary (a peer's text): literal, folded to the terminal at spaces
    like the prose around it (:func:`~cbm.cli.output.print_body`)."""
    print_body(out, text)


def _msg_doc(m: Message) -> dict[str, Any]:
    return {**dataclasses.asdict(m), "state": m.state}


def _state_cell(m: Message) -> Text:
    if m.overdue:
        return cell(f"{m.state}, OVERDUE", "red")
    return cell(m.state, "yellow" if m.state in ("unread", "sent") else "green")


@app.command()
def send(
    to: Annotated[str, typer.Option("--to", help="The peer party (one).")],
    body: Body = None,
    body_file: BodyFile = None,
    precedence: Annotated[str, typer.Option("--precedence", "-p",
                                            help="FLASH, IMMEDIATE, PRIORITY or ROUTINE.")] = "ROUTINE",
    lang: Annotated[str, typer.Option("--lang", help="Language of the text (BCP 47: en, ru...).")] = "en",
    json_flag: JsonFlag = False,
) -> None:
    """Encrypt a message to one peer (and to us), sign it, and queue it for the next bundle.

    The text comes from --body, --body-file, or stdin. It is sealed end to
    end: bundles and stores hold only ciphertext. The peer should read it
    (read receipt) within the deadline of its precedence.

    Example:  cbm hotline send --to RU --precedence FLASH --lang en \\
                --body "Call me on the secure line now."
    """
    text = _text(body, body_file)
    with open_store() as store:
        sent = hotline.send(store, to, text, precedence=precedence, lang=lang)
    note(f"queued for {sent.to}: it travels with the next `cbm bundle export --to {sent.to}`")
    emit("hotline.send", sent, lambda out: _say(out, Text(
        f"{sent.id[:12]}  {sent.to} #{sent.dseq}  {sent.precedence}  acknowledge by {sent.deadline}")),
        json_flag=json_flag)


@app.command()
def inbox(
    unread: Annotated[bool, typer.Option("--unread", help="Only unread messages.")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Messages addressed to us: unread first (by precedence, oldest first), with precedence and age.

    Listing needs no passphrase: nothing is decrypted. Read one with
    `cbm hotline read ID`.

    Example:  cbm hotline inbox --unread
    """
    with open_store() as store:
        messages = hotline.inbox(store, unread_only=unread)
    now = clock.now()

    def human(out: Console) -> None:
        if not messages:
            _say(out, Text("no hotline messages" + (" unread" if unread else "")))
            return
        table = Table([Column("id"), Column("from"), Column("#", right=True), Column("precedence"), Column("age"),
                       Column("lang"), Column("state"), Column("translations", cut=True)])
        for m in messages:
            style = "bold red" if m.precedence == "FLASH" else "bold" if m.precedence == "IMMEDIATE" else None
            state_cell = _state_cell(m)
            table.add_row(m.id[:12], m.sender, m.dseq, Styled(m.precedence, style), _age(m.created, now), m.lang,
                          Styled(state_cell.plain, str(state_cell.style) or None),
                          ", ".join(t.lang for t in m.translations) or "-")
        out.file.flush()
        table.write()

    emit("hotline.inbox", {"now": clock.iso(now), "messages": [_msg_doc(m) for m in messages]}, human,
         json_flag=json_flag)


def _print_message(out: Console, m: Message) -> None:
    _say(out, Text(f"message {m.id}", style="bold"))
    _say(out, Text(f"{m.sender} → {m.recipient}  #{m.dseq}  {m.precedence}  language {one_line(m.lang)}"))
    print_folded(out, Text(f"written {m.created}  acknowledge by {m.deadline}  delivered {m.delivered or '-'}  "
                           f"read {m.read or '-'}"))
    _say(out, Text(""))
    _body(out, m.text if m.text is not None else f"(cannot be decrypted: {m.problem})")
    for t in m.translations:
        _say(out, Text(""))
        _say(out, Text(f"translation ({one_line(t.lang)}, unofficial, by {t.by}, {t.created}):", style="bold"))
        _body(out, t.text if t.text is not None else f"(cannot be decrypted: {t.problem})")


@app.command()
def read(
    message_id: Annotated[str, typer.Argument(metavar="ID", help="The message id (at least 6 hex digits).")],
    no_receipt: Annotated[bool, typer.Option("--no-receipt",
                                             help="Show it without writing a read receipt.")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Decrypt and show a message with its translations; queue a signed read receipt if it is for us.

    The text is printed literally (never interpreted as markup or terminal
    escapes). Reading it again writes no second receipt.

    Example:  cbm hotline read 3f2a9c1b0d4e
    """
    with open_store() as store:
        result = hotline.read(store, message_id, receipt=not no_receipt)
    m = result.message
    if result.receipt:
        note(f"read receipt {result.receipt[:12]} queued for {m.sender}")
    emit("hotline.read", {**_msg_doc(m), "receipt": result.receipt, "already_read": result.already_read},
         lambda out: _print_message(out, m), json_flag=json_flag)


@app.command()
def translate(
    message_id: Annotated[str, typer.Argument(metavar="ID", help="The message translated.")],
    lang: Annotated[str, typer.Option("--lang", help="Language of the translation (BCP 47).")],
    body: Body = None,
    body_file: BodyFile = None,
    json_flag: JsonFlag = False,
) -> None:
    """Add an unofficial translation of a message, encrypted to both parties and linked to the original.

    Example:  cbm hotline translate 3f2a9c1b0d4e --lang ru \\
                --body "Позвоните мне по защищённой линии."
    """
    text = _text(body, body_file)
    with open_store() as store:
        t = hotline.translate(store, message_id, text, lang=lang)
    note("translation queued; it is marked unofficial and travels with the next bundle")
    emit("hotline.translate", t, lambda out: _say(out, Text(f"{t.id[:12]}  translation ({t.lang}, unofficial)")),
         json_flag=json_flag)


def _call_doc(c: Call) -> dict[str, Any]:
    return {**dataclasses.asdict(c), "state": c.state}


def _print_call(out: Console, c: Call) -> None:
    confirmed = f"confirmed by {c.peer} {c.confirmed}" if c.confirmed else f"NOT confirmed by {c.peer}"
    print_folded(out, Text(f"[call] {c.by} ↔ {c.peer}  {c.start} to {c.end}  {c.id[:12]}  ", style="bold")
                 + cell(confirmed, "green" if c.confirmed else "yellow"))
    _say(out, Text("participants: ") + cell("; ".join(c.participants)))
    _body(out, c.summary if c.summary is not None else f"(cannot be decrypted: {c.problem})")


def _print_transcript(out: Console, ts: list[transcripts.Transcript], verify: bool) -> None:
    if not ts:
        _say(out, Text("no hotline conversations"))
    for t in ts:
        _say(out, Text(f"== hotline conversation with {t.peer}: {len(t.messages)} message(s), "
                       f"{len(t.calls)} call(s)", style="bold"))
        pending = list(t.calls)
        for m in t.messages:
            while pending and pending[0].start <= m.created:  # calls beside the messages, in time
                _say(out, Text(""))
                _print_call(out, pending.pop(0))
            _say(out, Text(""))
            _say(out, Text(f"[{m.sender} #{m.dseq}] {m.sender} → {m.recipient}  {m.precedence}  {m.created}  "
                           f"{m.state}  {m.id[:12]}", style="bold"))
            _body(out, m.text if m.text is not None else f"(cannot be decrypted: {m.problem})")
            for tr in m.translations:
                _say(out, Text(f"  translation ({one_line(tr.lang)}, unofficial, by {tr.by}):", style="dim"))
                _body(out, tr.text if tr.text is not None else f"(cannot be decrypted: {tr.problem})")
        for c in pending:
            _say(out, Text(""))
            _print_call(out, c)
        _say(out, Text(""))
        for a in t.anomalies:
            _say(out, Text(f"ANOMALY ({a.kind}): ", style="red") + cell(a.text))
        for f in t.faults:
            _say(out, Text(f"FAULT {f.author} record {f.seq}: ", style="red") + cell(f.problem))
        if verify:
            verdict = "verified" if t.ok else "DOES NOT VERIFY"
            _say(out, Text(f"{verdict}: {t.records_checked} records in both logs checked, "
                           f"{len(t.faults)} fault(s), {len(t.anomalies)} anomaly(ies)",
                           style="green" if t.ok else "bold red"))


@app.command()
def transcript(
    with_: Annotated[str | None, typer.Option("--with", metavar="PARTY", help="Only the conversation with PARTY.")]
    = None,
    verify: Annotated[bool, typer.Option("--verify", help="Check chains, signatures, encryption and sequence "
                                                          "numbers; exit 1 on any problem.")] = False,
    export: Annotated[str | None, typer.Option("--export", metavar="FILE",
                                               help="Write a signed, bilingual Markdown transcript of one "
                                                    "conversation to FILE (signature: FILE.sig).")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """The whole conversation, decrypted, both directions in one order both sides share.

    Gaps, replays and reordering in either direction are reported.
    --verify also re-checks every chain link and signature of both logs
    and exits 1 on any problem. --export writes FILE and FILE.sig (our
    signed record of its SHA-256; check it with `cbm hotline check-export`).

    Example:  cbm hotline transcript --with RU --verify --export transcript.md
    """
    with open_store() as store:
        if export is not None:
            done = transcripts.export(store, Path(export), with_)
            note(f"wrote {done.path} ({done.messages} messages) and its signature {done.signature}")
            if done.anomalies:
                warn(f"{done.anomalies} sequence anomaly(ies) are listed in the transcript")
            emit("hotline.export", done, lambda out: _say(out, Text(f"{done.path}  sha256 {done.sha256}")),
                 json_flag=json_flag)
            return
        ts = transcripts.transcript(store, with_, verify=verify)
    docs = [{"peer": t.peer, "messages": [_msg_doc(m) for m in t.messages],
             "calls": [_call_doc(c) for c in t.calls], "anomalies": t.anomalies,
             "faults": t.faults, "verified": t.verified, "records_checked": t.records_checked} for t in ts]
    emit("hotline.transcript", {"conversations": docs}, lambda out: _print_transcript(out, ts, verify),
         json_flag=json_flag)
    bad = [t for t in ts if not t.ok]
    if verify and bad:
        raise VerificationError(
            "; ".join(f"the conversation with {t.peer} does not verify ({len(t.faults)} fault(s), "
                      f"{len(t.anomalies)} anomaly(ies))" for t in bad))
    for t in ts:
        if t.anomalies and not verify:
            warn(f"{len(t.anomalies)} sequence anomaly(ies) in the conversation with {t.peer}")


@app.command()
def call(
    with_: Annotated[str, typer.Option("--with", metavar="PARTY", help="The peer on the other end of the call.")],
    start: Annotated[str, typer.Option("--start", metavar="TIME", help="When the call began (UTC, ISO 8601).")],
    end: Annotated[str, typer.Option("--end", metavar="TIME", help="When it ended (UTC, ISO 8601).")],
    participant: Annotated[list[str], typer.Option("--participant", metavar="NAME",
                                                   help="Who took part (repeat for each).")],
    summary: Annotated[str, typer.Option("--summary", metavar="FILE",
                                         help="The summary of the call (UTF-8; '-' for stdin).")],
    json_flag: JsonFlag = False,
) -> None:
    """Put a held voice call on the record: signed by us, its summary encrypted to both sides.

    The record travels with the next bundle; the other side confirms it
    with its own signature (`cbm hotline confirm ID`). It appears in the
    transcript beside the messages, confirmed or not.

    Example:  cbm hotline call --with RU --start 2026-11-23T07:00Z \\
                --end 2026-11-23T07:20Z --participant "US coordinator" \\
                --participant "RU deputy secretary" --summary call.md
    """
    text = _text(None, summary)
    with open_store() as store:
        c = calls_.record_call(store, with_, start=start, end=end, participants=participant, summary=text)
    note(f"call recorded; it travels with the next `cbm bundle export --to {c.peer}` for {c.peer} to confirm")
    emit("hotline.call", _call_doc(c), lambda out: _say(out, Text(f"{c.id[:12]}  call with {c.peer}  "
                                                                   f"{c.start} to {c.end}  {c.state}")),
         json_flag=json_flag)


@app.command()
def confirm(
    call_id: Annotated[str, typer.Argument(metavar="ID", help="The peer's call record (at least 6 hex digits).")],
    json_flag: JsonFlag = False,
) -> None:
    """Confirm, with our own signature, a call the peer recorded with us (read it first: `cbm hotline calls`).

    Example:  cbm hotline confirm 7be21f04c9aa
    """
    with open_store() as store:
        c = calls_.confirm_call(store, call_id)
    note(f"confirmation queued for {c.by}: it travels with the next bundle")
    emit("hotline.confirm", _call_doc(c), lambda out: _say(out, Text(f"{c.id[:12]}  call with {c.by}  confirmed")),
         json_flag=json_flag)


@app.command("calls")
def list_calls(
    with_: Annotated[str | None, typer.Option("--with", metavar="PARTY", help="Only calls with PARTY.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Every voice call on record, by start time: participants, summary, confirmed or not.

    Example:  cbm hotline calls --with RU
    """
    with open_store() as store:
        found = calls_.calls(store, with_)

    def human(out: Console) -> None:
        if not found:
            _say(out, Text("no calls on record: `cbm hotline call --with PEER ...`"))
        for n, c in enumerate(found):
            if n:
                _say(out, Text(""))
            _print_call(out, c)

    emit("hotline.calls", {"calls": [_call_doc(c) for c in found]}, human, json_flag=json_flag)


@app.command("check-export")
def check_export(
    file: Annotated[str, typer.Argument(help="An exported transcript (Markdown).")],
    signature: Annotated[str | None, typer.Option("--sig", metavar="FILE",
                                                  help="The signature file (default: FILE.sig).")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Check an exported transcript against its signature (exit 1 if the file was changed).

    The signature (FILE.sig) is checked with the keys this store trusts.

    Example:  cbm hotline check-export transcript.md
    """
    with open_store() as store:
        done = transcripts.check_export(store, Path(file), Path(signature) if signature else None)
    emit("hotline.check-export", done, lambda out: _say(out, Text(
        f"OK: {done.path} signed by {done.signed_by} at {done.created} "
        f"({done.messages} messages with {done.peer}; record {done.record[:12]})")), json_flag=json_flag)


@app.command("test")
def test_(
    to: Annotated[str, typer.Option("--to", help="The peer whose line is tested.")],
    json_flag: JsonFlag = False,
) -> None:
    """Queue a link test for a peer; its store answers automatically when it imports our bundle.

    When the answer comes back, `cbm hotline status` shows the round-trip
    time (from writing the test to the answer landing here, our clock).

    Example:  cbm hotline test --to RU
    """
    with open_store() as store:
        t = hotline.link_test(store, to)
    note(f"link test queued for {t.to}: send a bundle; the answer returns with {t.to}'s next bundle")
    emit("hotline.test", t, lambda out: _say(out, Text(f"{t.id[:12]}  link test to {t.to} at {t.created}")),
         json_flag=json_flag)


def _test_line(t: LinkTest) -> Text:
    if t.rtt_seconds is not None:
        detail = f"round trip {_span(t.rtt_seconds)} (answered by {t.to} at {t.answered})"
    elif t.status == "failed":
        detail = "no answer (failed)"
    else:
        detail = "waiting for the answer"
    style = {"answered": "green", "late": "yellow", "failed": "red"}.get(t.status, "")
    return Text(f"    {t.created}  {t.id[:12]}  ") + cell(f"{t.status}: {detail}", style)


@app.command()
def status(
    with_: Annotated[str | None, typer.Option("--with", metavar="PARTY", help="Only this peer.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Per peer: last contact, unread and unacknowledged messages (overdue first), link-test history.

    Example:  cbm hotline status --with RU
    """
    with open_store() as store:
        rows = hotline.status(store, with_)
    now = clock.now()

    def human(out: Console) -> None:
        if not rows:
            print_folded(out, Text("no hotline traffic yet: `cbm hotline send --to PEER ...` or "
                                   "`cbm hotline test --to PEER`"))
        for r in rows:
            contact = f"last contact {r.last_contact} (arrived {r.last_contact_received}, " \
                      f"{_age(r.last_contact, now)} ago)" if r.last_contact else "no contact yet"
            print_folded(out, Text(f"{r.peer}  {contact}  sent {r.sent}, received {r.received}", style="bold"))
            for title, items in (("unread", r.unread), (f"not yet acknowledged by {r.peer}", r.unacknowledged)):
                overdue = sum(1 for m in items if m.overdue)
                _say(out, Text(f"  {title}: {len(items)}" + (f" ({overdue} OVERDUE)" if overdue else ""),
                               style="red" if overdue else ""))
                for m in items:
                    print_folded(out, Text(f"    {m.id[:12]}  #{m.dseq}  {m.precedence}  written {m.created}  "
                                           f"acknowledge by {m.deadline}  ") + _state_cell(m), indent=6)
            answered = [t for t in r.tests if t.rtt_seconds is not None]
            failed = sum(1 for t in r.tests if t.status == "failed")
            summary = f"  link tests: {len(r.tests)} sent, {len(answered)} answered, {failed} failed"
            if answered:
                summary += f"; last round trip {_span(answered[0].rtt_seconds or 0)}"
            _say(out, Text(summary + f"; {r.answered_for_peer} of {r.peer}'s answered by us"))
            for t in r.tests[:10]:
                _say(out, _test_line(t))
            for a in r.anomalies:
                _say(out, Text("  ANOMALY: ", style="red") + cell(a.text))

    docs = [{**dataclasses.asdict(r), "unread": [_msg_doc(m) for m in r.unread],
             "unacknowledged": [_msg_doc(m) for m in r.unacknowledged]} for r in rows]
    emit("hotline.status", {"now": clock.iso(now), "peers": docs}, human, json_flag=json_flag)
