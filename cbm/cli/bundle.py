"""``cbm bundle``: exchange records with peers as signed bundle files over any transport."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.console import Console
from rich.text import Text

from cbm.cli.context import open_store
from cbm.cli.output import emit, literal, note, one_line, print_folded, to_jsonable, warn
from cbm.cli.progress import Progress, file_size
from cbm.cli.tables import Column, Styled, Table
from cbm.core.errors import NotFound, StoreMissing, UsageError
from cbm.core.stdio import stdin

TYPE_CHECKING = False  # typing.TYPE_CHECKING, spelled as cbm.cli.main does
if TYPE_CHECKING:
    from cbm.store.db import Store

app = typer.Typer(help="Signed bundles: export for a peer, import, verify (also without a store), inspect, "
                       "and what each peer has acknowledged.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="JSON output.")]


def _open_input(path: str) -> BinaryIO:
    if path == "-":
        return stdin()
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as e:
        raise NotFound(f"cannot read {path}: {e.strerror}") from e


def _name(path: str) -> str:
    return Path(path).name if path != "-" else "stdin"


def _ranges(missing: dict[str, tuple[int, int]]) -> str:
    return "; ".join(f"{author} {first}-{last}" if first != last else f"{author} {first}"
                     for author, (first, last) in sorted(missing.items()))


def _many(to: str, output: str) -> bool:
    """Whether ``--to``/``-o`` ask for one bundle per peer in a directory."""
    return to.strip().lower() == "all" or "," in to or output.endswith(("/", "\\")) or os.path.isdir(output)


@app.command()
def export(
    to: Annotated[str, typer.Option(
        "--to", help="The peer this bundle is for (party code); several (RU,UK,FR) or all: one file each in -o DIR/.")],
    output: Annotated[str, typer.Option(
        "-o", "--output", help="File to write ('-' for stdout); a directory (DIR/) for one file per peer.")],
    encrypt: Annotated[bool | None, typer.Option(
        "--encrypt/--no-encrypt", help="Encrypt to the peer's key (and ours). Default: encrypted when any record "
        "carried is above TLP:CLEAR; --no-encrypt sends it readable (with a warning).")] = None,
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
    A bundle carrying any record above TLP:CLEAR is encrypted to the peer (and us) unless --no-encrypt; the
    outer signature stays checkable without the key. A detached minisign signature FILE.minisig is written
    beside the file. With --to all (every peer with an active key) or --to RU,UK,FR and -o DIR/, one bundle per
    peer (DIR/us-to-ru.cbm ...), each filtered by that peer's audience and TLP, all read from the store in one
    pass.

    Examples:  cbm bundle export --to RU -o us-to-ru.cbm
               cbm bundle export --to all -o outbox/
    """
    from cbm.bundle.export import export_to_many, export_to_path, write_bundle

    options: dict[str, Any] = {"encrypt": encrypt, "compress": gzip_, "armored": armor, "everything": everything}
    if _many(to, output):
        if output == "-":
            raise UsageError("one bundle per peer needs a directory", hint="-o outbox/ (not -o -)")
        with open_store() as store, Progress("reading records for every peer") as bar:
            many = export_to_many(store, to, Path(output), minisig=minisig, progress=bar.update, **options)
            _warn_own_log(store)
        _report_many(many, json_flag)
        return
    with open_store() as store, Progress(f"reading records for {to.strip().upper()}") as bar:
        code = to.strip().upper()
        if output == "-":
            result, _ = write_bundle(store, code, sys.stdout.buffer, progress=bar.update, **options)
            sys.stdout.buffer.flush()
        else:
            result = export_to_path(store, code, Path(output), minisig=minisig, progress=bar.update, **options)
        _warn_own_log(store)
    _note_export(result)
    if output == "-":
        if json_flag:
            warn("--json is ignored when the bundle itself goes to stdout")
        return
    sealed = "encrypted" if result.encrypted else "not encrypted"
    emit("bundle.export", result, lambda out: out.print(Text(f"{result.output}  bundle {result.number} "
                                                             f"id {result.bundle[:16]}  {_carries(result)}  {sealed}")),
         json_flag=json_flag)


def _warn_own_log(store: Store) -> None:
    """A peer's receipt holds more of our log than we do: the export carried no receipt of ours (ADR 0304)."""
    from cbm.bundle.receipts import own_log_unmatched, own_log_warnings

    for line in own_log_warnings(own_log_unmatched(store), "no receipt of ours in this bundle: it would take a "
                                                           "number of our log that {holders} may already hold"):
        warn(line)


def _carries(result: Any) -> str:
    return f"{result.records} records, {result.withheld} withheld, {result.blobs} attachments"


def _note_export(result: Any) -> None:
    for digest in result.missing_blobs:
        warn(f"attachment {digest[:12]} is listed by a record but not in this store; not included")
    if result.encryption == "off" and result.above_clear:
        warn(f"--no-encrypt: {result.above_clear} record(s) above TLP:CLEAR (highest TLP:{result.highest_tlp}) "
             f"travel readable to anyone who holds the bundle")
    layers = f" ({', '.join(result.layers)})" if result.layers else ""
    note(f"bundle {result.number} for {result.recipient}{layers}: {_carries(result)}, {result.size} bytes"
         + (f" -> {result.output}" if result.output != "-" else ""))
    note(result.encryption_reason)
    if result.deferred:
        note(f"{result.deferred} record(s) of third parties wait for the next bundle: {result.recipient} may get "
             f"them from their authors (late forwarding; a hub sets [forwarding] relay in config.toml)")
    if result.minisig:
        note(f"detached signature: {result.minisig}")


def _report_many(many: Any, json_flag: bool) -> None:
    for result in many.bundles:
        _note_export(result)
    for peer in many.skipped:
        warn(f"no bundle for {peer['party']}: {peer['reason']}")
    if not many.bundles:
        warn("no peer to export to: import a peer's card first (`cbm keys import`)")

    def human(out: Console) -> None:  # one line per file, as a single export prints it
        for r in many.bundles:
            sealed = "encrypted" if r.encrypted else "not encrypted"
            out.print(Text(f"{r.output}  bundle {r.number} id {r.bundle[:16]}  {_carries(r)}  {sealed}"))

    emit("bundle.export-many", many, human, json_flag=json_flag)


@app.command("import")
def import_(
    bundle_files: Annotated[list[str], typer.Argument(
        help="Bundle files ('-' for stdin), or directories: their *.cbm files, sorted by name.",
        metavar="FILE|DIR...")],
    json_flag: JsonFlag = False,
) -> None:
    """Verify bundles and land each one's records in its own transaction; write our signed receipts.

    Importing the same bundle again changes nothing (exit 0). Records whose predecessors have not arrived
    are held, and the exact missing range is reported. Several files, or a directory (a morning's inbox:
    its *.cbm files in name order), are imported one after another in one process; a bad bundle is reported
    and changes nothing, the others still land, and the exit code is the highest of the failures' codes.

    Examples:  cbm bundle import us-to-ru.cbm
               cbm bundle import inbox/
    """
    many = len(bundle_files) > 1 or os.path.isdir(bundle_files[0])
    if many:
        if "-" in bundle_files:
            raise UsageError("stdin ('-') can only be imported on its own", hint="cbm bundle import - < FILE")
        _import_many(bundle_files, json_flag)
        return
    from cbm.app.imports import import_bundle

    bundle_file = bundle_files[0]
    source = _open_input(bundle_file)
    try:
        with open_store() as store, Progress(f"reading {_name(bundle_file)}",
                                             file_size(bundle_file), unit="bytes") as bar:
            result = import_bundle(store, bar.reader(source), source_name=None if bundle_file == "-" else bundle_file,
                                   progress=bar.stage("landing records"))
    finally:
        if bundle_file != "-":
            source.close()
    _note_import(result)

    def human(out: Console) -> None:
        out.print(Text(_import_line(result)))
        if result.changed and result.receipt:
            out.print(Text(f"receipt {result.receipt[:12]} will travel with our next bundle to {result.sender}"))

    emit("bundle.import", result, human, json_flag=json_flag)


def _note_import(result: Any, where: str = "") -> None:
    """What an import says on stderr besides its result line (``where``: the file, when there are several)."""
    if result.already_imported:
        note(f"{where}bundle {result.number} from {result.sender} was already imported "
             f"({result.already_imported}); nothing changed")
    elif not result.changed:
        note(f"{where}bundle {result.number} from {result.sender}: nothing new; nothing changed")
    if result.missing:
        warn(f"{where}records held until their predecessors arrive; missing: {_ranges(result.missing)}")
    for change in result.roster_changes:
        by = ", ".join(change.introducers)
        (warn if change.action in ("conflict", "departed") else note)(
            f"{where}roster ({by}): {change.action} {change.party} {change.fingerprint}"
            + (f": {change.detail}" if change.detail else "")
            + (" (introduced: fingerprint not confirmed)" if change.action in ("introduced", "rotated", "returned")
               else ""))
    for claim in result.claims:
        warn(f"{where}{claim.claimant or 'a peer'} claimed positions {claim.first_seq}-{claim.last_seq} of "
             f"{claim.author}'s log that {claim.author}'s own records contradict ({claim.problem}); recorded "
             f"against {claim.claimant or 'its sender'}, see `cbm status`")
    for author, n in sorted(result.skipped.items()):
        warn(f"{where}{n} record(s) by {author} not taken: {author} is not a party we trust "
             f"(import its card with `cbm keys import`)")
    for line in result.warnings:
        warn(where + literal(line))


def _import_line(result: Any) -> str:
    """One line saying what an import landed."""
    if not result.changed:
        return f"bundle {result.number} from {result.sender}: nothing changed"
    total = sum(result.landed.values())
    by = ", ".join(f"{a} {n}" for a, n in sorted(result.landed.items()))
    line = f"bundle {result.number} from {result.sender}: {total} record(s) landed" + (f" ({by})" if by else "")
    if result.withheld_new:
        line += f", {result.withheld_new} withheld range(s)"
    if result.held:
        line += f", {result.held} held"
    if result.blobs:
        line += f", {result.blobs} attachment(s)"
    return line


def _import_many(paths: list[str], json_flag: bool) -> None:
    """``bundle import FILE FILE... | DIR``: one process, one transaction per bundle, a report for each."""
    from cbm.app.inbox import import_files

    @contextmanager
    def reading(path: Path, source: BinaryIO) -> Iterator[BinaryIO]:
        with Progress(f"reading {path.name}", file_size(str(path)), unit="bytes") as bar:
            yield bar.reader(source)

    with open_store() as store:
        outcome = import_files(store, paths, reading=reading)
    for directory in outcome.empty:
        warn(f"no *.cbm files in {directory}")
    for entry in outcome.files:
        if entry.result is not None:
            _note_import(entry.result, f"{Path(entry.file).name}: ")
        elif entry.error is not None:
            typer.echo(f"cbm: error: {one_line(entry.file)}: {entry.error.message}", err=True)

    def human(out: Console) -> None:
        table = Table([Column("file"), Column("sender"), Column("bundle", right=True), Column("landed", right=True),
                       Column("result", cut=True, min_width=12)])
        for entry in outcome.files:
            r = entry.result
            if r is not None:
                what = ("already imported" if r.already_imported else "nothing changed" if not r.changed
                        else _import_line(r).split(": ", 1)[1])
                table.add_row(entry.file, r.sender, r.number, sum(r.landed.values()), what)
            elif entry.error is not None:
                table.add_row(entry.file, "", "", "", Styled(f"refused (exit {entry.error.code}): "
                                                             f"{entry.error.message}", "red"))
        if outcome.files:
            table.write()
        out.print(Text(f"{outcome.imported} of {len(outcome.files)} bundle(s) imported"
                       + (f", {outcome.failed} refused" if outcome.failed else "")))

    emit("bundle.import-many", {"files": outcome.files, "imported": outcome.imported, "failed": outcome.failed,
                                "exit_code": outcome.exit_code, "empty": outcome.empty}, human, json_flag=json_flag)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


@contextmanager
def _trust(keyring: str | None, key: list[str] | None) -> Iterator[tuple[Any, str | None, Any]]:
    """(trusted key lookup, our party or None, getter of our key pairs or None) for verify and inspect:
    a keyring of cards when given (no store touched), else the store's trusted keys and our own keys."""
    if keyring is not None or key:
        from cbm.bundle.keyring import load_keyring

        yield load_keyring(keyring, key), None, None
        return
    try:
        store = open_store()
    except StoreMissing as e:
        raise UsageError(f"{e}; and no --keyring or --key given",
                         hint="pass --keyring DIR (a folder of party cards) or --key CARDFILE") from e
    with store:
        yield store, store.party, store.key_pairs


@app.command()
def verify(
    bundle_file: Annotated[str, typer.Argument(help="The bundle file ('-' for stdin).")],
    keyring: Annotated[str | None, typer.Option(
        "--keyring", metavar="DIR", help="Trust the party cards in this folder (no store needed).")] = None,
    key: Annotated[list[str] | None, typer.Option(
        "--key", metavar="CARDFILE", help="Trust this party card (repeatable; no store needed).")] = None,
    fingerprint: Annotated[list[str] | None, typer.Option(
        "--fingerprint", metavar="FPR", help="Pin the sender's signing key: refuse (exit 3) a bundle signed by "
        "any other key, even a trusted one. As `cbm keys show` prints it, spaces optional; repeatable (any of)."
    )] = None,
    deep: Annotated[bool, typer.Option("--deep", help="Also check every record's own signature (all cores).")]
    = False,
    json_flag: JsonFlag = False,
) -> None:
    """Check a bundle without importing it: exit 0 if it verifies, else the refusal's exit code.

    Quick (default): the manifest signature, the body hash, every record's hash and chain link. --deep: also
    every record's signature. Without --keyring/--key the store's trusted keys are used. An encrypted bundle
    we cannot open is checked as far as its outer signature and ciphertext hash ("contents_checked": false).
    --json prints the verification report (schema cbm.bundle.verify/1, see the README's "CI" section), also
    when the bundle is refused.

    Example:  cbm bundle verify us-to-ru.cbm --keyring cards/ \\
                --fingerprint "993E D843 ... DD76" --deep --json
    """
    from cbm.bundle.verify import BundleVerification, check_bundle
    from cbm.core.errors import CbmError

    as_json = json_flag or _json()
    try:
        source = _open_input(bundle_file)
        try:
            with _trust(keyring, key) as (keys, party, pairs), Progress(f"verifying {_name(bundle_file)}",
                                                                       unit="bytes") as bar:
                result = check_bundle(source, keys, deep=deep, party=party, decrypt_with=pairs,
                                      pinned=fingerprint or (), progress=bar.update)
        finally:
            if bundle_file != "-":
                source.close()
    except CbmError as e:
        result = BundleVerification.refused(e, depth="deep" if deep else "quick")
    if result.error is not None:
        if as_json:
            emit("bundle.verify", result.report(), lambda out: None, json_flag=True)
        raise result.error
    if deep and not result.contents_checked:
        warn("--deep: the bundle is encrypted and no key here opens it, so no record signature was checked "
             "(only its outer signature and ciphertext hash); run it in the recipient's store, without "
             "--keyring/--key, to check every record")

    def human(out: Console) -> None:
        signer = result.signer
        by = f"; signed by {signer.party} key {signer.fingerprint}" if signer else ""
        by += " (pinned)" if result.pinned else ""
        if not result.contents_checked:
            out.print(Text(f"OK (outer layer only): encrypted bundle {result.number} from {result.sender} for "
                           f"{', '.join(result.recipients)}; signature and ciphertext hash verify; contents not "
                           f"checked (no key to open it){by}"))
            return
        out.print(Text(f"OK ({result.depth}): bundle {result.number} from {result.sender} for "
                       f"{', '.join(result.recipients)}: {result.records} records, {result.withheld} withheld, "
                       f"{result.blobs} attachments" + (f", {result.signatures_checked} record signatures"
                                                        if result.depth == "deep" else "") + by))

    emit("bundle.verify", result.report(), human, json_flag=json_flag)


def _json() -> bool:
    from cbm.cli.context import state

    return state.json


@app.command()
def inspect(
    bundle_file: Annotated[str, typer.Argument(help="The bundle file ('-' for stdin).")],
    keyring: Annotated[str | None, typer.Option(
        "--keyring", metavar="DIR", help="Trust the party cards in this folder (no store needed).")] = None,
    key: Annotated[list[str] | None, typer.Option(
        "--key", metavar="CARDFILE", help="Trust this party card (repeatable; no store needed).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="List at most this many records (0: all).")] = 50,
    json_flag: JsonFlag = False,
    wide: Annotated[bool, typer.Option("--wide", help="Show every value whole, and the creation times.")]
    = False,
) -> None:
    """Show what is inside a bundle without importing it: header, logs, records, attachments.

    The bundle is checked first (as `cbm bundle verify`); nothing from an unverified bundle is shown.

    Example:  cbm bundle inspect us-to-ru.cbm
    """
    from cbm.bundle.reader import RecordItem
    from cbm.bundle.verify import verify_bundle

    rows: list[dict[str, Any]] = []

    def collect(item: RecordItem) -> None:
        if limit == 0 or len(rows) < limit:
            r = item.record()
            rows.append({"author": r.author, "seq": r.seq, "kind": r.kind, "created": r.created,
                         "tlp": r.tlp, "to": list(r.to), "hash": r.hash,
                         "ref": r.ref})

    source = _open_input(bundle_file)
    try:
        with _trust(keyring, key) as (keys, party, pairs):
            result = verify_bundle(source, keys, party=party, decrypt_with=pairs, on_item=collect)
    finally:
        if bundle_file != "-":
            source.close()
    doc = {"bundle": result.report(), "records": rows, "listed": len(rows), "more": max(0, result.records - len(rows))}

    def human(out: Console) -> None:
        out.print(Text(f"bundle {result.number} from {result.sender} to {', '.join(result.recipients)}",
                       style="bold"))
        if result.layers:
            out.print(Text(f"layers    {', '.join(result.layers)}"))
        out.print(Text(f"signed by {result.signed_by}"))
        if not result.contents_checked:
            out.print(Text("encrypted: no key here to open it; outer signature and ciphertext hash verify"))
            return
        out.print(Text(f"id        {result.bundle}"))
        out.print(Text(f"previous  {result.previous or '(none)'}"))
        out.file.flush()
        logs = Table([Column("log"), Column("seqs"), Column("records", right=True),
                      Column("withheld", right=True), Column("last hash")])
        for log in result.logs:
            logs.add_row(log["author"], f"{log['first']}-{log['last']}", log["records"], log["withheld"],
                         log["last_hash"][:12])
        logs.write(wide=wide)
        # at 80 columns: the audience is cut, the reference shortened, the creation time left out (--wide)
        table = Table([Column("author"), Column("seq", right=True), Column("kind"), Column("tlp"),
                       Column("to", cut=True, min_width=4), Column("ref", cut=True, min_width=9),
                       Column("hash"), Column("created", optional=True)])
        for r in rows:
            table.add_row(r["author"], r["seq"], r["kind"], r["tlp"], ",".join(r["to"]), r["ref"],
                          r["hash"][:12], r["created"])
        if rows:
            table.write(wide=wide)
        if doc["more"]:
            out.print(Text(f"... and {doc['more']} more record(s) (--limit 0 lists all)"))
        out.print(Text(f"{result.blobs} attachment(s)"))

    emit("bundle.inspect", doc, human, json_flag=json_flag)


@app.command()
def status(
    peer: Annotated[str | None, typer.Option("--peer", help="Only this peer.")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """What each peer has acknowledged of every log we hold, and what still waits to reach it.

    Example:  cbm bundle status --peer RU
    """
    from cbm.bundle.receipts import peer_status

    with open_store() as store:
        peers = [peer.strip().upper()] if peer else store.peers()
        for code in peers:
            store.active_key(code)  # NotFound for an unknown party
        report = [peer_status(store, code) for code in peers]
        me = store.party

    def human(out: Console) -> None:
        if not report:
            out.print(Text("no peers yet: `cbm keys import CARD --fingerprint FPR`"))
        for p in report:
            sent = f"{p.bundles_sent} bundle(s) sent" + (f", last #{p.last_sent}" if p.last_sent else "")
            seen = f"last receipt {p.last_receipt}" if p.last_receipt else "no receipt yet"
            print_folded(out, Text(f"{p.peer}: {p.pending} record(s) not yet acknowledged; {sent}; {seen}",
                                   style="bold"))
            table = Table([Column("log"), Column("we hold", right=True), Column("acknowledged"),
                           Column("pending", right=True), Column("since")])
            for log in p.logs:
                # more of our own log than we hold: a store restored from an older copy? (docs/adr/0304)
                beyond = log.author == me and log.acknowledged > log.held
                ack = str(log.acknowledged) + ("" if log.hash_matches else " (DIFFERENT HASH)") + \
                    (" (BEYOND OURS)" if beyond else "")
                table.add_row(log.author, log.held, Styled(ack, None if log.hash_matches and not beyond else "red"),
                              log.pending, log.when or "")
            if p.logs:
                out.file.flush()
                table.write()

    emit("bundle.status", {"peers": [{**to_jsonable(p), "pending": p.pending} for p in report]}, human,
         json_flag=json_flag)
