"""Trusted keys without a store: a folder of party card files (or one card), for CI and air-gapped checks."""

from __future__ import annotations

import os
from pathlib import Path

from cbm.core.cards import PartyCard, parse_card
from cbm.core.errors import CbmError, MalformedInput, NotFound, UsageError
from cbm.core.records import TrustedKey


class Keyring:
    """Implements ``TrustedKeyLookup`` from party cards. A party's older cards (lower serial) count as
    rotated out at the seq its next card starts from."""

    def __init__(self, cards: list[PartyCard]) -> None:
        self._keys: dict[str, TrustedKey] = {}
        by_party: dict[str, list[PartyCard]] = {}
        for card in cards:
            by_party.setdefault(card.party, []).append(card)
        for party, cards_of_party in by_party.items():
            # the same card may sit in two files (a card and a history): count it once
            group = sorted({c.keyid: c for c in cards_of_party}.values(), key=lambda c: (c.serial, c.first_seq))
            for i, card in enumerate(group):
                following = group[i + 1] if i + 1 < len(group) else None
                self._keys[card.keyid] = TrustedKey(
                    party, card.keyid, card.verify_key, card.enc_key, card.first_seq,
                    following.first_seq - 1 if following else None, "rotated" if following else "active")

    def trusted_key(self, keyid: str) -> TrustedKey | None:
        return self._keys.get(keyid)

    @property
    def parties(self) -> list[str]:
        return sorted({k.party for k in self._keys.values()})


def _cards_in(data: bytes) -> list[PartyCard]:
    """The cards in one file: one card, or a card history (`cbm keys export --history`: one card per line)."""
    try:
        return [parse_card(data)]
    except CbmError:
        lines = [line for line in data.splitlines() if line.strip()]
        if len(lines) < 2:
            raise
        return [parse_card(line) for line in lines]


def load_keyring(directory: str | None = None, card_files: list[str] | None = None) -> Keyring:
    """Cards from every file in ``directory`` (non-card files are skipped) and from each of ``card_files``;
    a file may hold one card or a party's card history, one card per line.

    Raises NotFound for a missing folder or file, UsageError when no card is found, and the card's own error
    (MalformedInput / BadSignature) for a named card file that is empty or not a valid card.
    """
    cards: list[PartyCard] = []
    if directory is not None:
        folder = Path(directory)
        if os.path.isfile(folder):  # a card given where a folder goes: say which option takes it
            raise UsageError(f"keyring {directory} is a file, not a folder",
                             hint=f"trust one card file with --key {directory}")
        if not os.path.isdir(folder):
            raise NotFound(f"keyring folder {directory} does not exist")
        for path in sorted(folder.iterdir()):
            if not os.path.isfile(path) or path.stat().st_size > 64 * 1024:
                continue
            try:
                cards.extend(_cards_in(path.read_bytes()))
            except (CbmError, OSError):
                continue  # a keyring folder may hold other files (minisign keys, notes)
    for name in card_files or []:
        try:
            data = Path(name).read_bytes()
        except OSError as e:
            raise NotFound(f"cannot read {name}: {e.strerror}") from e
        if not data.strip():
            raise MalformedInput(f"{name} is empty: no party card in it")
        cards.extend(_cards_in(data))
    if not cards:
        raise UsageError("no party card found in the keyring", hint="a keyring is a folder of `cbm keys export` "
                                                                    "card files")
    return Keyring(cards)
