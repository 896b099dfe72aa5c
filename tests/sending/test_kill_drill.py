"""The SIGKILL drill: a real `leadflood worker` killed 20 times at random moments while it sends
10,000 messages to a recording SMTP server that cannot be asked what it received, restarted
each time. Afterwards the database tells exactly what the server got: every message it accepted
is `sent` or `unconfirmed`, every `sent` one is at the server, none arrived twice, at most one
per connection per kill is in doubt, and nothing is left unsettled."""

from __future__ import annotations

import random
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from leadflood.models import Message, MessageStatus
from leadflood.runtime import Runtime
from leadflood.sending.channels import Outbound
from leadflood.sending.service import Queue
from tests.factories import make_mailbox, make_workspace
from tests.support.processes import leadflood_env, start, stop, wait_for
from tests.support.smtp_server import SmtpTestServer

pytestmark = pytest.mark.slow
MESSAGES = 10_000
KILLS = 20
CONNECTIONS = 2


async def test_twenty_kills_during_ten_thousand_sends_leave_the_outbox_exact(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261206)
    with SmtpTestServer() as smtp:
        async with runtime.db.session() as session:
            ws = await make_workspace(session, "Drill")
            box = await make_mailbox(
                session, ws.id, from_email="sam@sender.example", daily_cap=MESSAGES,
                config=smtp.config(),
            )  # fmt: skip
            batch = Queue(session, runtime.settings)
            now = datetime.now(UTC)
            for i in range(MESSAGES):
                batch.add(
                    Outbound(
                        workspace_id=ws.id, mailbox=box, to=f"drill{i}@example.com",
                        send_after=now, subject="Quick question", body_text="Hi,\n\nA call?",
                        postal_address="1 Harbour Street, Bristol",
                    )
                )  # fmt: skip
                if len(batch.rows) == 1000:
                    await batch.flush()
            await batch.flush()

        env = leadflood_env(
            database_url,
            tmp_path / "data",
            SENDING_CONNECTIONS=str(CONNECTIONS),
            SENDING_RETRY_BASE_SECONDS="1",
            LOG_LEVEL="warning",
        )
        log = tmp_path / "worker.log"
        kills = 0
        for _ in range(KILLS):
            worker = start(["worker", "--concurrency", "2"], env, log)
            try:
                target = len(smtp.messages) + rng.randint(60, 700)

                async def sent_some(target: int = target) -> bool:
                    return len(smtp.messages) >= target

                await wait_for(sent_some, timeout=180, what="more messages", interval=0.005)
                assert len(smtp.messages) < MESSAGES, "all sent before the last kill"
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
                kills += 1
            finally:
                stop(worker)

        worker = start(["worker", "--concurrency", "2"], env, log)
        try:

            async def settled() -> bool:
                async with runtime.db.session() as session:
                    left = await session.scalar(
                        select(func.count()).where(
                            Message.mailbox_id == box.id,
                            Message.status.in_([MessageStatus.queued, MessageStatus.sending]),
                        )
                    )
                return left == 0

            await wait_for(settled, timeout=600, what="every message to be settled", interval=0.5)
        finally:
            stop(worker)
        received = Counter(m.message["Message-ID"] for m in smtp.messages)

    async with runtime.db.session() as session:
        rows = (
            await session.execute(
                select(Message.message_id, Message.status).where(Message.mailbox_id == box.id)
            )
        ).all()
    status = {message_id: state for message_id, state in rows}
    sent = {m for m, s in status.items() if s == MessageStatus.sent}
    unconfirmed = {m for m, s in status.items() if s == MessageStatus.unconfirmed}
    assert kills == KILLS
    assert max(received.values()) == 1, "a message reached the server twice"
    assert set(status.values()) <= {MessageStatus.sent, MessageStatus.unconfirmed}
    assert sent <= set(received), "recorded as sent but never reached the server"
    assert set(received) <= sent | unconfirmed, "the server got it but the outbox says otherwise"
    assert len(unconfirmed) <= KILLS * CONNECTIONS, f"{len(unconfirmed)} in doubt"
    assert len(sent) + len(unconfirmed) == MESSAGES
