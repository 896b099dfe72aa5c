"""`leadflood outbox ...`: what left, and queuing again a message whose outcome is unknown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.console import (
    DataDir,
    WorkspaceOption,
    console,
    find_workspace,
    in_session,
    settings_from,
    shell_member,
)
from leadflood.runtime import Runtime

app = typer.Typer(help="The Outbox: messages and their delivery.", no_args_is_help=True)


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
