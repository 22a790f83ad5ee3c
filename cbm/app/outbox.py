"""What waits to be sent to each peer: "ahead by N" since when, and a peer we have not sent to for too long.

The next ``cbm bundle export --to P`` carries every record P has not acknowledged with a signed receipt, so the
records a peer is behind by are exactly those (docs/adr/0146-status-check-and-outbox.md). A peer is *overdue for a
bundle* when something waits for it and our last bundle to it (or none) is older than ``[status] send_within``
in config.toml (default 24 hours); never for a peer whose key we revoked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from cbm.core import clock
from cbm.core.errors import NotFound, UsageError

if TYPE_CHECKING:
    from cbm.store.db import Store

DEFAULT_SEND_WITHIN = timedelta(hours=24)


class Outbox(NamedTuple):
    """One peer's side of the air gap: ``ahead`` records wait for it, the oldest written at ``since``."""

    peer: str
    ahead: int
    since: str | None  # creation time of the oldest record the peer has not acknowledged
    last_sent: str | None  # when we last exported a bundle to it
    overdue: bool  # something waits and we have not sent to it within ``send_within``


def send_within(config: dict[str, Any]) -> timedelta:
    """``[status] send_within = "24h"`` from config.toml, else 24 hours. Raises UsageError for a bad value."""
    section = config.get("status", {})
    if not isinstance(section, dict):
        raise UsageError("config.toml: [status] must be a table")
    value = section.get("send_within")
    if value is None:
        return DEFAULT_SEND_WITHIN
    try:
        return clock.parse_duration(str(value))
    except UsageError as e:
        raise UsageError(f"config.toml: [status] send_within: {e}", hint=e.hint) from e


def _can_send_to(store: Store, peer: str) -> bool:
    try:
        store.active_key(peer)
    except NotFound:
        return False  # revoked: nothing is overdue for a peer we no longer send to
    return True


def outboxes(store: Store) -> list[Outbox]:
    """Every peer's outbox, in peer order. Raises UsageError for a bad ``[status] send_within``."""
    limit = send_within(store.config)
    peers = store.peers()
    if not peers:  # a store with no peer yet loads no receipt code (`cbm status` on a fresh store; issue 20)
        return []
    from cbm.bundle.receipts import peer_status
    from cbm.store import index_bundles

    now = clock.now()
    result = []
    for peer in peers:
        acks = peer_status(store, peer)
        oldest: str | None = None
        for log in acks.logs:
            if log.pending == 0:
                continue
            created = store.query(index_bundles.created_at, log.author, log.acknowledged + 1)
            if created is not None and (oldest is None or created < oldest):
                oldest = created
        last = store.query(index_bundles.last_sent_at, peer)
        waiting = acks.pending > 0 and _can_send_to(store, peer)
        overdue = waiting and (last is None or clock.parse_time(last) + limit < now) and \
            (oldest is None or clock.parse_time(oldest) + limit < now)
        result.append(Outbox(peer, acks.pending, oldest, last, overdue))
    return result
