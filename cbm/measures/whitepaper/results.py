"""What publishing, translating and withdrawing a paper return: the new signed record's facts, read through its
typed body (records.py), so the CLI renders a result and never reads a record body itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cbm.core.bodies import present
from cbm.core.records import Record
from cbm.measures.whitepaper.records import Publish, Translate, Withdraw


@dataclass(frozen=True)
class PaperChange:
    """One new version, translation or withdrawal of a paper, as ``--json`` reports it (keys are a contract)."""

    action: str  # published | translated | withdrawn
    doc: str  # the document id (version 1's record hash)
    record: str
    version: int | None
    sha256: str | None
    size: int | None
    media_type: str | None
    filename: str | None
    tlp: str
    to: list[str]
    extra: dict[str, Any] = field(default_factory=dict)  # lang, official, of (translations); reason (withdrawals)

    def document(self) -> dict[str, Any]:
        base = {"action": self.action, "doc": self.doc, "record": self.record, "version": self.version,
                "sha256": self.sha256, "size": self.size, "media_type": self.media_type,
                "filename": self.filename, "tlp": self.tlp, "to": self.to}
        return {**base, **self.extra}


def _or_none(value: Any) -> Any:
    return value if present(value) else None


def change_of(record: Record) -> PaperChange:
    """The facts of a paper record we just signed (publish, translate or withdraw). Raises InvalidBody if its
    body breaks its kind's rules (it cannot, for a record the service wrote)."""
    common: dict[str, Any] = {"record": record.hash, "tlp": record.tlp, "to": list(record.to)}
    if record.kind == Translate.KIND:
        t = Translate.from_body(record.body)
        f = t.file_info
        return PaperChange("translated", t.ref, version=_or_none(t.version), sha256=f.sha256, size=f.size,
                           media_type=f.media_type, filename=f.filename,
                           extra={"lang": t.lang, "official": t.official, "of": t.of}, **common)
    if record.kind == Withdraw.KIND:
        w = Withdraw.from_body(record.body)
        return PaperChange("withdrawn", w.ref, version=w.version, sha256=None, size=None, media_type=None,
                           filename=None, extra={"reason": w.reason}, **common)
    p = Publish.from_body(record.body)
    f = p.file_info
    return PaperChange("published", _or_none(p.ref) or record.hash, version=p.version, sha256=f.sha256,
                       size=f.size, media_type=f.media_type, filename=f.filename, **common)
