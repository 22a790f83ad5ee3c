"""Fuzz the misp feed reader: `cbm indicators import FILE --format misp`, into a real store (see fuzz/feeds.py)."""

from fuzz.feeds import importer
from fuzz.harness import main

check = importer("misp")

if __name__ == "__main__":
    main(check)
