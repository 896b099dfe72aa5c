"""The `leadflood` command: each feature's sub-commands live in its own `cli.py`, mounted here."""

from __future__ import annotations

from typing import Annotated

import typer

from leadflood import console, server
from leadflood.auth import cli as accounts
from leadflood.companies import cli as companies
from leadflood.enrichment import cli as enrichment
from leadflood.icps import cli as icps
from leadflood.imports import cli as imports
from leadflood.inbox import cli as inbox
from leadflood.inbox import webhook_cli as inbound
from leadflood.leads import cli as leads
from leadflood.leads import list_cli as lead_lists
from leadflood.mailboxes import cli as mailboxes
from leadflood.searches import cli as searches
from leadflood.sending import cli as outbox
from leadflood.sequences import cli as sequences
from leadflood.suppressions import cli as suppressions
from leadflood.system import cli as system
from leadflood.webhooks import cli as webhooks

app = typer.Typer(
    help="Lead Flood: self-hosted B2B outreach.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def options(
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="LEADFLOOD_DEBUG", help="Show the traceback of an error."),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Print the log lines of a one-off command.")
    ] = False,
) -> None:
    """Lead Flood: self-hosted B2B outreach."""
    console.DEBUG["on"] = debug
    console.DEBUG["verbose"] = verbose


app.command()(server.up)
app.command()(server.serve)
app.command()(server.worker)
app.command()(system.doctor)
app.command()(server.openapi)
app.command()(system.backup)
app.command()(system.restore)
app.add_typer(system.db_app, name="db")
app.add_typer(lead_lists.app, name="lists")
app.add_typer(system.jobs_app, name="jobs")
# `leadflood leads import|enrich|verify`: the imports and enrichment features act on leads.
leads.app.command("import")(imports.import_leads)
leads.app.command("enrich")(enrichment.enrich_leads)
leads.app.command("verify")(enrichment.verify_leads)
# `leadflood leads delete|erase`: removing people stops their outreach (the suppressions feature).
leads.app.command("delete")(suppressions.delete_leads)
leads.app.command("erase")(suppressions.erase_lead)
app.add_typer(leads.app, name="leads")
app.add_typer(companies.app, name="companies")
app.add_typer(accounts.users_app, name="users")
app.add_typer(accounts.credentials_app, name="credentials")
icps.app.command("search")(searches.search)
icps.app.command("runs")(searches.runs)
app.add_typer(icps.app, name="icps")
app.add_typer(sequences.app, name="sequences")
app.add_typer(mailboxes.app, name="mailboxes")
app.add_typer(outbox.app, name="outbox")
app.add_typer(suppressions.app, name="suppressions")
app.add_typer(inbox.app, name="inbox")
app.add_typer(inbound.app, name="inbound")
app.add_typer(webhooks.app, name="webhooks")
enrichment.settings_app.command("default-country")(accounts.default_country)
app.add_typer(enrichment.settings_app, name="settings")


def main() -> None:
    """Errors a command did not turn into a message of its own end in one line (with
    `--debug`, the traceback)."""
    try:
        app()
    except Exception as exc:
        if console.DEBUG["on"]:
            raise
        name = type(exc).__name__
        console.err.print(
            f"[red]unexpected_error[/red]: {name}: {str(exc).splitlines()[0] if str(exc) else ''}"
            "\nRun the command again with --debug to see where it happened."
        )
        raise SystemExit(1) from None
