"""Which related STIX objects an export carries: exactly those reachable from the indicators it writes.

An import keeps the related objects of a STIX bundle (malware, relationships, reports, their identities...)
in the batch record. An export must not carry them blindly: a filtered export would be full of relationships to
indicators that are not in the file. :class:`Closure` collects the related objects offered by the batches of the
written indicators and keeps those that are

- *complete*: every id they reference (``*_ref``, ``*_refs``, granular markings) is in the file — a written
  indicator, another kept object, or an object the exporter supplies (a party identity, a TLP marking);
- *reachable*: linked to a written indicator through content references (``source_ref``, ``target_ref``,
  ``object_refs``...), followed both ways, plus whatever a kept object names as its creator or marking.
  Creator and marking references are followed only forwards: two malware objects that share an author are not
  related to each other through it.

See docs/adr/0161-closed-stix-exports.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

_META_REFS = ("created_by_ref", "object_marking_refs")


def references(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(property, id)`` for every id ``obj`` references at its top level and in its granular markings."""
    for key, value in obj.items():
        if key.endswith("_ref") and isinstance(value, str):
            yield key, value
        elif key.endswith("_refs") and isinstance(value, list):
            for item in value:
                if isinstance(item, str):
                    yield key, item
    for marking in obj.get("granular_markings") or ():
        if isinstance(marking, dict) and isinstance(marking.get("marking_ref"), str):
            yield "granular_markings", marking["marking_ref"]


@dataclass
class Closure:
    """Related objects offered while an export streams; :meth:`close` picks the ones the file must carry."""

    offered: dict[str, dict[str, Any]] = field(default_factory=dict)

    def offer(self, obj: Any) -> None:
        """Offer one related object (the first object offered under an id wins; malformed ones are ignored)."""
        if isinstance(obj, dict) and isinstance(obj.get("id"), str) and obj["id"] not in self.offered:
            self.offered[obj["id"]] = obj

    def close(self, written: Callable[[str], bool], supplied: Callable[[str], bool]) -> tuple[
            list[dict[str, Any]], set[str]]:
        """The objects to write (in the order offered) and the supplied ids they reference.

        ``written(id)`` says whether an indicator is in the file; ``supplied(id)`` whether the exporter can add
        the object (party identities, TLP markings) if something references it.
        """
        known: dict[str, bool] = {}

        def outside(ref: str) -> bool:  # in the file, or can be added, without any offered object
            if ref not in known:
                known[ref] = written(ref) or supplied(ref)
            return known[ref]

        alive = set(self.offered)
        changed = True
        while changed:  # drop objects with a reference to something the file will not hold, until none is left
            changed = False
            for oid in list(alive):
                if any(ref not in alive and not outside(ref) for _, ref in references(self.offered[oid])):
                    alive.discard(oid)
                    changed = True
        named_by: dict[str, list[str]] = {}  # id -> live objects whose content references it
        for oid in alive:
            for key, ref in references(self.offered[oid]):
                if key not in _META_REFS:
                    named_by.setdefault(ref, []).append(oid)
        kept: set[str] = set()
        frontier = [oid for oid in alive if any(
            key not in _META_REFS and ref not in self.offered and outside(ref) and written(ref)
            for key, ref in references(self.offered[oid]))]
        while frontier:
            oid = frontier.pop()
            if oid in kept:
                continue
            kept.add(oid)
            for _, ref in references(self.offered[oid]):  # forwards: everything a kept object names
                if ref in alive and ref not in kept:
                    frontier.append(ref)
            frontier.extend(other for other in named_by.get(oid, ()) if other not in kept)  # backwards
        objects = [obj for oid, obj in self.offered.items() if oid in kept]
        extra = {ref for obj in objects for _, ref in references(obj) if ref not in self.offered and supplied(ref)}
        return objects, extra
