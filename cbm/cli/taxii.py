"""``cbm taxii``: TAXII 2.1 sources (add, list, show, remove), server users, and the read-only server."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from cbm.cli.context import open_store, store_path
from cbm.cli.output import cell, emit, note
from cbm.cli.tables import Column, Table

app = typer.Typer(help="TAXII 2.1: sources to pull indicators from and push them to (`cbm indicators pull/push`), "
                       "and a read-only TAXII server over the store.", no_args_is_help=True)
user_app = typer.Typer(help="Users of `cbm taxii serve` (HTTP basic auth; passwords kept as Argon2id hashes).",
                       no_args_is_help=True)
app.add_typer(user_app, name="user")

JsonFlag = Annotated[bool, typer.Option("--json", help="JSON output.")]


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="A short name for the source, e.g. internal.")],
    url: Annotated[str, typer.Argument(help="The server's discovery URL (https://; http:// only to loopback).")],
    api_root: Annotated[str, typer.Option("--api-root", help="The API root: a path on the server or a URL.")],
    collection: Annotated[str, typer.Option("--collection", help="The collection id.")],
    user: Annotated[str | None, typer.Option("--user", help="User for HTTP basic auth.")] = None,
    password_file: Annotated[str | None, typer.Option(
        "--password-file", help="File holding the password (else $CBM_TAXII_PASSWORD_<NAME> at run time).")]
    = None,
    token_file: Annotated[str | None, typer.Option(
        "--token-file", help="File holding a bearer token (else $CBM_TAXII_TOKEN_<NAME>).")] = None,
    ca_file: Annotated[str | None, typer.Option("--ca-file", help="CA certificate(s) to verify the server's TLS "
                                                                  "certificate with (PEM).")] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Add a TAXII 2.1 source. Secrets are read from files or the environment when used, never given here.

    Example:  cbm taxii add internal https://cti.example/taxii2/ \\
                --api-root /api1/ \\
                --collection 91a7b528-80eb-42ed-a74d-c6fbd5a26116 --user cbm \\
                --password-file pw.txt --ca-file ca.pem
    """
    from cbm.taxii import config

    with open_store() as store:
        saved = config.add_source(store, config.Source(name, url, api_root, collection, user, password_file,
                                                       token_file, ca_file))
        info = config.describe(store, saved.name)[0]
    note(f"added TAXII source {saved.name}: pull with `cbm indicators pull {saved.name}`")
    emit("taxii.add", info, lambda out: out.print(Text(f"{info.name} {info.url} api root {info.api_root} "
                                                       f"collection {info.collection}")), json_flag=json_flag)


@app.command("list")
def list_(
    wide: Annotated[bool, typer.Option("--wide", help="Show every column and value whole.")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """List the TAXII sources, with where the next pull starts and how many objects were pushed.

    Example:  cbm taxii list
    """
    from cbm.taxii import config

    with open_store() as store:
        found = config.describe(store)

    def human(out: Console) -> None:
        if not found:
            note("no TAXII sources; add one with `cbm taxii add`")
            return
        # names and collection ids whole; the URL gives way first, the api root, the next pull time and the
        # pushed count may go (80 columns hold a name, a cut URL, a collection id and the auth)
        table = Table([Column("name"), Column("url", cut=True, min_width=16),
                       Column("api root", cut=True, min_width=8, optional=True), Column("collection"),
                       Column("auth"), Column("pushed", right=True, optional=True),
                       Column("next pull after", optional=True)])
        for s in found:
            table.add_row(s.name, s.url, s.api_root, s.collection, s.auth, s.pushed, s.next_pull_after or "-")
        out.file.flush()
        table.write(wide=wide)

    emit("taxii.list", {"sources": found}, human, json_flag=json_flag)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="The source's name.")],
    json_flag: JsonFlag = False,
) -> None:
    """Show one TAXII source (never its secrets).

    Example:  cbm taxii show internal --json
    """
    from cbm.taxii import config

    with open_store() as store:
        info = config.describe(store, name)[0]

    def human(out: Console) -> None:
        for key, value in vars(info).items():
            out.print(Text(f"{key.replace('_', ' ')}: ") + cell("-" if value is None else value))

    emit("taxii.show", info, human, json_flag=json_flag)


@app.command()
def remove(
    name: Annotated[str, typer.Argument(help="The source's name.")],
    json_flag: JsonFlag = False,
) -> None:
    """Remove a TAXII source, with its pull cursor and the memory of what was pushed to it.

    Example:  cbm taxii remove internal
    """
    from cbm.taxii import config

    with open_store() as store:
        gone = config.remove_source(store, name)
    emit("taxii.remove", {"removed": gone.name}, lambda out: out.print(Text(f"removed {gone.name}")),
         json_flag=json_flag)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="The user name clients log in with.")],
    password_file: Annotated[str, typer.Option("--password-file", help="File holding the password (8+ chars).")],
) -> None:
    """Add (or replace) a user of `cbm taxii serve`; the password is kept as an Argon2id hash.

    Example:  cbm taxii user add opencti --password-file opencti.pw
    """
    from cbm.taxii import config

    with open_store() as store:
        config.add_user(store, name, password_file)
    note(f"TAXII server user {name} added")


@user_app.command("remove")
def user_remove(name: Annotated[str, typer.Argument(help="The user name.")]) -> None:
    """Remove a user of `cbm taxii serve`.

    Example:  cbm taxii user remove opencti
    """
    from cbm.taxii import config

    with open_store() as store:
        config.remove_user(store, name)
    note(f"TAXII server user {name} removed")


@app.command()
def serve(
    bind: Annotated[str, typer.Option("--bind", help="HOST:PORT to listen on (loopback unless TLS is given).")]
    = "127.0.0.1:8443",
    tlp_max: Annotated[str, typer.Option("--tlp-max", help="Serve collections up to this TLP label.")] = "GREEN",
    tls_cert: Annotated[str | None, typer.Option("--tls-cert", help="PEM certificate chain, to serve https.")]
    = None,
    tls_key: Annotated[str | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.")] = None,
) -> None:
    """Serve the store's indicators read-only over TAXII 2.1, one collection per TLP label up to --tlp-max.

    Clients log in with HTTP basic auth as a user added with `cbm taxii user add`. The discovery URL is
    printed on stdout once the server listens; stop it with Ctrl-C.

    Example:  cbm taxii serve --bind 127.0.0.1:8443 --tlp-max GREEN
    """
    from cbm.taxii import config, server

    host, port = server.parse_bind(bind)
    with open_store() as store:
        users = config.users(store)
        root = store.root
    opts = server.ServeOptions(host, port, tlp_max, tls_cert, tls_key)

    def ready(srv: Any) -> None:
        typer.echo(srv.base_url + server.DISCOVERY)
        for label in srv.labels:
            note(f"collection {server.collection_id(label)}: TLP:{label}")

    try:
        server.serve(root or store_path(), users, opts, ready=ready)
    except KeyboardInterrupt:
        note("stopped")
