"""One pattern, one indicator per author: whatever ids the inputs bring, an author's pattern keeps the first id.

cbm gives an indicator it makes (CSV, plain list, MISP, ``add``) the id derived from author and pattern
(``model.indicator_id``), so those inputs agree by construction. A STIX indicator keeps the id its source gave
it (ADR 0020), so the same domain in two STIX files, or once from MISP and once from STIX, would otherwise be
two indicators of one author. Rule (docs/adr/0169-one-pattern-one-indicator.md): at import, a row whose pattern
the author already holds, or met earlier in the same import, under another id takes that first id; when the
id it came with was a source's (not the derived one), the batch records a STIX ``derived-from`` relationship
from the kept id to it, and the batch's related objects that referenced it now reference the kept id.

"The same pattern": for the eight simple types, the same type and normalised value (however the STIX pattern
spelled it); for free patterns, the same pattern text, byte for byte (ADR 0022: free patterns are not
normalised).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cbm.measures.indicators import model, queries
from cbm.measures.indicators import rows as R
from cbm.store.db import Store

Key = tuple[str, str]


def pattern_key(row: list[Any]) -> Key:
    """What makes two rows of one author the same indicator: (type, value), or ("pattern", text)."""
    if row[R.TYPE] == model.PATTERN_TYPE:
        return model.PATTERN_TYPE, row[R.PATTERN] or ""
    return row[R.TYPE], row[R.VALUE] or ""


class OneIdPerPattern:
    """Maps each row of an import to the id its author's pattern already has. Used by the batch writer.

    ``held_before``: the author held indicators when the import began (else only rows of this import can
    match). ``trusted``: rows made by cbm's CSV/plain readers, whose ids are all derived from the pattern (then
    in-import repeats already share an id and no memory of this import's patterns is needed).
    ``load_row(rec, pos)`` reads a held row (for free patterns, whose text the index does not keep).
    """

    def __init__(self, store: Store, *, held_before: bool, trusted: bool,
                 load_row: Callable[[int, int], list[Any]]) -> None:
        self.store = store
        self.author = store.party
        self.held_before = held_before
        self.trusted = trusted
        self.load_row = load_row
        self.first: dict[Key, str] = {}  # this import's patterns (untrusted rows only)
        self.aliases: dict[str, str] = {}  # id an input brought -> the id kept
        self.links: list[dict[str, Any]] = []
        self.merged = 0

    @property
    def active(self) -> bool:
        """Whether any row can need another id: never for cbm-made rows into a store without ours (the 1M
        feed's path costs nothing)."""
        return self.held_before or not self.trusted

    def collapse(self, rows: dict[str, list[Any]], *, held: bool = True) -> tuple[dict[str, list[Any]], int]:
        """``rows`` (id -> row, one batch) keyed by the id each pattern keeps; and how many rows fell onto
        another row of the same batch (repeats). Idempotent. ``held=False``: the caller knows that the author
        holds none of these rows' values (a bulk load's filter said so), so the index is not asked."""
        held = held and self.held_before
        if not (held or not self.trusted) or not rows:
            return rows, 0
        keys = {sid: pattern_key(row) for sid, row in rows.items()}
        kept = self._held(rows, keys) if held else {}
        out: dict[str, list[Any]] = {}
        repeats = 0
        for sid, row in rows.items():
            key = keys[sid]
            target = kept.get(key) or self.first.get(key)
            if target is None:
                target = sid
                if not self.trusted:
                    self.first[key] = sid
            if target != sid:
                row = list(row)
                row[R.ID] = target
                self._alias(sid, target, row)
            if target in out:
                repeats += 1
            out[target] = row
        return out, repeats

    def _held(self, rows: dict[str, list[Any]], keys: dict[str, Key]) -> dict[Key, str]:
        """key -> the id the author holds it under, for the keys of one batch (the earliest held id wins).
        The index keeps a free pattern's first value, not its text: those candidates are read back."""
        wanted = set(keys.values())
        free = any(kind == model.PATTERN_TYPE for kind, _ in wanted)
        values = sorted({row[R.VALUE] for row in rows.values() if row[R.VALUE]})
        found: dict[Key, str] = {}
        for sid, kind, value, rec, pos in self.store.query(queries.own_by_values, self.author, values):
            key: Key = (kind, value)
            if kind == model.PATTERN_TYPE:
                if not free:
                    continue
                key = (kind, self.load_row(rec, pos)[R.PATTERN] or "")
            if key in wanted and key not in found:
                found[key] = sid
        return found

    def _alias(self, original: str, kept: str, row: list[Any]) -> None:
        self.merged += 1
        if original in self.aliases:
            return
        self.aliases[original] = kept
        # a row may come trimmed of its trailing nulls (a feed's rows always do): no pattern cell is no pattern
        pattern = (row[R.PATTERN] if len(row) > R.PATTERN else None) or model.pattern_for(row[R.TYPE], row[R.VALUE])
        if original != model.indicator_id(self.author, pattern):  # a source's id, not one cbm derived
            from cbm.measures.indicators import authorship

            self.links.append(authorship.derived_from(self.author, kept, original))

    def rewrite(self, objects: list[Any]) -> list[Any]:
        """The batch's related objects with references to an aliased id pointing at the kept id (a source's
        ``indicates`` relationship stays attached to the indicator it was about)."""
        if not self.aliases:
            return objects
        out = []
        for obj in objects:
            if isinstance(obj, dict) and any(_refs(obj, self.aliases)):
                obj = {k: _swap(k, v, self.aliases) for k, v in obj.items()}
            out.append(obj)
        return out


def _refs(obj: dict[str, Any], aliases: dict[str, str]) -> list[bool]:
    return [True for k, v in obj.items() if (k.endswith("_ref") and v in aliases)
            or (k.endswith("_refs") and isinstance(v, list) and any(x in aliases for x in v if isinstance(x, str)))]


def _swap(key: str, value: Any, aliases: dict[str, str]) -> Any:
    if key.endswith("_ref") and isinstance(value, str):
        return aliases.get(value, value)
    if key.endswith("_refs") and isinstance(value, list):
        return [aliases.get(x, x) if isinstance(x, str) else x for x in value]
    return value
