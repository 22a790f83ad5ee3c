"""The STIX export's bytes: indicator objects encoded straight from batch rows, and a bundle written as UTF-8
lines to a binary stream (issue 20, docs/adr/0200-exports-write-bytes.md, docs/adr/0219-stix-export-runs.md).

:meth:`IndicatorEncoder.run` gives, for a run of rows of one batch record, exactly the bytes of
``stix.indicator(...)`` encoded compactly with ``ensure_ascii=False`` — the form every STIX export has had — at
a fraction of the cost: what all rows of one record share (identity id, version time, TLP marking) is made
once, each row is one dict in the fixed key order and one ``orjson.dumps`` (formats/jsonbytes.py says why that
is the same form), and the run's lines are gathered in one ``bytearray`` (orjson's results are dropped as soon
as they are copied: keeping thousands of them alive costs more than encoding them). A row with properties of
its own (``extra``: kept from a STIX source) takes the general path, ``stix.indicator`` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import orjson

from cbm.measures.indicators import model
from cbm.measures.indicators.formats import stix_time
from cbm.measures.indicators.formats.jsonbytes import ByteSink, dumps
from cbm.measures.indicators.formats.stix import created_or
from cbm.measures.indicators.formats.stix_extension import EXTENSION_ID

SEPARATOR = b",\n"  # between two objects of the bundle: one object per line
# the pattern of a plain indicator up to its quoted value (model.pattern_for, without a call per row)
_PATTERN_HEADS = {kind: f"[{kind}:value = '" if kind in ("ipv4-addr", "ipv6-addr") else f"[{path} = '"
                  for kind, path in model.SIMPLE_TYPES.items()}
_PATTERN_HEADS.update({kind: f"[{kind}:value = '" for kind in ("ipv4-addr", "ipv6-addr")})

# The nulls that pad a row of n cells to the 15 the encoder reads (rows are signed with trailing nulls dropped)
_PADS = [[None] * (15 - n) for n in range(16)]
# Objects to write right after an indicator's row (see IndicatorEncoder.run).
After = Callable[[list[Any]], Iterable[dict[str, Any]]]


_OPEN = b'{"type":"indicator","spec_version":"2.1"'
_COMMA = ord(",")


class Version(NamedTuple):
    """What every indicator of one batch record shares, made once."""

    author: str
    tlp: str
    modified: str  # the record's time, as the index keeps it (seconds)
    created_by_ref: str
    stix_modified: str  # with milliseconds, as STIX writes created/modified
    tails: tuple[bytes, bytes, bytes, bytes]  # what ends an indicator: plain, revoked, with sectors, both


def _tails(tlp: str) -> tuple[bytes, bytes, bytes, bytes]:
    marking = b'"object_marking_refs":' + orjson.dumps([model.TLP_MARKING_IDS[tlp]])
    revoked = b'"revoked":true,' + marking
    sectors = b',"extensions":{"' + EXTENSION_ID.encode() + b'":{"extension_type":"property-extension","sectors":'
    return marking + b"}", revoked + b"}", marking + sectors, revoked + sectors


class IndicatorEncoder:
    """Encodes batch rows as STIX indicator objects."""

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str, str], Version] = {}

    def version(self, author: str, tlp: str, modified: str) -> Version:
        """The shared part for rows of ``author``'s record at ``modified`` labelled ``tlp`` (KeyError: not a TLP
        label, as stix.indicator)."""
        key = (author, tlp, modified)
        found = self._versions.get(key)
        if found is None:
            found = self._versions[key] = Version(author, tlp, modified, model.identity_id(author),
                                                  stix_time(modified), _tails(tlp))
        return found

    def encode(self, v: Version, row: list[Any], revoked: bool) -> bytes:
        """The indicator for one ``row`` (a FIELDS-ordered, padded batch row) of version ``v``: the same bytes
        as ``stix.indicator(v.author, v.tlp, row, v.modified, revoked)`` compactly encoded."""
        return bytes(self.run(v, [row], [0], [int(revoked)])[len(SEPARATOR):])

    def run(self, v: Version, rows: Sequence[list[Any]], positions: Iterable[int], revoked_flags: Iterable[int],
            after: After | None = None) -> bytearray:
        """The indicators for ``rows[pos]`` of each of ``positions``, in order, revoked where the matching
        ``revoked_flags`` is true, each preceded by ``SEPARATOR`` and followed by what ``after(row)`` gives for
        it (when given). Every indicator is the same bytes as ``stix.indicator(v.author, v.tlp, row, v.modified,
        revoked)`` compactly encoded; rows are in FIELDS order, padded (``rows.rows_of``) or as signed, with
        trailing nulls dropped (a row is padded here, in the copy the loop makes of its first 15 cells anyway);
        ``after`` is given the row as it is in ``rows`` (padded rows, for a hook reading origin or AS number).

        Only the properties that differ between rows go through a dict and orjson; the constant head and the
        tails (revoked, marking, the sectors extension) are spliced in as bytes: orjson's ``{"id":...}`` has
        its braces overwritten with the commas that join it to them."""
        out = bytearray()
        smod, cref, vmod = v.stix_modified, v.created_by_ref, v.modified
        plain, revoked_tail, sectors_tail, revoked_sectors_tail = v.tails
        head = SEPARATOR + _OPEN
        heads = _PATTERN_HEADS
        encode = orjson.dumps
        pads = _PADS
        for pos, revoked in zip(positions, revoked_flags, strict=True):
            row = rows[pos]
            n = len(row)
            sid, kind, value, until, confidence, sectors, name, description, valid_from, pattern, types, labels, \
                kill_chain, created, extra = row[:15] if n >= 15 else row + pads[n]  # origin, asn: for ``after``
            if extra and type(extra) is dict:
                out += SEPARATOR
                out += _general(v, row if n >= 15 else row + pads[n], revoked)
            else:
                obj: dict[str, Any] = {"id": sid,
                                       "created": created_or(created, smod) if type(created) is str else smod,
                                       "modified": smod, "created_by_ref": cref}
                if name:
                    obj["name"] = name
                if description:
                    obj["description"] = description
                if types:
                    obj["indicator_types"] = types
                if pattern:
                    obj["pattern"] = pattern
                else:
                    start = heads.get(kind)
                    if start is not None and type(value) is str and "'" not in value and "\\" not in value:
                        obj["pattern"] = start + value + "']"
                    else:
                        obj["pattern"] = model.pattern_for(kind, value)
                obj["pattern_type"] = "stix"
                obj["valid_from"] = valid_from or vmod
                if until:
                    obj["valid_until"] = until
                if kill_chain:
                    obj["kill_chain_phases"] = kill_chain
                if confidence is not None:
                    obj["confidence"] = confidence
                if labels:
                    obj["labels"] = labels
                try:
                    body = encode(obj)
                    if sectors:
                        listed = encode(sectors)
                except orjson.JSONEncodeError:  # past orjson's range: the standard library's same form
                    out += SEPARATOR
                    out += _general(v, row if n >= 15 else row + pads[n], revoked)
                else:
                    out += head
                    brace = len(out)
                    out += body
                    out[brace] = out[-1] = _COMMA  # {"id":...} -> ,"id":...,
                    if sectors:
                        out += revoked_sectors_tail if revoked else sectors_tail
                        out += listed
                        out += b"}}}"
                    else:
                        out += revoked_tail if revoked else plain
            if after is not None:
                for extra_object in after(row):
                    out += SEPARATOR
                    out += dumps(extra_object)
        return out


def _general(v: Version, row: list[Any], revoked: Any) -> bytes:
    from cbm.measures.indicators.formats import stix

    return dumps(stix.indicator(v.author, v.tlp, row, v.modified, bool(revoked)))


class BundleWriter:
    """Writes ``{"type":"bundle","id":...,"objects":[...]}`` one object per line to a binary stream, streaming:
    the layout cbm's STIX reader reads line by line."""

    def __init__(self, out: ByteSink, bundle_id: str) -> None:
        self.out = out
        self.first = True
        out.write(b'{"type":"bundle","id":' + dumps(bundle_id) + b',"objects":[\n')

    def write(self, obj: dict[str, Any]) -> None:
        """One object."""
        self.lines([dumps(obj)])

    def lines(self, encoded: list[bytes]) -> None:
        """Objects already encoded (one JSON object each, no newline), in one write."""
        if encoded:
            self.run(bytearray(SEPARATOR + SEPARATOR.join(encoded)))

    def run(self, encoded: bytearray) -> None:
        """Objects already encoded, each preceded by ``SEPARATOR`` (:meth:`IndicatorEncoder.run`). The writer
        takes ``encoded`` over: the caller must not change it afterwards."""
        if not encoded:
            return
        if self.first:
            del encoded[:len(SEPARATOR)]  # O(1) on a bytearray
            self.first = False
        self.out.write(encoded)

    def close(self) -> None:
        self.out.write(b"\n]}\n")
