"""cbm's own STIX properties, carried the STIX 2.1 way: one extension-definition and property extensions.

A party's identity says which cbm party it stands for, an indicator which critical-infrastructure sectors it
concerns. Both ride in ``extensions[EXTENSION_ID]`` as a ``property-extension`` whose JSON schema ships in the
package (``cbm-stix-extension.schema.json``) and is carried, verbatim, as the definition's ``schema`` text, so
a bundle describes itself across the air gap. Strict consumers (``stix2.parse(..., allow_custom=False)``,
``stix2-validator``) accept it; the older ``x_cbm_party`` and ``x_cbm_sectors`` custom properties are still read.
See docs/adr/0160-stix-property-extension.md.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

EXTENSION_ID = "extension-definition--be304fa1-67f1-4ab9-be77-952f27979096"
# The extension's creator: cbm itself (a system, not a party), so the definition is the same in every export.
CREATOR_ID = "identity--b1a8679c-b85f-4296-a8de-d9e5ff30c2d5"
SCHEMA_FILE = "cbm-stix-extension.schema.json"
_DEFINED = "2026-12-06T00:00:00.000Z"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The extension's JSON schema, as shipped in the package."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def definition_objects() -> list[dict[str, Any]]:
    """The extension-definition and the identity that created it (both fixed: the same bytes in every export)."""
    creator = {"type": "identity", "spec_version": "2.1", "id": CREATOR_ID, "created": _DEFINED,
               "modified": _DEFINED, "name": "cbm", "identity_class": "system",
               "description": "cbm, the toolkit for the 2013 US-Russia ICT confidence-building measures: "
                              "author of the cbm STIX property extension"}
    definition = {"type": "extension-definition", "spec_version": "2.1", "id": EXTENSION_ID,
                  "created_by_ref": CREATOR_ID, "created": _DEFINED, "modified": _DEFINED,
                  "name": "cbm party and sectors",
                  "description": "Which cbm party an identity stands for, and which critical-infrastructure "
                                 "sectors an indicator concerns.",
                  "schema": json.dumps(schema(), separators=(",", ":"), ensure_ascii=False),
                  "version": "1.0.0", "extension_types": ["property-extension"]}
    return [creator, definition]


def with_party(obj: dict[str, Any], party: str) -> dict[str, Any]:
    """``obj`` (an identity) with the extension naming its cbm party."""
    obj["extensions"] = {EXTENSION_ID: {"extension_type": "property-extension", "party": party}}
    return obj


def add_sectors(obj: dict[str, Any], sectors: list[str]) -> None:
    """Put ``sectors`` into ``obj``'s cbm extension (keeping any other extensions the object carries)."""
    extensions = dict(obj.get("extensions") or {})
    extensions[EXTENSION_ID] = {"extension_type": "property-extension", "sectors": sectors}
    obj["extensions"] = extensions


def party_of(obj: dict[str, Any]) -> str | None:
    """The cbm party an identity stands for (extension, or the legacy ``x_cbm_party``), or None."""
    ours = _ours(obj)
    party = ours.get("party") if ours else obj.get("x_cbm_party")
    return party if isinstance(party, str) and party else None


def sectors_of(obj: dict[str, Any]) -> Any:
    """The sectors an indicator names (extension, or the legacy ``x_cbm_sectors``); unchecked."""
    ours = _ours(obj)
    return ours.get("sectors") if ours else obj.get("x_cbm_sectors")


def other_extensions(obj: dict[str, Any]) -> dict[str, Any] | None:
    """``obj``'s extensions other than cbm's own (kept verbatim on import), or None if there are none."""
    extensions = obj.get("extensions")
    if not isinstance(extensions, dict):
        return None
    rest = {k: v for k, v in extensions.items() if k != EXTENSION_ID}
    return rest or None


def _ours(obj: dict[str, Any]) -> dict[str, Any] | None:
    extensions = obj.get("extensions")
    if isinstance(extensions, dict) and isinstance(extensions.get(EXTENSION_ID), dict):
        found: dict[str, Any] = extensions[EXTENSION_ID]
        return found
    return None
