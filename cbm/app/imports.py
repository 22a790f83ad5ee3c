"""Importing a bundle, then letting each measure react to what landed: bundle/ knows no measure, so the
composition happens here."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from collections.abc import Callable

    from cbm.bundle.importer import ImportResult
    from cbm.store.db import Store


def import_bundle(store: Store, source: BinaryIO, *, source_name: str | None = None,
                  progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Verify and import one bundle (see :func:`cbm.bundle.importer.import_bundle` for what is refused and the
    error classes), then run the measures' reactions once it has committed; ``reactions`` counts the records
    they appended. ``progress(done, total)`` hears the landing, record by record."""
    from cbm.app.reactions import after_import
    from cbm.bundle.importer import import_bundle as verify_and_land
    from cbm.measures.indicators import queries

    mark = store.query(queries.last_flag)
    result = verify_and_land(store, source, source_name=source_name, react=after_import,
                               progress=progress)
    flagged, by_flag = store.query(queries.flagged_since, mark)
    if flagged:  # the landing checks (docs/adr/0190): a peer's indicators that must not reach a firewall
        result.warnings.append(
            f"{flagged} indicator(s) flagged by the landing checks ("
            + ", ".join(f"{flag} {n}" for flag, n in by_flag.items())
            + "): kept, but left out of firewall and IDS exports; see `cbm indicators list --flagged`")
    return result
