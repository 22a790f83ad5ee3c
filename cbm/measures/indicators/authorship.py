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
