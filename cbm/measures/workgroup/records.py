"""The working group's records, typed: one frozen dataclass per kind (docs/adr/0060-0062, 0102).

``from_body`` applies every rule a body must meet on its own: types, party codes, SHA-256 ids, a text matching
its digest, a parseable time. The fold (``model.py``) adds the rules that need other records (a member's
signature, the convener's minutes) and skips, never fails on, a peer record either refuses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cbm.core import clock
from cbm.core.bodies import ABSENT, Body, InvalidBody, is_int, require
from cbm.core.errors import UsageError
from cbm.core.fields import is_party_code, is_sha256_hex, is_single_line_text


def text_digest(data: bytes) -> str:
    """The SHA-256 of the exact bytes of a text: what members sign (``sha256sum FILE`` gives the same)."""
    return hashlib.sha256(data).hexdigest()


def due_deadline(due: str) -> datetime:
    """The last instant an action due ``due`` is on time (a bare date means 23:59:59 UTC that day).
    Raises UsageError for what is not a date or time."""
    moment = clock.parse_time(due, what="due")
    if len(due) == 10:
        moment += timedelta(hours=23, minutes=59, seconds=59)
    return moment


# The field rules, as the fold has always applied them (a final newline is tolerated: ADR 0101).


def _str(values: dict[str, Any], key: str, *, required: bool = True, line: bool = False) -> None:
    value = values[key]
    if value in (None, ABSENT) and not required:
        return
    require(isinstance(value, str), f"{key} must be a string")
    require(not line or is_single_line_text(value), f"{key} must be one line without control characters")


def _hash(values: dict[str, Any], key: str) -> None:
    require(is_sha256_hex(values[key], allow_final_newline=True), f"{key} must be a record id")


def _parties(values: dict[str, Any], key: str) -> None:
    value = values[key]
    require(isinstance(value, list) and bool(value) and all(is_party_code(p, allow_final_newline=True)
                                                            for p in value), f"{key} must list party codes")


def _group(values: dict[str, Any]) -> None:
    """A meeting's or a proposal's members: party codes, at least two different ones. A group of one would let
    its only member adopt a "joint" proposal or finalise "agreed" minutes on its own signature
    (docs/adr/0265-a-working-group-has-two-members.md)."""
    _parties(values, "members")
    require(len(set(values["members"])) >= 2, "members must name at least two parties: a working group is joint")


def _text(values: dict[str, Any], text: str = "text", digest: str = "digest") -> None:
    _str(values, text)
    _hash(values, digest)
    require(text_digest(values[text].encode("utf-8")) == values[digest], f"{digest} does not match the {text}")


def _time(value: str, key: str, *, deadline: bool = False) -> None:
    try:
        due_deadline(value) if deadline else clock.parse_time(value)
    except UsageError as e:
        raise InvalidBody(f"{key} must be a time: {e}") from e


@dataclass(frozen=True)
class Meeting(Body):
    KIND = "workgroup.meeting"

    at: str
    place: str
    title: str
    agenda: str
    agenda_digest: str
    members: list[str]
    carried: list[str] = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _text(values, "agenda", "agenda_digest")
        _group(values)
        carried = [] if values["carried"] is ABSENT else values["carried"]
        require(isinstance(carried, list) and all(is_sha256_hex(c, allow_final_newline=True) for c in carried),
                "carried must list action ids")
        _str(values, "at")
        _time(values["at"], "at")
        _str(values, "place", line=True)
        _str(values, "title", line=True)

    @property
    def member_set(self) -> list[str]:
        """The members, sorted, each once."""
        return sorted(set(self.members))

    @property
    def carried_actions(self) -> list[str]:
        return [] if self.carried is ABSENT else self.carried


@dataclass(frozen=True)
class Attend(Body):
    KIND = "workgroup.attend"

    ref: str
    names: list[str] = ABSENT
    present: bool = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _hash(values, "ref")
        names = [] if values["names"] is ABSENT else values["names"]
        require(isinstance(names, list) and all(isinstance(n, str) for n in names), "names must list names")
        require(values["present"] is ABSENT or isinstance(values["present"], bool), "present must be a boolean")

    @property
    def attending(self) -> bool:
        return True if self.present is ABSENT else bool(self.present)

    @property
    def name_list(self) -> list[str]:
        return [] if self.names is ABSENT else self.names


@dataclass(frozen=True)
class Minutes(Body):
    KIND = "workgroup.minutes"

    ref: str
    text: str
    digest: str
    revision: int = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _hash(values, "ref")
        _text(values)


@dataclass(frozen=True)
class Approve(Body):
    KIND = "workgroup.approve"

    ref: str
    minutes: str
    digest: str

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _hash(values, "ref")
        _hash(values, "minutes")
        _hash(values, "digest")


@dataclass(frozen=True)
class Action(Body):
    KIND = "workgroup.action"

    title: str
    owner: str
    due: str
    meeting: str | None = ABSENT
    ref: str = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _str(values, "owner")
        _str(values, "due")
        _str(values, "title", line=True)
        require(is_party_code(values["owner"], allow_final_newline=True), "owner must be a party code")
        _time(values["due"], "due", deadline=True)
        _str(values, "meeting", required=False)

    @property
    def meeting_id(self) -> str | None:
        return None if self.meeting is ABSENT else self.meeting


@dataclass(frozen=True)
class ActionDone(Body):
    KIND = "workgroup.action_done"

    ref: str
    note: Any = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _hash(values, "ref")

    @property
    def note_text(self) -> str | None:
        return self.note if isinstance(self.note, str) else None


@dataclass(frozen=True)
class Proposal(Body):
    """``workgroup.proposal``: revision 1 (no ``ref``; names the members) or a later revision by the proposer
    (``ref`` = the proposal, ``supersedes`` = the revision it replaces)."""

    KIND = "workgroup.proposal"

    title: str
    text: str
    digest: str
    revision: int
    draft: bool = ABSENT
    members: list[str] = ABSENT
    ref: str | None = ABSENT
    supersedes: str = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _str(values, "title", line=True)
        _text(values)
        require(is_int(values["revision"], 1), "revision must be a positive integer")
        require(values["draft"] is ABSENT or isinstance(values["draft"], bool), "draft must be a boolean")
        if values["ref"] in (None, ABSENT):
            _group(values)
            require(values["revision"] == 1, "a proposal without ref is revision 1")
        else:
            _hash(values, "ref")
            _hash(values, "supersedes")

    @property
    def first(self) -> bool:
        """Revision 1: the proposal itself."""
        return self.ref in (None, ABSENT)

    @property
    def is_draft(self) -> bool:
        return False if self.draft is ABSENT else self.draft


def _on_revision(values: dict[str, Any]) -> None:
    _hash(values, "ref")
    _hash(values, "revision")


@dataclass(frozen=True)
class Submit(Body):
    KIND = "workgroup.submit"

    ref: str
    revision: str

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _on_revision(values)


@dataclass(frozen=True)
class Sign(Body):
    KIND = "workgroup.sign"

    ref: str
    revision: str
    digest: str

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _on_revision(values)
        _hash(values, "digest")


@dataclass(frozen=True)
class Object(Body):
    KIND = "workgroup.object"

    ref: str
    revision: str
    reason: str
    digest: str = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _on_revision(values)
        _str(values, "reason")


@dataclass(frozen=True)
class Reject(Body):
    KIND = "workgroup.reject"

    ref: str
    revision: str
    reason: str

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _on_revision(values)
        _str(values, "reason")


@dataclass(frozen=True)
class Withdraw(Body):
    KIND = "workgroup.withdraw"

    ref: str
    reason: str | None = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _hash(values, "ref")
        _str(values, "reason", required=False)

    @property
    def reason_text(self) -> str:
        return self.reason or ""


RECORDS: dict[str, type[Body]] = {cls.KIND: cls for cls in (
    Meeting, Attend, Minutes, Approve, Action, ActionDone, Proposal, Submit, Sign, Object, Reject, Withdraw)}

__all__ = ["RECORDS", "InvalidBody", "due_deadline", "text_digest"]
