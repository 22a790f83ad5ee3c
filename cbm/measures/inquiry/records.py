"""The inquiry records, typed: one frozen dataclass per kind (docs/adr/0030-0034, 0102).

Every body cbm writes goes through ``from_body`` first (``service.py``), so a record we sign always meets these
rules. The fold (``model.py``) still reads a peer's body defensively, field by field: a peer's odd inquiry is
shown with what it does say, never refused after it landed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cbm.core.bodies import ABSENT, Body, InvalidBody, is_int, is_str_list, present, require
from cbm.core.fields import PRECEDENCES, is_iso_time, is_party_code, is_sha256_hex, is_single_line_text

TYPES = ("request_for_information", "request_for_assistance", "notification", "consultation_request")
OUTCOMES = ("satisfied", "unsatisfied", "escalated")


def _attachments(values: dict[str, Any]) -> None:
    blobs, listing = values.get("blobs", ABSENT), values.get("attachments", ABSENT)
    if present(blobs):
        require(isinstance(blobs, list) and all(is_sha256_hex(b) for b in blobs), "blobs must list SHA-256 digests")
    if present(listing):
        require(isinstance(listing, list) and all(isinstance(a, dict) and is_sha256_hex(a.get("sha256"))
                                                  and is_single_line_text(a.get("name")) and is_int(a.get("size"), 0)
                                                  for a in listing),
                "attachments must list name, sha256 and size")


def _optional(values: dict[str, Any], key: str, test: Any, what: str) -> None:
    if present(values[key]):
        require(test(values[key]), f"{key} must be {what}")


@dataclass(frozen=True)
class Open(Body):
    """``inquiry.open``: the inquiry itself (or a draft of it, ``draft: true``, addressed to ourselves)."""

    KIND = "inquiry.open"

    number: str
    recipient: str
    type: str
    precedence: str
    subject: str
    text: str
    indicators: list[str]
    blobs: list[str]
    attachments: list[dict[str, Any]]
    ack_within: int
    reply_within: int
    sector: str = ABSENT
    reply_by: str = ABSENT
    draft: bool = ABSENT
    released_from: str = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(isinstance(values["number"], str) and bool(values["number"]), "number must be a reference")
        require(is_party_code(values["recipient"]), "recipient must be a party code")
        require(values["type"] in TYPES, "type must be one of " + ", ".join(TYPES))
        require(values["precedence"] in PRECEDENCES, "precedence must be one of " + ", ".join(PRECEDENCES))
        require(isinstance(values["subject"], str) and isinstance(values["text"], str),
                "subject and text must be strings")
        require(is_single_line_text(values["subject"]), "subject must be one line without control characters")
        require(is_str_list(values["indicators"]), "indicators must list STIX ids")
        require(present(values["blobs"]) and present(values["attachments"]), "blobs and attachments are required")
        _attachments(values)
        require(is_int(values["ack_within"], 0) and is_int(values["reply_within"], 0),
                "ack_within and reply_within must be seconds")
        _optional(values, "sector", lambda v: isinstance(v, str), "a sector name")
        _optional(values, "reply_by", is_iso_time, "an ISO 8601 UTC time")
        _optional(values, "draft", lambda v: v is True, "true")
        _optional(values, "released_from", is_sha256_hex, "a record id")


@dataclass(frozen=True)
class FollowUp(Body):
    """What every message in a thread carries: the inquiry (``ref``), its number, the message it follows."""

    ref: str
    number: str
    after: str

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(is_sha256_hex(values["ref"]) and is_sha256_hex(values["after"]),
                "ref and after must be record ids")
        require(isinstance(values["number"], str), "number must be the inquiry's reference")
        cls.check_message(values)

    @classmethod
    def check_message(cls, values: dict[str, Any]) -> None:
        """This kind's own fields."""


@dataclass(frozen=True)
class Ack(FollowUp):
    KIND = "inquiry.ack"

    note: str = ABSENT
    own_ref: str = ABSENT

    @classmethod
    def check_message(cls, values: dict[str, Any]) -> None:
        _optional(values, "note", lambda v: isinstance(v, str), "text")
        _optional(values, "own_ref", lambda v: isinstance(v, str), "text")


@dataclass(frozen=True)
class Reply(FollowUp):
    KIND = "inquiry.reply"

    text: str = ABSENT
    indicators: list[str] = ABSENT
    blobs: list[str] = ABSENT
    attachments: list[dict[str, Any]] = ABSENT

    @classmethod
    def check_message(cls, values: dict[str, Any]) -> None:
        require(isinstance(values["text"], str), "text must be a string")
        _optional(values, "indicators", is_str_list, "a list of STIX ids")
        _attachments(values)


@dataclass(frozen=True)
class Clarify(FollowUp):
    KIND = "inquiry.clarify"

    text: str = ABSENT
    blobs: list[str] = ABSENT
    attachments: list[dict[str, Any]] = ABSENT
    reply_by: str = ABSENT

    @classmethod
    def check_message(cls, values: dict[str, Any]) -> None:
        require(isinstance(values["text"], str), "text must be a string")
        _attachments(values)
        _optional(values, "reply_by", is_iso_time, "an ISO 8601 UTC time")


@dataclass(frozen=True)
class Close(FollowUp):
    KIND = "inquiry.close"

    outcome: str = ABSENT
    note: str = ABSENT

    @classmethod
    def check_message(cls, values: dict[str, Any]) -> None:
        require(values["outcome"] in OUTCOMES, "outcome must be one of " + ", ".join(OUTCOMES))
        _optional(values, "note", lambda v: isinstance(v, str), "text")


@dataclass(frozen=True)
class Withdraw(FollowUp):
    KIND = "inquiry.withdraw"

    reason: str = ABSENT

    @classmethod
    def check_message(cls, values: dict[str, Any]) -> None:
        require(isinstance(values["reason"], str), "reason must be a string")


RECORDS: dict[str, type[Body]] = {cls.KIND: cls for cls in (Open, Ack, Reply, Clarify, Close, Withdraw)}

__all__ = ["OUTCOMES", "RECORDS", "TYPES", "InvalidBody"]
