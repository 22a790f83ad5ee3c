"""Hotline transcripts: the whole conversation decrypted, its chain verified, and a signed export.

``verify`` re-checks, for both parties of a conversation, every link of their logs as held here (the
payload hash of each record against the next record's ``prev``, across ranges withheld from us), the
signature of every hotline record and of each log's newest record (whose signature, through the chain,
covers everything before it), and that every sealed body authenticates. Together with the per-direction
sequence checks of ``model.py`` this detects an altered, removed, inserted, replayed or reordered
message. See docs/adr/0042-hotline-transcript.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from cbm.core import clock
from cbm.core.errors import (
    CbmError,
    MalformedInput,
    NotFound,
    StoreCorrupt,
    TamperedContent,
    UsageError,
    VerificationError,
)
from cbm.core.files import StagedFile, check_output, staged
from cbm.core.records import Record, verify_record
from cbm.measures.hotline import records
from cbm.measures.hotline.calls import decrypt as decrypt_call
from cbm.measures.hotline.index import withheld_links, withheld_seqs
from cbm.measures.hotline.model import KIND_TRANSCRIPT, Anomaly, Call, Conversation, HotlineState, Message, load
from cbm.measures.hotline.service import TLP, _unseal, message_context, translation_context
from cbm.store.db import Draft, Store


@dataclass
class Fault:
    author: str
    seq: int
    problem: str
    ref: str | None = None


@dataclass
class Transcript:
    peer: str
    messages: list[Message]
    anomalies: list[Anomaly]
    faults: list[Fault] = field(default_factory=list)
    verified: bool | None = None  # None: not verified; True: no fault and no anomaly
    records_checked: int = 0
    calls: list[Call] = field(default_factory=list)  # voice calls on record, by start time

    @property
    def ok(self) -> bool:
        return not self.faults and not self.anomalies


def _conversations(state: HotlineState, store: Store, peer: str | None) -> list[Conversation]:
    if peer is None:
        return [state.conversations[p] for p in sorted(state.conversations)]
    code = peer.strip().upper()
    if code == store.party:
        raise UsageError(f"{code} is us", hint="--with names the peer of the conversation")
    store.check_recipients([code])
    return [state.conversation(code)]


def transcript(store: Store, peer: str | None = None, *, verify: bool = False) -> list[Transcript]:
    """Every conversation (or the one with ``peer``), decrypted, in conversation order.

    With ``verify``, also check chains and signatures (see the module docstring); faults are collected,
    not raised, so one run reports them all. Raises NotFound for an unknown peer.
    """
    out = []
    state = load(store)
    for c in _conversations(state, store, peer):
        t = Transcript(c.peer, c.messages, c.anomalies, calls=c.calls)
        for m in c.messages:
            _decrypt(store, state, m, t)
        for call in c.calls:
            decrypt_call(store, state.records[call.id], call)
            if call.problem:
                t.faults.append(Fault(call.by, 0, f"call {call.id[:12]} cannot be decrypted: {call.problem}", call.id))
        if verify:
            hashes = {m.id for m in c.messages} | {tr.id for m in c.messages for tr in m.translations}
            hashes |= {call.id for call in c.calls} | {call.confirm_id for call in c.calls if call.confirm_id}
            checked, faults = verify_logs(store, [store.party, c.peer], hashes)
            t.faults.extend(faults)
            t.records_checked = checked
            t.verified = t.ok
        out.append(t)
    return out


def _decrypt(store: Store, state: HotlineState, m: Message, t: Transcript) -> None:
    record = state.records[m.id]
    try:
        m.text = _unseal(store, record, message_context(record.body.get("dseq")))
    except CbmError as e:
        m.problem = str(e)
        t.faults.append(Fault(m.sender, m.seq, f"message {m.id[:12]} cannot be decrypted: {e}", m.id))
    for tr in m.translations:
        try:
            tr.text = _unseal(store, state.records[tr.id], translation_context(m.id))
        except CbmError as e:
            tr.problem = str(e)
            t.faults.append(Fault(tr.by, 0, f"translation {tr.id[:12]} cannot be decrypted: {e}", tr.id))


def verify_logs(store: Store, authors: list[str], signed: set[str]) -> tuple[int, list[Fault]]:
    """Walk each author's log as held here: positions, chain links (across withheld ranges), and the
    signatures of the records in ``signed`` plus each log's newest record. Returns (records, faults)."""
    faults: list[Fault] = []
    count = 0
    for author in authors:
        stubs = store.query(withheld_links, author)
        withheld = store.query(withheld_seqs, author)
        expected, last = 1, None
        newest: Record | None = None
        try:
            for r in store.log(author):
                count += 1
                if r.author != author:
                    faults.append(Fault(author, expected, f"a record of {r.author} sits in {author}'s log", r.hash))
                if r.seq < expected:
                    faults.append(Fault(author, r.seq, f"record {r.seq} is stored after record {expected - 1}: "
                                                       "the log is reordered", r.hash))
                elif r.seq > expected:
                    hidden = all(any(a <= s <= b for a, b in withheld) for s in range(expected, r.seq))
                    if not hidden:
                        faults.append(Fault(author, expected, f"records {expected}-{r.seq - 1} are missing"))
                if r.seq == 1:
                    link = None
                elif last is not None and last.seq == r.seq - 1:
                    link = last.hash
                else:
                    link = stubs.get(r.seq - 1, "?")
                if r.prev != link and not (link == "?" and r.seq > expected):
                    faults.append(Fault(author, r.seq, f"record {r.seq} does not link to record {r.seq - 1} "
                                                       "(altered, removed or reordered)", r.hash))
                if r.hash in signed or r.kind.startswith("hotline."):
                    _check_signature(store, r, faults)
                expected, last, newest = max(expected, r.seq + 1), r, r
        except StoreCorrupt as e:
            faults.append(Fault(author, expected, f"a stored record cannot be read: {e}"))
        if newest is not None and not newest.kind.startswith("hotline."):
            _check_signature(store, newest, faults)
    faults.sort(key=lambda f: (f.author, f.seq))
    return count, faults


def _check_signature(store: Store, r: Record, faults: list[Fault]) -> None:
    try:
        checked = verify_record(r.envelope, store)
    except CbmError as e:
        faults.append(Fault(r.author, r.seq, f"record {r.seq} ({r.kind}): {e}", r.hash))
        return
    if checked.hash != r.hash:
        faults.append(Fault(r.author, r.seq, f"record {r.seq} is not the record that was signed", r.hash))


# -- export ----------------------------------------------------------------------------------------------


@dataclass
class Exported:
    path: str
    signature: str
    sha256: str
    record: str
    peer: str
    messages: int
    anomalies: int


def _fence(text: str) -> str:
    run, longest = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _safe(text: str) -> str:
    """Peer text for a file people will open in viewers: control characters written out, never obeyed."""
    return "".join(ch if ch.isprintable() or ch in "\n\t" else f"\\x{ord(ch):02x}" if ord(ch) < 256
                   else f"\\u{ord(ch):04x}" for ch in text)


def _block(text: str | None, problem: str | None) -> list[str]:
    body = _safe(text) if text is not None else f"(cannot be decrypted: {problem})"
    fence = _fence(body)
    return [fence + "text", body, fence, ""]


def _call_section(call: Call) -> list[str]:
    confirmed = f"confirmed by {call.peer} at {call.confirmed} (`{call.confirm_id}`)" if call.confirmed else \
        f"NOT confirmed by {call.peer}"
    lines = [f"## Voice call {call.by} and {call.peer}, {call.start} to {call.end}", "",
             f"- id: `{call.id}`; recorded by {call.by} at {call.created}; {confirmed}",
             "- participants: " + "; ".join(_safe(p) for p in call.participants), "- summary:", ""]
    return lines + _block(call.summary, call.problem)


def render_markdown(store: Store, t: Transcript, exported: str) -> str:
    """The bilingual transcript: each message's original and every (unofficial) translation, verbatim in
    fenced blocks (peer text is never interpreted as Markdown), with sequence numbers, receipts and ids."""
    me = store.party
    sent = sum(1 for m in t.messages if m.sender == me)
    lines = [f"# Hotline transcript: {me} and {t.peer}", "",
             f"- Exported by {me} ({store.name}) at {exported}",
             f"- Messages: {len(t.messages)} ({me}→{t.peer} {sent}, {t.peer}→{me} {len(t.messages) - sent}), "
             "in conversation order; translations are unofficial",
             "- Verification: " + ("chain, signatures, encryption and sequence numbers OK" if t.ok else
                                   f"{len(t.faults)} fault(s), {len(t.anomalies)} anomaly(ies), listed at the end"),
             "- Ids are the SHA-256 of the signed records; the signature of this file is in the `.sig` file "
             "beside it (`cbm hotline check-export FILE`)", ""]
    calls = list(t.calls)
    for n, m in enumerate(t.messages, 1):
        while calls and calls[0].start <= m.created:
            lines += _call_section(calls.pop(0))
        lines += [f"## {n}. {m.sender} → {m.recipient} · {m.precedence} · {m.sender} message {m.dseq}", "",
                  f"- id: `{m.id}`",
                  f"- written {m.created} (had seen {m.recipient}→{m.sender} message {m.peer_seen}); "
                  f"acknowledge by {m.deadline}",
                  f"- delivered {m.delivered or '—'}; read {m.read or '—'}",
                  f"- original, language `{_safe(m.lang)}`:", ""]
        lines += _block(m.text, m.problem)
        for tr in m.translations:
            lines += [f"### Translation ({_safe(tr.lang)}, unofficial, by {tr.by}, {tr.created})", "",
                      f"- id: `{tr.id}`", ""]
            lines += _block(tr.text, tr.problem)
    for call in calls:
        lines += _call_section(call)
    if not t.ok:
        lines += ["## Problems found", ""]
        lines += [f"- fault: {f.author} record {f.seq}: {_safe(f.problem)}" for f in t.faults]
        lines += [f"- {a.kind}: {_safe(a.text)}" for a in t.anomalies]
        lines.append("")
    return "\n".join(lines)


def export(store: Store, output: Path, peer: str | None = None) -> Exported:
    """Write the verified, bilingual transcript of one conversation to ``output`` and sign it: a
    ``hotline.transcript`` record (in our log, addressed to the peer) holds the file's SHA-256, and its
    signed envelope is written beside the file as ``<output>.sig``.

    Raises VerificationError (exit 1) when the chain or a signature does not verify (we never sign a
    transcript of a tampered store), UsageError when several conversations exist and no peer is named,
    NotFound when there is no conversation.
    """
    if peer is None:
        peers = sorted(load(store).conversations)
        if not peers:
            raise NotFound("there is no hotline conversation to export")
        if len(peers) > 1:
            raise UsageError("there are several hotline conversations: " + ", ".join(peers),
                             hint="choose one with --with PARTY")
        peer = peers[0]
    t = transcript(store, peer, verify=True)[0]
    if not t.messages:
        raise NotFound(f"there is no hotline message with {t.peer} to export")
    if t.faults:
        raise VerificationError(f"the conversation with {t.peer} does not verify ({len(t.faults)} fault(s)); "
                                "not signing a transcript of it",
                                hint=f"see `cbm hotline transcript --with {t.peer} --verify`")
    exported = clock.now_iso()
    data = render_markdown(store, t, exported).encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    signature = output.with_name(output.name + ".sig")
    check_output(output)  # the file's place, then its signature's, before anything is written or signed (ADR 0278)
    check_output(signature)
    body = records.Transcript.from_body({"with": t.peer, "sha256": digest, "file": output.name,
                                 "messages": [m.id for m in t.messages], "anomalies": len(t.anomalies)}).to_body()
    # the file and its signature are written (staged) while the record is signed, and the record is committed
    # only once both are on disk: a full disk leaves no record signed for a file that is not there (ADR 0290)
    files: list[StagedFile] = []
    try:
        files.append(staged(output, data))
        store.key_pairs()  # unlock (perhaps a prompt) before taking the write lock
        with store.transaction():
            record = store.append_locked([Draft(KIND_TRANSCRIPT, body, (t.peer,), TLP, exported)])[0]
            files.append(staged(signature, record.envelope + b"\n"))
        for file in files:
            file.land()
    finally:
        for file in files:
            file.discard()
    return Exported(str(output), str(signature), digest, record.hash, t.peer, len(t.messages), len(t.anomalies))


@dataclass
class ExportCheck:
    path: str
    signature: str
    sha256: str
    signed_by: str
    record: str
    created: str
    peer: str
    messages: int


def check_export(store: Store, path: Path, signature: Path | None = None) -> ExportCheck:
    """Check an exported transcript against its signature file with the keys this store trusts.

    Raises NotFound (missing files), UnknownSigner (3), BadSignature / TamperedContent (1), MalformedInput (4).
    """
    signature = signature or Path(f"{path}.sig")  # not with_name: "/" and "." have no name
    try:
        data = path.read_bytes()
        envelope = signature.read_bytes().strip()
    except OSError as e:
        raise NotFound(f"cannot read {e.filename}: {e.strerror}") from e
    record = verify_record(envelope, store)
    if record.kind != KIND_TRANSCRIPT:
        raise MalformedInput(f"{signature} is a signed {record.kind} record, not a hotline transcript signature")
    digest = hashlib.sha256(data).hexdigest()
    if record.body.get("sha256") != digest:
        raise TamperedContent(f"{path} does not match its signature: it was changed after {record.author} "
                              f"signed it at {record.created}")
    messages = record.body.get("messages")
    return ExportCheck(str(path), str(signature), digest, record.author, record.hash, record.created,
                       str(record.body.get("with")), len(messages) if isinstance(messages, list) else 0)

