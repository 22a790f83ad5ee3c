"""An inquiry as a document: the JSON shape shared by ``show --json``, ``list --json`` and ``export``, and the
Markdown record of the exchange for the file (docs/adr/0033-inquiry-export.md).

The JSON export carries every record's envelope exactly as signed, so anyone holding the parties' cards can
re-verify the thread without this store.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from cbm.core import clock
from cbm.measures.inquiry.model import Thread

if TYPE_CHECKING:
    from cbm.measures.inquiry.service import Signed
    from cbm.store.db import Store

MESSAGE_FIELDS = ("text", "note", "outcome", "reason", "own_ref", "reply_by", "indicators", "attachments")


def their_ref(thread: Thread) -> str | None:
    """The recipient's own reference number, from its acknowledgement."""
    for m in thread.messages:
        if m.kind == "inquiry.ack" and isinstance(m.body.get("own_ref"), str):
            return str(m.body["own_ref"])
    return None


def summary(thread: Thread, now: datetime | None = None) -> dict[str, Any]:
    """The fields ``cbm inquiry list --json`` gives for each inquiry."""
    now = now or clock.now()
    body = thread.body
    return {
        "number": thread.number, "their_ref": their_ref(thread), "sender": thread.sender,
        "recipient": thread.recipient, "type": body.get("type"), "precedence": thread.precedence,
        "subject": body.get("subject"), "sector": body.get("sector"), "tlp": thread.open.tlp,
        "state": thread.state, "awaiting": thread.awaiting, "outcome": thread.outcome,
        "opened": thread.open.created, "delivered": thread.delivered, "ack_due": thread.ack_due,
        "reply_due": thread.reply_due, "due": thread.due, "overdue": thread.overdue(now),
        "countdown": thread.countdown(now), "open_hash": thread.open.hash,
    }


def message_doc(signed: Signed) -> dict[str, Any]:
    record = signed.record
    doc: dict[str, Any] = {
        "hash": record.hash, "kind": record.kind, "author": record.author, "seq": record.seq,
        "created": record.created, "to": list(record.to), "tlp": record.tlp, "keyid": record.keyid,
        "fingerprint": signed.fingerprint, "signature": signed.verified, "delivered": signed.delivered,
        "draft": record.body.get("draft") is True,
    }
    for name in MESSAGE_FIELDS:
        if name in record.body:
            doc[name] = record.body[name]
    return doc


def document(store: Store, thread: Thread, *, envelopes: bool = False) -> dict[str, Any]:
    """The whole thread: summary, the opening text, every message with its signer, and anomalies."""
    from cbm.measures.inquiry.service import signatures

    signed = signatures(store, thread)
    doc = summary(thread)
    doc.update({
        "text": thread.body.get("text"), "indicators": thread.body.get("indicators", []),
        "attachments": thread.body.get("attachments", []), "reply_by": thread.body.get("reply_by"),
        "messages": [message_doc(s) for s in signed], "anomalies": thread.anomalies,
        "allowed": list(thread.allowed(store.party)), "viewer": store.party,
    })
    if envelopes:
        doc["envelopes"] = [s.record.envelope.decode("utf-8") for s in signed]
    return doc


ACTION_TITLE = {"inquiry.open": "Inquiry", "inquiry.ack": "Acknowledgement", "inquiry.reply": "Reply",
                "inquiry.clarify": "Clarification", "inquiry.close": "Closure", "inquiry.withdraw": "Withdrawal"}


def _plain(value: object) -> str:
    """Peer text for a Markdown file: control characters made visible, never executed by a viewer."""
    text = str(value)
    return "".join(ch if ch.isprintable() or ch in "\n\t" else f"\\x{ord(ch):02x}" for ch in text)


def markdown(store: Store, thread: Thread) -> str:
    """A Markdown record of the exchange for the file: header, then each signed message in order."""
    doc = document(store, thread)
    lines = [f"# Inquiry {doc['number']}: {_plain(doc['subject'])}", ""]
    header = [
        ("From", doc["sender"]), ("To", doc["recipient"]), ("Their reference", doc["their_ref"]),
        ("Type", doc["type"]), ("Precedence", doc["precedence"]), ("Sector", doc["sector"]),
        ("TLP", f"TLP:{doc['tlp']}"), ("State", doc["state"] + (f" ({doc['outcome']})" if doc["outcome"] else "")),
        ("Opened", doc["opened"]), ("Delivered", doc["delivered"] or "not yet confirmed by a receipt"),
        ("Acknowledge by", doc["ack_due"]), ("Reply by", doc["reply_due"]),
        ("Exported", f"{clock.now_iso()} by {store.party}"),
    ]
    lines += [f"- **{k}:** {_plain(v)}" for k, v in header if v]
    for message in doc["messages"]:
        title = ACTION_TITLE.get(message["kind"], message["kind"])
        if message["draft"]:
            title = "Draft"
        lines += ["", f"## {title} — {message['author']}, {message['created']}", ""]
        signature = "verified" if message["signature"] == "ok" else f"DOES NOT VERIFY: {message['signature']}"
        lines.append(f"Signed by {message['author']} key `{message['fingerprint']}` ({signature}); "
                     f"record `{message['hash']}`" +
                     (f"; receipt from the other party {message['delivered']}" if message["delivered"] else ""))
        body = message
        for label, key in (("Outcome", "outcome"), ("Reason", "reason"), ("Note", "note"),
                           ("Their reference", "own_ref"), ("Answer requested by", "reply_by")):
            if message.get(key):
                lines.append(f"\n**{label}:** {_plain(message[key])}")
        text = body.get("text")
        if text:
            lines += ["", "```text", _plain(text).replace("```", "`\u200b``").rstrip("\n"), "```"]
        for item in body.get("indicators") or []:
            lines.append(f"- indicator `{_plain(item)}`")
        for item in body.get("attachments") or []:
            if isinstance(item, dict):
                lines.append(f"- attachment `{_plain(item.get('name'))}` ({item.get('size')} bytes, "
                             f"sha256 `{item.get('sha256')}`)")
    if doc["anomalies"]:
        lines += ["", "## Ignored messages", ""] + [f"- {_plain(a)}" for a in doc["anomalies"]]
    return "\n".join(lines) + "\n"
