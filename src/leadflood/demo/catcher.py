"""Demo mode: a local SMTP catcher that keeps every message it receives (by Message-ID, under
`<data_dir>/demo_inbox`), and a demo mailbox pointing at it, so a new user sees real mail
leave with no provider at all. `leadflood up --demo` starts the catcher and calls
`ensure_demo_mailbox` for the demo workspace:

    catcher = DemoSmtpCatcher(inbox_dir(settings)); catcher.start()
    async with db.session() as session:
        await ensure_demo_mailbox(session, workspace.id, catcher.port, inbox_dir(settings))
    ... on shutdown: catcher.stop()
"""

from __future__ import annotations

import socket
import uuid
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace
from leadflood.models import Mailbox, MailboxState
from leadflood.sending import catcher_store

DEMO_MAILBOX = "Demo mailbox"
DEMO_FROM = "demo@leadflood.local"


def _free_port(host: str) -> int:
    # aiosmtpd's Controller cannot bind port 0.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class _Handler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        headers = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
        message_id = str(headers["Message-ID"] or f"<{uuid.uuid4()}@demo.invalid>")
        catcher_store.save(self.directory, message_id, data)
        return "250 2.0.0 Caught by the Lead Flood demo server"


class DemoSmtpCatcher:
    def __init__(self, directory: Path, *, host: str = "127.0.0.1", port: int | None = None):
        self.directory = directory
        self.host = host
        self.port = port or 0
        self._controller: Controller | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = self.port or _free_port(self.host)
        self._controller = Controller(
            _Handler(self.directory), hostname=self.host, port=self.port, server_hostname="demo"
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[Path]:
        return sorted(self.directory.glob("*.eml"))


async def ensure_demo_mailbox(
    session: AsyncSession, workspace_id: uuid.UUID, port: int, directory: Path
) -> Mailbox:
    """The demo workspace's SMTP mailbox, created or re-pointed at this run's catcher port."""
    mailbox = await session.scalar(
        select(Mailbox).where(in_workspace(Mailbox, workspace_id), Mailbox.name == DEMO_MAILBOX)
    )
    config = {
        "host": "127.0.0.1",
        "port": port,
        "tls_mode": "none",
        "timeout": 10,
        "catcher_dir": str(directory),
        "postal_address": "Lead Flood Demo, 1 Example Street, Springfield",
    }
    if mailbox is None:
        mailbox = Mailbox(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            name=DEMO_MAILBOX,
            provider="smtp",
            from_name="Demo Sender",
            from_email=DEMO_FROM,
            signature="— The demo team",
            config=config,
            window={},
            dns_checks={},
            daily_cap=200,
            min_gap_seconds=1,
            jitter_seconds=1,
        )
        session.add(mailbox)
    else:
        mailbox.config = {**(mailbox.config or {}), **config}
        mailbox.state = MailboxState.active
    await session.flush()
    return mailbox
