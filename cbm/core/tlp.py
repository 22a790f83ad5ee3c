"""TLP 2.0 labels and the audience rule: who may see a record.

A record names its audience in ``to``: party codes, or ``*`` for every peer. TLP:RED and TLP:AMBER+STRICT
records go only to parties named explicitly; ``*`` never reaches them (see docs/adr/0004-audience-and-tlp.md).
"""

from __future__ import annotations

from cbm.core.errors import UsageError

TLP_LABELS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
ALL_PEERS = "*"
_NAMED_ONLY = {"RED", "AMBER+STRICT"}


def check_tlp(label: str) -> str:
    """Normalise ``amber``/``TLP:AMBER`` to ``AMBER``; refuse labels outside TLP 2.0 (UsageError)."""
    value = label.strip().upper()
    if value.startswith("TLP:"):
        value = value[4:]
    if value == "WHITE":
        raise UsageError("TLP:WHITE is TLP 1.0; TLP 2.0 calls it CLEAR", hint="use --tlp CLEAR")
    if value not in TLP_LABELS:
        raise UsageError(f"{label!r} is not a TLP 2.0 label", hint="one of " + ", ".join(TLP_LABELS))
    return value


def may_see(party: str, author: str, to: tuple[str, ...] | list[str], tlp: str) -> bool:
    """Whether ``party`` may receive a record by ``author`` with this audience and label."""
    if party == author or party in to:
        return True
    return ALL_PEERS in to and tlp not in _NAMED_ONLY


def tlp_rank(label: str) -> int:
    """CLEAR=0 … RED=4, for ``--tlp-max`` style filters."""
    return TLP_LABELS.index(label)
