"""The warninglists compiled once into a form that loads in milliseconds (docs/adr/0194-compiled-warninglists.md).

Parsing the lists' JSON and building their lookup structures (70k address ranges merged into sorted segments,
56k names) took about a second in every ``cbm`` process that checks an indicator: a single ``indicators add``,
every ``bundle import``. :class:`CompiledLists` holds exactly what the checks look up; it is built from the lists
once and written beside them in the store (``<store>/warninglists/compiled/<key>.bin``), under a key made of
the lists' files (path, size, modification time), the configured list names and the ignored lists, so an update
(``indicators warninglists --update``), a newer package or a config change compiles again, and a stale file is
never read. The file is ``marshal`` data (stdlib, no code objects) in four parts (names, exact values, IPv4 and
IPv6 segments; IPv4 as raw 32-bit arrays), each with a CRC-32 checked when the file is read: a damaged file is
compiled again, never trusted. A part is decoded only when a check first needs it.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import threading
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from pathlib import Path
from typing import Any, NamedTuple

from cbm.measures.indicators import warninglists
from cbm.measures.indicators.address_ranges import Ranges

FORMAT = 1
_MAGIC = b"cbm-compiled-warninglists\n"
PUBLIC_SUFFIX = "rule:public-suffix"
SUFFIX_LISTS = ("second-level-tlds", "tlds")


class CompiledLists:
    """The warninglists' entries as the landing checks look them up: names (a name and its subdomains), exact
    values, and address ranges as disjoint sorted segments per IP version, each with the labels covering it.

    Loaded from a compiled file, each part is decoded the first time a check needs it (an IPv4 address needs
    only the IPv4 segments: a few hundred KiB copied into an array), so a process that checks one indicator
    pays for one part only."""

    def __init__(self, labels: Sequence[tuple[str, ...]], counts: dict[str, int], *,
                 names: dict[str, int] | None = None, exact: dict[str, int] | None = None,
                 segments: dict[int, tuple[Sequence[int], Sequence[int], Sequence[int]]] | None = None,
                 sections: dict[str, tuple[int, bytes]] | None = None) -> None:
        self.labels = list(labels)  # label tuples, shared: names, exact values and segments index into it
        self.counts = counts
        self._names = names
        self._exact = exact
        self._segments = dict(segments or {})
        self._sections = sections or {}  # part -> (CRC-32, marshal bytes), decoded on first use

    @property
    def names(self) -> dict[str, int]:
        """hostname entry -> index into :attr:`labels` (a name and its subdomains match: the caller walks)."""
        if self._names is None:
            self._names = _decode_keys(self._section("names"))
        return self._names

    @property
    def exact(self) -> dict[str, int]:
        """exact entry (hashes, public suffixes...) -> index into :attr:`labels`."""
        if self._exact is None:
            self._exact = _decode_keys(self._section("exact"))
        return self._exact

    def segments(self, version: int) -> tuple[Sequence[int], Sequence[int], Sequence[int]]:
        """(starts, ends, label index) of the list ranges' disjoint segments for IPv``version``, sorted."""
        found = self._segments.get(version)
        if found is None:
            starts, ends, labels = self._section(f"v{version}")
            if version == 4:  # as lists of ints, as before compiling: bisect then compares existing ints
                starts, ends = _uint32(starts).tolist(), _uint32(ends).tolist()
            found = self._segments[version] = (starts, ends, _uint32(labels))
        return found

    def _section(self, name: str) -> Any:
        crc, raw = self._sections[name]
        if zlib.crc32(raw) != crc:
            raise ValueError(f"compiled warninglists: the {name} part is damaged")
        return marshal.loads(raw)

    @staticmethod
    def build(lists: Iterable[warninglists.WarningList], ignored: Iterable[str] = ()) -> CompiledLists:
        """Compile ``lists`` (leaving out those whose ``warninglist:<name>`` label is in ``ignored``)."""
        skip = set(ignored)
        ranges = Ranges()
        names: dict[str, list[str]] = {}
        exact: dict[str, list[str]] = {}
        counts: dict[str, int] = {}
        for wl in lists:
            label = "warninglist:" + wl.name
            if label in skip:
                continue
            suffix_list = wl.name in SUFFIX_LISTS
            if wl.kind == "cidr":
                ranges.add_all(wl.entries, label)
                counts[wl.name] = len(wl.entries)
                continue
            # each entry's key, as the checks look it up, in C-level passes: stripped, lower case, no dot at
            # either end (one at the start); its labels in the order the lists name it
            keys = list(map(str.rstrip, map(str.lower, map(str.strip, wl.entries)), repeat(".")))
            if any(map(str.startswith, keys, repeat("."))):
                keys = [key[1:] if key.startswith(".") else key for key in keys]
            table = names if wl.kind == "hostname" else exact
            for _ in map(list.append, map(table.setdefault, keys, map(list, repeat(()))),
                         repeat(PUBLIC_SUFFIX if suffix_list else label)):
                pass
            counts[wl.name] = len(wl.entries)
        # each distinct tuple of labels numbered in the order it is first met: names, exact values, segments
        name_found, exact_found = list(map(tuple, names.values())), list(map(tuple, exact.values()))
        built = ranges.built()
        met = dict.fromkeys(chain(name_found, exact_found, *(found for _starts, _ends, found in built.values())))
        index: dict[tuple[str, ...], int] = dict(zip(met, range(len(met)), strict=True))
        name_index = dict(zip(names, map(index.__getitem__, name_found), strict=True))
        exact_index = dict(zip(exact, map(index.__getitem__, exact_found), strict=True))
        segments: dict[int, tuple[Sequence[int], Sequence[int], Sequence[int]]] = {
            version: (starts, ends, list(map(index.__getitem__, found)))
            for version, (starts, ends, found) in built.items()}
        return CompiledLists(list(index), counts, names=name_index, exact=exact_index, segments=segments)

    def find(self, version: int, number: int) -> tuple[str, ...]:
        """The labels of the list ranges holding address ``number`` (IPv``version``), sorted."""
        starts, ends, found = self.segments(version)
        i = bisect_right(starts, number) - 1
        return self.labels[found[i]] if i >= 0 and number <= ends[i] else ()

    def name(self, key: str) -> tuple[str, ...]:
        """The labels of the lists naming ``key`` exactly as a hostname entry (its subdomains: the caller)."""
        found = self.names.get(key)
        return self.labels[found] if found is not None else ()

    def value(self, key: str) -> tuple[str, ...]:
        """The labels of the lists holding ``key`` as an exact value (hashes, public suffixes...)."""
        found = self.exact.get(key)
        return self.labels[found] if found is not None else ()

    # -- the compiled file -------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        v4_starts, v4_ends, v4_found = self.segments(4)
        v6_starts, v6_ends, v6_found = self.segments(6)
        parts = {
            "names": (list(self.names), array("I", self.names.values()).tobytes()),
            "exact": (list(self.exact), array("I", self.exact.values()).tobytes()),
            "v4": (array("I", v4_starts).tobytes(), array("I", v4_ends).tobytes(), array("I", v4_found).tobytes()),
            "v6": (list(v6_starts), list(v6_ends), array("I", v6_found).tobytes()),
        }
        sections = {}
        for name, part in parts.items():
            raw = marshal.dumps(part, 4)
            sections[name] = (zlib.crc32(raw), raw)
        payload = marshal.dumps({"format": FORMAT, "labels": [list(t) for t in self.labels], "counts": self.counts,
                                 "sections": sections}, 4)
        return _MAGIC + payload

    @staticmethod
    def from_bytes(data: bytes) -> CompiledLists | None:
        """The lists ``data`` holds (parts checked and decoded when first used), or None if it is not a compiled
        file of this format."""
        if not data.startswith(_MAGIC):
            return None
        try:
            doc: Any = marshal.loads(data[len(_MAGIC):])
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                return None
            sections = doc["sections"]
            if not isinstance(sections, dict) or set(sections) != {"names", "exact", "v4", "v6"}:
                return None
            return CompiledLists([tuple(t) for t in doc["labels"]], dict(doc["counts"]), sections=sections)
        except (ValueError, EOFError, TypeError, KeyError):
            return None

    def check_whole(self) -> bool:
        """Whether every part decodes (a compiled file read from disk): used once, after reading it."""
        try:
            for name in ("names", "exact", "v4", "v6"):
                crc, raw = self._sections[name]
                if zlib.crc32(raw) != crc:
                    return False
        except (KeyError, TypeError, ValueError):
            return False
        return True


def _decode_keys(part: Any) -> dict[str, int]:
    keys, values = part
    return dict(zip(keys, _uint32(values), strict=True))


def _uint32(raw: bytes) -> array[int]:
    found = array("I")
    if found.itemsize != 4:  # "I" is 32 bits on every platform cbm runs on; "L" where it is not
        found = array("L")
    found.frombytes(raw)
    return found


def cache_key(directory: Path | None, names: Sequence[str], ignored: Iterable[str]) -> str:
    """What the compiled lists depend on: each list file's path, size and modification time, the configured
    names and the ignored lists. A different key compiles again."""
    parts: list[str] = [f"format {FORMAT}", str(directory)]
    for name in names:
        path = directory / name / "list.json" if directory is not None else None
        try:
            st = path.stat() if path is not None else None
        except OSError:
            st = None
        parts.append(f"{name} {st.st_size} {st.st_mtime_ns}" if st is not None else f"{name} -")
    parts.append("ignore " + ",".join(sorted(flag for flag in ignored if flag.startswith("warninglist:"))))
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:32]


def load(cache_dir: Path, directory: Path | None, names: Sequence[str], ignored: Sequence[str]) -> CompiledLists | None:
    """The compiled lists for ``names`` in ``directory`` if ``cache_dir`` holds an intact file for them, else None
    (nothing is compiled)."""
    try:
        found = CompiledLists.from_bytes((cache_dir / f"{cache_key(directory, names, ignored)}.bin").read_bytes())
    except OSError:
        return None
    return found if found is not None and found.check_whole() else None


def load_or_compile(cache_dir: Path | None, directory: Path | None, names: Sequence[str],
                    ignored: Sequence[str]) -> CompiledLists:
    """The compiled lists for ``names`` in ``directory``: read from ``cache_dir`` when a file for them is there and
    intact, else compiled from the lists (by the child :func:`start` forked, if it did) and written there (best
    effort: a read-only store just compiles)."""
    key = cache_key(directory, names, ignored)
    path = cache_dir / f"{key}.bin" if cache_dir is not None else None
    if cache_dir is not None:
        found = load(cache_dir, directory, names, ignored)
        if found is not None:
            return found
    under_way = _UNDER_WAY.pop(path, None) if path is not None else None
    data = _collect(under_way) if under_way is not None else None
    if data is None:
        data = _compiled_apart(directory, names, ignored)
    if data is None:
        data = _compile(directory, names, ignored)
    if path is not None:
        _write(path, data)
    found = CompiledLists.from_bytes(data)
    if found is None:  # cannot happen: to_bytes writes what from_bytes reads (a test holds them to it)
        raise ValueError("compiled warninglists: the compiled form does not read back")
    return found


def _compile(directory: Path | None, names: Sequence[str], ignored: Sequence[str]) -> bytes:
    return CompiledLists.build(warninglists.load(directory, tuple(names)).values(), ignored).to_bytes()


class _Compiling(NamedTuple):
    """A compile under way in a child process: its pid, the reading end of the pipe it writes the bytes to, and
    the process that forked it (a reader process forked meanwhile inherits the record, and must leave it be)."""

    pid: int
    reading: int
    parent: int


_UNDER_WAY: dict[Path, _Compiling] = {}  # by the compiled file's path: started by start, not yet collected


def start(cache_dir: Path, directory: Path | None, names: Sequence[str], ignored: Sequence[str]) -> bool:
    """True if ``cache_dir`` holds the compiled file for these lists; else begin compiling them in a child process
    (as :func:`load_or_compile` would, docs/adr/0245) and return False at once: the next :func:`load_or_compile`
    for them takes the child's bytes, or :func:`settle` does. An import starts its reader process meanwhile
    (docs/adr/0285)."""
    path = cache_dir / f"{cache_key(directory, names, ignored)}.bin"
    if path.is_file():
        return True
    if path not in _UNDER_WAY:
        started = _fork_compile(directory, names, ignored)
        if started is not None:
            _UNDER_WAY[path] = started
    return False


def settle() -> None:
    """Collect every compile :func:`start` began and nothing took (an import that failed before its first check),
    writing its file: no child is left unreaped, no compile wasted."""
    while _UNDER_WAY:
        path, under_way = _UNDER_WAY.popitem()
        data = _collect(under_way)
        if data is not None:
            _write(path, data)


def _compiled_apart(directory: Path | None, names: Sequence[str], ignored: Sequence[str]) -> bytes | None:
    """The compiled file's bytes, made by a short-lived child process (docs/adr/0245), or None where that cannot
    be (no ``fork``, other threads running, the child failed): the caller then compiles in-process.

    Parsing the lists' JSON leaves ~50 MB of the allocator's memory behind in the process that did it (freed
    objects scattered among live ones: the arenas are never given back), for the whole of a first import that
    then forks its reader process, which copies it. The child pays that and exits; we keep the compiled bytes
    (a few MB), decoded part by part as checks need them, exactly as a later process reads the file."""
    started = _fork_compile(directory, names, ignored)
    return _collect(started) if started is not None else None


def _fork_compile(directory: Path | None, names: Sequence[str], ignored: Sequence[str]) -> _Compiling | None:
    """The child of :func:`_compiled_apart`, forked and left compiling; None where it cannot be forked."""
    if not hasattr(os, "fork") or threading.active_count() > 1:  # forking a threaded process risks held locks
        return None
    reading, writing = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(reading)
        os.close(writing)
        return None
    if pid == 0:  # the child: compile, hand the bytes over, leave without running the parent's exit handlers
        code = 1
        try:
            os.close(reading)
            with os.fdopen(writing, "wb") as out:
                out.write(_compile(directory, names, ignored))
            code = 0
        finally:
            os._exit(code)
    os.close(writing)
    return _Compiling(pid, reading, os.getpid())


def _collect(under_way: _Compiling) -> bytes | None:
    """The bytes a compiling child wrote, once it has exited; None if it failed (or is another process's)."""
    pid, reading, parent = under_way
    if parent != os.getpid():
        return None
    chunks: list[bytes] = []
    try:
        with os.fdopen(reading, "rb") as received:
            while chunk := received.read(1 << 20):
                chunks.append(chunk)
    finally:
        _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None  # the in-process compile says what went wrong, as a clean error
    return b"".join(chunks)


def _write(path: Path, data: bytes) -> None:
    """Write ``path`` whole (temporary file, rename) and remove older compiled files beside it; errors ignored."""
    from cbm.core.errors import CbmError
    from cbm.core.files import written_atomically

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with written_atomically(path) as out:
            out.write(data)
    except (OSError, CbmError):  # a read-only store: the next process compiles again
        return
    for old in path.parent.glob("*.bin"):
        if old.name != path.name:
            with contextlib.suppress(OSError):
                os.unlink(old)
