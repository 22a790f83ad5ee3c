"""A long transaction's pages written to disk while it runs, not all at its COMMIT (docs/adr/0284).

A bulk load (a national feed, a peer's bundle) appends hundreds of megabytes to the WAL in one transaction. The
kernel keeps them in memory as dirty pages (it starts writing only past a tenth of the RAM, or after 30 s), so
the ``fsync`` that ``synchronous=FULL`` makes at COMMIT wrote them all while the command waited (1M indicators:
~600 MB, about 2 s of this machine's disk); the auto-checkpoint then copied them into the database file and
waited for that file's ``fsync`` too.

:class:`WriteBehind` has a thread call ``fdatasync`` on the WAL every :data:`PERIOD_S` while such a transaction
lands, and on the database file as well while its COMMIT checkpoints, so the disk writes beside the work instead
of after it. It only moves writes the kernel would make anyway to an earlier time: SQLite still makes every one
of its own syncs, in the same order, and a crash leaves exactly the states it could leave before (a WAL frame is
part of the database only once a commit frame that SQLite synced covers it). A failed ``fdatasync`` here is
ignored: the kernel reports a write-back error to every open file description, so SQLite's own sync sees it and
fails the COMMIT as before.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

#: bytes of records a transaction lands before its WAL is written behind: an ordinary command (a record or a few
#: thousand indicators) never starts the thread
START_AFTER_BYTES = 16 << 20
PERIOD_S = 0.25  # between two ``fdatasync`` calls: each writes what the last quarter second added


class WriteBehind:
    """The write-behind of one transaction on the database at ``database``: :meth:`landed` as records land,
    :meth:`committing` just before COMMIT, :meth:`stop` after it (or after a rollback), always."""

    def __init__(self, database: Path, *, start_after: int | None = None, period: float | None = None) -> None:
        self._database = database
        self._start_after = START_AFTER_BYTES if start_after is None else start_after
        self._period = PERIOD_S if period is None else period
        self._landed = 0
        self._files: list[int] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def landed(self, size: int) -> None:
        """``size`` more bytes of records landed; past :data:`START_AFTER_BYTES`, the thread starts."""
        if self._thread is not None or self._stopping.is_set():
            return
        self._landed += size
        if self._landed >= self._start_after:
            self._start()

    def committing(self) -> None:
        """COMMIT comes next, and with it the checkpoint into the database file: that file is written behind too."""
        if self._thread is None or len(self._files) > 1:
            return
        try:
            self._files.append(os.open(self._database, os.O_RDONLY | os.O_CLOEXEC))
        except OSError:
            pass  # the WAL alone, then: only slower

    def stop(self) -> None:
        """End the thread (waiting for an ``fdatasync`` under way) and close the files it held."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        for fd in self._files:
            os.close(fd)
        self._files.clear()

    def _start(self) -> None:
        try:
            self._files.append(os.open(f"{self._database}-wal", os.O_RDONLY | os.O_CLOEXEC))
        except OSError:  # no WAL file (not in WAL mode): nothing to write behind
            self._stopping.set()
            return
        self._thread = threading.Thread(target=self._run, name="cbm-write-behind", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self._period):
            for fd in list(self._files):  # the database file joins at committing
                try:
                    os.fdatasync(fd)
                except OSError:  # SQLite's own sync reports it (see the module's docstring)
                    pass
