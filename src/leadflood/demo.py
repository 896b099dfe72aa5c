"""`leadflood up --demo`'s sending part: the local SMTP catcher (in this process, on a free
port), the demo mailbox pointing at it, and the ready three-step demo sequence."""

from __future__ import annotations

import uuid
from typing import Any

from leadflood.console import console, run
from leadflood.sending.demo import DemoSmtpCatcher, ensure_demo_mailbox, inbox_dir


def start(runtime: Any, workspace_id: uuid.UUID) -> DemoSmtpCatcher:
    """Started here, stopped by the caller (`catcher.stop()`) when the server stops."""
    from leadflood.sequences.demo import ensure_demo_sequence

    catcher = DemoSmtpCatcher(inbox_dir(runtime.settings))
    catcher.start()

    async def seed() -> str:
        async with runtime.db.session() as session:
            mailbox = await ensure_demo_mailbox(
                session, workspace_id, catcher.port, catcher.directory
            )
            sequence = await ensure_demo_sequence(session, workspace_id, mailbox.id)
            return sequence.name

    try:
        name = run(seed)
    except BaseException:
        catcher.stop()
        raise
    console.print(
        f"Demo SMTP catcher on 127.0.0.1:{catcher.port}: the demo mailbox sends there and the "
        f"Outbox shows what left. Ready sequence: [bold]{name}[/bold] (draft)."
    )
    return catcher
