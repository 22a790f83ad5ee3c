"""``cbm indicators stats``: counts over the indicators, by state, type, party, TLP, origin and age, narrowed by
party, origin territory, AS number, time and type. Registered on ``cbm indicators`` by ``cbm/cli/indicators.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cbm.cli.context import open_store
from cbm.cli.indicators import TYPE_SHORT, AsnFilter, JsonFlag, OriginFilter, Since, TypeFilter
from cbm.cli.output import cell, emit, print_folded
from cbm.measures.indicators import query

if TYPE_CHECKING:
    from rich.console import Console


def stats(
    days: Annotated[int, typer.Option("--days", help="'Expiring soon' horizon in days.")] = 7,
    party: Annotated[list[str] | None, typer.Option("--from", "--author", help="Only indicators by this party, "
                                                                             "repeatable.")] = None,
    origin: OriginFilter = None,
    asn: AsnFilter = None,
    since: Since = None,
    kind: TypeFilter = None,
    json_flag: JsonFlag = False,
) -> None:
    """Counts by type, party, TLP, origin and age; how many are active, expired, revoked, expiring soon, sighted.

    The filters narrow every count: how many indicators RU reported this month as originating from US
    territory, and how many of those are still active, is the second example.

    Example:  cbm indicators stats --days 14
    Example:  cbm indicators stats --from RU --origin US --since 2026-12-01
    """
    from rich.text import Text  # here, not at the top: every `cbm indicators` command loads this module

    from cbm.measures.indicators import service as svc

    with open_store() as store:
        f = query.make_filter(types=kind, authors=party, origins=origin, asns=asn, since=since)
        result = svc.stats(store, days, f)

    def human(out: Console) -> None:
        chosen = result.get("selection") or {}
        if chosen:
            words = {"types": "type", "authors": "by", "origins": "originating from", "asns": "from AS",
                     "since": "since"}
            out.print(Text("indicators " + "; ".join(
                f"{words[k]} {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in chosen.items())))
        print_folded(out, Text(f"{result['total']} indicators: {result['active']} active, {result['expired']} "
                               f"expired, {result['revoked']} revoked; {result['expiring_soon']} expire within "
                               f"{days} days; {result['sighted']} sighted; {result['flagged']} flagged"))
        for title, key in (("by type", "by_type"), ("by party", "by_party"), ("by TLP", "by_tlp"),
                           ("by origin", "by_origin"), ("flagged by", "by_flag"),
                           ("by age (last version)", "by_age")):
            parts = ", ".join(f"{TYPE_SHORT.get(k, k)} {v}" for k, v in result[key].items())
            print_folded(out, Text(f"{title}: ") + cell(parts or "-"))

    emit("indicators.stats", result, human, json_flag=json_flag)
