"""The `leadflood` command: sub-commands live in `leadflood.commands`, one module per area."""

from __future__ import annotations

import typer

from leadflood.commands import (
    accounts,
    enrichment,
    icps,
    leads,
    mailboxes,
    sequences,
    server,
    suppressions,
    system,
)

app = typer.Typer(
    help="Lead Flood: self-hosted B2B outreach.", no_args_is_help=True, add_completion=False
)
app.command()(server.up)
app.command()(server.serve)
app.command()(server.worker)
app.command()(system.doctor)
app.command()(system.openapi)
app.add_typer(system.db_app, name="db")
app.add_typer(system.jobs_app, name="jobs")
app.add_typer(leads.app, name="leads")
app.add_typer(accounts.users_app, name="users")
app.add_typer(accounts.credentials_app, name="credentials")
app.add_typer(icps.app, name="icps")
app.add_typer(sequences.app, name="sequences")
app.add_typer(mailboxes.app, name="mailboxes")
app.add_typer(suppressions.app, name="suppressions")
app.add_typer(enrichment.settings_app, name="settings")


def main() -> None:
    app()
