"""Operating the installation: health checks, migrations, jobs and the API contract."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from leadflood.console import (
    DataDir,
    WorkspaceOption,
    build_runtime,
    console,
    err,
    find_workspace,
    in_session,
    run,
    settings_from,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.runtime import Runtime
    from leadflood.system.doctor import Check
    from leadflood.system.schemas import JobRead

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


@jobs_app.command("show")
def jobs_show(job_id: int, data_dir: DataDir = None, workspace: WorkspaceOption = None) -> None:
    """Show a job's state, attempts and error."""
    from leadflood.system import jobs_service

    async def work(session: AsyncSession, runtime: Runtime) -> JobRead:
        found = await find_workspace(session, workspace)
        return await jobs_service.get(session, found.id, job_id)

    console.print_json(in_session(settings_from(data_dir), work).model_dump_json())
