"""`leadflood lists …`: static, named lists of leads from the shell."""

from __future__ import annotations

import json
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

    from leadflood.runtime import Runtime

app = typer.Typer(help="Lists of leads (static, named; a lead in many).", no_args_is_help=True)
ListRef = Annotated[str, typer.Argument(help="The list's id or name.")]


@app.command("list")
def lists_list(
    data_dir: DataDir = None, workspace: WorkspaceOption = None, as_json: Json = False
) -> None:
    """The lists with how many leads each holds."""
    from leadflood.leads import lists

    async def work(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        found = await find_workspace(session, workspace)
        rows = await lists.all_with_counts(session, found.id)
        return [{"id": str(x.id), "name": x.name, "members": n} for x, n in rows]

    rows = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print("No list yet: `leadflood lists create NAME`.")
        return
    table = Table()
    table.add_column("id", no_wrap=True, min_width=36)
    table.add_column("name")
    table.add_column("leads", justify="right")
    for row in rows:
        table.add_row(row["id"], row["name"], f"{row['members']:,}")
    console.print(table)


@app.command("create")
def lists_create(
    name: Annotated[str, typer.Argument(help="The list's name (unique in the workspace).")],
    description: Annotated[str, typer.Option()] = "",
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Create an empty list."""
    from pydantic import ValidationError

    from leadflood.console import shell_member
    from leadflood.leads import lists
    from leadflood.leads.schemas import ListCreate, ListRead

    try:
        data = ListCreate(name=name, description=description)
    except ValidationError as exc:
        err.print(
            f"[red]validation_error[/red]: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}"
        )
        raise typer.Exit(2) from None

    async def work(session: AsyncSession, runtime: Runtime) -> ListRead:
        found = await find_workspace(session, workspace)
        made = await lists.create(session, found.id, data, by=shell_member(found))
        return ListRead.model_validate(made)

    console.print_json(in_session(settings_from(data_dir), work).model_dump_json())


@app.command("show")
def lists_show(
    ref: ListRef,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    cursor: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
) -> None:
    """The list and a page of its leads (newest first) as JSON."""
    from leadflood.leads import lists, queries
    from leadflood.leads.schemas import LeadFilter, LeadRead, ListRead
    from leadflood.pagination import Page

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, Any]:
        found = await find_workspace(session, workspace)
        target = await lists.find(session, found.id, ref)
        window = await queries.list_page(
            session, found.id, LeadFilter(list_id=target.id), limit=limit, cursor=cursor
        )
        page = Page[LeadRead].of(window, LeadRead.model_validate)
        return {
            **ListRead.model_validate(target).model_dump(mode="json"),
            "members": await lists.count_members(session, target.id),
            "leads": page.model_dump(mode="json"),
        }

    console.print_json(json.dumps(in_session(settings_from(data_dir), work)))


def _membership(add: bool) -> Any:
    def command(
        ref: ListRef,
        refs: support.LeadRefs = None,
        filters: support.FilterOption = None,
        data_dir: DataDir = None,
        workspace: WorkspaceOption = None,
    ) -> None:
        from leadflood.models import BulkAction

        picked, where = support.selection(refs, filters)
        action = BulkAction.list_add if add else BulkAction.list_remove
        changed = support.organize_leads(data_dir, workspace, action, picked, where, list_ref=ref)
        plural = "" if changed == 1 else "s"
        console.print(
            f"Added {changed:,} lead{plural}." if add else f"Removed {changed:,} lead{plural}."
        )

    command.__doc__ = (
        "Add the leads given (--lead) or matching --filter to the list."
        if add
        else "Take the leads given (--lead) or matching --filter out of the list."
    )
    return command


app.command("add")(_membership(True))
app.command("remove")(_membership(False))


@app.command("delete")
def lists_delete(
    ref: ListRef,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Delete a list (its leads stay)."""
    from leadflood.console import shell_member
    from leadflood.leads import lists

    if not yes and not typer.confirm(f"Delete the list {ref!r}? Its leads stay."):
        raise typer.Exit(1)

    async def work(session: AsyncSession, runtime: Runtime) -> str:
        found = await find_workspace(session, workspace)
        target = await lists.find(session, found.id, ref)
        await lists.remove_list(session, found.id, target.id, by=shell_member(found))
        return target.name

    console.print(f"Deleted the list {in_session(settings_from(data_dir), work)!r}.")
