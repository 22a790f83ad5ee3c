"""Hotline: encrypted, signed crisis messages between the principals, with receipts and link tests.

What the CLI calls is in ``service.py``; this package stays light to import.
"""
