"""What the leads and lists commands share: choosing leads by `--lead` or `--filter`, and
tagging or listing them (one transaction for the leads given, pages with a progress bar for a
filter's)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from leadflood.console import err, find_workspace, settings_from

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.leads.schemas import LeadFilter


FilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        help="KEY=VALUE, repeatable: status, verification, score_min, score_max, icp_id, "
        "company_domain, q, list_id, tag, owner_id, has_notes (the list's filters).",
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


LeadRefs = Annotated[
    list[str] | None,
    typer.Option("--lead", help="A lead (id, first 8 characters, or email); repeatable."),
]


def selection(refs: list[str] | None, filters: list[str] | None) -> tuple[list[str], LeadFilter]:
    """`--lead` refs or `--filter` pairs (exactly one kind), checked before any work."""
    if bool(refs) == bool(filters):
        err.print("[red]validation_error[/red]: give --lead (repeatable) or --filter, not both")
        raise typer.Exit(2)
    return refs or [], parse_filter(filters)


async def resolve(
    session: AsyncSession, workspace_id: uuid.UUID, refs: list[str], where: LeadFilter
) -> Any:
    from leadflood.leads import service as leads
    from leadflood.leads.schemas import Selection

    if refs:
        ids = [(await leads.find(session, workspace_id, ref)).id for ref in refs]
        return Selection(lead_ids=ids)
    return Selection(filter=where)


def organize_leads(
    data_dir: Path | None,
    workspace: str | None,
    action: Any,
    refs: list[str],
    where: LeadFilter,
    *,
    tags: list[str] | None = None,
    list_ref: str | None = None,
) -> int:
    """Tag, untag, list or unlist the leads given (one transaction) or a filter's leads (page
    by page, with a progress bar); how many changed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from leadflood.console import build_runtime, clean_errors, run, shell_member
    from leadflood.leads import lists, organize

    runtime = build_runtime(settings_from(data_dir))

    async def main() -> int:
        try:
            async with runtime.db.session() as session:
                member = shell_member(await find_workspace(session, workspace))
                ws = member.workspace_id
                list_id = (await lists.find(session, ws, list_ref)).id if list_ref else None
                if refs:
                    selection = await resolve(session, ws, refs, where)
                    return await organize.apply(
                        session, ws, action, selection, tags=tags, list_id=list_id, by=member
                    )
            columns = (TextColumn("[bold]Leads"), BarColumn(), MofNCompleteColumn())
            bar = Progress(*columns, console=err)
            task = bar.add_task("leads", total=None)

            def advance(page: int, total: int) -> None:
                bar.update(task, total=total, advance=page)

            with bar:
                return await organize.apply_in_pages(
                    runtime.db, ws, action, where, tags=tags, list_id=list_id, by=member,
                    on_page=advance,
                )  # fmt: skip
        finally:
            await runtime.aclose()

    with clean_errors():
        return run(main)
