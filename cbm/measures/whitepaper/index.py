"""Derived index of white papers: documents, their version chains, translations, acknowledgements, search.

Folds ``whitepaper.*`` records:

- ``whitepaper.publish``: a version of a document carrying a file (v1 has no ``ref``; its record hash is the
  document id; later versions carry ``ref`` = document id and ``supersedes`` = the previous version's hash);
- ``whitepaper.withdraw``: a version without a file, saying the document is withdrawn;
- ``whitepaper.translate``: a translation of one version (``of``) into ``lang``;
- ``whitepaper.ack``: a party acknowledging it received and hash-checked a version or translation.

A record whose body breaks the rules (a version that does not extend its document's chain, a version by
someone other than the document's author, a classification other than UNCLASSIFIED, ...) is not folded into
the documents; it is listed in ``wp_invalid`` so ``cbm status`` can say so. Nothing here raises on peer
data: a refusal inside an index would roll back a whole bundle import and the sender would resend it forever.

Full-text search uses SQLite FTS5: ``wp_meta_fts`` (title, issuer, summary; filled here) and ``wp_text_fts``
(the extracted text of each file, keyed by sha256; filled by :func:`set_text` after the file is present,
because extraction reads the blob, which an index cannot do inside the import transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cbm.core.bodies import present
from cbm.core.records import Record
from cbm.measures.whitepaper.records import Ack, InvalidBody, Publish, Translate, VersionHead, Withdraw
from cbm.store.indexes import Connection, Index

SCHEMA = """
CREATE TABLE IF NOT EXISTS wp_versions (
    hash           TEXT PRIMARY KEY,
    doc            TEXT NOT NULL,
    author         TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    action         TEXT NOT NULL,            -- publish | withdraw
    supersedes     TEXT,
    sha256         TEXT,
    size           INTEGER,
    media_type     TEXT,
    filename       TEXT,
    title          TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    lang           TEXT NOT NULL,
    classification TEXT NOT NULL,
    date           TEXT NOT NULL,
    summary        TEXT NOT NULL,
    reason         TEXT,
    tlp            TEXT NOT NULL,
    created        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS wp_versions_doc ON wp_versions (doc, version);
CREATE INDEX IF NOT EXISTS wp_versions_sha ON wp_versions (sha256);
CREATE TABLE IF NOT EXISTS wp_translations (
    hash        TEXT PRIMARY KEY,
    doc         TEXT NOT NULL,
    author      TEXT NOT NULL,
    of_hash     TEXT NOT NULL,
    of_version  INTEGER NOT NULL,
    lang        TEXT NOT NULL,
    official    INTEGER NOT NULL,
    title       TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    media_type  TEXT NOT NULL,
    filename    TEXT NOT NULL,
    tlp         TEXT NOT NULL,
    created     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS wp_translations_doc ON wp_translations (doc);
CREATE INDEX IF NOT EXISTS wp_translations_sha ON wp_translations (sha256);
CREATE TABLE IF NOT EXISTS wp_acks (
    hash     TEXT PRIMARY KEY,
    doc      TEXT NOT NULL,
    by_party TEXT NOT NULL,
    of_hash  TEXT NOT NULL,
    version  INTEGER,
    sha256   TEXT,
    created  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS wp_acks_doc ON wp_acks (doc);
CREATE INDEX IF NOT EXISTS wp_acks_of ON wp_acks (of_hash, by_party);
CREATE TABLE IF NOT EXISTS wp_invalid (
    hash   TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    kind   TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wp_text (
    sha256 TEXT PRIMARY KEY,
    status TEXT NOT NULL,                    -- indexed | none | failed
    chars  INTEGER NOT NULL,
    note   TEXT
);
CREATE VIRTUAL TABLE IF NOT EXISTS wp_meta_fts USING fts5 (
    hash UNINDEXED, title, issuer, summary, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS wp_text_fts USING fts5 (
    sha256 UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2'
);
"""



def _version_row(conn: Connection, hash_: str) -> tuple[Any, ...] | None:
    return conn.execute("SELECT doc, author, version, action FROM wp_versions WHERE hash = ?",
                        (hash_,)).fetchone()


def _latest(conn: Connection, doc: str) -> tuple[str, int, str] | None:
    row = conn.execute("SELECT hash, version, action FROM wp_versions WHERE doc = ? "
                       "ORDER BY version DESC, seq DESC LIMIT 1", (doc,)).fetchone()
    return (row[0], row[1], row[2]) if row else None


def _add_version(conn: Connection, r: Record) -> None:
    head = VersionHead.of(r.kind, r.body)
    withdraw = r.kind == Withdraw.KIND
    doc: Any
    prev: Any
    if head.version == 1:
        doc, prev = r.hash, None
    else:
        doc, supersedes, version = head.ref, head.supersedes, head.version
        prev = conn.execute("SELECT title, issuer, lang, classification, date, summary FROM wp_versions "
                            "WHERE hash = ? AND doc = ? AND author = ? AND version = ?",
                            (supersedes, doc, r.author, version - 1)).fetchone()
        if prev is None:
            raise InvalidBody(f"supersedes does not name version {version - 1} of document {doc[:12]} "
                              f"by {r.author}")
        latest = _latest(conn, doc)
        if latest and latest[2] == "withdraw":
            raise InvalidBody("the document was already withdrawn")
    if withdraw:
        title, issuer, lang, classification, date, summary = prev
        reason: str | None = Withdraw.from_body(r.body).reason
        file: tuple[Any, ...] = (None, None, None, None)
    else:
        paper = Publish.from_body(r.body)
        title, issuer, lang, classification, date = paper.title, paper.issuer, paper.lang, paper.classification, \
            paper.date
        summary, reason = paper.summary if present(paper.summary) else "", None
        f = paper.file_info
        file = (f.sha256, f.size, f.media_type, f.filename)
    conn.execute(
        "INSERT INTO wp_versions (hash, doc, author, seq, version, action, supersedes, sha256, size, media_type,"
        " filename, title, issuer, lang, classification, date, summary, reason, tlp, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (r.hash, doc, r.author, r.seq, head.version, "withdraw" if withdraw else "publish",
         head.supersedes if present(head.supersedes) else None, *file, title, issuer, lang,
         classification, date, summary, reason, r.tlp, r.created))
    if not withdraw:
        conn.execute("INSERT INTO wp_meta_fts (hash, title, issuer, summary) VALUES (?, ?, ?, ?)",
                     (r.hash, title, issuer, summary))


def _add_translation(conn: Connection, r: Record) -> None:
    values, _ = Translate.split(r.body)
    Translate.check(values)
    doc, of = values["ref"], values["of"]
    original = _version_row(conn, of)
    if original is None or original[0] != doc or original[3] != "publish":
        raise InvalidBody(f"of does not name a published version of document {doc[:12]}")
    Translate.check_content(values)
    official = values["official"]
    if official and r.author != original[1]:
        raise InvalidBody("only the document's author can issue an official translation")
    translation = Translate.from_body(r.body)
    f = translation.file_info
    conn.execute(
        "INSERT INTO wp_translations (hash, doc, author, of_hash, of_version, lang, official, title, sha256,"
        " size, media_type, filename, tlp, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (r.hash, doc, r.author, of, original[2], translation.lang, int(official), translation.title, f.sha256,
         f.size, f.media_type, f.filename, r.tlp, r.created))
    conn.execute("INSERT INTO wp_meta_fts (hash, title, issuer, summary) VALUES (?, ?, '', '')",
                 (r.hash, translation.title))


def _add_ack(conn: Connection, r: Record) -> None:
    ack = Ack.from_body(r.body)
    conn.execute("INSERT INTO wp_acks (hash, doc, by_party, of_hash, version, sha256, created)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (r.hash, ack.ref, r.author, ack.of, ack.version_number, ack.sha256 if present(ack.sha256) else None,
                  r.created))


_HANDLERS = {"whitepaper.publish": _add_version, "whitepaper.withdraw": _add_version,
             "whitepaper.translate": _add_translation, "whitepaper.ack": _add_ack}


def _add(conn: Connection, records: list[Record]) -> None:
    for r in records:
        handler = _HANDLERS.get(r.kind)
        if handler is None:
            conn.execute("INSERT OR IGNORE INTO wp_invalid (hash, author, kind, reason) VALUES (?, ?, ?, ?)",
                         (r.hash, r.author, r.kind, "unknown white paper record kind"))
            continue
        try:
            handler(conn, r)
        except InvalidBody as e:
            conn.execute("INSERT OR IGNORE INTO wp_invalid (hash, author, kind, reason) VALUES (?, ?, ?, ?)",
                         (r.hash, r.author, r.kind, str(e)))


INDEX = Index(name="whitepaper", version=1, kinds=("whitepaper.",),
              tables=("wp_versions", "wp_translations", "wp_acks", "wp_invalid", "wp_text", "wp_meta_fts",
                      "wp_text_fts"),
              schema=SCHEMA, add=_add)


# -- queries ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRow:
    hash: str
    doc: str
    author: str
    seq: int
    version: int
    action: str
    supersedes: str | None
    sha256: str | None
    size: int | None
    media_type: str | None
    filename: str | None
    title: str
    issuer: str
    lang: str
    classification: str
    date: str
    summary: str
    reason: str | None
    tlp: str
    created: str


@dataclass(frozen=True)
class TranslationRow:
    hash: str
    doc: str
    author: str
    of_hash: str
    of_version: int
    lang: str
    official: bool
    title: str
    sha256: str
    size: int
    media_type: str
    filename: str
    tlp: str
    created: str


@dataclass(frozen=True)
class AckRow:
    hash: str
    doc: str
    by_party: str
    of_hash: str
    version: int | None
    sha256: str | None
    created: str


_VERSION_COLS = ("hash, doc, author, seq, version, action, supersedes, sha256, size, media_type, filename, title,"
                 " issuer, lang, classification, date, summary, reason, tlp, created")
_TRANSLATION_COLS = ("hash, doc, author, of_hash, of_version, lang, official, title, sha256, size, media_type,"
                     " filename, tlp, created")


def _translation(row: tuple[Any, ...]) -> TranslationRow:
    values = list(row)
    values[6] = bool(values[6])
    return TranslationRow(*values)


def versions(conn: Connection, doc: str) -> list[VersionRow]:
    """Every version of ``doc``, oldest first."""
    return [VersionRow(*row) for row in conn.execute(
        f"SELECT {_VERSION_COLS} FROM wp_versions WHERE doc = ? ORDER BY version, seq", (doc,))]


def version_by_hash(conn: Connection, hash_: str) -> VersionRow | None:
    row = conn.execute(f"SELECT {_VERSION_COLS} FROM wp_versions WHERE hash = ?", (hash_,)).fetchone()
    return VersionRow(*row) if row else None


def translations(conn: Connection, doc: str) -> list[TranslationRow]:
    return [_translation(row) for row in conn.execute(
        f"SELECT {_TRANSLATION_COLS} FROM wp_translations WHERE doc = ? ORDER BY created, rowid", (doc,))]


def translation_by_hash(conn: Connection, hash_: str) -> TranslationRow | None:
    row = conn.execute(f"SELECT {_TRANSLATION_COLS} FROM wp_translations WHERE hash = ?", (hash_,)).fetchone()
    return _translation(row) if row else None


def acks(conn: Connection, doc: str) -> list[AckRow]:
    return [AckRow(*row) for row in conn.execute(
        "SELECT hash, doc, by_party, of_hash, version, sha256, created FROM wp_acks WHERE doc = ?"
        " ORDER BY created, rowid", (doc,))]


def acked_by(conn: Connection, of_hash: str, by_party: str) -> bool:
    return conn.execute("SELECT 1 FROM wp_acks WHERE of_hash = ? AND by_party = ?",
                        (of_hash, by_party)).fetchone() is not None


def resolve(conn: Connection, ref: str) -> list[str]:
    """Documents whose id, or one of whose version or translation hashes, starts with ``ref``."""
    hi = ref + "g"
    rows = conn.execute(
        "SELECT doc FROM wp_versions WHERE (doc >= ? AND doc < ?) OR (hash >= ? AND hash < ?)"
        " UNION SELECT doc FROM wp_translations WHERE hash >= ? AND hash < ?",
        (ref, hi, ref, hi, ref, hi)).fetchall()
    return sorted({r[0] for r in rows})


def ids(conn: Connection, prefix: str, limit: int = 200) -> list[str]:
    """Paper ids and the hashes of their versions and translations starting with ``prefix`` (lower-case): each
    names its paper (:func:`resolve`); for completion."""
    hi = prefix + "g"
    rows = conn.execute(
        "SELECT doc FROM wp_versions WHERE doc >= ? AND doc < ? UNION SELECT hash FROM wp_versions WHERE hash >= ?"
        " AND hash < ? UNION SELECT hash FROM wp_translations WHERE hash >= ? AND hash < ? ORDER BY 1 LIMIT ?",
        (prefix, hi, prefix, hi, prefix, hi, limit)).fetchall()
    return [str(r[0]) for r in rows]


def documents(conn: Connection, *, author: str | None = None, lang: str | None = None,
              match: str | None = None) -> list[str]:
    """Document ids (newest first) by author, in ``lang`` (original or a translation), matching FTS ``match``."""
    where: list[str] = ["1"]
    args: list[str] = []
    if author is not None:
        where.append("v.author = ?")
        args.append(author)
    if lang is not None:
        where.append("(v.lang = ? OR v.doc IN (SELECT doc FROM wp_translations WHERE lang = ?))")
        args.extend([lang, lang])
    if match is not None:
        where.append(
            "(v.doc IN (SELECT doc FROM wp_versions WHERE hash IN (SELECT hash FROM wp_meta_fts"
            " WHERE wp_meta_fts MATCH ?))"
            " OR v.doc IN (SELECT doc FROM wp_translations WHERE hash IN (SELECT hash FROM wp_meta_fts"
            " WHERE wp_meta_fts MATCH ?))"
            " OR v.doc IN (SELECT doc FROM wp_versions WHERE sha256 IN (SELECT sha256 FROM wp_text_fts"
            " WHERE wp_text_fts MATCH ?))"
            " OR v.doc IN (SELECT doc FROM wp_translations WHERE sha256 IN (SELECT sha256 FROM wp_text_fts"
            " WHERE wp_text_fts MATCH ?)))")
        args.extend([match] * 4)
    sql = (f"SELECT v.doc, MAX(v.created) AS latest, MAX(v.rowid) AS landed FROM wp_versions v"
           f" WHERE {' AND '.join(where)} GROUP BY v.doc ORDER BY latest DESC, landed DESC")
    return [row[0] for row in conn.execute(sql, args)]


def existing_with_sha(conn: Connection, sha256: str) -> list[tuple[str, str, int | None]]:
    """(document, author, version or None for a translation) of every paper file with these bytes."""
    rows = conn.execute("SELECT doc, author, version FROM wp_versions WHERE sha256 = ?"
                        " UNION ALL SELECT doc, author, NULL FROM wp_translations WHERE sha256 = ?",
                        (sha256, sha256)).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def files_without_text(conn: Connection) -> list[tuple[str, str]]:
    """(sha256, media type) of every paper file whose text has not been extracted yet."""
    rows = conn.execute(
        "SELECT sha256, media_type FROM wp_versions WHERE sha256 IS NOT NULL"
        " AND sha256 NOT IN (SELECT sha256 FROM wp_text)"
        " UNION SELECT sha256, media_type FROM wp_translations WHERE sha256 NOT IN (SELECT sha256 FROM wp_text)"
    ).fetchall()
    return sorted({(r[0], r[1]) for r in rows})


def set_text(conn: Connection, sha256: str, status: str, text: str, note: str | None = None) -> None:
    """Record the extracted text of one file (call inside a transaction)."""
    if conn.execute("SELECT 1 FROM wp_text WHERE sha256 = ?", (sha256,)).fetchone():
        return
    conn.execute("INSERT INTO wp_text (sha256, status, chars, note) VALUES (?, ?, ?, ?)",
                 (sha256, status, len(text), note))
    if text:
        conn.execute("INSERT INTO wp_text_fts (sha256, body) VALUES (?, ?)", (sha256, text))


def text_status(conn: Connection, sha256: str) -> tuple[str, int, str | None] | None:
    row = conn.execute("SELECT status, chars, note FROM wp_text WHERE sha256 = ?", (sha256,)).fetchone()
    return (row[0], row[1], row[2]) if row else None


def invalid(conn: Connection) -> list[tuple[str, str, str, str]]:
    """(hash, author, kind, reason) of white paper records that were not folded in."""
    return [(r[0], r[1], r[2], r[3]) for r in conn.execute(
        "SELECT hash, author, kind, reason FROM wp_invalid ORDER BY hash")]


def unacknowledged(conn: Connection, party: str) -> list[str]:
    """Hashes of peer paper records (versions, translations, withdrawals) that ``party`` has not acknowledged."""
    rows = conn.execute(
        "SELECT hash FROM wp_versions WHERE author != ? AND hash NOT IN"
        " (SELECT of_hash FROM wp_acks WHERE by_party = ?)"
        " UNION SELECT hash FROM wp_translations WHERE author != ? AND hash NOT IN"
        " (SELECT of_hash FROM wp_acks WHERE by_party = ?)", (party, party, party, party)).fetchall()
    return sorted(r[0] for r in rows)
