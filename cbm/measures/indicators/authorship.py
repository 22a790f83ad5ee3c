"""An id belongs to its author: a party's indicator arriving by any other way than its own signed records is
re-authored by the importing party under an id of its own, with a STIX ``derived-from`` link to the original.

Through a bundle, US's indicators arrive in records signed by US and stay US's. Through a file (US's STIX
export carried to OSCE and imported there), OSCE would otherwise sign indicators under US's ids: a third store
then holds one id from two authors, "corroborated" by a copy, and sightings go to the wrong party. See
docs/adr/0165-authorship-on-import.md.
"""

from __future__ import annotations

from typing import Any

from cbm.measures.indicators import model
from cbm.measures.indicators import rows as R


def derived_from(author: str, new_id: str, original_id: str) -> dict[str, Any]:
    """The STIX relationship saying ``author``'s indicator ``new_id`` was derived from ``original_id``."""
    created = "2013-06-17T00:00:00.000Z"  # fixed: the same link whenever the same file is imported again
    return {"type": "relationship", "spec_version": "2.1",
            "id": model.object_id("relationship", f"{author}|{new_id}|derived-from|{original_id}"),
            "created": created, "modified": created, "created_by_ref": model.identity_id(author),
            "relationship_type": "derived-from", "source_ref": new_id, "target_ref": original_id}


def reauthor(author: str, row: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """``row`` under ``author``'s own id (derived from author and pattern, as for any indicator cbm makes) and
    the ``derived-from`` relationship to the id it came with. A simple-type pattern keeps its type and value."""
    original = row[R.ID]
    pattern = row[R.PATTERN] or model.pattern_for(row[R.TYPE], row[R.VALUE])
    new = list(row)
    new[R.ID] = model.indicator_id(author, pattern)
    return new, derived_from(author, new[R.ID], original)


def reauthor_objects(author: str, objects: list[Any], others: frozenset[str],
                     renamed: dict[str, str]) -> tuple[list[Any], int]:
    """Related objects (malware, relationships...) created by another known party, under ids of ``author``'s
    own: the same rule as for indicators. Each gets an id derived from author and original id, ``author`` as
    creator, and a ``derived-from`` link to the original; every reference among the objects to a renamed object
    or to a re-authored indicator (``renamed``: original id -> new id) follows the new id. Returns the objects
    and how many were re-authored."""
    ours = model.identity_id(author)
    moved = dict(renamed)
    for obj in objects:
        if isinstance(obj, dict) and obj.get("created_by_ref") in others and isinstance(obj.get("id"), str):
            moved[obj["id"]] = model.object_id(obj["id"].split("--", 1)[0], f"{author}|{obj['id']}")
    if not moved:
        return objects, 0
    out: list[Any] = []
    count = 0
    for obj in objects:
        if not isinstance(obj, dict) or _our_link(obj, ours):
            out.append(obj)
            continue
        new = {k: _follow(k, v, moved) for k, v in obj.items()}
        if obj.get("created_by_ref") in others and obj.get("id") in moved:
            new["id"], new["created_by_ref"] = moved[obj["id"]], ours
            out.append(new)
            out.append(derived_from(author, new["id"], obj["id"]))
            count += 1
        else:
            out.append(new)
    return out, count


def _our_link(obj: dict[str, Any], ours: str) -> bool:
    """A derived-from link this import made: it must keep pointing at the original."""
    return obj.get("type") == "relationship" and obj.get("relationship_type") == "derived-from" \
        and obj.get("created_by_ref") == ours


def _follow(key: str, value: Any, moved: dict[str, str]) -> Any:
    if key == "created_by_ref":
        return value
    if key.endswith("_ref") and isinstance(value, str):
        return moved.get(value, value)
    if key.endswith("_refs") and isinstance(value, list):
        return [moved.get(x, x) if isinstance(x, str) else x for x in value]
    return value
