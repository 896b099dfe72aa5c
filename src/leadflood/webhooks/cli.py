"""`leadflood webhooks list|create|deliveries|redeliver|test|delete`: a workspace's outbound
webhook endpoints and their delivery log (the same as Settings → Webhooks and /v1/webhooks)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from leadflood.console import (
    DataDir,
    Json,
    WorkspaceOption,
    console,
    find_workspace,
    in_session,
    settings_from,
    shell_member,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from leadflood.runtime import Runtime

app = typer.Typer(
    help="Outbound webhooks: signed POSTs to your URLs when leads, messages and replies change.",
    no_args_is_help=True,
)
IdArg = Annotated[uuid.UUID, typer.Argument(help="The endpoint's id (see `list`).")]


def _run(data_dir: Path | None, workspace: str | None, work: Any) -> Any:
    async def run(session: AsyncSession, runtime: Runtime) -> Any:
        found = await find_workspace(session, workspace)
        return await work(session, runtime, found)

    return in_session(settings_from(data_dir), run)


def _endpoint_json(endpoint: Any) -> dict[str, Any]:
    from leadflood.webhooks.schemas import EndpointRead

    return EndpointRead.model_validate(endpoint).model_dump(mode="json")


@app.command("list")
def list_endpoints(
    workspace: WorkspaceOption = None, data_dir: DataDir = None, as_json: Json = False
) -> None:
    """Every endpoint: URL, events, state."""
    from leadflood.webhooks import service

    async def work(session: AsyncSession, runtime: Runtime, ws: Any) -> list[dict[str, Any]]:
        return [_endpoint_json(e) for e in await service.list_all(session, ws.id)]

    rows = _run(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("Id", "URL", "Events", "State", box=None)
    for e in rows:
        state = "enabled" if e["enabled"] else f"disabled: {e['disabled_reason'] or ''}"
        table.add_row(e["id"], e["url"], ", ".join(e["events"]), state)
    console.print(table, soft_wrap=True)


@app.command("create")
def create_endpoint(
    url: Annotated[str, typer.Argument(help="Where to POST the events.")],
    event: Annotated[
        list[str], typer.Option("--event", "-e", help="An event type; repeat for more.")
    ],
    description: Annotated[str | None, typer.Option(help="What it is for.")] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Add an endpoint; prints its signing secret (whsec_…) once."""
    from pydantic import ValidationError

    from leadflood.webhooks import service
    from leadflood.webhooks.schemas import EndpointCreate

    try:
        data = EndpointCreate(url=url, events=event, description=description)
    except ValidationError as exc:
        typer.echo(f"validation_error: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None

    async def work(session: AsyncSession, runtime: Runtime, ws: Any) -> dict[str, Any]:
        allowed = runtime.settings.webhook_networks
        endpoint, secret = await service.create(session, shell_member(ws), data, allowed)
        return {**_endpoint_json(endpoint), "secret": secret}

    row = _run(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(row))
        return
    console.print(f"Created {row['id']} for {row['url']}.")
    console.print(f"Signing secret (shown once, store it now): {row['secret']}", soft_wrap=True)


@app.command("deliveries")
def deliveries(
    endpoint_id: IdArg,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """The endpoint's latest deliveries with their attempts' status codes."""
    from leadflood.webhooks import service

    async def work(session: AsyncSession, runtime: Runtime, ws: Any) -> list[dict[str, Any]]:
        window = await service.deliveries(session, ws.id, endpoint_id, limit=limit)
        attempts = await service.attempts_of(session, [d.id for d in window.items])
        return [
            {
                "id": str(d.id), "event_type": d.event_type, "state": d.state,
                "attempts": d.attempts, "created_at": d.created_at.isoformat(),
                "codes": [a.status_code for a in attempts[d.id]],
                "last_error": d.last_error,
            }
            for d in window.items
        ]  # fmt: skip

    rows = _run(data_dir, workspace, work)
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("Id", "Created", "Event", "State", "Answers", box=None)
    for d in rows:
        codes = ", ".join(str(c) if c else "none" for c in d["codes"]) or "—"
        table.add_row(d["id"], d["created_at"][:19], d["event_type"], d["state"], codes)
    console.print(table, soft_wrap=True)


@app.command("redeliver")
def redeliver(
    endpoint_id: IdArg,
    delivery_id: Annotated[uuid.UUID, typer.Argument(help="The delivery's id.")],
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
) -> None:
    """Send a delivery's message again (same webhook-id), within seconds."""
    from leadflood.webhooks import service

    async def work(session: AsyncSession, runtime: Runtime, ws: Any) -> str:
        copy = await service.redeliver(session, shell_member(ws), endpoint_id, delivery_id)
        return str(copy.id)

    console.print(f"Queued as delivery {_run(data_dir, workspace, work)}.")


@app.command("test")
def test_endpoint(
    endpoint_id: IdArg, workspace: WorkspaceOption = None, data_dir: DataDir = None
) -> None:
    """Send a signed webhook.ping event to the endpoint."""
    from leadflood.webhooks import service

    async def work(session: AsyncSession, runtime: Runtime, ws: Any) -> str:
        return str((await service.ping(session, shell_member(ws), endpoint_id)).id)

    console.print(f"Ping queued as delivery {_run(data_dir, workspace, work)}.")


@app.command("delete")
def delete_endpoint(
    endpoint_id: IdArg, workspace: WorkspaceOption = None, data_dir: DataDir = None
) -> None:
    """Remove the endpoint, its secret and its delivery log."""
    from leadflood.webhooks import service

    async def work(session: AsyncSession, runtime: Runtime, ws: Any) -> None:
        await service.delete(session, shell_member(ws), endpoint_id)

    _run(data_dir, workspace, work)
    console.print("Removed.")
