"""``cbm init``: create a store with fresh keys for one party."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from cbm.cli.context import new_passphrase, store_path
from cbm.cli.output import emit, note
from cbm.store.trust import create_store


def init(
    party: Annotated[str, typer.Option("--party", help="Short party code, e.g. US.")],
    name: Annotated[str, typer.Option("--name", help='Display name, e.g. "US-CERT".')],
    no_passphrase: Annotated[bool, typer.Option(
        "--no-passphrase", help="Leave the private keys unencrypted (automation only).")] = False,
    json_flag: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Create a new store (./.cbm, or --store DIR / $CBM_STORE) with fresh signing and encryption keys.

    The private keys are encrypted with a passphrase (from a prompt, $CBM_PASSPHRASE or
    --passphrase-file) unless --no-passphrase is given.

    Example:  cbm --store /srv/cbm init --party US --name "US-CERT"
    """
    root = store_path(for_init=True)
    passphrase = None if no_passphrase else new_passphrase()
    card = create_store(root, party.strip(), name.strip(), passphrase)
    note(f"created store {root}")

    def human(out: Console) -> None:
        out.print(Text(f"party        {card.party} ({card.name})"))
        out.print(Text(f"fingerprint  {card.fingerprint}"))
        out.print(Text("next: `cbm keys export -o card` and read the fingerprint to your peer"))

    emit("init", {"store": str(root), "party": card.party, "name": card.name, "keyid": card.keyid,
                  "fingerprint": card.fingerprint, "protected": not no_passphrase}, human, json_flag=json_flag)


app = typer.Typer(add_completion=False)
app.command("init")(init)
