"""Inquiry: formal inquiries about ICT incidents of national concern, acknowledged and answered.

What the CLI calls is in ``service.py``; this package stays light to import.
"""
