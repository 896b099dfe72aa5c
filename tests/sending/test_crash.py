"""A real `leadflood worker` killed (SIGKILL) while it delivers a batch to a slow SMTP server,
then restarted: every message arrives exactly once (counted by Message-ID at the server)."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from leadflood.models import Message, MessageStatus
from leadflood.runtime import Runtime
from tests.factories import make_lead, make_mailbox, make_workspace, queue_message
from tests.support.processes import leadflood_env, start, stop, wait_for
from tests.support.smtp_server import SmtpTestServer

pytestmark = pytest.mark.slow
COUNT = 40


async def test_worker_killed_mid_batch_loses_and_duplicates_nothing(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    with SmtpTestServer(delay=0.1, record_dir=tmp_path / "caught") as smtp:
        async with runtime.db.session() as session:
            ws = await make_workspace(session, "Acme")
            box = await make_mailbox(
                session,
                ws.id,
                from_email="sam@sender.example",
                daily_cap=10_000,
                config=smtp.config(),
            )
            ids = []
            for i in range(COUNT):
                lead = await make_lead(session, ws.id, email=f"crash{i}@example.com")
                ids.append((await queue_message(session, runtime.settings, box, lead)).message_id)
        env = leadflood_env(
            database_url,
            tmp_path / "data",
            SENDING_BATCH_SIZE="10",
            SENDING_RECONCILE_SECONDS="5",
            SENDING_RETRY_BASE_SECONDS="1",
        )
        log = tmp_path / "worker.log"
        first = start(["worker", "--concurrency", "2"], env, log)
        try:

            async def some_arrived() -> bool:
                return len(smtp.messages) >= 8

            await wait_for(some_arrived, timeout=60, what="the first messages", interval=0.05)
            first.send_signal(signal.SIGKILL)
            first.wait(5)
        finally:
            stop(first)
        at_kill = len(smtp.messages)
        assert at_kill < COUNT, "the worker finished before it was killed"
        async with runtime.db.session() as session:
            in_flight = await session.scalar(
                select(func.count()).where(Message.status == MessageStatus.sending)
            )
        assert in_flight, "the kill should leave a claimed batch behind"

        second = start(["worker", "--concurrency", "2"], env, log)
        try:

            async def all_done() -> bool:
                async with runtime.db.session() as session:
                    left = await session.scalar(
                        select(func.count()).where(Message.status != MessageStatus.sent)
                    )
                return left == 0

            await wait_for(all_done, timeout=120, what="every message to be sent", interval=0.5)
        finally:
            stop(second)
        received = Counter(m.message["Message-ID"] for m in smtp.messages)
    assert set(received) == set(ids), "lost messages"
    assert max(received.values()) == 1, "duplicate messages"
