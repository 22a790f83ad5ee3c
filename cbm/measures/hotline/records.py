"""The hotline records, typed: one frozen dataclass per kind (docs/adr/0040-0042, 0102).

Every body cbm writes goes through ``from_body`` first (``service.py``, ``transcript.py``). The fold
(``model.py``) reads a peer's body defensively instead: a message with an unknown precedence or an unreadable
sealed text is shown as an anomaly of the conversation, never dropped, because the hotline's record of what was
sent is evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cbm.core.bodies import ABSENT, Body, InvalidBody, is_int, is_str_list, present, require
from cbm.core.fields import (
    PRECEDENCES,
    is_bounded_text,
    is_iso_time,
    is_language_tag,
    is_party_code,
    is_sha256_hex,
    is_single_line_text,
)

RECEIPT_TYPES = ("delivered", "read")


def _sealed(values: dict[str, Any]) -> None:
    require(isinstance(values["sealed"], dict), "sealed must be a sealed text (an object)")


@dataclass(frozen=True)
class Message(Body):
    """``hotline.message``: a numbered message to one peer (``dseq``), saying how far we read theirs
    (``peer_seen``); the text is sealed to both parties."""

    KIND = "hotline.message"

    dseq: int
    peer_seen: int
    precedence: str
    lang: str
    sealed: dict[str, Any]

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(is_int(values["dseq"], 1) and is_int(values["peer_seen"], 0),
                "dseq and peer_seen must be message numbers")
        require(values["precedence"] in PRECEDENCES, "precedence must be one of " + ", ".join(PRECEDENCES))
        require(is_language_tag(values["lang"], max_subtags=4), "lang must be a language tag")
        _sealed(values)


@dataclass(frozen=True)
class Receipt(Body):
    """``hotline.receipt``: a message was delivered to, or read by, its recipient."""

    KIND = "hotline.receipt"

    ref: str
    type: str
    dseq: int | None

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(is_sha256_hex(values["ref"]), "ref must be a record id")
        require(values["type"] in RECEIPT_TYPES, "type must be delivered or read")
        require(values["dseq"] is None or is_int(values["dseq"]), "dseq must be the message's number or null")


@dataclass(frozen=True)
class Translation(Body):
    """``hotline.translation``: an unofficial translation of a message, sealed like it."""

    KIND = "hotline.translation"

    ref: str
    lang: str
    sealed: dict[str, Any]
    unofficial: bool = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(is_sha256_hex(values["ref"]), "ref must be a record id")
        require(is_language_tag(values["lang"], max_subtags=4), "lang must be a language tag")
        require(not present(values["unofficial"]) or isinstance(values["unofficial"], bool),
                "unofficial must be true or false")
        _sealed(values)


@dataclass(frozen=True)
class Test(Body):
    """``hotline.test``: a link test the peer's store answers when it imports it."""

    KIND = "hotline.test"

    nonce: str
    purpose: str = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(isinstance(values["nonce"], str) and bool(values["nonce"]), "nonce must be a string")


@dataclass(frozen=True)
class TestReply(Body):
    """``hotline.test_reply``: the automatic answer to a link test."""

    KIND = "hotline.test_reply"

    ref: str

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(is_sha256_hex(values["ref"]), "ref must be a record id")


@dataclass(frozen=True)
class Transcript(Body):
    """``hotline.transcript``: we exported the conversation with ``with`` to a file with this SHA-256."""

    KIND = "hotline.transcript"

    peer: str = ABSENT  # JSON key "with"
    sha256: str = ABSENT
    file: str = ABSENT
    messages: list[str] = ABSENT
    anomalies: int = ABSENT

    @classmethod
    def keys(cls) -> dict[str, str]:
        return {"with" if key == "peer" else key: name for key, name in super().keys().items()}

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(is_party_code(values["peer"]), "with must be a party code")
        require(is_sha256_hex(values["sha256"]), "sha256 must be the file's SHA-256")
        require(is_single_line_text(values["file"]), "file must be the file's name, on one line")
        require(is_str_list(values["messages"]), "messages must list record ids")
        require(is_int(values["anomalies"], 0), "anomalies must be a count")


MAX_PARTICIPANTS = 50
MAX_PARTICIPANT = 200  # characters: "Deputy Secretary of the Security Council (RU)"


@dataclass(frozen=True)
class CallRecord(Body):
    """``hotline.call``: a voice call with ``with`` was held from ``start`` to ``end`` between ``participants``;
    the summary is sealed to both parties (docs/adr/0147-hotline-call-records.md)."""

    KIND = "hotline.call"

    peer: str  # JSON key "with"
    start: str
    end: str
    participants: list[str]
    sealed: dict[str, Any]

    @classmethod
    def keys(cls) -> dict[str, str]:
        return {"with" if key == "peer" else key: name for key, name in super().keys().items()}

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(is_party_code(values["peer"]), "with must be a party code")
        require(is_iso_time(values["start"]) and is_iso_time(values["end"]), "start and end must be UTC times")
        require(values["start"] < values["end"], "a call ends after it starts")
        participants = values["participants"]
        require(is_str_list(participants) and 0 < len(participants) <= MAX_PARTICIPANTS
                and all(is_bounded_text(p, MAX_PARTICIPANT) and "\n" not in p for p in participants),
                f"participants must list 1 to {MAX_PARTICIPANTS} names of at most {MAX_PARTICIPANT} characters")
        _sealed(values)


@dataclass(frozen=True)
class CallConfirm(Body):
    """``hotline.call_confirm``: the other party of a recorded call confirms it, by its own signature."""

    KIND = "hotline.call_confirm"

    ref: str

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(is_sha256_hex(values["ref"]), "ref must be the call record's id")


RECORDS: dict[str, type[Body]] = {cls.KIND: cls for cls in (Message, Receipt, Translation, Test, TestReply,
                                                           Transcript, CallRecord, CallConfirm)}

__all__ = ["RECORDS", "InvalidBody"]
