"""``cbm keys``: our party card, trusted peers, rotation and revocation."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

from cbm.cli.context import interactive, open_store
from cbm.cli.output import emit, emit_lines, note, one_line, warn
from cbm.cli.tables import Column, Styled, Table, terminal_width
from cbm.core.errors import MalformedInput, NotFound, OversizedInput, UsageError
from cbm.core.stdio import stdin
from cbm.store import trust

if TYPE_CHECKING:
    from cbm.core.files import StagedFile

app = typer.Typer(help="Party cards and keys: show, export, import (trust a peer), list, rotate, revoke.",
                  no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="JSON output.")]
MAX_CARD_BYTES = 64 * 1024


def _write(data: bytes, output: str) -> None:
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    from cbm.core.files import written_atomically  # tempfile: only for a command that writes a file

    with written_atomically(Path(output)) as out:
        out.write(data)


def _check_output(output: str | None) -> None:
    """Refuse a place the new card cannot be written before the key is changed (docs/adr/0278)."""
    if output and output != "-":
        from cbm.core.files import check_output

        check_output(Path(output))


class _NewCard:
    """Where ``-o`` puts the card of a new key: written (staged beside the file, or to stdout or a device) inside
    the key change, before the key file or the store changes, and put in place once the change is committed;
    a card that cannot be written changes no key (docs/adr/0290)."""

    def __init__(self, output: str | None) -> None:
        self.output = output
        self.staged: StagedFile | None = None

    def __call__(self, card: trust.PartyCard) -> None:
        if not self.output:
            return
        if self.output == "-":
            _write(card.envelope + b"\n", "-")
            return
        from cbm.core.files import staged  # tempfile: only for a command that writes a file

        self.staged = staged(Path(self.output), card.envelope + b"\n")

    def land(self, what: str) -> None:
        """Put the staged card in place: a rename beside it, which cannot run out of space; should it still
        fail, the key has changed, and the error says so and how to write the card again."""
        if self.staged is None:
            return
        try:
            self.staged.land()
        except UsageError as e:
            raise UsageError(f"{e}; {what} nonetheless",
                             hint=f"write the new card again: cbm keys export -o {self.output}") from e

    def discard(self) -> None:
        if self.staged is not None:
            self.staged.discard()


def _card_doc(card: trust.PartyCard) -> dict[str, object]:
    return {"party": card.party, "name": card.name, "keyid": card.keyid, "fingerprint": card.fingerprint,
            "serial": card.serial, "first_seq": card.first_seq, "created": card.created}


@app.command()
def show(json_flag: JsonFlag = False) -> None:
    """Show our own party card: code, name, key fingerprint.

    Example:  cbm keys show
    """
    with open_store() as store:
        card = trust.own_card(store)

    def human(out: Console) -> None:
        out.print(Text(f"party        {card.party}"))
        out.print(Text(f"name         {card.name}"))
        out.print(Text(f"fingerprint  {card.fingerprint}"))
        out.print(Text(f"key id       {card.keyid} (serial {card.serial}, signs from seq {card.first_seq})"))

    emit("keys.show", _card_doc(card), human, json_flag=json_flag)


@app.command()
def export(
    output: Annotated[str, typer.Option("-o", "--output", help="File to write ('-' for stdout).")] = "-",
    party: Annotated[str | None, typer.Option("--party", help="Export a peer's card instead of ours.")]
    = None,
    format_: Annotated[str, typer.Option(
        "--format", help="card (cbm party card) or minisign (public key for `minisign -V`).")] = "card",
    history: Annotated[bool, typer.Option(
        "--history", help="Every card of the party, oldest first, one per line (for a CI keyring: records "
        "signed before a rotation still verify, and the old key no longer signs bundles).")] = False,
) -> None:
    """Write our self-signed public party card, for peers to import; or, with --format minisign, our
    bundle-signing key in minisign's format, so `minisign -Vm BUNDLE -p FILE` checks our bundles.

    Examples:  cbm keys export -o us.card
               cbm keys export --format minisign -o us.pub
               cbm keys export --party RU --history -o ci/keyring/ru.cards
    """
    if format_ not in ("card", "minisign"):
        raise UsageError(f"unknown format {format_!r}", hint="--format card or --format minisign")
    if history and format_ != "card":
        raise UsageError("--history writes party cards; minisign knows one key only",
                         hint="drop --format minisign, or --history")
    with open_store() as store:
        code = party.strip().upper() if party else store.party
        if history:
            cards = trust.card_history(store, code)
            _write(b"".join(c.envelope + b"\n" for c in cards), output)
            if output != "-":
                note(f"wrote {len(cards)} card(s) of {code} to {output}; current fingerprint {cards[-1].fingerprint}")
            return
        card = trust.card_of(store, party) if party else trust.own_card(store)
    if format_ == "minisign":
        from cbm.bundle.minisign import public_key_file

        _write(public_key_file(card.verify_key, card.keyid, card.party), output)
        if output != "-":
            note(f"wrote {card.party}'s minisign public key to {output}")
        return
    _write(card.envelope + b"\n", output)
    if output != "-":
        note(f"wrote {card.party}'s card to {output}; fingerprint {card.fingerprint}")


@app.command("import")
def import_(
    card_file: Annotated[str, typer.Argument(help="The peer's card file ('-' for stdin).")],
    fingerprint: Annotated[str | None, typer.Option(
        "--fingerprint", help="The fingerprint the peer read to you out of band.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Trust a peer's party card. Refused unless the fingerprint matches.

    A card cross-signed by the peer's current key (a rotation) needs no fingerprint. On a terminal,
    without --fingerprint, you are shown the fingerprint and asked to confirm it.

    Example:  cbm keys import ru.card --fingerprint "3F2A 9C1B 0D4E ..."
    """
    try:
        if card_file == "-":
            data = stdin().read(MAX_CARD_BYTES + 1)
        else:
            with open(card_file, "rb") as source:
                data = source.read(MAX_CARD_BYTES + 1)
    except OSError as e:
        raise NotFound(f"cannot read {card_file}: {e.strerror}") from e
    if len(data) > MAX_CARD_BYTES:  # never read a hostile "card" (or /dev/zero) into memory whole
        raise OversizedInput(f"{card_file} is larger than a party card can be ({MAX_CARD_BYTES} bytes)")
    if not data.strip():
        raise MalformedInput(f"{'stdin' if card_file == '-' else card_file} is empty: no party card in it")
    with open_store() as store:
        if fingerprint is None and interactive():
            from cbm.core.cards import parse_card

            card = parse_card(data)
            if not store.party_exists(card.party):
                # the peer's name is shown literally: escapes must not redraw the fingerprint being confirmed
                sys.stderr.write(f"{card.party} ({one_line(card.name)}) fingerprint:\n  {card.fingerprint}\n")
                if not typer.confirm("Does it match what the peer read to you?", err=True):
                    raise UsageError("not confirmed; nothing imported")
                fingerprint = card.fingerprint
        result = trust.import_card(store, data, fingerprint)
    # one line, the result, on stdout (README "keys")
    emit("keys.import", {"action": result.action, **_card_doc(result.card)},
         lambda out: out.print(Text(one_line(result.message))), json_flag=json_flag)


@app.command("list")
def list_(json_flag: JsonFlag = False,
          wide: Annotated[bool, typer.Option("--wide", help="Show every value whole.")] = False) -> None:
    """List every party we know (ourselves first), each key and its status: active, rotated, revoked, or
    introduced (active on a roster's word, fingerprint not confirmed; --json: "trust" and "introduced_by").

    The status says which seqs a retired key signed and why it was revoked.

    Example:  cbm keys list --json
    """
    with open_store() as store:
        rows = trust.list_keys(store)

    def lines() -> Iterator[str]:
        # fits 80 columns with codes like OSCE-SEC: only the name and the status text may be cut
        table = Table([Column("party"), Column("name", cut=True, min_width=6), Column("status", cut=True),
                       Column("fingerprint")])
        introduced: dict[str, list[str]] = {}
        for r in rows:
            status = r.status + (" (us)" if r.is_self else "")
            if r.last_seq is not None:
                status += f" {r.first_seq}-{r.last_seq}"
            if r.reason:
                status += f": {r.reason}"
            style = {"active": "green", "rotated": "dim", "revoked": "red"}[r.status]
            if r.introduced_by is not None and r.status == "active":  # active on a roster's word: said so
                introduced.setdefault(", ".join(r.introduced_by), []).append(r.party)
                status, style = "introduced", "yellow"
            table.add_row(r.party, r.name, Styled(status, style), r.fingerprint)
        yield from table.lines(terminal_width(wide))
        for by, parties in introduced.items():  # the roster's word, not a phone call: said in full, once
            yield one_line(f"introduced by {by}, fingerprint not confirmed: {', '.join(parties)}")
        if introduced:
            yield "after a call: `cbm keys confirm PARTY --fingerprint ...`"

    emit_lines("keys.list", {"keys": rows}, lines, json_flag=json_flag)


@app.command()
def rotate(
    output: Annotated[str | None, typer.Option(
        "-o", "--output", help="Also write the new card here (before the key changes: a card that cannot be "
                               "written changes nothing).")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Replace our signing key with a new one, cross-signed by the old key.

    Peers learn the new key from our next bundle (a keys.rotate record); no phone call needed.

    Example:  cbm keys rotate -o us-new.card
    """
    _check_output(output)
    new_card = _NewCard(output)
    try:
        with open_store() as store:
            card = trust.rotate(store, deliver=new_card)
        new_card.land("the key was rotated")
    finally:
        new_card.discard()
    note(f"now signing with {card.fingerprint} from seq {card.first_seq}")
    emit("keys.rotate", _card_doc(card), lambda out: out.print(Text(card.fingerprint)), json_flag=json_flag)


@app.command()
def revoke(
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the signed revocation).")],
    party: Annotated[str | None, typer.Option(
        "--party", help="Stop trusting this peer's current key (a local decision).")] = None,
    output: Annotated[str | None, typer.Option(
        "-o", "--output", help="Write our new card here (before the key changes: a card that cannot be written "
                               "changes nothing).")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Revoke a key. Without --party: our own (e.g. compromised), replaced by a new key that peers must
    confirm by fingerprint. With --party: stop accepting anything more signed by that peer's key.

    Both ask for confirmation on a terminal; scripts pass --yes.

    Examples:  cbm keys revoke --reason "laptop lost" --yes -o us-new.card
               cbm keys revoke --party RU \\
                 --reason "compromise reported by phone" --yes
    """
    _check_output(None if party else output)
    with open_store() as store:
        if party:
            trust.find_party(store, party)
            if not yes:
                if not interactive():
                    raise UsageError(f"revoking {party}'s key needs --yes",
                                     hint=f"nothing more signed by {party}'s current key will be accepted")
                if not typer.confirm(f"Stop trusting {party}'s current key? It must then send a new card",
                                     err=True):
                    raise UsageError("not confirmed; nothing revoked")
            last = trust.revoke_peer(store, party, reason)
            emit("keys.revoke", {"party": party, "last_seq": last, "reason": reason},
                 lambda out: out.print(Text(f"revoked {party}'s key: records after seq {last} will be refused")),
                 json_flag=json_flag)
            return
        if not yes:
            if not interactive():
                raise UsageError("revoking our own key needs --yes")
            if not typer.confirm("Revoke our signing key? Peers must re-confirm the new one by phone", err=True):
                raise UsageError("not confirmed; nothing revoked")
        new_card = _NewCard(output)
        try:
            card = trust.revoke_own(store, reason, deliver=new_card)
            new_card.land("the key was revoked")
        finally:
            new_card.discard()
    warn(f"old key revoked. Send the new card and read its fingerprint to every peer: {card.fingerprint}")
    emit("keys.revoke", {"party": card.party, "reason": reason, "new": _card_doc(card)},
         lambda out: out.print(Text(card.fingerprint)), json_flag=json_flag)


@app.command()
def confirm(
    party: Annotated[str, typer.Argument(help="The peer whose key a roster introduced.")],
    fingerprint: Annotated[str, typer.Option(
        "--fingerprint", help="The fingerprint the peer read to you out of band.")],
    json_flag: JsonFlag = False,
) -> None:
    """Confirm the fingerprint of a key we already hold (e.g. introduced by a roster): it becomes trusted
    directly, and no roster can change or retire it any more. Refused (exit 1) if the fingerprint differs.

    Example:  cbm keys confirm UK --fingerprint "3F2A 9C1B 0D4E ..."
    """
    code = party.strip().upper()
    with open_store() as store:
        result = trust.import_card(store, trust.card_of(store, code).envelope, fingerprint)
    note(result.message)
    emit("keys.confirm", {"action": result.action, **_card_doc(result.card)},
         lambda out: out.print(Text(f"{result.action}: {result.card.party} {result.card.fingerprint}")),
         json_flag=json_flag)


roster_app = typer.Typer(help="Rosters: publish the cards we vouch for; choose whose rosters we accept.",
                         no_args_is_help=True)
app.add_typer(roster_app, name="roster")


def _changes_human(out: Console, changes: list, what: str) -> None:
    if not changes:
        out.print(Text(what))
    for c in changes:
        by = ", ".join(c.introducers)
        out.print(Text(f"{c.action}: {c.party} {c.fingerprint}" + (f" (by {by})" if by else "")
                       + (f": {c.detail}" if c.detail else "")))


@roster_app.command()
def publish(
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", metavar="PARTY", help="Leave this peer out (a departure; repeatable).")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Publish our roster: the current card of every peer whose fingerprint we confirmed, as a signed record
    for everyone (TLP:CLEAR). It travels in our bundles; stores that accept our rosters learn the cards from it.
    Each roster replaces our previous one: publish again after a join, a departure or a rotation.

    Example:  cbm keys roster publish --exclude UK
    """
    from cbm.store.rosters import publish as publish_roster

    with open_store() as store:
        published = publish_roster(store, exclude or [])
    note(f"roster {published.record.seq} lists {len(published.parties)} parties; it travels with our next bundles")
    emit("keys.roster.publish", {"record": published.record.hash, "seq": published.record.seq,
                                 "parties": published.parties},
         lambda out: out.print(Text(f"roster {published.record.short}: {', '.join(published.parties) or '(empty)'}")),
         json_flag=json_flag)


@roster_app.command()
def policy(
    introducer: Annotated[list[str] | None, typer.Option(
        "--introducer", metavar="PARTY",
        help="Accept rosters by this directly confirmed peer (repeatable; '*' for any of them).")] = None,
    threshold: Annotated[int, typer.Option(
        "--threshold", help="Accept a card only when at least this many introducers list it.")] = 1,
    off: Annotated[bool, typer.Option("--off", help="Accept no roster; introduced keys are retired.")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Show or set whose rosters we accept (the rosters table of config.toml; off by default), and apply it now.

    Without options: show the policy. Introduced keys are marked "introduced" in `keys list` and `status`
    until their fingerprint is confirmed with `cbm keys confirm`.

    Examples:  cbm keys roster policy --introducer OSCE-SEC
               cbm keys roster policy --introducer '*' --threshold 3
               cbm keys roster policy --off
    """
    from cbm.store.rosters import ReconcileResult, policy_of, set_policy

    if off and introducer:
        raise UsageError("--off and --introducer contradict each other")
    with open_store() as store:
        if off or introducer:
            result = set_policy(store, [p.strip().upper() if p.strip() != "*" else "*" for p in introducer or []],
                                threshold)
        else:
            result = ReconcileResult(policy_of(store.config))
    state = result.policy
    if state.enabled:
        note(f"accepting rosters by {', '.join(state.introducers)} (threshold {state.threshold})")
    else:
        note("rosters: off (no introduced keys accepted)")
    emit("keys.roster.policy", {"policy": state.doc(), "changes": result.changes},
         lambda out: _changes_human(out, result.changes, "no change to introduced keys"), json_flag=json_flag)
