"""`leadflood outbox ...`: what left, and queuing again a message whose outcome is unknown."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.ext.asyncio import AsyncSession

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
    shell_member,
)
from leadflood.models import MessageStatus
from leadflood.runtime import Runtime

app = typer.Typer(help="The Outbox: messages and their delivery.", no_args_is_help=True)
STATUSES = [s.value for s in MessageStatus]


@app.command("list")
def list_messages(
    status: Annotated[str | None, typer.Option(help=" | ".join(STATUSES))] = None,
    lead: Annotated[uuid.UUID | None, typer.Option(help="A lead's id.")] = None,
    mailbox: Annotated[uuid.UUID | None, typer.Option(help="A mailbox's id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    cursor: Annotated[str | None, typer.Option(help="`next_cursor` of the page before.")] = None,
    workspace: WorkspaceOption = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Messages, newest first: `--status unconfirmed` lists those whose attempt began but
    whose outcome is unknown, each with its reason."""
    from leadflood.sending import outbox
    from leadflood.sending.schemas import MessageRead

    if status is not None and status not in STATUSES:
        err.print(f"[red]status[/red]: one of {', '.join(STATUSES)}")
        raise typer.Exit(2)

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, Any]:
        found = await find_workspace(session, workspace)
        page = await outbox.list_messages(
            session, found.id, limit=limit, cursor=cursor, lead_id=lead, mailbox_id=mailbox,
            status=MessageStatus(status) if status else None,
        )  # fmt: skip
        return page_json(page, lambda m: MessageRead.model_validate(m).model_dump(mode="json"))

    result = in_session(settings_from(data_dir), work)
    if as_json:
        console.print_json(json.dumps(result))
        return
    if not result["items"]:
        console.print(f"No {status + ' ' if status else ''}message here.")
        return
    for m in result["items"]:  # a line each, and its reason below: readable at any width
        when = (m["sent_at"] or m["send_after"])[:16].replace("T", " ")
        console.print(
            f"{m['id']}  [bold]{m['status']}[/bold]  {escape(m['to_address'])}  "
            f"{escape(m['subject'])}  [dim]{when} UTC[/dim]",
            soft_wrap=True,
        )
        if m["error"]:
            console.print(f"    [dim]{escape(m['error'])}[/dim]", soft_wrap=True)
    if result["next_cursor"]:
        console.print(f"More: --cursor {result['next_cursor']}")


@app.command("requeue")
def requeue(
    message_id: Annotated[uuid.UUID, typer.Argument(help="The message's id (Outbox, API).")],
    data_dir: DataDir = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Queue an unconfirmed message again, once you know it did not arrive."""
    from leadflood.sending import service as sending

    async def work(session: AsyncSession, runtime: Runtime) -> str:
        found = await find_workspace(session, workspace)
        message = await sending.requeue(
            session, found.id, message_id, by=shell_member(found), now=datetime.now(UTC)
        )
        return message.to_address

    to = in_session(settings_from(data_dir), work)
    console.print(f"Queued again: {message_id} to {to}.")
