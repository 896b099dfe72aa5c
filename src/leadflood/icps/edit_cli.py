"""`leadflood icps update|delete`: what the ICP page's Edit and Delete buttons do."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

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
from leadflood.icps.criteria import LISTS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.runtime import Runtime

Values = Annotated[
    str | None,
    typer.Option(help="Comma-separated values; an empty string clears it.", show_default=False),
]


def split_values(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_weights(pairs: list[str]) -> dict[str, int]:
    weights: dict[str, int] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            weights[name.strip()] = int(value)
        except ValueError:
            err.print(f"[red]validation_error[/red]: --weight {pair!r} is not NAME=POINTS")
            raise typer.Exit(2) from None
    return weights


def invalid(exc: ValidationError) -> typer.Exit:
    """Prints each field's error the way the API words it; the caller raises the exit."""
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"])
        err.print(f"[red]{field}[/red]: {str(error['msg']).removeprefix('Value error, ')}")
    return typer.Exit(2)


def update(
    icp_id: uuid.UUID,
    name: Annotated[str | None, typer.Option(show_default=False)] = None,
    description: Annotated[str | None, typer.Option(show_default=False)] = None,
    source: Annotated[str | None, typer.Option(help="sandbox | apollo", show_default=False)] = None,
    titles: Values = None,
    seniorities: Values = None,
    departments: Values = None,
    industries: Values = None,
    employee_ranges: Values = None,
    countries: Values = None,
    keywords: Values = None,
    technologies: Values = None,
    exclude_domains: Values = None,
    customer_domains: Values = None,
    exclude_customers: Annotated[
        bool | None,
        typer.Option(
            "--exclude-customers/--include-customers",
            help="Skip and penalise the customer domains, or stop doing so.",
            show_default=False,
        ),
    ] = None,
    weight: Annotated[
        list[str] | None, typer.Option(help="NAME=POINTS, e.g. titles=40 (repeatable).")
    ] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Change an ICP: only the options given change; its leads are rescored when the criteria
    or weights do."""
    from leadflood.icps import service as icps
    from leadflood.icps.schemas import IcpRead, IcpUpdate

    given = dict(zip(LISTS, (titles, seniorities, departments, industries, employee_ranges,
                             countries, keywords, technologies, exclude_domains,
                             customer_domains), strict=True))  # fmt: skip
    lists = {key: split_values(value) for key, value in given.items() if value is not None}
    weights = parse_weights(weight or [])

    async def work(session: AsyncSession, runtime: Runtime) -> tuple[IcpRead, int | None]:
        found = await find_workspace(session, workspace)
        current = await icps.get(session, found.id, icp_id)
        payload: dict[str, object] = {
            key: value
            for key, value in (("name", name), ("description", description), ("source", source))
            if value is not None
        }
        if lists or exclude_customers is not None:
            criteria = {**current.criteria, **lists}
            if exclude_customers is not None:
                criteria["exclude_existing_customers"] = exclude_customers
            payload["criteria"] = criteria
        if weights:
            payload["weights"] = {**current.weights, **weights}
        if not payload:
            err.print("Nothing to change: give at least one option (see --help).")
            raise typer.Exit(2)
        try:
            data = IcpUpdate.model_validate(payload)
        except ValidationError as exc:
            raise invalid(exc) from None
        icp, job_id = await icps.update_icp(session, found.id, icp_id, data)
        return IcpRead.model_validate(icp), job_id

    icp, job_id = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(icp.model_dump_json())
        return
    console.print(f"Updated ICP [bold]{icp.name}[/bold] ({icp.id})")
    if job_id is not None:
        console.print(f"Its leads are being rescored (job {job_id}).")


def delete(
    icp_id: uuid.UUID,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
) -> None:
    """Delete an ICP and its search runs; its leads stay, without a score."""
    from leadflood.icps import service as icps

    if not yes:
        typer.confirm(f"Delete ICP {icp_id}? Its leads stay, unscored.", abort=True)

    async def work(session: AsyncSession, runtime: Runtime) -> None:
        found = await find_workspace(session, workspace)
        await icps.delete(session, found.id, icp_id)

    in_session(settings_from(data_dir), work)
    console.print(f"Deleted ICP {icp_id}.")
