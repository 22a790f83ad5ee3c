"""``cbm``: the root command, global options, and the one place errors become messages and exit codes."""

from __future__ import annotations

import sys
import traceback
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cbm import __version__
from cbm.cli import bundle, hotline, indicators, inquiry, keys, status, store, whitepaper, workgroup
from cbm.cli import init as init_cmd
from cbm.cli.context import state
from cbm.core.errors import CbmError


class CbmGroup(TyperGroup):
    """Turns every CbmError raised below into a one-line message on stderr and its exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CbmError as e:
            if state.verbose:
                traceback.print_exc(file=sys.stderr)
            lines = e.diagnostics().splitlines()
            typer.echo(f"cbm: error: {lines[0]}", err=True)
            for line in lines[1:]:
                typer.echo(line, err=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("cbm: interrupted", err=True)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise typer.Exit(0) from None


HELP = """Confidence-building measures for ICT: a signed store, exchanged as signed bundles.

Covers the five measures of the 2013 US-Russia agreement: threat indicators between CERTs, formal
inquiries over the risk-reduction link, the crisis hotline, white papers, and the working group.

Example (a new party, then trust a peer):

  cbm init --party US --name "US-CERT"

  cbm keys export -o us.card

  cbm keys import ru.card --fingerprint "3F2A 9C1B ..."

Exit codes: 0 ok, 1 verification failed, 2 usage, 3 untrusted signer, 4 input rejected,
5 not found, 6 store error.
"""

app = typer.Typer(cls=CbmGroup, help=HELP, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]})


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cbm {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    store_dir: Annotated[str | None, typer.Option("--store", metavar="DIR", envvar="CBM_STORE",
                                                  help="Store directory (else $CBM_STORE, ./.cbm, user data dir).")]
    = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON document on stdout, for scripts.")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No status lines (errors still shown).")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show tracebacks for errors.")] = False,
    passphrase_file: Annotated[str | None, typer.Option("--passphrase-file", metavar="FILE",
                                                        help="Read the key passphrase from FILE.")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    state.reset()
    state.store, state.json, state.quiet, state.verbose = store_dir, json_out, quiet, verbose
    state.passphrase_file = passphrase_file


app.command("init")(init_cmd.init)
app.command("status")(status.status)
app.add_typer(keys.app, name="keys")
app.add_typer(store.app, name="store")
app.add_typer(bundle.app, name="bundle")
app.add_typer(indicators.app, name="indicators")
app.add_typer(inquiry.app, name="inquiry")
app.add_typer(hotline.app, name="hotline")
app.add_typer(whitepaper.app, name="whitepaper")
app.add_typer(workgroup.app, name="workgroup")


def main() -> None:
    app()
