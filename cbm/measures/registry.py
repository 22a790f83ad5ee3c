"""The one list of measures. Adding a measure: one package under ``cbm/measures/`` and one line in MEASURES.

A :class:`Measure` names where its parts live as ``"module:attribute"`` strings, resolved on first use, so this
module imports nothing heavy: ``cbm --help`` reads the names and help lines without loading any measure.
Each measure's index is also named here with its version, as data (:func:`index_versions`): a store opened to read
checks those against the versions its tables were built with and imports no index module; the modules load on the
first write (:func:`deferred_indexes`, docs/adr/0216-index-versions-as-data.md). The registry drives the store's
indexes (:func:`indexes`), the reactions after a bundle import
(:func:`cbm.app.reactions.after_import`), ``cbm status`` (:func:`cbm.app.status.collect`) and the CLI's
subcommand list (``cbm.cli.main``). See docs/adr/0100-measure-packages-and-registry.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from cbm.core.records import Record
    from cbm.measures.base import Attention
    from cbm.store.db import Store
    from cbm.store.indexes import Deferred, Index

#: The rooms every measure package has (checked by tests/test_architecture.py).
ROOMS = ("records", "model", "index", "service")


class Measure(NamedTuple):
    """One confidence-building measure, as the rest of cbm sees it (immutable; ``_replace`` makes a variant).

    ``kinds``: the record kinds it owns (each ``<name>.<kind>``). ``index``: its Index, as ``"module:INDEX"``;
    ``index_version``: that Index's ``version``, repeated here so that reading commands need not import it (a test
    holds the two equal; bump both together).
    ``on_import``: ``(store, records) -> list[Record]``, its reaction to its own records that just landed from a
    peer (called after every import, also with none, to retry earlier work), or None. ``attention``:
    ``(store) -> list[Attention]``, what needs an operator now, for ``cbm status``. ``cli``: its subcommand
    module under ``cbm.cli``; ``help``: the one line ``cbm --help`` shows.

    A named tuple, not a dataclass: every command loads the registry, and making a frozen dataclass (six methods
    compiled from source at start-up) was 2.6 % of ``cbm --help`` (issue 20, docs/adr/0243).
    """

    name: str
    kinds: tuple[str, ...]
    # None: the measure folds on read and keeps no tables (the working group, ADR 0063). The field hides the
    # tuple's own ``index()`` method, which nothing calls on a measure.
    index: str | None  # type: ignore[assignment]
    attention: str
    cli: str
    help: str
    on_import: str | None = None
    index_version: int | None = None

    @property
    def package(self) -> str:
        return f"cbm.measures.{self.name}"

    @property
    def prefix(self) -> str:
        """The kind prefix of its records (``inquiry.``)."""
        return f"{self.name}."

    def load_index(self) -> Index | None:
        index: Index | None = _resolve(self.index) if self.index else None
        return index

    def load_on_import(self) -> Callable[[Store, Sequence[Record]], list[Record]] | None:
        return _resolve(self.on_import) if self.on_import else None

    def load_attention(self) -> Callable[[Store], list[Attention]]:
        hook: Callable[[Store], list[Attention]] = _resolve(self.attention)
        return hook


#: Added to a measure index's own version when the malformed-records gate wraps it (docs/adr/0116): a store built
#: before the gate refolds once. The gate's own index (the malformed records, :mod:`cbm.measures.malformed`) is
#: ``MALFORMED_INDEX_VERSION``.
GATE_VERSION = 100
MALFORMED_INDEX_VERSION = 3


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


MEASURES: tuple[Measure, ...] = (
    Measure("indicators", ("indicators.batch", "indicators.revoke", "indicators.sighting"),
            index="cbm.measures.indicators.index:INDEX", index_version=7,
            attention="cbm.measures.indicators:attention",
            cli="indicators", help="CERT-to-CERT threat indicators (STIX 2.1): import, search, export."),
    Measure("inquiry", ("inquiry.open", "inquiry.ack", "inquiry.reply", "inquiry.clarify", "inquiry.close",
                        "inquiry.withdraw"),
            index="cbm.measures.inquiry.index:INDEX", index_version=3,
            attention="cbm.measures.inquiry.service:attention",
            cli="inquiry", help="Formal inquiries about ICT incidents, acknowledged and answered."),
    Measure("hotline", ("hotline.message", "hotline.receipt", "hotline.translation", "hotline.test",
                        "hotline.test_reply", "hotline.transcript", "hotline.call", "hotline.call_confirm"),
            index="cbm.measures.hotline.index:INDEX", index_version=1,
            attention="cbm.measures.hotline.service:attention",
            on_import="cbm.measures.hotline.service:on_import",
            cli="hotline", help="Encrypted, signed crisis messages with receipts and link tests."),
    Measure("whitepaper", ("whitepaper.publish", "whitepaper.translate", "whitepaper.withdraw", "whitepaper.ack"),
            index="cbm.measures.whitepaper.index:INDEX", index_version=1,
            attention="cbm.measures.whitepaper.reactions:attention",
            on_import="cbm.measures.whitepaper.reactions:on_import",
            cli="whitepaper", help="Unclassified strategy papers: publish, versions, translations."),
    Measure("workgroup", ("workgroup.meeting", "workgroup.attend", "workgroup.minutes", "workgroup.approve",
                          "workgroup.action", "workgroup.action_done", "workgroup.proposal", "workgroup.submit",
                          "workgroup.sign", "workgroup.object", "workgroup.reject", "workgroup.withdraw"),
            index=None, attention="cbm.measures.workgroup.service:attention",
            cli="workgroup", help="Working group: meetings, minutes, actions, joint proposals."),
)


def _checked(measures: tuple[Measure, ...]) -> tuple[Measure, ...]:
    """``measures``, each naming its index and the index's version together. Raises ValueError."""
    for measure in measures:
        if (measure.index is None) != (measure.index_version is None):
            raise ValueError(f"measure {measure.name}: name its index and the index's version together")
    return measures


MEASURES = _checked(MEASURES)


def by_name(name: str) -> Measure:
    """The measure called ``name``. Raises KeyError for an unknown name."""
    for measure in MEASURES:
        if measure.name == name:
            return measure
    raise KeyError(name)


@cache
def indexes() -> tuple[Index, ...]:
    """Every measure's index, in registry order, each folding only well-formed records, then the index of the
    malformed ones (docs/adr/0116-malformed-peer-records.md): what the application hands the store."""
    from cbm.measures import malformed

    found = tuple(index for index in (measure.load_index() for measure in MEASURES) if index is not None)
    return (*(malformed.guarded(index) for index in found), malformed.INDEX)


def index_versions() -> dict[str, int]:
    """Name -> version of every index :func:`indexes` hands the store, read from the registry alone (no index
    module is imported): the guarded measure indexes, then the malformed records' own."""
    versions = {m.name: m.index_version + GATE_VERSION for m in MEASURES if m.index_version is not None}
    return {**versions, "malformed": MALFORMED_INDEX_VERSION}


def deferred_indexes() -> Deferred:
    """The measures' indexes as :func:`cbm.app.stores.open_store` hands them to the store: their names and versions
    now, the Index values (:func:`indexes`) on the first write."""
    from cbm.store.indexes import Deferred

    return Deferred(index_versions(), indexes)
