"""Forwarding: when a third party's records go to a peer (docs/adr/0173-late-forwarding.md).

A bundle to peer X carries our own log whole (after X's acknowledged position). A third party A's log goes
*late* by default: only the positions we already held when we wrote our previous bundle to X, and that X has
still not acknowledged. X has had one exchange with us in which to get them from A (or from anyone else); if it
did, its receipt says so and nothing travels twice; if it did not (X does not exchange with A, or the link is
down), they go now. Nothing is lost: every record X may see still reaches it, at most one bundle later.

A party that relays for others (a hub) forwards at once, by its own policy in ``config.toml``::

    [forwarding]
    relay = ["*"]          # every peer gets third parties' records in the next bundle (a hub)
    relay = ["S1", "S2"]   # only these peers (the spokes that do not exchange with each other)

Only our own journal (what we held when we exported to X) and X's own signed receipts decide: nothing anyone
says about a third party changes what that party's records are or whether X may see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cbm.core.errors import UsageError
from cbm.core.fields import is_party_code

ANY = "*"
HINT = 'in config.toml: [forwarding] relay = ["*"] (a hub), or a list of party codes; leave it out for a mesh'


@dataclass(frozen=True)
class ForwardingPolicy:
    relay: tuple[str, ...] = ()  # peers that get third parties' records at once; "*" for every peer

    def immediate(self, peer: str) -> bool:
        """Whether third parties' records go to ``peer`` as soon as we hold them (we relay for it)."""
        return ANY in self.relay or peer in self.relay

    def doc(self) -> dict[str, Any]:
        return {"relay": list(self.relay), "default": "late"}


def policy_of(config: dict[str, Any]) -> ForwardingPolicy:
    """The forwarding policy in a store's config (late forwarding to every peer when absent).
    Raises UsageError (exit 2) for a malformed ``[forwarding]`` section."""
    section = config.get("forwarding")
    if section is None:
        return ForwardingPolicy()
    if not isinstance(section, dict):
        raise UsageError("config.toml: [forwarding] must be a table", hint=HINT)
    unknown = sorted(set(section) - {"relay"})
    if unknown:
        raise UsageError(f"config.toml: [forwarding] has no setting {unknown[0]!r}", hint=HINT)
    relay = section.get("relay", [])
    if not isinstance(relay, list) or not all(isinstance(p, str) for p in relay):
        raise UsageError("config.toml: forwarding.relay must be a list of party codes (or [\"*\"])", hint=HINT)
    for party in relay:
        if party != ANY and not is_party_code(party):
            raise UsageError(f"config.toml: forwarding.relay: {party!r} is not a party code", hint=HINT)
    return ForwardingPolicy(tuple(dict.fromkeys(relay)))
