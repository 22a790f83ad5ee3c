"""``cbm whitepaper``: publish, find, fetch, version, translate and withdraw unclassified strategy papers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from cbm.cli.context import open_store, state
from cbm.cli.output import emit, literal, note, one_line, print_folded, warn
from cbm.core.errors import UsageError
from cbm.measures.whitepaper import diff as wp_diff
from cbm.measures.whitepaper import files as wp_files
from cbm.measures.whitepaper import service as wp
from cbm.measures.whitepaper.results import change_of

app = typer.Typer(
    help="White papers: signed exchange of unclassified ICT strategies and studies, with versions, "
         "translations and acknowledgements.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="JSON output.")]
Doc = Annotated[str, typer.Argument(help="The paper: its id, or any version's or translation's record id "
                                         "(6+ hex digits).", show_default=False)]
To = Annotated[list[str] | None, typer.Option(
    "--to", help="Audience: a party code, repeatable, or '*' for every peer (default: '*', or the previous "
                 "version's).")]
Tlp = Annotated[str | None, typer.Option("--tlp", help="TLP 2.0 label (default GREEN, or the previous "
                                                        "version's).")]
MediaType = Annotated[str | None, typer.Option("--media-type", help="Override the detected media type.")]


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _say(out: Console, text: Text) -> None:
    out.print(text, soft_wrap=True)  # long hashes and file names stay on one line


@app.command()
def publish(
    file: Annotated[Path, typer.Argument(help="The paper: any file type (PDF, Markdown, text, office...).",
                                         show_default=False)],
    title: Annotated[str | None, typer.Option("--title", help="Title (required for a new paper).")] = None,
    issuer: Annotated[str | None, typer.Option("--issuer", help="Issuing body, e.g. 'Ministry of Defense'.")]
    = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Language of the file: en, ru, ...")] = None,
    classification: Annotated[str | None, typer.Option(
        "--classification", help="Classification marking; only UNCLASSIFIED is accepted.")] = None,
    tlp: Tlp = None,
    to: To = None,
    date: Annotated[str | None, typer.Option("--date", help="Publication date (default: today, UTC).")] = None,
    summary: Annotated[str | None, typer.Option("--summary", help="A short abstract (searchable).")] = None,
    supersedes: Annotated[str | None, typer.Option(
        "--supersedes", help="Publish as the next version of this paper of ours.")] = None,
    media_type: MediaType = None,
    json_flag: JsonFlag = False,
) -> None:
    """Publish a paper (signed; the file is stored by its SHA-256 and travels in bundles).

    Refused (exit 4) unless marked UNCLASSIFIED.
    Refused (exit 4) if the same bytes are already published, unless as a new version.
    A new version (--supersedes) keeps the previous title, issuer, language,
    summary, audience and TLP unless given; the old version stays, marked superseded.

    Example:  cbm whitepaper publish s.pdf --title "ICT strategy" --issuer MoD \\
                --lang ru --classification UNCLASSIFIED
    """
    with open_store() as store:
        record = wp.publish(store, file, title=title, issuer=issuer, lang=lang, classification=classification,
                            tlp=tlp, to=tuple(to) if to else None, date=date, summary=summary,
                            supersedes=supersedes, media_type=media_type)
    change = change_of(record)
    note(f"published version {change.version} of paper {change.doc[:12]} "
         f"({_size(change.size)}, sha256 {(change.sha256 or '')[:12]})")
    emit("whitepaper.publish", change.document(), lambda out: out.print(Text(change.doc)), json_flag=json_flag)


@app.command()
def translate(
    doc: Doc,
    file: Annotated[Path, typer.Argument(help="The translation file.", show_default=False)],
    lang: Annotated[str, typer.Option("--lang", help="Language of the translation.", show_default=False)],
    official: Annotated[bool, typer.Option("--official", help="An official translation (issuer only).")]
    = False,
    version: Annotated[int | None, typer.Option("--version", help="Version translated (default: newest).")]
    = None,
    title: Annotated[str | None, typer.Option("--title", help="Translated title.")] = None,
    tlp: Tlp = None,
    to: To = None,
    media_type: MediaType = None,
    json_flag: JsonFlag = False,
) -> None:
    """Attach a translation, linked to the exact version it translates.

    Anyone may translate a paper; only its issuer may call a translation official.

    Example:  cbm whitepaper translate 3fa9c2 strategy-en.pdf --lang en \\
                --title "ICT strategy"
    """
    with open_store() as store:
        record = wp.translate(store, doc, file, lang=lang, official=official, version=version, title=title,
                              tlp=tlp, to=tuple(to) if to else None, media_type=media_type)
    change = change_of(record)
    note(f"{'official ' if official else ''}{change.extra['lang']} translation of version "
         f"{change.version} of paper {change.doc[:12]}: {change.record[:12]}")
    emit("whitepaper.translate", change.document(), lambda out: out.print(Text(change.record)),
         json_flag=json_flag)


@app.command()
def withdraw(
    doc: Doc,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the signed record).",
                                        show_default=False)],
    json_flag: JsonFlag = False,
) -> None:
    """Withdraw one of our papers: a new, signed version saying so. Nothing is deleted.

    Example:  cbm whitepaper withdraw 3fa9c2 \\
                --reason "replaced by the 2027 strategy"
    """
    with open_store() as store:
        record = wp.withdraw(store, doc, reason)
    change = change_of(record)
    note(f"paper {change.doc[:12]} withdrawn (version {change.version})")
    emit("whitepaper.withdraw", change.document(), lambda out: out.print(Text(change.record)),
         json_flag=json_flag)


@app.command("list")
def list_(
    from_: Annotated[str | None, typer.Option("--from", help="Only papers issued by this party.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Only papers in (or translated to) this language.")]
    = None,
    search: Annotated[str | None, typer.Option(
        "--search", help="Words that must all appear in the title, issuer, summary or text (prefixes match).")]
    = None,
    json_flag: JsonFlag = False,
) -> None:
    """List papers, newest first.

    Example:  cbm whitepaper list --from RU --search "critical infrastructure"
    """
    with open_store() as store:
        papers = wp.list_papers(store, author=from_, lang=lang, search=search)

    def human(out: Console) -> None:
        if not papers:
            note("no white papers match")
            return
        # fixed-width columns first, free text last: nothing is dropped or wrapped on a narrow terminal
        _say(out, Text(f"{'paper':<12}  {'from':<5} {'v':>3}  {'lang':<8} {'date':<10}  {'status':<9}  title / issuer"))
        for p in papers:
            langs = p.lang + ("+" + ",".join(p.translated_to) if p.translated_to else "")
            line = Text(f"{p.doc[:12]:<12}  {p.author:<5} {p.current_version:>3}  {langs:<8} {p.date:<10}  ")
            line.append(f"{p.status:<9}", style="red" if p.status == "withdrawn" else "")
            _say(out, line + Text("  " + one_line(p.title) + " / " + one_line(p.issuer)))

    emit("whitepaper.list", {"papers": papers}, human, json_flag=json_flag)


@app.command()
def show(doc: Doc, json_flag: JsonFlag = False) -> None:
    """Show a paper: metadata, every version with its SHA-256, translations, and who acknowledged what.

    Example:  cbm whitepaper show 3fa9c2
    """
    with open_store() as store:
        paper = wp.describe(store, doc)

    def human(out: Console) -> None:
        for label, value in (("paper", paper.doc), ("from", paper.author), ("title", paper.title),
                             ("issuer", paper.issuer), ("language", paper.lang),
                             ("classification", paper.classification), ("tlp", paper.tlp),
                             ("status", f"{paper.status} (version {paper.current_version})"),
                             ("summary", paper.summary or "-")):
            print_folded(out, Text(f"{label:<15}") + Text(one_line(value)), indent=15)
        _say(out, Text("\nversions"))
        for v in paper.versions:
            if v.sha256 is None:
                print_folded(out, Text(f"  v{v.version}  {v.created}  withdrawn: ") + Text(one_line(v.reason or "")),
                             indent=6)
                continue
            flags = "" if v.have_file else "  FILE MISSING"
            print_folded(out, Text(f"  v{v.version}  {v.created}  {v.state:<10}  {_size(v.size):>10}  sha256 "
                                   f"{v.sha256}  ") + Text(one_line(v.filename or "")) + Text(flags, style="red"),
                         indent=6)
        if paper.translations:
            _say(out, Text("\ntranslations"))
            for t in paper.translations:
                kind = "official" if t.official else "unofficial"
                print_folded(out, Text(f"  {t.hash[:12]}  {t.lang}  of v{t.of_version}  {kind} by {t.by}  "
                                       f"{t.created}  sha256 {t.sha256}  ") + Text(one_line(t.filename)), indent=6)
        _say(out, Text("\nacknowledged"))
        if not paper.receipts:
            _say(out, Text("  (no acknowledgements yet)"))
        for r in paper.receipts:
            print_folded(out, Text(f"  {r.by} acknowledged {r.what} at {r.at}"
                                   + (f" (sha256 {r.sha256[:12]} verified)" if r.sha256 else "")))

    emit("whitepaper.show", paper, human, json_flag=json_flag)


@app.command()
def get(
    doc: Doc,
    output: Annotated[str, typer.Option("-o", "--output", help="File to write ('-' for stdout).",
                                        show_default=False)],
    version: Annotated[int | None, typer.Option("--version", help="Version (default: newest with a file).")]
    = None,
    lang: Annotated[str | None, typer.Option("--lang", help="A translation into this language instead.")]
    = None,
    json_flag: JsonFlag = False,
) -> None:
    """Write a paper's exact bytes to a file, re-checking its SHA-256 on the way out (exit 1 if altered).

    The file appears only once it has passed the check (written beside it, then renamed).
    With -o - the bytes stream to stdout; a failed check then exits 1 after the last byte.

    Example:  cbm whitepaper get 3fa9c2 --version 1 -o strategy-v1.pdf
    """
    if output == "-" and (json_flag or state.json):
        raise UsageError("--json and -o - both want stdout", hint="write the file with -o FILE")
    if output != "-":  # a refusal comes first and alone (docs/adr/0290)
        from cbm.core.files import check_output

        check_output(Path(output))
    with open_store() as store:
        choice = wp_files.choose_file(store, doc, version=version, lang=lang)
        if output == "-":
            wp_files.write_file(store, choice, sys.stdout.buffer)
        else:
            wp_files.save_file(store, choice, Path(output))
    if choice.withdrawn:  # said of what was written, once it was
        warn(f"paper {choice.doc[:12]} has been withdrawn; this is version {choice.version}")
    if output == "-":
        return
    note(f"wrote {output} ({_size(choice.size)}, sha256 {choice.sha256} verified)")
    result = {"output": output, **{k: getattr(choice, k) for k in choice.__dataclass_fields__}}
    emit("whitepaper.get", result, lambda out: out.print(Text(output)), json_flag=json_flag)


@app.command()
def diff(
    doc: Doc,
    from_: Annotated[int | None, typer.Option("--from", help="Older version (default: the one before --to).")]
    = None,
    to: Annotated[int | None, typer.Option("--to", help="Newer version (default: the newest).")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Compare two versions: changed metadata, and a unified diff when both are text files.

    Example:  cbm whitepaper diff 3fa9c2 --from 1 --to 2
    """
    with open_store() as store:
        result = wp_diff.diff(store, doc, from_, to)

    def human(out: Console) -> None:
        _say(out, Text(f"paper {result.doc[:12]}: version {result.from_version} -> {result.to_version}"))
        for name, (old, new) in result.metadata.items():
            _say(out, Text(f"  {name}: ") + Text(one_line(old)) + Text(" -> ") + Text(one_line(new)))
        if not result.metadata:
            _say(out, Text("  metadata unchanged"))
        if result.note:
            _say(out, Text(f"  ({result.note})"))
        if result.text_diff is not None:
            out.file.write(literal(result.text_diff) if result.text_diff else "  text unchanged\n")

    emit("whitepaper.diff", result, human, json_flag=json_flag)
