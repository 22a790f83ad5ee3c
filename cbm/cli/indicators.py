"""``cbm indicators``: threat indicators between CERTs, in STIX 2.1 — add, import, list, search, show, revoke,
sighting, export, stats."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from cbm.cli.context import open_store, state
from cbm.cli.indicators_search import TYPE_SHORT, origin_text, short_id, show_search
from cbm.cli.output import Text, cell, emit, literal, note, to_jsonable, warn
from cbm.cli.progress import Progress, estimated_lines, file_size
from cbm.cli.progress import shown as progress_shown
from cbm.cli.tables import Column, stream, terminal_width
from cbm.core.errors import UsageError
from cbm.measures.indicators import model, query

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(help="Threat indicators in STIX 2.1: add, import feeds, search, share, sight, export for "
                       "firewalls and IDS.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="JSON output.")]
TlpOpt = Annotated[str | None, typer.Option("--tlp", help="TLP 2.0 label (default GREEN, or "
                                                           "indicators.default_tlp in config.toml); overrides the "
                                                           "input's.")]
ToOpt = Annotated[list[str] | None, typer.Option("--to", help="Audience: a peer code, repeatable ('*' = all).")]
SectorOpt = Annotated[list[str] | None, typer.Option(
    "--sector", help="Critical-infrastructure sector, repeatable: " + ", ".join(model.SECTORS) + ".")]
TypeFilter = Annotated[list[str] | None, typer.Option("--type", "-t", help="Only this type, repeatable.")]
FromFilter = Annotated[list[str] | None, typer.Option("--from", help="Only indicators by this party, repeatable.")]
TlpFilter = Annotated[list[str] | None, typer.Option("--tlp", help="Only this TLP label, repeatable.")]
TlpMax = Annotated[str | None, typer.Option("--tlp-max", help="Nothing above this TLP label.")]
SectorFilter = Annotated[list[str] | None, typer.Option("--sector", help="Only indicators naming this sector.")]
Active = Annotated[bool, typer.Option("--active", help="Only live ones (not revoked, not expired).")]
Expired = Annotated[bool, typer.Option("--expired", help="Only expired ones.")]
Revoked = Annotated[bool, typer.Option("--revoked", help="Only revoked ones.")]
Wide = Annotated[bool, typer.Option("--wide", help="Show every value whole (as when piped).")]
Since = Annotated[str | None, typer.Option("--since", help="Only versions since this time (ISO 8601).")]
OriginOpt = Annotated[str | None, typer.Option(
    "--origin", help="Territory it appears to originate from: ISO 3166-1 alpha-2 code (RU, US...).")]
AsnOpt = Annotated[str | None, typer.Option("--asn", help="AS number it appears to originate from (64500 or "
                                                          "AS64500).")]
OriginFilter = Annotated[list[str] | None, typer.Option(
    "--origin", help="Only indicators originating from this territory (ISO 3166-1 alpha-2), repeatable.")]
AsnFilter = Annotated[list[str] | None, typer.Option("--asn", help="Only indicators originating from this AS "
                                                                   "number, repeatable.")]

def _state(active: bool, expired: bool, revoked: bool) -> str | None:
    chosen = [name for name, on in (("active", active), ("expired", expired), ("revoked", revoked)) if on]
    if len(chosen) > 1:
        raise UsageError("choose one of --active, --expired, --revoked")
    return chosen[0] if chosen else None


LIST_COLUMNS = (Column("id"), Column("type"), Column("from"), Column("tlp"), Column("until"), Column("state"),
                Column("value", cut=True, min_width=12))


def _listed(rows: Iterable[Any]) -> Iterator[tuple[str, ...]]:
    for item in rows:
        value = item.value or ""
        if item.origin or item.asn is not None:
            value += "  (origin " + origin_text(item.origin, item.asn) + ")"
        if item.flags:
            value += "  [" + ", ".join(item.flags) + "]"
        yield (short_id(item.id), TYPE_SHORT.get(item.type, item.type), item.author, item.tlp,
               (item.valid_until or "")[:10], item.state, value)


def _json_feed(file: str, fmt: str | None) -> bool:
    return (fmt or "").lower() in ("stix", "misp") or (not fmt and file.lower().endswith(".json"))


def _import_bar(file: str, fmt: str | None) -> Progress:
    """A determinate bar for a feed import: bytes of a JSON feed (its size is known), else records, about one
    per line of a text feed."""
    name = f"importing {Path(file).name}"
    if _json_feed(file, fmt):
        return Progress(name, file_size(file), unit="bytes")
    return Progress(name, estimated_lines(file) if progress_shown() else None, unit="indicators")


def _progress_writer(bar: Progress) -> Any:
    return lambda n: bar.update(n)


# -- add -------------------------------------------------------------------------------------------------


@app.command()
def add(
    kind: Annotated[str | None, typer.Option("--type", "-t", help="ipv4-addr, ipv6-addr, domain-name, url, "
                                                                     "email-addr, file-md5/sha1/sha256 "
                                                                     "(recognised if omitted).")] = None,
    value: Annotated[str | None, typer.Option("--value", help="The value (defanged forms are accepted).")]
    = None,
    pattern: Annotated[str | None, typer.Option("--pattern", help="A STIX 2.1 pattern instead of a value.")]
    = None,
    name: Annotated[str | None, typer.Option("--name", help="Short name.")] = None,
    description: Annotated[str | None, typer.Option("--description", help="What it is, why it matters.")]
    = None,
    tlp: TlpOpt = None,
    to: ToOpt = None,
    confidence: Annotated[int | None, typer.Option("--confidence", help="0-100.")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="Label, repeatable.")] = None,
    indicator_type: Annotated[list[str] | None, typer.Option(
        "--indicator-type", help="STIX indicator type (malicious-activity, anomalous-activity...).")] = None,
    valid_from: Annotated[str | None, typer.Option("--valid-from", help="ISO 8601 (default now).")] = None,
    valid_until: Annotated[str | None, typer.Option("--valid-until", help="ISO 8601 expiry.")] = None,
    sector: SectorOpt = None,
    origin: OriginOpt = None,
    asn: AsnOpt = None,
    kill_chain: Annotated[list[str] | None, typer.Option(
        "--kill-chain", help="KILL_CHAIN:PHASE, e.g. lockheed-martin-cyber-kill-chain:command-and-control.")]
    = None,
    json_flag: JsonFlag = False,
) -> None:
    """Add one indicator (or a new version of ours with the same pattern), signed by us.

    --origin is the territory the indicator appears to originate from (ISO 3166-1 alpha-2), --asn its AS
    number; both are signed with it.

    Example:  cbm indicators add --type ipv4-addr --value 203.0.113.5 \\
                --tlp GREEN --confidence 80 --label malicious-activity \\
                --valid-until 2027-01-01 --sector energy \\
                --description "C2 server"
    Example:  cbm indicators add --value 198.51.100.23 --origin RU --asn 64500
    """
    from cbm.measures.indicators import service as svc

    phases = []
    for item in kill_chain or []:
        chain, _, phase = item.partition(":")
        if not chain or not phase:
            raise UsageError(f"--kill-chain {item!r} is not KILL_CHAIN:PHASE")
        phases.append({"kill_chain_name": chain, "phase_name": phase})
    opts = svc.Options(tlp=tlp, to=tuple(to or ["*"]), confidence=confidence, valid_until=valid_until,
                       sectors=tuple(sector or []), labels=tuple(label or []),
                       indicator_types=tuple(indicator_type or []), origin=origin, asn=asn)
    with open_store() as store:
        result = svc.add(store, opts, kind=kind, value=value, pattern=pattern, name=name,
                         description=description, valid_from=valid_from, kill_chain=phases or None)

    if result.flags:
        warn(f"flagged by the landing checks: {', '.join(result.flags)}; kept, but left out of firewall and IDS"
             " exports")

    def human(out: Console) -> None:
        where = origin_text(result.origin, result.asn)
        out.print(Text(f"{result.action} {result.id} ({TYPE_SHORT.get(result.type, result.type)} ") +
                  cell(result.value or "pattern") + Text(f", TLP:{result.tlp}" +
                                                         (f", origin {where})" if where else ")")))

    emit("indicators.add", result, human, json_flag=json_flag)


# -- import ----------------------------------------------------------------------------------------------


@app.command("import")
def import_(
    file: Annotated[str, typer.Argument(help="Feed file: CSV, plain list, STIX 2.1 bundle, MISP event "
                                             "('-' for stdin).")],
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="csv, txt, stix or misp (guessed from the "
                                                                    "name and content).")] = None,
    kind: Annotated[str | None, typer.Option("--type", "-t", help="For plain lists: every line is this type.")]
    = None,
    tlp: TlpOpt = None,
    to: ToOpt = None,
    confidence: Annotated[int | None, typer.Option("--confidence", help="Default confidence, 0-100.")] = None,
    valid_until: Annotated[str | None, typer.Option("--valid-until", help="Default expiry, ISO 8601.")] = None,
    sector: SectorOpt = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="Label added to each, repeatable.")] = None,
    origin: Annotated[str | None, typer.Option("--origin", help="Origin territory (ISO 3166-1 alpha-2) for "
                                                                "indicators whose line gives none.")] = None,
    asn: Annotated[str | None, typer.Option("--asn", help="Origin AS number for indicators whose line gives "
                                                          "none.")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the good lines even if some are "
                                                                      "bad (each bad one is reported).")]
    = False,
    json_flag: JsonFlag = False,
) -> None:
    """Import a feed (CSV, plain list, STIX 2.1 bundle, MISP event), all or nothing.

    Every bad line is reported with its number; with any, nothing is imported unless --skip-invalid.
    A file that is no feed as a whole (not JSON, no objects list, no event) is refused even then.
    Unchanged indicators are skipped; changed ones become new versions.

    Example:  cbm indicators import feed.csv --tlp AMBER --to RU --sector energy
    """
    from cbm.measures.indicators import service as svc

    opts = svc.Options(tlp=tlp, to=tuple(to or ["*"]), confidence=confidence, valid_until=valid_until,
                       sectors=tuple(sector or []), labels=tuple(label or []), origin=origin, asn=asn)
    try:
        with open_store() as store, _import_bar(file, fmt) as bar:
            result = svc.import_file(store, file, opts, fmt=fmt.lower() if fmt else None,
                                     skip_invalid=skip_invalid, kind=kind, on_progress=_progress_writer(bar),
                                     progress=bar.update if bar.drawn and _json_feed(file, fmt) else None)
    except svc.BadLines as e:
        for error in e.errors if e.unit != "file" else ():  # the file as a whole: the error line says it all
            typer.echo(f"cbm: {literal(file)}: {literal(error)}", err=True)
        if e.total > len(e.errors):
            typer.echo(f"cbm: ... and {e.total - len(e.errors)} more bad {e.unit}s", err=True)
        raise
    for message in result.errors:
        warn(f"skipped {literal(message)}")
    if result.invalid > len(result.errors):
        warn(f"... and {result.invalid - len(result.errors)} more bad lines")
    for what, n in result.skipped.items():
        note(f"skipped {n} {literal(what)}")
    for what, n in result.notices.items():
        note(f"{n} {literal(what)}")
    if result.kept_objects:
        note("kept related STIX objects: " + literal(", ".join(f"{k} {v}"
                                                             for k, v in sorted(result.kept_objects.items()))))
    if result.ignored_columns:
        note("ignored CSV columns: " + literal(", ".join(result.ignored_columns)))
    _flag_note(result.flagged, result.by_flag)

    def human(out: Console) -> None:
        tlps = ", ".join(f"{k} {v}" for k, v in result.by_tlp.items()) or "-"
        out.print(Text(f"imported {result.created} new, {result.updated} updated, {result.unchanged} unchanged"
                       f" ({result.read} read, {result.invalid} invalid) in {result.records} record(s);"
                       f" TLP: {tlps}"))

    emit("indicators.import", result, human, json_flag=json_flag)


def _flag_note(flagged: int, by_flag: dict[str, int]) -> None:
    if flagged:
        warn(f"{flagged} indicator(s) flagged by the landing checks ("
             + ", ".join(f"{k} {v}" for k, v in by_flag.items())
             + "): kept, but left out of firewall and IDS exports; see `cbm indicators list --flagged`")


# -- list ------------------------------------------------------------------------------------------------


@app.command("list")
def list_(
    kind: TypeFilter = None,
    party: FromFilter = None,
    tlp: TlpFilter = None,
    tlp_max: TlpMax = None,
    sector: SectorFilter = None,
    active: Active = False,
    expired: Expired = False,
    revoked: Revoked = False,
    expiring: Annotated[int | None, typer.Option("--expiring", metavar="DAYS",
                                                 help="Only live ones expiring within DAYS days.")] = None,
    since: Since = None,
    origin: OriginFilter = None,
    asn: AsnFilter = None,
    flagged: Annotated[bool, typer.Option("--flagged", help="Only those the landing checks flagged "
                                                            "(warninglists, reserved ranges...).")] = False,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (0 = all).")] = 1000,
    json_flag: JsonFlag = False,
    wide: Wide = False,
) -> None:
    """List current indicators (newest version of each), oldest first, streamed.

    With --flagged, only those a warninglist or a built-in rule flagged, each with its flags. --json gives
    every indicator its flags and labels ([] for none), as `show` does.

    Example:  cbm indicators list --from RU --type ipv4-addr --active \\
                --sector energy
    Example:  cbm indicators list --flagged
    Example:  cbm indicators list --from RU --origin US --active
    """
    if limit < 0:
        raise UsageError("--limit must be 0 or more")
    with open_store() as store:
        f = query.make_filter(types=kind, authors=party, tlps=tlp, tlp_max=tlp_max, sectors=sector,
                            state=_state(active, expired, revoked), since=since, limit=limit or None,
                            expiring_days=expiring, flagged=True if flagged else None, origins=origin,
                            asns=asn)
        if json_flag or state.json:  # every entry with its flags and labels, as `show` has them
            rows = query.listing(store, f, with_flags=True, with_labels=True)
            _stream_json(sys.stdout, "indicators.list", "indicators", rows)
            return
        rows = query.listing(store, f, with_flags=flagged)
        out = sys.stdout
        shown = 0
        # streamed (a million rows): fixed widths, the value last, whole unless a terminal is too narrow
        codes = max(map(len, [store.party, *store.peers()]))
        for line in stream(LIST_COLUMNS, (8, 7, max(4, codes), 12, 10, 7), _listed(rows), terminal_width(wide)):
            out.write(line + "\n")
            shown += 1
        shown -= 1  # the header
        if limit and shown == limit:
            total = query.count(store, query.make_filter(types=kind, authors=party, tlps=tlp, tlp_max=tlp_max,
                                                     sectors=sector, state=_state(active, expired, revoked),
                                                     since=since, expiring_days=expiring,
                                                     flagged=True if flagged else None, origins=origin,
                                                     asns=asn))
            if total > shown:
                note(f"showing {shown} of {total}; --limit 0 for all, or `cbm indicators export`")
        elif shown == 0:
            note("no indicators match")


def _stream_json(out: IO[str], schema: str, key: str, items: Iterator[Any]) -> None:
    out.write('{"schema": "cbm.' + schema + '/1", "' + key + '": [')
    first = True
    for item in items:
        out.write(("\n  " if first else ",\n  ") + json.dumps(to_jsonable(item), ensure_ascii=False))
        first = False
    out.write("\n]}\n" if not first else "]}\n")


# -- search ----------------------------------------------------------------------------------------------


@app.command()
def search(
    value: Annotated[str, typer.Argument(help="A value (defanged is fine), a CIDR range, an id, or text with "
                                              "--substring.")],
    substring: Annotated[bool, typer.Option("--substring", help="Match values containing the text.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="At most this many hits.")] = 200,
    origin: OriginFilter = None,
    asn: AsnFilter = None,
    json_flag: JsonFlag = False,
    wide: Wide = False,
) -> None:
    """Find indicators by value and show which parties reported it (more than one = corroborated).

    An IP address also finds reported CIDR ranges that contain it; a CIDR range finds the addresses in it.
    Exit code 5 when nothing matches.

    Example:  cbm indicators search 203.0.113.5
    Example:  cbm indicators search 198.51.100.0/24 --origin RU
    """
    code = show_search(value, substring=substring, limit=limit, origins=origin, asns=asn, json_flag=json_flag,
                       wide=wide)
    if code:
        raise typer.Exit(code)


# -- show ------------------------------------------------------------------------------------------------


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="Indicator id (indicator--UUID, or 6+ hex digits of the UUID).")],
    party: Annotated[str | None, typer.Option("--from", help="Only the version by this party.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Show an indicator: its STIX object, author and signature, TLP and audience, versions, sightings.

    Example:  cbm indicators show 1a2b3c4d
    """
    from cbm.measures.indicators import service as svc

    with open_store() as store:
        shown = svc.show(store, ref, party)

    def human(out: Console) -> None:
        for s in shown:
            out.print(Text(f"{s.id}", style="bold"))
            out.print(Text(f"author     {s.author}   state {s.state}   TLP:{s.tlp}   to {', '.join(s.audience)}"))
            out.print(Text(f"signed     record {s.record[:16]} (seq {s.seq}, key {s.keyid}) at {s.signed}"))
            out.print(Text(f"versions   {s.versions}"))
            if s.origin or s.asn is not None:
                named = f" ({s.origin_name})" if s.origin_name else ""
                out.print(Text(f"origin     {origin_text(s.origin, s.asn)}{named}, as signed by {s.author}"))
            if s.flags:
                out.print(Text(f"flagged    {', '.join(s.flags)} (kept out of firewall and IDS exports)"))
            for r in s.revocations:
                out.print(Text("revoked    ") + cell(f"{r['at']} by {r['by']}: {r['reason'] or '-'}"))
            for x in s.sightings:
                out.print(Text("sighting   ") + cell(f"{x['by']} x{x['count']} {x['first_seen'] or ''}.."
                                                     f"{x['last_seen'] or ''} (reported {x['reported']})"))
            if s.also_reported_by:
                out.print(Text(f"also reported by {', '.join(s.also_reported_by)} (corroborated)"))
            out.print(cell(json.dumps(s.stix, indent=2, ensure_ascii=False), multiline=True))

    emit("indicators.show", {"indicators": shown}, human, json_flag=json_flag)


# -- revoke and sighting ---------------------------------------------------------------------------------


@app.command()
def revoke(
    ref: Annotated[str, typer.Argument(help="Id of one of our indicators.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, e.g. 'false positive'.")],
    json_flag: JsonFlag = False,
) -> None:
    """Revoke one of our indicators; the revocation goes to everyone who received it.

    Exit code 4 if it is not ours or already revoked.

    Example:  cbm indicators revoke 1a2b3c4d \\
                --reason "false positive: CDN address"
    """
    from cbm.measures.indicators import service as svc

    with open_store() as store:
        result = svc.revoke(store, ref, reason)
    emit("indicators.revoke", result, lambda out: out.print(Text(f"revoked {result.id} (record "
                                                                f"{result.record[:12]})")), json_flag=json_flag)


@app.command()
def sighting(
    ref: Annotated[str, typer.Argument(help="Id of the indicator seen.")],
    count: Annotated[int, typer.Option("--count", help="How many times it was seen.")] = 1,
    first_seen: Annotated[str | None, typer.Option("--first-seen", help="ISO 8601.")] = None,
    last_seen: Annotated[str | None, typer.Option("--last-seen", help="ISO 8601.")] = None,
    description: Annotated[str | None, typer.Option("--description", help="Context for the author.")] = None,
    party: Annotated[str | None, typer.Option("--from", help="Whose indicator, if several parties hold the id.")]
    = None,
    json_flag: JsonFlag = False,
) -> None:
    """Report a sighting of an indicator back to its author (a STIX Sighting, at the indicator's TLP).

    Example:  cbm indicators sighting 1a2b3c4d --count 3 \\
                --first-seen 2026-11-20T08:00Z --last-seen 2026-11-22T17:30Z
    """
    from cbm.measures.indicators import service as svc

    with open_store() as store:
        result = svc.sighting(store, ref, count=count, first_seen=first_seen, last_seen=last_seen,
                              description=description, author=party)
    emit("indicators.sighting", result,
         lambda out: out.print(Text(f"sighting of {result.id} recorded for {result.author} (record "
                                    f"{result.record[:12]}); it travels in the next bundle")),
         json_flag=json_flag)


# -- pull and push (TAXII 2.1): cbm/cli/indicators_taxii.py -------------------------------------------------


def _taxii_commands() -> None:
    from cbm.cli import indicators_checks, indicators_export, indicators_stats, indicators_taxii

    app.command("export")(indicators_export.export)
    app.command("stats")(indicators_stats.stats)
    app.command("warninglists")(indicators_checks.warninglists)
    app.command("recheck")(indicators_checks.recheck)
    app.command("pull")(indicators_taxii.pull)
    app.command("push")(indicators_taxii.push)


_taxii_commands()
