"""Fuzz the csv feed reader: `cbm indicators import FILE --format csv`, into a real store (see fuzz/feeds.py)."""

from fuzz.feeds import importer
from fuzz.harness import main

check = importer("csv")

if __name__ == "__main__":
    main(check)
