"""Trusted keys without a store: a folder of party card files (or one card), for CI and air-gapped checks."""

from __future__ import annotations

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
        for party, group in by_party.items():
            group.sort(key=lambda c: (c.serial, c.first_seq))
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


def load_keyring(directory: str | None = None, card_files: list[str] | None = None) -> Keyring:
    """Cards from every file in ``directory`` (non-card files are skipped) and from each of ``card_files``.

    Raises NotFound for a missing folder or file, UsageError when no card is found, and the card's own error
    (MalformedInput / BadSignature) for a named card file that is empty or not a valid card.
    """
    cards: list[PartyCard] = []
    if directory is not None:
        folder = Path(directory)
        if not folder.is_dir():
            raise NotFound(f"keyring folder {directory} does not exist")
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.stat().st_size > 64 * 1024:
                continue
            try:
                cards.append(parse_card(path.read_bytes()))
            except (CbmError, OSError):
                continue  # a keyring folder may hold other files (minisign keys, notes)
    for name in card_files or []:
        try:
            data = Path(name).read_bytes()
        except OSError as e:
            raise NotFound(f"cannot read {name}: {e.strerror}") from e
        if not data.strip():
            raise MalformedInput(f"{name} is empty: no party card in it")
        cards.append(parse_card(data))
    if not cards:
        raise UsageError("no party card found in the keyring", hint="a keyring is a folder of `cbm keys export` "
                                                                    "card files")
    return Keyring(cards)
