"""Which peers ``cbm bundle export --to`` names: ``all`` or a comma-separated list of party codes."""

from __future__ import annotations

from cbm.core.errors import NotFound, UsageError
from cbm.store.db import Store


def recipients_of(store: Store, spec: str) -> tuple[list[str], list[dict[str, str]]]:
    """The peers ``--to`` names: ``all`` (every peer with an active key; the others are returned as skipped,
    with the reason) or a comma-separated list of party codes. Raises UsageError for a malformed list or our
    own code, NotFound for a party we do not know or one without an active key when named explicitly."""
    from cbm.core.cards import check_party_code

    if spec.strip().lower() == "all":
        chosen, skipped = [], []
        for peer in store.peers():
            try:
                store.active_key(peer)
            except NotFound as e:
                skipped.append({"party": peer, "reason": str(e)})
                continue
            chosen.append(peer)
        return chosen, skipped
    codes = [code.strip().upper() for code in spec.split(",")]
    if any(not code for code in codes):
        raise UsageError(f"--to {spec!r} has an empty party code", hint="--to RU,UK,FR or --to all")
    chosen = list(dict.fromkeys(check_party_code(code) for code in codes))
    for code in chosen:
        if code == store.party:
            raise UsageError("a bundle goes to a peer, not to ourselves", hint=f"leave {code} out of --to")
        store.active_key(code)
    return chosen, []
