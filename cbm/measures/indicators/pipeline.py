"""Read a large text feed in a second process, so parsing and normalising run beside signing and indexing.

On the 2-core reference machine the reader (CSV parse, refang, normalise, ids: about 18 µs a line) and the
writer (encode, sign, insert, index: about the same) each get a core, which roughly halves a 1M-line import.
The child only reads the file and sends rows in chunks through a pipe; it never touches the store. Small
files, stdin and JSON formats are read in-process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from cbm.core.errors import MalformedInput
from cbm.measures.indicators.formats import Defaults, Item, LineError, ReadNotes
from cbm.measures.indicators.rows import trim

PARALLEL_MIN_BYTES = 4 * 1024 * 1024
CHUNK = 2000


def worthwhile(path: str, fmt: str) -> bool:
    if path == "-" or fmt not in ("csv", "txt") or os.environ.get("CBM_NO_PARALLEL"):
        return False
    try:
        return os.path.getsize(path) >= PARALLEL_MIN_BYTES and len(os.sched_getaffinity(0)) > 1
    except (OSError, AttributeError):
        return False


def _child(path: str, fmt: str, d: Defaults, kind: str, conn: Any) -> None:
    from cbm.measures.indicators.formats import csv as csv_format
    from cbm.measures.indicators.formats import plain

    notes = ReadNotes()
    chunk: list[Any] = []
    try:
        with open(path, encoding="utf-8-sig", newline="" if fmt == "csv" else None) as text:
            items = csv_format.read(text, d, notes) if fmt == "csv" else plain.read(text, d, notes, kind)
            for item in items:
                if isinstance(item, Item):
                    chunk.append((trim(item.row), item.tlp))
                else:
                    chunk.append((item.line, item.message, item.where))
                if len(chunk) >= CHUNK:
                    conn.send(chunk)
                    chunk = []
        if chunk:
            conn.send(chunk)
        conn.send(("end", asdict(notes)))
    except Exception as e:  # report, do not die silently: the parent raises it as a clean error
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def read(path: str, fmt: str, d: Defaults, kind: str, notes: ReadNotes) -> Iterator[Any]:
    """``(row, tlp)`` pairs (Item's shape, rows already trimmed) and LineErrors from ``path``, read by a child
    process; ``notes`` is filled in when the child finishes."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(path, fmt, d, kind, sender), daemon=True)
    process.start()
    sender.close()
    try:
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                raise MalformedInput(f"reading {path} failed: the reader process stopped") from None
            if isinstance(message, tuple):
                if message[0] == "error":
                    raise MalformedInput(f"reading {path} failed: {message[1]}")
                for key, value in message[1].items():
                    setattr(notes, key, value)
                return
            for entry in message:  # (row, tlp) has Item's shape; (line, message, where) is an error
                yield entry if len(entry) == 2 else LineError._make(entry)
    finally:
        receiver.close()
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
