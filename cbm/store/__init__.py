"""The local signed store: SQLite (WAL) holding every record verbatim, plus rebuildable derived indexes.

No code outside ``cbm/store`` writes SQL or imports ``sqlite3``. The store knows no measure: measures hand it
their indexes (``cbm.store.indexes.Index``) when it is opened, and run their queries through
:meth:`cbm.store.db.Store.query`, which passes the store's connection to a function of the measure's index module.
"""
