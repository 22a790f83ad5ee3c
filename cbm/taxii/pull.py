"""``cbm indicators pull SOURCE``: what is new in a TAXII collection, into the store through the STIX importer.

Each page lands in its own transaction together with the cursor that follows it (the page's
``X-TAXII-Date-Added-Last``), so a run cut off midway keeps every page it landed and the next run starts from
there (just before it: objects added at the same instant are fetched again and found unchanged): nothing lost,
no record twice (docs/adr/0132-taxii-pull-and-push-state.md). A page with a bad
object lands nothing and stops the run (``--skip-invalid`` lands the good ones).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cbm.core import clock
from cbm.core.errors import UsageError
from cbm.measures.indicators import service as svc
from cbm.store import taxii_state
from cbm.store.db import Store
from cbm.store.indexes import Connection
from cbm.taxii import config
from cbm.taxii.client import Collection


@dataclass
class PullResult:
    source: str
    collection: str
    added_after: str | None  # where this run started
    cursor: str | None  # where the next run starts
    pages: int = 0
    objects: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    records: int = 0
    by_tlp: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    kept_objects: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def pull(store: Store, name: str, opts: svc.Options, *, since: str | None = None, skip_invalid: bool = False,
         page_size: int | None = None, on_progress: Callable[[int], None] | None = None) -> PullResult:
    """Pull every object added to the source's collection after its cursor (or after ``since``), page by page.

    Raises NotFound (no such source or collection), NetworkError (exit 7), MalformedInput/OversizedInput (what
    the server sent), BadLines (a bad object; that page and later ones did not land), UsageError.
    """
    source = config.source(store, name)
    start = clock.iso(clock.parse_time(since, what="--since")).replace("Z", ".000Z") if since else \
        store.query(taxii_state.cursor, name)
    if page_size is not None and not 1 <= page_size <= 100_000:
        raise UsageError("--page-size must be 1 to 100000")
    collection = Collection(source)
    result = PullResult(name, source.collection, start, start)
    label = f"taxii:{name}"
    for page in collection.pages(just_before(start) if start else None, page_size):
        result.pages += 1
        cursor = page.added_last or result.cursor

        def advance(conn: Connection, cursor: str | None = cursor) -> None:
            if cursor is not None:
                taxii_state.set_cursor(conn, name, cursor, clock.now_iso())

        objects = _not_ours(store, name, page.objects, result)
        if objects:
            landed = svc.import_objects(store, objects, opts, source=label, skip_invalid=skip_invalid,
                                        then=advance)
            _add(result, landed, len(objects))
        elif cursor is not None and cursor != result.cursor:
            with store.transaction() as conn:
                advance(conn)
        result.cursor = cursor
        if on_progress is not None:
            on_progress(result.objects)
    return result


ECHO = "objects we pushed to this source ourselves"


def _not_ours(store: Store, name: str, objects: list[dict[str, Any]], result: PullResult) -> list[dict[str, Any]]:
    """The page without the object versions we pushed to this source: pulling them back would make our own
    copies of a peer's indicators (an echo). They are counted as skipped."""
    versions = [_version(o) for o in objects]
    echoed = store.query(taxii_state.pushed, name, [v for v in versions if v is not None])
    if not echoed:
        return objects
    kept = [o for o, v in zip(objects, versions, strict=True) if v not in echoed]
    result.objects += len(objects) - len(kept)
    result.skipped[ECHO] = result.skipped.get(ECHO, 0) + len(objects) - len(kept)
    return kept


def _version(obj: dict[str, Any]) -> tuple[str, str] | None:
    """(id, version) of a server's object, or None when they are not strings (the importer refuses it)."""
    oid, version = obj.get("id"), obj.get("modified") or obj.get("created")
    return (oid, version) if isinstance(oid, str) and isinstance(version, str) else None


def just_before(moment: str) -> str:
    """One microsecond before a TAXII timestamp. A server may give many objects one ``date_added`` (medallion
    gives a whole envelope its request time), so a pull cut off inside such a group must ask again from just
    before it: the group comes again, and the importer finds what it already holds unchanged. Raises
    MalformedInput for a timestamp that is not one."""
    from datetime import UTC, datetime, timedelta

    from cbm.core.errors import MalformedInput

    head, _, fraction = moment.rstrip("Z").partition(".")
    try:
        at = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError as e:
        raise MalformedInput(f"the stored cursor {moment!r} is not a TAXII timestamp") from e
    at += timedelta(microseconds=int((fraction + "000000")[:6]) if fraction.isdigit() else 0)
    if at > datetime.min.replace(tzinfo=UTC):  # nothing is before the first moment: start from it
        at -= timedelta(microseconds=1)
    return clock.strftime(at, "%Y-%m-%dT%H:%M:%S.%fZ")


def _add(result: PullResult, landed: svc.ImportResult, n: int) -> None:
    result.objects += n
    result.created += landed.created
    result.updated += landed.updated
    result.unchanged += landed.unchanged
    result.invalid += landed.invalid
    result.records += landed.records
    for tlp, count in landed.by_tlp.items():
        result.by_tlp[tlp] = result.by_tlp.get(tlp, 0) + count
    for what, count in landed.skipped.items():
        result.skipped[what] = result.skipped.get(what, 0) + count
    for kind, count in landed.kept_objects.items():
        result.kept_objects[kind] = result.kept_objects.get(kind, 0) + count
    result.errors.extend(landed.errors[: max(0, svc.MAX_REPORTED_ERRORS - len(result.errors))])
