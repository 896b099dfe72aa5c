"""`leadflood leads …`: leads from the shell."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer
from rich.table import Table

from leadflood.commands import enrichment as enrichment_commands
from leadflood.commands import imports as imports_commands
from leadflood.commands.common import (
    DataDir,
    WorkspaceOption,
    console,
    err,
    find_workspace,
    in_session,
    settings_from,
)

app = typer.Typer(help="Leads.", no_args_is_help=True)


@app.command("add")
def leads_add(
    email: Annotated[str, typer.Option(help="The lead's email address.")],
    first_name: Annotated[str | None, typer.Option()] = None,
    last_name: Annotated[str | None, typer.Option()] = None,
    company: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Add a lead and start its enrichment."""
    from pydantic import ValidationError

    from leadflood.leads import service as leads
    from leadflood.leads.schemas import LeadCreate

    try:
        data = LeadCreate(
            email=email, first_name=first_name, last_name=last_name, company_name=company
        )
    except ValidationError as exc:
        err.print(f"[red]validation_error[/red]: {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from None

    async def work(session: Any, runtime: Any) -> tuple[Any, int]:
        found = await find_workspace(session, workspace)
        return await leads.create(session, found.id, data)

    lead, job_id = in_session(settings_from(data_dir), work)
    console.print_json(json.dumps({"lead_id": str(lead.id), "job_id": job_id}))


@app.command("list")
def leads_list(
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    cursor: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List leads, newest first."""
    from leadflood.leads import service as leads

    async def work(session: Any, runtime: Any) -> tuple[list[Any], str | None]:
        found = await find_workspace(session, workspace)
        return await leads.list_page(session, found.id, limit=limit, cursor=cursor)

    rows, next_cursor = in_session(settings_from(data_dir), work)
    table = Table()
    for column in ("id", "email", "name", "company", "status"):
        table.add_column(column)
    for lead in rows:
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
        table.add_row(
            str(lead.id), lead.email or "", name, lead.company_name or "", lead.status.value
        )
    console.print(table)
    if next_cursor:
        console.print(f"next page: --cursor {next_cursor}")


@app.command("show")
def leads_show(
    lead_id: uuid.UUID, data_dir: DataDir = None, workspace: WorkspaceOption = None
) -> None:
    """Show one lead as JSON."""
    from leadflood.leads import service as leads
    from leadflood.leads.schemas import LeadRead

    async def work(session: Any, runtime: Any) -> Any:
        found = await find_workspace(session, workspace)
        return LeadRead.model_validate(await leads.get(session, found.id, lead_id))

    console.print_json(in_session(settings_from(data_dir), work).model_dump_json())


app.command("import")(imports_commands.import_leads)
app.command("enrich")(enrichment_commands.enrich_leads)
app.command("verify")(enrichment_commands.verify_leads)
