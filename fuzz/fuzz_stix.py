"""Fuzz the stix feed reader: `cbm indicators import FILE --format stix`, into a real store (see fuzz/feeds.py)."""

from fuzz.feeds import importer
from fuzz.harness import main

check = importer("stix")

if __name__ == "__main__":
    main(check)
