"""TAXII 2.1: pull indicators from a CERT's own platform, push what arrived from peers back, and serve the store
read-only to TAXII clients.

``config`` names the sources (config.toml) and their credentials (files or the environment); ``http`` is the one
place cbm talks HTTP(S), on its own terms (TLS verified, no redirect to another host, bounded, strict JSON);
``client`` speaks TAXII over it; ``pull``/``push`` move indicators between a source and the store, keeping their
progress in the store (``cbm.store.taxii_state``); ``server`` answers TAXII clients. See docs/adr/0130-0134.
"""
