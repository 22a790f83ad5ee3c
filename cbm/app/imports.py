"""Importing a bundle, then letting each measure react to what landed: bundle/ knows no measure, so the
composition happens here."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from cbm.bundle.importer import ImportResult
    from cbm.store.db import Store


def import_bundle(store: Store, source: BinaryIO, *, source_name: str | None = None) -> ImportResult:
    """Verify and import one bundle (see :func:`cbm.bundle.importer.import_bundle` for what is refused and the
    error classes), then run the measures' reactions once it has committed; ``reactions`` counts the records
    they appended."""
    from cbm.app.reactions import after_import
    from cbm.bundle.importer import import_bundle as verify_and_land

    return verify_and_land(store, source, source_name=source_name, react=after_import)
