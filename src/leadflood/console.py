"""What every CLI command shares: settings from flags, a runtime, one session, clean errors."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from leadflood.errors import AppError, ConfigError
from leadflood.pagination import Window
from leadflood.providers.base import ProviderError
from leadflood.settings import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.auth.principal import CurrentMember
    from leadflood.models import Workspace
    from leadflood.runtime import Runtime

T = TypeVar("T")

console = Console()
err = Console(stderr=True)
# `leadflood --debug ...`: errors show their traceback (see cli.main).
DEBUG = {"on": False, "verbose": False}

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="LEADFLOOD_DATA_DIR",
        help="Where the embedded database and local files live.",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="LEADFLOOD_WORKSPACE",
        help="Workspace name or slug (optional when there is only one).",
        show_default=False,
    ),
]


def page_json(page: Window[Any], dump: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """A listing command's page as its --json prints it (and its table reads it)."""
    return {"items": [dump(row) for row in page.items], "next_cursor": page.next_cursor}


def settings_from(data_dir: Path | None) -> Settings:
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir.expanduser().resolve()
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        typer.echo(f"Configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


@contextlib.contextmanager
def clean_errors() -> Iterator[None]:
    """An AppError or provider error ends the command with its code, not a traceback."""
    try:
        yield
    except AppError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(1) from None
    except ProviderError as exc:
        err.print(f"[red]{exc.code or 'provider_error'}[/red]: {exc}")
        raise typer.Exit(1) from None


def build_runtime(
    settings: Settings, *, migrate: bool = False, service: str | None = None
) -> Runtime:
    """A runtime for a command. A one-off command (`service` None, logged as leadflood-cli)
    logs only warnings and errors (its output is its answer) unless LOG_LEVEL or --verbose asks
    for more; a `service` (up, serve, worker) logs at LOG_LEVEL under its name."""
    from leadflood.db import migrate as migrations
    from leadflood.db.engine import connect, resolve_url
    from leadflood.logging import configure_logging
    from leadflood.runtime import Runtime

    asked = service is not None or DEBUG["verbose"] or "LOG_LEVEL" in os.environ
    configure_logging(
        settings.log_level if asked else "warning",
        settings.log_format,
        service=service or "leadflood-cli",
        env=settings.environment,
    )
    if service is not None:
        from leadflood import telemetry

        telemetry.configure(settings, service)
    try:
        url, server = resolve_url(settings)
    except Exception as exc:  # one clear line instead of a traceback
        err.print(f"[red]Database unavailable[/red]: {exc}")
        raise typer.Exit(1) from None
    if migrate:
        migrations.upgrade(url)
    elif service is None:
        _ready_or_migrated(url, embedded=server is not None)
    return Runtime(settings, connect(settings, url=url, server=server))


def _ready_or_migrated(url: str, *, embedded: bool) -> None:
    """A one-off command on a brand-new data directory migrates its embedded database first, as
    `up` does (and brings one left by an older version up to date). An external database
    without the schema, or at an older revision, is an operator's call: one line says so.
    (`serve` and `worker` check the schema themselves.)"""
    from leadflood.db import migrate as migrations

    try:
        current, head = migrations.current_and_head(url)
    except Exception:  # unreachable or refused: the command reports it in its own way
        return
    if current == head:
        return
    if embedded:
        migrations.upgrade(url)
        return
    where = "has no schema yet" if current is None else f"is at revision {current}"
    err.print(
        f"[red]database_outdated[/red]: the database {where} and this version needs {head}: "
        "run `leadflood db upgrade` first."
    )
    raise typer.Exit(1)


# What a coroutine yields and is sent is the event loop's business (Any, as in asyncio.run).
def run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(factory())


def in_session(settings: Settings, work: Callable[[AsyncSession, Runtime], Awaitable[T]]) -> T:
    """Run `work(session, runtime)` in one unit of work (committed when it returns)."""
    runtime = build_runtime(settings)

    async def main() -> T:
        try:
            async with runtime.db.session() as session:
                return await work(session, runtime)
        finally:
            await runtime.aclose()

    with clean_errors():
        return run(main)


def shell_member(workspace: Workspace) -> CurrentMember:
    """Who a command acts as in the audit log: the shell's user, with the owner's rights."""
    from leadflood.auth.principal import CurrentMember
    from leadflood.models import Role

    return CurrentMember(workspace=workspace, role=Role.owner, via="cli")


async def find_workspace(session: AsyncSession, name: str | None) -> Workspace:
    """The workspace named by --workspace, or the only one there is."""
    from sqlalchemy import select

    from leadflood.auth import service as accounts
    from leadflood.auth.errors import WorkspaceNotFound
    from leadflood.models import Workspace

    if name is None:
        only = list((await session.scalars(select(Workspace).limit(2))).all())
        if not only:
            raise WorkspaceNotFound(
                "There is no workspace yet: create one with `leadflood users create --email "
                "YOU@EXAMPLE.COM --workspace NAME --password-stdin`, or set up the first "
                "account in the web UI (`leadflood up`)."
            )
        if len(only) > 1:
            raise WorkspaceNotFound("Name the workspace with --workspace (name or slug).")
        return only[0]
    workspace = await accounts.find_workspace(session, name)
    if workspace is None:
        raise WorkspaceNotFound(f"No workspace named {name!r}.")
    return workspace
