"""``cbm store``: verify every signature and chain; rebuild derived indexes."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from cbm.cli.context import open_store, state
from cbm.cli.output import emit, note, print_folded, warn
from cbm.cli.progress import Progress
from cbm.core.errors import VerificationError
from cbm.store.verify import verify_store

app = typer.Typer(help="The local store: verify it, rebuild its indexes.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="JSON output.")]


@app.command()
def verify(json_flag: JsonFlag = False) -> None:
    """Re-check every record's signature (on all cores), hash and chain link. Exit 1 on any fault.

    Example:  cbm store verify --json
    """
    with open_store() as store, Progress("verifying records") as progress:
        result = verify_store(store, progress.update)

    def human(out: Console) -> None:
        for fault in result.faults:
            out.print(Text(f"FAULT {fault.author} #{fault.seq}: {fault.problem}", style="red"))
        verdict = "OK" if result.ok else f"{len(result.faults)} fault(s)"
        out.print(Text(f"{verdict}: {result.records} records from {result.authors} authors checked"))

    if result.equivocations:
        warn(f"{result.equivocations} equivocating record(s) kept as evidence (see `cbm status`)")
    emit("store.verify", {"ok": result.ok, **vars(result)}, human, json_flag=json_flag)
    if not result.ok:
        raise VerificationError(f"store verification found {len(result.faults)} fault(s)")


@app.command()
def rebuild(json_flag: JsonFlag = False) -> None:
    """Regenerate every derived index from the records (safe at any time).

    Example:  cbm store rebuild
    """
    with open_store() as store, Progress("rebuilding indexes") as bar:
        counts = store.rebuild(bar.update)
    note("indexes rebuilt")
    emit("store.rebuild", {"indexes": counts},
         lambda out: print_folded(out, Text("records read per index: "
                                            + ", ".join(f"{k} {v}" for k, v in counts.items())
                                            if counts else "no indexes")),
         json_flag=json_flag or state.json)
