"""Rosters: a party's signed list of the party cards it vouches for (``keys.roster`` records).

A roster is its introducer's claim, never the introduced parties' statement: each card in it is self-signed by
its party (checked here), but *which* card stands for a party, and that the party belongs at all, is only the
introducer's word. Whether a store acts on that word is its own policy (``cbm.store.rosters``). Each roster is a
full snapshot: the introducer's newest roster replaces its earlier ones, so a join is a card added, a departure
a card left out, a rotation a card replaced (docs/adr/0171-rosters.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from cbm.core.errors import CbmError, MalformedInput

if TYPE_CHECKING:  # cards load when a roster is read, not for every command that opens a store (issue 20)
    from cbm.core.cards import PartyCard
    from cbm.core.records import Record

KIND = "keys.roster"
MAX_ENTRIES = 10_000


class Roster(NamedTuple):
    """A verified ``keys.roster`` record: who published it, where in its log, and the cards it lists."""

    introducer: str
    seq: int
    cards: tuple[PartyCard, ...]

    @classmethod
    def from_record(cls, record: Record) -> Roster:
        """Parse and check a roster record's body. Raises MalformedInput (a body that is not a list of distinct
        parties' cards, or lists its own author) or BadSignature (a card whose self-signature fails)."""
        from cbm.core.cards import parse_card

        if record.kind != KIND:
            raise MalformedInput(f"{record.author} record {record.seq} is not a roster")
        listed = record.body.get("cards")
        if not isinstance(listed, list) or len(listed) > MAX_ENTRIES:
            raise MalformedInput(f"{record.author} roster {record.seq} carries no list of cards "
                                 f"(at most {MAX_ENTRIES})")
        cards: list[PartyCard] = []
        for i, text in enumerate(listed):
            if not isinstance(text, str) or not text.isascii():
                raise MalformedInput(f"{record.author} roster {record.seq} entry {i + 1} is not a party card")
            try:
                cards.append(parse_card(text.encode("ascii")))
            except CbmError as e:  # same class (exit code), saying which entry
                raise type(e)(f"{record.author} roster {record.seq} entry {i + 1}: {e}", hint=e.hint) from e
        parties = [card.party for card in cards]
        if len(set(parties)) != len(parties):
            raise MalformedInput(f"{record.author} roster {record.seq} lists a party twice")
        if record.author in parties:
            raise MalformedInput(f"{record.author} roster {record.seq} lists its own author")
        return cls(record.author, record.seq, tuple(cards))


def roster_body(cards: Iterable[PartyCard]) -> dict[str, Any]:
    """The body of a roster listing ``cards`` (sorted by party, so the same roster gives the same bytes)."""
    return {"cards": [card.envelope.decode("ascii") for card in sorted(cards, key=lambda c: c.party)]}
