"""``cbm bundle``: exchange records with peers as signed bundle files over any transport."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from rich.text import Text

from cbm.cli.context import open_store
from cbm.cli.output import emit, note, warn
from cbm.core.errors import NotFound

app = typer.Typer(help="Signed bundles: export for a peer, import, verify (also without a store), inspect, "
                       "and what each peer has acknowledged.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="JSON output.")]


def _open_input(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as e:
        raise NotFound(f"cannot read {path}: {e.strerror}") from e


def _ranges(missing: dict[str, tuple[int, int]]) -> str:
    return "; ".join(f"{author} {first}-{last}" if first != last else f"{author} {first}"
                     for author, (first, last) in sorted(missing.items()))


@app.command()
def export(
    to: Annotated[str, typer.Option("--to", help="The peer this bundle is for (party code).")],
    output: Annotated[str, typer.Option("-o", "--output", help="File to write ('-' for stdout).")],
    encrypt: Annotated[bool, typer.Option("--encrypt", help="Encrypt to the peer's key (and ours).")] = False,
    armor: Annotated[bool, typer.Option("--armor", help="Text-only form (base64 between BEGIN/END lines).")]
    = False,
    gzip_: Annotated[bool, typer.Option("--gzip", help="Compress (deterministic gzip).")] = False,
    everything: Annotated[bool, typer.Option(
        "--all", help="Carry everything the peer may see, even what it has acknowledged.")] = False,
    minisig: Annotated[bool, typer.Option(
        "--minisig/--no-minisig", help="Write FILE.minisig beside the bundle (not for stdout).")] = True,
    json_flag: JsonFlag = False,
) -> None:
    """Write a bundle for a peer: every record it may see and has not acknowledged, plus our receipt.

    Records the peer may not see travel only as withheld ranges (author, seqs, hash), so its chains still link.
    A detached minisign signature FILE.minisig is written beside the file.

    Example:  cbm bundle export --to RU -o us-to-ru.cbm
    """
    from cbm.bundle.export import export_to_path, write_bundle

    options = {"encrypt": encrypt, "compress": gzip_, "armored": armor, "everything": everything}
    with open_store() as store:
        code = to.strip().upper()
        if output == "-":
            result, _ = write_bundle(store, code, sys.stdout.buffer, **options)  # type: ignore[arg-type]
            sys.stdout.buffer.flush()
        else:
            result = export_to_path(store, code, Path(output), minisig=minisig, **options)  # type: ignore[arg-type]
    for digest in result.missing_blobs:
        warn(f"attachment {digest[:12]} is listed by a record but not in this store; not included")
    layers = f" ({', '.join(result.layers)})" if result.layers else ""
    what = f"{result.records} records, {result.withheld} withheld, {result.blobs} attachments"
    note(f"bundle {result.number} for {result.recipient}{layers}: {what}, {result.size} bytes"
         + (f" -> {result.output}" if result.output != "-" else ""))
    if result.minisig:
        note(f"detached signature: {result.minisig}")
    if output == "-":
        if json_flag:
            warn("--json is ignored when the bundle itself goes to stdout")
        return
    emit("bundle.export", result, lambda out: out.print(Text(f"{result.output}  bundle {result.number} "
                                                             f"id {result.bundle[:16]}  {what}")),
         json_flag=json_flag)


@app.command("import")
def import_(
    bundle_file: Annotated[str, typer.Argument(help="The bundle file ('-' for stdin).")],
    json_flag: JsonFlag = False,
) -> None:
    """Verify a bundle and land its records in one transaction; write our signed receipt.

    Importing the same bundle again changes nothing (exit 0). Records whose predecessors have not arrived
    are held, and the exact missing range is reported.

    Example:  cbm bundle import us-to-ru.cbm
    """
    from cbm.bundle.importer import import_bundle

    source = _open_input(bundle_file)
    try:
        with open_store() as store:
            result = import_bundle(store, source, source_name=None if bundle_file == "-" else bundle_file)
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    if result.already_imported:
        note(f"bundle {result.number} from {result.sender} was already imported "
             f"({result.already_imported}); nothing changed")
    elif not result.changed:
        note(f"bundle {result.number} from {result.sender}: nothing new; nothing changed")
    if result.missing:
        warn(f"records held until their predecessors arrive; missing: {_ranges(result.missing)}")
    for author, n in sorted(result.skipped.items()):
        warn(f"{n} record(s) by {author} not taken: {author} is not a party we trust "
             f"(import its card with `cbm keys import`)")

    def human(out: Console) -> None:
        total = sum(result.landed.values())
        by = ", ".join(f"{a} {n}" for a, n in sorted(result.landed.items()))
        line = f"bundle {result.number} from {result.sender}: {total} record(s) landed" + (f" ({by})" if by else "")
        if result.withheld_new:
            line += f", {result.withheld_new} withheld range(s)"
        if result.held:
            line += f", {result.held} held"
        if result.blobs:
            line += f", {result.blobs} attachment(s)"
        out.print(Text(line))
        if result.receipt:
            out.print(Text(f"receipt {result.receipt[:12]} will travel with our next bundle to {result.sender}"))

    emit("bundle.import", result, human, json_flag=json_flag)
