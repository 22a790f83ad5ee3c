"""Reading an inquiry thread for people: every record re-verified with who signed it and when the other side
received it, and the thread's attachments written out under safe names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cbm.core.errors import CbmError, UsageError
from cbm.measures.inquiry.model import Thread

if TYPE_CHECKING:
    from cbm.core.records import Record
    from cbm.store.db import Store


@dataclass(frozen=True)
class Signed:
    """One record of a thread with who signed it and whether the signature still verifies here."""

    record: Record
    fingerprint: str | None
    verified: str  # "ok" or the reason it does not verify
    delivered: str | None  # when the other party's receipt says it holds this record


def signatures(store: Store, thread: Thread) -> list[Signed]:
    """Re-verify every record of the thread against the keys we trust: the thread checked end to end."""
    from cbm.core.keys import fingerprint
    from cbm.core.records import verify_record
    from cbm.store.index_receipts import delivered_at

    result = []
    records = ([thread.draft] if thread.draft else []) + [thread.open] + thread.messages
    for record in records:
        key = store.trusted_key(record.keyid)
        try:
            verify_record(record.envelope, store)
            verified = "ok"
        except CbmError as e:
            verified = str(e)
        other = thread.peer_of(record.author)
        seen = None if record.body.get("draft") or record.to == (record.author,) else \
            store.query(delivered_at, other, record.author, record.seq)
        result.append(Signed(record, fingerprint(key.verify_key) if key else None, verified, seen))
    return result


NAME_BYTES = 200  # a saved name's budget: 255 on most file systems, less a 13-byte digest prefix and ".part"


def safe_name(name: object, digest: str) -> str:
    """A file name from a peer, reduced to a plain base name (no directories, no control characters) of at most
    NAME_BYTES UTF-8 bytes (the stem shortened, a short extension kept)."""
    text = Path(str(name)).name if isinstance(name, str) else ""
    text = "".join(ch for ch in text if ch.isprintable() and ch not in "/\\:")
    if len(text.encode("utf-8")) > NAME_BYTES:
        stem, dot, ext = text.rpartition(".")
        ext = dot + ext if stem and len(ext) <= 16 else ""
        cut = text[:len(text) - len(ext)].encode("utf-8")[:NAME_BYTES - len(ext.encode("utf-8"))]
        text = cut.decode("utf-8", "ignore") + ext
    return text if text and text not in (".", "..") and not text.startswith(".") else f"attachment-{digest[:12]}"


def save_attachments(store: Store, thread: Thread, directory: Path) -> list[tuple[str, Path | None]]:
    """Write every attachment of the thread into ``directory``. Returns (sha256, path or None if absent).

    Content is re-checked against its hash while copying (TamperedContent if a stored blob was altered).
    Raises UsageError when ``directory`` or a file in it cannot be written.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return _save(store, thread, directory)
    except OSError as e:
        raise UsageError(f"cannot write {e.filename or directory}: {e.strerror}") from e


def _save(store: Store, thread: Thread, directory: Path) -> list[tuple[str, Path | None]]:
    result: list[tuple[str, Path | None]] = []
    done: set[str] = set()
    for record in [thread.open] + thread.messages:
        listing = record.body.get("attachments")
        for item in listing if isinstance(listing, list) else []:
            digest = item.get("sha256") if isinstance(item, dict) else None
            if not isinstance(digest, str) or digest in done or not re.fullmatch(r"[0-9a-f]{64}", digest):
                continue
            done.add(digest)
            if not store.blobs.has(digest):
                result.append((digest, None))
                continue
            target = directory / safe_name(item.get("name"), digest)
            if target.exists():
                target = directory / f"{digest[:12]}-{target.name}"
            tmp = target.with_name(target.name + ".part")
            try:
                with open(tmp, "wb") as out:
                    for chunk in store.blobs.read(digest):
                        out.write(chunk)
                tmp.replace(target)
            except BaseException:  # an altered blob, a full disk, Ctrl-C: no half file left (docs/adr/0278)
                tmp.unlink(missing_ok=True)
                raise
            result.append((digest, target))
    return result
