"""Fuzz party cards: ``cbm keys import`` and keyring folders (``cbm bundle verify --keyring``).

Input: a card file as it arrives, or ``P`` + a card payload (JSON) that the harness self-signs with a fixed
key (its ``sign_key`` set to that key), so the fuzzer also reaches what follows a valid self-signature.
"""

from __future__ import annotations

import re

from fuzz.harness import Scratch, instrumented, main, pair, refused_or_fine

with instrumented():
    from cbm.bundle.keyring import Keyring
    from cbm.core import dsse
    from cbm.core.cards import CARD_TYPE, parse_card
    from cbm.store.trust import import_card

_SIGN_KEY = re.compile(rb'"sign_key"\s*:\s*"[^"]*"')
_scratch = Scratch("RU")
_signer = pair("CN")  # a party RU does not know yet: an import adds it, the harness takes it out again


def card_bytes(data: bytes) -> bytes:
    """The card file the input stands for (self-signed by the fixed key in ``P`` mode)."""
    if not data.startswith(b"P"):
        return data
    key = dsse.b64(_signer.verify_key).encode()
    payload = _SIGN_KEY.sub(b'"sign_key":"' + key + b'"', data[1:], count=1)
    return dsse.sign(CARD_TYPE, payload, [(_signer.keyid, _signer.signing)]).to_json_bytes()


def check(data: bytes) -> None:
    raw = card_bytes(data)

    def land() -> None:
        card = parse_card(raw)
        Keyring([card]).trusted_key(card.keyid)
        store = _scratch.store()
        result = import_card(store, raw, card.fingerprint)
        if result.action == "added":  # a new party: take it out again, so the next input meets the same store
            with store.transaction() as conn:
                conn.execute("DELETE FROM party_keys WHERE party = ?", (card.party,))
                conn.execute("DELETE FROM parties WHERE party = ?", (card.party,))
            store.forget_cached_keys()
        elif result.action != "unchanged":  # a known party's keys changed: start from a fresh store
            _scratch.close()

    refused_or_fine(land)


if __name__ == "__main__":
    main(check)
