"""`leadflood companies ...`: list, show and correct the companies of a workspace."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from leadflood.console import (
    DataDir,
    Json,
    WorkspaceOption,
    console,
    err,
    find_workspace,
    in_session,
    page_json,
    settings_from,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.runtime import Runtime

app = typer.Typer(help="Companies and the people who work there.", no_args_is_help=True)


@app.command("list")
def list_companies(
    q: Annotated[str | None, typer.Option(help="Part of a name or domain.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    cursor: Annotated[str | None, typer.Option(help="From a previous page's next_cursor.")] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Companies newest first, with their number of leads."""
    from leadflood.companies import service as companies

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, Any]:
        found = await find_workspace(session, workspace)
        page = await companies.list_page(session, found.id, q=q, limit=limit, cursor=cursor)
        return page_json(page, lambda c: c.model_dump(mode="json"))

    result = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(data=result)
        return
    table = Table("id", "name", "domain", "industry", "employees", "leads")
    for c in result["items"]:
        table.add_row(
            c["id"], c["name"] or "", c["domain"], c["industry"] or "",
            str(c["employee_count"] or ""), str(c["lead_count"]),
        )  # fmt: skip
    console.print(table)
    if result["next_cursor"]:
        console.print(f"More: --cursor {result['next_cursor']}")


@app.command("show")
def show(
    company_id: Annotated[uuid.UUID, typer.Argument(help="The company's id.")],
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """A company with its people and their enrollment states."""
    from leadflood.companies import service as companies

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, Any]:
        found = await find_workspace(session, workspace)
        return (await companies.detail(session, found.id, company_id)).model_dump(mode="json")

    detail = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(data=detail)
        return
    console.print(f"[bold]{detail['name'] or detail['domain']}[/bold] ({detail['domain']})")
    console.print(
        f"Industry: {detail['industry'] or '—'} · employees: {detail['employee_count'] or '—'}"
        f" · leads: {detail['lead_count']}"
    )
    table = Table("lead", "title", "score", "sequences")
    for p in detail["people"]:
        name = " ".join(x for x in (p["first_name"], p["last_name"]) if x) or p["email"] or p["id"]
        states = ", ".join(f"{k}: {v}" for k, v in p["enrollments"].items()) or "—"
        table.add_row(name, p["title"] or "", str(p["score"] or ""), states)
    console.print(table)


@app.command("update")
def update(
    company_id: Annotated[uuid.UUID, typer.Argument(help="The company's id.")],
    name: Annotated[str | None, typer.Option()] = None,
    domain: Annotated[str | None, typer.Option()] = None,
    employees: Annotated[int | None, typer.Option(help="Number of employees.")] = None,
    industry: Annotated[str | None, typer.Option()] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Correct a company's name, domain, size or industry (only the options given change)."""
    from leadflood.companies import service as companies
    from leadflood.companies.schemas import CompanyUpdate

    given = {"name": name, "domain": domain, "employee_count": employees, "industry": industry}
    try:
        data = CompanyUpdate.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"])
        err.print(f"[red]{field}[/red]: {problem['msg']} (validation_error)")
        raise typer.Exit(1) from None

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, Any]:
        found = await find_workspace(session, workspace)
        company = await companies.update(session, found.id, company_id, data)
        return companies.read(company).model_dump(mode="json")

    result = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(data=result)
    else:
        console.print(f"Updated [bold]{result['name'] or result['domain']}[/bold]")
