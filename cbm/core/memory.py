"""Memory behaviour of bulk work."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for bulk work.

    A feed import or a bundle import holds a few hundred thousand rows (lists) while it makes millions more;
    every automatic collection walks all of them again, which measured 12 % of a 1M-indicator import
    (docs/adr/0073-bulk-indicator-import.md). The data is acyclic, so reference counting frees it as before; only
    a reference cycle made meanwhile waits, until the collector resumes at the end.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
