"""The rows of a block of plain feed lines, made column by column (docs/adr/0286).

A million-line feed spends most of its reading time in Python's per-line steps: one call, one unpacking, ten memo
look-ups, one normalisation and one id per line, each a few dozen bytecodes. :class:`BlockRows` takes a block of
lines that are each one plain record of the header's width (the reader checks that, ``formats.csv``) and makes
their rows in passes over whole columns that run in C: a memo look-up is one ``map`` over a column, the values'
normal form is judged by one regular expression over the column, the ids are hashed and shaped for the column at
once, and the rows are zipped together and trimmed. A line that any pass cannot settle is left to the per-line
path (:class:`~cbm.measures.indicators.formats.feed_rows.LineRows`), which decides it as before, so every row made
here is the row ``LineRows.csv`` makes of the same cells, and every refusal is still the full path's; the tests
hold the two to the same rows over varied and hostile blocks (tests/measures/test_indicators_block_rows.py).
"""

from __future__ import annotations

import hashlib
import re
from itertools import compress, repeat
from operator import add, delitem, is_, is_not, le
from typing import Any

from cbm.measures.indicators import model
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.formats.feed_rows import MAX_REMEMBERED, LineRows, _remember

# a digest's bytes 6 and 8 as the UUID's version 4 and RFC 4122 variant set them (model.indicator_id's text)
_VERSION_4 = bytes(0x40 | (b & 0x0F) for b in range(256))
_VARIANT_10 = bytes(0x80 | (b & 0x3F) for b in range(256))


def simple_indicator_ids(author: str, kinds: list[str], values: list[str]) -> list[str]:
    """``model.simple_indicator_id(author, kind, value)`` for each pair, hashed and shaped as one column: each
    hash a copy of one already fed the text up to the value (OpenSSL's set-up of a hash, a third of its cost,
    done once a type), the digests' version and variant bits set in one pass over their joined bytes, their hex
    digits copied into the ids' text by one slice assignment a character (the same text: ids are a contract,
    the tests compare every id)."""
    n = len(values)
    if not n:
        return []
    joined = "".join(values)
    if "'" in joined or "\\" in joined:  # a value the pattern quotes: its id the one-at-a-time way
        return list(map(model.simple_indicator_id, repeat(author), kinds, values))
    heads = _HEADS.get(author)
    if heads is None:  # each type's hash fed the id's text up to the value, once: a row's is a copy of it
        heads = _HEADS[author] = {
            kind: hashlib.sha256(f"cbm indicator\n{author}\n{model._PATTERN_HEADS[kind]}'".encode())
            for kind in model.SIMPLE_TYPES}
    hashes = list(map(_HASH.copy, map(heads.__getitem__, kinds)))
    for _ in map(_HASH.update, hashes, map(str.encode, map(add, values, repeat("']")))):
        pass
    digests = bytearray(b"".join(map(_HASH.digest, hashes)))
    digests[6::32] = digests[6::32].translate(_VERSION_4)
    digests[8::32] = digests[8::32].translate(_VARIANT_10)
    hexes = digests.hex().encode("ascii")  # 64 digits a digest, the id takes the first 32
    text = bytearray(_ID_WIDTH * n)
    for at, byte in _ID_CONSTANT:
        text[at::_ID_WIDTH] = byte * n
    for at, digit in _ID_DIGITS:
        text[at::_ID_WIDTH] = hexes[digit::64]
    del text[-1:]
    return text.decode("ascii").split("\n")


_HASH: Any = type(hashlib.sha256())
_HEADS: dict[str, dict[str, Any]] = {}  # author -> type -> the hash of an indicator id's text up to the value
_ID_TEMPLATE = "indicator--xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\n"
_ID_WIDTH = len(_ID_TEMPLATE)
_ID_CONSTANT = [(at, char.encode("ascii")) for at, char in enumerate(_ID_TEMPLATE) if char != "x"]
_ID_DIGITS = list(zip([at for at, char in enumerate(_ID_TEMPLATE) if char == "x"], range(32), strict=True))


# -- the values already in normal form, in the common shapes --------------------------------------------------
# A value of a simple type that model._common returns unchanged (nothing to refang, strip, lowercase or quote), as
# one alternative a type, on "type\0value": a column of them is judged by one match over its lines, and a value
# given without a type is recognised by the group it matched (the order model._common tries the shapes in).

_HOST_AT_MOST_253 = r"(?=[^:/?#\n]{1,253}[:/?#\n])"  # a URL's host: the characters before a port, path or end
_URL_REST = model._COMMON_URL.pattern.split("://", 1)[1]
assert _URL_REST.startswith("(") and not _URL_REST.startswith("(?")  # the host's group: made non-capturing
_URL_TEXT = rf"(?:https?|ftp)://{_HOST_AT_MOST_253}(?:{_URL_REST[1:]}"
_DOMAIN_TEXT = rf"(?=[^\n]{{1,253}}\n){model._COMMON_DOMAIN_TEXT}"
_SHAPES = {
    "ipv4-addr": model._COMMON_IPV4_TEXT,
    "domain-name": _DOMAIN_TEXT,
    "url": _URL_TEXT,
    "file-md5": "[0-9a-f]{32}",
    "file-sha1": "[0-9a-f]{40}",
    "file-sha256": "[0-9a-f]{64}",
}
_RECOGNISED = ("file-md5", "file-sha1", "file-sha256", "ipv4-addr", "domain-name", "url")  # model._common's order
_GROUPS = {kind: kind.replace("-", "_") for kind in _RECOGNISED}


def _alternatives(named: bool) -> str:
    """One alternative a type, on ``type\0value``, and one for a value to recognise (a group a type, named when
    ``named``: the column's pattern has no capturing group, which Python's re cannot report inside a possessive
    repeat)."""
    recognised = "|".join(f"(?P<{_GROUPS[kind]}>{_SHAPES[kind]})" if named else f"(?:{_SHAPES[kind]})"
                          for kind in _RECOGNISED)
    return "|".join([*(f"{re.escape(kind)}\\x00(?:{text})" for kind, text in _SHAPES.items()),
                     f"\\x00(?:{recognised})"])


_LINE = re.compile(rf"(?:{_alternatives(True)})\n")
_COLUMN = re.compile(rf"(?>(?:{_alternatives(False)})\n)*+")
_KIND_OF_GROUP = {group: kind for kind, group in _GROUPS.items()}
_PREFIX = {kind: kind + "\x00" for kind in (*model.SIMPLE_TYPES, "")}


def normal_kinds(kinds: list[str], values: list[str]) -> tuple[list[str], list[int]]:
    """For ``(kind, value)`` pairs (``kind`` a canonical simple type or ``""``: recognise; ``value`` one line, no
    longer than ``rows.MAX_TEXT``): the types ``model.normalise`` gives for the values it gives back as they are
    through one of the common shapes (an IPv6 address is not one: the socket module judges it, one at a time),
    and the positions of the others, which need ``model.normalise`` of their
    own (another shape, a value it changes or refuses); their types are left as given. One match over the column
    runs up to each such value; a value to recognise is matched on its own, its group naming its type."""
    if not values:
        return kinds, []
    text = "\n".join(map(add, map(_PREFIX.__getitem__, kinds), values)) + "\n"
    unsettled: list[int] = []
    at = line = 0
    end = len(text)
    match = _COLUMN.match
    while True:
        found = match(text, at)  # it matches, if only the empty string
        stop = found.end() if found is not None else at
        if stop == end:
            break
        line += text.count("\n", at, stop)  # the lines matched; the next one is not
        unsettled.append(line)
        line += 1
        at = text.index("\n", stop) + 1
    if "" in kinds:
        kinds = list(kinds)
        for i, kind in enumerate(kinds):
            if not kind and (not unsettled or i not in unsettled):
                found = _LINE.fullmatch(_PREFIX[""] + values[i] + "\n")
                kinds[i] = _KIND_OF_GROUP[found.lastgroup or ""] if found is not None else ""
    return kinds, unsettled


# -- the rows ----------------------------------------------------------------------------------------------------

_none_if_empty: Any = {"": None}.get  # (text, text): None for "", else the text
_TRIM_FROM = [slice(i, None) for i in range(len(R.FIELDS) + 1)]
_LATEST = "\U0010ffff"  # after any time: a row without valid_until is never past


class BlockRows:
    """Makes the rows of blocks of plain CSV lines, sharing the per-line path's memos (``rows``)."""

    def __init__(self, rows: LineRows) -> None:
        self.line_rows = rows
        d = rows.d
        self.author = d.author
        self._now = {None: d.now}
        self._columns = (  # (the key in formats.csv._KEYS, its memo, the parse of a text) of each memo'd column
            (2, rows._kinds, rows._kind), (3, rows._tlps, rows._tlp), (4, rows._sectors, rows._sectors_of),
            (5, rows._labels, rows._labels_of), (6, rows._types, rows._types_of), (7, rows._starts, rows._start),
            (8, rows._untils, rows._until), (11, rows._confidences, rows._confidence),
            (12, rows._origins, rows._origin), (13, rows._asns, rows._asn))

    def make(self, cells: list[str], n: int, where: list[int], width: int,
             longest: int) -> tuple[list[list[Any]], list[str], list[int]]:
        """The rows and TLPs of ``n`` lines whose cells, ``width`` a line, are ``cells`` (``where``: the column of
        each of ``formats.csv._KEYS``, -1 when absent; ``longest``: the length of the longest line, at least
        that of its longest cell), and the positions (in order) of the lines left to the per-line path, which
        have neither. Each row is ``LineRows.csv``'s row of its line: trimmed of trailing nulls, its lists its
        own."""
        end = n * width

        def column(key: int) -> list[str]:
            return cells[where[key]:end:width]

        odd: set[int] = set()
        if where[0] >= 0:  # a revoked row is the full path's to skip
            revoked = column(0)
            if any(revoked):
                odd.update(i for i, text in enumerate(revoked) if text.strip())
        kinds, tlps, sectors, labels, types, starts, untils, confidences, origins, asns = (
            self._parsed(column(key) if where[key] >= 0 else None, n, memo, parse, odd)
            for key, memo, parse in self._columns)
        if any(untils):  # as LineRows.csv: valid_until not after the start (or now) is the full path's
            if any(map(_le, map(_NO_END.get, untils, untils), map(self._now.get, starts, starts))):
                now = self.line_rows.d.now
                odd.update(i for i, (until, start) in enumerate(zip(untils, starts, strict=True))
                           if until is not None and until <= (start or now))
        values = column(1)
        if odd:  # a type the full path refuses (None): any type, the line is the full path's
            kinds = [kind or "" for kind in kinds]
        kinds, unsettled = normal_kinds(kinds, values)
        if unsettled:  # another shape (an IPv6 address, an upper-case hash...): normalised one by one
            values = list(values)
            for i in unsettled:
                if i in odd:
                    continue
                try:
                    kind, value = model.normalise(kinds[i], values[i])
                except model.BadValue:
                    odd.add(i)
                    continue
                if len(value) > R.MAX_TEXT or not value.isprintable():
                    odd.add(i)  # the full path says which rule the value breaks
                    continue
                kinds[i], values[i] = kind, value
        names = list(map(str.strip, column(9))) if where[9] >= 0 else [""] * n
        descriptions = list(map(str.strip, column(10))) if where[10] >= 0 else [""] * n
        if longest > R.MAX_TEXT:
            odd.update(i for i, (value, name, description) in enumerate(zip(values, names, descriptions, strict=True))
                       if max(len(value), len(name), len(description)) > R.MAX_TEXT)
        if not all(map(str.isprintable, names)):
            odd.update(i for i, name in enumerate(names) if not name.isprintable())
        if odd:  # their rows are made and dropped: a value standing in for theirs, so that every id can be made
            values, kinds = list(values), list(kinds)
            for i in odd:
                values[i], kinds[i] = "odd.example", "domain-name"
        rows = self._rows(kinds, values, untils, confidences, sectors, names, descriptions, starts, types, labels,
                          origins, asns)
        if odd:
            keep = [i not in odd for i in range(n)]
            return list(compress(rows, keep)), list(compress(tlps, keep)), sorted(odd)
        return rows, tlps, []

    def _parsed(self, texts: list[str] | None, n: int, memo: dict[str, Any], parse: Any,
                odd: set[int]) -> list[Any]:
        """What the per-line path's memo holds for each text of a column (None: the column is absent, each text
        ""), learning the texts it lacks; the lines of a text it refuses (the full path reports it) join ``odd``
        (their values None)."""
        if texts is None:
            if "" not in memo:
                _remember(memo, "", parse)
            if "" not in memo:
                odd.update(range(n))
                return [None] * n
            return [memo[""]] * n
        try:
            return list(map(memo.__getitem__, texts))
        except KeyError:
            pass
        distinct = set(texts)
        missing = distinct.difference(memo)
        if len(memo) + len(missing) > MAX_REMEMBERED:  # emptied, but for the texts of this block (fewer)
            held = {text: memo[text] for text in distinct.intersection(memo)}
            memo.clear()
            memo.update(held)
        for text in missing:
            _remember(memo, text, parse)
        refused = distinct.difference(memo)
        if refused:
            odd.update(i for i, text in enumerate(texts) if text in refused)
            return [memo.get(text) for text in texts]
        return list(map(memo.__getitem__, texts))

    def _rows(self, kinds: list[str], values: list[str], untils: list[Any], confidences: list[Any],
              sectors: list[Any], names: list[str], descriptions: list[str], starts: list[Any], types: list[Any],
              labels: list[Any], origins: list[Any], asns: list[Any]) -> list[list[Any]]:
        """The rows, laid out as LineRows.csv lays them out, trimmed of trailing nulls."""
        n = len(values)
        sids = simple_indicator_ids(self.author, kinds, values)
        if not all(names):
            names = list(map(_none_if_empty, names, names))
        if not all(descriptions):
            descriptions = list(map(_none_if_empty, descriptions, descriptions))
        none = repeat(None)
        columns: list[Any] = [sids, kinds, values, untils, confidences, _lists(sectors), names, descriptions, starts,
                              none, _lists(types), _lists(labels)]
        trailing = [untils, confidences, sectors, names, descriptions, starts, none, types, labels]
        if any(origins) or any(asns):
            columns += [none, none, none, origins, asns]
            trailing += [none, none, none, origins, asns]
        rows = list(map(list, zip(*columns, strict=False)))  # the constant columns repeat
        # each row's width: one past its last value (its id, type and value always hold one); the rows whose last
        # column is empty are found a column back at a time, in C-level passes over their positions
        at = list(compress(range(n), map(is_, trailing[-1], repeat(None))))
        for back in range(len(trailing) - 2, -1, -1):
            if not at:
                break
            column = trailing[back]
            if type(column) is not list:
                continue  # a column that is always empty here
            cells = list(map(column.__getitem__, at))
            ending = list(compress(at, map(is_not, cells, repeat(None))))
            if ending:
                for _ in map(delitem, map(rows.__getitem__, ending), repeat(_TRIM_FROM[back + 4])):
                    pass
                at = list(compress(at, map(is_, cells, repeat(None))))
        for _ in map(delitem, map(rows.__getitem__, at), repeat(_TRIM_FROM[3])):
            pass
        return rows


_NO_END: dict[Any, str] = {None: _LATEST}
_le: Any = le


def _lists(column: list[Any]) -> Any:
    """A column of tuples (or None) as the rows hold it: a list of its own for each row, None kept."""
    if all(column):  # no None (nor an empty tuple)
        return map(list, column)
    if not any(column) and column.count(None) == len(column):
        return repeat(None)
    return [None if items is None else list(items) for items in column]
