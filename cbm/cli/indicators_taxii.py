"""``cbm indicators pull`` and ``push``: the indicators' exchange with TAXII 2.1 collections (``cbm/taxii``).
Registered on ``cbm indicators`` by ``cbm/cli/indicators.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cbm.cli.context import open_store
from cbm.cli.indicators import FromFilter, JsonFlag, Since, TlpOpt, ToOpt, _progress_writer
from cbm.cli.output import Text, emit, literal, note, warn
from cbm.cli.progress import Progress

if TYPE_CHECKING:
    from rich.console import Console


def pull(
    source: Annotated[str, typer.Argument(help="A TAXII source added with `cbm taxii add`.")],
    since: Annotated[str | None, typer.Option("--since", help="Start from this time (ISO 8601) instead of "
                                                              "where the last pull stopped.")] = None,
    tlp: TlpOpt = None,
    to: ToOpt = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Land the good objects of a page that "
                                                                      "holds bad ones (each is reported).")]
    = False,
    page_size: Annotated[int | None, typer.Option("--page-size", help="Objects per page asked of the server "
                                                                      "(it may give fewer).")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Pull what is new in a TAXII 2.1 collection into the store, page by page, through the STIX importer.

    Only objects added since the last pull are fetched; each page lands with its cursor, so a run cut off
    midway resumes where it stopped. Markings become TLP labels (--tlp overrides them).

    Example:  cbm indicators pull internal --to RU
    """
    from cbm.measures.indicators import service as svc
    from cbm.taxii.pull import pull as pull_source

    opts = svc.Options(tlp=tlp, to=tuple(to or ["*"]))
    try:
        with open_store() as store, Progress(f"pulling from {source}") as bar:
            result = pull_source(store, source, opts, since=since, skip_invalid=skip_invalid, page_size=page_size,
                                 on_progress=_progress_writer(bar))
    except svc.BadLines as e:
        for error in e.errors:
            typer.echo(f"cbm: {literal(source)}: {literal(error)}", err=True)
        raise
    for message in result.errors:
        warn(f"skipped {literal(message)}")
    for what, n in result.skipped.items():
        note(f"skipped {n} {literal(what)}")

    def human(out: Console) -> None:
        tlps = ", ".join(f"{k} {v}" for k, v in result.by_tlp.items()) or "-"
        out.print(Text(f"pulled {result.objects} object(s) in {result.pages} page(s) from {source}: "
                       f"{result.created} new, {result.updated} updated, {result.unchanged} unchanged, "
                       f"{result.invalid} invalid; TLP: {tlps}; next pull after {result.cursor or '-'}"))

    emit("indicators.pull", result, human, json_flag=json_flag)


def push(
    source: Annotated[str, typer.Argument(help="A TAXII source added with `cbm taxii add`.")],
    party: FromFilter = None,
    tlp_max: Annotated[str, typer.Option("--tlp-max", help="Nothing above this TLP label.")] = "GREEN",
    since: Since = None,
    json_flag: JsonFlag = False,
) -> None:
    """Push indicators to a TAXII 2.1 collection: each version once, in envelopes the server accepts.

    Versions pushed before are left out; what the server confirms is remembered. Each object it refuses is listed
    on stderr and the command exits 4, so a scheduled job notices; the rest stay pushed.

    Example:  cbm indicators push internal --from RU --tlp-max AMBER \\
                --since 2026-12-01
    """
    from cbm.taxii.push import push as push_source

    with open_store() as store, Progress(f"pushing to {source}") as bar:
        result = push_source(store, source, authors=tuple(party or ()), tlp_max=tlp_max, since=since,
                             on_progress=lambda done, total: bar.update(done, total))
    for failure in result.failures[:100]:
        warn(f"not accepted: {literal(failure['id'])}: {literal(failure['message'])}")

    def human(out: Console) -> None:
        out.print(Text(f"pushed {result.succeeded} object(s) to {source} in {result.envelopes} envelope(s); "
                       f"{result.already_pushed} pushed before, {result.failed + result.too_large} refused, "
                       f"{result.pending} pending"))

    emit("indicators.push", result, human, json_flag=json_flag)
    refused = result.failed + result.too_large + result.pending
    if refused:
        typer.echo(f"cbm: error: {refused} object(s) not accepted by {literal(source)}; the others are pushed",
                   err=True)
        raise typer.Exit(4)
