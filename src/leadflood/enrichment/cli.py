"""`leadflood leads enrich|verify` (a selection, a filter or a search run, with a progress bar)
and `leadflood settings enrichment show|set|usage`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
    shell_member,
)
from leadflood.models import BulkAction, BulkOperation, BulkState

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.enrichment.config import EnrichmentConfig
    from leadflood.leads.schemas import BulkRequest
    from leadflood.runtime import Runtime

settings_app = typer.Typer(help="Workspace settings.", no_args_is_help=True)
enrichment_app = typer.Typer(help="Enrichment and verification settings.", no_args_is_help=True)
settings_app.add_typer(enrichment_app, name="enrichment")

Ids = Annotated[
    list[str] | None,
    typer.Option("--ids", help="Lead ids (repeatable, or comma-separated).", show_default=False),
]
Filters = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        help="Every lead matching, e.g. status=new, verification=unverified, score_min=60, "
        "icp_id=…, company_domain=acme.com, q=… (repeatable).",
        show_default=False,
    ),
]
SearchRun = Annotated[
    uuid.UUID | None,
    typer.Option("--search-run", help="The leads of this search run.", show_default=False),
]
Wait = Annotated[
    bool, typer.Option("--wait/--no-wait", help="Show progress until the work is done.")
]
RunWorker = Annotated[
    bool,
    typer.Option(
        "--run-worker",
        help="Also run a worker in this process (when no `leadflood up`/`worker` is running).",
    ),
]


def _selection(
    ids: list[str] | None, filters: list[str] | None, run_id: uuid.UUID | None
) -> BulkRequest:
    from pydantic import ValidationError

    from leadflood.leads.schemas import BulkRequest

    body: dict[str, object] = {}
    if ids:
        body["lead_ids"] = [part.strip() for item in ids for part in item.split(",") if part]
    if filters:
        pairs = [item.partition("=") for item in filters]
        if any(not sep or not key.strip() for key, sep, _ in pairs):
            err.print("[red]validation_error[/red]: --filter takes key=value")
            raise typer.Exit(2)
        body["filter"] = {key.strip().replace("-", "_"): value for key, _, value in pairs}
    if run_id is not None:
        body["search_run_id"] = str(run_id)
    try:
        return BulkRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        err.print(f"[red]validation_error[/red]: {where + ': ' if where else ''}{first['msg']}")
        raise typer.Exit(2) from None


def _start(
    action: BulkAction,
    selection: BulkRequest,
    workspace: str | None,
    data_dir: Path | None,
    *,
    wait: bool,
    run_worker: bool,
    as_json: bool,
) -> None:
    from leadflood import worker
    from leadflood.enrichment import service as actions
    from leadflood.leads import bulk

    runtime = build_runtime(settings_from(data_dir))

    async def started() -> tuple[uuid.UUID, uuid.UUID, int]:
        async with runtime.db.session() as session:
            found = await find_workspace(session, workspace)
            operation = await actions.start_bulk(session, found.id, action, selection)
            assert operation.job_id is not None
            return found.id, operation.id, operation.job_id

    async def snapshot(workspace_id: uuid.UUID, op_id: uuid.UUID) -> BulkOperation:
        async with runtime.db.session() as session:
            operation: BulkOperation = await bulk.get(session, workspace_id, op_id)
            return operation

    async def main() -> dict[str, Any]:
        try:
            workspace_id, op_id, job_id = await started()
            if not wait:
                return {"operation_id": str(op_id), "job_id": job_id, "state": "queued"}
            # A worker that waits for jobs, stopped once the operation ends: one run "until the
            # queue is empty" can stop while the plan is still deferring its chunks.
            background = (
                asyncio.create_task(
                    worker.run(runtime, concurrency=4, install_signal_handlers=False)
                )
                if run_worker
                else None
            )
            verb = "Enriching" if action == BulkAction.enrich else "Verifying"
            columns = (TextColumn(f"{verb} leads"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, TimeElapsedColumn(), console=err, transient=as_json) as bar:
                task = bar.add_task(verb, total=None)
                while True:
                    op = await snapshot(workspace_id, op_id)
                    bar.update(task, total=op.total or None, completed=op.done + op.failed)
                    if op.state in (BulkState.completed, BulkState.failed):
                        break
                    if background is not None and background.done():
                        await background  # the worker gave up: its error says why
                        background = None
                    await asyncio.sleep(0.5)
            if background is not None:
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await background
            return {
                "operation_id": str(op.id),
                "job_id": job_id,
                "state": op.state.value,
                "total": op.total,
                "done": op.done,
                "failed": op.failed,
                "error": op.error,
            }
        finally:
            await runtime.aclose()

    with clean_errors():
        result = run(main)
    if as_json:
        console.print_json(json.dumps(result))
    else:
        console.print(
            f"{action.value}: operation [bold]{result['operation_id']}[/bold] "
            f"is {result['state']}"
            + (
                f" — {result['done']} done, {result['failed']} failed of {result['total']}"
                if "total" in result
                else " (a running `leadflood up` or `leadflood worker` does the work)"
            )
        )
        if result.get("error"):
            err.print(f"[yellow]last error[/yellow]: {result['error']}")


def enrich_leads(
    ids: Ids = None,
    filters: Filters = None,
    search_run: SearchRun = None,
    workspace: WorkspaceOption = None,
    wait: Wait = True,
    run_worker: RunWorker = False,
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """Enrich leads through the workspace's waterfall: the ids given, every lead matching a
    filter, or a search run's leads. Cached answers cost nothing."""
    selection = _selection(ids, filters, search_run)
    _start(BulkAction.enrich, selection, workspace, data_dir,
           wait=wait, run_worker=run_worker, as_json=as_json)  # fmt: skip


def verify_leads(
    ids: Ids = None,
    filters: Filters = None,
    search_run: SearchRun = None,
    workspace: WorkspaceOption = None,
    wait: Wait = True,
    run_worker: RunWorker = False,
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """Verify leads' emails (syntax, MX, role, disposable and the workspace's verifier)."""
    selection = _selection(ids, filters, search_run)
    _start(BulkAction.verify, selection, workspace, data_dir,
           wait=wait, run_worker=run_worker, as_json=as_json)  # fmt: skip


def _settings_json(config: EnrichmentConfig) -> dict[str, Any]:
    return {
        "waterfall": config.waterfall,
        "wanted_fields": config.wanted_fields,
        "monthly_budget": None if config.monthly_budget is None else str(config.monthly_budget),
        "verifier": config.verifier,
    }


@enrichment_app.command("show")
def show(workspace: WorkspaceOption = None, data_dir: DataDir = None) -> None:
    """The waterfall, wanted fields, monthly budget and verifier, as JSON."""
    from leadflood.enrichment import config as enrichment_settings

    async def work(session: AsyncSession, runtime: Runtime) -> EnrichmentConfig:
        found = await find_workspace(session, workspace)
        return await enrichment_settings.load(session, found.id)

    console.print_json(json.dumps(_settings_json(in_session(settings_from(data_dir), work))))


@enrichment_app.command("set")
def set_settings(
    waterfall: Annotated[
        str | None, typer.Option(help="Enrichers in order, comma-separated: sandbox,hunter.")
    ] = None,
    wanted: Annotated[
        str | None, typer.Option(help="Fields to fill, comma-separated: title,phone.")
    ] = None,
    budget: Annotated[
        str | None, typer.Option(help="Monthly credit budget; 'none' for no limit.")
    ] = None,
    verifier: Annotated[str | None, typer.Option(help="sandbox, hunter or none.")] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
) -> None:
    """Change some of the enrichment settings; the others keep their value."""
    from pydantic import ValidationError

    from leadflood.enrichment import config as enrichment_settings
    from leadflood.enrichment.schemas import EnrichmentSettingsUpdate

    changes: dict[str, object] = {}
    if waterfall is not None:
        changes["waterfall"] = [p.strip() for p in waterfall.split(",") if p.strip()]
    if wanted is not None:
        changes["wanted_fields"] = [p.strip() for p in wanted.split(",") if p.strip()]
    if budget is not None:
        try:
            changes["monthly_budget"] = None if budget.lower() == "none" else Decimal(budget)
        except InvalidOperation:
            err.print("[red]validation_error[/red]: --budget must be a number or 'none'")
            raise typer.Exit(2) from None
    if verifier is not None:
        changes["verifier"] = verifier
    try:
        data = EnrichmentSettingsUpdate.model_validate(changes)
    except ValidationError as exc:
        err.print(f"[red]validation_error[/red]: {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from None

    async def work(session: AsyncSession, runtime: Runtime) -> EnrichmentConfig:
        found = await find_workspace(session, workspace)
        return await enrichment_settings.update(session, found.id, data, by=shell_member(found))

    console.print_json(json.dumps(_settings_json(in_session(settings_from(data_dir), work))))


@enrichment_app.command("usage")
def usage(workspace: WorkspaceOption = None, data_dir: DataDir = None) -> None:
    """Credits spent this month by enrichment and verification, and what is left."""
    from leadflood.enrichment import credits

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, str | None]:
        found = await find_workspace(session, workspace)
        used = await credits.used_this_month(session, found.id)
        budget = await credits.budget_of(session, found.id)
        return {
            "month_start": credits.month_start().isoformat(),
            "used": str(used),
            "budget": None if budget is None else str(budget),
            "remaining": None if budget is None else str(max(budget - used, Decimal(0))),
        }

    console.print_json(json.dumps(in_session(settings_from(data_dir), work)))
