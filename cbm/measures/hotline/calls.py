"""Voice calls on the secure line, put on the record: one side signs that a call was held (peer, start, end,
participants, a sealed summary); the other side confirms it with its own signed record, or does not.

Only the other side's own ``hotline.call_confirm`` confirms a call: its store never confirms on import, and
nothing is inferred from receipts or bundles (docs/adr/0147-hotline-call-records.md).
"""

from __future__ import annotations

from datetime import timedelta

from cbm.core import clock
from cbm.core.errors import CbmError, IllegalTransition, UsageError
from cbm.core.fields import single_line
from cbm.core.records import Record
from cbm.measures.hotline.model import KIND_CALL, KIND_CALL_CONFIRM, Call, load
from cbm.measures.hotline.records import MAX_PARTICIPANT, MAX_PARTICIPANTS
from cbm.measures.hotline.service import TLP, _seal, _unseal, check_peer, check_text, checked
from cbm.store.db import Store

MAX_CALL = timedelta(hours=24)  # a longer "call" is a typo in --start or --end
CLOCK_SKEW = timedelta(minutes=5)  # an end this far past our clock is allowed (the call just ended)


def call_context(start: str, end: str) -> str:
    """The sealed summary's context: bound to the call's times, so it cannot be moved to another call."""
    return f"{KIND_CALL}:{start}:{end}"


def _time(value: str, what: str) -> str:
    return clock.iso(clock.parse_time(value, what=what))


def record_call(store: Store, peer: str, *, start: str, end: str, participants: list[str], summary: str) -> Call:
    """Sign that a call with ``peer`` was held from ``start`` to ``end``; the summary is sealed to both sides.

    Raises UsageError (2) for bad times (UTC, end after start, not in the future, at most 24 hours) or
    participants, NotFound (5) for an unknown peer, OversizedInput (4) for a summary over 64 KiB.
    """
    code = check_peer(store, peer)
    begin, finish = _time(start, "--start"), _time(end, "--end")
    if finish <= begin:
        raise UsageError(f"the call ends ({finish}) before it starts ({begin})")
    if clock.parse_time(finish) - clock.parse_time(begin) > MAX_CALL:
        raise UsageError(f"a call from {begin} to {finish} lasts more than 24 hours", hint="check --start and --end")
    if clock.parse_time(finish) > clock.now() + CLOCK_SKEW:
        raise UsageError(f"the call ends at {finish}, in the future", hint="record a call once it has ended")
    names = [single_line(p) for p in participants]
    if not names or any(not name for name in names):
        raise UsageError("a call record names its participants", hint='--participant "US coordinator" (repeat)')
    if len(names) > MAX_PARTICIPANTS or any(len(name) > MAX_PARTICIPANT for name in names):
        raise UsageError(f"at most {MAX_PARTICIPANTS} participants of at most {MAX_PARTICIPANT} characters each")
    text = check_text(summary)
    body = checked(KIND_CALL, {"with": code, "start": begin, "end": finish, "participants": names,
                               "sealed": _seal(store, code, text, call_context(begin, finish))})
    record = store.append(KIND_CALL, body, to=(code,), tlp=TLP)
    return Call(record.hash, store.party, code, begin, finish, names, record.created, summary=text)


def _call_record(store: Store, ref: str) -> Record:
    record = store.get(ref, kind_prefix="hotline.")
    if record.kind != KIND_CALL:
        raise UsageError(f"{record.short} is a {record.kind} record, not a call", hint="cbm hotline calls")
    return record


def confirm_call(store: Store, ref: str) -> Call:
    """Sign our confirmation of a call the peer recorded with us.

    Raises NotFound (5) for an unknown record, UsageError (2) for a record that is not a call,
    IllegalTransition (4) for our own call, a call between other parties, or one we already confirmed.
    """
    record = _call_record(store, ref)
    if record.author == store.party:
        raise IllegalTransition(f"call {record.short} is our own record: only {record.to[0]} can confirm it")
    if store.party not in record.to:
        raise IllegalTransition(f"call {record.short} is between {record.author} and {', '.join(record.to)}")
    call = find(store, record.hash)
    if call.confirmed:
        raise IllegalTransition(f"call {record.short} was already confirmed at {call.confirmed}")
    store.append(KIND_CALL_CONFIRM, checked(KIND_CALL_CONFIRM, {"ref": record.hash}), to=(record.author,), tlp=TLP)
    return find(store, record.hash)


def decrypt(store: Store, record: Record, call: Call) -> None:
    """Fill in ``call.summary``, or ``call.problem`` when it cannot be decrypted (never raises)."""
    try:
        call.summary = _unseal(store, record, call_context(call.start, call.end))
    except CbmError as e:
        call.problem = str(e)


def find(store: Store, ref: str) -> Call:
    """One call, by id or unique prefix, decrypted. Raises NotFound (5) or UsageError (2)."""
    record = _call_record(store, ref)
    state = load(store)
    for conversation in state.conversations.values():
        for call in conversation.calls:
            if call.id == record.hash:
                decrypt(store, record, call)
                return call
    raise IllegalTransition(f"call {record.short} is not part of a conversation of ours")


def calls(store: Store, peer: str | None = None) -> list[Call]:
    """Every call on record (or those with ``peer``), by start time, decrypted."""
    state = load(store)
    found = [call for code, c in sorted(state.conversations.items()) if peer is None or code == peer.upper()
             for call in c.calls]
    for call in found:
        decrypt(store, state.records[call.id], call)
    return sorted(found, key=lambda call: (call.start, call.id))
