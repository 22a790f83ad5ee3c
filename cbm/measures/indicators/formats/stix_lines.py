"""The STIX export's bytes: indicator objects encoded straight from batch rows, and a bundle written as UTF-8
lines to a binary stream (issue 20, docs/adr/0200-exports-write-bytes.md).

:meth:`IndicatorEncoder.encode` gives exactly the bytes of ``stix.indicator(...)`` encoded compactly with
``ensure_ascii=False`` — the form every STIX export has had — at a fraction of the cost: what all rows of one
batch record share (identity id, version time, TLP marking) is encoded once, the fixed keys are constant
bytes, and orjson encodes the rest in one call (formats/jsonbytes.py says why that is the same form). A row
with properties of its own (``extra``: kept from a STIX source) takes the general path, ``stix.indicator``
itself.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from cbm.measures.indicators import model
from cbm.measures.indicators.formats import stix_time
from cbm.measures.indicators.formats.jsonbytes import ByteSink, dumps
from cbm.measures.indicators.formats.stix_extension import EXTENSION_ID

_HEAD = b'{"type":"indicator","spec_version":"2.1",'
_REVOKED = b',"revoked":true'
_SECTORS = b',"extensions":{"' + EXTENSION_ID.encode() + b'":{"extension_type":"property-extension","sectors":'
# the pattern of a plain indicator up to its quoted value (model.pattern_for, without a call per row)
_PATTERN_HEADS = {kind: f"[{kind}:value = '" if kind in ("ipv4-addr", "ipv6-addr") else f"[{path} = '"
                  for kind, path in model.SIMPLE_TYPES.items()}
_PATTERN_HEADS.update({kind: f"[{kind}:value = '" for kind in ("ipv4-addr", "ipv6-addr")})


class Version(NamedTuple):
    """What every indicator of one batch record shares, encoded once."""

    author: str
    tlp: str
    modified: str  # the record's time, as the index keeps it (seconds)
    created_by_ref: str
    stix_modified: str  # with milliseconds, as STIX writes created/modified
    marking: bytes  # ',"object_marking_refs":["marking-definition--..."]'


class IndicatorEncoder:
    """Encodes batch rows as STIX indicator objects (bytes, no newline)."""

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str, str], Version] = {}
        self._identities: dict[str, str] = {}

    def version(self, author: str, tlp: str, modified: str) -> Version:
        """The shared part for rows of ``author``'s record at ``modified`` labelled ``tlp`` (KeyError: not a TLP
        label, as stix.indicator)."""
        key = (author, tlp, modified)
        found = self._versions.get(key)
        if found is None:
            ref = self._identities.get(author)
            if ref is None:
                ref = self._identities[author] = model.identity_id(author)
            marking = b',"object_marking_refs":' + orjson.dumps([model.TLP_MARKING_IDS[tlp]])
            found = self._versions[key] = Version(author, tlp, modified, ref, stix_time(modified), marking)
        return found

    def encode(self, v: Version, row: list[Any], revoked: bool) -> bytes:
        """The indicator for ``row`` (a FIELDS-ordered, padded batch row) of version ``v``: the same bytes as
        ``stix.indicator(v.author, v.tlp, row, v.modified, revoked)`` compactly encoded."""
        sid, kind, value, until, confidence, sectors, name, description, valid_from, pattern, types, labels, \
            kill_chain, created, extra = row[:15]  # origin and asn (15, 16): written beside it, stix_origin
        if extra and type(extra) is dict:
            from cbm.measures.indicators.formats import stix

            return dumps(stix.indicator(v.author, v.tlp, row, v.modified, revoked))
        obj: dict[str, Any] = {"id": sid, "created": stix_time(created) if created else v.stix_modified,
                               "modified": v.stix_modified, "created_by_ref": v.created_by_ref}
        if name:
            obj["name"] = name
        if description:
            obj["description"] = description
        if types:
            obj["indicator_types"] = types
        if pattern:
            obj["pattern"] = pattern
        else:
            head = _PATTERN_HEADS.get(kind)
            if head is not None and type(value) is str and "'" not in value and "\\" not in value:
                obj["pattern"] = head + value + "']"
            else:
                obj["pattern"] = model.pattern_for(kind, value)
        obj["pattern_type"] = "stix"
        obj["valid_from"] = valid_from or v.modified
        if until:
            obj["valid_until"] = until
        if kill_chain:
            obj["kill_chain_phases"] = kill_chain
        if confidence is not None:
            obj["confidence"] = confidence
        if labels:
            obj["labels"] = labels
        try:
            body = orjson.dumps(obj)
        except orjson.JSONEncodeError:
            from cbm.measures.indicators.formats import stix

            return dumps(stix.indicator(v.author, v.tlp, row, v.modified, revoked))
        tail = _REVOKED + v.marking if revoked else v.marking
        if sectors:
            return _HEAD + body[1:-1] + tail + _SECTORS + dumps(sectors) + b"}}}"
        return _HEAD + body[1:-1] + tail + b"}"


class BundleWriter:
    """Writes ``{"type":"bundle","id":...,"objects":[...]}`` one object per line to a binary stream, streaming:
    the layout cbm's STIX reader reads line by line."""

    def __init__(self, out: ByteSink, bundle_id: str) -> None:
        self.out = out
        self.count = 0
        out.write(b'{"type":"bundle","id":' + dumps(bundle_id) + b',"objects":[\n')

    def write(self, obj: dict[str, Any]) -> None:
        """One object."""
        self.lines([dumps(obj)])

    def lines(self, encoded: list[bytes]) -> None:
        """Objects already encoded (one JSON object each, no newline), in one write."""
        if not encoded:
            return
        text = b",\n".join(encoded)
        self.out.write(b",\n" + text if self.count else text)
        self.count += len(encoded)

    def close(self) -> None:
        self.out.write(b"\n]}\n")
