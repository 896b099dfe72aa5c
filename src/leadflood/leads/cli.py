"""`leadflood leads …`: leads from the shell."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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

    from leadflood.leads.schemas import LeadFilter, LeadSort
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
    # Ids in full (never cut by a narrow terminal): `leads show` takes them, or an email.
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("email", "name", "company", "score", "email check", "status"):
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
    lead: Annotated[
        str, typer.Argument(help="The lead's id (or its first 8 characters) or email.")
    ],
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Show one lead as JSON."""
    from leadflood.leads import service as leads
    from leadflood.leads.schemas import LeadRead

    async def work(session: AsyncSession, runtime: Runtime) -> LeadRead:
        found = await find_workspace(session, workspace)
        return LeadRead.model_validate(await leads.find(session, found.id, lead))

    console.print_json(in_session(settings_from(data_dir), work).model_dump_json())


FilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        help="KEY=VALUE, repeatable: status, verification, score_min, score_max, icp_id, "
        "company_domain, q (the list's filters).",
    ),
]


def parse_filter(pairs: list[str] | None) -> LeadFilter:
    """`--filter key=value ...` as the list's LeadFilter; a bad one ends the command (code 2)."""
    from pydantic import ValidationError

    from leadflood.leads.schemas import LeadFilter

    raw: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            err.print(f"[red]validation_error[/red]: --filter {pair!r}: use KEY=VALUE")
            raise typer.Exit(2)
        raw[key.strip()] = value.strip()
    try:
        return LeadFilter.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        err.print(f"[red]validation_error[/red]: --filter {error['loc'][0]}: {error['msg']}")
        raise typer.Exit(2) from None


@app.command("update")
def leads_update(
    lead: Annotated[
        str, typer.Argument(help="The lead's id (or its first 8 characters) or email.")
    ],
    values: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="FIELD=VALUE, repeatable; FIELD= clears it; custom.KEY=VALUE sets a custom "
            "field (custom.KEY= removes it).",
        ),
    ],
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Change fields of a lead, with the checks of the API (PATCH /v1/leads/{id}); audited."""
    from pydantic import ValidationError

    from leadflood.console import shell_member
    from leadflood.leads import service as leads
    from leadflood.leads.schemas import LeadRead, LeadUpdate

    wanted: dict[str, Any] = {}
    custom: dict[str, str | None] = {}
    for pair in values:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            err.print(f"[red]validation_error[/red]: --set {pair!r}: use FIELD=VALUE")
            raise typer.Exit(2)
        if key.startswith("custom."):
            custom[key.removeprefix("custom.")] = value or None
        else:
            wanted[key] = value.strip() or None
    if custom:
        wanted["custom_fields"] = custom
    try:
        data = LeadUpdate.model_validate(wanted)
    except ValidationError as exc:
        for error in exc.errors():
            err.print(f"[red]validation_error[/red]: {error['loc'][0]}: {error['msg']}")
        raise typer.Exit(2) from None

    async def work(session: AsyncSession, runtime: Runtime) -> LeadRead:
        found = await find_workspace(session, workspace)
        target = await leads.find(session, found.id, lead)
        changed = await leads.update(session, found.id, target.id, data, by=shell_member(found))
        return LeadRead.model_validate(changed)

    console.print_json(in_session(settings_from(data_dir), work).model_dump_json())


@app.command("export")
def leads_export(
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.", dir_okay=False)],
    filters: FilterOption = None,
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="Only these leads (repeatable).")
    ] = None,
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Export the leads matching the filters (or the ids given) as CSV: every standard field
    and every custom field; the file imports back as the same leads."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from leadflood.console import build_runtime, clean_errors, run, shell_member
    from leadflood.leads import export
    from leadflood.leads import service as leads

    where = parse_filter(filters)
    runtime = build_runtime(settings_from(data_dir))
    progress = Progress(
        TextColumn("[bold]Exporting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err,
    )  # fmt: skip

    async def main() -> int:
        try:
            async with runtime.db.session() as session:
                found = await find_workspace(session, workspace)
                picked = [(await leads.find(session, found.id, ref)).id for ref in ids or []]
                selection = export.Selection(where=where, lead_ids=picked)
                total = await export.count(session, found.id, selection)
                # Audited as the API's export is; the rows are read in their own transaction.
                await export.record(session, shell_member(found), selection, total)
            task = progress.add_task("export", total=total)
            tmp = out.with_name(out.name + ".part")
            with progress, tmp.open("wb") as file:
                stream = export.stream_csv(
                    runtime.db, found.id, selection,
                    on_rows=lambda n: progress.advance(task, n),
                )  # fmt: skip
                async for chunk in stream:
                    file.write(chunk)
            tmp.replace(out)  # a file at `out` is always a whole export
            return total
        finally:
            await runtime.aclose()

    with clean_errors():
        total = run(main)
    console.print(f"Exported {total:,} lead{'' if total == 1 else 's'} to {out}.")
