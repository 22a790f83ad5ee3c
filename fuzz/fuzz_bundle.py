"""Fuzz bundle files as they arrive: plain, gzip, armored and encrypted, through ``cbm bundle verify --deep`` and
``cbm bundle import`` (see fuzz/bundles.py). Signatures are checked first, so this target explores the layers
and everything read before a signature: armor, the encrypted outer header, the manifest line, truncation."""

from fuzz.bundles import verify_and_import
from fuzz.harness import main

check = verify_and_import

if __name__ == "__main__":
    main(check)
