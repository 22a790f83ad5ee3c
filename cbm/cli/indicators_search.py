"""What ``cbm indicators search`` shows: the indicators matching a value, who reported each, corroboration.

Typer-free: the Typer command (``cbm/cli/indicators.py``) and the fast path (``cbm/cli/fast.py``) both call
:func:`show_search` (docs/adr/0246-a-fast-path-without-typer.md). The small helpers every indicator table uses
(short type names and ids, origins) live here too, so that the search loads nothing else of the indicators' CLI.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from cbm.cli.context import open_store, state
from cbm.cli.output import emit_lines, literal, note, one_line, to_jsonable
from cbm.cli.tables import Column, Table, terminal_width
from cbm.core.errors import NotFound

NOT_FOUND = NotFound.exit_code  # 5, the documented exit code when nothing matches

TYPE_SHORT = {"ipv4-addr": "ipv4", "ipv6-addr": "ipv6", "domain-name": "domain", "url": "url",
              "email-addr": "email", "file-md5": "md5", "file-sha1": "sha1", "file-sha256": "sha256",
              "pattern": "pattern"}


def short_id(sid: str) -> str:
    """The first 8 hex digits of an indicator's UUID, as the tables show it."""
    return sid.split("--", 1)[-1][:8]


def origin_text(country: str | None, asn: int | None) -> str:
    """``RU``, ``RU AS64500``, ``AS64500`` or ``""``: an origin as the tables show it."""
    return " ".join(part for part in (country or "", f"AS{asn}" if asn is not None else "") if part)


def show_search(value: str, *, substring: bool = False, limit: int = 200, origins: Sequence[str] | None = None,
                asns: Sequence[str] | None = None, json_flag: bool = False, wide: bool = False) -> int:
    """Search the store chosen by the global options, print the hits (a table and who reported them, or one
    JSON document) and return the exit code: 0, or 5 when nothing matches (with a note on stderr). Raises what
    the search raises (``CbmError`` for a value or filter it cannot read; the caller reports it)."""
    from cbm.measures.indicators import query

    with open_store() as store:
        result = query.search(store, value, substring=substring, limit=limit,
                              origins=list(origins) if origins else None, asns=list(asns) if asns else None,
                              with_details=json_flag or state.json)

    def lines() -> Iterator[str]:
        if not result.hits:
            return
        table = Table([Column("id"), Column("type"), Column("from"), Column("tlp"), Column("state"),
                       Column("value", cut=True, min_width=17), Column("note", cut=True, optional=True)])
        for h in result.hits:
            extras = [m for m in (h.match if h.match != "exact" else "",
                                  f"{h.sightings} sighted" if h.sightings else "",
                                  f"origin {origin_text(h.origin, h.asn)}" if h.origin or h.asn else "") if m]
            table.add_row(short_id(h.id), TYPE_SHORT.get(h.type, h.type), h.author, h.tlp, h.state, h.value,
                          ", ".join(extras))
        yield from table.lines(terminal_width(wide))
        who = ", ".join(result.reported_by)
        yield one_line(f"reported by {who}" + (" (corroborated)" if result.corroborated else ""))

    emit_lines("indicators.search", {**to_jsonable(result), "corroborated": result.corroborated}, lines,
               json_flag=json_flag)
    if not result.hits:
        note(f"no indicator matches {literal(result.normalised)}")
        return NOT_FOUND
    return 0
