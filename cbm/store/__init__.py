"""The local signed store: SQLite (WAL) holding every record verbatim, plus rebuildable derived indexes.

No code outside ``cbm/store`` writes SQL. Measures use :class:`cbm.store.db.Store` to append and query
records, and may add a derived index as a module ``cbm/store/index_<name>.py`` (see ``indexes.py``).
"""
