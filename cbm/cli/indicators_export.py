"""``cbm indicators export``: indicators for firewalls, IDS sensors and other platforms (STIX 2.1, CSV, plain
lists, Suricata rules, MISP). Registered on ``cbm indicators`` by ``cbm/cli/indicators.py``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated

import typer

from cbm.cli.context import open_store
from cbm.cli.indicators import (
    Active,
    AsnFilter,
    Expired,
    FromFilter,
    JsonFlag,
    OriginFilter,
    Revoked,
    SectorFilter,
    Since,
    TlpFilter,
    TlpMax,
    TypeFilter,
    _state,
)
from cbm.cli.output import emit, note, warn
from cbm.cli.progress import Progress
from cbm.measures.indicators import query


@contextmanager
def _output(path: str) -> Iterator[IO[bytes]]:
    """stdout's bytes for '-', else a temporary file renamed into place only when the export succeeded (the
    export writes UTF-8 bytes: docs/adr/0200-exports-write-bytes.md)."""
    if path == "-":
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    from cbm.core.files import written_atomically  # tempfile: not for the other indicators commands

    with written_atomically(Path(path)) as handle:
        yield handle


def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="stix, csv, txt (one value per line, for "
                                                             "firewalls), suricata or misp.")] = "stix",
    output: Annotated[str, typer.Option("-o", "--output", help="File to write ('-' for stdout).")] = "-",
    kind: TypeFilter = None,
    party: FromFilter = None,
    tlp: TlpFilter = None,
    tlp_max: TlpMax = None,
    sector: SectorFilter = None,
    active: Active = False,
    expired: Expired = False,
    revoked: Revoked = False,
    since: Since = None,
    origin: OriginFilter = None,
    asn: AsnFilter = None,
    sid_base: Annotated[int | None, typer.Option(
        "--sid-base", help="Start of cbm's Suricata sid range (sids are derived from each indicator).")] = None,
    include_flagged: Annotated[bool, typer.Option(
        "--include-flagged", help="Put flagged indicators back into txt, csv and suricata exports (never one "
                                  "matching every address).")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Export indicators for other tools: a STIX 2.1 bundle, CSV, plain lists, Suricata rules, a MISP event.

    Warns when AMBER or RED indicators go to a file; --tlp-max keeps them out. Indicators the landing checks
    flagged (a top site, a public resolver, a reserved range...) are left out of txt, csv and suricata exports
    and counted, unless --include-flagged; STIX and MISP exports keep them, marked. Nothing ever exports a
    range matching every address (0.0.0.0/0, ::/0).

    Example:  cbm indicators export --format txt --type ipv4-addr --active \\
                --tlp-max GREEN -o blocklist.txt
    Example:  cbm indicators export --format stix --from RU --origin US \\
                -o ru-reports-us.json
    """
    from cbm.measures.indicators import service as svc

    if output != "-":  # a refusal comes first and alone, before any warning about what would be written
        from cbm.core.files import check_output

        check_output(Path(output))
    with open_store() as store:
        f = query.make_filter(types=kind, authors=party, tlps=tlp, tlp_max=tlp_max, sectors=sector,
                            state=_state(active, expired, revoked), since=since, origins=origin, asns=asn)
        sensitive = svc.sensitive_tlps(store, f)
        with Progress(f"exporting {fmt}", unit="indicators") as bar, _output(output) as out:
            result = svc.export(store, f, fmt.lower(), out, sid_base=sid_base, include_flagged=include_flagged,
                                progress=bar.update if bar.drawn else None)
    if sensitive:  # said once written: a refused or failed export has nothing to share (docs/adr/0290)
        warn(f"the export includes TLP {', '.join(sorted(sensitive))} indicators: share the "
             f"{'output' if output == '-' else output} only as their labels allow (--tlp-max GREEN keeps "
             "them out)")
    if result.flagged_left_out:
        note(f"left out {result.flagged_left_out} flagged indicator(s) (see `cbm indicators list --flagged`;"
             " --include-flagged puts them back)")
    if include_flagged and result.flagged_included:
        warn(f"the export includes {result.flagged_included} flagged indicator(s): a top site, a public"
             " resolver or a reserved range may be blocked")
    if result.all_addresses_left_out:
        warn(f"left out {result.all_addresses_left_out} indicator(s) matching every address: never exported")
    for what, n in result.skipped.items():
        note(f"skipped {n} indicator(s): {what} have no {fmt} form")
    if result.sid_collisions:
        note(f"{result.sid_collisions} indicator(s) shared a derived sid with an earlier one and took their next")
    if output != "-":
        note(f"wrote {result.written} indicator(s) to {output}")
        emit("indicators.export", result, lambda out: None, json_flag=json_flag)
    elif json_flag:
        note("--json is ignored when the export itself goes to stdout")
