"""``cbm indicators warninglists`` and ``recheck``: the landing checks' lists and re-checks (docs/adr/0190,
0192). Registered on ``cbm indicators`` by ``cbm/cli/indicators.py``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cbm.cli.context import open_store
from cbm.cli.indicators import JsonFlag
from cbm.cli.output import Text, emit, print_folded
from cbm.cli.progress import Progress

if TYPE_CHECKING:
    from rich.console import Console


def warninglists(
    update: Annotated[Path | None, typer.Option(
        "--update", metavar="DIR", help="Install the lists from DIR (a copy of misp-warninglists carried across "
                                        "the air gap: DIR/lists/<name>/list.json), then re-check every "
                                        "stored indicator.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Show the MISP warninglists the landing checks use (where from, version, entries); update them offline.

    Every indicator is checked when it lands against these lists and the built-in rules (reserved ranges,
    ranges broader than indicators.checks.min_ipv4_prefix / min_ipv6_prefix in config.toml,
    own_infrastructure, public suffixes); a hit is flagged, not dropped.

    Example:  cbm indicators warninglists --update /media/usb/misp-warninglists
    """
    from cbm.measures.indicators import screening

    with open_store() as store:
        if update is not None:
            with Progress("re-checking indicators", unit="indicators") as bar:
                result = screening.update_warninglists(store, update, bar.update)
        else:
            result = screening.warninglists_in_use(store)

    def human(out: Console) -> None:
        print_folded(out, Text(f"warninglists from the {result.source}" + (f" ({result.directory})"
                                                                            if result.directory else "")))
        for wl in result.lists:
            out.print(Text(f"  {wl.name:<22} {wl.type:<9} version {wl.version:<10} {wl.entries:>9,} entries"))
        if result.missing:
            print_folded(out, Text("  not found: " + ", ".join(result.missing)), indent=4)
        print_folded(out, Text("built-in rules: " + ", ".join(result.rules)))
        if result.ignored:
            print_folded(out, Text("switched off here: " + ", ".join(result.ignored)))
        if result.recheck is not None:
            out.print(Text(f"re-checked {result.recheck.indicators} indicator(s): {result.recheck.flagged} flagged"))

    emit("indicators.warninglists", result, human, json_flag=json_flag)


def recheck(json_flag: JsonFlag = False) -> None:
    """Run the landing checks again over every stored indicator (after editing indicators.checks in config.toml).

    The signed records stay as they are; only the flags in the index change.

    Example:  cbm indicators recheck
    """
    from cbm.measures.indicators import screening

    with open_store() as store, Progress("re-checking indicators", unit="indicators") as bar:
        result = screening.recheck(store, bar.update)

    def human(out: Console) -> None:
        out.print(Text(f"re-checked {result.indicators} indicator(s): {result.flagged} flagged"))
        for flag, n in result.by_flag.items():
            out.print(Text(f"  {flag} {n}"))

    emit("indicators.recheck", result, human, json_flag=json_flag)
