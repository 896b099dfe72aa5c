"""`leadflood icps search|runs`: an ICP's provider searches."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from leadflood.console import (
    DataDir,
    Json,
    WorkspaceOption,
    build_runtime,
    clean_errors,
    console,
    err,
    find_workspace,
    in_session,
    run,
    settings_from,
)
from leadflood.icps.edit_cli import invalid

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.runtime import Runtime

app = typer.Typer(help="ICP searches.", no_args_is_help=True)


def search(
    icp_id: uuid.UUID,
    source: Annotated[
        str | None, typer.Option(help="sandbox | apollo (default: the ICP's).")
    ] = None,
    max_results: Annotated[int, typer.Option(min=1, max=50_000)] = 500,
    wait: Annotated[bool, typer.Option(help="Follow the run until it ends.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most.")] = 600,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Start a search run (a worker executes it; `leadflood up` runs one)."""
    from leadflood.searches import service as searches
    from leadflood.searches.schemas import SearchRequest

    try:
        request = SearchRequest(source=source, max_results=max_results)
    except ValidationError as exc:
        raise invalid(exc) from None
    runtime = build_runtime(settings_from(data_dir))

    async def main() -> dict[str, Any]:
        try:
            async with runtime.db.session() as session:
                found = await find_workspace(session, workspace)
                started, existing = await searches.start(
                    session, runtime.providers, found.id, icp_id, request
                )
            if not as_json:
                word = "Already asked today" if existing else "Started"
                console.print(f"{word}: run {started.id} (job {started.job_id})")
            if wait:
                await _follow(runtime, found.id, icp_id, started.id, timeout, quiet=as_json)
            async with runtime.db.session() as session:
                final = await searches.get_run(session, found.id, icp_id, started.id)
                return searches.read(final).model_dump(mode="json") | {"existing": existing}
        finally:
            await runtime.aclose()

    with clean_errors():
        result = run(main)
    if as_json:
        console.print_json(json.dumps(result))
    elif wait:
        console.print(
            f"{result['state']}: found {result['found']}, created {result['created']}, "
            f"updated {result['updated']}, duplicates {result['duplicates']}, "
            f"rejected {result['rejected']}" + (f" — {result['error']}" if result["error"] else "")
        )
    if wait and result["state"] == "failed":
        raise typer.Exit(1)


def runs(
    icp_id: uuid.UUID,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """An ICP's search runs, newest first."""
    from leadflood.searches import service as searches

    async def work(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        found = await find_workspace(session, workspace)
        rows = (await searches.list_runs(session, found.id, icp_id, limit=50)).items
        return [searches.read(row).model_dump(mode="json") for row in rows]

    items = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(json.dumps(items))
        return
    table = Table(
        "Run", "Day", "Source", "State", "Found", "New", "Updated", "Dup.", "Rej.", box=None
    )
    for item in items:
        table.add_row(
            item["id"],
            item["run_day"],
            item["source"],
            item["state"],
            *(str(item[k]) for k in ("found", "created", "updated", "duplicates", "rejected")),
        )
    console.print(table if items else "No runs yet: start one with `leadflood icps search ID`.")


async def _follow(
    runtime: Runtime,
    workspace_id: uuid.UUID,
    icp_id: uuid.UUID,
    run_id: uuid.UUID,
    timeout: float,
    *,
    quiet: bool,
) -> None:
    from leadflood.searches import service as searches

    deadline = time.monotonic() + timeout
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pages · {task.fields[counts]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=quiet) as progress:
        bar = progress.add_task("queued", total=None, counts="")
        while True:
            async with runtime.db.session() as session:
                current = searches.read(
                    await searches.get_run(session, workspace_id, icp_id, run_id)
                )
            progress.update(
                bar,
                description=current.state.value,
                completed=current.pages_done,
                total=current.pages_expected,
                counts=f"{current.found} found, {current.created} new",
            )
            if current.state.value in ("completed", "failed"):
                return
            if time.monotonic() > deadline:
                err.print(
                    "Still running; it goes on in the background. Is a worker running "
                    "(`leadflood up` or `leadflood worker`)?"
                )
                raise typer.Exit(3)
            await asyncio.sleep(0.5)
