"""``cbm indicators push SOURCE``: indicators from the store into a TAXII collection, each version once.

The selection (``--from``, ``--tlp-max``, ``--since``) becomes STIX 2.1 indicators exactly as ``indicators
export --format stix`` writes them, with the identities and TLP marking definitions they refer to. Versions
already pushed to this source are left out; the rest go in envelopes under the API root's
``max_content_length``; each envelope's status is polled until complete, and the versions the server confirmed
are remembered in the same step (docs/adr/0132-taxii-pull-and-push-state.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cbm.core import clock
from cbm.core.tlp import TLP_LABELS, check_tlp, tlp_rank
from cbm.measures.indicators import model
from cbm.measures.indicators import queries as ix
from cbm.store import taxii_state
from cbm.store.db import Store
from cbm.taxii import config
from cbm.taxii.client import Collection

_ENVELOPE_HEAD = b'{"objects":['
_ENVELOPE_TAIL = b"]}"


@dataclass
class PushResult:
    source: str
    collection: str
    selected: int = 0  # objects in the selection (indicators, identities, markings)
    already_pushed: int = 0
    sent: int = 0
    envelopes: int = 0
    succeeded: int = 0
    failed: int = 0
    pending: int = 0
    too_large: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)


def push(store: Store, name: str, *, authors: tuple[str, ...] = (), tlp_max: str = "GREEN",
         since: str | None = None, on_progress: Callable[[int, int], None] | None = None) -> PushResult:
    """Push the selected indicators not yet pushed to ``name``. Raises NotFound, NetworkError (exit 7),
    MalformedInput (a bad answer), UsageError. Per-object failures are reported in the result, not raised."""
    from cbm.measures.indicators.formats import stix
    from cbm.measures.indicators.service import RecordCache
    from cbm.store.trust import list_keys

    source = config.source(store, name)
    top = check_tlp(tlp_max)
    start = clock.iso(clock.parse_time(since, what="--since")) if since else None
    f = ix.Filter(authors=tuple(a.upper() for a in authors),
                  tlps=tuple(t for t in TLP_LABELS if tlp_rank(t) <= tlp_rank(top)), since=start,
                  now=clock.now_iso())
    names: dict[str, str] = {}
    for key in list_keys(store):
        names.setdefault(key.party, key.name)
    cache = RecordCache(store)
    wanted: list[tuple[str, str, bytes]] = []  # (id, version, encoded object)
    context: dict[str, tuple[str, str, bytes]] = {}
    for r in store.query(ix.select, f):
        obj = stix.indicator(r.author, r.tlp, cache.row(r), r.modified, r.revoked is not None)
        wanted.append((obj["id"], obj["modified"], _encode(obj)))
        for extra in (stix.identity(r.author, names.get(r.author, r.author)), model.tlp_marking(r.tlp)):
            if extra["id"] not in context:
                context[extra["id"]] = (extra["id"], str(extra.get("modified", extra["created"])), _encode(extra))
    objects = list(context.values()) + wanted if wanted else []
    result = PushResult(name, source.collection, selected=len(objects))
    if not objects:
        return result
    done = store.query(taxii_state.pushed, name, [(oid, v) for oid, v, _ in objects])
    todo = [o for o in objects if (o[0], o[1]) not in done]
    result.already_pushed = len(objects) - len(todo)
    if not todo:
        return result
    collection = Collection(source, write=True)
    limit = collection.max_content_length
    for chunk in _chunks(todo, limit, result):
        envelope = _ENVELOPE_HEAD + b",".join(body for _, _, body in chunk) + _ENVELOPE_TAIL
        status = collection.post(envelope)
        result.envelopes += 1
        result.sent += len(chunk)
        confirmed = _confirmed(chunk, status.successes, clean=not status.failure and not status.pending)
        with store.transaction() as conn:
            taxii_state.remember_pushed(conn, name, confirmed, clock.now_iso())
        result.succeeded += len(confirmed)
        result.failed += status.failure
        result.pending += status.pending
        for oid, version, message in status.failures:
            result.failures.append({"id": oid, "version": version, "message": message})
        if on_progress is not None:
            on_progress(result.sent + result.too_large, len(todo))
    return result


def _encode(obj: dict[str, Any]) -> bytes:
    import json

    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _chunks(todo: list[tuple[str, str, bytes]], limit: int,
            result: PushResult) -> Iterator[list[tuple[str, str, bytes]]]:
    """Envelopes whose encoded size stays within ``limit``; an object too large alone is reported, not sent."""
    overhead = len(_ENVELOPE_HEAD) + len(_ENVELOPE_TAIL)
    chunk: list[tuple[str, str, bytes]] = []
    size = overhead
    for item in todo:
        n = len(item[2]) + 1
        if overhead + n > limit:
            result.too_large += 1
            result.failures.append({"id": item[0], "version": item[1],
                                    "message": f"larger than the server's max_content_length ({limit} bytes);"
                                               " not sent"})
            continue
        if chunk and size + n > limit:
            yield chunk
            chunk, size = [], overhead
        chunk.append(item)
        size += n
    if chunk:
        yield chunk


def _confirmed(chunk: list[tuple[str, str, bytes]], successes: list[tuple[str, str]], *,
               clean: bool) -> list[tuple[str, str]]:
    """The (id, version) pairs the server confirmed: its ``successes`` list (matched by id and, where it gives
    one, version), or, if it lists none but reports no failure and nothing pending, the whole chunk."""
    sent = [(oid, version) for oid, version, _ in chunk]
    if successes:
        by_id: dict[str, set[str]] = {}
        for oid, version in successes:
            by_id.setdefault(oid, set()).add(version)
        return [(oid, v) for oid, v in sent if oid in by_id and (v in by_id[oid] or "" in by_id[oid]
                                                                 or not _comparable(by_id[oid], v))]
    return sent if clean else []  # unconfirmed: pushed again next time (a server keeps one copy of an id and version)


def _comparable(versions: set[str], ours: str) -> bool:
    """Whether the server's versions look like ours (STIX timestamps); some servers report another form."""
    return any(len(v) == len(ours) for v in versions)
