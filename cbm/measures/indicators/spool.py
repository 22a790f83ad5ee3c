"""Writing an export on a second thread: the caller encodes the next records while the last ones are copied to
the file or pipe (a write releases the GIL), in chunks of about a megabyte, a few chunks in flight."""

from __future__ import annotations

import queue
import threading
from types import TracebackType
from typing import IO


class ThreadedWriter:
    """A write-only binary stream over ``out`` whose writes happen on a thread. Small writes are gathered into
    chunks of ``chunk`` bytes; a write of a chunk or more is queued as it is, without a copy (the writer takes
    it over: a ``bytearray`` written must not be changed afterwards); at most ``depth`` chunks wait. An error
    writing ``out`` (a full disk, a closed pipe) is raised again, as it was, by the next :meth:`write` or by
    :meth:`close`. Use as a context manager: leaving the block without an error flushes everything to ``out``
    (not closing it)."""

    def __init__(self, out: IO[bytes], chunk: int = 1 << 20, depth: int = 4) -> None:
        self.out = out
        self.chunk = chunk
        self.buffer = bytearray()
        self.pending: queue.Queue[bytes | bytearray | None] = queue.Queue(depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._drain, name="cbm-export-writer", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while (data := self.pending.get()) is not None:
            if self.error is None:
                try:
                    self.out.write(data)
                except BaseException as e:  # handed to the caller's thread, which raises it
                    self.error = e

    def _raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    def write(self, data: bytes | bytearray) -> int:
        """Queue ``data`` (taken over when it is a chunk or more); raises what an earlier write to ``out``
        raised."""
        self._raise_error()
        if len(data) >= self.chunk:
            self._flush()
            self.pending.put(data)
        else:
            self.buffer += data
            if len(self.buffer) >= self.chunk:
                self._flush()
        return len(data)

    def _flush(self) -> None:
        if self.buffer:
            self.pending.put(self.buffer)
            self.buffer = bytearray()

    def close(self) -> None:
        """Write what is left, wait for the thread and flush ``out``; raises what a write to ``out`` raised."""
        self._flush()
        self.pending.put(None)
        self.thread.join()
        self._raise_error()
        self.out.flush()

    def abandon(self) -> None:
        """Stop the thread without writing what is left (the caller is failing anyway)."""
        self.buffer.clear()
        self.error = self.error or RuntimeError("export abandoned")
        self.pending.put(None)
        self.thread.join()

    def __enter__(self) -> ThreadedWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()
