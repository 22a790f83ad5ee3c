"""Who the working group is, as this store sees it now (docs/adr/0060, docs/adr/0265).

Membership: the parties named in ``[workgroup] members`` of config.toml, else every party we trust with an
active key (ourselves included). A new meeting or proposal records this list and needs at least two parties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cbm.core.errors import NotFound, UsageError

if TYPE_CHECKING:
    from cbm.store.db import Store


def members(store: Store) -> list[str]:
    """The working group as this store sees it now (sorted). Raises NotFound / UsageError for a bad config."""
    configured = store.config.get("workgroup", {}).get("members")
    if configured is None:
        active = [p for p in store.peers() if any(k.status == "active" for k in store.party_keys(p))]
        return sorted({store.party, *active})
    if not isinstance(configured, list) or not all(isinstance(p, str) for p in configured):
        raise UsageError("config.toml: [workgroup] members must be a list of party codes",
                         hint='members = ["US", "RU"]')
    for party in configured:
        if party != store.party and not store.party_exists(party):
            raise NotFound(f"config.toml: [workgroup] member {party} is not a trusted party",
                           hint="import its card with `cbm keys import`, or fix [workgroup] members")
    if store.party not in configured:
        raise UsageError(f"config.toml: [workgroup] members does not include us ({store.party})")
    return sorted(set(configured))


def group_for_new(store: Store) -> list[str]:
    """The members a new meeting or proposal records: :func:`members`, refused when that is only us."""
    group = members(store)
    if len(group) < 2:
        raise UsageError(f"the working group is only us ({store.party}): a meeting or a proposal needs at least "
                         "one other member", hint="import a peer's card with `cbm keys import`, or list the "
                                                  "members in config.toml: [workgroup] members = [\"US\", \"RU\"]")
    return group
