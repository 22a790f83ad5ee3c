"""``cbm indicators stats``: counts over the indicators a filter selects (by state, type, party, TLP, origin, flag
and age). Nothing here prints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cbm.core import clock
from cbm.measures.indicators import queries
from cbm.store.db import Store


def stats(store: Store, days: int = 7, f: queries.Filter | None = None) -> dict[str, Any]:
    """Counts over the indicators ``f`` selects (all without it): by state, type, party, TLP, origin, flag and
    age; how many expire within ``days``. Raises UsageError for a negative horizon."""
    now = clock.now()
    result = store.query(queries.stats, clock.iso(now), clock.days_ahead(now, days, what="--days"), f)
    result["expiring_within_days"] = days
    if f is not None:
        chosen = {"types": list(f.types), "authors": list(f.authors), "origins": list(f.origins),
                  "asns": list(f.asns), "since": f.since}
        result["selection"] = {k: v for k, v in chosen.items() if v}
    result["by_age"] = store.query(queries.age_buckets, [
        ("last 24 hours", clock.iso(now - timedelta(days=1))), ("last 7 days", clock.iso(now - timedelta(days=7))),
        ("last 30 days", clock.iso(now - timedelta(days=30))),
        ("last 365 days", clock.iso(now - timedelta(days=365)))], f)
    return result
