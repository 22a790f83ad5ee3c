"""Opening a store with every measure's index: the one place the store and the measures meet."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cbm.core.keys import PassphraseSource
    from cbm.store.db import OnRefold, Store


def open_store(root: Path, passphrase: PassphraseSource | None = None, *,
               on_refold: OnRefold | None = None) -> Store:
    """Open the store at ``root`` with the registry's measure indexes (rebuilt first if stale or new). They are
    handed over deferred: a command that only reads imports no index module unless one is stale. ``on_refold``
    hears of indexes another version of cbm built, before they are rebuilt (:data:`cbm.store.db.OnRefold`).
    Raises StoreMissing, StoreCorrupt, StoreLocked (see :meth:`cbm.store.db.Store.open`)."""
    from cbm.measures import registry
    from cbm.store.db import Store

    return Store.open(root, passphrase, indexes=registry.deferred_indexes(), on_refold=on_refold)
