"""Fuzz the plain feed reader: `cbm indicators import FILE --format txt`, into a real store (see fuzz/feeds.py)."""

from fuzz.feeds import importer
from fuzz.harness import main

check = importer("txt")

if __name__ == "__main__":
    main(check)
