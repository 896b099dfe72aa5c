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
from leadflood.leads import cli_support as support

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
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            help="Words starting the name, company or title, or the start of the email or "
            "its domain.",
        ),
    ] = None,
    in_list: Annotated[
        str | None, typer.Option("--list", help="Only the members of this list (id or name).")
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only leads with this tag.")] = None,
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
                "tag": tag,
            }
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        err.print(f"[red]{error['loc'][0]}[/red]: {error['msg']}")
        raise typer.Exit(2) from None

    async def work(session: AsyncSession, runtime: Runtime) -> Page[LeadRead]:
        from leadflood.leads import lists

        found = await find_workspace(session, workspace)
        members = where
        if in_list:
            target = await lists.find(session, found.id, in_list)
            members = where.model_copy(update={"list_id": target.id})
        window = await queries.list_page(
            session, found.id, members, sort=chosen, limit=limit, cursor=cursor
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
            "field (custom.KEY= removes it); owner=EMAIL gives the lead to a member.",
        ),
    ],
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Change fields of a lead, with the checks of the API (PATCH /v1/leads/{id}); audited."""
    from pydantic import ValidationError

    from leadflood.console import shell_member
    from leadflood.leads import notes
    from leadflood.leads import service as leads
    from leadflood.leads.schemas import LeadRead, LeadUpdate

    wanted: dict[str, Any] = {}
    custom: dict[str, str | None] = {}
    owner: str | None = None
    for pair in values:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            err.print(f"[red]validation_error[/red]: --set {pair!r}: use FIELD=VALUE")
            raise typer.Exit(2)
        if key.startswith("custom."):
            custom[key.removeprefix("custom.")] = value or None
        elif key == "owner":
            owner = value.strip()
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
        if owner is not None:  # owner=EMAIL names a member; owner= clears it
            user = await notes.member_by_email(session, found.id, owner) if owner else None
            data.owner_id = user.id if user else None
        changed = await leads.update(session, found.id, target.id, data, by=shell_member(found))
        return LeadRead.model_validate(changed)

    console.print_json(in_session(settings_from(data_dir), work).model_dump_json())


@app.command("export")
def leads_export(
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.", dir_okay=False)],
    filters: support.FilterOption = None,
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

    where = support.parse_filter(filters)
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


def _tagging(add: bool) -> Any:
    def command(
        tags: Annotated[list[str], typer.Argument(help="The tags (lower-cased).")],
        refs: support.LeadRefs = None,
        filters: support.FilterOption = None,
        data_dir: DataDir = None,
        workspace: WorkspaceOption = None,
    ) -> None:
        from pydantic import ValidationError

        from leadflood.leads.schemas import TagRequest
        from leadflood.models import BulkAction

        picked, where = support.selection(refs, filters)
        try:
            wanted = TagRequest(filter=where, tags=tags).tags
        except ValidationError as exc:
            err.print(f"[red]validation_error[/red]: tags: {exc.errors()[0]['msg']}")
            raise typer.Exit(2) from None

        action = BulkAction.tag if add else BulkAction.untag
        changed = support.organize_leads(data_dir, workspace, action, picked, where, tags=wanted)
        verb = "Tagged" if add else "Untagged"
        console.print(f"{verb} {changed:,} lead{'' if changed == 1 else 's'}.")

    command.__doc__ = (
        "Add tags to the leads given (--lead) or matching --filter."
        if add
        else "Remove tags from the leads given (--lead) or matching --filter."
    )
    return command


app.command("tag")(_tagging(True))
app.command("untag")(_tagging(False))


@app.command("note")
def leads_note(
    lead: Annotated[str, typer.Argument(help="The lead's id (or first 8 characters) or email.")],
    text: Annotated[str, typer.Argument(help="The note.")],
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Add a note to a lead (audited); `leads notes` lists them."""
    from leadflood.console import shell_member
    from leadflood.leads import notes
    from leadflood.leads import service as leads
    from leadflood.leads.schemas import NoteRead

    async def work(session: AsyncSession, runtime: Runtime) -> NoteRead:
        found = await find_workspace(session, workspace)
        target = await leads.find(session, found.id, lead)
        note = await notes.add(session, found.id, target.id, text, by=shell_member(found))
        return NoteRead.model_validate(note)

    console.print_json(in_session(settings_from(data_dir), work).model_dump_json())


@app.command("notes")
def leads_notes(
    lead: Annotated[str, typer.Argument(help="The lead's id (or first 8 characters) or email.")],
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
) -> None:
    """A lead's notes, newest first, as JSON."""
    from leadflood.leads import notes
    from leadflood.leads import service as leads
    from leadflood.leads.schemas import NoteRead

    async def work(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        found = await find_workspace(session, workspace)
        target = await leads.find(session, found.id, lead)
        found_notes = await notes.of_lead(session, found.id, target.id)
        return [NoteRead.model_validate(n).model_dump(mode="json") for n in found_notes]

    console.print_json(json.dumps(in_session(settings_from(data_dir), work)))
