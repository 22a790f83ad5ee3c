"""The five measures: domain logic over records, one package per measure, listed in :mod:`cbm.measures.registry`.

Every measure package has the same rooms: ``records.py`` (a frozen dataclass per record kind: ``from_body``
validates, ``to_body`` encodes), ``model.py`` (the fold: derived state), ``index.py`` (its tables and queries,
through the store's interfaces), ``service.py`` (what the CLI calls), plus what only that measure needs. A
measure imports core and store, never another layer above it; the application layer (``cbm.app``) composes it
with bundles. Packages stay light to import (stix2 and the like are deferred into the functions that need them).
"""
