"""Party cards: a party's public identity, self-signed.

A card names the party (short code and display name), its Ed25519 verify key and X25519 encryption key, a
serial number, and the first log ``seq`` the key signs. A rotated card is signed by the new key *and* the key it
supersedes, so a peer that trusts the old key can accept the new one without another phone call. A card after a
revocation is signed by the new key alone and must be confirmed by fingerprint again.
"""

from __future__ import annotations

from dataclasses import dataclass

from cbm.core import dsse
from cbm.core.canonical import canonical_bytes, loads
from cbm.core.errors import BadSignature, MalformedInput, UsageError
from cbm.core.fields import check_party_code, check_single_line, control_character
from cbm.core.keys import KeyPair, fingerprint, keyid

CARD_TYPE = "application/vnd.cbm.party-card.v1+json"


@dataclass(frozen=True)
class PartyCard:
    party: str
    name: str
    serial: int
    first_seq: int
    verify_key: bytes
    enc_key: bytes
    created: str
    supersedes: str | None  # keyid of the key this card rotates out, if cross-signed
    envelope: bytes  # the card as signed, verbatim

    @property
    def keyid(self) -> str:
        return keyid(self.verify_key)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.verify_key)

    def payload(self) -> dict[str, object]:
        return card_payload(self.party, self.name, self.serial, self.first_seq, self.verify_key,
                            self.enc_key, self.created, self.supersedes)


def card_payload(party: str, name: str, serial: int, first_seq: int, verify_key: bytes, enc_key: bytes,
                 created: str, supersedes: str | None) -> dict[str, object]:
    return {
        "created": created,
        "enc_key": dsse.b64(enc_key),
        "first_seq": first_seq,
        "name": name,
        "party": party,
        "serial": serial,
        "sign_key": dsse.b64(verify_key),
        "supersedes": supersedes,
        "type": "cbm.party-card",
        "v": 1,
    }


def make_card(party: str, name: str, pair: KeyPair, *, serial: int = 1, first_seq: int = 1,
              previous: KeyPair | None = None) -> PartyCard:
    """Create and sign a card for ``pair``; cross-sign with ``previous`` for a rotation."""
    check_party_code(party)
    check_single_line(name, "the party name")
    payload = canonical_bytes(card_payload(party, name, serial, first_seq, pair.verify_key,
                                           pair.public_enc_key, pair.created,
                                           previous.keyid if previous else None))
    signers = [(pair.keyid, pair.signing)]
    if previous is not None:
        signers.append((previous.keyid, previous.signing))
    envelope = dsse.sign(CARD_TYPE, payload, signers).to_json_bytes()
    return parse_card(envelope)


_CARD_HINT = "a party card is the file `cbm keys export -o FILE` writes at its party's store"


def parse_card(data: bytes) -> PartyCard:
    """Verify a card's self-signature, then parse it. Raises MalformedInput / BadSignature.

    Only the self-signature is checked here; whether the card is *trusted* is the store's decision
    (fingerprint confirmed, or cross-signed by a key already trusted).
    """
    data = data.strip()
    if not data:  # say so, rather than "not valid JSON ... (char 0)"
        raise MalformedInput("the party card is empty")
    try:
        envelope = dsse.parse(data)
    except MalformedInput as e:  # name what was expected: "envelope needs payloadType ..." alone says little
        raise MalformedInput(f"not a party card: {e}", hint=_CARD_HINT) from e
    if envelope.payload_type != CARD_TYPE:
        raise MalformedInput(f"not a party card (payload type {envelope.payload_type!r})", hint=_CARD_HINT)
    doc = loads(envelope.payload)
    try:
        if doc["type"] != "cbm.party-card" or doc["v"] != 1:
            raise MalformedInput("unsupported party card version")
        verify_key = dsse.unb64(doc["sign_key"], "card sign_key")
        enc_key = dsse.unb64(doc["enc_key"], "card enc_key")
        if len(verify_key) != 32 or len(enc_key) != 32:
            raise MalformedInput("party card keys must be 32 bytes")
        card = PartyCard(
            party=check_party_code(doc["party"]),
            name=_name(doc["name"]),
            serial=_position(doc["serial"], "serial"),
            first_seq=_position(doc["first_seq"], "first_seq"),
            verify_key=verify_key,
            enc_key=enc_key,
            created=str(doc["created"]),
            supersedes=doc["supersedes"],
            envelope=envelope.to_json_bytes(),
        )
    except (KeyError, TypeError, ValueError, UsageError) as e:
        raise MalformedInput(f"party card is malformed: {e}") from e
    # verify against the card's own key: the self-signature must be there and valid
    import nacl.signing  # here, not at the top: commands that only read cards from the store never verify one

    dsse.verify(envelope, {card.keyid: nacl.signing.VerifyKey(verify_key)})
    return card


def _name(value: object) -> str:
    """A card's display name: a string of one line, without control characters (ADR 0115): a name holding a
    line break could draw a fake fingerprint line under the one the operator is asked to confirm."""
    if not isinstance(value, str):
        raise MalformedInput("party card name must be a string")
    found = control_character(value)
    if found is not None:
        raise MalformedInput(f"party card name holds a control character (U+{ord(found):04X})")
    return value


MAX_POSITION = 2**53 - 1  # as for every integer cbm signs (canonical JSON's interoperable range)


def _position(value: object, what: str) -> int:
    """A card's serial or first seq: a JSON integer in 1..2**53-1 (not a float, a bool or a numeric string)."""
    if type(value) is not int or not 1 <= value <= MAX_POSITION:
        raise MalformedInput(f"party card {what} must be a whole number from 1 to {MAX_POSITION}")
    return value


def verify_cross_signature(card: PartyCard, previous_verify_key: bytes) -> None:
    """Check that ``card`` is also signed by the key it supersedes. Raises BadSignature."""
    import nacl.signing

    envelope = dsse.parse(card.envelope)
    try:
        dsse.verify(envelope, {keyid(previous_verify_key): nacl.signing.VerifyKey(previous_verify_key)})
    except Exception as e:
        raise BadSignature(f"the new card for {card.party} is not signed by its previous key") from e
