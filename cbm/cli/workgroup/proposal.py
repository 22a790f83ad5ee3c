"""``cbm workgroup proposal``: proposals, adopted only when every member signs the same text digest."""

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
    indent,
    print_table,
    read_document,
    short_id,
)
from cbm.measures.workgroup import service as wg
from cbm.measures.workgroup.model import Proposal, Revision

app = typer.Typer(help="Proposals: adopted only when every member signs the same text digest.", no_args_is_help=True)


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
    out.print(Text(f"proposal {short_id(p.id)} revision {rev.number} ({short_id(rev.record)})  ", style="bold") +
              cell(rev.title))
    out.print(Text(f"state    {rev.state}" + (f" (adopted {p.adopted_at})" if p.adopted_at and
                                              rev is p.current else "")))
    if rev is not p.current:
        out.print(Text(f"         current is revision {p.current.number} ({short_id(p.current.record)}), "
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
        indent(out, rev.text)


def _emit_proposal(found: wg.ProposalRef, me: str, json_flag: bool, *, text: bool = True) -> None:
    p, rev = found.proposal, found.revision
    emit("workgroup.proposal", _proposal_doc(p, rev, me), lambda out: _show_proposal(out, p, rev, me, text=text),
         json_flag=json_flag)


@app.command("new")
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

    Example:  cbm workgroup proposal new --title "Joint notification template" \\
                --text-file proposal.md
    """
    text = read_document(text_file, "text file")
    with open_store() as store:
        found = wg.new_proposal(store, title=title, text=text, draft=draft, tlp=tlp)
        me = store.party
    note(f"proposal {short_id(found.proposal.id)} tabled ({found.revision.state}); sha256 {found.revision.digest}")
    _emit_proposal(found, me, json_flag, text=False)


@app.command("revise")
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
    text = read_document(text_file, "text file")
    with open_store() as store:
        found = wg.revise_proposal(store, proposal, text=text, title=title, submit=submit)
        me = store.party
    note(f"revision {found.revision.number} ({short_id(found.revision.record)}) supersedes the last; earlier "
         "signatures no longer count")
    _emit_proposal(found, me, json_flag, text=False)


@app.command("submit")
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


@app.command("show")
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


@app.command("sign")
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


@app.command("object")
def proposal_object(
    proposal: Annotated[str, typer.Argument(help="Revision id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded and reported.")],
    json_flag: JsonFlag = False,
) -> None:
    """Record an objection to a revision. The proposal stays open for a revision that meets it.

    Example:  cbm workgroup proposal object 3fa9c2 \\
                --reason "section 2 needs a 24h deadline"
    """
    with open_store() as store:
        found = wg.object_proposal(store, proposal, reason)
        me = store.party
    _emit_proposal(found, me, json_flag, text=False)


@app.command("reject")
def proposal_reject(
    proposal: Annotated[str, typer.Argument(help="Revision id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded and reported.")],
    json_flag: JsonFlag = False,
) -> None:
    """Veto the current revision for good: the proposal is rejected (adoption needs every member).

    Example:  cbm workgroup proposal reject 3fa9c2 \\
                --reason "outside the group's mandate"
    """
    with open_store() as store:
        found = wg.reject_proposal(store, proposal, reason)
        me = store.party
    _emit_proposal(found, me, json_flag, text=False)


@app.command("withdraw")
def proposal_withdraw(
    proposal: Annotated[str, typer.Argument(help="Proposal or revision id.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Take our proposal off the table (proposer only; not once adopted).

    Example:  cbm workgroup proposal withdraw 3fa9c2 \\
                --reason "merged into the notification template"
    """
    with open_store() as store:
        found = wg.withdraw_proposal(store, proposal, reason)
        me = store.party
    _emit_proposal(found, me, json_flag, text=False)


@app.command("list")
def proposal_list(
    state: Annotated[str | None, typer.Option("--state", help="draft, proposed, adopted, rejected, withdrawn "
                                                              "or superseded.")] = None,
    all_revisions: Annotated[bool, typer.Option("--all", help="Every revision, not just the current.")] = False,
    wide: WideFlag = False,
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
        table = Table([Column("id"), Column("rev", right=True), Column("title", cut=True, min_width=12),
                       Column("by"), Column("state"), Column("signed", cut=True, min_width=8),
                       Column("awaiting", cut=True, min_width=8)])
        for row in rows:
            p, rev = row.proposal, row.revision
            awaiting = ", ".join(p.awaiting) if rev is p.current and p.state == "proposed" else ""
            table.add_row(short_id(rev.record), rev.number, rev.title, p.proposer, rev.state,
                          ", ".join(s.party for s in rev.signatures), awaiting)
        print_table(out, table, wide=wide)

    emit("workgroup.proposals", {"proposals": [_proposal_doc(r.proposal, r.revision, me) for r in rows]},
         human, json_flag=json_flag)
