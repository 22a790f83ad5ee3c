"""White papers: unclassified ICT strategies, published in versions and translations.

What the CLI calls is in ``service.py``; this package stays light to import.
"""
