"""Operating the installation: health checks, migrations, jobs and the API contract."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
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
    shell_member,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.runtime import Runtime
    from leadflood.system.doctor import Check
    from leadflood.system.schemas import JobDetail, JobRead, ReplayResult

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)


def doctor(data_dir: DataDir = None) -> None:
    """Check settings, database, migrations, queue, workers and providers."""
    from leadflood.system import doctor as checks

    settings = settings_from(data_dir)
    runtime = build_runtime(settings)

    async def main() -> list[Check]:
        try:
            return await checks.run(runtime)
        finally:
            await runtime.aclose()

    results = run(main)
    table = Table(title="Lead Flood doctor")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    for check in results:
        table.add_row(
            check.name, "[green]pass[/green]" if check.ok else "[red]FAIL[/red]", check.detail
        )
    console.print(table)
    failed = [check.name for check in results if not check.ok]
    if failed:
        err.print(f"[red]{len(failed)} check(s) failed:[/red] {', '.join(failed)}")
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, revision: str = "head") -> None:
    """Apply migrations."""
    from leadflood.db import migrate

    settings = settings_from(data_dir)
    runtime = build_runtime(settings)
    migrate.upgrade(runtime.db.url, revision)
    current, _ = migrate.current_and_head(runtime.db.url)
    console.print(f"Database at revision [bold]{current}[/bold].")


@db_app.command("current")
def db_current(data_dir: DataDir = None) -> None:
    """Show the database's revision and the code's head."""
    from leadflood.db import migrate

    runtime = build_runtime(settings_from(data_dir))
    current, head = migrate.current_and_head(runtime.db.url)
    console.print(f"current: {current}\nhead:    {head}")
    if current != head:
        raise typer.Exit(1)


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message")],
    data_dir: DataDir = None,
    empty: Annotated[bool, typer.Option(help="Do not autogenerate.")] = False,
) -> None:
    """Create a migration from the difference between the models and the database."""
    from leadflood.db import migrate

    runtime = build_runtime(settings_from(data_dir), migrate=True)
    migrate.revision(runtime.db.url, message, autogenerate=not empty)


@jobs_app.command("list")
def jobs_list(
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Only dead jobs: failed, retries exhausted.")
    ] = False,
    status: Annotated[
        str | None, typer.Option(help="queued, running, completed, failed or cancelled.")
    ] = None,
    task: Annotated[str | None, typer.Option(help="A task name, e.g. leads.enrich.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Deferred at or after this ISO time (UTC if no zone).")
    ] = None,
    scope: Annotated[
        str,
        typer.Option(help="all: the workspace's jobs and the instance's own; workspace; instance."),
    ] = "all",
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    as_json: Json = False,
) -> None:
    """Background jobs, newest first, in any state."""
    from leadflood.system import jobs_service

    wanted = "failed" if failed else status
    if wanted is not None and wanted not in jobs_service.QUEUE_STATES:
        err.print(f"[red]invalid_job_filter[/red]: unknown status {wanted!r}; use one of "
                  + ", ".join(jobs_service.QUEUE_STATES))  # fmt: skip
        raise typer.Exit(2)
    if scope not in ("all", "workspace", "instance"):
        err.print("[red]invalid_job_filter[/red]: --scope is all, workspace or instance")
        raise typer.Exit(2)
    filters = jobs_service.Filters(
        status=wanted,  # type: ignore[arg-type]
        task=task,
        since=_moment(since),
        scope=scope,  # type: ignore[arg-type]
    )

    async def work(session: AsyncSession, runtime: Runtime) -> list[JobRead]:
        found = await find_workspace(session, workspace)
        page = await jobs_service.list_page(session, shell_member(found), filters, limit=limit)
        return page.items

    rows = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(data=[row.model_dump(mode="json") for row in rows])
        return
    if not rows:
        console.print("No jobs match.")
        return
    table = Table(title="Jobs")
    for column in ("id", "task", "status", "runs", "scope", "deferred", "error"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.id),
            row.task,
            _STATUS_STYLE.get(row.status, "{}").format(row.status),
            str(row.attempts),
            row.scope,
            row.created_at.strftime("%Y-%m-%d %H:%M:%S") if row.created_at else "",
            (row.error or "")[:80],
        )
    console.print(table)


_STATUS_STYLE = {"failed": "[red]{}[/red]", "completed": "[green]{}[/green]"}


def _moment(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        err.print(f"[red]invalid_job_filter[/red]: --since {raw!r} is not an ISO date or time")
        raise typer.Exit(2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@jobs_app.command("replay")
def jobs_replay(
    job_id: Annotated[int | None, typer.Argument(help="The failed job to run again.")] = None,
    task: Annotated[
        str | None, typer.Option(help="Replay every failed job of this task (with --failed).")
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="With --task: its failed jobs.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Run failed jobs again, once their cause is fixed: one by id, or all of a task."""
    from leadflood.system import jobs_service

    settings = settings_from(data_dir)
    if job_id is not None:
        if task is not None:
            err.print("Give a job id or --task NAME --failed, not both.")
            raise typer.Exit(2)

        async def one(session: AsyncSession, runtime: Runtime) -> JobRead:
            found = await find_workspace(session, workspace)
            return await jobs_service.replay(session, shell_member(found), job_id)

        job = in_session(settings, one)
        console.print(f"Job {job.id} ({job.task}) is queued again: run {job.attempts + 1} next.")
        return
    if task is None or not failed:
        err.print("Name a job id, or replay a task's dead jobs with --task NAME --failed.")
        raise typer.Exit(2)

    async def count(session: AsyncSession, runtime: Runtime) -> int:
        found = await find_workspace(session, workspace)
        return await jobs_service.count_failed(session, shell_member(found), task)

    total = in_session(settings, count)
    if total == 0:
        console.print(f"No failed jobs of {task}.")
        return
    if not yes:
        typer.confirm(f"Replay {total} failed job(s) of {task}?", abort=True)

    async def replay_all(session: AsyncSession, runtime: Runtime) -> ReplayResult:
        found = await find_workspace(session, workspace)
        return await jobs_service.replay_failed(session, shell_member(found), task)

    result = in_session(settings, replay_all)
    console.print(f"Replayed {len(result.replayed)} job(s) of {task}.")
    for skipped in result.skipped:
        err.print(f"[yellow]skipped[/yellow] job {skipped.id}: {skipped.reason}")
    if result.remaining:
        console.print("More failed jobs remain: run the command again.")


@jobs_app.command("show")
def jobs_show(job_id: int, data_dir: DataDir = None, workspace: WorkspaceOption = None) -> None:
    """Show a job's state, runs, last error and the queue's events."""
    from leadflood.system import jobs_service

    async def work(session: AsyncSession, runtime: Runtime) -> JobDetail:
        found = await find_workspace(session, workspace)
        return await jobs_service.get(session, shell_member(found), job_id)

    console.print_json(in_session(settings_from(data_dir), work).model_dump_json())


def backup(
    out: Annotated[Path, typer.Option("--out", "-o", help="The dump file to write.")],
    data_dir: DataDir = None,
) -> None:
    """Write a consistent dump (pg_dump, custom format) of the database: the embedded one or
    DATABASE_URL. Safe while the server and workers run."""
    from leadflood.db import backup as backups
    from leadflood.db.engine import resolve_url

    settings = settings_from(data_dir)
    url, server = resolve_url(settings)
    try:
        with clean_errors():
            size = backups.dump(url, out)
    finally:
        if server is not None:
            server.cleanup()
    console.print(f"Backup written to [bold]{out}[/bold] ({size / 1_000_000:.1f} MB).")


def restore(
    source: Annotated[Path, typer.Argument(help="A dump written by `leadflood backup`.")],
    data_dir: DataDir = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the contents of a database that has tables.")
    ] = False,
) -> None:
    """Restore a backup into an empty database (a new data directory, or the database of
    DATABASE_URL, created when missing). Refuses a database with tables unless --force."""
    from leadflood.db import backup as backups
    from leadflood.db.engine import resolve_url

    settings = settings_from(data_dir)
    url, server = resolve_url(settings)
    try:
        with clean_errors():
            backups.restore(url, source, force=force)
    finally:
        if server is not None:
            server.cleanup()
    where = f"the embedded database in {settings.data_dir}" if server else "DATABASE_URL"
    console.print(f"Restored [bold]{source}[/bold] into {where}.")
