"""White papers: signed exchange of unclassified ICT strategies and studies, with versions and translations.

A paper's file lives in the store's content-addressed blob directory (streamed, never loaded whole); the
signed record names its SHA-256, size, media type and file name, and lists it in ``body["blobs"]`` so bundles
carry it. Records (see ``cbm/measures/whitepaper/index.py`` for the rules the index enforces):

- ``whitepaper.publish``  a version of a document (v1's record hash is the document id);
- ``whitepaper.withdraw`` a version without a file saying the document is withdrawn (nothing is deleted);
- ``whitepaper.translate`` a translation of one version, official (by the issuer) or not;
- ``whitepaper.ack``      our signed acknowledgement that we received a peer's version and its bytes matched.

See docs/adr/0050-whitepaper-records.md and following.
"""

from __future__ import annotations

import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cbm.core import clock, refs
from cbm.core.errors import (
    IllegalTransition,
    InputRejected,
    NotFound,
    OversizedInput,
    UsageError,
)
from cbm.core.fields import check_single_line, is_language_tag
from cbm.core.records import Record
from cbm.core.tlp import check_tlp
from cbm.measures.whitepaper import index as ix
from cbm.measures.whitepaper import records
from cbm.measures.whitepaper.model import Paper, PaperSummary, fold_paper
from cbm.measures.whitepaper.text import extract
from cbm.store.db import Store

CLASSIFICATION = records.CLASSIFICATION
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
    if not is_language_tag(value):
        raise UsageError(f"{lang!r} is not a language tag", hint="use e.g. en, ru, fr or en-US")
    return value


def check_date(text: str | None) -> str:
    """A publication date ``YYYY-MM-DD`` (today, UTC, if not given)."""
    moment = clock.now() if text is None else clock.parse_time(text, what="--date")
    return clock.strftime(moment, "%Y-%m-%d")


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


def _check_file(path: Path) -> os.stat_result:
    """``path``'s status, if it is a readable, non-empty regular file: asked first, so that a mistyped name is
    the first thing said, before any other option is judged. Raises NotFound, UsageError, InputRejected."""
    try:
        stat = path.stat()
    except OSError as e:
        raise NotFound(f"cannot read {path}: {e.strerror}") from e
    if not path.is_file():
        raise UsageError(f"{path} is not a regular file")
    if stat.st_size == 0:
        raise InputRejected(f"{path} is empty")
    return stat


def _store_file(store: Store, path: Path, media_type: str | None) -> StoredFile:
    """Stream ``path`` into the blob store (checked for size first). Raises NotFound, OversizedInput."""
    stat = _check_file(path)
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
        docs = store.query(ix.resolve, prefix)[:limit]
        return [refs.Candidate(doc, _title(store, doc)) for doc in docs]

    return refs.resolve(ref, "white paper", lookup, hint="see `cbm whitepaper list`").id


def _title(store: Store, doc: str) -> str:
    latest = store.query(ix.versions, doc)
    return repr(latest[-1].title[:40]) if latest else ""


def latest_version(store: Store, doc: str) -> ix.VersionRow:
    return store.query(ix.versions, doc)[-1]


def version_of(store: Store, doc: str, number: int | None) -> ix.VersionRow:
    """Version ``number`` of ``doc``, or its newest version that has a file."""
    rows = store.query(ix.versions, doc)
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
    _check_file(path)
    previous: ix.VersionRow | None = None
    previous_to: tuple[str, ...] = ("*",)
    doc: str | None = None
    if supersedes is not None:
        doc = resolve_doc(store, supersedes)
        previous = latest_version(store, doc)
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
        "title": _field(title or (previous.title if previous else ""), "--title", 500, line=True),
        "issuer": _field(issuer or (previous.issuer if previous else ""), "--issuer", 500, line=True),
        "lang": check_lang(lang or (previous.lang if previous else "")),
        "classification": mark,
        "date": check_date(date),
        "summary": _field(summary if summary is not None else (previous.summary if previous else ""),
                          "--summary", 4000, required=False),
    }
    label = check_tlp(tlp) if tlp else (previous.tlp if previous else "GREEN")
    audience = store.check_recipients(to) if to else previous_to
    stored = _store_file(store, path, media_type)
    if previous is not None and previous.sha256 == stored.sha256 and date is None:
        body["date"] = previous.date  # the same bytes again: a new version only for what the user changes
    if previous is not None and doc is not None and _nothing_new(previous, stored, body, label, audience,
                                                                 previous_to):
        raise InputRejected(f"these exact bytes are already version {previous.version} of paper {doc[:12]}, "
                            "with the same title, issuer, language, date, summary, classification, TLP and "
                            "audience: nothing new to publish",
                            hint="publish the changed file, or give what changes (--title, --summary, --date, "
                                 "--classification, --tlp, --to)")
    for other_doc, author, version in store.query(ix.existing_with_sha, stored.sha256):
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


def _nothing_new(previous: ix.VersionRow, stored: StoredFile, body: dict[str, Any], label: str,
                 audience: tuple[str, ...], previous_to: tuple[str, ...]) -> bool:
    """Whether a new version would say nothing its predecessor does not: the same bytes under the same title,
    issuer, language, date, summary, classification, TLP and audience (docs/adr/0279)."""
    return (previous.sha256 == stored.sha256 and label == previous.tlp
            and sorted(audience) == sorted(previous_to)
            and all(body[k] == getattr(previous, k)
                    for k in ("title", "issuer", "lang", "date", "summary", "classification")))


def translate(store: Store, ref: str, path: Path, *, lang: str, official: bool = False,
              version: int | None = None, title: str | None = None, tlp: str | None = None,
              to: tuple[str, ...] | None = None, media_type: str | None = None) -> Record:
    """Attach a translation of one version (default: the newest with a file) of a paper.

    Only the paper's issuer may mark a translation ``official``. Raises IllegalTransition, NotFound,
    InputRejected (bytes already published), UsageError.
    """
    _check_file(path)
    doc = resolve_doc(store, ref)
    original = version_of(store, doc, version)
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
    name = _field(title or f"{original.title} ({language})", "--title", 500, line=True)
    stored = _store_file(store, path, media_type)
    for other_doc, author, other_version in store.query(ix.existing_with_sha, stored.sha256):
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
    latest = latest_version(store, doc)
    if latest.author != store.party:
        raise IllegalTransition(f"paper {doc[:12]} was published by {latest.author}; only its issuer can "
                                "withdraw it")
    if latest.action == "withdraw":
        raise IllegalTransition(f"paper {doc[:12]} is already withdrawn (version {latest.version})")
    body = {"ref": doc, "version": latest.version + 1, "supersedes": latest.hash,
            "reason": _field(reason, "--reason", 4000)}
    return store.append("whitepaper.withdraw", body, to=store.get(latest.hash).to, tlp=latest.tlp)


def _field(value: str, what: str, limit: int, required: bool = True, *, line: bool = False) -> str:
    """``value`` trimmed; UsageError if empty (when ``required``), over ``limit``, or (``line``: a title, an
    issuer) holding a control character."""
    text = check_single_line(value, what).strip() if line else value.strip()
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
    for sha256, media_type in store.query(ix.files_without_text):
        if only is not None and sha256 not in only:
            continue
        if not store.blobs.has(sha256):
            continue
        result = extract(store.blobs.path(sha256), media_type)
        with store.transaction():
            store.query(ix.set_text, sha256, result.status, result.text, result.note)
        done += 1
    return done


def fts_query(term: str) -> str:
    """A user's search words as an FTS5 query: every word must appear (as a prefix), no operators."""
    words = re.findall(r"\w+", term)
    if not words:
        raise UsageError(f"nothing to search for in {term!r}")
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


# -- reading ----------------------------------------------------------------------------------------------


def list_papers(store: Store, *, author: str | None = None, lang: str | None = None,
                search: str | None = None) -> list[PaperSummary]:
    """Papers, newest first, filtered by issuer party, language (original or translation) and search words."""
    match = None
    if search is not None:
        match = fts_query(search)
        index_text(store)
    language = check_lang(lang) if lang else None
    result = []
    for doc in store.query(ix.documents, author=author.upper() if author else None, lang=language, match=match):
        rows = store.query(ix.versions, doc)
        latest, last_file = rows[-1], [v for v in rows if v.sha256][-1]
        langs = sorted({t.lang for t in store.query(ix.translations, doc)})
        result.append(PaperSummary(doc, latest.author, last_file.title, last_file.issuer, last_file.lang,
                                   latest.version, "withdrawn" if latest.action == "withdraw" else "current",
                                   last_file.date, latest.created, langs))
    return result


def describe(store: Store, ref: str) -> Paper:
    """Everything about one paper: metadata, versions, translations, and who acknowledged what."""
    doc = resolve_doc(store, ref)

    def text_of(sha256: str) -> str:
        status = store.query(ix.text_status, sha256)
        return status[0] if status else "pending"

    return fold_paper(doc, store.query(ix.versions, doc), store.query(ix.translations, doc),
                      store.query(ix.acks, doc), text_of=text_of, have_file=store.blobs.has)
