"""White papers: signed exchange of unclassified ICT strategies and studies, with versions and translations.

A paper's file lives in the store's content-addressed blob directory (streamed, never loaded whole); the
signed record names its SHA-256, size, media type and file name, and lists it in ``body["blobs"]`` so bundles
carry it. Records (see ``cbm/store/index_whitepaper.py`` for the rules the index enforces):

- ``whitepaper.publish``  a version of a document (v1's record hash is the document id);
- ``whitepaper.withdraw`` a version without a file saying the document is withdrawn (nothing is deleted);
- ``whitepaper.translate`` a translation of one version, official (by the issuer) or not;
- ``whitepaper.ack``      our signed acknowledgement that we received a peer's version and its bytes matched.

See docs/adr/0050-whitepaper-records.md and following.
"""

from __future__ import annotations

import difflib
import mimetypes
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cbm.core import clock, refs
from cbm.core.errors import (
    IllegalTransition,
    InputRejected,
    NotFound,
    OversizedInput,
    TamperedContent,
    UsageError,
)
from cbm.core.files import written_atomically
from cbm.core.records import Record
from cbm.core.tlp import check_tlp
from cbm.measures.base import Attention
from cbm.measures.whitepaper_text import extract, is_text_type
from cbm.store import index_whitepaper as ix
from cbm.store.db import Draft, Store

CLASSIFICATION = ix.CLASSIFICATION
DEFAULT_MAX_BYTES = 2 * 1024 * 1024 * 1024
DIFF_MAX_BYTES = 8 * 1024 * 1024
PAPER_KINDS = ("whitepaper.publish", "whitepaper.translate", "whitepaper.withdraw")


# -- input checks -----------------------------------------------------------------------------------------


def check_classification(mark: str | None) -> str:
    """Only ``UNCLASSIFIED`` may be exchanged. Anything else is refused with InputRejected (exit 4)."""
    if mark is None:
        raise UsageError("a paper must carry its classification marking",
                         hint="--classification UNCLASSIFIED (only unclassified papers are exchanged)")
    value = " ".join(mark.split()).upper()
    if value != CLASSIFICATION:
        raise InputRejected(f"refused: the paper is marked {mark!r}; only UNCLASSIFIED papers are exchanged",
                            hint="papers with any other marking or dissemination control are never published")
    return value


def check_lang(lang: str) -> str:
    """``RU`` -> ``ru``, ``en-US`` stays; refuses what is not a language tag (UsageError)."""
    parts = lang.strip().split("-")
    value = "-".join([parts[0].lower(), *parts[1:]])
    if not ix.LANG.match(value):
        raise UsageError(f"{lang!r} is not a language tag", hint="use e.g. en, ru, fr or en-US")
    return value


def check_date(text: str | None) -> str:
    """A publication date ``YYYY-MM-DD`` (today, UTC, if not given)."""
    moment = clock.now() if text is None else clock.parse_time(text, what="--date")
    return moment.strftime("%Y-%m-%d")


_PDF_MAGIC = b"%PDF-"


def detect_media_type(path: Path) -> str:
    """The file's media type: PDF by its magic bytes, then by extension, then UTF-8 text by content."""
    with open(path, "rb") as source:
        head = source.read(64 * 1024)
    if head.startswith(_PDF_MAGIC):
        return "application/pdf"
    guessed = mimetypes.guess_type(path.name, strict=False)[0]
    if guessed:
        return guessed
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text/plain"
        except UnicodeDecodeError as e:
            if e.start >= len(head) - 4:  # cut inside a multi-byte character at the end of the sample
                return "text/plain"
    return "application/octet-stream"


def _check_media_type(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*", value.strip().lower()):
        raise UsageError(f"{value!r} is not a media type", hint="e.g. application/pdf or text/markdown")
    return value.strip().lower()


def _max_bytes(store: Store) -> int:
    value = store.config.get("whitepaper", {}).get("max_bytes", DEFAULT_MAX_BYTES)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError(f"config.toml: [whitepaper] max_bytes must be a positive integer, not {value!r}")
    return value


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str
    filename: str

    def body(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "media_type": self.media_type,
                "filename": self.filename}


def _store_file(store: Store, path: Path, media_type: str | None) -> StoredFile:
    """Stream ``path`` into the blob store (checked for size first). Raises NotFound, OversizedInput."""
    try:
        stat = path.stat()
    except OSError as e:
        raise NotFound(f"cannot read {path}: {e.strerror}") from e
    if not path.is_file():
        raise UsageError(f"{path} is not a regular file")
    if stat.st_size == 0:
        raise InputRejected(f"{path} is empty")
    limit = _max_bytes(store)
    if stat.st_size > limit:
        raise OversizedInput(f"{path} is {stat.st_size} bytes; white papers are limited to {limit} bytes",
                             hint="raise [whitepaper] max_bytes in the store's config.toml")
    kind = _check_media_type(media_type) if media_type else detect_media_type(path)
    sha256, size = store.blobs.put_file(path)
    return StoredFile(sha256, size, kind, path.name[:255])


# -- resolving documents ----------------------------------------------------------------------------------


def resolve_doc(store: Store, ref: str) -> str:
    """The document id that ``ref`` (a prefix of the document id or of any version/translation hash) names.

    Raises UsageError (too short, ambiguous: candidates listed), NotFound (cbm.core.refs rules)."""
    def lookup(prefix: str, limit: int) -> list[refs.Candidate]:
        docs = ix.resolve(store.conn, prefix)[:limit]
        return [refs.Candidate(doc, _title(store, doc)) for doc in docs]

    return refs.resolve(ref, "white paper", lookup, hint="see `cbm whitepaper list`").id


def _title(store: Store, doc: str) -> str:
    latest = ix.versions(store.conn, doc)
    return repr(latest[-1].title[:40]) if latest else ""


def _latest(store: Store, doc: str) -> ix.VersionRow:
    return ix.versions(store.conn, doc)[-1]


def _version(store: Store, doc: str, number: int | None) -> ix.VersionRow:
    """Version ``number`` of ``doc``, or its newest version that has a file."""
    rows = ix.versions(store.conn, doc)
    if number is None:
        with_file = [v for v in rows if v.sha256]
        return with_file[-1]
    for v in reversed(rows):
        if v.version == number:
            return v
    raise NotFound(f"paper {doc[:12]} has no version {number}",
                   hint="versions: " + ", ".join(str(v.version) for v in rows))


# -- writing ----------------------------------------------------------------------------------------------


def publish(store: Store, path: Path, *, title: str | None, issuer: str | None, lang: str | None,
            classification: str | None, tlp: str | None = None, to: tuple[str, ...] | None = None,
            date: str | None = None, summary: str | None = None, supersedes: str | None = None,
            media_type: str | None = None) -> Record:
    """Publish a file as a new paper, or (``supersedes``) as the next version of one of ours.

    A new version inherits title, issuer, language, summary, classification, audience and TLP from the
    version it supersedes unless given. Raises InputRejected (not UNCLASSIFIED, identical bytes already
    published), IllegalTransition (not our paper, withdrawn), NotFound, UsageError, OversizedInput.
    """
    previous: ix.VersionRow | None = None
    previous_to: tuple[str, ...] = ("*",)
    doc: str | None = None
    if supersedes is not None:
        doc = resolve_doc(store, supersedes)
        previous = _latest(store, doc)
        if previous.author != store.party:
            raise IllegalTransition(f"paper {doc[:12]} was published by {previous.author}; only its issuer "
                                    "can publish a new version", hint="translate it, or publish your own paper")
        if previous.action == "withdraw":
            raise IllegalTransition(f"paper {doc[:12]} was withdrawn (version {previous.version}); "
                                    "it takes no new versions", hint="publish a new paper instead")
        previous_to = store.get(previous.hash).to
        if classification is None:
            classification = previous.classification
    mark = check_classification(classification)
    if previous is None and (not title or not issuer or not lang):
        raise UsageError("a new paper needs --title, --issuer and --lang")
    body: dict[str, Any] = {
        "title": _field(title or (previous.title if previous else ""), "--title", 500),
        "issuer": _field(issuer or (previous.issuer if previous else ""), "--issuer", 500),
        "lang": check_lang(lang or (previous.lang if previous else "")),
        "classification": mark,
        "date": check_date(date),
        "summary": _field(summary if summary is not None else (previous.summary if previous else ""),
                          "--summary", 4000, required=False),
    }
    label = check_tlp(tlp) if tlp else (previous.tlp if previous else "GREEN")
    audience = store.check_recipients(to) if to else previous_to
    stored = _store_file(store, path, media_type)
    for other_doc, author, version in ix.existing_with_sha(store.conn, stored.sha256):
        if previous is not None and other_doc == doc:
            continue
        what = f"version {version}" if version is not None else "a translation"
        raise InputRejected(f"these exact bytes are already published as {what} of paper {other_doc[:12]} "
                            f"by {author}", hint=f"to publish them again as a new version: --supersedes "
                                                 f"{other_doc[:12]}")
    body["file"] = stored.body()
    body["blobs"] = [stored.sha256]
    if previous is not None and doc is not None:
        body.update(ref=doc, version=previous.version + 1, supersedes=previous.hash)
    else:
        body.update(version=1, supersedes=None)
    record = store.append("whitepaper.publish", body, to=audience, tlp=label)
    index_text(store, [stored.sha256])
    return record


def translate(store: Store, ref: str, path: Path, *, lang: str, official: bool = False,
              version: int | None = None, title: str | None = None, tlp: str | None = None,
              to: tuple[str, ...] | None = None, media_type: str | None = None) -> Record:
    """Attach a translation of one version (default: the newest with a file) of a paper.

    Only the paper's issuer may mark a translation ``official``. Raises IllegalTransition, NotFound,
    InputRejected (bytes already published), UsageError.
    """
    doc = resolve_doc(store, ref)
    original = _version(store, doc, version)
    if original.action != "publish":
        raise IllegalTransition(f"version {original.version} of paper {doc[:12]} is a withdrawal; "
                                "it has no text to translate")
    if official and original.author != store.party:
        raise IllegalTransition(f"only {original.author}, the paper's issuer, can issue an official translation",
                                hint="drop --official: yours is a courtesy translation")
    language = check_lang(lang)
    if language == original.lang:
        raise UsageError(f"the paper is already in {language}", hint="give the translation's language")
    label = check_tlp(tlp) if tlp else original.tlp
    audience = store.check_recipients(to) if to else store.get(original.hash).to
    name = _field(title or f"{original.title} ({language})", "--title", 500)
    stored = _store_file(store, path, media_type)
    for other_doc, author, other_version in ix.existing_with_sha(store.conn, stored.sha256):
        what = f"version {other_version}" if other_version is not None else "a translation"
        raise InputRejected(f"these exact bytes are already published as {what} of paper {other_doc[:12]} "
                            f"by {author}")
    body = {"ref": doc, "of": original.hash, "version": original.version, "lang": language,
            "official": official, "title": name, "classification": CLASSIFICATION, "file": stored.body(),
            "blobs": [stored.sha256]}
    record = store.append("whitepaper.translate", body, to=audience, tlp=label)
    index_text(store, [stored.sha256])
    return record


def withdraw(store: Store, ref: str, reason: str) -> Record:
    """Withdraw one of our papers: a new version, without a file, saying why. Nothing is deleted."""
    doc = resolve_doc(store, ref)
    latest = _latest(store, doc)
    if latest.author != store.party:
        raise IllegalTransition(f"paper {doc[:12]} was published by {latest.author}; only its issuer can "
                                "withdraw it")
    if latest.action == "withdraw":
        raise IllegalTransition(f"paper {doc[:12]} is already withdrawn (version {latest.version})")
    body = {"ref": doc, "version": latest.version + 1, "supersedes": latest.hash,
            "reason": _field(reason, "--reason", 4000)}
    return store.append("whitepaper.withdraw", body, to=store.get(latest.hash).to, tlp=latest.tlp)


def _field(value: str, what: str, limit: int, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise UsageError(f"{what} must not be empty")
    if len(text) > limit:
        raise UsageError(f"{what} is longer than {limit} characters")
    return text


# -- search text ------------------------------------------------------------------------------------------


def index_text(store: Store, only: list[str] | None = None) -> int:
    """Extract and index the text of paper files not indexed yet (those in ``only``, or all). Returns count.

    Extraction runs outside any transaction (PDFs in a bounded child process); each result lands in its
    own short transaction. A file not (yet) in the blob store is skipped and retried next time.
    """
    done = 0
    for sha256, media_type in ix.files_without_text(store.conn):
        if only is not None and sha256 not in only:
            continue
        if not store.blobs.has(sha256):
            continue
        result = extract(store.blobs.path(sha256), media_type)
        with store.transaction():
            ix.set_text(store.conn, sha256, result.status, result.text, result.note)
        done += 1
    return done


def fts_query(term: str) -> str:
    """A user's search words as an FTS5 query: every word must appear (as a prefix), no operators."""
    words = re.findall(r"\w+", term)
    if not words:
        raise UsageError(f"nothing to search for in {term!r}")
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


# -- reading ----------------------------------------------------------------------------------------------


@dataclass
class PaperSummary:
    doc: str
    author: str
    title: str
    issuer: str
    lang: str
    version: int
    status: str  # current | withdrawn
    date: str
    updated: str
    translations: list[str] = field(default_factory=list)


def list_papers(store: Store, *, author: str | None = None, lang: str | None = None,
                search: str | None = None) -> list[PaperSummary]:
    """Papers, newest first, filtered by issuer party, language (original or translation) and search words."""
    match = None
    if search is not None:
        match = fts_query(search)
        index_text(store)
    language = check_lang(lang) if lang else None
    result = []
    for doc in ix.documents(store.conn, author=author.upper() if author else None, lang=language, match=match):
        rows = ix.versions(store.conn, doc)
        latest, last_file = rows[-1], [v for v in rows if v.sha256][-1]
        langs = sorted({t.lang for t in ix.translations(store.conn, doc)})
        result.append(PaperSummary(doc, latest.author, last_file.title, last_file.issuer, last_file.lang,
                                   latest.version, "withdrawn" if latest.action == "withdraw" else "current",
                                   last_file.date, latest.created, langs))
    return result


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


def describe(store: Store, ref: str) -> Paper:
    """Everything about one paper: metadata, versions, translations, and who acknowledged what."""
    doc = resolve_doc(store, ref)
    rows = ix.versions(store.conn, doc)
    latest, last_file = rows[-1], [v for v in rows if v.sha256][-1]
    infos = []
    for v in rows:
        state = "withdrawal" if v.action == "withdraw" else "current" if v is latest else "superseded"
        text = None
        if v.sha256:
            status = ix.text_status(store.conn, v.sha256)
            text = status[0] if status else "pending"
        infos.append(VersionInfo(v.version, v.hash, state, v.created, v.date, v.title, v.sha256, v.size,
                                 v.media_type, v.filename, v.reason,
                                 bool(v.sha256) and store.blobs.has(v.sha256 or ""), text))
    trans = [TranslationInfo(t.hash, t.author, t.lang, t.official, t.of_version, t.title, t.sha256, t.size,
                             t.media_type, t.filename, t.created, store.blobs.has(t.sha256))
             for t in ix.translations(store.conn, doc)]
    what: dict[str, str] = {v.hash: ("withdrawal" if v.action == "withdraw" else f"version {v.version}")
                            for v in rows}
    what.update({t.hash: f"translation {t.lang} by {t.by}" for t in trans})
    receipts = [Receipt(a.by_party, a.of_hash, what.get(a.of_hash, a.of_hash[:12]), a.sha256, a.created)
                for a in ix.acks(store.conn, doc)]
    return Paper(doc, latest.author, last_file.title, last_file.issuer, last_file.lang, last_file.classification,
                 last_file.summary, latest.tlp, "withdrawn" if latest.action == "withdraw" else "current",
                 latest.version, infos, trans, receipts)


@dataclass(frozen=True)
class FileChoice:
    """The file ``get`` hands out: a version of the paper or one of its translations."""

    doc: str
    record: str
    version: int
    lang: str
    sha256: str
    size: int
    media_type: str
    filename: str
    translation: bool
    withdrawn: bool


def choose_file(store: Store, ref: str, *, version: int | None = None, lang: str | None = None) -> FileChoice:
    """Which file ``cbm whitepaper get`` returns: a version (default newest with a file) or a translation."""
    doc = resolve_doc(store, ref)
    withdrawn = _latest(store, doc).action == "withdraw"
    if lang is not None:
        language = check_lang(lang)
        candidates = [t for t in ix.translations(store.conn, doc)
                      if t.lang == language and (version is None or t.of_version == version)]
        original = _version(store, doc, version)
        if not candidates and original.lang == language and original.sha256:
            return _version_choice(original, withdrawn)
        if not candidates:
            raise NotFound(f"paper {doc[:12]} has no {language} translation"
                           + (f" of version {version}" if version is not None else ""))
        best = max(candidates, key=lambda t: (t.of_version, t.official, t.created))
        return FileChoice(doc, best.hash, best.of_version, best.lang, best.sha256, best.size, best.media_type,
                          best.filename, True, withdrawn)
    chosen = _version(store, doc, version)
    if not chosen.sha256:
        raise NotFound(f"version {chosen.version} of paper {doc[:12]} is its withdrawal and has no file",
                       hint=f"ask for an earlier version: --version {chosen.version - 1}")
    return _version_choice(chosen, withdrawn)


def _version_choice(v: ix.VersionRow, withdrawn: bool) -> FileChoice:
    assert v.sha256 and v.size is not None and v.media_type and v.filename
    return FileChoice(v.doc, v.hash, v.version, v.lang, v.sha256, v.size, v.media_type, v.filename, False,
                      withdrawn)


def read_file(store: Store, choice: FileChoice) -> Iterator[bytes]:
    """Stream the chosen file's bytes; the hash is re-checked at the end (TamperedContent, exit 1)."""
    if not store.blobs.has(choice.sha256):
        raise NotFound(f"the file of paper {choice.doc[:12]} ({choice.sha256[:12]}) is not in this store",
                       hint="it travels with the bundle that carries the paper; ask the sender to resend")
    size = 0
    for chunk in store.blobs.read(choice.sha256):
        size += len(chunk)
        yield chunk
    if size != choice.size:
        raise TamperedContent(f"stored file {choice.sha256[:12]} has {size} bytes, the record says {choice.size}")


def save_file(store: Store, choice: FileChoice, dest: Path) -> None:
    """Write the chosen file to ``dest`` atomically: a file that fails its hash check never appears there."""
    with written_atomically(dest) as out:
        for chunk in read_file(store, choice):
            out.write(chunk)


def write_file(store: Store, choice: FileChoice, sink: BinaryIO) -> None:
    """Stream the chosen file to ``sink`` (stdout). A failed hash check is raised after the last chunk."""
    for chunk in read_file(store, choice):
        sink.write(chunk)
    sink.flush()


# -- diff -------------------------------------------------------------------------------------------------


@dataclass
class PaperDiff:
    doc: str
    from_version: int
    to_version: int
    metadata: dict[str, list[Any]]  # field -> [old, new], only fields that differ
    text_diff: str | None
    note: str | None


_DIFF_FIELDS = ("action", "title", "issuer", "lang", "classification", "date", "summary", "filename",
                "media_type", "size", "sha256", "reason", "tlp")


def diff(store: Store, ref: str, from_version: int | None = None, to_version: int | None = None) -> PaperDiff:
    """Compare two versions: changed metadata, and a unified diff of the text when both are text files."""
    doc = resolve_doc(store, ref)
    rows = ix.versions(store.conn, doc)
    new = _version(store, doc, to_version) if to_version is not None else rows[-1]
    if from_version is None:
        earlier = [v for v in rows if v.version < new.version]
        if not earlier:
            raise UsageError(f"paper {doc[:12]} has only version {new.version}; nothing to compare")
        old = earlier[-1]
    else:
        old = _version(store, doc, from_version)
    changed = {name: [getattr(old, name), getattr(new, name)] for name in _DIFF_FIELDS
               if getattr(old, name) != getattr(new, name)}
    text, note = None, None
    if old.sha256 is None or new.sha256 is None:
        note = "a withdrawal has no file: metadata only"
    elif old.sha256 == new.sha256:
        note = "identical files"
    elif not (is_text_type(old.media_type) and is_text_type(new.media_type)):
        note = "not text files: metadata only"
    elif max(old.size or 0, new.size or 0) > DIFF_MAX_BYTES:
        note = f"files larger than {DIFF_MAX_BYTES // (1024 * 1024)} MiB: metadata only"
    elif not (store.blobs.has(old.sha256) and store.blobs.has(new.sha256)):
        note = "a file is missing from this store: metadata only"
    else:
        a, b = _lines(store, old.sha256), _lines(store, new.sha256)
        text = "".join(difflib.unified_diff(a, b, f"v{old.version}/{old.filename}",
                                            f"v{new.version}/{new.filename}"))
    return PaperDiff(doc, old.version, new.version, changed, text, note)


def _lines(store: Store, sha256: str) -> list[str]:
    data = b"".join(store.blobs.read(sha256))  # bounded by DIFF_MAX_BYTES above
    return data.decode("utf-8", errors="replace").splitlines(keepends=True)


# -- measure hooks ----------------------------------------------------------------------------------------


def _file_ok(store: Store, sha256: str, size: int) -> bool:
    """Whether we hold the file, of the recorded size, and its bytes hash to ``sha256`` (streamed)."""
    if not store.blobs.has(sha256) or store.blobs.path(sha256).stat().st_size != size:
        return False
    try:
        for _ in store.blobs.read(sha256):
            pass
    except TamperedContent:
        return False
    return True


def on_import(store: Store, records: Sequence[Record]) -> list[Record]:
    """Acknowledge each paper version, translation or withdrawal that just landed from a peer.

    An acknowledgement (``whitepaper.ack``, to the author only) is signed only once we hold the file and it
    hashes to what the signed record says; one missing is retried on the next import (and shown by
    ``cbm status``). Then the new files' text is indexed for search.
    """
    drafts: list[Draft | None] = []
    files: list[str] = []
    for r in records:
        if r.kind not in PAPER_KINDS or r.author == store.party:
            continue
        if ix.acked_by(store.conn, r.hash, store.party):
            continue
        drafts.append(_ack_draft(store, r, files))
    # a file that arrived late: acknowledge papers received earlier whose file was missing then
    for r in _unacknowledged(store, exclude={r.hash for r in records}):
        drafts.append(_ack_draft(store, r, files))
    ready = [d for d in drafts if d is not None]
    made = store.append_many(ready) if ready else []
    if files:
        index_text(store, files)
    return made


def _ack_draft(store: Store, r: Record, files: list[str]) -> Draft | None:
    v = ix.version_by_hash(store.conn, r.hash)
    t = None if v else ix.translation_by_hash(store.conn, r.hash)
    if v is None and t is None:
        return None  # not folded (invalid): never acknowledged
    sha256 = v.sha256 if v else t.sha256 if t else None
    size = v.size if v else t.size if t else None
    if sha256 is not None:
        if not _file_ok(store, sha256, size or 0):
            return None
        files.append(sha256)
    doc = v.doc if v else t.doc if t else ""
    number = v.version if v else t.of_version if t else None
    return Draft("whitepaper.ack", {"ref": doc, "of": r.hash, "version": number, "sha256": sha256,
                                    "verified": sha256 is not None},
                 to=(r.author,), tlp=r.tlp)


def _unacknowledged(store: Store, exclude: set[str]) -> list[Record]:
    pending = []
    for row in ix.unacknowledged(store.conn, store.party):
        if row not in exclude:
            pending.append(store.get(row))
    return pending


def attention(store: Store) -> list[Attention]:
    """Peer papers whose file has not arrived (or fails its hash), and paper records that break the rules."""
    items = []
    for hash_ in ix.unacknowledged(store.conn, store.party):
        items.append(Attention("whitepaper", 1, f"paper record {hash_[:12]} arrived without its file (or the "
                                                "file fails its hash): not acknowledged", ref=hash_))
    for hash_, author, kind, reason in ix.invalid(store.conn):
        items.append(Attention("whitepaper", 2, f"{author} {kind} {hash_[:12]} ignored: {reason}", ref=hash_))
    return items
