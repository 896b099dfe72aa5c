"""`leadflood icps ...`: ideal customer profiles and their search runs."""

from __future__ import annotations

import json
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
    find_workspace,
    in_session,
    settings_from,
)
from leadflood.icps import edit_cli as icp_edits
from leadflood.icps.edit_cli import invalid, parse_weights, split_values

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.runtime import Runtime

app = typer.Typer(help="Ideal customer profiles and provider searches.", no_args_is_help=True)

Values = Annotated[str | None, typer.Option(help="Comma-separated values.", show_default=False)]


def _summary(criteria: dict[str, Any]) -> str:
    parts = [
        f"{name.replace('_', ' ')}: {', '.join(values)}"
        for name, values in criteria.items()
        if isinstance(values, list) and values
    ]
    return "; ".join(parts)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="A name unique in the workspace.")],
    titles: Values = None,
    seniorities: Values = None,
    departments: Values = None,
    industries: Values = None,
    employee_ranges: Annotated[
        str | None, typer.Option(help="Like '51-200,201-500,5001+'.", show_default=False)
    ] = None,
    countries: Annotated[
        str | None, typer.Option(help="ISO codes, names or regions (DACH, Nordics...).")
    ] = None,
    keywords: Values = None,
    technologies: Values = None,
    exclude_domains: Values = None,
    customer_domains: Values = None,
    exclude_customers: Annotated[
        bool, typer.Option(help="Skip and penalise the customer domains.")
    ] = False,
    description: Annotated[str | None, typer.Option(show_default=False)] = None,
    source: Annotated[str, typer.Option(help="sandbox | apollo")] = "sandbox",
    weight: Annotated[
        list[str] | None, typer.Option(help="NAME=POINTS, e.g. titles=40 (repeatable).")
    ] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Create an ICP."""
    from leadflood.icps import service as icps
    from leadflood.icps.schemas import IcpCreate, IcpRead

    payload = {
        "name": name,
        "description": description,
        "source": source,
        "weights": parse_weights(weight or []),
        "criteria": {
            "titles": split_values(titles),
            "seniorities": split_values(seniorities),
            "departments": split_values(departments),
            "industries": split_values(industries),
            "employee_ranges": split_values(employee_ranges),
            "countries": split_values(countries),
            "keywords": split_values(keywords),
            "technologies": split_values(technologies),
            "exclude_domains": split_values(exclude_domains),
            "customer_domains": split_values(customer_domains),
            "exclude_existing_customers": exclude_customers,
        },
    }
    try:
        data = IcpCreate.model_validate(payload)
    except ValidationError as exc:
        raise invalid(exc) from None

    async def work(session: AsyncSession, runtime: Runtime) -> IcpRead:
        found = await find_workspace(session, workspace)
        return IcpRead.model_validate(await icps.create(session, found.id, data))

    icp = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(icp.model_dump_json())
    else:
        console.print(f"Created ICP [bold]{icp.name}[/bold] ({icp.id})")


@app.command("list")
def list_icps(
    workspace: WorkspaceOption = None, data_dir: DataDir = None, as_json: Json = False
) -> None:
    """The workspace's ICPs, newest first, with their lead counts and last run."""
    from leadflood.icps import service as icps

    async def work(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        found = await find_workspace(session, workspace)
        rows = (await icps.list_page(session, found.id, limit=200)).items
        ids = [row.id for row in rows]
        counts = await icps.lead_counts(session, found.id, ids)
        runs = await icps.latest_runs(session, found.id, ids)
        return [
            {
                "id": str(row.id),
                "name": row.name,
                "source": row.source,
                "criteria": _summary(row.criteria),
                "leads": counts.get(row.id, 0),
                "last_run": runs[row.id].state.value if row.id in runs else None,
            }
            for row in rows
        ]

    items = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(json.dumps(items))
        return
    table = Table("ID", "Name", "Criteria", "Leads", "Last run", box=None)
    for item in items:
        table.add_row(
            item["id"], item["name"], item["criteria"], str(item["leads"]), item["last_run"] or "—"
        )
    console.print(table if items else "No ICPs yet: create one with `leadflood icps create`.")


@app.command("show")
def show(
    icp_id: uuid.UUID,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """An ICP's criteria and scoring weights."""
    from leadflood.icps import service as icps
    from leadflood.icps.criteria import DEFAULT_WEIGHTS as DEFAULTS
    from leadflood.icps.schemas import IcpRead

    async def work(session: AsyncSession, runtime: Runtime) -> IcpRead:
        found = await find_workspace(session, workspace)
        return IcpRead.model_validate(await icps.get(session, found.id, icp_id))

    icp = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(icp.model_dump_json())
        return
    console.print(f"[bold]{icp.name}[/bold]  ({icp.id}, source {icp.source})")
    if icp.description:
        console.print(icp.description)
    table = Table("Criterion", "Values", box=None)
    for name, values in icp.criteria.items():
        if isinstance(values, list) and values:
            table.add_row(name.replace("_", " "), ", ".join(values))
    table.add_row(
        "exclude customers", "yes" if icp.criteria.get("exclude_existing_customers") else "no"
    )
    console.print(table)
    console.print(
        "Weights: "
        + ", ".join(
            f"{name} {icp.weights.get(name, points):+d}" for name, points in DEFAULTS.items()
        )
    )


app.command("update")(icp_edits.update)
app.command("delete")(icp_edits.delete)
