"""The `leadflood` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from leadflood.errors import AppError, ConfigError
from leadflood.settings import Settings, load_settings

T = TypeVar("T")

app = typer.Typer(
    help="Lead Flood: self-hosted B2B outreach.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
leads_app = typer.Typer(help="Leads.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(leads_app, name="leads")
app.add_typer(jobs_app, name="jobs")

console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="LEADFLOOD_DATA_DIR",
        help="Where the embedded database and local files live.",
        show_default=False,
    ),
]


def _settings(data_dir: Path | None) -> Settings:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir.expanduser().resolve()
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        typer.echo(f"Configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except AppError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(1) from None


def _runtime(settings: Settings, *, migrate: bool = False) -> Any:
    from leadflood.db import migrate as migrations
    from leadflood.db.engine import connect, resolve_url
    from leadflood.logging import configure_logging
    from leadflood.runtime import Runtime

    configure_logging(settings.log_level, settings.log_format)
    try:
        url, server = resolve_url(settings)
    except Exception as exc:
        err.print(f"[red]Database unavailable[/red]: {exc}")
        raise typer.Exit(1) from None
    if migrate:
        migrations.upgrade(url)
    return Runtime(settings, connect(settings, url=url, server=server))


def _run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(factory())


@app.command()
def up(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    concurrency: Annotated[int, typer.Option(help="Jobs run at once by the worker.")] = 4,
) -> None:
    """Run everything: database (embedded unless DATABASE_URL is set), migrations, the API and
    web UI, and a worker. Ctrl-C stops all of it."""
    settings = _settings(data_dir)
    runtime = _runtime(settings, migrate=True)
    console.print(
        f"[bold green]Lead Flood[/bold green] is running at [link]http://{host}:{port}[/link]"
        " — press Ctrl-C to stop."
    )
    _run(lambda: _serve_all(runtime, host=host, port=port, concurrency=concurrency))


async def _serve_all(runtime: Any, *, host: str, port: int, concurrency: int) -> None:
    import uvicorn

    from leadflood import worker
    from leadflood.app import create_app

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # signals are handled below, for the server and the worker together

    server = Server(
        uvicorn.Config(create_app(runtime), host=host, port=port, log_config=None, access_log=False)
    )
    worker_task = asyncio.create_task(
        worker.run(runtime, concurrency=concurrency, install_signal_handlers=False)
    )

    def stop() -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        await server.serve()
    finally:
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker_task
        await runtime.aclose()
        console.print("Stopped.")


@app.command()
def serve(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    workers: Annotated[int, typer.Option(help="HTTP processes.")] = 1,
) -> None:
    """Run only the API and web UI (scale these out behind a load balancer)."""
    import os

    import uvicorn

    settings = _settings(data_dir)
    if settings.embedded:
        _runtime(settings, migrate=True)
        from leadflood.db import embedded

        _, url = embedded.start(settings.data_dir)
        os.environ["DATABASE_URL"] = url
    os.environ["LEADFLOOD_DATA_DIR"] = str(settings.data_dir)
    uvicorn.run(
        "leadflood.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@app.command("worker")
def worker_command(
    data_dir: DataDir = None,
    concurrency: Annotated[int, typer.Option(help="Jobs run at once.")] = 4,
) -> None:
    """Run a job worker (run as many as you like, on any machine)."""
    from leadflood import worker

    settings = _settings(data_dir)
    runtime = _runtime(settings)

    async def main() -> None:
        try:
            await worker.run(runtime, concurrency=concurrency)
        finally:
            await runtime.aclose()

    _run(main)


@app.command()
def doctor(data_dir: DataDir = None) -> None:
    """Check settings, database, migrations, queue, workers and providers."""
    from leadflood.system import doctor as checks

    settings = _settings(data_dir)
    runtime = _runtime(settings)

    async def main() -> list[Any]:
        try:
            return await checks.run(runtime)
        finally:
            await runtime.aclose()

    results = _run(main)
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

    settings = _settings(data_dir)
    runtime = _runtime(settings)
    migrate.upgrade(runtime.db.url, revision)
    current, _ = migrate.current_and_head(runtime.db.url)
    console.print(f"Database at revision [bold]{current}[/bold].")


@db_app.command("current")
def db_current(data_dir: DataDir = None) -> None:
    """Show the database's revision and the code's head."""
    from leadflood.db import migrate

    runtime = _runtime(_settings(data_dir))
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

    runtime = _runtime(_settings(data_dir), migrate=True)
    migrate.revision(runtime.db.url, message, autogenerate=not empty)


def _in_session(settings: Settings, work: Callable[[Any, Any], Awaitable[T]]) -> T:
    runtime = _runtime(settings)

    async def main() -> T:
        try:
            async with runtime.db.session() as session:
                return await work(session, runtime)
        finally:
            await runtime.aclose()

    with _errors():
        return _run(main)


async def _default_workspace(session: Any) -> Any:
    from leadflood.deps import current_workspace

    return await current_workspace(session)


@leads_app.command("add")
def leads_add(
    email: Annotated[str, typer.Option(help="The lead's email address.")],
    first_name: Annotated[str | None, typer.Option()] = None,
    last_name: Annotated[str | None, typer.Option()] = None,
    company: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = None,
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

    async def work(session: Any, runtime: Any) -> tuple[Any, int]:
        workspace = await _default_workspace(session)
        return await leads.create(session, workspace.id, data)

    lead, job_id = _in_session(_settings(data_dir), work)
    console.print_json(json.dumps({"lead_id": str(lead.id), "job_id": job_id}))


@leads_app.command("list")
def leads_list(
    data_dir: DataDir = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    cursor: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List leads, newest first."""
    from leadflood.leads import service as leads

    async def work(session: Any, runtime: Any) -> tuple[list[Any], str | None]:
        workspace = await _default_workspace(session)
        return await leads.list_page(session, workspace.id, limit=limit, cursor=cursor)

    rows, next_cursor = _in_session(_settings(data_dir), work)
    table = Table()
    for column in ("id", "email", "name", "company", "status"):
        table.add_column(column)
    for lead in rows:
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
        table.add_row(
            str(lead.id), lead.email or "", name, lead.company_name or "", lead.status.value
        )
    console.print(table)
    if next_cursor:
        console.print(f"next page: --cursor {next_cursor}")


@leads_app.command("show")
def leads_show(lead_id: uuid.UUID, data_dir: DataDir = None) -> None:
    """Show one lead as JSON."""
    from leadflood.leads import service as leads
    from leadflood.leads.schemas import LeadRead

    async def work(session: Any, runtime: Any) -> Any:
        workspace = await _default_workspace(session)
        return LeadRead.model_validate(await leads.get(session, workspace.id, lead_id))

    console.print_json(_in_session(_settings(data_dir), work).model_dump_json())


@jobs_app.command("show")
def jobs_show(job_id: int, data_dir: DataDir = None) -> None:
    """Show a job's state, attempts and error."""
    from leadflood.system import jobs_service

    async def work(session: Any, runtime: Any) -> Any:
        workspace = await _default_workspace(session)
        return await jobs_service.get(session, workspace.id, job_id)

    console.print_json(_in_session(_settings(data_dir), work).model_dump_json())


@app.command()
def openapi(
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the OpenAPI document (the contract committed as openapi.json)."""
    from leadflood.app import create_app

    text = json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"
    if out:
        out.write_text(text)
    else:
        sys.stdout.write(text)


def main() -> None:
    app()
