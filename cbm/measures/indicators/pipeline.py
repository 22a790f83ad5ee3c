"""Read a large text feed in a second process, so parsing and normalising run beside signing and indexing.

On the 2-core reference machine the reader and the writer each get a core, so the feed takes about the longer
one's time. A fresh feed's reader also makes the batches (docs/adr/0225) and is the longer side (1M: ~13 s CPU
against the writer's ~8 s before its index rebuild): a batch's landing checks run in the reader only while the
writer lags, else in the writer (docs/adr/0259), and the pipe is widened to hold a made batch.
The child only reads the file and sends rows in chunks through a pipe; it never touches the store. Small
files, stdin and JSON formats are read in-process.

A chunk goes through the pipe as one ``marshal`` blob: rows hold only str, int, None and lists of str, which
marshal writes and reads back at about a quarter of pickle's cost in the child and four fifths in the parent
(both processes are the same interpreter, forked, so marshal's version-bound format is no concern). The one
large binary message, the id filter of an ``unbulk`` (up to 16 MiB), goes as raw bytes after its marshal'd tag,
read straight from the filter's memory (docs/adr/0252).
"""

from __future__ import annotations

import itertools
import marshal
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any

from cbm.core.errors import MalformedInput
from cbm.measures.indicators.batches import Backlog, BatchMaker
from cbm.measures.indicators.formats import Defaults, Item, LineError, ReadNotes, RowBlock
from cbm.measures.indicators.rows import trim

PARALLEL_MIN_BYTES = 4 * 1024 * 1024
CHUNK = 2000
INBOX_CHUNKS = 64  # chunks received and not yet written (about 20 MB): the child reads ahead this far
INBOX_BATCHES = 16  # the same for batches the child made (about 16 MB)
MADE = frozenset(("batch", "held", "unbulk", "lookup", "rows"))  # the messages of a child that makes the batches


def large(path: str) -> bool:
    """Whether ``path`` is a file big enough for the bulk paths (a reader process, a bulk index load)."""
    try:
        return path != "-" and os.path.getsize(path) >= PARALLEL_MIN_BYTES
    except OSError:
        return False


def worthwhile(path: str, fmt: str) -> bool:
    """Whether to read a large ``path`` in a second process (text formats, more than one core)."""
    if path == "-" or fmt not in ("csv", "txt") or os.environ.get("CBM_NO_PARALLEL"):
        return False
    try:
        return large(path) and len(os.sched_getaffinity(0)) > 1
    except AttributeError:
        return False


def _child(path: str, fmt: str, d: Defaults, kind: str, conn: Any, parent_end: Any,
           maker: BatchMaker | None) -> None:
    from cbm.measures.indicators.formats import csv as csv_format
    from cbm.measures.indicators.formats import plain

    # the fork copied the parent's reading end: close it, so that if the parent dies (even by SIGKILL) the pipe
    # has no reader left and our next send fails, instead of blocking on a full pipe forever
    parent_end.close()
    # Ctrl-C reaches the whole process group: the parent handles it (and terminates us), we say nothing
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    notes = ReadNotes()
    send = conn.send_bytes
    try:
        with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="" if fmt == "csv" else None) as text:
            items = csv_format.read_blocks(text, d, notes) if fmt == "csv" else plain.read(text, d, notes, kind)
            for chunk in chunks(items) if maker is None else _made(items, maker):
                if type(chunk) is tuple and chunk[0] == "unbulk":  # the filter's bits go raw: no copy here
                    send(marshal.dumps(("unbulk", len(chunk[1]))))
                    send(chunk[1])
                    continue
                send(marshal.dumps(chunk))
        send(marshal.dumps(("end", asdict(notes))))
    except OSError as e:
        if isinstance(e, BrokenPipeError):
            return  # the importing process is gone: there is no one left to tell
        _report(conn, e)
    except MalformedInput as e:  # a refusal of the file (e.g. empty): said as a small file's reader says it
        _report(conn, e, "refused")
    except Exception as e:  # report, do not die silently: the parent raises it as a clean error
        _report(conn, e)
    finally:
        conn.close()


def chunks(items: Iterable[Item | RowBlock | LineError]) -> Iterator[list[tuple[Any, ...]]]:
    """A reader's output as the child sends it: lists of up to CHUNK ``(trimmed row, tlp)`` pairs (Item's
    shape, a block's rows each one) and ``(line, message, where)`` triples (LineError's)."""
    chunk: list[tuple[Any, ...]] = []
    for item in items:
        if type(item) is RowBlock:
            pairs = list(zip(item.rows, item.tlps, strict=True))
            while pairs:
                room = CHUNK - len(chunk)
                chunk += pairs[:room]
                del pairs[:room]
                if len(chunk) >= CHUNK:
                    yield chunk
                    chunk = []
            continue
        if type(item) is Item:
            chunk.append((trim(item[0]), item[1]))
        else:
            chunk.append(tuple(item))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _made(items: Iterable[Item | RowBlock | LineError], maker: BatchMaker) -> Iterator[Any]:
    """The reader's output when it makes the batches (:mod:`cbm.measures.indicators.batches`): its messages,
    and bad lines in lists of ``(line, message, where)`` as :func:`chunks` sends them, each before what was
    read after it; once the bulk load ended, the rest as :func:`chunks` sends it."""
    errors: list[tuple[Any, ...]] = []
    stream = iter(items)
    for out in maker.add_all(stream):
        if type(out) is LineError:
            errors.append(tuple(out))
            continue
        if errors:
            yield errors
            errors = []
        yield out
    if errors:
        yield errors
    if maker.bulk:
        yield from maker.finish()
    else:  # the rest of a block the bulk load ended in, then the rest of the feed
        yield from chunks(stream if maker.leftover is None else itertools.chain((maker.leftover,), stream))


def _report(conn: Any, error: Exception, kind: str = "error") -> None:
    try:
        conn.send_bytes(marshal.dumps((kind, str(error) if kind == "refused" else f"{type(error).__name__}: {error}")))
    except OSError:
        pass  # the parent stopped listening


PIPE_BYTES = 1 << 20  # Linux's default ceiling for an unprivileged process (/proc/sys/fs/pipe-max-size)


def _widen(end: Any) -> None:
    """Give the pipe behind ``end`` room for a whole made batch (about a megabyte) instead of 64 KiB, so the
    reader hands one over in a write or two, not sixteen waits on the writer's thread (docs/adr/0259). Where the
    system refuses (another OS, a lower ceiling), the pipe keeps its size: only slower, never different."""
    try:
        import fcntl

        fcntl.fcntl(end.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass


def _drain(receiver: Any, inbox: queue.Queue[bytes | None]) -> None:
    """Move the child's messages from the pipe into ``inbox`` as they come (a thread: it waits in ``read(2)``
    without the GIL), so the child never stalls on a full pipe while the writer signs and indexes a batch."""
    try:
        while True:
            inbox.put(receiver.recv_bytes())
    except (EOFError, OSError):
        inbox.put(None)


def read(path: str, fmt: str, d: Defaults, kind: str, notes: ReadNotes,
         maker: BatchMaker | None = None) -> Iterator[Any]:
    """``(row, tlp)`` pairs (Item's shape, rows already trimmed) and LineErrors from ``path``, read by a child
    process; ``notes`` is filled in when the child finishes. With ``maker``, the child groups the rows into
    batches itself and the pairs come in its messages instead (:mod:`cbm.measures.indicators.batches`), each
    yielded as the tuple it sent."""
    context = multiprocessing.get_context("fork")
    backlog: Backlog | None = None
    if maker is not None:  # the reader runs the landing checks only while the writer lags (docs/adr/0259)
        backlog = maker.backlog = Backlog()
    receiver, sender = context.Pipe(duplex=False)
    _widen(sender)
    process = context.Process(target=_child, args=(path, fmt, d, kind, sender, receiver, maker), daemon=True)
    process.start()
    sender.close()
    if maker is not None:
        maker.forget_seeded()  # the reader process has its own copy
    # a made batch is a message of about a megabyte: fewer of them wait
    inbox: queue.Queue[bytes | None] = queue.Queue(maxsize=INBOX_CHUNKS if maker is None else INBOX_BATCHES)
    drainer = threading.Thread(target=_drain, args=(receiver, inbox), daemon=True)
    drainer.start()
    finished = False
    try:
        while True:
            data = inbox.get()
            if data is None:
                raise MalformedInput(f"reading {path} failed: the reader process stopped")
            message = marshal.loads(data)
            if isinstance(message, tuple):
                if message[0] == "unbulk":  # the filter's bits follow as a message of their own
                    bits = inbox.get()
                    if bits is None or len(bits) != message[1]:
                        raise MalformedInput(f"reading {path} failed: the reader process stopped")
                    yield ("unbulk", bits)
                    continue
                if message[0] in MADE:
                    yield message
                    if backlog is not None and message[0] == "batch":
                        backlog.landed()
                    continue
                if message[0] == "error":
                    raise MalformedInput(f"reading {path} failed: {message[1]}")
                if message[0] == "refused":
                    raise MalformedInput(message[1])
                for key, value in message[1].items():
                    setattr(notes, key, value)
                finished = True
                return
            for entry in message:  # (row, tlp) has Item's shape; (line, message, where) is an error
                yield entry if len(entry) == 2 else LineError._make(entry)
    finally:
        if not finished:  # the writer gave up (a bad line, an error): stop reading
            process.terminate()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
        while drainer.is_alive():  # it ends at the pipe's end; unblock it if the inbox is full
            try:
                inbox.get(timeout=0.05)
            except queue.Empty:
                pass
        receiver.close()
