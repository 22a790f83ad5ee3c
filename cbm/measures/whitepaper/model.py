"""A white paper's derived state, folded from its index rows: which version is current, superseded or a
withdrawal, its translations, and who acknowledged what (docs/adr/0050, 0051).

The index (``index.py``) folds the records into rows as they land and checks what needs other records; this
module turns one document's rows into the views ``cbm whitepaper`` shows. Pure: no store, no SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cbm.measures.whitepaper.index import AckRow, TranslationRow, VersionRow


@dataclass
class PaperSummary:
    doc: str
    author: str
    title: str
    issuer: str
    lang: str
    current_version: int  # as `whitepaper show --json` names it (docs/adr/0299)
    status: str  # current | withdrawn
    date: str
    updated: str
    translated_to: list[str] = field(default_factory=list)  # language tags; `show` has the translations themselves


@dataclass
class VersionInfo:
    version: int
    hash: str
    state: str  # current | superseded | withdrawal
    created: str
    date: str
    title: str
    sha256: str | None
    size: int | None
    media_type: str | None
    filename: str | None
    reason: str | None
    have_file: bool
    text: str | None  # indexed | none | failed | pending (search text status)


@dataclass
class TranslationInfo:
    hash: str
    by: str
    lang: str
    official: bool
    of_version: int
    title: str
    sha256: str
    size: int
    media_type: str
    filename: str
    created: str
    have_file: bool


@dataclass
class Receipt:
    by: str
    of: str
    what: str  # "version N", "translation xx", "withdrawal"
    sha256: str | None
    at: str


@dataclass
class Paper:
    doc: str
    author: str
    title: str
    issuer: str
    lang: str
    classification: str
    summary: str
    tlp: str
    status: str
    current_version: int
    versions: list[VersionInfo]
    translations: list[TranslationInfo]
    receipts: list[Receipt]


def fold_paper(doc: str, rows: list[VersionRow], translations: list[TranslationRow], acks: list[AckRow], *,
               text_of: Callable[[str], str], have_file: Callable[[str], bool]) -> Paper:
    """The paper ``doc`` from its version rows (oldest first, at least one), translation and acknowledgement
    rows. ``text_of(sha256)``: the search-text status of a file; ``have_file(sha256)``: whether its bytes are
    here."""
    latest, last_file = rows[-1], [v for v in rows if v.sha256][-1]
    infos = []
    for v in rows:
        state = "withdrawal" if v.action == "withdraw" else "current" if v is latest else "superseded"
        text = text_of(v.sha256) if v.sha256 else None
        infos.append(VersionInfo(v.version, v.hash, state, v.created, v.date, v.title, v.sha256, v.size,
                                 v.media_type, v.filename, v.reason,
                                 bool(v.sha256) and have_file(v.sha256 or ""), text))
    trans = [TranslationInfo(t.hash, t.author, t.lang, t.official, t.of_version, t.title, t.sha256, t.size,
                             t.media_type, t.filename, t.created, have_file(t.sha256))
             for t in translations]
    what: dict[str, str] = {v.hash: ("withdrawal" if v.action == "withdraw" else f"version {v.version}")
                            for v in rows}
    what.update({t.hash: f"translation {t.lang} by {t.by}" for t in trans})
    receipts = [Receipt(a.by_party, a.of_hash, what.get(a.of_hash, a.of_hash[:12]), a.sha256, a.created)
                for a in acks]
    return Paper(doc, latest.author, last_file.title, last_file.issuer, last_file.lang, last_file.classification,
                 last_file.summary, latest.tlp, "withdrawn" if latest.action == "withdraw" else "current",
                 latest.version, infos, trans, receipts)
