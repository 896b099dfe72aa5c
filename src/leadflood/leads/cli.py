"""`leadflood leads …`: leads from the shell."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from leadflood.console import (
    DataDir,
    Json,
    WorkspaceOption,
    console,
    err,
    find_workspace,
    in_session,
    settings_from,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.leads.schemas import LeadSort
    from leadflood.models import Lead
    from leadflood.runtime import Runtime

app = typer.Typer(help="Leads.", no_args_is_help=True)
SORTS: tuple[LeadSort, ...] = ("newest", "oldest", "score", "score_asc")


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

    async def work(session: AsyncSession, runtime: Runtime) -> tuple[Lead, int]:
        found = await find_workspace(session, workspace)
        return await leads.create(session, found.id, data)

    lead, job_id = in_session(settings_from(data_dir), work)
    console.print_json(json.dumps({"lead_id": str(lead.id), "job_id": job_id}))


@app.command("list")
def leads_list(
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
    status: Annotated[str | None, typer.Option(help="new | enriching | enriched | failed")] = None,
    verification: Annotated[
        str | None, typer.Option(help="unverified | valid | risky | invalid | unknown")
    ] = None,
    icp: Annotated[
        uuid.UUID | None, typer.Option("--icp", help="Only leads scored against this ICP.")
    ] = None,
    score_min: Annotated[int | None, typer.Option(min=0, max=100)] = None,
    score_max: Annotated[int | None, typer.Option(min=0, max=100)] = None,
    company_domain: Annotated[str | None, typer.Option()] = None,
    search: Annotated[str | None, typer.Option("--search", help="Name, email or company.")] = None,
    sort: Annotated[str, typer.Option(help="newest | oldest | score | score_asc")] = "newest",
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    cursor: Annotated[str | None, typer.Option()] = None,
    as_json: Json = False,
) -> None:
    """List leads with the leads page's filters and sorts (newest first by default)."""
    from pydantic import ValidationError

    from leadflood.leads import queries
    from leadflood.leads.schemas import LeadFilter, LeadRead
    from leadflood.pagination import Page

    chosen = next((key for key in SORTS if key == sort), None)
    if chosen is None:
        err.print(f"[red]validation_error[/red]: --sort must be one of {', '.join(SORTS)}")
        raise typer.Exit(2)
    try:
        where = LeadFilter.model_validate(
            {
                "status": status,
                "verification": verification,
                "icp_id": icp,
                "score_min": score_min,
                "score_max": score_max,
                "company_domain": company_domain,
                "q": search,
            }
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        err.print(f"[red]{error['loc'][0]}[/red]: {error['msg']}")
        raise typer.Exit(2) from None

    async def work(session: AsyncSession, runtime: Runtime) -> Page[LeadRead]:
        found = await find_workspace(session, workspace)
        window = await queries.list_page(
            session, found.id, where, sort=chosen, limit=limit, cursor=cursor
        )
        return Page[LeadRead].of(window, LeadRead.model_validate)

    page = in_session(settings_from(data_dir), work)
    rows = page.items
    if as_json:
        console.print_json(page.model_dump_json())
        return
    table = Table()
    for column in ("id", "email", "name", "company", "score", "email check", "status"):
        table.add_column(column)
    for lead in rows:
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
        table.add_row(
            str(lead.id),
            lead.email or "—",
            name,
            lead.company_name or "",
            "—" if lead.score is None else str(lead.score),
            lead.verification_status.value,
            lead.status.value,
        )
    console.print(table if rows else "No lead matches: widen the filters, or add leads.")
    if page.prev_cursor:
        console.print(f"previous page: --cursor {page.prev_cursor}")
    if page.next_cursor:
        console.print(f"next page: --cursor {page.next_cursor}")


@app.command("show")
def leads_show(
    lead_id: uuid.UUID, data_dir: DataDir = None, workspace: WorkspaceOption = None
) -> None:
    """Show one lead as JSON."""
    from leadflood.leads import service as leads
    from leadflood.leads.schemas import LeadRead

    async def work(session: AsyncSession, runtime: Runtime) -> LeadRead:
        found = await find_workspace(session, workspace)
        return LeadRead.model_validate(await leads.get(session, found.id, lead_id))

    console.print_json(in_session(settings_from(data_dir), work).model_dump_json())
