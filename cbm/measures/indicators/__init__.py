"""Indicators: CERT-to-CERT threat indicators in STIX 2.1, at national-feed scale.

Records (docs/adr/0020-indicator-records.md): ``indicators.batch`` carries up to 5,000 indicators, each with
its own STIX id; ``indicators.revoke`` revokes ids of the author's own indicators; ``indicators.sighting`` is
feedback (a STIX Sighting) to an indicator's author. The logic lives in the submodules; this module only holds
the hooks the store and ``cbm status`` call, and stays light to import.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cbm.measures.base import Attention
    from cbm.store.db import Store

EXPIRY_WARNING_DAYS = 7


def attention(store: Store) -> list[Attention]:
    """Our live indicators that expire soon; sightings peers reported on our indicators in the last week;
    indicators the landing checks flagged (kept out of firewall exports)."""
    from cbm.core import clock
    from cbm.measures.base import Attention
    from cbm.measures.indicators import status_queries

    now = clock.now()
    days = store.config.get("indicators", {}).get("expiry_warning_days", EXPIRY_WARNING_DAYS)
    items = []
    count, first = store.query(status_queries.expiring, store.party, clock.iso(now),
                               clock.iso(now + timedelta(days=days)))
    if count:
        items.append(Attention("indicators", 1, f"{count} of our indicators expire within {days} days "
                                                "(`cbm indicators list --expiring`)", due=first))
    records, sighted = store.query(status_queries.new_sightings, store.party, clock.iso(now - timedelta(days=7)))
    if records:
        items.append(Attention("indicators", 2, f"{records} sighting(s) of {sighted} of our indicators reported "
                                                "by peers this week (`cbm indicators stats`)"))
    flagged = store.query(status_queries.flagged_total)
    if flagged:
        items.append(Attention("indicators", 3, f"{flagged} indicator(s) flagged by the landing checks"
                                                " and kept out of firewall exports (`cbm indicators list"
                                                " --flagged`)"))
    return items
