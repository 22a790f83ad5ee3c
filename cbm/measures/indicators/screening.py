"""What ``cbm indicators warninglists`` and ``cbm indicators recheck`` do: show the landing checks' lists, install
a newer copy carried across the air gap, and run the checks again over the stored indicators
(docs/adr/0192-offline-warninglist-updates.md). Nothing here prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cbm.core.memory import cycle_collector_paused
from cbm.measures.indicators import checks, queries, warninglists
from cbm.measures.indicators import index as ix
from cbm.store.db import Store


@dataclass
class ListInUse:
    name: str
    type: str
    version: str
    entries: int


@dataclass
class WarninglistsResult:
    source: str  # store (an offline update) | package (shipped with pymispwarninglists) | none
    directory: str | None
    lists: list[ListInUse]
    missing: list[str]  # configured lists that the directory does not hold
    rules: list[str]  # the built-in rules, for reference
    ignored: list[str]  # flags this store switched off ([indicators.checks] ignore)
    updated: bool = False
    recheck: RecheckResult | None = None


@dataclass
class RecheckResult:
    indicators: int
    flagged: int
    by_flag: dict[str, int] = field(default_factory=dict)


def warninglists_in_use(store: Store) -> WarninglistsResult:
    """Which warninglists the landing checks use for this store, from where, with versions and entry counts."""
    settings = checks.Settings.of(store.config)
    directory, origin = warninglists.lists_dir(store.root)
    found = warninglists.load(directory, settings.lists)
    rules = sorted({"rule:" + label for _, label in checks.SPECIAL_RANGES}
                   | {"rule:" + label for label in checks.SPECIAL_NAMES.values()}
                   | {checks.ALL_ADDRESSES, checks.BROAD_CIDR, checks.OWN, checks.PUBLIC_SUFFIX})
    return WarninglistsResult(
        origin if directory is not None else "none", str(directory) if directory else None,
        [ListInUse(name, wl.kind, wl.version, len(wl.entries)) for name, wl in found.items()],
        [name for name in settings.lists if name not in found], rules, list(settings.ignore))


@cycle_collector_paused()
def update_warninglists(store: Store, source: Path,
                        progress: Callable[[int, int], None] | None = None) -> WarninglistsResult:
    """Install the configured warninglists from ``source`` (a copy of misp-warninglists carried across the gap)
    into the store, then re-check every stored indicator (``progress`` as :func:`recheck`). Raises NotFound,
    MalformedInput (nothing changed)."""
    settings = checks.Settings.of(store.config)
    warninglists.update(store.root, source, settings.lists)
    result = warninglists_in_use(store)
    result.updated = True
    result.recheck = recheck(store, progress)
    return result


@cycle_collector_paused()
def recheck(store: Store, progress: Callable[[int, int], None] | None = None) -> RecheckResult:
    """Run the landing checks again over every current indicator (the signed records are not touched).
    ``progress(done, total)`` hears the indicators checked."""
    with store.transaction() as conn:
        flagged = ix.recheck(conn, progress)
    total = store.query(queries.count, queries.Filter())
    return RecheckResult(total, flagged, store.query(queries.flag_counts))
