"""Bundles: how one party's records reach another over any transport (DESIGN.md § Bundles).

One concept per module: :mod:`format` (the bytes and the manifest), :mod:`streams` (layer plumbing),
:mod:`signing` (manifest signatures), :mod:`reader` (open, verify, iterate), :mod:`export`, :mod:`importer`,
:mod:`receipts`, :mod:`encryption`, :mod:`armor`, :mod:`minisign`, :mod:`verify` (quick and deep checks).
"""
