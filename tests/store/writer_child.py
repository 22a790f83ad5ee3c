"""A child process that appends to a store as fast as it can, for the crash and concurrency tests.

Usage: python writer_child.py STORE SEED ITERATIONS ROTATE_EVERY [GO_FILE]

Prints ``ready`` once the store is open, then after every committed transaction the highest seq it
committed, one per line, flushed: a line on the pipe means "this is on disk". ``ITERATIONS`` 0 means forever.
Every ``ROTATE_EVERY``-th iteration rotates the signing key instead (0: never). With GO_FILE, waits for that
file to exist before writing (so two children start together).
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

from cbm.app.stores import open_store
from cbm.store.db import Draft
from cbm.store.trust import rotate


def main() -> None:
    root, seed, iterations, rotate_every = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    go = Path(sys.argv[5]) if len(sys.argv) > 5 else None
    rng = random.Random(seed)
    if os.environ.get("CBM_TEST_EAGER_WRITE_BEHIND"):  # every transaction's WAL written behind, as a bulk load's
        from cbm.store import write_behind

        write_behind.START_AFTER_BYTES, write_behind.PERIOD_S = 0, 0.001
    store = open_store(root)
    print("ready", flush=True)
    while go is not None and not go.exists():
        time.sleep(0.002)
    n = 0
    while iterations == 0 or n < iterations:
        n += 1
        if rotate_every and n % rotate_every == 0:
            rotate(store)
            head = store.head(store.party)
            assert head is not None
            print(head[0], flush=True)
            continue
        size = rng.choice((1, 1, 3, 30, 150))
        drafts = [Draft("inquiry.open", {"ref": f"W{seed}-{n}-{i}", "text": "x" * rng.randint(10, 700)},
                        ("*",), "GREEN") for i in range(size)]
        print(store.append_many(drafts)[-1].seq, flush=True)


if __name__ == "__main__":
    main()
