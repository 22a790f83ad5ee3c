"""TAXII 2.1 over :mod:`cbm.taxii.http`: discovery, API root and collection checked; object pages; envelopes
posted and their status polled. Every document the server sends is checked for the shape we rely on before use.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from cbm.core.errors import MalformedInput, NetworkError, NotFound
from cbm.taxii.config import Source
from cbm.taxii.http import Answer, Endpoint

# TAXII timestamps: RFC 3339 in UTC, e.g. 2026-12-06T10:00:00.123456Z
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$", re.ASCII)
DEFAULT_MAX_CONTENT = 10 * 1024 * 1024  # when an API root does not say (the spec requires it; some omit it)
DEFAULT_PAGE_SIZE = 1000
POLL_LIMIT_SECONDS = 300.0


@dataclass(frozen=True)
class Page:
    objects: list[dict[str, Any]]
    more: bool
    next: str | None
    added_last: str | None  # X-TAXII-Date-Added-Last (or -First when the page holds one object)


@dataclass(frozen=True)
class Status:
    id: str
    status: str
    total: int
    success: int
    failure: int
    pending: int
    successes: list[tuple[str, str]]  # (object id, version)
    failures: list[tuple[str, str, str]]  # (object id, version, message)


def timestamp(value: Any, what: str) -> str:
    """A TAXII timestamp from a server, checked: its shape and that it names a moment (no month 13, no second
    61), since a pull keeps it as the cursor the next run starts from. Raises MalformedInput."""
    if isinstance(value, str) and _TIMESTAMP.match(value):
        try:
            datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
            return value
        except ValueError:
            pass
    raise MalformedInput(f"the server's {what} {str(value)[:60]!r} is not a TAXII timestamp")


class Collection:
    """One source's collection: checked on creation (discovery, API root, collection, read or write access)."""

    def __init__(self, source: Source, *, write: bool = False, endpoint: Endpoint | None = None) -> None:
        self.source = source
        self.endpoint = endpoint or source.endpoint()
        discovery = self._document(self.endpoint.get(source.url), "discovery")
        if not isinstance(discovery.get("title"), str):
            raise MalformedInput(f"{source.url} is not a TAXII 2.1 discovery resource (no title)")
        root = self._document(self.endpoint.get(source.api_root_url), "API root")
        versions = root.get("versions")
        if not isinstance(versions, list) or not any(isinstance(v, str) and v.replace(" ", "").startswith(
                "application/taxii+json;version=2.1") for v in versions):
            raise MalformedInput(f"the API root {source.api_root} does not speak TAXII 2.1 "
                                 f"(versions {str(versions)[:100]})")
        limit = root.get("max_content_length")
        self.max_content_length = limit if type(limit) is int and limit > 0 else DEFAULT_MAX_CONTENT
        self.url = f"{source.api_root_url}collections/{quote(source.collection, safe='')}/"
        try:
            info = self._document(self.endpoint.get(self.url), "collection")
        except NotFound as e:
            raise NotFound(f"the API root {source.api_root} has no collection {source.collection}",
                           hint="list the server's collections, and fix the source with `cbm taxii remove` "
                                "and `cbm taxii add`") from e
        if info.get("id") != source.collection:
            raise MalformedInput("the server answered for another collection than the one asked")
        self.title = str(info.get("title", ""))[:200]
        access = "can_write" if write else "can_read"
        if info.get(access) is not True:
            raise NetworkError(f"the collection {source.collection} does not let us "
                               f"{'write' if write else 'read'} ({access} is not true)",
                               hint="ask the server's administrator for access")

    @staticmethod
    def _document(answer: Answer, what: str) -> dict[str, Any]:
        if not isinstance(answer.body, dict):
            raise MalformedInput(f"the server's {what} is not a JSON object")
        return answer.body

    def pages(self, added_after: str | None, limit: int | None = None) -> Iterator[Page]:
        """Object pages after ``added_after``, following ``next`` while ``more``. Raises MalformedInput when the
        server's paging does not advance (an empty page, or a page this run was already given, while it says
        there is more): a server cycling through pages with fresh ``next`` tokens would hold a pull forever.
        The same ``next`` token on every page is fine: medallion does that."""
        # always ask a limit: some servers (medallion 3) fail a ``next`` request without one; they cap it anyway
        params: dict[str, str] = {"limit": str(limit or DEFAULT_PAGE_SIZE)}
        if added_after:
            params["added_after"] = added_after
        seen: set[int] = set()  # a hash of each page's (id, modified) list: a few bytes a page, not a copy
        while True:
            answer = self.endpoint.get(self.url + "objects/", params)
            page = self._page(answer)
            yield page
            if not page.more:
                return
            ids = hash(repr([(o.get("id"), o.get("modified")) for o in page.objects]))
            if not page.objects or not page.next or ids in seen:
                raise MalformedInput("the server's paging does not advance (more=true with an empty page, no "
                                     "next, or a page it gave before); stopped")
            seen.add(ids)
            params = {k: v for k, v in params.items() if k != "next"} | {"next": page.next}

    def _page(self, answer: Answer) -> Page:
        if answer.body is None:
            return Page([], False, None, None)
        doc = self._document(answer, "object page")
        objects = doc.get("objects", [])
        if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
            raise MalformedInput("the server's object page has no list of objects")
        more = doc.get("more", False)
        if not isinstance(more, bool):
            raise MalformedInput("the server's object page has a 'more' that is not true or false")
        nxt = doc.get("next")
        if nxt is not None and (not isinstance(nxt, str) or len(nxt) > 1024):
            raise MalformedInput("the server's object page has a bad 'next'")
        last = answer.headers.get("x-taxii-date-added-last") or answer.headers.get("x-taxii-date-added-first")
        return Page(objects, more, nxt, timestamp(last, "X-TAXII-Date-Added-Last") if last else None)

    def post(self, envelope: bytes) -> Status:
        """Post one envelope; poll its status resource until complete. Raises NetworkError when it stays pending
        longer than POLL_LIMIT_SECONDS."""
        status = self._status(self.endpoint.post(self.url + "objects/", envelope))
        delay, deadline = 0.1, time.monotonic() + POLL_LIMIT_SECONDS  # the clock, not the sum of our sleeps
        while status.status != "complete":
            if time.monotonic() > deadline:
                raise NetworkError(f"the server's status {status.id} is still {status.status!r} after "
                                   f"{POLL_LIMIT_SECONDS:.0f} s", hint="run the push again later: what the server "
                                                                       "confirmed is remembered")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
            status = self._status(self.endpoint.get(f"{self.source.api_root_url}status/{quote(status.id, safe='')}/"))
        return status

    def _status(self, answer: Answer) -> Status:
        doc = self._document(answer, "status")
        try:
            sid, state = doc["id"], doc["status"]
            counts = [doc.get(k, 0) for k in ("total_count", "success_count", "failure_count", "pending_count")]
            if not isinstance(sid, str) or state not in ("complete", "pending") or \
                    not all(type(n) is int and n >= 0 for n in counts):
                raise TypeError
            successes = [(str(d["id"]), str(d.get("version", ""))) for d in doc.get("successes") or []]
            failures = [(str(d["id"]), str(d.get("version", "")), str(d.get("message", ""))[:300])
                        for d in doc.get("failures") or []]
        except (KeyError, TypeError, AttributeError) as e:
            raise MalformedInput("the server's status resource is malformed") from e
        total, success, failure, pending = counts
        return Status(sid, state, total, success, failure, pending, successes, failures)
