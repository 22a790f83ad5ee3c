"""cbm: ICT confidence-building measures on a local signed store, exchanged as signed bundles."""

__version__ = "0.1.0"
